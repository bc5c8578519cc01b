//! A generated regression task with a known answer: `y = Σᵢ wᵢ·sin(xᵢ) + noise` (chapter 7's
//! feed-forward network is trained on it; its tests use it too).
//!
//! Each example has F inputs drawn from N(0, 1); the target is a weighted sum of their sines, with
//! fixed weights wᵢ ~ N(0, 1) drawn once per task, plus Gaussian noise of standard deviation `noise`.
//! The sines make it non-linear — a linear model can only follow sin(x) ≈ x near 0 — while staying
//! smooth enough for a small network. The noise sets the floor: no model can reach a mean squared
//! error below `noise²` on new data.
//!
//! What it leaves out: train/test splitting (generate once and split the rows: every row is an
//! independent draw of the same task) and scaling (inputs are already N(0, 1); targets have
//! variance about Σwᵢ²·0.43, where 0.43 = E\[sin²(x)\] for x ~ N(0, 1)).

use crate::probability::Rng;
use crate::tensor::Tensor;

/// A regression data set and the weights that generated it.
#[derive(Clone, Debug)]
pub struct RegressionSet {
    /// The inputs, `[N, F]`, each value from N(0, 1).
    pub inputs: Tensor,
    /// The targets, `[N, 1]`: `Σᵢ wᵢ·sin(xᵢ) + noise·ε` with ε ~ N(0, 1).
    pub targets: Tensor,
    /// The F weights wᵢ of the task.
    pub weights: Vec<f32>,
}

/// N examples of the sine-regression task with F = `features` inputs and noise of standard
/// deviation `noise` (see the module docs). Draws, in this order: the weights, the inputs (row by
/// row), the noise of each example.
///
/// ```
/// use dlfs::data::regression::sine_regression;
/// use dlfs::probability::Rng;
/// let set = sine_regression(100, 10, 0.1, &mut Rng::new(1));
/// assert_eq!((set.inputs.shape(), set.targets.shape()), (&[100, 10][..], &[100, 1][..]));
/// ```
pub fn sine_regression(n: usize, features: usize, noise: f32, rng: &mut Rng) -> RegressionSet {
    let weights: Vec<f32> = (0..features).map(|_| rng.normal(0.0, 1.0)).collect();
    let inputs = Tensor::randn(&[n, features], 0.0, 1.0, rng);
    let targets = Tensor::from_fn(&[n, 1], |i| {
        let signal: f32 = inputs
            .row(i)
            .iter()
            .zip(&weights)
            .map(|(&x, &w)| x.sin() * w)
            .sum();
        signal + noise * rng.normal(0.0, 1.0)
    });
    RegressionSet {
        inputs,
        targets,
        weights,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_noise_the_targets_are_the_formula() {
        let set = sine_regression(7, 3, 0.0, &mut Rng::new(4));
        for i in 0..7 {
            let x = set.inputs.row(i);
            let expected: f32 = (0..3).map(|j| set.weights[j] * x[j].sin()).sum();
            assert_eq!(set.targets.row(i)[0], expected);
        }
    }
}
