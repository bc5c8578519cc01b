//! Chapter 2 — 线性代数基础 (linear algebra).
//!
//! The tutorial's section: vectors and their addition, matrices and their product, vector spaces,
//! eigenvalues and eigenvectors (with diagonalisation and dimensionality reduction as what they are
//! for). Its two code examples print `[5 7 9]` and `[[19 22] [43 50]]`; this chapter prints the same,
//! computed by the crate's own [`dlfs::linalg`], and then does what the tutorial only names:
//!
//! 1. vectors: sum, difference, scaling, dot product, norm, cosine, axpy ([`dlfs::linalg::vector`]);
//! 2. matrices: the product through `gemm` and the textbook reference, transpose, `AB ≠ BA`;
//! 3. vector spaces: closure under addition and scaling checked numerically, for a plane through 0
//!    (a subspace) and a plane that misses 0 (not one);
//! 4. eigenvalues and eigenvectors: power iteration with deflation, and the Jacobi algorithm, checked
//!    by `A·v = λ·v` and by the diagonalisation `A = V·Λ·Vᵀ` ([`dlfs::linalg::eigen`]);
//! 5. linear systems: LU with partial pivoting, solve, determinant, inverse, and what a singular matrix
//!    does ([`dlfs::linalg::solve`]);
//! 6. dimensionality reduction: PCA of a generated 3-D cloud down to 2-D, explained variance, an SVG
//!    scatter ([`dlfs::linalg::pca`]);
//! 7. how a fast matmul works: naive → loop order → cache blocking → packing + SIMD microkernel →
//!    threads, each step timed live in GFLOPS against the machine's measured peak
//!    ([`dlfs::linalg::gemm::steps`]).

use dlfs::cli::{Args, Command};
use dlfs::linalg::eigen::{self, PowerIteration};
use dlfs::linalg::gemm::steps;
use dlfs::linalg::pca::{self, Pca};
use dlfs::linalg::{matmul, reference, solve, vector};
use dlfs::probability::Rng;
use dlfs::report::{LinePlot, Table};
use dlfs::{Result, Tensor, app};

/// The chapter's flags (`--quick`, `--out`, `--threads` come from `app::chapter_command`).
pub fn command() -> Command {
    app::chapter_command(
        "ch02_linear_algebra",
        "Vectors, matrices, vector spaces, eigenvalues/eigenvectors (power iteration, Jacobi), LU \
         solve/determinant/inverse, and PCA of a 3-D cloud.",
    )
    .option(
        "points",
        "N",
        "",
        "points in the PCA cloud (default 2000; 300 with --quick)",
    )
    .option(
        "seed",
        "S",
        "2",
        "seed for the random vectors and the PCA cloud",
    )
    .option(
        "matmul-size",
        "N",
        "",
        "size N of the N×N products timed in 2.7 (default 512; 128 with --quick)",
    )
}

/// A 1-D tensor, to print a vector the way numpy does.
fn vec_tensor(values: &[f32]) -> Tensor {
    Tensor::from_vec(&[values.len()], values.to_vec())
}

/// "yes" when the printed result is exactly the tutorial's.
fn same(got: &str, expected: &str) -> &'static str {
    if got == expected {
        "yes, exactly"
    } else {
        "NO"
    }
}

/// The largest |entry| of `a − b` (same shapes).
fn max_abs_difference(a: &Tensor, b: &Tensor) -> f32 {
    a.sub(b).data().iter().fold(0.0f32, |m, v| m.max(v.abs()))
}

/// Rounds every entry to `decimals` places, for printing (numpy's `np.round` before a print).
fn rounded(t: &Tensor, decimals: i32) -> Tensor {
    let scale = 10f32.powi(decimals);
    t.map(|v| {
        let r = (v * scale).round() / scale;
        if r == 0.0 { 0.0 } else { r } // no "-0"
    })
}

