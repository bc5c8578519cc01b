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
//! source is read row by row, a transposed one column by column (B in 8 × 8 blocks transposed in
//! registers). A is packed only for ragged last panels, transposed views and odd strides; B for all
//! but small products (see "Packing, or not" in the `gemm` module docs). Both ask for the pieces a
//! few steps ahead while they copy ([`COLUMNS_AHEAD`]).

use super::MatRef;

/// How far ahead the packing of a transposed A asks for the next cache lines, in steps of the sum,
/// and of a row-major B, in rows.
///
/// Both read one short piece per step, a whole row of the matrix apart (hundreds of bytes to
/// kilobytes), from operands that a training step has usually pushed out of the caches since they
/// were written. The hardware prefetchers follow such strides only after a few misses, and a panel
/// has too few steps to amortise them, so the packing asks for the piece a few steps ahead itself
/// (a hint: it never faults, even past the end of the matrix). Measured on chapter 16's GPT weight
/// gradients (2 threads, operands cold, 100 alternating runs): 3–11 % faster, 4 % over all the
/// products of a layer; 2–10 % on one thread.
const COLUMNS_AHEAD: usize = 4;
/// See [`COLUMNS_AHEAD`].
const ROWS_AHEAD: usize = 8;

/// Asks the CPU to load the line holding `ptr` into the cache ([`super::x86::prefetch`]); nothing
/// on other CPUs.
#[inline]
fn prefetch(ptr: *const f32) {
    #[cfg(target_arch = "x86_64")]
    super::x86::prefetch(ptr);
    #[cfg(not(target_arch = "x86_64"))]
    let _ = ptr;
}

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
    if row_stride == 1 && rows == mr && mr == 6 {
        // A transposed, a whole panel of 6 rows (the AVX2 and AVX-512 wide kernels) or 8 (their
        // narrow kernels, NEON): fixed-size copies (see `copy_columns`).
        copy_columns::<6>(data, col_stride, dst);
    } else if row_stride == 1 && rows == mr && mr == 8 {
        copy_columns::<8>(data, col_stride, dst);
    } else if row_stride == 1 {
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

/// Copies `MR` contiguous floats per column, column `p` starting at `data[p·col_stride]`, into
/// consecutive groups of `MR` in `dst` (as many columns as `dst` holds groups).
///
/// The same as `copy_from_slice` per column, but as fixed-size arrays each copy is a few vector
/// moves instead of a call to `memcpy` for 24 or 32 bytes, which costs more than the copy itself.
/// Measured on the weight-gradient products of chapter 16's GPT (A = dYᵀ, one thread, warm):
/// packing with `copy_from_slice` made them 6–11 % slower than reading A in place, packing this way
/// 1–7 % faster.
///
/// Each step also asks for the column [`COLUMNS_AHEAD`] steps on (see there).
fn copy_columns<const MR: usize>(data: &[f32], col_stride: usize, dst: &mut [f32]) {
    for (p, column) in dst.chunks_exact_mut(MR).enumerate() {
        let start = p * col_stride;
        prefetch(
            data.as_ptr()
                .wrapping_add(start + COLUMNS_AHEAD * col_stride),
        );
        let source: &[f32; MR] = data[start..start + MR]
            .try_into()
            .expect("a slice of MR floats");
        let column: &mut [f32; MR] = column.try_into().expect("a chunk of MR floats");
        *column = *source;
    }
}

/// Packs the `kc × cols` block `b` into `dst` as `⌈cols / nr⌉` panels of `kc × nr`, row by row
/// within each panel, with columns past `cols` set to zero.
pub(super) fn pack_b(b: MatRef<'_>, nr: usize, dst: &mut [f32]) {
    let (kc, cols) = (b.rows(), b.cols());
    let (row_stride, col_stride) = (b.row_stride(), b.col_stride());
    let data = b.data();
    let panels = cols.div_ceil(nr);
    for (q, panel) in dst[..panels * kc * nr]
        .chunks_exact_mut(kc * nr)
        .enumerate()
    {
        let j0 = q * nr;
        let width = nr.min(cols - j0);
        if width < nr {
            panel.fill(0.0);
        }
        if col_stride == 1 {
            // Row-major B: each row of the panel is a contiguous copy (and the row ROWS_AHEAD on
            // is asked for, see there).
            for (p, row) in panel.chunks_exact_mut(nr).enumerate() {
                let start = p * row_stride + j0;
                prefetch(data.as_ptr().wrapping_add(start + ROWS_AHEAD * row_stride));
                row[..width].copy_from_slice(&data[start..start + width]);
            }
        } else if row_stride == 1 {
            // B transposed (e.g. A·Bᵀ with B stored n × k): each column is contiguous, and the panel
            // wants rows. Copy 8 × 8 blocks, transposing each in registers, going down 8 columns at
            // a time: 8 sequential read streams, whatever the distance between columns (a distance
            // of 4 KiB would map 64 columns read side by side onto one L1 set). The ragged right and
            // bottom edges go element by element.
            let (full_rows, full_cols) =
                transpose_full_blocks(&data[j0 * col_stride..], col_stride, kc, width, panel, nr);
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

/// Copies the whole 8 × 8 blocks of a transposed panel, `panel[p·nr + j] = src[j·col_stride + p]`,
/// transposing each block in vector registers, and returns how many rows and columns it covered
/// (`(0, 0)` without AVX: the caller's element-by-element loop then does everything).
fn transpose_full_blocks(
    src: &[f32],
    col_stride: usize,
    kc: usize,
    width: usize,
    panel: &mut [f32],
    nr: usize,
) -> (usize, usize) {
    let (full_rows, full_cols) = (kc / 8 * 8, width / 8 * 8);
    if full_rows == 0 || full_cols == 0 {
        return (0, 0);
    }
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx") {
        assert!(
            (full_cols - 1) * col_stride + full_rows <= src.len()
                && (full_rows - 1) * nr + full_cols <= panel.len(),
            "transpose_full_blocks: the blocks do not fit in the buffers"
        );
        // SAFETY: AVX is present; the assert shows the last block's last row is inside `src`
        // (column `full_cols - 1`, rows up to `full_rows`) and inside `panel`, and every other block
        // lies before it in both.
        unsafe {
            super::x86::transpose_full_blocks(
                src.as_ptr(),
                col_stride,
                full_rows,
                full_cols,
                panel.as_mut_ptr(),
                nr,
            )
        };
        return (full_rows, full_cols);
    }
    let _ = (src, col_stride, panel, nr);
    (0, 0)
}
