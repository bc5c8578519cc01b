//! Sizes from flags, checked before anything is allocated.
//!
//! `--hidden 100000` asks for an LSTM whose one weight `weight_hh` holds 4·H·H = 4·10¹⁰ floats:
//! 160 GB. Allocating that aborts the program ("memory allocation failed", exit 134) or, worse,
//! succeeds on paper and then swaps the machine to a halt. So a binary adds up what its flags ask
//! for *first*, with checked arithmetic (an overflow is "more than this computer can address", never
//! a wrapped small number), and refuses a run that needs more than the limit with a usage error
//! (exit 2) naming the flag, the bytes and the limit:
//!
//! ```text
//! error: --hidden 100000 would need 160 GB for the LSTM's weight_hh (4H × H floats); the limit is 135 GB
//!   (the memory of this computer; set DLFS_MEMORY_LIMIT, e.g. DLFS_MEMORY_LIMIT=8G, to change it)
//! ```
//!
//! ```
//! use dlfs::app::memory::{MemoryPlan, f32_bytes};
//! let mut plan = MemoryPlan::with_limit(1_000_000_000);
//! plan.add("--hidden", 100, "the LSTM's weight_hh (4H × H floats)", f32_bytes(&[4, 100, 100])).unwrap();
//! let refused = plan.add("--hidden", 100_000, "the LSTM's weight_hh (4H × H floats)",
//!                        f32_bytes(&[4, 100_000, 100_000]));
//! assert!(refused.unwrap_err().to_string().contains("would need 160 GB"));
//! ```
//!
//! The limit is `DLFS_MEMORY_LIMIT` (bytes, or with a suffix K, M, G, T: `8G`) when set, else the
//! physical memory (`MemTotal` of `/proc/meminfo`), else 16 GB. The estimates count the big buffers
//! (data, weights, activations of a batch), not every small one: they are meant to stop absurd
//! values at once, not to predict the peak to the byte.

use crate::error::{Error, Result};
use crate::report::human_bytes;

/// The limit when neither `DLFS_MEMORY_LIMIT` nor `/proc/meminfo` gives one.
const FALLBACK_LIMIT: u64 = 16_000_000_000;

/// Parses a size such as `8G`, `512M`, `1000000` (decimal units: K = 1000).
pub fn parse_size(text: &str) -> Option<u64> {
    let text = text.trim();
    let (digits, multiplier) = match text.chars().last()?.to_ascii_uppercase() {
        'K' => (&text[..text.len() - 1], 1_000u64),
        'M' => (&text[..text.len() - 1], 1_000_000),
        'G' => (&text[..text.len() - 1], 1_000_000_000),
        'T' => (&text[..text.len() - 1], 1_000_000_000_000),
        _ => (text, 1),
    };
    digits.trim().parse::<u64>().ok()?.checked_mul(multiplier)
}

/// The physical memory in bytes, from `/proc/meminfo` (Linux), if it can be read.
fn physical_memory() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kilobytes: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    kilobytes.checked_mul(1024)
}

/// The memory a run may plan to use, and where that limit comes from (for messages).
pub fn memory_limit() -> (u64, String) {
    let how_to_change = "set DLFS_MEMORY_LIMIT, e.g. DLFS_MEMORY_LIMIT=8G, to change it";
    if let Ok(text) = std::env::var("DLFS_MEMORY_LIMIT") {
        match parse_size(&text) {
            Some(limit) if limit > 0 => {
                return (limit, format!("from DLFS_MEMORY_LIMIT={}", text.trim()));
            }
            _ => eprintln!(
                "warning: DLFS_MEMORY_LIMIT={} is not a size such as 8G or 500000000; ignoring it",
                crate::input::excerpt(&text)
            ),
        }
    }
    match physical_memory() {
        Some(bytes) => (
            bytes,
            format!("the memory of this computer; {how_to_change}"),
        ),
        None => (
            FALLBACK_LIMIT,
            format!("a default, the memory could not be read; {how_to_change}"),
        ),
    }
}

