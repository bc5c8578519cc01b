//! The checkers: comparisons that any *correct* implementation passes, used by the tests of every
//! chapter and by the exercise mode (`cargo test --features exercises`).
//!
//! - [`compare`] / [`assert_close`]: two buffers agree within a tolerance; on failure the report names the
//!   worst element (as a multi-index of the shape), expected vs got, and how many elements differ.
//! - [`gradcheck`]: an analytic gradient agrees with central finite differences of the function.
//! - [`gradcheck_layer`]: the same for a [`Layer`]'s input gradient and every parameter's gradient;
//!   [`gradcheck_input`] for the input gradient only (in [`Mode::Eval`]: a trained model's).
//! - [`GradReport::diagnosis`]: what a failed gradient check's pattern suggests, judged from every
//!   checked element (a transposed layout, a sign, a factor such as the batch size N, a few wrong
//!   elements), never from the worst one alone.
//!
//! # Exercise checkers
//! The exercise mode (`cargo test --features exercises`, see the README) checks the functions a
//! learner writes in `src/exercises/` with the checkers below: one public `check_…` function per
//! exercise, taking the function under test as its argument, so the same checker runs on the crate's
//! reference implementation in the default `cargo test` (proving the checker passes a correct
//! answer and fails typical wrong ones: `tests/exercise_checkers.rs`) and on the learner's version
//! (`tests/exercises.rs`).
//!
//! | module | chapter | exercises |
//! |---|---|---|
//! | [`exercise`] | — | the runner: [`exercise::Check`], [`exercise::CheckFailure`], verdicts, quiet panics |
//! | [`ch02`] | 2 | matrix product, transpose, cosine similarity, power iteration |
//! | [`ch03`] | 3 | central difference, numeric gradient, product rule on `Expr` |
//! | [`ch04`] | 4 | sample variance, normal density, categorical sampling |
//! | [`ch06`] | 6 | sigmoid and its derivative, a neuron, softmax forward and backward |
//! | [`ch07`] | 7 | Linear forward and backward, inverted dropout |
//! | [`ch08`] | 8 | convolution output size, im2col, Conv2d forward, max-pooling backward |
//! | [`ch09`] | 9 | RNN cell step forward and backward, LSTM cell step forward |
//! | [`ch10`] | 10 | MSE, cross-entropy, binary cross-entropy on logits (value and gradient) |
//! | [`ch11`] | 11 | SGD-momentum step, Adam step, cosine schedule, gradient clipping |
//! | [`ch16`] | 16 | LayerNorm backward, causal attention forward, attention backward |
//! | [`ch17`] | 17 | discounted returns, the REINFORCE gradient, the PUCT score, a Reptile outer step |
//! | [`ch18`] | 18 | symmetric int8 quantization, integrated gradients, the contrastive loss |
//!
//! # Finite differences in f32
//! The numeric derivative is `(f(x + h) − f(x − h)) / (2h)`. Its truncation error shrinks like h², but
//! the rounding error of evaluating `f` in f32 grows like ε·|f|/h (ε ≈ 6·10⁻⁸), so h must not be too
//! small: we use **h = 10⁻²** (CS231n's 10⁻⁵ only works in f64). The loss is accumulated in f64, the
//! step actually taken is measured after rounding `x ± h` to f32, and the comparison is the relative
//! error `|a − n| / max(|a|, |n|, floor)` with **floor = 10⁻²**, so gradients near zero are compared
//! absolutely (an error up to 10⁻⁴ passes there: the truncation error h²·f‴/6 alone reaches 10⁻⁴ where
//! f‴ ≈ 6, e.g. x³ at 0). A correct layer typically shows 10⁻⁵…5·10⁻³; we fail above **10⁻²**, and a
//! real bug (a missing term, a transposed index, a sign) shows 10⁻¹ or more.
//!
//! Kinks break finite differences: if `x ± h` crosses 0 for a ReLU, or swaps the winner of a max-pool
//! window, the numeric value is meaningless. Tests therefore choose inputs at least `2h` away from
//! kinks ([`nudge_away_from`]).

pub mod ch02;
pub mod ch03;
pub mod ch04;
pub mod ch06;
pub mod ch07;
pub mod ch08;
pub mod ch09;
pub mod ch10;
pub mod ch11;
pub mod ch16;
pub mod ch17;
pub mod ch18;
pub mod exercise;

