//! Numbers and sizes written for people: `1e29` rather than a 30-digit integer, `160 GB` rather than
//! `160000000000 bytes`. Used by every message that suggests a value (a smaller `--lr`) or states a
//! size (a file too large, a flag that would need too much memory).
//!
//! ```
//! use dlfs::report::{human_bytes, readable_number};
//! assert_eq!(readable_number(1e29), "1e29");
//! assert_eq!(readable_number(0.0001), "0.0001");
//! assert_eq!(readable_number(2.5e-7), "2.5e-7");
//! assert_eq!(human_bytes(160_000_000_000), "160 GB");
//! assert_eq!(human_bytes(3_100_000_000), "3.1 GB");
//! ```
//!
//! What it leaves out: binary units (KiB, GiB): sizes are decimal, as disks and `ls -lh --si` show them.

/// `value` with at most six significant digits: plainly between 10⁻⁴ and 10⁶ (`0.001`, `2500`),
/// in scientific notation outside (`1e29`, `2.5e-7`), so a suggestion never prints as a 30-digit
/// integer or a long row of zeros.
pub fn readable_number(value: f64) -> String {
    if !value.is_finite() {
        return format!("{value}");
    }
    if value == 0.0 {
        return "0".to_string();
    }
    let magnitude = value.abs();
    if (1e-4..1e6).contains(&magnitude) {
        // Six significant digits, then trailing zeros removed: 0.0010000 → 0.001.
        let decimals = (5 - magnitude.log10().floor() as i32).clamp(0, 9) as usize;
        let text = format!("{value:.decimals$}");
        if text.contains('.') {
            text.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            text
        }
    } else {
        // `{:e}` prints the shortest form that reads back exactly; round to six digits first.
        let rounded: f64 = format!("{value:.5e}").parse().unwrap_or(value);
        format!("{rounded:e}")
    }
}

/// A byte count in decimal units: `512 bytes`, `1.5 KB`, `30.7 MB`, `160 GB`, … up to exabytes
/// (one decimal below 10, none above).
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 6] = ["KB", "MB", "GB", "TB", "PB", "EB"];
    if bytes < 1000 {
        return if bytes == 1 {
            "1 byte".to_string()
        } else {
            format!("{bytes} bytes")
        };
    }
    let mut value = bytes as f64;
    let mut unit = "";
    for name in UNITS {
        value /= 1000.0;
        unit = name;
        if value < 1000.0 {
            break;
        }
    }
    if value < 10.0 {
        let text = format!("{value:.1}");
        format!("{} {unit}", text.trim_end_matches(".0"))
    } else {
        format!("{value:.0} {unit}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_stay_short_at_every_magnitude() {
        assert_eq!(readable_number(1e30 / 10.0), "1e29");
        assert_eq!(readable_number(0.001), "0.001");
        assert_eq!(readable_number(0.1), "0.1");
        assert_eq!(readable_number(123456.0), "123456");
        assert_eq!(readable_number(1e6), "1e6");
        assert_eq!(readable_number(-3.5e38), "-3.5e38");
        assert_eq!(readable_number(1e-5), "1e-5");
        assert_eq!(readable_number(f64::NAN), "NaN");
        assert_eq!(readable_number(f64::from(0.001f32 / 10.0)), "0.0001");
        for value in [1e-300, 3.3e-9, 7.0, 1e300, f64::MAX, f64::MIN_POSITIVE] {
            assert!(readable_number(value).len() <= 12, "{value}");
        }
    }

    #[test]
    fn bytes_in_decimal_units() {
        assert_eq!(human_bytes(0), "0 bytes");
        assert_eq!(human_bytes(999), "999 bytes");
        assert_eq!(human_bytes(1000), "1 KB");
        assert_eq!(human_bytes(1500), "1.5 KB");
        assert_eq!(human_bytes(30_730_000), "31 MB");
        assert_eq!(human_bytes(u64::MAX), "18 EB");
    }
}
