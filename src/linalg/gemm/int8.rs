//! The integer GEMM of quantized inference (chapter 18): `C = A·B` with `A` int8 (`m × k`, the
//! weights, one row per output channel as PyTorch stores them), `B` int8 (`k × n`, the activations:
//! a convolution's im2col rows, or the transposed inputs of a fully connected layer) and `C` int32
//! (`m × n`).
//!
//! Quantized inference stores weights and activations as 8-bit integers `q` with `x ≈ q · scale`
//! (see `quant`). A layer's sum `Σₚ w_p·x_p ≈ scale_w·scale_x · Σₚ q_w,p·q_x,p` then needs only the
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
//! adds neighbours into 8 int32 lanes: 16 multiply-adds per instruction (plus one add), where an AVX2
//! FMA does 8. The data are also 4× smaller than f32, so 4× more of them fit in each cache.
//!
//! # Which operand is broadcast
//! The microkernel keeps an `MR × NR` tile of C in registers: `MR` output channels (rows of A) by
//! `NR` columns of B (pixels, or images), `NR` int32 lanes per vector. For each group of `G`
//! consecutive terms of the sum (`G = 4` for VNNI and the portable kernel, `G = 2` for AVX2) it
//! loads, for each of the `NR` columns, B's `G` values side by side (one vector), broadcasts row
//! `i`'s `G` weights to every lane as one 32-bit word, and multiplies: lane j gets
//! `Σₜ A[i, p+t]·B[p+t, j]`. Weights are the broadcast side because they are known in advance
//! (packed once, [`PackedInt8`]) and because a layer has few output channels (6 in chapter 12's first
//! convolution) but many pixels: the long dimension fills the vector lanes.
//!
//! # The unsigned × signed trap of `vpdpbusd`, and the offset that fixes it
//! `vpdpbusd` multiplies an **unsigned** byte (0…255) by a **signed** byte (−128…127). Both our
//! operands are signed. Adding 128 to each activation makes it unsigned (`u = q + 128`, the same
//! bits with the top bit flipped), and the sum changes by a term that depends only on the weights:
//!
//! ```text
//! Σₚ A[i, p]·u_p = Σₚ A[i, p]·(q_p + 128) = Σₚ A[i, p]·q_p + 128 · Σₚ A[i, p]
//!             ⇒ Σₚ A[i, p]·q_p = Σₚ A[i, p]·u_p − 128 · rowsum_i,    rowsum_i = Σₚ A[i, p]
//! ```
//!
//! The weights' sums (one per output channel) are computed once when A is packed; the kernel
//! subtracts `128 · rowsum_i` as it writes C. (Offsetting the weights instead would need sums of the
//! *activations*, which change with every input.) The portable kernel does exactly this arithmetic
//! in plain Rust, so the packing and the correction are tested on every machine, not only on those
//! with VNNI.
//!
//! The AVX2 kernel has no such trap because it widens both operands to signed 16 bits. (Its
//! byte-wise cousin `vpmaddubsw` is unsigned × signed *and saturates* its 16-bit pair sums:
//! 255·127 + 255·127 = 64,770 does not fit in 32,767, so it would silently clip; widening first is
//! exact.)
//!
//! # Packing
//! A (weights) is packed once into panels of `MR` rows: for each group of `G` terms and each row,
//! the `G` values as one 32-bit word. B (activations) is packed on every call, one panel of `NR`
//! columns at a time: for each group, the `G` values of each column side by side (shifted to
//! unsigned for VNNI and the portable kernel, widened to int16 for AVX2). Ragged edges are padded
//! with zeros in A, so padded terms add nothing. B is described by [`I8Matrix`]: any strides, or rows
//! anywhere in one buffer — a convolution passes the image itself, each row of its im2col matrix
//! being a slice of the image (see `quant::int8_cnn`), so no im2col matrix is ever written.
//!
//! # Few columns: dot products
//! With fewer than [`DOT_MAX_COLUMNS`] columns (a fully connected layer on one image) most of every
//! `NR`-wide tile would be padding, so each element is computed as one dot product of a row of A with
//! a column of B (contiguous when B is a transposed input), in plain Rust that the compiler
//! vectorises.
//!
//! # Threads
//! C's rows (output channels) are cut into pieces of whole `MR`-row panels, one per thread; each
//! thread packs B's panels for itself. A is small for our layers (at most 120 × 400 bytes) and stays
//! in L2, so there is no blocking over k or n as in the f32 GEMM.
//!
//! # What it leaves out
//! Blocking for big matrices (k and n here are at most a few thousand), a saturating fast path with
//! 7-bit activations, NEON's `sdot`, α and β: C is always overwritten.

