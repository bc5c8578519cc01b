//! The tutorial's two convolutional networks, written like its PyTorch classes (chapters 8 and 12).
//!
//! Both are called `SimpleCNN` in the tutorial. Each is a struct whose fields are the layers the
//! PyTorch class creates in `__init__` (`conv1`, `pool`, `fc1`, …), with `forward` written out as in
//! the class's `forward` and `backward` as its mirror image. Parameter names are therefore the
//! PyTorch ones (`conv1.weight`, `fc3.bias`), and a checkpoint saved here loads into the tutorial's
//! class with `load_state_dict`.
//!
//! Where PyTorch reuses one stateless module (`self.pool`, `F.relu`) several times, we need one layer
//! per use, because each of ours remembers what its backward pass needs.
//!
//! One change of order, which changes no number: the tutorial writes `pool(relu(conv(x)))`; we compute
//! `relu(pool(conv(x)))`. ReLU never changes the order of two values, so the largest value of a window
//! after ReLU is ReLU of the largest value before it — the outputs are identical, and so are the
//! gradients (both go to the window's arg-max when it is positive, and are 0 otherwise). Pooling
//! first leaves the ReLU a quarter of the values (`tests/ch08_cnn.rs` checks the equality).

use super::activation::Relu;
use super::conv::Conv2d;
use super::flatten::Flatten;
use super::layer::{Layer, Mode, Param};
use super::linear::Linear;
use super::pool::MaxPool2d;
use crate::probability::Rng;
use crate::tensor::Tensor;

/// Chapter 12's model for 3×32×32 images (CIFAR-10):
///
/// ```text
/// x [N, 3, 32, 32] → conv1 Conv2d(3, 6, 5) → ReLU → MaxPool(2, 2)    [N, 6, 14, 14]
///                  → conv2 Conv2d(6, 16, 5) → ReLU → MaxPool(2, 2)   [N, 16, 5, 5]
///                    (each ReLU computed after its pool: the same numbers, see the module docs)
///                  → flatten [N, 400] → fc1 Linear(400, 120) → ReLU
///                  → fc2 Linear(120, 84) → ReLU → fc3 Linear(84, 10)  [N, 10] class scores (logits)
/// ```
///
/// 62,006 parameters. `conv1` skips ∂L/∂input (its input is the data, which needs no gradient, as in
/// PyTorch), so `backward` returns zeros.
pub struct CifarCnn {
    /// `nn.Conv2d(3, 6, 5)`.
    pub conv1: Conv2d,
    pool1: MaxPool2d,
    relu1: Relu,
    /// `nn.Conv2d(6, 16, 5)`.
    pub conv2: Conv2d,
    pool2: MaxPool2d,
    relu2: Relu,
    flatten: Flatten,
    /// `nn.Linear(16 * 5 * 5, 120)`.
    pub fc1: Linear,
    relu3: Relu,
    /// `nn.Linear(120, 84)`.
    pub fc2: Linear,
    relu4: Relu,
    /// `nn.Linear(84, 10)`.
    pub fc3: Linear,
}

impl CifarCnn {
    /// The model with PyTorch's default initialisation, layers created in the class's order.
    pub fn new(rng: &mut Rng) -> CifarCnn {
        CifarCnn {
            conv1: Conv2d::builder(3, 6, 5).input_gradient(false).build(rng),
            pool1: MaxPool2d::new(2),
            relu1: Relu::new(),
            conv2: Conv2d::new(6, 16, 5, rng),
            pool2: MaxPool2d::new(2),
            relu2: Relu::new(),
            flatten: Flatten::new(),
            fc1: Linear::new(16 * 5 * 5, 120, rng),
            relu3: Relu::new(),
            fc2: Linear::new(120, 84, rng),
            relu4: Relu::new(),
            fc3: Linear::new(84, 10, rng),
        }
    }

    /// Every layer in the order `forward` applies them, with a short name (`conv1`, `pool1`, `relu1`,
    /// …): for printing shapes layer by layer, and for timing each layer (`bench cnn --profile`).
    pub fn layers_mut(&mut self) -> Vec<(&'static str, &mut dyn Layer)> {
        vec![
            ("conv1", &mut self.conv1),
            ("pool1", &mut self.pool1),
            ("relu1", &mut self.relu1),
            ("conv2", &mut self.conv2),
            ("pool2", &mut self.pool2),
            ("relu2", &mut self.relu2),
            ("flatten", &mut self.flatten),
            ("fc1", &mut self.fc1),
            ("relu3", &mut self.relu3),
            ("fc2", &mut self.fc2),
            ("relu4", &mut self.relu4),
            ("fc3", &mut self.fc3),
        ]
    }
}

