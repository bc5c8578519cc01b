//! `GRU`: the gated recurrent unit (Cho et al., 2014), as `torch.nn.GRU` with `batch_first=True`.
//! Chapter 9 explains its gates.
//!
//! PyTorch applies the reset gate *after* the recurrent product (`r ⊙ (W_hn·h + b_hn)`), not before
//! it (`W_hn·(r ⊙ h)`, the paper's first form); this layer does the same, so weights move between the
//! two unchanged. The shared machinery is in [`super::recurrent`].

use super::layer::{Layer, Mode, Param};
use super::recurrent::{
    RecurrentOutput, add_partials, check_input, check_output_grad, check_state, column_sums,
    input_projection, output_grad_at, output_shape, run_tasks, sequence_chunks,
    sequence_chunks_ref, set_initial, sigmoid_in_place, store_output, tanh_in_place, task_count,
    transpose_into, uniform_init,
};
use crate::linalg::gemm::{MatMut, MatRef, gemm, gemm_nn, gemm_tn};
use crate::probability::Rng;
use crate::tensor::Tensor;

/// A one-layer GRU over batch-first sequences.
///
/// Shapes: input `x: [N, T, F]`, output `[N, T, H]` or `[N, H]` ([`RecurrentOutput`]), optional
/// initial state `h₀: [N, H]` (zeros when not set).
///
/// Parameters (PyTorch's names and layout, gate blocks in the order **r, z, n**): `weight_ih_l0 [3H, F]`,
/// `weight_hh_l0 [3H, H]`, `bias_ih_l0 [3H]`, `bias_hh_l0 [3H]`, uniform on `[−1/√H, 1/√H]`.
///
/// Forward, for each step t:
/// ```text
/// p_t  = x_t·W_ihᵀ + b_ih            q_t = h_{t−1}·W_hhᵀ + b_hh      [N, 3H] each, split r z n
/// r = σ(p_r + q_r)                   reset gate: how much of the past the candidate sees
/// z = σ(p_z + q_z)                   update gate: how much of the past is kept
/// n = tanh(p_n + r ⊙ q_n)            the candidate state
/// h_t = (1 − z) ⊙ n + z ⊙ h_{t−1}
/// ```
/// Backward (t = T−1 … 0), with `dh` = ∂L/∂h_t from the output plus from step t+1:
/// ```text
/// da_n = dh ⊙ (1 − z) ⊙ (1 − n²)     da_z = dh ⊙ (h_{t−1} − n) ⊙ z(1 − z)
/// da_r = da_n ⊙ q_n ⊙ r(1 − r)
/// ∂L/∂p_t = [da_r, da_z, da_n]        ∂L/∂q_t = [da_r, da_z, da_n ⊙ r]
/// ∂L/∂h_{t−1} = dh ⊙ z + ∂L/∂q_t·W_hh    ∂L/∂x_t = ∂L/∂p_t·W_ih
/// dW_ih += Σ_t ∂L/∂p_tᵀ·x_t   db_ih += Σ_t ∂L/∂p_t   dW_hh += Σ_t ∂L/∂q_tᵀ·h_{t−1}   db_hh += Σ_t ∂L/∂q_t
/// ```
#[allow(clippy::upper_case_acronyms)] // PyTorch's and Keras's name, kept so the code reads like theirs
pub struct GRU {
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
    /// `W_hhᵀ` `[H, G]`, refreshed by every forward pass (contiguous rows for the per-step GEMM).
    weight_hh_t: Vec<f32>,
    batch: usize,
    steps: usize,
    valid: bool,
    /// The input `[N, T, F]` (training only).
    x: Vec<f32>,
    /// p_t, then the gate values r, z, n `[N, T, 3H]`.
    gates: Vec<f32>,
    /// q_t = h_{t−1}·W_hhᵀ + b_hh `[N, T, 3H]`.
    recurrent: Vec<f32>,
    /// `h_prev[n, t] = h_{t−1}` `[N, T, H]`.
    h_prev: Vec<f32>,
    /// `h_{T−1}` `[N, H]`.
    h_last: Vec<f32>,
    /// Backward: ∂L/∂p_t and ∂L/∂q_t `[N, T, 3H]` each.
    d_input_side: Vec<f32>,
    d_recurrent_side: Vec<f32>,
    /// Backward: ∂L/∂h carried from step t+1 to t `[N, H]`; ∂L/∂h₀ at the end.
    dh_carry: Vec<f32>,
    /// Backward: each task's column sums of ∂L/∂p and of ∂L/∂q `[tasks, 2, 3H]`.
    bias_partials: Vec<f32>,
}

