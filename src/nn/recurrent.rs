//! What the recurrent layers ([`super::RNN`], [`super::LSTM`], [`super::GRU`]) share: the choice of
//! output, PyTorch's initialisation, fast `sigmoid`/`tanh` over slices, the input projection of all
//! time steps in one GEMM, and the split of a batch into sequence chunks that run on the thread pool.
//! Chapter 9 (循环神经网络) teaches the layers; chapters 13 and 14 train them.
//!
//! # Layout
//! Sequences are batch-first, `x: [N, T, F]` (N sequences, T time steps, F features per step), as
//! Keras and PyTorch's `batch_first=True`. A layer with hidden size H returns either the whole sequence
//! of hidden states `[N, T, H]` or only the last one `[N, H]` ([`RecurrentOutput`]).
//!
//! # How the work is organised (and why it is fast)
//! 1. **Input projection, one GEMM.** The input's contribution to every gate at every time step does not
//!    depend on the recurrence, so it is computed for all N·T rows at once: `P = X·W_ihᵀ`,
//!    `[N·T, F]·[F, G] → [N·T, G]` (G = 4H for the LSTM, 3H for the GRU, H for the plain RNN).
//! 2. **Recurrence, one GEMM per step for all gates.** Step t adds `h_{t−1}·W_hhᵀ` (`[n, H]·[H, G]`,
//!    `W_hhᵀ` stored transposed once per pass so the GEMM reads contiguous rows) to its rows of `P`,
//!    then adds the biases and applies the gate non-linearities in one pass over the row.
//! 3. **Sequences are independent**, so the batch is cut into chunks of [`ROWS_PER_TASK`] sequences and
//!    each chunk runs its whole time loop as one task on the thread pool: one synchronisation per
//!    forward pass instead of one per time step. Because the chunk size is a constant (not "batch /
//!    threads"), every sequence is computed by exactly the same operations for any thread count, so the
//!    results are bit-identical with 1 or 16 threads.
//! 4. **Backward**: the chunks run the time loop backwards (backpropagation through time), each writing
//!    the gradients of its gate pre-activations `dA` `[N, T, G]`, and the per-step product
//!    `∂L/∂h_{t−1} = dA_t·W_hh`, again one GEMM for all gates. The weight gradients are sums over all
//!    N·T rows, i.e. single GEMMs after the loop: `dW_ih = dAᵀ·X`, `dW_hh = dAᵀ·H_prev`, `dX = dA·W_ih`,
//!    which [`crate::linalg::gemm()`] splits over output blocks (never over the sum); the bias gradient
//!    is summed per chunk inside the tasks and the chunks' sums are added in chunk order. So the
//!    gradients are deterministic too.
//! 5. **Memory work happens inside the tasks**: copying the input for backward, writing the output
//!    rows, the bias sums — each chunk does its own share, so the second thread is not idle while the
//!    first copies megabytes.
//!
//! Buffers live in the layer and are reused from call to call (`Vec::resize` keeps the capacity), so a
//! training step allocates only the tensors the [`super::Layer`] API hands back. An inference pass
//! ([`super::Mode::Inference`]) runs the same code in the same buffers, as scratch: it keeps no copy of the
//! input and marks the buffers unusable for `backward`, which then panics. (So inference needs the
//! `[N, T, G]` gate buffer too; a per-step buffer would need less memory, at the price of a second
//! code path.)
//!
//! # Stacked layers (`num_layers`), written once
//! PyTorch's `nn.LSTM(F, H, num_layers=L, dropout=p)` is L one-layer LSTMs in a chain: layer 0 reads
//! the input `[N, T, F]`, layer l > 0 reads the hidden states `[N, T, H]` of layer l − 1, after
//! dropout with probability p in training (never after the last layer). Each layer has its own
//! weights, named with its index (`weight_ih_l0`, `weight_ih_l1`, …), and its own initial state: the
//! states of a stack are `[L, N, H]` tensors, layer l's state at index l (PyTorch's `h_0`, `h_n`).
//!
//! `Stack` does this chaining for the three layer types: forward through the layers (dropout in
//! between), backward in reverse order, the per-layer initial states and their gradients gathered
//! into `[L, N, H]`, the parameter names. Each layer type implements the one-layer pass once
//! (the crate-private trait `RecurrentCell`) and is a `Stack` of itself: [`super::LSTM`] is a `Stack` of LSTM layers, and
//! `LSTM::new` the special case L = 1.
//!
//! What it leaves out: bidirectional layers, dropout between steps (variational dropout), masks for
//! variable-length sequences (pad them, see `data::text::pad_sequences`), projections (`proj_size`),
//! the ReLU RNN, `bias=False`, time-first layout (`batch_first=False`).

