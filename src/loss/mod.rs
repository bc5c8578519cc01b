//! Chapter 10 (常见的损失函数, losses): how wrong a prediction is, and the gradient that says how to
//! make it less wrong.
//!
//! Every loss here returns both numbers a training step needs, in one [`LossOutput`]: the scalar
//! value (what a learner plots) and ∂loss/∂output, the tensor that starts the backward pass through
//! the network. Computing them together lets each loss use the numerically stable form of both (the
//! cross-entropy never takes `log(softmax(z))` literally; it uses `logsumexp(z) − z_y`).
//!
//! | loss | output | target | PyTorch |
//! |---|---|---|---|
//! | [`mse`] / [`MseLoss`] | any shape | same layout | `nn.MSELoss` |
//! | [`cross_entropy`] / [`CrossEntropyLoss`] | logits `[N, K]` | class indices `[N]` | `nn.CrossEntropyLoss` |
//! | [`bce_with_logits`] / [`BceWithLogitsLoss`] | logits, any shape | 0…1, same layout | `nn.BCEWithLogitsLoss` |
//! | [`bce`] / [`BceLoss`] | probabilities, any shape | 0…1, same layout | `nn.BCELoss` |
//! | [`huber`] / [`HuberLoss`] | any shape | same layout | `nn.HuberLoss` |
//! | [`smooth_l1`] / [`SmoothL1Loss`] | any shape | same layout | `nn.SmoothL1Loss` |
//!
//! "Same layout" means the same number of elements in the same order; shapes may differ only by axes of
//! size 1 (`[N, 1]` against `[N]` is accepted). PyTorch instead *broadcasts* `[N, 1]` against `[N]` to
//! `[N, N]` and silently computes the wrong loss — a classic bug we refuse to reproduce.
//!
//! The functions take a [`Reduction`], PyTorch's `reduction`: `Mean` (the default) divides the summed
//! loss by the number of terms (elements, or examples for the cross-entropy), `Sum` does not, and
//! `None` keeps every term: [`LossOutput::terms`] holds them (the output's shape, `[N]` for the
//! cross-entropy), `value` is their sum and `grad` the gradient of that sum — which, since each
//! output element belongs to exactly one term, is every term's own gradient in its place. Weighting
//! the terms (per-example weights, an RL advantage) is then multiplying `grad` by the weights, term
//! by term. The structs wrap the functions behind the [`Loss`] trait, which is how a training loop
//! receives "some loss".
//!
//! What it leaves out: class weights, `ignore_index`, label smoothing, `pos_weight`, and
//! cross-entropy over extra axes (`[N, K, d…]`).
//!
//! This module sits on the same floor as `linalg` (it only needs [`Tensor`]), so the stable
//! [`softmax`] and [`log_softmax`] live here and the `nn::Softmax` layer uses them.

mod binary;
mod cross_entropy;
mod huber;
mod mse;
mod softmax;

pub use binary::{BceLoss, BceWithLogitsLoss, bce, bce_with_logits};
pub use cross_entropy::{CrossEntropyLoss, class_indices, cross_entropy};
pub use huber::{HuberLoss, SmoothL1Loss, huber, smooth_l1};
pub use mse::{MseLoss, mse};
pub use softmax::{
    log_softmax, log_softmax_row, log_sum_exp, naive_log_softmax_row, naive_softmax_row, softmax,
    softmax_row,
};

use crate::error::Result;
use crate::tensor::Tensor;

/// How per-term losses are combined (PyTorch's `reduction`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Reduction {
    /// The average over terms (PyTorch's default): the gradient of each term is divided by the count.
    #[default]
    Mean,
    /// The plain sum over terms.
    Sum,
    /// No reduction: every term is kept in [`LossOutput::terms`]; `value` is their sum and `grad`
    /// the gradient of the sum, i.e. each term's own gradient (see the module docs).
    None,
}

