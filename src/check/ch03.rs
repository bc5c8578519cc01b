//! Checkers for chapter 3's exercises (`src/exercises/ch03.rs`): central difference, numeric
//! gradient, and the product rule on symbolic expressions.
//!
//! Finite differences are checked where their error is known exactly: the central difference of a
//! parabola is exact, of a cubic it is off by exactly h² (the forward difference is off by h·f″/2,
//! so a one-sided version fails these checks). The product rule is checked by evaluating the
//! learner's expression at several points and comparing with the derivative of `a·b` that
//! [`Expr::derivative`] computes, and with a central difference.

use super::Tolerance;
use super::exercise::{Check, CheckResult, format_values_f64, short};
use crate::calculus::Expr;
use crate::calculus::numeric;

/// A function of one variable, as the exercises take it.
type Function1<'a> = &'a dyn Fn(f64) -> f64;

/// A function of several variables, as the exercises take it.
type FunctionN<'a> = &'a dyn Fn(&[f64]) -> f64;

/// Exercise 3.1: `central_difference(f, x, h)` returns `(f(x + h) − f(x − h)) / (2h)`.
pub fn check_central_difference(f: impl Fn(&dyn Fn(f64) -> f64, f64, f64) -> f64) -> CheckResult {
    let hint = "use both sides of x: (f(x + h) − f(x − h)) / (2h); the one-sided (f(x + h) − f(x)) / h \
                is off by about h·f″(x)/2";
    let square = |x: f64| x * x;
    let cube = |x: f64| x * x * x;
    let sin = |x: f64| x.sin();
    // (check, f, x, h, the expected value)
    let cases: [(&str, Function1, f64, f64, f64); 5] = [
        (
            "f(x) = x² at x = 3, h = 0.5 (exact: 6)",
            &square,
            3.0,
            0.5,
            6.0,
        ),
        (
            "f(x) = x³ at x = 1, h = 0.1 (exactly 3x² + h² = 3.01)",
            &cube,
            1.0,
            0.1,
            3.01,
        ),
        (
            "f(x) = sin x at x = 1, h = 10⁻⁴",
            &sin,
            1.0,
            1e-4,
            numeric::central_difference(f64::sin, 1.0, 1e-4),
        ),
        (
            "f(x) = sin x at x = −2, h = 10⁻³",
            &sin,
            -2.0,
            1e-3,
            numeric::central_difference(f64::sin, -2.0, 1e-3),
        ),
        ("f(x) = x² at x = 0, h = 1", &square, 0.0, 1.0, 0.0),
    ];
    for (name, function, x, h, expected) in cases {
        let check = Check::new(name, format!("x = {}, h = {}", short(x), short(h)));
        let got = check.run(|| f(function, x, h));
        check.scalar(
            "the derivative",
            got,
            expected,
            Tolerance::new(1e-9, 1e-9),
            hint,
        )?;
    }
    Ok(())
}

/// f(x) = x₀·x₁ + 2·x₁·x₂ + x₂² + sin(x₀) (for n ≥ 3; fewer variables drop the terms they lack):
/// cross terms make a coordinate that is not restored after its nudge spoil the next partials.
fn coupled(x: &[f64]) -> f64 {
    let at = |i: usize| x.get(i).copied().unwrap_or(0.0);
    at(0) * at(1) + 2.0 * at(1) * at(2) + at(2) * at(2) + at(0).sin() + x.iter().sum::<f64>()
}

