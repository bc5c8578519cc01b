//! Gradient descent: walk downhill, against the gradient.
//!
//! The gradient ∇f(x) points in the direction of steepest *ascent*, so a small step against it lowers
//! f: x ← x − η·∇f(x), with the **learning rate** η. Every optimiser of chapter 11 is a refinement of
//! this one line.
//!
//! On a quadratic bowl f = ½·Σ λᵢ·xᵢ² each coordinate is multiplied by (1 − η·λᵢ) per step, so descent
//! converges when η < 2/λ_max, and oscillates (zig-zags across the valley) where η·λᵢ > 1. A long,
//! narrow valley (λ_max ≫ λ_min) forces a small η, and progress along the flat direction is slow —
//! the problem momentum and Adam address.
//!
//! What it leaves out: line searches, stopping rules, anything beyond the plain update (chapter 11).

/// The points gradient descent visited (the start included) and the function's value at each.
#[derive(Clone, Debug, PartialEq)]
pub struct DescentPath {
    /// `points[k]` is x after k steps.
    pub points: Vec<Vec<f64>>,
    /// `values[k] = f(points[k])`.
    pub values: Vec<f64>,
}

/// Runs `steps` steps of x ← x − learning_rate · ∇f(x) from `start`, recording the path. Stops early
/// if the point stops being finite (the learning rate was too large and descent diverged: the last
/// recorded point shows it).
///
/// Panics if `gradient` returns a vector of a different length than `start`.
pub fn gradient_descent(
    f: impl Fn(&[f64]) -> f64,
    gradient: impl Fn(&[f64]) -> Vec<f64>,
    start: &[f64],
    learning_rate: f64,
    steps: usize,
) -> DescentPath {
    let mut x = start.to_vec();
    let mut path = DescentPath {
        points: vec![x.clone()],
        values: vec![f(&x)],
    };
    for _ in 0..steps {
        let g = gradient(&x);
        assert_eq!(
            g.len(),
            x.len(),
            "gradient_descent: the gradient has {} entries for a point with {}",
            g.len(),
            x.len()
        );
        for (xi, gi) in x.iter_mut().zip(&g) {
            *xi -= learning_rate * gi;
        }
        path.points.push(x.clone());
        path.values.push(f(&x));
        if !x.iter().all(|v| v.is_finite()) {
            break;
        }
    }
    path
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descent_on_a_bowl_shrinks_each_coordinate_by_the_predicted_factor() {
        // f = x² + 10y²: ∇f = (2x, 20y); with η = 0.05 the factors are 0.9 and 0.0.
        let f = |p: &[f64]| p[0] * p[0] + 10.0 * p[1] * p[1];
        let grad = |p: &[f64]| vec![2.0 * p[0], 20.0 * p[1]];
        let path = gradient_descent(f, grad, &[1.0, 1.0], 0.05, 3);
        assert_eq!(path.points.len(), 4);
        assert!((path.points[3][0] - 0.9f64.powi(3)).abs() < 1e-12);
        assert!(path.points[3][1].abs() < 1e-12);
    }
}
