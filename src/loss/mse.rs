//! Mean squared error, the regression loss of chapters 5, 7 and 14.

use super::{Loss, LossOutput, Reduction, assert_same_layout};
use crate::tensor::Tensor;

/// Squared error `L = r · Σᵢ (ŷᵢ − yᵢ)²` with `r = 1/n` for [`Reduction::Mean`] (n elements) or 1 for
/// `Sum`; the gradient is `∂L/∂ŷᵢ = 2r(ŷᵢ − yᵢ)`, shaped like `prediction`.
///
/// `prediction` and `target` must have the same layout (see the module docs). Like `nn.MSELoss`.
pub fn mse(prediction: &Tensor, target: &Tensor, reduction: Reduction) -> LossOutput {
    assert_same_layout("mse", prediction, target);
    let r = reduction.factor(prediction.len());
    let mut sum = 0.0f64;
    let mut grad = prediction.zeros_like();
    let two_r = (2.0 * r) as f32;
    for ((g, &p), &y) in grad
        .data_mut()
        .iter_mut()
        .zip(prediction.data())
        .zip(target.data())
    {
        let d = p - y;
        sum += f64::from(d) * f64::from(d);
        *g = two_r * d;
    }
    LossOutput {
        value: (sum * r) as f32,
        grad,
    }
}

/// [`mse`] as a [`Loss`] value (`nn.MSELoss`).
#[derive(Clone, Copy, Debug, Default)]
pub struct MseLoss {
    /// Mean (default) or sum.
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
