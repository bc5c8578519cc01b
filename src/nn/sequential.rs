//! `Sequential`: layers applied one after the other, like `torch.nn.Sequential`.

use super::layer::{Layer, Mode, Param};
use crate::probability::Rng;
use crate::tensor::Tensor;

/// A chain of layers: `forward` runs them in order, `backward` in reverse order.
/// Parameter names get the child's index as a prefix (`0.weight`, `2.bias`), as in PyTorch.
#[derive(Default)]
pub struct Sequential {
    layers: Vec<Box<dyn Layer>>,
}

impl Sequential {
    /// A chain of the given layers.
    pub fn new(layers: Vec<Box<dyn Layer>>) -> Sequential {
        Sequential { layers }
    }

    /// Appends a layer.
    pub fn push(&mut self, layer: impl Layer + 'static) {
        self.layers.push(Box::new(layer));
    }

    /// The number of layers.
    pub fn len(&self) -> usize {
        self.layers.len()
    }

    /// True when there are no layers.
    pub fn is_empty(&self) -> bool {
        self.layers.is_empty()
    }

    /// The layers, in order.
    pub fn layers(&self) -> &[Box<dyn Layer>] {
        &self.layers
    }

    /// The layers, mutable (e.g. to inspect one layer's weights).
    pub fn layers_mut(&mut self) -> &mut [Box<dyn Layer>] {
        &mut self.layers
    }

    /// Runs `x` through the layers in inference mode, recording each output shape: a model summary
    /// like PyTorch's `print(model)` plus the shapes a learner checks by hand.
    pub fn summary(&mut self, x: &Tensor) -> Vec<(String, Vec<usize>)> {
        let mut rows = Vec::with_capacity(self.layers.len());
        let mut current = x.clone();
        for layer in &mut self.layers {
            current = layer.forward(&current, Mode::Inference);
            rows.push((layer.describe(), current.shape().to_vec()));
        }
        rows
    }
}

impl Layer for Sequential {
    fn forward(&mut self, x: &Tensor, mode: Mode) -> Tensor {
        let Some((first, rest)) = self.layers.split_first_mut() else {
            return x.clone();
        };
        let mut current = first.forward(x, mode);
        for layer in rest {
            current = layer.forward(&current, mode);
        }
        current
    }

    fn backward(&mut self, grad_output: &Tensor) -> Tensor {
        let Some((last, rest)) = self.layers.split_last_mut() else {
            return grad_output.clone();
        };
        let mut grad = last.backward(grad_output);
        for layer in rest.iter_mut().rev() {
            grad = layer.backward(&grad);
        }
        grad
    }

    fn visit_params(&mut self, f: &mut dyn FnMut(&str, &mut Param)) {
        for (i, layer) in self.layers.iter_mut().enumerate() {
            layer.visit_params(&mut |name, p| f(&format!("{i}.{name}"), p));
        }
    }

    fn visit_rngs(&mut self, f: &mut dyn FnMut(&str, &mut Rng)) {
        for (i, layer) in self.layers.iter_mut().enumerate() {
            layer.visit_rngs(&mut |name, rng| f(&format!("{i}.{name}"), rng));
        }
    }

    fn describe(&self) -> String {
        let inner: Vec<String> = self
            .layers
            .iter()
            .enumerate()
            .map(|(i, l)| format!("  ({i}): {}", l.describe()))
            .collect();
        format!("Sequential(\n{}\n)", inner.join("\n"))
    }
}
