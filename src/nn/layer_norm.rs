//! `LayerNorm`: normalise every row over its last axis, then scale and shift, as `torch.nn.LayerNorm`
//! (Ba, Kiros & Hinton, 2016). Chapter 16's transformer puts one in front of the attention and one in
//! front of the feed-forward part of every block.
//!
//! Shapes (letters from the crate docs): input `[..., E]` (any leading axes, e.g. `[N, T, E]`), output
//! the same shape; parameters `weight` γ `[E]` (starts at 1) and `bias` β `[E]` (starts at 0),
//! PyTorch's names. Each of the R = len/E rows is normalised on its own, so unlike batch
//! normalisation nothing depends on the other examples of the batch and training and evaluation
//! compute the same thing.
//!
//! Forward, for one row x of E values (biased variance, as PyTorch):
//! ```text
//! μ = (1/E) Σᵢ xᵢ        σ² = (1/E) Σᵢ (xᵢ − μ)²        r = 1/√(σ² + ε)
//! x̂ᵢ = (xᵢ − μ)·r        yᵢ = γᵢ·x̂ᵢ + βᵢ
//! ```
//! Backward, given `dy = ∂L/∂y` for the row. The parameters are used by every row, so their
//! gradients sum over rows: `dγ += Σ_rows dy ⊙ x̂`, `dβ += Σ_rows dy`. For the input, write
//! `g = dy ⊙ γ` (the gradient reaching x̂). Every x̂ᵢ depends on every xⱼ through μ and σ²:
//! `∂x̂ᵢ/∂xⱼ = r·(δᵢⱼ − 1/E − x̂ᵢ·x̂ⱼ/E)`, so
//! ```text
//! dxⱼ = Σᵢ gᵢ·∂x̂ᵢ/∂xⱼ = r·(gⱼ − mean(g) − x̂ⱼ·mean(g ⊙ x̂))
//! ```
//! — the incoming gradient with its mean removed and its component along x̂ removed: the two
//! directions in which moving x does not change x̂ at all (a shift of every xᵢ, a scaling of x − μ).
//!
//! The forward pass keeps μ and r of every row (two numbers per row), and the backward pass takes
//! the forward input again and recomputes x̂ from it: that is cheaper than keeping x̂ (E numbers per
//! row). [`LayerNorm`] as a [`Layer`] keeps its own copy of the input; the transformer block, which
//! owns its activations anyway, uses the slice-level [`LayerNorm::forward_rows`] and
//! [`LayerNorm::backward_rows`] and hands the input back itself.
//!
//! What it leaves out: `elementwise_affine=False`, normalising over more than the last axis
//! (`normalized_shape` with several dimensions), `bias=False`.

use super::layer::{Layer, Mode, Param, assert_grad_shape};
use crate::linalg::vector::{LANES, dot_lanes, sum_lanes};
use crate::parallel;
use crate::tensor::Tensor;

/// Rows per task on the thread pool. A constant, so the parameter gradients are summed in the same
/// pieces — and rounded the same way — for any number of threads.
const ROWS_PER_TASK: usize = 64;

/// Layer normalisation over the last axis with a learned scale and shift (see the module docs).
#[derive(Clone, Debug)]
pub struct LayerNorm {
    features: usize,
    eps: f32,
    weight: Param,
    bias: Param,
    /// μ of every row of the last caching forward pass.
    mean: Vec<f32>,
    /// r = 1/√(σ² + ε) of every row of the last caching forward pass.
    rstd: Vec<f32>,
    /// Backward: each task's share of dγ and dβ, `[tasks, 2E]`.
    partials: Vec<f32>,
    /// The input of the last caching forward pass (the [`Layer`] API only; see the module docs).
    input: Vec<f32>,
    input_shape: Vec<usize>,
    /// True after a caching forward pass.
    valid: bool,
}

impl LayerNorm {
    /// `nn.LayerNorm(features)`: ε = 10⁻⁵, γ = 1, β = 0.
    pub fn new(features: usize) -> LayerNorm {
        assert!(features > 0, "LayerNorm::new: needs at least one feature");
        LayerNorm {
            features,
            eps: 1e-5,
            weight: Param::new(Tensor::ones(&[features])),
            bias: Param::new(Tensor::zeros(&[features])),
            mean: Vec::new(),
            rstd: Vec::new(),
            partials: Vec::new(),
            input: Vec::new(),
            input_shape: Vec::new(),
            valid: false,
        }
    }

