//! The generator of `datasets/synthetic_prices.csv`, the bundled stand-in for a stock-price download
//! (chapter 14). The file is in Yahoo Finance's column layout, `Date,Open,High,Low,Close,Adj Close,Volume`,
//! so the same code reads it and a real download.
//!
//! It is **synthetic** — no real company's prices — and contains structure a model can learn:
//! ```text
//! close_t = level_t · (1 + 0.04·sin(2πt/21) + 0.02·sin(2πt/63)) · (1 + ε_t)
//! level_t = 40 · e^{0.00035·t}  (≈ 9 % a year)      ε_t = 0.3·ε_{t−1} + N(0, 0.008²)
//! ```
//! a trend (which takes the test years above the training range, as a rising stock does), a monthly and
//! a quarterly cycle (t counts trading days), and noise that partly reverts. A real price series has
//! none of the cycles and is close to a random walk — chapter 14's lesson.
//!
//! Two rows hold `null` (as Yahoo's files sometimes do), so the loader's handling of missing values is
//! exercised. `tests/ch14_time_series.rs` checks that the bundled file is exactly this generator's
//! output for the default seed, so the file can always be regenerated.

use super::timeseries::Date;
use crate::probability::Rng;
use std::fmt::Write as _;

/// The seed of the bundled file.
pub const SEED: u64 = 14;
/// The number of trading days in the bundled file (about ten years).
pub const DAYS: usize = 2520;
/// The path of the bundled file, relative to the crate root.
pub const BUNDLED_PATH: &str = "datasets/synthetic_prices.csv";

/// Rows (counted from 0 among the trading days) whose values are written as `null`.
const NULL_ROWS: [usize; 2] = [611, 1803];

/// The CSV text of `days` trading days (Monday–Friday from 2014-01-02), deterministic from `seed`.
pub fn generate(days: usize, seed: u64) -> String {
    let mut rng = Rng::new(seed);
    let mut csv = String::from("Date,Open,High,Low,Close,Adj Close,Volume\n");
    let mut date = Date::new(2014, 1, 2).expect("a valid date");
    let mut noise = 0.0f64;
    let mut previous_close = 40.0f64;
    for t in 0..days {
        while date.weekday() >= 5 {
            date = date.next_day();
        }
        let time = t as f64;
        let level = 40.0 * (0.000_35 * time).exp();
        let cycles = 1.0
            + 0.04 * (std::f64::consts::TAU * time / 21.0).sin()
            + 0.02 * (std::f64::consts::TAU * time / 63.0).sin();
        noise = 0.3 * noise + 0.008 * f64::from(rng.normal(0.0, 1.0));
        let close = level * cycles * (1.0 + noise);
        let open = previous_close * (1.0 + 0.003 * f64::from(rng.normal(0.0, 1.0)));
        let high = open.max(close) * (1.0 + 0.004 * f64::from(rng.uniform(0.0, 1.0)));
        let low = open.min(close) * (1.0 - 0.004 * f64::from(rng.uniform(0.0, 1.0)));
        let volume = 1_000_000 + rng.below(4_000_000);
        if NULL_ROWS.contains(&t) {
            let _ = writeln!(csv, "{date},null,null,null,null,null,null");
        } else {
            let _ = writeln!(
                csv,
                "{date},{open:.6},{high:.6},{low:.6},{close:.6},{close:.6},{volume}"
            );
        }
        previous_close = close;
        date = date.next_day();
    }
    csv
}
