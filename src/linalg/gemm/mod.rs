//! GEMM, the general matrix multiply: `C = α·A·B + β·C`, packed, SIMD, multi-threaded.
//!
//! Every layer's heavy math goes through [`gemm`]: a fully connected layer is one GEMM, a convolution
//! becomes one after im2col, an LSTM does one per time step. The matrices are strided views
//! ([`MatRef`], [`MatMut`]): element `(i, j)` of a view lives at `data[i * row_stride + j * col_stride]`,
//! so a transpose ([`MatRef::t`]) just swaps the two strides and costs nothing — the packing step
//! below reads any strides, so `Aᵀ·B` and `A·Bᵀ` run as fast as `A·B`. Chapter 2 explains how it is
//! built, step by step ([`steps`]).
//!
//! # The algorithm (Goto & van de Geijn 2008, the BLIS "five loops")
//! A matrix product does `2·m·n·k` floating-point operations on only `m·k + k·n + m·n` numbers, so
//! each number can be reused many times — if it is close to the arithmetic units when it is needed.
//! The code arranges the work so that it is:
//!
//! ```text
//! for jc in 0..n step NC                      B's columns, NC at a time
//!   for pc in 0..k step KC                    the sum, KC terms at a time
//!     pack B[pc.., jc..] (KC × NC) → B̃        L2-sized, in NR-wide column panels
//!     for ic in 0..m step MR                  A's rows, MR at a time: an MR × KC panel of A
//!       for jr in 0..NC step NR
//!         microkernel: C[ic.., jc+jr..] (MR × NR) = α·A·B̃[jr] + β·C   (C kept in registers)
//! ```
//!
//! *Packing* copies a block of B into a contiguous buffer in exactly the order the microkernel reads
//! it, padded with zeros to whole panels. This is where strides, transposes and ragged edges are
//! dealt with, once per block (`O(k·n)` work), so the microkernel (`O(m·n·k)` work) sees full,
//! contiguous panels and has no slow path for edges.
//!
//! The *microkernel* holds an `MR × NR` tile of C in vector registers for the whole `KC`-long sum:
//! each step loads one row of `NR` values of B̃ (a few vectors), broadcasts each of the `MR` values of
//! A's column and does `MR · NR / lanes` fused multiply-adds. Only at the end is the tile written to C,
//! as `α·acc + β·C` (with `β = 0` C is never read, so NaN or garbage in C is ignored, as BLAS does).
//! Rows and columns past the edge of C are computed on the zero padding and simply not stored
//! (masked stores, or a copy through a small buffer when C's columns are not contiguous).
//!
//! # Packing, or not
//! The textbook also packs A, into `MR × KC` micro-panels. Here the kernel reads A's panel with its
//! own strides instead (it broadcasts one value per row and step, from wherever it is), so a panel of
//! a row-major A — the usual case — is read in place, and only ragged last panels (fewer than MR
//! rows, padded with zeros), transposed and oddly strided views are packed. Packing a row-major A
//! means a transposition, and measured on the reference machine it cost 5–13 % of the time at
//! 512³ (0.3–0.5 ns per element against 0.018 ns per multiply-add); reading in place costs nothing,
//! since each panel is only 6 KiB and stays in L1/L2 across the `jr` loop.
//!
//! A *transposed* A (`Aᵀ·B`, a weight gradient `dYᵀ·X`) is the opposite case: packing it is a plain
//! copy of MR contiguous floats per step, while reading it in place touches a new cache line at
//! every step of the sum, `m` floats after the last. With `m` a power of two (128, 512) those lines
//! fall into a handful of L1 sets (a stride of 2 KiB: 2 of the 64 sets), so the 256 lines of one
//! panel cannot stay in L1 for the `jr` loop that reuses them. Measured on chapter 16's GPT weight
//! gradients (768 terms, 2 threads, operands cold): packing made three of the four products
//! 11–19 % faster and left the fourth unchanged. A small transposed A whose panel lies within 32 KiB
//! (an attention head's `Pᵀ·dO`, 64 × 64) has no such conflicts and is still read in place.
//!
//! B is packed for the opposite reason: its panels are reused by every panel of A, and the packed
//! B̃ block is contiguous, which keeps it in L2 and the TLB. For a small piece of A (at most 256
//! rows) that reuse is too small to pay for the copy, and a row-major B that fits in half of L2 is
//! read in place too.
//!
//! # Block sizes (for the reference machine: Zen 4, L1d 32 KiB, L2 1 MiB per core, L3 32 MiB shared)
//! The AVX-512 kernel is 6 × 64 (24 of the 32 zmm registers hold C). With `KC = 256`:
//! - A's panel, `MR × KC` = 6 × 256 floats = 6 KiB, is reused by every microkernel call of the `jr`
//!   loop: it stays in **L1** (32 KiB) or at worst L2 next to the B̃ rows streaming through.
//! - B̃, `KC × NC` = 256 × 512 floats = 512 KiB, is reused by every panel of A: it sits in **L2**
//!   (1 MiB), leaving half of L2 for C tiles and the rows of A. Each microkernel call reads its
//!   64 KiB B̃ panel from L2 at 256 bytes per 24 FMA cycles (≈ 11 B/cycle, well below Zen 4's
//!   32 B/cycle L2 → L1 bandwidth), sequentially, which the hardware prefetcher follows.
//! - A itself streams from **L3** or memory, each element read once per `jc` block; the next panel
//!   is prefetched while the kernel works on this one.
//! - `KC = 256` makes each microkernel call long (256 steps of 24 FMAs) compared with its fixed cost of
//!   reading and writing the 6 × 64 tile of C (< 1 % overhead), and C is re-read only `k / 256` times.
//!
//! This is the classic loop order with the roles of the caches of A and B exchanged, which suits a
//! short-and-wide (6 × 64) kernel: its wide B panel would not fit in L1 with a useful KC, its short A
//! panel does. There is no `MC` block: A is not packed, so there is nothing to size for L2 on its
//! side. Each kernel carries its own block sizes; see the kernel files.
//!
//! # Few columns: the narrow kernel and the transposed product
//! A convolution's im2col product has many rows and few columns (50176 × 75 × 6 for LeNet's first
//! layer on a batch of 64): padding n = 6 up to NR = 64 would waste 90 % of the work. Two ways out:
//! - a *narrow* kernel (AVX-512: 8 × 16, one vector per row; AVX2: 8 × 8) wastes less on small n;
//! - `C = A·B` and `Cᵀ = Bᵀ·Aᵀ` are the same product, and the transposed one (a swap of strides,
//!   free with views) has n and m exchanged. It is not quite free, though: A becomes a transposed
//!   B̃ to pack (8–16 multiply-adds' worth per element) and a row-major C a tile with contiguous
//!   *columns*, which the kernel writes through an in-register transpose.
//!
//! [`gemm`] picks the kernel and orientation that minimise the padded work plus that packing cost.
//! On Zen 4 the AVX-512 narrow kernel runs as fast as the wide one on full tiles (measured: both
//! ~113 GFLOPS with their operands in cache; 97–102 on 512³–2048³ products), so it is also chosen
//! whenever it merely pads less — for instance for every power of two, which 6 does not divide.
//! The 50176 × 75 × 6 product is then memory-bound: its A (15 MB) is read once, in place, at about
//! 0.6 bytes per flop; with 6 useful columns of 16 the kernel still outruns the memory. Not
//! materialising the im2col matrix at all (a direct convolution) is the real cure, left to the
//! convolution layer.
//!
//! # Few rows and long sums: the inner-product form
//! When C has at most 8 rows (or columns), each sum has 128 terms or more, and A's rows and B's
//! columns are contiguous — `A·Bᵀ` with both row-major, the layout of a convolution's weight
//! gradient `dY·colsᵀ` (6 × 75 with 896 terms per image for LeNet's first layer) and of a batch-1
//! layer `x·Wᵀ` — packing B would cost more than the arithmetic it feeds. The AVX-512 kernel then
//! computes each element as one dot product straight from memory (`dot.rs`; measured on the
//! 6 × 896 × 75 product: 37 GFLOPS packed, 100 as dot products). Other kernels use the packed loops.
//!
//! # Threads
//! The `m` (or `n`) dimension is cut into as many contiguous pieces as there are threads, at
//! multiples of MR (or NR), and each piece is one task on the pool of [`crate::parallel`]: each thread
//! packs its own blocks and writes its own part of C. The sum over `k` is never split, and every element
//! of C is computed by the same sequence of FMAs whatever the piece it is in (packing or not does not
//! change the arithmetic either), so **the result is bit-identical for any thread count**. Products
//! below [`PARALLEL_MIN_FLOPS`] stay on one thread: the wake-up of a worker costs more than it saves.
//!
//! # Epilogues
//! [`gemm_epilogue`] hands each row of C to the caller's element-wise code (a bias, a residual, an
//! activation and its slope) as soon as the row's value is final, while it is still in the cache,
//! instead of a separate pass over C afterwards; see [`epilogue`].
//!
//! # Instruction sets
//! The kernel is chosen once, at the first call: the best the CPU supports (AVX-512F, else AVX2+FMA on
//! x86-64; NEON on aarch64; portable scalar code elsewhere), or the one named by the environment
//! variable `DLFS_GEMM_KERNEL` (`scalar`, `avx2`, `avx512`, `neon`). [`set_kernel`] changes it at run
//! time and [`gemm_with`] runs one product with a given kernel and thread count (tests use both).
//!
//! # What it leaves out
//! `f32` only (the int8 × int8 → int32 product of quantized inference, chapter 18, is [`int8`],
//! with its own kernels: AVX-512 VNNI, AVX2, portable); no complex numbers, no `f64`, no batched or triangular variants; no special path for
//! matrix-vector products (`n = 1` runs through the narrow kernel with padding); NEON and scalar
//! have no narrow kernel; prefetching only for A's rows on x86-64.

