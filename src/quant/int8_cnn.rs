//! Chapter 12's CNN in int8 (chapter 18): post-training quantization and the integer inference path.
//!
//! # From the float model to integers
//! Each of the five layers (`conv1`, `conv2`, `fc1`, `fc2`, `fc3`) gets
//! - int8 weights with one scale per output channel ([`QuantizedWeights`], or one per tensor for the
//!   naive variant): `w[o, …] ≈ q_w[o, …] · s_w[o]`;
//! - an input scale `s_in` from calibration ([`calibrate`]): `x ≈ q_x · s_in`;
//! - its bias in the units of the integer sum: `bias_q[o] = round(b[o] / (s_in · s_w[o]))`;
//! - a multiplier `M[o] = s_in · s_w[o] / s_out` to the next layer's input steps (`s_out` is the
//!   next layer's `s_in`; for `fc3`, `M[o] = s_in · s_w[o]` turns the sum back into f32 logits).
//!
//! Then `y[o] = b[o] + Σ w·x ≈ s_in · s_w[o] · (bias_q[o] + Σ q_w · q_x)`, and the next layer's input
//! is `q_out = clamp(round(M[o] · (bias_q[o] + Σ q_w · q_x)), 0, 127)` — ReLU is the lower bound 0.
//! The sums are exact int32 ([`crate::linalg::gemm::int8`]); the only roundings are the five
//! requantizations and the quantization of the weights.
//!
//! # The integer inference path
//! A convolution is one int8 GEMM per image: `sums [C_out, pixels] = weights [C_out, C_in·5·5] ·
//! cols [C_in·5·5, pixels]`. The im2col matrix `cols` is never written: with stride 1 and no
//! padding, its row `(c, i, j)` is the image's channel c shifted by `(i, j)`, so if every output
//! row is computed at the input's full width ("wide rows", as the f32 convolution does), each row
//! of `cols` is one contiguous slice of the quantized image, handed to the GEMM as an offset
//! ([`I8Matrix::Rows`]). The extra columns at the right of each output row are computed and
//! dropped. The sums are requantized into `[C_out, H, W]` and max-pooled. Images are split into
//! chunks of [`CHUNK_IMAGES`], one per task on the thread pool. The fully connected layers then run
//! on the whole batch at once, `[out, in] · [in, N]`, with the inputs' transpose read in place.
//!
//! Rounding, ReLU and pooling are the functions of [`super::edge_runtime`], so this path and the
//! generated edge source compute bit-identical logits (tested).
//!
//! What it leaves out: other architectures, fusing im2row into the kernel, int8 outputs of fc3.

use super::calibrate::{Calibration, choose_scale};
use super::edge_runtime::{self, EdgeConv, EdgeDense, EdgeModel, dequantize_logit, max_pool_2x2};
use super::quantize::{Granularity, QuantizedWeights, quantize_value};
use crate::data::cifar10;
use crate::linalg::gemm::int8::{I8Matrix, Int8Output, PackedInt8, gemm_i8};
use crate::nn::{CifarCnn, Mode};
use crate::parallel;
use crate::tensor::Tensor;
use std::cell::RefCell;
use std::time::Instant;

/// Seconds spent in each stage of [`QuantizedCnn::forward_profiled`], summed over calls.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct StageTimes {
    /// Normalised f32 pixels → int8 (`quantize_value`).
    pub quantize_input: f64,
    /// conv1: the int8 GEMM with its output stage (requantize + ReLU) on the wide rows.
    pub conv1: f64,
    /// 2×2 max-pooling of conv1's 6 planes.
    pub pool1: f64,
    /// conv2: the int8 GEMM with its output stage.
    pub conv2: f64,
    /// 2×2 max-pooling of conv2's 16 planes into the feature row.
    pub pool2: f64,
    /// fc1, fc2, fc3 on the whole batch (int8 GEMMs, requantization, the f32 logits).
    pub dense: f64,
}

/// The quantized layers, in order: their activation scales are the scales of their *inputs*.
pub const LAYER_NAMES: [&str; 5] = ["conv1", "conv2", "fc1", "fc2", "fc3"];

/// Images per task of the int8 forward pass.
pub const CHUNK_IMAGES: usize = 8;

