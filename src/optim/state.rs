//! An optimizer's state as data, in PyTorch's words: what must be saved beside the weights so that a
//! stopped run can go on exactly where it was (used by [`crate::train::resume`], chapters 12–14 and
//! every later training chapter).
//!
//! Momentum and Adam carry memory from step to step: a momentum buffer, two running moments, a step
//! count for the bias correction. Restarting a run from its weights alone resets that memory, and the
//! run goes a different way. [`Optimizer::export_state`](crate::optim::Optimizer::export_state) returns it as an [`OptimizerState`]: the
//! step count, the learning rate, the hyper-parameters, and per parameter (by its name, in
//! `visit_params` order) a few tensors of the parameter's shape with the names PyTorch's
//! `optimizer.state_dict()["state"]` uses:
//!
//! | optimizer (PyTorch) | state per parameter |
//! |---|---|
//! | `SGD` | `momentum_buffer` (only with momentum, after the first step) |
//! | `Adam`, `AdamW` | `step` (a scalar), `exp_avg` (m), `exp_avg_sq` (v), `max_exp_avg_sq` (AMSGrad) |
//! | `RMSprop` | `step`, `square_avg`, `momentum_buffer` (momentum > 0), `grad_avg` (centered) |
//! | `Adagrad` | `step`, `sum` |
//!
//! PyTorch keys its state by the parameter's position; we key it by the parameter's name, which
//! survives a model whose parameters are listed in another order. [`Optimizer::import_state`](crate::optim::Optimizer::import_state) puts
//! a state back after checking it against the model (every name, every shape) and against the
//! optimizer (its kind and hyper-parameters): a state from another model or another optimizer is an
//! [`Error`], never a silent mix.
//!
//! What it leaves out: parameter groups (one learning rate for all), and the conversion into
//! PyTorch's own `state_dict` layout (a few lines of Python, shown in the README).

use super::ParamStates;
use crate::error::{Error, Result};
use crate::nn::{Layer, Param};
use crate::tensor::Tensor;
use std::collections::HashMap;

/// One parameter's optimizer state: tensors named as PyTorch names them (`exp_avg`, `step`, …).
#[derive(Clone, Debug, PartialEq)]
pub struct ParamState {
    /// The parameter's name (`conv1.weight`, `0.bias`, …).
    pub name: String,
    /// The state tensors: the parameter's shape, or `[]` for `step`.
    pub tensors: Vec<(String, Tensor)>,
}

impl ParamState {
    /// The tensor called `key`, if this parameter has one.
    pub fn get(&self, key: &str) -> Option<&Tensor> {
        self.tensors.iter().find(|(k, _)| k == key).map(|(_, t)| t)
    }
}

/// Everything an optimizer remembers, as data (see the module docs).
#[derive(Clone, Debug, PartialEq)]
pub struct OptimizerState {
    /// PyTorch's class name: `SGD`, `Adam`, `AdamW`, `RMSprop`, `Adagrad`.
    pub kind: String,
    /// How many steps were taken.
    pub steps: usize,
    /// The learning rate in force (a schedule may have changed it).
    pub learning_rate: f32,
    /// The other hyper-parameters, named as in PyTorch's `param_groups` (`momentum`, `betas`, …),
    /// as text. Importing checks that they equal the optimizer's own.
    pub hyperparameters: Vec<(String, String)>,
    /// The state of every parameter that has one, in `visit_params` order.
    pub params: Vec<ParamState>,
}

impl OptimizerState {
    /// The state of the parameter called `name`, if any.
    pub fn param(&self, name: &str) -> Option<&ParamState> {
        self.params.iter().find(|p| p.name == name)
    }

    /// Checks the kind and the hyper-parameters against `expected` (the optimizer importing this
    /// state), naming the first that differs.
    pub(crate) fn check_matches(
        &self,
        kind: &str,
        hyperparameters: &[(String, String)],
    ) -> Result<()> {
        if self.kind != kind {
            return Err(Error::data(format!(
                "the saved optimizer state is {}'s, but this run uses {kind}: resume with the same \
                 optimizer",
                self.kind
            )));
        }
        for (name, value) in hyperparameters {
            let saved = self
                .hyperparameters
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.as_str());
            if saved != Some(value.as_str()) {
                return Err(Error::data(format!(
                    "the saved {kind} state has {name} = {}, but this optimizer has {name} = \
                     {value}: resume with the same settings",
                    saved.unwrap_or("(none)")
                )));
            }
        }
        Ok(())
    }
}

