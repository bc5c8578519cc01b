//! The crate's own kernels, loaded once per [`Gpu`], behind typed, checked operations.
//!
//! Each operation checks its buffers against the sizes it is given (a mismatch is a programming
//! error and panics, naming the operation and the sizes), chooses the launch configuration, and
//! queues the kernel. Nothing waits for the GPU: the work runs in order on the default stream, and
//! the next copy to the host (or [`Gpu::synchronize`]) waits for it.
//!
//! | operation | kernel | CPU counterpart |
//! |---|---|---|
//! | [`Gpu::bias_add_rows`] | `bias_add_rows` | `y + b` broadcast over rows (a linear layer's bias) |
//! | [`Gpu::relu_forward`] / [`Gpu::relu_forward_in_place`] | `relu_forward` | `max(x, 0)` |
//! | [`Gpu::relu_backward`] / [`Gpu::relu_backward_in_place`] | `relu_backward` | `dy · [x > 0]` |
//! | [`Gpu::column_sum`] | `column_sum` | [`crate::Tensor::sum_rows`] (a bias gradient) |
//! | [`Gpu::softmax_cross_entropy_forward`] | `softmax_cross_entropy_forward` | softmax + −log p\[label\] |
//! | [`Gpu::softmax_cross_entropy_backward`] | `softmax_cross_entropy_backward` | `(p − onehot) · scale` |
//! | [`Gpu::sgd_step`] | `sgd_momentum` | SGD with momentum, Nesterov, weight decay |
//! | [`Gpu::adam_step`] | `adam` | Adam / AdamW |
//! | [`Gpu::gemm`](super::gemm) | `sgemm_*` | [`crate::linalg::gemm()`] |

use super::buffer::DeviceBuffer;
use super::device::{Gpu, Inner};
use super::driver::{CuFunction, CuModule};
use super::kernels;
use super::module::{self, KernelArg};
use crate::error::{Error, Result};

/// Threads per block of the element-wise kernels.
const BLOCK: u32 = 256;

