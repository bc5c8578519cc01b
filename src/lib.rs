//! # dlfs — deep learning from scratch
//!
//! A std-only Rust crate that teaches and implements a beginner's deep-learning tutorial, chapter by
//! chapter. It is three things at once: **a book you run** (`chapters/chNN_*.rs`, each a binary that
//! prints what it computes next to what the tutorial claims), **an exercise checker** (`cargo test`
//! checks every chapter's functions with finite-difference gradient checks, properties and slow
//! reference implementations), and **a library to vendor** (copy the folder, `use dlfs::nn::Linear`).
//!
//! ## Module map (imports only go downward)
//! | module | chapter | what it is |
//! |---|---|---|
//! | [`app`] | all | what every binary does around its chapter: flags, banner, exit codes |
//! | [`checkpoint`] | 12–14 | save/load parameters as safetensors (PyTorch-compatible), validated |
//! | [`check`] | tests | gradient checks and tolerant comparisons used by tests and exercises; the exercise checkers |
//! | `exercises` | 2–11, 16 | (feature `exercises`) the learner's stubs, checked by `tests/exercises.rs` |
//! | [`train`] | 5, 7, 12–14, 16 | `fit`/`evaluate`/`predict` over shuffled mini-batches, `History`, metrics; saving and resuming a run ([`train::resume`]) |
//! | [`optim`] | 11 | optimizers (SGD, Adam, …) that update parameters from their gradients |
//! | [`nn`] | 6–9, 16 | the `Layer` trait, parameters, `Sequential` and the layers; the transformer (LayerNorm, attention, blocks, GPT) |
//! | [`gpu`] | 15 | CUDA without a toolkit: the driver loaded at run time, PTX kernels, device buffers, an MLP trained on the GPU |
//! | [`loss`] | 10 | losses returning value and gradient: MSE, cross-entropy, BCE, Huber; stable softmax |
//! | [`linalg`] | 2 | vectors, reference matmul, the fast GEMM, eigen, solve, PCA |
//! | [`data`] | 1, 7, 12–14, 16 | datasets: generated toy sets, readers (CIFAR-10, aclImdb, CSV, time series), tokenizer, generated stand-ins, a grammar with a known optimum; the learner's pictures (PNG, PGM/PPM) |
//! | [`tensor`] | all | `Tensor`: a shape and a row-major `Vec<f32>` |
//! | [`cli`] | all | the tiny command-line parser |
//! | [`report`] | all | progress bars, terminal charts, SVG plots, PNG images, tables |
//! | [`probability`] | 4 | the seeded `Rng`, samplers, statistics, erf and the normal CDF |
//! | [`calculus`] | 3 | symbolic `Expr` (differentiate, simplify, print), numeric derivatives, scalar autodiff, gradient descent |
//! | [`parallel`] | all | the thread pool |
//! | [`error`] | all | `Error` and `Result` for everything a user can get wrong |
//!
//! ## Shape letters
//! Used in every doc comment and name: **N** batch size, **C** channels, **H** height, **W** width,
//! **T** time steps, **F** features, **K** classes (or the inner dimension of a matrix product),
//! **H** also the hidden size of a recurrent layer where no image is involved, **E** the embedding
//! width of a token (a transformer's model width), **D** the width of one attention head, **V** the
//! vocabulary size, **R** the number of rows of a batch viewed as a matrix (N·T for sequences).
//! Images are `[N, C, H, W]`, sequences batch-first `[N, T, F]`, weights as in PyTorch.

#![warn(missing_docs)]

pub mod app;
pub mod calculus;
pub mod check;
pub mod checkpoint;
pub mod cli;
pub mod data;
pub mod error;
#[cfg(feature = "exercises")]
pub mod exercises;
pub mod gpu;
pub mod linalg;
pub mod loss;
pub mod nn;
pub mod optim;
pub mod parallel;
pub mod probability;
pub mod report;
pub mod tensor;
pub mod train;

pub use error::{Error, Result};
pub use tensor::Tensor;

/// The README's code examples, compiled and run by `cargo test` so the README cannot drift.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
