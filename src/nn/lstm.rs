//! `LSTM`: the long short-term memory layer (Hochreiter & Schmidhuber, 1997), as `torch.nn.LSTM`
//! with `batch_first=True`. Chapter 9 explains its gates; chapters 13 and 14 train it.
//!
//! The shared machinery (output choice, chunked threading, the one-GEMM input projection) is in
//! [`super::recurrent`]. What it leaves out: see there (no `num_layers`, no bidirectional, no masks).

use super::layer::{Layer, Mode, Param};
use super::recurrent::{
    RecurrentOutput, add_partials, check_input, check_output_grad, check_state, column_sums,
    fast_exp, input_projection, output_grad_at, output_shape, run_tasks, sequence_chunks,
    sequence_chunks_ref, set_initial, store_output, task_count, transpose_into, uniform_init,
};
use crate::linalg::gemm::{MatMut, MatRef, gemm, gemm_nn, gemm_tn};
use crate::probability::Rng;
use crate::tensor::Tensor;

/// A one-layer LSTM over batch-first sequences.
///
/// Shapes: input `x: [N, T, F]` (F = `input_size`), output `[N, T, H]` or `[N, H]`
/// ([`RecurrentOutput`]); optional initial state `(h₀, c₀)`, each `[N, H]` (zeros when not set).
///
/// Parameters, named and laid out as PyTorch's (gate blocks in the order **i, f, g, o**):
/// `weight_ih_l0 [4H, F]`, `weight_hh_l0 [4H, H]`, `bias_ih_l0 [4H]`, `bias_hh_l0 [4H]`,
/// all initialised uniform on `[−1/√H, 1/√H]`.
///
/// Forward, for each step t (σ the sigmoid, ⊙ the element-wise product):
/// ```text
/// a_t = x_t·W_ihᵀ + b_ih + h_{t−1}·W_hhᵀ + b_hh          [N, 4H], split into a_i a_f a_g a_o
/// i = σ(a_i)   f = σ(a_f)   g = tanh(a_g)   o = σ(a_o)     input, forget, cell and output gates
/// c_t = f ⊙ c_{t−1} + i ⊙ g                              the cell: forget some, write some
/// h_t = o ⊙ tanh(c_t)                                    the hidden state: read some
/// ```
/// Backward (through time, t = T−1 … 0), with `dh` = ∂L/∂h_t from the output plus from step t+1 and
/// `dc` = ∂L/∂c_t from step t+1:
/// ```text
/// dc   += dh ⊙ o ⊙ (1 − tanh²(c_t))
/// da_o  = dh ⊙ tanh(c_t) ⊙ o(1 − o)     da_i = dc ⊙ g ⊙ i(1 − i)
/// da_f  = dc ⊙ c_{t−1} ⊙ f(1 − f)        da_g = dc ⊙ i ⊙ (1 − g²)
/// ∂L/∂c_{t−1} = dc ⊙ f                   ∂L/∂h_{t−1} = da_t·W_hh
/// dW_ih += Σ_t da_tᵀ·x_t   dW_hh += Σ_t da_tᵀ·h_{t−1}   db_ih = db_hh += Σ_t da_t   ∂L/∂x_t = da_t·W_ih
/// ```
/// The gradient with respect to the initial state is kept and returned by
/// [`LSTM::initial_state_grad`].
#[allow(clippy::upper_case_acronyms)] // PyTorch's and Keras's name, kept so the code reads like theirs
pub struct LSTM {
    input_size: usize,
    hidden_size: usize,
    output: RecurrentOutput,
    weight_ih: Param,
    weight_hh: Param,
    bias_ih: Param,
    bias_hh: Param,
    initial_state: Option<(Tensor, Tensor)>,
    initial_state_grad: Option<(Tensor, Tensor)>,
    cache: Cache,
}

