//! Adam (with optional AMSGrad) and AdamW: momentum on the gradient plus a per-parameter step size
//! from a running average of squared gradients.

use super::state::{required, required_step, step_tensor};
use super::{Optimizer, OptimizerState, ParamStates};
use crate::error::Result;
use crate::nn::Layer;
use crate::parallel;
use crate::tensor::Tensor;

/// Adam's per-parameter state: the first moment m, the second moment v, v's running maximum
/// (AMSGrad only; empty otherwise), and the number of steps this parameter has taken.
#[derive(Clone, Debug, Default)]
pub struct Moments {
    /// The steps this parameter has been updated, t in the bias corrections (PyTorch keeps it per
    /// parameter too: it differs from the optimizer's count for a parameter that was frozen at
    /// first and unfrozen later).
    pub step: usize,
    /// Running average of gradients, m.
    pub m: Vec<f32>,
    /// Running average of squared gradients, v.
    pub v: Vec<f32>,
    /// The largest v seen so far, element-wise (AMSGrad).
    pub v_max: Vec<f32>,
}

/// Adam exactly as PyTorch's `torch.optim.Adam` (Kingma & Ba, 2015). For every parameter θ with
/// gradient g, at its step t = 1, 2, 3, … (counted per parameter, as PyTorch does; see [`Moments`]):
///
/// ```text
/// g ← g + λθ                                   (weight decay λ, if λ ≠ 0: L2, added to the gradient)
/// m ← β₁m + (1 − β₁)g                          (m₀ = 0)
/// v ← β₂v + (1 − β₂)g²                         (v₀ = 0)
/// m̂ ← m / (1 − β₁ᵗ)                            (bias correction: m and v start at 0)
/// v̂ ← v / (1 − β₂ᵗ)          or, with AMSGrad:  v_max ← max(v_max, v),  v̂ ← v_max / (1 − β₂ᵗ)
/// θ ← θ − γ·m̂ / (√v̂ + ε)
/// ```
///
/// Defaults as PyTorch: γ = 0.001, β₁ = 0.9, β₂ = 0.999, ε = 10⁻⁸, λ = 0. As in PyTorch's code, the
/// last line is evaluated as `θ − (γ/(1 − β₁ᵗ))·m / (√v/√(1 − β₂ᵗ) + ε)` (the same value, in its
/// rounding order), with the bias corrections computed in f64.
#[derive(Clone, Debug)]
pub struct Adam {
    learning_rate: f32,
    beta1: f32,
    beta2: f32,
    eps: f32,
    weight_decay: f32,
    amsgrad: bool,
    steps: usize,
    moments: ParamStates<Moments>,
}

impl Adam {
    /// Adam with learning rate γ and PyTorch's defaults for everything else.
    pub fn new(learning_rate: f32) -> Adam {
        Adam {
            learning_rate,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.0,
            amsgrad: false,
            steps: 0,
            moments: ParamStates::new(),
        }
    }

    /// Sets the decay rates (β₁, β₂) of the two moment averages.
    pub fn betas(mut self, beta1: f32, beta2: f32) -> Adam {
        self.beta1 = beta1;
        self.beta2 = beta2;
        self
    }

    /// Sets ε, added to the denominator to avoid dividing by zero.
    pub fn eps(mut self, eps: f32) -> Adam {
        self.eps = eps;
        self
    }

    /// Sets the L2 weight decay λ (added to the gradient; for decoupled decay use [`AdamW`]).
    pub fn weight_decay(mut self, weight_decay: f32) -> Adam {
        self.weight_decay = weight_decay;
        self
    }

    /// Uses the AMSGrad variant (the denominator never shrinks).
    pub fn amsgrad(mut self) -> Adam {
        self.amsgrad = true;
        self
    }

    /// The per-parameter moments (for inspection, e.g. by a chapter that plots them).
    pub fn moments(&self) -> &ParamStates<Moments> {
        &self.moments
    }

    /// The hyper-parameters as PyTorch's `param_groups` name them, with `weight_decay` given (Adam's
    /// L2 λ, or AdamW's decoupled λ); with `matrices_only`, one more entry records that the decay
    /// applies to matrices only (PyTorch would have two parameter groups).
    fn hyperparameters(&self, weight_decay: f32, matrices_only: bool) -> Vec<(String, String)> {
        let mut list = vec![
            (
                "betas".to_string(),
                format!("({}, {})", self.beta1, self.beta2),
            ),
            ("eps".to_string(), self.eps.to_string()),
            ("weight_decay".to_string(), weight_decay.to_string()),
            ("amsgrad".to_string(), self.amsgrad.to_string()),
        ];
        if matrices_only {
            list.push(("weight_decay_matrices_only".to_string(), "true".to_string()));
        }
        list
    }

