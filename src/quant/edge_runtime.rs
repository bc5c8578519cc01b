//! The int8 network of chapter 12 as a self-contained, allocation-free inference unit (chapter 18,
//! "edge computing").
//!
//! This file is used twice. In dlfs it is the module `quant::edge_runtime`: the int8 model of
//! `quant::int8_cnn` uses its rounding and pooling functions, and the chapter times
//! [`EdgeModel::classify`]. And `quant::edge` copies this file's text, unchanged, into a generated
//! Rust source file that adds the trained weights as `const` arrays: a program for a small device
//! needs only that one file. So it uses nothing but the core language — no crate paths, no heap,
//! no threads, no `unsafe` — and every buffer it writes is the caller's [`EdgeBuffer`] (about 8 KB,
//! on the stack or in a `static`).
//!
//! # The computation (one 3 × 32 × 32 image)
//! ```text
//! bytes → input_table → q₀ [3, 32, 32]                    (normalise and quantize in one lookup)
//! conv1 5×5, 3 → 6, requantize, ReLU, max-pool 2×2       → q₁ [6, 14, 14]
//! conv2 5×5, 6 → 16, requantize, ReLU, max-pool 2×2      → q₂ [16, 5, 5] = 400 values
//! fc1 400 → 120, fc2 120 → 84 (requantize, ReLU)         → q₃ [120], q₄ [84]
//! fc3 84 → 10, dequantized to f32 logits                  → the class with the largest logit
//! ```
//! Every layer computes an exact int32 sum `acc = bias_q + Σ q_in · q_w` and rescales it once:
//! `q_out = round(clamp(acc · multiplier, 0, 127))` with `multiplier = s_in · s_w[o] / s_out`
//! ([`requantize`]; the lower bound 0 is the ReLU). Max-pooling commutes with this monotonic
//! rescaling, so it runs on the int8 values.
//!
//! The convolution is direct, not im2col (the im2col matrix of the first layer would be 57 KB):
//! for each output channel it adds `weight × shifted input row` into one int32 plane of 28 × 28,
//! a loop over contiguous values that the compiler vectorises.
//!
//! What it leaves out: other architectures (the sizes are chapter 12's), batching, threads.

/// Bytes of one input image: 3 planes (red, green, blue) of 32 × 32.
pub const IMAGE_BYTES: usize = 3 * 32 * 32;
/// Classes (logits) of the output.
pub const CLASSES: usize = 10;
/// Side of the square convolution kernels.
pub const KERNEL: usize = 5;

/// One 5 × 5 convolution (stride 1, no padding) followed by ReLU and 2 × 2 max-pooling, in int8.
#[derive(Clone, Copy, Debug)]
pub struct EdgeConv<'a> {
    /// Weights `[out, in, 5, 5]`, int8.
    pub weight: &'a [i8],
    /// Biases `[out]`, in units of `s_in · s_w[o]` (so they add straight to the int32 sum).
    pub bias: &'a [i32],
    /// `s_in · s_w[o] / s_out` per output channel.
    pub multiplier: &'a [f32],
    /// Input channels.
    pub in_channels: usize,
    /// Output channels.
    pub out_channels: usize,
}

/// One fully connected layer `[out, in]` in int8.
#[derive(Clone, Copy, Debug)]
pub struct EdgeDense<'a> {
    /// Weights `[out, in]`, int8.
    pub weight: &'a [i8],
    /// Biases `[out]`, in units of `s_in · s_w[o]`.
    pub bias: &'a [i32],
    /// `s_in · s_w[o] / s_out` per output (for the last layer `s_in · s_w[o]`: logits in f32).
    pub multiplier: &'a [f32],
    /// Inputs.
    pub in_features: usize,
    /// Outputs.
    pub out_features: usize,
}

/// The whole int8 network: chapter 12's `SimpleCNN` with quantized weights and activations.
#[derive(Clone, Copy, Debug)]
pub struct EdgeModel<'a> {
    /// The quantized input for every byte value: `clamp(round(((b/255 − 0.5)/0.5) / s₀))`.
    pub input_table: &'a [i8; 256],
    /// `conv1`: 3 → 6 channels.
    pub conv1: EdgeConv<'a>,
    /// `conv2`: 6 → 16 channels.
    pub conv2: EdgeConv<'a>,
    /// `fc1`: 400 → 120.
    pub fc1: EdgeDense<'a>,
    /// `fc2`: 120 → 84.
    pub fc2: EdgeDense<'a>,
    /// `fc3`: 84 → 10 (logits).
    pub fc3: EdgeDense<'a>,
}

