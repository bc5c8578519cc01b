//! Chapter 16 — 深度学习的未来趋势: self-supervised pretraining and transfer learning.
//!
//! The tutorial closes with the research directions it expects to matter: **self-supervised
//! learning** (learn useful representations from large unlabelled data) and **transfer learning**
//! (reuse a trained model for a new task with few labels). This chapter runs both claims.
//!
//! - 16.1 A character-level GPT trained to predict the next character (no labels needed: the text
//!   is its own supervision), with nanoGPT's CPU recipe, on a generated text whose best possible
//!   loss is known exactly (or `--text FILE`), beside uniform, unigram and bigram baselines.
//! - 16.2 Transfer: a language model pretrained on unlabelled reviews, fine-tuned with 100 or 1000
//!   labels against the same model trained from scratch and a linear probe; and chapter 12's CNN
//!   pretrained on five CIFAR-10 classes, reused for the other five with 50 labels per class.
//!
//! Every result is printed beside its baselines, measured in the same run on the same split, and
//! written to `results.json` under `--out`.

use dlfs::cli::{Args, Command};
use dlfs::data::cifar10::{self, Cifar10, ImageSet};
use dlfs::data::cifar10_standin;
use dlfs::data::imdb;
use dlfs::data::synthetic_reviews::{self, StandIn};
use dlfs::data::text::{FIRST_WORD_ID, PAD, START, Vocabulary, read_corpus, tokenize};
use dlfs::data::tiny_grammar::{MAX_SENTENCE_CHARS, TinyGrammar};
use dlfs::loss::{CrossEntropyLoss, log_sum_exp};
use dlfs::nn::{
    CifarCnn, Gpt, GptClassifier, GptConfig, Layer, Linear, Mode, mean_pool, next_token_loss,
    param_count, sequence_lengths, zero_grad,
};
use dlfs::optim::{
    Adam, AdamW, CosineAnnealingLr, LinearWarmup, LrSchedule, Optimizer, WarmupThen, clip_grad_norm,
};
use dlfs::probability::Rng;
use dlfs::report::svg::{LinePlot, Svg};
use dlfs::report::{Progress, Results, Table};
use dlfs::train::resume::{TrainingProgress, TrainingRun};
use dlfs::train::{self, Batch, Dataset, EpochRecord, FitConfig, Metric, TensorDataset};
use dlfs::{Error, Result, Tensor, app, checkpoint};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// The chapter's flags (`--quick`, `--out`, `--threads` come from `app::chapter_command`).
pub fn command() -> Command {
    app::chapter_command(
        "ch16_pretraining",
        "Self-supervised pretraining (a character-level GPT) and transfer learning (text and images).",
    )
    .option(
        "text",
        "FILE",
        "",
        "16.1: train the GPT on this UTF-8 text file instead of the generated grammar",
    )
    .option("steps", "N", "2000", "16.1: training steps of the GPT")
    .option(
        "eval-interval",
        "N",
        "250",
        "16.1: estimate the validation loss every N steps",
    )
    .option("seed", "S", "0", "seed of the GPT's weights and batches")
    .switch(
        "resume",
        "16.1: continue the GPT run saved in --out (saved after every evaluation)",
    )
    .option(
        "stop-at",
        "N",
        "",
        "16.1: stop once N steps are done (rounded up to a multiple of --eval-interval; 0 saves the \
         untrained run) and save the run; with it, only 16.1 runs",
    )
    .option(
        "part",
        "PART",
        "all",
        "which sections to run: all, gpt (16.1), text (16.2 text), images (16.2 images)",
    )
    .option(
        "seeds",
        "N",
        "3",
        &format!("16.2: seeds per transfer experiment, at most {MAX_SEEDS} (mean ± sd over them)"),
    )
    .option(
        "imdb",
        "DIR",
        "",
        "16.2: an aclImdb folder (train/pos, train/neg, test/pos, test/neg); default: the generated \
         stand-in of chapter 13",
    )
    .option(
        "limit",
        "N",
        "",
        "16.2 with --imdb: read at most N reviews per class and split",
    )
    .option(
        "unlabelled",
        "N",
        "30000",
        "16.2 on the stand-in: extra generated reviews, without labels, for pretraining",
    )
    .option(
        "pretrain-steps",
        "N",
        "1500",
        "16.2: steps of the review language model's pretraining",
    )
    .option(
        "cifar",
        "DIR",
        "",
        "16.2: a CIFAR-10 folder (cifar-10-batches-bin); default: chapter 12's generated stand-in",
    )
}

/// The most seeds `--seeds` accepts (each seed trains a dozen models).
const MAX_SEEDS: usize = 1000;

fn heading(title: &str) {
    println!("\n## {title}\n");
}

/// The chapter itself.
pub fn run(args: &Args) -> Result<()> {
    // With --resume, the flags of the saved GPT run fill in those not given again.
    let resumed;
    let args = if args.flag("resume") {
        resumed = TrainingRun::new(&app::out_dir(args)?, "gpt")
            .load()?
            .apply_to(args)?;
        &resumed
    } else {
        args
    };
    let part: String = args.get("part")?;
    if !["all", "gpt", "text", "images"].contains(&part.as_str()) {
        return Err(Error::usage(format!(
            "--part must be all, gpt, text or images, not {}",
            dlfs::input::excerpt(&part)
        )));
    }
    let gpt = GptSettings::from_args(args)?;
    // --stop-at splits 16.1's training into pieces: with it, only 16.1 runs.
    let only_gpt = gpt.stop_at.is_some();
    if only_gpt && !(part == "all" || part == "gpt") {
        return Err(Error::usage(format!(
            "--stop-at stops 16.1's training, which --part {part} does not run; use --part gpt"
        )));
    }
    let (run_gpt_part, run_text_part, run_images_part) = (
        part == "all" || part == "gpt",
        !only_gpt && (part == "all" || part == "text"),
        !only_gpt && (part == "all" || part == "images"),
    );
    let transfer = TransferSettings::from_args(args)?;
    let out = app::out_dir(args)?;
    // Every file the user named is read now, before any training: a wrong path shows in the first
    // second, not after the GPT's minutes.
    let imdb = match args.get_opt::<PathBuf>("imdb")? {
        Some(dir) if run_text_part => Some((imdb::load(&dir, args.get_opt("limit")?)?, dir)),
        _ => None,
    };
    let cifar = match args.get_opt::<PathBuf>("cifar")? {
        Some(dir) if run_images_part => Some(cifar10::load(&dir)?),
        _ => None,
    };
    let text = if run_gpt_part {
        Some(load_text(args, &gpt)?)
    } else {
        None
    };
    let mut results = Results::new();
    if let Some(data) = text
        && !run_gpt(args, &gpt, data, &out, &mut results)?
    {
        // Stopped early with --stop-at: the run is saved, nothing else runs.
        return Ok(());
    }
    let text = if run_text_part {
        Some(run_text_transfer(imdb, &transfer, &out, &mut results)?)
    } else {
        None
    };
    let images = if run_images_part {
        Some(run_image_transfer(cifar, &transfer, &mut results)?)
    } else {
        None
    };
    if text.is_some() || images.is_some() {
        closing_table(text.as_ref(), images.as_ref(), &transfer, &mut results);
    }
    let path = out.join("results.json");
    results.write(&path)?;
    println!("\nwrote {}", path.display());
    Ok(())
}

// =============================================================================================
// 16.1 Self-supervised: a character-level GPT
// =============================================================================================

/// The settings of 16.1 (nanoGPT's `train_shakespeare_char` on a CPU, or a small version in
/// `--quick` mode).
struct GptSettings {
    steps: usize,
    eval_interval: usize,
    /// `--stop-at`: stop (and save) once this many steps are done.
    stop_at: Option<usize>,
    seed: u64,
    batch: usize,
    /// The model's shape except the vocabulary, which comes from the data.
    context: usize,
    layers: usize,
    heads: usize,
    width: usize,
    learning_rate: f32,
    min_learning_rate: f32,
    warmup_steps: usize,
    weight_decay: f32,
    betas: (f32, f32),
    clip: f32,
    /// Characters of generated text (when no `--text` is given).
    generated_chars: usize,
    /// Characters drawn per sample.
    sample_chars: usize,
    /// Sentences' worth of characters sampled to count how many lines are grammatical.
    check_sentences: usize,
}

impl GptSettings {
    fn from_args(args: &Args) -> Result<GptSettings> {
        let quick = args.flag("quick");
        // An explicit flag wins over --quick's value.
        let steps: usize = app::quick_or_given(args, "steps", 150)?;
        let eval_interval: usize = app::quick_or_given(args, "eval-interval", 50)?;
        if steps == 0 || eval_interval == 0 {
            return Err(Error::usage(
                "--steps and --eval-interval must be at least 1",
            ));
        }
        let (context, layers, heads, width) = if quick {
            (64, 2, 2, 64)
        } else {
            (64, 4, 4, 128)
        };
        Ok(GptSettings {
            steps,
            eval_interval,
            stop_at: args.get_opt("stop-at")?,
            seed: args.get("seed")?,
            batch: 12,
            context,
            layers,
            heads,
            width,
            learning_rate: 1e-3,
            min_learning_rate: 1e-4,
            warmup_steps: if quick { 15 } else { 100 },
            weight_decay: 0.1,
            betas: (0.9, 0.99),
            clip: 1.0,
            generated_chars: if quick { 60_000 } else { 1_000_000 },
            sample_chars: if quick { 80 } else { 300 },
            check_sentences: if quick { 6 } else { 30 },
        })
    }

