//! Chapter 17.1, meta-learning: learning an *initialisation* from which a network fits a new task
//! from a handful of examples in a few gradient steps.
//!
//! Ordinary training finds weights θ that are good on one task. Meta-learning trains on a family of
//! tasks and asks for weights θ that become good on *any* task of the family after a short
//! adaptation — here k steps of plain SGD with learning rate α on the task's K support examples
//! ([`adapt`]):
//!
//! ```text
//! φ = θ − α·∇L_support(θ) − α·∇L_support(θ′) − …      (k steps)        score: L_query(φ)
//! ```
//!
//! Two ways to train θ for that, both first-order (no gradient through the inner steps):
//!
//! | file | method | the outer update |
//! |---|---|---|
//! | `reptile.rs` | Reptile (Nichol, Achiam & Schulman 2018) | θ ← θ + ε·(φ − θ): move towards the adapted weights |
//! | `fomaml.rs` | first-order MAML (Finn, Abbeel & Levine 2017) | θ ← Adam step along ∇L_query(φ), the query gradient at the adapted weights |
//! | `joint.rs` | the "pretrained" baseline | ordinary training on examples of all tasks pooled together |
//!
//! The inner loop is the crate's [`Sgd`]; the networks are [`crate::nn::mlp`]s; θ is saved and
//! restored around each adaptation with [`parameter_values`] / [`set_parameter_values`].
//!
//! What it leaves out: second-order MAML (differentiating through the inner loop), learned inner
//! learning rates (Meta-SGD), classification benchmarks (Omniglot, mini-ImageNet).

pub mod fomaml;
pub mod joint;
pub mod reptile;

use crate::data::sine_tasks::FewShotTask;
use crate::loss::{Reduction, mse};
use crate::nn::{Layer, Mode};
use crate::optim::{Optimizer, Sgd};
use crate::tensor::Tensor;
use crate::{Error, Result};

/// The value of every parameter of `model`, in `visit_params` order (θ, to restore later).
pub fn parameter_values(model: &mut dyn Layer) -> Vec<Tensor> {
    let mut values = Vec::new();
    model.visit_params(&mut |_, p| values.push(p.value.clone()));
    values
}

/// Sets every parameter of `model` from `values` (as returned by [`parameter_values`]). Panics if
/// the count or a shape differs.
pub fn set_parameter_values(model: &mut dyn Layer, values: &[Tensor]) {
    let mut index = 0;
    model.visit_params(&mut |name, p| {
        let value = values.get(index).unwrap_or_else(|| {
            panic!(
                "set_parameter_values: only {} values for more parameters ({name})",
                values.len()
            )
        });
        assert_eq!(
            value.shape(),
            p.value.shape(),
            "set_parameter_values: {name} has shape {:?}, the value {:?}",
            p.value.shape(),
            value.shape()
        );
        p.value.data_mut().copy_from_slice(value.data());
        index += 1;
    });
    assert_eq!(
        index,
        values.len(),
        "set_parameter_values: {} values for {index} parameters",
        values.len()
    );
}

/// The mean squared error of `model` on inputs `x` `[N, 1]` against targets `y` `[N, 1]`.
pub fn mse_on(model: &mut dyn Layer, x: &Tensor, y: &Tensor) -> f32 {
    let prediction = model.forward(x, Mode::Inference);
    mse(&prediction, y, Reduction::Mean).value
}

/// The inner loop: `steps` steps of plain SGD (learning rate α = `inner_lr`) on the mean squared
/// error over all of `x`, `y` (full batch). Changes `model`'s parameters in place.
pub fn adapt(model: &mut dyn Layer, x: &Tensor, y: &Tensor, inner_lr: f32, steps: usize) {
    let mut sgd = Sgd::new(inner_lr);
    for _ in 0..steps {
        sgd.zero_grad(model);
        let prediction = model.forward(x, Mode::Train);
        let loss = mse(&prediction, y, Reduction::Mean);
        model.backward(&loss.grad);
        sgd.step(model);
    }
}

/// Adapts `model` to every task on its support set and records the query MSE after each number of
/// steps in `checkpoints` (ascending, e.g. `[0, 1, 5, 10]`). Returns `[checkpoint][task]`. The
/// model's parameters are restored afterwards.
pub fn evaluate_adaptation(
    model: &mut dyn Layer,
    tasks: &[FewShotTask],
    inner_lr: f32,
    checkpoints: &[usize],
) -> Vec<Vec<f32>> {
    assert!(
        checkpoints.windows(2).all(|w| w[0] < w[1]),
        "evaluate_adaptation: checkpoints must ascend, got {checkpoints:?}"
    );
    let theta = parameter_values(model);
    let mut results = vec![Vec::with_capacity(tasks.len()); checkpoints.len()];
    for task in tasks {
        set_parameter_values(model, &theta);
        let mut done = 0;
        for (c, &steps) in checkpoints.iter().enumerate() {
            adapt(
                model,
                &task.support_x,
                &task.support_y,
                inner_lr,
                steps - done,
            );
            done = steps;
            results[c].push(mse_on(model, &task.query_x, &task.query_y));
        }
    }
    set_parameter_values(model, &theta);
    results
}

/// The mean of `values` and the half-width of its 95 % confidence interval, 1.96·s/√n (normal
/// approximation, s the sample standard deviation).
pub fn mean_with_ci95(values: &[f32]) -> (f64, f64) {
    let n = values.len() as f64;
    let mean = values.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
    if values.len() < 2 {
        return (mean, f64::NAN);
    }
    let variance = values
        .iter()
        .map(|&v| (f64::from(v) - mean).powi(2))
        .sum::<f64>()
        / (n - 1.0);
    (mean, 1.96 * (variance / n).sqrt())
}

/// [`Error::Training`] when a parameter of `model` is no longer finite (the inner or outer steps
/// diverged), naming the outer step and the inner learning rate.
pub fn check_finite(model: &mut dyn Layer, iteration: usize, inner_lr: f32) -> Result<()> {
    let mut finite = true;
    model.visit_params(&mut |_, p| finite &= p.value.all_finite());
    if finite {
        Ok(())
    } else {
        Err(Error::Training {
            step: iteration,
            message: format!(
                "the network's weights stopped being finite by outer step {iteration}: the inner \
                 SGD steps diverge on some tasks; try a smaller inner learning rate (now {inner_lr})"
            ),
        })
    }
}

/// A meta-training run: the learned initialisation and how it improved.
pub struct MetaRun {
    /// The trained network (the meta-learned initialisation, or the jointly trained baseline).
    pub model: crate::nn::Sequential,
    /// (outer iteration, mean query MSE after the inner steps on the validation tasks).
    pub curve: Vec<(usize, f32)>,
    /// Wall time, seconds.
    pub seconds: f64,
}
