//! Chapter 18, interpretability: which input pixels a trained network's answer depends on.
//!
//! | file | method | the map for class c of input x |
//! |---|---|---|
//! | `saliency.rs` | saliency (Simonyan et al. 2014) | `|∂F_c/∂x|`, the largest over colour channels |
//! | `integrated_gradients.rs` | integrated gradients (Sundararajan et al. 2017) | `(x − x′) ⊙ ∫₀¹ ∂F_c/∂x(x′ + α(x − x′)) dα` |
//! | `grad_cam.rs` | Grad-CAM (Selvaraju et al. 2017) | `ReLU(Σ_k α_k A_k)`, `α_k` = mean of `∂F_c/∂A_k` over the map |
//! | `occlusion.rs` | occlusion (Zeiler & Fergus 2014) | the drop of `p_c` when a grey patch hides each place |
//! | `compare.rs` | checks | rank correlation of two maps, the share of top pixels inside a region |
//! | `overlay.rs` | pictures | a map as a heat colour over the image |
//!
//! The first three need gradients with respect to the *input* of a trained model: a forward pass in
//! `Mode::Eval` (no dropout, caches kept) followed by `backward` of a one-hot output gradient
//! ([`input_gradients`]). The first layer must compute its input gradient (chapter 12's `conv1` skips
//! it by default: build it with `input_gradient(true)`).
//!
//! Why several methods: a saliency map is noisy and saturates (a ReLU network's gradient says
//! nothing about how far the input is from a baseline); integrated gradients satisfies
//! *completeness* — its attributions add up to `F(x) − F(x′)` — at the price of many gradient
//! evaluations; Grad-CAM is coarse (the last convolution's grid) but class-discriminative; occlusion
//! needs no gradient at all but one forward pass per patch. And a map can look plausible yet not
//! depend on the model: the randomisation check (Adebayo et al. 2018) re-initialises layers and
//! measures how much the map changes.
//!
//! It sits on the floor of `train` (uses `nn`, `loss`, `report`). What it leaves out: SmoothGrad,
//! guided backpropagation, LIME/SHAP, attention maps, attribution for text.

pub mod compare;
pub mod grad_cam;
pub mod integrated_gradients;
pub mod occlusion;
pub mod overlay;
pub mod saliency;

pub use compare::{spearman, top_fraction_inside};
pub use grad_cam::{grad_cam, upsample_bilinear};
pub use integrated_gradients::{Completeness, completeness, integrated_gradients};
pub use occlusion::occlusion;
pub use overlay::heat_tile;
pub use saliency::{input_gradients, saliency, saliency_map};
