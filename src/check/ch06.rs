//! Checkers for chapter 6's exercises (`src/exercises/ch06.rs`): sigmoid and its derivative, a
//! neuron, softmax and its backward pass.
//!
//! Values are compared with formulas evaluated in f64; derivatives and the softmax backward pass are
//! checked against central differences of the crate's own functions ([`crate::nn::sigmoid`],
//! [`crate::loss::softmax_row`]), so a mistake in the learner's forward function cannot hide one in
//! the backward function. Extreme inputs (±1000) check that nothing overflows into NaN.

use super::Tolerance;
use super::exercise::{Check, CheckResult, describe, format_values, random_values, short};
use crate::loss::softmax_row;
use crate::nn::sigmoid;

/// σ(x) in f64, the value every sigmoid must reproduce.
fn sigmoid_f64(x: f64) -> f64 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

/// A softmax of each row of length `k`, in f64 (max subtracted), rounded to f32.
fn softmax_f64(x: &[f32], k: usize) -> Vec<f32> {
    let mut out = Vec::with_capacity(x.len());
    for row in x.chunks(k) {
        let m = row
            .iter()
            .fold(f64::NEG_INFINITY, |m, &v| m.max(f64::from(v)));
        let exps: Vec<f64> = row.iter().map(|&v| (f64::from(v) - m).exp()).collect();
        let sum: f64 = exps.iter().sum();
        out.extend(exps.iter().map(|e| (e / sum) as f32));
    }
    out
}

/// Exercise 6.1: `sigmoid(x)` returns 1/(1 + e⁻ˣ) without overflowing.
pub fn check_sigmoid(f: impl Fn(f32) -> f32) -> CheckResult {
    let hint = "σ(x) = 1/(1 + e⁻ˣ)";
    let check = Check::new("σ(0) = ½", "x = 0");
    let got = check.run(|| f(0.0));
    check.scalar("σ(0)", f64::from(got), 0.5, Tolerance::new(1e-7, 0.0), hint)?;
    for i in -16..=16 {
        let x = i as f32 * 0.5 + 0.01;
        let check = Check::new("values on [−8, 8]", format!("x = {}", short(f64::from(x))));
        let got = check.run(|| f(x));
        check.scalar(
            "σ(x)",
            f64::from(got),
            sigmoid_f64(f64::from(x)),
            Tolerance::new(1e-6, 1e-5),
            hint,
        )?;
    }
    for x in [50.0f32, -50.0, 100.0, -100.0, 1000.0, -1000.0] {
        let check = Check::new(
            "large inputs do not overflow",
            format!("x = {}", short(f64::from(x))),
        );
        let got = check.run(|| f(x));
        check.scalar(
            "σ(x)",
            f64::from(got),
            sigmoid_f64(f64::from(x)),
            Tolerance::new(1e-6, 0.0),
            "e^x overflows f32 (to inf) above x ≈ 88.7, and inf/inf is NaN: for x ≥ 0 use \
             1/(1 + e⁻ˣ), whose e⁻ˣ only underflows harmlessly to 0 (and for x < 0, eˣ/(1 + eˣ))",
        )?;
    }
    Ok(())
}

/// Exercise 6.2: `sigmoid_derivative(x)` returns σ′(x) = σ(x)(1 − σ(x)).
pub fn check_sigmoid_derivative(f: impl Fn(f32) -> f32) -> CheckResult {
    let hint = "σ′(x) = σ(x)·(1 − σ(x)) (differentiate 1/(1 + e⁻ˣ) with the chain rule)";
    let check = Check::new("σ′(0) = ¼, the largest slope", "x = 0");
    let got = check.run(|| f(0.0));
    check.scalar(
        "σ′(0)",
        f64::from(got),
        0.25,
        Tolerance::new(1e-7, 0.0),
        hint,
    )?;

    let x: Vec<f32> = (0..25).map(|i| -6.0 + i as f32 * 0.5 + 0.03).collect();
    let check = Check::new(
        "matches central differences of σ",
        describe("x", &x, &[x.len()]),
    );
    let analytic: Vec<f32> = check.run(|| x.iter().map(|&v| f(v)).collect());
    check.gradient(
        "x",
        &[x.len()],
        &x,
        &analytic,
        |v| v.iter().map(|&t| f64::from(sigmoid(t))).sum(),
        hint,
    )?;

    for x in [100.0f32, -100.0, 1000.0, -1000.0] {
        let check = Check::new(
            "far from 0 the slope vanishes (and is not NaN)",
            format!("x = {}", short(f64::from(x))),
        );
        let got = check.run(|| f(x));
        check.scalar(
            "σ′(x)",
            f64::from(got),
            0.0,
            Tolerance::new(1e-6, 0.0),
            "compute σ(x) stably first (see exercise 6.1), then σ·(1 − σ)",
        )?;
    }
    Ok(())
}

