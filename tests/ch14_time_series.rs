//! Chapter 14 checks: the CSV reader (quoted fields, errors with line numbers), loading a price
//! series (column names, sorting, missing values), windows and the chronological split without
//! look-ahead (the scaler sees only the training part), the bundled synthetic file, a short
//! training run, and the chapter's use of trained models: a run stopped and resumed ends with the
//! uninterrupted run's weights (1 and 2 threads), `--predict` forecasts the day after the last
//! from the last window (next to the naive forecast), `--evaluate` writes nothing.

use dlfs::data::csv::Csv;
use dlfs::data::synthetic_prices;
use dlfs::data::timeseries::{
    Columns, Date, Scaler, Scaling, Series, Target, Windows, last_window, rmse,
};
use dlfs::{app, parallel};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

#[allow(dead_code)]
#[path = "../chapters/ch14_time_series.rs"]
mod ch14;
mod saved_runs;
use saved_runs::snapshot;

/// Tests that change the global thread count run one at a time.
static THREADS: Mutex<()> = Mutex::new(());

fn temp_file(name: &str, text: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!("dlfs-ch14-{}-{name}", std::process::id()));
    std::fs::write(&path, text).unwrap();
    path
}

// ---------------------------------------------------------------------------------------------
// CSV
// ---------------------------------------------------------------------------------------------

#[test]
fn csv_reads_header_quotes_and_line_endings() {
    let text = "\u{feff}Date,Name,Close\r\n2024-01-02,\"Acme, Inc.\",10.5\r\n\r\n2024-01-03,\"Say \"\"hi\"\"\",11\n";
    let csv = Csv::parse(text, "mem").unwrap();
    assert_eq!(csv.header, ["Date", "Name", "Close"]);
    assert_eq!(csv.records.len(), 2);
    assert_eq!(csv.records[0].1[1], "Acme, Inc.");
    assert_eq!(
        csv.records[1],
        (
            4,
            vec!["2024-01-03".into(), "Say \"hi\"".into(), "11".into()]
        )
    );
    // A quoted field may span lines; the next record's line number accounts for it.
    let multi = Csv::parse("a,b\n\"x\ny\",1\n2,3", "mem").unwrap();
    assert_eq!(multi.records[0].1[0], "x\ny");
    assert_eq!(multi.records[1].0, 4);
    assert_eq!(multi.column("b").unwrap(), 1);
}

#[test]
fn csv_errors_name_the_line() {
    let short = Csv::parse("Date,Close\n2024-01-02,1\n2024-01-03\n", "prices.csv").unwrap_err();
    let text = short.to_string();
    assert!(
        text.contains("prices.csv")
            && text.contains("line 3")
            && text.contains("expected 2 fields"),
        "{text}"
    );
    let open = Csv::parse("a,b\n1,\"never closed\n", "q.csv")
        .unwrap_err()
        .to_string();
    assert!(
        open.contains("line 2") && open.contains("never closed"),
        "{open}"
    );
    let after = Csv::parse("a,b\n\"x\"y,1\n", "q.csv")
        .unwrap_err()
        .to_string();
    assert!(
        after.contains("line 2") && after.contains("after a closing quote"),
        "{after}"
    );
    let empty = Csv::parse("", "e.csv").unwrap_err().to_string();
    assert!(empty.contains("empty"), "{empty}");
    let column = Csv::parse("Date,Close\n", "c.csv")
        .unwrap()
        .column("Price")
        .unwrap_err()
        .to_string();
    assert!(
        column.contains("'Price'") && column.contains("Date, Close"),
        "{column}"
    );
    let missing = Csv::read(std::path::Path::new("/no/such/file.csv"))
        .unwrap_err()
        .to_string();
    assert!(missing.contains("/no/such/file.csv"), "{missing}");
    let binary = temp_file("binary.csv", "");
    std::fs::write(&binary, b"Date,Close\n\xff\xfe,1\n").unwrap();
    let not_utf8 = Csv::read(&binary).unwrap_err().to_string();
    assert!(not_utf8.contains("not UTF-8"), "{not_utf8}");
}

// ---------------------------------------------------------------------------------------------
// Series
// ---------------------------------------------------------------------------------------------

