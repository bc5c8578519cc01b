//! Chapter 15 (硬件加速, hardware acceleration): CUDA from scratch — the GPU driver loaded at run time,
//! kernels written in PTX, device memory, and an MLP trained entirely on the GPU.
//!
//! No CUDA toolkit, no crate, nothing linked at build time: [`driver`] opens `libcuda.so.1` with
//! `dlopen` and looks up the ~30 driver functions it needs. On a machine without an NVIDIA driver
//! the crate builds and runs as before, and [`Gpu::new`] returns an [`crate::Error::Gpu`] saying
//! what is missing, so every GPU path can fall back to the CPU (and every GPU test skips).
//!
//! | file | what it teaches |
//! |---|---|
//! | [`driver`] | the C driver API by hand: `dlopen`, `dlsym`, a table of function pointers, error codes |
//! | `device.rs` | [`Gpu`]: `cuInit`, the device, its context; [`Event`] timing; memory info |
//! | `buffer.rs` | [`DeviceBuffer`]: device memory with RAII, host ↔ device copies |
//! | `module.rs` | [`Module`] / [`Kernel`]: PTX → machine code (the JIT), launches with checked sizes |
//! | [`kernels`] | the PTX: element-wise kernels, softmax cross-entropy, optimizers, a tiled SGEMM |
//! | `ops.rs` | typed, checked calls of the crate's kernels ([`Gpu::relu_forward`], [`Gpu::adam_step`], …) |
//! | `gemm.rs` | [`Gpu::gemm`]: `C = α·A·B + β·C` on strided device views, the kernel chosen per layout |
//! | [`measure`] | launch and copy latency, SGEMM GFLOPS: what chapter 15 and `bench gpu` print |
//! | `mlp.rs` | [`GpuMlp`]: Linear → ReLU → … → Linear → softmax cross-entropy, trained on the device |
//!
//! All `unsafe` of the crate's GPU side lives in this folder; every block says why it is sound.
//!
//! What it leaves out: several GPUs, streams and overlap of copies with compute, pinned memory,
//! tensor cores, convolution kernels (chapter 8's CNN runs on the CPU).

mod buffer;
mod device;
pub mod driver;
mod gemm;
pub mod kernels;
pub mod measure;
mod mlp;
mod module;
mod ops;

pub use buffer::{DeviceBuffer, DeviceScalar};
pub use device::{DeviceInfo, Event, Gpu};
pub use gemm::{DeviceMatMut, DeviceMatRef, GemmPlan, plan_gemm};
pub use mlp::{GpuMlp, GpuOptimizer};
pub use module::{Kernel, KernelArg, Module, check_launch};
pub use ops::{AdamConfig, AdamScalars, KERNEL_NAMES, KernelResources, SgdConfig};
