//! The fast GEMM against the textbook reference: every kernel this CPU supports, on awkward shapes
//! (1, primes, multiples of the tile ± 1), transposed and strided views, all α/β cases (β = 0 with NaN
//! in C), and bit-identical results for any number of threads.
//!
//! # Tolerance
//! The reference sums in f64, so the difference measures the kernel's f32 rounding. A sum of k
//! products rounded at each step is off by at most about `k · u · Σₚ |a_ip·b_pj|` (u = 2⁻²⁴ ≈ 6·10⁻⁸,
//! the unit roundoff), plus one rounding each for α, β and the final add. Each element is checked
//! against `4 · (k + 3) · u · (|α|·Σₚ|a_ip·b_pj| + |β·c_ij|) + 1e-30` — four times the textbook
//! bound, tight enough that any real bug (a missing or doubled term, a wrong index, a stale β) fails
//! by orders of magnitude.

use dlfs::linalg::gemm::{
    self, Causal, Kernel, MatMut, MatRef, gemm_causal, gemm_epilogue_with, gemm_nn, gemm_nt,
    gemm_tn, gemm_with, set_kernel, steps, supported_kernels,
};
use dlfs::linalg::reference;
use dlfs::probability::Rng;
use proptest::prelude::*;

/// Unit roundoff of f32.
const U: f64 = 5.960_464_5e-8;

/// How a matrix is laid out in its buffer.
#[derive(Clone, Copy, Debug)]
enum Layout {
    /// Row-major, tightly packed.
    RowMajor,
    /// Stored as the transpose (column-major), viewed through `.t()`.
    Transposed,
    /// A sub-matrix of a bigger row-major buffer: extra columns, and an offset.
    Padded,
    /// Every other element of every third row: no stride is 1.
    Strided,
}

const LAYOUTS: [Layout; 4] = [
    Layout::RowMajor,
    Layout::Transposed,
    Layout::Padded,
    Layout::Strided,
];

/// A buffer plus the strides and offset of a `rows × cols` view into it.
struct Stored {
    data: Vec<f32>,
    offset: usize,
    rows: usize,
    cols: usize,
    row_stride: usize,
    col_stride: usize,
}

/// The fill value of buffer elements outside the view: they must never be written.
const SENTINEL: f32 = -12345.0;

impl Stored {
    fn new(rows: usize, cols: usize, layout: Layout, rng: &mut Rng) -> Stored {
        let (offset, row_stride, col_stride, len) = match layout {
            Layout::RowMajor => (0, cols, 1, rows * cols),
            Layout::Transposed => (0, 1, rows, rows * cols),
            Layout::Padded => (3, cols + 5, 1, 3 + rows * (cols + 5)),
            Layout::Strided => (1, 3 * (2 * cols), 2, 1 + rows * 6 * cols),
        };
        let mut data = vec![SENTINEL; len];
        for i in 0..rows {
            for j in 0..cols {
                data[offset + i * row_stride + j * col_stride] = rng.uniform(-1.0, 1.0);
            }
        }
        Stored {
            data,
            offset,
            rows,
            cols,
            row_stride,
            col_stride,
        }
    }

    fn view(&self) -> MatRef<'_> {
        MatRef::with_strides(
            &self.data[self.offset..],
            self.rows,
            self.cols,
            self.row_stride,
            self.col_stride,
        )
    }

    fn view_mut(&mut self) -> MatMut<'_> {
        MatMut::with_strides(
            &mut self.data[self.offset..],
            self.rows,
            self.cols,
            self.row_stride,
            self.col_stride,
        )
    }

    fn at(&self, i: usize, j: usize) -> f32 {
        self.data[self.offset + i * self.row_stride + j * self.col_stride]
    }

    fn set(&mut self, i: usize, j: usize, value: f32) {
        self.data[self.offset + i * self.row_stride + j * self.col_stride] = value;
    }

    /// For each element of the buffer: is it part of the view?
    fn view_mask(&self) -> Vec<bool> {
        let mut mask = vec![false; self.data.len()];
        for i in 0..self.rows {
            for j in 0..self.cols {
                mask[self.offset + i * self.row_stride + j * self.col_stride] = true;
            }
        }
        mask
    }
}

