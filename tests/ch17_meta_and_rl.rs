//! Chapter 17 (meta-learning and reinforcement learning): the environments, the learners' pieces,
//! the search, and the chapter binary — small shapes, few steps.
//!
//! - CartPole follows the classic equations: steps checked against values worked out by hand
//!   (exact fractions) and against the open-source version's formulas evaluated separately;
//!   failure at 12° and 2.4 m, truncation at 500 steps, the start state within ±0.05.
//! - Discounted returns, the REINFORCE gradient at the scores (against finite differences), the
//!   replay ring, DQN's targets (no bootstrap from a terminal state), the episode log.
//! - Tic-tac-toe: 5,478 reachable positions, the exact random-play odds, symmetries, minimax, the
//!   worst-case grader; MCTS finds a win and a block; the PUCT formula; Dirichlet noise; the
//!   AlphaZero loss against finite differences.
//! - Sine tasks: the derived best predictors against Monte Carlo; adaptation lowers the loss;
//!   Reptile's outer step; a short Reptile run beats the random initialisation.
//! - Short learner runs are deterministic and bit-identical for 1 and 2 threads.
//! - The chapter rejects bad flags (exit status 2), runs end to end with tiny settings, and its
//!   three exports load back.

use dlfs::check::{GradCheckConfig, gradcheck};
use dlfs::data::sine_tasks::{self, SineTask};
use dlfs::meta::{self, reptile};
use dlfs::nn::{Layer, mlp, mlp_layers_text};
use dlfs::probability::Rng;
use dlfs::rl::alphazero::{self, AlphaZeroConfig, policy_value_loss};
use dlfs::rl::dqn::{self, DqnConfig, td_targets};
use dlfs::rl::mcts::{self, Evaluator, Mcts, SearchConfig, puct_score};
use dlfs::rl::reinforce::{self, ReinforceConfig, logit_gradient};
use dlfs::rl::replay::{ReplayBatch, ReplayBuffer};
use dlfs::rl::returns::discounted_returns;
use dlfs::rl::tictactoe::{self, Square};
use dlfs::rl::{
    CartPole, Environment, EpisodeLog, Game, Minimax, TicTacToe, cartpole, minimax, play_episodes,
};
use dlfs::tensor::Tensor;
use dlfs::{app, checkpoint, parallel};
use std::path::PathBuf;
use std::sync::Mutex;

#[allow(dead_code)]
#[path = "../chapters/ch17_meta_and_rl.rs"]
mod ch17;

/// Tests that change the global thread count run one at a time.
static THREADS: Mutex<()> = Mutex::new(());

fn temp_folder(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("dlfs-ch17-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create a temporary folder");
    dir
}

fn close(a: f64, b: f64, tolerance: f64) -> bool {
    (a - b).abs() <= tolerance
}

// ---------------------------------------------------------------------------------------------
// CartPole
// ---------------------------------------------------------------------------------------------

#[test]
fn cartpole_first_step_from_rest_is_the_hand_computed_one() {
    // At rest, upright, pushed right (F = +10 N), M = 1.1 kg, m_p·l = 0.05:
    //   temp = F/M = 100/11
    //   θ̈ = (g·0 − 1·temp) / (0.5·(4/3 − 0.1/1.1)) = −(100/11)/(41/66) = −600/41
    //   ẍ = temp − 0.05·θ̈·1/1.1 = 100/11 + 300/451 = 4400/451
    // Euler: positions move with the old (zero) velocities, velocities with the accelerations.
    let (x_acc, theta_acc) = CartPole::accelerations([0.0; 4], 10.0);
    assert!(close(theta_acc, -600.0 / 41.0, 1e-12), "{theta_acc}");
    assert!(close(x_acc, 4400.0 / 451.0, 1e-12), "{x_acc}");
    let mut env = CartPole::from_state([0.0; 4]);
    let outcome = env.step(1);
    assert_eq!(outcome.reward, 1.0);
    assert!(!outcome.done());
    let expected = [0.0, 0.02 * 4400.0 / 451.0, 0.0, -0.02 * 600.0 / 41.0];
    for (got, want) in env.state.iter().zip(expected) {
        assert!(close(*got, want, 1e-12), "{:?} vs {expected:?}", env.state);
    }
    // Pushing left mirrors it.
    let mut left = CartPole::from_state([0.0; 4]);
    left.step(0);
    assert!(close(left.state[1], -expected[1], 1e-12) && close(left.state[3], -expected[3], 1e-12));
}

