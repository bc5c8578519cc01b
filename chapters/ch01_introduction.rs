//! Chapter 1 — 深度学习简介 (what deep learning is).
//!
//! The tutorial defines deep learning as learning *representations* through layers of non-linear
//! transformations, and lists four differences from classic machine learning. It has no code; this
//! chapter shows the first difference — deep learning learns its own features — on a problem where it
//! matters:
//!
//! - two generated 2-D toy sets (concentric circles, two spirals; [`dlfs::data::toy`]) whose classes
//!   no straight line separates;
//! - a linear classifier (softmax regression) on the raw coordinates, which can only draw a straight
//!   boundary and so stays at chance (50 %) on the circles and only a little above it on the spirals;
//! - a network with one hidden layer of tanh units, written out here by hand — forward pass, loss,
//!   and the backward pass formula by formula — which learns curved features of its own and
//!   separates the classes;
//! - both models' accuracies side by side, and their decision regions drawn in the terminal and as
//!   SVG and PNG files.
//!
//! The layers of `dlfs::nn` (chapters 6–9) package exactly these formulas; here they are spelled out
//! once, in full, so that nothing is hidden.

use dlfs::cli::{Args, Command};
use dlfs::data::toy::{self, ToySet};
use dlfs::linalg::{gemm_nn, gemm_nt, gemm_tn};
use dlfs::probability::Rng;
use dlfs::report::svg::{PALETTE, Svg};
use dlfs::report::{Progress, Table, png};
use dlfs::{Result, Tensor, app};

/// Number of classes in every toy set here.
const K: usize = 2;
/// Number of input features: the two raw coordinates (x, y).
const F: usize = 2;

/// The chapter's flags (`--quick`, `--out`, `--threads` come from `app::chapter_command`).
pub fn command() -> Command {
    app::chapter_command(
        "ch01_introduction",
        "Deep learning learns its own features: a linear classifier vs a network with one hidden \
         layer on circles and spirals, accuracies side by side, decision regions drawn.",
    )
    .option(
        "points",
        "N",
        "",
        "training points per toy set (default 600; 300 with --quick)",
    )
    .option(
        "steps",
        "N",
        "",
        "full-batch gradient-descent steps per model (default 4000; 1500 with --quick)",
    )
    .option("hidden", "H", "32", "units in the hidden layer")
    .option(
        "seed",
        "S",
        "1",
        "seed for the data and the initial weights",
    )
}

// ---------------------------------------------------------------------------------------------------
// The loss both models share: softmax cross-entropy on logits.
// ---------------------------------------------------------------------------------------------------

/// Mean softmax cross-entropy of `logits`, `[N, K]`, against integer `labels` (N of them), and its
/// gradient with respect to the logits.
///
/// Forward: `pₙ = softmax(zₙ)`, `loss = −(1/N)·Σₙ ln pₙ[yₙ]`.
/// Backward: `∂loss/∂zₙₖ = (pₙₖ − [k = yₙ]) / N` — "probability minus one-hot", the reason softmax
/// and cross-entropy are always paired.
pub fn softmax_cross_entropy(logits: &Tensor, labels: &[usize]) -> (f32, Tensor) {
    let (n, k) = (logits.dim(0), logits.dim(1));
    assert_eq!(
        n,
        labels.len(),
        "softmax_cross_entropy: logits {:?} but {} labels",
        logits.shape(),
        labels.len()
    );
    let mut gradient = Tensor::zeros(&[n, k]);
    let mut total = 0.0f64;
    for (i, (&label, row)) in labels.iter().zip(logits.data().chunks_exact(k)).enumerate() {
        // Subtracting the largest logit changes nothing mathematically and keeps exp() from
        // overflowing.
        let largest = row.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v));
        let exps: Vec<f64> = row.iter().map(|&z| f64::from(z - largest).exp()).collect();
        let sum: f64 = exps.iter().sum();
        total -= (exps[label] / sum).ln();
        for (c, g) in gradient.row_mut(i).iter_mut().enumerate() {
            let one_hot = if c == label { 1.0 } else { 0.0 };
            *g = ((exps[c] / sum - one_hot) / n as f64) as f32;
        }
    }
    ((total / n as f64) as f32, gradient)
}

/// The share of rows whose largest logit is the label.
pub fn accuracy(logits: &Tensor, labels: &[usize]) -> f32 {
    let correct = logits
        .argmax_rows()
        .iter()
        .zip(labels)
        .filter(|(predicted, label)| predicted == label)
        .count();
    correct as f32 / labels.len() as f32
}

