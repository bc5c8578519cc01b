//! Checkers for chapter 4's exercises (`src/exercises/ch04.rs`): sample variance, the normal density,
//! and sampling a categorical distribution by inverse transform.
//!
//! The variance is compared with [`stats::variance`] and on data where the tempting shortcuts fail:
//! dividing by n (biased), and the one-pass Σx² − (Σx)²/n (which cancels catastrophically when the
//! mean is large). The density is compared with [`Normal::pdf`] and must integrate to 1. Categorical
//! sampling is checked draw by draw against the rule "the first k whose cumulative probability
//! exceeds u", at the edges of the intervals and where rounding leaves Σp a hair below 1.

use super::Tolerance;
use super::exercise::{Check, CheckResult, format_values_f64, short};
use crate::probability::distributions::Normal;
use crate::probability::stats;

/// Exercise 4.1: `sample_variance(values)` returns Σ(xᵢ − x̄)²/(n − 1), NaN for fewer than 2 values.
pub fn check_sample_variance(f: impl Fn(&[f64]) -> f64) -> CheckResult {
    let base_hint = "x̄ = Σxᵢ/n, then Σ(xᵢ − x̄)²/(n − 1)";
    let mut large: Vec<f64> = vec![4.0, 7.0, 13.0, 16.0];
    large.iter_mut().for_each(|v| *v += 1e9);
    let cases: Vec<(&str, Vec<f64>)> = vec![
        (
            "the textbook example",
            vec![2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0],
        ),
        ("two values", vec![1.0, 3.0]),
        ("values around 10⁹ (a large mean, a small spread)", large),
        (
            "many values",
            (0..1000).map(|i| ((i * 37) % 101) as f64 * 0.1).collect(),
        ),
    ];
    for (name, values) in cases {
        let check = Check::new(name, format!("values = {}", format_values_f64(&values)));
        let got = check.run(|| f(&values));
        let expected = stats::variance(&values);
        let population = stats::population_variance(&values);
        let hint = if (got - population).abs() <= 1e-9 * population.abs() {
            "this is Σ(xᵢ − x̄)²/n: the *sample* variance divides by n − 1 (Bessel's correction), \
             because x̄ comes from the same data and sits closer to it than the true mean does"
                .to_string()
        } else if name.contains("10⁹") {
            "subtract the mean first (two passes over the data): Σx² − (Σx)²/n subtracts two \
             numbers near 4·10¹⁸ whose difference is 90, and f64 keeps only ~16 digits"
                .to_string()
        } else {
            base_hint.to_string()
        };
        check.scalar(
            "the variance",
            got,
            expected,
            Tolerance::new(0.0, 1e-9),
            &hint,
        )?;
    }
    for values in [vec![], vec![5.0]] {
        let check = Check::new(
            "fewer than two values give NaN",
            format!("values = {}", format_values_f64(&values)),
        );
        let got = check.run(|| f(&values));
        check.that(
            got.is_nan(),
            "NaN",
            short(got),
            "one value has no spread to estimate (and n − 1 = 0): return f64::NAN, as numpy does",
        )?;
    }
    Ok(())
}

/// Exercise 4.2: `normal_pdf(x, mean, std)` returns exp(−(x − μ)²/(2σ²)) / (σ√(2π)).
pub fn check_normal_pdf(f: impl Fn(f64, f64, f64) -> f64) -> CheckResult {
    let hint = "p(x) = exp(−(x − μ)²/(2σ²)) / (σ·√(2π)): the σ in the denominator keeps the area 1";
    let peak = 1.0 / (2.0 * std::f64::consts::PI).sqrt();
    let check = Check::new("the standard normal's peak", "x = 0, mean = 0, std = 1");
    let got = check.run(|| f(0.0, 0.0, 1.0));
    check.scalar("p(0)", got, peak, Tolerance::new(0.0, 1e-9), hint)?;
    let check = Check::new(
        "a narrow normal's peak is higher",
        "x = 2, mean = 2, std = 0.5",
    );
    let got = check.run(|| f(2.0, 2.0, 0.5));
    check.scalar("p(2)", got, 2.0 * peak, Tolerance::new(0.0, 1e-9), hint)?;
    for (mean, std) in [(0.0, 1.0), (-1.0, 0.3), (3.0, 2.0)] {
        let normal = Normal::new(mean, std);
        for k in -8..=8 {
            let x = mean + f64::from(k) * 0.5 * std + 0.1;
            let check = Check::new(
                format!("values of N({mean}, {std}²)"),
                format!("x = {}, mean = {mean}, std = {std}", short(x)),
            );
            let got = check.run(|| f(x, mean, std));
            check.scalar(
                "p(x)",
                got,
                normal.pdf(x),
                Tolerance::new(1e-15, 1e-9),
                hint,
            )?;
        }
        // The trapezoid rule over μ ± 10σ with 2000 intervals.
        let check = Check::new(
            format!("N({mean}, {std}²) integrates to 1"),
            format!("∫ p(x) dx over [μ − 10σ, μ + 10σ], mean = {mean}, std = {std}"),
        );
        let steps = 2000;
        let width = 20.0 * std / f64::from(steps);
        let area = check.run(|| {
            (0..=steps)
                .map(|i| {
                    let weight = if i == 0 || i == steps { 0.5 } else { 1.0 };
                    weight * f(mean - 10.0 * std + f64::from(i) * width, mean, std)
                })
                .sum::<f64>()
                * width
        });
        check.scalar("the area", area, 1.0, Tolerance::new(1e-6, 0.0), hint)?;
    }
    Ok(())
}