use super::dropout::Dropout;
use super::layer::{Layer, Mode, Param};
use crate::linalg::gemm::gemm_nt;
use crate::parallel;
use crate::probability::Rng;
use crate::tensor::Tensor;

/// What a recurrent layer returns — Keras's `return_sequences`.
///
/// To stack recurrent layers in a [`super::Sequential`], every layer but the last returns
/// [`RecurrentOutput::Sequence`] (the next layer needs an input at every step), and the last one
/// returns [`RecurrentOutput::LastStep`] when a single prediction per sequence follows (a classifier
/// head, a one-step-ahead forecast):
///
/// ```
/// use dlfs::nn::{Layer, Mode, Sequential, LSTM, RecurrentOutput};
/// use dlfs::probability::Rng;
/// use dlfs::Tensor;
/// let mut rng = Rng::new(0);
/// let mut model = Sequential::new(vec![
///     Box::new(LSTM::new(8, 16, &mut rng)),                                   // [N, T, 8] → [N, T, 16]
///     Box::new(LSTM::new(16, 4, &mut rng).output(RecurrentOutput::LastStep)), // → [N, 4]
/// ]);
/// let y = model.forward(&Tensor::zeros(&[2, 5, 8]), Mode::Eval);
/// assert_eq!(y.shape(), &[2, 4]);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecurrentOutput {
    /// Every hidden state, `[N, T, H]` (PyTorch's `output`, Keras `return_sequences=True`). The default.
    Sequence,
    /// Only the hidden state after the last step, `[N, H]` (PyTorch's `h_n`, Keras's default).
    LastStep,
}

impl RecurrentOutput {
    /// `sequence [N, T, H]` or `last step [N, H]`, for layer descriptions.
    pub fn describe(self) -> &'static str {
        match self {
            RecurrentOutput::Sequence => "sequence [N, T, H]",
            RecurrentOutput::LastStep => "last step [N, H]",
        }
    }
}

/// Sequences per task on the thread pool. A constant, so that the work each sequence sees — and hence
/// every rounding — is the same for any thread count (see the module docs).
pub const ROWS_PER_TASK: usize = 32;

/// PyTorch's initialisation of every recurrent weight and bias: uniform on `[−1/√H, 1/√H]`.
pub fn uniform_init(shape: &[usize], hidden_size: usize, rng: &mut Rng) -> Tensor {
    let bound = 1.0 / (hidden_size as f32).sqrt();
    Tensor::rand_uniform(shape, -bound, bound, rng)
}

/// `e^x` for f32, accurate to about 2 ulp, written so the compiler vectorises loops over it
/// (std's `exp` is a library call per element and dominated the LSTM's time).
///
/// Cephes' method: write `x = n·ln2 + r` with n an integer and |r| ≤ ln2/2, approximate `e^r` by a
/// degree-6 polynomial, and multiply by 2ⁿ by building the float's exponent bits. Adding
/// `1.5·2²³` to `x·log₂e` rounds it to the integer n *and* leaves n in the low bits of the sum's
/// bit pattern, so 2ⁿ is made with integer adds and a shift — no float-to-int conversion, which
/// would not vectorise. Inputs are clamped to ±87, where `e^x` is still a normal f32.
#[inline(always)]
pub fn fast_exp(x: f32) -> f32 {
    const LOG2_E: f32 = std::f32::consts::LOG2_E;
    // ln2 split in a part with few mantissa bits (so n·LN2_HIGH is exact) and the rest.
    const LN2_HIGH: f32 = 0.693_359_4;
    const LN2_LOW: f32 = -2.121_944_4e-4;
    const ROUND: f32 = 12_582_912.0; // 1.5·2²³
    let x = x.clamp(-87.0, 87.0);
    let shifted = x * LOG2_E + ROUND;
    let n = shifted - ROUND;
    let r = x - n * LN2_HIGH - n * LN2_LOW;
    let mut p = 1.987_569_1e-4;
    p = p * r + 1.398_199_9e-3;
    p = p * r + 8.333_452e-3;
    p = p * r + 4.166_579_6e-2;
    p = p * r + 1.666_666_5e-1;
    p = p * r + 5e-1;
    let e_r = p * r * r + r + 1.0;
    // The low bits of `shifted` hold n (two's complement); 2ⁿ has exponent bits n + 127.
    let n_bits = shifted.to_bits().wrapping_sub(ROUND.to_bits());
    let two_to_n = f32::from_bits(n_bits.wrapping_add(127) << 23);
    e_r * two_to_n
}