/// One product to check.
#[derive(Clone, Debug)]
struct Case {
    m: usize,
    k: usize,
    n: usize,
    layouts: [usize; 3],
    alpha: f32,
    beta: f32,
    seed: u64,
}

/// Runs `case` with `kernel` on 1, 2 and 3 pieces, checks against the reference, checks the pieces
/// agree bit for bit, and checks nothing outside C's view was written.
fn check_case(case: &Case, kernel: Kernel) {
    let Case {
        m,
        k,
        n,
        alpha,
        beta,
        ..
    } = *case;
    let mut rng = Rng::new(case.seed);
    let a = Stored::new(m, k, LAYOUTS[case.layouts[0]], &mut rng);
    let b = Stored::new(k, n, LAYOUTS[case.layouts[1]], &mut rng);
    let mut c0 = Stored::new(m, n, LAYOUTS[case.layouts[2]], &mut rng);
    if beta == 0.0 {
        // β = 0 must ignore C entirely, as BLAS does.
        for i in 0..m {
            for j in 0..n {
                c0.set(
                    i,
                    j,
                    if (i + j) % 2 == 0 {
                        f32::NAN
                    } else {
                        f32::INFINITY
                    },
                );
            }
        }
    }
    // Expected values and the error bound of each element.
    let mut expected = vec![0.0f64; m * n];
    let mut bound = vec![0.0f64; m * n];
    for i in 0..m {
        for j in 0..n {
            let (mut sum, mut magnitude) = (0.0f64, 0.0f64);
            for p in 0..k {
                let product = f64::from(a.at(i, p)) * f64::from(b.at(p, j));
                sum += product;
                magnitude += product.abs();
            }
            let old = if beta == 0.0 {
                0.0
            } else {
                f64::from(beta) * f64::from(c0.at(i, j))
            };
            expected[i * n + j] = f64::from(alpha) * sum + old;
            bound[i * n + j] =
                4.0 * (k as f64 + 3.0) * U * (f64::from(alpha).abs() * magnitude + old.abs())
                    + 1e-30;
        }
    }
    let in_view = c0.view_mask();
    let mut first: Option<Vec<f32>> = None;
    for threads in [1, 2, 3] {
        let mut c = Stored {
            data: c0.data.clone(),
            ..c0
        };
        gemm_with(
            kernel,
            threads,
            alpha,
            a.view(),
            b.view(),
            beta,
            c.view_mut(),
        );
        for i in 0..m {
            for j in 0..n {
                let got = c.at(i, j);
                let error = (f64::from(got) - expected[i * n + j]).abs();
                assert!(
                    error <= bound[i * n + j],
                    "{} kernel, {threads} threads, {case:?}: C[{i}][{j}] = {got}, expected {} \
                     (error {error:e} > bound {:e})",
                    kernel.name(),
                    expected[i * n + j],
                    bound[i * n + j]
                );
            }
        }
        let outside_written = c
            .data
            .iter()
            .zip(&c0.data)
            .zip(&in_view)
            .any(|((new, old), &inside)| !inside && new.to_bits() != old.to_bits());
        assert!(
            !outside_written,
            "{} kernel, {case:?}: an element outside C's view was written",
            kernel.name()
        );
        let result: Vec<f32> = c.data.clone();
        match &first {
            None => first = Some(result),
            Some(one_thread) => assert!(
                one_thread
                    .iter()
                    .zip(&result)
                    .all(|(x, y)| x.to_bits() == y.to_bits()),
                "{} kernel, {case:?}: 1 and {threads} threads differ",
                kernel.name()
            ),
        }
    }
}

/// Sizes that stress the edges: 1, small primes, and multiples of every kernel's tile ± 1.
fn awkward_size() -> impl Strategy<Value = usize> {
    let mut special = vec![
        1usize, 2, 3, 5, 7, 11, 13, 17, 31, 37, 61, 97, 127, 251, 257, 293,
    ];
    for kernel in Kernel::ALL {
        let (mr, nr) = kernel.tile();
        for tile in [mr, nr, 2 * mr, 2 * nr, 4 * nr] {
            special.extend([tile - 1, tile, tile + 1]);
        }
    }
    special.retain(|&s| (1..=300).contains(&s));
    prop_oneof![proptest::sample::select(special), 1usize..=300]
}

