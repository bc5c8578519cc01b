//! `bench cnn`: training and inference throughput of chapter 12's CIFAR-10 model at batch 64, and the
//! process's peak memory.
//!
//! ```text
//! bench cnn [--threads T] [--mode train|infer] [--runs R] [--json] [--profile]
//! ```
//!
//! - `train`: images per second through one full training step — forward, cross-entropy, backward,
//!   SGD step (lr 0.001, momentum 0.9) — on a fixed random batch of 64 images `[64, 3, 32, 32]`.
//! - `infer`: images per second through the forward pass in evaluation mode.
//!
//! Each row is the median of R timed runs (each at least 0.3 s of steps) after a warm-up. Each
//! (mode, threads) row is measured **in its own child process** (this binary started again with
//! `DLFS_BENCH_CHILD=1`), so that its `peak_rss_mb` — VmHWM from `/proc/self/status`, the most
//! resident memory the process ever held — belongs to that configuration alone rather than to
//! everything measured before it in one process.
//!
//! `--profile` prints where the time of a training step goes, layer by layer (forward and backward
//! of each, the loss, the optimizer), measured by running the layers one at a time.
//!
//! JSON lines (scripts depend on these names):
//! `{"bench": "cnn", "mode": "train", "threads": 2, "batch": 64, "items_per_s": 5123.4, "peak_rss_mb": 21.5}`
//!
//! The same model in PyTorch, for a same-run comparison (run it alternately with this bench on the
//! same machine; `python torch_cnn_bench.py THREADS train|infer`):
//!
//! ```text
//! import sys, time, torch, torch.nn as nn, torch.nn.functional as F
//! threads, mode = int(sys.argv[1]), sys.argv[2]; torch.set_num_threads(threads); torch.manual_seed(0)
//! class SimpleCNN(nn.Module):
//!     def __init__(self):
//!         super().__init__()
//!         self.conv1 = nn.Conv2d(3, 6, 5); self.pool = nn.MaxPool2d(2, 2); self.conv2 = nn.Conv2d(6, 16, 5)
//!         self.fc1 = nn.Linear(400, 120); self.fc2 = nn.Linear(120, 84); self.fc3 = nn.Linear(84, 10)
//!     def forward(self, x):
//!         x = self.pool(F.relu(self.conv1(x))); x = self.pool(F.relu(self.conv2(x)))
//!         x = x.view(-1, 400); x = F.relu(self.fc1(x)); x = F.relu(self.fc2(x)); return self.fc3(x)
//! model = SimpleCNN(); criterion = nn.CrossEntropyLoss()
//! optimizer = torch.optim.SGD(model.parameters(), lr=0.001, momentum=0.9)
//! x = torch.randn(64, 3, 32, 32); y = torch.randint(0, 10, (64,))
//! def step():
//!     if mode == "train":
//!         optimizer.zero_grad(); criterion(model(x), y).backward(); optimizer.step()
//!     else:
//!         with torch.no_grad(): model(x)
//! for _ in range(20): step()
//! rates = []
//! for _ in range(5):
//!     n, start = 0, time.perf_counter()
//!     while time.perf_counter() - start < 0.6: step(); n += 1
//!     rates.append(64 * n / (time.perf_counter() - start))
//! hwm = [l for l in open("/proc/self/status") if l.startswith("VmHWM")][0].split()[1]
//! print(mode, threads, sorted(rates)[2], int(hwm) / 1024)
//! ```

use crate::measure::{peak_rss_mb, thread_counts};
use dlfs::cli::Args;
use dlfs::loss::{Reduction, cross_entropy};
use dlfs::nn::{CifarCnn, Layer, Mode};
use dlfs::optim::{Optimizer, Sgd};
use dlfs::probability::Rng;
use dlfs::report::Table;
use dlfs::{Error, Result, Tensor, parallel};
use std::time::{Duration, Instant};

/// The batch size of every row.
const BATCH: usize = 64;
/// The least time one timed run lasts.
const RUN_TIME: Duration = Duration::from_millis(300);
/// Marks a child process started by this bench to measure one configuration.
const CHILD_VARIABLE: &str = "DLFS_BENCH_CHILD";

/// One measured row.
struct Row {
    mode: &'static str,
    threads: usize,
    items_per_s: f64,
    peak_rss_mb: f64,
}

