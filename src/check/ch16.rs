//! Checkers for chapter 16's exercises (`src/exercises/ch16.rs`): the layer norm's backward pass,
//! causal attention forward, and the attention's backward pass.
//!
//! Every reference here is computed by the checker itself in f64 with plain loops: the layer norm's
//! forward pass, and attention as the textbook formula (`softmax(q·kᵀ/√D)·v` with a causal mask).
//! The backward passes are checked against central differences of those f64 forward passes,
//! gradient by gradient, so the one that is wrong is named; shapes include a single row, a single
//! feature and primes.

use super::Tolerance;
use super::exercise::{Check, CheckResult, describe, random_values};

/// The layer norm `γ·(x − μ)/√(σ² + ε) + β` of every `features`-long row, in f64.
fn layer_norm_f64(x: &[f32], gamma: &[f32], beta: &[f32], features: usize, eps: f32) -> Vec<f64> {
    let mut y = Vec::with_capacity(x.len());
    for row in x.chunks(features) {
        let mean = row.iter().map(|&v| f64::from(v)).sum::<f64>() / features as f64;
        let variance = row
            .iter()
            .map(|&v| (f64::from(v) - mean).powi(2))
            .sum::<f64>()
            / features as f64;
        let rstd = 1.0 / (variance + f64::from(eps)).sqrt();
        for ((&v, &g), &b) in row.iter().zip(gamma).zip(beta) {
            y.push((f64::from(v) - mean) * rstd * f64::from(g) + f64::from(b));
        }
    }
    y
}

/// The shapes (rows, features) the layer-norm check runs on.
const NORM_SHAPES: [(usize, usize); 5] = [(1, 2), (3, 5), (4, 7), (2, 16), (1, 3)];

/// Exercise 16.1: `layer_norm_backward(x, gamma, grad_output, rows, features, eps)` returns
/// `(grad_input [rows, features], grad_gamma [features], grad_beta [features])`.
#[allow(clippy::type_complexity)] // the three gradients of the exercise, as a tuple
pub fn check_layer_norm_backward(
    f: impl Fn(&[f32], &[f32], &[f32], usize, usize, f32) -> (Vec<f32>, Vec<f32>, Vec<f32>),
) -> CheckResult {
    let eps = 1e-5;
    for (case, &(rows, features)) in NORM_SHAPES.iter().enumerate() {
        let seed = 1600 + 10 * case as u64;
        let x = random_values(rows * features, 1.0, seed);
        let gamma: Vec<f32> = random_values(features, 0.3, seed + 1)
            .iter()
            .map(|v| 1.0 + v)
            .collect();
        let beta = random_values(features, 0.3, seed + 2);
        let dy = random_values(rows * features, 1.0, seed + 3);
        let input = format!(
            "{}, {}, {}, rows = {rows}, features = {features}, eps = {eps}",
            describe("x", &x, &[rows, features]),
            describe("gamma", &gamma, &[features]),
            describe("grad_output", &dy, &[rows, features])
        );
        let shape_name = format!("{rows} × {features}");
        let check = Check::new(format!("output sizes, {shape_name}"), input.clone());
        let (dx, d_gamma, d_beta) = check.run(|| f(&x, &gamma, &dy, rows, features, eps));
        check.length("grad_input", dx.len(), rows * features, &[rows, features])?;
        check.length("grad_gamma", d_gamma.len(), features, &[features])?;
        check.length("grad_beta", d_beta.len(), features, &[features])?;
        // L = Σ dY ⊙ LayerNorm(x): its gradients are exactly what backward returns.
        let loss = |x: &[f32], g: &[f32], b: &[f32]| -> f64 {
            layer_norm_f64(x, g, b, features, eps)
                .iter()
                .zip(&dy)
                .map(|(&y, &d)| y * f64::from(d))
                .sum()
        };
        Check::new(format!("gradient of the input, {shape_name}"), input.clone()).gradient(
            "x",
            &[rows, features],
            &x,
            &dx,
            |v| loss(v, &gamma, &beta),
            "with g = dy ⊙ γ and x̂ = (x − μ)·r: dx = r·(g − mean(g) − x̂·mean(g ⊙ x̂)) per row — μ and σ² \
             depend on every x of the row, which gives the two mean terms; the variance is the \
             biased one (divide by E, not E − 1)",
        )?;
        Check::new(format!("gradient of gamma, {shape_name}"), input.clone()).gradient(
            "gamma",
            &[features],
            &gamma,
            &d_gamma,
            |v| loss(&x, v, &beta),
            "dγ = Σ over rows of dy ⊙ x̂ (the normalised input, not x itself)",
        )?;
        Check::new(format!("gradient of beta, {shape_name}"), input).gradient(
            "beta",
            &[features],
            &beta,
            &d_beta,
            |v| loss(&x, &gamma, v),
            "dβ = Σ over rows of dy (β is added to every row)",
        )?;
    }
    Ok(())
}

