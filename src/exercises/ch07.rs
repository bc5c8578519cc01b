//! Chapter 7 exercises: the feed-forward network's fully connected layer and dropout. Check them
//! with `cargo test --features exercises --test exercises -- ch07`.

// The stubs do not use their parameters until you write them.
#![allow(unused_variables)]

/// **Exercise 7.1 — the forward pass of a fully connected (`Linear`) layer**: `y = x·Wᵀ + b`.
///
/// - `x`: a batch of inputs `[N, in]` row-major (`n` rows of `in_features` values);
/// - `weight`: W, `[out, in]` — PyTorch's layout: row j holds the weights of output j;
/// - `bias`: b, `[out]`;
/// - returns y, `[N, out]`: `y[r][j] = Σᵢ x[r][i]·W[j][i] + b[j]`.
///
/// Example: W = `[[1, 2], [3, 4], [5, 6]]`, b = `[0.5, −1, 0]`, x = `[[1, −1]]` → y = `[[−0.5, −2, −1]]`.
///
/// Hint: `W[j][i] = weight[j·in + i]`. Reading `weight[i·out + j]` instead treats W as `[in, out]`
/// (transposed): it has the right length and the wrong values.
///
/// Reference, once yours passes: `src/nn/linear.rs` (`Linear::forward`, one GEMM).
pub fn linear_forward(
    x: &[f32],
    weight: &[f32],
    bias: &[f32],
    n: usize,
    in_features: usize,
    out_features: usize,
) -> Vec<f32> {
    todo!("exercise 7.1: linear_forward — see the doc comment")
}

/// **Exercise 7.2 — the backward pass of a `Linear` layer.**
///
/// - `x`: the input of the forward pass `[N, in]`; `weight`: W `[out, in]`;
/// - `grad_output`: dY = ∂L/∂y, `[N, out]`;
/// - returns `(grad_input, grad_weight, grad_bias)`:
///   - `grad_input`  = dX = dY·W, `[N, in]`: `dX[r][i] = Σⱼ dY[r][j]·W[j][i]`;
///   - `grad_weight` = dW = dYᵀ·X, `[out, in]`: `dW[j][i] = Σᵣ dY[r][j]·X[r][i]`;
///   - `grad_bias`   = db = `Σᵣ dY[r]`, `[out]`: `db[j] = Σᵣ dY[r][j]`.
///
/// Why: `y[r][j] = Σᵢ x[r][i]·W[j][i] + b[j]`, so `∂y[r][j]/∂W[j][i] = x[r][i]`,
/// `∂y[r][j]/∂x[r][i] = W[j][i]` and `∂y[r][j]/∂b[j] = 1`; the chain rule multiplies each by
/// `dY[r][j]` and sums over every place the variable is used — W and b are used by every row of the batch, so their gradients sum
/// over r.
///
/// Hint: each gradient has the shape of what it is the gradient of. The check compares each one with
/// central differences and names the one that is wrong.
///
/// Reference, once yours passes: `src/nn/linear.rs` (`Linear::backward`).
pub fn linear_backward(
    x: &[f32],
    weight: &[f32],
    grad_output: &[f32],
    n: usize,
    in_features: usize,
    out_features: usize,
) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    todo!("exercise 7.2: linear_backward — see the doc comment")
}

/// **Exercise 7.3 — inverted dropout**, training mode.
///
/// - `x`: any number of values; `keep`: one bool per value (true = kept; in training it is drawn
///   with probability 1 − p); `p`: the drop probability, 0 ≤ p < 1.
/// - returns `yᵢ = xᵢ / (1 − p)` where `keep[i]`, and 0 where not.
///
/// Why divide: each value survives with probability 1 − p, so the expected value of `yᵢ` is `xᵢ` —
/// and at evaluation time, when nothing is dropped, the layer is simply the identity.
///
/// Example: x = [1, 2, 3, 4], keep = [true, false, true, false], p = 0.5 → [2, 0, 6, 0].
///
/// Reference, once yours passes: `src/nn/dropout.rs` (`Dropout::forward`).
pub fn dropout_forward(x: &[f32], keep: &[bool], p: f32) -> Vec<f32> {
    todo!("exercise 7.3: dropout_forward — see the doc comment")
}
