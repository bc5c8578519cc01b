//! `RNN`: the plain (Elman) recurrent layer with tanh, as `torch.nn.RNN` with `batch_first=True`.
//! Chapter 9 steps it by hand and uses it to show why gradients vanish through time.
//!
//! The shared machinery is in [`super::recurrent`]. What it leaves out: the ReLU non-linearity
//! (`nonlinearity='relu'`), and what [`super::recurrent`] lists.

use super::layer::{Layer, Mode, Param};
use super::recurrent::{
    RecurrentOutput, add_partials, check_input, check_output_grad, check_state, column_sums,
    input_projection, output_grad_at, output_shape, run_tasks, sequence_chunks,
    sequence_chunks_ref, set_initial, store_output, tanh_in_place, task_count, transpose_into,
    uniform_init,
};
use crate::linalg::gemm::{MatMut, MatRef, gemm, gemm_nn, gemm_tn};
use crate::probability::Rng;
use crate::tensor::Tensor;

/// A one-layer tanh RNN over batch-first sequences.
///
/// Shapes: input `x: [N, T, F]`, output `[N, T, H]` or `[N, H]` ([`RecurrentOutput`]), optional
/// initial state `h₀: [N, H]` (zeros when not set).
///
/// Parameters (PyTorch's names and layout): `weight_ih_l0 [H, F]`, `weight_hh_l0 [H, H]`,
/// `bias_ih_l0 [H]`, `bias_hh_l0 [H]`, uniform on `[−1/√H, 1/√H]`.
///
/// Forward: `h_t = tanh(x_t·W_ihᵀ + b_ih + h_{t−1}·W_hhᵀ + b_hh)`.
///
/// Backward (t = T−1 … 0), with `dh` = ∂L/∂h_t from the output plus from step t+1:
/// ```text
/// da_t = dh ⊙ (1 − h_t²)          ∂L/∂h_{t−1} = da_t·W_hh          ∂L/∂x_t = da_t·W_ih
/// dW_ih += Σ_t da_tᵀ·x_t          dW_hh += Σ_t da_tᵀ·h_{t−1}        db_ih = db_hh += Σ_t da_t
/// ```
/// Each step multiplies the carried gradient by `diag(1 − h_t²)·W_hh`; when that product's norm is
/// below one the gradient shrinks geometrically with distance — the vanishing gradient of chapter 9.
#[allow(clippy::upper_case_acronyms)] // PyTorch's and Keras's name, kept so the code reads like theirs
pub struct RNN {
    input_size: usize,
    hidden_size: usize,
    output: RecurrentOutput,
    weight_ih: Param,
    weight_hh: Param,
    bias_ih: Param,
    bias_hh: Param,
    initial_state: Option<Tensor>,
    initial_state_grad: Option<Tensor>,
    cache: Cache,
}

/// What forward keeps for backward, and backward's work buffers. Reused between calls.
#[derive(Default)]
struct Cache {
    batch: usize,
    steps: usize,
    valid: bool,
    /// `W_hhᵀ` `[H, H]` and `b_ih + b_hh` `[H]`, refreshed by every forward pass.
    weight_hh_t: Vec<f32>,
    bias: Vec<f32>,
    /// The input `[N, T, F]` (training only).
    x: Vec<f32>,
    /// The input projection, then `h_t` `[N, T, H]`.
    h: Vec<f32>,
    /// `h_prev[n, t] = h_{t−1}` `[N, T, H]`.
    h_prev: Vec<f32>,
    /// `h_{T−1}` `[N, H]`.
    h_last: Vec<f32>,
    /// Backward: ∂L/∂a_t `[N, T, H]`.
    d_pre: Vec<f32>,
    /// Backward: ∂L/∂h carried from step t+1 to t `[N, H]`; ∂L/∂h₀ at the end.
    dh_carry: Vec<f32>,
    /// Backward: each task's column sums of ∂L/∂a `[tasks, H]`.
    bias_partials: Vec<f32>,
}

impl RNN {
    /// A tanh RNN from `input_size` features to `hidden_size` units, returning the whole sequence
    /// (change with [`RNN::output`]), initialised as PyTorch does.
    pub fn new(input_size: usize, hidden_size: usize, rng: &mut Rng) -> RNN {
        assert!(
            input_size > 0 && hidden_size > 0,
            "RNN::new: sizes must be positive, got input {input_size}, hidden {hidden_size}"
        );
        RNN {
            input_size,
            hidden_size,
            output: RecurrentOutput::Sequence,
            weight_ih: Param::new(uniform_init(&[hidden_size, input_size], hidden_size, rng)),
            weight_hh: Param::new(uniform_init(&[hidden_size, hidden_size], hidden_size, rng)),
            bias_ih: Param::new(uniform_init(&[hidden_size], hidden_size, rng)),
            bias_hh: Param::new(uniform_init(&[hidden_size], hidden_size, rng)),
            initial_state: None,
            initial_state_grad: None,
            cache: Cache::default(),
        }
    }

