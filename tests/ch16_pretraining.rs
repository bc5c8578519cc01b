//! Chapter 16: the transformer pieces (LayerNorm, attention, MultiheadAttention, the pre-norm block,
//! positional embeddings, the GPT with its tied output layer), the generated corpus, and the chapter.
//!
//! - Every piece passes a finite-difference gradient check (h = 10⁻², relative error ≤ 10⁻², see
//!   `dlfs::check`), masks included.
//! - The fast attention (GEMMs on strided views, fast exp) agrees with the textbook version in f64
//!   on awkward shapes (sizes 1, primes) within 10⁻⁵ + 10⁻⁴·|x|.
//! - `MultiheadAttention` and `TransformerBlock` reproduce PyTorch's outputs and gradients stored in
//!   `tests/fixtures/transformer_*.safetensors` (written by `make_golden_transformer.py`) within
//!   2·10⁻⁵ + 10⁻⁴·|x|: f32 rounding over sums of a few dozen terms, and the fast exp/erf (errors
//!   below 2·10⁻⁷).
//! - Training results are bit-identical for 1, 2 and 3 threads; gradients accumulate.

use dlfs::check::{
    GradCheckConfig, GradReport, Tolerance, assert_close, assert_gradcheck_layer, gradcheck,
};
use dlfs::checkpoint;
use dlfs::linalg::gemm::{MatMut, MatRef};
use dlfs::loss::{Reduction, cross_entropy};
use dlfs::nn::attention::{
    attention_backward, attention_forward, masked_softmax_rows, scaled_dot_product_attention,
};
use dlfs::nn::{
    AttentionMask, Gpt, GptConfig, Layer, LayerNorm, Mode, MultiheadAttention, Param,
    PositionalEmbedding, TransformerBlock, param_count, zero_grad,
};
use dlfs::optim::{AdamW, Optimizer, clip_grad_norm};
use dlfs::parallel;
use dlfs::probability::Rng;
use dlfs::tensor::Tensor;
use std::path::Path;

fn random(shape: &[usize], seed: u64) -> Tensor {
    Tensor::randn(shape, 0.0, 1.0, &mut Rng::new(seed))
}

fn print_worst(what: &str, reports: &[GradReport]) {
    for r in reports {
        println!("{what}: {r}");
    }
}

/// Sets every parameter of `layer` to random values (biases and norm scales included, so that no
/// term of a gradient is zero by construction).
fn randomise(layer: &mut dyn Layer, seed: u64) {
    let mut rng = Rng::new(seed);
    layer.visit_params(&mut |name, p| {
        let shape = p.value.shape().to_vec();
        p.value = if name.contains("norm") && name.ends_with("weight") {
            Tensor::randn(&shape, 1.0, 0.2, &mut rng)
        } else {
            Tensor::randn(&shape, 0.0, 0.3, &mut rng)
        };
    });
}

// ---------------------------------------------------------------------------------------------
// LayerNorm
// ---------------------------------------------------------------------------------------------

#[test]
fn layer_norm_normalises_each_row() {
    let mut norm = LayerNorm::new(4);
    let x = Tensor::from_vec(&[2, 4], vec![1.0, 2.0, 3.0, 4.0, -2.0, 0.0, 0.0, 2.0]);
    let y = norm.forward(&x, Mode::Inference);
    // Row 1: μ = 2.5, σ² = 1.25 → (x − μ)/√(1.25 + 10⁻⁵).
    let s = (1.25f32 + 1e-5).sqrt();
    let expected = [-1.5 / s, -0.5 / s, 0.5 / s, 1.5 / s];
    assert_close("row 1", &[4], &y.data()[..4], &expected, Tolerance::F32);
    for row in y.data().chunks(4) {
        let mean: f32 = row.iter().sum::<f32>() / 4.0;
        let variance: f32 = row.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / 4.0;
        assert!(
            mean.abs() < 1e-6 && (variance - 1.0).abs() < 1e-4,
            "{row:?}"
        );
    }
}

#[test]
fn layer_norm_gradients() {
    let mut norm = LayerNorm::new(5);
    randomise(&mut norm, 1);
    let x = random(&[2, 3, 5], 2);
    let reports = assert_gradcheck_layer(&mut norm, &x, &GradCheckConfig::default());
    print_worst("LayerNorm", &reports);
    assert_eq!(reports.len(), 3, "input, weight, bias");
}

// ---------------------------------------------------------------------------------------------
// Attention, one head
// ---------------------------------------------------------------------------------------------

/// Runs the fast one-head forward on contiguous `[T, D]`, `[S, D]` tensors.
fn fast_attention(q: &Tensor, k: &Tensor, v: &Tensor, mask: AttentionMask) -> (Tensor, Tensor) {
    let (t, d, s) = (q.dim(0), q.dim(1), k.dim(0));
    let mut probs = vec![0.0; t * s];
    let mut out = vec![0.0; t * d];
    attention_forward(
        MatRef::new(q.data(), t, d),
        MatRef::new(k.data(), s, d),
        MatRef::new(v.data(), s, d),
        mask,
        &mut probs,
        MatMut::new(&mut out, t, d),
    );
    (
        Tensor::from_vec(&[t, d], out),
        Tensor::from_vec(&[t, s], probs),
    )
}

