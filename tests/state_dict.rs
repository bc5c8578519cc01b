//! Using a trained model as a part of another: state dicts (strict and non-strict loading, renaming
//! keys, files), freezing parameters (every optimizer skips them: no update, no weight decay, no
//! state), parameter counts, and reaching a layer's own type through `dyn Layer`.

use dlfs::Tensor;
use dlfs::checkpoint;
use dlfs::nn::{
    CifarCnn, Conv2d, Layer, Linear, LoadReport, Mode, Param, ParamCounts, Relu, Sequential,
    StateDict, downcast_mut, param_count, param_counts,
};
use dlfs::optim::{Adagrad, Adam, AdamW, Optimizer, RmsProp, Sgd, clip_grad_norm};
use dlfs::probability::Rng;
use std::path::PathBuf;

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("dlfs-state-dict-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `Linear(4, 8) → ReLU → Linear(8, 3)`: parameters `0.weight 0.bias 2.weight 2.bias`.
fn backbone(seed: u64) -> Sequential {
    let mut rng = Rng::new(seed);
    let mut model = Sequential::default();
    model.push(Linear::new(4, 8, &mut rng));
    model.push(Relu::new());
    model.push(Linear::new(8, 3, &mut rng));
    model
}

/// A bigger model holding the backbone as its first child: `0.0.weight … 0.2.bias, 1.weight, 1.bias`.
fn classifier(seed: u64) -> Sequential {
    let mut model = Sequential::default();
    model.push(backbone(seed));
    model.push(Linear::new(3, 2, &mut Rng::new(seed + 100)));
    model
}

/// Every parameter's name and bits.
fn bits(model: &mut dyn Layer) -> Vec<(String, Vec<u32>)> {
    let mut all = Vec::new();
    model.visit_params(&mut |name, p: &mut Param| {
        all.push((
            name.to_string(),
            p.value.data().iter().map(|v| v.to_bits()).collect(),
        ));
    });
    all
}

fn names(state: &StateDict) -> Vec<&str> {
    state.names().collect()
}

#[test]
fn a_state_dict_is_every_parameter_in_visit_order_as_a_copy() {
    let mut model = classifier(1);
    let mut state = model.state_dict();
    assert_eq!(
        names(&state),
        [
            "0.0.weight",
            "0.0.bias",
            "0.2.weight",
            "0.2.bias",
            "1.weight",
            "1.bias"
        ]
    );
    assert_eq!(state.get("0.2.weight").unwrap().shape(), &[3, 8]);
    // A copy: changing the dict leaves the model alone.
    let before = bits(&mut model);
    state.insert("1.bias", Tensor::full(&[2], 7.0));
    assert_eq!(bits(&mut model), before);
}

#[test]
fn strict_loading_copies_everything_and_reports_nothing() {
    let mut source = classifier(1);
    let mut target = classifier(2);
    assert_ne!(bits(&mut source), bits(&mut target));
    let report = target.load_state_dict(&source.state_dict(), true).unwrap();
    assert!(report.is_exact(), "{report:?}");
    assert_eq!(bits(&mut source), bits(&mut target));
}

#[test]
fn strict_loading_names_missing_and_unexpected_keys_and_changes_nothing() {
    let mut target = backbone(2);
    let before = bits(&mut target);
    // Missing: a dict without "2.bias".
    let mut state = backbone(1).state_dict();
    state.remove("2.bias");
    let err = target
        .load_state_dict(&state, true)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("missing") && err.contains("\"2.bias\""),
        "{err}"
    );
    assert_eq!(bits(&mut target), before, "a failed load changes nothing");
    // Unexpected: an extra entry.
    let mut state = backbone(1).state_dict();
    state.push("3.weight", Tensor::zeros(&[1]));
    let err = target
        .load_state_dict(&state, true)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("not in the model") && err.contains("\"3.weight\""),
        "{err}"
    );
    assert_eq!(bits(&mut target), before);
}

