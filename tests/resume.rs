//! Resuming training (the machinery of chapters 12–14 and later): optimizer state export/import
//! with PyTorch's names, the saved pair of files, and the promise that a run stopped after k epochs
//! and resumed ends with exactly the weights of the uninterrupted run — for any thread count.
//!
//! - Every optimizer (SGD plain, momentum, Nesterov with weight decay, Adam, AMSGrad, AdamW,
//!   RMSprop centered with momentum, Adagrad) continues bit for bit from an exported state.
//! - A state for another optimizer, other hyper-parameters, another model or with a missing tensor is
//!   refused with a message naming the problem, and leaves the optimizer as it was.
//! - `fit` with a checkpoint: 3 epochs straight and 1 + resume to 3 (1 thread, then 2) give the same
//!   bits, with dropout (its generator is saved) and a learning-rate schedule.
//! - A crash between the writes of a save leaves a loadable pair; a model file from elsewhere is
//!   refused; flags given on resume with other values are usage errors naming the flag.

use dlfs::cli::Command;
use dlfs::loss::MseLoss;
use dlfs::nn::{Dropout, Layer, Linear, Relu, Sequential, Tanh};
use dlfs::optim::{Adagrad, Adam, AdamW, ExponentialLr, Optimizer, OptimizerState, RmsProp, Sgd};
use dlfs::probability::Rng;
use dlfs::train::resume::{TrainingProgress, TrainingRun};
use dlfs::train::{self, FitConfig, TensorDataset};
use dlfs::{Error, Tensor, parallel};
use std::path::PathBuf;
use std::sync::Mutex;

/// Tests that change the global thread count run one at a time.
static THREADS: Mutex<()> = Mutex::new(());

