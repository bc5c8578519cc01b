//! Checkers for chapter 9's exercises (`src/exercises/ch09.rs`): one step of a tanh RNN cell forward
//! and backward, and one step of an LSTM cell forward.
//!
//! Weights are named and laid out as PyTorch's (`weight_ih [H, F]`, `weight_hh [H, H]`, two biases;
//! the LSTM's four gate blocks in the order i, f, g, o), so the formulas here are the ones of
//! `torch.nn.RNN` / `torch.nn.LSTM`. Forward passes are compared with the formulas evaluated in f64;
//! the backward pass is checked against central differences of that f64 forward pass, gradient by
//! gradient, so the one that is wrong is named.

use super::Tolerance;
use super::exercise::{Check, CheckResult, describe, random_values};

/// The parameters of a tanh RNN cell (exercises 9.1 and 9.2), as PyTorch's `nn.RNN` names and lays
/// them out: `h' = tanh(x·W_ihᵀ + b_ih + h·W_hhᵀ + b_hh)`.
#[derive(Clone, Debug, PartialEq)]
pub struct RnnWeights {
    /// Features per input, F.
    pub input_size: usize,
    /// Hidden units, H.
    pub hidden_size: usize,
    /// `W_ih`, `[H, F]`.
    pub weight_ih: Vec<f32>,
    /// `W_hh`, `[H, H]`.
    pub weight_hh: Vec<f32>,
    /// `b_ih`, `[H]`.
    pub bias_ih: Vec<f32>,
    /// `b_hh`, `[H]`.
    pub bias_hh: Vec<f32>,
}

impl RnnWeights {
    /// Random weights (N(0, 0.5²), seeded) for F inputs and H hidden units.
    pub fn random(input_size: usize, hidden_size: usize, seed: u64) -> RnnWeights {
        let (f, h) = (input_size, hidden_size);
        RnnWeights {
            input_size,
            hidden_size,
            weight_ih: random_values(h * f, 0.5, seed),
            weight_hh: random_values(h * h, 0.5, seed + 1),
            bias_ih: random_values(h, 0.5, seed + 2),
            bias_hh: random_values(h, 0.5, seed + 3),
        }
    }

    fn describe(&self) -> String {
        let (f, h) = (self.input_size, self.hidden_size);
        format!(
            "weights: {}, {}, {}, {}",
            describe("weight_ih", &self.weight_ih, &[h, f]),
            describe("weight_hh", &self.weight_hh, &[h, h]),
            describe("bias_ih", &self.bias_ih, &[h]),
            describe("bias_hh", &self.bias_hh, &[h])
        )
    }
}

/// The pre-activation `x·W_ihᵀ + b_ih + h·W_hhᵀ + b_hh` in f64, `[N, rows]` where `rows` is the
/// number of rows of the weights (H for the RNN, 4H for the LSTM).
#[allow(clippy::too_many_arguments)] // the six tensors of the formula, named as in it
fn pre_activation(
    x: &[f32],
    h_prev: &[f32],
    weight_ih: &[f32],
    weight_hh: &[f32],
    bias_ih: &[f32],
    bias_hh: &[f32],
    input_size: usize,
    hidden_size: usize,
) -> Vec<f64> {
    let rows = bias_ih.len();
    let dot = |a: &[f32], b: &[f32]| -> f64 {
        a.iter()
            .zip(b)
            .map(|(&p, &q)| f64::from(p) * f64::from(q))
            .sum()
    };
    let mut out = Vec::new();
    for (x_row, h_row) in x.chunks(input_size).zip(h_prev.chunks(hidden_size)) {
        for j in 0..rows {
            out.push(
                dot(x_row, &weight_ih[j * input_size..(j + 1) * input_size])
                    + f64::from(bias_ih[j])
                    + dot(h_row, &weight_hh[j * hidden_size..(j + 1) * hidden_size])
                    + f64::from(bias_hh[j]),
            );
        }
    }
    out
}

/// One RNN step in f64: `tanh(x·W_ihᵀ + b_ih + h·W_hhᵀ + b_hh)`.
fn rnn_cell_f64(x: &[f32], h_prev: &[f32], w: &RnnWeights) -> Vec<f64> {
    pre_activation(
        x,
        h_prev,
        &w.weight_ih,
        &w.weight_hh,
        &w.bias_ih,
        &w.bias_hh,
        w.input_size,
        w.hidden_size,
    )
    .into_iter()
    .map(f64::tanh)
    .collect()
}

fn to_f32(values: &[f64]) -> Vec<f32> {
    values.iter().map(|&v| v as f32).collect()
}

