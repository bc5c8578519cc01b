//! The portable microkernel: plain Rust, a 4 × 8 tile of C in local variables.
//!
//! It runs on every CPU and is the model the SIMD kernels follow: for each step `p` of the sum, take
//! the 4 values of A's column `p` and the 8 values of B̃'s row `p` and add their outer product to the
//! tile. The compiler keeps the 32 accumulators in registers and may vectorise the rows with the
//! baseline SIMD of the target (SSE2 on x86-64). It uses `a * b + c` rather than a fused multiply-add:
//! without FMA hardware `f32::mul_add` is a slow library call.
//!
//! Block sizes: with 4 × 8, an A panel is 4 × 256 floats (4 KiB, L1) and B̃ 256 × 512 floats (512 KiB, L2).

use super::{APanel, BPanel, CTile, Microkernel};

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
    speed_percent: 100,
};

/// `tile = α·A·B̃ + β·tile` (see [`super::KernelFn`] for the contract).
///
/// # Safety
/// As [`super::KernelFn`]: `a` is a valid `MR × kc` panel, `b` a valid `kc × NR` panel, the tile
/// is valid and exclusive.
unsafe fn kernel(kc: usize, a: APanel, b: BPanel, alpha: f32, beta: f32, c: CTile) {
    let mut acc = [[0.0f32; NR]; MR];
    for p in 0..kc {
        // SAFETY: `p < kc`: row `p` of the B panel, NR readable floats.
        let b_row = unsafe { std::slice::from_raw_parts(b.ptr.add(p * b.row_stride), NR) };
        for (i, acc_row) in acc.iter_mut().enumerate() {
            // SAFETY: `i < MR` and `p < kc`: inside the panel the caller vouched for.
            let a_value = unsafe { *a.ptr.add(i * a.row_stride + p * a.col_stride) };
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
