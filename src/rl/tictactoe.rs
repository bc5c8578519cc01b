//! Tic-tac-toe as a [`Game`], with the exhaustive counts a learner can check by hand (chapter 17.3).
//!
//! The board is nine squares, numbered row by row from the top left:
//!
//! ```text
//!  0 | 1 | 2
//!  3 | 4 | 5
//!  6 | 7 | 8
//! ```
//!
//! X moves first. A position is written as nine characters in that order, `X`, `O` or `.` (empty),
//! e.g. `X...O....`. The network sees it from the mover's side: 18 values, the mover's pieces (9)
//! then the opponent's (9). The board has 8 symmetries (4 rotations × reflection), used to multiply
//! the training data by 8.
//!
//! Small enough to enumerate completely: 5,478 positions are reachable in legal play (4,520 of them
//! with the game still going), and the 255,168 possible games fix the odds of random play exactly
//! ([`random_play_odds`]).

use super::game::Game;
use crate::error::{Error, Result};
use std::fmt;

/// What a square holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Square {
    /// Nobody has played here.
    Empty,
    /// The first player's mark.
    X,
    /// The second player's mark.
    O,
}

/// The eight lines of three: rows, columns, diagonals.
pub const LINES: [[usize; 3]; 8] = [
    [0, 1, 2],
    [3, 4, 5],
    [6, 7, 8],
    [0, 3, 6],
    [1, 4, 7],
    [2, 5, 8],
    [0, 4, 8],
    [2, 4, 6],
];

/// The 8 symmetries of the square as permutations: square `i` of the transformed board holds
/// square `SYMMETRIES[s][i]` of the original (identity, 3 rotations, 4 reflections).
pub const SYMMETRIES: [[usize; 9]; 8] = [
    [0, 1, 2, 3, 4, 5, 6, 7, 8], // identity
    [6, 3, 0, 7, 4, 1, 8, 5, 2], // rotation by 90° clockwise
    [8, 7, 6, 5, 4, 3, 2, 1, 0], // rotation by 180°
    [2, 5, 8, 1, 4, 7, 0, 3, 6], // rotation by 270°
    [2, 1, 0, 5, 4, 3, 8, 7, 6], // mirror left–right
    [6, 7, 8, 3, 4, 5, 0, 1, 2], // mirror top–bottom
    [0, 3, 6, 1, 4, 7, 2, 5, 8], // transpose (main diagonal)
    [8, 5, 2, 7, 4, 1, 6, 3, 0], // anti-diagonal
];

/// A tic-tac-toe position.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TicTacToe {
    /// The nine squares, row by row from the top left.
    pub squares: [Square; 9],
}

impl TicTacToe {
    /// Parses nine characters `X`, `O`, `.` (row by row). Checks that the counts can arise in
    /// legal play (X has as many marks as O, or one more); does not check for two winners.
    pub fn parse(text: &str) -> Result<TicTacToe> {
        let chars: Vec<char> = text.chars().collect();
        if chars.len() != 9 {
            return Err(Error::data(format!(
                "a tic-tac-toe board is 9 characters (X, O or . row by row), got {} in {text:?}",
                chars.len()
            )));
        }
        let mut squares = [Square::Empty; 9];
        for (square, &c) in squares.iter_mut().zip(&chars) {
            *square = match c {
                'X' => Square::X,
                'O' => Square::O,
                '.' => Square::Empty,
                other => {
                    return Err(Error::data(format!(
                        "a tic-tac-toe board holds only X, O and '.', found {other:?} in {text:?}"
                    )));
                }
            };
        }
        let board = TicTacToe { squares };
        let (x, o) = (board.count(Square::X), board.count(Square::O));
        if x != o && x != o + 1 {
            return Err(Error::data(format!(
                "{text:?} has {x} X and {o} O; X moves first, so X has as many marks as O or one more"
            )));
        }
        Ok(board)
    }

    /// How many squares hold `mark`.
    pub fn count(&self, mark: Square) -> usize {
        self.squares.iter().filter(|&&s| s == mark).count()
    }

    /// The mark of the player to move.
    pub fn mark_to_move(&self) -> Square {
        if self.count(Square::X) == self.count(Square::O) {
            Square::X
        } else {
            Square::O
        }
    }

    /// The player who has three in a line, if any.
    pub fn winner(&self) -> Option<Square> {
        LINES.iter().find_map(|&[a, b, c]| {
            let s = self.squares[a];
            (s != Square::Empty && s == self.squares[b] && s == self.squares[c]).then_some(s)
        })
    }

    /// True when someone has won or the board is full.
    pub fn is_over(&self) -> bool {
        self.winner().is_some() || self.count(Square::Empty) == 0
    }

