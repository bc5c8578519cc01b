//! `Gpt`: a decoder-only transformer language model in the shape of GPT-2 and nanoGPT (chapter 16):
//! token and position embeddings, a stack of causal [`TransformerBlock`]s, a final [`LayerNorm`], and
//! an output layer that shares its weight with the token embedding.
//!
//! ```text
//! ids [N, T]                                   token ids (stored as f32, like Embedding's input)
//! x₀ = W_te[ids] + W_pe[0..T]     [N, T, E]    token embedding + learned position embedding
//! x_{l+1} = block_l(x_l)          [N, T, E]    l = 0 … layers−1, causal attention
//! h = norm(x_L)                   [N, T, E]    the hidden states (features for other tasks)
//! logits = h·W_teᵀ                [N, T, V]    scores of the next token at every position
//! ```
//!
//! **Weight tying** (Press & Wolf, 2017): the output layer reuses the token embedding `W_te [V, E]`
//! (nanoGPT's `lm_head.weight = wte.weight`): the vector that represents a token going in is the
//! one its score is measured against coming out. It saves V·E parameters and trains the embedding
//! from both ends; the backward pass adds both gradients into the one parameter:
//! `dW_te += d_logitsᵀ·h` (output layer) and `dW_te[id] += dx₀[n, t]` for every position (input).
//! A checkpoint holds the tensor once, as `token_embedding.weight` (PyTorch's `state_dict` lists it
//! under both names).
//!
//! Parameter names: `token_embedding.weight [V, E]`, `position_embedding.weight [context, E]`,
//! `blocks.{l}.…` (the [`TransformerBlock`] names, PyTorch's `TransformerEncoderLayer`'s),
//! `norm.weight`, `norm.bias`. Initialisation as nanoGPT: every matrix and embedding N(0, 0.02²),
//! the two projections that write into the residual stream (`self_attn.out_proj.weight`,
//! `linear2.weight`) N(0, (0.02/√(2·layers))²) so the stream's variance does not grow with depth,
//! biases 0, norms γ = 1, β = 0.
//!
//! The model keeps the residual stream between blocks (`x_0 … x_L`, each `[N, T, E]`) for the
//! backward pass, and one [`BlockScratch`] that every block uses in turn. With fixed shapes a
//! training step allocates only the logits and the tensors the [`Layer`] API returns.
//!
//! What it leaves out: dropout, a key-value cache for generation (each new token runs the whole
//! context again — fine for a context of 64), padding masks (the sequences of a batch have the same
//! length), mixed precision.

use super::layer::{Layer, Mode, Param, assert_grad_shape};
use super::layer_norm::LayerNorm;
use super::positional::PositionalEmbedding;
use super::transformer::{BlockScratch, TransformerBlock};
use crate::linalg::gemm::{gemm_nn, gemm_nt, gemm_tn};
use crate::loss::{LossOutput, Reduction, cross_entropy, softmax_row};
use crate::probability::Rng;
use crate::tensor::Tensor;

/// The shape of a [`Gpt`], with nanoGPT's names in brackets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GptConfig {
    /// The number of different tokens V (`vocab_size`).
    pub vocab_size: usize,
    /// The longest sequence the model reads (`block_size`).
    pub context: usize,
    /// Transformer blocks (`n_layer`).
    pub layers: usize,
    /// Attention heads per block (`n_head`).
    pub heads: usize,
    /// The width E of every position's vector (`n_embd`); the feed-forward part is 4E wide.
    pub width: usize,
}

impl GptConfig {
    /// nanoGPT's configuration for a CPU (`train_shakespeare_char` on a laptop): 4 layers, 4 heads,
    /// width 128, context 64.
    pub fn nano_cpu(vocab_size: usize) -> GptConfig {
        GptConfig {
            vocab_size,
            context: 64,
            layers: 4,
            heads: 4,
            width: 128,
        }
    }

    /// The number of parameters: `V·E + context·E + layers·(12E² + 13E) + 2E` (each block: the
    /// attention's 4E² + 4E, the feed-forward part's 8E² + 5E, two norms' 4E).
    pub fn param_count(&self) -> usize {
        let e = self.width;
        self.vocab_size * e + self.context * e + self.layers * (12 * e * e + 13 * e) + 2 * e
    }
}

/// A GPT-style language model (see the module docs).
pub struct Gpt {
    config: GptConfig,
    /// `token_embedding.weight [V, E]`, also the output layer's weight.
    token_embedding: Param,
    /// `position_embedding.weight [context, E]`.
    pub position_embedding: PositionalEmbedding,
    /// The blocks, `blocks.0` … .
    pub blocks: Vec<TransformerBlock>,
    /// The final layer norm.
    pub norm: LayerNorm,
    state: State,
}

