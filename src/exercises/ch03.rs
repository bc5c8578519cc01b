//! Chapter 3 exercises: calculus. Check them with
//! `cargo test --features exercises --test exercises -- ch03`.

// The stubs do not use their parameters until you write them.
#![allow(unused_variables)]

use crate::calculus::Expr;

/// **Exercise 3.1 — the central difference**, a numeric derivative.
///
/// - `f`: a function of one variable; `x`: the point; `h`: the step (> 0).
/// - returns `(f(x + h) − f(x − h)) / (2h)`, an estimate of f′(x).
///
/// Why both sides: by Taylor's theorem the f″ terms cancel, so the error is about h²·f‴/6 (for a
/// parabola it is exactly 0), while the one-sided `(f(x + h) − f(x)) / h` is off by about h·f″/2.
///
/// Hint: call `f(x + h)` and `f(x - h)`.
///
/// Reference, once yours passes: `src/calculus/numeric.rs` (`central_difference`).
pub fn central_difference(f: &dyn Fn(f64) -> f64, x: f64, h: f64) -> f64 {
    todo!("exercise 3.1: central_difference — see the doc comment")
}

/// **Exercise 3.2 — the numeric gradient**: every partial derivative by central differences.
///
/// - `f`: a function of n variables; `x`: the point (n values); `h`: the step.
/// - returns n values: `∂f/∂xᵢ ≈ (f(x + h·eᵢ) − f(x − h·eᵢ)) / (2h)`, where `eᵢ` is the i-th unit
///   vector (only coordinate i moves).
///
/// Example: for f = x² + y² at (3, 4) the gradient is (6, 8).
///
/// Hint: copy `x` into a mutable `Vec`; for each i set coordinate i to `x[i] + h`, evaluate, set it
/// to `x[i] - h`, evaluate, and **put it back** to `x[i]` before moving on.
///
/// Reference, once yours passes: `src/calculus/numeric.rs` (`numeric_gradient`).
pub fn numeric_gradient(f: &dyn Fn(&[f64]) -> f64, x: &[f64], h: f64) -> Vec<f64> {
    todo!("exercise 3.2: numeric_gradient — see the doc comment")
}

/// **Exercise 3.3 — the product rule**, symbolically.
///
/// - `a`, `b`: two expressions; `var`: the variable to differentiate by (e.g. `"x"`).
/// - returns an [`Expr`] for `d(a·b)/d var = a′·b + a·b′`.
///
/// Example: for `a = x**2`, `b = sin(x)`: `2*x*sin(x) + x**2*cos(x)`.
///
/// Hint: `a.diff(var)` is a′ (use it for the factors: this exercise is about combining them);
/// build expressions with `+` and `*` on owned values: `a.clone() * b.diff(var)`. The result need not
/// be simplified (`.simplify()` tidies it if you want to print it) — it is checked by its values.
///
/// Reference, once yours passes: `src/calculus/diff.rs` (the `Expr::Mul` rule of `Expr::diff`).
pub fn product_rule(a: &Expr, b: &Expr, var: &str) -> Expr {
    todo!("exercise 3.3: product_rule — see the doc comment")
}
