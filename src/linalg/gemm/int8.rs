//! The integer GEMM of quantized inference (chapter 18): `C = A·Bᵀ` with `A` int8 (`m × k`, the
//! activations), `B` int8 (`n × k`, the weights, one row per output channel as PyTorch stores them)
//! and `C` int32 (`m × n`).
//!
//! Quantized inference stores weights and activations as 8-bit integers `q` with `x ≈ q · scale`
//! (see `quant`). A layer's sum `Σₚ x_p·w_p ≈ scale_x·scale_w · Σₚ q_x,p·q_w,p` then needs only the
//! integer sum, which this module computes exactly: products of two int8 values fit in 15 bits and
//! their sums in the int32 accumulator as long as `k ≤` [`MAX_K`]. Integer sums have no rounding,
//! so every kernel and every thread count gives the same bits, and each kernel is checked for
//! exact equality against the textbook triple loop ([`gemm_i8_reference`]).
//!
//! # Why int8 is faster
//! A 512-bit register holds 16 floats but 64 bytes. The instruction `vpdpbusd` (AVX-512 VNNI,
//! "vector neural network instructions") multiplies 64 pairs of bytes and adds each group of four
//! products into one of 16 int32 lanes: 64 multiply-adds per instruction where `vfmadd` does 16.
//! Without VNNI, AVX2 widens the bytes to 16 bits and `vpmaddwd` multiplies 16 pairs of int16 and
//! adds pairs into 8 int32 lanes: 16 multiply-adds per instruction (plus one add), where an AVX2
//! FMA does 8. The data are also 4× smaller than f32, so 4× more of them fit in each cache.
//!
//! # The unsigned × signed trap of `vpdpbusd`, and the offset that fixes it
//! `vpdpbusd` multiplies an **unsigned** byte (0…255) by a **signed** byte (−128…127). Our
//! activations are signed. Adding 128 to each makes it unsigned (`u = q + 128`, the same bits with
//! the top bit flipped), and the sum changes by a term that depends only on the weights:
//!
//! ```text
//! Σₚ u_p·w_p = Σₚ (q_p + 128)·w_p = Σₚ q_p·w_p + 128 · Σₚ w_p
//!          ⇒ Σₚ q_p·w_p = Σₚ u_p·w_p − 128 · colsum_j,     colsum_j = Σₚ B[j, p]
//! ```
//!
//! The weights' row sums (`colsum`, one per column of C) are computed once when B is packed; the
//! kernel subtracts `128 · colsum_j` as it writes C. (The other way round — weights unsigned — would
//! need the sums of the *activations*, which change with every input.) The portable kernel does
//! exactly the same arithmetic in plain Rust, so the packing and the correction are tested on every
//! machine, not only on those with VNNI.
//!
//! The AVX2 kernel has no such trap because it widens both operands to signed 16 bits. (Its
//! byte-wise cousin `vpmaddubsw` is unsigned × signed *and saturates* its 16-bit pair sums:
//! 255·127 + 255·127 = 64,770 does not fit in 32,767, so it would silently clip; widening first costs
//! one instruction per load and is exact.)
//!
//! # Packing
//! Each kernel reads B in the order it needs, prepared once per weight matrix ([`PackedInt8`]):
//! panels of `NR` columns, and inside a panel, for each group of `G` consecutive terms of the sum
//! (`G = 4` for VNNI and the portable kernel, `G = 2` for AVX2), the `G` values of each of the `NR`
//! columns side by side — one vector load gives the kernel `G` terms for `NR / lanes` columns. A is
//! packed on the fly the same way in panels of `MR` rows (the bytes of one row's group are
//! broadcast to every lane as one 32-bit value). Ragged edges are padded with zeros in B, so padded
//! terms add nothing.
//!
//! # Threads
//! C's rows are cut into pieces of whole `MR`-row panels, one per thread; each thread packs its own
//! panels of A. B is small for our layers (at most 120 × 400 bytes) and stays in L2, so there is no
//! blocking over k or n as in the f32 GEMM.
//!
//! # What it leaves out
//! Blocking for big matrices (k and n here are at most a few thousand), a saturating fast path with
//! 7-bit activations, NEON's `sdot`, unpacked or transposed B, α and β: C is always overwritten.

