//! How a fast matrix multiply works, in five steps (chapter 2, "how a fast matmul works").
//!
//! Each step is a small function computing the same `C = A·B` on row-major buffers (`a` is `m × k`,
//! `b` is `k × n`, `c` is `m × n`, overwritten); each is tested against [`crate::linalg::reference`],
//! and [`measure_steps`] times them all on the learner's machine so the chapter can print how many
//! GFLOPS (billions of floating-point operations per second; a product does `2·m·n·k`) each idea buys:
//!
//! 1. [`naive`] — the definition, `C[i][j] = Σₚ A[i][p]·B[p][j]`. The inner loop walks down a column
//!    of B: every step jumps `n` floats ahead, touching a new cache line each time.
//! 2. [`reordered`] — the same arithmetic in the order `i, p, j`: the inner loop now adds a multiple of
//!    a row of B to a row of C, both contiguous, which the compiler turns into SIMD instructions.
//! 3. [`blocked`] — the same, in blocks of B small enough to stay in the cache while every row of A
//!    passes over them, so B is read from memory once per block instead of once per row of A. (On
//!    Zen 4 it gains little over step 2: the prefetcher already streams B well, and both steps are
//!    limited by loading and storing C for every multiply-add.)
//! 4. [`packed_simd`] — the real thing on one thread: blocks copied ("packed") into the exact order a
//!    hand-written microkernel reads them, which keeps a 6 × 64 tile of C in vector registers (see
//!    the [`super`] module docs).
//! 5. [`threaded`] — the same, with the rows (or columns) of C shared among all cores.
//!
//! What it leaves out: the steps use `f32` sums in a fixed order, so they agree with the reference to
//! rounding, not bit for bit; the timings are single measurements on a machine that may be busy.

use super::{Kernel, MatMut, MatRef, current_kernel, gemm_with, measure_peak_gflops};
use crate::parallel;
use std::time::{Duration, Instant};

/// Checks the buffer lengths of `C = A·B` and panics naming the shapes if they do not fit.
fn check_shapes(what: &str, m: usize, k: usize, n: usize, a: &[f32], b: &[f32], c: &[f32]) {
    assert!(
        a.len() == m * k && b.len() == k * n && c.len() == m * n,
        "{what}: buffers of {}, {} and {} floats do not hold A {m}×{k}, B {k}×{n}, C {m}×{n}",
        a.len(),
        b.len(),
        c.len()
    );
}

/// Step 1: the definition. For each `(i, j)`, a dot product of row `i` of A with column `j` of B.
pub fn naive(m: usize, k: usize, n: usize, a: &[f32], b: &[f32], c: &mut [f32]) {
    check_shapes("steps::naive", m, k, n, a, b, c);
    for i in 0..m {
        let a_row = &a[i * k..(i + 1) * k];
        for j in 0..n {
            let mut sum = 0.0f32;
            for (p, &a_value) in a_row.iter().enumerate() {
                sum += a_value * b[p * n + j];
            }
            c[i * n + j] = sum;
        }
    }
}

/// Step 2: loop order `i, p, j`. `C[i, :] += A[i][p] · B[p, :]` — contiguous rows, vectorisable.
pub fn reordered(m: usize, k: usize, n: usize, a: &[f32], b: &[f32], c: &mut [f32]) {
    check_shapes("steps::reordered", m, k, n, a, b, c);
    c.fill(0.0);
    for (a_row, c_row) in a.chunks_exact(k).zip(c.chunks_exact_mut(n)) {
        for (&a_value, b_row) in a_row.iter().zip(b.chunks_exact(n)) {
            for (sum, &b_value) in c_row.iter_mut().zip(b_row) {
                *sum += a_value * b_value;
            }
        }
    }
}

/// Rows of B per block in [`blocked`].
const BLOCK_K: usize = 128;
/// Columns of B per block in [`blocked`]: 128 × 256 floats = 128 KiB, which stays in L2.
const BLOCK_N: usize = 256;

/// Step 3: step 2 on one `BLOCK_K × BLOCK_N` block of B at a time, so the block stays in the cache
/// while all `m` rows of A use it.
pub fn blocked(m: usize, k: usize, n: usize, a: &[f32], b: &[f32], c: &mut [f32]) {
    check_shapes("steps::blocked", m, k, n, a, b, c);
    c.fill(0.0);
    for p0 in (0..k).step_by(BLOCK_K) {
        let p1 = (p0 + BLOCK_K).min(k);
        for j0 in (0..n).step_by(BLOCK_N) {
            let j1 = (j0 + BLOCK_N).min(n);
            for (a_row, c_row) in a.chunks_exact(k).zip(c.chunks_exact_mut(n)) {
                let c_part = &mut c_row[j0..j1];
                for (p, &a_value) in a_row[p0..p1].iter().enumerate() {
                    let b_part = &b[(p0 + p) * n + j0..(p0 + p) * n + j1];
                    for (sum, &b_value) in c_part.iter_mut().zip(b_part) {
                        *sum += a_value * b_value;
                    }
                }
            }
        }
    }
}

