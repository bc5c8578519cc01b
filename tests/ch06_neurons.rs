//! Chapter 6: the activation functions and their derivatives, as functions and as layers.
//!
//! Gradient checks use `dlfs::check` with its defaults (central differences, h = 10⁻², fail above a
//! relative error of 10⁻²; see `src/check.rs` for why these numbers suit f32). Run with
//! `cargo test --release --test ch06_neurons -- --nocapture` to see the worst relative errors.

use dlfs::Tensor;
use dlfs::check::{GradCheckConfig, assert_gradcheck_layer, gradcheck, nudge_away_from};
use dlfs::nn::{
    Gelu, Identity, Layer, LeakyRelu, Linear, Mode, Relu, Sigmoid, Softmax, Tanh, gelu,
    gelu_derivative, gelu_tanh, gelu_tanh_derivative, leaky_relu, leaky_relu_derivative, relu,
    relu_derivative, sigmoid, sigmoid_derivative, tanh, tanh_derivative,
};
use dlfs::probability::Rng;

/// Inputs spread over [−4, 4], kept 2h away from the kink at 0 (ReLU, LeakyReLU).
fn inputs(shape: &[usize], seed: u64) -> Tensor {
    let mut rng = Rng::new(seed);
    let mut x = Tensor::randn(shape, 0.0, 1.5, &mut rng);
    nudge_away_from(x.data_mut(), &[0.0], 0.05);
    x
}

type Function = fn(f32) -> f32;

#[test]
fn each_derivative_matches_finite_differences_of_its_function() {
    let leaky = |x: f32| leaky_relu(x, 0.1);
    let leaky_derivative = |x: f32| leaky_relu_derivative(x, 0.1);
    let cases: [(&str, Function, Function); 6] = [
        ("sigmoid", sigmoid, sigmoid_derivative),
        ("tanh", tanh, tanh_derivative),
        ("relu", relu, relu_derivative),
        ("leaky_relu(0.1)", leaky, leaky_derivative),
        ("gelu", gelu, gelu_derivative),
        ("gelu_tanh", gelu_tanh, gelu_tanh_derivative),
    ];
    let x0 = inputs(&[40], 6);
    for (name, f, derivative) in cases {
        let mut x = x0.data().to_vec();
        let analytic: Vec<f32> = x.iter().map(|&v| derivative(v)).collect();
        let report = gradcheck(
            name,
            &[40],
            &mut x,
            &analytic,
            |v| v.iter().map(|&t| f64::from(f(t))).sum(),
            &GradCheckConfig::default(),
        );
        println!(
            "function {name:<16} worst relative error {:.2e}",
            report.worst_relative_error
        );
        assert!(report.passed, "{report}");
    }
}

#[test]
fn each_activation_layer_passes_the_gradient_check() {
    let layers: Vec<Box<dyn Layer>> = vec![
        Box::new(Sigmoid::new()),
        Box::new(Tanh::new()),
        Box::new(Relu::new()),
        Box::new(LeakyRelu::new(0.1)),
        Box::new(Gelu::new()),
        Box::new(Gelu::tanh_approximation()),
        Box::new(Identity::new()),
        Box::new(Softmax::new()),
    ];
    let x = inputs(&[3, 7], 61);
    for mut layer in layers {
        let reports = assert_gradcheck_layer(layer.as_mut(), &x, &GradCheckConfig::default());
        for r in &reports {
            println!(
                "layer {:<28} {:<6} worst relative error {:.2e}",
                layer.describe(),
                r.name,
                r.worst_relative_error
            );
        }
    }
}

#[test]
fn activation_layers_accept_any_shape_and_agree_with_the_functions() {
    let x = inputs(&[2, 3, 4], 62);
    let mut layer = Sigmoid::new();
    let y = layer.forward(&x, Mode::Eval);
    assert_eq!(y.shape(), x.shape());
    for (&a, &b) in y.data().iter().zip(x.data()) {
        assert_eq!(a, sigmoid(b));
    }
    let y = Relu::new().forward(&x, Mode::Eval);
    assert!(y.data().iter().all(|&v| v >= 0.0));
}

#[test]
fn sigmoid_and_tanh_saturate_without_nan() {
    for x in [-1000.0f32, -100.0, 100.0, 1000.0, f32::MAX, -f32::MAX] {
        let s = sigmoid(x);
        assert!((0.0..=1.0).contains(&s), "sigmoid({x}) = {s}");
        assert!(sigmoid_derivative(x).is_finite());
        assert!(tanh(x).abs() <= 1.0);
    }
    assert_eq!(sigmoid(0.0), 0.5);
    assert_eq!(sigmoid(-1000.0), 0.0);
    assert_eq!(sigmoid(1000.0), 1.0);
    // The derivative peaks at ¼ (why deep sigmoid stacks learn slowly).
    assert_eq!(sigmoid_derivative(0.0), 0.25);
}

#[test]
fn relu_kink_uses_the_left_derivative_as_pytorch() {
    assert_eq!(relu_derivative(0.0), 0.0);
    assert_eq!(leaky_relu_derivative(0.0, 0.01), 0.01);
    assert_eq!(leaky_relu(-2.0, 0.01), -0.02);
}