use crate::error::{Error, Result};
use crate::parallel;
use std::cell::RefCell;
use std::sync::atomic::{AtomicU8, Ordering};

#[cfg(target_arch = "x86_64")]
use super::int8_avx2;
#[cfg(target_arch = "x86_64")]
use super::int8_vnni;

/// The longest sum the int32 accumulators can hold without overflow in every kernel: each term is
/// at most 128 · 128 = 2¹⁴ in magnitude (and `(q + 128)·w ≤ 255 · 128` before the VNNI
/// correction), so 2¹⁶ terms stay below 2³¹.
pub const MAX_K: usize = 1 << 16;

/// An int8 microkernel's instruction set.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Int8Kernel {
    /// Portable Rust: the VNNI arithmetic (offset activations, column-sum correction) in plain loops.
    Scalar,
    /// x86-64 AVX2: bytes widened to int16, `vpmaddwd` (16 multiply-adds per instruction).
    Avx2,
    /// x86-64 AVX-512 VNNI: `vpdpbusd` (64 multiply-adds per instruction).
    Avx512Vnni,
}

impl Int8Kernel {
    /// Every int8 kernel, from the most portable to the widest.
    pub const ALL: [Int8Kernel; 3] = [Int8Kernel::Scalar, Int8Kernel::Avx2, Int8Kernel::Avx512Vnni];

    /// The kernel's short name, as used by `DLFS_GEMM_INT8_KERNEL` and printed by the binaries.
    pub fn name(self) -> &'static str {
        match self {
            Int8Kernel::Scalar => "scalar",
            Int8Kernel::Avx2 => "avx2",
            Int8Kernel::Avx512Vnni => "avx512vnni",
        }
    }

    /// The kernel with this short name, if any.
    pub fn from_name(name: &str) -> Option<Int8Kernel> {
        Int8Kernel::ALL.into_iter().find(|k| k.name() == name)
    }

    /// True when this CPU can run the kernel (checked at run time).
    pub fn is_supported(self) -> bool {
        match self {
            Int8Kernel::Scalar => true,
            #[cfg(target_arch = "x86_64")]
            Int8Kernel::Avx2 => std::arch::is_x86_feature_detected!("avx2"),
            #[cfg(target_arch = "x86_64")]
            Int8Kernel::Avx512Vnni => {
                std::arch::is_x86_feature_detected!("avx512f")
                    && std::arch::is_x86_feature_detected!("avx512vnni")
            }
            #[allow(unreachable_patterns)]
            _ => false,
        }
    }

    /// The tile, `(MR, NR)`: rows × columns of C per microkernel call, for a product with `n`
    /// columns (the SIMD kernels have a narrow variant for layers with few output channels). Tests
    /// use it to pick awkward sizes.
    pub fn tile(self, n: usize) -> (usize, usize) {
        let shape = self.shape(n);
        (shape.mr, shape.nr)
    }

    /// The microkernel shape used for `n` columns.
    fn shape(self, n: usize) -> TileShape {
        match self {
            Int8Kernel::Scalar => TileShape {
                mr: 4,
                nr: 8,
                group: 4,
            },
            Int8Kernel::Avx2 if n <= 8 => TileShape {
                mr: 12,
                nr: 8,
                group: 2,
            },
            Int8Kernel::Avx2 => TileShape {
                mr: 6,
                nr: 16,
                group: 2,
            },
            Int8Kernel::Avx512Vnni if n <= 16 => TileShape {
                mr: 12,
                nr: 16,
                group: 4,
            },
            Int8Kernel::Avx512Vnni => TileShape {
                mr: 6,
                nr: 64,
                group: 4,
            },
        }
    }
}