#[test]
fn series_sorts_by_date_and_drops_missing_values() {
    let text = "Date,Open,Close\n2024-01-04,1,12.5\n2024-01-02,1,10\n2024-01-03,1,null\n01/05/2024,1,13\n2024-01-08,1,\n";
    let series =
        Series::from_csv(&Csv::parse(text, "p.csv").unwrap(), &Columns::default()).unwrap();
    assert_eq!(series.values, vec![10.0, 12.5, 13.0]);
    assert_eq!(series.dates[0], Date::new(2024, 1, 2).unwrap());
    assert_eq!(series.dates[2].to_string(), "2024-01-05");
    assert_eq!(series.dropped_lines, vec![4, 6]);
    // Configurable column names.
    let other = "day;x\n".replace(';', ",") + "2024-02-01,3\n2024-02-02,4\n";
    let columns = Columns {
        date: "day".into(),
        value: "x".into(),
    };
    let s = Series::from_csv(&Csv::parse(&other, "o.csv").unwrap(), &columns).unwrap();
    assert_eq!(s.values, vec![3.0, 4.0]);
}

#[test]
fn series_errors_name_the_problem() {
    let parse = |text: &str| {
        Series::from_csv(&Csv::parse(text, "p.csv").unwrap(), &Columns::default())
            .unwrap_err()
            .to_string()
    };
    let date = parse("Date,Close\n2024-13-01,1\n");
    assert!(
        date.contains("line 2") && date.contains("not a date"),
        "{date}"
    );
    let number = parse("Date,Close\n2024-01-01,1\n2024-01-02,abc\n");
    assert!(
        number.contains("line 3") && number.contains("'abc'"),
        "{number}"
    );
    let infinite = parse("Date,Close\n2024-01-01,inf\n");
    assert!(infinite.contains("not a finite number"), "{infinite}");
    let twice = parse("Date,Close\n2024-01-01,1\n2024-01-02,2\n2024-01-01,3\n");
    assert!(
        twice.contains("2024-01-01 occurs twice") && twice.contains("lines 2 and 4"),
        "{twice}"
    );
    let few = parse("Date,Close\n2024-01-01,1\n2024-01-02,null\n");
    assert!(few.contains("only 1 rows"), "{few}");
    assert!(Date::parse("2023-02-29").is_none() && Date::parse("2024-02-29").is_some());
}

// ---------------------------------------------------------------------------------------------
// Scaling, windows, split: no look-ahead
// ---------------------------------------------------------------------------------------------

#[test]
fn scalers_fit_and_invert() {
    let minmax = Scaler::fit(&[2.0, 4.0, 6.0], Scaling::MinMax);
    assert_eq!((minmax.transform(2.0), minmax.transform(6.0)), (0.0, 1.0));
    assert_eq!(minmax.inverse(0.5), 4.0);
    let z = Scaler::fit(&[1.0, 3.0], Scaling::ZScore);
    assert_eq!((z.offset, z.scale), (2.0, 1.0));
    assert_eq!(
        Scaler::fit(&[5.0, 5.0], Scaling::MinMax).scale,
        1.0,
        "constant input: no division by 0"
    );
}

#[test]
fn windows_are_chronological_and_targets_follow_inputs() {
    let values: Vec<f32> = (0..20).map(|v| 100.0 + v as f32).collect();
    let w = Windows::new(&values, 3, 0.5, Target::Price, Scaling::MinMax).unwrap();
    assert_eq!(w.train_len, 10);
    assert_eq!(w.train_inputs.shape(), &[7, 3, 1], "targets at days 3..10");
    assert_eq!(w.test_inputs.shape(), &[10, 3, 1], "targets at days 10..20");
    // Training part 100..=109 maps to [0, 1]: the first window is days 0, 1, 2 → 0, 1/9, 2/9.
    assert_eq!(w.train_inputs.data()[..3], [0.0, 1.0 / 9.0, 2.0 / 9.0]);
    assert_eq!(w.train_targets.data()[0], 3.0 / 9.0);
    // The first test window ends at day 9 (training history) and predicts day 10.
    assert_eq!(w.test_index[0], 10);
    assert_eq!(w.test_previous[0], 109.0);
    assert_eq!(w.test_actual[0], 110.0);
    // Every target is the day right after its window.
    for (window, target) in w.test_inputs.data().chunks(3).zip(w.test_targets.data()) {
        assert!((target - window[2] - 1.0 / 9.0).abs() < 1e-5);
    }
    // Test prices above the training range scale above 1: nothing was fitted on them.
    assert!(w.test_targets.data().iter().all(|&t| t > 1.0));
}