mod causal;
pub mod epilogue;
pub mod int8;
mod kernel_scalar;
mod pack;
mod peak;
mod shared;
pub mod steps;
mod view;

#[cfg(target_arch = "x86_64")]
mod dot;
#[cfg(target_arch = "x86_64")]
mod int8_avx2;
#[cfg(target_arch = "x86_64")]
mod int8_vnni;
#[cfg(target_arch = "x86_64")]
mod kernel_avx2;
#[cfg(target_arch = "x86_64")]
mod kernel_avx512;
#[cfg(target_arch = "aarch64")]
mod kernel_neon;
#[cfg(target_arch = "x86_64")]
mod x86;

pub use causal::{Causal, gemm_causal};
pub use epilogue::{Epilogue, gemm_epilogue, gemm_epilogue_with};
pub use int8::{I8Matrix, Int8Kernel, PackedInt8, gemm_i8, gemm_i8_reference};
pub use peak::measure_peak_gflops;
pub use view::{MatMut, MatRef};

use crate::error::{Error, Result};
use crate::parallel;
use pack::{PackBuffer, pack_a, pack_b};
use std::cell::RefCell;
use std::sync::atomic::{AtomicU8, Ordering};

/// A microkernel's instruction set. Each has its own tile shape and block sizes (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kernel {
    /// Portable Rust, no intrinsics: runs everywhere (the compiler may still vectorise it).
    Scalar,
    /// x86-64 AVX2 + FMA: 256-bit vectors, 16 registers, a 6 × 16 tile.
    Avx2,
    /// x86-64 AVX-512F: 512-bit vectors, 32 registers, a 6 × 64 tile.
    Avx512,
    /// aarch64 NEON (Advanced SIMD): 128-bit vectors, 32 registers, an 8 × 12 tile.
    Neon,
}

