//! Chapter 18: quantization, the int8 network and its generated edge source, pruning,
//! distillation, the export, explanations and the contrastive model — small shapes, few steps.
//!
//! The edge test compiles a generated copy of the int8 network, `tests/edge/cnn_int8_edge.rs`
//! (made from a fixed-seed, untrained model, so it can be regenerated anywhere), checks that it
//! computes exactly what the library's int8 path computes and that a call allocates nothing, and
//! that regenerating it gives the same bytes. After changing `quant::edge_runtime` or the
//! generator, regenerate it with `DLFS_REGENERATE_EDGE=1 cargo test --test ch18_future_directions`.

use dlfs::Tensor;
use dlfs::check::{GradCheckConfig, assert_gradcheck_layer, gradcheck};
use dlfs::data::captioned_shapes::{self, CAPTION_TOKENS, Pairs, VOCABULARY};
use dlfs::data::{cifar10, cifar10_standin};
use dlfs::explain;
use dlfs::linalg::gemm::{self, Kernel};
use dlfs::loss::{Reduction, cross_entropy};
use dlfs::multimodal::encoder::{contrast, grey};
use dlfs::multimodal::{
    Clip, ContrastiveLoss, FactorizedImageEncoder, ImageEncoder, L2Normalize, contrastive_loss,
};
use dlfs::nn::{
    CifarCnn, Conv2d, Flatten, Layer, Linear, Mode, Sequential, param_count, zero_grad,
};
use dlfs::optim::{Adam, Optimizer, Sgd};
use dlfs::probability::Rng;
use dlfs::quant::edge_runtime::{self, EdgeBuffer, IMAGE_BYTES};
use dlfs::quant::export::{self, TensorValues};
use dlfs::quant::{
    Calibration, Granularity, QuantizedCnn, QuantizedWeights, Scope, distillation_loss, edge,
    magnitude_mask, prune, student_cnn,
};
use dlfs::train::train_step;
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

// ---- A counting allocator: allocations made by the current thread. ----

struct CountingAllocator;

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: every call is forwarded unchanged to the system allocator; counting touches only a
// thread-local `Cell` (no allocation, no lock).
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.with(|n| n.set(n.get() + 1));
        // SAFETY: forwarded with the caller's layout.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System.alloc` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

fn allocations() -> usize {
    ALLOCATIONS.with(Cell::get)
}

// ---- The generated edge source, compiled into this test. ----

#[rustfmt::skip]
#[allow(dead_code)]
#[path = "edge/cnn_int8_edge.rs"]
mod edge_model;

/// The model the committed edge source was generated from: chapter 12's CNN with the initial
/// weights of seed 18, calibrated on 64 stand-in pictures with the portable f32 kernel (so the
/// bytes are the same on every machine).
fn reference_model() -> (CifarCnn, QuantizedCnn, Vec<u8>, Tensor) {
    gemm::set_kernel(Kernel::Scalar).expect("the scalar kernel runs everywhere");
    let mut model = CifarCnn::new(&mut Rng::new(18));
    let images = cifar10_standin::generate(64, 18);
    let indices: Vec<usize> = (0..images.len()).collect();
    let (x, _) = images.batch(&indices);
    let int8 = QuantizedCnn::quantize(
        &mut model,
        std::slice::from_ref(&x),
        Granularity::PerChannel,
        Calibration::Mse,
    );
    let bytes = (0..images.len())
        .flat_map(|i| images.image(i).to_vec())
        .collect();
    (model, int8, bytes, x)
}

const EDGE_PATH: &str = "tests/edge/cnn_int8_edge.rs";

#[test]
fn the_committed_edge_source_is_what_the_generator_writes() {
    let (_, int8, _, _) = reference_model();
    let source = edge::generate_source(
        &int8.edge_weights(),
        &["Test model: chapter 12's CNN, initial weights of seed 18 (untrained), calibrated on 64 \
           stand-in pictures."
            .to_string()],
    );
    if std::env::var_os("DLFS_REGENERATE_EDGE").is_some() {
        std::fs::write(EDGE_PATH, &source).expect("write the edge source");
        return;
    }
    let committed = std::fs::read_to_string(EDGE_PATH).expect("tests/edge/cnn_int8_edge.rs exists");
    assert!(
        committed == source,
        "{EDGE_PATH} differs from what quant::edge::generate_source writes now ({} against {} \
         bytes); regenerate it: DLFS_REGENERATE_EDGE=1 cargo test --test ch18_future_directions",
        committed.len(),
        source.len()
    );
}

