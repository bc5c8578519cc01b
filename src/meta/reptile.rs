//! Reptile (Nichol, Achiam & Schulman 2018): meta-learning by repeatedly moving the initialisation
//! towards weights adapted to one task (chapter 17.1).
//!
//! One outer step: sample a task, start from θ, take k SGD steps on the task (the inner loop,
//! [`super::adapt`]) to reach φ, then move θ part of the way towards φ:
//!
//! ```text
//! θ ← θ + ε·(φ − θ)
//! ```
//!
//! With k = 1 this is ordinary SGD on the pooled tasks (φ − θ = −α∇L(θ)); with k > 1 the
//! difference φ − θ also contains products of gradients at successive points, which (in
//! expectation) reward directions where one task's gradient steps keep helping: the same
//! second-order signal MAML gets by differentiating through the inner loop, for the price of plain
//! gradient steps. The outer step size ε decays linearly to 0, as in the paper's sine experiment.
//!
//! Every setting is in [`ReptileConfig`]; [`train`] is the loop.

use super::{
    MetaRun, adapt, check_finite, evaluate_adaptation, parameter_values, set_parameter_values,
};
use crate::Result;
use crate::data::sine_tasks::{FewShotTask, SineTask};
use crate::nn::{Layer, mlp};
use crate::probability::Rng;
use crate::tensor::Tensor;
use std::fmt;
use std::time::Instant;

/// Every hyper-parameter of Reptile, each with its meaning (printed at the start of a run).
#[derive(Clone, Debug, PartialEq)]
pub struct ReptileConfig {
    /// Seed of the initial weights and of the training tasks.
    pub seed: u64,
    /// Outer steps.
    pub iterations: usize,
    /// Tasks per outer step (their φ − θ are averaged).
    pub meta_batch: usize,
    /// Examples of each training task (the inner loop's full batch).
    pub support_points: usize,
    /// α, the inner SGD learning rate.
    pub inner_lr: f32,
    /// k, inner SGD steps per task.
    pub inner_steps: usize,
    /// ε at the first outer step (decays linearly to 0).
    pub outer_lr: f32,
    /// Widths of the hidden layers.
    pub hidden: Vec<usize>,
    /// Record the validation curve every this many outer steps.
    pub eval_every: usize,
}

impl Default for ReptileConfig {
    fn default() -> ReptileConfig {
        ReptileConfig {
            seed: 0,
            iterations: 100_000,
            meta_batch: 1,
            support_points: 10,
            inner_lr: 0.01,
            inner_steps: 10,
            outer_lr: 0.1,
            hidden: vec![40, 40],
            eval_every: 1000,
        }
    }
}

impl fmt::Display for ReptileConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "Reptile:")?;
        let rows = [
            (
                "seed",
                self.seed.to_string(),
                "initial weights and training tasks",
            ),
            ("iterations", self.iterations.to_string(), "outer steps"),
            (
                "meta_batch",
                self.meta_batch.to_string(),
                "tasks per outer step",
            ),
            (
                "support_points",
                self.support_points.to_string(),
                "examples per task (K)",
            ),
            (
                "inner_lr",
                self.inner_lr.to_string(),
                "α, inner SGD learning rate",
            ),
            (
                "inner_steps",
                self.inner_steps.to_string(),
                "k, inner SGD steps",
            ),
            (
                "outer_lr",
                self.outer_lr.to_string(),
                "ε at the start, linear to 0",
            ),
            (
                "hidden",
                format!("{:?}", self.hidden),
                "hidden widths (ReLU)",
            ),
        ];
        for (name, value, doc) in rows {
            writeln!(f, "  {name:<16} = {value:<10} # {doc}")?;
        }
        Ok(())
    }
}

/// The outer step, on flat parameter vectors: `θ ← θ + ε·(φ − θ)`.
pub fn interpolate(theta: &mut [f32], phi: &[f32], outer_lr: f32) {
    assert_eq!(
        theta.len(),
        phi.len(),
        "reptile::interpolate: θ has {} values, φ {}",
        theta.len(),
        phi.len()
    );
    for (t, &p) in theta.iter_mut().zip(phi) {
        *t += outer_lr * (p - *t);
    }
}

/// Meta-trains a `[1, hidden…, 1]` ReLU network with Reptile on sine tasks. The curve records the
/// mean query MSE after `config.inner_steps` steps on `validation` every `eval_every` steps.
pub fn train(config: &ReptileConfig, validation: &[FewShotTask]) -> Result<MetaRun> {
    let started = Instant::now();
    let mut rng = Rng::new(config.seed);
    let mut widths = vec![1];
    widths.extend(&config.hidden);
    widths.push(1);
    let mut model = mlp(&widths, &mut rng);
    let mut curve = Vec::new();
    for iteration in 0..config.iterations {
        if iteration % config.eval_every.max(1) == 0 {
            curve.push((iteration, validation_mse(&mut model, validation, config)));
            check_finite(&mut model, iteration, config.inner_lr)?;
        }
        let mut theta = parameter_values(&mut model);
        // The mean of φ over the meta-batch (φ − θ averaged is mean(φ) − θ).
        let mut phi_mean: Vec<Tensor> = theta.iter().map(Tensor::zeros_like).collect();
        for _ in 0..config.meta_batch {
            set_parameter_values(&mut model, &theta);
            let task = SineTask::sample(&mut rng);
            let (x, y) = task.sample_points(config.support_points, &mut rng);
            adapt(&mut model, &x, &y, config.inner_lr, config.inner_steps);
            for (mean, phi) in phi_mean.iter_mut().zip(parameter_values(&mut model)) {
                mean.add_scaled(1.0 / config.meta_batch as f32, &phi);
            }
        }
        let outer_lr = config.outer_lr * (1.0 - iteration as f32 / config.iterations as f32);
        for (t, phi) in theta.iter_mut().zip(&phi_mean) {
            interpolate(t.data_mut(), phi.data(), outer_lr);
        }
        set_parameter_values(&mut model, &theta);
    }
    curve.push((
        config.iterations,
        validation_mse(&mut model, validation, config),
    ));
    check_finite(&mut model, config.iterations, config.inner_lr)?;
    Ok(MetaRun {
        model,
        curve,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// Mean query MSE over `validation` after the configured inner steps.
fn validation_mse(
    model: &mut dyn Layer,
    validation: &[FewShotTask],
    config: &ReptileConfig,
) -> f32 {
    if validation.is_empty() {
        return f32::NAN;
    }
    let results = evaluate_adaptation(model, validation, config.inner_lr, &[config.inner_steps]);
    results[0].iter().sum::<f32>() / validation.len() as f32
}
