//! Stacked recurrent layers (`num_layers`, dropout between layers), for LSTM, GRU and RNN alike:
//! PyTorch's parameter names and shapes; a stack computes exactly what one-layer modules in a chain
//! compute (forward, backward, initial states and their gradients, final states — bit for bit);
//! finite-difference gradient checks with two layers, without dropout, with dropout in training
//! (fixed masks) and in evaluation; the initial state set and its gradient read through a
//! `Sequential`.
//!
//! Tolerances: gradient checks use `dlfs::check`'s defaults (h = 10⁻², relative error ≤ 10⁻²; see
//! `dlfs::check`'s module docs for why f32 needs these). Equivalences are exact: the same operations
//! in the same order.

use dlfs::check::{GradCheckConfig, assert_gradcheck_layer, gradcheck};
use dlfs::nn::{
    Dropout, GRU, LSTM, Layer, Linear, Mode, Param, RNN, RecurrentOutput, Sequential, StateDict,
};
use dlfs::probability::Rng;
use dlfs::tensor::Tensor;

fn random(shape: &[usize], seed: u64) -> Tensor {
    Tensor::randn(shape, 0.0, 1.0, &mut Rng::new(seed))
}

/// What the tests need of LSTM, GRU and RNN, so that each test is written once for the three.
trait Recurrent: Layer + Sized {
    /// Gate blocks per layer: 4, 3, 1.
    const GATES: usize;
    /// State tensors: 2 (h, c) or 1 (h).
    const STATES: usize;
    fn stacked(input: usize, hidden: usize, layers: usize, seed: u64) -> Self;
    fn with_output(self, output: RecurrentOutput) -> Self;
    fn with_dropout(self, p: f32) -> Self;
    fn reseed(&mut self, seed: u64);
    fn set_states(&mut self, states: Vec<Tensor>);
    fn state_grads(&self) -> Vec<Tensor>;
    fn final_states(&self) -> Vec<Tensor>;
    /// (input_size, hidden_size, num_layers)
    fn sizes(&self) -> (usize, usize, usize);
}

impl Recurrent for LSTM {
    const GATES: usize = 4;
    const STATES: usize = 2;
    fn stacked(input: usize, hidden: usize, layers: usize, seed: u64) -> LSTM {
        LSTM::stacked(input, hidden, layers, &mut Rng::new(seed))
    }
    fn with_output(self, output: RecurrentOutput) -> LSTM {
        self.output(output)
    }
    fn with_dropout(self, p: f32) -> LSTM {
        self.dropout(p)
    }
    fn reseed(&mut self, seed: u64) {
        self.reseed_dropout(seed);
    }
    fn set_states(&mut self, states: Vec<Tensor>) {
        let mut states = states.into_iter();
        self.set_initial_state(Some((states.next().unwrap(), states.next().unwrap())));
    }
    fn state_grads(&self) -> Vec<Tensor> {
        let (h, c) = self.initial_state_grad().expect("after backward");
        vec![h, c]
    }
    fn final_states(&self) -> Vec<Tensor> {
        let (h, c) = self.final_state();
        vec![h, c]
    }
    fn sizes(&self) -> (usize, usize, usize) {
        (self.input_size(), self.hidden_size(), self.num_layers())
    }
}

impl Recurrent for GRU {
    const GATES: usize = 3;
    const STATES: usize = 1;
    fn stacked(input: usize, hidden: usize, layers: usize, seed: u64) -> GRU {
        GRU::stacked(input, hidden, layers, &mut Rng::new(seed))
    }
    fn with_output(self, output: RecurrentOutput) -> GRU {
        self.output(output)
    }
    fn with_dropout(self, p: f32) -> GRU {
        self.dropout(p)
    }
    fn reseed(&mut self, seed: u64) {
        self.reseed_dropout(seed);
    }
    fn set_states(&mut self, states: Vec<Tensor>) {
        self.set_initial_state(states.into_iter().next());
    }
    fn state_grads(&self) -> Vec<Tensor> {
        vec![self.initial_state_grad().expect("after backward").clone()]
    }
    fn final_states(&self) -> Vec<Tensor> {
        vec![self.final_state()]
    }
    fn sizes(&self) -> (usize, usize, usize) {
        (self.input_size(), self.hidden_size(), self.num_layers())
    }
}

