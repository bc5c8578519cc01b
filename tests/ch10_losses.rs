//! Chapter 10: every loss's value against a hand computation, its gradient against finite differences,
//! and the stability of the cross-entropy on extreme logits.
//!
//! Gradient checks use `dlfs::check::gradcheck` with its defaults (h = 10⁻², fail above 10⁻²
//! relative error). Run with `-- --nocapture` to see the worst relative errors.

use dlfs::Tensor;
use dlfs::check::{GradCheckConfig, gradcheck, nudge_away_from};
use dlfs::loss::{
    BceLoss, BceWithLogitsLoss, CrossEntropyLoss, HuberLoss, Loss, LossOutput, MseLoss, Reduction,
    SmoothL1Loss, bce, bce_with_logits, cross_entropy, huber, log_softmax, log_softmax_row, mse,
    smooth_l1, softmax,
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

/// Every loss of the module at one reduction, as `(name, output, loss of an output)`.
type LossCase<'a> = (String, Tensor, Box<dyn Fn(&Tensor) -> LossOutput + 'a>);

fn every_loss(reduction: Reduction) -> Vec<LossCase<'static>> {
    let mut rng = Rng::new(10);
    let prediction = Tensor::randn(&[4, 3], 0.0, 1.0, &mut rng);
    let target = Tensor::randn(&[4, 3], 0.0, 1.0, &mut rng);
    let classes = [2usize, 0, 1, 2];
    let probabilities = Tensor::rand_uniform(&[4, 3], 0.1, 0.9, &mut rng);
    let binary_targets = Tensor::from_fn(&[4, 3], |i| (i % 2) as f32);
    // Keep the differences 2h away from the switches: |d| = 1 (Huber δ = 1, smooth L1 β = 1),
    // |d| = 0.5 (β = 0.5) and d = 0 (β = 0, the L1 loss's kink).
    let mut away = prediction.clone();
    for (p, &t) in away.data_mut().iter_mut().zip(target.data()) {
        let mut d = [*p - t];
        nudge_away_from(&mut d, &[-1.0, -0.5, 0.0, 0.5, 1.0], 0.05);
        *p = t + d[0];
    }
    let r = reduction.name();
    let (t1, t2, t3, t4, t5) = (
        target.clone(),
        binary_targets.clone(),
        binary_targets,
        target.clone(),
        target,
    );
    let mut cases: Vec<LossCase<'static>> = vec![
        (
            format!("mse ({r})"),
            prediction.clone(),
            Box::new(move |p| mse(p, &t1, reduction)),
        ),
        (
            format!("cross_entropy ({r})"),
            prediction.clone(),
            Box::new(move |p| cross_entropy(p, &classes, reduction)),
        ),
        (
            format!("bce_with_logits ({r})"),
            prediction,
            Box::new(move |p| bce_with_logits(p, &t2, reduction)),
        ),
        (
            format!("bce ({r})"),
            probabilities,
            Box::new(move |p| bce(p, &t3, reduction)),
        ),
        (
            format!("huber δ=1 ({r})"),
            away.clone(),
            Box::new(move |p| huber(p, &t4, 1.0, reduction)),
        ),
    ];
    for beta in [1.0, 0.5, 0.0] {
        let t = t5.clone();
        cases.push((
            format!("smooth_l1 β={beta} ({r})"),
            away.clone(),
            Box::new(move |p| smooth_l1(p, &t, beta, reduction)),
        ));
    }
    cases
}

#[test]
fn every_loss_passes_the_gradient_check_with_every_reduction() {
    // For `none`, `value` is the sum of the terms and `grad` its gradient.
    for reduction in [Reduction::Mean, Reduction::Sum, Reduction::None] {
        for (name, output, loss_of) in every_loss(reduction) {
            check_loss_gradient(&name, &output, loss_of);
        }
    }
}

