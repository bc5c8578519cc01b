//! Chapter 17 exercises: the small formulas at the heart of policy gradients, tree search and
//! meta-learning. Check them with `cargo test --features exercises --test exercises -- ch17`.

// The stubs do not use their parameters until you write them.
#![allow(unused_variables)]

/// **Exercise 17.1 — discounted returns**, what REINFORCE credits each action with.
///
/// - `rewards`: r₀ … r_{T−1}, the rewards of one episode; `gamma`: the discount γ (0 ≤ γ ≤ 1).
/// - returns `G₀ … G_{T−1}` (T values) with `Gₜ = rₜ + γ·rₜ₊₁ + γ²·rₜ₊₂ + …`, which is
///   `Gₜ = rₜ + γ·Gₜ₊₁` with nothing after the last step.
///
/// Example: rewards [1, 1, 1], γ = 0.5 → [1.75, 1.5, 1].
///
/// Hint: one pass, **backwards** from the last step, carrying the running return. (A forward pass
/// would credit an action with rewards that came before it.)
///
/// Reference, once yours passes: `src/rl/returns.rs` (`discounted_returns`).
pub fn discounted_returns(rewards: &[f32], gamma: f32) -> Vec<f32> {
    todo!("exercise 17.1: discounted_returns — see the doc comment")
}

/// **Exercise 17.2 — the REINFORCE gradient** for a softmax policy, at its scores.
///
/// - `logits`: z, the policy's K scores in one state; `action`: a, the action taken (in `0..K`);
///   `advantage`: A, how much better than expected the outcome was.
/// - returns `∂L/∂z` (K values) for the loss `L = −A·log π(a)`, `π = softmax(z)`:
///   `∂L/∂zₖ = A·(πₖ − [k = a])`.
///
/// Why: `log π(a) = z_a − log Σⱼ e^{zⱼ}`, whose derivative by zₖ is `[k = a] − πₖ`. Minimising L
/// with gradient descent therefore raises the taken action's score when A > 0 and lowers it when
/// A < 0 — "do more of what worked better than expected".
///
/// Example: z = [0, 0], a = 1, A = 1 → π = [½, ½], gradient [0.5, −0.5].
///
/// Hint: compute the softmax stably (subtract the largest score first, as in exercise 6.4); the
/// check uses scores around 1000.
///
/// Reference, once yours passes: `src/rl/reinforce.rs` (`logit_gradient`).
pub fn reinforce_logit_gradient(logits: &[f32], action: usize, advantage: f32) -> Vec<f32> {
    todo!("exercise 17.2: reinforce_logit_gradient — see the doc comment")
}

/// **Exercise 17.3 — the PUCT score** that tells Monte-Carlo tree search which move to try next.
///
/// - `q`: Q(s, a), the mean value of the simulations through the move so far (0 if none);
///   `prior`: P(s, a), the network's probability for the move; `parent_visits`: N(s), the visits
///   of the position; `move_visits`: n = N(s, a), the visits of the move; `c_puct`: the weight of
///   exploration.
/// - returns `U = Q + c_puct · P · √N / (1 + n)`.
///
/// The first term exploits what the search has found; the second explores moves the network likes
/// but the search has tried little. It shrinks as the move is tried (n grows) and grows slowly as
/// the position is visited (√N), so every move with a prior is eventually tried.
///
/// Example: q = 0.5, P = 0.2, N = 16, n = 3, c_puct = 1.5 → 0.5 + 1.5·0.2·4/4 = 0.8.
///
/// Hint: the square root is over the parent's visits only; the 1 in `1 + n` keeps an unvisited
/// move's score finite.
///
/// Reference, once yours passes: `src/rl/mcts.rs` (`puct_score`).
pub fn puct_score(q: f32, prior: f32, parent_visits: u32, move_visits: u32, c_puct: f32) -> f32 {
    todo!("exercise 17.3: puct_score — see the doc comment")
}

/// **Exercise 17.4 — one outer step of Reptile**, in place.
///
/// - `theta`: θ, the current initialisation (updated in place); `gradient`: returns ∂L/∂φ of the
///   task's loss at any parameters φ (same length as θ); `inner_lr`: α; `inner_steps`: k;
///   `outer_lr`: ε.
/// - does:
///   ```text
///   φ ← θ                                   (a copy)
///   repeat k times:  φ ← φ − α·gradient(φ)  (plain SGD on the task)
///   θ ← θ + ε·(φ − θ)                       (move part of the way to the adapted weights)
///   ```
///
/// With k = 1 this is one SGD step scaled by ε; with more inner steps φ − θ also carries how the
/// gradient changes along the way, which is what makes the initialisation quick to adapt.
///
/// Hint: call `gradient(&phi)` at the *current* φ in every inner step, not at θ.
///
/// Reference, once yours passes: `src/meta/reptile.rs` (`train` and `interpolate`).
pub fn reptile_outer_step(
    theta: &mut [f32],
    gradient: &dyn Fn(&[f32]) -> Vec<f32>,
    inner_lr: f32,
    inner_steps: usize,
    outer_lr: f32,
) {
    todo!("exercise 17.4: reptile_outer_step — see the doc comment")
}
