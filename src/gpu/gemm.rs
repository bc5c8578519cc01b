//! `C = α·A·B + β·C` on the GPU, through strided views of device buffers — the GPU twin of
//! [`crate::linalg::gemm()`].
//!
//! [`DeviceMatRef`] / [`DeviceMatMut`] are what [`crate::linalg::MatRef`] / `MatMut` are on the
//! host: element `(i, j)` at `offset + i·row_stride + j·col_stride` of a buffer, a transpose is a
//! swap of strides. [`Gpu::gemm`] looks at the strides and picks a kernel ([`plan_gemm`]):
//!
//! - `sgemm_nn` (A and B row-major), `sgemm_nt` (B transposed: `X·Wᵀ`, a linear layer's forward) or
//!   `sgemm_tn` (A transposed: `dYᵀ·X`, a weight gradient) — the fast 128×128 tiled kernels, which
//!   load 16 bytes at a time and so need the contiguous dimension and the leading dimension to be
//!   multiples of 4 and the views to start 16-byte aligned;
//! - `sgemm_strided` otherwise: the same tiling with one-value loads through any strides.
//!
//! A C stored column-major (row stride 1) is handled as `Cᵀ = Bᵀ·Aᵀ`. See
//! [`super::kernels::sgemm`] for how the kernels work.

use super::buffer::DeviceBuffer;
use super::device::Gpu;
use super::kernels::sgemm::{THREADS, TILE_M, TILE_N};
use super::module::KernelArg;
use crate::error::{Error, Result};

/// Checks that a view stays inside a buffer of `len` values (as the host views do).
fn check_view(
    what: &str,
    len: usize,
    offset: usize,
    rows: usize,
    cols: usize,
    row_stride: usize,
    col_stride: usize,
) {
    if rows == 0 || cols == 0 {
        return;
    }
    let last = (rows - 1)
        .checked_mul(row_stride)
        .and_then(|r| {
            (cols - 1)
                .checked_mul(col_stride)
                .and_then(|c| r.checked_add(c))
        })
        .and_then(|l| l.checked_add(offset));
    assert!(
        last.is_some_and(|l| l < len),
        "{what}: a {rows}×{cols} view at offset {offset} with strides ({row_stride}, {col_stride}) \
         needs more than the {len} values of its device buffer"
    );
}

/// A read-only strided view of a matrix in a device buffer.
#[derive(Clone, Copy, Debug)]
pub struct DeviceMatRef<'a> {
    buffer: &'a DeviceBuffer<f32>,
    offset: usize,
    rows: usize,
    cols: usize,
    row_stride: usize,
    col_stride: usize,
}

impl<'a> DeviceMatRef<'a> {
    /// The first `rows × cols` values of `buffer`, row-major.
    pub fn new(buffer: &'a DeviceBuffer<f32>, rows: usize, cols: usize) -> DeviceMatRef<'a> {
        DeviceMatRef::with_strides(buffer, 0, rows, cols, cols, 1)
    }

    /// A view with an offset and explicit strides. Panics if it reaches outside the buffer.
    pub fn with_strides(
        buffer: &'a DeviceBuffer<f32>,
        offset: usize,
        rows: usize,
        cols: usize,
        row_stride: usize,
        col_stride: usize,
    ) -> DeviceMatRef<'a> {
        check_view(
            "DeviceMatRef",
            buffer.len(),
            offset,
            rows,
            cols,
            row_stride,
            col_stride,
        );
        DeviceMatRef {
            buffer,
            offset,
            rows,
            cols,
            row_stride,
            col_stride,
        }
    }

    /// The transpose (free: the strides swap).
    pub fn t(self) -> DeviceMatRef<'a> {
        DeviceMatRef {
            rows: self.cols,
            cols: self.rows,
            row_stride: self.col_stride,
            col_stride: self.row_stride,
            ..self
        }
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Number of columns.
    pub fn cols(&self) -> usize {
        self.cols
    }
}

/// A writable strided view of a matrix in a device buffer.
#[derive(Debug)]
pub struct DeviceMatMut<'a> {
    buffer: &'a mut DeviceBuffer<f32>,
    offset: usize,
    rows: usize,
    cols: usize,
    row_stride: usize,
    col_stride: usize,
}

