//! Symbolic differentiation: the rules of a first calculus course, one per kind of node.
//!
//! [`Expr::diff`] applies the rules literally and returns an unsimplified tree (the derivative of
//! `x**2` comes out as `2*x**(2 - 1)*1`); [`Expr::derivative`] simplifies it to `2*x`. Keeping the two
//! apart shows that differentiation itself is purely mechanical: everything that makes the result
//! look like a textbook's is simplification.
//!
//! | expression | derivative with respect to x |
//! |---|---|
//! | c, or a variable other than x | 0 |
//! | x | 1 |
//! | a ± b | a′ ± b′ |
//! | a·b | a′·b + a·b′ (product rule) |
//! | a / b | (a′·b − a·b′) / b² (quotient rule) |
//! | aⁿ, n free of x | n·aⁿ⁻¹·a′ (power rule with the chain rule) |
//! | cᵇ, c free of x | cᵇ·ln(c)·b′ |
//! | aᵇ, both depend on x | aᵇ·(b′·ln(a) + b·a′/a) |
//! | exp(a) | exp(a)·a′ |
//! | ln(a) | a′/a |
//! | sin(a) | cos(a)·a′ |
//! | cos(a) | −sin(a)·a′ |
//! | tanh(a) | (1 − tanh(a)²)·a′ |
//!
//! Every rule for a function ends with "·a′": that factor is the **chain rule**,
//! d/dx f(g(x)) = f′(g(x))·g′(x).

use super::expr::Expr;

impl Expr {
    /// The derivative with respect to the variable `var`, by the rules above, unsimplified.
    pub fn diff(&self, var: &str) -> Expr {
        match self {
            Expr::Const(_) => Expr::Const(0.0),
            Expr::Var(name) => Expr::Const(if name == var { 1.0 } else { 0.0 }),
            Expr::Add(a, b) => a.diff(var) + b.diff(var),
            Expr::Sub(a, b) => a.diff(var) - b.diff(var),
            Expr::Neg(a) => -a.diff(var),
            Expr::Mul(a, b) => a.diff(var) * (**b).clone() + (**a).clone() * b.diff(var),
            Expr::Div(a, b) => {
                (a.diff(var) * (**b).clone() - (**a).clone() * b.diff(var)) / (**b).clone().pow(2)
            }
            Expr::Pow(a, b) => {
                let (a, b) = (a.as_ref().clone(), b.as_ref().clone());
                if !b.depends_on(var) {
                    // Power rule: d(aⁿ) = n·aⁿ⁻¹·a′.
                    let a_prime = a.diff(var);
                    b.clone() * a.pow(b - 1.0) * a_prime
                } else if !a.depends_on(var) {
                    // Exponential with a constant base: d(cᵇ) = cᵇ·ln(c)·b′.
                    let b_prime = b.diff(var);
                    a.clone().pow(b) * a.ln() * b_prime
                } else {
                    // General case, from aᵇ = exp(b·ln a): d(aᵇ) = aᵇ·(b′·ln(a) + b·a′/a).
                    let (a_prime, b_prime) = (a.diff(var), b.diff(var));
                    a.clone().pow(b.clone()) * (b_prime * a.clone().ln() + b * a_prime / a)
                }
            }
            Expr::Exp(a) => self.clone() * a.diff(var),
            Expr::Ln(a) => a.diff(var) / a.as_ref().clone(),
            Expr::Sin(a) => a.as_ref().clone().cos() * a.diff(var),
            Expr::Cos(a) => -(a.as_ref().clone().sin()) * a.diff(var),
            Expr::Tanh(a) => (1.0 - self.clone().pow(2)) * a.diff(var),
        }
    }

    /// The derivative with respect to `var`, simplified: what sympy's `diff(f, x)` returns.
    ///
    /// ```
    /// use dlfs::calculus::Expr;
    /// let x = Expr::var("x");
    /// assert_eq!(x.clone().pow(2).derivative("x").to_string(), "2*x");
    /// assert_eq!(x.sin().derivative("x").to_string(), "cos(x)");
    /// ```
    pub fn derivative(&self, var: &str) -> Expr {
        self.diff(var).simplify()
    }

    /// The gradient: the vector of partial derivatives ∂f/∂v for each variable in `vars`, simplified.
    /// At a point it is the direction in which f increases fastest, and its length is that rate.
    pub fn gradient(&self, vars: &[&str]) -> Vec<Expr> {
        vars.iter().map(|v| self.derivative(v)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsimplified_derivative_follows_the_rules_literally() {
        let x = Expr::var("x");
        assert_eq!(x.pow(2).diff("x").to_string(), "2*x**(2 - 1)*1");
    }
}
