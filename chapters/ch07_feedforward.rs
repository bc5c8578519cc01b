//! Chapter 7 — 前馈神经网络 (feed-forward networks).
//!
//! The tutorial defines `SimpleFeedForwardNN`: `fc1 = nn.Linear(10, 5)`, ReLU, `fc2 = nn.Linear(5, 1)`
//! — and stops there, untrained. This chapter builds the same network with dlfs's [`Sequential`],
//! lists its 61 parameters by name and shape (the names a PyTorch checkpoint would use), follows one
//! batch through it shape by shape, and then trains it on a generated regression task
//! (`y = Σ wᵢ·sin(xᵢ) + noise`, [`dlfs::data::regression`]) with a held-out test set, next to the
//! baselines that say whether it learned anything: predicting the mean, and a linear model.
//! It draws the loss curves in the terminal and to an SVG file.

use dlfs::cli::{Args, Command};
use dlfs::data::regression::sine_regression;
use dlfs::loss::MseLoss;
use dlfs::nn::{Layer, Linear, Relu, Sequential, param_count};
use dlfs::optim::Adam;
use dlfs::probability::Rng;
use dlfs::report::{LinePlot, Table, chart};
use dlfs::train::{self, FitConfig, History, Metric, TensorDataset};
use dlfs::{Result, Tensor, app};
use std::path::Path;

/// The chapter's flags (`--quick`, `--out`, `--threads` come from `app::chapter_command`).
pub fn command() -> Command {
    app::chapter_command(
        "ch07_feedforward",
        "The tutorial's Linear(10,5) → ReLU → Linear(5,1): its 61 named parameters, the shapes of a \
         forward pass, training on a generated regression task against baselines, loss curves.",
    )
    .option(
        "epochs",
        "N",
        "",
        "training epochs (default 60; 15 with --quick)",
    )
    .option("seed", "S", "7", "seed for the data and the initial weights")
}

/// The chapter itself.
pub fn run(args: &Args) -> Result<()> {
    let out = app::out_dir(args)?;
    let quick = args.flag("quick");
    let epochs: usize = args
        .get_opt("epochs")?
        .unwrap_or(if quick { 15 } else { 60 });
    if epochs == 0 {
        return Err(dlfs::Error::usage("--epochs must be at least 1"));
    }
    let seed: u64 = args.get("seed")?;
    println!("# 7. 前馈神经网络 — feed-forward networks");
    // What --epochs asks for, checked before anything is allocated: the loss curves and their plots.
    app::MemoryPlan::new().add(
        "--epochs",
        epochs,
        "the loss curves and their plots (about 200 bytes an epoch)",
        app::bytes_of(epochs, 200),
    )?;
    the_model(seed);
    training(epochs, seed, &out)?;
    app::exercises_hint("ch07");
    Ok(())
}

fn heading(title: &str) {
    println!("\n## {title}\n");
}

/// The tutorial's network: `Linear(10, 5) → ReLU → Linear(5, 1)`, PyTorch's default initialisation.
pub fn tutorial_network(rng: &mut Rng) -> Sequential {
    let mut model = Sequential::default();
    model.push(Linear::new(10, 5, rng));
    model.push(Relu::new());
    model.push(Linear::new(5, 1, rng));
    model
}

/// Every parameter's name and shape, in `visit_params` order.
pub fn parameter_shapes(model: &mut dyn Layer) -> Vec<(String, Vec<usize>)> {
    let mut shapes = Vec::new();
    model.visit_params(&mut |name, p| shapes.push((name.to_string(), p.value.shape().to_vec())));
    shapes
}

// ---------------------------------------------------------------------------------------------------
// 7.1 The model, its parameters, and a forward pass shape by shape.
// ---------------------------------------------------------------------------------------------------

