//! Cross-entropy on logits with integer class targets: the classification loss of chapters 8, 10, 12.

use super::softmax::softmax_row;
use super::{Loss, LossOutput, Reduction};
use crate::error::{Error, Result};
use crate::parallel;
use crate::tensor::Tensor;

/// Cross-entropy of raw scores (logits) `z` of shape `[N, K]` against class indices `y` (N of them,
/// each in `0..K`), like `nn.CrossEntropyLoss`:
///
/// `Lₙ = −log softmax(zₙ)[yₙ] = logsumexp(zₙ) − zₙ[yₙ]`, `L = r · Σₙ Lₙ` with `r = 1/N` (mean) or 1
/// (sum, and none, which also returns every `Lₙ` as a `[N]` tensor).
///
/// Gradient: `∂L/∂zₙₖ = r · (softmax(zₙ)ₖ − [k = yₙ])` — the predicted probabilities minus the one-hot
/// target, the simplest gradient in deep learning.
///
/// Each term is computed as `Lₙ = ln Σₖ e^{zₙₖ − m} − (zₙ[yₙ] − m)` with m the row's maximum (in f64):
/// the exponentials cannot overflow (logits of ±1000 give a finite loss), and the large m cancels
/// *before* anything is rounded. Rounding `logsumexp = m + ln s` first, then subtracting `zₙ[yₙ]`,
/// loses the digits of `ln s` that do not fit next to a large m in f32 (an error of 10⁻³ at logits
/// near 10⁵). Panics if a target is not in `0..K`.
pub fn cross_entropy(logits: &Tensor, targets: &[usize], reduction: Reduction) -> LossOutput {
    assert_eq!(
        logits.ndim(),
        2,
        "cross_entropy: logits must be [N, K], got shape {:?}",
        logits.shape()
    );
    let (n, k) = (logits.dim(0), logits.dim(1));
    assert_eq!(
        targets.len(),
        n,
        "cross_entropy: {n} rows of logits (shape {:?}) but {} targets",
        logits.shape(),
        targets.len()
    );
    for (row_index, &class) in targets.iter().enumerate() {
        assert!(
            class < k,
            "cross_entropy: target {class} of example {row_index} is not a class index in 0..{k}"
        );
    }
    let r = reduction.factor(n);
    let mut grad = logits.clone();
    // Each row's term and gradient depend on that row alone, so rows run in parallel pieces (the
    // same arithmetic per row whoever runs it); the terms are then added in order, as one loop
    // would — the same sum for any number of threads. Small batches stay one piece, on this thread.
    let mut row_terms = vec![0.0f64; n];
    let rows_per_task = (ELEMENTS_PER_TASK / k.max(1)).max(1);
    let tasks: Vec<_> = grad
        .data_mut()
        .chunks_mut(rows_per_task * k.max(1))
        .zip(row_terms.chunks_mut(rows_per_task))
        .zip(targets.chunks(rows_per_task))
        .collect();
    parallel::for_each_item(tasks, |((rows, terms), classes)| {
        for ((row, term), &class) in rows.chunks_mut(k).zip(terms).zip(classes) {
            *term = cross_entropy_term(row, class);
            softmax_row(row);
            row[class] -= 1.0;
            for g in row.iter_mut() {
                *g = (f64::from(*g) * r) as f32;
            }
        }
    });
    let sum = row_terms.iter().fold(0.0f64, |sum, &term| sum + term);
    let terms = reduction.term_buffer(n).map(|mut buffer| {
        buffer.extend(row_terms.iter().map(|&term| term as f32));
        Tensor::from_vec(&[n], buffer)
    });
    LossOutput {
        value: (sum * r) as f32,
        grad,
        terms,
    }
}

/// Logits per parallel piece of [`cross_entropy`] (about 0.3 ms of work on one core: two
/// exponentials per logit): 768 positions × 65 characters of chapter 16's GPT make four pieces,
/// a classifier's batch of 64 × 10 one.
const ELEMENTS_PER_TASK: usize = 16 * 1024;

/// `−log softmax(z)[class] = ln Σₖ e^{zₖ − m} − (z_class − m)`, m = max z, in f64 (see
/// [`cross_entropy`] for why the maximum is subtracted from `z_class` rather than added to the log).
fn cross_entropy_term(row: &[f32], class: usize) -> f64 {
    let m = f64::from(row.iter().copied().fold(f32::NEG_INFINITY, f32::max));
    let sum: f64 = row.iter().map(|&z| (f64::from(z) - m).exp()).sum();
    sum.ln() - (f64::from(row[class]) - m)
}

/// Reads class indices stored as floats (how targets travel in a [`Tensor`]). Panics on a value that
/// is not a whole number ≥ 0; [`CrossEntropyLoss`]'s `check` reports those as errors first.
pub fn class_indices(target: &Tensor) -> Vec<usize> {
    target
        .data()
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            assert!(
                v >= 0.0 && v.fract() == 0.0 && v < 16_777_216.0,
                "class_indices: target {i} is {v}, not a class index"
            );
            v as usize
        })
        .collect()
}

/// [`cross_entropy`] as a [`Loss`] value: the target tensor holds the class index of each example
/// as a float (`[N]` or `[N, 1]`), e.g. `Tensor::from_vec(&[3], vec![2.0, 0.0, 1.0])`.
#[derive(Clone, Copy, Debug, Default)]
pub struct CrossEntropyLoss {
    /// Mean over the examples (default), sum or none.
    pub reduction: Reduction,
}

impl CrossEntropyLoss {
    /// The mean cross-entropy.
    pub fn new() -> CrossEntropyLoss {
        CrossEntropyLoss::default()
    }
}

impl Loss for CrossEntropyLoss {
    fn compute(&self, output: &Tensor, target: &Tensor) -> LossOutput {
        cross_entropy(output, &class_indices(target), self.reduction)
    }

    fn check(&self, output: &Tensor, target: &Tensor) -> Result<()> {
        if output.ndim() != 2 {
            return Err(Error::data(format!(
                "CrossEntropyLoss: the model's output has shape {:?}, but it must be [N, K] scores \
                 (one row of K class scores per example)",
                output.shape()
            )));
        }
        let (n, k) = (output.dim(0), output.dim(1));
        if target.len() != n {
            return Err(Error::data(format!(
                "CrossEntropyLoss: {n} examples in the output but {} targets (shape {:?}); the \
                 targets must be one class index per example",
                target.len(),
                target.shape()
            )));
        }
        for (i, &v) in target.data().iter().enumerate() {
            if !(v >= 0.0 && v.fract() == 0.0 && v < k as f32) {
                return Err(Error::data(format!(
                    "CrossEntropyLoss: target {i} is {v}, but the model outputs {k} classes, so \
                     targets must be whole numbers 0..={} — check the labels, or the size of the \
                     last layer",
                    k - 1
                )));
            }
        }
        Ok(())
    }

    fn name(&self) -> String {
        format!("CrossEntropyLoss(reduction={})", self.reduction.name())
    }
}
