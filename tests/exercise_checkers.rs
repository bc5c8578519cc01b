//! The exercise checkers, tested (the default `cargo test`; the learner's side is `tests/exercises.rs`):
//!
//! - every checker passes the reference solution of its exercise (`tests/exercise_solutions/`, mostly
//!   the crate's own functions), so a correct answer is never rejected;
//! - typical wrong solutions fail, with the right check named and a hint that points at the mistake
//!   (transposed weights, a missing bias gradient, softmax without the max subtraction, Adam without
//!   bias correction, dividing the variance by n, …);
//! - the runner turns a `todo!()` into "not attempted yet" and any other panic into a failure that
//!   names the check and its input;
//! - the exercise set is consistent: every stub in `src/exercises/` is a `todo!` with its number, has
//!   a solution with the same signature, a test in `tests/exercises.rs` and a line in the README;
//! - (ignored: slow, a full compile) pasting every solution into its stub in a copy of the crate
//!   turns `cargo test --features exercises --test exercises` all green, and the stubs as shipped
//!   report every exercise "not attempted yet". Run them with
//!   `cargo test --release --test exercise_checkers -- --ignored --nocapture`.

#[path = "exercise_solutions/mod.rs"]
mod implementation;

#[path = "exercise_table/mod.rs"]
mod exercise_table;

use dlfs::check::exercise::{Check, CheckResult, Exercise, Outcome, Status, Summary};
use dlfs::check::{ch02, ch03, ch04, ch06, ch07, ch08, ch09, ch10, ch11, ch16, ch17, ch18};
use std::path::{Path, PathBuf};
use std::process::Command;

#[test]
fn every_checker_passes_its_reference_solution() {
    let mut failures = Vec::new();
    for exercise in exercise_table::all() {
        let verdict = exercise.run();
        println!("{}", verdict.headline());
        if verdict.status() != Status::Done {
            failures.push(verdict.to_string());
        }
    }
    assert!(
        failures.is_empty(),
        "reference solutions rejected:\n{}",
        failures.join("\n")
    );
}

/// Asserts that a wrong solution fails the check whose name contains `check`, and that the report
/// contains every string of `report_mentions` (the hint that points at the mistake). Prints the
/// report (visible with `--nocapture`).
fn expect_failure(result: CheckResult, check: &str, report_mentions: &[&str]) {
    let failure = match result {
        Ok(()) => panic!("a wrong solution passed (expected check {check:?} to fail)"),
        Err(failure) => failure,
    };
    let report = failure.to_string();
    println!("{report}\n");
    assert!(
        failure.check.contains(check),
        "the wrong check failed: expected {check:?}, got:\n{report}"
    );
    for mention in report_mentions {
        assert!(
            report.contains(mention),
            "the report should mention {mention:?}:\n{report}"
        );
    }
}

// Typical wrong solutions, one per mistake. Each is what a learner plausibly writes.

fn linear_forward_transposed_weights(
    x: &[f32],
    weight: &[f32],
    bias: &[f32],
    n: usize,
    in_features: usize,
    out_features: usize,
) -> Vec<f32> {
    let mut y = vec![0.0; n * out_features];
    for r in 0..n {
        for j in 0..out_features {
            let mut sum = bias[j];
            for i in 0..in_features {
                sum += x[r * in_features + i] * weight[i * out_features + j]; // W read as [in, out]
            }
            y[r * out_features + j] = sum;
        }
    }
    y
}

#[test]
fn transposed_weights_fail_the_linear_forward_check() {
    expect_failure(
        ch07::check_linear_forward(linear_forward_transposed_weights),
        "a hand example",
        &["transposed", "expected: y = [[-0.5, -2, -1]]"],
    );
}

fn linear_backward_without_bias_gradient(
    x: &[f32],
    weight: &[f32],
    grad_output: &[f32],
    n: usize,
    in_features: usize,
    out_features: usize,
) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let (dx, dw, _) =
        implementation::ch07::linear_backward(x, weight, grad_output, n, in_features, out_features);
    (dx, dw, vec![0.0; out_features]) // the bias gradient is never computed
}

#[test]
fn a_missing_bias_gradient_is_named() {
    expect_failure(
        ch07::check_linear_backward(linear_backward_without_bias_gradient),
        "gradient of the bias",
        &["missing bias gradient", "∂L/∂bias"],
    );
}

fn linear_backward_with_weight_gradient_of_the_first_row(
    x: &[f32],
    weight: &[f32],
    grad_output: &[f32],
    n: usize,
    in_features: usize,
    out_features: usize,
) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    // dW from the first example only: forgets to sum over the batch.
    let (dx, _, db) =
        implementation::ch07::linear_backward(x, weight, grad_output, n, in_features, out_features);
    let (_, dw, _) = implementation::ch07::linear_backward(
        &x[..in_features],
        weight,
        &grad_output[..out_features],
        1,
        in_features,
        out_features,
    );
    (dx, dw, db)
}

fn linear_backward_with_transposed_weight_gradient(
    x: &[f32],
    weight: &[f32],
    grad_output: &[f32],
    n: usize,
    in_features: usize,
    out_features: usize,
) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    // dW computed right but written [in, out]: grad_weight[i·out + j] instead of [j·in + i].
    let (dx, _, db) =
        implementation::ch07::linear_backward(x, weight, grad_output, n, in_features, out_features);
    let mut dw = vec![0.0; out_features * in_features];
    for r in 0..n {
        for j in 0..out_features {
            for i in 0..in_features {
                dw[i * out_features + j] +=
                    grad_output[r * out_features + j] * x[r * in_features + i];
            }
        }
    }
    (dx, dw, db)
}

#[test]
fn a_transposed_weight_gradient_is_named_as_transposed() {
    // [5, 1] and its transpose [1, 5] have the same flat layout: the first shape that can tell them
    // apart is n = 3, in = 4, out = 2, a [2, 4] weight.
    let failure = ch07::check_linear_backward(linear_backward_with_transposed_weight_gradient)
        .expect_err("a transposed weight gradient passed");
    let report = failure.to_string();
    println!("{report}\n");
    assert!(
        failure
            .check
            .contains("gradient of the weight, n = 3, in = 4, out = 2"),
        "{report}"
    );
    assert!(
        failure.hint.starts_with("dW = dYᵀ·X"),
        "the exercise's own hint comes first: {report}"
    );
    assert!(
        report.find("hint:") < report.find("pattern:"),
        "the hint is printed before the pattern: {report}"
    );
    for mention in [
        "at all 8 checked elements",
        "the right one transposed",
        "read as shape [4, 2]",
    ] {
        assert!(
            failure.pattern.contains(mention),
            "the pattern should say {mention:?}: {report}"
        );
    }
    assert!(!report.contains("sign"), "not a sign error: {report}");
}

#[test]
fn a_weight_gradient_that_ignores_the_batch_is_named() {
    expect_failure(
        ch07::check_linear_backward(linear_backward_with_weight_gradient_of_the_first_row),
        "gradient of the weight",
        &["summed over the whole batch"],
    );
}

fn softmax_without_max_subtraction(x: &[f32], k: usize) -> Vec<f32> {
    let mut y = Vec::with_capacity(x.len());
    for row in x.chunks(k) {
        let sum: f32 = row.iter().map(|v| v.exp()).sum();
        y.extend(row.iter().map(|v| v.exp() / sum));
    }
    y
}

#[test]
fn softmax_without_max_subtraction_overflows() {
    expect_failure(
        ch06::check_softmax(softmax_without_max_subtraction),
        "large logits do not overflow",
        &["NaN", "subtract each row's maximum"],
    );
}

