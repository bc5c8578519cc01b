//! `Linear`, the fully connected layer (chapter 7): every output is a weighted sum of every input
//! plus a bias, `y = x·Wᵀ + b`, like PyTorch's `nn.Linear`.
//!
//! Shapes (letters from the crate docs): input `[N, in]`, weight `W` `[out, in]` (PyTorch's layout, so
//! checkpoints load unchanged), bias `b` `[out]`, output `[N, out]`. Any leading axes are accepted too
//! — `[N, T, in]` → `[N, T, out]`, applied to every row, as PyTorch does — and a single vector `[in]`
//! gives `[out]`. Internally the input is viewed as a matrix of `rows = len / in` rows.
//!
//! Forward and backward are one GEMM each (the whole cost of the layer):
//! - forward: `Y = X·Wᵀ + b` — the GEMM computes X·Wᵀ and adds the bias to each row of it as soon
//!   as that row is final, while it is still in the cache (an *epilogue*, see
//!   [`mod@crate::linalg::gemm::epilogue`]); with a residual connection, `Y = R + X·Wᵀ + b`, the
//!   epilogue adds `R + b`. A transformer's first feed-forward layer also takes the GELU of the
//!   result, and keeps its slope for the backward pass, in the same epilogue
//!   ([`Linear::forward_gelu_into`]);
//! - backward, given `dY = ∂L/∂Y`:
//!   - `dW += dYᵀ·X` (`gemm_tn`, `[out, rows]·[rows, in]`; accumulated, as PyTorch does),
//!   - `db += Σ_rows dY` (the column sums, in blocks of 64 rows added in order),
//!   - `dX = dY·W` (`gemm_nn`, `[rows, out]·[out, in]`) — times an activation's slope, element by
//!     element, in an epilogue, for the layer before an activation
//!     ([`Linear::backward_times_slope_into`]).
//!
//! The input saved for backward lives in a [`Cache`] that reuses its buffer from step to step.

use super::gelu::gelu_and_slope;
use super::init::default_linear_bound;
use super::layer::{Cache, Layer, Mode, Param, assert_grad_shape};
use crate::linalg::gemm::{Epilogue, MatRef, gemm_epilogue, gemm_nn, gemm_tn};
use crate::parallel;
use crate::probability::Rng;
use crate::tensor::Tensor;

/// Rows per block of the bias gradient's sum (a constant, so that the blocks — and the sum — are the
/// same for any number of threads).
const ROWS_PER_PARTIAL: usize = 64;

/// The forward pass's epilogue: adds `residual + bias` (either may be absent) to each finished row
/// of `X·Wᵀ`, the sum `residual + bias` rounded first.
pub(super) struct AddBiasResidual<'a> {
    pub(super) bias: Option<&'a [f32]>,
    /// `[rows, n]`, row-major.
    pub(super) residual: Option<&'a [f32]>,
    /// Columns of the output (and of the residual).
    pub(super) n: usize,
}

impl Epilogue for AddBiasResidual<'_> {
    #[inline(always)]
    fn finish_row(&self, i: usize, first_col: usize, values: &mut [f32], _extra: &mut [f32]) {
        let len = values.len();
        let columns = first_col..first_col + len;
        match (self.residual, self.bias) {
            (Some(residual), Some(bias)) => {
                let residual = &residual[i * self.n..][columns.clone()];
                for ((y, &r), &b) in values.iter_mut().zip(residual).zip(&bias[columns]) {
                    *y += r + b;
                }
            }
            (Some(residual), None) => {
                for (y, &r) in values.iter_mut().zip(&residual[i * self.n..][columns]) {
                    *y += r;
                }
            }
            (None, Some(bias)) => {
                for (y, &b) in values.iter_mut().zip(&bias[columns]) {
                    *y += b;
                }
            }
            (None, None) => {}
        }
    }
}

/// The epilogue of a layer followed by GELU: `u = X·Wᵀ + b`, then `y = GELU(u) = u·Φ(u)` in place of
/// `u`, and the slope `GELU′(u) = Φ(u) + u·φ(u)` into the second output
/// ([`super::gelu::gelu_and_slope`], as [`super::gelu::gelu_with_slope_into`] uses it).
struct BiasGelu<'a> {
    bias: Option<&'a [f32]>,
}

