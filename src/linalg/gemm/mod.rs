//! GEMM, the general matrix multiply: `C = α·A·B + β·C`.
//!
//! Every layer's heavy math goes through [`gemm`]: a fully connected layer is one GEMM, a convolution
//! becomes one after im2col, an LSTM does one per time step. The matrices are strided views
//! ([`MatRef`], [`MatMut`]): element `(i, j)` of a view lives at `data[i * row_stride + j * col_stride]`,
//! so a transpose ([`MatRef::t`]) just swaps the two strides and costs nothing.
//!
//! This first version is cache-blocked scalar code; the packed SIMD kernels replace it behind the
//! same functions.

mod view;

pub use view::{MatMut, MatRef};

/// The name of the kernel in use (printed by every binary at start).
pub fn kernel_name() -> &'static str {
    "blocked-scalar"
}

/// Block sizes of the scalar loop: a KC×NC block of B (64 × 256 floats = 64 KiB) is reused for every
/// row of A before moving on, so it stays in the L2 cache.
const KC: usize = 64;
const NC: usize = 256;

/// `C = α·A·B + β·C` for strided views. `A` is `m × k`, `B` is `k × n`, `C` is `m × n`.
///
/// When `β == 0`, C's previous contents are ignored — even NaN or infinity — as in BLAS, so C can be
/// an uninitialised-looking buffer. Panics (naming the three shapes) if the shapes do not fit.
pub fn gemm(alpha: f32, a: MatRef<'_>, b: MatRef<'_>, beta: f32, mut c: MatMut<'_>) {
    let (m, k, n) = (a.rows(), a.cols(), b.cols());
    assert!(
        b.rows() == k && c.rows() == m && c.cols() == n,
        "gemm: shapes A {}×{}, B {}×{}, C {}×{} do not fit C = A·B",
        a.rows(),
        a.cols(),
        b.rows(),
        b.cols(),
        c.rows(),
        c.cols()
    );
    for i in 0..m {
        for j in 0..n {
            let old = if beta == 0.0 { 0.0 } else { beta * c.at(i, j) };
            c.set(i, j, old);
        }
    }
    if alpha == 0.0 {
        return;
    }
    for p0 in (0..k).step_by(KC) {
        for j0 in (0..n).step_by(NC) {
            let (p1, j1) = ((p0 + KC).min(k), (j0 + NC).min(n));
            for i in 0..m {
                for p in p0..p1 {
                    let a_ip = alpha * a.at(i, p);
                    for j in j0..j1 {
                        c.set(i, j, c.at(i, j) + a_ip * b.at(p, j));
                    }
                }
            }
        }
    }
}

/// `C = A·B + β·C` on row-major buffers: `a` is `m × k`, `b` is `k × n`, `c` is `m × n`.
pub fn gemm_nn(m: usize, n: usize, k: usize, a: &[f32], b: &[f32], c: &mut [f32], beta: f32) {
    gemm(
        1.0,
        MatRef::new(a, m, k),
        MatRef::new(b, k, n),
        beta,
        MatMut::new(c, m, n),
    );
}

/// `C = Aᵀ·B + β·C` on row-major buffers: `a` is stored `k × m`, `b` is `k × n`, `c` is `m × n`
/// (e.g. a weight gradient `dW = Xᵀ·dY`).
pub fn gemm_tn(m: usize, n: usize, k: usize, a: &[f32], b: &[f32], c: &mut [f32], beta: f32) {
    gemm(
        1.0,
        MatRef::new(a, k, m).t(),
        MatRef::new(b, k, n),
        beta,
        MatMut::new(c, m, n),
    );
}

/// `C = A·Bᵀ + β·C` on row-major buffers: `a` is `m × k`, `b` is stored `n × k`, `c` is `m × n`
/// (e.g. a linear layer's forward pass `Y = X·Wᵀ` with `W` stored `[out, in]` as in PyTorch).
pub fn gemm_nt(m: usize, n: usize, k: usize, a: &[f32], b: &[f32], c: &mut [f32], beta: f32) {
    gemm(
        1.0,
        MatRef::new(a, m, k),
        MatRef::new(b, n, k).t(),
        beta,
        MatMut::new(c, m, n),
    );
}
