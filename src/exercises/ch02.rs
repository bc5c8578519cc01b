//! Chapter 2 exercises: linear algebra. Check them with
//! `cargo test --features exercises --test exercises -- ch02`.

// The stubs do not use their parameters until you write them.
#![allow(unused_variables)]

/// **Exercise 2.1 — the matrix product.**
///
/// - `a`: the matrix A, `[m, k]` row-major (`a.len() = m·k`); `b`: the matrix B, `[k, n]`.
/// - returns C = A·B, `[m, n]` row-major: `C[i][j] = Σₚ A[i][p]·B[p][j]` for p in 0..k.
///
/// Example (the tutorial's): `[[1, 2], [3, 4]]·[[5, 6], [7, 8]] = [[19, 22], [43, 50]]`.
///
/// Hint: in a row-major `[rows, cols]` buffer, element (i, j) is at `i·cols + j`, so
/// `A[i][p] = a[i·k + p]` and `B[p][j] = b[p·n + j]`. Three nested loops; add up in an f32 (or f64).
///
/// Reference, once yours passes: `src/linalg/reference.rs` (`matmul`).
pub fn matmul(a: &[f32], b: &[f32], m: usize, k: usize, n: usize) -> Vec<f32> {
    todo!("exercise 2.1: matmul — see the doc comment")
}

/// **Exercise 2.2 — the transpose.**
///
/// - `a`: a matrix `[rows, cols]` row-major.
/// - returns Aᵀ, `[cols, rows]` row-major: `Aᵀ[j][i] = A[i][j]`.
///
/// Example: `[[1, 2, 3], [4, 5, 6]]ᵀ = [[1, 4], [2, 5], [3, 6]]`.
///
/// Hint: the output has `rows` columns, so its element (j, i) is at index `j·rows + i`.
///
/// Reference, once yours passes: `src/tensor.rs` (`Tensor::transpose`).
pub fn transpose(a: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    todo!("exercise 2.2: transpose — see the doc comment")
}

/// **Exercise 2.3 — cosine similarity**, the cosine of the angle between two vectors.
///
/// - `a`, `b`: two vectors of the same length.
/// - returns `cos θ = a·b / (‖a‖·‖b‖)` with `a·b = Σᵢ aᵢbᵢ` and `‖a‖ = √(a·a)`: 1 for the same
///   direction, 0 for perpendicular, −1 for opposite — and **0 when either vector is zero** (a zero
///   vector has no direction; do not divide 0 by 0).
///
/// Hint: accumulate the three sums (a·b, a·a, b·b) in one loop; an f64 accumulator is more accurate.
///
/// Reference, once yours passes: `src/linalg/vector.rs` (`cosine`).
pub fn cosine_similarity(a: &[f32], b: &[f32]) -> f32 {
    todo!("exercise 2.3: cosine_similarity — see the doc comment")
}

/// **Exercise 2.4 — power iteration**: the eigenvalue of largest magnitude and its eigenvector.
///
/// - `a`: a square matrix `[n, n]` row-major, with one eigenvalue λ₁ larger in magnitude than all
///   the others; `iterations`: how many multiplications by A to do (the checker gives plenty).
/// - returns `(λ₁, v)`: the eigenvalue (with its sign) and a unit eigenvector `v` (`‖v‖ = 1`,
///   `A·v = λ₁·v`; either sign of v is accepted).
///
/// Method: start from any vector not orthogonal to the answer (all ones, or random), then repeat
/// `w = A·v`, `v = w / ‖w‖`. The component along the dominant eigenvector grows fastest, so v turns
/// towards it (the error shrinks like |λ₂/λ₁|ᵗ). At the end, estimate λ with the Rayleigh quotient
/// `λ = vᵀ·A·v`.
///
/// Hint: ‖A·v‖ gives |λ| but loses the sign (λ can be negative); the Rayleigh quotient keeps it.
/// Normalise at every step, or the numbers overflow.
///
/// Reference, once yours passes: `src/linalg/eigen.rs` (`power_iteration`).
pub fn power_iteration(a: &[f32], n: usize, iterations: usize) -> (f32, Vec<f32>) {
    todo!("exercise 2.4: power_iteration — see the doc comment")
}
