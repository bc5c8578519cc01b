//! Chapter 11 — 常见的优化算法 (common optimization algorithms).
//!
//! The tutorial shows plain SGD, `param -= learning_rate * param.grad`, and Adam with lr 0.01. This
//! chapter runs SGD, SGD with momentum, Nesterov momentum, RMSprop, Adam and Adagrad (all of
//! [`dlfs::optim`], each PyTorch's update rule exactly) on the same problems:
//!
//! 1. one step of the tutorial's SGD by hand against [`Sgd`];
//! 2. two 2-D test functions from [`dlfs::optim::test_functions`] — a narrow valley (the quadratic
//!    ½(x² + 100y²), condition number 100) and Rosenbrock's banana valley — with each optimizer's
//!    learning rate chosen from one grid by the fewest steps to converge; a table of steps, and the
//!    paths drawn together over level sets, one SVG per function;
//! 3. a small network (two hidden layers, two spirals), every optimizer from the same initial
//!    weights over the same batches, learning rates chosen from a grid by the final training loss;
//!    final losses and accuracies in a table, loss curves in one SVG.

use dlfs::cli::{Args, Command};
use dlfs::data::toy;
use dlfs::loss::CrossEntropyLoss;
use dlfs::nn::{Layer, Linear, Mode, Param, Relu, Sequential};
use dlfs::optim::test_functions::{Descent, Quadratic, Rosenbrock, TestFunction, descend};
use dlfs::optim::{Adagrad, Adam, AdamW, Optimizer, RmsProp, Sgd};
use dlfs::probability::Rng;
use dlfs::report::{LinePlot, Progress, Table, chart};
use dlfs::train::{self, FitConfig, History, Metric, TensorDataset};
use dlfs::{Error, Result, Tensor, app};
use std::path::Path;

/// The chapter's flags (`--quick`, `--out`, `--threads` come from `app::chapter_command`).
pub fn command() -> Command {
    app::chapter_command(
        "ch11_optimizers",
        "SGD, momentum, Nesterov, RMSprop, Adam and Adagrad on a narrow valley and Rosenbrock's \
         function (paths drawn, steps to converge) and on a small network (loss curves).",
    )
    .option(
        "epochs",
        "N",
        "",
        "epochs of the network comparison (default 100; 20 with --quick)",
    )
}

/// The chapter itself.
pub fn run(args: &Args) -> Result<()> {
    let out = app::out_dir(args)?;
    let quick = args.flag("quick");
    let epochs: usize = args
        .get_opt("epochs")?
        .unwrap_or(if quick { 20 } else { 100 });
    if epochs == 0 {
        return Err(Error::usage("--epochs must be at least 1"));
    }
    println!("# 11. 常见的优化算法 — optimizers");
    // What --epochs asks for, checked before anything is allocated: the loss curves of every
    // optimizer and learning rate, and their plots.
    app::MemoryPlan::new().add(
        "--epochs",
        epochs,
        "the loss curves and their plots (about 2 KB an epoch)",
        app::bytes_of(epochs, 2000),
    )?;
    tutorial_sgd_step()?;
    print_rules();
    let valley = valley_problem();
    let rosenbrock = rosenbrock_problem();
    let mut rows = Vec::new();
    for (problem, section) in [(&valley, "11.3"), (&rosenbrock, "11.4")] {
        rows.push(race_on_a_surface(problem, section, &out)?);
    }
    steps_table(&[&valley, &rosenbrock], &rows);
    network_comparison(epochs, &out)?;
    app::exercises_hint("ch11");
    Ok(())
}

fn heading(title: &str) {
    println!("\n## {title}\n");
}

// ---------------------------------------------------------------------------------------------------
// 11.1 The tutorial's SGD, one step by hand.
// ---------------------------------------------------------------------------------------------------

/// A "model" that is one parameter, whose gradient the caller writes (for one step by hand).
struct OneParam {
    p: Param,
}

