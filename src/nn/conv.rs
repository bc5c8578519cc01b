//! `Conv2d`: the 2-D convolution layer of chapter 8 (卷积神经网络) and of the CIFAR-10 model of
//! chapter 12, as PyTorch's `nn.Conv2d`.
//!
//! # Forward
//! For an input `x` of shape `[N, C_in, H, W]`, weights `w` `[C_out, C_in, kh, kw]` and bias `b`
//! `[C_out]`, the output `y` has shape `[N, C_out, H_out, W_out]` with
//!
//! ```text
//! y[n, o, r, s] = b[o] + Σ_{c, i, j} w[o, c, i, j] · x[n, c, r·sh − ph + i, s·sw − pw + j]
//! H_out = (H + 2·ph − kh) / sh + 1,   W_out = (W + 2·pw − kw) / sw + 1     (x is 0 outside the image)
//! ```
//!
//! (Deep-learning "convolution" is a cross-correlation: the kernel is not flipped.) [`conv2d_reference`]
//! is that formula as six nested loops; the layer computes the same numbers image by image as one
//! matrix product: `Y_n[C_out, P] = W[C_out, K] · cols_n[K, P]` with `cols_n = im2col(x_n)` (see
//! [`super::im2col`]), `K = C_in·kh·kw`, `P = H_out·W_out`, plus the bias on every row.
//!
//! # Backward
//! Given `dY = ∂L/∂y`, for every image n (with `cols_n` recomputed from the cached input):
//!
//! ```text
//! ∂L/∂W += dY_n · cols_nᵀ               [C_out, P]·[P, K]   (summed over the batch)
//! ∂L/∂b += Σ_p dY_n[:, p]               (summed over the batch and the output pixels)
//! ∂L/∂x_n = col2im(Wᵀ · dY_n)            [K, C_out]·[C_out, P], folded back onto the image
//! ```
//!
//! The first layer of a network can skip ∂L/∂x ([`Conv2dBuilder::input_gradient`]).
//!
//! For stride 1 without padding, when the output is not much narrower than the input (chapter 12's
//! layers: 28 of 32 and 10 of 14 columns), the layer uses *wide rows* ([`super::im2col::im2col_wide`]): it computes
//! every output row at the input's full width and drops the extra columns, which makes im2col one
//! contiguous copy per kernel weight instead of one short copy per output row (and col2im one
//! contiguous add).
//!
//! # Threads and determinism
//! Images are split into fixed chunks of [`CHUNK_IMAGES`]; the threads of [`crate::parallel`] take
//! whole chunks. Each chunk writes its own images of `y` / `∂L/∂x` and its own partial weight and bias
//! gradient; the partials are then added in chunk order. The chunks do not depend on the thread count,
//! so the gradients are bit-identical for any number of threads.
//!
//! # Memory
//! The layer keeps its buffers between steps (the cached input, one im2col buffer per thread, the
//! per-chunk partial gradients), so a training step allocates only the tensors it returns. It caches
//! the *input*, not the im2col matrices (which are `kh·kw` times larger), and recomputes `cols_n` in
//! the backward pass: copying is cheap next to the matrix products, and the buffer stays in cache.
//!
//! What it leaves out: dilation, groups, padding modes other than zeros, `padding="same"`.

use super::im2col::{ConvGeometry, col2im, col2im_wide, im2col, im2col_wide};
use super::layer::{Layer, Mode, Param, panic_without_cache};
use crate::linalg::gemm::{gemm_nn, gemm_nt, gemm_tn};
use crate::parallel;
use crate::probability::Rng;
use crate::tensor::Tensor;
use std::sync::{Mutex, MutexGuard, TryLockError};

/// Images per chunk of the batch (the unit of work of one thread, and of one partial weight gradient).
/// Fixed, so that sums over the batch are grouped the same way for every thread count.
pub const CHUNK_IMAGES: usize = 4;

/// Scratch buffers of one thread: the im2col matrix of the current image and its gradient, and the
/// wide output (or output gradient) of the wide lowering.
#[derive(Default)]
struct Workspace {
    cols: Vec<f32>,
    grad_cols: Vec<f32>,
    wide: Vec<f32>,
}

