//! `L2Normalize`: each row scaled to unit length (chapter 18), so that a dot product of two
//! embeddings is their cosine similarity.
//!
//! Forward, for a row x (`[N, E]` rows): `y = x / ‖x‖` (with `‖x‖` floored at 10⁻¹² so a zero row
//! gives zeros instead of NaN).
//! Backward: `∂L/∂x = (g − y·(y·g)) / ‖x‖` — the part of the output gradient g along y is
//! removed, because moving x along itself does not change y.

use crate::nn::{Layer, Mode, assert_grad_shape};
use crate::tensor::Tensor;

/// Rows scaled to unit length (see the module docs). No parameters.
#[derive(Clone, Debug, Default)]
pub struct L2Normalize {
    /// The outputs and the norms of the last caching forward pass.
    output: Option<Tensor>,
    norms: Vec<f32>,
}

impl L2Normalize {
    /// The layer.
    pub fn new() -> L2Normalize {
        L2Normalize::default()
    }
}

impl Layer for L2Normalize {
    fn forward(&mut self, x: &Tensor, mode: Mode) -> Tensor {
        assert_eq!(
            x.ndim(),
            2,
            "L2Normalize: expected [N, E], got {:?}",
            x.shape()
        );
        let e = x.dim(1);
        let mut y = x.clone();
        let mut norms = Vec::with_capacity(x.dim(0));
        for row in y.data_mut().chunks_mut(e.max(1)) {
            let norm = row.iter().map(|v| v * v).sum::<f32>().sqrt().max(1e-12);
            for v in row.iter_mut() {
                *v /= norm;
            }
            norms.push(norm);
        }
        if mode.keeps_cache() {
            self.output = Some(y.clone());
            self.norms = norms;
        } else {
            self.output = None;
        }
        y
    }

    fn backward(&mut self, grad_output: &Tensor) -> Tensor {
        let y = self
            .output
            .as_ref()
            .expect("L2Normalize::backward needs a forward in Mode::Train or Mode::Eval first");
        assert_grad_shape("L2Normalize", grad_output, y.shape());
        let e = y.dim(1);
        let mut grad = grad_output.clone();
        for ((g, y), &norm) in grad
            .data_mut()
            .chunks_mut(e.max(1))
            .zip(y.data().chunks(e.max(1)))
            .zip(&self.norms)
        {
            let along: f32 = g.iter().zip(y).map(|(a, b)| a * b).sum();
            for (gi, &yi) in g.iter_mut().zip(y) {
                *gi = (*gi - yi * along) / norm;
            }
        }
        grad
    }

    fn describe(&self) -> String {
        "L2Normalize(dim=-1)".to_string()
    }
}
