//! [`GpuMlp`]: a multi-layer perceptron classifier whose whole training step runs on the GPU.
//!
//! The network is `Linear → ReLU → Linear → ReLU → … → Linear`, trained with softmax
//! cross-entropy — the MLP of chapter 7 — with weights, activations, gradients and optimizer state
//! all resident in device memory. Per step only the batch goes to the GPU (`x` and the labels) and
//! one number per example comes back (the losses), so the PCIe bus is not the bottleneck.
//!
//! The same network on the CPU is `nn::Sequential` of `nn::Linear` and `nn::ReLU`; [`GpuMlp::new`]
//! takes its initial weights from there (PyTorch layouts: weight `[out, in]`, bias `[out]`), so the
//! two devices start equal and, given the same batches, stay equal within rounding (chapter 15 and
//! `tests/gpu.rs` check it step by step).
//!
//! One training step, for a batch X of N rows (shapes as in chapter 7):
//! ```text
//! forward   for each layer l:   Y_l = X_l · W_lᵀ          sgemm_nt          [N, out]
//!                               Y_l += b_l               bias_add_rows
//!                               X_{l+1} = ReLU(Y_l)      relu_forward      (not after the last)
//! loss      p = softmax(Y_L), loss_i = −log p[i, y_i]    softmax_cross_entropy_forward
//! backward  dY_L = (p − onehot(y)) / N                   softmax_cross_entropy_backward
//!           for each layer l, last to first:
//!                               dW_l = dY_lᵀ · X_l       sgemm_tn          [out, in]
//!                               db_l = Σ_rows dY_l       column_sum        [out]
//!                               dX_l = dY_l · W_l        sgemm_nn          (not for the first)
//!                               dY_{l−1} = dX_l · [X_l > 0]                relu_backward
//! update    every W_l, b_l:     SGD (momentum) or Adam   sgd_momentum / adam
//! ```
//! Gradients are *written*, not accumulated: each step's gradients are those of its batch, which is
//! what `zero_grad` followed by `backward` gives on the CPU.
//!
//! What it leaves out: other layers (convolutions, dropout, normalisation), other losses, mixed
//! precision, and gradient accumulation over several batches.

use super::buffer::DeviceBuffer;
use super::device::Gpu;
use super::gemm::{DeviceMatMut, DeviceMatRef};
use super::ops::{AdamConfig, SgdConfig};
use crate::error::{Error, Result};
use crate::tensor::Tensor;

/// The optimizer a [`GpuMlp`] applies after each backward pass.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum GpuOptimizer {
    /// SGD with optional momentum, Nesterov momentum and weight decay.
    Sgd(SgdConfig),
    /// Adam (or AdamW with `decoupled`).
    Adam(AdamConfig),
}

/// One linear layer's device buffers.
struct GpuLinear {
    in_features: usize,
    out_features: usize,
    weight: DeviceBuffer<f32>,
    bias: DeviceBuffer<f32>,
    grad_weight: DeviceBuffer<f32>,
    grad_bias: DeviceBuffer<f32>,
    /// Optimizer state, made at the first step: SGD [velocity_w, velocity_b];
    /// Adam [m_w, v_w, m_b, v_b].
    state: Vec<DeviceBuffer<f32>>,
    /// `[capacity, out]`: the layer's output (after ReLU for hidden layers).
    output: DeviceBuffer<f32>,
}

/// An MLP classifier trained on the GPU (see the module documentation).
pub struct GpuMlp {
    gpu: Gpu,
    layers: Vec<GpuLinear>,
    capacity: usize,
    /// Rows of the last forward pass.
    batch: usize,
    input: DeviceBuffer<f32>,
    labels: DeviceBuffer<u32>,
    probs: DeviceBuffer<f32>,
    losses: DeviceBuffer<f32>,
    /// Two `[capacity, widest layer]` buffers for the gradient flowing backwards.
    grad_output: DeviceBuffer<f32>,
    grad_input: DeviceBuffer<f32>,
    /// Optimizer steps taken (Adam's t).
    steps: u64,
    /// Whether the labels of the last `loss` call are on the device (backward needs them).
    have_labels: bool,
    host_losses: Vec<f32>,
}

