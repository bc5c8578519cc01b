//! `mlp`: the multi-layer perceptron as a [`Sequential`] — `Linear → ReLU → … → Linear` — built from
//! a list of widths, and its one-line description (chapter 17's networks and the metadata of their
//! exported weights).
//!
//! `mlp(&[4, 64, 64, 2], rng)` is PyTorch's
//! `nn.Sequential(nn.Linear(4, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 2))`:
//! the same layers, the same parameter names (`0.weight`, `0.bias`, `2.weight`, …, the ReLUs
//! hold no parameters but take their index) and PyTorch's default initialisation, so weights saved
//! from it load into that module with `load_state_dict`.
//!
//! What it leaves out: other activations, dropout, normalisation layers (build a [`Sequential`] by
//! hand for those).

use super::{Linear, Relu, Sequential};
use crate::probability::Rng;

/// `Linear(w₀, w₁) → ReLU → Linear(w₁, w₂) → … → Linear(w_{L−1}, w_L)`: a ReLU between consecutive
/// linear layers, none after the last. Input `[N, w₀]`, output `[N, w_L]`. Panics with fewer than
/// two widths or a zero width.
pub fn mlp(widths: &[usize], rng: &mut Rng) -> Sequential {
    assert!(
        widths.len() >= 2 && widths.iter().all(|&w| w > 0),
        "mlp: needs at least two widths (inputs and outputs), all positive; got {widths:?}"
    );
    let mut model = Sequential::default();
    for (i, pair) in widths.windows(2).enumerate() {
        if i > 0 {
            model.push(Relu::new());
        }
        model.push(Linear::new(pair[0], pair[1], rng));
    }
    model
}

/// The layers of [`mlp`]`(widths)` in one line, as chapter 17 writes into a checkpoint's metadata:
/// `"Linear(1,40) ReLU Linear(40,40) ReLU Linear(40,1)"`.
pub fn mlp_layers_text(widths: &[usize]) -> String {
    let layers: Vec<String> = widths
        .windows(2)
        .map(|pair| format!("Linear({},{})", pair[0], pair[1]))
        .collect();
    layers.join(" ReLU ")
}