/// The bytes of a buffer of `f32` with these dimensions, or `None` when that overflows `u64`.
pub fn f32_bytes(dims: &[usize]) -> Option<u64> {
    dims.iter()
        .try_fold(4u64, |acc, &d| acc.checked_mul(u64::try_from(d).ok()?))
}

/// The bytes of `count` items of `bytes_each` bytes, or `None` on overflow.
pub fn bytes_of(count: usize, bytes_each: usize) -> Option<u64> {
    u64::try_from(count)
        .ok()?
        .checked_mul(u64::try_from(bytes_each).ok()?)
}

/// A running total of what a run will allocate, checked against the limit as items are added.
#[derive(Clone, Debug)]
pub struct MemoryPlan {
    limit: u64,
    source: String,
    total: u64,
}

impl Default for MemoryPlan {
    fn default() -> MemoryPlan {
        MemoryPlan::new()
    }
}

impl MemoryPlan {
    /// An empty plan under [`memory_limit`].
    pub fn new() -> MemoryPlan {
        let (limit, source) = memory_limit();
        MemoryPlan {
            limit,
            source,
            total: 0,
        }
    }

    /// An empty plan under a given limit in bytes (tests, programs with their own budget).
    pub fn with_limit(limit: u64) -> MemoryPlan {
        MemoryPlan {
            limit,
            source: "the limit given".to_string(),
            total: 0,
        }
    }

    /// The bytes planned so far.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// Adds `bytes` (`None`: the computation overflowed) for `what`, caused by `flag` set to `value`.
    /// A usage error when the item alone, or the total with it, is above the limit: it names the
    /// flag and its value, the bytes and the limit.
    pub fn add(
        &mut self,
        flag: &str,
        value: impl std::fmt::Display,
        what: &str,
        bytes: Option<u64>,
    ) -> Result<()> {
        let limit_text = format!("the limit is {} ({})", human_bytes(self.limit), self.source);
        let value = crate::input::excerpt(&value.to_string());
        let value = value.trim_matches('\'');
        let Some(bytes) = bytes else {
            return Err(Error::usage(format!(
                "{flag} {value} would need more memory for {what} than this computer can address \
                 (the size overflows 64 bits); {limit_text}"
            )));
        };
        let total = self.total.saturating_add(bytes);
        if bytes > self.limit {
            return Err(Error::usage(format!(
                "{flag} {value} would need {} for {what}; {limit_text}",
                human_bytes(bytes)
            )));
        }
        if total > self.limit {
            return Err(Error::usage(format!(
                "{flag} {value} would need {} for {what}, {} in all with the rest of the run; \
                 {limit_text}",
                human_bytes(bytes),
                human_bytes(total)
            )));
        }
        self.total = total;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_with_decimal_suffixes() {
        assert_eq!(parse_size("8G"), Some(8_000_000_000));
        assert_eq!(parse_size("512m"), Some(512_000_000));
        assert_eq!(parse_size("1000"), Some(1000));
        assert_eq!(parse_size("99999999999T"), None);
        assert_eq!(parse_size("lots"), None);
        assert_eq!(parse_size(""), None);
    }

    #[test]
    fn overflow_and_totals_are_refused_with_the_flag_named() {
        assert_eq!(f32_bytes(&[usize::MAX, 2]), None);
        let mut plan = MemoryPlan::with_limit(1000);
        plan.add("--points", 100, "the points", Some(600)).unwrap();
        let error = plan
            .add("--hidden", 50, "the weights", Some(600))
            .unwrap_err()
            .to_string();
        assert!(error.contains("--hidden 50"), "{error}");
        assert!(error.contains("1.2 KB in all"), "{error}");
        let error = plan
            .add("--size", "huge", "the matrices", None)
            .unwrap_err();
        assert_eq!(error.exit_code(), 2);
        assert_eq!(plan.total(), 600);
    }
}
