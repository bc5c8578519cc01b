//! The Huber loss: squared error for small mistakes, absolute error for large ones (robust to outliers).

use super::{Loss, LossOutput, Reduction, assert_same_layout};
use crate::tensor::Tensor;

/// Huber loss with threshold δ > 0, like `nn.HuberLoss(delta=δ)`. With `dᵢ = ŷᵢ − yᵢ`:
///
/// `lᵢ = ½dᵢ²` if `|dᵢ| < δ`, else `δ(|dᵢ| − ½δ)`; `L = r · Σ lᵢ` (r = 1/n for the mean).
///
/// Gradient: `∂L/∂ŷᵢ = r · clamp(dᵢ, −δ, δ)` — the error itself near the target, a constant push of
/// size δ far from it, so one outlier cannot dominate a batch's gradient as it does with MSE.
pub fn huber(prediction: &Tensor, target: &Tensor, delta: f32, reduction: Reduction) -> LossOutput {
    assert!(delta > 0.0, "huber: delta must be > 0, got {delta}");
    assert_same_layout("huber", prediction, target);
    let r = reduction.factor(prediction.len());
    let delta64 = f64::from(delta);
    let mut sum = 0.0f64;
    let mut grad = prediction.zeros_like();
    for ((g, &p), &y) in grad
        .data_mut()
        .iter_mut()
        .zip(prediction.data())
        .zip(target.data())
    {
        let d = f64::from(p) - f64::from(y);
        sum += if d.abs() < delta64 {
            0.5 * d * d
        } else {
            delta64 * (d.abs() - 0.5 * delta64)
        };
        *g = (r * d.clamp(-delta64, delta64)) as f32;
    }
    LossOutput {
        value: (sum * r) as f32,
        grad,
    }
}

/// [`huber`] as a [`Loss`] value.
#[derive(Clone, Copy, Debug)]
pub struct HuberLoss {
    /// The threshold δ between the quadratic and the linear part (PyTorch's default 1.0).
    pub delta: f32,
    /// Mean over elements (default) or sum.
    pub reduction: Reduction,
}

impl Default for HuberLoss {
    fn default() -> HuberLoss {
        HuberLoss {
            delta: 1.0,
            reduction: Reduction::Mean,
        }
    }
}

impl HuberLoss {
    /// The mean Huber loss with threshold `delta`.
    pub fn new(delta: f32) -> HuberLoss {
        HuberLoss {
            delta,
            reduction: Reduction::Mean,
        }
    }
}

impl Loss for HuberLoss {
    fn compute(&self, output: &Tensor, target: &Tensor) -> LossOutput {
        huber(output, target, self.delta, self.reduction)
    }

    fn name(&self) -> String {
        format!(
            "HuberLoss(delta={}, reduction={})",
            self.delta,
            self.reduction.name()
        )
    }
}
