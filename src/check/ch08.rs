//! Checkers for chapter 8's exercises (`src/exercises/ch08.rs`): the convolution's output size,
//! im2col, the convolution forward pass, and the max-pooling backward pass.
//!
//! The output size and im2col are compared with [`crate::nn::im2col`] (the crate's own, exact copy
//! operations) on shapes with padding, strides that do not divide the image, 1×1 kernels and kernels
//! as large as the image — where off-by-one mistakes in the padding show. The convolution is compared
//! with [`conv2d_reference`], the six-loop textbook formula accumulated in f64. Max-pooling backward
//! is checked against central differences of a max-pooling forward pass (inputs spaced so that a
//! finite-difference nudge never changes a window's winner), with overlapping windows (whose
//! gradients must add up) and dropped partial windows, and against [`MaxPool2d`] on ties (the first
//! maximum in reading order takes the gradient, as in PyTorch).

use super::Tolerance;
use super::exercise::{Check, CheckResult, describe, random_values};
use crate::nn::conv::conv2d_reference;
use crate::nn::im2col::{ConvGeometry, im2col};
use crate::nn::{Layer, MaxPool2d, Mode};
use crate::probability::Rng;
use crate::tensor::Tensor;

/// Exercise 8.1: `conv_output_size(size, kernel, stride, padding)` returns
/// `(size + 2·padding − kernel) / stride + 1`.
pub fn check_conv_output_size(f: impl Fn(usize, usize, usize, usize) -> usize) -> CheckResult {
    let hint = "out = (size + 2·padding − kernel) / stride + 1, rounded down: the padding adds \
                `padding` zeros on *both* sides, the kernel's first position is the +1, and a last \
                partial step is dropped";
    // (what it shows, size, kernel, stride, padding)
    let cases = [
        ("the tutorial's 52×52 image with a 3×3 kernel", 52, 3, 1, 0),
        ("CIFAR-10's 32×32 image with a 5×5 kernel", 32, 5, 1, 0),
        (
            "padding 1 keeps a 3×3 kernel's output the size of its input",
            5,
            3,
            1,
            1,
        ),
        ("padding 2 with a 5×5 kernel", 7, 5, 1, 2),
        ("stride 2 with padding 1", 7, 3, 2, 1),
        (
            "a stride that does not divide: the last partial step is dropped",
            8,
            3,
            2,
            1,
        ),
        ("a kernel as large as the input", 4, 4, 1, 0),
        ("a 1×1 kernel", 1, 1, 1, 0),
        ("stride 3 with padding 2", 10, 3, 3, 2),
    ];
    for (name, size, kernel, stride, padding) in cases {
        let check = Check::new(
            name,
            format!("size = {size}, kernel = {kernel}, stride = {stride}, padding = {padding}"),
        );
        let got = check.run(|| f(size, kernel, stride, padding));
        let expected = geometry(1, size, size, kernel, stride, padding).out_h();
        check.that(
            got == expected,
            format!("{expected}"),
            format!("{got}"),
            hint,
        )?;
    }
    Ok(())
}

/// A square-kernel geometry for the crate's im2col.
fn geometry(
    channels: usize,
    height: usize,
    width: usize,
    kernel: usize,
    stride: usize,
    padding: usize,
) -> ConvGeometry {
    ConvGeometry {
        channels,
        height,
        width,
        kernel_h: kernel,
        kernel_w: kernel,
        stride_h: stride,
        stride_w: stride,
        pad_h: padding,
        pad_w: padding,
    }
}

