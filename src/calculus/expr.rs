//! `Expr`: a symbolic expression tree — the data type behind sympy's `symbols('x')`, `x**2`, `diff`.
//!
//! An expression is a tree whose leaves are constants and variables and whose inner nodes are the
//! operations +, −, ×, ÷, powers, negation and the functions exp, ln, sin, cos and tanh. This file
//! defines the tree, the ways to build it (`x.clone().pow(2) + y.clone().pow(2)`), its value at a
//! point ([`Expr::eval`]) and how it prints. Differentiation is in [`super::diff`], simplification in
//! [`super::simplify`].
//!
//! # Printing
//! Expressions print the way sympy prints them, so that chapter 3 can show the tutorial's output
//! exactly: `x**2 + y**2`, `2*x`, `-sin(x)`, `1/x`, `exp(x)`, and the natural logarithm as `log(x)`
//! (sympy's and numpy's name for it). Parentheses appear only where precedence needs them:
//! `(x + 1)**2`, `2*(x + 1)`, `x - (y - z)`, `x**(n - 1)`.
//!
//! What it leaves out: rational numbers (constants are `f64`, so `1/3` folds to `0.333…` only when a
//! simplification needs it — see [`super::simplify`]), complex numbers, and any function not listed.

use std::collections::BTreeSet;
use std::fmt;
use std::ops::{Add, Div, Mul, Neg, Sub};

/// A symbolic expression in real variables.
///
/// Build one from [`Expr::var`] and [`Expr::constant`] with the operators `+ - * /`, unary `-`,
/// [`Expr::pow`] and the function methods ([`Expr::exp`], [`Expr::ln`], …):
///
/// ```
/// use dlfs::calculus::Expr;
/// let x = Expr::var("x");
/// let f = x.clone().pow(2) + 3.0 * x;
/// assert_eq!(f.to_string(), "x**2 + 3*x");
/// assert_eq!(f.derivative("x").to_string(), "2*x + 3");
/// assert_eq!(f.eval(&[("x", 2.0)]), 10.0);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    /// A number.
    Const(f64),
    /// A named variable, e.g. `x`.
    Var(String),
    /// `a + b`
    Add(Box<Expr>, Box<Expr>),
    /// `a - b`
    Sub(Box<Expr>, Box<Expr>),
    /// `a * b`
    Mul(Box<Expr>, Box<Expr>),
    /// `a / b`
    Div(Box<Expr>, Box<Expr>),
    /// `a ** b` (a to the power b; for a non-integer b, defined for a > 0).
    Pow(Box<Expr>, Box<Expr>),
    /// `-a`
    Neg(Box<Expr>),
    /// `exp(a)`, e to the power a.
    Exp(Box<Expr>),
    /// The natural logarithm, printed `log(a)` as sympy does (defined for a > 0).
    Ln(Box<Expr>),
    /// `sin(a)`, a in radians.
    Sin(Box<Expr>),
    /// `cos(a)`, a in radians.
    Cos(Box<Expr>),
    /// `tanh(a)`, the hyperbolic tangent (an activation function in later chapters).
    Tanh(Box<Expr>),
}

impl Expr {
    /// The variable called `name`.
    pub fn var(name: &str) -> Expr {
        Expr::Var(name.to_string())
    }

    /// The number `value`.
    pub fn constant(value: f64) -> Expr {
        Expr::Const(value)
    }

    /// `self ** exponent` (e.g. `x.pow(2)`, or `x.pow(Expr::var("y"))`).
    pub fn pow(self, exponent: impl Into<Expr>) -> Expr {
        Expr::Pow(Box::new(self), Box::new(exponent.into()))
    }

    /// `exp(self)`.
    pub fn exp(self) -> Expr {
        Expr::Exp(Box::new(self))
    }

    /// The natural logarithm `ln(self)` (printed `log(self)`).
    pub fn ln(self) -> Expr {
        Expr::Ln(Box::new(self))
    }

    /// `sin(self)`.
    pub fn sin(self) -> Expr {
        Expr::Sin(Box::new(self))
    }

    /// `cos(self)`.
    pub fn cos(self) -> Expr {
        Expr::Cos(Box::new(self))
    }

    /// `tanh(self)`.
    pub fn tanh(self) -> Expr {
        Expr::Tanh(Box::new(self))
    }

