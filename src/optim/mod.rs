//! Chapter 11 (常见的优化算法, optimizers): turning gradients into parameter updates.
//!
//! An [`Optimizer`] sees a model's parameters through [`Layer::visit_params`], always in the same order,
//! and keeps its own state per parameter (a momentum buffer, Adam's two moment estimates) in a
//! [`ParamStates`], created on the first step. Each optimizer implements PyTorch's documented update
//! rule exactly — the rule is written in its doc comment — so a recipe from a PyTorch tutorial gives the
//! same trajectory here (up to f32 rounding). The step counter `t` (used by Adam's bias correction)
//! advances once per call to [`Optimizer::step`], not once per parameter.
//!
//! | file | optimizer (PyTorch) |
//! |---|---|
//! | `sgd.rs` | [`Sgd`]: momentum, dampening, Nesterov, weight decay (`SGD`) |
//! | `adam.rs` | [`Adam`] with AMSGrad (`Adam`), [`AdamW`] (`AdamW`) |
//! | `rmsprop.rs` | [`RmsProp`] (`RMSprop`) |
//! | `adagrad.rs` | [`Adagrad`] (`Adagrad`) |
//! | `schedule.rs` | learning-rate schedules: step, exponential, cosine, linear warm-up |
//! | `clip.rs` | [`clip_grad_norm`], [`clip_grad_value`] |
//! | `test_functions.rs` | 2-D test surfaces (narrow valley, Rosenbrock) and [`test_functions::descend`] |
//!
//! A training step is:
//! ```text
//! zero_grad(model)                      // gradients accumulate, so clear them first
//! let y = model.forward(&x, Mode::Train)
//! let loss = loss_fn.compute(&y, &target)
//! model.backward(&loss.grad)            // fills every Param::grad
//! optimizer.step(model)                 // p ← p − (something of grad)
//! ```
//!
//! **Parameters without a gradient.** PyTorch skips a parameter whose `.grad` is `None` (it never took
//! part in a backward pass since the last `zero_grad(set_to_none=True)`). Our parameters always hold a
//! gradient tensor, so there is no `None`: every parameter is updated with its gradient, and an
//! all-zero gradient is treated as PyTorch treats a zero *tensor* — weight decay still shrinks the
//! parameter, momentum still carries it, Adam's moments still decay. This matches PyTorch exactly for
//! every parameter that takes part in the forward pass (e.g. a dead ReLU unit whose gradient is
//! exactly 0); it differs only for a parameter that never takes part, which PyTorch would leave alone.
//!
//! What it leaves out: parameter groups (per-layer learning rates), `maximize`, `foreach`/fused
//! kernels, sparse gradients, LBFGS.

mod adagrad;
mod adam;
mod clip;
mod rmsprop;
pub mod schedule;
mod sgd;
pub mod state;
pub mod test_functions;

pub use adagrad::Adagrad;
pub use adam::{Adam, AdamW, Moments};
pub use clip::{clip_grad_norm, clip_grad_value};
pub use rmsprop::{RmsProp, RmsState};
pub use schedule::{
    CosineAnnealingLr, ExponentialLr, LinearWarmup, LrSchedule, StepLr, WarmupThen,
};
pub use sgd::Sgd;
pub use state::{OptimizerState, ParamState};

use crate::error::{Error, Result};
use crate::nn::{Layer, Param};

/// Something that updates a model's parameters from their gradients.
pub trait Optimizer {
    /// One update of every parameter of `model` from its current gradient (counts one step).
    fn step(&mut self, model: &mut dyn Layer);

    /// The current learning rate γ.
    fn learning_rate(&self) -> f32;

    /// Sets the learning rate (what a schedule does between steps or epochs).
    fn set_learning_rate(&mut self, learning_rate: f32);

    /// How many times [`Optimizer::step`] has run.
    fn steps_taken(&self) -> usize;

    /// A one-line description with the hyper-parameters, e.g. `Adam(lr=0.001, betas=(0.9, 0.999), …)`.
    fn describe(&self) -> String;

