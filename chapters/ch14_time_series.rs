//! Chapter 14 — 时间序列预测项目实操 (stock price forecasting).
//!
//! The tutorial: read a CSV with `Date` and `Close`, sort by date, use windows of `look_back = 10`
//! closes to predict the next one, train on the first 67 % (in time order) an `LSTM(1, 32)` with a
//! `Linear(32, 1)` on the last step, MSE, Adam 0.001, 10 epochs, batch 64, and report the test loss.
//!
//! What the tutorial gets wrong, and this chapter does instead: it never scales the prices (here:
//! scaled with statistics of the training part only), builds its dataset from the unwindowed frame
//! (here: proper windows), feeds the LSTM the wrong layout (here: batch-first `[N, 10, 1]`), and never
//! compares with the naive forecast "tomorrow = today" — which a forecaster must beat to be worth
//! anything. The chapter then shows what practitioners do: predict the relative change instead of
//! the price.

use dlfs::cli::{Args, Command};
use dlfs::data::synthetic_prices;
use dlfs::data::timeseries::{Columns, Scaling, Series, Target, Windows, rmse};
use dlfs::loss::MseLoss;
use dlfs::nn::{LSTM, Linear, RecurrentOutput, Sequential};
use dlfs::optim::Adam;
use dlfs::probability::Rng;
use dlfs::report::{LinePlot, Table};
use dlfs::train::{self, FitConfig, TensorDataset};
use dlfs::{Error, Result, app};
use std::path::{Path, PathBuf};

/// The chapter's flags (`--quick`, `--out`, `--threads` come from `app::chapter_command`).
pub fn command() -> Command {
    app::chapter_command(
        "ch14_time_series",
        "Stock prices: windows, a chronological split, scaling without look-ahead, an LSTM against the naive forecast.",
    )
    .option(
        "csv",
        "FILE",
        "",
        "a price CSV in Yahoo's layout (Date,Open,High,Low,Close,Adj Close,Volume); default: the bundled synthetic file",
    )
    .option("date-column", "NAME", "Date", "the column holding dates")
    .option("value-column", "NAME", "Close", "the column holding the values to forecast")
    .option(
        "target",
        "WHAT",
        "both",
        "price (the tutorial's recipe), relative (next change / last close), or both",
    )
    .option(
        "scaling",
        "KIND",
        "auto",
        "minmax, zscore, or auto (minmax for prices as the tutorial's readers do, zscore for changes); fitted on the training part only",
    )
    .option("look-back", "N", "10", "past values per input window")
    .option("train-fraction", "F", "0.67", "the first F of the days (in time order) train")
    .option("epochs", "N", "10", "passes over the training windows (--quick: 2)")
    .option("batch-size", "N", "64", "windows per mini-batch")
    .option("lr", "RATE", "0.001", "Adam's learning rate")
    .option("hidden", "H", "32", "LSTM hidden units")
    .option("seed", "S", "14", "seed for weights and shuffling")
}

fn heading(title: &str) {
    println!("\n## {title}\n");
}

/// The settings of one run, from the flags.
struct Settings {
    look_back: usize,
    train_fraction: f64,
    epochs: usize,
    batch_size: usize,
    lr: f32,
    hidden: usize,
    seed: u64,
    /// `None`: the usual choice for each target (see `--scaling auto`).
    scaling: Option<Scaling>,
}

fn parse_targets(text: &str) -> Result<Vec<Target>> {
    match text {
        "price" => Ok(vec![Target::Price]),
        "relative" => Ok(vec![Target::Relative]),
        "both" => Ok(vec![Target::Price, Target::Relative]),
        other => Err(Error::usage(format!(
            "--target must be price, relative or both, got {}",
            dlfs::input::excerpt(other)
        ))),
    }
}