/// A scalar `step` tensor, as PyTorch keeps it (float32, shape `[]`).
pub(crate) fn step_tensor(steps: usize) -> Tensor {
    Tensor::scalar(steps as f32)
}

impl<S> ParamStates<S> {
    /// Every parameter's state as named tensors: `tensors(state, shape)` turns one state into
    /// `(name, tensor)` pairs; parameters whose list is empty are left out.
    pub fn export(
        &self,
        mut tensors: impl FnMut(&S, &[usize]) -> Vec<(String, Tensor)>,
    ) -> Vec<ParamState> {
        self.names
            .iter()
            .zip(&self.shapes)
            .zip(&self.states)
            .filter_map(|((name, shape), state)| {
                let tensors = tensors(state, shape);
                (!tensors.is_empty()).then(|| ParamState {
                    name: name.clone(),
                    tensors,
                })
            })
            .collect()
    }

    /// Rebuilds every parameter's state from `saved`, checked against `model`: each saved name must
    /// be a parameter of the model, and `make(saved state or None, param)` builds one parameter's
    /// state (and says what is wrong with it). With `steps_taken == 0` and nothing saved, the
    /// states stay uncreated, as before a first step. On error nothing changes.
    pub fn restore(
        &mut self,
        model: &mut dyn Layer,
        saved: &[ParamState],
        steps_taken: usize,
        mut make: impl FnMut(Option<&ParamState>, &Param) -> std::result::Result<S, String>,
    ) -> Result<()> {
        if steps_taken == 0 && saved.is_empty() {
            *self = ParamStates::new();
            return Ok(());
        }
        let by_name: HashMap<&str, &ParamState> =
            saved.iter().map(|p| (p.name.as_str(), p)).collect();
        let mut rebuilt = ParamStates::new();
        let mut problem: Option<String> = None;
        let mut used = 0usize;
        model.visit_params(&mut |name, param| {
            if problem.is_some() {
                return;
            }
            let entry = by_name.get(name).copied();
            used += usize::from(entry.is_some());
            if let Some(entry) = entry {
                for (key, tensor) in &entry.tensors {
                    let expected: &[usize] = if key == "step" {
                        &[]
                    } else {
                        param.value.shape()
                    };
                    if tensor.shape() != expected {
                        problem = Some(format!(
                            "the saved {key} of parameter \"{name}\" has shape {:?}, but the \
                             parameter needs {expected:?}",
                            tensor.shape()
                        ));
                        return;
                    }
                }
            }
            match make(entry, param) {
                Ok(state) => {
                    rebuilt.names.push(name.to_string());
                    rebuilt.lengths.push(param.len());
                    rebuilt.shapes.push(param.value.shape().to_vec());
                    rebuilt.states.push(state);
                }
                Err(message) => problem = Some(format!("parameter \"{name}\": {message}")),
            }
        });
        if let Some(message) = problem {
            return Err(Error::data(format!(
                "the saved optimizer state does not fit this model: {message}"
            )));
        }
        if used != saved.len() {
            let names: std::collections::HashSet<&str> =
                rebuilt.names.iter().map(String::as_str).collect();
            let stranger = saved
                .iter()
                .find(|p| !names.contains(p.name.as_str()))
                .map_or("?", |p| p.name.as_str());
            return Err(Error::data(format!(
                "the saved optimizer state has a parameter \"{stranger}\" that this model does not \
                 have — was it saved from a different model?"
            )));
        }
        rebuilt.initialised = true;
        *self = rebuilt;
        Ok(())
    }
}

/// The saved tensor `key` of one parameter as a vector, or an error naming what is missing.
pub(crate) fn required(
    saved: Option<&ParamState>,
    key: &str,
) -> std::result::Result<Vec<f32>, String> {
    saved
        .and_then(|p| p.get(key))
        .map(|t| t.data().to_vec())
        .ok_or_else(|| format!("the saved state has no {key}"))
}