/// A microkernel's tile: `mr` rows × `nr` columns of C, sums taken `group` terms at a time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct TileShape {
    mr: usize,
    nr: usize,
    group: usize,
}

/// The int8 kernels this CPU supports, from the most portable to the widest (the last is the default).
pub fn supported_int8_kernels() -> Vec<Int8Kernel> {
    Int8Kernel::ALL
        .into_iter()
        .filter(|k| k.is_supported())
        .collect()
}

/// The widest int8 kernel this CPU supports.
pub fn best_int8_kernel() -> Int8Kernel {
    *supported_int8_kernels()
        .last()
        .expect("the scalar int8 kernel is always supported")
}

/// The int8 kernel in use: 0 = not chosen yet, otherwise 1 + its index in [`Int8Kernel::ALL`].
static SELECTED: AtomicU8 = AtomicU8::new(0);

/// The int8 kernel new [`PackedInt8`] matrices are packed for. Chosen once, at the first call:
/// `DLFS_GEMM_INT8_KERNEL` if it names a kernel this CPU supports (a warning is printed otherwise),
/// else [`best_int8_kernel`].
pub fn current_int8_kernel() -> Int8Kernel {
    let selected = SELECTED.load(Ordering::Relaxed);
    if selected != 0 {
        return Int8Kernel::ALL[usize::from(selected - 1)];
    }
    let kernel = match std::env::var("DLFS_GEMM_INT8_KERNEL") {
        Ok(name) => match int8_kernel_from_user(name.trim()) {
            Ok(kernel) => kernel,
            Err(error) => {
                eprintln!("warning: {error}; using {}", best_int8_kernel().name());
                best_int8_kernel()
            }
        },
        Err(_) => best_int8_kernel(),
    };
    match SELECTED.compare_exchange(0, code_of(kernel), Ordering::Relaxed, Ordering::Relaxed) {
        Ok(_) => kernel,
        Err(current) => Int8Kernel::ALL[usize::from(current - 1)],
    }
}

/// The value [`SELECTED`] stores for `kernel`.
fn code_of(kernel: Int8Kernel) -> u8 {
    let index = Int8Kernel::ALL
        .iter()
        .position(|&k| k == kernel)
        .expect("every kernel is in Int8Kernel::ALL");
    index as u8 + 1
}

/// Parses a kernel name given by a user and checks that this CPU supports it.
fn int8_kernel_from_user(name: &str) -> Result<Int8Kernel> {
    let names: Vec<&str> = supported_int8_kernels().iter().map(|k| k.name()).collect();
    let kernel = Int8Kernel::from_name(name).ok_or_else(|| {
        Error::usage(format!(
            "DLFS_GEMM_INT8_KERNEL={name:?} is not an int8 kernel name; this CPU supports: {}",
            names.join(", ")
        ))
    })?;
    if !kernel.is_supported() {
        return Err(Error::usage(format!(
            "the {name} int8 kernel needs an instruction set this CPU lacks; it supports: {}",
            names.join(", ")
        )));
    }
    Ok(kernel)
}

/// Makes new [`PackedInt8`] matrices use `kernel` (for tests and benchmarks). Refuses a kernel the
/// CPU cannot run, with an error listing those it can.
pub fn set_int8_kernel(kernel: Int8Kernel) -> Result<()> {
    int8_kernel_from_user(kernel.name())?;
    SELECTED.store(code_of(kernel), Ordering::Relaxed);
    Ok(())
}

/// The packed values of B, in the element type the kernel reads.
#[derive(Clone, Debug)]
enum PackedValues {
    /// Bytes, groups of 4 (the portable and VNNI kernels).
    Bytes(Vec<i8>),
    /// Bytes widened to int16, groups of 2 (AVX2).
    Words(Vec<i16>),
}