use crate::error::{Error, Result};
use crate::parallel;
use std::cell::RefCell;
use std::sync::atomic::{AtomicU8, Ordering};

#[cfg(target_arch = "x86_64")]
use super::int8_avx2;
#[cfg(target_arch = "x86_64")]
use super::int8_vnni;

/// The longest sum the int32 accumulators can hold without overflow in every kernel: each term is
/// at most 128 · 128 = 2¹⁴ in magnitude (and `A·(q + 128) ≤ 128 · 255` before the VNNI
/// correction), so 2¹⁶ terms stay below 2³¹.
pub const MAX_K: usize = 1 << 16;

/// Products with fewer columns than this are computed as dot products (see the module docs).
pub const DOT_MAX_COLUMNS: usize = 4;

/// An int8 microkernel's instruction set.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Int8Kernel {
    /// Portable Rust: the VNNI arithmetic (offset activations, row-sum correction) in plain loops.
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

    /// The tile, `(MR, NR)`: rows × columns of C per microkernel call. Tests use it to pick awkward
    /// sizes.
    pub fn tile(self) -> (usize, usize) {
        let shape = self.shape();
        (shape.mr, shape.nr)
    }

    /// The microkernel's tile and grouping.
    fn shape(self) -> TileShape {
        match self {
            Int8Kernel::Scalar => TileShape {
                mr: 4,
                nr: 8,
                group: 4,
            },
            Int8Kernel::Avx2 => TileShape {
                mr: 6,
                nr: 16,
                group: 2,
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

/// A `rows × cols` int8 matrix read by [`gemm_i8`] as B.
#[derive(Clone, Copy, Debug)]
pub enum I8Matrix<'a> {
    /// Element `(r, c)` at `data[r·row_stride + c·col_stride]` (a row-major matrix has strides
    /// `(cols, 1)`, its transpose `(1, rows)`).
    Strided {
        /// The buffer.
        data: &'a [i8],
        /// Rows.
        rows: usize,
        /// Columns.
        cols: usize,
        /// Distance between rows.
        row_stride: usize,
        /// Distance between columns.
        col_stride: usize,
    },
    /// Row `r` is the contiguous slice `data[offsets[r]..offsets[r] + cols]`: rows anywhere in one
    /// buffer, overlapping or not (a convolution's im2col rows are slices of the image).
    Rows {
        /// The buffer.
        data: &'a [i8],
        /// Where each row starts.
        offsets: &'a [usize],
        /// Columns (the length of each row).
        cols: usize,
    },
}

impl<'a> I8Matrix<'a> {
    /// A row-major `rows × cols` matrix.
    pub fn row_major(data: &'a [i8], rows: usize, cols: usize) -> I8Matrix<'a> {
        I8Matrix::Strided {
            data,
            rows,
            cols,
            row_stride: cols,
            col_stride: 1,
        }
    }

    /// The transpose of a row-major `cols × rows` matrix (e.g. a batch of inputs `[N, in]` seen as
    /// `[in, N]`).
    pub fn transposed(data: &'a [i8], rows: usize, cols: usize) -> I8Matrix<'a> {
        I8Matrix::Strided {
            data,
            rows,
            cols,
            row_stride: 1,
            col_stride: rows,
        }
    }

    /// Rows.
    pub fn rows(&self) -> usize {
        match self {
            I8Matrix::Strided { rows, .. } => *rows,
            I8Matrix::Rows { offsets, .. } => offsets.len(),
        }
    }

    /// Columns.
    pub fn cols(&self) -> usize {
        match self {
            I8Matrix::Strided { cols, .. } | I8Matrix::Rows { cols, .. } => *cols,
        }
    }

    /// Element `(r, c)`.
    pub fn at(&self, r: usize, c: usize) -> i8 {
        match self {
            I8Matrix::Strided {
                data,
                row_stride,
                col_stride,
                ..
            } => data[r * row_stride + c * col_stride],
            I8Matrix::Rows { data, offsets, .. } => data[offsets[r] + c],
        }
    }

    /// Row `r`, columns `first..first + len`, when they are contiguous.
    fn row_run(&self, r: usize, first: usize, len: usize) -> Option<&'a [i8]> {
        match *self {
            I8Matrix::Strided {
                data,
                row_stride,
                col_stride: 1,
                ..
            } => Some(&data[r * row_stride + first..][..len]),
            I8Matrix::Rows { data, offsets, .. } => Some(&data[offsets[r] + first..][..len]),
            I8Matrix::Strided { .. } => None,
        }
    }

    /// Column `c`, rows `0..rows`, when they are contiguous.
    fn column_run(&self, c: usize) -> Option<&'a [i8]> {
        match *self {
            I8Matrix::Strided {
                data,
                rows,
                row_stride: 1,
                col_stride,
                ..
            } => Some(&data[c * col_stride..][..rows]),
            _ => None,
        }
    }

    /// Panics (naming the problem) unless every element lies inside the buffer.
    fn check_bounds(&self) {
        let (rows, cols) = (self.rows(), self.cols());
        if rows == 0 || cols == 0 {
            return;
        }
        match self {
            I8Matrix::Strided {
                data,
                row_stride,
                col_stride,
                ..
            } => {
                let last = (rows - 1) * row_stride + (cols - 1) * col_stride;
                assert!(
                    last < data.len(),
                    "I8Matrix: a {rows}×{cols} view with strides ({row_stride}, {col_stride}) \
                     needs {} values, the buffer has {}",
                    last + 1,
                    data.len()
                );
            }
            I8Matrix::Rows { data, offsets, .. } => {
                let last = offsets.iter().max().copied().unwrap_or(0) + cols;
                assert!(
                    last <= data.len(),
                    "I8Matrix: rows of {cols} values at offsets up to {} run past the {}-value buffer",
                    last - cols,
                    data.len()
                );
            }
        }
    }
}

/// A (`m × k`, int8, one row per output channel — a weight matrix `[out, in]`) packed once for one
/// kernel, with the row sums the VNNI correction needs (see the module docs).
#[derive(Clone, Debug)]
pub struct PackedInt8 {
    kernel: Int8Kernel,
    shape: TileShape,
    m: usize,
    k: usize,
    /// Terms per panel after padding: `k` rounded up to a multiple of the group.
    k_padded: usize,
    /// For each panel of MR rows, for each group g, for each row i: the group's values as one word.
    words: Vec<u32>,
    /// The unpacked rows (for the dot-product path).
    rows: Vec<i8>,
    /// `128 · Σₚ A[i, p]` for every row i (zero for kernels that need no correction).
    correction: Vec<i32>,
}

/// The group of `values` (up to `group` of them, zero-padded) as one 32-bit word: 4 bytes, or 2
/// int16 for AVX2.
fn pack_word(values: &[i8], kernel: Int8Kernel) -> u32 {
    match kernel {
        Int8Kernel::Avx2 => {
            let low = values.first().map_or(0, |&v| i16::from(v) as u16);
            let high = values.get(1).map_or(0, |&v| i16::from(v) as u16);
            u32::from(low) | (u32::from(high) << 16)
        }
        Int8Kernel::Scalar | Int8Kernel::Avx512Vnni => {
            let mut bytes = [0u8; 4];
            for (byte, &v) in bytes.iter_mut().zip(values) {
                *byte = v as u8;
            }
            u32::from_le_bytes(bytes)
        }
    }
}

impl PackedInt8 {
    /// Packs `a` (row-major `m × k`) for the current int8 kernel ([`current_int8_kernel`]).
    pub fn new(a: &[i8], m: usize, k: usize) -> PackedInt8 {
        PackedInt8::with_kernel(current_int8_kernel(), a, m, k)
    }

    /// Packs `a` (row-major `m × k`) for `kernel`. Panics if the CPU cannot run it, if `a` does not
    /// hold `m·k` values, or if `k` exceeds [`MAX_K`].
    pub fn with_kernel(kernel: Int8Kernel, a: &[i8], m: usize, k: usize) -> PackedInt8 {
        assert!(
            kernel.is_supported(),
            "PackedInt8: the {} int8 kernel is not supported by this CPU (supported: {:?})",
            kernel.name(),
            supported_int8_kernels()
        );
        assert_eq!(
            a.len(),
            m * k,
            "PackedInt8: A must hold m × k = {m} × {k} values, got {}",
            a.len()
        );
        assert!(
            k <= MAX_K,
            "PackedInt8: sums of k = {k} terms could overflow int32 (at most {MAX_K})"
        );
        let shape = kernel.shape();
        let groups = k.div_ceil(shape.group);
        let panels = m.div_ceil(shape.mr);
        let mut words = vec![0u32; panels * groups * shape.mr];
        for i in 0..m {
            let row = &a[i * k..(i + 1) * k];
            let (panel, r) = (i / shape.mr, i % shape.mr);
            for (g, group) in row.chunks(shape.group).enumerate() {
                words[(panel * groups + g) * shape.mr + r] = pack_word(group, kernel);
            }
        }
        let correction = (0..m)
            .map(|i| match kernel {
                Int8Kernel::Avx2 => 0,
                _ => {
                    128 * a[i * k..(i + 1) * k]
                        .iter()
                        .map(|&v| i32::from(v))
                        .sum::<i32>()
                }
            })
            .collect();
        PackedInt8 {
            kernel,
            shape,
            m,
            k,
            k_padded: groups * shape.group,
            words,
            rows: a.to_vec(),
            correction,
        }
    }

    /// Rows of A and of C: m.
    pub fn m(&self) -> usize {
        self.m
    }

    /// Terms of each sum: k.
    pub fn k(&self) -> usize {
        self.k
    }

    /// The kernel this matrix was packed for.
    pub fn kernel(&self) -> Int8Kernel {
        self.kernel
    }

    /// The packed words of panel `panel` (MR rows).
    fn panel(&self, panel: usize) -> &[u32] {
        let len = self.k_padded / self.shape.group * self.shape.mr;
        &self.words[panel * len..(panel + 1) * len]
    }
}

/// The textbook definition, for checking the kernels: `C[i, j] = Σₚ A[i, p] · B[p, j]` with `a`
/// row-major `m × k`, `b` row-major `k × n`, `c` row-major `m × n` (overwritten).
pub fn gemm_i8_reference(a: &[i8], b: &[i8], m: usize, n: usize, k: usize, c: &mut [i32]) {
    assert!(
        a.len() == m * k && b.len() == k * n && c.len() == m * n,
        "gemm_i8_reference: A {} values for {m}×{k}, B {} for {k}×{n}, C {} for {m}×{n}",
        a.len(),
        b.len(),
        c.len()
    );
    for i in 0..m {
        for j in 0..n {
            let mut sum = 0i32;
            for p in 0..k {
                sum += i32::from(a[i * k + p]) * i32::from(b[p * n + j]);
            }
            c[i * n + j] = sum;
        }
    }
}

/// Where [`gemm_i8`] writes `C = A·B` (`m × n`, row-major).
#[derive(Debug)]
pub enum Int8Output<'a> {
    /// The exact int32 sums.
    Sums(&'a mut [i32]),
    /// The sums requantized for the next layer, `out[i, j] = requantize(C[i, j] + bias[i],
    /// multiplier[i], relu)` ([`requantize`]): a quantized layer's whole output stage, done as the
    /// kernel writes its tile, so the int32 sums never go to memory.
    Requantized {
        /// `m × n` int8 outputs.
        out: &'a mut [i8],
        /// One int32 bias per row (output channel).
        bias: &'a [i32],
        /// One multiplier per row.
        multiplier: &'a [f32],
        /// Clamp at 0 (a ReLU) instead of −127.
        relu: bool,
    },
}

impl Int8Output<'_> {
    /// The number of values it holds.
    fn len(&self) -> usize {
        match self {
            Int8Output::Sums(c) => c.len(),
            Int8Output::Requantized { out, .. } => out.len(),
        }
    }
}

/// `round(clamp((sum · multiplier), low, 127))` as int8, with `low = 0` after a ReLU and −127
/// otherwise, rounding half to even: an int32 sum (bias included) rescaled to the next layer's int8
/// steps. `quant::edge_runtime::requantize` is the same formula (tested to agree).
#[inline]
pub fn requantize(sum: i32, multiplier: f32, relu: bool) -> i8 {
    // Adding 1.5·2²³ leaves no fraction bits in the f32 significand, so the addition rounds to the
    // nearest integer (ties to even); subtracting gives it back exactly (|x| ≤ 127 here).
    const MAGIC: f32 = 12_582_912.0;
    let low = if relu { 0.0 } else { -127.0 };
    let x = (sum as f32 * multiplier).clamp(low, 127.0);
    ((x + MAGIC) - MAGIC) as i8
}

/// Below this many multiply-adds a product runs on one thread (waking a worker costs ~1 µs).
pub const PARALLEL_MIN_MULTIPLY_ADDS: usize = 1_000_000;

/// `C = A·B`: `a` packed `m × k` weights, `b` a `k × n` int8 matrix (activations), C written to
/// `out` (overwritten). Exact; threads split C's rows for big products.
pub fn gemm_i8(a: &PackedInt8, b: I8Matrix<'_>, out: Int8Output<'_>) {
    let work = a.m.saturating_mul(b.cols()).saturating_mul(a.k);
    let threads = if work < PARALLEL_MIN_MULTIPLY_ADDS {
        1
    } else {
        parallel::num_threads()
    };
    gemm_i8_with(threads, a, b, out);
}

/// [`gemm_i8`] cut into `threads` pieces of whole row panels (the result does not depend on it).
/// Panics if the shapes do not fit or B's view runs past its buffer.
pub fn gemm_i8_with(threads: usize, a: &PackedInt8, b: I8Matrix<'_>, out: Int8Output<'_>) {
    let (m, k, n) = (a.m, a.k, b.cols());
    assert!(
        b.rows() == k && out.len() == m * n,
        "gemm_i8: A is {m}×{k}, B {}×{n}, C has {} values for {m}×{n}",
        b.rows(),
        out.len()
    );
    if let Int8Output::Requantized {
        bias, multiplier, ..
    } = &out
    {
        assert!(
            bias.len() == m && multiplier.len() == m,
            "gemm_i8: {} biases and {} multipliers for {m} rows",
            bias.len(),
            multiplier.len()
        );
    }
    b.check_bounds();
    if m == 0 || n == 0 {
        return;
    }
    let mr = a.shape.mr;
    let panels = m.div_ceil(mr);
    let pieces = threads.clamp(1, panels);
    let rows_per_piece = panels.div_ceil(pieces) * mr;
    let run = |first_row: usize, rows: RowsOut<'_>| {
        if n < DOT_MAX_COLUMNS {
            gemm_dot(a, b, first_row, rows);
        } else {
            gemm_serial(a, b, first_row / mr, rows);
        }
    };
    match out {
        Int8Output::Sums(c) => {
            parallel::for_each_chunk_mut(c, rows_per_piece * n, |piece, c| {
                run(piece * rows_per_piece, RowsOut::Sums(c));
            });
        }
        Int8Output::Requantized {
            out,
            bias,
            multiplier,
            relu,
        } => {
            parallel::for_each_chunk_mut(out, rows_per_piece * n, |piece, out| {
                let first = piece * rows_per_piece;
                let rows = out.len() / n;
                run(
                    first,
                    RowsOut::Bytes {
                        out,
                        bias: &bias[first..first + rows],
                        multiplier: &multiplier[first..first + rows],
                        relu,
                    },
                );
            });
        }
    }
}

