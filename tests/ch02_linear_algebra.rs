//! Chapter 2: the tutorial's two results exactly, and properties of every linear-algebra routine on
//! random inputs (proptest): vector identities, LU solve / determinant / inverse, eigenpairs from
//! Jacobi and from power iteration, PCA.
//!
//! Tolerances, and why. f32 has a unit roundoff ε ≈ 6·10⁻⁸ (`f32::EPSILON` = 1.2·10⁻⁷ is 2ε).
//! - Vector identities: sums are accumulated in f64, so results are exact up to one f32 rounding of
//!   each input product; we allow 10⁻⁵ relative to the sizes involved.
//! - LU with partial pivoting is backward stable: the computed x solves (A + E)·x = b with
//!   ‖E‖ ≲ n·ε·g·‖A‖ (g, the growth factor, is small in practice), whatever A's condition number. So
//!   the relative residual ‖A·x − b‖ / (‖A‖·‖x‖ + ‖b‖) is ~n·ε ≤ 10⁻⁶ for n ≤ 12; we allow 10⁻⁴ —
//!   100× slack, while a wrong pivot, sign or substitution gives O(1).
//! - Quantities that pass through the condition number κ (x itself, A⁻¹, det) lose up to κ·n·ε; the
//!   random matrices are diagonally dominant (κ ≲ 10), so 10⁻³ relative is still ~100× slack.
//! - Jacobi runs in f64 and rounds its outputs to f32: residuals ‖A·v − λ·v‖ ≈ √n·ε·‖A‖; we allow
//!   10⁻⁵·‖A‖_F.
//! - Power iteration stops at a residual of 10⁻⁶·‖A‖_F; deflation carries each pair's error into the
//!   next, so the k-th pair is allowed 10⁻⁴·‖A‖_F against the original matrix.

use dlfs::Tensor;
use dlfs::linalg::eigen::{
    PowerIteration, jacobi_eigen, power_iteration, power_iteration_deflated,
};
use dlfs::linalg::pca::Pca;
use dlfs::linalg::{matmul, reference, solve, vector};
use dlfs::probability::Rng;
use proptest::prelude::*;

#[test]
fn the_tutorials_two_results_print_exactly() {
    let sum = vector::add(&[1.0, 2.0, 3.0], &[4.0, 5.0, 6.0]);
    assert_eq!(Tensor::from_vec(&[3], sum).to_string(), "[5 7 9]");
    let a = Tensor::from_rows(&[&[1.0, 2.0], &[3.0, 4.0]]);
    let b = Tensor::from_rows(&[&[5.0, 6.0], &[7.0, 8.0]]);
    assert_eq!(matmul(&a, &b).to_string(), "[[19 22]\n [43 50]]");
    assert_eq!(
        reference::matmul(a.data(), b.data(), 2, 2, 2),
        vec![19.0, 22.0, 43.0, 50.0]
    );
}

/// A random n×n matrix with entries in [−1, 1] plus n on the diagonal: strictly diagonally dominant,
/// hence invertible and well conditioned (κ ≲ 10).
fn well_conditioned(n: usize, rng: &mut Rng) -> Tensor {
    let mut a = Tensor::rand_uniform(&[n, n], -1.0, 1.0, rng);
    for i in 0..n {
        a.data_mut()[i * n + i] += n as f32;
    }
    a
}

/// A random symmetric n×n matrix with entries in [−5, 5].
fn random_symmetric(n: usize, rng: &mut Rng) -> Tensor {
    let r = Tensor::rand_uniform(&[n, n], -5.0, 5.0, rng);
    let mut a = r.add(&r.transpose()).scale(0.5);
    // (r + rᵀ)/2 is symmetric in exact arithmetic; make it bit-exact.
    for i in 0..n {
        for j in 0..i {
            a.data_mut()[i * n + j] = a.data()[j * n + i];
        }
    }
    a
}

/// A random orthogonal n×n matrix (Gram–Schmidt on random columns); row i is basis vector i.
fn random_orthogonal(n: usize, rng: &mut Rng) -> Vec<Vec<f32>> {
    loop {
        let columns: Vec<Vec<f32>> = (0..n)
            .map(|_| (0..n).map(|_| rng.normal(0.0, 1.0)).collect())
            .collect();
        if let Some(q) = vector::gram_schmidt(&columns) {
            return q;
        }
    }
}