/// `softmax(q·kᵀ/√D)·v` for one head in f64, q, k, v `[T, D]`; with `causal`, row i sees keys ≤ i.
fn attention_f64(q: &[f32], k: &[f32], v: &[f32], t: usize, d: usize, causal: bool) -> Vec<f64> {
    let scale = 1.0 / (d as f64).sqrt();
    let mut out = vec![0.0f64; t * d];
    for i in 0..t {
        let visible = if causal { i + 1 } else { t };
        let scores: Vec<f64> = (0..visible)
            .map(|j| {
                (0..d)
                    .map(|c| f64::from(q[i * d + c]) * f64::from(k[j * d + c]))
                    .sum::<f64>()
                    * scale
            })
            .collect();
        let max = scores.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let exps: Vec<f64> = scores.iter().map(|&s| (s - max).exp()).collect();
        let sum: f64 = exps.iter().sum();
        for (j, e) in exps.iter().enumerate() {
            for c in 0..d {
                out[i * d + c] += e / sum * f64::from(v[j * d + c]);
            }
        }
    }
    out
}

/// The shapes (T, D) the attention checks run on.
const ATTENTION_SHAPES: [(usize, usize); 5] = [(1, 1), (2, 3), (4, 2), (5, 4), (7, 3)];

/// Exercise 16.2: `causal_attention_forward(q, k, v, t, d)` returns one causal attention head's
/// output `softmax(q·kᵀ/√D + causal mask)·v`, `[T, D]`.
pub fn check_causal_attention_forward(
    f: impl Fn(&[f32], &[f32], &[f32], usize, usize) -> Vec<f32>,
) -> CheckResult {
    let hint = "row i: scores zᵢⱼ = Σ_c q[i][c]·k[j][c] / √D for j ≤ i only (the causal mask: a key \
                after the query is invisible, not merely down-weighted), pᵢ = softmax(zᵢ) over those \
                j (subtract the row's maximum first), output[i] = Σⱼ pᵢⱼ·v[j]";
    // By hand: T = 2, D = 1, q = k = [1, 1], v = [1, 3]. Row 0 sees key 0 only → 1; row 1 sees both
    // keys with equal scores → the mean of v, 2.
    let check = Check::new(
        "a hand example: query 0 sees only key 0, query 1 weighs both keys equally",
        "q = [[1], [1]], k = [[1], [1]], v = [[1], [3]], t = 2, d = 1",
    );
    let got = check.run(|| f(&[1.0, 1.0], &[1.0, 1.0], &[1.0, 3.0], 2, 1));
    check.values(
        "output",
        &got,
        &[1.0, 2.0],
        &[2, 1],
        Tolerance::new(1e-6, 0.0),
        hint,
    )?;
    for (case, &(t, d)) in ATTENTION_SHAPES.iter().enumerate() {
        let seed = 1650 + 10 * case as u64;
        let (q, k, v) = (
            random_values(t * d, 1.0, seed),
            random_values(t * d, 1.0, seed + 1),
            random_values(t * d, 1.0, seed + 2),
        );
        let check = Check::new(
            format!("one head, T = {t}, D = {d}"),
            format!(
                "{}, {}, {}, t = {t}, d = {d}",
                describe("q", &q, &[t, d]),
                describe("k", &k, &[t, d]),
                describe("v", &v, &[t, d])
            ),
        );
        let got = check.run(|| f(&q, &k, &v, t, d));
        let expected: Vec<f32> = attention_f64(&q, &k, &v, t, d, true)
            .into_iter()
            .map(|x| x as f32)
            .collect();
        check.values(
            "output",
            &got,
            &expected,
            &[t, d],
            Tolerance::new(1e-5, 1e-4),
            hint,
        )?;
    }
    // Large scores must not overflow: the softmax subtracts each row's maximum.
    let (t, d) = (3, 2);
    let q = vec![30.0, 30.0, 31.0, 29.0, 30.0, 32.0];
    let k = q.clone();
    let v = random_values(t * d, 1.0, 1699);
    let check = Check::new(
        "large scores (about 900/√2) do not overflow",
        format!(
            "{}, k = q, {}, t = {t}, d = {d}",
            describe("q", &q, &[t, d]),
            describe("v", &v, &[t, d])
        ),
    );
    let got = check.run(|| f(&q, &k, &v, t, d));
    let expected: Vec<f32> = attention_f64(&q, &k, &v, t, d, true)
        .into_iter()
        .map(|x| x as f32)
        .collect();
    check.values(
        "output",
        &got,
        &expected,
        &[t, d],
        Tolerance::new(1e-5, 1e-4),
        hint,
    )
}

