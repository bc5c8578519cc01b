//! Chapter 7: `Linear`, `Sequential`, `Dropout`, initialisation, and gradient accumulation.
//!
//! Gradient checks use `dlfs::check`'s defaults (h = 10⁻², fail above 10⁻² relative error). Run with
//! `-- --nocapture` to see the worst relative errors.

use dlfs::Tensor;
use dlfs::check::{
    GradCheckConfig, Tolerance, assert_close, assert_gradcheck_layer, nudge_away_from,
};
use dlfs::nn::init::{
    FanMode, Nonlinearity, default_linear_bound, fans, gain, kaiming_normal, kaiming_uniform,
    xavier_normal, xavier_uniform,
};
use dlfs::nn::{
    Dropout, Layer, Linear, Mode, Param, Relu, Sequential, Tanh, param_count, zero_grad,
};
use dlfs::probability::Rng;

fn print_reports(what: &str, reports: &[dlfs::check::GradReport]) {
    for r in reports {
        println!(
            "layer {what:<34} {:<10} worst relative error {:.2e}",
            r.name, r.worst_relative_error
        );
    }
}

#[test]
fn linear_passes_the_gradient_check_for_matrices_vectors_and_sequences() {
    let mut rng = Rng::new(7);
    let config = GradCheckConfig::default();
    for shape in [vec![4, 3], vec![3], vec![2, 5, 3]] {
        let mut layer = Linear::new(3, 5, &mut rng);
        let x = Tensor::randn(&shape, 0.0, 1.0, &mut rng);
        let reports = assert_gradcheck_layer(&mut layer, &x, &config);
        assert_eq!(reports.len(), 3, "input, weight, bias");
        print_reports(&format!("Linear(3, 5) on {shape:?}"), &reports);
    }
    let mut layer = Linear::without_bias(3, 2, &mut rng);
    let x = Tensor::randn(&[4, 3], 0.0, 1.0, &mut rng);
    let reports = assert_gradcheck_layer(&mut layer, &x, &config);
    assert_eq!(reports.len(), 2, "input, weight");
    print_reports("Linear(3, 2, bias=false)", &reports);
}

/// The textbook definition, one multiply-add at a time: yₙⱼ = bⱼ + Σᵢ xₙᵢ·Wⱼᵢ.
fn linear_reference(x: &Tensor, w: &Tensor, b: &Tensor) -> Vec<f32> {
    let (n, k, m) = (x.dim(0), x.dim(1), w.dim(0));
    let mut y = vec![0.0; n * m];
    for row in 0..n {
        for j in 0..m {
            let mut sum = f64::from(b.data()[j]);
            for i in 0..k {
                sum += f64::from(x.at(&[row, i])) * f64::from(w.at(&[j, i]));
            }
            y[row * m + j] = sum as f32;
        }
    }
    y
}

#[test]
fn linear_forward_matches_the_textbook_sum_on_awkward_shapes() {
    let mut rng = Rng::new(8);
    for (n, k, m) in [(1, 1, 1), (7, 13, 5), (33, 17, 11), (2, 64, 3)] {
        let mut layer = Linear::new(k, m, &mut rng);
        let x = Tensor::randn(&[n, k], 0.0, 1.0, &mut rng);
        let y = layer.forward(&x, Mode::Eval);
        assert_eq!(y.shape(), &[n, m]);
        let expected = linear_reference(
            &x,
            &layer.weight().value,
            &layer.bias().expect("has a bias").value,
        );
        assert_close(
            "Linear forward",
            &[n, m],
            y.data(),
            &expected,
            Tolerance::F32,
        );
    }
}

