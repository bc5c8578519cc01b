//! AlphaZero (Silver et al. 2017, 2018) at the scale of tic-tac-toe: a network that learns to play
//! from games against itself, improved by tree search (chapter 17.3).
//!
//! One network f(s) = (p, v) gives **priors** p over the moves and a **value** v ∈ [−1, 1] for the
//! player to move. It is a plain MLP with `MOVES + 1` outputs: the first `MOVES` are the scores
//! (logits) of the policy head, the last one passes through tanh to become the value — two linear
//! heads on a shared trunk, stored as one output layer. The loop:
//!
//! 1. **Self-play.** Both sides are played by MCTS guided by f ([`super::mcts`]), with Dirichlet
//!    noise at the root. For every position s it records the search's visit distribution π(s)
//!    (visits / total), and the move is drawn from π during the first `temperature_moves` moves of
//!    the game (variety), the most visited move afterwards.
//! 2. **Targets.** When the game ends, every recorded position gets z = the final result for the
//!    player who was to move there (+1, 0, −1). Each (s, π, z) is stored under the board's 8
//!    symmetries.
//! 3. **Training.** On the examples of the last `window` iterations, minimise
//!    `L = −Σₐ πₐ·log softmax(z)ₐ + (v − z)²` (plus weight decay through Adam's L2 term):
//!    the priors learn to predict the search, the value learns to predict the outcome.
//!    The gradient at the outputs is `(softmax(logits) − π)/N` for the scores and
//!    `2·(v − z)·(1 − v²)/N` for the value's pre-activation ([`policy_value_loss`]).
//!
//! The search makes the network's policy sharper (π is better than p), and training makes the
//! network better at guiding the next search: policy iteration with MCTS as the improvement
//! operator. In play ([`best_move`]) the agent runs a fresh search without noise from the position
//! and takes the most visited move — deterministic, so a position always gets the same move.
//!
//! Every setting is in [`AlphaZeroConfig`] at the top; [`train`] is the loop. AlphaZero's other
//! ingredients are left out: no residual tower, no parallel actors, no resignation; unlike AlphaGo
//! Zero there is no evaluation match gating the new network (AlphaZero always uses the latest).

use super::game::Game;
use super::mcts::{Evaluator, Mcts, SearchConfig};
use crate::loss::softmax_row;
use crate::nn::{Layer, Mode, Sequential, mlp};
use crate::optim::{Adam, Optimizer};
use crate::probability::Rng;
use crate::tensor::{Tensor, argmax};
use crate::{Error, Result};
use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::time::Instant;

/// Every hyper-parameter of the AlphaZero learner, each with its meaning (printed at the start).
#[derive(Clone, Debug, PartialEq)]
pub struct AlphaZeroConfig {
    /// Seed of the initial weights, the noise, the sampled moves and the batches.
    pub seed: u64,
    /// Rounds of (self-play, training).
    pub iterations: usize,
    /// Self-play games per round.
    pub games_per_iteration: usize,
    /// MCTS simulations per move in self-play.
    pub simulations: usize,
    /// MCTS simulations per move when the trained agent plays (evaluation, export).
    pub evaluation_simulations: usize,
    /// c_puct, the weight of exploration in the PUCT score.
    pub c_puct: f32,
    /// α of the Dirichlet noise at the root.
    pub dirichlet_alpha: f32,
    /// ε, the share of noise in the root's priors during self-play.
    pub noise_fraction: f32,
    /// Moves of each self-play game drawn in proportion to the visits (then the most visited).
    pub temperature_moves: usize,
    /// Widths of the hidden layers of the policy-value network.
    pub hidden: Vec<usize>,
    /// Adam learning rate.
    pub learning_rate: f32,
    /// L2 weight decay (Adam's λ).
    pub weight_decay: f32,
    /// Examples per training batch.
    pub batch_size: usize,
    /// Passes over the window of examples per round.
    pub epochs: usize,
    /// Rounds whose self-play examples are kept for training.
    pub window: usize,
}