/// The three gradients of exercise 16.3.
#[derive(Clone, Debug, PartialEq)]
pub struct AttentionGradients {
    /// ∂L/∂q `[T, D]`.
    pub q: Vec<f32>,
    /// ∂L/∂k `[T, D]`.
    pub k: Vec<f32>,
    /// ∂L/∂v `[T, D]`.
    pub v: Vec<f32>,
}

/// Exercise 16.3: `attention_backward(q, k, v, grad_output, t, d, causal)` returns the gradients of
/// one attention head (causal or not) with respect to q, k and v.
pub fn check_attention_backward(
    f: impl Fn(&[f32], &[f32], &[f32], &[f32], usize, usize, bool) -> AttentionGradients,
) -> CheckResult {
    for causal in [false, true] {
        for (case, &(t, d)) in ATTENTION_SHAPES.iter().enumerate() {
            let seed = 1700 + 10 * case as u64 + u64::from(causal);
            let (q, k, v, dy) = (
                random_values(t * d, 1.0, seed),
                random_values(t * d, 1.0, seed + 2),
                random_values(t * d, 1.0, seed + 4),
                random_values(t * d, 1.0, seed + 6),
            );
            let input = format!(
                "{}, {}, {}, {}, t = {t}, d = {d}, causal = {causal}",
                describe("q", &q, &[t, d]),
                describe("k", &k, &[t, d]),
                describe("v", &v, &[t, d]),
                describe("grad_output", &dy, &[t, d])
            );
            let name = format!("T = {t}, D = {d}, causal = {causal}");
            let check = Check::new(format!("output sizes, {name}"), input.clone());
            let got = check.run(|| f(&q, &k, &v, &dy, t, d, causal));
            for (what, values) in [("grad q", &got.q), ("grad k", &got.k), ("grad v", &got.v)] {
                check.length(what, values.len(), t * d, &[t, d])?;
            }
            // L = Σ dO ⊙ attention(q, k, v).
            let loss = |q: &[f32], k: &[f32], v: &[f32]| -> f64 {
                attention_f64(q, k, v, t, d, causal)
                    .iter()
                    .zip(&dy)
                    .map(|(&o, &g)| o * f64::from(g))
                    .sum()
            };
            Check::new(format!("gradient of v, {name}"), input.clone()).gradient(
                "v",
                &[t, d],
                &v,
                &got.v,
                |x| loss(&q, &k, x),
                "dV = Pᵀ·dO: value j receives the output gradients of every query, weighted by how \
                 much that query attends to j",
            )?;
            Check::new(format!("gradient of q, {name}"), input.clone()).gradient(
                "q",
                &[t, d],
                &q,
                &got.q,
                |x| loss(x, &k, &v),
                "dP = dO·Vᵀ; the softmax backward per row dZ = P ⊙ (dP − rowsum(dP ⊙ P)) (not just \
                 P ⊙ dP: every weight of a row depends on every score of it); dQ = dZ·K/√D",
            )?;
            Check::new(format!("gradient of k, {name}"), input).gradient(
                "k",
                &[t, d],
                &k,
                &got.k,
                |x| loss(&q, x, &v),
                "dK = dZᵀ·Q/√D — the transpose of dZ, because key j appears in column j of the \
                 scores; masked (invisible) entries have P = 0 and so contribute nothing",
            )?;
        }
    }
    Ok(())
}
