//! `Flatten`: turns each example of a batch into one row, `[N, d₁, d₂, …] → [N, d₁·d₂·…]`, as PyTorch's
//! `nn.Flatten()` (or the tutorial's `x.view(-1, 16 * 5 * 5)`).
//!
//! Used in chapters 8 and 12 between the last pooling layer and the first fully connected layer. The
//! values do not move — a row-major `[N, C, H, W]` buffer already *is* a row-major `[N, C·H·W]` one —
//! so forward and backward only change the shape:
//!
//! ```text
//! forward:  y = reshape(x, [N, C·H·W])
//! backward: ∂L/∂x = reshape(∂L/∂y, shape of x)
//! ```
//!
//! What it leaves out: PyTorch's `start_dim`/`end_dim` (it always keeps the first axis).

use super::layer::{Layer, Mode, panic_without_cache};
use crate::tensor::Tensor;

/// Flattens everything but the batch axis (see the module docs).
#[derive(Default)]
pub struct Flatten {
    input_shape: Option<Vec<usize>>,
}

impl Flatten {
    /// A flatten layer.
    pub fn new() -> Flatten {
        Flatten::default()
    }
}

impl Layer for Flatten {
    fn forward(&mut self, x: &Tensor, mode: Mode) -> Tensor {
        assert!(
            x.ndim() >= 1,
            "Flatten: needs at least a batch axis, got a scalar"
        );
        self.input_shape = (mode.keeps_cache()).then(|| x.shape().to_vec());
        x.clone().reshape(&[x.dim(0), x.row_len()])
    }

    fn backward(&mut self, grad_output: &Tensor) -> Tensor {
        let shape = self
            .input_shape
            .as_ref()
            .unwrap_or_else(|| panic_without_cache("Flatten"));
        assert_eq!(
            grad_output.len(),
            shape.iter().product::<usize>(),
            "Flatten: backward got a gradient of shape {:?} for an input of shape {shape:?}",
            grad_output.shape()
        );
        grad_output.clone().reshape(shape)
    }

    fn describe(&self) -> String {
        "Flatten(start_dim=1, end_dim=-1)".to_string()
    }
}