impl Kernel {
    /// Every kernel, from the most portable to the widest.
    pub const ALL: [Kernel; 4] = [Kernel::Scalar, Kernel::Avx2, Kernel::Avx512, Kernel::Neon];

    /// The kernel's short name, as used by `DLFS_GEMM_KERNEL` and printed by the binaries.
    pub fn name(self) -> &'static str {
        match self {
            Kernel::Scalar => "scalar",
            Kernel::Avx2 => "avx2",
            Kernel::Avx512 => "avx512",
            Kernel::Neon => "neon",
        }
    }

    /// The kernel with this short name, if any.
    pub fn from_name(name: &str) -> Option<Kernel> {
        Kernel::ALL.into_iter().find(|k| k.name() == name)
    }

    /// True when this CPU can run the kernel (checked at run time).
    pub fn is_supported(self) -> bool {
        match self {
            Kernel::Scalar => true,
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx2 => {
                std::arch::is_x86_feature_detected!("avx2")
                    && std::arch::is_x86_feature_detected!("fma")
            }
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx512 => std::arch::is_x86_feature_detected!("avx512f"),
            #[cfg(target_arch = "aarch64")]
            Kernel::Neon => std::arch::is_aarch64_feature_detected!("neon"),
            #[allow(unreachable_patterns)]
            _ => false,
        }
    }

    /// The wide microkernel and its block sizes, or `None` when the CPU cannot run this kernel.
    fn microkernel(self) -> Option<&'static Microkernel> {
        if !self.is_supported() {
            return None;
        }
        match self {
            Kernel::Scalar => Some(&kernel_scalar::MICROKERNEL),
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx2 => Some(&kernel_avx2::MICROKERNEL),
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx512 => Some(&kernel_avx512::MICROKERNEL),
            #[cfg(target_arch = "aarch64")]
            Kernel::Neon => Some(&kernel_neon::MICROKERNEL),
            #[allow(unreachable_patterns)]
            _ => None,
        }
    }

    /// The narrow microkernel (fewer columns, more rows) for products with small n, if this
    /// instruction set has one.
    fn narrow_microkernel(self) -> Option<&'static Microkernel> {
        if !self.is_supported() {
            return None;
        }
        match self {
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx2 => Some(&kernel_avx2::NARROW),
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx512 => Some(&kernel_avx512::NARROW),
            _ => None,
        }
    }

    /// The microkernel's tile, `(MR, NR)`: rows × columns of C per call. Tests use it to pick the
    /// awkward sizes (multiples of the tile ± 1).
    pub fn tile(self) -> (usize, usize) {
        match self {
            Kernel::Scalar => (4, 8),
            Kernel::Avx2 => (6, 16),
            Kernel::Avx512 => (6, 64),
            Kernel::Neon => (8, 12),
        }
    }
}

/// The kernels this CPU supports, from the most portable to the widest (the last is the default).
pub fn supported_kernels() -> Vec<Kernel> {
    Kernel::ALL
        .into_iter()
        .filter(|k| k.is_supported())
        .collect()
}

/// The widest kernel this CPU supports.
pub fn best_kernel() -> Kernel {
    *supported_kernels()
        .last()
        .expect("the scalar kernel is always supported")
}

/// The kernel in use: 0 = not chosen yet, otherwise 1 + its index in [`Kernel::ALL`].
static SELECTED: AtomicU8 = AtomicU8::new(0);

/// The kernel [`gemm`] uses. Chosen once, at the first call: `DLFS_GEMM_KERNEL` if it names a kernel
/// this CPU supports (a warning is printed otherwise), else [`best_kernel`].
pub fn current_kernel() -> Kernel {
    let selected = SELECTED.load(Ordering::Relaxed);
    if selected != 0 {
        return Kernel::ALL[usize::from(selected - 1)];
    }
    let kernel = match std::env::var("DLFS_GEMM_KERNEL") {
        Ok(name) => match kernel_from_user(name.trim()) {
            Ok(kernel) => kernel,
            Err(error) => {
                eprintln!("warning: {error}; using {}", best_kernel().name());
                best_kernel()
            }
        },
        Err(_) => best_kernel(),
    };
    // Another thread may have chosen meanwhile (or `set_kernel` was called); keep whichever came first.
    match SELECTED.compare_exchange(0, code_of(kernel), Ordering::Relaxed, Ordering::Relaxed) {
        Ok(_) => kernel,
        Err(current) => Kernel::ALL[usize::from(current - 1)],
    }
}

/// The value [`SELECTED`] stores for `kernel`.
fn code_of(kernel: Kernel) -> u8 {
    let index = Kernel::ALL
        .iter()
        .position(|&k| k == kernel)
        .expect("every kernel is in Kernel::ALL");
    index as u8 + 1
}

/// Parses a kernel name given by a user and checks that this CPU supports it.
fn kernel_from_user(name: &str) -> Result<Kernel> {
    let names: Vec<&str> = supported_kernels().iter().map(|k| k.name()).collect();
    let kernel = Kernel::from_name(name).ok_or_else(|| {
        Error::usage(format!(
            "DLFS_GEMM_KERNEL={name:?} is not a kernel name; this CPU supports: {}",
            names.join(", ")
        ))
    })?;
    if !kernel.is_supported() {
        return Err(Error::usage(format!(
            "the {name} gemm kernel needs an instruction set this CPU lacks; it supports: {}",
            names.join(", ")
        )));
    }
    Ok(kernel)
}

