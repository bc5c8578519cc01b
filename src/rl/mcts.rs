//! Monte-Carlo tree search guided by a policy-value network: the search of AlphaGo Zero and
//! AlphaZero, in the shape of alpha-zero-general's `MCTS.py` (chapter 17.3).
//!
//! For every position s met in the search it keeps, per move a: the prior P(s, a) from the network,
//! the visit count N(s, a) and the mean value Q(s, a) of the simulations through it (for the player
//! to move in s). One **simulation** walks from the root down the tree, at each position taking the
//! move with the highest PUCT score
//!
//! ```text
//! U(s, a) = Q(s, a) + c_puct · P(s, a) · √N(s) / (1 + N(s, a))
//! ```
//!
//! ([`puct_score`]; N(s) counts the visits of s, the one that expanded it included), until it
//! reaches a position not yet in the tree. The network evaluates that position — priors over its
//! moves and a value v for the player to move — and the position joins the tree; a finished game
//! gives its result instead. The value then travels back up the path, changing sign at every ply
//! (a good position for one player is a bad one for the other), updating N and Q on the way. The
//! first term of U exploits what the search has found; the second explores moves the network likes
//! but the search has tried little, and shrinks as they are tried.
//!
//! After the simulations, the root's visit counts are the search's verdict: far sharper than the
//! network's priors, and the target the network learns from ([`super::alphazero`]). In self-play,
//! **Dirichlet noise** is mixed into the root's priors, `P ← (1 − ε)·P + ε·Dir(α)`, so that every
//! move at the root keeps being tried even when the network is sure of itself.
//!
//! Statistics are kept in a table keyed by position (as alpha-zero-general does, so transpositions
//! share them); it is only looked up, never iterated. Ties between scores go to the lowest move, so
//! a search without noise is deterministic.

use super::game::Game;
use crate::probability::Rng;
use std::collections::HashMap;

/// The PUCT score of one move: `Q + c_puct · P · √N_parent / (1 + N_move)`.
pub fn puct_score(q: f32, prior: f32, parent_visits: u32, move_visits: u32, c_puct: f32) -> f32 {
    q + c_puct * prior * (parent_visits as f32).sqrt() / (1.0 + move_visits as f32)
}

/// Something that judges a position: priors over all `G::MOVES` moves (illegal ones are ignored)
/// and the value for the player to move, in [−1, 1]. Agents implement it with their network.
pub trait Evaluator<G: Game> {
    /// (priors, value) for `state`.
    fn evaluate(&mut self, state: &G) -> (Vec<f32>, f32);
}

/// The settings of one search.
#[derive(Clone, Debug, PartialEq)]
pub struct SearchConfig {
    /// Simulations per search.
    pub simulations: usize,
    /// c_puct, the weight of exploration in the PUCT score.
    pub c_puct: f32,
    /// α of the Dirichlet noise at the root (smaller: spikier noise).
    pub dirichlet_alpha: f32,
    /// ε, the share of noise in the root's priors; 0 switches the noise off (evaluation).
    pub noise_fraction: f32,
}

/// What the search knows about one position.
#[derive(Clone, Debug)]
struct Node {
    /// The legal moves.
    moves: Vec<usize>,
    /// P(s, a) for each legal move (renormalised over them).
    priors: Vec<f32>,
    /// N(s, a).
    visits: Vec<u32>,
    /// The sum of the values backed up through each move (Q = sum / N).
    value_sums: Vec<f32>,
    /// N(s): 1 for the visit that expanded it, plus one per simulation through it.
    total_visits: u32,
}

/// A search tree over positions of `G`.
#[derive(Clone, Debug)]
pub struct Mcts<G: Game> {
    config: SearchConfig,
    nodes: HashMap<G, Node>,
}

impl<G: Game> Mcts<G> {
    /// An empty tree.
    pub fn new(config: SearchConfig) -> Mcts<G> {
        Mcts {
            config,
            nodes: HashMap::new(),
        }
    }

    /// Runs the configured number of simulations from `root` and returns the root's visit count
    /// for every move (`G::MOVES` values, 0 for illegal moves). `rng` draws the root noise (unused
    /// when `noise_fraction` is 0). Panics if the game is over at `root`.
    pub fn search(
        &mut self,
        root: &G,
        evaluator: &mut dyn Evaluator<G>,
        rng: &mut Rng,
    ) -> Vec<u32> {
        assert!(
            root.result().is_none(),
            "Mcts::search: the game is over at {root:?}"
        );
        if !self.nodes.contains_key(root) {
            self.expand(root, evaluator);
        }
        if self.config.noise_fraction > 0.0 {
            let node = self
                .nodes
                .get_mut(root)
                .expect("the root was just expanded");
            let noise = dirichlet(self.config.dirichlet_alpha, node.moves.len(), rng);
            let fraction = self.config.noise_fraction;
            for (p, n) in node.priors.iter_mut().zip(noise) {
                *p = (1.0 - fraction) * *p + fraction * n;
            }
        }
        for _ in 0..self.config.simulations {
            self.simulate(root, evaluator);
        }
        let node = &self.nodes[root];
        let mut counts = vec![0u32; G::MOVES];
        for (&mv, &n) in node.moves.iter().zip(&node.visits) {
            counts[mv] = n;
        }
        counts
    }

