//! `bench gpt`: training throughput of chapter 16's character-level GPT (nanoGPT's CPU
//! configuration), in tokens per second, and the process's peak memory.
//!
//! ```text
//! bench gpt [--threads T] [--runs R] [--json] [--profile]
//! ```
//!
//! The model is [`dlfs::nn::Gpt`] with `GptConfig::nano_cpu(65)` (4 layers, 4 heads, width 128,
//! context 64, a vocabulary of 65 characters as in nanoGPT's Shakespeare: 809,856 parameters). One
//! step is what chapter 16 runs 2000 times: zero the gradients, forward a batch of 12 sequences of 64
//! tokens, next-token cross-entropy, backward, clip the gradient norm to 1, AdamW (lr 10⁻³, betas
//! 0.9/0.99, weight decay 0.1 on matrices). Items are tokens (768 per step), on a fixed random batch.
//!
//! Each row is the median of R timed runs (each at least 0.5 s and 2 steps) after a warm-up, **in its
//! own child process** (as `bench lstm`), so that `peak_rss_mb` (VmHWM) belongs to that row alone.
//! `--profile` prints how a step's time splits between forward, loss, backward, clipping and the
//! optimizer instead.
//!
//! JSON lines (scripts depend on these names):
//! `{"bench": "gpt", "mode": "train", "threads": 2, "items_per_s": …, "peak_rss_mb": …}` (tokens per
//! second, median of the runs; the child process's peak resident memory in MB)
//!
//! The same step in PyTorch, for a same-run comparison (nanoGPT's `model.py` with `n_layer=4,
//! n_head=4, n_embd=128, block_size=64, bias=True, dropout=0`, written compactly; run it alternately
//! with this bench on the same machine: `python torch_gpt_bench.py THREADS STEPS`):
//!
//! ```text
//! import sys, time, math, torch, torch.nn as nn, torch.nn.functional as F
//! threads, steps = int(sys.argv[1]), int(sys.argv[2]); torch.set_num_threads(threads); torch.manual_seed(0)
//! E, H, T, L, V = 128, 4, 64, 4, 65
//! class Attention(nn.Module):
//!     def __init__(self):
//!         super().__init__(); self.c_attn = nn.Linear(E, 3 * E); self.c_proj = nn.Linear(E, E)
//!     def forward(self, x):
//!         B = x.shape[0]; q, k, v = self.c_attn(x).split(E, dim=2)
//!         q, k, v = (t.view(B, T, H, E // H).transpose(1, 2) for t in (q, k, v))   # (B, nh, T, hs)
//!         y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
//!         return self.c_proj(y.transpose(1, 2).contiguous().view(B, T, E))
//! class Block(nn.Module):
//!     def __init__(self):
//!         super().__init__(); self.ln_1 = nn.LayerNorm(E); self.attn = Attention(); self.ln_2 = nn.LayerNorm(E)
//!         self.c_fc = nn.Linear(E, 4 * E); self.c_proj = nn.Linear(4 * E, E); self.gelu = nn.GELU()
//!     def forward(self, x):
//!         x = x + self.attn(self.ln_1(x)); return x + self.c_proj(self.gelu(self.c_fc(self.ln_2(x))))
//! class GPT(nn.Module):
//!     def __init__(self):
//!         super().__init__(); self.wte = nn.Embedding(V, E); self.wpe = nn.Embedding(T, E)
//!         self.h = nn.ModuleList([Block() for _ in range(L)]); self.ln_f = nn.LayerNorm(E)
//!         self.lm_head = nn.Linear(E, V, bias=False); self.lm_head.weight = self.wte.weight
//!     def forward(self, idx):
//!         x = self.wte(idx) + self.wpe(torch.arange(T))
//!         for block in self.h: x = block(x)
//!         return self.lm_head(self.ln_f(x))
//! model = GPT()
//! groups = [{"params": [p for p in model.parameters() if p.dim() >= 2], "weight_decay": 0.1},
//!           {"params": [p for p in model.parameters() if p.dim() < 2], "weight_decay": 0.0}]
//! opt = torch.optim.AdamW(groups, lr=1e-3, betas=(0.9, 0.99))
//! x, y = torch.randint(0, V, (12, T)), torch.randint(0, V, (12, T))
//! def step():
//!     loss = F.cross_entropy(model(x).view(-1, V), y.view(-1))
//!     opt.zero_grad(set_to_none=True); loss.backward()
//!     torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0); opt.step()
//! for _ in range(5): step()
//! times = []
//! for _ in range(steps):
//!     start = time.perf_counter(); step(); times.append(time.perf_counter() - start)
//! hwm = [l for l in open("/proc/self/status") if l.startswith("VmHWM")][0].split()[1]
//! print(threads, 12 * T / sorted(times)[len(times) // 2], "tokens/s", int(hwm) / 1024, "MB")
//! ```

