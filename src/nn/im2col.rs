//! im2col and col2im: how a convolution becomes a matrix product (chapter 8).
//!
//! A 2-D convolution slides a `C × kh × kw` kernel over the image. *im2col* ("image to columns") copies
//! every patch the kernel sees into one column of a matrix:
//!
//! ```text
//! cols[(c, i, j), (y, x)] = image[c, y·sh − ph + i, x·sw − pw + j]     (0 outside the image: padding)
//! rows: K = C·kh·kw (one per kernel weight)        columns: P = H_out·W_out (one per output pixel)
//! ```
//!
//! so that the convolution of one image with all `C_out` kernels is a single matrix product
//! `Y[C_out, P] = W[C_out, K] · cols[K, P]`, done by the fast [`crate::linalg::gemm()`]. *col2im* is its
//! adjoint: it adds every column back onto the patch it came from (overlapping patches add up), which
//! is exactly what the backward pass needs to turn ∂loss/∂cols into ∂loss/∂image.
//!
//! The output size is `H_out = (H + 2·ph − kh) / sh + 1` (rounded down), the same for the width.
//!
//! What it leaves out: dilation and groups (PyTorch's `dilation`, `groups`), padding modes other than
//! zeros.

/// The sizes of one convolution: input image, kernel, stride and zero padding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConvGeometry {
    /// Input channels C.
    pub channels: usize,
    /// Input height H.
    pub height: usize,
    /// Input width W.
    pub width: usize,
    /// Kernel height kh.
    pub kernel_h: usize,
    /// Kernel width kw.
    pub kernel_w: usize,
    /// Vertical stride sh (≥ 1).
    pub stride_h: usize,
    /// Horizontal stride sw (≥ 1).
    pub stride_w: usize,
    /// Zero rows added above and below, ph.
    pub pad_h: usize,
    /// Zero columns added left and right, pw.
    pub pad_w: usize,
}

impl ConvGeometry {
    /// Output height `(H + 2·ph − kh) / sh + 1`. Panics if the kernel does not fit the padded image.
    pub fn out_h(&self) -> usize {
        out_size(
            self.height,
            self.kernel_h,
            self.stride_h,
            self.pad_h,
            "height",
        )
    }

    /// Output width `(W + 2·pw − kw) / sw + 1`. Panics if the kernel does not fit the padded image.
    pub fn out_w(&self) -> usize {
        out_size(
            self.width,
            self.kernel_w,
            self.stride_w,
            self.pad_w,
            "width",
        )
    }

    /// Rows of the im2col matrix: K = C·kh·kw.
    pub fn col_rows(&self) -> usize {
        self.channels * self.kernel_h * self.kernel_w
    }

    /// Columns of the im2col matrix: P = H_out·W_out.
    pub fn col_cols(&self) -> usize {
        self.out_h() * self.out_w()
    }

    /// Values in one input image: C·H·W.
    pub fn image_len(&self) -> usize {
        self.channels * self.height * self.width
    }

    /// True when the *wide* lowering ([`im2col_wide`]) is used: stride 1, no padding, and input rows
    /// at most 1.5 times as wide as output rows (so at most 50 % more columns are computed). Measured
    /// on chapter 12's model: worth it for both layers — conv1 (32 vs 28 columns) and even conv2 (14
    /// vs 10), whose forward pass went from 0.92 to 0.64 ms and backward from 2.04 to 1.67 ms per
    /// batch of 64, because copying 10 values at a time costs more than the extra multiply-adds.
    pub fn fits_wide_rows(&self) -> bool {
        self.stride_h == 1
            && self.stride_w == 1
            && self.pad_h == 0
            && self.pad_w == 0
            && !self.is_pointwise()
            && self.width * 2 <= self.out_w() * 3
    }

    /// True when the im2col matrix *is* the image (a 1×1 kernel, stride 1, no padding), so the copy
    /// can be skipped.
    pub fn is_pointwise(&self) -> bool {
        self.kernel_h == 1
            && self.kernel_w == 1
            && self.stride_h == 1
            && self.stride_w == 1
            && self.pad_h == 0
            && self.pad_w == 0
    }
}

/// `(size + 2·pad − kernel) / stride + 1`, with a readable panic when the kernel does not fit.
fn out_size(size: usize, kernel: usize, stride: usize, pad: usize, what: &str) -> usize {
    assert!(stride >= 1, "convolution: the {what} stride must be ≥ 1");
    assert!(
        size + 2 * pad >= kernel,
        "convolution: a kernel of {what} {kernel} does not fit an input of {what} {size} with padding {pad}"
    );
    (size + 2 * pad - kernel) / stride + 1
}

