//! Time series for forecasting, chapter 14 (时间序列预测项目实操, stock prices): load a date and a value
//! column from a CSV, sort by date, cut `look_back` windows, split in time, and scale with statistics
//! of the training part only.
//!
//! # No look-ahead
//! A forecaster is evaluated on days it has not seen, so nothing about the test period may leak into
//! training. Here:
//! - the split is chronological: the first `train_fraction` of the days (in time order) train, the
//!   rest test — never a random shuffle across time;
//! - the scaler (min-max or z-score) is fitted on the training days only, and then applied unchanged to
//!   the test days (which may therefore fall outside `[0, 1]`: that is the honest situation);
//! - a test window's *inputs* may reach back into the training period (that is the past, which a
//!   forecaster does know), its *target* is always a test day.
//!
//! # Targets
//! [`Target::Price`] is the tutorial's recipe: predict the next (scaled) close. [`Target::Relative`] is
//! what practitioners do instead: divide each window by its last close and predict the relative change
//! `close_{t+1} / close_t − 1`. Prices of a trending stock leave the training range; relative changes
//! do not, so a model fitted on them keeps working (chapter 14 shows both).
//!
//! What it leaves out: multivariate inputs (Open/High/Low/Volume), calendars and holidays, multi-step
//! forecasts, walk-forward retraining.

use super::csv::Csv;
use crate::error::{Error, Result};
use crate::tensor::Tensor;
use std::fmt;
use std::path::Path;

/// A calendar date (proleptic Gregorian), ordered by year, month, day.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    /// The year, e.g. 2024.
    pub year: i32,
    /// 1–12.
    pub month: u8,
    /// 1–31 (checked against the month's length).
    pub day: u8,
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

fn is_leap(year: i32) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i32, month: u8) -> u8 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

impl Date {
    /// A checked date.
    pub fn new(year: i32, month: u8, day: u8) -> Option<Date> {
        ((1..=12).contains(&month) && day >= 1 && day <= days_in_month(year, month))
            .then_some(Date { year, month, day })
    }

    /// Parses `YYYY-MM-DD` (Yahoo, ISO 8601) or `MM/DD/YYYY` (US sites). Returns `None` otherwise.
    pub fn parse(text: &str) -> Option<Date> {
        let text = text.trim();
        let parts: Vec<&str> = if text.contains('-') {
            text.split('-').collect()
        } else {
            let us: Vec<&str> = text.split('/').collect();
            if us.len() != 3 {
                return None;
            }
            vec![us[2], us[0], us[1]]
        };
        if parts.len() != 3 || parts[0].len() != 4 {
            return None;
        }
        Date::new(
            parts[0].parse().ok()?,
            parts[1].parse().ok()?,
            parts[2].parse().ok()?,
        )
    }

    /// The date after this one.
    pub fn next_day(self) -> Date {
        if self.day < days_in_month(self.year, self.month) {
            Date {
                day: self.day + 1,
                ..self
            }
        } else if self.month < 12 {
            Date {
                month: self.month + 1,
                day: 1,
                ..self
            }
        } else {
            Date {
                year: self.year + 1,
                month: 1,
                day: 1,
            }
        }
    }

    /// Day of the week, 0 = Monday … 6 = Sunday (Sakamoto's method).
    pub fn weekday(self) -> u8 {
        const OFFSETS: [i32; 12] = [0, 3, 2, 5, 0, 3, 5, 1, 4, 6, 2, 4];
        let year = if self.month < 3 {
            self.year - 1
        } else {
            self.year
        };
        let sunday_first = (year + year / 4 - year / 100
            + year / 400
            + OFFSETS[usize::from(self.month) - 1]
            + i32::from(self.day))
        .rem_euclid(7);
        ((sunday_first + 6) % 7) as u8
    }
}

/// Which columns hold the date and the value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Columns {
    /// The date column (default `Date`).
    pub date: String,
    /// The value column (default `Close`).
    pub value: String,
}

impl Default for Columns {
    fn default() -> Columns {
        Columns {
            date: "Date".to_string(),
            value: "Close".to_string(),
        }
    }
}