fn softmax_over_the_whole_input(x: &[f32], _k: usize) -> Vec<f32> {
    let m = x.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let sum: f32 = x.iter().map(|v| (v - m).exp()).sum();
    x.iter().map(|v| (v - m).exp() / sum).collect()
}

#[test]
fn softmax_over_the_whole_input_is_caught() {
    expect_failure(
        ch06::check_softmax(softmax_over_the_whole_input),
        "each row separately",
        &["x.chunks(k)"],
    );
}

fn softmax_backward_element_wise(y: &[f32], grad_output: &[f32], _k: usize) -> Vec<f32> {
    y.iter()
        .zip(grad_output)
        .map(|(&y, &g)| y * (1.0 - y) * g)
        .collect()
}

#[test]
fn an_element_wise_softmax_backward_is_caught() {
    expect_failure(
        ch06::check_softmax_backward(softmax_backward_element_wise),
        "matches central differences",
        &["off-diagonal"],
    );
}

fn adam_without_bias_correction(
    params: &mut [f32],
    grads: &[f32],
    m: &mut [f32],
    v: &mut [f32],
    _t: usize,
    settings: ch11::AdamSettings,
) {
    for (((theta, &g), m), v) in params
        .iter_mut()
        .zip(grads)
        .zip(m.iter_mut())
        .zip(v.iter_mut())
    {
        *m = settings.beta1 * *m + (1.0 - settings.beta1) * g;
        *v = settings.beta2 * *v + (1.0 - settings.beta2) * g * g;
        *theta -= settings.learning_rate * *m / (v.sqrt() + settings.eps);
    }
}

#[test]
fn adam_without_bias_correction_fails_the_first_step() {
    expect_failure(
        ch11::check_adam_step(adam_without_bias_correction),
        "step t = 1",
        &["bias correction", "3.16"],
    );
}

fn sgd_stepping_with_the_old_velocity(
    params: &mut [f32],
    grads: &[f32],
    velocity: &mut [f32],
    learning_rate: f32,
    momentum: f32,
) {
    for ((theta, &g), v) in params.iter_mut().zip(grads).zip(velocity.iter_mut()) {
        *theta -= learning_rate * *v; // steps before updating v
        *v = momentum * *v + g;
    }
}

#[test]
fn sgd_stepping_with_the_old_velocity_is_caught() {
    expect_failure(
        ch11::check_sgd_momentum_step(sgd_stepping_with_the_old_velocity),
        "step 1 with learning rate 0.1 and momentum 0",
        &["*new* velocity"],
    );
}

fn clip_each_element(grads: &mut [f32], max_norm: f32) -> f32 {
    let norm = grads.iter().map(|g| g * g).sum::<f32>().sqrt();
    for g in grads.iter_mut() {
        *g = g.clamp(-max_norm, max_norm);
    }
    norm
}

#[test]
fn clipping_each_element_is_caught() {
    expect_failure(
        ch11::check_clip_grad_norm(clip_each_element),
        "[3, 4] clipped to norm 1",
        &["direction"],
    );
}

fn cosine_with_integer_division(base: f32, eta_min: f32, t: usize, t_max: usize) -> f32 {
    let progress = (t / t_max) as f32; // 0 until t = T
    eta_min + (base - eta_min) * (1.0 + (std::f32::consts::PI * progress).cos()) / 2.0
}

#[test]
fn a_cosine_schedule_with_integer_division_is_caught() {
    expect_failure(
        ch11::check_cosine_annealing_lr(cosine_with_integer_division),
        "every step of T = 10",
        &["t = 1,", "floating-point division"],
    );
}

fn variance_dividing_by_n(values: &[f64]) -> f64 {
    if values.len() < 2 {
        return f64::NAN;
    }
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    values.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n
}

#[test]
fn a_variance_divided_by_n_is_named() {
    expect_failure(
        ch04::check_sample_variance(variance_dividing_by_n),
        "the textbook example",
        &["Bessel", "n − 1"],
    );
}

fn one_pass_variance(values: &[f64]) -> f64 {
    if values.len() < 2 {
        return f64::NAN;
    }
    let n = values.len() as f64;
    let sum: f64 = values.iter().sum();
    let sum_of_squares: f64 = values.iter().map(|x| x * x).sum();
    (sum_of_squares - sum * sum / n) / (n - 1.0)
}

#[test]
fn a_one_pass_variance_fails_on_a_large_mean() {
    expect_failure(
        ch04::check_sample_variance(one_pass_variance),
        "values around 10⁹",
        &["subtract the mean first"],
    );
}

fn normal_pdf_without_sigma(x: f64, mean: f64, std: f64) -> f64 {
    let z = (x - mean) / std;
    (-0.5 * z * z).exp() / (2.0 * std::f64::consts::PI).sqrt()
}

#[test]
fn a_normal_density_without_sigma_is_caught() {
    expect_failure(
        ch04::check_normal_pdf(normal_pdf_without_sigma),
        "a narrow normal's peak is higher",
        &["σ·√(2π)"],
    );
}

fn categorical_with_greater_or_equal(probabilities: &[f64], u: f64) -> usize {
    let mut cumulative = 0.0;
    for (k, &p) in probabilities.iter().enumerate() {
        cumulative += p;
        if cumulative >= u {
            return k;
        }
    }
    probabilities.len() - 1
}

#[test]
fn a_categorical_sampler_off_at_the_edges_is_caught() {
    expect_failure(
        ch04::check_sample_categorical(categorical_with_greater_or_equal),
        "p = [0.25, 0.5, 0.25]",
        &["u = 0.25", "class 1", "greater than u"],
    );
}

fn forward_difference(f: &dyn Fn(f64) -> f64, x: f64, h: f64) -> f64 {
    (f(x + h) - f(x)) / h
}

#[test]
fn a_forward_difference_is_caught() {
    expect_failure(
        ch03::check_central_difference(forward_difference),
        "f(x) = x² at x = 3",
        &["both sides"],
    );
}

fn gradient_without_restoring(f: &dyn Fn(&[f64]) -> f64, x: &[f64], h: f64) -> Vec<f64> {
    let mut point = x.to_vec();
    (0..x.len())
        .map(|i| {
            point[i] = x[i] + h;
            let plus = f(&point);
            point[i] = x[i] - h; // …and left there for the next coordinates
            let minus = f(&point);
            (plus - minus) / (2.0 * h)
        })
        .collect()
}

#[test]
fn a_numeric_gradient_that_does_not_restore_the_coordinate_is_caught() {
    expect_failure(
        ch03::check_numeric_gradient(gradient_without_restoring),
        "f = x₀x₁",
        &["put it back"],
    );
}

fn product_of_derivatives(
    a: &dlfs::calculus::Expr,
    b: &dlfs::calculus::Expr,
    var: &str,
) -> dlfs::calculus::Expr {
    a.diff(var) * b.diff(var)
}

#[test]
fn a_product_of_derivatives_is_not_the_product_rule() {
    expect_failure(
        ch03::check_product_rule(product_of_derivatives),
        "d/dx of (x)·(x)",
        &["a′·b + a·b′"],
    );
}

fn matmul_reading_b_transposed(a: &[f32], b: &[f32], m: usize, k: usize, n: usize) -> Vec<f32> {
    let mut c = vec![0.0; m * n];
    for i in 0..m {
        for j in 0..n {
            c[i * n + j] = (0..k).map(|p| a[i * k + p] * b[j * k + p]).sum();
        }
    }
    c
}

#[test]
fn a_matmul_with_a_swapped_index_is_caught() {
    expect_failure(
        ch02::check_matmul(matmul_reading_b_transposed),
        "the tutorial's example",
        &["b[p·n + j]", "expected: c = [[19, 22], [43, 50]]"],
    );
}

