//! Chapter 17 — 深度学习的未来趋势 (the future of deep learning), part 2: meta-learning and deep
//! reinforcement learning, "AlphaGo in miniature".
//!
//! The tutorial names two research directions in one line each: **meta-learning** ("learn new
//! tasks quickly from little data") and **reinforcement learning combined with deep learning**
//! ("for example AlphaGo"). This chapter runs both, from scratch, with the crate's layers, losses
//! and optimizers:
//!
//! - 17.1 few-shot sine waves: Reptile and first-order MAML learn an initialisation from which 10
//!   SGD steps on 10 examples fit a new wave, against a random network, a network pretrained on all
//!   tasks, and the best task-agnostic predictors, derived exactly (4.25 and 3.01);
//! - 17.2 CartPole, written here: REINFORCE with a learned baseline and DQN, five seeds each,
//!   episodes to solve, wall time, learning curves, against the random policy;
//! - 17.3 AlphaZero on tic-tac-toe: self-play with PUCT tree search, checked against random play
//!   (whose odds are derived by enumerating every game) and against a perfect minimax player;
//! - 17.4 how to keep learning.
//!
//! Every number of the summary tables goes to `results.json` under `--out`, with the figures (SVG)
//! and three exports: `sine_meta_init.safetensors`, `cartpole_policy.safetensors` and
//! `tictactoe_policy.txt`. The runs take seconds to a minute each, so this chapter saves no
//! training state and has no `--resume`.

use dlfs::cli::{Args, Command};
use dlfs::data::sine_tasks::{self, FewShotTask, SineTask};
use dlfs::meta::{self, MetaRun, fomaml, joint, reptile};
use dlfs::nn::{Layer, Mode, Sequential, mlp, mlp_layers_text};
use dlfs::probability::Rng;
use dlfs::report::{LinePlot, Results, Table, write_atomic};
use dlfs::rl::alphazero::{self, AlphaZeroConfig, CachedEvaluator};
use dlfs::rl::dqn::{self, DqnConfig};
use dlfs::rl::mcts::Mcts;
use dlfs::rl::reinforce::{self, ReinforceConfig};
use dlfs::rl::tictactoe::{self, Square};
use dlfs::rl::{
    CartPole, Environment, Game, Minimax, TicTacToe, TrainingRun, cartpole, greedy_action, minimax,
    play_episodes,
};
use dlfs::tensor::Tensor;
use dlfs::{Error, Result, app, checkpoint};
use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Instant;

/// The seed of the 600 held-out sine tasks (fixed: every run scores on the same tasks).
const TEST_TASK_SEED: u64 = 1700;
/// The seed of the validation tasks behind the meta-training curves.
const VALIDATION_TASK_SEED: u64 = 1701;
/// Support examples per sine task (K).
const SUPPORT_POINTS: usize = 10;
/// Query points per held-out sine task.
const QUERY_POINTS: usize = 100;
/// Inner steps at which the table reports the query MSE.
const TABLE_STEPS: [usize; 4] = [0, 1, 5, 10];
/// The widths of the sine network: 1-40-40-1.
const SINE_WIDTHS: [usize; 4] = [1, 40, 40, 1];
/// Episodes of the random policy behind CartPole's baseline.
const RANDOM_EPISODES: usize = 1000;
/// Episodes on which each trained CartPole policy is scored, acting greedily.
const GREEDY_EPISODES: usize = 100;
/// Games of random against random simulated as a check of the exact odds.
const RANDOM_GAMES: usize = 100_000;
/// Games of the agent against the random player, from each side.
const GAMES_VS_RANDOM: usize = 200;
/// Games of the agent against the minimax player (random among its best moves), from each side.
const GAMES_VS_MINIMAX: usize = 100;
/// The most CartPole seeds a run accepts.
const MAX_SEEDS: usize = 1000;

/// The chapter's flags (`--quick`, `--out`, `--threads` come from `app::chapter_command`).
pub fn command() -> Command {
    app::chapter_command(
        "ch17_meta_and_rl",
        "Meta-learning (Reptile, first-order MAML on few-shot sine waves) and reinforcement \
         learning\n(REINFORCE and DQN on CartPole, AlphaZero on tic-tac-toe), from scratch. Runs \
         take seconds to a\nminute each: this chapter saves no training state and has no --resume.",
    )
    .option(
        "section",
        "WHICH",
        "all",
        "run one section only: 17.1, 17.2, 17.3 or 17.4 (all: every section)",
    )
    .option(
        "seed",
        "S",
        "0",
        "base seed of every run (seeds S, S+1, … for CartPole)",
    )
    .option(
        "inner-lr",
        "A",
        "0.01",
        "α, the inner SGD learning rate of 17.1",
    )
    .option(
        "reptile-iterations",
        "N",
        "100000",
        "Reptile's outer steps (--quick: 2000)",
    )
    .option(
        "fomaml-iterations",
        "N",
        "5000",
        "first-order MAML's outer steps, 10 tasks each (--quick: 200)",
    )
    .option(
        "test-tasks",
        "N",
        "600",
        "held-out sine tasks the table averages over (--quick: 100)",
    )
    .option(
        "seeds",
        "N",
        "5",
        "CartPole: seeds per method, at most 1000 (--quick: 1)",
    )
    .option(
        "reinforce-episodes",
        "N",
        "2000",
        "CartPole: REINFORCE's episode budget per seed (--quick: 200)",
    )
    .option(
        "dqn-episodes",
        "N",
        "1500",
        "CartPole: DQN's episode budget per seed (--quick: 100)",
    )
    .option(
        "az-iterations",
        "N",
        "30",
        "tic-tac-toe: rounds of self-play + training (--quick: 3)",
    )
    .option(
        "az-games",
        "N",
        "50",
        "tic-tac-toe: self-play games per round (--quick: 10)",
    )
    .option(
        "az-simulations",
        "N",
        "50",
        "tic-tac-toe: MCTS simulations per move, in self-play and in play (--quick: 25)",
    )
}

/// Which sections run.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Section {
    All,
    Meta,
    CartPole,
    TicTacToe,
    KeepLearning,
}

/// The chapter's settings, read from the flags (an explicit flag wins over `--quick`).
struct Settings {
    quick: bool,
    section: Section,
    seed: u64,
    /// α as typed (f64, so results.json shows 0.01, not its f32 rounding).
    inner_lr: f64,
    reptile_iterations: usize,
    fomaml_iterations: usize,
    test_tasks: usize,
    seeds: usize,
    reinforce_episodes: usize,
    dqn_episodes: usize,
    az_iterations: usize,
    az_games: usize,
    az_simulations: usize,
    out: PathBuf,
}

/// `--name`'s value, or `quick_value` under `--quick` when the flag was not given.
fn count(args: &Args, name: &str, quick: bool, quick_value: usize) -> Result<usize> {
    let value = if quick && !args.was_given(name) {
        quick_value
    } else {
        args.get(name)?
    };
    if value == 0 {
        return Err(Error::usage(format!("--{name} must be at least 1")));
    }
    Ok(value)
}

