//! Chapter 11: each optimizer's first three steps against its update rule computed by hand (in f64,
//! from the formula in its doc comment), the step counter, and parameters whose gradient is zero.

use dlfs::Tensor;
use dlfs::check::{Tolerance, assert_close};
use dlfs::nn::{Layer, Mode, Param};
use dlfs::optim::{
    Adagrad, Adam, AdamW, CosineAnnealingLr, ExponentialLr, LinearWarmup, LrSchedule, Optimizer,
    RmsProp, Sgd, StepLr, WarmupThen, clip_grad_norm, clip_grad_value,
};

/// A "model" with two parameters and no computation: the test writes the gradients itself.
/// `a` gets a different gradient every step; `b`'s gradient is always zero (a parameter that
/// received no gradient).
struct TwoParams {
    a: Param,
    b: Param,
}

impl Layer for TwoParams {
    fn forward(&mut self, x: &Tensor, _mode: Mode) -> Tensor {
        x.clone()
    }
    fn backward(&mut self, grad_output: &Tensor) -> Tensor {
        grad_output.clone()
    }
    fn visit_params(&mut self, f: &mut dyn FnMut(&str, &mut Param)) {
        f("a", &mut self.a);
        f("b", &mut self.b);
    }
    fn describe(&self) -> String {
        "TwoParams".to_string()
    }
}

const A0: [f32; 3] = [0.5, -1.0, 2.0];
const B0: [f32; 2] = [1.0, -3.0];
/// The gradient of `a` at steps 1, 2, 3: large, then so small that v shrinks (g₂² < v₁ = 0.001·g₁²,
/// so AMSGrad's running maximum differs from v), then of changing sign.
const GRADIENTS: [[f32; 3]; 3] = [[1.0, -2.0, 0.5], [0.01, 0.03, -0.005], [-0.2, 0.01, 0.02]];

fn model() -> TwoParams {
    TwoParams {
        a: Param::new(Tensor::from_vec(&[3], A0.to_vec())),
        b: Param::new(Tensor::from_vec(&[2], B0.to_vec())),
    }
}

/// Runs three steps and returns the parameters (a then b) after each.
fn run(optimizer: &mut dyn Optimizer) -> Vec<Vec<f32>> {
    let mut m = model();
    let mut after = Vec::new();
    for g in GRADIENTS {
        optimizer.zero_grad(&mut m);
        m.a.grad.data_mut().copy_from_slice(&g);
        optimizer.step(&mut m);
        let mut values = m.a.value.data().to_vec();
        values.extend_from_slice(m.b.value.data());
        after.push(values);
    }
    assert_eq!(
        optimizer.steps_taken(),
        3,
        "one count per step, not per parameter"
    );
    after
}

/// The gradient of every scalar (a's three, then b's two zeros) at step t (0-based).
fn gradient(t: usize, i: usize) -> f64 {
    if i < 3 {
        f64::from(GRADIENTS[t][i])
    } else {
        0.0
    }
}

fn initial() -> Vec<f64> {
    A0.iter().chain(&B0).map(|&v| f64::from(v)).collect()
}

/// Applies an element-wise rule `step(t, θ, g, state) -> θ'` to every scalar for three steps.
fn by_hand<S: Default + Clone>(
    mut rule: impl FnMut(usize, f64, f64, &mut S) -> f64,
) -> Vec<Vec<f32>> {
    let mut theta = initial();
    let mut states = vec![S::default(); theta.len()];
    (0..3)
        .map(|t| {
            for (i, (th, state)) in theta.iter_mut().zip(states.iter_mut()).enumerate() {
                *th = rule(t + 1, *th, gradient(t, i), state);
            }
            theta.iter().map(|&v| v as f32).collect()
        })
        .collect()
}

fn assert_matches(name: &str, got: &[Vec<f32>], expected: &[Vec<f32>]) {
    // f32 arithmetic against an f64 hand computation of the same formula, on values of size ~1:
    // a few units in the last place.
    for (step, (g, e)) in got.iter().zip(expected).enumerate() {
        assert_close(
            &format!("{name}, parameters after step {}", step + 1),
            &[5],
            g,
            e,
            Tolerance::new(1e-6, 2e-6),
        );
    }
}

