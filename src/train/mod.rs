//! Training loops (chapters 5, 7, 12–14): [`fit`] a model to a dataset over epochs of shuffled
//! mini-batches, [`evaluate`] it, [`predict`] with it.
//!
//! The model is any `&mut dyn Layer` (a [`crate::nn::Sequential`] or a hand-written network), the
//! loss any `&dyn Loss`, the optimizer any `&mut dyn Optimizer`, the data any [`Dataset`] (e.g. a
//! [`TensorDataset`] over two tensors). One training step ([`train_step`]) is the five lines every
//! deep-learning framework runs:
//!
//! ```text
//! zero_grad → forward (Mode::Train) → loss and ∂loss/∂output → backward → optimizer step
//! ```
//!
//! [`fit`] adds what a real run needs around it: an epoch loop, a new seeded shuffle of the example
//! order every epoch (same seed, same run — for any thread count), batches gathered into reused
//! buffers, an optional learning-rate schedule and gradient clipping, a progress bar, validation after
//! every epoch, and a [`History`] of losses and metrics to print and plot. A loss that becomes NaN or
//! infinite stops training with [`Error::Training`] naming the step, instead of silently producing
//! garbage weights.
//!
//! [`fit`] can also save the run after every epoch and continue a saved run bit for bit
//! ([`FitConfig::checkpoint`], [`FitConfig::resume_from`]; the machinery is in [`resume`]).
//!
//! What it leaves out: early stopping and callbacks during `fit` (write your own loop with
//! [`train_step`] and [`evaluate`] for those — it is short), and data loading in background threads.

mod dataset;
mod history;
mod metrics;
pub mod resume;

pub use dataset::{Batch, Dataset, TensorDataset, copy_rows};
pub use history::{EpochRecord, History};
pub use metrics::{ConfusionMatrix, Metric, accuracy};

use crate::error::{Error, Result};
use crate::loss::Loss;
use crate::nn::{Layer, Mode};
use crate::optim::{LrSchedule, Optimizer, clip_grad_norm};
use crate::probability::Rng;
use crate::report::Progress;
use crate::tensor::Tensor;
use resume::{TrainingProgress, TrainingRun};
use std::time::Instant;

/// The settings of a [`fit`] run. Build with [`FitConfig::new`] and the chained setters.
///
/// ```
/// use dlfs::train::{FitConfig, Metric};
/// let config = FitConfig::new(10, 64).seed(1).metric(Metric::Accuracy);
/// assert_eq!((config.epochs, config.batch_size, config.shuffle), (10, 64, true));
/// ```
#[derive(Clone)]
pub struct FitConfig<'a> {
    /// Passes over the training data.
    pub epochs: usize,
    /// Examples per mini-batch (the last batch of an epoch may be smaller).
    pub batch_size: usize,
    /// Whether to visit the examples in a new random order every epoch (default true).
    pub shuffle: bool,
    /// Seed of the shuffling generator.
    pub seed: u64,
    /// The metric reported next to the loss.
    pub metric: Metric,
    /// Data evaluated after every epoch (in [`Mode::Inference`]).
    pub validation: Option<&'a dyn Dataset>,
    /// Clip the global gradient norm to this value before every step.
    pub clip_grad_norm: Option<f32>,
    /// A learning-rate schedule applied before every epoch (t = epoch index from 0), relative to the
    /// optimizer's learning rate when `fit` starts.
    pub schedule: Option<&'a dyn LrSchedule>,
    /// The progress bar's label; `None` draws no bar.
    pub progress_label: Option<String>,
    /// Print one line per epoch to standard output.
    pub verbose: bool,
    /// Save the run here after every epoch (model, optimizer, shuffling, history; see [`resume`]).
    pub checkpoint: Option<&'a TrainingRun>,
    /// Continue a saved run from this progress (from [`resume::SavedRun::restore`], which has put
    /// the weights and the optimizer's state back): epochs `epochs_done + 1 ..= epochs` are run.
    pub resume_from: Option<&'a TrainingProgress>,
}