#[test]
fn reduction_none_keeps_each_term_and_each_terms_gradient_in_place() {
    let means = every_loss(Reduction::Mean);
    let sums = every_loss(Reduction::Sum);
    for ((name, output, loss_of), ((_, _, mean_of), (_, _, sum_of))) in every_loss(Reduction::None)
        .into_iter()
        .zip(means.into_iter().zip(sums))
    {
        let none = loss_of(&output);
        let terms = none
            .terms
            .clone()
            .expect("reduction none returns the terms");
        let per_example = name.starts_with("cross_entropy");
        let expected_shape = if per_example { vec![4] } else { vec![4, 3] };
        assert_eq!(terms.shape(), expected_shape.as_slice(), "{name}");
        let (mean, sum) = (mean_of(&output), sum_of(&output));
        assert!(mean.terms.is_none() && sum.terms.is_none(), "{name}");
        let total: f64 = terms.data().iter().map(|&v| f64::from(v)).sum();
        assert!(
            (total - f64::from(sum.value)).abs() <= 1e-5 * total.abs().max(1.0),
            "{name}"
        );
        assert!(
            (f64::from(none.value) - f64::from(sum.value)).abs() <= 1e-6,
            "{name}"
        );
        assert!(
            (total / terms.len() as f64 - f64::from(mean.value)).abs() <= 1e-5,
            "{name}"
        );
        assert_eq!(none.grad, sum.grad, "{name}: the gradient of the sum");
        // Weighting the terms: ∂(Σ wᵢ·termᵢ)/∂output is grad scaled term by term — checked by
        // finite differences of the weighted sum.
        let weights = Tensor::rand_uniform(terms.shape(), 0.5, 2.0, &mut Rng::new(4));
        let row = if per_example { 3 } else { 1 };
        let weighted_grad: Vec<f32> = none
            .grad
            .data()
            .iter()
            .enumerate()
            .map(|(i, &g)| g * weights.data()[i / row])
            .collect();
        let mut x = output.data().to_vec();
        let report = gradcheck(
            &name,
            output.shape(),
            &mut x,
            &weighted_grad,
            |values| {
                let out = loss_of(&Tensor::from_vec(output.shape(), values.to_vec()));
                let terms = out.terms.expect("terms");
                terms
                    .data()
                    .iter()
                    .zip(weights.data())
                    .map(|(&t, &w)| f64::from(t) * f64::from(w))
                    .sum()
            },
            &GradCheckConfig::default(),
        );
        assert!(report.passed, "{name}, weighted terms: {report}");
    }
}

#[test]
fn smooth_l1_matches_pytorch() {
    // torch.nn.functional.smooth_l1_loss(p, 0, beta) for p = [0.2, −1, 0, 0.5]: value, gradient.
    let p = Tensor::from_vec(&[4], vec![0.2, -1.0, 0.0, 0.5]);
    let zero = Tensor::zeros(&[4]);
    for (beta, value, grad, terms) in [
        (0.5, 0.26, [0.1, -0.25, 0.0, 0.25], [0.04, 0.75, 0.0, 0.25]),
        (0.0, 0.425, [0.25, -0.25, 0.0, 0.25], [0.2, 1.0, 0.0, 0.5]),
        (
            1.0,
            0.16125,
            [0.05, -0.25, 0.0, 0.125],
            [0.02, 0.5, 0.0, 0.125],
        ),
    ] {
        let out = smooth_l1(&p, &zero, beta, Reduction::Mean);
        assert!((out.value - value).abs() < 1e-6, "β={beta}: {}", out.value);
        for (g, e) in out.grad.data().iter().zip(grad) {
            assert!((g - e).abs() < 1e-7, "β={beta}: {:?}", out.grad);
        }
        let none = smooth_l1(&p, &zero, beta, Reduction::None).terms.unwrap();
        for (t, e) in none.data().iter().zip(terms) {
            assert!((t - e).abs() < 1e-7, "β={beta}: {none:?}");
        }
    }
    // Huber(δ) = β·SmoothL1(β) with β = δ.
    let d = Tensor::from_vec(&[3], vec![0.3, -2.0, 1.2]);
    let h = huber(&d, &Tensor::zeros(&[3]), 1.5, Reduction::Sum).value;
    let s = smooth_l1(&d, &Tensor::zeros(&[3]), 1.5, Reduction::Sum).value;
    assert!((h - 1.5 * s).abs() < 1e-6);
    assert_eq!(
        SmoothL1Loss::new(0.5).name(),
        "SmoothL1Loss(beta=0.5, reduction=mean)"
    );
    let none = MseLoss {
        reduction: Reduction::None,
    };
    assert_eq!(none.name(), "MSELoss(reduction=none)");
}

/// `ln Σ e^{z − m} − (z_class − m)` in f64: the exact cross-entropy of one row of f32 logits.
fn exact_cross_entropy(row: &[f32], class: usize) -> f64 {
    let m = row
        .iter()
        .map(|&v| f64::from(v))
        .fold(f64::NEG_INFINITY, f64::max);
    let s: f64 = row.iter().map(|&v| (f64::from(v) - m).exp()).sum();
    s.ln() - (f64::from(row[class]) - m)
}