use crate::nn::{Layer, Mode, Param};
use crate::probability::Rng;
use crate::tensor::Tensor;
use std::fmt;

/// How close two values must be: `|got − expected| ≤ absolute + relative · |expected|`
/// (the rule of numpy's `allclose`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Tolerance {
    /// Allowed absolute difference.
    pub absolute: f32,
    /// Allowed difference relative to the expected value.
    pub relative: f32,
}

impl Tolerance {
    /// A tolerance with both parts.
    pub fn new(absolute: f32, relative: f32) -> Tolerance {
        Tolerance { absolute, relative }
    }

    /// Exact equality (bit-for-bit apart from the sign of zero).
    pub const EXACT: Tolerance = Tolerance {
        absolute: 0.0,
        relative: 0.0,
    };

    /// For results of f32 arithmetic over sums of up to a few thousand terms.
    pub const F32: Tolerance = Tolerance {
        absolute: 1e-5,
        relative: 1e-4,
    };
}

/// Where and how two buffers disagree (the result of a failed [`compare`]).
#[derive(Clone, Debug, PartialEq)]
pub struct Mismatch {
    /// What was compared (a function or tensor name).
    pub name: String,
    /// The shape used to print indices.
    pub shape: Vec<usize>,
    /// Flat index of the worst element (`None` when the lengths differ).
    pub worst_index: Option<usize>,
    /// Expected value at the worst index.
    pub expected: f32,
    /// Value found at the worst index.
    pub got: f32,
    /// How many elements are outside the tolerance.
    pub count: usize,
    /// The total number of elements compared.
    pub total: usize,
    /// The tolerance used.
    pub tolerance: Tolerance,
    /// Set when the lengths differ: (expected length, got length).
    pub length_mismatch: Option<(usize, usize)>,
}

/// Turns a flat index into a multi-index of `shape`, e.g. 5 in `[2, 3]` → `[1, 2]`.
pub fn unravel(mut flat: usize, shape: &[usize]) -> Vec<usize> {
    let mut index = vec![0; shape.len()];
    for (slot, &size) in index.iter_mut().zip(shape).rev() {
        if size > 0 {
            *slot = flat % size;
            flat /= size;
        }
    }
    index
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some((expected, got)) = self.length_mismatch {
            return write!(
                f,
                "{}: expected {expected} values (shape {:?}), got {got}",
                self.name, self.shape
            );
        }
        let index = self.worst_index.unwrap_or(0);
        let diff = (self.got - self.expected).abs();
        write!(
            f,
            "{}: {} of {} values differ; worst at index {:?} of shape {:?}: expected {}, got {} \
             (|difference| {:.3e}, allowed {:.1e} + {:.1e}·|expected|)",
            self.name,
            self.count,
            self.total,
            unravel(index, &self.shape),
            self.shape,
            self.expected,
            self.got,
            diff,
            self.tolerance.absolute,
            self.tolerance.relative
        )
    }
}

/// Compares `got` with `expected` element by element. NaN never matches anything (not even NaN), so
/// a NaN in the result is always reported.
pub fn compare(
    name: &str,
    shape: &[usize],
    got: &[f32],
    expected: &[f32],
    tolerance: Tolerance,
) -> Result<(), Mismatch> {
    let mut mismatch = Mismatch {
        name: name.to_string(),
        shape: shape.to_vec(),
        worst_index: None,
        expected: 0.0,
        got: 0.0,
        count: 0,
        total: expected.len(),
        tolerance,
        length_mismatch: None,
    };
    if got.len() != expected.len() {
        mismatch.length_mismatch = Some((expected.len(), got.len()));
        return Err(mismatch);
    }
    // "How bad": the difference measured in units of the allowed difference; NaN is worst of all.
    let mut worst_badness = 0.0f64;
    for (i, (&g, &e)) in got.iter().zip(expected).enumerate() {
        let allowed =
            f64::from(tolerance.absolute) + f64::from(tolerance.relative) * f64::from(e.abs());
        let diff = (f64::from(g) - f64::from(e)).abs();
        let ok = g == e || diff <= allowed;
        if ok {
            continue;
        }
        mismatch.count += 1;
        let badness = if diff.is_nan() {
            f64::INFINITY
        } else {
            diff / allowed.max(f64::MIN_POSITIVE)
        };
        if mismatch.worst_index.is_none() || badness > worst_badness {
            worst_badness = badness;
            mismatch.worst_index = Some(i);
            mismatch.expected = e;
            mismatch.got = g;
        }
    }
    if mismatch.count == 0 {
        Ok(())
    } else {
        Err(mismatch)
    }
}