#[test]
fn softmax_is_stable_and_sums_to_one() {
    // A naive exp would overflow to inf/inf = NaN here.
    let x = Tensor::from_rows(&[&[1000.0, 1000.0, 0.0], &[-1000.0, 0.0, 1000.0]]);
    let y = Softmax::new().forward(&x, Mode::Eval);
    assert!(y.all_finite(), "{y:?}");
    assert!((y.at(&[0, 0]) - 0.5).abs() < 1e-6);
    assert_eq!(y.at(&[1, 2]), 1.0);
    for r in 0..2 {
        let s: f32 = y.row(r).iter().sum();
        assert!((s - 1.0).abs() < 1e-6);
    }
    // Adding a constant to a row does not change its softmax.
    let a = Softmax::new().forward(&Tensor::from_rows(&[&[1.0, 2.0, 3.0]]), Mode::Eval);
    let b = Softmax::new().forward(&Tensor::from_rows(&[&[101.0, 102.0, 103.0]]), Mode::Eval);
    dlfs::check::assert_close(
        "softmax",
        &[1, 3],
        b.data(),
        a.data(),
        dlfs::check::Tolerance::F32,
    );
}

#[test]
fn gelu_matches_reference_values_in_both_forms() {
    // (x, x·Φ(x), tanh approximation) computed in f64 by a reference implementation.
    let table = [
        (-3.0f32, -0.004049694094890287f64, -0.0036373920817729943f64),
        (-1.0, -0.15865525393145707, -0.15880800939172324),
        (-0.5, -0.15426876936299344, -0.15428599017485606),
        (0.5, 0.34573123063700656, 0.34571400982514394),
        (1.0, 0.8413447460685429, 0.8411919906082768),
        (2.0, 1.9544997361036416, 1.954597694087775),
    ];
    for (x, exact, approximate) in table {
        // One f32 rounding of the result: relative error ≤ 2⁻²⁴ ≈ 6·10⁻⁸.
        assert!(
            (f64::from(gelu(x)) - exact).abs() <= 1e-7 * exact.abs(),
            "gelu({x})"
        );
        assert!(
            (f64::from(gelu_tanh(x)) - approximate).abs() <= 1e-7 * approximate.abs(),
            "gelu_tanh({x})"
        );
    }
}

// ---- The chapter's claims (chapters/ch06_neurons.rs, included as the tour includes it) ----

#[allow(dead_code)]
#[path = "../chapters/ch06_neurons.rs"]
mod ch06;

#[test]
fn the_neuron_by_hand_is_a_linear_layer_then_an_activation() {
    let (products, z) = ch06::pre_activation(&ch06::INPUTS, &ch06::WEIGHTS, ch06::BIAS);
    // 0.4·0.5 + 0.3·(−1) + (−0.2)·2 + 0.1 = −0.4, to f32 rounding.
    assert!((z + 0.4).abs() < 1e-6, "z = {z}");
    assert_eq!(products.len(), 3);
    let mut layer = Linear::from_params(
        Tensor::from_vec(&[1, 3], ch06::WEIGHTS.to_vec()),
        Some(Tensor::from_vec(&[1], vec![ch06::BIAS])),
    );
    let x = Tensor::from_vec(&[1, 3], ch06::INPUTS.to_vec());
    let a = Tanh::new().forward(&layer.forward(&x, Mode::Eval), Mode::Eval);
    assert!((a.data()[0] - tanh(z)).abs() < 1e-6);
}

#[test]
fn two_linear_layers_without_an_activation_are_one_linear_layer() {
    // Awkward sizes (1, primes); outputs of size ~1, summed over ≤ 7 terms: f32 agreement to 1e-5.
    for (n_in, n_mid, n_out, seed) in [(3, 4, 2, 1), (1, 7, 5, 2), (5, 1, 3, 3), (7, 11, 1, 4)] {
        let mut rng = Rng::new(seed);
        let mut first = Linear::new(n_in, n_mid, &mut rng);
        let mut second = Linear::new(n_mid, n_out, &mut rng);
        let mut merged = ch06::merge_linear(&first, &second);
        let x = Tensor::randn(&[6, n_in], 0.0, 1.0, &mut rng);
        let two = second.forward(&first.forward(&x, Mode::Eval), Mode::Eval);
        let one = merged.forward(&x, Mode::Eval);
        dlfs::check::assert_close(
            "merged linear layer",
            two.shape(),
            one.data(),
            two.data(),
            dlfs::check::Tolerance::new(1e-5, 1e-5),
        );
    }
    // With a ReLU in between the collapse fails: some input tells the two apart.
    let mut rng = Rng::new(9);
    let mut first = Linear::new(2, 8, &mut rng);
    let mut second = Linear::new(8, 1, &mut rng);
    let mut merged = ch06::merge_linear(&first, &second);
    let x = Tensor::randn(&[50, 2], 0.0, 2.0, &mut rng);
    let hidden = Relu::new().forward(&first.forward(&x, Mode::Eval), Mode::Eval);
    let with_relu = second.forward(&hidden, Mode::Eval);
    let linear = merged.forward(&x, Mode::Eval);
    let gap = with_relu
        .data()
        .iter()
        .zip(linear.data())
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    assert!(gap > 0.1, "a ReLU network should not be linear (gap {gap})");
}

#[test]
fn gelu_dips_to_about_minus_0_17_near_minus_0_75() {
    // The claim of the chapter and of nn::gelu's docs. The minimum solves Φ(x) + x·φ(x) = 0:
    // x ≈ −0.7518, GELU(x) ≈ −0.1700.
    assert!(gelu_derivative(-0.76) < 0.0 && gelu_derivative(-0.74) > 0.0);
    assert!((gelu(-0.7518) + 0.1700).abs() < 1e-4, "{}", gelu(-0.7518));
    for a in ch06::activations() {
        assert!(
            ((a.derivative)(1.5) - ((a.function)(1.501) - (a.function)(1.499)) / 0.002).abs()
                < 1e-2,
            "{}",
            a.name
        );
    }
}