/// Exercise 6.3: `neuron(inputs, weights, bias)` returns σ(Σᵢ wᵢxᵢ + b).
pub fn check_neuron(f: impl Fn(&[f32], &[f32], f32) -> f32) -> CheckResult {
    let hint = "a neuron: the weighted sum z = Σᵢ wᵢ·xᵢ + b, then the activation σ(z)";
    let cases: Vec<(&str, Vec<f32>, Vec<f32>, f32)> = vec![
        ("a hand example", vec![1.0, 2.0], vec![0.5, -0.25], 0.1),
        ("one input", vec![2.0], vec![3.0], -6.0),
        (
            "seven inputs",
            random_values(7, 1.0, 610),
            random_values(7, 0.5, 611),
            0.3,
        ),
        (
            "sixteen inputs",
            random_values(16, 1.0, 612),
            random_values(16, 0.3, 613),
            -0.7,
        ),
    ];
    for (name, x, w, b) in cases {
        let check = Check::new(
            name,
            format!(
                "inputs = {}, weights = {}, bias = {}",
                format_values(&x, &[x.len()]),
                format_values(&w, &[w.len()]),
                short(f64::from(b))
            ),
        );
        let got = check.run(|| f(&x, &w, b));
        let z: f64 = x
            .iter()
            .zip(&w)
            .map(|(&xi, &wi)| f64::from(xi) * f64::from(wi))
            .sum::<f64>()
            + f64::from(b);
        check.scalar(
            "the output",
            f64::from(got),
            sigmoid_f64(z),
            Tolerance::new(1e-6, 1e-5),
            hint,
        )?;
    }
    Ok(())
}

/// Exercise 6.4: `softmax(x, k)` returns the softmax of each row of length `k` of `x` (`[N, K]`).
pub fn check_softmax(f: impl Fn(&[f32], usize) -> Vec<f32>) -> CheckResult {
    let hint = "for each row of k values: yᵢ = e^{xᵢ − m} / Σⱼ e^{xⱼ − m} with m the row's maximum";
    let tolerance = Tolerance::new(1e-6, 1e-5);
    let cases: Vec<(String, Vec<f32>, usize, usize, &str)> = vec![
        ("one row".to_string(), vec![1.0, 2.0, 3.0], 1, 3, hint),
        (
            "each row separately".to_string(),
            vec![1.0, 2.0, 3.0, 1.0, 1.0, 1.0],
            2,
            3,
            "normalise each row by its own sum (rows are chunks of k values: x.chunks(k)), not \
             by the sum of the whole input",
        ),
        ("a single value".to_string(), vec![-4.0], 1, 1, hint),
        (
            "random rows [3, 7]".to_string(),
            random_values(21, 2.0, 640),
            3,
            7,
            hint,
        ),
        (
            "random rows [4, 10]".to_string(),
            random_values(40, 3.0, 641),
            4,
            10,
            hint,
        ),
        (
            "large logits do not overflow".to_string(),
            vec![1000.0, 999.0, 998.0, -1000.0, -999.0, -998.0],
            2,
            3,
            "e^1000 overflows f32 to inf (and e^−1000 underflows to 0), giving inf/inf or 0/0 = NaN: \
             subtract each row's maximum before exponentiating (it cancels in the ratio)",
        ),
    ];
    for (name, x, n, k, hint) in cases {
        let check = Check::new(name, format!("{}, k = {k}", describe("x", &x, &[n, k])));
        let got = check.run(|| f(&x, k));
        check.values("y", &got, &softmax_f64(&x, k), &[n, k], tolerance, hint)?;
    }
    Ok(())
}

/// Exercise 6.5: `softmax_backward(y, dy, k)` returns dx, row by row `dxᵢ = yᵢ(dyᵢ − Σⱼ dyⱼyⱼ)`.
pub fn check_softmax_backward(f: impl Fn(&[f32], &[f32], usize) -> Vec<f32>) -> CheckResult {
    let hint = "softmax couples the outputs of a row: its Jacobian is diag(y) − y·yᵀ, so \
                dxᵢ = yᵢ·(dyᵢ − Σⱼ dyⱼ·yⱼ); the element-wise yᵢ(1 − yᵢ)·dyᵢ leaves out the \
                off-diagonal terms";
    let shapes = [(1, 1), (1, 4), (3, 5), (5, 3)];
    for (case, &(n, k)) in shapes.iter().enumerate() {
        let x = random_values(n * k, 1.5, 650 + case as u64);
        let dy = random_values(n * k, 1.0, 660 + case as u64);
        let mut y = x.clone();
        y.chunks_mut(k).for_each(softmax_row);
        let check = Check::new(
            format!("matches central differences, rows [{n}, {k}]"),
            format!(
                "y = softmax(x) for {}, {}, k = {k}",
                describe("x", &x, &[n, k]),
                describe("dy", &dy, &[n, k])
            ),
        );
        let dx = check.run(|| f(&y, &dy, k));
        // L(x) = Σ dy ⊙ softmax(x), so ∂L/∂x is exactly what backward must return.
        check.gradient(
            "x",
            &[n, k],
            &x,
            &dx,
            |v| {
                let mut s = v.to_vec();
                s.chunks_mut(k).for_each(softmax_row);
                s.iter()
                    .zip(&dy)
                    .map(|(&a, &b)| f64::from(a) * f64::from(b))
                    .sum()
            },
            hint,
        )?;
        let sums: Vec<f32> = dx.chunks(k).map(|row| row.iter().sum()).collect();
        check.values(
            "Σᵢ dxᵢ per row",
            &sums,
            &vec![0.0; n],
            &[n],
            Tolerance::new(1e-5, 0.0),
            "the gradient of every row sums to 0 (adding a constant to a row's x does not change \
             its softmax)",
        )?;
    }
    Ok(())
}