/// The output positions `x` whose input position `x·stride + offset − pad` lies inside `0..size`:
/// returns `(first, end)` so that `first..end` are the valid ones (possibly empty).
fn valid_range(
    out: usize,
    size: usize,
    stride: usize,
    offset: usize,
    pad: usize,
) -> (usize, usize) {
    // x·stride + offset ≥ pad  ⇔  x ≥ ceil((pad − offset) / stride)
    let first = if offset >= pad {
        0
    } else {
        (pad - offset).div_ceil(stride)
    };
    // x·stride + offset − pad ≤ size − 1  ⇔  x ≤ (size − 1 + pad − offset) / stride
    let end = if size + pad > offset {
        ((size - 1 + pad - offset) / stride + 1).min(out)
    } else {
        0
    };
    (first.min(end), end)
}

/// Fills `cols` (`K × P`, row-major) with the patches of one image (`C × H × W`). See the module docs.
pub fn im2col(g: &ConvGeometry, image: &[f32], cols: &mut [f32]) {
    let (out_h, out_w) = (g.out_h(), g.out_w());
    assert_eq!(
        image.len(),
        g.image_len(),
        "im2col: image has {} values, geometry {g:?} needs {}",
        image.len(),
        g.image_len()
    );
    assert_eq!(
        cols.len(),
        g.col_rows() * out_h * out_w,
        "im2col: cols has {} values, needs K·P = {}·{}",
        cols.len(),
        g.col_rows(),
        out_h * out_w
    );
    let plane = g.height * g.width;
    let mut rows = cols.chunks_exact_mut(out_h * out_w);
    for channel in image.chunks_exact(plane) {
        for i in 0..g.kernel_h {
            let (y_first, y_end) = valid_range(out_h, g.height, g.stride_h, i, g.pad_h);
            for j in 0..g.kernel_w {
                let (x_first, x_end) = valid_range(out_w, g.width, g.stride_w, j, g.pad_w);
                let row = rows.next().expect("K rows");
                for (y, out_row) in row.chunks_exact_mut(out_w).enumerate() {
                    if y < y_first || y >= y_end || x_first >= x_end {
                        out_row.fill(0.0);
                        continue;
                    }
                    let iy = y * g.stride_h + i - g.pad_h;
                    let image_row = &channel[iy * g.width..(iy + 1) * g.width];
                    // Padding columns (usually none: the checks skip two calls to `memset` with
                    // nothing to do on every row).
                    if x_first > 0 {
                        out_row[..x_first].fill(0.0);
                    }
                    if x_end < out_w {
                        out_row[x_end..].fill(0.0);
                    }
                    let x0 = x_first * g.stride_w + j - g.pad_w;
                    let dst = &mut out_row[x_first..x_end];
                    if g.stride_w == 1 {
                        dst.copy_from_slice(&image_row[x0..x0 + dst.len()]);
                    } else {
                        for (d, &s) in dst
                            .iter_mut()
                            .zip(image_row[x0..].iter().step_by(g.stride_w))
                        {
                            *d = s;
                        }
                    }
                }
            }
        }
    }
}

/// im2col with *wide* rows, for stride 1 and no padding: `cols` is `K × (H_out·W)` — every output row
/// is computed at the full input width W, and its last `kw − 1` columns are garbage to be dropped.
///
/// Why: with stride 1, output row y of kernel row (c, i, j) reads input row y + i from column j on; at
/// full width, consecutive output rows read consecutive input rows, so the whole im2col row is **one
/// contiguous copy** of the image, `image[c, i, j ..][.. H_out·W]`, instead of H_out short copies (for
/// chapter 12's first layer: 75 copies of 896 values instead of 2,100 copies of 28, measured 4× faster).
/// The price is W / W_out times as many columns in the matrix product (32/28 there).
///
/// Column `y·W + x` holds `image[c, y + i, x + j]` for `x < W_out`; for `x ≥ W_out` it holds whatever
/// follows in memory (the next row, or zeros past the image's end).
pub fn im2col_wide(g: &ConvGeometry, image: &[f32], cols: &mut [f32]) {
    assert!(
        g.stride_h == 1 && g.stride_w == 1 && g.pad_h == 0 && g.pad_w == 0,
        "im2col_wide: needs stride 1 and no padding, got {g:?}"
    );
    let wide = g.out_h() * g.width;
    assert_eq!(image.len(), g.image_len(), "im2col_wide: image size");
    assert_eq!(cols.len(), g.col_rows() * wide, "im2col_wide: cols size");
    let plane = g.height * g.width;
    let mut rows = cols.chunks_exact_mut(wide);
    for c in 0..g.channels {
        for i in 0..g.kernel_h {
            for j in 0..g.kernel_w {
                let row = rows.next().expect("K rows");
                let start = c * plane + i * g.width + j;
                let end = (start + wide).min(image.len());
                let (copied, rest) = row.split_at_mut(end - start);
                copied.copy_from_slice(&image[start..end]);
                rest.fill(0.0);
            }
        }
    }
}

