//! Integrated gradients (Sundararajan, Taly & Yan 2017; chapter 18).
//!
//! The attribution of input value i for class c, from a baseline x′ (here the all-grey image,
//! 0 after normalisation) to the input x, is
//!
//! ```text
//! IG_i = (x_i − x′_i) · ∫₀¹ ∂F_c/∂x_i (x′ + α·(x − x′)) dα
//!      ≈ (x_i − x′_i) · (1/m) Σ_{k=0}^{m−1} ∂F_c/∂x_i (x′ + ((k + ½)/m)·(x − x′))   (midpoint rule)
//! ```
//!
//! By the fundamental theorem of calculus along that straight path, the exact attributions add up
//! to `F_c(x) − F_c(x′)` (*completeness*). The midpoint rule makes an error that shrinks like 1/m²
//! for a smooth F — slower for a ReLU network, whose gradient jumps along the path — so the sum of
//! the approximate attributions tells how many steps are enough ([`completeness`]). For a linear
//! model the gradient is constant and IG is exactly `w ⊙ (x − x′)` for any m.
//!
//! The m interpolated images go through the network in batches of 64 (one forward and one backward
//! pass per batch).

use super::saliency::input_gradients;
use crate::nn::{Layer, Mode};
use crate::tensor::Tensor;

/// Images per batch of interpolated inputs.
const BATCH: usize = 64;

/// The integrated-gradient attributions (x's shape, `[1, …]`) of class `class` from `baseline` to
/// `x` with `steps` midpoint steps. Panics if the shapes differ or `steps` is 0.
pub fn integrated_gradients(
    model: &mut dyn Layer,
    x: &Tensor,
    baseline: &Tensor,
    class: usize,
    steps: usize,
) -> Tensor {
    assert!(
        x.shape() == baseline.shape() && x.dim(0) == 1,
        "integrated_gradients: x {:?} and baseline {:?} must both be one example [1, …]",
        x.shape(),
        baseline.shape()
    );
    assert!(steps > 0, "integrated_gradients: at least one step");
    let len = x.len();
    let mut sum = vec![0.0f64; len];
    let alphas: Vec<f32> = (0..steps)
        .map(|k| (k as f32 + 0.5) / steps as f32)
        .collect();
    for chunk in alphas.chunks(BATCH) {
        let mut shape = x.shape().to_vec();
        shape[0] = chunk.len();
        let batch = Tensor::from_fn(&shape, |i| {
            let (n, j) = (i / len, i % len);
            baseline.data()[j] + chunk[n] * (x.data()[j] - baseline.data()[j])
        });
        let gradients = input_gradients(model, &batch, &vec![class; chunk.len()]);
        for row in gradients.data().chunks_exact(len) {
            for (s, &g) in sum.iter_mut().zip(row) {
                *s += f64::from(g);
            }
        }
    }
    Tensor::from_fn(x.shape(), |j| {
        ((f64::from(x.data()[j]) - f64::from(baseline.data()[j])) * sum[j] / steps as f64) as f32
    })
}

/// The completeness check of a set of attributions.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Completeness {
    /// `Σ attributions`.
    pub sum: f64,
    /// `F_c(x) − F_c(x′)`.
    pub difference: f64,
    /// `|sum − difference| / |difference|`.
    pub relative_error: f64,
}

/// Compares `Σ attributions` with `F_c(x) − F_c(baseline)` (both outputs in `Mode::Inference`).
pub fn completeness(
    model: &mut dyn Layer,
    x: &Tensor,
    baseline: &Tensor,
    class: usize,
    attributions: &Tensor,
) -> Completeness {
    let score = |model: &mut dyn Layer, input: &Tensor| {
        f64::from(model.forward(input, Mode::Inference).row(0)[class])
    };
    let difference = score(model, x) - score(model, baseline);
    let sum: f64 = attributions.data().iter().map(|&a| f64::from(a)).sum();
    Completeness {
        sum,
        difference,
        relative_error: (sum - difference).abs() / difference.abs().max(1e-12),
    }
}
