//! Linear systems: LU decomposition with partial pivoting, and with it `solve`, the determinant and
//! the inverse.
//!
//! Chapter 2 uses it to solve `A·x = b`. Gaussian elimination, written down as a factorisation:
//! `P·A = L·U`, where `P` reorders the rows, `L` is lower triangular with ones on its diagonal (the
//! multipliers of the elimination) and `U` is upper triangular (what is left after it). Then
//! - `A·x = b` becomes two triangular solves: `L·y = P·b` (forward), `U·x = y` (backward);
//! - `det(A) = ±Πᵢ Uᵢᵢ`, the sign flipping once per row swap;
//! - `A⁻¹` is `solve` applied to each column of the identity.
//!
//! **Partial pivoting**: at step k the row with the largest `|aᵢₖ|` (i ≥ k) is swapped up to be the
//! pivot, so every multiplier has `|lᵢₖ| ≤ 1` and rounding errors are not amplified. Without it,
//! `[[1e-8, 1], [1, 1]]` loses every digit in f32.
//!
//! **Singular matrices.** A pivot that is zero — or so small that rounding alone could have produced
//! it, `|Uₖₖ| ≤ n·ε·max|aᵢⱼ|` with ε = `f32::EPSILON` (the size of the perturbation a backward-stable
//! LU is allowed to make) — means the columns of A are (numerically) linearly dependent. Then
//! [`Lu::solve`] and [`Lu::inverse`] return an [`Error`] that says so, instead of dividing by ~0 and
//! handing back huge numbers or NaN. The determinant is still returned (0, or a tiny number made of
//! rounding errors); [`Lu::singular_pivot`] tells which step failed.
//!
//! **Precision.** The factors are stored in f32 (as LAPACK's `sgetrf` does); the substitutions
//! accumulate their sums in f64, and the determinant multiplies the pivots in f64 so that it only
//! overflows when the true determinant does not fit an f32.
//!
//! What it leaves out: blocked (cache-friendly) LU, iterative refinement, condition-number estimates,
//! least squares for non-square systems.

use crate::error::{Error, Result};
use crate::tensor::Tensor;

/// The LU decomposition `P·A = L·U` of a square matrix (see the module docs).
#[derive(Clone, Debug)]
pub struct Lu {
    n: usize,
    /// `L` strictly below the diagonal (its unit diagonal is not stored), `U` on and above it;
    /// row-major `n × n`.
    factors: Vec<f32>,
    /// Row `i` of `P·A` is row `permutation[i]` of `A`.
    permutation: Vec<usize>,
    /// `+1` for an even number of row swaps, `−1` for an odd number (the determinant of `P`).
    sign: f32,
    /// Pivots with `|Uₖₖ|` at or below this count as zero.
    threshold: f32,
}

/// Panics unless `a` is a square 2-D tensor, naming the shape and the operation.
fn square_size(a: &Tensor, operation: &str) -> usize {
    assert!(
        a.ndim() == 2 && a.dim(0) == a.dim(1),
        "linalg::{operation}: needs a square matrix [n, n], got shape {:?}",
        a.shape()
    );
    a.dim(0)
}

/// Factorises the square matrix `a` as `P·A = L·U` by Gaussian elimination with partial pivoting.
///
/// Always succeeds for finite input, singular or not (a singular matrix simply has a zero pivot; see
/// [`Lu::singular_pivot`]). Returns an error if `a` contains NaN or infinity. Panics if `a` is not
/// square.
pub fn lu(a: &Tensor) -> Result<Lu> {
    let n = square_size(a, "lu");
    if let Some(bad) = a.data().iter().position(|v| !v.is_finite()) {
        return Err(Error::data(format!(
            "linalg::lu: the matrix has {} at row {}, column {}; LU needs finite numbers \
             (check the data that filled the matrix)",
            a.data()[bad],
            bad / n,
            bad % n
        )));
    }
    let largest = a.data().iter().fold(0.0f32, |m, v| m.max(v.abs()));
    let mut f = a.data().to_vec();
    let mut permutation: Vec<usize> = (0..n).collect();
    let mut sign = 1.0f32;
    for k in 0..n {
        // Choose the pivot: the largest |a_ik| in column k, on or below the diagonal.
        let mut pivot_row = k;
        for i in k + 1..n {
            if f[i * n + k].abs() > f[pivot_row * n + k].abs() {
                pivot_row = i;
            }
        }
        if pivot_row != k {
            for j in 0..n {
                f.swap(k * n + j, pivot_row * n + j);
            }
            permutation.swap(k, pivot_row);
            sign = -sign;
        }
        let pivot = f[k * n + k];
        if pivot == 0.0 {
            // The whole column is zero below the diagonal: nothing to eliminate (and dividing by the
            // pivot would make NaN). The matrix is singular; U keeps its zero pivot.
            continue;
        }
        // Eliminate column k from the rows below: row_i ← row_i − l_ik · row_k, and store l_ik
        // where the eliminated zero would be.
        let (upper_rows, lower_rows) = f.split_at_mut((k + 1) * n);
        let pivot_row_values = &upper_rows[k * n..];
        for row in lower_rows.chunks_exact_mut(n) {
            let multiplier = row[k] / pivot;
            row[k] = multiplier;
            if multiplier != 0.0 {
                for (x, &u) in row[k + 1..].iter_mut().zip(&pivot_row_values[k + 1..]) {
                    *x -= multiplier * u;
                }
            }
        }
    }
    Ok(Lu {
        n,
        factors: f,
        permutation,
        sign,
        threshold: n as f32 * f32::EPSILON * largest,
    })
}

