//! The AVX2 + FMA microkernels: a wide 6 × 16 tile of C in 12 of the 16 ymm registers, and a narrow
//! 8 × 8 one for products with few columns.
//!
//! Each step `p` of the sum loads B̃'s row `p` (16 floats = 2 ymm), broadcasts each of the 6 values of
//! A's column `p`, and does 6 × 2 = 12 fused multiply-adds of 8 lanes. The 16 registers are the limit:
//! 12 accumulators + 2 rows of B̃ + 1 broadcast = 15. Two FMA pipes with a latency of 4 cycles need at
//! least 8 independent accumulators; 12 suffice. The narrow kernel (8 rows of 1 vector) has exactly 8.
//!
//! Block sizes: KC = 256 (A panel 6 KiB, 8 KiB for the narrow kernel), NC = 512 (B̃ block
//! 512 KiB in L2). The narrow kernel does 9 loads per 8 FMAs, more than two load ports feed at two
//! FMAs per cycle: measured at about 80 % of the wide kernel's speed, which the plan takes into
//! account.
//!
//! Writing the tile: contiguous rows use `vmaskmovps` for the last partial vector, so nothing past the
//! edge of C is touched; contiguous columns (a transposed product) are transposed in registers and
//! stored one masked column at a time; other strides go through a small buffer.

use super::x86::{lane_mask, transpose_registers};
use super::{APanel, BPanel, CTile, Microkernel};
use std::arch::x86_64::{
    __m256, _mm256_fmadd_ps, _mm256_loadu_ps, _mm256_maskload_ps, _mm256_maskstore_ps,
    _mm256_mul_ps, _mm256_set1_ps, _mm256_setzero_ps, _mm256_storeu_ps,
};

/// f32 lanes per ymm register.
const LANES: usize = 8;

/// The wide kernel: 6 rows × 2 vectors (16 columns).
pub(super) static MICROKERNEL: Microkernel = Microkernel {
    mr: 6,
    nr: 2 * LANES,
    kc: 256,
    nc: 512,
    run: kernel::<6, 2>,
    speed_percent: 100,
};

/// The narrow kernel: 8 rows × 1 vector (8 columns).
pub(super) static NARROW: Microkernel = Microkernel {
    mr: 8,
    nr: LANES,
    kc: 256,
    nc: 512,
    run: kernel::<8, 1>,
    speed_percent: 80,
};

/// `tile = α·A·B̃ + β·tile` for an `MR × (8·VECTORS)` tile (see [`super::KernelFn`]).
///
/// # Safety
/// As [`super::KernelFn`]; the CPU must support AVX2 and FMA.
#[target_feature(enable = "avx2,fma")]
unsafe fn kernel<const MR: usize, const VECTORS: usize>(
    kc: usize,
    a: APanel,
    b: BPanel,
    alpha: f32,
    beta: f32,
    c: CTile,
) {
    let mut acc = [[_mm256_setzero_ps(); VECTORS]; MR];
    let a_rows: [*const f32; MR] = std::array::from_fn(|i| a.ptr.wrapping_add(i * a.row_stride));
    for p in 0..kc {
        // SAFETY: `p < kc`: these vectors are the NR floats of row `p` of the B panel.
        let b_vectors: [__m256; VECTORS] = std::array::from_fn(|v| unsafe {
            _mm256_loadu_ps(b.ptr.add(p * b.row_stride + v * LANES))
        });
        for (i, acc_row) in acc.iter_mut().enumerate() {
            // SAFETY: `i < MR`, `p < kc`: inside the panel the caller vouched for.
            let a_value = _mm256_set1_ps(unsafe { *a_rows[i].add(p * a.col_stride) });
            for (sum, &b_vector) in acc_row.iter_mut().zip(&b_vectors) {
                *sum = _mm256_fmadd_ps(a_value, b_vector, *sum);
            }
        }
    }
    // The accumulators go to the store routines by value, not by reference: a reference lets the
    // array's address escape, and without link-time optimisation LLVM then wrote all 12 registers
    // to the stack at every step of the loop above (measured at 512³: 21 GFLOPS instead of 40).
    // SAFETY (all three): the caller vouches for the tile; each store routine touches only its
    // `rows × cols` corner.
    if c.col_stride == 1 {
        unsafe { store_rows(acc, alpha, beta, c.ptr, c.row_stride, c.rows, c.cols) };
    } else if c.row_stride == 1 && MR <= 8 {
        unsafe { store_columns(acc, alpha, beta, c.ptr, c.col_stride, c.rows, c.cols) };
    } else {
        unsafe { store_any(acc, alpha, beta, c) };
    }
}

