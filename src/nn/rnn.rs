//! `RNN`: the plain (Elman) recurrent layer with tanh, as `torch.nn.RNN` with `batch_first=True`,
//! one layer or a stack of them (`num_layers`). Chapter 9 steps it by hand and uses it to show why
//! gradients vanish through time.
//!
//! This file is one layer's pass (`RnnLayer`); the shared machinery and the stacking are in
//! [`super::recurrent`]. What it leaves out: the ReLU non-linearity (`nonlinearity='relu'`), and what
//! [`super::recurrent`] lists.

use super::layer::{Layer, Mode, Param};
use super::recurrent::{
    RecurrentCell, RecurrentOutput, Stack, add_partials, check_input, check_output_grad,
    column_sums, input_projection, output_grad_at, output_shape, run_tasks, sequence_chunks,
    sequence_chunks_ref, set_initial, store_output, tanh_in_place, task_count, transpose_into,
    uniform_init,
};
use crate::linalg::gemm::{MatMut, MatRef, gemm, gemm_nn, gemm_tn};
use crate::probability::Rng;
use crate::tensor::Tensor;

/// A tanh RNN over batch-first sequences: one layer ([`RNN::new`]) or `num_layers` of them in a
/// chain ([`RNN::stacked`]), like `nn.RNN(F, H, num_layers=L, batch_first=True, dropout=p)`.
///
/// Shapes: input `x: [N, T, F]`, output `[N, T, H]` or `[N, H]` ([`RecurrentOutput`]) from the last
/// layer, optional initial state `h₀: [L, N, H]` (`[N, H]` accepted when L = 1; zeros when not set).
///
/// Parameters (PyTorch's names and layout), for each layer l: `weight_ih_l{l} [H, F]` (`[H, H]` for
/// l ≥ 1), `weight_hh_l{l} [H, H]`, `bias_ih_l{l} [H]`, `bias_hh_l{l} [H]`, uniform on
/// `[−1/√H, 1/√H]`.
///
/// Forward of one layer: `h_t = tanh(x_t·W_ihᵀ + b_ih + h_{t−1}·W_hhᵀ + b_hh)`.
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
    stack: Stack<RnnLayer>,
}

impl RNN {
    /// A one-layer tanh RNN from `input_size` features to `hidden_size` units, returning the whole
    /// sequence (change with [`RNN::output`]), initialised as PyTorch does.
    pub fn new(input_size: usize, hidden_size: usize, rng: &mut Rng) -> RNN {
        RNN::stacked(input_size, hidden_size, 1, rng)
    }

    /// `num_layers` RNN layers in a chain (PyTorch's `num_layers`; see [`super::LSTM::stacked`]).
    /// Panics unless every size is ≥ 1.
    pub fn stacked(input_size: usize, hidden_size: usize, num_layers: usize, rng: &mut Rng) -> RNN {
        RNN {
            stack: Stack::new(input_size, hidden_size, num_layers, rng),
        }
    }

    /// Chooses what `forward` returns: every hidden state of the last layer or only its last one.
    pub fn output(mut self, output: RecurrentOutput) -> RNN {
        self.stack.set_output(output);
        self
    }

    /// Dropout with probability `p` on the outputs of every layer but the last, in [`Mode::Train`]
    /// only (PyTorch's `dropout`; no effect with one layer). Panics unless `p` ∈ [0, 1].
    pub fn dropout(mut self, p: f32) -> RNN {
        self.stack.set_dropout(p);
        self
    }

    /// Restarts the generators of the dropout between layers (layer l's from `seed + l`), so that
    /// the next training passes draw the same masks again (gradient checks need that).
    pub fn reseed_dropout(&mut self, seed: u64) {
        self.stack.reseed_dropout(seed);
    }

    /// The number of features per input step (F).
    pub fn input_size(&self) -> usize {
        self.stack.input_size()
    }

    /// The number of hidden units of each layer (H).
    pub fn hidden_size(&self) -> usize {
        self.stack.hidden_size()
    }

