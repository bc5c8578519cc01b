//! `MultiheadAttention`: self-attention with several heads, as `torch.nn.MultiheadAttention` with
//! `batch_first=True`. Chapter 16's transformer block is built around it.
//!
//! Shapes (letters from the crate docs; R = N·T rows, D = E/heads the width of one head):
//! ```text
//! x            [N, T, E]
//! qkv = x·W_inᵀ + b_in          [N, T, 3E]   one GEMM: queries, keys and values side by side
//!   q, k, v = its three E-wide column blocks; head h uses columns h·D..(h+1)·D of each
//! O_h = attention(q_h, k_h, v_h) [N, T, D]   per sequence and head (see `attention.rs`)
//! merged = [O_0 | O_1 | … ]      [N, T, E]   the heads side by side again
//! y = merged·W_outᵀ + b_out      [N, T, E]
//! ```
//! Parameters, with PyTorch's names and layouts (so a `state_dict` loads unchanged):
//! `in_proj_weight [3E, E]` (rows: the query, key and value projections stacked),
//! `in_proj_bias [3E]`, `out_proj.weight [E, E]`, `out_proj.bias [E]`. Initialised as PyTorch does:
//! `in_proj_weight` Xavier-uniform, both biases 0, `out_proj.weight` as a default [`Linear`].
//!
//! Backward, given dy: the out projection's (`dW_out += dyᵀ·merged`, `db_out += Σ dy`,
//! `d_merged = dy·W_out`); each head's attention backward (derived in `attention.rs`) turns its
//! columns of `d_merged` into dq_h, dk_h, dv_h, which land in the matching columns of `d_qkv`
//! `[N, T, 3E]`; then the in projection's (`dW_in += d_qkvᵀ·x`, `db_in += Σ d_qkv`,
//! `dx = d_qkv·W_in`).
//!
//! # Masks
//! [`MultiheadAttention::causal`] makes every position attend to itself and earlier positions only
//! (PyTorch's `is_causal=True` / a causal `attn_mask`); [`MultiheadAttention::set_key_padding_mask`]
//! takes PyTorch's `key_padding_mask` `[N, T]` (`true` = padding: no query attends to it). A query
//! whose every key is masked gets zeros (PyTorch gives NaN).
//!
//! # Speed and determinism
//! The two projections are single large GEMMs (threaded over rows by the GEMM). The attention
//! itself is N·heads independent (sequence, head) problems: they run as tasks on the thread pool,
//! each reading its head straight out of `qkv` through strided views and writing only its own
//! `[T, D]` output and `[T, T]` weights, so the result is the same bit for bit with any number of
//! threads. Buffers live in the layer and are reused, so a training step with fixed shapes
//! allocates only the tensors the [`Layer`] API returns.
//!
//! What it leaves out: cross-attention (separate query, key and value inputs; `kdim`/`vdim`),
//! `batch_first=False`, dropout on the attention weights, `add_bias_kv`, `add_zero_attn`, float
//! `attn_mask`s, returning the averaged weights from `forward` (they are readable with
//! [`MultiheadAttention::attention_weights`] instead).

use super::attention::{AttentionMask, attention_backward, attention_forward};
use super::init::xavier_uniform;
use super::layer::{Layer, Mode, Param, assert_grad_shape};
use super::linear::{AddBiasResidual, Linear};
use super::recurrent::{add_partials, run_tasks};
use crate::linalg::gemm::{MatMut, MatRef, gemm_epilogue, gemm_nn, gemm_tn};
use crate::parallel;
use crate::probability::Rng;
use crate::tensor::Tensor;

/// Multi-head self-attention (see the module docs).
pub struct MultiheadAttention {
    embed_dim: usize,
    num_heads: usize,
    causal: bool,
    key_padding_mask: Option<Vec<bool>>,
    in_proj_weight: Param,
    in_proj_bias: Param,
    out_proj: Linear,
    buffers: Buffers,
}