fn section_vectors() {
    println!("## 2.1 向量 — vectors\n");
    let a = [1.0, 2.0, 3.0];
    let b = [4.0, 5.0, 6.0];
    let sum = vec_tensor(&vector::add(&a, &b)).to_string();
    println!("a = {}, b = {}", vec_tensor(&a), vec_tensor(&b));
    println!("a + b = {sum}");
    println!("tutorial prints [5 7 9]; same: {}\n", same(&sum, "[5 7 9]"));
    let mut y = b.to_vec();
    vector::axpy(2.0, &a, &mut y);
    let mut table = Table::new(&["operation", "formula", "result"]);
    table.row(&[
        "difference",
        "a − b",
        &vec_tensor(&vector::sub(&a, &b)).to_string(),
    ]);
    table.row(&[
        "scaling",
        "2·a",
        &vec_tensor(&vector::scale(2.0, &a)).to_string(),
    ]);
    table.row(&["axpy", "2·a + b", &vec_tensor(&y).to_string()]);
    table.row(&["dot product", "Σ aᵢbᵢ", &vector::dot(&a, &b).to_string()]);
    table.row(&["norm", "‖a‖ = √(a·a)", &format!("{:.4}", vector::norm(&a))]);
    table.row(&[
        "distance",
        "‖a − b‖",
        &format!("{:.4}", vector::distance(&a, &b)),
    ]);
    table.row(&[
        "cosine",
        "a·b / (‖a‖‖b‖)",
        &format!("{:.4}", vector::cosine(&a, &b)),
    ]);
    print!("{}", table.render());
    let cosine = vector::cosine(&a, &b);
    println!(
        "(cosine {cosine:.4}: a and b point almost the same way, an angle of {:.1}°)\n",
        f64::from(cosine).acos().to_degrees()
    );
}

fn section_matrices() {
    println!("## 2.2 矩阵 — matrices\n");
    let a = Tensor::from_rows(&[&[1.0, 2.0], &[3.0, 4.0]]);
    let b = Tensor::from_rows(&[&[5.0, 6.0], &[7.0, 8.0]]);
    let product = matmul(&a, &b);
    let printed = product.to_string();
    println!("A =\n{a}\nB =\n{b}\nA·B (linalg::matmul, through gemm) =\n{printed}");
    println!(
        "tutorial prints [[19 22]\\n [43 50]]; same: {}",
        same(&printed, "[[19 22]\n [43 50]]")
    );
    let slow = reference::matmul(a.data(), b.data(), 2, 2, 2);
    println!(
        "the textbook triple loop (linalg::reference) agrees: {}",
        if slow == product.data() { "yes" } else { "NO" }
    );
    println!(
        "each entry is a row of A dotted with a column of B: 19 = 1·5 + 2·7, 22 = 1·6 + 2·8\n"
    );
    let ba = matmul(&b, &a);
    println!("order matters — B·A =\n{ba}\n(≠ A·B: the matrix product is not commutative)");
    let left = matmul(&a, &b).transpose();
    let right = matmul(&b.transpose(), &a.transpose());
    println!(
        "transpose of a product: (A·B)ᵀ = Bᵀ·Aᵀ: {}\n",
        if left == right { "yes" } else { "NO" }
    );
}

/// A random vector in the plane `n·x = offset`: a random point, moved along n onto the plane.
fn point_on_plane(normal: &[f32], offset: f32, rng: &mut Rng) -> Vec<f32> {
    let x: Vec<f32> = (0..3).map(|_| rng.uniform(-3.0, 3.0)).collect();
    let unit = vector::normalized(normal).expect("the normal is not zero");
    // x − (unit·x − offset/‖n‖)·unit lies on the plane.
    let distance = vector::dot(&unit, &x) - offset / vector::norm(normal);
    let mut on_plane = x;
    vector::axpy(-distance, &unit, &mut on_plane);
    on_plane
}

