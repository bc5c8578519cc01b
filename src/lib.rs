//! # dlfs — deep learning from scratch
//!
//! A std-only Rust crate that teaches and implements a beginner's deep-learning tutorial, chapter by
//! chapter. It is three things at once: **a book you run** (`chapters/chNN_*.rs`, each a binary that
//! prints what it computes next to what the tutorial claims), **an exercise checker** (you write a
//! chapter's key functions in `src/exercises/`, `cargo test --features exercises --test exercises`
//! grades them with finite-difference gradient checks, properties and slow reference
//! implementations; plain `cargo test` runs the same checks on the crate's own functions), and **a
//! library to vendor** (copy the folder, `use dlfs::nn::Linear`).
//!
//! ## Reading path: the book in chapter order
//! Each chapter is a binary whose source reads top to bottom; its page (linked below, built by
//! `cargo doc` next to this one) says what it shows. Run one with
//! `cargo run --release --bin <name>`, all of them in quick mode with `cargo run --release`.
//! Chapters 2–4, 6–11 and 17 end with exercises (`src/exercises/chNN.rs`, see the README).
//!
//! | # | chapter | what it shows | the library behind it |
//! |---|---|---|---|
//! | 1 | [`ch01_introduction`](../ch01_introduction/index.html) | features are learned: a linear classifier against a network with one hidden layer | [`data`], [`report`] |
//! | 2 | [`ch02_linear_algebra`](../ch02_linear_algebra/index.html) | vectors, matrices, eigenpairs, LU, PCA, and how a fast matrix multiply works | [`linalg`] |
//! | 3 | [`ch03_calculus`](../ch03_calculus/index.html) | derivatives symbolic, numeric and automatic; the chain rule; gradient descent | [`calculus`] |
//! | 4 | [`ch04_probability`](../ch04_probability/index.html) | random variables, distributions, expectation and variance; why they set initialisation | [`probability`] |
//! | 5 | [`ch05_first_network`](../ch05_first_network/index.html) | the tutorial's first two programs and what they really predict | [`nn`], [`optim`], [`train`] |
//! | 6 | [`ch06_neurons`](../ch06_neurons/index.html) | one neuron by hand; every activation and its derivative | [`nn`] |
//! | 7 | [`ch07_feedforward`](../ch07_feedforward/index.html) | a feed-forward network layer by layer, trained against baselines | [`nn`], [`train`] |
//! | 8 | [`ch08_cnn`](../ch08_cnn/index.html) | convolution by hand and as im2col + GEMM, pooling, a small CNN | [`nn`], [`linalg`] |
//! | 9 | [`ch09_rnn`](../ch09_rnn/index.html) | RNN, LSTM and GRU: a step by hand, vanishing gradients, gates | [`nn`] |
//! | 10 | [`ch10_losses`](../ch10_losses/index.html) | MSE, cross-entropy, BCE, Huber by hand; their gradients; stable softmax | [`loss`] |
//! | 11 | [`ch11_optimizers`](../ch11_optimizers/index.html) | SGD, momentum, Nesterov, RMSprop, Adam, Adagrad, AdamW raced | [`optim`] |
//! | 12 | [`ch12_image_classification`](../ch12_image_classification/index.html) | the tutorial's CIFAR-10 CNN, trained and evaluated | [`data`], [`train`], [`checkpoint`] |
//! | 13 | [`ch13_text_classification`](../ch13_text_classification/index.html) | IMDB sentiment: tokenizer, vocabulary, a bag of words against the tutorial's LSTM | [`data`], [`nn`], [`train`] |
//! | 14 | [`ch14_time_series`](../ch14_time_series/index.html) | stock prices: windows, a split in time, an LSTM against the naive forecast | [`data`], [`train`] |
//! | 15 | [`ch15_gpu`](../ch15_gpu/index.html) | the GPU from the driver up: PTX kernels, GPU against CPU | [`gpu`] |
//! | 16 | [`ch16_pretraining`](../ch16_pretraining/index.html) | a transformer written out, a character-level GPT pretrained without labels; transfer to text and images with few labels | [`nn`], [`train`] |
//! | 17 | [`ch17_meta_and_rl`](../ch17_meta_and_rl/index.html) | meta-learning on sine tasks (Reptile, first-order MAML); CartPole with REINFORCE and DQN; AlphaZero on tic-tac-toe | [`meta`], [`rl`] |
//! | 18 | [`ch18_future_directions`](../ch18_future_directions/index.html) | efficiency (int8, pruning, distillation), interpretability (saliency, IG, Grad-CAM, occlusion), a CLIP-style multimodal model, an edge export | [`quant`], [`explain`], [`multimodal`] |
//!
//! ## Module map (imports only go downward)
//! | module | chapter | what it is |
//! |---|---|---|
//! | [`app`] | all | what every binary does around its chapter: flags, banner, exit codes, sizes from flags checked against the memory |
//! | [`checkpoint`] | 12–14 | save/load parameters and state dicts as safetensors (PyTorch-compatible), validated |
//! | [`check`] | tests | gradient checks and tolerant comparisons used by tests and exercises; the exercise checkers |
//! | [`rl`] | 17 | reinforcement learning: CartPole, REINFORCE, DQN, tic-tac-toe, minimax, MCTS, AlphaZero |
//! | [`meta`] | 17 | meta-learning: Reptile, first-order MAML and the joint-training baseline on sine tasks |
//! | `exercises` | 2–11, 16–18 | (feature `exercises`) the learner's stubs, checked by `tests/exercises.rs` |
//! | [`explain`] | 18 | attribution maps: saliency, integrated gradients, Grad-CAM, occlusion; their checks and overlays |
//! | [`multimodal`] | 18 | a CLIP-style image–text model: encoders, L2 normalisation, the symmetric contrastive loss |
//! | [`train`] | 5, 7, 12–14, 16 | `fit`/`evaluate`/`predict` over shuffled mini-batches, `History`, metrics; saving and resuming a run ([`train::resume`]) |
//! | [`quant`] | 18 | int8 quantization and calibration, the int8 CNN, pruning, distillation, the safetensors and edge exports |
//! | [`optim`] | 11 | optimizers (SGD, Adam, …) that update the trainable parameters from their gradients |
//! | [`nn`] | 6–9, 16 | the `Layer` trait, parameters (trainable or frozen), state dicts, `Sequential` and the layers; the transformer (LayerNorm, attention, blocks, GPT) |
//! | [`gpu`] | 15 | CUDA without a toolkit: the driver loaded at run time, PTX kernels, device buffers, an MLP trained on the GPU |
//! | [`loss`] | 10 | losses returning value and gradient: MSE, cross-entropy, BCE, Huber, smooth L1; stable softmax |
//! | [`linalg`] | 2, 18 | vectors, reference matmul, the fast GEMM (f32, and int8 for chapter 18), eigen, solve, PCA |
//! | [`data`] | 1, 7, 12–14, 16–18 | datasets: generated toy sets, readers (CIFAR-10, aclImdb, CSV, time series), tokenizer, generated stand-ins, a grammar with a known optimum, few-shot sine tasks, captioned shapes; the learner's pictures (PNG, PGM/PPM) |
//! | [`input`] | 12–14, 16 | reading files a user names: regular files only, a size cap per format, short excerpts in messages |
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
pub mod explain;
pub mod gpu;
pub mod input;
pub mod linalg;
pub mod loss;
pub mod meta;
pub mod multimodal;
pub mod nn;
pub mod optim;
pub mod parallel;
pub mod probability;
pub mod quant;
pub mod report;
pub mod rl;
pub mod tensor;
pub mod train;

pub use error::{Error, Result};
pub use tensor::Tensor;

/// The README's code examples, compiled and run by `cargo test` so the README cannot drift.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
