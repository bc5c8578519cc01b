//! Eigenvalues and eigenvectors: power iteration (with deflation) and the Jacobi eigenvalue algorithm.
//!
//! Chapter 2 uses them, and [`super::pca`] builds on Jacobi. An eigenvector `v` of a square matrix `A` is
//! a direction that `A` only stretches: `A·v = λ·v`, and the stretch factor `λ` is its eigenvalue.
//!
//! - [`power_iteration`]: multiply a random vector by `A` again and again (normalising each time). The
//!   component along the eigenvector with the largest |λ| grows fastest, so the vector turns towards it;
//!   the error shrinks like `|λ₂/λ₁|ᵗ`, fast when there is a clear *eigen-gap*, never when
//!   `|λ₂| = |λ₁|` (e.g. eigenvalues 2 and −2, or a rotation's complex pair) — then it returns an error
//!   instead of a wrong answer. Works for any square matrix with a single dominant real eigenvalue.
//! - [`power_iteration_deflated`]: the top `k` eigenpairs of a *symmetric* matrix, one after another:
//!   once `(λ₁, v₁)` is found, Hotelling's deflation `A ← A − λ₁·v₁·v₁ᵀ` moves λ₁ to 0 and leaves every
//!   other eigenpair alone (the eigenvectors of a symmetric matrix are orthogonal), so the next power
//!   iteration finds the next one (started orthogonal to the pairs already found, whose directions
//!   now have eigenvalue 0). Errors from each pair carry into the next: fine for a few pairs.
//! - [`jacobi_eigen`]: *all* eigenpairs of a symmetric matrix. Each Jacobi rotation (a rotation in the
//!   (p, q) plane) zeroes one off-diagonal pair `a_pq = a_qp`; sweeping over all pairs again and again
//!   drives the whole off-diagonal to zero (quadratically, once it is small). What is left on the
//!   diagonal are the eigenvalues, and the product of the rotations holds the eigenvectors:
//!   `A = V·Λ·Vᵀ`, the diagonalisation.
//!
//! **Precision.** Matrices come in and results go out as f32. Inside, the iteration vector of the
//! power method and the whole working copy of Jacobi are f64: these methods repeat thousands of small
//! updates, and f64 keeps their rounding far below f32's, so what comes out is accurate to f32
//! rounding of the true eigenpairs (the matrices here are small, so the f64 copy costs nothing).
//!
//! What it leaves out: non-symmetric matrices with complex eigenvalues (Hessenberg QR), generalised
//! eigenproblems, large sparse matrices (Lanczos/Arnoldi).

use crate::error::{Error, Result};
use crate::probability::Rng;
use crate::tensor::Tensor;

/// One eigenpair `A·v = λ·v` with `‖v‖ = 1`, found by [`power_iteration`].
#[derive(Clone, Debug, PartialEq)]
pub struct EigenPair {
    /// The eigenvalue λ.
    pub value: f32,
    /// The eigenvector v, of unit length; its largest-magnitude entry is made positive so the result
    /// does not depend on the random start (−v is an eigenvector as well).
    pub vector: Vec<f32>,
    /// How many multiplications by `A` it took to converge.
    pub iterations: usize,
}

/// Settings of [`power_iteration`].
#[derive(Clone, Copy, Debug)]
pub struct PowerIteration {
    /// Give up (with an error) after this many multiplications by `A`.
    pub max_iterations: usize,
    /// Converged when the residual `‖A·v − λ·v‖ ≤ tolerance · ‖A‖_F` (Frobenius norm). The default
    /// 10⁻⁶ is a few f32 rounding units: the accuracy f32 matrices allow.
    pub tolerance: f32,
    /// Seed of the random start vector.
    pub seed: u64,
}

impl Default for PowerIteration {
    fn default() -> PowerIteration {
        PowerIteration {
            max_iterations: 10_000,
            tolerance: 1e-6,
            seed: 0,
        }
    }
}

/// Panics unless `a` is a square 2-D tensor; returns n.
fn square_size(a: &Tensor, operation: &str) -> usize {
    assert!(
        a.ndim() == 2 && a.dim(0) == a.dim(1),
        "linalg::{operation}: needs a square matrix [n, n], got shape {:?}",
        a.shape()
    );
    a.dim(0)
}