    /// Sets ε, the constant added to the variance (PyTorch's `eps`).
    pub fn eps(mut self, eps: f32) -> LayerNorm {
        assert!(
            eps >= 0.0 && eps.is_finite(),
            "LayerNorm::eps: must be ≥ 0, got {eps}"
        );
        self.eps = eps;
        self
    }

    /// The number of features E of every row.
    pub fn features(&self) -> usize {
        self.features
    }

    /// γ `[E]` and its gradient.
    pub fn weight(&self) -> &Param {
        &self.weight
    }

    /// γ, mutable.
    pub fn weight_mut(&mut self) -> &mut Param {
        &mut self.weight
    }

    /// β `[E]` and its gradient.
    pub fn bias(&self) -> &Param {
        &self.bias
    }

    /// β, mutable.
    pub fn bias_mut(&mut self) -> &mut Param {
        &mut self.bias
    }

    /// Normalises every E-long row of `x` into `out` (same length). With `keep`, remembers each
    /// row's μ and r for [`LayerNorm::backward_rows`]. Rows run in parallel, in tasks of
    /// 64 rows (a constant: the same pieces for any number of threads).
    pub fn forward_rows(&mut self, x: &[f32], out: &mut [f32], keep: bool) {
        let e = self.features;
        assert!(
            x.len().is_multiple_of(e) && out.len() == x.len(),
            "LayerNorm({e}): input of {} values is not whole rows of {e}, or the output holds {}",
            x.len(),
            out.len()
        );
        let rows = x.len() / e;
        self.mean.resize(rows, 0.0);
        self.rstd.resize(rows, 0.0);
        let (gamma, beta) = (self.weight.value.data(), self.bias.value.data());
        let eps = self.eps;
        let inv_e = 1.0 / e as f32;
        let tasks: Vec<_> = x
            .chunks(ROWS_PER_TASK * e)
            .zip(out.chunks_mut(ROWS_PER_TASK * e))
            .zip(self.mean.chunks_mut(ROWS_PER_TASK))
            .zip(self.rstd.chunks_mut(ROWS_PER_TASK))
            .collect();
        parallel::for_each_item(tasks, |(((x, out), means), rstds)| {
            for (((row, y), mean_slot), rstd_slot) in x
                .chunks_exact(e)
                .zip(out.chunks_exact_mut(e))
                .zip(means.iter_mut())
                .zip(rstds.iter_mut())
            {
                // The sums run in 8 lanes (see `vector::LANES`): one long chain of additions
                // per row would cost more than the rest of the layer.
                let mean = sum_lanes(row) * inv_e;
                // y holds x − μ for a moment: the variance is its dot product with itself.
                for (y, &v) in y.iter_mut().zip(row) {
                    *y = v - mean;
                }
                let variance = dot_lanes(y, y) * inv_e;
                let rstd = 1.0 / (variance + eps).sqrt();
                for ((y, &g), &b) in y.iter_mut().zip(gamma).zip(beta) {
                    *y = *y * rstd * g + b;
                }
                *mean_slot = mean;
                *rstd_slot = rstd;
            }
        });
        self.valid = keep;
    }

    /// The backward pass for the rows of the last caching [`LayerNorm::forward_rows`]: `x` is that
    /// pass's input again, `dy` = ∂L/∂y. Adds ∂L/∂γ and ∂L/∂β into the parameters' gradients and
    /// writes ∂L/∂x into `dx` — or adds it there with `accumulate` (a residual connection's
    /// gradient arriving by two paths). Formulas in the module docs.
    ///
    /// Rows run in parallel in tasks of 64 rows; each task sums its rows' share of
    /// dγ and dβ, and the shares are added in task order — the same sums for any number of threads.
    pub fn backward_rows(&mut self, x: &[f32], dy: &[f32], dx: &mut [f32], accumulate: bool) {
        let output = if accumulate {
            GradOutput::Add
        } else {
            GradOutput::Write
        };
        self.backward_rows_into(x, dy, dx, output);
    }

