//! Gradient clipping: cap the size of a step when a gradient explodes (common in recurrent networks).

use crate::linalg::vector::dot_f64_lanes;
use crate::nn::Layer;
use crate::parallel;

/// Scales all gradients of `model` together so that their global L2 norm is at most `max_norm`, like
/// PyTorch's `clip_grad_norm_(parameters, max_norm)`, and returns the norm *before* clipping:
///
/// `‖g‖ = √(Σ over all parameters and elements of g²)`; if `‖g‖ > max_norm`, every gradient is
/// multiplied by `max_norm / (‖g‖ + 10⁻⁶)` (PyTorch's formula, the 10⁻⁶ guarding against 0).
///
/// The direction of the step is kept; only its length shrinks. The norm is summed in f64, parameter
/// by parameter in `visit_params` order, each in fixed pieces (deterministic, whatever the number of
/// threads). A non-finite norm is returned unchanged and the gradients are left alone (the training loop reports the non-finite loss that caused it).
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
        sum_of_squares += sum_of_squares_f64(p.grad.data());
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
            parallel::for_each_chunk_mut(p.grad.data_mut(), ELEMENTS_PER_TASK, |_, grads| {
                for g in grads {
                    *g *= c;
                }
            });
        });
    }
    total_norm as f32
}

/// Gradients are summed and scaled in pieces of this many values, in parallel.
const ELEMENTS_PER_TASK: usize = 16 * 1024;

/// `Σ g²` in f64: each piece of [`ELEMENTS_PER_TASK`] values is summed on its own (in parallel, with
/// eight running sums, see [`dot_f64_lanes`]), then the pieces in order — the same sum for any
/// number of threads.
fn sum_of_squares_f64(values: &[f32]) -> f64 {
    let pieces: Vec<&[f32]> = values.chunks(ELEMENTS_PER_TASK).collect();
    let mut sums = vec![0.0f64; pieces.len()];
    let tasks: Vec<_> = pieces.into_iter().zip(sums.iter_mut()).collect();
    parallel::for_each_item(tasks, |(piece, sum)| *sum = dot_f64_lanes(piece, piece));
    sums.iter().sum()
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
