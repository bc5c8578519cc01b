//! The softmax and its logarithm, computed the stable way.
//!
//! `softmax(z)ᵢ = e^{zᵢ} / Σⱼ e^{zⱼ}`. Taken literally, `e^{zᵢ}` overflows f32 for zᵢ > 88.7 and the
//! result is `inf / inf = NaN`. Subtracting the row's maximum m first changes nothing mathematically
//! (the factor e^{−m} cancels) but makes the largest exponent e⁰ = 1, so nothing overflows and the
//! sum is at least 1. For the logarithm, `log softmax(z)ᵢ = zᵢ − logsumexp(z)` with
//! `logsumexp(z) = m + ln Σⱼ e^{zⱼ − m}`, which never takes the log of an underflowed 0.

use crate::tensor::Tensor;

/// `ln Σ e^{xᵢ}`, computed as `m + ln Σ e^{xᵢ − m}` with m the maximum. −∞ for an empty slice.
pub fn log_sum_exp(row: &[f32]) -> f32 {
    let m = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    if m == f32::NEG_INFINITY {
        return f32::NEG_INFINITY;
    }
    let sum: f32 = row.iter().map(|&v| (v - m).exp()).sum();
    m + sum.ln()
}

/// Overwrites `row` with its softmax (the stable way: subtract the maximum first).
pub fn softmax_row(row: &mut [f32]) {
    let m = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0f32;
    for v in row.iter_mut() {
        *v = (*v - m).exp();
        sum += *v;
    }
    let inverse = 1.0 / sum;
    for v in row.iter_mut() {
        *v *= inverse;
    }
}

/// Overwrites `row` with its log-softmax `xᵢ − logsumexp(x)`, computed as `(xᵢ − m) − ln Σⱼ e^{xⱼ − m}`
/// (m the maximum): the large m cancels exactly in `xᵢ − m` before anything is rounded, where
/// `xᵢ − (m + ln s)` would first round `m + ln s` to the few digits f32 has left next to a large m
/// (an error of 10⁻³ at logits near 10⁵).
pub fn log_softmax_row(row: &mut [f32]) {
    let m = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    if m == f32::NEG_INFINITY {
        // Every entry is −∞ (or the row is empty): as `xᵢ − logsumexp(x)` = −∞ − (−∞).
        row.fill(f32::NAN);
        return;
    }
    let log_sum: f32 = row.iter().map(|&v| (v - m).exp()).sum::<f32>().ln();
    for v in row.iter_mut() {
        *v = (*v - m) - log_sum;
    }
}

/// The softmax exactly as its formula reads, `e^{xᵢ} / Σⱼ e^{xⱼ}` — **a counter-example, do not use
/// it**: chapter 10 and its tests show it returning NaN where [`softmax_row`] is exact (any xᵢ > 88.7
/// overflows e^{xᵢ} to ∞ in f32, and ∞/∞ = NaN; if every xᵢ < −103, all the exponentials underflow to
/// 0 and 0/0 = NaN).
pub fn naive_softmax_row(row: &[f32]) -> Vec<f32> {
    let exponentials: Vec<f32> = row.iter().map(|v| v.exp()).collect();
    let sum: f32 = exponentials.iter().sum();
    exponentials.iter().map(|e| e / sum).collect()
}

/// `ln(softmax(x))` taken literally, the log of [`naive_softmax_row`] — **a counter-example**: a
/// probability that underflows to 0 (xᵢ more than ~103 below the maximum) gives −∞ where
/// [`log_softmax_row`] gives the exact xᵢ − logsumexp(x), and overflow gives NaN as above.
pub fn naive_log_softmax_row(row: &[f32]) -> Vec<f32> {
    naive_softmax_row(row).iter().map(|p| p.ln()).collect()
}

/// The softmax along the last axis (each row of `[N, K]` becomes a probability distribution).
/// Panics on a 0-dimensional tensor.
pub fn softmax(x: &Tensor) -> Tensor {
    let mut out = x.clone();
    for row in out.data_mut().chunks_mut(last_axis(x, "softmax")) {
        softmax_row(row);
    }
    out
}

/// The log-softmax along the last axis. Panics on a 0-dimensional tensor.
pub fn log_softmax(x: &Tensor) -> Tensor {
    let mut out = x.clone();
    for row in out.data_mut().chunks_mut(last_axis(x, "log_softmax")) {
        log_softmax_row(row);
    }
    out
}

fn last_axis(x: &Tensor, operation: &str) -> usize {
    let k = *x
        .shape()
        .last()
        .unwrap_or_else(|| panic!("{operation}: needs at least one axis, got a scalar"));
    assert!(
        k > 0,
        "{operation}: the last axis of {:?} is empty",
        x.shape()
    );
    k
}