impl Default for AlphaZeroConfig {
    fn default() -> AlphaZeroConfig {
        AlphaZeroConfig {
            seed: 0,
            iterations: 30,
            games_per_iteration: 50,
            simulations: 50,
            evaluation_simulations: 50,
            c_puct: 1.5,
            dirichlet_alpha: 1.0,
            noise_fraction: 0.25,
            temperature_moves: 9,
            hidden: vec![64, 64],
            learning_rate: 1e-3,
            weight_decay: 1e-4,
            batch_size: 64,
            epochs: 2,
            window: 10,
        }
    }
}

impl fmt::Display for AlphaZeroConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "AlphaZero:")?;
        let rows = [
            (
                "seed",
                self.seed.to_string(),
                "weights, noise, sampled moves, batches",
            ),
            (
                "iterations",
                self.iterations.to_string(),
                "rounds of self-play + training",
            ),
            (
                "games_per_iteration",
                self.games_per_iteration.to_string(),
                "self-play games per round",
            ),
            (
                "simulations",
                self.simulations.to_string(),
                "MCTS simulations per move, self-play",
            ),
            (
                "evaluation_simulations",
                self.evaluation_simulations.to_string(),
                "… when it plays for real",
            ),
            (
                "c_puct",
                self.c_puct.to_string(),
                "exploration weight in PUCT",
            ),
            (
                "dirichlet_alpha",
                self.dirichlet_alpha.to_string(),
                "α of the root noise",
            ),
            (
                "noise_fraction",
                self.noise_fraction.to_string(),
                "ε, share of noise at the root",
            ),
            (
                "temperature_moves",
                self.temperature_moves.to_string(),
                "moves sampled ∝ visits",
            ),
            ("hidden", format!("{:?}", self.hidden), "hidden widths"),
            ("learning_rate", self.learning_rate.to_string(), "Adam"),
            ("weight_decay", self.weight_decay.to_string(), "L2"),
            (
                "batch_size",
                self.batch_size.to_string(),
                "examples per batch",
            ),
            (
                "epochs",
                self.epochs.to_string(),
                "passes over the window per round",
            ),
            ("window", self.window.to_string(), "rounds of examples kept"),
        ];
        for (name, value, doc) in rows {
            writeln!(f, "  {name:<22} = {value:<10} # {doc}")?;
        }
        Ok(())
    }
}

impl AlphaZeroConfig {
    /// The search used in self-play (with root noise).
    pub fn self_play_search(&self) -> SearchConfig {
        SearchConfig {
            simulations: self.simulations,
            c_puct: self.c_puct,
            dirichlet_alpha: self.dirichlet_alpha,
            noise_fraction: self.noise_fraction,
        }
    }

    /// The search used when the agent plays for real (no noise).
    pub fn evaluation_search(&self) -> SearchConfig {
        SearchConfig {
            simulations: self.evaluation_simulations,
            c_puct: self.c_puct,
            dirichlet_alpha: self.dirichlet_alpha,
            noise_fraction: 0.0,
        }
    }
}

/// The policy-value network: an MLP from `FEATURES` inputs to `MOVES` policy scores and one value.
pub struct PolicyValueNet {
    /// `[N, FEATURES]` → `[N, MOVES + 1]` (scores, then the value before its tanh).
    pub network: Sequential,
    features: usize,
    moves: usize,
    widths: Vec<usize>,
}

impl PolicyValueNet {
    /// A fresh network for a game with `features` inputs and `moves` moves.
    pub fn new(features: usize, moves: usize, hidden: &[usize], rng: &mut Rng) -> PolicyValueNet {
        let mut widths = vec![features];
        widths.extend(hidden);
        widths.push(moves + 1);
        PolicyValueNet {
            network: mlp(&widths, rng),
            features,
            moves,
            widths,
        }
    }

    /// The widths of the network's layers, e.g. `[18, 64, 64, 10]`.
    pub fn widths(&self) -> &[usize] {
        &self.widths
    }

    /// The priors (softmax of the scores over the legal moves; 0 for illegal ones) and the value
    /// tanh(output) for the player to move.
    pub fn predict<G: Game>(&mut self, state: &G) -> (Vec<f32>, f32) {
        let mut input = vec![0.0f32; self.features];
        state.encode(&mut input);
        let output = self.network.forward(
            &Tensor::from_vec(&[1, self.features], input),
            Mode::Inference,
        );
        let scores = output.data();
        let legal = state.legal_moves();
        let mut legal_scores: Vec<f32> = legal.iter().map(|&mv| scores[mv]).collect();
        softmax_row(&mut legal_scores);
        let mut priors = vec![0.0f32; self.moves];
        for (&mv, &p) in legal.iter().zip(&legal_scores) {
            priors[mv] = p;
        }
        (priors, scores[self.moves].tanh())
    }
}