/// An error unless every entry is finite.
fn check_finite(a: &Tensor, operation: &str) -> Result<()> {
    match a.data().iter().position(|v| !v.is_finite()) {
        None => Ok(()),
        Some(bad) => Err(Error::data(format!(
            "linalg::{operation}: the matrix has {} at flat index {bad}; eigenvalues need finite numbers",
            a.data()[bad]
        ))),
    }
}

/// An error unless `a` is symmetric up to f32 rounding: `|aᵢⱼ − aⱼᵢ| ≤ 10⁻⁵ · max|a|` (a product such
/// as `Xᵀ·X` computed by a SIMD kernel may differ in the last bits between the two triangles).
fn check_symmetric(a: &Tensor, n: usize, operation: &str) -> Result<()> {
    let data = a.data();
    let largest = data.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    let allowed = 1e-5 * largest;
    for i in 0..n {
        for j in i + 1..n {
            let (aij, aji) = (data[i * n + j], data[j * n + i]);
            if (aij - aji).abs() > allowed {
                return Err(Error::data(format!(
                    "linalg::{operation}: needs a symmetric matrix, but a[{i}][{j}] = {aij} and \
                     a[{j}][{i}] = {aji}; use power_iteration for a general matrix, or symmetrise \
                     it as (A + Aᵀ)/2 if the difference is rounding"
                )));
            }
        }
    }
    Ok(())
}

/// `A·v` for an f32 matrix and an f64 vector, accumulated in f64.
fn mat_vec(a: &[f32], n: usize, v: &[f64]) -> Vec<f64> {
    a.chunks_exact(n)
        .map(|row| row.iter().zip(v).map(|(&x, &y)| f64::from(x) * y).sum())
        .collect()
}

fn norm_f64(v: &[f64]) -> f64 {
    v.iter().map(|x| x * x).sum::<f64>().sqrt()
}

/// Flips `v` so that its largest-magnitude entry is positive (a sign convention; −v is as good as v).
fn fix_sign(v: &mut [f64]) {
    let largest = v
        .iter()
        .fold(0.0f64, |m, &x| if x.abs() > m.abs() { x } else { m });
    if largest < 0.0 {
        v.iter_mut().for_each(|x| *x = -*x);
    }
}

/// A random unit vector orthogonal to every vector in `found` (unit vectors, mutually orthogonal).
///
/// Deflation needs this: the deflated matrix has eigenvalue 0 along every eigenvector found so far, so
/// a start vector lying in their span would "converge" at once to λ = 0. Removing their components
/// from the start makes the next power iteration look only where the remaining eigenvectors are.
fn random_start(n: usize, found: &[EigenPair], rng: &mut Rng) -> Vec<f64> {
    loop {
        let mut v: Vec<f64> = (0..n).map(|_| f64::from(rng.normal(0.0, 1.0))).collect();
        let drawn = norm_f64(&v);
        for pair in found {
            let projection: f64 = v
                .iter()
                .zip(&pair.vector)
                .map(|(x, &q)| x * f64::from(q))
                .sum();
            v.iter_mut()
                .zip(&pair.vector)
                .for_each(|(x, &q)| *x -= projection * f64::from(q));
        }
        let length = norm_f64(&v);
        // Keep it unless almost all of it lay in the span of `found` (then draw again). When every
        // direction is found (found.len() == n), any vector will do: the matrix is ~0 by then.
        if length > 1e-3 * drawn || found.len() >= n || n == 0 {
            let length = if length > 0.0 { length } else { 1.0 };
            v.iter_mut().for_each(|x| *x /= length);
            return v;
        }
    }
}