/// Exercise 3.2: `numeric_gradient(f, x, h)` returns the central difference along every coordinate.
pub fn check_numeric_gradient(
    f: impl Fn(&dyn Fn(&[f64]) -> f64, &[f64], f64) -> Vec<f64>,
) -> CheckResult {
    let hint = "∂f/∂xᵢ ≈ (f(x + h·eᵢ) − f(x − h·eᵢ)) / (2h): nudge only coordinate i, and put it back \
                before moving on to the next one";
    let bowl = |x: &[f64]| x.iter().map(|v| v * v).sum::<f64>();
    // (check, f, x, h)
    let cases: [(&str, FunctionN, Vec<f64>, f64); 4] = [
        ("f = x² + y² at (3, 4)", &bowl, vec![3.0, 4.0], 1e-3),
        (
            "f = x₀x₁ + 2x₁x₂ + x₂² + sin x₀ + Σx at (0.5, −1, 2)",
            &coupled,
            vec![0.5, -1.0, 2.0],
            1e-2,
        ),
        ("one variable", &coupled, vec![0.7], 1e-2),
        (
            "five variables",
            &coupled,
            vec![0.3, -0.2, 1.1, 2.0, -1.5],
            1e-2,
        ),
    ];
    for (name, function, x, h) in cases {
        let check = Check::new(
            name,
            format!("x = {}, h = {}", format_values_f64(&x), short(h)),
        );
        let got = check.run(|| f(function, &x, h));
        let expected = numeric::numeric_gradient(function, &x, h);
        check.that(
            got.len() == expected.len(),
            format!(
                "{} partial derivatives (one per coordinate)",
                expected.len()
            ),
            format!("{} values", got.len()),
            "return one partial derivative per coordinate of x",
        )?;
        for (i, (&g, &e)) in got.iter().zip(&expected).enumerate() {
            check.scalar(&format!("∂f/∂x{i}"), g, e, Tolerance::new(1e-9, 1e-9), hint)?;
        }
    }
    Ok(())
}

/// Exercise 3.3: `product_rule(a, b, var)` returns d(a·b)/d var = a′·b + a·b′ as an [`Expr`].
pub fn check_product_rule(f: impl Fn(&Expr, &Expr, &str) -> Expr) -> CheckResult {
    let x = Expr::var("x");
    let y = Expr::var("y");
    let cases: Vec<(Expr, Expr, &str)> = vec![
        (x.clone(), x.clone(), "x"),
        (x.clone().pow(2), x.clone().sin(), "x"),
        (x.clone().exp(), x.clone() + 1.0, "x"),
        (y.clone() * x.clone(), x.clone().cos(), "x"),
        (x.clone() + y.clone(), x.clone() - y.clone(), "y"),
        (Expr::constant(3.0), x.clone().pow(3), "x"),
    ];
    let points = [(-1.3, 0.7), (0.4, -2.0), (2.1, 1.5)];
    for (a, b, var) in cases {
        let check = Check::new(
            format!("d/d{var} of ({a})·({b})"),
            format!("a = {a}, b = {b}, var = \"{var}\""),
        );
        let got = check.run(|| f(&a, &b, var));
        let expected = (a.clone() * b.clone()).derivative(var);
        for &(xv, yv) in &points {
            let point = [("x", xv), ("y", yv)];
            let missing: Vec<String> = got
                .variables()
                .into_iter()
                .filter(|v| v != "x" && v != "y")
                .collect();
            check.that(
                missing.is_empty(),
                "an expression in the variables of a and b",
                format!("{got} (it has the unknown variables {missing:?})"),
                "build the result from a, b and their derivatives only",
            )?;
            let value = got.eval(&point);
            let product = |t: f64| {
                let mut shifted = point;
                let slot = if var == "x" { 0 } else { 1 };
                shifted[slot].1 = t;
                a.eval(&shifted) * b.eval(&shifted)
            };
            let at = if var == "x" { xv } else { yv };
            let numeric_value = numeric::central_difference(product, at, 1e-5);
            let wanted = expected.eval(&point);
            check.that(
                (value - wanted).abs() <= 1e-9 + 1e-9 * wanted.abs(),
                format!(
                    "d(a·b)/d{var} = {} at x = {xv}, y = {yv} (a central difference gives {})",
                    short(wanted),
                    short(numeric_value)
                ),
                format!("{got}, which is {} there", short(value)),
                "the product rule: (a·b)′ = a′·b + a·b′ — both terms; get a′ and b′ with \
                 `a.diff(var)` and `b.diff(var)`",
            )?;
        }
    }
    Ok(())
}
