//! The exercise runner: what turns a checker's result — or a panic — into a verdict a learner can read.
//!
//! An exercise is a function the learner writes in `src/exercises/chNN.rs` (feature `exercises`). Its
//! checker (in [`super::ch02`] … [`super::ch11`]) takes the function as an argument, calls it on chosen
//! inputs and returns `Ok(())` or a [`CheckFailure`]: which check failed, on which input, expected vs
//! got, and a hint. Checkers never panic on a wrong answer; but the learner's function may panic — a
//! `todo!()` not replaced yet, an index out of range — so [`Exercise::run`] calls the checker inside
//! [`std::panic::catch_unwind`] and turns the outcome into a [`Verdict`]:
//!
//! - **done**: every check passed;
//! - **not attempted yet**: the function reached a `todo!()` (or `unimplemented!()`);
//! - **failing**: a check failed, or the function panicked (the message says which check was running
//!   and on which input, so the panic can be reproduced).
//!
//! While a checker runs, the panic hook stays quiet on that thread (the panic is recorded, not
//! printed), so an unfinished exercise shows one line instead of a wall of panic text. The hook is
//! installed once per process and forwards every other panic — other threads, other tests — to the
//! hook that was there before, so tests running in parallel are unaffected.
//!
//! [`Check`] is the small toolkit checkers are written with: name a check and its input, call the
//! learner's function through [`Check::run`] (so a panic is attributed to this check), and compare with
//! [`Check::values`], [`Check::scalar`], [`Check::gradient`] or [`Check::that`].

use super::{GradCheckConfig, Tolerance, compare, gradcheck, unravel};
use std::cell::{Cell, RefCell};
use std::fmt;
use std::panic::{self, AssertUnwindSafe};
use std::sync::Once;

/// What a failed check reports: the check, the input, expected vs got, where, and a hint.
#[derive(Clone, Debug, PartialEq)]
pub struct CheckFailure {
    /// The name of the check that failed, e.g. `rows of large logits do not overflow`.
    pub check: String,
    /// The input the function was called with (shapes and, when small, the values).
    pub input: String,
    /// What a correct function returns.
    pub expected: String,
    /// What the function under test returned.
    pub got: String,
    /// Where the difference is and how big (empty when there is nothing to add).
    pub detail: String,
    /// What usually causes this failure (the exercise's own hint).
    pub hint: String,
    /// For a gradient check: the pattern seen across every checked element and what it usually
    /// means (see [`super::GradReport::diagnosis`]); empty otherwise.
    pub pattern: String,
}

impl fmt::Display for CheckFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "check \"{}\" failed", self.check)?;
        writeln!(f, "  input:    {}", self.input)?;
        writeln!(f, "  expected: {}", self.expected)?;
        write!(f, "  got:      {}", self.got)?;
        if !self.detail.is_empty() {
            write!(f, "\n  where:    {}", self.detail)?;
        }
        if !self.hint.is_empty() {
            write!(f, "\n  hint:     {}", self.hint)?;
        }
        if !self.pattern.is_empty() {
            write!(f, "\n  pattern:  {}", self.pattern)?;
        }
        Ok(())
    }
}

/// What every checker returns: `Ok(())` when the function passed every check, otherwise the report
/// (boxed: it is only built on the way out of a failing check, and keeps `Result` small).
pub type CheckResult = Result<(), Box<CheckFailure>>;

/// A number the way a failure message prints it: up to 6 significant digits, scientific notation for
/// very large or very small magnitudes, `NaN`/`inf` spelled out.
pub fn short(value: f64) -> String {
    if value.is_nan() {
        return "NaN".to_string();
    }
    if value.is_infinite() {
        return if value > 0.0 { "inf" } else { "-inf" }.to_string();
    }
    if value == 0.0 {
        return "0".to_string();
    }
    let magnitude = value.abs();
    if (1e6..1e16).contains(&magnitude) && value.fract() == 0.0 {
        // Large whole numbers in full: 1000000004, not 1.0000e9.
        return format!("{value:.0}");
    }
    if (1e-3..1e6).contains(&magnitude) {
        let decimals = (5 - magnitude.log10().floor() as i32).clamp(0, 8) as usize;
        let text = format!("{value:.decimals$}");
        if text.contains('.') {
            text.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            text
        }
    } else {
        format!("{value:.4e}")
    }
}

