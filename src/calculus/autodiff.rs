//! Reverse-mode automatic differentiation on scalars: a micrograd-style computation graph.
//!
//! Every operation on a [`Value`] records a node: its result and which nodes it was computed from.
//! [`Graph::backward`] then walks the graph from the output back to the inputs, applying the chain
//! rule once per node: if node `o = op(a, b)` has received ∂L/∂o, it passes on
//! ∂L/∂a += ∂L/∂o · ∂o/∂a and ∂L/∂b += ∂L/∂o · ∂o/∂b. One backward sweep gives the derivative of the
//! output with respect to *every* node, for about the cost of the forward computation — which is why
//! frameworks train networks with millions of parameters this way, and not with finite differences.
//!
//! Two details decide whether it is correct, and both are where learners trip:
//!
//! - **`+=`, not `=`.** A node used twice (`b = a + a`, or `x * x`) receives a contribution along each
//!   use; the contributions add up (the multivariable chain rule sums over paths).
//! - **Order.** A node may pass its gradient on only after it has received *all* of it, i.e. after
//!   every node that uses it. That is a reverse **topological order** of the graph.
//!   [`Graph::topological_order`] computes it with an explicit stack (an iterative depth-first search,
//!   so deep graphs cannot overflow the call stack).
//!
//! Nodes live in one `Vec` (an arena) and a [`Value`] is an index into it. Because an operand always
//! exists before its result, creation order is already *a* topological order (the "tape" view of
//! autodiff); we still compute the order explicitly, as micrograd does, so that backward visits only
//! the nodes the output depends on and so that the algorithm carries over to graphs built any way.
//!
//! What it leaves out: tensors (the layers of [`crate::nn`] write each backward formula by hand, for
//! speed), higher-order derivatives, and freeing parts of the graph (rebuild it with
//! [`Graph::clear`] for every step, as micrograd does).

use super::expr::{Expr, power};

/// A handle to one node (a number) of a [`Graph`]. Only meaningful for the graph that created it,
/// and only until that graph is [cleared](Graph::clear).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Value(usize);

/// How a node was computed: the operation and the indices of its operands.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Op {
    /// An input, a parameter or a constant: nothing to pass gradients on to.
    Leaf,
    Add(usize, usize),
    Sub(usize, usize),
    Mul(usize, usize),
    Div(usize, usize),
    Neg(usize),
    /// `a ** c` for a constant number c.
    PowConst(usize, f64),
    /// `a ** b` for two nodes (a > 0 when b is not a whole number).
    Pow(usize, usize),
    Exp(usize),
    Ln(usize),
    Sin(usize),
    Cos(usize),
    Tanh(usize),
    Relu(usize),
}

impl Op {
    /// The operands (zero, one or two node indices).
    fn operands(self) -> [Option<usize>; 2] {
        match self {
            Op::Leaf => [None, None],
            Op::Add(a, b) | Op::Sub(a, b) | Op::Mul(a, b) | Op::Div(a, b) | Op::Pow(a, b) => {
                [Some(a), Some(b)]
            }
            Op::Neg(a)
            | Op::PowConst(a, _)
            | Op::Exp(a)
            | Op::Ln(a)
            | Op::Sin(a)
            | Op::Cos(a)
            | Op::Tanh(a)
            | Op::Relu(a) => [Some(a), None],
        }
    }
}

/// One node: its value (computed when the node is created), its gradient ∂output/∂node (filled in
/// by [`Graph::backward`]) and how it was computed.
#[derive(Clone, Copy, Debug)]
struct Node {
    value: f64,
    grad: f64,
    op: Op,
}

/// A computation graph of scalar operations, built as you compute, differentiated by
/// [`Graph::backward`].
///
/// ```
/// use dlfs::calculus::Graph;
/// let mut g = Graph::new();
/// let a = g.leaf(3.0);
/// let b = g.add(a, a); // b = 2a: a is used twice
/// let c = g.mul(b, b); // c = b² = 4a²
/// g.backward(c);
/// assert_eq!(g.value(c), 36.0);
/// assert_eq!(g.grad(a), 24.0); // dc/da = 8a
/// ```
#[derive(Clone, Debug, Default)]
pub struct Graph {
    nodes: Vec<Node>,
}

