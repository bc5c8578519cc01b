//! Chapter 3 — 微积分基础 (calculus): derivatives, partial derivatives, the gradient, the chain rule.
//!
//! The tutorial differentiates `x**2` and `x**2 + y**2` with sympy and states what the gradient and
//! the chain rule are. This chapter does the same with dlfs's own symbolic [`Expr`] and then shows the
//! three ways a computer can get a derivative, because deep learning uses all three:
//!
//! 1. **symbolic** — rules applied to a formula (what sympy does; [`dlfs::calculus::diff`]);
//! 2. **numeric** — finite differences, and why the step size h cannot be "as small as possible"
//!    (the V-shaped error curve; what `dlfs::check::gradcheck` relies on);
//! 3. **automatic** — reverse mode on a computation graph (what `loss.backward()` does in every
//!    framework; [`dlfs::calculus::autodiff`]), used here to train a single neuron.
//!
//! It ends with gradient descent on a 2-D bowl, the path drawn to an SVG file.

use dlfs::calculus::descent::{DescentPath, gradient_descent};
use dlfs::calculus::numeric::{
    central_difference, central_difference_f32, forward_difference, forward_difference_f32,
    numeric_gradient, relative_error,
};
use dlfs::calculus::{Expr, Graph, Value};
use dlfs::cli::{Args, Command};
use dlfs::probability::Rng;
use dlfs::report::{LinePlot, Table, chart};
use dlfs::{Error, Result, app};
use std::path::Path;

/// The chapter's flags (`--quick`, `--out`, `--threads` come from `app::chapter_command`).
pub fn command() -> Command {
    app::chapter_command(
        "ch03_calculus",
        "Derivatives three ways: a symbolic Expr that prints d/dx x**2 = 2*x, finite differences and \
         the step-size error curve, reverse-mode autodiff training a neuron, gradient descent drawn.",
    )
    .option(
        "steps",
        "N",
        "",
        "gradient steps for the neuron (default 200; 60 with --quick)",
    )
    .option("seed", "S", "3", "seed for the neuron's initial weights")
}

/// The chapter itself.
pub fn run(args: &Args) -> Result<()> {
    let out = app::out_dir(args)?;
    let quick = args.flag("quick");
    let steps: usize = args
        .get_opt("steps")?
        .unwrap_or(if quick { 60 } else { 200 });
    let seed: u64 = args.get("seed")?;
    // What --steps asks for, checked before anything is allocated: the loss curve and its SVG plot.
    app::MemoryPlan::new().add(
        "--steps",
        steps,
        "the neuron's loss curve and its plot (about 50 bytes a step)",
        app::bytes_of(steps, 50),
    )?;

    println!("# 3. 微积分基础 — calculus");
    derivatives_like_the_tutorial()?;
    step_size_matters(&out)?;
    gradient_is_steepest_ascent();
    chain_rule_three_ways()?;
    autodiff_and_a_neuron(steps, seed, &out)?;
    gradient_descent_on_a_bowl(&out)?;
    app::exercises_hint("ch03");
    Ok(())
}

fn heading(title: &str) {
    println!("\n## {title}\n");
}

fn x() -> Expr {
    Expr::var("x")
}

fn y() -> Expr {
    Expr::var("y")
}

// ---------------------------------------------------------------------------------------------------
// 3.1 Derivatives and partial derivatives: the tutorial's sympy example, reproduced.
// ---------------------------------------------------------------------------------------------------

