//! Checkers for chapter 11's exercises (`src/exercises/ch11.rs`): an SGD-with-momentum step, an Adam
//! step, the cosine learning-rate schedule, and gradient clipping by the global norm.
//!
//! The optimizer steps are compared, step after step, with the crate's optimizers ([`Sgd`], [`Adam`],
//! which follow PyTorch's update rules exactly) running on the same parameters and gradients; the
//! state the learner keeps (velocity, m, v) is compared with the rule evaluated in f64. The schedule
//! and clipping are compared with [`CosineAnnealingLr`] and [`clip_grad_norm`].

use super::Tolerance;
use super::exercise::{Check, CheckResult, format_values, short};
use crate::nn::{Layer, Mode, Param};
use crate::optim::{Adam, CosineAnnealingLr, LrSchedule, Optimizer, Sgd, clip_grad_norm};
use crate::tensor::Tensor;

/// A "model" that is one parameter vector, so the crate's optimizers can run on plain slices.
struct OneParam {
    param: Param,
}

impl OneParam {
    fn new(values: &[f32]) -> OneParam {
        OneParam {
            param: Param::new(Tensor::from_vec(&[values.len()], values.to_vec())),
        }
    }

    fn set_grad(&mut self, grad: &[f32]) {
        self.param.grad.data_mut().copy_from_slice(grad);
    }

    fn values(&self) -> &[f32] {
        self.param.value.data()
    }
}

impl Layer for OneParam {
    fn forward(&mut self, x: &Tensor, _mode: Mode) -> Tensor {
        x.clone()
    }

    fn backward(&mut self, grad_output: &Tensor) -> Tensor {
        grad_output.clone()
    }

    fn visit_params(&mut self, f: &mut dyn FnMut(&str, &mut Param)) {
        f("param", &mut self.param);
    }

    fn describe(&self) -> String {
        "OneParam".to_string()
    }
}

/// The parameters every optimizer check starts from, and the gradient of each step: large, then
/// small, then of changing sign.
const START: [f32; 4] = [1.0, -2.0, 3.0, 0.5];
const GRADIENTS: [[f32; 4]; 4] = [
    [0.1, -5.0, 1e-3, 2.0],
    [0.2, -4.0, -1e-3, 1.0],
    [-0.3, 0.5, 2e-3, -1.0],
    [0.05, 0.1, 0.0, -2.0],
];

/// Exercise 11.1: `sgd_momentum_step(params, grads, velocity, learning_rate, momentum)` updates the
/// parameters and the velocity in place: `v ← μ·v + g`, `θ ← θ − γ·v`.
pub fn check_sgd_momentum_step(
    f: impl Fn(&mut [f32], &[f32], &mut [f32], f32, f32),
) -> CheckResult {
    let hint = "first the velocity, v ← μ·v + g, then the step with the *new* velocity, θ ← θ − γ·v \
                (PyTorch's torch.optim.SGD rule; v starts at 0, so the first step is plain SGD)";
    for (learning_rate, momentum) in [(0.1f32, 0.0f32), (0.1, 0.9), (0.01, 0.5)] {
        let mut reference = OneParam::new(&START);
        let mut sgd = Sgd::new(learning_rate).momentum(momentum);
        let mut params = START.to_vec();
        let mut velocity = vec![0.0f32; START.len()];
        let mut expected_velocity = vec![0.0f64; START.len()];
        for (step, g) in GRADIENTS.iter().enumerate() {
            let check = Check::new(
                format!(
                    "step {} with learning rate {learning_rate} and momentum {momentum}",
                    step + 1
                ),
                format!(
                    "params = {}, grads = {}, velocity = {}, learning_rate = {learning_rate}, \
                     momentum = {momentum} (the values after the previous steps)",
                    format_values(&params, &[4]),
                    format_values(g, &[4]),
                    format_values(&velocity, &[4])
                ),
            );
            check.run(|| f(&mut params, g, &mut velocity, learning_rate, momentum));
            reference.set_grad(g);
            sgd.step(&mut reference);
            for (v, &gi) in expected_velocity.iter_mut().zip(g) {
                *v = f64::from(momentum) * *v + f64::from(gi);
            }
            let expected_velocity_f32: Vec<f32> =
                expected_velocity.iter().map(|&v| v as f32).collect();
            check.values(
                "params",
                &params,
                reference.values(),
                &[4],
                Tolerance::new(1e-6, 1e-5),
                hint,
            )?;
            check.values(
                "velocity",
                &velocity,
                &expected_velocity_f32,
                &[4],
                Tolerance::new(1e-6, 1e-5),
                "keep v = μ·v + g in `velocity` (without the learning rate: PyTorch's convention)",
            )?;
        }
    }
    Ok(())
}

