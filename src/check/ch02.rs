//! Checkers for chapter 2's exercises (`src/exercises/ch02.rs`): matrix product, transpose, cosine
//! similarity, power iteration.
//!
//! Each checker takes the function under test and compares it with the crate's own implementation
//! (the slow, obviously right [`crate::linalg::reference`] product; [`Tensor::transpose`];
//! [`crate::linalg::vector::cosine`]) on hand-made and random inputs, including awkward shapes (sizes
//! 1 and primes, non-square matrices, where a swapped index cannot hide), and checks properties
//! (‖v‖ = 1 and A·v = λ·v for an eigenpair).

use super::Tolerance;
use super::exercise::{Check, CheckResult, describe, format_values, random_values, short};
use crate::linalg::{reference, vector};
use crate::tensor::Tensor;

/// Exercise 2.1: `matmul(a, b, m, k, n)` returns `A·B` (`[m, k]·[k, n] → [m, n]`, row-major).
pub fn check_matmul(f: impl Fn(&[f32], &[f32], usize, usize, usize) -> Vec<f32>) -> CheckResult {
    let index_hint = "C[i][j] = Σₚ A[i][p]·B[p][j], with A[i][p] = a[i·k + p] and B[p][j] = b[p·n + j] \
                      (row-major: an element's row times the row length, plus its column)";

    // The tutorial's example: [[1, 2], [3, 4]]·[[5, 6], [7, 8]] = [[19, 22], [43, 50]].
    let (a, b) = ([1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0]);
    let check = Check::new(
        "the tutorial's example",
        format!(
            "{}, {}, m = k = n = 2",
            describe("a", &a, &[2, 2]),
            describe("b", &b, &[2, 2])
        ),
    );
    let got = check.run(|| f(&a, &b, 2, 2, 2));
    check.values(
        "c",
        &got,
        &[19.0, 22.0, 43.0, 50.0],
        &[2, 2],
        Tolerance::new(1e-5, 0.0),
        index_hint,
    )?;

    // Non-square shapes of small integers: every index mistake changes the result exactly.
    let (m, k, n) = (2, 3, 4);
    let a: Vec<f32> = (1..=6).map(|v| v as f32).collect();
    let b: Vec<f32> = (0..12).map(|v| (v % 5) as f32 - 2.0).collect();
    let check = Check::new(
        "a non-square product",
        format!(
            "{}, {}, m = {m}, k = {k}, n = {n}",
            describe("a", &a, &[m, k]),
            describe("b", &b, &[k, n])
        ),
    );
    let got = check.run(|| f(&a, &b, m, k, n));
    let expected = reference::matmul(&a, &b, m, k, n);
    check.values(
        "c",
        &got,
        &expected,
        &[m, n],
        Tolerance::new(1e-5, 0.0),
        index_hint,
    )?;

    // Random values on awkward shapes, against the f64-accumulated reference.
    let shapes = [
        (1, 1, 1),
        (1, 7, 1),
        (3, 1, 5),
        (7, 13, 5),
        (11, 2, 17),
        (16, 9, 4),
    ];
    for (case, &(m, k, n)) in shapes.iter().enumerate() {
        let a = random_values(m * k, 1.0, 200 + case as u64);
        let b = random_values(k * n, 1.0, 300 + case as u64);
        let check = Check::new(
            format!("random matrices of shape [{m}, {k}]·[{k}, {n}]"),
            format!(
                "{}, {}, m = {m}, k = {k}, n = {n}",
                describe("a", &a, &[m, k]),
                describe("b", &b, &[k, n])
            ),
        );
        let got = check.run(|| f(&a, &b, m, k, n));
        let expected = reference::matmul(&a, &b, m, k, n);
        check.values(
            "c",
            &got,
            &expected,
            &[m, n],
            Tolerance::new(1e-4, 1e-4),
            index_hint,
        )?;
    }
    Ok(())
}

