//! Chapter 8 — 卷积神经网络 (convolutional networks).
//!
//! The tutorial: "a CNN is particularly suited to image data. Convolution layers extract local
//! features, pooling layers reduce the dimensions, and fully connected layers classify", with the model
//! `Conv2d(1, 32, kernel_size=3) → ReLU → MaxPool2d(2, 2) → view(-1, 32*25*25) → Linear(32*25*25, 10)`.
//!
//! This chapter computes a convolution by hand on a tiny image (the numbers printed), turns it into one
//! matrix product (im2col), shows what hand-made kernels detect on a generated picture (PNG files
//! before/after), pools, builds the tutorial's `SimpleCNN` and prints its shapes layer by layer —
//! which reveals the 1×52×52 input its flatten size implies — and trains it briefly.

use dlfs::cli::{Args, Command};
use dlfs::data::cifar10_standin::{self, Palette};
use dlfs::linalg::gemm_nn;
use dlfs::loss::{Reduction, cross_entropy};
use dlfs::nn::conv::conv2d_reference;
use dlfs::nn::im2col::{ConvGeometry, im2col};
use dlfs::nn::{AvgPool2d, Conv2d, Layer, MaxPool2d, Mode, SmallCnn, param_count};
use dlfs::optim::{Optimizer, Sgd};
use dlfs::probability::Rng;
use dlfs::report::png::save_gray;
use dlfs::report::{Progress, Table};
use dlfs::{Result, Tensor, app};
use std::path::Path;

/// The chapter's flags (`--quick`, `--out`, `--threads` come from `app::chapter_command`).
pub fn command() -> Command {
    app::chapter_command(
        "ch08_cnn",
        "Convolutional networks: a convolution by hand, im2col, edge filters, pooling, the tutorial's SimpleCNN.",
    )
    .option("epochs", "N", "3", "epochs of the short SimpleCNN training run (--quick: 2)")
    .option("lr", "LR", "0.005", "learning rate of the short training run (SGD, momentum 0.9)")
    .option("seed", "S", "8", "seed for weights and data")
}

fn heading(title: &str) {
    println!("\n## {title}\n");
}

/// The chapter itself.
pub fn run(args: &Args) -> Result<()> {
    let quick = args.flag("quick");
    let out = app::out_dir(args)?;
    let seed: u64 = args.get("seed")?;
    let epochs: usize = if quick && !args.was_given("epochs") {
        2
    } else {
        args.get("epochs")?
    };
    let learning_rate: f32 = args.get("lr")?;
    if !(learning_rate > 0.0 && learning_rate.is_finite()) {
        return Err(dlfs::Error::usage(format!(
            "--lr must be a positive number, got {}",
            dlfs::report::readable_number(f64::from(learning_rate))
        )));
    }

    println!("# 8. 卷积神经网络 — convolutional networks");
    convolution_by_hand();
    convolution_as_a_matrix_product();
    edge_filters(&out)?;
    pooling();
    simple_cnn(quick, epochs, learning_rate, seed)?;
    app::exercises_hint("ch08");
    Ok(())
}

/// The tiny image used by hand: a vertical edge (dark left, bright right) with a bright dot.
fn tiny_image() -> Tensor {
    Tensor::from_vec(
        &[1, 1, 5, 5],
        vec![
            0.0, 0.0, 1.0, 1.0, 1.0, //
            0.0, 0.0, 1.0, 1.0, 1.0, //
            0.0, 0.0, 1.0, 2.0, 1.0, //
            0.0, 0.0, 1.0, 1.0, 1.0, //
            0.0, 0.0, 1.0, 1.0, 1.0, //
        ],
    )
}

/// A 3×3 kernel that answers "is it brighter on the right than on the left?".
fn vertical_edge_kernel() -> Tensor {
    Tensor::from_vec(
        &[1, 1, 3, 3],
        vec![-1.0, 0.0, 1.0, -1.0, 0.0, 1.0, -1.0, 0.0, 1.0],
    )
}

