//! Chapter 9 — 循环神经网络 (RNN, LSTM, GRU).
//!
//! The tutorial: "an RNN keeps a hidden state that carries information from one step of a sequence to
//! the next; plain RNNs suffer from vanishing and exploding gradients, which the LSTM and the GRU
//! address with gates", and the model `SimpleLSTM(input_size=1, hidden_size=32, output_size=1)`: an
//! `LSTM(1, 32)` followed by `Linear(32, 1)`, started from a zero state.
//!
//! This chapter steps an RNN cell by hand, measures how the gradient fades through time (plotted), prints
//! the gates of an LSTM and a GRU on a toy sequence, and trains `SimpleLSTM` to continue a sine wave —
//! with the tutorial's two bugs fixed: its linear layer is applied to the *last* step only (the tutorial
//! applies it to every step), and the zero initial state has the shape the layer expects (the tutorial
//! reads the batch size from `x.size(0)`, which is the sequence length in `nn.LSTM`'s default
//! sequence-first layout).

use dlfs::cli::{Args, Command};
use dlfs::loss::MseLoss;
use dlfs::nn::{GRU, LSTM, Layer, Linear, Mode, Param, RNN, RecurrentOutput, Sequential};
use dlfs::optim::Adam;
use dlfs::probability::Rng;
use dlfs::report::{LinePlot, Table};
use dlfs::train::{self, FitConfig, TensorDataset};
use dlfs::{Result, Tensor, app};
use std::path::Path;

/// The chapter's flags (`--quick`, `--out`, `--threads` come from `app::chapter_command`).
pub fn command() -> Command {
    app::chapter_command(
        "ch09_rnn",
        "Recurrent networks: an RNN step by hand, vanishing gradients, LSTM and GRU gates, SimpleLSTM on a sine wave.",
    )
    .option("epochs", "N", "40", "epochs of the sine-wave training, at least 1 (--quick: 3)")
    .option("steps", "T", "60", "sequence length of the vanishing-gradient experiment, at least 2")
    .option("seed", "S", "9", "seed for weights and data")
}

fn heading(title: &str) {
    println!("\n## {title}\n");
}

/// The chapter itself.
pub fn run(args: &Args) -> Result<()> {
    let out = app::out_dir(args)?;
    let seed: u64 = args.get("seed")?;
    let epochs: usize = app::quick_or_given(args, "epochs", 3)?;
    let steps: usize = args.get("steps")?;
    if epochs == 0 {
        return Err(dlfs::Error::usage(
            "--epochs must be at least 1 (the sine-wave section reports the loss of each epoch)",
        ));
    }
    if steps < 2 {
        return Err(dlfs::Error::usage(format!(
            "--steps must be at least 2 (a gradient has to travel back at least one step), got {steps}"
        )));
    }
    // What --steps asks for, checked before anything is allocated: four recurrent layers on a batch
    // of 16 sequences of T steps, caching about 12 values per hidden unit and step for backward.
    app::MemoryPlan::new().add(
        "--steps",
        steps,
        "the four layers' caches of the vanishing-gradient experiment",
        app::f32_bytes(&[steps, 16, 32, 48]),
    )?;

    println!("# 9. 循环神经网络 — recurrent networks (RNN, LSTM, GRU)");
    rnn_step_by_hand();
    vanishing_gradients(steps, seed, &out)?;
    gates(seed);
    sine_wave(epochs, seed, &out)?;
    app::exercises_hint("ch09");
    Ok(())
}

/// Sets a parameter of `layer` by its PyTorch name.
fn set_param(layer: &mut dyn Layer, name: &str, values: &[f32]) {
    layer.visit_params(&mut |n: &str, p: &mut Param| {
        if n == name {
            p.value.data_mut().copy_from_slice(values);
        }
    });
}

// ---------------------------------------------------------------------------------------------
// 9.1
// ---------------------------------------------------------------------------------------------