#[test]
fn cartpole_steps_match_the_classic_equations() {
    // From (0.01, −0.02, 0.03, 0.04) with actions 1, 0, 0, 1: the open-source CartPole-v1 step,
    // written out separately in Python (float64), gives these states after each step.
    let expected = [
        [
            0.009600000000000001,
            0.17467919574755525,
            0.030799999999999998,
            -0.2430687179600081,
        ],
        [
            0.013093583914951107,
            -0.020868848948191993,
            0.025938625640799837,
            0.0591679999394166,
        ],
        [
            0.012676206935987267,
            -0.21635292104612766,
            0.02712198563958817,
            0.3599205713784138,
        ],
        [
            0.008349148515064714,
            -0.021626799199488206,
            0.03432039706715644,
            0.0759116989474441,
        ],
    ];
    let mut env = CartPole::from_state([0.01, -0.02, 0.03, 0.04]);
    for (action, want) in [1, 0, 0, 1].into_iter().zip(expected) {
        env.step(action);
        for (got, want) in env.state.iter().zip(want) {
            assert!(
                close(*got, want, 1e-12),
                "after action {action}: {:?} vs {want:?}",
                env.state
            );
        }
    }
    let mut observation = [0.0f32; 4];
    env.observe(&mut observation);
    assert_eq!(observation[2], env.state[2] as f32);
}

#[test]
fn cartpole_fails_at_12_degrees_and_2_4_metres_and_stops_at_500_steps() {
    let twelve = 12.0f64.to_radians();
    // Leaning just inside the limit and falling further: the step that crosses it terminates.
    let mut env = CartPole::from_state([0.0, 0.0, twelve - 0.001, 1.0]);
    let outcome = env.step(1);
    assert!(outcome.terminated && !outcome.truncated && outcome.reward == 1.0);
    let mut env = CartPole::from_state([2.399, 1.0, 0.0, 0.0]);
    assert!(env.step(1).terminated);
    // A cart that never fails is cut after 500 steps: truncated, not terminated.
    let mut env = CartPole::new();
    env.reset(&mut Rng::new(3));
    let mut steps = 0;
    loop {
        // Keep the state inside the limits by hand to reach the cap.
        env.state = [0.0; 4];
        let outcome = env.step(steps % 2);
        steps += 1;
        if outcome.done() {
            assert!(outcome.truncated && !outcome.terminated);
            break;
        }
    }
    assert_eq!(steps, cartpole::MAX_STEPS);
    // Start states lie within ±0.05.
    let mut rng = Rng::new(9);
    for _ in 0..200 {
        env.reset(&mut rng);
        assert!(env.state.iter().all(|v| v.abs() <= 0.05), "{:?}", env.state);
    }
}

#[test]
#[should_panic(expected = "the episode is over")]
fn stepping_after_the_end_is_a_programming_error() {
    let mut env = CartPole::from_state([0.0, 0.0, 1.0, 0.0]);
    env.step(0);
    env.step(0);
}

#[test]
fn the_random_policy_scores_about_22() {
    let returns = play_episodes(
        &mut CartPole::new(),
        2000,
        &mut Rng::new(1),
        &mut |_, rng| rng.below(2),
    );
    let mean = returns.iter().sum::<f32>() / returns.len() as f32;
    assert!((19.0..25.0).contains(&mean), "{mean}");
    assert!(returns.iter().all(|&r| (8.0..=500.0).contains(&r)));
}

// ---------------------------------------------------------------------------------------------
// Learner pieces
// ---------------------------------------------------------------------------------------------

#[test]
fn discounted_returns_run_backwards() {
    let g = discounted_returns(&[1.0, 1.0, 1.0], 0.5);
    assert_eq!(g, vec![1.75, 1.5, 1.0]);
    let g = discounted_returns(&[0.0, 0.0, 4.0], 0.9);
    assert!(
        close(f64::from(g[0]), 0.81 * 4.0, 1e-6) && g[1] == 3.6 && g[2] == 4.0,
        "{g:?}"
    );
    assert!(discounted_returns(&[], 0.99).is_empty());
}

#[test]
fn the_reinforce_gradient_matches_finite_differences() {
    let logits = [0.3f32, -1.2, 2.0, 0.1];
    for (action, advantage) in [(0, 1.5f32), (2, -0.7), (3, 2.0)] {
        let analytic = logit_gradient(&logits, action, advantage);
        let mut x = logits.to_vec();
        let loss = |z: &[f32]| {
            // −A·log softmax(z)_a, in f64.
            let max = z.iter().cloned().fold(f32::MIN, f32::max) as f64;
            let sum: f64 = z.iter().map(|&v| (f64::from(v) - max).exp()).sum();
            -f64::from(advantage) * (f64::from(z[action]) - max - sum.ln())
        };
        let report = gradcheck(
            "reinforce",
            &[4],
            &mut x,
            &analytic,
            loss,
            &GradCheckConfig::default(),
        );
        assert!(report.passed, "{report:?}");
        // The gradient sums to zero (softmax minus a one-hot).
        assert!(analytic.iter().sum::<f32>().abs() < 1e-6);
    }
}

