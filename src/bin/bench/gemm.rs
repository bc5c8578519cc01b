//! `bench gemm`: GFLOPS of `linalg::gemm` on square sizes and on the shapes the book's models use.

use crate::measure::{thread_counts, time_runs};
use dlfs::cli::Args;
use dlfs::linalg::gemm::{gemm_nn, kernel_name};
use dlfs::probability::Rng;
use dlfs::report::Table;
use dlfs::{Result, parallel};

/// The deep-learning shapes (M, K, N) with the layer they come from.
const DL_SHAPES: &[(usize, usize, usize, &str)] = &[
    (64, 400, 120, "LeNet fc1, batch 64"),
    (64, 120, 84, "LeNet fc2"),
    (50176, 75, 6, "conv1 im2col, batch 64"),
    (6400, 150, 16, "conv2 im2col"),
    (64, 128, 256, "LSTM gates"),
];

/// GFLOPS of one M×K×N product (median of `runs`).
fn gflops(m: usize, k: usize, n: usize, runs: usize) -> f64 {
    let mut rng = Rng::new(1);
    let a: Vec<f32> = (0..m * k).map(|_| rng.uniform(-1.0, 1.0)).collect();
    let b: Vec<f32> = (0..k * n).map(|_| rng.uniform(-1.0, 1.0)).collect();
    let mut c = vec![0.0f32; m * n];
    let (_, median, _) = time_runs(runs, || gemm_nn(m, n, k, &a, &b, &mut c, 0.0));
    2.0 * (m * n * k) as f64 / median.as_secs_f64() / 1e9
}

/// Prints the table (or JSON lines).
pub fn run(args: &Args) -> Result<()> {
    let runs: usize = args.get("runs")?;
    let json = args.flag("json");
    let mut shapes: Vec<(usize, usize, usize, String)> = Vec::new();
    match args.get_opt::<usize>("size")? {
        Some(size) => shapes.push((size, size, size, format!("{size}²"))),
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
    let mut table = Table::new(&["shape M×K×N", "what", "threads", "kernel", "GFLOPS"]);
    for &(m, k, n, ref what) in &shapes {
        for &t in &threads {
            parallel::set_num_threads(t);
            let g = gflops(m, k, n, runs);
            if json {
                println!(
                    "{{\"bench\": \"gemm\", \"m\": {m}, \"n\": {n}, \"k\": {k}, \"threads\": {t}, \"kernel\": \"{}\", \"gflops\": {g:.1}}}",
                    kernel_name()
                );
            } else {
                table.row(&[
                    format!("{m}×{k}×{n}"),
                    what.clone(),
                    t.to_string(),
                    kernel_name().to_string(),
                    format!("{g:.1}"),
                ]);
            }
        }
    }
    if !json {
        println!("gemm (C = A·B, f32), median of {runs} runs\n\n{table}");
    }
    Ok(())
}