fn rnn_step_by_hand() {
    heading("9.1 An RNN cell, one step at a time");
    println!(
        "h_t = tanh(W_ih·x_t + b_ih + W_hh·h_(t−1) + b_hh): the new state mixes the input with the old \
         state.\nOne input feature, two hidden units, weights chosen by hand:\n"
    );
    let w_ih = [0.5f32, -1.0];
    let w_hh = [0.8f32, 0.2, -0.3, 0.9];
    let b_ih = [0.1f32, 0.0];
    let b_hh = [0.0f32, 0.1];
    println!(
        "  W_ih = {w_ih:?}ᵀ   W_hh = [[0.8, 0.2], [-0.3, 0.9]]   b_ih = {b_ih:?}   b_hh = {b_hh:?}"
    );
    let xs = [1.0f32, 0.0, -1.0];
    let mut h = [0.0f32; 2];
    let mut by_hand = Vec::new();
    for (t, &x) in xs.iter().enumerate() {
        let mut next = [0.0f32; 2];
        for j in 0..2 {
            let pre = w_ih[j] * x + b_ih[j] + w_hh[2 * j] * h[0] + w_hh[2 * j + 1] * h[1] + b_hh[j];
            next[j] = pre.tanh();
            println!(
                "  t={t} unit {j}: tanh({}·{x} + {} + {}·{:.4} + {}·{:.4} + {}) = tanh({pre:.4}) = {:.4}",
                w_ih[j],
                b_ih[j],
                w_hh[2 * j],
                h[0],
                w_hh[2 * j + 1],
                h[1],
                b_hh[j],
                next[j]
            );
        }
        h = next;
        by_hand.extend_from_slice(&h);
    }
    let mut rnn = RNN::new(1, 2, &mut Rng::new(0));
    set_param(&mut rnn, "weight_ih_l0", &w_ih);
    set_param(&mut rnn, "weight_hh_l0", &w_hh);
    set_param(&mut rnn, "bias_ih_l0", &b_ih);
    set_param(&mut rnn, "bias_hh_l0", &b_hh);
    let y = rnn.forward(&Tensor::from_vec(&[1, 3, 1], xs.to_vec()), Mode::Eval);
    println!(
        "\nThe same weights in `dlfs::nn::RNN` (input [N=1, T=3, F=1], batch-first), all three states:\n  {:?}\n  by hand: {:?}",
        y.data(),
        by_hand
    );
    println!(
        "Note how x = 0 at t=1 still gives a non-zero state: the state remembers the first input."
    );
}

// ---------------------------------------------------------------------------------------------
// 9.2
// ---------------------------------------------------------------------------------------------

/// ‖∂L/∂x_t‖ for every t, averaged over a batch, where L depends on the last output only.
fn gradient_through_time(layer: &mut dyn Layer, x: &Tensor) -> Vec<f32> {
    let y = layer.forward(x, Mode::Train);
    // L = Σ of the last step's outputs: ∂L/∂y = 1 there.
    let dx = layer.backward(&Tensor::ones(y.shape()));
    let (n, t, f) = (x.dim(0), x.dim(1), x.dim(2));
    (0..t)
        .map(|step| {
            let mut total = 0.0f64;
            for s in 0..n {
                let row = &dx.data()[(s * t + step) * f..(s * t + step + 1) * f];
                total += row
                    .iter()
                    .map(|&v| f64::from(v).powi(2))
                    .sum::<f64>()
                    .sqrt();
            }
            (total / n as f64) as f32
        })
        .collect()
}