/// Panics with a readable report (see [`Mismatch`]) unless `got` matches `expected` within `tolerance`.
pub fn assert_close(
    name: &str,
    shape: &[usize],
    got: &[f32],
    expected: &[f32],
    tolerance: Tolerance,
) {
    if let Err(mismatch) = compare(name, shape, got, expected, tolerance) {
        panic!("{mismatch}");
    }
}

/// Settings of a finite-difference gradient check (see the module docs for why these defaults).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GradCheckConfig {
    /// The finite-difference step h.
    pub step: f32,
    /// The largest relative error accepted.
    pub tolerance: f64,
    /// Gradients smaller than this are compared absolutely (the denominator's floor).
    pub floor: f64,
    /// At most this many elements are checked per tensor (sampled, always including the first and
    /// last); every element when the tensor is smaller.
    pub max_samples: usize,
    /// Seed for the sampled indices and for the random output weights of [`gradcheck_layer`].
    pub seed: u64,
    /// The mode of every forward pass [`gradcheck_layer`] runs: [`Mode::Train`] (the default), or
    /// [`Mode::Eval`] to check the gradients of the evaluated network (dropout the identity), e.g.
    /// the input gradients of a trained model.
    pub mode: Mode,
}

impl Default for GradCheckConfig {
    fn default() -> GradCheckConfig {
        GradCheckConfig {
            step: 1e-2,
            tolerance: 1e-2,
            floor: 1e-2,
            max_samples: 40,
            seed: 0x6772_6164, // "grad"
            mode: Mode::Train,
        }
    }
}

/// One element a gradient check looked at.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GradSample {
    /// Flat index of the element.
    pub index: usize,
    /// The analytic gradient there (the one under test).
    pub analytic: f64,
    /// The numeric gradient there (central differences).
    pub numeric: f64,
    /// For a 2-D tensor `[R, C]`: the analytic gradient at the position where element (r, c) lands
    /// when the gradient was written in the transposed layout `[C, R]` (flat index `c·R + r`), so a
    /// transposed gradient can be recognised; `None` for other shapes.
    pub analytic_transposed: Option<f64>,
}

/// The outcome of checking one tensor's gradient.
#[derive(Clone, Debug, PartialEq)]
pub struct GradReport {
    /// What was checked: `input` or a parameter name.
    pub name: String,
    /// The shape of the tensor, for printing indices.
    pub shape: Vec<usize>,
    /// How many elements were checked.
    pub checked: usize,
    /// The largest relative error seen.
    pub worst_relative_error: f64,
    /// Flat index of that element.
    pub worst_index: usize,
    /// The analytic gradient there.
    pub analytic: f64,
    /// The numeric gradient there.
    pub numeric: f64,
    /// Whether the worst error is within the tolerance.
    pub passed: bool,
    /// Every checked element, in index order: what [`GradReport::diagnosis`] judges from.
    pub samples: Vec<GradSample>,
    /// The settings the check ran with (the diagnosis uses its tolerance and floor).
    pub config: GradCheckConfig,
}

/// How far apart two ratios analytic / numeric may be and still count as "the same factor": finite
/// differences in f32 carry errors of about 10⁻⁴, a few per cent of the smaller gradients checked.
const SAME_FACTOR: f64 = 0.03;