/// `Σᵢ λᵢ·qᵢ·qᵢᵀ`: the symmetric matrix with eigenvectors qᵢ and eigenvalues λᵢ, made bit-symmetric.
fn with_eigenpairs(values: &[f32], vectors: &[Vec<f32>]) -> Tensor {
    let n = values.len();
    let mut a = Tensor::zeros(&[n, n]);
    for i in 0..n {
        for j in 0..=i {
            let entry: f64 = values
                .iter()
                .zip(vectors)
                .map(|(&l, q)| f64::from(l) * f64::from(q[i]) * f64::from(q[j]))
                .sum();
            a.data_mut()[i * n + j] = entry as f32;
            a.data_mut()[j * n + i] = entry as f32;
        }
    }
    a
}

/// `‖A·v − λ·v‖`, accumulated in f64.
fn eigen_residual(a: &Tensor, value: f32, v: &[f32]) -> f64 {
    let n = v.len();
    (0..n)
        .map(|i| {
            let av: f64 = (0..n)
                .map(|j| f64::from(a.data()[i * n + j]) * f64::from(v[j]))
                .sum();
            (av - f64::from(value) * f64::from(v[i])).powi(2)
        })
        .sum::<f64>()
        .sqrt()
}

fn max_abs(t: &Tensor) -> f32 {
    t.data().iter().fold(0.0f32, |m, v| m.max(v.abs()))
}

fn identity(n: usize) -> Tensor {
    Tensor::from_fn(&[n, n], |i| if i / n == i % n { 1.0 } else { 0.0 })
}

