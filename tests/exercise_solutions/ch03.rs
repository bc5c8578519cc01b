//! Reference solutions of chapter 3's exercises (see `mod.rs`).

use dlfs::calculus::Expr;

pub fn central_difference(f: &dyn Fn(f64) -> f64, x: f64, h: f64) -> f64 {
    dlfs::calculus::numeric::central_difference(f, x, h)
}

pub fn numeric_gradient(f: &dyn Fn(&[f64]) -> f64, x: &[f64], h: f64) -> Vec<f64> {
    dlfs::calculus::numeric::numeric_gradient(f, x, h)
}

pub fn product_rule(a: &Expr, b: &Expr, var: &str) -> Expr {
    // (a·b)′ = a′·b + a·b′, as the `Expr::Mul` rule of `Expr::diff` writes it.
    a.diff(var) * b.clone() + a.clone() * b.diff(var)
}