/// Exercise 8.2: `im2col(image, channels, height, width, kernel, stride, padding)` returns the
/// `[C·k·k, H_out·W_out]` matrix whose column p holds the patch under output pixel p.
pub fn check_im2col(
    f: impl Fn(&[f32], usize, usize, usize, usize, usize, usize) -> Vec<f32>,
) -> CheckResult {
    let hint = "row (c, i, j) = c·k·k + i·k + j, column (r, s) = r·W_out + s; the value is \
                image[c][r·stride + i − padding][s·stride + j − padding], and 0 where that row or \
                column falls outside the image (the zero padding)";
    // (check, channels, height, width, kernel, stride, padding)
    let cases = [
        (
            "a 3×3 image, 2×2 kernel (by hand: columns are the 4 patches)",
            1,
            3,
            3,
            2,
            1,
            0,
        ),
        ("padding 1 puts zeros around a 2×2 image", 1, 2, 2, 3, 1, 1),
        ("two channels, 5×4 image, 3×3 kernel", 2, 5, 4, 3, 1, 0),
        ("stride 2 and padding 1, three channels", 3, 6, 6, 3, 2, 1),
        ("stride 3 on a 7×5 image", 1, 7, 5, 2, 3, 0),
        ("a 1×1 kernel (the image itself)", 2, 4, 4, 1, 1, 0),
        (
            "padding 2 with a kernel as large as the padded image",
            1,
            5,
            5,
            5,
            1,
            2,
        ),
    ];
    for (case, &(name, channels, height, width, kernel, stride, padding)) in
        cases.iter().enumerate()
    {
        let image: Vec<f32> = if case == 0 {
            (1..=9).map(|v| v as f32).collect()
        } else {
            random_values(channels * height * width, 1.0, 800 + case as u64)
        };
        let g = geometry(channels, height, width, kernel, stride, padding);
        let check = Check::new(
            name,
            format!(
                "{}, channels = {channels}, height = {height}, width = {width}, kernel = {kernel}, \
                 stride = {stride}, padding = {padding}",
                describe("image", &image, &[channels, height, width])
            ),
        );
        let got = check.run(|| f(&image, channels, height, width, kernel, stride, padding));
        let mut expected = vec![0.0; g.col_rows() * g.col_cols()];
        im2col(&g, &image, &mut expected);
        check.values(
            "cols",
            &got,
            &expected,
            &[g.col_rows(), g.col_cols()],
            Tolerance::EXACT,
            hint,
        )?;
    }
    Ok(())
}

/// The sizes of a convolution for exercise 8.3: a batch of `n` images `[C_in, H, W]`, `out_channels`
/// square kernels of side `kernel`, the same stride and zero padding in both directions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConvShape {
    /// Images in the batch, N.
    pub n: usize,
    /// Input channels, C_in.
    pub in_channels: usize,
    /// Image height, H.
    pub height: usize,
    /// Image width, W.
    pub width: usize,
    /// Output channels (kernels), C_out.
    pub out_channels: usize,
    /// Kernel side k (the kernel is k×k).
    pub kernel: usize,
    /// Stride (≥ 1).
    pub stride: usize,
    /// Zero padding on each side.
    pub padding: usize,
}

