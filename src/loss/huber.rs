//! The Huber loss and the smooth L1 loss: squared error for small mistakes, absolute error for large
//! ones (robust to outliers). The two differ by a factor: `smooth_l1(β) = huber(δ = β) / β`.

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
    let delta = f64::from(delta);
    element_wise(prediction, target, reduction, |d| {
        if d.abs() < delta {
            (0.5 * d * d, d)
        } else {
            (delta * (d.abs() - 0.5 * delta), d.clamp(-delta, delta))
        }
    })
}

/// Smooth L1 loss with threshold β ≥ 0, like `nn.SmoothL1Loss(beta=β)`. With `dᵢ = ŷᵢ − yᵢ`:
///
/// `lᵢ = ½dᵢ²/β` if `|dᵢ| < β`, else `|dᵢ| − ½β`; `L = r · Σ lᵢ` (r = 1/n for the mean).
///
/// Gradient: `∂L/∂ŷᵢ = r · dᵢ/β` near the target, `r · sign(dᵢ)` far from it: a push of size at
/// most 1 whatever β (Huber's is at most δ). β = 0 is the L1 loss `|dᵢ|` (gradient `sign(dᵢ)`, 0 at
/// dᵢ = 0, as PyTorch). Fast R-CNN's box-regression loss.
pub fn smooth_l1(
    prediction: &Tensor,
    target: &Tensor,
    beta: f32,
    reduction: Reduction,
) -> LossOutput {
    assert!(beta >= 0.0, "smooth_l1: beta must be ≥ 0, got {beta}");
    assert_same_layout("smooth_l1", prediction, target);
    let beta = f64::from(beta);
    element_wise(prediction, target, reduction, |d| {
        if d.abs() < beta {
            (0.5 * d * d / beta, d / beta)
        } else {
            let sign = if d > 0.0 {
                1.0
            } else if d < 0.0 {
                -1.0
            } else {
                0.0
            };
            (d.abs() - 0.5 * beta, sign)
        }
    })
}

/// A loss that is a sum of `term(dᵢ)` over elements, `dᵢ = ŷᵢ − yᵢ`: `term` returns the term and its
/// derivative with respect to d (in f64); this applies the reduction and keeps the terms for `None`.
fn element_wise(
    prediction: &Tensor,
    target: &Tensor,
    reduction: Reduction,
    term: impl Fn(f64) -> (f64, f64),
) -> LossOutput {
    let r = reduction.factor(prediction.len());
    let mut sum = 0.0f64;
    let mut terms = reduction.term_buffer(prediction.len());
    let mut grad = prediction.zeros_like();
    for ((g, &p), &y) in grad
        .data_mut()
        .iter_mut()
        .zip(prediction.data())
        .zip(target.data())
    {
        let (value, slope) = term(f64::from(p) - f64::from(y));
        sum += value;
        if let Some(terms) = terms.as_mut() {
            terms.push(value as f32);
        }
        *g = (r * slope) as f32;
    }
    LossOutput {
        value: (sum * r) as f32,
        grad,
        terms: terms.map(|t| Tensor::from_vec(prediction.shape(), t)),
    }
}

/// [`huber`] as a [`Loss`] value.
#[derive(Clone, Copy, Debug)]
pub struct HuberLoss {
    /// The threshold δ between the quadratic and the linear part (PyTorch's default 1.0).
    pub delta: f32,
    /// Mean over elements (default), sum or none.
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

/// [`smooth_l1`] as a [`Loss`] value.
#[derive(Clone, Copy, Debug)]
pub struct SmoothL1Loss {
    /// The threshold β between the quadratic and the linear part (PyTorch's default 1.0; 0 gives L1).
    pub beta: f32,
    /// Mean over elements (default), sum or none.
    pub reduction: Reduction,
}

impl Default for SmoothL1Loss {
    fn default() -> SmoothL1Loss {
        SmoothL1Loss {
            beta: 1.0,
            reduction: Reduction::Mean,
        }
    }
}

impl SmoothL1Loss {
    /// The mean smooth L1 loss with threshold `beta` (`nn.SmoothL1Loss(beta=beta)`).
    pub fn new(beta: f32) -> SmoothL1Loss {
        SmoothL1Loss {
            beta,
            reduction: Reduction::Mean,
        }
    }
}

impl Loss for SmoothL1Loss {
    fn compute(&self, output: &Tensor, target: &Tensor) -> LossOutput {
        smooth_l1(output, target, self.beta, self.reduction)
    }

    fn name(&self) -> String {
        format!(
            "SmoothL1Loss(beta={}, reduction={})",
            self.beta,
            self.reduction.name()
        )
    }
}
