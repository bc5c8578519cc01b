//! Chapter 4 (概率论基础, probability): a seeded random generator, samplers and statistics.
//!
//! Everything random in the crate — weight initialisation, dropout masks, shuffling, generated datasets —
//! takes a `&mut Rng`, so a seed fixes a whole run. There is no global generator and no time-based seed.
//!
//! - [`Rng`]: the generator (xoshiro256**), with quick `f32` samplers and shuffling.
//! - [`distributions`]: uniform, normal, Bernoulli and categorical distributions with their exact
//!   mean, variance and density, sampled from an `Rng`.
//! - [`mod@erf`]: the error function, erfc, and the standard normal CDF Φ and density φ (also used by
//!   the GELU activation of chapter 6).
//! - [`stats`]: sample mean and variance (with Bessel's n − 1), Welford's online algorithm,
//!   histograms as density estimates.

pub mod distributions;
pub mod erf;
mod rng;
pub mod stats;

pub use distributions::{Bernoulli, Categorical, Distribution, Normal, Uniform};
pub use erf::{erf, erfc, normal_cdf, normal_pdf};
pub use rng::Rng;
pub use stats::{Histogram, Welford};
