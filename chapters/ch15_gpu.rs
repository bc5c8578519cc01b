//! Chapter 15 — 硬件加速 (hardware acceleration): the GPU, from the driver up.
//!
//! The tutorial's set-up section says: *"using a GPU can significantly speed up computation: make
//! sure NVIDIA CUDA and cuDNN are installed and TensorFlow or PyTorch is configured for the GPU"*,
//! with `export TF_FORCE_GPU_ALLOW_GROWTH=true` and `export CUDA_VISIBLE_DEVICES=0`. This chapter
//! opens that box, using the crate's own GPU path (`dlfs::gpu`: the CUDA driver loaded by hand,
//! kernels written in PTX):
//!
//! 1. what a GPU is good at, and what it costs;
//! 2. finding the GPU — no CUDA toolkit and no cuDNN, only the driver;
//! 3. a first kernel, and every driver call it took, in order;
//! 4. the costs measured: a kernel launch, a copy over the bus;
//! 5. matrix multiply (SGEMM) on the GPU and the CPU, and the size where the GPU starts to win;
//! 6. the same MLP trained on both devices, step by step, with the same start and the same batches.
//!
//! `--device cpu` skips the GPU; without a GPU the chapter says why, shows the CPU side, and
//! succeeds.

use dlfs::cli::{Args, Command};
use dlfs::gpu::measure::{copy_time, launch_latency, median, time_sgemm};
use dlfs::gpu::{Gpu, GpuMlp, GpuOptimizer, SgdConfig};
use dlfs::linalg::gemm_nn;
use dlfs::loss::{Reduction, cross_entropy};
use dlfs::nn::{Layer, Linear, Mode, Relu, Sequential, zero_grad};
use dlfs::optim::{Optimizer, Sgd};
use dlfs::probability::Rng;
use dlfs::report::{LinePlot, Table};
use dlfs::{Error, Result, Tensor, app, parallel};
use std::time::Instant;

/// The chapter's flags (`--quick`, `--out`, `--threads` come from `app::chapter_command`).
pub fn command() -> Command {
    app::chapter_command(
        "ch15_gpu",
        "Hardware acceleration: the CUDA driver by hand, PTX kernels, GPU vs CPU matrix multiply \
         and MLP training",
    )
    .option(
        "device",
        "DEVICE",
        "cuda",
        "cuda: use the GPU when there is one; cpu: skip the GPU sections",
    )
}

/// The chapter itself.
pub fn run(args: &Args) -> Result<()> {
    let quick = args.flag("quick");
    let device: String = args.get("device")?;
    let want_gpu = match device.as_str() {
        "cuda" | "gpu" => true,
        "cpu" => false,
        other => {
            return Err(Error::usage(format!(
                "--device must be cuda or cpu, got {}",
                dlfs::input::excerpt(other)
            )));
        }
    };
    let out = app::out_dir(args)?;

    println!("# 15. 硬件加速 — hardware acceleration (GPU)");
    heading("15.1 What a GPU is good at, and what it costs");
    println!(
        "The tutorial: \"使用GPU可以显著提升计算速度\" — a GPU can speed computation up significantly.\n\
         A CPU has a few strong cores ({} threads here), each fast on its own. A GPU has many\n\
         simple ones: an H100 has 132 multiprocessors of 128 f32 lanes, 16 896 lanes in all, and\n\
         memory 10× faster than a CPU's. It wins when one operation runs on many independent\n\
         numbers — a matrix product, a ReLU over a batch. It loses on small or sequential work,\n\
         because every kernel launch costs microseconds and every copy crosses the PCIe bus.",
        parallel::num_threads()
    );

    heading("15.2 Finding the GPU (only the driver is needed)");
    println!(
        "The tutorial installs CUDA and cuDNN. Programs that use the *runtime* (PyTorch, TensorFlow)\n\
         need those libraries; underneath, everything goes through the *driver*, libcuda.so.1, which\n\
         ships with the NVIDIA driver itself. dlfs opens it with dlopen and looks up ~30 functions\n\
         by name (src/gpu/driver.rs): no toolkit, no cuDNN, nothing linked at build time.\n\
         CUDA_VISIBLE_DEVICES (the tutorial sets it to 0) is read by the driver itself;\n\
         here it is {}.",
        std::env::var("CUDA_VISIBLE_DEVICES")
            .map(|v| format!("'{v}'"))
            .unwrap_or_else(|_| "not set (every GPU is visible; dlfs uses device 0)".to_string())
    );
    let gpu = if want_gpu {
        match Gpu::new() {
            Ok(gpu) => Some(gpu),
            Err(e) => {
                // Error::Gpu's Display adds a "GPU: " prefix: print only the message.
                let message = match &e {
                    Error::Gpu(message) => message.clone(),
                    other => other.to_string(),
                };
                println!("\nNo GPU found:");
                for line in wrap(&message, 96).lines() {
                    println!("  {line}");
                }
                println!(
                    "\nThis run therefore measures only the CPU side: 15.3–15.4 are skipped, and \
                     15.5–15.6 show\nthe CPU column alone. Nothing below says how fast a GPU is."
                );
                None
            }
        }
    } else {
        println!(
            "\n--device cpu: the GPU sections are skipped and 15.5–15.6 show the CPU column alone."
        );
        None
    };
    if let Some(gpu) = &gpu {
        print_device(gpu)?;
    }

    if let Some(gpu) = &gpu {
        heading("15.3 A first kernel, call by call");
        first_kernel(gpu)?;
        heading("15.4 What it costs: a launch, a copy");
        costs(gpu, quick)?;
    } else {
        heading("15.3–15.4 A first kernel; launch and copy costs");
        println!("(skipped: no GPU)");
    }

    heading("15.5 Matrix multiply: GPU against CPU, and where the GPU starts to win");
    let sgemm = sgemm_comparison(gpu.as_ref(), quick, &out)?;

    heading("15.6 The same MLP trained on both devices");
    let mlp = mlp_comparison(gpu.as_ref(), quick, &out)?;

    heading("Summary");
    println!("{}", summary(&sgemm, &mlp));
    Ok(())
}