#[test]
fn linear_default_init_is_uniform_within_one_over_sqrt_fan_in() {
    let mut rng = Rng::new(9);
    let layer = Linear::new(400, 120, &mut rng);
    let bound = 1.0 / 20.0;
    assert_eq!(default_linear_bound(400), bound);
    let w = &layer.weight().value;
    assert_eq!(w.shape(), &[120, 400]);
    assert!(w.data().iter().all(|v| v.abs() <= bound));
    assert!(
        layer
            .bias()
            .unwrap()
            .value
            .data()
            .iter()
            .all(|v| v.abs() <= bound)
    );
    // U(−b, b) has mean 0 and variance b²/3; 48,000 samples pin both to about 1 %.
    let variance = w.data().iter().map(|v| v * v).sum::<f32>() / w.len() as f32;
    let expected = bound * bound / 3.0;
    assert!(
        (variance / expected - 1.0).abs() < 0.03,
        "variance {variance}, expected {expected}"
    );
    assert!(w.mean().abs() < 0.01 * bound * 10.0);
}

#[test]
fn initialisers_have_the_documented_spread() {
    let mut rng = Rng::new(10);
    let shape = [256, 128, 3]; // fan_in = 384, fan_out = 768
    assert_eq!(fans(&shape), (384, 768));
    let std_of = |t: &Tensor| (t.data().iter().map(|v| v * v).sum::<f32>() / t.len() as f32).sqrt();
    let checks = [
        (
            "xavier_uniform",
            xavier_uniform(&shape, 1.0, &mut rng),
            (2.0f32 / (384.0 + 768.0)).sqrt(),
        ),
        (
            "xavier_normal",
            xavier_normal(&shape, 1.0, &mut rng),
            (2.0f32 / (384.0 + 768.0)).sqrt(),
        ),
        (
            "kaiming_uniform",
            kaiming_uniform(&shape, FanMode::FanIn, Nonlinearity::Relu, &mut rng),
            (2.0f32 / 384.0).sqrt(),
        ),
        (
            "kaiming_normal",
            kaiming_normal(&shape, FanMode::FanOut, Nonlinearity::Relu, &mut rng),
            (2.0f32 / 768.0).sqrt(),
        ),
    ];
    for (name, t, expected_std) in checks {
        let std = std_of(&t);
        println!("{name}: std {std:.5}, expected {expected_std:.5}");
        // 98,304 samples: the sample std is within about 0.5 % of the true one.
        assert!(
            (std / expected_std - 1.0).abs() < 0.02,
            "{name}: std {std}, expected {expected_std}"
        );
    }
    assert!((gain(Nonlinearity::LeakyRelu(5f32.sqrt())) - (1.0f32 / 3.0).sqrt()).abs() < 1e-6);
    assert_eq!(gain(Nonlinearity::Tanh), 5.0 / 3.0);
}

/// The tutorial's network: Linear(10, 5) → ReLU → Linear(5, 1).
fn tutorial_network(rng: &mut Rng) -> Sequential {
    let mut model = Sequential::default();
    model.push(Linear::new(10, 5, rng));
    model.push(Relu::new());
    model.push(Linear::new(5, 1, rng));
    model
}

#[test]
fn sequential_names_parameters_like_pytorch_and_counts_them() {
    let mut model = tutorial_network(&mut Rng::new(11));
    let mut names = Vec::new();
    model.visit_params(&mut |name, p| names.push((name.to_string(), p.value.shape().to_vec())));
    assert_eq!(
        names,
        vec![
            ("0.weight".to_string(), vec![5, 10]),
            ("0.bias".to_string(), vec![5]),
            ("2.weight".to_string(), vec![1, 5]),
            ("2.bias".to_string(), vec![1]),
        ]
    );
    assert_eq!(param_count(&mut model), 10 * 5 + 5 + 5 + 1);
}

#[test]
fn sequential_passes_the_gradient_check() {
    let mut rng = Rng::new(12);
    let mut model = Sequential::default();
    model.push(Linear::new(4, 6, &mut rng));
    model.push(Tanh::new());
    model.push(Linear::new(6, 3, &mut rng));
    let x = Tensor::randn(&[5, 4], 0.0, 1.0, &mut rng);
    let reports = assert_gradcheck_layer(&mut model, &x, &GradCheckConfig::default());
    print_reports("Sequential(Linear, Tanh, Linear)", &reports);
}

