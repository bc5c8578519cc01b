//! Checkers for chapter 7's exercises (`src/exercises/ch07.rs`): the fully connected layer forward
//! and backward, and inverted dropout.
//!
//! The forward pass is compared with `y = x·Wᵀ + b` evaluated in f64 on non-square weights (so that
//! reading the weight as `[in, out]` — transposed — cannot pass), batches of one and of several rows,
//! and sizes 1 and primes. The backward pass is checked against central differences of
//! `L = Σ dY ⊙ (X·Wᵀ + b)` (computed by the checker, not by the learner's forward) for each of the
//! three gradients, so a missing or misplaced one is named.

use super::Tolerance;
use super::exercise::{Check, CheckResult, describe, format_values, random_values};
use crate::probability::Rng;

/// `y = x·Wᵀ + b` in f64: x `[n, in]`, weight `[out, in]`, bias `[out]`.
fn linear_f64(x: &[f32], weight: &[f32], bias: &[f32], n: usize, inputs: usize) -> Vec<f64> {
    let outputs = bias.len();
    let mut y = Vec::with_capacity(n * outputs);
    for row in x.chunks(inputs).take(n) {
        for (w_row, &b) in weight.chunks(inputs).zip(bias) {
            let dot: f64 = row
                .iter()
                .zip(w_row)
                .map(|(&a, &w)| f64::from(a) * f64::from(w))
                .sum();
            y.push(dot + f64::from(b));
        }
    }
    y
}

/// The shapes (n, in, out) every Linear check runs on: a batch of one, sizes 1 and primes,
/// non-square weights.
const SHAPES: [(usize, usize, usize); 6] = [
    (1, 1, 1),
    (2, 1, 5),
    (3, 4, 2),
    (5, 7, 3),
    (4, 13, 11),
    (1, 16, 1),
];

/// Exercise 7.1: `linear_forward(x, weight, bias, n, in_features, out_features)` returns
/// `y = x·Wᵀ + b` (`[N, in] → [N, out]`, weight `[out, in]` as in PyTorch).
pub fn check_linear_forward(
    f: impl Fn(&[f32], &[f32], &[f32], usize, usize, usize) -> Vec<f32>,
) -> CheckResult {
    let hint = "yₙⱼ = Σᵢ xₙᵢ·W[j][i] + bⱼ, with the weight stored [out, in] as in PyTorch: \
                W[j][i] = weight[j·in + i] (reading weight[i·out + j] treats it as [in, out], \
                i.e. transposed)";
    // By hand: W = [[1, 2], [3, 4], [5, 6]], b = [0.5, −1, 0], x = [1, −1] → y = [−0.5, −2, −1].
    let (x, weight, bias) = (
        vec![1.0, -1.0],
        vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
        vec![0.5, -1.0, 0.0],
    );
    let check = Check::new(
        "a hand example",
        format!(
            "{}, {}, {}, n = 1, in = 2, out = 3",
            describe("x", &x, &[1, 2]),
            describe("weight", &weight, &[3, 2]),
            describe("bias", &bias, &[3])
        ),
    );
    let got = check.run(|| f(&x, &weight, &bias, 1, 2, 3));
    check.values(
        "y",
        &got,
        &[-0.5, -2.0, -1.0],
        &[1, 3],
        Tolerance::new(1e-6, 0.0),
        hint,
    )?;
    for (case, &(n, inputs, outputs)) in SHAPES.iter().enumerate() {
        let seed = 700 + 10 * case as u64;
        let x = random_values(n * inputs, 1.0, seed);
        let weight = random_values(outputs * inputs, 0.5, seed + 1);
        let bias = random_values(outputs, 0.5, seed + 2);
        let check = Check::new(
            format!("a batch of {n}, in = {inputs}, out = {outputs}"),
            format!(
                "{}, {}, {}, n = {n}, in = {inputs}, out = {outputs}",
                describe("x", &x, &[n, inputs]),
                describe("weight", &weight, &[outputs, inputs]),
                describe("bias", &bias, &[outputs])
            ),
        );
        let got = check.run(|| f(&x, &weight, &bias, n, inputs, outputs));
        let expected: Vec<f32> = linear_f64(&x, &weight, &bias, n, inputs)
            .into_iter()
            .map(|v| v as f32)
            .collect();
        check.values(
            "y",
            &got,
            &expected,
            &[n, outputs],
            Tolerance::new(1e-5, 1e-4),
            hint,
        )?;
    }
    Ok(())
}