/// The logistic sigmoid `σ(x) = 1 / (1 + e^−x)`, in place.
pub fn sigmoid_in_place(values: &mut [f32]) {
    for v in values {
        *v = 1.0 / (1.0 + fast_exp(-*v));
    }
}

/// The hyperbolic tangent `tanh(x) = 2σ(2x) − 1`, in place (absolute error below 10⁻⁷).
pub fn tanh_in_place(values: &mut [f32]) {
    for v in values {
        *v = 2.0 / (1.0 + fast_exp(-2.0 * *v)) - 1.0;
    }
}

/// Checks a recurrent layer's input `[N, T, F]` and returns `(N, T)`. Panics naming the layer.
pub(crate) fn check_input(layer: &str, x: &Tensor, input_size: usize) -> (usize, usize) {
    assert!(
        x.ndim() == 3 && x.dim(2) == input_size && x.dim(1) > 0,
        "{layer}: expected an input of shape [N, T, {input_size}] (batch-first, T ≥ 1), got {:?}",
        x.shape()
    );
    (x.dim(0), x.dim(1))
}

/// Checks one initial-state tensor `[L, N, H]` against the batch. Panics naming the layer and both
/// shapes.
fn check_state(
    layer: &str,
    what: &str,
    state: &Tensor,
    layers: usize,
    batch: usize,
    hidden: usize,
) {
    assert!(
        state.shape() == [layers, batch, hidden],
        "{layer}: the initial state {what} must have shape [{layers}, {batch}, {hidden}] \
         ([num_layers, N, H]) for this batch, got {:?}",
        state.shape()
    );
}

/// One layer of a recurrent [`Stack`]: what [`super::LSTM`], [`super::GRU`] and [`super::RNN`] each
/// write once (the cell's forward and backward through time; the stacking is the `Stack`'s).
pub(crate) trait RecurrentCell: Send + 'static {
    /// `LSTM`, `GRU` or `RNN`, for messages and descriptions.
    const NAME: &'static str;
    /// The names of the state tensors: `h₀` (and `c₀` for the LSTM); their number is the number of
    /// state tensors a layer carries.
    const STATES: &'static [&'static str];

    /// One layer from `input_size` features to `hidden_size` units, initialised as PyTorch does
    /// (draws `W_ih`, `W_hh`, `b_ih`, `b_hh` from `rng`, in that order).
    fn new(input_size: usize, hidden_size: usize, rng: &mut Rng) -> Self;

    /// Sets what `forward` returns.
    fn set_output(&mut self, output: RecurrentOutput);

    /// The forward pass of one layer. `initial`: one `[N·H]` slice per state tensor (see
    /// [`RecurrentCell::STATES`]), or `None` for zeros.
    fn forward(&mut self, x: &Tensor, initial: Option<&[&[f32]]>, mode: Mode) -> Tensor;

    /// The backward pass of one layer; returns ∂L/∂x.
    fn backward(&mut self, grad_output: &Tensor) -> Tensor;

    /// ∂L/∂(initial state number `state`) `[N·H]` from the last backward pass.
    fn initial_state_grad(&self, state: usize) -> &[f32];

    /// State number `state` after the last step of the last forward pass `[N·H]`.
    fn final_state(&self, state: usize) -> Vec<f32>;

    /// `[W_ih, W_hh, b_ih, b_hh]`, in PyTorch's order.
    fn params_mut(&mut self) -> [&mut Param; 4];
}