impl<'a> DeviceMatMut<'a> {
    /// The first `rows × cols` values of `buffer`, row-major.
    pub fn new(buffer: &'a mut DeviceBuffer<f32>, rows: usize, cols: usize) -> DeviceMatMut<'a> {
        DeviceMatMut::with_strides(buffer, 0, rows, cols, cols, 1)
    }

    /// A view with an offset and explicit strides. Panics if it reaches outside the buffer.
    pub fn with_strides(
        buffer: &'a mut DeviceBuffer<f32>,
        offset: usize,
        rows: usize,
        cols: usize,
        row_stride: usize,
        col_stride: usize,
    ) -> DeviceMatMut<'a> {
        check_view(
            "DeviceMatMut",
            buffer.len(),
            offset,
            rows,
            cols,
            row_stride,
            col_stride,
        );
        DeviceMatMut {
            buffer,
            offset,
            rows,
            cols,
            row_stride,
            col_stride,
        }
    }

    /// The transpose, writable.
    pub fn t(self) -> DeviceMatMut<'a> {
        DeviceMatMut {
            rows: self.cols,
            cols: self.rows,
            row_stride: self.col_stride,
            col_stride: self.row_stride,
            ..self
        }
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Number of columns.
    pub fn cols(&self) -> usize {
        self.cols
    }
}

/// Which kernel [`Gpu::gemm`] runs for a product, and with which arguments.
#[derive(Clone, Debug, PartialEq)]
pub struct GemmPlan {
    /// `sgemm_nn`, `sgemm_nt`, `sgemm_tn` or `sgemm_strided`.
    pub kernel: &'static str,
    /// True when C is column-major and the product is computed as `Cᵀ = Bᵀ·Aᵀ`.
    pub transposed_output: bool,
    /// Grid of blocks: (⌈N/128⌉, ⌈M/128⌉) of the product actually launched.
    pub grid: [u32; 3],
}

/// An operand of the product actually launched: its buffer, offset, shape and strides.
#[derive(Clone, Copy, Debug)]
struct Operand<'a> {
    buffer: &'a DeviceBuffer<f32>,
    offset: usize,
    rows: usize,
    cols: usize,
    row_stride: usize,
    col_stride: usize,
}

/// How an operand is laid out: the contiguous dimension and the leading dimension, if any.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Layout {
    /// Row-major: `(i, j)` at `i·ld + j`.
    RowMajor(usize),
    /// Column-major: `(i, j)` at `i + j·ld` (the transpose of a row-major matrix).
    ColumnMajor(usize),
    /// Neither stride is 1.
    Strided,
}

/// Offset, shape and strides of an operand, without its buffer (what the kernel choice depends on).
#[derive(Clone, Copy, Debug)]
struct Shape {
    offset: usize,
    rows: usize,
    cols: usize,
    row_stride: usize,
    col_stride: usize,
}

impl Operand<'_> {
    fn shape(&self) -> Shape {
        Shape {
            offset: self.offset,
            rows: self.rows,
            cols: self.cols,
            row_stride: self.row_stride,
            col_stride: self.col_stride,
        }
    }
}

fn layout(op: Shape) -> Layout {
    if op.col_stride == 1 {
        Layout::RowMajor(op.row_stride)
    } else if op.row_stride == 1 {
        Layout::ColumnMajor(op.col_stride)
    } else {
        Layout::Strided
    }
}

/// The tiled kernel that fits (A layout, B layout, shape, alignment), if any.
fn tiled_kernel(a: Shape, b: Shape, c_offset: usize) -> Option<&'static str> {
    let (m, k, n) = (a.rows, a.cols, b.cols);
    let aligned = |x: usize| x.is_multiple_of(4);
    // Views must start on a 16-byte boundary (buffers themselves are 256-byte aligned by the driver).
    if !(aligned(a.offset) && aligned(b.offset) && aligned(c_offset)) {
        return None;
    }
    match (layout(a), layout(b)) {
        (Layout::RowMajor(lda), Layout::RowMajor(ldb))
            if aligned(k) && aligned(lda) && aligned(n) && aligned(ldb) =>
        {
            Some("sgemm_nn")
        }
        (Layout::RowMajor(lda), Layout::ColumnMajor(ldb))
            if aligned(k) && aligned(lda) && aligned(ldb) =>
        {
            Some("sgemm_nt")
        }
        (Layout::ColumnMajor(lda), Layout::RowMajor(ldb))
            if aligned(m) && aligned(lda) && aligned(n) && aligned(ldb) =>
        {
            Some("sgemm_tn")
        }
        _ => None,
    }
}

