//! The SGEMM kernels, `C = α·A·B + β·C` in f32, written as PTX text by the Rust functions below.
//!
//! Why generate instead of writing the `.ptx` file by hand: the inner loop is the same 64
//! fused multiply-adds written out for each of 8 steps, and four kernels share everything but how
//! they fetch A and B. Loops in Rust that print PTX keep that regular structure readable (and
//! impossible to get subtly different in one copy). [`ptx`] returns the whole module;
//! `tests/gpu.rs` writes it to `target/ptx/sgemm.ptx` so `ptxas` can check it without a GPU.
//!
//! # The algorithm (the classic 128×128 register-blocked SGEMM)
//! - **Block tile.** Each thread block of 256 threads computes one 128×128 tile of C. It walks along
//!   K in steps of **BK = 8**: for each step it copies a 128×8 slice of A and an 8×128 slice of B into
//!   shared memory, then every thread reads them from there.
//! - **Register tile.** The 256 threads form a 16×16 grid (`tx = tid % 16`, `ty = tid / 16`); each
//!   computes an 8×8 block of C held in 64 registers (`acc0…acc63`). For each k it reads 8 values of
//!   the A column and 8 of the B row (four 16-byte shared-memory loads) and does the 64 products of
//!   their outer product: 64 FMAs per 4 loads, so arithmetic, not memory, sets the pace.
//! - **Which 8 rows and columns.** Thread `(ty, tx)` owns rows `4·ty + {0..3}` and `64 + 4·ty + {0..3}`
//!   and columns `4·tx + {0..3}` and `64 + 4·tx + {0..3}`: two groups of 4, 64 apart, rather than 8 in
//!   a row. Then the 8 threads of a quarter-warp read 8 consecutive 16-byte pieces of a shared row,
//!   128 contiguous bytes: all 32 banks once, no bank conflict.
//! - **Shared layout.** Both slices are stored k-major: `As[k][m]`, `Bs[k][n]`, each row padded
//!   from 128 to 132 floats (528 bytes). The padding makes the transposing stores (below) free of
//!   bank conflicts. A slice takes 8 × 528 = 4224 bytes.
//! - **Double buffering.** There are two copies of (As, Bs), 8448 bytes apart. While the threads
//!   compute on one, the next slices are already on their way from global memory into registers;
//!   after the compute they go into the other copy, one barrier, and the copies swap roles. One
//!   barrier per step suffices because a copy is only overwritten two steps after it was read.
//! - **Global loads.** Every thread loads one float4 (16 bytes) of A and one of B per step:
//!   - A stored row-major `m × k` ("N", contiguous along k): thread t loads row `t/2`, k `4·(t%2)…+3`;
//!     two threads cover 32 contiguous bytes of a row; the 4 values go to 4 rows of `As` (a transpose).
//!   - A stored `k × m` ("T", i.e. the product uses Aᵀ of the stored matrix): thread t loads k-row
//!     `t/32`, columns `4·(t%32)…+3`, 512 contiguous bytes per warp, stored as one float4.
//!   - B stored `k × n` ("N") like A-"T"; B stored `n × k` ("T") like A-"N".
//! - **Edges.** Rows and columns beyond M, N and k beyond K are loaded as zeros (predicated loads) and
//!   never stored, so any M, N, K work. A float4 load must not straddle the end of a row, so the tiled
//!   kernels need the contiguous dimension and the leading dimension to be multiples of 4 and the
//!   pointers 16-byte aligned; the host checks this and otherwise uses `sgemm_strided`.
//! - **Epilogue.** `C = α·acc + β·C`; C is not read when β = 0 (BLAS semantics: old NaNs vanish).
//!   Rows of C are written as float4 when `N` and `ldc` are multiples of 4, else one float at a time.
//!
//! `sgemm_strided` is the same kernel with scalar loads through arbitrary row and column strides:
//! the fallback for unaligned views, odd leading dimensions and small awkward shapes.
//!
//! What it leaves out: tensor cores (TF32/`mma`/`wgmma`), `cp.async` copies, split-K for small M·N,
//! warp-level tiling and swizzled layouts. cuBLAS uses all of these; chapter 15 measures the distance.

