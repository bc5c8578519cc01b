//! Chapter 8 (卷积神经网络): the convolution, pooling and flatten layers.
//!
//! - `Conv2d` forward equals the six-loop textbook convolution on random shapes, strides and paddings
//!   (proptest), and on the tutorial's two models.
//! - Every layer passes a finite-difference gradient check (input and parameters), with inputs kept
//!   away from max-pool ties.
//! - Gradients accumulate, and are bit-identical for 1 and 2 threads.

use dlfs::Tensor;
use dlfs::check::{GradCheckConfig, GradReport, Tolerance, assert_close, assert_gradcheck_layer};
use dlfs::nn::conv::conv2d_reference;
use dlfs::nn::{AvgPool2d, Conv2d, Flatten, Layer, MaxPool2d, Mode, zero_grad};
use dlfs::parallel;
use dlfs::probability::Rng;
use proptest::prelude::*;
use std::sync::Mutex;

/// Tests that change the global thread count run one at a time.
static THREADS: Mutex<()> = Mutex::new(());

fn print_reports(layer: &str, reports: &[GradReport]) {
    for report in reports {
        println!("{layer}: {report}");
    }
}

/// One convolution to compare with the definition.
#[derive(Clone, Copy, Debug)]
struct ConvCase {
    batch: usize,
    in_channels: usize,
    out_channels: usize,
    size: (usize, usize),
    kernel: (usize, usize),
    stride: (usize, usize),
    padding: (usize, usize),
    bias: bool,
    seed: u64,
}

/// Conv2d's forward pass vs the six-loop definition. Tolerance 1e-5 absolute + 1e-4 relative: the
/// reference sums in f64, the layer in f32 over K = C·kh·kw ≤ 150 terms of size ≤ 1.
fn check_conv_forward(case: ConvCase) {
    let mut rng = Rng::new(case.seed);
    let (kh, kw) = case.kernel;
    let mut conv = Conv2d::builder(case.in_channels, case.out_channels, kh)
        .kernel_hw(kh, kw)
        .stride_hw(case.stride.0, case.stride.1)
        .padding_hw(case.padding.0, case.padding.1)
        .bias(case.bias)
        .build(&mut rng);
    let (h, w) = case.size;
    let x = Tensor::rand_uniform(&[case.batch, case.in_channels, h, w], -1.0, 1.0, &mut rng);
    let y = conv.forward(&x, Mode::Eval);
    let expected = conv2d_reference(
        &x,
        &conv.weight.value,
        conv.bias.as_ref().map(|b| &b.value),
        case.stride,
        case.padding,
    );
    assert_eq!(y.shape(), expected.shape(), "{case:?}");
    assert_close(
        &format!("{} on {case:?}", conv.describe()),
        y.shape(),
        y.data(),
        expected.data(),
        Tolerance::F32,
    );
}

/// A square-kernel case with equal strides and paddings.
fn case(
    (batch, in_channels, out_channels): (usize, usize, usize),
    size: (usize, usize),
    kernel: usize,
    stride: usize,
    padding: usize,
    seed: u64,
) -> ConvCase {
    ConvCase {
        batch,
        in_channels,
        out_channels,
        size,
        kernel: (kernel, kernel),
        stride: (stride, stride),
        padding: (padding, padding),
        bias: true,
        seed,
    }
}

#[test]
fn conv_forward_matches_the_six_loop_definition_on_the_tutorial_models() {
    // Chapter 12's conv1 and conv2 (batch 5 crosses a chunk boundary), chapter 8's conv on 1×52×52.
    check_conv_forward(case((5, 3, 6), (32, 32), 5, 1, 0, 1));
    check_conv_forward(case((3, 6, 16), (14, 14), 5, 1, 0, 2));
    check_conv_forward(case((2, 1, 32), (52, 52), 3, 1, 0, 3));
    // 1×1 convolution (the im2col copy is skipped), without bias.
    check_conv_forward(ConvCase {
        bias: false,
        ..case((3, 4, 5), (6, 7), 1, 1, 0, 4)
    });
    // A kernel as large as the padded image.
    check_conv_forward(case((2, 2, 3), (3, 3), 5, 1, 1, 5));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, failure_persistence: None, ..ProptestConfig::default() })]
    #[test]
    fn conv_forward_matches_the_six_loop_definition(
        batch in 1usize..6,
        in_channels in 1usize..5,
        out_channels in 1usize..6,
        kh in 1usize..5,
        kw in 1usize..5,
        extra_h in 0usize..7,
        extra_w in 0usize..7,
        sh in 1usize..4,
        sw in 1usize..4,
        ph in 0usize..3,
        pw in 0usize..3,
        bias in any::<bool>(),
        seed in any::<u64>(),
    ) {
        // Input at least as large as the kernel minus the padding, so the kernel fits.
        let h = kh.saturating_sub(2 * ph).max(1) + extra_h;
        let w = kw.saturating_sub(2 * pw).max(1) + extra_w;
        check_conv_forward(ConvCase {
            batch,
            in_channels,
            out_channels,
            size: (h, w),
            kernel: (kh, kw),
            stride: (sh, sw),
            padding: (ph, pw),
            bias,
            seed,
        });
    }
}