proptest! {
    // --- vectors -------------------------------------------------------------------------------

    #[test]
    fn vector_identities(
        a in prop::collection::vec(-10.0f32..10.0, 1..40),
        seed in any::<u64>(),
        alpha in -3.0f32..3.0,
    ) {
        let mut rng = Rng::new(seed);
        let b: Vec<f32> = (0..a.len()).map(|_| rng.uniform(-10.0, 10.0)).collect();
        let (na, nb) = (vector::norm(&a), vector::norm(&b));
        let scale = 1e-5 * (1.0 + na * nb);
        // Symmetry of the dot product, and a·a = ‖a‖².
        prop_assert_eq!(vector::dot(&a, &b), vector::dot(&b, &a));
        prop_assert!((vector::dot(&a, &a) - na * na).abs() <= 1e-5 * (1.0 + na * na));
        // Cauchy–Schwarz |a·b| ≤ ‖a‖‖b‖, hence cosine in [−1, 1]; triangle inequality.
        prop_assert!(vector::dot(&a, &b).abs() <= na * nb + scale);
        prop_assert!((-1.0..=1.0).contains(&vector::cosine(&a, &b)));
        prop_assert!(vector::norm(&vector::add(&a, &b)) <= na + nb + scale);
        // (a + b) − b = a up to one rounding; a − a = 0 exactly; ‖αa‖ = |α|‖a‖.
        let back = vector::sub(&vector::add(&a, &b), &b);
        for (x, y) in back.iter().zip(&a) {
            prop_assert!((x - y).abs() <= 1e-5 * 20.0);
        }
        prop_assert!(vector::sub(&a, &a).iter().all(|&v| v == 0.0));
        let scaled_norm = vector::norm(&vector::scale(alpha, &a));
        prop_assert!((scaled_norm - alpha.abs() * na).abs() <= 1e-5 * (1.0 + alpha.abs() * na));
        // axpy is α·a + b, element by element.
        let mut y = b.clone();
        vector::axpy(alpha, &a, &mut y);
        prop_assert_eq!(y, vector::add(&vector::scale(alpha, &a), &b));
        // The distance is the norm of the difference.
        prop_assert!((vector::distance(&a, &b) - vector::norm(&vector::sub(&a, &b))).abs() <= scale);
    }

    #[test]
    fn gram_schmidt_gives_an_orthonormal_basis(n in 1usize..8, seed in any::<u64>()) {
        let q = random_orthogonal(n, &mut Rng::new(seed));
        for i in 0..n {
            for j in 0..n {
                let expected = if i == j { 1.0 } else { 0.0 };
                prop_assert!((vector::dot(&q[i], &q[j]) - expected).abs() <= 1e-6);
            }
        }
    }

    // --- LU: solve, determinant, inverse --------------------------------------------------------

    #[test]
    fn lu_solve_residual_is_small(n in 1usize..=12, seed in any::<u64>()) {
        // Any random matrix, not only well-conditioned ones: the *residual* of LU with partial
        // pivoting is small whatever the condition number (backward stability), while elimination
        // without pivoting meets tiny pivots on such matrices and fails this test.
        let mut rng = Rng::new(seed);
        let a = Tensor::rand_uniform(&[n, n], -1.0, 1.0, &mut rng);
        let b: Vec<f32> = (0..n).map(|_| rng.uniform(-5.0, 5.0)).collect();
        let lu = solve::lu(&a).unwrap();
        // (A random matrix is singular with probability 0; skip the rare numerically singular one.)
        prop_assume!(lu.singular_pivot().is_none());
        // P·A = L·U up to rounding of the elimination.
        let pa = lu.permute_rows(&a);
        let difference = max_abs(&pa.sub(&matmul(&lu.lower(), &lu.upper())));
        prop_assert!(difference <= 1e-5 * max_abs(&a), "max |PA − LU| = {}", difference);
        let x = lu.solve(&b).unwrap();
        let ax = matmul(&a, &Tensor::from_vec(&[n, 1], x.clone()));
        let residual = vector::distance(ax.data(), &b);
        let size = a.norm() * vector::norm(&x) + vector::norm(&b);
        prop_assert!(residual <= 1e-4 * size, "‖Ax − b‖ = {} vs scale {}", residual, size);
    }

    #[test]
    fn determinant_of_a_product_is_the_product_of_determinants(
        n in 1usize..=8,
        seed in any::<u64>(),
    ) {
        let mut rng = Rng::new(seed);
        let a = well_conditioned(n, &mut rng);
        let b = well_conditioned(n, &mut rng);
        let (det_a, det_b) = (solve::determinant(&a).unwrap(), solve::determinant(&b).unwrap());
        let det_ab = solve::determinant(&matmul(&a, &b)).unwrap();
        let expected = f64::from(det_a) * f64::from(det_b);
        let relative = (f64::from(det_ab) - expected).abs() / expected.abs();
        prop_assert!(relative <= 1e-3, "det(AB) = {}, det(A)·det(B) = {}", det_ab, expected);
        // det(Aᵀ) = det(A).
        let det_at = solve::determinant(&a.transpose()).unwrap();
        prop_assert!((det_at - det_a).abs() <= 1e-3 * det_a.abs());
    }

    #[test]
    fn a_times_its_inverse_is_the_identity(n in 1usize..=10, seed in any::<u64>()) {
        let a = well_conditioned(n, &mut Rng::new(seed));
        let inverse = solve::inverse(&a).unwrap();
        let error = max_abs(&matmul(&a, &inverse).sub(&identity(n)));
        prop_assert!(error <= 1e-4, "max |A·A⁻¹ − I| = {}", error);
        let error = max_abs(&matmul(&inverse, &a).sub(&identity(n)));
        prop_assert!(error <= 1e-4, "max |A⁻¹·A − I| = {}", error);
    }

    #[test]
    fn a_repeated_row_makes_solve_an_error_and_det_zero(
        n in 2usize..=8,
        seed in any::<u64>(),
        rows in (0usize..8, 0usize..8),
    ) {
        // Two equal rows stay equal through every elimination step, so one becomes exactly zero:
        // the singularity is exact, not a matter of rounding.
        let mut a = well_conditioned(n, &mut Rng::new(seed));
        let (from, to) = (rows.0 % n, rows.1 % n);
        let to = if to == from { (to + 1) % n } else { to };
        let copy = a.row(from).to_vec();
        a.row_mut(to).copy_from_slice(&copy);
        let error = solve::solve(&a, &vec![1.0; n]).unwrap_err().to_string();
        prop_assert!(error.contains("singular"), "{}", error);
        prop_assert!(solve::inverse(&a).is_err());
        prop_assert_eq!(solve::determinant(&a).unwrap(), 0.0);
    }

    // --- eigenpairs -----------------------------------------------------------------------------

    #[test]
    fn jacobi_eigenpairs_satisfy_av_equals_lambda_v(n in 1usize..=10, seed in any::<u64>()) {
        let a = random_symmetric(n, &mut Rng::new(seed));
        let eigen = jacobi_eigen(&a).unwrap();
        let frobenius = f64::from(a.norm());
        let trace: f64 = (0..n).map(|i| f64::from(a.data()[i * n + i])).sum();
        let sum: f64 = eigen.values.iter().map(|&v| f64::from(v)).sum();
        prop_assert!((trace - sum).abs() <= 1e-5 * (1.0 + frobenius), "trace {} vs Σλ {}", trace, sum);
        for j in 0..n {
            if j > 0 {
                prop_assert!(eigen.values[j - 1] >= eigen.values[j], "not sorted: {:?}", eigen.values);
            }
            let v = eigen.vector(j);
            prop_assert!((vector::norm(&v) - 1.0).abs() <= 1e-6);
            let residual = eigen_residual(&a, eigen.values[j], &v);
            prop_assert!(residual <= 1e-5 * frobenius, "pair {}: residual {}", j, residual);
        }
        // The eigenvectors are orthonormal: Vᵀ·V = I.
        let v = &eigen.vectors;
        let error = max_abs(&matmul(&v.transpose(), v).sub(&identity(n)));
        prop_assert!(error <= 1e-5, "max |VᵀV − I| = {}", error);
    }

    #[test]
    fn power_iteration_with_deflation_finds_separated_eigenpairs(
        n in 2usize..=8,
        seed in any::<u64>(),
        signs in prop::collection::vec(any::<bool>(), 8),
    ) {
        // Eigenvalues ±10, ±10/1.5, ±10/1.5², …: every ratio |λᵢ₊₁/λᵢ| = 2/3, a clear eigen-gap.
        let mut rng = Rng::new(seed);
        let values: Vec<f32> = (0..n)
            .map(|i| {
                let magnitude = 10.0 / 1.5f32.powi(i as i32);
                if signs[i] { magnitude } else { -magnitude }
            })
            .collect();
        let q = random_orthogonal(n, &mut rng);
        let a = with_eigenpairs(&values, &q);
        let frobenius = f64::from(a.norm());
        let k = n.min(4);
        let settings = PowerIteration { seed, ..PowerIteration::default() };
        let pairs = power_iteration_deflated(&a, k, &settings).unwrap();
        for (j, pair) in pairs.iter().enumerate() {
            prop_assert!(
                (pair.value - values[j]).abs() <= 1e-4 * 10.0,
                "pair {}: λ = {}, expected {}", j, pair.value, values[j]
            );
            let residual = eigen_residual(&a, pair.value, &pair.vector);
            prop_assert!(residual <= 1e-4 * frobenius, "pair {}: residual {}", j, residual);
            // The same axis as the generating eigenvector (up to sign).
            prop_assert!(vector::cosine(&pair.vector, &q[j]).abs() >= 1.0 - 1e-4);
        }
    }

    #[test]
    fn power_iteration_on_a_non_symmetric_matrix(n in 2usize..=6, seed in any::<u64>()) {
        // A = S·diag(λ)·S⁻¹ with S well conditioned: eigenvalues λ, eigenvectors the columns of S.
        let mut rng = Rng::new(seed);
        let s = well_conditioned(n, &mut rng);
        let values: Vec<f32> = (0..n).map(|i| 8.0 / 2.0f32.powi(i as i32)).collect();
        let lambda = Tensor::from_fn(&[n, n], |i| if i / n == i % n { values[i / n] } else { 0.0 });
        let a = matmul(&matmul(&s, &lambda), &solve::inverse(&s).unwrap());
        let settings = PowerIteration { seed, ..PowerIteration::default() };
        let pair = power_iteration(&a, &settings).unwrap();
        prop_assert!((pair.value - 8.0).abs() <= 1e-3 * 8.0, "λ = {}", pair.value);
        let residual = eigen_residual(&a, pair.value, &pair.vector);
        prop_assert!(residual <= 1e-5 * f64::from(a.norm()), "residual {}", residual);
        let first_column: Vec<f32> = (0..n).map(|i| s.data()[i * n]).collect();
        prop_assert!(vector::cosine(&pair.vector, &first_column).abs() >= 1.0 - 1e-4);
    }

    // --- PCA ------------------------------------------------------------------------------------

    #[test]
    fn pca_explains_all_variance_and_finds_the_long_axis(
        seed in any::<u64>(),
        spreads in (2.0f32..4.0, 0.5f32..1.0, 0.05f32..0.3),
    ) {
        let mut rng = Rng::new(seed);
        let axes = random_orthogonal(3, &mut rng);
        let spread = [spreads.0, spreads.1, spreads.2];
        let n = 500;
        let mut data = Vec::with_capacity(3 * n);
        for _ in 0..n {
            let mut point = vec![1.0f32, -3.0, 2.0];
            for (axis, &s) in axes.iter().zip(&spread) {
                vector::axpy(rng.normal(0.0, s), axis, &mut point);
            }
            data.extend_from_slice(&point);
        }
        let x = Tensor::from_vec(&[n, 3], data);
        let full = Pca::fit(&x, 3).unwrap();
        // The ratios of all components sum to 1 (Σλ = trace S); they are sorted and non-negative.
        let total: f32 = full.explained_variance_ratio.iter().sum();
        prop_assert!((total - 1.0).abs() <= 1e-5, "Σ ratios = {}", total);
        let r = &full.explained_variance_ratio;
        prop_assert!(r[0] >= r[1] && r[1] >= r[2] && r[2] >= 0.0, "{:?}", r);
        // The first axis is the generating long axis. Sampling error of its direction with 500
        // points is about s₁s₂/(s₁² − s₂²)/√500 ≤ 0.04 rad, so |cos| ≥ 0.99 is safe.
        let alignment = vector::cosine(full.components.row(0), &axes[0]).abs();
        prop_assert!(alignment >= 0.99, "|cos(PC1, d1)| = {}", alignment);
        // With every component kept, projecting and mapping back returns the data.
        let restored = full.inverse_transform(&full.transform(&x));
        let error = max_abs(&restored.sub(&x));
        prop_assert!(error <= 1e-4 * max_abs(&x), "round trip error {}", error);
        // Keeping 2: the same leading ratios, and the components stay orthonormal.
        let two = Pca::fit(&x, 2).unwrap();
        prop_assert_eq!(&two.explained_variance_ratio[..], &full.explained_variance_ratio[..2]);
        let c = &two.components;
        let gram = matmul(c, &c.transpose());
        prop_assert!(max_abs(&gram.sub(&identity(2))) <= 1e-5);
    }
}