impl Epilogue for BiasGelu<'_> {
    #[inline(always)]
    fn finish_row(&self, _i: usize, first_col: usize, values: &mut [f32], slope: &mut [f32]) {
        if let Some(bias) = self.bias {
            for (y, &b) in values.iter_mut().zip(&bias[first_col..]) {
                *y += b;
            }
        }
        for (y, s) in values.iter_mut().zip(slope.iter_mut()) {
            (*y, *s) = gelu_and_slope(*y);
        }
    }
}

/// The backward epilogue for a layer whose output went through an activation: each finished
/// element of `dY·W` times the activation's slope at that element (`[rows, n]`, row-major).
struct TimesSlope<'a> {
    slope: &'a [f32],
    n: usize,
}

impl Epilogue for TimesSlope<'_> {
    #[inline(always)]
    fn finish_row(&self, i: usize, first_col: usize, values: &mut [f32], _extra: &mut [f32]) {
        let slope = &self.slope[i * self.n + first_col..][..values.len()];
        for (d, &s) in values.iter_mut().zip(slope) {
            *d *= s;
        }
    }
}

/// A fully connected layer `y = x·Wᵀ + b` (see the module docs for shapes and formulas).
#[derive(Clone, Debug)]
pub struct Linear {
    in_features: usize,
    out_features: usize,
    weight: Param,
    bias: Option<Param>,
    input: Cache,
}

impl Linear {
    /// A layer with PyTorch's default initialisation: weight and bias drawn from
    /// U(−1/√in, 1/√in) (`kaiming_uniform` with a = √5, see [`super::init`]).
    pub fn new(in_features: usize, out_features: usize, rng: &mut Rng) -> Linear {
        assert!(
            in_features > 0 && out_features > 0,
            "Linear::new: needs at least one input and one output feature, got in={in_features}, \
             out={out_features}"
        );
        let bound = default_linear_bound(in_features);
        let weight = Tensor::rand_uniform(&[out_features, in_features], -bound, bound, rng);
        let bias = Tensor::rand_uniform(&[out_features], -bound, bound, rng);
        Linear::from_params(weight, Some(bias))
    }

    /// A layer without a bias (`nn.Linear(in, out, bias=False)`), weight initialised as in [`Linear::new`].
    pub fn without_bias(in_features: usize, out_features: usize, rng: &mut Rng) -> Linear {
        let bound = default_linear_bound(in_features);
        let weight = Tensor::rand_uniform(&[out_features, in_features], -bound, bound, rng);
        Linear::from_params(weight, None)
    }

    /// A layer with the given weight `[out, in]` and optional bias `[out]` (e.g. set by hand, or
    /// initialised with a function of [`super::init`]). Panics if the shapes do not fit.
    pub fn from_params(weight: Tensor, bias: Option<Tensor>) -> Linear {
        assert_eq!(
            weight.ndim(),
            2,
            "Linear::from_params: weight must be [out, in], got shape {:?}",
            weight.shape()
        );
        let (out_features, in_features) = (weight.dim(0), weight.dim(1));
        if let Some(b) = &bias {
            assert_eq!(
                b.shape(),
                &[out_features],
                "Linear::from_params: bias shape {:?} does not fit weight shape {:?} (expected [{out_features}])",
                b.shape(),
                weight.shape()
            );
        }
        Linear {
            in_features,
            out_features,
            weight: Param::new(weight),
            bias: bias.map(Param::new),
            input: Cache::new(),
        }
    }

    /// The number of input features.
    pub fn in_features(&self) -> usize {
        self.in_features
    }

    /// The number of output features.
    pub fn out_features(&self) -> usize {
        self.out_features
    }

    /// The weight `[out, in]` and its gradient.
    pub fn weight(&self) -> &Param {
        &self.weight
    }

    /// The weight, mutable (e.g. to set it by hand).
    pub fn weight_mut(&mut self) -> &mut Param {
        &mut self.weight
    }

    /// The bias `[out]` and its gradient, if the layer has one.
    pub fn bias(&self) -> Option<&Param> {
        self.bias.as_ref()
    }

    /// The bias, mutable.
    pub fn bias_mut(&mut self) -> Option<&mut Param> {
        self.bias.as_mut()
    }

    /// The number of rows the input is viewed as; panics unless the last axis has `in` features.
    fn rows_of(&self, x: &Tensor) -> usize {
        assert!(
            x.ndim() >= 1 && x.shape()[x.ndim() - 1] == self.in_features,
            "Linear(in={}, out={}): input of shape {:?} must end in {} features ([N, {}] or [.., {}])",
            self.in_features,
            self.out_features,
            x.shape(),
            self.in_features,
            self.in_features,
            self.in_features
        );
        x.len() / self.in_features
    }

