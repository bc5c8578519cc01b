//! Tests of the GPU path (chapter 15).
//!
//! Without an NVIDIA driver (most machines, and CI) every test that needs a device prints
//! `skipped: <reason>` and passes; the tests of the loader, the launch checks and the PTX sources
//! run everywhere. With a GPU, every kernel is compared with its CPU counterpart on awkward shapes,
//! a training run is compared step by step, and freed buffers are checked with the driver's memory
//! counter.
//!
//! The device tests take a lock so they run one at a time even under `cargo test`'s parallel
//! threads: the memory test reads a device-wide counter that other tests' allocations would move.

use dlfs::check::{Tolerance, assert_close};
use dlfs::gpu::{
    self, AdamConfig, DeviceMatMut, DeviceMatRef, Gpu, GpuMlp, GpuOptimizer, SgdConfig, plan_gemm,
};
use dlfs::linalg::{MatMut, MatRef, reference};
use dlfs::loss::{self, Reduction};
use dlfs::nn::{Layer, Linear, Mode, Relu, Sequential, zero_grad};
use dlfs::optim::{Adam, AdamW, Optimizer, Sgd};
use dlfs::probability::Rng;
use dlfs::tensor::Tensor;
use std::sync::{Mutex, MutexGuard};

static DEVICE_LOCK: Mutex<()> = Mutex::new(());

/// The GPU (and the device lock), or `None` after printing why the test is skipped.
/// With `DLFS_REQUIRE_GPU=1` (set by `.ci/gpu-check` on a GPU machine) a missing GPU fails the test
/// instead: there, a skip would hide a broken driver setup.
fn gpu_or_skip(test: &str) -> Option<(MutexGuard<'static, ()>, Gpu)> {
    let guard = DEVICE_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    match Gpu::new() {
        Ok(gpu) => Some((guard, gpu)),
        Err(e) => {
            let required = std::env::var("DLFS_REQUIRE_GPU").is_ok_and(|v| v == "1");
            assert!(
                !required,
                "{test}: DLFS_REQUIRE_GPU=1 but there is no usable GPU: {e}"
            );
            println!("skipped: {test}: {e}");
            None
        }
    }
}

fn random_vec(len: usize, rng: &mut Rng) -> Vec<f32> {
    (0..len).map(|_| rng.uniform(-1.0, 1.0)).collect()
}

// ------------------------------------------------------------------------------------------------
// Tests that need no GPU
// ------------------------------------------------------------------------------------------------

#[test]
fn a_missing_driver_library_is_a_clear_error() {
    let error = Gpu::with_library("libcuda-dlfs-test-does-not-exist.so.1")
        .expect_err("a library that does not exist cannot load");
    let text = error.to_string();
    assert!(matches!(error, dlfs::Error::Gpu(_)), "{error:?}");
    assert!(
        text.contains("no CUDA driver") && text.contains("libcuda-dlfs-test-does-not-exist.so.1"),
        "the message must say what is missing: {text}"
    );
    assert!(
        text.contains("--device cpu"),
        "the message must say what to do: {text}"
    );
}

#[test]
fn gpu_new_returns_a_device_or_a_reason() {
    // Either way it must not panic, and a failure must explain itself.
    match Gpu::new() {
        Ok(gpu) => println!(
            "found {} ({}), driver {} via {}",
            gpu.info().name,
            gpu.info().sm_name(),
            gpu.info().driver_version,
            gpu.driver_library()
        ),
        Err(e) => {
            let text = e.to_string();
            assert!(matches!(e, dlfs::Error::Gpu(_)), "{e:?}");
            assert!(text.len() > 40 && text.contains("GPU"), "{text}");
            println!("skipped: no GPU here: {text}");
        }
    }
}

#[test]
fn launch_sizes_outside_the_hardware_limits_are_refused() {
    assert!(gpu::check_launch("k", [1, 1, 1], [256, 1, 1], 0).is_ok());
    assert!(gpu::check_launch("k", [2_000_000, 65535, 1], [32, 32, 1], 0).is_ok());
    for (grid, block, shared) in [
        ([0, 1, 1], [256, 1, 1], 0),
        ([1, 1, 1], [1025, 1, 1], 0),
        ([1, 1, 1], [32, 32, 2], 0),
        ([1, 1, 1], [1, 1, 65], 0),
        ([1, 65536, 1], [256, 1, 1], 0),
        ([1, 1, 1], [256, 1, 1], 64 * 1024),
    ] {
        let error = gpu::check_launch("k", grid, block, shared)
            .expect_err(&format!("grid {grid:?} block {block:?} must be refused"));
        assert!(error.to_string().contains("cannot launch k"), "{error}");
    }
}

#[test]
fn ptx_sources_are_written_for_ptxas() {
    // Writes every module to target/ptx/ so `ptx-check target/ptx/*.ptx` can assemble them.
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("target/tmp has a parent")
        .join("ptx");
    let written = gpu::kernels::write_all(&dir).expect("write the PTX files");
    let mut all = String::new();
    for path in &written {
        let text = std::fs::read_to_string(path).expect("read back");
        assert!(
            text.is_ascii(),
            "{}: ptxas rejects non-ASCII text",
            path.display()
        );
        assert!(
            text.contains(".version 8.0") && text.contains(".target sm_80"),
            "{}: needs .version 8.0 and .target sm_80",
            path.display()
        );
        all.push_str(&text);
    }
    for name in gpu::KERNEL_NAMES {
        assert_eq!(
            all.matches(&format!(".entry {name}(")).count(),
            1,
            "kernel {name} must be defined exactly once"
        );
    }
    println!("PTX written to {}", dir.display());
}

