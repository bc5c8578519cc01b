//! The two image encoders of chapter 18's CLIP-style model, and why the second exists.
//!
//! [`plain_image_encoder`] is a small CNN on the colour image, like chapter 12's. Trained on
//! pictures where a red disk never occurs, it learns *conjunctions*: "red" and "disk" are never seen
//! together, so its features for red things leave out disk-ness, and a red disk at test time is
//! classified as some other shape (measured in this chapter's development: 12 % zero-shot shape
//! accuracy on held-out pairs, below the 20 % of chance, against 96 % on seen pairs; colour 99.6 %).
//!
//! [`FactorizedImageEncoder`] builds the separation into the architecture — the "what shape" and
//! "what colour" questions get different inputs, as in the two-stream picture of early vision:
//!
//! ```text
//! image [N, 3, 32, 32] ─ grey = (R + G + B) / 3 → contrast map |standardised grey| [N, 1, 32, 32]
//!                      │                          → CNN → shape features [N, 64]
//!                      └ 1×1 convolution 3 → 8 → ReLU → max over all 32×32 places → colour features [N, 8]
//! [shape, colour] [N, 72] → Linear(72, E) → L2Normalize
//! ```
//!
//! The shape stream cannot see colour, the colour stream cannot see shape (a 1×1 convolution and a
//! global maximum know nothing of where pixels are), and one linear layer joins them — the
//! embedding of a red disk is the disk part plus the red part, both learned from other pairs. That
//! is an inductive bias chosen for this data, not a free lunch: it cannot represent a concept that
//! needs both at once.
//!
//! Why the [`contrast`] map and not the grey image itself: a colour has a brightness (yellow is
//! brighter than blue, orange than red), so a grey picture still tells colours apart, and a shape
//! stream fed with it can learn "a ring this bright never occurs" — a shape–colour conjunction by
//! the back door. Standardising each grey picture (mean 0, standard deviation 1) removes the
//! object's brightness and the background's, and the absolute value removes whether the object is
//! lighter or darker than its background: what is left is where the object is, which is its shape.
//! Measured in this chapter's development (20,000 pairs, 12 epochs, seed 0, Adam without weight
//! decay): held-out shape accuracy 95.9 % from the grey image, 99.6 % from the contrast map.

use super::normalize::L2Normalize;
use crate::nn::{Conv2d, Flatten, Layer, Linear, MaxPool2d, Mode, Param, Relu, Sequential};
use crate::probability::Rng;
use crate::tensor::Tensor;

/// The plain encoder: `Conv2d(3, 8, 5) → MaxPool 2 → ReLU → Conv2d(8, 16, 5) → MaxPool 2 → ReLU →
/// flatten 400 → Linear(400, 64) → ReLU → Linear(64, E) → L2Normalize`.
pub fn plain_image_encoder(embedding: usize, rng: &mut Rng) -> Sequential {
    let mut layers = convolutional_trunk(3, rng);
    layers.push(Box::new(Linear::new(64, embedding, rng)));
    layers.push(Box::new(L2Normalize::new()));
    Sequential::new(layers)
}

/// `Conv2d(C, 8, 5) → MaxPool 2 → ReLU → Conv2d(8, 16, 5) → MaxPool 2 → ReLU → flatten 400 →
/// Linear(400, 64) → ReLU`: `[N, C, 32, 32]` → `[N, 64]`, the part both image encoders share (the
/// plain one on the colour image, C = 3; the factorized one's shape stream on the contrast map,
/// C = 1). The first convolution computes no input gradient: nothing is before it.
fn convolutional_trunk(channels: usize, rng: &mut Rng) -> Vec<Box<dyn Layer>> {
    vec![
        Box::new(
            Conv2d::builder(channels, 8, 5)
                .input_gradient(false)
                .build(rng),
        ),
        Box::new(MaxPool2d::new(2)),
        Box::new(Relu::new()),
        Box::new(Conv2d::new(8, 16, 5, rng)),
        Box::new(MaxPool2d::new(2)),
        Box::new(Relu::new()),
        Box::new(Flatten::new()),
        Box::new(Linear::new(400, 64, rng)),
        Box::new(Relu::new()),
    ]
}

/// Shape from the contrast map, colour from a place-blind colour detector, joined linearly (see
/// the module docs). Input `[N, 3, 32, 32]`, output unit embeddings `[N, E]`.
pub struct FactorizedImageEncoder {
    /// The shape stream, on the contrast map of the grey image: two convolutions and a linear
    /// layer → `[N, 64]`.
    pub shape: Sequential,
    /// The colour stream: a 1×1 convolution, ReLU and a maximum over all places → `[N, 8]`.
    pub colour: Sequential,
    /// `Linear(72, E) → L2Normalize`.
    pub head: Sequential,
    /// Widths of the two streams' outputs (for splitting the head's input gradient).
    widths: (usize, usize),
}