/// Makes [`gemm`] use `kernel` from now on (for tests and benchmarks). Refuses a kernel the CPU cannot
/// run, with an error listing those it can.
pub fn set_kernel(kernel: Kernel) -> Result<()> {
    kernel_from_user(kernel.name())?;
    SELECTED.store(code_of(kernel), Ordering::Relaxed);
    Ok(())
}

/// The name of the kernel in use (printed by every binary at start).
pub fn kernel_name() -> &'static str {
    current_kernel().name()
}

/// Below this many floating-point operations (`2·m·n·k`) a product runs on one thread.
///
/// One parallel call costs about 1 µs on the reference machine while the workers are awake (`bench
/// pool`; they poll for a while after each job, see [`crate::parallel`]), and each thread then packs
/// its own blocks. `bench gemm-crossover` on the reference machine (2 cores, nothing else running):
/// splitting loses below 48³ (0.2 MFLOP, ~3 µs), gains 1.4× at 64³ (0.5 MFLOP) and 1.5× from 80³
/// on. Half a million operations is where it starts to pay.
pub const PARALLEL_MIN_FLOPS: usize = 500_000;

/// Where a microkernel writes: the top-left `rows × cols` corner (`rows ≤ MR`, `cols ≤ NR`) of a tile
/// of C whose element `(i, j)` is at `ptr + i·row_stride + j·col_stride`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct CTile {
    pub(crate) ptr: *mut f32,
    pub(crate) row_stride: usize,
    pub(crate) col_stride: usize,
    pub(crate) rows: usize,
    pub(crate) cols: usize,
}

/// What a microkernel reads of A: an `MR × kc` panel whose element `(i, p)` is at
/// `ptr + i·row_stride + p·col_stride` — either a packed buffer (strides `1, MR`) or, when A's rows
/// or columns are contiguous, A itself (see "Packing, or not" in the module docs).
#[derive(Clone, Copy, Debug)]
pub(crate) struct APanel {
    pub(crate) ptr: *const f32,
    pub(crate) row_stride: usize,
    pub(crate) col_stride: usize,
}

/// What a microkernel reads of B: a `kc × NR` panel with contiguous rows, row `p` at
/// `ptr + p·row_stride` — either a panel of the packed buffer B̃ (`row_stride = NR`) or, for small
/// products with row-major B, B itself (see "Packing, or not" in the module docs).
#[derive(Clone, Copy, Debug)]
pub(crate) struct BPanel {
    pub(crate) ptr: *const f32,
    pub(crate) row_stride: usize,
}

/// The one signature every microkernel has:
/// `kernel(kc, a, b, α, β, tile)` computes `tile = α·A·B + β·tile` (with `β = 0`, the tile is not
/// read), where `A` is an `MR × kc` panel and `B` a `kc × NR` panel.
///
/// # Safety
/// Every element `(i, p)`, `i < MR`, `p < kc` of the panel `a` must be readable, and the `NR` floats
/// of every row `p < kc` of the panel `b`; every element of the tile's `rows × cols` corner must be
/// valid to read and write, with no other thread touching it. The CPU must support the kernel's
/// instruction set.
pub(crate) type KernelFn =
    unsafe fn(kc: usize, a: APanel, b: BPanel, alpha: f32, beta: f32, c: CTile);

/// A microkernel with its tile shape and block sizes.
pub(crate) struct Microkernel {
    /// Rows of C per call (rows of A's panel).
    pub(crate) mr: usize,
    /// Columns of C per call (columns of a B̃ panel).
    pub(crate) nr: usize,
    /// Terms of the sum per packed block.
    pub(crate) kc: usize,
    /// Columns of B per packed block (a multiple of `nr`).
    pub(crate) nc: usize,
    /// The kernel itself.
    pub(crate) run: KernelFn,
    /// Its speed on full tiles, in percent of the instruction set's wide kernel (measured; used to
    /// choose between the wide and the narrow kernel).
    pub(crate) speed_percent: usize,
}

/// `C = α·A·B + β·C` for strided views. `A` is `m × k`, `B` is `k × n`, `C` is `m × n`.
///
/// When `β == 0`, C's previous contents are ignored — even NaN or infinity — as in BLAS, so C can be
/// an uninitialised-looking buffer. Uses [`current_kernel`] and all of [`parallel::num_threads`] for
/// products above [`PARALLEL_MIN_FLOPS`]. Panics (naming the three shapes) if the shapes do not fit.
pub fn gemm(alpha: f32, a: MatRef<'_>, b: MatRef<'_>, beta: f32, c: MatMut<'_>) {
    gemm_with(current_kernel(), threads_for(a, b), alpha, a, b, beta, c);
}

/// The number of threads [`gemm`] uses for `A·B`: one below [`PARALLEL_MIN_FLOPS`], all of
/// [`parallel::num_threads`] above.
fn threads_for(a: MatRef<'_>, b: MatRef<'_>) -> usize {
    let flops = 2usize
        .saturating_mul(a.rows())
        .saturating_mul(a.cols())
        .saturating_mul(b.cols());
    if flops < PARALLEL_MIN_FLOPS {
        1
    } else {
        parallel::num_threads()
    }
}