impl Recurrent for RNN {
    const GATES: usize = 1;
    const STATES: usize = 1;
    fn stacked(input: usize, hidden: usize, layers: usize, seed: u64) -> RNN {
        RNN::stacked(input, hidden, layers, &mut Rng::new(seed))
    }
    fn with_output(self, output: RecurrentOutput) -> RNN {
        self.output(output)
    }
    fn with_dropout(self, p: f32) -> RNN {
        self.dropout(p)
    }
    fn reseed(&mut self, seed: u64) {
        self.reseed_dropout(seed);
    }
    fn set_states(&mut self, states: Vec<Tensor>) {
        self.set_initial_state(states.into_iter().next());
    }
    fn state_grads(&self) -> Vec<Tensor> {
        vec![self.initial_state_grad().expect("after backward").clone()]
    }
    fn final_states(&self) -> Vec<Tensor> {
        vec![self.final_state()]
    }
    fn sizes(&self) -> (usize, usize, usize) {
        (self.input_size(), self.hidden_size(), self.num_layers())
    }
}

fn names_and_shapes(layer: &mut dyn Layer) -> Vec<(String, Vec<usize>)> {
    let mut out = Vec::new();
    layer.visit_params(&mut |name, p: &mut Param| {
        out.push((name.to_string(), p.value.shape().to_vec()))
    });
    out
}

fn grads(layer: &mut dyn Layer) -> Vec<(String, Vec<f32>)> {
    let mut out = Vec::new();
    layer.visit_params(&mut |name, p: &mut Param| {
        out.push((name.to_string(), p.grad.data().to_vec()))
    });
    out
}

fn check_names<T: Recurrent>() {
    let (f, h) = (3, 5);
    let g = T::GATES * h;
    let mut stack = T::stacked(f, h, 3, 1);
    let mut expected = Vec::new();
    for l in 0..3 {
        let input = if l == 0 { f } else { h };
        expected.push((format!("weight_ih_l{l}"), vec![g, input]));
        expected.push((format!("weight_hh_l{l}"), vec![g, h]));
        expected.push((format!("bias_ih_l{l}"), vec![g]));
        expected.push((format!("bias_hh_l{l}"), vec![g]));
    }
    assert_eq!(names_and_shapes(&mut stack), expected);
    assert_eq!(stack.sizes(), (f, h, 3));
}

#[test]
fn stacked_layers_have_pytorchs_names_and_shapes() {
    check_names::<LSTM>();
    check_names::<GRU>();
    check_names::<RNN>();
}

#[test]
fn one_layer_constructors_are_stacks_of_one() {
    // `new` = `stacked(…, 1, …)`: the same weights from the same generator, the old names.
    let mut a = LSTM::new(3, 4, &mut Rng::new(9));
    let mut b = LSTM::stacked(3, 4, 1, &mut Rng::new(9));
    assert_eq!(a.state_dict(), b.state_dict());
    assert_eq!(
        a.state_dict().names().collect::<Vec<_>>(),
        ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"]
    );
    assert_eq!(
        a.describe(),
        "LSTM(input=3, hidden=4, returns sequence [N, T, H])"
    );
    let c = GRU::stacked(3, 4, 2, &mut Rng::new(9))
        .dropout(0.25)
        .output(RecurrentOutput::LastStep);
    assert_eq!(
        c.describe(),
        "GRU(input=3, hidden=4, num_layers=2, dropout=0.25, returns last step [N, H])"
    );
    assert_eq!(
        RNN::stacked(2, 3, 2, &mut Rng::new(1)).describe(),
        "RNN(input=2, hidden=3, tanh, num_layers=2, returns sequence [N, T, H])"
    );
    // A one-layer state may be given as [N, H]; gradients and final states are [1, N, H].
    let h0 = random(&[2, 4], 3);
    a.set_initial_state(Some((h0.clone(), h0)));
    let y = a.forward(&random(&[2, 5, 3], 4), Mode::Train);
    a.backward(&Tensor::ones(y.shape()));
    assert_eq!(a.initial_state_grad().unwrap().0.shape(), &[1, 2, 4]);
    assert_eq!(a.final_state().1.shape(), &[1, 2, 4]);
}

