//! CartPole: balance a pole on a cart by pushing the cart left or right (chapter 17.2).
//!
//! The classic control problem of Barto, Sutton & Anderson (1983), with the constants and the
//! equations of its common open-source version (OpenAI Gym's / Gymnasium's `CartPole-v1`):
//!
//! | constant | value |
//! |---|---|
//! | gravity g | 9.8 m/s² |
//! | cart mass m_c | 1.0 kg |
//! | pole mass m_p | 0.1 kg |
//! | pole half-length l | 0.5 m |
//! | push force F | ±10 N (action 0 pushes left, 1 pushes right) |
//! | time step τ | 0.02 s, explicit Euler |
//! | failure | \|θ\| > 12° or \|x\| > 2.4 m |
//! | start | each of x, ẋ, θ, θ̇ uniform in ±0.05 |
//! | reward | 1 for every step, the failing one included |
//! | episode cap | 500 steps (a *truncation*: the pole did not fall) |
//!
//! The state is (x, ẋ, θ, θ̇): cart position, cart velocity, pole angle from upright (radians,
//! positive leaning right), pole angular velocity. With M = m_c + m_p, the pole's angular
//! acceleration and the cart's acceleration are (the frictionless equations of the paper):
//!
//! ```text
//! temp = (F + m_p·l·θ̇²·sin θ) / M
//! θ̈    = (g·sin θ − cos θ·temp) / (l·(4/3 − m_p·cos²θ / M))
//! ẍ    = temp − m_p·l·θ̈·cos θ / M
//! ```
//!
//! and one step of explicit Euler updates every position with the *old* velocity:
//! `x ← x + τ·ẋ, ẋ ← ẋ + τ·ẍ, θ ← θ + τ·θ̇, θ̇ ← θ̇ + τ·θ̈`. The physics runs in f64 (as the Python
//! version does); observations are handed to networks as f32.
//!
//! The environment has no network in it and knows nothing of learning: an agent calls
//! [`Environment::reset`], then [`Environment::step`] until the episode ends.
//!
//! What it leaves out: rendering, the semi-implicit Euler variant, friction.

use super::{Environment, StepOutcome};
use crate::probability::Rng;

/// g, m/s².
pub const GRAVITY: f64 = 9.8;
/// The cart's mass m_c, kg.
pub const CART_MASS: f64 = 1.0;
/// The pole's mass m_p, kg.
pub const POLE_MASS: f64 = 0.1;
/// Half the pole's length l, m (the distance from the pivot to its centre of mass).
pub const POLE_HALF_LENGTH: f64 = 0.5;
/// The magnitude of the push, N.
pub const FORCE: f64 = 10.0;
/// The time step τ, s.
pub const TAU: f64 = 0.02;
/// The episode fails when |θ| exceeds this angle: 12°, in radians.
pub const ANGLE_LIMIT: f64 = 12.0 * 2.0 * std::f64::consts::PI / 360.0;
/// The episode fails when |x| exceeds this distance from the centre, m.
pub const POSITION_LIMIT: f64 = 2.4;
/// The start state: each variable uniform in ±this.
pub const START_SPREAD: f64 = 0.05;
/// Episodes are cut after this many steps (CartPole-v1).
pub const MAX_STEPS: usize = 500;
/// "Solved" (CartPole-v1): the mean return of the last 100 episodes reaches this.
pub const SOLVED_RETURN: f32 = 475.0;

/// The cart and the pole: the state (x, ẋ, θ, θ̇) and the number of steps taken in this episode.
#[derive(Clone, Debug, PartialEq)]
pub struct CartPole {
    /// (x, ẋ, θ, θ̇): m, m/s, rad, rad/s.
    pub state: [f64; 4],
    /// Steps taken since the last reset.
    pub steps: usize,
    /// True once the episode has ended (failed or truncated): `step` must not be called again
    /// before `reset`.
    pub done: bool,
}

impl Default for CartPole {
    fn default() -> CartPole {
        CartPole::new()
    }
}

impl CartPole {
    /// A cart at rest in the centre with the pole upright (call [`Environment::reset`] to start an
    /// episode from the random start state).
    pub fn new() -> CartPole {
        CartPole {
            state: [0.0; 4],
            steps: 0,
            done: false,
        }
    }

    /// A cart in the given state (x, ẋ, θ, θ̇), e.g. to check the equations by hand.
    pub fn from_state(state: [f64; 4]) -> CartPole {
        CartPole {
            state,
            steps: 0,
            done: false,
        }
    }

    /// The accelerations (ẍ, θ̈) under a push of `force` newtons (the module docs' equations).
    pub fn accelerations(state: [f64; 4], force: f64) -> (f64, f64) {
        let [_, _, theta, theta_dot] = state;
        let total_mass = CART_MASS + POLE_MASS;
        let (sin, cos) = theta.sin_cos();
        let temp =
            (force + POLE_MASS * POLE_HALF_LENGTH * theta_dot * theta_dot * sin) / total_mass;
        let theta_acc = (GRAVITY * sin - cos * temp)
            / (POLE_HALF_LENGTH * (4.0 / 3.0 - POLE_MASS * cos * cos / total_mass));
        let x_acc = temp - POLE_MASS * POLE_HALF_LENGTH * theta_acc * cos / total_mass;
        (x_acc, theta_acc)
    }

    /// True when the pole has fallen past 12° or the cart has left the track.
    pub fn has_failed(&self) -> bool {
        let [x, _, theta, _] = self.state;
        !(-POSITION_LIMIT..=POSITION_LIMIT).contains(&x)
            || !(-ANGLE_LIMIT..=ANGLE_LIMIT).contains(&theta)
    }
}

impl Environment for CartPole {
    fn observation_size(&self) -> usize {
        4
    }

    fn actions(&self) -> usize {
        2
    }

    fn reset(&mut self, rng: &mut Rng) {
        for v in &mut self.state {
            *v = (rng.next_f64() * 2.0 - 1.0) * START_SPREAD;
        }
        self.steps = 0;
        self.done = false;
    }

    fn observe(&self, observation: &mut [f32]) {
        assert_eq!(
            observation.len(),
            4,
            "CartPole::observe: the observation buffer must hold 4 values (x, ẋ, θ, θ̇), got {}",
            observation.len()
        );
        for (o, &s) in observation.iter_mut().zip(&self.state) {
            *o = s as f32;
        }
    }

    fn step(&mut self, action: usize) -> StepOutcome {
        assert!(
            action < 2,
            "CartPole::step: action {action} (0 pushes left, 1 pushes right)"
        );
        assert!(
            !self.done,
            "CartPole::step: the episode is over (call reset first)"
        );
        let force = if action == 1 { FORCE } else { -FORCE };
        let (x_acc, theta_acc) = CartPole::accelerations(self.state, force);
        let [x, x_dot, theta, theta_dot] = self.state;
        // Explicit Euler: positions move with the old velocities.
        self.state = [
            x + TAU * x_dot,
            x_dot + TAU * x_acc,
            theta + TAU * theta_dot,
            theta_dot + TAU * theta_acc,
        ];
        self.steps += 1;
        let terminated = self.has_failed();
        let truncated = !terminated && self.steps >= MAX_STEPS;
        self.done = terminated || truncated;
        StepOutcome {
            reward: 1.0,
            terminated,
            truncated,
        }
    }
}