impl<'a> FitConfig<'a> {
    /// `epochs` passes in batches of `batch_size`, shuffled with seed 0, no metric, a progress bar.
    pub fn new(epochs: usize, batch_size: usize) -> FitConfig<'a> {
        FitConfig {
            epochs,
            batch_size,
            shuffle: true,
            seed: 0,
            metric: Metric::None,
            validation: None,
            clip_grad_norm: None,
            schedule: None,
            progress_label: Some("training".to_string()),
            verbose: false,
            checkpoint: None,
            resume_from: None,
        }
    }

    /// Sets whether to shuffle every epoch.
    pub fn shuffle(mut self, shuffle: bool) -> FitConfig<'a> {
        self.shuffle = shuffle;
        self
    }

    /// Sets the shuffling seed.
    pub fn seed(mut self, seed: u64) -> FitConfig<'a> {
        self.seed = seed;
        self
    }

    /// Sets the metric.
    pub fn metric(mut self, metric: Metric) -> FitConfig<'a> {
        self.metric = metric;
        self
    }

    /// Evaluates on `data` after every epoch.
    pub fn validation(mut self, data: &'a dyn Dataset) -> FitConfig<'a> {
        self.validation = Some(data);
        self
    }

    /// Clips the global gradient norm to `max_norm` before every step.
    pub fn clip_grad_norm(mut self, max_norm: f32) -> FitConfig<'a> {
        self.clip_grad_norm = Some(max_norm);
        self
    }

    /// Applies `schedule` before every epoch.
    pub fn schedule(mut self, schedule: &'a dyn LrSchedule) -> FitConfig<'a> {
        self.schedule = Some(schedule);
        self
    }

    /// Labels the progress bar (`None`: no bar).
    pub fn progress(mut self, label: Option<&str>) -> FitConfig<'a> {
        self.progress_label = label.map(str::to_string);
        self
    }

    /// Prints one line per epoch.
    pub fn verbose(mut self, verbose: bool) -> FitConfig<'a> {
        self.verbose = verbose;
        self
    }

    /// Saves the run in `run` after every epoch.
    pub fn checkpoint(mut self, run: &'a TrainingRun) -> FitConfig<'a> {
        self.checkpoint = Some(run);
        self
    }

    /// Continues from a saved run's `progress` (see [`FitConfig::resume_from`]).
    pub fn resume_from(mut self, progress: &'a TrainingProgress) -> FitConfig<'a> {
        self.resume_from = Some(progress);
        self
    }
}

/// The model's output and the loss of one training step.
struct StepOutcome {
    loss: f32,
    output: Tensor,
}

/// The core of a training step; `context()` is added to error messages (e.g. `epoch 2, batch 7`) and
/// only formatted when there is an error.
fn step_with_output(
    model: &mut dyn Layer,
    optimizer: &mut dyn Optimizer,
    loss: &dyn Loss,
    inputs: &Tensor,
    targets: &Tensor,
    clip: Option<f32>,
    context: &dyn Fn() -> String,
) -> Result<StepOutcome> {
    optimizer.zero_grad(model);
    let output = model.forward(inputs, Mode::Train);
    loss.check(&output, targets).map_err(|e| match e {
        Error::Data(message) => Error::data(format!("{}: {message}", context())),
        other => other,
    })?;
    let computed = loss.compute(&output, targets);
    let step = optimizer.steps_taken() + 1;
    if !computed.value.is_finite() {
        return Err(Error::Training {
            step,
            message: format!(
                "the loss became {} ({}, learning rate {}). The updates grew too large or the \
                 data hold NaN/huge values: try a smaller learning rate (e.g. {}), gradient \
                 clipping, or inputs scaled to about [-1, 1]",
                computed.value,
                context(),
                crate::report::readable_number(f64::from(optimizer.learning_rate())),
                crate::report::readable_number(f64::from(optimizer.learning_rate()) / 10.0)
            ),
        });
    }
    model.backward(&computed.grad);
    if let Some(max_norm) = clip {
        clip_grad_norm(model, max_norm);
    }
    optimizer.step(model);
    Ok(StepOutcome {
        loss: computed.value,
        output,
    })
}

/// One optimisation step on one batch: zero the gradients, forward in [`Mode::Train`], loss and its
/// gradient, backward, (clip), optimizer step. Returns the batch's loss (before the step).
///
/// Errors: [`Error::Data`] when the targets do not fit the output (see [`Loss::check`]);
/// [`Error::Training`] when the loss is NaN or infinite (the step is not taken).
pub fn train_step(
    model: &mut dyn Layer,
    optimizer: &mut dyn Optimizer,
    loss: &dyn Loss,
    inputs: &Tensor,
    targets: &Tensor,
    clip: Option<f32>,
) -> Result<f32> {
    let step = optimizer.steps_taken() + 1;
    let context = || format!("step {step}");
    step_with_output(model, optimizer, loss, inputs, targets, clip, &context).map(|s| s.loss)
}

/// Trains `model` on `data` as `config` says and returns the per-epoch [`History`].
///
/// Every epoch: apply the schedule (if any), shuffle the example order (if `config.shuffle`), run
/// [`train_step`] on each mini-batch, then evaluate on the validation data (if any), then save the
/// run (with [`FitConfig::checkpoint`]). The epoch's loss is the mean of its batch losses weighted by
/// batch size. With [`FitConfig::resume_from`], the shuffling generator, the example order, the
/// schedule's base rate and the history continue from the saved progress; the returned history
/// holds every epoch, the saved ones included.
///
/// Errors: a batch size of 0 ([`Error::Usage`]), empty data or targets that do not fit the model's
/// output ([`Error::Data`]), a non-finite loss ([`Error::Training`], naming the step, epoch and batch).
pub fn fit(
    model: &mut dyn Layer,
    optimizer: &mut dyn Optimizer,
    loss: &dyn Loss,
    data: &dyn Dataset,
    config: &FitConfig<'_>,
) -> Result<History> {
    if config.batch_size == 0 {
        return Err(Error::usage("the batch size must be at least 1"));
    }
    let n = data.len();
    if n == 0 {
        return Err(Error::data(
            "fit: the training data hold no examples (check the file and any --limit)",
        ));
    }
    let batches_per_epoch = n.div_ceil(config.batch_size);
    let (first_epoch, mut rng, mut order, base_learning_rate, mut history) =
        match config.resume_from {
            Some(saved) => (
                saved.epochs_done,
                saved.rng("shuffle")?,
                saved.order("shuffle", n)?,
                saved.base_learning_rate,
                saved.history.clone(),
            ),
            None => (
                0,
                Rng::new(config.seed),
                (0..n).collect(),
                optimizer.learning_rate(),
                History {
                    // Not `config.epochs`: a huge epoch count must not reserve memory up front.
                    epochs: Vec::with_capacity(config.epochs.min(1024)),
                    metric_name: config.metric.name().to_string(),
                },
            ),
        };
    let mut progress = match &config.progress_label {
        Some(label) => Progress::new(
            label,
            config.epochs.saturating_sub(first_epoch) * batches_per_epoch,
        ),
        None => Progress::hidden(),
    };
    let mut batch = Batch::new();

    for epoch in first_epoch..config.epochs {
        let started = Instant::now();
        if let Some(schedule) = config.schedule {
            schedule.apply(optimizer, base_learning_rate, epoch);
        }
        if config.shuffle {
            rng.shuffle(&mut order);
        }
        let mut loss_sum = 0.0f64;
        let mut metric_total: Option<(f64, usize)> = None;
        for (b, indices) in order.chunks(config.batch_size).enumerate() {
            let (inputs, targets) = batch.load(data, indices);
            let context = || {
                format!(
                    "epoch {}, batch {} of {batches_per_epoch} (dataset examples {})",
                    epoch + 1,
                    b + 1,
                    list_examples(indices)
                )
            };
            let outcome = step_with_output(
                model,
                optimizer,
                loss,
                &inputs,
                &targets,
                config.clip_grad_norm,
                &context,
            )?;
            loss_sum += f64::from(outcome.loss) * indices.len() as f64;
            if let Some((sum, count)) = config.metric.batch_total(&outcome.output, &targets) {
                let total = metric_total.get_or_insert((0.0, 0));
                total.0 += sum;
                total.1 += count;
            }
            batch.recycle(inputs, targets);
            progress.advance(1);
            progress.set_message(format!(
                "epoch {}/{} loss {:.4}",
                epoch + 1,
                config.epochs,
                loss_sum / ((b * config.batch_size + indices.len()) as f64)
            ));
        }
        let validation = match config.validation {
            Some(v) => Some(evaluate(model, loss, v, config.batch_size, config.metric)?),
            None => None,
        };
        let record = EpochRecord {
            epoch: epoch + 1,
            loss: (loss_sum / n as f64) as f32,
            metric: metric_total.map(|(sum, count)| (sum / count.max(1) as f64) as f32),
            validation_loss: validation.as_ref().map(|v| v.loss),
            validation_metric: validation.and_then(|v| v.metric),
            learning_rate: optimizer.learning_rate(),
            seconds: started.elapsed().as_secs_f64(),
        };
        if config.verbose {
            println!("{}", describe_epoch(&record, config, &history.metric_name));
        }
        history.epochs.push(record);
        if let Some(run) = config.checkpoint {
            let mut saved = TrainingProgress::new(base_learning_rate);
            saved.epochs_done = epoch + 1;
            saved.history = history.clone();
            saved.set_rng("shuffle", &rng);
            saved.set_order("shuffle", &order);
            run.save(model, optimizer, &saved)?;
        }
    }
    progress.finish();
    Ok(history)
}

/// The dataset indices of a batch, in batch order (so "target 3" of a batch can be traced to its
/// example), shortened after 12.
fn list_examples(indices: &[usize]) -> String {
    let shown: Vec<String> = indices.iter().take(12).map(|i| i.to_string()).collect();
    let more = if indices.len() > 12 { ", …" } else { "" };
    format!("[{}{more}]", shown.join(", "))
}

/// One line per epoch: `epoch 3/10  loss 0.4123  accuracy 0.8810  val loss 0.4522  (1.3 s)`.
fn describe_epoch(record: &EpochRecord, config: &FitConfig<'_>, metric_name: &str) -> String {
    let mut line = format!(
        "epoch {}/{}  loss {:.4}",
        record.epoch, config.epochs, record.loss
    );
    if let Some(m) = record.metric {
        line.push_str(&format!("  {metric_name} {m:.4}"));
    }
    if let Some(v) = record.validation_loss {
        line.push_str(&format!("  val loss {v:.4}"));
    }
    if let Some(m) = record.validation_metric {
        line.push_str(&format!("  val {metric_name} {m:.4}"));
    }
    line.push_str(&format!("  ({:.1} s)", record.seconds));
    line
}

/// The loss (and metric) of a model on a dataset.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Evaluation {
    /// The mean of the batch losses weighted by batch size (the mean loss per example for a
    /// mean-reduced loss).
    pub loss: f32,
    /// The metric over all examples, if one was asked for.
    pub metric: Option<f32>,
}