fn gradients(model: &mut dyn Layer) -> Vec<f32> {
    let mut all = Vec::new();
    model.visit_params(&mut |_, p: &mut Param| all.extend_from_slice(p.grad.data()));
    all
}

#[test]
fn backward_accumulates_and_zero_grad_resets() {
    let mut rng = Rng::new(13);
    let mut model = tutorial_network(&mut rng);
    let mut x = Tensor::randn(&[8, 10], 0.0, 1.0, &mut rng);
    nudge_away_from(x.data_mut(), &[0.0], 0.01);
    let dy = Tensor::randn(&[8, 1], 0.0, 1.0, &mut rng);
    model.forward(&x, Mode::Train);
    let dx_once = model.backward(&dy);
    let once = gradients(&mut model);
    assert!(once.iter().any(|&g| g != 0.0));
    let dx_twice = model.backward(&dy);
    let twice = gradients(&mut model);
    let doubled: Vec<f32> = once.iter().map(|g| 2.0 * g).collect();
    // Linear's weight gradient is accumulated inside the GEMM (β = 1: dW ← dW + Σₙ …, term by term),
    // so the second sum is rounded differently from g + g: allow a few units in the last place.
    let ulps = Tolerance::new(1e-6, 1e-6);
    assert_close(
        "gradients after two backward calls",
        &[once.len()],
        &twice,
        &doubled,
        ulps,
    );
    assert_eq!(dx_once, dx_twice, "the input gradient does not accumulate");
    zero_grad(&mut model);
    assert!(gradients(&mut model).iter().all(|&g| g == 0.0));
}

#[test]
#[should_panic(expected = "backward called without a preceding forward in Mode::Train")]
fn backward_after_an_inference_forward_panics() {
    let mut layer = Linear::new(3, 2, &mut Rng::new(14));
    let x = Tensor::ones(&[1, 3]);
    layer.forward(&x, Mode::Train);
    layer.forward(&x, Mode::Inference);
    layer.backward(&Tensor::ones(&[1, 2]));
}

#[test]
#[should_panic(expected = "must end in 3 features")]
fn linear_names_the_shapes_of_a_wrong_input() {
    Linear::new(3, 2, &mut Rng::new(15)).forward(&Tensor::ones(&[4, 5]), Mode::Eval);
}

/// Dropout with its generator restarted before every forward, so the gradient check sees one mask.
struct SameMaskDropout(Dropout);

impl Layer for SameMaskDropout {
    fn forward(&mut self, x: &Tensor, mode: Mode) -> Tensor {
        self.0.reseed(99);
        self.0.forward(x, mode)
    }
    fn backward(&mut self, grad_output: &Tensor) -> Tensor {
        self.0.backward(grad_output)
    }
    fn describe(&self) -> String {
        self.0.describe()
    }
}

#[test]
fn dropout_passes_the_gradient_check_with_a_fixed_mask() {
    let mut rng = Rng::new(16);
    let mut layer = SameMaskDropout(Dropout::new(0.3, &mut rng));
    let x = Tensor::randn(&[4, 6], 0.0, 1.0, &mut rng);
    let reports = assert_gradcheck_layer(&mut layer, &x, &GradCheckConfig::default());
    print_reports("Dropout(p=0.3)", &reports);
}

