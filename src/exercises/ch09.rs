//! Chapter 9 exercises: one step of a recurrent cell. Check them with
//! `cargo test --features exercises --test exercises -- ch09`.

// The stubs do not use their parameters until you write them.
#![allow(unused_variables)]

pub use crate::check::ch09::{LstmWeights, RnnCellGradients, RnnWeights};

/// **Exercise 9.1 — one step of a tanh RNN cell** (`nn.RNN`).
///
/// - `x`: the inputs of this time step `[N, F]`; `h_prev`: the previous hidden state `[N, H]`;
///   `weights`: `weight_ih [H, F]`, `weight_hh [H, H]`, `bias_ih [H]`, `bias_hh [H]` (PyTorch's
///   names and layout; F = `weights.input_size`, H = `weights.hidden_size`, N = `x.len() / F`).
/// - returns the new hidden state `h = tanh(x·W_ihᵀ + b_ih + h_prev·W_hhᵀ + b_hh)`, `[N, H]`:
///   `h[n][j] = tanh(Σᵢ x[n][i]·W_ih[j][i] + b_ih[j] + Σₖ h_prev[n][k]·W_hh[j][k] + b_hh[j])`.
///
/// Why: the same weights are applied at every time step; `h` carries what the network remembers
/// from the steps before. A sequence is processed by calling this once per step.
///
/// Hint: two Linear-layer forward passes (exercise 7.1) added together, then tanh.
///
/// Reference, once yours passes: `src/nn/rnn.rs` (`RNN`, its forward pass).
pub fn rnn_cell_forward(x: &[f32], h_prev: &[f32], weights: &RnnWeights) -> Vec<f32> {
    todo!("exercise 9.1: rnn_cell_forward — see the doc comment")
}

/// **Exercise 9.2 — the backward pass of one RNN step.**
///
/// - `x` `[N, F]`, `h_prev` `[N, H]`, `weights`: as in exercise 9.1; `h`: the output of that step
///   `[N, H]`; `grad_h`: ∂L/∂h `[N, H]`.
/// - returns the [`RnnCellGradients`]:
///   ```text
///   da        = grad_h ⊙ (1 − h²)          the gradient before tanh (tanh′ = 1 − tanh²)
///   input     = da · W_ih                  [N, H]·[H, F] = [N, F]
///   hidden    = da · W_hh                  [N, H]·[H, H] = [N, H]   (flows to the previous step)
///   weight_ih = daᵀ · x                    [H, N]·[N, F] = [H, F]
///   weight_hh = daᵀ · h_prev               [H, N]·[N, H] = [H, H]
///   bias      = Σₙ da[n]                   [H]   (the same for bias_ih and bias_hh)
///   ```
///
/// Why: it is a Linear layer's backward pass (exercise 7.2) twice, after the tanh's. `hidden` is what
/// backpropagation through time passes to the step before — multiplied by `diag(1 − h²)·W_hh` at
/// every step, which is why gradients vanish over long sequences.
///
/// Hint: `RnnCellGradients { input, hidden, weight_ih, weight_hh, bias }`.
///
/// Reference, once yours passes: `src/nn/rnn.rs` (`RNN`, its backward pass).
pub fn rnn_cell_backward(
    x: &[f32],
    h_prev: &[f32],
    h: &[f32],
    grad_h: &[f32],
    weights: &RnnWeights,
) -> RnnCellGradients {
    todo!("exercise 9.2: rnn_cell_backward — see the doc comment")
}

/// **Exercise 9.3 — one step of an LSTM cell** (`nn.LSTM`).
///
/// - `x` `[N, F]`; `h_prev`, `c_prev`: the previous hidden and cell states `[N, H]`; `weights`:
///   `weight_ih [4H, F]`, `weight_hh [4H, H]`, `bias_ih [4H]`, `bias_hh [4H]`, four blocks of H rows
///   for the gates in PyTorch's order **i, f, g, o**.
/// - returns `(h, c)`, each `[N, H]`:
///   ```text
///   a = x·W_ihᵀ + b_ih + h_prev·W_hhᵀ + b_hh        [N, 4H], each row split into a_i, a_f, a_g, a_o
///   i = σ(a_i)   f = σ(a_f)   g = tanh(a_g)   o = σ(a_o)
///   c = f ⊙ c_prev + i ⊙ g                          forget some of the cell, write some
///   h = o ⊙ tanh(c)                                 read some of it out
///   ```
///
/// Why: the cell c changes only through ⊙f and +i⊙g — no squashing matrix product — so gradients
/// can flow along it over many steps, which a plain RNN cannot do.
///
/// Hint: compute a like exercise 9.1 (with 4H rows instead of H), then for unit j of row n the
/// gates are `a[n][j]`, `a[n][H + j]`, `a[n][2H + j]`, `a[n][3H + j]`.
///
/// Reference, once yours passes: `src/nn/lstm.rs` (`LSTM`, its forward pass).
pub fn lstm_cell_forward(
    x: &[f32],
    h_prev: &[f32],
    c_prev: &[f32],
    weights: &LstmWeights,
) -> (Vec<f32>, Vec<f32>) {
    todo!("exercise 9.3: lstm_cell_forward — see the doc comment")
}