/// Evaluates `model` on `data` in [`Mode::Inference`] (no dropout, nothing cached), in batches of
/// `batch_size`, in the dataset's order. A non-finite loss is returned as it is (it is information
/// here, not a reason to stop). Errors: a batch size of 0, empty data, targets that do not fit.
pub fn evaluate(
    model: &mut dyn Layer,
    loss: &dyn Loss,
    data: &dyn Dataset,
    batch_size: usize,
    metric: Metric,
) -> Result<Evaluation> {
    if batch_size == 0 {
        return Err(Error::usage("the batch size must be at least 1"));
    }
    let n = data.len();
    if n == 0 {
        return Err(Error::data("evaluate: the data hold no examples"));
    }
    let order: Vec<usize> = (0..n).collect();
    let mut batch = Batch::new();
    let mut loss_sum = 0.0f64;
    let mut metric_total: Option<(f64, usize)> = None;
    for indices in order.chunks(batch_size) {
        let (inputs, targets) = batch.load(data, indices);
        let output = model.forward(&inputs, Mode::Inference);
        loss.check(&output, &targets)?;
        loss_sum += f64::from(loss.compute(&output, &targets).value) * indices.len() as f64;
        if let Some((sum, count)) = metric.batch_total(&output, &targets) {
            let total = metric_total.get_or_insert((0.0, 0));
            total.0 += sum;
            total.1 += count;
        }
        batch.recycle(inputs, targets);
    }
    Ok(Evaluation {
        loss: (loss_sum / n as f64) as f32,
        metric: metric_total.map(|(sum, count)| (sum / count.max(1) as f64) as f32),
    })
}