/// A 2-D convolution over `[N, C_in, H, W]` images (see the module docs for the formulas).
pub struct Conv2d {
    /// Kernels, `[C_out, C_in, kh, kw]` (PyTorch's layout and name: `weight`).
    pub weight: Param,
    /// One bias per output channel, `[C_out]`; `None` for `bias=False`.
    pub bias: Option<Param>,
    in_channels: usize,
    out_channels: usize,
    kernel: (usize, usize),
    stride: (usize, usize),
    padding: (usize, usize),
    input_gradient: bool,
    /// The last training input and its shape (what backward needs).
    input: Vec<f32>,
    input_shape: Option<[usize; 4]>,
    /// One workspace per thread that may run at the same time.
    workspaces: Vec<Mutex<Workspace>>,
    /// Per-chunk partial gradients: `C_out·K` weight values then `C_out` bias values per chunk.
    partials: Vec<f32>,
}

/// Builds a [`Conv2d`] with options other than the defaults of [`Conv2d::new`].
///
/// ```
/// use dlfs::nn::Conv2d;
/// use dlfs::probability::Rng;
/// let mut rng = Rng::new(0);
/// // nn.Conv2d(3, 16, kernel_size=3, stride=2, padding=1, bias=False)
/// let conv = Conv2d::builder(3, 16, 3).stride(2).padding(1).bias(false).build(&mut rng);
/// assert_eq!(conv.output_shape(&[8, 3, 32, 32]), vec![8, 16, 16, 16]);
/// ```
#[derive(Clone, Debug)]
pub struct Conv2dBuilder {
    in_channels: usize,
    out_channels: usize,
    kernel: (usize, usize),
    stride: (usize, usize),
    padding: (usize, usize),
    bias: bool,
    input_gradient: bool,
}

impl Conv2dBuilder {
    /// A kernel of `kernel_h × kernel_w` instead of a square one.
    pub fn kernel_hw(mut self, kernel_h: usize, kernel_w: usize) -> Conv2dBuilder {
        self.kernel = (kernel_h, kernel_w);
        self
    }

    /// The same stride in both directions (default 1).
    pub fn stride(self, stride: usize) -> Conv2dBuilder {
        self.stride_hw(stride, stride)
    }

    /// Separate vertical and horizontal strides.
    pub fn stride_hw(mut self, stride_h: usize, stride_w: usize) -> Conv2dBuilder {
        self.stride = (stride_h, stride_w);
        self
    }

    /// The same zero padding on all four sides (default 0).
    pub fn padding(self, padding: usize) -> Conv2dBuilder {
        self.padding_hw(padding, padding)
    }

    /// Zero rows above and below (`pad_h`) and zero columns left and right (`pad_w`).
    pub fn padding_hw(mut self, pad_h: usize, pad_w: usize) -> Conv2dBuilder {
        self.padding = (pad_h, pad_w);
        self
    }

    /// Whether the layer has a bias (default true).
    pub fn bias(mut self, bias: bool) -> Conv2dBuilder {
        self.bias = bias;
        self
    }

    /// Whether `backward` computes ∂L/∂input (default true). Turn it off **only for the first layer of
    /// a network**, whose input is data and needs no gradient (PyTorch skips it the same way, because
    /// the input does not `requires_grad`): it saves a third of the layer's backward work. `backward`
    /// then returns a tensor of zeros.
    pub fn input_gradient(mut self, input_gradient: bool) -> Conv2dBuilder {
        self.input_gradient = input_gradient;
        self
    }