// ------------------------------------------------------------------------------------------------
// Device tests
// ------------------------------------------------------------------------------------------------

#[test]
fn the_device_and_the_compiled_kernels_are_sane() {
    let Some((_lock, gpu)) = gpu_or_skip("the_device_and_the_compiled_kernels_are_sane") else {
        return;
    };
    let info = gpu.info();
    println!("{info:?}");
    assert!(info.compute_capability.0 >= 8 && info.multiprocessors > 0 && info.total_memory > 0);
    let jit_ms = gpu
        .load_kernels()
        .expect("the kernels compile on this device");
    println!("JIT compile of all modules: {jit_ms:.1} ms");
    for r in gpu.kernel_resources().expect("resources") {
        println!(
            "  {:<32} {:>3} registers, {:>3} bytes local, {:>6} bytes shared",
            r.name, r.registers, r.local_bytes, r.shared_bytes
        );
        if r.name.starts_with("sgemm") {
            // 256 threads and 2 blocks per multiprocessor: at most 128 registers, and no spills.
            assert!(r.registers <= 128, "{r:?}");
            assert_eq!(r.local_bytes, 0, "{} spills registers: {r:?}", r.name);
        }
    }
}

#[test]
fn buffers_round_trip_and_check_their_lengths() {
    let Some((_lock, gpu)) = gpu_or_skip("buffers_round_trip_and_check_their_lengths") else {
        return;
    };
    let data: Vec<f32> = (0..1000).map(|i| i as f32 * 0.5 - 3.0).collect();
    let mut buffer = gpu.upload(&data).unwrap();
    assert_eq!(buffer.len(), 1000);
    assert_eq!(buffer.to_vec().unwrap(), data);
    buffer.write(10, &[7.0, 8.0]).unwrap();
    let mut two = [0.0f32; 2];
    buffer.read(10, &mut two).unwrap();
    assert_eq!(two, [7.0, 8.0]);
    let mut copy = gpu.zeros::<f32>(1000).unwrap();
    assert!(copy.to_vec().unwrap().iter().all(|&v| v == 0.0));
    copy.copy_from_device(&buffer).unwrap();
    assert_eq!(copy.to_vec().unwrap(), buffer.to_vec().unwrap());
    copy.fill(2.5).unwrap();
    assert!(copy.to_vec().unwrap().iter().all(|&v| v == 2.5));
    let labels = gpu.upload(&[3u32, 1, 4, 1, 5]).unwrap();
    assert_eq!(labels.to_vec().unwrap(), vec![3, 1, 4, 1, 5]);
    let empty = gpu.zeros::<f32>(0).unwrap();
    assert!(empty.is_empty() && empty.to_vec().unwrap().is_empty());
    // Length mismatches are programming errors: they panic, naming the sizes.
    let short = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let mut out = vec![0.0f32; 999];
        let _ = buffer.copy_to_host(&mut out);
    }));
    assert!(short.is_err(), "copy_to_host into 999 values must panic");
    let outside = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _ = buffer.write(999, &[1.0, 2.0]);
    }));
    assert!(outside.is_err(), "a write past the end must panic");
}

#[test]
fn a_jit_error_is_reported_with_the_compiler_log() {
    let Some((_lock, gpu)) = gpu_or_skip("a_jit_error_is_reported_with_the_compiler_log") else {
        return;
    };
    let bad = ".version 8.0\n.target sm_80\n.address_size 64\n.visible .entry broken()\n{\n    frobnicate.u32 %r1;\n}\n";
    let error = gpu
        .load_module(bad, "broken.ptx")
        .err()
        .expect("must not compile");
    let text = error.to_string();
    assert!(
        text.contains("broken.ptx") && text.contains("JIT compiler log"),
        "{text}"
    );
    let module = gpu
        .load_module(gpu::kernels::ELEMENTWISE_PTX, "elementwise.ptx")
        .expect("the crate's own PTX compiles");
    assert!(module.kernel("relu_forward").is_ok());
    assert!(module.kernel("no_such_kernel").is_err());
}

/// One GEMM case: C (m × n) = α·op(A)·op(B) + β·C with A, B stored transposed or not, leading
/// dimensions padded by `pad`, checked against the f64 reference and the CPU gemm.
struct GemmCase {
    m: usize,
    n: usize,
    k: usize,
    a_transposed: bool,
    b_transposed: bool,
    pad: usize,
    alpha: f32,
    beta: f32,
}

/// A row-major `rows × cols` matrix with leading dimension `ld`, or its transpose.
fn host_view(data: &[f32], rows: usize, cols: usize, ld: usize, transposed: bool) -> MatRef<'_> {
    let view = MatRef::with_strides(data, rows, cols, ld, 1);
    if transposed { view.t() } else { view }
}

