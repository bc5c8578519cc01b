//! Principal component analysis (PCA): the eigenvectors of the covariance matrix as new axes.
//!
//! Chapter 2 uses it to show what eigenvectors are good for ("dimensionality reduction", as the
//! tutorial says): a cloud of 3-D points that is really almost flat is described by two numbers per
//! point with little loss.
//!
//! For data `X`, `[N, F]` (N points, F features):
//! 1. centre it: `Xc = X − mean` (the mean of each feature, over the N points);
//! 2. the covariance matrix `S = Xcᵀ·Xc / (N − 1)`, `[F, F]`, symmetric: `S_ij` says how features i
//!    and j vary together, `S_ii` is feature i's variance;
//! 3. its eigenpairs (Jacobi, [`super::eigen::jacobi_eigen`]), largest eigenvalue first. Eigenvector j is
//!    the direction of the j-th most variance, and eigenvalue j is the variance of the data along it;
//! 4. keep the first k eigenvectors as the rows of `W`, `[k, F]`, and project: `Z = Xc·Wᵀ`, `[N, k]`.
//!
//! The *explained variance ratio* of component j is `λⱼ / Σᵢ λᵢ`: the share of the total variance that
//! this axis keeps. Over all F components the ratios sum to 1 (the trace of S is the sum of its
//! eigenvalues).
//!
//! `S` is computed by [`super::gemm_tn`] (the crate's one matrix-product routine) after centring, which
//! removes the large common offset that would otherwise cancel badly in f32; the means are summed in
//! f64. What it leaves out: whitening, PCA by SVD (better conditioned when F is large), incremental or
//! randomised PCA for data that does not fit in memory.

use super::eigen::jacobi_eigen;
use super::gemm_tn;
use crate::error::{Error, Result};
use crate::tensor::Tensor;

/// A fitted PCA: the mean, the principal axes and how much variance each one keeps.
#[derive(Clone, Debug)]
pub struct Pca {
    /// The mean of each feature, `[F]`.
    pub mean: Vec<f32>,
    /// The principal axes as rows, `[k, F]`, each of unit length, most variance first. Each row's
    /// largest-magnitude entry is positive (a sign convention; −w is the same axis).
    pub components: Tensor,
    /// The variance of the data along each kept axis (the covariance eigenvalues), `[k]`.
    pub explained_variance: Vec<f32>,
    /// Each kept axis's share of the total variance, `λⱼ / Σᵢ λᵢ` over all F eigenvalues, `[k]`.
    pub explained_variance_ratio: Vec<f32>,
    /// All F eigenvalues of the covariance matrix, largest first (including the dropped ones).
    pub all_variances: Vec<f32>,
}

/// The covariance matrix `Xcᵀ·Xc / (N − 1)`, `[F, F]`, of `x`, `[N, F]`, and the feature means.
/// With N = 1 it divides by 1 instead of 0 (the covariance of one point is 0). Panics if `x` is not
/// 2-D or has no rows.
pub fn covariance(x: &Tensor) -> (Tensor, Vec<f32>) {
    assert!(
        x.ndim() == 2 && x.dim(0) > 0,
        "linalg::covariance: needs data [N, F] with N ≥ 1, got shape {:?}",
        x.shape()
    );
    let (n, f) = (x.dim(0), x.dim(1));
    let mut sums = vec![0.0f64; f];
    for row in x.data().chunks_exact(f) {
        for (s, &v) in sums.iter_mut().zip(row) {
            *s += f64::from(v);
        }
    }
    let mean: Vec<f32> = sums.iter().map(|s| (s / n as f64) as f32).collect();
    let mut centred = x.data().to_vec();
    for row in centred.chunks_exact_mut(f) {
        for (v, &m) in row.iter_mut().zip(&mean) {
            *v -= m;
        }
    }
    // S = Xcᵀ·Xc: Xc is stored [N, F], so this is "Aᵀ·B" with A = B = Xc and inner dimension N.
    let mut s = Tensor::zeros(&[f, f]);
    gemm_tn(f, f, n, &centred, &centred, s.data_mut(), 0.0);
    let divisor = (n as f32 - 1.0).max(1.0);
    (s.map(|v| v / divisor), mean)
}

