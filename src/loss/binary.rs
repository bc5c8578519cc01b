//! Binary cross-entropy, for yes/no outputs (chapter 13's sentiment): on logits (stable) and on
//! probabilities (clamped, as PyTorch does).

use super::{Loss, LossOutput, Reduction, assert_same_layout};
use crate::error::{Error, Result};
use crate::tensor::Tensor;

/// Binary cross-entropy of logits `x` against targets `y ∈ [0, 1]` (same layout), like
/// `nn.BCEWithLogitsLoss`:
///
/// `lᵢ = −[yᵢ·ln σ(xᵢ) + (1 − yᵢ)·ln(1 − σ(xᵢ))] = max(xᵢ, 0) − xᵢyᵢ + ln(1 + e^{−|xᵢ|})`,
/// `L = r · Σ lᵢ` (r = 1/n for the mean over n elements). The right-hand form never overflows and never
/// takes the log of 0, which is why a model should output logits and leave the sigmoid to the loss.
///
/// Gradient: `∂L/∂xᵢ = r · (σ(xᵢ) − yᵢ)`.
pub fn bce_with_logits(logits: &Tensor, target: &Tensor, reduction: Reduction) -> LossOutput {
    assert_same_layout("bce_with_logits", logits, target);
    let r = reduction.factor(logits.len());
    let mut sum = 0.0f64;
    let mut terms = reduction.term_buffer(logits.len());
    let mut grad = logits.zeros_like();
    for ((g, &x), &y) in grad
        .data_mut()
        .iter_mut()
        .zip(logits.data())
        .zip(target.data())
    {
        let (x64, y64) = (f64::from(x), f64::from(y));
        let term = x64.max(0.0) - x64 * y64 + (-x64.abs()).exp().ln_1p();
        sum += term;
        if let Some(terms) = terms.as_mut() {
            terms.push(term as f32);
        }
        let sigmoid = if x64 >= 0.0 {
            1.0 / (1.0 + (-x64).exp())
        } else {
            let e = x64.exp();
            e / (1.0 + e)
        };
        *g = ((sigmoid - y64) * r) as f32;
    }
    LossOutput {
        value: (sum * r) as f32,
        grad,
        terms: terms.map(|t| Tensor::from_vec(logits.shape(), t)),
    }
}

/// The smallest value PyTorch lets `ln p` take in `BCELoss` (it clamps the log at −100).
const LOG_CLAMP: f64 = -100.0;
/// PyTorch's floor for `p(1 − p)` in the BCE gradient's denominator.
const GRADIENT_EPSILON: f64 = 1e-12;

/// Binary cross-entropy of probabilities `p ∈ [0, 1]` against targets `y ∈ [0, 1]`, like `nn.BCELoss`:
///
/// `lᵢ = −[yᵢ·max(ln pᵢ, −100) + (1 − yᵢ)·max(ln(1 − pᵢ), −100)]`, `L = r · Σ lᵢ`.
///
/// Gradient (PyTorch's formula): `∂L/∂pᵢ = r · (pᵢ − yᵢ) / max(pᵢ(1 − pᵢ), 10⁻¹²)`.
/// The clamps keep a confident wrong answer (p = 0 where y = 1) finite: loss 100, not ∞. They also
/// hide how wrong it is, so prefer [`bce_with_logits`]. Panics if a probability is outside [0, 1].
pub fn bce(probabilities: &Tensor, target: &Tensor, reduction: Reduction) -> LossOutput {
    assert_same_layout("bce", probabilities, target);
    let r = reduction.factor(probabilities.len());
    let mut sum = 0.0f64;
    let mut terms = reduction.term_buffer(probabilities.len());
    let mut grad = probabilities.zeros_like();
    for (i, ((g, &p), &y)) in grad
        .data_mut()
        .iter_mut()
        .zip(probabilities.data())
        .zip(target.data())
        .enumerate()
    {
        assert!(
            (0.0..=1.0).contains(&p),
            "bce: input {i} is {p}, but BCE needs probabilities in [0, 1] (apply a sigmoid, or use \
             bce_with_logits on the raw scores)"
        );
        let (p64, y64) = (f64::from(p), f64::from(y));
        let log_p = p64.ln().max(LOG_CLAMP);
        let log_not_p = (1.0 - p64).ln().max(LOG_CLAMP);
        let term = -(y64 * log_p + (1.0 - y64) * log_not_p);
        sum += term;
        if let Some(terms) = terms.as_mut() {
            terms.push(term as f32);
        }
        *g = (r * (p64 - y64) / (p64 * (1.0 - p64)).max(GRADIENT_EPSILON)) as f32;
    }
    LossOutput {
        value: (sum * r) as f32,
        grad,
        terms: terms.map(|t| Tensor::from_vec(probabilities.shape(), t)),
    }
}

/// [`bce_with_logits`] as a [`Loss`] value: the model outputs raw scores (no sigmoid layer).
#[derive(Clone, Copy, Debug, Default)]
pub struct BceWithLogitsLoss {
    /// Mean over elements (default), sum or none.
    pub reduction: Reduction,
}

impl BceWithLogitsLoss {
    /// The mean binary cross-entropy on logits.
    pub fn new() -> BceWithLogitsLoss {
        BceWithLogitsLoss::default()
    }
}

impl Loss for BceWithLogitsLoss {
    fn compute(&self, output: &Tensor, target: &Tensor) -> LossOutput {
        bce_with_logits(output, target, self.reduction)
    }

    fn name(&self) -> String {
        format!("BCEWithLogitsLoss(reduction={})", self.reduction.name())
    }
}

/// [`bce`] as a [`Loss`] value: the model ends in a sigmoid and outputs probabilities.
#[derive(Clone, Copy, Debug, Default)]
pub struct BceLoss {
    /// Mean over elements (default), sum or none.
    pub reduction: Reduction,
}

impl BceLoss {
    /// The mean binary cross-entropy on probabilities.
    pub fn new() -> BceLoss {
        BceLoss::default()
    }
}

impl Loss for BceLoss {
    fn compute(&self, output: &Tensor, target: &Tensor) -> LossOutput {
        bce(output, target, self.reduction)
    }

    fn check(&self, output: &Tensor, target: &Tensor) -> Result<()> {
        super::check_same_layout(&self.name(), output, target)?;
        super::check_finite(&self.name(), target)?;
        match output.data().iter().position(|p| !(0.0..=1.0).contains(p)) {
            None => Ok(()),
            Some(i) => Err(Error::data(format!(
                "BCELoss: output {i} is {}, but BCELoss needs probabilities in [0, 1]; end the model \
                 with a Sigmoid, or use BceWithLogitsLoss on raw scores",
                output.data()[i]
            ))),
        }
    }

    fn name(&self) -> String {
        format!("BCELoss(reduction={})", self.reduction.name())
    }
}
