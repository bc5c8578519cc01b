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
//!
//! Using the trained models (section 14.6): each target's run is saved after every epoch
//! (`lstm_price.safetensors`, `lstm_relative.safetensors`, with their scaler in the metadata and
//! their training state beside them; `--resume` continues them bit for bit), `--predict` forecasts
//! the day after the last one of `--csv` next to the naive forecast, and `--evaluate` scores the
//! saved models on the test part without writing anything.

use dlfs::cli::{Args, Command};
use dlfs::data::synthetic_prices;
use dlfs::data::timeseries::{
    Columns, Scaler, Scaling, Series, Target, Windows, last_window, rmse,
};
use dlfs::loss::MseLoss;
use dlfs::nn::{LSTM, Layer, Linear, Mode, RecurrentOutput, Sequential};
use dlfs::optim::Adam;
use dlfs::probability::Rng;
use dlfs::report::{LinePlot, Table};
use dlfs::train::resume::{SavedRun, TrainingRun};
use dlfs::train::{self, FitConfig, TensorDataset};
use dlfs::{Error, Result, app, checkpoint};
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
    .switch(
        "resume",
        "continue the runs saved in --out after their last complete epoch (with their settings; \
         --epochs may raise the target)",
    )
    .switch(
        "predict",
        "forecast the day after the last one of --csv with the saved model(s), next to the naive \
         forecast",
    )
    .switch(
        "evaluate",
        "score the saved model(s) on the test part of --csv and write nothing",
    )
    .option(
        "weights",
        "FILE",
        "",
        "one model for --predict and --evaluate (default: lstm_price.safetensors and \
         lstm_relative.safetensors in --out, those that exist)",
    )
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
    if args.flag("predict") {
        return predict(args);
    }
    if args.flag("evaluate") {
        return evaluate_saved(args);
    }
    let merged;
    let args = match resume_settings(args)? {
        Some(saved) => {
            merged = saved;
            &merged
        }
        None => args,
    };
    let resume = args.flag("resume");
    let out = app::out_dir(args)?;
    let s = settings(args)?;
    let targets = parse_targets(&args.get::<String>("target")?)?;

    println!("# 14. 时间序列预测项目实操 — time-series forecasting (stock prices)");
    what_the_tutorial_does_wrong();
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
        let run = training_run(args, &s, &windows, scaling)?;
        results.push(forecast(&series, &windows, &s, &out, &run, resume)?);
        last_windows = Some(windows);
    }
    if let Some(w) = &last_windows {
        zoom_plot(&series, w, &results, &out)?;
    }

    heading("14.5 The lesson");
    lesson(&results, bundled);
    Ok(())
}

