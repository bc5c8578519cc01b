//! Scaled dot-product attention (Vaswani et al., 2017), one head at a time, forward and backward,
//! with a causal mask and a key-padding mask. Chapter 16 builds [`super::MultiheadAttention`] and the
//! transformer block from it.
//!
//! # What it computes
//! A head has T queries, S keys and S values, one per row (shape letters from the crate docs; D is
//! the width of a head, E/heads):
//! ```text
//! Q [T, D]   K [S, D]   V [S, D]
//! scores   Z = Q·Kᵀ / √D                      [T, S]   how well query i matches key j
//! weights  P = softmax over each row of Z      [T, S]   (masked entries get weight 0)
//! output   O = P·V                             [T, D]   each query's weighted mean of the values
//! ```
//! Dividing by √D keeps the scores' spread independent of the head width (a dot product of D terms
//! of unit variance has variance D), so the softmax does not saturate as D grows.
//!
//! **Masks** remove keys from a query's softmax (their weight is exactly 0, as if the score were
//! −∞): the *causal* mask lets query i see keys j ≤ i only — a language model predicting token
//! i + 1 must not look at it — and the *key-padding* mask removes the keys of padding positions of a
//! shorter sequence (`true` = padding, PyTorch's convention). A query that is left with no key at all
//! gets an output of zeros here (PyTorch returns NaN for it).
//!
//! # The backward pass, derived
//! Given `dO = ∂L/∂O` `[T, D]`, walk the three lines back, the way `lstm.rs` walks a step back.
//!
//! 1. `O = P·V` is a matrix product, so (as for a linear layer)
//!    ```text
//!    dP = dO·Vᵀ      [T, S]          dV = Pᵀ·dO      [S, D]
//!    ```
//!    dV sums over queries: value j is used by every query, weighted by how much it attends to j.
//! 2. Each row of P is a softmax of the same row of Z: `P_ij = e^{Z_ij} / Σ_k e^{Z_ik}`. Its
//!    Jacobian is `∂P_ij/∂Z_ik = P_ij(δ_jk − P_ik)`, so for row i
//!    ```text
//!    dZ_ik = Σ_j dP_ij·P_ij(δ_jk − P_ik) = P_ik·(dP_ik − Σ_j dP_ij·P_ij)
//!    dZ    = P ⊙ (dP − rowsum(dP ⊙ P))
//!    ```
//!    The row sum is one number per query. Masked entries have `P_ik = 0`, so their `dZ` is 0: no
//!    gradient flows through a key the query could not see, and the mask needs no backward of its
//!    own.
//! 3. `Z = Q·Kᵀ/√D` is again a product:
//!    ```text
//!    dQ = dZ·K / √D     [T, D]          dK = dZᵀ·Q / √D     [S, D]
//!    ```
//! Four matrix products (dV, dP, dQ, dK) and the softmax step between them, against two products
//! in the forward pass: the backward pass costs about twice the forward, as usual. The forward pass
//! keeps P (`[T, S]` per head) for it.
//!
//! # How it runs
//! Every product goes through the GEMM ([`crate::linalg::gemm()`]) on strided views, so the heads
//! are read straight out of the `[N·T, 3E]` projection of [`super::MultiheadAttention`] without
//! copying: head h's queries are the columns `h·D..(h+1)·D` with a row stride of 3E. The functions
//! here run one head on one thread; the caller runs the N × heads (sequence, head) pairs in parallel
//! — each pair writes only its own outputs, so results are bit-identical for any thread count.
//! [`scaled_dot_product_attention`] is the textbook version in f64 with loops, kept beside the fast
//! one for tests and exercises.
//!
//! A causal mask makes a triangle of every product useless: P and dZ are lower triangular (zero
//! where j > i), and only the lower triangle of Z and dP is ever read. With a causal mask the
//! products skip it ([`gemm_causal`]: whole tiles of Z and dP, and the zero terms of each row's
//! sum for the other four). The numbers are the same bits — a skipped term is `0·x` — for about
//! 40 % fewer multiply-adds; measured on chapter 16's heads (48 heads of 64 × 32 per layer, one
//! thread, five alternating runs): 17 % less time forward and 27 % backward.
//!
//! What it leaves out: dropout on the attention weights, an additive float mask (`attn_mask` with
//! arbitrary values), a fused "flash" kernel that never stores P (its memory saving matters for long
//! sequences, not for the 64-token context of chapter 16).