impl GradReport {
    /// A likely cause of a failure, judged from **every** checked element (not only the worst): the
    /// gradient written in the transposed layout, zero everywhere, the same factor everywhere (−1: a
    /// sign; m or 1/m, named when m is the size of an axis, e.g. the batch size N of a mean), right
    /// for some elements only, or none of these. The text states what was seen, then what usually
    /// causes it.
    pub fn diagnosis(&self) -> String {
        let config = &self.config;
        let matches = |a: f64, n: f64| relative_error(a, n, config.floor) <= config.tolerance;
        let total = self.samples.len();
        let all = |what: &str| format!("{} {what}", at_every_element(total));

        if self.samples.is_empty() {
            return "nothing was checked (an empty tensor)".to_string();
        }
        let transposed = self.samples.iter().all(|s| {
            s.analytic_transposed
                .is_some_and(|transposed| matches(transposed, s.numeric))
        });
        if let (true, &[rows, columns]) = (transposed, &self.shape[..]) {
            return format!(
                "{}: your gradient is the right one transposed — read as shape [{columns}, {rows}] \
                 it matches. Write element (r, c) of the [{rows}, {columns}] tensor at flat index \
                 r·{columns} + c (the layout of the tensor itself), not at c·{rows} + r",
                all("the same values appear, but at swapped row and column")
            );
        }
        let largest = self
            .samples
            .iter()
            .map(|s| s.numeric.abs())
            .fold(0.0f64, f64::max);
        if self.samples.iter().all(|s| s.analytic.abs() < 1e-12) && largest > 1e-6 {
            return format!(
                "{}: a gradient that is never written or accumulated (e.g. a missing bias gradient, \
                 or `=` lost to a later `=`)",
                all("your gradient is zero, and the numeric one is not")
            );
        }
        // The elements whose numeric gradient is large enough for a ratio to mean something.
        let significant: Vec<&GradSample> = self
            .samples
            .iter()
            .filter(|s| s.numeric.abs() > (0.1 * largest).max(1e-6))
            .collect();
        let factor = common_factor(&significant).filter(|&factor| {
            self.samples
                .iter()
                .all(|s| matches(s.analytic, factor * s.numeric))
        });
        if let Some(factor) = factor {
            return self.describe_factor(factor, total);
        }
        let right = self
            .samples
            .iter()
            .filter(|s| matches(s.analytic, s.numeric))
            .count();
        let zero_where_not = significant
            .iter()
            .filter(|s| s.analytic.abs() < 1e-12)
            .count();
        if right > 0 {
            let zeros = if zero_where_not > 0 {
                format!(" ({zero_where_not} of the wrong ones are zero: never written)")
            } else {
                String::new()
            };
            return format!(
                "{right} of {total} checked elements are right and {} wrong{zeros} (the worst at \
                 index {:?}): the formula holds for some elements only — a wrong index, a loop \
                 bound off by one, part of the batch or a term left out for some elements",
                total - right,
                unravel(self.worst_index, &self.shape)
            );
        }
        "no checked element matches and no pattern fits (not a sign, a constant factor, nor a \
         transposed layout): a wrong formula or a wrong cached value — or an input on a kink (ReLU at \
         0, a max-pool tie: choose inputs away from them)"
            .to_string()
    }

    /// The diagnosis when analytic = `factor` × numeric at every checked element.
    fn describe_factor(&self, factor: f64, total: usize) -> String {
        let seen = |what: String| format!("{} {what}", at_every_element(total));
        if (factor + 1.0).abs() < SAME_FACTOR {
            return format!(
                "{}: a sign error (e.g. subtracting where the formula adds)",
                seen("analytic = −numeric".to_string())
            );
        }
        let sign = if factor < 0.0 { "−" } else { "" };
        let sign_note = if factor < 0.0 {
            " — and a sign error on top"
        } else {
            ""
        };
        let magnitude = factor.abs();
        let whole = |value: f64| {
            let m = value.round();
            (m >= 2.0 && (value - m).abs() < SAME_FACTOR * m).then_some(m as usize)
        };
        if let Some(m) = whole(magnitude) {
            let seen = seen(format!("analytic = {sign}{m} × numeric"));
            return match self.axis_of_size(m) {
                Some(axis) => format!(
                    "{seen}, and {m} is {axis}: the 1/{m} of a mean over that axis is missing (for \
                     a batch of N examples, the loss is a mean: divide by N){}{sign_note}",
                    if m == 2 {
                        "; if the loss is not a mean, a term counted twice"
                    } else {
                        ""
                    }
                ),
                None if m == 2 => format!(
                    "{seen}: a term counted twice, or a gradient accumulated twice{sign_note}"
                ),
                None => format!("{seen}: an extra constant factor {m}{sign_note}"),
            };
        }
        if let Some(m) = whole(1.0 / magnitude) {
            let seen = seen(format!("analytic = {sign}numeric / {m}"));
            let two = if m == 2 {
                "a missing factor 2 (e.g. the derivative of x² is 2x) or half the terms"
            } else {
                ""
            };
            return match (self.axis_of_size(m), m == 2) {
                (Some(axis), true) => format!(
                    "{seen}: {two}; or, as {m} is {axis}, a division by {m} where the loss is a \
                     sum, or done twice{sign_note}"
                ),
                (Some(axis), false) => format!(
                    "{seen}, and {m} is {axis}: a division by {m} where the loss is a sum over that \
                     axis, or a division done twice{sign_note}"
                ),
                (None, true) => format!("{seen}: {two}{sign_note}"),
                (None, false) => format!("{seen}: a missing constant factor {m}{sign_note}"),
            };
        }
        format!(
            "{}: a wrong constant factor (a scale, a step size or a normalisation)",
            seen(format!("analytic = {factor:.3} × numeric"))
        )
    }