/// Step 4: packing + the SIMD microkernel ([`current_kernel`]), on one thread.
pub fn packed_simd(m: usize, k: usize, n: usize, a: &[f32], b: &[f32], c: &mut [f32]) {
    check_shapes("steps::packed_simd", m, k, n, a, b, c);
    gemm_with(
        current_kernel(),
        1,
        1.0,
        MatRef::new(a, m, k),
        MatRef::new(b, k, n),
        0.0,
        MatMut::new(c, m, n),
    );
}

/// Step 5: step 4 with C cut into one piece per thread ([`parallel::num_threads`]).
pub fn threaded(m: usize, k: usize, n: usize, a: &[f32], b: &[f32], c: &mut [f32]) {
    check_shapes("steps::threaded", m, k, n, a, b, c);
    gemm_with(
        current_kernel(),
        parallel::num_threads(),
        1.0,
        MatRef::new(a, m, k),
        MatRef::new(b, k, n),
        0.0,
        MatMut::new(c, m, n),
    );
}

/// The signature shared by the steps.
pub type StepFn = fn(usize, usize, usize, &[f32], &[f32], &mut [f32]);

/// The five steps in order: (name, what changes, function, uses all threads).
pub const STEPS: [(&str, &str, StepFn, bool); 5] = [
    ("1 naive", "C[i][j] = Σ A[i][p]·B[p][j]", naive, false),
    (
        "2 loop order i,p,j",
        "contiguous inner loop",
        reordered,
        false,
    ),
    ("3 cache blocking", "B in L2-sized blocks", blocked, false),
    (
        "4 packing + SIMD",
        "microkernel, 1 thread",
        packed_simd,
        false,
    ),
    ("5 threads", "rows of C split over cores", threaded, true),
];

/// One step's measurement.
#[derive(Clone, Debug)]
pub struct StepRow {
    /// The step's name, e.g. `"3 cache blocking"`.
    pub name: &'static str,
    /// What it changes, in a few words.
    pub what: &'static str,
    /// Threads it used.
    pub threads: usize,
    /// Speed, in GFLOPS (median of the timed runs).
    pub gflops: f64,
    /// Speed as a percentage of the measured peak of the cores it used.
    pub percent_of_peak: f64,
}

/// All steps measured on one square size.
#[derive(Clone, Debug)]
pub struct StepReport {
    /// The matrices are `size × size`.
    pub size: usize,
    /// The SIMD kernel of steps 4 and 5.
    pub kernel: Kernel,
    /// Measured peak of one core, GFLOPS (see [`measure_peak_gflops`]).
    pub peak_one_core: f64,
    /// Measured peak of all threads at once, GFLOPS.
    pub peak_all_threads: f64,
    /// One row per step, in order.
    pub rows: Vec<StepRow>,
}

/// Times `f` (once to warm up, then until `budget` is spent, at least once and at most 9 times) and
/// returns the median duration.
fn median_time(budget: Duration, mut f: impl FnMut()) -> Duration {
    f();
    let started = Instant::now();
    let mut times = Vec::new();
    while times.is_empty() || (started.elapsed() < budget && times.len() < 9) {
        let start = Instant::now();
        f();
        times.push(start.elapsed());
    }
    times.sort();
    times[times.len() / 2]
}

/// Runs every step on `size × size` matrices, checks each against step 4's result, and measures its
/// GFLOPS and % of the measured peak. `budget_per_step` bounds the timing runs (each step still runs
/// at least twice: a warm-up and one timed run; the naive step at 1024 takes seconds).
///
/// Panics if a step disagrees with the packed kernel by more than rounding (`1e-3` relative to the
/// largest value of C): the table would be timing a wrong answer.
pub fn measure_steps(size: usize, budget_per_step: Duration) -> StepReport {
    let kernel = current_kernel();
    let threads = parallel::num_threads();
    let peak_one_core = measure_peak_gflops(kernel, 1);
    let peak_all_threads = measure_peak_gflops(kernel, threads);
    let mut rng = crate::probability::Rng::new(2);
    let a: Vec<f32> = (0..size * size).map(|_| rng.uniform(-1.0, 1.0)).collect();
    let b: Vec<f32> = (0..size * size).map(|_| rng.uniform(-1.0, 1.0)).collect();
    let mut expected = vec![0.0; size * size];
    packed_simd(size, size, size, &a, &b, &mut expected);
    let largest = expected.iter().fold(1.0f32, |m, v| m.max(v.abs()));
    let flops = 2.0 * (size as f64).powi(3);
    let rows = STEPS
        .iter()
        .map(|&(name, what, step, all_threads)| {
            let mut c = vec![0.0; size * size];
            let time = median_time(budget_per_step, || step(size, size, size, &a, &b, &mut c));
            let worst = c
                .iter()
                .zip(&expected)
                .fold(0.0f32, |w, (x, y)| w.max((x - y).abs()));
            assert!(
                worst <= 1e-3 * largest,
                "step {name:?} differs from the packed kernel by {worst} (largest |C| = {largest})"
            );
            let gflops = flops / time.as_secs_f64() / 1e9;
            let (used, peak) = if all_threads {
                (threads, peak_all_threads)
            } else {
                (1, peak_one_core)
            };
            StepRow {
                name,
                what,
                threads: used,
                gflops,
                percent_of_peak: 100.0 * gflops / peak,
            }
        })
        .collect();
    StepReport {
        size,
        kernel,
        peak_one_core,
        peak_all_threads,
        rows,
    }
}