/// Exercise 8.3: `conv2d_forward(x, weight, bias, shape)` returns the convolution
/// `[N, C_out, H_out, W_out]` of `x` `[N, C_in, H, W]` with `weight` `[C_out, C_in, k, k]` plus
/// `bias` `[C_out]`.
pub fn check_conv2d_forward(
    f: impl Fn(&[f32], &[f32], &[f32], ConvShape) -> Vec<f32>,
) -> CheckResult {
    let hint = "per image: cols = im2col(image) [C_in·k·k, H_out·W_out], then \
                Y = weight·cols ([C_out, C_in·k·k]·[C_in·k·k, H_out·W_out]: the weight, read as a \
                matrix, is already in the right layout), plus bias[o] on every pixel of output \
                channel o; output channel o of image n starts at n·C_out·H_out·W_out + o·H_out·W_out";
    let shapes = [
        (
            "one image, one channel, 6×6, two 3×3 kernels",
            ConvShape {
                n: 1,
                in_channels: 1,
                height: 6,
                width: 6,
                out_channels: 2,
                kernel: 3,
                stride: 1,
                padding: 0,
            },
        ),
        (
            "two images, three channels, 5×7, padding 1",
            ConvShape {
                n: 2,
                in_channels: 3,
                height: 5,
                width: 7,
                out_channels: 4,
                kernel: 3,
                stride: 1,
                padding: 1,
            },
        ),
        (
            "stride 2",
            ConvShape {
                n: 3,
                in_channels: 2,
                height: 7,
                width: 7,
                out_channels: 3,
                kernel: 3,
                stride: 2,
                padding: 0,
            },
        ),
        (
            "a 1×1 kernel",
            ConvShape {
                n: 1,
                in_channels: 2,
                height: 4,
                width: 3,
                out_channels: 5,
                kernel: 1,
                stride: 1,
                padding: 0,
            },
        ),
        (
            "a kernel as large as the image",
            ConvShape {
                n: 2,
                in_channels: 2,
                height: 5,
                width: 5,
                out_channels: 3,
                kernel: 5,
                stride: 1,
                padding: 0,
            },
        ),
    ];
    for (case, (name, shape)) in shapes.into_iter().enumerate() {
        let seed = 820 + 10 * case as u64;
        let x_shape = [shape.n, shape.in_channels, shape.height, shape.width];
        let w_shape = [
            shape.out_channels,
            shape.in_channels,
            shape.kernel,
            shape.kernel,
        ];
        let x = random_values(x_shape.iter().product(), 1.0, seed);
        let weight = random_values(w_shape.iter().product(), 0.5, seed + 1);
        let bias = random_values(shape.out_channels, 0.5, seed + 2);
        let check = Check::new(
            name,
            format!(
                "{}, {}, {}, {shape:?}",
                describe("x", &x, &x_shape),
                describe("weight", &weight, &w_shape),
                describe("bias", &bias, &[shape.out_channels])
            ),
        );
        let got = check.run(|| f(&x, &weight, &bias, shape));
        let expected = conv2d_reference(
            &Tensor::from_vec(&x_shape, x.clone()),
            &Tensor::from_vec(&w_shape, weight.clone()),
            Some(&Tensor::from_vec(&[shape.out_channels], bias.clone())),
            (shape.stride, shape.stride),
            (shape.padding, shape.padding),
        );
        check.values(
            "y",
            &got,
            expected.data(),
            expected.shape(),
            Tolerance::new(1e-4, 1e-4),
            hint,
        )?;
    }
    Ok(())
}

/// The sizes of max pooling for exercise 8.4: `n` images `[C, H, W]`, square windows of side `kernel`
/// moved by `stride`, no padding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolShape {
    /// Images in the batch, N.
    pub n: usize,
    /// Channels, C.
    pub channels: usize,
    /// Image height, H.
    pub height: usize,
    /// Image width, W.
    pub width: usize,
    /// Window side k.
    pub kernel: usize,
    /// Stride (PyTorch's default is the window side).
    pub stride: usize,
}

impl PoolShape {
    fn out(&self) -> (usize, usize) {
        (
            (self.height - self.kernel) / self.stride + 1,
            (self.width - self.kernel) / self.stride + 1,
        )
    }
}

/// Max pooling written out: for every window, its largest value (f64 sum of nothing: a copy).
fn max_pool(x: &[f32], s: PoolShape) -> Vec<f32> {
    let (out_h, out_w) = s.out();
    let mut y = Vec::with_capacity(s.n * s.channels * out_h * out_w);
    for plane in x.chunks(s.height * s.width) {
        for r in 0..out_h {
            for c in 0..out_w {
                let mut best = f32::NEG_INFINITY;
                for i in 0..s.kernel {
                    for j in 0..s.kernel {
                        best = best.max(plane[(r * s.stride + i) * s.width + c * s.stride + j]);
                    }
                }
                y.push(best);
            }
        }
    }
    y
}