/// B (`n × k`, int8, rows along the sum — a weight matrix `[out, in]`) packed once for one kernel,
/// with the row sums the VNNI correction needs (see the module docs).
#[derive(Clone, Debug)]
pub struct PackedInt8 {
    kernel: Int8Kernel,
    shape: TileShape,
    n: usize,
    k: usize,
    /// Terms per panel row after padding: `k` rounded up to a multiple of the group.
    k_padded: usize,
    values: PackedValues,
    /// `128 · Σₚ B[j, p]` for every column j of C (zero for kernels that need no correction).
    correction: Vec<i32>,
}

impl PackedInt8 {
    /// Packs `b` (row-major `n × k`) for the current int8 kernel ([`current_int8_kernel`]).
    pub fn new(b: &[i8], n: usize, k: usize) -> PackedInt8 {
        PackedInt8::with_kernel(current_int8_kernel(), b, n, k)
    }

    /// Packs `b` (row-major `n × k`) for `kernel`. Panics if the CPU cannot run it, if `b` does not
    /// hold `n·k` values, or if `k` exceeds [`MAX_K`].
    pub fn with_kernel(kernel: Int8Kernel, b: &[i8], n: usize, k: usize) -> PackedInt8 {
        assert!(
            kernel.is_supported(),
            "PackedInt8: the {} int8 kernel is not supported by this CPU (supported: {:?})",
            kernel.name(),
            supported_int8_kernels()
        );
        assert_eq!(
            b.len(),
            n * k,
            "PackedInt8: B must hold n × k = {n} × {k} values, got {}",
            b.len()
        );
        assert!(
            k <= MAX_K,
            "PackedInt8: sums of k = {k} terms could overflow int32 (at most {MAX_K})"
        );
        let shape = kernel.shape(n);
        let k_padded = k.div_ceil(shape.group) * shape.group;
        let panels = n.div_ceil(shape.nr);
        let panel_len = shape.nr * k_padded;
        // Element (column j, term p) of panel `panel` goes to
        // panel·panel_len + (p / G)·NR·G + (j % NR)·G + p % G, zero where j ≥ n or p ≥ k.
        let index = |j: usize, p: usize| {
            let g = shape.group;
            (j / shape.nr) * panel_len + (p / g) * shape.nr * g + (j % shape.nr) * g + p % g
        };
        let values = match kernel {
            Int8Kernel::Avx2 => {
                let mut words = vec![0i16; panels * panel_len];
                for j in 0..n {
                    for p in 0..k {
                        words[index(j, p)] = i16::from(b[j * k + p]);
                    }
                }
                PackedValues::Words(words)
            }
            Int8Kernel::Scalar | Int8Kernel::Avx512Vnni => {
                let mut bytes = vec![0i8; panels * panel_len];
                for j in 0..n {
                    for p in 0..k {
                        bytes[index(j, p)] = b[j * k + p];
                    }
                }
                PackedValues::Bytes(bytes)
            }
        };
        let correction = (0..n)
            .map(|j| match kernel {
                Int8Kernel::Avx2 => 0,
                _ => {
                    128 * b[j * k..(j + 1) * k]
                        .iter()
                        .map(|&v| i32::from(v))
                        .sum::<i32>()
                }
            })
            .collect();
        PackedInt8 {
            kernel,
            shape,
            n,
            k,
            k_padded,
            values,
            correction,
        }
    }

    /// Columns of C (rows of B): n.
    pub fn n(&self) -> usize {
        self.n
    }

    /// Terms of each sum: k.
    pub fn k(&self) -> usize {
        self.k
    }

    /// The kernel this matrix was packed for.
    pub fn kernel(&self) -> Int8Kernel {
        self.kernel
    }

    /// The packed bytes of one `NR`-column panel (portable and VNNI layouts).
    fn byte_panel(&self, panel: usize) -> &[i8] {
        let len = self.shape.nr * self.k_padded;
        match &self.values {
            PackedValues::Bytes(bytes) => &bytes[panel * len..(panel + 1) * len],
            PackedValues::Words(_) => unreachable!("an AVX2 matrix has no byte panels"),
        }
    }