/// A tolerance in words: `allowed difference 1e-6 + 1e-5·|expected|` (zero parts left out).
pub fn allowed(tolerance: Tolerance) -> String {
    let (a, r) = (tolerance.absolute, tolerance.relative);
    if a == 0.0 && r == 0.0 {
        "no difference allowed".to_string()
    } else if r == 0.0 {
        format!("allowed difference {a:.0e}")
    } else if a == 0.0 {
        format!("allowed difference {r:.0e}·|expected|")
    } else {
        format!("allowed difference {a:.0e} + {r:.0e}·|expected|")
    }
}

/// How many values [`format_values`] prints in full before it abbreviates.
const PRINT_IN_FULL: usize = 24;

/// Values of a tensor for a message: nested brackets by the last axis (`[[1, 2], [3, 4]]`) when there
/// are few, otherwise the shape and the first values.
pub fn format_values(values: &[f32], shape: &[usize]) -> String {
    let numbers: Vec<String> = values.iter().map(|&v| short(f64::from(v))).collect();
    if values.len() > PRINT_IN_FULL {
        return format!(
            "shape {shape:?}: [{}, … ({} values)]",
            numbers[..8].join(", "),
            values.len()
        );
    }
    let last = shape.last().copied().unwrap_or(values.len()).max(1);
    if shape.len() <= 1 || values.len() != shape.iter().product::<usize>() {
        return format!("[{}]", numbers.join(", "));
    }
    let rows: Vec<String> = numbers
        .chunks(last)
        .map(|row| format!("[{}]", row.join(", ")))
        .collect();
    format!("[{}]", rows.join(", "))
}

/// f64 values for a message (see [`format_values`]).
pub fn format_values_f64(values: &[f64]) -> String {
    let as_f32: Vec<f32> = values.iter().map(|&v| v as f32).collect();
    if values.len() > PRINT_IN_FULL {
        return format_values(&as_f32, &[values.len()]);
    }
    let numbers: Vec<String> = values.iter().map(|&v| short(v)).collect();
    format!("[{}]", numbers.join(", "))
}

/// A tensor named `name` for an input description: `x = [[1, 2]] (shape [1, 2])`, or for a large
/// one `x = shape [8, 10]: [first values, …]`.
pub fn describe(name: &str, values: &[f32], shape: &[usize]) -> String {
    if values.len() > PRINT_IN_FULL {
        format!("{name} = {}", format_values(values, shape))
    } else {
        format!(
            "{name} = {} (shape {shape:?})",
            format_values(values, shape)
        )
    }
}

/// `len` values drawn from N(0, std²) with a fixed seed, so a failing input is the same on every run.
pub fn random_values(len: usize, std: f32, seed: u64) -> Vec<f32> {
    let mut rng = crate::probability::Rng::new(seed);
    (0..len).map(|_| rng.normal(0.0, std)).collect()
}

thread_local! {
    /// True while a checker runs on this thread: the panic hook records instead of printing.
    static QUIET: Cell<bool> = const { Cell::new(false) };
    /// The last panic recorded on this thread: (message, location).
    static LAST_PANIC: RefCell<Option<(String, Option<String>)>> = const { RefCell::new(None) };
    /// The check running now and its input, so a panic can be attributed to it.
    static CURRENT: RefCell<Option<(String, String)>> = const { RefCell::new(None) };
}

static INSTALL_HOOK: Once = Once::new();

