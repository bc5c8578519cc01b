//! The direct convolution: [`super::Conv2d`]'s kernel for convolutions with few channels (chapter 8).
//!
//! im2col + GEMM (see [`super::im2col`]) copies every input value `kh·kw` times into the column matrix
//! and then lets the GEMM copy it once more into its packed panels. With many output channels each
//! copied value is used by many multiply-adds, and the copies are cheap in comparison. With few — the
//! first layer of chapter 12's model has 3 input and 6 output channels — each copied value is used only
//! `C_out` = 6 times, and the copies take most of the time (measured: two thirds of the forward pass
//! and almost all of the weight-gradient pass were copying). The direct convolution reads the image in
//! place instead, and keeps a block of outputs in registers while it runs over all kernel taps:
//!
//! ```text
//! forward     y[o, r, s..s+8]   = b[o] + Σ_{c,i,j} w[o,c,i,j] · x[c, r+i, s+j..s+j+8]    (OT channels o at once)
//! weights     ∂L/∂w[o,c,i,j]   += Σ_r Σ_s ∂L/∂y[o, r, s] · x[c, r+i, s+j]              (8 values of s at once)
//! input       ∂L/∂x = the forward kernel applied to ∂L/∂y zero-padded by (kh−1, kw−1), with the kernels
//!             flipped (i → kh−1−i, j → kw−1−j) and C_in, C_out swapped (a "full" correlation)
//! ```
//!
//! Every loop runs over fixed-size arrays of 8 lanes (`[f32; 8]`), which the compiler turns into SIMD
//! instructions without `unsafe`: the 8 outputs of a row segment for `OT` output channels stay in
//! vector registers for the whole sum over `C_in·kh·kw` taps. Stride 1 only; padding is handled by
//! copying the image into a zero-bordered buffer first.
//!
//! Each output value is summed in the same order (tap by tap) wherever it is computed, so results do
//! not depend on the thread count; they differ from the im2col + GEMM path in the last bits only.
//!
//! What it leaves out: strides other than 1 (those use im2col + GEMM), dilation, groups.

/// Lanes per block of outputs along a row (two SSE or one AVX vector).
pub const LANES: usize = 8;

/// The largest number of output channels computed together (their accumulators must fit in the
/// vector registers: 6 channels × 8 lanes = 12 SSE registers).
pub const MAX_CHANNEL_BLOCK: usize = 6;

/// Eight `f32` lanes. Its loops have a fixed length, so the compiler unrolls them and turns each into
/// SIMD instructions (two SSE or one AVX operation); this is how the kernels below get vectorised
/// without `unsafe` or intrinsics.
#[derive(Clone, Copy)]
struct Lanes([f32; LANES]);

impl Lanes {
    #[inline(always)]
    fn splat(value: f32) -> Lanes {
        Lanes([value; LANES])
    }

    /// The first 8 values of `values` (panics if there are fewer).
    #[inline(always)]
    fn load(values: &[f32]) -> Lanes {
        let mut lanes = [0.0; LANES];
        lanes.copy_from_slice(&values[..LANES]);
        Lanes(lanes)
    }

    /// `self += w · v`, lane by lane.
    #[inline(always)]
    fn add_scaled(&mut self, w: f32, v: Lanes) {
        for (a, v) in self.0.iter_mut().zip(v.0) {
            *a += w * v;
        }
    }

    /// `self += u ⊙ v`, lane by lane.
    #[inline(always)]
    fn add_product(&mut self, u: Lanes, v: Lanes) {
        for ((a, u), v) in self.0.iter_mut().zip(u.0).zip(v.0) {
            *a += u * v;
        }
    }

    /// The sum of the lanes, always in the same order.
    #[inline(always)]
    fn sum(self) -> f32 {
        let [a, b, c, d, e, f, g, h] = self.0;
        ((a + b) + (c + d)) + ((e + f) + (g + h))
    }
}

