//! SPOILERS: the reference solutions of the exercises in `src/exercises/` — read one only once your
//! own version passes (or when you are truly stuck).
//!
//! Each function has exactly the signature of its stub. Most bodies call the crate's own
//! implementation (the file each stub's doc comment names as its reference), so the default
//! `cargo test` proves that the checkers pass the crate's code; a few write the rule out where the
//! crate keeps it inside a larger type (an optimizer's step, a sampler). `tests/exercise_checkers.rs`
//! runs every checker on these, and its ignored test
//! `pasting_the_solutions_turns_every_exercise_green` pastes each body into its stub (in a copy of
//! the crate, `dlfs::` becoming `crate::`) and runs `cargo test --features exercises` there.

pub mod ch02;
pub mod ch03;
pub mod ch04;
pub mod ch06;
pub mod ch07;
pub mod ch08;
pub mod ch09;
pub mod ch10;
pub mod ch11;
pub mod ch16;
pub mod ch17;
pub mod ch18;
