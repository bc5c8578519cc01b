//! The AVX2 int8 microkernel (chapter 18): bytes widened to int16 and multiplied with `vpmaddwd`.
//!
//! B's panel (activations) holds, for each pair of terms and each of the 16 columns, the two int16
//! values as one 32-bit word: one 256-bit load is 2 terms × 8 columns. A's panel (weights) holds each
//! row's pair as one word, broadcast to all 8 lanes. `vpmaddwd` multiplies the 16 int16 pairs and
//! adds neighbours: lane j gets `A[i, p]·B[p, j] + A[i, p+1]·B[p+1, j]` in int32 — exact (each
//! product is at most 2¹⁴) — and `vpaddd` accumulates. That is 16 multiply-adds for two
//! instructions, where the f32 kernel's FMA does 8 for one.
//!
//! Tile 6 × 16: 12 accumulators + 2 B vectors + 1 broadcast = 15 of the 16 ymm registers; 6 rows
//! are exactly the output channels of chapter 12's first convolution.
//!
//! Signed × signed throughout: no offset and no correction (the correction is all zeros).

use super::int8::{BPanel, Tile};
use std::arch::x86_64::{
    __m256i, _mm_loadu_si128, _mm256_add_epi32, _mm256_cvtepi8_epi16, _mm256_loadu_si256,
    _mm256_madd_epi16, _mm256_permute2x128_si256, _mm256_set1_epi32, _mm256_setzero_si256,
    _mm256_storeu_si256, _mm256_unpackhi_epi16, _mm256_unpacklo_epi16,
};

/// int32 lanes (columns of C) per ymm register.
const LANES: usize = 8;

/// `tile = A·B` for an `MR × (8·VECTORS)` tile over `groups` pairs of terms.
///
/// # Safety
/// The CPU must support AVX2. (The panels' lengths are checked by the assertion below, so a wrong
/// caller panics instead of reading out of bounds.)
#[target_feature(enable = "avx2")]
pub(super) unsafe fn kernel<const MR: usize, const VECTORS: usize>(
    groups: usize,
    a_panel: &[u32],
    b_panel: BPanel<'_>,
    correction: &[i32],
    mut tile: Tile<'_>,
) {
    let nr = LANES * VECTORS;
    assert!(
        a_panel.len() >= groups * MR && b_panel.holds(groups, nr) && tile.rows <= MR,
        "int8 avx2 kernel: panels too short"
    );
    let (a_ptr, b_ptr) = (a_panel.as_ptr(), b_panel.words.as_ptr());
    let mut acc = [[_mm256_setzero_si256(); VECTORS]; MR];
    for g in 0..groups {
        // SAFETY: `g < groups`, so these 8 words lie inside the panel (asserted above).
        let b_vectors: [__m256i; VECTORS] = std::array::from_fn(|v| unsafe {
            _mm256_loadu_si256(b_ptr.add(g * b_panel.stride + v * LANES).cast())
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
        tile.store_row(i, &row[..nr], correction[i]);
    }
}

/// Packs two rows of B (terms p and p + 1) into pair words: `out[j] = r0[j] | r1[j] << 16` as
/// int16, for `j < out.len()` — 16 columns per step: two 16-byte loads widened to int16
/// (`vpmovsxbw`), interleaved (`vpunpcklwd`/`vpunpckhwd` work within 128-bit halves, so a
/// `vperm2i128` puts the halves back in order).
///
/// # Safety
/// The CPU must support AVX2. (Lengths are checked: `r0` and `r1` must hold `out.len()` values.)
#[target_feature(enable = "avx2")]
pub(super) unsafe fn interleave_pairs(r0: &[i8], r1: &[i8], out: &mut [u32]) {
    let n = out.len();
    assert!(
        r0.len() >= n && r1.len() >= n,
        "interleave_pairs: rows too short"
    );
    let mut j = 0;
    while j + 16 <= n {
        // SAFETY: `j + 16 ≤ n ≤` every slice's length: 16 bytes are read from each row and 16 words
        // written.
        unsafe {
            let x0 = _mm256_cvtepi8_epi16(_mm_loadu_si128(r0.as_ptr().add(j).cast()));
            let x1 = _mm256_cvtepi8_epi16(_mm_loadu_si128(r1.as_ptr().add(j).cast()));
            // low = pairs of columns 0–3 | 8–11, high = 4–7 | 12–15.
            let low = _mm256_unpacklo_epi16(x0, x1);
            let high = _mm256_unpackhi_epi16(x0, x1);
            let target = out.as_mut_ptr().add(j);
            _mm256_storeu_si256(target.cast(), _mm256_permute2x128_si256::<0x20>(low, high));
            _mm256_storeu_si256(
                target.add(8).cast(),
                _mm256_permute2x128_si256::<0x31>(low, high),
            );
        }
        j += 16;
    }
    for ((word, &x0), &x1) in out[j..].iter_mut().zip(&r0[j..]).zip(&r1[j..]) {
        *word = u32::from(i16::from(x0) as u16) | (u32::from(i16::from(x1) as u16) << 16);
    }
}
