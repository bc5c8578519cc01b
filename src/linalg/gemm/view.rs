//! Strided 2-D views of `f32` buffers: [`MatRef`] (read-only) and [`MatMut`] (writable).
//!
//! Element `(i, j)` of a view is `data[i * row_stride + j * col_stride]`. A row-major `rows × cols`
//! matrix has strides `(cols, 1)`; its transpose is the same buffer with strides `(1, cols)`. Views are
//! checked once, when made: every element they can address must lie inside the buffer.

/// Checks that a `rows × cols` view with these strides stays inside a buffer of `len` elements.
fn check_bounds(len: usize, rows: usize, cols: usize, row_stride: usize, col_stride: usize) {
    if rows == 0 || cols == 0 {
        return;
    }
    let last = (rows - 1).checked_mul(row_stride).and_then(|r| {
        (cols - 1)
            .checked_mul(col_stride)
            .and_then(|c| r.checked_add(c))
    });
    assert!(
        last.is_some_and(|l| l < len),
        "matrix view {rows}×{cols} with strides ({row_stride}, {col_stride}) needs more than the {len} elements of its buffer"
    );
}

/// A read-only strided view of a matrix.
#[derive(Clone, Copy, Debug)]
pub struct MatRef<'a> {
    data: &'a [f32],
    rows: usize,
    cols: usize,
    row_stride: usize,
    col_stride: usize,
}

impl<'a> MatRef<'a> {
    /// A row-major `rows × cols` view of `data` (which must hold at least `rows * cols` values).
    pub fn new(data: &'a [f32], rows: usize, cols: usize) -> MatRef<'a> {
        MatRef::with_strides(data, rows, cols, cols, 1)
    }

    /// A view with explicit strides. Panics if the view reaches outside `data`.
    pub fn with_strides(
        data: &'a [f32],
        rows: usize,
        cols: usize,
        row_stride: usize,
        col_stride: usize,
    ) -> MatRef<'a> {
        check_bounds(data.len(), rows, cols, row_stride, col_stride);
        MatRef {
            data,
            rows,
            cols,
            row_stride,
            col_stride,
        }
    }

    /// The transpose: the same numbers, rows and columns swapped. Free: only the strides change.
    pub fn t(self) -> MatRef<'a> {
        MatRef {
            data: self.data,
            rows: self.cols,
            cols: self.rows,
            row_stride: self.col_stride,
            col_stride: self.row_stride,
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

    /// Distance in the buffer between `(i, j)` and `(i + 1, j)`.
    pub fn row_stride(&self) -> usize {
        self.row_stride
    }

    /// Distance in the buffer between `(i, j)` and `(i, j + 1)`.
    pub fn col_stride(&self) -> usize {
        self.col_stride
    }

    /// The underlying buffer.
    pub fn data(&self) -> &'a [f32] {
        self.data
    }

    /// Element `(i, j)`.
    #[inline]
    pub fn at(&self, i: usize, j: usize) -> f32 {
        debug_assert!(i < self.rows && j < self.cols);
        self.data[i * self.row_stride + j * self.col_stride]
    }

    /// A view of the sub-matrix of rows `r0..r0+rows` and columns `c0..c0+cols`.
    pub fn block(&self, r0: usize, c0: usize, rows: usize, cols: usize) -> MatRef<'a> {
        assert!(
            r0 + rows <= self.rows && c0 + cols <= self.cols,
            "MatRef::block: {rows}×{cols} at ({r0}, {c0}) is outside a {}×{} matrix",
            self.rows,
            self.cols
        );
        if rows == 0 || cols == 0 {
            return MatRef::with_strides(&[], rows, cols, self.row_stride, self.col_stride);
        }
        let start = r0 * self.row_stride + c0 * self.col_stride;
        MatRef::with_strides(
            &self.data[start..],
            rows,
            cols,
            self.row_stride,
            self.col_stride,
        )
    }
}

/// A writable strided view of a matrix.
#[derive(Debug)]
pub struct MatMut<'a> {
    data: &'a mut [f32],
    rows: usize,
    cols: usize,
    row_stride: usize,
    col_stride: usize,
}

impl<'a> MatMut<'a> {
    /// A row-major `rows × cols` view of `data`.
    pub fn new(data: &'a mut [f32], rows: usize, cols: usize) -> MatMut<'a> {
        MatMut::with_strides(data, rows, cols, cols, 1)
    }

    /// A view with explicit strides. Panics if the view reaches outside `data`. Strides that make two
    /// elements share one place (e.g. a zero stride) are allowed but make the result meaningless.
    pub fn with_strides(
        data: &'a mut [f32],
        rows: usize,
        cols: usize,
        row_stride: usize,
        col_stride: usize,
    ) -> MatMut<'a> {
        check_bounds(data.len(), rows, cols, row_stride, col_stride);
        MatMut {
            data,
            rows,
            cols,
            row_stride,
            col_stride,
        }
    }

    /// The transpose, writable.
    pub fn t(self) -> MatMut<'a> {
        MatMut {
            data: self.data,
            rows: self.cols,
            cols: self.rows,
            row_stride: self.col_stride,
            col_stride: self.row_stride,
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

    /// Distance in the buffer between `(i, j)` and `(i + 1, j)`.
    pub fn row_stride(&self) -> usize {
        self.row_stride
    }

    /// Distance in the buffer between `(i, j)` and `(i, j + 1)`.
    pub fn col_stride(&self) -> usize {
        self.col_stride
    }

    /// The underlying buffer.
    pub fn data_mut(&mut self) -> &mut [f32] {
        self.data
    }

    /// A read-only view of the same matrix.
    pub fn as_ref(&self) -> MatRef<'_> {
        MatRef {
            data: self.data,
            rows: self.rows,
            cols: self.cols,
            row_stride: self.row_stride,
            col_stride: self.col_stride,
        }
    }

    /// Element `(i, j)`.
    #[inline]
    pub fn at(&self, i: usize, j: usize) -> f32 {
        debug_assert!(i < self.rows && j < self.cols);
        self.data[i * self.row_stride + j * self.col_stride]
    }

    /// Sets element `(i, j)`.
    #[inline]
    pub fn set(&mut self, i: usize, j: usize, value: f32) {
        debug_assert!(i < self.rows && j < self.cols);
        self.data[i * self.row_stride + j * self.col_stride] = value;
    }
}
