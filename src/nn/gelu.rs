//! The error function `erf` and the GELU activation built on it (chapter 6).
//!
//! GELU (Hendrycks & Gimpel, 2016) weighs its input by the probability that a standard normal
//! variable is below it: `GELU(x) = x·Φ(x) = ½x(1 + erf(x/√2))`, where Φ is the normal CDF. It is
//! smooth, slightly negative for x < 0 (minimum ≈ −0.17 at x ≈ −0.75) and the default activation of
//! transformers. PyTorch's `nn.GELU()` computes this exact erf form; `nn.GELU(approximate='tanh')`
//! uses `½x(1 + tanh(√(2/π)(x + 0.044715x³)))`, which differs from it by less than 5·10⁻⁴.
//! Both are here: [`gelu`] (exact) and [`gelu_tanh`].
//!
//! The standard library has no `erf`, so [`erf`] is written out below, in f64:
//! - for |x| < 2 the series `erf(x) = (2/√π)·e^{−x²}·Σₙ 2ⁿx^{2n+1} / (1·3·5⋯(2n+1))`, whose terms
//!   are all positive (no cancellation), summed until a term is below 10⁻¹⁷ of the sum;
//! - for 2 ≤ |x| < 6 the continued fraction `erfc(x) = e^{−x²}/√π · 1/(x + ½/(x + 1/(x + (3/2)/(x + …))))`
//!   cut after 60 levels, then `erf = 1 − erfc`;
//! - for |x| ≥ 6, `erf(x) = ±1` (erfc(6) ≈ 2·10⁻¹⁷ is below f64's resolution of 1).
//!
//! Measured accuracy (tests/ch06_neurons.rs, against reference values to 16 digits): absolute error
//! below 10⁻¹⁵ for erf on the whole line, relative error below 10⁻¹³ for erfc up to x = 6 — far
//! beyond the f32 that GELU returns.

use std::f64::consts::PI;

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

/// The standard normal CDF `Φ(x) = ½(1 + erf(x/√2))`.
pub fn normal_cdf(x: f64) -> f64 {
    0.5 * erfc(-x / std::f64::consts::SQRT_2)
}

/// The standard normal density `φ(x) = e^{−x²/2}/√(2π)`.
pub fn normal_pdf(x: f64) -> f64 {
    (-0.5 * x * x).exp() / (2.0 * PI).sqrt()
}

/// GELU, exact form: `x·Φ(x)` (PyTorch's `nn.GELU()` default).
pub fn gelu(x: f32) -> f32 {
    let x = f64::from(x);
    (x * normal_cdf(x)) as f32
}

/// d GELU/dx `= Φ(x) + x·φ(x)`.
pub fn gelu_derivative(x: f32) -> f32 {
    let x = f64::from(x);
    (normal_cdf(x) + x * normal_pdf(x)) as f32
}

/// `√(2/π)`, the slope of the tanh approximation's inner polynomial.
const SQRT_2_OVER_PI: f64 = 0.797_884_560_802_865_4;
/// The cubic coefficient of the tanh approximation.
const GELU_TANH_CUBIC: f64 = 0.044_715;

/// GELU, tanh approximation: `½x(1 + tanh(√(2/π)(x + 0.044715x³)))` (PyTorch's `approximate='tanh'`).
pub fn gelu_tanh(x: f32) -> f32 {
    let x = f64::from(x);
    let inner = SQRT_2_OVER_PI * (x + GELU_TANH_CUBIC * x * x * x);
    (0.5 * x * (1.0 + inner.tanh())) as f32
}

/// Derivative of [`gelu_tanh`]: `½(1 + t) + ½x(1 − t²)·√(2/π)(1 + 3·0.044715x²)` with `t = tanh(…)`.
pub fn gelu_tanh_derivative(x: f32) -> f32 {
    let x = f64::from(x);
    let inner = SQRT_2_OVER_PI * (x + GELU_TANH_CUBIC * x * x * x);
    let t = inner.tanh();
    let inner_derivative = SQRT_2_OVER_PI * (1.0 + 3.0 * GELU_TANH_CUBIC * x * x);
    (0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * inner_derivative) as f32
}