/// What the forward pass keeps, and the backward pass's work space.
#[derive(Default)]
struct State {
    batch: usize,
    steps: usize,
    valid: bool,
    /// The token ids of the last forward pass, `[N·T]`.
    ids: Vec<usize>,
    /// The residual stream x₀ … x_L, each `[R, E]`.
    residual: Vec<Vec<f32>>,
    /// h = norm(x_L) `[R, E]`.
    hidden: Vec<f32>,
    /// Backward: ∂L/∂h `[R, E]`.
    d_hidden: Vec<f32>,
    /// Backward: ∂L/∂x_l for the block being worked on, and for the one before it `[R, E]`.
    d_stream: Vec<f32>,
    d_stream_before: Vec<f32>,
    scratch: BlockScratch,
}

impl Gpt {
    /// A model of the given shape, initialised as nanoGPT (see the module docs).
    pub fn new(config: GptConfig, rng: &mut Rng) -> Gpt {
        let GptConfig {
            vocab_size,
            context,
            layers,
            heads,
            width,
        } = config;
        assert!(
            vocab_size > 0 && context > 0 && layers > 0 && heads > 0 && width % heads == 0,
            "Gpt::new: {config:?} is not a valid shape (sizes ≥ 1, heads dividing the width)"
        );
        let token_embedding = Param::new(Tensor::randn(&[vocab_size, width], 0.0, 0.02, rng));
        let position_embedding = PositionalEmbedding::new(context, width, rng);
        let residual_std = 0.02 / (2.0 * layers as f32).sqrt();
        let blocks = (0..layers)
            .map(|_| {
                let mut block = TransformerBlock::new(width, heads, 4 * width, rng).causal(true);
                block.visit_params(&mut |name, p| {
                    let shape = p.value.shape().to_vec();
                    p.value = if shape.len() < 2 {
                        // Biases start at 0, norms at γ = 1, β = 0.
                        if name.starts_with("norm") && name.ends_with("weight") {
                            Tensor::ones(&shape)
                        } else {
                            Tensor::zeros(&shape)
                        }
                    } else if name == "self_attn.out_proj.weight" || name == "linear2.weight" {
                        Tensor::randn(&shape, 0.0, residual_std, rng)
                    } else {
                        Tensor::randn(&shape, 0.0, 0.02, rng)
                    };
                });
                block
            })
            .collect();
        Gpt {
            config,
            token_embedding,
            position_embedding,
            blocks,
            norm: LayerNorm::new(width),
            state: State::default(),
        }
    }

    /// The model's shape.
    pub fn config(&self) -> GptConfig {
        self.config
    }

    /// `token_embedding.weight [V, E]` (also the output layer's weight) and its gradient.
    pub fn token_embedding(&self) -> &Param {
        &self.token_embedding
    }

    /// Reads the ids `[N, T]` (whole numbers below V, stored as f32) into the state; returns (N, T).
    fn read_ids(&mut self, ids: &Tensor) -> (usize, usize) {
        let GptConfig {
            vocab_size,
            context,
            ..
        } = self.config;
        assert!(
            ids.ndim() == 2 && ids.dim(1) >= 1 && ids.dim(1) <= context,
            "Gpt: expected token ids [N, T] with 1 ≤ T ≤ {context} (the context), got shape {:?}",
            ids.shape()
        );
        self.state.ids.clear();
        for (position, &value) in ids.data().iter().enumerate() {
            assert!(
                value >= 0.0 && value.fract() == 0.0 && (value as usize) < vocab_size,
                "Gpt: input position {position} holds {value}, not a token id in 0..{vocab_size}"
            );
            self.state.ids.push(value as usize);
        }
        (ids.dim(0), ids.dim(1))
    }

