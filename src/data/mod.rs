//! Datasets: readers for the real ones, generators for synthetic ones, and batching.
//!
//! - [`mod@toy`]: small generated 2-D classification sets (concentric circles, two spirals) on which a
//!   linear model fails and a network with a hidden layer succeeds (chapter 1).
//! - [`regression`]: a generated regression task, y = Σ wᵢ·sin(xᵢ) + noise (chapter 7).

pub mod regression;
pub mod toy;
