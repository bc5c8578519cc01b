//! `History`: what happened in each epoch of `fit` — the numbers to print, tabulate and plot.

use crate::report::chart::line_chart;
use crate::report::{LinePlot, Table};

/// One epoch's results.
#[derive(Clone, Debug, PartialEq)]
pub struct EpochRecord {
    /// The epoch number, from 1.
    pub epoch: usize,
    /// The training loss: the mean of the batch losses weighted by batch size (for a mean-reduced
    /// loss, the mean loss per example over the epoch, measured while the weights changed).
    pub loss: f32,
    /// The training metric over the epoch, if a metric was chosen.
    pub metric: Option<f32>,
    /// The validation loss after the epoch, if validation data were given.
    pub validation_loss: Option<f32>,
    /// The validation metric after the epoch.
    pub validation_metric: Option<f32>,
    /// The learning rate used during the epoch.
    pub learning_rate: f32,
    /// Wall-clock seconds the epoch took (training and validation).
    pub seconds: f64,
}

/// The per-epoch records of a `fit` run.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct History {
    /// One record per epoch, in order.
    pub epochs: Vec<EpochRecord>,
    /// The metric's name (`accuracy`, `mae`) or empty.
    pub metric_name: String,
}

impl History {
    /// The training loss of every epoch.
    pub fn losses(&self) -> Vec<f32> {
        self.epochs.iter().map(|e| e.loss).collect()
    }

    /// The validation loss of every epoch (empty without validation data).
    pub fn validation_losses(&self) -> Vec<f32> {
        self.epochs
            .iter()
            .filter_map(|e| e.validation_loss)
            .collect()
    }

    /// The training metric of every epoch (empty without a metric).
    pub fn metrics(&self) -> Vec<f32> {
        self.epochs.iter().filter_map(|e| e.metric).collect()
    }

    /// The validation metric of every epoch.
    pub fn validation_metrics(&self) -> Vec<f32> {
        self.epochs
            .iter()
            .filter_map(|e| e.validation_metric)
            .collect()
    }

    /// The last epoch's record.
    pub fn last(&self) -> Option<&EpochRecord> {
        self.epochs.last()
    }

    /// An SVG plot of the loss per epoch (training, and validation when present).
    pub fn loss_plot(&self, title: &str) -> LinePlot {
        let mut plot = LinePlot::new(title)
            .x_label("epoch")
            .y_label("loss")
            .line_y("training loss", &self.losses());
        let validation = self.validation_losses();
        if !validation.is_empty() {
            plot = plot.dashed("validation loss", &per_epoch(&validation));
        }
        plot
    }

    /// An SVG plot of the metric per epoch, or `None` without a metric.
    pub fn metric_plot(&self, title: &str) -> Option<LinePlot> {
        let training = self.metrics();
        if training.is_empty() {
            return None;
        }
        let mut plot = LinePlot::new(title)
            .x_label("epoch")
            .y_label(&self.metric_name)
            .line_y(&format!("training {}", self.metric_name), &training);
        let validation = self.validation_metrics();
        if !validation.is_empty() {
            plot = plot.dashed(
                &format!("validation {}", self.metric_name),
                &per_epoch(&validation),
            );
        }
        Some(plot)
    }

    /// The loss curves as a terminal chart.
    pub fn loss_chart(&self, width: usize, height: usize) -> String {
        let training = self.losses();
        let validation = self.validation_losses();
        let mut series: Vec<(&str, &[f32])> = vec![("training loss", &training)];
        if !validation.is_empty() {
            series.push(("validation loss", &validation));
        }
        line_chart(&series, width, height)
    }

    /// Every epoch as a row of a text table.
    pub fn table(&self) -> Table {
        let metric = self.metric_name.as_str();
        let validation_metric = format!("val {metric}");
        let mut headers = vec!["epoch", "loss"];
        if !metric.is_empty() {
            headers.push(metric);
        }
        headers.extend(["val loss"]);
        if !metric.is_empty() {
            headers.push(&validation_metric);
        }
        headers.extend(["lr", "seconds"]);
        let mut table = Table::new(&headers);
        let show = |v: Option<f32>| v.map_or("-".to_string(), |v| format!("{v:.4}"));
        for e in &self.epochs {
            let mut row = vec![e.epoch.to_string(), format!("{:.4}", e.loss)];
            if !metric.is_empty() {
                row.push(show(e.metric));
            }
            row.push(show(e.validation_loss));
            if !metric.is_empty() {
                row.push(show(e.validation_metric));
            }
            row.push(format!("{}", e.learning_rate));
            row.push(format!("{:.2}", e.seconds));
            table.row(&row);
        }
        table
    }
}

fn per_epoch(values: &[f32]) -> Vec<(f64, f64)> {
    values
        .iter()
        .enumerate()
        .map(|(i, &v)| ((i + 1) as f64, f64::from(v)))
        .collect()
}