fn power_iteration_with_the_norm(a: &[f32], n: usize, iterations: usize) -> (f32, Vec<f32>) {
    let mut v = vec![1.0f32; n];
    let mut length = 0.0;
    for _ in 0..iterations {
        let w = implementation::ch02::matmul(a, &v, n, n, 1);
        length = w.iter().map(|x| x * x).sum::<f32>().sqrt();
        v = w.iter().map(|x| x / length).collect();
    }
    (length, v) // ‖A·v‖ = |λ|: the sign is lost
}

#[test]
fn a_power_iteration_that_loses_the_sign_is_caught() {
    expect_failure(
        ch02::check_power_iteration(power_iteration_with_the_norm),
        "a 1×1 matrix",
        &["Rayleigh quotient"],
    );
}

fn cosine_dividing_zero_by_zero(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na = a.iter().map(|x| x * x).sum::<f32>().sqrt();
    let nb = b.iter().map(|x| x * x).sum::<f32>().sqrt();
    dot / (na * nb)
}

#[test]
fn a_cosine_of_a_zero_vector_must_not_be_nan() {
    expect_failure(
        ch02::check_cosine_similarity(cosine_dividing_zero_by_zero),
        "a zero vector gives 0",
        &["NaN"],
    );
}

fn sigmoid_as_exp_ratio(x: f32) -> f32 {
    x.exp() / (1.0 + x.exp())
}

#[test]
fn a_sigmoid_that_overflows_is_caught() {
    expect_failure(
        ch06::check_sigmoid(sigmoid_as_exp_ratio),
        "large inputs do not overflow",
        &["x = 100", "got:      σ(x) = NaN"],
    );
}

fn mse_without_the_two(prediction: &[f32], target: &[f32]) -> (f32, Vec<f32>) {
    let (value, grad) = implementation::ch10::mse(prediction, target);
    (value, grad.iter().map(|g| g / 2.0).collect())
}

#[test]
fn an_mse_gradient_without_the_factor_two_is_named() {
    expect_failure(
        ch10::check_mse(mse_without_the_two),
        "the gradient, a hand example",
        &["numeric / 2"],
    );
}

fn cross_entropy_gradient_not_averaged(
    logits: &[f32],
    targets: &[usize],
    k: usize,
) -> (f32, Vec<f32>) {
    let (value, grad) = implementation::ch10::cross_entropy(logits, targets, k);
    let n = targets.len() as f32;
    (value, grad.iter().map(|g| g * n).collect())
}

#[test]
fn a_cross_entropy_gradient_without_the_mean_is_caught() {
    // N = 2 in the first case: the ratio 2 must be read as "1/N missing", not "a term counted twice".
    let failure = ch10::check_cross_entropy(cross_entropy_gradient_not_averaged)
        .expect_err("a gradient without the 1/N passed");
    let report = failure.to_string();
    println!("{report}\n");
    assert!(
        failure
            .check
            .contains("the gradient, uniform logits give ln K"),
        "{report}"
    );
    assert!(
        failure.hint.contains("divided by the batch size N"),
        "the exercise's own hint comes first: {report}"
    );
    assert!(
        report.find("hint:") < report.find("pattern:"),
        "the hint is printed before the pattern: {report}"
    );
    for mention in [
        "at all 8 checked elements analytic = 2 × numeric",
        "2 is the size of axis 0 of shape [2, 4]",
        "the 1/2 of a mean over that axis is missing",
    ] {
        assert!(
            failure.pattern.contains(mention),
            "the pattern should say {mention:?}: {report}"
        );
    }
    assert!(
        !failure
            .pattern
            .starts_with("at all 8 checked elements analytic = 2 × numeric: a term"),
        "a ratio equal to N is not first read as a term counted twice: {report}"
    );
}

fn bce_taking_the_log_of_the_sigmoid(logits: &[f32], targets: &[f32]) -> (f32, Vec<f32>) {
    let n = logits.len() as f32;
    let mut value = 0.0;
    let mut grad = Vec::new();
    for (&z, &y) in logits.iter().zip(targets) {
        let s = 1.0 / (1.0 + (-z).exp());
        value -= y * s.ln() + (1.0 - y) * (1.0 - s).ln();
        grad.push((s - y) / n);
    }
    (value / n, grad)
}

#[test]
fn a_binary_cross_entropy_taking_ln_of_sigmoid_overflows() {
    expect_failure(
        ch10::check_bce_with_logits(bce_taking_the_log_of_the_sigmoid),
        "large logits stay finite",
        &["ln(1 + e^{−|z|})"],
    );
}

fn dropout_without_scaling(x: &[f32], keep: &[bool], _p: f32) -> Vec<f32> {
    x.iter()
        .zip(keep)
        .map(|(&v, &k)| if k { v } else { 0.0 })
        .collect()
}

#[test]
fn dropout_without_scaling_is_caught() {
    expect_failure(
        ch07::check_dropout_forward(dropout_without_scaling),
        "a hand example",
        &["1 − p"],
    );
}

fn conv_output_size_padding_one_side(
    size: usize,
    kernel: usize,
    stride: usize,
    padding: usize,
) -> usize {
    (size + padding - kernel) / stride + 1 // the padding counted once
}

#[test]
fn an_output_size_with_padding_on_one_side_is_caught() {
    expect_failure(
        ch08::check_conv_output_size(conv_output_size_padding_one_side),
        "padding 1 keeps a 3×3 kernel's output the size of its input",
        &["*both* sides"],
    );
}

fn im2col_off_by_the_padding(
    image: &[f32],
    channels: usize,
    height: usize,
    width: usize,
    kernel: usize,
    stride: usize,
    padding: usize,
) -> Vec<f32> {
    let out_h = (height + 2 * padding - kernel) / stride + 1;
    let out_w = (width + 2 * padding - kernel) / stride + 1;
    let mut cols = vec![0.0; channels * kernel * kernel * out_h * out_w];
    for c in 0..channels {
        for i in 0..kernel {
            for j in 0..kernel {
                let row = (c * kernel + i) * kernel + j;
                for r in 0..out_h {
                    for s in 0..out_w {
                        // The padding is never subtracted: the patch is shifted by `padding`.
                        let (y, x) = (r * stride + i, s * stride + j);
                        if y < height && x < width {
                            cols[row * out_h * out_w + r * out_w + s] =
                                image[(c * height + y) * width + x];
                        }
                    }
                }
            }
        }
    }
    cols
}

#[test]
fn an_im2col_off_by_the_padding_is_caught() {
    expect_failure(
        ch08::check_im2col(im2col_off_by_the_padding),
        "padding 1 puts zeros around a 2×2 image",
        &["− padding"],
    );
}

fn conv2d_without_bias(
    x: &[f32],
    weight: &[f32],
    bias: &[f32],
    shape: ch08::ConvShape,
) -> Vec<f32> {
    let zeros = vec![0.0; bias.len()];
    implementation::ch08::conv2d_forward(x, weight, &zeros, shape)
}

#[test]
fn a_convolution_without_its_bias_is_caught() {
    expect_failure(
        ch08::check_conv2d_forward(conv2d_without_bias),
        "one image, one channel, 6×6, two 3×3 kernels",
        &["plus bias[o]"],
    );
}

