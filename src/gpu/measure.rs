//! Measurements of the GPU's costs and speed, shared by chapter 15 and `bench gpu`.
//!
//! - [`launch_latency`]: what one kernel launch costs, queued back to back and as a round trip.
//! - [`copy_time`]: host → device and device → host copies of a given size.
//! - [`time_sgemm`]: GFLOPS of [`Gpu::gemm`], the kernel alone (timed with GPU events) and with
//!   the copies a CPU program would add (upload A and B, download C).
//!
//! Every figure is the median of several runs after one warm-up run (the first launch of a kernel
//! and the first touch of fresh memory cost extra). Inputs are random, never zeros.

use super::buffer::DeviceBuffer;
use super::device::Gpu;
use super::gemm::{DeviceMatMut, DeviceMatRef, plan_gemm};
use crate::error::Result;
use crate::probability::Rng;
use std::time::Instant;

/// The median of `values` (sorted in place). NaN for an empty slice.
pub fn median(values: &mut [f64]) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// The cost of launching a kernel, in microseconds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LaunchLatency {
    /// Launches queued back to back: host time per launch (the GPU overlaps them).
    pub queued_us: f64,
    /// One launch followed by waiting for it (`cuLaunchKernel` + `cuCtxSynchronize`), median.
    pub round_trip_us: f64,
}

/// Measures [`LaunchLatency`] with the `empty` kernel: `launches` back to back, and `round_trips`
/// single launches each waited for.
pub fn launch_latency(gpu: &Gpu, launches: usize, round_trips: usize) -> Result<LaunchLatency> {
    gpu.launch_empty()?;
    gpu.synchronize()?;
    let start = Instant::now();
    for _ in 0..launches {
        gpu.launch_empty()?;
    }
    gpu.synchronize()?;
    let queued_us = start.elapsed().as_secs_f64() * 1e6 / launches.max(1) as f64;
    let mut trips = Vec::with_capacity(round_trips);
    for _ in 0..round_trips.max(1) {
        let start = Instant::now();
        gpu.launch_empty()?;
        gpu.synchronize()?;
        trips.push(start.elapsed().as_secs_f64() * 1e6);
    }
    Ok(LaunchLatency {
        queued_us,
        round_trip_us: median(&mut trips),
    })
}

/// Median seconds to copy `floats` values host → device and device → host (`runs` each).
pub fn copy_time(gpu: &Gpu, floats: usize, runs: usize) -> Result<(f64, f64)> {
    let mut rng = Rng::new(7);
    let host: Vec<f32> = (0..floats).map(|_| rng.uniform(-1.0, 1.0)).collect();
    let mut back = vec![0.0f32; floats];
    let mut device: DeviceBuffer<f32> = gpu.zeros(floats)?;
    device.write(0, &host)?;
    device.read(0, &mut back)?;
    let (mut up, mut down) = (Vec::new(), Vec::new());
    for _ in 0..runs.max(1) {
        let start = Instant::now();
        device.write(0, &host)?;
        gpu.synchronize()?;
        up.push(start.elapsed().as_secs_f64());
        let start = Instant::now();
        device.read(0, &mut back)?;
        down.push(start.elapsed().as_secs_f64());
    }
    Ok((median(&mut up), median(&mut down)))
}

/// How fast one GEMM shape ran.
#[derive(Clone, Debug, PartialEq)]
pub struct SgemmTiming {
    /// The kernel [`Gpu::gemm`] chose.
    pub kernel: &'static str,
    /// Median kernel time in milliseconds (GPU events).
    pub kernel_ms: f64,
    /// Median time including the uploads of A and B and the download of C (host clock).
    pub with_copies_ms: f64,
    /// 2·M·N·K: the floating-point operations of one product.
    pub flops: f64,
}

impl SgemmTiming {
    /// GFLOPS of the kernel alone.
    pub fn gflops(&self) -> f64 {
        self.flops / (self.kernel_ms * 1e-3) / 1e9
    }