#[test]
fn the_replay_buffer_is_a_ring() {
    let mut buffer = ReplayBuffer::new(3, 2);
    for i in 0..5 {
        let v = i as f32;
        buffer.push(&[v, v], i % 2, v, &[v + 1.0, v + 1.0], i == 4);
    }
    assert_eq!(buffer.len(), 3);
    let mut batch = ReplayBatch::default();
    buffer.sample(200, &mut Rng::new(0), &mut batch);
    // Only transitions 2, 3, 4 remain; each next observation is the observation plus one.
    for i in 0..200 {
        let o = batch.observations[2 * i];
        assert!((2.0..=4.0).contains(&o), "{o}");
        assert_eq!(batch.next_observations[2 * i], o + 1.0);
        assert_eq!(batch.rewards[i], o);
        assert_eq!(batch.terminated[i], o == 4.0);
    }
    for kept in [2.0, 3.0, 4.0] {
        assert!(batch.observations.contains(&kept), "{kept} never sampled");
    }
}

#[test]
fn td_targets_do_not_bootstrap_from_terminal_states() {
    let next = Tensor::from_vec(&[2, 2], vec![1.0, 3.0, 5.0, -2.0]);
    let y = td_targets(&[1.0, 1.0], &[false, true], &next, 0.9);
    assert_eq!(y, vec![1.0 + 0.9 * 3.0, 1.0]);
}

#[test]
fn dqn_epsilon_decays_linearly_then_stays() {
    let config = DqnConfig::default();
    assert_eq!(config.epsilon(0), 1.0);
    assert!(close(f64::from(config.epsilon(5000)), 0.525, 1e-6));
    assert!(close(f64::from(config.epsilon(10_000)), 0.05, 1e-6));
    assert!(close(f64::from(config.epsilon(50_000)), 0.05, 1e-6));
}

#[test]
fn the_episode_log_finds_the_solving_episode() {
    let mut log = EpisodeLog::new();
    for i in 0..150 {
        log.push(if i < 60 { 100.0 } else { 500.0 }, 10);
    }
    assert_eq!(log.total_steps(), 1500);
    // The mean of 100 reaches 475 once at most 6 of the last 100 are 100s (50000 − 400k ≥ 47500):
    // the window ending at episode e holds 160 − e of them, so from episode 154. With 150
    // episodes the last 100 hold 10: 460.
    assert_eq!(log.recent_mean(100), Some(460.0));
    assert_eq!(log.solved_at(100, 475.0), None);
    for _ in 0..10 {
        log.push(500.0, 10);
    }
    assert_eq!(log.solved_at(100, 475.0), Some(154));
    assert!(log.is_solved(100, 475.0));
    assert_eq!(log.moving_mean(100).len(), 61);
}

#[test]
fn mlp_names_match_pytorch_sequential() {
    let mut model = mlp(&[4, 64, 64, 2], &mut Rng::new(0));
    let mut names = Vec::new();
    model.visit_params(&mut |name, p| names.push(format!("{name} {:?}", p.value.shape())));
    assert_eq!(
        names,
        [
            "0.weight [64, 4]",
            "0.bias [64]",
            "2.weight [64, 64]",
            "2.bias [64]",
            "4.weight [2, 64]",
            "4.bias [2]"
        ]
    );
    assert_eq!(
        mlp_layers_text(&[1, 40, 40, 1]),
        "Linear(1,40) ReLU Linear(40,40) ReLU Linear(40,1)"
    );
}

/// A short REINFORCE run and a short DQN run; their final weights.
fn short_runs() -> (Vec<f32>, Vec<f32>, EpisodeLog) {
    let config = ReinforceConfig {
        seed: 4,
        max_episodes: 60,
        ..ReinforceConfig::default()
    };
    let mut run = reinforce::train(&config, &mut CartPole::new(), &mut |_| {}).unwrap();
    let mut a = Vec::new();
    run.policy
        .visit_params(&mut |_, p| a.extend_from_slice(p.value.data()));
    // Batches of 128 make the hidden layer's products big enough to be split between threads.
    let config = DqnConfig {
        seed: 4,
        max_episodes: 60,
        learning_starts: 200,
        batch_size: 128,
        ..DqnConfig::default()
    };
    let mut run = dqn::train(&config, &mut CartPole::new(), &mut |_| {}).unwrap();
    let mut b = Vec::new();
    run.policy
        .visit_params(&mut |_, p| b.extend_from_slice(p.value.data()));
    (a, b, run.log)
}

