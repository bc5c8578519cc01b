//! Checkers for chapter 18's exercises (`src/exercises/ch18.rs`): symmetric int8 quantization,
//! integrated gradients by the midpoint rule, the symmetric contrastive loss.
//!
//! Quantization is checked by its properties (the scale, the range, the half-step error bound), so
//! either rounding of an exact half passes. Integrated gradients are compared with the midpoint
//! rule evaluated in f64 on smooth functions whose gradients are known, and tested for completeness.
//! The contrastive loss is compared with two cross-entropies of the crate ([`loss::cross_entropy`]),
//! and its gradient with central differences of that reference.

use super::Tolerance;
use super::exercise::{Check, CheckResult, describe, format_values, random_values, short};
use crate::loss::{self, Reduction};
use crate::tensor::Tensor;

/// Exercise 18.1: `quantize_symmetric(values)` returns `(q, s)` with `s = max|x|/127` and
/// `q = clamp(round(x/s), −127, 127)`.
pub fn check_quantize_symmetric(f: impl Fn(&[f32]) -> (Vec<i8>, f32)) -> CheckResult {
    let cases: Vec<(&str, Vec<f32>)> = vec![
        ("a hand example", vec![0.5, -1.0, 0.25]),
        ("all zeros", vec![0.0; 4]),
        ("one value", vec![-3.5]),
        ("small values", random_values(9, 0.001, 1800)),
        ("33 values", random_values(33, 2.0, 1801)),
        ("an outlier", vec![0.01, -0.02, 0.03, 100.0]),
    ];
    for (name, values) in cases {
        let n = values.len();
        let input = describe("values", &values, &[n]);
        let check = Check::new(format!("the scale, {name}"), input.clone());
        let (q, scale) = check.run(|| f(&values));
        let max = values.iter().fold(0.0f32, |m, &v| m.max(v.abs()));
        let expected_scale = if max > 0.0 { max / 127.0 } else { 1.0 };
        check.scalar(
            "s",
            f64::from(scale),
            f64::from(expected_scale),
            Tolerance::new(0.0, 1e-6),
            "s = max|x| / 127, so that the largest magnitude lands on ±127; 1 when every value is 0",
        )?;
        let check = Check::new(format!("the integers, {name}"), input);
        check.length("q", q.len(), n, &[n])?;
        for (i, (&x, &qi)) in values.iter().zip(&q).enumerate() {
            check.that(
                qi != -128,
                "every q in −127…127",
                format!("q[{i}] = −128"),
                "clamp to ±127: the range is symmetric, −128 is left unused",
            )?;
            let error = (f64::from(x) - f64::from(qi) * f64::from(scale)).abs();
            let half_step = f64::from(scale) / 2.0 * (1.0 + 1e-5) + 1e-12;
            check.that(
                error <= half_step,
                format!(
                    "|x[{i}] − q[{i}]·s| ≤ s/2 = {} (x[{i}] = {})",
                    short(half_step),
                    short(f64::from(x))
                ),
                format!(
                    "q[{i}] = {qi}, an error of {} ({} steps)",
                    short(error),
                    short(error / f64::from(scale))
                ),
                "q = round(x / s): rounding to the nearest integer keeps the error within half a \
                 step (`as i8` alone truncates towards zero, an error of up to a whole step)",
            )?;
        }
    }
    Ok(())
}

/// F(x) = Σᵢ sin(aᵢ·xᵢ) + x₀·x₁ (a smooth, non-linear test function) and its gradient, in f64.
fn smooth(x: &[f64], a: &[f64]) -> f64 {
    let pairs: f64 = x.iter().zip(a).map(|(x, a)| (a * x).sin()).sum();
    pairs + x[0] * x.get(1).copied().unwrap_or(0.0)
}

fn smooth_gradient(x: &[f64], a: &[f64]) -> Vec<f64> {
    let mut g: Vec<f64> = x.iter().zip(a).map(|(x, a)| a * (a * x).cos()).collect();
    if x.len() > 1 {
        g[0] += x[1];
        g[1] += x[0];
    }
    g
}