    /// Creates the layer with PyTorch's default initialisation: every weight and bias drawn uniformly
    /// from `[−1/√fan_in, 1/√fan_in]`, `fan_in = C_in·kh·kw` (what `kaiming_uniform_(a=√5)` reduces to).
    /// Panics if a size or stride is zero.
    pub fn build(self, rng: &mut Rng) -> Conv2d {
        let (kh, kw) = self.kernel;
        assert!(
            self.in_channels > 0 && self.out_channels > 0 && kh > 0 && kw > 0,
            "Conv2d: channels and kernel sizes must be ≥ 1, got in {}, out {}, kernel {kh}×{kw}",
            self.in_channels,
            self.out_channels
        );
        assert!(
            self.stride.0 > 0 && self.stride.1 > 0,
            "Conv2d: strides must be ≥ 1, got {:?}",
            self.stride
        );
        let fan_in = self.in_channels * kh * kw;
        let bound = 1.0 / (fan_in as f32).sqrt();
        let weight = Tensor::rand_uniform(
            &[self.out_channels, self.in_channels, kh, kw],
            -bound,
            bound,
            rng,
        );
        let bias = self.bias.then(|| {
            Param::new(Tensor::rand_uniform(
                &[self.out_channels],
                -bound,
                bound,
                rng,
            ))
        });
        Conv2d {
            weight: Param::new(weight),
            bias,
            in_channels: self.in_channels,
            out_channels: self.out_channels,
            kernel: self.kernel,
            stride: self.stride,
            padding: self.padding,
            input_gradient: self.input_gradient,
            input: Vec::new(),
            input_shape: None,
            workspaces: Vec::new(),
            partials: Vec::new(),
        }
    }
}

/// Locks whichever workspace is free. There are at least as many workspaces as threads that can run
/// at once, so one is always free; which one a chunk gets does not change any result.
fn lock_free_workspace(workspaces: &[Mutex<Workspace>]) -> MutexGuard<'_, Workspace> {
    loop {
        for workspace in workspaces {
            match workspace.try_lock() {
                Ok(guard) => return guard,
                // A panic in another task poisoned it; its buffers are scratch, so reuse them.
                Err(TryLockError::Poisoned(poisoned)) => return poisoned.into_inner(),
                Err(TryLockError::WouldBlock) => {}
            }
        }
        std::thread::yield_now();
    }
}

/// Adds `bias[o]` to every value of row `o` of `y` (`[C_out, P]`).
fn add_bias(y: &mut [f32], bias: &[f32], pixels: usize) {
    for (row, &b) in y.chunks_exact_mut(pixels).zip(bias) {
        for v in row {
            *v += b;
        }
    }
}

impl Conv2d {
    /// `nn.Conv2d(in_channels, out_channels, kernel_size)`: a square kernel, stride 1, no padding,
    /// with bias, PyTorch's default initialisation (see [`Conv2dBuilder::build`]).
    pub fn new(
        in_channels: usize,
        out_channels: usize,
        kernel_size: usize,
        rng: &mut Rng,
    ) -> Conv2d {
        Conv2d::builder(in_channels, out_channels, kernel_size).build(rng)
    }

    /// A builder for the other options (stride, padding, rectangular kernels, no bias).
    pub fn builder(in_channels: usize, out_channels: usize, kernel_size: usize) -> Conv2dBuilder {
        Conv2dBuilder {
            in_channels,
            out_channels,
            kernel: (kernel_size, kernel_size),
            stride: (1, 1),
            padding: (0, 0),
            bias: true,
            input_gradient: true,
        }
    }

    /// Input channels C_in.
    pub fn in_channels(&self) -> usize {
        self.in_channels
    }

    /// Output channels C_out.
    pub fn out_channels(&self) -> usize {
        self.out_channels
    }

    /// Kernel size `(kh, kw)`.
    pub fn kernel_size(&self) -> (usize, usize) {
        self.kernel
    }

    /// Strides `(sh, sw)`.
    pub fn stride(&self) -> (usize, usize) {
        self.stride
    }

    /// Zero padding `(ph, pw)`.
    pub fn padding(&self) -> (usize, usize) {
        self.padding
    }

    /// Whether `backward` computes ∂L/∂x (see [`Conv2dBuilder::input_gradient`]).
    pub fn input_gradient(&self) -> bool {
        self.input_gradient
    }

