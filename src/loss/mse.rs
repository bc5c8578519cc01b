//! Mean squared error, the regression loss of chapters 5, 7 and 14.

use super::{Loss, LossOutput, Reduction, assert_same_layout};
use crate::tensor::Tensor;

/// Squared error `L = r · Σᵢ (ŷᵢ − yᵢ)²` with `r = 1/n` for [`Reduction::Mean`] (n elements) or 1 for
/// `Sum` and `None` (which also returns each term `(ŷᵢ − yᵢ)²`); the gradient is
/// `∂L/∂ŷᵢ = 2r(ŷᵢ − yᵢ)`, shaped like `prediction`.
///
/// `prediction` and `target` must have the same layout (see the module docs). Like `nn.MSELoss`.
pub fn mse(prediction: &Tensor, target: &Tensor, reduction: Reduction) -> LossOutput {
    assert_same_layout("mse", prediction, target);
    let r = reduction.factor(prediction.len());
    let mut sum = 0.0f64;
    let mut grad = prediction.zeros_like();
    let mut terms = reduction.term_buffer(prediction.len());
    let two_r = (2.0 * r) as f32;
    for ((g, &p), &y) in grad
        .data_mut()
        .iter_mut()
        .zip(prediction.data())
        .zip(target.data())
    {
        let d = p - y;
        let term = f64::from(d) * f64::from(d);
        sum += term;
        if let Some(terms) = terms.as_mut() {
            terms.push(term as f32);
        }
        *g = two_r * d;
    }
    LossOutput {
        value: (sum * r) as f32,
        grad,
        terms: terms.map(|t| Tensor::from_vec(prediction.shape(), t)),
    }
}

/// [`mse`] as a [`Loss`] value (`nn.MSELoss`).
#[derive(Clone, Copy, Debug, Default)]
pub struct MseLoss {
    /// Mean (default), sum or none.
    pub reduction: Reduction,
}

impl MseLoss {
    /// The mean squared error.
    pub fn new() -> MseLoss {
        MseLoss::default()
    }
}

impl Loss for MseLoss {
    fn compute(&self, output: &Tensor, target: &Tensor) -> LossOutput {
        mse(output, target, self.reduction)
    }

    fn name(&self) -> String {
        format!("MSELoss(reduction={})", self.reduction.name())
    }
}