/// The one-layer modules equivalent to `stack`: layer l is a one-layer module of the same type
/// holding the stack's `_l{l}` weights, under the name `{l}.…_l0` in a `Sequential`.
fn chain_of_single_layers<T: Recurrent>(stack: &mut T, output: RecurrentOutput) -> Sequential {
    let (f, h, layers) = stack.sizes();
    let mut chain = Sequential::default();
    for l in 0..layers {
        let single = T::stacked(if l == 0 { f } else { h }, h, 1, 100 + l as u64);
        chain.push(if l + 1 == layers {
            single.with_output(output)
        } else {
            single
        });
    }
    let renamed: StateDict = stack
        .state_dict()
        .map_keys(|name| {
            let (base, layer) = name.rsplit_once("_l").unwrap();
            Some(format!("{layer}.{base}_l0"))
        })
        .unwrap();
    chain.load_state_dict(&renamed, true).unwrap();
    chain
}

fn check_stack_equals_chain<T: Recurrent>() {
    let (n, t, f, h, layers) = (3, 4, 2, 5, 2);
    for output in [RecurrentOutput::Sequence, RecurrentOutput::LastStep] {
        let mut stack = T::stacked(f, h, layers, 7).with_output(output);
        let mut chain = chain_of_single_layers(&mut stack, output);
        let states: Vec<Tensor> = (0..T::STATES)
            .map(|k| random(&[layers, n, h], 20 + k as u64).scale(0.5))
            .collect();
        stack.set_states(states.clone());
        for l in 0..layers {
            let slice = |s: &Tensor| {
                Tensor::from_vec(&[n, h], s.data()[l * n * h..(l + 1) * n * h].to_vec())
            };
            chain
                .layer_mut::<T>(l)
                .unwrap()
                .set_states(states.iter().map(slice).collect());
        }
        let x = random(&[n, t, f], 8);
        let y_stack = stack.forward(&x, Mode::Train);
        let y_chain = chain.forward(&x, Mode::Train);
        assert_eq!(y_stack, y_chain, "forward, {output:?}");
        let r = random(y_stack.shape(), 9);
        assert_eq!(stack.backward(&r), chain.backward(&r), "∂L/∂x, {output:?}");
        let renamed: Vec<(String, Vec<f32>)> = grads(&mut stack)
            .into_iter()
            .map(|(name, g)| {
                let (base, layer) = name.rsplit_once("_l").unwrap();
                (format!("{layer}.{base}_l0"), g)
            })
            .collect();
        assert_eq!(
            renamed,
            grads(&mut chain),
            "parameter gradients, {output:?}"
        );
        for (k, (grad, final_state)) in stack
            .state_grads()
            .into_iter()
            .zip(stack.final_states())
            .enumerate()
        {
            assert_eq!(grad.shape(), &[layers, n, h]);
            assert_eq!(final_state.shape(), &[layers, n, h]);
            for l in 0..layers {
                let single = chain.layer::<T>(l).unwrap();
                let part = l * n * h..(l + 1) * n * h;
                assert_eq!(
                    &grad.data()[part.clone()],
                    single.state_grads()[k].data(),
                    "∂L/∂state {k} of layer {l}"
                );
                assert_eq!(
                    &final_state.data()[part],
                    single.final_states()[k].data(),
                    "final state {k} of layer {l}"
                );
            }
        }
    }
}

#[test]
fn a_stack_computes_what_one_layer_modules_in_a_chain_compute() {
    check_stack_equals_chain::<LSTM>();
    check_stack_equals_chain::<GRU>();
    check_stack_equals_chain::<RNN>();
}

/// A stack whose dropout masks repeat on every forward pass (a gradient check needs that).
struct SameMasks<T>(T);

impl<T: Recurrent> Layer for SameMasks<T> {
    fn forward(&mut self, x: &Tensor, mode: Mode) -> Tensor {
        self.0.reseed(5);
        self.0.forward(x, mode)
    }
    fn backward(&mut self, grad_output: &Tensor) -> Tensor {
        self.0.backward(grad_output)
    }
    fn visit_params(&mut self, f: &mut dyn FnMut(&str, &mut Param)) {
        self.0.visit_params(f);
    }
    fn describe(&self) -> String {
        self.0.describe()
    }
}

