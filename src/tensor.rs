//! `Tensor`: an n-dimensional array of `f32` stored as one contiguous row-major buffer plus a shape.
//!
//! Every chapter uses it. There are no strides, no views and no broadcasting rules to learn: a tensor of
//! shape `[N, C, H, W]` keeps element `(n, c, h, w)` at index `((n*C + c)*H + h)*W + w` of [`Tensor::data`],
//! exactly as PyTorch's contiguous tensors do. Matrix products live in [`crate::linalg`], which works on
//! these buffers through strided 2-D views.
//!
//! Shape mismatches are programming errors, not user errors: element-wise operations on tensors of
//! different shapes panic with a message that names both shapes and the operation.
//!
//! Shape letters used throughout the crate: N batch, C channels, H height, W width, T time steps,
//! F features, K classes (or the inner dimension of a matrix product), H also hidden size in RNNs.

use crate::probability::Rng;
use std::fmt;

/// A row-major n-dimensional array of `f32`.
#[derive(Clone, PartialEq)]
pub struct Tensor {
    shape: Vec<usize>,
    data: Vec<f32>,
}

/// The number of elements of a tensor with this shape (1 for the empty shape, a scalar).
///
/// Panics with a message naming the shape if the product does not fit in `usize`, or if that many
/// `f32` would be more bytes than a buffer can hold (`isize::MAX`): such a shape is a bug or an
/// unchecked size from outside (binaries check sizes from flags first, see `app::MemoryPlan`).
pub fn numel(shape: &[usize]) -> usize {
    checked_numel(shape).unwrap_or_else(|| {
        panic!("the shape {shape:?} has more elements than a buffer of f32 can hold")
    })
}

/// The number of elements of a tensor with this shape, or `None` when the product overflows or the
/// buffer would exceed `isize::MAX` bytes (no allocator can give that much).
pub fn checked_numel(shape: &[usize]) -> Option<usize> {
    checked_product(shape).filter(|&n| n <= isize::MAX as usize / std::mem::size_of::<f32>())
}

/// `factors[0] · factors[1] · …`, or `None` when it overflows `usize` (1 for no factors).
pub fn checked_product(factors: &[usize]) -> Option<usize> {
    factors
        .iter()
        .try_fold(1usize, |acc, &f| acc.checked_mul(f))
}

/// The size `factors[0] · factors[1] · …` that a constructor derives from its arguments (`4 ×
/// hidden_size` gates of an LSTM, …); panics with a message naming `what` and the factors if it
/// overflows, where plain `*` would silently wrap in a release build and build a wrong layer.
pub fn size_product(factors: &[usize], what: &str) -> usize {
    checked_product(factors)
        .unwrap_or_else(|| panic!("{what}: the size {factors:?} overflows (multiplied together)"))
}

impl Tensor {
    /// A tensor with the given shape and data. Panics if `data.len()` is not the product of `shape`.
    pub fn from_vec(shape: &[usize], data: Vec<f32>) -> Tensor {
        assert_eq!(
            numel(shape),
            data.len(),
            "Tensor::from_vec: shape {shape:?} needs {} values, got {}",
            numel(shape),
            data.len()
        );
        Tensor {
            shape: shape.to_vec(),
            data,
        }
    }

    /// A tensor filled with `value`.
    pub fn full(shape: &[usize], value: f32) -> Tensor {
        Tensor::from_vec(shape, vec![value; numel(shape)])
    }

    /// A tensor of zeros.
    pub fn zeros(shape: &[usize]) -> Tensor {
        Tensor::full(shape, 0.0)
    }

    /// A tensor of ones.
    pub fn ones(shape: &[usize]) -> Tensor {
        Tensor::full(shape, 1.0)
    }

    /// A zero tensor with the same shape as `self`.
    pub fn zeros_like(&self) -> Tensor {
        Tensor::zeros(&self.shape)
    }

    /// A 0-dimensional tensor holding one value.
    pub fn scalar(value: f32) -> Tensor {
        Tensor::from_vec(&[], vec![value])
    }

    /// A tensor whose element at flat index `i` is `f(i)`.
    pub fn from_fn(shape: &[usize], f: impl FnMut(usize) -> f32) -> Tensor {
        Tensor::from_vec(shape, (0..numel(shape)).map(f).collect())
    }

    /// A 2-D tensor from rows of equal length. Panics if the rows differ in length.
    pub fn from_rows(rows: &[&[f32]]) -> Tensor {
        let cols = rows.first().map_or(0, |r| r.len());
        let mut data = Vec::with_capacity(rows.len() * cols);
        for (i, row) in rows.iter().enumerate() {
            assert_eq!(
                row.len(),
                cols,
                "Tensor::from_rows: row {i} has {} values, row 0 has {cols}",
                row.len()
            );
            data.extend_from_slice(row);
        }
        Tensor::from_vec(&[rows.len(), cols], data)
    }