/// Sizes of one direct convolution: `channels` input planes of `height × width` (already padded),
/// a `kernel_h × kernel_w` kernel, stride 1, no further padding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DirectShape {
    /// Input channels C.
    pub channels: usize,
    /// Input height (after padding).
    pub height: usize,
    /// Input width (after padding).
    pub width: usize,
    /// Kernel height kh.
    pub kernel_h: usize,
    /// Kernel width kw.
    pub kernel_w: usize,
}

impl DirectShape {
    /// Output height `H − kh + 1`.
    pub fn out_h(&self) -> usize {
        self.height + 1 - self.kernel_h
    }

    /// Output width `W − kw + 1`.
    pub fn out_w(&self) -> usize {
        self.width + 1 - self.kernel_w
    }

    /// Kernel taps per output channel: C·kh·kw.
    pub fn taps(&self) -> usize {
        self.channels * self.kernel_h * self.kernel_w
    }
}

/// Copies `image` (`C × H × W`) into `padded` (`C × (H + 2ph) × (W + 2pw)`) with a zero border.
pub fn pad_image(
    image: &[f32],
    channels: usize,
    (height, width): (usize, usize),
    (pad_h, pad_w): (usize, usize),
    padded: &mut [f32],
) {
    let (padded_h, padded_w) = (height + 2 * pad_h, width + 2 * pad_w);
    assert_eq!(
        image.len(),
        channels * height * width,
        "pad_image: image size"
    );
    assert_eq!(
        padded.len(),
        channels * padded_h * padded_w,
        "pad_image: padded size"
    );
    padded.fill(0.0);
    for (plane, padded_plane) in image
        .chunks_exact(height * width)
        .zip(padded.chunks_exact_mut(padded_h * padded_w))
    {
        for (row, padded_row) in plane
            .chunks_exact(width)
            .zip(padded_plane.chunks_exact_mut(padded_w).skip(pad_h))
        {
            padded_row[pad_w..pad_w + width].copy_from_slice(row);
        }
    }
}

/// Rearranges weights `[C_out, C, kh, kw]` into blocks of up to [`MAX_CHANNEL_BLOCK`] output
/// channels, each stored tap-major: `packed[block][tap][o]`, so that the `OT` weights of one tap are
/// adjacent. With `flip`, the kernels are also rotated by 180° and the roles of C and C_out swapped
/// (the weights of the input-gradient correlation): the result is laid out for `C` output channels.
pub fn pack_weights(
    weights: &[f32],
    out_channels: usize,
    in_channels: usize,
    (kernel_h, kernel_w): (usize, usize),
    flip: bool,
    packed: &mut Vec<f32>,
) {
    let taps_per_channel = kernel_h * kernel_w;
    assert_eq!(
        weights.len(),
        out_channels * in_channels * taps_per_channel,
        "pack_weights: weight size"
    );
    // The convolution being packed: `outs` output channels over `ins` input channels.
    let (outs, ins) = if flip {
        (in_channels, out_channels)
    } else {
        (out_channels, in_channels)
    };
    packed.clear();
    for block_start in (0..outs).step_by(MAX_CHANNEL_BLOCK) {
        let block = MAX_CHANNEL_BLOCK.min(outs - block_start);
        for c in 0..ins {
            for i in 0..kernel_h {
                for j in 0..kernel_w {
                    for o in block_start..block_start + block {
                        let value = if flip {
                            // Output channel o of the correlation is input channel o of the layer.
                            let (ki, kj) = (kernel_h - 1 - i, kernel_w - 1 - j);
                            weights[((c * in_channels + o) * kernel_h + ki) * kernel_w + kj]
                        } else {
                            weights[((o * in_channels + c) * kernel_h + i) * kernel_w + j]
                        };
                        packed.push(value);
                    }
                }
            }
        }
    }
}