    /// Warm-up from lr/(w+1) to lr over w steps, then half a cosine down to the minimum at the last
    /// step (nanoGPT's `get_lr`).
    fn schedule(&self) -> WarmupThen {
        let warmup = self.warmup_steps.min(self.steps.saturating_sub(1));
        WarmupThen {
            warmup: LinearWarmup {
                start_factor: 1.0 / (warmup as f32 + 1.0),
                warmup_steps: warmup,
            },
            then: Box::new(CosineAnnealingLr {
                t_max: (self.steps - 1 - warmup).max(1),
                eta_min: self.min_learning_rate,
            }),
        }
    }
}

/// A text as character ids, split 90/10, with its vocabulary.
struct CharData {
    /// Where the text came from, for the printout.
    source: String,
    /// The vocabulary: every distinct character, sorted (nanoGPT's `chars = sorted(set(text))`).
    chars: Vec<char>,
    train: Vec<u32>,
    validation: Vec<u32>,
    /// For the generated text: the grammar, and the validation text itself.
    grammar: Option<(TinyGrammar, String)>,
}

impl CharData {
    fn id_of(&self, c: char) -> u32 {
        self.chars.binary_search(&c).map_or(0, |i| i as u32)
    }

    fn decode(&self, ids: &[usize]) -> String {
        ids.iter().map(|&i| self.chars[i]).collect()
    }
}

/// Reads `--text FILE` or generates the grammar's text, and splits it.
fn load_text(args: &Args, s: &GptSettings) -> Result<CharData> {
    let (source, text, grammar) = match args.get_opt::<PathBuf>("text")? {
        Some(path) => {
            // A regular UTF-8 file of at most 64 MB (a character-level model learns from a few MB).
            let text = read_corpus(&path)?;
            (path.display().to_string(), text, None)
        }
        None => {
            let grammar = TinyGrammar::new();
            let text = grammar.text(s.generated_chars, s.seed.wrapping_add(1600));
            (
                "the generated tiny grammar".to_string(),
                text,
                Some(grammar),
            )
        }
    };
    let characters: Vec<char> = text.chars().collect();
    let needed = 10 * (s.context + 2);
    if characters.len() < needed {
        return Err(Error::data(format!(
            "{source}: {} characters is too little text; with a context of {} the validation tenth \
             needs at least one window, so give at least {needed} characters",
            characters.len(),
            s.context
        )));
    }
    let mut chars = characters.clone();
    chars.sort_unstable();
    chars.dedup();
    if chars.len() > 5000 {
        return Err(Error::data(format!(
            "{source}: {} different characters; a character-level model of this chapter expects \
             text in one script (at most 5000 characters)",
            chars.len()
        )));
    }
    // 90/10, at a sentence boundary for the grammar (so the validation text starts a sentence).
    let mut split = characters.len() * 9 / 10;
    if grammar.is_some() {
        while characters[split - 1] != '\n' {
            split += 1;
        }
    }
    let data = CharData {
        source,
        chars,
        train: Vec::new(),
        validation: Vec::new(),
        grammar: None,
    };
    let ids: Vec<u32> = characters.iter().map(|&c| data.id_of(c)).collect();
    let validation_text: String = characters[split..].iter().collect();
    Ok(CharData {
        train: ids[..split].to_vec(),
        validation: ids[split..].to_vec(),
        grammar: grammar.map(|g| (g, validation_text)),
        ..data
    })
}

/// The validation split as windows of T inputs and T targets, with stride T/2: the first window
/// scores all T positions, every later one only its last T − T/2 (the new ones), so each position is
/// scored once and — after the first T/2 — with at least T/2 characters of context. Returns the
/// window starts; position `s + j` is the target of input `s + j − 1`.
fn validation_windows(length: usize, context: usize) -> Vec<usize> {
    let half = context / 2;
    (0..)
        .map(|k| k * half)
        .take_while(|&s| s + context < length)
        .collect()
}

/// The first scored offset within window `k` (0 for the first window, T/2 for the others).
fn first_scored(k: usize, context: usize) -> usize {
    if k == 0 { 0 } else { context / 2 }
}

/// The model's loss at every scored validation position (in window order), and their targets'
/// indices into the validation split. `windows` limits the evaluation to the first windows.
fn validation_losses(
    model: &mut Gpt,
    validation: &[u32],
    context: usize,
    windows: Option<usize>,
) -> (Vec<f64>, Vec<usize>) {
    let mut starts = validation_windows(validation.len(), context);
    if let Some(limit) = windows {
        starts.truncate(limit);
    }
    let v = model.config().vocab_size;
    let mut losses = Vec::new();
    let mut positions = Vec::new();
    const BATCH: usize = 32;
    for (chunk_index, chunk) in starts.chunks(BATCH).enumerate() {
        let inputs: Vec<f32> = chunk
            .iter()
            .flat_map(|&s| validation[s..s + context].iter().map(|&id| id as f32))
            .collect();
        let logits = model.forward(
            &Tensor::from_vec(&[chunk.len(), context], inputs),
            Mode::Inference,
        );
        for (i, &s) in chunk.iter().enumerate() {
            let k = chunk_index * BATCH + i;
            for j in first_scored(k, context)..context {
                let row = &logits.data()[(i * context + j) * v..(i * context + j + 1) * v];
                let target = validation[s + j + 1] as usize;
                losses.push(f64::from(log_sum_exp(row)) - f64::from(row[target]));
                positions.push(s + j + 1);
            }
        }
    }
    (losses, positions)
}

fn mean(values: &[f64]) -> f64 {
    values.iter().sum::<f64>() / values.len().max(1) as f64
}

/// Nats to bits: divide by ln 2.
fn bits(nats: f64) -> f64 {
    nats / std::f64::consts::LN_2
}

/// The three baselines' losses on the scored validation positions: uniform (ln V), unigram and
/// bigram with add-one smoothing, counted on the training split.
fn baselines(data: &CharData, positions: &[usize]) -> [(String, f64); 3] {
    let v = data.chars.len();
    let mut unigram = vec![0usize; v];
    let mut bigram = vec![0usize; v * v];
    for pair in data.train.windows(2) {
        bigram[pair[0] as usize * v + pair[1] as usize] += 1;
    }
    for &c in &data.train {
        unigram[c as usize] += 1;
    }
    let n = data.train.len() as f64;
    let mut unigram_loss = 0.0;
    let mut bigram_loss = 0.0;
    for &p in positions {
        let (previous, target) = (data.validation[p - 1] as usize, data.validation[p] as usize);
        unigram_loss -= ((unigram[target] as f64 + 1.0) / (n + v as f64)).ln();
        let row_total: usize = bigram[previous * v..(previous + 1) * v].iter().sum();
        bigram_loss -=
            ((bigram[previous * v + target] as f64 + 1.0) / (row_total as f64 + v as f64)).ln();
    }
    let count = positions.len().max(1) as f64;
    [
        ("uniform, ln V".to_string(), (v as f64).ln()),
        (
            "unigram (add-one), counted on the training split".to_string(),
            unigram_loss / count,
        ),
        (
            "bigram (add-one): the previous character".to_string(),
            bigram_loss / count,
        ),
    ]
}

