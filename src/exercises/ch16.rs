//! Chapter 16 exercises: the pieces of a transformer. Check them with
//! `cargo test --features exercises --test exercises -- ch16`.

// The stubs do not use their parameters until you write them.
#![allow(unused_variables)]

pub use crate::check::ch16::AttentionGradients;

/// **Exercise 16.1 — the backward pass of layer normalisation** (`nn.LayerNorm`).
///
/// - `x`: the input of the forward pass, `rows` rows of `features` values (`[R, E]` row-major);
///   `gamma`: γ `[E]`; `grad_output`: dy = ∂L/∂y `[R, E]`; `eps`: ε (10⁻⁵ in PyTorch).
/// - the forward pass was, for each row: `μ = mean(x)`, `σ² = mean((x − μ)²)` (the biased variance),
///   `r = 1/√(σ² + ε)`, `x̂ = (x − μ)·r`, `y = γ ⊙ x̂ + β`.
/// - returns `(grad_input [R, E], grad_gamma [E], grad_beta [E])`:
///   ```text
///   grad_gamma = Σ_rows dy ⊙ x̂          grad_beta = Σ_rows dy
///   g = dy ⊙ γ                          (per row)
///   grad_input = r·(g − mean(g) − x̂ ⊙ mean(g ⊙ x̂))
///   ```
///
/// Why the two mean terms: μ and σ² depend on every value of the row, so moving one x moves every
/// x̂ of its row a little. Shifting a whole row, or scaling it around its mean, leaves x̂ unchanged —
/// and those are exactly the two directions the formula removes from g.
///
/// Hint: recompute μ, r and x̂ from x first (a layer keeps them from its forward pass).
///
/// Reference, once yours passes: `src/nn/layer_norm.rs` (`LayerNorm::backward_rows`).
pub fn layer_norm_backward(
    x: &[f32],
    gamma: &[f32],
    grad_output: &[f32],
    rows: usize,
    features: usize,
    eps: f32,
) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    todo!("exercise 16.1: layer_norm_backward — see the doc comment")
}

/// **Exercise 16.2 — one head of causal self-attention, forward.**
///
/// - `q`, `k`, `v`: the queries, keys and values of one sequence, each `[T, D]` row-major
///   (T = `t` positions, D = `d` values per head).
/// - returns the output `[T, D]`: for each position i,
///   ```text
///   scores  zᵢⱼ = Σ_c q[i][c]·k[j][c] / √D       for j ≤ i only (the causal mask)
///   weights pᵢ  = softmax(zᵢ)                    over j = 0 … i
///   output[i]   = Σⱼ pᵢⱼ·v[j]
///   ```
///
/// Why causal: a language model predicts the token after position i from positions 0 … i; if
/// position i could attend to i + 1, it would read the answer. Dividing by √D keeps the scores'
/// spread the same for any head width, so the softmax does not saturate.
///
/// Example: T = 2, D = 1, `q = k = [[1], [1]]`, `v = [[1], [3]]` → `[[1], [2]]` (position 0 sees only
/// itself; position 1 weighs both equally).
///
/// Hint: subtract each row's largest score before `exp` (scores of a few hundred are normal).
///
/// Reference, once yours passes: `src/nn/attention.rs` (`attention_forward`, and the textbook
/// `scaled_dot_product_attention`).
pub fn causal_attention_forward(q: &[f32], k: &[f32], v: &[f32], t: usize, d: usize) -> Vec<f32> {
    todo!("exercise 16.2: causal_attention_forward — see the doc comment")
}

/// **Exercise 16.3 — the backward pass of one attention head.**
///
/// - `q`, `k`, `v`: as in exercise 16.2, each `[T, D]`; `grad_output`: dO = ∂L/∂output `[T, D]`;
///   `causal`: whether the forward pass used the causal mask.
/// - returns [`AttentionGradients`] `{ q, k, v }`, each `[T, D]`:
///   ```text
///   forward:  Z = Q·Kᵀ/√D,  P = softmax(Z) per row (masked entries 0),  O = P·V
///   dV = Pᵀ·dO                      [T, T]·[T, D]
///   dP = dO·Vᵀ                      [T, D]·[D, T]
///   dZ = P ⊙ (dP − rowsum(dP ⊙ P))  the softmax backward, one row at a time
///   dQ = dZ·K/√D                    dK = dZᵀ·Q/√D
///   ```
///
/// Why: O = P·V and Z = Q·Kᵀ are matrix products (their backward passes are the Linear layer's of
/// exercise 7.2); the softmax couples every weight of a row to every score of it, which gives the
/// row sum. Masked entries have P = 0, so the mask needs no backward pass of its own.
///
/// Hint: run the forward pass first and keep P.
///
/// Reference, once yours passes: `src/nn/attention.rs` (`attention_backward`; the module docs
/// derive every line).
pub fn attention_backward(
    q: &[f32],
    k: &[f32],
    v: &[f32],
    grad_output: &[f32],
    t: usize,
    d: usize,
    causal: bool,
) -> AttentionGradients {
    todo!("exercise 16.3: attention_backward — see the doc comment")
}
