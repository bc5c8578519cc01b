//! Reference solutions of chapter 16's exercises (see `mod.rs`).

use dlfs::check::ch16::AttentionGradients;

pub fn layer_norm_backward(
    x: &[f32],
    gamma: &[f32],
    grad_output: &[f32],
    rows: usize,
    features: usize,
    eps: f32,
) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    use dlfs::nn::LayerNorm;
    let mut norm = LayerNorm::new(features).eps(eps);
    norm.weight_mut().value = dlfs::Tensor::from_vec(&[features], gamma.to_vec());
    let mut y = vec![0.0; rows * features];
    norm.forward_rows(x, &mut y, true);
    let mut dx = vec![0.0; rows * features];
    norm.backward_rows(x, grad_output, &mut dx, false);
    let d_gamma = norm.weight().grad.data().to_vec();
    let d_beta = norm.bias().grad.data().to_vec();
    (dx, d_gamma, d_beta)
}

pub fn causal_attention_forward(q: &[f32], k: &[f32], v: &[f32], t: usize, d: usize) -> Vec<f32> {
    use dlfs::linalg::gemm::{MatMut, MatRef};
    use dlfs::nn::AttentionMask;
    use dlfs::nn::attention::attention_forward;
    let mut probs = vec![0.0; t * t];
    let mut out = vec![0.0; t * d];
    let mask = AttentionMask {
        causal: true,
        key_padding: None,
    };
    attention_forward(
        MatRef::new(q, t, d),
        MatRef::new(k, t, d),
        MatRef::new(v, t, d),
        mask,
        &mut probs,
        MatMut::new(&mut out, t, d),
    );
    out
}

pub fn attention_backward(
    q: &[f32],
    k: &[f32],
    v: &[f32],
    grad_output: &[f32],
    t: usize,
    d: usize,
    causal: bool,
) -> AttentionGradients {
    use dlfs::linalg::gemm::{MatMut, MatRef};
    use dlfs::nn::AttentionMask;
    use dlfs::nn::attention::{attention_backward, attention_forward};
    let (q_view, k_view, v_view) = (
        MatRef::new(q, t, d),
        MatRef::new(k, t, d),
        MatRef::new(v, t, d),
    );
    let mask = AttentionMask {
        causal,
        key_padding: None,
    };
    let mut probs = vec![0.0; t * t];
    let mut out = vec![0.0; t * d];
    attention_forward(
        q_view,
        k_view,
        v_view,
        mask,
        &mut probs,
        MatMut::new(&mut out, t, d),
    );
    let mut scratch = vec![0.0; t * t];
    let (mut dq, mut dk, mut dv) = (vec![0.0; t * d], vec![0.0; t * d], vec![0.0; t * d]);
    attention_backward(
        q_view,
        k_view,
        v_view,
        mask,
        &probs,
        MatRef::new(grad_output, t, d),
        &mut scratch,
        MatMut::new(&mut dq, t, d),
        MatMut::new(&mut dk, t, d),
        MatMut::new(&mut dv, t, d),
    );
    AttentionGradients {
        q: dq,
        k: dk,
        v: dv,
    }
}