/// What 15.5 measured.
#[derive(Clone, Debug, Default)]
pub struct SgemmFindings {
    /// `(n, CPU GFLOPS)` for every size timed.
    pub cpu: Vec<(usize, f64)>,
    /// `(n, GPU kernel GFLOPS, GPU GFLOPS counting the copies)`; empty without a GPU.
    pub gpu: Vec<(usize, f64, f64)>,
}

impl SgemmFindings {
    /// The first size at which the GPU (kernel alone, or with copies) beats the CPU.
    fn crossover(&self, with_copies: bool) -> Option<usize> {
        self.gpu
            .iter()
            .zip(&self.cpu)
            .find(|((_, kernel, copies), (_, cpu))| {
                (if with_copies { *copies } else { *kernel }) > *cpu
            })
            .map(|((n, _, _), _)| *n)
    }
}

/// What 15.6 measured: samples per second on each device (`None`: that device did not run).
#[derive(Clone, Debug, Default)]
pub struct MlpFindings {
    /// CPU training throughput, samples/s.
    pub cpu_rate: f64,
    /// GPU training throughput, samples/s.
    pub gpu_rate: Option<f64>,
}

/// The chapter's conclusion, built only from what this run measured.
pub fn summary(sgemm: &SgemmFindings, mlp: &MlpFindings) -> String {
    let memory = "TF_FORCE_GPU_ALLOW_GROWTH asks TensorFlow not to grab all GPU memory up front; dlfs \
                  never does:\neach DeviceBuffer allocates exactly what it holds and frees it when \
                  dropped.";
    let best_cpu =
        sgemm.cpu.iter().copied().fold(
            (0, 0.0f64),
            |best, (n, g)| if g > best.1 { (n, g) } else { best },
        );
    let Some(gpu_rate) = mlp.gpu_rate.filter(|_| !sgemm.gpu.is_empty()) else {
        return format!(
            "This run had no GPU, so it measured the CPU side only: SGEMM up to {:.1} GFLOPS (n = {}),\n\
             the MLP trained at {:.0} samples/s. Whether the tutorial's \"a GPU speeds computation up\n\
             significantly\" holds here, and from which size on, cannot be said from this run: run the\n\
             chapter on a machine with an NVIDIA GPU and its driver to measure both sides.\n{memory}",
            best_cpu.1, best_cpu.0, mlp.cpu_rate
        );
    };
    let (largest, gpu_kernel, gpu_copies) = *sgemm.gpu.last().expect("not empty");
    let cpu_at_largest = sgemm.cpu.last().map_or(f64::NAN, |c| c.1);
    let crossover = |with_copies: bool| {
        sgemm
            .crossover(with_copies)
            .map_or("at none of the sizes timed".to_string(), |n| {
                format!("from n = {n} on")
            })
    };
    let mlp_ratio = gpu_rate / mlp.cpu_rate;
    let verdict = if mlp_ratio > 1.5 && gpu_kernel > cpu_at_largest {
        "holds here for large, parallel work"
    } else {
        "did not hold on this machine for the sizes timed"
    };
    format!(
        "Measured in this run: at n = {largest} the GPU's SGEMM kernel ran {:.1}× the CPU's speed \
         ({:.1}× counting\nthe copies); the kernel alone beat the CPU {}, with copies {}. \
         The MLP trained\nat {gpu_rate:.0} samples/s on the GPU against {:.0} on the CPU ({mlp_ratio:.1}×). \
         So the tutorial's sentence\n{verdict}; below the crossover, launch and copy costs (15.4) \
         make the CPU faster.\n{memory}",
        gpu_kernel / cpu_at_largest,
        gpu_copies / cpu_at_largest,
        crossover(false),
        crossover(true),
        mlp.cpu_rate,
    )
}