/// 16.1 from start to end; returns false when `--stop-at` stopped the training early.
fn run_gpt(
    args: &Args,
    s: &GptSettings,
    data: CharData,
    out: &Path,
    results: &mut Results,
) -> Result<bool> {
    heading("16.1 Self-supervised learning: a character-level GPT");
    println!(
        "Text: {} — {} characters for training, {} for validation (90/10), {} different characters.",
        data.source,
        data.train.len(),
        data.validation.len(),
        data.chars.len()
    );
    if let Some((grammar, _)) = &data.grammar {
        println!(
            "The grammar writes one sentence per line, e.g.\n  {}  {}  {}\nEvery choice (subject's \
             number, determiner, noun, verb, object, adverb) has a fixed probability, and the \
             verb agrees\nwith the subject. {} different sentences, none longer than {} characters.",
            grammar.sentences()[0].0.trim_end(),
            grammar.sentences()[7777].0.trim_end(),
            grammar.sentences()[19_000].0.trim_end(),
            grammar.sentences().len(),
            MAX_SENTENCE_CHARS
        );
    }
    println!(
        "No labels anywhere: the target of every character is the next one. That is the whole idea of \
         self-supervised learning —\nthe data supervise themselves."
    );

    // The positions the final evaluation scores, and what the baselines and the optimum get there.
    let starts = validation_windows(data.validation.len(), s.context);
    let positions: Vec<usize> = starts
        .iter()
        .enumerate()
        .flat_map(|(k, &start)| (first_scored(k, s.context)..s.context).map(move |j| start + j + 1))
        .collect();
    let baseline = baselines(&data, &positions);
    let optimum = data.grammar.as_ref().and_then(|(grammar, text)| {
        let per_char = grammar.optimal_losses(text)?;
        let scored: Vec<f64> = positions.iter().map(|&p| per_char[p]).collect();
        Some((mean(&scored), grammar.entropy_per_character()))
    });

    let config = GptConfig {
        vocab_size: data.chars.len(),
        context: s.context,
        layers: s.layers,
        heads: s.heads,
        width: s.width,
    };
    let mut rng = Rng::new(s.seed);
    let mut model = Gpt::new(config, &mut rng);
    let params = param_count(&mut model);
    println!(
        "\nThe model (nanoGPT's `model.py`, CPU configuration{}):\n  {}\n  {params} parameters \
         ({} in the tied token embedding / output layer; nanoGPT's Shakespeare with 65 characters \
         has {}).",
        if args.flag("quick") {
            ", smaller for --quick"
        } else {
            ""
        },
        model.describe(),
        config.vocab_size * config.width,
        GptConfig {
            vocab_size: 65,
            ..config
        }
        .param_count()
    );
    results.set("gpt.params", params);

    // Training.
    let schedule = s.schedule();
    let mut optimizer = AdamW::new(s.learning_rate)
        .betas(s.betas.0, s.betas.1)
        .weight_decay(s.weight_decay)
        .decay_matrices_only();
    println!(
        "\nTraining: {} steps of {} sequences × {} characters, {}, {}, gradients clipped to norm {}.",
        s.steps,
        s.batch,
        s.context,
        optimizer.describe(),
        schedule.describe(),
        s.clip
    );
    let eval_windows = 128;
    let mut table = Table::new(&[
        "step",
        "train loss",
        "val loss (nats)",
        "val bits/char",
        "lr",
    ]);
    // The run is saved after every evaluation (an "epoch" of `eval_interval` steps for the resume
    // machinery): the model, AdamW's state, the batch generator and the history.
    let run = gpt_run(args, s, out)?;
    let intervals = s.steps.div_ceil(s.eval_interval);
    let mut batch_rng = Rng::new(s.seed ^ 0x6770_7431);
    let mut saved = TrainingProgress::new(s.learning_rate);
    if args.flag("resume") {
        saved = run.load()?.restore(&mut model, &mut optimizer)?;
        batch_rng = saved.rng("batches")?;
        println!(
            "Resuming {} after step {} of {}.",
            run.model_path().display(),
            saved
                .epochs_done
                .saturating_mul(s.eval_interval)
                .min(s.steps),
            s.steps
        );
    }
    let mut train_curve: Vec<(f64, f64)> = Vec::new();
    let mut val_curve: Vec<(f64, f64)> = Vec::new();
    let mut train_seconds = 0.0;
    for record in &saved.history.epochs {
        let end = record.epoch.saturating_mul(s.eval_interval).min(s.steps);
        let middle = end as f64 - s.eval_interval as f64 / 2.0;
        train_curve.push((middle.max(1.0), f64::from(record.loss)));
        let val = f64::from(record.validation_loss.unwrap_or(f32::NAN));
        val_curve.push((end as f64, val));
        train_seconds += record.seconds;
        table.row(&[
            end.to_string(),
            format!("{:.4}", record.loss),
            format!("{val:.4}"),
            format!("{:.4}", bits(val)),
            format!("{:.2e}", record.learning_rate),
        ]);
    }
    let stop_at = s.stop_at.unwrap_or(s.steps);
    let mut progress = Progress::new("GPT", s.steps);
    progress.advance(
        saved
            .epochs_done
            .saturating_mul(s.eval_interval)
            .min(s.steps),
    );
    for interval in saved.epochs_done..intervals {
        let first = interval * s.eval_interval;
        if first >= stop_at {
            progress.finish();
            if saved.epochs_done == 0 {
                // `--stop-at 0`: nothing trained yet, so save the starting point (the model as
                // initialised, AdamW before its first step, the batch generator).
                saved.set_rng("batches", &batch_rng);
                run.save(&mut model, &optimizer, &saved)?;
            }
            println!(
                "\nStopped after step {first} (--stop-at); the run is saved in {}: continue it with \
                 --resume.",
                run.model_path().display()
            );
            return Ok(false);
        }
        let last = interval
            .saturating_add(1)
            .saturating_mul(s.eval_interval)
            .min(s.steps);
        let started = Instant::now();
        let mut interval_losses = Vec::new();
        let mut recent = Vec::new();
        for step in first..last {
            schedule.apply(&mut optimizer, s.learning_rate, step);
            let (inputs, targets) = random_batch(&data.train, s.batch, s.context, &mut batch_rng);
            zero_grad(&mut model);
            let logits = model.forward(&inputs, Mode::Train);
            let loss = next_token_loss(&logits, &targets);
            if !loss.value.is_finite() {
                return Err(Error::Training {
                    step: step + 1,
                    message: format!(
                        "the GPT's loss became {}; try a smaller learning rate",
                        loss.value
                    ),
                });
            }
            model.backward(&loss.grad);
            clip_grad_norm(&mut model, s.clip);
            optimizer.step(&mut model);
            interval_losses.push(f64::from(loss.value));
            recent.push(f64::from(loss.value));
            progress.advance(1);
            if (step + 1) % 10 == 0 || step + 1 == last {
                train_curve.push(((step + 1) as f64, mean(&recent)));
                progress.set_message(format!("loss {:.3}", mean(&recent)));
                recent.clear();
            }
        }
        let seconds = started.elapsed().as_secs_f64();
        train_seconds += seconds;
        let (losses, _) =
            validation_losses(&mut model, &data.validation, s.context, Some(eval_windows));
        let val = mean(&losses);
        val_curve.push((last as f64, val));
        table.row(&[
            last.to_string(),
            format!("{:.4}", mean(&interval_losses)),
            format!("{val:.4}"),
            format!("{:.4}", bits(val)),
            format!("{:.2e}", optimizer.learning_rate()),
        ]);
        saved.epochs_done = interval + 1;
        saved.set_rng("batches", &batch_rng);
        saved.history.epochs.push(EpochRecord {
            epoch: interval + 1,
            loss: mean(&interval_losses) as f32,
            metric: None,
            validation_loss: Some(val as f32),
            validation_metric: None,
            learning_rate: optimizer.learning_rate(),
            seconds,
        });
        run.save(&mut model, &optimizer, &saved)?;
    }
    progress.finish();
    let tokens_per_s = s.steps as f64 * (s.batch * s.context) as f64 / train_seconds;
    println!(
        "\n{table}\n(train loss: the mean over the steps since the row before; validation loss: the \
         first {eval_windows} validation windows; the whole split follows.)\nTraining took \
         {train_seconds:.1} s: {tokens_per_s:.0} tokens/s on {} threads. The run is saved in {}.",
        dlfs::parallel::num_threads(),
        run.model_path().display()
    );
    results.set("gpt.train_tokens_per_s", tokens_per_s);
    results.set("gpt.train_seconds", train_seconds);
    results.set("gpt.steps", s.steps);

    // The whole validation split, beside the baselines and the optimum.
    let (losses, scored) = validation_losses(&mut model, &data.validation, s.context, None);
    debug_assert_eq!(scored, positions);
    let val_loss = mean(&losses);
    let mut summary = Table::new(&["model", "val loss (nats/char)", "bits/char"]);
    for (name, value) in &baseline {
        summary.row(&[
            name.clone(),
            format!("{value:.4}"),
            format!("{:.4}", bits(*value)),
        ]);
    }
    summary.row(&[
        format!("the GPT ({params} parameters, {} steps)", s.steps),
        format!("{val_loss:.4}"),
        format!("{:.4}", bits(val_loss)),
    ]);
    if let Some((best, rate)) = optimum {
        summary.row(&[
            "the best possible model: the grammar's own probabilities".to_string(),
            format!("{best:.4}"),
            format!("{:.4}", bits(best)),
        ]);
        results.set("gpt.optimum_nats", best);
        results.set("gpt.entropy_rate_nats", rate);
        println!(
            "\nThe whole validation split ({} positions, each scored once with at least {} characters \
             of context after the first {}):\n\n{summary}",
            positions.len(),
            s.context / 2,
            s.context / 2
        );
        let exact = s.context / 2 + 1 >= MAX_SENTENCE_CHARS;
        println!(
            "The optimum is the grammar's own probability of each next character given the sentence so \
             far. {}\nIts expected value, the grammar's entropy rate, is {rate:.4} nats/char. The GPT is \
             {:.4} nats/char ({:.1} %) above the optimum.",
            if exact {
                format!(
                    "It is exactly the best any model can do here: every sentence fits in the {} \
                     characters of context a scored position sees.",
                    s.context / 2
                )
            } else {
                "With this short context some positions see less than their whole sentence, so it \
                 is a lower bound."
                    .to_string()
            },
            val_loss - best,
            100.0 * (val_loss - best) / best
        );
    } else {
        println!(
            "\nThe whole validation split ({} positions, each scored once with at least {} characters \
             of context after the first {}):\n\n{summary}",
            positions.len(),
            s.context / 2,
            s.context / 2
        );
    }
    results.set("gpt.val_loss_nats", val_loss);
    results.set("gpt.val_loss_bits_per_char", bits(val_loss));
    for (key, (_, value)) in ["uniform", "unigram", "bigram"].iter().zip(&baseline) {
        results.set(&format!("gpt.baseline_{key}_nats"), *value);
    }

    // Samples at two temperatures.
    let prompt = vec![data.validation[0] as usize];
    for temperature in [0.5f32, 1.0] {
        let mut sample_rng = Rng::new(s.seed.wrapping_add(7));
        let tokens = model.generate(&prompt, s.sample_chars, temperature, &mut sample_rng);
        println!(
            "\nSample at temperature {temperature} (prompt {:?}):\n{}",
            data.decode(&prompt),
            indent(&data.decode(&tokens))
        );
    }
    if let Some((grammar, _)) = &data.grammar {
        let mut rng = Rng::new(s.seed.wrapping_add(7));
        let tokens = model.generate(
            &prompt,
            s.check_sentences * MAX_SENTENCE_CHARS,
            1.0,
            &mut rng,
        );
        let text = data.decode(&tokens);
        let lines: Vec<&str> = text.lines().collect();
        let complete = &lines[1..lines.len().saturating_sub(1)];
        let valid = complete
            .iter()
            .filter(|line| {
                grammar
                    .sentences()
                    .iter()
                    .any(|(sentence, _)| sentence.trim_end() == **line)
            })
            .count();
        println!(
            "\nOf {} complete lines sampled at temperature 1, {valid} are sentences of the grammar.",
            complete.len()
        );
        results.set(
            "gpt.sampled_valid_fraction",
            valid as f64 / complete.len().max(1) as f64,
        );
    }

    // What the model learned: the loss curve and one head's attention map.
    let mut plot = LinePlot::new("16.1 GPT: next-character loss")
        .x_label("step")
        .y_label("loss (nats per character)")
        .line("training (mean of 10 steps)", &train_curve)
        .line("validation (first windows)", &val_curve);
    let x_range = [(1.0, 0.0), (s.steps as f64, 0.0)];
    let flat = |y: f64| -> Vec<(f64, f64)> { x_range.iter().map(|&(x, _)| (x, y)).collect() };
    plot = plot.dashed("bigram baseline", &flat(baseline[2].1));
    if let Some((best, _)) = optimum {
        plot = plot.dashed("best possible (grammar)", &flat(best));
    }
    let curve_path = out.join("gpt_loss.svg");
    plot.save(&curve_path)?;
    println!("\nwrote {}", curve_path.display());
    show_attention(&mut model, &data, s, out)?;
    Ok(true)
}