#[test]
fn dropout_is_inverted_seeded_and_the_identity_in_eval() {
    let mut rng = Rng::new(17);
    let x = Tensor::ones(&[100, 100]);
    let mut dropout = Dropout::new(0.25, &mut rng);
    assert_eq!(dropout.forward(&x, Mode::Eval), x);
    let y = dropout.forward(&x, Mode::Train);
    let zeros = y.data().iter().filter(|&&v| v == 0.0).count();
    // 10,000 Bernoulli(0.25) trials: mean 2,500, standard deviation 43; allow 5 standard deviations.
    assert!((zeros as i64 - 2500).abs() < 220, "{zeros} dropped");
    assert!(y.data().iter().all(|&v| v == 0.0 || v == 1.0 / 0.75));
    // Survivors are scaled by 1/(1 − p), so the mean stays near 1.
    assert!((y.mean() - 1.0).abs() < 0.03, "mean {}", y.mean());
    // Backward uses the same mask.
    let dx = dropout.backward(&x);
    assert_eq!(dx, y);
    // The same seed gives the same mask; a second forward gives a new one.
    let mut again = Dropout::new(0.25, &mut Rng::new(17));
    assert_eq!(again.forward(&x, Mode::Train), y);
    assert_ne!(again.forward(&x, Mode::Train), y);
    // p = 0 keeps everything, p = 1 drops everything.
    assert_eq!(Dropout::new(0.0, &mut rng).forward(&x, Mode::Train), x);
    assert!(
        Dropout::new(1.0, &mut rng)
            .forward(&x, Mode::Train)
            .data()
            .iter()
            .all(|&v| v == 0.0)
    );
}

// ---- Training: fit, evaluate, predict, History, metrics ----

use dlfs::Error;
use dlfs::loss::{CrossEntropyLoss, MseLoss};
use dlfs::optim::{Adam, Optimizer, Sgd, StepLr};
use dlfs::train::{
    ConfusionMatrix, FitConfig, Metric, TensorDataset, accuracy, confusion_matrix, evaluate, fit,
    predict, train_step,
};

/// A regression task for the tutorial's network: y = Σᵢ sin(xᵢ)·wᵢ + 0.1·noise over 10 features
/// (the generator of chapter 7, `dlfs::data::regression`).
fn regression_task(n: usize, rng: &mut Rng) -> (Tensor, Tensor) {
    let set = dlfs::data::regression::sine_regression(n, 10, 0.1, rng);
    (set.inputs, set.targets)
}

#[test]
fn the_tutorial_network_learns_a_regression_task() {
    let mut rng = Rng::new(70);
    let (x, y) = regression_task(512, &mut rng);
    let data = TensorDataset::new(&x, &y).unwrap();
    let mut model = tutorial_network(&mut rng);
    let before = evaluate(&mut model, &MseLoss::new(), &data, 128, Metric::None)
        .unwrap()
        .loss;
    let mut adam = Adam::new(0.01);
    let config = FitConfig::new(30, 32).seed(1).progress(None);
    let history = fit(&mut model, &mut adam, &MseLoss::new(), &data, &config).unwrap();
    let after = evaluate(&mut model, &MseLoss::new(), &data, 128, Metric::None)
        .unwrap()
        .loss;
    println!("regression: loss {before:.4} before, {after:.4} after 30 epochs");
    // The claim: training divides the loss by at least 5 (measured 3.65 → 0.47, 7.8×, with these
    // seeds; the noise floor is 0.01, but a 5-unit hidden layer cannot fit the sines exactly).
    assert!(after < before / 5.0, "loss {before} → {after}");
    assert_eq!(history.epochs.len(), 30);
    assert!(history.losses()[29] < history.losses()[0]);
    assert_eq!(adam.steps_taken(), 30 * 16, "one optimizer step per batch");
}

