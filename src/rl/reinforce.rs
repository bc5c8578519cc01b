//! REINFORCE with a learned baseline (Williams 1992): the simplest policy-gradient learner
//! (chapter 17.2).
//!
//! The policy is a network from an observation to one score (logit) per action; the action is
//! *sampled* from the softmax of the scores, `π(a|s) = softmax(z(s))ₐ`. After each batch of
//! episodes, every step t is credited with what followed it, the discounted return Gₜ
//! ([`super::returns`]), and the policy moves its parameters θ along
//!
//! ```text
//! ∇θ J ≈ mean over steps of  Aₜ · ∇θ log π(aₜ|sₜ),     Aₜ = Gₜ − b(sₜ)
//! ```
//!
//! — make an action more likely in proportion to how much better than expected it turned out. The
//! baseline b(s) is a second network, trained by regression (MSE) to predict Gₜ from sₜ: subtracting
//! it leaves the expected gradient unchanged (E[b(s)·∇ log π(a|s)] = b(s)·∇ Σₐ π(a|s) = 0) and
//! removes most of its variance. Advantages are normalised per batch (mean 0, standard deviation 1),
//! which keeps the step size independent of the scale of the returns (they grow from ~20 to ~100).
//!
//! For the softmax the gradient has a closed form at the scores (see [`logit_gradient`]): the loss
//! `L = −Aₜ·log π(aₜ|sₜ)` has `∂L/∂z = Aₜ·(π − onehot(aₜ))`, which `backward` carries into the
//! network.
//!
//! Every setting is in [`ReinforceConfig`] at the top; [`train`] is the loop, top to bottom.

use super::returns::discounted_returns;
use super::{Environment, EpisodeLog, TrainingRun};
use crate::loss::{Reduction, mse, softmax_row};
use crate::nn::{Layer, Mode, mlp};
use crate::optim::{Adam, Optimizer};
use crate::probability::Rng;
use crate::tensor::Tensor;
use crate::{Error, Result};
use std::fmt;
use std::time::Instant;

/// Every hyper-parameter of the REINFORCE learner, each with its meaning (printed at the start of a
/// run, CleanRL-style).
#[derive(Clone, Debug, PartialEq)]
pub struct ReinforceConfig {
    /// Seed of the initial weights, the start states and the sampled actions.
    pub seed: u64,
    /// Give up ("not solved") after this many episodes.
    pub max_episodes: usize,
    /// Discount γ of the returns.
    pub gamma: f32,
    /// Widths of the hidden layers of the policy and of the baseline network.
    pub hidden: Vec<usize>,
    /// Adam learning rate of the policy.
    pub policy_learning_rate: f32,
    /// Adam learning rate of the baseline (value) network.
    pub value_learning_rate: f32,
    /// Episodes collected before each update of both networks.
    pub episodes_per_update: usize,
    /// Stop when the mean return of the last `solved_window` episodes reaches this.
    pub solved_return: f32,
    /// The number of episodes the solved criterion averages over.
    pub solved_window: usize,
}

impl Default for ReinforceConfig {
    fn default() -> ReinforceConfig {
        ReinforceConfig {
            seed: 0,
            max_episodes: 2000,
            gamma: 0.99,
            hidden: vec![64, 64],
            policy_learning_rate: 1e-3,
            value_learning_rate: 1e-3,
            episodes_per_update: 1,
            solved_return: super::cartpole::SOLVED_RETURN,
            solved_window: 100,
        }
    }
}

impl fmt::Display for ReinforceConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "REINFORCE with a learned baseline:")?;
        let rows = [
            (
                "seed",
                self.seed.to_string(),
                "initial weights, start states, actions",
            ),
            (
                "max_episodes",
                self.max_episodes.to_string(),
                "episode budget",
            ),
            ("gamma", self.gamma.to_string(), "discount of the returns"),
            (
                "hidden",
                format!("{:?}", self.hidden),
                "hidden widths of both networks",
            ),
            (
                "policy_learning_rate",
                self.policy_learning_rate.to_string(),
                "Adam, policy",
            ),
            (
                "value_learning_rate",
                self.value_learning_rate.to_string(),
                "Adam, baseline",
            ),
            (
                "episodes_per_update",
                self.episodes_per_update.to_string(),
                "episodes per update",
            ),
            (
                "solved_return",
                self.solved_return.to_string(),
                "mean return that counts as solved",
            ),
            (
                "solved_window",
                self.solved_window.to_string(),
                "episodes in that mean",
            ),
        ];
        for (name, value, doc) in rows {
            writeln!(f, "  {name:<22} = {value:<10} # {doc}")?;
        }
        Ok(())
    }
}

/// The gradient of the REINFORCE loss `L = −A·log π(a)` with respect to the policy's scores
/// (logits) z, for one step: `π = softmax(z)`, so `∂L/∂zₖ = A·(πₖ − [k = a])`. `logits` holds K
/// scores; returns K values.
///
/// Why: `log π(a) = z_a − log Σⱼ e^{zⱼ}`, whose derivative by zₖ is `[k = a] − πₖ`; the minus sign
/// of the loss flips it. A positive advantage pushes the taken action's score up and every other
/// score down, each in proportion to its probability.
pub fn logit_gradient(logits: &[f32], action: usize, advantage: f32) -> Vec<f32> {
    assert!(
        action < logits.len(),
        "logit_gradient: action {action} out of range for {} scores",
        logits.len()
    );
    let mut probabilities = logits.to_vec();
    softmax_row(&mut probabilities);
    probabilities
        .iter()
        .enumerate()
        .map(|(k, &p)| advantage * (p - if k == action { 1.0 } else { 0.0 }))
        .collect()
}

