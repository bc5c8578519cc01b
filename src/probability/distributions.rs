//! Probability distributions: samplers together with their exact mean, variance and density.
//!
//! A **random variable** maps the outcomes of an experiment to numbers (a coin flip: heads → 1,
//! tails → 0). Its **distribution** says how likely each value is: a probability mass function (pmf)
//! P(X = k) for discrete variables, a probability density function (pdf) p(x) for continuous ones
//! (P(a ≤ X ≤ b) = ∫ₐᵇ p(x) dx). The **expectation** E\[X\] = Σ k·P(X = k) (or ∫ x·p(x) dx) is its
//! mean, the **variance** Var\[X\] = E\[(X − E\[X\])²\] the mean squared distance from it.
//!
//! Each type here knows its exact E\[X\] and Var\[X\] (the [`Distribution`] trait) and draws samples
//! from an [`Rng`], so chapter 4 can compare the two: sample averages converge to the exact values.
//!
//! | distribution | values | E\[X\] | Var\[X\] | sampled by |
//! |---|---|---|---|---|
//! | [`Uniform`] (a, b) | [a, b) | (a + b)/2 | (b − a)²/12 | scaling a uniform [0, 1) draw |
//! | [`Normal`] (μ, σ) | ℝ | μ | σ² | the Box–Muller transform |
//! | [`Bernoulli`] (p) | {0, 1} | p | p(1 − p) | u < p |
//! | [`Categorical`] (p₀…p_{K−1}) | {0, …, K−1} | Σ k·pₖ | Σ k²·pₖ − E\[X\]² | inverse transform |
//!
//! Samples are `f64` here (statistics want the precision); the `f32` shortcuts that layers use live
//! on [`Rng`] itself (`Rng::normal`, `Rng::bernoulli`, …).
//!
//! Parameters are checked when a distribution is made: an impossible one (σ ≤ 0, p outside [0, 1],
//! a < b violated, negative weights) panics with a message naming it, as a bug in the calling code.
//!
//! What it leaves out: other families (Poisson, Gamma, Beta, …), multivariate distributions, and the
//! exact inverse CDF of the normal.

use super::Rng;
use super::erf::normal_cdf;
use std::f64::consts::PI;

/// A distribution over real numbers that can be sampled and knows its exact mean and variance.
pub trait Distribution {
    /// One sample.
    fn sample(&self, rng: &mut Rng) -> f64;

    /// The expectation E\[X\].
    fn mean(&self) -> f64;

    /// The variance Var\[X\] = E\[(X − E\[X\])²\].
    fn variance(&self) -> f64;

    /// The standard deviation √Var\[X\].
    fn std_dev(&self) -> f64 {
        self.variance().sqrt()
    }

    /// `n` samples.
    fn samples(&self, rng: &mut Rng, n: usize) -> Vec<f64> {
        (0..n).map(|_| self.sample(rng)).collect()
    }
}

/// The continuous uniform distribution on [low, high): every value equally likely.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Uniform {
    low: f64,
    high: f64,
}

impl Uniform {
    /// Uniform on [low, high). Panics unless both are finite and low < high.
    pub fn new(low: f64, high: f64) -> Uniform {
        assert!(
            low.is_finite() && high.is_finite() && low < high,
            "Uniform::new: needs finite low < high, got low = {low}, high = {high}"
        );
        Uniform { low, high }
    }

    /// The density: 1/(high − low) inside the interval, 0 outside.
    pub fn pdf(&self, x: f64) -> f64 {
        if x >= self.low && x < self.high {
            1.0 / (self.high - self.low)
        } else {
            0.0
        }
    }

    /// P(X ≤ x): rises linearly from 0 at `low` to 1 at `high`.
    pub fn cdf(&self, x: f64) -> f64 {
        ((x - self.low) / (self.high - self.low)).clamp(0.0, 1.0)
    }
}

impl Distribution for Uniform {
    fn sample(&self, rng: &mut Rng) -> f64 {
        self.low + (self.high - self.low) * rng.next_f64()
    }

    fn mean(&self) -> f64 {
        (self.low + self.high) / 2.0
    }

    fn variance(&self) -> f64 {
        (self.high - self.low).powi(2) / 12.0
    }
}

/// The normal (Gaussian) distribution N(μ, σ²), the bell curve.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Normal {
    mean: f64,
    std: f64,
}

impl Normal {
    /// N(mean, std²). Panics unless `mean` is finite and `std` is finite and > 0.
    pub fn new(mean: f64, std: f64) -> Normal {
        assert!(
            mean.is_finite() && std.is_finite() && std > 0.0,
            "Normal::new: needs a finite mean and a finite std > 0, got mean = {mean}, std = {std}"
        );
        Normal { mean, std }
    }

    /// The standard normal N(0, 1).
    pub fn standard() -> Normal {
        Normal::new(0.0, 1.0)
    }

    /// The density p(x) = exp(−(x − μ)²/(2σ²)) / (σ·√(2π)).
    pub fn pdf(&self, x: f64) -> f64 {
        let z = (x - self.mean) / self.std;
        (-0.5 * z * z).exp() / (self.std * (2.0 * PI).sqrt())
    }

    /// P(X ≤ x) = Φ((x − μ)/σ) = ½·(1 + erf((x − μ)/(σ√2))), with [`normal_cdf`]'s accuracy
    /// (about 10⁻¹⁵ absolute, and relative accuracy in the far left tail).
    pub fn cdf(&self, x: f64) -> f64 {
        normal_cdf((x - self.mean) / self.std)
    }
}

