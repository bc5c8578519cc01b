//! Timing helpers shared by the bench tables: medians of repeated runs, thread-count lists, memory.

use dlfs::Result;
use dlfs::cli::Args;
use std::time::{Duration, Instant};

/// Runs `f` once to warm up, then `runs` times, and returns (min, median, max) of the timed runs.
pub fn time_runs(runs: usize, mut f: impl FnMut()) -> (Duration, Duration, Duration) {
    f();
    let mut times: Vec<Duration> = (0..runs.max(1))
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .collect();
    times.sort();
    (times[0], times[times.len() / 2], times[times.len() - 1])
}

/// The thread counts a table measures: `--threads T`, or 1 and 2.
pub fn thread_counts(args: &Args) -> Result<Vec<usize>> {
    Ok(match args.get_opt::<usize>("threads")? {
        Some(t) => vec![t.max(1)],
        None => vec![1, 2],
    })
}

/// The most resident memory this process has held, in MiB (VmHWM of `/proc/self/status`); 0 where
/// that file does not exist (not Linux).
pub fn peak_rss_mb() -> f64 {
    let Ok(status) = std::fs::read_to_string("/proc/self/status") else {
        return 0.0;
    };
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| {
            rest.trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<f64>()
                .ok()
        })
        .map_or(0.0, |kib| kib / 1024.0)
}
