//! Reference solutions of chapter 17's exercises (see `mod.rs`).

pub fn discounted_returns(rewards: &[f32], gamma: f32) -> Vec<f32> {
    dlfs::rl::returns::discounted_returns(rewards, gamma)
}

pub fn reinforce_logit_gradient(logits: &[f32], action: usize, advantage: f32) -> Vec<f32> {
    dlfs::rl::reinforce::logit_gradient(logits, action, advantage)
}

pub fn puct_score(q: f32, prior: f32, parent_visits: u32, move_visits: u32, c_puct: f32) -> f32 {
    dlfs::rl::mcts::puct_score(q, prior, parent_visits, move_visits, c_puct)
}

pub fn reptile_outer_step(
    theta: &mut [f32],
    gradient: &dyn Fn(&[f32]) -> Vec<f32>,
    inner_lr: f32,
    inner_steps: usize,
    outer_lr: f32,
) {
    // `reptile::train`'s inner loop (SGD on the task), then its outer step `interpolate`.
    let mut phi = theta.to_vec();
    for _ in 0..inner_steps {
        let g = gradient(&phi);
        for (p, g) in phi.iter_mut().zip(g) {
            *p -= inner_lr * g;
        }
    }
    dlfs::meta::reptile::interpolate(theta, &phi, outer_lr);
}
