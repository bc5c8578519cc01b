//! Chapter 4 exercises: probability. Check them with
//! `cargo test --features exercises --test exercises -- ch04`.

// The stubs do not use their parameters until you write them.
#![allow(unused_variables)]

/// **Exercise 4.1 — the sample variance.**
///
/// - `values`: n samples x₁ … xₙ.
/// - returns `Σᵢ (xᵢ − x̄)² / (n − 1)` with the mean `x̄ = Σᵢ xᵢ / n`; `f64::NAN` for fewer than 2
///   values (one value has no spread to measure).
///
/// Example: `[2, 4, 4, 4, 5, 5, 7, 9]` has mean 5 and sample variance 32/7 ≈ 4.571.
///
/// Hints: divide by n − 1, not n (Bessel's correction: x̄ is computed from the same data, so the
/// deviations from it are a little too small). Compute the mean first, then the squared deviations
/// (two passes): the one-pass formula `(Σx² − (Σx)²/n)/(n − 1)` loses every digit when the mean is
/// large compared with the spread (values around 10⁹ are in the checks).
///
/// Reference, once yours passes: `src/probability/stats.rs` (`variance`).
pub fn sample_variance(values: &[f64]) -> f64 {
    todo!("exercise 4.1: sample_variance — see the doc comment")
}

/// **Exercise 4.2 — the normal (Gaussian) density.**
///
/// - `x`: where to evaluate; `mean`: μ; `std`: σ > 0.
/// - returns `p(x) = exp(−(x − μ)² / (2σ²)) / (σ·√(2π))`.
///
/// Example: the standard normal (μ = 0, σ = 1) has p(0) = 1/√(2π) ≈ 0.3989.
///
/// Hint: `std::f64::consts::PI`; the σ in the denominator makes the area under the curve 1 for
/// every σ (the checks integrate your density).
///
/// Reference, once yours passes: `src/probability/distributions.rs` (`Normal::pdf`).
pub fn normal_pdf(x: f64, mean: f64, std: f64) -> f64 {
    todo!("exercise 4.2: normal_pdf — see the doc comment")
}

/// **Exercise 4.3 — sampling a categorical distribution** by inverse transform.
///
/// - `probabilities`: p₀ … p_{K−1}, each ≥ 0, summing to 1 (up to rounding); `u`: a uniform draw in
///   [0, 1) (in a sampler it comes from `rng.next_f64()`).
/// - returns the class k whose interval contains u: class k owns `[p₀+…+pₖ₋₁, p₀+…+pₖ)`, so return
///   **the first k whose running sum p₀ + … + pₖ is greater than u**. Each class is then drawn with
///   probability pₖ (the length of its interval), and a class with pₖ = 0 is never drawn.
///
/// Example: for p = [0.25, 0.5, 0.25], u = 0.1 → 0, u = 0.25 → 1, u = 0.8 → 2.
///
/// Hint: rounding can leave the total a hair below 1 (0.1 added ten times is 0.9999999999999999); if
/// no running sum exceeds u, return the last class with pₖ > 0.
///
/// Reference, once yours passes: `src/probability/distributions.rs` (`Categorical::sample_index`).
pub fn sample_categorical(probabilities: &[f64], u: f64) -> usize {
    todo!("exercise 4.3: sample_categorical — see the doc comment")
}