/// Where 16.1's run is saved (`gpt.safetensors` and `gpt.training_state.safetensors` under `--out`)
/// and the flags that define it.
fn gpt_run(args: &Args, s: &GptSettings, out: &Path) -> Result<TrainingRun> {
    let text = args
        .get_opt::<PathBuf>("text")?
        .map_or(String::new(), |p| p.display().to_string());
    Ok(TrainingRun::new(out, "gpt")
        .model_setting("text", text)
        .model_setting("quick", if args.flag("quick") { "true" } else { "" })
        .run_setting("seed", s.seed)
        .run_setting("steps", s.steps)
        .run_setting("eval-interval", s.eval_interval)
        .epochs(0))
}

/// A batch of `batch` random windows of the training ids: inputs `[batch, T]` and the targets (the
/// next id of every position), as nanoGPT's `get_batch`.
fn random_batch(
    train: &[u32],
    batch: usize,
    context: usize,
    rng: &mut Rng,
) -> (Tensor, Vec<usize>) {
    let mut inputs = Vec::with_capacity(batch * context);
    let mut targets = Vec::with_capacity(batch * context);
    for _ in 0..batch {
        let start = rng.below(train.len() - context);
        inputs.extend(train[start..start + context].iter().map(|&id| id as f32));
        targets.extend(
            train[start + 1..start + context + 1]
                .iter()
                .map(|&id| id as usize),
        );
    }
    (Tensor::from_vec(&[batch, context], inputs), targets)
}

