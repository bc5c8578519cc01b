//! Statistics of samples: mean, variance (and why it divides by n − 1), Welford's online algorithm,
//! and histograms as density estimates.
//!
//! # Why the sample variance divides by n − 1 (Bessel's correction)
//! The deviations are measured from the *sample* mean x̄, which is computed from the same data and so
//! sits closer to the samples than the true mean μ does: Σ(xᵢ − x̄)² = Σ(xᵢ − μ)² − n(x̄ − μ)², and
//! taking expectations gives E[Σ(xᵢ − x̄)²] = nσ² − n·σ²/n = (n − 1)σ². Dividing by n would therefore
//! underestimate σ² by the factor (n − 1)/n (by 20 % for n = 5); dividing by n − 1 is unbiased.
//! Chapter 4 measures both. (numpy's `var` divides by n unless `ddof=1`; PyTorch's `var` by n − 1.)
//!
//! # Why Welford
//! The tempting one-pass formula Var = (Σx² − (Σx)²/n)/(n − 1) subtracts two huge, nearly equal
//! numbers when the mean is large compared with the spread, and loses every significant digit
//! ("catastrophic cancellation": data around 10⁹ with spread 1 give garbage, even negative variances).
//! [`Welford`] updates the mean and the sum of squared deviations one value at a time, never forming
//! those large sums, and is as accurate as the two-pass formula while reading the data only once —
//! what running statistics (batch norm, a stream of losses) need.
//!
//! Empty or too-short inputs give NaN (no mean of nothing; no sample variance of one value), as
//! numpy does, rather than a panic.
//!
//! What it leaves out: medians and quantiles, weighted statistics, correlation, hypothesis tests.

/// The arithmetic mean (Σxᵢ)/n; NaN for an empty slice.
pub fn mean(values: &[f64]) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    values.iter().sum::<f64>() / values.len() as f64
}

/// The sample variance Σ(xᵢ − x̄)²/(n − 1), an unbiased estimate of σ² (see the module docs), by
/// the two-pass formula (first the mean, then the squared deviations). NaN for fewer than 2 values.
pub fn variance(values: &[f64]) -> f64 {
    if values.len() < 2 {
        return f64::NAN;
    }
    sum_of_squared_deviations(values) / (values.len() - 1) as f64
}

/// The population variance Σ(xᵢ − x̄)²/n: the variance of the values themselves, a biased (too small)
/// estimate of σ² when they are a sample. NaN for an empty slice.
pub fn population_variance(values: &[f64]) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    sum_of_squared_deviations(values) / values.len() as f64
}

/// The sample standard deviation √[`variance`].
pub fn std_dev(values: &[f64]) -> f64 {
    variance(values).sqrt()
}

/// Σ(xᵢ − x̄)², the heart of both variances.
fn sum_of_squared_deviations(values: &[f64]) -> f64 {
    let m = mean(values);
    values.iter().map(|x| (x - m) * (x - m)).sum()
}

/// The textbook one-pass formula (Σx² − (Σx)²/n)/(n − 1) — **numerically unstable**, kept only to
/// show why [`Welford`] exists (see the module docs). NaN for fewer than 2 values.
pub fn naive_variance(values: &[f64]) -> f64 {
    if values.len() < 2 {
        return f64::NAN;
    }
    let n = values.len() as f64;
    let sum: f64 = values.iter().sum();
    let sum_of_squares: f64 = values.iter().map(|x| x * x).sum();
    (sum_of_squares - sum * sum / n) / (n - 1.0)
}

/// Running mean and variance in one pass, by Welford's algorithm (1962).
///
/// For each new value x: count ← count + 1, δ = x − mean, mean ← mean + δ/count,
/// m2 ← m2 + δ·(x − mean_new). Then m2 = Σ(xᵢ − x̄)² at every moment.
///
/// ```
/// use dlfs::probability::stats::Welford;
/// let mut running = Welford::new();
/// for x in [2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0] {
///     running.push(x);
/// }
/// assert_eq!(running.mean(), 5.0);
/// assert_eq!(running.population_variance(), 4.0);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Welford {
    count: u64,
    mean: f64,
    /// Σ(xᵢ − mean)² over the values seen so far.
    m2: f64,
}

impl Welford {
    /// No values yet.
    pub fn new() -> Welford {
        Welford::default()
    }

    /// Adds one value.
    pub fn push(&mut self, x: f64) {
        self.count += 1;
        let delta = x - self.mean;
        self.mean += delta / self.count as f64;
        self.m2 += delta * (x - self.mean);
    }

