//! Chapter 11 exercises: optimizers, a learning-rate schedule and gradient clipping. Check them with
//! `cargo test --features exercises --test exercises -- ch11`.

// The stubs do not use their parameters until you write them.
#![allow(unused_variables)]

pub use crate::check::ch11::AdamSettings;

/// **Exercise 11.1 — one step of SGD with momentum**, in place.
///
/// - `params`: θ; `grads`: g = ∂L/∂θ (same length); `velocity`: v, the momentum buffer (same
///   length, all zeros before the first step, kept by the caller between steps);
///   `learning_rate`: γ; `momentum`: μ (e.g. 0.9).
/// - updates, element by element: first `v ← μ·v + g`, then `θ ← θ − γ·v` (with the new v).
///
/// This is PyTorch's `torch.optim.SGD(lr=γ, momentum=μ)`. v is a running sum of past gradients,
/// decaying by μ per step: directions that agree from step to step build up speed, zig-zags cancel.
/// With μ = 0 it is plain SGD, `θ ← θ − γ·g`.
///
/// Hint: the order matters — the parameter step uses the velocity *after* this step's update. (Some
/// texts fold γ into v; here v holds `μ·v + g` without γ, as PyTorch does, and the check reads it.)
///
/// Reference, once yours passes: `src/optim/sgd.rs` (`Sgd::step`).
pub fn sgd_momentum_step(
    params: &mut [f32],
    grads: &[f32],
    velocity: &mut [f32],
    learning_rate: f32,
    momentum: f32,
) {
    todo!("exercise 11.1: sgd_momentum_step — see the doc comment")
}

/// **Exercise 11.2 — one step of Adam**, in place.
///
/// - `params`: θ; `grads`: g; `m`, `v`: the first and second moment estimates (same length, zeros
///   before the first step, kept by the caller); `t`: the number of this step, **1** for the first;
///   `settings`: γ = `learning_rate`, β₁ = `beta1`, β₂ = `beta2`, ε = `eps` (PyTorch's defaults in
///   `AdamSettings::default()`).
/// - updates, element by element:
///   ```text
///   m ← β₁·m + (1 − β₁)·g
///   v ← β₂·v + (1 − β₂)·g²
///   m̂ = m / (1 − β₁ᵗ)          (bias correction)
///   v̂ = v / (1 − β₂ᵗ)
///   θ ← θ − γ·m̂ / (√v̂ + ε)
///   ```
///
/// Why the bias correction: m and v start at 0, so for the first steps they are too small by the
/// factors (1 − β₁ᵗ) and (1 − β₂ᵗ); dividing those out makes the first step about γ·sign(g) instead of
/// (1 − β₁)/√(1 − β₂) ≈ 3.16 times that.
///
/// Hint: `beta1.powi(t as i32)`.
///
/// Reference, once yours passes: `src/optim/adam.rs` (`Adam`).
pub fn adam_step(
    params: &mut [f32],
    grads: &[f32],
    m: &mut [f32],
    v: &mut [f32],
    t: usize,
    settings: AdamSettings,
) {
    todo!("exercise 11.2: adam_step — see the doc comment")
}

/// **Exercise 11.3 — the cosine learning-rate schedule** (cosine annealing).
///
/// - `base`: the starting learning rate γ₀; `eta_min`: the smallest rate η_min; `t`: the number of
///   epochs done; `t_max`: T, the epochs over which the rate goes down.
/// - returns `γ(t) = η_min + (γ₀ − η_min)·(1 + cos(π·t/T)) / 2`: γ₀ at t = 0, η_min at t = T, and
///   the halfway value at t = T/2.
///
/// Hint: convert to floating point before dividing: `t as f64 / t_max as f64` (integer division
/// `t / t_max` is 0 until t = T).
///
/// Reference, once yours passes: `src/optim/schedule.rs` (`CosineAnnealingLr`).
pub fn cosine_annealing_lr(base: f32, eta_min: f32, t: usize, t_max: usize) -> f32 {
    todo!("exercise 11.3: cosine_annealing_lr — see the doc comment")
}

/// **Exercise 11.4 — gradient clipping by the global norm**, in place.
///
/// - `grads`: all the gradients (one long vector); `max_norm`: the largest norm allowed (> 0).
/// - computes `‖g‖ = √(Σᵢ gᵢ²)`; if `‖g‖ > max_norm`, multiplies **every** gᵢ by
///   `max_norm / (‖g‖ + 10⁻⁶)` (PyTorch's formula); returns ‖g‖ measured **before** clipping.
///
/// Why: one exploding gradient (common in recurrent networks) would throw the weights far away;
/// scaling all gradients by the same factor keeps the step's direction and only caps its length.
///
/// Example: g = [3, 4], max_norm = 1 → returns 5, g becomes ≈ [0.6, 0.8].
///
/// Reference, once yours passes: `src/optim/clip.rs` (`clip_grad_norm`).
pub fn clip_grad_norm(grads: &mut [f32], max_norm: f32) -> f32 {
    todo!("exercise 11.4: clip_grad_norm — see the doc comment")
}