/// The input scale `s_in` of each quantized layer, in [`LAYER_NAMES`] order.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ActivationScales(pub [f32; 5]);

/// Runs the float model on `batches` (normalised `[N, 3, 32, 32]` images), records the input of each
/// quantized layer, and chooses each input scale with `calibration`.
pub fn calibrate(
    model: &mut CifarCnn,
    batches: &[Tensor],
    calibration: Calibration,
) -> ActivationScales {
    let mut observed: [Vec<f32>; 5] = Default::default();
    for batch in batches {
        let mut x = batch.clone();
        for (name, layer) in model.layers_mut() {
            if let Some(index) = LAYER_NAMES.iter().position(|&n| n == name) {
                observed[index].extend_from_slice(x.data());
            }
            x = layer.forward(&x, Mode::Inference);
        }
    }
    ActivationScales(std::array::from_fn(|i| {
        choose_scale(&observed[i], calibration)
    }))
}

/// One quantized layer: int8 weights packed for the int8 GEMM, the integer bias, the multipliers.
#[derive(Clone, Debug)]
pub struct QuantizedLayer {
    /// The int8 weights and their per-channel scales, PyTorch's shape.
    pub weights: QuantizedWeights,
    /// The float bias (kept for the export).
    pub bias: Vec<f32>,
    /// `round(bias / (s_in · s_w[o]))`.
    pub bias_q: Vec<i32>,
    /// The input scale `s_in`.
    pub input_scale: f32,
    /// `s_in · s_w[o] / s_out` (or `s_in · s_w[o]` for the last layer).
    pub multiplier: Vec<f32>,
    packed: PackedInt8,
}

impl QuantizedLayer {
    /// Quantizes a layer with weight `[out, …]`, bias `[out]`, input scale `s_in` and the next
    /// layer's input scale (`None` for the last layer, whose output stays f32).
    pub fn new(
        weight: &Tensor,
        bias: &Tensor,
        granularity: Granularity,
        input_scale: f32,
        output_scale: Option<f32>,
    ) -> QuantizedLayer {
        let weights = QuantizedWeights::quantize(weight, granularity);
        let (out, per) = (weights.out_channels(), weights.per_channel());
        let product: Vec<f32> = weights.scales.iter().map(|&s| input_scale * s).collect();
        let bias_q = bias
            .data()
            .iter()
            .zip(&product)
            .map(|(&b, &p)| (b / p).round() as i32)
            .collect();
        let multiplier = product
            .iter()
            .map(|&p| output_scale.map_or(p, |s_out| p / s_out))
            .collect();
        let packed = PackedInt8::new(&weights.values, out, per);
        QuantizedLayer {
            weights,
            bias: bias.data().to_vec(),
            bias_q,
            input_scale,
            multiplier,
            packed,
        }
    }

    /// Output channels.
    pub fn out_channels(&self) -> usize {
        self.weights.out_channels()
    }

    /// Inputs per output (`in`, or `C_in·5·5`).
    pub fn in_features(&self) -> usize {
        self.weights.per_channel()
    }
}

/// Chapter 12's `SimpleCNN` in int8 (see the module docs).
#[derive(Clone, Debug)]
pub struct QuantizedCnn {
    /// The layers in [`LAYER_NAMES`] order.
    pub layers: [QuantizedLayer; 5],
}

/// Scratch buffers of one thread, kept between calls.
#[derive(Default)]
struct Workspace {
    image: Vec<i8>,
    offsets: Vec<usize>,
    plane: Vec<i8>,
    pooled: Vec<i8>,
}

thread_local! {
    static WORKSPACE: RefCell<Workspace> = RefCell::new(Workspace::default());
}

