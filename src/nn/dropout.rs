//! `Dropout` (chapter 7): during training, zero each input with probability p and scale the survivors
//! by 1/(1 − p) ("inverted" dropout), so the expected value of every element is unchanged and
//! evaluation needs no rescaling — in [`Mode::Eval`] and [`Mode::Inference`] the layer is the identity
//! (and after `Eval`, its backward is the identity too). Like `nn.Dropout(p)`.
//!
//! Forward (training): `y = x ⊙ m` with `mᵢ = 1/(1 − p)` with probability 1 − p, else 0.
//! Backward: `dx = dy ⊙ m`, the same mask. Any shape.
//!
//! The mask comes from the layer's own [`Rng`] (forked from the one given at construction), so a
//! seeded run drops the same units every time, for any thread count. [`Dropout::reseed`] restarts
//! that generator (used by the gradient check, which needs the same mask on every forward).

use super::layer::{Layer, Mode, assert_grad_shape};
use crate::probability::Rng;
use crate::tensor::Tensor;

/// Inverted dropout with drop probability `p` (see the module docs).
#[derive(Clone, Debug)]
pub struct Dropout {
    p: f32,
    rng: Rng,
    /// The mask of the last training forward (0 or 1/(1 − p) per element), reused between steps.
    mask: Vec<f32>,
    /// The shape of the last caching forward's input (None after `Inference`: backward panics).
    mask_shape: Option<Vec<usize>>,
    /// True when the last caching forward was in [`Mode::Eval`]: backward passes gradients through.
    identity: bool,
}

impl Dropout {
    /// Dropout with probability `p` in [0, 1]; the mask generator is forked from `rng`.
    pub fn new(p: f32, rng: &mut Rng) -> Dropout {
        assert!(
            (0.0..=1.0).contains(&p),
            "Dropout::new: the drop probability must be in [0, 1], got {p}"
        );
        Dropout {
            p,
            rng: rng.fork(),
            mask: Vec::new(),
            mask_shape: None,
            identity: false,
        }
    }

    /// The drop probability.
    pub fn p(&self) -> f32 {
        self.p
    }

    /// Restarts the mask generator from `seed` (the next masks repeat for the same seed).
    pub fn reseed(&mut self, seed: u64) {
        self.rng = Rng::new(seed);
    }
}

impl Layer for Dropout {
    fn forward(&mut self, x: &Tensor, mode: Mode) -> Tensor {
        if !mode.is_training() {
            // Eval: remember the shape so a backward (input gradients of a trained model) is the
            // identity; Inference: remember nothing.
            self.mask_shape = mode.keeps_cache().then(|| x.shape().to_vec());
            self.identity = true;
            return x.clone();
        }
        self.identity = false;
        // p = 1 drops everything (PyTorch returns zeros); otherwise survivors are scaled by 1/(1 − p).
        let keep_scale = if self.p < 1.0 {
            1.0 / (1.0 - self.p)
        } else {
            0.0
        };
        self.mask.clear();
        let p = f64::from(self.p);
        for _ in 0..x.len() {
            let dropped = self.rng.bernoulli(p);
            self.mask.push(if dropped { 0.0 } else { keep_scale });
        }
        self.mask_shape = Some(x.shape().to_vec());
        let mut y = x.clone();
        for (v, &m) in y.data_mut().iter_mut().zip(&self.mask) {
            *v *= m;
        }
        y
    }

    fn backward(&mut self, grad_output: &Tensor) -> Tensor {
        let shape = self.mask_shape.as_ref().expect(
            "Dropout: backward called without a preceding forward in Mode::Train or Eval \
             (a Mode::Inference forward caches nothing)",
        );
        assert_grad_shape("Dropout", grad_output, shape);
        if self.identity {
            return grad_output.clone();
        }
        let mut dx = grad_output.clone();
        for (g, &m) in dx.data_mut().iter_mut().zip(&self.mask) {
            *g *= m;
        }
        dx
    }

    fn visit_rngs(&mut self, f: &mut dyn FnMut(&str, &mut Rng)) {
        f("rng", &mut self.rng);
    }

    fn describe(&self) -> String {
        format!("Dropout(p={})", self.p)
    }
}