use crate::measure::{peak_rss_mb, thread_counts};
use dlfs::cli::Args;
use dlfs::nn::{Gpt, GptConfig, Layer, Mode, next_token_loss, zero_grad};
use dlfs::optim::{AdamW, Optimizer, clip_grad_norm};
use dlfs::probability::Rng;
use dlfs::report::Table;
use dlfs::{Error, Result, Tensor, parallel};
use std::time::{Duration, Instant};

/// Sequences per step (nanoGPT's `batch_size`).
const BATCH: usize = 12;
/// Tokens per sequence (nanoGPT's `block_size`).
const CONTEXT: usize = 64;
/// The vocabulary of nanoGPT's Shakespeare characters.
const VOCABULARY: usize = 65;
/// The least time one timed run lasts.
const RUN_TIME: Duration = Duration::from_millis(500);
/// Marks a child process started by a bench to measure one configuration.
const CHILD_VARIABLE: &str = "DLFS_BENCH_CHILD";

/// The model, its optimizer and a fixed random batch.
struct Setup {
    model: Gpt,
    optimizer: AdamW,
    inputs: Tensor,
    targets: Vec<usize>,
}

fn setup() -> Setup {
    let mut rng = Rng::new(16);
    let model = Gpt::new(GptConfig::nano_cpu(VOCABULARY), &mut rng);
    let optimizer = AdamW::new(1e-3)
        .betas(0.9, 0.99)
        .weight_decay(0.1)
        .decay_matrices_only();
    let inputs = Tensor::from_fn(&[BATCH, CONTEXT], |_| rng.below(VOCABULARY) as f32);
    let targets = (0..BATCH * CONTEXT)
        .map(|_| rng.below(VOCABULARY))
        .collect();
    Setup {
        model,
        optimizer,
        inputs,
        targets,
    }
}

/// One training step; returns the loss.
fn step(s: &mut Setup) -> Result<f32> {
    zero_grad(&mut s.model);
    let logits = s.model.forward(&s.inputs, Mode::Train);
    let loss = next_token_loss(&logits, &s.targets);
    if !loss.value.is_finite() {
        return Err(Error::Training {
            step: s.optimizer.steps_taken() + 1,
            message: format!("bench gpt: the loss became {}", loss.value),
        });
    }
    s.model.backward(&loss.grad);
    clip_grad_norm(&mut s.model, 1.0);
    s.optimizer.step(&mut s.model);
    Ok(loss.value)
}

/// Tokens per second (median of `runs` runs) in this process, with the pool at `threads`.
fn measure(threads: usize, runs: usize) -> Result<f64> {
    parallel::set_num_threads(threads);
    let mut s = setup();
    for _ in 0..3 {
        step(&mut s)?;
    }
    let mut rates = Vec::with_capacity(runs.max(1));
    for _ in 0..runs.max(1) {
        let started = Instant::now();
        let mut steps = 0usize;
        while started.elapsed() < RUN_TIME || steps < 2 {
            step(&mut s)?;
            steps += 1;
        }
        rates.push((steps * BATCH * CONTEXT) as f64 / started.elapsed().as_secs_f64());
    }
    rates.sort_by(f64::total_cmp);
    Ok(rates[rates.len() / 2])
}