    /// The output shape for an input shape: the last axis becomes `out`.
    fn output_shape(&self, input_shape: &[usize]) -> Vec<usize> {
        let mut shape = input_shape.to_vec();
        let last = shape.len() - 1;
        shape[last] = self.out_features;
        shape
    }
}

impl Linear {
    /// `out = x·Wᵀ + b` for the rows of `x` (`[rows, in]` → `[rows, out]`, row-major slices), caching
    /// nothing: the slice-level forward pass that [`Layer::forward`] and the transformer block use.
    pub fn forward_into(&self, x: &[f32], out: &mut [f32]) {
        self.forward_rows(x, None, out);
    }

    /// `out = residual + x·Wᵀ + b`: the forward pass with a residual connection added in the same
    /// pass over `out` (`residual` has `out`'s size). A transformer block uses it for `x + f(x)`:
    /// writing `residual + b` first and letting the GEMM add `x·Wᵀ` on top saves a separate pass
    /// over the output.
    pub fn forward_add_into(&self, x: &[f32], residual: &[f32], out: &mut [f32]) {
        assert_eq!(
            residual.len(),
            out.len(),
            "Linear::forward_add_into: {} residual values for {} outputs",
            residual.len(),
            out.len()
        );
        self.forward_rows(x, Some(residual), out);
    }

    /// `out = GELU(x·Wᵀ + b)` and `slope = GELU′(x·Wᵀ + b)` (exact erf form, see
    /// [`super::gelu`]), in one pass over the output: the activation is the GEMM's epilogue. A
    /// transformer block's first feed-forward layer, which keeps the slope for its backward pass.
    pub fn forward_gelu_into(&self, x: &[f32], out: &mut [f32], slope: &mut [f32]) {
        let rows = self.check_rows(x, out);
        assert_eq!(
            slope.len(),
            out.len(),
            "Linear::forward_gelu_into: {} slopes for {} outputs",
            slope.len(),
            out.len()
        );
        let epilogue = BiasGelu {
            bias: self.bias.as_ref().map(|b| b.value.data()),
        };
        gemm_epilogue(
            self.x_view(x, rows),
            self.weight_t(),
            out,
            Some(slope),
            &epilogue,
        );
    }

    /// `out = [residual +] x·Wᵀ + b`: the GEMM, with `residual + b` added to each finished row.
    fn forward_rows(&self, x: &[f32], residual: Option<&[f32]>, out: &mut [f32]) {
        let rows = self.check_rows(x, out);
        let epilogue = AddBiasResidual {
            bias: self.bias.as_ref().map(|b| b.value.data()),
            residual,
            n: self.out_features,
        };
        gemm_epilogue(self.x_view(x, rows), self.weight_t(), out, None, &epilogue);
    }

    /// The number of rows of `x`, checking that `x` and `out` are whole rows of `in` and `out`
    /// values and the same number of them.
    fn check_rows(&self, x: &[f32], out: &[f32]) -> usize {
        let (k, n) = (self.in_features, self.out_features);
        let rows = x.len() / k;
        assert!(
            x.len() == rows * k && out.len() == rows * n,
            "Linear(in={k}, out={n}): {} input values are not whole rows of {k}, or {} output values \
             are not {rows} rows of {n}",
            x.len(),
            out.len()
        );
        rows
    }