    /// The value of the expression when each variable takes the value given in `point`
    /// (`&[("x", 1.0), ("y", 2.0)]`). Follows IEEE arithmetic: `ln` of a negative number is NaN,
    /// division by zero is ±∞.
    ///
    /// Panics if a variable of the expression has no value in `point` (a bug in the calling code:
    /// list the names the expression needs with [`Expr::variables`]).
    pub fn eval(&self, point: &[(&str, f64)]) -> f64 {
        match self {
            Expr::Const(c) => *c,
            Expr::Var(name) => match point.iter().find(|(n, _)| n == name) {
                Some(&(_, value)) => value,
                None => panic!(
                    "Expr::eval: no value for variable '{name}' in {point:?} (the expression needs {:?})",
                    self.variables()
                ),
            },
            Expr::Add(a, b) => a.eval(point) + b.eval(point),
            Expr::Sub(a, b) => a.eval(point) - b.eval(point),
            Expr::Mul(a, b) => a.eval(point) * b.eval(point),
            Expr::Div(a, b) => a.eval(point) / b.eval(point),
            Expr::Pow(a, b) => power(a.eval(point), b.eval(point)),
            Expr::Neg(a) => -a.eval(point),
            Expr::Exp(a) => a.eval(point).exp(),
            Expr::Ln(a) => a.eval(point).ln(),
            Expr::Sin(a) => a.eval(point).sin(),
            Expr::Cos(a) => a.eval(point).cos(),
            Expr::Tanh(a) => a.eval(point).tanh(),
        }
    }

    /// The names of the variables that occur in the expression, sorted.
    pub fn variables(&self) -> Vec<String> {
        let mut names = BTreeSet::new();
        self.collect_variables(&mut names);
        names.into_iter().collect()
    }

    fn collect_variables(&self, names: &mut BTreeSet<String>) {
        match self {
            Expr::Const(_) => {}
            Expr::Var(name) => {
                names.insert(name.clone());
            }
            Expr::Add(a, b)
            | Expr::Sub(a, b)
            | Expr::Mul(a, b)
            | Expr::Div(a, b)
            | Expr::Pow(a, b) => {
                a.collect_variables(names);
                b.collect_variables(names);
            }
            Expr::Neg(a)
            | Expr::Exp(a)
            | Expr::Ln(a)
            | Expr::Sin(a)
            | Expr::Cos(a)
            | Expr::Tanh(a) => a.collect_variables(names),
        }
    }

    /// True when the variable `name` occurs in the expression (its derivative may then be non-zero).
    pub fn depends_on(&self, name: &str) -> bool {
        match self {
            Expr::Const(_) => false,
            Expr::Var(v) => v == name,
            Expr::Add(a, b)
            | Expr::Sub(a, b)
            | Expr::Mul(a, b)
            | Expr::Div(a, b)
            | Expr::Pow(a, b) => a.depends_on(name) || b.depends_on(name),
            Expr::Neg(a)
            | Expr::Exp(a)
            | Expr::Ln(a)
            | Expr::Sin(a)
            | Expr::Cos(a)
            | Expr::Tanh(a) => a.depends_on(name),
        }
    }

    /// The number of nodes in the tree (a measure of how big an unsimplified derivative gets).
    pub fn size(&self) -> usize {
        match self {
            Expr::Const(_) | Expr::Var(_) => 1,
            Expr::Add(a, b)
            | Expr::Sub(a, b)
            | Expr::Mul(a, b)
            | Expr::Div(a, b)
            | Expr::Pow(a, b) => 1 + a.size() + b.size(),
            Expr::Neg(a)
            | Expr::Exp(a)
            | Expr::Ln(a)
            | Expr::Sin(a)
            | Expr::Cos(a)
            | Expr::Tanh(a) => 1 + a.size(),
        }
    }

    /// The constant's value when the expression is a constant.
    pub fn as_constant(&self) -> Option<f64> {
        match self {
            Expr::Const(c) => Some(*c),
            _ => None,
        }
    }
}

/// `base ** exponent` for reals: an integer exponent uses repeated multiplication (exact for small
/// integers and defined for negative bases), any other exponent `powf`.
pub(crate) fn power(base: f64, exponent: f64) -> f64 {
    if exponent.fract() == 0.0 && exponent.abs() <= 64.0 {
        base.powi(exponent as i32)
    } else {
        base.powf(exponent)
    }
}

impl From<f64> for Expr {
    fn from(value: f64) -> Expr {
        Expr::Const(value)
    }
}

impl From<i32> for Expr {
    fn from(value: i32) -> Expr {
        Expr::Const(f64::from(value))
    }
}

// The operators. Each takes anything that converts into an `Expr` (another `Expr`, an `f64`, an
// `i32`) on the right; the `f64 op Expr` forms let `3.0 * x` be written the way it reads.

impl<R: Into<Expr>> Add<R> for Expr {
    type Output = Expr;
    fn add(self, rhs: R) -> Expr {
        Expr::Add(Box::new(self), Box::new(rhs.into()))
    }
}

impl<R: Into<Expr>> Sub<R> for Expr {
    type Output = Expr;
    fn sub(self, rhs: R) -> Expr {
        Expr::Sub(Box::new(self), Box::new(rhs.into()))
    }
}

impl<R: Into<Expr>> Mul<R> for Expr {
    type Output = Expr;
    fn mul(self, rhs: R) -> Expr {
        Expr::Mul(Box::new(self), Box::new(rhs.into()))
    }
}

impl<R: Into<Expr>> Div<R> for Expr {
    type Output = Expr;
    fn div(self, rhs: R) -> Expr {
        Expr::Div(Box::new(self), Box::new(rhs.into()))
    }
}