/// Writes `α·acc + β·C` to the top-left `rows × cols` of a tile with contiguous rows `row_stride`
/// apart, without reading C when `β = 0` and without touching anything past `cols`.
///
/// # Safety
/// `ptr + i·row_stride + j` must be valid for `i < rows`, `j < cols`; the CPU must support AVX2+FMA.
#[target_feature(enable = "avx2,fma")]
unsafe fn store_rows<const MR: usize, const VECTORS: usize>(
    acc: [[__m256; VECTORS]; MR],
    alpha: f32,
    beta: f32,
    ptr: *mut f32,
    row_stride: usize,
    rows: usize,
    cols: usize,
) {
    let alpha = _mm256_set1_ps(alpha);
    let beta_vector = _mm256_set1_ps(beta);
    for (i, acc_row) in acc.iter().enumerate().take(rows) {
        for (v, &sum) in acc_row.iter().enumerate() {
            let first = v * LANES;
            if first >= cols {
                break;
            }
            let left = (cols - first).min(LANES);
            // SAFETY: `first < cols`, so the address is inside the tile; with fewer than 8 columns
            // left, the masked load and store touch only the first `left` lanes.
            unsafe {
                let place = ptr.add(i * row_stride + first);
                let mut value = _mm256_mul_ps(alpha, sum);
                if left == LANES {
                    if beta != 0.0 {
                        value = _mm256_fmadd_ps(beta_vector, _mm256_loadu_ps(place), value);
                    }
                    _mm256_storeu_ps(place, value);
                } else {
                    let mask = lane_mask(left);
                    if beta != 0.0 {
                        let old = _mm256_maskload_ps(place, mask);
                        value = _mm256_fmadd_ps(beta_vector, old, value);
                    }
                    _mm256_maskstore_ps(place, mask, value);
                }
            }
        }
    }
}

/// Writes `α·acc + β·C` to a tile whose *columns* are contiguous (element `(i, j)` at
/// `ptr + i + j·col_stride`, a transposed product): each group of 8 columns of the `MR ≤ 8` rows
/// (plus rows of zeros) is transposed in registers, and each column's first `rows` values go out in
/// one masked store. Same arithmetic as [`store_rows`].
///
/// # Safety
/// `ptr + i + j·col_stride` must be valid for `i < rows`, `j < cols`; the CPU must support AVX2+FMA.
#[target_feature(enable = "avx2,fma")]
unsafe fn store_columns<const MR: usize, const VECTORS: usize>(
    acc: [[__m256; VECTORS]; MR],
    alpha: f32,
    beta: f32,
    ptr: *mut f32,
    col_stride: usize,
    rows: usize,
    cols: usize,
) {
    debug_assert!(MR <= 8, "a column of the tile fits in 8 lanes");
    let alpha = _mm256_set1_ps(alpha);
    let beta_vector = _mm256_set1_ps(beta);
    let mask = lane_mask(rows);
    for (group, first) in (0..cols).step_by(LANES).enumerate() {
        let group_rows: [__m256; 8] = std::array::from_fn(|i| {
            if i < MR {
                _mm256_mul_ps(alpha, acc[i][group])
            } else {
                _mm256_setzero_ps()
            }
        });
        let columns = transpose_registers(group_rows);
        for (c, &column) in columns.iter().enumerate().take(cols - first) {
            // SAFETY: `first + c < cols`, so the column is inside the tile; only `rows` lanes are
            // read and written.
            unsafe {
                let place = ptr.add((first + c) * col_stride);
                let mut value = column;
                if beta != 0.0 {
                    value = _mm256_fmadd_ps(beta_vector, _mm256_maskload_ps(place, mask), value);
                }
                _mm256_maskstore_ps(place, mask, value);
            }
        }
    }
}

/// Writes `α·acc + β·C` to a tile with arbitrary strides, through a row-major buffer and
/// [`store_rows`] (so the arithmetic is the same), one element at a time.
///
/// # Safety
/// Every element of the tile's `rows × cols` corner must be valid; the CPU must support AVX2+FMA.
#[target_feature(enable = "avx2,fma")]
unsafe fn store_any<const MR: usize, const VECTORS: usize>(
    acc: [[__m256; VECTORS]; MR],
    alpha: f32,
    beta: f32,
    c: CTile,
) {
    let mut buffer = [[0.0f32; 16]; 8];
    debug_assert!(
        MR <= 8 && VECTORS * LANES <= 16,
        "the buffer holds the largest tile"
    );
    for (i, row) in buffer.iter_mut().enumerate().take(c.rows) {
        for (j, slot) in row.iter_mut().enumerate().take(c.cols) {
            // SAFETY: `(i, j)` is inside the tile.
            *slot = unsafe { *c.ptr.add(i * c.row_stride + j * c.col_stride) };
        }
    }
    // SAFETY: the buffer is a row-major 8 × 16 array, large enough for the MR × NR tile.
    unsafe {
        store_rows(
            acc,
            alpha,
            beta,
            buffer.as_mut_ptr().cast(),
            16,
            c.rows,
            c.cols,
        )
    };
    for (i, row) in buffer.iter().enumerate().take(c.rows) {
        for (j, &value) in row.iter().enumerate().take(c.cols) {
            // SAFETY: `(i, j)` is inside the tile.
            unsafe { *c.ptr.add(i * c.row_stride + j * c.col_stride) = value };
        }
    }
}