impl GRU {
    /// A GRU from `input_size` features to `hidden_size` units, returning the whole sequence (change
    /// with [`GRU::output`]), initialised as PyTorch does.
    pub fn new(input_size: usize, hidden_size: usize, rng: &mut Rng) -> GRU {
        assert!(
            input_size > 0 && hidden_size > 0,
            "GRU::new: sizes must be positive, got input {input_size}, hidden {hidden_size}"
        );
        let gates =
            crate::tensor::size_product(&[3, hidden_size], "GRU::new: 3 gates × hidden_size");
        GRU {
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
    pub fn output(mut self, output: RecurrentOutput) -> GRU {
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

    /// The gate values of the last forward pass, `[N, T, 3H]` in PyTorch's order r, z, n
    /// (chapter 9 prints them).
    pub fn gate_activations(&self) -> Tensor {
        let c = &self.cache;
        Tensor::from_vec(&[c.batch, c.steps, 3 * self.hidden_size], c.gates.clone())
    }
}

/// One GRU step for one sequence: `gates` holds `x_t·W_ihᵀ` (`[3H]`), gets `b_ih` added (making it
/// p_t) and receives r, z, n; `recurrent` is q_t.
fn cell_forward(
    gates: &mut [f32],
    bias_ih: &[f32],
    recurrent: &[f32],
    h_prev: &[f32],
    h: &mut [f32],
) {
    let hidden = h.len();
    for (a, &b) in gates.iter_mut().zip(bias_ih) {
        *a += b;
    }
    let (rz, n) = gates.split_at_mut(2 * hidden);
    for (a, &q) in rz.iter_mut().zip(&recurrent[..2 * hidden]) {
        *a += q;
    }
    sigmoid_in_place(rz);
    let (r, z) = rz.split_at(hidden);
    for ((a, &r), &q) in n.iter_mut().zip(r).zip(&recurrent[2 * hidden..]) {
        *a += r * q;
    }
    tanh_in_place(n);
    for (((h, &z), &n), &h_prev) in h.iter_mut().zip(z).zip(n.iter()).zip(h_prev) {
        *h = (1.0 - z) * n + z * h_prev;
    }
}

/// One GRU step backwards for one sequence (formulas in [`GRU`]'s docs). `dh` is ∂L/∂h_t in total;
/// writes ∂L/∂p_t, ∂L/∂q_t and the direct part `dh ⊙ z` of ∂L/∂h_{t−1}.
fn cell_backward(
    gates: &[f32],
    recurrent: &[f32],
    h_prev: &[f32],
    dh: &[f32],
    d_input_side: &mut [f32],
    d_recurrent_side: &mut [f32],
    dh_prev_direct: &mut [f32],
) {
    let hidden = dh.len();
    let (r, rest) = gates.split_at(hidden);
    let (z, n) = rest.split_at(hidden);
    let q_n = &recurrent[2 * hidden..];
    for j in 0..hidden {
        let da_n = dh[j] * (1.0 - z[j]) * (1.0 - n[j] * n[j]);
        let da_z = dh[j] * (h_prev[j] - n[j]) * z[j] * (1.0 - z[j]);
        let da_r = da_n * q_n[j] * r[j] * (1.0 - r[j]);
        d_input_side[j] = da_r;
        d_input_side[hidden + j] = da_z;
        d_input_side[2 * hidden + j] = da_n;
        d_recurrent_side[j] = da_r;
        d_recurrent_side[hidden + j] = da_z;
        d_recurrent_side[2 * hidden + j] = da_n * r[j];
        dh_prev_direct[j] = dh[j] * z[j];
    }
}

struct ForwardChunk<'a> {
    x: &'a [f32],
    x_cache: Option<&'a mut [f32]>,
    h0: Option<&'a [f32]>,
    gates: &'a mut [f32],
    recurrent: &'a mut [f32],
    h_prev: &'a mut [f32],
    h_last: &'a mut [f32],
    out: &'a mut [f32],
}

struct BackwardChunk<'a> {
    gates: &'a [f32],
    recurrent: &'a [f32],
    h_prev: &'a [f32],
    grad_output: &'a [f32],
    d_input_side: &'a mut [f32],
    d_recurrent_side: &'a mut [f32],
    dh_carry: &'a mut [f32],
    bias_sums: &'a mut [f32],
}

impl Layer for GRU {
    fn forward(&mut self, x: &Tensor, mode: Mode) -> Tensor {
        let (batch, steps) = check_input("GRU", x, self.input_size);
        let (features, hidden) = (self.input_size, self.hidden_size);
        let gates = 3 * hidden;
        let per_sequence = steps * hidden;
        if let Some(h0) = &self.initial_state {
            check_state("GRU", "h₀", h0, batch, hidden);
        }
        let keep = mode.keeps_cache();
        let cache = &mut self.cache;
        cache.batch = batch;
        cache.steps = steps;
        cache.valid = keep;
        cache.x.resize(if keep { x.len() } else { 0 }, 0.0);
        cache.recurrent.resize(batch * steps * gates, 0.0);
        cache.h_prev.resize(batch * per_sequence, 0.0);
        cache.h_last.resize(batch * hidden, 0.0);
        transpose_into(
            self.weight_hh.value.data(),
            gates,
            hidden,
            &mut cache.weight_hh_t,
        );
        input_projection(
            x.data(),
            self.weight_ih.value.data(),
            gates,
            &mut cache.gates,
        );
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
            .zip(sequence_chunks(&mut cache.gates, steps * gates))
            .zip(sequence_chunks(&mut cache.recurrent, steps * gates))
            .zip(sequence_chunks(&mut cache.h_prev, per_sequence))
            .zip(sequence_chunks(&mut cache.h_last, hidden))
            .zip(sequence_chunks(out.data_mut(), out_per_sequence))
            .enumerate()
            .map(
                |(task, ((((((x, x_cache), gates), recurrent), h_prev), h_last), out))| {
                    ForwardChunk {
                        x,
                        x_cache,
                        h0: h0_rows.as_ref().map(|rows| rows[task]),
                        gates,
                        recurrent,
                        h_prev,
                        h_last,
                        out,
                    }
                },
            )
            .collect();
        let weight_hh_t = &cache.weight_hh_t;
        let bias_ih = self.bias_ih.value.data();
        let bias_hh = self.bias_hh.value.data();
        let output = self.output;
        run_tasks(chunks, |chunk| {
            let rows = chunk.h_last.len() / hidden;
            if let Some(x_cache) = chunk.x_cache {
                x_cache.copy_from_slice(chunk.x);
            }
            set_initial(chunk.h_prev, per_sequence, chunk.h0, hidden);
            for t in 0..steps {
                // q_t = h_{t−1}·W_hhᵀ (+ b_hh below) for this chunk's rows.
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
                    0.0,
                    MatMut::with_strides(
                        &mut chunk.recurrent[t * gates..],
                        rows,
                        gates,
                        steps * gates,
                        1,
                    ),
                );
                for r in 0..rows {
                    let g_at = (r * steps + t) * gates;
                    let at = r * per_sequence + t * hidden;
                    let q = &mut chunk.recurrent[g_at..g_at + gates];
                    for (q, &b) in q.iter_mut().zip(bias_hh) {
                        *q += b;
                    }
                    let (before, after) = chunk.h_prev.split_at_mut(at + hidden);
                    let h_prev = &before[at..];
                    let h = if t + 1 < steps {
                        &mut after[..hidden]
                    } else {
                        &mut chunk.h_last[r * hidden..(r + 1) * hidden]
                    };
                    cell_forward(&mut chunk.gates[g_at..g_at + gates], bias_ih, q, h_prev, h);
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
            "GRU::backward called without a preceding forward in Mode::Train or Mode::Eval (a Mode::Inference forward caches nothing)"
        );
        let (batch, steps, hidden) = (cache.batch, cache.steps, self.hidden_size);
        check_output_grad("GRU", self.output, grad_output, batch, steps, hidden);
        let gates = 3 * hidden;
        let per_sequence = steps * hidden;
        cache.d_input_side.resize(batch * steps * gates, 0.0);
        cache.d_recurrent_side.resize(batch * steps * gates, 0.0);
        cache.dh_carry.clear();
        cache.dh_carry.resize(batch * hidden, 0.0);
        cache
            .bias_partials
            .resize(task_count(batch) * 2 * gates, 0.0);
        let grad_per_sequence = grad_output.len() / batch;
        let chunks: Vec<BackwardChunk> = sequence_chunks_ref(&cache.gates, steps * gates)
            .into_iter()
            .zip(sequence_chunks_ref(&cache.recurrent, steps * gates))
            .zip(sequence_chunks_ref(&cache.h_prev, per_sequence))
            .zip(sequence_chunks_ref(grad_output.data(), grad_per_sequence))
            .zip(sequence_chunks(&mut cache.d_input_side, steps * gates))
            .zip(sequence_chunks(&mut cache.d_recurrent_side, steps * gates))
            .zip(sequence_chunks(&mut cache.dh_carry, hidden))
            .zip(cache.bias_partials.chunks_mut(2 * gates))
            .map(
                |(
                    (
                        (
                            ((((gates, recurrent), h_prev), grad_output), d_input_side),
                            d_recurrent_side,
                        ),
                        dh_carry,
                    ),
                    bias_sums,
                )| {
                    BackwardChunk {
                        gates,
                        recurrent,
                        h_prev,
                        grad_output,
                        d_input_side,
                        d_recurrent_side,
                        dh_carry,
                        bias_sums,
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
                    let g_at = (r * steps + t) * gates;
                    let at = r * per_sequence + t * hidden;
                    let carried = &mut chunk.dh_carry[r * hidden..(r + 1) * hidden];
                    let from_output = output_grad_at(
                        output,
                        &chunk.grad_output[r * grad_per_sequence..(r + 1) * grad_per_sequence],
                        t,
                        steps,
                        hidden,
                    );
                    match from_output {
                        Some(g) => {
                            for ((d, &a), &b) in dh.iter_mut().zip(carried.iter()).zip(g) {
                                *d = a + b;
                            }
                        }
                        None => dh.copy_from_slice(carried),
                    }
                    cell_backward(
                        &chunk.gates[g_at..g_at + gates],
                        &chunk.recurrent[g_at..g_at + gates],
                        &chunk.h_prev[at..at + hidden],
                        &dh,
                        &mut chunk.d_input_side[g_at..g_at + gates],
                        &mut chunk.d_recurrent_side[g_at..g_at + gates],
                        carried,
                    );
                }
                // ∂L/∂h_{t−1} = dh ⊙ z (already in dh_carry) + ∂L/∂q_t·W_hh.
                gemm(
                    1.0,
                    MatRef::with_strides(
                        &chunk.d_recurrent_side[t * gates..],
                        rows,
                        gates,
                        steps * gates,
                        1,
                    ),
                    MatRef::new(weight_hh, gates, hidden),
                    1.0,
                    MatMut::new(chunk.dh_carry, rows, hidden),
                );
            }
            let (input_sums, recurrent_sums) = chunk.bias_sums.split_at_mut(gates);
            column_sums(chunk.d_input_side, input_sums);
            column_sums(chunk.d_recurrent_side, recurrent_sums);
        });
        let rows = batch * steps;
        let features = self.input_size;
        gemm_tn(
            gates,
            features,
            rows,
            &cache.d_input_side,
            &cache.x,
            self.weight_ih.grad.data_mut(),
            1.0,
        );
        gemm_tn(
            gates,
            hidden,
            rows,
            &cache.d_recurrent_side,
            &cache.h_prev,
            self.weight_hh.grad.data_mut(),
            1.0,
        );
        // Task by task, in order: the same sums for any thread count.
        for sums in cache.bias_partials.chunks_exact(2 * gates) {
            add_partials(&sums[..gates], self.bias_ih.grad.data_mut());
            add_partials(&sums[gates..], self.bias_hh.grad.data_mut());
        }
        self.initial_state_grad = Some(Tensor::from_vec(&[batch, hidden], cache.dh_carry.clone()));
        let mut dx = Tensor::zeros(&[batch, steps, features]);
        gemm_nn(
            rows,
            features,
            gates,
            &cache.d_input_side,
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
            "GRU(input={}, hidden={}, returns {})",
            self.input_size,
            self.hidden_size,
            self.output.describe()
        )
    }
}
