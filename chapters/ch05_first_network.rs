//! Chapter 5 — 深度学习框架入门 (frameworks and the first network).
//!
//! The tutorial's first two programs fit y = x on the five points x = 1…5 with one neuron
//! (`Dense(1)` in Keras, `nn.Linear(1, 1)` in PyTorch) and claim both print 6.0 for x = 6. This
//! chapter writes both programs with dlfs:
//!
//! 1. the **compile/fit** style: a [`Sequential`] model, [`Adam`] with Keras's default learning rate
//!    0.001, [`MseLoss`], and [`train::fit`] for 500 epochs (one full batch of 5 per epoch, as Keras's
//!    default batch size of 32 gives);
//! 2. the **write-the-loop-yourself** style: a [`Linear`]`(1, 1)`, Adam with lr 0.01, and the five
//!    lines of a training step written out, 500 times.
//!
//! It prints what each really predicts (not 6.0: PyTorch with the second recipe printed 5.645 on this
//! project's machine, final loss 0.045), explains why (Adam's step size bounds how far 500 steps can
//! go; the loss surface of (w, b) is a narrow valley), and then shows settings that do reach 6.0
//! within 0.01. It ends with this crate's equivalents of the tutorial's environment and GPU set-up.

use dlfs::cli::{Args, Command};
use dlfs::loss::{Loss, MseLoss};
use dlfs::nn::{Layer, Linear, Mode, Sequential, init};
use dlfs::optim::{Adam, Optimizer, Sgd};
use dlfs::probability::Rng;
use dlfs::report::Table;
use dlfs::train::{self, FitConfig, TensorDataset};
use dlfs::{Result, Tensor, app, parallel};

/// The chapter's flags (`--quick`, `--out`, `--threads` come from `app::chapter_command`).
pub fn command() -> Command {
    app::chapter_command(
        "ch05_first_network",
        "The tutorial's first network two ways (compile/fit and a hand-written loop), what they really \
         predict for x = 6, settings that do reach 6.0, and the environment/GPU set-up in dlfs.",
    )
    .option(
        "seed",
        "S",
        "0",
        "seed of the initial weight and bias (the tutorial's runs start from a random one too)",
    )
}

/// The chapter itself.
pub fn run(args: &Args) -> Result<()> {
    let seed: u64 = args.get("seed")?;
    println!("# 5. 深度学习框架入门 — frameworks and the first network");
    let compile_fit = compile_fit_style(seed)?;
    let hand_loop = hand_written_loop_style(seed);
    why_not_six(&compile_fit, &hand_loop);
    settings_that_reach_six(seed);
    environment_and_gpu();
    Ok(())
}

fn heading(title: &str) {
    println!("\n## {title}\n");
}

/// The training data of both programs: x = y = 1, 2, 3, 4, 5, as `[5, 1]` tensors (5 examples of 1
/// feature — the tutorial's `unsqueeze(1)`).
pub fn training_data() -> (Tensor, Tensor) {
    let values = vec![1.0, 2.0, 3.0, 4.0, 5.0];
    (
        Tensor::from_vec(&[5, 1], values.clone()),
        Tensor::from_vec(&[5, 1], values),
    )
}

/// The test input x = 6 as a batch of one example, `[1, 1]`.
pub fn test_input() -> Tensor {
    Tensor::from_vec(&[1, 1], vec![6.0])
}

/// What the tutorial says both programs print.
pub const TUTORIAL_CLAIM: f32 = 6.0;

/// How close to 6.0 counts as "reaching" it.
pub const TOLERANCE: f32 = 0.01;

/// What a run ended with.
#[derive(Clone, Debug, PartialEq)]
pub struct Outcome {
    /// The prediction for x = 6 before training (from the random start).
    pub start_prediction: f32,
    /// The prediction for x = 6 after training.
    pub prediction: f32,
    /// The loss of the last training step (measured before that step's update, as frameworks report).
    pub final_loss: f32,
    /// The learned weight w and bias b (the model is ŷ = w·x + b).
    pub weight: f32,
    /// See `weight`.
    pub bias: f32,
    /// The first step after which the prediction for x = 6 stays within [`TOLERANCE`] of 6.0 until
    /// the end (`None`: it is not within the tolerance at the end, or it was not tracked).
    pub reached_at: Option<usize>,
}

