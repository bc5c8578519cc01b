//! The error function `erf`, its complement `erfc`, and the standard normal CDF Φ and density φ
//! built on them. Used by [`super::Normal::cdf`] (chapter 4) and by the GELU activation (chapter 6,
//! `GELU(x) = x·Φ(x)`).
//!
//! `erf(x) = (2/√π) ∫₀ˣ e^{−t²} dt` has no closed form and the standard library has no `erf`, so it is
//! written out here, in f64:
//! - for |x| < 2 the series `erf(x) = (2/√π)·e^{−x²}·Σₙ 2ⁿx^{2n+1} / (1·3·5⋯(2n+1))`, whose terms
//!   are all positive (no cancellation), summed until a term is below 10⁻¹⁷ of the sum;
//! - for 2 ≤ |x| < 6 the continued fraction `erfc(x) = e^{−x²}/√π · 1/(x + ½/(x + 1/(x + (3/2)/(x + …))))`
//!   cut after 60 levels, then `erf = 1 − erfc`;
//! - for |x| ≥ 6, `erf(x) = ±1` (erfc(6) ≈ 2·10⁻¹⁷ is below f64's resolution of 1).
//!
//! Measured accuracy (tests/ch04_probability.rs, against reference values to 16 digits): absolute
//! error below 10⁻¹⁵ for erf on the whole line, relative error below 10⁻¹³ for erfc up to x = 6.
//!
//! What it leaves out: the inverse functions (erf⁻¹, the normal quantile) and complex arguments.

use std::f64::consts::{PI, SQRT_2};

/// Levels of the continued fraction for erfc; 60 give full f64 accuracy for x ≥ 2.
const CONTINUED_FRACTION_LEVELS: usize = 60;

/// The error function `erf(x) = (2/√π) ∫₀ˣ e^{−t²} dt`, accurate to about 10⁻¹⁵ (see the module docs).
pub fn erf(x: f64) -> f64 {
    if x.is_nan() {
        return f64::NAN;
    }
    let a = x.abs();
    let value = if a < 2.0 {
        erf_series(a)
    } else if a < 6.0 {
        1.0 - erfc_continued_fraction(a)
    } else {
        1.0
    };
    value.copysign(x)
}

/// The complementary error function `erfc(x) = 1 − erf(x)`, computed without the cancellation of
/// `1 − erf(x)` for large x (relative error below 10⁻¹³ up to x = 26, where it underflows to 0).
pub fn erfc(x: f64) -> f64 {
    if x.is_nan() {
        return f64::NAN;
    }
    if x < 0.0 {
        return 2.0 - erfc(-x);
    }
    if x < 2.0 {
        1.0 - erf_series(x)
    } else if x < 27.0 {
        erfc_continued_fraction(x)
    } else {
        0.0
    }
}

/// The all-positive series for erf, for 0 ≤ x < 2.
fn erf_series(x: f64) -> f64 {
    let two_x_squared = 2.0 * x * x;
    let mut term = x;
    let mut sum = x;
    for n in 1..200 {
        term *= two_x_squared / (2 * n + 1) as f64;
        sum += term;
        if term < 1e-17 * sum {
            break;
        }
    }
    2.0 / PI.sqrt() * (-x * x).exp() * sum
}

/// The continued fraction for erfc, for x ≥ 2, evaluated from the bottom level up.
fn erfc_continued_fraction(x: f64) -> f64 {
    let mut fraction = x;
    for n in (1..=CONTINUED_FRACTION_LEVELS).rev() {
        fraction = x + (n as f64 / 2.0) / fraction;
    }
    (-x * x).exp() / (PI.sqrt() * fraction)
}

/// The standard normal CDF `Φ(x) = P(Z ≤ x) = ½(1 + erf(x/√2))`, computed as `½·erfc(−x/√2)` so
/// that the tiny values far in the left tail keep their relative accuracy.
pub fn normal_cdf(x: f64) -> f64 {
    0.5 * erfc(-x / SQRT_2)
}

/// The standard normal density `φ(x) = e^{−x²/2}/√(2π)`.
pub fn normal_pdf(x: f64) -> f64 {
    (-0.5 * x * x).exp() / (2.0 * PI).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn erf_matches_table_values() {
        // erf(0.5), erf(1), erf(2) to 10 digits, from tables (the 16-digit comparison is in
        // tests/ch04_probability.rs).
        for (x, expected) in [
            (0.5, 0.520_499_877_8),
            (1.0, 0.842_700_792_9),
            (2.0, 0.995_322_265_0),
        ] {
            assert!((erf(x) - expected).abs() < 1e-10, "erf({x}) = {}", erf(x));
            assert!((erf(-x) + expected).abs() < 1e-10);
        }
    }

    #[test]
    fn normal_cdf_keeps_relative_accuracy_in_the_tail() {
        // Φ(−10) = 7.619853024160526e-24 (tables, 16 digits); ½(1 + erf(−10/√2)) would give exactly 0.
        let expected = 7.619_853_024_160_526e-24;
        assert!(((normal_cdf(-10.0) - expected) / expected).abs() < 1e-12);
        assert_eq!(normal_cdf(0.0), 0.5);
    }
}