/// (N, F, H) of the RNN and LSTM checks: a batch of one, sizes 1, more inputs than units and fewer.
const SHAPES: [(usize, usize, usize); 5] = [(1, 1, 1), (1, 3, 4), (2, 1, 5), (3, 4, 2), (2, 6, 7)];

/// Exercise 9.1: `rnn_cell_forward(x, h_prev, weights)` returns
/// `h = tanh(x·W_ihᵀ + b_ih + h_prev·W_hhᵀ + b_hh)` `[N, H]`.
pub fn check_rnn_cell_forward(f: impl Fn(&[f32], &[f32], &RnnWeights) -> Vec<f32>) -> CheckResult {
    let hint = "h[n][j] = tanh(Σᵢ x[n][i]·W_ih[j][i] + b_ih[j] + Σₖ h_prev[n][k]·W_hh[j][k] + b_hh[j]) \
                with W_ih stored [H, F] and W_hh [H, H] (row j holds unit j's weights), and both \
                biases added";
    // By hand: F = H = 1, a = 2·0.5 + 0.1 + 0.3·(−1) + 0.2 = 1, h = tanh(1).
    let mut cases = vec![(
        "a hand example: tanh(2·0.5 + 0.1 + 0.3·(−1) + 0.2) = tanh(1)".to_string(),
        vec![2.0],
        vec![0.3],
        RnnWeights {
            input_size: 1,
            hidden_size: 1,
            weight_ih: vec![0.5],
            weight_hh: vec![-1.0],
            bias_ih: vec![0.1],
            bias_hh: vec![0.2],
        },
    )];
    for (case, &(n, inputs, hidden)) in SHAPES.iter().enumerate() {
        let seed = 900 + 10 * case as u64;
        cases.push((
            format!("a batch of {n}, F = {inputs}, H = {hidden}"),
            random_values(n * inputs, 1.0, seed),
            random_values(n * hidden, 0.5, seed + 5),
            RnnWeights::random(inputs, hidden, seed + 6),
        ));
    }
    for (name, x, h_prev, weights) in cases {
        let (inputs, hidden) = (weights.input_size, weights.hidden_size);
        let n = x.len() / inputs;
        let check = Check::new(
            name,
            format!(
                "{}, {}, {}",
                describe("x", &x, &[n, inputs]),
                describe("h_prev", &h_prev, &[n, hidden]),
                weights.describe()
            ),
        );
        let got = check.run(|| f(&x, &h_prev, &weights));
        check.values(
            "h",
            &got,
            &to_f32(&rnn_cell_f64(&x, &h_prev, &weights)),
            &[n, hidden],
            Tolerance::new(1e-6, 1e-5),
            hint,
        )?;
    }
    Ok(())
}

/// What exercise 9.2 returns: the gradient of the loss with respect to every input of one RNN step.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RnnCellGradients {
    /// ∂L/∂x, `[N, F]`.
    pub input: Vec<f32>,
    /// ∂L/∂h_prev, `[N, H]`: what flows back to the previous time step.
    pub hidden: Vec<f32>,
    /// ∂L/∂W_ih, `[H, F]`.
    pub weight_ih: Vec<f32>,
    /// ∂L/∂W_hh, `[H, H]`.
    pub weight_hh: Vec<f32>,
    /// ∂L/∂b_ih = ∂L/∂b_hh, `[H]` (the two biases are added together, so their gradients are equal).
    pub bias: Vec<f32>,
}

