//! How good the predictions are, in numbers people read: accuracy, mean absolute error, and the
//! confusion matrix (which classes get mistaken for which).

use crate::report::Table;
use crate::tensor::{Tensor, argmax};
use std::fmt;

/// A metric reported by `fit` and `evaluate` next to the loss.
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub enum Metric {
    /// No metric: only the loss.
    #[default]
    None,
    /// The fraction of examples whose highest score (`[N, K]` output) is the target class index.
    Accuracy,
    /// The fraction of outputs on the right side of `threshold`: output > threshold predicts 1,
    /// compared with target > 0.5. Use 0.5 for probabilities (a Sigmoid at the end), 0 for logits.
    BinaryAccuracy {
        /// The decision threshold.
        threshold: f32,
    },
    /// The mean of |output − target| over all elements (regression).
    MeanAbsoluteError,
}

impl Metric {
    /// The metric's name as printed (`accuracy`, `mae`, …); empty for [`Metric::None`].
    pub fn name(self) -> &'static str {
        match self {
            Metric::None => "",
            Metric::Accuracy | Metric::BinaryAccuracy { .. } => "accuracy",
            Metric::MeanAbsoluteError => "mae",
        }
    }

    /// The metric's sum over this batch and the number of terms it counts, so that batches combine
    /// exactly: the metric over many batches is Σ sums / Σ counts. `None` for [`Metric::None`].
    pub fn batch_total(self, output: &Tensor, target: &Tensor) -> Option<(f64, usize)> {
        match self {
            Metric::None => None,
            Metric::Accuracy => {
                let correct = correct_classes(output, target);
                Some((correct as f64, target.len()))
            }
            Metric::BinaryAccuracy { threshold } => {
                let correct = output
                    .data()
                    .iter()
                    .zip(target.data())
                    .filter(|&(&o, &t)| (o > threshold) == (t > 0.5))
                    .count();
                Some((correct as f64, output.len()))
            }
            Metric::MeanAbsoluteError => {
                let sum = output
                    .data()
                    .iter()
                    .zip(target.data())
                    .map(|(&o, &t)| f64::from((o - t).abs()))
                    .sum();
                Some((sum, output.len()))
            }
        }
    }
}

/// The number of rows of `scores` `[N, K]` whose arg-max equals the class index in `classes`.
fn correct_classes(scores: &Tensor, classes: &Tensor) -> usize {
    assert!(
        scores.ndim() == 2 && scores.dim(0) == classes.len(),
        "accuracy: scores must be [N, K] with N = {} targets, got shape {:?}",
        classes.len(),
        scores.shape()
    );
    let k = scores.dim(1);
    scores
        .data()
        .chunks(k)
        .zip(classes.data())
        .filter(|&(row, &class)| argmax(row) as f32 == class)
        .count()
}

/// The fraction of examples whose highest score is the target class: `scores` `[N, K]`, `classes`
/// N class indices stored as floats.
pub fn accuracy(scores: &Tensor, classes: &Tensor) -> f32 {
    (correct_classes(scores, classes) as f64 / classes.len().max(1) as f64) as f32
}

/// Counts of (actual class, predicted class) pairs: row = actual, column = predicted, so the diagonal
/// holds the correct answers and an off-diagonal cell says "class r taken for class c this often".
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfusionMatrix {
    classes: usize,
    counts: Vec<usize>,
}

impl ConfusionMatrix {
    /// An all-zero matrix for `classes` classes.
    pub fn new(classes: usize) -> ConfusionMatrix {
        ConfusionMatrix {
            classes,
            counts: vec![0; classes * classes],
        }
    }

    /// Adds one example. Panics if a class index is out of range.
    pub fn add(&mut self, actual: usize, predicted: usize) {
        assert!(
            actual < self.classes && predicted < self.classes,
            "ConfusionMatrix::add: classes {actual}, {predicted} out of range 0..{}",
            self.classes
        );
        self.counts[actual * self.classes + predicted] += 1;
    }

    /// Adds every row of `scores` `[N, K]` (predicted = arg-max) against `classes` (N class indices
    /// stored as floats).
    pub fn add_batch(&mut self, scores: &Tensor, classes: &Tensor) {
        assert!(
            scores.ndim() == 2 && scores.dim(1) == self.classes && scores.dim(0) == classes.len(),
            "ConfusionMatrix::add_batch: scores must be [N, {}] for {} targets, got shape {:?}",
            self.classes,
            classes.len(),
            scores.shape()
        );
        for (row, &class) in scores.data().chunks(self.classes).zip(classes.data()) {
            self.add(class as usize, argmax(row));
        }
    }

    /// The number of classes.
    pub fn classes(&self) -> usize {
        self.classes
    }

    /// How often class `actual` was predicted as `predicted`.
    pub fn count(&self, actual: usize, predicted: usize) -> usize {
        self.counts[actual * self.classes + predicted]
    }

    /// The number of examples counted.
    pub fn total(&self) -> usize {
        self.counts.iter().sum()
    }

    /// The fraction on the diagonal (NaN when empty).
    pub fn accuracy(&self) -> f32 {
        let correct: usize = (0..self.classes).map(|c| self.count(c, c)).sum();
        (correct as f64 / self.total() as f64) as f32
    }

    /// Recall of class `c` (the per-class accuracy): correct / examples of class c (NaN if none).
    pub fn recall(&self, c: usize) -> f32 {
        let actual: usize = (0..self.classes).map(|p| self.count(c, p)).sum();
        (self.count(c, c) as f64 / actual as f64) as f32
    }

    /// Precision of class `c`: correct / examples predicted as c (NaN if none).
    pub fn precision(&self, c: usize) -> f32 {
        let predicted: usize = (0..self.classes).map(|a| self.count(a, c)).sum();
        (self.count(c, c) as f64 / predicted as f64) as f32
    }

    /// The matrix as an aligned text table with a recall column. Columns are headed by class index
    /// (`0`, `1`, …) so that ten classes fit a terminal; rows are named `index label` when `labels`
    /// are given (and match the class count), which doubles as the legend of the column indices.
    pub fn render(&self, labels: Option<&[&str]>) -> String {
        let rows: Vec<String> = match labels {
            Some(l) if l.len() == self.classes => l
                .iter()
                .enumerate()
                .map(|(c, name)| format!("{c} {name}"))
                .collect(),
            _ => (0..self.classes).map(|c| c.to_string()).collect(),
        };
        let indices: Vec<String> = (0..self.classes).map(|c| c.to_string()).collect();
        let mut headers: Vec<&str> = vec!["actual \\ predicted"];
        headers.extend(indices.iter().map(|s| s.as_str()));
        headers.push("recall");
        let mut table = Table::new(&headers);
        for (a, name) in rows.iter().enumerate() {
            let mut row = vec![name.clone()];
            row.extend((0..self.classes).map(|p| self.count(a, p).to_string()));
            row.push(format!("{:.3}", self.recall(a)));
            table.row(&row);
        }
        table.render()
    }
}

impl fmt::Display for ConfusionMatrix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.render(None))
    }
}