/// A piece of the output: whole rows of C, in one of the two forms of [`Int8Output`] (bias and
/// multipliers sliced to these rows).
enum RowsOut<'a> {
    Sums(&'a mut [i32]),
    Bytes {
        out: &'a mut [i8],
        bias: &'a [i32],
        multiplier: &'a [f32],
        relu: bool,
    },
}

impl RowsOut<'_> {
    /// Rows held, for `n` columns.
    fn rows(&self, n: usize) -> usize {
        match self {
            RowsOut::Sums(c) => c.len() / n,
            RowsOut::Bytes { out, .. } => out.len() / n,
        }
    }

    /// Rows `first..first + count` (of `n` columns) as a smaller piece.
    fn slice(&mut self, first: usize, count: usize, n: usize) -> RowsOut<'_> {
        match self {
            RowsOut::Sums(c) => RowsOut::Sums(&mut c[first * n..(first + count) * n]),
            RowsOut::Bytes {
                out,
                bias,
                multiplier,
                relu,
            } => RowsOut::Bytes {
                out: &mut out[first * n..(first + count) * n],
                bias: &bias[first..first + count],
                multiplier: &multiplier[first..first + count],
                relu: *relu,
            },
        }
    }

    /// Writes `value` (the exact sum) as element `(i, j)` of this piece.
    #[inline]
    fn put(&mut self, i: usize, j: usize, n: usize, value: i32) {
        match self {
            RowsOut::Sums(c) => c[i * n + j] = value,
            RowsOut::Bytes {
                out,
                bias,
                multiplier,
                relu,
            } => out[i * n + j] = requantize(value.wrapping_add(bias[i]), multiplier[i], *relu),
        }
    }
}