    /// Samples from the normal distribution N(mean, std²).
    pub fn randn(shape: &[usize], mean: f32, std: f32, rng: &mut Rng) -> Tensor {
        Tensor::from_fn(shape, |_| rng.normal(mean, std))
    }

    /// Samples uniformly from `[low, high)`.
    pub fn rand_uniform(shape: &[usize], low: f32, high: f32, rng: &mut Rng) -> Tensor {
        Tensor::from_fn(shape, |_| rng.uniform(low, high))
    }

    /// The shape, outermost dimension first.
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// The size of dimension `axis`. Panics if there is no such dimension.
    pub fn dim(&self, axis: usize) -> usize {
        assert!(
            axis < self.shape.len(),
            "Tensor::dim: axis {axis} out of range for shape {:?}",
            self.shape
        );
        self.shape[axis]
    }

    /// The number of dimensions.
    pub fn ndim(&self) -> usize {
        self.shape.len()
    }

    /// The number of elements.
    pub fn len(&self) -> usize {
        self.data.len()
    }

    /// True when the tensor has no elements.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// The elements in row-major order.
    pub fn data(&self) -> &[f32] {
        &self.data
    }

    /// The elements in row-major order, mutable.
    pub fn data_mut(&mut self) -> &mut [f32] {
        &mut self.data
    }

    /// Takes the buffer out of the tensor.
    pub fn into_data(self) -> Vec<f32> {
        self.data
    }

    /// The same data with a new shape of the same element count. Panics otherwise.
    pub fn reshape(mut self, shape: &[usize]) -> Tensor {
        assert_eq!(
            numel(shape),
            self.data.len(),
            "Tensor::reshape: cannot view shape {:?} ({} values) as {shape:?} ({} values)",
            self.shape,
            self.data.len(),
            numel(shape)
        );
        self.shape = shape.to_vec();
        self
    }

    /// The flat index of a multi-index. Panics if the index has the wrong length or is out of range.
    pub fn offset(&self, index: &[usize]) -> usize {
        assert_eq!(
            index.len(),
            self.shape.len(),
            "Tensor::offset: index {index:?} does not match shape {:?}",
            self.shape
        );
        let mut flat = 0;
        for (axis, (&i, &size)) in index.iter().zip(&self.shape).enumerate() {
            assert!(
                i < size,
                "Tensor::offset: index {index:?} out of range for shape {:?} (axis {axis})",
                self.shape
            );
            flat = flat * size + i;
        }
        flat
    }

    /// The element at a multi-index.
    pub fn at(&self, index: &[usize]) -> f32 {
        self.data[self.offset(index)]
    }

    /// Sets the element at a multi-index.
    pub fn set(&mut self, index: &[usize], value: f32) {
        let flat = self.offset(index);
        self.data[flat] = value;
    }

    /// The number of elements in one entry along the first axis (e.g. one image of a batch).
    pub fn row_len(&self) -> usize {
        numel(&self.shape[1.min(self.shape.len())..])
    }

    /// The data of entry `i` along the first axis (row `i` of a matrix, image `i` of a batch).
    pub fn row(&self, i: usize) -> &[f32] {
        let len = self.row_len();
        assert!(
            i < self.shape.first().copied().unwrap_or(0),
            "Tensor::row: row {i} out of range for shape {:?}",
            self.shape
        );
        &self.data[i * len..(i + 1) * len]
    }

    /// Mutable data of entry `i` along the first axis.
    pub fn row_mut(&mut self, i: usize) -> &mut [f32] {
        let len = self.row_len();
        assert!(
            i < self.shape.first().copied().unwrap_or(0),
            "Tensor::row_mut: row {i} out of range for shape {:?}",
            self.shape
        );
        &mut self.data[i * len..(i + 1) * len]
    }

    /// A new tensor made of the entries `indices` along the first axis, in that order
    /// (how a mini-batch is gathered from a shuffled dataset).
    pub fn select_rows(&self, indices: &[usize]) -> Tensor {
        let mut shape = self.shape.clone();
        assert!(
            !shape.is_empty(),
            "Tensor::select_rows: a scalar has no rows"
        );
        shape[0] = indices.len();
        let mut data = Vec::with_capacity(indices.len() * self.row_len());
        for &i in indices {
            data.extend_from_slice(self.row(i));
        }
        Tensor::from_vec(&shape, data)
    }