    /// [`LayerNorm::backward_rows`] writing `dx = residual + ∂L/∂x`: the gradient of a residual
    /// connection `x + f(norm(x))`, whose two paths meet here, in one pass (`residual`, the
    /// gradient that arrives by the skip path, has `dx`'s size).
    pub fn backward_rows_plus(&mut self, x: &[f32], dy: &[f32], residual: &[f32], dx: &mut [f32]) {
        assert_eq!(
            residual.len(),
            dx.len(),
            "LayerNorm::backward_rows_plus: {} residual gradients for {} outputs",
            residual.len(),
            dx.len()
        );
        self.backward_rows_into(x, dy, dx, GradOutput::AddTo(residual));
    }

    /// The backward pass, with ∂L/∂x written, added, or added to `residual` (see the two callers).
    fn backward_rows_into(
        &mut self,
        x: &[f32],
        dy: &[f32],
        dx: &mut [f32],
        output: GradOutput<'_>,
    ) {
        assert!(
            self.valid,
            "LayerNorm::backward called without a preceding forward in Mode::Train or Mode::Eval \
             (a Mode::Inference forward caches nothing)"
        );
        let e = self.features;
        let rows = self.mean.len();
        assert!(
            x.len() == rows * e && dy.len() == rows * e && dx.len() == rows * e,
            "LayerNorm({e}): backward got {} input, {} gradient and {} output values for the {rows} \
             rows of the last forward",
            x.len(),
            dy.len(),
            dx.len()
        );
        let gamma = self.weight.value.data();
        let inv_e = 1.0 / e as f32;
        let tasks_count = rows.div_ceil(ROWS_PER_TASK);
        // Each task's [dγ | dβ] share, 2E values.
        self.partials.clear();
        self.partials.resize(tasks_count * 2 * e, 0.0);
        let tasks: Vec<_> = x
            .chunks(ROWS_PER_TASK * e)
            .zip(dy.chunks(ROWS_PER_TASK * e))
            .zip(dx.chunks_mut(ROWS_PER_TASK * e))
            .zip(self.mean.chunks(ROWS_PER_TASK))
            .zip(self.rstd.chunks(ROWS_PER_TASK))
            .zip(self.partials.chunks_mut(2 * e))
            .enumerate()
            .collect();
        parallel::for_each_item(
            tasks,
            |(task, (((((x, dy), dx), means), rstds), partial))| {
                let (d_gamma, d_beta) = partial.split_at_mut(e);
                let first_row = task * ROWS_PER_TASK;
                for (r, ((((row, dy_row), dx_row), &mean), &rstd)) in x
                    .chunks_exact(e)
                    .zip(dy.chunks_exact(e))
                    .zip(dx.chunks_exact_mut(e))
                    .zip(means)
                    .zip(rstds)
                    .enumerate()
                {
                    // First pass: the two means of the formula, and the parameter gradients.
                    // The two sums run in LANES running sums each (see `vector::LANES`): element i
                    // goes to sum i mod LANES. The loops walk the row in groups of LANES elements
                    // (then the rest) without indices, so the compiler can vectorise them.
                    let mut g_sums = [0.0f32; LANES];
                    let mut g_x_hat_sums = [0.0f32; LANES];
                    let mut first_pass =
                        |lane: usize, x: f32, dy: f32, gamma: f32, dg: &mut f32, db: &mut f32| {
                            let x_hat = (x - mean) * rstd;
                            let g = dy * gamma;
                            g_sums[lane] += g;
                            g_x_hat_sums[lane] += g * x_hat;
                            *dg += dy * x_hat;
                            *db += dy;
                        };
                    let whole = e - e % LANES;
                    let groups = row[..whole]
                        .chunks_exact(LANES)
                        .zip(dy_row[..whole].chunks_exact(LANES))
                        .zip(gamma[..whole].chunks_exact(LANES))
                        .zip(d_gamma[..whole].chunks_exact_mut(LANES))
                        .zip(d_beta[..whole].chunks_exact_mut(LANES));
                    for ((((xs, dys), gammas), dgs), dbs) in groups {
                        for lane in 0..LANES {
                            first_pass(
                                lane,
                                xs[lane],
                                dys[lane],
                                gammas[lane],
                                &mut dgs[lane],
                                &mut dbs[lane],
                            );
                        }
                    }
                    let rest = row[whole..]
                        .iter()
                        .zip(&dy_row[whole..])
                        .zip(&gamma[whole..])
                        .zip(d_gamma[whole..].iter_mut())
                        .zip(d_beta[whole..].iter_mut());
                    for (lane, ((((&x, &dy), &g), dg), db)) in rest.enumerate() {
                        first_pass(lane, x, dy, g, dg, db);
                    }
                    let g_mean = sum_lanes(&g_sums) * inv_e;
                    let g_x_hat_mean = sum_lanes(&g_x_hat_sums) * inv_e;
                    // Second pass: dx = r·(g − mean(g) − x̂·mean(g ⊙ x̂)).
                    let dx_values = row.iter().zip(dy_row).zip(gamma).map(|((&x, &dy), &g)| {
                        let x_hat = (x - mean) * rstd;
                        rstd * (dy * g - g_mean - x_hat * g_x_hat_mean)
                    });
                    match output {
                        GradOutput::Write => {
                            for (dx, d) in dx_row.iter_mut().zip(dx_values) {
                                *dx = d;
                            }
                        }
                        GradOutput::Add => {
                            for (dx, d) in dx_row.iter_mut().zip(dx_values) {
                                *dx += d;
                            }
                        }
                        GradOutput::AddTo(residual) => {
                            let residual_row = &residual[(first_row + r) * e..][..e];
                            for ((dx, d), &skip) in
                                dx_row.iter_mut().zip(dx_values).zip(residual_row)
                            {
                                *dx = skip + d;
                            }
                        }
                    }
                }
            },
        );
        let (d_gamma, d_beta) = (self.weight.grad.data_mut(), self.bias.grad.data_mut());
        for partial in self.partials.chunks_exact(2 * e) {
            for (g, &p) in d_gamma.iter_mut().zip(&partial[..e]) {
                *g += p;
            }
            for (g, &p) in d_beta.iter_mut().zip(&partial[e..]) {
                *g += p;
            }
        }
    }
}