/// Runs a case on the GPU; returns the kernel that ran.
fn run_gemm_case(gpu: &Gpu, case: &GemmCase, rng: &mut Rng, force_strided: bool) -> &'static str {
    let GemmCase {
        m,
        n,
        k,
        a_transposed,
        b_transposed,
        pad,
        alpha,
        beta,
    } = *case;
    // Stored shapes and leading dimensions.
    let (a_rows, a_cols) = if a_transposed { (k, m) } else { (m, k) };
    let (b_rows, b_cols) = if b_transposed { (n, k) } else { (k, n) };
    let (lda, ldb, ldc) = (a_cols + pad, b_cols + pad, n + pad);
    let a = random_vec(a_rows * lda, rng);
    let b = random_vec(b_rows * ldb, rng);
    // C starts as random values, or NaN when beta == 0 (it must not be read then).
    let c0: Vec<f32> = if beta == 0.0 {
        vec![f32::NAN; m * ldc]
    } else {
        random_vec(m * ldc, rng)
    };
    // Host results: f64 reference and the crate's CPU gemm.
    let mut expected = c0.clone();
    reference::gemm(
        alpha,
        host_view(&a, a_rows, a_cols, lda, a_transposed),
        host_view(&b, b_rows, b_cols, ldb, b_transposed),
        beta,
        MatMut::with_strides(&mut expected, m, n, ldc, 1),
    );
    let mut cpu = c0.clone();
    dlfs::linalg::gemm(
        alpha,
        host_view(&a, a_rows, a_cols, lda, a_transposed),
        host_view(&b, b_rows, b_cols, ldb, b_transposed),
        beta,
        MatMut::with_strides(&mut cpu, m, n, ldc, 1),
    );
    // Device.
    let da = gpu.upload(&a).unwrap();
    let db = gpu.upload(&b).unwrap();
    let mut dc = gpu.upload(&c0).unwrap();
    let dview = |buffer, rows, cols, ld, transposed: bool| {
        let v = DeviceMatRef::with_strides(buffer, 0, rows, cols, ld, 1);
        if transposed { v.t() } else { v }
    };
    let av = dview(&da, a_rows, a_cols, lda, a_transposed);
    let bv = dview(&db, b_rows, b_cols, ldb, b_transposed);
    let kernel = if force_strided {
        gpu.gemm_strided(
            alpha,
            av,
            bv,
            beta,
            DeviceMatMut::with_strides(&mut dc, 0, m, n, ldc, 1),
        )
        .unwrap();
        "sgemm_strided"
    } else {
        let plan = plan_gemm(
            av,
            bv,
            &DeviceMatMut::with_strides(&mut dc, 0, m, n, ldc, 1),
        );
        gpu.gemm(
            alpha,
            av,
            bv,
            beta,
            DeviceMatMut::with_strides(&mut dc, 0, m, n, ldc, 1),
        )
        .unwrap();
        plan.kernel
    };
    let got = dc.to_vec().unwrap();
    // Compare the m × n block (the padding must be untouched: compared too, where C was not NaN).
    let pick = |v: &[f32]| -> Vec<f32> {
        (0..m)
            .flat_map(|i| v[i * ldc..i * ldc + n].to_vec())
            .collect()
    };
    // f32 sums of k products of values in [-1, 1]: rounding error grows like k · 2⁻²⁴ · Σ|aᵢbᵢ|.
    let tolerance = Tolerance::new(2e-6 * (k as f32 + 1.0), 1e-5);
    let name = format!(
        "{kernel} m={m} n={n} k={k} a_t={a_transposed} b_t={b_transposed} pad={pad} α={alpha} β={beta}"
    );
    assert_close(&name, &[m, n], &pick(&got), &pick(&expected), tolerance);
    assert_close(
        &format!("{name} (vs CPU gemm)"),
        &[m, n],
        &pick(&got),
        &pick(&cpu),
        tolerance,
    );
    if beta != 0.0 && pad > 0 {
        for i in 0..m {
            assert_eq!(
                &got[i * ldc + n..(i + 1) * ldc],
                &c0[i * ldc + n..(i + 1) * ldc],
                "{name}: padding of row {i} was written"
            );
        }
    }
    kernel
}

#[test]
fn sgemm_matches_the_cpu_on_awkward_shapes() {
    let Some((_lock, gpu)) = gpu_or_skip("sgemm_matches_the_cpu_on_awkward_shapes") else {
        return;
    };
    let mut rng = Rng::new(15);
    let shapes: &[(usize, usize, usize)] = &[
        (1, 1, 1),
        (1, 7, 3),
        (7, 1, 5),
        (13, 17, 19),
        (3, 5, 0),
        (128, 128, 8),
        (129, 132, 36),
        (131, 137, 67),
        (260, 64, 12),
        (64, 260, 100),
        (37, 256, 257),
    ];
    let mut kernels_seen = std::collections::BTreeSet::new();
    for &(m, n, k) in shapes {
        for (a_transposed, b_transposed) in
            [(false, false), (false, true), (true, false), (true, true)]
        {
            for (pad, alpha, beta) in [(0, 1.0, 0.0), (4, 0.5, 1.0), (3, -1.0, 0.25)] {
                let case = GemmCase {
                    m,
                    n,
                    k,
                    a_transposed,
                    b_transposed,
                    pad,
                    alpha,
                    beta,
                };
                kernels_seen.insert(run_gemm_case(&gpu, &case, &mut rng, false));
            }
        }
    }
    // Aligned shapes through the general kernel too.
    for &(m, n, k) in &[(128, 128, 8), (132, 136, 40)] {
        let case = GemmCase {
            m,
            n,
            k,
            a_transposed: false,
            b_transposed: false,
            pad: 0,
            alpha: 1.0,
            beta: 0.0,
        };
        run_gemm_case(&gpu, &case, &mut rng, true);
    }
    println!("kernels exercised: {kernels_seen:?}");
    for kernel in ["sgemm_nn", "sgemm_nt", "sgemm_tn", "sgemm_strided"] {
        assert!(
            kernels_seen.contains(kernel),
            "{kernel} was never chosen: {kernels_seen:?}"
        );
    }
}

