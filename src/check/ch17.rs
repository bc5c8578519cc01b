//! Checkers for chapter 17's exercises (`src/exercises/ch17.rs`): discounted returns, the
//! REINFORCE gradient at a softmax policy's scores, the PUCT score of tree search, and one outer
//! step of Reptile.
//!
//! The crate's own versions live in `src/rl/` and `src/meta/`, above this module in the crate's
//! floors, so each checker carries its own slow reference in f64, written from the formula of the
//! exercise: a backward loop for the returns, a softmax for the policy (and central differences of
//! `−A·log π(a)` for its gradient), the PUCT formula itself, and k explicit SGD steps on a quadratic
//! task for Reptile.

use super::Tolerance;
use super::exercise::{Check, CheckResult, describe, format_values, random_values};

/// `Gₜ = rₜ + γ·Gₜ₊₁`, backwards, in f64.
fn returns_reference(rewards: &[f32], gamma: f32) -> Vec<f32> {
    let mut out = vec![0.0f32; rewards.len()];
    let mut running = 0.0f64;
    for t in (0..rewards.len()).rev() {
        running = f64::from(rewards[t]) + f64::from(gamma) * running;
        out[t] = running as f32;
    }
    out
}

/// Exercise 17.1: `discounted_returns(rewards, gamma)` returns `Gₜ = rₜ + γ·Gₜ₊₁` for every step.
pub fn check_discounted_returns(f: impl Fn(&[f32], f32) -> Vec<f32>) -> CheckResult {
    let hint = "start from the last step (G after the end is 0) and walk backwards: \
                Gₜ = rₜ + γ·Gₜ₊₁, so G₀ = r₀ + γ·r₁ + γ²·r₂ + …; rₜ itself counts fully";
    let cases: Vec<(&str, Vec<f32>, f32)> = vec![
        ("three rewards of 1, γ = 0.5", vec![1.0, 1.0, 1.0], 0.5),
        ("a reward only at the end", vec![0.0, 0.0, 0.0, 4.0], 0.9),
        ("γ = 1 sums what is left", vec![1.0, 2.0, 3.0], 1.0),
        ("γ = 0 keeps each reward", vec![5.0, -1.0, 2.0], 0.0),
        ("one step", vec![2.5], 0.99),
        ("no steps", vec![], 0.99),
        (
            "an episode of 23 random rewards, γ = 0.99",
            random_values(23, 1.0, 1700),
            0.99,
        ),
    ];
    for (name, rewards, gamma) in cases {
        let n = rewards.len();
        let check = Check::new(
            format!("the returns, {name}"),
            format!("{}, gamma = {gamma}", describe("rewards", &rewards, &[n])),
        );
        let got = check.run(|| f(&rewards, gamma));
        check.values(
            "returns",
            &got,
            &returns_reference(&rewards, gamma),
            &[n],
            Tolerance::new(1e-5, 1e-5),
            hint,
        )?;
    }
    Ok(())
}

/// `−A·log softmax(z)ₐ` in f64 (stable).
fn reinforce_loss(logits: &[f32], action: usize, advantage: f32) -> f64 {
    let max = logits
        .iter()
        .fold(f64::NEG_INFINITY, |m, &z| m.max(f64::from(z)));
    let sum: f64 = logits.iter().map(|&z| (f64::from(z) - max).exp()).sum();
    let log_probability = f64::from(logits[action]) - max - sum.ln();
    -f64::from(advantage) * log_probability
}

/// `A·(softmax(z) − onehot(a))` in f64.
fn reinforce_reference(logits: &[f32], action: usize, advantage: f32) -> Vec<f32> {
    let max = logits
        .iter()
        .fold(f64::NEG_INFINITY, |m, &z| m.max(f64::from(z)));
    let exps: Vec<f64> = logits.iter().map(|&z| (f64::from(z) - max).exp()).collect();
    let sum: f64 = exps.iter().sum();
    exps.iter()
        .enumerate()
        .map(|(k, &e)| {
            let onehot = if k == action { 1.0 } else { 0.0 };
            (f64::from(advantage) * (e / sum - onehot)) as f32
        })
        .collect()
}

