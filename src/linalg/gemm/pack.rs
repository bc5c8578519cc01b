//! Packing: copying a block of A or B into the exact order the microkernel reads it.
//!
//! The microkernel wants, for each step `p` of the sum, `MR` consecutive values of A's column `p` and
//! `NR` consecutive values of B's row `p`. Packing arranges that once per block, whatever the strides
//! of the views (row-major, transposed, or a sub-matrix of something bigger), and pads ragged edges
//! with zeros so that the microkernel always works on whole panels:
//!
//! ```text
//! Ã (MR × kc micro-panel):  a(0,0) a(1,0) … a(MR-1,0) | a(0,1) a(1,1) … | … | a(0,kc-1) …
//! B̃ (kc × nc block):        panel 0 = columns 0..NR:   b(0,0..NR) | b(1,0..NR) | … | b(kc-1,0..NR)
//!                           panel 1 = columns NR..2NR: …
//! ```
//!
//! Each routine picks its loop order from the strides so that it reads memory in order: a row-major
//! source is read row by row, a transposed one column by column.

use super::MatRef;

/// A reusable buffer whose start is aligned to 64 bytes (one cache line, one zmm register), so that
/// packed panels never straddle cache lines more than they must.
#[derive(Default)]
pub(super) struct PackBuffer {
    storage: Vec<f32>,
}

/// 64 bytes, in floats.
const ALIGN_FLOATS: usize = 16;

impl PackBuffer {
    /// A 64-byte-aligned slice of `len` floats (contents unspecified). Grows the buffer if needed;
    /// once it is big enough, no allocation happens.
    pub(super) fn get(&mut self, len: usize) -> &mut [f32] {
        if self.storage.len() < len + ALIGN_FLOATS {
            self.storage = vec![0.0; len + ALIGN_FLOATS];
        }
        let misalignment = (self.storage.as_ptr() as usize / 4) % ALIGN_FLOATS;
        let offset = (ALIGN_FLOATS - misalignment) % ALIGN_FLOATS;
        &mut self.storage[offset..offset + len]
    }
}

/// Packs the `rows × kc` block `a` (`rows ≤ mr`) into `dst` as one `mr × kc` micro-panel, column by
/// column, with rows `rows..mr` set to zero.
pub(super) fn pack_a(a: MatRef<'_>, mr: usize, dst: &mut [f32]) {
    let (rows, kc) = (a.rows(), a.cols());
    let dst = &mut dst[..mr * kc];
    let (row_stride, col_stride) = (a.row_stride(), a.col_stride());
    let data = a.data();
    if rows < mr {
        dst.fill(0.0);
    }
    if row_stride == 1 {
        // A transposed (e.g. Aᵀ·B with A stored k × m): each column of the block is contiguous.
        for (p, column) in dst.chunks_exact_mut(mr).enumerate() {
            let start = p * col_stride;
            column[..rows].copy_from_slice(&data[start..start + rows]);
        }
    } else if col_stride == 1 {
        // Row-major A: read each row in order, write it with a stride of mr.
        for i in 0..rows {
            let row = &data[i * row_stride..i * row_stride + kc];
            for (column, &value) in dst.chunks_exact_mut(mr).zip(row) {
                column[i] = value;
            }
        }
    } else {
        for (p, column) in dst.chunks_exact_mut(mr).enumerate() {
            for (i, slot) in column[..rows].iter_mut().enumerate() {
                *slot = data[i * row_stride + p * col_stride];
            }
        }
    }
}