/// The forward direct convolution of one image: `y` (`C_out × H_out × W_out`) = `bias` + the
/// correlation of `x` (`shape`, already padded) with the weights packed by [`pack_weights`].
pub fn forward(
    shape: &DirectShape,
    x: &[f32],
    packed: &[f32],
    bias: Option<&[f32]>,
    out_channels: usize,
    y: &mut [f32],
) {
    let (out_h, out_w) = (shape.out_h(), shape.out_w());
    let taps = shape.taps();
    assert_eq!(x.len(), shape.channels * shape.height * shape.width);
    assert_eq!(y.len(), out_channels * out_h * out_w);
    assert_eq!(packed.len(), out_channels * taps);
    let plane = out_h * out_w;
    let mut block_start = 0;
    let mut weights = packed;
    while block_start < out_channels {
        let block = MAX_CHANNEL_BLOCK.min(out_channels - block_start);
        let (block_weights, rest) = weights.split_at(block * taps);
        weights = rest;
        let y_block = &mut y[block_start * plane..(block_start + block) * plane];
        let bias_block = bias.map(|b| &b[block_start..block_start + block]);
        // One instance per block size, so the accumulators are a fixed-size array in registers.
        match block {
            1 => forward_block::<1>(shape, x, block_weights, bias_block, y_block),
            2 => forward_block::<2>(shape, x, block_weights, bias_block, y_block),
            3 => forward_block::<3>(shape, x, block_weights, bias_block, y_block),
            4 => forward_block::<4>(shape, x, block_weights, bias_block, y_block),
            5 => forward_block::<5>(shape, x, block_weights, bias_block, y_block),
            _ => forward_block::<6>(shape, x, block_weights, bias_block, y_block),
        }
        block_start += block;
    }
}

/// `OT` output channels of the forward pass: for every output row and every 8-wide segment of it,
/// `OT × 8` accumulators run over all taps. When the row is not a multiple of 8 wide, the last
/// segment is shifted left to end at the row's end (it recomputes a few outputs, identically).
fn forward_block<const OT: usize>(
    shape: &DirectShape,
    x: &[f32],
    weights: &[f32],
    bias: Option<&[f32]>,
    y: &mut [f32],
) {
    let (out_h, out_w) = (shape.out_h(), shape.out_w());
    let (kh, kw, width) = (shape.kernel_h, shape.kernel_w, shape.width);
    let in_plane = shape.height * width;
    let plane = out_h * out_w;
    let mut start_bias = [0.0f32; OT];
    if let Some(bias) = bias {
        start_bias.copy_from_slice(bias);
    }
    for r in 0..out_h {
        let mut s0 = 0;
        while s0 < out_w {
            if out_w < LANES {
                // Too narrow for a block of 8: one output at a time.
                for s in 0..out_w {
                    let mut acc = start_bias;
                    let mut tap = weights.chunks_exact(OT);
                    for c in 0..shape.channels {
                        for i in 0..kh {
                            let row = &x[c * in_plane + (r + i) * width..][..width];
                            for &v in &row[s..s + kw] {
                                let w = tap.next().expect("one weight block per tap");
                                for (a, &w) in acc.iter_mut().zip(w) {
                                    *a += w * v;
                                }
                            }
                        }
                    }
                    for (o, &a) in acc.iter().enumerate() {
                        y[o * plane + r * out_w + s] = a;
                    }
                }
                break;
            }
            let s = s0.min(out_w - LANES);
            let mut acc: [Lanes; OT] = start_bias.map(Lanes::splat);
            let mut tap = weights.chunks_exact(OT);
            for c in 0..shape.channels {
                for i in 0..kh {
                    let row = &x[c * in_plane + (r + i) * width + s..][..kw - 1 + LANES];
                    for j in 0..kw {
                        let w: &[f32; OT] = tap
                            .next()
                            .and_then(|w| w.try_into().ok())
                            .expect("one weight block per tap");
                        let v = Lanes::load(&row[j..]);
                        for o in 0..OT {
                            acc[o].add_scaled(w[o], v);
                        }
                    }
                }
            }
            for (o, a) in acc.iter().enumerate() {
                let start = o * plane + r * out_w + s;
                y[start..start + LANES].copy_from_slice(&a.0);
            }
            s0 += LANES;
        }
    }
}

