//! Chapter 6: the activation functions and their derivatives, as functions and as layers.
//!
//! Gradient checks use `dlfs::check` with its defaults (central differences, h = 10⁻², fail above a
//! relative error of 10⁻²; see `src/check.rs` for why these numbers suit f32). Run with
//! `cargo test --release --test ch06_neurons -- --nocapture` to see the worst relative errors.

use dlfs::Tensor;
use dlfs::check::{GradCheckConfig, assert_gradcheck_layer, gradcheck, nudge_away_from};
use dlfs::nn::{
    Gelu, Identity, Layer, LeakyRelu, Mode, Relu, Sigmoid, Softmax, Tanh, erf, erfc, gelu,
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

/// Reference values from a 16-digit implementation (CPython's `math.erf`/`math.erfc`).
const ERF_TABLE: [(f64, f64, f64); 10] = [
    (0.1, 0.1124629160182849, 0.8875370839817152),
    (0.5, 0.5204998778130465, 0.4795001221869535),
    (1.0, 0.8427007929497149, 0.15729920705028513),
    (2.0, 0.9953222650189527, 0.004677734981047265),
    (2.9, 0.9999589021219005, 4.109787809945886e-05),
    (3.0, 0.9999779095030014, 2.2090496998585438e-05),
    (3.5, 0.9999992569016276, 7.430983723414128e-07),
    (4.0, 0.9999999845827421, 1.541725790028002e-08),
    (5.0, 0.9999999999984626, 1.5374597944280351e-12),
    (6.0, 1.0, 2.1519736712498916e-17),
];

#[test]
fn erf_and_erfc_match_reference_values() {
    let mut worst_erf = 0.0f64;
    let mut worst_erfc = 0.0f64;
    for (x, erf_x, erfc_x) in ERF_TABLE {
        worst_erf = worst_erf
            .max((erf(x) - erf_x).abs())
            .max((erf(-x) + erf_x).abs());
        worst_erfc = worst_erfc.max(((erfc(x) - erfc_x) / erfc_x).abs());
        assert!((erfc(-x) - (2.0 - erfc_x)).abs() < 1e-15);
    }
    println!(
        "erf: worst absolute error {worst_erf:.1e}; erfc: worst relative error {worst_erfc:.1e}"
    );
    assert!(worst_erf < 1e-15, "erf absolute error {worst_erf:e}");
    assert!(worst_erfc < 1e-13, "erfc relative error {worst_erfc:e}");
    assert_eq!(erf(0.0), 0.0);
    assert_eq!(erf(30.0), 1.0);
    assert!(erf(f64::NAN).is_nan());
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