    /// Switches the computation of ∂L/∂x on or off. A model's first layer skips it while training
    /// (the data need no gradient); switch it on to take input gradients of a trained model
    /// (saliency maps, adversarial examples): `model.conv1.set_input_gradient(true)`.
    pub fn set_input_gradient(&mut self, input_gradient: bool) {
        self.input_gradient = input_gradient;
    }

    /// The geometry for an input of shape `[N, C_in, H, W]`; panics (naming the shapes) otherwise.
    fn geometry(&self, shape: &[usize]) -> ConvGeometry {
        assert!(
            shape.len() == 4 && shape[1] == self.in_channels,
            "{}: expected an input of shape [N, {}, H, W], got {shape:?}",
            self.describe(),
            self.in_channels
        );
        ConvGeometry {
            channels: self.in_channels,
            height: shape[2],
            width: shape[3],
            kernel_h: self.kernel.0,
            kernel_w: self.kernel.1,
            stride_h: self.stride.0,
            stride_w: self.stride.1,
            pad_h: self.padding.0,
            pad_w: self.padding.1,
        }
    }

    /// The output shape `[N, C_out, H_out, W_out]` for an input shape `[N, C_in, H, W]`.
    pub fn output_shape(&self, input_shape: &[usize]) -> Vec<usize> {
        let g = self.geometry(input_shape);
        vec![input_shape[0], self.out_channels, g.out_h(), g.out_w()]
    }

    /// Makes sure there is a workspace for every thread that may run a chunk.
    fn ensure_workspaces(&mut self) {
        let threads = parallel::num_threads().max(1);
        while self.workspaces.len() < threads {
            self.workspaces.push(Mutex::new(Workspace::default()));
        }
    }
}

/// What every image of a batch needs to know, shared by the threads.
struct Plan<'a> {
    g: ConvGeometry,
    out_channels: usize,
    weight: &'a [f32],
    bias: Option<&'a [f32]>,
}