/// Gradient-check settings for the layers here: the defaults of `dlfs::check` (h = 10⁻², fail above
/// a relative error of 10⁻²; a correct layer shows ~10⁻³ or less), checking up to 60 elements per tensor.
fn config() -> GradCheckConfig {
    GradCheckConfig {
        max_samples: 60,
        ..GradCheckConfig::default()
    }
}

#[test]
fn conv_gradients_match_finite_differences() {
    let mut rng = Rng::new(7);
    for (c_in, c_out, (h, w), k, stride, padding, bias) in [
        (3, 4, (8, 7), 3, 1, 0, true),
        (2, 3, (7, 9), 3, 2, 1, true),
        (1, 2, (5, 5), 2, 1, 2, false),
        (3, 2, (4, 4), 1, 1, 0, true),
        (2, 7, (6, 11), 3, 1, 1, true), // padding, an odd channel count
        (3, 6, (12, 13), 5, 1, 0, true), // chapter 12's conv1 channels
        (2, 11, (6, 6), 3, 2, 1, true), // stride 2 with padding
        (6, 16, (14, 14), 5, 1, 0, true), // chapter 12's conv2 (wide rows)
        (2, 3, (6, 20), 3, 1, 0, true), // wide rows (output 18 of 20 columns wide)
    ] {
        let mut conv = Conv2d::builder(c_in, c_out, k)
            .stride(stride)
            .padding(padding)
            .bias(bias)
            .build(&mut rng);
        // Batch 5: two chunks of the batch, so the cross-chunk sum of the weight gradient is checked.
        let x = Tensor::randn(&[5, c_in, h, w], 0.0, 1.0, &mut rng);
        let reports = assert_gradcheck_layer(&mut conv, &x, &config());
        print_reports(&conv.describe(), &reports);
    }
}

/// An input whose values are all distinct multiples of 0.1 (shuffled), so that in every pooling
/// window the winner beats the runner-up by at least 0.1 > 2h: a finite-difference step never
/// changes the arg-max.
fn tie_free_input(shape: &[usize], rng: &mut Rng) -> Tensor {
    let len: usize = shape.iter().product();
    let order = rng.permutation(len);
    Tensor::from_fn(shape, |i| (order[i] as f32 - len as f32 / 2.0) * 0.1)
}

#[test]
fn max_pool_gradients_match_finite_differences() {
    let mut rng = Rng::new(8);
    for (kernel, stride, shape) in [
        (2, 2, [2, 3, 6, 6]),
        (3, 2, [2, 2, 7, 8]), // overlapping windows: gradients add up
        (2, 3, [1, 2, 7, 7]), // gaps between windows and a dropped last row/column
    ] {
        let mut pool = MaxPool2d::new(kernel).stride(stride);
        let x = tie_free_input(&shape, &mut rng);
        let reports = assert_gradcheck_layer(&mut pool, &x, &config());
        print_reports(&pool.describe(), &reports);
    }
}

#[test]
fn max_pool_routes_the_gradient_to_the_arg_max_only() {
    let x = Tensor::from_vec(&[1, 1, 2, 4], vec![1.0, 5.0, 2.0, 2.0, 3.0, 4.0, 2.0, 0.0]);
    let mut pool = MaxPool2d::new(2);
    let y = pool.forward(&x, Mode::Train);
    assert_eq!(y.data(), &[5.0, 2.0]);
    let dx = pool.backward(&Tensor::from_vec(&[1, 1, 1, 2], vec![10.0, 20.0]));
    // The tie (2, 2, 2) in the second window goes to the first one in reading order, as PyTorch.
    assert_eq!(dx.data(), &[0.0, 10.0, 20.0, 0.0, 0.0, 0.0, 0.0, 0.0]);
}