#[test]
fn non_strict_loading_loads_what_matches_and_lists_the_rest_as_pytorch() {
    let mut source = backbone(1);
    let mut state = source.state_dict();
    state.remove("0.bias");
    state.push("head.weight", Tensor::zeros(&[2, 3]));
    let mut target = backbone(2);
    let old_bias = target.state_dict().get("0.bias").unwrap().clone();
    let report = target.load_state_dict(&state, false).unwrap();
    assert_eq!(
        report,
        LoadReport {
            missing_keys: vec!["0.bias".to_string()],
            unexpected_keys: vec!["head.weight".to_string()],
        }
    );
    assert_eq!(
        report.to_string(),
        "missing keys: \"0.bias\"; unexpected keys: \"head.weight\""
    );
    let loaded = target.state_dict();
    assert_eq!(loaded.get("0.bias").unwrap(), &old_bias, "missing: kept");
    for name in ["0.weight", "2.weight", "2.bias"] {
        assert_eq!(loaded.get(name), state.get(name), "{name} loaded");
    }
}

#[test]
fn a_shape_mismatch_is_an_error_even_when_not_strict() {
    let mut target = backbone(2);
    let before = bits(&mut target);
    let mut state = backbone(1).state_dict();
    state.insert("2.weight", Tensor::zeros(&[3, 9]));
    for strict in [true, false] {
        let err = target
            .load_state_dict(&state, strict)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("\"2.weight\"") && err.contains("[3, 9]") && err.contains("[3, 8]"),
            "{err}"
        );
        assert_eq!(bits(&mut target), before);
    }
}

#[test]
fn a_backbone_loads_from_a_bigger_models_state_dict_after_renaming() {
    let mut big = classifier(1);
    let mut part = backbone(2);
    // Without renaming nothing matches.
    let report = part.load_state_dict(&big.state_dict(), false).unwrap();
    assert_eq!(report.missing_keys.len(), 4);
    assert_eq!(report.unexpected_keys.len(), 6);
    // `submodule("0")` keeps the backbone's entries, without the "0." — a strict match.
    let state = big.state_dict().submodule("0");
    assert_eq!(names(&state), ["0.weight", "0.bias", "2.weight", "2.bias"]);
    part.load_state_dict(&state, true).unwrap();
    // The loaded backbone computes what the big model's first child computes.
    let x = Tensor::randn(&[5, 4], 0.0, 1.0, &mut Rng::new(3));
    let inner = big
        .layer_mut::<Sequential>(0)
        .unwrap()
        .forward(&x, Mode::Eval);
    assert_eq!(part.forward(&x, Mode::Eval), inner);
}

#[test]
fn keys_can_be_stripped_added_renamed_and_mapped() {
    let state = backbone(1).state_dict().add_prefix("module.");
    assert_eq!(names(&state)[0], "module.0.weight");
    // strip_prefix keeps the entries without the prefix (PyTorch's consume_prefix_in_state_dict_if_present).
    let mut mixed = state.clone();
    mixed.push("extra", Tensor::zeros(&[1]));
    let stripped = mixed.strip_prefix("module.").unwrap();
    assert_eq!(
        names(&stripped),
        ["0.weight", "0.bias", "2.weight", "2.bias", "extra"]
    );
    // submodule matches whole path components: "0" is not "01".
    let mut tricky = StateDict::new();
    tricky.push("0.weight", Tensor::zeros(&[1]));
    tricky.push("01.weight", Tensor::zeros(&[2]));
    assert_eq!(names(&tricky.clone().submodule("0")), ["weight"]);
    // rename keeps the position; a missing source or a taken target is an error.
    let renamed = stripped
        .clone()
        .rename("extra", "2.extra")
        .unwrap()
        .rename("0.weight", "first")
        .unwrap();
    assert_eq!(
        names(&renamed),
        ["first", "0.bias", "2.weight", "2.bias", "2.extra"]
    );
    let err = stripped.clone().rename("nothing", "x").unwrap_err();
    assert!(err.to_string().contains("\"nothing\""), "{err}");
    let err = stripped.clone().rename("0.bias", "2.bias").unwrap_err();
    assert!(err.to_string().contains("exists already"), "{err}");
    // map_keys drops entries (None) and refuses to merge two names into one.
    let only_weights = stripped
        .clone()
        .map_keys(|k| k.ends_with("weight").then(|| k.replace('.', "_")))
        .unwrap();
    assert_eq!(names(&only_weights), ["0_weight", "2_weight"]);
    let err = stripped.map_keys(|_| Some("same".into())).unwrap_err();
    assert!(
        err.to_string().contains("\"0.weight\"") && err.to_string().contains("\"0.bias\""),
        "{err}"
    );
    // strip_prefix can collide too.
    let mut colliding = StateDict::new();
    colliding.push("a.w", Tensor::zeros(&[1]));
    colliding.push("w", Tensor::zeros(&[1]));
    assert!(colliding.strip_prefix("a.").is_err());
    // from_entries refuses duplicate names.
    let twice = vec![
        ("w".to_string(), Tensor::zeros(&[1])),
        ("w".to_string(), Tensor::zeros(&[1])),
    ];
    assert!(StateDict::from_entries(twice).is_err());
}

