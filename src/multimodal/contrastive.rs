//! The symmetric contrastive loss of CLIP (chapter 18).
//!
//! For a batch of N pairs, the model gives logits `Z = s · I·Tᵀ` (`[N, N]`; `I`, `T` the unit image
//! and text embeddings, `s = exp(t)` a learned scale, the inverse temperature). Pair i is the right
//! answer both in row i (image i picks a caption) and in column i (caption i picks an image):
//!
//! ```text
//! L = ½ · ( CE_rows(Z, [0, 1, …, N−1]) + CE_rows(Zᵀ, [0, 1, …, N−1]) )      (means over N)
//! ∂L/∂Z = ½ · ( (softmax_rows(Z) − 1) + (softmax_columns(Z) − 1) ) / N       (1 = the identity)
//! ```
//!
//! At initialisation the encoders know nothing, every caption is as likely as any other, and each
//! cross-entropy is `ln N`: a batch of 64 starts at ln 64 ≈ 4.16. Larger batches make the task
//! harder (more negatives per positive) and the signal richer.

use crate::loss::{Loss, LossOutput, Reduction, cross_entropy};
use crate::tensor::Tensor;

/// The loss and its gradient for logits `[N, N]` whose diagonal holds the matching pairs.
pub fn contrastive_loss(logits: &Tensor) -> LossOutput {
    assert!(
        logits.ndim() == 2 && logits.dim(0) == logits.dim(1),
        "contrastive_loss: expected square logits [N, N], got {:?}",
        logits.shape()
    );
    let n = logits.dim(0);
    let targets: Vec<usize> = (0..n).collect();
    let rows = cross_entropy(logits, &targets, Reduction::Mean);
    let columns = cross_entropy(&logits.transpose(), &targets, Reduction::Mean);
    let columns_grad = columns.grad.transpose();
    let grad = Tensor::from_fn(&[n, n], |i| {
        0.5 * (rows.grad.data()[i] + columns_grad.data()[i])
    });
    LossOutput {
        value: 0.5 * (rows.value + columns.value),
        grad,
        terms: None,
    }
}

/// [`contrastive_loss`] as a [`Loss`]: the targets are ignored (the pairs are the diagonal), so
/// any `[N]` tensor of batch positions can travel with the batch.
#[derive(Clone, Copy, Debug, Default)]
pub struct ContrastiveLoss;

impl Loss for ContrastiveLoss {
    fn compute(&self, output: &Tensor, _target: &Tensor) -> LossOutput {
        contrastive_loss(output)
    }

    fn check(&self, output: &Tensor, _target: &Tensor) -> crate::error::Result<()> {
        if output.ndim() != 2 || output.dim(0) != output.dim(1) {
            return Err(crate::error::Error::data(format!(
                "ContrastiveLoss: the model must output square logits [N, N], got {:?}",
                output.shape()
            )));
        }
        Ok(())
    }

    fn name(&self) -> String {
        "ContrastiveLoss(symmetric)".to_string()
    }
}