fn section_vector_spaces(rng: &mut Rng) {
    println!("## 2.3 向量空间 — vector spaces\n");
    println!(
        "A vector space is a set of vectors closed under addition and scaling: u + v and c·u stay in\n\
         the set. Test it numerically on two planes in 3-D with normal n = [1 −2 1]:\n\
         the plane n·x = 0 (through the origin) and the plane n·x = 1 (shifted off it).\n"
    );
    let normal = [1.0, -2.0, 1.0];
    let mut table = Table::new(&[
        "set",
        "n·u",
        "n·v",
        "n·(u + v)",
        "n·(c·u), c = −2.5",
        "closed?",
    ]);
    for (name, offset) in [("plane n·x = 0", 0.0f32), ("plane n·x = 1", 1.0)] {
        let u = point_on_plane(&normal, offset, rng);
        let v = point_on_plane(&normal, offset, rng);
        let sum = vector::add(&u, &v);
        let scaled = vector::scale(-2.5, &u);
        let tolerance = 1e-5;
        let stays = |x: &[f32]| (vector::dot(&normal, x) - offset).abs() < tolerance;
        let closed = stays(&sum) && stays(&scaled);
        table.row(&[
            name.to_string(),
            format!("{:.6}", vector::dot(&normal, &u)),
            format!("{:.6}", vector::dot(&normal, &v)),
            format!("{:.6}", vector::dot(&normal, &sum)),
            format!("{:.6}", vector::dot(&normal, &scaled)),
            if closed { "yes" } else { "no" }.to_string(),
        ]);
    }
    print!("{}", table.render());
    println!(
        "(“0.000000” is 0 up to f32 rounding.) The plane through the origin is a subspace: sums and\n\
         multiples stay on it. The shifted plane is not: u + v lands on n·x = 2, and 0 is not even in it.\n"
    );
    let u = point_on_plane(&normal, 0.0, rng);
    let v = point_on_plane(&normal, 0.0, rng);
    let w = vector::add(&vector::scale(0.5, &u), &vector::scale(-1.5, &v));
    match vector::gram_schmidt(&[u.clone(), v.clone(), w]) {
        None => println!(
            "Its dimension is 2: u, v and w = 0.5·u − 1.5·v are linearly dependent (Gram–Schmidt finds\n\
             nothing new in w), while u and v alone are independent and span the plane:"
        ),
        Some(_) => println!("(unexpected: u, v, w came out independent)"),
    }
    if let Some(basis) = vector::gram_schmidt(&[u, v]) {
        println!(
            "orthonormal basis q₁ = {}, q₂ = {}  (q₁·q₂ = {:.1e}, n·q₁ = {:.1e})\n",
            rounded(&vec_tensor(&basis[0]), 4),
            rounded(&vec_tensor(&basis[1]), 4),
            vector::dot(&basis[0], &basis[1]),
            vector::dot(&normal, &basis[0])
        );
    }
}

/// `‖A·v − λ·v‖` for a matrix and an eigenpair.
fn residual(a: &Tensor, value: f32, v: &[f32]) -> f32 {
    let n = v.len();
    let av = matmul(a, &Tensor::from_vec(&[n, 1], v.to_vec()));
    vector::distance(av.data(), &vector::scale(value, v))
}