impl Distribution for Normal {
    /// Box–Muller: for U₁, U₂ uniform on (0, 1], √(−2 ln U₁)·cos(2π U₂) is a standard normal (the
    /// pair (√(−2 ln U₁), 2π U₂) are the polar coordinates of a 2-D standard normal point). Uses only
    /// the cosine half of the pair, as `Rng::normal` does, to keep the generator stateless.
    fn sample(&self, rng: &mut Rng) -> f64 {
        let u1 = 1.0 - rng.next_f64(); // (0, 1]: ln(u1) is finite
        let u2 = rng.next_f64();
        let z = (-2.0 * u1.ln()).sqrt() * (2.0 * PI * u2).cos();
        self.mean + self.std * z
    }

    fn mean(&self) -> f64 {
        self.mean
    }

    fn variance(&self) -> f64 {
        self.std * self.std
    }
}

/// The Bernoulli distribution: 1 with probability p, 0 with probability 1 − p (a coin flip that
/// shows heads with probability p; a dropout mask entry that keeps a unit with probability p).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Bernoulli {
    p: f64,
}

impl Bernoulli {
    /// Bernoulli(p). Panics unless 0 ≤ p ≤ 1.
    pub fn new(p: f64) -> Bernoulli {
        assert!(
            (0.0..=1.0).contains(&p),
            "Bernoulli::new: p must be a probability in [0, 1], got {p}"
        );
        Bernoulli { p }
    }

    /// The probability of success, p.
    pub fn p(&self) -> f64 {
        self.p
    }

    /// One trial: true with probability p.
    pub fn trial(&self, rng: &mut Rng) -> bool {
        rng.bernoulli(self.p)
    }

    /// The probability mass function: P(X = 1) = p, P(X = 0) = 1 − p, 0 for any other k.
    pub fn pmf(&self, k: u64) -> f64 {
        match k {
            0 => 1.0 - self.p,
            1 => self.p,
            _ => 0.0,
        }
    }
}

impl Distribution for Bernoulli {
    fn sample(&self, rng: &mut Rng) -> f64 {
        if self.trial(rng) { 1.0 } else { 0.0 }
    }

    fn mean(&self) -> f64 {
        self.p
    }

    /// p(1 − p): E\[X²\] = p because X² = X for X ∈ {0, 1}, minus E\[X\]² = p².
    fn variance(&self) -> f64 {
        self.p * (1.0 - self.p)
    }
}

/// The categorical distribution over K classes {0, …, K−1} with probabilities p₀ … p_{K−1}
/// (a loaded die; a classifier's softmax output; the next token of a language model).
#[derive(Clone, Debug, PartialEq)]
pub struct Categorical {
    probabilities: Vec<f64>,
    /// cumulative[k] = p₀ + … + pₖ, for inverse-transform sampling.
    cumulative: Vec<f64>,
}

impl Categorical {
    /// A categorical distribution with probabilities proportional to `weights` (they are divided by
    /// their sum). Panics if a weight is negative or not finite, or if none is positive.
    pub fn new(weights: &[f64]) -> Categorical {
        assert!(
            weights.iter().all(|w| w.is_finite() && *w >= 0.0) && weights.iter().any(|&w| w > 0.0),
            "Categorical::new: weights must be finite, ≥ 0 and not all zero, got {weights:?}"
        );
        let total: f64 = weights.iter().sum();
        let probabilities: Vec<f64> = weights.iter().map(|w| w / total).collect();
        let mut running = 0.0;
        let cumulative = probabilities
            .iter()
            .map(|p| {
                running += p;
                running
            })
            .collect();
        Categorical {
            probabilities,
            cumulative,
        }
    }

    /// The probabilities p₀ … p_{K−1} (they sum to 1).
    pub fn probabilities(&self) -> &[f64] {
        &self.probabilities
    }

    /// P(X = k) (0 for k ≥ K).
    pub fn pmf(&self, k: usize) -> f64 {
        self.probabilities.get(k).copied().unwrap_or(0.0)
    }

    /// One class index, by **inverse-transform sampling**: draw u uniform on [0, 1) and return the
    /// first k with p₀ + … + pₖ > u (a binary search over the cumulative sums). Class k owns an
    /// interval of length pₖ of [0, 1), so it is hit with probability pₖ.
    pub fn sample_index(&self, rng: &mut Rng) -> usize {
        let u = rng.next_f64();
        let k = self.cumulative.partition_point(|&c| c <= u);
        // Rounding can leave the last cumulative sum a hair below 1 and u above it: give such a draw
        // to the last class with a non-zero probability.
        if k < self.probabilities.len() {
            k
        } else {
            self.probabilities
                .iter()
                .rposition(|&p| p > 0.0)
                .unwrap_or(0)
        }
    }
}

impl Distribution for Categorical {
    /// The class index, as a number.
    fn sample(&self, rng: &mut Rng) -> f64 {
        self.sample_index(rng) as f64
    }

    fn mean(&self) -> f64 {
        self.probabilities
            .iter()
            .enumerate()
            .map(|(k, p)| k as f64 * p)
            .sum()
    }

    fn variance(&self) -> f64 {
        let mean = self.mean();
        self.probabilities
            .iter()
            .enumerate()
            .map(|(k, p)| (k as f64 - mean).powi(2) * p)
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn categorical_never_returns_a_zero_probability_class() {
        let die = Categorical::new(&[0.0, 1.0, 0.0, 2.0, 0.0]);
        let mut rng = Rng::new(5);
        for _ in 0..1000 {
            let k = die.sample_index(&mut rng);
            assert!(k == 1 || k == 3, "drew class {k}");
        }
    }
}