impl Layer for OneParam {
    fn forward(&mut self, x: &Tensor, _mode: Mode) -> Tensor {
        x.clone()
    }
    fn backward(&mut self, grad_output: &Tensor) -> Tensor {
        grad_output.clone()
    }
    fn visit_params(&mut self, f: &mut dyn FnMut(&str, &mut Param)) {
        f("p", &mut self.p);
    }
    fn describe(&self) -> String {
        "OneParam".to_string()
    }
}

fn tutorial_sgd_step() -> Result<()> {
    heading("11.1 随机梯度下降 (SGD) — the tutorial's update, one step by hand");
    println!("The tutorial (Python):");
    println!("    def sgd(params, learning_rate):");
    println!("        for param in params: param -= learning_rate * param.grad");
    println!(
        "In PyTorch that line raises \"a leaf Variable that requires grad is being used in an in-place\n\
         operation\" unless it runs inside `with torch.no_grad():`, and the gradient must be zeroed\n\
         before the next backward (gradients accumulate). dlfs: Sgd::new(lr).step(&mut model) does\n\
         both halves of the rule; zero_grad is the caller's, as in PyTorch.\n"
    );
    let value = vec![0.5f32, -1.0, 2.0];
    let grad = vec![0.2f32, -0.4, 1.0];
    let lr = 0.1f32;
    let by_hand: Vec<f32> = value.iter().zip(&grad).map(|(p, g)| p - lr * g).collect();
    let mut model = OneParam {
        p: Param::new(Tensor::from_vec(&[3], value.clone())),
    };
    model.p.grad.data_mut().copy_from_slice(&grad);
    Sgd::new(lr).step(&mut model);
    println!("param = {value:?}, grad = {grad:?}, lr = {lr}");
    println!("by hand  param − lr·grad = {by_hand:?}");
    println!("Sgd::new(0.1).step(…)    = {:?}", model.p.value.data());
    if by_hand != model.p.value.data() {
        return Err(Error::data("Sgd's step differs from param − lr·grad"));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------------
// 11.2 The optimizers.
// ---------------------------------------------------------------------------------------------------

/// One optimizer of the comparison: a name, how to make it for a learning rate, its rule.
pub struct Contender {
    /// The name in tables and legends.
    pub name: &'static str,
    /// A fresh optimizer with this learning rate (other hyper-parameters: PyTorch's defaults).
    pub make: fn(f32) -> Box<dyn Optimizer>,
    /// The update rule, one line.
    pub rule: &'static str,
}

/// The optimizers compared on the 2-D functions (AdamW is left out there: its decoupled weight decay
/// pulls towards 0 and moves the minimum; it joins on the network).
pub fn contenders() -> Vec<Contender> {
    vec![
        Contender {
            name: "SGD",
            make: |lr| Box::new(Sgd::new(lr)),
            rule: "θ ← θ − γg",
        },
        Contender {
            name: "momentum",
            make: |lr| Box::new(Sgd::new(lr).momentum(0.9)),
            rule: "b ← 0.9b + g; θ ← θ − γb  (momentum 0.9)",
        },
        Contender {
            name: "Nesterov",
            make: |lr| Box::new(Sgd::new(lr).momentum(0.9).nesterov()),
            rule: "b ← 0.9b + g; θ ← θ − γ(g + 0.9b)  (momentum 0.9)",
        },
        Contender {
            name: "RMSprop",
            make: |lr| Box::new(RmsProp::new(lr)),
            rule: "v ← 0.99v + 0.01g²; θ ← θ − γg/(√v + ε)",
        },
        Contender {
            name: "Adam",
            make: |lr| Box::new(Adam::new(lr)),
            rule: "m, v averages of g, g² (β 0.9, 0.999), bias-corrected; θ ← θ − γm̂/(√v̂ + ε)",
        },
        Contender {
            name: "Adagrad",
            make: |lr| Box::new(Adagrad::new(lr)),
            rule: "s ← s + g²; θ ← θ − γg/(√s + ε)",
        },
    ]
}

/// The contenders on the network: the 2-D ones plus AdamW (weight decay 0.01).
pub fn network_contenders() -> Vec<Contender> {
    let mut all = contenders();
    all.push(Contender {
        name: "AdamW",
        make: |lr| Box::new(AdamW::new(lr)),
        rule: "θ ← θ(1 − γλ), λ = 0.01; then Adam's step",
    });
    all
}

fn print_rules() {
    heading(
        "11.2 The optimizers (each PyTorch's rule exactly; γ the learning rate, g the gradient)",
    );
    let mut table = Table::new(&["optimizer", "update per parameter θ"]);
    for c in network_contenders() {
        table.row(&[c.name, c.rule]);
    }
    print!("{table}");
    println!(
        "Momentum remembers the direction of past steps (a heavy ball rolls through a narrow valley\n\
         instead of bouncing across it); RMSprop, Adam and Adagrad divide each coordinate's step by the\n\
         size of its recent gradients (a per-coordinate learning rate). Adam does both."
    );
}

// ---------------------------------------------------------------------------------------------------
// 11.3–11.5 Racing on 2-D functions.
// ---------------------------------------------------------------------------------------------------

/// One 2-D race: the function, the start, the step budget.
pub struct Problem {
    /// The function to minimise.
    pub function: Box<dyn TestFunction>,
    /// Where every optimizer starts.
    pub start: [f32; 2],
    /// The most steps an optimizer gets.
    pub max_steps: usize,
    /// The values c of the level sets f = c drawn behind the paths.
    pub levels: Vec<f64>,
    /// The SVG file name.
    pub file: &'static str,
}

/// Converged = within this distance of the minimum, and staying there until the budget ends.
pub const TOLERANCE: f64 = 1e-2;

/// The learning rates tried for every optimizer: 10⁻⁴ … 1 in steps of about ×2.
pub const LEARNING_RATES: [f32; 13] = [
    1e-4, 2e-4, 5e-4, 1e-3, 2e-3, 5e-3, 1e-2, 2e-2, 5e-2, 0.1, 0.2, 0.5, 1.0,
];

/// The narrow valley ½(x² + 100y²) from (−4.5, 1), 2000 steps.
pub fn valley_problem() -> Problem {
    Problem {
        function: Box::new(Quadratic::new(1.0, 100.0)),
        start: [-4.5, 1.0],
        max_steps: 2000,
        levels: vec![0.5, 2.0, 8.0, 20.0, 60.0],
        file: "optimizers_valley.svg",
    }
}

/// Rosenbrock's (1 − x)² + 100(y − x²)² from the classic start (−1.2, 1), 10 000 steps.
pub fn rosenbrock_problem() -> Problem {
    Problem {
        function: Box::new(Rosenbrock::classic()),
        start: [-1.2, 1.0],
        max_steps: 10_000,
        levels: vec![0.25, 1.0, 4.0, 16.0, 64.0],
        file: "optimizers_rosenbrock.svg",
    }
}

/// An optimizer's best run on a problem.
#[derive(Clone, Debug)]
pub struct Best {
    /// The chosen learning rate.
    pub learning_rate: f32,
    /// Steps until it converged (see [`TOLERANCE`]), `None` if no learning rate converged.
    pub steps: Option<usize>,
    /// The path with that learning rate.
    pub path: Descent,
}

/// Runs `contender` on `problem` with every rate of [`LEARNING_RATES`] and keeps the one that
/// converges in the fewest steps; if none converges, the one that ends closest to the minimum.
pub fn best_learning_rate(contender: &Contender, problem: &Problem) -> Best {
    let minimum = problem.function.minimum();
    let mut best: Option<Best> = None;
    for &learning_rate in &LEARNING_RATES {
        let mut optimizer = (contender.make)(learning_rate);
        let path = descend(
            optimizer.as_mut(),
            problem.function.as_ref(),
            problem.start,
            problem.max_steps,
        );
        let steps = path.steps_to_converge(minimum, TOLERANCE);
        let distance = path.final_distance(minimum);
        let candidate = Best {
            learning_rate,
            steps,
            path,
        };
        let better = match &best {
            None => distance.is_finite(),
            Some(current) => match (steps, current.steps) {
                (Some(s), Some(c)) => s < c,
                (Some(_), None) => true,
                (None, Some(_)) => false,
                (None, None) => distance < current.path.final_distance(minimum),
            },
        };
        if better {
            best = Some(candidate);
        }
    }
    best.unwrap_or_else(|| {
        // Every rate diverged: report the smallest one's path.
        let mut optimizer = (contender.make)(LEARNING_RATES[0]);
        Best {
            learning_rate: LEARNING_RATES[0],
            steps: None,
            path: descend(
                optimizer.as_mut(),
                problem.function.as_ref(),
                problem.start,
                problem.max_steps,
            ),
        }
    })
}

/// The level sets f = c of the problem's function as contour lines, each cut to the region around
/// the paths (a list of pieces: a closed curve that leaves the region comes back as several).
fn level_set_lines(problem: &Problem) -> Vec<Vec<(f64, f64)>> {
    let valley = problem.function.minimum() == [0.0, 0.0];
    // The region drawn: around the start, the minimum and the paths between them.
    let (x_range, y_range) = if valley {
        (-5.5..=1.5, -1.5..=1.5)
    } else {
        (-1.6..=1.6, -0.6..=3.0)
    };
    let mut pieces = Vec::new();
    for &c in &problem.levels {
        // Both level sets have a parametric form with t in [0, 2π]:
        // ½(x² + 100y²) = c: x = √(2c)·cos t, y = √(2c/100)·sin t (an ellipse);
        // (1 − x)² + 100(y − x²)² = c: x = 1 − √c·cos t, y = x² + √(c/100)·sin t.
        let curve = (0..=720).map(|i| {
            let t = std::f64::consts::TAU * f64::from(i) / 720.0;
            if valley {
                (
                    (2.0 * c).sqrt() * t.cos(),
                    (2.0 * c / 100.0).sqrt() * t.sin(),
                )
            } else {
                let x = 1.0 - c.sqrt() * t.cos();
                (x, x * x + (c / 100.0).sqrt() * t.sin())
            }
        });
        let mut piece = Vec::new();
        for (x, y) in curve {
            if x_range.contains(&x) && y_range.contains(&y) {
                piece.push((x, y));
            } else if !piece.is_empty() {
                pieces.push(std::mem::take(&mut piece));
            }
        }
        if !piece.is_empty() {
            pieces.push(piece);
        }
    }
    pieces
}

/// At most about `limit` points of a path: all of the first 100 (where the action is), then evenly
/// spaced ones, and the last.
fn thinned(path: &Descent, limit: usize) -> Vec<(f64, f64)> {
    let points = path.xy();
    let stride = (points.len() / limit).max(1);
    let mut kept: Vec<(f64, f64)> = points
        .iter()
        .enumerate()
        .filter(|(i, _)| *i < 100 || i % stride == 0)
        .map(|(_, &p)| p)
        .collect();
    if let Some(&last) = points.last() {
        kept.push(last);
    }
    kept
}

/// The optimizers in two groups of three, one per chart (six curves on one chart hide each other):
/// the SGD family, then the adaptive methods.
const GROUPS: [(&str, [&str; 3]); 2] = [
    ("the SGD family", ["SGD", "momentum", "Nesterov"]),
    ("the adaptive methods", ["RMSprop", "Adam", "Adagrad"]),
];

fn race_on_a_surface(problem: &Problem, section: &str, out: &Path) -> Result<Vec<(String, Best)>> {
    let name = problem.function.name();
    heading(&format!("{section} {name}"));
    let minimum = problem.function.minimum();
    println!(
        "Start ({}, {}), minimum ({}, {}), at most {} steps. Each optimizer runs with every learning\n\
         rate of {{1e-4, 2e-4, 5e-4, …, 0.5, 1}} and keeps the one that converges in the fewest steps\n\
         (converged: within {TOLERANCE} of the minimum and staying there until step {}).\n",
        problem.start[0],
        problem.start[1],
        minimum[0],
        minimum[1],
        problem.max_steps,
        problem.max_steps
    );
    let results: Vec<(String, Best)> = contenders()
        .iter()
        .map(|c| (c.name.to_string(), best_learning_rate(c, problem)))
        .collect();

    // log10 of the distance to the minimum, per step, for a terminal chart (every 1/60th step).
    let stride = (problem.max_steps / 60).max(1);
    let curve = |best: &Best| -> Vec<f32> {
        best.path
            .points
            .iter()
            .step_by(stride)
            .map(|p| ((p[0] - minimum[0]).hypot(p[1] - minimum[1]).max(1e-8)).log10() as f32)
            .collect()
    };
    let mut panels = Vec::new();
    for (group, members) in GROUPS {
        let chosen: Vec<&(String, Best)> = results
            .iter()
            .filter(|(name, _)| members.contains(&name.as_str()))
            .collect();
        let curves: Vec<(String, Vec<f32>)> = chosen
            .iter()
            .map(|(name, best)| (name.clone(), curve(best)))
            .collect();
        let series: Vec<(&str, &[f32])> = curves
            .iter()
            .map(|(n, c)| (n.as_str(), c.as_slice()))
            .collect();
        println!(
            "{group}: log10(distance to the minimum) against the step, 0 to {}:\n",
            problem.max_steps
        );
        print!("{}", chart::line_chart(&series, 60, 10));
        println!();

        let mut plot = LinePlot::new(&format!("{name}: {group} (grey: contour lines of f)"))
            .x_label("x")
            .y_label("y")
            .size(760.0, 560.0);
        for piece in level_set_lines(problem) {
            plot = plot.contour(&piece);
        }
        // Decreasing widths: where two optimizers take the same path, both stay visible as
        // nested stripes.
        for ((name, best), width) in chosen.iter().zip([6.0, 3.5, 1.5]) {
            plot = plot.line_with_width(
                &format!("{name} {}", best.learning_rate),
                &thinned(&best.path, 600),
                width,
            );
        }
        panels.push(plot.scatter(
            "start",
            &[(f64::from(problem.start[0]), f64::from(problem.start[1]))],
        ));
    }
    let path = out.join(problem.file);
    dlfs::report::write_atomic(&path, dlfs::report::svg::side_by_side(&panels).as_bytes())?;
    println!(
        "wrote {} (two panels: {} | {}; the legend gives each learning rate;\n\
         where paths coincide they show as nested stripes, the first optimizer widest)",
        path.display(),
        GROUPS[0].0,
        GROUPS[1].0
    );
    Ok(results)
}

/// "did not converge in N (distance d)" or the number of steps.
fn steps_text(best: &Best, problem: &Problem) -> String {
    match best.steps {
        Some(steps) => steps.to_string(),
        None => format!(
            "did not converge in {} (distance {:.1e})",
            problem.max_steps,
            best.path.final_distance(problem.function.minimum())
        ),
    }
}

fn steps_table(problems: &[&Problem], rows: &[Vec<(String, Best)>]) {
    heading("11.5 Steps to converge (distance < 0.01 and staying), best learning rate of the grid");
    let mut table = Table::new(&[
        "optimizer",
        "valley: lr",
        "valley: steps",
        "Rosenbrock: lr",
        "Rosenbrock: steps",
    ]);
    for (i, contender) in contenders().iter().enumerate() {
        let (valley, rosenbrock) = (&rows[0][i].1, &rows[1][i].1);
        table.row(&[
            contender.name.to_string(),
            valley.learning_rate.to_string(),
            steps_text(valley, problems[0]),
            rosenbrock.learning_rate.to_string(),
            steps_text(rosenbrock, problems[1]),
        ]);
    }
    print!("{table}");
    // The tutorial's Adam setting, whatever the grid chose.
    let adam = &contenders()[4];
    let mut cells = Vec::new();
    for problem in problems {
        let mut optimizer = (adam.make)(0.01);
        let path = descend(
            optimizer.as_mut(),
            problem.function.as_ref(),
            problem.start,
            problem.max_steps,
        );
        let best = Best {
            learning_rate: 0.01,
            steps: path.steps_to_converge(problem.function.minimum(), TOLERANCE),
            path,
        };
        cells.push(steps_text(&best, problem));
    }
    println!(
        "The tutorial's Adam(lr = 0.01): valley {}, Rosenbrock {} steps.",
        cells[0], cells[1]
    );
    println!(
        "Reading it: on the valley plain SGD must keep γ < 2/100 (the steep direction) and then crawls\n\
         along the flat one; momentum carries speed along the valley floor; the adaptive methods\n\
         rescale each coordinate and hardly notice the condition number. Rosenbrock's valley bends, so\n\
         the per-coordinate rescaling helps less; here momentum, which keeps the speed it gathered along\n\
         the curved floor, gets there first. The best learning rate differs by orders of magnitude between\n\
         optimizers and problems: comparing optimizers at one shared learning rate says little."
    );
}

// ---------------------------------------------------------------------------------------------------
// 11.6 On a small network.
// ---------------------------------------------------------------------------------------------------

/// The network of the comparison: 2 → 32 → ReLU → 32 → ReLU → 2, PyTorch's default initialisation,
/// always from the same seed (the same initial weights for every optimizer).
pub fn spiral_network() -> Sequential {
    let mut rng = Rng::new(11);
    let mut model = Sequential::default();
    model.push(Linear::new(2, 32, &mut rng));
    model.push(Relu::new());
    model.push(Linear::new(32, 32, &mut rng));
    model.push(Relu::new());
    model.push(Linear::new(32, 2, &mut rng));
    model
}

/// The network's data: 400 training and 400 test points of two spirals (1.5 turns, noise 0.03).
pub fn spiral_data() -> (Tensor, Tensor, Tensor, Tensor) {
    let labels = |set: &toy::ToySet| -> Tensor {
        Tensor::from_vec(
            &[set.labels.len()],
            set.labels.iter().map(|&l| l as f32).collect(),
        )
    };
    let training = toy::two_spirals(400, 1.5, 0.03, &mut Rng::new(1));
    let test = toy::two_spirals(400, 1.5, 0.03, &mut Rng::new(2));
    (
        training.points.clone(),
        labels(&training),
        test.points.clone(),
        labels(&test),
    )
}

/// The learning rates tried on the network.
pub const NETWORK_LEARNING_RATES: [f32; 6] = [0.001, 0.003, 0.01, 0.03, 0.1, 0.3];

/// One training run on the spirals: the history, final test accuracy.
pub struct NetworkRun {
    /// Per-epoch loss and accuracy.
    pub history: History,
    /// Accuracy on the 400 test points after training.
    pub test_accuracy: f32,
}

/// Trains [`spiral_network`] with `optimizer` for `epochs` (cross-entropy, batches of 32, the same
/// shuffling seed for every run, so every optimizer sees the same batches in the same order).
pub fn train_spirals(optimizer: &mut dyn Optimizer, epochs: usize) -> Result<NetworkRun> {
    let (x, y, x_test, y_test) = spiral_data();
    let data = TensorDataset::new(&x, &y)?;
    let test = TensorDataset::new(&x_test, &y_test)?;
    let mut model = spiral_network();
    let config = FitConfig::new(epochs, 32)
        .seed(5)
        .metric(Metric::Accuracy)
        .progress(None);
    let loss = CrossEntropyLoss::new();
    let history = train::fit(&mut model, optimizer, &loss, &data, &config)?;
    let test_accuracy = train::evaluate(&mut model, &loss, &test, 400, Metric::Accuracy)?
        .metric
        .unwrap_or(0.0);
    Ok(NetworkRun {
        history,
        test_accuracy,
    })
}

fn network_comparison(epochs: usize, out: &Path) -> Result<()> {
    heading("11.6 On a small network: two spirals, 2 → 32 → 32 → 2 (ReLU)");
    println!(
        "400 training points of two interleaved spirals, cross-entropy, batches of 32, {epochs} epochs.\n\
         Every run starts from the same initial weights and sees the same batches in the same order.\n\
         Each optimizer tries the learning rates {NETWORK_LEARNING_RATES:?} and keeps the one with\n\
         the lowest final training loss (a diverged run counts as infinitely bad).\n"
    );
    let all = network_contenders();
    let mut progress = Progress::new(
        "optimizers × learning rates",
        all.len() * NETWORK_LEARNING_RATES.len(),
    );
    let mut chosen: Vec<(&'static str, f32, NetworkRun)> = Vec::new();
    let mut sweep = Table::new(&[
        "optimizer",
        "final training loss at lr 0.001",
        "0.003",
        "0.01",
        "0.03",
        "0.1",
        "0.3",
    ]);
    for contender in &all {
        let mut best: Option<(f32, NetworkRun)> = None;
        let mut row = vec![contender.name.to_string()];
        for &learning_rate in &NETWORK_LEARNING_RATES {
            let mut optimizer = (contender.make)(learning_rate);
            let outcome = train_spirals(optimizer.as_mut(), epochs);
            progress.advance(1);
            let run = match outcome {
                Ok(run) => run,
                Err(Error::Training { .. }) => {
                    row.push("diverged".to_string());
                    continue;
                }
                Err(e) => return Err(e),
            };
            let loss = run.history.last().map_or(f32::INFINITY, |e| e.loss);
            row.push(format!("{loss:.4}"));
            let better = best
                .as_ref()
                .is_none_or(|(_, b)| loss < b.history.last().map_or(f32::INFINITY, |e| e.loss));
            if better {
                best = Some((learning_rate, run));
            }
        }
        sweep.row(&row);
        if let Some((learning_rate, run)) = best {
            chosen.push((contender.name, learning_rate, run));
        }
    }
    progress.finish();
    print!("{sweep}");

    let mut table = Table::new(&[
        "optimizer",
        "chosen lr",
        "final training loss",
        "training accuracy",
        "test accuracy",
    ]);
    for (name, learning_rate, run) in &chosen {
        let last = run.history.last();
        table.row(&[
            name.to_string(),
            learning_rate.to_string(),
            last.map_or("-".into(), |e| format!("{:.4}", e.loss)),
            last.and_then(|e| e.metric)
                .map_or("-".into(), |m| format!("{m:.3}")),
            format!("{:.3}", run.test_accuracy),
        ]);
    }
    println!();
    print!("{table}");
    println!(
        "(Training loss and accuracy are averages over the last epoch, measured while the weights\n\
         changed; test accuracy is measured after training.)"
    );
    let largest = NETWORK_LEARNING_RATES[NETWORK_LEARNING_RATES.len() - 1];
    let at_the_edge: Vec<&str> = chosen
        .iter()
        .filter(|(_, learning_rate, _)| *learning_rate == largest)
        .map(|(name, _, _)| *name)
        .collect();
    if !at_the_edge.is_empty() {
        println!(
            "At the largest rate tried ({largest}): {} — a larger one might do better still.",
            at_the_edge.join(", ")
        );
    }
    println!(
        "Read the sweep across: each optimizer has a window of learning rates that works, and the\n\
         windows do not line up — the adaptive methods (RMSprop, Adam, AdamW) want about 0.01 and fail\n\
         at 0.1, where the SGD family only starts to move. A recipe's learning rate belongs to its\n\
         optimizer.\n"
    );

    // One terminal chart per group (AdamW joins the adaptive methods): seven curves on one chart
    // hide each other.
    for (index, (group, members)) in GROUPS.iter().enumerate() {
        let curves: Vec<(String, Vec<f32>)> = chosen
            .iter()
            .filter(|(name, _, _)| members.contains(name) || (index == 1 && *name == "AdamW"))
            .map(|(name, _, run)| {
                let logs = run.history.losses().iter().map(|l| l.log10()).collect();
                (name.to_string(), logs)
            })
            .collect();
        let series: Vec<(&str, &[f32])> = curves
            .iter()
            .map(|(n, c)| (n.as_str(), c.as_slice()))
            .collect();
        println!("{group}: log10(training loss) per epoch:\n");
        print!("{}", chart::line_chart(&series, 60, 10));
        println!();
    }
    let mut plot =
        LinePlot::new("Training loss per epoch, each optimizer at its chosen learning rate")
            .x_label("epoch")
            .y_label("cross-entropy")
            .log_y();
    for (name, learning_rate, run) in &chosen {
        plot = plot.line_y(
            &format!("{name} (lr {learning_rate})"),
            &run.history.losses(),
        );
    }
    let path = out.join("optimizers_network.svg");
    plot.save(&path)?;
    println!("wrote {}", path.display());
    Ok(())
}

fn main() {
    app::main_for(command(), run);
}