/// Breaks `text` into lines of at most `width` characters at spaces.
fn wrap(text: &str, width: usize) -> String {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    lines.push(line);
    lines.join("\n")
}

fn heading(title: &str) {
    println!("\n## {title}\n");
}

/// Device facts, as the driver reports them.
fn print_device(gpu: &Gpu) -> Result<()> {
    let info = gpu.info();
    let (free, total) = gpu.memory_info()?;
    let mut table = Table::new(&["property", "value"]);
    table.row(&["device", info.name.as_str()]);
    table.row(&[
        "compute capability".to_string(),
        format!(
            "{} (the kernels are PTX for sm_80, compiled by the driver for it)",
            info.sm_name()
        ),
    ]);
    table.row(&[
        "multiprocessors".to_string(),
        info.multiprocessors.to_string(),
    ]);
    table.row(&[
        "f32 lanes".to_string(),
        format!(
            "{} × {} = {}",
            info.multiprocessors,
            info.fp32_lanes_per_multiprocessor(),
            info.multiprocessors * info.fp32_lanes_per_multiprocessor()
        ),
    ]);
    table.row(&[
        "peak f32".to_string(),
        info.peak_fp32_gflops()
            .map_or("not reported".to_string(), |g| {
                format!("{:.1} TFLOPS", g / 1e3)
            }),
    ]);
    table.row(&[
        "memory".to_string(),
        format!("{} MiB ({} MiB free)", total >> 20, free >> 20),
    ]);
    table.row(&[
        "peak memory bandwidth".to_string(),
        info.peak_bandwidth_gbs()
            .map_or("not reported".to_string(), |b| format!("{b:.0} GB/s")),
    ]);
    table.row(&[
        "driver".to_string(),
        format!(
            "CUDA {}.{} via {}",
            info.driver_version / 1000,
            (info.driver_version % 1000) / 10,
            gpu.driver_library()
        ),
    ]);
    println!("\n{table}");
    Ok(())
}

/// ReLU of five numbers on the GPU, then the driver calls made so far.
fn first_kernel(gpu: &Gpu) -> Result<()> {
    let x = [-2.0f32, -1.0, 0.0, 1.0, 2.0];
    let input = gpu.upload(&x)?;
    let mut output = gpu.zeros::<f32>(x.len())?;
    gpu.relu_forward(&input, &mut output, x.len())?;
    let y = output.to_vec()?;
    println!("relu({x:?}) on the GPU = {y:?}");
    println!(
        "(compiling the crate's PTX took {:.0} ms in the driver's JIT; it happens once)\n",
        gpu.load_kernels()?
    );
    drop(input);
    drop(output);
    println!("Every driver call so far, in order (repeats folded):");
    let log = gpu.call_log();
    for (i, (call, count)) in log.entries.iter().enumerate().take(60) {
        let times = if *count > 1 {
            format!(" × {count}")
        } else {
            String::new()
        };
        println!("  {:>2}. {call}{times}", i + 1);
    }
    Ok(())
}