use std::fmt::Write;

/// Rows of C per block tile.
pub const TILE_M: u32 = 128;
/// Columns of C per block tile.
pub const TILE_N: u32 = 128;
/// Threads per block.
pub const THREADS: u32 = 256;
/// The depth of one K step.
const BK: u32 = 8;
/// Bytes of one padded shared row (132 floats).
const ROW_BYTES: u32 = 132 * 4;
/// Bytes of one slice (A or B) in shared memory.
const SLICE_BYTES: u32 = BK * ROW_BYTES;
/// Distance between the two copies of (As, Bs).
const BUFFER_BYTES: u32 = 2 * SLICE_BYTES;
/// Total shared memory per block.
pub const SHARED_BYTES: u32 = 2 * BUFFER_BYTES;

// Checked when the crate compiles: the tiles fit the 48 KiB of static shared memory every GPU
// offers, and float4 reads from every padded row stay 16-byte aligned.
const _: () = assert!(SHARED_BYTES <= 48 * 1024);
const _: () = assert!(ROW_BYTES.is_multiple_of(16));

/// How a kernel fetches one operand.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Fetch {
    /// float4 loads; the operand's contiguous dimension is k (A stored m×k, B stored n×k).
    AlongK,
    /// float4 loads; the contiguous dimension is m (for A) or n (for B).
    AlongMn,
    /// Scalar loads through a row stride and a column stride.
    Strided,
}

/// Which operand a piece of code is for.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Operand {
    A,
    B,
}

impl Operand {
    /// `a` or `b`, for register names.
    fn name(self) -> &'static str {
        match self {
            Operand::A => "a",
            Operand::B => "b",
        }
    }
    /// Offset of this operand's slice inside one buffer of shared memory.
    fn slice_offset(self) -> u32 {
        match self {
            Operand::A => 0,
            Operand::B => SLICE_BYTES,
        }
    }
    /// The block's first index along this operand's non-k dimension (`m0` for A, `n0` for B) and
    /// that dimension's size.
    fn origin_and_size(self) -> (&'static str, &'static str) {
        match self {
            Operand::A => ("%m0", "%m"),
            Operand::B => ("%n0", "%n"),
        }
    }
}

/// A growing PTX text.
struct Ptx {
    text: String,
}

impl Ptx {
    /// One instruction (indented, with the `;` added).
    fn op(&mut self, instruction: &str) {
        let _ = writeln!(self.text, "    {instruction};");
    }
    /// A comment line.
    fn comment(&mut self, comment: &str) {
        let _ = writeln!(self.text, "    // {comment}");
    }
    /// A label.
    fn label(&mut self, label: &str) {
        let _ = writeln!(self.text, "{label}:");
    }
    /// Raw text (declarations).
    fn raw(&mut self, text: &str) {
        self.text.push_str(text);
    }
}

/// The complete PTX module: `sgemm_nn`, `sgemm_nt`, `sgemm_tn` and `sgemm_strided`.
pub fn ptx() -> String {
    let mut out = Ptx {
        text: String::new(),
    };
    out.raw(
        "// SGEMM kernels of dlfs, generated by src/gpu/kernels/sgemm.rs (read that file's comments).\n\
         .version 8.0\n.target sm_80\n.address_size 64\n\n",
    );
    let _ = writeln!(
        out.text,
        "// Two copies of the (As, Bs) slices, {SHARED_BYTES} bytes; each kernel that uses it gets its own.\n\
         .shared .align 16 .b8 sgemm_tiles[{SHARED_BYTES}];\n"
    );
    kernel(&mut out, "sgemm_nn", Fetch::AlongK, Fetch::AlongMn);
    kernel(&mut out, "sgemm_nt", Fetch::AlongK, Fetch::AlongK);
    kernel(&mut out, "sgemm_tn", Fetch::AlongMn, Fetch::AlongMn);
    kernel(&mut out, "sgemm_strided", Fetch::Strided, Fetch::Strided);
    out.text
}

