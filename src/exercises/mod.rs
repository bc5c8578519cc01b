//! The exercises (feature `exercises`): the key functions of each chapter, for you to write.
//!
//! Every function here is a stub whose body is `todo!(…)`. Its doc comment states the task, the
//! shapes, the formula and a hint. Replace the `todo!` with your code, then run its check:
//!
//! ```text
//! cargo test --features exercises --test exercises -- ch06            # one chapter
//! cargo test --features exercises --test exercises -- ch06_softmax    # one exercise
//! ```
//!
//! The checks live in [`crate::check`] (`src/check/chNN.rs`): they call your function on small and
//! awkward inputs, compare with the crate's own implementation, check gradients by finite differences
//! and check properties, and tell you which check failed, on which input, expected vs got, and a
//! hint. Each doc comment names the file of the crate's own version — read it once yours passes.
//!
//! Vectors and matrices are plain row-major slices: a matrix `[rows, cols]` is `rows·cols` numbers,
//! row after row, so element `(i, j)` is at index `i·cols + j`. Shape letters as everywhere in the
//! crate: **N** batch size, **K** classes (or the inner dimension of a product).
//!
//! | file | chapter | exercises |
//! |---|---|---|
//! | `ch02.rs` | 2, linear algebra | 2.1 `matmul`, 2.2 `transpose`, 2.3 `cosine_similarity`, 2.4 `power_iteration` |
//! | `ch03.rs` | 3, calculus | 3.1 `central_difference`, 3.2 `numeric_gradient`, 3.3 `product_rule` |
//! | `ch04.rs` | 4, probability | 4.1 `sample_variance`, 4.2 `normal_pdf`, 4.3 `sample_categorical` |
//! | `ch06.rs` | 6, neurons | 6.1 `sigmoid`, 6.2 `sigmoid_derivative`, 6.3 `neuron`, 6.4 `softmax`, 6.5 `softmax_backward` |
//! | `ch07.rs` | 7, feed-forward | 7.1 `linear_forward`, 7.2 `linear_backward`, 7.3 `dropout_forward` |
//! | `ch08.rs` | 8, convolutional networks | 8.1 `conv_output_size`, 8.2 `im2col`, 8.3 `conv2d_forward`, 8.4 `maxpool2d_backward` |
//! | `ch09.rs` | 9, recurrent networks | 9.1 `rnn_cell_forward`, 9.2 `rnn_cell_backward`, 9.3 `lstm_cell_forward` |
//! | `ch10.rs` | 10, losses | 10.1 `mse`, 10.2 `cross_entropy`, 10.3 `bce_with_logits` |
//! | `ch11.rs` | 11, optimizers | 11.1 `sgd_momentum_step`, 11.2 `adam_step`, 11.3 `cosine_annealing_lr`, 11.4 `clip_grad_norm` |
//! | `ch16.rs` | 16, transformers | 16.1 `layer_norm_backward`, 16.2 `causal_attention_forward`, 16.3 `attention_backward` |
//! | `ch17.rs` | 17, meta-learning and RL | 17.1 `discounted_returns`, 17.2 `reinforce_logit_gradient`, 17.3 `puct_score`, 17.4 `reptile_outer_step` |
//! | `ch18.rs` | 18, future directions | 18.1 `quantize_symmetric`, 18.2 `integrated_gradients`, 18.3 `contrastive_loss` |

pub mod ch02;
pub mod ch03;
pub mod ch04;
pub mod ch06;
pub mod ch07;
pub mod ch08;
pub mod ch09;
pub mod ch10;
pub mod ch11;
pub mod ch16;
pub mod ch17;
pub mod ch18;