/// `y[n, :] += bias` for every row n of `y`, `[N, B]`.
fn add_bias(y: &mut Tensor, bias: &Tensor) {
    let b = bias.len();
    for row in y.data_mut().chunks_exact_mut(b) {
        for (v, &bi) in row.iter_mut().zip(bias.data()) {
            *v += bi;
        }
    }
}

/// Anything that scores points: `[N, F]` in, logits `[N, K]` out.
pub trait Classifier {
    /// The logits of each point.
    fn logits(&self, x: &Tensor) -> Tensor;
    /// A one-line description, e.g. `linear (6 parameters)`.
    fn describe(&self) -> String;
}

/// One step of gradient descent with momentum on one parameter tensor:
/// `v ← μ·v − η·g`, `p ← p + v`. Momentum lets the steps build up speed along directions the gradient
/// keeps pointing to, which shortens training a lot on these problems.
fn momentum_step(param: &mut Tensor, grad: &Tensor, velocity: &mut Tensor, settings: &Settings) {
    for ((p, &g), v) in param
        .data_mut()
        .iter_mut()
        .zip(grad.data())
        .zip(velocity.data_mut())
    {
        *v = settings.momentum * *v - settings.learning_rate * g;
        *p += *v;
    }
}

/// How the models are trained: full-batch gradient descent with momentum.
#[derive(Clone, Copy, Debug)]
pub struct Settings {
    /// Gradient-descent steps (each uses every training point).
    pub steps: usize,
    /// The step size η.
    pub learning_rate: f32,
    /// The momentum μ.
    pub momentum: f32,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            steps: 4000,
            learning_rate: 0.2,
            momentum: 0.9,
        }
    }
}

// ---------------------------------------------------------------------------------------------------
// Model 1: a linear classifier (softmax regression) on the raw coordinates.
// ---------------------------------------------------------------------------------------------------

/// Softmax regression: `logits = X·Wᵀ + b`, with `W` `[K, F]` and `b` `[K]` (PyTorch's layout).
/// The boundary between two classes is where their logits are equal: a straight line.
pub struct LinearClassifier {
    /// `W`, `[K, F]`.
    pub weight: Tensor,
    /// `b`, `[K]`.
    pub bias: Tensor,
}

impl LinearClassifier {
    /// Starts from zero (a linear model's loss is convex, so any start reaches the same optimum).
    pub fn new() -> LinearClassifier {
        LinearClassifier {
            weight: Tensor::zeros(&[K, F]),
            bias: Tensor::zeros(&[K]),
        }
    }

    /// The backward pass: from `G = ∂loss/∂logits`, `[N, K]`, to the parameter gradients
    /// `(∂loss/∂W, ∂loss/∂b)`:
    /// ```text
    /// ∂loss/∂W = Gᵀ·X     [K, F]   (logits = X·Wᵀ + b)
    /// ∂loss/∂b = Σₙ Gₙ    [K]
    /// ```
    pub fn backward(&self, x: &Tensor, grad_logits: &Tensor) -> (Tensor, Tensor) {
        let n = x.dim(0);
        let mut grad_w = Tensor::zeros(&[K, F]);
        gemm_tn(
            K,
            F,
            n,
            grad_logits.data(),
            x.data(),
            grad_w.data_mut(),
            0.0,
        );
        (grad_w, grad_logits.sum_rows())
    }

    /// Trains on `set` and returns the loss after each step.
    pub fn train(
        &mut self,
        set: &ToySet,
        settings: &Settings,
        progress: &mut Progress,
    ) -> Vec<f32> {
        let x = &set.points;
        let mut velocity_w = self.weight.zeros_like();
        let mut velocity_b = self.bias.zeros_like();
        let mut losses = Vec::with_capacity(settings.steps);
        for _ in 0..settings.steps {
            let logits = self.logits(x);
            let (loss, grad_logits) = softmax_cross_entropy(&logits, &set.labels);
            let (grad_w, grad_b) = self.backward(x, &grad_logits);
            momentum_step(&mut self.weight, &grad_w, &mut velocity_w, settings);
            momentum_step(&mut self.bias, &grad_b, &mut velocity_b, settings);
            losses.push(loss);
            progress.advance(1);
        }
        losses
    }
}

