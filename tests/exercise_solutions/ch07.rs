//! Reference solutions of chapter 7's exercises (see `mod.rs`).

pub fn linear_forward(
    x: &[f32],
    weight: &[f32],
    bias: &[f32],
    n: usize,
    in_features: usize,
    out_features: usize,
) -> Vec<f32> {
    use dlfs::nn::{Layer, Linear, Mode};
    let weight = dlfs::Tensor::from_vec(&[out_features, in_features], weight.to_vec());
    let bias = dlfs::Tensor::from_vec(&[out_features], bias.to_vec());
    let mut layer = Linear::from_params(weight, Some(bias));
    let input = dlfs::Tensor::from_vec(&[n, in_features], x.to_vec());
    layer.forward(&input, Mode::Eval).into_data()
}

pub fn linear_backward(
    x: &[f32],
    weight: &[f32],
    grad_output: &[f32],
    n: usize,
    in_features: usize,
    out_features: usize,
) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    use dlfs::nn::{Layer, Linear, Mode};
    let weight = dlfs::Tensor::from_vec(&[out_features, in_features], weight.to_vec());
    // The bias does not enter the gradients; the layer needs one to have a bias gradient.
    let bias = dlfs::Tensor::zeros(&[out_features]);
    let mut layer = Linear::from_params(weight, Some(bias));
    let input = dlfs::Tensor::from_vec(&[n, in_features], x.to_vec());
    layer.forward(&input, Mode::Train);
    let dy = dlfs::Tensor::from_vec(&[n, out_features], grad_output.to_vec());
    let dx = layer.backward(&dy).into_data();
    let dw = layer.weight().grad.data().to_vec();
    let db = layer
        .bias()
        .map(|b| b.grad.data().to_vec())
        .unwrap_or_default();
    (dx, dw, db)
}

pub fn dropout_forward(x: &[f32], keep: &[bool], p: f32) -> Vec<f32> {
    // `Dropout::forward` draws `keep` itself; the scaling is the same.
    let scale = 1.0 / (1.0 - p);
    x.iter()
        .zip(keep)
        .map(|(&v, &kept)| if kept { v * scale } else { 0.0 })
        .collect()
}
