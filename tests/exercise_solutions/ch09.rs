//! Reference solutions of chapter 9's exercises (see `mod.rs`).

use dlfs::check::ch09::{LstmWeights, RnnCellGradients, RnnWeights};

pub fn rnn_cell_forward(x: &[f32], h_prev: &[f32], weights: &RnnWeights) -> Vec<f32> {
    use dlfs::nn::{Layer, Mode, RNN};
    // One step of the crate's RNN: a sequence of length 1 starting from h_prev.
    let (inputs, hidden) = (weights.input_size, weights.hidden_size);
    let n = x.len() / inputs;
    let mut rnn = RNN::new(inputs, hidden, &mut dlfs::probability::Rng::new(0));
    rnn.visit_params(&mut |name, param| {
        let values = match name {
            "weight_ih_l0" => &weights.weight_ih,
            "weight_hh_l0" => &weights.weight_hh,
            "bias_ih_l0" => &weights.bias_ih,
            _ => &weights.bias_hh,
        };
        param.value.data_mut().copy_from_slice(values);
    });
    rnn.set_initial_state(Some(dlfs::Tensor::from_vec(&[n, hidden], h_prev.to_vec())));
    let input = dlfs::Tensor::from_vec(&[n, 1, inputs], x.to_vec());
    rnn.forward(&input, Mode::Eval).into_data()
}

pub fn rnn_cell_backward(
    x: &[f32],
    h_prev: &[f32],
    h: &[f32],
    grad_h: &[f32],
    weights: &RnnWeights,
) -> RnnCellGradients {
    use dlfs::nn::{Layer, Mode, RNN};
    // The crate's RNN recomputes h in its forward pass, so `h` is not needed here.
    let _ = h;
    let (inputs, hidden) = (weights.input_size, weights.hidden_size);
    let n = x.len() / inputs;
    let mut rnn = RNN::new(inputs, hidden, &mut dlfs::probability::Rng::new(0));
    rnn.visit_params(&mut |name, param| {
        let values = match name {
            "weight_ih_l0" => &weights.weight_ih,
            "weight_hh_l0" => &weights.weight_hh,
            "bias_ih_l0" => &weights.bias_ih,
            _ => &weights.bias_hh,
        };
        param.value.data_mut().copy_from_slice(values);
    });
    rnn.set_initial_state(Some(dlfs::Tensor::from_vec(&[n, hidden], h_prev.to_vec())));
    rnn.forward(
        &dlfs::Tensor::from_vec(&[n, 1, inputs], x.to_vec()),
        Mode::Train,
    );
    let dx = rnn.backward(&dlfs::Tensor::from_vec(&[n, 1, hidden], grad_h.to_vec()));
    let mut gradients = RnnCellGradients {
        input: dx.into_data(),
        hidden: rnn
            .initial_state_grad()
            .map(|g| g.data().to_vec())
            .unwrap_or_default(),
        ..RnnCellGradients::default()
    };
    rnn.visit_params(&mut |name, param| {
        let grad = param.grad.data().to_vec();
        match name {
            "weight_ih_l0" => gradients.weight_ih = grad,
            "weight_hh_l0" => gradients.weight_hh = grad,
            "bias_ih_l0" => gradients.bias = grad,
            _ => {}
        }
    });
    gradients
}

pub fn lstm_cell_forward(
    x: &[f32],
    h_prev: &[f32],
    c_prev: &[f32],
    weights: &LstmWeights,
) -> (Vec<f32>, Vec<f32>) {
    use dlfs::nn::{LSTM, Layer, Mode};
    // One step of the crate's LSTM: a sequence of length 1 starting from (h_prev, c_prev).
    let (inputs, hidden) = (weights.input_size, weights.hidden_size);
    let n = x.len() / inputs;
    let mut lstm = LSTM::new(inputs, hidden, &mut dlfs::probability::Rng::new(0));
    lstm.visit_params(&mut |name, param| {
        let values = match name {
            "weight_ih_l0" => &weights.weight_ih,
            "weight_hh_l0" => &weights.weight_hh,
            "bias_ih_l0" => &weights.bias_ih,
            _ => &weights.bias_hh,
        };
        param.value.data_mut().copy_from_slice(values);
    });
    lstm.set_initial_state(Some((
        dlfs::Tensor::from_vec(&[n, hidden], h_prev.to_vec()),
        dlfs::Tensor::from_vec(&[n, hidden], c_prev.to_vec()),
    )));
    lstm.forward(
        &dlfs::Tensor::from_vec(&[n, 1, inputs], x.to_vec()),
        Mode::Eval,
    );
    let (h, c) = lstm.final_state();
    (h.into_data(), c.into_data())
}