fn the_model(seed: u64) {
    heading("7.1 前馈神经网络 — the tutorial's network");
    println!("The tutorial (PyTorch):");
    println!("    class SimpleFeedForwardNN(nn.Module):");
    println!("        def __init__(self):");
    println!("            self.fc1 = nn.Linear(10, 5); self.fc2 = nn.Linear(5, 1)");
    println!("        def forward(self, x):");
    println!("            x = F.relu(self.fc1(x)); x = self.fc2(x); return x");
    println!("dlfs (Rust):");
    println!("    let mut model = Sequential::default();");
    println!("    model.push(Linear::new(10, 5, &mut rng));");
    println!("    model.push(Relu::new());");
    println!("    model.push(Linear::new(5, 1, &mut rng));\n");
    let mut model = tutorial_network(&mut Rng::new(seed));
    println!("{}\n", model.describe());

    let mut table = Table::new(&["parameter", "shape", "values", "what it is"]);
    let meaning = |name: &str| match name {
        "0.weight" => "fc1: one row of 10 weights per hidden unit",
        "0.bias" => "fc1: one bias per hidden unit",
        "2.weight" => "fc2: the output's weight for each hidden unit",
        "2.bias" => "fc2: the output's bias",
        _ => "",
    };
    for (name, shape) in parameter_shapes(&mut model) {
        table.row(&[
            name.clone(),
            format!("{shape:?}"),
            shape.iter().product::<usize>().to_string(),
            meaning(&name).to_string(),
        ]);
    }
    print!("{table}");
    let count = param_count(&mut model);
    println!(
        "total: {count} = 10·5 + 5 + 5·1 + 1 (ReLU has none). The names are PyTorch's for the same\n\
         Sequential (index.weight); the tutorial's class would call them fc1.weight … fc2.bias.\n"
    );

    println!("A batch of N = 4 inputs through the network, shape by shape:");
    let x = Tensor::zeros(&[4, 10]);
    let mut shapes = Table::new(&["layer", "output shape", "computes"]);
    shapes.row(&["input", "[4, 10]", "4 examples of 10 features"]);
    let computes = [
        "X·W₁ᵀ + b₁: [4, 10]·[10, 5] + [5]",
        "max(0, ·) element by element",
        "H·W₂ᵀ + b₂: [4, 5]·[5, 1] + [1]",
    ];
    for ((description, shape), what) in model.summary(&x).into_iter().zip(computes) {
        shapes.row(&[description, format!("{shape:?}"), what.to_string()]);
    }
    print!("{shapes}");
}

// ---------------------------------------------------------------------------------------------------
// 7.2 Training it, against baselines.
// ---------------------------------------------------------------------------------------------------

/// The training and test sets of the chapter: 1000 + 250 examples of `sine_regression` with 10
/// features and noise 0.1 (one task, split by rows), all from `seed`.
pub fn task(seed: u64) -> (Tensor, Tensor, Tensor, Tensor) {
    let (n_train, n_test) = (1000, 250);
    let set = sine_regression(n_train + n_test, 10, 0.1, &mut Rng::new(seed));
    let train_rows: Vec<usize> = (0..n_train).collect();
    let test_rows: Vec<usize> = (n_train..n_train + n_test).collect();
    (
        set.inputs.select_rows(&train_rows),
        set.targets.select_rows(&train_rows),
        set.inputs.select_rows(&test_rows),
        set.targets.select_rows(&test_rows),
    )
}

/// What training one model gave.
pub struct Trained {
    /// The per-epoch losses (training, and test as validation).
    pub history: History,
    /// The mean squared error on the training set after training (evaluation mode).
    pub train_loss: f32,
    /// The mean squared error on the test set after training.
    pub test_loss: f32,
}

/// Trains `model` with the chapter's recipe — MSE, Adam lr 0.01, batches of 32, shuffled with
/// `seed` — for `epochs`, evaluating on the test set after every epoch.
pub fn train_model(
    model: &mut dyn Layer,
    data: (&Tensor, &Tensor, &Tensor, &Tensor),
    epochs: usize,
    seed: u64,
    label: Option<&str>,
) -> Result<Trained> {
    let (x, y, x_test, y_test) = data;
    let training = TensorDataset::new(x, y)?;
    let test = TensorDataset::new(x_test, y_test)?;
    let mut adam = Adam::new(0.01);
    let config = FitConfig::new(epochs, 32)
        .seed(seed)
        .validation(&test)
        .progress(label);
    let history = train::fit(model, &mut adam, &MseLoss::new(), &training, &config)?;
    let loss = MseLoss::new();
    let train_loss = train::evaluate(model, &loss, &training, 250, Metric::None)?.loss;
    let test_loss = train::evaluate(model, &loss, &test, 250, Metric::None)?.loss;
    Ok(Trained {
        history,
        train_loss,
        test_loss,
    })
}

/// The mean squared error of always predicting `value`.
fn constant_loss(targets: &Tensor, value: f32) -> f32 {
    let sum: f64 = targets
        .data()
        .iter()
        .map(|&y| f64::from(y - value).powi(2))
        .sum();
    (sum / targets.len() as f64) as f32
}

