//! `Sequential`: layers applied one after the other, like `torch.nn.Sequential`.

use super::layer::{Layer, Mode, Param, downcast_mut, downcast_ref};
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

    /// Layer `index` as its concrete type `L` (its name in parameter names is `index`): `None` when
    /// there is no such layer or it is of another type. Reaches what only that type offers, e.g.
    /// an LSTM's initial state and its gradient:
    ///
    /// ```
    /// use dlfs::nn::{Layer, Linear, Mode, Sequential, LSTM, RecurrentOutput};
    /// use dlfs::probability::Rng;
    /// use dlfs::Tensor;
    /// let mut rng = Rng::new(0);
    /// let mut model = Sequential::default();
    /// model.push(LSTM::new(3, 4, &mut rng).output(RecurrentOutput::LastStep));
    /// model.push(Linear::new(4, 1, &mut rng));
    /// let h0 = Tensor::full(&[1, 2, 4], 0.5); // [num_layers, N, H]
    /// let c0 = Tensor::zeros(&[1, 2, 4]);
    /// model.layer_mut::<LSTM>(0).unwrap().set_initial_state(Some((h0, c0)));
    /// let y = model.forward(&Tensor::ones(&[2, 5, 3]), Mode::Eval);
    /// model.backward(&Tensor::ones(y.shape()));
    /// let (dh0, _dc0) = model.layer::<LSTM>(0).unwrap().initial_state_grad().unwrap();
    /// assert_eq!(dh0.shape(), &[1, 2, 4]);
    /// assert!(model.layer::<LSTM>(1).is_none()); // layer 1 is a Linear
    /// ```
    pub fn layer<L: Layer>(&self, index: usize) -> Option<&L> {
        downcast_ref::<L>(self.layers.get(index)?.as_ref())
    }

    /// Layer `index` as its concrete type `L`, mutable (see [`Sequential::layer`]).
    pub fn layer_mut<L: Layer>(&mut self, index: usize) -> Option<&mut L> {
        downcast_mut::<L>(self.layers.get_mut(index)?.as_mut())
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