    /// The forward pass up to the hidden states h `[R, E]`, left in the state.
    fn forward_to_hidden(&mut self, ids: &Tensor, mode: Mode) {
        let (batch, steps) = self.read_ids(ids);
        let e = self.config.width;
        let rows = batch * steps;
        let keep = mode.keeps_cache();
        let state = &mut self.state;
        state.batch = batch;
        state.steps = steps;
        state.valid = keep;
        state.residual.resize_with(self.blocks.len() + 1, Vec::new);
        for stream in &mut state.residual {
            stream.resize(rows * e, 0.0);
        }
        state.hidden.resize(rows * e, 0.0);

        // x₀ = W_te[ids] + W_pe[0..T]
        let table = self.token_embedding.value.data();
        for (row, &id) in state.residual[0].chunks_exact_mut(e).zip(&state.ids) {
            row.copy_from_slice(&table[id * e..(id + 1) * e]);
        }
        self.position_embedding
            .add_to_rows(&mut state.residual[0], steps);
        // x_{l+1} = block_l(x_l)
        for (l, block) in self.blocks.iter_mut().enumerate() {
            let (before, after) = state.residual.split_at_mut(l + 1);
            block.forward_rows(
                &before[l],
                batch,
                steps,
                &mut after[0],
                keep,
                &mut state.scratch,
            );
        }
        // h = norm(x_L)
        let last = &state.residual[self.blocks.len()];
        self.norm.forward_rows(last, &mut state.hidden, keep);
    }

    /// The hidden states `h = norm(x_L)` `[N, T, E]` for token ids `[N, T]`: the features a
    /// classifier built on the pretrained model reads. After a caching `mode`,
    /// [`Gpt::backward_hidden`] can follow.
    pub fn hidden_states(&mut self, ids: &Tensor, mode: Mode) -> Tensor {
        self.forward_to_hidden(ids, mode);
        let (n, t, e) = (self.state.batch, self.state.steps, self.config.width);
        Tensor::from_vec(&[n, t, e], self.state.hidden.clone())
    }

    /// The backward pass from ∂L/∂h `[N, T, E]` (after [`Gpt::hidden_states`] in Train or Eval):
    /// adds the gradients of every parameter (the output layer's share of the token embedding is
    /// not involved).
    pub fn backward_hidden(&mut self, d_hidden: &Tensor) {
        let (n, t, e) = (self.state.batch, self.state.steps, self.config.width);
        assert_grad_shape("Gpt::backward_hidden", d_hidden, &[n, t, e]);
        let mut buffer = std::mem::take(&mut self.state.d_hidden);
        buffer.clear();
        buffer.extend_from_slice(d_hidden.data());
        self.backward_from_hidden(&buffer);
        self.state.d_hidden = buffer;
    }

    /// Back-propagates ∂L/∂h through the norm, the blocks and the embeddings.
    fn backward_from_hidden(&mut self, d_hidden: &[f32]) {
        let state = &mut self.state;
        assert!(
            state.valid,
            "Gpt::backward called without a preceding forward in Mode::Train or Mode::Eval \
             (a Mode::Inference forward caches nothing)"
        );
        let e = self.config.width;
        let rows = state.batch * state.steps;
        state.d_stream.resize(rows * e, 0.0);
        state.d_stream_before.resize(rows * e, 0.0);
        let layers = self.blocks.len();
        self.norm.backward_rows(
            &state.residual[layers],
            d_hidden,
            &mut state.d_stream,
            false,
        );
        for l in (0..layers).rev() {
            self.blocks[l].backward_rows(
                &state.residual[l],
                &state.d_stream,
                &mut state.d_stream_before,
                &mut state.scratch,
            );
            std::mem::swap(&mut state.d_stream, &mut state.d_stream_before);
        }
        // dW_pe[t] += Σₙ dx₀[n, t];  dW_te[id] += dx₀[n, t] (in input order: deterministic)
        self.position_embedding
            .backward_rows(&state.d_stream, state.steps);
        let grad = self.token_embedding.grad.data_mut();
        for (&id, d) in state.ids.iter().zip(state.d_stream.chunks_exact(e)) {
            for (g, &v) in grad[id * e..(id + 1) * e].iter_mut().zip(d) {
                *g += v;
            }
        }
    }

    /// The attention weights of block `layer` in the last caching forward pass, `[N, heads, T, T]`.
    pub fn attention_weights(&self, layer: usize) -> Tensor {
        self.blocks[layer].attention_weights()
    }