/// The weight and bias of a `Linear(1, 1)`.
fn weight_and_bias(layer: &mut dyn Layer) -> (f32, f32) {
    let mut values = Vec::new();
    layer.visit_params(&mut |_, p| values.push(p.value.data()[0]));
    (values[0], values[1])
}

/// A `Dense(1)` initialised as Keras does: the weight from Glorot-uniform, U(−√3, √3) for one input
/// and one output; the bias 0.
pub fn keras_dense(seed: u64) -> Linear {
    let mut rng = Rng::new(seed);
    let weight = init::xavier_uniform(&[1, 1], 1.0, &mut rng);
    Linear::from_params(weight, Some(init::zeros(&[1])))
}

/// Program 1, the compile/fit style: `Sequential([Dense(1)])`, Adam (Keras's default lr 0.001),
/// mean squared error, `fit` for 500 epochs in batches of 32 (so one full batch of 5 per epoch).
pub fn run_compile_fit(seed: u64, epochs: usize) -> Result<Outcome> {
    let mut model = Sequential::default();
    model.push(keras_dense(seed));
    let start_prediction = model.forward(&test_input(), Mode::Eval).data()[0];
    let (x, y) = training_data();
    let data = TensorDataset::new(&x, &y)?;
    let mut adam = Adam::new(0.001);
    let config = FitConfig::new(epochs, 32).seed(seed).progress(None);
    let history = train::fit(&mut model, &mut adam, &MseLoss::new(), &data, &config)?;
    let prediction = model.forward(&test_input(), Mode::Eval).data()[0];
    let (weight, bias) = weight_and_bias(&mut model);
    Ok(Outcome {
        start_prediction,
        prediction,
        final_loss: history.last().map_or(f32::NAN, |e| e.loss),
        weight,
        bias,
        reached_at: None,
    })
}

/// Program 2's loop, for any model ŷ = w·x + b and optimizer: `steps` full-batch steps on x − `centre`
/// (the tutorial's data when `centre` is 0), tracking the prediction for x = 6.
pub fn train_line(
    model: &mut Linear,
    optimizer: &mut dyn Optimizer,
    steps: usize,
    centre: f32,
) -> Outcome {
    let (x, y) = training_data();
    let x = x.map(|v| v - centre);
    let x_test = test_input().map(|v| v - centre);
    let loss_function = MseLoss::new();
    let start_prediction = model.forward(&x_test, Mode::Eval).data()[0];
    let mut final_loss = f32::NAN;
    let mut reached_at = None;
    for step in 1..=steps {
        // The five lines of every training step (the tutorial's PyTorch loop, line for line):
        optimizer.zero_grad(model); //                      optimizer.zero_grad()
        let output = model.forward(&x, Mode::Train); //     output = model(x_train)
        let loss = loss_function.compute(&output, &y); //   loss = criterion(output, y_train)
        model.backward(&loss.grad); //                      loss.backward()
        optimizer.step(model); //                           optimizer.step()

        final_loss = loss.value;
        let prediction = model.forward(&x_test, Mode::Eval).data()[0];
        if (prediction - TUTORIAL_CLAIM).abs() < TOLERANCE {
            reached_at.get_or_insert(step);
        } else {
            reached_at = None;
        }
    }
    let prediction = model.forward(&x_test, Mode::Eval).data()[0];
    let (weight, bias) = weight_and_bias(model);
    Outcome {
        start_prediction,
        prediction,
        final_loss,
        weight,
        bias,
        reached_at,
    }
}

/// A `Linear(1, 1)` with PyTorch's default initialisation (weight and bias from U(−1, 1)).
pub fn pytorch_linear(seed: u64) -> Linear {
    Linear::new(1, 1, &mut Rng::new(seed))
}

/// Program 2, the write-the-loop style: `Linear(1, 1)`, Adam lr 0.01, 500 full-batch steps.
pub fn run_hand_written_loop(seed: u64) -> Outcome {
    train_line(&mut pytorch_linear(seed), &mut Adam::new(0.01), 500, 0.0)
}

fn print_outcome(outcome: &Outcome) {
    println!(
        "learned ŷ = {:.4}·x + {:.4}; final loss {:.4}\n\
         prediction for x = 6: {:.4}   (the tutorial claims {TUTORIAL_CLAIM:.1}; off by {:.4})",
        outcome.weight,
        outcome.bias,
        outcome.final_loss,
        outcome.prediction,
        outcome.prediction - TUTORIAL_CLAIM
    );
}