fn settings(args: &Args) -> Result<Settings> {
    let scaling = match args.get::<String>("scaling")?.as_str() {
        "auto" => None,
        "minmax" => Some(Scaling::MinMax),
        "zscore" => Some(Scaling::ZScore),
        other => {
            return Err(Error::usage(format!(
                "--scaling must be auto, minmax or zscore, got {}",
                dlfs::input::excerpt(other)
            )));
        }
    };
    let s = Settings {
        look_back: args.get("look-back")?,
        train_fraction: args.get("train-fraction")?,
        epochs: app::quick_or_given(args, "epochs", 2)?,
        batch_size: args.get("batch-size")?,
        lr: args.get("lr")?,
        hidden: args.get("hidden")?,
        seed: args.get("seed")?,
        scaling,
    };
    if s.epochs == 0 || s.batch_size == 0 || s.hidden == 0 {
        return Err(Error::usage(
            "--epochs, --batch-size and --hidden must be at least 1",
        ));
    }
    if !(s.lr > 0.0 && s.lr.is_finite()) {
        return Err(Error::usage("--lr must be a positive number"));
    }
    if s.look_back == 0 {
        return Err(Error::usage("--look-back must be at least 1"));
    }
    if !(s.train_fraction > 0.0 && s.train_fraction < 1.0) {
        return Err(Error::usage(format!(
            "--train-fraction must be strictly between 0 and 1, got {}",
            dlfs::report::readable_number(s.train_fraction)
        )));
    }
    // What --hidden asks for, checked before anything is allocated: the LSTM's weights (4H × (H + 1)
    // floats) with their gradients and Adam's two moments.
    app::MemoryPlan::new().add(
        "--hidden",
        s.hidden,
        "the LSTM's weights, gradients and Adam state (16·H² floats)",
        app::f32_bytes(&[16, s.hidden, s.hidden]),
    )?;
    Ok(s)
}

/// What `--look-back`, `--batch-size` and `--hidden` ask for once the series is known: the window
/// must fit the training part, the windows (about `len × look_back` values, twice: inputs and the
/// batches gathered from them) and one batch through the LSTM (about 12 values a unit and step).
fn check_series_size(s: &Settings, len: usize) -> Result<()> {
    let train_len = (len as f64 * s.train_fraction).floor() as usize;
    if s.look_back >= train_len {
        return Err(Error::usage(format!(
            "--look-back {} does not fit the series: its {len} values give {train_len} training \
             values (--train-fraction {}), and a window of N values needs more than N; use at most {}",
            s.look_back,
            dlfs::report::readable_number(s.train_fraction),
            train_len.saturating_sub(1)
        )));
    }
    let mut plan = app::MemoryPlan::new();
    plan.add(
        "--look-back",
        s.look_back,
        "the windows of the series (2 copies)",
        app::f32_bytes(&[2, len, s.look_back]),
    )?;
    let batch = s.batch_size.min(len);
    plan.add(
        "--batch-size",
        s.batch_size,
        "one batch through the LSTM (12 values a unit and step)",
        app::f32_bytes(&[batch, s.look_back, s.hidden, 12]),
    )
}

/// The chapter itself.
pub fn run(args: &Args) -> Result<()> {
    let out = app::out_dir(args)?;
    let s = settings(args)?;
    let targets = parse_targets(&args.get::<String>("target")?)?;

    heading("14.1 The data: dated closing prices");
    let (series, bundled) = load(args)?;
    check_series_size(&s, series.values.len())?;

    let mut results = Vec::new();
    let mut last_windows = None;
    for (i, &target) in targets.iter().enumerate() {
        // Prices: min-max to [0, 1] (scikit-learn's MinMaxScaler, what the tutorial's readers use).
        // Relative changes: z-score, the usual standardisation of returns.
        let scaling = s.scaling.unwrap_or(match target {
            Target::Price => Scaling::MinMax,
            Target::Relative => Scaling::ZScore,
        });
        let windows =
            Windows::from_series(&series, s.look_back, s.train_fraction, target, scaling)?;
        if i == 0 {
            heading("14.2 Windows and a split in time");
            describe_windows(&series, &windows);
        }
        match target {
            Target::Price => heading("14.3 The tutorial's recipe: predict the next price"),
            Target::Relative => heading("14.4 The fix: predict the relative change"),
        }
        results.push(forecast(&series, &windows, &s, &out)?);
        last_windows = Some(windows);
    }
    if let Some(w) = &last_windows {
        zoom_plot(&series, w, &results, &out)?;
    }

    heading("14.5 The lesson");
    lesson(&results, bundled);
    Ok(())
}

fn load(args: &Args) -> Result<(Series, bool)> {
    let columns = Columns {
        date: args.get("date-column")?,
        value: args.get("value-column")?,
    };
    let (path, bundled) = match args.get_opt::<PathBuf>("csv")? {
        Some(path) => (path, false),
        None => (
            Path::new(env!("CARGO_MANIFEST_DIR")).join(synthetic_prices::BUNDLED_PATH),
            true,
        ),
    };
    let series = Series::read(&path, &columns)?;
    println!(
        "Read {} ({} rows with a value).",
        path.display(),
        series.values.len()
    );
    if bundled {
        println!(
            "No --csv given: this is the bundled SYNTHETIC file (no real company): a 9%-a-year trend, a \
             monthly and a quarterly\ncycle and noise (src/data/synthetic_prices.rs). Download a real \
             one as datasets/README.md says and pass --csv FILE."
        );
    }
    if !series.dropped_lines.is_empty() {
        println!(
            "Dropped {} rows whose {} was missing (lines {:?}).",
            series.dropped_lines.len(),
            columns.value,
            &series.dropped_lines[..series.dropped_lines.len().min(8)]
        );
    }
    let (first, last) = (series.dates[0], series.dates[series.dates.len() - 1]);
    println!(
        "Sorted by date: {first} … {last}; {} from {:.2} to {:.2}.",
        columns.value,
        series.values[0],
        series.values[series.values.len() - 1]
    );
    Ok((series, bundled))
}