/// The loaded modules and the handle of every kernel in them.
pub(crate) struct Builtin {
    modules: Vec<CuModule>,
    /// Total JIT compile time of the modules, in milliseconds.
    pub(crate) jit_ms: f32,
    /// `(name, handle)` of every kernel, in the order of [`KERNEL_NAMES`].
    functions: Vec<(&'static str, CuFunction)>,
}

/// Every kernel the crate launches, grouped by module (see [`kernels`]).
pub const KERNEL_NAMES: &[&str] = &[
    "empty",
    "bias_add_rows",
    "relu_forward",
    "relu_backward",
    "column_sum",
    "softmax_cross_entropy_forward",
    "softmax_cross_entropy_backward",
    "sgd_momentum",
    "adam",
    "sgemm_nn",
    "sgemm_nt",
    "sgemm_tn",
    "sgemm_strided",
];

impl Builtin {
    fn load(inner: &Inner) -> Result<Builtin> {
        let mut builtin = Builtin {
            modules: Vec::new(),
            jit_ms: 0.0,
            functions: Vec::new(),
        };
        let sources: [(&str, String, &[&'static str]); 4] = [
            (
                "elementwise.ptx",
                kernels::ELEMENTWISE_PTX.to_string(),
                &KERNEL_NAMES[0..5],
            ),
            (
                "loss.ptx",
                kernels::LOSS_PTX.to_string(),
                &KERNEL_NAMES[5..7],
            ),
            (
                "optim.ptx",
                kernels::OPTIM_PTX.to_string(),
                &KERNEL_NAMES[7..9],
            ),
            ("sgemm.ptx", kernels::sgemm::ptx(), &KERNEL_NAMES[9..13]),
        ];
        for (file, text, names) in sources {
            let loaded = module::load_ptx(inner, &text, file);
            let (module, jit_ms, _) = match loaded {
                Ok(loaded) => loaded,
                Err(e) => {
                    builtin.unload(inner);
                    return Err(e);
                }
            };
            builtin.modules.push(module);
            builtin.jit_ms += jit_ms;
            for &name in names {
                match module::get_function(inner, module, name) {
                    Ok(function) => builtin.functions.push((name, function)),
                    Err(e) => {
                        builtin.unload(inner);
                        return Err(e);
                    }
                }
            }
        }
        Ok(builtin)
    }

    /// Unloads every module (called when the context goes away).
    pub(crate) fn unload(&self, inner: &Inner) {
        for &module in &self.modules {
            module::unload(inner, module);
        }
    }

    fn function(&self, name: &str) -> CuFunction {
        self.functions
            .iter()
            .find(|(n, _)| *n == name)
            .map(|&(_, f)| f)
            .unwrap_or_else(|| panic!("ops: no built-in kernel named {name}"))
    }
}

/// Resources of one compiled kernel on this device (see [`Gpu::kernel_resources`]).
#[derive(Clone, Debug, PartialEq)]
pub struct KernelResources {
    /// The kernel's name.
    pub name: &'static str,
    /// Registers per thread.
    pub registers: i32,
    /// Local memory per thread in bytes (non-zero usually means register spills).
    pub local_bytes: i32,
    /// Static shared memory per block in bytes.
    pub shared_bytes: i32,
}

/// Hyper-parameters of [`Gpu::sgd_step`] (PyTorch's `torch.optim.SGD`, dampening 0).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SgdConfig {
    /// Learning rate.
    pub lr: f32,
    /// Momentum factor μ (0 for plain SGD).
    pub momentum: f32,
    /// L2 penalty added to the gradient.
    pub weight_decay: f32,
    /// Nesterov momentum.
    pub nesterov: bool,
}

/// Hyper-parameters of [`Gpu::adam_step`] (PyTorch's `torch.optim.Adam` / `AdamW`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdamConfig {
    /// Learning rate.
    pub lr: f32,
    /// Decay of the first moment (0.9).
    pub beta1: f32,
    /// Decay of the second moment (0.999).
    pub beta2: f32,
    /// Added to the denominator (1e-8).
    pub eps: f32,
    /// Weight decay: an L2 term in the gradient (Adam) or a decay of the weights (AdamW).
    pub weight_decay: f32,
    /// True for AdamW's decoupled weight decay.
    pub decoupled: bool,
}

/// A size as the `u32` the kernels take, or an error when it does not fit.
fn fits_u32(value: usize, what: &str) -> Result<u32> {
    u32::try_from(value).map_err(|_| {
        Error::Gpu(format!(
            "{what} = {value} is too large for the GPU kernels (at most {})",
            u32::MAX
        ))
    })
}

/// Blocks of [`BLOCK`] threads for `n` elements (at least one block).
fn blocks_for(n: u32) -> u32 {
    n.div_ceil(BLOCK).max(1)
}

/// Panics unless `buffer` holds at least `needed` values.
fn check_len<T: super::buffer::DeviceScalar>(
    operation: &str,
    what: &str,
    buffer: &DeviceBuffer<T>,
    needed: usize,
) {
    assert!(
        buffer.len() >= needed,
        "{operation}: {what} holds {} values, needs {needed}",
        buffer.len()
    );
}

fn ptr<T: super::buffer::DeviceScalar>(buffer: &DeviceBuffer<T>) -> KernelArg {
    KernelArg::Pointer(buffer.device_pointer())
}

impl Gpu {
    /// The crate's kernels, compiled by the driver on first use (a few hundred milliseconds).
    pub(crate) fn builtin(&self) -> Result<&Builtin> {
        if let Some(builtin) = self.inner.builtin.get() {
            return Ok(builtin);
        }
        let builtin = Builtin::load(&self.inner)?;
        let _ = self.inner.builtin.set(builtin);
        Ok(self.inner.builtin.get().expect("just set"))
    }

    /// Compiles the crate's kernels now (otherwise the first operation does); returns the JIT
    /// compiler's total time in milliseconds.
    pub fn load_kernels(&self) -> Result<f32> {
        Ok(self.builtin()?.jit_ms)
    }

    /// Registers, local memory and shared memory of every built-in kernel as compiled for this GPU.
    pub fn kernel_resources(&self) -> Result<Vec<KernelResources>> {
        let builtin = self.builtin()?;
        let mut out = Vec::new();
        for &(name, function) in &builtin.functions {
            let (registers, local_bytes, shared_bytes) =
                module::function_resources(&self.inner, function)?;
            out.push(KernelResources {
                name,
                registers,
                local_bytes,
                shared_bytes,
            });
        }
        Ok(out)
    }

    /// Launches built-in kernel `name`.
    ///
    /// # Safety
    /// As [`module::launch_raw`]: the arguments match the kernel and the buffers are large enough.
    pub(crate) unsafe fn launch_builtin(
        &self,
        name: &'static str,
        grid: [u32; 3],
        block: [u32; 3],
        args: &[KernelArg],
    ) -> Result<()> {
        let function = self.builtin()?.function(name);
        // SAFETY: forwarded from the caller.
        unsafe { module::launch_raw(&self.inner, function, name, grid, block, 0, args) }
    }