// ---------------------------------------------------------------------------------------------------
// 5.1 The compile/fit style (the tutorial's TensorFlow/Keras program).
// ---------------------------------------------------------------------------------------------------

fn compile_fit_style(seed: u64) -> Result<Outcome> {
    heading("5.1 TensorFlow入门 — the compile/fit style");
    println!("The tutorial (Python, Keras):");
    println!("    model = tf.keras.Sequential([layers.Dense(1, input_shape=(1,))])");
    println!("    model.compile(optimizer='adam', loss='mean_squared_error')   # Adam's lr: 0.001");
    println!(
        "    model.fit(x_train, y_train, epochs=500)                      # batch_size 32 → 1 batch"
    );
    println!("    print(model.predict(np.array([6.])))                         # 输出 [6.]");
    println!("dlfs (Rust):");
    println!("    let mut model = Sequential::default();");
    println!(
        "    model.push(Linear::from_params(xavier_uniform(&[1, 1], 1.0, &mut rng), Some(zeros(&[1]))));"
    );
    println!("    let config = FitConfig::new(500, 32);");
    println!(
        "    train::fit(&mut model, &mut Adam::new(0.001), &MseLoss::new(), &data, &config)?;"
    );
    println!("    model.forward(&x6, Mode::Eval)\n");
    let start = keras_dense(seed);
    println!(
        "start (seed {seed}, Keras's initialisation: w ~ U(−√3, √3), b = 0): ŷ = {:.4}·x + {:.4}, \
         prediction for 6 = {:.4}",
        start.weight().value.data()[0],
        0.0,
        6.0 * start.weight().value.data()[0]
    );
    let outcome = run_compile_fit(seed, 500)?;
    print_outcome(&outcome);
    Ok(outcome)
}

// ---------------------------------------------------------------------------------------------------
// 5.2 The write-the-loop style (the tutorial's PyTorch program).
// ---------------------------------------------------------------------------------------------------

fn hand_written_loop_style(seed: u64) -> Outcome {
    heading("5.2 PyTorch入门 — the write-the-loop-yourself style");
    println!("The tutorial (Python, PyTorch):");
    println!("    model = SimpleNN()                      # one nn.Linear(1, 1)");
    println!("    criterion = nn.MSELoss(); optimizer = optim.Adam(model.parameters(), lr=0.01)");
    println!("    for epoch in range(500):");
    println!(
        "        optimizer.zero_grad(); output = model(x_train); loss = criterion(output, y_train)"
    );
    println!("        loss.backward(); optimizer.step()");
    println!("    print(model(torch.tensor([[6.]])))      # 输出 tensor([[6.]])");
    println!("dlfs (Rust), the same five lines:");
    println!("    for _ in 0..500 {{");
    println!("        adam.zero_grad(&mut model);");
    println!("        let output = model.forward(&x, Mode::Train);");
    println!("        let loss = MseLoss::new().compute(&output, &y);");
    println!("        model.backward(&loss.grad);");
    println!("        adam.step(&mut model);");
    println!("    }}\n");
    let start = pytorch_linear(seed);
    let (w0, b0) = (
        start.weight().value.data()[0],
        start.bias().unwrap().value.data()[0],
    );
    println!(
        "start (seed {seed}, PyTorch's initialisation: w, b ~ U(−1, 1)): ŷ = {w0:.4}·x + {b0:.4}, \
         prediction for 6 = {:.4}",
        6.0 * w0 + b0
    );
    let outcome = run_hand_written_loop(seed);
    print_outcome(&outcome);
    println!(
        "(PyTorch itself, same recipe, on this project's machine: 5.645, final loss 0.045 — from its\n \
         own random start. Neither gives the tutorial's 6.0.)"
    );
    outcome
}

// ---------------------------------------------------------------------------------------------------
// 5.3 Why not 6.0: the step size bounds the distance; the valley slows the end.
// ---------------------------------------------------------------------------------------------------