    /// The packed int16 values of one `NR`-column panel (AVX2 layout).
    #[cfg(target_arch = "x86_64")]
    fn word_panel(&self, panel: usize) -> &[i16] {
        let len = self.shape.nr * self.k_padded;
        match &self.values {
            PackedValues::Words(words) => &words[panel * len..(panel + 1) * len],
            PackedValues::Bytes(_) => unreachable!("only an AVX2 matrix has int16 panels"),
        }
    }
}

/// The textbook definition, for checking the kernels: `C[i, j] = Σₚ A[i, p] · B[j, p]` with `a`
/// row-major `m × k`, `b` row-major `n × k`, `c` row-major `m × n` (overwritten).
pub fn gemm_i8_reference(a: &[i8], b: &[i8], m: usize, n: usize, k: usize, c: &mut [i32]) {
    assert!(
        a.len() == m * k && b.len() == n * k && c.len() == m * n,
        "gemm_i8_reference: A {} values for {m}×{k}, B {} for {n}×{k}, C {} for {m}×{n}",
        a.len(),
        b.len(),
        c.len()
    );
    for i in 0..m {
        for j in 0..n {
            let mut sum = 0i32;
            for p in 0..k {
                sum += i32::from(a[i * k + p]) * i32::from(b[j * k + p]);
            }
            c[i * n + j] = sum;
        }
    }
}

/// Below this many multiply-adds a product runs on one thread (waking a worker costs ~1 µs).
pub const PARALLEL_MIN_MULTIPLY_ADDS: usize = 1_000_000;

/// `C = A·Bᵀ`: `a` row-major `m × k` (int8 activations), `b` packed `n × k` weights, `c` row-major
/// `m × n` int32 (overwritten). Exact; threads split C's rows (for big products).
pub fn gemm_i8(a: &[i8], m: usize, b: &PackedInt8, c: &mut [i32]) {
    let work = m.saturating_mul(b.n).saturating_mul(b.k);
    let threads = if work < PARALLEL_MIN_MULTIPLY_ADDS {
        1
    } else {
        parallel::num_threads()
    };
    gemm_i8_with(threads, a, m, b, c);
}

/// [`gemm_i8`] cut into `threads` pieces of whole row panels (the result does not depend on it).
/// Panics if the buffers do not hold `m × k`, `m × n` values.
pub fn gemm_i8_with(threads: usize, a: &[i8], m: usize, b: &PackedInt8, c: &mut [i32]) {
    let (n, k) = (b.n, b.k);
    assert!(
        a.len() == m * k && c.len() == m * n,
        "gemm_i8: A has {} values for {m}×{k}, C {} for {m}×{n}",
        a.len(),
        c.len()
    );
    if m == 0 || n == 0 {
        return;
    }
    let mr = b.shape.mr;
    let panels = m.div_ceil(mr);
    let pieces = threads.clamp(1, panels);
    let rows_per_piece = panels.div_ceil(pieces) * mr;
    parallel::for_each_chunk_mut(c, rows_per_piece * n, |piece, c_piece| {
        let first_row = piece * rows_per_piece;
        let rows = c_piece.len() / n;
        gemm_serial(&a[first_row * k..(first_row + rows) * k], rows, b, c_piece);
    });
}

thread_local! {
    /// Each thread's buffer for the packed panel of A, kept between calls.
    static A_PANEL: RefCell<Vec<u32>> = const { RefCell::new(Vec::new()) };
}

/// The loops on one thread: for each panel of `MR` rows of A, pack it, then run the microkernel
/// against every panel of B.
fn gemm_serial(a: &[i8], m: usize, b: &PackedInt8, c: &mut [i32]) {
    let shape = b.shape;
    let (n, k) = (b.n, b.k);
    let groups = b.k_padded / shape.group;
    A_PANEL.with_borrow_mut(|a_panel| {
        a_panel.clear();
        a_panel.resize(groups * shape.mr, 0);
        for first_row in (0..m).step_by(shape.mr) {
            let rows = shape.mr.min(m - first_row);
            pack_a(
                &a[first_row * k..(first_row + rows) * k],
                rows,
                k,
                shape,
                b.kernel,
                a_panel,
            );
            for (panel, first_col) in (0..n).step_by(shape.nr).enumerate() {
                let cols = shape.nr.min(n - first_col);
                let tile = Tile {
                    c: &mut c[first_row * n..(first_row + rows) * n],
                    row_stride: n,
                    first_col,
                    rows,
                    cols,
                };
                run_kernel(b, panel, groups, a_panel, tile);
            }
        }
    });
}