/// Every value the network computes for one image, owned by the caller (no heap):
/// `core::mem::size_of::<EdgeBuffer>()` bytes.
#[derive(Clone, Debug)]
pub struct EdgeBuffer {
    /// The quantized image, `[3, 32, 32]`.
    pub input: [i8; IMAGE_BYTES],
    /// The int32 sums of one output channel of a convolution (28 × 28 for conv1, 10 × 10 for conv2).
    pub plane: [i32; 28 * 28],
    /// conv1's pooled output, `[6, 14, 14]`.
    pub conv1: [i8; 6 * 14 * 14],
    /// conv2's pooled output, `[16, 5, 5]` (the 400 features, in PyTorch's flatten order).
    pub conv2: [i8; 16 * 5 * 5],
    /// fc1's output.
    pub fc1: [i8; 120],
    /// fc2's output.
    pub fc2: [i8; 84],
    /// The logits.
    pub logits: [f32; CLASSES],
}

impl EdgeBuffer {
    /// A zeroed buffer (usable in a `static`).
    pub const fn new() -> EdgeBuffer {
        EdgeBuffer {
            input: [0; IMAGE_BYTES],
            plane: [0; 28 * 28],
            conv1: [0; 6 * 14 * 14],
            conv2: [0; 16 * 5 * 5],
            fc1: [0; 120],
            fc2: [0; 84],
            logits: [0.0; CLASSES],
        }
    }
}

impl Default for EdgeBuffer {
    fn default() -> EdgeBuffer {
        EdgeBuffer::new()
    }
}

/// `x` rounded to the nearest integer, ties to even, for `|x| ≤ 2²²`: adding `1.5 · 2²³` leaves no
/// room for fraction bits in the f32 significand, so the hardware's round-to-nearest-even does the
/// rounding, and subtracting it again gives the integer back exactly. Two additions, no library
/// call, and the compiler vectorises loops over it (`f32::round` is a call to `roundf`).
pub fn round_to_integer(x: f32) -> f32 {
    const MAGIC: f32 = 12_582_912.0;
    (x + MAGIC) - MAGIC
}

/// `round(clamp(acc · multiplier, low, 127))` with `low = 0` after a ReLU, −127 otherwise: an int32
/// sum (bias included) rescaled to the next layer's int8 steps.
pub fn requantize(acc: i32, multiplier: f32, relu: bool) -> i8 {
    let low = if relu { 0.0 } else { -127.0 };
    round_to_integer((acc as f32 * multiplier).clamp(low, 127.0)) as i8
}

/// The f32 logit of an int32 sum: `acc · s_in · s_w[o]` (the multiplier of the last layer).
pub fn dequantize_logit(acc: i32, multiplier: f32) -> f32 {
    acc as f32 * multiplier
}

/// 2 × 2 max-pooling, stride 2, of one `side × side` plane whose rows start `row_stride` values
/// apart (`side ≤ 64`), into `(side / 2)²` values: the larger of each pair of rows first (a loop
/// over whole rows), then of each pair of columns.
pub fn max_pool_2x2(plane: &[i8], row_stride: usize, side: usize, output: &mut [i8]) {
    let half = side / 2;
    let mut rows = [0i8; 64];
    let rows = &mut rows[..side];
    for r in 0..half {
        let top = &plane[2 * r * row_stride..][..side];
        let bottom = &plane[(2 * r + 1) * row_stride..][..side];
        for ((m, &a), &b) in rows.iter_mut().zip(top).zip(bottom) {
            *m = a.max(b);
        }
        for (out, pair) in output[r * half..][..half]
            .iter_mut()
            .zip(rows.chunks_exact(2))
        {
            *out = pair[0].max(pair[1]);
        }
    }
}

/// The index of the largest value (the first one on a tie).
pub fn argmax(values: &[f32]) -> usize {
    let mut best = 0;
    for (i, &v) in values.iter().enumerate() {
        if v > values[best] {
            best = i;
        }
    }
    best
}