impl<G: Game> Evaluator<G> for PolicyValueNet {
    fn evaluate(&mut self, state: &G) -> (Vec<f32>, f32) {
        self.predict(state)
    }
}

/// The network's answers remembered by position while the network does not change — during one
/// round of self-play, or while a trained agent is evaluated. A search meets the same positions
/// again and again (tic-tac-toe has only 4,520 that are not over), and a forward pass costs far
/// more than a lookup. The network is deterministic, so the answers are exactly those it would
/// give again; the table is only looked up, never iterated.
pub struct CachedEvaluator<'a, G: Game> {
    net: &'a mut PolicyValueNet,
    answers: HashMap<G, (Vec<f32>, f32)>,
}

impl<'a, G: Game> CachedEvaluator<'a, G> {
    /// An empty cache in front of `net`.
    pub fn new(net: &'a mut PolicyValueNet) -> CachedEvaluator<'a, G> {
        CachedEvaluator {
            net,
            answers: HashMap::new(),
        }
    }

    /// The number of positions the network was asked about.
    pub fn positions(&self) -> usize {
        self.answers.len()
    }
}

impl<G: Game> Evaluator<G> for CachedEvaluator<'_, G> {
    fn evaluate(&mut self, state: &G) -> (Vec<f32>, f32) {
        if let Some(answer) = self.answers.get(state) {
            return answer.clone();
        }
        let answer = self.net.predict(state);
        self.answers.insert(state.clone(), answer.clone());
        answer
    }
}

/// The loss of a batch and its gradient at the network's outputs.
#[derive(Clone, Debug)]
pub struct PolicyValueLoss {
    /// Cross-entropy of the priors against the search's π, mean over the batch.
    pub policy: f32,
    /// Squared error of the value against the outcome z, mean over the batch.
    pub value: f32,
    /// ∂(policy + value)/∂output, `[N, MOVES + 1]`.
    pub grad: Tensor,
}

/// AlphaZero's loss for outputs `[N, M + 1]` (M scores, then the value before tanh), target
/// policies `[N, M]` (rows summing to 1) and outcomes z `[N]`:
/// `L = (1/N)·Σᵢ [ −Σₐ πᵢₐ·log softmax(scoresᵢ)ₐ + (tanh(rᵢ) − zᵢ)² ]`, and its gradient
/// `(softmax(scoresᵢ) − πᵢ)/N` for the scores, `2·(tanh rᵢ − zᵢ)·(1 − tanh² rᵢ)/N` for rᵢ.
pub fn policy_value_loss(output: &Tensor, policies: &Tensor, outcomes: &[f32]) -> PolicyValueLoss {
    let n = outcomes.len();
    let m = policies.len() / n.max(1);
    assert!(
        output.shape() == [n, m + 1] && policies.shape() == [n, m],
        "policy_value_loss: output {:?}, policies {:?} and {n} outcomes do not fit \
         ([N, M + 1], [N, M], N)",
        output.shape(),
        policies.shape()
    );
    let mut grad = Tensor::zeros(&[n, m + 1]);
    let (mut policy_loss, mut value_loss) = (0.0f64, 0.0f64);
    let mut probabilities = vec![0.0f32; m];
    for (i, &outcome) in outcomes.iter().enumerate() {
        let row = output.row(i);
        let target = policies.row(i);
        probabilities.copy_from_slice(&row[..m]);
        softmax_row(&mut probabilities);
        let g = grad.row_mut(i);
        for a in 0..m {
            if target[a] > 0.0 {
                policy_loss -= f64::from(target[a]) * f64::from(probabilities[a].max(1e-30).ln());
            }
            g[a] = (probabilities[a] - target[a]) / n as f32;
        }
        let v = row[m].tanh();
        let error = v - outcome;
        value_loss += f64::from(error * error);
        g[m] = 2.0 * error * (1.0 - v * v) / n as f32;
    }
    PolicyValueLoss {
        policy: (policy_loss / n as f64) as f32,
        value: (value_loss / n as f64) as f32,
        grad,
    }
}

