//! [`Clip`]: an image encoder and a text encoder into one unit-length embedding space (chapter 18).
//!
//! ```text
//! image [N, 3, 32, 32] → an image encoder (see `encoder.rs`: plain or factorized) → unit I [N, E]
//! tokens [N, 8]        → Embedding(V, 32) → GRU(32, 64), last step → Linear(64, E) → L2Normalize   T [N, E]
//! logits = exp(t) · I·Tᵀ                                                                    [N, N]
//! ```
//!
//! As a [`Layer`], `Clip` takes a batch of *pairs*, each row the 3,072 normalised pixels of an image
//! followed by its caption's token ids (left-padded, see `data::captioned_shapes`), and returns the
//! `[N, N]` logits for [`super::ContrastiveLoss`]: the ordinary training loop and optimizers then
//! train it. Backward, with `G = ∂L/∂logits` and `s = exp(t)`:
//!
//! ```text
//! ∂L/∂I = s · G·T        ∂L/∂T = s · Gᵀ·I        ∂L/∂t = Σᵢⱼ G ⊙ logits
//! ```
//!
//! and each encoder back-propagates its part. The input gradient is zeros (pixels and token ids are
//! data). The scale starts at `1/0.07` as in CLIP and is capped at 100 (`t ≤ ln 100`), which keeps
//! the logits from growing without bound.
//!
//! [`Clip::encode_images`] and [`Clip::encode_texts`] give the embeddings on their own, for
//! zero-shot classification and retrieval.

use crate::nn::{Embedding, GRU, Layer, Linear, Mode, Param, RecurrentOutput, Sequential};
use crate::probability::Rng;
use crate::tensor::Tensor;

use super::encoder::{FactorizedImageEncoder, plain_image_encoder};
use super::normalize::L2Normalize;

/// Which image encoder a [`Clip`] has (see `encoder.rs`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ImageEncoder {
    /// A small CNN on the colour image.
    Plain,
    /// Shape from the grey image, colour from a place-blind detector, joined linearly.
    Factorized,
}

/// Pixels per image in a pair row.
pub const IMAGE_VALUES: usize = 3 * 32 * 32;

/// The CLIP-style model (see the module docs).
pub struct Clip {
    /// The image encoder, ending in [`L2Normalize`].
    pub image_encoder: Box<dyn Layer>,
    /// The text encoder, ending in [`L2Normalize`].
    pub text_encoder: Sequential,
    /// `t`, the log of the logit scale.
    pub log_scale: Param,
    tokens: usize,
    /// What backward needs: the embeddings and the scale of the last caching forward pass.
    cache: Option<(Tensor, Tensor, f32)>,
}

/// The largest `t`: the scale is capped at 100.
const MAX_LOG_SCALE: f32 = 4.605_170_2;

impl Clip {
    /// A model for a vocabulary of `vocabulary` words, captions of `tokens` ids, embeddings of width
    /// `embedding`, with the given image encoder.
    pub fn new(
        vocabulary: usize,
        tokens: usize,
        embedding: usize,
        image: ImageEncoder,
        rng: &mut Rng,
    ) -> Clip {
        let image_encoder: Box<dyn Layer> = match image {
            ImageEncoder::Plain => Box::new(plain_image_encoder(embedding, rng)),
            ImageEncoder::Factorized => Box::new(FactorizedImageEncoder::new(embedding, rng)),
        };
        let text_encoder = Sequential::new(vec![
            Box::new(Embedding::new(vocabulary, 32, rng)),
            Box::new(GRU::new(32, 64, rng).output(RecurrentOutput::LastStep)),
            Box::new(Linear::new(64, embedding, rng)),
            Box::new(L2Normalize::new()),
        ]);
        Clip {
            image_encoder,
            text_encoder,
            log_scale: Param::new(Tensor::scalar((1.0f32 / 0.07).ln())),
            tokens,
            cache: None,
        }
    }

    /// The logit scale `exp(t)` (t capped at ln 100).
    pub fn scale(&self) -> f32 {
        self.log_scale.value.data()[0].min(MAX_LOG_SCALE).exp()
    }

    /// Unit image embeddings `[N, E]` of normalised images `[N, 3, 32, 32]`.
    pub fn encode_images(&mut self, images: &Tensor, mode: Mode) -> Tensor {
        self.image_encoder.forward(images, mode)
    }