#[test]
fn nothing_from_the_test_period_leaks_into_training() {
    let values: Vec<f32> = (0..60)
        .map(|i| 50.0 + (i as f32 * 0.3).sin() * 5.0 + i as f32 * 0.1)
        .collect();
    for target in [Target::Price, Target::Relative] {
        for scaling in [Scaling::MinMax, Scaling::ZScore] {
            let base = Windows::new(&values, 5, 0.67, target, scaling).unwrap();
            // Change every test-period value wildly: the scaler and the training set must not move.
            let mut changed = values.clone();
            for v in &mut changed[base.train_len..] {
                *v *= 7.0;
            }
            let other = Windows::new(&changed, 5, 0.67, target, scaling).unwrap();
            assert_eq!(
                base.scaler, other.scaler,
                "{target:?} {scaling:?}: scaler saw test data"
            );
            assert_eq!(base.train_inputs, other.train_inputs);
            assert_eq!(base.train_targets, other.train_targets);
            assert_ne!(base.test_targets, other.test_targets);
        }
    }
}

#[test]
fn relative_target_round_trips_to_prices() {
    let values: Vec<f32> = (0..40).map(|i| 10.0 * 1.01f32.powi(i)).collect();
    let w = Windows::new(&values, 4, 0.6, Target::Relative, Scaling::ZScore).unwrap();
    // The true targets, mapped back, are the actual prices; the naive forecast is "no change".
    let back = w.to_values(w.test_targets.data());
    for (b, a) in back.iter().zip(&w.test_actual) {
        assert!((b - a).abs() < 1e-3 * a, "{b} vs {a}");
    }
    let naive_in_network_units = vec![w.scaler.transform(0.0); w.test_previous.len()];
    assert_eq!(w.to_values(&naive_in_network_units), w.test_previous);
    assert!(rmse(&w.test_previous, &w.test_actual) > 0.0);
    // The last input of every relative window is 0 (the window divided by its own last value).
    let zero = w.scaler.transform(0.0);
    assert!(
        w.train_inputs
            .data()
            .chunks(4)
            .all(|c| (c[3] - zero).abs() < 1e-6)
    );
}

#[test]
fn windows_reject_too_little_data_and_bad_settings() {
    let values = [1.0f32, 2.0, 3.0, 4.0];
    let few = Windows::new(&values, 3, 0.67, Target::Price, Scaling::MinMax)
        .unwrap_err()
        .to_string();
    assert!(few.contains("too few"), "{few}");
    assert!(Windows::new(&values, 0, 0.5, Target::Price, Scaling::MinMax).is_err());
    assert!(Windows::new(&values, 1, 1.0, Target::Price, Scaling::MinMax).is_err());
    let negative = [1.0f32, -2.0, 3.0, 4.0, 5.0, 6.0];
    let message = Windows::new(&negative, 1, 0.5, Target::Relative, Scaling::MinMax)
        .unwrap_err()
        .to_string();
    assert!(message.contains("positive"), "{message}");
}

#[test]
fn rmse_is_the_root_mean_square() {
    assert_eq!(rmse(&[1.0, 3.0], &[1.0, 1.0]), 2.0f32.sqrt());
}

// ---------------------------------------------------------------------------------------------
// The bundled synthetic file
// ---------------------------------------------------------------------------------------------

#[test]
fn bundled_price_file_is_the_generator_output() {
    // Regenerate with: DLFS_REGENERATE=1 cargo test --release --test ch14_time_series bundled
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(synthetic_prices::BUNDLED_PATH);
    let generated = synthetic_prices::generate(synthetic_prices::DAYS, synthetic_prices::SEED);
    if std::env::var("DLFS_REGENERATE").is_ok_and(|v| v == "1") {
        std::fs::write(&path, &generated).unwrap();
    }
    let bundled = std::fs::read_to_string(&path).unwrap();
    assert!(
        bundled == generated,
        "{} differs from the generator's output",
        path.display()
    );
    assert!(bundled.len() < 400_000, "keep the bundled file small");
    let series = Series::read(&path, &Columns::default()).unwrap();
    assert_eq!(series.values.len(), synthetic_prices::DAYS - 2);
    assert_eq!(series.dropped_lines.len(), 2, "the two null rows");
    assert!(
        series.dates.iter().all(|d| d.weekday() < 5),
        "trading days only"
    );
    let header = bundled.lines().next().unwrap();
    assert_eq!(header, "Date,Open,High,Low,Close,Adj Close,Volume");
}

