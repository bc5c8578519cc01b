//! Chapter 18, multimodal learning: one embedding space for images and text, learned CLIP-style
//! (Radford et al. 2021) from image–caption pairs.
//!
//! | file | what it teaches |
//! |---|---|
//! | `normalize.rs` | [`L2Normalize`]: vectors scaled to length 1, forward and backward |
//! | `encoder.rs` | the image encoders: a plain CNN, and [`FactorizedImageEncoder`] (shape from the grey contrast map, colour from a place-blind detector) |
//! | `clip.rs` | [`Clip`]: an image encoder and a text encoder into one space; the `[N, N]` similarity logits |
//! | `contrastive.rs` | [`ContrastiveLoss`]: the symmetric cross-entropy that pulls each pair together |
//!
//! Training sees a batch of N pairs and asks each image to pick its own caption among the N, and
//! each caption its own image — N-way classification in both directions, where the "classes" are
//! the other examples of the batch. Nothing says what a shape or a colour is; the model must find
//! out from which captions go with which pictures. Afterwards a class can be *written*: the image is
//! compared with the embeddings of prompts like "a photo of a ring" (zero-shot classification), and
//! captions can be retrieved for an image.
//!
//! It sits on the floor of `train` (uses `nn`, `loss`, `linalg`). What it leaves out: transformers as
//! encoders (chapter 16 has the pieces), large batches across devices, prompt ensembles, image
//! generation.

pub mod clip;
pub mod contrastive;
pub mod encoder;
pub mod normalize;

pub use clip::{Clip, ImageEncoder};
pub use contrastive::{ContrastiveLoss, contrastive_loss};
pub use encoder::FactorizedImageEncoder;
pub use normalize::L2Normalize;