    /// Sets every gradient of `model` to zero (PyTorch's `optimizer.zero_grad()`).
    fn zero_grad(&self, model: &mut dyn Layer) {
        crate::nn::zero_grad(model);
    }

    /// Everything this optimizer remembers — step count, learning rate, hyper-parameters and the
    /// per-parameter tensors under PyTorch's names (see [`state`]) — to save beside the weights.
    /// Every optimizer of this module implements it; the default is an error for one that does not.
    fn export_state(&self) -> Result<OptimizerState> {
        Err(Error::data(format!(
            "{} cannot export its state, so a run using it cannot be resumed",
            self.describe()
        )))
    }

    /// Puts back a state from [`Optimizer::export_state`], after checking it against `model` (every
    /// parameter name and shape) and against this optimizer (its kind and hyper-parameters); the
    /// learning rate and step count become the saved ones. On error nothing changes.
    fn import_state(&mut self, model: &mut dyn Layer, state: &OptimizerState) -> Result<()> {
        let _ = (model, state);
        Err(Error::data(format!(
            "{} cannot import a saved state, so a run using it cannot be resumed",
            self.describe()
        )))
    }
}

/// An optimizer's state for each parameter of a model, kept in `visit_params` order.
///
/// The first [`ParamStates::for_each`] records every parameter's name and size and creates its state;
/// later calls check that the model still has the same parameters in the same order and panic (naming
/// the parameter) if not — an optimizer must not be reused for a different model.
#[derive(Clone, Debug)]
pub struct ParamStates<S> {
    names: Vec<String>,
    lengths: Vec<usize>,
    /// Each parameter's shape (exported state tensors take it, as PyTorch's do).
    shapes: Vec<Vec<usize>>,
    states: Vec<S>,
    initialised: bool,
}

impl<S> Default for ParamStates<S> {
    fn default() -> ParamStates<S> {
        ParamStates {
            names: Vec::new(),
            lengths: Vec::new(),
            shapes: Vec::new(),
            states: Vec::new(),
            initialised: false,
        }
    }
}

impl<S> ParamStates<S> {
    /// No state yet (it is created on the first step).
    pub fn new() -> ParamStates<S> {
        ParamStates::default()
    }

    /// Calls `update(param, state)` for every parameter of `model`, creating each state with
    /// `init(param)` the first time.
    pub fn for_each(
        &mut self,
        model: &mut dyn Layer,
        mut init: impl FnMut(&Param) -> S,
        mut update: impl FnMut(&mut Param, &mut S),
    ) {
        let mut index = 0;
        let initialised = self.initialised;
        model.visit_params(&mut |name, param| {
            if !initialised {
                self.names.push(name.to_string());
                self.lengths.push(param.len());
                self.shapes.push(param.value.shape().to_vec());
                self.states.push(init(param));
            }
            assert!(
                index < self.names.len() && self.names[index] == name,
                "optimizer: parameter {index} is now {name:?}, but was {:?} when the optimizer \
                 started; an optimizer belongs to one model (create a new one for another model)",
                self.names.get(index)
            );
            assert_eq!(
                param.len(),
                self.lengths[index],
                "optimizer: parameter {name:?} changed size since the optimizer started"
            );
            assert_eq!(
                param.grad.shape(),
                param.value.shape(),
                "optimizer: parameter {name:?} has a gradient of shape {:?} for a value of shape {:?}",
                param.grad.shape(),
                param.value.shape()
            );
            update(param, &mut self.states[index]);
            index += 1;
        });
        assert_eq!(
            index,
            self.names.len(),
            "optimizer: the model now has {index} parameters, but had {} when the optimizer started",
            self.names.len()
        );
        self.initialised = true;
    }

    /// The names of the parameters seen, in order (empty before the first step).
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// The state of each parameter, in the order of [`ParamStates::names`].
    pub fn states(&self) -> &[S] {
        &self.states
    }
}