/// Installs (once per process) a panic hook that records panics on threads running a checker and
/// forwards every other panic to the previous hook.
fn install_quiet_hook() {
    INSTALL_HOOK.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            let quiet = QUIET.try_with(Cell::get).unwrap_or(false);
            if !quiet {
                previous(info);
                return;
            }
            let message = info
                .payload_as_str()
                .unwrap_or("(a panic without a message)")
                .to_string();
            let location = info
                .location()
                .map(|l| format!("{}:{}:{}", l.file(), l.line(), l.column()));
            let _ = LAST_PANIC.try_with(|last| *last.borrow_mut() = Some((message, location)));
        }));
    });
}

/// The text of a panic payload (`panic!("…")` carries a `&str` or a `String`).
fn payload_text(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(text) = payload.downcast_ref::<&str>() {
        text.to_string()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "(a panic without a message)".to_string()
    }
}

/// One check of a checker: its name and the input it uses (see the module docs).
#[derive(Clone, Debug)]
pub struct Check {
    /// What is being checked, in a learner's words.
    pub name: String,
    /// The input, described for a message.
    pub input: String,
}

impl Check {
    /// A check called `name` on the input described by `input`.
    pub fn new(name: impl Into<String>, input: impl Into<String>) -> Check {
        Check {
            name: name.into(),
            input: input.into(),
        }
    }

    /// Calls the function under test, marking this check as the one running (a panic inside `call`
    /// is then reported as "panicked during check …, on input …").
    pub fn run<T>(&self, call: impl FnOnce() -> T) -> T {
        let _ =
            CURRENT.try_with(|c| *c.borrow_mut() = Some((self.name.clone(), self.input.clone())));
        call()
    }

    /// A failure of this check with the given expected / got / hint texts.
    pub fn failure(
        &self,
        expected: impl Into<String>,
        got: impl Into<String>,
        detail: impl Into<String>,
        hint: impl Into<String>,
    ) -> CheckFailure {
        CheckFailure {
            check: self.name.clone(),
            input: self.input.clone(),
            expected: expected.into(),
            got: got.into(),
            detail: detail.into(),
            hint: hint.into(),
            pattern: String::new(),
        }
    }

    /// Fails unless `condition` holds; `expected` and `got` describe the two sides.
    pub fn that(
        &self,
        condition: bool,
        expected: impl Into<String>,
        got: impl Into<String>,
        hint: &str,
    ) -> CheckResult {
        if condition {
            Ok(())
        } else {
            Err(Box::new(self.failure(expected, got, "", hint)))
        }
    }

    /// Fails unless `got` has `expected` elements (the first thing to check on any output, so that
    /// later comparisons can index it safely).
    pub fn length(&self, what: &str, got: usize, expected: usize, shape: &[usize]) -> CheckResult {
        self.that(
            got == expected,
            format!("{what} with {expected} values (shape {shape:?})"),
            format!("{what} with {got} values"),
            "check the size of the Vec you return (the doc comment gives the output shape)",
        )
    }

    /// Compares `got` with `expected` element by element (see [`compare`]); on failure prints both
    /// (or, for large outputs, the worst element) and where they differ.
    pub fn values(
        &self,
        what: &str,
        got: &[f32],
        expected: &[f32],
        shape: &[usize],
        tolerance: Tolerance,
        hint: &str,
    ) -> CheckResult {
        let mismatch = match compare(what, shape, got, expected, tolerance) {
            Ok(()) => return Ok(()),
            Err(mismatch) => mismatch,
        };
        if let Some((expected_len, got_len)) = mismatch.length_mismatch {
            return self.length(what, got_len, expected_len, shape);
        }
        let index = mismatch.worst_index.unwrap_or(0);
        let at = unravel(index, shape);
        let detail = format!(
            "{} of {} values differ; the worst is {what}{at:?}: expected {}, got {} ({})",
            mismatch.count,
            mismatch.total,
            short(f64::from(mismatch.expected)),
            short(f64::from(mismatch.got)),
            allowed(tolerance)
        );
        let (expected_text, got_text) = if expected.len() <= PRINT_IN_FULL {
            (
                format!("{what} = {}", format_values(expected, shape)),
                format!("{what} = {}", format_values(got, shape)),
            )
        } else {
            (
                format!(
                    "{what}{at:?} = {} (shape {shape:?})",
                    short(f64::from(mismatch.expected))
                ),
                format!("{what}{at:?} = {}", short(f64::from(mismatch.got))),
            )
        };
        Err(Box::new(self.failure(
            expected_text,
            got_text,
            detail,
            hint,
        )))
    }