impl GpuMlp {
    /// Uploads the layers `(weight [out, in], bias [out])`, first to last, with a ReLU between
    /// consecutive layers, and allocates room for batches of up to `capacity` rows. Panics if the
    /// shapes do not chain (layer l's `out` must be layer l+1's `in`) or there is no layer.
    pub fn new(gpu: &Gpu, layers: &[(Tensor, Tensor)], capacity: usize) -> Result<GpuMlp> {
        assert!(!layers.is_empty(), "GpuMlp::new: needs at least one layer");
        assert!(capacity > 0, "GpuMlp::new: capacity must be at least 1");
        let mut device_layers = Vec::with_capacity(layers.len());
        let mut widest = 0;
        for (l, (weight, bias)) in layers.iter().enumerate() {
            assert!(
                weight.ndim() == 2 && bias.shape() == [weight.dim(0)],
                "GpuMlp::new: layer {l} has weight {:?} and bias {:?}; expected [out, in] and [out]",
                weight.shape(),
                bias.shape()
            );
            let (out_features, in_features) = (weight.dim(0), weight.dim(1));
            if l > 0 {
                let previous = layers[l - 1].0.dim(0);
                assert_eq!(
                    previous,
                    in_features,
                    "GpuMlp::new: layer {} outputs {previous} features but layer {l} takes {in_features}",
                    l - 1
                );
            }
            widest = widest.max(in_features).max(out_features);
            device_layers.push(GpuLinear {
                in_features,
                out_features,
                weight: gpu.upload(weight.data())?,
                bias: gpu.upload(bias.data())?,
                grad_weight: gpu.zeros(weight.len())?,
                grad_bias: gpu.zeros(bias.len())?,
                state: Vec::new(),
                output: gpu.zeros(capacity * out_features)?,
            });
        }
        let inputs = device_layers[0].in_features;
        let classes = device_layers.last().expect("non-empty").out_features;
        Ok(GpuMlp {
            gpu: gpu.clone(),
            input: gpu.zeros(capacity * inputs)?,
            labels: gpu.zeros(capacity)?,
            probs: gpu.zeros(capacity * classes)?,
            losses: gpu.zeros(capacity)?,
            grad_output: gpu.zeros(capacity * widest)?,
            grad_input: gpu.zeros(capacity * widest)?,
            layers: device_layers,
            capacity,
            batch: 0,
            steps: 0,
            have_labels: false,
            host_losses: vec![0.0; capacity],
        })
    }

    /// Input features.
    pub fn inputs(&self) -> usize {
        self.layers[0].in_features
    }

    /// Output classes.
    pub fn classes(&self) -> usize {
        self.layers.last().expect("non-empty").out_features
    }

    /// The largest batch a call accepts.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Optimizer steps taken so far.
    pub fn steps(&self) -> u64 {
        self.steps
    }

    /// Runs the network on `x` (`[N, inputs]`, N ≤ capacity); the logits stay on the device
    /// (read them with [`GpuMlp::logits`]).
    pub fn forward(&mut self, x: &Tensor) -> Result<()> {
        assert!(
            x.ndim() == 2 && x.dim(1) == self.inputs() && x.dim(0) <= self.capacity,
            "GpuMlp::forward: input of shape {:?}; expected [N ≤ {}, {}]",
            x.shape(),
            self.capacity,
            self.inputs()
        );
        let rows = x.dim(0);
        self.batch = rows;
        self.have_labels = false;
        self.input.write(0, x.data())?;
        let last = self.layers.len() - 1;
        for l in 0..self.layers.len() {
            let (before, rest) = self.layers.split_at_mut(l);
            let layer = &mut rest[0];
            let input = if l == 0 {
                &self.input
            } else {
                &before[l - 1].output
            };
            // Y = X · Wᵀ (W is stored [out, in], so its transpose is a free view).
            self.gpu.gemm(
                1.0,
                DeviceMatRef::new(input, rows, layer.in_features),
                DeviceMatRef::new(&layer.weight, layer.out_features, layer.in_features).t(),
                0.0,
                DeviceMatMut::new(&mut layer.output, rows, layer.out_features),
            )?;
            self.gpu
                .bias_add_rows(&mut layer.output, &layer.bias, rows, layer.out_features)?;
            if l < last {
                self.gpu
                    .relu_forward_in_place(&mut layer.output, rows * layer.out_features)?;
            }
        }
        Ok(())
    }

