//! Chapter 18, efficiency and edge computing: quantization, calibration, pruning, distillation,
//! and exporting a model for another program or a small device.
//!
//! | file | what it teaches |
//! |---|---|
//! | `quantize.rs` | symmetric int8 quantization, per channel and per tensor, and its error bound |
//! | `calibrate.rs` | choosing activation scales from a few batches: max \|x\| against min-MSE clipping |
//! | `int8_cnn.rs` | chapter 12's CNN in int8: [`QuantizedCnn`], im2row + the int8 GEMM |
//! | `edge_runtime.rs` | the same network with no heap and no dependencies, for a small device |
//! | `edge.rs` | writing that runtime and the weights as one generated Rust source file |
//! | `export.rs` | `cnn_int8.safetensors`: int8 tensors (dtype `I8`) and scales for other programs |
//! | `prune.rs` | magnitude pruning with masks, masked fine-tuning, sparse storage |
//! | `distill.rs` | knowledge distillation: soft targets at a temperature, a small student CNN |
//!
//! It sits on the floor of `optim` (it uses `nn`, `loss`, the int8 GEMM of `linalg`).
//!
//! What it leaves out: quantization-aware training, int4, structured (channel) pruning, GPU int8.

pub mod calibrate;
pub mod distill;
pub mod edge;
pub mod edge_runtime;
pub mod export;
pub mod int8_cnn;
pub mod prune;
pub mod quantize;

pub use calibrate::{Calibration, choose_scale};
pub use distill::{DistillationLoss, distillation_loss, student_cnn, teacher_targets};
pub use int8_cnn::{
    ActivationScales, EdgeWeights, LAYER_NAMES, QuantizedCnn, QuantizedLayer, StageTimes, calibrate,
};
pub use prune::{PruningMask, Scope, magnitude_mask};
pub use quantize::{Granularity, QuantizedWeights, symmetric_scale};