    /// Chooses what `forward` returns: every hidden state or only the last.
    pub fn output(mut self, output: RecurrentOutput) -> RNN {
        self.output = output;
        self
    }

    /// The number of hidden units (H).
    pub fn hidden_size(&self) -> usize {
        self.hidden_size
    }

    /// Sets the initial state `h₀` `[N, H]` for the following forward passes; `None` means zeros.
    pub fn set_initial_state(&mut self, state: Option<Tensor>) {
        self.initial_state = state;
    }

    /// ∂L/∂h₀ `[N, H]` from the last `backward`; `None` before any backward.
    pub fn initial_state_grad(&self) -> Option<&Tensor> {
        self.initial_state_grad.as_ref()
    }
}

struct ForwardChunk<'a> {
    x: &'a [f32],
    x_cache: Option<&'a mut [f32]>,
    h0: Option<&'a [f32]>,
    h: &'a mut [f32],
    h_prev: &'a mut [f32],
    h_last: &'a mut [f32],
    out: &'a mut [f32],
}

struct BackwardChunk<'a> {
    h: &'a [f32],
    grad_output: &'a [f32],
    d_pre: &'a mut [f32],
    dh_carry: &'a mut [f32],
    bias_sum: &'a mut [f32],
}

impl Layer for RNN {
    fn forward(&mut self, x: &Tensor, mode: Mode) -> Tensor {
        let (batch, steps) = check_input("RNN", x, self.input_size);
        let (features, hidden) = (self.input_size, self.hidden_size);
        let per_sequence = steps * hidden;
        if let Some(h0) = &self.initial_state {
            check_state("RNN", "h₀", h0, batch, hidden);
        }
        let keep = mode.keeps_cache();
        let cache = &mut self.cache;
        cache.batch = batch;
        cache.steps = steps;
        cache.valid = keep;
        cache.x.resize(if keep { x.len() } else { 0 }, 0.0);
        cache.h_prev.resize(batch * per_sequence, 0.0);
        cache.h_last.resize(batch * hidden, 0.0);
        transpose_into(
            self.weight_hh.value.data(),
            hidden,
            hidden,
            &mut cache.weight_hh_t,
        );
        cache.bias.clear();
        cache.bias.extend(
            self.bias_ih
                .value
                .data()
                .iter()
                .zip(self.bias_hh.value.data())
                .map(|(a, b)| a + b),
        );
        input_projection(x.data(), self.weight_ih.value.data(), hidden, &mut cache.h);
        let mut out = Tensor::zeros(&output_shape(self.output, batch, steps, hidden));
        let out_per_sequence = out.len() / batch;
        let h0_rows = self
            .initial_state
            .as_ref()
            .map(|h0| sequence_chunks_ref(h0.data(), hidden));
        let mut x_cache: Vec<Option<&mut [f32]>> = if keep {
            sequence_chunks(&mut cache.x, steps * features)
                .into_iter()
                .map(Some)
                .collect()
        } else {
            (0..task_count(batch)).map(|_| None).collect()
        };
        let chunks: Vec<ForwardChunk> = sequence_chunks_ref(x.data(), steps * features)
            .into_iter()
            .zip(x_cache.drain(..))
            .zip(sequence_chunks(&mut cache.h, per_sequence))
            .zip(sequence_chunks(&mut cache.h_prev, per_sequence))
            .zip(sequence_chunks(&mut cache.h_last, hidden))
            .zip(sequence_chunks(out.data_mut(), out_per_sequence))
            .enumerate()
            .map(
                |(task, (((((x, x_cache), h), h_prev), h_last), out))| ForwardChunk {
                    x,
                    x_cache,
                    h0: h0_rows.as_ref().map(|rows| rows[task]),
                    h,
                    h_prev,
                    h_last,
                    out,
                },
            )
            .collect();
        let weight_hh_t = &cache.weight_hh_t;
        let bias = &cache.bias;
        let output = self.output;
        run_tasks(chunks, |chunk| {
            let rows = chunk.h_last.len() / hidden;
            if let Some(x_cache) = chunk.x_cache {
                x_cache.copy_from_slice(chunk.x);
            }
            set_initial(chunk.h_prev, per_sequence, chunk.h0, hidden);
            for t in 0..steps {
                gemm(
                    1.0,
                    MatRef::with_strides(
                        &chunk.h_prev[t * hidden..],
                        rows,
                        hidden,
                        per_sequence,
                        1,
                    ),
                    MatRef::new(weight_hh_t, hidden, hidden),
                    1.0,
                    MatMut::with_strides(&mut chunk.h[t * hidden..], rows, hidden, per_sequence, 1),
                );
                for r in 0..rows {
                    let at = r * per_sequence + t * hidden;
                    let h = &mut chunk.h[at..at + hidden];
                    for (a, &b) in h.iter_mut().zip(bias) {
                        *a += b;
                    }
                    tanh_in_place(h);
                    let next = if t + 1 < steps {
                        &mut chunk.h_prev[at + hidden..at + 2 * hidden]
                    } else {
                        &mut chunk.h_last[r * hidden..(r + 1) * hidden]
                    };
                    next.copy_from_slice(h);
                    store_output(output, chunk.out, r, t, steps, h);
                }
            }
        });
        out
    }