fn convolution_by_hand() {
    heading("8.1 A convolution by hand");
    let x = tiny_image();
    let w = vertical_edge_kernel();
    println!(
        "A 5×5 image (a dark-to-bright edge, one brighter pixel):\n{}\n",
        x.clone().reshape(&[5, 5])
    );
    println!(
        "and a 3×3 kernel (right column minus left column: a vertical-edge detector):\n{}\n",
        w.clone().reshape(&[3, 3])
    );
    println!(
        "The kernel slides over the image; each output is the sum of the 9 products under it\n\
         (deep learning's \"convolution\" does not flip the kernel: it is a cross-correlation):\n"
    );
    for (r, s) in [(0, 0), (0, 1), (1, 2)] {
        let mut terms = Vec::new();
        let mut sum = 0.0;
        for i in 0..3 {
            for j in 0..3 {
                let (pixel, weight) = (x.at(&[0, 0, r + i, s + j]), w.at(&[0, 0, i, j]));
                if weight != 0.0 {
                    terms.push(format!("({weight})·{pixel}"));
                }
                sum += pixel * weight;
            }
        }
        println!("  y[{r},{s}] = {} = {sum}", terms.join(" + "));
    }
    let y = conv2d_reference(&x, &w, None, (1, 1), (0, 0));
    println!(
        "\nAll of it (six nested loops, `dlfs::nn::conv::conv2d_reference`):\n{}",
        y.clone().reshape(&[3, 3])
    );
    println!(
        "The response is large where the image gets brighter to the right (the edge), zero on the \
         flat dark part,\nand it changes around the bright dot: the kernel detects one local pattern \
         wherever it is."
    );

    println!("\nOutput size: H_out = (H + 2·padding − kernel) / stride + 1 (rounded down):\n");
    let mut table = Table::new(&["input", "kernel", "stride", "padding", "output"]);
    for (h, k, s, p) in [
        (5, 3, 1, 0),
        (5, 3, 1, 1),
        (5, 3, 2, 1),
        (32, 5, 1, 0),
        (52, 3, 1, 0),
    ] {
        let g = ConvGeometry {
            channels: 1,
            height: h,
            width: h,
            kernel_h: k,
            kernel_w: k,
            stride_h: s,
            stride_w: s,
            pad_h: p,
            pad_w: p,
        };
        table.row(&[
            format!("{h}×{h}"),
            format!("{k}×{k}"),
            s.to_string(),
            p.to_string(),
            format!("{}×{}", g.out_h(), g.out_w()),
        ]);
    }
    println!("{table}");
}

fn convolution_as_a_matrix_product() {
    heading("8.2 The same convolution as one matrix product (im2col)");
    let x = tiny_image();
    let w = vertical_edge_kernel();
    let g = ConvGeometry {
        channels: 1,
        height: 5,
        width: 5,
        kernel_h: 3,
        kernel_w: 3,
        stride_h: 1,
        stride_w: 1,
        pad_h: 0,
        pad_w: 0,
    };
    let (k, p) = (g.col_rows(), g.col_cols());
    let mut cols = vec![0.0; k * p];
    im2col(&g, x.data(), &mut cols);
    println!(
        "im2col copies every 3×3 patch into one column: a K×P = {k}×{p} matrix (K = C·kh·kw \
         weights per kernel,\nP = H_out·W_out output pixels). Column 0 is the top-left patch, \
         column 1 the patch one step right, …\n\n{}\n",
        Tensor::from_vec(&[k, p], cols.clone())
    );
    let mut y = vec![0.0; p];
    gemm_nn(1, p, k, w.data(), &cols, &mut y, 0.0);
    println!(
        "Then Y = W · cols, with the kernel as a 1×9 row, gives every output at once:\n{}\n",
        Tensor::from_vec(&[3, 3], y)
    );
    println!(
        "— the same numbers as the loops. With C_out kernels, W is C_out×K and one product \
         computes all\noutput channels; `dlfs::nn::Conv2d` does this per image, through the \
         fast GEMM, on all threads."
    );
}

