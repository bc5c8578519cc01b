//! Input gradients of a trained model: `backward` after a `Mode::Eval` forward, for every layer of
//! the crate and for `Sequential` and the book's models.
//!
//! For each layer: the Eval forward gives the Train forward's output, and the backward after it gives
//! exactly the Train backward's input and parameter gradients (bit for bit: the same code runs;
//! only dropout behaves differently); neither pass changes a parameter (no layer here has running
//! statistics that an Eval pass could update); dropout is the identity forwards and backwards; a
//! `Mode::Inference` forward caches nothing, so a backward after it panics with a message that says
//! so. Then finite-difference checks of the input gradient in Eval mode on a trained CifarCnn, a
//! network with dropout and a 2-layer LSTM classifier (check defaults: h = 10⁻², relative error
//! ≤ 10⁻², see `dlfs::check`). Only the input gradient is checked on the ReLU networks: a step of
//! h in one *weight* moves every pre-activation of its unit and crosses ReLU kinks and max-pool
//! switches, where finite differences mean nothing; a step in one input pixel rarely does (the
//! parameter gradients of every layer are checked in the chapter tests, and above they are shown
//! equal to Train mode's bit for bit). The smooth LSTM classifier gets the full check.

use dlfs::check::{GradCheckConfig, assert_gradcheck_layer, gradcheck_input};
use dlfs::loss::{CrossEntropyLoss, Loss};
use dlfs::nn::{
    AvgPool2d, CifarCnn, Conv2d, Dropout, Embedding, Flatten, GRU, Gelu, Identity, LSTM, Layer,
    LeakyRelu, Linear, MaxPool2d, Mode, Param, RNN, RecurrentOutput, Relu, Sequential, Sigmoid,
    SmallCnn, Softmax, Tanh, zero_grad,
};
use dlfs::optim::{Optimizer, Sgd};
use dlfs::probability::Rng;
use dlfs::tensor::Tensor;

fn random(shape: &[usize], seed: u64) -> Tensor {
    Tensor::randn(shape, 0.0, 1.0, &mut Rng::new(seed))
}

/// Every parameter: name, value bits, gradient bits.
fn snapshot(layer: &mut dyn Layer) -> Vec<(String, Vec<u32>, Vec<u32>)> {
    let mut out = Vec::new();
    layer.visit_params(&mut |name, p: &mut Param| {
        out.push((
            name.to_string(),
            p.value.data().iter().map(|v| v.to_bits()).collect(),
            p.grad.data().iter().map(|v| v.to_bits()).collect(),
        ))
    });
    out
}

fn values(snapshot: &[(String, Vec<u32>, Vec<u32>)]) -> Vec<(String, Vec<u32>)> {
    snapshot
        .iter()
        .map(|(n, v, _)| (n.clone(), v.clone()))
        .collect()
}

fn panic_message(f: impl FnOnce()) -> Option<String> {
    let err = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).err()?;
    Some(
        err.downcast_ref::<String>()
            .cloned()
            .or_else(|| err.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default(),
    )
}

/// The checks of the module docs for one layer at input `x`.
fn check_eval_backward(name: &str, layer: &mut dyn Layer, x: &Tensor) {
    let initial = values(&snapshot(layer));
    zero_grad(layer);
    let y_train = layer.forward(x, Mode::Train);
    let r = random(y_train.shape(), 99);
    let dx_train = layer.backward(&r);
    let after_train = snapshot(layer);

    zero_grad(layer);
    let y_eval = layer.forward(x, Mode::Eval);
    assert_eq!(
        y_eval, y_train,
        "{name}: the Eval forward differs from Train"
    );
    let dx_eval = layer.backward(&r);
    assert_eq!(
        dx_eval, dx_train,
        "{name}: ∂L/∂x after Eval differs from Train"
    );
    let after_eval = snapshot(layer);
    assert_eq!(
        after_eval, after_train,
        "{name}: parameter gradients after Eval differ from Train"
    );
    assert_eq!(
        values(&after_eval),
        initial,
        "{name}: a forward/backward pass changed a parameter"
    );

    // Inference caches nothing: a backward after it panics, saying why.
    layer.forward(x, Mode::Inference);
    let message = panic_message(|| {
        layer.backward(&r);
    })
    .unwrap_or_else(|| panic!("{name}: backward after an Inference forward did not panic"));
    assert!(
        message.contains("Mode::Inference") && message.contains("Mode::Eval"),
        "{name}: the panic must say that an Inference forward caches nothing, got: {message}"
    );
    // And Eval works again afterwards.
    zero_grad(layer);
    layer.forward(x, Mode::Eval);
    assert_eq!(layer.backward(&r), dx_train, "{name}: Eval after Inference");
}

