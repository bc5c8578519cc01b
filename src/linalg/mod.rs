//! Chapter 2 (线性代数基础, linear algebra): vectors, matrices, the matrix product, and the fast GEMM
//! that every layer of the crate runs on.
//!
//! - [`mod@reference`]: the textbook triple-loop matrix product — slow, obviously right, the yardstick
//!   every fast kernel is tested against.
//! - [`mod@gemm`]: the general matrix multiply `C = α·A·B + β·C` over strided views ([`MatRef`],
//!   [`MatMut`]), the one routine through which all heavy math in the crate goes.
//! - [`mod@vector`]: vector operations on slices (add, dot, norm, axpy, cosine, …).
//! - [`mod@solve`]: LU decomposition with partial pivoting; solve, determinant, inverse.
//! - [`mod@eigen`]: eigenpairs by power iteration (with deflation) and by the Jacobi algorithm.
//! - [`mod@pca`]: principal component analysis on top of Jacobi.

pub mod eigen;
pub mod gemm;
pub mod pca;
pub mod reference;
pub mod solve;
pub mod vector;

pub use gemm::{MatMut, MatRef, gemm, gemm_nn, gemm_nt, gemm_tn};

use crate::tensor::Tensor;

/// The matrix product of two 2-D tensors: `[m, k] · [k, n] → [m, n]` (through [`gemm()`]).
/// Panics if the inner dimensions differ.
pub fn matmul(a: &Tensor, b: &Tensor) -> Tensor {
    assert!(
        a.ndim() == 2 && b.ndim() == 2 && a.dim(1) == b.dim(0),
        "linalg::matmul: cannot multiply shapes {:?} and {:?} (needs [m, k] · [k, n])",
        a.shape(),
        b.shape()
    );
    let (m, k, n) = (a.dim(0), a.dim(1), b.dim(1));
    let mut c = Tensor::zeros(&[m, n]);
    gemm_nn(m, n, k, a.data(), b.data(), c.data_mut(), 0.0);
    c
}