    /// "the size of axis k of shape […]" (or "the number of elements") for the first axis of size
    /// `m`, if any.
    fn axis_of_size(&self, m: usize) -> Option<String> {
        if let Some(axis) = self.shape.iter().position(|&size| size == m) {
            return Some(format!("the size of axis {axis} of shape {:?}", self.shape));
        }
        (self.shape.len() > 1 && self.shape.iter().product::<usize>() == m).then(|| {
            format!(
                "the number of elements of shape {:?} (a mean over all of them)",
                self.shape
            )
        })
    }
}

/// "at all 8 checked elements", or "at the one checked element".
fn at_every_element(total: usize) -> String {
    if total == 1 {
        "at the one checked element".to_string()
    } else {
        format!("at all {total} checked elements")
    }
}

/// The ratio analytic / numeric shared by every sample (within [`SAME_FACTOR`]), if there is one and
/// it is not 1 (a factor of 1 means those elements are right).
fn common_factor(samples: &[&GradSample]) -> Option<f64> {
    let mut ratios: Vec<f64> = samples.iter().map(|s| s.analytic / s.numeric).collect();
    if ratios.is_empty() || ratios.iter().any(|r| !r.is_finite()) {
        return None;
    }
    ratios.sort_by(f64::total_cmp);
    let median = ratios[ratios.len() / 2];
    let shared = ratios
        .iter()
        .all(|r| (r - median).abs() <= SAME_FACTOR * median.abs());
    (shared && (median - 1.0).abs() > SAME_FACTOR && median.abs() > 1e-6).then_some(median)
}

impl fmt::Display for GradReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "gradient of {} (shape {:?}): worst relative error {:.2e} at index {:?} \
             (analytic {:.6e}, numeric {:.6e}; {} elements checked)",
            self.name,
            self.shape,
            self.worst_relative_error,
            unravel(self.worst_index, &self.shape),
            self.analytic,
            self.numeric,
            self.checked
        )?;
        if !self.passed {
            write!(f, "\n  likely cause: {}", self.diagnosis())?;
        }
        Ok(())
    }
}

/// The relative error used by gradient checks: `|a − n| / max(|a|, |n|, floor)`.
pub fn relative_error(analytic: f64, numeric: f64, floor: f64) -> f64 {
    (analytic - numeric).abs() / analytic.abs().max(numeric.abs()).max(floor)
}

/// The indices a check looks at: all of `0..len`, or `max_samples` of them chosen at random (always
/// including the first and the last) when the tensor is larger.
pub fn sample_indices(len: usize, max_samples: usize, rng: &mut Rng) -> Vec<usize> {
    if len <= max_samples.max(2) {
        return (0..len).collect();
    }
    let mut picked: Vec<usize> = vec![0, len - 1];
    while picked.len() < max_samples {
        let i = rng.below(len);
        if !picked.contains(&i) {
            picked.push(i);
        }
    }
    picked.sort_unstable();
    picked
}

