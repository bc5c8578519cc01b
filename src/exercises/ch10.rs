//! Chapter 10 exercises: losses, each returning its value and its gradient. Check them with
//! `cargo test --features exercises --test exercises -- ch10`.

// The stubs do not use their parameters until you write them.
#![allow(unused_variables)]

/// **Exercise 10.1 — mean squared error**, the regression loss.
///
/// - `prediction`: ŷ, n values; `target`: y, n values.
/// - returns `(L, ∂L/∂ŷ)`: `L = (1/n)·Σᵢ (ŷᵢ − yᵢ)²` and `∂L/∂ŷᵢ = 2(ŷᵢ − yᵢ)/n` (n values).
///
/// Example: ŷ = [1, 2, 3], y = [1, 0, 5] → L = 8/3, gradient [0, 4/3, −4/3].
///
/// Hint: the 2 comes from the square, the 1/n from the mean. The check compares the gradient with
/// central differences of L.
///
/// Reference, once yours passes: `src/loss/mse.rs` (`mse`).
pub fn mse(prediction: &[f32], target: &[f32]) -> (f32, Vec<f32>) {
    todo!("exercise 10.1: mse — see the doc comment")
}

/// **Exercise 10.2 — cross-entropy on logits**, the classification loss.
///
/// - `logits`: raw scores z, `[N, K]` row-major; `targets`: N class indices, each in `0..K`;
///   `k`: the number of classes K.
/// - returns `(L, ∂L/∂z)`, with the mean over the N examples:
///   - `L = (1/N)·Σₙ (logsumexp(zₙ) − zₙ[yₙ])`, where `logsumexp(z) = ln Σⱼ e^{zⱼ}` (this is
///     `−ln softmax(zₙ)[yₙ]`, the negative log-probability of the right class);
///   - `∂L/∂zₙₖ = (softmax(zₙ)ₖ − [k = yₙ]) / N` (`[N, K]`: probabilities minus the one-hot target).
///
/// Example: one row [1, 2, 3] with target 2 → L = ln(e¹ + e² + e³) − 3 ≈ 0.4076.
///
/// Hints: compute `logsumexp(z) = m + ln Σⱼ e^{zⱼ − m}` with m the row's maximum, so logits of ±1000
/// stay finite (the checks use them); the softmax likewise (exercise 6.4). Do not forget the 1/N in
/// the gradient: L is a mean.
///
/// Reference, once yours passes: `src/loss/cross_entropy.rs` (`cross_entropy`).
pub fn cross_entropy(logits: &[f32], targets: &[usize], k: usize) -> (f32, Vec<f32>) {
    todo!("exercise 10.2: cross_entropy — see the doc comment")
}

/// **Exercise 10.3 — binary cross-entropy on logits**, for yes/no outputs.
///
/// - `logits`: z, n values (the model's raw outputs, before any sigmoid); `targets`: y, n values in
///   [0, 1].
/// - returns `(L, ∂L/∂z)` with the mean over the n elements:
///   - `lᵢ = −[yᵢ·ln σ(zᵢ) + (1 − yᵢ)·ln(1 − σ(zᵢ))]`, `L = (1/n)·Σᵢ lᵢ`;
///   - `∂L/∂zᵢ = (σ(zᵢ) − yᵢ) / n`.
///
/// Example: z = `[0]`, y = `[1]` → L = ln 2 ≈ 0.693, gradient `[−0.5]`.
///
/// Hint: σ(100) rounds to exactly 1 in f32, so `ln(1 − σ(z))` becomes ln 0 = −inf. Use the equal,
/// stable form `lᵢ = max(zᵢ, 0) − zᵢ·yᵢ + ln(1 + e^{−|zᵢ|})` (`f32::ln_1p` computes ln(1 + t)).
///
/// Reference, once yours passes: `src/loss/binary.rs` (`bce_with_logits`).
pub fn bce_with_logits(logits: &[f32], targets: &[f32]) -> (f32, Vec<f32>) {
    todo!("exercise 10.3: bce_with_logits — see the doc comment")
}