thread_local! {
    /// Each thread's buffer for the packed B, kept between calls.
    static B_PACKED: RefCell<Vec<u32>> = const { RefCell::new(Vec::new()) };
}

/// What a microkernel reads of B: group g of the panel's `NR` columns at
/// `words[g·stride .. g·stride + NR]`.
#[derive(Clone, Copy)]
pub(super) struct BPanel<'a> {
    pub(super) words: &'a [u32],
    pub(super) stride: usize,
}

impl BPanel<'_> {
    /// True when `groups` groups of `nr` words each lie inside `words` (what a kernel reads).
    pub(super) fn holds(&self, groups: usize, nr: usize) -> bool {
        groups == 0 || self.words.len() >= (groups - 1) * self.stride + nr
    }
}

/// The loops on one thread, for C's rows from panel `first_panel` on: pack the whole of B (each
/// group of terms one long row of words, `n` rounded up to `NR` apart), then for each panel of `NR`
/// columns run the microkernel for every panel of A.
fn gemm_serial(a: &PackedInt8, b: I8Matrix<'_>, first_panel: usize, mut out: RowsOut<'_>) {
    let shape = a.shape;
    let (k, n) = (b.rows(), b.cols());
    let rows = out.rows(n);
    let groups = a.k_padded / shape.group;
    let stride = n.div_ceil(shape.nr) * shape.nr;
    // B's rows as slices, found once (with zeros for the padding of the last group), when they are
    // contiguous: then packing is a loop over whole rows.
    let zeros = vec![0i8; n];
    let row_slices: Option<Vec<&[i8]>> = (0..groups * shape.group)
        .map(|p| {
            if p < k {
                b.row_run(p, 0, n)
            } else {
                Some(&zeros[..])
            }
        })
        .collect();
    B_PACKED.with_borrow_mut(|packed| {
        packed.clear();
        packed.resize(groups * stride, b_word([0; 4], a.kernel));
        match &row_slices {
            Some(row_slices) => pack_b_rows(row_slices, n, shape, a.kernel, packed, stride),
            None => pack_b_columns(b, shape, a.kernel, packed, stride),
        }
        for first_col in (0..n).step_by(shape.nr) {
            let cols = shape.nr.min(n - first_col);
            let panel = BPanel {
                // (Empty when k = 0: no groups, nothing to read.)
                words: packed.get(first_col..).unwrap_or_default(),
                stride,
            };
            for (p, first_row) in (0..rows).step_by(shape.mr).enumerate() {
                let tile_rows = shape.mr.min(rows - first_row);
                let global_row = (first_panel + p) * shape.mr;
                let tile = Tile {
                    out: out.slice(first_row, tile_rows, n),
                    row_stride: n,
                    first_col,
                    rows: tile_rows,
                    cols,
                };
                let correction = &a.correction[global_row..global_row + tile_rows];
                run_kernel(
                    a.kernel,
                    groups,
                    a.panel(first_panel + p),
                    panel,
                    correction,
                    tile,
                );
            }
        }
    });
}