impl Lu {
    /// The size n of the `n × n` matrix.
    pub fn size(&self) -> usize {
        self.n
    }

    /// The row permutation: row `i` of `P·A` is row `permutation()[i]` of `A`.
    pub fn permutation(&self) -> &[usize] {
        &self.permutation
    }

    /// `L`, `[n, n]`: unit lower triangular (the multipliers of the elimination).
    pub fn lower(&self) -> Tensor {
        let n = self.n;
        Tensor::from_fn(&[n, n], |index| {
            let (i, j) = (index / n, index % n);
            match i.cmp(&j) {
                std::cmp::Ordering::Greater => self.factors[index],
                std::cmp::Ordering::Equal => 1.0,
                std::cmp::Ordering::Less => 0.0,
            }
        })
    }

    /// `U`, `[n, n]`: upper triangular.
    pub fn upper(&self) -> Tensor {
        let n = self.n;
        Tensor::from_fn(&[n, n], |index| {
            if index / n <= index % n {
                self.factors[index]
            } else {
                0.0
            }
        })
    }

    /// `P·A`: the rows of `a` in pivot order (for checking `P·A = L·U`). Panics if `a` is not `n × n`.
    pub fn permute_rows(&self, a: &Tensor) -> Tensor {
        assert_eq!(
            a.shape(),
            [self.n, self.n],
            "Lu::permute_rows: the factorisation is {0}×{0}, the matrix has shape {1:?}",
            self.n,
            a.shape()
        );
        a.select_rows(&self.permutation)
    }

    /// The first step whose pivot counts as zero (see the module docs), or `None` when the matrix is
    /// (numerically) invertible.
    pub fn singular_pivot(&self) -> Option<usize> {
        (0..self.n).find(|&k| self.factors[k * self.n + k].abs() <= self.threshold)
    }

    /// `det(A) = sign(P) · Πₖ Uₖₖ`, multiplied in f64. For a singular matrix this is 0 or a tiny
    /// number made of rounding errors; it becomes ±∞ only if |det(A)| exceeds the f32 range.
    pub fn determinant(&self) -> f32 {
        let product: f64 = (0..self.n)
            .map(|k| f64::from(self.factors[k * self.n + k]))
            .product();
        (f64::from(self.sign) * product) as f32
    }

    /// The error returned when a singular matrix is asked to solve something.
    fn singular_error(&self, k: usize, operation: &str) -> Error {
        Error::data(format!(
            "linalg::{operation}: the {n}×{n} matrix is singular — pivot {k} of its LU decomposition \
             is {pivot:e}, at or below the threshold n·ε·max|aᵢⱼ| = {threshold:e}. Its columns are \
             linearly dependent, so A·x = b has no solution or infinitely many. Look for a row or \
             column that is a multiple (or combination) of others.",
            n = self.n,
            pivot = self.factors[k * self.n + k],
            threshold = self.threshold
        ))
    }