    /// Compares two numbers: `|got − expected| ≤ absolute + relative·|expected|`; NaN never passes.
    pub fn scalar(
        &self,
        what: &str,
        got: f64,
        expected: f64,
        tolerance: Tolerance,
        hint: &str,
    ) -> CheckResult {
        let limit = f64::from(tolerance.absolute) + f64::from(tolerance.relative) * expected.abs();
        let ok = got == expected || (got - expected).abs() <= limit;
        if ok {
            return Ok(());
        }
        Err(Box::new(self.failure(
            format!("{what} = {}", short(expected)),
            format!("{what} = {}", short(got)),
            format!(
                "|difference| {}, {}",
                short((got - expected).abs()),
                allowed(tolerance)
            ),
            hint,
        )))
    }

    /// Checks `analytic` = ∂L/∂x against central differences of `loss` at `x` (see
    /// [`super::gradcheck`]; default settings: h = 10⁻², relative error at most 10⁻²). `what` names
    /// the tensor (`bias`, `input`, …).
    pub fn gradient(
        &self,
        what: &str,
        shape: &[usize],
        x: &[f32],
        analytic: &[f32],
        loss: impl FnMut(&[f32]) -> f64,
        hint: &str,
    ) -> CheckResult {
        self.length(
            &format!("the gradient of {what}"),
            analytic.len(),
            x.len(),
            shape,
        )?;
        let config = GradCheckConfig::default();
        let mut point = x.to_vec();
        let report = gradcheck(what, shape, &mut point, analytic, loss, &config);
        if report.passed {
            return Ok(());
        }
        let at = unravel(report.worst_index, shape);
        let mut failure = self.failure(
            format!(
                "∂L/∂{what}{at:?} ≈ {} (central difference of L)",
                short(report.numeric)
            ),
            format!(
                "∂L/∂{what}{at:?} = {} (your gradient)",
                short(report.analytic)
            ),
            format!(
                "relative error {:.2e} (allowed {:.0e}), the worst of {} elements checked",
                report.worst_relative_error, config.tolerance, report.checked
            ),
            hint,
        );
        // The exercise's hint comes first; the pattern across all elements backs it up.
        failure.pattern = report.diagnosis();
        Err(Box::new(failure))
    }
}

/// An exercise as the test runner sees it: its test name, its number in the course, and the call of
/// its checker on the function under test.
#[derive(Clone, Copy, Debug)]
pub struct Exercise {
    /// The test name, `chNN_name` (e.g. `ch06_softmax`): the chapter comes first so that
    /// `cargo test --features exercises -- ch06` selects one chapter.
    pub test: &'static str,
    /// The exercise number in the course, e.g. `6.4`.
    pub id: &'static str,
    /// Runs the checker on the function under test.
    pub check: fn() -> CheckResult,
}

impl Exercise {
    /// An exercise (see the fields).
    pub fn new(test: &'static str, id: &'static str, check: fn() -> CheckResult) -> Exercise {
        Exercise { test, id, check }
    }

