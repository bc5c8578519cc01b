//! `bench pool`: what one parallel call costs — the persistent pool of `dlfs::parallel` against
//! spawning scoped threads (`std::thread::scope`) for every call.
//!
//! Each call runs 2 (or `--threads T`) tasks that do almost nothing, so the time is the overhead
//! itself: publishing the job and waking the workers, or creating and joining threads. A training
//! step makes hundreds of such calls (one or more per layer), which is why the pool exists and keeps
//! its one `unsafe` line (see `src/parallel.rs`).

use crate::measure::time_runs;
use dlfs::cli::Args;
use dlfs::report::Table;
use dlfs::{Result, parallel};
use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Calls per timed sample.
const CALLS: usize = 2000;

/// Microseconds per call of `call` (min, median, max over `runs` samples of [`CALLS`] calls).
fn micros_per_call(runs: usize, mut call: impl FnMut()) -> (f64, f64, f64) {
    let per_call = |d: std::time::Duration| d.as_secs_f64() * 1e6 / CALLS as f64;
    let (low, median, high) = time_runs(runs, || {
        for _ in 0..CALLS {
            call();
        }
    });
    (per_call(low), per_call(median), per_call(high))
}

/// Prints the table (or JSON lines).
pub fn run(args: &Args) -> Result<()> {
    let runs: usize = args.get("runs")?;
    let json = args.flag("json");
    let threads = args.get_opt::<usize>("threads")?.unwrap_or(2).max(2);
    parallel::set_num_threads(threads);
    let counter = AtomicUsize::new(0);
    let task = |i: usize| {
        counter.fetch_add(black_box(i), Ordering::Relaxed);
    };
    let pool = micros_per_call(runs, || parallel::parallel_for(threads, task));
    let spawn = micros_per_call(runs, || {
        std::thread::scope(|scope| {
            for i in 1..threads {
                scope.spawn(move || task(i));
            }
            task(0);
        })
    });
    let inline = micros_per_call(runs, || (0..threads).for_each(task));
    let rows = [
        ("pool (dlfs::parallel::parallel_for)", pool),
        ("std::thread::scope, spawn per call", spawn),
        ("no threads (tasks in a loop)", inline),
    ];
    if json {
        for (what, (_, median, _)) in rows {
            println!(
                "{{\"bench\": \"pool\", \"method\": \"{what}\", \"threads\": {threads}, \"us_per_call\": {median:.3}}}"
            );
        }
        return Ok(());
    }
    let mut table = Table::new(&["method", "µs per call", "min", "max"]);
    for (what, (low, median, high)) in rows {
        table.row(&[
            what.to_string(),
            format!("{median:.2}"),
            format!("{low:.2}"),
            format!("{high:.2}"),
        ]);
    }
    println!(
        "one parallel call of {threads} near-empty tasks, median of {runs} samples of {CALLS} calls\n\n{table}"
    );
    Ok(())
}
