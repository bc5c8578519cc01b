//! Where `fit` and `evaluate` get their examples: the [`Dataset`] trait and [`TensorDataset`].
//!
//! A dataset is anything that can copy a chosen set of examples into a batch: `gather(indices, …)`
//! writes example `indices[0]` first, then `indices[1]`, … into the caller's buffers. The training loop
//! owns those buffers and reuses them for every batch, so once the batch size is known no batch
//! allocates. [`TensorDataset`] serves examples from two tensors held in memory (rows of `inputs`,
//! rows of `targets`); a dataset stored more compactly (CIFAR-10 as bytes) implements the trait itself
//! and converts while gathering.

use crate::error::{Error, Result};
use crate::tensor::{Tensor, numel};

/// A source of training or evaluation examples (see the module docs).
pub trait Dataset {
    /// The number of examples.
    fn len(&self) -> usize;

    /// True when there are no examples.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The shape of one input example, e.g. `[3, 32, 32]` or `[10]`.
    fn input_shape(&self) -> Vec<usize>;

    /// The shape of one target: `[]` for a class index or a single number, `[1]`, `[K]`, ….
    fn target_shape(&self) -> Vec<usize>;

    /// Writes the examples `indices` one after the other: inputs into `inputs`
    /// (`indices.len() × numel(input_shape)` values) and targets into `targets`
    /// (`indices.len() × numel(target_shape)` values).
    fn gather(&self, indices: &[usize], inputs: &mut [f32], targets: &mut [f32]);
}

/// Examples held as two tensors: `inputs` `[N, …]` and `targets` `[N, …]` (or `[N]` for class
/// indices stored as floats, or one number per example).
#[derive(Clone, Copy, Debug)]
pub struct TensorDataset<'a> {
    inputs: &'a Tensor,
    targets: &'a Tensor,
}

impl<'a> TensorDataset<'a> {
    /// Pairs inputs with targets; [`Error::Data`] if they do not have the same number of rows.
    pub fn new(inputs: &'a Tensor, targets: &'a Tensor) -> Result<TensorDataset<'a>> {
        let rows = |t: &Tensor| t.shape().first().copied();
        match (rows(inputs), rows(targets)) {
            (Some(n), Some(m)) if n == m => Ok(TensorDataset { inputs, targets }),
            _ => Err(Error::data(format!(
                "a dataset needs one target per input example: the inputs have shape {:?} and the \
                 targets {:?} (their first axes must be equal)",
                inputs.shape(),
                targets.shape()
            ))),
        }
    }

    /// The inputs tensor.
    pub fn inputs(&self) -> &'a Tensor {
        self.inputs
    }

    /// The targets tensor.
    pub fn targets(&self) -> &'a Tensor {
        self.targets
    }
}

impl Dataset for TensorDataset<'_> {
    fn len(&self) -> usize {
        self.inputs.dim(0)
    }

    fn input_shape(&self) -> Vec<usize> {
        self.inputs.shape()[1..].to_vec()
    }

    fn target_shape(&self) -> Vec<usize> {
        self.targets.shape()[1..].to_vec()
    }

    fn gather(&self, indices: &[usize], inputs: &mut [f32], targets: &mut [f32]) {
        copy_rows(self.inputs, indices, inputs);
        copy_rows(self.targets, indices, targets);
    }
}

/// Copies rows `indices` of `source` (along its first axis) one after the other into `destination`.
pub fn copy_rows(source: &Tensor, indices: &[usize], destination: &mut [f32]) {
    let row_len = source.row_len();
    assert_eq!(
        destination.len(),
        indices.len() * row_len,
        "copy_rows: room for {} values, {} rows of {row_len} need {}",
        destination.len(),
        indices.len(),
        indices.len() * row_len
    );
    if row_len == 0 {
        return;
    }
    for (chunk, &i) in destination.chunks_mut(row_len).zip(indices) {
        chunk.copy_from_slice(source.row(i));
    }
}

/// A batch of a dataset in reusable buffers: [`Batch::load`] gathers examples into them, and the
/// tensors it returns hand the buffers back through [`Batch::recycle`].
#[derive(Debug, Default)]
pub struct Batch {
    inputs: Vec<f32>,
    targets: Vec<f32>,
}

impl Batch {
    /// Empty buffers (they grow to the batch size on the first load).
    pub fn new() -> Batch {
        Batch::default()
    }

    /// Gathers `indices` from `data` into `[B, input…]` and `[B, target…]` tensors, reusing the
    /// buffers of the last batch.
    pub fn load(&mut self, data: &dyn Dataset, indices: &[usize]) -> (Tensor, Tensor) {
        let b = indices.len();
        let (input_shape, target_shape) = (data.input_shape(), data.target_shape());
        let mut inputs = std::mem::take(&mut self.inputs);
        let mut targets = std::mem::take(&mut self.targets);
        inputs.resize(b * numel(&input_shape), 0.0);
        targets.resize(b * numel(&target_shape), 0.0);
        data.gather(indices, &mut inputs, &mut targets);
        let with_batch = |shape: &[usize]| {
            let mut s = vec![b];
            s.extend_from_slice(shape);
            s
        };
        (
            Tensor::from_vec(&with_batch(&input_shape), inputs),
            Tensor::from_vec(&with_batch(&target_shape), targets),
        )
    }

    /// Takes the buffers back from the tensors of the last [`Batch::load`].
    pub fn recycle(&mut self, inputs: Tensor, targets: Tensor) {
        self.inputs = inputs.into_data();
        self.targets = targets.into_data();
    }
}