/// The power method on an f32 matrix `a` (`n × n`) from the start vector `v` (unit length), with
/// residuals measured against `scale`.
fn power_iteration_scaled(
    a: &[f32],
    n: usize,
    settings: &PowerIteration,
    scale: f64,
    mut v: Vec<f64>,
) -> Result<EigenPair> {
    let allowed = f64::from(settings.tolerance) * scale;
    let mut residual = f64::INFINITY;
    for iteration in 1..=settings.max_iterations {
        let w = mat_vec(a, n, &v);
        // The Rayleigh quotient vᵀ·A·v (v has unit length) is the best estimate of λ for this v.
        let lambda: f64 = v.iter().zip(&w).map(|(x, y)| x * y).sum();
        residual = w
            .iter()
            .zip(&v)
            .map(|(wi, vi)| (wi - lambda * vi).powi(2))
            .sum::<f64>()
            .sqrt();
        if residual <= allowed {
            fix_sign(&mut v);
            return Ok(EigenPair {
                value: lambda as f32,
                vector: v.iter().map(|&x| x as f32).collect(),
                iterations: iteration,
            });
        }
        let length = norm_f64(&w);
        // (length == 0 means A·v = 0, an eigenpair with λ = 0, caught by the residual test above.)
        v = w.iter().map(|x| x / length).collect();
    }
    Err(Error::data(format!(
        "linalg::power_iteration: no convergence after {} iterations (residual ‖A·v − λ·v‖ = {residual:.3e}, \
         wanted ≤ {allowed:.3e}). The two largest eigenvalues probably have the same magnitude \
         (e.g. λ and −λ, or a complex pair as in a rotation), so no single direction wins. For a \
         symmetric matrix use jacobi_eigen, which has no such limit.",
        settings.max_iterations
    )))
}

/// The eigenpair of `a` with the largest |λ|, by the power method (see the module docs).
///
/// Errors if `a` has non-finite entries or the method does not converge within
/// `settings.max_iterations` (no unique dominant eigenvalue). Panics if `a` is not square.
pub fn power_iteration(a: &Tensor, settings: &PowerIteration) -> Result<EigenPair> {
    let n = square_size(a, "power_iteration");
    check_finite(a, "power_iteration")?;
    let start = random_start(n, &[], &mut Rng::new(settings.seed));
    power_iteration_scaled(a.data(), n, settings, f64::from(a.norm()), start)
}

/// The `k` eigenpairs of the symmetric matrix `a` with the largest |λ|, in that order, by power
/// iteration and Hotelling's deflation `A ← A − λ·v·vᵀ` (see the module docs).
///
/// Each power iteration starts from a random vector with the eigenvectors found so far projected out
/// (see the module docs), and its residual `‖A·v − λ·v‖` is measured against the *original* `a`'s
/// scale. Errors if `a` is not
/// symmetric or not finite, or a power iteration does not converge (two remaining eigenvalues of equal
/// magnitude). Panics if `a` is not square or `k > n`.
pub fn power_iteration_deflated(
    a: &Tensor,
    k: usize,
    settings: &PowerIteration,
) -> Result<Vec<EigenPair>> {
    let n = square_size(a, "power_iteration_deflated");
    assert!(
        k <= n,
        "linalg::power_iteration_deflated: asked for {k} eigenpairs of a {n}×{n} matrix"
    );
    check_finite(a, "power_iteration_deflated")?;
    check_symmetric(a, n, "power_iteration_deflated")?;
    let scale = f64::from(a.norm());
    let mut deflated = a.data().to_vec();
    let mut pairs = Vec::with_capacity(k);
    let mut rng = Rng::new(settings.seed);
    for _ in 0..k {
        let start = random_start(n, &pairs, &mut rng);
        let pair = power_iteration_scaled(&deflated, n, settings, scale, start)?;
        // A ← A − λ·v·vᵀ: the found direction now has eigenvalue 0; the others are untouched.
        for (i, row) in deflated.chunks_exact_mut(n).enumerate() {
            let factor = pair.value * pair.vector[i];
            for (x, &vj) in row.iter_mut().zip(&pair.vector) {
                *x -= factor * vj;
            }
        }
        pairs.push(pair);
    }
    Ok(pairs)
}

/// All eigenpairs of a symmetric matrix, from [`jacobi_eigen`]: `A = V·diag(values)·Vᵀ`.
#[derive(Clone, Debug)]
pub struct SymmetricEigen {
    /// The eigenvalues, largest first.
    pub values: Vec<f32>,
    /// `V`, `[n, n]`: column j is the unit eigenvector of `values[j]` (numpy's `eigh` layout). Each
    /// column's largest-magnitude entry is positive. The columns are orthonormal: `Vᵀ·V = I`.
    pub vectors: Tensor,
    /// How many sweeps over all (p, q) pairs the algorithm needed.
    pub sweeps: usize,
}