/// SGD as documented: g ← g + λθ; b ← g (first step) or μb + (1 − τ)g; g ← g + μb (Nesterov) or b;
/// θ ← θ − γg.
fn sgd_rule(
    lr: f64,
    mu: f64,
    tau: f64,
    wd: f64,
    nesterov: bool,
) -> impl FnMut(usize, f64, f64, &mut f64) -> f64 {
    move |t, theta, g, b| {
        let g = g + wd * theta;
        let direction = if mu != 0.0 {
            *b = if t == 1 { g } else { mu * *b + (1.0 - tau) * g };
            if nesterov { g + mu * *b } else { *b }
        } else {
            g
        };
        theta - lr * direction
    }
}

/// SGD's hyper-parameters for the hand computation: (γ, μ, τ, λ, Nesterov).
type SgdSettings = (f64, f64, f64, f64, bool);

#[test]
fn sgd_matches_its_rule_for_three_steps() {
    let cases: Vec<(&str, Sgd, SgdSettings)> = vec![
        ("plain", Sgd::new(0.1), (0.1, 0.0, 0.0, 0.0, false)),
        (
            "momentum+dampening+decay",
            Sgd::new(0.1)
                .momentum(0.9)
                .dampening(0.1)
                .weight_decay(0.01),
            (0.1, 0.9, 0.1, 0.01, false),
        ),
        (
            "nesterov+decay",
            Sgd::new(0.05).momentum(0.9).nesterov().weight_decay(0.1),
            (0.05, 0.9, 0.0, 0.1, true),
        ),
    ];
    for (name, mut sgd, (lr, mu, tau, wd, nesterov)) in cases {
        let got = run(&mut sgd);
        assert_matches(
            &format!("SGD {name}"),
            &got,
            &by_hand(sgd_rule(lr, mu, tau, wd, nesterov)),
        );
    }
}

#[derive(Clone, Default)]
struct AdamState {
    m: f64,
    v: f64,
    v_max: f64,
}

/// Adam as documented: g ← g + λθ (L2) or θ ← θ(1 − γλ) (decoupled, AdamW); m, v averages;
/// m̂ = m/(1 − β₁ᵗ); v̂ = v/(1 − β₂ᵗ) (or v_max for AMSGrad); θ ← θ − γ·m̂/(√v̂ + ε).
fn adam_rule(
    lr: f64,
    l2: f64,
    decoupled: f64,
    amsgrad: bool,
) -> impl FnMut(usize, f64, f64, &mut AdamState) -> f64 {
    let (beta1, beta2, eps) = (0.9f64, 0.999f64, 1e-8f64);
    move |t, theta, g, s| {
        let theta = theta * (1.0 - lr * decoupled);
        let g = g + l2 * theta;
        s.m = beta1 * s.m + (1.0 - beta1) * g;
        s.v = beta2 * s.v + (1.0 - beta2) * g * g;
        s.v_max = s.v_max.max(s.v);
        let m_hat = s.m / (1.0 - beta1.powi(t as i32));
        let v_hat = if amsgrad { s.v_max } else { s.v } / (1.0 - beta2.powi(t as i32));
        theta - lr * m_hat / (v_hat.sqrt() + eps)
    }
}

#[test]
fn adam_and_adamw_match_their_rules_for_three_steps() {
    let got = run(&mut Adam::new(0.01));
    assert_matches("Adam", &got, &by_hand(adam_rule(0.01, 0.0, 0.0, false)));

    let got = run(&mut Adam::new(0.01).weight_decay(0.01).amsgrad());
    assert_matches(
        "Adam amsgrad+L2",
        &got,
        &by_hand(adam_rule(0.01, 0.01, 0.0, true)),
    );

    let got = run(&mut AdamW::new(0.01).weight_decay(0.1));
    assert_matches("AdamW", &got, &by_hand(adam_rule(0.01, 0.0, 0.1, false)));

    // AMSGrad changes the answer on this gradient sequence (so the test above can tell them apart).
    let plain = by_hand(adam_rule(0.01, 0.01, 0.0, false));
    let ams = by_hand(adam_rule(0.01, 0.01, 0.0, true));
    assert_ne!(plain[2], ams[2]);
}

#[derive(Clone, Default)]
struct RmsState {
    v: f64,
    average: f64,
    b: f64,
}