/// Adds the weight and bias gradients of one image: `grad_weight` (`[C_out, C, kh, kw]`, PyTorch's
/// layout) `+= Σ_{r,s} ∂L/∂y[o,r,s] · x[c, r+i, s+j]`, `grad_bias[o] += Σ_{r,s} ∂L/∂y[o,r,s]`.
/// `x` is the (padded) input of `shape`, `grad_y` is `C_out × H_out × W_out`.
pub fn weight_gradient(
    shape: &DirectShape,
    x: &[f32],
    grad_y: &[f32],
    out_channels: usize,
    grad_weight: &mut [f32],
    grad_bias: Option<&mut [f32]>,
) {
    let plane = shape.out_h() * shape.out_w();
    let taps = shape.taps();
    assert_eq!(x.len(), shape.channels * shape.height * shape.width);
    assert_eq!(grad_y.len(), out_channels * plane);
    assert_eq!(grad_weight.len(), out_channels * taps);
    let mut block_start = 0;
    while block_start < out_channels {
        let block = MAX_CHANNEL_BLOCK.min(out_channels - block_start);
        let grad_y_block = &grad_y[block_start * plane..(block_start + block) * plane];
        let grad_w_block = &mut grad_weight[block_start * taps..(block_start + block) * taps];
        match block {
            1 => weight_gradient_block::<1>(shape, x, grad_y_block, grad_w_block),
            2 => weight_gradient_block::<2>(shape, x, grad_y_block, grad_w_block),
            3 => weight_gradient_block::<3>(shape, x, grad_y_block, grad_w_block),
            4 => weight_gradient_block::<4>(shape, x, grad_y_block, grad_w_block),
            5 => weight_gradient_block::<5>(shape, x, grad_y_block, grad_w_block),
            _ => weight_gradient_block::<6>(shape, x, grad_y_block, grad_w_block),
        }
        block_start += block;
    }
    if let Some(grad_bias) = grad_bias {
        for (g, grad_y_plane) in grad_bias.iter_mut().zip(grad_y.chunks_exact(plane)) {
            *g += grad_y_plane.iter().sum::<f32>();
        }
    }
}

/// `OT` output channels of the weight gradient: for every tap `(c, i, j)`, `OT × 8` accumulators run
/// over the whole output plane, 8 columns at a time (each input segment is loaded once for all `OT`
/// channels); the columns left over when the width is not a multiple of 8 are added one by one.
fn weight_gradient_block<const OT: usize>(
    shape: &DirectShape,
    x: &[f32],
    grad_y: &[f32],
    grad_weight: &mut [f32],
) {
    let (out_h, out_w) = (shape.out_h(), shape.out_w());
    let (kh, kw, width) = (shape.kernel_h, shape.kernel_w, shape.width);
    let in_plane = shape.height * width;
    let plane = out_h * out_w;
    let taps = shape.taps();
    let full = out_w / LANES * LANES;
    let mut tap = 0;
    for c in 0..shape.channels {
        let x_plane = &x[c * in_plane..(c + 1) * in_plane];
        for i in 0..kh {
            for j in 0..kw {
                let mut acc = [Lanes::splat(0.0); OT];
                let mut tail = [0.0f32; OT];
                for r in 0..out_h {
                    let x_row = &x_plane[(r + i) * width + j..][..out_w];
                    // This row of ∂L/∂y for each of the OT channels.
                    let dy_rows: [&[f32]; OT] = std::array::from_fn(|o| {
                        &grad_y[o * plane + r * out_w..o * plane + (r + 1) * out_w]
                    });
                    for s in (0..full).step_by(LANES) {
                        let v = Lanes::load(&x_row[s..]);
                        for o in 0..OT {
                            acc[o].add_product(Lanes::load(&dy_rows[o][s..]), v);
                        }
                    }
                    for o in 0..OT {
                        for (&d, &v) in dy_rows[o][full..].iter().zip(&x_row[full..]) {
                            tail[o] += d * v;
                        }
                    }
                }
                for o in 0..OT {
                    grad_weight[o * taps + tap] += acc[o].sum() + tail[o];
                }
                tap += 1;
            }
        }
    }
}