/// `L` recurrent layers in a chain, with dropout between them (see the module docs). What
/// [`super::LSTM`], [`super::GRU`] and [`super::RNN`] are made of.
pub(crate) struct Stack<C: RecurrentCell> {
    layers: Vec<C>,
    input_size: usize,
    hidden_size: usize,
    output: RecurrentOutput,
    /// The drop probability between layers (0: none).
    dropout: f32,
    /// One dropout layer after each layer but the last (empty when `dropout` is 0).
    dropouts: Vec<Dropout>,
    /// Where the dropout layers' generators come from (forked from the constructor's generator;
    /// `None` for one layer, which has no dropout).
    dropout_rng: Option<Rng>,
    /// One `[L, N, H]` tensor per state (h, and c for the LSTM); `None` means zeros.
    initial_state: Option<Vec<Tensor>>,
    /// ∂L/∂initial state, one `[L, N, H]` tensor per state, from the last backward pass.
    initial_state_grad: Option<Vec<Tensor>>,
    /// The batch size of the last forward pass.
    batch: usize,
    /// True when the last forward pass ran the dropout layers (training); evaluation skips them
    /// (they are the identity there), and so does the backward pass that follows.
    dropped: bool,
}

impl<C: RecurrentCell> Stack<C> {
    /// `num_layers` layers from `input_size` features to `hidden_size` units, returning the
    /// whole sequence; layer 0's parameters are drawn first, then layer 1's, …
    pub(crate) fn new(
        input_size: usize,
        hidden_size: usize,
        num_layers: usize,
        rng: &mut Rng,
    ) -> Stack<C> {
        assert!(
            input_size > 0 && hidden_size > 0 && num_layers > 0,
            "{}: input size, hidden size and num_layers must be positive, got input {input_size}, \
             hidden {hidden_size}, num_layers {num_layers}",
            C::NAME
        );
        let layers = (0..num_layers)
            .map(|l| {
                C::new(
                    if l == 0 { input_size } else { hidden_size },
                    hidden_size,
                    rng,
                )
            })
            .collect();
        Stack {
            layers,
            input_size,
            hidden_size,
            output: RecurrentOutput::Sequence,
            dropout: 0.0,
            dropouts: Vec::new(),
            // Drawn only for a real stack, so `new(F, H, 1, rng)` leaves `rng` as a one-layer
            // constructor always did.
            dropout_rng: (num_layers > 1).then(|| rng.fork()),
            initial_state: None,
            initial_state_grad: None,
            batch: 0,
            dropped: false,
        }
    }

    /// Sets what the last layer returns (the others always return the sequence).
    pub(crate) fn set_output(&mut self, output: RecurrentOutput) {
        self.output = output;
        if let Some(last) = self.layers.last_mut() {
            last.set_output(output);
        }
    }

    /// Sets the dropout probability `p` ∈ [0, 1] between layers (training only; no effect with one
    /// layer, as in PyTorch).
    pub(crate) fn set_dropout(&mut self, p: f32) {
        assert!(
            (0.0..=1.0).contains(&p),
            "{}: dropout must be a probability in [0, 1], got {p}",
            C::NAME
        );
        self.dropout = p;
        self.dropouts.clear();
        if let Some(rng) = self.dropout_rng.as_mut().filter(|_| p > 0.0) {
            let mut generator = rng.clone();
            for _ in 1..self.layers.len() {
                self.dropouts.push(Dropout::new(p, &mut generator));
            }
        }
    }

    /// Restarts the generator of the dropout after layer l from `seed + l` (see
    /// [`Dropout::reseed`]): the next masks repeat for the same seed, as a gradient check needs.
    pub(crate) fn reseed_dropout(&mut self, seed: u64) {
        for (l, dropout) in self.dropouts.iter_mut().enumerate() {
            dropout.reseed(seed.wrapping_add(l as u64));
        }
    }

    /// The number of layers L.
    pub(crate) fn num_layers(&self) -> usize {
        self.layers.len()
    }

    /// The features per step of the input (F).
    pub(crate) fn input_size(&self) -> usize {
        self.input_size
    }

    /// The hidden units per layer (H).
    pub(crate) fn hidden_size(&self) -> usize {
        self.hidden_size
    }

    /// The dropout probability between layers.
    pub(crate) fn dropout(&self) -> f32 {
        self.dropout
    }

    /// The last layer (whose output the stack returns).
    pub(crate) fn last_layer(&self) -> &C {
        self.layers.last().expect("a stack has at least one layer")
    }

