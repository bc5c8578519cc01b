//! Reference solutions of chapter 18's exercises (see `mod.rs`).

pub fn quantize_symmetric(values: &[f32]) -> (Vec<i8>, f32) {
    use dlfs::quant::quantize::{max_abs, quantize, symmetric_scale};
    let scale = symmetric_scale(max_abs(values));
    (quantize(values, scale), scale)
}

pub fn integrated_gradients(
    gradient: &dyn Fn(&[f32]) -> Vec<f32>,
    x: &[f32],
    baseline: &[f32],
    steps: usize,
) -> Vec<f32> {
    let mut sum = vec![0.0f64; x.len()];
    for k in 0..steps {
        let alpha = (k as f32 + 0.5) / steps as f32;
        let point: Vec<f32> = x
            .iter()
            .zip(baseline)
            .map(|(&x, &b)| b + alpha * (x - b))
            .collect();
        for (s, g) in sum.iter_mut().zip(gradient(&point)) {
            *s += f64::from(g);
        }
    }
    x.iter()
        .zip(baseline)
        .zip(&sum)
        .map(|((&x, &b), &s)| ((f64::from(x) - f64::from(b)) * s / steps as f64) as f32)
        .collect()
}

pub fn contrastive_loss(logits: &[f32], n: usize) -> (f32, Vec<f32>) {
    let out = dlfs::multimodal::contrastive_loss(&dlfs::Tensor::from_vec(&[n, n], logits.to_vec()));
    (out.value, out.grad.into_data())
}
