//! `bench gemm`: GFLOPS of `linalg::gemm` on square sizes and on the shapes the book's models use,
//! next to the machine's measured peak; `bench gemm-crossover`: where a second thread starts to pay.
//!
//! Each row is timed in several samples (`--runs`, default 5); a sample repeats the product enough
//! times to last a few milliseconds, so even a 64 × 64 product is timed reliably. The table shows the
//! median with the minimum and maximum; `--json` prints one line per row with the median:
//! `{"bench": "gemm", "m": 1024, "n": 1024, "k": 1024, "threads": 2, "kernel": "avx512", "gflops": 187.3}`
//! and one `{"bench": "gemm-peak", …}` line per thread count with the measured peak. The one
//! `C = A·Bᵀ` row (a convolution's weight gradient) ends with an extra field `"form": "nt"`.

use crate::measure::thread_counts;
use dlfs::cli::Args;
use dlfs::linalg::gemm::{
    MatMut, MatRef, current_kernel, gemm_nn, gemm_nt, gemm_with, kernel_name, measure_peak_gflops,
};
use dlfs::probability::Rng;
use dlfs::report::Table;
use dlfs::{Result, parallel};
use std::time::{Duration, Instant};

/// The deep-learning shapes (M, K, N) with the layer they come from. All are `C = A·B` with
/// row-major A and B except the one marked `A·Bᵀ` (B stored as its N × K transpose, `gemm_nt`).
const DL_SHAPES: &[(usize, usize, usize, &str)] = &[
    (64, 400, 120, "LeNet fc1, batch 64"),
    (64, 120, 84, "LeNet fc2"),
    (50176, 75, 6, "conv1 im2col, batch 64"),
    (6400, 150, 16, "conv2 im2col"),
    (64, 128, 256, "LSTM gates"),
    (6, 896, 75, "conv1 weight grad, A·Bᵀ"),
];

/// How long one timed sample lasts at least.
const SAMPLE: Duration = Duration::from_millis(3);

/// Random `rows × cols` values in [-1, 1).
fn random_matrix(rows: usize, cols: usize, rng: &mut Rng) -> Vec<f32> {
    (0..rows * cols).map(|_| rng.uniform(-1.0, 1.0)).collect()
}

/// Times `f`, which does `flops` operations, in `runs` samples of at least [`SAMPLE`] each, and
/// returns (min, median, max) GFLOPS.
fn gflops_samples(flops: f64, runs: usize, mut f: impl FnMut()) -> (f64, f64, f64) {
    f();
    let start = Instant::now();
    f();
    let once = start.elapsed().max(Duration::from_nanos(100));
    let repeats = (SAMPLE.as_secs_f64() / once.as_secs_f64()).ceil().max(1.0) as usize;
    let mut samples: Vec<f64> = (0..runs.max(1))
        .map(|_| {
            let start = Instant::now();
            for _ in 0..repeats {
                f();
            }
            flops * repeats as f64 / start.elapsed().as_secs_f64() / 1e9
        })
        .collect();
    samples.sort_by(f64::total_cmp);
    (
        samples[0],
        samples[samples.len() / 2],
        samples[samples.len() - 1],
    )
}

/// GFLOPS (min, median, max) of one M×K×N product: `C = A·B` through `gemm_nn`, or with
/// `transposed_b` `C = A·Bᵀ` through `gemm_nt` (B stored N × K).
fn gemm_gflops(m: usize, k: usize, n: usize, transposed_b: bool, runs: usize) -> (f64, f64, f64) {
    let mut rng = Rng::new(1);
    let a = random_matrix(m, k, &mut rng);
    let b = random_matrix(k, n, &mut rng);
    let mut c = vec![0.0f32; m * n];
    let flops = 2.0 * (m * n * k) as f64;
    if transposed_b {
        gflops_samples(flops, runs, || gemm_nt(m, n, k, &a, &b, &mut c, 0.0))
    } else {
        gflops_samples(flops, runs, || gemm_nn(m, n, k, &a, &b, &mut c, 0.0))
    }
}

