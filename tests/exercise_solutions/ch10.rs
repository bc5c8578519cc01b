//! Reference solutions of chapter 10's exercises (see `mod.rs`).

pub fn mse(prediction: &[f32], target: &[f32]) -> (f32, Vec<f32>) {
    use dlfs::loss::Reduction;
    let n = prediction.len();
    let prediction = dlfs::Tensor::from_vec(&[n], prediction.to_vec());
    let target = dlfs::Tensor::from_vec(&[n], target.to_vec());
    let out = dlfs::loss::mse(&prediction, &target, Reduction::Mean);
    (out.value, out.grad.into_data())
}

pub fn cross_entropy(logits: &[f32], targets: &[usize], k: usize) -> (f32, Vec<f32>) {
    use dlfs::loss::Reduction;
    let logits = dlfs::Tensor::from_vec(&[targets.len(), k], logits.to_vec());
    let out = dlfs::loss::cross_entropy(&logits, targets, Reduction::Mean);
    (out.value, out.grad.into_data())
}

pub fn bce_with_logits(logits: &[f32], targets: &[f32]) -> (f32, Vec<f32>) {
    use dlfs::loss::Reduction;
    let n = logits.len();
    let logits = dlfs::Tensor::from_vec(&[n], logits.to_vec());
    let targets = dlfs::Tensor::from_vec(&[n], targets.to_vec());
    let out = dlfs::loss::bce_with_logits(&logits, &targets, Reduction::Mean);
    (out.value, out.grad.into_data())
}
