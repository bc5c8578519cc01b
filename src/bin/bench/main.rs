//! `bench`: performance tables for dlfs. Measured here, never asserted by a timed test.
//!
//! ```text
//! bench                      every table
//! bench gemm [--size N] [--threads T] [--json]
//! bench gemm-crossover [--threads T] [--json]
//! bench pool [--threads T] [--json]
//! bench cnn [--threads T] [--mode train|infer] [--json] [--profile]
//! bench gpu [--sizes 256,1024,4096] [--runs R] [--json]   (prints `skipped: …` without a GPU)
//! bench lstm [--threads T] [--json]
//! bench gpt [--threads T] [--json] [--profile]
//! ```
//! With `--json`, one JSON object per line (scripts depend on the field names).

mod cnn;
mod gemm;
mod gpt;
mod gpu;
mod lstm;
mod measure;
mod pool;

use dlfs::cli::{Args, Command};
use dlfs::{Error, Result, app};

/// A table's entry point: prints its rows (or JSON lines) for the given flags.
type TableFn = fn(&Args) -> Result<()>;

/// The tables `bench` knows, in the order `bench` with no argument prints them.
const TABLES: &[(&str, TableFn)] = &[
    ("gemm", gemm::run),
    ("gemm-crossover", gemm::crossover),
    ("pool", pool::run),
    ("cnn", cnn::run),
    ("lstm", lstm::run),
    ("gpt", gpt::run),
    ("gpu", gpu::run),
];

fn command() -> Command {
    let names: Vec<&str> = TABLES.iter().map(|(name, _)| *name).collect();
    Command::new(
        "bench",
        "Performance tables: GFLOPS of the matrix multiply, training and inference throughput.",
    )
    .positional(
        "table",
        &format!("which table: {} (default: all)", names.join(", ")),
    )
    .option("size", "N", "", "gemm: only this square size N×N×N")
    .option(
        "sizes",
        "LIST",
        "",
        "gpu: square sizes, comma-separated (default 256,512,1024,2048,4096,8192)",
    )
    .option(
        "threads",
        "T",
        "",
        "only this thread count, at most 1024 (default: 1 and 2)",
    )
    .option(
        "runs",
        "R",
        "5",
        "timed repetitions per row, at most 1000 (the median is reported)",
    )
    .option(
        "mode",
        "MODE",
        "",
        "cnn: only train or only infer (default: both)",
    )
    .switch(
        "profile",
        "cnn, gpt: time each part of a training step instead",
    )
    .switch("json", "one JSON object per line instead of tables")
}

/// The most timed repetitions per row (`--runs`): each is kept to take the median.
const MAX_RUNS: usize = 1000;

fn run(args: &Args) -> Result<()> {
    let runs: usize = args.get("runs")?;
    if !(1..=MAX_RUNS).contains(&runs) {
        return Err(Error::usage(format!(
            "--runs must be from 1 to {MAX_RUNS}, got {runs}"
        )));
    }
    match args.positionals().first() {
        None => {
            for (_, table) in TABLES {
                table(args)?;
            }
            Ok(())
        }
        Some(name) => match TABLES.iter().find(|(n, _)| n == name) {
            Some((_, table)) => table(args),
            None => Err(Error::usage(format!(
                "bench: unknown table {}; known: {}",
                dlfs::input::excerpt(name),
                TABLES
                    .iter()
                    .map(|(n, _)| *n)
                    .collect::<Vec<_>>()
                    .join(", ")
            ))),
        },
    }
}

fn main() {
    app::main_for(command(), run);
}