/// One kernel. `fetch_a`/`fetch_b` choose how A and B come from global memory.
fn kernel(out: &mut Ptx, name: &str, fetch_a: Fetch, fetch_b: Fetch) {
    let strided = fetch_a == Fetch::Strided;
    let _ = writeln!(out.text, ".visible .entry {name}(");
    let params: &[&str] = if strided {
        &[
            ".param .u64 param_a",
            ".param .u64 param_b",
            ".param .u64 param_c",
            ".param .u32 param_m",
            ".param .u32 param_n",
            ".param .u32 param_k",
            ".param .u32 param_a_row_stride",
            ".param .u32 param_a_col_stride",
            ".param .u32 param_b_row_stride",
            ".param .u32 param_b_col_stride",
            ".param .u32 param_ldc",
            ".param .f32 param_alpha",
            ".param .f32 param_beta",
        ]
    } else {
        &[
            ".param .u64 param_a",
            ".param .u64 param_b",
            ".param .u64 param_c",
            ".param .u32 param_m",
            ".param .u32 param_n",
            ".param .u32 param_k",
            ".param .u32 param_lda",
            ".param .u32 param_ldb",
            ".param .u32 param_ldc",
            ".param .f32 param_alpha",
            ".param .f32 param_beta",
        ]
    };
    let _ = writeln!(out.text, "    {}\n)", params.join(",\n    "));
    // 256 threads per block, and at least 2 blocks per multiprocessor: caps registers at 128.
    let _ = writeln!(out.text, ".maxntid {THREADS}, 1, 1\n.minnctapersm 2\n{{");
    out.raw(
        "    .reg .pred %p, %q, %a_row_ok, %b_row_ok, %a_ok<4>, %b_ok<4>, %row_ok, %c_vec, %beta_nonzero;\n\
         \x20   .reg .b32 %thread, %tx, %ty, %m0, %n0, %m, %n, %k, %ldc, %tiles, %tile, %buf, %t0, %t1, %t2;\n\
         \x20   .reg .b32 %a_k, %b_k, %a_store, %b_store, %a_read, %b_read, %row, %col;\n\
         \x20   .reg .b64 %a, %b, %c, %a_ptr, %b_ptr, %a_step, %b_step, %a_kstep, %b_kstep, %d0, %d1, %addr;\n\
         \x20   .reg .f32 %alpha, %beta, %v<4>, %old<4>;\n\
         \x20   .reg .f32 %acc<64>, %fa<16>, %fb<16>, %ga<4>, %gb<4>;\n",
    );
    if strided {
        out.raw("    .reg .b32 %a_rs, %a_cs, %b_rs, %b_cs;\n");
    } else {
        out.raw("    .reg .b32 %lda, %ldb;\n");
    }
    out.comment("--- parameters and thread coordinates ---");
    for p in ["a", "b", "c"] {
        out.op(&format!("ld.param.u64 %{p}, [param_{p}]"));
        out.op(&format!("cvta.to.global.u64 %{p}, %{p}"));
    }
    for p in ["m", "n", "k", "ldc"] {
        out.op(&format!("ld.param.u32 %{p}, [param_{p}]"));
    }
    if strided {
        for (reg, param) in [
            ("a_rs", "a_row_stride"),
            ("a_cs", "a_col_stride"),
            ("b_rs", "b_row_stride"),
            ("b_cs", "b_col_stride"),
        ] {
            out.op(&format!("ld.param.u32 %{reg}, [param_{param}]"));
        }
    } else {
        out.op("ld.param.u32 %lda, [param_lda]");
        out.op("ld.param.u32 %ldb, [param_ldb]");
    }
    out.op("ld.param.f32 %alpha, [param_alpha]");
    out.op("ld.param.f32 %beta, [param_beta]");
    out.op("mov.u32 %thread, %tid.x");
    out.op("and.b32 %tx, %thread, 15");
    out.op("shr.u32 %ty, %thread, 4");
    out.comment("block (x, y) computes C[m0 .. m0+128, n0 .. n0+128]");
    out.op("mov.u32 %t0, %ctaid.x");
    out.op(&format!("mul.lo.u32 %n0, %t0, {TILE_N}"));
    out.op("mov.u32 %t0, %ctaid.y");
    out.op(&format!("mul.lo.u32 %m0, %t0, {TILE_M}"));

    fetch_setup(out, Operand::A, fetch_a);
    fetch_setup(out, Operand::B, fetch_b);

    out.comment("--- where this thread reads its 8 A values and 8 B values in shared memory ---");
    out.op("mov.u32 %t0, sgemm_tiles");
    out.op("shl.b32 %t1, %ty, 4");
    out.op("add.u32 %a_read, %t0, %t1");
    out.op("shl.b32 %t1, %tx, 4");
    out.op("add.u32 %b_read, %t0, %t1");
    out.op(&format!("add.u32 %b_read, %b_read, {SLICE_BYTES}"));

    out.comment("--- acc = 0; tiles = ceil(K / 8) ---");
    for i in 0..64 {
        out.op(&format!("mov.f32 %acc{i}, 0f00000000"));
    }
    out.op(&format!("add.u32 %tiles, %k, {}", BK - 1));
    out.op("shr.u32 %tiles, %tiles, 3");
    out.op("mov.u32 %buf, 0");
    out.op("setp.eq.u32 %p, %tiles, 0");
    out.op("@%p bra EPILOGUE");

    out.comment("--- prologue: slice 0 into buffer 0 ---");
    fetch_load(out, Operand::A, fetch_a);
    fetch_load(out, Operand::B, fetch_b);
    fetch_store(out, Operand::A, fetch_a);
    fetch_store(out, Operand::B, fetch_b);
    fetch_advance(out, Operand::A);
    fetch_advance(out, Operand::B);
    out.op("bar.sync 0");
    out.op("mov.u32 %tile, 1");

    out.label("MAIN_LOOP");
    out.comment("start loading slice `tile` into registers (past the end of K the loads are off)");
    fetch_load(out, Operand::A, fetch_a);
    fetch_load(out, Operand::B, fetch_b);
    out.comment("compute on the slice in buffer `buf`: 8 steps of an 8x8 outer product");
    out.op("add.u32 %t1, %a_read, %buf");
    out.op("add.u32 %t2, %b_read, %buf");
    for kk in 0..BK {
        // Alternate two register sets so the loads of step kk+1 need not wait for step kk's FMAs.
        let set = (kk % 2) * 8;
        let row = kk * ROW_BYTES;
        out.op(&format!(
            "ld.shared.v4.f32 {{%fa{}, %fa{}, %fa{}, %fa{}}}, [%t1+{row}]",
            set,
            set + 1,
            set + 2,
            set + 3
        ));
        out.op(&format!(
            "ld.shared.v4.f32 {{%fa{}, %fa{}, %fa{}, %fa{}}}, [%t1+{}]",
            set + 4,
            set + 5,
            set + 6,
            set + 7,
            row + 256
        ));
        out.op(&format!(
            "ld.shared.v4.f32 {{%fb{}, %fb{}, %fb{}, %fb{}}}, [%t2+{row}]",
            set,
            set + 1,
            set + 2,
            set + 3
        ));
        out.op(&format!(
            "ld.shared.v4.f32 {{%fb{}, %fb{}, %fb{}, %fb{}}}, [%t2+{}]",
            set + 4,
            set + 5,
            set + 6,
            set + 7,
            row + 256
        ));
        for i in 0..8 {
            for j in 0..8 {
                out.op(&format!(
                    "fma.rn.f32 %acc{a}, %fa{x}, %fb{y}, %acc{a}",
                    a = i * 8 + j,
                    x = set + i,
                    y = set + j
                ));
            }
        }
    }
    out.op("setp.ge.u32 %p, %tile, %tiles");
    out.op("@%p bra EPILOGUE");
    out.comment("the slice just loaded goes into the other buffer; then one barrier");
    out.op(&format!("xor.b32 %buf, %buf, {BUFFER_BYTES}"));
    fetch_store(out, Operand::A, fetch_a);
    fetch_store(out, Operand::B, fetch_b);
    fetch_advance(out, Operand::A);
    fetch_advance(out, Operand::B);
    out.op("bar.sync 0");
    out.op("add.u32 %tile, %tile, 1");
    out.op("bra.uni MAIN_LOOP");

    epilogue(out, strided);
    out.raw("}\n\n");
}

