//! Discounted returns: what a policy-gradient learner credits each action with (chapter 17.2).
//!
//! The return from step t of an episode with rewards r₀ … r_{T−1} is
//! `Gₜ = rₜ + γ·rₜ₊₁ + γ²·rₜ₊₂ + … = rₜ + γ·Gₜ₊₁`, with G_T = 0 after the last step. Computed
//! backwards with the recursion it is one pass. The discount γ < 1 makes a reward k steps away
//! count γᵏ: with γ = 0.99 the horizon is about 1/(1 − γ) = 100 steps.

/// `Gₜ = rₜ + γ·Gₜ₊₁` for every step of one episode (same length as `rewards`), accumulated in f64.
pub fn discounted_returns(rewards: &[f32], gamma: f32) -> Vec<f32> {
    let mut returns = vec![0.0f32; rewards.len()];
    let mut running = 0.0f64;
    for (g, &r) in returns.iter_mut().zip(rewards).rev() {
        running = f64::from(r) + f64::from(gamma) * running;
        *g = running as f32;
    }
    returns
}