#[test]
fn sgemm_handles_offsets_and_a_column_major_output() {
    let Some((_lock, gpu)) = gpu_or_skip("sgemm_handles_offsets_and_a_column_major_output") else {
        return;
    };
    let mut rng = Rng::new(16);
    let (m, n, k) = (33, 20, 12);
    let a = random_vec(5 + m * k, &mut rng);
    let b = random_vec(k * n, &mut rng);
    // A starts 5 values into its buffer (not 16-byte aligned: the general kernel must run).
    let mut expected = vec![0.0f32; m * n];
    reference::gemm(
        1.0,
        MatRef::with_strides(&a[5..], m, k, k, 1),
        MatRef::new(&b, k, n),
        0.0,
        MatMut::new(&mut expected, m, n),
    );
    let da = gpu.upload(&a).unwrap();
    let db = gpu.upload(&b).unwrap();
    // C stored column-major: (i, j) at i + j·m.
    let mut dc = gpu.upload(&vec![f32::NAN; m * n]).unwrap();
    let av = DeviceMatRef::with_strides(&da, 5, m, k, k, 1);
    let bv = DeviceMatRef::new(&db, k, n);
    let plan = plan_gemm(av, bv, &DeviceMatMut::with_strides(&mut dc, 0, m, n, 1, m));
    assert!(plan.transposed_output, "{plan:?}");
    gpu.gemm(
        1.0,
        av,
        bv,
        0.0,
        DeviceMatMut::with_strides(&mut dc, 0, m, n, 1, m),
    )
    .unwrap();
    let column_major = dc.to_vec().unwrap();
    let got: Vec<f32> = (0..m * n)
        .map(|idx| column_major[(idx % n) * m + idx / n])
        .collect();
    assert_close(
        "offset A, column-major C",
        &[m, n],
        &got,
        &expected,
        Tolerance::new(1e-5, 1e-5),
    );
}

#[test]
fn sgemm_on_a_large_aligned_product_matches_the_cpu() {
    let Some((_lock, gpu)) = gpu_or_skip("sgemm_on_a_large_aligned_product_matches_the_cpu") else {
        return;
    };
    let mut rng = Rng::new(17);
    let (m, n, k) = (512, 384, 640);
    let a = random_vec(m * k, &mut rng);
    let b = random_vec(k * n, &mut rng);
    let mut cpu = vec![0.0f32; m * n];
    dlfs::linalg::gemm_nn(m, n, k, &a, &b, &mut cpu, 0.0);
    let da = gpu.upload(&a).unwrap();
    let db = gpu.upload(&b).unwrap();
    let mut dc = gpu.zeros::<f32>(m * n).unwrap();
    gpu.gemm_nn(m, n, k, &da, &db, &mut dc, 0.0).unwrap();
    assert_close(
        "sgemm_nn 512×640×384",
        &[m, n],
        &dc.to_vec().unwrap(),
        &cpu,
        Tolerance::new(2e-6 * k as f32, 1e-5),
    );
}

#[test]
fn element_wise_kernels_match_the_cpu() {
    let Some((_lock, gpu)) = gpu_or_skip("element_wise_kernels_match_the_cpu") else {
        return;
    };
    let mut rng = Rng::new(18);
    for &(rows, cols) in &[(1, 1), (7, 13), (300, 33), (3, 1000)] {
        let n = rows * cols;
        let x = Tensor::from_vec(&[rows, cols], random_vec(n, &mut rng));
        let bias = Tensor::from_vec(&[cols], random_vec(cols, &mut rng));
        let dy = Tensor::from_vec(&[rows, cols], random_vec(n, &mut rng));
        let dx_ = gpu.upload(x.data()).unwrap();
        let dbias = gpu.upload(bias.data()).unwrap();
        let ddy = gpu.upload(dy.data()).unwrap();
        let shape = [rows, cols];
        // Exact: each output is one f32 operation (or none), done the same way on both sides.
        let exact = Tolerance::EXACT;

        // bias add: y = x + b (broadcast over rows)
        let mut y = gpu.upload(x.data()).unwrap();
        gpu.bias_add_rows(&mut y, &dbias, rows, cols).unwrap();
        let expected: Vec<f32> = (0..n)
            .map(|i| x.data()[i] + bias.data()[i % cols])
            .collect();
        assert_close(
            "bias_add_rows",
            &shape,
            &y.to_vec().unwrap(),
            &expected,
            exact,
        );

        // ReLU forward and backward against the CPU layer nn::Relu.
        let mut cpu_relu = Relu::new();
        let relu = cpu_relu.forward(&x, Mode::Train);
        let relu_grad = cpu_relu.backward(&dy);
        let mut out = gpu.zeros::<f32>(n).unwrap();
        gpu.relu_forward(&dx_, &mut out, n).unwrap();
        assert_close(
            "relu_forward",
            &shape,
            &out.to_vec().unwrap(),
            relu.data(),
            exact,
        );
        let mut in_place = gpu.upload(x.data()).unwrap();
        gpu.relu_forward_in_place(&mut in_place, n).unwrap();
        assert_close(
            "relu_forward_in_place",
            &shape,
            &in_place.to_vec().unwrap(),
            relu.data(),
            exact,
        );
        let mut dx = gpu.zeros::<f32>(n).unwrap();
        gpu.relu_backward(&dx_, &ddy, &mut dx, n).unwrap();
        assert_close(
            "relu_backward",
            &shape,
            &dx.to_vec().unwrap(),
            relu_grad.data(),
            exact,
        );
        // In place, masked by the ReLU's output (as GpuMlp does): the same places are > 0.
        let mut grad = gpu.upload(dy.data()).unwrap();
        gpu.relu_backward_in_place(&in_place, &mut grad, n).unwrap();
        assert_close(
            "relu_backward_in_place",
            &shape,
            &grad.to_vec().unwrap(),
            relu_grad.data(),
            exact,
        );

        // column sums, overwriting (β = 0, over NaN) and accumulating (β = 1)
        let sums = dy.sum_rows();
        let mut out = gpu.upload(&vec![f32::NAN; cols]).unwrap();
        gpu.column_sum(&ddy, &mut out, rows, cols, 0.0).unwrap();
        // Same additions in the same order (row 0, 1, 2, …) as Tensor::sum_rows: exact.
        assert_close(
            "column_sum β=0",
            &[cols],
            &out.to_vec().unwrap(),
            sums.data(),
            exact,
        );
        gpu.column_sum(&ddy, &mut out, rows, cols, 1.0).unwrap();
        let doubled: Vec<f32> = sums.data().iter().map(|&s| s + s).collect();
        assert_close(
            "column_sum β=1",
            &[cols],
            &out.to_vec().unwrap(),
            &doubled,
            exact,
        );
    }
}

