//! Pooling layers of chapter 8: [`MaxPool2d`] and [`AvgPool2d`], as PyTorch's `nn.MaxPool2d` and
//! `nn.AvgPool2d`.
//!
//! Pooling shrinks each channel of an image by summarising every `kh × kw` window (moved by the
//! stride) with one number: its maximum or its mean. It has no parameters. The stride defaults to
//! the kernel size (non-overlapping windows), as in PyTorch: `MaxPool2d::new(2)` is
//! `nn.MaxPool2d(2)`, and `MaxPool2d::new(3).stride(2)` is `nn.MaxPool2d(3, stride=2)`. For an input
//! `[N, C, H, W]` the output is `[N, C, H_out, W_out]` with `H_out = (H − kh) / sh + 1` (rounded down:
//! a last partial window is dropped, PyTorch's default `ceil_mode=False`), and the same for the width.
//!
//! # Backward
//! - Max: the gradient of an output flows only to the input that was the maximum of its window (the
//!   *arg-max*, recorded in the forward pass; the first one in reading order on a tie, as PyTorch; a
//!   window holding a NaN outputs NaN and its gradient goes to the NaN — the last one in reading
//!   order if there are several —, as PyTorch's `val > max || isnan(val)` rule does):
//!   `∂L/∂x[argmax(window)] += ∂L/∂y`. Every other input of the window gets nothing.
//! - Average: every input of the window gets an equal share: `∂L/∂x[window] += ∂L/∂y / (kh·kw)`.
//!
//! Overlapping windows (stride < kernel) add their contributions. Images are processed in parallel,
//! each by one thread, so results do not depend on the thread count.
//!
//! What they leave out: padding, dilation, `ceil_mode=True`, `count_include_pad`.

use super::layer::{Layer, Mode, panic_without_cache};
use crate::parallel;
use crate::tensor::Tensor;

/// Window size and stride of a pooling layer, and the sizes derived from an input shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Window {
    kernel: (usize, usize),
    stride: (usize, usize),
}

impl Window {
    fn new(kernel: (usize, usize), stride: (usize, usize), layer: &str) -> Window {
        assert!(
            kernel.0 > 0 && kernel.1 > 0 && stride.0 > 0 && stride.1 > 0,
            "{layer}: kernel {kernel:?} and stride {stride:?} must be ≥ 1"
        );
        Window { kernel, stride }
    }

    /// `[N, C, H_out, W_out]` for `[N, C, H, W]`; panics (naming the shape) if the window does not fit.
    fn output_shape(&self, shape: &[usize], layer: &str) -> [usize; 4] {
        assert!(
            shape.len() == 4 && shape[2] >= self.kernel.0 && shape[3] >= self.kernel.1,
            "{layer}: expected an input [N, C, H, W] with H ≥ {} and W ≥ {}, got {shape:?}",
            self.kernel.0,
            self.kernel.1
        );
        [
            shape[0],
            shape[1],
            (shape[2] - self.kernel.0) / self.stride.0 + 1,
            (shape[3] - self.kernel.1) / self.stride.1 + 1,
        ]
    }
}

/// Max pooling (see the module docs). `MaxPool2d::new(2)` is the tutorial's `nn.MaxPool2d(2, 2)`.
pub struct MaxPool2d {
    window: Window,
    /// For each output value of the last training batch: the index of its arg-max within its image.
    argmax: Vec<u32>,
    input_shape: Option<[usize; 4]>,
}

impl MaxPool2d {
    /// Square windows of `kernel_size`, moved by `kernel_size` (PyTorch's default stride: windows
    /// side by side). Change the stride with [`MaxPool2d::stride`].
    pub fn new(kernel_size: usize) -> MaxPool2d {
        MaxPool2d::with_window((kernel_size, kernel_size), (kernel_size, kernel_size))
    }

    /// The same windows moved by `stride` in both directions (`nn.MaxPool2d(k, stride=s)`).
    pub fn stride(self, stride: usize) -> MaxPool2d {
        MaxPool2d::with_window(self.window.kernel, (stride, stride))
    }

    /// Rectangular windows `(kh, kw)` with strides `(sh, sw)`.
    pub fn with_window(kernel: (usize, usize), stride: (usize, usize)) -> MaxPool2d {
        MaxPool2d {
            window: Window::new(kernel, stride, "MaxPool2d"),
            argmax: Vec::new(),
            input_shape: None,
        }
    }