fn check_gradients<T: Recurrent>() {
    let x = random(&[2, 4, 3], 2);
    let eval = GradCheckConfig {
        mode: Mode::Eval,
        ..GradCheckConfig::default()
    };
    for output in [RecurrentOutput::Sequence, RecurrentOutput::LastStep] {
        // Two layers without dropout; with dropout in training (fixed masks); with dropout in
        // evaluation (the identity).
        let mut plain = T::stacked(3, 4, 2, 1).with_output(output);
        let reports = assert_gradcheck_layer(&mut plain, &x, &GradCheckConfig::default());
        assert_eq!(reports.len(), 9, "input + 2 × 4 parameters");
        let mut dropped = SameMasks(T::stacked(3, 4, 2, 1).with_output(output).with_dropout(0.4));
        assert_gradcheck_layer(&mut dropped, &x, &GradCheckConfig::default());
        let mut evaluated = T::stacked(3, 4, 2, 1).with_output(output).with_dropout(0.4);
        assert_gradcheck_layer(&mut evaluated, &x, &eval);
    }
}

#[test]
fn two_layer_lstm_gradients() {
    check_gradients::<LSTM>();
}

#[test]
fn two_layer_gru_gradients() {
    check_gradients::<GRU>();
}

#[test]
fn two_layer_rnn_gradients() {
    check_gradients::<RNN>();
}

fn check_dropout_placement<T: Recurrent>() {
    let (n, t, f, h) = (3, 4, 2, 6);
    let p = 0.5;
    let mut stack = T::stacked(f, h, 2, 3).with_dropout(p);
    // The same thing written out: layer 0, Dropout(p) (generator seeded as the stack's first
    // dropout: seed + 0), layer 1.
    let mut chain = chain_of_single_layers(&mut stack, RecurrentOutput::Sequence);
    let mut dropout = Dropout::new(p, &mut Rng::new(0));
    dropout.reseed(41);
    let mut layers: Vec<Box<dyn Layer>> = Vec::new();
    let state = chain.state_dict();
    let mut a = T::stacked(f, h, 1, 0);
    let mut b = T::stacked(h, h, 1, 0);
    a.load_state_dict(&state.clone().submodule("0"), true)
        .unwrap();
    b.load_state_dict(&state.submodule("1"), true).unwrap();
    layers.push(Box::new(a));
    layers.push(Box::new(dropout));
    layers.push(Box::new(b));
    let mut written_out = Sequential::new(layers);
    let x = random(&[n, t, f], 4);
    stack.reseed(41);
    let y = stack.forward(&x, Mode::Train);
    assert_eq!(y, written_out.forward(&x, Mode::Train), "training forward");
    let r = random(y.shape(), 5);
    assert_eq!(
        stack.backward(&r),
        written_out.backward(&r),
        "training backward"
    );
    assert_eq!(
        grads(&mut stack)
            .into_iter()
            .map(|(_, g)| g)
            .collect::<Vec<_>>(),
        grads(&mut written_out)
            .into_iter()
            .map(|(_, g)| g)
            .collect::<Vec<_>>()
    );
    // Evaluation: dropout is the identity, so the stack computes what the dropout-free chain does.
    let mut no_dropout = chain_of_single_layers(&mut stack, RecurrentOutput::Sequence);
    let y_eval = stack.forward(&x, Mode::Eval);
    assert_eq!(y_eval, no_dropout.forward(&x, Mode::Eval));
    assert_ne!(y, y_eval, "training dropped something");
}

#[test]
fn dropout_acts_between_layers_and_only_in_training() {
    check_dropout_placement::<LSTM>();
    check_dropout_placement::<GRU>();
    check_dropout_placement::<RNN>();
}