/// Exercise 7.2: `linear_backward(x, weight, grad_output, n, in_features, out_features)` returns
/// `(grad_input [N, in], grad_weight [out, in], grad_bias [out])`.
pub fn check_linear_backward(
    f: impl Fn(&[f32], &[f32], &[f32], usize, usize, usize) -> (Vec<f32>, Vec<f32>, Vec<f32>),
) -> CheckResult {
    for (case, &(n, inputs, outputs)) in SHAPES.iter().enumerate() {
        let seed = 750 + 10 * case as u64;
        let x = random_values(n * inputs, 1.0, seed);
        let weight = random_values(outputs * inputs, 0.5, seed + 1);
        let bias = random_values(outputs, 0.5, seed + 2);
        let dy = random_values(n * outputs, 1.0, seed + 3);
        let input = format!(
            "{}, {}, {}, n = {n}, in = {inputs}, out = {outputs}",
            describe("x", &x, &[n, inputs]),
            describe("weight", &weight, &[outputs, inputs]),
            describe("grad_output", &dy, &[n, outputs])
        );
        let shape_name = format!("n = {n}, in = {inputs}, out = {outputs}");
        let check = Check::new(format!("output sizes, {shape_name}"), input.clone());
        let (dx, dw, db) = check.run(|| f(&x, &weight, &dy, n, inputs, outputs));
        check.length("grad_input", dx.len(), n * inputs, &[n, inputs])?;
        check.length(
            "grad_weight",
            dw.len(),
            outputs * inputs,
            &[outputs, inputs],
        )?;
        check.length("grad_bias", db.len(), outputs, &[outputs])?;

        // L = Σ dY ⊙ Y with Y = X·Wᵀ + b: its gradients are exactly what backward returns.
        let loss = |x: &[f32], w: &[f32], b: &[f32]| -> f64 {
            linear_f64(x, w, b, n, inputs)
                .iter()
                .zip(&dy)
                .map(|(&y, &g)| y * f64::from(g))
                .sum()
        };
        Check::new(
            format!("gradient of the input, {shape_name}"),
            input.clone(),
        )
        .gradient(
            "x",
            &[n, inputs],
            &x,
            &dx,
            |v| loss(v, &weight, &bias),
            "dX = dY·W ([N, out]·[out, in]): grad_input[n][i] = Σⱼ dY[n][j]·W[j][i]",
        )?;
        Check::new(
            format!("gradient of the weight, {shape_name}"),
            input.clone(),
        )
        .gradient(
            "weight",
            &[outputs, inputs],
            &weight,
            &dw,
            |v| loss(&x, v, &bias),
            "dW = dYᵀ·X ([out, N]·[N, in]): grad_weight[j][i] = Σₙ dY[n][j]·X[n][i], summed over \
             the whole batch, laid out [out, in] like the weight",
        )?;
        Check::new(format!("gradient of the bias, {shape_name}"), input).gradient(
            "bias",
            &[outputs],
            &bias,
            &db,
            |v| loss(&x, &weight, v),
            "db = Σₙ dY[n] (every row of the batch adds its output gradient: bias j is added to \
             output j of every row)",
        )?;
    }
    Ok(())
}

/// Exercise 7.3: `dropout_forward(x, keep, p)` returns inverted dropout: `xᵢ / (1 − p)` where
/// `keep[i]`, 0 elsewhere.
pub fn check_dropout_forward(f: impl Fn(&[f32], &[bool], f32) -> Vec<f32>) -> CheckResult {
    let hint = "inverted dropout: yᵢ = xᵢ/(1 − p) where keep[i], else 0 — dividing by the keep \
                probability 1 − p keeps the expected value of every output equal to its input, so \
                nothing changes at evaluation time";
    let mut cases: Vec<(String, Vec<f32>, Vec<bool>, f32)> = vec![
        (
            "a hand example".to_string(),
            vec![1.0, 2.0, 3.0, 4.0],
            vec![true, false, true, false],
            0.5,
        ),
        (
            "p = 0 keeps everything unchanged".to_string(),
            vec![1.5, -2.0, 0.25],
            vec![true, true, true],
            0.0,
        ),
        (
            "p = 0.2".to_string(),
            random_values(9, 1.0, 770),
            vec![true, true, false, true, true, true, false, true, true],
            0.2,
        ),
    ];
    let mut rng = Rng::new(771);
    let keep: Vec<bool> = (0..10_000).map(|_| rng.bernoulli(0.7)).collect();
    cases.push((
        "10 000 ones, p = 0.3".to_string(),
        vec![1.0; 10_000],
        keep,
        0.3,
    ));
    for (name, x, keep, p) in cases {
        let keep_text: Vec<&str> = keep
            .iter()
            .take(12)
            .map(|&k| if k { "true" } else { "false" })
            .collect();
        let check = Check::new(
            name,
            format!(
                "x = {}, keep = [{}{}], p = {p}",
                format_values(&x, &[x.len()]),
                keep_text.join(", "),
                if keep.len() > 12 { ", …" } else { "" }
            ),
        );
        let got = check.run(|| f(&x, &keep, p));
        let scale = 1.0 / (1.0 - f64::from(p));
        let expected: Vec<f32> = x
            .iter()
            .zip(&keep)
            .map(|(&v, &k)| {
                if k {
                    (f64::from(v) * scale) as f32
                } else {
                    0.0
                }
            })
            .collect();
        check.values(
            "y",
            &got,
            &expected,
            &[x.len()],
            Tolerance::new(1e-6, 1e-6),
            hint,
        )?;
    }
    Ok(())
}
