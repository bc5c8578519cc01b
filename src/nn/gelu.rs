//! The GELU activation (chapter 6), exact and tanh-approximated.
//!
//! GELU (Hendrycks & Gimpel, 2016) weighs its input by the probability that a standard normal
//! variable is below it: `GELU(x) = x·Φ(x) = ½x(1 + erf(x/√2))`, where Φ is the normal CDF. It is
//! smooth, slightly negative for x < 0 (minimum ≈ −0.17 at x ≈ −0.75) and the default activation of
//! transformers. PyTorch's `nn.GELU()` computes this exact erf form; `nn.GELU(approximate='tanh')`
//! uses `½x(1 + tanh(√(2/π)(x + 0.044715x³)))`, which differs from it by less than 5·10⁻⁴.
//! Both are here: [`gelu`] (exact) and [`gelu_tanh`].
//!
//! Φ and its density φ come from [`mod@crate::probability::erf`] (chapter 4), where `erf` is written out
//! to about 10⁻¹⁵ in f64 — far beyond the f32 that GELU returns.

use crate::probability::{normal_cdf, normal_pdf};

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
