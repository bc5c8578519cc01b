//! The AVX-512 VNNI int8 microkernel (chapter 18): `vpdpbusd`, 64 byte multiply-adds per instruction.
//!
//! B's panel (activations) holds, for each group of 4 terms and each of the 64 columns, the 4 bytes
//! already shifted to unsigned (`q + 128`) as one 32-bit word: one 512-bit load is 4 terms × 16
//! columns. A's panel (weights) holds each row's 4 signed bytes as one word, broadcast to all 16
//! lanes. `vpdpbusd acc, b, a` adds to lane j the four products `b[t, j] (unsigned) × a[i, t]
//! (signed)` — exactly what [`super::int8::dpbusd_lane`] computes, and what the portable kernel runs
//! on every machine. The offset is removed as the tile is written: `C[i, j] = acc[i, j] −
//! 128·rowsum_i` (see the module docs of `int8`).
//!
//! Tile 6 × 64: 24 accumulators + 4 B vectors + 1 broadcast = 29 of the 32 zmm registers.

use super::int8::{BPanel, Tile};
use std::arch::x86_64::{
    __m512i, _mm512_dpbusd_epi32, _mm512_loadu_si512, _mm512_set1_epi32, _mm512_setzero_si512,
    _mm512_storeu_si512,
};

/// int32 lanes (columns of C) per zmm register.
const LANES: usize = 16;

/// `tile = A·B − 128·rowsum` for an `MR × (16·VECTORS)` tile over `groups` groups of 4 terms.
///
/// # Safety
/// The CPU must support AVX-512F and AVX-512 VNNI. (The panels' lengths are checked by the
/// assertion below.)
#[target_feature(enable = "avx512f,avx512vnni")]
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
        "int8 vnni kernel: panels too short"
    );
    let (a_ptr, b_ptr) = (a_panel.as_ptr(), b_panel.words.as_ptr());
    let mut acc = [[_mm512_setzero_si512(); VECTORS]; MR];
    for g in 0..groups {
        // SAFETY: `g < groups`, so these 16 words lie inside the panel (asserted above).
        let b_vectors: [__m512i; VECTORS] = std::array::from_fn(|v| unsafe {
            _mm512_loadu_si512(b_ptr.add(g * b_panel.stride + v * LANES).cast())
        });
        for (i, acc_row) in acc.iter_mut().enumerate() {
            // SAFETY: `g·MR + i < groups·MR ≤ a_panel.len()`.
            let quad = unsafe { *a_ptr.add(g * MR + i) };
            let a_quad = _mm512_set1_epi32(quad as i32);
            for (sum, &b_vector) in acc_row.iter_mut().zip(&b_vectors) {
                // Unsigned operand first (the offset activations), signed second (the weights).
                *sum = _mm512_dpbusd_epi32(*sum, b_vector, a_quad);
            }
        }
    }
    let mut row = [0i32; 64];
    for (i, acc_row) in acc.iter().enumerate().take(tile.rows) {
        for (v, &sum) in acc_row.iter().enumerate() {
            // SAFETY: `row` has 64 ≥ 16·VECTORS slots; each store writes 16 of them.
            unsafe { _mm512_storeu_si512(row.as_mut_ptr().add(v * LANES).cast(), sum) };
        }
        tile.store_row(i, &row[..nr], correction[i]);
    }
}