/// C's rows from `first_row` on as dot products of A's rows with B's columns (few columns).
fn gemm_dot(a: &PackedInt8, b: I8Matrix<'_>, first_row: usize, mut out: RowsOut<'_>) {
    let (k, n) = (a.k, b.cols());
    let mut column = vec![0i8; k];
    for j in 0..n {
        let column = match b.column_run(j) {
            Some(run) => run,
            None => {
                for (p, v) in column.iter_mut().enumerate() {
                    *v = b.at(p, j);
                }
                &column[..]
            }
        };
        for i in 0..out.rows(n) {
            let row = &a.rows[(first_row + i) * k..(first_row + i + 1) * k];
            out.put(i, j, n, dot_i8(row, column));
        }
    }
}

/// `Σ x·y` of two int8 slices in int32 (each product fits int16, which the compiler vectorises
/// with `pmaddwd`).
pub fn dot_i8(x: &[i8], y: &[i8]) -> i32 {
    x.iter()
        .zip(y)
        .map(|(&a, &b)| i32::from(i16::from(a) * i16::from(b)))
        .sum()
}

/// One packed word of a group's values: 4 bytes shifted to unsigned (`q + 128`) for the portable
/// and VNNI kernels, the first 2 values as int16 for AVX2.
fn b_word(values: [i8; 4], kernel: Int8Kernel) -> u32 {
    match kernel {
        Int8Kernel::Avx2 => pack_word(&values[..2], kernel),
        Int8Kernel::Scalar | Int8Kernel::Avx512Vnni => {
            u32::from_le_bytes(values.map(|v| (v as u8) ^ 0x80))
        }
    }
}

