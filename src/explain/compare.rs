//! Comparing attribution maps (chapter 18): rank correlation, and how much of a map's mass falls
//! where the object is.

/// The ranks of `values` (1 = smallest), ties given their average rank.
pub fn ranks(values: &[f32]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| values[a].total_cmp(&values[b]));
    let mut ranks = vec![0.0; values.len()];
    let mut start = 0;
    while start < order.len() {
        let mut end = start + 1;
        while end < order.len() && values[order[end]] == values[order[start]] {
            end += 1;
        }
        // Positions start..end (0-based) hold equal values: each gets the mean rank.
        let rank = (start + end + 1) as f64 / 2.0;
        for &i in &order[start..end] {
            ranks[i] = rank;
        }
        start = end;
    }
    ranks
}

/// Spearman's rank correlation of two maps of the same size: the Pearson correlation of their
/// ranks, in [−1, 1] (0 when either map is constant). 1 means the same ordering of pixels.
pub fn spearman(a: &[f32], b: &[f32]) -> f64 {
    assert_eq!(
        a.len(),
        b.len(),
        "spearman: maps of {} and {} values",
        a.len(),
        b.len()
    );
    let (ra, rb) = (ranks(a), ranks(b));
    let n = ra.len() as f64;
    let (ma, mb) = (ra.iter().sum::<f64>() / n, rb.iter().sum::<f64>() / n);
    let (mut cov, mut va, mut vb) = (0.0, 0.0, 0.0);
    for (x, y) in ra.iter().zip(&rb) {
        cov += (x - ma) * (y - mb);
        va += (x - ma) * (x - ma);
        vb += (y - mb) * (y - mb);
    }
    if va == 0.0 || vb == 0.0 {
        0.0
    } else {
        cov / (va * vb).sqrt()
    }
}

/// The fraction of the `fraction` (e.g. 0.1) highest-valued pixels of `map` that lie inside
/// `region` (ties broken by position). Compare with the region's own share of the image, which is
/// what a map that ignores the object would score on average.
pub fn top_fraction_inside(map: &[f32], region: &[bool], fraction: f64) -> f64 {
    assert_eq!(
        map.len(),
        region.len(),
        "top_fraction_inside: map and region sizes differ"
    );
    let count = ((map.len() as f64 * fraction).round() as usize).clamp(1, map.len().max(1));
    let mut order: Vec<usize> = (0..map.len()).collect();
    order.sort_by(|&a, &b| map[b].total_cmp(&map[a]).then(a.cmp(&b)));
    let inside = order[..count].iter().filter(|&&i| region[i]).count();
    inside as f64 / count as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spearman_sees_order_not_scale() {
        let a = [1.0, 2.0, 3.0, 4.0];
        assert!((spearman(&a, &[10.0, 20.0, 300.0, 4000.0]) - 1.0).abs() < 1e-12);
        assert!((spearman(&a, &[4.0, 3.0, 2.0, 1.0]) + 1.0).abs() < 1e-12);
        assert_eq!(ranks(&[5.0, 1.0, 5.0]), vec![2.5, 1.0, 2.5]);
    }

    #[test]
    fn top_pixels_inside_a_region() {
        let map = [0.9, 0.1, 0.8, 0.0];
        let region = [true, false, false, false];
        assert_eq!(top_fraction_inside(&map, &region, 0.5), 0.5);
    }
}
