//! Chapter 10: every loss's value against a hand computation, its gradient against finite differences,
//! and the stability of the cross-entropy on extreme logits.
//!
//! Gradient checks use `dlfs::check::gradcheck` with its defaults (h = 10⁻², fail above 10⁻²
//! relative error). Run with `-- --nocapture` to see the worst relative errors.

use dlfs::Tensor;
use dlfs::check::{GradCheckConfig, gradcheck, nudge_away_from};
use dlfs::loss::{
    BceLoss, BceWithLogitsLoss, CrossEntropyLoss, HuberLoss, Loss, LossOutput, MseLoss, Reduction,
    bce, bce_with_logits, cross_entropy, huber, log_softmax, mse, softmax,
};
use dlfs::nn::{Layer, Linear, Mode, Relu, Sequential};
use dlfs::probability::Rng;

/// Checks ∂loss/∂output of `loss_of` at `output` by central differences; prints the worst error.
fn check_loss_gradient(name: &str, output: &Tensor, loss_of: impl Fn(&Tensor) -> LossOutput) {
    let analytic = loss_of(output).grad;
    assert_eq!(
        analytic.shape(),
        output.shape(),
        "{name}: the gradient has the output's shape"
    );
    let mut x = output.data().to_vec();
    let report = gradcheck(
        name,
        output.shape(),
        &mut x,
        analytic.data(),
        |values| f64::from(loss_of(&Tensor::from_vec(output.shape(), values.to_vec())).value),
        &GradCheckConfig::default(),
    );
    println!(
        "loss {name:<32} worst relative error {:.2e}",
        report.worst_relative_error
    );
    assert!(report.passed, "{report}");
}

#[test]
fn every_loss_passes_the_gradient_check_with_both_reductions() {
    let mut rng = Rng::new(10);
    let prediction = Tensor::randn(&[4, 3], 0.0, 1.0, &mut rng);
    let target = Tensor::randn(&[4, 3], 0.0, 1.0, &mut rng);
    let classes = [2usize, 0, 1, 2];
    let probabilities = Tensor::rand_uniform(&[4, 3], 0.1, 0.9, &mut rng);
    let binary_targets = Tensor::from_fn(&[4, 3], |i| (i % 2) as f32);
    // Keep the Huber differences 2h away from the switch at |d| = δ = 1.
    let mut huber_prediction = prediction.clone();
    for (p, &t) in huber_prediction.data_mut().iter_mut().zip(target.data()) {
        let mut d = [*p - t];
        nudge_away_from(&mut d, &[-1.0, 1.0], 0.05);
        *p = t + d[0];
    }
    for reduction in [Reduction::Mean, Reduction::Sum] {
        let r = reduction.name();
        check_loss_gradient(&format!("mse ({r})"), &prediction, |p| {
            mse(p, &target, reduction)
        });
        check_loss_gradient(&format!("cross_entropy ({r})"), &prediction, |p| {
            cross_entropy(p, &classes, reduction)
        });
        check_loss_gradient(&format!("bce_with_logits ({r})"), &prediction, |p| {
            bce_with_logits(p, &binary_targets, reduction)
        });
        check_loss_gradient(&format!("bce ({r})"), &probabilities, |p| {
            bce(p, &binary_targets, reduction)
        });
        check_loss_gradient(&format!("huber δ=1 ({r})"), &huber_prediction, |p| {
            huber(p, &target, 1.0, reduction)
        });
    }
}

