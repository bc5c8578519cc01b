//! Chapter 4 (概率论基础, probability): a seeded random generator, samplers and statistics.
//!
//! Everything random in the crate — weight initialisation, dropout masks, shuffling, generated datasets —
//! takes a `&mut Rng`, so a seed fixes a whole run. There is no global generator and no time-based seed.

mod rng;

pub use rng::Rng;