fn training(epochs: usize, seed: u64, out: &Path) -> Result<()> {
    heading("7.2 Training it on a generated regression task");
    let (x, y, x_test, y_test) = task(seed);
    println!(
        "Task: y = Σᵢ wᵢ·sin(xᵢ) + 0.1·ε over 10 inputs xᵢ ~ N(0, 1), weights wᵢ ~ N(0, 1) fixed\n\
         (dlfs::data::regression::sine_regression, seed {seed}); {} training and {} test examples.\n\
         Recipe for every model: MSE loss, Adam lr 0.01, batches of 32, {epochs} epochs.\n\
         The noise sets the floor: no model can beat a test MSE of 0.1² = 0.01 on average.\n",
        x.dim(0),
        x_test.dim(0)
    );
    let data = (&x, &y, &x_test, &y_test);

    let mut rng = Rng::new(seed + 1);
    let mut network = tutorial_network(&mut rng);
    let tutorial = train_model(
        &mut network,
        data,
        epochs,
        seed,
        Some("Linear(10,5)→ReLU→Linear(5,1)"),
    )?;
    let mut linear = Linear::new(10, 1, &mut rng);
    let linear_result = train_model(&mut linear, data, epochs, seed, Some("Linear(10,1)"))?;
    let mut wide = Sequential::default();
    wide.push(Linear::new(10, 32, &mut rng));
    wide.push(Relu::new());
    wide.push(Linear::new(32, 1, &mut rng));
    let wide_result = train_model(&mut wide, data, epochs, seed, Some("Linear(10,32)→ReLU→…"))?;

    let mean = y.mean();
    let baseline_test = constant_loss(&y_test, mean);
    let mut table = Table::new(&[
        "model",
        "parameters",
        "train MSE",
        "test MSE",
        "test R² = 1 − MSE/MSE(mean)",
    ]);
    table.row(&[
        "predict the training mean (no model)".to_string(),
        "0".to_string(),
        format!("{:.4}", constant_loss(&y, mean)),
        format!("{baseline_test:.4}"),
        "0".to_string(),
    ]);
    let rows = [
        ("linear: Linear(10, 1)", 11, &linear_result),
        (
            "the tutorial's Linear(10,5) → ReLU → Linear(5,1)",
            61,
            &tutorial,
        ),
        (
            "wider: Linear(10,32) → ReLU → Linear(32,1)",
            385,
            &wide_result,
        ),
    ];
    for (name, parameters, result) in rows {
        table.row(&[
            name.to_string(),
            parameters.to_string(),
            format!("{:.4}", result.train_loss),
            format!("{:.4}", result.test_loss),
            format!("{:.3}", 1.0 - result.test_loss / baseline_test),
        ]);
    }
    print!("{table}");
    println!(
        "Reading it: predicting the mean is what a model that learned nothing scores. The linear model\n\
         follows the straight-line part of each sine (sin x ≈ x near 0). The tutorial's five ReLU units\n\
         bend that line in a few places: test MSE {:.3} against the linear {:.3}; 32 units bend it in\n\
         many more ({:.3}). None is near the noise floor (0.01) after {epochs} epochs. The gap between\n\
         train and test MSE measures overfitting (plus the luck of drawing 250 test examples): {:.3}\n\
         for the tutorial's network, {:.3} for the wider one.\n",
        tutorial.test_loss,
        linear_result.test_loss,
        wide_result.test_loss,
        tutorial.test_loss - tutorial.train_loss,
        wide_result.test_loss - wide_result.train_loss
    );

    println!(
        "The tutorial's network, log10 of the MSE per epoch (training: averaged during the epoch;\n\
         test: after it):\n"
    );
    let log10 = |values: Vec<f32>| -> Vec<f32> { values.iter().map(|v| v.log10()).collect() };
    let training_curve = log10(tutorial.history.losses());
    let test_curve = log10(tutorial.history.validation_losses());
    print!(
        "{}",
        chart::line_chart(
            &[
                ("log10 training MSE", &training_curve),
                ("log10 test MSE", &test_curve)
            ],
            64,
            12
        )
    );
    let path = out.join("loss_curve.svg");
    tutorial
        .history
        .loss_plot("Linear(10,5) → ReLU → Linear(5,1) on y = Σ w·sin(x) + noise")
        .y_label("mean squared error")
        .log_y()
        .save(&path)?;
    println!("wrote {}", path.display());
    let path = out.join("test_loss_by_model.svg");
    LinePlot::new("Test MSE per epoch, three models, same recipe")
        .x_label("epoch")
        .y_label("test MSE")
        .log_y()
        .line_y("Linear(10,1)", &linear_result.history.validation_losses())
        .line_y(
            "Linear(10,5)→ReLU→Linear(5,1)",
            &tutorial.history.validation_losses(),
        )
        .line_y(
            "Linear(10,32)→ReLU→Linear(32,1)",
            &wide_result.history.validation_losses(),
        )
        .dashed(
            "noise floor 0.01",
            &[(1.0, 0.01), (epochs.max(2) as f64, 0.01)],
        )
        .save(&path)?;
    println!("wrote {}", path.display());
    Ok(())
}

fn main() {
    app::main_for(command(), run);
}