/// The operands of the product actually launched: (A, B, C offset, ldc, transposed output).
/// A column-major C is computed as `Cᵀ = Bᵀ·Aᵀ`, with `Cᵀ` row-major.
fn orient<'a>(
    a: DeviceMatRef<'a>,
    b: DeviceMatRef<'a>,
    c: &DeviceMatMut<'_>,
) -> (Operand<'a>, Operand<'a>, usize, usize, bool) {
    let op = |v: DeviceMatRef<'a>| Operand {
        buffer: v.buffer,
        offset: v.offset,
        rows: v.rows,
        cols: v.cols,
        row_stride: v.row_stride,
        col_stride: v.col_stride,
    };
    if c.col_stride == 1 || c.rows <= 1 {
        (op(a), op(b), c.offset, c.row_stride, false)
    } else {
        assert!(
            c.row_stride == 1 || c.cols <= 1,
            "Gpu::gemm: C must have a unit stride along rows or columns, got strides ({}, {})",
            c.row_stride,
            c.col_stride
        );
        (op(b.t()), op(a.t()), c.offset, c.col_stride, true)
    }
}

/// The kernel and grid [`Gpu::gemm`] uses for these views (panics on shapes that do not fit, like
/// [`Gpu::gemm`]).
pub fn plan_gemm(a: DeviceMatRef<'_>, b: DeviceMatRef<'_>, c: &DeviceMatMut<'_>) -> GemmPlan {
    check_shapes(&a, &b, c);
    let (a, b, c_offset, _, transposed_output) = orient(a, b, c);
    let kernel = tiled_kernel(a.shape(), b.shape(), c_offset).unwrap_or("sgemm_strided");
    GemmPlan {
        kernel,
        transposed_output,
        grid: [
            b.cols.div_ceil(TILE_N as usize).max(1) as u32,
            a.rows.div_ceil(TILE_M as usize).max(1) as u32,
            1,
        ],
    }
}

fn check_shapes(a: &DeviceMatRef<'_>, b: &DeviceMatRef<'_>, c: &DeviceMatMut<'_>) {
    assert!(
        a.cols == b.rows && c.rows == a.rows && c.cols == b.cols,
        "Gpu::gemm: shapes A {}×{}, B {}×{}, C {}×{} do not fit C = A·B",
        a.rows,
        a.cols,
        b.rows,
        b.cols,
        c.rows,
        c.cols
    );
}

/// A size or stride as the kernels' `u32`, refusing values whose products could overflow the
/// kernels' 32-bit tile arithmetic.
fn dim(value: usize, what: &str) -> Result<u32> {
    if value <= i32::MAX as usize {
        Ok(value as u32)
    } else {
        Err(Error::Gpu(format!(
            "Gpu::gemm: {what} = {value} is larger than the kernels handle (2³¹ − 1)"
        )))
    }
}

impl Gpu {
    /// `C = α·A·B + β·C` on the device. When `β == 0`, C's old contents are not read (even NaN is
    /// overwritten), as in BLAS. Panics if the shapes do not fit; errors come from the driver.
    pub fn gemm(
        &self,
        alpha: f32,
        a: DeviceMatRef<'_>,
        b: DeviceMatRef<'_>,
        beta: f32,
        c: DeviceMatMut<'_>,
    ) -> Result<()> {
        check_shapes(&a, &b, &c);
        let (a, b, c_offset, ldc, _) = orient(a, b, &c);
        let kernel = tiled_kernel(a.shape(), b.shape(), c_offset).unwrap_or("sgemm_strided");
        self.launch_gemm(kernel, alpha, a, b, beta, c, c_offset, ldc)
    }

    /// Like [`Gpu::gemm`], but always with the general `sgemm_strided` kernel (for tests and for
    /// measuring what the aligned kernels gain).
    pub fn gemm_strided(
        &self,
        alpha: f32,
        a: DeviceMatRef<'_>,
        b: DeviceMatRef<'_>,
        beta: f32,
        c: DeviceMatMut<'_>,
    ) -> Result<()> {
        check_shapes(&a, &b, &c);
        let (a, b, c_offset, ldc, _) = orient(a, b, &c);
        self.launch_gemm("sgemm_strided", alpha, a, b, beta, c, c_offset, ldc)
    }

