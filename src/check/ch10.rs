//! Checkers for chapter 10's exercises (`src/exercises/ch10.rs`): mean squared error, cross-entropy
//! on logits, binary cross-entropy on logits — each returning the loss and its gradient.
//!
//! Loss values are compared with the crate's losses ([`loss::mse`], [`loss::cross_entropy`],
//! [`loss::bce_with_logits`], which compute in f64 where it matters); gradients are checked against
//! central differences of those reference values, so a wrong value and a wrong gradient are reported
//! separately. Logits of ±1000 check the numerically stable forms.

use super::Tolerance;
use super::exercise::{Check, CheckResult, describe, format_values, random_values};
use crate::loss::{self, Reduction};
use crate::tensor::Tensor;

/// The reference MSE value.
fn mse_value(prediction: &[f32], target: &[f32]) -> f64 {
    let n = prediction.len();
    let p = Tensor::from_vec(&[n], prediction.to_vec());
    let t = Tensor::from_vec(&[n], target.to_vec());
    f64::from(loss::mse(&p, &t, Reduction::Mean).value)
}

/// Exercise 10.1: `mse(prediction, target)` returns `(mean((ŷ − y)²), 2(ŷ − y)/n)`.
pub fn check_mse(f: impl Fn(&[f32], &[f32]) -> (f32, Vec<f32>)) -> CheckResult {
    let value_hint = "L = (1/n)·Σᵢ (ŷᵢ − yᵢ)², the mean over all n elements";
    let gradient_hint = "∂L/∂ŷᵢ = 2(ŷᵢ − yᵢ)/n: the 2 from the square, the 1/n from the mean";
    let cases: Vec<(&str, Vec<f32>, Vec<f32>)> = vec![
        ("a hand example", vec![1.0, 2.0, 3.0], vec![1.0, 0.0, 5.0]),
        ("a perfect prediction", vec![0.5, -1.0], vec![0.5, -1.0]),
        ("one element", vec![2.5], vec![-1.0]),
        (
            "seven elements",
            random_values(7, 1.0, 1000),
            random_values(7, 1.0, 1001),
        ),
        (
            "32 elements",
            random_values(32, 2.0, 1002),
            random_values(32, 1.0, 1003),
        ),
    ];
    for (name, prediction, target) in cases {
        let n = prediction.len();
        let input = format!(
            "{}, {}",
            describe("prediction", &prediction, &[n]),
            describe("target", &target, &[n])
        );
        let check = Check::new(format!("the loss value, {name}"), input.clone());
        let (value, grad) = check.run(|| f(&prediction, &target));
        check.scalar(
            "L",
            f64::from(value),
            mse_value(&prediction, &target),
            Tolerance::new(1e-6, 1e-5),
            value_hint,
        )?;
        Check::new(format!("the gradient, {name}"), input).gradient(
            "prediction",
            &[n],
            &prediction,
            &grad,
            |p| mse_value(p, &target),
            gradient_hint,
        )?;
    }
    Ok(())
}

/// The reference cross-entropy value (mean over the rows).
fn cross_entropy_value(logits: &[f32], targets: &[usize], k: usize) -> f64 {
    let n = targets.len();
    let z = Tensor::from_vec(&[n, k], logits.to_vec());
    f64::from(loss::cross_entropy(&z, targets, Reduction::Mean).value)
}

/// Exercise 10.2: `cross_entropy(logits, targets, k)` returns the mean cross-entropy of logits
/// `[N, K]` against class indices and its gradient `(softmax(z) − onehot(y))/N`.
pub fn check_cross_entropy(f: impl Fn(&[f32], &[usize], usize) -> (f32, Vec<f32>)) -> CheckResult {
    let value_hint = "Lₙ = logsumexp(zₙ) − zₙ[yₙ] with logsumexp(z) = m + ln Σⱼ e^{zⱼ − m} (m the row's \
                      maximum), and L = (1/N)·Σₙ Lₙ";
    let gradient_hint = "∂L/∂zₙₖ = (softmax(zₙ)ₖ − [k = yₙ]) / N: the probabilities minus the one-hot \
                         target, divided by the batch size N because L is a mean";
    let cases: Vec<(&str, Vec<f32>, Vec<usize>, usize)> = vec![
        ("uniform logits give ln K", vec![0.0; 8], vec![1, 3], 4),
        ("a hand example", vec![1.0, 2.0, 3.0], vec![2], 3),
        ("one class", vec![0.7, -2.0], vec![0, 0], 1),
        (
            "a batch of 3, K = 7",
            random_values(21, 2.0, 1010),
            vec![0, 6, 3],
            7,
        ),
        (
            "a batch of 8, K = 10",
            random_values(80, 1.0, 1011),
            vec![9, 0, 1, 2, 3, 5, 5, 7],
            10,
        ),
    ];
    for (name, logits, targets, k) in cases {
        let n = targets.len();
        let input = format!(
            "{}, targets = {targets:?}, k = {k}",
            describe("logits", &logits, &[n, k])
        );
        let check = Check::new(format!("the loss value, {name}"), input.clone());
        let (value, grad) = check.run(|| f(&logits, &targets, k));
        check.scalar(
            "L",
            f64::from(value),
            cross_entropy_value(&logits, &targets, k),
            Tolerance::new(1e-5, 1e-5),
            value_hint,
        )?;
        Check::new(format!("the gradient, {name}"), input).gradient(
            "logits",
            &[n, k],
            &logits,
            &grad,
            |z| cross_entropy_value(z, &targets, k),
            gradient_hint,
        )?;
    }

    let (logits, targets) = (vec![1000.0, 0.0, -1000.0, -1000.0, 1000.0, 0.0], vec![1, 1]);
    let check = Check::new(
        "large logits do not overflow",
        format!(
            "{}, targets = {targets:?}, k = 3",
            describe("logits", &logits, &[2, 3])
        ),
    );
    let (value, grad) = check.run(|| f(&logits, &targets, 3));
    let stability_hint = "e^1000 is inf in f32: compute logsumexp(z) = m + ln Σ e^{zⱼ − m} and the \
                          softmax with the row's maximum m subtracted";
    check.scalar(
        "L",
        f64::from(value),
        500.0,
        Tolerance::new(1e-3, 1e-6),
        stability_hint,
    )?;
    let expected = loss::cross_entropy(
        &Tensor::from_vec(&[2, 3], logits),
        &targets,
        Reduction::Mean,
    );
    check.values(
        "∂L/∂logits",
        &grad,
        expected.grad.data(),
        &[2, 3],
        Tolerance::new(1e-6, 1e-5),
        stability_hint,
    )
}