#[test]
fn fast_attention_matches_the_textbook_version() {
    let shapes = [
        (1, 1, 1),
        (3, 3, 2),
        (7, 7, 5),
        (17, 17, 8),
        (5, 11, 3),
        (37, 20, 4),
        (20, 35, 4),
        (64, 64, 32),
    ];
    for (case, &(t, s, d)) in shapes.iter().enumerate() {
        let seed = 100 + 10 * case as u64;
        let (q, k, v) = (
            random(&[t, d], seed),
            random(&[s, d], seed + 1),
            random(&[s, d], seed + 2),
        );
        let padding: Vec<bool> = (0..s).map(|j| j % 3 == 2).collect();
        for (causal, pad) in [(false, false), (true, false), (false, true), (true, true)] {
            let mask = AttentionMask {
                causal,
                key_padding: pad.then_some(padding.as_slice()),
            };
            let (out, probs) = fast_attention(&q, &k, &v, mask);
            let (expected_out, expected_probs) = scaled_dot_product_attention(&q, &k, &v, mask);
            let name = format!("T={t} S={s} D={d} causal={causal} padding={pad}");
            assert_close(
                &format!("weights, {name}"),
                &[t, s],
                probs.data(),
                expected_probs.data(),
                Tolerance::F32,
            );
            assert_close(
                &format!("output, {name}"),
                &[t, d],
                out.data(),
                expected_out.data(),
                Tolerance::F32,
            );
        }
    }
}

#[test]
fn masks_give_exactly_zero_weight_and_an_all_masked_query_gets_zeros() {
    // Causal: row i is zero after column i; every row sums to 1.
    let mut scores = random(&[4, 4], 7).into_data();
    masked_softmax_rows(
        &mut scores,
        4,
        AttentionMask {
            causal: true,
            key_padding: None,
        },
    );
    for (i, row) in scores.chunks(4).enumerate() {
        assert!(row[i + 1..].iter().all(|&p| p == 0.0), "row {i}: {row:?}");
        assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-6);
    }
    // Query 0 with key 0 padded and a causal mask sees nothing: its row and its output are zeros.
    let padding = [true, false, false];
    let mask = AttentionMask {
        causal: true,
        key_padding: Some(&padding),
    };
    let (q, k, v) = (random(&[3, 2], 1), random(&[3, 2], 2), random(&[3, 2], 3));
    let (out, probs) = fast_attention(&q, &k, &v, mask);
    assert_eq!(&probs.data()[..3], &[0.0, 0.0, 0.0]);
    assert_eq!(&out.data()[..2], &[0.0, 0.0]);
    assert!(probs.data()[3] == 0.0 && (probs.data()[4] - 1.0).abs() < 1e-6);
}