#[test]
fn the_compiled_edge_model_matches_the_library_bit_for_bit_without_allocating() {
    let (_, int8, bytes, x) = reference_model();
    let logits = int8.forward(&x);
    // The generated file's own buffer type (a copy of the library's, compiled into this test).
    let mut buffer = edge_model::EdgeBuffer::new();
    for (i, image) in bytes.chunks_exact(IMAGE_BYTES).enumerate() {
        let image: &[u8; IMAGE_BYTES] = image.try_into().expect("3072 bytes");
        let before = allocations();
        let class = edge_model::classify(image, &mut buffer);
        assert_eq!(
            allocations(),
            before,
            "classify allocated on the heap (image {i})"
        );
        assert_eq!(class, logits.argmax_rows()[i], "image {i}: class");
        for (o, (&edge_logit, &library_logit)) in
            buffer.logits.iter().zip(logits.row(i)).enumerate()
        {
            assert_eq!(
                edge_logit.to_bits(),
                library_logit.to_bits(),
                "image {i}, logit {o}"
            );
        }
    }
    // The library's own copy of the runtime, on the same weights, agrees too.
    let weights = int8.edge_weights();
    let model = weights.model();
    let mut other = EdgeBuffer::new();
    let first: &[u8; IMAGE_BYTES] = bytes[..IMAGE_BYTES].try_into().expect("3072 bytes");
    model.classify(first, &mut other);
    edge_model::classify(first, &mut buffer);
    assert_eq!(other.logits, buffer.logits);
}

#[test]
fn the_edge_model_fits_the_budget() {
    let (mut model, int8, _, _) = reference_model();
    let weights = int8.edge_weights();
    assert!(
        weights.bytes() <= 64 * 1024,
        "{} bytes of weights",
        weights.bytes()
    );
    assert!(std::mem::size_of::<EdgeBuffer>() <= 32 * 1024);
    assert_eq!(int8.weight_bytes() * 4, 4 * (param_count(&mut model) - 236));
}

#[test]
fn the_int8_model_follows_the_float_model() {
    let (mut model, int8, _, x) = reference_model();
    let float = model.forward(&x, Mode::Inference);
    let quantized = int8.forward(&x);
    let range = float.max() - float.min();
    let worst = float
        .data()
        .iter()
        .zip(quantized.data())
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    assert!(
        worst < 0.05 * range,
        "int8 logits differ from f32 by up to {worst} (logit range {range})"
    );
    let agree = float
        .argmax_rows()
        .iter()
        .zip(quantized.argmax_rows())
        .filter(|(a, b)| **a == *b)
        .count();
    assert!(agree >= 60, "only {agree} of 64 predictions agree");
}

#[test]
fn the_int8_path_is_the_same_for_any_thread_count_and_kernel() {
    let (mut model, _, _, x) = reference_model();
    let calibration = std::slice::from_ref(&x);
    let mut results = Vec::new();
    for kernel in gemm::int8::supported_int8_kernels() {
        for threads in [1, 3] {
            gemm::int8::set_int8_kernel(kernel).expect("supported");
            dlfs::parallel::set_num_threads(threads);
            let int8 = QuantizedCnn::quantize(
                &mut model,
                calibration,
                Granularity::PerChannel,
                Calibration::Mse,
            );
            results.push((kernel, threads, int8.forward(&x)));
        }
    }
    dlfs::parallel::set_num_threads(dlfs::parallel::default_num_threads());
    gemm::int8::set_int8_kernel(gemm::int8::best_int8_kernel()).expect("supported");
    for (kernel, threads, logits) in &results[1..] {
        assert_eq!(
            logits.data(),
            results[0].2.data(),
            "{} kernel, {threads} threads",
            kernel.name()
        );
    }
}

#[test]
fn the_profiled_int8_pass_gives_the_same_logits_and_times_every_stage() {
    let (_, int8, _, x) = reference_model();
    let mut times = dlfs::quant::StageTimes::default();
    let profiled = int8.forward_profiled(&x, &mut times);
    assert_eq!(profiled.data(), int8.forward(&x).data());
    let stages = [
        times.quantize_input,
        times.conv1,
        times.pool1,
        times.conv2,
        times.pool2,
        times.dense,
    ];
    assert!(stages.iter().all(|&t| t >= 0.0), "{times:?}");
    // The two convolutions are most of the work: they cannot both have taken no time.
    assert!(times.conv1 + times.conv2 > 0.0, "{times:?}");
}

#[test]
fn gemm_and_edge_runtime_requantize_alike() {
    let mut rng = Rng::new(5);
    for _ in 0..100_000 {
        let sum = rng.below(2_000_000) as i32 - 1_000_000;
        let multiplier = rng.uniform(0.0, 0.001);
        for relu in [false, true] {
            assert_eq!(
                gemm::int8::requantize(sum, multiplier, relu),
                edge_runtime::requantize(sum, multiplier, relu),
                "sum {sum}, multiplier {multiplier}"
            );
        }
    }
}

#[test]
fn per_channel_scales_beat_one_scale_per_tensor() {
    // Rows of very different sizes: one scale per tensor crushes the small rows.
    let mut rng = Rng::new(2);
    let w = Tensor::from_fn(&[8, 50], |i| {
        rng.normal(0.0, 1.0) * 10f32.powi((i / 50) as i32 - 4)
    });
    let error = |q: &QuantizedWeights| {
        q.dequantize()
            .data()
            .iter()
            .zip(w.data())
            .map(|(a, b)| f64::from((a - b) / b.abs().max(1e-12)).abs())
            .sum::<f64>()
    };
    let per_channel = QuantizedWeights::quantize(&w, Granularity::PerChannel);
    let per_tensor = QuantizedWeights::quantize(&w, Granularity::PerTensor);
    assert!(error(&per_channel) * 10.0 < error(&per_tensor));
}

