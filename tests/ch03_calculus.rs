//! Chapter 3 (calculus): the symbolic `Expr` prints the tutorial's derivatives exactly; symbolic,
//! numeric and automatic derivatives agree on randomly generated expressions; simplification keeps
//! the value; reverse-mode autodiff handles reused nodes, repeated backward calls and deep graphs;
//! finite differences show the predicted error orders; gradient descent behaves as theory says.

use dlfs::calculus::descent::gradient_descent;
use dlfs::calculus::numeric::{
    central_difference, forward_difference, numeric_gradient, relative_error,
};
use dlfs::calculus::{Expr, Graph};
use proptest::prelude::*;

fn x() -> Expr {
    Expr::var("x")
}

fn y() -> Expr {
    Expr::var("y")
}

// ---------------------------------------------------------------------------------------------------
// Exact printed forms.
// ---------------------------------------------------------------------------------------------------

#[test]
fn the_tutorials_derivatives_print_exactly_as_sympy_prints_them() {
    // print(diff(x**2, x)) → 2*x; print(diff(x**2 + y**2, x)) → 2*x; … y → 2*y
    assert_eq!(x().pow(2).derivative("x").to_string(), "2*x");
    let g = x().pow(2) + y().pow(2);
    assert_eq!(g.to_string(), "x**2 + y**2");
    assert_eq!(g.derivative("x").to_string(), "2*x");
    assert_eq!(g.derivative("y").to_string(), "2*y");
    let gradient: Vec<String> = g
        .gradient(&["x", "y"])
        .iter()
        .map(|d| d.to_string())
        .collect();
    assert_eq!(gradient, ["2*x", "2*y"]);
}

#[test]
fn common_derivatives_print_in_textbook_form() {
    let cases = [
        (x().pow(3), "3*x**2"),
        (x().sin(), "cos(x)"),
        (x().cos(), "-sin(x)"),
        (x().exp(), "exp(x)"),
        (x().ln(), "1/x"),
        (x().tanh(), "1 - tanh(x)**2"),
        (1.0 / x(), "-1/x**2"),
        (x() * y(), "y"),
        (3.0 * x().pow(2) + 2.0 * x() + 1.0, "6*x + 2"),
        (x().pow(2).sin().exp(), "2*x*cos(x**2)*exp(sin(x**2))"),
        ((x().pow(2) + 1.0).ln(), "2*x/(x**2 + 1)"),
        (Expr::constant(2.0).pow(x()), "2**x*log(2)"),
        (x().pow(x()), "x**x*(log(x) + 1)"),
        (x().sin() / x(), "(x*cos(x) - sin(x))/x**2"),
        (x().pow(0.5), "0.5/x**0.5"),
        (y().pow(2), "0"),
        (Expr::constant(7.0), "0"),
    ];
    for (f, expected) in cases {
        assert_eq!(f.derivative("x").to_string(), expected, "d/dx {f}");
    }
}

#[test]
fn the_unsimplified_derivative_is_the_rules_applied_literally() {
    assert_eq!(x().pow(2).diff("x").to_string(), "2*x**(2 - 1)*1");
    assert_eq!((x() * y()).diff("x").to_string(), "1*y + x*0");
}

#[test]
fn expressions_print_with_sympys_operators_and_precedence() {
    assert_eq!((x() + 1.0).pow(2).to_string(), "(x + 1)**2");
    assert_eq!((x() - (y() - 1.0)).to_string(), "x - (y - 1)");
    assert_eq!((x() / (2.0 * y())).to_string(), "x/(2*y)");
    assert_eq!((-(x() + y())).to_string(), "-(x + y)");
    assert_eq!(x().ln().to_string(), "log(x)");
    assert_eq!(Expr::constant(0.5).to_string(), "0.5");
    assert_eq!(Expr::constant(-0.0).to_string(), "0");
}