    /// GFLOPS counting the copies.
    pub fn gflops_with_copies(&self) -> f64 {
        self.flops / (self.with_copies_ms * 1e-3) / 1e9
    }
}

/// Views of A (`m × k`, or stored `k × m` and transposed) and B (`k × n`, or stored `n × k`).
fn operand_views<'a>(
    a: &'a DeviceBuffer<f32>,
    b: &'a DeviceBuffer<f32>,
    m: usize,
    n: usize,
    k: usize,
    a_transposed: bool,
    b_transposed: bool,
) -> (DeviceMatRef<'a>, DeviceMatRef<'a>) {
    let av = if a_transposed {
        DeviceMatRef::new(a, k, m).t()
    } else {
        DeviceMatRef::new(a, m, k)
    };
    let bv = if b_transposed {
        DeviceMatRef::new(b, n, k).t()
    } else {
        DeviceMatRef::new(b, k, n)
    };
    (av, bv)
}

/// Times `C = A·B` (`a_transposed`/`b_transposed` choose `Aᵀ`/`Bᵀ` stored) for an `m × k` by
/// `k × n` product on random data: `runs` timed kernels after a warm-up, and `copy_runs` timed
/// round trips with copies (0 to skip them; `with_copies_ms` is then NaN). With `strided`, the
/// general kernel runs instead of the one [`Gpu::gemm`] would choose.
#[allow(clippy::too_many_arguments)]
pub fn time_sgemm(
    gpu: &Gpu,
    m: usize,
    n: usize,
    k: usize,
    a_transposed: bool,
    b_transposed: bool,
    strided: bool,
    runs: usize,
    copy_runs: usize,
) -> Result<SgemmTiming> {
    let mut rng = Rng::new((m * 31 + n * 17 + k) as u64);
    let host_a: Vec<f32> = (0..m * k).map(|_| rng.uniform(-1.0, 1.0)).collect();
    let host_b: Vec<f32> = (0..k * n).map(|_| rng.uniform(-1.0, 1.0)).collect();
    let mut host_c = vec![0.0f32; m * n];
    let mut a = gpu.upload(&host_a)?;
    let mut b = gpu.upload(&host_b)?;
    let mut c: DeviceBuffer<f32> = gpu.zeros(m * n)?;
    let run = |a: &DeviceBuffer<f32>, b: &DeviceBuffer<f32>, c: &mut DeviceBuffer<f32>| {
        let (av, bv) = operand_views(a, b, m, n, k, a_transposed, b_transposed);
        let cv = DeviceMatMut::new(c, m, n);
        if strided {
            gpu.gemm_strided(1.0, av, bv, 0.0, cv)
        } else {
            gpu.gemm(1.0, av, bv, 0.0, cv)
        }
    };
    let kernel = if strided {
        "sgemm_strided"
    } else {
        let (av, bv) = operand_views(&a, &b, m, n, k, a_transposed, b_transposed);
        plan_gemm(av, bv, &DeviceMatMut::new(&mut c, m, n)).kernel
    };
    run(&a, &b, &mut c)?;
    gpu.synchronize()?;
    let mut kernel_ms = Vec::new();
    for _ in 0..runs.max(1) {
        kernel_ms.push(f64::from(gpu.time_ms(|| run(&a, &b, &mut c))?));
    }
    let mut with_copies = Vec::new();
    for _ in 0..copy_runs {
        let start = Instant::now();
        a.write(0, &host_a)?;
        b.write(0, &host_b)?;
        run(&a, &b, &mut c)?;
        c.read(0, &mut host_c)?;
        with_copies.push(start.elapsed().as_secs_f64() * 1e3);
    }
    Ok(SgemmTiming {
        kernel,
        kernel_ms: median(&mut kernel_ms),
        with_copies_ms: median(&mut with_copies),
        flops: 2.0 * m as f64 * n as f64 * k as f64,
    })
}