    /// The state under PyTorch's names: `step`, `exp_avg`, `exp_avg_sq` (and `max_exp_avg_sq`).
    /// `step` is each parameter's own count ([`Moments::step`]), as in PyTorch.
    fn export_as(&self, kind: &str, weight_decay: f32, matrices_only: bool) -> OptimizerState {
        OptimizerState {
            kind: kind.to_string(),
            steps: self.steps,
            learning_rate: self.learning_rate,
            hyperparameters: self.hyperparameters(weight_decay, matrices_only),
            params: self.moments.export(|moments, shape| {
                let mut tensors = vec![
                    ("step".to_string(), step_tensor(moments.step)),
                    (
                        "exp_avg".to_string(),
                        Tensor::from_vec(shape, moments.m.clone()),
                    ),
                    (
                        "exp_avg_sq".to_string(),
                        Tensor::from_vec(shape, moments.v.clone()),
                    ),
                ];
                if !moments.v_max.is_empty() {
                    tensors.push((
                        "max_exp_avg_sq".to_string(),
                        Tensor::from_vec(shape, moments.v_max.clone()),
                    ));
                }
                tensors
            }),
        }
    }

    /// Puts back a state from [`Adam::export_as`] (checked: kind, hyper-parameters, names, shapes).
    fn import_as(
        &mut self,
        model: &mut dyn Layer,
        state: &OptimizerState,
        kind: &str,
        weight_decay: f32,
        matrices_only: bool,
    ) -> Result<()> {
        state.check_matches(kind, &self.hyperparameters(weight_decay, matrices_only))?;
        let amsgrad = self.amsgrad;
        self.moments
            .restore(model, &state.params, state.steps, |saved, _| {
                Ok(Moments {
                    step: required_step(saved, state.steps)?,
                    m: required(saved, "exp_avg")?,
                    v: required(saved, "exp_avg_sq")?,
                    v_max: if amsgrad {
                        required(saved, "max_exp_avg_sq")?
                    } else {
                        Vec::new()
                    },
                })
            })?;
        self.steps = state.steps;
        self.learning_rate = state.learning_rate;
        Ok(())
    }

    /// One Adam step; `decoupled_decay` is AdamW's λ (θ ← θ(1 − γλ) before the update), 0 for Adam;
    /// with `matrices_only` it shrinks only parameters of two or more dimensions.
    fn step_with(&mut self, model: &mut dyn Layer, decoupled_decay: f32, matrices_only: bool) {
        self.steps += 1;
        let (beta1, beta2) = (f64::from(self.beta1), f64::from(self.beta2));
        let learning_rate = f64::from(self.learning_rate);
        let one_minus_beta1 = (1.0 - beta1) as f32;
        let one_minus_beta2 = (1.0 - beta2) as f32;
        let beta2_f32 = self.beta2;
        let (eps, l2, amsgrad) = (self.eps, self.weight_decay, self.amsgrad);
        let decay_factor =
            (1.0 - f64::from(self.learning_rate) * f64::from(decoupled_decay)) as f32;
        self.moments.for_each(
            model,
            |param| Moments {
                step: 0,
                m: vec![0.0; param.len()],
                v: vec![0.0; param.len()],
                v_max: if amsgrad {
                    vec![0.0; param.len()]
                } else {
                    Vec::new()
                },
            },
            |param, state| {
                // The bias corrections use this parameter's own step count t.
                state.step += 1;
                let t = state.step as i32;
                let bias_correction1 = 1.0 - beta1.powi(t);
                let bias_correction2 = 1.0 - beta2.powi(t);
                let step_size = (learning_rate / bias_correction1) as f32;
                let bias_correction2_sqrt = bias_correction2.sqrt() as f32;
                let decays = !matrices_only || param.value.ndim() >= 2;
                let decay = if decoupled_decay != 0.0 && decays {
                    Some(decay_factor)
                } else {
                    None
                };
                let constants = AdamConstants {
                    one_minus_beta1,
                    one_minus_beta2,
                    beta2: beta2_f32,
                    eps,
                    l2,
                    step_size,
                    bias_correction2_sqrt,
                    decay,
                };
                // Every element's update depends on that element alone, so the parameter is
                // cut into pieces updated in parallel — the same numbers for any number of threads.
                let v_max: Vec<Option<&mut [f32]>> = if amsgrad {
                    state
                        .v_max
                        .chunks_mut(ELEMENTS_PER_TASK)
                        .map(Some)
                        .collect()
                } else {
                    (0..param.len().div_ceil(ELEMENTS_PER_TASK))
                        .map(|_| None)
                        .collect()
                };
                let pieces: Vec<_> = param
                    .value
                    .data_mut()
                    .chunks_mut(ELEMENTS_PER_TASK)
                    .zip(param.grad.data().chunks(ELEMENTS_PER_TASK))
                    .zip(state.m.chunks_mut(ELEMENTS_PER_TASK))
                    .zip(state.v.chunks_mut(ELEMENTS_PER_TASK))
                    .zip(v_max)
                    .collect();
                parallel::for_each_item(pieces, |((((values, grads), m), v), v_max)| {
                    constants.update(values, grads, m, v, v_max);
                });
            },
        );
    }
}

