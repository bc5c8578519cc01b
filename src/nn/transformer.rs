//! `TransformerBlock`: one pre-norm transformer layer, as PyTorch's
//! `nn.TransformerEncoderLayer(d_model, nhead, dim_feedforward, dropout=0, activation="gelu",
//! batch_first=True, norm_first=True)` — and as each block of GPT-2 and nanoGPT. Chapter 16 stacks
//! them into a language model ([`super::Gpt`]).
//!
//! Shapes (letters from the crate docs; F = `dim_feedforward`, usually 4E):
//! ```text
//! x   [N, T, E]
//! x₁  = x  + self_attn(norm1(x))                 attention: each position gathers from the others
//! out = x₁ + linear2(GELU(linear1(norm2(x₁))))   feed-forward: each position on its own, E → F → E
//! ```
//! Parameter names and layouts are PyTorch's, in its order: `self_attn.in_proj_weight [3E, E]`,
//! `self_attn.in_proj_bias`, `self_attn.out_proj.weight [E, E]`, `self_attn.out_proj.bias`,
//! `linear1.weight [F, E]`, `linear1.bias`, `linear2.weight [E, F]`, `linear2.bias`, `norm1.weight`,
//! `norm1.bias`, `norm2.weight`, `norm2.bias` — a `state_dict` of that PyTorch layer loads unchanged.
//!
//! **Why "pre-norm" and residual connections.** Each part adds its result to the stream x instead of
//! replacing it, so the block starts close to the identity and the gradient has a direct path
//! through every block (the `+ x` passes ∂L/∂out straight to ∂L/∂x). Normalising the *input* of
//! each part (`norm_first=True`) rather than the sum keeps that path free of normalisations; deep
//! stacks then train without a learning-rate warm-up being critical (Xiong et al., 2020).
//!
//! Backward, given `d_out`, in the reverse order of the forward pass:
//! ```text
//! d_g  = d_out·W₂                      (linear2; dW₂ += d_outᵀ·g, db₂ += Σ d_out)
//! d_u  = d_g ⊙ GELU′(u)                u = linear1(h₂), g = GELU(u); in linear2's epilogue
//! d_h₂ = d_u·W₁                        (linear1; dW₁ += d_uᵀ·h₂, db₁ += Σ d_u)
//! d_x₁ = d_out + norm2′(d_h₂)          the residual path plus the path through the feed-forward part
//! d_h₁ = self_attn′(d_x₁)
//! dx   = d_x₁ + norm1′(d_h₁)           again both paths
//! ```
//! (′ = that layer's backward pass, see `layer_norm.rs` and `multihead_attention.rs`.)
//!
//! `u` itself is never stored: linear1's GEMM turns each finished row of it into `g` and GELU′(u)
//! while it is in the cache ([`Linear::forward_gelu_into`]), and linear2's backward GEMM multiplies
//! by GELU′(u) the same way ([`Linear::backward_times_slope_into`]).
//!
//! The block keeps what its backward pass needs (`h₁`, `x₁`, `h₂`, `g`, GELU′(u) and the
//! attention's buffers), reused from step to step. [`TransformerBlock::forward_rows`] and
//! [`TransformerBlock::backward_rows`] are the slice-level passes a model uses: the model keeps the
//! block's input (its residual stream) itself and lends the blocks one shared [`BlockScratch`].
//!
//! What it leaves out: dropout (the chapter's configuration has none), the post-norm variant
//! (`norm_first=False`), ReLU as the activation, cross-attention (a decoder layer).

use super::layer::{Layer, Mode, Param, assert_grad_shape};
use super::layer_norm::LayerNorm;
use super::linear::Linear;
use super::multihead_attention::{AttentionScratch, MultiheadAttention};
use crate::probability::Rng;
use crate::tensor::Tensor;

/// A pre-norm transformer layer (see the module docs).
pub struct TransformerBlock {
    /// `self_attn`: multi-head self-attention.
    pub self_attn: MultiheadAttention,
    /// `linear1`: E → F.
    pub linear1: Linear,
    /// `linear2`: F → E.
    pub linear2: Linear,
    /// `norm1`, before the attention.
    pub norm1: LayerNorm,
    /// `norm2`, before the feed-forward part.
    pub norm2: LayerNorm,
    buffers: Buffers,
}