/// RMSprop as documented: g ← g + λθ; v ← αv + (1 − α)g²; d = √(v − ḡ²) + ε (centered) or √v + ε;
/// b ← μb + g/d, θ ← θ − γb (momentum) or θ ← θ − γg/d.
fn rmsprop_rule(
    lr: f64,
    wd: f64,
    mu: f64,
    centered: bool,
) -> impl FnMut(usize, f64, f64, &mut RmsState) -> f64 {
    let (alpha, eps) = (0.99f64, 1e-8f64);
    move |_t, theta, g, s| {
        let g = g + wd * theta;
        s.v = alpha * s.v + (1.0 - alpha) * g * g;
        let d = if centered {
            s.average = alpha * s.average + (1.0 - alpha) * g;
            (s.v - s.average * s.average).sqrt() + eps
        } else {
            s.v.sqrt() + eps
        };
        if mu > 0.0 {
            s.b = mu * s.b + g / d;
            theta - lr * s.b
        } else {
            theta - lr * g / d
        }
    }
}

#[test]
fn rmsprop_matches_its_rule_for_three_steps() {
    let got = run(&mut RmsProp::new(0.01));
    assert_matches(
        "RMSprop",
        &got,
        &by_hand(rmsprop_rule(0.01, 0.0, 0.0, false)),
    );
    let got = run(&mut RmsProp::new(0.01)
        .momentum(0.9)
        .centered()
        .weight_decay(0.01));
    assert_matches(
        "RMSprop centered+momentum+decay",
        &got,
        &by_hand(rmsprop_rule(0.01, 0.01, 0.9, true)),
    );
}

/// Adagrad as documented: γ̃ = γ/(1 + (t − 1)η); g ← g + λθ; s ← s + g²; θ ← θ − γ̃g/(√s + ε).
fn adagrad_rule(
    lr: f64,
    lr_decay: f64,
    wd: f64,
    s0: f64,
) -> impl FnMut(usize, f64, f64, &mut Option<f64>) -> f64 {
    move |t, theta, g, sum| {
        let decayed = lr / (1.0 + (t - 1) as f64 * lr_decay);
        let g = g + wd * theta;
        let s = sum.get_or_insert(s0);
        *s += g * g;
        theta - decayed * g / (s.sqrt() + 1e-10)
    }
}

#[test]
fn adagrad_matches_its_rule_for_three_steps() {
    let got = run(&mut Adagrad::new(0.1));
    assert_matches("Adagrad", &got, &by_hand(adagrad_rule(0.1, 0.0, 0.0, 0.0)));
    let got = run(&mut Adagrad::new(0.1)
        .lr_decay(0.5)
        .weight_decay(0.01)
        .initial_accumulator_value(0.1));
    assert_matches(
        "Adagrad decay+weight decay+s0",
        &got,
        &by_hand(adagrad_rule(0.1, 0.5, 0.01, 0.1)),
    );
}

#[test]
fn schedules_give_their_documented_values() {
    let values = |s: &dyn LrSchedule, base: f32, n: usize| -> Vec<f32> {
        (0..n).map(|t| s.learning_rate(base, t)).collect()
    };
    let close = |got: Vec<f32>, expected: &[f32], name: &str| {
        assert_close(
            name,
            &[expected.len()],
            &got,
            expected,
            Tolerance::new(1e-7, 1e-6),
        );
    };
    close(
        values(
            &StepLr {
                step_size: 2,
                gamma: 0.5,
            },
            1.0,
            6,
        ),
        &[1.0, 1.0, 0.5, 0.5, 0.25, 0.25],
        "StepLR",
    );
    close(
        values(&ExponentialLr { gamma: 0.9 }, 0.1, 3),
        &[0.1, 0.09, 0.081],
        "ExponentialLR",
    );
    // (1 + cos(π/4))/2 = 0.853553…, (1 + cos(3π/4))/2 = 0.146446…
    close(
        values(
            &CosineAnnealingLr {
                t_max: 4,
                eta_min: 0.0,
            },
            1.0,
            5,
        ),
        &[1.0, 0.853_553_4, 0.5, 0.146_446_6, 0.0],
        "CosineAnnealingLR",
    );
    close(
        values(
            &CosineAnnealingLr {
                t_max: 2,
                eta_min: 0.1,
            },
            1.0,
            3,
        ),
        &[1.0, 0.55, 0.1],
        "CosineAnnealingLR with eta_min",
    );
    close(
        values(
            &LinearWarmup {
                start_factor: 0.25,
                warmup_steps: 3,
            },
            1.0,
            5,
        ),
        &[0.25, 0.5, 0.75, 1.0, 1.0],
        "LinearLR warm-up",
    );
    let warmup_cosine = WarmupThen {
        warmup: LinearWarmup {
            start_factor: 0.5,
            warmup_steps: 2,
        },
        then: Box::new(CosineAnnealingLr {
            t_max: 2,
            eta_min: 0.0,
        }),
    };
    close(
        values(&warmup_cosine, 1.0, 5),
        &[0.5, 0.75, 1.0, 0.5, 0.0],
        "warm-up then cosine",
    );

    let mut sgd = Sgd::new(1.0);
    StepLr {
        step_size: 1,
        gamma: 0.1,
    }
    .apply(&mut sgd, 1.0, 2);
    assert!((sgd.learning_rate() - 0.01).abs() < 1e-9);
}