/// Exercise 2.2: `transpose(a, rows, cols)` returns Aᵀ (`[rows, cols] → [cols, rows]`, row-major).
pub fn check_transpose(f: impl Fn(&[f32], usize, usize) -> Vec<f32>) -> CheckResult {
    let hint = "Aᵀ[j][i] = A[i][j]: the output has `rows` columns, so element (j, i) sits at \
                out[j·rows + i] and comes from a[i·cols + j]";
    let cases: [(usize, usize); 6] = [(2, 3), (1, 1), (1, 5), (5, 1), (3, 7), (4, 4)];
    for (case, &(rows, cols)) in cases.iter().enumerate() {
        let a: Vec<f32> = if case == 0 {
            vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
        } else {
            random_values(rows * cols, 1.0, 20 + case as u64)
        };
        let name = if case == 0 {
            "a small example".to_string()
        } else {
            format!("a [{rows}, {cols}] matrix")
        };
        let check = Check::new(
            name,
            format!(
                "{}, rows = {rows}, cols = {cols}",
                describe("a", &a, &[rows, cols])
            ),
        );
        let got = check.run(|| f(&a, rows, cols));
        let expected = Tensor::from_vec(&[rows, cols], a.clone()).transpose();
        check.values(
            "aᵀ",
            &got,
            expected.data(),
            &[cols, rows],
            Tolerance::EXACT,
            hint,
        )?;
    }
    Ok(())
}

/// Exercise 2.3: `cosine_similarity(a, b)` returns `a·b / (‖a‖‖b‖)`, and 0 when either is zero.
pub fn check_cosine_similarity(f: impl Fn(&[f32], &[f32]) -> f32) -> CheckResult {
    let hint = "cos θ = (Σ aᵢbᵢ) / (√(Σ aᵢ²) · √(Σ bᵢ²))";
    let tolerance = Tolerance::new(1e-5, 1e-5);
    let zero_hint =
        "a zero vector has no direction: return 0 instead of dividing 0 by 0 (which is NaN)";
    let cases = [
        (
            "the same direction gives 1",
            vec![1.0, 2.0, 3.0],
            vec![2.0, 4.0, 6.0],
            1.0,
        ),
        (
            "opposite directions give −1",
            vec![1.0, -2.0],
            vec![-3.0, 6.0],
            -1.0,
        ),
        (
            "perpendicular vectors give 0",
            vec![1.0, 1.0, 0.0],
            vec![1.0, -1.0, 5.0],
            0.0,
        ),
        (
            "a zero vector gives 0",
            vec![0.0, 0.0, 0.0],
            vec![1.0, 2.0, 3.0],
            0.0,
        ),
        ("vectors of length 1", vec![-2.5], vec![4.0], -1.0),
    ];
    for (name, a, b, expected) in cases {
        let check = Check::new(
            name,
            format!(
                "a = {}, b = {}",
                format_values(&a, &[a.len()]),
                format_values(&b, &[b.len()])
            ),
        );
        let got = check.run(|| f(&a, &b));
        check.scalar(
            "cos",
            f64::from(got),
            expected,
            tolerance,
            if name.contains("zero") {
                zero_hint
            } else {
                hint
            },
        )?;
    }
    for (case, len) in [3usize, 17, 100].into_iter().enumerate() {
        let a = random_values(len, 1.0, 40 + case as u64);
        let b = random_values(len, 2.0, 50 + case as u64);
        let check = Check::new(
            format!("random vectors of length {len}"),
            format!(
                "a = {}, b = {}",
                format_values(&a, &[len]),
                format_values(&b, &[len])
            ),
        );
        let got = check.run(|| f(&a, &b));
        check.scalar(
            "cos",
            f64::from(got),
            f64::from(vector::cosine(&a, &b)),
            tolerance,
            hint,
        )?;
    }
    Ok(())
}

/// A symmetric matrix `Σₖ λₖ·qₖ·qₖᵀ` with the given eigenvalues and random orthonormal eigenvectors
/// (Gram–Schmidt on random vectors); returns the matrix and the eigenvector of `eigenvalues[0]`.
fn symmetric_with_eigenvalues(eigenvalues: &[f64], seed: u64) -> (Vec<f32>, Vec<f32>) {
    let n = eigenvalues.len();
    let random: Vec<Vec<f32>> = (0..n)
        .map(|i| random_values(n, 1.0, seed + i as u64))
        .collect();
    let q = vector::gram_schmidt(&random).expect("random vectors are independent");
    let mut a = vec![0.0f32; n * n];
    for i in 0..n {
        for j in 0..n {
            let value: f64 = eigenvalues
                .iter()
                .zip(&q)
                .map(|(&l, qk)| l * f64::from(qk[i]) * f64::from(qk[j]))
                .sum();
            a[i * n + j] = value as f32;
        }
    }
    (a, q[0].clone())
}