/// Computes, once, where this thread loads from (`%x_ptr`), how far to move per slice
/// (`%x_step`), which k it loads (`%x_k`), whether its row/column exists (`%x_row_ok`), and where
/// it stores in shared memory (`%x_store`, relative to the buffer).
fn fetch_setup(out: &mut Ptx, operand: Operand, fetch: Fetch) {
    let x = operand.name();
    let (origin, size) = operand.origin_and_size();
    let base = format!("%{x}");
    let leading = format!("%ld{x}");
    out.comment(&format!(
        "--- operand {}: {} ---",
        x.to_uppercase(),
        match fetch {
            Fetch::AlongK => "float4 loads along k, stored transposed into shared memory",
            Fetch::AlongMn => "float4 loads along the rows of the stored k-major matrix",
            Fetch::Strided => "scalar loads through row and column strides",
        }
    ));
    match fetch {
        Fetch::AlongK => {
            out.op("shr.u32 %t0, %thread, 1"); // row (m or n) within the tile: 0..127
            out.op("and.b32 %t1, %thread, 1");
            out.op(&format!("shl.b32 %{x}_k, %t1, 2")); // k within the slice: 0 or 4
            out.op(&format!("add.u32 %t2, {origin}, %t0"));
            out.op(&format!("setp.lt.u32 %{x}_row_ok, %t2, {size}"));
            out.op(&format!("mul.wide.u32 %d0, %t2, {leading}"));
            out.op(&format!("cvt.u64.u32 %d1, %{x}_k"));
            out.op("add.s64 %d0, %d0, %d1");
            out.op("shl.b64 %d0, %d0, 2");
            out.op(&format!("add.s64 %{x}_ptr, {base}, %d0"));
            out.op(&format!("mov.u64 %{x}_step, {}", BK * 4));
            out.op(&format!("mul.lo.u32 %{x}_store, %{x}_k, {ROW_BYTES}"));
            out.op("shl.b32 %t1, %t0, 2");
            out.op(&format!("add.u32 %{x}_store, %{x}_store, %t1"));
        }
        Fetch::AlongMn => {
            out.op(&format!("shr.u32 %{x}_k, %thread, 5")); // k row within the slice: 0..7
            out.op("and.b32 %t0, %thread, 31");
            out.op("shl.b32 %t0, %t0, 2"); // column within the tile: 0, 4, …, 124
            out.op(&format!("add.u32 %t2, {origin}, %t0"));
            out.op(&format!("setp.lt.u32 %{x}_row_ok, %t2, {size}"));
            out.op(&format!("mul.wide.u32 %d0, %{x}_k, {leading}"));
            out.op("cvt.u64.u32 %d1, %t2");
            out.op("add.s64 %d0, %d0, %d1");
            out.op("shl.b64 %d0, %d0, 2");
            out.op(&format!("add.s64 %{x}_ptr, {base}, %d0"));
            out.op(&format!("mul.wide.u32 %{x}_step, {leading}, {}", BK * 4));
            out.op(&format!("mul.lo.u32 %{x}_store, %{x}_k, {ROW_BYTES}"));
            out.op("shl.b32 %t1, %t0, 2");
            out.op(&format!("add.u32 %{x}_store, %{x}_store, %t1"));
        }
        Fetch::Strided => {
            // Element (row, k) of the operand's m×k (A) or n×k (B) view lives at
            // base + row·row_stride + k·col_stride for A; for B the view is k×n, so its (k, col)
            // lives at base + k·b_rs + col·b_cs. Thread t takes row/col t % 128 and k = t / 128 + 2j.
            let (row_stride, k_stride) = match operand {
                Operand::A => ("%a_rs", "%a_cs"),
                Operand::B => ("%b_cs", "%b_rs"),
            };
            out.op("and.b32 %t0, %thread, 127");
            out.op(&format!("shr.u32 %{x}_k, %thread, 7"));
            out.op(&format!("add.u32 %t2, {origin}, %t0"));
            out.op(&format!("setp.lt.u32 %{x}_row_ok, %t2, {size}"));
            out.op(&format!("mul.wide.u32 %d0, %t2, {row_stride}"));
            out.op(&format!("mul.wide.u32 %d1, %{x}_k, {k_stride}"));
            out.op("add.s64 %d0, %d0, %d1");
            out.op("shl.b64 %d0, %d0, 2");
            out.op(&format!("add.s64 %{x}_ptr, {base}, %d0"));
            out.op(&format!("mul.wide.u32 %{x}_kstep, {k_stride}, 8")); // 2 steps of k, in bytes
            out.op(&format!("mul.wide.u32 %{x}_step, {k_stride}, {}", BK * 4));
            out.op(&format!("mul.lo.u32 %{x}_store, %{x}_k, {ROW_BYTES}"));
            out.op("shl.b32 %t1, %t0, 2");
            out.op(&format!("add.u32 %{x}_store, %{x}_store, %t1"));
        }
    }
    out.op("mov.u32 %t0, sgemm_tiles");
    out.op(&format!("add.u32 %{x}_store, %{x}_store, %t0"));
    if operand.slice_offset() != 0 {
        out.op(&format!(
            "add.u32 %{x}_store, %{x}_store, {}",
            operand.slice_offset()
        ));
    }
}

