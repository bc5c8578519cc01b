//! Reference solutions of chapter 6's exercises (see `mod.rs`).

pub fn sigmoid(x: f32) -> f32 {
    dlfs::nn::sigmoid(x)
}

pub fn sigmoid_derivative(x: f32) -> f32 {
    dlfs::nn::sigmoid_derivative(x)
}

pub fn neuron(inputs: &[f32], weights: &[f32], bias: f32) -> f32 {
    use dlfs::nn::{Layer, Linear, Mode, Sigmoid};
    // A neuron is a Linear layer with one output, followed by the activation.
    let n = inputs.len();
    let weight = dlfs::Tensor::from_vec(&[1, n], weights.to_vec());
    let mut linear = Linear::from_params(weight, Some(dlfs::Tensor::from_vec(&[1], vec![bias])));
    let z = linear.forward(
        &dlfs::Tensor::from_vec(&[1, n], inputs.to_vec()),
        Mode::Eval,
    );
    Sigmoid::new().forward(&z, Mode::Eval).data()[0]
}

pub fn softmax(x: &[f32], k: usize) -> Vec<f32> {
    let mut y = x.to_vec();
    for row in y.chunks_mut(k) {
        dlfs::loss::softmax_row(row);
    }
    y
}

pub fn softmax_backward(y: &[f32], grad_output: &[f32], k: usize) -> Vec<f32> {
    // The loop of `Softmax::backward`: dxᵢ = yᵢ·(dyᵢ − Σⱼ dyⱼ·yⱼ), row by row.
    let mut dx = grad_output.to_vec();
    for (dx_row, y_row) in dx.chunks_mut(k).zip(y.chunks(k)) {
        let dot: f32 = dx_row.iter().zip(y_row).map(|(&g, &y)| g * y).sum();
        for (g, &y) in dx_row.iter_mut().zip(y_row) {
            *g = y * (*g - dot);
        }
    }
    dx
}