fn why_not_six(compile_fit: &Outcome, hand_loop: &Outcome) {
    heading("5.3 Why neither program prints 6.0");
    println!(
        "The best line through the data is w = 1, b = 0 (it fits exactly: loss 0, prediction 6).\n\
         Two things keep 500 Adam steps from getting there:\n"
    );
    println!(
        "1. Adam's step is lr·m̂/(√v̂ + ε), and |m̂/√v̂| ≤ about 1: each step moves every parameter by\n   \
         at most about lr. In 500 steps w and b each move at most 500·lr, so the prediction for 6 =\n   \
         6w + b moves at most 7·500·lr:"
    );
    let mut table = Table::new(&[
        "recipe",
        "lr",
        "max move of 6w + b in 500 steps",
        "start → end prediction",
    ]);
    table.row(&[
        "compile/fit (Keras default)".to_string(),
        "0.001".to_string(),
        format!("{:.1}", 7.0 * 500.0 * 0.001),
        format!(
            "{:.3} → {:.3}",
            compile_fit.start_prediction, compile_fit.prediction
        ),
    ]);
    table.row(&[
        "hand-written loop".to_string(),
        "0.01".to_string(),
        format!("{:.1}", 7.0 * 500.0 * 0.01),
        format!(
            "{:.3} → {:.3}",
            hand_loop.start_prediction, hand_loop.prediction
        ),
    ]);
    print!("{table}");
    let distance = (TUTORIAL_CLAIM - compile_fit.start_prediction).abs();
    println!(
        "   With lr 0.001 the budget is 3.5; this start is {distance:.2} away from 6. Keras starts w in\n   \
         U(−√3, √3), and 6w is more than 3.5 away from 6 unless w is in [0.42, 1.58]: from two\n   \
         starts in three, the first recipe cannot arrive, whatever the optimizer does inside its budget."
    );
    // The Hessian of the MSE in (w, b): (2/n)·[[Σx², Σx], [Σx, n]] = 2·[[11, 3], [3, 1]].
    let (a, b, d) = (22.0f64, 6.0f64, 2.0f64);
    let mean = (a + d) / 2.0;
    let radius = (((a - d) / 2.0).powi(2) + b * b).sqrt();
    let (largest, smallest) = (mean + radius, mean - radius);
    println!(
        "\n2. The loss surface in (w, b) is a narrow valley. Its curvature (the Hessian of the MSE) is\n   \
         (2/n)·[[Σx², Σx], [Σx, n]] = [[22, 6], [6, 2]], with eigenvalues {largest:.2} and {smallest:.3}: the\n   \
         loss rises {:.0}× faster across the valley than along it. Steps big enough to be stable across\n   \
         it crawl along it — the direction where w grows and b shrinks together (w·3 + b ≈ 3, the line\n   \
         through the data's centre). Gradient descent converges at a rate set by the smallest\n   \
         eigenvalue; chapter 11 draws such valleys.",
        largest / smallest
    );
}

// ---------------------------------------------------------------------------------------------------
// 5.4 Settings that do reach 6.0.
// ---------------------------------------------------------------------------------------------------

/// One way to train the line: a description, the optimizer, the number of steps, the centring.
pub struct Setting {
    /// What is changed, in words.
    pub description: &'static str,
    /// The optimizer, freshly made.
    pub optimizer: fn() -> Box<dyn Optimizer>,
    /// Full-batch steps.
    pub steps: usize,
    /// Subtracted from every x before training and prediction (0: the raw data).
    pub centre: f32,
}

/// The settings that reach 6.0 within [`TOLERANCE`], each found by reasoning (see the chapter).
pub fn settings() -> Vec<Setting> {
    vec![
        Setting {
            description: "more steps: Adam lr 0.01, 5000 steps",
            optimizer: || Box::new(Adam::new(0.01)),
            steps: 5000,
            centre: 0.0,
        },
        Setting {
            description: "larger steps: Adam lr 0.1, 500 steps",
            optimizer: || Box::new(Adam::new(0.1)),
            steps: 500,
            centre: 0.0,
        },
        Setting {
            description: "plain gradient descent: SGD lr 0.05 (< 2/23.7), 500 steps",
            optimizer: || Box::new(Sgd::new(0.05)),
            steps: 500,
            centre: 0.0,
        },
        Setting {
            description: "centred inputs x − 3: SGD lr 0.25, 50 steps",
            optimizer: || Box::new(Sgd::new(0.25)),
            steps: 50,
            centre: 3.0,
        },
    ]
}

/// Runs one [`Setting`] from PyTorch's initialisation with `seed`.
pub fn run_setting(setting: &Setting, seed: u64) -> Outcome {
    let mut optimizer = (setting.optimizer)();
    train_line(
        &mut pytorch_linear(seed),
        optimizer.as_mut(),
        setting.steps,
        setting.centre,
    )
}