/// Max-pooling backward written by hand, with two switches for two typical mistakes: writing (`=`)
/// instead of adding, and giving a tie to every maximum instead of the first.
fn maxpool_backward_by_hand(
    x: &[f32],
    grad_output: &[f32],
    shape: ch08::PoolShape,
    accumulate: bool,
    every_tie: bool,
) -> Vec<f32> {
    let out_h = (shape.height - shape.kernel) / shape.stride + 1;
    let out_w = (shape.width - shape.kernel) / shape.stride + 1;
    let plane = shape.height * shape.width;
    let mut dx = vec![0.0; x.len()];
    for p in 0..shape.n * shape.channels {
        for r in 0..out_h {
            for s in 0..out_w {
                let at = |i: usize, j: usize| {
                    p * plane + (r * shape.stride + i) * shape.width + s * shape.stride + j
                };
                let mut best = (f32::NEG_INFINITY, at(0, 0));
                for i in 0..shape.kernel {
                    for j in 0..shape.kernel {
                        if x[at(i, j)] > best.0 {
                            best = (x[at(i, j)], at(i, j));
                        }
                    }
                }
                let g = grad_output[(p * out_h + r) * out_w + s];
                for i in 0..shape.kernel {
                    for j in 0..shape.kernel {
                        let index = at(i, j);
                        let takes = if every_tie {
                            x[index] == best.0
                        } else {
                            index == best.1
                        };
                        if takes && accumulate {
                            dx[index] += g;
                        } else if takes {
                            dx[index] = g;
                        }
                    }
                }
            }
        }
    }
    dx
}

fn maxpool_backward_overwriting(
    x: &[f32],
    grad_output: &[f32],
    shape: ch08::PoolShape,
) -> Vec<f32> {
    maxpool_backward_by_hand(x, grad_output, shape, false, false)
}

fn maxpool_backward_to_every_tie(
    x: &[f32],
    grad_output: &[f32],
    shape: ch08::PoolShape,
) -> Vec<f32> {
    maxpool_backward_by_hand(x, grad_output, shape, true, true)
}

#[test]
fn a_max_pool_backward_by_hand_passes() {
    // The switches off: the hand-written version is right (so the two mistakes below are the only
    // difference that the checker catches).
    let right = |x: &[f32], dy: &[f32], shape| maxpool_backward_by_hand(x, dy, shape, true, false);
    ch08::check_maxpool2d_backward(right).unwrap();
}

#[test]
fn a_max_pool_backward_that_overwrites_is_caught() {
    expect_failure(
        ch08::check_maxpool2d_backward(maxpool_backward_overwriting),
        "overlapping windows (3×3, stride 2) add up",
        &["*add*"],
    );
}

#[test]
fn a_max_pool_backward_that_rewards_every_tie_is_caught() {
    expect_failure(
        ch08::check_maxpool2d_backward(maxpool_backward_to_every_tie),
        "ties go to the first maximum in reading order",
        &["not to each of them"],
    );
}

/// `x·Wᵀ` for `x` `[N, inputs]` and `w` `[rows, inputs]`, or `x·W` when `transposed` (w read as
/// `[inputs, rows]`): the building block of the recurrent wrong solutions below.
fn times_weight(x: &[f32], w: &[f32], inputs: usize, rows: usize, transposed: bool) -> Vec<f32> {
    let mut out = vec![0.0; x.len() / inputs * rows];
    for (x_row, out_row) in x.chunks(inputs).zip(out.chunks_mut(rows)) {
        for (j, value) in out_row.iter_mut().enumerate() {
            for (k, &xk) in x_row.iter().enumerate() {
                let weight = if transposed {
                    w[k * rows + j]
                } else {
                    w[j * inputs + k]
                };
                *value += xk * weight;
            }
        }
    }
    out
}

fn rnn_cell_forward_with_w_hh_transposed(
    x: &[f32],
    h_prev: &[f32],
    weights: &ch09::RnnWeights,
) -> Vec<f32> {
    let (f, h) = (weights.input_size, weights.hidden_size);
    let from_x = times_weight(x, &weights.weight_ih, f, h, false);
    let from_h = times_weight(h_prev, &weights.weight_hh, h, h, true); // h_prev·W_hh, not ·W_hhᵀ
    from_x
        .iter()
        .zip(&from_h)
        .enumerate()
        .map(|(i, (a, b))| (a + b + weights.bias_ih[i % h] + weights.bias_hh[i % h]).tanh())
        .collect()
}

#[test]
fn an_rnn_cell_with_the_recurrent_weight_transposed_is_caught() {
    expect_failure(
        ch09::check_rnn_cell_forward(rnn_cell_forward_with_w_hh_transposed),
        "a batch of 1, F = 3, H = 4",
        &["W_hh[j][k]"],
    );
}

fn rnn_cell_backward_without_the_tanh_derivative(
    x: &[f32],
    h_prev: &[f32],
    _h: &[f32],
    grad_h: &[f32],
    weights: &ch09::RnnWeights,
) -> ch09::RnnCellGradients {
    let (f, h) = (weights.input_size, weights.hidden_size);
    let da = grad_h; // forgets da = grad_h ⊙ (1 − h²)
    let n = x.len() / f;
    let mut g = ch09::RnnCellGradients {
        input: times_weight(da, &weights.weight_ih, h, f, true),
        hidden: times_weight(da, &weights.weight_hh, h, h, true),
        weight_ih: vec![0.0; h * f],
        weight_hh: vec![0.0; h * h],
        bias: vec![0.0; h],
    };
    for r in 0..n {
        for j in 0..h {
            let d = da[r * h + j];
            g.bias[j] += d;
            for i in 0..f {
                g.weight_ih[j * f + i] += d * x[r * f + i];
            }
            for k in 0..h {
                g.weight_hh[j * h + k] += d * h_prev[r * h + k];
            }
        }
    }
    g
}

#[test]
fn an_rnn_backward_without_the_tanh_derivative_is_caught() {
    expect_failure(
        ch09::check_rnn_cell_backward(rnn_cell_backward_without_the_tanh_derivative),
        "gradient of the input x",
        &["(1 − h²)"],
    );
}

fn lstm_with_the_gates_in_the_order_i_f_o_g(
    x: &[f32],
    h_prev: &[f32],
    c_prev: &[f32],
    weights: &ch09::LstmWeights,
) -> (Vec<f32>, Vec<f32>) {
    let (f, hidden) = (weights.input_size, weights.hidden_size);
    let from_x = times_weight(x, &weights.weight_ih, f, 4 * hidden, false);
    let from_h = times_weight(h_prev, &weights.weight_hh, hidden, 4 * hidden, false);
    let sigmoid = |v: f32| 1.0 / (1.0 + (-v).exp());
    let (mut h, mut c) = (Vec::new(), Vec::new());
    for (r, c_row) in c_prev.chunks(hidden).enumerate() {
        let a = |gate: usize, j: usize| {
            let index = gate * hidden + j;
            from_x[r * 4 * hidden + index]
                + from_h[r * 4 * hidden + index]
                + weights.bias_ih[index]
                + weights.bias_hh[index]
        };
        for (j, &c_old) in c_row.iter().enumerate() {
            // Blocks read as i, f, o, g instead of PyTorch's i, f, g, o.
            let (i, forget, o, g) = (
                sigmoid(a(0, j)),
                sigmoid(a(1, j)),
                sigmoid(a(2, j)),
                a(3, j).tanh(),
            );
            let cell = forget * c_old + i * g;
            c.push(cell);
            h.push(o * cell.tanh());
        }
    }
    (h, c)
}

#[test]
fn an_lstm_with_the_gates_in_another_order_is_caught() {
    expect_failure(
        ch09::check_lstm_cell_forward(lstm_with_the_gates_in_the_order_i_f_o_g),
        "a hand example",
        &["PyTorch's order i, f, g, o"],
    );
}

// Chapter 17: returns, the REINFORCE gradient, PUCT, Reptile.

fn returns_accumulated_forwards(rewards: &[f32], gamma: f32) -> Vec<f32> {
    let mut out = Vec::with_capacity(rewards.len());
    let mut running = 0.0;
    for &r in rewards {
        running = r + gamma * running;
        out.push(running);
    }
    out
}