/// A series of dated values, sorted by date, without missing values.
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    /// The dates, strictly increasing.
    pub dates: Vec<Date>,
    /// The values, one per date.
    pub values: Vec<f32>,
    /// Lines (from 1) whose value was missing (`null`, empty, `NaN`, …) and were dropped.
    pub dropped_lines: Vec<usize>,
    /// The line (from 1) of the file each value was read from, one per value (for messages).
    pub lines: Vec<usize>,
    /// Where the values came from (the file), and their column, for messages.
    pub source_name: String,
    /// The name of the value column.
    pub value_column: String,
}

/// Whether a field means "no value" (Yahoo writes `null`; spreadsheets leave it empty).
fn is_missing(field: &str) -> bool {
    matches!(
        field.trim().to_ascii_lowercase().as_str(),
        "" | "null" | "nan" | "na" | "n/a" | "-"
    )
}

/// A value for a message: `3.3e38`, not 39 digits.
fn readable(value: f32) -> String {
    crate::report::readable_number(f64::from(value))
}

/// The largest magnitude an f32 holds, for messages.
const F32_LIMIT: &str = "±3.4e38";

/// Collects the rows of a series from CSV records, one at a time.
struct RowCollector<'a> {
    source: &'a str,
    columns: &'a Columns,
    date_column: usize,
    value_column: usize,
    rows: Vec<(Date, f32, usize)>,
    dropped_lines: Vec<usize>,
}

impl RowCollector<'_> {
    fn push(&mut self, line: usize, fields: &[String]) -> Result<()> {
        let (source, columns) = (self.source, self.columns);
        let date_text = &fields[self.date_column];
        let date = Date::parse(date_text).ok_or_else(|| {
            Error::format(
                source,
                format!(
                    "line {line}: {} in column {} is not a date (expected YYYY-MM-DD or MM/DD/YYYY)",
                    crate::input::excerpt(date_text),
                    columns.date
                ),
            )
        })?;
        let field = &fields[self.value_column];
        if is_missing(field) {
            self.dropped_lines.push(line);
            return Ok(());
        }
        let value = parse_finite(field).map_err(|problem| {
            Error::format(
                source,
                format!(
                    "line {line}, column {}: {} {problem}",
                    columns.value,
                    crate::input::excerpt(field)
                ),
            )
        })?;
        self.rows.push((date, value, line));
        Ok(())
    }

    fn finish(self) -> Result<Series> {
        let RowCollector {
            source,
            columns,
            mut rows,
            dropped_lines,
            ..
        } = self;
        rows.sort_by_key(|&(date, _, _)| date);
        for pair in rows.windows(2) {
            if pair[0].0 == pair[1].0 {
                return Err(Error::data(format!(
                    "{source}: the date {} occurs twice (lines {} and {}); remove one of them",
                    pair[0].0, pair[0].2, pair[1].2
                )));
            }
        }
        if rows.len() < 2 {
            return Err(Error::data(format!(
                "{source}: only {} rows with a value in column {}; a forecast needs many more",
                rows.len(),
                columns.value
            )));
        }
        Ok(Series {
            dates: rows.iter().map(|r| r.0).collect(),
            values: rows.iter().map(|r| r.1).collect(),
            lines: rows.iter().map(|r| r.2).collect(),
            dropped_lines,
            source_name: source.to_string(),
            value_column: columns.value.clone(),
        })
    }
}

/// A field as a finite f32, or what is wrong with it: not a number, infinite or NaN, or a number
/// too large for f32 (which would silently become infinity).
fn parse_finite(field: &str) -> std::result::Result<f32, String> {
    let text = field.trim();
    let Ok(wide) = text.parse::<f64>() else {
        return Err("is not a number".to_string());
    };
    if !wide.is_finite() {
        return Err("is not a finite number".to_string());
    }
    let value = wide as f32;
    if !value.is_finite() {
        return Err(format!(
            "overflows f32 (the largest magnitude it holds is {F32_LIMIT}); rescale the column \
             (e.g. to thousands) before training"
        ));
    }
    // Parse as f32 directly for the exact rounding of the text (f64 then f32 may round twice).
    Ok(text.parse::<f32>().unwrap_or(value))
}