#[test]
fn learners_are_bit_identical_for_1_and_2_threads() {
    let _guard = THREADS.lock().unwrap_or_else(|p| p.into_inner());
    parallel::set_num_threads(1);
    let one = short_runs();
    parallel::set_num_threads(2);
    let two = short_runs();
    parallel::set_num_threads(parallel::default_num_threads());
    assert!(one.0 == two.0, "REINFORCE differs between 1 and 2 threads");
    assert!(one.1 == two.1, "DQN differs between 1 and 2 threads");
    assert_eq!(one.2, two.2);
    assert_eq!(one.2.len(), 60);
}

#[test]
fn reinforce_learns_to_balance_longer() {
    let config = ReinforceConfig {
        seed: 0,
        max_episodes: 300,
        ..ReinforceConfig::default()
    };
    let run = reinforce::train(&config, &mut CartPole::new(), &mut |_| {}).unwrap();
    let first: f32 = run.log.returns[..100].iter().sum::<f32>() / 100.0;
    let last = run.log.recent_mean(100).unwrap();
    assert!(
        last > 2.0 * first && last > 60.0,
        "REINFORCE did not improve: first 100 episodes {first}, last 100 {last}"
    );
}

// ---------------------------------------------------------------------------------------------
// Tic-tac-toe, minimax, MCTS, AlphaZero
// ---------------------------------------------------------------------------------------------

#[test]
fn tictactoe_counts_and_exact_random_odds() {
    let positions = tictactoe::reachable_positions();
    assert_eq!(positions.len(), 5478);
    assert_eq!(positions.iter().filter(|p| !p.is_over()).count(), 4520);
    assert_eq!(positions[0], TicTacToe::start());
    let odds = tictactoe::random_play_odds();
    assert_eq!(odds.games, 255_168);
    assert_eq!(odds.denominator, 362_880);
    assert_eq!(
        (odds.x_wins, odds.o_wins, odds.draws),
        (212_256, 104_544, 46_080)
    );
    assert_eq!(odds.x_wins + odds.o_wins + odds.draws, odds.denominator);
}

#[test]
fn tictactoe_rules_text_and_symmetries() {
    let board = TicTacToe::parse("XX.OO....").unwrap();
    assert_eq!(board.to_string(), "XX.OO....");
    assert_eq!(board.to_move(), 0);
    assert_eq!(board.legal_moves(), vec![2, 5, 6, 7, 8]);
    let won = board.play(2);
    assert_eq!(won.winner(), Some(Square::X));
    assert_eq!(won.result(), Some(-1.0), "the player to move (O) has lost");
    assert!(won.legal_moves().is_empty());
    let full = TicTacToe::parse("XOXXOOOXX").unwrap();
    assert_eq!(full.result(), Some(0.0));
    for bad in ["XX", "XXXX.....", "XA.......", "OO......."] {
        let message = TicTacToe::parse(bad).unwrap_err().to_string();
        assert!(message.contains(bad), "{message}");
    }
    // Encoding is from the mover's side: own marks in the first nine values, the opponent's in
    // the last nine. X to move:
    let mut features = [0.0f32; 18];
    TicTacToe::parse("X...O....").unwrap().encode(&mut features);
    assert_eq!(
        (features[0], features[4], features[9], features[9 + 4]),
        (1.0, 0.0, 0.0, 1.0)
    );
    // O to move:
    let mut o_view = [0.0f32; 18];
    TicTacToe::parse("X...O...X").unwrap().encode(&mut o_view);
    assert_eq!((o_view[4], o_view[9], o_view[17]), (1.0, 1.0, 1.0));
    // Symmetries keep the result and carry the policy with the squares.
    let policy: Vec<f32> = (0..9).map(|i| i as f32).collect();
    let images = won.symmetries(&policy);
    assert_eq!(images.len(), 8);
    let distinct: std::collections::HashSet<String> =
        images.iter().map(|(b, _)| b.to_string()).collect();
    assert_eq!(distinct.len(), 8);
    for (image, moved) in &images {
        assert_eq!(image.winner(), Some(Square::X));
        for (square, &original) in image.squares.iter().zip(moved) {
            assert_eq!(*square, won.squares[original as usize]);
        }
    }
}