    /// The output shape for an input shape `[N, C, H, W]`.
    pub fn output_shape(&self, input_shape: &[usize]) -> Vec<usize> {
        self.window.output_shape(input_shape, "MaxPool2d").to_vec()
    }
}

/// Max of every window of one image (`C × H × W` → `C × H_out × W_out`); writes each window's arg-max
/// (an index into the image) to `argmax` when given.
fn max_pool_image(
    window: Window,
    shape: [usize; 4],
    out: [usize; 4],
    image: &[f32],
    y: &mut [f32],
    mut argmax: Option<&mut [u32]>,
) {
    if window.kernel == (2, 2) && window.stride == (2, 2) {
        max_pool_2x2(shape, out, image, y, argmax);
        return;
    }
    let (height, width) = (shape[2], shape[3]);
    let (kh, kw) = window.kernel;
    let (sh, sw) = window.stride;
    let (out_h, out_w) = (out[2], out[3]);
    let plane = height * width;
    let out_plane = out_h * out_w;
    for (c, (channel, y_channel)) in image
        .chunks_exact(plane)
        .zip(y.chunks_exact_mut(out_plane))
        .enumerate()
    {
        for (r, y_row) in y_channel.chunks_exact_mut(out_w).enumerate() {
            for (s, y_value) in y_row.iter_mut().enumerate() {
                let (top, left) = (r * sh, s * sw);
                // Two branch-free passes (which value wins is unpredictable with data, and a
                // mispredicted branch costs more than the comparisons): the maximum, then the first
                // position that holds it, in reading order (so the first maximum wins a tie).
                let mut best = f32::NEG_INFINITY;
                let mut any_nan = false;
                for i in 0..kh {
                    let start = (top + i) * width + left;
                    for &v in &channel[start..start + kw] {
                        best = best.max(v);
                        any_nan |= v.is_nan();
                    }
                }
                let mut best_index = top * width + left;
                let mut found = false;
                let mut last_nan = best_index;
                for i in 0..kh {
                    let start = (top + i) * width + left;
                    for (j, &v) in channel[start..start + kw].iter().enumerate() {
                        let hit = (v == best) & !found;
                        best_index = if hit { start + j } else { best_index };
                        found |= hit;
                        last_nan = if v.is_nan() { start + j } else { last_nan };
                    }
                }
                if any_nan {
                    // As PyTorch: a NaN in the window makes the output NaN, and the gradient goes
                    // to the (last) NaN.
                    best = f32::NAN;
                    best_index = last_nan;
                }
                *y_value = best;
                if let Some(argmax) = argmax.as_deref_mut() {
                    argmax[c * out_plane + r * out_w + s] = (c * plane + best_index) as u32;
                }
            }
        }
    }
}

/// [`max_pool_image`] for the most common case, 2×2 windows with stride 2 (the tutorial's
/// `MaxPool2d(2, 2)`): the same results, written as straight-line code over the two input rows of
/// each output row so that it runs several times faster.
fn max_pool_2x2(
    shape: [usize; 4],
    out: [usize; 4],
    image: &[f32],
    y: &mut [f32],
    mut argmax: Option<&mut [u32]>,
) {
    let (height, width) = (shape[2], shape[3]);
    let (out_h, out_w) = (out[2], out[3]);
    let plane = height * width;
    let out_plane = out_h * out_w;
    for (c, (channel, y_channel)) in image
        .chunks_exact(plane)
        .zip(y.chunks_exact_mut(out_plane))
        .enumerate()
    {
        for (r, y_row) in y_channel.chunks_exact_mut(out_w).enumerate() {
            let top = &channel[2 * r * width..][..2 * out_w];
            let bottom = &channel[(2 * r + 1) * width..][..2 * out_w];
            let row_start = (c * plane + 2 * r * width) as u32;
            let argmax_row = argmax
                .as_deref_mut()
                .map(|a| &mut a[c * out_plane + r * out_w..][..out_w]);
            match argmax_row {
                None => {
                    for ((y_value, t), b) in y_row
                        .iter_mut()
                        .zip(top.chunks_exact(2))
                        .zip(bottom.chunks_exact(2))
                    {
                        let best = t[0].max(t[1]).max(b[0].max(b[1]));
                        let nan = t[0].is_nan() | t[1].is_nan() | b[0].is_nan() | b[1].is_nan();
                        *y_value = if nan { f32::NAN } else { best };
                    }
                }
                Some(argmax_row) => {
                    for (s, ((y_value, t), b)) in y_row
                        .iter_mut()
                        .zip(top.chunks_exact(2))
                        .zip(bottom.chunks_exact(2))
                        .enumerate()
                    {
                        let best = t[0].max(t[1]).max(b[0].max(b[1]));
                        let nan = t[0].is_nan() | t[1].is_nan() | b[0].is_nan() | b[1].is_nan();
                        *y_value = if nan { f32::NAN } else { best };
                        // The first position holding the maximum, in reading order; with a NaN,
                        // the last NaN (PyTorch's rule, see the module docs).
                        let offset = if nan {
                            if b[1].is_nan() {
                                width as u32 + 1
                            } else if b[0].is_nan() {
                                width as u32
                            } else if t[1].is_nan() {
                                1
                            } else {
                                0
                            }
                        } else if t[0] == best {
                            0
                        } else if t[1] == best {
                            1
                        } else if b[0] == best {
                            width as u32
                        } else {
                            width as u32 + 1
                        };
                        argmax_row[s] = row_start + 2 * s as u32 + offset;
                    }
                }
            }
        }
    }
}