// ---------------------------------------------------------------------------------------------
// A short training run on the bundled prices
// ---------------------------------------------------------------------------------------------

#[test]
fn a_short_run_on_price_windows_lowers_the_loss() {
    use dlfs::loss::MseLoss;
    use dlfs::nn::{LSTM, Linear, RecurrentOutput, Sequential};
    use dlfs::optim::Adam;
    use dlfs::probability::Rng;
    use dlfs::train::{FitConfig, TensorDataset, fit};
    let csv = synthetic_prices::generate(400, 1);
    let series =
        Series::from_csv(&Csv::parse(&csv, "synthetic").unwrap(), &Columns::default()).unwrap();
    let w = Windows::new(&series.values, 10, 0.67, Target::Price, Scaling::MinMax).unwrap();
    let mut rng = Rng::new(4);
    let mut model = Sequential::new(vec![
        Box::new(LSTM::new(1, 16, &mut rng).output(RecurrentOutput::LastStep)),
        Box::new(Linear::new(16, 1, &mut rng)),
    ]);
    let data = TensorDataset::new(&w.train_inputs, &w.train_targets).unwrap();
    let config = FitConfig::new(8, 16).seed(1).progress(None);
    let history = fit(
        &mut model,
        &mut Adam::new(0.01),
        &MseLoss::new(),
        &data,
        &config,
    )
    .unwrap();
    let losses = history.losses();
    println!("price LSTM losses: {losses:?}");
    assert!(
        losses[losses.len() - 1] < losses[0] / 5.0,
        "loss did not fall: {losses:?}"
    );
}

#[test]
fn the_last_window_is_the_input_of_the_next_day() {
    let values: Vec<f32> = (1..=30).map(|v| v as f32).collect();
    let w = Windows::new(&values, 5, 0.5, Target::Relative, Scaling::ZScore).unwrap();
    // The last test window's input equals last_window of the series without its last value.
    let input = last_window(&values[..29], 5, Target::Relative, &w.scaler).unwrap();
    let last_test = w.test_inputs.row(w.test_inputs.dim(0) - 1);
    assert_eq!(input.data(), last_test);
    assert_eq!(input.shape(), [1, 5, 1]);
    // A prediction back in price units: inverse scaling, then last · (1 + change).
    let change = w.scaler.transform(0.1);
    assert!((Target::Relative.to_value(change, 30.0, &w.scaler) - 33.0).abs() < 1e-4);
    // With a given scaler, the windows are those of `new` when it is the fitted one.
    let again = Windows::with_scaler(&values, 5, 0.5, Target::Relative, w.scaler).unwrap();
    assert_eq!(again.test_inputs, w.test_inputs);
    assert!(last_window(&values[..3], 5, Target::Price, &w.scaler).is_err());
}

fn run_chapter(words: &[&str]) -> dlfs::Result<()> {
    let args = app::parse_for(ch14::command(), words)?;
    ch14::run(&args)
}