#[test]
fn eval_computes_the_value_and_lists_the_variables() {
    let f = x().pow(2) + 3.0 * x() * y() - y().exp();
    let value = f.eval(&[("x", 2.0), ("y", 0.0)]);
    assert_eq!(value, 4.0 + 0.0 - 1.0);
    assert_eq!(f.variables(), ["x", "y"]);
}

#[test]
#[should_panic(expected = "no value for variable 'y'")]
fn eval_names_a_missing_variable() {
    (x() + y()).eval(&[("x", 1.0)]);
}

// ---------------------------------------------------------------------------------------------------
// Properties on random expressions.
// ---------------------------------------------------------------------------------------------------

/// Random expressions in x and y whose every operation is defined on the whole plane: logarithms
/// and real powers only of 1 + a² (> 0), denominators only of the form 1 + b² (≥ 1).
fn expression() -> impl Strategy<Value = Expr> {
    let leaf = prop_oneof![
        (-3i32..=3).prop_map(|c| Expr::constant(f64::from(c))),
        (-2.0f64..2.0).prop_map(Expr::constant),
        Just(x()),
        Just(y()),
    ];
    leaf.prop_recursive(4, 32, 2, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| a + b),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| a - b),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| a * b),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| a / (1.0 + b.pow(2))),
            (inner.clone(), 2..=3i32).prop_map(|(a, n)| a.pow(n)),
            (inner.clone(), -1.5f64..1.5).prop_map(|(a, c)| (1.0 + a.pow(2)).pow(c)),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| (1.0 + a.pow(2)).pow(b.sin())),
            inner.clone().prop_map(|a| -a),
            inner.clone().prop_map(|a| (1.0 + a.pow(2)).ln()),
            inner.clone().prop_map(Expr::sin),
            inner.clone().prop_map(Expr::cos),
            inner.clone().prop_map(Expr::tanh),
            inner.clone().prop_map(Expr::exp),
        ]
    })
}

/// The largest |value| of any sub-expression at the point: the scale of the rounding errors that
/// evaluating the expression can make (a sum of large terms that cancel is only as accurate as
/// its terms).
fn largest_intermediate(e: &Expr, point: &[(&str, f64)]) -> f64 {
    let own = e.eval(point).abs();
    let children = match e {
        Expr::Const(_) | Expr::Var(_) => 0.0,
        Expr::Add(a, b) | Expr::Sub(a, b) | Expr::Mul(a, b) | Expr::Div(a, b) | Expr::Pow(a, b) => {
            largest_intermediate(a, point).max(largest_intermediate(b, point))
        }
        Expr::Neg(a) | Expr::Exp(a) | Expr::Ln(a) | Expr::Sin(a) | Expr::Cos(a) | Expr::Tanh(a) => {
            largest_intermediate(a, point)
        }
    };
    own.max(children)
}