/// Max pooling by the definition: for each window, the largest value and the first position (in
/// reading order) that holds it; the backward pass adds each output gradient there.
fn max_pool_reference(x: &Tensor, k: usize, stride: usize, dy: &Tensor) -> (Tensor, Tensor) {
    let (n, c, h, w) = (x.dim(0), x.dim(1), x.dim(2), x.dim(3));
    let (oh, ow) = ((h - k) / stride + 1, (w - k) / stride + 1);
    let mut y = Tensor::zeros(&[n, c, oh, ow]);
    let mut dx = Tensor::zeros(x.shape());
    for b in 0..n {
        for ch in 0..c {
            for r in 0..oh {
                for s in 0..ow {
                    let mut best = (f32::NEG_INFINITY, 0, 0);
                    for i in 0..k {
                        for j in 0..k {
                            let v = x.at(&[b, ch, r * stride + i, s * stride + j]);
                            if v > best.0 {
                                best = (v, r * stride + i, s * stride + j);
                            }
                        }
                    }
                    y.set(&[b, ch, r, s], best.0);
                    let index = [b, ch, best.1, best.2];
                    dx.set(&index, dx.at(&index) + dy.at(&[b, ch, r, s]));
                }
            }
        }
    }
    (y, dx)
}

#[test]
fn max_pool_matches_the_definition_including_ties() {
    let mut rng = Rng::new(14);
    // Small integers make ties common; 2×2/stride 2 has its own fast code path.
    for (k, stride, shape) in [
        (2, 2, [3, 2, 8, 9]),
        (2, 2, [1, 1, 5, 5]),
        (3, 2, [2, 2, 7, 8]),
        (2, 1, [2, 1, 5, 6]),
        (3, 3, [1, 3, 9, 10]),
    ] {
        let x = Tensor::from_fn(&shape, |_| rng.below(4) as f32);
        let mut pool = MaxPool2d::new(k).stride(stride);
        let y = pool.forward(&x, Mode::Train);
        let dy = Tensor::randn(y.shape(), 0.0, 1.0, &mut rng);
        let dx = pool.backward(&dy);
        let (y_ref, dx_ref) = max_pool_reference(&x, k, stride, &dy);
        assert_eq!(y, y_ref, "{} forward", pool.describe());
        // Exact: each input gradient is a sum of the same output gradients in the same order.
        assert_close(
            "max-pool input gradient",
            dx.shape(),
            dx.data(),
            dx_ref.data(),
            Tolerance::EXACT,
        );
        assert_eq!(
            pool.forward(&x, Mode::Eval),
            y,
            "Eval and Train forward agree"
        );
    }
}

#[test]
fn max_pool_propagates_nan_like_pytorch() {
    let x = Tensor::from_vec(
        &[1, 1, 2, 4],
        vec![1.0, f32::NAN, 2.0, 3.0, 0.0, 0.0, 1.0, 1.0],
    );
    for (k, s) in [(2, 2), (1, 1)] {
        let y = MaxPool2d::new(k).stride(s).forward(&x, Mode::Eval);
        assert!(y.data()[if k == 2 { 0 } else { 1 }].is_nan(), "{y:?}");
    }
}

#[test]
fn max_pool_gives_the_gradient_of_a_nan_window_to_its_last_nan_like_pytorch() {
    // Expected gradients of sum(max_pool2d(x)) from PyTorch 2 (CPU), whose kernel takes a value
    // when `val > max || isnan(val)`: a window's gradient goes to its last NaN in reading order.
    let nan = f32::NAN;
    // (image side, kernel, stride, image, expected ∂L/∂x)
    type Case = (usize, usize, usize, Vec<f32>, Vec<f32>);
    let cases: [Case; 4] = [
        // The 2×2 / stride-2 fast path: two NaNs in the window.
        (2, 2, 2, vec![1.0, nan, 3.0, nan], vec![0.0, 0.0, 0.0, 1.0]),
        (2, 2, 2, vec![nan, 5.0, 3.0, 4.0], vec![1.0, 0.0, 0.0, 0.0]),
        // The general path: a 3×3 window, and overlapping 2×2 windows of stride 1.
        (
            3,
            3,
            1,
            vec![1.0, nan, 3.0, nan, 5.0, 6.0, 7.0, 8.0, 9.0],
            vec![0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0],
        ),
        (
            3,
            2,
            1,
            vec![nan, 2.0, 3.0, nan, 5.0, 6.0, 7.0, 8.0, 9.0],
            vec![0.0, 0.0, 0.0, 2.0, 0.0, 1.0, 0.0, 0.0, 1.0],
        ),
    ];
    for (side, k, stride, values, expected) in cases {
        let x = Tensor::from_vec(&[1, 1, side, side], values);
        let mut pool = MaxPool2d::new(k).stride(stride);
        let y = pool.forward(&x, Mode::Train);
        let dx = pool.backward(&Tensor::ones(y.shape()));
        assert_eq!(
            dx.data(),
            expected.as_slice(),
            "k={k}, stride={stride}, y={y:?}"
        );
    }
}