#[test]
fn values_match_hand_computations() {
    let prediction = Tensor::from_vec(&[3], vec![1.0, 2.0, 3.0]);
    let target = Tensor::from_vec(&[3], vec![1.0, 2.0, 5.0]);
    // MSE: (0 + 0 + 4) / 3; gradient 2(ŷ − y)/3.
    let out = mse(&prediction, &target, Reduction::Mean);
    assert!((out.value - 4.0 / 3.0).abs() < 1e-6);
    assert_eq!(out.grad.data(), &[0.0, 0.0, -4.0 / 3.0]);
    assert_eq!(mse(&prediction, &target, Reduction::Sum).value, 4.0);

    // Cross-entropy of logits [1, 2, 3] with target 2: ln(e + e² + e³) − 3.
    let logits = Tensor::from_rows(&[&[1.0, 2.0, 3.0]]);
    let out = cross_entropy(&logits, &[2], Reduction::Mean);
    assert!((f64::from(out.value) - 0.40760596444438013).abs() < 1e-6);
    // The gradient is softmax − one-hot, and each row of it sums to 0.
    let p = softmax(&logits);
    for k in 0..3 {
        let expected = p.data()[k] - if k == 2 { 1.0 } else { 0.0 };
        assert!((out.grad.data()[k] - expected).abs() < 1e-7);
    }
    assert!(out.grad.sum().abs() < 1e-6);

    // BCE with logits at x = 0: −ln ½ = ln 2 for either target; gradient σ(0) − y.
    let zero = Tensor::zeros(&[2]);
    let out = bce_with_logits(
        &zero,
        &Tensor::from_vec(&[2], vec![0.0, 1.0]),
        Reduction::Mean,
    );
    assert!((out.value - std::f32::consts::LN_2).abs() < 1e-7);
    assert_eq!(out.grad.data(), &[0.25, -0.25]);

    // BCE on probabilities: p = 0.8, y = 1 gives −ln 0.8; a confident wrong answer is clamped to 100.
    let out = bce(
        &Tensor::from_vec(&[1], vec![0.8]),
        &Tensor::from_vec(&[1], vec![1.0]),
        Reduction::Mean,
    );
    assert!((out.value - (-(0.8f32).ln())).abs() < 1e-6);
    let out = bce(
        &Tensor::from_vec(&[1], vec![0.0]),
        &Tensor::from_vec(&[1], vec![1.0]),
        Reduction::Mean,
    );
    assert_eq!(out.value, 100.0);
    assert!(out.grad.all_finite());

    // Huber δ = 1: d = 0.5 → ½·0.25; d = 3 → 1·(3 − ½); gradients 0.5 and 1 (clamped), over 2.
    let out = huber(
        &Tensor::from_vec(&[2], vec![0.5, 3.0]),
        &Tensor::zeros(&[2]),
        1.0,
        Reduction::Mean,
    );
    assert!((out.value - (0.125 + 2.5) / 2.0).abs() < 1e-6);
    assert_eq!(out.grad.data(), &[0.25, 0.5]);
}

#[test]
fn cross_entropy_is_stable_where_the_naive_formula_overflows() {
    let logits = Tensor::from_rows(&[&[1000.0, 0.0, -1000.0], &[-1000.0, -1000.0, 1000.0]]);
    // Naively, e^1000 = inf in f32 and inf/inf = NaN.
    let naive: f32 = logits.data()[..3].iter().map(|v| v.exp()).sum();
    assert!(naive.is_infinite());
    let out = cross_entropy(&logits, &[0, 0], Reduction::Sum);
    // Example 0 is right with certainty (loss 0); example 1 is 2000 nats wrong.
    assert!((out.value - 2000.0).abs() < 1e-3, "{}", out.value);
    assert!(out.grad.all_finite());
    let log_p = log_softmax(&logits);
    assert!(log_p.all_finite());
    assert_eq!(log_p.at(&[0, 0]), 0.0);

    let out = bce_with_logits(
        &Tensor::from_vec(&[2], vec![1000.0, -1000.0]),
        &Tensor::from_vec(&[2], vec![0.0, 1.0]),
        Reduction::Sum,
    );
    assert!((out.value - 2000.0).abs() < 1e-3 && out.grad.all_finite());
}

#[test]
fn loss_structs_check_targets_and_name_the_problem() {
    let logits = Tensor::zeros(&[2, 3]);
    let ce = CrossEntropyLoss::new();
    assert!(
        ce.check(&logits, &Tensor::from_vec(&[2], vec![0.0, 2.0]))
            .is_ok()
    );
    for (bad, says) in [
        (3.0, "target 1 is 3"),
        (1.5, "target 1 is 1.5"),
        (-1.0, "target 1 is -1"),
    ] {
        let err = ce
            .check(&logits, &Tensor::from_vec(&[2], vec![0.0, bad]))
            .unwrap_err();
        assert!(err.to_string().contains(says), "{err}");
    }
    let err = ce.check(&logits, &Tensor::zeros(&[3])).unwrap_err();
    assert!(
        err.to_string()
            .contains("2 examples in the output but 3 targets"),
        "{err}"
    );

    // [N, 1] against [N] is one layout; [N, 2] against [N] is not.
    let mse_loss = MseLoss::new();
    assert!(
        mse_loss
            .check(&Tensor::zeros(&[4, 1]), &Tensor::zeros(&[4]))
            .is_ok()
    );
    assert!(
        mse_loss
            .check(&Tensor::zeros(&[4, 2]), &Tensor::zeros(&[4]))
            .is_err()
    );
    let err = mse_loss
        .check(
            &Tensor::zeros(&[2]),
            &Tensor::from_vec(&[2], vec![0.0, f32::NAN]),
        )
        .unwrap_err();
    assert!(err.to_string().contains("target 1 is NaN"), "{err}");

    let err = BceLoss::new()
        .check(&Tensor::from_vec(&[1], vec![1.5]), &Tensor::ones(&[1]))
        .unwrap_err();
    assert!(err.to_string().contains("Sigmoid"), "{err}");

    // The structs compute what the functions compute.
    let y = Tensor::from_vec(&[2, 1], vec![0.3, -0.2]);
    let t = Tensor::from_vec(&[2], vec![1.0, 0.0]);
    assert_eq!(
        BceWithLogitsLoss::new().compute(&y, &t).value,
        bce_with_logits(&y, &t, Reduction::Mean).value
    );
    assert_eq!(
        HuberLoss::new(0.5).compute(&y, &t).value,
        huber(&y, &t, 0.5, Reduction::Mean).value
    );
    assert_eq!(ce.name(), "CrossEntropyLoss(reduction=mean)");
}