#[test]
fn clipping_by_global_norm_keeps_the_direction() {
    let mut m = model();
    m.a.grad.data_mut().copy_from_slice(&[3.0, 0.0, 0.0]);
    m.b.grad.data_mut().copy_from_slice(&[0.0, 4.0]);
    // Below the limit: nothing changes, the norm is reported.
    assert_eq!(clip_grad_norm(&mut m, 10.0), 5.0);
    assert_eq!(m.b.grad.data(), &[0.0, 4.0]);
    // Above: scaled by max_norm / (norm + 10⁻⁶), across both parameters together.
    assert_eq!(clip_grad_norm(&mut m, 1.0), 5.0);
    let c = (1.0 / (5.0 + 1e-6)) as f32;
    assert_eq!(m.a.grad.data(), &[3.0 * c, 0.0, 0.0]);
    assert_eq!(m.b.grad.data(), &[0.0, 4.0 * c]);
    let mut norm = 0.0f32;
    m.visit_params(&mut |_, p| norm += p.grad.data().iter().map(|g| g * g).sum::<f32>());
    assert!((norm.sqrt() - 1.0).abs() < 1e-6);

    clip_grad_value(&mut m, 0.5);
    assert_eq!(m.b.grad.data(), &[0.0, 0.5]);
}

#[test]
fn adam_bias_correction_makes_the_first_step_the_learning_rate() {
    // At t = 1, m̂ = g and v̂ = g², so every parameter with g ≠ 0 moves by γ·g/(|g| + ε) ≈ γ.
    let after = run(&mut Adam::new(0.01));
    for (i, &a0) in A0.iter().enumerate() {
        let moved = (after[0][i] - a0).abs();
        assert!((moved - 0.01).abs() < 1e-6, "parameter {i} moved {moved}");
    }
}

#[test]
fn a_parameter_with_a_zero_gradient_is_updated_as_pytorch_updates_a_zero_gradient() {
    // No momentum, no decay: nothing moves.
    let after = run(&mut Sgd::new(0.1));
    assert_eq!(&after[2][3..], &B0);
    let after = run(&mut Adam::new(0.01));
    assert_eq!(
        &after[2][3..],
        &B0,
        "Adam: m = 0, so the update is 0/(0 + ε) = 0"
    );
    // Weight decay still shrinks it: θ(1 − γλ)³ for SGD.
    let after = run(&mut Sgd::new(0.1).weight_decay(0.5));
    let expected = f64::from(B0[0]) * (1.0 - 0.1 * 0.5f64).powi(3);
    assert!((f64::from(after[2][3]) - expected).abs() < 1e-6);
}

#[test]
fn learning_rate_can_be_read_and_set() {
    let mut adam = Adam::new(0.01);
    assert_eq!(adam.learning_rate(), 0.01);
    adam.set_learning_rate(0.5);
    assert_eq!(adam.learning_rate(), 0.5);
    assert!(adam.describe().starts_with("Adam(lr=0.5"));
    assert!(
        Sgd::new(0.1)
            .momentum(0.9)
            .describe()
            .contains("momentum=0.9")
    );
}

/// A model with one parameter called `c`.
struct OtherModel(Param);

impl Layer for OtherModel {
    fn forward(&mut self, x: &Tensor, _mode: Mode) -> Tensor {
        x.clone()
    }
    fn backward(&mut self, grad_output: &Tensor) -> Tensor {
        grad_output.clone()
    }
    fn visit_params(&mut self, f: &mut dyn FnMut(&str, &mut Param)) {
        f("c", &mut self.0);
    }
    fn describe(&self) -> String {
        "OtherModel".to_string()
    }
}

#[test]
#[should_panic(expected = "an optimizer belongs to one model")]
fn an_optimizer_refuses_a_different_model() {
    let mut adam = Adam::new(0.01);
    adam.step(&mut model());
    adam.step(&mut OtherModel(Param::new(Tensor::zeros(&[3]))));
}

#[test]
#[should_panic(expected = "Nesterov momentum needs momentum > 0")]
fn nesterov_without_momentum_is_refused() {
    Sgd::new(0.1).nesterov().step(&mut model());
}

