//! Chapter 17 (reinforcement learning): environments, agents that learn to act in them, and the
//! tree search of AlphaZero.
//!
//! An **environment** holds the world and its rules and nothing else — no network, no learning: an
//! agent resets it, observes, acts, and receives a reward ([`Environment`]). A two-player board game
//! sits behind the small [`Game`] trait instead (whose turn, which moves are legal, who won), so the
//! search and the learner never depend on the rules of one game. **Agents** own their networks,
//! built from the crate's layers ([`crate::nn::mlp`]), losses and optimizers.
//!
//! Each learner is one readable unit in the style of CleanRL: every hyper-parameter in one record
//! at the top of its file, each with a one-line doc (the record prints itself at the start of a
//! run), then the loop, top to bottom, with its episode log.
//!
//! | file | what it is |
//! |---|---|
//! | `cartpole.rs` | [`CartPole`], the classic balancing task with its constants and equations |
//! | `episode_log.rs` | [`EpisodeLog`]: returns per episode, the moving mean, "solved", the curve |
//! | `returns.rs` | discounted returns, the quantity every policy-gradient method estimates |
//! | `reinforce.rs` | REINFORCE with a learned baseline (Williams 1992) |
//! | `replay.rs` | the replay buffer of DQN |
//! | `dqn.rs` | deep Q-learning (Mnih et al. 2015): replay, a target network, ε-greedy |
//! | `game.rs` | the [`Game`] trait: two players, alternating moves, a result at the end |
//! | `tictactoe.rs` | [`TicTacToe`], exhaustive enumeration and random play |
//! | `minimax.rs` | [`Minimax`], perfect play by searching the whole game tree |
//! | `mcts.rs` | Monte-Carlo tree search with the PUCT rule, Dirichlet noise at the root |
//! | `alphazero.rs` | self-play reinforcement learning with a policy-value network |
//!
//! What it leaves out: continuous actions, vectorised environments, PPO and other actor-critic
//! variants, prioritised replay, parallel self-play.

pub mod alphazero;
pub mod cartpole;
pub mod dqn;
pub mod episode_log;
pub mod game;
pub mod mcts;
pub mod minimax;
pub mod reinforce;
pub mod replay;
pub mod returns;
pub mod tictactoe;

pub use cartpole::CartPole;
pub use episode_log::EpisodeLog;
pub use game::Game;
pub use minimax::Minimax;
pub use tictactoe::TicTacToe;

use crate::nn::{Layer, Mode, Sequential};
use crate::probability::Rng;
use crate::tensor::{Tensor, argmax};

/// What one step of an environment reports besides the new state.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StepOutcome {
    /// The reward for the step just taken.
    pub reward: f32,
    /// The episode ended in a terminal state (the pole fell): there is no future reward, so a
    /// value estimate of what follows is 0.
    pub terminated: bool,
    /// The episode was cut by a time limit: the state is not terminal, only the episode is over (a
    /// learner that bootstraps still values what would have followed).
    pub truncated: bool,
}

impl StepOutcome {
    /// True when the episode is over, for either reason.
    pub fn done(&self) -> bool {
        self.terminated || self.truncated
    }
}

/// A world an agent acts in, one episode at a time: `reset`, then `observe` and `step` until a step
/// reports the episode over. It holds no network and does no learning.
pub trait Environment {
    /// The number of values in an observation (F).
    fn observation_size(&self) -> usize;

    /// The number of discrete actions; actions are `0..actions()`.
    fn actions(&self) -> usize;

    /// Starts a new episode from a random start state.
    fn reset(&mut self, rng: &mut Rng);

    /// Writes the current observation into `observation` (`observation_size()` values).
    fn observe(&self, observation: &mut [f32]);

    /// Takes `action` and moves the world one step on. Panics if the episode is already over.
    fn step(&mut self, action: usize) -> StepOutcome;
}

/// What a learner hands back: its episode log, when it was solved, how long it took, and the
/// trained network (observations `[N, F]` → one score per action `[N, actions]`; the greedy
/// action is the argmax).
pub struct TrainingRun {
    /// The return and length of every training episode.
    pub log: EpisodeLog,
    /// The episode (1-based) at which the solved criterion was first met, or `None`.
    pub solved_at: Option<usize>,
    /// Wall time of the whole run, seconds.
    pub seconds: f64,
    /// The trained network: a policy's scores (REINFORCE) or action values (DQN).
    pub policy: Sequential,
}

/// The action with the highest score for one observation (ties: the lowest action).
pub fn greedy_action(network: &mut dyn Layer, observation: &[f32]) -> usize {
    let scores = network.forward(
        &Tensor::from_vec(&[1, observation.len()], observation.to_vec()),
        Mode::Inference,
    );
    argmax(scores.data())
}

/// Plays `episodes` episodes choosing `choose(observation)` at every step, each started from
/// `rng`; returns the return of each.
pub fn play_episodes(
    env: &mut dyn Environment,
    episodes: usize,
    rng: &mut Rng,
    choose: &mut dyn FnMut(&[f32], &mut Rng) -> usize,
) -> Vec<f32> {
    let mut observation = vec![0.0f32; env.observation_size()];
    let mut returns = Vec::with_capacity(episodes);
    for _ in 0..episodes {
        env.reset(rng);
        let mut total = 0.0f32;
        loop {
            env.observe(&mut observation);
            let action = choose(&observation, rng);
            let outcome = env.step(action);
            total += outcome.reward;
            if outcome.done() {
                break;
            }
        }
        returns.push(total);
    }
    returns
}

/// Copies every parameter value of `from` into `to` (two networks of the same architecture), e.g.
/// the Q-network into DQN's target network. Panics, naming the parameter, if they differ.
pub fn copy_parameters(from: &mut dyn Layer, to: &mut dyn Layer) {
    let mut values = Vec::new();
    from.visit_params(&mut |name, p| values.push((name.to_string(), p.value.clone())));
    let mut index = 0;
    to.visit_params(&mut |name, p| {
        let (source_name, value) = values
            .get(index)
            .unwrap_or_else(|| panic!("copy_parameters: the target has more parameters ({name})"));
        assert!(
            source_name == name && value.shape() == p.value.shape(),
            "copy_parameters: parameter {index} is {source_name} {:?} in the source but {name} {:?} \
             in the target",
            value.shape(),
            p.value.shape()
        );
        p.value.data_mut().copy_from_slice(value.data());
        index += 1;
    });
    assert_eq!(
        index,
        values.len(),
        "copy_parameters: the source has {} parameters, the target {index}",
        values.len()
    );
}
