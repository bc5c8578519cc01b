//! Charts drawn with text, for a quick look in the terminal: line charts, histograms and bar charts.
//!
//! Every function returns a `String` (print it, or check it in a test). The SVG versions in
//! [`super::svg`] are for keeping; these are for seeing a curve's shape without leaving the terminal.

use super::svg::tick_label;

/// Symbols used for successive series.
const MARKERS: [char; 6] = ['*', 'o', '+', 'x', '#', '@'];

/// A line chart of several named series of y values (x = index), `width` × `height` characters of
/// plotting area, with the y range on the left and a legend below.
///
/// ```
/// let chart = dlfs::report::chart::line_chart(&[("loss", &[3.0, 2.0, 1.5, 1.2])], 20, 5);
/// assert!(chart.contains("loss"));
/// ```
pub fn line_chart(series: &[(&str, &[f32])], width: usize, height: usize) -> String {
    let width = width.max(2);
    let height = height.max(2);
    let finite = series
        .iter()
        .flat_map(|(_, ys)| ys.iter().copied())
        .filter(|y| y.is_finite());
    let (low, high) = finite.fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), y| {
        (lo.min(y), hi.max(y))
    });
    if !low.is_finite() {
        return "(no finite values to plot)\n".to_string();
    }
    let span = if high > low { high - low } else { 1.0 };
    let longest = series.iter().map(|(_, ys)| ys.len()).max().unwrap_or(1);
    let mut grid = vec![vec![' '; width]; height];
    for (s, (_, ys)) in series.iter().enumerate() {
        for (i, &y) in ys.iter().enumerate() {
            if !y.is_finite() {
                continue;
            }
            let col = if longest <= 1 {
                0
            } else {
                i * (width - 1) / (longest - 1)
            };
            let row = ((high - y) / span * (height - 1) as f32).round() as usize;
            grid[row.min(height - 1)][col] = MARKERS[s % MARKERS.len()];
        }
    }
    let high_label = tick_label(f64::from(high));
    let low_label = tick_label(f64::from(low));
    let label_width = high_label.len().max(low_label.len());
    let mut out = String::new();
    for (r, row) in grid.iter().enumerate() {
        let label = if r == 0 {
            high_label.as_str()
        } else if r == height - 1 {
            low_label.as_str()
        } else {
            ""
        };
        out.push_str(&format!("{label:>label_width$} |"));
        out.extend(row.iter());
        out.push('\n');
    }
    out.push_str(&format!("{:>label_width$} +{}\n", "", "-".repeat(width)));
    let legend: Vec<String> = series
        .iter()
        .enumerate()
        .map(|(s, (name, _))| format!("{} {name}", MARKERS[s % MARKERS.len()]))
        .collect();
    out.push_str(&format!("{:>label_width$}  {}\n", "", legend.join("   ")));
    out
}

/// Counts of `values` in `bins` equal-width bins over `[low, high)` (the last bin includes `high`).
/// Values outside the range or not finite are not counted.
pub fn bin_counts(values: &[f32], bins: usize, low: f32, high: f32) -> Vec<usize> {
    let mut counts = vec![0; bins];
    let span = high - low;
    if bins == 0 || span <= 0.0 {
        return counts;
    }
    for &v in values {
        if !v.is_finite() || v < low || v > high {
            continue;
        }
        let b = (((v - low) / span) * bins as f32) as usize;
        counts[b.min(bins - 1)] += 1;
    }
    counts
}

/// A horizontal histogram: one line per bin with its range, a bar scaled to `width`, and its count.
pub fn histogram(values: &[f32], bins: usize, width: usize) -> String {
    let finite: Vec<f32> = values.iter().copied().filter(|v| v.is_finite()).collect();
    if finite.is_empty() || bins == 0 {
        return "(no finite values)\n".to_string();
    }
    let low = finite.iter().copied().fold(f32::INFINITY, f32::min);
    let mut high = finite.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    if high <= low {
        high = low + 1.0;
    }
    let counts = bin_counts(&finite, bins, low, high);
    let step = (high - low) / bins as f32;
    let labels: Vec<String> = (0..bins)
        .map(|b| {
            format!(
                "[{:.3}, {:.3})",
                low + step * b as f32,
                low + step * (b + 1) as f32
            )
        })
        .collect();
    bars(
        &labels,
        &counts.iter().map(|&c| c as f32).collect::<Vec<_>>(),
        width,
    )
}

/// A horizontal bar chart: one labelled bar per value (values ≥ 0), scaled so the largest fills
/// `width` characters.
pub fn bars(labels: &[String], values: &[f32], width: usize) -> String {
    assert_eq!(
        labels.len(),
        values.len(),
        "chart::bars: {} labels for {} values",
        labels.len(),
        values.len()
    );
    let largest = values.iter().copied().fold(0.0f32, f32::max);
    let label_width = labels.iter().map(|l| l.chars().count()).max().unwrap_or(0);
    let mut out = String::new();
    for (label, &v) in labels.iter().zip(values) {
        let length = if largest > 0.0 {
            ((v.max(0.0) / largest) * width as f32).round() as usize
        } else {
            0
        };
        let pad = label_width - label.chars().count();
        out.push_str(&format!(
            "{label}{} |{} {}\n",
            " ".repeat(pad),
            "█".repeat(length),
            tick_label(f64::from(v))
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_counts_every_value_once() {
        let counts = bin_counts(&[0.0, 0.1, 0.5, 0.99, 1.0], 2, 0.0, 1.0);
        assert_eq!(counts, vec![2, 3]);
    }

    #[test]
    fn line_chart_puts_the_maximum_on_the_top_row() {
        let chart = line_chart(&[("y", &[0.0, 1.0])], 4, 3);
        let first = chart.lines().next().unwrap();
        assert!(first.ends_with("|   *"), "{chart}");
    }
}