#[test]
fn the_export_reads_back_with_i8_weights_and_documented_activation_scales() {
    let (_, int8, _, _) = reference_model();
    let dir = std::env::temp_dir().join(format!("dlfs-ch18-export-{}", std::process::id()));
    let path = dir.join("cnn_int8.safetensors");
    export::save(&int8, &path, &[]).expect("save");
    let back = export::read(&path).expect("read");
    for (layer, name) in int8
        .layers
        .iter()
        .zip(["conv1", "conv2", "fc1", "fc2", "fc3"])
    {
        let weights = back
            .tensor(&format!("{name}.weight_int8"))
            .expect("weight_int8");
        assert_eq!(weights.shape, layer.weights.shape);
        assert_eq!(
            weights.values,
            TensorValues::I8(layer.weights.values.clone())
        );
        let scales = back
            .tensor(&format!("{name}.weight_scale"))
            .expect("weight_scale");
        assert_eq!(
            scales.values,
            TensorValues::F32(layer.weights.scales.clone())
        );
        assert_eq!(scales.shape, vec![layer.out_channels()]);
        let bias = back.tensor(&format!("{name}.bias")).expect("bias");
        assert_eq!(bias.values, TensorValues::F32(layer.bias.clone()));
        let input = back
            .tensor(&format!("{name}.input_scale"))
            .expect("input_scale");
        assert_eq!(input.values, TensorValues::F32(vec![layer.input_scale]));
    }
    assert_eq!(back.tensors.len(), 20);
    assert!(
        back.metadata("activation_quantization")
            .is_some_and(|m| m.contains("input_scale"))
    );
    // Damaged files are errors, not panics.
    let bytes = std::fs::read(&path).expect("read bytes");
    for cut in [0, 7, 8, 100, bytes.len() - 1] {
        assert!(
            export::from_bytes(&bytes[..cut], "cut").is_err(),
            "cut at {cut}"
        );
    }
    let mut wrong = bytes.clone();
    let header_len = u64::from_le_bytes(bytes[..8].try_into().expect("8 bytes")) as usize;
    let header = String::from_utf8_lossy(&wrong[8..8 + header_len]).into_owned();
    let at = 8 + header.find("\"F32\"").expect("an F32 entry");
    wrong[at + 1..at + 4].copy_from_slice(b"F64");
    assert!(export::from_bytes(&wrong, "wrong dtype").is_err());
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn magnitude_pruning_removes_the_smallest_weights_and_fine_tuning_keeps_them_zero() {
    let mut rng = Rng::new(4);
    let mut model = student_cnn(&mut rng);
    for scope in [Scope::PerLayer, Scope::Global] {
        let mask = magnitude_mask(&mut model, 0.8, scope);
        assert!(
            (mask.sparsity() - 0.8).abs() < 0.001,
            "{scope:?}: sparsity {}",
            mask.sparsity()
        );
        // Every pruned weight is at most as large as every kept one (within a tensor, or overall).
        let mut bounds: Vec<(f32, f32)> = Vec::new();
        model.visit_params(&mut |name, p| {
            if let Some((_, keep)) = mask.masks.iter().find(|(n, _)| n == name) {
                let (mut largest_pruned, mut smallest_kept) = (0.0f32, f32::INFINITY);
                for (&w, &k) in p.value.data().iter().zip(keep) {
                    if k {
                        smallest_kept = smallest_kept.min(w.abs());
                    } else {
                        largest_pruned = largest_pruned.max(w.abs());
                    }
                }
                bounds.push((largest_pruned, smallest_kept));
            }
        });
        match scope {
            Scope::PerLayer => assert!(bounds.iter().all(|(p, k)| p <= k), "{bounds:?}"),
            Scope::Global => {
                let largest = bounds.iter().map(|b| b.0).fold(0.0, f32::max);
                let smallest = bounds.iter().map(|b| b.1).fold(f32::INFINITY, f32::min);
                assert!(
                    largest <= smallest,
                    "pruned up to {largest}, kept from {smallest}"
                );
            }
        }
    }
    let mask = magnitude_mask(&mut model, 0.8, Scope::Global);
    mask.apply(&mut model);
    let x = Tensor::rand_uniform(&[4, 3, 32, 32], -1.0, 1.0, &mut rng);
    let mut optimizer = Sgd::new(0.1).momentum(0.9);
    for _ in 0..3 {
        optimizer.zero_grad(&mut model);
        let y = model.forward(&x, Mode::Train);
        let loss = cross_entropy(&y, &[0, 1, 2, 3], Reduction::Mean);
        model.backward(&loss.grad);
        optimizer.step(&mut model);
        mask.apply(&mut model);
    }
    let mut zeros = 0;
    model.visit_params(&mut |name, p| {
        if let Some((_, keep)) = mask.masks.iter().find(|(n, _)| n == name) {
            zeros += p
                .value
                .data()
                .iter()
                .zip(keep)
                .filter(|(w, k)| !**k && **w == 0.0)
                .count();
        }
    });
    assert_eq!(zeros, mask.total() - mask.kept());
    // CSR: 10 non-zeros of a 4 × 300 matrix: 10 values of 4 bytes + 10 two-byte indices + 5 offsets.
    assert_eq!(prune::csr_bytes(4, 300, 10, 4), 10 * 6 + 5 * 4);
}

#[test]
fn the_distillation_gradient_matches_finite_differences() {
    let mut rng = Rng::new(9);
    let teacher = Tensor::randn(&[3, 5], 0.0, 2.0, &mut rng);
    let labels = [4, 0, 2];
    for (temperature, alpha) in [(1.0, 0.5), (4.0, 0.9), (20.0, 0.9), (2.0, 0.0)] {
        let mut student = Tensor::randn(&[3, 5], 0.0, 2.0, &mut rng);
        let analytic = distillation_loss(&student, &teacher, &labels, temperature, alpha).grad;
        let report = gradcheck(
            "distillation",
            &[3, 5],
            student.data_mut(),
            analytic.data(),
            |s| {
                let s = Tensor::from_vec(&[3, 5], s.to_vec());
                f64::from(distillation_loss(&s, &teacher, &labels, temperature, alpha).value)
            },
            &GradCheckConfig::default(),
        );
        assert!(report.passed, "T = {temperature}, α = {alpha}: {report:?}");
    }
}

#[test]
fn distillation_with_alpha_zero_is_cross_entropy_and_the_soft_loss_vanishes_on_the_teacher() {
    let mut rng = Rng::new(10);
    let logits = Tensor::randn(&[4, 10], 0.0, 1.0, &mut rng);
    let labels = [1, 2, 3, 9];
    let ce = cross_entropy(&logits, &labels, Reduction::Mean);
    let hard = distillation_loss(&logits, &logits, &labels, 4.0, 0.0);
    assert!((ce.value - hard.value).abs() < 1e-5);
    let soft = distillation_loss(&logits, &logits, &labels, 4.0, 1.0);
    assert!(
        soft.value.abs() < 1e-5,
        "KL of a distribution with itself is 0: {}",
        soft.value
    );
    assert!(soft.grad.data().iter().all(|g| g.abs() < 1e-6));
}

#[test]
fn the_student_is_about_ten_times_smaller() {
    let student = param_count(&mut student_cnn(&mut Rng::new(0)));
    let teacher = param_count(&mut CifarCnn::new(&mut Rng::new(0)));
    assert_eq!(student, 6186);
    assert!((9.0..11.0).contains(&(teacher as f64 / student as f64)));
}

// ---- 18.2 interpretability ----

/// A linear model `F(x) = W·flatten(x) + b` on `[1, 3, 4, 4]` inputs with 3 classes.
fn linear_model(rng: &mut Rng) -> Sequential {
    Sequential::new(vec![
        Box::new(Flatten::new()),
        Box::new(Linear::new(48, 3, rng)),
    ])
}

fn weight_row(model: &mut Sequential, class: usize) -> Vec<f32> {
    let mut row = Vec::new();
    model.visit_params(&mut |name, p| {
        if name.ends_with("weight") {
            row = p.value.row(class).to_vec();
        }
    });
    row
}

#[test]
fn on_a_linear_model_saliency_is_the_weight_and_ig_is_weight_times_displacement() {
    let mut rng = Rng::new(21);
    let mut model = linear_model(&mut rng);
    let x = Tensor::rand_uniform(&[1, 3, 4, 4], -1.0, 1.0, &mut rng);
    let baseline = Tensor::rand_uniform(&[1, 3, 4, 4], -0.2, 0.2, &mut rng);
    for class in 0..3 {
        let w = weight_row(&mut model, class);
        let saliency = explain::saliency(&mut model, &x, class);
        for p in 0..16 {
            let expected = (0..3).map(|c| w[c * 16 + p].abs()).fold(0.0, f32::max);
            assert_eq!(saliency.data()[p], expected, "class {class}, pixel {p}");
        }
        for steps in [1, 7, 64] {
            let ig = explain::integrated_gradients(&mut model, &x, &baseline, class, steps);
            for (i, &wi) in w.iter().enumerate() {
                let expected = wi * (x.data()[i] - baseline.data()[i]);
                assert!(
                    (ig.data()[i] - expected).abs() <= 1e-6 * (1.0 + expected.abs()),
                    "steps {steps}, {i}"
                );
            }
            let check = explain::completeness(&mut model, &x, &baseline, class, &ig);
            assert!(check.relative_error < 1e-4, "{check:?}");
        }
    }
}

/// Chapter 12's CNN whose first convolution computes its input gradient.
fn explainable_cnn(seed: u64) -> CifarCnn {
    let mut rng = Rng::new(seed);
    let mut model = CifarCnn::new(&mut rng);
    model.conv1 = Conv2d::builder(3, 6, 5)
        .input_gradient(true)
        .build(&mut rng);
    model
}

#[test]
fn input_gradients_match_finite_differences() {
    let mut model = explainable_cnn(30);
    let mut rng = Rng::new(31);
    let x = Tensor::rand_uniform(&[1, 3, 32, 32], -1.0, 1.0, &mut rng);
    let class = 7;
    let analytic = explain::input_gradients(&mut model, &x, &[class]);
    assert!(
        analytic.data().iter().any(|&g| g != 0.0),
        "the gradient reached the image"
    );
    let mut values = x.data().to_vec();
    let report = gradcheck(
        "image",
        x.shape(),
        &mut values,
        analytic.data(),
        |v| {
            f64::from(
                model
                    .forward(
                        &Tensor::from_vec(&[1, 3, 32, 32], v.to_vec()),
                        Mode::Inference,
                    )
                    .row(0)[class],
            )
        },
        &GradCheckConfig {
            step: 1e-3,
            ..GradCheckConfig::default()
        },
    );
    assert!(report.passed, "{report:?}");
    // A batch gives each row its own class's gradient.
    let batch = Tensor::from_fn(&[2, 3, 32, 32], |i| {
        x.data()[i % 3072] * if i < 3072 { 1.0 } else { -1.0 }
    });
    let both = explain::input_gradients(&mut model, &batch, &[class, 2]);
    let first = explain::input_gradients(&mut model, &batch.select_rows(&[0]), &[class]);
    assert_eq!(&both.data()[..3072], first.data());
}

#[test]
fn integrated_gradients_converge_to_completeness() {
    let mut model = explainable_cnn(32);
    let mut rng = Rng::new(33);
    let x = Tensor::rand_uniform(&[1, 3, 32, 32], -1.0, 1.0, &mut rng);
    let baseline = Tensor::zeros(x.shape());
    let error = |model: &mut CifarCnn, steps| {
        let ig = explain::integrated_gradients(model, &x, &baseline, 4, steps);
        explain::completeness(model, &x, &baseline, 4, &ig).relative_error
    };
    let (coarse, fine) = (error(&mut model, 2), error(&mut model, 300));
    assert!(fine < 0.01, "300 steps: relative error {fine}");
    assert!(
        fine < coarse,
        "300 steps ({fine}) should beat 2 steps ({coarse})"
    );
}

#[test]
fn grad_cam_weights_each_map_by_its_mean_gradient() {
    // conv → flatten → linear: ∂F_c/∂A is W_c reshaped, so α_k is the mean of W_c over map k.
    let mut rng = Rng::new(34);
    let mut conv = Conv2d::new(2, 3, 3, &mut rng);
    let mut flatten = Flatten::new();
    let mut linear = Linear::new(3 * 4 * 4, 2, &mut rng);
    let x = Tensor::rand_uniform(&[1, 2, 6, 6], -1.0, 1.0, &mut rng);
    let activations = conv.forward(&x, Mode::Inference);
    let w = linear.weight().value.row(1).to_vec();
    let alpha: Vec<f32> = (0..3)
        .map(|k| w[k * 16..(k + 1) * 16].iter().sum::<f32>() / 16.0)
        .collect();
    let expected: Vec<f32> = (0..16)
        .map(|p| {
            (0..3)
                .map(|k| alpha[k] * activations.data()[k * 16 + p])
                .sum::<f32>()
                .max(0.0)
        })
        .collect();
    let mut layers: Vec<(&str, &mut dyn Layer)> = vec![
        ("conv", &mut conv),
        ("flatten", &mut flatten),
        ("fc", &mut linear),
    ];
    let cam = explain::grad_cam(&mut layers, "conv", &x, 1);
    assert_eq!(cam.shape(), &[4, 4]);
    for (got, want) in cam.data().iter().zip(&expected) {
        assert!((got - want).abs() < 1e-5, "{got} vs {want}");
    }
}

#[test]
fn upsampling_keeps_values_at_the_feature_centres() {
    let map = Tensor::from_vec(&[2, 2], vec![1.0, 2.0, 3.0, 4.0]);
    // Cells centred on pixels 1 and 3 (offset 1, stride 2).
    let up = explain::upsample_bilinear(&map, 5, 5, 2.0, 1.0);
    assert_eq!(up.at(&[1, 1]), 1.0);
    assert_eq!(up.at(&[3, 3]), 4.0);
    assert_eq!(up.at(&[1, 2]), 1.5);
    assert_eq!(
        up.at(&[0, 0]),
        1.0,
        "outside the centres the edge value is kept"
    );
}

#[test]
fn occlusion_only_sees_the_pixels_the_model_uses() {
    // A linear model that looks only at the top-left 2 × 2 pixels of the first channel.
    let mut rng = Rng::new(35);
    let mut model = linear_model(&mut rng);
    model.visit_params(&mut |name, p| {
        if name.ends_with("weight") {
            for (i, w) in p.value.data_mut().iter_mut().enumerate() {
                let (pixel, input) = (i % 48 % 16, i % 48);
                *w = if input < 16 && pixel % 4 < 2 && pixel / 4 < 2 {
                    1.0
                } else {
                    0.0
                };
            }
        }
    });
    let x = Tensor::ones(&[1, 3, 4, 4]);
    let map = explain::occlusion(&mut model, &x, 0, 2, 1, 0.0);
    // Patches touching the top-left 2 × 2 change nothing here (all classes share the weights), so
    // use the drop's support instead: any change is confined to pixels covered by patches that
    // reach the top-left corner.
    for y in 0..4 {
        for x in 0..4 {
            if y >= 3 || x >= 3 {
                assert_eq!(
                    map.at(&[y, x]),
                    0.0,
                    "pixel ({y}, {x}) is never near the used pixels"
                );
            }
        }
    }
}

#[test]
fn the_stand_in_knows_where_its_objects_are() {
    let (set, masks) = cifar10_standin::generate_with_masks(40, 7, 20);
    let full = cifar10_standin::generate(40, 7);
    for i in 0..set.len() {
        assert_eq!(
            set.image(i),
            full.image(i),
            "picture {i} is the one `generate` draws"
        );
        assert_eq!(set.label(i), full.label(i));
        let area = masks[i * 1024..(i + 1) * 1024]
            .iter()
            .filter(|&&m| m)
            .count();
        assert!(
            area > 20 && area < 1024,
            "picture {i}: object of {area} pixels"
        );
    }
}

// ---- 18.3 multimodal ----

#[test]
fn l2_normalize_gives_unit_rows_and_the_right_gradient() {
    let mut rng = Rng::new(40);
    let mut layer = L2Normalize::new();
    let x = Tensor::randn(&[3, 5], 0.0, 1.0, &mut rng);
    let y = layer.forward(&x, Mode::Inference);
    for r in 0..3 {
        let norm: f32 = y.row(r).iter().map(|v| v * v).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-6);
    }
    for report in assert_gradcheck_layer(&mut layer, &x, &GradCheckConfig::default()) {
        assert!(report.passed);
    }
}

