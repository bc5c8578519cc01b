//! PyTorch's own numbers, reproduced: `tests/fixtures/golden_*.safetensors` were written by
//! `tests/fixtures/make_golden_reuse.py` (PyTorch, run by hand; these tests need no Python). Each
//! file holds a model's parameters as PyTorch saved them, an input, PyTorch's output and loss, and
//! the gradients of that loss with respect to every parameter, the input and the initial states
//! (`grad.<name>`; see `tests/fixtures/README.md`). We load the parameters through the state-dict
//! API (the LSTM's and GRU's `nn.LSTM(num_layers=2)` / `nn.GRU(num_layers=2)` state dicts strictly,
//! unchanged), run the same computation and compare everything.
//!
//! # Tolerances, and why
//! Both sides compute in f32 but sum in different orders (PyTorch's oneDNN/MKL kernels against our
//! GEMM; our losses accumulate in f64). Each sum of K products then differs by a few units of
//! f32's ε = 6·10⁻⁸ relative to the size of its terms, and those differences pass through the
//! layers. So a tensor is compared relative to its own scale:
//! `|got − expected| ≤ 10⁻⁵·max|expected| + 10⁻⁴·|expected|`, about 170 ε of the largest value.
//! The largest difference measured is 6.7·10⁻⁷ of the scale (about 11 ε; every tensor's is printed
//! with `--nocapture`), 15 times inside the tolerance, while a real mistake (a wrong gate order, a
//! transposed weight, a missing term) changes values by 10⁻² of their scale or more (the last test
//! shows one).

use dlfs::Tensor;
use dlfs::check::{Tolerance, assert_close};
use dlfs::checkpoint;
use dlfs::loss::{CrossEntropyLoss, Loss, MseLoss};
use dlfs::nn::{CifarCnn, GRU, LSTM, Layer, Linear, Mode, RecurrentOutput, Sequential, StateDict};
use dlfs::probability::Rng;
use std::path::PathBuf;

fn golden(name: &str) -> StateDict {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    checkpoint::read_state_dict(&path).unwrap_or_else(|e| panic!("{e}"))
}

fn get<'a>(state: &'a StateDict, name: &str) -> &'a Tensor {
    state
        .get(name)
        .unwrap_or_else(|| panic!("the golden file has no tensor \"{name}\""))
}

/// Compares `got` with the golden tensor `name` at the tolerance of the module docs; prints the
/// largest difference relative to the tensor's scale.
fn compare(state: &StateDict, name: &str, got: &Tensor) {
    let expected = get(state, name);
    assert_eq!(got.shape(), expected.shape(), "{name}: shape");
    let scale = expected.data().iter().fold(0.0f32, |m, v| m.max(v.abs()));
    let worst = got
        .data()
        .iter()
        .zip(expected.data())
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    println!(
        "{name:<22} max |difference| {worst:.2e}, {:.2e} of the tensor's scale {scale:.3e}",
        worst / scale.max(f32::MIN_POSITIVE)
    );
    assert_close(
        name,
        expected.shape(),
        got.data(),
        expected.data(),
        Tolerance::new(1e-5 * scale, 1e-4),
    );
}

/// Every parameter gradient of `model` against `grad.<prefix><name>`.
fn compare_parameter_grads(state: &StateDict, prefix: &str, model: &mut dyn Layer) {
    let mut grads = Vec::new();
    model.visit_params(&mut |name, p| grads.push((name.to_string(), p.grad.clone())));
    for (name, grad) in grads {
        compare(state, &format!("grad.{prefix}{name}"), &grad);
    }
}

fn compare_loss(state: &StateDict, value: f32) {
    compare(state, "loss", &Tensor::from_vec(&[1], vec![value]));
}

#[test]
fn lenet_matches_pytorch_forward_loss_and_every_gradient() {
    let state = golden("golden_lenet.safetensors");
    let mut model = CifarCnn::new(&mut Rng::new(0));
    // Non-strict: the file also holds the input, the output and the gradients, which the model
    // does not have; every parameter must be found.
    let report = model.load_state_dict(&state, false).unwrap();
    assert!(report.missing_keys.is_empty(), "{report:?}");
    let data = ["input", "target", "output", "loss"];
    assert!(
        report
            .unexpected_keys
            .iter()
            .all(|k| k.starts_with("grad.") || data.contains(&k.as_str())),
        "{report:?}"
    );
    model.conv1.set_input_gradient(true);
    let output = model.forward(get(&state, "input"), Mode::Train);
    compare(&state, "output", &output);
    let loss = CrossEntropyLoss::new().compute(&output, get(&state, "target"));
    compare_loss(&state, loss.value);
    let dx = model.backward(&loss.grad);
    compare(&state, "grad.input", &dx);
    compare_parameter_grads(&state, "", &mut model);
}

