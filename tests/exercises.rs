//! The exercise checker: your versions of the chapters' key functions (`src/exercises/`), checked.
//!
//! ```text
//! cargo test --features exercises --test exercises                   # everything
//! cargo test --features exercises --test exercises -- ch06           # one chapter
//! cargo test --features exercises --test exercises -- ch06_softmax   # one exercise
//! ```
//!
//! One test per exercise, named `chNN_name`, and one `chNN_summary` per chapter. A test **passes only
//! when the exercise is done**: an exercise still at its `todo!()` fails with the one line
//! "not attempted yet" (so the failures are your to-do list), and a wrong one fails with the check
//! that failed, its input, expected vs got, and a hint. `chNN_summary` counts the chapter's exercises
//! done / failing / not attempted, and passes when the whole chapter is done.
//!
//! The checks are the same ones the crate's reference solutions pass in the default `cargo test`
//! (`tests/exercise_checkers.rs`); they live in `src/check/chNN.rs`.

use dlfs::check::exercise::{Summary, Verdict};

/// The functions under test: the learner's (the list in `exercise_table` calls them through this name).
use dlfs::exercises as implementation;

#[path = "exercise_table/mod.rs"]
mod exercise_table;

/// Runs one exercise's checker on your function; the report is printed when it is not done.
fn run(test: &str) -> Result<(), Verdict> {
    exercise_table::exercise(test).run().into_result()
}

/// Runs every exercise of a chapter and counts them.
fn summary(chapter: &str) -> Result<(), Summary> {
    Summary::of(chapter, &exercise_table::chapter(chapter)).into_result()
}

// Chapter 2: linear algebra (src/exercises/ch02.rs).

#[test]
fn ch02_matmul() -> Result<(), Verdict> {
    run("ch02_matmul")
}

#[test]
fn ch02_transpose() -> Result<(), Verdict> {
    run("ch02_transpose")
}

#[test]
fn ch02_cosine_similarity() -> Result<(), Verdict> {
    run("ch02_cosine_similarity")
}

#[test]
fn ch02_power_iteration() -> Result<(), Verdict> {
    run("ch02_power_iteration")
}

#[test]
fn ch02_summary() -> Result<(), Summary> {
    summary("ch02")
}

// Chapter 3: calculus (src/exercises/ch03.rs).

#[test]
fn ch03_central_difference() -> Result<(), Verdict> {
    run("ch03_central_difference")
}

#[test]
fn ch03_numeric_gradient() -> Result<(), Verdict> {
    run("ch03_numeric_gradient")
}

#[test]
fn ch03_product_rule() -> Result<(), Verdict> {
    run("ch03_product_rule")
}

#[test]
fn ch03_summary() -> Result<(), Summary> {
    summary("ch03")
}

// Chapter 4: probability (src/exercises/ch04.rs).

#[test]
fn ch04_sample_variance() -> Result<(), Verdict> {
    run("ch04_sample_variance")
}

#[test]
fn ch04_normal_pdf() -> Result<(), Verdict> {
    run("ch04_normal_pdf")
}

#[test]
fn ch04_sample_categorical() -> Result<(), Verdict> {
    run("ch04_sample_categorical")
}

#[test]
fn ch04_summary() -> Result<(), Summary> {
    summary("ch04")
}

// Chapter 6: neurons and activations (src/exercises/ch06.rs).

#[test]
fn ch06_sigmoid() -> Result<(), Verdict> {
    run("ch06_sigmoid")
}

#[test]
fn ch06_sigmoid_derivative() -> Result<(), Verdict> {
    run("ch06_sigmoid_derivative")
}

#[test]
fn ch06_neuron() -> Result<(), Verdict> {
    run("ch06_neuron")
}

#[test]
fn ch06_softmax() -> Result<(), Verdict> {
    run("ch06_softmax")
}

#[test]
fn ch06_softmax_backward() -> Result<(), Verdict> {
    run("ch06_softmax_backward")
}

#[test]
fn ch06_summary() -> Result<(), Summary> {
    summary("ch06")
}

// Chapter 7: the feed-forward network (src/exercises/ch07.rs).

#[test]
fn ch07_linear_forward() -> Result<(), Verdict> {
    run("ch07_linear_forward")
}

#[test]
fn ch07_linear_backward() -> Result<(), Verdict> {
    run("ch07_linear_backward")
}

#[test]
fn ch07_dropout_forward() -> Result<(), Verdict> {
    run("ch07_dropout_forward")
}