/// Adam's hyper-parameters for exercise 11.2 (PyTorch's names and defaults).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdamSettings {
    /// The learning rate γ (PyTorch's default 0.001).
    pub learning_rate: f32,
    /// β₁, the decay of the gradient average m (0.9).
    pub beta1: f32,
    /// β₂, the decay of the squared-gradient average v (0.999).
    pub beta2: f32,
    /// ε, added to the denominator (10⁻⁸).
    pub eps: f32,
}

impl Default for AdamSettings {
    fn default() -> AdamSettings {
        AdamSettings {
            learning_rate: 0.001,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
        }
    }
}

/// Exercise 11.2: `adam_step(params, grads, m, v, t, settings)` performs Adam's step number `t`
/// (1, 2, …) in place.
pub fn check_adam_step(
    f: impl Fn(&mut [f32], &[f32], &mut [f32], &mut [f32], usize, AdamSettings),
) -> CheckResult {
    let hint = "m ← β₁m + (1 − β₁)g, v ← β₂v + (1 − β₂)g², m̂ = m/(1 − β₁ᵗ), v̂ = v/(1 − β₂ᵗ), \
                θ ← θ − γ·m̂/(√v̂ + ε)";
    let bias_hint = "the bias correction: m and v start at 0, so early on they are too small by the \
                     factors (1 − β₁ᵗ) and (1 − β₂ᵗ); divide them out (m̂ = m/(1 − β₁ᵗ), \
                     v̂ = v/(1 − β₂ᵗ)). Without it the first step is (1 − β₁)/√(1 − β₂) ≈ 3.16 \
                     times too large";
    let all_settings = [
        AdamSettings {
            learning_rate: 0.1,
            ..AdamSettings::default()
        },
        AdamSettings {
            learning_rate: 0.01,
            beta1: 0.8,
            beta2: 0.99,
            eps: 1e-6,
        },
    ];
    for settings in all_settings {
        let mut reference = OneParam::new(&START);
        let mut adam = Adam::new(settings.learning_rate)
            .betas(settings.beta1, settings.beta2)
            .eps(settings.eps);
        let mut params = START.to_vec();
        let (mut m, mut v) = (vec![0.0f32; 4], vec![0.0f32; 4]);
        let (mut expected_m, mut expected_v) = (vec![0.0f64; 4], vec![0.0f64; 4]);
        for (step, g) in GRADIENTS.iter().enumerate() {
            let t = step + 1;
            let check = Check::new(
                format!("step t = {t} with {settings:?}"),
                format!(
                    "params = {}, grads = {}, m = {}, v = {}, t = {t} (the values after the \
                     previous steps)",
                    format_values(&params, &[4]),
                    format_values(g, &[4]),
                    format_values(&m, &[4]),
                    format_values(&v, &[4])
                ),
            );
            check.run(|| f(&mut params, g, &mut m, &mut v, t, settings));
            reference.set_grad(g);
            adam.step(&mut reference);
            let (b1, b2) = (f64::from(settings.beta1), f64::from(settings.beta2));
            for ((em, ev), &gi) in expected_m.iter_mut().zip(expected_v.iter_mut()).zip(g) {
                let gi = f64::from(gi);
                *em = b1 * *em + (1.0 - b1) * gi;
                *ev = b2 * *ev + (1.0 - b2) * gi * gi;
            }
            let to_f32 = |values: &[f64]| values.iter().map(|&x| x as f32).collect::<Vec<f32>>();
            check.values(
                "m",
                &m,
                &to_f32(&expected_m),
                &[4],
                Tolerance::new(1e-7, 1e-5),
                "m ← β₁·m + (1 − β₁)·g, the running average of the gradients",
            )?;
            check.values(
                "v",
                &v,
                &to_f32(&expected_v),
                &[4],
                Tolerance::new(1e-9, 1e-5),
                "v ← β₂·v + (1 − β₂)·g², the running average of the squared gradients",
            )?;
            check.values(
                "params",
                &params,
                reference.values(),
                &[4],
                Tolerance::new(1e-6, 1e-5),
                if t == 1 { bias_hint } else { hint },
            )?;
        }
    }
    Ok(())
}