#[test]
fn softmax_cross_entropy_kernels_match_the_cpu() {
    let Some((_lock, gpu)) = gpu_or_skip("softmax_cross_entropy_kernels_match_the_cpu") else {
        return;
    };
    let mut rng = Rng::new(19);
    for &(rows, classes, spread) in &[
        (1, 1, 1.0),
        (5, 10, 3.0),
        (37, 33, 10.0),
        (9, 1000, 5.0),
        (4, 7, 300.0),
    ] {
        let logits = Tensor::from_vec(
            &[rows, classes],
            (0..rows * classes)
                .map(|_| rng.uniform(-spread, spread))
                .collect(),
        );
        let targets: Vec<usize> = (0..rows).map(|_| rng.below(classes)).collect();
        let labels: Vec<u32> = targets.iter().map(|&t| t as u32).collect();
        // The CPU counterparts: loss::softmax and loss::cross_entropy (mean over rows).
        let cpu_probs = loss::softmax(&logits);
        let cpu = loss::cross_entropy(&logits, &targets, Reduction::Mean);

        let dlogits_ = gpu.upload(logits.data()).unwrap();
        let dlabels = gpu.upload(&labels).unwrap();
        let mut probs = gpu.zeros::<f32>(rows * classes).unwrap();
        let mut losses = gpu.zeros::<f32>(rows).unwrap();
        gpu.softmax_cross_entropy_forward(
            &dlogits_,
            &dlabels,
            &mut probs,
            &mut losses,
            rows,
            classes,
        )
        .unwrap();
        let scale = 1.0 / rows as f32;
        let mut dlogits = gpu.zeros::<f32>(rows * classes).unwrap();
        gpu.softmax_cross_entropy_backward(&probs, &dlabels, &mut dlogits, rows, classes, scale)
            .unwrap();
        let losses = losses.to_vec().unwrap();
        let mean_loss = (losses.iter().map(|&l| f64::from(l)).sum::<f64>() / rows as f64) as f32;

        // The GPU's exp and log come from its approximate base-2 units (relative error about
        // 2⁻²²), and logits of ±300 lose a few more bits in x·log2(e): probabilities and
        // gradients within 1e-6 absolute + 1e-5 relative, the loss within 1e-5 + 1e-5·|loss|.
        let name = format!("rows={rows} classes={classes} spread={spread}");
        assert_close(
            &format!("softmax probabilities, {name}"),
            &[rows, classes],
            &probs.to_vec().unwrap(),
            cpu_probs.data(),
            Tolerance::new(1e-6, 1e-5),
        );
        assert_close(
            &format!("cross-entropy loss, {name}"),
            &[1],
            &[mean_loss],
            &[cpu.value],
            Tolerance::new(1e-5, 1e-5),
        );
        assert_close(
            &format!("cross-entropy gradient, {name}"),
            &[rows, classes],
            &dlogits.to_vec().unwrap(),
            cpu.grad.data(),
            Tolerance::new(1e-6, 1e-5),
        );
    }
}

/// The `(weight, bias)` of every `Linear` of a model, in order (from `visit_params`).
fn linear_params(model: &mut dyn Layer) -> Vec<(Tensor, Tensor)> {
    let mut tensors = Vec::new();
    model.visit_params(&mut |_, p| tensors.push(p.value.clone()));
    tensors
        .chunks(2)
        .map(|pair| (pair[0].clone(), pair[1].clone()))
        .collect()
}

/// Sets the gradients of every `Linear` of a model (weights and biases in order).
fn set_linear_grads(model: &mut dyn Layer, grads: &[(Tensor, Tensor)]) {
    let flat: Vec<&Tensor> = grads.iter().flat_map(|(w, b)| [w, b]).collect();
    let mut i = 0;
    model.visit_params(&mut |_, p| {
        p.grad = flat[i].clone();
        i += 1;
    });
}

