//! Test functions for optimizers (chapter 11): small 2-D surfaces whose minimum is known, and
//! [`descend`], which runs any [`Optimizer`] on one of them and records the path.
//!
//! A network's loss surface has millions of dimensions, but the troubles an optimizer meets there
//! already show on two:
//! - [`Quadratic`] `f(x, y) = ½(a·x² + b·y²)` with b ≫ a — a **narrow valley** (an ill-conditioned
//!   problem, condition number b/a). Plain gradient descent must keep its learning rate below 2/b or
//!   it diverges across the valley, and then crawls along it at a rate set by a: the number of steps
//!   grows with b/a. Momentum and per-coordinate step sizes (RMSprop, Adam) are the two cures.
//! - [`Rosenbrock`] `f(x, y) = (a − x)² + b(y − x²)²` (a = 1, b = 100) — a curved, flat-bottomed
//!   banana-shaped valley with its minimum at (a, a²) = (1, 1). Finding the valley is easy; following
//!   its bend to the minimum is what separates optimizers.
//!
//! [`descend`] hands the optimizer the point as a model with one parameter `point` of shape `[2]`
//! (a [`Layer`] whose output is its parameter), writes ∇f into the parameter's gradient and calls
//! [`Optimizer::step`] — exactly what happens to every weight of a network, so the optimizers run here
//! unchanged. Values and gradients are computed in f64 from the f32 point.
//!
//! What it leaves out: stochastic gradients (these are exact), and other classic test functions
//! (Beale, Himmelblau, saddle points).

use super::Optimizer;
use crate::nn::{Layer, Mode, Param};
use crate::tensor::Tensor;

/// A function of two variables with a known minimum, for testing optimizers.
pub trait TestFunction {
    /// A short description with the formula, e.g. `Rosenbrock (1 − x)² + 100(y − x²)²`.
    fn name(&self) -> String;
    /// The value f(x, y) at `p = [x, y]`.
    fn value(&self, p: [f64; 2]) -> f64;
    /// The gradient `[∂f/∂x, ∂f/∂y]` at `p`.
    fn gradient(&self, p: [f64; 2]) -> [f64; 2];
    /// Where the minimum is.
    fn minimum(&self) -> [f64; 2];
}

/// The quadratic bowl `f(x, y) = ½(a·x² + b·y²)`, minimum 0 at (0, 0); ∇f = (a·x, b·y).
///
/// Its Hessian is diag(a, b): the curvature is a along x and b along y. With b/a large it is a narrow
/// valley along the x axis, the simplest ill-conditioned problem.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Quadratic {
    /// The curvature a along x.
    pub a: f64,
    /// The curvature b along y.
    pub b: f64,
}

impl Quadratic {
    /// `½(a·x² + b·y²)`. Panics unless both curvatures are positive (otherwise there is no minimum).
    pub fn new(a: f64, b: f64) -> Quadratic {
        assert!(
            a > 0.0 && b > 0.0,
            "Quadratic::new: curvatures must be > 0, got a = {a}, b = {b}"
        );
        Quadratic { a, b }
    }

    /// The condition number b/a (or a/b): how much narrower the valley is than it is long.
    pub fn condition_number(&self) -> f64 {
        self.a.max(self.b) / self.a.min(self.b)
    }
}

impl TestFunction for Quadratic {
    fn name(&self) -> String {
        format!("narrow valley ½({}x² + {}y²)", self.a, self.b)
    }

    fn value(&self, p: [f64; 2]) -> f64 {
        0.5 * (self.a * p[0] * p[0] + self.b * p[1] * p[1])
    }

    fn gradient(&self, p: [f64; 2]) -> [f64; 2] {
        [self.a * p[0], self.b * p[1]]
    }

    fn minimum(&self) -> [f64; 2] {
        [0.0, 0.0]
    }
}

/// Rosenbrock's function `f(x, y) = (a − x)² + b(y − x²)²`, minimum 0 at (a, a²).
///
/// Gradient: `∂f/∂x = −2(a − x) − 4b·x(y − x²)`, `∂f/∂y = 2b(y − x²)`. The classic choice a = 1,
/// b = 100 ([`Rosenbrock::classic`]) puts the minimum at (1, 1) at the end of a long, curved valley
/// along y = x².
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rosenbrock {
    /// The x coordinate of the minimum.
    pub a: f64,
    /// The steepness of the valley walls.
    pub b: f64,
}

impl Rosenbrock {
    /// `(1 − x)² + 100(y − x²)²`, minimum at (1, 1).
    pub fn classic() -> Rosenbrock {
        Rosenbrock { a: 1.0, b: 100.0 }
    }
}

impl TestFunction for Rosenbrock {
    fn name(&self) -> String {
        format!("Rosenbrock ({} − x)² + {}(y − x²)²", self.a, self.b)
    }

    fn value(&self, p: [f64; 2]) -> f64 {
        let [x, y] = p;
        (self.a - x).powi(2) + self.b * (y - x * x).powi(2)
    }

    fn gradient(&self, p: [f64; 2]) -> [f64; 2] {
        let [x, y] = p;
        let valley = y - x * x;
        [
            -2.0 * (self.a - x) - 4.0 * self.b * x * valley,
            2.0 * self.b * valley,
        ]
    }

    fn minimum(&self) -> [f64; 2] {
        [self.a, self.a * self.a]
    }
}

/// A point as a model: one parameter `point` of shape `[2]`, and a forward pass that outputs it
/// (backward adds the incoming gradient to the parameter's gradient).
struct PointModel {
    point: Param,
}