impl Row {
    fn json(&self) -> String {
        format!(
            "{{\"bench\": \"cnn\", \"mode\": \"{}\", \"threads\": {}, \"batch\": {BATCH}, \"items_per_s\": {:.1}, \"peak_rss_mb\": {:.1}}}",
            self.mode, self.threads, self.items_per_s, self.peak_rss_mb
        )
    }
}

/// A fixed random batch: normal inputs, uniform labels.
fn random_batch(rng: &mut Rng) -> (Tensor, Vec<usize>) {
    let x = Tensor::randn(&[BATCH, 3, 32, 32], 0.0, 1.0, rng);
    let labels = (0..BATCH).map(|_| rng.below(10)).collect();
    (x, labels)
}

/// One training step: zero_grad, forward, loss, backward, SGD step.
fn train_step(model: &mut CifarCnn, optimizer: &mut Sgd, x: &Tensor, labels: &[usize]) {
    optimizer.zero_grad(model);
    let logits = model.forward(x, Mode::Train);
    let loss = cross_entropy(&logits, labels, Reduction::Mean);
    model.backward(&loss.grad);
    optimizer.step(model);
}

/// Images per second of `mode` (median of `runs` runs) in this process, with the pool at `threads`.
fn measure(mode: &str, threads: usize, runs: usize) -> f64 {
    parallel::set_num_threads(threads);
    let mut rng = Rng::new(12);
    let mut model = CifarCnn::new(&mut rng);
    let mut optimizer = Sgd::new(0.001).momentum(0.9);
    let (x, labels) = random_batch(&mut rng);
    let mut step = || {
        if mode == "train" {
            train_step(&mut model, &mut optimizer, &x, &labels);
        } else {
            std::hint::black_box(model.forward(&x, Mode::Inference));
        }
    };
    for _ in 0..10 {
        step();
    }
    let mut rates: Vec<f64> = (0..runs.max(1))
        .map(|_| {
            let started = Instant::now();
            let mut steps = 0usize;
            while started.elapsed() < RUN_TIME {
                step();
                steps += 1;
            }
            (steps * BATCH) as f64 / started.elapsed().as_secs_f64()
        })
        .collect();
    rates.sort_by(f64::total_cmp);
    rates[rates.len() / 2]
}

/// Measures one configuration in a child process and reads back its JSON line.
fn measure_in_child(mode: &'static str, threads: usize, runs: usize) -> Result<Row> {
    let exe = std::env::current_exe()
        .map_err(|e| Error::io("bench", e, "could not find this program to start it again"))?;
    let output = std::process::Command::new(&exe)
        .args([
            "cnn",
            "--mode",
            mode,
            "--threads",
            &threads.to_string(),
            "--runs",
            &runs.to_string(),
            "--json",
        ])
        .env(CHILD_VARIABLE, "1")
        .output()
        .map_err(|e| {
            Error::io(
                &exe,
                e,
                "could not start a child process for the measurement",
            )
        })?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout
        .lines()
        .find(|l| l.starts_with("{\"bench\": \"cnn\""))
        .ok_or_else(|| {
            Error::data(format!(
                "the child process measuring cnn {mode} with {threads} threads printed no result \
                 (exit status {}): {}",
                output.status,
                String::from_utf8_lossy(&output.stderr)
            ))
        })?;
    let number = |key: &str| -> f64 {
        line.split(&format!("\"{key}\": "))
            .nth(1)
            .and_then(|rest| rest.split([',', '}']).next())
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(f64::NAN)
    };
    Ok(Row {
        mode,
        threads,
        items_per_s: number("items_per_s"),
        peak_rss_mb: number("peak_rss_mb"),
    })
}

