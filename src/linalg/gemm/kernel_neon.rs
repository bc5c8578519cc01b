//! The NEON (aarch64 Advanced SIMD) microkernel: an 8 × 12 tile of C held in 24 of the 32 q registers.
//!
//! Each step `p` of the sum loads B̃'s row `p` (12 floats = 3 q registers), broadcasts each of the 8
//! values of A's column `p` (`ld1r`, a load that fills all 4 lanes), and does 8 × 3 = 24 fused
//! multiply-adds of 4 lanes: 24 accumulators + 3 rows of B̃ + a broadcast = 28 of the 32 registers.
//! Typical cores (Cortex-A76/X1, Apple M1) have 2–4 FMA pipes with 4 cycles of latency, so 24
//! independent accumulators keep them busy.
//!
//! Block sizes: KC = 256 (A panel 8 KiB), NC = 480 (B̃ block 480 KiB in L2; a multiple
//! of 12).
//!
//! Writing the tile: NEON has no masked stores, so a partial last vector (or a tile whose columns are
//! not contiguous) goes through a small buffer with the same arithmetic.
//!
//! Testing it on an x86-64 machine: `cargo test --target aarch64-unknown-linux-gnu` under qemu (see the
//! README's contributing notes).

use super::{APanel, BPanel, CTile, Microkernel};
use std::arch::aarch64::{
    float32x4_t, vdupq_n_f32, vfmaq_f32, vld1q_dup_f32, vld1q_f32, vmulq_f32, vst1q_f32,
};

/// Rows of C per call.
const MR: usize = 8;
/// Columns of C per call.
const NR: usize = 12;
/// f32 lanes per q register.
const LANES: usize = 4;
/// Vectors per row of the tile.
const VECTORS: usize = NR / LANES;

pub(super) static MICROKERNEL: Microkernel = Microkernel {
    mr: MR,
    nr: NR,
    kc: 256,
    nc: 480,
    run: kernel,
    speed_percent: 100,
};

/// `tile = α·A·B̃ + β·tile` (see [`super::KernelFn`] for the contract).
///
/// # Safety
/// As [`super::KernelFn`]; the CPU must support NEON.
#[target_feature(enable = "neon")]
unsafe fn kernel(kc: usize, a: APanel, b: BPanel, alpha: f32, beta: f32, c: CTile) {
    let mut acc = [[vdupq_n_f32(0.0); VECTORS]; MR];
    let a_rows: [*const f32; MR] = std::array::from_fn(|i| a.ptr.wrapping_add(i * a.row_stride));
    for p in 0..kc {
        // SAFETY: `p < kc`: the 3 vectors are the 12 floats of row `p` of the B panel.
        let b_vectors: [float32x4_t; VECTORS] =
            std::array::from_fn(|v| unsafe { vld1q_f32(b.ptr.add(p * b.row_stride + v * LANES)) });
        for (i, acc_row) in acc.iter_mut().enumerate() {
            // SAFETY: `i < MR`, `p < kc`: inside the panel the caller vouched for.
            let a_value = unsafe { vld1q_dup_f32(a_rows[i].add(p * a.col_stride)) };
            for (sum, &b_vector) in acc_row.iter_mut().zip(&b_vectors) {
                *sum = vfmaq_f32(*sum, a_value, b_vector);
            }
        }
    }
    // The accumulators go to `store_rows` by value: see the AVX2 kernel (a reference let LLVM keep
    // them in memory, at half the speed, without LTO).
    if c.col_stride == 1 {
        // SAFETY: rows of the tile are contiguous; the caller vouches for the tile.
        unsafe { store_rows(acc, alpha, beta, c.ptr, c.row_stride, c.rows, c.cols) };
    } else {
        let mut buffer = [0.0f32; MR * NR];
        for i in 0..c.rows {
            for j in 0..c.cols {
                // SAFETY: `(i, j)` is inside the tile.
                buffer[i * NR + j] = unsafe { *c.ptr.add(i * c.row_stride + j * c.col_stride) };
            }
        }
        // SAFETY: the buffer is a full MR × NR row-major tile.
        unsafe { store_rows(acc, alpha, beta, buffer.as_mut_ptr(), NR, c.rows, c.cols) };
        for i in 0..c.rows {
            for j in 0..c.cols {
                // SAFETY: `(i, j)` is inside the tile.
                unsafe { *c.ptr.add(i * c.row_stride + j * c.col_stride) = buffer[i * NR + j] };
            }
        }
    }
}

/// Writes `α·acc + β·C` to the top-left `rows × cols` of a tile with contiguous rows `row_stride`
/// apart, without reading C when `β = 0` and without touching anything past `cols`.
///
/// # Safety
/// `ptr + i·row_stride + j` must be valid for `i < rows`, `j < cols`; the CPU must support NEON.
#[target_feature(enable = "neon")]
unsafe fn store_rows(
    acc: [[float32x4_t; VECTORS]; MR],
    alpha: f32,
    beta: f32,
    ptr: *mut f32,
    row_stride: usize,
    rows: usize,
    cols: usize,
) {
    let alpha = vdupq_n_f32(alpha);
    let beta_vector = vdupq_n_f32(beta);
    for (i, acc_row) in acc.iter().enumerate().take(rows) {
        for (v, &sum) in acc_row.iter().enumerate() {
            let first = v * LANES;
            if first >= cols {
                break;
            }
            let left = (cols - first).min(LANES);
            // SAFETY: `first + left <= cols`, so the `left` elements at `place` are inside the tile;
            // a partial vector is staged through `lane_buffer`, so nothing past `cols` is touched.
            unsafe {
                let place = ptr.add(i * row_stride + first);
                let mut lane_buffer = [0.0f32; LANES];
                let target = if left == LANES {
                    place
                } else {
                    std::ptr::copy_nonoverlapping(place, lane_buffer.as_mut_ptr(), left);
                    lane_buffer.as_mut_ptr()
                };
                let mut value = vmulq_f32(alpha, sum);
                if beta != 0.0 {
                    value = vfmaq_f32(value, beta_vector, vld1q_f32(target));
                }
                vst1q_f32(target, value);
                if left < LANES {
                    std::ptr::copy_nonoverlapping(lane_buffer.as_ptr(), place, left);
                }
            }
        }
    }
}
