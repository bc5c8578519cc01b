//! Epilogues: finishing each piece of C while it is still in the cache.
//!
//! A layer rarely wants the bare product. A linear layer adds its bias (and, in a transformer
//! block, the residual stream): `Y = X·Wᵀ + b + R`; the block's first feed-forward layer then takes
//! the GELU of that; a backward pass multiplies `dY·W` element by element by the activation's slope.
//! Done as separate passes, each of those reads and writes the whole of C once more — C is
//! 768 × 512 floats (1.5 MB) in chapter 16's GPT, too big for the L2 cache, so every pass goes to
//! L3 or memory.
//!
//! An *epilogue* does that work inside the GEMM instead (cuBLASLt calls the same idea "epilogues",
//! CUTLASS "epilogue functors"): [`gemm_epilogue`] computes `C = A·B` row panel by row panel as
//! usual (see the module docs of [`super`]), and as soon as a panel's values are final — after the
//! last block of the sum — it hands each of the panel's rows to [`Epilogue::finish_row`]. Those few
//! kilobytes were written a moment before and are still in L1 or L2.
//!
//! **Written once, in plain Rust; vectorised for the CPU.** The layer writes its epilogue as an
//! ordinary loop over a row. The library is compiled for baseline x86-64 (SSE2, 4 floats per
//! instruction); on a CPU with AVX2, [`gemm_epilogue`] runs the *same* code compiled with AVX2
//! enabled (8 floats per instruction) — the compiler vectorises the loop either way. The two give
//! the same bits: vectorising element-wise IEEE arithmetic does not change it, and Rust never fuses
//! a multiply and an add into one FMA behind the programmer's back.
//!
//! **The same numbers as separate passes.** Each element is finished exactly once, from its final
//! value, so the result is bit for bit that of [`super::gemm`] followed by the epilogue over every
//! row — whatever the kernel, the number of threads, or whether the product could be fused (a
//! transposed plan or the AVX-512 inner-product form runs the epilogue as a separate, parallel pass
//! over the rows afterwards, with the same result).

use super::view::{MatMut, MatRef};
use super::{Kernel, RawC, current_kernel, gemm_finishing, threads_for};
use crate::parallel;

/// What to do with each row of a finished product: the element-wise work that follows a GEMM.
///
/// `finish_row(i, first_col, values, extra)` receives the final values of row `i`, columns
/// `first_col..first_col + values.len()`, of C, to overwrite in place, and the same elements of the
/// optional second output (`extra`; an empty slice when the call has none). Each element of C is
/// passed exactly once, in pieces of a row whose sizes depend on the blocking and the threads, in
/// no particular order and possibly from several threads at once — so the result must depend on
/// the element's position and value only.
///
/// Mark the implementation `#[inline(always)]`: that lets [`gemm_epilogue`] compile it into its
/// AVX2 version (see the module docs).
pub trait Epilogue: Sync {
    /// Finishes `values` = `C[i, first_col..]` in place, writing the second output's same elements
    /// to `extra` (empty if there is none).
    fn finish_row(&self, i: usize, first_col: usize, values: &mut [f32], extra: &mut [f32]);
}

/// `C = epilogue(A·B)`: the product (as [`super::gemm`] computes it, with α = 1 and β = 0), then
/// [`Epilogue::finish_row`] on every row piece of it, fused into the GEMM's loops where possible.
///
/// `c` is row-major `m × n` (`m` = A's rows, `n` = B's columns) and so is `extra`, the optional
/// second output the epilogue writes (a GELU layer's slope, say). Panics (naming the shapes) if they
/// do not fit.
pub fn gemm_epilogue<E: Epilogue>(
    a: MatRef<'_>,
    b: MatRef<'_>,
    c: &mut [f32],
    extra: Option<&mut [f32]>,
    epilogue: &E,
) {
    gemm_epilogue_with(
        current_kernel(),
        threads_for(a, b),
        a,
        b,
        c,
        extra,
        epilogue,
    );
}

/// [`gemm_epilogue`] with an explicit kernel and number of pieces, as [`super::gemm_with`]. The
/// result does not depend on either choice of pieces or on whether the epilogue could be fused.
/// Panics if the CPU cannot run `kernel` or the shapes do not fit.
pub fn gemm_epilogue_with<E: Epilogue>(
    kernel: Kernel,
    threads: usize,
    a: MatRef<'_>,
    b: MatRef<'_>,
    c: &mut [f32],
    extra: Option<&mut [f32]>,
    epilogue: &E,
) {
    let (m, n) = (a.rows(), b.cols());
    assert!(
        c.len() == m * n && extra.as_ref().is_none_or(|e| e.len() == m * n),
        "gemm_epilogue: A {}×{} times B {}×{} is {m}×{n}, but C holds {} values and the second \
         output {:?}",
        a.rows(),
        a.cols(),
        b.rows(),
        b.cols(),
        c.len(),
        extra.as_ref().map(|e| e.len())
    );
    let vectorized = Vectorized(epilogue);
    let extra_raw = extra.map(|e| RawC {
        ptr: e.as_mut_ptr(),
        row_stride: n,
        col_stride: 1,
    });
    let finish = Finish {
        epilogue: &vectorized,
        extra: extra_raw,
        row0: 0,
        col0: 0,
    };
    let fused = gemm_finishing(
        kernel,
        threads,
        1.0,
        a,
        b,
        0.0,
        MatMut::new(c, m, n),
        Some(finish),
    );
    if !fused {
        finish_separately(c, n, finish);
    }
}