impl Layer for PointModel {
    fn forward(&mut self, _x: &Tensor, _mode: Mode) -> Tensor {
        self.point.value.clone()
    }

    fn backward(&mut self, grad_output: &Tensor) -> Tensor {
        self.point.grad.add_scaled(1.0, grad_output);
        Tensor::zeros(&[0])
    }

    fn visit_params(&mut self, f: &mut dyn FnMut(&str, &mut Param)) {
        f("point", &mut self.point);
    }

    fn describe(&self) -> String {
        "Point()".to_string()
    }
}

/// The path of an optimizer on a [`TestFunction`]: the point and the value before every step and
/// after the last (`steps + 1` entries).
#[derive(Clone, Debug, PartialEq)]
pub struct Descent {
    /// The points visited, starting with the start.
    pub points: Vec<[f64; 2]>,
    /// f at each point.
    pub values: Vec<f64>,
}

impl Descent {
    /// The first step t after which the point stays within `tolerance` (Euclidean distance) of
    /// `minimum` up to the end of the path; `None` if it is not within the tolerance at the end.
    ///
    /// "Stays" matters: a point that swings through the minimum (momentum does) has not converged
    /// when it first passes close by.
    pub fn steps_to_converge(&self, minimum: [f64; 2], tolerance: f64) -> Option<usize> {
        let close = |p: &[f64; 2]| (p[0] - minimum[0]).hypot(p[1] - minimum[1]) < tolerance;
        let mut first_of_last_run = None;
        for (t, p) in self.points.iter().enumerate() {
            if close(p) {
                first_of_last_run.get_or_insert(t);
            } else {
                first_of_last_run = None;
            }
        }
        first_of_last_run
    }

    /// The distance of the last point from `minimum`.
    pub fn final_distance(&self, minimum: [f64; 2]) -> f64 {
        let p = self.points[self.points.len() - 1];
        (p[0] - minimum[0]).hypot(p[1] - minimum[1])
    }

    /// The points as `(x, y)` pairs, for a plot.
    pub fn xy(&self) -> Vec<(f64, f64)> {
        self.points.iter().map(|p| (p[0], p[1])).collect()
    }
}

/// Runs `optimizer` for `steps` steps on `function` from `start`: at every step the gradient ∇f at
/// the current point (computed in f64, stored as f32) goes into the point's gradient and the optimizer
/// updates the point. Stops early if the point leaves the f32 range (the optimizer diverged); the
/// path then ends with the first non-finite point.
///
/// ```
/// use dlfs::optim::Sgd;
/// use dlfs::optim::test_functions::{Quadratic, TestFunction, descend};
/// let bowl = Quadratic::new(1.0, 10.0);
/// let path = descend(&mut Sgd::new(0.05), &bowl, [2.0, 1.0], 200);
/// assert!(path.final_distance(bowl.minimum()) < 1e-3);
/// ```
pub fn descend(
    optimizer: &mut dyn Optimizer,
    function: &dyn TestFunction,
    start: [f32; 2],
    steps: usize,
) -> Descent {
    let mut model = PointModel {
        point: Param::new(Tensor::from_vec(&[2], start.to_vec())),
    };
    let as_f64 = |model: &PointModel| {
        let v = model.point.value.data();
        [f64::from(v[0]), f64::from(v[1])]
    };
    let mut points = Vec::with_capacity(steps + 1);
    let mut values = Vec::with_capacity(steps + 1);
    let p = as_f64(&model);
    points.push(p);
    values.push(function.value(p));
    for _ in 0..steps {
        optimizer.zero_grad(&mut model);
        let p = as_f64(&model);
        let g = function.gradient(p);
        let grad_output = Tensor::from_vec(&[2], vec![g[0] as f32, g[1] as f32]);
        model.backward(&grad_output);
        optimizer.step(&mut model);
        let p = as_f64(&model);
        points.push(p);
        values.push(function.value(p));
        if !(p[0].is_finite() && p[1].is_finite()) {
            break;
        }
    }
    Descent { points, values }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gradients_match_central_differences() {
        let functions: [&dyn TestFunction; 2] =
            [&Quadratic::new(1.0, 50.0), &Rosenbrock::classic()];
        for f in functions {
            for p in [[-1.2, 1.0], [0.3, -0.7], [2.0, 3.5]] {
                let g = f.gradient(p);
                let h = 1e-6;
                let dx = (f.value([p[0] + h, p[1]]) - f.value([p[0] - h, p[1]])) / (2.0 * h);
                let dy = (f.value([p[0], p[1] + h]) - f.value([p[0], p[1] - h])) / (2.0 * h);
                // Central differences in f64 with h = 1e-6: error ~1e-9 relative to values of ~1e3.
                assert!((g[0] - dx).abs() < 1e-5 * (1.0 + dx.abs()), "{}", f.name());
                assert!((g[1] - dy).abs() < 1e-5 * (1.0 + dy.abs()), "{}", f.name());
            }
            assert_eq!(f.value(f.minimum()), 0.0);
            assert_eq!(f.gradient(f.minimum()), [0.0, 0.0]);
        }
    }

    #[test]
    fn steps_to_converge_needs_the_point_to_stay() {
        let path = Descent {
            points: vec![[1.0, 0.0], [0.0, 0.0], [0.5, 0.0], [0.01, 0.0], [0.0, 0.0]],
            values: vec![0.0; 5],
        };
        assert_eq!(path.steps_to_converge([0.0, 0.0], 0.1), Some(3));
        assert_eq!(path.steps_to_converge([5.0, 0.0], 0.1), None);
    }
}
