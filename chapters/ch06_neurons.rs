//! Chapter 6 — 神经网络的基础结构 (the basic structure of a neural network): neurons and activations.
//!
//! The tutorial describes a neuron (inputs, weights, a bias, an activation) and gives three activation
//! functions in numpy: sigmoid `1/(1 + e⁻ˣ)`, ReLU `max(0, x)` and tanh. This chapter
//!
//! 1. computes one neuron by hand, number by number, and checks it against dlfs's [`Linear`] layer
//!    followed by an activation layer;
//! 2. shows why the activation is needed at all: two linear layers without one in between are a
//!    single linear layer (merged here, weights printed);
//! 3. tabulates every activation of [`dlfs::nn`] and its derivative (the number backward multiplies
//!    by), checks each derivative against a finite difference, and draws both — in the terminal and in
//!    two SVG files.

use dlfs::cli::{Args, Command};
use dlfs::linalg::gemm::{MatMut, MatRef, gemm};
use dlfs::nn::{
    Layer, Linear, Mode, Sigmoid, gelu, gelu_derivative, leaky_relu, leaky_relu_derivative, relu,
    relu_derivative, sigmoid, sigmoid_derivative, tanh, tanh_derivative,
};
use dlfs::probability::Rng;
use dlfs::report::{LinePlot, Table, chart};
use dlfs::{Error, Result, Tensor, app, loss};
use std::path::Path;

/// The chapter's flags (`--quick`, `--out`, `--threads` come from `app::chapter_command`).
pub fn command() -> Command {
    app::chapter_command(
        "ch06_neurons",
        "One neuron by hand (inputs · weights + bias → activation), why activations are needed, and \
         every activation with its derivative: a table, a finite-difference check, terminal and SVG plots.",
    )
}

/// The chapter itself.
pub fn run(args: &Args) -> Result<()> {
    let out = app::out_dir(args)?;
    println!("# 6. 神经网络的基础结构 — neurons and activations");
    one_neuron()?;
    why_activations()?;
    activation_table()?;
    plots(&out)?;
    app::exercises_hint("ch06");
    Ok(())
}

fn heading(title: &str) {
    println!("\n## {title}\n");
}

// ---------------------------------------------------------------------------------------------------
// 6.1 One neuron by hand.
// ---------------------------------------------------------------------------------------------------

/// The neuron's inputs x.
pub const INPUTS: [f32; 3] = [0.5, -1.0, 2.0];
/// The neuron's weights w.
pub const WEIGHTS: [f32; 3] = [0.4, 0.3, -0.2];
/// The neuron's bias b.
pub const BIAS: f32 = 0.1;

/// The pre-activation of one neuron, `z = Σᵢ wᵢxᵢ + b`, with the products wᵢxᵢ it adds up.
pub fn pre_activation(inputs: &[f32], weights: &[f32], bias: f32) -> (Vec<f32>, f32) {
    assert_eq!(
        inputs.len(),
        weights.len(),
        "pre_activation: {} inputs but {} weights",
        inputs.len(),
        weights.len()
    );
    let products: Vec<f32> = inputs.iter().zip(weights).map(|(x, w)| x * w).collect();
    let z = products.iter().sum::<f32>() + bias;
    (products, z)
}