impl Graph {
    /// An empty graph.
    pub fn new() -> Graph {
        Graph { nodes: Vec::new() }
    }

    /// Removes every node but keeps their memory, so a training loop can rebuild the graph each
    /// step without reallocating it. Every [`Value`] handed out before is invalid afterwards.
    pub fn clear(&mut self) {
        self.nodes.clear();
    }

    /// The number of nodes.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// True when the graph has no nodes.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    fn push(&mut self, value: f64, op: Op) -> Value {
        self.nodes.push(Node {
            value,
            grad: 0.0,
            op,
        });
        Value(self.nodes.len() - 1)
    }

    fn node(&self, v: Value) -> &Node {
        self.nodes.get(v.0).unwrap_or_else(|| {
            panic!(
                "Graph: Value #{} does not belong to this graph ({} nodes); was the graph cleared?",
                v.0,
                self.nodes.len()
            )
        })
    }

    /// A new input, parameter or constant holding `value`.
    pub fn leaf(&mut self, value: f64) -> Value {
        self.push(value, Op::Leaf)
    }

    /// The value computed for `v`.
    pub fn value(&self, v: Value) -> f64 {
        self.node(v).value
    }

    /// ∂output/∂v, summed over every [`Graph::backward`] call since the graph was built or
    /// [`Graph::zero_grad`] was called.
    pub fn grad(&self, v: Value) -> f64 {
        self.node(v).grad
    }

    /// `a + b`. Backward: both operands receive the gradient unchanged.
    pub fn add(&mut self, a: Value, b: Value) -> Value {
        let value = self.value(a) + self.value(b);
        self.push(value, Op::Add(a.0, b.0))
    }

    /// `a - b`. Backward: a receives +g, b receives −g.
    pub fn sub(&mut self, a: Value, b: Value) -> Value {
        let value = self.value(a) - self.value(b);
        self.push(value, Op::Sub(a.0, b.0))
    }

    /// `a * b`. Backward: a receives g·b, b receives g·a.
    pub fn mul(&mut self, a: Value, b: Value) -> Value {
        let value = self.value(a) * self.value(b);
        self.push(value, Op::Mul(a.0, b.0))
    }

    /// `a / b`. Backward: a receives g/b, b receives −g·a/b².
    pub fn div(&mut self, a: Value, b: Value) -> Value {
        let value = self.value(a) / self.value(b);
        self.push(value, Op::Div(a.0, b.0))
    }

    /// `-a`. Backward: a receives −g.
    pub fn neg(&mut self, a: Value) -> Value {
        let value = -self.value(a);
        self.push(value, Op::Neg(a.0))
    }

    /// `a ** c` for a constant number c. Backward: a receives g·c·a^(c−1).
    pub fn powf(&mut self, a: Value, c: f64) -> Value {
        let value = power(self.value(a), c);
        self.push(value, Op::PowConst(a.0, c))
    }

    /// `a ** b` for two values (a > 0 unless b is a whole number). Backward: a receives
    /// g·b·a^(b−1), b receives g·a^b·ln(a).
    pub fn pow(&mut self, a: Value, b: Value) -> Value {
        let value = power(self.value(a), self.value(b));
        self.push(value, Op::Pow(a.0, b.0))
    }

    /// `exp(a)`. Backward: a receives g·exp(a) (the node's own value).
    pub fn exp(&mut self, a: Value) -> Value {
        let value = self.value(a).exp();
        self.push(value, Op::Exp(a.0))
    }

    /// `ln(a)`. Backward: a receives g/a.
    pub fn ln(&mut self, a: Value) -> Value {
        let value = self.value(a).ln();
        self.push(value, Op::Ln(a.0))
    }

    /// `sin(a)`. Backward: a receives g·cos(a).
    pub fn sin(&mut self, a: Value) -> Value {
        let value = self.value(a).sin();
        self.push(value, Op::Sin(a.0))
    }

    /// `cos(a)`. Backward: a receives −g·sin(a).
    pub fn cos(&mut self, a: Value) -> Value {
        let value = self.value(a).cos();
        self.push(value, Op::Cos(a.0))
    }

    /// `tanh(a)`. Backward: a receives g·(1 − tanh²(a)), computed from the node's own value.
    pub fn tanh(&mut self, a: Value) -> Value {
        let value = self.value(a).tanh();
        self.push(value, Op::Tanh(a.0))
    }

    /// `relu(a) = max(a, 0)`. Backward: a receives g where a > 0 and 0 elsewhere (the derivative at
    /// exactly 0 is taken to be 0, as in PyTorch).
    pub fn relu(&mut self, a: Value) -> Value {
        let value = self.value(a).max(0.0);
        self.push(value, Op::Relu(a.0))
    }

    /// The sum of several values (0 for none), built from [`Graph::add`].
    pub fn sum(&mut self, values: &[Value]) -> Value {
        match values.split_first() {
            None => self.leaf(0.0),
            Some((&first, rest)) => rest.iter().fold(first, |total, &v| self.add(total, v)),
        }
    }

    /// Builds the nodes that compute a symbolic expression, with each variable bound to a value of
    /// this graph (`&[("x", x)]`). Used to check autodiff against symbolic derivatives.
    ///
    /// Panics if a variable of `e` is not bound (as [`Expr::eval`] does).
    pub fn expr(&mut self, e: &Expr, bindings: &[(&str, Value)]) -> Value {
        match e {
            Expr::Const(c) => self.leaf(*c),
            Expr::Var(name) => match bindings.iter().find(|(n, _)| n == name) {
                Some(&(_, v)) => v,
                None => panic!("Graph::expr: variable '{name}' is not bound in {bindings:?}"),
            },
            Expr::Add(a, b) => {
                let (a, b) = (self.expr(a, bindings), self.expr(b, bindings));
                self.add(a, b)
            }
            Expr::Sub(a, b) => {
                let (a, b) = (self.expr(a, bindings), self.expr(b, bindings));
                self.sub(a, b)
            }
            Expr::Mul(a, b) => {
                let (a, b) = (self.expr(a, bindings), self.expr(b, bindings));
                self.mul(a, b)
            }
            Expr::Div(a, b) => {
                let (a, b) = (self.expr(a, bindings), self.expr(b, bindings));
                self.div(a, b)
            }
            Expr::Pow(a, b) => {
                let a = self.expr(a, bindings);
                match b.as_constant() {
                    Some(c) => self.powf(a, c),
                    None => {
                        let b = self.expr(b, bindings);
                        self.pow(a, b)
                    }
                }
            }
            Expr::Neg(a) => {
                let a = self.expr(a, bindings);
                self.neg(a)
            }
            Expr::Exp(a) => {
                let a = self.expr(a, bindings);
                self.exp(a)
            }
            Expr::Ln(a) => {
                let a = self.expr(a, bindings);
                self.ln(a)
            }
            Expr::Sin(a) => {
                let a = self.expr(a, bindings);
                self.sin(a)
            }
            Expr::Cos(a) => {
                let a = self.expr(a, bindings);
                self.cos(a)
            }
            Expr::Tanh(a) => {
                let a = self.expr(a, bindings);
                self.tanh(a)
            }
        }
    }

    /// The nodes `output` depends on (itself included), each listed after all of its operands:
    /// a topological order. Computed by depth-first search with an explicit stack: a node is
    /// pushed once to visit its operands and once more to be emitted when they are all done.
    pub fn topological_order(&self, output: Value) -> Vec<Value> {
        self.node(output);
        let mut order = Vec::new();
        let mut visited = vec![false; self.nodes.len()];
        // (node, operands_done): operands_done = true means "all operands emitted, emit me".
        let mut stack = vec![(output.0, false)];
        while let Some((i, operands_done)) = stack.pop() {
            if operands_done {
                order.push(Value(i));
                continue;
            }
            if visited[i] {
                continue; // reached again through another path: already emitted or on its way
            }
            visited[i] = true;
            stack.push((i, true));
            for operand in self.nodes[i].op.operands().into_iter().flatten() {
                if !visited[operand] {
                    stack.push((operand, false));
                }
            }
        }
        order
    }

    /// Computes ∂output/∂v for every node v that `output` depends on and **adds** it to that node's
    /// gradient (as PyTorch accumulates into `.grad`; call [`Graph::zero_grad`] to start over).
    ///
    /// The sweep works on a fresh set of adjoints and adds them to the stored gradients at the end,
    /// so two calls give exactly twice the gradients, intermediate nodes included. (It allocates its
    /// small scratch vectors — the order, the adjoints — per call: this engine is for learning and
    /// checking, not for speed.)
    pub fn backward(&mut self, output: Value) {
        let order = self.topological_order(output);
        // adjoint[i] = ∂output/∂node i, filled in reverse topological order.
        let mut adjoint = vec![0.0f64; self.nodes.len()];
        adjoint[output.0] = 1.0;
        for &Value(i) in order.iter().rev() {
            let g = adjoint[i];
            let node = self.nodes[i];
            let value_of = |j: usize| self.nodes[j].value;
            match node.op {
                Op::Leaf => {}
                Op::Add(a, b) => {
                    adjoint[a] += g;
                    adjoint[b] += g;
                }
                Op::Sub(a, b) => {
                    adjoint[a] += g;
                    adjoint[b] -= g;
                }
                Op::Mul(a, b) => {
                    adjoint[a] += g * value_of(b);
                    adjoint[b] += g * value_of(a);
                }
                Op::Div(a, b) => {
                    let (x, y) = (value_of(a), value_of(b));
                    adjoint[a] += g / y;
                    adjoint[b] -= g * x / (y * y);
                }
                Op::Neg(a) => adjoint[a] -= g,
                Op::PowConst(a, c) => adjoint[a] += g * c * power(value_of(a), c - 1.0),
                Op::Pow(a, b) => {
                    let (x, y) = (value_of(a), value_of(b));
                    adjoint[a] += g * y * power(x, y - 1.0);
                    adjoint[b] += g * node.value * x.ln();
                }
                Op::Exp(a) => adjoint[a] += g * node.value,
                Op::Ln(a) => adjoint[a] += g / value_of(a),
                Op::Sin(a) => adjoint[a] += g * value_of(a).cos(),
                Op::Cos(a) => adjoint[a] -= g * value_of(a).sin(),
                Op::Tanh(a) => adjoint[a] += g * (1.0 - node.value * node.value),
                Op::Relu(a) => {
                    if value_of(a) > 0.0 {
                        adjoint[a] += g;
                    }
                }
            }
        }
        for &Value(i) in &order {
            self.nodes[i].grad += adjoint[i];
        }
    }

    /// Sets every gradient to 0.
    pub fn zero_grad(&mut self) {
        for node in &mut self.nodes {
            node.grad = 0.0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operands_come_before_their_results_in_the_order() {
        let mut g = Graph::new();
        let a = g.leaf(1.0);
        let b = g.leaf(2.0);
        let c = g.mul(a, b);
        let d = g.add(c, a);
        let unrelated = g.leaf(5.0);
        let order = g.topological_order(d);
        let position = |v: Value| order.iter().position(|&o| o == v);
        assert_eq!(order.len(), 4);
        assert!(position(a) < position(c) && position(b) < position(c));
        assert!(position(c) < position(d));
        assert_eq!(position(unrelated), None);
    }
}