impl Series {
    /// Reads `columns` from a CSV file, keeping only those two columns while it parses (memory
    /// proportional to the series, not to the file). Same rules and errors as [`Series::from_csv`].
    pub fn read(path: &Path, columns: &Columns) -> Result<Series> {
        let text = super::csv::read_text(path)?;
        let source = path.display().to_string();
        let mut collector: Option<RowCollector> = None;
        let header = super::csv::for_each_record(&text, &source, |header, line, fields| {
            if collector.is_none() {
                collector = Some(RowCollector {
                    source: &source,
                    columns,
                    date_column: super::csv::column_index(header, &columns.date, &source)?,
                    value_column: super::csv::column_index(header, &columns.value, &source)?,
                    rows: Vec::new(),
                    dropped_lines: Vec::new(),
                });
            }
            match collector.as_mut() {
                Some(c) => c.push(line, &fields),
                None => Ok(()),
            }
        })?;
        match collector {
            Some(c) => c.finish(),
            None => {
                // No records: still report a missing column first, then too few rows.
                RowCollector {
                    source: &source,
                    columns,
                    date_column: super::csv::column_index(&header, &columns.date, &source)?,
                    value_column: super::csv::column_index(&header, &columns.value, &source)?,
                    rows: Vec::new(),
                    dropped_lines: Vec::new(),
                }
                .finish()
            }
        }
    }

    /// Takes the date and value columns of a parsed CSV: rows with a missing value are dropped (and
    /// listed in `dropped_lines`), the rest are sorted by date. Errors name the line: a date that is
    /// not a date, a value that is not a number or does not fit an f32, a date that occurs twice,
    /// fewer than two rows left.
    pub fn from_csv(csv: &Csv, columns: &Columns) -> Result<Series> {
        let mut collector = RowCollector {
            source: &csv.source_name,
            columns,
            date_column: csv.column(&columns.date)?,
            value_column: csv.column(&columns.value)?,
            rows: Vec::with_capacity(csv.records.len()),
            dropped_lines: Vec::new(),
        };
        for (line, fields) in &csv.records {
            collector.push(*line, fields)?;
        }
        collector.finish()
    }

    /// Where value `index` came from, for messages: `prices.csv, line 17, column Close`.
    pub fn locate(&self, index: usize) -> String {
        match self.lines.get(index) {
            Some(line) => format!(
                "{}, line {line}, column {}",
                self.source_name, self.value_column
            ),
            None => format!("value {index} of the series"),
        }
    }
}

/// How values are scaled before they reach the network.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scaling {
    /// `(v − min) / (max − min)`: the training part maps onto `[0, 1]` (scikit-learn's MinMaxScaler,
    /// what the tutorial's readers use).
    MinMax,
    /// `(v − mean) / std`: the training part gets mean 0 and standard deviation 1.
    ZScore,
}

/// How [`Windows::new`] and [`Windows::with_scaler`] name a value in errors (no file to point at).
fn locate_by_index(i: usize) -> String {
    format!("value {i} of the series (counting from 0)")
}

/// Where [`Windows`] gets its scaler: fitted on the training part, or given (a saved model's).
#[derive(Clone, Copy, Debug)]
enum Fit {
    Fitted(Scaling),
    Given(Scaler),
}

/// An affine scaling `v ↦ (v − offset) / scale`, fitted on training values only.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Scaler {
    /// Subtracted first (the minimum or the mean).
    pub offset: f32,
    /// Divided by next (the range or the standard deviation; 1 when the values are all equal).
    pub scale: f32,
}

impl Scaler {
    /// Fits the scaler to `values` (the training part). Panics on an empty slice.
    pub fn fit(values: &[f32], scaling: Scaling) -> Scaler {
        assert!(!values.is_empty(), "Scaler::fit: no values to fit");
        let (offset, scale) = match scaling {
            Scaling::MinMax => {
                let min = values.iter().copied().fold(f32::INFINITY, f32::min);
                let max = values.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                (min, max - min)
            }
            Scaling::ZScore => {
                let n = values.len() as f64;
                let mean = values.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
                let variance = values
                    .iter()
                    .map(|&v| (f64::from(v) - mean).powi(2))
                    .sum::<f64>()
                    / n;
                (mean as f32, variance.sqrt() as f32)
            }
        };
        Scaler {
            offset,
            scale: if scale > 0.0 { scale } else { 1.0 },
        }
    }