#[test]
fn the_contrastive_loss_starts_at_ln_n_and_has_the_right_gradient() {
    let uniform = Tensor::full(&[8, 8], 0.3);
    let loss = contrastive_loss(&uniform);
    assert!((loss.value - 8f32.ln()).abs() < 1e-6, "{}", loss.value);
    let mut rng = Rng::new(41);
    let mut logits = Tensor::randn(&[4, 4], 0.0, 2.0, &mut rng);
    let analytic = contrastive_loss(&logits).grad;
    let report = gradcheck(
        "logits",
        &[4, 4],
        logits.data_mut(),
        analytic.data(),
        |v| f64::from(contrastive_loss(&Tensor::from_vec(&[4, 4], v.to_vec())).value),
        &GradCheckConfig::default(),
    );
    assert!(report.passed, "{report:?}");
    // Symmetric: transposing the logits changes nothing.
    let t = contrastive_loss(&logits.transpose());
    assert!((t.value - contrastive_loss(&logits).value).abs() < 1e-6);
}

/// Pair rows for `Clip` from a captioned set.
fn pairs(set: &captioned_shapes::CaptionedImages) -> Tensor {
    let width = 3072 + CAPTION_TOKENS;
    let mut data = Vec::with_capacity(set.len() * width);
    for i in 0..set.len() {
        data.extend(set.image(i).iter().map(|&b| cifar10::normalize(b)));
        data.extend(captioned_shapes::encode(&set.captions[i]).expect("known words"));
    }
    Tensor::from_vec(&[set.len(), width], data)
}