impl Default for LinearClassifier {
    fn default() -> LinearClassifier {
        LinearClassifier::new()
    }
}

impl Classifier for LinearClassifier {
    fn logits(&self, x: &Tensor) -> Tensor {
        let n = x.dim(0);
        let mut logits = Tensor::zeros(&[n, K]);
        gemm_nt(
            n,
            K,
            F,
            x.data(),
            self.weight.data(),
            logits.data_mut(),
            0.0,
        );
        add_bias(&mut logits, &self.bias);
        logits
    }

    fn describe(&self) -> String {
        format!(
            "linear, softmax regression ({} parameters)",
            self.weight.len() + self.bias.len()
        )
    }
}

// ---------------------------------------------------------------------------------------------------
// Model 2: a network with one hidden layer, forward and backward written out.
// ---------------------------------------------------------------------------------------------------

/// A two-layer network: `X → Linear(F, H) → tanh → Linear(H, K) → logits`.
///
/// Forward, for a batch `X`, `[N, F]`:
/// ```text
/// Z₁ = X·W₁ᵀ + b₁      [N, H]   (W₁ [H, F], b₁ [H])
/// A  = tanh(Z₁)        [N, H]   the features the network learns
/// Z₂ = A·W₂ᵀ + b₂      [N, K]   (W₂ [K, H], b₂ [K])  — a linear classifier on the learned features
/// ```
/// The hidden layer is the whole point: each unit computes `tanh(w·x + b)`, a soft step across some
/// line in the plane; the output layer adds such steps up, and their sum can bend around a circle or
/// follow a spiral. Training chooses the lines — the features — by gradient descent.
pub struct TwoLayerNet {
    /// `W₁`, `[H, F]`.
    pub w1: Tensor,
    /// `b₁`, `[H]`.
    pub b1: Tensor,
    /// `W₂`, `[K, H]`.
    pub w2: Tensor,
    /// `b₂`, `[K]`.
    pub b2: Tensor,
}

/// What the forward pass keeps for the backward pass.
pub struct Cache {
    /// The hidden activations `A = tanh(Z₁)`, `[N, H]` (tanh′ is computed from them: `1 − A²`).
    pub hidden: Tensor,
    /// The logits `Z₂`, `[N, K]`.
    pub logits: Tensor,
}

/// The gradients of the loss with respect to every parameter of a [`TwoLayerNet`].
pub struct Gradients {
    /// `∂loss/∂W₁`, `[H, F]`.
    pub w1: Tensor,
    /// `∂loss/∂b₁`, `[H]`.
    pub b1: Tensor,
    /// `∂loss/∂W₂`, `[K, H]`.
    pub w2: Tensor,
    /// `∂loss/∂b₂`, `[K]`.
    pub b2: Tensor,
}

impl TwoLayerNet {
    /// Random weights: `W₁ ~ N(0, 2²)` so that the hidden units' lines cut through the data at varied
    /// angles and offsets (inputs are in [−1, 1]), `b₁ ~ N(0, 1)`, and `W₂ ~ N(0, 1/H)` (Xavier/LeCun
    /// scale: the output starts small whatever H is).
    pub fn new(hidden: usize, rng: &mut Rng) -> TwoLayerNet {
        TwoLayerNet {
            w1: Tensor::randn(&[hidden, F], 0.0, 2.0, rng),
            b1: Tensor::randn(&[hidden], 0.0, 1.0, rng),
            w2: Tensor::randn(&[K, hidden], 0.0, 1.0 / (hidden as f32).sqrt(), rng),
            b2: Tensor::zeros(&[K]),
        }
    }

    /// The number of hidden units H.
    pub fn hidden(&self) -> usize {
        self.w1.dim(0)
    }

    /// The forward pass (see the type's docs), keeping what backward needs.
    pub fn forward(&self, x: &Tensor) -> Cache {
        let (n, h) = (x.dim(0), self.hidden());
        let mut z1 = Tensor::zeros(&[n, h]);
        gemm_nt(n, h, F, x.data(), self.w1.data(), z1.data_mut(), 0.0);
        add_bias(&mut z1, &self.b1);
        let hidden = z1.map(f32::tanh);
        let mut logits = Tensor::zeros(&[n, K]);
        gemm_nt(
            n,
            K,
            h,
            hidden.data(),
            self.w2.data(),
            logits.data_mut(),
            0.0,
        );
        add_bias(&mut logits, &self.b2);
        Cache { hidden, logits }
    }