impl Plan<'_> {
    /// The im2col matrix of `image` (the image itself for a pointwise convolution).
    fn columns<'b>(&self, image: &'b [f32], cols: &'b mut Vec<f32>) -> &'b [f32] {
        if self.g.is_pointwise() {
            return image;
        }
        cols.resize(self.g.col_rows() * self.g.col_cols(), 0.0);
        im2col(&self.g, image, cols);
        cols
    }

    /// `y_n` = the convolution of one image.
    fn forward_image(&self, workspace: &mut Workspace, image: &[f32], y_n: &mut [f32]) {
        let (c_out, k, p) = (self.out_channels, self.g.col_rows(), self.g.col_cols());
        if self.g.fits_wide_rows() {
            // Wide rows (see `im2col_wide`): compute every output row at the input's width W,
            // then keep its first W_out values.
            let (width, out_w) = (self.g.width, self.g.out_w());
            let wide = self.g.out_h() * width;
            workspace.cols.resize(k * wide, 0.0);
            im2col_wide(&self.g, image, &mut workspace.cols);
            workspace.wide.resize(c_out * wide, 0.0);
            gemm_nn(
                c_out,
                wide,
                k,
                self.weight,
                &workspace.cols,
                &mut workspace.wide,
                0.0,
            );
            for (y_row, wide_row) in y_n
                .chunks_exact_mut(out_w)
                .zip(workspace.wide.chunks_exact(width))
            {
                y_row.copy_from_slice(&wide_row[..out_w]);
            }
        } else {
            let cols = self.columns(image, &mut workspace.cols);
            // Y_n[C_out, P] = W[C_out, K] · cols[K, P]
            gemm_nn(c_out, p, k, self.weight, cols, y_n, 0.0);
        }
        if let Some(bias) = self.bias {
            add_bias(y_n, bias, p);
        }
    }

    /// Adds one image's weight and bias gradients into `grad_weight`, `grad_bias`, and writes its
    /// input gradient into `grad_x_n` when asked.
    fn backward_image(
        &self,
        workspace: &mut Workspace,
        image: &[f32],
        grad_y_n: &[f32],
        grad_weight: &mut [f32],
        grad_bias: &mut [f32],
        grad_x_n: Option<&mut [f32]>,
    ) {
        let (c_out, k, p) = (self.out_channels, self.g.col_rows(), self.g.col_cols());
        for (gb, row) in grad_bias.iter_mut().zip(grad_y_n.chunks_exact(p)) {
            *gb += row.iter().sum::<f32>();
        }
        if self.g.fits_wide_rows() {
            self.backward_image_wide(workspace, image, grad_y_n, grad_weight, grad_x_n);
            return;
        }
        let cols = self.columns(image, &mut workspace.cols);
        // ∂L/∂W += dY_n[C_out, P] · cols[K, P]ᵀ
        gemm_nt(c_out, k, p, grad_y_n, cols, grad_weight, 1.0);
        let Some(grad_x_n) = grad_x_n else {
            return;
        };
        // ∂L/∂cols = Wᵀ · dY_n, then folded back onto the image.
        if self.g.is_pointwise() {
            gemm_tn(k, p, c_out, self.weight, grad_y_n, grad_x_n, 0.0);
        } else {
            workspace.grad_cols.resize(k * p, 0.0);
            gemm_tn(
                k,
                p,
                c_out,
                self.weight,
                grad_y_n,
                &mut workspace.grad_cols,
                0.0,
            );
            col2im(&self.g, &workspace.grad_cols, grad_x_n);
        }
    }

    /// [`Plan::backward_image`] with wide rows (see [`im2col_wide`]): dY_n's rows are padded with
    /// zeros to the input's width W, so that the extra columns of the wide matrices add nothing.
    ///
    /// ```text
    /// ∂L/∂W += dY_wide · cols_wideᵀ                  [C_out, H_out·W]·[H_out·W, K]
    /// ∂L/∂x_n = col2im_wide(Wᵀ · dY_wide)             one contiguous add per kernel weight
    /// ```
    fn backward_image_wide(
        &self,
        workspace: &mut Workspace,
        image: &[f32],
        grad_y_n: &[f32],
        grad_weight: &mut [f32],
        grad_x_n: Option<&mut [f32]>,
    ) {
        let (c_out, k) = (self.out_channels, self.g.col_rows());
        let (width, out_w) = (self.g.width, self.g.out_w());
        let wide = self.g.out_h() * width;
        workspace.cols.resize(k * wide, 0.0);
        im2col_wide(&self.g, image, &mut workspace.cols);
        workspace.wide.resize(c_out * wide, 0.0);
        for (wide_row, dy_row) in workspace
            .wide
            .chunks_exact_mut(width)
            .zip(grad_y_n.chunks_exact(out_w))
        {
            wide_row[..out_w].copy_from_slice(dy_row);
            wide_row[out_w..].fill(0.0);
        }
        gemm_nt(
            c_out,
            k,
            wide,
            &workspace.wide,
            &workspace.cols,
            grad_weight,
            1.0,
        );
        if let Some(grad_x_n) = grad_x_n {
            workspace.grad_cols.resize(k * wide, 0.0);
            gemm_tn(
                k,
                wide,
                c_out,
                self.weight,
                &workspace.wide,
                &mut workspace.grad_cols,
                0.0,
            );
            col2im_wide(&self.g, &workspace.grad_cols, grad_x_n);
        }
    }
}

impl Conv2d {
    fn plan(&self, g: ConvGeometry) -> Plan<'_> {
        Plan {
            g,
            out_channels: self.out_channels,
            weight: self.weight.value.data(),
            bias: self.bias.as_ref().map(|b| b.value.data()),
        }
    }
}

