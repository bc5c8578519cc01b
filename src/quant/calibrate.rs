//! Activation calibration (chapter 18): choosing each layer's input scale from a few training batches.
//!
//! Weights are known before inference; activations are not, so their scales are fixed in advance
//! from the values the float model produces on a few batches of training images ("post-training"
//! calibration). Two rules:
//!
//! - [`Calibration::MaxAbs`], the naive one: the largest magnitude seen. Nothing is clipped, but a
//!   single outlier stretches the steps for every other value.
//! - [`Calibration::Mse`]: the clipping threshold `t` (scale `t / 127`) that minimises the mean
//!   squared quantization error over every value seen, clipping included. Activations after a ReLU
//!   are mostly small with a long tail, so clipping the rare largest values buys finer steps for
//!   all the others. The search tries 128 thresholds between `max/128` and `max`.
//!
//! What it leaves out: percentile and entropy (KL) calibration, per-channel activation scales.

use super::quantize::{QMAX, max_abs, quantize_value, symmetric_scale};

/// How an activation scale is chosen from the observed values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Calibration {
    /// The largest magnitude seen (no clipping): the naive min/max rule.
    MaxAbs,
    /// The clipping threshold with the smallest mean squared error.
    Mse,
}

impl Calibration {
    /// A short name for tables.
    pub fn name(self) -> &'static str {
        match self {
            Calibration::MaxAbs => "max |x|",
            Calibration::Mse => "min MSE",
        }
    }
}

/// The mean squared error of quantizing `values` with threshold `t` (scale `t / 127`, values beyond
/// `±t` clipped), computed in f64.
pub fn quantization_mse(values: &[f32], threshold: f32) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    let scale = threshold / QMAX;
    let sum: f64 = values
        .iter()
        .map(|&x| {
            let q = f32::from(quantize_value(x, scale));
            let error = f64::from(x) - f64::from(q) * f64::from(scale);
            error * error
        })
        .sum();
    sum / values.len() as f64
}

/// The scale that `calibration` chooses for the observed `values`.
pub fn choose_scale(values: &[f32], calibration: Calibration) -> f32 {
    let max = max_abs(values);
    match calibration {
        Calibration::MaxAbs => symmetric_scale(max),
        Calibration::Mse => {
            if !(max > 0.0 && max.is_finite()) {
                return symmetric_scale(max);
            }
            // At most 64 Ki values are scored (an even subsample), so the search stays fast.
            let stride = values.len().div_ceil(1 << 16).max(1);
            let sample: Vec<f32> = values.iter().step_by(stride).copied().collect();
            let mut best = (f64::INFINITY, max);
            for i in 1..=128 {
                let threshold = max * i as f32 / 128.0;
                let error = quantization_mse(&sample, threshold);
                if error < best.0 {
                    best = (error, threshold);
                }
            }
            symmetric_scale(best.1)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mse_clips_a_long_tail_but_keeps_a_lone_outlier() {
        // A Laplace sample (its exact quantiles): a long tail of a few large values. Clipping the
        // tail a little makes the steps finer for the many small values, and wins overall (for
        // int8 the best threshold is only ~10 % below the maximum: 255 levels leave little to gain).
        let n = 65_536;
        let laplace: Vec<f32> = (0..n)
            .map(|i| {
                let u = (i as f64 + 0.5) / n as f64 - 0.5;
                (u.signum() * -(1.0 - 2.0 * u.abs()).ln()) as f32
            })
            .collect();
        let max = max_abs(&laplace);
        let mse = choose_scale(&laplace, Calibration::Mse);
        assert!(mse * QMAX < 0.95 * max, "scale {mse}, max {max}");
        assert!(
            quantization_mse(&laplace, mse * QMAX) < 0.9 * quantization_mse(&laplace, max),
            "clipping should lower the error"
        );
        // One outlier of 1000 among values in [0, 1): clipping it would cost (1000 − t)², far more
        // than rounding every small value to 0 costs, so the MSE search keeps the naive scale.
        let mut values: Vec<f32> = (0..10_000).map(|i| (i % 100) as f32 / 100.0).collect();
        values.push(1000.0);
        assert_eq!(choose_scale(&values, Calibration::MaxAbs), 1000.0 / 127.0);
        assert_eq!(choose_scale(&values, Calibration::Mse), 1000.0 / 127.0);
    }
}