/// The adjoint of [`im2col_wide`]: **adds** every row of the wide column matrix `cols`
/// (`K × (H_out·W)`) back onto the image, one contiguous add per row. Columns `x ≥ W_out` of each
/// output row land on other positions of the image, so they must hold zeros — as they do when `cols`
/// is `Wᵀ · dY` with `dY`'s rows padded by zeros to width W.
pub fn col2im_wide(g: &ConvGeometry, cols: &[f32], image: &mut [f32]) {
    assert!(
        g.stride_h == 1 && g.stride_w == 1 && g.pad_h == 0 && g.pad_w == 0,
        "col2im_wide: needs stride 1 and no padding, got {g:?}"
    );
    let wide = g.out_h() * g.width;
    assert_eq!(image.len(), g.image_len(), "col2im_wide: image size");
    assert_eq!(cols.len(), g.col_rows() * wide, "col2im_wide: cols size");
    let plane = g.height * g.width;
    let mut rows = cols.chunks_exact(wide);
    for c in 0..g.channels {
        for i in 0..g.kernel_h {
            for j in 0..g.kernel_w {
                let row = rows.next().expect("K rows");
                let start = c * plane + i * g.width + j;
                let end = (start + wide).min(image.len());
                for (d, &v) in image[start..end].iter_mut().zip(row) {
                    *d += v;
                }
            }
        }
    }
}

