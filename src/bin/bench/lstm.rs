//! `bench lstm`: training and inference throughput of the two LSTM models of the book, and the
//! process's peak memory.
//!
//! ```text
//! bench lstm [--threads T] [--runs R] [--json]
//! ```
//!
//! - `imdb_lstm` (chapter 13): `Embedding(10000, 128) → LSTM(128, 64, sequence) → LSTM(64, 64, last) →
//!   Linear(64, 64) → ReLU → Linear(64, 1) → Sigmoid`, batch 64 of 500 random token ids; items are
//!   sequences. `train` = one full step (zero_grad, forward, binary cross-entropy, backward, Adam
//!   lr 0.001); `infer` = the forward pass in evaluation mode. About 250 MFLOP per training sequence.
//! - `timeseries_lstm` (chapter 14): `LSTM(1, 32, last) → Linear(32, 1)`, batch 64 windows of 10
//!   values, MSE, Adam lr 0.001; items are windows (samples).
//!
//! Each row is the median of R timed runs (each at least 0.5 s and 2 steps) after a warm-up, on a fixed
//! random batch. Each row runs **in its own child process** (this binary started again with
//! `DLFS_BENCH_CHILD=1` and `DLFS_BENCH_LSTM_ROW=<bench>:<mode>`), so that its `peak_rss_mb` — VmHWM
//! from `/proc/self/status`, the most resident memory that process ever held (binary, thread stacks,
//! model, optimizer state, activations kept for backward) — belongs to that row alone.
//!
//! JSON lines (scripts depend on these names):
//! `{"bench": "imdb_lstm", "mode": "train", "threads": 2, "batch": 64, "items_per_s": 210.0, "peak_rss_mb": 40.1}`
//! and the same with `"bench": "timeseries_lstm"`.
//!
//! The same models in PyTorch, for a same-run comparison (`python torch_lstm_bench.py imdb|ts
//! train|infer THREADS`, run alternately with this bench on the same machine):
//!
//! ```text
//! import sys, time, torch, torch.nn as nn
//! which, mode, threads = sys.argv[1], sys.argv[2], int(sys.argv[3])
//! torch.set_num_threads(threads); torch.manual_seed(0)
//! class Imdb(nn.Module):
//!     def __init__(self):
//!         super().__init__()
//!         self.emb = nn.Embedding(10000, 128); self.l1 = nn.LSTM(128, 64, batch_first=True)
//!         self.l2 = nn.LSTM(64, 64, batch_first=True)
//!         self.head = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 1), nn.Sigmoid())
//!     def forward(self, x):
//!         h, _ = self.l1(self.emb(x)); h, _ = self.l2(h); return self.head(h[:, -1])
//! class Series(nn.Module):
//!     def __init__(self):
//!         super().__init__(); self.lstm = nn.LSTM(1, 32, batch_first=True); self.fc = nn.Linear(32, 1)
//!     def forward(self, x):
//!         h, _ = self.lstm(x); return self.fc(h[:, -1])
//! if which == "imdb":
//!     model, loss_fn = Imdb(), nn.BCELoss()
//!     x, y = torch.randint(0, 10000, (64, 500)), torch.randint(0, 2, (64, 1)).float()
//! else:
//!     model, loss_fn = Series(), nn.MSELoss()
//!     x, y = torch.randn(64, 10, 1), torch.randn(64, 1)
//! opt = torch.optim.Adam(model.parameters(), lr=0.001)
//! def step():
//!     if mode == "train":
//!         opt.zero_grad(); loss_fn(model(x), y).backward(); opt.step()
//!     else:
//!         with torch.no_grad(): model(x)
//! for _ in range(3): step()
//! rates = []
//! for _ in range(5):
//!     n, start = 0, time.perf_counter()
//!     while time.perf_counter() - start < 0.5 or n < 2: step(); n += 1
//!     rates.append(64 * n / (time.perf_counter() - start))
//! hwm = [l for l in open("/proc/self/status") if l.startswith("VmHWM")][0].split()[1]
//! print(which, mode, threads, sorted(rates)[2], int(hwm) / 1024)
//! ```