fn section_eigen() -> Result<()> {
    println!("## 2.4 特征值与特征向量 — eigenvalues and eigenvectors\n");
    println!(
        "An eigenvector v of A is a direction that A only stretches: A·v = λ·v, λ its eigenvalue.\n"
    );
    let small = Tensor::from_rows(&[&[2.0, 1.0], &[1.0, 2.0]]);
    let pair = eigen::power_iteration(&small, &PowerIteration::default())?;
    println!(
        "A = [[2 1] [1 2]]: power iteration finds λ = {:.6}, v = {} after {} multiplications by A\n\
         (exact: λ = 3, v = [0.7071 0.7071]; the other pair is λ = 1 along [1 −1]).\n",
        pair.value,
        rounded(&vec_tensor(&pair.vector), 4),
        pair.iterations
    );

    let a = Tensor::from_rows(&[
        &[4.0, 1.0, 0.0, 0.0],
        &[1.0, 3.0, 1.0, 0.0],
        &[0.0, 1.0, 2.0, 1.0],
        &[0.0, 0.0, 1.0, 1.0],
    ]);
    println!("A symmetric 4×4 matrix:\n{a}\n");
    let deflated = eigen::power_iteration_deflated(&a, 4, &PowerIteration::default())?;
    let jacobi = eigen::jacobi_eigen(&a)?;
    let mut table = Table::new(&[
        "j",
        "λ (power + deflation)",
        "iterations",
        "λ (Jacobi)",
        "‖A·v − λ·v‖ power",
        "‖A·v − λ·v‖ Jacobi",
    ]);
    for (j, pair) in deflated.iter().enumerate() {
        let jv = jacobi.vector(j);
        table.row(&[
            (j + 1).to_string(),
            format!("{:.6}", pair.value),
            pair.iterations.to_string(),
            format!("{:.6}", jacobi.values[j]),
            format!("{:.1e}", residual(&a, pair.value, &pair.vector)),
            format!("{:.1e}", residual(&a, jacobi.values[j], &jv)),
        ]);
    }
    print!("{}", table.render());
    println!(
        "Power iteration finds the largest |λ| first; deflation (A ← A − λ·v·vᵀ) then exposes the\n\
         next. Each run's error shrinks like |λⱼ₊₁/λⱼ|ᵗ, so a smaller gap costs more iterations, and\n\
         each deflation passes its small error on to the next pair (the residuals grow down the\n\
         table). Jacobi found all four at once, to f32 rounding, in {} sweeps of plane rotations.\n",
        jacobi.sweeps
    );

    // Diagonalisation: A = V·Λ·Vᵀ with V orthogonal.
    let v = &jacobi.vectors;
    let n = jacobi.values.len();
    let lambda = Tensor::from_fn(&[n, n], |i| {
        if i / n == i % n {
            jacobi.values[i / n]
        } else {
            0.0
        }
    });
    let rebuilt = matmul(&matmul(v, &lambda), &v.transpose());
    let identity = Tensor::from_fn(&[n, n], |i| if i / n == i % n { 1.0 } else { 0.0 });
    println!(
        "diagonalisation: max |A − V·Λ·Vᵀ| = {:.1e}, max |Vᵀ·V − I| = {:.1e} (f32 rounding is ~1e-7)",
        max_abs_difference(&a, &rebuilt),
        max_abs_difference(&matmul(&v.transpose(), v), &identity)
    );
    println!("eigenvectors (columns of V):\n{}\n", rounded(v, 4));

    let non_symmetric = Tensor::from_rows(&[&[2.0, 1.0], &[0.0, 1.0]]);
    let top = eigen::power_iteration(&non_symmetric, &PowerIteration::default())?;
    println!(
        "Power iteration also works for a non-symmetric matrix with one dominant eigenvalue:\n\
         [[2 1] [0 1]] → λ = {:.6}, v = {}. Jacobi refuses it:\n  {}",
        top.value,
        rounded(&vec_tensor(&top.vector), 4),
        eigen::jacobi_eigen(&non_symmetric)
            .err()
            .map_or("(no error?)".to_string(), |e| e.to_string())
    );
    let flip = Tensor::from_rows(&[&[0.0, 1.0], &[1.0, 0.0]]);
    let settings = PowerIteration {
        max_iterations: 500,
        ..PowerIteration::default()
    };
    println!(
        "and with no single dominant eigenvalue ([[0 1] [1 0]] has λ = ±1) power iteration reports\n\
         an error instead of a wrong answer:\n  {}\n",
        eigen::power_iteration(&flip, &settings)
            .err()
            .map_or("(no error?)".to_string(), |e| e.to_string())
    );
    Ok(())
}

