//! Datasets: readers for the real formats and small generated stand-ins in the same formats, so every
//! chapter runs out of the box and the same loader reads the real data (see `datasets/README.md`).

pub mod csv;
pub mod imdb;
pub mod synthetic_prices;
pub mod synthetic_reviews;
pub mod text;
pub mod timeseries;