use crate::measure::{peak_rss_mb, thread_counts};
use dlfs::cli::Args;
use dlfs::loss::{BceLoss, Loss, MseLoss};
use dlfs::nn::{Embedding, LSTM, Layer, Linear, Mode, RecurrentOutput, Relu, Sequential, Sigmoid};
use dlfs::optim::Adam;
use dlfs::probability::Rng;
use dlfs::report::Table;
use dlfs::train::train_step;
use dlfs::{Error, Result, Tensor, parallel};
use std::time::{Duration, Instant};

/// The batch size of every row.
const BATCH: usize = 64;
/// The least time one timed run lasts.
const RUN_TIME: Duration = Duration::from_millis(500);
/// Marks a child process started by a bench to measure one configuration.
const CHILD_VARIABLE: &str = "DLFS_BENCH_CHILD";
/// Which row a child measures: `imdb_lstm:train`, `timeseries_lstm:infer`, ….
const ROW_VARIABLE: &str = "DLFS_BENCH_LSTM_ROW";
/// The rows, in the order they are printed.
const ROWS: [(&str, &str); 4] = [
    ("imdb_lstm", "train"),
    ("imdb_lstm", "infer"),
    ("timeseries_lstm", "train"),
    ("timeseries_lstm", "infer"),
];

/// One measured row.
struct Row {
    bench: String,
    mode: String,
    threads: usize,
    items_per_s: f64,
    peak_rss_mb: f64,
}

impl Row {
    fn json(&self) -> String {
        format!(
            "{{\"bench\": \"{}\", \"mode\": \"{}\", \"threads\": {}, \"batch\": {BATCH}, \"items_per_s\": {:.1}, \"peak_rss_mb\": {:.1}}}",
            self.bench, self.mode, self.threads, self.items_per_s, self.peak_rss_mb
        )
    }
}

/// A model, its loss and a fixed random batch for one of the two benches.
fn setup(bench: &str, rng: &mut Rng) -> (Sequential, Box<dyn Loss>, Tensor, Tensor) {
    match bench {
        "imdb_lstm" => {
            let model = Sequential::new(vec![
                Box::new(Embedding::new(10000, 128, rng)),
                Box::new(LSTM::new(128, 64, rng)),
                Box::new(LSTM::new(64, 64, rng).output(RecurrentOutput::LastStep)),
                Box::new(Linear::new(64, 64, rng)),
                Box::new(Relu::new()),
                Box::new(Linear::new(64, 1, rng)),
                Box::new(Sigmoid::new()),
            ]);
            let x = Tensor::from_fn(&[BATCH, 500], |_| rng.below(10000) as f32);
            let y = Tensor::from_fn(&[BATCH, 1], |_| rng.below(2) as f32);
            (model, Box::new(BceLoss::new()), x, y)
        }
        _ => {
            let model = Sequential::new(vec![
                Box::new(LSTM::new(1, 32, rng).output(RecurrentOutput::LastStep)),
                Box::new(Linear::new(32, 1, rng)),
            ]);
            let x = Tensor::randn(&[BATCH, 10, 1], 0.0, 1.0, rng);
            let y = Tensor::randn(&[BATCH, 1], 0.0, 1.0, rng);
            (model, Box::new(MseLoss::new()), x, y)
        }
    }
}