impl QuantizedCnn {
    /// Quantizes `model` with the given activation scales and weight granularity.
    pub fn new(
        model: &mut CifarCnn,
        scales: &ActivationScales,
        granularity: Granularity,
    ) -> QuantizedCnn {
        let s = scales.0;
        let conv_bias = |conv: &crate::nn::Conv2d| {
            conv.bias.as_ref().map_or_else(
                || Tensor::zeros(&[conv.out_channels()]),
                |b| b.value.clone(),
            )
        };
        let linear_bias = |linear: &crate::nn::Linear| {
            linear.bias().map_or_else(
                || Tensor::zeros(&[linear.out_features()]),
                |b| b.value.clone(),
            )
        };
        QuantizedCnn {
            layers: [
                QuantizedLayer::new(
                    &model.conv1.weight.value,
                    &conv_bias(&model.conv1),
                    granularity,
                    s[0],
                    Some(s[1]),
                ),
                QuantizedLayer::new(
                    &model.conv2.weight.value,
                    &conv_bias(&model.conv2),
                    granularity,
                    s[1],
                    Some(s[2]),
                ),
                QuantizedLayer::new(
                    &model.fc1.weight().value,
                    &linear_bias(&model.fc1),
                    granularity,
                    s[2],
                    Some(s[3]),
                ),
                QuantizedLayer::new(
                    &model.fc2.weight().value,
                    &linear_bias(&model.fc2),
                    granularity,
                    s[3],
                    Some(s[4]),
                ),
                QuantizedLayer::new(
                    &model.fc3.weight().value,
                    &linear_bias(&model.fc3),
                    granularity,
                    s[4],
                    None,
                ),
            ],
        }
    }

    /// Calibrates on `batches` and quantizes: the whole post-training recipe in one call.
    pub fn quantize(
        model: &mut CifarCnn,
        batches: &[Tensor],
        granularity: Granularity,
        calibration: Calibration,
    ) -> QuantizedCnn {
        let scales = calibrate(model, batches, calibration);
        QuantizedCnn::new(model, &scales, granularity)
    }

    /// The activation scales (each layer's input scale).
    pub fn activation_scales(&self) -> ActivationScales {
        ActivationScales(std::array::from_fn(|i| self.layers[i].input_scale))
    }

    /// Bytes of the int8 weights (1 per weight; the f32 model needs exactly 4 times as many).
    pub fn weight_bytes(&self) -> usize {
        self.layers.iter().map(|l| l.weights.values.len()).sum()
    }

    /// Bytes of what comes with the weights: per-channel scales, int32 biases, multipliers (f32).
    pub fn extra_bytes(&self) -> usize {
        self.layers.iter().map(|l| 4 * 3 * l.out_channels()).sum()
    }

    /// Logits `[N, 10]` of normalised images `[N, 3, 32, 32]`, computed in int8 (see the module docs).
    /// Panics if the shape is not `[N, 3, 32, 32]`.
    pub fn forward(&self, x: &Tensor) -> Tensor {
        assert!(
            x.ndim() == 4 && x.shape()[1..] == [3, 32, 32],
            "QuantizedCnn::forward: expected images [N, 3, 32, 32], got {:?}",
            x.shape()
        );
        let n = x.dim(0);
        let [conv1, conv2, fc1, _, _] = &self.layers;
        let features = fc1.in_features();
        let mut q = vec![0i8; n * features];
        if n == 0 {
            return Tensor::zeros(&[0, edge_runtime::CLASSES]);
        }
        // The convolutions, image by image: a chunk of images per task.
        parallel::for_each_chunk_mut(&mut q, CHUNK_IMAGES * features, |chunk, out| {
            let first = chunk * CHUNK_IMAGES;
            let count = out.len() / features;
            let images =
                &x.data()[first * cifar10::IMAGE_BYTES..(first + count) * cifar10::IMAGE_BYTES];
            WORKSPACE.with_borrow_mut(|w| {
                for (image, feature_row) in images
                    .chunks_exact(cifar10::IMAGE_BYTES)
                    .zip(out.chunks_exact_mut(features))
                {
                    w.image.clear();
                    w.image
                        .extend(image.iter().map(|&v| quantize_value(v, conv1.input_scale)));
                    w.pooled.resize(conv1.out_channels() * 14 * 14, 0);
                    let Workspace {
                        image,
                        offsets,
                        plane,
                        pooled,
                    } = w;
                    conv_relu_pool(conv1, image, 3, 32, offsets, plane, pooled);
                    conv_relu_pool(conv2, pooled, 6, 14, offsets, plane, feature_row);
                }
            });
        });
        self.dense_logits(&q, n)
    }