fn case() -> impl Strategy<Value = Case> {
    (
        awkward_size(),
        awkward_size(),
        awkward_size(),
        [0usize..4, 0usize..4, 0usize..4],
        prop_oneof![Just(1.0f32), Just(-0.5f32), -2.0f32..2.0],
        prop_oneof![Just(0.0f32), Just(1.0f32), -2.0f32..2.0],
        any::<u64>(),
    )
        .prop_map(|(m, k, n, layouts, alpha, beta, seed)| Case {
            m,
            k,
            n,
            layouts,
            alpha,
            beta,
            seed,
        })
}

proptest! {
    // Each case runs every supported kernel on 1, 2 and 3 pieces against an f64 reference; 24 cases
    // keep the file at a few seconds in release while covering the size and layout combinations.
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn every_kernel_matches_the_reference(case in case()) {
        for kernel in supported_kernels() {
            check_case(&case, kernel);
        }
    }
}

#[test]
fn blocks_of_the_sum_and_of_columns_are_stitched_correctly() {
    // k = 600 crosses two KC = 256 boundaries, n = 1100 two NC = 512 ones (and the NEON kernel's 480).
    // The last four split by rows with B packed, so 2 and 3 threads share one packed B (several
    // blocks of the sum, then two blocks of columns, with B stored transposed). The last one has A
    // stored transposed (a weight gradient's dYᵀ): its panels are packed, and its row tasks are
    // larger (16 panels on 2 threads, 10 on 3) with a ragged last task.
    let cases = [
        (13, 600, 1100, 0, 0),
        (1100, 600, 7, 0, 0),
        (700, 300, 400, 0, 1),
        (700, 200, 600, 0, 1),
        (389, 600, 90, 1, 0),
    ];
    for kernel in supported_kernels() {
        for (m, k, n, a_layout, b_layout) in cases {
            check_case(
                &Case {
                    m,
                    k,
                    n,
                    layouts: [a_layout, b_layout, 0],
                    alpha: 0.75,
                    beta: 0.5,
                    seed: 7,
                },
                kernel,
            );
        }
    }
}

/// `gemm_causal` against the full product on one thread: with A zero in the triangle `part` names
/// (`LowerA`, `UpperA`) every element must be the same bits, with `LowerC` every element on or below
/// the diagonal; and nothing outside C may be written. Shapes: 1, primes, an attention head's
/// (64 × 64 × 32, 64 × 32 × 64), more queries than keys and fewer, row panels past the last term
/// (`UpperA` with m > k), and a sum too long for one block (the full product then runs).
#[test]
fn causal_products_skip_only_what_the_mask_hides() {
    let shapes = [
        (1, 1, 1),
        (7, 7, 5),
        (13, 13, 17),
        (64, 64, 32),
        (64, 32, 64),
        (65, 65, 33),
        (37, 64, 64),
        (64, 37, 16),
        (20, 300, 20),
    ];
    let mut rng = Rng::new(21);
    for (m, k, n) in shapes {
        for part in [Causal::LowerC, Causal::LowerA, Causal::UpperA] {
            for (a_transposed, beta) in [(false, 0.0), (true, 0.5)] {
                // A: zero where the triangle says so (for LowerC, anything).
                let mut a = vec![0.0f32; m * k];
                for i in 0..m {
                    for p in 0..k {
                        let zero = match part {
                            Causal::LowerC => false,
                            Causal::LowerA => p > i,
                            Causal::UpperA => p < i,
                        };
                        if !zero {
                            a[i * k + p] = rng.uniform(-1.0, 1.0);
                        }
                    }
                }
                // Stored transposed too, as attention's Pᵀ is: the same matrix, a column-major view.
                let a_t: Vec<f32> = (0..k * m).map(|x| a[(x % m) * k + x / m]).collect();
                let a_view = if a_transposed {
                    MatRef::new(&a_t, k, m).t()
                } else {
                    MatRef::new(&a, m, k)
                };
                let b: Vec<f32> = (0..k * n).map(|_| rng.uniform(-1.0, 1.0)).collect();
                // C inside a bigger buffer (a sentinel column on the right) to catch stray writes.
                let stride = n + 1;
                let start: Vec<f32> = (0..m * stride)
                    .map(|x| {
                        if x % stride == n {
                            SENTINEL
                        } else {
                            rng.uniform(-1.0, 1.0)
                        }
                    })
                    .collect();
                let (mut full, mut causal) = (start.clone(), start.clone());
                gemm_with(
                    gemm::current_kernel(),
                    1,
                    0.75,
                    a_view,
                    MatRef::new(&b, k, n),
                    beta,
                    MatMut::with_strides(&mut full, m, n, stride, 1),
                );
                gemm_causal(
                    0.75,
                    a_view,
                    MatRef::new(&b, k, n),
                    beta,
                    MatMut::with_strides(&mut causal, m, n, stride, 1),
                    part,
                );
                for i in 0..m {
                    for j in 0..n {
                        if part == Causal::LowerC && j > i {
                            continue;
                        }
                        let (want, got) = (full[i * stride + j], causal[i * stride + j]);
                        assert!(
                            want.to_bits() == got.to_bits(),
                            "{part:?}, {m}×{k}×{n}, A transposed {a_transposed}, β {beta}: \
                             C[{i}][{j}] = {got}, the full product gives {want}"
                        );
                    }
                    assert_eq!(
                        causal[i * stride + n],
                        SENTINEL,
                        "{part:?}, {m}×{k}×{n}: wrote past C's row {i}"
                    );
                }
            }
        }
    }
}

