//! Adagrad: each parameter's step shrinks with the sum of all its past squared gradients.

use super::state::{required, step_tensor};
use super::{Optimizer, OptimizerState, ParamStates};
use crate::error::Result;
use crate::nn::Layer;
use crate::tensor::Tensor;

/// Adagrad exactly as PyTorch's `torch.optim.Adagrad` (Duchi et al., 2011). For every parameter θ
/// with gradient g, at step t = 1, 2, 3, …:
///
/// ```text
/// γ̃ ← γ / (1 + (t − 1)η)                        (learning-rate decay η)
/// g ← g + λθ                                    (weight decay λ, if λ ≠ 0)
/// s ← s + g²                                    (s₀ = initial accumulator value, default 0)
/// θ ← θ − γ̃·g / (√s + ε)
/// ```
///
/// Defaults as PyTorch: γ = 0.01, η = 0, λ = 0, s₀ = 0, ε = 10⁻¹⁰. Rarely-updated parameters keep
/// large steps, frequent ones get small steps; the steps only ever shrink.
#[derive(Clone, Debug)]
pub struct Adagrad {
    learning_rate: f32,
    lr_decay: f32,
    weight_decay: f32,
    initial_accumulator_value: f32,
    eps: f32,
    steps: usize,
    sums: ParamStates<Vec<f32>>,
}

impl Adagrad {
    /// Adagrad with learning rate γ and PyTorch's defaults for the rest.
    pub fn new(learning_rate: f32) -> Adagrad {
        Adagrad {
            learning_rate,
            lr_decay: 0.0,
            weight_decay: 0.0,
            initial_accumulator_value: 0.0,
            eps: 1e-10,
            steps: 0,
            sums: ParamStates::new(),
        }
    }

    /// Sets the learning-rate decay η.
    pub fn lr_decay(mut self, lr_decay: f32) -> Adagrad {
        self.lr_decay = lr_decay;
        self
    }

    /// Sets the L2 weight decay λ.
    pub fn weight_decay(mut self, weight_decay: f32) -> Adagrad {
        self.weight_decay = weight_decay;
        self
    }

    /// Sets the starting value s₀ of the sum of squares.
    pub fn initial_accumulator_value(mut self, value: f32) -> Adagrad {
        self.initial_accumulator_value = value;
        self
    }

    /// Sets ε.
    pub fn eps(mut self, eps: f32) -> Adagrad {
        self.eps = eps;
        self
    }

    /// The hyper-parameters as PyTorch's `param_groups` name them (the learning rate aside).
    fn hyperparameters(&self) -> Vec<(String, String)> {
        vec![
            ("lr_decay".to_string(), self.lr_decay.to_string()),
            ("weight_decay".to_string(), self.weight_decay.to_string()),
            (
                "initial_accumulator_value".to_string(),
                self.initial_accumulator_value.to_string(),
            ),
            ("eps".to_string(), self.eps.to_string()),
        ]
    }
}

impl Optimizer for Adagrad {
    fn step(&mut self, model: &mut dyn Layer) {
        self.steps += 1;
        let decayed_lr = (f64::from(self.learning_rate)
            / (1.0 + (self.steps - 1) as f64 * f64::from(self.lr_decay)))
            as f32;
        let (wd, eps, s0) = (self.weight_decay, self.eps, self.initial_accumulator_value);
        self.sums.for_each(
            model,
            |param| vec![s0; param.len()],
            |param, sums| {
                let values = param.value.data_mut();
                let grads = param.grad.data();
                for ((theta, &g), s) in values.iter_mut().zip(grads).zip(sums.iter_mut()) {
                    let g = if wd != 0.0 { g + wd * *theta } else { g };
                    *s += g * g;
                    *theta -= decayed_lr * (g / (s.sqrt() + eps));
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

    /// `step` and `sum` (the running sum of squared gradients) per parameter.
    fn export_state(&self) -> Result<OptimizerState> {
        let steps = self.steps;
        Ok(OptimizerState {
            kind: "Adagrad".to_string(),
            steps,
            learning_rate: self.learning_rate,
            hyperparameters: self.hyperparameters(),
            params: self.sums.export(|sums, shape| {
                vec![
                    ("step".to_string(), step_tensor(steps)),
                    ("sum".to_string(), Tensor::from_vec(shape, sums.clone())),
                ]
            }),
        })
    }

    fn import_state(&mut self, model: &mut dyn Layer, state: &OptimizerState) -> Result<()> {
        state.check_matches("Adagrad", &self.hyperparameters())?;
        self.sums
            .restore(model, &state.params, state.steps, |saved, _| {
                required(saved, "sum")
            })?;
        self.steps = state.steps;
        self.learning_rate = state.learning_rate;
        Ok(())
    }

    fn describe(&self) -> String {
        format!(
            "Adagrad(lr={}, lr_decay={}, weight_decay={}, initial_accumulator_value={}, eps={})",
            self.learning_rate,
            self.lr_decay,
            self.weight_decay,
            self.initial_accumulator_value,
            self.eps
        )
    }
}
