//! `bench gpu`: SGEMM GFLOPS of the hand-written PTX kernels on square sizes and on the book's
//! deep-learning shapes, and MLP training throughput on the GPU next to the CPU.
//!
//! Without a GPU it prints `skipped: <reason>` and succeeds, so scripts can run it anywhere.

use crate::measure::time_runs;
use dlfs::cli::Args;
use dlfs::gpu::measure::time_sgemm;
use dlfs::gpu::{Gpu, GpuMlp, GpuOptimizer, SgdConfig};
use dlfs::loss::{Reduction, cross_entropy};
use dlfs::nn::{Layer, Linear, Mode, Relu, Sequential, zero_grad};
use dlfs::optim::{Optimizer, Sgd};
use dlfs::probability::Rng;
use dlfs::report::Table;
use dlfs::{Error, Result, Tensor};
use std::time::Instant;

/// Square sizes measured by default.
const DEFAULT_SIZES: &[usize] = &[256, 512, 1024, 2048, 4096, 8192];

/// Deep-learning shapes: (M, K, N, A transposed, B transposed, what).
const DL_SHAPES: &[(usize, usize, usize, bool, bool, &str)] = &[
    (
        64,
        400,
        120,
        false,
        true,
        "LeNet fc1 forward X·Wᵀ, batch 64",
    ),
    (64, 120, 84, false, true, "LeNet fc2 forward"),
    (50176, 75, 6, false, false, "conv1 im2col, batch 64"),
    (6400, 150, 16, false, false, "conv2 im2col"),
    (64, 128, 256, false, true, "LSTM gates"),
    (
        256,
        784,
        1024,
        false,
        true,
        "MLP 784→1024 forward X·Wᵀ, batch 256",
    ),
    (
        1024,
        256,
        784,
        true,
        false,
        "MLP 784→1024 weight gradient dYᵀ·X",
    ),
    (
        256,
        1024,
        784,
        false,
        false,
        "MLP 784→1024 input gradient dY·W",
    ),
];

/// The MLP of the throughput table: 784 → 1024 → 1024 → 10 (an MNIST-sized classifier).
const MLP_WIDTHS: &[usize] = &[784, 1024, 1024, 10];
/// Its batch size.
const MLP_BATCH: usize = 256;

/// `--sizes 256,512` → [256, 512].
fn parse_sizes(text: &str) -> Result<Vec<usize>> {
    text.split(',')
        .map(|s| {
            s.trim()
                .parse::<usize>()
                .ok()
                .filter(|&v| v > 0)
                .ok_or_else(|| {
                    Error::usage(format!(
                        "--sizes: {} is not a positive integer (expected e.g. 256,1024,4096)",
                        dlfs::input::excerpt(s)
                    ))
                })
        })
        .collect()
}