#[test]
fn clip_gradients_match_finite_differences() {
    let set = captioned_shapes::generate(6, 42, Pairs::Seen, &[0, 1, 2, 3, 4, 5]);
    let x = pairs(&set);
    for (encoder, image_head) in [
        (ImageEncoder::Plain, "image.9."),
        (ImageEncoder::Factorized, "image.head.0."),
    ] {
        let mut model = Clip::new(
            VOCABULARY.len(),
            CAPTION_TOKENS,
            8,
            encoder,
            &mut Rng::new(43),
        );
        // Scale 1 (t = 0): logits near 1, so the f32 rounding of the output (which finite
        // differences divide by 2h) stays well below the gradients checked.
        model.log_scale.value.data_mut()[0] = 0.0;
        // The last layers' outputs are normalised: x/‖x‖ curves sharply when ‖x‖ is small, and the
        // factorized head starts with small outputs. Larger head weights keep ‖x‖ near 1, where
        // steps of h = 10⁻² measure the derivative, not the curvature.
        model.visit_params(&mut |name, p| {
            if name.starts_with(image_head) {
                for v in p.value.data_mut() {
                    *v *= 5.0;
                }
            }
        });
        let mut rng = Rng::new(44);
        let weights = Tensor::randn(&[6, 6], 0.0, 1.0, &mut rng);
        zero_grad(&mut model);
        model.forward(&x, Mode::Train);
        model.backward(&weights);
        // Smooth paths only: the scale, the whole text tower, the image tower's last linear layer.
        let checked = |name: &str| {
            name == "logit_scale" || name.starts_with("text.") || name.starts_with(image_head)
        };
        let mut params: Vec<(String, Vec<f32>, Vec<f32>)> = Vec::new();
        model.visit_params(&mut |name, p| {
            if checked(name) {
                params.push((
                    name.to_string(),
                    p.value.data().to_vec(),
                    p.grad.data().to_vec(),
                ));
            }
        });
        assert!(params.len() >= 8, "{encoder:?}: {} tensors", params.len());
        for (name, mut values, analytic) in params {
            let report = gradcheck(
                &name,
                &[values.len()],
                &mut values,
                &analytic,
                |v| {
                    model.visit_params(&mut |n, p| {
                        if n == name {
                            p.value.data_mut().copy_from_slice(v);
                        }
                    });
                    let y = model.forward(&x, Mode::Train);
                    y.data()
                        .iter()
                        .zip(weights.data())
                        .map(|(a, b)| f64::from(a * b))
                        .sum()
                },
                &GradCheckConfig {
                    max_samples: 12,
                    ..GradCheckConfig::default()
                },
            );
            model.visit_params(&mut |n, p| {
                if n == name {
                    p.value.data_mut().copy_from_slice(&values);
                }
            });
            assert!(report.passed, "{encoder:?}: {report:?}");
        }
    }
}

