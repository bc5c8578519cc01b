//! SVG figures: a small canvas ([`Svg`]) and a line plot with axes, ticks, labels and a legend
//! ([`LinePlot`]).
//!
//! SVG is plain XML text, so a figure is just a string: every browser shows it, and a test can check
//! it. Coordinates grow rightwards and *downwards*, so the plot flips the y axis when it maps data to
//! pixels.

use crate::error::Result;
use std::fmt::Write as _;
use std::path::Path;

/// Colours used for successive series (colour-blind-friendly, from the Okabe–Ito palette).
pub const PALETTE: [&str; 8] = [
    "#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442",
];

/// Escapes the characters XML gives meaning to.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// An SVG document being built, element by element.
#[derive(Clone, Debug)]
pub struct Svg {
    width: f64,
    height: f64,
    body: String,
}

impl Svg {
    /// An empty white canvas of `width` × `height` pixels.
    pub fn new(width: f64, height: f64) -> Svg {
        let mut svg = Svg {
            width,
            height,
            body: String::new(),
        };
        svg.rect(0.0, 0.0, width, height, "white", None);
        svg
    }

    /// A rectangle with a fill colour and an optional stroke colour.
    pub fn rect(&mut self, x: f64, y: f64, w: f64, h: f64, fill: &str, stroke: Option<&str>) {
        let stroke = stroke.map_or(String::new(), |s| format!(r#" stroke="{s}""#));
        let _ = writeln!(
            self.body,
            r#"<rect x="{x:.2}" y="{y:.2}" width="{w:.2}" height="{h:.2}" fill="{fill}"{stroke}/>"#
        );
    }

    /// A straight line.
    pub fn line(&mut self, x1: f64, y1: f64, x2: f64, y2: f64, stroke: &str, width: f64) {
        let _ = writeln!(
            self.body,
            r#"<line x1="{x1:.2}" y1="{y1:.2}" x2="{x2:.2}" y2="{y2:.2}" stroke="{stroke}" stroke-width="{width}"/>"#
        );
    }

    /// A connected line through `points`, optionally dashed.
    pub fn polyline(&mut self, points: &[(f64, f64)], stroke: &str, width: f64, dashed: bool) {
        let mut coordinates = String::new();
        for (x, y) in points {
            let _ = write!(coordinates, "{x:.2},{y:.2} ");
        }
        let dash = if dashed {
            r#" stroke-dasharray="6 4""#
        } else {
            ""
        };
        let _ = writeln!(
            self.body,
            r#"<polyline points="{}" fill="none" stroke="{stroke}" stroke-width="{width}"{dash}/>"#,
            coordinates.trim_end()
        );
    }

    /// A filled circle.
    pub fn circle(&mut self, x: f64, y: f64, r: f64, fill: &str) {
        let _ = writeln!(
            self.body,
            r#"<circle cx="{x:.2}" cy="{y:.2}" r="{r:.2}" fill="{fill}"/>"#
        );
    }

    /// Text anchored at (x, y); `anchor` is `start`, `middle` or `end`; `rotate` in degrees.
    pub fn text(&mut self, x: f64, y: f64, size: f64, anchor: &str, rotate: f64, content: &str) {
        let transform = if rotate == 0.0 {
            String::new()
        } else {
            format!(r#" transform="rotate({rotate} {x:.2} {y:.2})""#)
        };
        let _ = writeln!(
            self.body,
            r#"<text x="{x:.2}" y="{y:.2}" font-size="{size}" font-family="sans-serif" text-anchor="{anchor}"{transform}>{}</text>"#,
            escape(content)
        );
    }

    /// The complete SVG document.
    pub fn finish(&self) -> String {
        format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\">\n{}</svg>\n",
            self.body,
            w = self.width,
            h = self.height
        )
    }

    /// Writes the document to a file (atomically).
    pub fn save(&self, path: &Path) -> Result<()> {
        super::write_atomic(path, self.finish().as_bytes())
    }
}

/// "Nice" tick positions covering `[low, high]`: steps of 1, 2 or 5 times a power of ten.
pub fn nice_ticks(low: f64, high: f64, max_ticks: usize) -> Vec<f64> {
    if !(low.is_finite() && high.is_finite()) || high <= low {
        return vec![low];
    }
    let rough = (high - low) / max_ticks.max(2) as f64;
    let magnitude = 10f64.powf(rough.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * magnitude)
        .find(|&s| s >= rough)
        .unwrap_or(10.0 * magnitude);
    let first = (low / step).ceil() as i64;
    let last = (high / step).floor() as i64;
    (first..=last).map(|i| i as f64 * step).collect()
}

/// Formats a tick label without noise digits (`0.30000000000000004` → `0.3`).
pub fn tick_label(value: f64) -> String {
    if value == 0.0 {
        return "0".to_string();
    }
    if value.abs() >= 1e5 || value.abs() < 1e-3 {
        return format!("{value:.1e}");
    }
    let text = format!("{value:.4}");
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// One named series of a [`LinePlot`].
#[derive(Clone, Debug)]
struct Series {
    name: String,
    points: Vec<(f64, f64)>,
    markers_only: bool,
    dashed: bool,
    width: f64,
}

/// Several plots next to each other in one SVG document (each keeps its own axes, title and legend):
/// for a figure whose series are easier to read in two panels than in one.
pub fn side_by_side(plots: &[LinePlot]) -> String {
    let width: f64 = plots.iter().map(|p| p.width).sum();
    let height = plots.iter().map(|p| p.height).fold(0.0, f64::max);
    let mut out = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}">"#
    );
    out.push('\n');
    let mut left = 0.0;
    for plot in plots {
        // A nested <svg> is placed by its x attribute; its own width and height stay as they are.
        let inner = plot.to_svg();
        out.push_str(&inner.replacen("<svg ", &format!(r#"<svg x="{left}" y="0" "#), 1));
        out.push('\n');
        left += plot.width;
    }
    out.push_str("</svg>\n");
    out
}

/// A 2-D plot of one or more series, with axes, ticks, axis labels, a title and a legend.
///
/// ```
/// use dlfs::report::LinePlot;
/// let svg = LinePlot::new("loss")
///     .x_label("epoch")
///     .y_label("loss")
///     .line("train", &[(1.0, 0.9), (2.0, 0.5), (3.0, 0.3)])
///     .to_svg();
/// assert!(svg.starts_with("<svg") && svg.contains("train"));
/// ```
#[derive(Clone, Debug)]
pub struct LinePlot {
    title: String,
    x_label: String,
    y_label: String,
    series: Vec<Series>,
    background: Vec<(f64, f64)>,
    contours: Vec<Vec<(f64, f64)>>,
    log_y: bool,
    width: f64,
    height: f64,
}

impl LinePlot {
    /// An empty plot with a title.
    pub fn new(title: &str) -> LinePlot {
        LinePlot {
            title: title.to_string(),
            x_label: String::new(),
            y_label: String::new(),
            series: Vec::new(),
            background: Vec::new(),
            contours: Vec::new(),
            log_y: false,
            width: 720.0,
            height: 440.0,
        }
    }

    /// Sets the x-axis label.
    pub fn x_label(mut self, label: &str) -> LinePlot {
        self.x_label = label.to_string();
        self
    }

    /// Sets the y-axis label.
    pub fn y_label(mut self, label: &str) -> LinePlot {
        self.y_label = label.to_string();
        self
    }

    /// Uses a logarithmic y axis (non-positive values are left out).
    pub fn log_y(mut self) -> LinePlot {
        self.log_y = true;
        self
    }

    /// Sets the size in pixels.
    pub fn size(mut self, width: f64, height: f64) -> LinePlot {
        self.width = width;
        self.height = height;
        self
    }

    /// Adds a series drawn as a solid line.
    pub fn line(mut self, name: &str, points: &[(f64, f64)]) -> LinePlot {
        self.push(name, points, false, false);
        self
    }

    /// Adds a series drawn as a solid line `width` pixels wide (the default is 2): give series that
    /// may coincide decreasing widths, so that each stays visible as a stripe of the one below.
    pub fn line_with_width(mut self, name: &str, points: &[(f64, f64)], width: f64) -> LinePlot {
        self.push(name, points, false, false);
        if let Some(series) = self.series.last_mut() {
            series.width = width;
        }
        self
    }

    /// Adds a series drawn as a dashed line.
    pub fn dashed(mut self, name: &str, points: &[(f64, f64)]) -> LinePlot {
        self.push(name, points, false, true);
        self
    }

    /// Adds a series drawn as dots.
    pub fn scatter(mut self, name: &str, points: &[(f64, f64)]) -> LinePlot {
        self.push(name, points, true, false);
        self
    }

    /// Adds light grey dots behind every series, with no legend entry and no colour of the palette
    /// used up: context such as the level sets of a function under optimizer paths. Say what they
    /// are in the title or the text.
    pub fn background(mut self, points: &[(f64, f64)]) -> LinePlot {
        self.background.extend_from_slice(points);
        self
    }

    /// Adds a thin grey line behind every series, with no legend entry and no colour of the palette
    /// used up: one piece of a contour line (a level set f = c) under optimizer paths, for example.
    /// Call it once per piece; say what the lines are in the title or the text.
    pub fn contour(mut self, points: &[(f64, f64)]) -> LinePlot {
        if points.len() >= 2 {
            self.contours.push(points.to_vec());
        }
        self
    }

    /// Adds a line from a list of y values at x = 1, 2, 3, … (e.g. one value per epoch).
    pub fn line_y(self, name: &str, ys: &[f32]) -> LinePlot {
        let points: Vec<(f64, f64)> = ys
            .iter()
            .enumerate()
            .map(|(i, &y)| ((i + 1) as f64, f64::from(y)))
            .collect();
        self.line(name, &points)
    }

    fn push(&mut self, name: &str, points: &[(f64, f64)], markers_only: bool, dashed: bool) {
        self.series.push(Series {
            name: name.to_string(),
            points: points.to_vec(),
            markers_only,
            dashed,
            width: 2.0,
        });
    }

    fn y_value(&self, y: f64) -> Option<f64> {
        if self.log_y {
            (y > 0.0).then(|| y.log10())
        } else {
            Some(y)
        }
    }

    /// The data range over all series and the background, ignoring non-finite values: (x_min, x_max, y_min, y_max).
    fn bounds(&self) -> (f64, f64, f64, f64) {
        let mut b = (
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::INFINITY,
            f64::NEG_INFINITY,
        );
        let all_points = self
            .series
            .iter()
            .flat_map(|s| s.points.iter())
            .chain(&self.background)
            .chain(self.contours.iter().flatten());
        for &(x, y) in all_points {
            let Some(y) = self.y_value(y) else { continue };
            if x.is_finite() && y.is_finite() {
                b = (b.0.min(x), b.1.max(x), b.2.min(y), b.3.max(y));
            }
        }
        if !b.0.is_finite() {
            return (0.0, 1.0, 0.0, 1.0);
        }
        // Give flat ranges some height, and every range a little margin.
        if b.1 - b.0 < 1e-12 {
            b = (b.0 - 0.5, b.1 + 0.5, b.2, b.3);
        }
        if b.3 - b.2 < 1e-12 {
            let pad = b.2.abs().max(1.0) * 0.05;
            b = (b.0, b.1, b.2 - pad, b.3 + pad);
        }
        let pad = (b.3 - b.2) * 0.05;
        (b.0, b.1, b.2 - pad, b.3 + pad)
    }

    /// Renders the plot as an SVG document.
    pub fn to_svg(&self) -> String {
        let (left, right, top, bottom) = (72.0, 160.0, 40.0, 56.0);
        let plot_w = self.width - left - right;
        let plot_h = self.height - top - bottom;
        let (x0, x1, y0, y1) = self.bounds();
        let px = |x: f64| left + (x - x0) / (x1 - x0) * plot_w;
        let py = |y: f64| top + plot_h - (y - y0) / (y1 - y0) * plot_h;

        let mut svg = Svg::new(self.width, self.height);
        svg.text(self.width / 2.0, 24.0, 16.0, "middle", 0.0, &self.title);
        // Grid lines and tick labels.
        for t in nice_ticks(x0, x1, 8) {
            svg.line(px(t), top, px(t), top + plot_h, "#e5e5e5", 1.0);
            svg.text(
                px(t),
                top + plot_h + 18.0,
                11.0,
                "middle",
                0.0,
                &tick_label(t),
            );
        }
        for t in nice_ticks(y0, y1, 6) {
            svg.line(left, py(t), left + plot_w, py(t), "#e5e5e5", 1.0);
            let label = if self.log_y {
                tick_label(10f64.powf(t))
            } else {
                tick_label(t)
            };
            svg.text(left - 6.0, py(t) + 4.0, 11.0, "end", 0.0, &label);
        }
        // Axes.
        svg.line(
            left,
            top + plot_h,
            left + plot_w,
            top + plot_h,
            "black",
            1.0,
        );
        svg.line(left, top, left, top + plot_h, "black", 1.0);
        svg.text(
            left + plot_w / 2.0,
            self.height - 14.0,
            13.0,
            "middle",
            0.0,
            &self.x_label,
        );
        let y_label = if self.log_y && !self.y_label.is_empty() {
            format!("{} (log scale)", self.y_label)
        } else {
            self.y_label.clone()
        };
        svg.text(18.0, top + plot_h / 2.0, 13.0, "middle", -90.0, &y_label);
        // Background dots, then the series and the legend.
        for &(x, y) in &self.background {
            if let Some(y) = self.y_value(y)
                && x.is_finite()
                && y.is_finite()
            {
                svg.circle(px(x), py(y), 1.2, "#c8c8c8");
            }
        }
        for contour in &self.contours {
            let points: Vec<(f64, f64)> = contour
                .iter()
                .filter_map(|&(x, y)| self.y_value(y).map(|y| (x, y)))
                .filter(|(x, y)| x.is_finite() && y.is_finite())
                .map(|(x, y)| (px(x), py(y)))
                .collect();
            svg.polyline(&points, "#b4b4b4", 1.0, false);
        }
        for (i, s) in self.series.iter().enumerate() {
            let colour = PALETTE[i % PALETTE.len()];
            let points: Vec<(f64, f64)> = s
                .points
                .iter()
                .filter_map(|&(x, y)| self.y_value(y).map(|y| (x, y)))
                .filter(|(x, y)| x.is_finite() && y.is_finite())
                .map(|(x, y)| (px(x), py(y)))
                .collect();
            if s.markers_only {
                for &(x, y) in &points {
                    svg.circle(x, y, 2.5, colour);
                }
            } else {
                svg.polyline(&points, colour, s.width, s.dashed);
            }
            let ly = top + 14.0 + 20.0 * i as f64;
            let lx = left + plot_w + 14.0;
            if s.markers_only {
                svg.circle(lx + 11.0, ly - 4.0, 3.0, colour);
            } else {
                // The legend's sample is drawn like the series: solid or dashed.
                svg.polyline(
                    &[(lx, ly - 4.0), (lx + 22.0, ly - 4.0)],
                    colour,
                    3.0,
                    s.dashed,
                );
            }
            svg.text(lx + 28.0, ly, 12.0, "start", 0.0, &s.name);
        }
        svg.finish()
    }

    /// Writes the plot to an SVG file (atomically).
    pub fn save(&self, path: &Path) -> Result<()> {
        super::write_atomic(path, self.to_svg().as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round_numbers_inside_the_range() {
        assert_eq!(
            nice_ticks(0.0, 10.0, 5),
            vec![0.0, 2.0, 4.0, 6.0, 8.0, 10.0]
        );
        let t = nice_ticks(0.013, 0.087, 4);
        assert!(t.iter().all(|&v| (0.013..=0.087).contains(&v)), "{t:?}");
        assert_eq!(tick_label(0.1 + 0.2), "0.3");
    }
}