    /// Asks the evaluator about `state`, adds it to the tree, and returns its value.
    fn expand(&mut self, state: &G, evaluator: &mut dyn Evaluator<G>) -> f32 {
        let (all_priors, value) = evaluator.evaluate(state);
        let moves = state.legal_moves();
        let mut priors: Vec<f32> = moves.iter().map(|&mv| all_priors[mv].max(0.0)).collect();
        let sum: f32 = priors.iter().sum();
        if sum > 0.0 {
            priors.iter_mut().for_each(|p| *p /= sum);
        } else {
            // The network gave every legal move 0: fall back to uniform.
            let uniform = 1.0 / moves.len() as f32;
            priors.iter_mut().for_each(|p| *p = uniform);
        }
        let count = moves.len();
        self.nodes.insert(
            state.clone(),
            Node {
                moves,
                priors,
                visits: vec![0; count],
                value_sums: vec![0.0; count],
                total_visits: 1,
            },
        );
        value
    }

    /// One simulation from `state`; returns the value for the player to move in `state`.
    fn simulate(&mut self, state: &G, evaluator: &mut dyn Evaluator<G>) -> f32 {
        if let Some(result) = state.result() {
            return result;
        }
        let Some(node) = self.nodes.get(state) else {
            return self.expand(state, evaluator);
        };
        // Selection: the move with the highest PUCT score (ties: the first, the lowest move).
        let mut best = 0;
        let mut best_score = f32::NEG_INFINITY;
        for i in 0..node.moves.len() {
            let q = if node.visits[i] > 0 {
                node.value_sums[i] / node.visits[i] as f32
            } else {
                0.0
            };
            let score = puct_score(
                q,
                node.priors[i],
                node.total_visits,
                node.visits[i],
                self.config.c_puct,
            );
            if score > best_score {
                best = i;
                best_score = score;
            }
        }
        let next = state.play(node.moves[best]);
        // The child's value is for the opponent; for the player to move here it is the negative.
        let value = -self.simulate(&next, evaluator);
        let node = self.nodes.get_mut(state).expect("the node exists");
        node.visits[best] += 1;
        node.value_sums[best] += value;
        node.total_visits += 1;
        value
    }
}

/// A draw from the symmetric Dirichlet distribution Dir(α, …, α) over `count` outcomes: `count`
/// Gamma(α, 1) draws, normalised to sum to 1.
pub fn dirichlet(alpha: f32, count: usize, rng: &mut Rng) -> Vec<f32> {
    let draws: Vec<f64> = (0..count).map(|_| gamma(f64::from(alpha), rng)).collect();
    let sum: f64 = draws.iter().sum();
    if sum <= 0.0 {
        return vec![1.0 / count as f32; count];
    }
    draws.iter().map(|&g| (g / sum) as f32).collect()
}

/// A draw from Gamma(shape, 1) by Marsaglia and Tsang's method (2000): for shape ≥ 1, with
/// d = shape − 1/3 and c = 1/√(9d), draw x ~ N(0, 1), set v = (1 + c·x)³ and accept d·v when
/// ln u < x²/2 + d − d·v + d·ln v (u uniform); for shape < 1, Gamma(shape) = Gamma(shape + 1)·u^(1/shape).
pub fn gamma(shape: f64, rng: &mut Rng) -> f64 {
    assert!(
        shape > 0.0,
        "gamma: the shape must be positive, got {shape}"
    );
    if shape < 1.0 {
        let u = 1.0 - rng.next_f64(); // in (0, 1]
        return gamma(shape + 1.0, rng) * u.powf(1.0 / shape);
    }
    let d = shape - 1.0 / 3.0;
    let c = 1.0 / (9.0 * d).sqrt();
    loop {
        let x = f64::from(rng.normal(0.0, 1.0));
        let v = (1.0 + c * x).powi(3);
        if v <= 0.0 {
            continue;
        }
        let u = 1.0 - rng.next_f64();
        if u.ln() < 0.5 * x * x + d - d * v + d * v.ln() {
            return d * v;
        }
    }
}