fn section_linear_systems() -> Result<()> {
    println!("## 2.5 线性方程组 — solving A·x = b (LU decomposition)\n");
    let a = Tensor::from_rows(&[&[2.0, 1.0, 1.0], &[4.0, -6.0, 0.0], &[-2.0, 7.0, 2.0]]);
    let b = [5.0, -2.0, 9.0];
    let lu = solve::lu(&a)?;
    println!("A =\n{a}\nb = {}\n", vec_tensor(&b));
    println!(
        "P·A = L·U with row order {:?} (partial pivoting put the largest |entry| of each column\n\
         on the diagonal):\nL =\n{}\nU =\n{}",
        lu.permutation(),
        rounded(&lu.lower(), 4),
        rounded(&lu.upper(), 4)
    );
    println!(
        "max |P·A − L·U| = {:.1e}",
        max_abs_difference(&lu.permute_rows(&a), &matmul(&lu.lower(), &lu.upper()))
    );
    let x = lu.solve(&b)?;
    let ax = matmul(&a, &Tensor::from_vec(&[3, 1], x.clone()));
    println!(
        "x = {}   (exact: [1 1 2]); residual ‖A·x − b‖ = {:.1e}",
        rounded(&vec_tensor(&x), 5),
        vector::distance(ax.data(), &b)
    );
    println!(
        "det(A) = {:.4}   (exact: −16, the product of U's diagonal, sign flipped per row swap)",
        lu.determinant()
    );
    let inverse = lu.inverse()?;
    let identity = Tensor::from_fn(&[3, 3], |i| if i / 3 == i % 3 { 1.0 } else { 0.0 });
    println!(
        "A⁻¹ =\n{}\nmax |A·A⁻¹ − I| = {:.1e}\n",
        rounded(&inverse, 4),
        max_abs_difference(&matmul(&a, &inverse), &identity)
    );
    let singular = Tensor::from_rows(&[&[1.0, 2.0, 3.0], &[4.0, 5.0, 6.0], &[7.0, 8.0, 9.0]]);
    println!(
        "A singular matrix, [[1 2 3] [4 5 6] [7 8 9]] (row 3 = 2·row 2 − row 1): det = {}, and\n\
         solve gives an error, not NaN or garbage:\n  {}\n",
        solve::determinant(&singular)?,
        solve::solve(&singular, &[1.0, 1.0, 1.0])
            .err()
            .map_or("(no error?)".to_string(), |e| e.to_string())
    );
    Ok(())
}

/// A 3-D cloud of `n` points: standard deviations 3, 1 and 0.3 along the orthonormal directions
/// `axes` (so it is almost a flat disc), centred at (5, −2, 1).
fn generate_cloud(n: usize, axes: &[Vec<f32>], rng: &mut Rng) -> Tensor {
    let spread = [3.0f32, 1.0, 0.3];
    let centre = [5.0f32, -2.0, 1.0];
    let mut data = Vec::with_capacity(3 * n);
    for _ in 0..n {
        let mut point = centre.to_vec();
        for (axis, &s) in axes.iter().zip(&spread) {
            vector::axpy(rng.normal(0.0, s), axis, &mut point);
        }
        data.extend_from_slice(&point);
    }
    Tensor::from_vec(&[n, 3], data)
}