/// A `side × side` image (row-major) enlarged `scale` times: every value repeated as a
/// `scale × scale` block (nearest neighbour, so no value is invented).
fn enlarge(values: &[f32], side: usize, scale: usize) -> Vec<f32> {
    let large = side * scale;
    (0..large * large)
        .map(|i| values[(i / large / scale) * side + (i % large) / scale])
        .collect()
}

/// A 64×64 grey picture: a bright disk, a bright rectangle and a diagonal bar on a dark background.
fn picture() -> Tensor {
    let side = 64;
    Tensor::from_fn(&[1, 1, side, side], |i| {
        let (y, x) = ((i / side) as f32, (i % side) as f32);
        let disk = (x - 18.0).powi(2) + (y - 20.0).powi(2) <= 100.0;
        let rectangle = (36.0..56.0).contains(&x) && (10.0..30.0).contains(&y);
        let bar = (x - y - 10.0).abs() < 2.5 && y > 38.0 && y < 60.0;
        if disk || rectangle || bar { 1.0 } else { 0.1 }
    })
}

fn edge_filters(out: &Path) -> Result<()> {
    heading("8.3 What a kernel detects: edge filters on a picture");
    let x = picture();
    // A convolution layer with two hand-made kernels (the Sobel filters) instead of learned ones.
    let mut conv = Conv2d::builder(1, 2, 3)
        .padding(1)
        .bias(false)
        .build(&mut Rng::new(0));
    let sobel_x = [-1.0, 0.0, 1.0, -2.0, 0.0, 2.0, -1.0, 0.0, 1.0];
    let sobel_y = [-1.0, -2.0, -1.0, 0.0, 0.0, 0.0, 1.0, 2.0, 1.0];
    conv.weight.value = Tensor::from_vec(&[2, 1, 3, 3], [sobel_x, sobel_y].concat());
    println!(
        "{} with the Sobel kernels (padding 1 keeps the size 64×64):\n  \
         vertical edges   {sobel_x:?}\n  horizontal edges {sobel_y:?}",
        conv.describe()
    );
    let y = conv.forward(&x, Mode::Eval);
    let side = 64;
    let plane = side * side;
    let (gx, gy) = (&y.data()[..plane], &y.data()[plane..]);
    let magnitude: Vec<f32> = gx
        .iter()
        .zip(gy)
        .map(|(a, b)| (a * a + b * b).sqrt())
        .collect();
    let files = [
        ("picture.png", x.data().to_vec(), 0.0, 1.0),
        ("edges_vertical.png", gx.to_vec(), -3.6, 3.6),
        ("edges_horizontal.png", gy.to_vec(), -3.6, 3.6),
        ("edges_magnitude.png", magnitude.clone(), 0.0, 3.6),
    ];
    // Each value becomes a 4×4 block of pixels: a 64×64 image is too small to see on a screen.
    let scale = 4;
    for (name, values, low, high) in &files {
        let path = out.join(name);
        let large = enlarge(values, side, scale);
        save_gray(&path, side * scale, side * scale, &large, *low, *high)?;
        println!(
            "wrote {} ({side}×{side} values, each drawn as {scale}×{scale} pixels)",
            path.display()
        );
    }
    // Where do they respond? On the rectangle's left/right sides vs its top/bottom sides.
    let at = |v: &[f32], r: usize, c: usize| v[r * side + c].abs();
    println!(
        "\n|response| on the rectangle's left side (row 20, col 36): vertical kernel {:.1}, \
         horizontal kernel {:.1}",
        at(gx, 20, 36),
        at(gy, 20, 36)
    );
    println!(
        "|response| on the rectangle's top side   (row 10, col 46): vertical kernel {:.1}, \
         horizontal kernel {:.1}",
        at(gx, 10, 46),
        at(gy, 10, 46)
    );
    let flat = magnitude.iter().filter(|&&m| m < 1e-6).count();
    println!(
        "On flat regions both are 0 ({flat} of {plane} pixels): a kernel fires only where its \
         pattern is.\nA CNN learns kernels like these from data instead of having them designed."
    );
    Ok(())
}

