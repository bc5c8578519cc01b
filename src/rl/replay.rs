//! The replay buffer of DQN (chapter 17.2): the last N transitions, sampled uniformly at random.
//!
//! Consecutive steps of one episode are strongly correlated, and a network trained on them in order
//! chases its own recent experience. Storing transitions (s, a, r, s′, terminated) and training on
//! random samples of them breaks the correlation and reuses every transition many times (Lin 1992;
//! Mnih et al. 2015). The buffer is a ring: once full, each new transition overwrites the oldest.
//!
//! Storage is flat (one `Vec<f32>` of observations, one of next observations, …), allocated once.

use crate::probability::Rng;

/// A ring buffer of transitions with observations of `features` values each.
#[derive(Clone, Debug)]
pub struct ReplayBuffer {
    features: usize,
    capacity: usize,
    /// The number of transitions stored (at most `capacity`).
    len: usize,
    /// Where the next transition goes.
    next: usize,
    observations: Vec<f32>,
    next_observations: Vec<f32>,
    actions: Vec<usize>,
    rewards: Vec<f32>,
    terminated: Vec<bool>,
}

/// A sampled mini-batch of B transitions, flat: observations `[B, F]`, next observations `[B, F]`.
#[derive(Clone, Debug, Default)]
pub struct ReplayBatch {
    /// sₜ, `[B, F]` row-major.
    pub observations: Vec<f32>,
    /// aₜ, B actions.
    pub actions: Vec<usize>,
    /// rₜ, B rewards.
    pub rewards: Vec<f32>,
    /// sₜ₊₁, `[B, F]` row-major.
    pub next_observations: Vec<f32>,
    /// True where sₜ₊₁ is terminal (its value is 0).
    pub terminated: Vec<bool>,
}

impl ReplayBuffer {
    /// An empty buffer for `capacity` transitions of observations with `features` values.
    pub fn new(capacity: usize, features: usize) -> ReplayBuffer {
        assert!(
            capacity > 0 && features > 0,
            "ReplayBuffer::new: capacity ({capacity}) and features ({features}) must be positive"
        );
        ReplayBuffer {
            features,
            capacity,
            len: 0,
            next: 0,
            observations: vec![0.0; capacity * features],
            next_observations: vec![0.0; capacity * features],
            actions: vec![0; capacity],
            rewards: vec![0.0; capacity],
            terminated: vec![false; capacity],
        }
    }

    /// The number of transitions stored.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when nothing is stored.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Stores one transition, overwriting the oldest when full.
    pub fn push(
        &mut self,
        observation: &[f32],
        action: usize,
        reward: f32,
        next_observation: &[f32],
        terminated: bool,
    ) {
        let f = self.features;
        assert!(
            observation.len() == f && next_observation.len() == f,
            "ReplayBuffer::push: observations must hold {f} values, got {} and {}",
            observation.len(),
            next_observation.len()
        );
        let i = self.next;
        self.observations[i * f..(i + 1) * f].copy_from_slice(observation);
        self.next_observations[i * f..(i + 1) * f].copy_from_slice(next_observation);
        self.actions[i] = action;
        self.rewards[i] = reward;
        self.terminated[i] = terminated;
        self.next = (self.next + 1) % self.capacity;
        self.len = (self.len + 1).min(self.capacity);
    }

    /// Fills `batch` with `size` transitions drawn uniformly (with replacement) from those stored.
    /// Panics when the buffer is empty.
    pub fn sample(&self, size: usize, rng: &mut Rng, batch: &mut ReplayBatch) {
        assert!(self.len > 0, "ReplayBuffer::sample: the buffer is empty");
        let f = self.features;
        batch.observations.clear();
        batch.next_observations.clear();
        batch.actions.clear();
        batch.rewards.clear();
        batch.terminated.clear();
        for _ in 0..size {
            let i = rng.below(self.len);
            batch
                .observations
                .extend_from_slice(&self.observations[i * f..(i + 1) * f]);
            batch
                .next_observations
                .extend_from_slice(&self.next_observations[i * f..(i + 1) * f]);
            batch.actions.push(self.actions[i]);
            batch.rewards.push(self.rewards[i]);
            batch.terminated.push(self.terminated[i]);
        }
    }
}