/// Items per second of one row (median of `runs` runs) in this process, with the pool at `threads`.
fn measure(bench: &str, mode: &str, threads: usize, runs: usize) -> Result<f64> {
    parallel::set_num_threads(threads);
    let mut rng = Rng::new(13);
    let (mut model, loss, x, y) = setup(bench, &mut rng);
    let mut optimizer = Adam::new(0.001);
    let mut step = || -> Result<()> {
        if mode == "train" {
            train_step(&mut model, &mut optimizer, loss.as_ref(), &x, &y, None)?;
        } else {
            std::hint::black_box(model.forward(&x, Mode::Inference));
        }
        Ok(())
    };
    for _ in 0..3 {
        step()?;
    }
    let mut rates = Vec::with_capacity(runs.max(1));
    for _ in 0..runs.max(1) {
        let started = Instant::now();
        let mut steps = 0usize;
        while started.elapsed() < RUN_TIME || steps < 2 {
            step()?;
            steps += 1;
        }
        rates.push((steps * BATCH) as f64 / started.elapsed().as_secs_f64());
    }
    rates.sort_by(f64::total_cmp);
    Ok(rates[rates.len() / 2])
}

/// Measures one row in a child process and reads back its JSON line.
fn measure_in_child(bench: &str, mode: &str, threads: usize, runs: usize) -> Result<Row> {
    let exe = std::env::current_exe()
        .map_err(|e| Error::io("bench", e, "could not find this program to start it again"))?;
    let output = std::process::Command::new(&exe)
        .args([
            "lstm",
            "--threads",
            &threads.to_string(),
            "--runs",
            &runs.to_string(),
            "--json",
        ])
        .env(CHILD_VARIABLE, "1")
        .env(ROW_VARIABLE, format!("{bench}:{mode}"))
        .output()
        .map_err(|e| {
            Error::io(
                &exe,
                e,
                "could not start a child process for the measurement",
            )
        })?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let prefix = format!("{{\"bench\": \"{bench}\"");
    let line = stdout.lines().find(|l| l.starts_with(&prefix)).ok_or_else(|| {
        Error::data(format!(
            "the child process measuring {bench} {mode} with {threads} threads printed no result \
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
        bench: bench.to_string(),
        mode: mode.to_string(),
        threads,
        items_per_s: number("items_per_s"),
        peak_rss_mb: number("peak_rss_mb"),
    })
}

/// Prints the table (or JSON lines).
pub fn run(args: &Args) -> Result<()> {
    let runs: usize = args.get("runs")?;
    let json = args.flag("json");
    let threads = thread_counts(args)?;
    // In a child: measure the one row named in the environment, print it, done.
    if std::env::var_os(CHILD_VARIABLE).is_some()
        && let Ok(spec) = std::env::var(ROW_VARIABLE)
    {
        let (bench, mode) = spec
            .split_once(':')
            .filter(|row| ROWS.contains(row))
            .ok_or_else(|| Error::usage(format!("{ROW_VARIABLE}={spec:?} names no lstm row")))?;
        let t = threads[0];
        let row = Row {
            bench: bench.to_string(),
            mode: mode.to_string(),
            threads: t,
            items_per_s: measure(bench, mode, t, runs)?,
            peak_rss_mb: peak_rss_mb(),
        };
        println!("{}", row.json());
        return Ok(());
    }
    let mut rows = Vec::new();
    for &(bench, mode) in &ROWS {
        for &t in &threads {
            let row = measure_in_child(bench, mode, t, runs)?;
            if json {
                println!("{}", row.json());
            }
            rows.push(row);
        }
    }
    if !json {
        let mut table = Table::new(&[
            "bench",
            "mode",
            "threads",
            "batch",
            "items/s",
            "peak RSS MB",
        ]);
        for row in &rows {
            table.row(&[
                row.bench.clone(),
                row.mode.clone(),
                row.threads.to_string(),
                BATCH.to_string(),
                format!("{:.0}", row.items_per_s),
                format!("{:.1}", row.peak_rss_mb),
            ]);
        }
        println!(
            "lstm: chapter 13's IMDB model (items = sequences of 500 ids) and chapter 14's price model \
             (items = windows of 10),\nbatch {BATCH}, train = forward + loss + backward + Adam step, \
             median of {runs} runs, each row in its own process\n\n{table}"
        );
    }
    Ok(())
}