    /// `(v − offset) / scale`.
    pub fn transform(&self, v: f32) -> f32 {
        (v - self.offset) / self.scale
    }

    /// `v · scale + offset` (back to the original units).
    pub fn inverse(&self, v: f32) -> f32 {
        v * self.scale + self.offset
    }
}

/// What the network is asked to predict.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// The next close itself (scaled) — the tutorial's recipe.
    Price,
    /// The next relative change `close_{t+1} / close_t − 1` (scaled), from a window divided by its last
    /// close — a scale-free target.
    Relative,
}

impl Target {
    /// The window of `look_back` values in this target's representation (unscaled): the values
    /// themselves, or for [`Target::Relative`] each divided by the last one, minus 1.
    fn represent(self, window: &[f32]) -> Vec<f32> {
        match self {
            Target::Price => window.to_vec(),
            Target::Relative => {
                let last = window[window.len() - 1];
                window.iter().map(|&v| v / last - 1.0).collect()
            }
        }
    }

    /// A network's scaled prediction back in original units, given the last value of its window:
    /// inverse scaling, and for [`Target::Relative`] `last · (1 + change)`.
    pub fn to_value(self, prediction: f32, last: f32, scaler: &Scaler) -> f32 {
        let v = scaler.inverse(prediction);
        match self {
            Target::Price => v,
            Target::Relative => last * (1.0 + v),
        }
    }

    /// The name used by chapter 14 (`price`, `relative`).
    pub fn name(self) -> &'static str {
        match self {
            Target::Price => "price",
            Target::Relative => "relative",
        }
    }
}

/// The network input `[1, look_back, 1]` for forecasting the day after `values`: their last
/// `look_back` values in `target`'s representation, scaled by `scaler` (fitted when the model was
/// trained). Errors: fewer than `look_back` values, or a non-positive last value for
/// [`Target::Relative`].
pub fn last_window(
    values: &[f32],
    look_back: usize,
    target: Target,
    scaler: &Scaler,
) -> Result<Tensor> {
    if look_back == 0 || values.len() < look_back {
        return Err(Error::data(format!(
            "a forecast needs the last {look_back} values, the series has {}",
            values.len()
        )));
    }
    let window = &values[values.len() - look_back..];
    if target == Target::Relative && window.iter().any(|&v| v <= 0.0) {
        return Err(Error::data(
            "the relative target divides by the last value of the window, so the values must be \
             positive",
        ));
    }
    let scaled = target
        .represent(window)
        .iter()
        .map(|&v| scaler.transform(v))
        .collect();
    Ok(Tensor::from_vec(&[1, look_back, 1], scaled))
}

/// Windows of a series, split in time and scaled, ready for an LSTM (`[M, look_back, 1]` inputs).
#[derive(Clone, Debug)]
pub struct Windows {
    /// The number of past values per input.
    pub look_back: usize,
    /// What the targets are.
    pub target: Target,
    /// The scaler (fitted on the training part) that maps the target representation to network units.
    pub scaler: Scaler,
    /// The number of series values in the training part.
    pub train_len: usize,
    /// Training inputs `[M_train, look_back, 1]` and targets `[M_train, 1]`.
    pub train_inputs: Tensor,
    /// See `train_inputs`.
    pub train_targets: Tensor,
    /// Test inputs `[M_test, look_back, 1]` and targets `[M_test, 1]`.
    pub test_inputs: Tensor,
    /// See `test_inputs`.
    pub test_targets: Tensor,
    /// The value on each test target's day, in original units.
    pub test_actual: Vec<f32>,
    /// The value the day before each test target (the last input), in original units: the naive
    /// "tomorrow = today" forecast.
    pub test_previous: Vec<f32>,
    /// The index in the series of each test target.
    pub test_index: Vec<usize>,
}