    fn backward(&mut self, grad_output: &Tensor) -> Tensor {
        let cache = &mut self.cache;
        assert!(
            cache.valid,
            "RNN::backward called without a preceding forward in Mode::Train or Mode::Eval (a Mode::Inference forward caches nothing)"
        );
        let (batch, steps, hidden) = (cache.batch, cache.steps, self.hidden_size);
        check_output_grad("RNN", self.output, grad_output, batch, steps, hidden);
        let per_sequence = steps * hidden;
        cache.d_pre.resize(batch * per_sequence, 0.0);
        cache.dh_carry.clear();
        cache.dh_carry.resize(batch * hidden, 0.0);
        cache.bias_partials.resize(task_count(batch) * hidden, 0.0);
        let grad_per_sequence = grad_output.len() / batch;
        let chunks: Vec<BackwardChunk> = sequence_chunks_ref(&cache.h, per_sequence)
            .into_iter()
            .zip(sequence_chunks_ref(grad_output.data(), grad_per_sequence))
            .zip(sequence_chunks(&mut cache.d_pre, per_sequence))
            .zip(sequence_chunks(&mut cache.dh_carry, hidden))
            .zip(cache.bias_partials.chunks_mut(hidden))
            .map(
                |((((h, grad_output), d_pre), dh_carry), bias_sum)| BackwardChunk {
                    h,
                    grad_output,
                    d_pre,
                    dh_carry,
                    bias_sum,
                },
            )
            .collect();
        let weight_hh = self.weight_hh.value.data();
        let output = self.output;
        run_tasks(chunks, |chunk| {
            let rows = chunk.dh_carry.len() / hidden;
            for t in (0..steps).rev() {
                for r in 0..rows {
                    let at = r * per_sequence + t * hidden;
                    let carried = &chunk.dh_carry[r * hidden..(r + 1) * hidden];
                    let from_output = output_grad_at(
                        output,
                        &chunk.grad_output[r * grad_per_sequence..(r + 1) * grad_per_sequence],
                        t,
                        steps,
                        hidden,
                    );
                    let h = &chunk.h[at..at + hidden];
                    let d_pre = &mut chunk.d_pre[at..at + hidden];
                    for (j, d) in d_pre.iter_mut().enumerate() {
                        let dh = carried[j] + from_output.map_or(0.0, |g| g[j]);
                        *d = dh * (1.0 - h[j] * h[j]);
                    }
                }
                gemm(
                    1.0,
                    MatRef::with_strides(&chunk.d_pre[t * hidden..], rows, hidden, per_sequence, 1),
                    MatRef::new(weight_hh, hidden, hidden),
                    0.0,
                    MatMut::new(chunk.dh_carry, rows, hidden),
                );
            }
            column_sums(chunk.d_pre, chunk.bias_sum);
        });
        let rows = batch * steps;
        let features = self.input_size;
        gemm_tn(
            hidden,
            features,
            rows,
            &cache.d_pre,
            &cache.x,
            self.weight_ih.grad.data_mut(),
            1.0,
        );
        gemm_tn(
            hidden,
            hidden,
            rows,
            &cache.d_pre,
            &cache.h_prev,
            self.weight_hh.grad.data_mut(),
            1.0,
        );
        add_partials(&cache.bias_partials, self.bias_ih.grad.data_mut());
        add_partials(&cache.bias_partials, self.bias_hh.grad.data_mut());
        self.initial_state_grad = Some(Tensor::from_vec(&[batch, hidden], cache.dh_carry.clone()));
        let mut dx = Tensor::zeros(&[batch, steps, features]);
        gemm_nn(
            rows,
            features,
            hidden,
            &cache.d_pre,
            self.weight_ih.value.data(),
            dx.data_mut(),
            0.0,
        );
        dx
    }

    fn visit_params(&mut self, f: &mut dyn FnMut(&str, &mut Param)) {
        f("weight_ih_l0", &mut self.weight_ih);
        f("weight_hh_l0", &mut self.weight_hh);
        f("bias_ih_l0", &mut self.bias_ih);
        f("bias_hh_l0", &mut self.bias_hh);
    }

    fn describe(&self) -> String {
        format!(
            "RNN(input={}, hidden={}, tanh, returns {})",
            self.input_size,
            self.hidden_size,
            self.output.describe()
        )
    }
}
