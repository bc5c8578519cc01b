//! A progress bar for long work (training epochs, dataset generation, benchmarks).
//!
//! On a terminal it redraws one line in place (at most ten times a second, so drawing never costs
//! measurable time). When standard error is not a terminal — a CI log, a file, a pipe — it prints a
//! plain line at every 10 % instead, because carriage returns make such logs unreadable. Output goes to
//! standard error so that a chapter's results on standard output stay clean.
//!
//! Set `DLFS_PROGRESS=0` to silence every progress bar (the tests do).

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

/// A progress bar over `total` units of work.
pub struct Progress {
    label: String,
    total: usize,
    done: usize,
    message: String,
    started: Instant,
    last_draw: Option<Instant>,
    last_plain_tenth: usize,
    terminal: bool,
    hidden: bool,
    finished: bool,
}

impl Progress {
    /// A bar labelled `label` over `total` steps, drawing to standard error.
    pub fn new(label: &str, total: usize) -> Progress {
        let hidden = std::env::var("DLFS_PROGRESS").is_ok_and(|v| v == "0");
        Progress {
            label: label.to_string(),
            total,
            done: 0,
            message: String::new(),
            started: Instant::now(),
            last_draw: None,
            last_plain_tenth: 0,
            terminal: std::io::stderr().is_terminal(),
            hidden,
            finished: false,
        }
    }

    /// A bar that never draws (for library calls that should stay quiet).
    pub fn hidden() -> Progress {
        let mut p = Progress::new("", 0);
        p.hidden = true;
        p
    }

    /// Advances by `steps`.
    pub fn advance(&mut self, steps: usize) {
        self.done = (self.done + steps).min(self.total);
        self.draw(false);
    }

    /// Sets a short status shown after the bar, e.g. `loss 0.231`.
    pub fn set_message(&mut self, message: impl Into<String>) {
        self.message = message.into();
    }

    /// Steps done so far.
    pub fn done(&self) -> usize {
        self.done
    }

    /// Time since the bar was created.
    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// Draws the final state and ends the line.
    pub fn finish(&mut self) {
        if self.finished {
            return;
        }
        self.finished = true;
        self.done = self.total;
        self.draw(true);
        if !self.hidden && self.terminal {
            eprintln!();
        }
    }

    /// The text of the bar, e.g. `epoch 3 [#######-------------]  35% 273/782 0:04 loss 1.93`.
    pub fn render(&self, width: usize) -> String {
        let fraction = if self.total == 0 {
            1.0
        } else {
            self.done as f64 / self.total as f64
        };
        let filled = ((fraction * width as f64).round() as usize).min(width);
        let seconds = self.started.elapsed().as_secs();
        format!(
            "{} [{}{}] {:>3.0}% {}/{} {}:{:02} {}",
            self.label,
            "#".repeat(filled),
            "-".repeat(width - filled),
            fraction * 100.0,
            self.done,
            self.total,
            seconds / 60,
            seconds % 60,
            self.message
        )
    }

    fn draw(&mut self, force: bool) {
        if self.hidden {
            return;
        }
        if self.terminal {
            let due = self
                .last_draw
                .is_none_or(|t| t.elapsed() >= Duration::from_millis(100));
            if force || due {
                self.last_draw = Some(Instant::now());
                let mut err = std::io::stderr().lock();
                // \r returns to the line start; \x1b[K clears what a longer previous line left.
                let _ = write!(err, "\r{}\x1b[K", self.render(30));
                let _ = err.flush();
            }
        } else {
            let tenth = (self.done * 10).checked_div(self.total).unwrap_or(10);
            if tenth > self.last_plain_tenth || (force && self.last_plain_tenth < 10) {
                self.last_plain_tenth = tenth.max(self.last_plain_tenth);
                eprintln!("{}", self.render(20));
            }
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        // A bar dropped half-way (an error) still ends its line so the error message starts clean.
        if !self.finished && !self.hidden && self.terminal && self.last_draw.is_some() {
            eprintln!();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn render_shows_fraction_and_message() {
        let mut p = Progress::hidden();
        p.total = 4;
        p.label = "epoch 1".into();
        p.advance(1);
        p.set_message("loss 0.5");
        let text = p.render(8);
        assert!(text.starts_with("epoch 1 [##------]  25% 1/4"), "{text}");
        assert!(text.ends_with("loss 0.5"), "{text}");
    }
}