/// The rule the sampler must follow: the first k with p₀ + … + pₖ > u; if rounding leaves every
/// cumulative sum ≤ u, the last class with p > 0.
fn inverse_transform(probabilities: &[f64], u: f64) -> usize {
    let mut cumulative = 0.0;
    for (k, &p) in probabilities.iter().enumerate() {
        cumulative += p;
        if cumulative > u {
            return k;
        }
    }
    probabilities.iter().rposition(|&p| p > 0.0).unwrap_or(0)
}

/// Exercise 4.3: `sample_categorical(probabilities, u)` returns the class that the uniform draw
/// `u ∈ [0, 1)` selects by inverse transform.
pub fn check_sample_categorical(f: impl Fn(&[f64], f64) -> usize) -> CheckResult {
    let hint = "walk through the classes adding up p₀ + p₁ + … and return the first k whose running \
                sum is greater than u (class k owns the interval [p₀+…+pₖ₋₁, p₀+…+pₖ) of [0, 1))";
    let just_below_one = 1.0 - f64::EPSILON / 2.0; // the largest f64 below 1
    let cases: Vec<(&str, Vec<f64>, Vec<f64>)> = vec![
        (
            "p = [0.25, 0.5, 0.25], u inside and at the edges of the intervals",
            vec![0.25, 0.5, 0.25],
            vec![
                0.0,
                0.1,
                0.2499,
                0.25,
                0.5,
                0.7499,
                0.75,
                0.9,
                just_below_one,
            ],
        ),
        (
            "classes of probability 0 are never drawn",
            vec![0.0, 0.5, 0.0, 0.5, 0.0],
            vec![0.0, 0.25, 0.5, 0.75, just_below_one],
        ),
        ("one class", vec![1.0], vec![0.0, 0.5, just_below_one]),
        (
            "ten classes of 0.1, whose sum rounds to just below 1",
            vec![0.1; 10],
            vec![0.05, 0.55, 0.95, just_below_one],
        ),
    ];
    for (name, probabilities, draws) in cases {
        for u in draws {
            let check = Check::new(
                name,
                format!(
                    "probabilities = {}, u = {u}",
                    format_values_f64(&probabilities)
                ),
            );
            let got = check.run(|| f(&probabilities, u));
            let expected = inverse_transform(&probabilities, u);
            let hint = if name.contains("rounds") {
                "0.1 added ten times is 0.9999999999999999, not 1: when no running sum exceeds u, \
                 return the last class with p > 0"
            } else {
                hint
            };
            check.that(
                got == expected,
                format!("class {expected}"),
                format!("class {got}"),
                hint,
            )?;
        }
    }
    // Frequencies: on an even grid of u, each class is drawn in proportion to its probability.
    let probabilities = [0.1, 0.6, 0.3];
    let draws = 10_000;
    let check = Check::new(
        "frequencies match the probabilities",
        format!(
            "probabilities = {}, u = (i + ½)/{draws} for i = 0 … {}",
            format_values_f64(&probabilities),
            draws - 1
        ),
    );
    let mut counts = [0usize; 3];
    for i in 0..draws {
        let u = (f64::from(i) + 0.5) / f64::from(draws);
        let k = check.run(|| f(&probabilities, u));
        check.that(
            k < probabilities.len(),
            "a class index in 0..3",
            format!("{k} for u = {u}"),
            hint,
        )?;
        counts[k] += 1;
    }
    let frequencies: Vec<f64> = counts
        .iter()
        .map(|&c| c as f64 / f64::from(draws))
        .collect();
    check.that(
        frequencies
            .iter()
            .zip(&probabilities)
            .all(|(a, b)| (a - b).abs() < 1e-3),
        format!("frequencies ≈ {}", format_values_f64(&probabilities)),
        format!("frequencies = {}", format_values_f64(&frequencies)),
        hint,
    )
}
