//! Datasets: readers for the real ones, generators for synthetic ones in the same formats (so every
//! chapter runs out of the box and the same loader reads the real data, see `datasets/README.md`),
//! and batching.
//!
//! - [`mod@toy`]: small generated 2-D classification sets (concentric circles, two spirals) on which a
//!   linear model fails and a network with a hidden layer succeeds (chapter 1).
//! - [`cifar10`], [`cifar10_standin`]: CIFAR-10's binary format (read, write, normalise, augment)
//!   and ten classes of generated shapes and textures written in that format (chapter 12).
//! - [`image`]: the learner's own pictures — a PNG decoder (with DEFLATE) and PGM/PPM, resizing
//!   (chapter 12's `--predict`).
//! - [`regression`]: a generated regression task, y = Σ wᵢ·sin(xᵢ) + noise (chapter 7).
//! - [`text`], [`imdb`], [`synthetic_reviews`]: tokenizer, vocabulary and padding; the aclImdb folders;
//!   a generated stand-in where word order decides the label (chapter 13).
//! - [`captioned_shapes`]: generated pictures with captions ("a red ring on the left"), some
//!   shape–colour pairs held out (chapter 18's image–text model).
//! - [`mod@csv`], [`timeseries`], [`synthetic_prices`]: CSV files; dated series, windows, scaling and a
//!   chronological split; the generator of the bundled price file (chapter 14).
//! - [`tiny_grammar`]: text from a small probabilistic grammar whose best achievable next-character
//!   loss is known exactly (chapter 16).
//! - [`sine_tasks`]: the few-shot sine-wave tasks of meta-learning, with the best task-agnostic
//!   predictors derived (chapter 17).
//! - [`standin`]: how a generated folder is written so that an interrupted run never leaves half of
//!   one (a temporary folder, a marker written last, a rename).
//!
//! Every reader takes files through [`crate::input`]: regular files only, with a size cap per format.

pub mod captioned_shapes;
pub mod cifar10;
pub mod cifar10_standin;
pub mod csv;
pub mod image;
pub mod imdb;
pub mod regression;
pub mod sine_tasks;
pub mod standin;
pub mod synthetic_prices;
pub mod synthetic_reviews;
pub mod text;
pub mod timeseries;
pub mod tiny_grammar;
pub mod toy;
