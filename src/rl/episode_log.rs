//! The episode log: the return of every training episode, the running mean that decides "solved",
//! and the learning curve (chapter 17.2).
//!
//! Reinforcement learning has no test set; what a learner watches is the return (the sum of the
//! rewards) of each episode as training goes on. One episode is noisy, so the usual summary is the
//! mean of the last 100 episodes, and CartPole-v1 counts as **solved** the first time that mean
//! reaches 475 (out of 500). "Episodes to solve" is the number of the episode at which that
//! happens (at least 100, since the window must be full).

use crate::report::LinePlot;

/// Returns (and lengths) of a run's episodes, in order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct EpisodeLog {
    /// The return of each episode, in order.
    pub returns: Vec<f32>,
    /// The number of environment steps of each episode.
    pub lengths: Vec<usize>,
}

impl EpisodeLog {
    /// An empty log.
    pub fn new() -> EpisodeLog {
        EpisodeLog::default()
    }

    /// Records one finished episode.
    pub fn push(&mut self, episode_return: f32, length: usize) {
        self.returns.push(episode_return);
        self.lengths.push(length);
    }

    /// The number of episodes recorded.
    pub fn len(&self) -> usize {
        self.returns.len()
    }

    /// True before the first episode.
    pub fn is_empty(&self) -> bool {
        self.returns.is_empty()
    }

    /// The total number of environment steps.
    pub fn total_steps(&self) -> usize {
        self.lengths.iter().sum()
    }

    /// The mean return of the last `window` episodes, once there are that many (`None` before).
    pub fn recent_mean(&self, window: usize) -> Option<f32> {
        let n = self.returns.len();
        (window > 0 && n >= window).then(|| {
            let sum: f64 = self.returns[n - window..]
                .iter()
                .map(|&r| f64::from(r))
                .sum();
            (sum / window as f64) as f32
        })
    }

    /// True when the mean of the last `window` returns has reached `threshold`.
    pub fn is_solved(&self, window: usize, threshold: f32) -> bool {
        self.recent_mean(window).is_some_and(|m| m >= threshold)
    }

    /// The first episode (1-based) at which the mean of the last `window` returns reached
    /// `threshold`, or `None`.
    pub fn solved_at(&self, window: usize, threshold: f32) -> Option<usize> {
        let moving = self.moving_mean(window);
        moving
            .iter()
            .position(|&(_, m)| m >= threshold)
            .map(|i| moving[i].0)
    }

    /// (episode, mean of the `window` returns ending there) for every episode from `window` on
    /// (1-based episode numbers): the smooth learning curve.
    pub fn moving_mean(&self, window: usize) -> Vec<(usize, f32)> {
        if window == 0 || self.returns.len() < window {
            return Vec::new();
        }
        let mut sum: f64 = self.returns[..window].iter().map(|&r| f64::from(r)).sum();
        let mut curve = vec![(window, (sum / window as f64) as f32)];
        for i in window..self.returns.len() {
            sum += f64::from(self.returns[i]) - f64::from(self.returns[i - window]);
            curve.push((i + 1, (sum / window as f64) as f32));
        }
        curve
    }

    /// The learning curve as points for a [`LinePlot`]: the return of each episode.
    pub fn points(&self) -> Vec<(f64, f64)> {
        self.returns
            .iter()
            .enumerate()
            .map(|(i, &r)| ((i + 1) as f64, f64::from(r)))
            .collect()
    }

    /// A plot of the returns (thin) and their moving mean over `window` episodes.
    pub fn plot(&self, title: &str, window: usize) -> LinePlot {
        let moving: Vec<(f64, f64)> = self
            .moving_mean(window)
            .iter()
            .map(|&(e, m)| (e as f64, f64::from(m)))
            .collect();
        LinePlot::new(title)
            .x_label("episode")
            .y_label("return")
            .scatter("return of the episode", &self.points())
            .line(&format!("mean of the last {window}"), &moving)
    }
}