fn vanishing_gradients(steps: usize, seed: u64, out: &Path) -> Result<()> {
    heading("9.2 Why gradients vanish");
    println!(
        "Backpropagation through time multiplies the gradient by ∂h_t/∂h_(t−1) = diag(1 − h_t²)·W_hh at \
         every step back.\nWhen those factors are smaller than one the gradient shrinks geometrically: \
         the loss at the last step\nhardly reaches the early inputs. We feed {steps} random steps to \
         layers with 32 units (PyTorch's initialisation),\nput the loss on the last output only, and \
         measure ‖∂L/∂x_t‖ for every step t:\n"
    );
    let (batch, features, hidden) = (16, 4, 32);
    let mut rng = Rng::new(seed);
    let x = Tensor::randn(&[batch, steps, features], 0.0, 1.0, &mut rng);
    let mut rnn = RNN::new(features, hidden, &mut rng).output(RecurrentOutput::LastStep);
    let mut lstm = LSTM::new(features, hidden, &mut rng).output(RecurrentOutput::LastStep);
    let mut gru = GRU::new(features, hidden, &mut rng).output(RecurrentOutput::LastStep);
    // The same LSTM with its forget gates opened: bias +3 on the f block (Keras adds +1 by default,
    // `unit_forget_bias`), so f = σ(3 + …) ≈ 0.95 and the cell keeps what it holds.
    let mut open_lstm =
        LSTM::new(features, hidden, &mut Rng::new(seed ^ 1)).output(RecurrentOutput::LastStep);
    let mut bias = Vec::new();
    open_lstm.visit_params(&mut |name, p| {
        if name == "bias_ih_l0" {
            bias = p.value.data().to_vec();
        }
    });
    for b in &mut bias[hidden..2 * hidden] {
        *b += 3.0;
    }
    set_param(&mut open_lstm, "bias_ih_l0", &bias);
    let curves = [
        ("RNN (tanh)", gradient_through_time(&mut rnn, &x)),
        ("LSTM", gradient_through_time(&mut lstm, &x)),
        ("GRU", gradient_through_time(&mut gru, &x)),
        ("LSTM f-bias +3", gradient_through_time(&mut open_lstm, &x)),
    ];
    let mut table = Table::new(&[
        "steps before the end",
        "RNN",
        "LSTM",
        "GRU",
        "LSTM f-bias +3",
    ]);
    for back in [0usize, 5, 10, 20, 40, steps - 1] {
        if back >= steps {
            continue;
        }
        let t = steps - 1 - back;
        table.row(&[
            back.to_string(),
            format!("{:.2e}", curves[0].1[t]),
            format!("{:.2e}", curves[1].1[t]),
            format!("{:.2e}", curves[2].1[t]),
            format!("{:.2e}", curves[3].1[t]),
        ]);
    }
    println!("{table}");
    let mut plot = LinePlot::new("Gradient reaching each input step (loss on the last step)")
        .x_label("steps before the end")
        .y_label("‖∂L/∂x_t‖")
        .log_y();
    for (name, curve) in &curves {
        let points: Vec<(f64, f64)> = curve
            .iter()
            .enumerate()
            .map(|(t, &g)| ((steps - 1 - t) as f64, f64::from(g.max(1e-30))))
            .collect();
        plot = plot.line(name, &points);
    }
    let path = out.join("vanishing_gradients.svg");
    plot.save(&path)?;
    println!("wrote {}", path.display());
    let ratio = |curve: &[f32]| curve[0] / curve[steps - 1];
    println!(
        "\nFrom the last step to the first the gradient shrinks by {:.0e} (RNN), {:.0e} (LSTM), {:.0e} \
         (GRU),\nbut only by {:.0e} for the LSTM whose forget gates start open.\n\
         Untrained, the gated layers fade too: their gates sit near σ(0) = 0.5. What the gates add is a \
         path that\n*can* carry the gradient: the cell c_t = f⊙c_(t−1) + i⊙g is updated by addition, so \
         the gradient flows\nback through it multiplied by f alone — no squashing, no W_hh. Where f is \
         near 1 it barely fades, and\ntraining learns to open f where something must be remembered. A \
         plain RNN has no such path.",
        ratio(&curves[0].1),
        ratio(&curves[1].1),
        ratio(&curves[2].1),
        ratio(&curves[3].1)
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// 9.3
// ---------------------------------------------------------------------------------------------

fn gates(seed: u64) {
    heading("9.3 LSTM and GRU gates on a toy sequence");
    println!(
        "LSTM (PyTorch's gate order i, f, g, o in weight_ih_l0 [4H, F] and weight_hh_l0 [4H, H]):\n  \
         i = σ(·) input gate: how much of the candidate to write\n  f = σ(·) forget gate: how much of \
         the old cell to keep\n  g = tanh(·) candidate values\n  o = σ(·) output gate: how much of \
         the cell to show\n  c_t = f⊙c_(t−1) + i⊙g,  h_t = o⊙tanh(c_t)\n"
    );
    let xs = vec![1.0f32, 0.0, 0.0, -1.0, 0.0, 0.0];
    let x = Tensor::from_vec(&[1, xs.len(), 1], xs.clone());
    let mut rng = Rng::new(seed);
    let mut lstm = LSTM::new(1, 2, &mut rng);
    let h = lstm.forward(&x, Mode::Train);
    let g = lstm.gate_activations();
    let mut table = Table::new(&["t", "x", "i", "f", "g", "o", "h"]);
    for (t, &xt) in xs.iter().enumerate() {
        let row = &g.data()[t * 8..(t + 1) * 8];
        let pair = |k: usize| format!("{:+.2} {:+.2}", row[2 * k], row[2 * k + 1]);
        table.row(&[
            t.to_string(),
            format!("{xt:+.0}"),
            pair(0),
            pair(1),
            pair(2),
            pair(3),
            format!("{:+.2} {:+.2}", h.data()[2 * t], h.data()[2 * t + 1]),
        ]);
    }
    println!("An untrained LSTM with 2 units (each cell shows both units):\n{table}");
    println!(
        "The gates are numbers between 0 and 1 computed from the input and the previous state; \
         training sets\ntheir weights so that f stays near 1 for what must be remembered and i opens \
         when something worth\nwriting arrives.\n"
    );
    println!(
        "GRU (gate order r, z, n): two gates and no separate cell —\n  r = σ(·) reset: how much of the \
         old state the candidate sees (PyTorch: r ⊙ (W_hn·h + b_hn))\n  z = σ(·) update: how much of \
         the old state to keep\n  n = tanh(·) candidate,  h_t = (1 − z)⊙n + z⊙h_(t−1)\n"
    );
    let mut gru = GRU::new(1, 2, &mut rng);
    let h = gru.forward(&x, Mode::Train);
    let g = gru.gate_activations();
    let mut table = Table::new(&["t", "x", "r", "z", "n", "h"]);
    for (t, &xt) in xs.iter().enumerate() {
        let row = &g.data()[t * 6..(t + 1) * 6];
        let pair = |k: usize| format!("{:+.2} {:+.2}", row[2 * k], row[2 * k + 1]);
        table.row(&[
            t.to_string(),
            format!("{xt:+.0}"),
            pair(0),
            pair(1),
            pair(2),
            format!("{:+.2} {:+.2}", h.data()[2 * t], h.data()[2 * t + 1]),
        ]);
    }
    println!("An untrained GRU with 2 units:\n{table}");
}

// ---------------------------------------------------------------------------------------------
// 9.4
// ---------------------------------------------------------------------------------------------

/// Windows of `window` values of a sine wave (with a little noise) and the value that follows each.
fn sine_windows(count: usize, window: usize, start: usize, rng: &mut Rng) -> (Tensor, Tensor) {
    let value = |i: usize| (i as f32 * 0.15).sin();
    let mut inputs = Vec::with_capacity(count * window);
    let mut targets = Vec::with_capacity(count);
    for k in 0..count {
        let first = start + k;
        for i in first..first + window {
            inputs.push(value(i) + rng.normal(0.0, 0.02));
        }
        targets.push(value(first + window));
    }
    (
        Tensor::from_vec(&[count, window, 1], inputs),
        Tensor::from_vec(&[count, 1], targets),
    )
}

fn sine_wave(epochs: usize, seed: u64, out: &Path) -> Result<()> {
    heading("9.4 The tutorial's SimpleLSTM(1, 32, 1) continues a sine wave");
    println!(
        "SimpleLSTM = LSTM(input_size=1, hidden_size=32) → Linear(32, 1) on the LAST step, zero initial \
         state.\nTwo fixes to the tutorial's code:\n\
         (1) it applied the linear layer to every time step, giving one output per step instead of one\n\
         \x20   prediction per sequence;\n\
         (2) it built the zero state as torch.zeros(1, x.size(0), 32). The leading 1 (the layer axis) is\n\
         \x20   right, but nn.LSTM is sequence-first by default, x of shape [T, N, 1], so x.size(0) is the\n\
         \x20   sequence length T, not the batch size N (that is x.size(1)). With T ≠ N PyTorch stops with\n\
         \x20   \"Expected hidden[0] size (1, N, 32), got [1, T, 32]\"; with T = N it runs by coincidence.\n\
         Here the layer is batch-first ([N, T, 1]), the state defaults to zeros of shape [N, 32], and the\n\
         linear layer sees only h_T.\n"
    );
    let window = 20;
    let mut rng = Rng::new(seed);
    let (train_x, train_y) = sine_windows(600, window, 0, &mut rng);
    let (test_x, test_y) = sine_windows(150, window, 700, &mut rng);
    let mut model = Sequential::new(vec![
        Box::new(LSTM::new(1, 32, &mut rng).output(RecurrentOutput::LastStep)),
        Box::new(Linear::new(32, 1, &mut rng)),
    ]);
    let data = TensorDataset::new(&train_x, &train_y)?;
    let mut optimizer = Adam::new(0.01);
    let config = FitConfig::new(epochs, 32)
        .seed(seed)
        .progress(Some("SimpleLSTM"));
    let history = train::fit(&mut model, &mut optimizer, &MseLoss::new(), &data, &config)?;
    let losses = history.losses();
    println!(
        "{} windows of {window} noisy values → the next value; MSE, Adam 0.01, batch 32, {epochs} epochs.\n\
         training loss: epoch 1 {:.4} → epoch {epochs} {:.5}",
        train_x.dim(0),
        losses[0],
        losses[losses.len() - 1]
    );
    let test_data = TensorDataset::new(&test_x, &test_y)?;
    let test = train::evaluate(
        &mut model,
        &MseLoss::new(),
        &test_data,
        150,
        Default::default(),
    )?;
    let predicted = train::predict(&mut model, &test_x, 150);
    // The naive forecast repeats the last value of each window.
    let naive: Vec<f32> = (0..test_x.dim(0))
        .map(|k| test_x.data()[(k + 1) * window - 1])
        .collect();
    let naive_mse = naive
        .iter()
        .zip(test_y.data())
        .map(|(&a, &b)| (a - b).powi(2))
        .sum::<f32>()
        / naive.len() as f32;
    println!(
        "test MSE on later windows it never saw: {:.5} (repeating the last value: {naive_mse:.5})",
        test.loss
    );
    let points = |values: &[f32]| -> Vec<(f64, f64)> {
        values
            .iter()
            .enumerate()
            .map(|(i, &v)| (i as f64, f64::from(v)))
            .collect()
    };
    let path = out.join("sine_wave.svg");
    LinePlot::new("SimpleLSTM: next value of a sine wave (test windows)")
        .x_label("test window")
        .y_label("value")
        .line("true next value", &points(test_y.data()))
        .dashed("LSTM prediction", &points(predicted.data()))
        .save(&path)?;
    println!("wrote {}", path.display());
    Ok(())
}

fn main() {
    app::main_for(command(), run);
}