impl FactorizedImageEncoder {
    /// The encoder with embeddings of width `embedding`.
    pub fn new(embedding: usize, rng: &mut Rng) -> FactorizedImageEncoder {
        let shape = Sequential::new(convolutional_trunk(1, rng));
        let colour = Sequential::new(vec![
            Box::new(Conv2d::builder(3, 8, 1).input_gradient(false).build(rng)),
            Box::new(Relu::new()),
            Box::new(MaxPool2d::new(32)),
            Box::new(Flatten::new()),
        ]);
        let head = Sequential::new(vec![
            Box::new(Linear::new(72, embedding, rng)),
            Box::new(L2Normalize::new()),
        ]);
        FactorizedImageEncoder {
            shape,
            colour,
            head,
            widths: (64, 8),
        }
    }
}

/// The grey image `(R + G + B) / 3` `[N, 1, H, W]` of `[N, 3, H, W]` images.
pub fn grey(images: &Tensor) -> Tensor {
    let (n, h, w) = (images.dim(0), images.dim(2), images.dim(3));
    let plane = h * w;
    Tensor::from_fn(&[n, 1, h, w], |i| {
        let (image, p) = (i / plane, i % plane);
        let base = image * 3 * plane + p;
        (images.data()[base] + images.data()[base + plane] + images.data()[base + 2 * plane]) / 3.0
    })
}

/// The contrast map `[N, 1, H, W]` of grey images `[N, 1, H, W]`: each image standardised (its
/// mean subtracted, divided by its standard deviation, floored at 10⁻⁶) and then its absolute value,
/// `|g − mean(g)| / sd(g)` — the same map for `a·g + b` whatever `a ≠ 0` and `b`: whatever the
/// object's brightness and whether it is lighter or darker than its background. No gradient is
/// needed through it (the images are data).
pub fn contrast(grey: &Tensor) -> Tensor {
    let plane = grey.dim(2) * grey.dim(3);
    let mut out = grey.clone();
    for image in out.data_mut().chunks_mut(plane.max(1)) {
        let mean = image.iter().sum::<f32>() / plane as f32;
        let variance = image.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / plane as f32;
        let std = variance.sqrt().max(1e-6);
        for v in image.iter_mut() {
            *v = ((*v - mean) / std).abs();
        }
    }
    out
}

impl Layer for FactorizedImageEncoder {
    fn forward(&mut self, images: &Tensor, mode: Mode) -> Tensor {
        let shape = self.shape.forward(&contrast(&grey(images)), mode);
        let colour = self.colour.forward(images, mode);
        let n = images.dim(0);
        let (a, b) = self.widths;
        let joined = Tensor::from_fn(&[n, a + b], |i| {
            let (row, j) = (i / (a + b), i % (a + b));
            if j < a {
                shape.data()[row * a + j]
            } else {
                colour.data()[row * b + j - a]
            }
        });
        self.head.forward(&joined, mode)
    }

    /// Back-propagates into both streams; the input gradient is zeros (the images are data).
    fn backward(&mut self, grad_output: &Tensor) -> Tensor {
        let joined = self.head.backward(grad_output);
        let n = joined.dim(0);
        let (a, b) = self.widths;
        let shape_grad = Tensor::from_fn(&[n, a], |i| joined.data()[(i / a) * (a + b) + i % a]);
        let colour_grad =
            Tensor::from_fn(&[n, b], |i| joined.data()[(i / b) * (a + b) + a + i % b]);
        self.shape.backward(&shape_grad);
        self.colour.backward(&colour_grad);
        Tensor::zeros(&[n, 3, 32, 32])
    }

    fn visit_params(&mut self, f: &mut dyn FnMut(&str, &mut Param)) {
        self.shape
            .visit_params(&mut |name, p| f(&format!("shape.{name}"), p));
        self.colour
            .visit_params(&mut |name, p| f(&format!("colour.{name}"), p));
        self.head
            .visit_params(&mut |name, p| f(&format!("head.{name}"), p));
    }

    fn describe(&self) -> String {
        "FactorizedImageEncoder(shape: contrast-map CNN → 64, colour: 1×1 conv + global max → 8, Linear(72, E) → L2Normalize)".to_string()
    }
}