/// [`gemm`] with an explicit kernel and number of pieces the work is cut into (`threads`; the pieces
/// run on the pool, so at most [`parallel::num_threads`] at once). The result does not depend on
/// `threads`. Panics if the CPU cannot run `kernel` or the shapes do not fit.
pub fn gemm_with(
    kernel: Kernel,
    threads: usize,
    alpha: f32,
    a: MatRef<'_>,
    b: MatRef<'_>,
    beta: f32,
    c: MatMut<'_>,
) {
    gemm_finishing(kernel, threads, alpha, a, b, beta, c, None);
}

/// [`gemm_with`], with an epilogue fused into the loops when C is row-major and the product runs
/// the plain (not transposed) way, which covers the layers' products; returns whether it was (if
/// not, the caller finishes C in a separate pass, see [`epilogue`]).
#[allow(clippy::too_many_arguments)]
fn gemm_finishing(
    kernel: Kernel,
    threads: usize,
    alpha: f32,
    a: MatRef<'_>,
    b: MatRef<'_>,
    beta: f32,
    c: MatMut<'_>,
    finish: Option<epilogue::Finish<'_>>,
) -> bool {
    let (m, k, n) = (a.rows(), a.cols(), b.cols());
    assert!(
        b.rows() == k && c.rows() == m && c.cols() == n,
        "gemm: shapes A {}×{}, B {}×{}, C {}×{} do not fit C = A·B",
        a.rows(),
        a.cols(),
        b.rows(),
        b.cols(),
        c.rows(),
        c.cols()
    );
    let microkernel = kernel.microkernel().unwrap_or_else(|| {
        panic!(
            "gemm_with: the {} kernel is not supported by this CPU (supported: {:?})",
            kernel.name(),
            supported_kernels()
        )
    });
    if m == 0 || n == 0 {
        return false;
    }
    let mut c = c;
    if k == 0 || alpha == 0.0 {
        scale(beta, &mut c);
        return false;
    }
    #[cfg(target_arch = "x86_64")]
    if kernel == Kernel::Avx512 && dot::suits(a, b) {
        run_dot(threads, alpha, a, b, beta, c);
        return false;
    }
    let plan = plan(kernel, microkernel, m, k, n);
    if plan.transposed {
        run_threads(
            plan.microkernel,
            threads,
            alpha,
            b.t(),
            a.t(),
            beta,
            c.t(),
            None,
        );
        false
    } else {
        let finish = finish.filter(|_| c.col_stride() == 1);
        let fused = finish.is_some();
        run_threads(plan.microkernel, threads, alpha, a, b, beta, c, finish);
        fused
    }
}

/// How a product runs: with which microkernel, and whether as the transposed product `Cᵀ = Bᵀ·Aᵀ`.
struct Plan {
    microkernel: &'static Microkernel,
    transposed: bool,
}

/// The extra cost, in multiply-adds, of packing one element of A transposed, which the transposed
/// product `Cᵀ = Bᵀ·Aᵀ` must do (A becomes its B̃): measured on the reference machine, 0.15 ns per
/// element while A fits in L2 (about 8 multiply-adds at 0.018 ns each, 113 GFLOPS), 0.3–0.5 ns
/// when it streams from memory (16 or more).
fn transpose_cost(m: usize, k: usize) -> usize {
    const L2_FLOATS: usize = 1 << 18;
    if m.saturating_mul(k) <= L2_FLOATS / 4 {
        8
    } else {
        16
    }
}

/// Picks the microkernel (wide or narrow) and orientation that do the least work for an `m × k × n`
/// product, counting the multiply-adds spent on padding, each kernel's speed, and the cost of
/// transposing A for the transposed product (see "Few columns" in the module docs). On a tie the
/// plain product and the wide kernel win.
fn plan(kernel: Kernel, wide: &'static Microkernel, m: usize, k: usize, n: usize) -> Plan {
    let work = |microkernel: &Microkernel, rows: usize, cols: usize| {
        let (mr, nr) = (microkernel.mr, microkernel.nr);
        let padded = rows.div_ceil(mr) * mr * cols.div_ceil(nr) * nr;
        padded.saturating_mul(k).saturating_mul(100) / microkernel.speed_percent
    };
    let mut best = Plan {
        microkernel: wide,
        transposed: false,
    };
    let mut best_work = work(wide, m, n);
    for transposed in [false, true] {
        for microkernel in [Some(wide), kernel.narrow_microkernel()]
            .into_iter()
            .flatten()
        {
            let candidate = if transposed {
                work(microkernel, n, m).saturating_add(transpose_cost(m, k).saturating_mul(m * k))
            } else {
                work(microkernel, m, n)
            };
            if candidate < best_work {
                best_work = candidate;
                best = Plan {
                    microkernel,
                    transposed,
                };
            }
        }
    }
    best
}

/// `C = β·C`, with `β = 0` giving zeros even where C held NaN.
fn scale(beta: f32, c: &mut MatMut<'_>) {
    for i in 0..c.rows() {
        for j in 0..c.cols() {
            let value = if beta == 0.0 { 0.0 } else { beta * c.at(i, j) };
            c.set(i, j, value);
        }
    }
}

/// C as a raw pointer plus strides, so that threads can each write their own disjoint part.
#[derive(Clone, Copy)]
struct RawC {
    ptr: *mut f32,
    row_stride: usize,
    col_stride: usize,
}

// SAFETY: `RawC` is only shared between the tasks of one `run_threads` call, which write disjoint
// rows (or columns) of C, checked not to overlap by `no_overlap`; the `&mut` borrow of C is held for
// the whole call, so nothing else can touch C meanwhile.
unsafe impl Send for RawC {}
// SAFETY: as above — shared reads of the pointer value itself, writes only to disjoint elements.
unsafe impl Sync for RawC {}