impl Layer for Conv2d {
    fn forward(&mut self, x: &Tensor, mode: Mode) -> Tensor {
        let g = self.geometry(x.shape());
        let (n, c_out) = (x.dim(0), self.out_channels);
        let image_len = g.image_len();
        self.ensure_workspaces();
        let mut y = Tensor::zeros(&[n, c_out, g.out_h(), g.out_w()]);
        let out_len = c_out * g.out_h() * g.out_w();
        // Train / Eval: keep the input for backward, in the same buffer every step (each chunk copies its
        // own images, so the copy runs on all threads). Inference: cache nothing, and mark the old input
        // stale so that a backward now is caught.
        let keep = mode.keeps_cache();
        if keep {
            self.input.resize(x.len(), 0.0);
            self.input_shape = Some([x.dim(0), x.dim(1), x.dim(2), x.dim(3)]);
        } else {
            self.input_shape = None;
        }
        if n > 0 && out_len > 0 && image_len > 0 {
            // The fields one by one (not `self.plan`), so that `self.input` can be borrowed mutably.
            let plan = Plan {
                g,
                out_channels: self.out_channels,
                weight: self.weight.value.data(),
                bias: self.bias.as_ref().map(|b| b.value.data()),
            };
            let workspaces = &self.workspaces;
            let cache_chunks = self
                .input
                .chunks_mut(CHUNK_IMAGES * image_len)
                .map(Some)
                .chain(std::iter::repeat_with(|| None));
            let mut jobs: Vec<(&mut [f32], Option<&mut [f32]>)> = y
                .data_mut()
                .chunks_mut(CHUNK_IMAGES * out_len)
                .zip(cache_chunks)
                .map(|(y_chunk, cache)| (y_chunk, if keep { cache } else { None }))
                .collect();
            parallel::for_each_chunk_mut(&mut jobs, 1, |chunk, job| {
                let (y_chunk, cache) = &mut job[0];
                let first = chunk * CHUNK_IMAGES;
                let count = y_chunk.len() / out_len;
                let images = &x.data()[first * image_len..(first + count) * image_len];
                if let Some(cache) = cache {
                    cache.copy_from_slice(images);
                }
                let mut workspace = lock_free_workspace(workspaces);
                for (image, y_n) in images
                    .chunks_exact(image_len)
                    .zip(y_chunk.chunks_exact_mut(out_len))
                {
                    plan.forward_image(&mut workspace, image, y_n);
                }
            });
        }
        y
    }

    fn backward(&mut self, grad_output: &Tensor) -> Tensor {
        let shape = self
            .input_shape
            .unwrap_or_else(|| panic_without_cache(&self.describe()));
        let g = self.geometry(&shape);
        let (n, c_out) = (shape[0], self.out_channels);
        let out_shape = [n, c_out, g.out_h(), g.out_w()];
        assert_eq!(
            grad_output.shape(),
            &out_shape,
            "{}: backward got a gradient of shape {:?} for an output of shape {out_shape:?}",
            self.describe(),
            grad_output.shape(),
        );
        self.ensure_workspaces();
        let image_len = g.image_len();
        let weight_len = c_out * g.col_rows();
        let partial_len = weight_len + c_out;
        let chunks = n.div_ceil(CHUNK_IMAGES);
        let mut partials = std::mem::take(&mut self.partials);
        partials.resize(chunks * partial_len, 0.0);
        let mut grad_input = Tensor::zeros(&shape);
        if n > 0 && image_len > 0 {
            let plan = self.plan(g);
            let input = &self.input;
            let workspaces = &self.workspaces;
            let input_gradient = self.input_gradient;
            // One job per chunk: its partial gradients and its images of ∂L/∂x.
            let mut jobs: Vec<(&mut [f32], &mut [f32])> = partials
                .chunks_exact_mut(partial_len)
                .zip(grad_input.data_mut().chunks_mut(CHUNK_IMAGES * image_len))
                .collect();
            parallel::for_each_chunk_mut(&mut jobs, 1, |chunk, job| {
                let (partial, grad_input_chunk) = &mut job[0];
                partial.fill(0.0);
                let (grad_weight, grad_bias) = partial.split_at_mut(weight_len);
                let mut workspace = lock_free_workspace(workspaces);
                let first = chunk * CHUNK_IMAGES;
                for (i, grad_x_n) in grad_input_chunk.chunks_exact_mut(image_len).enumerate() {
                    let image = &input[(first + i) * image_len..(first + i + 1) * image_len];
                    let grad_y_n = grad_output.row(first + i);
                    plan.backward_image(
                        &mut workspace,
                        image,
                        grad_y_n,
                        grad_weight,
                        grad_bias,
                        input_gradient.then_some(grad_x_n),
                    );
                }
            });
        }
        // Combine the chunks' partial sums in chunk order (the same order for any thread count).
        for partial in partials.chunks_exact(partial_len) {
            let (grad_weight, grad_bias) = partial.split_at(weight_len);
            for (g, &d) in self.weight.grad.data_mut().iter_mut().zip(grad_weight) {
                *g += d;
            }
            if let Some(bias) = &mut self.bias {
                for (g, &d) in bias.grad.data_mut().iter_mut().zip(grad_bias) {
                    *g += d;
                }
            }
        }
        self.partials = partials;
        grad_input
    }