#[test]
fn avg_pool_gradients_match_finite_differences() {
    let mut rng = Rng::new(9);
    for (kernel, stride, shape) in [(2, 2, [2, 3, 6, 6]), (3, 1, [1, 2, 5, 6])] {
        let mut pool = AvgPool2d::new(kernel).stride(stride);
        let x = Tensor::randn(&shape, 0.0, 1.0, &mut rng);
        let reports = assert_gradcheck_layer(&mut pool, &x, &config());
        print_reports(&pool.describe(), &reports);
        let y = pool.forward(&x, Mode::Eval);
        // The first output is the mean of the first window.
        let first: f32 = (0..kernel)
            .flat_map(|i| (0..kernel).map(move |j| (i, j)))
            .map(|(i, j)| x.at(&[0, 0, i, j]))
            .sum::<f32>()
            / (kernel * kernel) as f32;
        assert!((y.data()[0] - first).abs() < 1e-6);
    }
}

#[test]
fn flatten_keeps_values_and_restores_the_shape() {
    let mut rng = Rng::new(10);
    let x = Tensor::randn(&[2, 3, 4, 5], 0.0, 1.0, &mut rng);
    let mut flatten = Flatten::new();
    let y = flatten.forward(&x, Mode::Train);
    assert_eq!(y.shape(), &[2, 60]);
    assert_eq!(y.data(), x.data());
    let dx = flatten.backward(&y);
    assert_eq!(dx.shape(), x.shape());
    let reports = assert_gradcheck_layer(&mut flatten, &x, &config());
    print_reports("Flatten", &reports);
}

#[test]
fn conv_gradients_accumulate_until_zero_grad() {
    let mut rng = Rng::new(11);
    let mut conv = Conv2d::new(2, 3, 3, &mut rng);
    let x = Tensor::randn(&[3, 2, 6, 6], 0.0, 1.0, &mut rng);
    let dy = Tensor::randn(&conv.output_shape(x.shape()), 0.0, 1.0, &mut rng);
    conv.forward(&x, Mode::Train);
    conv.backward(&dy);
    let once = conv.weight.grad.clone();
    conv.forward(&x, Mode::Train);
    conv.backward(&dy);
    assert_close(
        "2 × weight gradient",
        once.shape(),
        conv.weight.grad.data(),
        once.scale(2.0).data(),
        Tolerance::F32,
    );
    zero_grad(&mut conv);
    assert!(conv.weight.grad.data().iter().all(|&g| g == 0.0));
}

#[test]
fn conv_without_input_gradient_gives_the_same_parameter_gradients() {
    let mut rng = Rng::new(12);
    let mut full = Conv2d::new(3, 4, 3, &mut rng);
    let mut rng = Rng::new(12);
    let mut first_layer = Conv2d::builder(3, 4, 3)
        .input_gradient(false)
        .build(&mut rng);
    let x = Tensor::randn(&[5, 3, 7, 7], 0.0, 1.0, &mut rng);
    let dy = Tensor::randn(&full.output_shape(x.shape()), 0.0, 1.0, &mut rng);
    full.forward(&x, Mode::Train);
    first_layer.forward(&x, Mode::Train);
    full.backward(&dy);
    let dx = first_layer.backward(&dy);
    assert!(dx.data().iter().all(|&v| v == 0.0));
    assert_eq!(full.weight.grad, first_layer.weight.grad);
}

