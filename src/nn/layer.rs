//! The [`Layer`] trait, trainable parameters ([`Param`]) and the train/eval [`Mode`].
//!
//! Besides `forward`, `backward` and `visit_params`, which every layer writes, the trait gives every
//! layer, for free, what a user of a *trained* model needs (all built on `visit_params`):
//! - [`Layer::state_dict`] / [`Layer::load_state_dict`]: the parameters as an ordered name → tensor
//!   map, and loading one back, strictly or not (see [`super::state_dict`]);
//! - [`Layer::freeze`], [`Layer::unfreeze`], [`Layer::set_trainable`]: mark parameters as not
//!   trainable, so that optimizers leave them alone (fine-tuning only a head on a frozen backbone);
//! - `Layer: Any`, so a `&mut dyn Layer` can be turned back into its concrete type
//!   ([`downcast_mut`], [`super::Sequential::layer_mut`]) to reach methods only that type has, such
//!   as an LSTM's initial state.

use super::state_dict::{self, LoadReport, StateDict};
use crate::error::Result;
use crate::probability::Rng;
use crate::tensor::Tensor;
use std::any::Any;
use std::fmt;

/// How a forward pass behaves, and whether a `backward` may follow it.
///
/// Two questions, answered by two methods:
/// - does the network *behave* as in training ([`Mode::is_training`]: dropout drops)? Only in
///   [`Mode::Train`] — PyTorch's `model.train()` against `model.eval()`;
/// - do layers *remember* what `backward` needs ([`Mode::keeps_cache`])? In [`Mode::Train`] and
///   [`Mode::Eval`], not in [`Mode::Inference`] — PyTorch's normal mode against
///   `torch.inference_mode()`.
///
/// | mode | dropout | `backward` afterwards | used for |
/// |---|---|---|---|
/// | `Train` | drops | works | training steps |
/// | `Eval` | identity | works | input gradients of a trained model: saliency maps, adversarial examples |
/// | `Inference` | identity | panics (nothing cached) | evaluation and prediction, the fast path |
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Training: layers remember their inputs for `backward`; dropout drops.
    Train,
    /// Evaluation behaviour (dropout is the identity) with the caches kept, so that `backward` gives
    /// the gradient of the *evaluated* network: ∂output/∂input of a trained model, and parameter
    /// gradients that an optimizer could use.
    Eval,
    /// Evaluation behaviour with nothing cached: the fastest forward pass, for scoring and
    /// prediction (`train::evaluate`, `train::predict`). A `backward` after it panics.
    Inference,
}

impl Mode {
    /// True only in [`Mode::Train`]: dropout drops units (anything else with a training behaviour
    /// would switch on this too).
    pub fn is_training(self) -> bool {
        self == Mode::Train
    }

    /// True in [`Mode::Train`] and [`Mode::Eval`]: layers keep what `backward` needs.
    pub fn keeps_cache(self) -> bool {
        self != Mode::Inference
    }
}

/// A parameter: its value, the gradient of the loss with respect to it (same shape), and whether an
/// optimizer may change it.
#[derive(Clone, Debug)]
pub struct Param {
    /// The current value, updated by an optimizer.
    pub value: Tensor,
    /// ∂loss/∂value, *accumulated* by `backward` (`+=`) until [`Param::zero_grad`] resets it.
    pub grad: Tensor,
    /// False for a *frozen* parameter (PyTorch's `requires_grad = False`): every optimizer skips it
    /// entirely — no update, no weight decay, no optimizer state — and gradient clipping ignores its
    /// gradient. `backward` still fills its `grad` (the layers do not check), which costs a little
    /// time and changes nothing. True for a new parameter.
    pub trainable: bool,
}

impl Param {
    /// A trainable parameter with this value and a zero gradient.
    pub fn new(value: Tensor) -> Param {
        let grad = value.zeros_like();
        Param {
            value,
            grad,
            trainable: true,
        }
    }

    /// Sets the gradient to zero (call once per optimisation step, before `backward`).
    pub fn zero_grad(&mut self) {
        self.grad.fill(0.0);
    }

    /// The number of scalar values in the parameter.
    pub fn len(&self) -> usize {
        self.value.len()
    }

    /// True when the parameter holds no values.
    pub fn is_empty(&self) -> bool {
        self.value.is_empty()
    }
}

/// A differentiable building block of a network.
///
/// Contract:
/// - `forward(x, mode)` caches whatever `backward` needs when [`Mode::keeps_cache`] (Train, Eval);
///   `forward(x, Mode::Inference)` caches nothing.
/// - `backward(dy)` takes ∂loss/∂output (same shape as the last output), **adds** ∂loss/∂param
///   into every parameter's `grad`, and returns ∂loss/∂input (same shape as the last input). It
///   differentiates the network as the last forward ran it (after `Eval`, dropout is the identity).
///   Calling it without a preceding caching forward is a programming error and panics.
/// - `visit_params` calls `f(name, param)` for every parameter, in a fixed order, with PyTorch's names.
///
/// The other methods are provided: a layer gets them by writing `visit_params`.
///
/// `Layer: Any` (every layer is a `'static` type) so that a `&mut dyn Layer` can be downcast to its
/// concrete type with [`downcast_mut`].
pub trait Layer: Any + Send {
    /// Computes the output for a batch of inputs.
    fn forward(&mut self, x: &Tensor, mode: Mode) -> Tensor;