#[test]
fn minimax_knows_perfect_play() {
    let mut solver = Minimax::new();
    assert_eq!(solver.value(&TicTacToe::start()), 0);
    assert_eq!(solver.positions(), 5478);
    // X wins at once; O to move must block square 2.
    let board = TicTacToe::parse("XX.OO....").unwrap();
    assert_eq!(solver.value(&board), 1);
    assert_eq!(solver.best_moves(&board), vec![2]);
    let must_block = TicTacToe::parse("XX..O....").unwrap();
    assert_eq!(solver.best_moves(&must_block), vec![2]);
    // X (to move) must block O's diagonal at 6, which forks 0-3-6 and 6-7-8: a forced win.
    let fork = TicTacToe::parse("X.O.O...X").unwrap();
    assert_eq!(solver.value(&fork), 1);
    assert_eq!(solver.best_moves(&fork), vec![6]);
    // Graded against every opponent: perfect play never loses, "first empty square" can be beaten.
    let mut perfect = |s: &TicTacToe| Minimax::new().best_moves(s)[0];
    assert_eq!(
        minimax::guaranteed_result(&TicTacToe::start(), 0, &mut perfect),
        0
    );
    assert_eq!(
        minimax::guaranteed_result(&TicTacToe::start(), 1, &mut perfect),
        0
    );
    let mut first = |s: &TicTacToe| s.legal_moves()[0];
    assert_eq!(
        minimax::guaranteed_result(&TicTacToe::start(), 0, &mut first),
        -1
    );
}

/// Uniform priors and value 0: search alone.
struct Uniform;

impl Evaluator<TicTacToe> for Uniform {
    fn evaluate(&mut self, _state: &TicTacToe) -> (Vec<f32>, f32) {
        (vec![1.0 / 9.0; 9], 0.0)
    }
}

#[test]
fn mcts_finds_the_win_and_the_block() {
    let config = SearchConfig {
        simulations: 400,
        c_puct: 1.5,
        dirichlet_alpha: 1.0,
        noise_fraction: 0.0,
    };
    let mut rng = Rng::new(0);
    let win = TicTacToe::parse("XX.OO....").unwrap();
    let visits = Mcts::new(config.clone()).search(&win, &mut Uniform, &mut rng);
    assert_eq!(alphazero::most_visited(&visits), 2, "{visits:?}");
    assert_eq!(visits.iter().sum::<u32>(), 400);
    assert_eq!(
        visits[0] + visits[1] + visits[3] + visits[4],
        0,
        "occupied squares"
    );
    let block = TicTacToe::parse("XX..O....").unwrap();
    let visits = Mcts::new(config.clone()).search(&block, &mut Uniform, &mut rng);
    assert_eq!(alphazero::most_visited(&visits), 2, "{visits:?}");
    // Without noise the search is deterministic.
    let again = Mcts::new(config).search(&block, &mut Uniform, &mut Rng::new(99));
    assert_eq!(visits, again);
}

#[test]
fn the_puct_score_is_the_alphazero_formula() {
    // Q + c·P·√N/(1 + n)
    assert_eq!(
        puct_score(0.5, 0.2, 16, 3, 1.5),
        0.5 + 1.5 * 0.2 * 4.0 / 4.0
    );
    assert_eq!(puct_score(-0.1, 0.5, 1, 0, 2.0), -0.1 + 2.0 * 0.5);
    // More visits to a move lower its exploration bonus; more visits to the parent raise it.
    assert!(puct_score(0.0, 0.3, 10, 5, 1.0) < puct_score(0.0, 0.3, 10, 1, 1.0));
    assert!(puct_score(0.0, 0.3, 100, 1, 1.0) > puct_score(0.0, 0.3, 10, 1, 1.0));
}

#[test]
fn dirichlet_noise_is_a_distribution_with_the_right_mean() {
    let mut rng = Rng::new(5);
    let mut sums = [0.0f64; 4];
    for _ in 0..4000 {
        let d = mcts::dirichlet(0.3, 4, &mut rng);
        assert!(d.iter().all(|&v| (0.0..=1.0).contains(&v)));
        assert!((d.iter().sum::<f32>() - 1.0).abs() < 1e-5);
        for (s, v) in sums.iter_mut().zip(d) {
            *s += f64::from(v);
        }
    }
    for s in sums {
        assert!(close(s / 4000.0, 0.25, 0.02), "{sums:?}");
    }
    // Gamma(k) has mean k, for shapes below and above 1.
    for shape in [0.3, 2.5] {
        let mean = (0..20_000)
            .map(|_| mcts::gamma(shape, &mut rng))
            .sum::<f64>()
            / 20_000.0;
        assert!(
            close(mean, shape, 0.05 * shape.max(1.0)),
            "shape {shape}: {mean}"
        );
    }
}

#[test]
fn the_alphazero_loss_gradient_matches_finite_differences() {
    let n = 3;
    let mut output: Vec<f32> = (0..n * 10)
        .map(|i| ((i * 7 % 11) as f32 - 5.0) * 0.3)
        .collect();
    let mut policies = vec![0.0f32; n * 9];
    for i in 0..n {
        policies[i * 9 + i] = 0.5;
        policies[i * 9 + 8 - i] += 0.3;
        policies[i * 9 + 4] += 0.2;
    }
    let policies = Tensor::from_vec(&[n, 9], policies);
    let outcomes = [1.0f32, 0.0, -1.0];
    let loss = policy_value_loss(
        &Tensor::from_vec(&[n, 10], output.clone()),
        &policies,
        &outcomes,
    );
    assert!(loss.policy > 0.0 && loss.value > 0.0);
    let analytic = loss.grad.data().to_vec();
    let report = gradcheck(
        "policy_value_loss",
        &[n, 10],
        &mut output,
        &analytic,
        |x| {
            let l = policy_value_loss(
                &Tensor::from_vec(&[n, 10], x.to_vec()),
                &policies,
                &outcomes,
            );
            f64::from(l.policy) + f64::from(l.value)
        },
        &GradCheckConfig::default(),
    );
    assert!(report.passed, "{report:?}");
}