#[test]
fn returns_accumulated_forwards_are_caught() {
    expect_failure(
        ch17::check_discounted_returns(returns_accumulated_forwards),
        "three rewards of 1",
        &["backwards"],
    );
}

fn returns_without_the_current_reward(rewards: &[f32], gamma: f32) -> Vec<f32> {
    // Gₜ = γ·(rₜ₊₁ + γ·rₜ₊₂ + …): the step's own reward is left out.
    let mut out = vec![0.0; rewards.len()];
    let mut running = 0.0;
    for t in (0..rewards.len()).rev() {
        out[t] = gamma * running;
        running = rewards[t] + gamma * running;
    }
    out
}

#[test]
fn returns_that_leave_out_the_steps_own_reward_are_caught() {
    expect_failure(
        ch17::check_discounted_returns(returns_without_the_current_reward),
        "three rewards of 1",
        &["rₜ itself counts"],
    );
}

fn reinforce_gradient_ascent(logits: &[f32], action: usize, advantage: f32) -> Vec<f32> {
    // The sign of the policy-gradient *ascent* direction, handed to a minimiser.
    let mut p = logits.to_vec();
    dlfs::loss::softmax_row(&mut p);
    p.iter()
        .enumerate()
        .map(|(k, &pk)| advantage * (if k == action { 1.0 } else { 0.0 } - pk))
        .collect()
}

#[test]
fn a_reinforce_gradient_with_the_wrong_sign_is_caught() {
    expect_failure(
        ch17::check_reinforce_logit_gradient(reinforce_gradient_ascent),
        "the gradient, two actions",
        &["push the action's score *up*"],
    );
}

fn reinforce_gradient_without_softmax(logits: &[f32], action: usize, advantage: f32) -> Vec<f32> {
    // Treats log π(a) as z_a: forgets the normaliser.
    (0..logits.len())
        .map(|k| if k == action { -advantage } else { 0.0 })
        .collect()
}

#[test]
fn a_reinforce_gradient_without_the_softmax_is_caught() {
    expect_failure(
        ch17::check_reinforce_logit_gradient(reinforce_gradient_without_softmax),
        "the gradient, two actions",
        &["probabilities minus the one-hot"],
    );
}

fn reinforce_gradient_overflowing(logits: &[f32], action: usize, advantage: f32) -> Vec<f32> {
    let exps: Vec<f32> = logits.iter().map(|z| z.exp()).collect();
    let sum: f32 = exps.iter().sum();
    exps.iter()
        .enumerate()
        .map(|(k, &e)| advantage * (e / sum - if k == action { 1.0 } else { 0.0 }))
        .collect()
}

#[test]
fn a_reinforce_gradient_that_overflows_is_caught() {
    expect_failure(
        ch17::check_reinforce_logit_gradient(reinforce_gradient_overflowing),
        "large scores do not overflow",
        &["subtract the largest score"],
    );
}

fn puct_with_the_root_over_the_move(q: f32, prior: f32, parent: u32, visits: u32, c: f32) -> f32 {
    q + c * prior * (parent as f32) / (1.0 + visits as f32).sqrt()
}

#[test]
fn a_puct_score_with_the_square_root_in_the_wrong_place_is_caught() {
    expect_failure(
        ch17::check_puct_score(puct_with_the_root_over_the_move),
        "the score, a hand example",
        &["square root of the *parent's* visits"],
    );
}

fn puct_without_the_one(q: f32, prior: f32, parent: u32, visits: u32, c: f32) -> f32 {
    q + c * prior * (parent as f32).sqrt() / visits as f32
}

#[test]
fn a_puct_score_without_the_one_is_caught_on_an_unvisited_move() {
    expect_failure(
        ch17::check_puct_score(puct_without_the_one),
        "an unvisited move",
        &["one plus the *move's* visits"],
    );
}

fn reptile_with_the_gradient_at_theta(
    theta: &mut [f32],
    gradient: &dyn Fn(&[f32]) -> Vec<f32>,
    inner_lr: f32,
    inner_steps: usize,
    outer_lr: f32,
) {
    // Every inner step uses the gradient at θ: k steps collapse into one step of k·α.
    let g = gradient(theta);
    let phi: Vec<f32> = theta
        .iter()
        .zip(&g)
        .map(|(&t, &g)| t - inner_steps as f32 * inner_lr * g)
        .collect();
    for (t, p) in theta.iter_mut().zip(phi) {
        *t += outer_lr * (p - *t);
    }
}

#[test]
fn reptile_with_every_gradient_at_theta_is_caught() {
    expect_failure(
        ch17::check_reptile_outer_step(reptile_with_the_gradient_at_theta),
        "five inner steps",
        &["at the *current*"],
    );
}

fn reptile_jumping_to_phi(
    theta: &mut [f32],
    gradient: &dyn Fn(&[f32]) -> Vec<f32>,
    inner_lr: f32,
    inner_steps: usize,
    _outer_lr: f32,
) {
    for _ in 0..inner_steps {
        let g = gradient(theta);
        for (t, g) in theta.iter_mut().zip(g) {
            *t -= inner_lr * g;
        }
    }
}

#[test]
fn reptile_that_forgets_the_outer_step_size_is_caught() {
    expect_failure(
        ch17::check_reptile_outer_step(reptile_jumping_to_phi),
        "one inner step",
        &["θ ← θ + ε·(φ − θ)"],
    );
}

fn quantize_by_truncation(values: &[f32]) -> (Vec<i8>, f32) {
    let (_, scale) = implementation::ch18::quantize_symmetric(values);
    (values.iter().map(|&x| (x / scale) as i8).collect(), scale)
}

#[test]
fn quantization_that_truncates_instead_of_rounding_is_caught() {
    expect_failure(
        ch18::check_quantize_symmetric(quantize_by_truncation),
        "the integers",
        &["`as i8` alone truncates"],
    );
}

fn quantize_with_128_steps(values: &[f32]) -> (Vec<i8>, f32) {
    let max = values.iter().fold(0.0f32, |m, &v| m.max(v.abs()));
    let scale = if max > 0.0 { max / 128.0 } else { 1.0 };
    (
        values
            .iter()
            .map(|&x| (x / scale).round().clamp(-128.0, 127.0) as i8)
            .collect(),
        scale,
    )
}

#[test]
fn quantization_with_a_scale_of_max_over_128_is_caught() {
    expect_failure(
        ch18::check_quantize_symmetric(quantize_with_128_steps),
        "the scale, a hand example",
        &["max|x| / 127"],
    );
}

fn ig_with_the_left_rule(
    gradient: &dyn Fn(&[f32]) -> Vec<f32>,
    x: &[f32],
    baseline: &[f32],
    steps: usize,
) -> Vec<f32> {
    let mut sum = vec![0.0f32; x.len()];
    for k in 0..steps {
        let alpha = k as f32 / steps as f32;
        let point: Vec<f32> = x
            .iter()
            .zip(baseline)
            .map(|(&x, &b)| b + alpha * (x - b))
            .collect();
        for (s, g) in sum.iter_mut().zip(gradient(&point)) {
            *s += g;
        }
    }
    x.iter()
        .zip(baseline)
        .zip(&sum)
        .map(|((&x, &b), &s)| (x - b) * s / steps as f32)
        .collect()
}

#[test]
fn integrated_gradients_with_the_left_rule_are_caught() {
    expect_failure(
        ch18::check_integrated_gradients(ig_with_the_left_rule),
        "F(x) = Σ sin(aᵢxᵢ) + x₀x₁, n = 2, 1 step",
        &["*middles*"],
    );
}