    /// The logits of the last forward pass, `[N, classes]` (copied to the host).
    pub fn logits(&self) -> Result<Tensor> {
        let classes = self.classes();
        let mut data = vec![0.0; self.batch * classes];
        self.layers
            .last()
            .expect("non-empty")
            .output
            .read(0, &mut data)?;
        Ok(Tensor::from_vec(&[self.batch, classes], data))
    }

    /// Mean softmax cross-entropy of the last forward pass against `labels` (one per row).
    /// A label outside `0..classes` is an [`Error::Data`].
    pub fn loss(&mut self, labels: &[usize]) -> Result<f32> {
        assert_eq!(
            labels.len(),
            self.batch,
            "GpuMlp::loss: {} labels for a batch of {} rows",
            labels.len(),
            self.batch
        );
        let classes = self.classes();
        let mut as_u32 = Vec::with_capacity(labels.len());
        for (i, &label) in labels.iter().enumerate() {
            if label >= classes {
                return Err(Error::data(format!(
                    "label {label} of example {i} is not a class of a {classes}-class model \
                     (labels must be 0..{classes})"
                )));
            }
            as_u32.push(label as u32);
        }
        let rows = self.batch;
        self.labels.write(0, &as_u32)?;
        let logits = &self.layers.last().expect("non-empty").output;
        self.gpu.softmax_cross_entropy_forward(
            logits,
            &self.labels,
            &mut self.probs,
            &mut self.losses,
            rows,
            classes,
        )?;
        self.have_labels = true;
        self.losses.read(0, &mut self.host_losses[..rows])?;
        let sum: f64 = self.host_losses[..rows].iter().map(|&l| f64::from(l)).sum();
        Ok((sum / rows.max(1) as f64) as f32)
    }

    /// Back-propagates the mean loss of the last [`GpuMlp::loss`] call: every layer's gradients
    /// are (over)written.
    pub fn backward(&mut self) -> Result<()> {
        assert!(
            self.have_labels,
            "GpuMlp::backward: call forward and loss first"
        );
        let rows = self.batch;
        let classes = self.classes();
        self.gpu.softmax_cross_entropy_backward(
            &self.probs,
            &self.labels,
            &mut self.grad_output,
            rows,
            classes,
            1.0 / rows.max(1) as f32,
        )?;
        for l in (0..self.layers.len()).rev() {
            let (before, rest) = self.layers.split_at_mut(l);
            let layer = &mut rest[0];
            let input = if l == 0 {
                &self.input
            } else {
                &before[l - 1].output
            };
            let (out_features, in_features) = (layer.out_features, layer.in_features);
            // dW = dYᵀ · X
            self.gpu.gemm(
                1.0,
                DeviceMatRef::new(&self.grad_output, rows, out_features).t(),
                DeviceMatRef::new(input, rows, in_features),
                0.0,
                DeviceMatMut::new(&mut layer.grad_weight, out_features, in_features),
            )?;
            // db = column sums of dY
            self.gpu.column_sum(
                &self.grad_output,
                &mut layer.grad_bias,
                rows,
                out_features,
                0.0,
            )?;
            if l > 0 {
                // dX = dY · W, then through the ReLU that produced X.
                self.gpu.gemm(
                    1.0,
                    DeviceMatRef::new(&self.grad_output, rows, out_features),
                    DeviceMatRef::new(&layer.weight, out_features, in_features),
                    0.0,
                    DeviceMatMut::new(&mut self.grad_input, rows, in_features),
                )?;
                self.gpu
                    .relu_backward_in_place(input, &mut self.grad_input, rows * in_features)?;
                std::mem::swap(&mut self.grad_output, &mut self.grad_input);
            }
        }
        Ok(())
    }