    /// Combines the statistics of another stream into this one, as if its values had been pushed
    /// here (Chan, Golub and LeVeque's formula): with δ = mean_b − mean_a and n = n_a + n_b,
    /// mean = mean_a + δ·n_b/n and m2 = m2_a + m2_b + δ²·n_a·n_b/n. This is how threads can each
    /// summarise a fixed chunk and combine the summaries in a fixed order.
    pub fn merge(&mut self, other: &Welford) {
        if other.count == 0 {
            return;
        }
        if self.count == 0 {
            *self = *other;
            return;
        }
        let (na, nb) = (self.count as f64, other.count as f64);
        let n = na + nb;
        let delta = other.mean - self.mean;
        self.mean += delta * nb / n;
        self.m2 += other.m2 + delta * delta * na * nb / n;
        self.count += other.count;
    }

    /// How many values were pushed.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// The mean of the values so far (NaN before the first).
    pub fn mean(&self) -> f64 {
        if self.count == 0 { f64::NAN } else { self.mean }
    }

    /// The sample variance m2/(count − 1) (NaN before the second value).
    pub fn variance(&self) -> f64 {
        if self.count < 2 {
            f64::NAN
        } else {
            self.m2 / (self.count - 1) as f64
        }
    }

    /// The population variance m2/count (NaN before the first value).
    pub fn population_variance(&self) -> f64 {
        if self.count == 0 {
            f64::NAN
        } else {
            self.m2 / self.count as f64
        }
    }

    /// The sample standard deviation √variance.
    pub fn std_dev(&self) -> f64 {
        self.variance().sqrt()
    }
}

/// A histogram with equal-width bins over [low, high), used as an estimate of a density.
///
/// The **density** of bin i is countᵢ / (total · width): the fraction of all values that fell in the
/// bin, per unit of x. It is directly comparable with a pdf p(x), because P(X in bin) ≈ p(x)·width.
/// Values outside [low, high) (and NaN) are counted in [`Histogram::total`] but in no bin, so the
/// densities integrate to the fraction of values inside the range.
#[derive(Clone, Debug, PartialEq)]
pub struct Histogram {
    low: f64,
    high: f64,
    counts: Vec<u64>,
    total: u64,
}

impl Histogram {
    /// `bins` empty bins over [low, high). Panics unless low < high (both finite) and bins > 0.
    pub fn new(low: f64, high: f64, bins: usize) -> Histogram {
        assert!(
            low.is_finite() && high.is_finite() && low < high && bins > 0,
            "Histogram::new: needs finite low < high and at least one bin, got [{low}, {high}) with {bins} bins"
        );
        Histogram {
            low,
            high,
            counts: vec![0; bins],
            total: 0,
        }
    }

    /// Counts one value.
    pub fn add(&mut self, x: f64) {
        self.total += 1;
        if x >= self.low && x < self.high {
            let bins = self.counts.len();
            let bin = ((x - self.low) / (self.high - self.low) * bins as f64) as usize;
            // x just below `high` can round up to `bins`.
            self.counts[bin.min(bins - 1)] += 1;
        }
    }

    /// Counts every value of a slice.
    pub fn add_all(&mut self, values: &[f64]) {
        for &x in values {
            self.add(x);
        }
    }

    /// The count of each bin.
    pub fn counts(&self) -> &[u64] {
        &self.counts
    }

    /// All values added, inside the range or not.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// The width of one bin.
    pub fn bin_width(&self) -> f64 {
        (self.high - self.low) / self.counts.len() as f64
    }

    /// The interval [start, end) of bin `i`.
    pub fn bin_range(&self, i: usize) -> (f64, f64) {
        let width = self.bin_width();
        (
            self.low + width * i as f64,
            self.low + width * (i + 1) as f64,
        )
    }

    /// The middle of bin `i`.
    pub fn bin_center(&self, i: usize) -> f64 {
        let (start, end) = self.bin_range(i);
        (start + end) / 2.0
    }

    /// The density estimate of every bin, countᵢ / (total · width) (all 0 before any value).
    pub fn density(&self) -> Vec<f64> {
        let scale = if self.total == 0 {
            0.0
        } else {
            1.0 / (self.total as f64 * self.bin_width())
        };
        self.counts.iter().map(|&c| c as f64 * scale).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_cases_by_hand() {
        let values = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(mean(&values), 2.5);
        assert_eq!(population_variance(&values), 1.25);
        assert!((variance(&values) - 5.0 / 3.0).abs() < 1e-15);
        assert!(mean(&[]).is_nan() && variance(&[1.0]).is_nan());
    }

    #[test]
    fn histogram_density_integrates_to_the_fraction_inside() {
        let mut h = Histogram::new(0.0, 1.0, 4);
        h.add_all(&[0.1, 0.3, 0.6, 0.99, 1.5, -0.1]);
        assert_eq!(h.counts(), &[1, 1, 1, 1]);
        let integral: f64 = h.density().iter().map(|d| d * h.bin_width()).sum();
        assert!((integral - 4.0 / 6.0).abs() < 1e-12);
    }
}
