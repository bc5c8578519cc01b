//! Gradient clipping: cap the size of a step when a gradient explodes (common in recurrent networks).

use crate::nn::Layer;

/// Scales all gradients of `model` together so that their global L2 norm is at most `max_norm`, like
/// PyTorch's `clip_grad_norm_(parameters, max_norm)`, and returns the norm *before* clipping:
///
/// `‖g‖ = √(Σ over all parameters and elements of g²)`; if `‖g‖ > max_norm`, every gradient is
/// multiplied by `max_norm / (‖g‖ + 10⁻⁶)` (PyTorch's formula, the 10⁻⁶ guarding against 0).
///
/// The direction of the step is kept; only its length shrinks. The norm is summed in f64, parameter
/// by parameter in `visit_params` order (deterministic). A non-finite norm is returned unchanged and
/// the gradients are left alone (the training loop reports the non-finite loss that caused it).
/// Frozen parameters ([`crate::nn::Param::trainable`] false) take no part: their gradients are
/// neither counted nor scaled (in PyTorch they have no gradient).
pub fn clip_grad_norm(model: &mut dyn Layer, max_norm: f32) -> f32 {
    assert!(
        max_norm > 0.0,
        "clip_grad_norm: max_norm must be > 0, got {max_norm}"
    );
    let mut sum_of_squares = 0.0f64;
    model.visit_params(&mut |_, p| {
        if !p.trainable {
            return;
        }
        sum_of_squares += p
            .grad
            .data()
            .iter()
            .map(|&g| f64::from(g) * f64::from(g))
            .sum::<f64>();
    });
    let total_norm = sum_of_squares.sqrt();
    if !total_norm.is_finite() {
        return total_norm as f32;
    }
    let coefficient = f64::from(max_norm) / (total_norm + 1e-6);
    if coefficient < 1.0 {
        let c = coefficient as f32;
        model.visit_params(&mut |_, p| {
            if !p.trainable {
                return;
            }
            for g in p.grad.data_mut() {
                *g *= c;
            }
        });
    }
    total_norm as f32
}

/// Clamps every gradient element to `[−clip_value, clip_value]`, like PyTorch's `clip_grad_value_`.
/// Unlike [`clip_grad_norm`] this changes the direction of the step. Frozen parameters are left alone.
pub fn clip_grad_value(model: &mut dyn Layer, clip_value: f32) {
    assert!(
        clip_value > 0.0,
        "clip_grad_value: clip_value must be > 0, got {clip_value}"
    );
    model.visit_params(&mut |_, p| {
        if !p.trainable {
            return;
        }
        for g in p.grad.data_mut() {
            *g = g.clamp(-clip_value, clip_value);
        }
    });
}