    /// The backward pass: from `G = ∂loss/∂Z₂`, `[N, K]`, to the gradient of every parameter, by the
    /// chain rule, layer by layer from the output back to the input:
    /// ```text
    /// ∂loss/∂W₂ = Gᵀ·A                 [K, H]   (Z₂ = A·W₂ᵀ + b₂)
    /// ∂loss/∂b₂ = Σₙ Gₙ                [K]
    /// ∂loss/∂A  = G·W₂                 [N, H]
    /// ∂loss/∂Z₁ = ∂loss/∂A ⊙ (1 − A²)  [N, H]   (tanh′(z) = 1 − tanh(z)²)
    /// ∂loss/∂W₁ = (∂loss/∂Z₁)ᵀ·X       [H, F]   (Z₁ = X·W₁ᵀ + b₁)
    /// ∂loss/∂b₁ = Σₙ (∂loss/∂Z₁)ₙ      [H]
    /// ```
    pub fn backward(&self, x: &Tensor, cache: &Cache, grad_logits: &Tensor) -> Gradients {
        let (n, h) = (x.dim(0), self.hidden());
        let mut w2 = Tensor::zeros(&[K, h]);
        gemm_tn(
            K,
            h,
            n,
            grad_logits.data(),
            cache.hidden.data(),
            w2.data_mut(),
            0.0,
        );
        let b2 = grad_logits.sum_rows();
        let mut grad_hidden = Tensor::zeros(&[n, h]);
        gemm_nn(
            n,
            h,
            K,
            grad_logits.data(),
            self.w2.data(),
            grad_hidden.data_mut(),
            0.0,
        );
        let grad_z1 = grad_hidden.zip_map(&cache.hidden, |g, a| g * (1.0 - a * a));
        let mut w1 = Tensor::zeros(&[h, F]);
        gemm_tn(h, F, n, grad_z1.data(), x.data(), w1.data_mut(), 0.0);
        let b1 = grad_z1.sum_rows();
        Gradients { w1, b1, w2, b2 }
    }

    /// Trains on `set` and returns the loss after each step.
    pub fn train(
        &mut self,
        set: &ToySet,
        settings: &Settings,
        progress: &mut Progress,
    ) -> Vec<f32> {
        let x = &set.points;
        let mut velocity = [
            self.w1.zeros_like(),
            self.b1.zeros_like(),
            self.w2.zeros_like(),
            self.b2.zeros_like(),
        ];
        let mut losses = Vec::with_capacity(settings.steps);
        for _ in 0..settings.steps {
            let cache = self.forward(x);
            let (loss, grad_logits) = softmax_cross_entropy(&cache.logits, &set.labels);
            let grads = self.backward(x, &cache, &grad_logits);
            let [v_w1, v_b1, v_w2, v_b2] = &mut velocity;
            momentum_step(&mut self.w1, &grads.w1, v_w1, settings);
            momentum_step(&mut self.b1, &grads.b1, v_b1, settings);
            momentum_step(&mut self.w2, &grads.w2, v_w2, settings);
            momentum_step(&mut self.b2, &grads.b2, v_b2, settings);
            losses.push(loss);
            progress.advance(1);
        }
        losses
    }
}

impl Classifier for TwoLayerNet {
    fn logits(&self, x: &Tensor) -> Tensor {
        self.forward(x).logits
    }

    fn describe(&self) -> String {
        let count = self.w1.len() + self.b1.len() + self.w2.len() + self.b2.len();
        format!(
            "hidden layer {F}-{}-{K}, tanh ({count} parameters)",
            self.hidden()
        )
    }
}

// ---------------------------------------------------------------------------------------------------
// Drawing decision regions.
// ---------------------------------------------------------------------------------------------------

/// The square `[low, high]²` that holds every point of the set, with a margin.
fn plot_range(set: &ToySet) -> (f32, f32) {
    let largest = set.points.data().iter().fold(0.0f32, |m, v| m.max(v.abs()));
    let half = largest * 1.1;
    (-half, half)
}

/// The class the model predicts at every cell centre of a `columns × rows` grid over the square
/// `[low, high]²`; row 0 is the top (largest y).
fn predict_grid(
    model: &dyn Classifier,
    range: (f32, f32),
    columns: usize,
    rows: usize,
) -> Vec<usize> {
    let (low, high) = range;
    let mut grid = Vec::with_capacity(2 * columns * rows);
    for r in 0..rows {
        let y = high - (r as f32 + 0.5) / rows as f32 * (high - low);
        for c in 0..columns {
            let x = low + (c as f32 + 0.5) / columns as f32 * (high - low);
            grid.push(x);
            grid.push(y);
        }
    }
    let grid = Tensor::from_vec(&[columns * rows, F], grid);
    model.logits(&grid).argmax_rows()
}