#[test]
fn state_dicts_go_through_safetensors_files() {
    let dir = temp_dir("files");
    let path = dir.join("big.safetensors");
    let mut big = classifier(1);
    checkpoint::save(&mut big, &path).unwrap();
    // Read back as a state dict: the same names, order and values.
    let state = checkpoint::read_state_dict(&path).unwrap();
    assert_eq!(state, big.state_dict());
    // A part of it, loaded into the backbone, then saved under the big model's names again.
    let mut part = backbone(5);
    part.load_state_dict(&state.submodule("0"), true).unwrap();
    let part_path = dir.join("part.safetensors");
    checkpoint::save_state_dict(
        &part.state_dict().add_prefix("0."),
        &part_path,
        &[("part", "backbone")],
    )
    .unwrap();
    let read = checkpoint::read(&part_path).unwrap();
    assert!(read.metadata.contains(&("part".into(), "backbone".into())));
    let mut other = classifier(7);
    let report = other
        .load_state_dict(&read.into_state_dict().unwrap(), false)
        .unwrap();
    assert_eq!(report.missing_keys, ["1.weight", "1.bias"]);
    assert!(report.unexpected_keys.is_empty());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn freezing_marks_parameters_by_module_path_and_counts_them() {
    let mut model = classifier(1);
    let total = param_count(&mut model);
    assert_eq!(total, (4 * 8 + 8) + (8 * 3 + 3) + (3 * 2 + 2));
    assert_eq!(
        param_counts(&mut model),
        ParamCounts {
            trainable: total,
            total
        }
    );
    assert_eq!(model.set_trainable("0", false).unwrap(), 4);
    let counts = param_counts(&mut model);
    assert_eq!(counts.trainable, 3 * 2 + 2);
    assert_eq!(counts.frozen(), total - 8);
    assert_eq!(
        counts.to_string(),
        format!("{total} parameters (8 trainable, {} frozen)", total - 8)
    );
    // One parameter by its name; "0.2" does not match "0.2x" or "0.20".
    model.unfreeze();
    assert_eq!(model.set_trainable("0.2.weight", false).unwrap(), 1);
    assert_eq!(param_counts(&mut model).frozen(), 24);
    // A typo is an error that lists the names, not a silent no-op.
    let err = model.set_trainable("0.3", false).unwrap_err();
    assert_eq!(err.exit_code(), 2);
    assert!(err.to_string().contains("\"0.0.weight\""), "{err}");
    model.freeze();
    assert_eq!(param_counts(&mut model).trainable, 0);
    assert_eq!(model.set_trainable("", true).unwrap(), 6);
    assert_eq!(
        param_counts(&mut model).to_string(),
        format!("{total} parameters (all trainable)")
    );
}

/// Runs `steps` steps of `optimizer` on `model` with a fixed batch and MSE-like gradient (the output
/// itself as ∂L/∂y).
fn train(model: &mut Sequential, optimizer: &mut dyn Optimizer, steps: usize) {
    let x = Tensor::randn(&[6, 4], 0.0, 1.0, &mut Rng::new(11));
    for _ in 0..steps {
        optimizer.zero_grad(model);
        let y = model.forward(&x, Mode::Train);
        model.backward(&y);
        optimizer.step(model);
    }
}

fn optimizers() -> Vec<(&'static str, Box<dyn Optimizer>)> {
    vec![
        (
            "SGD momentum + weight decay",
            Box::new(Sgd::new(0.05).momentum(0.9).weight_decay(0.1)),
        ),
        ("Adam + L2", Box::new(Adam::new(0.01).weight_decay(0.1))),
        ("AdamW", Box::new(AdamW::new(0.01).weight_decay(0.5))),
        (
            "RMSprop centered + momentum",
            Box::new(RmsProp::new(0.01).momentum(0.5).centered()),
        ),
        (
            "Adagrad + weight decay",
            Box::new(Adagrad::new(0.05).weight_decay(0.1)),
        ),
    ]
}

#[test]
fn every_optimizer_skips_frozen_parameters_entirely() {
    for (name, mut optimizer) in optimizers() {
        let mut model = classifier(1);
        model.set_trainable("0", false).unwrap();
        let frozen_before: Vec<_> = bits(&mut model).into_iter().take(4).collect();
        let head_before = bits(&mut model)[4].clone();
        train(&mut model, optimizer.as_mut(), 3);
        let after = bits(&mut model);
        assert_eq!(
            &after[..4],
            &frozen_before[..],
            "{name}: a frozen parameter changed (update or weight decay)"
        );
        assert_ne!(after[4], head_before, "{name}: the head did not train");
    }
}

#[test]
fn training_with_a_frozen_backbone_is_training_the_head_alone() {
    // The same head trained (a) inside the classifier with the backbone frozen, (b) alone on the
    // backbone's fixed outputs: bit-identical, for every optimizer — so frozen parameters leave no
    // trace in any state (Adam's step count, momentum buffers).
    let x = Tensor::randn(&[6, 4], 0.0, 1.0, &mut Rng::new(11));
    for ((name, mut with_frozen), (_, mut alone)) in optimizers().into_iter().zip(optimizers()) {
        let mut model = classifier(1);
        model.set_trainable("0", false).unwrap();
        let features = model
            .layer_mut::<Sequential>(0)
            .unwrap()
            .forward(&x, Mode::Eval);
        let mut head = Sequential::default();
        head.push(Linear::new(3, 2, &mut Rng::new(101)));
        for _ in 0..4 {
            with_frozen.zero_grad(&mut model);
            let y = model.forward(&x, Mode::Train);
            model.backward(&y);
            with_frozen.step(&mut model);

            alone.zero_grad(&mut head);
            let y = head.forward(&features, Mode::Train);
            head.backward(&y);
            alone.step(&mut head);
        }
        let head_in_model: Vec<_> = bits(&mut model)[4..]
            .iter()
            .map(|(_, b)| b.clone())
            .collect();
        let head_alone: Vec<_> = bits(&mut head).into_iter().map(|(_, b)| b).collect();
        assert_eq!(head_in_model, head_alone, "{name}");
    }
}

#[test]
fn no_optimizer_state_exists_for_a_frozen_parameter() {
    let mut model = classifier(1);
    model.set_trainable("0", false).unwrap();
    let mut adam = Adam::new(0.01);
    train(&mut model, &mut adam, 2);
    let states = adam.moments().states();
    assert_eq!(adam.moments().names().len(), 6);
    assert!(states[..4].iter().all(Option::is_none));
    assert!(states[4..].iter().all(Option::is_some));
    let with_state: Vec<&str> = adam.moments().iter().map(|(n, _)| n).collect();
    assert_eq!(with_state, ["1.weight", "1.bias"]);
}

#[test]
fn an_unfrozen_parameter_starts_adam_at_its_own_first_step() {
    // Freeze the head's bias for 3 steps, then unfreeze it: its first update is Adam's first step
    // (t = 1: a move of ≈ lr against the sign of the gradient), not step 4 of the optimizer.
    let lr = 0.01;
    let mut model = classifier(1);
    model.set_trainable("1.bias", false).unwrap();
    let mut adam = Adam::new(lr);
    train(&mut model, &mut adam, 3);
    model.unfreeze();
    let before = model.state_dict().get("1.bias").unwrap().clone();
    train(&mut model, &mut adam, 1);
    let after = model.state_dict().get("1.bias").unwrap().clone();
    for (b, a) in before.data().iter().zip(after.data()) {
        let moved = (a - b).abs();
        assert!(
            (moved - lr).abs() < 1e-4 * lr + 1e-6,
            "the first step of a newly trainable parameter moves by lr = {lr}, moved {moved}"
        );
    }
    let steps: Vec<usize> = adam.moments().iter().map(|(_, m)| m.step).collect();
    assert_eq!(steps, [4, 4, 4, 4, 4, 1]);
}

#[test]
fn an_unfrozen_parameter_starts_adagrads_learning_rate_decay_at_its_own_first_step() {
    // Adagrad's γ̃ = γ/(1 + (t − 1)η) uses the parameter's own t, as PyTorch: the bias, frozen for 3
    // steps, moves by γ at its first step (s = g², so g/√s = ±1), not by γ/(1 + 3η) = γ/2.5.
    let lr = 0.02;
    let mut model = classifier(1);
    model.set_trainable("1.bias", false).unwrap();
    let mut adagrad = Adagrad::new(lr).lr_decay(0.5);
    train(&mut model, &mut adagrad, 3);
    model.unfreeze();
    let before = model.state_dict().get("1.bias").unwrap().clone();
    train(&mut model, &mut adagrad, 1);
    let after = model.state_dict().get("1.bias").unwrap().clone();
    for (b, a) in before.data().iter().zip(after.data()) {
        let moved = (a - b).abs();
        assert!(
            (moved - lr).abs() < 1e-4 * lr,
            "the first Adagrad step of a newly trainable parameter moves by lr = {lr}, moved {moved}"
        );
    }
    let state = adagrad.export_state().unwrap();
    let step = |name: &str| state.param(name).unwrap().get("step").unwrap().data()[0];
    assert_eq!((step("1.weight"), step("1.bias")), (4.0, 1.0));
}

/// The gradients of the parameters under `path` (`""`: all) and their L2 norm, in f64.
fn grads_under(model: &mut dyn Layer, path: &str) -> (Vec<f32>, f64) {
    let mut grads = Vec::new();
    model.visit_params(&mut |name, p| {
        if path.is_empty() || name.starts_with(&format!("{path}.")) {
            grads.extend_from_slice(p.grad.data());
        }
    });
    let norm = grads
        .iter()
        .map(|&g| f64::from(g).powi(2))
        .sum::<f64>()
        .sqrt();
    (grads, norm)
}

#[test]
fn gradient_clipping_ignores_frozen_parameters() {
    let mut model = classifier(1);
    let x = Tensor::randn(&[6, 4], 0.0, 1.0, &mut Rng::new(11));
    let y = model.forward(&x, Mode::Train);
    model.backward(&y);
    let (_, all) = grads_under(&mut model, "");
    let (_, head) = grads_under(&mut model, "1");
    let (frozen, _) = grads_under(&mut model, "0");
    assert!(
        head < all * 0.99,
        "the test needs gradients in the backbone"
    );
    model.set_trainable("0", false).unwrap();
    let norm = clip_grad_norm(&mut model, 1e-3);
    assert!(
        (f64::from(norm) - head).abs() <= 1e-6 * head,
        "the norm counts only trainable gradients: got {norm}, head {head}, all {all}"
    );
    assert_eq!(
        grads_under(&mut model, "0").0,
        frozen,
        "frozen gradients were scaled"
    );
    let (_, clipped) = grads_under(&mut model, "1");
    assert!(
        (clipped - 1e-3).abs() < 1e-6,
        "head clipped to 1e-3: {clipped}"
    );
}

#[test]
fn a_layer_is_reached_through_dyn_layer_by_its_type() {
    let mut model = classifier(1);
    assert!(model.layer::<Sequential>(0).is_some());
    assert!(
        model.layer::<Linear>(0).is_none(),
        "layer 0 is a Sequential"
    );
    assert!(model.layer::<Linear>(5).is_none(), "no layer 5");
    let head = model.layer_mut::<Linear>(1).unwrap();
    assert_eq!((head.in_features(), head.out_features()), (3, 2));
    head.weight_mut().value.fill(0.0);
    assert_eq!(model.state_dict().get("1.weight").unwrap().sum(), 0.0);
    // Any `&mut dyn Layer`, e.g. the entries of a model's layer list.
    let mut cnn = CifarCnn::new(&mut Rng::new(0));
    let mut found = 0;
    for (name, layer) in cnn.layers_mut() {
        if let Some(conv) = downcast_mut::<Conv2d>(layer) {
            assert!(name.starts_with("conv"));
            found += conv.out_channels();
        }
    }
    assert_eq!(found, 6 + 16);
}