#[test]
fn a_small_network_overfits_twenty_examples() {
    // Twenty random points with random labels: no pattern, so only memorising fits them. A network
    // that cannot do this has a bug (Karpathy's "overfit one batch" check).
    let mut rng = Rng::new(71);
    let x = Tensor::randn(&[20, 5], 0.0, 1.0, &mut rng);
    let y = Tensor::from_fn(&[20], |_| rng.below(3) as f32);
    let data = TensorDataset::new(&x, &y).unwrap();
    let mut model = Sequential::default();
    model.push(Linear::new(5, 64, &mut rng));
    model.push(Tanh::new());
    model.push(Linear::new(64, 3, &mut rng));
    let config = FitConfig::new(300, 20)
        .progress(None)
        .metric(Metric::Accuracy);
    let history = fit(
        &mut model,
        &mut Adam::new(0.01),
        &CrossEntropyLoss::new(),
        &data,
        &config,
    )
    .unwrap();
    let last = history.last().unwrap();
    println!(
        "overfitting 20 examples: final loss {:.5}, accuracy {:?}",
        last.loss, last.metric
    );
    assert!(last.loss < 0.01, "final loss {}", last.loss);
    assert_eq!(last.metric, Some(1.0));
}

fn all_weights(model: &mut dyn Layer) -> Vec<f32> {
    let mut all = Vec::new();
    model.visit_params(&mut |_, p: &mut Param| all.extend_from_slice(p.value.data()));
    all
}

#[test]
fn the_same_seed_gives_bit_identical_weights_for_any_thread_count() {
    let train = |threads: usize, seed: u64| {
        dlfs::parallel::set_num_threads(threads);
        let mut rng = Rng::new(72);
        let (x, y) = regression_task(200, &mut rng);
        let data = TensorDataset::new(&x, &y).unwrap();
        let mut model = tutorial_network(&mut rng);
        let config = FitConfig::new(3, 16).seed(seed).progress(None);
        fit(
            &mut model,
            &mut Sgd::new(0.05).momentum(0.9),
            &MseLoss::new(),
            &data,
            &config,
        )
        .unwrap();
        all_weights(&mut model)
    };
    let one = train(1, 5);
    let two = train(2, 5);
    let other_seed = train(2, 6);
    dlfs::parallel::set_num_threads(dlfs::parallel::default_num_threads());
    assert_eq!(one, two, "1 and 2 threads must give identical weights");
    assert_ne!(one, other_seed, "another shuffling seed gives another run");
}

#[test]
fn a_diverging_run_stops_with_an_error_naming_the_step() {
    let mut rng = Rng::new(73);
    let (x, y) = regression_task(64, &mut rng);
    let data = TensorDataset::new(&x, &y).unwrap();
    let mut model = tutorial_network(&mut rng);
    let config = FitConfig::new(50, 8).progress(None);
    let err = fit(
        &mut model,
        &mut Sgd::new(1e4),
        &MseLoss::new(),
        &data,
        &config,
    )
    .unwrap_err();
    let text = err.to_string();
    println!("{text}");
    match err {
        Error::Training { step, .. } => assert!(step >= 2, "step {step}"),
        other => panic!("expected a training error, got {other}"),
    }
    assert!(
        text.contains("smaller learning rate") && text.contains("epoch"),
        "{text}"
    );
}

#[test]
fn bad_data_and_settings_are_errors_not_panics() {
    let x = Tensor::zeros(&[4, 10]);
    let y = Tensor::zeros(&[3, 1]);
    assert!(matches!(TensorDataset::new(&x, &y), Err(Error::Data(_))));

    let labels = Tensor::from_vec(&[4], vec![0.0, 1.0, 7.0, 1.0]);
    let data = TensorDataset::new(&x, &labels).unwrap();
    let mut rng = Rng::new(74);
    let mut model = Linear::new(10, 3, &mut rng);
    let config = FitConfig::new(1, 4).progress(None);
    let err = fit(
        &mut model,
        &mut Sgd::new(0.1),
        &CrossEntropyLoss::new(),
        &data,
        &config,
    )
    .unwrap_err();
    // The message names the batch position, and the batch's dataset examples to trace it back.
    let text = err.to_string();
    assert!(
        text.contains("is 7") && text.contains("epoch 1, batch 1 of 1"),
        "{text}"
    );

    let zero_batch = FitConfig::new(1, 0).progress(None);
    let err = fit(
        &mut model,
        &mut Sgd::new(0.1),
        &MseLoss::new(),
        &data,
        &zero_batch,
    )
    .unwrap_err();
    assert_eq!(
        err.exit_code(),
        2,
        "a batch size of 0 is a usage error: {err}"
    );
}