use super::recurrent::fast_exp;
use crate::linalg::gemm::{Causal, MatMut, MatRef, current_kernel, gemm_causal, gemm_with};
use crate::linalg::vector::{dot_lanes, max_lanes, sum_lanes};
use crate::tensor::Tensor;

/// Which keys each query may see.
#[derive(Clone, Copy, Debug, Default)]
pub struct AttentionMask<'a> {
    /// Query i sees keys j ≤ i only (a language model must not look ahead).
    pub causal: bool,
    /// One flag per key, `true` = padding: that key is invisible to every query (PyTorch's
    /// `key_padding_mask` for one sequence). `None`: every key is real.
    pub key_padding: Option<&'a [bool]>,
}

impl AttentionMask<'_> {
    /// Whether query `i` may see key `j`.
    #[inline]
    pub fn allows(&self, i: usize, j: usize) -> bool {
        let hidden_by_causality = self.causal && j > i;
        let padding = self.key_padding.is_some_and(|padding| padding[j]);
        !(hidden_by_causality || padding)
    }

    /// How many of the `keys` first keys query `i` may see as far as causality goes: `i + 1` with
    /// a causal mask (keys after i are invisible), all of them without. Key padding can hide more
    /// of these.
    #[inline]
    pub fn causal_prefix(&self, i: usize, keys: usize) -> usize {
        if self.causal { (i + 1).min(keys) } else { keys }
    }
}

/// One GEMM on one thread (the caller parallelises over heads): `C = α·A·B + β·C`. With a causal
/// mask, `causal` says which triangle of the product the mask makes useless, and the GEMM skips it
/// (same numbers, fewer multiply-adds: see [`gemm_causal`]).
fn gemm_single(
    alpha: f32,
    a: MatRef<'_>,
    b: MatRef<'_>,
    beta: f32,
    c: MatMut<'_>,
    causal: Option<Causal>,
) {
    match causal {
        Some(causal) => gemm_causal(alpha, a, b, beta, c, causal),
        None => gemm_with(current_kernel(), 1, alpha, a, b, beta, c),
    }
}

/// `part` when the mask is causal, else nothing (the whole product).
fn if_causal(mask: AttentionMask<'_>, part: Causal) -> Option<Causal> {
    mask.causal.then_some(part)
}

/// Turns each row of `scores` (`[T, S]`, row-major) into attention weights in place: a softmax over
/// the keys the mask allows, 0 for the others (and a row of zeros when it allows none).
pub fn masked_softmax_rows(scores: &mut [f32], keys: usize, mask: AttentionMask<'_>) {
    for (i, row) in scores.chunks_exact_mut(keys).enumerate() {
        // With a causal mask, keys after i are invisible: only the first i + 1 take part.
        let visible = mask.causal_prefix(i, keys);
        let (seen, unseen) = row.split_at_mut(visible);
        unseen.fill(0.0);
        let max = match mask.key_padding {
            None => max_lanes(seen),
            Some(padding) => seen
                .iter()
                .zip(padding)
                .filter(|&(_, &pad)| !pad)
                .fold(f32::NEG_INFINITY, |m, (&v, _)| m.max(v)),
        };
        if max == f32::NEG_INFINITY {
            seen.fill(0.0);
            continue;
        }
        match mask.key_padding {
            None => {
                for v in seen.iter_mut() {
                    *v = fast_exp(*v - max);
                }
            }
            Some(padding) => {
                for (v, &pad) in seen.iter_mut().zip(padding) {
                    *v = if pad { 0.0 } else { fast_exp(*v - max) };
                }
            }
        }
        // The denominator in 8 running sums (see `vector::LANES`), not one long chain.
        let sum = sum_lanes(seen);
        let inverse = 1.0 / sum;
        for v in seen.iter_mut() {
            *v *= inverse;
        }
    }
}

