//! The portable microkernel: plain Rust, a 4 × 8 tile of C in local variables.
//!
//! It runs on every CPU and is the model the SIMD kernels follow: for each step `p` of the sum, take
//! the 4 values of Ã's column `p` and the 8 values of B̃'s row `p` and add their outer product to the
//! tile. The compiler keeps the 32 accumulators in registers and may vectorise the rows with the
//! baseline SIMD of the target (SSE2 on x86-64). It uses `a * b + c` rather than a fused multiply-add:
//! without FMA hardware `f32::mul_add` is a slow library call.
//!
//! Block sizes: with 4 × 8, Ã is 4 × 256 floats (4 KiB, L1) and B̃ 256 × 512 floats (512 KiB, L2).

use super::{CTile, Microkernel};

/// Rows of C per call.
pub(super) const MR: usize = 4;
/// Columns of C per call.
pub(super) const NR: usize = 8;

pub(super) static MICROKERNEL: Microkernel = Microkernel {
    mr: MR,
    nr: NR,
    kc: 256,
    nc: 512,
    run: kernel,
};

/// `tile = α·Ã·B̃ + β·tile` (see [`super::KernelFn`] for the contract).
///
/// # Safety
/// As [`super::KernelFn`]: `a` holds `kc·MR` floats, `b` `kc·NR`, the tile is valid and exclusive.
unsafe fn kernel(kc: usize, a: *const f32, b: *const f32, alpha: f32, beta: f32, c: CTile) {
    // SAFETY: the caller guarantees `kc·MR` and `kc·NR` readable floats behind `a` and `b`.
    let (a, b) = unsafe {
        (
            std::slice::from_raw_parts(a, kc * MR),
            std::slice::from_raw_parts(b, kc * NR),
        )
    };
    let mut acc = [[0.0f32; NR]; MR];
    for (a_column, b_row) in a.chunks_exact(MR).zip(b.chunks_exact(NR)) {
        for (acc_row, &a_value) in acc.iter_mut().zip(a_column) {
            for (sum, &b_value) in acc_row.iter_mut().zip(b_row) {
                *sum += a_value * b_value;
            }
        }
    }
    for (i, acc_row) in acc.iter().enumerate().take(c.rows) {
        for (j, &sum) in acc_row.iter().enumerate().take(c.cols) {
            // SAFETY: `i < rows` and `j < cols`, inside the tile the caller vouched for.
            unsafe {
                let place = c.ptr.add(i * c.row_stride + j * c.col_stride);
                *place = if beta == 0.0 {
                    alpha * sum
                } else {
                    alpha * sum + beta * *place
                };
            }
        }
    }
}