#[test]
fn attention_backward_matches_finite_differences() {
    let (t, d) = (5, 3);
    let padding = [false, false, true, false, false];
    for (causal, pad) in [(false, false), (true, false), (true, true)] {
        let mask = AttentionMask {
            causal,
            key_padding: pad.then_some(&padding[..]),
        };
        let (q, k, v) = (
            random(&[t, d], 11),
            random(&[t, d], 12),
            random(&[t, d], 13),
        );
        let r = random(&[t, d], 14);
        let (_, probs) = fast_attention(&q, &k, &v, mask);
        let mut scratch = vec![0.0; t * t];
        let (mut dq, mut dk, mut dv) = (vec![0.0; t * d], vec![0.0; t * d], vec![0.0; t * d]);
        attention_backward(
            MatRef::new(q.data(), t, d),
            MatRef::new(k.data(), t, d),
            MatRef::new(v.data(), t, d),
            mask,
            probs.data(),
            MatRef::new(r.data(), t, d),
            &mut scratch,
            MatMut::new(&mut dq, t, d),
            MatMut::new(&mut dk, t, d),
            MatMut::new(&mut dv, t, d),
        );
        let loss = |q: &Tensor, k: &Tensor, v: &Tensor| -> f64 {
            let (out, _) = scaled_dot_product_attention(q, k, v, mask);
            out.data()
                .iter()
                .zip(r.data())
                .map(|(&a, &b)| f64::from(a) * f64::from(b))
                .sum()
        };
        let config = GradCheckConfig::default();
        let shape = [t, d];
        let checks = [("q", &q, &dq), ("k", &k, &dk), ("v", &v, &dv)];
        for (which, tensor, analytic) in checks {
            let mut values = tensor.data().to_vec();
            let report = gradcheck(
                which,
                &shape,
                &mut values,
                analytic,
                |x| {
                    let moved = Tensor::from_vec(&shape, x.to_vec());
                    match which {
                        "q" => loss(&moved, &k, &v),
                        "k" => loss(&q, &moved, &v),
                        _ => loss(&q, &k, &moved),
                    }
                },
                &config,
            );
            println!("causal={causal} padding={pad}: {report}");
            assert!(report.passed, "causal={causal} padding={pad}: {report}");
        }
        if pad {
            // A padded key receives no gradient at all.
            assert!(
                dk[2 * d..3 * d]
                    .iter()
                    .chain(&dv[2 * d..3 * d])
                    .all(|&g| g == 0.0)
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// MultiheadAttention, the block, positions
// ---------------------------------------------------------------------------------------------

fn padding_mask() -> Vec<bool> {
    // 3 sequences of 4 steps: none, the last two, the last one padded.
    vec![
        false, false, false, false, false, false, true, true, false, false, false, true,
    ]
}

#[test]
fn multihead_attention_gradients_with_and_without_masks() {
    for (causal, pad) in [(false, false), (true, false), (false, true), (true, true)] {
        let mut mha = MultiheadAttention::new(6, 2, &mut Rng::new(3)).causal(causal);
        randomise(&mut mha, 4);
        mha.set_key_padding_mask(pad.then(padding_mask));
        let x = random(&[3, 4, 6], 5);
        let reports = assert_gradcheck_layer(&mut mha, &x, &GradCheckConfig::default());
        print_worst(&format!("MHA causal={causal} padding={pad}"), &reports);
        assert_eq!(reports.len(), 5, "input + 4 parameters");
    }
}

#[test]
fn transformer_block_gradients_with_masks() {
    let mut block = TransformerBlock::new(6, 3, 10, &mut Rng::new(6)).causal(true);
    randomise(&mut block, 7);
    block.set_key_padding_mask(Some(padding_mask()));
    let x = random(&[3, 4, 6], 8);
    let reports = assert_gradcheck_layer(&mut block, &x, &GradCheckConfig::default());
    print_worst("block", &reports);
    assert_eq!(reports.len(), 13, "input + 12 parameters");
}

#[test]
fn positional_embedding_gradients() {
    let mut positions = PositionalEmbedding::new(6, 3, &mut Rng::new(9));
    let x = random(&[2, 4, 3], 10);
    print_worst(
        "positions",
        &assert_gradcheck_layer(&mut positions, &x, &GradCheckConfig::default()),
    );
}

#[test]
fn parameter_names_are_pytorchs() {
    let mut names = Vec::new();
    let mut block = TransformerBlock::new(8, 2, 16, &mut Rng::new(0));
    block.visit_params(&mut |name, p| names.push(format!("{name} {:?}", p.value.shape())));
    assert_eq!(
        names,
        [
            "self_attn.in_proj_weight [24, 8]",
            "self_attn.in_proj_bias [24]",
            "self_attn.out_proj.weight [8, 8]",
            "self_attn.out_proj.bias [8]",
            "linear1.weight [16, 8]",
            "linear1.bias [16]",
            "linear2.weight [8, 16]",
            "linear2.bias [8]",
            "norm1.weight [8]",
            "norm1.bias [8]",
            "norm2.weight [8]",
            "norm2.bias [8]",
        ]
    );
}

// ---------------------------------------------------------------------------------------------
// PyTorch golden files
// ---------------------------------------------------------------------------------------------

/// The tensors of a golden file by name.
fn golden(file: &str) -> Vec<(String, Tensor)> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(file);
    checkpoint::read(&path)
        .unwrap_or_else(|e| panic!("{e}"))
        .tensors
}

fn tensor<'a>(tensors: &'a [(String, Tensor)], name: &str) -> &'a Tensor {
    &tensors
        .iter()
        .find(|(n, _)| n == name)
        .unwrap_or_else(|| panic!("the golden file has no tensor {name}"))
        .1
}

/// The golden files' key-padding mask (1.0 = padding) as flags.
fn golden_padding(file: &str) -> Vec<bool> {
    tensor(&golden(file), "key_padding_mask")
        .data()
        .iter()
        .map(|&v| v == 1.0)
        .collect()
}

#[test]
fn multihead_attention_matches_pytorch() {
    let file = "transformer_mha.safetensors";
    let padding = golden_padding(file);
    for masked in [false, true] {
        let mut mha = MultiheadAttention::new(8, 2, &mut Rng::new(0)).causal(masked);
        mha.set_key_padding_mask(masked.then(|| padding.clone()));
        check_case(&mut mha, file, if masked { "masked" } else { "plain" });
    }
}

#[test]
fn transformer_block_matches_pytorch() {
    let file = "transformer_block.safetensors";
    let padding = golden_padding(file);
    for masked in [false, true] {
        let mut block = TransformerBlock::new(8, 2, 16, &mut Rng::new(0)).causal(masked);
        block.set_key_padding_mask(masked.then(|| padding.clone()));
        check_case(&mut block, file, if masked { "masked" } else { "plain" });
    }
}

/// Loads the file's parameters into `layer`, runs one case and compares outputs and gradients.
fn check_case(layer: &mut dyn Layer, file: &str, case: &str) {
    let tensors = golden(file);
    layer.visit_params(&mut |name, p: &mut Param| {
        let value = tensor(&tensors, name);
        assert_eq!(p.value.shape(), value.shape(), "{name}");
        p.value = value.clone();
    });
    let x = tensor(&tensors, "input").clone();
    let r = tensor(&tensors, "loss_weights").clone();
    let tolerance = Tolerance::new(2e-5, 1e-4);
    zero_grad(layer);
    let y = layer.forward(&x, Mode::Train);
    assert_close(
        &format!("{file} {case} output"),
        y.shape(),
        y.data(),
        tensor(&tensors, &format!("{case}.output")).data(),
        tolerance,
    );
    let dx = layer.backward(&r);
    assert_close(
        &format!("{file} {case} input gradient"),
        dx.shape(),
        dx.data(),
        tensor(&tensors, &format!("{case}.grad.input")).data(),
        tolerance,
    );
    layer.visit_params(&mut |name, p| {
        assert_close(
            &format!("{file} {case} gradient of {name}"),
            p.grad.shape(),
            p.grad.data(),
            tensor(&tensors, &format!("{case}.grad.{name}")).data(),
            tolerance,
        );
    });
}

// ---------------------------------------------------------------------------------------------
// The GPT
// ---------------------------------------------------------------------------------------------

fn tiny_config() -> GptConfig {
    GptConfig {
        vocab_size: 7,
        context: 6,
        layers: 2,
        heads: 2,
        width: 8,
    }
}

fn ids(batch: usize, steps: usize, vocab: usize, seed: u64) -> (Tensor, Vec<usize>) {
    let mut rng = Rng::new(seed);
    let tokens: Vec<usize> = (0..batch * (steps + 1)).map(|_| rng.below(vocab)).collect();
    let mut input = Vec::new();
    let mut targets = Vec::new();
    for row in tokens.chunks(steps + 1) {
        input.extend(row[..steps].iter().map(|&t| t as f32));
        targets.extend_from_slice(&row[1..]);
    }
    (Tensor::from_vec(&[batch, steps], input), targets)
}

/// The mean next-token cross-entropy of `model` on (inputs, targets).
fn lm_loss(model: &mut Gpt, inputs: &Tensor, targets: &[usize], mode: Mode) -> (f32, Tensor) {
    let logits = model.forward(inputs, mode);
    let v = model.config().vocab_size;
    let flat = logits.reshape(&[targets.len(), v]);
    let out = cross_entropy(&flat, targets, Reduction::Mean);
    (out.value, out.grad)
}

#[test]
fn gpt_parameter_count_and_names() {
    assert_eq!(
        GptConfig::nano_cpu(65).param_count(),
        809_856,
        "nanoGPT's count"
    );
    let config = tiny_config();
    let mut model = Gpt::new(config, &mut Rng::new(0));
    assert_eq!(param_count(&mut model), config.param_count());
    let mut names = Vec::new();
    model.visit_params(&mut |name, _| names.push(name.to_string()));
    assert_eq!(names[0], "token_embedding.weight");
    assert_eq!(names[1], "position_embedding.weight");
    assert_eq!(names[2], "blocks.0.self_attn.in_proj_weight");
    assert_eq!(names[names.len() - 1], "norm.bias");
    assert!(
        !names.iter().any(|n| n.contains("lm_head")),
        "the output layer is tied"
    );
}

#[test]
fn gpt_parameter_gradients_including_the_tied_embedding() {
    let config = tiny_config();
    let mut model = Gpt::new(config, &mut Rng::new(1));
    randomise(&mut model, 2);
    let (inputs, targets) = ids(2, 5, config.vocab_size, 3);
    zero_grad(&mut model);
    let (_, grad) = lm_loss(&mut model, &inputs, &targets, Mode::Train);
    let grad = grad.reshape(&[2, 5, config.vocab_size]);
    model.backward(&grad);
    let mut analytic: Vec<(String, Vec<usize>, Vec<f32>)> = Vec::new();
    model.visit_params(&mut |name, p| {
        analytic.push((
            name.to_string(),
            p.value.shape().to_vec(),
            p.grad.data().to_vec(),
        ))
    });
    let gradcheck_config = GradCheckConfig {
        max_samples: 12,
        ..GradCheckConfig::default()
    };
    for (name, shape, grad) in &analytic {
        let mut values = Vec::new();
        model.visit_params(&mut |n, p| {
            if n == name {
                values = p.value.data().to_vec();
            }
        });
        let original = values.clone();
        let report = gradcheck(
            name,
            shape,
            &mut values,
            grad,
            |v| {
                model.visit_params(&mut |n, p| {
                    if n == name {
                        p.value.data_mut().copy_from_slice(v);
                    }
                });
                f64::from(lm_loss(&mut model, &inputs, &targets, Mode::Inference).0)
            },
            &gradcheck_config,
        );
        model.visit_params(&mut |n, p| {
            if n == name {
                p.value.data_mut().copy_from_slice(&original);
            }
        });
        println!("{report}");
        assert!(report.passed, "{report}");
    }
}

#[test]
fn gradients_accumulate_over_two_backward_passes() {
    let config = tiny_config();
    let mut model = Gpt::new(config, &mut Rng::new(4));
    let (inputs, targets) = ids(2, 4, config.vocab_size, 5);
    let mut once = Vec::new();
    for passes in [1, 2] {
        zero_grad(&mut model);
        for _ in 0..passes {
            let (_, grad) = lm_loss(&mut model, &inputs, &targets, Mode::Train);
            model.backward(&grad.reshape(&[2, 4, config.vocab_size]));
        }
        let mut grads = Vec::new();
        model.visit_params(&mut |_, p| grads.extend_from_slice(p.grad.data()));
        if passes == 1 {
            once = grads;
        } else {
            let doubled: Vec<f32> = once.iter().map(|g| 2.0 * g).collect();
            assert_close(
                "two passes",
                &[grads.len()],
                &grads,
                &doubled,
                Tolerance::F32,
            );
        }
    }
}

/// A few AdamW steps of a small GPT; returns every parameter value afterwards.
fn train_a_little(threads: usize) -> Vec<f32> {
    parallel::set_num_threads(threads);
    let config = GptConfig {
        vocab_size: 11,
        context: 16,
        layers: 2,
        heads: 4,
        width: 32,
    };
    let mut model = Gpt::new(config, &mut Rng::new(6));
    let mut optimizer = AdamW::new(1e-3).betas(0.9, 0.99).weight_decay(0.1);
    for step in 0..3 {
        let (inputs, targets) = ids(9, 16, config.vocab_size, 10 + step);
        zero_grad(&mut model);
        let (_, grad) = lm_loss(&mut model, &inputs, &targets, Mode::Train);
        model.backward(&grad.reshape(&[9, 16, config.vocab_size]));
        clip_grad_norm(&mut model, 1.0);
        optimizer.step(&mut model);
    }
    let mut values = Vec::new();
    model.visit_params(&mut |_, p| values.extend_from_slice(p.value.data()));
    values
}

#[test]
fn training_is_bit_identical_for_any_thread_count() {
    let one = train_a_little(1);
    let two = train_a_little(2);
    let three = train_a_little(3);
    parallel::set_num_threads(parallel::default_num_threads());
    assert!(
        one == two && two == three,
        "results differ between 1, 2 and 3 threads"
    );
}

#[test]
fn a_gpt_learns_a_deterministic_sequence() {
    // The sequence 0 1 2 … 6 0 1 2 …: the next token is a function of the current one.
    let config = tiny_config();
    let mut model = Gpt::new(config, &mut Rng::new(8));
    let mut optimizer = AdamW::new(1e-2).weight_decay(0.0);
    let data: Vec<f32> = (0..4 * 6).map(|i| (i % 7) as f32).collect();
    let inputs = Tensor::from_vec(&[4, 6], data);
    let targets: Vec<usize> = inputs
        .data()
        .iter()
        .map(|&v| (v as usize + 1) % 7)
        .collect();
    let (first, _) = lm_loss(&mut model, &inputs, &targets, Mode::Inference);
    for _ in 0..60 {
        zero_grad(&mut model);
        let (_, grad) = lm_loss(&mut model, &inputs, &targets, Mode::Train);
        model.backward(&grad.reshape(&[4, 6, 7]));
        optimizer.step(&mut model);
    }
    let (last, _) = lm_loss(&mut model, &inputs, &targets, Mode::Inference);
    assert!(
        first > 1.8 && last < 0.1,
        "loss {first} → {last}: the model should learn the successor function"
    );
    let continuation = model.generate(&[3], 5, 0.01, &mut Rng::new(0));
    assert_eq!(continuation, vec![4, 5, 6, 0, 1]);
}

// ---------------------------------------------------------------------------------------------
// AdamW on matrices only
// ---------------------------------------------------------------------------------------------

#[test]
fn adamw_can_decay_the_matrices_only() {
    // With zero gradients Adam's update is zero, so only the decay moves a parameter.
    let mut layer = dlfs::nn::Linear::new(3, 2, &mut Rng::new(0));
    let (weight, bias) = (
        layer.weight().value.clone(),
        layer.bias().unwrap().value.clone(),
    );
    let mut optimizer = AdamW::new(0.1).weight_decay(0.5).decay_matrices_only();
    optimizer.step(&mut layer);
    let shrunk: Vec<f32> = weight
        .data()
        .iter()
        .map(|w| w * (1.0 - 0.1 * 0.5))
        .collect();
    assert_close(
        "weight",
        &[2, 3],
        layer.weight().value.data(),
        &shrunk,
        Tolerance::F32,
    );
    assert_eq!(
        layer.bias().unwrap().value.data(),
        bias.data(),
        "the bias is not decayed"
    );
    assert!(optimizer.describe().contains("matrices only"));
}

// ---------------------------------------------------------------------------------------------
// The generated grammar
// ---------------------------------------------------------------------------------------------

use dlfs::data::tiny_grammar::{MAX_SENTENCE_CHARS, TinyGrammar};

#[test]
fn the_grammar_is_a_distribution_of_short_unambiguous_sentences() {
    let grammar = TinyGrammar::new();
    let sentences = grammar.sentences();
    assert_eq!(sentences.len(), 19_440);
    let total: f64 = sentences.iter().map(|(_, p)| p).sum();
    assert!((total - 1.0).abs() < 1e-12, "probabilities sum to {total}");
    let longest = sentences.iter().map(|(t, _)| t.len()).max().unwrap();
    assert!(
        longest <= MAX_SENTENCE_CHARS,
        "a sentence of {longest} characters"
    );
    // Unambiguous: no text is made twice (else its probability would be a sum of derivations).
    let mut texts: Vec<&str> = sentences.iter().map(|(t, _)| t.as_str()).collect();
    texts.sort_unstable();
    texts.dedup();
    assert_eq!(texts.len(), sentences.len());
    assert!(sentences.iter().all(|(t, _)| t.ends_with(".\n")));
}

#[test]
fn the_optimal_loss_of_a_sentence_is_its_negative_log_probability() {
    let grammar = TinyGrammar::new();
    for (text, p) in grammar.sentences().iter().step_by(997) {
        let losses = grammar.optimal_losses(text).unwrap();
        let total: f64 = losses.iter().sum();
        assert!(
            (total + p.ln()).abs() < 1e-9,
            "{text:?}: {total} vs {}",
            -p.ln()
        );
    }
    // A text cut in the middle of a sentence is not the grammar's.
    assert!(grammar.optimal_losses("cat sees").is_none());
    // Long texts average to the entropy rate.
    let text = grammar.text(200_000, 3);
    let losses = grammar.optimal_losses(&text).unwrap();
    let mean = losses.iter().sum::<f64>() / losses.len() as f64;
    let rate = grammar.entropy_per_character();
    assert!(
        (mean - rate).abs() < 0.01,
        "sample {mean}, entropy rate {rate}"
    );
    assert!(rate > 0.2 && rate < 0.6, "entropy rate {rate}");
    assert_eq!(grammar.text(1000, 3), grammar.text(1000, 3));
    assert_ne!(grammar.text(1000, 3), grammar.text(1000, 4));
}

// ---------------------------------------------------------------------------------------------
// The chapter
// ---------------------------------------------------------------------------------------------

#[allow(dead_code)]
#[path = "../chapters/ch16_pretraining.rs"]
mod ch16;

fn temp_folder(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("dlfs-ch16-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create a temporary folder");
    dir
}

fn run_chapter(words: &[&str]) -> dlfs::Result<()> {
    let args = dlfs::app::parse_for(ch16::command(), words)?;
    ch16::run(&args)
}

#[test]
fn the_chapter_reports_bad_flags_and_files() {
    for words in [
        &["--quick", "--steps", "0"][..],
        &["--quick", "--part", "everything"],
        &["--quick", "--seeds", "0"],
        &["--quick", "--seeds", "1001"],
        &["--quick", "--steps", "many"],
        &["--quick", "--stop-at", "-1"],
        &["--quick", "--unlabelled", "100000000000"],
    ] {
        let error = run_chapter(words).unwrap_err();
        assert_eq!(error.exit_code(), 2, "{words:?}: {error}");
        assert!(error.to_string().contains(words[1]), "{words:?}: {error}");
    }
    // A long bad value is quoted in short.
    let long = "x".repeat(5000);
    let error = run_chapter(&["--quick", "--part", &long]).unwrap_err();
    assert!(error.to_string().len() < 300, "{error}");
    let dir = temp_folder("bad-files");
    let out = dir.join("out");
    let missing = run_chapter(&[
        "--quick",
        "--part",
        "gpt",
        "--text",
        "/no/such/text.txt",
        "--out",
        out.to_str().unwrap(),
    ])
    .unwrap_err();
    assert_eq!(missing.exit_code(), 1);
    assert!(
        missing.to_string().contains("/no/such/text.txt"),
        "{missing}"
    );
    let short = dir.join("short.txt");
    std::fs::write(&short, "too short").unwrap();
    let error = run_chapter(&[
        "--quick",
        "--part",
        "gpt",
        "--text",
        short.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ])
    .unwrap_err();
    assert!(error.to_string().contains("too little text"), "{error}");
    let binary = dir.join("binary.txt");
    std::fs::write(&binary, [0xffu8, 0xfe, 0x00, 0x41].repeat(500)).unwrap();
    let error = run_chapter(&[
        "--quick",
        "--part",
        "gpt",
        "--text",
        binary.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ])
    .unwrap_err();
    assert!(error.to_string().contains("not UTF-8"), "{error}");
    // Folders of the later sections are read before 16.1 trains: nothing is written first.
    for flag in ["--imdb", "--cifar"] {
        let fresh = dir.join(format!("out{flag}"));
        let error = run_chapter(&[
            "--quick",
            flag,
            short.to_str().unwrap(),
            "--out",
            fresh.to_str().unwrap(),
        ])
        .unwrap_err();
        assert!(error.to_string().contains("not a folder"), "{error}");
        assert!(!fresh.join("gpt.safetensors").exists(), "{flag}: 16.1 ran");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// The value of `key` (dotted) in a results.json text, as written by `report::Results`.
fn json_number(json: &str, key: &str) -> Option<f64> {
    let (group, name) = key.split_once('.')?;
    let group_start = json.find(&format!("\"{group}\": {{"))?;
    let rest = &json[group_start..];
    let at = rest.find(&format!("\"{name}\": "))?;
    rest[at + name.len() + 4..]
        .split([',', '\n', '}'])
        .next()?
        .trim()
        .parse()
        .ok()
}

#[test]
fn the_chapter_runs_in_quick_mode_and_writes_every_result() {
    let dir = temp_folder("quick");
    let out = dir.join("out");
    run_chapter(&[
        "--quick",
        "--steps",
        "30",
        "--pretrain-steps",
        "20",
        "--out",
        out.to_str().unwrap(),
    ])
    .unwrap();
    for file in [
        "gpt_loss.svg",
        "gpt_attention.svg",
        "review_lm.safetensors",
        "results.json",
    ] {
        assert!(out.join(file).is_file(), "{file} was not written");
    }
    let json = std::fs::read_to_string(out.join("results.json")).unwrap();
    for key in [
        "gpt.val_loss_nats",
        "gpt.train_tokens_per_s",
        "gpt.params",
        "transfer_text.pretrained_100_acc",
        "transfer_text.scratch_100_acc",
        "transfer_text.scratch_1000_acc",
    ] {
        let value = json_number(&json, key).unwrap_or_else(|| panic!("{key} missing:\n{json}"));
        assert!(value.is_finite() && value > 0.0, "{key} = {value}");
    }
    let loss = json_number(&json, "gpt.val_loss_nats").unwrap();
    let uniform = json_number(&json, "gpt.baseline_uniform_nats").unwrap();
    let optimum = json_number(&json, "gpt.optimum_nats").unwrap();
    assert!(
        optimum < loss && loss < uniform,
        "{optimum} < {loss} < {uniform}"
    );
    for key in [
        "transfer_text.pretrained_100_acc",
        "transfer_text.scratch_1000_acc",
    ] {
        let accuracy = json_number(&json, key).unwrap();
        assert!((0.0..=1.0).contains(&accuracy), "{key} = {accuracy}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_chapter_trains_on_a_text_file() {
    let dir = temp_folder("text");
    let text_path = dir.join("text.txt");
    let line = "the quick brown fox jumps over the lazy dog; pack my box with five dozen jugs.\n";
    std::fs::write(&text_path, line.repeat(200)).unwrap();
    let out = dir.join("out");
    run_chapter(&[
        "--quick",
        "--part",
        "gpt",
        "--steps",
        "40",
        "--text",
        text_path.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ])
    .unwrap();
    let json = std::fs::read_to_string(out.join("results.json")).unwrap();
    let loss = json_number(&json, "gpt.val_loss_nats").unwrap();
    let unigram = json_number(&json, "gpt.baseline_unigram_nats").unwrap();
    assert!(
        loss < unigram,
        "a repeated line is learnable: {loss} vs unigram {unigram}"
    );
    assert!(
        json_number(&json, "gpt.optimum_nats").is_none(),
        "no optimum for a file"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

// ---------------------------------------------------------------------------------------------
// The classifier on a GPT
// ---------------------------------------------------------------------------------------------

use dlfs::nn::{GptClassifier, mean_pool, sequence_lengths};

#[test]
fn padding_at_the_end_changes_nothing_for_a_causal_classifier() {
    let config = tiny_config();
    let backbone = Gpt::new(config, &mut Rng::new(11));
    let mut classifier = GptClassifier::new(backbone, 3, 0, &mut Rng::new(12));
    // Two sequences of 3 and 5 real tokens (ids 1..7), padded with 0 to 6.
    let padded = Tensor::from_vec(
        &[2, 6],
        vec![3.0, 5.0, 1.0, 0.0, 0.0, 0.0, 2.0, 6.0, 4.0, 4.0, 1.0, 0.0],
    );
    assert_eq!(sequence_lengths(&padded, 0), vec![3, 5]);
    let both = classifier.forward(&padded, Mode::Inference);
    let alone = classifier.forward(
        &Tensor::from_vec(&[1, 3], vec![3.0, 5.0, 1.0]),
        Mode::Inference,
    );
    assert_close(
        "scores of the padded sequence",
        &[3],
        &both.data()[..3],
        alone.data(),
        Tolerance::F32,
    );
    let hidden = Tensor::from_vec(&[1, 3, 2], vec![1.0, 2.0, 3.0, 4.0, 100.0, 100.0]);
    assert_eq!(mean_pool(&hidden, &[2]).data(), &[2.0, 3.0]);
}

#[test]
fn classifier_gradients_reach_the_backbone() {
    let config = tiny_config();
    let mut backbone = Gpt::new(config, &mut Rng::new(13));
    randomise(&mut backbone, 14);
    let mut classifier = GptClassifier::new(backbone, 2, 0, &mut Rng::new(15));
    let ids = Tensor::from_vec(
        &[3, 5],
        vec![
            1.0, 2.0, 3.0, 0.0, 0.0, 4.0, 5.0, 6.0, 2.0, 1.0, 6.0, 0.0, 0.0, 0.0, 0.0,
        ],
    );
    let targets = [1usize, 0, 1];
    let loss = |model: &mut GptClassifier, mode: Mode| {
        let scores = model.forward(&ids, mode);
        cross_entropy(&scores, &targets, Reduction::Mean)
    };
    zero_grad(&mut classifier);
    let out = loss(&mut classifier, Mode::Train);
    classifier.backward(&out.grad);
    let mut analytic: Vec<(String, Vec<usize>, Vec<f32>)> = Vec::new();
    classifier.visit_params(&mut |name, p| {
        analytic.push((
            name.to_string(),
            p.value.shape().to_vec(),
            p.grad.data().to_vec(),
        ))
    });
    assert!(analytic.iter().any(|(n, _, _)| n == "head.weight"));
    let config = GradCheckConfig {
        max_samples: 8,
        ..GradCheckConfig::default()
    };
    for (name, shape, grad) in analytic.iter().filter(|(n, _, _)| {
        n.starts_with("head")
            || n.contains("blocks.0.self_attn.in_proj_weight")
            || n.contains("token_embedding")
            || n.contains("norm.weight")
    }) {
        let mut values = Vec::new();
        classifier.visit_params(&mut |n, p| {
            if n == name {
                values = p.value.data().to_vec();
            }
        });
        let original = values.clone();
        let report = gradcheck(
            name,
            shape,
            &mut values,
            grad,
            |v| {
                classifier.visit_params(&mut |n, p| {
                    if n == name {
                        p.value.data_mut().copy_from_slice(v);
                    }
                });
                f64::from(loss(&mut classifier, Mode::Inference).value)
            },
            &config,
        );
        classifier.visit_params(&mut |n, p| {
            if n == name {
                p.value.data_mut().copy_from_slice(&original);
            }
        });
        println!("{report}");
        assert!(report.passed, "{report}");
    }
}

#[test]
fn a_stopped_and_resumed_gpt_run_ends_with_the_same_weights() {
    let dir = temp_folder("resume");
    let (whole, parts) = (dir.join("whole"), dir.join("parts"));
    let common = [
        "--quick",
        "--part",
        "gpt",
        "--steps",
        "20",
        "--eval-interval",
        "10",
    ];
    let with_out = |out: &std::path::Path, extra: &[&str]| -> Vec<String> {
        let mut words: Vec<String> = common.iter().map(|w| w.to_string()).collect();
        words.extend(extra.iter().map(|w| w.to_string()));
        words.extend(["--out".to_string(), out.display().to_string()]);
        words
    };
    let run = |words: Vec<String>| {
        let words: Vec<&str> = words.iter().map(String::as_str).collect();
        run_chapter(&words)
    };
    run(with_out(&whole, &[])).unwrap();
    // Stopped before the first step (the untrained run is saved), resumed up to step 10, then to
    // the end.
    run(with_out(&parts, &["--stop-at", "0"])).unwrap();
    assert!(parts.join("gpt.safetensors").is_file());
    run(vec![
        "--quick".to_string(),
        "--part".to_string(),
        "gpt".to_string(),
        "--resume".to_string(),
        "--stop-at".to_string(),
        "10".to_string(),
        "--out".to_string(),
        parts.display().to_string(),
    ])
    .unwrap();
    assert!(
        !parts.join("results.json").exists(),
        "a stopped run writes no results"
    );
    // Resume on another thread count: the arithmetic does not depend on it.
    parallel::set_num_threads(1);
    let resumed = run(vec![
        "--quick".to_string(),
        "--part".to_string(),
        "gpt".to_string(),
        "--resume".to_string(),
        "--out".to_string(),
        parts.display().to_string(),
    ]);
    parallel::set_num_threads(parallel::default_num_threads());
    resumed.unwrap();
    let read = |out: &std::path::Path| {
        checkpoint::read(&out.join("gpt.safetensors"))
            .unwrap()
            .tensors
    };
    assert!(
        read(&whole) == read(&parts),
        "the resumed run ended elsewhere"
    );
    // A model-shaping flag given again with another value is refused, naming it.
    let error = run(vec![
        "--part".to_string(),
        "gpt".to_string(),
        "--resume".to_string(),
        "--steps".to_string(),
        "30".to_string(),
        "--out".to_string(),
        parts.display().to_string(),
    ])
    .unwrap_err();
    assert!(error.to_string().contains("--steps"), "{error}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn linear_layers_fused_epilogues_equal_the_separate_passes_bit_for_bit() {
    // linear1 with GELU in its epilogue against linear1, then GELU over its output; linear2's
    // backward times the slope against the backward, then the product with the slope. 300 inputs
    // make two blocks of the sum (KC = 256 for AVX2, scalar and AVX-512), 70 rows an odd edge.
    use dlfs::nn::Linear;
    use dlfs::nn::gelu_with_slope_into;
    let (rows, inputs, outputs) = (70, 300, 37);
    let mut rng = Rng::new(3);
    let layer = Linear::new(inputs, outputs, &mut rng);
    let x = random(&[rows, inputs], 4);
    let (mut fused, mut fused_slope) = (vec![0.0; rows * outputs], vec![0.0; rows * outputs]);
    layer.forward_gelu_into(x.data(), &mut fused, &mut fused_slope);
    let mut u = vec![0.0; rows * outputs];
    layer.forward_into(x.data(), &mut u);
    let (mut g, mut slope) = (vec![0.0; rows * outputs], vec![0.0; rows * outputs]);
    gelu_with_slope_into(&u, &mut g, &mut slope);
    let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&fused), bits(&g), "GELU(x·Wᵀ + b)");
    assert_eq!(bits(&fused_slope), bits(&slope), "GELU′(x·Wᵀ + b)");

    // Backward: a layer outputs → inputs whose input had slope `input_slope`.
    let mut second = Linear::new(outputs, inputs, &mut rng);
    let mut twin = second.clone();
    let h = random(&[rows, outputs], 5);
    let dy = random(&[rows, inputs], 6);
    let input_slope = random(&[rows, outputs], 7);
    let mut dx_fused = vec![0.0; rows * outputs];
    second.backward_times_slope_into(h.data(), dy.data(), input_slope.data(), &mut dx_fused);
    let mut dx = vec![0.0; rows * outputs];
    twin.backward_into(h.data(), dy.data(), Some(&mut dx), false);
    for (d, &s) in dx.iter_mut().zip(input_slope.data()) {
        *d *= s;
    }
    assert_eq!(bits(&dx_fused), bits(&dx), "(dY·W) ⊙ slope");
    assert_eq!(
        bits(second.weight().grad.data()),
        bits(twin.weight().grad.data()),
        "dW"
    );
}
