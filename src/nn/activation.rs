//! Chapter 6 (神经网络的基础结构, neurons and activations): the non-linear functions between layers,
//! as plain functions (value and derivative) and as [`Layer`]s.
//!
//! Without a non-linearity, stacked linear layers collapse into one linear map; the activation is what
//! lets a network bend. Each function comes with its derivative, because backward needs it:
//!
//! | function | f(x) | f′(x) | layer (PyTorch) |
//! |---|---|---|---|
//! | [`sigmoid`] | 1/(1+e⁻ˣ) | f(x)(1−f(x)) | [`Sigmoid`] (`nn.Sigmoid`) |
//! | [`tanh`] | (eˣ−e⁻ˣ)/(eˣ+e⁻ˣ) | 1−f(x)² | [`Tanh`] (`nn.Tanh`) |
//! | [`relu`] | max(0, x) | 1 if x > 0 else 0 | [`Relu`] (`nn.ReLU`) |
//! | [`leaky_relu`] | x if x > 0 else αx | 1 if x > 0 else α | [`LeakyRelu`] (`nn.LeakyReLU`, α = 0.01) |
//! | [`gelu`] | x·Φ(x) | Φ(x)+x·φ(x) | [`Gelu`] (`nn.GELU`, exact erf form) |
//! | identity | x | 1 | [`Identity`] (`nn.Identity`) |
//!
//! plus [`Softmax`] over the last axis (`nn.Softmax(dim=-1)`), whose backward is not element-wise.
//!
//! At the kink x = 0, ReLU and LeakyReLU use the derivative of the left piece (0 and α), as PyTorch
//! does. Rust spells acronyms as words, so PyTorch's `ReLU`/`GELU` are `Relu`/`Gelu` here.
//!
//! Every layer works on tensors of any shape. In [`Mode::Train`] a layer keeps what its backward needs
//! (the input, or the output when the derivative is cheaper from it: σ′ = σ(1−σ), tanh′ = 1−tanh²),
//! in a [`Cache`] that reuses its buffer from step to step.

use super::gelu::{gelu, gelu_derivative, gelu_tanh, gelu_tanh_derivative};
use super::layer::{Cache, Layer, Mode, assert_grad_shape};
use crate::tensor::Tensor;

/// The logistic sigmoid `1/(1 + e⁻ˣ)`, squashing any number into (0, 1). Computed as `eˣ/(1 + eˣ)`
/// for x < 0 so that e⁻ˣ never overflows.
pub fn sigmoid(x: f32) -> f32 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

/// dσ/dx `= σ(x)(1 − σ(x))` (at most ¼, at x = 0: why deep sigmoid networks learn slowly).
pub fn sigmoid_derivative(x: f32) -> f32 {
    let s = sigmoid(x);
    s * (1.0 - s)
}

/// The hyperbolic tangent, squashing into (−1, 1) and centred at 0.
pub fn tanh(x: f32) -> f32 {
    x.tanh()
}

/// d tanh/dx `= 1 − tanh²(x)`.
pub fn tanh_derivative(x: f32) -> f32 {
    let t = x.tanh();
    1.0 - t * t
}

/// The rectified linear unit `max(0, x)`.
pub fn relu(x: f32) -> f32 {
    if x > 0.0 { x } else { 0.0 }
}

/// d ReLU/dx: 1 for x > 0, 0 otherwise (0 at the kink, as PyTorch).
pub fn relu_derivative(x: f32) -> f32 {
    if x > 0.0 { 1.0 } else { 0.0 }
}

/// Leaky ReLU: `x` for x > 0, `slope·x` otherwise, so negative inputs keep a small gradient.
pub fn leaky_relu(x: f32, slope: f32) -> f32 {
    if x > 0.0 { x } else { slope * x }
}

/// d LeakyReLU/dx: 1 for x > 0, `slope` otherwise (including the kink, as PyTorch).
pub fn leaky_relu_derivative(x: f32, slope: f32) -> f32 {
    if x > 0.0 { 1.0 } else { slope }
}

/// `y = σ(x)` element-wise; backward `dx = dy ⊙ y(1 − y)` from the saved output y. Any shape.
#[derive(Clone, Debug, Default)]
pub struct Sigmoid {
    output: Cache,
}