    fn visit_params(&mut self, f: &mut dyn FnMut(&str, &mut Param)) {
        f("weight", &mut self.weight);
        if let Some(bias) = &mut self.bias {
            f("bias", bias);
        }
    }

    /// PyTorch's format: `Conv2d(3, 6, kernel_size=(5, 5), stride=(1, 1))`.
    fn describe(&self) -> String {
        let mut text = format!(
            "Conv2d({}, {}, kernel_size=({}, {}), stride=({}, {})",
            self.in_channels,
            self.out_channels,
            self.kernel.0,
            self.kernel.1,
            self.stride.0,
            self.stride.1
        );
        if self.padding != (0, 0) {
            text.push_str(&format!(
                ", padding=({}, {})",
                self.padding.0, self.padding.1
            ));
        }
        if self.bias.is_none() {
            text.push_str(", bias=False");
        }
        text.push(')');
        text
    }
}

/// The textbook convolution: the formula of the module docs as six nested loops (over n, o, r, s and
/// then c, i, j), accumulated in f64. Slow and obviously right — the yardstick [`Conv2d`] is tested
/// against, and the version chapter 8 works through by hand.
///
/// `x` is `[N, C_in, H, W]`, `weight` `[C_out, C_in, kh, kw]`, `bias` `[C_out]`; returns
/// `[N, C_out, H_out, W_out]`.
pub fn conv2d_reference(
    x: &Tensor,
    weight: &Tensor,
    bias: Option<&Tensor>,
    stride: (usize, usize),
    padding: (usize, usize),
) -> Tensor {
    assert!(
        x.ndim() == 4 && weight.ndim() == 4 && x.dim(1) == weight.dim(1),
        "conv2d_reference: input {:?} and weight {:?} do not fit ([N, C, H, W] and [C_out, C, kh, kw])",
        x.shape(),
        weight.shape()
    );
    let (n, c_in, h, w) = (x.dim(0), x.dim(1), x.dim(2), x.dim(3));
    let (c_out, kh, kw) = (weight.dim(0), weight.dim(2), weight.dim(3));
    let g = ConvGeometry {
        channels: c_in,
        height: h,
        width: w,
        kernel_h: kh,
        kernel_w: kw,
        stride_h: stride.0,
        stride_w: stride.1,
        pad_h: padding.0,
        pad_w: padding.1,
    };
    let (out_h, out_w) = (g.out_h(), g.out_w());
    let mut y = Tensor::zeros(&[n, c_out, out_h, out_w]);
    for b in 0..n {
        for o in 0..c_out {
            for r in 0..out_h {
                for s in 0..out_w {
                    let mut sum = bias.map_or(0.0, |bias| f64::from(bias.at(&[o])));
                    for c in 0..c_in {
                        for i in 0..kh {
                            for j in 0..kw {
                                // Input position, possibly in the zero padding.
                                let row = (r * stride.0 + i) as isize - padding.0 as isize;
                                let col = (s * stride.1 + j) as isize - padding.1 as isize;
                                if row < 0 || col < 0 || row >= h as isize || col >= w as isize {
                                    continue;
                                }
                                let pixel = x.at(&[b, c, row as usize, col as usize]);
                                sum += f64::from(weight.at(&[o, c, i, j])) * f64::from(pixel);
                            }
                        }
                    }
                    y.set(&[b, o, r, s], sum as f32);
                }
            }
        }
    }
    y
}