/// What the forward pass keeps for the backward pass. Reused from call to call (`Vec::resize` keeps
/// the capacity).
#[derive(Default)]
struct Buffers {
    batch: usize,
    steps: usize,
    /// True after a caching forward pass.
    valid: bool,
    /// The input `[R, E]` (kept by the [`Layer`] API only; the transformer block hands it back).
    input: Vec<f32>,
    /// `x·W_inᵀ + b_in` `[R, 3E]`.
    qkv: Vec<f32>,
    /// The attention weights P of every (sequence, head) `[N, heads, T, T]`.
    probs: Vec<f32>,
    /// The heads side by side `[R, E]`, the input of the out projection.
    merged: Vec<f32>,
    /// The work space of the [`Layer`] API's calls.
    scratch: AttentionScratch,
}

/// Work space of [`MultiheadAttention`]'s passes that need not survive between them. A model with
/// several attention layers keeps one and lends it to each layer in turn (the layers run one after
/// the other), so the work space exists once, not once per layer.
#[derive(Default)]
pub struct AttentionScratch {
    /// Forward: each head's output `[N, heads, T, D]`, contiguous per task.
    heads: Vec<f32>,
    /// Backward: ∂L/∂merged `[R, E]`.
    d_merged: Vec<f32>,
    /// Backward: ∂L/∂(q, k, v) of each (sequence, head) `[N, heads, 3, T, D]`.
    d_heads: Vec<f32>,
    /// Backward: scratch for ∂L/∂scores `[N, heads, T, T]`.
    d_scores: Vec<f32>,
    /// Backward: ∂L/∂qkv `[R, 3E]`.
    d_qkv: Vec<f32>,
    /// Backward: the in-projection bias gradient, summed per sequence `[N, 3E]`.
    bias_partials: Vec<f32>,
}

/// One (sequence, head) task's share of the forward pass.
struct ForwardTask<'a> {
    sequence: usize,
    head: usize,
    probs: &'a mut [f32],
    out: &'a mut [f32],
}

/// One (sequence, head) task's share of the backward pass.
struct BackwardTask<'a> {
    sequence: usize,
    head: usize,
    d_scores: &'a mut [f32],
    d_qkv: &'a mut [f32],
}

impl MultiheadAttention {
    /// `nn.MultiheadAttention(embed_dim, num_heads, batch_first=True)`, PyTorch's initialisation,
    /// no mask. Panics unless `num_heads` divides `embed_dim`.
    pub fn new(embed_dim: usize, num_heads: usize, rng: &mut Rng) -> MultiheadAttention {
        assert!(
            embed_dim > 0 && num_heads > 0 && embed_dim.is_multiple_of(num_heads),
            "MultiheadAttention::new: embed_dim {embed_dim} must be a positive multiple of num_heads \
             {num_heads}"
        );
        let in_proj_weight = xavier_uniform(&[3 * embed_dim, embed_dim], 1.0, rng);
        let mut out_proj = Linear::new(embed_dim, embed_dim, rng);
        if let Some(bias) = out_proj.bias_mut() {
            bias.value.fill(0.0);
        }
        MultiheadAttention {
            embed_dim,
            num_heads,
            causal: false,
            key_padding_mask: None,
            in_proj_weight: Param::new(in_proj_weight),
            in_proj_bias: Param::new(Tensor::zeros(&[3 * embed_dim])),
            out_proj,
            buffers: Buffers::default(),
        }
    }

    /// Makes the attention causal: position i attends to positions 0..=i only.
    pub fn causal(mut self, causal: bool) -> MultiheadAttention {
        self.causal = causal;
        self
    }

    /// Whether the attention is causal.
    pub fn is_causal(&self) -> bool {
        self.causal
    }

    /// Sets PyTorch's `key_padding_mask` for the following forward passes: `[N, T]` flags,
    /// row-major, `true` = that position is padding and no query attends to it. `None` removes it.
    /// Its size is checked against the batch at the next forward pass.
    pub fn set_key_padding_mask(&mut self, mask: Option<Vec<bool>>) {
        self.key_padding_mask = mask;
    }

    /// The embedding width E.
    pub fn embed_dim(&self) -> usize {
        self.embed_dim
    }

    /// The number of heads.
    pub fn num_heads(&self) -> usize {
        self.num_heads
    }

    /// The width of one head, D = E / heads.
    pub fn head_dim(&self) -> usize {
        self.embed_dim / self.num_heads
    }

    /// `in_proj_weight [3E, E]` and its gradient.
    pub fn in_proj_weight(&self) -> &Param {
        &self.in_proj_weight
    }

    /// `in_proj_bias [3E]` and its gradient.
    pub fn in_proj_bias(&self) -> &Param {
        &self.in_proj_bias
    }