    /// Launches the kernel that does nothing: what remains is the cost of a launch.
    pub fn launch_empty(&self) -> Result<()> {
        // SAFETY: `empty` takes no parameters and touches no memory.
        unsafe { self.launch_builtin("empty", [1, 1, 1], [1, 1, 1], &[]) }
    }

    /// `y[i, j] += bias[j]` for the first `rows × cols` values of `y` (row-major).
    pub fn bias_add_rows(
        &self,
        y: &mut DeviceBuffer<f32>,
        bias: &DeviceBuffer<f32>,
        rows: usize,
        cols: usize,
    ) -> Result<()> {
        check_len("bias_add_rows", "y", y, rows * cols);
        check_len("bias_add_rows", "bias", bias, cols);
        let n = fits_u32(rows * cols, "rows × cols")?;
        if n == 0 {
            return Ok(());
        }
        // SAFETY: (y, bias, rows, cols) as the kernel declares; y holds rows·cols values and bias
        // holds cols (checked above); the kernel touches no other index.
        unsafe {
            self.launch_builtin(
                "bias_add_rows",
                [blocks_for(n), 1, 1],
                [BLOCK, 1, 1],
                &[
                    ptr(y),
                    ptr(bias),
                    KernelArg::U32(rows as u32),
                    KernelArg::U32(cols as u32),
                ],
            )
        }
    }

    /// `y[i] = max(x[i], 0)` for the first `n` values.
    pub fn relu_forward(
        &self,
        x: &DeviceBuffer<f32>,
        y: &mut DeviceBuffer<f32>,
        n: usize,
    ) -> Result<()> {
        check_len("relu_forward", "x", x, n);
        check_len("relu_forward", "y", y, n);
        self.relu_forward_raw(x.device_pointer(), y.device_pointer(), n)
    }

    /// `x[i] = max(x[i], 0)` for the first `n` values, in place.
    pub fn relu_forward_in_place(&self, x: &mut DeviceBuffer<f32>, n: usize) -> Result<()> {
        check_len("relu_forward_in_place", "x", x, n);
        self.relu_forward_raw(x.device_pointer(), x.device_pointer(), n)
    }

    fn relu_forward_raw(&self, x: u64, y: u64, n: usize) -> Result<()> {
        let n = fits_u32(n, "n")?;
        if n == 0 {
            return Ok(());
        }
        // SAFETY: (x, y, n) as declared; both pointers address at least n values (checked by the
        // callers); each thread reads x[i] before writing y[i], so x == y is fine.
        unsafe {
            self.launch_builtin(
                "relu_forward",
                [blocks_for(n), 1, 1],
                [BLOCK, 1, 1],
                &[
                    KernelArg::Pointer(x),
                    KernelArg::Pointer(y),
                    KernelArg::U32(n),
                ],
            )
        }
    }

    /// `dx[i] = dy[i] if x[i] > 0 else 0` for the first `n` values (`x`: the ReLU's input or output).
    pub fn relu_backward(
        &self,
        x: &DeviceBuffer<f32>,
        dy: &DeviceBuffer<f32>,
        dx: &mut DeviceBuffer<f32>,
        n: usize,
    ) -> Result<()> {
        check_len("relu_backward", "x", x, n);
        check_len("relu_backward", "dy", dy, n);
        check_len("relu_backward", "dx", dx, n);
        self.relu_backward_raw(
            x.device_pointer(),
            dy.device_pointer(),
            dx.device_pointer(),
            n,
        )
    }

    /// `grad[i] = 0 where x[i] <= 0` for the first `n` values, in place.
    pub fn relu_backward_in_place(
        &self,
        x: &DeviceBuffer<f32>,
        grad: &mut DeviceBuffer<f32>,
        n: usize,
    ) -> Result<()> {
        check_len("relu_backward_in_place", "x", x, n);
        check_len("relu_backward_in_place", "grad", grad, n);
        self.relu_backward_raw(
            x.device_pointer(),
            grad.device_pointer(),
            grad.device_pointer(),
            n,
        )
    }

    fn relu_backward_raw(&self, x: u64, dy: u64, dx: u64, n: usize) -> Result<()> {
        let n = fits_u32(n, "n")?;
        if n == 0 {
            return Ok(());
        }
        // SAFETY: (x, dy, dx, n) as declared; all address at least n values (checked by the
        // callers); each thread reads before it writes its own index, so dx == dy is fine.
        unsafe {
            self.launch_builtin(
                "relu_backward",
                [blocks_for(n), 1, 1],
                [BLOCK, 1, 1],
                &[
                    KernelArg::Pointer(x),
                    KernelArg::Pointer(dy),
                    KernelArg::Pointer(dx),
                    KernelArg::U32(n),
                ],
            )
        }
    }

