//! Learning-rate schedules: the learning rate as a function of the epoch (or step) count.
//!
//! A schedule here is a pure function `learning_rate(base, t)` of the base rate and the number t of
//! scheduler steps taken so far (PyTorch's `last_epoch`), so its values are easy to print, plot and
//! test. Call [`LrSchedule::apply`] once per epoch (as PyTorch's `scheduler.step()` after each epoch),
//! or once per batch for warm-up over steps. The closed forms equal PyTorch's values:
//!
//! | schedule | γ(t) | PyTorch |
//! |---|---|---|
//! | [`StepLr`] | γ₀·δ^⌊t/s⌋ | `StepLR(step_size=s, gamma=δ)` |
//! | [`ExponentialLr`] | γ₀·δᵗ | `ExponentialLR(gamma=δ)` |
//! | [`CosineAnnealingLr`] | γ_min + (γ₀ − γ_min)(1 + cos(πt/T))/2 | `CosineAnnealingLR(T_max=T, eta_min=γ_min)` |
//! | [`LinearWarmup`] | γ₀·(f + (1 − f)·min(t, w)/w) | `LinearLR(start_factor=f, end_factor=1, total_iters=w)` |
//! | [`WarmupThen`] | warm-up for w steps, then another schedule at t − w | `SequentialLR` |
//!
//! (Cosine annealing past T keeps following the cosine back up, as PyTorch's does; stop at T or use
//! warm restarts, which are left out here.)

use super::Optimizer;
use std::f64::consts::PI;

/// A learning-rate schedule (see the module docs).
pub trait LrSchedule {
    /// The learning rate after `t` scheduler steps, for base learning rate `base`.
    fn learning_rate(&self, base: f32, t: usize) -> f32;

    /// A one-line description, e.g. `StepLR(step_size=10, gamma=0.1)`.
    fn describe(&self) -> String;

    /// Sets `optimizer`'s learning rate to `learning_rate(base, t)`.
    fn apply(&self, optimizer: &mut dyn Optimizer, base: f32, t: usize) {
        optimizer.set_learning_rate(self.learning_rate(base, t));
    }
}

/// Multiply the rate by `gamma` every `step_size` epochs.
#[derive(Clone, Copy, Debug)]
pub struct StepLr {
    /// Epochs between two decays.
    pub step_size: usize,
    /// The factor applied at each decay (PyTorch's default 0.1).
    pub gamma: f32,
}

impl LrSchedule for StepLr {
    fn learning_rate(&self, base: f32, t: usize) -> f32 {
        assert!(self.step_size > 0, "StepLr: step_size must be ≥ 1");
        let decays = (t / self.step_size) as i32;
        (f64::from(base) * f64::from(self.gamma).powi(decays)) as f32
    }

    fn describe(&self) -> String {
        format!("StepLR(step_size={}, gamma={})", self.step_size, self.gamma)
    }
}

/// Multiply the rate by `gamma` every epoch.
#[derive(Clone, Copy, Debug)]
pub struct ExponentialLr {
    /// The factor per epoch.
    pub gamma: f32,
}

impl LrSchedule for ExponentialLr {
    fn learning_rate(&self, base: f32, t: usize) -> f32 {
        (f64::from(base) * f64::from(self.gamma).powi(t as i32)) as f32
    }

    fn describe(&self) -> String {
        format!("ExponentialLR(gamma={})", self.gamma)
    }
}

/// Half a cosine from the base rate down to `eta_min` over `t_max` epochs (Loshchilov & Hutter, 2017).
#[derive(Clone, Copy, Debug)]
pub struct CosineAnnealingLr {
    /// The number of epochs of the half period T.
    pub t_max: usize,
    /// The smallest rate, reached at t = T.
    pub eta_min: f32,
}

impl LrSchedule for CosineAnnealingLr {
    fn learning_rate(&self, base: f32, t: usize) -> f32 {
        assert!(self.t_max > 0, "CosineAnnealingLr: t_max must be ≥ 1");
        let (base, eta_min) = (f64::from(base), f64::from(self.eta_min));
        let cosine = (PI * t as f64 / self.t_max as f64).cos();
        (eta_min + (base - eta_min) * (1.0 + cosine) / 2.0) as f32
    }

    fn describe(&self) -> String {
        format!(
            "CosineAnnealingLR(T_max={}, eta_min={})",
            self.t_max, self.eta_min
        )
    }
}

/// Grow the rate linearly from `start_factor·base` to `base` over `warmup_steps`, then hold it.
/// Warm-up keeps the first, noisy updates of Adam-style optimizers from throwing the weights far off.
#[derive(Clone, Copy, Debug)]
pub struct LinearWarmup {
    /// The fraction of the base rate at t = 0 (PyTorch's `LinearLR` default is 1/3).
    pub start_factor: f32,
    /// The number of steps w until the full rate.
    pub warmup_steps: usize,
}

impl LrSchedule for LinearWarmup {
    fn learning_rate(&self, base: f32, t: usize) -> f32 {
        let f = f64::from(self.start_factor);
        let progress = if self.warmup_steps == 0 {
            1.0
        } else {
            t.min(self.warmup_steps) as f64 / self.warmup_steps as f64
        };
        (f64::from(base) * (f + (1.0 - f) * progress)) as f32
    }

    fn describe(&self) -> String {
        format!(
            "LinearLR(start_factor={}, end_factor=1, total_iters={})",
            self.start_factor, self.warmup_steps
        )
    }
}

/// A linear warm-up for `warmup.warmup_steps` steps, then `then` counted from the end of the warm-up
/// (e.g. warm-up then cosine annealing, the usual transformer recipe).
pub struct WarmupThen {
    /// The warm-up part.
    pub warmup: LinearWarmup,
    /// The schedule after the warm-up, evaluated at `t − warmup_steps`.
    pub then: Box<dyn LrSchedule>,
}

impl LrSchedule for WarmupThen {
    fn learning_rate(&self, base: f32, t: usize) -> f32 {
        if t < self.warmup.warmup_steps {
            self.warmup.learning_rate(base, t)
        } else {
            self.then.learning_rate(base, t - self.warmup.warmup_steps)
        }
    }

    fn describe(&self) -> String {
        format!(
            "SequentialLR({}, then {})",
            self.warmup.describe(),
            self.then.describe()
        )
    }
}