// ---- The chapter's claims (chapters/ch11_optimizers.rs, included as the tour includes it) ----

#[allow(dead_code)]
#[path = "../chapters/ch11_optimizers.rs"]
mod ch11;

use dlfs::optim::test_functions::{Quadratic, Rosenbrock, TestFunction, descend};

#[test]
fn the_tutorials_adam_converges_on_rosenbrock_within_4000_steps() {
    // The chapter prints 3790 steps for Adam(lr = 0.01) from (−1.2, 1) (distance < 0.01, staying).
    let rosenbrock = Rosenbrock::classic();
    let path = descend(&mut Adam::new(0.01), &rosenbrock, [-1.2, 1.0], 10_000);
    let steps = path.steps_to_converge(rosenbrock.minimum(), ch11::TOLERANCE);
    println!("Adam(0.01) on Rosenbrock: converged after {steps:?} steps");
    assert!(steps.is_some_and(|s| s <= 4000), "{steps:?}");
    assert!(path.values.last().unwrap() < &1e-4);
}

#[test]
fn plain_sgd_on_the_valley_is_stable_exactly_below_two_over_the_curvature() {
    // Along y the update is y ← (1 − 100γ)y: it shrinks for γ < 0.02 and grows for γ > 0.02.
    let valley = Quadratic::new(1.0, 100.0);
    let stable = descend(&mut Sgd::new(0.019), &valley, [-4.5, 1.0], 2000);
    assert!(
        stable
            .steps_to_converge([0.0, 0.0], ch11::TOLERANCE)
            .is_some()
    );
    let unstable = descend(&mut Sgd::new(0.021), &valley, [-4.5, 1.0], 2000);
    let distance = unstable.final_distance([0.0, 0.0]);
    // Diverged: the distance grew past 10³ (or to ∞/NaN, where descend stops).
    assert!(
        distance.is_nan() || distance > 1e3,
        "lr 0.021 should diverge, ended at distance {distance}"
    );
}

#[test]
fn on_both_surfaces_momentum_beats_plain_sgd_and_adaptive_methods_win_the_valley() {
    // The chapter's table (each optimizer at its best learning rate of the grid): valley SGD 608,
    // momentum 103, RMSprop 40, Adam 111, Adagrad 44; Rosenbrock SGD 5624, momentum 596.
    let contenders = ch11::contenders();
    let steps = |name: &str, problem: &ch11::Problem| {
        let contender = contenders.iter().find(|c| c.name == name).unwrap();
        ch11::best_learning_rate(contender, problem).steps
    };
    let valley = ch11::valley_problem();
    let sgd = steps("SGD", &valley).expect("SGD converges on the valley");
    for name in ["momentum", "Nesterov", "RMSprop", "Adam", "Adagrad"] {
        let s = steps(name, &valley).expect("converges on the valley");
        println!("valley: {name} {s} steps, SGD {sgd}");
        assert!(s * 3 < sgd, "{name}: {s} steps against SGD's {sgd}");
    }
    let rosenbrock = ch11::rosenbrock_problem();
    let sgd = steps("SGD", &rosenbrock).expect("SGD converges on Rosenbrock");
    let momentum = steps("momentum", &rosenbrock).expect("momentum converges on Rosenbrock");
    println!("Rosenbrock: momentum {momentum}, SGD {sgd}");
    assert!(momentum * 3 < sgd);
}

#[test]
fn on_the_network_adam_learns_where_sgd_at_the_same_rate_barely_moves() {
    // The chapter's quick run (20 epochs, same initial weights and batches): final training loss
    // 0.159 with Adam(0.01), 0.682 with SGD(0.01) (ln 2 = 0.693 is a coin toss).
    let adam = ch11::train_spirals(&mut Adam::new(0.01), 20).unwrap();
    let sgd = ch11::train_spirals(&mut Sgd::new(0.01), 20).unwrap();
    let (adam_loss, sgd_loss) = (
        adam.history.last().unwrap().loss,
        sgd.history.last().unwrap().loss,
    );
    println!("20 epochs: Adam {adam_loss:.4}, SGD {sgd_loss:.4}");
    assert!(adam_loss < 0.3 && sgd_loss > 0.6);
    // Same initial weights for every run: the first batch's loss is the same for both.
    let first = |run: &ch11::NetworkRun| run.history.epochs[0].loss;
    assert!((first(&adam) - first(&sgd)).abs() < 0.05);
}