#[test]
fn optimizer_kernels_match_the_cpu_optimizers_bit_for_bit() {
    let Some((_lock, gpu)) = gpu_or_skip("optimizer_kernels_match_the_cpu_optimizers_bit_for_bit")
    else {
        return;
    };
    let sgd_configs = [
        SgdConfig {
            lr: 0.1,
            momentum: 0.0,
            weight_decay: 0.0,
            nesterov: false,
        },
        SgdConfig {
            lr: 0.05,
            momentum: 0.9,
            weight_decay: 0.0,
            nesterov: false,
        },
        SgdConfig {
            lr: 0.05,
            momentum: 0.9,
            weight_decay: 1e-3,
            nesterov: true,
        },
    ];
    let adam_configs = [
        AdamConfig {
            lr: 1e-3,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.0,
            decoupled: false,
        },
        AdamConfig {
            lr: 1e-2,
            beta1: 0.8,
            beta2: 0.99,
            eps: 1e-6,
            weight_decay: 0.1,
            decoupled: false,
        },
        AdamConfig {
            lr: 1e-2,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.05,
            decoupled: true,
        },
    ];
    let optimizers: Vec<(String, GpuOptimizer, Box<dyn Optimizer>)> = sgd_configs
        .iter()
        .map(|c| {
            let mut cpu = Sgd::new(c.lr)
                .momentum(c.momentum)
                .weight_decay(c.weight_decay);
            if c.nesterov {
                cpu = cpu.nesterov();
            }
            (
                format!("{c:?}"),
                GpuOptimizer::Sgd(*c),
                Box::new(cpu) as Box<dyn Optimizer>,
            )
        })
        .chain(adam_configs.iter().map(|c| {
            let cpu: Box<dyn Optimizer> = if c.decoupled {
                Box::new(
                    AdamW::new(c.lr)
                        .betas(c.beta1, c.beta2)
                        .eps(c.eps)
                        .weight_decay(c.weight_decay),
                )
            } else {
                Box::new(
                    Adam::new(c.lr)
                        .betas(c.beta1, c.beta2)
                        .eps(c.eps)
                        .weight_decay(c.weight_decay),
                )
            };
            (format!("{c:?}"), GpuOptimizer::Adam(*c), cpu)
        }))
        .collect();
    for (name, gpu_optimizer, mut cpu_optimizer) in optimizers {
        let mut rng = Rng::new(20);
        // A 7 → 5 linear layer: 35 + 5 parameters, awkward sizes.
        let mut cpu_layer = Linear::new(7, 5, &mut rng);
        let params = linear_params(&mut cpu_layer);
        let (weight, bias) = &params[0];
        let mut w = gpu.upload(weight.data()).unwrap();
        let mut b = gpu.upload(bias.data()).unwrap();
        let mut state: Vec<_> = [35, 35, 5, 5]
            .iter()
            .map(|&n| gpu.zeros::<f32>(n).unwrap())
            .collect();
        for step in 1..=4u64 {
            let grads = vec![(
                Tensor::randn(&[5, 7], 0.0, 0.5, &mut rng),
                Tensor::randn(&[5], 0.0, 0.5, &mut rng),
            )];
            set_linear_grads(&mut cpu_layer, &grads);
            cpu_optimizer.step(&mut cpu_layer);
            let gw = gpu.upload(grads[0].0.data()).unwrap();
            let gb = gpu.upload(grads[0].1.data()).unwrap();
            let [s0, s1, s2, s3] = &mut state[..] else {
                unreachable!()
            };
            match &gpu_optimizer {
                GpuOptimizer::Sgd(c) => {
                    gpu.sgd_step(&mut w, &gw, s0, c).unwrap();
                    gpu.sgd_step(&mut b, &gb, s2, c).unwrap();
                }
                GpuOptimizer::Adam(c) => {
                    gpu.adam_step(&mut w, &gw, s0, s1, c, step).unwrap();
                    gpu.adam_step(&mut b, &gb, s2, s3, c, step).unwrap();
                }
            }
            let expected = linear_params(&mut cpu_layer);
            // Both sides do the same f32 operations in the same order with IEEE rounding (the
            // kernels use .rn arithmetic, which the assembler may not fuse): bit for bit.
            assert_close(
                &format!("{name}: weight after step {step}"),
                &[5, 7],
                &w.to_vec().unwrap(),
                expected[0].0.data(),
                Tolerance::EXACT,
            );
            assert_close(
                &format!("{name}: bias after step {step}"),
                &[5],
                &b.to_vec().unwrap(),
                expected[0].1.data(),
                Tolerance::EXACT,
            );
        }
    }
}

/// A synthetic classification set: x ~ N(0, 1) in `features` dimensions, labels = argmax of a
/// fixed random linear "teacher", so there is something to learn.
fn teacher_data(
    rows: usize,
    features: usize,
    classes: usize,
    rng: &mut Rng,
) -> (Tensor, Vec<usize>) {
    let teacher = Tensor::randn(&[classes, features], 0.0, 1.0, rng);
    let x = Tensor::randn(&[rows, features], 0.0, 1.0, rng);
    let mut scores = vec![0.0f32; rows * classes];
    dlfs::linalg::gemm_nt(
        rows,
        classes,
        features,
        x.data(),
        teacher.data(),
        &mut scores,
        0.0,
    );
    let labels = Tensor::from_vec(&[rows, classes], scores).argmax_rows();
    (x, labels)
}