impl Windows {
    /// Cuts `values` into windows: the input of the window ending before day t is
    /// `values[t − look_back .. t]`, its target `values[t]`. Days `t < train_len` (with
    /// `train_len = ⌊train_fraction · len⌋`) make the training set, the others the test set.
    ///
    /// Errors: too few values for one training and one test window; non-positive values with
    /// [`Target::Relative`] (a relative change needs a positive base); a value whose scaled form (or
    /// relative change) does not fit an f32 — named by its index; [`Windows::from_series`] names
    /// the file, line and column instead.
    pub fn new(
        values: &[f32],
        look_back: usize,
        train_fraction: f64,
        target: Target,
        scaling: Scaling,
    ) -> Result<Windows> {
        Windows::build(
            values,
            &locate_by_index,
            look_back,
            train_fraction,
            target,
            Fit::Fitted(scaling),
        )
    }

    /// Like [`Windows::new`], but with a scaler given (e.g. the one a saved model was trained with)
    /// instead of one fitted on the training part: what scoring a saved model on new data needs.
    pub fn with_scaler(
        values: &[f32],
        look_back: usize,
        train_fraction: f64,
        target: Target,
        scaler: Scaler,
    ) -> Result<Windows> {
        Windows::build(
            values,
            &locate_by_index,
            look_back,
            train_fraction,
            target,
            Fit::Given(scaler),
        )
    }

    /// [`Windows::new`] on a series read from a file: errors name the file, line and column of the
    /// value at fault.
    pub fn from_series(
        series: &Series,
        look_back: usize,
        train_fraction: f64,
        target: Target,
        scaling: Scaling,
    ) -> Result<Windows> {
        let locate = |i: usize| series.locate(i);
        Windows::build(
            &series.values,
            &locate,
            look_back,
            train_fraction,
            target,
            Fit::Fitted(scaling),
        )
    }