fn section_pca(points: usize, rng: &mut Rng, out: &std::path::Path) -> Result<()> {
    println!("## 2.6 降维 — dimensionality reduction with eigenvectors (PCA)\n");
    // Three random orthonormal directions: the axes along which the cloud is generated.
    let random: Vec<Vec<f32>> = (0..3)
        .map(|_| (0..3).map(|_| rng.normal(0.0, 1.0)).collect())
        .collect();
    let axes = vector::gram_schmidt(&random).ok_or_else(|| {
        dlfs::Error::data("three random directions came out dependent; try another --seed")
    })?;
    let cloud = generate_cloud(points, &axes, rng);
    println!(
        "{points} points in 3-D, standard deviations 3, 1 and 0.3 along three random orthogonal axes\n\
         (variances 9, 1, 0.09: nearly a flat disc). Generating direction d₁ = {}.\n",
        rounded(&vec_tensor(&axes[0]), 4)
    );
    let (covariance, _) = pca::covariance(&cloud);
    println!(
        "covariance matrix S = Xcᵀ·Xc / (N − 1):\n{}\n",
        rounded(&covariance, 4)
    );
    let fitted = Pca::fit(&cloud, 2)?;
    let total = 9.0 + 1.0 + 0.09;
    let expected = [9.0 / total, 1.0 / total, 0.09 / total];
    let mut table = Table::new(&[
        "component",
        "variance λ",
        "generated with",
        "explained ratio",
        "expected ratio",
    ]);
    let all_total: f32 = fitted.all_variances.iter().sum();
    for (j, &variance) in fitted.all_variances.iter().enumerate() {
        table.row(&[
            format!("PC{}", j + 1),
            format!("{variance:.4}"),
            format!("{}", [9.0, 1.0, 0.09][j]),
            format!("{:.4}", variance / all_total),
            format!("{:.4}", expected[j]),
        ]);
    }
    print!("{}", table.render());
    let kept: f32 = fitted.explained_variance_ratio.iter().sum();
    let alignment = vector::cosine(fitted.components.row(0), &axes[0]).abs();
    println!(
        "Keeping 2 of 3 components keeps {:.2}% of the variance. |cos(PC1, d₁)| = {alignment:.5}\n\
         (1 = the same axis): the first eigenvector of S found the direction the cloud was stretched in.",
        100.0 * kept
    );
    let projected = fitted.transform(&cloud);
    let restored = fitted.inverse_transform(&projected);
    let squared_error: f64 = cloud
        .data()
        .iter()
        .zip(restored.data())
        .map(|(&a, &b)| f64::from(a - b).powi(2))
        .sum::<f64>()
        / (points as f64 - 1.0);
    println!(
        "Mapping the 2-D points back to 3-D loses {squared_error:.4} per point (squared distance, /(N−1)):\n\
         exactly the variance of the dropped component, λ₃ = {:.4}.\n",
        fitted.all_variances[2]
    );
    let scatter: Vec<(f64, f64)> = projected
        .data()
        .chunks_exact(2)
        .map(|p| (f64::from(p[0]), f64::from(p[1])))
        .collect();
    // Give the plot roughly the data's aspect ratio, so distances look like distances.
    let (x_span, y_span) = scatter.iter().fold((0.0f64, 0.0f64), |(x, y), p| {
        (x.max(p.0.abs()), y.max(p.1.abs()))
    });
    let plot_height = (600.0 * y_span / x_span.max(1e-9)).clamp(200.0, 600.0);
    let path = out.join("pca_projection.svg");
    LinePlot::new("PCA: the 3-D cloud projected onto its first two principal components")
        .x_label(&format!(
            "PC1 ({:.1}% of the variance)",
            100.0 * fitted.explained_variance_ratio[0]
        ))
        .y_label(&format!(
            "PC2 ({:.1}%)",
            100.0 * fitted.explained_variance_ratio[1]
        ))
        .scatter("points", &scatter)
        .size(832.0, plot_height + 96.0)
        .save(&path)?;
    println!("wrote {}\n", path.display());
    Ok(())
}

/// The CPU's model name as the operating system reports it (`/proc/cpuinfo` on Linux), if it can be
/// read.
fn cpu_model() -> Option<String> {
    let text = std::fs::read_to_string("/proc/cpuinfo").ok()?;
    text.lines()
        .find(|line| line.starts_with("model name") || line.starts_with("Model"))
        .and_then(|line| line.split_once(':'))
        .map(|(_, name)| name.trim().to_string())
        .filter(|name| !name.is_empty())
}