    /// The transpose of a 2-D tensor (a copy).
    pub fn transpose(&self) -> Tensor {
        assert_eq!(
            self.ndim(),
            2,
            "Tensor::transpose: needs a 2-D tensor, got shape {:?}",
            self.shape
        );
        let (rows, cols) = (self.shape[0], self.shape[1]);
        let mut out = vec![0.0; rows * cols];
        for r in 0..rows {
            for c in 0..cols {
                out[c * rows + r] = self.data[r * cols + c];
            }
        }
        Tensor::from_vec(&[cols, rows], out)
    }

    fn assert_same_shape(&self, other: &Tensor, operation: &str) {
        assert_eq!(
            self.shape, other.shape,
            "Tensor::{operation}: shapes {:?} and {:?} differ",
            self.shape, other.shape
        );
    }

    /// A new tensor with `f` applied to every element.
    pub fn map(&self, f: impl Fn(f32) -> f32) -> Tensor {
        Tensor {
            shape: self.shape.clone(),
            data: self.data.iter().map(|&v| f(v)).collect(),
        }
    }

    /// A new tensor with `f(a, b)` of matching elements. Panics if the shapes differ.
    pub fn zip_map(&self, other: &Tensor, f: impl Fn(f32, f32) -> f32) -> Tensor {
        self.assert_same_shape(other, "zip_map");
        Tensor {
            shape: self.shape.clone(),
            data: self
                .data
                .iter()
                .zip(&other.data)
                .map(|(&a, &b)| f(a, b))
                .collect(),
        }
    }

    /// Element-wise sum.
    pub fn add(&self, other: &Tensor) -> Tensor {
        self.assert_same_shape(other, "add");
        self.zip_map(other, |a, b| a + b)
    }

    /// Element-wise difference `self - other`.
    pub fn sub(&self, other: &Tensor) -> Tensor {
        self.assert_same_shape(other, "sub");
        self.zip_map(other, |a, b| a - b)
    }

    /// Element-wise (Hadamard) product.
    pub fn mul(&self, other: &Tensor) -> Tensor {
        self.assert_same_shape(other, "mul");
        self.zip_map(other, |a, b| a * b)
    }

    /// Every element times `factor`.
    pub fn scale(&self, factor: f32) -> Tensor {
        self.map(|v| v * factor)
    }

    /// `self += alpha * other`, in place (the BLAS "axpy").
    pub fn add_scaled(&mut self, alpha: f32, other: &Tensor) {
        self.assert_same_shape(other, "add_scaled");
        for (a, &b) in self.data.iter_mut().zip(&other.data) {
            *a += alpha * b;
        }
    }

    /// Sets every element to `value`.
    pub fn fill(&mut self, value: f32) {
        self.data.fill(value);
    }

    /// Sum of all elements, accumulated in f64 for accuracy.
    pub fn sum(&self) -> f32 {
        self.data.iter().map(|&v| f64::from(v)).sum::<f64>() as f32
    }

    /// Mean of all elements (NaN for an empty tensor).
    pub fn mean(&self) -> f32 {
        (self.data.iter().map(|&v| f64::from(v)).sum::<f64>() / self.data.len() as f64) as f32
    }

    /// Largest element (NaN if any element is NaN; -inf for an empty tensor).
    pub fn max(&self) -> f32 {
        self.data.iter().fold(f32::NEG_INFINITY, |m, &v| {
            if v.is_nan() || m.is_nan() {
                f32::NAN
            } else {
                m.max(v)
            }
        })
    }

    /// Smallest element (NaN if any element is NaN; +inf for an empty tensor).
    pub fn min(&self) -> f32 {
        self.data.iter().fold(f32::INFINITY, |m, &v| {
            if v.is_nan() || m.is_nan() {
                f32::NAN
            } else {
                m.min(v)
            }
        })
    }

    /// Flat index of the largest element (the first one on ties). Panics on an empty tensor.
    pub fn argmax(&self) -> usize {
        argmax(&self.data)
    }

    /// For a 2-D tensor `[rows, cols]`: the index of the largest element of each row
    /// (the predicted class of each example, given a batch of scores).
    pub fn argmax_rows(&self) -> Vec<usize> {
        assert_eq!(
            self.ndim(),
            2,
            "Tensor::argmax_rows: needs a 2-D tensor, got shape {:?}",
            self.shape
        );
        (0..self.shape[0]).map(|r| argmax(self.row(r))).collect()
    }

    /// For a 2-D tensor `[rows, cols]`: the column sums, shape `[cols]` (e.g. a bias gradient).
    pub fn sum_rows(&self) -> Tensor {
        assert_eq!(
            self.ndim(),
            2,
            "Tensor::sum_rows: needs a 2-D tensor, got shape {:?}",
            self.shape
        );
        let cols = self.shape[1];
        let mut out = vec![0.0f32; cols];
        for r in 0..self.shape[0] {
            for (o, &v) in out.iter_mut().zip(self.row(r)) {
                *o += v;
            }
        }
        Tensor::from_vec(&[cols], out)
    }