    /// The output projection (`out_proj.weight [E, E]`, `out_proj.bias [E]`).
    pub fn out_proj(&self) -> &Linear {
        &self.out_proj
    }

    /// The attention weights of the last caching forward pass, `[N, heads, T, T]`: row i of
    /// `[n, h]` says how much position i of sequence n attended to each position in head h.
    /// Panics when the last forward pass was in [`Mode::Inference`].
    pub fn attention_weights(&self) -> Tensor {
        let b = &self.buffers;
        assert!(
            b.valid,
            "MultiheadAttention::attention_weights: run a forward pass in Mode::Train or Mode::Eval first"
        );
        Tensor::from_vec(
            &[b.batch, self.num_heads, b.steps, b.steps],
            b.probs.clone(),
        )
    }

    /// The slice-level forward pass: `x` holds `batch` sequences of `steps` rows of E values
    /// (`[N, T, E]`, row-major); writes y into `out` (same size) — or, given a `residual` of that
    /// size, `residual + y` (a transformer block's `x + self_attn(…)`, in the same pass). With
    /// `keep`, the buffers stay valid for [`MultiheadAttention::backward_rows`]. `scratch` is work
    /// space (see [`AttentionScratch`]).
    #[allow(clippy::too_many_arguments)]
    pub fn forward_rows(
        &mut self,
        x: &[f32],
        batch: usize,
        steps: usize,
        out: &mut [f32],
        residual: Option<&[f32]>,
        keep: bool,
        scratch: &mut AttentionScratch,
    ) {
        let (e, heads) = (self.embed_dim, self.num_heads);
        let d = e / heads;
        let rows = batch * steps;
        assert!(
            x.len() == rows * e && out.len() == rows * e,
            "MultiheadAttention(E={e}): {} input and {} output values for {batch} sequences of \
             {steps} steps (expected {} each)",
            x.len(),
            out.len(),
            rows * e
        );
        if let Some(mask) = &self.key_padding_mask {
            assert_eq!(
                mask.len(),
                rows,
                "MultiheadAttention: the key-padding mask holds {} flags, but the input has {batch} \
                 sequences of {steps} steps ([N, T] = {rows} flags expected)",
                mask.len()
            );
        }
        let b = &mut self.buffers;
        b.batch = batch;
        b.steps = steps;
        b.valid = keep;
        b.qkv.resize(rows * 3 * e, 0.0);
        b.probs.resize(batch * heads * steps * steps, 0.0);
        scratch.heads.resize(rows * e, 0.0);
        b.merged.resize(rows * e, 0.0);

        // qkv = x·W_inᵀ + b_in   [R, 3E]: the GEMM adds b_in to each row as it finishes it.
        let add_bias = AddBiasResidual {
            bias: Some(self.in_proj_bias.value.data()),
            residual: None,
            n: 3 * e,
        };
        gemm_epilogue(
            MatRef::new(x, rows, e),
            MatRef::new(self.in_proj_weight.value.data(), 3 * e, e).t(),
            &mut b.qkv,
            None,
            &add_bias,
        );

        // Every (sequence, head) pair: P = softmax(q·kᵀ/√D), O = P·v.
        let tasks: Vec<ForwardTask> = b
            .probs
            .chunks_exact_mut(steps * steps)
            .zip(scratch.heads.chunks_exact_mut(steps * d))
            .enumerate()
            .map(|(index, (probs, out))| ForwardTask {
                sequence: index / heads,
                head: index % heads,
                probs,
                out,
            })
            .collect();
        let qkv = &b.qkv;
        let causal = self.causal;
        let padding = self.key_padding_mask.as_deref();
        run_tasks(tasks, |task| {
            let (q, k, v) = head_views(qkv, task.sequence, task.head, steps, e, d);
            let mask = sequence_mask(causal, padding, task.sequence, steps);
            attention_forward(q, k, v, mask, task.probs, MatMut::new(task.out, steps, d));
        });

        // merged[n, t, h·D + j] = heads[n, h, t, j]   (one task per sequence)
        let heads_buffer = &scratch.heads;
        parallel::for_each_chunk_mut(&mut b.merged, steps * e, |n, merged| {
            for h in 0..heads {
                let head = &heads_buffer[(n * heads + h) * steps * d..][..steps * d];
                for (row, source) in merged.chunks_exact_mut(e).zip(head.chunks_exact(d)) {
                    row[h * d..(h + 1) * d].copy_from_slice(source);
                }
            }
        });

        // y = merged·W_outᵀ + b_out (added to the residual when there is one)
        match residual {
            Some(residual) => self.out_proj.forward_add_into(&b.merged, residual, out),
            None => self.out_proj.forward_into(&b.merged, out),
        }
    }