fn ig_without_the_displacement(
    gradient: &dyn Fn(&[f32]) -> Vec<f32>,
    x: &[f32],
    baseline: &[f32],
    steps: usize,
) -> Vec<f32> {
    let attributions = implementation::ch18::integrated_gradients(gradient, x, baseline, steps);
    attributions
        .iter()
        .zip(x.iter().zip(baseline))
        .map(|(&a, (&x, &b))| if x != b { a / (x - b) } else { 0.0 })
        .collect()
}

#[test]
fn integrated_gradients_that_forget_x_minus_the_baseline_are_caught() {
    expect_failure(
        ch18::check_integrated_gradients(ig_without_the_displacement),
        "a linear function",
        &["times x − x′"],
    );
}

fn contrastive_over_the_rows_only(logits: &[f32], n: usize) -> (f32, Vec<f32>) {
    let out = dlfs::loss::cross_entropy(
        &dlfs::Tensor::from_vec(&[n, n], logits.to_vec()),
        &(0..n).collect::<Vec<_>>(),
        dlfs::loss::Reduction::Mean,
    );
    (out.value, out.grad.into_data())
}

#[test]
fn a_one_sided_contrastive_loss_is_caught() {
    expect_failure(
        ch18::check_contrastive_loss(contrastive_over_the_rows_only),
        "the loss value, a batch of 4",
        &["over the columns"],
    );
}

fn contrastive_summed_not_averaged(logits: &[f32], n: usize) -> (f32, Vec<f32>) {
    let (value, grad) = implementation::ch18::contrastive_loss(logits, n);
    (2.0 * value, grad.iter().map(|g| 2.0 * g).collect())
}

#[test]
fn a_contrastive_loss_without_the_half_is_caught() {
    expect_failure(
        ch18::check_contrastive_loss(contrastive_summed_not_averaged),
        "the loss value, equal logits give ln N",
        &["L = ½·"],
    );
}

// The runner: todo!, panics, verdicts, summaries.

fn not_written_yet(_x: f32) -> f32 {
    todo!("exercise 6.1: sigmoid — see the doc comment")
}

fn panics_on_a_long_input(x: &[f32], k: usize) -> Vec<f32> {
    // Right for one row; indexes past its output once x has a second row.
    let mut y = implementation::ch06::softmax(&x[..k], k);
    if x.len() > k {
        y[x.len() - 1] = 0.0; // y has only k values
    }
    y
}

#[test]
fn a_todo_is_reported_as_not_attempted_yet() {
    let exercise = Exercise::new("ch06_sigmoid", "6.1", || {
        ch06::check_sigmoid(not_written_yet)
    });
    let verdict = exercise.run();
    assert_eq!(verdict.status(), Status::NotAttempted, "{verdict}");
    let text = verdict.to_string();
    assert_eq!(
        text,
        "ch06_sigmoid (exercise 6.1): not attempted yet — replace the todo!() in \
         src/exercises/ch06.rs (its doc comment says what to write)"
    );
    // The test's Err(verdict) prints exactly this one line.
    assert_eq!(format!("{verdict:?}"), text);
}

#[test]
fn a_panic_is_reported_with_the_check_and_its_input() {
    let exercise = Exercise::new("ch06_softmax", "6.4", || {
        ch06::check_softmax(panics_on_a_long_input)
    });
    let verdict = exercise.run();
    assert_eq!(verdict.status(), Status::Failing, "{verdict}");
    match &verdict.outcome {
        Outcome::Panicked(panic) => {
            let (message, location, during) = (&panic.message, &panic.location, &panic.during);
            assert!(message.contains("index out of bounds"), "{message}");
            assert!(
                location
                    .as_deref()
                    .is_some_and(|l| l.contains("exercise_checkers.rs")),
                "{location:?}"
            );
            let (check, input) = during.as_ref().expect("the check was named");
            assert_eq!(check, "each row separately");
            assert!(input.contains("x = [[1, 2, 3], [1, 1, 1]]"), "{input}");
        }
        other => panic!("expected a panic verdict, got {other:?}"),
    }
    let text = verdict.to_string();
    println!("{text}");
    assert!(text.starts_with(
        "ch06_softmax (exercise 6.4): FAILED: your function panicked during check \"each row separately\""
    ));
    assert!(
        text.contains("  input:    ")
            && text.contains("  panic:    ")
            && text.contains("  hint:     ")
    );
}

#[test]
fn a_failed_check_prints_input_expected_got_and_hint() {
    let exercise = Exercise::new("ch06_softmax", "6.4", || {
        ch06::check_softmax(softmax_without_max_subtraction)
    });
    let verdict = exercise.run();
    let text = verdict.to_string();
    println!("{text}");
    assert!(
        text.starts_with(
            "ch06_softmax (exercise 6.4): FAILED check \"large logits do not overflow\"\n"
        ),
        "{text}"
    );
    for label in [
        "  input:    x = ",
        "  expected: y = ",
        "  got:      y = ",
        "  where:    ",
        "  hint:     ",
    ] {
        assert!(text.contains(label), "missing {label:?} in:\n{text}");
    }
}

#[test]
fn a_summary_counts_done_failing_and_not_attempted() {
    let exercises = [
        Exercise::new("ch06_sigmoid", "6.1", || {
            ch06::check_sigmoid(implementation::ch06::sigmoid)
        }),
        Exercise::new("ch06_softmax", "6.4", || {
            ch06::check_softmax(softmax_without_max_subtraction)
        }),
        Exercise::new("ch06_sigmoid", "6.1", || {
            ch06::check_sigmoid(not_written_yet)
        }),
    ];
    let summary = Summary::of("ch06", &exercises);
    assert_eq!(
        summary.line(),
        "ch06: 1 of 3 done, 1 failing, 1 not attempted yet"
    );
    let text = format!("{:?}", summary.clone().into_result().unwrap_err());
    println!("{text}");
    assert!(
        text.contains("  done           ch06_sigmoid (exercise 6.1)"),
        "{text}"
    );
    assert!(
        text.contains("  FAILING        ch06_softmax (exercise 6.4)"),
        "{text}"
    );
    assert!(Summary::of("ch06", &exercises[..1]).into_result().is_ok());
}

#[test]
fn a_check_that_never_calls_run_still_reports_its_failure() {
    // Checkers compose `Check`s; a failure built by hand carries its check and input.
    let check = Check::new("a property", "x = 1");
    let failure = check.that(false, "1", "2", "think again").unwrap_err();
    assert_eq!(failure.check, "a property");
    assert_eq!(
        failure.to_string(),
        "check \"a property\" failed\n  input:    x = 1\n  expected: 1\n  got:      2\n  hint:     think again"
    );
}

// Chapter 16: typical wrong answers.

/// LayerNorm backward that forgets that μ and σ² depend on x: dx = r·γ·dy.
fn layer_norm_backward_without_the_mean_terms(
    x: &[f32],
    gamma: &[f32],
    grad_output: &[f32],
    rows: usize,
    features: usize,
    eps: f32,
) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let (_, d_gamma, d_beta) =
        implementation::ch16::layer_norm_backward(x, gamma, grad_output, rows, features, eps);
    let mut dx = Vec::with_capacity(x.len());
    for (row, dy) in x.chunks(features).zip(grad_output.chunks(features)) {
        let mean = row.iter().sum::<f32>() / features as f32;
        let variance = row.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / features as f32;
        let rstd = 1.0 / (variance + eps).sqrt();
        dx.extend(dy.iter().zip(gamma).map(|(d, g)| rstd * g * d));
    }
    (dx, d_gamma, d_beta)
}

#[test]
fn a_layer_norm_backward_without_the_mean_terms_is_caught() {
    expect_failure(
        ch16::check_layer_norm_backward(layer_norm_backward_without_the_mean_terms),
        "gradient of the input",
        &["mean(g)"],
    );
}

