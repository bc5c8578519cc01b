//! The textbook matrix product, three nested loops: `C[i][j] = Σₚ A[i][p] · B[p][j]`.
//!
//! It is slow (it re-reads B from memory for every row of A) and obviously correct. Every fast kernel
//! in [`mod@super::gemm`] is tested against it, on awkward shapes, before it is ever timed.
//! The sum is accumulated in `f64`, so it is also *more* accurate than any f32 kernel: differences in
//! tests measure the fast kernel's rounding, not this one's.

use super::gemm::{MatMut, MatRef};

/// `C = α·A·B + β·C`, computed element by element. When `β == 0`, C's old values are ignored (even
/// NaN), as BLAS specifies. Panics if the shapes do not fit together.
pub fn gemm(alpha: f32, a: MatRef<'_>, b: MatRef<'_>, beta: f32, mut c: MatMut<'_>) {
    assert!(
        a.cols() == b.rows() && c.rows() == a.rows() && c.cols() == b.cols(),
        "reference::gemm: shapes A {}×{}, B {}×{}, C {}×{} do not fit C = A·B",
        a.rows(),
        a.cols(),
        b.rows(),
        b.cols(),
        c.rows(),
        c.cols()
    );
    for i in 0..a.rows() {
        for j in 0..b.cols() {
            let mut sum = 0.0f64;
            for p in 0..a.cols() {
                sum += f64::from(a.at(i, p)) * f64::from(b.at(p, j));
            }
            let old = if beta == 0.0 {
                0.0
            } else {
                f64::from(beta) * f64::from(c.at(i, j))
            };
            c.set(i, j, (f64::from(alpha) * sum + old) as f32);
        }
    }
}

/// `A · B` for row-major `a` (`m × k`) and `b` (`k × n`), returned as a new row-major `m × n` buffer.
pub fn matmul(a: &[f32], b: &[f32], m: usize, k: usize, n: usize) -> Vec<f32> {
    let mut c = vec![0.0; m * n];
    gemm(
        1.0,
        MatRef::new(a, m, k),
        MatRef::new(b, k, n),
        0.0,
        MatMut::new(&mut c, m, n),
    );
    c
}
