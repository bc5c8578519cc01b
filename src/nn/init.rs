//! Weight initialisation (chapter 7): the random starting point of training, scaled so that signals
//! neither vanish nor explode as they pass through many layers.
//!
//! The idea (Glorot & Bengio 2010; He et al. 2015): a layer computes `yⱼ = Σᵢ wⱼᵢxᵢ` over `fan_in`
//! inputs, so `Var(y) = fan_in · Var(w) · Var(x)`. Choosing `Var(w) = 1/fan_in` keeps the variance of
//! the signal constant from layer to layer. ReLU zeroes half its inputs, halving the variance, so He
//! (Kaiming) initialisation doubles it: `Var(w) = 2/fan_in`. Xavier (Glorot) averages forward and
//! backward: `Var(w) = 2/(fan_in + fan_out)`. A uniform distribution U(−b, b) has variance b²/3, which
//! turns each variance into a bound.
//!
//! | function | distribution | PyTorch |
//! |---|---|---|
//! | [`xavier_uniform`] | U(−b, b), b = gain·√(6/(fan_in+fan_out)) | `nn.init.xavier_uniform_` |
//! | [`xavier_normal`] | N(0, σ²), σ = gain·√(2/(fan_in+fan_out)) | `nn.init.xavier_normal_` |
//! | [`kaiming_uniform`] | U(−b, b), b = gain·√(3/fan) | `nn.init.kaiming_uniform_` |
//! | [`kaiming_normal`] | N(0, σ²), σ = gain/√fan | `nn.init.kaiming_normal_` |
//! | [`zeros`] | all 0 | `nn.init.zeros_` |
//!
//! `fan_in`/`fan_out` follow PyTorch for weights of shape `[out, in, k…]`: fan_in = in·Πk,
//! fan_out = out·Πk ([`fans`]). `gain` comes from [`gain`] (√2 for ReLU, 5/3 for tanh, …).
//!
//! PyTorch's *default* for `nn.Linear` (and `nn.Conv2d`) is `kaiming_uniform(a = √5)`: with the
//! leaky-ReLU gain √(2/(1 + a²)) = √(1/3), the bound is √(1/3)·√(3/fan_in) = 1/√fan_in; the bias is
//! U(−1/√fan_in, 1/√fan_in). [`default_linear_bound`] gives that bound. The numbers drawn differ from
//! PyTorch's (a different random generator); the distributions are the same.

use crate::probability::Rng;
use crate::tensor::Tensor;

/// The non-linearity that follows a layer, for [`gain`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Nonlinearity {
    /// No activation (or a linear/convolution layer): gain 1.
    Linear,
    /// Sigmoid: gain 1.
    Sigmoid,
    /// Tanh: gain 5/3.
    Tanh,
    /// ReLU: gain √2.
    Relu,
    /// Leaky ReLU with this negative slope: gain √(2/(1 + slope²)).
    LeakyRelu(f32),
}

/// PyTorch's `nn.init.calculate_gain`: the factor that keeps the signal's scale through this
/// non-linearity.
pub fn gain(nonlinearity: Nonlinearity) -> f32 {
    match nonlinearity {
        Nonlinearity::Linear | Nonlinearity::Sigmoid => 1.0,
        Nonlinearity::Tanh => 5.0 / 3.0,
        Nonlinearity::Relu => std::f32::consts::SQRT_2,
        Nonlinearity::LeakyRelu(slope) => (2.0 / (1.0 + slope * slope)).sqrt(),
    }
}

/// Which fan a Kaiming initialisation preserves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FanMode {
    /// Keep the variance of the forward signal (PyTorch's default).
    FanIn,
    /// Keep the variance of the backward gradients.
    FanOut,
}

/// `(fan_in, fan_out)` of a weight of shape `[out, in, k…]`: `(in·Πk, out·Πk)`.
/// Panics for fewer than 2 dimensions (as PyTorch does: a bias has no fan-out).
pub fn fans(shape: &[usize]) -> (usize, usize) {
    assert!(
        shape.len() >= 2,
        "fans: needs a weight with at least 2 dimensions [out, in, …], got shape {shape:?}"
    );
    let receptive_field: usize = shape[2..].iter().product();
    (shape[1] * receptive_field, shape[0] * receptive_field)
}

/// Xavier/Glorot uniform: U(−b, b) with `b = gain·√(6/(fan_in + fan_out))`.
pub fn xavier_uniform(shape: &[usize], gain: f32, rng: &mut Rng) -> Tensor {
    let (fan_in, fan_out) = fans(shape);
    let bound = gain * (6.0 / (fan_in + fan_out) as f32).sqrt();
    Tensor::rand_uniform(shape, -bound, bound, rng)
}

/// Xavier/Glorot normal: N(0, σ²) with `σ = gain·√(2/(fan_in + fan_out))`.
pub fn xavier_normal(shape: &[usize], gain: f32, rng: &mut Rng) -> Tensor {
    let (fan_in, fan_out) = fans(shape);
    let std = gain * (2.0 / (fan_in + fan_out) as f32).sqrt();
    Tensor::randn(shape, 0.0, std, rng)
}

fn chosen_fan(shape: &[usize], mode: FanMode) -> usize {
    let (fan_in, fan_out) = fans(shape);
    match mode {
        FanMode::FanIn => fan_in,
        FanMode::FanOut => fan_out,
    }
}

/// Kaiming/He uniform: U(−b, b) with `b = gain·√(3/fan)`.
pub fn kaiming_uniform(
    shape: &[usize],
    mode: FanMode,
    nonlinearity: Nonlinearity,
    rng: &mut Rng,
) -> Tensor {
    let fan = chosen_fan(shape, mode) as f32;
    let bound = gain(nonlinearity) * (3.0 / fan).sqrt();
    Tensor::rand_uniform(shape, -bound, bound, rng)
}

/// Kaiming/He normal: N(0, σ²) with `σ = gain/√fan`.
pub fn kaiming_normal(
    shape: &[usize],
    mode: FanMode,
    nonlinearity: Nonlinearity,
    rng: &mut Rng,
) -> Tensor {
    let fan = chosen_fan(shape, mode) as f32;
    let std = gain(nonlinearity) / fan.sqrt();
    Tensor::randn(shape, 0.0, std, rng)
}

/// All zeros (e.g. biases in many recipes). Never for weights: identical units stay identical.
pub fn zeros(shape: &[usize]) -> Tensor {
    Tensor::zeros(shape)
}

/// `1/√fan_in`: the bound of PyTorch's default initialisation of `nn.Linear`/`nn.Conv2d` weights
/// (`kaiming_uniform` with a = √5) and biases.
pub fn default_linear_bound(fan_in: usize) -> f32 {
    1.0 / (fan_in.max(1) as f32).sqrt()
}