impl Pca {
    /// Fits a PCA with `k` components to `x`, `[N, F]`.
    ///
    /// Errors if there are fewer than 2 points, `k` is 0 or more than F, or `x` has non-finite values.
    /// Panics if `x` is not 2-D.
    pub fn fit(x: &Tensor, k: usize) -> Result<Pca> {
        assert_eq!(
            x.ndim(),
            2,
            "Pca::fit: needs data [N, F], got shape {:?}",
            x.shape()
        );
        let (n, f) = (x.dim(0), x.dim(1));
        if n < 2 {
            return Err(Error::data(format!(
                "Pca::fit: needs at least 2 points to measure variance, got {n}"
            )));
        }
        if k == 0 || k > f {
            return Err(Error::data(format!(
                "Pca::fit: asked for {k} components of {f}-dimensional data; choose 1 ≤ k ≤ {f}"
            )));
        }
        if !x.all_finite() {
            return Err(Error::data(
                "Pca::fit: the data contains NaN or infinity; clean or drop those rows first",
            ));
        }
        let (s, mean) = covariance(x);
        let eigen = jacobi_eigen(&s)?;
        // Covariance eigenvalues are ≥ 0 in exact arithmetic; clamp rounding noise below zero.
        let variances: Vec<f32> = eigen.values.iter().map(|&v| v.max(0.0)).collect();
        let total: f64 = variances.iter().map(|&v| f64::from(v)).sum();
        let ratio = |v: f32| {
            if total > 0.0 {
                (f64::from(v) / total) as f32
            } else {
                0.0
            }
        };
        let mut components = Tensor::zeros(&[k, f]);
        for j in 0..k {
            components.row_mut(j).copy_from_slice(&eigen.vector(j));
        }
        Ok(Pca {
            mean,
            components,
            explained_variance: variances[..k].to_vec(),
            explained_variance_ratio: variances[..k].iter().map(|&v| ratio(v)).collect(),
            all_variances: variances,
        })
    }

    /// Projects `x`, `[N, F]`, onto the principal axes: `Z = (X − mean)·Wᵀ`, `[N, k]`.
    /// Panics if `x` does not have F columns.
    pub fn transform(&self, x: &Tensor) -> Tensor {
        let (k, f) = (self.components.dim(0), self.components.dim(1));
        assert!(
            x.ndim() == 2 && x.dim(1) == f,
            "Pca::transform: fitted on [N, {f}] data, got shape {:?}",
            x.shape()
        );
        let n = x.dim(0);
        let mut centred = x.data().to_vec();
        for row in centred.chunks_exact_mut(f) {
            for (v, &m) in row.iter_mut().zip(&self.mean) {
                *v -= m;
            }
        }
        let mut z = Tensor::zeros(&[n, k]);
        super::gemm_nt(n, k, f, &centred, self.components.data(), z.data_mut(), 0.0);
        z
    }

    /// Maps projected points `Z`, `[N, k]`, back to the original space: `Z·W + mean`, `[N, F]`. With
    /// k < F this is the closest point on the k-dimensional plane: what the reduction kept.
    pub fn inverse_transform(&self, z: &Tensor) -> Tensor {
        let (k, f) = (self.components.dim(0), self.components.dim(1));
        assert!(
            z.ndim() == 2 && z.dim(1) == k,
            "Pca::inverse_transform: {k} components, got shape {:?}",
            z.shape()
        );
        let n = z.dim(0);
        let mut x = Tensor::zeros(&[n, f]);
        super::gemm_nn(n, f, k, z.data(), self.components.data(), x.data_mut(), 0.0);
        for row in x.data_mut().chunks_exact_mut(f) {
            for (v, &m) in row.iter_mut().zip(&self.mean) {
                *v += m;
            }
        }
        x
    }
}