#[test]
fn few_long_rows_take_the_inner_product_form_correctly() {
    // A's rows and B's columns contiguous (A row-major or padded, B stored transposed), at most 8
    // rows or columns of C and sums of 128 terms or more: the AVX-512 kernel computes these as dot
    // products (`gemm::dot`), other kernels with their packed loops. Edges: 1, 2 and 7 rows (blocks
    // of 3), columns not a multiple of 4, sums not a multiple of 16, more rows than columns (the
    // transposed run), every layout of C, and β = 0 over NaN.
    let shapes = [
        (1, 128, 1),
        (2, 143, 37),
        (6, 896, 75),
        (7, 257, 9),
        (8, 300, 1),
        (75, 200, 6),
        (301, 129, 2),
    ];
    for kernel in supported_kernels() {
        for (index, &(m, k, n)) in shapes.iter().enumerate() {
            for (c_layout, beta) in [(0, 0.0), (1, 1.0), (2, -0.5), (3, 0.0)] {
                check_case(
                    &Case {
                        m,
                        k,
                        n,
                        layouts: [index % 2 * 2, 1, c_layout],
                        alpha: -1.25,
                        beta,
                        seed: 11 + index as u64,
                    },
                    kernel,
                );
            }
        }
    }
}

#[test]
fn beta_zero_ignores_nan_and_infinity_in_c() {
    for kernel in supported_kernels() {
        let a = [1.0, 2.0, 3.0, 4.0];
        let b = [1.0, 0.0, 0.0, 1.0];
        let mut c = [f32::NAN, f32::INFINITY, f32::NEG_INFINITY, f32::NAN];
        gemm_with(
            kernel,
            1,
            1.0,
            MatRef::new(&a, 2, 2),
            MatRef::new(&b, 2, 2),
            0.0,
            MatMut::new(&mut c, 2, 2),
        );
        assert_eq!(c, [1.0, 2.0, 3.0, 4.0], "{} kernel", kernel.name());
    }
}

