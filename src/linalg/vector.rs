//! Vectors as plain `f32` slices: addition, subtraction, scaling, the dot product, the norm, `axpy`,
//! cosine similarity and distance.
//!
//! Chapter 2 starts here: `[1, 2, 3] + [4, 5, 6] = [5, 7, 9]`. A vector of length n is just n numbers
//! in a row; every operation below either works element by element (add, sub, scale, axpy) or sums
//! products of matching elements (dot, norm, cosine, distance).
//!
//! Sums are accumulated in `f64` and rounded to `f32` once at the end: adding many f32 numbers one by
//! one loses about one bit per doubling of the length, while an f64 accumulator keeps the result
//! correct to f32 rounding for any length a chapter uses.
//!
//! Vectors of different lengths are a programming error: every function panics with a message naming
//! both lengths and the operation. What this leaves out: complex numbers, sparse vectors, SIMD (the
//! matrix-sized work goes through [`mod@super::gemm`]).

/// Panics unless `a` and `b` have the same length, naming the operation and both lengths.
fn assert_same_len(a: &[f32], b: &[f32], operation: &str) {
    assert_eq!(
        a.len(),
        b.len(),
        "vector::{operation}: lengths {} and {} differ",
        a.len(),
        b.len()
    );
}

/// `a + b`, element by element: `(a + b)ᵢ = aᵢ + bᵢ`.
pub fn add(a: &[f32], b: &[f32]) -> Vec<f32> {
    assert_same_len(a, b, "add");
    a.iter().zip(b).map(|(&x, &y)| x + y).collect()
}

/// `a − b`, element by element.
pub fn sub(a: &[f32], b: &[f32]) -> Vec<f32> {
    assert_same_len(a, b, "sub");
    a.iter().zip(b).map(|(&x, &y)| x - y).collect()
}

/// `s · a`: every element times the scalar `s`.
pub fn scale(s: f32, a: &[f32]) -> Vec<f32> {
    a.iter().map(|&x| s * x).collect()
}

/// `y ← α·x + y`, in place (BLAS's "axpy": "a x plus y"). The update every optimizer step is made of.
pub fn axpy(alpha: f32, x: &[f32], y: &mut [f32]) {
    assert_same_len(x, y, "axpy");
    for (yi, &xi) in y.iter_mut().zip(x) {
        *yi += alpha * xi;
    }
}

/// The dot (inner) product `a · b = Σᵢ aᵢ bᵢ`, accumulated in f64.
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    assert_same_len(a, b, "dot");
    dot_f64(a, b) as f32
}

/// The dot product as an f64 (for callers that keep accumulating, e.g. Gram–Schmidt or a Rayleigh
/// quotient, where rounding to f32 in between would throw accuracy away).
pub fn dot_f64(a: &[f32], b: &[f32]) -> f64 {
    assert_same_len(a, b, "dot_f64");
    a.iter()
        .zip(b)
        .map(|(&x, &y)| f64::from(x) * f64::from(y))
        .sum()
}

/// Running sums in [`sum_lanes`], [`dot_lanes`] and [`max_lanes`]: element i goes to sum i mod 8.
///
/// Why: adding n numbers one after the other is one chain of n additions, each waiting for the
/// one before (3–4 cycles on current CPUs), while 8 independent chains run side by side and fit
/// in vector registers. The order is still fixed, so the result is the same on every run and for
/// any thread count; it differs from the one-by-one sum only in the last bits.
pub const LANES: usize = 8;

/// `Σᵢ aᵢ` in f32 with [`LANES`] running sums, combined pairwise at the end. For the short hot
/// sums inside layers (a LayerNorm row's mean, a softmax's denominator), where [`dot`]'s f64
/// accumulation would cost more than the rest of the work; rows there are a few hundred values,
/// short enough for f32.
pub fn sum_lanes(a: &[f32]) -> f32 {
    let mut lanes = [0.0f32; LANES];
    let chunks = a.chunks_exact(LANES);
    let rest = chunks.remainder();
    for chunk in chunks {
        for (sum, &v) in lanes.iter_mut().zip(chunk) {
            *sum += v;
        }
    }
    for (sum, &v) in lanes.iter_mut().zip(rest) {
        *sum += v;
    }
    combine_lanes(lanes)
}