/// f32 lanes in one vector register of a kernel's instruction set (1 for the portable kernel).
fn vector_lanes(kernel: dlfs::linalg::gemm::Kernel) -> usize {
    match kernel.name() {
        "avx512" => 16,
        "avx2" => 8,
        "neon" => 4,
        _ => 1,
    }
}

/// 2.7: the five steps from the definition of the product to the crate's `gemm`, timed here. Every
/// statement about this machine (its kernel, its tile, which step helped) comes from what was found
/// and measured in this run.
fn section_fast_matmul(size: usize, quick: bool) {
    println!("## 2.7 how a fast matmul works\n");
    let kernel = dlfs::linalg::gemm::current_kernel();
    let (mr, nr) = kernel.tile();
    let lanes = vector_lanes(kernel);
    println!(
        "C = A·B for {size}×{size} matrices is 2·{size}³ = {:.1} million floating-point operations\n\
         (a multiply and an add per term of each sum). Five ways to do the same arithmetic, each\n\
         checked against the packed kernel's result before it is timed:\n",
        2.0 * (size as f64).powi(3) / 1e6
    );
    let registers = if lanes > 1 {
        format!(
            "in {} vector registers of {lanes} floats ({} here)",
            mr * nr / lanes,
            kernel.name()
        )
    } else {
        "in registers (the portable kernel: plain Rust the compiler may vectorise)".to_string()
    };
    println!(
        "1. naive: C[i][j] = Σₚ A[i][p]·B[p][j]. The inner loop walks down a column of B, a new\n   \
         cache line at every step.\n\
         2. loop order i, p, j: add A[i][p] times row p of B to row i of C. The same arithmetic,\n   \
         but on contiguous rows, so the compiler uses SIMD instructions.\n\
         3. cache blocking: step 2 on 128 × 256 blocks of B, which stay in the cache while every\n   \
         row of A passes over them.\n\
         4. packing + SIMD microkernel: blocks copied into the order the kernel reads them; the\n   \
         kernel keeps a {mr} × {nr} tile of C {registers}\n   \
         and does one broadcast and a few fused multiply-adds per step.\n\
         5. threads: the rows of C shared among the cores (never the sum, so the result does\n   \
         not depend on the thread count).\n"
    );
    let budget = std::time::Duration::from_millis(if quick { 20 } else { 300 });
    let report = steps::measure_steps(size, budget);
    let threads = report.rows.last().map_or(1, |row| row.threads);
    println!(
        "This machine: {}, {threads} thread{}, kernel {}. Peak, measured with a loop of nothing but\n\
         independent fused multiply-adds: {:.1} GFLOPS on one core, {:.1} on {threads} thread{}.",
        cpu_model().unwrap_or_else(|| format!("a {} CPU", std::env::consts::ARCH)),
        if threads == 1 { "" } else { "s" },
        kernel.name(),
        report.peak_one_core,
        report.peak_all_threads,
        if threads == 1 { "" } else { "s" },
    );
    if lanes > 1 {
        // One FMA on `lanes` floats is 2·lanes flops; the measured rate says how many the core
        // completes per second, whatever its clock and number of FMA units.
        let per_second = report.peak_one_core / (2.0 * lanes as f64);
        println!(
            "One {lanes}-lane FMA is {} flops, so that is {per_second:.1} billion vector FMAs per \
             second: e.g. one\nper cycle at {per_second:.1} GHz, or two per cycle at {:.1} GHz \
             (CPUs differ in how many FMA units a core has).\n",
            2 * lanes,
            per_second / 2.0
        );
    } else {
        println!();
    }
    let mut table = Table::new(&["step", "what changes", "threads", "GFLOPS", "% of peak"]);
    for row in &report.rows {
        table.row(&[
            row.name.to_string(),
            row.what.to_string(),
            row.threads.to_string(),
            format!("{:.1}", row.gflops),
            format!("{:.0}%", row.percent_of_peak),
        ]);
    }
    print!("{}", table.render());
    let gflops: Vec<f64> = report.rows.iter().map(|row| row.gflops).collect();
    if gflops.len() < 5 {
        return;
    }
    let ratio = |step: usize| gflops[step - 1] / gflops[step - 2].max(1e-9);
    let biggest = (2..=5)
        .max_by(|&a, &b| ratio(a).total_cmp(&ratio(b)))
        .unwrap_or(4);
    println!(
        "\nFrom step 1 to step 5: {:.0}× faster, the same result. The biggest single jump here is step\n\
         {biggest} ({:.1}× over step {}).",
        gflops[4] / gflops[0],
        ratio(biggest),
        biggest - 1
    );
    let blocking = ratio(3);
    if blocking >= 1.2 {
        println!(
            "Cache blocking helped here ({:.1} → {:.1} GFLOPS): the blocks of B stay in the cache.",
            gflops[1], gflops[2]
        );
    } else {
        println!(
            "Cache blocking did not help here ({:.1} → {:.1} GFLOPS): where the hardware prefetcher\n\
             already keeps step 2 fed, blocking changes little, because both steps load and store C\n\
             for every multiply-add, and that, not the cache, is their limit.",
            gflops[1], gflops[2]
        );
    }
    println!(
        "Step 4 keeps C in registers for a whole block of the sum, so a multiply-add needs no load\n\
         or store of C ({:.1}× over step 3 here).",
        ratio(4)
    );
    if threads > 1 && ratio(5) < 1.2 {
        println!(
            "Threads gained little here ({:.1} → {:.1} GFLOPS on {threads} threads): the other cores\n\
             were busy (a shared machine), or {size}×{size} is too small to split well.",
            gflops[3], gflops[4]
        );
    } else if threads > 1 {
        println!(
            "{threads} threads made it {:.1}× faster than one.",
            ratio(5)
        );
    }
    println!(
        "Timings on a busy machine vary; `cargo run --release --bin bench -- gemm` measures the\n\
         crate's gemm on many shapes.\n"
    );
}

