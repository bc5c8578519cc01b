//! Reference solutions of chapter 11's exercises (see `mod.rs`).

use dlfs::check::ch11::AdamSettings;

pub fn sgd_momentum_step(
    params: &mut [f32],
    grads: &[f32],
    velocity: &mut [f32],
    learning_rate: f32,
    momentum: f32,
) {
    // `Sgd::step`'s rule with dampening 0 (its buffer starts as g, which is μ·0 + g).
    for ((theta, &g), v) in params.iter_mut().zip(grads).zip(velocity.iter_mut()) {
        *v = momentum * *v + g;
        *theta -= learning_rate * *v;
    }
}

pub fn adam_step(
    params: &mut [f32],
    grads: &[f32],
    m: &mut [f32],
    v: &mut [f32],
    t: usize,
    settings: AdamSettings,
) {
    // `Adam::step`'s rule, written with m̂ and v̂ as in the paper.
    let AdamSettings {
        learning_rate,
        beta1,
        beta2,
        eps,
    } = settings;
    let bias_correction1 = 1.0 - beta1.powi(t as i32);
    let bias_correction2 = 1.0 - beta2.powi(t as i32);
    for (((theta, &g), m), v) in params
        .iter_mut()
        .zip(grads)
        .zip(m.iter_mut())
        .zip(v.iter_mut())
    {
        *m = beta1 * *m + (1.0 - beta1) * g;
        *v = beta2 * *v + (1.0 - beta2) * g * g;
        let m_hat = *m / bias_correction1;
        let v_hat = *v / bias_correction2;
        *theta -= learning_rate * m_hat / (v_hat.sqrt() + eps);
    }
}

pub fn cosine_annealing_lr(base: f32, eta_min: f32, t: usize, t_max: usize) -> f32 {
    use dlfs::optim::{CosineAnnealingLr, LrSchedule};
    CosineAnnealingLr { t_max, eta_min }.learning_rate(base, t)
}

pub fn clip_grad_norm(grads: &mut [f32], max_norm: f32) -> f32 {
    // `optim::clip_grad_norm`'s rule on one vector of gradients.
    let norm = grads
        .iter()
        .map(|&g| f64::from(g) * f64::from(g))
        .sum::<f64>()
        .sqrt();
    let coefficient = f64::from(max_norm) / (norm + 1e-6);
    if coefficient < 1.0 {
        for g in grads.iter_mut() {
            *g *= coefficient as f32;
        }
    }
    norm as f32
}
