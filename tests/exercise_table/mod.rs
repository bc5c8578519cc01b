//! The list of exercises: each one's test name, its number in the course, and its checker applied
//! to the function of `crate::implementation`.
//!
//! Two test files include this list: `tests/exercises.rs`, where `implementation` is the learner's
//! `dlfs::exercises`, and `tests/exercise_checkers.rs`, where it is the reference solutions
//! (`tests/exercise_solutions/`). One list for both means the learner's functions are checked
//! exactly as the solutions are.

use crate::implementation::{
    ch02, ch03, ch04, ch06, ch07, ch08, ch09, ch10, ch11, ch16, ch17, ch18,
};
use dlfs::check;
use dlfs::check::exercise::Exercise;

/// Every exercise, in course order.
pub fn all() -> Vec<Exercise> {
    vec![
        // Chapter 2: linear algebra.
        Exercise::new("ch02_matmul", "2.1", || {
            check::ch02::check_matmul(ch02::matmul)
        }),
        Exercise::new("ch02_transpose", "2.2", || {
            check::ch02::check_transpose(ch02::transpose)
        }),
        Exercise::new("ch02_cosine_similarity", "2.3", || {
            check::ch02::check_cosine_similarity(ch02::cosine_similarity)
        }),
        Exercise::new("ch02_power_iteration", "2.4", || {
            check::ch02::check_power_iteration(ch02::power_iteration)
        }),
        // Chapter 3: calculus.
        Exercise::new("ch03_central_difference", "3.1", || {
            check::ch03::check_central_difference(ch03::central_difference)
        }),
        Exercise::new("ch03_numeric_gradient", "3.2", || {
            check::ch03::check_numeric_gradient(ch03::numeric_gradient)
        }),
        Exercise::new("ch03_product_rule", "3.3", || {
            check::ch03::check_product_rule(ch03::product_rule)
        }),
        // Chapter 4: probability.
        Exercise::new("ch04_sample_variance", "4.1", || {
            check::ch04::check_sample_variance(ch04::sample_variance)
        }),
        Exercise::new("ch04_normal_pdf", "4.2", || {
            check::ch04::check_normal_pdf(ch04::normal_pdf)
        }),
        Exercise::new("ch04_sample_categorical", "4.3", || {
            check::ch04::check_sample_categorical(ch04::sample_categorical)
        }),
        // Chapter 6: neurons and activations.
        Exercise::new("ch06_sigmoid", "6.1", || {
            check::ch06::check_sigmoid(ch06::sigmoid)
        }),
        Exercise::new("ch06_sigmoid_derivative", "6.2", || {
            check::ch06::check_sigmoid_derivative(ch06::sigmoid_derivative)
        }),
        Exercise::new("ch06_neuron", "6.3", || {
            check::ch06::check_neuron(ch06::neuron)
        }),
        Exercise::new("ch06_softmax", "6.4", || {
            check::ch06::check_softmax(ch06::softmax)
        }),
        Exercise::new("ch06_softmax_backward", "6.5", || {
            check::ch06::check_softmax_backward(ch06::softmax_backward)
        }),
        // Chapter 7: the feed-forward network.
        Exercise::new("ch07_linear_forward", "7.1", || {
            check::ch07::check_linear_forward(ch07::linear_forward)
        }),
        Exercise::new("ch07_linear_backward", "7.2", || {
            check::ch07::check_linear_backward(ch07::linear_backward)
        }),
        Exercise::new("ch07_dropout_forward", "7.3", || {
            check::ch07::check_dropout_forward(ch07::dropout_forward)
        }),
        // Chapter 8: convolutional networks.
        Exercise::new("ch08_conv_output_size", "8.1", || {
            check::ch08::check_conv_output_size(ch08::conv_output_size)
        }),
        Exercise::new("ch08_im2col", "8.2", || {
            check::ch08::check_im2col(ch08::im2col)
        }),
        Exercise::new("ch08_conv2d_forward", "8.3", || {
            check::ch08::check_conv2d_forward(ch08::conv2d_forward)
        }),
        Exercise::new("ch08_maxpool2d_backward", "8.4", || {
            check::ch08::check_maxpool2d_backward(ch08::maxpool2d_backward)
        }),
        // Chapter 9: recurrent networks.
        Exercise::new("ch09_rnn_cell_forward", "9.1", || {
            check::ch09::check_rnn_cell_forward(ch09::rnn_cell_forward)
        }),
        Exercise::new("ch09_rnn_cell_backward", "9.2", || {
            check::ch09::check_rnn_cell_backward(ch09::rnn_cell_backward)
        }),
        Exercise::new("ch09_lstm_cell_forward", "9.3", || {
            check::ch09::check_lstm_cell_forward(ch09::lstm_cell_forward)
        }),
        // Chapter 10: losses.
        Exercise::new("ch10_mse", "10.1", || check::ch10::check_mse(ch10::mse)),
        Exercise::new("ch10_cross_entropy", "10.2", || {
            check::ch10::check_cross_entropy(ch10::cross_entropy)
        }),
        Exercise::new("ch10_bce_with_logits", "10.3", || {
            check::ch10::check_bce_with_logits(ch10::bce_with_logits)
        }),
        // Chapter 11: optimizers.
        Exercise::new("ch11_sgd_momentum_step", "11.1", || {
            check::ch11::check_sgd_momentum_step(ch11::sgd_momentum_step)
        }),
        Exercise::new("ch11_adam_step", "11.2", || {
            check::ch11::check_adam_step(ch11::adam_step)
        }),
        Exercise::new("ch11_cosine_annealing_lr", "11.3", || {
            check::ch11::check_cosine_annealing_lr(ch11::cosine_annealing_lr)
        }),
        Exercise::new("ch11_clip_grad_norm", "11.4", || {
            check::ch11::check_clip_grad_norm(ch11::clip_grad_norm)
        }),
        // Chapter 16: transformers.
        Exercise::new("ch16_layer_norm_backward", "16.1", || {
            check::ch16::check_layer_norm_backward(ch16::layer_norm_backward)
        }),
        Exercise::new("ch16_causal_attention_forward", "16.2", || {
            check::ch16::check_causal_attention_forward(ch16::causal_attention_forward)
        }),
        Exercise::new("ch16_attention_backward", "16.3", || {
            check::ch16::check_attention_backward(ch16::attention_backward)
        }),
        // Chapter 17: meta-learning and reinforcement learning.
        Exercise::new("ch17_discounted_returns", "17.1", || {
            check::ch17::check_discounted_returns(ch17::discounted_returns)
        }),
        Exercise::new("ch17_reinforce_logit_gradient", "17.2", || {
            check::ch17::check_reinforce_logit_gradient(ch17::reinforce_logit_gradient)
        }),
        Exercise::new("ch17_puct_score", "17.3", || {
            check::ch17::check_puct_score(ch17::puct_score)
        }),
        Exercise::new("ch17_reptile_outer_step", "17.4", || {
            check::ch17::check_reptile_outer_step(ch17::reptile_outer_step)
        }),
        // Chapter 18: future directions.
        Exercise::new("ch18_quantize_symmetric", "18.1", || {
            check::ch18::check_quantize_symmetric(ch18::quantize_symmetric)
        }),
        Exercise::new("ch18_integrated_gradients", "18.2", || {
            check::ch18::check_integrated_gradients(ch18::integrated_gradients)
        }),
        Exercise::new("ch18_contrastive_loss", "18.3", || {
            check::ch18::check_contrastive_loss(ch18::contrastive_loss)
        }),
    ]
}

/// The exercises of one chapter (`"ch06"`), in order.
pub fn chapter(chapter: &str) -> Vec<Exercise> {
    all()
        .into_iter()
        .filter(|e| e.chapter() == chapter)
        .collect()
}

/// The exercise whose test is called `test`; panics if the list has none (a typo in a test file).
pub fn exercise(test: &str) -> Exercise {
    all()
        .into_iter()
        .find(|e| e.test == test)
        .unwrap_or_else(|| panic!("no exercise with the test name {test} in tests/exercise_table"))
}
