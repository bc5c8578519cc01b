//! Occlusion maps (Zeiler & Fergus 2014; chapter 18): hide part of the image, watch the answer.
//!
//! A `patch × patch` square of the image is replaced by `fill` (grey: 0 after normalisation), at
//! every position `stride` pixels apart; each pixel's value is the mean drop of the class
//! probability `p_c(x) − p_c(x with the patch)` over the patches that cover it. No gradients — the
//! network is a black box — but one forward pass per patch (batched).

use crate::loss::softmax;
use crate::nn::{Layer, Mode};
use crate::tensor::Tensor;

/// The occlusion map `[H, W]` of one image `x` (`[1, C, H, W]`) for class `class`. Panics if the
/// patch is larger than the image or the stride is 0.
pub fn occlusion(
    model: &mut dyn Layer,
    x: &Tensor,
    class: usize,
    patch: usize,
    stride: usize,
    fill: f32,
) -> Tensor {
    assert!(
        x.ndim() == 4 && x.dim(0) == 1,
        "occlusion: expected [1, C, H, W], got {:?}",
        x.shape()
    );
    let (channels, h, w) = (x.dim(1), x.dim(2), x.dim(3));
    assert!(
        patch >= 1 && patch <= h.min(w) && stride >= 1,
        "occlusion: patch {patch}, stride {stride}"
    );
    let probability = |model: &mut dyn Layer, batch: &Tensor| {
        let p = softmax(&model.forward(batch, Mode::Inference));
        (0..batch.dim(0))
            .map(|n| p.row(n)[class])
            .collect::<Vec<f32>>()
    };
    let original = probability(model, x)[0];
    let positions: Vec<(usize, usize)> = (0..=h - patch)
        .step_by(stride)
        .flat_map(|top| (0..=w - patch).step_by(stride).map(move |left| (top, left)))
        .collect();
    let mut drop = vec![0.0f32; h * w];
    let mut count = vec![0u32; h * w];
    for chunk in positions.chunks(64) {
        let mut batch = Tensor::zeros(&[chunk.len(), channels, h, w]);
        for (n, &(top, left)) in chunk.iter().enumerate() {
            let image = &mut batch.data_mut()[n * x.len()..(n + 1) * x.len()];
            image.copy_from_slice(x.data());
            for c in 0..channels {
                for y in top..top + patch {
                    image[(c * h + y) * w + left..][..patch].fill(fill);
                }
            }
        }
        for (&(top, left), p) in chunk.iter().zip(probability(model, &batch)) {
            for y in top..top + patch {
                for x in left..left + patch {
                    drop[y * w + x] += original - p;
                    count[y * w + x] += 1;
                }
            }
        }
    }
    Tensor::from_fn(&[h, w], |i| {
        if count[i] > 0 {
            drop[i] / count[i] as f32
        } else {
            0.0
        }
    })
}
