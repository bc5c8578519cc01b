//! The machine's measured peak: a loop of nothing but independent fused multiply-adds on registers.
//!
//! A matrix product can never beat the rate at which the CPU does multiply-adds, so "% of peak" is
//! the honest yardstick for a GEMM. The theoretical peak is
//! `cores × FMA units × lanes × 2 flops × clock`, e.g. Zen 4: 1 zmm FMA per cycle (two 256-bit
//! pipes) × 16 lanes × 2 × 3.6 GHz ≈ 115 GFLOPS per core. Measuring it instead of computing it
//! accounts for the real clock (turbo, a virtual machine's share), and uses the same instructions as
//! the kernel: each loop below keeps 12–16 independent accumulators (more than the FMA latency × the
//! number of pipes) and does `acc = acc · x + y` on all of them, so it runs at the FMA throughput.
//!
//! What it leaves out: memory. A GEMM also has to load its operands; the gap between this number and
//! the GEMM's speed is the cost of everything except the multiply-adds.

use super::Kernel;
use crate::parallel;
use std::hint::black_box;
use std::time::Instant;

/// Repetitions of the inner loop per timed run (each does 12–16 vector FMAs): about a millisecond,
/// short enough that some runs finish without the operating system pausing the thread.
const ITERATIONS: usize = 300_000;

/// Timed runs; the fastest is the peak (anything slower was disturbed, never faster than the CPU).
const RUNS: usize = 15;

/// The measured peak in GFLOPS of `kernel`'s instructions on `threads` cores at once (the best of 15
/// runs of about a millisecond each). Panics if the CPU does not support `kernel`.
pub fn measure_peak_gflops(kernel: Kernel, threads: usize) -> f64 {
    assert!(
        kernel.is_supported(),
        "measure_peak_gflops: this CPU cannot run the {} kernel",
        kernel.name()
    );
    let threads = threads.max(1);
    black_box(fma_loop(kernel, ITERATIONS));
    (0..RUNS)
        .map(|_| {
            let start = Instant::now();
            parallel::parallel_for(threads, |_| {
                black_box(fma_loop(kernel, ITERATIONS));
            });
            let seconds = start.elapsed().as_secs_f64();
            (threads * ITERATIONS * flops_per_iteration(kernel)) as f64 / seconds / 1e9
        })
        .fold(0.0, f64::max)
}

/// Floating-point operations per iteration of [`fma_loop`] (accumulators × lanes × 2).
fn flops_per_iteration(kernel: Kernel) -> usize {
    match kernel {
        Kernel::Scalar => 16 * 2,
        Kernel::Avx2 => 12 * 8 * 2,
        Kernel::Avx512 => 12 * 16 * 2,
        Kernel::Neon => 16 * 4 * 2,
    }
}

/// Runs the FMA loop for `kernel`'s instruction set; returns a value that depends on every FMA.
fn fma_loop(kernel: Kernel, iterations: usize) -> f32 {
    match kernel {
        Kernel::Scalar => scalar_loop(iterations),
        // SAFETY: `measure_peak_gflops` checked that the CPU supports the kernel's instructions.
        #[cfg(target_arch = "x86_64")]
        Kernel::Avx2 => unsafe { x86::avx2_loop(iterations) },
        // SAFETY: as above.
        #[cfg(target_arch = "x86_64")]
        Kernel::Avx512 => unsafe { x86::avx512_loop(iterations) },
        // SAFETY: as above.
        #[cfg(target_arch = "aarch64")]
        Kernel::Neon => unsafe { arm::neon_loop(iterations) },
        #[allow(unreachable_patterns)]
        _ => unreachable!("unsupported kernels are refused above"),
    }
}

/// 16 independent scalar multiply-adds (not fused: see `kernel_scalar`).
fn scalar_loop(iterations: usize) -> f32 {
    let x = black_box(0.999_999f32);
    let y = black_box(1e-7f32);
    let mut acc = [black_box(1.0f32); 16];
    for _ in 0..iterations {
        for value in acc.iter_mut() {
            *value = *value * x + y;
        }
    }
    acc.iter().sum()
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::{
        _mm256_add_ps, _mm256_fmadd_ps, _mm256_set1_ps, _mm256_storeu_ps, _mm512_add_ps,
        _mm512_fmadd_ps, _mm512_reduce_add_ps, _mm512_set1_ps,
    };
    use std::hint::black_box;

    /// 12 independent zmm FMAs per iteration.
    ///
    /// # Safety
    /// The CPU must support AVX-512F.
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn avx512_loop(iterations: usize) -> f32 {
        let x = _mm512_set1_ps(black_box(0.999_999));
        let y = _mm512_set1_ps(black_box(1e-7));
        let mut acc = [_mm512_set1_ps(black_box(1.0)); 12];
        for _ in 0..iterations {
            for value in acc.iter_mut() {
                *value = _mm512_fmadd_ps(*value, x, y);
            }
        }
        let total = acc
            .iter()
            .fold(_mm512_set1_ps(0.0), |s, &v| _mm512_add_ps(s, v));
        _mm512_reduce_add_ps(total)
    }

    /// 12 independent ymm FMAs per iteration.
    ///
    /// # Safety
    /// The CPU must support AVX2 and FMA.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn avx2_loop(iterations: usize) -> f32 {
        let x = _mm256_set1_ps(black_box(0.999_999));
        let y = _mm256_set1_ps(black_box(1e-7));
        let mut acc = [_mm256_set1_ps(black_box(1.0)); 12];
        for _ in 0..iterations {
            for value in acc.iter_mut() {
                *value = _mm256_fmadd_ps(*value, x, y);
            }
        }
        let total = acc
            .iter()
            .fold(_mm256_set1_ps(0.0), |s, &v| _mm256_add_ps(s, v));
        let mut lanes = [0.0f32; 8];
        // SAFETY: `lanes` has room for the 8 floats of a ymm register.
        unsafe { _mm256_storeu_ps(lanes.as_mut_ptr(), total) };
        lanes.iter().sum()
    }
}

#[cfg(target_arch = "aarch64")]
mod arm {
    use std::arch::aarch64::{vaddq_f32, vaddvq_f32, vdupq_n_f32, vfmaq_f32};
    use std::hint::black_box;

    /// 16 independent q-register FMAs per iteration.
    ///
    /// # Safety
    /// The CPU must support NEON.
    #[target_feature(enable = "neon")]
    pub(super) unsafe fn neon_loop(iterations: usize) -> f32 {
        let x = vdupq_n_f32(black_box(0.999_999));
        let y = vdupq_n_f32(black_box(1e-7));
        let mut acc = [vdupq_n_f32(black_box(1.0)); 16];
        for _ in 0..iterations {
            for value in acc.iter_mut() {
                *value = vfmaq_f32(y, *value, x);
            }
        }
        let total = acc.iter().fold(vdupq_n_f32(0.0), |s, &v| vaddq_f32(s, v));
        vaddvq_f32(total)
    }
}