fn temp_folder(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("dlfs-ch14-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A short price file (300 days of the generator) for the chapter's runs.
fn short_csv(dir: &Path) -> PathBuf {
    let path = dir.join("prices.csv");
    std::fs::write(&path, synthetic_prices::generate(300, 3)).unwrap();
    path
}

#[test]
fn a_run_stopped_and_resumed_ends_with_the_weights_of_the_uninterrupted_run() {
    let _guard = THREADS.lock().unwrap_or_else(|p| p.into_inner());
    let dir = temp_folder("resume");
    let csv = short_csv(&dir);
    let (straight, resumed) = (dir.join("straight"), dir.join("resumed"));
    let run = |out: &Path, extra: &[&str]| {
        let mut words = vec![
            "--csv",
            csv.to_str().unwrap(),
            "--hidden",
            "8",
            "--batch-size",
            "16",
            "--out",
            out.to_str().unwrap(),
        ];
        words.extend_from_slice(extra);
        run_chapter(&words)
    };
    parallel::set_num_threads(1);
    run(&straight, &["--epochs", "3"]).unwrap();
    run(&resumed, &["--epochs", "1"]).unwrap();
    parallel::set_num_threads(2);
    run_chapter(&[
        "--resume",
        "--epochs",
        "3",
        "--out",
        resumed.to_str().unwrap(),
    ])
    .unwrap();
    parallel::set_num_threads(parallel::default_num_threads());
    for name in ["lstm_price.safetensors", "lstm_relative.safetensors"] {
        assert!(
            std::fs::read(straight.join(name)).unwrap()
                == std::fs::read(resumed.join(name)).unwrap(),
            "{name}: 3 epochs straight and 1 + resumed 2 give different files"
        );
    }
    let error = run_chapter(&[
        "--resume",
        "--hidden",
        "16",
        "--out",
        resumed.to_str().unwrap(),
    ])
    .unwrap_err();
    assert!(
        error.exit_code() == 2 && error.to_string().contains("--hidden 16"),
        "{error}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Runs the chapter's binary; returns (exit code, standard output, standard error).
fn binary(words: &[&str]) -> (i32, String, String) {
    saved_runs::run_binary(env!("CARGO_BIN_EXE_ch14_time_series"), words)
}

#[test]
fn predict_forecasts_the_next_day_and_evaluate_writes_nothing() {
    let dir = temp_folder("predict");
    let csv = short_csv(&dir);
    let out = dir.join("out");
    let out_text = out.to_str().unwrap();
    {
        let _guard = THREADS.lock().unwrap_or_else(|p| p.into_inner());
        run_chapter(&[
            "--csv",
            csv.to_str().unwrap(),
            "--target",
            "relative",
            "--hidden",
            "8",
            "--epochs",
            "2",
            "--out",
            out_text,
        ])
        .unwrap();
    }
    let (code, stdout, stderr) = binary(&[
        "--out",
        out_text,
        "--csv",
        csv.to_str().unwrap(),
        "--predict",
    ]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    // The forecast printed is the model's on the last window, in price units.
    let series = Series::read(&csv, &Columns::default()).unwrap();
    let last = *series.values.last().unwrap();
    let path = out.join("lstm_relative.safetensors");
    let metadata = dlfs::checkpoint::read(&path).unwrap().metadata;
    let number = |key: &str| -> f32 {
        metadata
            .iter()
            .find(|(k, _)| k == key)
            .unwrap()
            .1
            .parse()
            .unwrap()
    };
    let scaler = Scaler {
        offset: number("scaler_offset"),
        scale: number("scaler_scale"),
    };
    let mut model = {
        use dlfs::nn::{LSTM, Linear, RecurrentOutput, Sequential};
        let mut rng = dlfs::probability::Rng::new(0);
        Sequential::new(vec![
            Box::new(LSTM::new(1, 8, &mut rng).output(RecurrentOutput::LastStep)),
            Box::new(Linear::new(8, 1, &mut rng)),
        ])
    };
    dlfs::checkpoint::load(&mut model, &path).unwrap();
    let input = last_window(&series.values, 10, Target::Relative, &scaler).unwrap();
    let prediction = dlfs::train::predict(&mut model, &input, 1).data()[0];
    let value = Target::Relative.to_value(prediction, last, &scaler);
    let model_line = stdout
        .lines()
        .find(|l| l.contains("relative target"))
        .unwrap();
    assert!(
        model_line.contains(&format!("{value:.4}")),
        "{value:.4} not in {model_line}"
    );
    let naive_line = stdout
        .lines()
        .find(|l| l.contains("naive: tomorrow = today"))
        .unwrap();
    assert!(naive_line.contains(&format!("{last:.4}")), "{naive_line}");
    assert!(
        !stdout.contains("price target"),
        "only the relative model was trained:\n{stdout}"
    );

    let before = snapshot(&dir);
    let (code, stdout, stderr) = binary(&[
        "--out",
        out_text,
        "--csv",
        csv.to_str().unwrap(),
        "--evaluate",
    ]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(
        stdout.contains("lstm_relative.safetensors") && stdout.contains("×"),
        "{stdout}"
    );
    assert_eq!(snapshot(&dir), before, "--evaluate wrote something");

    let (code, _, stderr) = binary(&["--out", dir.join("none").to_str().unwrap(), "--predict"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("no trained model"), "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}