/// Prints the tables (or JSON lines).
pub fn run(args: &Args) -> Result<()> {
    let json = args.flag("json");
    let runs: usize = args.get::<usize>("runs")?.max(1);
    let sizes = match args.get_opt::<String>("sizes")? {
        Some(text) => parse_sizes(&text)?,
        None => DEFAULT_SIZES.to_vec(),
    };
    // Checked before anything is allocated: A, B and C of each size, on the host and the device.
    for &size in &sizes {
        dlfs::app::MemoryPlan::new().add(
            "--sizes",
            size,
            "the matrices A, B and C (3·N² floats, on the host and on the GPU)",
            dlfs::app::f32_bytes(&[6, size, size]),
        )?;
    }
    let gpu = match Gpu::new() {
        Ok(gpu) => gpu,
        Err(e) => {
            if json {
                println!(
                    "{{\"bench\": \"gpu\", \"skipped\": \"{}\"}}",
                    e.to_string().replace('"', "'").replace('\n', " ")
                );
            } else {
                println!("skipped: {e}");
            }
            return Ok(());
        }
    };
    let info = gpu.info().clone();
    let peak = info.peak_fp32_gflops();
    let jit_ms = gpu.load_kernels()?;
    if json {
        println!(
            "{{\"bench\": \"gpu_device\", \"name\": \"{}\", \"sm\": \"{}\", \"multiprocessors\": {}, \"peak_fp32_gflops\": {:.0}, \"jit_ms\": {jit_ms:.1}}}",
            info.name,
            info.sm_name(),
            info.multiprocessors,
            peak.unwrap_or(f64::NAN)
        );
    } else {
        println!(
            "{} ({}, {} SMs, peak f32 {} GFLOPS), kernels JIT-compiled in {jit_ms:.0} ms\n",
            info.name,
            info.sm_name(),
            info.multiprocessors,
            peak.map_or("?".to_string(), |p| format!("{p:.0}"))
        );
    }

    // Square sizes.
    let mut table = Table::new(&[
        "M=N=K",
        "kernel",
        "ms",
        "GFLOPS",
        "% of peak",
        "strided kernel GFLOPS",
        "GFLOPS incl. copies",
    ]);
    for &size in &sizes {
        let timing = time_sgemm(&gpu, size, size, size, false, false, false, runs, 2)?;
        // The general kernel is slower; measure it up to 4096 only (8192 would take seconds).
        let strided = if size <= 4096 {
            Some(time_sgemm(
                &gpu,
                size,
                size,
                size,
                false,
                false,
                true,
                runs.min(3),
                0,
            )?)
        } else {
            None
        };
        let percent = peak.map(|p| 100.0 * timing.gflops() / p);
        if json {
            println!(
                "{{\"bench\": \"gpu_sgemm\", \"m\": {size}, \"n\": {size}, \"k\": {size}, \"form\": \"nn\", \"kernel\": \"{}\", \"ms\": {:.4}, \"gflops\": {:.1}, \"strided_gflops\": {:.1}, \"gflops_with_copies\": {:.1}}}",
                timing.kernel,
                timing.kernel_ms,
                timing.gflops(),
                strided.as_ref().map_or(f64::NAN, |s| s.gflops()),
                timing.gflops_with_copies()
            );
        } else {
            table.row(&[
                size.to_string(),
                timing.kernel.to_string(),
                format!("{:.3}", timing.kernel_ms),
                format!("{:.0}", timing.gflops()),
                percent.map_or("?".to_string(), |p| format!("{p:.0}%")),
                strided
                    .as_ref()
                    .map_or("—".to_string(), |s| format!("{:.0}", s.gflops())),
                format!("{:.0}", timing.gflops_with_copies()),
            ]);
        }
    }
    if !json {
        println!("SGEMM on the GPU (f32, C = A·B), median of {runs} runs\n\n{table}\n");
    }

    // Deep-learning shapes.
    let mut table = Table::new(&["shape M×K×N", "form", "what", "kernel", "ms", "GFLOPS"]);
    for &(m, k, n, a_t, b_t, what) in DL_SHAPES {
        let timing = time_sgemm(&gpu, m, n, k, a_t, b_t, false, runs, 0)?;
        let form = format!(
            "{}{}",
            if a_t { "t" } else { "n" },
            if b_t { "t" } else { "n" }
        );
        if json {
            println!(
                "{{\"bench\": \"gpu_sgemm\", \"m\": {m}, \"n\": {n}, \"k\": {k}, \"form\": \"{form}\", \"kernel\": \"{}\", \"ms\": {:.4}, \"gflops\": {:.1}}}",
                timing.kernel,
                timing.kernel_ms,
                timing.gflops()
            );
        } else {
            table.row(&[
                format!("{m}×{k}×{n}"),
                form,
                what.to_string(),
                timing.kernel.to_string(),
                format!("{:.4}", timing.kernel_ms),
                format!("{:.0}", timing.gflops()),
            ]);
        }
    }
    if !json {
        println!("SGEMM on deep-learning shapes, median of {runs} runs\n\n{table}\n");
    }

    mlp_throughput(&gpu, runs, json)
}

/// Random layers `(weight [out, in], bias [out])` for [`MLP_WIDTHS`] (He-style scale).
fn mlp_layers(rng: &mut Rng) -> Vec<(Tensor, Tensor)> {
    MLP_WIDTHS
        .windows(2)
        .map(|w| {
            let std = (2.0 / w[0] as f32).sqrt();
            (
                Tensor::randn(&[w[1], w[0]], 0.0, std, rng),
                Tensor::zeros(&[w[1]]),
            )
        })
        .collect()
}