    /// The chapter part of the test name, e.g. `ch06`.
    pub fn chapter(&self) -> &'static str {
        self.test.split('_').next().unwrap_or(self.test)
    }

    /// The file the learner writes this exercise in, e.g. `src/exercises/ch06.rs`.
    pub fn file(&self) -> String {
        format!("src/exercises/{}.rs", self.chapter())
    }

    /// Runs the checker, catching panics quietly (see the module docs), and returns the verdict.
    pub fn run(&self) -> Verdict {
        install_quiet_hook();
        let _ = CURRENT.try_with(|c| c.borrow_mut().take());
        let _ = LAST_PANIC.try_with(|p| p.borrow_mut().take());
        QUIET.with(|quiet| quiet.set(true));
        let result = panic::catch_unwind(AssertUnwindSafe(self.check));
        QUIET.with(|quiet| quiet.set(false));
        let outcome = match result {
            Ok(Ok(())) => Outcome::Done,
            Ok(Err(failure)) => Outcome::Failed(failure),
            Err(payload) => {
                let recorded = LAST_PANIC
                    .try_with(|p| p.borrow_mut().take())
                    .ok()
                    .flatten();
                let (message, location) =
                    recorded.unwrap_or_else(|| (payload_text(payload.as_ref()), None));
                let during = CURRENT.try_with(|c| c.borrow_mut().take()).ok().flatten();
                if message.starts_with("not yet implemented")
                    || message.starts_with("not implemented")
                {
                    Outcome::NotAttempted { message, location }
                } else {
                    Outcome::Panicked(Box::new(PanicReport {
                        message,
                        location,
                        during,
                    }))
                }
            }
        };
        Verdict {
            test: self.test,
            id: self.id,
            file: self.file(),
            outcome,
        }
    }
}

/// How an exercise stands.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// Every check passed.
    Done,
    /// The function reached a `todo!()`: `message` is the panic message, `location` where it was.
    NotAttempted {
        /// The `todo!` message, e.g. `not yet implemented: exercise 6.4: softmax — …`.
        message: String,
        /// `file:line:column` of the `todo!`.
        location: Option<String>,
    },
    /// A check failed.
    Failed(Box<CheckFailure>),
    /// The function panicked (not a `todo!`).
    Panicked(Box<PanicReport>),
}

/// What is known about a panic of the function under test.
#[derive(Clone, Debug, PartialEq)]
pub struct PanicReport {
    /// The panic message.
    pub message: String,
    /// `file:line:column` of the panic.
    pub location: Option<String>,
    /// The check that was running and its input, if the checker had named one.
    pub during: Option<(String, String)>,
}

/// The three states a learner's exercise can be in (for counting).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// Passed every check.
    Done,
    /// Attempted but wrong (a check failed, or it panicked).
    Failing,
    /// Still the `todo!()` stub.
    NotAttempted,
}

/// The verdict on one exercise: printed as one line, plus the failure report when it fails.
#[derive(Clone, PartialEq)]
pub struct Verdict {
    /// The test name, e.g. `ch06_softmax`.
    pub test: &'static str,
    /// The exercise number, e.g. `6.4`.
    pub id: &'static str,
    /// The file to edit, e.g. `src/exercises/ch06.rs`.
    pub file: String,
    /// What happened.
    pub outcome: Outcome,
}

impl Verdict {
    /// Done, failing or not attempted.
    pub fn status(&self) -> Status {
        match self.outcome {
            Outcome::Done => Status::Done,
            Outcome::NotAttempted { .. } => Status::NotAttempted,
            Outcome::Failed(_) | Outcome::Panicked(_) => Status::Failing,
        }
    }

    /// `Ok(())` when done, otherwise the verdict itself, whose `Debug` is the readable report — so a
    /// test can end with `exercise.run().into_result()` and print exactly that report on failure.
    pub fn into_result(self) -> Result<(), Verdict> {
        if self.status() == Status::Done {
            Ok(())
        } else {
            Err(self)
        }
    }