#[test]
fn the_factorized_encoder_sees_no_colour_in_its_shape_stream() {
    // Two pictures that differ only in hue at equal brightness give the same shape features.
    let mut rng = Rng::new(47);
    let mut encoder = FactorizedImageEncoder::new(8, &mut rng);
    let a = Tensor::rand_uniform(&[1, 3, 32, 32], -1.0, 1.0, &mut rng);
    // Rotate the channels: the sum R + G + B, hence the grey image, is unchanged.
    let b = Tensor::from_fn(&[1, 3, 32, 32], |i| a.data()[(i + 1024) % 3072]);
    let (sa, sb) = (
        encoder.shape.forward(&contrast(&grey(&a)), Mode::Inference),
        encoder.shape.forward(&contrast(&grey(&b)), Mode::Inference),
    );
    for (x, y) in sa.data().iter().zip(sb.data()) {
        assert!((x - y).abs() < 1e-5);
    }
    // Nor the brightness: the contrast map of a picture made brighter or darker, with more or less
    // contrast, or inverted, is the same map (a colour's brightness is colour information).
    let g = grey(&a);
    let map = contrast(&g);
    for (gain, offset) in [(0.5, 0.3), (2.0, -1.0), (-1.0, 0.0), (-0.3, 0.8)] {
        let other = contrast(&Tensor::from_fn(g.shape(), |i| gain * g.data()[i] + offset));
        for (x, y) in map.data().iter().zip(other.data()) {
            assert!(
                (x - y).abs() < 1e-3,
                "gain {gain}, offset {offset}: {x} vs {y}"
            );
        }
    }
    // Each map is standardised: mean of squares 1.
    let mean_square = map.data().iter().map(|v| v * v).sum::<f32>() / 1024.0;
    assert!((mean_square - 1.0).abs() < 1e-4, "{mean_square}");
    // And the colour stream does not care where the colours are: shifting the picture by a pixel
    // (wrapping around) leaves the maximum over all places unchanged.
    let shifted = Tensor::from_fn(&[1, 3, 32, 32], |i| {
        let (plane, p) = (i / 1024, i % 1024);
        a.data()[plane * 1024 + (p + 1) % 1024]
    });
    let (ca, cs) = (
        encoder.colour.forward(&a, Mode::Inference),
        encoder.colour.forward(&shifted, Mode::Inference),
    );
    assert_eq!(ca.data(), cs.data());
}