#[test]
fn singular_and_non_finite_inputs_are_errors_with_a_reason() {
    let singular = Tensor::from_rows(&[&[1.0, 2.0, 3.0], &[4.0, 5.0, 6.0], &[7.0, 8.0, 9.0]]);
    let error = solve::solve(&singular, &[1.0, 1.0, 1.0])
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("singular") && error.contains("linearly dependent"),
        "{error}"
    );
    let zero_column = Tensor::from_rows(&[&[0.0, 1.0], &[0.0, 3.0]]);
    assert!(solve::inverse(&zero_column).is_err());
    assert_eq!(solve::determinant(&zero_column).unwrap(), 0.0);
    let nan = Tensor::from_rows(&[&[1.0, 0.0], &[0.0, f32::NAN]]);
    assert!(solve::lu(&nan).is_err());
    assert!(jacobi_eigen(&nan).is_err());
    assert!(power_iteration(&nan, &PowerIteration::default()).is_err());
    let one_point = Tensor::from_rows(&[&[1.0, 2.0, 3.0]]);
    assert!(Pca::fit(&one_point, 2).is_err());
    let cloud = Tensor::from_rows(&[&[1.0, 2.0], &[2.0, 1.0], &[0.0, 0.5]]);
    assert!(Pca::fit(&cloud, 3).is_err());
    assert!(Pca::fit(&cloud, 0).is_err());
}