/// Launch latency, copy times, and a ReLU on a million numbers on each side.
fn costs(gpu: &Gpu, quick: bool) -> Result<()> {
    let latency = launch_latency(gpu, if quick { 2000 } else { 20000 }, 200)?;
    println!(
        "An empty kernel: {:.1} µs per launch when queued back to back; {:.1} µs for launch + wait.\n",
        latency.queued_us, latency.round_trip_us
    );
    let mut table = Table::new(&[
        "floats",
        "bytes",
        "host → GPU",
        "GPU → host",
        "GB/s (→ GPU)",
    ]);
    let largest = if quick { 1 << 22 } else { 1 << 24 };
    let mut floats = 1usize;
    while floats <= largest {
        let (up, down) = copy_time(gpu, floats, 5)?;
        table.row(&[
            floats.to_string(),
            human_bytes(4 * floats),
            human_seconds(up),
            human_seconds(down),
            format!("{:.2}", 4.0 * floats as f64 / up / 1e9),
        ]);
        floats *= 64;
    }
    println!("Copies (median of 5; ordinary pageable host memory):\n\n{table}");

    // One million ReLUs: on the CPU, on the GPU (kernel only), and the copies it would need.
    let n = 1 << 20;
    let mut rng = Rng::new(15);
    let x = Tensor::randn(&[n], 0.0, 1.0, &mut rng);
    let mut cpu_times = Vec::new();
    for _ in 0..5 {
        let start = Instant::now();
        let y = x.map(dlfs::nn::relu);
        cpu_times.push(start.elapsed().as_secs_f64());
        std::hint::black_box(y);
    }
    let input = gpu.upload(x.data())?;
    let mut output = gpu.zeros::<f32>(n)?;
    gpu.relu_forward(&input, &mut output, n)?;
    let mut gpu_times = Vec::new();
    for _ in 0..5 {
        gpu_times.push(f64::from(gpu.time_ms(|| gpu.relu_forward(&input, &mut output, n))?) / 1e3);
    }
    let (up, down) = copy_time(gpu, n, 3)?;
    println!(
        "\nReLU of 2^20 floats: CPU {} (1 thread), GPU kernel {}, copies there and back {}.\n\
         The kernel is fast, but sending the data costs more than the CPU's whole computation:\n\
         work should stay on the GPU between steps (15.6 keeps weights and activations there).",
        human_seconds(median(&mut cpu_times)),
        human_seconds(median(&mut gpu_times)),
        human_seconds(up + down)
    );
    Ok(())
}

/// GFLOPS of `gemm_nn` on the CPU (median of `runs`), and the product itself.
fn cpu_sgemm(size: usize, runs: usize, rng: &mut Rng) -> (f64, Vec<f32>, Vec<f32>, Vec<f32>) {
    let a: Vec<f32> = (0..size * size).map(|_| rng.uniform(-1.0, 1.0)).collect();
    let b: Vec<f32> = (0..size * size).map(|_| rng.uniform(-1.0, 1.0)).collect();
    let mut c = vec![0.0f32; size * size];
    gemm_nn(size, size, size, &a, &b, &mut c, 0.0);
    let mut times = Vec::new();
    for _ in 0..runs {
        let start = Instant::now();
        gemm_nn(size, size, size, &a, &b, &mut c, 0.0);
        times.push(start.elapsed().as_secs_f64());
    }
    let gflops = 2.0 * (size as f64).powi(3) / median(&mut times) / 1e9;
    (gflops, a, b, c)
}

