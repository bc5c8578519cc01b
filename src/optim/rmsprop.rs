//! RMSprop: divide each gradient by a running root-mean-square of its recent values.

use super::state::{required, step_tensor};
use super::{Optimizer, OptimizerState, ParamStates};
use crate::error::Result;
use crate::nn::Layer;
use crate::tensor::Tensor;

/// RMSprop's per-parameter state. All three buffers have the parameter's length (the last two stay
/// zero when their variant is off: simpler loops for a little memory).
#[derive(Clone, Debug, Default)]
pub struct RmsState {
    /// Running average of squared gradients, v.
    pub square_average: Vec<f32>,
    /// Running average of gradients ḡ (used by the centered variant).
    pub gradient_average: Vec<f32>,
    /// Momentum buffer b (used when momentum > 0).
    pub momentum_buffer: Vec<f32>,
}

/// RMSprop exactly as PyTorch's `torch.optim.RMSprop` (Hinton's lecture 6e). For every parameter θ
/// with gradient g:
///
/// ```text
/// g ← g + λθ                                    (weight decay λ, if λ ≠ 0)
/// v ← αv + (1 − α)g²                            (v₀ = 0)
/// if centered:  ḡ ← αḡ + (1 − α)g,  d ← √(v − ḡ²) + ε     (ḡ₀ = 0)
/// else:         d ← √v + ε
/// if μ > 0:  b ← μb + g/d,  θ ← θ − γb          (b₀ = 0)
/// else:      θ ← θ − γ·g/d
/// ```
///
/// Defaults as PyTorch: γ = 0.01, α = 0.99, ε = 10⁻⁸, λ = 0, μ = 0, not centered.
#[derive(Clone, Debug)]
pub struct RmsProp {
    learning_rate: f32,
    alpha: f32,
    eps: f32,
    weight_decay: f32,
    momentum: f32,
    centered: bool,
    steps: usize,
    states: ParamStates<RmsState>,
}

impl RmsProp {
    /// RMSprop with learning rate γ and PyTorch's defaults for the rest.
    pub fn new(learning_rate: f32) -> RmsProp {
        RmsProp {
            learning_rate,
            alpha: 0.99,
            eps: 1e-8,
            weight_decay: 0.0,
            momentum: 0.0,
            centered: false,
            steps: 0,
            states: ParamStates::new(),
        }
    }

    /// Sets the smoothing constant α of the running averages.
    pub fn alpha(mut self, alpha: f32) -> RmsProp {
        self.alpha = alpha;
        self
    }

    /// Sets ε.
    pub fn eps(mut self, eps: f32) -> RmsProp {
        self.eps = eps;
        self
    }

    /// Sets the L2 weight decay λ.
    pub fn weight_decay(mut self, weight_decay: f32) -> RmsProp {
        self.weight_decay = weight_decay;
        self
    }

    /// Sets the momentum μ.
    pub fn momentum(mut self, momentum: f32) -> RmsProp {
        self.momentum = momentum;
        self
    }

    /// Uses the centered variant (normalise by an estimate of the variance instead of the second
    /// moment).
    pub fn centered(mut self) -> RmsProp {
        self.centered = true;
        self
    }

    /// The hyper-parameters as PyTorch's `param_groups` name them (the learning rate aside).
    fn hyperparameters(&self) -> Vec<(String, String)> {
        vec![
            ("alpha".to_string(), self.alpha.to_string()),
            ("eps".to_string(), self.eps.to_string()),
            ("weight_decay".to_string(), self.weight_decay.to_string()),
            ("momentum".to_string(), self.momentum.to_string()),
            ("centered".to_string(), self.centered.to_string()),
        ]
    }
}

impl Optimizer for RmsProp {
    fn step(&mut self, model: &mut dyn Layer) {
        self.steps += 1;
        let (lr, alpha, eps, wd, mu, centered) = (
            self.learning_rate,
            self.alpha,
            self.eps,
            self.weight_decay,
            self.momentum,
            self.centered,
        );
        let one_minus_alpha = (1.0 - f64::from(alpha)) as f32;
        self.states.for_each(
            model,
            |param| RmsState {
                square_average: vec![0.0; param.len()],
                gradient_average: vec![0.0; param.len()],
                momentum_buffer: vec![0.0; param.len()],
            },
            |param, state| {
                let values = param.value.data_mut();
                let grads = param.grad.data();
                for ((((theta, &g), v), average), b) in values
                    .iter_mut()
                    .zip(grads)
                    .zip(state.square_average.iter_mut())
                    .zip(state.gradient_average.iter_mut())
                    .zip(state.momentum_buffer.iter_mut())
                {
                    let g = if wd != 0.0 { g + wd * *theta } else { g };
                    *v = alpha * *v + one_minus_alpha * g * g;
                    let denominator = if centered {
                        *average += one_minus_alpha * (g - *average);
                        (*v - *average * *average).sqrt() + eps
                    } else {
                        v.sqrt() + eps
                    };
                    if mu > 0.0 {
                        *b = mu * *b + g / denominator;
                        *theta -= lr * *b;
                    } else {
                        *theta -= lr * (g / denominator);
                    }
                }
            },
        );
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

    /// `step` and `square_avg` per parameter, `momentum_buffer` with momentum, `grad_avg` when
    /// centered (the buffers a variant does not use are not saved, as in PyTorch).
    fn export_state(&self) -> Result<OptimizerState> {
        let (steps, momentum, centered) = (self.steps, self.momentum > 0.0, self.centered);
        Ok(OptimizerState {
            kind: "RMSprop".to_string(),
            steps,
            learning_rate: self.learning_rate,
            hyperparameters: self.hyperparameters(),
            params: self.states.export(|state, shape| {
                let tensor = |values: &Vec<f32>| Tensor::from_vec(shape, values.clone());
                let mut tensors = vec![
                    ("step".to_string(), step_tensor(steps)),
                    ("square_avg".to_string(), tensor(&state.square_average)),
                ];
                if momentum {
                    tensors.push((
                        "momentum_buffer".to_string(),
                        tensor(&state.momentum_buffer),
                    ));
                }
                if centered {
                    tensors.push(("grad_avg".to_string(), tensor(&state.gradient_average)));
                }
                tensors
            }),
        })
    }

    fn import_state(&mut self, model: &mut dyn Layer, state: &OptimizerState) -> Result<()> {
        state.check_matches("RMSprop", &self.hyperparameters())?;
        let (momentum, centered) = (self.momentum > 0.0, self.centered);
        self.states
            .restore(model, &state.params, state.steps, |saved, param| {
                let zeros = || vec![0.0; param.len()];
                Ok(RmsState {
                    square_average: required(saved, "square_avg")?,
                    gradient_average: if centered {
                        required(saved, "grad_avg")?
                    } else {
                        zeros()
                    },
                    momentum_buffer: if momentum {
                        required(saved, "momentum_buffer")?
                    } else {
                        zeros()
                    },
                })
            })?;
        self.steps = state.steps;
        self.learning_rate = state.learning_rate;
        Ok(())
    }

    fn describe(&self) -> String {
        format!(
            "RMSprop(lr={}, alpha={}, eps={}, weight_decay={}, momentum={}, centered={})",
            self.learning_rate,
            self.alpha,
            self.eps,
            self.weight_decay,
            self.momentum,
            self.centered
        )
    }
}