#[test]
fn alpha_zero_or_empty_sum_only_scales_c() {
    // BLAS: with α = 0 (or k = 0), A and B are not used and C = β·C; β = 0 gives exact zeros.
    let a = [f32::NAN; 6];
    let b = [f32::NAN; 6];
    let mut c = [1.0, -2.0, 3.0, f32::NAN];
    gemm::gemm(
        0.0,
        MatRef::new(&a, 2, 3),
        MatRef::new(&b, 3, 2),
        2.0,
        MatMut::new(&mut c, 2, 2),
    );
    assert_eq!(&c[..3], &[2.0, -4.0, 6.0]);
    assert!(c[3].is_nan(), "β·NaN stays NaN when β ≠ 0");
    let mut c = [f32::NAN, 5.0];
    gemm::gemm(
        1.0,
        MatRef::new(&[], 1, 0),
        MatRef::new(&[], 0, 2),
        0.0,
        MatMut::new(&mut c, 1, 2),
    );
    assert_eq!(c, [0.0, 0.0]);
    // Empty C: nothing to do, no panic.
    gemm::gemm(
        1.0,
        MatRef::new(&[], 0, 3),
        MatRef::new(&a, 3, 2),
        0.0,
        MatMut::new(&mut [], 0, 2),
    );
}

#[test]
#[should_panic(expected = "gemm: shapes A 2×3, B 2×2, C 2×2 do not fit C = A·B")]
fn mismatched_shapes_panic_naming_them() {
    let a = [0.0; 6];
    let b = [0.0; 4];
    let mut c = [0.0; 4];
    gemm::gemm(
        1.0,
        MatRef::new(&a, 2, 3),
        MatRef::new(&b, 2, 2),
        0.0,
        MatMut::new(&mut c, 2, 2),
    );
}

#[test]
fn row_major_wrappers_match_the_reference() {
    let (m, k, n) = (37, 53, 29);
    let mut rng = Rng::new(3);
    let a: Vec<f32> = (0..m * k).map(|_| rng.uniform(-1.0, 1.0)).collect();
    let b: Vec<f32> = (0..k * n).map(|_| rng.uniform(-1.0, 1.0)).collect();
    let expected = reference::matmul(&a, &b, m, k, n);
    let close = |got: &[f32], what: &str| {
        for (index, (x, y)) in got.iter().zip(&expected).enumerate() {
            assert!((x - y).abs() <= 1e-5, "{what}: element {index}: {x} vs {y}");
        }
    };
    let mut c = vec![f32::NAN; m * n];
    gemm_nn(m, n, k, &a, &b, &mut c, 0.0);
    close(&c, "gemm_nn");
    // Aᵀ stored k × m, Bᵀ stored n × k.
    let a_t: Vec<f32> = (0..k * m).map(|x| a[(x % m) * k + x / m]).collect();
    let b_t: Vec<f32> = (0..n * k).map(|x| b[(x % k) * n + x / k]).collect();
    let mut c = vec![f32::NAN; m * n];
    gemm_tn(m, n, k, &a_t, &b, &mut c, 0.0);
    close(&c, "gemm_tn");
    let mut c = vec![f32::NAN; m * n];
    gemm_nt(m, n, k, &a, &b_t, &mut c, 0.0);
    close(&c, "gemm_nt");
    // β = 1 accumulates: doing gemm_nt twice gives twice the product.
    gemm_nt(m, n, k, &a, &b_t, &mut c, 1.0);
    for (index, (x, y)) in c.iter().zip(&expected).enumerate() {
        assert!((x - 2.0 * y).abs() <= 2e-5, "β = 1: element {index}");
    }
}

#[test]
fn large_products_are_bit_identical_for_any_thread_count() {
    // Above the single-thread threshold, through the public entry point with the pool resized.
    let (m, k, n) = (203, 150, 181);
    let mut rng = Rng::new(5);
    let a: Vec<f32> = (0..m * k).map(|_| rng.uniform(-1.0, 1.0)).collect();
    let b: Vec<f32> = (0..k * n).map(|_| rng.uniform(-1.0, 1.0)).collect();
    // B row-major (small enough to be read in place) and B stored transposed, as in a layer's
    // x·Wᵀ (B must be packed, by every piece).
    for b_transposed in [false, true] {
        let b_view = if b_transposed {
            MatRef::new(&b, n, k).t()
        } else {
            MatRef::new(&b, k, n)
        };
        let results: Vec<Vec<f32>> = [1, 2, 3, 4]
            .iter()
            .map(|&threads| {
                let mut c = vec![0.0; m * n];
                gemm_with(
                    gemm::current_kernel(),
                    threads,
                    1.0,
                    MatRef::new(&a, m, k),
                    b_view,
                    0.0,
                    MatMut::new(&mut c, m, n),
                );
                c
            })
            .collect();
        for (t, result) in results.iter().enumerate().skip(1) {
            assert!(
                result
                    .iter()
                    .zip(&results[0])
                    .all(|(x, y)| x.to_bits() == y.to_bits()),
                "B transposed: {b_transposed}: {} threads differ from 1",
                t + 1
            );
        }
    }
}