impl Reduction {
    /// The factor each term's loss (and gradient) is multiplied by: `1/count` for the mean, `1`
    /// otherwise.
    pub fn factor(self, count: usize) -> f64 {
        match self {
            Reduction::Mean => 1.0 / count.max(1) as f64,
            Reduction::Sum | Reduction::None => 1.0,
        }
    }

    /// `mean`, `sum` or `none`, as PyTorch spells it.
    pub fn name(self) -> &'static str {
        match self {
            Reduction::Mean => "mean",
            Reduction::Sum => "sum",
            Reduction::None => "none",
        }
    }

    /// A buffer for the terms when they are kept ([`Reduction::None`]), else `None`.
    fn term_buffer(self, count: usize) -> Option<Vec<f32>> {
        (self == Reduction::None).then(|| Vec::with_capacity(count))
    }
}

/// The value of a loss and its gradient with respect to the network's output.
#[derive(Clone, Debug)]
pub struct LossOutput {
    /// The loss, one number: the mean or sum of the terms (their sum for [`Reduction::None`]).
    pub value: f32,
    /// ∂value/∂output, with the output's shape: what `Layer::backward` of the last layer receives.
    pub grad: Tensor,
    /// Every term's loss, for [`Reduction::None`] only: shaped like the output for element-wise
    /// losses, `[N]` (one per example) for the cross-entropy.
    pub terms: Option<Tensor>,
}

/// A loss as a value, so a training loop can be handed any of them (or one of your own).
///
/// `compute(output, target)` returns the loss and ∂loss/∂output. `check` validates a batch's targets
/// against the output before `compute` runs and returns a [`crate::Error::Data`] saying what is wrong
/// (a class index out of range, a NaN), because targets usually come from a file.
pub trait Loss {
    /// The loss of `output` against `target` and its gradient with respect to `output`.
    fn compute(&self, output: &Tensor, target: &Tensor) -> LossOutput;

    /// Checks that `target` fits `output` (layout, value range); the default checks the layout and
    /// that every target is finite.
    fn check(&self, output: &Tensor, target: &Tensor) -> Result<()> {
        check_same_layout(&self.name(), output, target)?;
        check_finite(&self.name(), target)
    }

    /// A short description like `MSELoss(reduction=mean)`.
    fn name(&self) -> String;
}

/// The shape without its size-1 axes: `[N, 1]` and `[N]` both become `[N]`.
fn squeezed(shape: &[usize]) -> Vec<usize> {
    shape.iter().copied().filter(|&d| d != 1).collect()
}

/// True when `a` and `b` hold the same number of elements in the same order (shapes equal up to
/// axes of size 1).
pub fn same_layout(a: &[usize], b: &[usize]) -> bool {
    squeezed(a) == squeezed(b)
}

/// Panics (a programming error inside a training loop) unless output and target have the same layout.
fn assert_same_layout(loss: &str, output: &Tensor, target: &Tensor) {
    assert!(
        same_layout(output.shape(), target.shape()),
        "{loss}: output shape {:?} and target shape {:?} do not match (they may differ only by axes \
         of size 1)",
        output.shape(),
        target.shape()
    );
}

/// [`crate::Error::Data`] unless output and target have the same layout.
fn check_same_layout(loss: &str, output: &Tensor, target: &Tensor) -> Result<()> {
    if same_layout(output.shape(), target.shape()) {
        Ok(())
    } else {
        Err(crate::Error::data(format!(
            "{loss}: the model's output has shape {:?} but the targets have shape {:?}; they must \
             hold the same number of values (shapes may differ only by axes of size 1) — check the \
             last layer's output size and how the targets were built",
            output.shape(),
            target.shape()
        )))
    }
}

/// [`crate::Error::Data`] naming the first non-finite target.
fn check_finite(loss: &str, target: &Tensor) -> Result<()> {
    match target.data().iter().position(|v| !v.is_finite()) {
        None => Ok(()),
        Some(i) => Err(crate::Error::data(format!(
            "{loss}: target {i} is {} — the targets must be finite numbers (look for missing values \
             in the data)",
            target.data()[i]
        ))),
    }
}
