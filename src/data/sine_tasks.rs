//! The few-shot sine-wave tasks of meta-learning (chapter 17.1; Finn et al. 2017, MAML §5.1).
//!
//! A *task* is one sine wave `y = A·sin(x + φ)` with amplitude A ~ U[0.1, 5] and phase φ ~ U[0, π];
//! its examples have x ~ U[−5, 5]. A learner sees K = 10 examples of a new task (the *support*
//! set), adapts, and is scored on 100 more points of the same wave (the *query* set). Every task is
//! different, so a single fixed function cannot do well: what can be learned across tasks is how to
//! *adapt* quickly.
//!
//! # The best any single function can do (derived)
//! With no examples of the task, the best prediction at x minimises the expected squared error over
//! tasks, so it is the conditional mean E[y | x], and its error is E\[y²\] − E_x[E[y | x]²].
//!
//! - **E[y² | x]**: A and φ are independent, so E[A²·sin²(x + φ)] = E\[A²\]·E[sin²(x + φ)]. Over any
//!   interval of length π, sin² averages exactly ½, so E[sin²(x + φ)] = ½ for every x, and
//!   E\[A²\] = (5³ − 0.1³)/(3·(5 − 0.1)) = 8.5033 (the second moment of U[a, b] is
//!   (b³ − a³)/(3(b − a))). Predicting **0** therefore costs **E\[A²\]/2 = 4.2517**.
//! - **E[y | x]** = E\[A\]·E[sin(x + φ)] = 2.55 · (1/π)∫₀^π sin(x + φ) dφ = 2.55 · (2/π)·cos x: the
//!   phases cover only half a period, so they do not average to 0. Its square averaged over
//!   x ~ U[−5, 5] is 2.55²·(4/π²)·E\[cos²x\], with E\[cos²x\] = ½ + sin(10)/20 = 0.4728, which is 1.2460.
//!   The best **input-only** predictor therefore costs **4.2517 − 1.2460 = 3.0057**.
//!
//! [`zero_predictor_mse`], [`best_input_only_prediction`] and [`best_input_only_mse`] compute these
//! numbers from the formulas; the tests check them against Monte-Carlo averages.

use crate::probability::Rng;
use crate::tensor::Tensor;

/// The smallest amplitude A.
pub const AMPLITUDE_LOW: f32 = 0.1;
/// The largest amplitude A.
pub const AMPLITUDE_HIGH: f32 = 5.0;
/// The largest phase φ (the smallest is 0).
pub const PHASE_HIGH: f32 = std::f32::consts::PI;
/// Inputs are drawn from U[−X_RANGE, X_RANGE].
pub const X_RANGE: f32 = 5.0;

/// One sine wave `y = A·sin(x + φ)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SineTask {
    /// A, in [0.1, 5].
    pub amplitude: f32,
    /// φ, in [0, π].
    pub phase: f32,
}

/// One task with its support set (what a learner adapts on) and its query set (what it is scored
/// on); inputs and targets are `[points, 1]`.
#[derive(Clone, Debug)]
pub struct FewShotTask {
    /// The wave.
    pub task: SineTask,
    /// Support inputs `[K, 1]`.
    pub support_x: Tensor,
    /// Support targets `[K, 1]`.
    pub support_y: Tensor,
    /// Query inputs `[Q, 1]`.
    pub query_x: Tensor,
    /// Query targets `[Q, 1]`.
    pub query_y: Tensor,
}

impl SineTask {
    /// A task with A ~ U[0.1, 5] and φ ~ U[0, π] (draws A, then φ).
    pub fn sample(rng: &mut Rng) -> SineTask {
        let amplitude = rng.uniform(AMPLITUDE_LOW, AMPLITUDE_HIGH);
        let phase = rng.uniform(0.0, PHASE_HIGH);
        SineTask { amplitude, phase }
    }

    /// `A·sin(x + φ)`.
    pub fn value(&self, x: f32) -> f32 {
        self.amplitude * (x + self.phase).sin()
    }

    /// `points` examples with x ~ U[−5, 5]: inputs `[points, 1]` and targets `[points, 1]`.
    pub fn sample_points(&self, points: usize, rng: &mut Rng) -> (Tensor, Tensor) {
        let x: Vec<f32> = (0..points)
            .map(|_| rng.uniform(-X_RANGE, X_RANGE))
            .collect();
        let y: Vec<f32> = x.iter().map(|&x| self.value(x)).collect();
        (
            Tensor::from_vec(&[points, 1], x),
            Tensor::from_vec(&[points, 1], y),
        )
    }

    /// A task with `support` support points and `query` query points, drawn in that order.
    pub fn few_shot(&self, support: usize, query: usize, rng: &mut Rng) -> FewShotTask {
        let (support_x, support_y) = self.sample_points(support, rng);
        let (query_x, query_y) = self.sample_points(query, rng);
        FewShotTask {
            task: *self,
            support_x,
            support_y,
            query_x,
            query_y,
        }
    }
}

/// `count` tasks, each with `support` and `query` points, all from `seed` (the held-out evaluation
/// set: the same seed gives the same tasks on every run).
pub fn task_set(count: usize, support: usize, query: usize, seed: u64) -> Vec<FewShotTask> {
    let mut rng = Rng::new(seed);
    (0..count)
        .map(|_| SineTask::sample(&mut rng).few_shot(support, query, &mut rng))
        .collect()
}

/// E\[A²\] for A ~ U[0.1, 5]: (b³ − a³)/(3(b − a)).
pub fn amplitude_second_moment() -> f64 {
    let (a, b) = (f64::from(AMPLITUDE_LOW), f64::from(AMPLITUDE_HIGH));
    (b.powi(3) - a.powi(3)) / (3.0 * (b - a))
}

/// The mean squared error of always predicting 0: E\[y²\] = E\[A²\]/2 ≈ 4.2517 (module docs).
pub fn zero_predictor_mse() -> f64 {
    amplitude_second_moment() / 2.0
}

/// The best prediction at x without seeing the task: E[y | x] = E\[A\]·(2/π)·cos x (φ ~ U[0, π]).
pub fn best_input_only_prediction(x: f64) -> f64 {
    let mean_amplitude = f64::from(AMPLITUDE_LOW + AMPLITUDE_HIGH) / 2.0;
    mean_amplitude * 2.0 / std::f64::consts::PI * x.cos()
}

/// The mean squared error of [`best_input_only_prediction`] over tasks and x ~ U[−5, 5]:
/// E\[A²\]/2 − E\[A\]²·(4/π²)·(½ + sin(10)/20) ≈ 3.0057 (module docs).
pub fn best_input_only_mse() -> f64 {
    let mean_amplitude = f64::from(AMPLITUDE_LOW + AMPLITUDE_HIGH) / 2.0;
    let r = f64::from(X_RANGE);
    // E[cos²x] for x ~ U[−r, r] = (1/2r)∫ cos²x dx = ½ + sin(2r)/(4r).
    let mean_cos_squared = 0.5 + (2.0 * r).sin() / (4.0 * r);
    let pi = std::f64::consts::PI;
    zero_predictor_mse() - mean_amplitude.powi(2) * 4.0 / (pi * pi) * mean_cos_squared
}
