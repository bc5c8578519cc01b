//! The "pretrained" baseline of meta-learning: one network trained by ordinary regression on
//! examples of all tasks pooled together (chapter 17.1; the baseline of the MAML paper).
//!
//! Each step draws `tasks_per_step` tasks and `points_per_task` examples of each and takes an Adam
//! step on the mean squared error over all of them. Since the tasks disagree, the best such a
//! network can learn is the conditional mean E[y | x] (derived in [`crate::data::sine_tasks`]), and
//! a few SGD steps on a new task's examples barely move it: pretraining on the pool is not the same
//! as learning to adapt.

use super::MetaRun;
use crate::data::sine_tasks::SineTask;
use crate::loss::{Reduction, mse};
use crate::nn::{Layer, Mode, mlp};
use crate::optim::{Adam, Optimizer};
use crate::probability::Rng;
use crate::tensor::Tensor;
use crate::{Error, Result};
use std::fmt;
use std::time::Instant;

/// Every hyper-parameter of the joint-training baseline.
#[derive(Clone, Debug, PartialEq)]
pub struct JointConfig {
    /// Seed of the initial weights and the training tasks.
    pub seed: u64,
    /// Adam steps.
    pub iterations: usize,
    /// Tasks drawn per step.
    pub tasks_per_step: usize,
    /// Examples of each task per step.
    pub points_per_task: usize,
    /// Adam learning rate.
    pub learning_rate: f32,
    /// Widths of the hidden layers.
    pub hidden: Vec<usize>,
}

impl Default for JointConfig {
    fn default() -> JointConfig {
        JointConfig {
            seed: 0,
            iterations: 5000,
            tasks_per_step: 10,
            points_per_task: 10,
            learning_rate: 1e-3,
            hidden: vec![40, 40],
        }
    }
}

impl fmt::Display for JointConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "joint training (pretrained baseline):")?;
        let rows = [
            (
                "seed",
                self.seed.to_string(),
                "initial weights and training tasks",
            ),
            ("iterations", self.iterations.to_string(), "Adam steps"),
            (
                "tasks_per_step",
                self.tasks_per_step.to_string(),
                "tasks per batch",
            ),
            (
                "points_per_task",
                self.points_per_task.to_string(),
                "examples per task",
            ),
            (
                "learning_rate",
                self.learning_rate.to_string(),
                "Adam learning rate",
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

/// Trains a `[1, hidden…, 1]` ReLU network on pooled sine tasks. The curve records the training
/// loss (mean over each block of 250 steps).
pub fn train(config: &JointConfig) -> Result<MetaRun> {
    let started = Instant::now();
    let mut rng = Rng::new(config.seed);
    let mut widths = vec![1];
    widths.extend(&config.hidden);
    widths.push(1);
    let mut model = mlp(&widths, &mut rng);
    let mut optimizer = Adam::new(config.learning_rate);
    let points = config.tasks_per_step * config.points_per_task;
    let (mut curve, mut block_loss) = (Vec::new(), 0.0f64);
    for iteration in 0..config.iterations {
        let (mut xs, mut ys) = (Vec::with_capacity(points), Vec::with_capacity(points));
        for _ in 0..config.tasks_per_step {
            let task = SineTask::sample(&mut rng);
            let (x, y) = task.sample_points(config.points_per_task, &mut rng);
            xs.extend_from_slice(x.data());
            ys.extend_from_slice(y.data());
        }
        let (x, y) = (
            Tensor::from_vec(&[points, 1], xs),
            Tensor::from_vec(&[points, 1], ys),
        );
        optimizer.zero_grad(&mut model);
        let prediction = model.forward(&x, Mode::Train);
        let loss = mse(&prediction, &y, Reduction::Mean);
        if !loss.value.is_finite() {
            return Err(Error::Training {
                step: iteration + 1,
                message: format!(
                    "the joint-training loss became {}; try a smaller learning rate (now {})",
                    loss.value, config.learning_rate
                ),
            });
        }
        model.backward(&loss.grad);
        optimizer.step(&mut model);
        block_loss += f64::from(loss.value);
        if (iteration + 1) % 250 == 0 {
            curve.push((iteration + 1, (block_loss / 250.0) as f32));
            block_loss = 0.0;
        }
    }
    Ok(MetaRun {
        model,
        curve,
        seconds: started.elapsed().as_secs_f64(),
    })
}