/// Exercise 9.2: `rnn_cell_backward(x, h_prev, h, grad_h, weights)` returns the gradients of one RNN
/// step, given `grad_h` = ∂L/∂h.
pub fn check_rnn_cell_backward(
    f: impl Fn(&[f32], &[f32], &[f32], &[f32], &RnnWeights) -> RnnCellGradients,
) -> CheckResult {
    let pre = "first da = grad_h ⊙ (1 − h²) (tanh′ from the saved output h), then";
    for (case, &(n, inputs, hidden)) in SHAPES.iter().enumerate() {
        let seed = 950 + 10 * case as u64;
        let x = random_values(n * inputs, 1.0, seed);
        let h_prev = random_values(n * hidden, 0.5, seed + 5);
        let weights = RnnWeights::random(inputs, hidden, seed + 6);
        let h = to_f32(&rnn_cell_f64(&x, &h_prev, &weights));
        let dh = random_values(n * hidden, 1.0, seed + 7);
        let input = format!(
            "{}, {}, h = tanh(…) of them, {}, {}",
            describe("x", &x, &[n, inputs]),
            describe("h_prev", &h_prev, &[n, hidden]),
            describe("grad_h", &dh, &[n, hidden]),
            weights.describe()
        );
        let shape_name = format!("N = {n}, F = {inputs}, H = {hidden}");
        let check = Check::new(format!("output sizes, {shape_name}"), input.clone());
        let grads = check.run(|| f(&x, &h_prev, &h, &dh, &weights));
        check.length("input", grads.input.len(), n * inputs, &[n, inputs])?;
        check.length("hidden", grads.hidden.len(), n * hidden, &[n, hidden])?;
        check.length(
            "weight_ih",
            grads.weight_ih.len(),
            hidden * inputs,
            &[hidden, inputs],
        )?;
        check.length(
            "weight_hh",
            grads.weight_hh.len(),
            hidden * hidden,
            &[hidden, hidden],
        )?;
        check.length("bias", grads.bias.len(), hidden, &[hidden])?;

        // L = Σ grad_h ⊙ h(x, h_prev, weights): its gradients are what backward returns.
        let loss = |x: &[f32], h_prev: &[f32], w: &RnnWeights| -> f64 {
            rnn_cell_f64(x, h_prev, w)
                .iter()
                .zip(&dh)
                .map(|(&a, &b)| a * f64::from(b))
                .sum()
        };
        Check::new(
            format!("gradient of the input x, {shape_name}"),
            input.clone(),
        )
        .gradient(
            "x",
            &[n, inputs],
            &x,
            &grads.input,
            |v| loss(v, &h_prev, &weights),
            &format!("{pre} ∂L/∂x = da·W_ih ([N, H]·[H, F])"),
        )?;
        Check::new(
            format!("gradient of the previous state h_prev, {shape_name}"),
            input.clone(),
        )
        .gradient(
            "h_prev",
            &[n, hidden],
            &h_prev,
            &grads.hidden,
            |v| loss(&x, v, &weights),
            &format!(
                "{pre} ∂L/∂h_prev = da·W_hh ([N, H]·[H, H]: hidden[n][k] = Σⱼ da[n][j]·W_hh[j][k])"
            ),
        )?;
        Check::new(
            format!("gradient of weight_ih, {shape_name}"),
            input.clone(),
        )
        .gradient(
            "weight_ih",
            &[hidden, inputs],
            &weights.weight_ih,
            &grads.weight_ih,
            |v| {
                let mut w = weights.clone();
                w.weight_ih.copy_from_slice(v);
                loss(&x, &h_prev, &w)
            },
            &format!("{pre} dW_ih = daᵀ·x ([H, N]·[N, F], summed over the batch)"),
        )?;
        Check::new(
            format!("gradient of weight_hh, {shape_name}"),
            input.clone(),
        )
        .gradient(
            "weight_hh",
            &[hidden, hidden],
            &weights.weight_hh,
            &grads.weight_hh,
            |v| {
                let mut w = weights.clone();
                w.weight_hh.copy_from_slice(v);
                loss(&x, &h_prev, &w)
            },
            &format!("{pre} dW_hh = daᵀ·h_prev ([H, N]·[N, H]: the *previous* state, not h)"),
        )?;
        Check::new(format!("gradient of the biases, {shape_name}"), input).gradient(
            "bias",
            &[hidden],
            &weights.bias_ih,
            &grads.bias,
            |v| {
                let mut w = weights.clone();
                w.bias_ih.copy_from_slice(v);
                loss(&x, &h_prev, &w)
            },
            &format!("{pre} db = Σₙ da[n] (summed over the batch)"),
        )?;
    }
    Ok(())
}

/// The parameters of an LSTM cell (exercise 9.3), as PyTorch's `nn.LSTM` names and lays them out:
/// four gate blocks of H rows each, in the order **i, f, g, o**.
#[derive(Clone, Debug, PartialEq)]
pub struct LstmWeights {
    /// Features per input, F.
    pub input_size: usize,
    /// Hidden units, H.
    pub hidden_size: usize,
    /// `W_ih`, `[4H, F]`: rows 0..H for the input gate i, H..2H forget f, 2H..3H cell g, 3H..4H output o.
    pub weight_ih: Vec<f32>,
    /// `W_hh`, `[4H, H]`, the same blocks.
    pub weight_hh: Vec<f32>,
    /// `b_ih`, `[4H]`.
    pub bias_ih: Vec<f32>,
    /// `b_hh`, `[4H]`.
    pub bias_hh: Vec<f32>,
}

impl LstmWeights {
    /// Random weights (N(0, 0.5²), seeded) for F inputs and H hidden units.
    pub fn random(input_size: usize, hidden_size: usize, seed: u64) -> LstmWeights {
        let (f, h) = (input_size, hidden_size);
        LstmWeights {
            input_size,
            hidden_size,
            weight_ih: random_values(4 * h * f, 0.5, seed),
            weight_hh: random_values(4 * h * h, 0.5, seed + 1),
            bias_ih: random_values(4 * h, 0.5, seed + 2),
            bias_hh: random_values(4 * h, 0.5, seed + 3),
        }
    }
}

