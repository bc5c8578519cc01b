//! Generated 2-D toy classification sets: concentric circles and two interleaved spirals.
//!
//! Chapter 1 uses them to show the first difference between deep learning and classic machine
//! learning: on these sets no straight line separates the two classes, so a linear model on the raw
//! coordinates stays near chance, while a network with one hidden layer learns features (curved
//! boundaries) of its own and separates them.
//!
//! Every generator takes a `&mut Rng`, so a seed fixes the data. Points of class 0 and class 1
//! alternate (even index → class 0), so the classes are balanced and any prefix is too. Coordinates
//! lie roughly in `[−1, 1]²`, a good range for a network's input without further scaling.
//! What it leaves out: more than two classes, higher dimensions, train/test splitting (generate two
//! sets with different seeds).

use crate::probability::Rng;
use crate::tensor::Tensor;
use std::f32::consts::PI;

/// Points `[N, 2]` and their class labels (0 or 1), one label per row.
#[derive(Clone, Debug)]
pub struct ToySet {
    /// The coordinates, `[N, 2]`: row i is the point (x, y).
    pub points: Tensor,
    /// The class of each point, `N` labels, each 0 or 1.
    pub labels: Vec<usize>,
}

/// Two concentric circles: class 0 on the outer circle (radius 1), class 1 on the inner one
/// (radius 0.5), each point moved by Gaussian noise of standard deviation `noise` in x and y
/// (as scikit-learn's `make_circles` with `factor = 0.5`).
///
/// A linear classifier is at chance here by symmetry: every line through the picture has as much of
/// each class on either side.
pub fn circles(n: usize, noise: f32, rng: &mut Rng) -> ToySet {
    let mut data = Vec::with_capacity(2 * n);
    let mut labels = Vec::with_capacity(n);
    for i in 0..n {
        let class = i % 2;
        let radius = if class == 0 { 1.0 } else { 0.5 };
        let angle = rng.uniform(0.0, 2.0 * PI);
        data.push(radius * angle.cos() + rng.normal(0.0, noise));
        data.push(radius * angle.sin() + rng.normal(0.0, noise));
        labels.push(class);
    }
    ToySet {
        points: Tensor::from_vec(&[n, 2], data),
        labels,
    }
}

/// Two interleaved spirals of `turns` turns each, class 1 being class 0 rotated by half a turn.
///
/// A point at position `s ∈ [0, 1)` along its arm (drawn uniformly) has radius `0.1 + 0.9·s` and angle
/// `2π·turns·s` (+π for class 1); Gaussian noise of standard deviation `noise` is added to x and y.
/// With 1.5 turns or more, the two arms wrap around each other and no line separates them.
pub fn two_spirals(n: usize, turns: f32, noise: f32, rng: &mut Rng) -> ToySet {
    let mut data = Vec::with_capacity(2 * n);
    let mut labels = Vec::with_capacity(n);
    for i in 0..n {
        let class = i % 2;
        let s = rng.next_f32();
        let radius = 0.1 + 0.9 * s;
        let angle = 2.0 * PI * turns * s + if class == 1 { PI } else { 0.0 };
        data.push(radius * angle.cos() + rng.normal(0.0, noise));
        data.push(radius * angle.sin() + rng.normal(0.0, noise));
        labels.push(class);
    }
    ToySet {
        points: Tensor::from_vec(&[n, 2], data),
        labels,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_points_and_balanced_classes() {
        let a = two_spirals(101, 1.5, 0.02, &mut Rng::new(5));
        let b = two_spirals(101, 1.5, 0.02, &mut Rng::new(5));
        assert_eq!(a.points, b.points);
        assert_eq!(a.labels.iter().filter(|&&c| c == 1).count(), 50);
        let c = circles(10, 0.0, &mut Rng::new(1));
        let r = |i: usize| c.points.row(i).iter().map(|v| v * v).sum::<f32>().sqrt();
        assert!((r(0) - 1.0).abs() < 1e-5 && (r(1) - 0.5).abs() < 1e-5);
    }
}