/// Where a step's time goes: the median over `runs` steps of each part, in milliseconds.
fn profile(threads: usize, runs: usize) -> Result<()> {
    parallel::set_num_threads(threads);
    let mut s = setup();
    for _ in 0..3 {
        step(&mut s)?;
    }
    let parts = ["zero_grad", "forward", "loss", "backward", "clip", "AdamW"];
    let mut times: Vec<Vec<f64>> = vec![Vec::new(); parts.len()];
    for _ in 0..runs.max(5) * 4 {
        let mut mark = Instant::now();
        let mut lap = |i: usize, times: &mut Vec<Vec<f64>>| {
            times[i].push(mark.elapsed().as_secs_f64() * 1e3);
            mark = Instant::now();
        };
        zero_grad(&mut s.model);
        lap(0, &mut times);
        let logits = s.model.forward(&s.inputs, Mode::Train);
        lap(1, &mut times);
        let loss = next_token_loss(&logits, &s.targets);
        lap(2, &mut times);
        s.model.backward(&loss.grad);
        lap(3, &mut times);
        clip_grad_norm(&mut s.model, 1.0);
        lap(4, &mut times);
        s.optimizer.step(&mut s.model);
        lap(5, &mut times);
    }
    let mut table = Table::new(&["part", "median ms"]);
    let mut total = 0.0;
    for (name, mut samples) in parts.iter().zip(times) {
        samples.sort_by(f64::total_cmp);
        let median = samples[samples.len() / 2];
        total += median;
        table.row(&[name.to_string(), format!("{median:.2}")]);
    }
    table.row(&["total".to_string(), format!("{total:.2}")]);
    println!(
        "gpt: one training step of nanoGPT's CPU configuration (batch {BATCH} × {CONTEXT} tokens), {threads} threads\n\n{table}"
    );
    Ok(())
}

/// Measures one row in a child process and reads back its JSON line.
fn measure_in_child(threads: usize, runs: usize) -> Result<(f64, f64)> {
    let exe = std::env::current_exe()
        .map_err(|e| Error::io("bench", e, "could not find this program to start it again"))?;
    let output = std::process::Command::new(&exe)
        .args([
            "gpt",
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
        .find(|l| l.starts_with("{\"bench\": \"gpt\""))
        .ok_or_else(|| {
            Error::data(format!(
                "the child process measuring gpt with {threads} threads printed no result (exit \
                 status {}): {}",
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
    Ok((number("items_per_s"), number("peak_rss_mb")))
}

fn json(threads: usize, items_per_s: f64, peak_rss_mb: f64) -> String {
    format!(
        "{{\"bench\": \"gpt\", \"mode\": \"train\", \"threads\": {threads}, \"items_per_s\": {items_per_s:.1}, \"peak_rss_mb\": {peak_rss_mb:.1}}}"
    )
}

/// Prints the table (or JSON lines, or the profile).
pub fn run(args: &Args) -> Result<()> {
    let runs: usize = args.get("runs")?;
    let threads = thread_counts(args)?;
    if args.flag("profile") {
        return profile(threads[0], runs);
    }
    // In a child: measure, print one JSON line, done.
    if std::env::var_os(CHILD_VARIABLE).is_some() {
        let t = threads[0];
        let rate = measure(t, runs)?;
        println!("{}", json(t, rate, peak_rss_mb()));
        return Ok(());
    }
    let mut table = Table::new(&["threads", "tokens/s", "ms per step", "peak RSS MB"]);
    for &t in &threads {
        let (rate, rss) = measure_in_child(t, runs)?;
        if args.flag("json") {
            println!("{}", json(t, rate, rss));
        }
        table.row(&[
            t.to_string(),
            format!("{rate:.0}"),
            format!("{:.1}", 1e3 * (BATCH * CONTEXT) as f64 / rate),
            format!("{rss:.1}"),
        ]);
    }
    if !args.flag("json") {
        println!(
            "gpt: training nanoGPT's CPU configuration (4 layers, 4 heads, width 128, context 64, \
             vocabulary {VOCABULARY}: 809,856 parameters),\nbatch {BATCH} × {CONTEXT} tokens, \
             forward + loss + backward + clipping + AdamW, median of {runs} runs, each row in its \
             own process\n\n{table}"
        );
    }
    Ok(())
}