fn sigmoid_f64(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// One LSTM step in f64: returns (h, c).
fn lstm_cell_f64(
    x: &[f32],
    h_prev: &[f32],
    c_prev: &[f32],
    w: &LstmWeights,
) -> (Vec<f64>, Vec<f64>) {
    let hidden = w.hidden_size;
    let a = pre_activation(
        x,
        h_prev,
        &w.weight_ih,
        &w.weight_hh,
        &w.bias_ih,
        &w.bias_hh,
        w.input_size,
        hidden,
    );
    let (mut h, mut c) = (Vec::new(), Vec::new());
    for (gates, c_row) in a.chunks(4 * hidden).zip(c_prev.chunks(hidden)) {
        for j in 0..hidden {
            let i = sigmoid_f64(gates[j]);
            let f = sigmoid_f64(gates[hidden + j]);
            let g = gates[2 * hidden + j].tanh();
            let o = sigmoid_f64(gates[3 * hidden + j]);
            let cell = f * f64::from(c_row[j]) + i * g;
            c.push(cell);
            h.push(o * cell.tanh());
        }
    }
    (h, c)
}

/// Exercise 9.3: `lstm_cell_forward(x, h_prev, c_prev, weights)` returns `(h, c)` after one LSTM step.
pub fn check_lstm_cell_forward(
    f: impl Fn(&[f32], &[f32], &[f32], &LstmWeights) -> (Vec<f32>, Vec<f32>),
) -> CheckResult {
    let hint = "a = x·W_ihᵀ + b_ih + h_prev·W_hhᵀ + b_hh ([N, 4H]); split each row into four blocks of H \
                in PyTorch's order i, f, g, o; i = σ(a_i), f = σ(a_f), g = tanh(a_g), o = σ(a_o); \
                c = f⊙c_prev + i⊙g; h = o⊙tanh(c)";
    // By hand: F = H = 1, x = 1, no recurrent weights or biases: the four gates see 1, 2, 3, 4.
    let mut cases = vec![(
        "a hand example: the gates see a = [1, 2, 3, 4] (i, f, g, o)".to_string(),
        vec![1.0],
        vec![0.0],
        vec![2.0],
        LstmWeights {
            input_size: 1,
            hidden_size: 1,
            weight_ih: vec![1.0, 2.0, 3.0, 4.0],
            weight_hh: vec![0.0; 4],
            bias_ih: vec![0.0; 4],
            bias_hh: vec![0.0; 4],
        },
    )];
    for (case, &(n, inputs, hidden)) in SHAPES.iter().enumerate() {
        let seed = 980 + 10 * case as u64;
        cases.push((
            format!("a batch of {n}, F = {inputs}, H = {hidden}"),
            random_values(n * inputs, 1.0, seed),
            random_values(n * hidden, 0.5, seed + 4),
            random_values(n * hidden, 1.0, seed + 5),
            LstmWeights::random(inputs, hidden, seed + 6),
        ));
    }
    for (name, x, h_prev, c_prev, weights) in cases {
        let (inputs, hidden) = (weights.input_size, weights.hidden_size);
        let n = x.len() / inputs;
        let check = Check::new(
            name,
            format!(
                "{}, {}, {}, weights: {}, {}, {}, {}",
                describe("x", &x, &[n, inputs]),
                describe("h_prev", &h_prev, &[n, hidden]),
                describe("c_prev", &c_prev, &[n, hidden]),
                describe("weight_ih", &weights.weight_ih, &[4 * hidden, inputs]),
                describe("weight_hh", &weights.weight_hh, &[4 * hidden, hidden]),
                describe("bias_ih", &weights.bias_ih, &[4 * hidden]),
                describe("bias_hh", &weights.bias_hh, &[4 * hidden])
            ),
        );
        let (h, c) = check.run(|| f(&x, &h_prev, &c_prev, &weights));
        let (expected_h, expected_c) = lstm_cell_f64(&x, &h_prev, &c_prev, &weights);
        check.values(
            "c",
            &c,
            &to_f32(&expected_c),
            &[n, hidden],
            Tolerance::new(1e-6, 1e-5),
            hint,
        )?;
        check.values(
            "h",
            &h,
            &to_f32(&expected_h),
            &[n, hidden],
            Tolerance::new(1e-6, 1e-5),
            hint,
        )?;
    }
    Ok(())
}