#[test]
fn a_few_contrastive_steps_lower_the_loss() {
    let set = captioned_shapes::generate(32, 45, Pairs::Seen, &[0]);
    let x = pairs(&set);
    let targets = Tensor::from_fn(&[32], |i| i as f32);
    let mut model = Clip::new(
        VOCABULARY.len(),
        CAPTION_TOKENS,
        16,
        ImageEncoder::Factorized,
        &mut Rng::new(46),
    );
    let mut optimizer = Adam::new(0.003);
    let first = train_step(
        &mut model,
        &mut optimizer,
        &ContrastiveLoss,
        &x,
        &targets,
        None,
    )
    .expect("finite");
    let mut last = first;
    for _ in 0..30 {
        last = train_step(
            &mut model,
            &mut optimizer,
            &ContrastiveLoss,
            &x,
            &targets,
            None,
        )
        .expect("finite");
    }
    assert!(last < 0.7 * first, "loss {first} → {last}");
}

#[test]
fn re_initialising_the_last_layer_changes_the_saliency_map() {
    // Adebayo et al.'s randomisation check on a small scale: a map that explains the model must
    // change when the model's top layer is replaced; the same model gives the same map.
    let mut model = explainable_cnn(40);
    let mut rng = Rng::new(41);
    let x = Tensor::rand_uniform(&[1, 3, 32, 32], -1.0, 1.0, &mut rng);
    let trained = explain::saliency(&mut model, &x, 3);
    let again = explain::saliency(&mut model, &x, 3);
    assert_eq!(explain::spearman(trained.data(), again.data()), 1.0);
    model.fc3 = Linear::new(84, 10, &mut Rng::new(42));
    let randomised = explain::saliency(&mut model, &x, 3);
    let correlation = explain::spearman(trained.data(), randomised.data());
    assert!(
        correlation < 0.95,
        "the saliency map hardly changed ({correlation}) when fc3 was re-initialised"
    );
}