#[test]
fn history_records_validation_schedule_and_plots() {
    let mut rng = Rng::new(75);
    let (x, y) = regression_task(96, &mut rng);
    let (vx, vy) = regression_task(32, &mut rng);
    let (train, validation) = (
        TensorDataset::new(&x, &y).unwrap(),
        TensorDataset::new(&vx, &vy).unwrap(),
    );
    let mut model = tutorial_network(&mut rng);
    let schedule = StepLr {
        step_size: 2,
        gamma: 0.5,
    };
    let config = FitConfig::new(4, 32)
        .progress(None)
        .metric(Metric::MeanAbsoluteError)
        .validation(&validation)
        .schedule(&schedule)
        .clip_grad_norm(1.0);
    let mut sgd = Sgd::new(0.1);
    let history = fit(&mut model, &mut sgd, &MseLoss::new(), &train, &config).unwrap();
    let rates: Vec<f32> = history.epochs.iter().map(|e| e.learning_rate).collect();
    assert_eq!(rates, vec![0.1, 0.1, 0.05, 0.05]);
    assert_eq!(history.validation_losses().len(), 4);
    assert_eq!(history.metric_name, "mae");
    let last = history.last().unwrap();
    let check = evaluate(
        &mut model,
        &MseLoss::new(),
        &validation,
        7,
        Metric::MeanAbsoluteError,
    )
    .unwrap();
    assert!(
        (check.loss - last.validation_loss.unwrap()).abs() < 1e-5,
        "batching does not change the loss"
    );
    assert!((check.metric.unwrap() - last.validation_metric.unwrap()).abs() < 1e-5);

    let svg = history.loss_plot("loss").to_svg();
    assert!(svg.contains("training loss") && svg.contains("validation loss"));
    assert!(
        history
            .metric_plot("mae")
            .unwrap()
            .to_svg()
            .contains("training mae")
    );
    let table = history.table().render();
    assert!(
        table.contains("val loss") && table.lines().count() == 6,
        "{table}"
    );
    assert!(history.loss_chart(30, 6).contains("training loss"));
}

#[test]
fn predict_batches_like_one_forward_and_train_step_is_one_step() {
    let mut rng = Rng::new(76);
    let mut model = tutorial_network(&mut rng);
    let x = Tensor::randn(&[11, 10], 0.0, 1.0, &mut rng);
    let whole = model.forward(&x, Mode::Eval);
    let batched = predict(&mut model, &x, 4);
    assert_eq!(batched.shape(), &[11, 1]);
    assert_close(
        "predict",
        &[11, 1],
        batched.data(),
        whole.data(),
        Tolerance::F32,
    );

    let y = Tensor::zeros(&[11, 1]);
    let mut sgd = Sgd::new(0.01);
    let first = train_step(&mut model, &mut sgd, &MseLoss::new(), &x, &y, None).unwrap();
    let second = train_step(&mut model, &mut sgd, &MseLoss::new(), &x, &y, None).unwrap();
    assert!(
        second < first,
        "one step downhill lowers the loss: {first} → {second}"
    );
    assert_eq!(sgd.steps_taken(), 2);
}

