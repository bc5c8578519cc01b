//! Simplification: turning `2*x**(2 - 1)*1` into `2*x`.
//!
//! The rules of differentiation produce correct but cluttered trees. [`Expr::simplify`] brings an
//! expression into a tidy **normal form**, bottom-up:
//!
//! - A **product** is gathered into one number times powers of distinct bases:
//!   `2 * x * 3 * x**2 / y` → coefficient 6, factors x³ and y⁻¹ → `6*x**3/y`. Equal bases add their
//!   exponents, exponents of 0 disappear, a coefficient of 0 makes the whole product 0. Factors are
//!   sorted (variables first, by name) so that `x*y` and `y*x` are recognised as the same term.
//! - A **sum** is gathered into a number plus coefficients times distinct products:
//!   `x + 2*x - 3 + 1` → 3·x and −2 → `3*x - 2`. Terms whose coefficients cancel disappear.
//! - A **power** with an integer exponent is multiplied out as a product (`(2*x)**2` → `4*x**2`,
//!   `x**1` → `x`, `x**0` → `1`); other powers are kept.
//! - **Functions** of their neutral points fold: `exp(0)` → 1, `log(1)` → 0, `sin(0)` → 0,
//!   `cos(0)` → 1, `tanh(0)` → 0, and `exp(log(a))` → a, `log(exp(a))` → a.
//!
//! Every rule preserves the value wherever the original expression is defined; a few extend the domain
//! (`x/x` → 1 is also "defined" at 0, `exp(log(a))` → a also for a ≤ 0), as in sympy.
//!
//! What it leaves out: expanding products of sums (`(x + 1)*(x - 1)` stays as it is), trigonometric
//! identities (sin² + cos² = 1), rational arithmetic (`1/3` is the float 0.333…), and any search for a
//! "simplest" form — it applies each rule once per node, bottom-up.

use super::expr::{Expr, power};

/// One factor `base ** exponent` of a product.
#[derive(Clone, Debug, PartialEq)]
struct Factor {
    base: Expr,
    exponent: Expr,
}

/// A product in normal form: `coefficient · Π baseᵢ ** exponentᵢ`, every base distinct.
#[derive(Clone, Debug)]
struct Product {
    coefficient: f64,
    factors: Vec<Factor>,
}

/// True when `value` is a whole number (an exponent that can be applied factor by factor).
fn is_integer(value: f64) -> bool {
    value.fract() == 0.0 && value.abs() <= 1e6
}

impl Product {
    fn one() -> Product {
        Product {
            coefficient: 1.0,
            factors: Vec::new(),
        }
    }

    /// Multiplies the product by `e ** k`, where `e` is already simplified and `k` is a whole number.
    /// Integer powers distribute over products and quotients: (a·b)ᵏ = aᵏ·bᵏ, (a/b)ᵏ = aᵏ·b⁻ᵏ,
    /// (aⁿ)ᵏ = aⁿᵏ — which is why `k` must be whole (for k = ½ these fail for negative a).
    fn multiply(&mut self, e: &Expr, k: f64) {
        match e {
            Expr::Const(c) => self.coefficient *= power(*c, k),
            Expr::Neg(a) => {
                self.coefficient *= power(-1.0, k);
                self.multiply(a, k);
            }
            Expr::Mul(a, b) => {
                self.multiply(a, k);
                self.multiply(b, k);
            }
            Expr::Div(a, b) => {
                self.multiply(a, k);
                self.multiply(b, -k);
            }
            Expr::Pow(base, exponent) => match exponent.as_constant() {
                Some(n) if is_integer(n) => self.multiply(base, n * k),
                _ => self.add_factor(base, scale_exponent(exponent, k)),
            },
            _ => self.add_factor(e, Expr::Const(k)),
        }
    }

    /// Multiplies by `base ** exponent`, adding the exponent to that of an equal base if there is one.
    fn add_factor(&mut self, base: &Expr, exponent: Expr) {
        match self.factors.iter_mut().find(|f| f.base == *base) {
            Some(factor) => {
                factor.exponent = (factor.exponent.clone() + exponent).simplify();
            }
            None => self.factors.push(Factor {
                base: base.clone(),
                exponent,
            }),
        }
    }

    /// Tidies the factors: drops xⁿ with n = 0, folds numbers raised to whole powers into the
    /// coefficient, and sorts the rest (variables first, by name; then everything else by its text).
    fn normalise(mut self) -> Product {
        let mut kept = Vec::with_capacity(self.factors.len());
        for factor in self.factors {
            match (factor.base.as_constant(), factor.exponent.as_constant()) {
                (_, Some(0.0)) => {}
                (Some(c), Some(n)) if is_integer(n) => self.coefficient *= power(c, n),
                _ => kept.push(factor),
            }
        }
        if self.coefficient == 0.0 {
            kept.clear();
        }
        kept.sort_by_cached_key(|f| {
            let rank = if matches!(f.base, Expr::Var(_)) { 0 } else { 1 };
            (rank, f.base.to_string(), f.exponent.to_string())
        });
        self.factors = kept;
        self
    }