    /// `out[j] = beta · out[j] + Σᵢ x[i, j]` over the first `rows × cols` values of `x`; `out` is
    /// not read when `beta == 0`. Each column is summed in row order: deterministic.
    pub fn column_sum(
        &self,
        x: &DeviceBuffer<f32>,
        out: &mut DeviceBuffer<f32>,
        rows: usize,
        cols: usize,
        beta: f32,
    ) -> Result<()> {
        check_len("column_sum", "x", x, rows * cols);
        check_len("column_sum", "out", out, cols);
        fits_u32(rows * cols, "rows × cols")?;
        let cols32 = fits_u32(cols, "cols")?;
        if cols == 0 {
            return Ok(());
        }
        // SAFETY: (x, out, rows, cols, beta) as declared; x holds rows·cols values and out holds
        // cols (checked above); thread j touches column j only.
        unsafe {
            self.launch_builtin(
                "column_sum",
                [blocks_for(cols32), 1, 1],
                [BLOCK, 1, 1],
                &[
                    ptr(x),
                    ptr(out),
                    KernelArg::U32(rows as u32),
                    KernelArg::U32(cols32),
                    KernelArg::F32(beta),
                ],
            )
        }
    }

    /// Softmax and cross-entropy of `rows` rows of `classes` logits: writes the probabilities into
    /// `probs` (`[rows, classes]`) and `−log p[label]` of each row into `losses` (`[rows]`).
    /// `labels` must be below `classes` (a label that is not gives a NaN loss).
    pub fn softmax_cross_entropy_forward(
        &self,
        logits: &DeviceBuffer<f32>,
        labels: &DeviceBuffer<u32>,
        probs: &mut DeviceBuffer<f32>,
        losses: &mut DeviceBuffer<f32>,
        rows: usize,
        classes: usize,
    ) -> Result<()> {
        let operation = "softmax_cross_entropy_forward";
        check_len(operation, "logits", logits, rows * classes);
        check_len(operation, "labels", labels, rows);
        check_len(operation, "probs", probs, rows * classes);
        check_len(operation, "losses", losses, rows);
        fits_u32(rows * classes, "rows × classes")?;
        if rows == 0 {
            return Ok(());
        }
        let blocks = fits_u32(rows.div_ceil(8), "rows / 8")?;
        // SAFETY: the six arguments as declared; every buffer holds what rows × classes needs
        // (checked above); warp r touches row r only, and rows past the end return at once.
        unsafe {
            self.launch_builtin(
                operation,
                [blocks, 1, 1],
                [BLOCK, 1, 1],
                &[
                    ptr(logits),
                    ptr(labels),
                    ptr(probs),
                    ptr(losses),
                    KernelArg::U32(rows as u32),
                    KernelArg::U32(classes as u32),
                ],
            )
        }
    }

    /// `dlogits[i, j] = scale · (probs[i, j] − [j == labels[i]])` (`scale = 1/rows` for the mean).
    pub fn softmax_cross_entropy_backward(
        &self,
        probs: &DeviceBuffer<f32>,
        labels: &DeviceBuffer<u32>,
        dlogits: &mut DeviceBuffer<f32>,
        rows: usize,
        classes: usize,
        scale: f32,
    ) -> Result<()> {
        let operation = "softmax_cross_entropy_backward";
        check_len(operation, "probs", probs, rows * classes);
        check_len(operation, "labels", labels, rows);
        check_len(operation, "dlogits", dlogits, rows * classes);
        let n = fits_u32(rows * classes, "rows × classes")?;
        if n == 0 {
            return Ok(());
        }
        // SAFETY: the six arguments as declared; the buffers hold rows × classes values and rows
        // labels (checked above).
        unsafe {
            self.launch_builtin(
                operation,
                [blocks_for(n), 1, 1],
                [BLOCK, 1, 1],
                &[
                    ptr(probs),
                    ptr(labels),
                    ptr(dlogits),
                    KernelArg::U32(rows as u32),
                    KernelArg::U32(classes as u32),
                    KernelArg::F32(scale),
                ],
            )
        }
    }