#[test]
fn ch07_summary() -> Result<(), Summary> {
    summary("ch07")
}

// Chapter 8: convolutional networks (src/exercises/ch08.rs).

#[test]
fn ch08_conv_output_size() -> Result<(), Verdict> {
    run("ch08_conv_output_size")
}

#[test]
fn ch08_im2col() -> Result<(), Verdict> {
    run("ch08_im2col")
}

#[test]
fn ch08_conv2d_forward() -> Result<(), Verdict> {
    run("ch08_conv2d_forward")
}

#[test]
fn ch08_maxpool2d_backward() -> Result<(), Verdict> {
    run("ch08_maxpool2d_backward")
}

#[test]
fn ch08_summary() -> Result<(), Summary> {
    summary("ch08")
}

// Chapter 9: recurrent networks (src/exercises/ch09.rs).

#[test]
fn ch09_rnn_cell_forward() -> Result<(), Verdict> {
    run("ch09_rnn_cell_forward")
}

#[test]
fn ch09_rnn_cell_backward() -> Result<(), Verdict> {
    run("ch09_rnn_cell_backward")
}

#[test]
fn ch09_lstm_cell_forward() -> Result<(), Verdict> {
    run("ch09_lstm_cell_forward")
}

#[test]
fn ch09_summary() -> Result<(), Summary> {
    summary("ch09")
}

// Chapter 10: losses (src/exercises/ch10.rs).

#[test]
fn ch10_mse() -> Result<(), Verdict> {
    run("ch10_mse")
}

#[test]
fn ch10_cross_entropy() -> Result<(), Verdict> {
    run("ch10_cross_entropy")
}

#[test]
fn ch10_bce_with_logits() -> Result<(), Verdict> {
    run("ch10_bce_with_logits")
}

#[test]
fn ch10_summary() -> Result<(), Summary> {
    summary("ch10")
}

// Chapter 11: optimizers (src/exercises/ch11.rs).

#[test]
fn ch11_sgd_momentum_step() -> Result<(), Verdict> {
    run("ch11_sgd_momentum_step")
}

#[test]
fn ch11_adam_step() -> Result<(), Verdict> {
    run("ch11_adam_step")
}

#[test]
fn ch11_cosine_annealing_lr() -> Result<(), Verdict> {
    run("ch11_cosine_annealing_lr")
}

#[test]
fn ch11_clip_grad_norm() -> Result<(), Verdict> {
    run("ch11_clip_grad_norm")
}

#[test]
fn ch11_summary() -> Result<(), Summary> {
    summary("ch11")
}

// Chapter 16: transformers (src/exercises/ch16.rs).

#[test]
fn ch16_layer_norm_backward() -> Result<(), Verdict> {
    run("ch16_layer_norm_backward")
}

#[test]
fn ch16_causal_attention_forward() -> Result<(), Verdict> {
    run("ch16_causal_attention_forward")
}

#[test]
fn ch16_attention_backward() -> Result<(), Verdict> {
    run("ch16_attention_backward")
}

#[test]
fn ch16_summary() -> Result<(), Summary> {
    summary("ch16")
}

// Chapter 17: meta-learning and reinforcement learning (src/exercises/ch17.rs).

#[test]
fn ch17_discounted_returns() -> Result<(), Verdict> {
    run("ch17_discounted_returns")
}

#[test]
fn ch17_reinforce_logit_gradient() -> Result<(), Verdict> {
    run("ch17_reinforce_logit_gradient")
}

#[test]
fn ch17_puct_score() -> Result<(), Verdict> {
    run("ch17_puct_score")
}

#[test]
fn ch17_reptile_outer_step() -> Result<(), Verdict> {
    run("ch17_reptile_outer_step")
}

#[test]
fn ch17_summary() -> Result<(), Summary> {
    summary("ch17")
}

// Chapter 18: future directions (src/exercises/ch18.rs).

#[test]
fn ch18_quantize_symmetric() -> Result<(), Verdict> {
    run("ch18_quantize_symmetric")
}

#[test]
fn ch18_integrated_gradients() -> Result<(), Verdict> {
    run("ch18_integrated_gradients")
}

#[test]
fn ch18_contrastive_loss() -> Result<(), Verdict> {
    run("ch18_contrastive_loss")
}

#[test]
fn ch18_summary() -> Result<(), Summary> {
    summary("ch18")
}