    /// True when every element is finite (no NaN, no ±inf).
    pub fn all_finite(&self) -> bool {
        self.data.iter().all(|v| v.is_finite())
    }

    /// The Euclidean (L2) norm of all elements, accumulated in f64.
    pub fn norm(&self) -> f32 {
        self.data
            .iter()
            .map(|&v| f64::from(v) * f64::from(v))
            .sum::<f64>()
            .sqrt() as f32
    }
}

/// Index of the largest value (the first one on ties; NaN never wins). Panics on an empty slice.
pub fn argmax(values: &[f32]) -> usize {
    assert!(!values.is_empty(), "argmax of an empty slice");
    let mut best = 0;
    for (i, &v) in values.iter().enumerate() {
        if v > values[best] || values[best].is_nan() {
            best = i;
        }
    }
    best
}

/// Formats one number the way numpy prints arrays: integers without a decimal point when every
/// value in the array is a whole number, otherwise up to four decimals with trailing zeros trimmed.
fn format_number(v: f32, all_integers: bool) -> String {
    if all_integers {
        format!("{}", v as i64)
    } else {
        let s = format!("{v:.4}");
        let s = s.trim_end_matches('0');
        s.strip_suffix('.')
            .map_or_else(|| s.to_string(), |t| format!("{t}."))
    }
}

impl fmt::Display for Tensor {
    /// Prints like numpy: `[5 7 9]`, `[[19 22]\n [43 50]]`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let all_integers = self
            .data
            .iter()
            .all(|v| v.is_finite() && v.fract() == 0.0 && v.abs() < 1e15);
        let texts: Vec<String> = self
            .data
            .iter()
            .map(|&v| format_number(v, all_integers))
            .collect();
        let width = texts.iter().map(|t| t.len()).max().unwrap_or(0);
        if self.shape.is_empty() {
            return write!(f, "{}", texts[0]);
        }
        write_nested(f, &self.shape, &texts, width, 0, 0)
    }
}

fn write_nested(
    f: &mut fmt::Formatter<'_>,
    shape: &[usize],
    texts: &[String],
    width: usize,
    depth: usize,
    start: usize,
) -> fmt::Result {
    write!(f, "[")?;
    let inner = numel(&shape[depth + 1..]);
    for i in 0..shape[depth] {
        if depth + 1 == shape.len() {
            if i > 0 {
                write!(f, " ")?;
            }
            write!(f, "{:>width$}", texts[start + i])?;
        } else {
            if i > 0 {
                // numpy: a newline per closed dimension, then indentation to the current depth.
                let blank_lines = shape.len() - depth - 2;
                write!(f, "\n{}", "\n".repeat(blank_lines))?;
                write!(f, "{}", " ".repeat(depth + 1))?;
            }
            write_nested(f, shape, texts, width, depth + 1, start + i * inner)?;
        }
    }
    write!(f, "]")
}

impl fmt::Debug for Tensor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.data.len() <= 64 {
            write!(f, "Tensor(shape={:?}, {})", self.shape, self)
        } else {
            write!(
                f,
                "Tensor(shape={:?}, first values {:?}, …)",
                self.shape,
                &self.data[..8]
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prints_like_numpy() {
        let v = Tensor::from_vec(&[3], vec![5.0, 7.0, 9.0]);
        assert_eq!(v.to_string(), "[5 7 9]");
        let m = Tensor::from_vec(&[2, 2], vec![19.0, 22.0, 43.0, 50.0]);
        assert_eq!(m.to_string(), "[[19 22]\n [43 50]]");
        let x = Tensor::from_vec(&[2], vec![0.5, -1.25]);
        assert_eq!(x.to_string(), "[  0.5 -1.25]");
    }

    #[test]
    fn offset_is_row_major() {
        let t = Tensor::from_fn(&[2, 3, 4], |i| i as f32);
        assert_eq!(t.at(&[1, 2, 3]), 23.0);
        assert_eq!(t.offset(&[1, 0, 1]), 13);
    }

    #[test]
    #[should_panic(expected = "shapes [2] and [3] differ")]
    fn add_names_both_shapes() {
        let _ = Tensor::zeros(&[2]).add(&Tensor::zeros(&[3]));
    }

    #[test]
    fn reductions() {
        let t = Tensor::from_rows(&[&[1.0, 5.0], &[7.0, 2.0]]);
        assert_eq!(t.sum(), 15.0);
        assert_eq!(t.argmax(), 2);
        assert_eq!(t.argmax_rows(), vec![1, 0]);
        assert_eq!(t.sum_rows().data(), &[8.0, 7.0]);
        assert_eq!(t.transpose().data(), &[1.0, 7.0, 5.0, 2.0]);
    }
}