/// MLP training samples per second on the GPU and on the CPU (nn::Sequential, the same model,
/// batch and optimizer).
fn mlp_throughput(gpu: &Gpu, runs: usize, json: bool) -> Result<()> {
    let mut rng = Rng::new(42);
    let layers = mlp_layers(&mut rng);
    let classes = *MLP_WIDTHS.last().expect("widths");
    let x = Tensor::randn(&[MLP_BATCH, MLP_WIDTHS[0]], 0.0, 1.0, &mut rng);
    let labels: Vec<usize> = (0..MLP_BATCH).map(|_| rng.below(classes)).collect();
    let (lr, momentum) = (0.01, 0.9);

    // GPU: 20 steps per timed run.
    let optimizer = GpuOptimizer::Sgd(SgdConfig {
        lr,
        momentum,
        weight_decay: 0.0,
        nesterov: false,
    });
    let mut mlp = GpuMlp::new(gpu, &layers, MLP_BATCH)?;
    let gpu_steps = 20;
    let mut failure = None;
    let (_, gpu_median, _) = time_runs(runs, || {
        for _ in 0..gpu_steps {
            if let Err(e) = mlp.train_step(&x, &labels, &optimizer) {
                failure = Some(e);
                return;
            }
        }
    });
    if let Some(e) = failure {
        return Err(e);
    }
    let gpu_samples = (gpu_steps * MLP_BATCH) as f64 / gpu_median.as_secs_f64();

    // CPU: the same model as nn layers, as many steps per run as fit in about half a second.
    let mut model = Sequential::default();
    for (l, (weight, bias)) in layers.iter().enumerate() {
        if l > 0 {
            model.push(Relu::new());
        }
        model.push(Linear::from_params(weight.clone(), Some(bias.clone())));
    }
    let mut sgd = Sgd::new(lr).momentum(momentum);
    let mut cpu_step = || {
        zero_grad(&mut model);
        let logits = model.forward(&x, Mode::Train);
        let loss = cross_entropy(&logits, &labels, Reduction::Mean);
        model.backward(&loss.grad);
        sgd.step(&mut model);
    };
    let started = Instant::now();
    cpu_step();
    let one_step = started.elapsed().as_secs_f64();
    let cpu_steps = ((0.5 / one_step.max(1e-6)) as usize).clamp(1, 20);
    let (_, cpu_median, _) = time_runs(runs.min(3), || {
        for _ in 0..cpu_steps {
            cpu_step();
        }
    });
    let cpu_samples = (cpu_steps * MLP_BATCH) as f64 / cpu_median.as_secs_f64();

    let model_name = MLP_WIDTHS
        .iter()
        .map(|w| w.to_string())
        .collect::<Vec<_>>()
        .join("→");
    let threads = dlfs::parallel::num_threads();
    if json {
        println!(
            "{{\"bench\": \"gpu_mlp\", \"model\": \"{model_name}\", \"batch\": {MLP_BATCH}, \"device\": \"gpu\", \"samples_per_second\": {gpu_samples:.0}}}"
        );
        println!(
            "{{\"bench\": \"gpu_mlp\", \"model\": \"{model_name}\", \"batch\": {MLP_BATCH}, \"device\": \"cpu\", \"threads\": {threads}, \"samples_per_second\": {cpu_samples:.0}}}"
        );
    } else {
        let mut table = Table::new(&["model", "batch", "device", "samples/s", "speed-up"]);
        table.row(&[
            model_name.clone(),
            MLP_BATCH.to_string(),
            format!("CPU ({threads} threads)"),
            format!("{cpu_samples:.0}"),
            "1.0×".to_string(),
        ]);
        table.row(&[
            model_name,
            MLP_BATCH.to_string(),
            "GPU".to_string(),
            format!("{gpu_samples:.0}"),
            format!("{:.1}×", gpu_samples / cpu_samples),
        ]);
        println!(
            "MLP training (forward, softmax cross-entropy, backward, SGD momentum step), median of \
             {runs} runs\n\n{table}"
        );
    }
    Ok(())
}