impl Settings {
    fn from_args(args: &Args) -> Result<Settings> {
        let quick = args.flag("quick");
        let section = match args.get::<String>("section")?.as_str() {
            "all" => Section::All,
            "17.1" => Section::Meta,
            "17.2" => Section::CartPole,
            "17.3" => Section::TicTacToe,
            "17.4" => Section::KeepLearning,
            other => {
                return Err(Error::usage(format!(
                    "--section must be 17.1, 17.2, 17.3, 17.4 or all, got {}",
                    dlfs::input::excerpt(other)
                )));
            }
        };
        let inner_lr: f64 = args.get("inner-lr")?;
        if !(inner_lr > 0.0 && inner_lr.is_finite()) {
            return Err(Error::usage("--inner-lr must be a positive number"));
        }
        let settings = Settings {
            quick,
            section,
            seed: args.get("seed")?,
            inner_lr,
            reptile_iterations: count(args, "reptile-iterations", quick, 2000)?,
            fomaml_iterations: count(args, "fomaml-iterations", quick, 200)?,
            test_tasks: count(args, "test-tasks", quick, 100)?,
            seeds: count(args, "seeds", quick, 1)?,
            reinforce_episodes: count(args, "reinforce-episodes", quick, 200)?,
            dqn_episodes: count(args, "dqn-episodes", quick, 100)?,
            az_iterations: count(args, "az-iterations", quick, 3)?,
            az_games: count(args, "az-games", quick, 10)?,
            az_simulations: count(args, "az-simulations", quick, 25)?,
            out: PathBuf::new(),
        };
        if settings.seeds > MAX_SEEDS {
            return Err(Error::usage(format!(
                "--seeds {} is more than {MAX_SEEDS}; each seed trains two learners for up to \
                 minutes, so give at most {MAX_SEEDS}",
                settings.seeds
            )));
        }
        settings.check_memory()?;
        // Last of the checks, first of the work: the folder must be writable before anything runs.
        Ok(Settings {
            out: app::out_dir(args)?,
            ..settings
        })
    }

    /// What the counts ask for, checked before anything is allocated (a usage error naming the
    /// flag, the bytes and the limit, see [`app::MemoryPlan`]). Only the sections that run count.
    fn check_memory(&self) -> Result<()> {
        let mut plan = app::MemoryPlan::new();
        if self.runs(Section::Meta) {
            // x and y of every support and query point, and six rows of scores after 0…10 steps.
            let floats_per_task = 2 * (SUPPORT_POINTS + QUERY_POINTS) + 6 * 11;
            plan.add(
                "--test-tasks",
                self.test_tasks,
                &format!(
                    "the held-out sine tasks and their scores ({floats_per_task} floats a task)"
                ),
                app::f32_bytes(&[self.test_tasks, floats_per_task]),
            )?;
        }
        if self.runs(Section::CartPole) {
            // The episode log (return and length), the moving mean and the plotted points.
            for (flag, episodes) in [
                ("--reinforce-episodes", self.reinforce_episodes),
                ("--dqn-episodes", self.dqn_episodes),
            ] {
                plan.add(
                    flag,
                    episodes,
                    &format!(
                        "the episode logs and curves of {} seed(s) (about 48 bytes an episode)",
                        self.seeds
                    ),
                    episodes
                        .checked_mul(self.seeds)
                        .and_then(|n| app::bytes_of(n, 48)),
                )?;
            }
        }
        if self.runs(Section::TicTacToe) {
            // A game gives at most 9 positions, each stored in its 8 symmetries (about 128 bytes
            // with its visit distribution), and the training window keeps `window` rounds.
            let window = AlphaZeroConfig::default().window;
            plan.add(
                "--az-games",
                self.az_games,
                &format!("the self-play examples of {window} rounds (about 9 KB a game)"),
                app::bytes_of(self.az_games, window * 9 * 8 * 128),
            )?;
        }
        Ok(())
    }

    fn runs(&self, section: Section) -> bool {
        self.section == Section::All || self.section == section
    }
}

fn heading(title: &str) {
    println!("\n## {title}\n");
}

/// The 1-minute load average (Linux's `/proc/loadavg`), to read wall times against: above the
/// number of CPUs, other programs were sharing them.
fn load_average() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// Prints the load average (when known) and records it under `key`.
fn note_load(results: &mut Results, key: &str) {
    if let Some(load) = load_average() {
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        println!(
            "(Load average {load:.1} on {cpus} CPUs as this section starts{}.)\n",
            if load > cpus as f64 {
                ": other programs share the processors, and wall times below grow with it"
            } else {
                ""
            }
        );
        results.set(key, load);
    }
}

