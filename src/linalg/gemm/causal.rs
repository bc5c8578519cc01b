//! Products under a causal mask: skipping the work the mask makes useless.
//!
//! A language model's attention lets position i see positions j ≤ i only. In its six products per
//! head (chapter 16) that makes a triangle of each one useless:
//!
//! ```text
//! S  = Q·Kᵀ     only S's lower triangle is read (the softmax ignores j > i)      LowerC
//! O  = P·V      P is lower triangular: row i's sum stops at p = i                  LowerA
//! dV = Pᵀ·dO    Pᵀ is upper triangular: row i's sum starts at p = i                UpperA
//! dP = dO·Vᵀ    only the lower triangle is read (dZ = P ⊙ … is 0 above it)        LowerC
//! dQ = dZ·K     dZ is lower triangular                                             LowerA
//! dK = dZᵀ·Q    dZᵀ is upper triangular                                            UpperA
//! ```
//!
//! [`gemm_causal`] runs the usual loops (see the module docs of [`super`]) but, tile by tile, skips
//! the tiles of C wholly above the diagonal (`LowerC`) or shortens each row panel's sum to the terms
//! whose A is not zero by the triangle (`LowerA`, `UpperA`). For a 64 × 64 head with the AVX2 tile
//! (6 × 16) that skips 15 of the 44 tiles of `Q·Kᵀ` and about 45 % of the multiply-adds of the
//! others.
//!
//! **The same numbers.** A skipped term is `0·b`, which adds nothing to the sum: the result is bit
//! for bit the full product's (for finite B; only the sign of a sum that is exactly zero could
//! differ), so the choice never changes what a model computes. Tiles skipped by `LowerC` are left
//! as they were: the caller must not read C above the diagonal.
//!
//! It is meant for one attention head: one thread, and the whole product in one block of the sum
//! and of columns (`k ≤ KC`, `n ≤ NC`); bigger products run as the full product instead.

use super::{MatMut, MatRef, RawC, current_kernel, gemm_serial, gemm_with, no_overlap};
use std::ops::Range;

/// Which triangle of a product a causal mask (row i sees columns j ≤ i) makes useless.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Causal {
    /// Only C's lower triangle (`j ≤ i`) is needed: tiles wholly above the diagonal are skipped and
    /// left as they were.
    LowerC,
    /// A is lower triangular (`A[i][p] = 0` for `p > i`): each row panel's sum stops after its
    /// last row's diagonal.
    LowerA,
    /// A is upper triangular (`A[i][p] = 0` for `p < i`): each row panel's sum starts at its first
    /// row's diagonal.
    UpperA,
}

impl Causal {
    /// Whether the tile of C with rows `rows` and first column `first_column` is needed.
    pub(super) fn needs_tile(self, rows: &Range<usize>, first_column: usize) -> bool {
        self != Causal::LowerC || first_column < rows.end
    }

    /// The terms `p` of a `k`-term sum that the rows `rows` of C need: all those where A is not
    /// zero by the triangle (for `LowerC`, all of them).
    pub(super) fn terms(self, rows: &Range<usize>, k: usize) -> Range<usize> {
        match self {
            Causal::LowerC => 0..k,
            // Row i needs p ≤ i; the panel's last row, i = rows.end − 1, needs the most.
            Causal::LowerA => 0..k.min(rows.end),
            // Row i needs p ≥ i; the panel's first row needs the most.
            Causal::UpperA => rows.start.min(k)..k,
        }
    }
}

/// `C = α·A·B + β·C` on one thread, skipping the triangle that `causal` makes useless (see the
/// module docs): with [`Causal::LowerC`] only C's lower triangle is computed, with
/// [`Causal::LowerA`] / [`Causal::UpperA`] A must be zero in the other triangle, and then all of
/// C is the full product's. Panics if the shapes do not fit.
pub fn gemm_causal(
    alpha: f32,
    a: MatRef<'_>,
    b: MatRef<'_>,
    beta: f32,
    c: MatMut<'_>,
    causal: Causal,
) {
    let kernel = current_kernel();
    let microkernel = kernel
        .microkernel()
        .expect("current_kernel only returns a kernel this CPU supports");
    let (m, k, n) = (a.rows(), a.cols(), b.cols());
    let (row_stride, col_stride) = (c.row_stride(), c.col_stride());
    let fits_one_block = b.rows() == k
        && c.rows() == m
        && c.cols() == n
        && k <= microkernel.kc
        && n <= microkernel.nc;
    if !fits_one_block
        || m == 0
        || n == 0
        || k == 0
        || alpha == 0.0
        || !no_overlap(m, n, row_stride, col_stride)
    {
        // Too big for one block, nothing to sum, or a C whose elements alias: the full product
        // (which also checks the shapes and handles those cases).
        gemm_with(kernel, 1, alpha, a, b, beta, c);
        return;
    }
    let mut c = c;
    let raw = RawC {
        ptr: c.data_mut().as_mut_ptr(),
        row_stride,
        col_stride,
    };
    gemm_serial(
        microkernel,
        alpha,
        a,
        b,
        beta,
        raw,
        m,
        n,
        None,
        Some(causal),
        None,
    );
}