impl Sigmoid {
    /// A sigmoid layer.
    pub fn new() -> Sigmoid {
        Sigmoid::default()
    }
}

impl Layer for Sigmoid {
    fn forward(&mut self, x: &Tensor, mode: Mode) -> Tensor {
        let y = x.map(sigmoid);
        self.output.save(&y, mode);
        y
    }

    fn backward(&mut self, grad_output: &Tensor) -> Tensor {
        let y = self.output.get("Sigmoid");
        assert_grad_shape("Sigmoid", grad_output, y.shape());
        grad_output.zip_map(y, |g, y| g * y * (1.0 - y))
    }

    fn describe(&self) -> String {
        "Sigmoid()".to_string()
    }
}

/// `y = tanh(x)` element-wise; backward `dx = dy ⊙ (1 − y²)` from the saved output y. Any shape.
#[derive(Clone, Debug, Default)]
pub struct Tanh {
    output: Cache,
}

impl Tanh {
    /// A tanh layer.
    pub fn new() -> Tanh {
        Tanh::default()
    }
}

impl Layer for Tanh {
    fn forward(&mut self, x: &Tensor, mode: Mode) -> Tensor {
        let y = x.map(tanh);
        self.output.save(&y, mode);
        y
    }

    fn backward(&mut self, grad_output: &Tensor) -> Tensor {
        let y = self.output.get("Tanh");
        assert_grad_shape("Tanh", grad_output, y.shape());
        grad_output.zip_map(y, |g, y| g * (1.0 - y * y))
    }

    fn describe(&self) -> String {
        "Tanh()".to_string()
    }
}

/// `y = max(0, x)` element-wise; backward `dx = dy ⊙ [y > 0]` from the saved output (y > 0 exactly
/// where x > 0). Any shape. PyTorch's `nn.ReLU`.
#[derive(Clone, Debug, Default)]
pub struct Relu {
    output: Cache,
}

impl Relu {
    /// A ReLU layer.
    pub fn new() -> Relu {
        Relu::default()
    }
}

impl Layer for Relu {
    fn forward(&mut self, x: &Tensor, mode: Mode) -> Tensor {
        let y = x.map(relu);
        self.output.save(&y, mode);
        y
    }

    fn backward(&mut self, grad_output: &Tensor) -> Tensor {
        let y = self.output.get("ReLU");
        assert_grad_shape("ReLU", grad_output, y.shape());
        grad_output.zip_map(y, |g, y| if y > 0.0 { g } else { 0.0 })
    }

    fn describe(&self) -> String {
        "ReLU()".to_string()
    }
}

/// `y = x` for x > 0, `slope·x` otherwise; backward `dx = dy ⊙ (1 or slope)` from the saved input.
/// Any shape. PyTorch's `nn.LeakyReLU(negative_slope)`.
#[derive(Clone, Debug)]
pub struct LeakyRelu {
    slope: f32,
    input: Cache,
}

impl LeakyRelu {
    /// A leaky ReLU with the given negative slope (PyTorch's default is 0.01).
    pub fn new(slope: f32) -> LeakyRelu {
        LeakyRelu {
            slope,
            input: Cache::new(),
        }
    }

    /// The negative slope α.
    pub fn slope(&self) -> f32 {
        self.slope
    }
}

impl Default for LeakyRelu {
    fn default() -> LeakyRelu {
        LeakyRelu::new(0.01)
    }
}

impl Layer for LeakyRelu {
    fn forward(&mut self, x: &Tensor, mode: Mode) -> Tensor {
        self.input.save(x, mode);
        let slope = self.slope;
        x.map(|v| leaky_relu(v, slope))
    }

    fn backward(&mut self, grad_output: &Tensor) -> Tensor {
        let x = self.input.get("LeakyReLU");
        assert_grad_shape("LeakyReLU", grad_output, x.shape());
        let slope = self.slope;
        grad_output.zip_map(x, |g, x| g * leaky_relu_derivative(x, slope))
    }

    fn describe(&self) -> String {
        format!("LeakyReLU(negative_slope={})", self.slope)
    }
}

/// `y = GELU(x)` element-wise (exact erf form by default, or the tanh approximation); backward
/// `dx = dy ⊙ GELU′(x)` from the saved input. Any shape. PyTorch's `nn.GELU`.
#[derive(Clone, Debug, Default)]
pub struct Gelu {
    tanh_approximation: bool,
    input: Cache,
}

