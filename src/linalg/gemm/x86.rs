//! Small x86-64 helpers shared by the packing routines, the loops and the kernels: an 8 × 8 transpose
//! in AVX registers, lane masks for storing part of a vector, and a cache prefetch hint.
//!
//! A transpose turns 8 rows of 8 floats into 8 columns. Packing needs it when B is stored transposed
//! (`A·Bᵀ`); the kernels need it to write a tile of C whose *columns* are contiguous (when the product
//! was computed transposed, see "Few columns" in the `gemm` module docs).

use std::arch::x86_64::{
    __m256, __m256i, _MM_HINT_T0, _mm_prefetch, _mm256_loadu_ps, _mm256_loadu_si256,
    _mm256_permute2f128_ps, _mm256_shuffle_ps, _mm256_storeu_ps, _mm256_unpackhi_ps,
    _mm256_unpacklo_ps,
};

/// The transpose of 8 rows of 8 floats, in three rounds of shuffles: interleave pairs of rows
/// (unpack), then pairs of pairs (shuffle), then swap 128-bit halves (permute2f128).
#[inline]
#[target_feature(enable = "avx")]
pub(super) fn transpose_registers(r: [__m256; 8]) -> [__m256; 8] {
    // t0 = r0[0] r1[0] r0[1] r1[1] | r0[4] r1[4] r0[5] r1[5], and so on.
    let t0 = _mm256_unpacklo_ps(r[0], r[1]);
    let t1 = _mm256_unpackhi_ps(r[0], r[1]);
    let t2 = _mm256_unpacklo_ps(r[2], r[3]);
    let t3 = _mm256_unpackhi_ps(r[2], r[3]);
    let t4 = _mm256_unpacklo_ps(r[4], r[5]);
    let t5 = _mm256_unpackhi_ps(r[4], r[5]);
    let t6 = _mm256_unpacklo_ps(r[6], r[7]);
    let t7 = _mm256_unpackhi_ps(r[6], r[7]);
    // s0 = r0[0] r1[0] r2[0] r3[0] | r0[4] r1[4] r2[4] r3[4], and so on.
    let s0 = _mm256_shuffle_ps::<0x44>(t0, t2);
    let s1 = _mm256_shuffle_ps::<0xEE>(t0, t2);
    let s2 = _mm256_shuffle_ps::<0x44>(t1, t3);
    let s3 = _mm256_shuffle_ps::<0xEE>(t1, t3);
    let s4 = _mm256_shuffle_ps::<0x44>(t4, t6);
    let s5 = _mm256_shuffle_ps::<0xEE>(t4, t6);
    let s6 = _mm256_shuffle_ps::<0x44>(t5, t7);
    let s7 = _mm256_shuffle_ps::<0xEE>(t5, t7);
    // Column c = the low halves (c < 4) or high halves (c ≥ 4) of s[c % 4] and s[c % 4 + 4].
    [
        _mm256_permute2f128_ps::<0x20>(s0, s4),
        _mm256_permute2f128_ps::<0x20>(s1, s5),
        _mm256_permute2f128_ps::<0x20>(s2, s6),
        _mm256_permute2f128_ps::<0x20>(s3, s7),
        _mm256_permute2f128_ps::<0x31>(s0, s4),
        _mm256_permute2f128_ps::<0x31>(s1, s5),
        _mm256_permute2f128_ps::<0x31>(s2, s6),
        _mm256_permute2f128_ps::<0x31>(s3, s7),
    ]
}

/// Asks the CPU to load the cache line holding `ptr` into L1. A hint: it never faults, whatever
/// the address.
#[inline]
pub(super) fn prefetch(ptr: *const f32) {
    // SAFETY: `prefetch` instructions do not access memory architecturally and never fault; SSE is
    // part of every x86-64 CPU.
    unsafe { _mm_prefetch::<_MM_HINT_T0>(ptr.cast()) };
}

/// Lane masks for `vmaskmovps`: `MASKS[8 - n..16 - n]` has its first `n` lanes set (sign bit on).
const MASKS: [i32; 16] = [-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0];

/// A mask selecting the first `lanes` (≤ 8) of 8 floats, for `_mm256_maskload_ps`/`maskstore_ps`.
#[inline]
#[target_feature(enable = "avx")]
pub(super) fn lane_mask(lanes: usize) -> __m256i {
    let lanes = lanes.min(8);
    // SAFETY: `MASKS[8 - lanes..]` has at least 8 elements (32 bytes) to read.
    unsafe { _mm256_loadu_si256(MASKS[8 - lanes..].as_ptr().cast::<__m256i>()) }
}

/// `panel[p·nr + j] = src[j·col_stride + p]` for `p < full_rows`, `j < full_cols` (multiples of 8),
/// one 8 × 8 block at a time, going down 8 columns of the source at a time.
///
/// # Safety
/// The CPU must support AVX; every element named above must be inside its buffer.
#[target_feature(enable = "avx")]
pub(super) unsafe fn transpose_full_blocks(
    src: *const f32,
    col_stride: usize,
    full_rows: usize,
    full_cols: usize,
    panel: *mut f32,
    nr: usize,
) {
    for j in (0..full_cols).step_by(8) {
        for p0 in (0..full_rows).step_by(8) {
            // SAFETY: the block's 8 rows of 8 floats are inside both buffers (see the contract).
            unsafe {
                let block_src = src.add(j * col_stride + p0);
                let block_dst = panel.add(p0 * nr + j);
                let rows: [__m256; 8] =
                    std::array::from_fn(|r| _mm256_loadu_ps(block_src.add(r * col_stride)));
                for (c, &column) in transpose_registers(rows).iter().enumerate() {
                    _mm256_storeu_ps(block_dst.add(c * nr), column);
                }
            }
        }
    }
}