/// What the backward pass does with ∂L/∂x.
#[derive(Clone, Copy)]
enum GradOutput<'a> {
    /// `dx = ∂L/∂x`.
    Write,
    /// `dx += ∂L/∂x`.
    Add,
    /// `dx = residual + ∂L/∂x`.
    AddTo(&'a [f32]),
}

impl Layer for LayerNorm {
    fn forward(&mut self, x: &Tensor, mode: Mode) -> Tensor {
        assert!(
            x.ndim() >= 1 && x.shape()[x.ndim() - 1] == self.features,
            "LayerNorm({}): input of shape {:?} must end in {} features",
            self.features,
            x.shape(),
            self.features
        );
        let mut y = Tensor::zeros(x.shape());
        let keep = mode.keeps_cache();
        self.forward_rows(x.data(), y.data_mut(), keep);
        if keep {
            self.input.clear();
            self.input.extend_from_slice(x.data());
            self.input_shape = x.shape().to_vec();
        }
        y
    }

    fn backward(&mut self, grad_output: &Tensor) -> Tensor {
        assert!(
            self.valid,
            "LayerNorm::backward called without a preceding forward in Mode::Train or Mode::Eval \
             (a Mode::Inference forward caches nothing)"
        );
        assert_grad_shape("LayerNorm", grad_output, &self.input_shape);
        let mut dx = Tensor::zeros(&self.input_shape);
        let input = std::mem::take(&mut self.input);
        self.backward_rows(&input, grad_output.data(), dx.data_mut(), false);
        self.input = input;
        dx
    }

    fn visit_params(&mut self, f: &mut dyn FnMut(&str, &mut Param)) {
        f("weight", &mut self.weight);
        f("bias", &mut self.bias);
    }

    fn describe(&self) -> String {
        format!("LayerNorm({}, eps={})", self.features, self.eps)
    }
}