/// Exercise 17.2: `reinforce_logit_gradient(logits, action, advantage)` returns
/// `∂(−A·log π(a))/∂z = A·(softmax(z) − onehot(a))`.
pub fn check_reinforce_logit_gradient(f: impl Fn(&[f32], usize, f32) -> Vec<f32>) -> CheckResult {
    let hint = "log π(a) = z_a − log Σⱼ e^{zⱼ}, so ∂(−A·log π(a))/∂zₖ = A·(πₖ − [k = a]): the \
                probabilities minus the one-hot of the action, times the advantage (a positive \
                advantage must push the action's score *up*, i.e. its gradient is negative)";
    let cases: Vec<(&str, Vec<f32>, usize, f32)> = vec![
        ("two actions, equal scores", vec![0.0, 0.0], 1, 1.0),
        ("a hand example", vec![1.0, 2.0, 3.0], 0, 2.0),
        ("a negative advantage", vec![0.5, -0.5, 0.0, 1.0], 3, -1.5),
        ("zero advantage", vec![0.3, 0.1], 0, 0.0),
        ("seven actions", random_values(7, 1.5, 1701), 4, 0.8),
    ];
    for (name, logits, action, advantage) in cases {
        let k = logits.len();
        let input = format!(
            "{}, action = {action}, advantage = {advantage}",
            describe("logits", &logits, &[k])
        );
        let check = Check::new(format!("the gradient, {name}"), input.clone());
        let got = check.run(|| f(&logits, action, advantage));
        check.values(
            "gradient",
            &got,
            &reinforce_reference(&logits, action, advantage),
            &[k],
            Tolerance::new(1e-5, 1e-4),
            hint,
        )?;
        Check::new(format!("finite differences, {name}"), input).gradient(
            "logits",
            &[k],
            &logits,
            &got,
            |z| reinforce_loss(z, action, advantage),
            hint,
        )?;
    }
    let logits = [1000.0f32, 1001.0, 999.0];
    let check = Check::new(
        "large scores do not overflow",
        format!(
            "logits = {}, action = 1, advantage = 1",
            format_values(&logits, &[3])
        ),
    );
    let got = check.run(|| f(&logits, 1, 1.0));
    check.values(
        "gradient",
        &got,
        &reinforce_reference(&logits, 1, 1.0),
        &[3],
        Tolerance::new(1e-5, 1e-4),
        "e^1000 overflows f32: subtract the largest score before exponentiating (the softmax of \
         exercise 6.4)",
    )
}

/// The PUCT score in f64.
fn puct_reference(q: f32, prior: f32, parent_visits: u32, move_visits: u32, c_puct: f32) -> f64 {
    f64::from(q)
        + f64::from(c_puct) * f64::from(prior) * f64::from(parent_visits).sqrt()
            / (1.0 + f64::from(move_visits))
}

/// Exercise 17.3: `puct_score(q, prior, parent_visits, move_visits, c_puct)` returns
/// `Q + c_puct·P·√N / (1 + n)`.
pub fn check_puct_score(f: impl Fn(f32, f32, u32, u32, f32) -> f32) -> CheckResult {
    let hint = "U = Q + c_puct · P · √N / (1 + n): the square root of the *parent's* visits N over \
                one plus the *move's* visits n";
    let cases: [(&str, f32, f32, u32, u32, f32); 7] = [
        ("an unvisited move of a fresh node", 0.0, 0.5, 1, 0, 1.5),
        ("a hand example", 0.5, 0.2, 16, 3, 1.5),
        ("a negative mean value", -0.4, 0.1, 100, 9, 2.0),
        ("a move with no prior", 0.3, 0.0, 50, 0, 1.0),
        ("many visits", 0.1, 0.6, 10_000, 2_500, 1.25),
        ("c_puct = 0 is pure exploitation", 0.7, 0.9, 25, 1, 0.0),
        ("the root before any simulation", 0.0, 0.3, 0, 0, 1.0),
    ];
    for (name, q, prior, parent, visits, c) in cases {
        let check = Check::new(
            format!("the score, {name}"),
            format!(
                "q = {q}, prior = {prior}, parent_visits = {parent}, move_visits = {visits}, \
                 c_puct = {c}"
            ),
        );
        let got = check.run(|| f(q, prior, parent, visits, c));
        check.scalar(
            "U",
            f64::from(got),
            puct_reference(q, prior, parent, visits, c),
            Tolerance::new(1e-5, 1e-5),
            hint,
        )?;
    }
    Ok(())
}

