//! Stochastic gradient descent with momentum, dampening, Nesterov momentum and weight decay.

use super::{Optimizer, OptimizerState, ParamStates};
use crate::error::Result;
use crate::nn::Layer;
use crate::tensor::Tensor;

/// SGD exactly as PyTorch's `torch.optim.SGD`. For every parameter θ with gradient g, at step t:
///
/// ```text
/// g ← g + λθ                          (weight decay λ, if λ ≠ 0)
/// if μ ≠ 0:                           (momentum μ)
///     b ← g                           at the first step
///     b ← μb + (1 − τ)g               afterwards (dampening τ)
///     g ← g + μb   if Nesterov, else   g ← b
/// θ ← θ − γg                          (learning rate γ)
/// ```
///
/// With μ = 0 this is the textbook `θ ← θ − γ∇L` of chapter 11. Nesterov needs μ > 0 and τ = 0
/// (PyTorch's rule too; [`Sgd::step`] panics otherwise).
///
/// ```
/// use dlfs::optim::Sgd;
/// let sgd = Sgd::new(0.001).momentum(0.9); // chapter 12's recipe
/// ```
#[derive(Clone, Debug)]
pub struct Sgd {
    learning_rate: f32,
    momentum: f32,
    dampening: f32,
    nesterov: bool,
    weight_decay: f32,
    steps: usize,
    /// The momentum buffer b of each parameter (empty until its first step, and when μ = 0).
    buffers: ParamStates<Vec<f32>>,
}

impl Sgd {
    /// Plain SGD with learning rate γ (no momentum, no weight decay).
    pub fn new(learning_rate: f32) -> Sgd {
        Sgd {
            learning_rate,
            momentum: 0.0,
            dampening: 0.0,
            nesterov: false,
            weight_decay: 0.0,
            steps: 0,
            buffers: ParamStates::new(),
        }
    }

    /// Sets the momentum μ (0.9 is typical).
    pub fn momentum(mut self, momentum: f32) -> Sgd {
        self.momentum = momentum;
        self
    }

    /// Sets the dampening τ (the momentum buffer adds (1 − τ)·g).
    pub fn dampening(mut self, dampening: f32) -> Sgd {
        self.dampening = dampening;
        self
    }

    /// Uses Nesterov momentum (look ahead along the momentum before taking the gradient step).
    pub fn nesterov(mut self) -> Sgd {
        self.nesterov = true;
        self
    }

    /// Sets the L2 weight decay λ (adds λθ to the gradient).
    pub fn weight_decay(mut self, weight_decay: f32) -> Sgd {
        self.weight_decay = weight_decay;
        self
    }

    /// The hyper-parameters as PyTorch's `param_groups` name them (the learning rate aside).
    fn hyperparameters(&self) -> Vec<(String, String)> {
        vec![
            ("momentum".to_string(), self.momentum.to_string()),
            ("dampening".to_string(), self.dampening.to_string()),
            ("nesterov".to_string(), self.nesterov.to_string()),
            ("weight_decay".to_string(), self.weight_decay.to_string()),
        ]
    }
}

impl Optimizer for Sgd {
    fn step(&mut self, model: &mut dyn Layer) {
        assert!(
            !self.nesterov || (self.momentum > 0.0 && self.dampening == 0.0),
            "Sgd: Nesterov momentum needs momentum > 0 and dampening = 0 (got momentum {}, \
             dampening {})",
            self.momentum,
            self.dampening
        );
        self.steps += 1;
        let (lr, mu, tau, wd) = (
            self.learning_rate,
            self.momentum,
            self.dampening,
            self.weight_decay,
        );
        let nesterov = self.nesterov;
        self.buffers.for_each(
            model,
            |_| Vec::new(),
            |param, buffer| {
                let values = param.value.data_mut();
                let grads = param.grad.data();
                if mu == 0.0 {
                    for (theta, &g) in values.iter_mut().zip(grads) {
                        let g = if wd != 0.0 { g + wd * *theta } else { g };
                        *theta -= lr * g;
                    }
                    return;
                }
                let first_step = buffer.is_empty();
                if first_step {
                    buffer.resize(values.len(), 0.0);
                }
                for ((theta, &g), b) in values.iter_mut().zip(grads).zip(buffer.iter_mut()) {
                    let g = if wd != 0.0 { g + wd * *theta } else { g };
                    *b = if first_step {
                        g
                    } else {
                        mu * *b + (1.0 - tau) * g
                    };
                    let direction = if nesterov { g + mu * *b } else { *b };
                    *theta -= lr * direction;
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

    /// `momentum_buffer` per parameter, once momentum has taken a step (PyTorch's SGD keeps no
    /// step count).
    fn export_state(&self) -> Result<OptimizerState> {
        Ok(OptimizerState {
            kind: "SGD".to_string(),
            steps: self.steps,
            learning_rate: self.learning_rate,
            hyperparameters: self.hyperparameters(),
            params: self.buffers.export(|buffer, shape| {
                if buffer.is_empty() {
                    Vec::new()
                } else {
                    let tensor = Tensor::from_vec(shape, buffer.clone());
                    vec![("momentum_buffer".to_string(), tensor)]
                }
            }),
        })
    }

    fn import_state(&mut self, model: &mut dyn Layer, state: &OptimizerState) -> Result<()> {
        state.check_matches("SGD", &self.hyperparameters())?;
        let needs_buffer = self.momentum != 0.0 && state.steps > 0;
        self.buffers
            .restore(model, &state.params, state.steps, |saved, _| {
                match saved.and_then(|p| p.get("momentum_buffer")) {
                    Some(buffer) => Ok(buffer.data().to_vec()),
                    None if needs_buffer => Err(
                        "the saved state has no momentum_buffer (SGD with momentum has one after \
                         its first step)"
                            .to_string(),
                    ),
                    None => Ok(Vec::new()),
                }
            })?;
        self.steps = state.steps;
        self.learning_rate = state.learning_rate;
        Ok(())
    }

    fn describe(&self) -> String {
        format!(
            "SGD(lr={}, momentum={}, dampening={}, nesterov={}, weight_decay={})",
            self.learning_rate, self.momentum, self.dampening, self.nesterov, self.weight_decay
        )
    }
}