/// The cell `(column, row)` of a grid over `range` that contains the point (x, y).
fn cell_of(x: f32, y: f32, range: (f32, f32), columns: usize, rows: usize) -> (usize, usize) {
    let (low, high) = range;
    let fx = ((x - low) / (high - low)).clamp(0.0, 0.999_999);
    let fy = ((high - y) / (high - low)).clamp(0.0, 0.999_999);
    ((fx * columns as f32) as usize, (fy * rows as f32) as usize)
}

/// Decision regions as characters: `.` where the model says class 0, blank where it says class 1;
/// training points drawn over them as `o` (class 0) and `x` (class 1). A point in the wrong region is
/// a mistake.
fn terminal_regions(
    model: &dyn Classifier,
    set: &ToySet,
    columns: usize,
    rows: usize,
) -> Vec<String> {
    let range = plot_range(set);
    let predicted = predict_grid(model, range, columns, rows);
    let mut cells: Vec<char> = predicted
        .iter()
        .map(|&class| if class == 0 { '.' } else { ' ' })
        .collect();
    for (point, &label) in set.points.data().chunks_exact(F).zip(&set.labels) {
        let (c, r) = cell_of(point[0], point[1], range, columns, rows);
        cells[r * columns + c] = if label == 0 { 'o' } else { 'x' };
    }
    cells
        .chunks_exact(columns)
        .map(|row| row.iter().collect())
        .collect()
}

/// Light colours for the two regions and strong ones for the points (Okabe–Ito blue and vermillion).
const REGION_RGB: [[u8; 3]; K] = [[198, 219, 239], [250, 214, 190]];
const POINT_RGB: [[u8; 3]; K] = [[0, 114, 178], [213, 94, 0]];

/// One PNG with the models' decision regions side by side (`size` pixels square each, 8 pixels
/// apart), training points as 3×3 dots.
fn regions_png(models: &[&dyn Classifier], set: &ToySet, size: usize) -> (usize, usize, Vec<u8>) {
    let gap = 8;
    let width = models.len() * size + (models.len() - 1) * gap;
    let mut rgb = vec![255u8; width * size * 3];
    let range = plot_range(set);
    for (m, model) in models.iter().enumerate() {
        let left = m * (size + gap);
        let predicted = predict_grid(*model, range, size, size);
        for r in 0..size {
            for c in 0..size {
                let at = (r * width + left + c) * 3;
                rgb[at..at + 3].copy_from_slice(&REGION_RGB[predicted[r * size + c]]);
            }
        }
        for (point, &label) in set.points.data().chunks_exact(F).zip(&set.labels) {
            let (c, r) = cell_of(point[0], point[1], range, size, size);
            for dr in 0..3 {
                for dc in 0..3 {
                    let (rr, cc) = ((r + dr).saturating_sub(1), (c + dc).saturating_sub(1));
                    if rr < size && cc < size {
                        let at = (rr * width + left + cc) * 3;
                        rgb[at..at + 3].copy_from_slice(&POINT_RGB[label]);
                    }
                }
            }
        }
    }
    (width, size, rgb)
}

