//! Perfect play by minimax: search the whole game tree (chapter 17.3's referee).
//!
//! The value of a position for the player to move, with both sides playing perfectly, is its
//! result when the game is over, and otherwise the best over the legal moves of *minus* the value
//! of the position after the move (what is good for the opponent is bad for the mover):
//!
//! ```text
//! V(s) = result(s)                      if the game is over
//! V(s) = max over moves m of −V(s·m)    otherwise
//! ```
//!
//! Positions repeat through different move orders, so values are remembered (a transposition
//! table); tic-tac-toe then needs 5,478 evaluations. Values are −1, 0 or +1 (tic-tac-toe is a draw
//! from the start). The table is only looked up, never iterated, so its order cannot leak into
//! results.
//!
//! [`guaranteed_result`] uses the same recursion to grade a fixed policy: its worst result against
//! *every* possible opponent.

use super::game::Game;
use std::collections::HashMap;

/// A minimax solver with a transposition table.
#[derive(Clone, Debug)]
pub struct Minimax<G: Game> {
    values: HashMap<G, i8>,
}

impl<G: Game> Default for Minimax<G> {
    fn default() -> Minimax<G> {
        Minimax::new()
    }
}

impl<G: Game> Minimax<G> {
    /// An empty table.
    pub fn new() -> Minimax<G> {
        Minimax {
            values: HashMap::new(),
        }
    }

    /// The value of `state` for the player to move under perfect play: +1 win, 0 draw, −1 loss.
    pub fn value(&mut self, state: &G) -> i8 {
        if let Some(&v) = self.values.get(state) {
            return v;
        }
        let v = match state.result() {
            Some(r) => r as i8,
            None => state
                .legal_moves()
                .into_iter()
                .map(|mv| -self.value(&state.play(mv)))
                .max()
                .expect("a game that is not over has a legal move"),
        };
        self.values.insert(state.clone(), v);
        v
    }

    /// The moves that keep the value of `state` (every optimal move), ascending.
    pub fn best_moves(&mut self, state: &G) -> Vec<usize> {
        let best = self.value(state);
        state
            .legal_moves()
            .into_iter()
            .filter(|&mv| -self.value(&state.play(mv)) == best)
            .collect()
    }

    /// The number of positions evaluated so far.
    pub fn positions(&self) -> usize {
        self.values.len()
    }
}

/// The worst result, for the player `side` (0 first, 1 second), of playing `policy` in every
/// position where it is that player's turn, against an opponent who tries every legal reply: +1 if
/// the policy wins against every opponent, 0 if it never loses, −1 if some opponent beats it.
pub fn guaranteed_result<G: Game>(
    state: &G,
    side: usize,
    policy: &mut dyn FnMut(&G) -> usize,
) -> i8 {
    if let Some(r) = state.result() {
        // `r` is for the player to move; turn it into the result for `side`.
        let r = r as i8;
        return if state.to_move() == side { r } else { -r };
    }
    if state.to_move() == side {
        let mv = policy(state);
        guaranteed_result(&state.play(mv), side, policy)
    } else {
        state
            .legal_moves()
            .into_iter()
            .map(|mv| guaranteed_result(&state.play(mv), side, policy))
            .min()
            .expect("a game that is not over has a legal move")
    }
}