/// Packs B, given as its rows (`rows[p]`, the padding rows zeros), into `packed`: for each group g
/// of terms and each column j < n, the group's values as one word at `packed[g·stride + j]`
/// ([`b_word`]); columns from n to `stride` keep the padding word.
fn pack_b_rows(
    rows: &[&[i8]],
    n: usize,
    shape: TileShape,
    kernel: Int8Kernel,
    packed: &mut [u32],
    stride: usize,
) {
    let group = shape.group;
    for (g, words) in packed.chunks_exact_mut(stride).enumerate() {
        let run = |t: usize| &rows[g * group + t.min(group - 1)][..n];
        let filled = &mut words[..n];
        match kernel {
            #[cfg(target_arch = "x86_64")]
            Int8Kernel::Avx2 => {
                // SAFETY: the matrix was packed for AVX2, which `PackedInt8::with_kernel` checked
                // the CPU supports; the function checks the lengths.
                unsafe { int8_avx2::interleave_pairs(run(0), run(1), filled) };
            }
            _ => {
                let (r0, r1, r2, r3) = (run(0), run(1), run(2), run(3));
                for (j, w) in filled.iter_mut().enumerate() {
                    *w = b_word([r0[j], r1[j], r2[j], r3[j]], kernel);
                }
            }
        }
    }
}