/// The quadratic task of the Reptile check: `L(φ) = ½·Σᵢ aᵢ·(φᵢ − cᵢ)²`, gradient `aᵢ·(φᵢ − cᵢ)`.
fn quadratic_gradient(curvature: &[f32], centre: &[f32], phi: &[f32]) -> Vec<f32> {
    phi.iter()
        .zip(curvature.iter().zip(centre))
        .map(|(&p, (&a, &c))| a * (p - c))
        .collect()
}

/// k SGD steps from θ, then θ + ε(φ − θ), in f64.
fn reptile_reference(
    theta: &[f32],
    curvature: &[f32],
    centre: &[f32],
    inner_lr: f32,
    inner_steps: usize,
    outer_lr: f32,
) -> Vec<f32> {
    let mut phi: Vec<f64> = theta.iter().map(|&t| f64::from(t)).collect();
    for _ in 0..inner_steps {
        for ((p, &a), &c) in phi.iter_mut().zip(curvature).zip(centre) {
            *p -= f64::from(inner_lr) * f64::from(a) * (*p - f64::from(c));
        }
    }
    theta
        .iter()
        .zip(&phi)
        .map(|(&t, &p)| (f64::from(t) + f64::from(outer_lr) * (p - f64::from(t))) as f32)
        .collect()
}

/// Exercise 17.4: `reptile_outer_step(theta, gradient, inner_lr, inner_steps, outer_lr)` takes
/// `inner_steps` SGD steps from θ (each with the gradient at the current φ), then moves θ to
/// `θ + ε·(φ − θ)` in place.
pub fn check_reptile_outer_step(
    f: impl Fn(&mut [f32], &dyn Fn(&[f32]) -> Vec<f32>, f32, usize, f32),
) -> CheckResult {
    let hint = "copy θ into φ; repeat k times: φ ← φ − α·gradient(φ) (the gradient at the *current* \
                φ); then θ ← θ + ε·(φ − θ), which keeps θ when ε = 0 and jumps to φ when ε = 1";
    let curvature = [1.0f32, 4.0, 0.5, 2.0];
    let centre = [1.0f32, -1.0, 3.0, 0.5];
    let start = [0.0f32, 0.5, -2.0, 2.0];
    let cases: [(&str, f32, usize, f32); 5] = [
        ("one inner step", 0.1, 1, 0.5),
        ("five inner steps", 0.1, 5, 0.1),
        ("ten inner steps, ε = 1 (θ becomes φ)", 0.05, 10, 1.0),
        ("ε = 0 leaves θ alone", 0.1, 3, 0.0),
        ("no inner step leaves θ alone", 0.1, 0, 0.7),
    ];
    for (name, inner_lr, inner_steps, outer_lr) in cases {
        let check = Check::new(
            format!("the new θ, {name}"),
            format!(
                "theta = {}, L(φ) = ½·Σ aᵢ(φᵢ − cᵢ)² with a = {}, c = {} (gradient aᵢ(φᵢ − cᵢ)), \
                 inner_lr = {inner_lr}, inner_steps = {inner_steps}, outer_lr = {outer_lr}",
                format_values(&start, &[4]),
                format_values(&curvature, &[4]),
                format_values(&centre, &[4])
            ),
        );
        let mut theta = start.to_vec();
        let gradient = |phi: &[f32]| quadratic_gradient(&curvature, &centre, phi);
        check.run(|| f(&mut theta, &gradient, inner_lr, inner_steps, outer_lr));
        check.values(
            "theta",
            &theta,
            &reptile_reference(&start, &curvature, &centre, inner_lr, inner_steps, outer_lr),
            &[4],
            Tolerance::new(1e-5, 1e-5),
            hint,
        )?;
    }
    Ok(())
}