/// Exercise 11.3: `cosine_annealing_lr(base, eta_min, t, t_max)` returns
/// `η_min + (base − η_min)·(1 + cos(π·t/T))/2`.
pub fn check_cosine_annealing_lr(f: impl Fn(f32, f32, usize, usize) -> f32) -> CheckResult {
    let hint = "γ(t) = η_min + (γ₀ − η_min)·(1 + cos(π·t/T))/2: γ₀ at t = 0, η_min at t = T, halfway \
                at t = T/2 (compute t/T as a floating-point division)";
    for (base, eta_min, t_max) in [(0.1f32, 0.0f32, 10usize), (0.01, 0.001, 7), (1.0, 0.5, 1)] {
        let schedule = CosineAnnealingLr { t_max, eta_min };
        for t in 0..=t_max {
            let check = Check::new(
                format!("every step of T = {t_max}"),
                format!("base = {base}, eta_min = {eta_min}, t = {t}, t_max = {t_max}"),
            );
            let got = check.run(|| f(base, eta_min, t, t_max));
            check.scalar(
                "γ(t)",
                f64::from(got),
                f64::from(schedule.learning_rate(base, t)),
                Tolerance::new(1e-7, 1e-6),
                hint,
            )?;
        }
    }
    Ok(())
}

/// Exercise 11.4: `clip_grad_norm(grads, max_norm)` scales the gradients so that their L2 norm is at
/// most `max_norm` and returns the norm before clipping.
pub fn check_clip_grad_norm(f: impl Fn(&mut [f32], f32) -> f32) -> CheckResult {
    let hint = "‖g‖ = √(Σ gᵢ²); if ‖g‖ > max_norm, multiply *every* gᵢ by max_norm/(‖g‖ + 10⁻⁶) — \
                the same factor for all, so the direction is kept (clamping each gᵢ separately \
                changes it)";
    let cases: Vec<(&str, Vec<f32>, f32)> = vec![
        ("[3, 4] clipped to norm 1", vec![3.0, 4.0], 1.0),
        ("a small gradient is left alone", vec![0.3, 0.4], 1.0),
        (
            "one large element among small ones",
            vec![0.1, -0.2, 10.0, 0.05, -0.1],
            2.0,
        ),
        ("one element", vec![-7.0], 0.5),
    ];
    for (name, grads, max_norm) in cases {
        let check = Check::new(
            name,
            format!(
                "grads = {}, max_norm = {}",
                format_values(&grads, &[grads.len()]),
                short(f64::from(max_norm))
            ),
        );
        let mut got = grads.clone();
        let norm = check.run(|| f(&mut got, max_norm));
        let mut reference = OneParam::new(&grads);
        reference.set_grad(&grads);
        let expected_norm = clip_grad_norm(&mut reference, max_norm);
        check.scalar(
            "the returned norm (before clipping)",
            f64::from(norm),
            f64::from(expected_norm),
            Tolerance::new(1e-6, 1e-6),
            "return ‖g‖ = √(Σ gᵢ²) measured before any scaling",
        )?;
        check.values(
            "grads",
            &got,
            reference.param.grad.data(),
            &[grads.len()],
            Tolerance::new(1e-6, 1e-5),
            hint,
        )?;
    }
    Ok(())
}