/// Checks an analytic gradient of a scalar function of a buffer against central differences.
///
/// `x` is the point, `analytic[i]` the claimed ∂f/∂x\[i\], `f` evaluates the function (in f64 for
/// accuracy; it may compute internally in f32). `x` is restored before returning.
pub fn gradcheck(
    name: &str,
    shape: &[usize],
    x: &mut [f32],
    analytic: &[f32],
    mut f: impl FnMut(&[f32]) -> f64,
    config: &GradCheckConfig,
) -> GradReport {
    assert_eq!(
        x.len(),
        analytic.len(),
        "gradcheck {name}: {} inputs but {} gradient values",
        x.len(),
        analytic.len()
    );
    let mut rng = Rng::new(config.seed);
    let indices = sample_indices(x.len(), config.max_samples, &mut rng);
    let mut report = GradReport {
        name: name.to_string(),
        shape: shape.to_vec(),
        checked: indices.len(),
        worst_relative_error: 0.0,
        worst_index: indices.first().copied().unwrap_or(0),
        analytic: 0.0,
        numeric: 0.0,
        passed: true,
        samples: Vec::with_capacity(indices.len()),
        config: *config,
    };
    for (n, &i) in indices.iter().enumerate() {
        let original = x[i];
        let plus = original + config.step;
        let minus = original - config.step;
        x[i] = plus;
        let f_plus = f(x);
        x[i] = minus;
        let f_minus = f(x);
        x[i] = original;
        // Divide by the step actually taken after rounding to f32, not by the nominal 2h.
        let numeric = (f_plus - f_minus) / (f64::from(plus) - f64::from(minus));
        let a = f64::from(analytic[i]);
        let analytic_transposed = match shape {
            &[rows, columns] if rows > 1 && columns > 1 && rows * columns == analytic.len() => {
                let (r, c) = (i / columns, i % columns);
                Some(f64::from(analytic[c * rows + r]))
            }
            _ => None,
        };
        report.samples.push(GradSample {
            index: i,
            analytic: a,
            numeric,
            analytic_transposed,
        });
        let error = relative_error(a, numeric, config.floor);
        if n == 0 || error > report.worst_relative_error || error.is_nan() {
            report.worst_relative_error = if error.is_nan() { f64::INFINITY } else { error };
            report.worst_index = i;
            report.analytic = a;
            report.numeric = numeric;
        }
    }
    report.passed = report.worst_relative_error <= config.tolerance;
    report
}

/// Moves every value closer than `margin` to one of the `kinks` out to distance `margin`
/// (keeping its side), so finite differences never straddle a kink.
pub fn nudge_away_from(values: &mut [f32], kinks: &[f32], margin: f32) {
    for v in values {
        for &k in kinks {
            if (*v - k).abs() < margin {
                *v = if *v >= k { k + margin } else { k - margin };
            }
        }
    }
}

/// The scalar used to check a layer: `L = Σᵢ yᵢ·rᵢ` with fixed random weights `r`, so that
/// ∂L/∂y = r exercises every output element with a different weight (a plain sum would hide
/// mistakes that permute outputs).
fn weighted_sum(y: &Tensor, r: &Tensor) -> f64 {
    y.data()
        .iter()
        .zip(r.data())
        .map(|(&a, &b)| f64::from(a) * f64::from(b))
        .sum()
}

/// Gradient-checks only the input gradient of a layer at `x`: ∂L/∂x returned by `backward` against
/// central differences of `L = Σ y ⊙ r` for fixed random `r`, forward passes in `config.mode`.
///
/// What a saliency map or an adversarial example needs (in [`Mode::Eval`]); it perturbs one input
/// value at a time, so it crosses far fewer ReLU kinks than a check of a whole weight matrix.
/// Gradients are zeroed first.
pub fn gradcheck_input(layer: &mut dyn Layer, x: &Tensor, config: &GradCheckConfig) -> GradReport {
    let (report, _) = check_input_gradient(layer, x, config);
    report
}

/// The input part of [`gradcheck_layer`]; also returns the random output weights `r` it used.
fn check_input_gradient(
    layer: &mut dyn Layer,
    x: &Tensor,
    config: &GradCheckConfig,
) -> (GradReport, Tensor) {
    let mut rng = Rng::new(config.seed ^ 0x5eed);
    layer.visit_params(&mut |_, p| p.zero_grad());
    let mode = config.mode;
    assert!(
        mode.keeps_cache(),
        "gradcheck_layer: config.mode must be Mode::Train or Mode::Eval (backward needs the cache), \
         got {mode:?}"
    );
    let y = layer.forward(x, mode);
    let r = Tensor::randn(y.shape(), 0.0, 1.0, &mut rng);
    let dx = layer.backward(&r);
    assert_eq!(
        dx.shape(),
        x.shape(),
        "{}: backward returned a gradient of shape {:?} for an input of shape {:?}",
        layer.describe(),
        dx.shape(),
        x.shape()
    );
    let mut x_work = x.data().to_vec();
    let report = gradcheck(
        "input",
        x.shape(),
        &mut x_work,
        dx.data(),
        |values| {
            let input = Tensor::from_vec(x.shape(), values.to_vec());
            weighted_sum(&layer.forward(&input, mode), &r)
        },
        config,
    );
    (report, r)
}