/// A matrix with a known dominant eigenpair.
struct EigenCase {
    name: &'static str,
    a: Vec<f32>,
    n: usize,
    lambda: f32,
    eigenvector: Vec<f32>,
}

/// Exercise 2.4: `power_iteration(a, n, iterations)` returns the eigenvalue of largest magnitude and
/// its unit eigenvector.
pub fn check_power_iteration(f: impl Fn(&[f32], usize, usize) -> (f32, Vec<f32>)) -> CheckResult {
    let h = std::f32::consts::FRAC_1_SQRT_2;
    let mut cases = vec![
        EigenCase {
            name: "[[2, 1], [1, 2]] (eigenvalues 3 and 1)",
            a: vec![2.0, 1.0, 1.0, 2.0],
            n: 2,
            lambda: 3.0,
            eigenvector: vec![h, h],
        },
        EigenCase {
            name: "a 1×1 matrix",
            a: vec![-3.0],
            n: 1,
            lambda: -3.0,
            eigenvector: vec![1.0],
        },
        EigenCase {
            name: "a non-symmetric matrix [[4, 1], [0, 2]]",
            a: vec![4.0, 1.0, 0.0, 2.0],
            n: 2,
            lambda: 4.0,
            eigenvector: vec![1.0, 0.0],
        },
    ];
    let (a, eigenvector) = symmetric_with_eigenvalues(&[5.0, -2.0, 1.0, 0.5], 60);
    cases.push(EigenCase {
        name: "a 4×4 symmetric matrix with eigenvalues 5, −2, 1, 0.5",
        a,
        n: 4,
        lambda: 5.0,
        eigenvector,
    });
    let (a, eigenvector) = symmetric_with_eigenvalues(&[-6.0, 3.0, 1.0], 70);
    cases.push(EigenCase {
        name: "a dominant negative eigenvalue: 3×3 with eigenvalues −6, 3, 1",
        a,
        n: 3,
        lambda: -6.0,
        eigenvector,
    });
    let iterations = 500;
    for EigenCase {
        name,
        a,
        n,
        lambda,
        eigenvector,
    } in cases
    {
        let check = Check::new(
            name,
            format!(
                "{}, n = {n}, iterations = {iterations}",
                describe("a", &a, &[n, n])
            ),
        );
        let (value, v) = check.run(|| f(&a, n, iterations));
        check.length("the eigenvector", v.len(), n, &[n])?;
        check.that(
            v.iter().all(|x| x.is_finite()) && value.is_finite(),
            "finite numbers",
            format!(
                "λ = {}, v = {}",
                short(f64::from(value)),
                format_values(&v, &[n])
            ),
            "normalise the vector after every multiplication by A, or it overflows (|λ|ᵗ grows \
             without bound)",
        )?;
        let length = vector::norm(&v);
        check.that(
            (length - 1.0).abs() < 1e-3,
            "‖v‖ = 1",
            format!(
                "‖v‖ = {} for v = {}",
                short(f64::from(length)),
                format_values(&v, &[n])
            ),
            "divide v by its length ‖v‖ = √(Σ vᵢ²) after each multiplication",
        )?;
        check.scalar(
            "λ",
            f64::from(value),
            f64::from(lambda),
            Tolerance::new(1e-4, 1e-3),
            "estimate λ by the Rayleigh quotient vᵀ·A·v (with ‖v‖ = 1): it keeps the sign, where \
             ‖A·v‖ would give |λ|",
        )?;
        let alignment = vector::dot(&v, &eigenvector).abs();
        check.that(
            (alignment - 1.0).abs() < 1e-3,
            format!(
                "v = ±{} (the eigenvector of λ = {})",
                format_values(&eigenvector, &[n]),
                short(f64::from(lambda))
            ),
            format!("v = {}", format_values(&v, &[n])),
            "repeat v ← A·v / ‖A·v‖ for all the iterations you are given",
        )?;
    }
    Ok(())
}