fn derivatives_like_the_tutorial() -> Result<()> {
    heading("3.1 导数和偏导数 — derivatives and partial derivatives");
    println!("The tutorial (Python, sympy):");
    println!("    x = symbols('x'); f = x**2; print(diff(f, x))            # 输出 2*x");
    println!("    g = x**2 + y**2; print(diff(g, x)); print(diff(g, y))   # 输出 2*x, 2*y");
    println!("dlfs (Rust):");
    println!("    let (x, y) = (Expr::var(\"x\"), Expr::var(\"y\"));");
    println!("    let f = x.clone().pow(2); println!(\"{{}}\", f.derivative(\"x\"));");
    println!("    let g = x.pow(2) + y.pow(2); g.derivative(\"x\"), g.derivative(\"y\")\n");

    let f = x().pow(2);
    let g = x().pow(2) + y().pow(2);
    let cases = [
        ("d/dx  x**2", f.derivative("x"), "2*x"),
        ("∂/∂x  x**2 + y**2", g.derivative("x"), "2*x"),
        ("∂/∂y  x**2 + y**2", g.derivative("y"), "2*y"),
    ];
    let mut table = Table::new(&["derivative", "tutorial prints", "dlfs prints", "same"]);
    let mut all_same = true;
    for (what, got, expected) in &cases {
        let same = got.to_string() == *expected;
        all_same &= same;
        table.row(&[
            what.to_string(),
            expected.to_string(),
            got.to_string(),
            if same { "yes" } else { "NO" }.to_string(),
        ]);
    }
    print!("{table}");
    if !all_same {
        return Err(Error::data(
            "a derivative printed differently from the tutorial (see the table above)",
        ));
    }

    println!(
        "\nDifferentiating is mechanical — one rule per kind of node. The rules alone give\n  \
         d/dx x**2 = {}\nand simplification turns that into {}.",
        f.diff("x"),
        f.derivative("x")
    );

    println!(
        "\nMore derivatives, each checked at x = 0.7 against a central difference (h = 1e-5):\n"
    );
    let at = 0.7;
    let examples = [
        x().pow(3),
        x().sin(),
        x().cos(),
        x().exp(),
        x().ln(),
        x().tanh(),
        1.0 / x(),
        3.0 * x().pow(2) + 2.0 * x() + 1.0,
        (x().pow(2) + 1.0).ln(),
        x().pow(x()),
        x().sin() / x(),
        1.0 / (1.0 + (-x()).exp()),
    ];
    let mut table = Table::new(&[
        "f(x)",
        "f'(x), symbolic",
        "f'(0.7)",
        "central diff.",
        "rel. error",
    ]);
    for f in &examples {
        let derivative = f.derivative("x");
        let symbolic = derivative.eval(&[("x", at)]);
        let numeric = central_difference(|v| f.eval(&[("x", v)]), at, 1e-5);
        table.row(&[
            f.to_string(),
            derivative.to_string(),
            format!("{symbolic:.8}"),
            format!("{numeric:.8}"),
            format!("{:.1e}", relative_error(numeric, symbolic)),
        ]);
    }
    print!("{table}");
    println!(
        "(The last one is the sigmoid σ(x) = 1/(1 + e⁻ˣ); its derivative equals σ(x)·(1 − σ(x)), the form\n \
         chapter 6 uses.)"
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------------------
// Numeric derivatives: the error against the step size h.
// ---------------------------------------------------------------------------------------------------

fn step_size_matters(out: &Path) -> Result<()> {
    heading("3.2 数值导数 — numeric derivatives: why the step size matters");
    println!(
        "f(x) = sin(x) at x = 1, exact f'(1) = cos(1) = {:.12}. Relative error of each estimate:\n",
        1f64.cos()
    );
    let exact = 1f64.cos();
    let exponents: Vec<i32> = (1..=12).collect();
    let mut table = Table::new(&[
        "h",
        "forward f64",
        "central f64",
        "forward f32",
        "central f32",
    ]);
    // One series per method: (log10 h, relative error).
    let mut series: [Vec<(f64, f64)>; 4] = Default::default();
    for &k in &exponents {
        let h = 10f64.powi(-k);
        let errors = [
            relative_error(forward_difference(f64::sin, 1.0, h), exact),
            relative_error(central_difference(f64::sin, 1.0, h), exact),
            relative_error(
                f64::from(forward_difference_f32(f32::sin, 1.0, h as f32)),
                exact,
            ),
            relative_error(
                f64::from(central_difference_f32(f32::sin, 1.0, h as f32)),
                exact,
            ),
        ];
        let mut row = vec![format!("1e-{k}")];
        for (s, &e) in series.iter_mut().zip(&errors) {
            s.push((-(k as f64), e));
            row.push(format!("{e:.1e}"));
        }
        table.row(&row);
    }
    print!("{table}");
    let names = ["forward f64", "central f64", "forward f32", "central f32"];
    for (name, s) in names.iter().zip(&series) {
        let best = s
            .iter()
            .copied()
            .fold((0.0, f64::INFINITY), |b, p| if p.1 < b.1 { p } else { b });
        println!("best h for {name:<12}: 1e{} (error {:.1e})", best.0, best.1);
    }
    println!(
        "\nReading the table: going down, the error first shrinks (truncation error: ∝ h for forward,\n\
         ∝ h² for central differences), then grows again (rounding error ≈ ε·|f|/h, ε = 2.2e-16 in f64,\n\
         1.2e-7 in f32). The best h balances the two: about √ε for forward and ∛ε for central\n\
         differences — 1e-8 and 1e-5 in f64, but 1e-4 and 1e-2..1e-3 in f32. Below h ≈ 6e-8, 1 + h rounds\n\
         to 1 in f32 and the estimate is exactly 0 (error 1.0). That is why dlfs's f32 gradient checks\n\
         use h = 1e-2, where CS231n's f64 checks use 1e-5 (CS231n: Stanford's course \"Convolutional\n\
         Neural Networks for Visual Recognition\", whose assignments check every gradient this way)."
    );

    println!("\nlog10(relative error), h = 1e-1 (left) … 1e-12 (right):\n");
    let logs: Vec<Vec<f32>> = series
        .iter()
        .map(|s| {
            s.iter()
                .map(|&(_, e)| e.max(1e-18).log10() as f32)
                .collect()
        })
        .collect();
    let chart_series: Vec<(&str, &[f32])> = names
        .iter()
        .zip(&logs)
        .map(|(n, l)| (*n, l.as_slice()))
        .collect();
    print!("{}", chart::line_chart(&chart_series, 48, 12));

    // The error model for f64, drawn dashed beside the measurements: truncation + rounding.
    let epsilon = f64::EPSILON;
    let (f, f2, f3) = (1f64.sin(), 1f64.sin(), 1f64.cos()); // |f|, |f''|, |f'''| at 1
    let model = |order: i32| -> Vec<(f64, f64)> {
        (0..=110)
            .map(|i| {
                let log_h = -1.0 - 11.0 * f64::from(i) / 110.0;
                let h = 10f64.powf(log_h);
                let truncation = if order == 1 {
                    h * f2 / 2.0
                } else {
                    h * h * f3 / 6.0
                };
                (log_h, (truncation + epsilon * f / h) / exact)
            })
            .collect()
    };
    let path = out.join("step_size.svg");
    let mut plot = LinePlot::new("Finite differences of sin at x = 1: error against step size")
        .x_label("log10(h)")
        .y_label("relative error")
        .log_y();
    for (name, s) in names.iter().zip(&series) {
        plot = plot.line(name, s);
    }
    plot = plot
        .dashed("model, forward f64", &model(1))
        .dashed("model, central f64", &model(2));
    plot.save(&path)?;
    println!("wrote {}", path.display());
    Ok(())
}

// ---------------------------------------------------------------------------------------------------
// The gradient: the vector of partial derivatives, the direction of steepest ascent.
// ---------------------------------------------------------------------------------------------------

fn gradient_is_steepest_ascent() {
    heading("3.3 梯度 — the gradient");
    let f = x().pow(2) + y().pow(2);
    let gradient = f.gradient(&["x", "y"]);
    let point = [("x", 1.0), ("y", 2.0)];
    let g: Vec<f64> = gradient.iter().map(|d| d.eval(&point)).collect();
    let norm = (g[0] * g[0] + g[1] * g[1]).sqrt();
    println!(
        "f(x, y) = {f}\n∇f = ({}, {}) — at (1, 2): ∇f = ({}, {}), |∇f| = {norm:.4}",
        gradient[0], gradient[1], g[0], g[1]
    );
    println!(
        "The slope of f along a unit direction u is ∇f·u. Measured with central differences along\n\
         u = (cos θ, sin θ), it is largest in the direction of ∇f (θ = {:.1}°) and equals |∇f| there:\n",
        g[1].atan2(g[0]).to_degrees()
    );
    let f_at = |p: &[f64]| f.eval(&[("x", p[0]), ("y", p[1])]);
    let slope_along = |theta: f64| {
        let (c, s) = (theta.cos(), theta.sin());
        central_difference(|t| f_at(&[1.0 + t * c, 2.0 + t * s]), 0.0, 1e-5)
    };
    let mut angles: Vec<f64> = (0..8).map(|i| f64::from(i) * 45.0).collect();
    angles.push(g[1].atan2(g[0]).to_degrees());
    angles.sort_by(f64::total_cmp);
    let mut table = Table::new(&["θ (degrees)", "slope ∇f·u", "∇f·u by formula"]);
    for theta in angles {
        let radians = theta.to_radians();
        table.row(&[
            format!("{theta:.1}"),
            format!("{:.4}", slope_along(radians)),
            format!("{:.4}", g[0] * radians.cos() + g[1] * radians.sin()),
        ]);
    }
    print!("{table}");
    println!(
        "Steepest ascent is along ∇f, steepest descent along −∇f (slope −{norm:.4}); across ∇f the slope\n\
         is 0 (the contour line). Gradient descent (3.6) steps along −∇f."
    );
}

// ---------------------------------------------------------------------------------------------------
// The chain rule, checked three ways.
// ---------------------------------------------------------------------------------------------------

fn chain_rule_three_ways() -> Result<()> {
    heading("3.4 链式法则 — the chain rule, three ways");
    let h = x().pow(2).sin().exp();
    let at: f64 = 0.8;
    println!(
        "h(x) = {h} = f(g(u(x))) with u = x**2, g = sin, f = exp. The chain rule:\n  \
         h'(x) = f'(g(u))·g'(u)·u'(x) = exp(sin(x**2))·cos(x**2)·2x\n"
    );
    // By hand: each factor of the chain rule evaluated separately.
    let u = at * at;
    let by_hand = (u.sin()).exp() * u.cos() * 2.0 * at;
    // 1. Symbolic.
    let derivative = h.derivative("x");
    let symbolic = derivative.eval(&[("x", at)]);
    // 2. Numeric.
    let numeric = central_difference(|v| h.eval(&[("x", v)]), at, 1e-5);
    // 3. Automatic (reverse mode): build the graph of h, call backward.
    let mut graph = Graph::new();
    let input = graph.leaf(at);
    let output = graph.expr(&h, &[("x", input)]);
    graph.backward(output);
    let automatic = graph.grad(input);

    let mut table = Table::new(&["method", "h'(0.8)", "relative difference from symbolic"]);
    let methods = [
        ("chain rule by hand", by_hand),
        (&format!("symbolic: {derivative}") as &str, symbolic),
        ("numeric: central difference, h = 1e-5", numeric),
        ("automatic: reverse mode (Graph::backward)", automatic),
    ];
    for (name, value) in methods {
        table.row(&[
            name.to_string(),
            format!("{value:.12}"),
            format!("{:.1e}", relative_error(value, symbolic)),
        ]);
    }
    print!("{table}");
    let worst = [by_hand, numeric, automatic]
        .iter()
        .map(|&v| relative_error(v, symbolic))
        .fold(0.0, f64::max);
    if worst > 1e-8 {
        return Err(Error::data(format!(
            "the three derivatives of h disagree (worst relative difference {worst:.1e})"
        )));
    }
    println!(
        "Symbolic and automatic agree to rounding (~1e-16): both apply the chain rule exactly, one to a\n\
         formula, the other to numbers. The numeric estimate is off by its truncation and rounding errors (~1e-10)."
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------------------
// Reverse-mode automatic differentiation, and a neuron trained with it.
// ---------------------------------------------------------------------------------------------------

/// The toy data set of micrograd's README: four points in 3-D and their targets ±1.
const INPUTS: [[f64; 3]; 4] = [
    [2.0, 3.0, -1.0],
    [3.0, -1.0, 0.5],
    [0.5, 1.0, 1.0],
    [1.0, 1.0, -1.0],
];
const TARGETS: [f64; 4] = [1.0, -1.0, -1.0, 1.0];

/// Builds the neuron's forward pass and loss on `graph`: for each example, ŷ = tanh(w·x + b), and
/// loss = Σ (ŷ − y)². `params` holds w₁, w₂, w₃, b as leaves of the graph. Returns (loss, outputs).
fn neuron_loss(graph: &mut Graph, params: &[Value]) -> (Value, Vec<Value>) {
    let (weights, bias) = params.split_at(3);
    let mut squared_errors = Vec::with_capacity(INPUTS.len());
    let mut outputs = Vec::with_capacity(INPUTS.len());
    for (input, &target) in INPUTS.iter().zip(&TARGETS) {
        let mut terms = vec![bias[0]];
        for (&w, &xi) in weights.iter().zip(input) {
            let xi = graph.leaf(xi);
            terms.push(graph.mul(w, xi));
        }
        let pre_activation = graph.sum(&terms);
        let prediction = graph.tanh(pre_activation);
        let target = graph.leaf(target);
        let error = graph.sub(prediction, target);
        squared_errors.push(graph.powf(error, 2.0));
        outputs.push(prediction);
    }
    (graph.sum(&squared_errors), outputs)
}

/// Numbers as `a, b, c` with 6 decimals.
fn list(values: &[f64]) -> String {
    let texts: Vec<String> = values.iter().map(|v| format!("{v:.6}")).collect();
    texts.join(", ")
}

/// The loss as a plain function of the parameters (for the numeric gradient check).
fn neuron_loss_value(params: &[f64]) -> f64 {
    let mut graph = Graph::new();
    let leaves: Vec<Value> = params.iter().map(|&p| graph.leaf(p)).collect();
    let (loss, _) = neuron_loss(&mut graph, &leaves);
    graph.value(loss)
}

fn autodiff_and_a_neuron(steps: usize, seed: u64, out: &Path) -> Result<()> {
    heading("3.5 反向模式自动微分 — reverse-mode automatic differentiation");
    println!(
        "Every operation records a node; backward() visits the nodes in reverse topological order and\n\
         applies the chain rule once per node, adding (+=) what each use contributes."
    );
    let mut graph = Graph::new();
    let a = graph.leaf(3.0);
    let b = graph.add(a, a);
    let c = graph.mul(b, b);
    graph.backward(c);
    println!(
        "\nA reused node: a = 3, b = a + a, c = b * b  (c = 4a², dc/da = 8a = 24, dc/db = 2b = 12)\n  \
         autodiff: c = {}, dc/db = {}, dc/da = {}",
        graph.value(c),
        graph.grad(b),
        graph.grad(a)
    );
    println!(
        "  (Writing = instead of += would keep only one of a's two contributions: dc/da = 12. Visiting a\n   \
         before b has all of its gradient would pass on an incomplete one — hence the topological order.)"
    );
    if graph.grad(a) != 24.0 || graph.grad(b) != 12.0 {
        return Err(Error::data("autodiff got the reused-node example wrong"));
    }

    println!(
        "\nA neuron ŷ = tanh(w·x + b) trained by gradient descent on micrograd's four examples\n\
         (micrograd: Andrej Karpathy's scalar autodiff engine of about a hundred lines of Python, the\n\
         model for the Graph above; its README trains on these four points in 3-D, targets ±1),\n\
         loss = Σ (ŷ − y)², learning rate 0.05, {steps} steps:"
    );
    let mut rng = Rng::new(seed);
    let mut params: Vec<f64> = (0..4).map(|_| f64::from(rng.uniform(-1.0, 1.0))).collect();

    // Before training, check autodiff's gradient of the loss against central differences.
    let mut graph = Graph::new();
    let leaves: Vec<Value> = params.iter().map(|&p| graph.leaf(p)).collect();
    let (loss, _) = neuron_loss(&mut graph, &leaves);
    graph.backward(loss);
    let automatic: Vec<f64> = leaves.iter().map(|&l| graph.grad(l)).collect();
    let numeric = numeric_gradient(neuron_loss_value, &params, 1e-6);
    let worst = automatic
        .iter()
        .zip(&numeric)
        .map(|(&a, &n)| (a - n).abs() / a.abs().max(n.abs()).max(1e-8))
        .fold(0.0, f64::max);
    println!(
        "gradient check at the start: autodiff ({})\n                              numeric  ({})\n  \
         worst relative difference {worst:.1e}",
        list(&automatic),
        list(&numeric)
    );
    if worst > 1e-6 {
        return Err(Error::data(format!(
            "autodiff and numeric gradients of the neuron disagree ({worst:.1e})"
        )));
    }

    let learning_rate = 0.05;
    let mut losses = Vec::with_capacity(steps + 1);
    let mut table = Table::new(&["step", "loss", "predictions ŷ (targets 1, -1, -1, 1)"]);
    let report_every = (steps / 10).max(1);
    for step in 0..=steps {
        graph.clear(); // rebuild the graph every step (the nodes' memory is reused)
        let leaves: Vec<Value> = params.iter().map(|&p| graph.leaf(p)).collect();
        let (loss, outputs) = neuron_loss(&mut graph, &leaves);
        losses.push(graph.value(loss) as f32);
        if step % report_every == 0 || step == steps {
            let predictions: Vec<String> = outputs
                .iter()
                .map(|&o| format!("{:+.3}", graph.value(o)))
                .collect();
            table.row(&[
                step.to_string(),
                format!("{:.5}", graph.value(loss)),
                predictions.join(" "),
            ]);
        }
        if step == steps {
            break;
        }
        graph.backward(loss);
        for (p, &leaf) in params.iter_mut().zip(&leaves) {
            *p -= learning_rate * graph.grad(leaf);
        }
        if !graph.value(loss).is_finite() {
            return Err(Error::Training {
                step: step + 1,
                message: "the loss is not finite; try a smaller learning rate".to_string(),
            });
        }
    }
    print!("{table}");
    println!(
        "learned w = ({:.3}, {:.3}, {:.3}), b = {:.3}",
        params[0], params[1], params[2], params[3]
    );
    println!("\nlog10(loss) per step:\n");
    let log_losses: Vec<f32> = losses.iter().map(|l| l.log10()).collect();
    print!(
        "{}",
        chart::line_chart(&[("log10 loss", &log_losses)], 60, 10)
    );
    let path = out.join("neuron_loss.svg");
    LinePlot::new("A tanh neuron trained with dlfs's scalar autodiff")
        .x_label("step")
        .y_label("loss  Σ(ŷ − y)²")
        .log_y()
        .line_y("loss", &losses)
        .save(&path)?;
    println!("wrote {}", path.display());
    Ok(())
}

// ---------------------------------------------------------------------------------------------------
// Gradient descent on a 2-D bowl.
// ---------------------------------------------------------------------------------------------------

fn gradient_descent_on_a_bowl(out: &Path) -> Result<()> {
    heading("3.6 梯度下降 — gradient descent on f(x, y) = x**2 + 10*y**2");
    let f = x().pow(2) + 10.0 * y().pow(2);
    let gradient = f.gradient(&["x", "y"]);
    println!(
        "f = {f}, ∇f = ({}, {}). Update: (x, y) ← (x, y) − η·∇f, from (-4, 1.5).",
        gradient[0], gradient[1]
    );
    println!(
        "Per step x shrinks by (1 − 2η) and y by (1 − 20η): descent converges for η < 0.1, and y\n\
         zig-zags across the narrow valley once 20η > 1.\n"
    );
    let value = |p: &[f64]| f.eval(&[("x", p[0]), ("y", p[1])]);
    let grad = |p: &[f64]| -> Vec<f64> {
        gradient
            .iter()
            .map(|d| d.eval(&[("x", p[0]), ("y", p[1])]))
            .collect()
    };
    let start = [-4.0, 1.5];
    let steps = 40;
    let rates = [0.02, 0.09, 0.105];
    let paths: Vec<DescentPath> = rates
        .iter()
        .map(|&rate| gradient_descent(value, grad, &start, rate, steps))
        .collect();

    let mut table = Table::new(&[
        "step",
        "η = 0.02: (x, y)",
        "f",
        "η = 0.09: (x, y)",
        "f",
        "η = 0.105: f",
    ]);
    for k in (0..=steps).step_by(5) {
        let cell = |p: &DescentPath| format!("({:+.4}, {:+.4})", p.points[k][0], p.points[k][1]);
        table.row(&[
            k.to_string(),
            cell(&paths[0]),
            format!("{:.3e}", paths[0].values[k]),
            cell(&paths[1]),
            format!("{:.3e}", paths[1].values[k]),
            format!("{:.3e}", paths[2].values[k]),
        ]);
    }
    print!("{table}");
    println!(
        "η = 0.02 creeps along x; η = 0.09 zig-zags in y but gets to the minimum (0, 0) much faster;\n\
         η = 0.105 > 0.1 diverges: |1 − 20η| = 1.1 > 1, so y grows by 10 % per step."
    );

    println!("\nlog10 f per step:\n");
    let logs: Vec<Vec<f32>> = paths
        .iter()
        .map(|p| p.values.iter().map(|v| v.log10() as f32).collect())
        .collect();
    print!(
        "{}",
        chart::line_chart(
            &[
                ("η = 0.02", &logs[0]),
                ("η = 0.09", &logs[1]),
                ("η = 0.105", &logs[2])
            ],
            60,
            12
        )
    );

    // Level sets x² + 10y² = c are ellipses with semi-axes √c and √(c/10); drawn as dots.
    // The number of dots grows with the size of the ellipse, so that they are evenly spaced.
    let mut contours = Vec::new();
    for level in [0.5f64, 2.0, 5.0, 10.0, 18.0, 30.0] {
        let dots = (12.0 * level.sqrt()) as usize + 8;
        let (semi_x, semi_y) = (level.sqrt(), (level / 10.0).sqrt());
        for i in 0..dots {
            let t = std::f64::consts::TAU * i as f64 / dots as f64;
            contours.push((semi_x * t.cos(), semi_y * t.sin()));
        }
    }
    let to_points =
        |p: &DescentPath| -> Vec<(f64, f64)> { p.points.iter().map(|q| (q[0], q[1])).collect() };
    let path = out.join("gradient_descent.svg");
    LinePlot::new("Gradient descent on f(x, y) = x² + 10y²")
        .x_label("x")
        .y_label("y")
        .scatter("contours of f", &contours)
        .line("η = 0.02", &to_points(&paths[0]))
        .line("η = 0.09", &to_points(&paths[1]))
        .save(&path)?;
    println!("wrote {}", path.display());
    Ok(())
}

fn main() {
    app::main_for(command(), run);
}
