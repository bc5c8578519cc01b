//! The AVX-512F microkernels: a wide 6 × 64 tile of C in 24 of the 32 zmm registers, and a narrow
//! 8 × 16 one for products with few columns (a convolution with 6 or 16 output channels).
//!
//! Each step `p` of the sum loads B̃'s row `p` (64 floats = 4 zmm), broadcasts each of the 6 values of
//! A's column `p`, and does 6 × 4 = 24 fused multiply-adds of 16 lanes: 768 flops for 4 loads and 6
//! broadcasts. Zen 4 executes one 512-bit FMA per cycle (two 256-bit halves on its two FMA pipes) with
//! a latency of 4 cycles, so it needs at least 4 independent accumulators; 24 keep the pipes busy with
//! plenty of slack, and the 10 loads per 24 cycles leave the load ports mostly idle. The narrow kernel
//! is the same code with 8 rows of 1 vector: 8 accumulators (still ≥ 4), 9 loads per 8 FMAs, which
//! Zen 4's two load ports sustain; it wastes nothing when n = 16 where the wide one would waste 3/4.
//!
//! Block sizes (see the module docs of `gemm`): KC = 256 (A panel 6 KiB, 8 KiB for the narrow
//! kernel; a B̃ panel 64 KiB, or 16 KiB), NC = 512 (B̃ block 512 KiB in L2, half of it).
//!
//! Writing the tile: with contiguous rows of C (`col_stride == 1`) each row is 1–4 vector stores,
//! masked in the last partial vector so nothing past the edge of C is touched. With contiguous columns
//! (a transposed product) the tile is transposed in registers, 8 columns at a time, and each column is
//! one masked store. Any other strides go through a small buffer, then element by element.

use super::x86::{lane_mask, transpose_registers};
use super::{APanel, BPanel, CTile, Microkernel};
use std::arch::x86_64::{
    __m256, __m512, __mmask16, _mm256_castpd_ps, _mm256_fmadd_ps, _mm256_maskload_ps,
    _mm256_maskstore_ps, _mm256_mul_ps, _mm256_set1_ps, _mm256_setzero_ps, _mm512_castps_pd,
    _mm512_castps512_ps256, _mm512_extractf64x4_pd, _mm512_fmadd_ps, _mm512_loadu_ps,
    _mm512_mask_storeu_ps, _mm512_maskz_loadu_ps, _mm512_mul_ps, _mm512_set1_ps, _mm512_setzero_ps,
    _mm512_storeu_ps,
};

/// f32 lanes per zmm register.
const LANES: usize = 16;

/// The wide kernel: 6 rows × 4 vectors (64 columns).
pub(super) static MICROKERNEL: Microkernel = Microkernel {
    mr: 6,
    nr: 4 * LANES,
    kc: 256,
    nc: 512,
    run: kernel::<6, 4>,
    speed_percent: 100,
};

/// The narrow kernel: 8 rows × 1 vector (16 columns).
pub(super) static NARROW: Microkernel = Microkernel {
    mr: 8,
    nr: LANES,
    kc: 256,
    nc: 512,
    run: kernel::<8, 1>,
    speed_percent: 100,
};