    /// `x` as the `[rows, in]` matrix it is.
    fn x_view<'a>(&self, x: &'a [f32], rows: usize) -> MatRef<'a> {
        MatRef::new(x, rows, self.in_features)
    }

    /// `Wᵀ`, `[in, out]`: a view of the `[out, in]` weight with its strides swapped.
    fn weight_t(&self) -> MatRef<'_> {
        MatRef::new(
            self.weight.value.data(),
            self.out_features,
            self.in_features,
        )
        .t()
    }

    /// The slice-level backward pass: `x` is the forward pass's input `[rows, in]`, `dy` = ∂L/∂y
    /// `[rows, out]`. Adds `dW += dYᵀ·X` and `db += Σ_rows dY` into the gradients and, when `dx` is
    /// given, writes `dX = dY·W` there (`[rows, in]`) — or adds it with `accumulate`.
    pub fn backward_into(
        &mut self,
        x: &[f32],
        dy: &[f32],
        dx: Option<&mut [f32]>,
        accumulate: bool,
    ) {
        let rows = self.add_param_grads(x, dy);
        // dX = dY·W: [rows, out]·[out, in] = [rows, in].
        if let Some(dx) = dx {
            let beta = if accumulate { 1.0 } else { 0.0 };
            let (k, n) = (self.in_features, self.out_features);
            gemm_nn(rows, k, n, dy, self.weight.value.data(), dx, beta);
        }
    }

    /// [`Linear::backward_into`] for a layer whose *input* came out of an activation with slope
    /// `slope` (`[rows, in]`): writes `dX = (dY·W) ⊙ slope`, the gradient with respect to the
    /// activation's input, in one pass (the product's epilogue) — a transformer's second
    /// feed-forward layer, behind GELU.
    pub fn backward_times_slope_into(
        &mut self,
        x: &[f32],
        dy: &[f32],
        slope: &[f32],
        dx: &mut [f32],
    ) {
        let rows = self.add_param_grads(x, dy);
        let (k, n) = (self.in_features, self.out_features);
        assert!(
            slope.len() == rows * k && dx.len() == rows * k,
            "Linear(in={k}, out={n}): backward got {} slopes and room for {} input gradients, \
             not {rows} rows of {k}",
            slope.len(),
            dx.len()
        );
        let epilogue = TimesSlope { slope, n: k };
        gemm_epilogue(
            MatRef::new(dy, rows, n),
            MatRef::new(self.weight.value.data(), n, k),
            dx,
            None,
            &epilogue,
        );
    }

    /// `dW += dYᵀ·X` and `db += Σ_rows dY`; returns the number of rows.
    fn add_param_grads(&mut self, x: &[f32], dy: &[f32]) -> usize {
        let (k, n) = (self.in_features, self.out_features);
        let rows = x.len() / k;
        assert!(
            x.len() == rows * k && dy.len() == rows * n,
            "Linear(in={k}, out={n}): backward got {} input and {} gradient values, not {rows} rows \
             of {k} and {n}",
            x.len(),
            dy.len()
        );

        // dW += dYᵀ·X: [out, rows]·[rows, in] = [out, in], accumulated (β = 1).
        gemm_tn(n, k, rows, dy, x, self.weight.grad.data_mut(), 1.0);

        if let Some(b) = &mut self.bias {
            // db += Σ_rows dY (the column sums): each block of ROWS_PER_PARTIAL rows is summed on its own (in
            // parallel), then the blocks' sums are added in order — the same sum for any number of
            // threads. (With at most one block this is the plain sum over the rows.)
            let mut partials = vec![0.0f32; rows.div_ceil(ROWS_PER_PARTIAL) * n];
            let blocks: Vec<_> = dy
                .chunks(ROWS_PER_PARTIAL * n)
                .zip(partials.chunks_mut(n))
                .collect();
            parallel::for_each_item(blocks, |(dy, sums)| {
                for row in dy.chunks_exact(n) {
                    for (s, &g) in sums.iter_mut().zip(row) {
                        *s += g;
                    }
                }
            });
            for sums in partials.chunks_exact(n) {
                for (g, &s) in b.grad.data_mut().iter_mut().zip(sums) {
                    *g += s;
                }
            }
        }
        rows
    }
}

impl Layer for Linear {
    fn forward(&mut self, x: &Tensor, mode: Mode) -> Tensor {
        let rows = self.rows_of(x);
        let mut y = vec![0.0f32; rows * self.out_features];
        self.forward_into(x.data(), &mut y);
        self.input.save(x, mode);
        Tensor::from_vec(&self.output_shape(x.shape()), y)
    }

    fn backward(&mut self, grad_output: &Tensor) -> Tensor {
        let expected = self.output_shape(self.input.get("Linear").shape());
        assert_grad_shape("Linear", grad_output, &expected);
        // Take the cached input out of `self` for the call (it borrows `self` mutably), then put it back.
        let input = std::mem::take(&mut self.input);
        let x = input.get("Linear");
        let mut dx = vec![0.0f32; x.len()];
        self.backward_into(x.data(), grad_output.data(), Some(&mut dx), false);
        let dx = Tensor::from_vec(x.shape(), dx);
        self.input = input;
        dx
    }

    fn visit_params(&mut self, f: &mut dyn FnMut(&str, &mut Param)) {
        f("weight", &mut self.weight);
        if let Some(b) = &mut self.bias {
            f("bias", b);
        }
    }

    fn describe(&self) -> String {
        format!(
            "Linear(in_features={}, out_features={}, bias={})",
            self.in_features,
            self.out_features,
            self.bias.is_some()
        )
    }
}