/// Loads this thread's share of the current slice into `%ga0..3` / `%gb0..3` (zeros where the
/// element is outside the matrix).
fn fetch_load(out: &mut Ptx, operand: Operand, fetch: Fetch) {
    let x = operand.name();
    for j in 0..4 {
        out.op(&format!("mov.f32 %g{x}{j}, 0f00000000"));
    }
    match fetch {
        Fetch::AlongK | Fetch::AlongMn => {
            out.op(&format!("setp.lt.u32 %{x}_ok0, %{x}_k, %k"));
            out.op(&format!("and.pred %{x}_ok0, %{x}_ok0, %{x}_row_ok"));
            out.op(&format!(
                "@%{x}_ok0 ld.global.nc.v4.f32 {{%g{x}0, %g{x}1, %g{x}2, %g{x}3}}, [%{x}_ptr]"
            ));
        }
        Fetch::Strided => {
            out.op(&format!("mov.u64 %addr, %{x}_ptr"));
            for j in 0..4 {
                if j > 0 {
                    out.op(&format!("add.s64 %addr, %addr, %{x}_kstep"));
                }
                out.op(&format!("add.u32 %t0, %{x}_k, {}", 2 * j));
                out.op(&format!("setp.lt.u32 %{x}_ok{j}, %t0, %k"));
                out.op(&format!("and.pred %{x}_ok{j}, %{x}_ok{j}, %{x}_row_ok"));
                out.op(&format!("@%{x}_ok{j} ld.global.f32 %g{x}{j}, [%addr]"));
            }
        }
    }
}