/// LayerNorm backward whose γ gradient sums dy ⊙ x instead of dy ⊙ x̂.
fn layer_norm_backward_gamma_from_x(
    x: &[f32],
    gamma: &[f32],
    grad_output: &[f32],
    rows: usize,
    features: usize,
    eps: f32,
) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let (dx, _, d_beta) =
        implementation::ch16::layer_norm_backward(x, gamma, grad_output, rows, features, eps);
    let mut d_gamma = vec![0.0; features];
    for (row, dy) in x.chunks(features).zip(grad_output.chunks(features)) {
        for ((g, &v), &d) in d_gamma.iter_mut().zip(row).zip(dy) {
            *g += v * d;
        }
    }
    (dx, d_gamma, d_beta)
}

#[test]
fn a_gamma_gradient_from_the_raw_input_is_named() {
    expect_failure(
        ch16::check_layer_norm_backward(layer_norm_backward_gamma_from_x),
        "gradient of gamma",
        &["x̂"],
    );
}

/// Attention forward without the causal mask (every position sees the future).
fn attention_that_sees_the_future(q: &[f32], k: &[f32], v: &[f32], t: usize, d: usize) -> Vec<f32> {
    let attend = |causal: bool| {
        let mut out = vec![0.0f32; t * d];
        for i in 0..t {
            let visible = if causal { i + 1 } else { t };
            let scores: Vec<f32> = (0..visible)
                .map(|j| {
                    (0..d).map(|c| q[i * d + c] * k[j * d + c]).sum::<f32>() / (d as f32).sqrt()
                })
                .collect();
            let max = scores.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            let exps: Vec<f32> = scores.iter().map(|s| (s - max).exp()).collect();
            let sum: f32 = exps.iter().sum();
            for (j, e) in exps.iter().enumerate() {
                for c in 0..d {
                    out[i * d + c] += e / sum * v[j * d + c];
                }
            }
        }
        out
    };
    attend(false)
}

#[test]
fn attention_without_the_causal_mask_is_caught() {
    expect_failure(
        ch16::check_causal_attention_forward(attention_that_sees_the_future),
        "hand example",
        &["causal mask"],
    );
}

/// Causal attention forward without the 1/√D scale.
fn attention_without_the_scale(q: &[f32], k: &[f32], v: &[f32], t: usize, d: usize) -> Vec<f32> {
    let scaled: Vec<f32> = q.iter().map(|x| x * (d as f32).sqrt()).collect();
    implementation::ch16::causal_attention_forward(&scaled, k, v, t, d)
}

#[test]
fn attention_without_the_scale_is_caught() {
    expect_failure(
        ch16::check_causal_attention_forward(attention_without_the_scale),
        "one head, T = 2, D = 3",
        &["√D"],
    );
}

/// Attention backward with the softmax backward taken element-wise: dZ = P ⊙ dP.
fn attention_backward_without_the_row_sum(
    q: &[f32],
    k: &[f32],
    v: &[f32],
    grad_output: &[f32],
    t: usize,
    d: usize,
    causal: bool,
) -> ch16::AttentionGradients {
    let right = implementation::ch16::attention_backward(q, k, v, grad_output, t, d, causal);
    // Recompute dQ and dK with dZ = P ⊙ dP.
    let scale = 1.0 / (d as f32).sqrt();
    let mut dq = vec![0.0f32; t * d];
    let mut dk = vec![0.0f32; t * d];
    for i in 0..t {
        let visible = if causal { i + 1 } else { t };
        let scores: Vec<f32> = (0..visible)
            .map(|j| (0..d).map(|c| q[i * d + c] * k[j * d + c]).sum::<f32>() * scale)
            .collect();
        let max = scores.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let exps: Vec<f32> = scores.iter().map(|s| (s - max).exp()).collect();
        let sum: f32 = exps.iter().sum();
        for j in 0..visible {
            let p = exps[j] / sum;
            let dp: f32 = (0..d).map(|c| grad_output[i * d + c] * v[j * d + c]).sum();
            let dz = p * dp;
            for c in 0..d {
                dq[i * d + c] += dz * k[j * d + c] * scale;
                dk[j * d + c] += dz * q[i * d + c] * scale;
            }
        }
    }
    ch16::AttentionGradients {
        q: dq,
        k: dk,
        v: right.v,
    }
}

#[test]
fn a_softmax_backward_without_the_row_sum_is_caught() {
    expect_failure(
        ch16::check_attention_backward(attention_backward_without_the_row_sum),
        "gradient of q",
        &["rowsum"],
    );
}

/// Attention backward that uses dZ instead of dZᵀ for the keys: dK = dZ·Q/√D.
fn attention_backward_with_untransposed_key_gradient(
    q: &[f32],
    k: &[f32],
    v: &[f32],
    grad_output: &[f32],
    t: usize,
    d: usize,
    causal: bool,
) -> ch16::AttentionGradients {
    let right = implementation::ch16::attention_backward(q, k, v, grad_output, t, d, causal);
    // dK computed with the roles of the two positions swapped.
    let swapped = implementation::ch16::attention_backward(k, q, v, grad_output, t, d, causal);
    ch16::AttentionGradients {
        q: right.q,
        k: swapped.q,
        v: right.v,
    }
}

#[test]
fn a_key_gradient_without_the_transpose_is_caught() {
    expect_failure(
        ch16::check_attention_backward(attention_backward_with_untransposed_key_gradient),
        "gradient of k",
        &["dZᵀ"],
    );
}

// The exercise set: stubs, solutions, tests, README agree.

/// A `pub fn` of a source file, as text.
struct Function {
    name: String,
    /// The signature with all whitespace removed (and rustfmt's trailing commas), for comparison.
    signature: String,
    /// The doc comment above it.
    doc: String,
    /// The body's text (the lines between the signature's `{` and the closing `}`).
    body: String,
    /// Byte range of the body in the source.
    body_range: std::ops::Range<usize>,
}

/// The top-level `pub fn`s of a rustfmt-formatted file (signature ending in `{`, body ending with a
/// `}` alone on its line).
fn functions(source: &str) -> Vec<Function> {
    let lines: Vec<&str> = source.split_inclusive('\n').collect();
    let mut starts = Vec::with_capacity(lines.len() + 1);
    let mut offset = 0;
    for line in &lines {
        starts.push(offset);
        offset += line.len();
    }
    starts.push(offset);
    let mut found = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        if !lines[i].starts_with("pub fn ") {
            i += 1;
            continue;
        }
        let first = i;
        while !lines[i].trim_end().ends_with('{') {
            i += 1;
        }
        let signature_text = lines[first..=i].concat();
        let body_first = i + 1;
        let mut end = body_first;
        while lines[end].trim_end() != "}" {
            end += 1;
        }
        let mut doc_first = first;
        while doc_first > 0 && lines[doc_first - 1].starts_with("///") {
            doc_first -= 1;
        }
        let name: String = signature_text["pub fn ".len()..]
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        let signature: String = signature_text
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>()
            .replace(",)", ")");
        found.push(Function {
            name,
            signature,
            doc: lines[doc_first..first].concat(),
            body: lines[body_first..end].concat(),
            body_range: starts[body_first]..starts[end],
        });
        i = end + 1;
    }
    found
}

fn crate_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// The chapters that have exercises, from the table: `ch02`, `ch03`, …
fn chapters() -> Vec<&'static str> {
    let mut chapters: Vec<&str> = exercise_table::all().iter().map(|e| e.chapter()).collect();
    chapters.dedup();
    chapters
}