    /// Back-propagates `grad_output` = ∂loss/∂output; returns ∂loss/∂input.
    fn backward(&mut self, grad_output: &Tensor) -> Tensor;

    /// Visits every parameter with its PyTorch-style name (none by default).
    fn visit_params(&mut self, _f: &mut dyn FnMut(&str, &mut Param)) {}

    /// Visits every random generator the layer keeps from one call to the next (dropout's mask
    /// generator), named like parameters (`3.rng` in a [`super::Sequential`]), so that a resumed run
    /// ([`crate::train::resume`]) continues their sequences where they were. None by default; a
    /// layer that holds layers passes the visit on to them, as for `visit_params`.
    fn visit_rngs(&mut self, _f: &mut dyn FnMut(&str, &mut Rng)) {}

    /// A one-line description, e.g. `Linear(in=10, out=5)`, used in model summaries.
    fn describe(&self) -> String;

    /// Every parameter's value under its name, in `visit_params` order: PyTorch's
    /// `model.state_dict()` (frozen parameters included). The tensors are copies.
    fn state_dict(&mut self) -> StateDict {
        let mut state = StateDict::new();
        self.visit_params(&mut |name, p| state.push(name, p.value.clone()));
        state
    }

    /// Copies the tensors of `state` into the parameters of the same names: PyTorch's
    /// `model.load_state_dict(state, strict)`.
    ///
    /// - A tensor whose shape differs from its parameter's is always an error (as in PyTorch).
    /// - `strict = true`: the names must match exactly; a parameter missing from `state` or a name
    ///   in `state` that the model lacks is an error naming it (the behaviour of
    ///   [`crate::checkpoint::load`]).
    /// - `strict = false`: the parameters found are loaded, the others keep their values, and the
    ///   returned [`LoadReport`] lists the missing and unexpected names.
    ///
    /// On error the model is unchanged (everything is checked before anything is copied). To load a
    /// part of a bigger model, or a model whose names differ, rename the keys first
    /// ([`StateDict::submodule`], [`StateDict::strip_prefix`], [`StateDict::map_keys`]).
    fn load_state_dict(&mut self, state: &StateDict, strict: bool) -> Result<LoadReport> {
        state_dict::load_into(&mut |f| self.visit_params(f), state, strict)
    }

    /// Marks every parameter as not trainable (see [`Param::trainable`]).
    fn freeze(&mut self) {
        self.visit_params(&mut |_, p| p.trainable = false);
    }

    /// Marks every parameter as trainable again.
    fn unfreeze(&mut self) {
        self.visit_params(&mut |_, p| p.trainable = true);
    }

    /// Sets [`Param::trainable`] on the parameters under `path` and returns how many there are: a
    /// parameter name (`fc1.weight`), a module path (`fc1` means `fc1.*`, not `fc10.*`; `0` means a
    /// [`super::Sequential`]'s first layer), or `""` for all. A path that matches nothing is an
    /// [`crate::Error::Usage`] listing the names there are (a typo must not silently freeze
    /// nothing).
    fn set_trainable(&mut self, path: &str, trainable: bool) -> Result<usize> {
        let mut matched = 0;
        let mut names = Vec::new();
        self.visit_params(&mut |name, p| {
            if state_dict::is_under(name, path) {
                p.trainable = trainable;
                matched += 1;
            }
            names.push(name.to_string());
        });
        if matched == 0 {
            return Err(crate::Error::usage(format!(
                "set_trainable: no parameter is called \"{path}\" or lies under it; the model's \
                 parameters are {}",
                state_dict::name_list(&names)
            )));
        }
        Ok(matched)
    }
}

/// `layer` as its concrete type `L`, or `None` when it is another type: how to reach the methods
/// only one layer type has (an LSTM's initial state, a Linear's weight) through a `&mut dyn Layer`,
/// e.g. one element of [`super::CifarCnn::layers_mut`]. See also [`super::Sequential::layer_mut`].
pub fn downcast_mut<L: Layer>(layer: &mut dyn Layer) -> Option<&mut L> {
    let any: &mut dyn Any = layer;
    any.downcast_mut::<L>()
}

/// `layer` as its concrete type `L`, or `None` (the shared-reference form of [`downcast_mut`]).
pub fn downcast_ref<L: Layer>(layer: &dyn Layer) -> Option<&L> {
    let any: &dyn Any = layer;
    any.downcast_ref::<L>()
}