    /// Solves `A·x = b` by forward substitution (`L·y = P·b`) and back substitution (`U·x = y`),
    /// both accumulating in f64. Returns an error if the matrix is singular or `b` is not finite;
    /// panics if `b.len() != n`.
    pub fn solve(&self, b: &[f32]) -> Result<Vec<f32>> {
        let n = self.n;
        assert_eq!(
            b.len(),
            n,
            "Lu::solve: the matrix is {n}×{n}, the right-hand side has length {}",
            b.len()
        );
        if let Some(k) = self.singular_pivot() {
            return Err(self.singular_error(k, "solve"));
        }
        if let Some(bad) = b.iter().position(|v| !v.is_finite()) {
            return Err(Error::data(format!(
                "linalg::solve: the right-hand side has {} at index {bad}; it must be finite",
                b[bad]
            )));
        }
        // Forward: y_i = (P·b)_i − Σ_{j<i} L_ij · y_j   (L has ones on its diagonal).
        let mut y = vec![0.0f64; n];
        for i in 0..n {
            let row = &self.factors[i * n..i * n + i];
            let sum: f64 = row.iter().zip(&y).map(|(&l, &yj)| f64::from(l) * yj).sum();
            y[i] = f64::from(b[self.permutation[i]]) - sum;
        }
        // Backward: x_i = (y_i − Σ_{j>i} U_ij · x_j) / U_ii.
        let mut x = vec![0.0f64; n];
        for i in (0..n).rev() {
            let row = &self.factors[i * n + i + 1..(i + 1) * n];
            let sum: f64 = row
                .iter()
                .zip(&x[i + 1..])
                .map(|(&u, &xj)| f64::from(u) * xj)
                .sum();
            x[i] = (y[i] - sum) / f64::from(self.factors[i * n + i]);
        }
        Ok(x.into_iter().map(|v| v as f32).collect())
    }

    /// `A⁻¹`, `[n, n]`: column j is the solution of `A·x = eⱼ`. Returns an error if A is singular.
    pub fn inverse(&self) -> Result<Tensor> {
        let n = self.n;
        if let Some(k) = self.singular_pivot() {
            return Err(self.singular_error(k, "inverse"));
        }
        let mut inverse = Tensor::zeros(&[n, n]);
        let mut unit = vec![0.0f32; n];
        for j in 0..n {
            unit[j] = 1.0;
            let column = self.solve(&unit)?;
            unit[j] = 0.0;
            for (i, &v) in column.iter().enumerate() {
                inverse.data_mut()[i * n + j] = v;
            }
        }
        Ok(inverse)
    }
}

/// Solves `A·x = b` (LU with partial pivoting). Errors for a singular or non-finite `A`.
pub fn solve(a: &Tensor, b: &[f32]) -> Result<Vec<f32>> {
    lu(a)?.solve(b)
}

/// `det(A)` (through LU). Errors only for non-finite entries; a singular matrix gives 0 (or a tiny
/// rounding residue).
pub fn determinant(a: &Tensor) -> Result<f32> {
    Ok(lu(a)?.determinant())
}

/// `A⁻¹` (through LU). Errors for a singular or non-finite `A`.
pub fn inverse(a: &Tensor) -> Result<Tensor> {
    lu(a)?.inverse()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_system() {
        // 2x + y = 5, x + 3y = 10  ⇒  x = 1, y = 3.
        let a = Tensor::from_rows(&[&[2.0, 1.0], &[1.0, 3.0]]);
        assert_eq!(solve(&a, &[5.0, 10.0]).unwrap(), vec![1.0, 3.0]);
        assert_eq!(determinant(&a).unwrap(), 5.0);
    }

    #[test]
    fn pivoting_rescues_a_tiny_leading_entry() {
        // Without a row swap, the multiplier 1e8 wipes out the second row in f32.
        let a = Tensor::from_rows(&[&[1e-8, 1.0], &[1.0, 1.0]]);
        let x = solve(&a, &[1.0, 2.0]).unwrap();
        assert!(
            (x[0] - 1.0).abs() < 1e-6 && (x[1] - 1.0).abs() < 1e-6,
            "{x:?}"
        );
    }

    #[test]
    fn singular_matrix_is_an_error_not_nan() {
        let a = Tensor::from_rows(&[&[1.0, 2.0], &[2.0, 4.0]]);
        let error = solve(&a, &[1.0, 1.0]).unwrap_err().to_string();
        assert!(error.contains("singular"), "{error}");
        assert!(inverse(&a).is_err());
        assert_eq!(determinant(&a).unwrap(), 0.0);
        let nan = Tensor::from_rows(&[&[1.0, f32::NAN], &[0.0, 1.0]]);
        assert!(
            lu(&nan)
                .unwrap_err()
                .to_string()
                .contains("row 0, column 1")
        );
    }
}