fn settings_that_reach_six(seed: u64) {
    heading("5.4 Settings that do reach 6.0 (within 0.01)");
    println!(
        "From the same start as 5.2 (seed {seed}), each setting attacks one of the two reasons:\n\
         - more steps let Adam walk the valley to its end; a larger learning rate takes bigger steps\n  \
           along it (Adam's step is about lr, whatever the size of the gradient);\n\
         - plain SGD with lr below 2/λ_max = 2/23.7 = 0.084 is stable and walks the valley in a few\n  \
           hundred steps;\n\
         - centring x (x − 3, so Σx = 0) removes the valley: the Hessian becomes diag(2·var(x), 2) =\n  \
           diag(4, 2), and SGD with lr 1/4 sets w exactly in one step and halves b's error every step.\n"
    );
    let mut table = Table::new(&[
        "setting",
        "prediction for 6",
        "final loss",
        "learned w, b",
        "within 0.01 of 6.0 from step",
    ]);
    for setting in settings() {
        let outcome = run_setting(&setting, seed);
        table.row(&[
            setting.description.to_string(),
            format!("{:.4}", outcome.prediction),
            format!("{:.2e}", outcome.final_loss),
            format!("{:.4}, {:.4}", outcome.weight, outcome.bias),
            outcome
                .reached_at
                .map_or("never".to_string(), |s| s.to_string()),
        ]);
    }
    print!("{table}");
    println!(
        "(For the centred run, w and b belong to ŷ = w·(x − 3) + b: w = 1, b = 3 is the same line.)\n\
         Lesson: \"500 epochs with Adam\" is not a property of the problem. Scale and centre the inputs\n\
         (chapter 14 does), and check the loss, not the claim."
    );
}

// ---------------------------------------------------------------------------------------------------
// 5.5 Installing and the environment: what the tutorial's set-up steps are in dlfs.
// ---------------------------------------------------------------------------------------------------

fn environment_and_gpu() {
    heading("5.5 如何安装和配置框架 — installing, environments, GPU set-up");
    let threads_variable = std::env::var("DLFS_THREADS").unwrap_or_else(|_| "(not set)".into());
    println!(
        "Installing: the tutorial runs `pip install tensorflow` / `pip install torch`. dlfs has no\n\
         dependencies: `cargo build --release` in this folder is the whole installation, and another\n\
         project uses it by path (README, \"Use dlfs in your own project\").\n\n\
         Isolated environments (conda, virtualenv): each Cargo project builds into its own target/\n\
         folder and Cargo.lock pins the versions, so there is nothing to isolate; rustup pins the\n\
         compiler.\n"
    );
    println!("Threads, the CPU's hardware acceleration:");
    println!("  DLFS_THREADS=N (environment) or --threads N (any binary) sets the worker threads;");
    println!(
        "  now: DLFS_THREADS = {threads_variable}, threads in use = {}. Results are bit-identical for\n  \
         any thread count.\n",
        parallel::num_threads()
    );
    println!(
        "The first line every binary prints says how it runs; for this one:\n  {}\n",
        app::banner("ch05_first_network")
    );
    println!("GPU: the tutorial's two settings, and what they do:");
    println!(
        "  export TF_FORCE_GPU_ALLOW_GROWTH=true   TensorFlow otherwise reserves almost all GPU"
    );
    println!(
        "                                          memory at start-up; with it, it allocates as"
    );
    println!(
        "                                          it needs (and other programs can share the GPU)"
    );
    println!(
        "  export CUDA_VISIBLE_DEVICES=0           the CUDA driver shows the process only GPU 0"
    );
    println!(
        "                                          (which it then numbers 0, whatever its real number)"
    );
    println!(
        "In dlfs the GPU path is chapter 15: `cargo run --release --bin ch15_gpu -- --device cuda`\n\
         (the default; `--device cpu` skips the GPU). CUDA_VISIBLE_DEVICES works for it unchanged —\n\
         the driver reads it for every program — and dlfs uses the first visible device (device 0).\n\
         There is nothing like TF_FORCE_GPU_ALLOW_GROWTH to set: each dlfs device buffer allocates\n\
         exactly what it holds and frees it when dropped. Every chapter before 15 runs on the CPU."
    );
}

fn main() {
    app::main_for(command(), run);
}