#[test]
fn every_layer_backpropagates_after_an_eval_forward() {
    let mut rng = Rng::new(1);
    let matrix = random(&[3, 5], 2);
    let image = random(&[2, 2, 6, 6], 3);
    let sequence = random(&[3, 4, 5], 4);
    let cases: Vec<(Box<dyn Layer>, Tensor)> = vec![
        (Box::new(Linear::new(5, 4, &mut rng)), matrix.clone()),
        (Box::new(Relu::new()), matrix.clone()),
        (Box::new(Sigmoid::new()), matrix.clone()),
        (Box::new(Tanh::new()), matrix.clone()),
        (Box::new(LeakyRelu::new(0.1)), matrix.clone()),
        (Box::new(Gelu::new()), matrix.clone()),
        (Box::new(Gelu::tanh_approximation()), matrix.clone()),
        (Box::new(Identity::new()), matrix.clone()),
        (Box::new(Softmax::new()), matrix.clone()),
        (
            Box::new(
                Conv2d::builder(2, 3, 3)
                    .padding(1)
                    .stride(2)
                    .build(&mut rng),
            ),
            image.clone(),
        ),
        (Box::new(MaxPool2d::new(2)), image.clone()),
        (Box::new(MaxPool2d::new(3).stride(1)), image.clone()),
        (Box::new(AvgPool2d::new(2)), image.clone()),
        (Box::new(Flatten::new()), image.clone()),
        (
            Box::new(Embedding::new(10, 3, &mut rng)),
            Tensor::from_vec(&[2, 3], vec![1.0, 0.0, 9.0, 4.0, 4.0, 2.0]),
        ),
        (Box::new(RNN::new(5, 3, &mut rng)), sequence.clone()),
        (
            Box::new(LSTM::new(5, 3, &mut rng).output(RecurrentOutput::LastStep)),
            sequence.clone(),
        ),
        (Box::new(GRU::new(5, 3, &mut rng)), sequence.clone()),
        (Box::new(LSTM::stacked(5, 3, 2, &mut rng)), sequence.clone()),
        (
            Box::new(GRU::stacked(5, 3, 2, &mut rng).output(RecurrentOutput::LastStep)),
            sequence.clone(),
        ),
        (Box::new(RNN::stacked(5, 3, 3, &mut rng)), sequence.clone()),
        (
            Box::new(Sequential::new(vec![
                Box::new(Linear::new(5, 4, &mut rng)),
                Box::new(Relu::new()),
                Box::new(Linear::new(4, 2, &mut rng)),
            ])),
            matrix.clone(),
        ),
        (
            Box::new(CifarCnn::new(&mut rng)),
            random(&[2, 3, 32, 32], 5),
        ),
        (
            Box::new(SmallCnn::new(&mut rng)),
            random(&[1, 1, 52, 52], 6),
        ),
    ];
    for (mut layer, x) in cases {
        let name = layer.describe();
        check_eval_backward(&name, layer.as_mut(), &x);
    }
}

#[test]
fn dropout_is_the_identity_forwards_and_backwards_in_eval() {
    let x = random(&[4, 6], 1);
    let r = random(&[4, 6], 2);
    let mut dropout = Dropout::new(0.5, &mut Rng::new(3));
    assert_eq!(dropout.forward(&x, Mode::Eval), x);
    assert_eq!(dropout.backward(&r), r);
    // A training pass between does not leak its mask into the next Eval backward.
    let y = dropout.forward(&x, Mode::Train);
    assert_ne!(y, x, "training drops something");
    dropout.forward(&x, Mode::Eval);
    assert_eq!(dropout.backward(&r), r);
    assert!(
        panic_message(|| {
            dropout.forward(&x, Mode::Inference);
            dropout.backward(&r);
        })
        .is_some_and(|m| m.contains("Mode::Inference"))
    );
}