#[test]
fn a_two_layer_lstm_classifier_matches_pytorch_including_its_states() {
    let state = golden("golden_lstm.safetensors");
    // PyTorch's nn.LSTM(3, 8, num_layers=2, batch_first=True) state dict, loaded strictly as is.
    let mut lstm = LSTM::stacked(3, 8, 2, &mut Rng::new(0)).output(RecurrentOutput::LastStep);
    let report = lstm
        .load_state_dict(&state.clone().submodule("lstm"), true)
        .unwrap();
    assert!(report.is_exact());
    let mut fc = Linear::new(8, 2, &mut Rng::new(1));
    fc.load_state_dict(&state.clone().submodule("fc"), true)
        .unwrap();
    // The same model as one Sequential: its keys `0.…` and `1.…` are PyTorch's `lstm.…` and `fc.…`.
    let mut model = Sequential::default();
    model.push(lstm);
    model.push(fc);
    let renamed = state
        .clone()
        .map_keys(|k| {
            k.strip_prefix("lstm.")
                .map(|rest| format!("0.{rest}"))
                .or_else(|| k.strip_prefix("fc.").map(|rest| format!("1.{rest}")))
        })
        .unwrap();
    assert!(model.load_state_dict(&renamed, true).unwrap().is_exact());

    let (h0, c0) = (get(&state, "h0").clone(), get(&state, "c0").clone());
    model
        .layer_mut::<LSTM>(0)
        .unwrap()
        .set_initial_state(Some((h0, c0)));
    let output = model.forward(get(&state, "input"), Mode::Train);
    compare(&state, "output", &output);
    let (h_n, c_n) = model.layer::<LSTM>(0).unwrap().final_state();
    compare(&state, "h_n", &h_n);
    compare(&state, "c_n", &c_n);
    let loss = CrossEntropyLoss::new().compute(&output, get(&state, "target"));
    compare_loss(&state, loss.value);
    let dx = model.backward(&loss.grad);
    compare(&state, "grad.input", &dx);
    let (dh0, dc0) = model
        .layer::<LSTM>(0)
        .unwrap()
        .initial_state_grad()
        .unwrap();
    compare(&state, "grad.h0", &dh0);
    compare(&state, "grad.c0", &dc0);
    compare_parameter_grads(
        &state
            .clone()
            .map_keys(|k| {
                Some(
                    k.replacen("grad.lstm.", "grad.0.", 1)
                        .replacen("grad.fc.", "grad.1.", 1),
                )
            })
            .unwrap(),
        "",
        &mut model,
    );
}

#[test]
fn a_two_layer_gru_matches_pytorch_including_its_states() {
    let state = golden("golden_gru.safetensors");
    let mut gru = GRU::stacked(4, 6, 2, &mut Rng::new(0));
    assert!(
        gru.load_state_dict(&state.clone().submodule("gru"), true)
            .unwrap()
            .is_exact()
    );
    gru.set_initial_state(Some(get(&state, "h0").clone()));
    let output = gru.forward(get(&state, "input"), Mode::Train);
    compare(&state, "output", &output);
    compare(&state, "h_n", &gru.final_state());
    let loss = MseLoss::new().compute(&output, get(&state, "target"));
    compare_loss(&state, loss.value);
    let dx = gru.backward(&loss.grad);
    compare(&state, "grad.input", &dx);
    compare(&state, "grad.h0", gru.initial_state_grad().unwrap());
    compare_parameter_grads(&state, "gru.", &mut gru);
}

#[test]
fn the_comparison_would_catch_a_wrong_gate_order() {
    // Swap the forget and input gate blocks of one LSTM weight: the output must then fail the
    // tolerance (so the tests above can fail).
    let state = golden("golden_lstm.safetensors");
    let mut lstm = LSTM::stacked(3, 8, 2, &mut Rng::new(0)).output(RecurrentOutput::LastStep);
    let mut part = state.clone().submodule("lstm");
    let w = part.get("weight_ih_l0").unwrap().clone();
    let (rows, cols) = (w.dim(0), w.dim(1));
    let h = rows / 4;
    let mut swapped = w.clone();
    for r in 0..h {
        for c in 0..cols {
            swapped.set(&[r, c], w.at(&[h + r, c]));
            swapped.set(&[h + r, c], w.at(&[r, c]));
        }
    }
    part.insert("weight_ih_l0", swapped);
    lstm.load_state_dict(&part, true).unwrap();
    lstm.set_initial_state(Some((get(&state, "h0").clone(), get(&state, "c0").clone())));
    lstm.forward(get(&state, "input"), Mode::Eval);
    let (h_n, _) = lstm.final_state();
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        compare(&state, "h_n", &h_n)
    }));
    assert!(result.is_err(), "a wrong gate order went unnoticed");
}
