//! Datasets: readers for the real formats, generated stand-ins in those same formats, and
//! mini-batching.
//!
//! - [`cifar10`]: CIFAR-10's binary format (chapter 12): read, write, normalise, augment, batch.
//! - [`cifar10_standin`]: ten classes of generated shapes and textures written in CIFAR-10's format,
//!   for machines without the real data.
//!
//! `datasets/README.md` says where to get each real dataset and where to put it.

pub mod cifar10;
pub mod cifar10_standin;