    /// The product as an expression: `coefficient*numerator/denominator`, with a leading minus sign
    /// for a negative coefficient and factors with negative exponents moved below the line.
    fn to_expr(&self) -> Expr {
        if self.factors.is_empty() {
            return Expr::Const(self.coefficient);
        }
        let mut numerator: Vec<Expr> = Vec::new();
        let mut denominator: Vec<Expr> = Vec::new();
        let magnitude = self.coefficient.abs();
        if magnitude != 1.0 {
            numerator.push(Expr::Const(magnitude));
        }
        for factor in &self.factors {
            match factor.exponent.as_constant() {
                Some(n) if n < 0.0 => denominator.push(make_power(&factor.base, -n)),
                _ => numerator.push(match factor.exponent.as_constant() {
                    Some(1.0) => factor.base.clone(),
                    _ => Expr::Pow(
                        Box::new(factor.base.clone()),
                        Box::new(factor.exponent.clone()),
                    ),
                }),
            }
        }
        let top = multiply_all(numerator).unwrap_or(Expr::Const(1.0));
        let quotient = match multiply_all(denominator) {
            Some(bottom) => top / bottom,
            None => top,
        };
        if self.coefficient < 0.0 {
            -quotient
        } else {
            quotient
        }
    }
}

/// `base ** n` for a positive number n, written as just `base` when n = 1.
fn make_power(base: &Expr, n: f64) -> Expr {
    if n == 1.0 {
        base.clone()
    } else {
        base.clone().pow(n)
    }
}

/// `e₁*e₂*…*eₙ` (left to right), or `None` for an empty list.
fn multiply_all(factors: Vec<Expr>) -> Option<Expr> {
    factors.into_iter().reduce(|product, next| product * next)
}

/// `k * exponent`, simplified (`exponent` itself when k = 1).
fn scale_exponent(exponent: &Expr, k: f64) -> Expr {
    if k == 1.0 {
        exponent.clone()
    } else {
        (Expr::Const(k) * exponent.clone()).simplify()
    }
}

/// A sum in normal form: `constant + Σ coefficientᵢ · productᵢ`, every product distinct.
#[derive(Clone, Debug)]
struct Sum {
    constant: f64,
    /// Each term is a normalised product; its coefficient is the term's coefficient.
    terms: Vec<Product>,
}

impl Sum {
    fn zero() -> Sum {
        Sum {
            constant: 0.0,
            terms: Vec::new(),
        }
    }

    /// Adds `sign · e`, where `e` is already simplified; sums and differences inside are opened up.
    fn add(&mut self, e: &Expr, sign: f64) {
        match e {
            Expr::Const(c) => self.constant += sign * c,
            Expr::Add(a, b) => {
                self.add(a, sign);
                self.add(b, sign);
            }
            Expr::Sub(a, b) => {
                self.add(a, sign);
                self.add(b, -sign);
            }
            Expr::Neg(a) => self.add(a, -sign),
            _ => {
                let mut term = Product::one();
                term.multiply(e, 1.0);
                let term = term.normalise();
                if term.factors.is_empty() {
                    self.constant += sign * term.coefficient;
                    return;
                }
                match self.terms.iter_mut().find(|t| t.factors == term.factors) {
                    Some(like_term) => like_term.coefficient += sign * term.coefficient,
                    None => self.terms.push(Product {
                        coefficient: sign * term.coefficient,
                        factors: term.factors,
                    }),
                }
            }
        }
    }

    /// The sum as an expression. Terms keep the order in which they first appeared; the constant
    /// goes last (`x + 1`) unless the first term is negative (`1 - x`, not `-x + 1`).
    fn to_expr(&self) -> Expr {
        let mut terms: Vec<Expr> = self
            .terms
            .iter()
            .filter(|t| t.coefficient != 0.0)
            .map(Product::to_expr)
            .collect();
        if self.constant != 0.0 {
            let first_is_negative = matches!(terms.first(), Some(Expr::Neg(_)));
            if first_is_negative && self.constant > 0.0 {
                terms.insert(0, Expr::Const(self.constant));
            } else {
                terms.push(Expr::Const(self.constant));
            }
        }
        let mut terms = terms.into_iter();
        let Some(first) = terms.next() else {
            return Expr::Const(0.0);
        };
        terms.fold(first, |sum, term| match term {
            Expr::Neg(inner) => Expr::Sub(Box::new(sum), inner),
            Expr::Const(c) if c < 0.0 => sum - Expr::Const(-c),
            other => sum + other,
        })
    }
}