/// The midpoint rule in f64.
fn midpoint_ig(x: &[f32], baseline: &[f32], steps: usize, a: &[f64]) -> Vec<f32> {
    let n = x.len();
    let mut sum = vec![0.0; n];
    for k in 0..steps {
        let alpha = (k as f64 + 0.5) / steps as f64;
        let point: Vec<f64> = (0..n)
            .map(|i| f64::from(baseline[i]) + alpha * (f64::from(x[i]) - f64::from(baseline[i])))
            .collect();
        for (s, g) in sum.iter_mut().zip(smooth_gradient(&point, a)) {
            *s += g;
        }
    }
    (0..n)
        .map(|i| ((f64::from(x[i]) - f64::from(baseline[i])) * sum[i] / steps as f64) as f32)
        .collect()
}

/// Exercise 18.2: `integrated_gradients(gradient, x, baseline, steps)` returns the midpoint-rule
/// attributions `(x − x′) ⊙ mean_k ∂F(x′ + ((k + ½)/m)(x − x′))`.
pub fn check_integrated_gradients(
    f: impl Fn(&dyn Fn(&[f32]) -> Vec<f32>, &[f32], &[f32], usize) -> Vec<f32>,
) -> CheckResult {
    let hint = "IGᵢ = (xᵢ − x′ᵢ)·(1/m)·Σₖ ∂F/∂xᵢ(x′ + ((k + ½)/m)(x − x′)): the gradient at the \
                *middles* of m equal pieces of the path, averaged, times x − x′";
    // A linear function first: the answer is w ⊙ (x − x′) for any number of steps.
    let w = [0.5f32, -2.0, 3.0];
    let linear = |_: &[f32]| w.to_vec();
    let (x, baseline) = ([1.0f32, 2.0, -1.0], [0.5f32, 0.0, 0.0]);
    let check = Check::new(
        "a linear function F(x) = w·x, 5 steps",
        format!(
            "w = {}, x = {}, x′ = {}",
            format_values(&w, &[3]),
            format_values(&x, &[3]),
            format_values(&baseline, &[3])
        ),
    );
    let got = check.run(|| f(&linear, &x, &baseline, 5));
    let expected: Vec<f32> = (0..3).map(|i| w[i] * (x[i] - baseline[i])).collect();
    check.values(
        "IG",
        &got,
        &expected,
        &[3],
        Tolerance::new(1e-6, 1e-5),
        hint,
    )?;

    // A smooth non-linear function, few steps: the rule itself is checked.
    for (name, n, steps, seed) in [
        ("n = 2, 1 step", 2, 1, 1810),
        ("n = 5, 3 steps", 5, 3, 1811),
        ("n = 7, 10 steps", 7, 10, 1812),
    ] {
        let x = random_values(n, 1.0, seed);
        let baseline = random_values(n, 0.3, seed + 100);
        let a: Vec<f64> = (0..n).map(|i| 0.5 + 0.4 * i as f64).collect();
        let gradient = |p: &[f32]| -> Vec<f32> {
            let p: Vec<f64> = p.iter().map(|&v| f64::from(v)).collect();
            smooth_gradient(&p, &a).iter().map(|&g| g as f32).collect()
        };
        let check = Check::new(
            format!("F(x) = Σ sin(aᵢxᵢ) + x₀x₁, {name}"),
            format!(
                "{}, {}, steps = {steps}",
                describe("x", &x, &[n]),
                describe("baseline", &baseline, &[n])
            ),
        );
        let got = check.run(|| f(&gradient, &x, &baseline, steps));
        let expected = midpoint_ig(&x, &baseline, steps, &a);
        check.values(
            "IG",
            &got,
            &expected,
            &[n],
            Tolerance::new(1e-5, 1e-4),
            hint,
        )?;
    }

    // Completeness: with many steps the attributions add up to F(x) − F(x′).
    let n = 6;
    let x = random_values(n, 1.0, 1820);
    let baseline = vec![0.0; n];
    let a: Vec<f64> = (0..n).map(|i| 0.7 + 0.3 * i as f64).collect();
    let gradient = |p: &[f32]| -> Vec<f32> {
        let p: Vec<f64> = p.iter().map(|&v| f64::from(v)).collect();
        smooth_gradient(&p, &a).iter().map(|&g| g as f32).collect()
    };
    let check = Check::new(
        "completeness: 300 steps add up to F(x) − F(x′)",
        format!("{}, x′ = 0, steps = 300", describe("x", &x, &[n])),
    );
    let got = check.run(|| f(&gradient, &x, &baseline, 300));
    let as_f64 = |v: &[f32]| v.iter().map(|&t| f64::from(t)).collect::<Vec<f64>>();
    let difference = smooth(&as_f64(&x), &a) - smooth(&as_f64(&baseline), &a);
    let sum: f64 = got.iter().map(|&v| f64::from(v)).sum();
    check.scalar("Σ IG", sum, difference, Tolerance::new(1e-4, 1e-3), hint)
}