impl SymmetricEigen {
    /// Eigenvector j (column j of [`SymmetricEigen::vectors`]).
    pub fn vector(&self, j: usize) -> Vec<f32> {
        let n = self.values.len();
        assert!(
            j < n,
            "SymmetricEigen::vector: index {j} out of range for {n} eigenpairs"
        );
        (0..n).map(|i| self.vectors.data()[i * n + j]).collect()
    }
}

/// The most sweeps [`jacobi_eigen`] makes; convergence is quadratic, so real matrices need < 15.
const MAX_SWEEPS: usize = 100;

/// All eigenvalues and eigenvectors of the symmetric matrix `a`, by the cyclic Jacobi algorithm (see
/// the module docs), computed on an f64 copy of `a`.
///
/// Stops when the off-diagonal norm `√(Σ_{p≠q} a_pq²)` is at most 10⁻¹⁴·‖A‖_F (f64 rounding level).
/// Errors if `a` is not symmetric (up to f32 rounding; the two triangles are averaged) or not finite.
/// Panics if `a` is not square.
pub fn jacobi_eigen(a: &Tensor) -> Result<SymmetricEigen> {
    let n = square_size(a, "jacobi_eigen");
    check_finite(a, "jacobi_eigen")?;
    check_symmetric(a, n, "jacobi_eigen")?;
    // Working copy in f64, symmetrised: (A + Aᵀ)/2 removes rounding differences between the triangles.
    let mut m: Vec<f64> = (0..n * n)
        .map(|index| {
            let (i, j) = (index / n, index % n);
            0.5 * (f64::from(a.data()[i * n + j]) + f64::from(a.data()[j * n + i]))
        })
        .collect();
    let mut v: Vec<f64> = (0..n * n)
        .map(|index| if index / n == index % n { 1.0 } else { 0.0 })
        .collect();
    let frobenius = m.iter().map(|x| x * x).sum::<f64>().sqrt();
    let off_diagonal = |m: &[f64]| -> f64 {
        let mut sum = 0.0;
        for p in 0..n {
            for q in 0..n {
                if p != q {
                    sum += m[p * n + q] * m[p * n + q];
                }
            }
        }
        sum.sqrt()
    };
    let mut sweeps = 0;
    while off_diagonal(&m) > 1e-14 * frobenius {
        if sweeps == MAX_SWEEPS {
            return Err(Error::data(format!(
                "linalg::jacobi_eigen: no convergence after {MAX_SWEEPS} sweeps \
                 (off-diagonal norm {:.3e}); this should not happen for a finite symmetric matrix — \
                 please report it with the matrix",
                off_diagonal(&m)
            )));
        }
        sweeps += 1;
        for p in 0..n {
            for q in p + 1..n {
                rotate(&mut m, &mut v, n, p, q);
            }
        }
    }
    // Sort by eigenvalue, largest first, and round to f32.
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&i, &j| m[j * n + j].total_cmp(&m[i * n + i]));
    let values = order.iter().map(|&i| m[i * n + i] as f32).collect();
    let mut vectors = Tensor::zeros(&[n, n]);
    for (column, &source) in order.iter().enumerate() {
        let mut eigenvector: Vec<f64> = (0..n).map(|i| v[i * n + source]).collect();
        fix_sign(&mut eigenvector);
        for (i, &x) in eigenvector.iter().enumerate() {
            vectors.data_mut()[i * n + column] = x as f32;
        }
    }
    Ok(SymmetricEigen {
        values,
        vectors,
        sweeps,
    })
}