    /// The number of layers (L).
    pub fn num_layers(&self) -> usize {
        self.stack.num_layers()
    }

    /// The dropout probability between layers.
    pub fn dropout_probability(&self) -> f32 {
        self.stack.dropout()
    }

    /// Sets the initial state `h₀` `[L, N, H]` (or `[N, H]` for one layer) for the following forward
    /// passes; `None` means zeros.
    pub fn set_initial_state(&mut self, state: Option<Tensor>) {
        self.stack.set_initial_state(state.map(|h0| vec![h0]));
    }

    /// ∂L/∂h₀ `[L, N, H]` from the last `backward`; `None` before any backward.
    pub fn initial_state_grad(&self) -> Option<&Tensor> {
        self.stack.initial_state_grad().map(|g| &g[0])
    }

    /// The hidden state after the last step of the last forward pass, `[L, N, H]` (PyTorch's `h_n`).
    pub fn final_state(&self) -> Tensor {
        self.stack
            .final_state()
            .pop()
            .expect("the RNN has one state")
    }
}

impl Layer for RNN {
    fn forward(&mut self, x: &Tensor, mode: Mode) -> Tensor {
        self.stack.forward(x, mode)
    }

    fn backward(&mut self, grad_output: &Tensor) -> Tensor {
        self.stack.backward(grad_output)
    }

    fn visit_params(&mut self, f: &mut dyn FnMut(&str, &mut Param)) {
        self.stack.visit_params(f);
    }

    /// The generators of the dropout between layers: `dropout_l0.rng`, … (see [`Layer::visit_rngs`]).
    fn visit_rngs(&mut self, f: &mut dyn FnMut(&str, &mut Rng)) {
        self.stack.visit_rngs(f);
    }

    fn describe(&self) -> String {
        self.stack.describe_with(", tanh")
    }
}

/// One tanh RNN layer: its parameters and what its forward pass keeps for backward.
pub(crate) struct RnnLayer {
    input_size: usize,
    hidden_size: usize,
    output: RecurrentOutput,
    weight_ih: Param,
    weight_hh: Param,
    bias_ih: Param,
    bias_hh: Param,
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

impl RecurrentCell for RnnLayer {
    const NAME: &'static str = "RNN";
    const STATES: &'static [&'static str] = &["h₀"];

    fn new(input_size: usize, hidden_size: usize, rng: &mut Rng) -> RnnLayer {
        RnnLayer {
            input_size,
            hidden_size,
            output: RecurrentOutput::Sequence,
            weight_ih: Param::new(uniform_init(&[hidden_size, input_size], hidden_size, rng)),
            weight_hh: Param::new(uniform_init(&[hidden_size, hidden_size], hidden_size, rng)),
            bias_ih: Param::new(uniform_init(&[hidden_size], hidden_size, rng)),
            bias_hh: Param::new(uniform_init(&[hidden_size], hidden_size, rng)),
            cache: Cache::default(),
        }
    }

    fn set_output(&mut self, output: RecurrentOutput) {
        self.output = output;
    }

    fn initial_state_grad(&self, _state: usize) -> &[f32] {
        &self.cache.dh_carry
    }

    fn final_state(&self, _state: usize) -> Vec<f32> {
        self.cache.h_last.clone()
    }

    fn params_mut(&mut self) -> [&mut Param; 4] {
        [
            &mut self.weight_ih,
            &mut self.weight_hh,
            &mut self.bias_ih,
            &mut self.bias_hh,
        ]
    }

    fn forward(&mut self, x: &Tensor, initial: Option<&[&[f32]]>, mode: Mode) -> Tensor {
        let (batch, steps) = check_input("RNN", x, self.input_size);
        let (features, hidden) = (self.input_size, self.hidden_size);
        let per_sequence = steps * hidden;
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
        let h0_rows = initial.map(|states| sequence_chunks_ref(states[0], hidden));
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
}
