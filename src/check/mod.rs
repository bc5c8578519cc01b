//! The checkers: comparisons that any *correct* implementation passes, used by the tests of every
//! chapter and by the exercise mode (`cargo test --features exercises`).
//!
//! - [`compare`] / [`assert_close`]: two buffers agree within a tolerance; on failure the report names the
//!   worst element (as a multi-index of the shape), expected vs got, and how many elements differ.
//! - [`gradcheck`]: an analytic gradient agrees with central finite differences of the function.
//! - [`gradcheck_layer`]: the same for a [`Layer`]'s input gradient and every parameter's gradient.
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
#[derive(Clone, Copy, Debug)]
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
}

impl Default for GradCheckConfig {
    fn default() -> GradCheckConfig {
        GradCheckConfig {
            step: 1e-2,
            tolerance: 1e-2,
            floor: 1e-2,
            max_samples: 40,
            seed: 0x6772_6164, // "grad"
        }
    }
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
}

impl GradReport {
    /// A likely cause of a failure, judged from the ratio analytic / numeric at the worst element.
    pub fn diagnosis(&self) -> &'static str {
        let (a, n) = (self.analytic, self.numeric);
        if a.abs() < 1e-12 && n.abs() > 1e-6 {
            return "the analytic gradient is zero where it should not be: a gradient that is never \
                    written or accumulated (e.g. a missing bias gradient, or `=` lost to a later `=`)";
        }
        let ratio = a / n;
        if (ratio + 1.0).abs() < 0.05 {
            "analytic = −numeric: a sign error (e.g. subtracting where the formula adds)"
        } else if (ratio - 2.0).abs() < 0.1 {
            "analytic = 2 × numeric: a term counted twice, or a gradient accumulated twice"
        } else if (ratio - 0.5).abs() < 0.05 {
            "analytic = numeric / 2: a missing factor 2 (e.g. the derivative of x² is 2x) or half the terms"
        } else {
            "a wrong formula, a transposed weight index, a wrong cached value, or an input on a kink \
             (ReLU at 0, a max-pool tie: choose inputs away from them)"
        }
    }
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

/// Gradient-checks a layer at input `x`: the input gradient returned by `backward` and every
/// parameter's gradient, against central differences of `L = Σ y ⊙ r` for fixed random `r`.
///
/// Forward passes run in [`Mode::Train`] (the mode backward belongs to); a layer with randomness
/// (dropout) must give the same mask on every call for this check to apply. Gradients are zeroed
/// first. Returns one report per tensor (`input` first, then parameters in `visit_params` order);
/// check `passed` on each, or use [`assert_gradcheck_layer`].
pub fn gradcheck_layer(
    layer: &mut dyn Layer,
    x: &Tensor,
    config: &GradCheckConfig,
) -> Vec<GradReport> {
    let mut rng = Rng::new(config.seed ^ 0x5eed);
    layer.visit_params(&mut |_, p| p.zero_grad());
    let y = layer.forward(x, Mode::Train);
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

    let mut reports = Vec::new();
    let mut x_work = x.data().to_vec();
    reports.push(gradcheck(
        "input",
        x.shape(),
        &mut x_work,
        dx.data(),
        |values| {
            let input = Tensor::from_vec(x.shape(), values.to_vec());
            weighted_sum(&layer.forward(&input, Mode::Train), &r)
        },
        config,
    ));

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
                weighted_sum(&layer.forward(x, Mode::Train), &r)
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