/// One training example: a position, the search's visit distribution there, and the final result
/// for the player who was to move.
#[derive(Clone, Debug)]
pub struct Example<G> {
    /// The position.
    pub state: G,
    /// π: visits / total, over all moves.
    pub policy: Vec<f32>,
    /// z ∈ {−1, 0, +1}.
    pub outcome: f32,
}

/// A finished self-play game: its positions in order (the last one final), the examples, and the
/// result for the first player.
#[derive(Clone, Debug)]
pub struct SelfPlayGame<G> {
    /// Every position from the start to the end.
    pub positions: Vec<G>,
    /// One example per move (before symmetries).
    pub examples: Vec<Example<G>>,
    /// +1 the first player won, −1 the second, 0 a draw.
    pub first_player_result: f32,
}

/// Plays one game of the network behind `evaluator` against itself with noisy MCTS (see the module
/// docs).
pub fn self_play_game<G: Game>(
    evaluator: &mut dyn Evaluator<G>,
    config: &AlphaZeroConfig,
    rng: &mut Rng,
) -> SelfPlayGame<G> {
    let mut state = G::start();
    let mut positions = vec![state.clone()];
    let mut pending: Vec<(G, Vec<f32>, usize)> = Vec::new();
    let mut ply = 0;
    while state.result().is_none() {
        // A fresh tree for every move, as in AlphaZero's pseudocode (and a fresh draw of noise).
        let mut search = Mcts::new(config.self_play_search());
        let visits = search.search(&state, evaluator, rng);
        let total: u32 = visits.iter().sum();
        let policy: Vec<f32> = visits.iter().map(|&n| n as f32 / total as f32).collect();
        let mv = if ply < config.temperature_moves {
            let weights: Vec<f64> = visits.iter().map(|&n| f64::from(n)).collect();
            rng.categorical(&weights)
        } else {
            most_visited(&visits)
        };
        pending.push((state.clone(), policy, state.to_move()));
        state = state.play(mv);
        positions.push(state.clone());
        ply += 1;
    }
    let final_result = state.result().expect("the game is over");
    // `final_result` is for the player to move at the end; +1 for them means −1 for the other.
    let result_for = |player: usize| {
        if player == state.to_move() {
            final_result
        } else {
            -final_result
        }
    };
    let examples = pending
        .into_iter()
        .map(|(state, policy, player)| Example {
            state,
            policy,
            outcome: result_for(player),
        })
        .collect();
    SelfPlayGame {
        positions,
        examples,
        first_player_result: result_for(0),
    }
}

/// The move with the most visits (ties: the lowest move).
pub fn most_visited(visits: &[u32]) -> usize {
    let as_f32: Vec<f32> = visits.iter().map(|&n| n as f32).collect();
    argmax(&as_f32)
}

/// The move the trained agent plays in `state`: a fresh search without noise, the most visited move.
/// `evaluator` is the trained network (or a [`CachedEvaluator`] in front of it).
pub fn best_move<G: Game>(
    evaluator: &mut dyn Evaluator<G>,
    state: &G,
    config: &AlphaZeroConfig,
) -> usize {
    let mut search = Mcts::new(config.evaluation_search());
    // Without noise the search draws nothing from its generator.
    let visits = search.search(state, evaluator, &mut Rng::new(0));
    most_visited(&visits)
}

/// What happened in one round of training.
#[derive(Clone, Debug, PartialEq)]
pub struct RoundRecord {
    /// The round, from 1.
    pub iteration: usize,
    /// Self-play results of the round: first player wins, second player wins, draws.
    pub results: [usize; 3],
    /// Examples in the training window (symmetries included).
    pub examples: usize,
    /// Mean policy loss over the round's batches.
    pub policy_loss: f32,
    /// Mean value loss over the round's batches.
    pub value_loss: f32,
    /// Seconds since training started.
    pub seconds: f64,
}

