//! Chapter 3 (微积分基础, calculus): derivatives three ways — symbolic, numeric and automatic.
//!
//! - [`Expr`] ([`expr`], [`diff`], [`simplify`]): a small computer-algebra type. It differentiates,
//!   simplifies and prints, so that d/dx `x**2` prints `2*x`, as the tutorial's sympy does.
//! - [`numeric`]: forward and central differences, and why the step size matters (truncation error
//!   against rounding error).
//! - [`autodiff`]: scalar reverse-mode automatic differentiation (a micrograd-style graph) — the idea
//!   behind every deep-learning framework's `backward()`.
//! - [`descent`]: gradient descent on a function of a few variables, recording its path.
//!
//! What it leaves out: integration, limits, series, matrix calculus (layers spell out their own
//! backward formulas in [`crate::nn`]), and a general-purpose simplifier: [`simplify`] knows the rules
//! that make derivatives readable, not every identity.
//!
//! This is a leaf module: it depends on nothing else in the crate.

pub mod autodiff;
pub mod descent;
pub mod diff;
pub mod expr;
pub mod numeric;
pub mod simplify;

pub use autodiff::{Graph, Value};
pub use expr::Expr;