#[test]
fn conv_and_pool_results_are_bit_identical_for_1_and_2_threads() {
    let _guard = THREADS.lock().unwrap_or_else(|p| p.into_inner());
    let run = |threads: usize| {
        parallel::set_num_threads(threads);
        let mut rng = Rng::new(13);
        let mut conv = Conv2d::builder(3, 6, 5).padding(1).build(&mut rng);
        let mut pool = MaxPool2d::new(2);
        let x = Tensor::randn(&[11, 3, 16, 16], 0.0, 1.0, &mut rng);
        let y = pool.forward(&conv.forward(&x, Mode::Train), Mode::Train);
        let dy = Tensor::randn(y.shape(), 0.0, 1.0, &mut rng);
        let dx = conv.backward(&pool.backward(&dy));
        (
            y,
            dx,
            conv.weight.grad.clone(),
            conv.bias.as_ref().map(|b| b.grad.clone()),
        )
    };
    let one = run(1);
    let two = run(2);
    parallel::set_num_threads(parallel::default_num_threads());
    assert!(one == two, "results differ between 1 and 2 threads");
}

#[test]
#[should_panic(expected = "expected an input of shape [N, 3, H, W], got [2, 4, 8, 8]")]
fn conv_names_the_shapes_on_a_channel_mismatch() {
    let mut conv = Conv2d::new(3, 6, 5, &mut Rng::new(0));
    conv.forward(&Tensor::zeros(&[2, 4, 8, 8]), Mode::Eval);
}

#[test]
fn default_initialisation_is_pytorchs_uniform_bound() {
    let conv = Conv2d::new(3, 6, 5, &mut Rng::new(0));
    let bound = 1.0 / 75f32.sqrt();
    let w = &conv.weight.value;
    assert_eq!(w.shape(), &[6, 3, 5, 5]);
    assert!(w.max() <= bound && w.min() >= -bound);
    // Spread over the interval, not a constant: the standard deviation of U(−b, b) is b/√3.
    let std = (w.data().iter().map(|v| v * v).sum::<f32>() / w.len() as f32).sqrt();
    assert!((std - bound / 3f32.sqrt()).abs() < 0.2 * bound, "std {std}");
    assert_eq!(
        conv.describe(),
        "Conv2d(3, 6, kernel_size=(5, 5), stride=(1, 1))"
    );
}

#[test]
fn a_few_training_steps_lower_the_loss_of_the_tutorials_simple_cnn() {
    use dlfs::loss::{Reduction, cross_entropy};
    use dlfs::nn::SmallCnn;
    use dlfs::optim::{Optimizer, Sgd};
    let mut rng = Rng::new(15);
    let mut model = SmallCnn::new(&mut rng);
    let x = Tensor::randn(&[8, 1, 52, 52], 0.0, 1.0, &mut rng);
    let labels: Vec<usize> = (0..8).map(|i| i % 10).collect();
    let mut optimizer = Sgd::new(0.01).momentum(0.9);
    let mut losses = Vec::new();
    for _ in 0..15 {
        optimizer.zero_grad(&mut model);
        let loss = cross_entropy(&model.forward(&x, Mode::Train), &labels, Reduction::Mean);
        losses.push(loss.value);
        model.backward(&loss.grad);
        optimizer.step(&mut model);
    }
    // 8 random pictures are easy to memorise: 15 steps must cut the loss by more than half.
    assert!(
        losses[14] < 0.5 * losses[0],
        "loss went from {} to {}: {losses:?}",
        losses[0],
        losses[14]
    );
    // Parameter names are the tutorial class's, so a checkpoint loads into it.
    let mut names = Vec::new();
    model.visit_params(&mut |name, _| names.push(name.to_string()));
    assert_eq!(
        names,
        ["conv1.weight", "conv1.bias", "fc1.weight", "fc1.bias"]
    );
}

#[test]
fn relu_and_max_pooling_commute_in_values_and_gradients() {
    // The models compute relu(pool(x)) instead of the tutorial's pool(relu(x)): prove it is the same.
    use dlfs::nn::Relu;
    let mut rng = Rng::new(16);
    let x = tie_free_input(&[3, 4, 8, 10], &mut rng);
    let (mut pool_a, mut relu_a) = (MaxPool2d::new(2), Relu::new());
    let (mut pool_b, mut relu_b) = (MaxPool2d::new(2), Relu::new());
    let a = pool_a.forward(&relu_a.forward(&x, Mode::Train), Mode::Train);
    let b = relu_b.forward(&pool_b.forward(&x, Mode::Train), Mode::Train);
    assert_eq!(a, b, "forward");
    let dy = Tensor::randn(a.shape(), 0.0, 1.0, &mut rng);
    let dx_a = relu_a.backward(&pool_a.backward(&dy));
    let dx_b = pool_b.backward(&relu_b.backward(&dy));
    assert_eq!(dx_a, dx_b, "backward");
}