/// Stores the registers loaded by [`fetch_load`] into the shared buffer `%buf`.
fn fetch_store(out: &mut Ptx, operand: Operand, fetch: Fetch) {
    let x = operand.name();
    out.op(&format!("add.u32 %t0, %{x}_store, %buf"));
    match fetch {
        Fetch::AlongK => {
            // The 4 values are 4 consecutive k of one row: 4 rows of the k-major tile.
            for j in 0..4 {
                out.op(&format!("st.shared.f32 [%t0+{}], %g{x}{j}", j * ROW_BYTES));
            }
        }
        Fetch::AlongMn => {
            out.op(&format!(
                "st.shared.v4.f32 [%t0], {{%g{x}0, %g{x}1, %g{x}2, %g{x}3}}"
            ));
        }
        Fetch::Strided => {
            // Value j is k = first k + 2j: shared rows 2j apart.
            for j in 0..4 {
                out.op(&format!(
                    "st.shared.f32 [%t0+{}], %g{x}{j}",
                    2 * j * ROW_BYTES
                ));
            }
        }
    }
}

/// Moves the load pointer and k index one slice (8 k) further.
fn fetch_advance(out: &mut Ptx, operand: Operand) {
    let x = operand.name();
    out.op(&format!("add.u32 %{x}_k, %{x}_k, {BK}"));
    out.op(&format!("add.s64 %{x}_ptr, %{x}_ptr, %{x}_step"));
}