/// One Jacobi rotation: `M ← Jᵀ·M·J` with `J` the rotation in the (p, q) plane chosen so that the new
/// `m_pq = 0`, and `V ← V·J` (V collects the rotations; its columns become the eigenvectors).
///
/// With `c = cos θ`, `s = sin θ`, `t = tan θ`, the new `m_pq = (c² − s²)·m_pq + c·s·(m_pp − m_qq)`.
/// Setting it to 0 gives `t² + 2τ·t − 1 = 0` with `τ = (m_qq − m_pp) / (2·m_pq)`; we take the smaller
/// root `t = sign(τ) / (|τ| + √(1 + τ²))` (|θ| ≤ π/4, the stable choice that moves M the least).
fn rotate(m: &mut [f64], v: &mut [f64], n: usize, p: usize, q: usize) {
    let apq = m[p * n + q];
    if apq == 0.0 {
        return;
    }
    let tau = (m[q * n + q] - m[p * n + p]) / (2.0 * apq);
    let t = if tau >= 0.0 { 1.0 } else { -1.0 } / (tau.abs() + (1.0 + tau * tau).sqrt());
    let c = 1.0 / (1.0 + t * t).sqrt();
    let s = t * c;
    // Columns p and q: M·J.
    for k in 0..n {
        let (mkp, mkq) = (m[k * n + p], m[k * n + q]);
        m[k * n + p] = c * mkp - s * mkq;
        m[k * n + q] = s * mkp + c * mkq;
    }
    // Rows p and q: Jᵀ·(M·J).
    for k in 0..n {
        let (mpk, mqk) = (m[p * n + k], m[q * n + k]);
        m[p * n + k] = c * mpk - s * mqk;
        m[q * n + k] = s * mpk + c * mqk;
    }
    // Exactly zero by construction; write it so rounding does not leave a residue.
    m[p * n + q] = 0.0;
    m[q * n + p] = 0.0;
    for k in 0..n {
        let (vkp, vkq) = (v[k * n + p], v[k * n + q]);
        v[k * n + p] = c * vkp - s * vkq;
        v[k * n + q] = s * vkp + c * vkq;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_by_two() {
        // [[2, 1], [1, 2]] has eigenvalues 3 (along [1, 1]) and 1 (along [1, −1]).
        let a = Tensor::from_rows(&[&[2.0, 1.0], &[1.0, 2.0]]);
        let jacobi = jacobi_eigen(&a).unwrap();
        assert!((jacobi.values[0] - 3.0).abs() < 1e-6 && (jacobi.values[1] - 1.0).abs() < 1e-6);
        let top = power_iteration(&a, &PowerIteration::default()).unwrap();
        assert!((top.value - 3.0).abs() < 1e-5, "{top:?}");
        let h = std::f32::consts::FRAC_1_SQRT_2;
        assert!((top.vector[0] - h).abs() < 1e-5 && (top.vector[1] - h).abs() < 1e-5);
    }

    #[test]
    fn deflation_does_not_stop_at_a_found_direction() {
        // Start vector of seed 0 made the first eigenvector, on purpose: the second run must still
        // find λ₂ instead of the 0 that deflation left along that direction.
        let mut rng = Rng::new(0);
        let start: Vec<f32> = (0..2).map(|_| rng.normal(0.0, 1.0)).collect();
        let q1 = crate::linalg::vector::normalized(&start).unwrap();
        let q2 = [-q1[1], q1[0]];
        let (l1, l2) = (-10.0f32, -6.0f32);
        let a = Tensor::from_fn(&[2, 2], |i| {
            let (r, c) = (i / 2, i % 2);
            l1 * q1[r] * q1[c] + l2 * q2[r] * q2[c]
        });
        let pairs = power_iteration_deflated(&a, 2, &PowerIteration::default()).unwrap();
        assert!((pairs[0].value - l1).abs() < 1e-4, "{pairs:?}");
        assert!((pairs[1].value - l2).abs() < 1e-4, "{pairs:?}");
    }

    #[test]
    fn no_dominant_eigenvalue_is_an_error() {
        // Eigenvalues +1 and −1: the power method flips forever between two directions.
        let a = Tensor::from_rows(&[&[0.0, 1.0], &[1.0, 0.0]]);
        let settings = PowerIteration {
            max_iterations: 200,
            ..PowerIteration::default()
        };
        let error = power_iteration(&a, &settings).unwrap_err().to_string();
        assert!(error.contains("same magnitude"), "{error}");
    }

    #[test]
    fn asymmetric_input_to_jacobi_is_an_error() {
        let a = Tensor::from_rows(&[&[1.0, 2.0], &[0.0, 1.0]]);
        assert!(
            jacobi_eigen(&a)
                .unwrap_err()
                .to_string()
                .contains("symmetric")
        );
    }
}