fn pooling() {
    heading("8.4 Pooling");
    let x = Tensor::from_vec(
        &[1, 1, 4, 4],
        vec![
            1.0, 3.0, 2.0, 0.0, //
            4.0, 2.0, 1.0, 1.0, //
            0.0, 1.0, 5.0, 6.0, //
            2.0, 2.0, 7.0, 3.0, //
        ],
    );
    println!("Input 4×4:\n{}\n", x.clone().reshape(&[4, 4]));
    let mut max_pool = MaxPool2d::new(2, 2);
    let y = max_pool.forward(&x, Mode::Train);
    println!(
        "{}: the largest value of each 2×2 window\n{}\n",
        max_pool.describe(),
        y.clone().reshape(&[2, 2])
    );
    let mut avg_pool = AvgPool2d::new(2, 2);
    let a = avg_pool.forward(&x, Mode::Eval);
    println!(
        "{}: the mean of each window\n{}\n",
        avg_pool.describe(),
        a.reshape(&[2, 2])
    );
    let dx = max_pool.backward(&Tensor::ones(&[1, 1, 2, 2]));
    println!(
        "Backward of max pooling with ∂L/∂y = 1 everywhere: the gradient goes only to each \
         window's maximum\n{}\n",
        dx.reshape(&[4, 4])
    );
    println!(
        "Pooling halves the height and width (a quarter of the values), has no parameters, and \
         makes the\nfeatures a little insensitive to where exactly a pattern is."
    );
}

/// Pictures for the SimpleCNN: the stand-in's 32×32 pictures drawn in grey levels, centred on a
/// 52×52 canvas (the input size the tutorial's flatten implies), normalised to −1…1.
fn grey_52(count: usize, seed: u64) -> (Tensor, Vec<usize>) {
    let set = cifar10_standin::generate_with(count, seed, Palette::Grey);
    let side = 52;
    let offset = (side - 32) / 2;
    let mut x = Tensor::full(&[count, 1, side, side], -1.0);
    for (i, image) in x.data_mut().chunks_exact_mut(side * side).enumerate() {
        let rgb = set.image(i);
        for y in 0..32 {
            for c in 0..32 {
                let p = y * 32 + c;
                let grey =
                    (f32::from(rgb[p]) + f32::from(rgb[1024 + p]) + f32::from(rgb[2048 + p])) / 3.0;
                image[(y + offset) * side + c + offset] = grey / 127.5 - 1.0;
            }
        }
    }
    let labels = (0..count).map(|i| set.label(i)).collect();
    (x, labels)
}

fn accuracy(model: &mut SmallCnn, x: &Tensor, labels: &[usize]) -> f32 {
    let mut correct = 0;
    for start in (0..labels.len()).step_by(100) {
        let end = (start + 100).min(labels.len());
        let indices: Vec<usize> = (start..end).collect();
        let predictions = model
            .forward(&x.select_rows(&indices), Mode::Eval)
            .argmax_rows();
        correct += predictions
            .iter()
            .zip(&labels[start..end])
            .filter(|(p, l)| p == l)
            .count();
    }
    correct as f32 / labels.len() as f32
}

