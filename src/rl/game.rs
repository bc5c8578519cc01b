//! The [`Game`] trait: what tree search and self-play need to know about a two-player board game
//! (chapter 17.3).
//!
//! Two players alternate; the game is deterministic, both players see everything, and at the end
//! one wins and the other loses, or it is a draw (zero-sum). Moves are numbered `0..MOVES` (for
//! tic-tac-toe, the nine squares), so a policy is a vector of `MOVES` probabilities. Values and
//! results are always seen from the **player to move**: +1 means "the player about to move wins".
//! That convention (alpha-zero-general's "canonical form") lets one network play both sides: the
//! position is encoded from the mover's point of view, and a value backed up one ply changes sign.

use std::fmt::Debug;
use std::hash::Hash;

/// A two-player, alternating, zero-sum game with perfect information (see the module docs).
pub trait Game: Clone + Eq + Hash + Debug {
    /// The number of distinct moves; moves are `0..MOVES`.
    const MOVES: usize;
    /// The number of values in [`Game::encode`]'s output (the network's input width F).
    const FEATURES: usize;

    /// The position before the first move.
    fn start() -> Self;

    /// The player to move: 0 for the first player, 1 for the second.
    fn to_move(&self) -> usize;

    /// The legal moves in this position, ascending (empty when the game is over).
    fn legal_moves(&self) -> Vec<usize>;

    /// The position after `mv`. Panics on an illegal move (a bug in the caller).
    fn play(&self, mv: usize) -> Self;

    /// The result for the player to move once the game is over — +1 won, 0 draw, −1 lost — or
    /// `None` while it goes on.
    fn result(&self) -> Option<f32>;

    /// Writes the position as `FEATURES` numbers from the point of view of the player to move.
    fn encode(&self, features: &mut [f32]);

    /// The position and a policy over its moves under every symmetry of the board (for data
    /// augmentation), the original first. The default knows no symmetry.
    fn symmetries(&self, policy: &[f32]) -> Vec<(Self, Vec<f32>)> {
        vec![(self.clone(), policy.to_vec())]
    }
}