fn indent(text: &str) -> String {
    text.lines()
        .map(|line| format!("  | {line}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Runs one validation window in `Mode::Eval`, picks the most focused head of the last layer
/// (lowest mean entropy of its attention rows), prints where a few positions look, and draws that
/// head's attention map.
fn show_attention(model: &mut Gpt, data: &CharData, s: &GptSettings, out: &Path) -> Result<()> {
    let length = s.context.min(48).min(data.validation.len() - 1);
    let window: Vec<f32> = data.validation[..length]
        .iter()
        .map(|&id| id as f32)
        .collect();
    let text: Vec<char> = data.validation[..length]
        .iter()
        .map(|&id| data.chars[id as usize])
        .collect();
    model.forward(&Tensor::from_vec(&[1, length], window), Mode::Eval);
    let layer = model.config().layers - 1;
    let weights = model.attention_weights(layer);
    let heads = weights.dim(1);
    let head_rows = |h: usize| &weights.data()[h * length * length..(h + 1) * length * length];
    let entropy = |h: usize| -> f64 {
        head_rows(h)
            .iter()
            .filter(|&&p| p > 0.0)
            .map(|&p| -f64::from(p) * f64::from(p).ln())
            .sum::<f64>()
            / length as f64
    };
    let head = (0..heads)
        .min_by(|&a, &b| entropy(a).total_cmp(&entropy(b)))
        .unwrap_or(0);
    let rows = head_rows(head);
    println!(
        "\nWhere head {head} of block {layer} looks (the most focused head of the last block, mean \
         entropy {:.2} nats), for the last positions of a validation window:",
        entropy(head)
    );
    let visible = |c: char| if c == '\n' { '⏎' } else { c };
    for i in length.saturating_sub(8)..length {
        let row = &rows[i * length..(i + 1) * length];
        let mut order: Vec<usize> = (0..=i).collect();
        order.sort_by(|&a, &b| row[b].total_cmp(&row[a]));
        let top: Vec<String> = order
            .iter()
            .take(3)
            .map(|&j| format!("'{}'@{j} {:.2}", visible(text[j]), row[j]))
            .collect();
        println!(
            "  predicting after '{}'@{i}: {}",
            visible(text[i]),
            top.join(", ")
        );
    }
    let path = out.join("gpt_attention.svg");
    attention_svg(rows, &text, &format!("block {layer}, head {head}")).save(&path)?;
    println!("wrote {}", path.display());
    Ok(())
}

/// An attention map as an SVG heat map: row i (a query position, top to bottom) shows how much it
/// attends to each key position j (left to right), darker = more; characters label both axes.
fn attention_svg(weights: &[f32], text: &[char], title: &str) -> Svg {
    let n = text.len();
    let cell = 12.0;
    let margin = 40.0;
    let size = margin + cell * n as f64 + 10.0;
    let mut svg = Svg::new(size, size + 20.0);
    svg.text(
        size / 2.0,
        16.0,
        13.0,
        "middle",
        0.0,
        &format!("attention weights, {title} (row: query, column: key)"),
    );
    let top = margin + 20.0;
    let label = |c: char| match c {
        '\n' => "⏎".to_string(),
        ' ' => "␣".to_string(),
        c => c.to_string(),
    };
    for (i, &c) in text.iter().enumerate() {
        let offset = margin + cell * (i as f64 + 0.5);
        svg.text(
            margin - 6.0,
            top + cell * (i as f64 + 0.75),
            9.0,
            "end",
            0.0,
            &label(c),
        );
        svg.text(offset, top - 4.0, 9.0, "middle", 0.0, &label(c));
    }
    for i in 0..n {
        for j in 0..n {
            let p = f64::from(weights[i * n + j]).clamp(0.0, 1.0);
            let shade = (255.0 * (1.0 - p.sqrt())).round() as u8;
            let fill = format!("rgb({shade},{shade},255)");
            svg.rect(
                margin + cell * j as f64,
                top + cell * i as f64,
                cell,
                cell,
                &fill,
                None,
            );
        }
    }
    svg
}

// =============================================================================================
// 16.2 Transfer learning
// =============================================================================================

/// The settings of 16.2.
struct TransferSettings {
    seeds: usize,
    /// The review language model's shape (the vocabulary comes from the data).
    lm_context: usize,
    lm_layers: usize,
    lm_heads: usize,
    lm_width: usize,
    pretrain_steps: usize,
    pretrain_batch: usize,
    /// Vocabulary bound for the reviews (ids below it).
    num_words: usize,
    /// Labelled reviews for the pretrained model and the linear probe.
    label_counts: Vec<usize>,
    /// Labelled reviews for the model trained from scratch (more, to find how many match).
    scratch_counts: Vec<usize>,
    /// Optimisation steps of every classifier run (batch 16), whatever the number of labels.
    classifier_steps: usize,
    /// Extra unlabelled reviews generated for pretraining on the stand-in.
    unlabelled: usize,
    /// The stand-in's size (reviews per class, train and test).
    standin_train: usize,
    standin_test: usize,
    /// Images: generated stand-in size (per split), source pretraining epochs, labels per class.
    images_train: usize,
    images_test: usize,
    cnn_pretrain_epochs: usize,
    images_per_class: usize,
    /// Labels per class for the CNN trained from scratch.
    scratch_images_per_class: Vec<usize>,
    cnn_steps: usize,
}

impl TransferSettings {
    fn from_args(args: &Args) -> Result<TransferSettings> {
        let quick = args.flag("quick");
        // An explicit flag wins over --quick's value.
        let seeds: usize = app::quick_or_given(args, "seeds", 1)?;
        let pretrain_steps: usize = app::quick_or_given(args, "pretrain-steps", 120)?;
        let unlabelled: usize = app::quick_or_given(args, "unlabelled", 2000)?;
        if !(1..=MAX_SEEDS).contains(&seeds) {
            return Err(Error::usage(format!(
                "--seeds must be from 1 to {MAX_SEEDS}, got {seeds}"
            )));
        }
        if pretrain_steps == 0 {
            return Err(Error::usage("--pretrain-steps must be at least 1"));
        }
        if args.get_opt::<usize>("limit")? == Some(0) {
            return Err(Error::usage("--limit must be at least 1"));
        }
        // The generated unlabelled reviews, checked before one is written: the text, its words and
        // their ids (about 4 KB a review of 15–60 words).
        app::MemoryPlan::new().add(
            "--unlabelled",
            unlabelled,
            "the generated reviews as text, words and ids (about 4 KB a review)",
            app::bytes_of(unlabelled, 4096),
        )?;
        Ok(TransferSettings {
            seeds,
            lm_context: 64,
            lm_layers: 2,
            lm_heads: 4,
            lm_width: if quick { 32 } else { 64 },
            pretrain_steps,
            pretrain_batch: 16,
            num_words: 5000,
            label_counts: if quick { vec![100] } else { vec![100, 1000] },
            scratch_counts: if quick {
                vec![100, 1000]
            } else {
                vec![100, 300, 1000, 3000]
            },
            classifier_steps: if quick { 60 } else { 400 },
            unlabelled,
            standin_train: if quick { 500 } else { 1500 },
            standin_test: if quick { 100 } else { 500 },
            images_train: if quick { 3000 } else { 30_000 },
            images_test: if quick { 1000 } else { 6000 },
            cnn_pretrain_epochs: if quick { 1 } else { 4 },
            images_per_class: 50,
            scratch_images_per_class: if quick {
                vec![50, 200]
            } else {
                vec![50, 200, 1000]
            },
            cnn_steps: if quick { 60 } else { 300 },
        })
    }
}

/// Mean and sample standard deviation (n − 1; 0 for one value).
fn mean_sd(values: &[f64]) -> (f64, f64) {
    let m = mean(values);
    if values.len() < 2 {
        return (m, 0.0);
    }
    let variance =
        values.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / (values.len() - 1) as f64;
    (m, variance.sqrt())
}

/// The accuracies over seeds that `list` holds for `labels` labelled examples, if any were measured.
fn accuracies_with(list: &[(usize, Vec<f64>)], labels: usize) -> Option<&[f64]> {
    list.iter()
        .find(|(n, values)| *n == labels && !values.is_empty())
        .map(|(_, values)| values.as_slice())
}

/// One clause comparing two methods' accuracies over seeds. A gap no larger than the larger of the
/// two standard deviations is called within the seed-to-seed spread: with a few seeds, not a
/// difference the experiment can show.
fn compare_methods(first: &str, a: &[f64], second: &str, b: &[f64]) -> String {
    let ((mean_a, sd_a), (mean_b, sd_b)) = (mean_sd(a), mean_sd(b));
    let gap = 100.0 * (mean_a - mean_b);
    if (mean_a - mean_b).abs() <= sd_a.max(sd_b) {
        format!(
            "{first} and {second} are within the seed-to-seed spread ({:.1} against {:.1} %)",
            100.0 * mean_a,
            100.0 * mean_b
        )
    } else if gap > 0.0 {
        format!("{first} is {gap:.1} points above {second}")
    } else {
        format!("{first} is {:.1} points below {second}", -gap)
    }
}

/// `81.2 ± 1.4 %` for accuracies given as fractions.
fn percent(values: &[f64]) -> String {
    let (m, sd) = mean_sd(values);
    if values.len() < 2 {
        format!("{:.1} %", 100.0 * m)
    } else {
        format!("{:.1} ± {:.1} %", 100.0 * m, 100.0 * sd)
    }
}

/// A table cell, or `–` where the method was not run.
fn or_dash(cell: &str) -> &str {
    if cell.is_empty() { "–" } else { cell }
}

/// Picks `count` examples with `count / classes` of each class (in random order), from `labels`.
fn balanced_sample(labels: &[usize], classes: usize, count: usize, rng: &mut Rng) -> Vec<usize> {
    let per_class = count / classes;
    let mut chosen = Vec::with_capacity(count);
    for class in 0..classes {
        let mut members: Vec<usize> = (0..labels.len()).filter(|&i| labels[i] == class).collect();
        rng.shuffle(&mut members);
        chosen.extend(members.into_iter().take(per_class));
    }
    rng.shuffle(&mut chosen);
    chosen
}

// ---------------------------------------------------------------------------------------------
// 16.2 (text): pretrain on unlabelled reviews, fine-tune with few labels
// ---------------------------------------------------------------------------------------------

/// Reviews as word ids, ready for the models.
struct Reviews {
    vocabulary: Vocabulary,
    /// `[START, id, …]` per training review, and its label.
    train: Vec<Vec<usize>>,
    train_labels: Vec<usize>,
    test: Vec<Vec<usize>>,
    test_labels: Vec<usize>,
    /// More reviews without labels, for pretraining only (generated for the stand-in).
    unlabelled: Vec<Vec<usize>>,
    source: String,
}

impl Reviews {
    /// The ids in use: the reserved ones and the vocabulary's words (fewer than `--num-words`
    /// when the text has fewer different words, as the stand-in).
    fn vocab_size(&self) -> usize {
        FIRST_WORD_ID + self.vocabulary.words().len()
    }
}

/// The reviews of `--imdb` (read by `run`, with their folder) or, without it, chapter 13's
/// generated stand-in and `--unlabelled` more generated reviews.
fn load_reviews(
    imdb: Option<(imdb::Imdb, PathBuf)>,
    t: &TransferSettings,
    out: &Path,
) -> Result<Reviews> {
    let mut unlabelled_texts = Vec::new();
    let (data, source) = match imdb {
        Some((data, dir)) => (data, format!("aclImdb in {}", dir.display())),
        None => {
            // Unlabelled text is cheap, labels are not: the generator writes as many more reviews
            // as pretraining wants (their polarity is drawn and then forgotten), as aclImdb ships
            // 50,000 unlabelled reviews beside its labelled ones.
            let mut rng = Rng::new(1601);
            unlabelled_texts = (0..t.unlabelled)
                .map(|_| {
                    let positive = rng.bernoulli(0.5);
                    synthetic_reviews::review(&mut rng, positive)
                })
                .collect();
            let config = StandIn {
                train_per_class: t.standin_train,
                test_per_class: t.standin_test,
                ..StandIn::default()
            };
            let dir = out.join("aclImdb_standin");
            synthetic_reviews::ensure_written(&dir, &config)?;
            (
                imdb::load(&dir, None)?,
                format!("chapter 13's generated stand-in (in {})", dir.display()),
            )
        }
    };
    let tokens = |reviews: &[imdb::Review]| -> Vec<Vec<String>> {
        reviews.iter().map(|r| tokenize(&r.text)).collect()
    };
    let (train_tokens, test_tokens) = (tokens(&data.train), tokens(&data.test));
    let unlabelled_tokens: Vec<Vec<String>> =
        unlabelled_texts.iter().map(|r| tokenize(r)).collect();
    let vocabulary = Vocabulary::build(
        train_tokens
            .iter()
            .chain(&unlabelled_tokens)
            .map(|t| t.as_slice()),
        t.num_words,
    );
    let encode = |all: &[Vec<String>]| -> Vec<Vec<usize>> {
        all.iter().map(|t| vocabulary.encode_tokens(t)).collect()
    };
    let labels = |reviews: &[imdb::Review]| -> Vec<usize> {
        reviews.iter().map(|r| usize::from(r.label)).collect()
    };
    Ok(Reviews {
        train: encode(&train_tokens),
        test: encode(&test_tokens),
        unlabelled: encode(&unlabelled_tokens),
        train_labels: labels(&data.train),
        test_labels: labels(&data.test),
        vocabulary,
        source,
    })
}

/// Reviews as classifier inputs `[N, T]`: `[START, ids…]` cut to the last T ids when longer (the
/// end of a review is where the stand-in's verdict sits, and Keras's `truncating='pre'` does the
/// same), then padded with [`PAD`] at the end. Labels as floats `[N]`.
fn classifier_inputs(
    reviews: &[Vec<usize>],
    labels: &[usize],
    indices: &[usize],
    context: usize,
) -> (Tensor, Tensor) {
    let mut inputs = vec![PAD as f32; indices.len() * context];
    for (row, &i) in inputs.chunks_exact_mut(context).zip(indices) {
        let ids = &reviews[i];
        let kept = if ids.len() > context {
            let mut cut = vec![START];
            cut.extend_from_slice(&ids[ids.len() - (context - 1)..]);
            cut
        } else {
            ids.clone()
        };
        for (slot, &id) in row.iter_mut().zip(&kept) {
            *slot = id as f32;
        }
    }
    let targets = indices.iter().map(|&i| labels[i] as f32).collect();
    (
        Tensor::from_vec(&[indices.len(), context], inputs),
        Tensor::from_vec(&[indices.len()], targets),
    )
}

/// The review language model's shape.
fn lm_config(t: &TransferSettings, vocab_size: usize) -> GptConfig {
    GptConfig {
        vocab_size,
        context: t.lm_context,
        layers: t.lm_layers,
        heads: t.lm_heads,
        width: t.lm_width,
    }
}

/// Pretrains the language model on the training reviews' text (labels unused). Returns the weights
/// (safetensors bytes), the held-out loss on the test reviews' text and the seconds it took.
fn pretrain_review_lm(
    reviews: &Reviews,
    t: &TransferSettings,
    out: &Path,
) -> Result<(Vec<u8>, f64, f64)> {
    let config = lm_config(t, reviews.vocab_size());
    let stream: Vec<u32> = reviews
        .train
        .iter()
        .chain(&reviews.unlabelled)
        .flatten()
        .map(|&id| id as u32)
        .collect();
    let held_out: Vec<u32> = reviews.test.iter().flatten().map(|&id| id as u32).collect();
    let mut rng = Rng::new(1602);
    let mut model = Gpt::new(config, &mut rng);
    println!(
        "Pretraining {} ({} parameters) to predict the next word of the {} training reviews and {} \
         unlabelled ones\n({} words in a row, each review starting with <start>), {} steps of {} × {} \
         words; no label is used.",
        model.describe(),
        param_count(&mut model),
        reviews.train.len(),
        reviews.unlabelled.len(),
        stream.len(),
        t.pretrain_steps,
        t.pretrain_batch,
        config.context
    );
    let mut optimizer = AdamW::new(1e-3)
        .betas(0.9, 0.99)
        .weight_decay(0.1)
        .decay_matrices_only();
    let warmup = (t.pretrain_steps / 20).max(1);
    let schedule = WarmupThen {
        warmup: LinearWarmup {
            start_factor: 1.0 / (warmup as f32 + 1.0),
            warmup_steps: warmup,
        },
        then: Box::new(CosineAnnealingLr {
            t_max: (t.pretrain_steps.saturating_sub(1 + warmup)).max(1),
            eta_min: 1e-4,
        }),
    };
    let before = mean(&validation_losses(&mut model, &held_out, config.context, Some(64)).0);
    let started = Instant::now();
    let mut progress = Progress::new("review LM", t.pretrain_steps);
    for step in 0..t.pretrain_steps {
        schedule.apply(&mut optimizer, 1e-3, step);
        let (inputs, targets) = random_batch(&stream, t.pretrain_batch, config.context, &mut rng);
        zero_grad(&mut model);
        let logits = model.forward(&inputs, Mode::Train);
        let loss = next_token_loss(&logits, &targets);
        if !loss.value.is_finite() {
            return Err(Error::Training {
                step: step + 1,
                message: format!("the review language model's loss became {}", loss.value),
            });
        }
        model.backward(&loss.grad);
        clip_grad_norm(&mut model, 1.0);
        optimizer.step(&mut model);
        progress.advance(1);
    }
    progress.finish();
    let seconds = started.elapsed().as_secs_f64();
    let after = mean(&validation_losses(&mut model, &held_out, config.context, None).0);
    println!(
        "Pretraining took {seconds:.1} s on {} threads. Next-word loss on the test reviews' text: \
         {before:.3} nats before, {after:.3} after (uniform over the vocabulary: {:.3}).",
        dlfs::parallel::num_threads(),
        (config.vocab_size as f64).ln()
    );
    let path = out.join("review_lm.safetensors");
    checkpoint::save(&mut model, &path)?;
    println!("wrote {}", path.display());
    Ok((checkpoint::to_bytes(&mut model, &[]), after, seconds))
}

/// Trains `model` on (inputs, labels) for about `steps` steps of 16 and returns its test accuracy.
fn train_classifier(
    model: &mut dyn Layer,
    train: (&Tensor, &Tensor),
    test: (&Tensor, &Tensor),
    learning_rate: f32,
    steps: usize,
    seed: u64,
) -> Result<f64> {
    let batch = 16.min(train.0.dim(0));
    let epochs = (steps * batch).div_ceil(train.0.dim(0)).max(1);
    let train_data = TensorDataset::new(train.0, train.1)?;
    let test_data = TensorDataset::new(test.0, test.1)?;
    let mut optimizer = AdamW::new(learning_rate).weight_decay(0.01);
    let config = FitConfig::new(epochs, batch)
        .seed(seed)
        .clip_grad_norm(1.0)
        .progress(None);
    train::fit(
        model,
        &mut optimizer,
        &CrossEntropyLoss::new(),
        &train_data,
        &config,
    )?;
    let evaluation = train::evaluate(
        model,
        &CrossEntropyLoss::new(),
        &test_data,
        256,
        Metric::Accuracy,
    )?;
    Ok(f64::from(evaluation.metric.unwrap_or(0.0)))
}

/// A linear probe: the frozen backbone's pooled features (computed once, in inference mode) and
/// a logistic regression trained on them. Returns its test accuracy.
fn linear_probe(
    backbone: &mut Gpt,
    train: (&Tensor, &Tensor),
    test: (&Tensor, &Tensor),
    seed: u64,
) -> Result<f64> {
    let features = |backbone: &mut Gpt, inputs: &Tensor| -> Tensor {
        let lengths = sequence_lengths(inputs, PAD);
        let hidden = backbone.hidden_states(inputs, Mode::Inference);
        mean_pool(&hidden, &lengths)
    };
    let mut pooled_test = Vec::new();
    let n_test = test.0.dim(0);
    for start in (0..n_test).step_by(256) {
        let rows: Vec<usize> = (start..(start + 256).min(n_test)).collect();
        pooled_test.extend_from_slice(features(backbone, &test.0.select_rows(&rows)).data());
    }
    let width = backbone.config().width;
    let test_features = Tensor::from_vec(&[n_test, width], pooled_test);
    let train_features = features(backbone, train.0);
    let mut head = Linear::new(width, 2, &mut Rng::new(seed));
    let n = train.0.dim(0);
    let train_data = TensorDataset::new(&train_features, train.1)?;
    let test_data = TensorDataset::new(&test_features, test.1)?;
    let mut optimizer = AdamW::new(1e-2).weight_decay(0.01);
    let config = FitConfig::new(300, n).seed(seed).progress(None);
    train::fit(
        &mut head,
        &mut optimizer,
        &CrossEntropyLoss::new(),
        &train_data,
        &config,
    )?;
    let evaluation = train::evaluate(
        &mut head,
        &CrossEntropyLoss::new(),
        &test_data,
        1024,
        Metric::Accuracy,
    )?;
    Ok(f64::from(evaluation.metric.unwrap_or(0.0)))
}

/// Accuracies per seed of each method and number of labels.
struct TextOutcome {
    pretrained: Vec<(usize, Vec<f64>)>,
    probe: Vec<(usize, Vec<f64>)>,
    scratch: Vec<(usize, Vec<f64>)>,
}

fn run_text_transfer(
    imdb: Option<(imdb::Imdb, PathBuf)>,
    t: &TransferSettings,
    out: &Path,
    results: &mut Results,
) -> Result<TextOutcome> {
    heading("16.2 Transfer learning (text): pretrain without labels, fine-tune with few");
    let reviews = load_reviews(imdb, t, out)?;
    println!(
        "Reviews: {} — {} for training, {} for testing, {} words in the vocabulary (ids below {}).",
        reviews.source,
        reviews.train.len(),
        reviews.test.len(),
        reviews.vocabulary.words().len(),
        reviews.vocab_size()
    );
    println!(
        "Tokens are words, not characters: a review is 15–60 words but 80–300 characters, so a word-level \
         model reads a whole\nstand-in review in its {} positions and pretrains in a few minutes; the \
         model is small (width {}, {} blocks) because\nthe stand-in's vocabulary is small.",
        t.lm_context, t.lm_width, t.lm_layers
    );
    let (weights, lm_loss, seconds) = pretrain_review_lm(&reviews, t, out)?;
    results.set("transfer_text.pretrain_seconds", seconds);
    results.set("transfer_text.pretrain_test_loss_nats", lm_loss);

    let config = lm_config(t, reviews.vocab_size());
    let all_test: Vec<usize> = (0..reviews.test.len()).collect();
    let (test_inputs, test_labels) = classifier_inputs(
        &reviews.test,
        &reviews.test_labels,
        &all_test,
        config.context,
    );
    let load_pretrained = |rng: &mut Rng| -> Result<Gpt> {
        let mut model = Gpt::new(config, rng);
        checkpoint::load_from_bytes(&mut model, &weights, "the pretrained review model")?;
        Ok(model)
    };
    let mut counts: Vec<usize> = t
        .label_counts
        .iter()
        .chain(&t.scratch_counts)
        .copied()
        .collect();
    counts.sort_unstable();
    counts.dedup();
    let mut outcome = TextOutcome {
        pretrained: t.label_counts.iter().map(|&n| (n, Vec::new())).collect(),
        probe: t.label_counts.iter().map(|&n| (n, Vec::new())).collect(),
        scratch: t.scratch_counts.iter().map(|&n| (n, Vec::new())).collect(),
    };
    println!(
        "\nFor each seed and number of labels N: N training reviews (N/2 per class), {} steps of 16 \
         (AdamW, clipping 1), accuracy on all {} test reviews.\n  fine-tuned: the pretrained model + a \
         new linear head on the mean hidden state, all trained (lr 3e-4)\n  linear probe: the pretrained \
         model frozen, only a logistic regression on its mean hidden state\n  from scratch: the same \
         model and head, randomly initialised (lr 1e-3)",
        t.classifier_steps,
        reviews.test.len()
    );
    let mut table = Table::new(&[
        "seed",
        "labels",
        "fine-tuned",
        "linear probe",
        "from scratch",
    ]);
    let mut progress = Progress::new("transfer (text)", t.seeds * counts.len());
    for seed in 0..t.seeds as u64 {
        for &n in &counts {
            if n > reviews.train.len() {
                continue;
            }
            let mut rng = Rng::new(16_000 + seed);
            let chosen = balanced_sample(&reviews.train_labels, 2, n, &mut rng);
            let (inputs, labels) = classifier_inputs(
                &reviews.train,
                &reviews.train_labels,
                &chosen,
                config.context,
            );
            let train = (&inputs, &labels);
            let test = (&test_inputs, &test_labels);
            let mut cells = vec![seed.to_string(), n.to_string()];
            if let Some(slot) = outcome.pretrained.iter_mut().find(|(m, _)| *m == n) {
                let backbone = load_pretrained(&mut rng)?;
                let mut model = GptClassifier::new(backbone, 2, PAD, &mut rng);
                let accuracy =
                    train_classifier(&mut model, train, test, 3e-4, t.classifier_steps, seed)?;
                slot.1.push(accuracy);
                cells.push(format!("{:.1} %", 100.0 * accuracy));
                let mut backbone = load_pretrained(&mut rng)?;
                let accuracy = linear_probe(&mut backbone, train, test, seed)?;
                if let Some(slot) = outcome.probe.iter_mut().find(|(m, _)| *m == n) {
                    slot.1.push(accuracy);
                }
                cells.push(format!("{:.1} %", 100.0 * accuracy));
            } else {
                cells.extend(["".to_string(), "".to_string()]);
            }
            if let Some(slot) = outcome.scratch.iter_mut().find(|(m, _)| *m == n) {
                let mut model = GptClassifier::new(Gpt::new(config, &mut rng), 2, PAD, &mut rng);
                let accuracy =
                    train_classifier(&mut model, train, test, 1e-3, t.classifier_steps, seed)?;
                slot.1.push(accuracy);
                cells.push(format!("{:.1} %", 100.0 * accuracy));
            } else {
                cells.push(String::new());
            }
            println!(
                "  seed {seed}, {n} labels: fine-tuned {}, linear probe {}, from scratch {}",
                or_dash(&cells[2]),
                or_dash(&cells[3]),
                or_dash(&cells[4])
            );
            table.row(&cells);
            progress.advance(1);
        }
    }
    progress.finish();
    println!("\n{table}");
    let mut summary = Table::new(&["labels", "fine-tuned", "linear probe", "from scratch"]);
    for &n in &counts {
        let find = |list: &[(usize, Vec<f64>)]| -> String {
            accuracies_with(list, n).map_or(String::new(), percent)
        };
        summary.row(&[
            n.to_string(),
            find(&outcome.pretrained),
            find(&outcome.probe),
            find(&outcome.scratch),
        ]);
    }
    println!(
        "Mean ± sd over {} seed(s), test accuracy:\n\n{summary}",
        t.seeds
    );
    // Chance on the test split: always answering its larger class.
    let positives = reviews
        .test_labels
        .iter()
        .filter(|&&label| label == 1)
        .count();
    let total = reviews.test_labels.len().max(1);
    let chance = positives.max(total - positives) as f64 / total as f64;
    println!("What the table says (worked out from it):");
    let (mut probe_at_chance, mut fine_tuning_helps) = (false, false);
    for (n, pretrained) in outcome.pretrained.iter().filter(|(_, v)| !v.is_empty()) {
        let (scratch, probe) = (
            accuracies_with(&outcome.scratch, *n),
            accuracies_with(&outcome.probe, *n),
        );
        if let (Some(scratch), Some(probe)) = (scratch, probe) {
            // Within one standard deviation of chance, or 2 points when the seeds agree closely.
            let at_chance = (mean(probe) - chance).abs() <= mean_sd(probe).1.max(0.02);
            probe_at_chance |= at_chance;
            let ((fine_tuned, sd_fine_tuned), (from_scratch, sd_scratch)) =
                (mean_sd(pretrained), mean_sd(scratch));
            fine_tuning_helps |= fine_tuned - from_scratch > sd_fine_tuned.max(sd_scratch);
            println!(
                "  {n} labels: {}; the linear probe {:.1} %, {} (always answering the larger class: \
                 {:.1} %).",
                compare_methods("fine-tuned", pretrained, "from scratch", scratch),
                100.0 * mean(probe),
                if at_chance {
                    "at chance"
                } else if mean(probe) > chance {
                    "above chance"
                } else {
                    "below chance"
                },
                100.0 * chance
            );
        }
    }
    if probe_at_chance && fine_tuning_helps {
        println!(
            "A linear probe near chance while fine-tuning helps means the frozen model's mean \
             hidden state, built to predict the next word, keeps little that separates positive \
             from negative reviews along a straight line; fine-tuning reshapes those features, and \
             the pretrained weights are then a far better start than random ones when there are \
             enough labels to reshape them."
        );
    }
    println!();
    for (name, list) in [
        ("pretrained", &outcome.pretrained),
        ("probe", &outcome.probe),
        ("scratch", &outcome.scratch),
    ] {
        for (n, values) in list.iter().filter(|(_, v)| !v.is_empty()) {
            let (m, sd) = mean_sd(values);
            results.set(&format!("transfer_text.{name}_{n}_acc"), m);
            results.set(&format!("transfer_text.{name}_{n}_acc_sd"), sd);
            results.set(
                &format!("transfer_text.{name}_{n}_acc_per_seed"),
                values.clone(),
            );
        }
    }
    Ok(outcome)
}

// ---------------------------------------------------------------------------------------------
// 16.2 (images): chapter 12's CNN pretrained on five classes, reused for the other five
// ---------------------------------------------------------------------------------------------

/// The classes the CNN is pretrained on (even labels) and the new task's classes (odd labels). On
/// CIFAR-10 both halves then hold animals and vehicles (airplane, bird, deer, frog, ship against
/// automobile, cat, dog, horse, truck), and on the stand-in both hold shapes and textures: a split
/// 0–4 against 5–9 would give the stand-in's new task only textures, which no shape detector helps
/// with.
const SOURCE_CLASSES: [usize; 5] = [0, 2, 4, 6, 8];
const TARGET_CLASSES: [usize; 5] = [1, 3, 5, 7, 9];

/// Images of five classes of an [`ImageSet`], relabelled `0..5` in the order of `classes`, as a
/// [`Dataset`].
struct ImageSubset<'a> {
    images: &'a ImageSet,
    indices: Vec<usize>,
    classes: [usize; 5],
}

impl Dataset for ImageSubset<'_> {
    fn len(&self) -> usize {
        self.indices.len()
    }

    fn input_shape(&self) -> Vec<usize> {
        vec![cifar10::CHANNELS, cifar10::SIDE, cifar10::SIDE]
    }

    fn target_shape(&self) -> Vec<usize> {
        Vec::new()
    }

    fn gather(&self, indices: &[usize], inputs: &mut [f32], targets: &mut [f32]) {
        let chosen: Vec<usize> = indices.iter().map(|&i| self.indices[i]).collect();
        self.images.write_images(&chosen, None, inputs);
        for (t, &i) in targets.iter_mut().zip(&chosen) {
            *t = new_label(&self.classes, self.images.label(i)) as f32;
        }
    }
}

/// The indices of the images whose class is one of `classes`.
fn of_classes(images: &ImageSet, classes: &[usize; 5]) -> Vec<usize> {
    (0..images.len())
        .filter(|&i| classes.contains(&images.label(i)))
        .collect()
}

/// The position of `label` in `classes` (its label in the five-class task).
fn new_label(classes: &[usize; 5], label: usize) -> usize {
    classes
        .iter()
        .position(|&c| c == label)
        .expect("the subset holds only these classes")
}

/// The CNN's features: everything up to fc3's input (after fc2's ReLU), `[N, 84]`, in inference mode.
fn cnn_features(model: &mut CifarCnn, data: &dyn Dataset) -> (Tensor, Tensor) {
    let n = data.len();
    let mut features = Vec::with_capacity(n * 84);
    let mut labels = Vec::with_capacity(n);
    let mut batch = Batch::new();
    let order: Vec<usize> = (0..n).collect();
    for indices in order.chunks(256) {
        let (inputs, targets) = batch.load(data, indices);
        let mut x = inputs.clone();
        let layers = model.layers_mut();
        let last = layers.len() - 1;
        for (_, layer) in layers.into_iter().take(last) {
            x = layer.forward(&x, Mode::Inference);
        }
        features.extend_from_slice(x.data());
        labels.extend_from_slice(targets.data());
        batch.recycle(inputs, targets);
    }
    (
        Tensor::from_vec(&[n, 84], features),
        Tensor::from_vec(&[n], labels),
    )
}

/// Trains `model` for about `steps` steps of 25 with Adam and returns its accuracy on `test`.
fn train_cnn(
    model: &mut dyn Layer,
    train: &dyn Dataset,
    test: &dyn Dataset,
    learning_rate: f32,
    steps: usize,
    seed: u64,
) -> Result<f64> {
    let batch = 25.min(train.len());
    let epochs = (steps * batch).div_ceil(train.len()).max(1);
    let mut optimizer = Adam::new(learning_rate);
    let config = FitConfig::new(epochs, batch).seed(seed).progress(None);
    train::fit(
        model,
        &mut optimizer,
        &CrossEntropyLoss::new(),
        train,
        &config,
    )?;
    let evaluation = train::evaluate(model, &CrossEntropyLoss::new(), test, 256, Metric::Accuracy)?;
    Ok(f64::from(evaluation.metric.unwrap_or(0.0)))
}

/// Accuracies per seed: frozen features + head, fine-tuned, and from scratch per labels per class.
struct ImageOutcome {
    frozen: Vec<f64>,
    finetuned: Vec<f64>,
    scratch: Vec<(usize, Vec<f64>)>,
    images_per_class: usize,
}

fn run_image_transfer(
    cifar: Option<Cifar10>,
    t: &TransferSettings,
    results: &mut Results,
) -> Result<ImageOutcome> {
    heading(
        "16.2 Transfer learning (images): five classes for pretraining, five with 50 labels each",
    );
    let (train_images, test_images, names, source) = match cifar {
        Some(data) => {
            let source = format!("CIFAR-10 in {}", data.folder.display());
            (data.train, data.test, data.classes, source)
        }
        None => (
            cifar10_standin::generate(t.images_train, 1612),
            cifar10_standin::generate(t.images_test, 1613),
            cifar10_standin::CLASS_NAMES
                .iter()
                .map(|s| s.to_string())
                .collect(),
            "chapter 12's generated stand-in".to_string(),
        ),
    };
    println!(
        "Images: {source}. Pretraining classes {SOURCE_CLASSES:?} ({}); new task: classes \
         {TARGET_CLASSES:?} ({}).",
        SOURCE_CLASSES.map(|c| names[c].as_str()).join(", "),
        TARGET_CLASSES.map(|c| names[c].as_str()).join(", ")
    );

    // Pretraining on the five source classes, with every label they have.
    let mut rng = Rng::new(1620);
    let mut pretrained = CifarCnn::new(&mut rng);
    pretrained.fc3 = Linear::new(84, 5, &mut rng);
    let source_train = ImageSubset {
        images: &train_images,
        indices: of_classes(&train_images, &SOURCE_CLASSES),
        classes: SOURCE_CLASSES,
    };
    let source_test = ImageSubset {
        images: &test_images,
        indices: of_classes(&test_images, &SOURCE_CLASSES),
        classes: SOURCE_CLASSES,
    };
    let started = Instant::now();
    let mut optimizer = Adam::new(1e-3);
    let config = FitConfig::new(t.cnn_pretrain_epochs, 64)
        .seed(1620)
        .progress(Some("CNN pretraining"));
    train::fit(
        &mut pretrained,
        &mut optimizer,
        &CrossEntropyLoss::new(),
        &source_train,
        &config,
    )?;
    let source_accuracy = train::evaluate(
        &mut pretrained,
        &CrossEntropyLoss::new(),
        &source_test,
        256,
        Metric::Accuracy,
    )?
    .metric
    .unwrap_or(0.0);
    println!(
        "Pretrained chapter 12's CNN on {} images of its five classes ({} epochs, Adam 1e-3, {:.1} s): {:.1} % on their \
         {} test images.",
        source_train.len(),
        t.cnn_pretrain_epochs,
        started.elapsed().as_secs_f64(),
        100.0 * source_accuracy,
        source_test.len()
    );
    results.set("transfer_images.source_accuracy", source_accuracy);
    let weights = checkpoint::to_bytes(&mut pretrained, &[]);
    let load_pretrained = |rng: &mut Rng| -> Result<CifarCnn> {
        let mut model = CifarCnn::new(rng);
        model.fc3 = Linear::new(84, 5, rng);
        checkpoint::load_from_bytes(&mut model, &weights, "the pretrained CNN")?;
        // The new task gets a new head.
        model.fc3 = Linear::new(84, 5, rng);
        Ok(model)
    };

    let target_pool = of_classes(&train_images, &TARGET_CLASSES);
    let target_labels: Vec<usize> = target_pool
        .iter()
        .map(|&i| new_label(&TARGET_CLASSES, train_images.label(i)))
        .collect();
    let target_test = ImageSubset {
        images: &test_images,
        indices: of_classes(&test_images, &TARGET_CLASSES),
        classes: TARGET_CLASSES,
    };
    let mut outcome = ImageOutcome {
        frozen: Vec::new(),
        finetuned: Vec::new(),
        scratch: t
            .scratch_images_per_class
            .iter()
            .map(|&n| (n, Vec::new()))
            .collect(),
        images_per_class: t.images_per_class,
    };
    println!(
        "\nFor each seed: {} labelled images per class of the new classes ({} in all), about {} steps of 25 \
         (Adam), accuracy on their {} test images.\n  frozen features + new head: the pretrained layers \
         up to fc2 fixed, a new fc3 (84 → 5) trained on their features\n  fine-tuned: the pretrained \
         layers and a new fc3, all trained (lr 3e-4)\n  from scratch: the same network randomly \
         initialised (lr 1e-3), also with more labels per class",
        t.images_per_class,
        5 * t.images_per_class,
        t.cnn_steps,
        target_test.len()
    );
    let mut table = Table::new(&[
        "seed",
        "labels/class",
        "frozen + head",
        "fine-tuned",
        "from scratch",
    ]);
    let test_features = cnn_features(&mut load_pretrained(&mut rng)?, &target_test);
    for seed in 0..t.seeds as u64 {
        let mut counts = t.scratch_images_per_class.clone();
        if !counts.contains(&t.images_per_class) {
            counts.insert(0, t.images_per_class);
        }
        for &per_class in &counts {
            let mut rng = Rng::new(16_200 + seed);
            let chosen: Vec<usize> = balanced_sample(&target_labels, 5, 5 * per_class, &mut rng)
                .into_iter()
                .map(|i| target_pool[i])
                .collect();
            if chosen.len() < 5 * per_class {
                continue;
            }
            let train_set = ImageSubset {
                images: &train_images,
                indices: chosen,
                classes: TARGET_CLASSES,
            };
            let mut cells = vec![seed.to_string(), per_class.to_string()];
            if per_class == t.images_per_class {
                // Frozen features + a new head: the features are computed once.
                let mut backbone = load_pretrained(&mut rng)?;
                let (features, labels) = cnn_features(&mut backbone, &train_set);
                let mut head = Linear::new(84, 5, &mut rng);
                let train_data = TensorDataset::new(&features, &labels)?;
                let test_data = TensorDataset::new(&test_features.0, &test_features.1)?;
                let mut optimizer = Adam::new(1e-2);
                let config = FitConfig::new(200, features.dim(0))
                    .seed(seed)
                    .progress(None);
                train::fit(
                    &mut head,
                    &mut optimizer,
                    &CrossEntropyLoss::new(),
                    &train_data,
                    &config,
                )?;
                let frozen = f64::from(
                    train::evaluate(
                        &mut head,
                        &CrossEntropyLoss::new(),
                        &test_data,
                        1024,
                        Metric::Accuracy,
                    )?
                    .metric
                    .unwrap_or(0.0),
                );
                outcome.frozen.push(frozen);
                let mut model = load_pretrained(&mut rng)?;
                let finetuned = train_cnn(
                    &mut model,
                    &train_set,
                    &target_test,
                    3e-4,
                    t.cnn_steps,
                    seed,
                )?;
                outcome.finetuned.push(finetuned);
                cells.push(format!("{:.1} %", 100.0 * frozen));
                cells.push(format!("{:.1} %", 100.0 * finetuned));
            } else {
                cells.extend([String::new(), String::new()]);
            }
            if let Some(slot) = outcome.scratch.iter_mut().find(|(n, _)| *n == per_class) {
                let mut model = CifarCnn::new(&mut rng);
                model.fc3 = Linear::new(84, 5, &mut rng);
                let scratch = train_cnn(
                    &mut model,
                    &train_set,
                    &target_test,
                    1e-3,
                    t.cnn_steps,
                    seed,
                )?;
                slot.1.push(scratch);
                cells.push(format!("{:.1} %", 100.0 * scratch));
            } else {
                cells.push(String::new());
            }
            table.row(&cells);
        }
    }
    println!("\n{table}");
    let mut summary = Table::new(&[
        "labels/class",
        "frozen + head",
        "fine-tuned",
        "from scratch",
    ]);
    for (n, values) in &outcome.scratch {
        let transfer = *n == t.images_per_class;
        summary.row(&[
            n.to_string(),
            if transfer {
                percent(&outcome.frozen)
            } else {
                String::new()
            },
            if transfer {
                percent(&outcome.finetuned)
            } else {
                String::new()
            },
            percent(values),
        ]);
    }
    println!(
        "Mean ± sd over {} seed(s), test accuracy on the new classes:\n\n{summary}",
        t.seeds
    );
    for (name, values) in [
        ("frozen", &outcome.frozen),
        ("finetuned", &outcome.finetuned),
    ] {
        let (m, sd) = mean_sd(values);
        results.set(
            &format!(
                "transfer_images.{name}_{}_per_class_acc",
                t.images_per_class
            ),
            m,
        );
        results.set(
            &format!(
                "transfer_images.{name}_{}_per_class_acc_sd",
                t.images_per_class
            ),
            sd,
        );
    }
    for (n, values) in &outcome.scratch {
        let (m, sd) = mean_sd(values);
        results.set(&format!("transfer_images.scratch_{n}_per_class_acc"), m);
        results.set(&format!("transfer_images.scratch_{n}_per_class_acc_sd"), sd);
    }
    Ok(outcome)
}

// ---------------------------------------------------------------------------------------------
// The closing table: does pretraining reduce the need for labelled data?
// ---------------------------------------------------------------------------------------------

/// The smallest number of labels with which `scratch` reaches `target` (mean over seeds), if any.
fn labels_to_match(scratch: &[(usize, Vec<f64>)], target: f64) -> Option<usize> {
    scratch
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .find(|(_, v)| mean(v) >= target)
        .map(|(n, _)| *n)
}

fn closing_table(
    text: Option<&TextOutcome>,
    images: Option<&ImageOutcome>,
    t: &TransferSettings,
    results: &mut Results,
) {
    heading("16.3 Does pretraining reduce the need for labelled data?");
    let mut table = Table::new(&[
        "task",
        "pretrained, few labels",
        "from scratch, same labels",
        "labels from scratch to match",
    ]);
    if let Some(text) = text {
        let largest = text.scratch.iter().map(|(m, _)| *m).max().unwrap_or(0);
        for (n, values) in text.pretrained.iter().filter(|(_, v)| !v.is_empty()) {
            let target = mean(values);
            let same = accuracies_with(&text.scratch, *n).map_or(String::new(), percent);
            let matched = labels_to_match(&text.scratch, target);
            table.row(&[
                "reviews (text)".to_string(),
                format!("{} fine-tuned with {n} labels", percent(values)),
                same,
                match matched {
                    Some(m) => format!("{m}"),
                    None => format!("more than {largest} (not reached)"),
                },
            ]);
            results.set(
                &format!("transfer_text.scratch_labels_to_match_pretrained_{n}"),
                matched.map_or(-1, |m| m as i64),
            );
        }
    }
    if let Some(images) = images {
        let best = mean(&images.finetuned).max(mean(&images.frozen));
        let matched = labels_to_match(&images.scratch, best);
        let largest = images.scratch.iter().map(|(m, _)| *m).max().unwrap_or(0);
        let same = images
            .scratch
            .iter()
            .find(|(m, _)| *m == images.images_per_class)
            .map_or(String::new(), |(_, v)| percent(v));
        table.row(&[
            "images (5 new classes)".to_string(),
            format!(
                "{} fine-tuned, {} frozen, {} per class",
                percent(&images.finetuned),
                percent(&images.frozen),
                images.images_per_class
            ),
            same,
            match matched {
                Some(m) => format!("{m} per class"),
                None => format!("more than {largest} per class (not reached)"),
            },
        ]);
        results.set(
            "transfer_images.scratch_per_class_to_match_pretrained",
            matched.map_or(-1, |m| m as i64),
        );
    }
    println!("{table}");
    println!(
        "The tutorial says transfer learning \"reduces the need for labelled data\". The last column is that \
         claim in numbers: how many labels\nthe same model needs without pretraining to do as well (mean over {} \
         seed(s); `not reached` means not even with the most labels tried).",
        t.seeds
    );
}

fn main() {
    app::main_for(command(), run);
}
