//! Chapter 10 — 常见的损失函数 (common loss functions).
//!
//! The tutorial gives two losses: mean squared error in numpy, `np.mean((y_true - y_pred) ** 2)`,
//! and cross-entropy through PyTorch's `cross_entropy(y_pred, y_true)` (raw scores and integer class
//! targets). This chapter
//!
//! 1. computes MSE and cross-entropy by hand, step by step on small numbers, next to
//!    [`dlfs::loss`]'s functions, with the gradient each hands to the backward pass;
//! 2. shows what each gradient looks like as the prediction moves (and why classification uses
//!    cross-entropy, not MSE on a sigmoid: the gradient that vanishes);
//! 3. adds binary cross-entropy (on probabilities, clamped; on logits, exact) and Huber, and fits a
//!    line with MSE and with Huber to data with one outlier;
//! 4. shows why the softmax and log-softmax must be computed the stable way: the formula taken
//!    literally gives NaN and −∞ on logits like [1000, 1001, 1002].

use dlfs::cli::{Args, Command};
use dlfs::loss::{
    Loss, Reduction, bce, bce_with_logits, cross_entropy, huber, log_softmax_row, log_sum_exp, mse,
    naive_log_softmax_row, naive_softmax_row, softmax_row,
};
use dlfs::nn::{Layer, Linear, Mode, Softmax, sigmoid};
use dlfs::optim::{Adam, Optimizer};
use dlfs::report::{LinePlot, Table, chart};
use dlfs::{Error, Result, Tensor, app};
use std::path::Path;

/// The chapter's flags (`--quick`, `--out`, `--threads` come from `app::chapter_command`).
pub fn command() -> Command {
    app::chapter_command(
        "ch10_losses",
        "MSE and cross-entropy by hand vs the library, what their gradients look like, BCE, Huber vs \
         MSE with an outlier, and the naive softmax overflowing where the stable one is exact.",
    )
}

/// The chapter itself.
pub fn run(args: &Args) -> Result<()> {
    let out = app::out_dir(args)?;
    println!("# 10. 常见的损失函数 — loss functions");
    mse_by_hand()?;
    cross_entropy_by_hand()?;
    gradient_shapes(&out)?;
    binary_cross_entropy()?;
    huber_against_an_outlier(&out)?;
    stable_softmax()?;
    app::exercises_hint("ch10");
    Ok(())
}

fn heading(title: &str) {
    println!("\n## {title}\n");
}

/// Numbers as `[a, b, c]` with `decimals` decimals.
fn list(values: &[f32], decimals: usize) -> String {
    let texts: Vec<String> = values.iter().map(|v| format!("{v:.decimals$}")).collect();
    format!("[{}]", texts.join(", "))
}