    /// Continues `prompt` by `count` tokens, each drawn from `softmax(logits / temperature)` of the
    /// last position given the last `context` tokens (temperature → 0 approaches always taking
    /// the most likely token; 1 samples the model's own distribution). Runs in [`Mode::Inference`].
    pub fn generate(
        &mut self,
        prompt: &[usize],
        count: usize,
        temperature: f32,
        rng: &mut Rng,
    ) -> Vec<usize> {
        assert!(
            !prompt.is_empty() && temperature > 0.0,
            "Gpt::generate: needs a prompt of at least one token and a temperature > 0"
        );
        let (v, context) = (self.config.vocab_size, self.config.context);
        let mut tokens = prompt.to_vec();
        for _ in 0..count {
            let window = &tokens[tokens.len().saturating_sub(context)..];
            let ids = Tensor::from_vec(
                &[1, window.len()],
                window.iter().map(|&id| id as f32).collect(),
            );
            let logits = self.forward(&ids, Mode::Inference);
            let mut last: Vec<f32> = logits.data()[(window.len() - 1) * v..]
                .iter()
                .map(|&z| z / temperature)
                .collect();
            softmax_row(&mut last);
            let weights: Vec<f64> = last.iter().map(|&p| f64::from(p)).collect();
            tokens.push(rng.categorical(&weights));
        }
        tokens.split_off(prompt.len())
    }
}

/// The language-modelling loss: the mean cross-entropy of the next token over all N·T positions,
/// for logits `[N, T, V]` and `targets` (N·T token ids, row-major: the token that follows each
/// input position). The gradient comes back shaped `[N, T, V]`, ready for [`Gpt`]'s `backward`
/// (nanoGPT's `F.cross_entropy(logits.view(-1, V), targets.view(-1))`).
pub fn next_token_loss(logits: &Tensor, targets: &[usize]) -> LossOutput {
    assert!(
        logits.ndim() == 3 && targets.len() == logits.dim(0) * logits.dim(1),
        "next_token_loss: logits {:?} must be [N, T, V] with one target per position, got {} targets",
        logits.shape(),
        targets.len()
    );
    let shape = logits.shape().to_vec();
    let flat = logits.clone().reshape(&[targets.len(), shape[2]]);
    let out = cross_entropy(&flat, targets, Reduction::Mean);
    LossOutput {
        value: out.value,
        grad: out.grad.reshape(&shape),
        terms: None,
    }
}

impl Layer for Gpt {
    /// Token ids `[N, T]` → logits `[N, T, V]`, the scores of the next token at every position.
    fn forward(&mut self, ids: &Tensor, mode: Mode) -> Tensor {
        self.forward_to_hidden(ids, mode);
        let (n, t) = (self.state.batch, self.state.steps);
        let (v, e) = (self.config.vocab_size, self.config.width);
        let mut logits = Tensor::zeros(&[n, t, v]);
        // logits = h·W_teᵀ   [R, V]
        gemm_nt(
            n * t,
            v,
            e,
            &self.state.hidden,
            self.token_embedding.value.data(),
            logits.data_mut(),
            0.0,
        );
        logits
    }

    /// ∂L/∂logits `[N, T, V]` → adds every parameter's gradient; returns zeros `[N, T]` (token ids
    /// have no gradient).
    fn backward(&mut self, grad_output: &Tensor) -> Tensor {
        let (n, t) = (self.state.batch, self.state.steps);
        let (v, e) = (self.config.vocab_size, self.config.width);
        assert_grad_shape("Gpt", grad_output, &[n, t, v]);
        let rows = n * t;
        // The output layer: dW_te += d_logitsᵀ·h, ∂L/∂h = d_logits·W_te.
        gemm_tn(
            v,
            e,
            rows,
            grad_output.data(),
            &self.state.hidden,
            self.token_embedding.grad.data_mut(),
            1.0,
        );
        let mut d_hidden = std::mem::take(&mut self.state.d_hidden);
        d_hidden.resize(rows * e, 0.0);
        gemm_nn(
            rows,
            e,
            v,
            grad_output.data(),
            self.token_embedding.value.data(),
            &mut d_hidden,
            0.0,
        );
        self.backward_from_hidden(&d_hidden);
        self.state.d_hidden = d_hidden;
        Tensor::zeros(&[n, t])
    }

    fn visit_params(&mut self, f: &mut dyn FnMut(&str, &mut Param)) {
        f("token_embedding.weight", &mut self.token_embedding);
        self.position_embedding
            .visit_params(&mut |name, p| f(&format!("position_embedding.{name}"), p));
        for (l, block) in self.blocks.iter_mut().enumerate() {
            block.visit_params(&mut |name, p| f(&format!("blocks.{l}.{name}"), p));
        }
        self.norm
            .visit_params(&mut |name, p| f(&format!("norm.{name}"), p));
    }

    fn describe(&self) -> String {
        let GptConfig {
            vocab_size,
            context,
            layers,
            heads,
            width,
        } = self.config;
        format!(
            "Gpt(vocab_size={vocab_size}, context={context}, layers={layers}, heads={heads}, \
             width={width}, tied output layer)"
        )
    }
}
