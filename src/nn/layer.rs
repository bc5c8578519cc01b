//! The [`Layer`] trait, trainable parameters ([`Param`]) and the train/eval [`Mode`].

use crate::probability::Rng;
use crate::tensor::Tensor;

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

/// A trainable parameter: its value and the gradient of the loss with respect to it (same shape).
#[derive(Clone, Debug)]
pub struct Param {
    /// The current value, updated by an optimizer.
    pub value: Tensor,
    /// ∂loss/∂value, *accumulated* by `backward` (`+=`) until [`Param::zero_grad`] resets it.
    pub grad: Tensor,
}

impl Param {
    /// A parameter with this value and a zero gradient.
    pub fn new(value: Tensor) -> Param {
        let grad = value.zeros_like();
        Param { value, grad }
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
pub trait Layer: Send {
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
                "{layer}: backward called without a preceding forward in Mode::Train or Eval \
                 (a Mode::Inference forward caches nothing)"
            ),
        }
    }
}

/// Sets every parameter gradient of `layer` to zero.
pub fn zero_grad(layer: &mut dyn Layer) {
    layer.visit_params(&mut |_, p| p.zero_grad());
}

/// The number of trainable scalars in `layer`.
pub fn param_count(layer: &mut dyn Layer) -> usize {
    let mut count = 0;
    layer.visit_params(&mut |_, p| count += p.len());
    count
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