/// The reference contrastive loss: the mean of the row and column cross-entropies.
fn contrastive_value(logits: &[f32], n: usize) -> f64 {
    let z = Tensor::from_vec(&[n, n], logits.to_vec());
    let targets: Vec<usize> = (0..n).collect();
    let rows = loss::cross_entropy(&z, &targets, Reduction::Mean).value;
    let columns = loss::cross_entropy(&z.transpose(), &targets, Reduction::Mean).value;
    0.5 * (f64::from(rows) + f64::from(columns))
}

/// Exercise 18.3: `contrastive_loss(logits, n)` returns `½(CE(Z) + CE(Zᵀ))` with the diagonal as the
/// targets, and its gradient.
pub fn check_contrastive_loss(f: impl Fn(&[f32], usize) -> (f32, Vec<f32>)) -> CheckResult {
    let value_hint = "L = ½·(CE over the rows + CE over the columns), each the mean over N of \
                      logsumexp − the diagonal logit";
    let gradient_hint =
        "∂L/∂Z[i, j] = ½·(softmax of row i at j + softmax of column j at i − 2·[i = j]) / N";
    let cases: Vec<(&str, Vec<f32>, usize)> = vec![
        ("equal logits give ln N", vec![0.7; 16], 4),
        ("one pair", vec![2.0], 1),
        ("a batch of 4", random_values(16, 2.0, 1830), 4),
        (
            "an asymmetric batch of 3",
            vec![5.0, 1.0, 0.0, -2.0, 3.0, 1.0, 4.0, 0.5, 2.0],
            3,
        ),
        ("a batch of 6", random_values(36, 3.0, 1831), 6),
    ];
    for (name, logits, n) in cases {
        let input = describe("logits", &logits, &[n, n]);
        let check = Check::new(format!("the loss value, {name}"), input.clone());
        let (value, grad) = check.run(|| f(&logits, n));
        check.scalar(
            "L",
            f64::from(value),
            contrastive_value(&logits, n),
            Tolerance::new(1e-5, 1e-5),
            value_hint,
        )?;
        Check::new(format!("the gradient, {name}"), input).gradient(
            "logits",
            &[n, n],
            &logits,
            &grad,
            |z| contrastive_value(z, n),
            gradient_hint,
        )?;
    }
    let logits = vec![1000.0, 0.0, 0.0, -1000.0];
    let check = Check::new(
        "large logits do not overflow",
        describe("logits", &logits, &[2, 2]),
    );
    let (value, _) = check.run(|| f(&logits, 2));
    check.scalar(
        "L",
        f64::from(value),
        contrastive_value(&logits, 2),
        Tolerance::new(1e-3, 1e-5),
        "subtract each row's (and column's) maximum before exponentiating",
    )
}