/// True when distinct `(i, j)` of this view are distinct elements of the buffer, so that different
/// rows (and different columns) can be written by different threads at the same time.
fn no_overlap(rows: usize, cols: usize, row_stride: usize, col_stride: usize) -> bool {
    let row_major = col_stride >= 1 && row_stride >= cols.saturating_mul(col_stride);
    let col_major = row_stride >= 1 && col_stride >= rows.saturating_mul(row_stride);
    rows <= 1 && col_stride >= 1 || cols <= 1 && row_stride >= 1 || row_major || col_major
}

/// Cuts the product into `threads` pieces along m or n and runs them on the pool (each piece
/// finishing its part of C with `finish`, if given).
#[allow(clippy::too_many_arguments)]
fn run_threads(
    kernel: &Microkernel,
    threads: usize,
    alpha: f32,
    a: MatRef<'_>,
    b: MatRef<'_>,
    beta: f32,
    mut c: MatMut<'_>,
    finish: Option<epilogue::Finish<'_>>,
) {
    let (m, n) = (c.rows(), c.cols());
    let (row_stride, col_stride) = (c.row_stride(), c.col_stride());
    let raw = RawC {
        ptr: c.data_mut().as_mut_ptr(),
        row_stride,
        col_stride,
    };
    let (m_panels, n_panels) = (m.div_ceil(kernel.mr), n.div_ceil(kernel.nr));
    let mut pieces = threads.max(1).min(m_panels.max(n_panels));
    if !no_overlap(m, n, row_stride, col_stride) {
        pieces = 1;
    }
    // Split the dimension with more panels: each piece then keeps whole panels and packs less twice.
    let split_rows = m_panels >= n_panels;
    if split_rows && shared::suits(kernel, m, b, pieces) {
        shared::run(kernel, pieces, alpha, a, b, beta, raw, m, n, finish);
        return;
    }
    let (panels, step) = if split_rows {
        (m_panels, kernel.mr)
    } else {
        (n_panels, kernel.nr)
    };
    let ranges = parallel::split_range(panels, pieces);
    // Borrow the whole `RawC` (which is `Sync`), not just its pointer field (which is not).
    let raw = &raw;
    let task = |t: usize| {
        let range = &ranges[t];
        let start = range.start * step;
        let end = (range.end * step).min(if split_rows { m } else { n });
        if start >= end {
            return;
        }
        if split_rows {
            let a_part = a.block(start, 0, end - start, a.cols());
            let c_part = RawC {
                // SAFETY: `start < m`, so the offset stays inside C's buffer (the view was
                // bounds-checked when it was made).
                ptr: unsafe { raw.ptr.add(start * row_stride) },
                ..*raw
            };
            gemm_serial(
                kernel,
                alpha,
                a_part,
                b,
                beta,
                c_part,
                end - start,
                n,
                None,
                None,
                finish.map(|f| f.shifted(start, 0)),
            );
        } else {
            let b_part = b.block(0, start, b.rows(), end - start);
            let c_part = RawC {
                // SAFETY: `start < n`, as above.
                ptr: unsafe { raw.ptr.add(start * col_stride) },
                ..*raw
            };
            gemm_serial(
                kernel,
                alpha,
                a,
                b_part,
                beta,
                c_part,
                m,
                end - start,
                None,
                None,
                finish.map(|f| f.shifted(0, start)),
            );
        }
    };
    if ranges.len() <= 1 {
        task(0);
    } else {
        parallel::parallel_for(ranges.len(), task);
    }
}

/// Runs the inner-product form (see [`dot`]) on `threads` pieces of C's columns (of its rows, by
/// running the transposed product, when C has more rows than columns).
#[cfg(target_arch = "x86_64")]
fn run_dot(threads: usize, alpha: f32, a: MatRef<'_>, b: MatRef<'_>, beta: f32, c: MatMut<'_>) {
    // `Cᵀ = Bᵀ·Aᵀ` has the same contiguous rows and columns, with m and n exchanged.
    let (a, b, mut c) = if c.rows() > c.cols() {
        (b.t(), a.t(), c.t())
    } else {
        (a, b, c)
    };
    let (m, n) = (c.rows(), c.cols());
    let (row_stride, col_stride) = (c.row_stride(), c.col_stride());
    let raw = RawC {
        ptr: c.data_mut().as_mut_ptr(),
        row_stride,
        col_stride,
    };
    let pieces = if no_overlap(m, n, row_stride, col_stride) {
        threads.clamp(1, n)
    } else {
        1
    };
    let ranges = parallel::split_range(n, pieces);
    // Borrow the whole `RawC` (which is `Sync`), not just its pointer field (which is not).
    let raw = &raw;
    let task = |t: usize| {
        // SAFETY: `gemm_with` picked the AVX-512 kernel, which `Kernel::microkernel` checked the CPU
        // supports; `raw` points at C's element (0, 0) and C is borrowed mutably for this whole
        // call; the ranges are disjoint column sets and distinct columns are distinct elements
        // (`no_overlap`, else one piece).
        unsafe { dot::run(alpha, a, b, beta, *raw, ranges[t].clone()) };
    };
    if ranges.len() <= 1 {
        task(0);
    } else {
        parallel::parallel_for(ranges.len(), task);
    }
}

thread_local! {
    /// Each thread's packing buffers, kept between calls so that no product allocates once warm.
    static BUFFERS: RefCell<(PackBuffer, PackBuffer)> =
        RefCell::new((PackBuffer::default(), PackBuffer::default()));
}