#[test]
fn cross_entropy_of_many_rows_is_each_rows_and_the_same_on_any_number_of_threads() {
    // 700 rows of 97 classes: the rows are computed in parallel pieces of 168 rows (five pieces,
    // the last ragged). Each row's term and gradient must be that row's alone (the gradient of the
    // mean is the single row's times 1/N, exactly), and nothing may change with the thread count.
    let (n, k) = (700, 97);
    let mut rng = Rng::new(10);
    let logits = Tensor::from_fn(&[n, k], |_| rng.uniform(-6.0, 6.0));
    let targets: Vec<usize> = (0..n).map(|_| rng.below(k)).collect();
    let runs: Vec<(LossOutput, LossOutput)> = [1, 2, 3]
        .iter()
        .map(|&threads| {
            dlfs::parallel::set_num_threads(threads);
            (
                cross_entropy(&logits, &targets, Reduction::Mean),
                cross_entropy(&logits, &targets, Reduction::None),
            )
        })
        .collect();
    dlfs::parallel::set_num_threads(dlfs::parallel::default_num_threads());
    let (mean, none) = &runs[0];
    let bits = |t: &Tensor| t.data().iter().map(|v| v.to_bits()).collect::<Vec<_>>();
    for (threads, (other_mean, other_none)) in [2, 3].iter().zip(&runs[1..]) {
        assert_eq!(
            mean.value.to_bits(),
            other_mean.value.to_bits(),
            "{threads} threads: the mean"
        );
        assert_eq!(
            bits(&mean.grad),
            bits(&other_mean.grad),
            "{threads} threads: the gradient"
        );
        assert_eq!(
            bits(none.terms.as_ref().unwrap()),
            bits(other_none.terms.as_ref().unwrap()),
            "{threads} threads: the terms"
        );
    }
    let terms = none.terms.as_ref().expect("reduction none keeps the terms");
    let mut exact_sum = 0.0f64;
    for (i, &class) in targets.iter().enumerate() {
        let row = &logits.data()[i * k..(i + 1) * k];
        let exact = exact_cross_entropy(row, class);
        exact_sum += exact;
        let term = f64::from(terms.data()[i]);
        assert!(
            (term - exact).abs() <= 1e-6 * exact.max(1.0),
            "row {i}: term {term}, exact {exact}"
        );
        let alone = cross_entropy(&Tensor::from_rows(&[row]), &[class], Reduction::Sum);
        for (j, (&g, &single)) in mean.grad.data()[i * k..(i + 1) * k]
            .iter()
            .zip(alone.grad.data())
            .enumerate()
        {
            let expected = (f64::from(single) / n as f64) as f32;
            assert_eq!(
                g.to_bits(),
                expected.to_bits(),
                "row {i}, class {j}: gradient {g}"
            );
        }
    }
    let exact_mean = exact_sum / n as f64;
    let value = f64::from(mean.value);
    assert!(
        (value - exact_mean).abs() <= 1e-6 * exact_mean,
        "mean {value}, exact {exact_mean}"
    );
}

#[test]
fn cross_entropy_and_log_softmax_are_exact_for_large_logits() {
    // Logits near 10³ and 10⁵ (all exactly representable in f32). Rounding logsumexp = m + ln s to
    // f32 first loses ln s's digits next to m (the f32 spacing is 6·10⁻⁵ at 10³, 8·10⁻³ at 10⁵);
    // computing (z − m) − ln s keeps them, so the result is f32 rounding of a number near 1: a few
    // units of 10⁻⁷.
    for base in [0.0f32, 1000.0, 100_000.0, -100_000.0] {
        let row = [base, base - 1.5, base - 3.0, base + 0.25];
        for class in 0..4 {
            let exact = exact_cross_entropy(&row, class);
            let logits = Tensor::from_rows(&[&row]);
            let got = f64::from(cross_entropy(&logits, &[class], Reduction::Sum).value);
            assert!(
                (got - exact).abs() <= 4e-7 * exact.abs().max(1.0),
                "cross_entropy at logits near {base}, class {class}: got {got}, exact {exact}"
            );
            let mut log_p = row;
            log_softmax_row(&mut log_p);
            let got = f64::from(log_p[class]);
            assert!(
                (got + exact).abs() <= 1e-6 * exact.abs().max(1.0),
                "log_softmax at logits near {base}, class {class}: got {got}, exact {}",
                -exact
            );
        }
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

use dlfs::loss::{naive_log_softmax_row, naive_softmax_row, softmax_row};

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