fn one_neuron() -> Result<()> {
    heading("6.1 神经元的基本结构 — one neuron: inputs · weights + bias → activation");
    let (products, z) = pre_activation(&INPUTS, &WEIGHTS, BIAS);
    println!("inputs  x = {INPUTS:?}\nweights w = {WEIGHTS:?}\nbias    b = {BIAS}\n");
    let terms: Vec<String> = INPUTS
        .iter()
        .zip(&WEIGHTS)
        .map(|(x, w)| format!("({w})·({x})"))
        .collect();
    let values: Vec<String> = products.iter().map(|p| format!("({p})")).collect();
    println!("z = w·x + b = {} + {BIAS}", terms.join(" + "));
    println!("            = {} + {BIAS}", values.join(" + "));
    println!("            = {z}\n");
    let mut table = Table::new(&["activation", "formula", "a = f(z)"]);
    table.row(&["sigmoid", "1/(1 + e^−z)", &format!("{:.6}", sigmoid(z))]);
    table.row(&[
        "tanh",
        "(e^z − e^−z)/(e^z + e^−z)",
        &format!("{:.6}", tanh(z)),
    ]);
    table.row(&["ReLU", "max(0, z)", &format!("{:.6}", relu(z))]);
    table.row(&[
        format!("LeakyReLU({LEAKY_SLOPE})"),
        format!("z if z > 0 else {LEAKY_SLOPE}z"),
        format!("{:.6}", leaky_relu(z, LEAKY_SLOPE)),
    ]);
    table.row(&["GELU", "z·Φ(z)", &format!("{:.6}", gelu(z))]);
    print!("{table}");
    println!(
        "(LeakyReLU's slope is {LEAKY_SLOPE} everywhere in this chapter, so that its negative side shows \
         in the\ntables and plots; PyTorch's nn.LeakyReLU() defaults to 0.01.)"
    );

    // The same neuron as a layer: Linear(3, 1) with these weights, then a Sigmoid layer.
    let mut linear = Linear::from_params(
        Tensor::from_vec(&[1, 3], WEIGHTS.to_vec()),
        Some(Tensor::from_vec(&[1], vec![BIAS])),
    );
    let x = Tensor::from_vec(&[1, 3], INPUTS.to_vec());
    let z_layer = linear.forward(&x, Mode::Eval);
    let a_layer = Sigmoid::new().forward(&z_layer, Mode::Eval);
    println!(
        "\nThe same neuron with dlfs's layers, Linear(3, 1) then Sigmoid: z = {}, a = {:.6}",
        z_layer.data()[0],
        a_layer.data()[0]
    );
    if (z_layer.data()[0] - z).abs() > 1e-6 || (a_layer.data()[0] - sigmoid(z)).abs() > 1e-6 {
        return Err(Error::data("the layer and the hand computation disagree"));
    }
    println!(
        "A layer of n neurons is n of these side by side: the weights become a matrix [n, 3], one row\n\
         per neuron (PyTorch's layout), and a batch of inputs becomes a matrix product (chapter 7)."
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------------------
// 6.2 Why an activation: without one, layers collapse.
// ---------------------------------------------------------------------------------------------------

/// The single linear layer equal to `second ∘ first` (no activation between them):
/// `W₂(W₁x + b₁) + b₂ = (W₂W₁)x + (W₂b₁ + b₂)`. Both layers must have biases.
pub fn merge_linear(first: &Linear, second: &Linear) -> Linear {
    assert_eq!(
        second.in_features(),
        first.out_features(),
        "merge_linear: the second layer takes {} inputs but the first gives {}",
        second.in_features(),
        first.out_features()
    );
    let (n_in, n_mid, n_out) = (
        first.in_features(),
        first.out_features(),
        second.out_features(),
    );
    let w1 = first.weight().value.data();
    let w2 = second.weight().value.data();
    let b1 = first
        .bias()
        .expect("merge_linear: first has no bias")
        .value
        .data();
    let b2 = second
        .bias()
        .expect("merge_linear: second has no bias")
        .value
        .data();
    // W = W₂·W₁: [out, mid]·[mid, in].
    let mut weight = vec![0.0f32; n_out * n_in];
    gemm(
        1.0,
        MatRef::new(w2, n_out, n_mid),
        MatRef::new(w1, n_mid, n_in),
        0.0,
        MatMut::new(&mut weight, n_out, n_in),
    );
    // b = W₂·b₁ + b₂.
    let bias: Vec<f32> = (0..n_out)
        .map(|o| {
            let row = &w2[o * n_mid..(o + 1) * n_mid];
            row.iter().zip(b1).map(|(w, b)| w * b).sum::<f32>() + b2[o]
        })
        .collect();
    Linear::from_params(
        Tensor::from_vec(&[n_out, n_in], weight),
        Some(Tensor::from_vec(&[n_out], bias)),
    )
}

fn why_activations() -> Result<()> {
    heading("6.2 激活函数 — why a network needs activations");
    let mut rng = Rng::new(6);
    let mut first = Linear::new(3, 4, &mut rng);
    let mut second = Linear::new(4, 2, &mut rng);
    let mut merged = merge_linear(&first, &second);
    let x = Tensor::randn(&[5, 3], 0.0, 1.0, &mut rng);
    let two_layers = second.forward(&first.forward(&x, Mode::Eval), Mode::Eval);
    let one_layer = merged.forward(&x, Mode::Eval);
    let difference = two_layers
        .data()
        .iter()
        .zip(one_layer.data())
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    println!(
        "Linear(3, 4) then Linear(4, 2), with no activation between them, on 5 random inputs, against\n\
         the single Linear(3, 2) with W = W₂W₁ and b = W₂b₁ + b₂:"
    );
    println!(
        "  W = {} (row-major [2, 3])",
        list(merged.weight().value.data())
    );
    println!("  b = {}", list(merged.bias().unwrap().value.data()));
    println!("  largest difference between the two outputs: {difference:.1e} (f32 rounding)");
    if difference > 1e-5 {
        return Err(Error::data("the merged layer differs from the two layers"));
    }
    println!(
        "However many linear layers are stacked, the result is one linear map, which can only draw\n\
         straight boundaries (chapter 1). A non-linear activation between the layers breaks the\n\
         collapse: that is all it is for."
    );
    Ok(())
}

/// Numbers as `[a, b, c]` with 4 decimals.
fn list(values: &[f32]) -> String {
    let texts: Vec<String> = values.iter().map(|v| format!("{v:.4}")).collect();
    format!("[{}]", texts.join(", "))
}

// ---------------------------------------------------------------------------------------------------
// 6.3 The activations and their derivatives.
// ---------------------------------------------------------------------------------------------------

/// An activation function with its derivative, for tables and plots.
pub struct Activation {
    /// Its name, as in PyTorch.
    pub name: &'static str,
    /// f(x).
    pub function: fn(f32) -> f32,
    /// f′(x).
    pub derivative: fn(f32) -> f32,
}

/// The LeakyReLU slope used throughout the chapter: 0.1, not PyTorch's default 0.01, so that the
/// negative side is visible in the tables and plots (`nn.LeakyReLU(0.1)` in PyTorch).
pub const LEAKY_SLOPE: f32 = 0.1;

fn leaky(x: f32) -> f32 {
    leaky_relu(x, LEAKY_SLOPE)
}

fn leaky_derivative(x: f32) -> f32 {
    leaky_relu_derivative(x, LEAKY_SLOPE)
}

fn identity(x: f32) -> f32 {
    x
}

fn one(_x: f32) -> f32 {
    1.0
}

/// The activations the chapter shows (LeakyReLU with slope [`LEAKY_SLOPE`] = 0.1, not PyTorch's
/// default 0.01, so that its negative side is visible in a plot).
pub fn activations() -> Vec<Activation> {
    vec![
        Activation {
            name: "Sigmoid",
            function: sigmoid,
            derivative: sigmoid_derivative,
        },
        Activation {
            name: "Tanh",
            function: tanh,
            derivative: tanh_derivative,
        },
        Activation {
            name: "ReLU",
            function: relu,
            derivative: relu_derivative,
        },
        Activation {
            name: "LeakyReLU(0.1)",
            function: leaky,
            derivative: leaky_derivative,
        },
        Activation {
            name: "GELU",
            function: gelu,
            derivative: gelu_derivative,
        },
        Activation {
            name: "Identity",
            function: identity,
            derivative: one,
        },
    ]
}

fn activation_table() -> Result<()> {
    heading("6.3 常见激活函数 — each activation and its derivative");
    println!("The tutorial (numpy):");
    println!("    def sigmoid(x): return 1 / (1 + np.exp(-x))");
    println!("    def relu(x): return np.maximum(0, x)");
    println!("    def tanh(x): return np.tanh(x)");
    println!(
        "dlfs: dlfs::nn::{{sigmoid, relu, tanh, leaky_relu, gelu}} and their *_derivative, and the\n\
         layers Sigmoid, ReLU, Tanh, LeakyReLU, GELU, Identity, Softmax. Values f(x) / f′(x):\n"
    );
    let xs = [-3.0f32, -2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0, 3.0];
    let all = activations();
    // Identity (f = x, f′ = 1) is left out of the table to keep it narrow; it is in the plots.
    let tabulated: Vec<&Activation> = all.iter().filter(|a| a.name != "Identity").collect();
    let mut headers = vec!["x".to_string()];
    headers.extend(tabulated.iter().map(|a| format!("{} f / f′", a.name)));
    let header_refs: Vec<&str> = headers.iter().map(String::as_str).collect();
    let mut table = Table::new(&header_refs);
    for &x in &xs {
        let mut row = vec![format!("{x:+.1}")];
        row.extend(
            tabulated
                .iter()
                .map(|a| format!("{:+.4} / {:.4}", (a.function)(x), (a.derivative)(x))),
        );
        table.row(&row);
    }
    print!("{table}");

    // Each derivative against a central difference (in f64 around the f32 function), away from
    // the kink of ReLU/LeakyReLU at 0 where the derivative is a convention.
    println!(
        "\nEach derivative against a central difference (f(x+h) − f(x−h))/2h, h = 1e-2, on 161 points of [−4, 4]:"
    );
    let mut check = Table::new(&["activation", "largest |f′ − difference|"]);
    for a in &all {
        let mut worst = 0.0f64;
        for i in 0..=160 {
            let x = -4.0 + 0.05 * i as f32;
            if x.abs() < 0.02 {
                continue;
            }
            let h = 1e-2f32;
            let numeric = (f64::from((a.function)(x + h)) - f64::from((a.function)(x - h)))
                / (2.0 * f64::from(h));
            worst = worst.max((numeric - f64::from((a.derivative)(x))).abs());
        }
        check.row(&[a.name.to_string(), format!("{worst:.1e}")]);
        if worst > 1e-3 {
            return Err(Error::data(format!(
                "the derivative of {} disagrees with finite differences ({worst:.1e})",
                a.name
            )));
        }
    }
    print!("{check}");
    println!(
        "(Differences of ~1e-5 are the h² truncation error of the central difference and f32 rounding.)"
    );

    let (gelu_min_x, gelu_min) = (0..=2000)
        .map(|i| -2.0 + 0.001 * i as f32)
        .map(|x| (x, gelu(x)))
        .fold(
            (0.0, f32::INFINITY),
            |best, (x, y)| {
                if y < best.1 { (x, y) } else { best }
            },
        );
    println!(
        "\nWhat the numbers say:\n\
         - sigmoid′ is at most {} (at 0): each sigmoid layer shrinks the gradient by 4× or more, so\n  \
           through 10 layers it shrinks by at least 4¹⁰ ≈ 10⁶ — the vanishing gradient.\n\
         - tanh′(0) = {}: centred at 0 and four times steeper than the sigmoid, but it saturates too\n  \
           (tanh′(3) = {:.4}).\n\
         - ReLU′ is exactly 1 for x > 0 (no shrinking) and exactly 0 for x < 0: a unit whose input stays\n  \
           negative gets no gradient at all (a \"dead\" ReLU); LeakyReLU keeps a slope of 0.1 there.\n\
         - GELU is smooth and dips below 0: its minimum is {gelu_min:.4} at x = {gelu_min_x:.3}.",
        sigmoid_derivative(0.0),
        tanh_derivative(0.0),
        tanh_derivative(3.0)
    );

    let logits = Tensor::from_rows(&[&[1.0, 2.0, 3.0]]);
    let probabilities = loss::softmax(&logits);
    println!(
        "\nSoftmax (not element-wise: it turns a row of scores into probabilities):\n  \
         softmax([1, 2, 3]) = {}, sum {:.6}",
        list(probabilities.data()),
        probabilities.data().iter().sum::<f32>()
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------------------
// 6.4 Plots.
// ---------------------------------------------------------------------------------------------------

fn plots(out: &Path) -> Result<()> {
    heading("6.4 The activations and their derivatives, drawn");
    let xs: Vec<f32> = (0..=160).map(|i| -4.0 + 0.05 * i as f32).collect();
    let all = activations();
    // In the terminal: the squashing pair, the rectifying pair, and the four derivatives (Identity
    // and LeakyReLU are in the SVG files).
    let curve = |name: &str, derivative: bool| -> Vec<f32> {
        let a = all
            .iter()
            .find(|a| a.name == name)
            .expect("a listed activation");
        let f = if derivative { a.derivative } else { a.function };
        xs.iter().map(|&x| f(x)).collect()
    };
    let (sig, tan) = (curve("Sigmoid", false), curve("Tanh", false));
    let (rel, gel) = (curve("ReLU", false), curve("GELU", false));
    println!("Squashing: sigmoid and tanh, x from −4 to 4:\n");
    print!(
        "{}",
        chart::line_chart(&[("Sigmoid", &sig), ("Tanh", &tan)], 64, 10)
    );
    println!("\nRectifying: GELU and ReLU (drawn over GELU where they agree), x from −4 to 4:\n");
    print!(
        "{}",
        chart::line_chart(&[("GELU", &gel), ("ReLU", &rel)], 64, 10)
    );
    let derivatives: Vec<(&str, Vec<f32>)> = ["Sigmoid", "Tanh", "ReLU", "GELU"]
        .iter()
        .map(|&name| (name, curve(name, true)))
        .collect();
    let series: Vec<(&str, &[f32])> = derivatives
        .iter()
        .map(|(name, d)| (*name, d.as_slice()))
        .collect();
    println!("\nTheir derivatives f′(x), x from −4 to 4:\n");
    print!("{}", chart::line_chart(&series, 64, 10));

    let points = |f: fn(f32) -> f32| -> Vec<(f64, f64)> {
        xs.iter()
            .map(|&x| (f64::from(x), f64::from(f(x))))
            .collect()
    };
    let mut function_plot = LinePlot::new("Activation functions f(x)")
        .x_label("x")
        .y_label("f(x)");
    let mut derivative_plot =
        LinePlot::new("Their derivatives f′(x) (what backward multiplies by)")
            .x_label("x")
            .y_label("f′(x)");
    for a in &all {
        function_plot = function_plot.line(a.name, &points(a.function));
        derivative_plot = derivative_plot.line(a.name, &points(a.derivative));
    }
    let function_path = out.join("activations.svg");
    function_plot.save(&function_path)?;
    println!("\nwrote {}", function_path.display());
    let derivative_path = out.join("derivatives.svg");
    derivative_plot.save(&derivative_path)?;
    println!("wrote {}", derivative_path.display());
    Ok(())
}

fn main() {
    app::main_for(command(), run);
}