/// Exercise 8.4: `maxpool2d_backward(x, grad_output, shape)` returns ∂L/∂x `[N, C, H, W]`: each
/// output's gradient goes to the input that was its window's maximum.
pub fn check_maxpool2d_backward(f: impl Fn(&[f32], &[f32], PoolShape) -> Vec<f32>) -> CheckResult {
    let hint = "for every window: find the position of its maximum in x (the first one in reading \
                order on a tie) and *add* the window's output gradient there (+=: overlapping \
                windows can pick the same input); every other input of the window gets nothing, and \
                inputs in no window get 0";
    let shapes = [
        (
            "the tutorial's 2×2 windows, stride 2",
            PoolShape {
                n: 2,
                channels: 3,
                height: 4,
                width: 4,
                kernel: 2,
                stride: 2,
            },
        ),
        (
            "overlapping windows (3×3, stride 2) add up",
            PoolShape {
                n: 1,
                channels: 2,
                height: 5,
                width: 5,
                kernel: 3,
                stride: 2,
            },
        ),
        (
            "stride 1 on a 5×7 image",
            PoolShape {
                n: 1,
                channels: 1,
                height: 5,
                width: 7,
                kernel: 2,
                stride: 1,
            },
        ),
        (
            "an odd size: the last row and column are in no window",
            PoolShape {
                n: 2,
                channels: 1,
                height: 5,
                width: 5,
                kernel: 2,
                stride: 2,
            },
        ),
        (
            "one window over the whole image",
            PoolShape {
                n: 1,
                channels: 2,
                height: 3,
                width: 3,
                kernel: 3,
                stride: 3,
            },
        ),
    ];
    for (case, (name, shape)) in shapes.into_iter().enumerate() {
        let len = shape.n * shape.channels * shape.height * shape.width;
        // Distinct values 0.1 apart, shuffled: a finite-difference nudge of 0.01 never changes which
        // input wins a window.
        let mut rng = Rng::new(840 + case as u64);
        let mut x: Vec<f32> = rng
            .permutation(len)
            .into_iter()
            .map(|v| v as f32 * 0.1 - 1.0)
            .collect();
        if shape.stride < shape.kernel {
            // Move each plane's largest value into the middle of the overlap of windows, so that one
            // input wins several windows and their gradients must add up.
            let middle = (shape.height / 2) * shape.width + shape.width / 2;
            for plane in x.chunks_mut(shape.height * shape.width) {
                let largest = (0..plane.len())
                    .max_by(|&a, &b| plane[a].total_cmp(&plane[b]))
                    .unwrap_or(0);
                plane.swap(largest, middle);
            }
        }
        let (out_h, out_w) = shape.out();
        let y_shape = [shape.n, shape.channels, out_h, out_w];
        let x_shape = [shape.n, shape.channels, shape.height, shape.width];
        let dy = random_values(y_shape.iter().product(), 1.0, 850 + case as u64);
        let check = Check::new(
            name,
            format!(
                "{}, {}, {shape:?}",
                describe("x", &x, &x_shape),
                describe("grad_output", &dy, &y_shape)
            ),
        );
        let dx = check.run(|| f(&x, &dy, shape));
        check.length("dx", dx.len(), len, &x_shape)?;
        check.gradient(
            "x",
            &x_shape,
            &x,
            &dx,
            |v| {
                max_pool(v, shape)
                    .iter()
                    .zip(&dy)
                    .map(|(&a, &b)| f64::from(a) * f64::from(b))
                    .sum()
            },
            hint,
        )?;
    }

    // Ties: a constant image. PyTorch (and the crate) give each window's gradient to its first
    // maximum in reading order.
    let shape = PoolShape {
        n: 1,
        channels: 1,
        height: 4,
        width: 4,
        kernel: 2,
        stride: 2,
    };
    let x = vec![0.5; 16];
    let dy = vec![1.0, 2.0, 3.0, 4.0];
    let check = Check::new(
        "ties go to the first maximum in reading order",
        format!(
            "{}, {}, {shape:?}",
            describe("x", &x, &[1, 1, 4, 4]),
            describe("grad_output", &dy, &[1, 1, 2, 2])
        ),
    );
    let dx = check.run(|| f(&x, &dy, shape));
    let mut pool = MaxPool2d::new(2);
    pool.forward(&Tensor::from_vec(&[1, 1, 4, 4], x.clone()), Mode::Train);
    let expected = pool.backward(&Tensor::from_vec(&[1, 1, 2, 2], dy.clone()));
    check.values(
        "dx",
        &dx,
        expected.data(),
        &[1, 1, 4, 4],
        Tolerance::EXACT,
        "when several inputs of a window share the maximum, the whole gradient goes to the first \
         of them in reading order (row by row, left to right), as in PyTorch — not to each of them \
         (that would multiply the gradient)",
    )
}