#[test]
#[should_panic(expected = "do not match")]
fn mse_refuses_to_broadcast_n_by_1_against_n_by_n() {
    mse(
        &Tensor::zeros(&[4, 1]),
        &Tensor::zeros(&[4, 4]),
        Reduction::Mean,
    );
}

#[test]
fn a_fresh_ten_class_classifier_starts_near_ln_10() {
    // With PyTorch's default initialisation the logits of a fresh network are small, so the predicted
    // distribution is nearly uniform and the loss is ≈ −ln(1/10) = 2.303. A much larger initial loss
    // means the initialisation is too large (a classic bug Karpathy's "recipe" checks first).
    let mut rng = Rng::new(2024);
    let mut model = Sequential::default();
    model.push(Linear::new(20, 64, &mut rng));
    model.push(Relu::new());
    model.push(Linear::new(64, 10, &mut rng));
    let x = Tensor::randn(&[512, 20], 0.0, 1.0, &mut rng);
    let classes: Vec<usize> = (0..512).map(|_| rng.below(10)).collect();
    let logits = model.forward(&x, Mode::Eval);
    let loss = cross_entropy(&logits, &classes, Reduction::Mean).value;
    println!(
        "initial loss of a fresh 10-class classifier: {loss:.4} (ln 10 = {:.4})",
        10f32.ln()
    );
    assert!((loss - 10f32.ln()).abs() < 0.1, "initial loss {loss}");
}

// ---- The chapter's claims (chapters/ch10_losses.rs, included as the tour includes it) ----

#[allow(dead_code)]
#[path = "../chapters/ch10_losses.rs"]
mod ch10;

use dlfs::loss::{log_softmax_row, naive_log_softmax_row, naive_softmax_row, softmax_row};

/// The chapter's double-softmax numbers, against PyTorch 2.15:
/// ```python
/// z = torch.tensor([[2.0, 1.0, 0.1], [0.5, 2.5, 0.3]], requires_grad=True)
/// p = torch.softmax(z, 1); p.retain_grad()
/// loss = F.cross_entropy(p, torch.tensor([0, 2])); loss.backward()
/// # loss 1.1017911, p.grad[1] = [0.1256, 0.2513, -0.3769], z.grad[1] = [-0.0061, 0.0558, -0.0497]
/// ```
/// and without the extra softmax, `F.cross_entropy(z, …)`: loss 1.4185398, z.grad[1, 2] = −0.4555.
#[test]
fn the_double_softmax_gradient_reaching_the_logits_is_nine_times_smaller() {
    let z = Tensor::from_rows(&[&[2.0, 1.0, 0.1], &[0.5, 2.5, 0.3]]);
    let (double, at_logits) = ch10::double_softmax(&z, &[0, 2]);
    let correct = cross_entropy(&z, &[0, 2], Reduction::Mean);
    let close = |got: f32, expected: f32| (got - expected).abs() < 1e-4;
    assert!(close(double.value, 1.101_791), "{}", double.value);
    assert!(close(correct.value, 1.418_54), "{}", correct.value);
    let at_probabilities = [-0.2758, 0.1478, 0.1280, 0.1256, 0.2513, -0.3769];
    let at_z = [-0.0939, 0.0682, 0.0258, -0.0061, 0.0558, -0.0497];
    for i in 0..6 {
        assert!(
            close(double.grad.data()[i], at_probabilities[i]),
            "{:?}",
            double.grad
        );
        assert!(close(at_logits.data()[i], at_z[i]), "{at_logits:?}");
    }
    assert!(close(correct.grad.data()[5], -0.4555));
    let ratio = correct.grad.data()[5] / at_logits.data()[5];
    assert!((9.0..9.4).contains(&ratio), "{ratio}");
}