impl Layer for MaxPool2d {
    fn forward(&mut self, x: &Tensor, mode: Mode) -> Tensor {
        let out = self.window.output_shape(x.shape(), "MaxPool2d");
        let shape = [x.dim(0), x.dim(1), x.dim(2), x.dim(3)];
        assert!(
            x.row_len() <= u32::MAX as usize,
            "MaxPool2d: images of {} values are too large for 32-bit arg-max indices",
            x.row_len()
        );
        let mut y = Tensor::zeros(&out);
        let out_len = out[1] * out[2] * out[3];
        let image_len = x.row_len();
        let window = self.window;
        // Train / Eval: remember the shape (the arg-max indices are written below); Inference: cache
        // nothing.
        self.input_shape = (mode.keeps_cache()).then_some(shape);
        if out_len == 0 || shape[0] == 0 {
            return y;
        }
        if mode.keeps_cache() {
            self.argmax.resize(y.len(), 0);
            let mut jobs: Vec<(&mut [f32], &mut [u32])> = y
                .data_mut()
                .chunks_exact_mut(out_len)
                .zip(self.argmax.chunks_exact_mut(out_len))
                .collect();
            parallel::for_each_chunk_mut(&mut jobs, 1, |n, job| {
                let (y_n, argmax_n) = &mut job[0];
                let image = &x.data()[n * image_len..(n + 1) * image_len];
                max_pool_image(window, shape, out, image, y_n, Some(argmax_n));
            });
        } else {
            parallel::for_each_chunk_mut(y.data_mut(), out_len, |n, y_n| {
                let image = &x.data()[n * image_len..(n + 1) * image_len];
                max_pool_image(window, shape, out, image, y_n, None);
            });
        }
        y
    }

    fn backward(&mut self, grad_output: &Tensor) -> Tensor {
        let shape = self
            .input_shape
            .unwrap_or_else(|| panic_without_cache("MaxPool2d"));
        let out = self.window.output_shape(&shape, "MaxPool2d");
        assert_eq!(
            grad_output.shape(),
            &out,
            "MaxPool2d: backward got a gradient of shape {:?} for an output of shape {out:?}",
            grad_output.shape()
        );
        let mut grad_input = Tensor::zeros(&shape);
        let out_len = out[1] * out[2] * out[3];
        let image_len = grad_input.row_len();
        if out_len == 0 || image_len == 0 {
            return grad_input;
        }
        let argmax = &self.argmax;
        parallel::for_each_chunk_mut(grad_input.data_mut(), image_len, |n, grad_x_n| {
            let grad_y_n = &grad_output.data()[n * out_len..(n + 1) * out_len];
            let argmax_n = &argmax[n * out_len..(n + 1) * out_len];
            for (&index, &g) in argmax_n.iter().zip(grad_y_n) {
                grad_x_n[index as usize] += g;
            }
        });
        grad_input
    }

    /// PyTorch's format: `MaxPool2d(kernel_size=2, stride=2)` (pairs when not square).
    fn describe(&self) -> String {
        format!(
            "MaxPool2d(kernel_size={}, stride={})",
            pair(self.window.kernel),
            pair(self.window.stride)
        )
    }
}

/// `2` for `(2, 2)`, `(2, 3)` otherwise.
fn pair((a, b): (usize, usize)) -> String {
    if a == b {
        a.to_string()
    } else {
        format!("({a}, {b})")
    }
}