/// `Σᵢ aᵢ bᵢ` in f32 with [`LANES`] running sums (see [`sum_lanes`]).
pub fn dot_lanes(a: &[f32], b: &[f32]) -> f32 {
    assert_same_len(a, b, "dot_lanes");
    let mut lanes = [0.0f32; LANES];
    let (chunks_a, chunks_b) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let (rest_a, rest_b) = (chunks_a.remainder(), chunks_b.remainder());
    for (x, y) in chunks_a.zip(chunks_b) {
        for ((sum, &u), &v) in lanes.iter_mut().zip(x).zip(y) {
            *sum += u * v;
        }
    }
    for ((sum, &u), &v) in lanes.iter_mut().zip(rest_a).zip(rest_b) {
        *sum += u * v;
    }
    combine_lanes(lanes)
}

/// `Σᵢ aᵢ bᵢ` accumulated in f64, like [`dot_f64`], but with [`LANES`] running sums (combined
/// pairwise at the end): eight independent chains of additions instead of one, for long sums in hot
/// loops (the gradient norm of [`crate::optim::clip_grad_norm`], a million values per step). Differs
/// from [`dot_f64`] only by f64 rounding.
pub fn dot_f64_lanes(a: &[f32], b: &[f32]) -> f64 {
    assert_same_len(a, b, "dot_f64_lanes");
    let mut lanes = [0.0f64; LANES];
    let (chunks_a, chunks_b) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let (rest_a, rest_b) = (chunks_a.remainder(), chunks_b.remainder());
    for (x, y) in chunks_a.zip(chunks_b) {
        for ((sum, &u), &v) in lanes.iter_mut().zip(x).zip(y) {
            *sum += f64::from(u) * f64::from(v);
        }
    }
    for ((sum, &u), &v) in lanes.iter_mut().zip(rest_a).zip(rest_b) {
        *sum += f64::from(u) * f64::from(v);
    }
    combine_lanes(lanes)
}

/// The largest element (−∞ for an empty slice; NaNs are skipped, as by [`f32::max`]), with
/// [`LANES`] running maxima.
pub fn max_lanes(a: &[f32]) -> f32 {
    let mut lanes = [f32::NEG_INFINITY; LANES];
    let chunks = a.chunks_exact(LANES);
    let rest = chunks.remainder();
    for chunk in chunks {
        for (max, &v) in lanes.iter_mut().zip(chunk) {
            *max = max.max(v);
        }
    }
    for (max, &v) in lanes.iter_mut().zip(rest) {
        *max = max.max(v);
    }
    lanes.into_iter().fold(f32::NEG_INFINITY, f32::max)
}

/// Adds the [`LANES`] running sums pairwise: ((0+4)+(1+5)) + ((2+6)+(3+7)) (f32 or f64 sums).
fn combine_lanes<T: Copy + std::ops::Add<Output = T>>(l: [T; LANES]) -> T {
    ((l[0] + l[4]) + (l[1] + l[5])) + ((l[2] + l[6]) + (l[3] + l[7]))
}

/// The Euclidean (L2) norm `‖a‖ = √(a · a)`, the length of the arrow.
pub fn norm(a: &[f32]) -> f32 {
    dot_f64(a, a).sqrt() as f32
}

/// The Euclidean distance `‖a − b‖`.
pub fn distance(a: &[f32], b: &[f32]) -> f32 {
    assert_same_len(a, b, "distance");
    a.iter()
        .zip(b)
        .map(|(&x, &y)| {
            let d = f64::from(x) - f64::from(y);
            d * d
        })
        .sum::<f64>()
        .sqrt() as f32
}

/// Cosine similarity `a · b / (‖a‖ ‖b‖)`: 1 for the same direction, 0 for perpendicular, −1 for
/// opposite. It is the cosine of the angle between the two arrows. Returns 0 when either vector is
/// zero (a zero vector has no direction; 0 says "no similarity" rather than dividing by zero into NaN).
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    assert_same_len(a, b, "cosine");
    let (ab, aa, bb) = (dot_f64(a, b), dot_f64(a, a), dot_f64(b, b));
    if aa == 0.0 || bb == 0.0 {
        return 0.0;
    }
    (ab / (aa.sqrt() * bb.sqrt())).clamp(-1.0, 1.0) as f32
}

