//! `GptClassifier`: a pretrained [`Gpt`] with a classification head, the usual way to reuse a language
//! model for a labelled task (chapter 16's transfer learning).
//!
//! ```text
//! ids [N, T]   padded at the end with the padding id
//! h = backbone.hidden_states(ids)       [N, T, E]
//! pooled[n] = mean of h[n, t] over the sequence's real tokens t < len(n)     [N, E]
//! scores = head(pooled)                 [N, K]    head = Linear(E, K)
//! ```
//!
//! The length of each sequence is read from its ids: the position of its first padding id. Padding
//! goes at the *end*: with causal attention no real token attends to the padding behind it, so the
//! hidden states of the real tokens are exactly those of the unpadded sequence, and no mask is needed.
//!
//! Backward: the head's, then `∂L/∂h[n, t] = ∂L/∂pooled[n] / len(n)` at every real position (0 at the
//! padding), then the backbone's [`Gpt::backward_hidden`]. Parameter names: `backbone.…` (the GPT's)
//! and `head.weight`, `head.bias`, so a pretrained GPT's checkpoint loads into the backbone.
//!
//! What it leaves out: other poolings (the last token, a learned query), freezing the backbone (a
//! linear probe is cheaper done on features computed once, see [`mean_pool`]).

use super::gpt::Gpt;
use super::layer::{Layer, Mode, Param};
use super::linear::Linear;
use crate::probability::Rng;
use crate::tensor::Tensor;

/// A GPT backbone, mean pooling over each sequence's tokens, and a linear head (see the module docs).
pub struct GptClassifier {
    /// The language model whose hidden states are pooled.
    pub backbone: Gpt,
    /// `Linear(E, K)` on the pooled hidden state.
    pub head: Linear,
    padding_id: usize,
    /// The number of real tokens of each sequence of the last forward pass.
    lengths: Vec<usize>,
    steps: usize,
}

impl GptClassifier {
    /// `backbone` with a new `Linear(E, classes)` head (PyTorch's default initialisation);
    /// `padding_id` is the id that pads sequences at the end.
    pub fn new(backbone: Gpt, classes: usize, padding_id: usize, rng: &mut Rng) -> GptClassifier {
        let width = backbone.config().width;
        GptClassifier {
            backbone,
            head: Linear::new(width, classes, rng),
            padding_id,
            lengths: Vec::new(),
            steps: 0,
        }
    }
}

/// The number of real tokens of every row of padded ids `[N, T]`: the position of the first
/// `padding_id` (T if there is none; at least 1, so an all-padding row pools its first position).
pub fn sequence_lengths(ids: &Tensor, padding_id: usize) -> Vec<usize> {
    let t = ids.dim(1);
    ids.data()
        .chunks_exact(t)
        .map(|row| {
            row.iter()
                .position(|&id| id == padding_id as f32)
                .unwrap_or(t)
                .max(1)
        })
        .collect()
}

/// The mean of `hidden` `[N, T, E]` over the first `lengths[n]` positions of each row: `[N, E]`.
pub fn mean_pool(hidden: &Tensor, lengths: &[usize]) -> Tensor {
    let (n, t, e) = (hidden.dim(0), hidden.dim(1), hidden.dim(2));
    assert!(
        lengths.len() == n && lengths.iter().all(|&l| l >= 1 && l <= t),
        "mean_pool: {} lengths (each 1..={t}) for hidden states {:?}",
        lengths.len(),
        hidden.shape()
    );
    let mut pooled = vec![0.0f32; n * e];
    for (row, (sum, &length)) in pooled.chunks_exact_mut(e).zip(lengths).enumerate() {
        for position in 0..length {
            let h = &hidden.data()[(row * t + position) * e..(row * t + position + 1) * e];
            for (s, &v) in sum.iter_mut().zip(h) {
                *s += v;
            }
        }
        let scale = 1.0 / length as f32;
        for s in sum.iter_mut() {
            *s *= scale;
        }
    }
    Tensor::from_vec(&[n, e], pooled)
}

impl Layer for GptClassifier {
    /// Token ids `[N, T]` (padded at the end) → class scores `[N, K]`.
    fn forward(&mut self, ids: &Tensor, mode: Mode) -> Tensor {
        self.lengths = sequence_lengths(ids, self.padding_id);
        self.steps = ids.dim(1);
        let hidden = self.backbone.hidden_states(ids, mode);
        let pooled = mean_pool(&hidden, &self.lengths);
        self.head.forward(&pooled, mode)
    }

    /// ∂L/∂scores → the head's backward, then ∂L/∂h = ∂L/∂pooled / length at each real position,
    /// then the backbone's. Returns zeros `[N, T]` (ids have no gradient).
    fn backward(&mut self, grad_output: &Tensor) -> Tensor {
        let d_pooled = self.head.backward(grad_output);
        let (n, t, e) = (self.lengths.len(), self.steps, d_pooled.dim(1));
        let mut d_hidden = Tensor::zeros(&[n, t, e]);
        for (row, &length) in self.lengths.iter().enumerate() {
            let scale = 1.0 / length as f32;
            let d = d_pooled.row(row);
            for position in 0..length {
                let target = &mut d_hidden.data_mut()[(row * t + position) * e..][..e];
                for (g, &v) in target.iter_mut().zip(d) {
                    *g = v * scale;
                }
            }
        }
        self.backbone.backward_hidden(&d_hidden);
        Tensor::zeros(&[n, t])
    }

    fn visit_params(&mut self, f: &mut dyn FnMut(&str, &mut Param)) {
        self.backbone
            .visit_params(&mut |name, p| f(&format!("backbone.{name}"), p));
        self.head
            .visit_params(&mut |name, p| f(&format!("head.{name}"), p));
    }

    fn describe(&self) -> String {
        format!(
            "GptClassifier({} → mean over each sequence → {})",
            self.backbone.describe(),
            self.head.describe()
        )
    }
}