fn temp_folder(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("dlfs-resume-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn model(seed: u64) -> Sequential {
    let mut rng = Rng::new(seed);
    Sequential::new(vec![
        Box::new(Linear::new(3, 8, &mut rng)),
        Box::new(Tanh::new()),
        Box::new(Linear::new(8, 2, &mut rng)),
    ])
}

fn model_with_dropout(seed: u64) -> Sequential {
    let mut rng = Rng::new(seed);
    Sequential::new(vec![
        Box::new(Linear::new(3, 16, &mut rng)),
        Box::new(Relu::new()),
        Box::new(Dropout::new(0.3, &mut rng)),
        Box::new(Linear::new(16, 2, &mut rng)),
    ])
}

fn weights(model: &mut dyn Layer) -> Vec<u32> {
    let mut bits = Vec::new();
    model.visit_params(&mut |_, p| bits.extend(p.value.data().iter().map(|v| v.to_bits())));
    bits
}

fn data(n: usize) -> (Tensor, Tensor) {
    let mut rng = Rng::new(5);
    let x = Tensor::randn(&[n, 3], 0.0, 1.0, &mut rng);
    let y = Tensor::from_fn(&[n, 2], |i| {
        let (row, column) = (i / 2, i % 2);
        let v = x.row(row);
        if column == 0 {
            v[0] * v[1] - v[2]
        } else {
            (v[0] + v[2]).sin()
        }
    });
    (x, y)
}

/// `steps` training steps on fixed batches, starting at batch `first`.
fn train_steps(model: &mut dyn Layer, optimizer: &mut dyn Optimizer, first: usize, steps: usize) {
    let (x, y) = data(40);
    for step in first..first + steps {
        let rows: Vec<usize> = (0..8).map(|i| (step * 8 + i) % 40).collect();
        train::train_step(
            model,
            optimizer,
            &MseLoss::new(),
            &x.select_rows(&rows),
            &y.select_rows(&rows),
            None,
        )
        .unwrap();
    }
}

/// A named way to make a fresh optimizer.
type MakeOptimizer = (&'static str, fn() -> Box<dyn Optimizer>);

fn optimizers() -> Vec<MakeOptimizer> {
    vec![
        ("SGD", || Box::new(Sgd::new(0.05))),
        ("SGD momentum", || Box::new(Sgd::new(0.05).momentum(0.9))),
        ("SGD Nesterov", || {
            Box::new(Sgd::new(0.05).momentum(0.8).nesterov().weight_decay(0.01))
        }),
        ("Adam", || Box::new(Adam::new(0.01))),
        ("Adam AMSGrad", || {
            Box::new(Adam::new(0.01).amsgrad().weight_decay(0.001))
        }),
        ("AdamW", || Box::new(AdamW::new(0.01))),
        ("RMSprop", || {
            Box::new(RmsProp::new(0.01).centered().momentum(0.5))
        }),
        ("Adagrad", || Box::new(Adagrad::new(0.1).lr_decay(0.01))),
    ]
}

#[test]
fn every_optimizer_continues_bit_for_bit_from_its_exported_state() {
    for (name, make) in optimizers() {
        let mut straight = model(1);
        let mut optimizer = make();
        train_steps(&mut straight, optimizer.as_mut(), 0, 7);

        let mut stopped = model(1);
        let mut first = make();
        train_steps(&mut stopped, first.as_mut(), 0, 3);
        let state = first.export_state().unwrap();
        assert_eq!(state.steps, 3, "{name}");
        // A fresh model with the stopped one's weights, and a fresh optimizer with its state.
        let mut resumed = model(99);
        let bytes = dlfs::checkpoint::to_bytes(&mut stopped, &[]);
        dlfs::checkpoint::load_from_bytes(&mut resumed, &bytes, "memory").unwrap();
        let mut second = make();
        second.import_state(&mut resumed, &state).unwrap();
        assert_eq!(second.steps_taken(), 3, "{name}");
        train_steps(&mut resumed, second.as_mut(), 3, 4);
        assert_eq!(
            weights(&mut resumed),
            weights(&mut straight),
            "{name}: the resumed run's weights differ from the uninterrupted run's"
        );
        assert_eq!(
            second.export_state().unwrap(),
            optimizer.export_state().unwrap(),
            "{name}"
        );
    }
}

/// The state names of every optimizer, as PyTorch's `optimizer.state_dict()["state"][i]` keys.
#[test]
fn state_names_are_pytorchs() {
    let expected: &[(&str, &str, &[&str])] = &[
        ("SGD", "SGD", &[]),
        ("SGD momentum", "SGD", &["momentum_buffer"]),
        ("SGD Nesterov", "SGD", &["momentum_buffer"]),
        ("Adam", "Adam", &["step", "exp_avg", "exp_avg_sq"]),
        (
            "Adam AMSGrad",
            "Adam",
            &["step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq"],
        ),
        ("AdamW", "AdamW", &["step", "exp_avg", "exp_avg_sq"]),
        (
            "RMSprop",
            "RMSprop",
            &["step", "square_avg", "momentum_buffer", "grad_avg"],
        ),
        ("Adagrad", "Adagrad", &["step", "sum"]),
    ];
    for ((name, make), (expected_name, kind, keys)) in optimizers().into_iter().zip(expected) {
        assert_eq!(name, *expected_name);
        let mut net = model(2);
        let mut optimizer = make();
        let before = optimizer.export_state().unwrap();
        assert!(before.params.is_empty() && before.steps == 0, "{name}");
        train_steps(&mut net, optimizer.as_mut(), 0, 2);
        let state = optimizer.export_state().unwrap();
        assert_eq!(state.kind, *kind);
        if keys.is_empty() {
            assert!(state.params.is_empty(), "{name}: plain SGD keeps no state");
            continue;
        }
        let names: Vec<&str> = state.params.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(
            names,
            ["0.weight", "0.bias", "2.weight", "2.bias"],
            "{name}"
        );
        for p in &state.params {
            let got: Vec<&str> = p.tensors.iter().map(|(k, _)| k.as_str()).collect();
            assert_eq!(got, *keys, "{name} {}", p.name);
            for (key, tensor) in &p.tensors {
                let shape: &[usize] = match (key.as_str(), p.name.as_str()) {
                    ("step", _) => &[],
                    (_, "0.weight") => &[8, 3],
                    (_, "0.bias") => &[8],
                    (_, "2.weight") => &[2, 8],
                    _ => &[2],
                };
                assert_eq!(tensor.shape(), shape, "{name} {} {key}", p.name);
            }
        }
        if keys.contains(&"step") {
            assert_eq!(state.params[0].get("step").unwrap().data(), [2.0]);
        }
    }
}

fn adam_state_after(steps: usize) -> OptimizerState {
    let mut net = model(3);
    let mut adam = Adam::new(0.01);
    train_steps(&mut net, &mut adam, 0, steps);
    adam.export_state().unwrap()
}

#[test]
fn a_state_that_does_not_fit_is_refused_and_changes_nothing() {
    let state = adam_state_after(2);
    let message = |result: dlfs::Result<()>| result.unwrap_err().to_string();

    let m = message(Sgd::new(0.01).import_state(&mut model(3), &state));
    assert!(m.contains("Adam") && m.contains("SGD"), "{m}");
    let m = message(
        Adam::new(0.01)
            .betas(0.8, 0.999)
            .import_state(&mut model(3), &state),
    );
    assert!(m.contains("betas"), "{m}");

    let mut wider = {
        let mut rng = Rng::new(0);
        Sequential::new(vec![
            Box::new(Linear::new(3, 9, &mut rng)),
            Box::new(Tanh::new()),
            Box::new(Linear::new(9, 2, &mut rng)),
        ])
    };
    let m = message(Adam::new(0.01).import_state(&mut wider, &state));
    assert!(m.contains("0.weight") && m.contains("[9, 3]"), "{m}");

    let mut shorter = {
        let mut rng = Rng::new(0);
        Sequential::new(vec![Box::new(Linear::new(3, 8, &mut rng))])
    };
    let m = message(Adam::new(0.01).import_state(&mut shorter, &state));
    assert!(m.contains("2.weight"), "{m}");

    let mut missing = state.clone();
    missing.params[1].tensors.retain(|(k, _)| k != "exp_avg_sq");
    let mut adam = Adam::new(0.01);
    let m = message(adam.import_state(&mut model(3), &missing));
    assert!(m.contains("0.bias") && m.contains("exp_avg_sq"), "{m}");
    assert_eq!(adam.steps_taken(), 0, "a refused import changes nothing");
    assert!(adam.export_state().unwrap().params.is_empty());
}

/// The recipe of the fit test: Adam, an exponential schedule, dropout, shuffled batches of 8.
fn fit_run(
    folder: &std::path::Path,
    epochs: usize,
    resume: bool,
    threads: usize,
) -> (Vec<u32>, Vec<f32>) {
    parallel::set_num_threads(threads);
    let (x, y) = data(52);
    let dataset = TensorDataset::new(&x, &y).unwrap();
    let (vx, vy) = data(12);
    let validation = TensorDataset::new(&vx, &vy).unwrap();
    let mut net = model_with_dropout(4);
    let mut adam = Adam::new(0.01);
    let schedule = ExponentialLr { gamma: 0.7 };
    let run = TrainingRun::new(folder, "net")
        .model_setting("hidden", 16)
        .run_setting("lr", 0.01)
        .epochs(epochs);
    let saved = resume.then(|| run.load().unwrap().restore(&mut net, &mut adam).unwrap());
    let mut config = FitConfig::new(epochs, 8)
        .seed(9)
        .schedule(&schedule)
        .validation(&validation)
        .checkpoint(&run)
        .progress(None);
    if let Some(progress) = &saved {
        config = config.resume_from(progress);
    }
    let history = train::fit(&mut net, &mut adam, &MseLoss::new(), &dataset, &config).unwrap();
    assert_eq!(history.epochs.len(), epochs);
    let mut on_disk = model_with_dropout(77);
    dlfs::checkpoint::load(&mut on_disk, &run.model_path()).unwrap();
    assert_eq!(
        weights(&mut on_disk),
        weights(&mut net),
        "the saved model is the final one"
    );
    (weights(&mut net), history.losses())
}

#[test]
fn fit_stopped_and_resumed_gives_the_weights_of_the_uninterrupted_run() {
    let _guard = THREADS.lock().unwrap_or_else(|e| e.into_inner());
    let before = parallel::num_threads();
    let straight_folder = temp_folder("fit-straight");
    let (straight, straight_losses) = fit_run(&straight_folder, 3, false, 1);

    let folder = temp_folder("fit-resumed");
    fit_run(&folder, 1, false, 1);
    let (resumed, resumed_losses) = fit_run(&folder, 3, true, 2);
    parallel::set_num_threads(before);
    assert_eq!(
        resumed, straight,
        "resumed after 1 of 3 epochs: other weights"
    );
    assert_eq!(resumed_losses, straight_losses, "the history continues too");

    // The state file holds the optimizer's state under PyTorch's names.
    let state = dlfs::checkpoint::read(&TrainingRun::new(&folder, "net").state_path()).unwrap();
    let names: Vec<&str> = state.tensors.iter().map(|(n, _)| n.as_str()).collect();
    for expected in [
        "optimizer.0.weight.exp_avg",
        "optimizer.0.weight.exp_avg_sq",
        "optimizer.0.weight.step",
        "optimizer.3.bias.exp_avg",
        "order.shuffle",
    ] {
        assert!(names.contains(&expected), "no {expected} in {names:?}");
    }
    let meta = |key: &str| {
        state
            .metadata
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
    };
    assert_eq!(meta("run.epochs_done").as_deref(), Some("3"));
    assert_eq!(meta("optimizer.kind").as_deref(), Some("Adam"));
    assert!(
        meta("rng.model.2.rng").is_some(),
        "the dropout generator is saved"
    );
    assert!(meta("rng.shuffle").is_some());
}

#[test]
fn a_crash_between_the_writes_of_a_save_leaves_a_loadable_pair() {
    let folder = temp_folder("crash");
    let run = TrainingRun::new(&folder, "net");
    let mut net = model(6);
    let mut sgd = Sgd::new(0.1).momentum(0.9);
    train_steps(&mut net, &mut sgd, 0, 2);
    let mut progress = TrainingProgress::new(0.1);
    progress.epochs_done = 1;
    progress.set_rng("shuffle", &Rng::new(1));
    run.save(&mut net, &sgd, &progress).unwrap();
    let first_model = std::fs::read(run.model_path()).unwrap();

    // Epoch 2 is saved, then the crash is staged: the new model still under its temporary name.
    train_steps(&mut net, &mut sgd, 2, 2);
    progress.epochs_done = 2;
    run.save(&mut net, &sgd, &progress).unwrap();
    let second_model = std::fs::read(run.model_path()).unwrap();
    let next = folder.join("net.safetensors.next");
    std::fs::rename(run.model_path(), &next).unwrap();
    std::fs::write(run.model_path(), &first_model).unwrap();

    let saved = run.load().unwrap();
    assert_eq!(saved.epochs_done(), 2);
    assert_eq!(std::fs::read(run.model_path()).unwrap(), second_model);
    assert!(!next.exists(), "load finished the interrupted rename");
    let mut restored = model(0);
    let mut optimizer = Sgd::new(0.1).momentum(0.9);
    saved.restore(&mut restored, &mut optimizer).unwrap();
    assert_eq!(weights(&mut restored), weights(&mut net));

    // A model file from another run is refused, naming both files.
    let mut other = model(8);
    dlfs::checkpoint::save(&mut other, &run.model_path()).unwrap();
    let message = run.load().unwrap_err().to_string();
    assert!(
        message.contains("net.safetensors") && message.contains("does not match"),
        "{message}"
    );
    // No saved run at all: a usage error saying what to do.
    let none = TrainingRun::new(&temp_folder("none"), "net")
        .load()
        .unwrap_err();
    assert!(matches!(none, Error::Usage(_)), "{none}");
    assert!(none.to_string().contains("without --resume"), "{none}");
}

#[test]
fn resume_keeps_the_saved_settings_and_names_a_flag_that_differs() {
    let folder = temp_folder("flags");
    let run = TrainingRun::new(&folder, "net")
        .model_setting("hidden", 32)
        .run_setting("lr", 0.001)
        .run_setting("limit", "")
        .run_setting("quick", "true")
        .epochs(10);
    let mut net = model(1);
    let sgd = Sgd::new(0.1);
    run.save(&mut net, &sgd, &TrainingProgress::new(0.1))
        .unwrap();
    let saved = run.load().unwrap();
    let command = Command::new("demo", "demo")
        .option("hidden", "H", "64", "")
        .option("lr", "LR", "0.01", "")
        .option("limit", "N", "", "")
        .option("epochs", "N", "3", "")
        .switch("quick", "");

    let merged = saved
        .apply_to(&command.parse(["--lr", "1e-3"]).unwrap())
        .unwrap();
    assert_eq!(merged.get::<usize>("hidden").unwrap(), 32);
    assert_eq!(merged.get::<usize>("epochs").unwrap(), 10);
    assert!(merged.flag("quick"));
    assert_eq!(merged.get_opt::<usize>("limit").unwrap(), None);
    let merged = saved
        .apply_to(&command.parse(["--epochs", "12"]).unwrap())
        .unwrap();
    assert_eq!(
        merged.get::<usize>("epochs").unwrap(),
        12,
        "--epochs may change"
    );

    for (words, flag) in [
        (&["--hidden", "64"][..], "--hidden 64"),
        (&["--lr", "0.1"][..], "--lr 0.1"),
        (&["--limit", "5"][..], "--limit 5"),
    ] {
        let error = saved.apply_to(&command.parse(words).unwrap()).unwrap_err();
        assert!(matches!(error, Error::Usage(_)), "{error}");
        let m = error.to_string();
        assert!(
            m.contains(flag) && m.contains("differs from the saved run"),
            "{m}"
        );
    }
    let m = saved
        .apply_to(&command.parse(["--hidden", "64"]).unwrap())
        .unwrap_err()
        .to_string();
    assert!(m.contains("shapes the model"), "{m}");
}