/// `Linear → [Dropout] → ReLU → Linear`, with or without the dropout layer, the same weights.
fn network(with_dropout: bool) -> Sequential {
    let mut rng = Rng::new(10);
    let mut model = Sequential::default();
    model.push(Linear::new(6, 8, &mut rng));
    let mut dropout_rng = Rng::new(11);
    if with_dropout {
        model.push(Dropout::new(0.5, &mut dropout_rng));
    }
    model.push(Relu::new());
    model.push(Linear::new(8, 3, &mut rng));
    model
}

#[test]
fn a_network_with_dropout_in_eval_differentiates_as_the_network_without_it() {
    let x = random(&[5, 6], 12);
    let r = random(&[5, 3], 13);
    let mut with = network(true);
    let mut without = network(false);
    let y = with.forward(&x, Mode::Eval);
    assert_eq!(y, without.forward(&x, Mode::Train));
    assert_eq!(with.backward(&r), without.backward(&r));
    let grads = |m: &mut Sequential| {
        let mut g = Vec::new();
        m.visit_params(&mut |_, p| g.push(p.grad.clone()));
        g
    };
    assert_eq!(grads(&mut with), grads(&mut without));
    // In training the dropout changes the gradient (so the comparison above can fail).
    zero_grad(&mut with);
    with.forward(&x, Mode::Train);
    assert_ne!(with.backward(&r), without.backward(&r));
}

/// A CifarCnn after a few SGD steps on random images: weights that have moved from their
/// initialisation, as a trained model's have.
fn trained_cifar_cnn() -> CifarCnn {
    let mut rng = Rng::new(20);
    let mut model = CifarCnn::new(&mut rng);
    let mut sgd = Sgd::new(0.01).momentum(0.9);
    let loss = CrossEntropyLoss::new();
    let x = random(&[8, 3, 32, 32], 21);
    let labels = Tensor::from_vec(&[8], (0..8).map(|i| (i % 10) as f32).collect());
    for _ in 0..5 {
        sgd.zero_grad(&mut model);
        let out = loss.compute(&model.forward(&x, Mode::Train), &labels);
        model.backward(&out.grad);
        sgd.step(&mut model);
    }
    model
}

#[test]
fn input_gradients_of_a_trained_cnn_in_eval_mode_match_finite_differences() {
    let mut model = trained_cifar_cnn();
    // The first convolution skips ∂L/∂x while training; a saliency map needs it.
    let x = random(&[2, 3, 32, 32], 22);
    model.forward(&x, Mode::Eval);
    let skipped = model.backward(&Tensor::ones(&[2, 10]));
    assert!(skipped.data().iter().all(|&g| g == 0.0));
    model.conv1.set_input_gradient(true);
    let config = GradCheckConfig {
        mode: Mode::Eval,
        max_samples: 60,
        ..GradCheckConfig::default()
    };
    let report = gradcheck_input(&mut model, &x, &config);
    println!("{report}");
    assert!(report.passed, "{report}");
    assert_eq!(report.checked, 60);
}

#[test]
fn input_gradients_through_dropout_and_a_stacked_lstm_in_eval_mode() {
    let config = GradCheckConfig {
        mode: Mode::Eval,
        ..GradCheckConfig::default()
    };
    // Dropout in Eval is the identity, so no fixed mask is needed.
    let mut with_dropout = network(true);
    let report = gradcheck_input(&mut with_dropout, &random(&[4, 6], 30), &config);
    println!("{report}");
    assert!(report.passed, "{report}");
    // A 2-layer LSTM classifier with dropout between its layers.
    let mut rng = Rng::new(31);
    let mut classifier = Sequential::default();
    classifier.push(
        LSTM::stacked(3, 5, 2, &mut rng)
            .dropout(0.3)
            .output(RecurrentOutput::LastStep),
    );
    classifier.push(Linear::new(5, 2, &mut rng));
    let reports = assert_gradcheck_layer(&mut classifier, &random(&[2, 6, 3], 32), &config);
    for report in &reports {
        println!("{report}");
    }
}