    /// Sets the initial states, one tensor per state name: `[L, N, H]`, or `[N, H]` when L = 1.
    /// Panics (naming the shapes) on any other rank or size; the batch size is checked by forward.
    pub(crate) fn set_initial_state(&mut self, state: Option<Vec<Tensor>>) {
        let layers = self.layers.len();
        let hidden = self.hidden_size;
        self.initial_state =
            state.map(|tensors| {
                assert_eq!(tensors.len(), C::STATES.len());
                tensors
                .into_iter()
                .zip(C::STATES)
                .map(|(t, what)| {
                    let shape = t.shape().to_vec();
                    match shape[..] {
                        [l, _, h] if l == layers && h == hidden => t,
                        [n, h] if layers == 1 && h == hidden => t.reshape(&[1, n, h]),
                        _ => panic!(
                            "{}: the initial state {what} must have shape [{layers}, N, {hidden}] \
                             ([num_layers, N, H]{}), got {shape:?}",
                            C::NAME,
                            if layers == 1 { ", or [N, H] for one layer" } else { "" }
                        ),
                    }
                })
                .collect()
            });
    }

    /// The gradients of the initial states from the last backward pass, each `[L, N, H]`.
    pub(crate) fn initial_state_grad(&self) -> Option<&[Tensor]> {
        self.initial_state_grad.as_deref()
    }

    /// The states after the last step of the last forward pass, each `[L, N, H]`.
    pub(crate) fn final_state(&self) -> Vec<Tensor> {
        let shape = [self.layers.len(), self.batch, self.hidden_size];
        (0..C::STATES.len())
            .map(|k| {
                let data: Vec<f32> = self.layers.iter().flat_map(|l| l.final_state(k)).collect();
                Tensor::from_vec(&shape, data)
            })
            .collect()
    }

    /// The description: `LSTM(input=8, hidden=16, returns …)`, with `num_layers` and `dropout` when
    /// they are not 1 and 0, and `extra` (e.g. `, tanh`) after the sizes.
    pub(crate) fn describe_with(&self, extra: &str) -> String {
        let mut text = format!(
            "{}(input={}, hidden={}{extra}",
            C::NAME,
            self.input_size,
            self.hidden_size
        );
        if self.layers.len() > 1 {
            text += &format!(", num_layers={}", self.layers.len());
        }
        if self.dropout > 0.0 {
            text += &format!(", dropout={}", self.dropout);
        }
        text + &format!(", returns {})", self.output.describe())
    }

    /// Layer 0 on `x`, then each next layer on the previous one's hidden states (after dropout in
    /// training), each from its own initial state.
    pub(crate) fn forward(&mut self, x: &Tensor, mode: Mode) -> Tensor {
        let (batch, _) = check_input(C::NAME, x, self.input_size);
        let (layers, hidden) = (self.layers.len(), self.hidden_size);
        if let Some(states) = &self.initial_state {
            for (state, what) in states.iter().zip(C::STATES) {
                check_state(C::NAME, what, state, layers, batch, hidden);
            }
        }
        self.batch = batch;
        self.dropped = mode.is_training();
        let per_layer = batch * hidden;
        let mut current: Option<Tensor> = None;
        for (l, layer) in self.layers.iter_mut().enumerate() {
            let initial: Option<Vec<&[f32]>> = self.initial_state.as_ref().map(|states| {
                states
                    .iter()
                    .map(|s| &s.data()[l * per_layer..(l + 1) * per_layer])
                    .collect()
            });
            let mut y = layer.forward(current.as_ref().unwrap_or(x), initial.as_deref(), mode);
            if let Some(dropout) = self.dropouts.get_mut(l).filter(|_| self.dropped) {
                y = dropout.forward(&y, mode);
            }
            current = Some(y);
        }
        current.expect("a stack has at least one layer")
    }

    /// The layers' backward passes in reverse order (through the dropout masks); gathers the
    /// initial-state gradients into `[L, N, H]`.
    pub(crate) fn backward(&mut self, grad_output: &Tensor) -> Tensor {
        let last = self.layers.len() - 1;
        let mut grad = self.layers[last].backward(grad_output);
        for l in (0..last).rev() {
            if let Some(dropout) = self.dropouts.get_mut(l).filter(|_| self.dropped) {
                grad = dropout.backward(&grad);
            }
            grad = self.layers[l].backward(&grad);
        }
        let shape = [self.layers.len(), grad.dim(0), self.hidden_size];
        self.initial_state_grad = Some(
            (0..C::STATES.len())
                .map(|k| {
                    let mut data = Vec::with_capacity(shape.iter().product());
                    for layer in &self.layers {
                        data.extend_from_slice(layer.initial_state_grad(k));
                    }
                    Tensor::from_vec(&shape, data)
                })
                .collect(),
        );
        grad
    }