fn simple_cnn(quick: bool, epochs: usize, learning_rate: f32, seed: u64) -> Result<()> {
    heading("8.5 The tutorial's SimpleCNN");
    let mut rng = Rng::new(seed);
    let mut model = SmallCnn::new(&mut rng);
    println!("{}\n", model.describe());
    println!(
        "The tutorial flattens with x.view(-1, 32 * 25 * 25): after a 3×3 convolution (−2) and a \
         2×2 pool (÷2)\nthat is 25×25, so the input must be 52×52 with one channel. Shapes for a \
         batch of 8 such images:\n"
    );
    let mut table = Table::new(&["layer", "output shape", "parameters"]);
    table.row(&["input", "[8, 1, 52, 52]", ""]);
    let mut current = Tensor::zeros(&[8, 1, 52, 52]);
    for (name, layer) in model.layers_mut() {
        current = layer.forward(&current, Mode::Eval);
        table.row(&[
            format!("{name}: {}", layer.describe()),
            format!("{:?}", current.shape()),
            param_count(layer).to_string(),
        ]);
    }
    println!("{table}");
    println!(
        "The ReLU runs after the pool (the tutorial: before). ReLU never changes which value is the \
         largest,\nso the result is the same, computed on a quarter of the values."
    );
    println!(
        "Total: {} parameters, 99 % of them in fc1 (20,000 inputs × 10 outputs).\n",
        param_count(&mut model)
    );

    heading("8.6 A short training run");
    let (train_count, test_count) = if quick { (1500, 300) } else { (4000, 1000) };
    let (x_train, y_train) = grey_52(train_count, seed);
    let (x_test, y_test) = grey_52(test_count, seed ^ 0xfeed);
    let batch = 32;
    let mut optimizer = Sgd::new(learning_rate).momentum(0.9);
    println!(
        "Data: {train_count} training and {test_count} test pictures of the chapter-12 stand-in's 10 \
         classes of shapes and textures,\ndrawn in grey levels on a 52×52 canvas. Cross-entropy, {}, \
         batch {batch}, {epochs} epoch(s).\n",
        optimizer.describe()
    );
    let before = accuracy(&mut model, &x_test, &y_test);
    println!(
        "test accuracy before training: {:.1} % (chance: 10 %)",
        100.0 * before
    );
    let mut after = before;
    for epoch in 1..=epochs {
        let order = rng.permutation(train_count);
        let mut progress = Progress::new(&format!("epoch {epoch}/{epochs}"), order.len());
        let (mut loss_sum, mut batches) = (0.0f64, 0);
        for indices in order.chunks(batch) {
            let x = x_train.select_rows(indices);
            let labels: Vec<usize> = indices.iter().map(|&i| y_train[i]).collect();
            optimizer.zero_grad(&mut model);
            let logits = model.forward(&x, Mode::Train);
            let loss = cross_entropy(&logits, &labels, Reduction::Mean);
            if !loss.value.is_finite() {
                return Err(dlfs::Error::Training {
                    step: optimizer.steps_taken() + 1,
                    message: format!(
                        "the loss is not finite; try a smaller --lr (e.g. {})",
                        dlfs::report::readable_number(f64::from(learning_rate) / 10.0)
                    ),
                });
            }
            model.backward(&loss.grad);
            optimizer.step(&mut model);
            loss_sum += f64::from(loss.value);
            batches += 1;
            progress.advance(indices.len());
        }
        progress.finish();
        after = accuracy(&mut model, &x_test, &y_test);
        println!(
            "epoch {epoch}: mean training loss {:.3}, test accuracy {:.1} %",
            loss_sum / f64::from(batches),
            100.0 * after
        );
    }
    println!(
        "\nTest accuracy {:.1} % → {:.1} % after {epochs} epoch(s) on {train_count} pictures{}.\n\
         Chapter 12 trains the deeper LeNet-style model (two convolutions, three Linear layers) on a \
         CIFAR-10-sized set.",
        100.0 * before,
        100.0 * after,
        if quick {
            " (--quick: a very short run; run without it for more)"
        } else {
            ""
        }
    );
    Ok(())
}

fn main() {
    app::main_for(command(), run);
}