#[test]
fn kernels_can_be_chosen_and_unsupported_ones_are_refused() {
    let supported = supported_kernels();
    assert_eq!(supported[0], Kernel::Scalar, "scalar always runs");
    for kernel in Kernel::ALL {
        assert_eq!(Kernel::from_name(kernel.name()), Some(kernel));
        match set_kernel(kernel) {
            Ok(()) => {
                assert!(supported.contains(&kernel));
                assert_eq!(gemm::kernel_name(), kernel.name());
            }
            Err(error) => {
                assert!(!supported.contains(&kernel));
                assert!(
                    error.to_string().contains("scalar"),
                    "the error lists the supported kernels: {error}"
                );
            }
        }
    }
    set_kernel(gemm::best_kernel()).expect("the best kernel is supported");
    assert_eq!(Kernel::from_name("sse9"), None);
}

/// Runs `bench gemm` on a 64 × 64 product with `DLFS_GEMM_KERNEL=value`; `None` when the binary
/// cannot run here (a cross-compiled test run under an emulator cannot start another binary).
fn bench_with_kernel_variable(value: &str) -> Option<std::process::Output> {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_bench"))
        .args([
            "gemm",
            "--size",
            "64",
            "--threads",
            "1",
            "--runs",
            "1",
            "--json",
        ])
        .env("DLFS_GEMM_KERNEL", value)
        .output()
        .ok()?;
    // The banner (`dlfs 0.1.0 · bench · …`) goes to standard error with --json: if it is missing,
    // the binary never started.
    let started = String::from_utf8_lossy(&output.stderr).contains("· bench ·");
    if !started {
        eprintln!(
            "skipping: bench could not run here ({:?}, {})",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
        return None;
    }
    Some(output)
}

#[test]
fn the_environment_variable_forces_a_kernel() {
    // A fresh process reads DLFS_GEMM_KERNEL at its first product; `bench` prints the kernel it used.
    for kernel in supported_kernels() {
        let Some(output) = bench_with_kernel_variable(kernel.name()) else {
            return;
        };
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            stdout.contains(&format!("\"kernel\": \"{}\"", kernel.name())),
            "DLFS_GEMM_KERNEL={}: bench printed {stdout}",
            kernel.name()
        );
    }
    let Some(output) = bench_with_kernel_variable("no-such-kernel") else {
        return;
    };
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("is not a kernel name"),
        "a bad name is reported: {stderr}"
    );
}

#[test]
fn every_step_of_the_chapter_matches_the_reference() {
    // Sizes that cross the blocked step's 128 × 256 blocks and the kernels' tiles.
    for (m, k, n) in [(1, 1, 1), (7, 13, 5), (37, 300, 261), (130, 129, 67)] {
        let mut rng = Rng::new(11);
        let a: Vec<f32> = (0..m * k).map(|_| rng.uniform(-1.0, 1.0)).collect();
        let b: Vec<f32> = (0..k * n).map(|_| rng.uniform(-1.0, 1.0)).collect();
        let expected = reference::matmul(&a, &b, m, k, n);
        for (name, _, step, _) in steps::STEPS {
            let mut c = vec![f32::NAN; m * n];
            step(m, k, n, &a, &b, &mut c);
            for (index, (x, y)) in c.iter().zip(&expected).enumerate() {
                // f32 sums of up to 300 terms of size ≤ 1: a few 1e-5 at most.
                assert!(
                    (x - y).abs() <= 1e-4,
                    "step {name:?} on {m}×{k}×{n}: element {index}: {x} vs {y}"
                );
            }
        }
    }
}

