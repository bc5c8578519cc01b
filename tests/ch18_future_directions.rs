//! Chapter 18: quantization, the int8 network and its generated edge source, pruning,
//! distillation, the export, explanations and the contrastive model — small shapes, few steps.
//!
//! The edge test compiles a generated copy of the int8 network, `tests/edge/cnn_int8_edge.rs`
//! (made from a fixed-seed, untrained model, so it can be regenerated anywhere), checks that it
//! computes exactly what the library's int8 path computes and that a call allocates nothing, and
//! that regenerating it gives the same bytes. After changing `quant::edge_runtime` or the
//! generator, regenerate it with `DLFS_REGENERATE_EDGE=1 cargo test --test ch18_future_directions`.

use dlfs::Tensor;
use dlfs::check::{GradCheckConfig, gradcheck};
use dlfs::data::cifar10_standin;
use dlfs::linalg::gemm::{self, Kernel};
use dlfs::loss::{Reduction, cross_entropy};
use dlfs::nn::{CifarCnn, Layer, Mode, param_count};
use dlfs::optim::{Optimizer, Sgd};
use dlfs::probability::Rng;
use dlfs::quant::edge_runtime::{self, EdgeBuffer, IMAGE_BYTES};
use dlfs::quant::export::{self, TensorValues};
use dlfs::quant::{
    Calibration, Granularity, QuantizedCnn, QuantizedWeights, distillation_loss, edge,
    magnitude_mask, prune, student_cnn,
};
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
    let mask = magnitude_mask(&mut model, 0.8);
    assert!(
        (mask.sparsity() - 0.8).abs() < 0.01,
        "sparsity {}",
        mask.sparsity()
    );
    let mut smallest_kept = f32::INFINITY;
    let mut largest_pruned = 0.0f32;
    model.visit_params(&mut |name, p| {
        if let Some((_, keep)) = mask.masks.iter().find(|(n, _)| n == name) {
            for (&w, &k) in p.value.data().iter().zip(keep) {
                if k {
                    smallest_kept = smallest_kept.min(w.abs());
                } else {
                    largest_pruned = largest_pruned.max(w.abs());
                }
            }
        }
    });
    assert!(largest_pruned <= smallest_kept * 1.0001 || mask.masks.len() > 1);
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