/// Parameters are updated in pieces of this many elements, in parallel.
const ELEMENTS_PER_TASK: usize = 16 * 1024;

/// The numbers one Adam step uses for every element of one parameter.
struct AdamConstants {
    one_minus_beta1: f32,
    one_minus_beta2: f32,
    beta2: f32,
    eps: f32,
    /// Adam's L2 weight decay λ (added to the gradient), 0 for none.
    l2: f32,
    /// γ / (1 − β₁ᵗ).
    step_size: f32,
    /// √(1 − β₂ᵗ).
    bias_correction2_sqrt: f32,
    /// AdamW's factor 1 − γλ, applied to θ before the update, when this parameter decays.
    decay: Option<f32>,
}

impl AdamConstants {
    /// Updates one piece of a parameter: θ, its gradient, the moments m and v (and v_max for
    /// AMSGrad), element by element.
    fn update(
        &self,
        values: &mut [f32],
        grads: &[f32],
        m: &mut [f32],
        v: &mut [f32],
        v_max: Option<&mut [f32]>,
    ) {
        // AdamW's decay θ ← θ(1 − γλ) comes first, in the same pass over θ (a factor of exactly 1
        // for a parameter that does not decay leaves it unchanged).
        let factor = self.decay.unwrap_or(1.0);
        // m ← β₁m + (1 − β₁)g, written m + (1 − β₁)(g − m) as PyTorch's `lerp_` does;
        // v ← β₂v + (1 − β₂)g². Uses the gradient with L2 decay added.
        let update_moments = |theta: f32, g: f32, m: &mut f32, v: &mut f32| {
            let g = if self.l2 != 0.0 {
                g + self.l2 * theta
            } else {
                g
            };
            *m += self.one_minus_beta1 * (g - *m);
            *v = self.beta2 * *v + self.one_minus_beta2 * g * g;
        };
        let per_element = values.iter_mut().zip(grads).zip(m).zip(v.iter_mut());
        match v_max {
            Some(v_max) => {
                for ((((theta, &g), m), v), v_max) in per_element.zip(v_max) {
                    *theta *= factor;
                    update_moments(*theta, g, m, v);
                    *v_max = v_max.max(*v);
                    let denominator = v_max.sqrt() / self.bias_correction2_sqrt + self.eps;
                    *theta -= self.step_size * (*m / denominator);
                }
            }
            None => {
                for (((theta, &g), m), v) in per_element {
                    *theta *= factor;
                    update_moments(*theta, g, m, v);
                    let denominator = v.sqrt() / self.bias_correction2_sqrt + self.eps;
                    *theta -= self.step_size * (*m / denominator);
                }
            }
        }
    }
}

impl Optimizer for Adam {
    fn step(&mut self, model: &mut dyn Layer) {
        self.step_with(model, 0.0, false);
    }

    fn learning_rate(&self) -> f32 {
        self.learning_rate
    }

    fn set_learning_rate(&mut self, learning_rate: f32) {
        self.learning_rate = learning_rate;
    }

    fn steps_taken(&self) -> usize {
        self.steps
    }