    /// The windows of `values`; `fit` says where the scaler comes from; `locate` names a value in
    /// errors.
    fn build(
        values: &[f32],
        locate: &dyn Fn(usize) -> String,
        look_back: usize,
        train_fraction: f64,
        target: Target,
        fit: Fit,
    ) -> Result<Windows> {
        if look_back == 0 || !(train_fraction > 0.0 && train_fraction < 1.0) {
            return Err(Error::usage(format!(
                "look_back must be at least 1 (got {look_back}) and the training fraction strictly between 0 and 1 (got {train_fraction})"
            )));
        }
        let len = values.len();
        let train_len = (len as f64 * train_fraction).floor() as usize;
        if train_len <= look_back || train_len >= len {
            return Err(Error::data(format!(
                "{len} values are too few for look_back {look_back} with {:.0}% for training: \
                 need more than {look_back} training values and at least one test value",
                train_fraction * 100.0
            )));
        }
        if let Some(i) = values.iter().position(|v| !v.is_finite()) {
            return Err(Error::data(format!(
                "{}: the value {} is not a finite number",
                locate(i),
                readable(values[i])
            )));
        }
        if target == Target::Relative && values.iter().any(|&v| v <= 0.0) {
            return Err(Error::data(
                "the relative target divides by the last value of each window, so every value must be \
                 positive; use --target price for series with zero or negative values",
            ));
        }
        // The relative change of day `day` against `base` (the window's last day), checked: a tiny
        // base can make it overflow f32.
        let relative = |day: usize, base: usize| -> Result<f32> {
            let change = values[day] / values[base] - 1.0;
            if change.is_finite() {
                Ok(change)
            } else {
                Err(Error::data(format!(
                    "{}: the relative change {} / {} − 1 overflows f32 (the value of {} is too \
                     close to zero); use --target price, or rescale the column",
                    locate(day),
                    readable(values[day]),
                    readable(values[base]),
                    locate(base)
                )))
            }
        };
        // The window ending before day t in the target representation (unscaled): inputs and target.
        let raw = |t: usize| -> Result<(Vec<f32>, f32)> {
            let window = &values[t - look_back..t];
            match target {
                Target::Price => Ok((window.to_vec(), values[t])),
                Target::Relative => {
                    let base = t - 1;
                    let inputs = (t - look_back..t)
                        .map(|day| relative(day, base))
                        .collect::<Result<Vec<f32>>>()?;
                    Ok((inputs, relative(t, base)?))
                }
            }
        };
        // Fit the scaler on the training part only, and check that it is a finite map.
        let (scaler, fitted_days): (Scaler, Vec<usize>) = match (fit, target) {
            (Fit::Given(scaler), _) => (scaler, (0..train_len).collect()),
            (Fit::Fitted(scaling), Target::Price) => (
                Scaler::fit(&values[..train_len], scaling),
                (0..train_len).collect(),
            ),
            (Fit::Fitted(scaling), Target::Relative) => {
                let train_targets = (look_back..train_len)
                    .map(|t| raw(t).map(|(_, y)| y))
                    .collect::<Result<Vec<f32>>>()?;
                (
                    Scaler::fit(&train_targets, scaling),
                    (look_back..train_len).collect(),
                )
            }
        };
        if !(scaler.offset.is_finite() && scaler.scale.is_finite() && scaler.scale > 0.0) {
            let extreme = fitted_days
                .iter()
                .copied()
                .max_by(|&a, &b| values[a].abs().total_cmp(&values[b].abs()))
                .unwrap_or(0);
            return Err(Error::data(format!(
                "scaling overflows f32: the training values reach {} ({}), and their {} does not fit \
                 an f32 ({F32_LIMIT}); rescale the column (e.g. divide by 1000) before training",
                readable(values[extreme]),
                locate(extreme),
                match fit {
                    Fit::Fitted(Scaling::MinMax) => "range max − min",
                    Fit::Fitted(Scaling::ZScore) => "mean or standard deviation",
                    Fit::Given(_) => "scaler (offset, scale) as given",
                }
            )));
        }
        // Scales one value of day `day`, checked (a test value far outside the training range can
        // overflow when the training range is tiny).
        let scale = |v: f32, day: usize| -> Result<f32> {
            let scaled = scaler.transform(v);
            if scaled.is_finite() {
                Ok(scaled)
            } else {
                Err(Error::data(format!(
                    "{}: the value {} scaled by the training part's statistics (offset {}, scale \
                     {}) overflows f32; the training values vary too little for this one — \
                     rescale the column or use --scaling zscore",
                    locate(day),
                    readable(v),
                    readable(scaler.offset),
                    readable(scaler.scale)
                )))
            }
        };
        let build = |days: std::ops::Range<usize>| -> Result<(Tensor, Tensor)> {
            let count = days.len();
            let mut inputs = Vec::with_capacity(count * look_back);
            let mut targets = Vec::with_capacity(count);
            for t in days {
                let (window, y) = raw(t)?;
                for (j, &v) in window.iter().enumerate() {
                    inputs.push(scale(v, t - look_back + j)?);
                }
                targets.push(scale(y, t)?);
            }
            Ok((
                Tensor::from_vec(&[count, look_back, 1], inputs),
                Tensor::from_vec(&[count, 1], targets),
            ))
        };
        let (train_inputs, train_targets) = build(look_back..train_len)?;
        let (test_inputs, test_targets) = build(train_len..len)?;
        Ok(Windows {
            look_back,
            target,
            scaler,
            train_len,
            train_inputs,
            train_targets,
            test_inputs,
            test_targets,
            test_actual: values[train_len..].to_vec(),
            test_previous: values[train_len - 1..len - 1].to_vec(),
            test_index: (train_len..len).collect(),
        })
    }

    /// Turns the network's (scaled) predictions for the test windows back into values in original
    /// units: inverse scaling, and for [`Target::Relative`] `previous · (1 + change)`.
    pub fn to_values(&self, predictions: &[f32]) -> Vec<f32> {
        assert_eq!(
            predictions.len(),
            self.test_previous.len(),
            "Windows::to_values: {} predictions for {} test windows",
            predictions.len(),
            self.test_previous.len()
        );
        predictions
            .iter()
            .zip(&self.test_previous)
            .map(|(&p, &previous)| self.target.to_value(p, previous, &self.scaler))
            .collect()
    }
}

/// The root-mean-square error `√(mean((a − b)²))`, accumulated in f64.
pub fn rmse(predicted: &[f32], actual: &[f32]) -> f32 {
    assert_eq!(
        predicted.len(),
        actual.len(),
        "rmse: {} predictions for {} actual values",
        predicted.len(),
        actual.len()
    );
    let sum: f64 = predicted
        .iter()
        .zip(actual)
        .map(|(&p, &a)| (f64::from(p) - f64::from(a)).powi(2))
        .sum();
    (sum / predicted.len().max(1) as f64).sqrt() as f32
}