/// The chapter itself.
pub fn run(args: &Args) -> Result<()> {
    let settings = Settings::from_args(args)?;
    let started = Instant::now();
    let mut results = Results::new();
    results.set("settings.quick", settings.quick);
    results.set("settings.seed", settings.seed as usize);
    if settings.runs(Section::Meta) {
        let t = Instant::now();
        heading("17.1 元学习 — meta-learning: few-shot sine waves");
        meta_learning(&settings, &mut results)?;
        results.set("timing.meta_learning_seconds", t.elapsed().as_secs_f64());
    }
    if settings.runs(Section::CartPole) {
        let t = Instant::now();
        heading("17.2 强化学习 — reinforcement learning: balancing a pole");
        cartpole_section(&settings, &mut results)?;
        results.set("timing.cartpole_seconds", t.elapsed().as_secs_f64());
    }
    if settings.runs(Section::TicTacToe) {
        let t = Instant::now();
        heading("17.3 AlphaGo in miniature — AlphaZero on tic-tac-toe");
        tictactoe_section(&settings, &mut results)?;
        results.set("timing.tictactoe_seconds", t.elapsed().as_secs_f64());
    }
    if settings.runs(Section::KeepLearning) {
        heading("17.4 持续学习 — how to keep learning");
        keep_learning();
    }
    let total = started.elapsed().as_secs_f64();
    results.set("timing.total_seconds", total);
    let path = settings.out.join("results.json");
    results.write(&path)?;
    println!(
        "\nwrote {} ({} numbers); the chapter took {total:.1} s",
        path.display(),
        results.len()
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// 17.1 Meta-learning
// ---------------------------------------------------------------------------------------------

/// The query MSE of one method after 0…10 inner steps, `[step][task]`.
struct Adaptation {
    name: &'static str,
    key: &'static str,
    per_step: Vec<Vec<f32>>,
}

fn meta_learning(settings: &Settings, results: &mut Results) -> Result<()> {
    println!(
        "A task is one wave y = A·sin(x + φ), A ~ U[0.1, 5], φ ~ U[0, π], x ~ U[−5, 5]. A learner \
         gets K = {SUPPORT_POINTS}\nexamples of a new wave, takes a few steps of plain SGD on them \
         (α = {}), and is scored on {QUERY_POINTS}\nmore points of the same wave. The network is \
         {}.",
        settings.inner_lr,
        mlp_layers_text(&SINE_WIDTHS)
    );
    println!(
        "\nWhat can a network do *without* adapting? The best fixed prediction at x is E[y | x]:\n\
         - predict 0: E[y²] = E[A²]·E[sin²(x + φ)] = E[A²]/2, since sin² averages ½ over any \
         interval of\n  length π; E[A²] = (5³ − 0.1³)/(3·4.9) = {:.4}, so MSE = {:.4} (the issue: \
         4.25);\n- E[y | x] = E[A]·(1/π)∫₀^π sin(x + φ) dφ = 2.55·(2/π)·cos x (the phases cover half \
         a period, so\n  they do not cancel); its mean square over x ~ U[−5, 5] is \
         2.55²·(4/π²)·(½ + sin 10/20) = {:.4},\n  so the best input-only predictor has MSE {:.4} − \
         {:.4} = {:.4} (the issue: about 3.01).",
        sine_tasks::amplitude_second_moment(),
        sine_tasks::zero_predictor_mse(),
        sine_tasks::zero_predictor_mse() - sine_tasks::best_input_only_mse(),
        sine_tasks::zero_predictor_mse(),
        sine_tasks::zero_predictor_mse() - sine_tasks::best_input_only_mse(),
        sine_tasks::best_input_only_mse()
    );
    println!();
    note_load(results, "sine.load_average_at_start");
    results.set("sine.inner_lr", settings.inner_lr);
    results.set("sine.support_points", SUPPORT_POINTS);
    results.set("sine.query_points", QUERY_POINTS);
    results.set("sine.test_tasks", settings.test_tasks);
    results.set(
        "sine.zero_predictor_mse_derived",
        sine_tasks::zero_predictor_mse(),
    );
    results.set(
        "sine.best_input_only_mse_derived",
        sine_tasks::best_input_only_mse(),
    );

    let test = sine_tasks::task_set(
        settings.test_tasks,
        SUPPORT_POINTS,
        QUERY_POINTS,
        TEST_TASK_SEED,
    );
    let validation_count = if settings.quick { 20 } else { 100 };
    let validation = sine_tasks::task_set(
        validation_count,
        SUPPORT_POINTS,
        QUERY_POINTS,
        VALIDATION_TASK_SEED,
    );
    println!(
        "\n{} held-out test tasks (seed {TEST_TASK_SEED}) for the table, {validation_count} \
         validation tasks for the training curves.\n",
        test.len()
    );

    // The four networks: random, jointly trained, and the two meta-learned initialisations.
    let mut random_init = mlp(&SINE_WIDTHS, &mut Rng::new(settings.seed));
    let joint_config = joint::JointConfig {
        seed: settings.seed,
        iterations: if settings.quick { 500 } else { 5000 },
        ..joint::JointConfig::default()
    };
    print!("{joint_config}");
    let mut pretrained = joint::train(&joint_config)?;
    println!("  trained in {:.1} s\n", pretrained.seconds);

    let fomaml_config = fomaml::FomamlConfig {
        seed: settings.seed,
        iterations: settings.fomaml_iterations,
        inner_lr: settings.inner_lr as f32,
        eval_every: (settings.fomaml_iterations / 20).max(1),
        ..fomaml::FomamlConfig::default()
    };
    print!("{fomaml_config}");
    let mut fomaml_run = fomaml::train(&fomaml_config, &validation)?;
    print_curve(&fomaml_run);

    let reptile_config = reptile::ReptileConfig {
        seed: settings.seed,
        iterations: settings.reptile_iterations,
        inner_lr: settings.inner_lr as f32,
        eval_every: (settings.reptile_iterations / 20).max(1),
        ..reptile::ReptileConfig::default()
    };
    print!("{reptile_config}");
    let mut reptile_run = reptile::train(&reptile_config, &validation)?;
    print_curve(&reptile_run);

    let all_steps: Vec<usize> = (0..=10).collect();
    let inner_lr = settings.inner_lr as f32;
    let evaluate = |model: &mut Sequential, name, key| Adaptation {
        name,
        key,
        per_step: meta::evaluate_adaptation(model, &test, inner_lr, &all_steps),
    };
    let methods = vec![
        evaluate(&mut random_init, "random initialisation", "random_init"),
        evaluate(
            &mut pretrained.model,
            "pretrained on all tasks (joint)",
            "pretrained",
        ),
        evaluate(&mut fomaml_run.model, "first-order MAML", "fomaml"),
        evaluate(&mut reptile_run.model, "Reptile", "reptile"),
    ];

    // The two fixed predictors, measured on the same query points.
    let zero: Vec<f32> = test
        .iter()
        .map(|t| fixed_predictor_mse(t, |_| 0.0))
        .collect();
    let best: Vec<f32> = test
        .iter()
        .map(|t| fixed_predictor_mse(t, sine_tasks::best_input_only_prediction))
        .collect();

    let mut table = Table::new(&["method", "0 steps", "1 step", "5 steps", "10 steps"]);
    let train_seconds = [
        None,
        Some(pretrained.seconds),
        Some(fomaml_run.seconds),
        Some(reptile_run.seconds),
    ];
    for (method, seconds) in methods.iter().zip(train_seconds) {
        if let Some(seconds) = seconds {
            results.set(&format!("sine.{}.train_seconds", method.key), seconds);
        }
        let mut row = vec![method.name.to_string()];
        for &steps in &TABLE_STEPS {
            let (mean, half) = meta::mean_with_ci95(&method.per_step[steps]);
            row.push(format!("{mean:.3} ± {half:.3}"));
            results.set(&format!("sine.{}.mse_{steps}_steps", method.key), mean);
            results.set(&format!("sine.{}.mse_{steps}_steps_ci95", method.key), half);
        }
        table.row(&row);
    }
    for (name, key, values, derived) in [
        (
            "predict 0 (no adaptation)",
            "zero_predictor",
            &zero,
            sine_tasks::zero_predictor_mse(),
        ),
        (
            "2.55·(2/π)·cos x (no adaptation)",
            "best_input_only",
            &best,
            sine_tasks::best_input_only_mse(),
        ),
    ] {
        let (mean, half) = meta::mean_with_ci95(values);
        let cell = format!("{mean:.3} ± {half:.3}");
        table.row(&[
            format!("{name}, derived {derived:.3}"),
            cell.clone(),
            cell.clone(),
            cell.clone(),
            cell,
        ]);
        results.set(&format!("sine.{key}.mse"), mean);
        results.set(&format!("sine.{key}.mse_ci95"), half);
    }
    println!(
        "\nQuery MSE on {} held-out tasks after k steps of SGD (α = {inner_lr}) on their {SUPPORT_POINTS} \
         examples\n(mean ± 95 % interval, 1.96·s/√n):\n\n{table}",
        test.len()
    );
    let reptile_10 = meta::mean_with_ci95(&methods[3].per_step[10]).0;
    let fomaml_10 = meta::mean_with_ci95(&methods[2].per_step[10]).0;
    let pretrained_0 = meta::mean_with_ci95(&methods[1].per_step[0]).0;
    let pretrained_10 = meta::mean_with_ci95(&methods[1].per_step[10]).0;
    let best_meta = reptile_10.min(fomaml_10);
    println!(
        "Target: after 10 steps the meta-learned initialisation reaches MSE ≤ 0.3 — Reptile \
         {reptile_10:.3}, first-order MAML {fomaml_10:.3}: {}.\nThe pretrained network starts at \
         {pretrained_0:.3}, next to the best task-agnostic predictor ({:.3}): it learned the average \
         wave.\nTen steps on a new wave take it to {pretrained_10:.3}; the meta-learned \
         initialisations were trained for exactly\nthis and get {:.1}× lower.",
        if best_meta <= 0.3 { "met" } else { "NOT met" },
        sine_tasks::best_input_only_mse(),
        pretrained_10 / best_meta
    );
    if settings.quick {
        println!(
            "(--quick trains for a few seconds only; the full run's {} Reptile steps reach the target.)",
            100_000
        );
    }
    results.set("sine.target_met", best_meta <= 0.3);

    // Figures: the curves of the table, the training curves, a few adapted waves.
    let out = &settings.out;
    let mut plot = LinePlot::new("Few-shot sine waves: query MSE after k SGD steps")
        .x_label("inner SGD steps k")
        .y_label("query MSE (mean over test tasks)");
    for method in &methods {
        let points: Vec<(f64, f64)> = method
            .per_step
            .iter()
            .enumerate()
            .map(|(k, v)| (k as f64, meta::mean_with_ci95(v).0))
            .collect();
        plot = plot.line(method.name, &points);
    }
    plot = plot
        .dashed(
            "predict 0 (4.25)",
            &[
                (0.0, sine_tasks::zero_predictor_mse()),
                (10.0, sine_tasks::zero_predictor_mse()),
            ],
        )
        .dashed(
            "best input-only (3.01)",
            &[
                (0.0, sine_tasks::best_input_only_mse()),
                (10.0, sine_tasks::best_input_only_mse()),
            ],
        );
    save_plot(plot, &out.join("sine_mse_vs_steps.svg"))?;
    let training = LinePlot::new("Meta-training: validation MSE after 10 steps")
        .x_label("outer step")
        .y_label("query MSE after 10 steps")
        .log_y()
        .line("Reptile", &curve_points(&reptile_run.curve))
        .line("first-order MAML", &curve_points(&fomaml_run.curve));
    save_plot(training, &out.join("sine_meta_training.svg"))?;
    for (i, task) in test.iter().take(3).enumerate() {
        let plot = adapted_waves_plot(
            task,
            &mut reptile_run.model,
            &mut pretrained.model,
            inner_lr,
            i + 1,
        );
        save_plot(plot, &out.join(format!("sine_adapted_task{}.svg", i + 1)))?;
    }

    // The export: the meta-learned initialisation, with what a checker needs to reproduce the table.
    let path = out.join("sine_meta_init.safetensors");
    let layers = mlp_layers_text(&SINE_WIDTHS);
    let inner_lr_text = settings.inner_lr.to_string();
    let reptile_10_text = format!("{reptile_10:.4}");
    checkpoint::save_with_metadata(
        &mut reptile_run.model,
        &path,
        &[
            ("layers", &layers),
            ("inner_lr", &inner_lr_text),
            ("inner_steps", "10"),
            ("method", "Reptile"),
            ("support_points", "10"),
            (
                "task",
                "y = A sin(x + phase), A ~ U[0.1, 5], phase ~ U[0, pi], x ~ U[-5, 5]",
            ),
            ("test_mse_after_10_steps", &reptile_10_text),
        ],
    )?;
    println!(
        "wrote {} — Reptile's initialisation as nn.Sequential({}) with PyTorch's names \
         (0.weight, 0.bias, 2.weight, …)\n  and metadata layers, inner_lr, inner_steps",
        path.display(),
        layers
    );
    Ok(())
}

/// The MSE of a fixed function of x on a task's query points.
fn fixed_predictor_mse(task: &FewShotTask, predict: impl Fn(f64) -> f64) -> f32 {
    let n = task.query_x.len();
    let sum: f64 = task
        .query_x
        .data()
        .iter()
        .zip(task.query_y.data())
        .map(|(&x, &y)| (predict(f64::from(x)) - f64::from(y)).powi(2))
        .sum();
    (sum / n as f64) as f32
}

fn print_curve(run: &MetaRun) {
    let points: Vec<String> = run
        .curve
        .iter()
        .map(|(i, m)| format!("{i}: {m:.3}"))
        .collect();
    println!(
        "  validation MSE after 10 steps, by outer step: {}\n  trained in {:.1} s\n",
        points.join(", "),
        run.seconds
    );
}

fn curve_points(curve: &[(usize, f32)]) -> Vec<(f64, f64)> {
    curve
        .iter()
        .map(|&(i, m)| (i as f64, f64::from(m)))
        .collect()
}

fn save_plot(plot: LinePlot, path: &std::path::Path) -> Result<()> {
    plot.save(path)?;
    println!("wrote {}", path.display());
    Ok(())
}

/// One task's wave, its support points, and the predictions of the Reptile initialisation after 0,
/// 1 and 10 steps and of the pretrained network after 10 steps.
fn adapted_waves_plot(
    task: &FewShotTask,
    reptile_model: &mut Sequential,
    pretrained: &mut Sequential,
    inner_lr: f32,
    number: usize,
) -> LinePlot {
    let grid: Vec<f32> = (0..=200).map(|i| -5.0 + 10.0 * i as f32 / 200.0).collect();
    let grid_x = Tensor::from_vec(&[grid.len(), 1], grid.clone());
    let wave: Vec<(f64, f64)> = grid
        .iter()
        .map(|&x| (f64::from(x), f64::from(task.task.value(x))))
        .collect();
    let support: Vec<(f64, f64)> = task
        .support_x
        .data()
        .iter()
        .zip(task.support_y.data())
        .map(|(&x, &y)| (f64::from(x), f64::from(y)))
        .collect();
    let predictions = |model: &mut Sequential, steps: usize| {
        let theta = meta::parameter_values(model);
        meta::adapt(model, &task.support_x, &task.support_y, inner_lr, steps);
        let y = model.forward(&grid_x, Mode::Inference);
        meta::set_parameter_values(model, &theta);
        grid.iter()
            .zip(y.data())
            .map(|(&x, &y)| (f64::from(x), f64::from(y)))
            .collect::<Vec<_>>()
    };
    let SineTask { amplitude, phase } = task.task;
    LinePlot::new(&format!(
        "Test task {number}: A = {amplitude:.2}, φ = {phase:.2}, K = {SUPPORT_POINTS}"
    ))
    .x_label("x")
    .y_label("y")
    .line("true wave", &wave)
    .scatter("the 10 examples", &support)
    .dashed("Reptile, 0 steps", &predictions(reptile_model, 0))
    .line("Reptile, 1 step", &predictions(reptile_model, 1))
    .line("Reptile, 10 steps", &predictions(reptile_model, 10))
    .dashed("pretrained, 10 steps", &predictions(pretrained, 10))
}

// ---------------------------------------------------------------------------------------------
// 17.2 CartPole
// ---------------------------------------------------------------------------------------------

/// One seed of one learner, with its greedy score.
struct SeedResult {
    seed: u64,
    run: TrainingRun,
    greedy_mean: f32,
}

fn cartpole_section(settings: &Settings, results: &mut Results) -> Result<()> {
    println!(
        "CartPole (Barto, Sutton & Anderson 1983), written here with the classic constants: g = \
         {} m/s², cart {} kg,\npole {} kg with half-length {} m, push ±{} N, τ = {} s (explicit \
         Euler), failure beyond 12° or ±{} m,\nstart uniform in ±{}, reward 1 per step, episodes \
         cut at {} steps; solved when the mean return of the last\n100 episodes reaches {}.",
        cartpole::GRAVITY,
        cartpole::CART_MASS,
        cartpole::POLE_MASS,
        cartpole::POLE_HALF_LENGTH,
        cartpole::FORCE,
        cartpole::TAU,
        cartpole::POSITION_LIMIT,
        cartpole::START_SPREAD,
        cartpole::MAX_STEPS,
        cartpole::SOLVED_RETURN
    );
    // One step by hand: at rest, pushed right. temp = F/M = 100/11, θ̈ = −temp/(l(4/3 − m_p/M))
    // = −600/41, ẍ = temp + m_p·l·600/41/M = 4400/451.
    let mut env = CartPole::from_state([0.0; 4]);
    env.step(1);
    println!(
        "\nOne step by hand, from rest with the pole upright, pushing right: temp = F/M = 100/11, \
         θ̈ = −temp/(l·(4/3 − m_p/M))\n= −600/41 = {:.4} rad/s², ẍ = temp − m_p·l·θ̈/M = 4400/451 = \
         {:.4} m/s²; after τ: ẋ = {:.5}, θ̇ = {:.5} (the code: {:.5}, {:.5}).",
        -600.0 / 41.0,
        4400.0 / 451.0,
        0.02 * 4400.0 / 451.0,
        -0.02 * 600.0 / 41.0,
        env.state[1],
        env.state[3]
    );

    println!();
    note_load(results, "cartpole.load_average_at_start");
    let mut rng = Rng::new(settings.seed ^ 0xCA27);
    let random_returns = play_episodes(
        &mut CartPole::new(),
        RANDOM_EPISODES,
        &mut rng,
        &mut |_, rng| rng.below(2),
    );
    let random_mean = mean(&random_returns);
    println!(
        "\nThe random policy (push left or right with probability ½): mean return {random_mean:.1} \
         over {RANDOM_EPISODES} episodes."
    );
    results.set("cartpole.random_policy.mean_return", random_mean);
    results.set("cartpole.random_policy.episodes", RANDOM_EPISODES);

    let seeds: Vec<u64> = (0..settings.seeds as u64)
        .map(|i| settings.seed.wrapping_add(i))
        .collect();
    println!();
    let reinforce_config = ReinforceConfig {
        max_episodes: settings.reinforce_episodes,
        ..ReinforceConfig::default()
    };
    print!("{reinforce_config}");
    let mut reinforce_runs = Vec::new();
    for &seed in &seeds {
        let config = ReinforceConfig {
            seed,
            ..reinforce_config.clone()
        };
        let run = reinforce::train(&config, &mut CartPole::new(), &mut progress_line)?;
        reinforce_runs.push(finish_seed(seed, run));
    }
    println!();
    let dqn_config = DqnConfig {
        max_episodes: settings.dqn_episodes,
        ..DqnConfig::default()
    };
    print!("{dqn_config}");
    let mut dqn_runs = Vec::new();
    for &seed in &seeds {
        let config = DqnConfig {
            seed,
            ..dqn_config.clone()
        };
        let run = dqn::train(&config, &mut CartPole::new(), &mut progress_line)?;
        dqn_runs.push(finish_seed(seed, run));
    }

    let mut table = Table::new(&[
        "method",
        "seed",
        "episodes to solve",
        "environment steps",
        "wall time (s)",
        "mean of last 100",
        "greedy policy, mean of 100",
    ]);
    let mut target_met = false;
    for (name, key, runs, budget) in [
        (
            "REINFORCE + baseline",
            "reinforce",
            &reinforce_runs,
            settings.reinforce_episodes,
        ),
        ("DQN", "dqn", &dqn_runs, settings.dqn_episodes),
    ] {
        for r in runs.iter() {
            table.row(&[
                name.to_string(),
                r.seed.to_string(),
                r.run
                    .solved_at
                    .map_or(format!("not solved in {budget}"), |e| e.to_string()),
                r.run.log.total_steps().to_string(),
                format!("{:.1}", r.run.seconds),
                r.run
                    .log
                    .recent_mean(100)
                    .map_or("—".to_string(), |m| format!("{m:.1}")),
                format!("{:.1}", r.greedy_mean),
            ]);
        }
        let solved = runs.iter().filter(|r| r.run.solved_at.is_some()).count();
        let fast = runs
            .iter()
            .filter(|r| r.run.solved_at.is_some() && r.run.seconds < 120.0)
            .count();
        target_met |= fast >= 4;
        results.set(
            &format!("cartpole.{key}.seeds"),
            runs.iter().map(|r| r.seed as f64).collect::<Vec<f64>>(),
        );
        results.set(
            &format!("cartpole.{key}.episodes_to_solve"),
            runs.iter()
                .map(|r| r.run.solved_at.map_or(f64::NAN, |e| e as f64))
                .collect::<Vec<f64>>(),
        );
        results.set(
            &format!("cartpole.{key}.environment_steps"),
            runs.iter()
                .map(|r| r.run.log.total_steps() as f64)
                .collect::<Vec<f64>>(),
        );
        results.set(
            &format!("cartpole.{key}.wall_seconds"),
            runs.iter().map(|r| r.run.seconds).collect::<Vec<f64>>(),
        );
        results.set(
            &format!("cartpole.{key}.last_100_mean_return"),
            runs.iter()
                .map(|r| r.run.log.recent_mean(100).map_or(f64::NAN, f64::from))
                .collect::<Vec<f64>>(),
        );
        results.set(
            &format!("cartpole.{key}.greedy_mean_return"),
            runs.iter()
                .map(|r| f64::from(r.greedy_mean))
                .collect::<Vec<f64>>(),
        );
        results.set(&format!("cartpole.{key}.solved_seeds"), solved);
        results.set(&format!("cartpole.{key}.episode_budget"), budget);
    }
    println!(
        "\nEvery seed, failures included (wall time on this machine; the greedy policy acts by \
         argmax, no sampling,\nno exploration, on {GREEDY_EPISODES} fresh episodes):\n\n{table}"
    );
    println!(
        "Random policy: {random_mean:.1}. Target — one method solves in ≥ 4 of 5 seeds, each in \
         under 2 minutes: {}.",
        if target_met { "met" } else { "NOT met" }
    );
    if settings.quick {
        println!(
            "(--quick gives each learner one seed and a budget too small to solve; the full run \
             uses 5 seeds.)"
        );
    }
    results.set("cartpole.target_met", target_met);

    // Learning curves: the moving mean of every seed, and the random baseline.
    let out = &settings.out;
    for (name, file, runs) in [
        (
            "REINFORCE with a learned baseline",
            "cartpole_reinforce.svg",
            &reinforce_runs,
        ),
        ("DQN", "cartpole_dqn.svg", &dqn_runs),
    ] {
        let mut plot = LinePlot::new(&format!(
            "CartPole, {name}: mean return of the last 100 episodes"
        ))
        .x_label("episode")
        .y_label("return");
        let mut longest = 1usize;
        for r in runs.iter() {
            let window = 100.min(r.run.log.len()).max(1);
            let points: Vec<(f64, f64)> = r
                .run
                .log
                .moving_mean(window)
                .iter()
                .map(|&(e, m)| (e as f64, f64::from(m)))
                .collect();
            longest = longest.max(r.run.log.len());
            plot = plot.line(&format!("seed {}", r.seed), &points);
        }
        plot = plot
            .dashed("solved (475)", &[(1.0, 475.0), (longest as f64, 475.0)])
            .dashed(
                "random policy",
                &[
                    (1.0, f64::from(random_mean)),
                    (longest as f64, f64::from(random_mean)),
                ],
            );
        save_plot(plot, &out.join(file))?;
    }

    // Export the best greedy policy (highest greedy score; then solved first, in fewer episodes).
    let candidates = reinforce_runs
        .iter_mut()
        .map(|r| ("REINFORCE", r))
        .chain(dqn_runs.iter_mut().map(|r| ("DQN", r)));
    let (method, best) = candidates
        .max_by(|(_, a), (_, b)| {
            let key = |r: &SeedResult| {
                (
                    r.greedy_mean,
                    -(r.run.solved_at.unwrap_or(usize::MAX / 2) as f64),
                )
            };
            key(a)
                .partial_cmp(&key(b))
                .expect("greedy means are finite")
        })
        .expect("at least one seed");
    let widths = match method {
        "REINFORCE" => reinforce::policy_widths(&reinforce_config, 4, 2),
        _ => dqn_config.widths(4, 2),
    };
    let layers = mlp_layers_text(&widths);
    let path = out.join("cartpole_policy.safetensors");
    let seed_text = best.seed.to_string();
    let greedy_text = format!("{:.1}", best.greedy_mean);
    checkpoint::save_with_metadata(
        &mut best.run.policy,
        &path,
        &[
            ("layers", &layers),
            ("method", method),
            ("seed", &seed_text),
            ("greedy_mean_return", &greedy_text),
            ("input", "x, x_dot, theta, theta_dot (unscaled)"),
            (
                "output",
                "score of 0 = push left, 1 = push right; action = argmax",
            ),
        ],
    )?;
    println!(
        "wrote {} — the greedy policy of {method}, seed {} (mean return {:.1} over \
         {GREEDY_EPISODES} greedy episodes),\n  nn.Sequential({layers}) from (x, ẋ, θ, θ̇) to two \
         scores; action = argmax",
        path.display(),
        best.seed,
        best.greedy_mean
    );
    results.set("cartpole.exported.method", method);
    results.set("cartpole.exported.seed", best.seed as usize);
    results.set("cartpole.exported.greedy_mean_return", best.greedy_mean);
    Ok(())
}

/// Prints a line every 100 episodes of a learner.
fn progress_line(log: &dlfs::rl::EpisodeLog) {
    if log.len().is_multiple_of(100) {
        println!(
            "    episode {:>5}: mean return of the last 100 {:>6.1}, {} environment steps",
            log.len(),
            log.recent_mean(100).unwrap_or(f32::NAN),
            log.total_steps()
        );
    }
}

/// Scores a finished run's greedy policy and prints the seed's line.
fn finish_seed(seed: u64, mut run: TrainingRun) -> SeedResult {
    let mut rng = Rng::new(seed.wrapping_add(10_000));
    let policy = &mut run.policy;
    let greedy = play_episodes(
        &mut CartPole::new(),
        GREEDY_EPISODES,
        &mut rng,
        &mut |observation, _| greedy_action(policy, observation),
    );
    let greedy_mean = mean(&greedy);
    println!(
        "  seed {seed}: {} ({} environment steps) in {:.1} s; greedy policy: mean return \
         {greedy_mean:.1}",
        run.solved_at.map_or(
            format!("not solved in {} episodes", run.log.len()),
            |e| format!("solved at episode {e}")
        ),
        run.log.total_steps(),
        run.seconds
    );
    SeedResult {
        seed,
        run,
        greedy_mean,
    }
}

fn mean(values: &[f32]) -> f32 {
    (values.iter().map(|&v| f64::from(v)).sum::<f64>() / values.len().max(1) as f64) as f32
}

// ---------------------------------------------------------------------------------------------
// 17.3 AlphaZero on tic-tac-toe
// ---------------------------------------------------------------------------------------------

/// Wins, draws and losses of the agent.
#[derive(Clone, Copy, Debug, Default)]
struct Score {
    wins: usize,
    draws: usize,
    losses: usize,
}

fn tictactoe_section(settings: &Settings, results: &mut Results) -> Result<()> {
    // Random play, exactly and simulated.
    let odds = tictactoe::random_play_odds();
    let d = odds.denominator as f64;
    println!(
        "Random against random, exactly: every one of the {} possible games has probability \
         (9 − L)!/9! (L moves),\nso 9!·P(result) is a sum of integers: X wins {}/{}, O wins {}/{}, \
         draw {}/{} —\nX {:.2} %, O {:.2} %, draw {:.2} % (the issue: 58.5 / 28.8 / 12.7).",
        odds.games,
        odds.x_wins,
        odds.denominator,
        odds.o_wins,
        odds.denominator,
        odds.draws,
        odds.denominator,
        100.0 * odds.x_wins as f64 / d,
        100.0 * odds.o_wins as f64 / d,
        100.0 * odds.draws as f64 / d
    );
    let mut rng = Rng::new(settings.seed ^ 0x7777);
    let mut simulated = [0usize; 3];
    for _ in 0..RANDOM_GAMES {
        let end = play_game(
            &mut |s: &TicTacToe, rng: &mut Rng| random_move(s, rng),
            &mut rng,
        );
        simulated[match end.winner() {
            Some(Square::X) => 0,
            Some(_) => 1,
            None => 2,
        }] += 1;
    }
    let share = |n: usize| n as f64 / RANDOM_GAMES as f64;
    println!(
        "Simulated, {RANDOM_GAMES} games: X {:.2} %, O {:.2} %, draw {:.2} %.",
        100.0 * share(simulated[0]),
        100.0 * share(simulated[1]),
        100.0 * share(simulated[2])
    );
    results.set(
        "tictactoe.random_vs_random.x_win_fraction_exact",
        odds.x_wins as f64 / d,
    );
    results.set(
        "tictactoe.random_vs_random.o_win_fraction_exact",
        odds.o_wins as f64 / d,
    );
    results.set(
        "tictactoe.random_vs_random.draw_fraction_exact",
        odds.draws as f64 / d,
    );
    results.set(
        "tictactoe.random_vs_random.x_win_fraction_simulated",
        share(simulated[0]),
    );
    results.set(
        "tictactoe.random_vs_random.o_win_fraction_simulated",
        share(simulated[1]),
    );
    results.set(
        "tictactoe.random_vs_random.draw_fraction_simulated",
        share(simulated[2]),
    );

    let positions: Vec<TicTacToe> = tictactoe::reachable_positions()
        .into_iter()
        .filter(|p| !p.is_over())
        .collect();
    let mut solver = Minimax::new();
    let start_value = solver.value(&TicTacToe::start());
    println!(
        "\nMinimax over the whole tree: {} positions reachable ({} with the game still going); \
         the empty board's value is {start_value}\n(a draw with perfect play). It is the perfect \
         opponent below, and the judge of the value head.\n",
        tictactoe::reachable_positions().len(),
        positions.len()
    );

    // Training.
    note_load(results, "tictactoe.load_average_at_start");
    let config = AlphaZeroConfig {
        seed: settings.seed,
        iterations: settings.az_iterations,
        games_per_iteration: settings.az_games,
        simulations: settings.az_simulations,
        evaluation_simulations: settings.az_simulations,
        ..AlphaZeroConfig::default()
    };
    print!("{config}");
    let mut widths = vec![TicTacToe::FEATURES];
    widths.extend(&config.hidden);
    widths.push(TicTacToe::MOVES + 1);
    println!(
        "  network: {} (9 policy scores and 1 value)",
        mlp_layers_text(&widths)
    );
    let mut run = alphazero::train::<TicTacToe>(&config, &mut |round| {
        println!(
            "  round {:>3}: self-play X {:>2} / O {:>2} / draw {:>2}, {:>6} examples, policy loss \
             {:.3}, value loss {:.3}, {:.1} s",
            round.iteration,
            round.results[0],
            round.results[1],
            round.results[2],
            round.examples,
            round.policy_loss,
            round.value_loss,
            round.seconds
        );
    })?;
    println!(
        "Trained on {} self-play games in {:.1} s.",
        config.iterations * config.games_per_iteration,
        run.seconds
    );
    results.set("tictactoe.train_seconds", run.seconds);
    results.set(
        "tictactoe.self_play_games",
        config.iterations * config.games_per_iteration,
    );

    if let Some(game) = &run.last_game {
        println!("\nThe last self-play game (with root noise and sampled moves):");
        let boards: Vec<String> = game.positions.iter().map(|p| p.to_string()).collect();
        println!("  {}", boards.join(" → "));
    }
    println!(
        "\nWhat the network says (priors from its policy head, value for the player to move) and what a search of {} simulations makes of it:",
        config.evaluation_simulations
    );
    for text in [".........", "....X....", "XX..O....", "X.O.X...."] {
        let board = TicTacToe::parse(text)?;
        let (priors, value) = run.net.predict(&board);
        let mut search = Mcts::new(config.evaluation_search());
        let visits = search.search(&board, &mut run.net, &mut Rng::new(0));
        println!(
            "\n  {text} ({} to move), value {value:+.2}, minimax {:+}\n{}",
            if board.mark_to_move() == Square::X {
                "X"
            } else {
                "O"
            },
            solver.value(&board),
            board_with_numbers(&board, &priors, &visits)
        );
    }

    // The agent's move in every position, as it plays in evaluation; the export.
    let table_started = Instant::now();
    let mut policy: HashMap<TicTacToe, usize> = HashMap::new();
    let mut lines = String::new();
    let mut optimal = 0;
    let mut evaluator = CachedEvaluator::new(&mut run.net);
    for p in &positions {
        let mv = alphazero::best_move(&mut evaluator, p, &config);
        if solver.best_moves(p).contains(&mv) {
            optimal += 1;
        }
        policy.insert(*p, mv);
        lines.push_str(&format!("{p} {mv}\n"));
    }
    let path = settings.out.join("tictactoe_policy.txt");
    write_atomic(&path, lines.as_bytes())?;
    println!(
        "\nwrote {} — the agent's move ({} simulations, no noise, most visited) in each of the \
         {} reachable positions\n  where the game is not over, for whichever side is to move; \
         {:.1} s. {} of them ({:.1} %) are minimax-optimal moves.",
        path.display(),
        config.evaluation_simulations,
        positions.len(),
        table_started.elapsed().as_secs_f64(),
        optimal,
        100.0 * optimal as f64 / positions.len() as f64
    );
    results.set("tictactoe.positions_exported", positions.len());
    results.set(
        "tictactoe.optimal_move_fraction",
        optimal as f64 / positions.len() as f64,
    );

    // Matches. The table holds exactly the moves the agent's search plays (it is deterministic).
    let agent = |s: &TicTacToe, _: &mut Rng| policy[s];
    let mut scores = Vec::new();
    for (opponent, games) in [("random", GAMES_VS_RANDOM), ("minimax", GAMES_VS_MINIMAX)] {
        for side in [Square::X, Square::O] {
            let mut score = Score::default();
            for _ in 0..games {
                let mut player = |s: &TicTacToe, rng: &mut Rng| {
                    if s.mark_to_move() == side {
                        agent(s, rng)
                    } else if opponent == "random" {
                        random_move(s, rng)
                    } else {
                        let best = solver.best_moves(s);
                        best[rng.below(best.len())]
                    }
                };
                let end = play_game(&mut player, &mut rng);
                match end.winner() {
                    Some(w) if w == side => score.wins += 1,
                    Some(_) => score.losses += 1,
                    None => score.draws += 1,
                }
            }
            scores.push((opponent, side, games, score));
        }
    }
    let mut table = Table::new(&["agent plays", "against", "games", "won", "drawn", "lost"]);
    let mut no_losses = true;
    for (opponent, side, games, score) in &scores {
        let side_name = if *side == Square::X { "X" } else { "O" };
        table.row(&[
            side_name.to_string(),
            opponent.to_string(),
            games.to_string(),
            score.wins.to_string(),
            score.draws.to_string(),
            score.losses.to_string(),
        ]);
        let key = format!("tictactoe.agent_{}_vs_{opponent}", side_name.to_lowercase());
        results.set(&format!("{key}.games"), *games);
        results.set(&format!("{key}.wins"), score.wins);
        results.set(&format!("{key}.draws"), score.draws);
        results.set(&format!("{key}.losses"), score.losses);
        no_losses &= score.losses == 0 && (*opponent == "random" || score.draws == *games);
    }
    println!("\nMatches (the minimax player picks at random among its optimal moves):\n\n{table}");
    let mut table_policy = |s: &TicTacToe| policy[s];
    let as_x = minimax::guaranteed_result(&TicTacToe::start(), 0, &mut table_policy);
    let as_o = minimax::guaranteed_result(&TicTacToe::start(), 1, &mut table_policy);
    let word = |r: i8| match r {
        1 => "always wins",
        0 => "never loses",
        _ => "can be beaten",
    };
    println!(
        "Against every possible opponent (all replies tried, the agent's moves fixed): as X it {}, \
         as O it {}.",
        word(as_x),
        word(as_o)
    );
    results.set("tictactoe.guaranteed_result_as_x", i64::from(as_x));
    results.set("tictactoe.guaranteed_result_as_o", i64::from(as_o));

    // The value head against minimax.
    let (mut decisive, mut agree, mut three_way) = (0usize, 0usize, 0usize);
    for p in &positions {
        let truth = solver.value(p);
        let (_, v) = run.net.predict(p);
        if truth != 0 {
            decisive += 1;
            if (v > 0.0) == (truth > 0) {
                agree += 1;
            }
        }
        let rounded = if v > 0.5 {
            1
        } else if v < -0.5 {
            -1
        } else {
            0
        };
        if rounded == truth {
            three_way += 1;
        }
    }
    println!(
        "The value head's sign agrees with minimax in {agree} of the {decisive} reachable \
         positions that are won or lost ({:.1} %);\nrounded to −1/0/+1 (thresholds ±½) it equals \
         the minimax value in {three_way} of all {} non-terminal positions ({:.1} %).",
        100.0 * agree as f64 / decisive as f64,
        positions.len(),
        100.0 * three_way as f64 / positions.len() as f64
    );
    results.set(
        "tictactoe.value_sign_agreement_fraction",
        agree as f64 / decisive as f64,
    );
    results.set("tictactoe.value_sign_agreement_positions", decisive);
    results.set(
        "tictactoe.value_rounded_agreement_fraction",
        three_way as f64 / positions.len() as f64,
    );
    let target = no_losses && as_x >= 0 && as_o >= 0 && run.seconds <= 120.0;
    println!(
        "Target — at most 2 minutes of training, no game lost against random, every game against \
         perfect play drawn, from both sides: {}.",
        if target { "met" } else { "NOT met" }
    );
    if settings.quick {
        println!("(--quick trains for a few rounds only; the full run trains 30.)");
    }
    results.set("tictactoe.target_met", target);

    let policy_curve: Vec<f32> = run.rounds.iter().map(|r| r.policy_loss).collect();
    let value_curve: Vec<f32> = run.rounds.iter().map(|r| r.value_loss).collect();
    let plot = LinePlot::new("AlphaZero on tic-tac-toe: training loss per round")
        .x_label("round")
        .y_label("loss")
        .line_y("policy (cross-entropy against the search)", &policy_curve)
        .line_y("value (squared error against the result)", &value_curve);
    save_plot(plot, &settings.out.join("tictactoe_training.svg"))?;
    Ok(())
}

/// Plays one game from the empty board, `player` choosing every move; returns the final position.
fn play_game(player: &mut dyn FnMut(&TicTacToe, &mut Rng) -> usize, rng: &mut Rng) -> TicTacToe {
    let mut board = TicTacToe::start();
    while !board.is_over() {
        let mv = player(&board, rng);
        board = board.play(mv);
    }
    board
}

fn random_move(board: &TicTacToe, rng: &mut Rng) -> usize {
    let moves = board.legal_moves();
    moves[rng.below(moves.len())]
}

/// The board with, on every empty square, the prior (in %) and the search's visits.
fn board_with_numbers(board: &TicTacToe, priors: &[f32], visits: &[u32]) -> String {
    let text = board.to_string();
    let cells: Vec<String> = text
        .chars()
        .enumerate()
        .map(|(i, c)| {
            if c == '.' {
                format!("{:>3.0}%/{:<3}", 100.0 * priors[i], visits[i])
            } else {
                format!("   {c}    ")
            }
        })
        .collect();
    cells
        .chunks(3)
        .map(|row| format!("    {}", row.join(" | ")))
        .collect::<Vec<_>>()
        .join("\n")
}

// ---------------------------------------------------------------------------------------------
// 17.4 How to keep learning
// ---------------------------------------------------------------------------------------------

fn keep_learning() {
    println!(
        "The tutorial ends with advice on how to keep up with a field that moves this fast. In \
         short:\n\n\
         - Journals and conferences: NeurIPS, ICML and ICLR (machine learning), CVPR/ICCV/ECCV \
         (vision), ACL/EMNLP (language);\n  JMLR and TMLR; preprints on arXiv (cs.LG, cs.CV, \
         cs.CL), most with code.\n\
         - Researchers' and labs' blogs: distill.pub (archived, still the clearest explanations), \
         Lilian Weng's\n  \"Lil'Log\", Andrej Karpathy's blog and videos, the OpenAI, DeepMind \
         and Google Research blogs.\n\
         - Communities: GitHub (read the code of a paper you like), the PyTorch forums, Hugging \
         Face, Kaggle\n  competitions (real data, shared notebooks), reading groups.\n\
         - Online courses: CS231n (vision; its assignments are this crate's model for \
         gradient checks),\n  CS224n (language), fast.ai (practical), David Silver's RL course \
         and Sutton & Barto's book (RL),\n  Karpathy's \"Neural Networks: Zero to Hero\" \
         (nanoGPT, micrograd).\n\
         - Reading papers: first the abstract, figures and conclusion; then the method; then \
         re-implement the\n  smallest experiment. A result you reproduced yourself is worth ten \
         you read about.\n\n\
         What to read next in this book, chapter by chapter:\n"
    );
    let mut table = Table::new(&["chapter", "to go further, read"]);
    for (chapter, next) in [
        (
            "1–4 foundations",
            "src/linalg/gemm/ (how a fast matrix product is built), src/calculus/autodiff.rs",
        ),
        (
            "5–7 first networks",
            "src/nn/linear.rs and src/nn/sequential.rs, then src/train/",
        ),
        (
            "8 CNN",
            "src/nn/im2col.rs and src/nn/conv.rs; chapter 12 uses them at scale",
        ),
        (
            "9 RNN",
            "src/nn/lstm.rs (backpropagation through time derived in its docs)",
        ),
        (
            "10–11 losses, optimizers",
            "src/loss/ and src/optim/ (PyTorch's update rules, written out)",
        ),
        (
            "12–14 projects",
            "the real datasets (datasets/README.md), then change one thing at a time",
        ),
        (
            "15 GPU",
            "src/gpu/ (the driver API and PTX kernels by hand)",
        ),
        (
            "17 meta-learning",
            "src/meta/ (Reptile, first-order MAML), then the MAML and Reptile papers",
        ),
        (
            "17 reinforcement learning",
            "src/rl/ (CartPole, REINFORCE, DQN, MCTS, AlphaZero), Sutton & Barto",
        ),
    ] {
        table.row(&[chapter, next]);
    }
    println!("{table}");
}

fn main() {
    app::main_for(command(), run);
}