/// The adjoint of [`im2col`]: **adds** every column of `cols` (`K × P`) back onto the image positions
/// it was copied from (`image` is `C × H × W`; padding positions are dropped). Zero `image` first to
/// get ∂loss/∂image from ∂loss/∂cols.
pub fn col2im(g: &ConvGeometry, cols: &[f32], image: &mut [f32]) {
    let (out_h, out_w) = (g.out_h(), g.out_w());
    assert_eq!(
        image.len(),
        g.image_len(),
        "col2im: image has {} values, geometry {g:?} needs {}",
        image.len(),
        g.image_len()
    );
    assert_eq!(
        cols.len(),
        g.col_rows() * out_h * out_w,
        "col2im: cols has {} values, needs K·P = {}·{}",
        cols.len(),
        g.col_rows(),
        out_h * out_w
    );
    let plane = g.height * g.width;
    let mut rows = cols.chunks_exact(out_h * out_w);
    for channel in image.chunks_exact_mut(plane) {
        for i in 0..g.kernel_h {
            let (y_first, y_end) = valid_range(out_h, g.height, g.stride_h, i, g.pad_h);
            for j in 0..g.kernel_w {
                let (x_first, x_end) = valid_range(out_w, g.width, g.stride_w, j, g.pad_w);
                let row = rows.next().expect("K rows");
                if x_first >= x_end {
                    continue;
                }
                for y in y_first..y_end {
                    let iy = y * g.stride_h + i - g.pad_h;
                    let image_row = &mut channel[iy * g.width..(iy + 1) * g.width];
                    let src = &row[y * out_w + x_first..y * out_w + x_end];
                    let x0 = x_first * g.stride_w + j - g.pad_w;
                    if g.stride_w == 1 {
                        for (d, &s) in image_row[x0..x0 + src.len()].iter_mut().zip(src) {
                            *d += s;
                        }
                    } else {
                        for (d, &s) in image_row[x0..].iter_mut().step_by(g.stride_w).zip(src) {
                            *d += s;
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn geometry(c: usize, h: usize, w: usize, k: usize, s: usize, p: usize) -> ConvGeometry {
        ConvGeometry {
            channels: c,
            height: h,
            width: w,
            kernel_h: k,
            kernel_w: k,
            stride_h: s,
            stride_w: s,
            pad_h: p,
            pad_w: p,
        }
    }

    /// The definition, one element at a time.
    fn im2col_slow(g: &ConvGeometry, image: &[f32]) -> Vec<f32> {
        let (oh, ow) = (g.out_h(), g.out_w());
        let mut cols = vec![0.0; g.col_rows() * oh * ow];
        for c in 0..g.channels {
            for i in 0..g.kernel_h {
                for j in 0..g.kernel_w {
                    let r = (c * g.kernel_h + i) * g.kernel_w + j;
                    for y in 0..oh {
                        for x in 0..ow {
                            let iy = (y * g.stride_h + i) as isize - g.pad_h as isize;
                            let ix = (x * g.stride_w + j) as isize - g.pad_w as isize;
                            if iy >= 0
                                && ix >= 0
                                && (iy as usize) < g.height
                                && (ix as usize) < g.width
                            {
                                cols[r * oh * ow + y * ow + x] =
                                    image[(c * g.height + iy as usize) * g.width + ix as usize];
                            }
                        }
                    }
                }
            }
        }
        cols
    }

    #[test]
    fn im2col_matches_the_definition_and_col2im_is_its_adjoint() {
        for &(c, h, w, k, s, p) in &[
            (1, 4, 4, 3, 1, 0),
            (2, 5, 7, 3, 2, 1),
            (3, 6, 5, 2, 3, 2),
            (1, 3, 3, 3, 1, 2),
            (2, 1, 9, 1, 1, 0),
            (1, 7, 7, 5, 2, 3),
        ] {
            let g = geometry(c, h, w, k, s, p);
            let image: Vec<f32> = (0..g.image_len()).map(|v| v as f32 + 1.0).collect();
            let mut cols = vec![f32::NAN; g.col_rows() * g.col_cols()];
            im2col(&g, &image, &mut cols);
            assert_eq!(cols, im2col_slow(&g, &image), "{g:?}");
            // Adjoint: <im2col(x), y> = <x, col2im(y)> for any x, y.
            let y: Vec<f32> = (0..cols.len()).map(|v| (v % 7) as f32 - 3.0).collect();
            let mut back = vec![0.0; image.len()];
            col2im(&g, &y, &mut back);
            let lhs: f64 = cols.iter().zip(&y).map(|(&a, &b)| f64::from(a * b)).sum();
            let rhs: f64 = image
                .iter()
                .zip(&back)
                .map(|(&a, &b)| f64::from(a * b))
                .sum();
            assert_eq!(lhs, rhs, "{g:?}");
        }
    }

    #[test]
    fn wide_rows_hold_the_same_patches() {
        for &(c, h, w, k) in &[(3, 32, 32, 5), (2, 7, 9, 3), (1, 5, 5, 2)] {
            let g = geometry(c, h, w, k, 1, 0);
            let image: Vec<f32> = (0..g.image_len()).map(|v| v as f32 + 1.0).collect();
            let cols = im2col_slow(&g, &image);
            let (oh, ow) = (g.out_h(), g.out_w());
            let mut wide = vec![f32::NAN; g.col_rows() * oh * w];
            im2col_wide(&g, &image, &mut wide);
            for r in 0..g.col_rows() {
                for y in 0..oh {
                    for x in 0..ow {
                        assert_eq!(wide[r * oh * w + y * w + x], cols[r * oh * ow + y * ow + x]);
                    }
                }
            }
            assert!(wide.iter().all(|v| !v.is_nan()), "every value written");
        }
        // col2im_wide is the adjoint of im2col_wide on matrices whose padding columns are zero.
        let g = geometry(2, 7, 9, 3, 1, 0);
        let (oh, ow, w) = (g.out_h(), g.out_w(), g.width);
        let image: Vec<f32> = (0..g.image_len()).map(|v| (v % 5) as f32 - 2.0).collect();
        let mut wide = vec![0.0; g.col_rows() * oh * w];
        im2col_wide(&g, &image, &mut wide);
        let y: Vec<f32> = (0..wide.len())
            .map(|v| {
                if v % w < ow {
                    (v % 7) as f32 - 3.0
                } else {
                    0.0
                }
            })
            .collect();
        let mut back = vec![0.0; image.len()];
        col2im_wide(&g, &y, &mut back);
        let lhs: f64 = wide.iter().zip(&y).map(|(&a, &b)| f64::from(a * b)).sum();
        let rhs: f64 = image
            .iter()
            .zip(&back)
            .map(|(&a, &b)| f64::from(a * b))
            .sum();
        assert_eq!(lhs, rhs);
        assert!(geometry(3, 32, 32, 5, 1, 0).fits_wide_rows()); // 32 / 28 ≤ 1.5
        assert!(geometry(6, 14, 14, 5, 1, 0).fits_wide_rows()); // 14 / 10 ≤ 1.5
        assert!(!geometry(1, 8, 8, 5, 1, 0).fits_wide_rows()); // 8 / 4 > 1.5
        assert!(!geometry(1, 8, 8, 3, 1, 1).fits_wide_rows()); // padding
    }

    #[test]
    fn output_size_formula() {
        assert_eq!(geometry(3, 32, 32, 5, 1, 0).out_h(), 28);
        assert_eq!(geometry(1, 52, 52, 3, 1, 0).out_w(), 50);
        assert_eq!(geometry(1, 7, 7, 3, 2, 1).out_h(), 4);
    }
}
