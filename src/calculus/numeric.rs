//! Numeric derivatives: finite differences, and why the step size h matters.
//!
//! The derivative is a limit, f′(x) = lim_{h→0} (f(x+h) − f(x)) / h. A computer cannot take the
//! limit, so it picks a small h — and two errors pull in opposite directions:
//!
//! - **Truncation error** (h too big): by Taylor's theorem the **forward difference**
//!   (f(x+h) − f(x)) / h is off by about h·|f″(x)|/2, and the **central difference**
//!   (f(x+h) − f(x−h)) / (2h) by about h²·|f‴(x)|/6 — the f″ terms cancel, which is why central
//!   differences are used for gradient checks.
//! - **Rounding error** (h too small): f is only computed to a relative precision ε (machine epsilon:
//!   2.2·10⁻¹⁶ in f64, 1.2·10⁻⁷ in f32), so the numerator carries an error of about ε·|f(x)|, and
//!   dividing by h magnifies it to ε·|f|/h. When h is below ε·|x|, `x + h` rounds to `x` and the
//!   difference is exactly 0.
//!
//! Balancing the two gives the best step: h ≈ √ε for forward differences (10⁻⁸ in f64, 3·10⁻⁴ in f32)
//! and h ≈ ∛ε for central ones (6·10⁻⁶ in f64, 5·10⁻³ in f32), for f, f″, f‴ of order 1. Chapter 3
//! prints the error for h from 10⁻¹ to 10⁻¹² and draws the V-shaped curve; [`crate::check`] uses
//! h = 10⁻² for its f32 gradient checks for exactly this reason.
//!
//! What it leaves out: Richardson extrapolation, complex-step derivatives, higher derivatives.

/// The forward difference (f(x+h) − f(x)) / h in f64: error ≈ h·|f″|/2 + ε·|f|/h.
pub fn forward_difference(f: impl Fn(f64) -> f64, x: f64, h: f64) -> f64 {
    (f(x + h) - f(x)) / h
}

/// The central difference (f(x+h) − f(x−h)) / (2h) in f64: error ≈ h²·|f‴|/6 + ε·|f|/h.
pub fn central_difference(f: impl Fn(f64) -> f64, x: f64, h: f64) -> f64 {
    (f(x + h) - f(x - h)) / (2.0 * h)
}

/// The forward difference computed entirely in f32 (the precision networks train in).
pub fn forward_difference_f32(f: impl Fn(f32) -> f32, x: f32, h: f32) -> f32 {
    (f(x + h) - f(x)) / h
}

/// The central difference computed entirely in f32.
pub fn central_difference_f32(f: impl Fn(f32) -> f32, x: f32, h: f32) -> f32 {
    (f(x + h) - f(x - h)) / (2.0 * h)
}

/// The numeric gradient of a function of several variables: one central difference per coordinate,
/// ∂f/∂xᵢ ≈ (f(x + h·eᵢ) − f(x − h·eᵢ)) / (2h), where eᵢ is the i-th unit vector. Costs 2·n calls
/// of f — fine for checking, far too slow for training (reverse mode gets all n partials for the
/// cost of about one extra evaluation: see [`super::autodiff`]).
pub fn numeric_gradient(f: impl Fn(&[f64]) -> f64, x: &[f64], h: f64) -> Vec<f64> {
    let mut shifted = x.to_vec();
    (0..x.len())
        .map(|i| {
            shifted[i] = x[i] + h;
            let plus = f(&shifted);
            shifted[i] = x[i] - h;
            let minus = f(&shifted);
            shifted[i] = x[i];
            (plus - minus) / (2.0 * h)
        })
        .collect()
}

/// The relative error |approximation − exact| / |exact| (the absolute error when exact is 0).
pub fn relative_error(approximation: f64, exact: f64) -> f64 {
    let difference = (approximation - exact).abs();
    if exact == 0.0 {
        difference
    } else {
        difference / exact.abs()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn central_beats_forward_at_the_same_moderate_step() {
        let exact = 1f64.cos();
        let forward = relative_error(forward_difference(f64::sin, 1.0, 1e-3), exact);
        let central = relative_error(central_difference(f64::sin, 1.0, 1e-3), exact);
        assert!(
            central < forward / 100.0,
            "central {central}, forward {forward}"
        );
    }

    #[test]
    fn a_step_below_epsilon_gives_zero_in_f32() {
        // 1 + 1e-8 rounds to 1 in f32, so the difference vanishes.
        assert_eq!(forward_difference_f32(f32::sin, 1.0, 1e-8), 0.0);
    }
}