/// The model's outputs for every row of `inputs` (`[N, …]`), computed in [`Mode::Inference`] in batches of
/// `batch_size` and stacked into one tensor `[N, …]`. Panics if `batch_size` is 0 or `inputs` is a
/// scalar.
pub fn predict(model: &mut dyn Layer, inputs: &Tensor, batch_size: usize) -> Tensor {
    assert!(batch_size > 0, "predict: the batch size must be at least 1");
    assert!(inputs.ndim() >= 1, "predict: inputs must have a batch axis");
    let n = inputs.dim(0);
    let order: Vec<usize> = (0..n).collect();
    let mut outputs: Vec<f32> = Vec::new();
    let mut output_row_shape: Option<Vec<usize>> = None;
    for indices in order.chunks(batch_size) {
        let y = model.forward(&inputs.select_rows(indices), Mode::Inference);
        output_row_shape.get_or_insert_with(|| y.shape()[1..].to_vec());
        outputs.extend_from_slice(y.data());
    }
    let mut shape = vec![n];
    shape.extend(output_row_shape.unwrap_or_default());
    Tensor::from_vec(&shape, outputs)
}

/// The confusion matrix of a classifier (output `[N, K]`, targets class indices) on `data`, computed
/// in [`Mode::Inference`] in batches of `batch_size`. Panics if `batch_size` is 0.
pub fn confusion_matrix(
    model: &mut dyn Layer,
    data: &dyn Dataset,
    classes: usize,
    batch_size: usize,
) -> ConfusionMatrix {
    assert!(
        batch_size > 0,
        "confusion_matrix: the batch size must be at least 1"
    );
    let order: Vec<usize> = (0..data.len()).collect();
    let mut batch = Batch::new();
    let mut matrix = ConfusionMatrix::new(classes);
    for indices in order.chunks(batch_size) {
        let (inputs, targets) = batch.load(data, indices);
        let output = model.forward(&inputs, Mode::Inference);
        matrix.add_batch(&output, &targets);
        batch.recycle(inputs, targets);
    }
    matrix
}
