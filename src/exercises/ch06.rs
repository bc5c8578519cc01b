//! Chapter 6 exercises: neurons and activations. Check them with
//! `cargo test --features exercises --test exercises -- ch06`.

// The stubs do not use their parameters until you write them.
#![allow(unused_variables)]

/// **Exercise 6.1 — the sigmoid** `σ(x) = 1 / (1 + e⁻ˣ)`, squashing any number into (0, 1).
///
/// - returns σ(x) for any finite x, including ±1000, without NaN.
///
/// Hint: e^x overflows f32 (to inf) above x ≈ 88.7 and inf/inf is NaN. For x ≥ 0, `1/(1 + e⁻ˣ)` only
/// ever underflows e⁻ˣ to 0 (harmless); for x < 0 the equal form `eˣ/(1 + eˣ)` does the same.
///
/// Reference, once yours passes: `src/nn/activation.rs` (`sigmoid`).
pub fn sigmoid(x: f32) -> f32 {
    todo!("exercise 6.1: sigmoid — see the doc comment")
}

/// **Exercise 6.2 — the derivative of the sigmoid**, needed by every backward pass through it.
///
/// - returns `σ′(x) = σ(x)·(1 − σ(x))` (at most ¼, at x = 0: why deep sigmoid networks learn slowly).
///
/// Hint: derive it once on paper: d/dx (1 + e⁻ˣ)⁻¹ = e⁻ˣ/(1 + e⁻ˣ)², then write it with σ. The check
/// compares your derivative with central differences of σ.
///
/// Reference, once yours passes: `src/nn/activation.rs` (`sigmoid_derivative`).
pub fn sigmoid_derivative(x: f32) -> f32 {
    todo!("exercise 6.2: sigmoid_derivative — see the doc comment")
}

/// **Exercise 6.3 — a neuron**: weighted sum, bias, activation.
///
/// - `inputs`: x₁ … xₙ; `weights`: w₁ … wₙ (same length); `bias`: b.
/// - returns `σ(Σᵢ wᵢ·xᵢ + b)` with the sigmoid σ.
///
/// Example: inputs [1, 2], weights [0.5, −0.25], bias 0.1 → σ(0.1) ≈ 0.525.
///
/// Hint: `inputs.iter().zip(weights)` walks both together; then apply your `sigmoid` (exercise 6.1)
/// or the crate's `crate::nn::sigmoid`.
///
/// Reference, once yours passes: `src/nn/linear.rs` (a `Linear` layer with one output) followed by
/// `src/nn/activation.rs` (`Sigmoid`).
pub fn neuron(inputs: &[f32], weights: &[f32], bias: f32) -> f32 {
    todo!("exercise 6.3: neuron — see the doc comment")
}

/// **Exercise 6.4 — softmax**: turn each row of scores into probabilities.
///
/// - `x`: scores (logits) `[N, K]` row-major, `x.len() = N·K`; `k`: the row length K.
/// - returns `[N, K]`: each row becomes `yᵢ = e^{xᵢ} / Σⱼ e^{xⱼ}` (positive, summing to 1 per row).
///
/// Example: `[1, 2, 3]` → `[0.090, 0.245, 0.665]`.
///
/// Hints: work row by row (`x.chunks(k)`); each row is normalised by its own sum. e^1000 overflows
/// f32: subtract the row's maximum m from every score first — `e^{xᵢ − m} / Σⱼ e^{xⱼ − m}` is the same
/// value (e^{−m} cancels) and its largest exponent is e⁰ = 1.
///
/// Reference, once yours passes: `src/loss/softmax.rs` (`softmax_row`).
pub fn softmax(x: &[f32], k: usize) -> Vec<f32> {
    todo!("exercise 6.4: softmax — see the doc comment")
}

/// **Exercise 6.5 — the backward pass of softmax.**
///
/// - `y`: the softmax output `[N, K]` (computed by the forward pass); `grad_output`: dy = ∂L/∂y,
///   `[N, K]`; `k`: the row length K.
/// - returns dx = ∂L/∂x, `[N, K]`: for each row, `dxᵢ = yᵢ·(dyᵢ − Σⱼ dyⱼ·yⱼ)`.
///
/// Why: every output of a row depends on every input of that row: `∂yᵢ/∂xⱼ = yᵢ·([i = j] − yⱼ)`
/// (the Jacobian `diag(y) − y·yᵀ`); multiplying dy by it gives the formula above without building
/// the K×K matrix.
///
/// Hint: per row, first the dot product `s = Σⱼ dyⱼ·yⱼ`, then `dxᵢ = yᵢ·(dyᵢ − s)`. The element-wise
/// `yᵢ(1 − yᵢ)·dyᵢ` (the sigmoid's rule) is not it.
///
/// Reference, once yours passes: `src/nn/activation.rs` (`Softmax::backward`).
pub fn softmax_backward(y: &[f32], grad_output: &[f32], k: usize) -> Vec<f32> {
    todo!("exercise 6.5: softmax_backward — see the doc comment")
}