/// Time per layer of a training step (forward and backward separately), the loss and the optimizer:
/// the median over `steps` steps of each (medians, because other programs on a shared machine make
/// single steps slow at random).
fn profile(threads: usize, steps: usize) {
    parallel::set_num_threads(threads);
    let mut rng = Rng::new(12);
    let mut model = CifarCnn::new(&mut rng);
    let mut optimizer = Sgd::new(0.001).momentum(0.9);
    let (x, labels) = random_batch(&mut rng);
    let names: Vec<&str> = model.layers_mut().iter().map(|(n, _)| *n).collect();
    // times[k][step]: k = 2·layer (forward), 2·layer + 1 (backward), then the loss, then the step.
    let slots = 2 * names.len() + 2;
    let mut times: Vec<Vec<f64>> = vec![Vec::with_capacity(steps); slots];
    let mut record = |slot: usize, started: Instant, counting: bool| {
        if counting {
            times[slot].push(started.elapsed().as_secs_f64() * 1e3);
        }
    };
    for step in 0..steps + 5 {
        let counting = step >= 5; // the first steps warm up caches and buffers
        optimizer.zero_grad(&mut model);
        let mut layers = model.layers_mut();
        let mut current = x.clone();
        for (i, (_, layer)) in layers.iter_mut().enumerate() {
            let started = Instant::now();
            current = layer.forward(&current, Mode::Train);
            record(2 * i, started, counting);
        }
        let started = Instant::now();
        let loss = cross_entropy(&current, &labels, Reduction::Mean);
        record(slots - 2, started, counting);
        let mut grad = loss.grad;
        for (i, (_, layer)) in layers.iter_mut().enumerate().rev() {
            let started = Instant::now();
            grad = layer.backward(&grad);
            record(2 * i + 1, started, counting);
        }
        drop(layers);
        let started = Instant::now();
        optimizer.step(&mut model);
        record(slots - 1, started, counting);
    }
    let medians: Vec<f64> = times
        .iter_mut()
        .map(|t| {
            t.sort_by(f64::total_cmp);
            t[t.len() / 2]
        })
        .collect();
    let total: f64 = medians.iter().sum();
    let mut table = Table::new(&["layer", "forward ms", "backward ms", "share"]);
    for (i, name) in names.iter().enumerate() {
        let (f, b) = (medians[2 * i], medians[2 * i + 1]);
        table.row(&[
            name.to_string(),
            format!("{f:.3}"),
            format!("{b:.3}"),
            format!("{:.1}%", 100.0 * (f + b) / total),
        ]);
    }
    for (name, ms) in [
        ("cross-entropy", medians[slots - 2]),
        ("SGD step", medians[slots - 1]),
    ] {
        table.row(&[
            name.to_string(),
            format!("{ms:.3}"),
            "-".to_string(),
            format!("{:.1}%", 100.0 * ms / total),
        ]);
    }
    println!(
        "cnn training step, batch {BATCH}, {threads} thread(s): median time per layer over {steps} \
         steps\n\n{table}\n\
         sum {total:.3} ms per step = {:.0} images/s (layers timed one at a time)\n",
        BATCH as f64 * 1e3 / total
    );
}

/// Prints the table (or JSON lines), or the per-layer profile with `--profile`.
pub fn run(args: &Args) -> Result<()> {
    let runs: usize = args.get("runs")?;
    let json = args.flag("json");
    let modes: Vec<&'static str> = match args.get_opt::<String>("mode")?.as_deref() {
        None => vec!["train", "infer"],
        Some("train") => vec!["train"],
        Some("infer") => vec!["infer"],
        Some(other) => {
            return Err(Error::usage(format!(
                "bench cnn: --mode must be train or infer, got {}",
                dlfs::input::excerpt(other)
            )));
        }
    };
    let threads = thread_counts(args)?;
    if args.flag("profile") {
        for &t in &threads {
            profile(t, runs.max(1) * 10);
        }
        return Ok(());
    }
    let child = std::env::var_os(CHILD_VARIABLE).is_some();
    let mut rows = Vec::new();
    for &t in &threads {
        for &mode in &modes {
            let row = if child {
                let items_per_s = measure(mode, t, runs);
                Row {
                    mode,
                    threads: t,
                    items_per_s,
                    peak_rss_mb: peak_rss_mb(),
                }
            } else {
                measure_in_child(mode, t, runs)?
            };
            if json {
                println!("{}", row.json());
            }
            rows.push(row);
        }
    }
    if !json {
        let mut table = Table::new(&["mode", "threads", "batch", "images/s", "peak RSS MB"]);
        for row in &rows {
            table.row(&[
                row.mode.to_string(),
                row.threads.to_string(),
                BATCH.to_string(),
                format!("{:.0}", row.items_per_s),
                format!("{:.1}", row.peak_rss_mb),
            ]);
        }
        println!(
            "cnn: chapter 12's CIFAR-10 model, batch {BATCH} (train = forward + backward + SGD step), \
             median of {runs} runs, each configuration in its own process\n\n{table}"
        );
    }
    Ok(())
}