/// Gradient-checks a layer at input `x`: the input gradient returned by `backward` and every
/// parameter's gradient, against central differences of `L = Σ y ⊙ r` for fixed random `r`.
///
/// Forward passes run in `config.mode` ([`Mode::Train`] by default; [`Mode::Eval`] checks the
/// evaluated network, where dropout is the identity); a layer with randomness in that mode (dropout
/// in training) must give the same mask on every call for this check to apply. Gradients are zeroed
/// first. Returns one report per tensor (`input` first, then parameters in `visit_params` order);
/// check `passed` on each, or use [`assert_gradcheck_layer`].
pub fn gradcheck_layer(
    layer: &mut dyn Layer,
    x: &Tensor,
    config: &GradCheckConfig,
) -> Vec<GradReport> {
    let mode = config.mode;
    let (input_report, r) = check_input_gradient(layer, x, config);
    let mut reports = vec![input_report];

    // Snapshot the analytic parameter gradients before the numeric passes run more forwards.
    let mut params: Vec<(String, Vec<usize>, Vec<f32>)> = Vec::new();
    layer.visit_params(&mut |name, p: &mut Param| {
        params.push((
            name.to_string(),
            p.value.shape().to_vec(),
            p.grad.data().to_vec(),
        ));
    });
    for (name, shape, analytic) in &params {
        let mut values = Vec::new();
        layer.visit_params(&mut |n, p| {
            if n == name {
                values = p.value.data().to_vec();
            }
        });
        let report = gradcheck(
            name,
            shape,
            &mut values,
            analytic,
            |v| {
                layer.visit_params(&mut |n, p| {
                    if n == name {
                        p.value.data_mut().copy_from_slice(v);
                    }
                });
                weighted_sum(&layer.forward(x, mode), &r)
            },
            config,
        );
        // Restore the exact original values.
        layer.visit_params(&mut |n, p| {
            if n == name {
                p.value.data_mut().copy_from_slice(&values);
            }
        });
        reports.push(report);
    }
    reports
}

/// Runs [`gradcheck_layer`] and panics with every failing report if any tensor fails.
/// Returns the reports so a test can print the worst errors.
pub fn assert_gradcheck_layer(
    layer: &mut dyn Layer,
    x: &Tensor,
    config: &GradCheckConfig,
) -> Vec<GradReport> {
    let reports = gradcheck_layer(layer, x, config);
    let failures: Vec<String> = reports
        .iter()
        .filter(|r| !r.passed)
        .map(|r| format!("  {r}"))
        .collect();
    assert!(
        failures.is_empty(),
        "gradient check of {} failed (tolerance {:.0e}):\n{}",
        layer.describe(),
        config.tolerance,
        failures.join("\n")
    );
    reports
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unravel_is_row_major() {
        assert_eq!(unravel(5, &[2, 3]), vec![1, 2]);
        assert_eq!(unravel(0, &[4]), vec![0]);
    }

    #[test]
    fn compare_reports_the_worst_element() {
        let err = compare(
            "y",
            &[2, 2],
            &[1.0, 2.0, 3.5, 4.0],
            &[1.0, 2.0, 3.0, 4.0],
            Tolerance::F32,
        )
        .unwrap_err();
        assert_eq!(err.worst_index, Some(2));
        assert_eq!(err.count, 1);
        let text = err.to_string();
        assert!(
            text.contains("[1, 0]") && text.contains("expected 3") && text.contains("got 3.5"),
            "{text}"
        );
    }

    #[test]
    fn nan_never_matches() {
        assert!(compare("y", &[1], &[f32::NAN], &[f32::NAN], Tolerance::F32).is_err());
    }
}