/// The L1 data cache, in floats (32 KiB on Zen 3 and Zen 4, and on most x86-64 cores since 2010).
/// A transposed panel of A whose columns all lie within this much memory is read in place: lines
/// of one contiguous L1-sized region fill every set evenly, so they cannot evict each other.
const L1_FLOATS: usize = 8 * 1024;

/// Pieces of at most this many rows of A read B's panels in place instead of packing them (when B
/// is row-major and small, see [`B_IN_PLACE_MAX_FLOATS`]).
///
/// Packing a B̃ block costs about as much as 8 multiply-adds per element (measured on the reference
/// machine: 0.15 ns per element against 0.018 ns per multiply-add), and each packed element is then
/// used by `m` multiply-adds: for `m = 64` packing alone is an eighth of the work. Reading a row-major
/// B in place costs nothing up front, but every kernel call then walks rows that lie far apart in
/// memory, which is slower once many panels of A reuse the same B (measured, one core: in place is
/// faster up to 256 × 256 × 256, about 20 % slower at 512 × 512 × 512).
const B_IN_PLACE_MAX_ROWS: usize = 256;

/// B is read in place only if it has at most this many elements (512 KiB, half of L2): then it stays
/// in L2 as it is. A bigger B read in place has rows kilobytes apart, which map to the same few L1
/// sets and TLB entries (measured: 128-row pieces of a 1024³ product ran at half speed in place).
const B_IN_PLACE_MAX_FLOATS: usize = 128 * 1024;

/// Whether a piece of `rows` rows of A reads B in place instead of packing it: B row-major, the
/// piece short ([`B_IN_PLACE_MAX_ROWS`]) and B small ([`B_IN_PLACE_MAX_FLOATS`]).
fn reads_b_in_place(b: MatRef<'_>, rows: usize) -> bool {
    b.col_stride() == 1
        && rows <= B_IN_PLACE_MAX_ROWS
        && b.rows() * b.cols() <= B_IN_PLACE_MAX_FLOATS
}

/// The five loops on one thread: `C (m × n) = α·A·B + β·C` (see the module docs). With `shared`,
/// B̃ is already packed (all of it, by [`shared::run`]) and is only read. With `causal` (only for a
/// product in one block, see [`causal`]), the tiles and terms of the sum it makes useless are
/// skipped. With `finish` (C row-major), each row panel is finished as soon as the last block of
/// the sum has been added to it (see [`epilogue`]).
#[allow(clippy::too_many_arguments)]
fn gemm_serial(
    kernel: &Microkernel,
    alpha: f32,
    a: MatRef<'_>,
    b: MatRef<'_>,
    beta: f32,
    c: RawC,
    m: usize,
    n: usize,
    shared: Option<shared::SharedB>,
    causal: Option<Causal>,
    finish: Option<epilogue::Finish<'_>>,
) {
    let k = a.cols();
    let (mr, nr, kc, nc) = (kernel.mr, kernel.nr, kernel.kc, kernel.nc);
    debug_assert!(
        causal.is_none() || k <= kc && n <= nc,
        "a causal product is one block"
    );
    let b_in_place = shared.is_none() && reads_b_in_place(b, m);
    BUFFERS.with_borrow_mut(|(a_buffer, b_buffer)| {
        let a_packed = a_buffer.get(mr * kc);
        let own_b_len = if shared.is_some() {
            0
        } else {
            kc * nc.min(n.div_ceil(nr) * nr)
        };
        let b_packed = b_buffer.get(own_b_len);
        for jc in (0..n).step_by(nc) {
            let nc_block = nc.min(n - jc);
            // With B read in place, only a ragged last panel is packed (at the start of B̃).
            let in_place_panels = if b_in_place { nc_block / nr } else { 0 };
            for pc in (0..k).step_by(kc) {
                let kc_block = kc.min(k - pc);
                // The first block of the sum applies the caller's β; later ones add to it.
                let beta_block = if pc == 0 { beta } else { 1.0 };
                let b_block = b.block(pc, jc, kc_block, nc_block);
                let first_packed = in_place_panels * nr;
                // B̃ for this block: the shared one, or this thread's own, packed now.
                let b_tilde: &[f32] = match shared {
                    Some(shared) => {
                        let padded_cols = nc_block.div_ceil(nr) * nr;
                        let start = shared.block_start(jc, pc, padded_cols);
                        // SAFETY: `shared::run` packed this whole block (`padded_cols · kc_block`
                        // floats at `start`) before any row task started; nothing writes it now.
                        unsafe {
                            std::slice::from_raw_parts(
                                shared.ptr.add(start),
                                padded_cols * kc_block,
                            )
                        }
                    }
                    None => {
                        if first_packed < nc_block {
                            let to_pack =
                                b_block.block(0, first_packed, kc_block, nc_block - first_packed);
                            pack_b(to_pack, nr, b_packed);
                        }
                        b_packed
                    }
                };
                for ic in (0..m).step_by(mr) {
                    let mr_block = mr.min(m - ic);
                    let a_block = a.block(ic, pc, mr_block, kc_block);
                    // Whole panels of a row-major A, or of a transposed A that lies within an
                    // L1's worth of memory, are read in place; the rest is packed (see "Packing,
                    // or not" in the module docs).
                    let in_place = a_block.col_stride() == 1
                        || a_block.row_stride() == 1
                            && kc_block.saturating_mul(a_block.col_stride()) <= L1_FLOATS;
                    let a_panel = if mr_block == mr && in_place {
                        APanel {
                            ptr: a_block.data().as_ptr(),
                            row_stride: a_block.row_stride(),
                            col_stride: a_block.col_stride(),
                        }
                    } else {
                        pack_a(a_block, mr, a_packed);
                        APanel {
                            ptr: a_packed.as_ptr(),
                            row_stride: 1,
                            col_stride: mr,
                        }
                    };
                    if ic + 2 * mr <= m && a.col_stride() == 1 {
                        prefetch_rows(a.block(ic + mr, pc, mr, kc_block));
                    }
                    // The terms of the sum these rows need: all, unless a causal mask says
                    // otherwise (then there is one block, and `pc` is 0).
                    let rows = ic..ic + mr_block;
                    let terms = causal.map_or(0..kc_block, |causal| causal.terms(&rows, kc_block));
                    for jr in (0..nc_block).step_by(nr) {
                        if causal.is_some_and(|causal| !causal.needs_tile(&rows, jc + jr)) {
                            continue;
                        }
                        let tile = CTile {
                            // SAFETY: `ic < m` and `jc + jr < n`, so the tile's corner is inside C.
                            ptr: unsafe { c.ptr.add(ic * c.row_stride + (jc + jr) * c.col_stride) },
                            row_stride: c.row_stride,
                            col_stride: c.col_stride,
                            rows: mr_block,
                            cols: nr.min(nc_block - jr),
                        };
                        let b_panel = if jr < first_packed {
                            BPanel {
                                ptr: b_block.block(0, jr, kc_block, nr).data().as_ptr(),
                                row_stride: b_block.row_stride(),
                            }
                        } else {
                            let start = (jr - first_packed) * kc_block;
                            BPanel {
                                ptr: b_tilde[start..start + nr * kc_block].as_ptr(),
                                row_stride: nr,
                            }
                        };
                        // Terms `terms` of the sum: the panels from column (row) `terms.start` on.
                        let a_terms = APanel {
                            ptr: a_panel.ptr.wrapping_add(terms.start * a_panel.col_stride),
                            ..a_panel
                        };
                        let b_terms = BPanel {
                            ptr: b_panel.ptr.wrapping_add(terms.start * b_panel.row_stride),
                            ..b_panel
                        };
                        // SAFETY: `a_panel` is either `a_packed` (`mr · kc_block` floats, filled and
                        // zero-padded) or `mr` whole rows of the bounds-checked view `a_block` with
                        // a unit stride; `b_panel` is either `kc_block · nr` packed floats or `nr`
                        // whole columns of the bounds-checked view `b_block`, whose column stride
                        // is 1; `terms` lies within `0..kc_block`, so the shifted panels cover
                        // `terms.len()` of those columns (rows); the tile lies inside C and this
                        // thread alone writes it (disjoint pieces, see `run_threads`); the kernel
                        // was returned by `Kernel::microkernel`, which checked that the CPU
                        // supports it.
                        unsafe {
                            (kernel.run)(terms.len(), a_terms, b_terms, alpha, beta_block, tile);
                        }
                    }
                    if let Some(finish) = &finish
                        && pc + kc_block == k
                    {
                        // SAFETY: these rows and columns of C were just written by the last block
                        // of the sum, so they are final; they lie inside this thread's piece, which
                        // no other thread touches; `gemm_finishing` fused the epilogue only for C
                        // with a unit column stride.
                        unsafe { finish.rows(c, ic..ic + mr_block, jc..jc + nc_block) };
                    }
                }
            }
        }
    });
}