fn sgemm_comparison(
    gpu: Option<&Gpu>,
    quick: bool,
    out: &std::path::Path,
) -> Result<SgemmFindings> {
    let sizes: &[usize] = if quick {
        &[64, 128, 256, 512]
    } else {
        &[64, 128, 256, 512, 1024, 2048]
    };
    let mut rng = Rng::new(2);
    let mut headers = vec!["n (n×n×n)", "CPU GFLOPS"];
    if gpu.is_some() {
        headers.extend([
            "GPU kernel GFLOPS",
            "GPU incl. copies",
            "GPU kernel",
            "max |GPU − CPU|",
        ]);
    }
    let mut table = Table::new(&headers);
    let (mut cpu_points, mut gpu_points, mut copy_points) = (Vec::new(), Vec::new(), Vec::new());
    let mut findings = SgemmFindings::default();
    for &size in sizes {
        let runs = if size <= 256 { 5 } else { 2 };
        let (cpu_gflops, a, b, c) = cpu_sgemm(size, runs, &mut rng);
        cpu_points.push(((size as f64).log2(), cpu_gflops));
        findings.cpu.push((size, cpu_gflops));
        let mut row = vec![size.to_string(), format!("{cpu_gflops:.1}")];
        if let Some(gpu) = gpu {
            let timing = time_sgemm(gpu, size, size, size, false, false, false, 10, 5)?;
            // The same product on the GPU, to show it is the same numbers.
            let (da, db) = (gpu.upload(&a)?, gpu.upload(&b)?);
            let mut dc = gpu.zeros::<f32>(size * size)?;
            gpu.gemm_nn(size, size, size, &da, &db, &mut dc, 0.0)?;
            let difference = dc
                .to_vec()?
                .iter()
                .zip(&c)
                .map(|(g, c)| (g - c).abs())
                .fold(0.0f32, f32::max);
            gpu_points.push(((size as f64).log2(), timing.gflops()));
            copy_points.push(((size as f64).log2(), timing.gflops_with_copies()));
            findings
                .gpu
                .push((size, timing.gflops(), timing.gflops_with_copies()));
            row.extend([
                format!("{:.1}", timing.gflops()),
                format!("{:.1}", timing.gflops_with_copies()),
                timing.kernel.to_string(),
                format!("{difference:.1e}"),
            ]);
        }
        table.row(&row);
    }
    println!(
        "C = A·B for random n×n matrices; CPU: dlfs::linalg::gemm ({} threads, kernel {}){}.\n\n{table}",
        parallel::num_threads(),
        dlfs::linalg::gemm::kernel_name(),
        if gpu.is_some() {
            "; GPU: the\nhand-written PTX SGEMM (128×128 tiles, 8×8 per thread), timed with GPU events"
        } else {
            ""
        }
    );
    if let Some(gpu) = gpu {
        let describe = |size: Option<usize>| {
            size.map_or("at none of these sizes".to_string(), |s| {
                format!("from n = {s} on")
            })
        };
        println!(
            "\nCrossover: the GPU kernel alone beats the CPU {}; counting the copies of A, B and C\n\
             over the bus, {}.",
            describe(findings.crossover(false)),
            describe(findings.crossover(true))
        );
        if !quick {
            let big = time_sgemm(gpu, 4096, 4096, 4096, false, false, false, 5, 0)?;
            println!(
                "At n = 4096 the GPU kernel runs at {:.0} GFLOPS{} (the CPU would take minutes to\n\
                 measure at this size; `bench gpu` has the full table and cuBLAS is compared in\n\
                 .ci/gpu-check).",
                big.gflops(),
                gpu.info()
                    .peak_fp32_gflops()
                    .map_or(String::new(), |p| format!(
                        ", {:.0}% of the f32 peak",
                        100.0 * big.gflops() / p
                    ))
            );
        }
    }
    let mut plot = LinePlot::new("SGEMM: GFLOPS against matrix size")
        .x_label("log2 n (n×n×n product)")
        .y_label("GFLOPS")
        .line("CPU (dlfs gemm)", &cpu_points);
    if gpu.is_some() {
        plot = plot
            .line("GPU kernel", &gpu_points)
            .dashed("GPU incl. copies", &copy_points);
    }
    let path = out.join("sgemm_gflops.svg");
    dlfs::report::write_atomic(&path, plot.to_svg().as_bytes())?;
    println!("wrote {}", path.display());
    Ok(findings)
}

/// A synthetic classification set: x ~ N(0, 1), labels from a fixed random two-layer "teacher"
/// network (argmax of W₂·relu(W₁x)), so a non-linear model has something to learn.
fn teacher_data(
    rows: usize,
    features: usize,
    classes: usize,
    rng: &mut Rng,
) -> (Tensor, Vec<usize>) {
    let hidden = 32;
    let mut teacher = Sequential::default();
    teacher.push(Linear::new(features, hidden, rng));
    teacher.push(Relu::new());
    teacher.push(Linear::new(hidden, classes, rng));
    let x = Tensor::randn(&[rows, features], 0.0, 1.0, rng);
    let labels = teacher.forward(&x, Mode::Eval).argmax_rows();
    (x, labels)
}

/// The `(weight, bias)` of every Linear of a model, in order.
fn linear_params(model: &mut dyn Layer) -> Vec<(Tensor, Tensor)> {
    let mut tensors = Vec::new();
    model.visit_params(&mut |_, p| tensors.push(p.value.clone()));
    tensors
        .chunks(2)
        .map(|pair| (pair[0].clone(), pair[1].clone()))
        .collect()
}