impl Neg for Expr {
    type Output = Expr;
    fn neg(self) -> Expr {
        Expr::Neg(Box::new(self))
    }
}

impl Add<Expr> for f64 {
    type Output = Expr;
    fn add(self, rhs: Expr) -> Expr {
        Expr::Const(self) + rhs
    }
}

impl Sub<Expr> for f64 {
    type Output = Expr;
    fn sub(self, rhs: Expr) -> Expr {
        Expr::Const(self) - rhs
    }
}

impl Mul<Expr> for f64 {
    type Output = Expr;
    fn mul(self, rhs: Expr) -> Expr {
        Expr::Const(self) * rhs
    }
}

impl Div<Expr> for f64 {
    type Output = Expr;
    fn div(self, rhs: Expr) -> Expr {
        Expr::Const(self) / rhs
    }
}

// Printing. Each node has a precedence; a child is put in parentheses when it binds less tightly
// than its position needs. Levels: 1 sums, 2 negation (and negative numbers), 3 products and
// quotients, 4 powers, 5 atoms (numbers ≥ 0, variables, function calls).

/// How tightly an expression binds when printed (higher binds tighter).
fn precedence(e: &Expr) -> u8 {
    match e {
        Expr::Add(..) | Expr::Sub(..) => 1,
        Expr::Neg(_) => 2,
        Expr::Const(c) if c.is_sign_negative() && *c != 0.0 => 2,
        Expr::Mul(..) | Expr::Div(..) => 3,
        Expr::Pow(..) => 4,
        _ => 5,
    }
}

/// A number the way sympy shows it: `2` rather than `2.0`, `0.5`, `-3`.
fn format_number(c: f64) -> String {
    if c == 0.0 {
        "0".to_string() // also for −0
    } else {
        format!("{c}")
    }
}

/// Writes `e`, wrapped in parentheses when `parenthesise` is true.
fn write_maybe_parenthesised(
    f: &mut fmt::Formatter<'_>,
    e: &Expr,
    parenthesise: bool,
) -> fmt::Result {
    if parenthesise {
        write!(f, "({e})")
    } else {
        write!(f, "{e}")
    }
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expr::Const(c) => write!(f, "{}", format_number(*c)),
            Expr::Var(name) => write!(f, "{name}"),
            Expr::Add(a, b) => {
                write!(f, "{a}")?;
                // a + (−b) reads better as a − b, as sympy prints it.
                match b.as_ref() {
                    Expr::Neg(inner) => {
                        write!(f, " - ")?;
                        write_maybe_parenthesised(f, inner, precedence(inner) <= 2)
                    }
                    Expr::Const(c) if *c < 0.0 => write!(f, " - {}", format_number(-c)),
                    _ => write!(f, " + {b}"),
                }
            }
            Expr::Sub(a, b) => {
                write!(f, "{a} - ")?;
                write_maybe_parenthesised(f, b, precedence(b) <= 2)
            }
            Expr::Mul(a, b) => {
                write_maybe_parenthesised(f, a, precedence(a) < 2)?;
                write!(f, "*")?;
                write_maybe_parenthesised(f, b, precedence(b) <= 2)
            }
            Expr::Div(a, b) => {
                write_maybe_parenthesised(f, a, precedence(a) < 2)?;
                write!(f, "/")?;
                write_maybe_parenthesised(f, b, precedence(b) <= 3)
            }
            Expr::Pow(a, b) => {
                write_maybe_parenthesised(f, a, precedence(a) <= 4)?;
                write!(f, "**")?;
                write_maybe_parenthesised(f, b, precedence(b) <= 4)
            }
            Expr::Neg(a) => {
                write!(f, "-")?;
                write_maybe_parenthesised(f, a, precedence(a) <= 2)
            }
            Expr::Exp(a) => write!(f, "exp({a})"),
            Expr::Ln(a) => write!(f, "log({a})"),
            Expr::Sin(a) => write!(f, "sin({a})"),
            Expr::Cos(a) => write!(f, "cos({a})"),
            Expr::Tanh(a) => write!(f, "tanh({a})"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prints_with_only_the_parentheses_precedence_needs() {
        let x = Expr::var("x");
        let y = Expr::var("y");
        assert_eq!((x.clone() + 1.0).pow(2).to_string(), "(x + 1)**2");
        assert_eq!((2.0 * (x.clone() + 1.0)).to_string(), "2*(x + 1)");
        assert_eq!((x.clone() - (y.clone() - 1.0)).to_string(), "x - (y - 1)");
        assert_eq!(x.clone().pow(y.clone() - 1.0).to_string(), "x**(y - 1)");
        assert_eq!((x.clone() / (2.0 * y.clone())).to_string(), "x/(2*y)");
        assert_eq!((-x.clone()).pow(2).to_string(), "(-x)**2");
        assert_eq!(Expr::constant(-2.0).pow(x.clone()).to_string(), "(-2)**x");
        assert_eq!((x.clone() + -y.clone()).to_string(), "x - y");
        assert_eq!(x.ln().to_string(), "log(x)");
    }
}