impl Gelu {
    /// GELU in its exact form `x·Φ(x)` (PyTorch's `nn.GELU()`).
    pub fn new() -> Gelu {
        Gelu::default()
    }

    /// GELU with the tanh approximation (PyTorch's `nn.GELU(approximate='tanh')`).
    pub fn tanh_approximation() -> Gelu {
        Gelu {
            tanh_approximation: true,
            input: Cache::new(),
        }
    }
}

impl Layer for Gelu {
    fn forward(&mut self, x: &Tensor, mode: Mode) -> Tensor {
        self.input.save(x, mode);
        if self.tanh_approximation {
            x.map(gelu_tanh)
        } else {
            x.map(gelu)
        }
    }

    fn backward(&mut self, grad_output: &Tensor) -> Tensor {
        let x = self.input.get("GELU");
        assert_grad_shape("GELU", grad_output, x.shape());
        if self.tanh_approximation {
            grad_output.zip_map(x, |g, x| g * gelu_tanh_derivative(x))
        } else {
            grad_output.zip_map(x, |g, x| g * gelu_derivative(x))
        }
    }

    fn describe(&self) -> String {
        if self.tanh_approximation {
            "GELU(approximate='tanh')".to_string()
        } else {
            "GELU(approximate='none')".to_string()
        }
    }
}

/// `y = x`; backward `dx = dy`. A placeholder layer (e.g. "no activation" in a configurable model).
#[derive(Clone, Debug, Default)]
pub struct Identity {
    output_shape: Option<Vec<usize>>,
}

impl Identity {
    /// An identity layer.
    pub fn new() -> Identity {
        Identity::default()
    }
}

impl Layer for Identity {
    fn forward(&mut self, x: &Tensor, mode: Mode) -> Tensor {
        self.output_shape = (mode.keeps_cache()).then(|| x.shape().to_vec());
        x.clone()
    }

    fn backward(&mut self, grad_output: &Tensor) -> Tensor {
        let shape = self.output_shape.as_ref().expect(
            "Identity: backward called without a preceding forward in Mode::Train or Mode::Eval \
             (a Mode::Inference forward caches nothing)",
        );
        assert_grad_shape("Identity", grad_output, shape);
        grad_output.clone()
    }

    fn describe(&self) -> String {
        "Identity()".to_string()
    }
}

/// Softmax over the last axis: each row `x` of length K becomes `yᵢ = e^{xᵢ}/Σⱼ e^{xⱼ}` (computed
/// stably, see [`crate::loss::softmax`]). Input `[…, K]`, output the same shape.
///
/// Backward, per row: `dxᵢ = yᵢ(dyᵢ − Σⱼ dyⱼyⱼ)` — the Jacobian `diag(y) − yyᵀ` applied to dy without
/// forming it. For classification, do not end the model with this layer and then take a log: give the
/// raw scores to [`crate::loss::cross_entropy`], which fuses both stably.
#[derive(Clone, Debug, Default)]
pub struct Softmax {
    output: Cache,
}

impl Softmax {
    /// Softmax over the last axis (`nn.Softmax(dim=-1)`).
    pub fn new() -> Softmax {
        Softmax::default()
    }
}

impl Layer for Softmax {
    fn forward(&mut self, x: &Tensor, mode: Mode) -> Tensor {
        let y = crate::loss::softmax(x);
        self.output.save(&y, mode);
        y
    }

    fn backward(&mut self, grad_output: &Tensor) -> Tensor {
        let y = self.output.get("Softmax");
        assert_grad_shape("Softmax", grad_output, y.shape());
        let k = y.shape()[y.ndim() - 1];
        let mut dx = grad_output.clone();
        for (dx_row, y_row) in dx.data_mut().chunks_mut(k).zip(y.data().chunks(k)) {
            let dot: f32 = dx_row.iter().zip(y_row).map(|(&g, &y)| g * y).sum();
            for (g, &y) in dx_row.iter_mut().zip(y_row) {
                *g = y * (*g - dot);
            }
        }
        dx
    }

    fn describe(&self) -> String {
        "Softmax(dim=-1)".to_string()
    }
}