/// `C = α·acc + β·C` for the thread's 8×8 block: float4 stores when a row of C is 16-byte aligned
/// (N and ldc multiples of 4, checked here; the base pointer is checked by the host), scalar ones
/// otherwise. The strided kernel always stores scalars.
fn epilogue(out: &mut Ptx, strided: bool) {
    out.label("EPILOGUE");
    out.comment("--- C = alpha * acc + beta * C (C is not read when beta == 0) ---");
    out.op("setp.neu.f32 %beta_nonzero, %beta, 0f00000000");
    if !strided {
        out.op("or.b32 %t0, %n, %ldc");
        out.op("and.b32 %t0, %t0, 3");
        out.op("setp.eq.u32 %c_vec, %t0, 0");
    }
    for i in 0..8u32 {
        let row_in_tile = if i < 4 { i } else { 64 + (i - 4) };
        out.comment(&format!("row m0 + 4*ty + {row_in_tile}"));
        out.op("shl.b32 %t0, %ty, 2");
        out.op(&format!("add.u32 %row, %m0, {row_in_tile}"));
        out.op("add.u32 %row, %row, %t0");
        out.op("setp.lt.u32 %row_ok, %row, %m");
        out.op("mul.wide.u32 %d0, %row, %ldc");
        for q in 0..2u32 {
            out.op("shl.b32 %t0, %tx, 2");
            out.op(&format!("add.u32 %col, %n0, {}", q * 64));
            out.op("add.u32 %col, %col, %t0");
            out.op("cvt.u64.u32 %d1, %col");
            out.op("add.s64 %d1, %d0, %d1");
            out.op("shl.b64 %d1, %d1, 2");
            out.op("add.s64 %addr, %c, %d1");
            let acc = |j: u32| format!("%acc{}", i * 8 + q * 4 + j);
            for j in 0..4 {
                out.op(&format!("mul.rn.f32 %v{j}, {}, %alpha", acc(j)));
                out.op(&format!("mov.f32 %old{j}, 0f00000000"));
            }
            if !strided {
                // Vector path: the whole group of 4 is inside C when col < N (N % 4 == 0).
                out.op("setp.lt.u32 %p, %col, %n");
                out.op("and.pred %p, %p, %row_ok");
                out.op("and.pred %p, %p, %c_vec");
                out.op("and.pred %q, %p, %beta_nonzero");
                out.op("@%q ld.global.v4.f32 {%old0, %old1, %old2, %old3}, [%addr]");
                for j in 0..4 {
                    out.op(&format!("fma.rn.f32 %v{j}, %old{j}, %beta, %v{j}"));
                }
                out.op("@%p st.global.v4.f32 [%addr], {%v0, %v1, %v2, %v3}");
            }
            // Scalar path: each of the 4 columns on its own.
            for j in 0..4 {
                out.op(&format!("add.u32 %t1, %col, {j}"));
                out.op("setp.lt.u32 %p, %t1, %n");
                out.op("and.pred %p, %p, %row_ok");
                if !strided {
                    out.op("not.pred %q, %c_vec");
                    out.op("and.pred %p, %p, %q");
                }
                out.op("and.pred %q, %p, %beta_nonzero");
                out.op(&format!("mov.f32 %old{j}, 0f00000000"));
                out.op(&format!("@%q ld.global.f32 %old{j}, [%addr+{}]", 4 * j));
                out.op(&format!("mul.rn.f32 %v{j}, {}, %alpha", acc(j)));
                out.op(&format!("fma.rn.f32 %v{j}, %old{j}, %beta, %v{j}"));
                out.op(&format!("@%p st.global.f32 [%addr+{}], %v{j}", 4 * j));
            }
        }
    }
    out.op("ret");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_module_has_four_kernels_and_balanced_braces() {
        let text = ptx();
        for name in ["sgemm_nn", "sgemm_nt", "sgemm_tn", "sgemm_strided"] {
            assert!(text.contains(&format!(".visible .entry {name}(")), "{name}");
        }
        assert_eq!(text.matches('{').count(), text.matches('}').count());
        // 8 steps × 64 FMAs per kernel in the main loop.
        assert!(text.matches("fma.rn.f32 %acc").count() >= 4 * 8 * 64);
    }
}