impl Layer for CifarCnn {
    /// `fc3(relu(fc2(relu(fc1(flatten(pool(relu(conv2(pool(relu(conv1(x))))))))))))`.
    fn forward(&mut self, x: &Tensor, mode: Mode) -> Tensor {
        let x = self.pool1.forward(
            &self.relu1.forward(&self.conv1.forward(x, mode), mode),
            mode,
        );
        let x = self.pool2.forward(
            &self.relu2.forward(&self.conv2.forward(&x, mode), mode),
            mode,
        );
        let x = self.flatten.forward(&x, mode);
        let x = self.relu3.forward(&self.fc1.forward(&x, mode), mode);
        let x = self.relu4.forward(&self.fc2.forward(&x, mode), mode);
        self.fc3.forward(&x, mode)
    }

    /// The same layers in reverse order, each turning ∂L/∂(its output) into ∂L/∂(its input).
    fn backward(&mut self, grad_output: &Tensor) -> Tensor {
        let g = self
            .fc2
            .backward(&self.relu4.backward(&self.fc3.backward(grad_output)));
        let g = self.fc1.backward(&self.relu3.backward(&g));
        let g = self.flatten.backward(&g);
        let g = self
            .conv2
            .backward(&self.relu2.backward(&self.pool2.backward(&g)));
        self.conv1
            .backward(&self.relu1.backward(&self.pool1.backward(&g)))
    }

    fn visit_params(&mut self, f: &mut dyn FnMut(&str, &mut Param)) {
        for (name, layer) in [
            ("conv1", &mut self.conv1 as &mut dyn Layer),
            ("conv2", &mut self.conv2),
            ("fc1", &mut self.fc1),
            ("fc2", &mut self.fc2),
            ("fc3", &mut self.fc3),
        ] {
            layer.visit_params(&mut |param, p| f(&format!("{name}.{param}"), p));
        }
    }

    fn describe(&self) -> String {
        format!(
            "SimpleCNN(\n  (conv1): {}\n  (pool): {}\n  (conv2): {}\n  (fc1): {}\n  (fc2): {}\n  (fc3): {}\n)",
            self.conv1.describe(),
            self.pool1.describe(),
            self.conv2.describe(),
            self.fc1.describe(),
            self.fc2.describe(),
            self.fc3.describe()
        )
    }
}

/// Chapter 8's model for 1×52×52 images (the input size its flatten implies):
///
/// ```text
/// x [N, 1, 52, 52] → conv1 Conv2d(1, 32, 3) → ReLU → MaxPool(2, 2)   [N, 32, 25, 25]
///                  → flatten [N, 20000] → fc1 Linear(32 * 25 * 25, 10)   [N, 10]
/// ```
///
/// (The ReLU is computed after the pool: the same numbers, see the module docs.)
pub struct SmallCnn {
    /// `nn.Conv2d(1, 32, kernel_size=3)`.
    pub conv1: Conv2d,
    pool: MaxPool2d,
    relu: Relu,
    flatten: Flatten,
    /// `nn.Linear(32 * 25 * 25, 10)`.
    pub fc1: Linear,
}

impl SmallCnn {
    /// The model with PyTorch's default initialisation.
    pub fn new(rng: &mut Rng) -> SmallCnn {
        SmallCnn {
            conv1: Conv2d::builder(1, 32, 3).input_gradient(false).build(rng),
            pool: MaxPool2d::new(2),
            relu: Relu::new(),
            flatten: Flatten::new(),
            fc1: Linear::new(32 * 25 * 25, 10, rng),
        }
    }

    /// Every layer in the order `forward` applies them, with a short name.
    pub fn layers_mut(&mut self) -> Vec<(&'static str, &mut dyn Layer)> {
        vec![
            ("conv1", &mut self.conv1),
            ("pool", &mut self.pool),
            ("relu", &mut self.relu),
            ("flatten", &mut self.flatten),
            ("fc1", &mut self.fc1),
        ]
    }
}

impl Layer for SmallCnn {
    /// `fc1(flatten(pool(relu(conv1(x)))))`.
    fn forward(&mut self, x: &Tensor, mode: Mode) -> Tensor {
        let x = self
            .pool
            .forward(&self.relu.forward(&self.conv1.forward(x, mode), mode), mode);
        self.fc1.forward(&self.flatten.forward(&x, mode), mode)
    }

    fn backward(&mut self, grad_output: &Tensor) -> Tensor {
        let g = self.flatten.backward(&self.fc1.backward(grad_output));
        self.conv1
            .backward(&self.relu.backward(&self.pool.backward(&g)))
    }

    fn visit_params(&mut self, f: &mut dyn FnMut(&str, &mut Param)) {
        self.conv1
            .visit_params(&mut |param, p| f(&format!("conv1.{param}"), p));
        self.fc1
            .visit_params(&mut |param, p| f(&format!("fc1.{param}"), p));
    }

    fn describe(&self) -> String {
        format!(
            "SimpleCNN(\n  (conv1): {}\n  (pool): {}\n  (fc1): {}\n)",
            self.conv1.describe(),
            self.pool.describe(),
            self.fc1.describe()
        )
    }
}