/// Samples an action from `softmax(logits)`; `probabilities` is scratch space of the same length.
fn sample_action(logits: &[f32], probabilities: &mut [f32], rng: &mut Rng) -> usize {
    probabilities.copy_from_slice(logits);
    softmax_row(probabilities);
    let u = rng.next_f32();
    let mut cumulative = 0.0;
    for (a, &p) in probabilities.iter().enumerate() {
        cumulative += p;
        if u < cumulative {
            return a;
        }
    }
    probabilities.len() - 1
}

/// Trains a policy on `env` with REINFORCE and a learned baseline, until solved or out of episodes.
/// `on_episode` sees the log after every episode (e.g. to print progress). Fails with
/// [`Error::Training`] if the baseline's loss stops being finite.
pub fn train(
    config: &ReinforceConfig,
    env: &mut dyn Environment,
    on_episode: &mut dyn FnMut(&EpisodeLog),
) -> Result<TrainingRun> {
    assert!(
        config.episodes_per_update > 0,
        "reinforce::train: episodes_per_update must be at least 1"
    );
    let started = Instant::now();
    let mut rng = Rng::new(config.seed);
    let (features, actions) = (env.observation_size(), env.actions());
    let mut policy = mlp(&policy_widths(config, features, actions), &mut rng);
    let mut baseline = mlp(&policy_widths(config, features, 1), &mut rng);
    let mut policy_optimizer = Adam::new(config.policy_learning_rate);
    let mut value_optimizer = Adam::new(config.value_learning_rate);
    let mut log = EpisodeLog::new();

    // The batch of the current update: every step's observation, action and return.
    let (mut observations, mut taken, mut returns) = (Vec::new(), Vec::new(), Vec::new());
    let mut rewards = Vec::new();
    let mut observation = vec![0.0f32; features];
    let mut probabilities = vec![0.0f32; actions];
    let mut solved_at = None;
    while log.len() < config.max_episodes {
        // 1. Play one episode with the current (stochastic) policy.
        env.reset(&mut rng);
        rewards.clear();
        loop {
            env.observe(&mut observation);
            let scores = policy.forward(
                &Tensor::from_vec(&[1, features], observation.clone()),
                Mode::Inference,
            );
            let action = sample_action(scores.data(), &mut probabilities, &mut rng);
            let outcome = env.step(action);
            observations.extend_from_slice(&observation);
            taken.push(action);
            rewards.push(outcome.reward);
            if outcome.done() {
                break;
            }
        }
        returns.extend(discounted_returns(&rewards, config.gamma));
        log.push(rewards.iter().sum(), rewards.len());
        on_episode(&log);
        if log.is_solved(config.solved_window, config.solved_return) {
            solved_at = Some(log.len());
            break;
        }
        if !log.len().is_multiple_of(config.episodes_per_update) {
            continue;
        }

        // 2. Update the baseline and the policy on the batch.
        let steps = taken.len();
        let states = Tensor::from_vec(&[steps, features], std::mem::take(&mut observations));
        let targets = Tensor::from_vec(&[steps, 1], std::mem::take(&mut returns));
        let values = baseline.forward(&states, Mode::Train);
        let mut advantages: Vec<f32> = targets
            .data()
            .iter()
            .zip(values.data())
            .map(|(&g, &v)| g - v)
            .collect();
        normalize(&mut advantages);
        value_optimizer.zero_grad(&mut baseline);
        let value_loss = mse(&values, &targets, Reduction::Mean);
        if !value_loss.value.is_finite() {
            return Err(Error::Training {
                step: value_optimizer.steps_taken() + 1,
                message: format!(
                    "the baseline's loss became {} after episode {}; try smaller learning rates",
                    value_loss.value,
                    log.len()
                ),
            });
        }
        baseline.backward(&value_loss.grad);
        value_optimizer.step(&mut baseline);

        let scores = policy.forward(&states, Mode::Train);
        let mut grad = Vec::with_capacity(steps * actions);
        for (t, (&action, &advantage)) in taken.iter().zip(&advantages).enumerate() {
            // The loss is the mean over the batch's steps, so each step's gradient is divided by it.
            grad.extend(logit_gradient(
                scores.row(t),
                action,
                advantage / steps as f32,
            ));
        }
        policy_optimizer.zero_grad(&mut policy);
        policy.backward(&Tensor::from_vec(&[steps, actions], grad));
        policy_optimizer.step(&mut policy);
        taken.clear();
    }
    Ok(TrainingRun {
        seconds: started.elapsed().as_secs_f64(),
        solved_at,
        log,
        policy,
    })
}

/// Shifts and scales `values` to mean 0 and standard deviation 1 (left alone when they are all
/// equal).
fn normalize(values: &mut [f32]) {
    let n = values.len() as f64;
    let mean = values.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
    let variance = values
        .iter()
        .map(|&v| (f64::from(v) - mean).powi(2))
        .sum::<f64>()
        / n;
    let sd = variance.sqrt();
    for v in values.iter_mut() {
        *v = ((f64::from(*v) - mean) / (sd + 1e-8)) as f32;
    }
}

/// The widths of the policy network for `config` on an environment with `features` inputs and
/// `outputs` actions (e.g. `[4, 64, 64, 2]`); the baseline has the same with one output.
pub fn policy_widths(config: &ReinforceConfig, features: usize, outputs: usize) -> Vec<usize> {
    let mut w = vec![features];
    w.extend(&config.hidden);
    w.push(outputs);
    w
}