/// `a / ‖a‖`, the unit vector in the direction of `a`; `None` for the zero vector (it has no direction).
pub fn normalized(a: &[f32]) -> Option<Vec<f32>> {
    let length = dot_f64(a, a).sqrt();
    if length == 0.0 || !length.is_finite() {
        return None;
    }
    Some(a.iter().map(|&x| (f64::from(x) / length) as f32).collect())
}

/// An orthonormal basis of the span of `vectors`, by modified Gram–Schmidt: each vector, minus its
/// projections onto the basis vectors found before it, normalised. Works in f64 and rounds at the end.
///
/// Returns `None` when the vectors are linearly dependent — when some vector keeps less than 10⁻⁵ of
/// its length after the projections are removed (it lies, up to f32 rounding, in the span of the
/// earlier ones). Panics if the vectors differ in length.
pub fn gram_schmidt(vectors: &[Vec<f32>]) -> Option<Vec<Vec<f32>>> {
    let mut basis: Vec<Vec<f64>> = Vec::with_capacity(vectors.len());
    for v in vectors {
        assert_same_len(&vectors[0], v, "gram_schmidt");
        let mut w: Vec<f64> = v.iter().map(|&x| f64::from(x)).collect();
        let original = w.iter().map(|x| x * x).sum::<f64>().sqrt();
        // Modified Gram–Schmidt: subtract each projection from the *updated* w, which keeps the result
        // orthogonal to working precision even when the vectors are nearly dependent.
        for q in &basis {
            let projection: f64 = w.iter().zip(q).map(|(a, b)| a * b).sum();
            w.iter_mut().zip(q).for_each(|(a, b)| *a -= projection * b);
        }
        let remaining = w.iter().map(|x| x * x).sum::<f64>().sqrt();
        if remaining <= 1e-5 * original || remaining == 0.0 {
            return None;
        }
        w.iter_mut().for_each(|x| *x /= remaining);
        basis.push(w);
    }
    Some(
        basis
            .into_iter()
            .map(|q| q.into_iter().map(|x| x as f32).collect())
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tutorial_sum() {
        assert_eq!(add(&[1.0, 2.0, 3.0], &[4.0, 5.0, 6.0]), vec![5.0, 7.0, 9.0]);
    }

    #[test]
    #[should_panic(expected = "vector::dot: lengths 2 and 3 differ")]
    fn lengths_must_match() {
        dot(&[1.0, 2.0], &[1.0, 2.0, 3.0]);
    }

    #[test]
    fn lane_sums_match_the_f64_sums_on_awkward_lengths() {
        for n in [0usize, 1, 7, 8, 9, 17, 64, 127, 131] {
            let a: Vec<f32> = (0..n)
                .map(|i| ((i * 37 % 11) as f32 - 5.0) * 0.25)
                .collect();
            let b: Vec<f32> = (0..n).map(|i| ((i * 13 % 7) as f32 - 3.0) * 0.5).collect();
            let exact_sum: f64 = a.iter().map(|&v| f64::from(v)).sum();
            assert!(
                (f64::from(sum_lanes(&a)) - exact_sum).abs() < 1e-4,
                "sum, n = {n}"
            );
            assert!(
                (f64::from(dot_lanes(&a, &b)) - dot_f64(&a, &b)).abs() < 1e-4,
                "dot, n = {n}"
            );
            let exact_max = a.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            assert_eq!(max_lanes(&a), exact_max, "max, n = {n}");
        }
        // The last element alone holds the maximum: the remainder lanes are not forgotten.
        let mut a = vec![0.0f32; 19];
        a[18] = 3.0;
        assert_eq!(max_lanes(&a), 3.0);
        assert_eq!(sum_lanes(&a), 3.0);
    }

    #[test]
    fn zero_vector_has_no_direction() {
        assert_eq!(cosine(&[0.0, 0.0], &[1.0, 2.0]), 0.0);
        assert_eq!(normalized(&[0.0, 0.0]), None);
    }

    #[test]
    fn gram_schmidt_orthonormalises_and_detects_dependence() {
        let q = gram_schmidt(&[vec![3.0, 4.0, 0.0], vec![1.0, 1.0, 1.0]]).unwrap();
        assert!((norm(&q[0]) - 1.0).abs() < 1e-6 && (norm(&q[1]) - 1.0).abs() < 1e-6);
        assert!(dot(&q[0], &q[1]).abs() < 1e-6);
        assert_eq!(gram_schmidt(&[vec![1.0, 2.0], vec![2.0, 4.0]]), None);
    }
}