    /// PyTorch's names: `weight_ih_l{l}`, `weight_hh_l{l}`, `bias_ih_l{l}`, `bias_hh_l{l}` for each
    /// layer l in order.
    pub(crate) fn visit_params(&mut self, f: &mut dyn FnMut(&str, &mut Param)) {
        for (l, layer) in self.layers.iter_mut().enumerate() {
            let [weight_ih, weight_hh, bias_ih, bias_hh] = layer.params_mut();
            f(&format!("weight_ih_l{l}"), weight_ih);
            f(&format!("weight_hh_l{l}"), weight_hh);
            f(&format!("bias_ih_l{l}"), bias_ih);
            f(&format!("bias_hh_l{l}"), bias_hh);
        }
    }

    /// The generator of the dropout after layer l as `dropout_l{l}.rng` (none without dropout), so
    /// that a resumed run ([`crate::train::resume`]) draws the masks the uninterrupted run drew.
    pub(crate) fn visit_rngs(&mut self, f: &mut dyn FnMut(&str, &mut Rng)) {
        for (l, dropout) in self.dropouts.iter_mut().enumerate() {
            dropout.visit_rngs(&mut |name, rng| f(&format!("dropout_l{l}.{name}"), rng));
        }
    }
}

/// `projection = X·W_ihᵀ` for all N·T rows at once, one GEMM: `x` is `[N·T, F]`, `weight_ih`
/// `[G, F]`; `projection` is resized to `[N·T, G]`. (The biases are added inside each step, where
/// the row is read anyway.)
pub(crate) fn input_projection(
    x: &[f32],
    weight_ih: &[f32],
    gates: usize,
    projection: &mut Vec<f32>,
) {
    let features = weight_ih.len() / gates;
    let rows = x.len() / features;
    projection.resize(rows * gates, 0.0);
    gemm_nt(rows, gates, features, x, weight_ih, projection, 0.0);
}

/// Writes the transpose of the row-major `rows × cols` matrix `source` into `target` (resized).
/// The forward pass multiplies by `W_hhᵀ` at every step; storing it transposed once per pass gives the
/// GEMM contiguous rows to pack at every step instead of a strided walk.
pub(crate) fn transpose_into(source: &[f32], rows: usize, cols: usize, target: &mut Vec<f32>) {
    target.resize(rows * cols, 0.0);
    for (r, row) in source.chunks_exact(cols).enumerate() {
        for (c, &v) in row.iter().enumerate() {
            target[c * rows + r] = v;
        }
    }
}

/// Writes the column sums of `rows` (`[R, G]`, row-major, summed in row order) into `sums` (`[G]`):
/// one task's share of a bias gradient.
pub(crate) fn column_sums(rows: &[f32], sums: &mut [f32]) {
    sums.fill(0.0);
    for row in rows.chunks_exact(sums.len()) {
        for (s, &v) in sums.iter_mut().zip(row) {
            *s += v;
        }
    }
}

/// Adds the per-task partial sums (`[tasks, G]`) to `grad` (`[G]`), in task order, so the result is
/// the same for any thread count.
pub(crate) fn add_partials(partials: &[f32], grad: &mut [f32]) {
    for partial in partials.chunks_exact(grad.len()) {
        for (g, &p) in grad.iter_mut().zip(partial) {
            *g += p;
        }
    }
}

/// Runs `body(chunk)` for every item on the thread pool, each exactly once. The items are the
/// per-task pieces of the layer's buffers (each task owns its piece: disjoint `&mut` slices).
pub(crate) fn run_tasks<T: Send>(items: Vec<T>, body: impl Fn(T) + Sync) {
    parallel::for_each_item(items, body);
}

/// Splits `buffer`, which holds `per_sequence` values for each sequence of the batch, into the
/// per-task pieces of [`ROWS_PER_TASK`] sequences (the last piece may be shorter).
pub(crate) fn sequence_chunks(buffer: &mut [f32], per_sequence: usize) -> Vec<&mut [f32]> {
    buffer
        .chunks_mut((ROWS_PER_TASK * per_sequence).max(1))
        .collect()
}

/// Read-only counterpart of [`sequence_chunks`].
pub(crate) fn sequence_chunks_ref(buffer: &[f32], per_sequence: usize) -> Vec<&[f32]> {
    buffer.chunks(ROWS_PER_TASK * per_sequence.max(1)).collect()
}

