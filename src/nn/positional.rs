//! `PositionalEmbedding`: a learned vector per position, added to the token vectors (chapter 16).
//!
//! Attention itself ignores order: it compares every query with every key, and shuffling the keys
//! (with their values) changes nothing. A language model must know where each token stands, so
//! GPT-2 (and nanoGPT) add a learned vector `P[t]` to the input of position t — an embedding table
//! looked up by position instead of by token id.
//!
//! Shapes: input `[N, T, E]`, output the same, parameter `weight` `[context, E]` (T ≤ context).
//! Forward: `y[n, t] = x[n, t] + P[t]`. Backward: `dx = dy` (an addition passes its gradient on
//! unchanged) and `dP[t] += Σₙ dy[n, t]` (position t is used by every sequence of the batch).
//! Initialised N(0, 0.02²) as GPT-2 (PyTorch's `nn.Embedding` would use N(0, 1)).
//!
//! What it leaves out: the fixed sinusoidal encodings of the original transformer, relative and
//! rotary position encodings.

use super::layer::{Layer, Mode, Param, assert_grad_shape};
use crate::probability::Rng;
use crate::tensor::Tensor;

/// A learned vector per position, added to the input (see the module docs).
pub struct PositionalEmbedding {
    weight: Param,
    /// `[N, T, E]` of the last caching forward pass.
    shape: Option<Vec<usize>>,
}

impl PositionalEmbedding {
    /// Vectors for `context` positions of width `width`, drawn from N(0, 0.02²).
    pub fn new(context: usize, width: usize, rng: &mut Rng) -> PositionalEmbedding {
        assert!(
            context > 0 && width > 0,
            "PositionalEmbedding::new: sizes must be positive, got {context} × {width}"
        );
        PositionalEmbedding {
            weight: Param::new(Tensor::randn(&[context, width], 0.0, 0.02, rng)),
            shape: None,
        }
    }

    /// The table `[context, E]` and its gradient.
    pub fn weight(&self) -> &Param {
        &self.weight
    }

    /// The table, mutable.
    pub fn weight_mut(&mut self) -> &mut Param {
        &mut self.weight
    }

    /// The number of positions the table holds.
    pub fn context(&self) -> usize {
        self.weight.value.dim(0)
    }

    /// `rows[n, t] += P[t]` for a row-major `[N, T, E]` buffer of `batch` sequences of `steps`.
    pub fn add_to_rows(&self, rows: &mut [f32], steps: usize) {
        let width = self.weight.value.dim(1);
        assert!(
            steps <= self.context() && rows.len().is_multiple_of((steps * width).max(1)),
            "PositionalEmbedding: {steps} positions of width {width} (the table holds {} positions), \
             {} values",
            self.context(),
            rows.len()
        );
        let table = self.weight.value.data();
        for sequence in rows.chunks_exact_mut(steps * width) {
            for (row, position) in sequence
                .chunks_exact_mut(width)
                .zip(table.chunks_exact(width))
            {
                for (v, &p) in row.iter_mut().zip(position) {
                    *v += p;
                }
            }
        }
    }

    /// `dP[t] += Σₙ dy[n, t]` for a row-major `[N, T, E]` gradient, sequences in order.
    pub fn backward_rows(&mut self, grad: &[f32], steps: usize) {
        let width = self.weight.value.dim(1);
        let table = self.weight.grad.data_mut();
        for sequence in grad.chunks_exact(steps * width) {
            for (row, position) in sequence
                .chunks_exact(width)
                .zip(table.chunks_exact_mut(width))
            {
                for (p, &g) in position.iter_mut().zip(row) {
                    *p += g;
                }
            }
        }
    }
}

impl Layer for PositionalEmbedding {
    fn forward(&mut self, x: &Tensor, mode: Mode) -> Tensor {
        let width = self.weight.value.dim(1);
        assert!(
            x.ndim() == 3 && x.dim(2) == width && x.dim(1) <= self.context(),
            "PositionalEmbedding(context={}, E={width}): expected an input [N, T ≤ {}, {width}], got {:?}",
            self.context(),
            self.context(),
            x.shape()
        );
        let mut y = x.clone();
        self.add_to_rows(y.data_mut(), x.dim(1));
        self.shape = mode.keeps_cache().then(|| x.shape().to_vec());
        y
    }

    fn backward(&mut self, grad_output: &Tensor) -> Tensor {
        let shape = self.shape.clone().unwrap_or_else(|| {
            panic!(
                "PositionalEmbedding::backward called without a preceding forward in Mode::Train or \
                 Mode::Eval (a Mode::Inference forward caches nothing)"
            )
        });
        assert_grad_shape("PositionalEmbedding", grad_output, &shape);
        self.backward_rows(grad_output.data(), shape[1]);
        grad_output.clone()
    }

    fn visit_params(&mut self, f: &mut dyn FnMut(&str, &mut Param)) {
        f("weight", &mut self.weight);
    }

    fn describe(&self) -> String {
        format!(
            "PositionalEmbedding(context={}, width={})",
            self.context(),
            self.weight.value.dim(1)
        )
    }
}
