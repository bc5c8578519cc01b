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
            // B transposed (e.g. A·Bᵀ with B stored n × k): each column is contiguous. Going down one
            // whole column at a time would write the panel with a stride of nr floats across all kc
            // rows (64 KiB for the AVX-512 kernel, more than L1); instead take the columns 16 rows
            // at a time, so the 16 panel rows being written stay in L1 while every column is read.
            for p0 in (0..kc).step_by(16) {
                let rows = 16.min(kc - p0);
                let panel_rows = &mut panel[p0 * nr..(p0 + rows) * nr];
                for j in 0..width {
                    let start = (j0 + j) * col_stride + p0;
                    let column = &data[start..start + rows];
                    for (row, &value) in panel_rows.chunks_exact_mut(nr).zip(column) {
                        row[j] = value;
                    }
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