/// The tutorial's four mistakes and the fix for each (the module docs say the same for readers of the
/// source).
fn what_the_tutorial_does_wrong() {
    println!(
        "\nWhat the tutorial's code does wrong, and what this chapter does instead:\n\
         \x20 1. Its StockDataset is built from the raw `train` frame, not from the windows that\n\
         \x20    create_dataset made (train_x and train_y are computed and never used): each example is\n\
         \x20    one row, not 10 closes. Here every input is the window of the 10 previous closes.\n\
         \x20 2. The prices are never scaled: values of 40–100 push an LSTM's sigmoid and tanh gates into\n\
         \x20    saturation. Here they are scaled with statistics of the training part only (no\n\
         \x20    look-ahead into the test period).\n\
         \x20 3. nn.LSTM is sequence-first ([T, N, F]) by default, but gets the batch first; h₀ and c₀\n\
         \x20    read the batch size from x.size(0) (chapter 9); and the linear layer runs on every step.\n\
         \x20    Here the LSTM is batch-first on [N, 10, 1] and only its last step goes into Linear(32, 1).\n\
         \x20 4. Nothing to compare with: a test loss alone cannot tell a useful forecast from a useless\n\
         \x20    one. Here every RMSE stands next to the naive forecast \"tomorrow = today\"."
    );
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

fn forecast(
    series: &Series,
    w: &Windows,
    s: &Settings,
    out: &Path,
    run: &TrainingRun,
    resume: bool,
) -> Result<Outcome> {
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
    let mut model = forecaster(s.hidden, s.seed);
    let train_data = TensorDataset::new(&w.train_inputs, &w.train_targets)?;
    let mut optimizer = Adam::new(s.lr);
    // A resumed run continues each target's saved run; a target whose run never saved an epoch
    // starts afresh.
    let progress = match resume && run.exists() {
        true => {
            let progress = run.load()?.restore(&mut model, &mut optimizer)?;
            println!(
                "Resuming {} after epoch {} of {}.",
                run.model_path().display(),
                progress.epochs_done,
                s.epochs
            );
            Some(progress)
        }
        false => None,
    };
    let mut config = FitConfig::new(s.epochs, s.batch_size)
        .seed(s.seed)
        .checkpoint(run)
        .progress(Some("LSTM"));
    if let Some(progress) = &progress {
        config = config.resume_from(progress);
    }
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
        // The naive forecast is the actual series shifted by a day: drawn first (beneath) and
        // dashed, so that the actual series stays visible on top of it.
        .dashed("naive", &points(&w.test_previous))
        .line("actual", &points(&w.test_actual))
        .line(&format!("LSTM ({name})"), &points(&predicted))
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
    // Naive first, so that it lies beneath the actual series it copies with a day's delay.
    .dashed("naive", &points(&w.test_previous))
    .line("actual", &points(&w.test_actual));
    for r in results {
        let name = match r.target {
            Target::Price => "LSTM (price)",
            Target::Relative => "LSTM (relative)",
        };
        plot = plot.line(name, &points(&r.predicted));
    }
    let path = out.join("forecast_last_100_days.svg");
    plot.save(&path)?;
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

// ---------------------------------------------------------------------------------------------
// 14.6 Using the trained models: resume, predict, evaluate
// ---------------------------------------------------------------------------------------------

/// `LSTM(1, H)` on the last step, then `Linear(H, 1)`, initialised from `seed`.
fn forecaster(hidden: usize, seed: u64) -> Sequential {
    let mut rng = Rng::new(seed);
    Sequential::new(vec![
        Box::new(LSTM::new(1, hidden, &mut rng).output(RecurrentOutput::LastStep)),
        Box::new(Linear::new(hidden, 1, &mut rng)),
    ])
}

/// The saved model of a target: `--out/lstm_price` or `--out/lstm_relative` (`.safetensors`).
fn model_name(target: Target) -> String {
    format!("lstm_{}", target.name())
}

/// A target's run in `--out`, with the flags that define it and, in the model's metadata, all
/// that a forecast needs besides the weights (the scaler, the window length, the target).
fn training_run(args: &Args, s: &Settings, w: &Windows, scaling: Scaling) -> Result<TrainingRun> {
    let text =
        |flag: &str| -> Result<String> { Ok(args.get_opt::<String>(flag)?.unwrap_or_default()) };
    Ok(
        TrainingRun::new(&app::out_dir(args)?, &model_name(w.target))
            .model_setting("hidden", s.hidden)
            .run_setting("csv", text("csv")?)
            .run_setting("date-column", text("date-column")?)
            .run_setting("value-column", text("value-column")?)
            .run_setting("target", text("target")?)
            .run_setting("scaling", text("scaling")?)
            .run_setting("look-back", s.look_back)
            .run_setting("train-fraction", s.train_fraction)
            .run_setting("batch-size", s.batch_size)
            .run_setting("lr", s.lr)
            .run_setting("seed", s.seed)
            .epochs(s.epochs)
            .metadata("model", format!("LSTM(1, {0}) + Linear({0}, 1)", s.hidden))
            .metadata("hidden", s.hidden)
            .metadata("target", w.target.name())
            .metadata(
                "scaling",
                match scaling {
                    Scaling::MinMax => "minmax",
                    Scaling::ZScore => "zscore",
                },
            )
            .metadata("scaler_offset", w.scaler.offset)
            .metadata("scaler_scale", w.scaler.scale)
            .metadata("look_back", w.look_back)
            .metadata("train_fraction", s.train_fraction),
    )
}

/// With `--resume`: the command line continued with the settings of the runs saved in `--out`.
fn resume_settings(args: &Args) -> Result<Option<Args>> {
    if !args.flag("resume") {
        return Ok(None);
    }
    let out = app::out_dir(args)?;
    let runs = [Target::Price, Target::Relative].map(|t| TrainingRun::new(&out, &model_name(t)));
    match runs.iter().find(|r| r.exists()) {
        Some(run) => Ok(Some(run.load()?.apply_to(args)?)),
        // Neither exists: the error of loading one says what to do.
        None => runs[0].load().map(|_: SavedRun| None),
    }
}

/// A saved forecaster with what its metadata says about its inputs.
struct SavedForecaster {
    model: Sequential,
    target: Target,
    scaler: Scaler,
    look_back: usize,
    train_fraction: f64,
    path: PathBuf,
}

/// The model files to use: `--weights FILE`, or those of `--out` that exist.
fn saved_forecasters(args: &Args) -> Result<Vec<SavedForecaster>> {
    let paths: Vec<PathBuf> = match args.get_opt::<PathBuf>("weights")? {
        Some(path) => vec![path],
        None => {
            let out = app::out_dir(args)?;
            [Target::Price, Target::Relative]
                .iter()
                .map(|&t| out.join(format!("{}.safetensors", model_name(t))))
                .filter(|p| p.is_file())
                .collect()
        }
    };
    if paths.is_empty() || !paths[0].is_file() {
        return Err(Error::usage(format!(
            "there is no trained model {}: train first (cargo run --release --bin \
             ch14_time_series, with the same --out), or name one with --weights FILE",
            paths.first().map_or_else(
                || format!("in {}", app::out_dir(args).unwrap_or_default().display()),
                |p| format!("at {}", p.display())
            )
        )));
    }
    paths.into_iter().map(|p| load_forecaster(&p)).collect()
}

fn load_forecaster(path: &Path) -> Result<SavedForecaster> {
    let metadata = checkpoint::read(path)?.metadata;
    let source = path.display().to_string();
    let value = |key: &str| -> Result<&str> {
        metadata
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .ok_or_else(|| {
                Error::format(
                    &source,
                    format!("the metadata has no \"{key}\": was it saved by chapter 14?"),
                )
            })
    };
    let parse = |key: &str| -> Result<f64> {
        value(key)?
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite())
            .ok_or_else(|| Error::format(&source, format!("\"{key}\" is not a number")))
    };
    let target = match value("target")? {
        "price" => Target::Price,
        "relative" => Target::Relative,
        other => {
            return Err(Error::format(
                &source,
                format!("unknown target \"{other}\""),
            ));
        }
    };
    let (hidden, look_back) = (parse("hidden")?, parse("look_back")?);
    let scale = parse("scaler_scale")? as f32;
    if !(1.0..=1e5).contains(&hidden) || !(1.0..=1e6).contains(&look_back) || scale == 0.0 {
        return Err(Error::format(
            &source,
            "hidden, look_back or scaler_scale is out of range",
        ));
    }
    let mut model = forecaster(hidden as usize, 0);
    checkpoint::load(&mut model, path)?;
    Ok(SavedForecaster {
        model,
        target,
        scaler: Scaler {
            offset: parse("scaler_offset")? as f32,
            scale,
        },
        look_back: look_back as usize,
        train_fraction: parse("train_fraction")?,
        path: path.to_path_buf(),
    })
}

/// `--predict`: the day after the last one of `--csv`, forecast by each saved model from the last
/// window, next to the naive forecast (tomorrow = today).
fn predict(args: &Args) -> Result<()> {
    heading("14.6 Using the trained models: tomorrow's forecast");
    let mut forecasters = saved_forecasters(args)?;
    let (series, _) = load(args)?;
    let last_day = series.dates[series.dates.len() - 1];
    let last = series.values[series.values.len() - 1];
    let mut table = Table::new(&["forecast for the day after", "model", "forecast", "change"]);
    table.row(&[
        last_day.to_string(),
        "naive: tomorrow = today".to_string(),
        format!("{last:.4}"),
        "+0.00%".to_string(),
    ]);
    for f in &mut forecasters {
        let input = last_window(&series.values, f.look_back, f.target, &f.scaler)?;
        let prediction = f.model.forward(&input, Mode::Inference).data()[0];
        let value = f.target.to_value(prediction, last, &f.scaler);
        table.row(&[
            last_day.to_string(),
            format!("LSTM ({} target, {})", f.target.name(), f.path.display()),
            format!("{value:.4}"),
            format!("{:+.2}%", 100.0 * (value / last - 1.0)),
        ]);
    }
    println!("\n{table}");
    println!(
        "The last close is {last:.4} on {last_day}. On chapter 14's test days the naive forecast \
         was hard to beat: trust a model's forecast only as far as it beat the naive one there \
         (--evaluate)."
    );
    Ok(())
}

/// `--evaluate`: each saved model's test RMSE on `--csv` (the split and scaler it was trained
/// with) next to the naive forecast's. Writes nothing.
fn evaluate_saved(args: &Args) -> Result<()> {
    heading("14.6 Using the trained models: evaluation only");
    let mut forecasters = saved_forecasters(args)?;
    let (series, _) = load(args)?;
    let mut table = Table::new(&[
        "model",
        "test days",
        "LSTM RMSE",
        "naive RMSE",
        "LSTM / naive",
    ]);
    for f in &mut forecasters {
        let w = Windows::with_scaler(
            &series.values,
            f.look_back,
            f.train_fraction,
            f.target,
            f.scaler,
        )?;
        let predictions = train::predict(&mut f.model, &w.test_inputs, 256);
        let model_rmse = rmse(&w.to_values(predictions.data()), &w.test_actual);
        let naive_rmse = rmse(&w.test_previous, &w.test_actual);
        table.row(&[
            f.path.display().to_string(),
            w.test_actual.len().to_string(),
            format!("{model_rmse:.4}"),
            format!("{naive_rmse:.4}"),
            format!("{:.2}×", model_rmse / naive_rmse),
        ]);
    }
    println!("{table}");
    Ok(())
}

fn main() {
    app::main_for(command(), run);
}
