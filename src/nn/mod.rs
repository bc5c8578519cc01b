//! Chapters 6–9 and 16 (neurons, feed-forward, CNN, RNN, transformer): layers with an explicit forward
//! and backward pass.
//!
//! A layer maps an input tensor to an output tensor ([`Layer::forward`]) and, given the gradient of the
//! loss with respect to its output, returns the gradient with respect to its input and *adds* the
//! gradients of its parameters into their [`Param::grad`] ([`Layer::backward`]). This is the CS231n /
//! llm.c style: no hidden graph, every backward pass written out next to its forward pass.
//!
//! Parameter names and layouts follow PyTorch (`weight` `[out, in]`, `bias` `[out]`, a [`Sequential`]
//! prefixes its children's names with their index: `0.weight`, `2.bias`; a stacked LSTM numbers its
//! layers: `weight_ih_l1`), so checkpoints load into the equivalent PyTorch module unchanged.
//!
//! # Using a trained model
//! Every layer gets, from its `visit_params`: [`Layer::state_dict`] and [`Layer::load_state_dict`]
//! (strict or not, with [`StateDict`]'s key renaming to load a part of a bigger model);
//! [`Layer::freeze`] / [`Layer::set_trainable`] (optimizers skip frozen parameters;
//! [`param_counts`] tells trainable from total); and backward after a [`Mode::Eval`] forward (input
//! gradients of the evaluated network). [`Sequential::layer_mut`] and [`downcast_mut`] reach a
//! layer's own type (an LSTM's initial state) through `dyn Layer`.
//!
//! | file | what it teaches |
//! |---|---|
//! | `layer.rs` | the [`Layer`] trait, [`Param`] (trainable or frozen), [`Mode`], the reusable [`Cache`], [`downcast_mut`] |
//! | `state_dict.rs` | [`StateDict`]: a model's parameters by name; loading strictly or not; renaming keys (chapters 12–18) |
//! | `activation.rs` | element-wise activations and their derivatives, [`Softmax`] (chapter 6) |
//! | `gelu.rs` | GELU, exact (`x·Φ(x)`, Φ from [`mod@crate::probability::erf`]) and tanh-approximated (chapter 6) |
//! | `init.rs` | Xavier/Kaiming initialisation (chapter 7) |
//! | `linear.rs` | [`Linear`], the fully connected layer, one GEMM per pass (chapter 7) |
//! | `dropout.rs` | [`Dropout`], inverted and seeded (chapter 7) |
//! | `sequential.rs` | [`Sequential`], layers in a chain (chapter 7) |
//! | `mlp.rs` | [`mlp`]: `Linear → ReLU → … → Linear` from a list of widths (chapter 17) |
//! | `recurrent.rs` | what [`RNN`], [`LSTM`], [`GRU`] share: [`RecurrentOutput`], threading, fast σ/tanh, stacking `num_layers` layers (chapter 9) |
//! | `rnn.rs`, `lstm.rs`, `gru.rs` | the recurrent layers, forward and backpropagation through time (chapter 9) |
//! | `conv.rs` | [`Conv2d`], convolution by im2col + GEMM, threaded over the batch (chapter 8) |
//! | `im2col.rs` | im2col / col2im: a convolution as a matrix product (chapter 8) |
//! | `pool.rs` | [`MaxPool2d`], [`AvgPool2d`], stride defaulting to the kernel size (chapter 8) |
//! | `flatten.rs` | [`Flatten`], `[N, C, H, W] → [N, C·H·W]` (chapters 8, 12) |
//! | `models.rs` | the tutorial's two `SimpleCNN` classes: [`SmallCnn`] (ch. 8), [`CifarCnn`] (ch. 12) |
//! | `embedding.rs` | [`Embedding`], token ids to learned vectors (chapter 13) |
//! | `layer_norm.rs` | [`LayerNorm`], normalising each row over its features (chapter 16) |
//! | `attention.rs` | scaled dot-product attention for one head, causal and key-padding masks, the backward pass derived (chapter 16) |
//! | `multihead_attention.rs` | [`MultiheadAttention`], PyTorch's names and layouts, heads in parallel (chapter 16) |
//! | `transformer.rs` | [`TransformerBlock`], the pre-norm layer of `nn.TransformerEncoderLayer(norm_first=True)` (chapter 16) |
//! | `positional.rs` | [`PositionalEmbedding`], a learned vector per position (chapter 16) |
//! | `gpt.rs` | [`Gpt`], a GPT-2/nanoGPT-shaped language model with a tied output layer (chapter 16) |
//! | `gpt_classifier.rs` | [`GptClassifier`], a GPT with mean pooling and a linear head, for transfer learning (chapter 16) |

mod activation;
pub mod attention;
pub mod conv;
mod dropout;
mod embedding;
mod flatten;
mod gelu;
mod gpt;
mod gpt_classifier;
mod gru;
pub mod im2col;
pub mod init;
mod layer;
mod layer_norm;
mod linear;
mod lstm;
mod mlp;
pub mod models;
mod multihead_attention;
pub mod pool;
mod positional;
pub mod recurrent;
mod rnn;
mod sequential;
pub mod state_dict;
mod transformer;

pub use activation::{
    Gelu, Identity, LeakyRelu, Relu, Sigmoid, Softmax, Tanh, leaky_relu, leaky_relu_derivative,
    relu, relu_derivative, sigmoid, sigmoid_derivative, tanh, tanh_derivative,
};
pub use conv::{Conv2d, Conv2dBuilder};
pub use dropout::Dropout;
pub use flatten::Flatten;
pub use gelu::{
    gelu, gelu_and_slope, gelu_backward_in_place, gelu_derivative, gelu_into, gelu_tanh,
    gelu_tanh_derivative, gelu_with_slope_into, normal_cdf_fast, normal_cdf_pdf_fast,
};
pub use layer::{
    Cache, Layer, Mode, Param, ParamCounts, assert_grad_shape, downcast_mut, downcast_ref,
    panic_without_cache, param_count, param_counts, zero_grad,
};
pub use linear::Linear;
pub use mlp::{mlp, mlp_layers_text};
pub use models::{CifarCnn, SmallCnn};
pub use pool::{AvgPool2d, MaxPool2d};
pub use sequential::Sequential;
pub use state_dict::{LoadReport, StateDict};

pub use embedding::Embedding;
pub use gru::GRU;
pub use lstm::LSTM;
pub use recurrent::RecurrentOutput;
pub use rnn::RNN;

pub use attention::AttentionMask;
pub use gpt::{Gpt, GptConfig, next_token_loss};
pub use gpt_classifier::{GptClassifier, mean_pool, sequence_lengths};
pub use layer_norm::LayerNorm;
pub use multihead_attention::{AttentionScratch, MultiheadAttention};
pub use positional::PositionalEmbedding;
pub use transformer::{BlockScratch, TransformerBlock};