/// A derivative estimate accurate to O(h⁴): Richardson extrapolation of two central differences,
/// (4·D(h/2) − D(h)) / 3, which cancels their h² error terms.
fn richardson(f: impl Fn(f64) -> f64, at: f64, h: f64) -> f64 {
    (4.0 * central_difference(&f, at, h / 2.0) - central_difference(&f, at, h)) / 3.0
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// The symbolic derivative agrees with a numeric one at random points. The numeric estimate
    /// (Richardson, h = 10⁻³ and 5·10⁻⁴) has a truncation error ~h⁴·f⁽⁵⁾ and a rounding error
    /// ~ε·|f|/h ≈ 2·10⁻¹³·|f|. Where f oscillates fast (f⁽⁵⁾ huge, e.g. sin(exp(y)²)) the estimate
    /// has not converged; such points are skipped, recognised by the two step sizes disagreeing by
    /// more than 10⁻⁷ of the scale. Elsewhere the tolerance is 10⁻⁶ of the scale of f and f′,
    /// while a wrong rule (a lost factor, a sign) is off by O(1).
    #[test]
    fn symbolic_derivative_matches_finite_differences(
        f in expression(),
        px in -1.5f64..1.5,
        py in -1.5f64..1.5,
    ) {
        for var in ["x", "y"] {
            let at = |v: f64| if var == "x" { [("x", v), ("y", py)] } else { [("x", px), ("y", v)] };
            let here = if var == "x" { px } else { py };
            let value = f.eval(&at(here));
            prop_assume!(value.is_finite() && value.abs() < 1e4);
            let scale = largest_intermediate(&f, &at(here));
            prop_assume!(scale < 1e6);
            let symbolic = f.derivative(var).eval(&at(here));
            let coarse = richardson(|v| f.eval(&at(v)), here, 1e-3);
            let numeric = richardson(|v| f.eval(&at(v)), here, 5e-4);
            prop_assume!(numeric.is_finite() && coarse.is_finite());
            let tolerance = 1e-6 * (1.0 + scale + symbolic.abs());
            prop_assume!((numeric - coarse).abs() <= tolerance / 10.0);
            prop_assert!(
                (symbolic - numeric).abs() <= tolerance,
                "d/d{} of {} at x = {}, y = {}: symbolic {} = {}, numeric {}",
                var, f, px, py, f.derivative(var), symbolic, numeric
            );
        }
    }

    /// Simplification changes the form, not the value (up to rounding, which scales with the
    /// largest intermediate value: reordering a sum of large terms moves its last digits).
    #[test]
    fn simplify_preserves_the_value(
        f in expression(),
        px in -1.5f64..1.5,
        py in -1.5f64..1.5,
    ) {
        let point = [("x", px), ("y", py)];
        let original = f.eval(&point);
        let scale = largest_intermediate(&f, &point);
        prop_assume!(original.is_finite() && scale < 1e8);
        let simplified = f.simplify();
        let value = simplified.eval(&point);
        prop_assert!(
            (value - original).abs() <= 1e-10 * (1.0 + scale),
            "{} = {} but simplified {} = {}", f, original, simplified, value
        );
        // The raw derivative and the simplified one agree as well.
        let raw = f.diff("x").eval(&point);
        let tidy = f.derivative("x").eval(&point);
        prop_assume!(raw.is_finite());
        let scale = largest_intermediate(&f.diff("x"), &point);
        prop_assert!((raw - tidy).abs() <= 1e-10 * (1.0 + scale), "{}: {} vs {}", f, raw, tidy);
    }

    /// Reverse-mode autodiff and the symbolic derivative compute the same numbers: both apply the
    /// chain rule exactly, so they differ only by rounding (same scale argument as above).
    #[test]
    fn autodiff_matches_the_symbolic_gradient(
        f in expression(),
        px in -1.5f64..1.5,
        py in -1.5f64..1.5,
    ) {
        let point = [("x", px), ("y", py)];
        let scale = largest_intermediate(&f, &point);
        prop_assume!(f.eval(&point).is_finite() && scale < 1e6);
        let mut graph = Graph::new();
        let (gx, gy) = (graph.leaf(px), graph.leaf(py));
        let output = graph.expr(&f, &[("x", gx), ("y", gy)]);
        prop_assert_eq!(graph.value(output).to_bits(), f.eval(&point).to_bits());
        graph.backward(output);
        for (var, leaf) in [("x", gx), ("y", gy)] {
            let symbolic = f.derivative(var).eval(&point);
            prop_assume!(symbolic.is_finite());
            let automatic = graph.grad(leaf);
            let derivative_scale = largest_intermediate(&f.diff(var), &point);
            prop_assert!(
                (automatic - symbolic).abs() <= 1e-9 * (1.0 + scale + derivative_scale),
                "d/d{} of {}: autodiff {}, symbolic {} = {}", var, f, automatic, f.derivative(var), symbolic
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------------
// Reverse-mode autodiff: the cases learners get wrong.
// ---------------------------------------------------------------------------------------------------

#[test]
fn a_reused_node_collects_the_gradient_of_every_use() {
    // b = a + a, c = b * b = 4a²: dc/db = 2b = 12, dc/da = 8a = 24 at a = 3. Writing `=` instead of
    // `+=` gives 12 for a; visiting a before b is complete gives a wrong value too.
    let mut g = Graph::new();
    let a = g.leaf(3.0);
    let b = g.add(a, a);
    let c = g.mul(b, b);
    g.backward(c);
    assert_eq!(g.value(c), 36.0);
    assert_eq!(g.grad(c), 1.0);
    assert_eq!(g.grad(b), 12.0);
    assert_eq!(g.grad(a), 24.0);
}

#[test]
fn gradients_accumulate_over_backward_calls_until_zero_grad() {
    let mut g = Graph::new();
    let a = g.leaf(3.0);
    let b = g.add(a, a);
    let c = g.mul(b, b);
    g.backward(c);
    g.backward(c);
    assert_eq!((g.grad(a), g.grad(b), g.grad(c)), (48.0, 24.0, 2.0));
    g.zero_grad();
    assert_eq!(g.grad(a), 0.0);
    g.backward(c);
    assert_eq!(g.grad(a), 24.0);
}

#[test]
fn a_diamond_graph_matches_the_product_rule() {
    // f = (a·b)·(a + b): ∂f/∂a = b·(a + b) + a·b, ∂f/∂b = a·(a + b) + a·b.
    let (av, bv) = (1.5, -2.0);
    let mut g = Graph::new();
    let a = g.leaf(av);
    let b = g.leaf(bv);
    let product = g.mul(a, b);
    let sum = g.add(a, b);
    let f = g.mul(product, sum);
    g.backward(f);
    assert_eq!(g.grad(a), bv * (av + bv) + av * bv);
    assert_eq!(g.grad(b), av * (av + bv) + av * bv);
}

#[test]
fn a_very_deep_graph_does_not_overflow_the_stack() {
    // 200 000 nested tanh: a recursive topological sort would overflow the call stack here.
    let depth = 200_000;
    let mut g = Graph::new();
    let input = g.leaf(0.5);
    let mut node = input;
    let mut expected = 1.0;
    let mut value: f64 = 0.5;
    for _ in 0..depth {
        node = g.tanh(node);
        value = value.tanh();
        expected *= 1.0 - value * value;
    }
    g.backward(node);
    assert_eq!(g.value(node), value);
    assert!(
        relative_error(g.grad(input), expected) < 1e-9,
        "{} vs {expected}",
        g.grad(input)
    );
    assert_eq!(g.topological_order(node).len(), depth + 1);
}

#[test]
fn relu_passes_gradient_only_for_positive_inputs() {
    let mut g = Graph::new();
    let inputs = [g.leaf(-1.0), g.leaf(0.0), g.leaf(2.0)];
    let outputs: Vec<_> = inputs.iter().map(|&i| g.relu(i)).collect();
    let total = g.sum(&outputs);
    g.backward(total);
    let grads: Vec<f64> = inputs.iter().map(|&i| g.grad(i)).collect();
    assert_eq!(grads, [0.0, 0.0, 1.0]);
}

#[test]
fn autodiff_gradient_of_a_neuron_matches_finite_differences() {
    // loss = (tanh(w·x + b) − y)² for one example; parameters w₁, w₂, b.
    let loss_of = |p: &[f64]| {
        let mut g = Graph::new();
        let leaves: Vec<_> = p.iter().map(|&v| g.leaf(v)).collect();
        let (x1, x2, target) = (g.leaf(0.7), g.leaf(-1.2), g.leaf(1.0));
        let t1 = g.mul(leaves[0], x1);
        let t2 = g.mul(leaves[1], x2);
        let z = g.sum(&[t1, t2, leaves[2]]);
        let a = g.tanh(z);
        let error = g.sub(a, target);
        let loss = g.powf(error, 2.0);
        g.backward(loss);
        let grads: Vec<f64> = leaves.iter().map(|&l| g.grad(l)).collect();
        (g.value(loss), grads)
    };
    let params = [0.3, -0.4, 0.1];
    let (_, automatic) = loss_of(&params);
    let numeric = numeric_gradient(|p| loss_of(p).0, &params, 1e-6);
    for (a, n) in automatic.iter().zip(&numeric) {
        // f64 central differences with h = 1e-6: error ~1e-10 here.
        assert!(relative_error(*n, *a) < 1e-7, "autodiff {a} vs numeric {n}");
    }
}

#[test]
#[should_panic(expected = "variable 'y' is not bound")]
fn graph_expr_names_an_unbound_variable() {
    let mut g = Graph::new();
    let gx = g.leaf(1.0);
    g.expr(&(x() * y()), &[("x", gx)]);
}

// ---------------------------------------------------------------------------------------------------
// Finite differences and gradient descent.
// ---------------------------------------------------------------------------------------------------

#[test]
fn finite_difference_errors_shrink_with_the_predicted_order() {
    // sin at 1, h from 1e-2 to 1e-3 (well above the rounding regime in f64): the forward error
    // ∝ h drops 10×, the central error ∝ h² drops 100×; ±20 % for the next Taylor terms.
    let exact = 1f64.cos();
    let error = |estimate: f64| (estimate - exact).abs();
    let forward_ratio = error(forward_difference(f64::sin, 1.0, 1e-2))
        / error(forward_difference(f64::sin, 1.0, 1e-3));
    let central_ratio = error(central_difference(f64::sin, 1.0, 1e-2))
        / error(central_difference(f64::sin, 1.0, 1e-3));
    assert!(
        (8.0..12.0).contains(&forward_ratio),
        "forward ratio {forward_ratio}"
    );
    assert!(
        (80.0..120.0).contains(&central_ratio),
        "central ratio {central_ratio}"
    );
    // And far below the optimum the rounding error takes over: h = 1e-12 is worse than 1e-5.
    assert!(
        error(central_difference(f64::sin, 1.0, 1e-12))
            > error(central_difference(f64::sin, 1.0, 1e-5))
    );
}

#[test]
fn numeric_gradient_of_the_tutorials_function() {
    let g = numeric_gradient(|p| p[0] * p[0] + p[1] * p[1], &[1.0, 2.0], 1e-5);
    assert!(
        (g[0] - 2.0).abs() < 1e-8 && (g[1] - 4.0).abs() < 1e-8,
        "{g:?}"
    );
}

#[test]
fn gradient_descent_converges_below_two_over_the_curvature_and_diverges_above() {
    // f = x² + 10y², curvatures 2 and 20: converges for η < 2/20 = 0.1.
    let f = x().pow(2) + 10.0 * y().pow(2);
    let gradient = f.gradient(&["x", "y"]);
    let value = |p: &[f64]| f.eval(&[("x", p[0]), ("y", p[1])]);
    let grad = |p: &[f64]| -> Vec<f64> {
        gradient
            .iter()
            .map(|d| d.eval(&[("x", p[0]), ("y", p[1])]))
            .collect()
    };
    let converging = gradient_descent(value, grad, &[-4.0, 1.5], 0.09, 40);
    assert!(*converging.values.last().unwrap() < 1e-5);
    // Each step multiplies x by exactly 1 − 2η.
    let ratio = converging.points[11][0] / converging.points[10][0];
    assert!((ratio - (1.0 - 2.0 * 0.09)).abs() < 1e-12, "{ratio}");
    let diverging = gradient_descent(value, grad, &[-4.0, 1.5], 0.105, 40);
    assert!(diverging.values.last().unwrap() > &diverging.values[0]);
}