/// What forward keeps for backward, and backward's work buffers. Reused between calls, so a training
/// step allocates only the tensors the [`Layer`] API returns.
#[derive(Default)]
struct Cache {
    batch: usize,
    steps: usize,
    /// True after a caching forward, Train or Eval (backward may run).
    valid: bool,
    /// `W_hhᵀ` `[H, 4H]`, refreshed by every forward pass (contiguous rows for the per-step GEMM).
    weight_hh_t: Vec<f32>,
    /// `b_ih + b_hh` `[4H]`, refreshed by every forward pass.
    bias: Vec<f32>,
    /// The input `[N, T, F]` (training only; needed for `dW_ih`).
    x: Vec<f32>,
    /// Gate activations i, f, g, o `[N, T, 4H]` (the input projection until the step has run).
    gates: Vec<f32>,
    /// `h_prev[n, t] = h_{t−1}` `[N, T, H]`; `h_prev[n, 0] = h₀`.
    h_prev: Vec<f32>,
    /// `h_{T−1}` `[N, H]`.
    h_last: Vec<f32>,
    /// `c_t` `[N, T, H]`.
    c: Vec<f32>,
    /// `tanh(c_t)` `[N, T, H]`.
    tanh_c: Vec<f32>,
    /// `c₀` `[N, H]`.
    c0: Vec<f32>,
    /// Backward: ∂L/∂a_t `[N, T, 4H]`.
    d_gates: Vec<f32>,
    /// Backward: ∂L/∂h and ∂L/∂c carried from step t+1 to step t; `[N, H]` each. After the loop they
    /// hold the initial state's gradient.
    dh_carry: Vec<f32>,
    dc_carry: Vec<f32>,
    /// Backward: each task's sum of its rows of ∂L/∂a `[tasks, 4H]` (the bias gradient, in parts).
    bias_partials: Vec<f32>,
}

impl LSTM {
    /// An LSTM from `input_size` features to `hidden_size` units, returning the whole sequence
    /// (change with [`LSTM::output`]), initialised as PyTorch does.
    pub fn new(input_size: usize, hidden_size: usize, rng: &mut Rng) -> LSTM {
        assert!(
            input_size > 0 && hidden_size > 0,
            "LSTM::new: sizes must be positive, got input {input_size}, hidden {hidden_size}"
        );
        let gates =
            crate::tensor::size_product(&[4, hidden_size], "LSTM::new: 4 gates × hidden_size");
        LSTM {
            input_size,
            hidden_size,
            output: RecurrentOutput::Sequence,
            weight_ih: Param::new(uniform_init(&[gates, input_size], hidden_size, rng)),
            weight_hh: Param::new(uniform_init(&[gates, hidden_size], hidden_size, rng)),
            bias_ih: Param::new(uniform_init(&[gates], hidden_size, rng)),
            bias_hh: Param::new(uniform_init(&[gates], hidden_size, rng)),
            initial_state: None,
            initial_state_grad: None,
            cache: Cache::default(),
        }
    }

    /// Chooses what `forward` returns: every hidden state or only the last.
    pub fn output(mut self, output: RecurrentOutput) -> LSTM {
        self.output = output;
        self
    }

    /// The number of features per input step (F).
    pub fn input_size(&self) -> usize {
        self.input_size
    }

    /// The number of hidden units (H).
    pub fn hidden_size(&self) -> usize {
        self.hidden_size
    }

    /// Sets the initial state `(h₀, c₀)`, each `[N, H]`, used by every following forward pass until
    /// changed; `None` means zeros (the default).
    pub fn set_initial_state(&mut self, state: Option<(Tensor, Tensor)>) {
        self.initial_state = state;
    }

    /// `(∂L/∂h₀, ∂L/∂c₀)` from the last `backward` (each `[N, H]`); `None` before any backward.
    /// Overwritten (not accumulated) by each backward pass.
    pub fn initial_state_grad(&self) -> Option<&(Tensor, Tensor)> {
        self.initial_state_grad.as_ref()
    }

    /// The state `(h_T, c_T)` after the last forward pass (each `[N, H]`), e.g. to continue a sequence.
    pub fn final_state(&self) -> (Tensor, Tensor) {
        let cache = &self.cache;
        let (n, t, h) = (cache.batch, cache.steps, self.hidden_size);
        let mut c_last = Vec::with_capacity(n * h);
        for s in 0..n {
            let start = (s * t + t - 1) * h;
            c_last.extend_from_slice(&cache.c[start..start + h]);
        }
        (
            Tensor::from_vec(&[n, h], cache.h_last.clone()),
            Tensor::from_vec(&[n, h], c_last),
        )
    }

    /// The gate activations of the last forward pass, `[N, T, 4H]` in PyTorch's order i, f, g, o
    /// (chapter 9 prints them to show what the gates do).
    pub fn gate_activations(&self) -> Tensor {
        let c = &self.cache;
        Tensor::from_vec(&[c.batch, c.steps, 4 * self.hidden_size], c.gates.clone())
    }
}