    fn export_state(&self) -> Result<OptimizerState> {
        Ok(self.export_as("Adam", self.weight_decay, false))
    }

    fn import_state(&mut self, model: &mut dyn Layer, state: &OptimizerState) -> Result<()> {
        let weight_decay = self.weight_decay;
        self.import_as(model, state, "Adam", weight_decay, false)
    }

    fn describe(&self) -> String {
        format!(
            "Adam(lr={}, betas=({}, {}), eps={}, weight_decay={}, amsgrad={})",
            self.learning_rate, self.beta1, self.beta2, self.eps, self.weight_decay, self.amsgrad
        )
    }
}

/// AdamW exactly as PyTorch's `torch.optim.AdamW` (Loshchilov & Hutter, 2019): Adam with *decoupled*
/// weight decay — the parameter shrinks directly instead of through the gradient, so the decay is not
/// rescaled by Adam's per-parameter step size:
///
/// ```text
/// θ ← θ(1 − γλ)                                 (decoupled weight decay, PyTorch default λ = 0.01)
/// then Adam's update of m, v, m̂, v̂ (AMSGrad optional) with the plain gradient g, and
/// θ ← θ − γ·m̂ / (√v̂ + ε)
/// ```
///
/// [`AdamW::decay_matrices_only`] applies the decay to weight matrices and embeddings only, not to
/// biases and normalisation scales (what nanoGPT and most transformer recipes do with two PyTorch
/// parameter groups): shrinking a bias or a γ towards 0 does not make a model simpler, it only
/// shifts or silences a unit.
#[derive(Clone, Debug)]
pub struct AdamW {
    adam: Adam,
    weight_decay: f32,
    matrices_only: bool,
}

impl AdamW {
    /// AdamW with learning rate γ and PyTorch's defaults (β = (0.9, 0.999), ε = 10⁻⁸, λ = 0.01).
    pub fn new(learning_rate: f32) -> AdamW {
        AdamW {
            adam: Adam::new(learning_rate),
            weight_decay: 0.01,
            matrices_only: false,
        }
    }

    /// Sets (β₁, β₂).
    pub fn betas(mut self, beta1: f32, beta2: f32) -> AdamW {
        self.adam = self.adam.betas(beta1, beta2);
        self
    }

    /// Sets ε.
    pub fn eps(mut self, eps: f32) -> AdamW {
        self.adam = self.adam.eps(eps);
        self
    }

    /// Sets the decoupled weight decay λ.
    pub fn weight_decay(mut self, weight_decay: f32) -> AdamW {
        self.weight_decay = weight_decay;
        self
    }

    /// Uses the AMSGrad variant.
    pub fn amsgrad(mut self) -> AdamW {
        self.adam = self.adam.amsgrad();
        self
    }

    /// Decays only parameters with two or more dimensions (weight matrices, embeddings); biases and
    /// norm parameters (one dimension) are updated without decay. PyTorch does this with two
    /// parameter groups, `weight_decay=λ` and `weight_decay=0`.
    pub fn decay_matrices_only(mut self) -> AdamW {
        self.matrices_only = true;
        self
    }
}

impl Optimizer for AdamW {
    fn step(&mut self, model: &mut dyn Layer) {
        self.adam
            .step_with(model, self.weight_decay, self.matrices_only);
    }

    fn learning_rate(&self) -> f32 {
        self.adam.learning_rate
    }

    fn set_learning_rate(&mut self, learning_rate: f32) {
        self.adam.learning_rate = learning_rate;
    }

    fn steps_taken(&self) -> usize {
        self.adam.steps
    }

    fn export_state(&self) -> Result<OptimizerState> {
        Ok(self
            .adam
            .export_as("AdamW", self.weight_decay, self.matrices_only))
    }

    fn import_state(&mut self, model: &mut dyn Layer, state: &OptimizerState) -> Result<()> {
        self.adam
            .import_as(model, state, "AdamW", self.weight_decay, self.matrices_only)
    }

    fn describe(&self) -> String {
        format!(
            "AdamW(lr={}, betas=({}, {}), eps={}, weight_decay={}{}, amsgrad={})",
            self.adam.learning_rate,
            self.adam.beta1,
            self.adam.beta2,
            self.adam.eps,
            self.weight_decay,
            if self.matrices_only {
                " on matrices only"
            } else {
                ""
            },
            self.adam.amsgrad
        )
    }
}