    /// The slice-level backward pass for the last caching [`MultiheadAttention::forward_rows`]: `x`
    /// is that pass's input again, `d_out` = ∂L/∂y. Adds every parameter's gradient and writes
    /// ∂L/∂x into `dx` — or adds it there with `accumulate`.
    pub fn backward_rows(
        &mut self,
        x: &[f32],
        d_out: &[f32],
        dx: &mut [f32],
        accumulate: bool,
        scratch: &mut AttentionScratch,
    ) {
        let b = &mut self.buffers;
        let s = scratch;
        assert!(
            b.valid,
            "MultiheadAttention::backward called without a preceding forward in Mode::Train or \
             Mode::Eval (a Mode::Inference forward caches nothing)"
        );
        let (e, heads) = (self.embed_dim, self.num_heads);
        let d = e / heads;
        let (batch, steps) = (b.batch, b.steps);
        let rows = batch * steps;
        assert!(
            x.len() == rows * e && d_out.len() == rows * e && dx.len() == rows * e,
            "MultiheadAttention(E={e}): backward got {} input, {} gradient and {} output values for \
             the {rows} rows of the last forward",
            x.len(),
            d_out.len(),
            dx.len()
        );
        s.d_merged.resize(rows * e, 0.0);
        s.d_heads.resize(rows * 3 * e, 0.0);
        s.d_scores.resize(batch * heads * steps * steps, 0.0);
        s.d_qkv.resize(rows * 3 * e, 0.0);
        s.bias_partials.resize(batch * 3 * e, 0.0);

        // The out projection: its parameter gradients, and d_merged = dy·W_out.
        self.out_proj
            .backward_into(&b.merged, d_out, Some(&mut s.d_merged), false);

        // Every (sequence, head): dq, dk, dv from its columns of d_merged.
        let tasks: Vec<BackwardTask> = s
            .d_scores
            .chunks_exact_mut(steps * steps)
            .zip(s.d_heads.chunks_exact_mut(3 * steps * d))
            .enumerate()
            .map(|(index, (d_scores, d_qkv))| BackwardTask {
                sequence: index / heads,
                head: index % heads,
                d_scores,
                d_qkv,
            })
            .collect();
        let (qkv, probs, d_merged) = (&b.qkv, &b.probs, &s.d_merged);
        let causal = self.causal;
        let padding = self.key_padding_mask.as_deref();
        run_tasks(tasks, |task| {
            let (q, k, v) = head_views(qkv, task.sequence, task.head, steps, e, d);
            let pair = task.sequence * heads + task.head;
            let d_o = MatRef::with_strides(
                &d_merged[task.sequence * steps * e + task.head * d..],
                steps,
                d,
                e,
                1,
            );
            let (dq, rest) = task.d_qkv.split_at_mut(steps * d);
            let (dk, dv) = rest.split_at_mut(steps * d);
            let mask = sequence_mask(causal, padding, task.sequence, steps);
            attention_backward(
                q,
                k,
                v,
                mask,
                &probs[pair * steps * steps..(pair + 1) * steps * steps],
                d_o,
                task.d_scores,
                MatMut::new(dq, steps, d),
                MatMut::new(dk, steps, d),
                MatMut::new(dv, steps, d),
            );
        });

        // d_qkv[n, t, part·E + h·D + j] = d_heads[n, h, part, t, j], and the bias gradient's
        // per-sequence sums (one task per sequence).
        let d_heads = &s.d_heads;
        let chunks: Vec<(&mut [f32], &mut [f32])> = s
            .d_qkv
            .chunks_exact_mut(steps * 3 * e)
            .zip(s.bias_partials.chunks_exact_mut(3 * e))
            .collect();
        run_tasks(
            chunks.into_iter().enumerate().collect(),
            |(n, (d_qkv, partial))| {
                for h in 0..heads {
                    for part in 0..3 {
                        let source =
                            &d_heads[((n * heads + h) * 3 + part) * steps * d..][..steps * d];
                        let column = part * e + h * d;
                        for (row, values) in
                            d_qkv.chunks_exact_mut(3 * e).zip(source.chunks_exact(d))
                        {
                            row[column..column + d].copy_from_slice(values);
                        }
                    }
                }
                partial.fill(0.0);
                for row in d_qkv.chunks_exact(3 * e) {
                    for (s, &g) in partial.iter_mut().zip(row) {
                        *s += g;
                    }
                }
            },
        );

        // The in projection: dW_in += d_qkvᵀ·x, db_in += Σ d_qkv, dx = d_qkv·W_in.
        gemm_tn(
            3 * e,
            e,
            rows,
            &s.d_qkv,
            x,
            self.in_proj_weight.grad.data_mut(),
            1.0,
        );
        add_partials(&s.bias_partials, self.in_proj_bias.grad.data_mut());
        gemm_nn(
            rows,
            e,
            3 * e,
            &s.d_qkv,
            self.in_proj_weight.value.data(),
            dx,
            if accumulate { 1.0 } else { 0.0 },
        );
    }
}