#[test]
fn the_initial_state_of_a_stack_inside_a_sequential_is_set_and_differentiated() {
    let (n, t, f, h, layers) = (2, 5, 3, 4, 2);
    let mut model = Sequential::default();
    model.push(LSTM::stacked(f, h, layers, &mut Rng::new(1)).output(RecurrentOutput::LastStep));
    model.push(Linear::new(h, 2, &mut Rng::new(2)));
    let x = random(&[n, t, f], 3);
    let h0 = random(&[layers, n, h], 4).scale(0.5);
    let c0 = random(&[layers, n, h], 5);
    let r = random(&[n, 2], 6);
    let lstm = model.layer_mut::<LSTM>(0).expect("layer 0 is the LSTM");
    lstm.set_initial_state(Some((h0.clone(), c0.clone())));
    model.forward(&x, Mode::Eval);
    model.backward(&r);
    let (dh0, dc0) = model
        .layer::<LSTM>(0)
        .unwrap()
        .initial_state_grad()
        .unwrap();
    let weighted = |y: &Tensor| -> f64 {
        y.data()
            .iter()
            .zip(r.data())
            .map(|(&a, &b)| f64::from(a) * f64::from(b))
            .sum()
    };
    let config = GradCheckConfig::default();
    for (which, analytic) in [("h0", &dh0), ("c0", &dc0)] {
        let mut values = if which == "h0" {
            h0.data().to_vec()
        } else {
            c0.data().to_vec()
        };
        let report = gradcheck(
            which,
            h0.shape(),
            &mut values,
            analytic.data(),
            |v| {
                let varied = Tensor::from_vec(&[layers, n, h], v.to_vec());
                let state = if which == "h0" {
                    (varied, c0.clone())
                } else {
                    (h0.clone(), varied)
                };
                model
                    .layer_mut::<LSTM>(0)
                    .unwrap()
                    .set_initial_state(Some(state));
                weighted(&model.forward(&x, Mode::Eval))
            },
            &config,
        );
        println!("{report}");
        assert!(report.passed, "{report}");
    }
    // Layer 1's state matters too (not only layer 0's).
    assert!(dh0.data()[n * h..].iter().any(|&g| g != 0.0));
}

#[test]
fn final_state_and_input_size_exist_on_all_three() {
    let x = random(&[2, 3, 5], 1);
    let mut gru = GRU::stacked(5, 4, 2, &mut Rng::new(1));
    let y = gru.forward(&x, Mode::Inference);
    assert_eq!(
        (gru.input_size(), gru.hidden_size(), gru.num_layers()),
        (5, 4, 2)
    );
    let h_n = gru.final_state();
    assert_eq!(h_n.shape(), &[2, 2, 4]);
    // The last layer's final state is the last step of the output sequence.
    for s in 0..2 {
        assert_eq!(
            &h_n.data()[(2 + s) * 4..(3 + s) * 4],
            &y.data()[(s * 3 + 2) * 4..(s * 3 + 3) * 4]
        );
    }
    let mut rnn = RNN::stacked(5, 3, 3, &mut Rng::new(2));
    rnn.forward(&x, Mode::Eval);
    assert_eq!(rnn.input_size(), 5);
    assert_eq!(rnn.final_state().shape(), &[3, 2, 3]);
    let mut lstm = LSTM::stacked(5, 3, 2, &mut Rng::new(3)).dropout(0.5);
    lstm.forward(&x, Mode::Eval);
    assert_eq!(lstm.input_size(), 5);
    assert_eq!(lstm.dropout_probability(), 0.5);
    assert_eq!(lstm.final_state().1.shape(), &[2, 2, 3]);
}

fn panic_message(f: impl FnOnce()) -> String {
    let err = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).expect_err("must panic");
    err.downcast_ref::<String>()
        .cloned()
        .or_else(|| err.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
}

#[test]
fn wrong_initial_states_are_refused_naming_the_shapes() {
    let text = panic_message(|| {
        let mut gru = GRU::stacked(3, 4, 2, &mut Rng::new(1));
        gru.set_initial_state(Some(Tensor::zeros(&[5, 4])));
    });
    assert!(
        text.contains("[2, N, 4]") && text.contains("[5, 4]"),
        "{text}"
    );
    let text = panic_message(|| {
        let mut rnn = RNN::stacked(3, 4, 2, &mut Rng::new(1));
        rnn.set_initial_state(Some(Tensor::zeros(&[2, 5, 4])));
        rnn.forward(&Tensor::zeros(&[3, 2, 3]), Mode::Eval);
    });
    assert!(
        text.contains("[2, 3, 4]") && text.contains("[2, 5, 4]"),
        "{text}"
    );
    let text = panic_message(|| {
        LSTM::stacked(3, 4, 0, &mut Rng::new(1));
    });
    assert!(text.contains("num_layers 0"), "{text}");
}