#[test]
fn the_exercise_set_is_consistent() {
    let root = crate_root();
    let table = exercise_table::all();
    let learner_tests = read(&root.join("tests/exercises.rs"));
    let readme = read(&root.join("README.md"));
    let module_docs = read(&root.join("src/exercises/mod.rs"));
    let mut stub_count = 0;
    for chapter in chapters() {
        let stubs = functions(&read(&root.join(format!("src/exercises/{chapter}.rs"))));
        let solutions = functions(&read(
            &root.join(format!("tests/exercise_solutions/{chapter}.rs")),
        ));
        let listed: Vec<&Exercise> = table.iter().filter(|e| e.chapter() == chapter).collect();
        assert_eq!(
            stubs
                .iter()
                .map(|f| format!("{chapter}_{}", f.name))
                .collect::<Vec<_>>(),
            listed
                .iter()
                .map(|e| e.test.to_string())
                .collect::<Vec<_>>(),
            "src/exercises/{chapter}.rs and tests/exercise_table list different exercises"
        );
        let chapter_number: u32 = chapter[2..].parse().expect("chNN");
        for (index, (stub, exercise)) in stubs.iter().zip(&listed).enumerate() {
            let id = format!("{chapter_number}.{}", index + 1);
            assert_eq!(exercise.id, id, "{}: numbered out of order", exercise.test);
            assert_eq!(exercise_table::exercise(exercise.test).id, id);
            let todo = format!(
                "todo!(\"exercise {id}: {} — see the doc comment\")",
                stub.name
            );
            assert_eq!(
                stub.body.trim(),
                todo,
                "the stub {} must be exactly the todo! as shipped",
                exercise.test
            );
            assert!(
                stub.doc.contains(&format!("/// **Exercise {id} ")),
                "{}: the doc comment must start with its number",
                exercise.test
            );
            let reference = stub
                .doc
                .split("Reference, once yours passes: `")
                .nth(1)
                .and_then(|rest| rest.split('`').next())
                .unwrap_or_else(|| panic!("{}: the doc comment names no reference", exercise.test));
            assert!(
                root.join(reference).is_file(),
                "{}: the reference {reference} does not exist",
                exercise.test
            );
            let solution = solutions
                .iter()
                .find(|s| s.name == stub.name)
                .unwrap_or_else(|| {
                    panic!("{}: no solution in tests/exercise_solutions", exercise.test)
                });
            assert_eq!(
                solution.signature, stub.signature,
                "{}: the solution's signature differs from the stub's",
                exercise.test
            );
            assert!(
                learner_tests.contains(&format!(
                    "fn {}() -> Result<(), Verdict> {{\n    run(\"{}\")",
                    exercise.test, exercise.test
                )),
                "tests/exercises.rs has no test {}",
                exercise.test
            );
            let listing = format!("{id} `{}`", stub.name);
            assert!(
                readme.contains(&listing),
                "README.md does not list {listing}"
            );
            assert!(
                module_docs.contains(&listing),
                "src/exercises/mod.rs does not list {listing}"
            );
            stub_count += 1;
        }
        assert_eq!(
            solutions.len(),
            stubs.len(),
            "tests/exercise_solutions/{chapter}.rs has functions that are not exercises"
        );
        assert!(
            learner_tests.contains(&format!(
                "fn {chapter}_summary() -> Result<(), Summary> {{\n    summary(\"{chapter}\")"
            )),
            "tests/exercises.rs has no {chapter}_summary"
        );
    }
    assert_eq!(stub_count, table.len());
    assert!(stub_count >= 25, "the issue asks for at least 25 exercises");
}

// The slow proofs (ignored by default): they compile the crate with the exercises feature.

/// Copies the crate (without `target/`, `.git/`, `out/`) to `destination`.
fn copy_crate(from: &Path, destination: &Path) {
    for entry in std::fs::read_dir(from).expect("readable directory") {
        let entry = entry.expect("readable entry");
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if from == crate_root() && matches!(name.as_ref(), "target" | ".git" | "out") {
            continue;
        }
        let path = entry.path();
        let target = destination.join(entry.file_name());
        if path.is_dir() {
            std::fs::create_dir_all(&target).expect("create directory");
            copy_crate(&path, &target);
        } else {
            std::fs::copy(&path, &target).expect("copy file");
        }
    }
}

/// Runs `cargo test --features exercises --test exercises` in `crate_dir`, building in
/// `target/exercise-proof/<target_name>` of this crate (a folder per proof: cargo would take the
/// copy's build for the original's, whose package is the same), and returns (success, output).
fn run_learner_tests(crate_dir: &Path, target_name: &str) -> (bool, String) {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let output = Command::new(cargo)
        .args(["test", "--features", "exercises", "--test", "exercises"])
        .current_dir(crate_dir)
        .env(
            "CARGO_TARGET_DIR",
            crate_root().join("target/exercise-proof").join(target_name),
        )
        .output()
        .expect("cargo runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

#[test]
#[ignore = "slow: copies the crate, pastes the reference solutions into the stubs and compiles it \
            with --features exercises (run with --ignored)"]
fn pasting_the_solutions_turns_every_exercise_green() {
    let root = crate_root();
    let copy = std::env::temp_dir().join(format!("dlfs-solutions-pasted-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&copy);
    std::fs::create_dir_all(&copy).expect("temporary directory");
    copy_crate(&root, &copy);
    for chapter in chapters() {
        let stub_path = copy.join(format!("src/exercises/{chapter}.rs"));
        let mut source = read(&stub_path);
        let solutions = functions(&read(
            &root.join(format!("tests/exercise_solutions/{chapter}.rs")),
        ));
        // Replace bodies from the last to the first, so earlier byte ranges stay valid.
        let mut stubs = functions(&source);
        stubs.reverse();
        for stub in stubs {
            let solution = solutions
                .iter()
                .find(|s| s.name == stub.name)
                .expect("every stub has a solution (see the_exercise_set_is_consistent)");
            let body = solution.body.replace("dlfs::", "crate::");
            source.replace_range(stub.body_range.clone(), &body);
        }
        assert!(
            !source.contains("todo!("),
            "{chapter}: a stub was not replaced"
        );
        std::fs::write(&stub_path, source).expect("write the pasted stubs");
    }
    let (success, output) = run_learner_tests(&copy, "pasted");
    println!("{output}");
    let expected = exercise_table::all().len() + chapters().len();
    assert!(
        success,
        "the pasted solutions do not all pass (copy kept in {})",
        copy.display()
    );
    assert!(
        output.contains(&format!("test result: ok. {expected} passed; 0 failed")),
        "expected {expected} passing tests"
    );
    std::fs::remove_dir_all(&copy).expect("remove the copy");
}

#[test]
#[ignore = "slow: compiles the crate with --features exercises and runs the stubs as shipped \
            (run with --ignored)"]
fn the_stubs_as_shipped_report_every_exercise_not_attempted() {
    let (success, output) = run_learner_tests(&crate_root(), "shipped");
    println!("{output}");
    assert!(!success, "the stubs as shipped cannot pass");
    for exercise in exercise_table::all() {
        let line = format!(
            "{} (exercise {}): not attempted yet",
            exercise.test, exercise.id
        );
        assert!(output.contains(&line), "missing {line:?}");
    }
    for chapter in chapters() {
        let count = exercise_table::chapter(chapter).len();
        let line = format!("{chapter}: 0 of {count} done, 0 failing, {count} not attempted yet");
        assert!(output.contains(&line), "missing {line:?}");
    }
    assert!(!output.contains("FAILED check") && !output.contains("panicked"));
    let expected = exercise_table::all().len() + chapters().len();
    assert!(output.contains(&format!("test result: FAILED. 0 passed; {expected} failed")));
}