fn accuracy(predictions: &[usize], labels: &[usize]) -> f64 {
    predictions
        .iter()
        .zip(labels)
        .filter(|(p, l)| p == l)
        .count() as f64
        / labels.len().max(1) as f64
}

fn mlp_comparison(gpu: Option<&Gpu>, quick: bool, out: &std::path::Path) -> Result<MlpFindings> {
    let (samples, features, hidden, classes) = if quick {
        (2560, 64, 128, 10)
    } else {
        (32768, 64, 512, 10)
    };
    let (epochs, batch) = if quick { (2, 128) } else { (8, 256) };
    let (lr, momentum) = (0.05, 0.9);
    let mut rng = Rng::new(1234);
    let (x, labels) = teacher_data(samples, features, classes, &mut rng);
    let train_rows = samples * 4 / 5;
    let train_x = x.select_rows(&(0..train_rows).collect::<Vec<_>>());
    let train_y = labels[..train_rows].to_vec();
    let test_x = x.select_rows(&(train_rows..samples).collect::<Vec<_>>());
    let test_y = labels[train_rows..].to_vec();

    let mut cpu_model = Sequential::default();
    cpu_model.push(Linear::new(features, hidden, &mut rng));
    cpu_model.push(Relu::new());
    cpu_model.push(Linear::new(hidden, hidden, &mut rng));
    cpu_model.push(Relu::new());
    cpu_model.push(Linear::new(hidden, classes, &mut rng));
    let mut cpu_optimizer = Sgd::new(lr).momentum(momentum);
    let gpu_optimizer = GpuOptimizer::Sgd(SgdConfig {
        lr,
        momentum,
        weight_decay: 0.0,
        nesterov: false,
    });
    let mut gpu_model = match gpu {
        Some(gpu) => Some(GpuMlp::new(gpu, &linear_params(&mut cpu_model), batch)?),
        None => None,
    };
    println!(
        "{samples} examples ({train_rows} for training) of {features} features, {classes} classes from a\n\
         random teacher network. Model {features}→{hidden}→{hidden}→{classes} with ReLU, softmax\n\
         cross-entropy, SGD (lr {lr}, momentum {momentum}), batches of {batch}, {epochs} epochs.{}",
        if gpu.is_some() {
            " Both\ndevices start from the same weights (copied from the CPU model) and see the same \
             batches."
        } else {
            " (CPU only:\nno GPU.)"
        }
    );

    let mut table = Table::new(&if gpu.is_some() {
        vec![
            "epoch",
            "CPU loss",
            "GPU loss",
            "max |Δ loss| per step",
            "CPU test acc",
            "GPU test acc",
            "CPU s",
            "GPU s",
        ]
    } else {
        vec!["epoch", "CPU loss", "CPU test acc", "CPU s"]
    });
    let (mut cpu_curve, mut gpu_curve) = (Vec::new(), Vec::new());
    let (mut cpu_seconds, mut gpu_seconds) = (0.0f64, 0.0f64);
    let mut order: Vec<usize> = (0..train_rows).collect();
    let mut step = 0;
    let mut first_steps = Vec::new();
    let mut progress = dlfs::report::Progress::new("training", epochs * train_rows.div_ceil(batch));
    for epoch in 1..=epochs {
        for i in (1..order.len()).rev() {
            order.swap(i, rng.below(i + 1));
        }
        let (mut cpu_sum, mut gpu_sum, mut worst, mut batches) = (0.0f64, 0.0f64, 0.0f32, 0);
        for rows in order.chunks(batch) {
            let xb = train_x.select_rows(rows);
            let yb: Vec<usize> = rows.iter().map(|&r| train_y[r]).collect();
            step += 1;
            let start = Instant::now();
            zero_grad(&mut cpu_model);
            let logits = cpu_model.forward(&xb, Mode::Train);
            let loss = cross_entropy(&logits, &yb, Reduction::Mean);
            if !loss.value.is_finite() {
                return Err(Error::Training {
                    step,
                    message: "the CPU loss is not finite; try a smaller learning rate".to_string(),
                });
            }
            cpu_model.backward(&loss.grad);
            cpu_optimizer.step(&mut cpu_model);
            cpu_seconds += start.elapsed().as_secs_f64();
            cpu_sum += f64::from(loss.value);
            if let Some(model) = gpu_model.as_mut() {
                let start = Instant::now();
                let gpu_loss = model.train_step(&xb, &yb, &gpu_optimizer)?;
                gpu_seconds += start.elapsed().as_secs_f64();
                gpu_sum += f64::from(gpu_loss);
                worst = worst.max((gpu_loss - loss.value).abs());
                if first_steps.len() < 5 {
                    first_steps.push((step, loss.value, gpu_loss));
                }
            }
            batches += 1;
            progress.advance(1);
        }
        let cpu_predictions = cpu_model.forward(&test_x, Mode::Eval).argmax_rows();
        let cpu_loss = cpu_sum / f64::from(batches);
        cpu_curve.push(cpu_loss as f32);
        let mut row = vec![epoch.to_string(), format!("{cpu_loss:.4}")];
        match gpu_model.as_mut() {
            Some(model) => {
                let gpu_loss = gpu_sum / f64::from(batches);
                gpu_curve.push(gpu_loss as f32);
                let gpu_predictions = model.predict(&test_x)?;
                row.extend([
                    format!("{gpu_loss:.4}"),
                    format!("{worst:.1e}"),
                    format!("{:.3}", accuracy(&cpu_predictions, &test_y)),
                    format!("{:.3}", accuracy(&gpu_predictions, &test_y)),
                ]);
            }
            None => row.push(format!("{:.3}", accuracy(&cpu_predictions, &test_y))),
        }
        row.push(format!("{cpu_seconds:.2}"));
        if gpu_model.is_some() {
            row.push(format!("{gpu_seconds:.2}"));
        }
        table.row(&row);
    }
    progress.finish();
    if !first_steps.is_empty() {
        println!("\nThe first steps, side by side:");
        for (step, cpu, gpu) in &first_steps {
            println!(
                "  step {step}: CPU loss {cpu:.6}, GPU loss {gpu:.6}, |Δ| {:.1e}",
                (gpu - cpu).abs()
            );
        }
    }
    print!("\n{table}");
    let trained = (epochs * train_rows) as f64;
    let mut findings = MlpFindings {
        cpu_rate: trained / cpu_seconds,
        gpu_rate: None,
    };
    println!(
        "\nThroughput: CPU {:.0} samples/s ({} threads)",
        trained / cpu_seconds,
        parallel::num_threads()
    );
    if let Some(model) = gpu_model.as_ref() {
        findings.gpu_rate = Some(trained / gpu_seconds);
        println!(
            "            GPU {:.0} samples/s ({:.1}× the CPU)",
            trained / gpu_seconds,
            cpu_seconds / gpu_seconds
        );
        let mut worst = 0.0f32;
        for ((gw, gb), (cw, cb)) in model
            .parameters()?
            .iter()
            .zip(linear_params(&mut cpu_model))
        {
            for (g, c) in gw
                .data()
                .iter()
                .chain(gb.data())
                .zip(cw.data().iter().chain(cb.data()))
            {
                worst = worst.max((g - c).abs());
            }
        }
        println!(
            "After {step} steps the largest difference between a GPU weight and its CPU twin is \
             {worst:.1e}:\nthe two devices compute the same training, up to f32 rounding (sums in a \
             different order,\nthe GPU's approximate exp)."
        );
    }
    let mut plot = LinePlot::new("MLP training loss")
        .x_label("epoch")
        .y_label("mean training loss")
        .line_y("CPU", &cpu_curve);
    if !gpu_curve.is_empty() {
        plot = plot.line_y("GPU", &gpu_curve);
    }
    let path = out.join("mlp_loss.svg");
    dlfs::report::write_atomic(&path, plot.to_svg().as_bytes())?;
    println!("wrote {}", path.display());
    Ok(findings)
}

/// `1.5 KiB`, `64 MiB`.
fn human_bytes(bytes: usize) -> String {
    if bytes >= 1 << 20 {
        format!("{} MiB", bytes >> 20)
    } else if bytes >= 1 << 10 {
        format!("{} KiB", bytes >> 10)
    } else {
        format!("{bytes} B")
    }
}

/// `12.3 µs`, `4.56 ms`, `1.23 s`.
fn human_seconds(seconds: f64) -> String {
    if seconds < 1e-3 {
        format!("{:.1} µs", seconds * 1e6)
    } else if seconds < 1.0 {
        format!("{:.2} ms", seconds * 1e3)
    } else {
        format!("{seconds:.2} s")
    }
}

fn main() {
    app::main_for(command(), run);
}