/// What the forward pass keeps for the backward pass (each `[R, E]` or `[R, F]`, R = N·T rows).
#[derive(Default)]
struct Buffers {
    batch: usize,
    steps: usize,
    valid: bool,
    /// The input x (kept by the [`Layer`] API only).
    input: Vec<f32>,
    /// h₁ = norm1(x), the attention's input.
    h1: Vec<f32>,
    /// x₁ = x + attention.
    x1: Vec<f32>,
    /// h₂ = norm2(x₁), linear1's input.
    h2: Vec<f32>,
    /// GELU′(u) with u = linear1(h₂): all the backward pass needs of the GELU.
    slope: Vec<f32>,
    /// g = GELU(u), linear2's input.
    g: Vec<f32>,
    /// The work space of the [`Layer`] API's calls.
    scratch: BlockScratch,
}

/// Work space of a block's passes that need not survive between them; a model lends one to all its
/// blocks in turn (see [`AttentionScratch`]).
#[derive(Default)]
pub struct BlockScratch {
    attention: AttentionScratch,
    /// Backward: ∂L/∂g, then ∂L/∂u in place `[R, F]`.
    d_g: Vec<f32>,
    /// Backward: ∂L/∂h₂, later ∂L/∂h₁ `[R, E]`.
    d_h: Vec<f32>,
}

impl TransformerBlock {
    /// `nn.TransformerEncoderLayer(d_model, nhead, dim_feedforward, dropout=0, activation="gelu",
    /// batch_first=True, norm_first=True)` with PyTorch's initialisation of each part; not causal.
    pub fn new(
        d_model: usize,
        nhead: usize,
        dim_feedforward: usize,
        rng: &mut Rng,
    ) -> TransformerBlock {
        TransformerBlock {
            self_attn: MultiheadAttention::new(d_model, nhead, rng),
            linear1: Linear::new(d_model, dim_feedforward, rng),
            linear2: Linear::new(dim_feedforward, d_model, rng),
            norm1: LayerNorm::new(d_model),
            norm2: LayerNorm::new(d_model),
            buffers: Buffers::default(),
        }
    }

    /// Makes the attention causal (a language model's block): position i sees positions ≤ i.
    pub fn causal(mut self, causal: bool) -> TransformerBlock {
        self.self_attn = self.self_attn.causal(causal);
        self
    }

    /// Sets the attention's key-padding mask `[N, T]` (`true` = padding), see
    /// [`MultiheadAttention::set_key_padding_mask`].
    pub fn set_key_padding_mask(&mut self, mask: Option<Vec<bool>>) {
        self.self_attn.set_key_padding_mask(mask);
    }

    /// The width E.
    pub fn d_model(&self) -> usize {
        self.norm1.features()
    }

    /// The slice-level forward pass: `x` `[N, T, E]` (row-major, `batch` × `steps` rows) into `out`
    /// (same size). With `keep`, the block keeps what [`TransformerBlock::backward_rows`] needs.
    pub fn forward_rows(
        &mut self,
        x: &[f32],
        batch: usize,
        steps: usize,
        out: &mut [f32],
        keep: bool,
        scratch: &mut BlockScratch,
    ) {
        let e = self.d_model();
        let f = self.linear1.out_features();
        let rows = batch * steps;
        assert!(
            x.len() == rows * e && out.len() == rows * e,
            "TransformerBlock(E={e}): {} input and {} output values for {batch} sequences of {steps} \
             steps (expected {} each)",
            x.len(),
            out.len(),
            rows * e
        );
        let b = &mut self.buffers;
        b.batch = batch;
        b.steps = steps;
        b.valid = keep;
        for buffer in [&mut b.h1, &mut b.x1, &mut b.h2] {
            buffer.resize(rows * e, 0.0);
        }
        b.slope.resize(rows * f, 0.0);
        b.g.resize(rows * f, 0.0);

        // x₁ = x + self_attn(norm1(x))
        self.norm1.forward_rows(x, &mut b.h1, keep);
        self.self_attn.forward_rows(
            &b.h1,
            batch,
            steps,
            &mut b.x1,
            Some(x),
            keep,
            &mut scratch.attention,
        );
        // out = x₁ + linear2(GELU(linear1(norm2(x₁))))
        self.norm2.forward_rows(&b.x1, &mut b.h2, keep);
        self.linear1
            .forward_gelu_into(&b.h2, &mut b.g, &mut b.slope);
        self.linear2.forward_add_into(&b.g, &b.x1, out);
    }

