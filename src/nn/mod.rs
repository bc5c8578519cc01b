//! Chapters 6–9 (neurons, feed-forward, CNN, RNN): layers with an explicit forward and backward pass.
//!
//! A layer maps an input tensor to an output tensor ([`Layer::forward`]) and, given the gradient of the
//! loss with respect to its output, returns the gradient with respect to its input and *adds* the
//! gradients of its parameters into their [`Param::grad`] ([`Layer::backward`]). This is the CS231n /
//! llm.c style: no hidden graph, every backward pass written out next to its forward pass.
//!
//! Parameter names and layouts follow PyTorch (`weight` `[out, in]`, `bias` `[out]`, a [`Sequential`]
//! prefixes its children's names with their index: `0.weight`, `2.bias`), so checkpoints load into
//! the equivalent PyTorch module unchanged.

pub mod conv;
pub mod conv_gradient;
mod flatten;
pub mod im2col;
mod layer;
pub mod pool;
mod sequential;

pub use conv::{Conv2d, Conv2dBuilder};
pub use flatten::Flatten;
pub use layer::{Layer, Mode, Param, param_count, zero_grad};
pub use pool::{AvgPool2d, MaxPool2d};
pub use sequential::Sequential;