/// Where a microkernel writes: rows `0..rows`, columns `first_col..first_col + cols` of `c`.
pub(super) struct Tile<'a> {
    pub(super) c: &'a mut [i32],
    pub(super) row_stride: usize,
    pub(super) first_col: usize,
    pub(super) rows: usize,
    pub(super) cols: usize,
}

impl Tile<'_> {
    /// Writes one row of the microkernel's accumulators minus the VNNI correction.
    pub(super) fn store_row(&mut self, i: usize, values: &[i32], correction: &[i32]) {
        let start = i * self.row_stride + self.first_col;
        let row = &mut self.c[start..start + self.cols];
        for ((out, &value), &fix) in row.iter_mut().zip(values).zip(correction) {
            *out = value - fix;
        }
    }
}

/// Packs `rows` (≤ MR) rows of A into `panel`: for each group `g` of terms and each row `i`, the
/// group's values as one 32-bit word at `panel[g·MR + i]`, ready to broadcast. Groups of 4 bytes
/// shifted to unsigned (`q + 128`, the top bit flipped) for the portable and VNNI kernels; groups of
/// 2 int16 for AVX2. Missing rows and terms are left as they are or set to anything: B's padding is
/// zero, so they add nothing (missing rows are never stored).
fn pack_a(
    a: &[i8],
    rows: usize,
    k: usize,
    shape: TileShape,
    kernel: Int8Kernel,
    panel: &mut [u32],
) {
    let mr = shape.mr;
    match kernel {
        Int8Kernel::Avx2 => {
            for i in 0..rows {
                let row = &a[i * k..(i + 1) * k];
                for (g, pair) in row.chunks(2).enumerate() {
                    let low = pair[0] as i16 as u16;
                    let high = pair.get(1).map_or(0, |&v| v as i16 as u16);
                    panel[g * mr + i] = u32::from(low) | (u32::from(high) << 16);
                }
            }
        }
        Int8Kernel::Scalar | Int8Kernel::Avx512Vnni => {
            for i in 0..rows {
                let row = &a[i * k..(i + 1) * k];
                for (g, quad) in row.chunks(4).enumerate() {
                    let mut bytes = [128u8; 4];
                    for (byte, &value) in bytes.iter_mut().zip(quad) {
                        *byte = (value as u8) ^ 0x80;
                    }
                    panel[g * mr + i] = u32::from_le_bytes(bytes);
                }
            }
        }
    }
}