/// A tensor that a layer saves during a forward pass (Train or Eval) for its backward pass.
///
/// It keeps its buffer between steps: storing a tensor of the same size as last time copies into the
/// existing allocation instead of allocating a new one, so a training loop with fixed shapes allocates
/// nothing here after the first step. An inference forward pass calls [`Cache::clear`], which marks
/// the content stale (keeping the buffer), so a `backward` after an `Inference` forward panics instead of
/// silently using an old input.
#[derive(Clone, Debug, Default)]
pub struct Cache {
    tensor: Option<Tensor>,
    valid: bool,
}

impl Cache {
    /// An empty cache.
    pub fn new() -> Cache {
        Cache::default()
    }

    /// Saves a copy of `x`, reusing the buffer when its length matches.
    pub fn store(&mut self, x: &Tensor) {
        match self.tensor.take() {
            Some(old) if old.len() == x.len() => {
                let mut reused = old.reshape(x.shape());
                reused.data_mut().copy_from_slice(x.data());
                self.tensor = Some(reused);
            }
            _ => self.tensor = Some(x.clone()),
        }
        self.valid = true;
    }

    /// Saves `x` itself (no copy), e.g. an intermediate result the layer computed only for its
    /// backward pass (an im2col matrix, a gate activation).
    pub fn store_owned(&mut self, x: Tensor) {
        self.tensor = Some(x);
        self.valid = true;
    }

    /// What a forward pass does with its cache: store `x` when [`Mode::keeps_cache`], mark the cache
    /// stale in [`Mode::Inference`].
    pub fn save(&mut self, x: &Tensor, mode: Mode) {
        if mode.keeps_cache() {
            self.store(x);
        } else {
            self.clear();
        }
    }

    /// Marks the content stale (called by an evaluation forward pass); the buffer is kept for reuse.
    pub fn clear(&mut self) {
        self.valid = false;
    }

    /// True when a training forward pass stored a tensor since the last [`Cache::clear`].
    pub fn is_valid(&self) -> bool {
        self.valid
    }

    /// The saved tensor. Panics, naming `layer`, when there is none: `backward` was called without a
    /// training-mode `forward` before it.
    pub fn get(&self, layer: &str) -> &Tensor {
        match (&self.tensor, self.valid) {
            (Some(t), true) => t,
            _ => panic!(
                "{layer}: backward called without a preceding forward in Mode::Train or Mode::Eval \
                 (a Mode::Inference forward caches nothing)"
            ),
        }
    }
}

/// Sets every parameter gradient of `layer` to zero.
pub fn zero_grad(layer: &mut dyn Layer) {
    layer.visit_params(&mut |_, p| p.zero_grad());
}

/// The number of scalars in all of `layer`'s parameters, trainable or frozen (PyTorch's
/// `sum(p.numel() for p in model.parameters())`). [`param_counts`] tells the two apart.
pub fn param_count(layer: &mut dyn Layer) -> usize {
    param_counts(layer).total
}

/// How many scalars a model holds, and how many of them an optimizer may change.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct ParamCounts {
    /// Scalars in trainable parameters ([`Param::trainable`]).
    pub trainable: usize,
    /// Scalars in all parameters.
    pub total: usize,
}

impl ParamCounts {
    /// Scalars in frozen parameters: `total − trainable`.
    pub fn frozen(&self) -> usize {
        self.total - self.trainable
    }
}

impl fmt::Display for ParamCounts {
    /// `62006 parameters (all trainable)` or `62006 parameters (850 trainable, 61156 frozen)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.trainable == self.total {
            write!(f, "{} parameters (all trainable)", self.total)
        } else {
            write!(
                f,
                "{} parameters ({} trainable, {} frozen)",
                self.total,
                self.trainable,
                self.frozen()
            )
        }
    }
}

/// The trainable and total number of scalars in `layer`'s parameters.
pub fn param_counts(layer: &mut dyn Layer) -> ParamCounts {
    let mut counts = ParamCounts::default();
    layer.visit_params(&mut |_, p| {
        counts.total += p.len();
        if p.trainable {
            counts.trainable += p.len();
        }
    });
    counts
}

/// Panics with the message every layer gives when `backward` finds nothing cached: no forward pass
/// in [`Mode::Train`] or [`Mode::Eval`] came before it (a [`Mode::Inference`] forward caches nothing).
pub fn panic_without_cache(layer: &str) -> ! {
    panic!(
        "{layer}: backward called without a preceding forward in Mode::Train or Mode::Eval \
         (a Mode::Inference forward caches nothing)"
    )
}

/// Panics unless the gradient handed to `backward` has the shape of the layer's last training output
/// (`expected`), naming the layer and both shapes.
pub fn assert_grad_shape(layer: &str, grad_output: &Tensor, expected: &[usize]) {
    assert_eq!(
        grad_output.shape(),
        expected,
        "{layer}: backward got a gradient of shape {:?}, but the last training forward produced \
         an output of shape {expected:?}",
        grad_output.shape()
    );
}