/// [`pack_b_rows`] for a B whose rows are not contiguous (a transposed input `[n, k]`, read column
/// by column, or any strides), element by element.
fn pack_b_columns(
    b: I8Matrix<'_>,
    shape: TileShape,
    kernel: Int8Kernel,
    packed: &mut [u32],
    stride: usize,
) {
    let (k, n, group) = (b.rows(), b.cols(), shape.group);
    let groups = packed.len() / stride;
    for j in 0..n {
        let column = b.column_run(j);
        for g in 0..groups {
            let mut values = [0i8; 4];
            for (t, v) in values.iter_mut().enumerate().take(group) {
                let p = g * group + t;
                if p < k {
                    *v = match column {
                        Some(c) => c[p],
                        None => b.at(p, j),
                    };
                }
            }
            packed[g * stride + j] = b_word(values, kernel);
        }
    }
}

/// Where a microkernel writes: rows `0..rows`, columns `first_col..first_col + cols` of `out`.
pub(super) struct Tile<'a> {
    out: RowsOut<'a>,
    row_stride: usize,
    first_col: usize,
    pub(super) rows: usize,
    cols: usize,
}

impl Tile<'_> {
    /// Writes row `i` of the microkernel's accumulators minus the row's VNNI correction, as sums or
    /// requantized. Inlined into each kernel, so this loop is compiled (and vectorised) for the
    /// kernel's instruction set.
    #[inline(always)]
    pub(super) fn store_row(&mut self, i: usize, values: &[i32], correction: i32) {
        let start = i * self.row_stride + self.first_col;
        let cols = self.cols;
        match &mut self.out {
            RowsOut::Sums(c) => {
                for (out, &value) in c[start..start + cols].iter_mut().zip(values) {
                    *out = value.wrapping_sub(correction);
                }
            }
            RowsOut::Bytes {
                out,
                bias,
                multiplier,
                relu,
            } => {
                let (offset, multiplier, relu) =
                    (bias[i].wrapping_sub(correction), multiplier[i], *relu);
                for (out, &value) in out[start..start + cols].iter_mut().zip(values) {
                    *out = requantize(value.wrapping_add(offset), multiplier, relu);
                }
            }
        }
    }
}