/// One LSTM step for one sequence: `gates` holds `x_t·W_ihᵀ + h_{t−1}·W_hhᵀ` (`[4H]`), gets the biases
/// added and receives i, f, g, o; writes c_t, tanh(c_t) and h_t.
///
/// All four gate blocks go through one sigmoid loop: the g block is scaled by 2 on the way in and
/// mapped by `2s − 1` on the way out, because `tanh(x) = 2σ(2x) − 1`. One pass over 4H values instead of
/// three, which matters: these exponentials are a third of the layer's time.
fn cell_forward(
    gates: &mut [f32],
    bias: &[f32],
    c_prev: &[f32],
    c: &mut [f32],
    tanh_c: &mut [f32],
    h: &mut [f32],
) {
    let hidden = c.len();
    let (ifg, o) = gates.split_at_mut(3 * hidden);
    let (i_f, g) = ifg.split_at_mut(2 * hidden);
    let (bias_if, rest) = bias.split_at(2 * hidden);
    let (bias_g, bias_o) = rest.split_at(hidden);
    for (a, &b) in i_f.iter_mut().zip(bias_if) {
        *a = 1.0 / (1.0 + fast_exp(-(*a + b)));
    }
    for (a, &b) in g.iter_mut().zip(bias_g) {
        *a = 2.0 / (1.0 + fast_exp(-2.0 * (*a + b))) - 1.0;
    }
    for (a, &b) in o.iter_mut().zip(bias_o) {
        *a = 1.0 / (1.0 + fast_exp(-(*a + b)));
    }
    let (i, f) = i_f.split_at(hidden);
    // Equal lengths, stated once, let the compiler drop the bounds checks and vectorise the loop.
    let (f, g, o, c_prev, tanh_c, h) = (
        &f[..hidden],
        &g[..hidden],
        &o[..hidden],
        &c_prev[..hidden],
        &mut tanh_c[..hidden],
        &mut h[..hidden],
    );
    for j in 0..hidden {
        let c_new = f[j] * c_prev[j] + i[j] * g[j];
        let tc = 2.0 / (1.0 + fast_exp(-2.0 * c_new)) - 1.0;
        c[j] = c_new;
        tanh_c[j] = tc;
        h[j] = o[j] * tc;
    }
}

/// One LSTM step backwards for one sequence (formulas in [`LSTM`]'s docs). `dh` is ∂L/∂h_t in total;
/// `dc` holds ∂L/∂c_t from step t+1 on entry and ∂L/∂c_{t−1} on exit; `d_gates` receives ∂L/∂a_t.
fn cell_backward(
    gates: &[f32],
    c_prev: &[f32],
    tanh_c: &[f32],
    dh: &[f32],
    dc: &mut [f32],
    d_gates: &mut [f32],
) {
    let hidden = dc.len();
    let (i, rest) = gates.split_at(hidden);
    let (f, rest) = rest.split_at(hidden);
    let (g, o) = rest.split_at(hidden);
    let (d_i, rest) = d_gates.split_at_mut(hidden);
    let (d_f, rest) = rest.split_at_mut(hidden);
    let (d_g, d_o) = rest.split_at_mut(hidden);
    // Equal lengths, stated once, let the compiler drop the bounds checks and vectorise the loop.
    let (o, d_o, c_prev, tanh_c, dh) = (
        &o[..hidden],
        &mut d_o[..hidden],
        &c_prev[..hidden],
        &tanh_c[..hidden],
        &dh[..hidden],
    );
    for j in 0..hidden {
        let tc = tanh_c[j];
        let dc_total = dc[j] + dh[j] * o[j] * (1.0 - tc * tc);
        d_o[j] = dh[j] * tc * o[j] * (1.0 - o[j]);
        d_i[j] = dc_total * g[j] * i[j] * (1.0 - i[j]);
        d_f[j] = dc_total * c_prev[j] * f[j] * (1.0 - f[j]);
        d_g[j] = dc_total * i[j] * (1.0 - g[j] * g[j]);
        dc[j] = dc_total * f[j];
    }
}

/// One task's share of the forward pass: up to [`ROWS_PER_TASK`](super::recurrent::ROWS_PER_TASK)
/// whole sequences.
struct ForwardChunk<'a> {
    x: &'a [f32],
    x_cache: Option<&'a mut [f32]>,
    h0: Option<&'a [f32]>,
    c0_given: Option<&'a [f32]>,
    gates: &'a mut [f32],
    h_prev: &'a mut [f32],
    h_last: &'a mut [f32],
    c: &'a mut [f32],
    tanh_c: &'a mut [f32],
    c0: &'a mut [f32],
    out: &'a mut [f32],
}

/// One task's share of the backward pass.
struct BackwardChunk<'a> {
    gates: &'a [f32],
    c: &'a [f32],
    tanh_c: &'a [f32],
    c0: &'a [f32],
    grad_output: &'a [f32],
    d_gates: &'a mut [f32],
    dh_carry: &'a mut [f32],
    dc_carry: &'a mut [f32],
    bias_sum: &'a mut [f32],
}