/// Asks the CPU to start loading the rows of `rows` (a view with contiguous rows) into the cache,
/// one request per 64-byte line; a hint that never faults. Used for the next panel of A while the
/// kernel works on this one: when A streams from memory (a convolution's im2col matrix, read once),
/// its short rows are too many interleaved streams for the hardware prefetcher to follow
/// (measured on conv1's 50176 × 75 × 6 product: about 20 → 28 GFLOPS). Does nothing on other CPUs.
fn prefetch_rows(rows: MatRef<'_>) {
    #[cfg(target_arch = "x86_64")]
    for i in 0..rows.rows() {
        let start = i * rows.row_stride();
        for line in rows.data()[start..start + rows.cols()].chunks(16) {
            x86::prefetch(line.as_ptr());
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = rows;
}

/// `C = A·B + β·C` on row-major buffers: `a` is `m × k`, `b` is `k × n`, `c` is `m × n`.
pub fn gemm_nn(m: usize, n: usize, k: usize, a: &[f32], b: &[f32], c: &mut [f32], beta: f32) {
    gemm(
        1.0,
        MatRef::new(a, m, k),
        MatRef::new(b, k, n),
        beta,
        MatMut::new(c, m, n),
    );
}

/// `C = Aᵀ·B + β·C` on row-major buffers: `a` is stored `k × m`, `b` is `k × n`, `c` is `m × n`
/// (e.g. a weight gradient `dW = Xᵀ·dY`).
pub fn gemm_tn(m: usize, n: usize, k: usize, a: &[f32], b: &[f32], c: &mut [f32], beta: f32) {
    gemm(
        1.0,
        MatRef::new(a, k, m).t(),
        MatRef::new(b, k, n),
        beta,
        MatMut::new(c, m, n),
    );
}

/// `C = A·Bᵀ + β·C` on row-major buffers: `a` is `m × k`, `b` is stored `n × k`, `c` is `m × n`
/// (e.g. a linear layer's forward pass `Y = X·Wᵀ` with `W` stored `[out, in]` as in PyTorch).
pub fn gemm_nt(m: usize, n: usize, k: usize, a: &[f32], b: &[f32], c: &mut [f32], beta: f32) {
    gemm(
        1.0,
        MatRef::new(a, m, k),
        MatRef::new(b, n, k).t(),
        beta,
        MatMut::new(c, m, n),
    );
}