/// The chapter itself.
pub fn run(args: &Args) -> Result<()> {
    let quick = args.flag("quick");
    let points: usize = args
        .get_opt("points")?
        .unwrap_or(if quick { 300 } else { 2000 });
    if points < 3 {
        return Err(dlfs::Error::usage(format!(
            "--points must be at least 3 for a 3-D PCA, got {points}"
        )));
    }
    let seed: u64 = args.get("seed")?;
    let matmul_size: usize = args
        .get_opt("matmul-size")?
        .unwrap_or(if quick { 128 } else { 512 });
    if matmul_size == 0 {
        return Err(dlfs::Error::usage(
            "--matmul-size must be at least 1 (try 512)",
        ));
    }
    // What the flags ask for, checked before anything is allocated (a usage error past the limit).
    let mut plan = app::MemoryPlan::new();
    plan.add(
        "--points",
        points,
        "the PCA cloud and its SVG scatter plot (about 150 bytes a point)",
        app::bytes_of(points, 150),
    )?;
    plan.add(
        "--matmul-size",
        matmul_size,
        "the matrices of 2.7 (A, B and four results)",
        app::f32_bytes(&[6, matmul_size, matmul_size]),
    )?;
    let out = app::out_dir(args)?;
    let mut rng = Rng::new(seed);

    println!("# 2. 线性代数基础 — linear algebra\n");
    section_vectors();
    section_matrices();
    section_vector_spaces(&mut rng);
    section_eigen()?;
    section_linear_systems()?;
    section_pca(points, &mut rng, &out)?;

    section_fast_matmul(matmul_size, quick);
    app::exercises_hint("ch02");

    Ok(())
}

fn main() {
    app::main_for(command(), run);
}