/// Fails the chapter if the hand computation and the library disagree beyond f32 rounding.
fn agree(what: &str, by_hand: &[f32], library: &[f32]) -> Result<()> {
    let worst = by_hand
        .iter()
        .zip(library)
        .map(|(a, b)| (a - b).abs() / a.abs().max(1.0))
        .fold(0.0f32, f32::max);
    if worst > 1e-5 || by_hand.len() != library.len() {
        return Err(Error::data(format!(
            "{what}: by hand {by_hand:?}, library {library:?}"
        )));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------------
// 10.1 Mean squared error.
// ---------------------------------------------------------------------------------------------------

fn mse_by_hand() -> Result<()> {
    heading("10.1 均方误差 (MSE) — by hand and by the library");
    let prediction = [2.5f32, 0.0, 2.1, 7.8];
    let target = [3.0f32, -0.5, 2.0, 7.0];
    let n = prediction.len() as f32;
    println!(
        "The tutorial (numpy): def mse_loss(y_true, y_pred): return np.mean((y_true - y_pred) ** 2)\n"
    );
    println!("prediction ŷ = {}", list(&prediction, 1));
    println!("target     y = {}", list(&target, 1));
    let differences: Vec<f32> = prediction.iter().zip(&target).map(|(p, y)| p - y).collect();
    let squares: Vec<f32> = differences.iter().map(|d| d * d).collect();
    let sum: f32 = squares.iter().sum();
    println!("ŷ − y        = {}", list(&differences, 2));
    println!("(ŷ − y)²     = {}", list(&squares, 4));
    println!("sum          = {sum:.4}");
    println!("mean = sum/n = {sum:.4}/{n} = {:.4}", sum / n);
    let gradient: Vec<f32> = differences.iter().map(|d| 2.0 * d / n).collect();
    println!("∂L/∂ŷ = 2(ŷ − y)/n = {}", list(&gradient, 4));

    let library = mse(
        &Tensor::from_vec(&[4], prediction.to_vec()),
        &Tensor::from_vec(&[4], target.to_vec()),
        Reduction::Mean,
    );
    println!(
        "\ndlfs::loss::mse(ŷ, y, Reduction::Mean): value {:.4}, gradient {}",
        library.value,
        list(library.grad.data(), 4)
    );
    agree("MSE value", &[sum / n], &[library.value])?;
    agree("MSE gradient", &gradient, library.grad.data())?;
    println!(
        "The gradient is the error itself (times 2/n): the prediction 7.8 that is 0.8 too high is\n\
         pushed down hardest."
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------------------
// 10.2 Cross-entropy.
// ---------------------------------------------------------------------------------------------------

fn cross_entropy_by_hand() -> Result<()> {
    heading("10.2 交叉熵 (cross-entropy) — by hand and by the library");
    println!(
        "The tutorial (PyTorch): cross_entropy(y_pred, y_true) — y_pred the raw scores (logits) of\n\
         shape [N, K], y_true the class indices. Two examples, K = 3 classes:\n"
    );
    let logits = [[2.0f32, 1.0, 0.1], [0.5, 2.5, 0.3]];
    let targets = [0usize, 2];
    let mut by_hand_losses = Vec::new();
    let mut by_hand_gradient = Vec::new();
    // p_y of each example: the probability the model gives the right class.
    let mut target_probabilities = Vec::new();
    for (n, (z, &y)) in logits.iter().zip(&targets).enumerate() {
        let m = z.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let shifted: Vec<f32> = z.iter().map(|v| v - m).collect();
        let exponentials: Vec<f32> = shifted.iter().map(|v| v.exp()).collect();
        let sum: f32 = exponentials.iter().sum();
        let lse = m + sum.ln();
        let p: Vec<f32> = exponentials.iter().map(|e| e / sum).collect();
        let loss = lse - z[y];
        println!(
            "example {n}: logits z = {}, target class y = {y}",
            list(z, 1)
        );
        println!("  m = max z = {m}; z − m = {}", list(&shifted, 1));
        println!("  e^(z − m) = {}, sum {sum:.4}", list(&exponentials, 4));
        println!("  softmax p = e^(z − m)/sum = {}", list(&p, 4));
        println!(
            "  loss = logsumexp(z) − z_y = (m + ln sum) − z_y = {lse:.4} − {} = {loss:.4}  (= −ln p_y = −ln {:.4})",
            z[y], p[y]
        );
        by_hand_losses.push(loss);
        target_probabilities.push(p[y]);
        for (k, &pk) in p.iter().enumerate() {
            let one_hot = if k == y { 1.0 } else { 0.0 };
            by_hand_gradient.push((pk - one_hot) / logits.len() as f32);
        }
    }
    let mean = by_hand_losses.iter().sum::<f32>() / by_hand_losses.len() as f32;
    println!(
        "mean over the batch = ({:.4} + {:.4})/2 = {mean:.4}",
        by_hand_losses[0], by_hand_losses[1]
    );
    println!(
        "∂L/∂z = (p − onehot(y))/N = {} and {}",
        list(&by_hand_gradient[..3], 4),
        list(&by_hand_gradient[3..], 4)
    );
    let z = Tensor::from_rows(&[&logits[0], &logits[1]]);
    let library = cross_entropy(&z, &targets, Reduction::Mean);
    println!(
        "\ndlfs::loss::cross_entropy(z, &[0, 2], Reduction::Mean): value {:.4}, gradient {} and {}",
        library.value,
        list(&library.grad.data()[..3], 4),
        list(&library.grad.data()[3..], 4)
    );
    agree("cross-entropy value", &[mean], &[library.value])?;
    agree(
        "cross-entropy gradient",
        &by_hand_gradient,
        library.grad.data(),
    )?;
    // Index of the target logit z_y of example 1 in the flat [2, 3] gradient.
    let wrong = 3 + targets[1];
    println!(
        "The gradient is \"predicted probabilities minus the truth\": example 0 (right, p_y = {:.4})\n\
         gets a small push, example 1 (wrong, p_y = {:.4}) a large one: ∂L/∂z_y = {:.4}.\n",
        target_probabilities[0],
        target_probabilities[1],
        library.grad.data()[wrong]
    );

    // A classic mistake: the model ends with a softmax, and cross_entropy applies it again.
    let (double, logit_gradient) = double_softmax(&z, &targets);
    let floor = (std::f32::consts::E + 2.0).ln() - 1.0;
    let (right, at_p, at_z) = (
        library.grad.data()[wrong],
        double.grad.data()[wrong],
        logit_gradient.data()[wrong],
    );
    println!(
        "A common bug: ending the model with a softmax and passing its probabilities to\n\
         cross_entropy, which applies the softmax again. Same batch: loss {:.4} instead of {:.4} —\n\
         it looks better, but it is a different function. Scores squeezed into [0, 1] can never\n\
         express certainty: even a perfect (1, 0, 0) gives softmax = e/(e + 2) = 0.58, so this loss can\n\
         never fall below ln(e + 2) − 1 = {floor:.3}.\n",
        double.value, library.value,
    );
    println!(
        "Worse, the model learns far less from its mistakes. Follow the gradient on the target score\n\
         z_y of the wrong example 1 (p_y = {:.4}):",
        target_probabilities[1]
    );
    for (what, value) in [
        (
            "correct model, cross_entropy on the logits:  ∂L/∂z_y",
            right,
        ),
        ("double softmax, at the probabilities given:  ∂L/∂p_y", at_p),
        ("double softmax, back through its softmax:    ∂L/∂z_y", at_z),
    ] {
        println!("  {what} = {value:.4}");
    }
    println!(
        "The first number is the one training needs, the third the one it gets: {:.1}× smaller.\n\
         (−{:.4} is only the gradient with respect to the probabilities p; the model's own softmax\n\
         then multiplies it by p_y(1 − p_y) and mixes in the other classes.) All six logit gradients:\n\
         \x20 correct        {} and {}\n\
         \x20 double softmax {} and {}\n\
         Pass the raw scores.",
        right / at_z,
        -at_p,
        list(&library.grad.data()[..3], 4),
        list(&library.grad.data()[3..], 4),
        list(&logit_gradient.data()[..3], 4),
        list(&logit_gradient.data()[3..], 4),
    );
    Ok(())
}

/// The double-softmax bug on logits `z` `[N, K]`: the model ends with a softmax, p = softmax(z), and
/// the loss applies its own, `cross_entropy(p, targets)` (mean over N). Returns the loss with its
/// gradient with respect to p (what the loss hands back), and the gradient with respect to the
/// logits z (that one sent back through the model's softmax: `dzᵢ = pᵢ(dpᵢ − Σⱼ dpⱼpⱼ)`).
pub fn double_softmax(logits: &Tensor, targets: &[usize]) -> (dlfs::loss::LossOutput, Tensor) {
    let mut model_softmax = Softmax::new();
    let probabilities = model_softmax.forward(logits, Mode::Train);
    let loss = cross_entropy(&probabilities, targets, Reduction::Mean);
    let logit_gradient = model_softmax.backward(&loss.grad);
    (loss, logit_gradient)
}

// ---------------------------------------------------------------------------------------------------
// 10.3 What the gradients look like.
// ---------------------------------------------------------------------------------------------------

/// The gradient of the MSE loss `(σ(x) − 1)²` with respect to the logit x (a sigmoid output trained
/// with MSE towards 1): `2(σ(x) − 1)·σ(x)(1 − σ(x))`.
pub fn mse_on_sigmoid_gradient(x: f32) -> f32 {
    let p = sigmoid(x);
    2.0 * (p - 1.0) * p * (1.0 - p)
}

/// The gradient of the binary cross-entropy `−ln σ(x)` (target 1) with respect to the logit x:
/// `σ(x) − 1`.
pub fn bce_gradient(x: f32) -> f32 {
    bce_with_logits(
        &Tensor::from_vec(&[1], vec![x]),
        &Tensor::from_vec(&[1], vec![1.0]),
        Reduction::Sum,
    )
    .grad
    .data()[0]
}

fn gradient_shapes(out: &Path) -> Result<()> {
    heading("10.3 What each gradient looks like");
    let errors: Vec<f32> = (0..=120).map(|i| -3.0 + 0.05 * i as f32).collect();
    let single = |value: f32| Tensor::from_vec(&[1], vec![value]);
    let zero = single(0.0);
    let mut regression = Table::new(&[
        "error d = ŷ − y",
        "MSE d²",
        "∂/∂ŷ = 2d",
        "Huber(δ=1)",
        "∂/∂ŷ = clamp(d, −1, 1)",
    ]);
    for d in [-3.0f32, -1.0, -0.5, 0.0, 0.5, 1.0, 3.0] {
        let m = mse(&single(d), &zero, Reduction::Sum);
        let h = huber(&single(d), &zero, 1.0, Reduction::Sum);
        regression.row(&[
            format!("{d:+.1}"),
            format!("{:.3}", m.value),
            format!("{:+.3}", m.grad.data()[0]),
            format!("{:.3}", h.value),
            format!("{:+.3}", h.grad.data()[0]),
        ]);
    }
    println!("Regression, one prediction against target 0:");
    print!("{regression}");
    println!(
        "MSE's gradient grows with the error, so one far-off point can dominate a batch; Huber's\n\
         stops growing at δ (10.5 shows what that does to a fit).\n"
    );

    let logits_grid: Vec<f32> = (0..=120).map(|i| -6.0 + 0.1 * i as f32).collect();
    let mut classification = Table::new(&[
        "logit x (target 1)",
        "σ(x)",
        "BCE −ln σ(x)",
        "∂BCE/∂x = σ − 1",
        "∂/∂x of MSE (σ − 1)²",
    ]);
    for x in [-10.0f32, -6.0, -3.0, -1.0, 0.0, 1.0, 3.0] {
        let b = bce_with_logits(&single(x), &single(1.0), Reduction::Sum);
        classification.row(&[
            format!("{x:+.1}"),
            format!("{:.5}", sigmoid(x)),
            format!("{:.4}", b.value),
            format!("{:+.5}", b.grad.data()[0]),
            format!("{:+.5}", mse_on_sigmoid_gradient(x)),
        ]);
    }
    println!("Classification, one yes/no output whose true answer is yes (1):");
    print!("{classification}");
    println!(
        "When the model is confidently wrong (x = −10: σ = 0.00005), cross-entropy's gradient is\n\
         almost −1, the strongest push it can give; MSE on the sigmoid's output gives {:.1e}: the\n\
         sigmoid's flat tail multiplies the error by σ(1 − σ) ≈ 0, and learning stalls exactly where\n\
         it is most needed. Cross-entropy's log cancels that factor.\n",
        mse_on_sigmoid_gradient(-10.0)
    );

    let mse_gradient: Vec<f32> = errors.iter().map(|d| 2.0 * d).collect();
    let huber_gradient: Vec<f32> = errors.iter().map(|d| d.clamp(-1.0, 1.0)).collect();
    println!("∂loss/∂ŷ against the error d from −3 to 3:\n");
    print!(
        "{}",
        chart::line_chart(
            &[
                ("MSE 2d", &mse_gradient),
                ("Huber clamp(d, −1, 1)", &huber_gradient)
            ],
            60,
            10
        )
    );
    let bce_curve: Vec<f32> = logits_grid.iter().map(|&x| bce_gradient(x)).collect();
    let mse_sigmoid_curve: Vec<f32> = logits_grid
        .iter()
        .map(|&x| mse_on_sigmoid_gradient(x))
        .collect();
    println!("\n∂loss/∂x against the logit x from −6 to 6, target 1:\n");
    print!(
        "{}",
        chart::line_chart(
            &[
                ("BCE σ(x) − 1", &bce_curve),
                ("MSE on σ: 2(σ − 1)σ(1 − σ)", &mse_sigmoid_curve)
            ],
            60,
            10
        )
    );

    let points = |xs: &[f32], ys: &[f32]| -> Vec<(f64, f64)> {
        xs.iter()
            .zip(ys)
            .map(|(&x, &y)| (f64::from(x), f64::from(y)))
            .collect()
    };
    let mse_values: Vec<f32> = errors.iter().map(|d| d * d).collect();
    let huber_values: Vec<f32> = errors
        .iter()
        .map(|&d| huber(&single(d), &zero, 1.0, Reduction::Sum).value)
        .collect();
    let path = out.join("regression_losses.svg");
    LinePlot::new("Regression losses and their gradients against the error d = ŷ − y")
        .x_label("error d")
        .y_label("loss / gradient")
        .line("MSE d²", &points(&errors, &mse_values))
        .line("Huber(δ=1)", &points(&errors, &huber_values))
        .dashed("∂MSE/∂ŷ = 2d", &points(&errors, &mse_gradient))
        .dashed("∂Huber/∂ŷ", &points(&errors, &huber_gradient))
        .save(&path)?;
    println!("\nwrote {}", path.display());
    let bce_values: Vec<f32> = logits_grid
        .iter()
        .map(|&x| bce_with_logits(&single(x), &single(1.0), Reduction::Sum).value)
        .collect();
    let mse_sigmoid_values: Vec<f32> = logits_grid
        .iter()
        .map(|&x| (sigmoid(x) - 1.0).powi(2))
        .collect();
    let path = out.join("classification_losses.svg");
    LinePlot::new("A yes/no output with target 1: losses and gradients against the logit")
        .x_label("logit x")
        .y_label("loss / gradient")
        .line("BCE −ln σ(x)", &points(&logits_grid, &bce_values))
        .line(
            "MSE (σ(x) − 1)²",
            &points(&logits_grid, &mse_sigmoid_values),
        )
        .dashed("∂BCE/∂x", &points(&logits_grid, &bce_curve))
        .dashed("∂MSE/∂x", &points(&logits_grid, &mse_sigmoid_curve))
        .save(&path)?;
    println!("wrote {}", path.display());
    Ok(())
}

// ---------------------------------------------------------------------------------------------------
// 10.4 Binary cross-entropy.
// ---------------------------------------------------------------------------------------------------

fn binary_cross_entropy() -> Result<()> {
    heading("10.4 二元交叉熵 (binary cross-entropy) — on probabilities and on logits");
    let p = [0.9f32, 0.2, 0.6];
    let y = [1.0f32, 0.0, 1.0];
    let terms: Vec<f32> = p
        .iter()
        .zip(&y)
        .map(|(&p, &y)| -(y * p.ln() + (1.0 - y) * (1.0 - p).ln()))
        .collect();
    let mean = terms.iter().sum::<f32>() / 3.0;
    println!("p = {}, y = {}", list(&p, 1), list(&y, 0));
    println!(
        "−[y·ln p + (1 − y)·ln(1 − p)] = [−ln 0.9, −ln 0.8, −ln 0.6] = {}; mean {mean:.4}",
        list(&terms, 4)
    );
    let library = bce(
        &Tensor::from_vec(&[3], p.to_vec()),
        &Tensor::from_vec(&[3], y.to_vec()),
        Reduction::Mean,
    );
    println!("dlfs::loss::bce: {:.4}", library.value);
    agree("BCE", &[mean], &[library.value])?;

    let logits: Vec<f32> = p.iter().map(|&p| (p / (1.0 - p)).ln()).collect();
    let on_logits = bce_with_logits(
        &Tensor::from_vec(&[3], logits.clone()),
        &Tensor::from_vec(&[3], y.to_vec()),
        Reduction::Mean,
    );
    println!(
        "the same probabilities as logits ln(p/(1 − p)) = {}: bce_with_logits = {:.4}",
        list(&logits, 4),
        on_logits.value
    );
    agree("BCE on logits", &[mean], &[on_logits.value])?;

    let certain_and_wrong = bce(
        &Tensor::from_vec(&[1], vec![0.0]),
        &Tensor::from_vec(&[1], vec![1.0]),
        Reduction::Mean,
    );
    let logit_wrong = bce_with_logits(
        &Tensor::from_vec(&[1], vec![-1000.0]),
        &Tensor::from_vec(&[1], vec![1.0]),
        Reduction::Mean,
    );
    println!(
        "\nCertain and wrong: p = 0 for a true 1. −ln 0 = ∞, so bce clamps ln p at −100 (as PyTorch's\n\
         BCELoss does) and returns {:.1}; how wrong the model is gets lost. On logits, x = −1000 gives\n\
         bce_with_logits = {:.1} exactly (max(x, 0) − x·y + ln(1 + e^−|x|)), with gradient {:.1}.\n\
         Models should output logits and leave the sigmoid to the loss.",
        certain_and_wrong.value,
        logit_wrong.value,
        logit_wrong.grad.data()[0]
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------------------
// 10.5 Huber against MSE, with an outlier.
// ---------------------------------------------------------------------------------------------------

/// The chapter's line data: y = 2x + 1 at x = 0, 1, …, 10, with small fixed deviations, and the
/// point at x = 9 replaced by the outlier y = 60 when `with_outlier`. Returns x and y as `[11, 1]`.
pub fn line_data(with_outlier: bool) -> (Tensor, Tensor) {
    const DEVIATIONS: [f32; 11] = [0.3, -0.2, 0.1, -0.4, 0.2, 0.0, -0.1, 0.3, -0.3, 0.2, -0.1];
    let x: Vec<f32> = (0..11).map(|i| i as f32).collect();
    let mut y: Vec<f32> = x
        .iter()
        .zip(DEVIATIONS)
        .map(|(&x, d)| 2.0 * x + 1.0 + d)
        .collect();
    if with_outlier {
        y[9] = 60.0;
    }
    (Tensor::from_vec(&[11, 1], x), Tensor::from_vec(&[11, 1], y))
}

/// Fits ŷ = a·x + b to `(x, y)` by minimising `loss` with full-batch Adam (lr 0.1, 3000 steps), on
/// x centred at its mean (the valley of chapter 5 would slow it down). Returns (a, b) for the raw x.
pub fn fit_line(loss: &dyn Loss, x: &Tensor, y: &Tensor) -> (f32, f32) {
    let centre = x.mean();
    let centred = x.map(|v| v - centre);
    let mut line = Linear::from_params(Tensor::zeros(&[1, 1]), Some(Tensor::zeros(&[1])));
    let mut adam = Adam::new(0.1);
    for _ in 0..3000 {
        adam.zero_grad(&mut line);
        let output = line.forward(&centred, Mode::Train);
        let computed = loss.compute(&output, y);
        line.backward(&computed.grad);
        adam.step(&mut line);
    }
    let a = line.weight().value.data()[0];
    let b = line.bias().expect("the line has a bias").value.data()[0];
    (a, b - a * centre)
}

/// The least-squares line through (x, y) in closed form: a = cov(x, y)/var(x), b = ȳ − a·x̄.
pub fn least_squares_line(x: &Tensor, y: &Tensor) -> (f32, f32) {
    let (mx, my) = (f64::from(x.mean()), f64::from(y.mean()));
    let (mut covariance, mut variance) = (0.0f64, 0.0f64);
    for (&xi, &yi) in x.data().iter().zip(y.data()) {
        covariance += (f64::from(xi) - mx) * (f64::from(yi) - my);
        variance += (f64::from(xi) - mx).powi(2);
    }
    let a = covariance / variance;
    (a as f32, (my - a * mx) as f32)
}

fn huber_against_an_outlier(out: &Path) -> Result<()> {
    heading("10.5 Huber vs MSE: fitting a line through an outlier");
    let (x, y_clean) = line_data(false);
    let (_, y) = line_data(true);
    println!(
        "11 points on y = 2x + 1 (± 0.4), and the same with the point at x = 9 moved from {:.1} to\n\
         60. Each line ŷ = a·x + b is fitted by Adam (lr 0.1, 3000 full-batch steps, x centred):\n",
        y_clean.data()[9]
    );
    let mse_loss = dlfs::loss::MseLoss::new();
    let huber_loss = dlfs::loss::HuberLoss::new(1.0);
    let fits = [
        ("MSE, no outlier", fit_line(&mse_loss, &x, &y_clean)),
        ("MSE, with the outlier", fit_line(&mse_loss, &x, &y)),
        (
            "Huber(δ=1), with the outlier",
            fit_line(&huber_loss, &x, &y),
        ),
    ];
    let mut table = Table::new(&[
        "fit",
        "slope a (true 2)",
        "intercept b (true 1)",
        "ŷ at x = 5 (true 11)",
    ]);
    for (name, (a, b)) in fits {
        table.row(&[
            name.to_string(),
            format!("{a:.3}"),
            format!("{b:.3}"),
            format!("{:.3}", a * 5.0 + b),
        ]);
    }
    print!("{table}");
    let (a_exact, b_exact) = least_squares_line(&x, &y);
    let (a_mse, b_mse) = fits[1].1;
    println!(
        "Check: the least-squares line in closed form (a = cov(x, y)/var(x)) through the data with the\n\
         outlier is a = {a_exact:.3}, b = {b_exact:.3}; Adam on the MSE found a = {a_mse:.3}, b = {b_mse:.3}."
    );
    if (a_exact - a_mse).abs() > 1e-2 || (b_exact - b_mse).abs() > 5e-2 {
        return Err(Error::data("the MSE fit did not converge to least squares"));
    }
    println!(
        "One bad point drags the MSE line: its squared error (≈ 40² = 1600) outweighs all the others,\n\
         and its gradient grows with it. Huber charges large errors only linearly (gradient at most δ),\n\
         so the outlier pulls with the same force as any point that is more than δ off, and the line\n\
         stays with the other ten points."
    );
    let line_points = |(a, b): (f32, f32)| -> Vec<(f64, f64)> {
        [0.0f64, 10.0]
            .iter()
            .map(|&x| (x, f64::from(a) * x + f64::from(b)))
            .collect()
    };
    let data: Vec<(f64, f64)> = x
        .data()
        .iter()
        .zip(y.data())
        .map(|(&x, &y)| (f64::from(x), f64::from(y)))
        .collect();
    let path = out.join("huber_vs_mse.svg");
    LinePlot::new("Fitting a line through one outlier: MSE against Huber")
        .x_label("x")
        .y_label("y")
        .scatter("data (outlier at x = 9)", &data)
        .line("MSE fit", &line_points(fits[1].1))
        .line("Huber(δ=1) fit", &line_points(fits[2].1))
        .dashed("true line y = 2x + 1", &line_points((2.0, 1.0)))
        .save(&path)?;
    println!("wrote {}", path.display());
    Ok(())
}

// ---------------------------------------------------------------------------------------------------
// 10.6 Why the softmax and log-softmax must be stable.
// ---------------------------------------------------------------------------------------------------

fn stable_softmax() -> Result<()> {
    heading("10.6 Why log-softmax must be computed the stable way");
    println!(
        "softmax(z)ᵢ = e^zᵢ / Σⱼ e^zⱼ taken literally (dlfs::loss::naive_softmax_row, kept as a\n\
         counter-example) against the stable form, which subtracts m = max z first (the factor e^−m\n\
         cancels): softmax(z) = softmax(z − m), and log softmax(z)ᵢ = zᵢ − (m + ln Σⱼ e^(zⱼ − m)).\n"
    );
    let cases: [&[f32]; 4] = [
        &[1.0, 2.0, 3.0],
        &[1000.0, 1001.0, 1002.0],
        &[-1000.0, -1001.0, -1002.0],
        &[0.0, -200.0, 5.0],
    ];
    let mut table = Table::new(&[
        "logits z",
        "naive softmax",
        "stable softmax",
        "naive log-softmax",
        "stable log-softmax",
    ]);
    for z in cases {
        let naive = naive_softmax_row(z);
        let mut stable = z.to_vec();
        softmax_row(&mut stable);
        let naive_log = naive_log_softmax_row(z);
        let mut stable_log = z.to_vec();
        log_softmax_row(&mut stable_log);
        table.row(&[
            list(z, 0),
            list(&naive, 4),
            list(&stable, 4),
            list(&naive_log, 2),
            list(&stable_log, 2),
        ]);
    }
    print!("{table}");
    let big = [1000.0f32, 1001.0, 1002.0];
    println!(
        "\nWhy: e^1000 does not fit an f32 (the largest is 3.4·10³⁸ ≈ e^88.7): it becomes {}, and\n\
         ∞/∞ = NaN. For [−1000, −1001, −1002] every e^zᵢ underflows to 0 and 0/0 = NaN. For [0, −200, 5],\n\
         e^−200 underflows to 0, so the naive log gives ln 0 = −∞ where the answer is −205.01.\n\
         log_sum_exp([1000, 1001, 1002]) = {:.4} = 1002 + ln(e^−2 + e^−1 + 1).",
        big[0].exp(),
        log_sum_exp(&big)
    );
    let z = Tensor::from_rows(&[&big]);
    let stable_loss = cross_entropy(&z, &[0], Reduction::Mean);
    let naive_loss = -naive_log_softmax_row(&big)[0];
    println!(
        "Cross-entropy of these logits with target 0: naive −ln softmax = {naive_loss}, dlfs's\n\
         cross_entropy = {:.4} (= 2 + ln(1 + e^−1 + e^−2)), gradient {}.\n\
         One NaN in a batch makes the whole loss NaN, and the next optimizer step writes NaN into\n\
         every weight.",
        stable_loss.value,
        list(stable_loss.grad.data(), 4)
    );
    if !stable_loss.value.is_finite() || !naive_loss.is_nan() {
        return Err(Error::data(
            "expected the naive cross-entropy to be NaN and the stable one finite",
        ));
    }
    Ok(())
}

fn main() {
    app::main_for(command(), run);
}