    /// The first line of the report: `ch06_softmax (exercise 6.4): done` and so on.
    pub fn headline(&self) -> String {
        let state = match &self.outcome {
            Outcome::Done => "done".to_string(),
            Outcome::NotAttempted { .. } => format!(
                "not attempted yet — replace the todo!() in {} (its doc comment says what to write)",
                self.file
            ),
            Outcome::Failed(failure) => format!("FAILED check \"{}\"", failure.check),
            Outcome::Panicked(panic) => match &panic.during {
                Some((check, _)) => {
                    format!("FAILED: your function panicked during check \"{check}\"")
                }
                None => "FAILED: your function panicked".to_string(),
            },
        };
        format!("{} (exercise {}): {state}", self.test, self.id)
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.headline())?;
        match &self.outcome {
            Outcome::Done | Outcome::NotAttempted { .. } => Ok(()),
            Outcome::Failed(failure) => {
                // The headline already names the check: print the rest of the report.
                let report = failure.to_string();
                let body = report.split_once('\n').map_or("", |(_, rest)| rest);
                write!(f, "\n{body}")
            }
            Outcome::Panicked(panic) => {
                if let Some((_, input)) = &panic.during {
                    write!(f, "\n  input:    {input}")?;
                }
                write!(f, "\n  panic:    {}", panic.message)?;
                if let Some(location) = &panic.location {
                    write!(f, " (at {location})")?;
                }
                write!(
                    f,
                    "\n  hint:     a panic on a valid input is a bug (an index out of range, an \
                     overflow, a length mismatch); the input above reproduces it"
                )
            }
        }
    }
}

/// The verdict's report (the same text as `Display`), so that a test returning
/// `Result<(), Verdict>` prints it readably when it fails.
impl fmt::Debug for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// The verdicts of one chapter's exercises and their counts.
#[derive(Clone, PartialEq)]
pub struct Summary {
    /// The chapter, e.g. `ch06`.
    pub chapter: String,
    /// One verdict per exercise, in order.
    pub verdicts: Vec<Verdict>,
}

impl Summary {
    /// Runs every exercise of a chapter.
    pub fn of(chapter: &str, exercises: &[Exercise]) -> Summary {
        Summary {
            chapter: chapter.to_string(),
            verdicts: exercises.iter().map(Exercise::run).collect(),
        }
    }

    /// How many exercises have this status.
    pub fn count(&self, status: Status) -> usize {
        self.verdicts
            .iter()
            .filter(|v| v.status() == status)
            .count()
    }

    /// The count line: `ch06: 2 of 5 done, 1 failing, 2 not attempted yet`.
    pub fn line(&self) -> String {
        format!(
            "{}: {} of {} done, {} failing, {} not attempted yet",
            self.chapter,
            self.count(Status::Done),
            self.verdicts.len(),
            self.count(Status::Failing),
            self.count(Status::NotAttempted)
        )
    }

    /// `Ok(())` when every exercise is done, otherwise the summary (whose `Debug` is the report).
    pub fn into_result(self) -> Result<(), Summary> {
        if self.count(Status::Done) == self.verdicts.len() {
            Ok(())
        } else {
            Err(self)
        }
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "summary of {}:", self.chapter)?;
        for verdict in &self.verdicts {
            let mark = match verdict.status() {
                Status::Done => "done          ",
                Status::Failing => "FAILING       ",
                Status::NotAttempted => "not attempted ",
            };
            writeln!(f, "  {mark} {} (exercise {})", verdict.test, verdict.id)?;
        }
        write!(f, "{}", self.line())
    }
}

/// The summary's report (the same text as `Display`), for tests returning `Result<(), Summary>`.
impl fmt::Debug for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_numbers_read_well() {
        assert_eq!(short(0.5), "0.5");
        assert_eq!(short(19.0), "19");
        assert_eq!(short(0.665240955), "0.665241");
        assert_eq!(short(1e-7), "1.0000e-7");
        assert_eq!(short(1e9 + 4.0), "1000000004");
        assert_eq!(short(f64::NAN), "NaN");
        assert_eq!(short(-2.0), "-2");
    }

    #[test]
    fn values_print_by_rows() {
        assert_eq!(
            format_values(&[1.0, 2.0, 3.0, 4.0], &[2, 2]),
            "[[1, 2], [3, 4]]"
        );
        assert_eq!(format_values(&[1.5], &[1]), "[1.5]");
    }
}