    /// The slice-level backward pass for the last caching [`TransformerBlock::forward_rows`]: `x` is
    /// that pass's input again, `d_out` = ∂L/∂out; adds every parameter's gradient and writes
    /// ∂L/∂x into `dx` (formulas in the module docs).
    pub fn backward_rows(
        &mut self,
        x: &[f32],
        d_out: &[f32],
        dx: &mut [f32],
        scratch: &mut BlockScratch,
    ) {
        let b = &mut self.buffers;
        assert!(
            b.valid,
            "TransformerBlock::backward called without a preceding forward in Mode::Train or \
             Mode::Eval (a Mode::Inference forward caches nothing)"
        );
        let e = self.norm1.features();
        let f = self.linear1.out_features();
        let rows = b.batch * b.steps;
        assert!(
            x.len() == rows * e && d_out.len() == rows * e && dx.len() == rows * e,
            "TransformerBlock(E={e}): backward got {} input, {} gradient and {} output values for the \
             {rows} rows of the last forward",
            x.len(),
            d_out.len(),
            dx.len()
        );
        scratch.d_g.resize(rows * f, 0.0);
        scratch.d_h.resize(rows * e, 0.0);

        // The feed-forward part: d_u = (d_out·W₂) ⊙ GELU′(u) (in d_g), d_h₂ = d_u·W₁.
        self.linear2
            .backward_times_slope_into(&b.g, d_out, &b.slope, &mut scratch.d_g);
        self.linear1
            .backward_into(&b.h2, &scratch.d_g, Some(&mut scratch.d_h), false);
        // d_x₁ = d_out + norm2′(d_h₂), built in dx.
        self.norm2
            .backward_rows_plus(&b.x1, &scratch.d_h, d_out, dx);
        // d_h₁ = self_attn′(d_x₁); dx = d_x₁ + norm1′(d_h₁).
        self.self_attn
            .backward_rows(&b.h1, dx, &mut scratch.d_h, false, &mut scratch.attention);
        self.norm1.backward_rows(x, &scratch.d_h, dx, true);
    }

    /// The attention weights of the last caching forward pass, `[N, heads, T, T]` (see
    /// [`MultiheadAttention::attention_weights`]).
    pub fn attention_weights(&self) -> Tensor {
        self.self_attn.attention_weights()
    }
}

impl Layer for TransformerBlock {
    fn forward(&mut self, x: &Tensor, mode: Mode) -> Tensor {
        let e = self.d_model();
        assert!(
            x.ndim() == 3 && x.dim(2) == e,
            "TransformerBlock(E={e}): expected an input [N, T, {e}] (batch first), got {:?}",
            x.shape()
        );
        let mut y = Tensor::zeros(x.shape());
        let keep = mode.keeps_cache();
        let mut scratch = std::mem::take(&mut self.buffers.scratch);
        self.forward_rows(
            x.data(),
            x.dim(0),
            x.dim(1),
            y.data_mut(),
            keep,
            &mut scratch,
        );
        self.buffers.scratch = scratch;
        if keep {
            self.buffers.input.clear();
            self.buffers.input.extend_from_slice(x.data());
        }
        y
    }

    fn backward(&mut self, grad_output: &Tensor) -> Tensor {
        let b = &self.buffers;
        assert!(
            b.valid,
            "TransformerBlock::backward called without a preceding forward in Mode::Train or \
             Mode::Eval (a Mode::Inference forward caches nothing)"
        );
        let shape = [b.batch, b.steps, self.d_model()];
        assert_grad_shape("TransformerBlock", grad_output, &shape);
        let mut dx = Tensor::zeros(&shape);
        let input = std::mem::take(&mut self.buffers.input);
        let mut scratch = std::mem::take(&mut self.buffers.scratch);
        self.backward_rows(&input, grad_output.data(), dx.data_mut(), &mut scratch);
        self.buffers.input = input;
        self.buffers.scratch = scratch;
        dx
    }

    fn visit_params(&mut self, f: &mut dyn FnMut(&str, &mut Param)) {
        self.self_attn
            .visit_params(&mut |name, p| f(&format!("self_attn.{name}"), p));
        self.linear1
            .visit_params(&mut |name, p| f(&format!("linear1.{name}"), p));
        self.linear2
            .visit_params(&mut |name, p| f(&format!("linear2.{name}"), p));
        self.norm1
            .visit_params(&mut |name, p| f(&format!("norm1.{name}"), p));
        self.norm2
            .visit_params(&mut |name, p| f(&format!("norm2.{name}"), p));
    }

    fn describe(&self) -> String {
        format!(
            "TransformerBlock(d_model={}, nhead={}, dim_feedforward={}, pre-norm, GELU, causal={})",
            self.d_model(),
            self.self_attn.num_heads(),
            self.linear1.out_features(),
            self.self_attn.is_causal()
        )
    }
}