#[test]
fn the_right_hand_side_must_be_finite_too() {
    let a = Tensor::from_rows(&[&[2.0, 0.0], &[0.0, 2.0]]);
    assert!(solve::solve(&a, &[1.0, f32::INFINITY]).is_err());
}

#[test]
#[should_panic(expected = "needs a square matrix [n, n], got shape [2, 3]")]
fn a_non_square_matrix_is_a_programming_error() {
    let _ = solve::lu(&Tensor::zeros(&[2, 3]));
}

#[test]
fn chapter_runs_and_writes_the_pca_figure() {
    let out = std::env::temp_dir().join(format!("dlfs-ch02-test-{}", std::process::id()));
    let out_text = out.to_string_lossy().into_owned();
    let args = dlfs::app::parse_for(
        ch02::command(),
        &["--quick", "--points", "50", "--out", &out_text],
    )
    .unwrap();
    ch02::run(&args).unwrap();
    let svg = std::fs::read_to_string(out.join("pca_projection.svg")).unwrap();
    assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
    // One dot per point, and one in the legend for the scatter series.
    assert_eq!(svg.matches("<circle").count(), 50 + 1);
    let _ = std::fs::remove_dir_all(&out);
}

#[allow(dead_code)]
#[path = "../chapters/ch02_linear_algebra.rs"]
mod ch02;