#[test]
fn a_short_alphazero_run_is_deterministic_and_plays_legal_moves() {
    let config = AlphaZeroConfig {
        seed: 3,
        iterations: 2,
        games_per_iteration: 4,
        simulations: 8,
        evaluation_simulations: 8,
        ..AlphaZeroConfig::default()
    };
    let mut a = alphazero::train::<TicTacToe>(&config, &mut |_| {}).unwrap();
    let b = alphazero::train::<TicTacToe>(&config, &mut |_| {}).unwrap();
    assert_eq!(a.rounds.len(), 2);
    for (x, y) in a.rounds.iter().zip(&b.rounds) {
        assert_eq!(
            (x.results, x.examples, x.policy_loss),
            (y.results, y.examples, y.policy_loss)
        );
    }
    // 4 games of 5–9 moves, each example stored under 8 symmetries.
    assert!(
        (4 * 5 * 8..=4 * 9 * 8).contains(&a.rounds[0].examples),
        "{:?}",
        a.rounds[0]
    );
    let game = a.last_game.as_ref().unwrap();
    assert!(game.positions.last().unwrap().is_over());
    for example in &game.examples {
        assert!((example.policy.iter().sum::<f32>() - 1.0).abs() < 1e-5);
    }
    for text in [".........", "XO.......", "XOX.O...."] {
        let board = TicTacToe::parse(text).unwrap();
        let mv = alphazero::best_move(&mut a.net, &board, &config);
        assert!(board.legal_moves().contains(&mv));
        let (priors, value) = a.net.predict(&board);
        assert!((priors.iter().sum::<f32>() - 1.0).abs() < 1e-5 && value.abs() <= 1.0);
        assert!(
            board
                .squares
                .iter()
                .zip(&priors)
                .all(|(s, &p)| *s == Square::Empty || p == 0.0)
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Meta-learning
// ---------------------------------------------------------------------------------------------

#[test]
fn the_derived_best_predictors_match_monte_carlo() {
    assert!(close(sine_tasks::zero_predictor_mse(), 4.2517, 1e-4));
    assert!(close(sine_tasks::best_input_only_mse(), 3.0057, 1e-4));
    let mut rng = Rng::new(11);
    let (mut zero, mut best) = (0.0f64, 0.0f64);
    let n = 400_000;
    for _ in 0..n {
        let task = SineTask::sample(&mut rng);
        let x = rng.uniform(-5.0, 5.0);
        let y = f64::from(task.value(x));
        zero += y * y;
        best += (y - sine_tasks::best_input_only_prediction(f64::from(x))).powi(2);
    }
    let (zero, best) = (zero / n as f64, best / n as f64);
    assert!(close(zero, 4.2517, 0.05), "{zero}");
    assert!(close(best, 3.0057, 0.05), "{best}");
    // Nothing of x alone does better than E[y | x]: a slightly scaled version is worse.
    let mut rng = Rng::new(12);
    let mut scaled = 0.0f64;
    for _ in 0..n {
        let task = SineTask::sample(&mut rng);
        let x = rng.uniform(-5.0, 5.0);
        let y = f64::from(task.value(x));
        scaled += (y - 1.2 * sine_tasks::best_input_only_prediction(f64::from(x))).powi(2);
    }
    assert!(scaled / n as f64 > best);
}

#[test]
fn tasks_are_seeded_and_in_range() {
    let a = sine_tasks::task_set(5, 10, 100, 7);
    let b = sine_tasks::task_set(5, 10, 100, 7);
    for (s, t) in a.iter().zip(&b) {
        assert_eq!(s.task, t.task);
        assert_eq!(s.query_y.data(), t.query_y.data());
        assert_eq!(s.support_x.shape(), [10, 1]);
        assert_eq!(s.query_x.shape(), [100, 1]);
        assert!((0.1..=5.0).contains(&s.task.amplitude));
        assert!((0.0..=std::f32::consts::PI).contains(&s.task.phase));
        assert!(s.query_x.data().iter().all(|x| x.abs() <= 5.0));
        assert!(
            s.query_x
                .data()
                .iter()
                .zip(s.query_y.data())
                .all(|(&x, &y)| y == s.task.value(x))
        );
    }
}

#[test]
fn adaptation_lowers_the_support_loss_and_evaluation_restores_the_weights() {
    let mut model = mlp(&[1, 40, 40, 1], &mut Rng::new(0));
    let task = SineTask {
        amplitude: 3.0,
        phase: 1.0,
    }
    .few_shot(10, 50, &mut Rng::new(1));
    let theta = meta::parameter_values(&mut model);
    let before = meta::mse_on(&mut model, &task.support_x, &task.support_y);
    meta::adapt(&mut model, &task.support_x, &task.support_y, 0.01, 20);
    let after = meta::mse_on(&mut model, &task.support_x, &task.support_y);
    assert!(after < before, "{before} → {after}");
    meta::set_parameter_values(&mut model, &theta);
    let results =
        meta::evaluate_adaptation(&mut model, std::slice::from_ref(&task), 0.01, &[0, 5, 20]);
    assert_eq!(results.len(), 3);
    assert_eq!(
        results[0][0],
        meta::mse_on(&mut model, &task.query_x, &task.query_y)
    );
    assert_eq!(
        meta::parameter_values(&mut model)[0].data(),
        theta[0].data()
    );
    let (mean, half) = meta::mean_with_ci95(&[1.0, 2.0, 3.0]);
    assert!(close(mean, 2.0, 1e-12) && close(half, 1.96 / 3.0f64.sqrt(), 1e-9));
}

#[test]
fn the_reptile_outer_step_interpolates() {
    let mut theta = vec![1.0f32, -2.0, 0.0];
    reptile::interpolate(&mut theta, &[3.0, -2.0, -1.0], 0.25);
    assert_eq!(theta, vec![1.5, -2.0, -0.25]);
}

#[test]
fn a_short_reptile_run_adapts_better_than_a_random_network() {
    let tasks = sine_tasks::task_set(40, 10, 50, 5);
    let config = reptile::ReptileConfig {
        iterations: 600,
        eval_every: 300,
        ..reptile::ReptileConfig::default()
    };
    let mut run = reptile::train(&config, &tasks[..10]).unwrap();
    assert_eq!(run.curve.len(), 3);
    let mut random = mlp(&[1, 40, 40, 1], &mut Rng::new(0));
    let mean10 = |model: &mut dyn Layer| {
        let r = meta::evaluate_adaptation(model, &tasks, 0.01, &[10]);
        r[0].iter().sum::<f32>() / r[0].len() as f32
    };
    let (learned, baseline) = (mean10(&mut run.model), mean10(&mut random));
    assert!(
        learned < 0.8 * baseline,
        "Reptile {learned} vs random {baseline}"
    );
}

#[test]
fn a_diverging_inner_loop_is_a_training_error() {
    let config = reptile::ReptileConfig {
        iterations: 50,
        inner_lr: 5.0,
        eval_every: 10,
        ..reptile::ReptileConfig::default()
    };
    let Err(error) = reptile::train(&config, &[]) else {
        panic!("an inner learning rate of 5 should diverge");
    };
    let error = error.to_string();
    assert!(error.contains("inner learning rate"), "{error}");
}

// ---------------------------------------------------------------------------------------------
// The chapter
// ---------------------------------------------------------------------------------------------

fn run_chapter(words: &[&str]) -> dlfs::Result<()> {
    let args = app::parse_for(ch17::command(), words)?;
    ch17::run(&args)
}

#[test]
fn the_chapter_rejects_bad_flags() {
    for words in [
        &["--section", "17.9"][..],
        &["--seeds", "0"],
        &["--inner-lr", "-0.1"],
        &["--inner-lr", "fast"],
        &["--az-simulations", "0"],
        &["--epochs", "3"],
    ] {
        let error = run_chapter(words).unwrap_err();
        assert_eq!(error.exit_code(), 2, "{words:?}: {error}");
    }
    let help = ch17::command().help_text();
    for flag in [
        "--section",
        "--seed",
        "--inner-lr",
        "--reptile-iterations",
        "--fomaml-iterations",
        "--test-tasks",
        "--seeds",
        "--reinforce-episodes",
        "--dqn-episodes",
        "--az-iterations",
        "--az-games",
        "--az-simulations",
        "--quick",
        "--out",
        "--resume",
    ] {
        assert!(help.contains(flag), "--help does not mention {flag}");
    }
}

#[test]
fn huge_counts_are_usage_errors_before_any_work() {
    // Each is refused by the flag checks, in well under a second, naming the flag: nothing is
    // allocated or trained first (a missed check would abort on the allocation or run for hours).
    let dir = temp_folder("huge");
    let out = dir.join("out");
    for (flag, value, expected) in [
        ("--test-tasks", "1000000000000", "would need"),
        ("--seeds", "1001", "at most 1000"),
        (
            "--reinforce-episodes",
            "18446744073709551615",
            "more memory",
        ),
        ("--dqn-episodes", "100000000000", "would need"),
        ("--az-games", "1000000000000", "would need"),
        ("--section", &"x".repeat(5000), "17.1, 17.2"),
    ] {
        let started = std::time::Instant::now();
        let error = run_chapter(&["--out", out.to_str().unwrap(), flag, value]).unwrap_err();
        let message = error.to_string();
        assert_eq!(error.exit_code(), 2, "{flag}: {message}");
        assert!(
            message.contains(flag) && message.contains(expected),
            "{flag}: {message}"
        );
        assert!(message.len() < 400, "{flag}: a long message: {message}");
        assert!(started.elapsed().as_secs_f64() < 2.0, "{flag} took long");
    }
    // Only the sections that run are checked: 17.3 alone does not look at 17.1's tasks... but the
    // output folder is checked before any section starts.
    let error = run_chapter(&[
        "--out",
        "/dev/null/not-a-folder",
        "--section",
        "17.3",
        "--test-tasks",
        "1000000000000",
    ])
    .unwrap_err();
    assert_eq!(error.exit_code(), 2, "{error}");
    assert!(error.to_string().contains("--out"), "{error}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_chapter_runs_and_its_exports_load_back() {
    let dir = temp_folder("chapter");
    let out = dir.join("out");
    let words = [
        "--quick",
        "--out",
        out.to_str().unwrap(),
        "--reptile-iterations",
        "100",
        "--fomaml-iterations",
        "10",
        "--test-tasks",
        "20",
        "--reinforce-episodes",
        "20",
        "--dqn-episodes",
        "20",
        "--az-iterations",
        "1",
        "--az-games",
        "4",
        "--az-simulations",
        "6",
    ];
    run_chapter(&words).unwrap();
    for file in [
        "sine_mse_vs_steps.svg",
        "sine_meta_training.svg",
        "sine_adapted_task1.svg",
        "cartpole_reinforce.svg",
        "cartpole_dqn.svg",
        "tictactoe_training.svg",
    ] {
        assert!(out.join(file).is_file(), "{file} was not written");
    }
    // 17.1: the initialisation loads into the network its metadata describes.
    let mut model = mlp(&[1, 40, 40, 1], &mut Rng::new(42));
    let metadata = checkpoint::load(&mut model, &out.join("sine_meta_init.safetensors")).unwrap();
    let get = |key: &str| {
        metadata
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
    };
    assert_eq!(
        get("layers").as_deref(),
        Some("Linear(1,40) ReLU Linear(40,40) ReLU Linear(40,1)")
    );
    assert_eq!(get("inner_lr").as_deref(), Some("0.01"));
    assert_eq!(get("inner_steps").as_deref(), Some("10"));
    // 17.2: the policy loads into a 4-64-64-2 MLP.
    let mut policy = mlp(&[4, 64, 64, 2], &mut Rng::new(42));
    let metadata = checkpoint::load(&mut policy, &out.join("cartpole_policy.safetensors")).unwrap();
    assert!(
        metadata
            .iter()
            .any(|(k, v)| k == "layers" && v.starts_with("Linear(4,64)"))
    );
    // 17.3: one legal move for every reachable non-terminal position, each once.
    let text = std::fs::read_to_string(out.join("tictactoe_policy.txt")).unwrap();
    let mut seen = std::collections::HashSet::new();
    for line in text.lines() {
        let (board, mv) = line.split_once(' ').expect("BOARD MOVE");
        let board = TicTacToe::parse(board).unwrap();
        let mv: usize = mv.parse().unwrap();
        assert!(
            !board.is_over() && board.legal_moves().contains(&mv),
            "{line}"
        );
        assert!(seen.insert(board), "{line} twice");
    }
    assert_eq!(seen.len(), 4520);
    // results.json holds the summary numbers under the documented keys.
    let json = std::fs::read_to_string(out.join("results.json")).unwrap();
    for key in [
        "\"zero_predictor_mse_derived\"",
        "\"mse_10_steps\"",
        "\"episodes_to_solve\"",
        "\"random_policy\"",
        "\"x_win_fraction_exact\"",
        "\"value_sign_agreement_fraction\"",
        "\"agent_o_vs_minimax\"",
        "\"total_seconds\"",
    ] {
        assert!(json.contains(key), "results.json lacks {key}");
    }
    // The explicit flags won over --quick's values (100 test tasks, 200 and 100 episodes).
    for setting in [
        "\"test_tasks\": 20",
        "\"episode_budget\": 20",
        "\"self_play_games\": 4",
    ] {
        assert!(json.contains(setting), "results.json lacks {setting}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