/// The reference binary cross-entropy value (mean over the elements).
fn bce_value(logits: &[f32], targets: &[f32]) -> f64 {
    let n = logits.len();
    let z = Tensor::from_vec(&[n], logits.to_vec());
    let y = Tensor::from_vec(&[n], targets.to_vec());
    f64::from(loss::bce_with_logits(&z, &y, Reduction::Mean).value)
}

/// Exercise 10.3: `bce_with_logits(logits, targets)` returns the mean binary cross-entropy of logits
/// against targets in [0, 1] and its gradient `(σ(z) − y)/n`, computed stably.
pub fn check_bce_with_logits(f: impl Fn(&[f32], &[f32]) -> (f32, Vec<f32>)) -> CheckResult {
    let value_hint = "lᵢ = max(zᵢ, 0) − zᵢ·yᵢ + ln(1 + e^{−|zᵢ|}) (the stable form of \
                      −[y·ln σ(z) + (1 − y)·ln(1 − σ(z))]), and L = the mean of the lᵢ";
    let gradient_hint = "∂L/∂zᵢ = (σ(zᵢ) − yᵢ)/n";
    let cases: Vec<(&str, Vec<f32>, Vec<f32>)> = vec![
        ("logit 0 gives ln 2", vec![0.0], vec![1.0]),
        (
            "hard targets",
            random_values(9, 2.0, 1020),
            vec![1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 1.0, 0.0, 1.0],
        ),
        (
            "soft targets",
            random_values(5, 2.0, 1021),
            vec![0.3, 0.9, 0.5, 0.0, 0.75],
        ),
    ];
    for (name, logits, targets) in cases {
        let n = logits.len();
        let input = format!(
            "{}, {}",
            describe("logits", &logits, &[n]),
            describe("targets", &targets, &[n])
        );
        let check = Check::new(format!("the loss value, {name}"), input.clone());
        let (value, grad) = check.run(|| f(&logits, &targets));
        check.scalar(
            "L",
            f64::from(value),
            bce_value(&logits, &targets),
            Tolerance::new(1e-6, 1e-5),
            value_hint,
        )?;
        Check::new(format!("the gradient, {name}"), input).gradient(
            "logits",
            &[n],
            &logits,
            &grad,
            |z| bce_value(z, &targets),
            gradient_hint,
        )?;
    }

    let logits = vec![100.0, -100.0, 1000.0, -1000.0];
    let targets = vec![0.0, 1.0, 1.0, 0.0];
    let check = Check::new(
        "large logits stay finite",
        format!(
            "logits = {}, targets = {}",
            format_values(&logits, &[4]),
            format_values(&targets, &[4])
        ),
    );
    let (value, grad) = check.run(|| f(&logits, &targets));
    let stability_hint = "σ(100) rounds to exactly 1 in f32, so ln(1 − σ) = ln 0 = −inf (and 0·(−inf) = \
                          NaN): use max(z, 0) − z·y + ln(1 + e^{−|z|}), which never takes the log of 0";
    check.scalar(
        "L",
        f64::from(value),
        50.0,
        Tolerance::new(1e-4, 1e-6),
        stability_hint,
    )?;
    check.values(
        "∂L/∂logits",
        &grad,
        &[0.25, -0.25, 0.0, 0.0],
        &[4],
        Tolerance::new(1e-6, 1e-5),
        stability_hint,
    )
}