/// conv → requantize → ReLU → 2 × 2 max-pool for one image: `input` is `[in, side, side]`, `output`
/// `[out, (side − 4) / 2, (side − 4) / 2]`; `plane` holds at least `(side − 4)²` sums.
pub fn conv_relu_pool(
    conv: &EdgeConv<'_>,
    input: &[i8],
    side: usize,
    plane: &mut [i32],
    output: &mut [i8],
) {
    let out_side = side - KERNEL + 1;
    let pixels = out_side * out_side;
    let half = out_side / 2;
    let plane = &mut plane[..pixels];
    for o in 0..conv.out_channels {
        plane.fill(conv.bias[o]);
        for c in 0..conv.in_channels {
            let channel = &input[c * side * side..(c + 1) * side * side];
            let kernel =
                &conv.weight[(o * conv.in_channels + c) * KERNEL * KERNEL..][..KERNEL * KERNEL];
            for i in 0..KERNEL {
                for j in 0..KERNEL {
                    // An int8 × int8 product fits in int16 (|−127 · −128| < 2¹⁵): cheaper to
                    // vectorise, then widened for the sum.
                    let w = i16::from(kernel[i * KERNEL + j]);
                    for r in 0..out_side {
                        let source = &channel[(r + i) * side + j..][..out_side];
                        let sums = &mut plane[r * out_side..][..out_side];
                        for (sum, &x) in sums.iter_mut().zip(source) {
                            *sum += i32::from(w * i16::from(x));
                        }
                    }
                }
            }
        }
        // Requantize and pool in one pass: the rescaling is monotonic, so the max of the rescaled
        // values is the rescaled max (the library rescales first, then pools: the same numbers).
        let multiplier = conv.multiplier[o];
        let pooled = &mut output[o * half * half..][..half * half];
        for r in 0..half {
            for s in 0..half {
                let top = 2 * r * out_side + 2 * s;
                let mut best = requantize(plane[top], multiplier, true);
                for offset in [1, out_side, out_side + 1] {
                    best = best.max(requantize(plane[top + offset], multiplier, true));
                }
                pooled[r * half + s] = best;
            }
        }
    }
}

/// The int32 sum `bias_q[o] + Σᵢ w[o, i] · x[i]` of one output of a dense layer.
pub fn dense_sum(layer: &EdgeDense<'_>, input: &[i8], o: usize) -> i32 {
    let row = &layer.weight[o * layer.in_features..(o + 1) * layer.in_features];
    let mut sum = layer.bias[o];
    for (&w, &x) in row.iter().zip(input) {
        sum += i32::from(i16::from(w) * i16::from(x));
    }
    sum
}

impl EdgeModel<'_> {
    /// The class (0…9) of one image given as its 3,072 bytes (red, green, blue planes), computed
    /// in `buffer` without allocating; the logits are left in `buffer.logits`.
    pub fn classify(&self, image: &[u8; IMAGE_BYTES], buffer: &mut EdgeBuffer) -> usize {
        for (q, &byte) in buffer.input.iter_mut().zip(image.iter()) {
            *q = self.input_table[usize::from(byte)];
        }
        conv_relu_pool(
            &self.conv1,
            &buffer.input,
            32,
            &mut buffer.plane,
            &mut buffer.conv1,
        );
        conv_relu_pool(
            &self.conv2,
            &buffer.conv1,
            14,
            &mut buffer.plane,
            &mut buffer.conv2,
        );
        for o in 0..self.fc1.out_features {
            let sum = dense_sum(&self.fc1, &buffer.conv2, o);
            buffer.fc1[o] = requantize(sum, self.fc1.multiplier[o], true);
        }
        for o in 0..self.fc2.out_features {
            let sum = dense_sum(&self.fc2, &buffer.fc1, o);
            buffer.fc2[o] = requantize(sum, self.fc2.multiplier[o], true);
        }
        for o in 0..self.fc3.out_features {
            let sum = dense_sum(&self.fc3, &buffer.fc2, o);
            buffer.logits[o] = dequantize_logit(sum, self.fc3.multiplier[o]);
        }
        argmax(&buffer.logits)
    }
}