    /// One SGD step on every value of `param` (same length as `grad` and `velocity`).
    pub fn sgd_step(
        &self,
        param: &mut DeviceBuffer<f32>,
        grad: &DeviceBuffer<f32>,
        velocity: &mut DeviceBuffer<f32>,
        config: &SgdConfig,
    ) -> Result<()> {
        let n = param.len();
        check_len("sgd_step", "grad", grad, n);
        check_len("sgd_step", "velocity", velocity, n);
        let n = fits_u32(n, "parameter count")?;
        if n == 0 {
            return Ok(());
        }
        // SAFETY: the eight arguments as declared; the three buffers hold n values (checked).
        unsafe {
            self.launch_builtin(
                "sgd_momentum",
                [blocks_for(n), 1, 1],
                [BLOCK, 1, 1],
                &[
                    ptr(param),
                    ptr(grad),
                    ptr(velocity),
                    KernelArg::U32(n),
                    KernelArg::F32(config.lr),
                    KernelArg::F32(config.momentum),
                    KernelArg::F32(config.weight_decay),
                    KernelArg::U32(u32::from(config.nesterov)),
                ],
            )
        }
    }

    /// One Adam step (`step` counted from 1) on every value of `param`; `m` and `v` are the moment
    /// estimates, zero before the first step.
    pub fn adam_step(
        &self,
        param: &mut DeviceBuffer<f32>,
        grad: &DeviceBuffer<f32>,
        m: &mut DeviceBuffer<f32>,
        v: &mut DeviceBuffer<f32>,
        config: &AdamConfig,
        step: u64,
    ) -> Result<()> {
        assert!(step >= 1, "adam_step: steps are counted from 1");
        let n = param.len();
        check_len("adam_step", "grad", grad, n);
        check_len("adam_step", "m", m, n);
        check_len("adam_step", "v", v, n);
        let n = fits_u32(n, "parameter count")?;
        if n == 0 {
            return Ok(());
        }
        let scalars = AdamScalars::new(config, step);
        // SAFETY: the thirteen arguments as declared; the four buffers hold n values (checked).
        unsafe {
            self.launch_builtin(
                "adam",
                [blocks_for(n), 1, 1],
                [BLOCK, 1, 1],
                &[
                    ptr(param),
                    ptr(grad),
                    ptr(m),
                    ptr(v),
                    KernelArg::U32(n),
                    KernelArg::F32(scalars.step_size),
                    KernelArg::F32(scalars.one_minus_beta1),
                    KernelArg::F32(config.beta2),
                    KernelArg::F32(scalars.one_minus_beta2),
                    KernelArg::F32(config.eps),
                    KernelArg::F32(scalars.l2),
                    KernelArg::F32(scalars.bias_correction2_sqrt),
                    KernelArg::F32(scalars.decay_factor),
                ],
            )
        }
    }
}

/// The per-step scalars of an Adam update, computed on the host in f64 and rounded to f32 exactly
/// as `dlfs::optim::Adam` computes them, so both devices use the same numbers.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdamScalars {
    /// `lr / (1 − β₁ᵗ)`.
    pub step_size: f32,
    /// `√(1 − β₂ᵗ)`.
    pub bias_correction2_sqrt: f32,
    /// `1 − β₁`.
    pub one_minus_beta1: f32,
    /// `1 − β₂`.
    pub one_minus_beta2: f32,
    /// The L2 term added to the gradient (Adam's weight decay; 0 for AdamW).
    pub l2: f32,
    /// The factor applied to the weights before the update (`1 − lr·λ` for AdamW, 1 for Adam).
    pub decay_factor: f32,
}

impl AdamScalars {
    /// The scalars for step `t` (counted from 1).
    pub fn new(config: &AdamConfig, step: u64) -> AdamScalars {
        let t = i32::try_from(step).unwrap_or(i32::MAX);
        let (beta1, beta2) = (f64::from(config.beta1), f64::from(config.beta2));
        let bias_correction1 = 1.0 - beta1.powi(t);
        let bias_correction2 = 1.0 - beta2.powi(t);
        let (l2, decay_factor) = if config.decoupled {
            (
                0.0,
                (1.0 - f64::from(config.lr) * f64::from(config.weight_decay)) as f32,
            )
        } else {
            (config.weight_decay, 1.0)
        };
        AdamScalars {
            step_size: (f64::from(config.lr) / bias_correction1) as f32,
            bias_correction2_sqrt: bias_correction2.sqrt() as f32,
            one_minus_beta1: (1.0 - beta1) as f32,
            one_minus_beta2: (1.0 - beta2) as f32,
            l2,
            decay_factor,
        }
    }
}
