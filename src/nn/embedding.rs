//! `Embedding`: a lookup table from token ids to learned vectors, as `torch.nn.Embedding`.
//! Chapter 13 puts it in front of the LSTM that reads movie reviews.
//!
//! An embedding is a linear layer applied to one-hot vectors, computed without building them: the
//! product `onehot(id)·W` is just row `id` of `W`. So the forward pass copies rows, and the backward pass
//! adds each output gradient into the row it came from — only rows that occurred in the batch get a
//! gradient.
//!
//! What it leaves out: sparse gradients (the gradient is a dense `[num, dim]` tensor whose unused rows
//! stay zero, so optimizers such as Adam still decay their moments on those rows, exactly as PyTorch
//! with `sparse=False`), `max_norm`, and Keras's `mask_zero` (padding positions still go through the
//! following layers, as in the tutorial).

use super::layer::{Layer, Mode, Param};
use crate::probability::Rng;
use crate::tensor::Tensor;

/// A table of `num_embeddings` vectors of length `embedding_dim`.
///
/// Shapes: input ids `[...]` (any shape, e.g. `[N, T]`; each value a whole number in
/// `0..num_embeddings`, stored as f32, exact up to 2²⁴), output `[..., D]` with D = `embedding_dim`.
/// Parameter `weight [num, D]`, initialised N(0, 1) like PyTorch (Keras uses U(−0.05, 0.05)); the row of
/// the optional `padding_idx` starts at zero and never receives a gradient, so it stays zero.
///
/// Forward: `y[..., :] = W[id, :]`. Backward: `dW[id, :] += dy[..., :]` for every position (except
/// `padding_idx`); the ids have no gradient, so the returned input gradient is zero.
pub struct Embedding {
    num_embeddings: usize,
    embedding_dim: usize,
    padding_idx: Option<usize>,
    weight: Param,
    /// The ids of the last training forward, and its input shape.
    ids: Vec<usize>,
    input_shape: Vec<usize>,
    valid: bool,
}

impl Embedding {
    /// A table of `num_embeddings` vectors of size `embedding_dim`, drawn from N(0, 1).
    pub fn new(num_embeddings: usize, embedding_dim: usize, rng: &mut Rng) -> Embedding {
        assert!(
            num_embeddings > 0 && embedding_dim > 0,
            "Embedding::new: sizes must be positive, got {num_embeddings} × {embedding_dim}"
        );
        Embedding {
            num_embeddings,
            embedding_dim,
            padding_idx: None,
            weight: Param::new(Tensor::randn(
                &[num_embeddings, embedding_dim],
                0.0,
                1.0,
                rng,
            )),
            ids: Vec::new(),
            input_shape: Vec::new(),
            valid: false,
        }
    }

    /// Marks `index` as padding: its row is set to zero and never updated by gradients.
    pub fn padding_idx(mut self, index: usize) -> Embedding {
        assert!(
            index < self.num_embeddings,
            "Embedding::padding_idx: {index} is not below num_embeddings {}",
            self.num_embeddings
        );
        self.weight.value.row_mut(index).fill(0.0);
        self.padding_idx = Some(index);
        self
    }

    /// The number of vectors in the table.
    pub fn num_embeddings(&self) -> usize {
        self.num_embeddings
    }

    /// The length of each vector (D).
    pub fn embedding_dim(&self) -> usize {
        self.embedding_dim
    }

    /// The table `[num, D]`.
    pub fn weight(&self) -> &Tensor {
        &self.weight.value
    }

    /// Converts one f32 id to an index, panicking with the offending value if it is not a valid id.
    fn index_of(&self, value: f32, position: usize) -> usize {
        assert!(
            value >= 0.0 && value.fract() == 0.0 && (value as usize) < self.num_embeddings,
            "Embedding: input position {position} holds {value}, not a token id in 0..{} \
             (encode text with a vocabulary of at most {} words)",
            self.num_embeddings,
            self.num_embeddings
        );
        value as usize
    }
}

impl Layer for Embedding {
    fn forward(&mut self, x: &Tensor, mode: Mode) -> Tensor {
        let dim = self.embedding_dim;
        let mut out = Vec::with_capacity(x.len() * dim);
        let table = self.weight.value.data();
        self.ids.clear();
        for (position, &value) in x.data().iter().enumerate() {
            let id = self.index_of(value, position);
            out.extend_from_slice(&table[id * dim..(id + 1) * dim]);
            if mode.keeps_cache() {
                self.ids.push(id);
            }
        }
        self.valid = mode.keeps_cache();
        self.input_shape = x.shape().to_vec();
        let mut shape = x.shape().to_vec();
        shape.push(dim);
        Tensor::from_vec(&shape, out)
    }

    fn backward(&mut self, grad_output: &Tensor) -> Tensor {
        assert!(
            self.valid,
            "Embedding::backward called without a preceding forward in Mode::Train or Mode::Eval (a Mode::Inference forward caches nothing)"
        );
        let dim = self.embedding_dim;
        let mut expected = self.input_shape.clone();
        expected.push(dim);
        assert!(
            grad_output.shape() == expected.as_slice(),
            "Embedding::backward: the output gradient must have shape {expected:?}, got {:?}",
            grad_output.shape()
        );
        let grad = self.weight.grad.data_mut();
        // In input order, so repeated ids accumulate in a fixed order (deterministic).
        for (&id, dy) in self.ids.iter().zip(grad_output.data().chunks_exact(dim)) {
            if Some(id) == self.padding_idx {
                continue;
            }
            for (g, &d) in grad[id * dim..(id + 1) * dim].iter_mut().zip(dy) {
                *g += d;
            }
        }
        Tensor::zeros(&self.input_shape)
    }

    fn visit_params(&mut self, f: &mut dyn FnMut(&str, &mut Param)) {
        f("weight", &mut self.weight);
    }

    fn describe(&self) -> String {
        match self.padding_idx {
            Some(p) => format!(
                "Embedding({}, {}, padding_idx={p})",
                self.num_embeddings, self.embedding_dim
            ),
            None => format!("Embedding({}, {})", self.num_embeddings, self.embedding_dim),
        }
    }
}