/// Trains the same MLP on the CPU (nn::Sequential, loss::cross_entropy, optim) and on the GPU
/// (GpuMlp) with the same initial weights and the same batches, comparing every step.
fn train_on_both(
    gpu: &Gpu,
    gpu_optimizer: GpuOptimizer,
    mut cpu_optimizer: Box<dyn Optimizer>,
    steps: usize,
) {
    let mut rng = Rng::new(21);
    let (features, hidden, classes) = (12, 40, 5);
    let (x, labels) = teacher_data(200, features, classes, &mut rng);
    let mut cpu_model = Sequential::new(vec![
        Box::new(Linear::new(features, hidden, &mut rng)),
        Box::new(Relu::new()),
        Box::new(Linear::new(hidden, hidden, &mut rng)),
        Box::new(Relu::new()),
        Box::new(Linear::new(hidden, classes, &mut rng)),
    ]);
    let mut gpu_model = GpuMlp::new(gpu, &linear_params(&mut cpu_model), 64).unwrap();
    let mut order: Vec<usize> = (0..x.dim(0)).collect();
    let mut start = 0;
    for step in 1..=steps {
        // Batches of 64, the last one of an epoch shorter (200 = 3·64 + 8): same rows on both.
        if start >= order.len() {
            start = 0;
            for i in (1..order.len()).rev() {
                order.swap(i, rng.below(i + 1));
            }
        }
        let end = (start + 64).min(order.len());
        let rows = &order[start..end];
        start = end;
        let xb = x.select_rows(rows);
        let yb: Vec<usize> = rows.iter().map(|&r| labels[r]).collect();

        zero_grad(&mut cpu_model);
        let logits = cpu_model.forward(&xb, Mode::Train);
        let cpu_loss = loss::cross_entropy(&logits, &yb, Reduction::Mean);
        cpu_model.backward(&cpu_loss.grad);
        let cpu_grads = {
            let mut g = Vec::new();
            cpu_model.visit_params(&mut |_, p| g.push(p.grad.clone()));
            g
        };
        cpu_optimizer.step(&mut cpu_model);

        gpu_model.forward(&xb).unwrap();
        let gpu_loss = gpu_model.loss(&yb).unwrap();
        gpu_model.backward().unwrap();
        let gpu_grads = gpu_model.gradients().unwrap();
        gpu_model.step(&gpu_optimizer).unwrap();

        // GEMMs sum in a different order on the two devices and the GPU's exp is approximate:
        // agreement to about 1e-6 relative per step, growing slowly with the steps.
        let what = format!("{gpu_optimizer:?}, step {step} (batch of {})", rows.len());
        assert_close(
            &format!("loss, {what}"),
            &[1],
            &[gpu_loss],
            &[cpu_loss.value],
            Tolerance::new(1e-5, 1e-4),
        );
        for (l, (gw, gb)) in gpu_grads.iter().enumerate() {
            assert_close(
                &format!("layer {l} weight gradient, {what}"),
                gw.shape(),
                gw.data(),
                cpu_grads[2 * l].data(),
                Tolerance::new(1e-5, 1e-3),
            );
            assert_close(
                &format!("layer {l} bias gradient, {what}"),
                gb.shape(),
                gb.data(),
                cpu_grads[2 * l + 1].data(),
                Tolerance::new(1e-5, 1e-3),
            );
        }
        let cpu_params = linear_params(&mut cpu_model);
        for (l, ((gw, gb), (cw, cb))) in gpu_model
            .parameters()
            .unwrap()
            .iter()
            .zip(&cpu_params)
            .enumerate()
        {
            assert_close(
                &format!("layer {l} weight, {what}"),
                cw.shape(),
                gw.data(),
                cw.data(),
                Tolerance::new(1e-5, 1e-4),
            );
            assert_close(
                &format!("layer {l} bias, {what}"),
                cb.shape(),
                gb.data(),
                cb.data(),
                Tolerance::new(1e-5, 1e-4),
            );
        }
        if step == 1 || step == steps {
            println!(
                "{what}: loss CPU {:.6}, GPU {:.6}",
                cpu_loss.value, gpu_loss
            );
        }
    }
    // Training must have done something: the GPU model predicts better than chance (1/5).
    let predictions = gpu_model.predict(&x).unwrap();
    let accuracy = predictions
        .iter()
        .zip(&labels)
        .filter(|(p, l)| p == l)
        .count() as f64
        / labels.len() as f64;
    println!("GPU model accuracy after {steps} steps: {accuracy:.3}");
    assert!(accuracy > 0.4, "accuracy {accuracy} after {steps} steps");
}

#[test]
fn mlp_training_matches_the_cpu_step_by_step_with_sgd() {
    let Some((_lock, gpu)) = gpu_or_skip("mlp_training_matches_the_cpu_step_by_step_with_sgd")
    else {
        return;
    };
    let config = SgdConfig {
        lr: 0.1,
        momentum: 0.9,
        weight_decay: 0.0,
        nesterov: false,
    };
    train_on_both(
        &gpu,
        GpuOptimizer::Sgd(config),
        Box::new(Sgd::new(0.1).momentum(0.9)),
        20,
    );
}