    /// The fully connected layers on the whole batch, from the features `q` (`[N, features]`,
    /// row-major) to the logits `[N, 10]`: each layer's outputs `[out, N]` are the next one's inputs.
    fn dense_logits(&self, q: &[i8], n: usize) -> Tensor {
        let [_, _, fc1, fc2, fc3] = &self.layers;
        let q = dense_relu(fc1, I8Matrix::transposed(q, fc1.in_features(), n), n);
        let q = dense_relu(fc2, I8Matrix::row_major(&q, fc2.in_features(), n), n);
        let out = fc3.out_channels();
        let mut sums = vec![0i32; out * n];
        gemm_i8(
            &fc3.packed,
            I8Matrix::row_major(&q, fc3.in_features(), n),
            Int8Output::Sums(&mut sums),
        );
        Tensor::from_fn(&[n, out], |index| {
            let (image, o) = (index / out, index % out);
            dequantize_logit(sums[o * n + image] + fc3.bias_q[o], fc3.multiplier[o])
        })
    }

    /// [`QuantizedCnn::forward`] on the calling thread alone, with each stage timed: where the int8
    /// pass spends its time (chapter 18's speed breakdown). Same stages, same functions, same
    /// logits; only the chunking over threads is left out.
    pub fn forward_profiled(&self, x: &Tensor, times: &mut StageTimes) -> Tensor {
        assert!(
            x.ndim() == 4 && x.shape()[1..] == [3, 32, 32],
            "QuantizedCnn::forward_profiled: expected images [N, 3, 32, 32], got {:?}",
            x.shape()
        );
        let n = x.dim(0);
        let [conv1, conv2, fc1, _, _] = &self.layers;
        let features = fc1.in_features();
        let mut q = vec![0i8; n * features];
        let (mut offsets1, mut offsets2) = (Vec::new(), Vec::new());
        window_offsets(3, 32, &mut offsets1);
        window_offsets(6, 14, &mut offsets2);
        let (mut image, mut plane) = (Vec::new(), Vec::new());
        let mut pooled = vec![0i8; conv1.out_channels() * 14 * 14];
        let mut clock = Instant::now();
        let mut lap = |slot: &mut f64| {
            let now = Instant::now();
            *slot += (now - clock).as_secs_f64();
            clock = now;
        };
        for (pixels, feature_row) in x
            .data()
            .chunks_exact(cifar10::IMAGE_BYTES)
            .zip(q.chunks_exact_mut(features))
        {
            image.clear();
            image.extend(pixels.iter().map(|&v| quantize_value(v, conv1.input_scale)));
            lap(&mut times.quantize_input);
            conv_requantize(conv1, &image, 32, &offsets1, &mut plane);
            lap(&mut times.conv1);
            pool_planes(conv1.out_channels(), 32, &plane, &mut pooled);
            lap(&mut times.pool1);
            conv_requantize(conv2, &pooled, 14, &offsets2, &mut plane);
            lap(&mut times.conv2);
            pool_planes(conv2.out_channels(), 14, &plane, feature_row);
            lap(&mut times.pool2);
        }
        let logits = self.dense_logits(&q, n);
        lap(&mut times.dense);
        logits
    }

    /// The weights as owned arrays for the allocation-free runtime (and the generated source).
    pub fn edge_weights(&self) -> EdgeWeights {
        let input_scale = self.layers[0].input_scale;
        let table: [i8; 256] =
            std::array::from_fn(|b| quantize_value(cifar10::normalize(b as u8), input_scale));
        EdgeWeights {
            input_table: table,
            layers: self.layers.clone(),
        }
    }
}

/// conv → requantize → ReLU → max-pool of one `[channels, side, side]` image through the int8 GEMM,
/// with the im2col rows read in place from the image (see the module docs); the requantization is
/// the GEMM's output stage.
fn conv_relu_pool(
    layer: &QuantizedLayer,
    image: &[i8],
    channels: usize,
    side: usize,
    offsets: &mut Vec<usize>,
    plane: &mut Vec<i8>,
    pooled: &mut [i8],
) {
    window_offsets(channels, side, offsets);
    conv_requantize(layer, image, side, offsets, plane);
    pool_planes(layer.out_channels(), side, plane, pooled);
}