    /// The board drawn as three lines, e.g. for printing a game.
    pub fn pretty(&self) -> String {
        let text = self.to_string();
        let rows: Vec<String> = (0..3)
            .map(|r| {
                text[r * 3..r * 3 + 3]
                    .chars()
                    .map(String::from)
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect();
        rows.join("\n")
    }
}

impl fmt::Display for TicTacToe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for s in self.squares {
            let c = match s {
                Square::X => 'X',
                Square::O => 'O',
                Square::Empty => '.',
            };
            write!(f, "{c}")?;
        }
        Ok(())
    }
}

impl Game for TicTacToe {
    const MOVES: usize = 9;
    const FEATURES: usize = 18;

    fn start() -> TicTacToe {
        TicTacToe {
            squares: [Square::Empty; 9],
        }
    }

    fn to_move(&self) -> usize {
        if self.mark_to_move() == Square::X {
            0
        } else {
            1
        }
    }

    fn legal_moves(&self) -> Vec<usize> {
        if self.is_over() {
            return Vec::new();
        }
        (0..9)
            .filter(|&i| self.squares[i] == Square::Empty)
            .collect()
    }

    fn play(&self, mv: usize) -> TicTacToe {
        assert!(
            mv < 9 && self.squares[mv] == Square::Empty && !self.is_over(),
            "TicTacToe::play: move {mv} is not legal in {self}"
        );
        let mut next = *self;
        next.squares[mv] = self.mark_to_move();
        next
    }

    fn result(&self) -> Option<f32> {
        if self.winner().is_some() {
            // The last move made the line, so the player to move now has lost.
            Some(-1.0)
        } else if self.count(Square::Empty) == 0 {
            Some(0.0)
        } else {
            None
        }
    }

    fn encode(&self, features: &mut [f32]) {
        assert_eq!(
            features.len(),
            18,
            "TicTacToe::encode: needs room for 18 features, got {}",
            features.len()
        );
        let mine = self.mark_to_move();
        features.fill(0.0);
        for (i, &s) in self.squares.iter().enumerate() {
            if s == mine {
                features[i] = 1.0;
            } else if s != Square::Empty {
                features[9 + i] = 1.0;
            }
        }
    }

    fn symmetries(&self, policy: &[f32]) -> Vec<(TicTacToe, Vec<f32>)> {
        SYMMETRIES
            .iter()
            .map(|map| {
                let mut board = TicTacToe::start();
                let mut moved = vec![0.0; 9];
                for i in 0..9 {
                    board.squares[i] = self.squares[map[i]];
                    moved[i] = policy[map[i]];
                }
                (board, moved)
            })
            .collect()
    }
}

/// Every position reachable from the empty board in legal play (the game stops at a win or a full
/// board), each once, ordered by the number of marks and then by the board text.
pub fn reachable_positions() -> Vec<TicTacToe> {
    let mut seen = std::collections::HashSet::new();
    let mut stack = vec![TicTacToe::start()];
    let mut found = Vec::new();
    while let Some(board) = stack.pop() {
        if !seen.insert(board) {
            continue;
        }
        found.push(board);
        for mv in board.legal_moves() {
            stack.push(board.play(mv));
        }
    }
    // The set was only used to skip repeats; the order comes from this sort alone.
    found.sort_by_key(|b| (9 - b.count(Square::Empty), b.to_string()));
    found
}

/// The exact odds of a game where both players pick uniformly among the empty squares, as counts
/// out of `denominator` = 9! = 362,880.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RandomPlayOdds {
    /// 9!·P(X wins).
    pub x_wins: u64,
    /// 9!·P(O wins).
    pub o_wins: u64,
    /// 9!·P(draw).
    pub draws: u64,
    /// 9!.
    pub denominator: u64,
    /// The number of distinct complete games (move sequences).
    pub games: u64,
}

/// Enumerates every game of random play. A game of L moves has probability
/// (1/9)·(1/8)·…·(1/(9 − L + 1)) = (9 − L)!/9!, so 9!·P(result) = Σ over games with that result of
/// (9 − L)!: integers, hence exact.
pub fn random_play_odds() -> RandomPlayOdds {
    fn walk(board: TicTacToe, moves: usize, odds: &mut RandomPlayOdds) {
        if board.is_over() {
            let weight: u64 = (1..=(9 - moves) as u64).product();
            match board.winner() {
                Some(Square::X) => odds.x_wins += weight,
                Some(_) => odds.o_wins += weight,
                None => odds.draws += weight,
            }
            odds.games += 1;
            return;
        }
        for mv in board.legal_moves() {
            walk(board.play(mv), moves + 1, odds);
        }
    }
    let mut odds = RandomPlayOdds {
        x_wins: 0,
        o_wins: 0,
        draws: 0,
        denominator: (1..=9).product(),
        games: 0,
    };
    walk(TicTacToe::start(), 0, &mut odds);
    odds
}