fn describe_windows(series: &Series, w: &Windows) {
    let (train, test) = series.values.split_at(w.train_len);
    let range = |v: &[f32]| {
        let min = v.iter().copied().fold(f32::INFINITY, f32::min);
        let max = v.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        (min, max)
    };
    let (train_min, train_max) = range(train);
    let (test_min, test_max) = range(test);
    let mut table = Table::new(&["part", "days", "from", "to", "min", "max", "windows"]);
    table.row(&[
        "training".to_string(),
        train.len().to_string(),
        series.dates[0].to_string(),
        series.dates[w.train_len - 1].to_string(),
        format!("{train_min:.2}"),
        format!("{train_max:.2}"),
        w.train_inputs.dim(0).to_string(),
    ]);
    table.row(&[
        "test".to_string(),
        test.len().to_string(),
        series.dates[w.train_len].to_string(),
        series.dates[series.dates.len() - 1].to_string(),
        format!("{test_min:.2}"),
        format!("{test_max:.2}"),
        w.test_inputs.dim(0).to_string(),
    ]);
    println!("{table}");
    println!(
        "Each input is the {} previous values, shaped [N, {}, 1] (batch-first: N windows, {} steps, 1 \
         feature);\nthe target is the next day. The first {} days train, the rest test — never shuffled \
         across time.\nThe scaler is fitted on the training days only (no look-ahead).",
        w.look_back, w.look_back, w.look_back, w.train_len
    );
    if test_max > train_max || test_min < train_min {
        println!(
            "Note: the test prices reach {test_min:.2}…{test_max:.2}, outside the training range \
             {train_min:.2}…{train_max:.2}:\na model fitted on scaled training prices must extrapolate."
        );
    }
}

/// One target's outcome.
struct Outcome {
    target: Target,
    model_rmse: f32,
    naive_rmse: f32,
    /// The forecasts of the test days, in price units.
    predicted: Vec<f32>,
}

fn forecast(series: &Series, w: &Windows, s: &Settings, out: &Path) -> Result<Outcome> {
    let scaler = w.scaler;
    let what = match w.target {
        Target::Price => "the next close",
        Target::Relative => {
            "the next relative change close_{t+1}/close_t − 1 (each window divided by its last close)"
        }
    };
    println!(
        "Target: {what};\nscaled (v − {:.4}) / {:.4} with statistics of the training part.",
        scaler.offset, scaler.scale
    );
    let mut rng = Rng::new(s.seed);
    let mut model = Sequential::new(vec![
        Box::new(LSTM::new(1, s.hidden, &mut rng).output(RecurrentOutput::LastStep)),
        Box::new(Linear::new(s.hidden, 1, &mut rng)),
    ]);
    let train_data = TensorDataset::new(&w.train_inputs, &w.train_targets)?;
    let mut optimizer = Adam::new(s.lr);
    let config = FitConfig::new(s.epochs, s.batch_size)
        .seed(s.seed)
        .progress(Some("LSTM"));
    let history = train::fit(
        &mut model,
        &mut optimizer,
        &MseLoss::new(),
        &train_data,
        &config,
    )?;
    let losses: Vec<String> = history.losses().iter().map(|l| format!("{l:.5}")).collect();
    println!(
        "LSTM(1, {}) + Linear({}, 1) on the last step, MSE, Adam {}, {} epochs of batch {}:\n  training \
         loss per epoch (scaled units): {}",
        s.hidden,
        s.hidden,
        s.lr,
        s.epochs,
        s.batch_size,
        losses.join(" ")
    );
    let test_data = TensorDataset::new(&w.test_inputs, &w.test_targets)?;
    let test = train::evaluate(
        &mut model,
        &MseLoss::new(),
        &test_data,
        256,
        Default::default(),
    )?;
    let predictions = train::predict(&mut model, &w.test_inputs, 256);
    let predicted = w.to_values(predictions.data());
    let model_rmse = rmse(&predicted, &w.test_actual);
    let naive_rmse = rmse(&w.test_previous, &w.test_actual);
    let mut table = Table::new(&["forecast", "test RMSE (price units)", "vs naive"]);
    table.row(&[
        "naive: tomorrow = today".to_string(),
        format!("{naive_rmse:.4}"),
        "1.00×".to_string(),
    ]);
    table.row(&[
        "LSTM".to_string(),
        format!("{model_rmse:.4}"),
        format!("{:.2}×", model_rmse / naive_rmse),
    ]);
    println!(
        "  test MSE in scaled units {:.5} (what the tutorial reports)\n\n{table}",
        test.loss
    );
    if w.target == Target::Price {
        let highest_prediction = predicted.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let highest_actual = w
            .test_actual
            .iter()
            .copied()
            .fold(f32::NEG_INFINITY, f32::max);
        println!(
            "Highest forecast {highest_prediction:.2} against a highest actual price of \
             {highest_actual:.2}."
        );
    }
    let name = match w.target {
        Target::Price => "price",
        Target::Relative => "relative",
    };
    let days: Vec<f64> = w.test_index.iter().map(|&i| i as f64).collect();
    let points = |values: &[f32]| -> Vec<(f64, f64)> {
        days.iter()
            .zip(values)
            .map(|(&d, &v)| (d, f64::from(v)))
            .collect()
    };
    let path = out.join(format!("forecast_{name}.svg"));
    LinePlot::new(&format!("Test period: LSTM ({name} target) vs actual"))
        .x_label(&format!(
            "trading day ({} … {})",
            series.dates[w.test_index[0]],
            series.dates[series.dates.len() - 1]
        ))
        .y_label("close")
        .line("actual", &points(&w.test_actual))
        .line(&format!("LSTM ({name})"), &points(&predicted))
        .dashed("naive", &points(&w.test_previous))
        .save(&path)?;
    println!("wrote {}", path.display());
    Ok(Outcome {
        target: w.target,
        model_rmse,
        naive_rmse,
        predicted,
    })
}