    #[allow(clippy::too_many_arguments)]
    fn launch_gemm(
        &self,
        kernel: &'static str,
        alpha: f32,
        a: Operand<'_>,
        b: Operand<'_>,
        beta: f32,
        c: DeviceMatMut<'_>,
        c_offset: usize,
        ldc: usize,
    ) -> Result<()> {
        let (m, k, n) = (a.rows, a.cols, b.cols);
        if m == 0 || n == 0 {
            return Ok(());
        }
        let grid = [
            dim(n.div_ceil(TILE_N as usize), "N / 128")?,
            dim(m.div_ceil(TILE_M as usize), "M / 128")?,
            1,
        ];
        if grid[1] > 65535 {
            return Err(Error::Gpu(format!(
                "Gpu::gemm: M = {m} needs {} row tiles; the grid allows 65535 (split the product)",
                grid[1]
            )));
        }
        let address =
            |buffer: &DeviceBuffer<f32>, offset: usize| buffer.device_pointer() + 4 * offset as u64;
        let mut args = vec![
            KernelArg::Pointer(address(a.buffer, a.offset)),
            KernelArg::Pointer(address(b.buffer, b.offset)),
            KernelArg::Pointer(address(c.buffer, c_offset)),
            KernelArg::U32(dim(m, "M")?),
            KernelArg::U32(dim(n, "N")?),
            KernelArg::U32(dim(k, "K")?),
        ];
        let leading = |layout: Layout| match layout {
            Layout::RowMajor(ld) | Layout::ColumnMajor(ld) => ld,
            Layout::Strided => unreachable!("tiled kernels are only chosen for unit strides"),
        };
        if kernel == "sgemm_strided" {
            args.push(KernelArg::U32(dim(a.row_stride, "A's row stride")?));
            args.push(KernelArg::U32(dim(a.col_stride, "A's column stride")?));
            args.push(KernelArg::U32(dim(b.row_stride, "B's row stride")?));
            args.push(KernelArg::U32(dim(b.col_stride, "B's column stride")?));
        } else {
            args.push(KernelArg::U32(dim(leading(layout(a.shape())), "lda")?));
            args.push(KernelArg::U32(dim(leading(layout(b.shape())), "ldb")?));
        }
        args.push(KernelArg::U32(dim(ldc, "ldc")?));
        args.push(KernelArg::F32(alpha));
        args.push(KernelArg::F32(beta));
        // SAFETY: the arguments follow the kernel's parameter list (sgemm.rs: a, b, c, m, n, k, then
        // lda, ldb or the four strides, then ldc, alpha, beta). Every view was checked against its
        // buffer when it was made, and the kernels touch only elements (i, p) of A with i < M, p < K,
        // (p, j) of B with j < N, and (i, j) of C — all inside those views. The tiled kernels' 16-byte
        // loads and stores are aligned and stay in a row because `tiled_kernel` checked the offsets,
        // the leading dimensions and the contiguous dimensions for multiples of 4.
        unsafe { self.launch_builtin(kernel, grid, [THREADS, 1, 1], &args) }
    }

    /// `C = A·B + β·C` on row-major device buffers: `a` is `m × k`, `b` is `k × n`, `c` is `m × n`.
    #[allow(clippy::too_many_arguments)]
    pub fn gemm_nn(
        &self,
        m: usize,
        n: usize,
        k: usize,
        a: &DeviceBuffer<f32>,
        b: &DeviceBuffer<f32>,
        c: &mut DeviceBuffer<f32>,
        beta: f32,
    ) -> Result<()> {
        self.gemm(
            1.0,
            DeviceMatRef::new(a, m, k),
            DeviceMatRef::new(b, k, n),
            beta,
            DeviceMatMut::new(c, m, n),
        )
    }

