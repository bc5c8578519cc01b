//! Input gradients and saliency maps (chapter 18).
//!
//! For a network F with outputs (class scores) `F_c(x)`, the *input gradient* `∂F_c/∂x` says how
//! much each input value moves the score of class c, to first order. Its magnitude per pixel (the
//! largest over the colour channels) is the *saliency map* of Simonyan, Vedaldi & Zisserman (2014).
//! For a linear model `F(x) = W·x + b` the gradient is the row `W_c` itself, so the saliency is
//! `|W_c|` exactly — a check any implementation must pass.
//!
//! Gradients are taken of the class scores (logits), not of the probabilities: the softmax couples
//! all classes and saturates.

use crate::nn::{Layer, Mode, zero_grad};
use crate::tensor::Tensor;

/// `∂F_{c_n}(x_n)/∂x_n` for every example n of the batch `x` (`[N, …]`), class `classes[n]`: one
/// forward pass in [`Mode::Eval`] and one backward pass of the one-hot output gradient. Examples
/// do not interact in a network without batch statistics, so row n of the result is row n's own
/// gradient. The parameter gradients this accumulates are cleared again. Panics if a class is out
/// of range or the number of classes is not N.
pub fn input_gradients(model: &mut dyn Layer, x: &Tensor, classes: &[usize]) -> Tensor {
    let y = model.forward(x, Mode::Eval);
    assert!(
        y.ndim() == 2 && y.dim(0) == classes.len(),
        "input_gradients: {} classes for outputs of shape {:?}",
        classes.len(),
        y.shape()
    );
    let k = y.dim(1);
    let mut grad = Tensor::zeros(y.shape());
    for (n, &c) in classes.iter().enumerate() {
        assert!(
            c < k,
            "input_gradients: class {c} of example {n} is not in 0..{k}"
        );
        grad.data_mut()[n * k + c] = 1.0;
    }
    let input_grad = model.backward(&grad);
    zero_grad(model);
    input_grad
}

/// The saliency map `[H, W]` of one image `x` (`[1, C, H, W]`) for class `class`:
/// `max_c |∂F_class/∂x[c, h, w]|`.
pub fn saliency(model: &mut dyn Layer, x: &Tensor, class: usize) -> Tensor {
    saliency_map(&input_gradients(model, x, &[class]))
}

/// `max_c |g[0, c, h, w]|`: the per-pixel magnitude of an image gradient `[1, C, H, W]`.
pub fn saliency_map(gradient: &Tensor) -> Tensor {
    assert!(
        gradient.ndim() == 4 && gradient.dim(0) == 1,
        "saliency_map: expected a gradient [1, C, H, W], got {:?}",
        gradient.shape()
    );
    let (channels, h, w) = (gradient.dim(1), gradient.dim(2), gradient.dim(3));
    Tensor::from_fn(&[h, w], |p| {
        (0..channels)
            .map(|c| gradient.data()[c * h * w + p].abs())
            .fold(0.0, f32::max)
    })
}