/// Packs the `kc × cols` block `b` into `dst` as `⌈cols / nr⌉` panels of `kc × nr`, row by row
/// within each panel, with columns past `cols` set to zero.
pub(super) fn pack_b(b: MatRef<'_>, nr: usize, dst: &mut [f32]) {
    let (kc, cols) = (b.rows(), b.cols());
    let (row_stride, col_stride) = (b.row_stride(), b.col_stride());
    let data = b.data();
    let panels = cols.div_ceil(nr);
    for (q, panel) in dst[..panels * kc * nr].chunks_exact_mut(kc * nr).enumerate() {
        let j0 = q * nr;
        let width = nr.min(cols - j0);
        if width < nr {
            panel.fill(0.0);
        }
        if col_stride == 1 {
            // Row-major B: each row of the panel is a contiguous copy.
            for (p, row) in panel.chunks_exact_mut(nr).enumerate() {
                let start = p * row_stride + j0;
                row[..width].copy_from_slice(&data[start..start + width]);
            }
        } else if row_stride == 1 {
            // B transposed (e.g. A·Bᵀ with B stored n × k): each column is contiguous, and the panel
            // wants rows. Copy 8 × 8 blocks, transposing each in registers, going down 8 columns at
            // a time: 8 sequential read streams, whatever the distance between columns (a distance
            // of 4 KiB would map 64 columns read side by side onto one L1 set). The ragged right and
            // bottom edges go element by element.
            let full_rows = kc / 8 * 8;
            let full_cols = width / 8 * 8;
            for j in (0..full_cols).step_by(8) {
                for p0 in (0..full_rows).step_by(8) {
                    let start = (j0 + j) * col_stride + p0;
                    transpose_8x8(&data[start..], col_stride, &mut panel[p0 * nr + j..], nr);
                }
            }
            for p in 0..kc {
                let first = if p < full_rows { full_cols } else { 0 };
                for j in first..width {
                    panel[p * nr + j] = data[(j0 + j) * col_stride + p];
                }
            }
        } else {
            for (p, row) in panel.chunks_exact_mut(nr).enumerate() {
                for (j, slot) in row[..width].iter_mut().enumerate() {
                    *slot = data[p * row_stride + (j0 + j) * col_stride];
                }
            }
        }
    }
}

/// Writes the transpose of the 8 × 8 block whose row `r` is `src[r·src_stride..][..8]` into `dst`,
/// row `c` at `dst[c·dst_stride..][..8]`. With AVX, in registers (8 loads, 24 shuffles, 8 stores);
/// otherwise element by element.
fn transpose_8x8(src: &[f32], src_stride: usize, dst: &mut [f32], dst_stride: usize) {
    assert!(
        src.len() >= 7 * src_stride + 8 && dst.len() >= 7 * dst_stride + 8,
        "transpose_8x8: the 8 × 8 block does not fit"
    );
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx") {
        // SAFETY: AVX is present, and the assert above keeps all 8 rows of 8 floats inside both
        // slices.
        unsafe { x86::transpose_8x8(src.as_ptr(), src_stride, dst.as_mut_ptr(), dst_stride) };
        return;
    }
    for c in 0..8 {
        for r in 0..8 {
            dst[c * dst_stride + r] = src[r * src_stride + c];
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::{
        __m256, _mm256_loadu_ps, _mm256_permute2f128_ps, _mm256_shuffle_ps, _mm256_storeu_ps,
        _mm256_unpackhi_ps, _mm256_unpacklo_ps,
    };

    /// The 8 × 8 transpose in three rounds of shuffles: interleave pairs of rows (unpack), then
    /// pairs of pairs (shuffle), then swap 128-bit halves (permute2f128).
    ///
    /// # Safety
    /// The CPU must support AVX; `src + r·src_stride` and `dst + r·dst_stride` must be valid for 8
    /// floats each, for `r < 8`.
    #[target_feature(enable = "avx")]
    pub(super) unsafe fn transpose_8x8(
        src: *const f32,
        src_stride: usize,
        dst: *mut f32,
        dst_stride: usize,
    ) {
        // SAFETY: the caller guarantees 8 readable floats at each of the 8 rows.
        let r: [__m256; 8] =
            std::array::from_fn(|i| unsafe { _mm256_loadu_ps(src.add(i * src_stride)) });
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
        let columns = [
            _mm256_permute2f128_ps::<0x20>(s0, s4),
            _mm256_permute2f128_ps::<0x20>(s1, s5),
            _mm256_permute2f128_ps::<0x20>(s2, s6),
            _mm256_permute2f128_ps::<0x20>(s3, s7),
            _mm256_permute2f128_ps::<0x31>(s0, s4),
            _mm256_permute2f128_ps::<0x31>(s1, s5),
            _mm256_permute2f128_ps::<0x31>(s2, s6),
            _mm256_permute2f128_ps::<0x31>(s3, s7),
        ];
        for (c, &column) in columns.iter().enumerate() {
            // SAFETY: the caller guarantees 8 writable floats at each of the 8 rows.
            unsafe { _mm256_storeu_ps(dst.add(c * dst_stride), column) };
        }
    }
}