    /// `C = A·Bᵀ + β·C`: `a` is `m × k`, `b` is stored `n × k`, `c` is `m × n` (a linear layer's
    /// forward `Y = X·Wᵀ`).
    #[allow(clippy::too_many_arguments)]
    pub fn gemm_nt(
        &self,
        m: usize,
        n: usize,
        k: usize,
        a: &DeviceBuffer<f32>,
        b: &DeviceBuffer<f32>,
        c: &mut DeviceBuffer<f32>,
        beta: f32,
    ) -> Result<()> {
        self.gemm(
            1.0,
            DeviceMatRef::new(a, m, k),
            DeviceMatRef::new(b, n, k).t(),
            beta,
            DeviceMatMut::new(c, m, n),
        )
    }

    /// `C = Aᵀ·B + β·C`: `a` is stored `k × m`, `b` is `k × n`, `c` is `m × n` (a weight gradient
    /// `dW = dYᵀ·X`).
    #[allow(clippy::too_many_arguments)]
    pub fn gemm_tn(
        &self,
        m: usize,
        n: usize,
        k: usize,
        a: &DeviceBuffer<f32>,
        b: &DeviceBuffer<f32>,
        c: &mut DeviceBuffer<f32>,
        beta: f32,
    ) -> Result<()> {
        self.gemm(
            1.0,
            DeviceMatRef::new(a, k, m).t(),
            DeviceMatRef::new(b, k, n),
            beta,
            DeviceMatMut::new(c, m, n),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row_major(offset: usize, rows: usize, cols: usize, ld: usize) -> Shape {
        Shape {
            offset,
            rows,
            cols,
            row_stride: ld,
            col_stride: 1,
        }
    }

    fn transposed(shape: Shape) -> Shape {
        Shape {
            rows: shape.cols,
            cols: shape.rows,
            row_stride: shape.col_stride,
            col_stride: shape.row_stride,
            ..shape
        }
    }

    #[test]
    fn aligned_layouts_get_the_tiled_kernels() {
        // A·B, A·Bᵀ, Aᵀ·B with every size and leading dimension a multiple of 4.
        let a = row_major(0, 64, 32, 32);
        let b = row_major(0, 32, 48, 48);
        assert_eq!(tiled_kernel(a, b, 0), Some("sgemm_nn"));
        let b_stored = row_major(0, 48, 32, 32);
        assert_eq!(tiled_kernel(a, transposed(b_stored), 0), Some("sgemm_nt"));
        let a_stored = row_major(0, 32, 64, 64);
        assert_eq!(tiled_kernel(transposed(a_stored), b, 0), Some("sgemm_tn"));
        // Aᵀ·Bᵀ has no tiled kernel.
        assert_eq!(
            tiled_kernel(transposed(a_stored), transposed(b_stored), 0),
            None
        );
    }

    #[test]
    fn anything_unaligned_falls_back_to_the_strided_kernel() {
        let a = row_major(0, 64, 32, 32);
        let b = row_major(0, 32, 48, 48);
        // K not a multiple of 4 (A's rows would straddle float4 loads).
        assert_eq!(
            tiled_kernel(row_major(0, 64, 30, 30), row_major(0, 30, 48, 48), 0),
            None
        );
        // N not a multiple of 4 for a row-major B.
        assert_eq!(tiled_kernel(a, row_major(0, 32, 47, 47), 0), None);
        // A padded leading dimension that is not a multiple of 4.
        assert_eq!(tiled_kernel(row_major(0, 64, 32, 33), b, 0), None);
        // Offsets that are not 16-byte aligned, for A, B or C.
        assert_eq!(tiled_kernel(row_major(1, 64, 32, 32), b, 0), None);
        assert_eq!(tiled_kernel(a, row_major(2, 32, 48, 48), 0), None);
        assert_eq!(tiled_kernel(a, b, 3), None);
        // Aᵀ·B needs M a multiple of 4; A·Bᵀ does not need N to be.
        let a_stored = row_major(0, 32, 62, 62);
        assert_eq!(tiled_kernel(transposed(a_stored), b, 0), None);
        let b_stored = row_major(0, 10, 32, 32);
        assert_eq!(tiled_kernel(a, transposed(b_stored), 0), Some("sgemm_nt"));
        // A view with neither stride 1.
        let strided = Shape {
            offset: 0,
            rows: 64,
            cols: 32,
            row_stride: 64,
            col_stride: 2,
        };
        assert_eq!(tiled_kernel(strided, b, 0), None);
    }
}
