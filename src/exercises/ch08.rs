//! Chapter 8 exercises: the convolutional network's convolution and pooling. Check them with
//! `cargo test --features exercises --test exercises -- ch08`.

// The stubs do not use their parameters until you write them.
#![allow(unused_variables)]

pub use crate::check::ch08::{ConvShape, PoolShape};

/// **Exercise 8.1 — the output size of a convolution** (or of a pooling window) along one axis.
///
/// - `size`: the input's height (or width); `kernel`: the kernel's side; `stride`: the step between
///   two kernel positions (≥ 1); `padding`: the zeros added on **each** side.
/// - returns `(size + 2·padding − kernel) / stride + 1`, rounded down.
///
/// Why: the padded input has `size + 2·padding` values; the kernel fits at its first position, then
/// at every `stride` steps while it still fits — a last partial step is dropped.
///
/// Examples: the tutorial's 52×52 image with a 3×3 kernel gives 50×50 (and its 2×2 max-pool 25×25);
/// padding 1 keeps a 3×3 kernel's output the size of its input.
///
/// Reference, once yours passes: `src/nn/im2col.rs` (`ConvGeometry::out_h`).
pub fn conv_output_size(size: usize, kernel: usize, stride: usize, padding: usize) -> usize {
    todo!("exercise 8.1: conv_output_size — see the doc comment")
}

/// **Exercise 8.2 — im2col**: every patch the kernel sees, as a column of a matrix.
///
/// - `image`: one image `[C, H, W]` row-major (`channels`, `height`, `width`); a square `kernel`,
///   `stride` and zero `padding` as in exercise 8.1.
/// - returns `cols`, `[C·k·k, H_out·W_out]` row-major: row `(c, i, j)` = `c·k·k + i·k + j` (one per
///   kernel weight), column `(r, s)` = `r·W_out + s` (one per output pixel), and
///   `cols[(c, i, j)][(r, s)] = image[c][r·stride + i − padding][s·stride + j − padding]`, or **0**
///   where that row or column falls outside the image (the zero padding).
///
/// Why: then the convolution with all kernels at once is one matrix product
/// `weight [C_out, C·k·k] · cols [C·k·k, H_out·W_out]` (exercise 8.3) — which is how fast libraries
/// compute it.
///
/// Example: the 3×3 image 1…9 (`[[1, 2, 3], [4, 5, 6], [7, 8, 9]]`) with a 2×2 kernel, stride 1, no
/// padding has four output pixels, whose patches `[1, 2, 4, 5]`, `[2, 3, 5, 6]`, `[4, 5, 7, 8]`,
/// `[5, 6, 8, 9]` become the four columns of `cols` (4 rows, one per kernel weight).
///
/// Hint: compute the input row as a signed number (`as isize`) before comparing it with 0 and H: with
/// padding it can be negative.
///
/// Reference, once yours passes: `src/nn/im2col.rs` (`im2col`).
pub fn im2col(
    image: &[f32],
    channels: usize,
    height: usize,
    width: usize,
    kernel: usize,
    stride: usize,
    padding: usize,
) -> Vec<f32> {
    todo!("exercise 8.2: im2col — see the doc comment")
}

/// **Exercise 8.3 — the convolution forward pass via im2col** (`nn.Conv2d`).
///
/// - `x`: a batch `[N, C_in, H, W]`; `weight`: `[C_out, C_in, k, k]`; `bias`: `[C_out]`; `shape`:
///   the sizes (N, C_in, H, W, C_out, k, stride, padding).
/// - returns y, `[N, C_out, H_out, W_out]` (sizes from exercise 8.1):
///   `y[n][o][r][s] = bias[o] + Σ_{c,i,j} weight[o][c][i][j] · x[n][c][r·stride + i − padding][s·stride + j − padding]`
///   (with x = 0 in the padding). (Deep learning's "convolution" does not flip the kernel.)
///
/// Method: for each image n, `cols = im2col(x[n])` (exercise 8.2), then the matrix product
/// `weight [C_out, C_in·k·k] · cols [C_in·k·k, H_out·W_out]` (exercise 2.1: the weight buffer is
/// already that matrix), then add `bias[o]` to every value of output channel o.
///
/// Hint: image n of x starts at `n·C_in·H·W`; its output at `n·C_out·H_out·W_out`. You may call
/// your own `im2col` and `super::ch02::matmul`, or the crate's.
///
/// Reference, once yours passes: `src/nn/conv.rs` (`Conv2d::forward`, and `conv2d_reference`: the
/// same as six nested loops).
pub fn conv2d_forward(x: &[f32], weight: &[f32], bias: &[f32], shape: ConvShape) -> Vec<f32> {
    todo!("exercise 8.3: conv2d_forward — see the doc comment")
}

/// **Exercise 8.4 — the backward pass of max pooling** (`nn.MaxPool2d`).
///
/// - `x`: the input of the forward pass `[N, C, H, W]`; `grad_output`: dy = ∂L/∂y,
///   `[N, C, H_out, W_out]` with `H_out = (H − k) / stride + 1` (likewise W_out); `shape`: the sizes
///   (N, C, H, W, window side k, stride).
/// - returns dx = ∂L/∂x, `[N, C, H, W]`: for every window, the gradient of its output goes to the
///   input that was the window's maximum: `dx[argmax] += dy[window]`; every other input gets 0.
///
/// Why: y = max(window) changes only when its largest input changes (by the same amount), so its
/// derivative is 1 for that input and 0 for the others.
///
/// Hints: find each window's arg-max in x again (the forward pass did the same search). **Add**
/// (`+=`): when windows overlap (stride < k) one input can win several of them. On a tie, give the
/// gradient to the first maximum in reading order (row by row, left to right), as PyTorch does —
/// to one input only.
///
/// Reference, once yours passes: `src/nn/pool.rs` (`MaxPool2d::backward`).
pub fn maxpool2d_backward(x: &[f32], grad_output: &[f32], shape: PoolShape) -> Vec<f32> {
    todo!("exercise 8.4: maxpool2d_backward — see the doc comment")
}