/// The mask of sequence `sequence`: causal or not, and its `steps` key-padding flags out of the
/// layer's `[N·T]` ones, if any.
fn sequence_mask(
    causal: bool,
    padding: Option<&[bool]>,
    sequence: usize,
    steps: usize,
) -> AttentionMask<'_> {
    AttentionMask {
        causal,
        key_padding: padding.map(|p| &p[sequence * steps..(sequence + 1) * steps]),
    }
}

/// The strided views of head `head` of sequence `sequence` in `qkv` `[N·T, 3E]`: its queries, keys
/// and values, each `[T, D]` with a row stride of 3E.
fn head_views(
    qkv: &[f32],
    sequence: usize,
    head: usize,
    steps: usize,
    e: usize,
    d: usize,
) -> (MatRef<'_>, MatRef<'_>, MatRef<'_>) {
    let start = sequence * steps * 3 * e + head * d;
    let view = |offset: usize| MatRef::with_strides(&qkv[start + offset..], steps, d, 3 * e, 1);
    (view(0), view(e), view(2 * e))
}

impl Layer for MultiheadAttention {
    /// Self-attention of `x` `[N, T, E]` with itself; returns `[N, T, E]`.
    fn forward(&mut self, x: &Tensor, mode: Mode) -> Tensor {
        assert!(
            x.ndim() == 3 && x.dim(2) == self.embed_dim,
            "MultiheadAttention(E={}): expected an input [N, T, {}] (batch first), got {:?}",
            self.embed_dim,
            self.embed_dim,
            x.shape()
        );
        let (batch, steps) = (x.dim(0), x.dim(1));
        let mut y = Tensor::zeros(x.shape());
        let keep = mode.keeps_cache();
        let mut scratch = std::mem::take(&mut self.buffers.scratch);
        self.forward_rows(
            x.data(),
            batch,
            steps,
            y.data_mut(),
            None,
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
            "MultiheadAttention::backward called without a preceding forward in Mode::Train or \
             Mode::Eval (a Mode::Inference forward caches nothing)"
        );
        let shape = [b.batch, b.steps, self.embed_dim];
        assert_grad_shape("MultiheadAttention", grad_output, &shape);
        let mut dx = Tensor::zeros(&shape);
        let input = std::mem::take(&mut self.buffers.input);
        let mut scratch = std::mem::take(&mut self.buffers.scratch);
        self.backward_rows(
            &input,
            grad_output.data(),
            dx.data_mut(),
            false,
            &mut scratch,
        );
        self.buffers.input = input;
        self.buffers.scratch = scratch;
        dx
    }

    fn visit_params(&mut self, f: &mut dyn FnMut(&str, &mut Param)) {
        f("in_proj_weight", &mut self.in_proj_weight);
        f("in_proj_bias", &mut self.in_proj_bias);
        self.out_proj
            .visit_params(&mut |name, p| f(&format!("out_proj.{name}"), p));
    }

    fn describe(&self) -> String {
        format!(
            "MultiheadAttention(embed_dim={}, num_heads={}, causal={}, batch_first=True)",
            self.embed_dim, self.num_heads, self.causal
        )
    }
}