/// The number of per-task pieces for a batch of `batch` sequences.
pub(crate) fn task_count(batch: usize) -> usize {
    batch.div_ceil(ROWS_PER_TASK)
}

/// The shape of the output for a batch: `[N, T, H]` or `[N, H]`.
pub(crate) fn output_shape(
    output: RecurrentOutput,
    batch: usize,
    steps: usize,
    hidden: usize,
) -> Vec<usize> {
    match output {
        RecurrentOutput::Sequence => vec![batch, steps, hidden],
        RecurrentOutput::LastStep => vec![batch, hidden],
    }
}

/// Copies `h_t` of sequence `r` of a chunk into the chunk's part of the output tensor (every step for
/// [`RecurrentOutput::Sequence`], the last step only for [`RecurrentOutput::LastStep`]).
pub(crate) fn store_output(
    output: RecurrentOutput,
    out: &mut [f32],
    r: usize,
    t: usize,
    steps: usize,
    h: &[f32],
) {
    let hidden = h.len();
    match output {
        RecurrentOutput::Sequence => {
            out[(r * steps + t) * hidden..(r * steps + t + 1) * hidden].copy_from_slice(h);
        }
        RecurrentOutput::LastStep if t + 1 == steps => {
            out[r * hidden..(r + 1) * hidden].copy_from_slice(h);
        }
        RecurrentOutput::LastStep => {}
    }
}

/// Writes the initial state of a chunk's sequences into `slots` (`per_sequence` values apart, `hidden`
/// each): rows of `initial` (a chunk of an `[N, H]` tensor) or zeros.
pub(crate) fn set_initial(
    slots: &mut [f32],
    per_sequence: usize,
    initial: Option<&[f32]>,
    hidden: usize,
) {
    for (r, slot) in slots.chunks_mut(per_sequence).enumerate() {
        match initial {
            Some(rows) => slot[..hidden].copy_from_slice(&rows[r * hidden..(r + 1) * hidden]),
            None => slot[..hidden].fill(0.0),
        }
    }
}

/// Checks the gradient handed to `backward` against the output shape `forward` produced.
pub(crate) fn check_output_grad(
    layer: &str,
    output: RecurrentOutput,
    grad: &Tensor,
    batch: usize,
    steps: usize,
    hidden: usize,
) {
    let expected = output_shape(output, batch, steps, hidden);
    assert!(
        grad.shape() == expected.as_slice(),
        "{layer}::backward: the output gradient must have the output's shape {expected:?}, got {:?}",
        grad.shape()
    );
}

/// The gradient arriving at the hidden state of step `t` from the layer's output, for one sequence:
/// row `t` of its `[T, H]` gradient (sequence output), or the `[H]` gradient at the last step only.
pub(crate) fn output_grad_at(
    output: RecurrentOutput,
    grad_sequence: &[f32],
    t: usize,
    steps: usize,
    hidden: usize,
) -> Option<&[f32]> {
    match output {
        RecurrentOutput::Sequence => Some(&grad_sequence[t * hidden..(t + 1) * hidden]),
        RecurrentOutput::LastStep if t + 1 == steps => Some(grad_sequence),
        RecurrentOutput::LastStep => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_exp_matches_std() {
        let mut worst = 0.0f64;
        let mut x = -80.0f32;
        while x < 80.0 {
            let exact = f64::from(x).exp();
            let relative = ((f64::from(fast_exp(x)) - exact) / exact).abs();
            worst = worst.max(relative);
            x += 0.013;
        }
        assert!(worst < 5e-7, "fast_exp worst relative error {worst:e}");
    }

    #[test]
    fn activations_match_std() {
        let xs: Vec<f32> = (-400..=400).map(|i| i as f32 * 0.05).collect();
        let mut s = xs.clone();
        sigmoid_in_place(&mut s);
        let mut t = xs.clone();
        tanh_in_place(&mut t);
        for ((&x, &sv), &tv) in xs.iter().zip(&s).zip(&t) {
            let exact_s = 1.0 / (1.0 + f64::from(-x).exp());
            assert!((f64::from(sv) - exact_s).abs() < 2e-7, "sigmoid({x})");
            assert!(
                (f64::from(tv) - f64::from(x).tanh()).abs() < 3e-7,
                "tanh({x})"
            );
        }
    }
}