    /// Unit text embeddings `[N, E]` of token ids `[N, tokens]` (as floats).
    pub fn encode_texts(&mut self, tokens: &Tensor, mode: Mode) -> Tensor {
        self.text_encoder.forward(tokens, mode)
    }

    /// Splits pair rows `[N, 3072 + tokens]` into images `[N, 3, 32, 32]` and tokens `[N, tokens]`.
    pub fn split_pairs(&self, pairs: &Tensor) -> (Tensor, Tensor) {
        let width = IMAGE_VALUES + self.tokens;
        assert!(
            pairs.ndim() == 2 && pairs.dim(1) == width,
            "Clip: expected pairs [N, {width}] (3072 pixels + {} token ids), got {:?}",
            self.tokens,
            pairs.shape()
        );
        let n = pairs.dim(0);
        let images = Tensor::from_fn(&[n, 3, 32, 32], |i| {
            pairs.data()[(i / IMAGE_VALUES) * width + i % IMAGE_VALUES]
        });
        let tokens = Tensor::from_fn(&[n, self.tokens], |i| {
            pairs.data()[(i / self.tokens) * width + IMAGE_VALUES + i % self.tokens]
        });
        (images, tokens)
    }
}

/// `a·bᵀ` for row-major `[n, e]` and `[m, e]`.
fn times_transpose(a: &Tensor, b: &Tensor) -> Tensor {
    let (n, m, e) = (a.dim(0), b.dim(0), a.dim(1));
    let mut c = Tensor::zeros(&[n, m]);
    crate::linalg::gemm::gemm_nt(n, m, e, a.data(), b.data(), c.data_mut(), 0.0);
    c
}

/// `a·b` for row-major `[n, k]` and `[k, e]`.
fn times(a: &Tensor, b: &Tensor) -> Tensor {
    let (n, k, e) = (a.dim(0), a.dim(1), b.dim(1));
    let mut c = Tensor::zeros(&[n, e]);
    crate::linalg::gemm::gemm_nn(n, e, k, a.data(), b.data(), c.data_mut(), 0.0);
    c
}

impl Layer for Clip {
    /// Pairs `[N, 3072 + tokens]` → logits `exp(t)·I·Tᵀ` `[N, N]`.
    fn forward(&mut self, pairs: &Tensor, mode: Mode) -> Tensor {
        let (images, tokens) = self.split_pairs(pairs);
        let image = self.image_encoder.forward(&images, mode);
        let text = self.text_encoder.forward(&tokens, mode);
        let scale = self.scale();
        let logits = times_transpose(&image, &text).scale(scale);
        self.cache = mode.keeps_cache().then_some((image, text, scale));
        logits
    }

    fn backward(&mut self, grad_logits: &Tensor) -> Tensor {
        let (image, text, scale) = self
            .cache
            .take()
            .expect("Clip::backward needs a forward in Mode::Train or Mode::Eval first");
        let n = image.dim(0);
        crate::nn::assert_grad_shape("Clip", grad_logits, &[n, n]);
        let similarities = times_transpose(&image, &text);
        // ∂L/∂t = Σ G ⊙ s·S (zero once the cap holds t).
        if self.log_scale.value.data()[0] < MAX_LOG_SCALE {
            let dt: f32 = grad_logits
                .data()
                .iter()
                .zip(similarities.data())
                .map(|(g, s)| g * s * scale)
                .sum();
            self.log_scale.grad.data_mut()[0] += dt;
        }
        let grad_scaled = grad_logits.scale(scale);
        let grad_image = times(&grad_scaled, &text);
        let grad_text = times(&grad_scaled.transpose(), &image);
        self.image_encoder.backward(&grad_image);
        self.text_encoder.backward(&grad_text);
        self.cache = Some((image, text, scale));
        Tensor::zeros(&[n, IMAGE_VALUES + self.tokens])
    }

    fn visit_params(&mut self, f: &mut dyn FnMut(&str, &mut Param)) {
        self.image_encoder
            .visit_params(&mut |name, p| f(&format!("image.{name}"), p));
        self.text_encoder
            .visit_params(&mut |name, p| f(&format!("text.{name}"), p));
        f("logit_scale", &mut self.log_scale);
    }

    fn describe(&self) -> String {
        format!(
            "Clip(image: {}, text: {}, logit scale {:.2})",
            self.image_encoder.describe(),
            self.text_encoder.describe(),
            self.scale()
        )
    }
}