/// Average pooling (see the module docs).
pub struct AvgPool2d {
    window: Window,
    input_shape: Option<[usize; 4]>,
}

impl AvgPool2d {
    /// Square windows of `kernel_size`, moved by `kernel_size` (PyTorch's default stride). Change
    /// the stride with [`AvgPool2d::stride`].
    pub fn new(kernel_size: usize) -> AvgPool2d {
        AvgPool2d::with_window((kernel_size, kernel_size), (kernel_size, kernel_size))
    }

    /// The same windows moved by `stride` in both directions (`nn.AvgPool2d(k, stride=s)`).
    pub fn stride(self, stride: usize) -> AvgPool2d {
        AvgPool2d::with_window(self.window.kernel, (stride, stride))
    }

    /// Rectangular windows `(kh, kw)` with strides `(sh, sw)`.
    pub fn with_window(kernel: (usize, usize), stride: (usize, usize)) -> AvgPool2d {
        AvgPool2d {
            window: Window::new(kernel, stride, "AvgPool2d"),
            input_shape: None,
        }
    }

    /// The output shape for an input shape `[N, C, H, W]`.
    pub fn output_shape(&self, input_shape: &[usize]) -> Vec<usize> {
        self.window.output_shape(input_shape, "AvgPool2d").to_vec()
    }
}

impl Layer for AvgPool2d {
    fn forward(&mut self, x: &Tensor, mode: Mode) -> Tensor {
        let out = self.window.output_shape(x.shape(), "AvgPool2d");
        let (height, width) = (x.dim(2), x.dim(3));
        let (kh, kw) = self.window.kernel;
        let (sh, sw) = self.window.stride;
        let scale = 1.0 / (kh * kw) as f32;
        let mut y = Tensor::zeros(&out);
        let out_plane = out[2] * out[3];
        if out_plane > 0 && x.dim(0) * x.dim(1) > 0 {
            // One task per (image, channel) plane.
            let plane = height * width;
            parallel::for_each_chunk_mut(y.data_mut(), out_plane, |q, y_plane| {
                let channel = &x.data()[q * plane..(q + 1) * plane];
                for (r, y_row) in y_plane.chunks_exact_mut(out[3]).enumerate() {
                    for (s, y_value) in y_row.iter_mut().enumerate() {
                        let mut sum = 0.0f32;
                        for i in 0..kh {
                            let start = (r * sh + i) * width + s * sw;
                            sum += channel[start..start + kw].iter().sum::<f32>();
                        }
                        *y_value = sum * scale;
                    }
                }
            });
        }
        self.input_shape = (mode.keeps_cache()).then_some([x.dim(0), x.dim(1), height, width]);
        y
    }

    fn backward(&mut self, grad_output: &Tensor) -> Tensor {
        let shape = self
            .input_shape
            .unwrap_or_else(|| panic_without_cache("AvgPool2d"));
        let out = self.window.output_shape(&shape, "AvgPool2d");
        assert_eq!(
            grad_output.shape(),
            &out,
            "AvgPool2d: backward got a gradient of shape {:?} for an output of shape {out:?}",
            grad_output.shape()
        );
        let (kh, kw) = self.window.kernel;
        let (sh, sw) = self.window.stride;
        let width = shape[3];
        let scale = 1.0 / (kh * kw) as f32;
        let mut grad_input = Tensor::zeros(&shape);
        let plane = shape[2] * shape[3];
        let out_plane = out[2] * out[3];
        if out_plane == 0 || plane == 0 {
            return grad_input;
        }
        parallel::for_each_chunk_mut(grad_input.data_mut(), plane, |q, grad_plane| {
            let grad_y = &grad_output.data()[q * out_plane..(q + 1) * out_plane];
            for (r, grad_row) in grad_y.chunks_exact(out[3]).enumerate() {
                for (s, &g) in grad_row.iter().enumerate() {
                    let share = g * scale;
                    for i in 0..kh {
                        let start = (r * sh + i) * width + s * sw;
                        for v in &mut grad_plane[start..start + kw] {
                            *v += share;
                        }
                    }
                }
            }
        });
        grad_input
    }

    /// PyTorch's format: `AvgPool2d(kernel_size=2, stride=2)`.
    fn describe(&self) -> String {
        format!(
            "AvgPool2d(kernel_size={}, stride={})",
            pair(self.window.kernel),
            pair(self.window.stride)
        )
    }
}