/// One SVG with the models' decision regions side by side: a `cells × cells` grid of coloured
/// squares per model, the training points as dots, and a caption (one or more lines) above each.
fn regions_svg(models: &[(&dyn Classifier, String)], set: &ToySet, title: &str) -> Svg {
    let (panel, gap, top, cells) = (320.0, 30.0, 76.0, 80);
    let width = models.len() as f64 * (panel + gap) + gap;
    let mut svg = Svg::new(width, panel + top + 20.0);
    svg.text(width / 2.0, 24.0, 16.0, "middle", 0.0, title);
    let range = plot_range(set);
    let cell = panel / cells as f64;
    let region = ["#c6dbef", "#fad6be"];
    for (m, (model, caption)) in models.iter().enumerate() {
        let left = gap + m as f64 * (panel + gap);
        for (line, text) in caption.lines().enumerate() {
            let y = top - 26.0 + 15.0 * line as f64;
            svg.text(left + panel / 2.0, y, 12.0, "middle", 0.0, text);
        }
        let predicted = predict_grid(*model, range, cells, cells);
        // One rectangle per run of equal predictions along a row (far fewer elements than one per
        // cell), slightly oversized so that no hairline gaps show between neighbours.
        for (r, row) in predicted.chunks_exact(cells).enumerate() {
            let mut start = 0;
            for c in 1..=cells {
                if c == cells || row[c] != row[start] {
                    let (x, y) = (left + start as f64 * cell, top + r as f64 * cell);
                    let run = (c - start) as f64 * cell;
                    svg.rect(x, y, run + 0.3, cell + 0.3, region[row[start]], None);
                    start = c;
                }
            }
        }
        let (low, high) = (f64::from(range.0), f64::from(range.1));
        for (point, &label) in set.points.data().chunks_exact(F).zip(&set.labels) {
            let x = left + (f64::from(point[0]) - low) / (high - low) * panel;
            let y = top + (high - f64::from(point[1])) / (high - low) * panel;
            svg.circle(x, y, 2.2, PALETTE[label]);
        }
        svg.rect(left, top, panel, panel, "none", Some("black"));
    }
    svg
}

// ---------------------------------------------------------------------------------------------------
// The chapter.
// ---------------------------------------------------------------------------------------------------

/// The result of training both models on one toy set.
pub struct Comparison {
    /// The toy set's name.
    pub name: &'static str,
    /// The linear classifier after training.
    pub linear: LinearClassifier,
    /// The two-layer network after training.
    pub network: TwoLayerNet,
    /// Training accuracy of the linear classifier and of the network.
    pub train_accuracy: [f32; 2],
    /// Accuracy on a fresh set from the same generator (other seed): linear, network.
    pub test_accuracy: [f32; 2],
    /// Final training loss: linear, network.
    pub final_loss: [f32; 2],
}

/// Trains both models on `train` and measures them on `test`.
pub fn compare_models(
    name: &'static str,
    train: &ToySet,
    test: &ToySet,
    hidden: usize,
    settings: &Settings,
    rng: &mut Rng,
) -> Comparison {
    let mut progress = Progress::new(&format!("{name}: training"), 2 * settings.steps);
    let mut linear = LinearClassifier::new();
    let linear_losses = linear.train(train, settings, &mut progress);
    let mut network = TwoLayerNet::new(hidden, rng);
    let network_losses = network.train(train, settings, &mut progress);
    progress.finish();
    let last = |losses: &[f32]| losses.last().copied().unwrap_or(f32::NAN);
    Comparison {
        name,
        train_accuracy: [
            accuracy(&linear.logits(&train.points), &train.labels),
            accuracy(&network.logits(&train.points), &train.labels),
        ],
        test_accuracy: [
            accuracy(&linear.logits(&test.points), &test.labels),
            accuracy(&network.logits(&test.points), &test.labels),
        ],
        final_loss: [last(&linear_losses), last(&network_losses)],
        linear,
        network,
    }
}

fn percent(value: f32) -> String {
    format!("{:.1}%", 100.0 * value)
}