/// A finished training run.
pub struct AlphaZeroRun<G> {
    /// The trained network.
    pub net: PolicyValueNet,
    /// One record per round.
    pub rounds: Vec<RoundRecord>,
    /// The last self-play game (to show what the agent learned to do against itself).
    pub last_game: Option<SelfPlayGame<G>>,
    /// Wall time, seconds.
    pub seconds: f64,
}

/// Trains a policy-value network for `G` by self-play (see the module docs); `on_round` sees each
/// round's record. Fails with [`Error::Training`] if the loss stops being finite.
pub fn train<G: Game>(
    config: &AlphaZeroConfig,
    on_round: &mut dyn FnMut(&RoundRecord),
) -> Result<AlphaZeroRun<G>> {
    let started = Instant::now();
    let mut rng = Rng::new(config.seed);
    let mut net = PolicyValueNet::new(G::FEATURES, G::MOVES, &config.hidden, &mut rng);
    let mut optimizer = Adam::new(config.learning_rate).weight_decay(config.weight_decay);
    let mut window: VecDeque<Vec<Example<G>>> = VecDeque::new();
    let mut rounds = Vec::new();
    let mut last_game = None;
    let (features, moves) = (G::FEATURES, G::MOVES);
    for iteration in 1..=config.iterations {
        // 1. Self-play (the network is fixed during it, so its answers are remembered).
        let mut round_examples = Vec::new();
        let mut results = [0usize; 3];
        let mut evaluator = CachedEvaluator::new(&mut net);
        for _ in 0..config.games_per_iteration {
            let game = self_play_game::<G>(&mut evaluator, config, &mut rng);
            results[match game.first_player_result {
                r if r > 0.0 => 0,
                r if r < 0.0 => 1,
                _ => 2,
            }] += 1;
            for example in &game.examples {
                for (state, policy) in example.state.symmetries(&example.policy) {
                    round_examples.push(Example {
                        state,
                        policy,
                        outcome: example.outcome,
                    });
                }
            }
            last_game = Some(game);
        }
        window.push_back(round_examples);
        while window.len() > config.window {
            window.pop_front();
        }

        // 2. Training on the window.
        let examples: Vec<&Example<G>> = window.iter().flatten().collect();
        let (mut policy_sum, mut value_sum, mut batches) = (0.0f64, 0.0f64, 0usize);
        for _ in 0..config.epochs {
            let order = rng.permutation(examples.len());
            for chunk in order.chunks(config.batch_size) {
                let n = chunk.len();
                let mut inputs = vec![0.0f32; n * features];
                let mut policies = Vec::with_capacity(n * moves);
                let mut outcomes = Vec::with_capacity(n);
                for (row, &i) in chunk.iter().enumerate() {
                    examples[i]
                        .state
                        .encode(&mut inputs[row * features..(row + 1) * features]);
                    policies.extend_from_slice(&examples[i].policy);
                    outcomes.push(examples[i].outcome);
                }
                let inputs = Tensor::from_vec(&[n, features], inputs);
                let policies = Tensor::from_vec(&[n, moves], policies);
                optimizer.zero_grad(&mut net.network);
                let output = net.network.forward(&inputs, Mode::Train);
                let loss = policy_value_loss(&output, &policies, &outcomes);
                if !(loss.policy.is_finite() && loss.value.is_finite()) {
                    return Err(Error::Training {
                        step: optimizer.steps_taken() + 1,
                        message: format!(
                            "the loss became {} + {} in round {iteration}; try a smaller \
                             learning rate (now {})",
                            loss.policy, loss.value, config.learning_rate
                        ),
                    });
                }
                net.network.backward(&loss.grad);
                optimizer.step(&mut net.network);
                policy_sum += f64::from(loss.policy);
                value_sum += f64::from(loss.value);
                batches += 1;
            }
        }
        let record = RoundRecord {
            iteration,
            results,
            examples: examples.len(),
            policy_loss: (policy_sum / batches.max(1) as f64) as f32,
            value_loss: (value_sum / batches.max(1) as f64) as f32,
            seconds: started.elapsed().as_secs_f64(),
        };
        on_round(&record);
        rounds.push(record);
    }
    Ok(AlphaZeroRun {
        net,
        rounds,
        last_game,
        seconds: started.elapsed().as_secs_f64(),
    })
}