/// One head forward: `probs = softmax_masked(q·kᵀ/√D)` (`[T, S]`, contiguous, kept for the
/// backward pass) and `out = probs·v` (`[T, D]`, any strides).
///
/// `q` is `[T, D]`, `k` and `v` are `[S, D]` (any strides). Runs on the calling thread.
pub fn attention_forward(
    q: MatRef<'_>,
    k: MatRef<'_>,
    v: MatRef<'_>,
    mask: AttentionMask<'_>,
    probs: &mut [f32],
    out: MatMut<'_>,
) {
    let (queries, width, keys) = (q.rows(), q.cols(), k.rows());
    assert!(
        k.cols() == width && v.rows() == keys && probs.len() == queries * keys,
        "attention_forward: q {}×{}, k {}×{}, v {}×{} and {} weights do not fit (q [T, D], k [S, D], \
         v [S, D], weights T·S)",
        queries,
        width,
        k.rows(),
        k.cols(),
        v.rows(),
        v.cols(),
        probs.len()
    );
    if let Some(padding) = mask.key_padding {
        assert_eq!(
            padding.len(),
            keys,
            "attention_forward: {} key-padding flags for {keys} keys",
            padding.len()
        );
    }
    let scale = 1.0 / (width as f32).sqrt();
    // Z = Q·Kᵀ/√D   [T, S] (with a causal mask, only the lower triangle the softmax reads)
    let z = MatMut::new(probs, queries, keys);
    gemm_single(scale, q, k.t(), 0.0, z, if_causal(mask, Causal::LowerC));
    // P = softmax(Z) over the visible keys (0 for the others)
    masked_softmax_rows(probs, keys, mask);
    // O = P·V   [T, D] (a causal P is lower triangular)
    let p = MatRef::new(probs, queries, keys);
    gemm_single(1.0, p, v, 0.0, out, if_causal(mask, Causal::LowerA));
}