    /// Applies one optimizer step to every weight and bias.
    pub fn step(&mut self, optimizer: &GpuOptimizer) -> Result<()> {
        self.steps += 1;
        for layer in &mut self.layers {
            let state_buffers = match optimizer {
                GpuOptimizer::Sgd(_) => 2,
                GpuOptimizer::Adam(_) => 4,
            };
            if layer.state.len() != state_buffers {
                layer.state.clear();
                let (w, b) = (layer.weight.len(), layer.bias.len());
                let sizes: &[usize] = if state_buffers == 2 {
                    &[w, b]
                } else {
                    &[w, w, b, b]
                };
                for &size in sizes {
                    layer.state.push(self.gpu.zeros(size)?);
                }
            }
            match optimizer {
                GpuOptimizer::Sgd(config) => {
                    let [velocity_w, velocity_b] = &mut layer.state[..] else {
                        unreachable!("two SGD state buffers")
                    };
                    self.gpu
                        .sgd_step(&mut layer.weight, &layer.grad_weight, velocity_w, config)?;
                    self.gpu
                        .sgd_step(&mut layer.bias, &layer.grad_bias, velocity_b, config)?;
                }
                GpuOptimizer::Adam(config) => {
                    let [m_w, v_w, m_b, v_b] = &mut layer.state[..] else {
                        unreachable!("four Adam state buffers")
                    };
                    self.gpu.adam_step(
                        &mut layer.weight,
                        &layer.grad_weight,
                        m_w,
                        v_w,
                        config,
                        self.steps,
                    )?;
                    self.gpu.adam_step(
                        &mut layer.bias,
                        &layer.grad_bias,
                        m_b,
                        v_b,
                        config,
                        self.steps,
                    )?;
                }
            }
        }
        Ok(())
    }

    /// One training step: forward, loss, backward, update. Returns the batch's mean loss; a loss
    /// that is not finite stops training with [`Error::Training`].
    pub fn train_step(
        &mut self,
        x: &Tensor,
        labels: &[usize],
        optimizer: &GpuOptimizer,
    ) -> Result<f32> {
        self.forward(x)?;
        let loss = self.loss(labels)?;
        if !loss.is_finite() {
            return Err(Error::Training {
                step: self.steps as usize + 1,
                message: format!("the loss on the GPU became {loss}; try a smaller learning rate"),
            });
        }
        self.backward()?;
        self.step(optimizer)?;
        Ok(loss)
    }

    /// The predicted class of every row of `x` (processed in chunks of `capacity` rows).
    pub fn predict(&mut self, x: &Tensor) -> Result<Vec<usize>> {
        let mut predictions = Vec::with_capacity(x.dim(0));
        let mut start = 0;
        while start < x.dim(0) {
            let end = (start + self.capacity).min(x.dim(0));
            let rows: Vec<usize> = (start..end).collect();
            self.forward(&x.select_rows(&rows))?;
            predictions.extend(self.logits()?.argmax_rows());
            start = end;
        }
        Ok(predictions)
    }

    /// Every layer's `(weight [out, in], bias [out])`, copied to the host.
    pub fn parameters(&self) -> Result<Vec<(Tensor, Tensor)>> {
        self.layers
            .iter()
            .map(|layer| {
                Ok((
                    Tensor::from_vec(
                        &[layer.out_features, layer.in_features],
                        layer.weight.to_vec()?,
                    ),
                    Tensor::from_vec(&[layer.out_features], layer.bias.to_vec()?),
                ))
            })
            .collect()
    }

    /// Every layer's `(∂loss/∂weight, ∂loss/∂bias)` from the last backward pass, copied to the host.
    pub fn gradients(&self) -> Result<Vec<(Tensor, Tensor)>> {
        self.layers
            .iter()
            .map(|layer| {
                Ok((
                    Tensor::from_vec(
                        &[layer.out_features, layer.in_features],
                        layer.grad_weight.to_vec()?,
                    ),
                    Tensor::from_vec(&[layer.out_features], layer.grad_bias.to_vec()?),
                ))
            })
            .collect()
    }
}