/// `tile = α·A·B̃ + β·tile` for an `MR × (16·VECTORS)` tile (see [`super::KernelFn`]).
///
/// # Safety
/// As [`super::KernelFn`]; the CPU must support AVX-512F.
#[target_feature(enable = "avx512f")]
unsafe fn kernel<const MR: usize, const VECTORS: usize>(
    kc: usize,
    a: APanel,
    b: BPanel,
    alpha: f32,
    beta: f32,
    c: CTile,
) {
    let mut acc = [[_mm512_setzero_ps(); VECTORS]; MR];
    let a_rows: [*const f32; MR] = std::array::from_fn(|i| a.ptr.wrapping_add(i * a.row_stride));
    for p in 0..kc {
        // SAFETY: `p < kc`: these vectors are the NR floats of row `p` of the B panel.
        let b_vectors: [__m512; VECTORS] = std::array::from_fn(|v| unsafe {
            _mm512_loadu_ps(b.ptr.add(p * b.row_stride + v * LANES))
        });
        for (i, acc_row) in acc.iter_mut().enumerate() {
            // SAFETY: `i < MR`, `p < kc`: inside the panel the caller vouched for.
            let a_value = _mm512_set1_ps(unsafe { *a_rows[i].add(p * a.col_stride) });
            for (sum, &b_vector) in acc_row.iter_mut().zip(&b_vectors) {
                *sum = _mm512_fmadd_ps(a_value, b_vector, *sum);
            }
        }
    }
    // By value, not by reference: see the AVX2 kernel (a reference cost half the speed without LTO).
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
/// `ptr + i·row_stride + j` must be valid for `i < rows`, `j < cols`; the CPU must support AVX-512F.
#[target_feature(enable = "avx512f")]
unsafe fn store_rows<const MR: usize, const VECTORS: usize>(
    acc: [[__m512; VECTORS]; MR],
    alpha: f32,
    beta: f32,
    ptr: *mut f32,
    row_stride: usize,
    rows: usize,
    cols: usize,
) {
    let alpha = _mm512_set1_ps(alpha);
    let beta_vector = _mm512_set1_ps(beta);
    for (i, acc_row) in acc.iter().enumerate().take(rows) {
        for (v, &sum) in acc_row.iter().enumerate() {
            let first = v * LANES;
            if first >= cols {
                break;
            }
            let mask: __mmask16 = if cols - first >= LANES {
                0xffff
            } else {
                (1u16 << (cols - first)) - 1
            };
            // SAFETY: `first < cols`, so the address is inside the tile; lanes past `cols` are masked.
            unsafe {
                let place = ptr.add(i * row_stride + first);
                let mut value = _mm512_mul_ps(alpha, sum);
                if beta != 0.0 {
                    value = _mm512_fmadd_ps(beta_vector, _mm512_maskz_loadu_ps(mask, place), value);
                }
                if mask == 0xffff {
                    _mm512_storeu_ps(place, value);
                } else {
                    _mm512_mask_storeu_ps(place, mask, value);
                }
            }
        }
    }
}

/// Writes `α·acc + β·C` to a tile whose *columns* are contiguous (element `(i, j)` at
/// `ptr + i + j·col_stride`), as when the transposed product `Cᵀ = Bᵀ·Aᵀ` is computed for a
/// row-major C. Each group of 8 columns of the `MR ≤ 8` rows (plus rows of zeros) is transposed in
/// registers into 8 columns of 8, and each column's first `rows` values go out in one masked store.
/// Same arithmetic as [`store_rows`]: `α·acc`, then one fused multiply-add with `β·C`.
///
/// # Safety
/// `ptr + i + j·col_stride` must be valid for `i < rows`, `j < cols`; the CPU must support AVX-512F.
#[target_feature(enable = "avx512f")]
unsafe fn store_columns<const MR: usize, const VECTORS: usize>(
    acc: [[__m512; VECTORS]; MR],
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
    for (group, first) in (0..cols).step_by(8).enumerate() {
        let group_rows: [__m256; 8] = std::array::from_fn(|i| {
            if i >= MR {
                return _mm256_setzero_ps();
            }
            let vector = acc[i][group / 2];
            let half = if group % 2 == 0 {
                _mm512_castps512_ps256(vector)
            } else {
                _mm256_castpd_ps(_mm512_extractf64x4_pd::<1>(_mm512_castps_pd(vector)))
            };
            _mm256_mul_ps(alpha, half)
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
/// Every element of the tile's `rows × cols` corner must be valid; the CPU must support AVX-512F.
#[target_feature(enable = "avx512f")]
unsafe fn store_any<const MR: usize, const VECTORS: usize>(
    acc: [[__m512; VECTORS]; MR],
    alpha: f32,
    beta: f32,
    c: CTile,
) {
    let nr = VECTORS * LANES;
    let mut buffer = [[0.0f32; 64]; 8];
    for (i, row) in buffer.iter_mut().enumerate().take(c.rows) {
        for (j, slot) in row.iter_mut().enumerate().take(c.cols) {
            // SAFETY: `(i, j)` is inside the tile.
            *slot = unsafe { *c.ptr.add(i * c.row_stride + j * c.col_stride) };
        }
    }
    debug_assert!(MR <= 8 && nr <= 64, "the buffer holds the largest tile");
    // SAFETY: the buffer is a row-major 8 × 64 array, large enough for the MR × NR tile.
    unsafe {
        store_rows(
            acc,
            alpha,
            beta,
            buffer.as_mut_ptr().cast(),
            64,
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