/// Runs the kernel of `b` on one tile.
fn run_kernel(b: &PackedInt8, panel: usize, groups: usize, a_panel: &[u32], tile: Tile<'_>) {
    let first_col = tile.first_col;
    let correction = &b.correction[first_col..first_col + tile.cols];
    match (b.kernel, b.shape.mr, b.shape.nr) {
        (Int8Kernel::Scalar, 4, 8) => {
            kernel_portable::<4, 8>(groups, a_panel, b.byte_panel(panel), correction, tile);
        }
        #[cfg(target_arch = "x86_64")]
        (Int8Kernel::Avx2, 12, 8) => {
            // SAFETY: the kernel was chosen by `PackedInt8::with_kernel`, which checked that the CPU
            // supports AVX2; the panels hold `groups` groups of MR and NR entries (packed above).
            unsafe {
                int8_avx2::kernel::<12, 1>(groups, a_panel, b.word_panel(panel), correction, tile)
            };
        }
        #[cfg(target_arch = "x86_64")]
        (Int8Kernel::Avx2, 6, 16) => {
            // SAFETY: as above.
            unsafe {
                int8_avx2::kernel::<6, 2>(groups, a_panel, b.word_panel(panel), correction, tile)
            };
        }
        #[cfg(target_arch = "x86_64")]
        (Int8Kernel::Avx512Vnni, 12, 16) => {
            // SAFETY: the kernel was chosen by `PackedInt8::with_kernel`, which checked that the CPU
            // supports AVX-512F and VNNI; the panels hold `groups` groups of MR and NR entries.
            unsafe {
                int8_vnni::kernel::<12, 1>(groups, a_panel, b.byte_panel(panel), correction, tile)
            };
        }
        #[cfg(target_arch = "x86_64")]
        (Int8Kernel::Avx512Vnni, 6, 64) => {
            // SAFETY: as above.
            unsafe {
                int8_vnni::kernel::<6, 4>(groups, a_panel, b.byte_panel(panel), correction, tile)
            };
        }
        (kernel, mr, nr) => unreachable!("no {} int8 kernel of {mr} × {nr}", kernel.name()),
    }
}

/// What one 32-bit lane of `vpdpbusd` computes: `acc + Σₜ u[t]·w[t]` over four unsigned bytes `u`
/// and four signed bytes `w` (the products and their sum are exact in 32 bits; the add wraps).
pub(super) fn dpbusd_lane(acc: i32, u: u32, w: [i8; 4]) -> i32 {
    let u = u.to_le_bytes();
    let mut sum = 0i32;
    for t in 0..4 {
        sum += i32::from(u[t]) * i32::from(w[t]);
    }
    acc.wrapping_add(sum)
}

/// The portable kernel: the VNNI kernel's arithmetic written lane by lane — for each group of 4
/// terms, each row's 4 offset bytes times each column's 4 weight bytes ([`dpbusd_lane`]) — and the
/// correction `128 · colsum` subtracted at the end.
fn kernel_portable<const MR: usize, const NR: usize>(
    groups: usize,
    a_panel: &[u32],
    b_panel: &[i8],
    correction: &[i32],
    mut tile: Tile<'_>,
) {
    let mut acc = [[0i32; NR]; MR];
    for g in 0..groups {
        let b_group = &b_panel[g * NR * 4..(g + 1) * NR * 4];
        for (i, acc_row) in acc.iter_mut().enumerate() {
            let u = a_panel[g * MR + i];
            for (j, sum) in acc_row.iter_mut().enumerate() {
                let w = [
                    b_group[j * 4],
                    b_group[j * 4 + 1],
                    b_group[j * 4 + 2],
                    b_group[j * 4 + 3],
                ];
                *sum = dpbusd_lane(*sum, u, w);
            }
        }
    }
    for (i, acc_row) in acc.iter().enumerate().take(tile.rows) {
        tile.store_row(i, acc_row, correction);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lane_of_vpdpbusd_is_unsigned_times_signed() {
        // 255 is the unsigned byte 0xff (it would be −1 as a signed byte).
        let u = u32::from_le_bytes([255, 1, 128, 0]);
        assert_eq!(
            dpbusd_lane(10, u, [1, -1, -128, 127]),
            10 + 255 - 1 - 128 * 128
        );
    }

    #[test]
    fn the_offset_and_the_column_sums_cancel() {
        // One row of A, one column of C: Σ (q + 128)·w − 128·Σ w = Σ q·w.
        let a = [-128i8, -1, 0, 127, 5];
        let b = [3i8, -7, 127, -128, 2];
        let packed = PackedInt8::with_kernel(Int8Kernel::Scalar, &b, 1, 5);
        let mut c = [0i32];
        gemm_i8(&a, 1, &packed, &mut c);
        let expected: i32 = a
            .iter()
            .zip(&b)
            .map(|(&x, &w)| i32::from(x) * i32::from(w))
            .sum();
        assert_eq!(c[0], expected);
    }
}