/// The im2col offsets of a 5 × 5 window over a `[channels, side, side]` image: where each of its
/// `channels · 25` taps lies relative to the window's top-left corner, in the weights' order.
fn window_offsets(channels: usize, side: usize, offsets: &mut Vec<usize>) {
    let k = edge_runtime::KERNEL;
    offsets.clear();
    for c in 0..channels {
        for i in 0..k {
            for j in 0..k {
                offsets.push(c * side * side + i * side + j);
            }
        }
    }
}

/// The convolution of [`conv_relu_pool`] without the pooling: `plane` gets the requantized,
/// rectified outputs `[C_out, wide]` on wide rows of width `side`.
fn conv_requantize(
    layer: &QuantizedLayer,
    image: &[i8],
    side: usize,
    offsets: &[usize],
    plane: &mut Vec<i8>,
) {
    let out_side = side - edge_runtime::KERNEL + 1;
    // Wide rows: output pixel (r, s) is column r·side + s; the last row needs only out_side columns.
    let wide = (out_side - 1) * side + out_side;
    plane.clear();
    plane.resize(layer.out_channels() * wide, 0);
    let cols = I8Matrix::Rows {
        data: image,
        offsets,
        cols: wide,
    };
    gemm_i8(
        &layer.packed,
        cols,
        Int8Output::Requantized {
            out: plane,
            bias: &layer.bias_q,
            multiplier: &layer.multiplier,
            relu: true,
        },
    );
}

/// 2×2 max-pooling of `channels` wide-row planes (row stride `side`) into `pooled`.
fn pool_planes(channels: usize, side: usize, plane: &[i8], pooled: &mut [i8]) {
    let out_side = side - edge_runtime::KERNEL + 1;
    let wide = (out_side - 1) * side + out_side;
    let half = out_side / 2;
    for (o, pooled_channel) in pooled
        .chunks_exact_mut(half * half)
        .enumerate()
        .take(channels)
    {
        max_pool_2x2(&plane[o * wide..], side, out_side, pooled_channel);
    }
}

/// A fully connected layer + ReLU on int8 inputs `input` (`[in, n]`); returns `[out, n]`.
fn dense_relu(layer: &QuantizedLayer, input: I8Matrix<'_>, n: usize) -> Vec<i8> {
    let mut output = vec![0i8; layer.out_channels() * n];
    gemm_i8(
        &layer.packed,
        input,
        Int8Output::Requantized {
            out: &mut output,
            bias: &layer.bias_q,
            multiplier: &layer.multiplier,
            relu: true,
        },
    );
    output
}

/// The int8 model as plain arrays for [`super::edge_runtime`]: the input lookup table and the layers.
#[derive(Clone, Debug)]
pub struct EdgeWeights {
    /// The quantized value of every input byte (normalisation and input quantization in one lookup).
    pub input_table: [i8; 256],
    /// The five layers.
    pub layers: [QuantizedLayer; 5],
}

impl EdgeWeights {
    /// A view of these weights as the runtime's [`EdgeModel`].
    pub fn model(&self) -> EdgeModel<'_> {
        fn edge_conv(l: &QuantizedLayer) -> EdgeConv<'_> {
            EdgeConv {
                weight: &l.weights.values,
                bias: &l.bias_q,
                multiplier: &l.multiplier,
                in_channels: l.weights.shape[1],
                out_channels: l.out_channels(),
            }
        }
        fn edge_dense(l: &QuantizedLayer) -> EdgeDense<'_> {
            EdgeDense {
                weight: &l.weights.values,
                bias: &l.bias_q,
                multiplier: &l.multiplier,
                in_features: l.in_features(),
                out_features: l.out_channels(),
            }
        }
        let [conv1, conv2, fc1, fc2, fc3] = &self.layers;
        EdgeModel {
            input_table: &self.input_table,
            conv1: edge_conv(conv1),
            conv2: edge_conv(conv2),
            fc1: edge_dense(fc1),
            fc2: edge_dense(fc2),
            fc3: edge_dense(fc3),
        }
    }

    /// Bytes of everything the runtime reads besides the image: int8 weights, int32 biases, f32
    /// multipliers and the 256-byte input table.
    pub fn bytes(&self) -> usize {
        256 + self
            .layers
            .iter()
            .map(|l| l.weights.values.len() + 8 * l.out_channels())
            .sum::<usize>()
    }
}