/// Runs the microkernel of `kernel` on one tile.
fn run_kernel(
    kernel: Int8Kernel,
    groups: usize,
    a_panel: &[u32],
    b_panel: BPanel<'_>,
    correction: &[i32],
    tile: Tile<'_>,
) {
    match kernel {
        Int8Kernel::Scalar => kernel_portable::<4, 8>(groups, a_panel, b_panel, correction, tile),
        #[cfg(target_arch = "x86_64")]
        Int8Kernel::Avx2 => {
            // SAFETY: the matrix was packed for AVX2 by `PackedInt8::with_kernel`, which checked that
            // the CPU supports it; the kernel checks the panels' lengths itself.
            unsafe { int8_avx2::kernel::<6, 2>(groups, a_panel, b_panel, correction, tile) };
        }
        #[cfg(target_arch = "x86_64")]
        Int8Kernel::Avx512Vnni => {
            // SAFETY: as above, for AVX-512F and VNNI.
            unsafe { int8_vnni::kernel::<6, 4>(groups, a_panel, b_panel, correction, tile) };
        }
        #[allow(unreachable_patterns)]
        other => unreachable!("the {} int8 kernel does not exist here", other.name()),
    }
}

/// What one 32-bit lane of `vpdpbusd` computes: `acc + Σₜ u[t]·w[t]` over four unsigned bytes `u`
/// and four signed bytes `w` (the products and their sum are exact in 32 bits; the add wraps).
pub fn dpbusd_lane(acc: i32, u: u32, w: u32) -> i32 {
    let (u, w) = (u.to_le_bytes(), w.to_le_bytes());
    let mut sum = 0i32;
    for t in 0..4 {
        sum += i32::from(u[t]) * i32::from(w[t] as i8);
    }
    acc.wrapping_add(sum)
}

/// The portable kernel: the VNNI kernel's arithmetic written lane by lane — for each group of 4
/// terms, each column's 4 offset activation bytes times each row's 4 weight bytes
/// ([`dpbusd_lane`]) — and the correction `128 · rowsum` subtracted at the end.
fn kernel_portable<const MR: usize, const NR: usize>(
    groups: usize,
    a_panel: &[u32],
    b_panel: BPanel<'_>,
    correction: &[i32],
    mut tile: Tile<'_>,
) {
    let mut acc = [[0i32; NR]; MR];
    for g in 0..groups {
        let b_group = &b_panel.words[g * b_panel.stride..][..NR];
        for (i, acc_row) in acc.iter_mut().enumerate() {
            let w = a_panel[g * MR + i];
            for (sum, &u) in acc_row.iter_mut().zip(b_group) {
                *sum = dpbusd_lane(*sum, u, w);
            }
        }
    }
    for (i, acc_row) in acc.iter().enumerate().take(tile.rows) {
        tile.store_row(i, acc_row, correction[i]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lane_of_vpdpbusd_is_unsigned_times_signed() {
        // 255 is the unsigned byte 0xff (it would be −1 as a signed byte).
        let u = u32::from_le_bytes([255, 1, 128, 0]);
        let w = u32::from_le_bytes([1, (-1i8) as u8, (-128i8) as u8, 127]);
        assert_eq!(dpbusd_lane(10, u, w), 10 + 255 - 1 - 128 * 128);
    }

    #[test]
    fn the_offset_and_the_row_sums_cancel() {
        // One row of A, one column of C (but 8 columns so the packed path runs):
        // Σ w·(q + 128) − 128·Σ w = Σ w·q.
        let a = [3i8, -7, 127, -128, 2];
        let x = [-128i8, -1, 0, 127, 5];
        let b: Vec<i8> = x.iter().flat_map(|&v| [v; 8]).collect();
        let packed = PackedInt8::with_kernel(Int8Kernel::Scalar, &a, 1, 5);
        let mut c = [0i32; 8];
        gemm_i8(
            &packed,
            I8Matrix::row_major(&b, 5, 8),
            Int8Output::Sums(&mut c),
        );
        let expected: i32 = a
            .iter()
            .zip(&x)
            .map(|(&w, &q)| i32::from(w) * i32::from(q))
            .sum();
        assert_eq!(c, [expected; 8]);
    }
}
