//! The inner-product form of a product, for a few long rows: each `C[i][j]` is one dot product of
//! row `i` of A with column `j` of B, both contiguous in memory (AVX-512F).
//!
//! # Why a second way to multiply
//! The packed loops ([`super::gemm_serial`]) copy B into panels and reuse each panel for every row
//! of A. Copying one element costs about as much as 8 multiply-adds, so when A has only a few rows
//! — a convolution's weight gradient `∂L/∂W = dY·colsᵀ` is 6 × 75 with a sum of 896 terms for
//! LeNet's first layer, a batch-1 layer `x·Wᵀ` is a single row — the copy costs more than the
//! arithmetic it feeds, and the 6 × 64 tiles of C are mostly padding. Here nothing is copied: when
//! A's rows and B's columns are each contiguous (the layout of `A·Bᵀ` with both row-major, which is
//! exactly what those two products are), the kernel streams them straight from memory.
//!
//! # The kernel
//! A block of up to 3 rows of A × 4 columns of B keeps 12 sums of 16 lanes in registers. Each step
//! loads 16 floats of each of the 7 vectors and does 12 fused multiply-adds; at the end each sum's
//! 16 lanes are added together. The last step of a sum whose length is not a multiple of 16 loads
//! with a mask (lanes past the end read as zero). Rows or columns missing at the edge of C reuse the
//! last valid one and their sums are dropped.
//!
//! The order of the additions differs from the packed loops, so the two ways can differ in the last
//! bits; which way runs depends only on the shapes, never on the thread count.

use super::{MatRef, RawC};
use std::arch::x86_64::{
    __m512, __mmask16, _mm512_fmadd_ps, _mm512_loadu_ps, _mm512_maskz_loadu_ps,
    _mm512_reduce_add_ps, _mm512_setzero_ps,
};

/// f32 lanes per zmm register.
const LANES: usize = 16;
/// Rows of A per block.
const ROWS: usize = 3;
/// Columns of B per block.
const COLS: usize = 4;

/// True when the inner-product form should run `m × k × n`: A's rows and B's columns contiguous,
/// at most 8 rows or columns of C (so packing would cost as much as the arithmetic it feeds), and
/// sums of at least 128 terms (so the final addition of the lanes is a small part of each).
pub(super) fn suits(a: MatRef<'_>, b: MatRef<'_>) -> bool {
    let (m, k, n) = (a.rows(), a.cols(), b.cols());
    let contiguous = a.col_stride() == 1 && b.row_stride() == 1;
    contiguous && m.min(n) <= 8 && k >= 128
}

/// `C[i][j] = α·(row i of A)·(column j of B) + β·C[i][j]` for the columns `columns` of C, which this
/// call alone writes. `β = 0` ignores C's old values, NaN included.
///
/// # Safety
/// The CPU must support AVX-512F; `c` must point at element (0, 0) of C (`a.rows() × b.cols()`,
/// valid for writes), and no other thread may write C's columns in `columns` meanwhile.
pub(super) unsafe fn run(
    alpha: f32,
    a: MatRef<'_>,
    b: MatRef<'_>,
    beta: f32,
    c: RawC,
    columns: std::ops::Range<usize>,
) {
    let (m, k) = (a.rows(), a.cols());
    // Row i of A and column j of B, each k contiguous floats.
    let row = |i: usize| &a.data()[i * a.row_stride()..][..k];
    let column = |j: usize| &b.data()[j * b.col_stride()..][..k];
    for i0 in (0..m).step_by(ROWS) {
        let rows_here = ROWS.min(m - i0);
        let a_rows: [&[f32]; ROWS] = std::array::from_fn(|r| row(i0 + r.min(rows_here - 1)));
        for j0 in columns.clone().step_by(COLS) {
            let cols_here = COLS.min(columns.end - j0);
            let b_cols: [&[f32]; COLS] = std::array::from_fn(|s| column(j0 + s.min(cols_here - 1)));
            // SAFETY: the CPU supports AVX-512F (the caller's promise); every slice holds k floats.
            let sums = unsafe { dot_block(k, a_rows, b_cols) };
            for (r, sums_row) in sums.iter().enumerate().take(rows_here) {
                for (s, &sum) in sums_row.iter().enumerate().take(cols_here) {
                    let offset = (i0 + r) * c.row_stride + (j0 + s) * c.col_stride;
                    // SAFETY: (i0 + r, j0 + s) is inside C, in a column this call alone writes.
                    unsafe {
                        let place = c.ptr.add(offset);
                        *place = if beta == 0.0 {
                            alpha * sum
                        } else {
                            alpha * sum + beta * *place
                        };
                    }
                }
            }
        }
    }
}

/// The 3 × 4 dot products of `a_rows` with `b_cols`, each over `k` terms.
///
/// # Safety
/// The CPU must support AVX-512F. (Every slice must hold `k` floats: checked.)
#[target_feature(enable = "avx512f")]
unsafe fn dot_block(
    k: usize,
    a_rows: [&[f32]; ROWS],
    b_cols: [&[f32]; COLS],
) -> [[f32; COLS]; ROWS] {
    assert!(a_rows.iter().chain(&b_cols).all(|v| v.len() >= k));
    let mut acc: [[__m512; COLS]; ROWS] = [[_mm512_setzero_ps(); COLS]; ROWS];
    let mut p = 0;
    while p < k {
        let left = k - p;
        let mask: __mmask16 = if left >= LANES {
            0xffff
        } else {
            (1u16 << left) - 1
        };
        // SAFETY: lanes p..p + 16 that are read lie below k (the mask drops the rest), and every
        // slice holds k floats (asserted above).
        let load = |v: &[f32]| unsafe {
            if mask == 0xffff {
                _mm512_loadu_ps(v.as_ptr().add(p))
            } else {
                _mm512_maskz_loadu_ps(mask, v.as_ptr().add(p))
            }
        };
        let b_vectors: [__m512; COLS] = std::array::from_fn(|s| load(b_cols[s]));
        for (acc_row, a_row) in acc.iter_mut().zip(a_rows) {
            let a_vector = load(a_row);
            for (sum, &b_vector) in acc_row.iter_mut().zip(&b_vectors) {
                *sum = _mm512_fmadd_ps(a_vector, b_vector, *sum);
            }
        }
        p += LANES;
    }
    acc.map(|row| row.map(|sum| _mm512_reduce_add_ps(sum)))
}
