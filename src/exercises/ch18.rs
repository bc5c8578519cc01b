//! Chapter 18 exercises: int8 quantization, integrated gradients, the contrastive loss. Check them
//! with `cargo test --features exercises --test exercises -- ch18`.

// The stubs do not use their parameters until you write them.
#![allow(unused_variables)]

/// **Exercise 18.1 — symmetric int8 quantization** of a vector.
///
/// - `values`: x, n floats.
/// - returns `(q, s)`: the scale `s = max|x| / 127` (or `1` when every value is 0, so nothing is
///   divided by zero) and `qᵢ = round(xᵢ / s)`, clamped to −127…127 (n values).
///
/// Then `qᵢ · s` is within half a step of `xᵢ`: `|xᵢ − qᵢ·s| ≤ s/2` — the error bound the check
/// tests on every value.
///
/// Example: x = [0.5, −1, 0.25] → s = 1/127, q = [64, −127, 32] (63.5 rounds to 64 or 63).
///
/// Hints: `f32::round` then `as i8`; `as i8` alone truncates towards zero (an error of up to a whole
/// step). 127, not 128: the range is symmetric, so −128 is never used.
///
/// Reference, once yours passes: `src/quant/quantize.rs` (`symmetric_scale`, `quantize_value`).
pub fn quantize_symmetric(values: &[f32]) -> (Vec<i8>, f32) {
    todo!("exercise 18.1: quantize_symmetric — see the doc comment")
}

/// **Exercise 18.2 — integrated gradients** by the midpoint rule.
///
/// - `gradient`: a function returning ∂F/∂x at a point (n values in, n values out);
///   `x`, `baseline`: the input and the baseline x′, n values each; `steps`: m ≥ 1.
/// - returns the attributions (n values):
///   `IGᵢ = (xᵢ − x′ᵢ) · (1/m) · Σ_{k=0}^{m−1} ∂F/∂xᵢ(x′ + ((k + ½)/m)·(x − x′))`.
///
/// For a linear F(x) = w·x the answer is exactly `w ⊙ (x − x′)`; in general the attributions add up
/// to F(x) − F(x′) as m grows (completeness), which the check tests.
///
/// Hints: the points are the *middles* of m equal pieces of the path, (k + ½)/m — not k/m (that is
/// the left rule, which converges more slowly). Average the m gradients, then multiply by x − x′.
///
/// Reference, once yours passes: `src/explain/integrated_gradients.rs` (`integrated_gradients`).
pub fn integrated_gradients(
    gradient: &dyn Fn(&[f32]) -> Vec<f32>,
    x: &[f32],
    baseline: &[f32],
    steps: usize,
) -> Vec<f32> {
    todo!("exercise 18.2: integrated_gradients — see the doc comment")
}

/// **Exercise 18.3 — the symmetric contrastive loss** of CLIP, for a batch of N image–text pairs.
///
/// - `logits`: Z, `[N, N]` row-major, `Z[i, j]` the (scaled) similarity of image i and text j;
///   `n`: N. Pair i is the diagonal element `Z[i, i]`.
/// - returns `(L, ∂L/∂Z)`:
///   - `L = ½·(CE_rows + CE_columns)`, where `CE_rows = (1/N)·Σᵢ (logsumexp(Z[i, :]) − Z[i, i])`
///     (each image picks its text) and `CE_columns` the same over the columns (each text picks its
///     image);
///   - `∂L/∂Z[i, j] = ½·(softmax(Z[i, :])ⱼ + softmax(Z[:, j])ᵢ − 2·[i = j]) / N`.
///
/// Example: all logits equal → L = ln N (every pair is a 1-in-N guess).
///
/// Hints: exercise 10.2's cross-entropy, twice: on Z and on its transpose, with targets 0, 1, …,
/// N − 1. Average the two (the ½) — both for L and for the gradient. Subtract each row's maximum
/// before exponentiating.
///
/// Reference, once yours passes: `src/multimodal/contrastive.rs` (`contrastive_loss`).
pub fn contrastive_loss(logits: &[f32], n: usize) -> (f32, Vec<f32>) {
    todo!("exercise 18.3: contrastive_loss — see the doc comment")
}