#[test]
fn the_steps_table_has_a_row_per_step() {
    let report = steps::measure_steps(48, std::time::Duration::from_millis(1));
    assert_eq!(report.rows.len(), 5);
    assert!(report.peak_one_core > 0.0 && report.peak_all_threads > 0.0);
    for row in &report.rows {
        assert!(
            row.gflops.is_finite() && row.gflops > 0.0,
            "{}: {} GFLOPS",
            row.name,
            row.gflops
        );
    }
}

/// A test epilogue that depends on the value, the row and the column, and writes a second output:
/// finishing an element twice, skipping one, or passing the wrong position all change the result.
struct Marked<'a> {
    bias: &'a [f32],
}

impl gemm::Epilogue for Marked<'_> {
    #[inline(always)]
    fn finish_row(&self, i: usize, first_col: usize, values: &mut [f32], extra: &mut [f32]) {
        for (j, y) in values.iter_mut().enumerate() {
            let before = *y;
            *y = 0.5 * before + self.bias[first_col + j] + i as f32 * 1e-3;
            if !extra.is_empty() {
                extra[j] = 2.0 * before + 1.0;
            }
        }
    }
}

#[test]
fn epilogues_finish_every_element_once_with_the_products_bits() {
    // Shapes: tiny; few columns; an empty sum (C = 0, the epilogue then runs as a separate pass,
    // here in several pieces of rows); several blocks of the sum (k > KC) and of columns
    // (n > NC); the shared-B̃ row tasks of a GPT layer (768 × 128 × 512).
    let shapes = [
        (1, 1, 1),
        (7, 5, 3),
        (300, 0, 100),
        (203, 150, 181),
        (389, 600, 90),
        (50, 30, 1100),
        (768, 128, 512),
    ];
    let mut rng = Rng::new(11);
    for (m, k, n) in shapes {
        let a: Vec<f32> = (0..m * k).map(|_| rng.uniform(-1.0, 1.0)).collect();
        let b: Vec<f32> = (0..k * n).map(|_| rng.uniform(-1.0, 1.0)).collect();
        let bias: Vec<f32> = (0..n).map(|_| rng.uniform(-1.0, 1.0)).collect();
        let epilogue = Marked { bias: &bias };
        for b_transposed in [false, true] {
            let b_view = if b_transposed {
                MatRef::new(&b, n, k).t()
            } else {
                MatRef::new(&b, k, n)
            };
            for kernel in supported_kernels() {
                // The expected result: the plain product, then the epilogue over every row.
                let mut expected = vec![0.0; m * n];
                gemm_with(
                    kernel,
                    1,
                    1.0,
                    MatRef::new(&a, m, k),
                    b_view,
                    0.0,
                    MatMut::new(&mut expected, m, n),
                );
                let mut expected_extra = vec![0.0; m * n];
                for (i, (row, extra)) in expected
                    .chunks_exact_mut(n)
                    .zip(expected_extra.chunks_exact_mut(n))
                    .enumerate()
                {
                    gemm::Epilogue::finish_row(&epilogue, i, 0, row, extra);
                }
                for threads in [1, 2, 3] {
                    let mut c = vec![f32::NAN; m * n];
                    let mut extra = vec![f32::NAN; m * n];
                    gemm_epilogue_with(
                        kernel,
                        threads,
                        MatRef::new(&a, m, k),
                        b_view,
                        &mut c,
                        Some(&mut extra),
                        &epilogue,
                    );
                    let same = |x: &[f32], y: &[f32]| {
                        x.iter().zip(y).all(|(p, q)| p.to_bits() == q.to_bits())
                    };
                    assert!(
                        same(&c, &expected) && same(&extra, &expected_extra),
                        "{m}×{k}×{n}, B transposed {b_transposed}, {} kernel, {threads} threads: \
                         the fused epilogue differs from product-then-epilogue",
                        kernel.name()
                    );
                    // Without a second output, the epilogue sees empty slices.
                    let mut alone = vec![f32::NAN; m * n];
                    gemm_epilogue_with(
                        kernel,
                        threads,
                        MatRef::new(&a, m, k),
                        b_view,
                        &mut alone,
                        None,
                        &epilogue,
                    );
                    assert!(same(&alone, &expected), "{m}×{k}×{n}: no second output");
                }
            }
        }
    }
}
