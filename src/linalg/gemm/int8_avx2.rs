//! The AVX2 int8 microkernels (chapter 18): bytes widened to int16 and multiplied with `vpmaddwd`.
//!
//! B̃ was widened to int16 when it was packed ([`super::int8::PackedInt8`]), two consecutive terms of
//! each column side by side, so one 256-bit load holds 2 terms × 8 columns. A's panel holds, for each
//! pair of terms and each row, the two int16 values as one 32-bit word, broadcast to all 8 lanes.
//! `vpmaddwd` then multiplies the 16 int16 pairs and adds neighbours: lane j gets
//! `a[p]·b[j, p] + a[p+1]·b[j, p+1]` in int32 — exact (|product| ≤ 2¹⁴) — and `vpaddd` accumulates.
//! That is 16 multiply-adds for two instructions, where the f32 kernel's FMA does 8 for one.
//!
//! Tiles: a wide 6 × 16 (12 accumulators + 2 B̃ vectors + 1 broadcast = 15 of the 16 ymm registers)
//! and a narrow 12 × 8 for layers with at most 8 output channels (14 registers), so that
//! chapter 12's first convolution (6 channels) does not pay for 16 columns.
//!
//! Signed × signed throughout: no offset and no correction (the correction slice is all zeros).

use super::int8::Tile;
use std::arch::x86_64::{
    __m256i, _mm256_add_epi32, _mm256_loadu_si256, _mm256_madd_epi16, _mm256_set1_epi32,
    _mm256_setzero_si256, _mm256_storeu_si256,
};

/// int32 lanes (columns of C) per ymm register.
const LANES: usize = 8;

/// `tile = A·B̃` for an `MR × (8·VECTORS)` tile over `groups` pairs of terms.
///
/// # Safety
/// The CPU must support AVX2. `a_panel` must hold `groups · MR` words and `b_panel`
/// `groups · 8·VECTORS · 2` values (checked by the assertions below, so a wrong caller panics
/// instead of reading out of bounds).
#[target_feature(enable = "avx2")]
pub(super) unsafe fn kernel<const MR: usize, const VECTORS: usize>(
    groups: usize,
    a_panel: &[u32],
    b_panel: &[i16],
    correction: &[i32],
    mut tile: Tile<'_>,
) {
    let nr = LANES * VECTORS;
    assert!(
        a_panel.len() >= groups * MR && b_panel.len() >= groups * nr * 2,
        "int8 avx2 kernel: panels too short"
    );
    let (a_ptr, b_ptr) = (a_panel.as_ptr(), b_panel.as_ptr());
    let mut acc = [[_mm256_setzero_si256(); VECTORS]; MR];
    for g in 0..groups {
        // SAFETY: `g < groups`, so these 16 int16 values lie inside `b_panel` (asserted above).
        let b_vectors: [__m256i; VECTORS] = std::array::from_fn(|v| unsafe {
            _mm256_loadu_si256(b_ptr.add((g * nr + v * LANES) * 2).cast())
        });
        for (i, acc_row) in acc.iter_mut().enumerate() {
            // SAFETY: `g·MR + i < groups·MR ≤ a_panel.len()`.
            let pair = unsafe { *a_ptr.add(g * MR + i) };
            let a_pair = _mm256_set1_epi32(pair as i32);
            for (sum, &b_vector) in acc_row.iter_mut().zip(&b_vectors) {
                *sum = _mm256_add_epi32(*sum, _mm256_madd_epi16(a_pair, b_vector));
            }
        }
    }
    let mut row = [0i32; 64];
    for (i, acc_row) in acc.iter().enumerate().take(tile.rows) {
        for (v, &sum) in acc_row.iter().enumerate() {
            // SAFETY: `row` has 64 ≥ 8·VECTORS slots; each store writes 8 of them.
            unsafe { _mm256_storeu_si256(row.as_mut_ptr().add(v * LANES).cast(), sum) };
        }
        tile.store_row(i, &row[..nr], correction);
    }
}