#[test]
fn the_naive_softmax_overflows_where_the_stable_one_is_exact() {
    let big = [1000.0f32, 1001.0, 1002.0];
    assert!(naive_softmax_row(&big).iter().all(|p| p.is_nan()));
    assert!(
        naive_softmax_row(&[-1000.0, -1001.0, -1002.0])
            .iter()
            .all(|p| p.is_nan())
    );
    let mut stable = big.to_vec();
    softmax_row(&mut stable);
    let mut shifted = vec![0.0f32, 1.0, 2.0];
    softmax_row(&mut shifted);
    // softmax(z) = softmax(z − m): the same numbers to f32 rounding.
    for (a, b) in stable.iter().zip(&shifted) {
        assert!((a - b).abs() < 1e-6, "{stable:?} vs {shifted:?}");
    }
    // Where nothing overflows, the naive formula is right (so the test above is about overflow).
    let naive_small = naive_softmax_row(&[0.0, 1.0, 2.0]);
    for (a, b) in naive_small.iter().zip(&shifted) {
        assert!((a - b).abs() < 1e-6);
    }
}

#[test]
fn the_naive_log_softmax_underflows_to_minus_infinity() {
    let z = [0.0f32, -200.0, 5.0];
    let naive = naive_log_softmax_row(&z);
    assert_eq!(naive[1], f32::NEG_INFINITY);
    let mut stable = z.to_vec();
    log_softmax_row(&mut stable);
    // Exact: −200 − (5 + ln(1 + e^−5 + e^−205)) = −205.006715…
    let expected = -200.0 - (5.0 + (1.0f64 + (-5.0f64).exp()).ln());
    assert!(
        (f64::from(stable[1]) - expected).abs() < 1e-3,
        "{}",
        stable[1]
    );
    assert!(stable.iter().all(|v| v.is_finite()));
}

#[test]
fn huber_ignores_the_outlier_that_drags_the_mse_line() {
    // The chapter printed a = 3.479 (MSE) and 2.033 (Huber) against the true slope 2.
    let (x, y) = ch10::line_data(true);
    let (a_mse, b_mse) = ch10::fit_line(&MseLoss::new(), &x, &y);
    let (a_huber, b_huber) = ch10::fit_line(&HuberLoss::new(1.0), &x, &y);
    println!("MSE a = {a_mse:.3}, b = {b_mse:.3}; Huber a = {a_huber:.3}, b = {b_huber:.3}");
    assert!((a_huber - 2.0).abs() < 0.1 && (b_huber - 1.0).abs() < 0.3);
    assert!((a_mse - 2.0).abs() > 1.0);
    // The MSE fit by Adam is the least-squares line (to 1e-2: 3000 steps of lr 0.1 in f32).
    let (a_exact, b_exact) = ch10::least_squares_line(&x, &y);
    assert!((a_mse - a_exact).abs() < 1e-2 && (b_mse - b_exact).abs() < 5e-2);
    // Without the outlier both agree with the true line.
    let (x, y) = ch10::line_data(false);
    let (a_clean, _) = ch10::fit_line(&MseLoss::new(), &x, &y);
    assert!((a_clean - 2.0).abs() < 0.05);
}

#[test]
fn mse_on_a_sigmoid_has_a_vanishing_gradient_where_bce_does_not() {
    // The chapter's formulas, checked against central differences of the losses they differentiate.
    let xs: Vec<f32> = (0..13).map(|i| -6.0 + i as f32).collect();
    for &x in &xs {
        let h = 1e-3f64;
        let f = |v: f64| (1.0 / (1.0 + (-v).exp()) - 1.0).powi(2);
        let numeric = (f(f64::from(x) + h) - f(f64::from(x) - h)) / (2.0 * h);
        assert!((f64::from(ch10::mse_on_sigmoid_gradient(x)) - numeric).abs() < 1e-4);
        let g = |v: f64| (1.0 + (-v).exp()).ln(); // −ln σ(v)
        let numeric = (g(f64::from(x) + h) - g(f64::from(x) - h)) / (2.0 * h);
        assert!((f64::from(ch10::bce_gradient(x)) - numeric).abs() < 1e-4);
    }
    // Confidently wrong (x = −10, target 1): BCE pushes with ≈ −1, MSE on σ with ≈ −9·10⁻⁵.
    assert!(ch10::bce_gradient(-10.0) < -0.999);
    assert!(ch10::mse_on_sigmoid_gradient(-10.0).abs() < 1e-4);
}
