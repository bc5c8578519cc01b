//! The AVX-512 VNNI int8 microkernels (chapter 18): `vpdpbusd`, 64 byte multiply-adds per instruction.
//!
//! B̃ holds, for each group of 4 terms, the 4 bytes of each column side by side: one 512-bit load is
//! 4 terms × 16 columns. A's panel holds each row's 4 bytes of the group, already shifted to unsigned
//! (`q + 128`), as one 32-bit word broadcast to all 16 lanes. `vpdpbusd acc, a, b` then adds to lane
//! j the four products `a[t] (unsigned) × b[j, t] (signed)` — exactly what
//! [`super::int8::dpbusd_lane`] computes, and what the portable kernel runs on every machine. The
//! offset is removed as the tile is written: `C[i, j] = acc[i, j] − 128·colsum_j` (see the module
//! docs of `int8` for why the activations, not the weights, carry the offset).
//!
//! Tiles: a wide 6 × 64 (24 accumulators + 4 B̃ vectors + 1 broadcast = 29 of the 32 zmm registers)
//! and a narrow 12 × 16 for layers with at most 16 output channels.

use super::int8::Tile;
use std::arch::x86_64::{
    __m512i, _mm512_dpbusd_epi32, _mm512_loadu_si512, _mm512_set1_epi32, _mm512_setzero_si512,
    _mm512_storeu_si512,
};

/// int32 lanes (columns of C) per zmm register.
const LANES: usize = 16;

/// `tile = A·B̃ − 128·colsum` for an `MR × (16·VECTORS)` tile over `groups` groups of 4 terms.
///
/// # Safety
/// The CPU must support AVX-512F and AVX-512 VNNI. `a_panel` must hold `groups · MR` words and
/// `b_panel` `groups · 16·VECTORS · 4` bytes (checked by the assertions below).
#[target_feature(enable = "avx512f,avx512vnni")]
pub(super) unsafe fn kernel<const MR: usize, const VECTORS: usize>(
    groups: usize,
    a_panel: &[u32],
    b_panel: &[i8],
    correction: &[i32],
    mut tile: Tile<'_>,
) {
    let nr = LANES * VECTORS;
    assert!(
        a_panel.len() >= groups * MR && b_panel.len() >= groups * nr * 4,
        "int8 vnni kernel: panels too short"
    );
    let (a_ptr, b_ptr) = (a_panel.as_ptr(), b_panel.as_ptr());
    let mut acc = [[_mm512_setzero_si512(); VECTORS]; MR];
    for g in 0..groups {
        // SAFETY: `g < groups`, so these 64 bytes lie inside `b_panel` (asserted above).
        let b_vectors: [__m512i; VECTORS] = std::array::from_fn(|v| unsafe {
            _mm512_loadu_si512(b_ptr.add((g * nr + v * LANES) * 4).cast())
        });
        for (i, acc_row) in acc.iter_mut().enumerate() {
            // SAFETY: `g·MR + i < groups·MR ≤ a_panel.len()`.
            let quad = unsafe { *a_ptr.add(g * MR + i) };
            let a_quad = _mm512_set1_epi32(quad as i32);
            for (sum, &b_vector) in acc_row.iter_mut().zip(&b_vectors) {
                *sum = _mm512_dpbusd_epi32(*sum, a_quad, b_vector);
            }
        }
    }
    let mut row = [0i32; 64];
    for (i, acc_row) in acc.iter().enumerate().take(tile.rows) {
        for (v, &sum) in acc_row.iter().enumerate() {
            // SAFETY: `row` has 64 ≥ 16·VECTORS slots; each store writes 16 of them.
            unsafe { _mm512_storeu_si512(row.as_mut_ptr().add(v * LANES).cast(), sum) };
        }
        tile.store_row(i, &row[..nr], correction);
    }
}
