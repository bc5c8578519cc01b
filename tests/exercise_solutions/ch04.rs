//! Reference solutions of chapter 4's exercises (see `mod.rs`).

pub fn sample_variance(values: &[f64]) -> f64 {
    dlfs::probability::stats::variance(values)
}

pub fn normal_pdf(x: f64, mean: f64, std: f64) -> f64 {
    dlfs::probability::distributions::Normal::new(mean, std).pdf(x)
}

pub fn sample_categorical(probabilities: &[f64], u: f64) -> usize {
    // `Categorical::sample_index` does this with a binary search over precomputed running sums.
    let mut cumulative = 0.0;
    for (k, &p) in probabilities.iter().enumerate() {
        cumulative += p;
        if cumulative > u {
            return k;
        }
    }
    probabilities.iter().rposition(|&p| p > 0.0).unwrap_or(0)
}