/// Prints the GEMM table (or JSON lines).
pub fn run(args: &Args) -> Result<()> {
    let runs: usize = args.get("runs")?;
    let json = args.flag("json");
    let mut shapes: Vec<(usize, usize, usize, String)> = Vec::new();
    match args.get_opt::<usize>("size")? {
        Some(size) => {
            // Checked before anything is allocated: A, B and C of size × size floats.
            dlfs::app::MemoryPlan::new().add(
                "--size",
                size,
                "the matrices A, B and C (3·N² floats)",
                dlfs::app::f32_bytes(&[3, size, size]),
            )?;
            shapes.push((size, size, size, format!("{size}²")))
        }
        None => {
            for size in [64, 128, 256, 512, 1024, 2048] {
                shapes.push((size, size, size, format!("{size}²")));
            }
            for &(m, k, n, what) in DL_SHAPES {
                shapes.push((m, k, n, what.to_string()));
            }
        }
    }
    let threads = thread_counts(args)?;
    let kernel = current_kernel();
    let mut peaks = Vec::new();
    for &t in &threads {
        parallel::set_num_threads(t);
        let peak = measure_peak_gflops(kernel, t);
        peaks.push(peak);
        if json {
            println!(
                "{{\"bench\": \"gemm-peak\", \"threads\": {t}, \"kernel\": \"{}\", \"gflops\": {peak:.1}}}",
                kernel_name()
            );
        }
    }
    let mut table = Table::new(&[
        "shape M×K×N",
        "what",
        "threads",
        "kernel",
        "GFLOPS",
        "min",
        "max",
        "% of peak",
    ]);
    for &(m, k, n, ref what) in &shapes {
        for (&t, &peak) in threads.iter().zip(&peaks) {
            parallel::set_num_threads(t);
            let transposed_b = what.contains("A·Bᵀ");
            let (low, median, high) = gemm_gflops(m, k, n, transposed_b, runs);
            if json {
                // The A·Bᵀ row says so in an extra last field; the others keep the documented form.
                let form = if transposed_b {
                    ", \"form\": \"nt\""
                } else {
                    ""
                };
                println!(
                    "{{\"bench\": \"gemm\", \"m\": {m}, \"n\": {n}, \"k\": {k}, \"threads\": {t}, \"kernel\": \"{}\", \"gflops\": {median:.1}{form}}}",
                    kernel_name()
                );
            } else {
                table.row(&[
                    format!("{m}×{k}×{n}"),
                    what.clone(),
                    t.to_string(),
                    kernel_name().to_string(),
                    format!("{median:.1}"),
                    format!("{low:.1}"),
                    format!("{high:.1}"),
                    format!("{:.0}%", 100.0 * median / peak),
                ]);
            }
        }
    }
    if !json {
        let peak_text: Vec<String> = threads
            .iter()
            .zip(&peaks)
            .map(|(t, p)| format!("{p:.1} GFLOPS on {t} thread(s)"))
            .collect();
        println!(
            "gemm (C = A·B, f32; A·Bᵀ where marked), median of {runs} samples; measured peak ({} FMA loop): {}\n\n{table}",
            kernel_name(),
            peak_text.join(", ")
        );
    }
    Ok(())
}

/// `bench gemm-crossover`: for square products of growing size, the time on 1 thread and on 2 (or
/// `--threads T`), to see where splitting starts to pay (see `gemm::PARALLEL_MIN_FLOPS`).
pub fn crossover(args: &Args) -> Result<()> {
    let runs: usize = args.get("runs")?;
    let json = args.flag("json");
    let threads = args.get_opt::<usize>("threads")?.unwrap_or(2).max(2);
    parallel::set_num_threads(threads);
    let kernel = current_kernel();
    let mut table = Table::new(&[
        "M=K=N",
        "MFLOP",
        "1 thread µs",
        &format!("{threads} threads µs"),
        "speed-up",
    ]);
    for size in [16, 24, 32, 48, 64, 80, 96, 128, 160, 192, 256] {
        let mut rng = Rng::new(3);
        let a = random_matrix(size, size, &mut rng);
        let b = random_matrix(size, size, &mut rng);
        let mut c = vec![0.0f32; size * size];
        let flops = 2.0 * (size as f64).powi(3);
        let mut micros = [0.0f64; 2];
        for (slot, pieces) in [1, threads].into_iter().enumerate() {
            let (_, median, _) = gflops_samples(flops, runs, || {
                gemm_with(
                    kernel,
                    pieces,
                    1.0,
                    MatRef::new(&a, size, size),
                    MatRef::new(&b, size, size),
                    0.0,
                    MatMut::new(&mut c, size, size),
                )
            });
            micros[slot] = flops / median / 1e3;
        }
        if json {
            println!(
                "{{\"bench\": \"gemm-crossover\", \"m\": {size}, \"n\": {size}, \"k\": {size}, \"threads\": {threads}, \"kernel\": \"{}\", \"one_thread_us\": {:.2}, \"threads_us\": {:.2}}}",
                kernel.name(),
                micros[0],
                micros[1]
            );
        } else {
            table.row(&[
                size.to_string(),
                format!("{:.3}", flops / 1e6),
                format!("{:.1}", micros[0]),
                format!("{:.1}", micros[1]),
                format!("{:.2}×", micros[0] / micros[1]),
            ]);
        }
    }
    if !json {
        println!(
            "gemm: 1 thread vs {threads}, median of {runs} samples (products below {} flops run on one thread)\n\n{table}",
            dlfs::linalg::gemm::PARALLEL_MIN_FLOPS
        );
    }
    Ok(())
}
