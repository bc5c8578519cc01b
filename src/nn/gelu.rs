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
//!
//! That f64 series is exact but slow (a loop of dozens of terms per value). The transformer of
//! chapter 16 applies GELU to 400,000 values per layer per step, so it uses [`gelu_and_slope`]
//! (inside its first feed-forward layer's GEMM, see `Linear::forward_gelu_into`); [`gelu_into`],
//! [`gelu_with_slope_into`] and [`gelu_backward_in_place`] do the same on whole slices. All are
//! built on [`normal_cdf_pdf_fast`]: Abramowitz & Stegun's
//! formula 7.1.26 for erfc, `erfc(z) ≈ (a₁t + a₂t² + a₃t³ + a₄t⁴ + a₅t⁵)·e^{−z²}` with
//! `t = 1/(1 + p·z)`, z ≥ 0, absolute error below 1.5·10⁻⁷ — the rounding step of f32 near 1 — with
//! the exponential from [`super::recurrent::fast_exp`]. The same `e^{−x²/2}` serves Φ and the density
//! φ, so the derivative costs one exponential too. Straight-line code without branches in the loop
//! body, so the compiler vectorises it.

use super::recurrent::fast_exp;
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

/// `1/√2`: Φ(x) = ½·erfc(−x/√2).
const FRAC_1_SQRT_2: f32 = std::f32::consts::FRAC_1_SQRT_2;
/// `1/√(2π)`, the density φ at 0.
const FRAC_1_SQRT_2PI: f32 = 0.398_942_3;

/// `(Φ(x), φ(x))` in f32, fast: absolute error below 2·10⁻⁷ for Φ (see the module docs).
#[inline(always)]
pub fn normal_cdf_pdf_fast(x: f32) -> (f32, f32) {
    const P: f32 = 0.327_591_1;
    const A1: f32 = 0.254_829_6;
    const A2: f32 = -0.284_496_74;
    const A3: f32 = 1.421_413_8;
    const A4: f32 = -1.453_152;
    const A5: f32 = 1.061_405_4;
    let z = x.abs() * FRAC_1_SQRT_2;
    let t = 1.0 / (1.0 + P * z);
    let polynomial = t * (A1 + t * (A2 + t * (A3 + t * (A4 + t * A5))));
    // e^{−z²} = e^{−x²/2}, shared by erfc and the density.
    let gaussian = fast_exp(-z * z);
    // ½·erfc(|x|/√2) = Φ(−|x|): the lower tail, accurate in relative terms where it is small.
    let tail = 0.5 * polynomial * gaussian;
    let cdf = if x >= 0.0 { 1.0 - tail } else { tail };
    (cdf, FRAC_1_SQRT_2PI * gaussian)
}

/// Φ(x) in f32, fast (see [`normal_cdf_pdf_fast`]).
pub fn normal_cdf_fast(x: f32) -> f32 {
    normal_cdf_pdf_fast(x).0
}

/// `(GELU(x), GELU′(x)) = (x·Φ(x), Φ(x) + x·φ(x))`, fast (see the module docs): the value and the
/// slope a layer keeps for its backward pass, from one evaluation of Φ and φ.
#[inline(always)]
pub fn gelu_and_slope(x: f32) -> (f32, f32) {
    let (cdf, pdf) = normal_cdf_pdf_fast(x);
    (x * cdf, cdf + x * pdf)
}

/// `output[i] = GELU(input[i]) = input[i]·Φ(input[i])` (exact form, fast Φ) for whole slices.
pub fn gelu_into(input: &[f32], output: &mut [f32]) {
    assert_eq!(
        input.len(),
        output.len(),
        "gelu_into: {} inputs but {} outputs",
        input.len(),
        output.len()
    );
    for (y, &x) in output.iter_mut().zip(input) {
        *y = x * normal_cdf_pdf_fast(x).0;
    }
}

/// `output[i] = GELU(input[i])` and `slope[i] = GELU′(input[i]) = Φ(x) + x·φ(x)` in one pass: a
/// layer that keeps the slope for its backward pass (one multiplication there) needs neither the
/// input nor a second evaluation of Φ and φ.
pub fn gelu_with_slope_into(input: &[f32], output: &mut [f32], slope: &mut [f32]) {
    assert!(
        input.len() == output.len() && input.len() == slope.len(),
        "gelu_with_slope_into: {} inputs, {} outputs, {} slopes",
        input.len(),
        output.len(),
        slope.len()
    );
    for ((y, s), &x) in output.iter_mut().zip(slope.iter_mut()).zip(input) {
        (*y, *s) = gelu_and_slope(x);
    }
}

/// `grad[i] *= GELU′(input[i]) = Φ(x) + x·φ(x)`: turns ∂L/∂GELU(x) into ∂L/∂x in place.
pub fn gelu_backward_in_place(input: &[f32], grad: &mut [f32]) {
    assert_eq!(
        input.len(),
        grad.len(),
        "gelu_backward_in_place: {} inputs but {} gradients",
        input.len(),
        grad.len()
    );
    for (g, &x) in grad.iter_mut().zip(input) {
        let (cdf, pdf) = normal_cdf_pdf_fast(x);
        *g *= cdf + x * pdf;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fast_gelu_matches_the_exact_one() {
        let xs: Vec<f32> = (-2000..=2000).map(|i| i as f32 * 0.005).collect();
        let mut fast = vec![0.0; xs.len()];
        gelu_into(&xs, &mut fast);
        let mut slope = vec![1.0; xs.len()];
        gelu_backward_in_place(&xs, &mut slope);
        let (mut again, mut slope_again) = (vec![0.0; xs.len()], vec![0.0; xs.len()]);
        gelu_with_slope_into(&xs, &mut again, &mut slope_again);
        assert_eq!(again, fast);
        assert_eq!(slope_again, slope);
        for ((&x, &y), &d) in xs.iter().zip(&fast).zip(&slope) {
            assert!(
                (y - gelu(x)).abs() < 1e-6,
                "GELU({x}): fast {y}, exact {}",
                gelu(x)
            );
            assert!(
                (d - gelu_derivative(x)).abs() < 1e-6,
                "GELU'({x}): fast {d}, exact {}",
                gelu_derivative(x)
            );
        }
    }
}
