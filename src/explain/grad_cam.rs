//! Grad-CAM (Selvaraju et al. 2017; chapter 18): class activation maps from the last convolution.
//!
//! With `A_k` (`[h, w]`) the k-th feature map of a convolution layer and `F_c` the class score:
//!
//! ```text
//! α_k = (1 / (h·w)) Σ_{i,j} ∂F_c/∂A_k[i, j]          how much map k matters for class c
//! L_c = ReLU(Σ_k α_k · A_k)                            [h, w]: where those maps fire
//! ```
//!
//! The last convolution sees the most abstract features while keeping a spatial grid (10 × 10 in
//! chapter 12's CNN); the map is upsampled to the image ([`upsample_bilinear`]) to be overlaid.
//! The network is run layer by layer ([`grad_cam`] takes the layers in order, as
//! `CifarCnn::layers_mut` gives them) so that the target layer's output and the gradient arriving
//! at it can be read on the way.

use crate::nn::{Layer, Mode, zero_grad};
use crate::tensor::Tensor;

/// The Grad-CAM map `[h, w]` of the layer named `target` for class `class` and one image `x`
/// (`[1, …]`), with `layers` the network's layers in forward order. Panics if no layer has that
/// name or its output is not `[1, K, h, w]`.
pub fn grad_cam(
    layers: &mut [(&str, &mut dyn Layer)],
    target: &str,
    x: &Tensor,
    class: usize,
) -> Tensor {
    let index = layers
        .iter()
        .position(|(name, _)| *name == target)
        .unwrap_or_else(|| panic!("grad_cam: no layer named {target:?}"));
    let mut current = x.clone();
    let mut activations = None;
    for (i, (_, layer)) in layers.iter_mut().enumerate() {
        current = layer.forward(&current, Mode::Eval);
        if i == index {
            activations = Some(current.clone());
        }
    }
    let activations = activations.expect("the target layer ran");
    assert!(
        activations.ndim() == 4 && activations.dim(0) == 1,
        "grad_cam: {target} must output [1, K, h, w], got {:?}",
        activations.shape()
    );
    let mut grad = Tensor::zeros(current.shape());
    grad.data_mut()[class] = 1.0;
    for (_, layer) in layers[index + 1..].iter_mut().rev() {
        grad = layer.backward(&grad);
    }
    for (_, layer) in layers.iter_mut() {
        zero_grad(&mut **layer);
    }
    let (k, h, w) = (activations.dim(1), activations.dim(2), activations.dim(3));
    let plane = h * w;
    let weights: Vec<f32> = (0..k)
        .map(|map| {
            grad.data()[map * plane..(map + 1) * plane]
                .iter()
                .sum::<f32>()
                / plane as f32
        })
        .collect();
    Tensor::from_fn(&[h, w], |p| {
        let value: f32 = (0..k)
            .map(|map| weights[map] * activations.data()[map * plane + p])
            .sum();
        value.max(0.0)
    })
}

/// A map `[h, w]` resampled to `[out_h, out_w]` by bilinear interpolation, where feature cell `r`
/// is centred on input pixel `offset + stride·r` (chapter 12's `conv2`: stride 2, offset 6.5 — its
/// receptive fields are 14 pixels wide). Outside the first and last centres the edge value is kept.
pub fn upsample_bilinear(
    map: &Tensor,
    out_h: usize,
    out_w: usize,
    stride: f32,
    offset: f32,
) -> Tensor {
    let (h, w) = (map.dim(0), map.dim(1));
    let coordinate = |pixel: usize, size: usize| {
        let f = ((pixel as f32 - offset) / stride).clamp(0.0, (size - 1) as f32);
        let low = f.floor() as usize;
        let high = (low + 1).min(size - 1);
        (low, high, f - low as f32)
    };
    Tensor::from_fn(&[out_h, out_w], |p| {
        let (y0, y1, fy) = coordinate(p / out_w, h);
        let (x0, x1, fx) = coordinate(p % out_w, w);
        let at = |y: usize, x: usize| map.data()[y * w + x];
        (1.0 - fy) * ((1.0 - fx) * at(y0, x0) + fx * at(y0, x1))
            + fy * ((1.0 - fx) * at(y1, x0) + fx * at(y1, x1))
    })
}