// ---- The binary: sizes refused before any work, explicit flags winning over --quick. ----

fn run_chapter(args: &[&str]) -> (Option<i32>, String, String) {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_ch18_future_directions"))
        .args(args)
        .env("DLFS_PROGRESS", "0")
        .env("DLFS_THREADS", "1")
        .output()
        .unwrap();
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn huge_sizes_and_empty_sets_are_refused_by_name_before_any_work() {
    let out = std::env::temp_dir().join(format!("dlfs-ch18-flags-{}", std::process::id()));
    let out_text = out.display().to_string();
    for (flag, value, needle) in [
        ("--clip-pairs", "1000000000000", "would need"),
        ("--latency-calls", "18446744073709551615", "would need"),
        ("--limit", "0", "at least 1"),
        ("--clip-pairs", "0", "at least 1"),
        ("--clip-weight-decay", "1000", "below 1"),
        ("--clip-weight-decay", "NaN", "≥ 0"),
    ] {
        let (code, stdout, stderr) = run_chapter(&["--quick", "--out", &out_text, flag, value]);
        assert_eq!(code, Some(2), "{flag} {value}: {stderr}");
        assert!(
            stderr.contains(flag) && stderr.contains(needle),
            "{flag} {value}: {stderr}"
        );
        assert!(
            !stdout.contains("## 18.0"),
            "{flag} {value}: refused only after work began"
        );
    }
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn explicit_flags_win_over_quick() {
    let out = std::env::temp_dir().join(format!("dlfs-ch18-quick-{}", std::process::id()));
    let out_text = out.display().to_string();
    let (code, stdout, stderr) = run_chapter(&[
        "--quick",
        "--out",
        &out_text,
        "--sections",
        "multimodal",
        "--clip-pairs",
        "70",
        "--clip-epochs",
        "1",
    ]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.contains("Data: 70 generated pictures"), "{stdout}");
    assert!(stdout.contains("epoch 1/1"), "{stdout}");
    let results = std::fs::read_to_string(out.join("results.json")).unwrap();
    assert!(results.contains("\"zero_shot_shape_acc\""), "{results}");
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn a_resumed_clip_run_ends_where_the_uninterrupted_one_does() {
    let base = std::env::temp_dir().join(format!("dlfs-ch18-resume-{}", std::process::id()));
    let (straight, stopped) = (base.join("straight"), base.join("stopped"));
    let run = |out: &std::path::Path, epochs: &str, resume: bool| {
        let out_text = out.display().to_string();
        let mut args = vec![
            "--quick",
            "--out",
            &out_text,
            "--sections",
            "multimodal",
            "--clip-pairs",
            "128",
            "--clip-epochs",
            epochs,
        ];
        if resume {
            args.push("--resume");
        }
        let (code, stdout, stderr) = run_chapter(&args);
        assert_eq!(code, Some(0), "{stderr}");
        (
            stdout,
            std::fs::read_to_string(out.join("results.json")).unwrap(),
        )
    };
    let (_, expected) = run(&straight, "2", false);
    run(&stopped, "1", false);
    let (stdout, resumed) = run(&stopped, "2", true);
    assert!(stdout.contains("after epoch 1"), "{stdout}");
    // Only the second epoch ran: a run restarted from scratch would print epoch 1/2 again.
    assert!(
        stdout.contains("epoch 2/2") && !stdout.contains("epoch 1/2"),
        "{stdout}"
    );
    let final_loss = |results: &str| {
        let at = results.find("\"final_loss\"").unwrap();
        results[at..].split([',', '\n']).next().unwrap().to_string()
    };
    assert_eq!(final_loss(&resumed), final_loss(&expected));
    assert_eq!(
        std::fs::read(straight.join("clip.safetensors")).unwrap(),
        std::fs::read(stopped.join("clip.safetensors")).unwrap(),
        "the resumed run's weights differ from the uninterrupted run's"
    );
    // A setting that defines the run may not change on --resume.
    let stopped_text = stopped.display().to_string();
    let (code, _, stderr) = run_chapter(&[
        "--quick",
        "--out",
        &stopped_text,
        "--sections",
        "multimodal",
        "--resume",
        "--clip-pairs",
        "256",
    ]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("--clip-pairs"), "{stderr}");
    let _ = std::fs::remove_dir_all(&base);
}
