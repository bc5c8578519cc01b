//! Symmetric int8 quantization: `x ≈ q · scale` with `q` an integer in `−127…127` (chapter 18).
//!
//! # The formula
//! For a scale `s > 0`: `q = round(clamp(x / s, −127, 127))` (ties to even) and back `x̂ = q · s`. Zero maps to
//! zero exactly (no zero point: "symmetric"), and −128 is left unused so that the range is the same
//! on both sides and `−q` always exists. Choosing `s = max|x| / 127` puts the largest value on 127
//! and nothing is clipped; then every value is off by at most half a step:
//!
//! ```text
//! |x − x̂| ≤ s / 2 = max|x| / 254        (for |x| ≤ 127·s; clipped values lose |x| − 127·s)
//! ```
//!
//! # Granularity for weights
//! One scale for a whole weight tensor (*per tensor*) lets a single large weight stretch the steps of
//! every output channel. One scale per output channel (*per channel*: per row of a `[out, in]`
//! matrix, per filter of a `[out, in, kh, kw]` kernel) gives each channel its own steps at the cost
//! of `out` floats; it is free at inference because each output channel's integer sum is rescaled
//! by its own factor anyway (see `int8_cnn`).
//!
//! What it leaves out: asymmetric (zero-point) quantization, 4-bit and lower, quantization-aware
//! training.

use super::edge_runtime::round_to_integer;
use crate::tensor::Tensor;

/// The largest quantized magnitude: values lie in `−QMAX…QMAX`.
pub const QMAX: f32 = 127.0;

/// The scale that maps `max_abs` to 127: `max_abs / 127`; 1 when `max_abs` is 0 or not finite (an
/// all-zero tensor then quantizes to zeros instead of dividing by zero).
pub fn symmetric_scale(max_abs: f32) -> f32 {
    if max_abs > 0.0 && max_abs.is_finite() {
        max_abs / QMAX
    } else {
        1.0
    }
}

/// `round(clamp(x / scale, −127, 127))`, rounding half to even (the rounding of
/// [`super::edge_runtime::round_to_integer`], used everywhere so that all paths agree).
pub fn quantize_value(x: f32, scale: f32) -> i8 {
    round_to_integer((x / scale).clamp(-QMAX, QMAX)) as i8
}

/// Every value of `values` quantized with one scale.
pub fn quantize(values: &[f32], scale: f32) -> Vec<i8> {
    values.iter().map(|&x| quantize_value(x, scale)).collect()
}

/// `q · scale` for every value.
pub fn dequantize(values: &[i8], scale: f32) -> Vec<f32> {
    values.iter().map(|&q| f32::from(q) * scale).collect()
}

/// The largest absolute value (0 for an empty slice).
pub fn max_abs(values: &[f32]) -> f32 {
    values.iter().fold(0.0f32, |m, &x| m.max(x.abs()))
}

/// How many scales a weight tensor gets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Granularity {
    /// One scale per output channel (row of `[out, …]`): the usual choice.
    PerChannel,
    /// One scale for the whole tensor: the naive variant.
    PerTensor,
}

/// A weight tensor `[out, …]` in int8 with one scale per output channel (under
/// [`Granularity::PerTensor`] every channel has the same scale): `w[o, …] ≈ values[o, …] · scales[o]`.
#[derive(Clone, Debug, PartialEq)]
pub struct QuantizedWeights {
    /// The int8 values, row-major in the tensor's shape.
    pub values: Vec<i8>,
    /// One scale per output channel.
    pub scales: Vec<f32>,
    /// The shape, `[out, …]` as in PyTorch.
    pub shape: Vec<usize>,
}

impl QuantizedWeights {
    /// Quantizes `weight` (`[out, …]`) with scales from the largest magnitude of each output channel
    /// (or of the whole tensor).
    pub fn quantize(weight: &Tensor, granularity: Granularity) -> QuantizedWeights {
        let out = weight.dim(0);
        let per_row = weight.len() / out.max(1);
        let tensor_scale = symmetric_scale(max_abs(weight.data()));
        let mut values = Vec::with_capacity(weight.len());
        let mut scales = Vec::with_capacity(out);
        for row in weight.data().chunks(per_row.max(1)).take(out) {
            let scale = match granularity {
                Granularity::PerChannel => symmetric_scale(max_abs(row)),
                Granularity::PerTensor => tensor_scale,
            };
            values.extend(row.iter().map(|&x| quantize_value(x, scale)));
            scales.push(scale);
        }
        QuantizedWeights {
            values,
            scales,
            shape: weight.shape().to_vec(),
        }
    }

    /// Output channels.
    pub fn out_channels(&self) -> usize {
        self.shape[0]
    }

    /// Values per output channel (`in`, or `in · kh · kw`).
    pub fn per_channel(&self) -> usize {
        self.values.len() / self.out_channels().max(1)
    }

    /// The f32 tensor these integers stand for: `values[o, …] · scales[o]`.
    pub fn dequantize(&self) -> Tensor {
        let per = self.per_channel().max(1);
        let data = self
            .values
            .chunks(per)
            .zip(&self.scales)
            .flat_map(|(row, &scale)| row.iter().map(move |&q| f32::from(q) * scale))
            .collect();
        Tensor::from_vec(&self.shape, data)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_error_is_at_most_half_a_step() {
        let values: Vec<f32> = (0..1000)
            .map(|i| ((i * 37 % 1000) as f32 - 500.0) / 77.0)
            .collect();
        let scale = symmetric_scale(max_abs(&values));
        let back = dequantize(&quantize(&values, scale), scale);
        for (x, y) in values.iter().zip(&back) {
            assert!(
                (x - y).abs() <= scale / 2.0 * 1.0001,
                "{x} → {y}, step {scale}"
            );
        }
    }

    #[test]
    fn per_channel_scales_follow_each_row() {
        // 0.005 / (0.02 / 127) = 31.75 and 4 / (10 / 127) = 50.8 (no ties at .5 to round).
        let w = Tensor::from_vec(&[2, 2], vec![0.005, -0.02, 10.0, 4.0]);
        let per_channel = QuantizedWeights::quantize(&w, Granularity::PerChannel);
        assert_eq!(per_channel.values, vec![32, -127, 127, 51]);
        let per_tensor = QuantizedWeights::quantize(&w, Granularity::PerTensor);
        // The small row is crushed to zero by the large one's scale.
        assert_eq!(&per_tensor.values[..2], &[0, 0]);
    }
}