/// One head backward (formulas in the module docs). Given the forward inputs and mask, the weights
/// `probs` it kept and `d_out` = ∂L/∂O `[T, D]`, writes ∂L/∂Q into `dq` `[T, D]`, ∂L/∂K into `dk`
/// `[S, D]` and ∂L/∂V into `dv` `[S, D]` (overwriting them). `d_scores` is scratch space of T·S
/// values. The gradients follow from `probs` alone (a hidden key has weight 0); the mask only lets a
/// causal one skip the products' useless triangles.
#[allow(clippy::too_many_arguments)]
pub fn attention_backward(
    q: MatRef<'_>,
    k: MatRef<'_>,
    v: MatRef<'_>,
    mask: AttentionMask<'_>,
    probs: &[f32],
    d_out: MatRef<'_>,
    d_scores: &mut [f32],
    dq: MatMut<'_>,
    dk: MatMut<'_>,
    dv: MatMut<'_>,
) {
    let (queries, width, keys) = (q.rows(), q.cols(), k.rows());
    assert!(
        probs.len() == queries * keys && d_scores.len() == queries * keys,
        "attention_backward: {} weights and {} scratch values for {queries} queries × {keys} keys",
        probs.len(),
        d_scores.len()
    );
    let scale = 1.0 / (width as f32).sqrt();
    let p = MatRef::new(probs, queries, keys);
    // dV = Pᵀ·dO   [S, D] (a causal Pᵀ is upper triangular)
    gemm_single(1.0, p.t(), d_out, 0.0, dv, if_causal(mask, Causal::UpperA));
    // dP = dO·Vᵀ   [T, S] (with a causal mask, only the lower triangle the next step reads)
    let d_p = MatMut::new(d_scores, queries, keys);
    gemm_single(1.0, d_out, v.t(), 0.0, d_p, if_causal(mask, Causal::LowerC));
    // dZ = P ⊙ (dP − rowsum(dP ⊙ P)), in place of dP. Under a causal mask row i reads only its
    // first i + 1 values (the rest of P is 0) and sets the rest to 0, which the products below need.
    for (i, (d_row, p_row)) in d_scores
        .chunks_exact_mut(keys)
        .zip(probs.chunks_exact(keys))
        .enumerate()
    {
        let visible = mask.causal_prefix(i, keys);
        let (d_seen, d_unseen) = d_row.split_at_mut(visible);
        let p_seen = &p_row[..visible];
        let dot = dot_lanes(d_seen, p_seen);
        for (d, &p) in d_seen.iter_mut().zip(p_seen) {
            *d = p * (*d - dot);
        }
        d_unseen.fill(0.0);
    }
    let d_z = MatRef::new(d_scores, queries, keys);
    // dQ = dZ·K/√D   [T, D] (a causal dZ is lower triangular)
    gemm_single(scale, d_z, k, 0.0, dq, if_causal(mask, Causal::LowerA));
    // dK = dZᵀ·Q/√D   [S, D] (and dZᵀ upper triangular)
    gemm_single(scale, d_z.t(), q, 0.0, dk, if_causal(mask, Causal::UpperA));
}

/// The textbook version, in f64 with plain loops: `q` `[T, D]`, `k` `[S, D]`, `v` `[S, Dv]`;
/// returns the output `[T, Dv]` and the attention weights `[T, S]`. For tests and exercises; the
/// fast version is [`attention_forward`].
pub fn scaled_dot_product_attention(
    q: &Tensor,
    k: &Tensor,
    v: &Tensor,
    mask: AttentionMask<'_>,
) -> (Tensor, Tensor) {
    assert!(
        q.ndim() == 2
            && k.ndim() == 2
            && v.ndim() == 2
            && q.dim(1) == k.dim(1)
            && k.dim(0) == v.dim(0),
        "scaled_dot_product_attention: q {:?}, k {:?}, v {:?} must be [T, D], [S, D], [S, Dv]",
        q.shape(),
        k.shape(),
        v.shape()
    );
    let (queries, width, keys, value_width) = (q.dim(0), q.dim(1), k.dim(0), v.dim(1));
    let scale = 1.0 / (width as f64).sqrt();
    let mut weights = vec![0.0f32; queries * keys];
    let mut out = vec![0.0f32; queries * value_width];
    for i in 0..queries {
        let mut scores = vec![f64::NEG_INFINITY; keys];
        for (j, score) in scores.iter_mut().enumerate() {
            if mask.allows(i, j) {
                let dot: f64 = (0..width)
                    .map(|d| f64::from(q.at(&[i, d])) * f64::from(k.at(&[j, d])))
                    .sum();
                *score = dot * scale;
            }
        }
        let max = scores.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        if max == f64::NEG_INFINITY {
            continue;
        }
        let exps: Vec<f64> = scores.iter().map(|&s| (s - max).exp()).collect();
        let sum: f64 = exps.iter().sum();
        let mut row = vec![0.0f64; value_width];
        for j in 0..keys {
            let p = exps[j] / sum;
            weights[i * keys + j] = p as f32;
            for (d, o) in row.iter_mut().enumerate() {
                *o += p * f64::from(v.at(&[j, d]));
            }
        }
        for (d, o) in row.into_iter().enumerate() {
            out[i * value_width + d] = o as f32;
        }
    }
    (
        Tensor::from_vec(&[queries, value_width], out),
        Tensor::from_vec(&[queries, keys], weights),
    )
}