/// The chapter itself.
pub fn run(args: &Args) -> Result<()> {
    let quick = args.flag("quick");
    let points: usize = args
        .get_opt("points")?
        .unwrap_or(if quick { 300 } else { 600 });
    let steps: usize = args
        .get_opt("steps")?
        .unwrap_or(if quick { 1500 } else { 4000 });
    let hidden: usize = args.get("hidden")?;
    let seed: u64 = args.get("seed")?;
    if points < 2 || hidden == 0 || steps == 0 {
        return Err(dlfs::Error::usage(format!(
            "--points must be at least 2, --hidden and --steps at least 1 \
             (got {points}, {hidden} and {steps})"
        )));
    }
    // What the flags ask for, checked before anything is allocated (a usage error past the limit).
    let mut plan = app::MemoryPlan::new();
    plan.add(
        "--points",
        points,
        "the four toy sets (x, y and a label per point)",
        app::f32_bytes(&[4, points, 3]),
    )?;
    plan.add(
        "--hidden",
        hidden,
        "the hidden layer's activations and gradients",
        app::f32_bytes(&[4, points, hidden]),
    )?;
    plan.add(
        "--steps",
        steps,
        "the loss curves (a value per step and model)",
        app::f32_bytes(&[4, steps]),
    )?;
    let out = app::out_dir(args)?;
    let settings = Settings {
        steps,
        ..Settings::default()
    };

    println!("# 1. 深度学习简介 — what deep learning is\n");
    println!(
        "Deep learning is machine learning with many layers of non-linear transformations, which\n\
         learn a representation of the data — the features — from the data itself.\n"
    );
    println!("How it differs from classic machine learning (the tutorial's four points):");
    println!("  1. features are learned, not designed by hand   ← this chapter shows this one");
    println!("  2. it keeps improving with more data, where classic models level off");
    println!("  3. it needs far more computation (hence GPUs; chapter 15)");
    println!("  4. its models are deeper, with many more parameters");
    println!(
        "Where it is used: vision, language, speech, recommendation, self-driving cars, health, finance.\n"
    );

    println!("## Features learned, not hand-made\n");
    println!(
        "Two toy problems whose classes no straight line separates. Both models see only the raw\n\
         coordinates (x, y) and train the same way: {} full-batch steps of gradient descent,\n\
         learning rate {}, momentum {}, softmax cross-entropy. {points} training points, {points}\n\
         test points from another seed.\n",
        settings.steps, settings.learning_rate, settings.momentum
    );

    let mut rng = Rng::new(seed);
    let sets: [(&'static str, ToySet, ToySet); 2] = [
        (
            "circles",
            toy::circles(points, 0.08, &mut rng),
            toy::circles(points, 0.08, &mut rng),
        ),
        (
            "spirals",
            toy::two_spirals(points, 1.5, 0.03, &mut rng),
            toy::two_spirals(points, 1.5, 0.03, &mut rng),
        ),
    ];
    let mut table = Table::new(&[
        "toy set",
        "linear: train",
        "linear: test",
        "hidden layer: train",
        "hidden layer: test",
    ]);
    let mut written = Vec::new();
    for (name, train, test) in &sets {
        let result = compare_models(name, train, test, hidden, &settings, &mut rng);
        println!(
            "### {name}: final training loss {:.3} (linear) vs {:.3} (hidden layer)\n",
            result.final_loss[0], result.final_loss[1]
        );
        let left = terminal_regions(&result.linear, train, 36, 18);
        let right = terminal_regions(&result.network, train, 36, 18);
        let left_title = format!("linear: {}", percent(result.train_accuracy[0]));
        println!(
            "{left_title:<38}hidden layer: {}",
            percent(result.train_accuracy[1])
        );
        for (l, r) in left.iter().zip(&right) {
            println!("|{l}|  |{r}|");
        }
        println!(
            "(. = predicted class 0, blank = class 1; o, x = training points of class 0, 1)\n"
        );

        let models: [&dyn Classifier; 2] = [&result.linear, &result.network];
        let (width, height, rgb) = regions_png(&models, train, 240);
        let png_path = out.join(format!("{name}_regions.png"));
        png::save_rgb(&png_path, width, height, &rgb)?;
        let caption = |model: &dyn Classifier, index: usize| {
            format!(
                "{}\naccuracy: train {}, test {}",
                model.describe(),
                percent(result.train_accuracy[index]),
                percent(result.test_accuracy[index])
            )
        };
        let captions = [caption(&result.linear, 0), caption(&result.network, 1)];
        let svg_path = out.join(format!("{name}_regions.svg"));
        regions_svg(
            &[
                (&result.linear, captions[0].clone()),
                (&result.network, captions[1].clone()),
            ],
            train,
            &format!("{name}: decision regions (blue = class 0, orange = class 1)"),
        )
        .save(&svg_path)?;
        written.push(png_path);
        written.push(svg_path);
        table.row(&[
            name.to_string(),
            percent(result.train_accuracy[0]),
            percent(result.test_accuracy[0]),
            percent(result.train_accuracy[1]),
            percent(result.test_accuracy[1]),
        ]);
    }

    println!("## Accuracy, side by side\n");
    print!("{}", table.render());
    println!(
        "\nThe linear model can only draw one straight boundary: at chance (50%) on the circles, and\n\
         only a little better on the spirals, where a straight cut catches more of one arm than the other.\n\
         The hidden layer learns {hidden} features of its own — soft steps across lines it chooses —\n\
         and combines them into a curved boundary. Nobody designed those features: that is the\n\
         first difference the tutorial names.\n"
    );
    for path in &written {
        println!("wrote {}", path.display());
    }
    Ok(())
}

fn main() {
    app::main_for(command(), run);
}