/// The last 100 test days, every forecast on one plot (the whole period is too dense to read).
fn zoom_plot(series: &Series, w: &Windows, results: &[Outcome], out: &Path) -> Result<()> {
    let start = w.test_index.len().saturating_sub(100);
    let days: Vec<f64> = w.test_index[start..].iter().map(|&i| i as f64).collect();
    let points = |values: &[f32]| -> Vec<(f64, f64)> {
        days.iter()
            .zip(&values[start..])
            .map(|(&d, &v)| (d, f64::from(v)))
            .collect()
    };
    let mut plot = LinePlot::new(&format!(
        "The last 100 test days ({} … {})",
        series.dates[w.test_index[start]],
        series.dates[series.dates.len() - 1]
    ))
    .x_label("trading day")
    .y_label("close")
    .line("actual", &points(&w.test_actual));
    for r in results {
        let name = match r.target {
            Target::Price => "LSTM (price)",
            Target::Relative => "LSTM (relative)",
        };
        plot = plot.line(name, &points(&r.predicted));
    }
    let path = out.join("forecast_last_100_days.svg");
    plot.dashed("naive", &points(&w.test_previous))
        .save(&path)?;
    println!("\nwrote {}", path.display());
    Ok(())
}

fn lesson(results: &[Outcome], bundled: bool) {
    let mut table = Table::new(&[
        "target",
        "LSTM RMSE",
        "naive RMSE",
        "LSTM / naive",
        "verdict",
    ]);
    for r in results {
        let ratio = r.model_rmse / r.naive_rmse;
        table.row(&[
            match r.target {
                Target::Price => "price (tutorial)".to_string(),
                Target::Relative => "relative change".to_string(),
            },
            format!("{:.4}", r.model_rmse),
            format!("{:.4}", r.naive_rmse),
            format!("{ratio:.2}×"),
            if ratio < 1.0 {
                "beats naive".to_string()
            } else {
                "worse than naive".to_string()
            },
        ]);
    }
    println!("{table}");
    println!(
        "A forecaster is worth something only if it beats the naive forecast \"tomorrow = today\".\n\
         Scaled to the training range, a trending price leaves that range in the test years and the \
         LSTM's\nsquashing units saturate: PyTorch with exactly the tutorial's recipe lost to the naive \
         forecast on all ten\nreal tickers we tried, by 1.5× to 37× in RMSE. A scale-free target (the \
         relative change) keeps the\ntest data in the range the model was fitted on."
    );
    if bundled {
        println!(
            "The synthetic file has learnable structure (cycles, reverting noise), so a model can beat \
             the naive\nforecast there. Real prices are close to a random walk: tomorrow's change is \
             nearly unpredictable from\nthe last ten closes, and the honest result on a real download \
             is usually a tie with the naive forecast at best."
        );
    }
}

fn main() {
    app::main_for(command(), run);
}