/// Rows per task of the separate pass: about 16K elements each, as the element-wise passes of the
/// layers use.
fn rows_per_task(n: usize) -> usize {
    (16 * 1024 / n.max(1)).max(1)
}

/// The epilogue as a separate pass over the rows of the finished C (row-major, `n` columns), in
/// parallel pieces of whole rows, each finished as the fused loops finish their pieces.
fn finish_separately(c: &mut [f32], n: usize, finish: Finish<'_>) {
    if n == 0 {
        return;
    }
    let rows_per_task = rows_per_task(n);
    parallel::for_each_chunk_mut(c, rows_per_task * n, |task, rows| {
        let piece = RawC {
            ptr: rows.as_mut_ptr(),
            row_stride: n,
            col_stride: 1,
        };
        // SAFETY: the product is complete, so these rows hold final values; they are this task's
        // own chunk of C (and the same rows of the second output, which has C's shape, belong to
        // this task alone); C is row-major.
        unsafe {
            finish
                .shifted(task * rows_per_task, 0)
                .rows(piece, 0..rows.len() / n, 0..n)
        };
    });
}

/// An epilogue as the GEMM's loops see it: behind a pointer, already wrapped in [`Vectorized`].
pub(super) trait FinishRow: Sync {
    /// As [`Epilogue::finish_row`].
    fn finish_row(&self, i: usize, first_col: usize, values: &mut [f32], extra: &mut [f32]);
}

/// Runs the user's epilogue compiled for AVX2 when the CPU has it (see the module docs).
struct Vectorized<'a, E>(&'a E);

impl<E: Epilogue> FinishRow for Vectorized<'_, E> {
    fn finish_row(&self, i: usize, first_col: usize, values: &mut [f32], extra: &mut [f32]) {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports AVX2, checked just above.
            unsafe { finish_row_avx2(self.0, i, first_col, values, extra) };
            return;
        }
        self.0.finish_row(i, first_col, values, extra);
    }
}

/// [`Epilogue::finish_row`] compiled with AVX2 enabled: the epilogue's loop is inlined here and
/// vectorised 8 floats wide.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn finish_row_avx2<E: Epilogue>(
    epilogue: &E,
    i: usize,
    first_col: usize,
    values: &mut [f32],
    extra: &mut [f32],
) {
    epilogue.finish_row(i, first_col, values, extra);
}

/// An epilogue on its way through the GEMM's loops to one piece of C: where that piece's element
/// (0, 0) lies in the whole C, and the second output shifted to the same element.
#[derive(Clone, Copy)]
pub(super) struct Finish<'a> {
    pub(super) epilogue: &'a dyn FinishRow,
    /// The second output at this piece's element (0, 0), with C's strides.
    pub(super) extra: Option<RawC>,
    /// The piece's first row and column in the whole C.
    pub(super) row0: usize,
    pub(super) col0: usize,
}

impl Finish<'_> {
    /// The same epilogue for the piece that starts `rows` rows and `cols` columns further on.
    pub(super) fn shifted(self, rows: usize, cols: usize) -> Self {
        Finish {
            extra: self.extra.map(|e| RawC {
                ptr: e
                    .ptr
                    .wrapping_add(rows * e.row_stride + cols * e.col_stride),
                ..e
            }),
            row0: self.row0 + rows,
            col0: self.col0 + cols,
            ..self
        }
    }

    /// Finishes rows `rows` and columns `cols` of this piece of C (`c`, with unit column stride).
    ///
    /// # Safety
    /// That block of `c` (and of the second output) must hold final values, lie inside the buffers
    /// and be touched by no other thread meanwhile; `c.col_stride` must be 1, as the second
    /// output's.
    pub(super) unsafe fn rows(
        &self,
        c: RawC,
        rows: std::ops::Range<usize>,
        cols: std::ops::Range<usize>,
    ) {
        debug_assert!(
            c.col_stride == 1,
            "the epilogue is fused for row-major C only"
        );
        for i in rows {
            let offset = i * c.row_stride + cols.start;
            // SAFETY: row `i`, columns `cols` of this piece, inside C and this thread's alone (the
            // caller vouches).
            let values = unsafe { std::slice::from_raw_parts_mut(c.ptr.add(offset), cols.len()) };
            let extra: &mut [f32] = match self.extra {
                // SAFETY: the same elements of the second output, which has C's shape.
                Some(e) => unsafe {
                    std::slice::from_raw_parts_mut(
                        e.ptr.add(i * e.row_stride + cols.start),
                        cols.len(),
                    )
                },
                None => &mut [],
            };
            self.epilogue
                .finish_row(self.row0 + i, self.col0 + cols.start, values, extra);
        }
    }
}