impl Expr {
    /// The expression in the normal form described in the [module docs](self): like terms and like
    /// factors gathered, numbers folded, neutral elements removed.
    ///
    /// ```
    /// use dlfs::calculus::Expr;
    /// let x = Expr::var("x");
    /// let messy = 2.0 * x.clone().pow(Expr::constant(2.0) - 1.0) * 1.0 + 0.0 * x.clone();
    /// assert_eq!(messy.simplify().to_string(), "2*x");
    /// ```
    pub fn simplify(&self) -> Expr {
        match self {
            Expr::Const(_) | Expr::Var(_) => self.clone(),
            Expr::Add(..) | Expr::Sub(..) | Expr::Neg(_) => {
                let mut sum = Sum::zero();
                match self {
                    Expr::Add(a, b) => {
                        sum.add(&a.simplify(), 1.0);
                        sum.add(&b.simplify(), 1.0);
                    }
                    Expr::Sub(a, b) => {
                        sum.add(&a.simplify(), 1.0);
                        sum.add(&b.simplify(), -1.0);
                    }
                    Expr::Neg(a) => sum.add(&a.simplify(), -1.0),
                    _ => unreachable!("matched above"),
                }
                sum.to_expr()
            }
            Expr::Mul(a, b) => {
                let mut product = Product::one();
                product.multiply(&a.simplify(), 1.0);
                product.multiply(&b.simplify(), 1.0);
                product.normalise().to_expr()
            }
            Expr::Div(a, b) => {
                let mut product = Product::one();
                product.multiply(&a.simplify(), 1.0);
                product.multiply(&b.simplify(), -1.0);
                product.normalise().to_expr()
            }
            Expr::Pow(a, b) => {
                let (base, exponent) = (a.simplify(), b.simplify());
                match (base.as_constant(), exponent.as_constant()) {
                    (_, Some(n)) if is_integer(n) => {
                        let mut product = Product::one();
                        product.multiply(&base, n);
                        product.normalise().to_expr()
                    }
                    (Some(1.0), _) => Expr::Const(1.0),
                    _ => base.pow(exponent),
                }
            }
            Expr::Exp(a) => match a.simplify() {
                Expr::Const(0.0) => Expr::Const(1.0),
                Expr::Ln(inner) => *inner,
                inner => inner.exp(),
            },
            Expr::Ln(a) => match a.simplify() {
                Expr::Const(1.0) => Expr::Const(0.0),
                Expr::Exp(inner) => *inner,
                inner => inner.ln(),
            },
            Expr::Sin(a) => match a.simplify() {
                Expr::Const(0.0) => Expr::Const(0.0),
                inner => inner.sin(),
            },
            Expr::Cos(a) => match a.simplify() {
                Expr::Const(0.0) => Expr::Const(1.0),
                inner => inner.cos(),
            },
            Expr::Tanh(a) => match a.simplify() {
                Expr::Const(0.0) => Expr::Const(0.0),
                inner => inner.tanh(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn x() -> Expr {
        Expr::var("x")
    }

    fn y() -> Expr {
        Expr::var("y")
    }

    #[test]
    fn products_gather_numbers_and_equal_bases() {
        let e = 2.0 * x() * 3.0 * x().pow(2) / y();
        assert_eq!(e.simplify().to_string(), "6*x**3/y");
        assert_eq!((y() * x()).simplify().to_string(), "x*y");
        assert_eq!((x() / x()).simplify().to_string(), "1");
        assert_eq!((0.0 * x().exp()).simplify().to_string(), "0");
    }

    #[test]
    fn sums_gather_like_terms() {
        let e = x() + 2.0 * x() - 3.0 + 1.0;
        assert_eq!(e.simplify().to_string(), "3*x - 2");
        assert_eq!((x() * y() - y() * x()).simplify().to_string(), "0");
        assert_eq!((1.0 - x()).simplify().to_string(), "1 - x");
    }

    #[test]
    fn integer_powers_multiply_out_and_others_stay() {
        assert_eq!((2.0 * x()).pow(2).simplify().to_string(), "4*x**2");
        assert_eq!(x().pow(2).pow(3).simplify().to_string(), "x**6");
        assert_eq!(x().pow(-1).simplify().to_string(), "1/x");
        assert_eq!(x().pow(0.5).simplify().to_string(), "x**0.5");
        assert_eq!((x() + 1.0).pow(2).simplify().to_string(), "(x + 1)**2");
    }

    #[test]
    fn functions_fold_at_neutral_points() {
        assert_eq!(Expr::constant(0.0).exp().simplify().to_string(), "1");
        assert_eq!(x().exp().ln().simplify().to_string(), "x");
        assert_eq!((x() - x()).cos().simplify().to_string(), "1");
    }
}