impl Layer for LSTM {
    fn forward(&mut self, x: &Tensor, mode: Mode) -> Tensor {
        let (batch, steps) = check_input("LSTM", x, self.input_size);
        let (features, hidden) = (self.input_size, self.hidden_size);
        let gates = 4 * hidden;
        let per_sequence = steps * hidden;
        if let Some((h0, c0)) = &self.initial_state {
            check_state("LSTM", "h₀", h0, batch, hidden);
            check_state("LSTM", "c₀", c0, batch, hidden);
        }
        let keep = mode.keeps_cache();
        let cache = &mut self.cache;
        cache.batch = batch;
        cache.steps = steps;
        cache.valid = keep;
        cache.x.resize(if keep { x.len() } else { 0 }, 0.0);
        cache.h_prev.resize(batch * per_sequence, 0.0);
        cache.h_last.resize(batch * hidden, 0.0);
        cache.c.resize(batch * per_sequence, 0.0);
        cache.tanh_c.resize(batch * per_sequence, 0.0);
        cache.c0.resize(batch * hidden, 0.0);
        transpose_into(
            self.weight_hh.value.data(),
            gates,
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
        // 1. The input's share of every gate at every step: one GEMM over all N·T rows.
        input_projection(
            x.data(),
            self.weight_ih.value.data(),
            gates,
            &mut cache.gates,
        );

        // 2. The recurrence, one task per chunk of whole sequences.
        let mut out = Tensor::zeros(&output_shape(self.output, batch, steps, hidden));
        let out_per_sequence = out.len() / batch;
        let state = self.initial_state.as_ref();
        let h0_rows = state.map(|(h0, _)| sequence_chunks_ref(h0.data(), hidden));
        let c0_rows = state.map(|(_, c0)| sequence_chunks_ref(c0.data(), hidden));
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
            .zip(sequence_chunks(&mut cache.gates, steps * gates))
            .zip(sequence_chunks(&mut cache.h_prev, per_sequence))
            .zip(sequence_chunks(&mut cache.h_last, hidden))
            .zip(sequence_chunks(&mut cache.c, per_sequence))
            .zip(sequence_chunks(&mut cache.tanh_c, per_sequence))
            .zip(sequence_chunks(&mut cache.c0, hidden))
            .zip(sequence_chunks(out.data_mut(), out_per_sequence))
            .enumerate()
            .map(
                |(task, ((((((((x, x_cache), gates), h_prev), h_last), c), tanh_c), c0), out))| {
                    ForwardChunk {
                        x,
                        x_cache,
                        h0: h0_rows.as_ref().map(|rows| rows[task]),
                        c0_given: c0_rows.as_ref().map(|rows| rows[task]),
                        gates,
                        h_prev,
                        h_last,
                        c,
                        tanh_c,
                        c0,
                        out,
                    }
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
            set_initial(chunk.c0, hidden, chunk.c0_given, hidden);
            for t in 0..steps {
                // a_t += h_{t−1}·W_hhᵀ for this chunk's rows (strided: one row per sequence).
                gemm(
                    1.0,
                    MatRef::with_strides(
                        &chunk.h_prev[t * hidden..],
                        rows,
                        hidden,
                        per_sequence,
                        1,
                    ),
                    MatRef::new(weight_hh_t, hidden, gates),
                    1.0,
                    MatMut::with_strides(
                        &mut chunk.gates[t * gates..],
                        rows,
                        gates,
                        steps * gates,
                        1,
                    ),
                );
                for r in 0..rows {
                    let at = r * per_sequence + t * hidden;
                    // Split c so that c_{t−1} (read) and c_t (written) can be borrowed together.
                    let (c_before, c_rest) = chunk.c.split_at_mut(at);
                    let c_prev = if t == 0 {
                        &chunk.c0[r * hidden..(r + 1) * hidden]
                    } else {
                        &c_before[at - hidden..]
                    };
                    let h = if t + 1 < steps {
                        &mut chunk.h_prev[at + hidden..at + 2 * hidden]
                    } else {
                        &mut chunk.h_last[r * hidden..(r + 1) * hidden]
                    };
                    cell_forward(
                        &mut chunk.gates[(r * steps + t) * gates..][..gates],
                        bias,
                        c_prev,
                        &mut c_rest[..hidden],
                        &mut chunk.tanh_c[at..at + hidden],
                        h,
                    );
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
            "LSTM::backward called without a preceding forward in Mode::Train or Mode::Eval (a Mode::Inference forward caches nothing)"
        );
        let (batch, steps, hidden) = (cache.batch, cache.steps, self.hidden_size);
        check_output_grad("LSTM", self.output, grad_output, batch, steps, hidden);
        let gates = 4 * hidden;
        let per_sequence = steps * hidden;
        cache.d_gates.resize(batch * steps * gates, 0.0);
        cache.dh_carry.clear();
        cache.dh_carry.resize(batch * hidden, 0.0);
        cache.dc_carry.clear();
        cache.dc_carry.resize(batch * hidden, 0.0);
        cache.bias_partials.resize(task_count(batch) * gates, 0.0);
        let grad_per_sequence = grad_output.len() / batch;
        let chunks: Vec<BackwardChunk> = sequence_chunks_ref(&cache.gates, steps * gates)
            .into_iter()
            .zip(sequence_chunks_ref(&cache.c, per_sequence))
            .zip(sequence_chunks_ref(&cache.tanh_c, per_sequence))
            .zip(sequence_chunks_ref(&cache.c0, hidden))
            .zip(sequence_chunks_ref(grad_output.data(), grad_per_sequence))
            .zip(sequence_chunks(&mut cache.d_gates, steps * gates))
            .zip(sequence_chunks(&mut cache.dh_carry, hidden))
            .zip(sequence_chunks(&mut cache.dc_carry, hidden))
            .zip(cache.bias_partials.chunks_mut(gates))
            .map(
                |(
                    (((((((gates, c), tanh_c), c0), grad_output), d_gates), dh_carry), dc_carry),
                    bias_sum,
                )| {
                    BackwardChunk {
                        gates,
                        c,
                        tanh_c,
                        c0,
                        grad_output,
                        d_gates,
                        dh_carry,
                        dc_carry,
                        bias_sum,
                    }
                },
            )
            .collect();
        let weight_hh = self.weight_hh.value.data();
        let output = self.output;
        run_tasks(chunks, |chunk| {
            let rows = chunk.dh_carry.len() / hidden;
            let mut dh = vec![0.0f32; hidden];
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
                    match from_output {
                        Some(g) => {
                            for ((d, &a), &b) in dh.iter_mut().zip(carried).zip(g) {
                                *d = a + b;
                            }
                        }
                        None => dh.copy_from_slice(carried),
                    }
                    let c_prev = if t == 0 {
                        &chunk.c0[r * hidden..(r + 1) * hidden]
                    } else {
                        &chunk.c[at - hidden..at]
                    };
                    let g_at = (r * steps + t) * gates;
                    cell_backward(
                        &chunk.gates[g_at..g_at + gates],
                        c_prev,
                        &chunk.tanh_c[at..at + hidden],
                        &dh,
                        &mut chunk.dc_carry[r * hidden..(r + 1) * hidden],
                        &mut chunk.d_gates[g_at..g_at + gates],
                    );
                }
                // ∂L/∂h_{t−1} = da_t·W_hh for the chunk's rows, carried to step t−1.
                gemm(
                    1.0,
                    MatRef::with_strides(
                        &chunk.d_gates[t * gates..],
                        rows,
                        gates,
                        steps * gates,
                        1,
                    ),
                    MatRef::new(weight_hh, gates, hidden),
                    0.0,
                    MatMut::new(chunk.dh_carry, rows, hidden),
                );
            }
            column_sums(chunk.d_gates, chunk.bias_sum);
        });
        // Parameter gradients: sums over all N·T rows, one GEMM each (split over outputs, not the sum).
        let rows = batch * steps;
        let features = self.input_size;
        gemm_tn(
            gates,
            features,
            rows,
            &cache.d_gates,
            &cache.x,
            self.weight_ih.grad.data_mut(),
            1.0,
        );
        gemm_tn(
            gates,
            hidden,
            rows,
            &cache.d_gates,
            &cache.h_prev,
            self.weight_hh.grad.data_mut(),
            1.0,
        );
        add_partials(&cache.bias_partials, self.bias_ih.grad.data_mut());
        add_partials(&cache.bias_partials, self.bias_hh.grad.data_mut());
        self.initial_state_grad = Some((
            Tensor::from_vec(&[batch, hidden], cache.dh_carry.clone()),
            Tensor::from_vec(&[batch, hidden], cache.dc_carry.clone()),
        ));
        let mut dx = Tensor::zeros(&[batch, steps, features]);
        gemm_nn(
            rows,
            features,
            gates,
            &cache.d_gates,
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
            "LSTM(input={}, hidden={}, returns {})",
            self.input_size,
            self.hidden_size,
            self.output.describe()
        )
    }
}