#[test]
fn accuracy_and_the_confusion_matrix_count_correctly() {
    let scores = Tensor::from_rows(&[
        &[0.9, 0.1, 0.0],
        &[0.2, 0.7, 0.1],
        &[0.1, 0.8, 0.1],
        &[0.0, 0.3, 0.6],
    ]);
    let classes = Tensor::from_vec(&[4], vec![0.0, 1.0, 2.0, 2.0]);
    assert_eq!(accuracy(&scores, &classes), 0.75);
    let mut m = ConfusionMatrix::new(3);
    m.add_batch(&scores, &classes);
    assert_eq!(m.count(2, 1), 1, "one example of class 2 taken for class 1");
    assert_eq!(m.count(2, 2), 1);
    assert_eq!(m.total(), 4);
    assert_eq!(m.accuracy(), 0.75);
    assert_eq!(m.recall(2), 0.5);
    assert_eq!(m.precision(1), 0.5);
    let text = m.render(Some(&["cat", "dog", "bird"]));
    assert!(text.contains("bird") && text.contains("recall"), "{text}");
    println!("{text}");

    // The same through a model: a fixed Linear that copies its input.
    let mut identity = Linear::from_params(
        Tensor::from_rows(&[&[1.0, 0.0, 0.0], &[0.0, 1.0, 0.0], &[0.0, 0.0, 1.0]]),
        None,
    );
    let data = TensorDataset::new(&scores, &classes).unwrap();
    assert_eq!(confusion_matrix(&mut identity, &data, 3, 3), m);
    let evaluation = evaluate(
        &mut identity,
        &CrossEntropyLoss::new(),
        &data,
        3,
        Metric::Accuracy,
    )
    .unwrap();
    assert_eq!(evaluation.metric, Some(0.75));
}

// ---- The chapter's claims (chapters/ch07_feedforward.rs, included as the tour includes it) ----

#[allow(dead_code)]
#[path = "../chapters/ch07_feedforward.rs"]
mod ch07;

#[test]
fn the_chapter_network_has_61_named_parameters_and_the_stated_shapes() {
    let mut model = ch07::tutorial_network(&mut Rng::new(7));
    let shapes = ch07::parameter_shapes(&mut model);
    let expected: Vec<(String, Vec<usize>)> = [
        ("0.weight", vec![5, 10]),
        ("0.bias", vec![5]),
        ("2.weight", vec![1, 5]),
        ("2.bias", vec![1]),
    ]
    .into_iter()
    .map(|(n, s)| (n.to_string(), s))
    .collect();
    assert_eq!(shapes, expected);
    assert_eq!(param_count(&mut model), 61);
    let summary: Vec<Vec<usize>> = model
        .summary(&Tensor::zeros(&[4, 10]))
        .into_iter()
        .map(|(_, shape)| shape)
        .collect();
    assert_eq!(summary, vec![vec![4, 5], vec![4, 5], vec![4, 1]]);
}

#[test]
fn the_chapter_network_beats_the_linear_model_and_the_mean_on_test_data() {
    // The chapter's full run (seed 7, 60 epochs) printed test MSE 5.066 (mean), 0.835 (linear),
    // 0.703 (the tutorial's network). The claim: network < linear < mean / 5 on the test set.
    let (x, y, x_test, y_test) = ch07::task(7);
    let data = (&x, &y, &x_test, &y_test);
    let mut rng = Rng::new(8);
    let mut network = ch07::tutorial_network(&mut rng);
    let network = ch07::train_model(&mut network, data, 60, 7, None).unwrap();
    let mut linear = Linear::new(10, 1, &mut rng);
    let linear = ch07::train_model(&mut linear, data, 60, 7, None).unwrap();
    let mean = y.mean();
    let baseline: f32 = y_test
        .data()
        .iter()
        .map(|&v| (v - mean) * (v - mean))
        .sum::<f32>()
        / y_test.len() as f32;
    println!(
        "test MSE: mean {baseline:.4}, linear {:.4}, network {:.4}",
        linear.test_loss, network.test_loss
    );
    assert!(network.test_loss < linear.test_loss);
    assert!(linear.test_loss < baseline / 5.0);
    assert_eq!(network.history.epochs.len(), 60);
    assert_eq!(network.history.validation_losses().len(), 60);
}