#[test]
fn mlp_training_matches_the_cpu_step_by_step_with_adam() {
    let Some((_lock, gpu)) = gpu_or_skip("mlp_training_matches_the_cpu_step_by_step_with_adam")
    else {
        return;
    };
    let config = AdamConfig {
        lr: 1e-2,
        beta1: 0.9,
        beta2: 0.999,
        eps: 1e-8,
        weight_decay: 0.0,
        decoupled: false,
    };
    train_on_both(
        &gpu,
        GpuOptimizer::Adam(config),
        Box::new(Adam::new(1e-2)),
        12,
    );
}

#[test]
fn freed_buffers_give_their_memory_back() {
    let Some((_lock, gpu)) = gpu_or_skip("freed_buffers_give_their_memory_back") else {
        return;
    };
    // Compile the kernels and run one first: the driver reserves memory for them once.
    gpu.load_kernels().unwrap();
    let mut probe = gpu.zeros::<f32>(1024).unwrap();
    gpu.relu_forward_in_place(&mut probe, 1024).unwrap();
    gpu.synchronize().unwrap();
    drop(probe);
    let (free_before, total) = gpu.memory_info().unwrap();
    let size: usize = 64 << 20; // 64 Mi floats = 256 MiB
    {
        let buffers: Vec<_> = (0..4)
            .map(|_| gpu.zeros::<f32>(size / 4).unwrap())
            .collect();
        let (free_during, _) = gpu.memory_info().unwrap();
        println!(
            "free memory: {} MiB before, {} MiB with 256 MiB allocated (of {} MiB)",
            free_before >> 20,
            free_during >> 20,
            total >> 20
        );
        assert!(
            free_before - free_during >= 4 * (size / 4) * 4,
            "allocating 256 MiB must lower free memory by at least that much"
        );
        drop(buffers);
    }
    {
        // A trained model's buffers too.
        let mut rng = Rng::new(3);
        let layers = vec![
            (
                Tensor::randn(&[64, 32], 0.0, 0.1, &mut rng),
                Tensor::zeros(&[64]),
            ),
            (
                Tensor::randn(&[10, 64], 0.0, 0.1, &mut rng),
                Tensor::zeros(&[10]),
            ),
        ];
        let mut mlp = GpuMlp::new(&gpu, &layers, 256).unwrap();
        let x = Tensor::randn(&[256, 32], 0.0, 1.0, &mut rng);
        let labels: Vec<usize> = (0..256).map(|i| i % 10).collect();
        let sgd = GpuOptimizer::Sgd(SgdConfig {
            lr: 0.1,
            momentum: 0.9,
            weight_decay: 0.0,
            nesterov: false,
        });
        mlp.train_step(&x, &labels, &sgd).unwrap();
    }
    gpu.synchronize().unwrap();
    let (free_after, _) = gpu.memory_info().unwrap();
    println!(
        "free memory after dropping everything: {} MiB",
        free_after >> 20
    );
    // The driver allocates in 2 MiB pages; allow a few of them for its own bookkeeping.
    let slack = 8 << 20;
    assert!(
        free_after + slack >= free_before,
        "{} MiB were not given back",
        (free_before - free_after) >> 20
    );
}

#[test]
fn a_label_outside_the_classes_is_a_data_error() {
    let Some((_lock, gpu)) = gpu_or_skip("a_label_outside_the_classes_is_a_data_error") else {
        return;
    };
    let layers = vec![(Tensor::zeros(&[3, 2]), Tensor::zeros(&[3]))];
    let mut mlp = GpuMlp::new(&gpu, &layers, 4).unwrap();
    mlp.forward(&Tensor::zeros(&[2, 2])).unwrap();
    let error = mlp.loss(&[0, 3]).expect_err("label 3 of a 3-class model");
    assert!(matches!(error, dlfs::Error::Data(_)), "{error:?}");
    assert!(error.to_string().contains("label 3"), "{error}");
}

// ---- The chapter's summary (chapters/ch15_gpu.rs, included as the tour includes it) ----

#[allow(dead_code)]
#[path = "../chapters/ch15_gpu.rs"]
mod ch15;

#[test]
fn the_summary_claims_only_what_the_run_measured() {
    let cpu = vec![(64, 20.0), (512, 60.0), (2048, 130.0)];
    let no_gpu = ch15::summary(
        &ch15::SgemmFindings {
            cpu: cpu.clone(),
            gpu: Vec::new(),
        },
        &ch15::MlpFindings {
            cpu_rate: 30_000.0,
            gpu_rate: None,
        },
    );
    assert!(no_gpu.contains("no GPU"), "{no_gpu}");
    assert!(no_gpu.contains("130.0 GFLOPS (n = 2048)"), "{no_gpu}");
    assert!(
        !no_gpu.contains('×') && !no_gpu.contains("crossover") && !no_gpu.contains("faster"),
        "no speed-up or crossover without a GPU: {no_gpu}"
    );

    let with_gpu = ch15::summary(
        &ch15::SgemmFindings {
            cpu,
            gpu: vec![
                (64, 5.0, 1.0),
                (512, 900.0, 100.0),
                (2048, 13_000.0, 2_600.0),
            ],
        },
        &ch15::MlpFindings {
            cpu_rate: 30_000.0,
            gpu_rate: Some(300_000.0),
        },
    );
    for expected in [
        "at n = 2048 the GPU's SGEMM kernel ran 100.0× the CPU's speed",
        "(20.0× counting",
        "the kernel alone beat the CPU from n = 512 on, with copies from n = 512 on",
        "(10.0×)",
        "holds here",
    ] {
        assert!(with_gpu.contains(expected), "{expected:?} in:\n{with_gpu}");
    }
}
