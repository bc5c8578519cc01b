//! Chapter 12 — 图像分类项目实操 (image classification on CIFAR-10).
//!
//! The tutorial's recipe, exactly: images normalised per channel with mean 0.5 and std 0.5, batches of
//! 64 (training batches shuffled), the LeNet-style `SimpleCNN` (`Conv2d(3,6,5) → ReLU → MaxPool(2,2) →
//! Conv2d(6,16,5) → ReLU → MaxPool(2,2) → flatten 400 → Linear(400,120) → ReLU → Linear(120,84) →
//! ReLU → Linear(84,10)`), cross-entropy, SGD with learning rate 0.001 and momentum 0.9, 10 epochs,
//! the running loss printed during training, and the accuracy on the 10,000 test images at the end.
//!
//! What it changes: the tutorial prints the running loss every 2000 iterations, which never happens
//! (an epoch has 782 batches); we print it every 200. Without `--data` it trains on a generated
//! stand-in in CIFAR-10's exact file format (shapes and textures, see `datasets/README.md`), because
//! the tutorial's `download=True` needs the internet; `--data DIR` reads the real dataset with the same
//! code. On top of the tutorial: per-epoch test accuracy, per-class accuracy, the confusion matrix,
//! curves (SVG), a picture of predictions (PNG) and the trained weights (safetensors, loadable into the
//! tutorial's PyTorch class).
//!
//! Using the trained model (section 12.5): the run is saved after every epoch (`--resume` continues
//! it, bit for bit, after an interruption), `--predict FILE...` classifies your own pictures (PNG,
//! PGM, PPM of any size, resized to 32×32), and `--evaluate` scores the saved model on the test
//! images without writing anything.

use dlfs::cli::{Args, Command};
use dlfs::data::cifar10::{self, Augmentation, Cifar10, ImageSet};
use dlfs::data::cifar10_standin::{self, StandinSize};
use dlfs::data::image;
use dlfs::loss::{CrossEntropyLoss, Loss, softmax};
use dlfs::nn::{CifarCnn, Layer, Mode, param_count};
use dlfs::optim::{Optimizer, Sgd};
use dlfs::probability::Rng;
use dlfs::report::{ImageGrid, Progress, Table, Tile};
use dlfs::train::resume::{SavedRun, TrainingProgress, TrainingRun};
use dlfs::train::{Batch, ConfusionMatrix, Dataset, EpochRecord, Metric, evaluate};
use dlfs::{Error, Result, Tensor, app, checkpoint};
use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// The seed of the generated stand-in (fixed, so every run reads the same pictures).
const STANDIN_SEED: u64 = 12;

/// What the tutorial's recipe gives on the real CIFAR-10, and where that figure comes from: it is
/// printed next to every result so that a stand-in accuracy is never mistaken for a CIFAR-10 one.
const REAL_CIFAR10_EXPECTATION: &str = "about 50 % test accuracy after 10 epochs";
/// The source of [`REAL_CIFAR10_EXPECTATION`].
const REAL_CIFAR10_SOURCE: &str = "source: PyTorch with the same network, data and settings, measured when this book was reviewed";

/// The saved model is `--out/MODEL_NAME.safetensors` (its training state beside it).
const MODEL_NAME: &str = "cifar10_cnn";

/// The chapter's flags (`--quick`, `--out`, `--threads` come from `app::chapter_command`).
pub fn command() -> Command {
    app::chapter_command(
        "ch12_image_classification",
        "CIFAR-10 image classification: the tutorial's LeNet-style CNN, trained with SGD + momentum.",
    )
    .option(
        "data",
        "DIR",
        "",
        "the real CIFAR-10, binary version (see datasets/README.md); default: a generated stand-in",
    )
    .option(
        "standin",
        "DIR",
        "",
        "where the generated stand-in is written and read (default: out/datasets/cifar10-standin, \
         or …-2500-1000 with --quick)",
    )
    .option(
        "epochs",
        "N",
        "10",
        "passes over the training images, at least 1: 0 is refused, so a run that trains nothing \
         never replaces the weights saved in --out (--quick: 1)",
    )
    .option("batch-size", "N", "64", "images per mini-batch")
    .option("lr", "LR", "0.001", "SGD learning rate")
    .option("momentum", "M", "0.9", "SGD momentum")
    .option("seed", "S", "0", "seed for the initial weights and the shuffling")
    .option("limit", "N", "", "use only the first N training images")
    .switch(
        "augment",
        "random crops (padding 4) and horizontal flips of training images (the tutorial has none)",
    )
    .switch(
        "resume",
        "continue the run saved in --out after its last complete epoch (with its settings; \
         --epochs may raise the target)",
    )
    .list(
        "predict",
        "FILE",
        "classify your own pictures (PNG, PGM or PPM, any size) with the saved model: top 3 classes",
    )
    .switch(
        "evaluate",
        "score the saved model on the test images and write nothing",
    )
    .option(
        "weights",
        "FILE",
        "",
        "the model for --predict and --evaluate (default: cifar10_cnn.safetensors in --out)",
    )
}

/// The chapter's settings, read from the flags.
struct Settings {
    quick: bool,
    epochs: usize,
    batch_size: usize,
    learning_rate: f32,
    momentum: f32,
    seed: u64,
    limit: Option<usize>,
    augment: bool,
    out: PathBuf,
}

impl Settings {
    fn from_args(args: &Args) -> Result<Settings> {
        let quick = args.flag("quick");
        let epochs = app::quick_or_given(args, "epochs", 1)?;
        let settings = Settings {
            quick,
            epochs,
            batch_size: args.get("batch-size")?,
            learning_rate: args.get("lr")?,
            momentum: args.get("momentum")?,
            seed: args.get("seed")?,
            limit: args.get_opt("limit")?,
            augment: args.flag("augment"),
            out: app::out_dir(args)?,
        };
        if settings.epochs == 0 {
            return Err(Error::usage(
                "--epochs must be at least 1: a run that trains nothing would replace the weights \
                 saved in --out with untrained ones",
            ));
        }
        if settings.batch_size == 0 {
            return Err(Error::usage("--batch-size must be at least 1"));
        }
        if settings.limit == Some(0) {
            return Err(Error::usage("--limit must be at least 1"));
        }
        if !(settings.learning_rate > 0.0 && settings.learning_rate.is_finite()) {
            return Err(Error::usage("--lr must be a positive number"));
        }
        if !(0.0..1.0).contains(&settings.momentum) {
            return Err(Error::usage("--momentum must be in [0, 1)"));
        }
        Ok(settings)
    }
}

fn heading(title: &str) {
    println!("\n## {title}\n");
}

/// The chapter itself.
pub fn run(args: &Args) -> Result<()> {
    if args.was_given("predict") {
        return predict(args);
    }
    if args.flag("evaluate") {
        return evaluate_saved(args);
    }
    let resumed = saved_run(args)?;
    let merged;
    let args = match &resumed {
        Some(saved) => {
            merged = saved.apply_to(args)?;
            &merged
        }
        None => args,
    };
    let settings = Settings::from_args(args)?;
    println!("# 12. 图像分类项目实操 — image classification (CIFAR-10)");
    heading("12.1 准备数据 — preparing the data");
    let mut data = load_data(args, settings.quick)?;
    if let Some(limit) = settings.limit {
        data.train.truncate(limit);
    }
    // What --batch-size asks for, checked before training: one batch of images through the network
    // (im2col of the first convolution and the activations: about 1.2 MB an image).
    let batch_images = settings
        .batch_size
        .min(data.train.len().max(data.test.len()));
    app::MemoryPlan::new().add(
        "--batch-size",
        settings.batch_size,
        "one batch's activations (about 1.2 MB an image)",
        app::bytes_of(batch_images, 1_200_000),
    )?;
    describe_data(&data, &settings)?;

    heading("12.2 定义模型 — the model");
    let mut rng = Rng::new(settings.seed);
    let mut model = CifarCnn::new(&mut rng);
    describe_model(&mut model);

    heading("12.3 训练模型 — training");
    let (progress, matrix) = train(&mut model, &data, &settings, &mut rng, resumed.as_ref())?;

    heading("12.4 测试模型 — testing");
    report_results(&mut model, &data, &settings, &progress, &matrix)?;
    Ok(())
}

/// Reads `--data DIR`, or makes sure the generated stand-in exists and reads it.
fn load_data(args: &Args, quick: bool) -> Result<Cifar10> {
    if let Some(dir) = args.get_opt::<PathBuf>("data")? {
        println!("Reading CIFAR-10 from {} …", dir.display());
        return cifar10::load(&dir);
    }
    let size = if quick {
        StandinSize::QUICK
    } else {
        StandinSize::FULL
    };
    let dir = args
        .get_opt::<PathBuf>("standin")?
        .unwrap_or_else(|| cifar10_standin::default_dir(size));
    println!(
        "No --data given: using the generated stand-in ({} training + {} test pictures of shapes \
         and textures,\nin CIFAR-10's binary format; see datasets/README.md for the real dataset). \
         Accuracies on it are not\nCIFAR-10 accuracies: 12.4 prints what the real data gives next \
         to them.",
        size.train, size.test
    );
    let started = Instant::now();
    if cifar10_standin::ensure(&dir, size, STANDIN_SEED)? {
        println!(
            "Generated it in {:.1} s and wrote {}",
            started.elapsed().as_secs_f64(),
            dir.display()
        );
    } else {
        println!("Found it in {}", dir.display());
    }
    cifar10::load(&dir)
}

fn describe_data(data: &Cifar10, settings: &Settings) -> Result<()> {
    println!(
        "{} training and {} test images of 3×32×32 bytes from {}{}",
        data.train.len(),
        data.test.len(),
        data.folder.display(),
        settings
            .limit
            .map_or(String::new(), |l| format!(" (--limit {l})"))
    );
    if data.train.is_empty() || data.test.is_empty() {
        return Err(Error::data(
            "the training and the test set must each hold at least one image",
        ));
    }
    let counts = data.train.class_counts();
    let mut table = Table::new(&["label", "class", "training images"]);
    for (label, name) in data.classes.iter().enumerate() {
        table.row(&[label.to_string(), name.clone(), counts[label].to_string()]);
    }
    println!("{table}");
    println!(
        "transforms.ToTensor() then Normalize((0.5, 0.5, 0.5), (0.5, 0.5, 0.5)): x = (byte/255 − 0.5) \
         / 0.5,\nso byte 0 → {}, 128 → {:.4}, 255 → {}. Batches of {}: {} per epoch (the training \
         order is shuffled every epoch).",
        cifar10::normalize(0),
        cifar10::normalize(128),
        cifar10::normalize(255),
        settings.batch_size,
        data.train.len().div_ceil(settings.batch_size)
    );
    if settings.augment {
        println!("--augment: random 32×32 crops of the image padded by 4, and horizontal flips.");
    }
    let path = settings.out.join("train_samples.png");
    let mut grid = ImageGrid::new(10, 3);
    for i in 0..data.train.len().min(20) {
        let mut tile = Tile::from_planar(32, 32, data.train.image(i));
        tile.caption = class_name(&data.classes, data.train.label(i));
        grid.push(tile);
    }
    grid.save(&path)?;
    println!(
        "wrote {} (the first 20 training images, captioned with their class)",
        path.display()
    );
    Ok(())
}

fn describe_model(model: &mut CifarCnn) {
    println!("{}\n", model.describe());
    let mut table = Table::new(&["layer", "output shape", "parameters"]);
    table.row(&["input", "[1, 3, 32, 32]", ""]);
    let mut current = Tensor::zeros(&[1, 3, 32, 32]);
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
        "{} parameters in all. (Each ReLU runs after its pool instead of before: max-pooling ReLU \
         outputs\nequals ReLU of the max-pooled values, so the numbers are the same, with a quarter \
         of the work.)",
        param_count(model)
    );
}

/// CIFAR-10 images as a [`Dataset`] for `evaluate` and the training loop: normalised (and, for
/// training with `--augment`, randomly cropped and flipped) while they are gathered into a batch.
struct CifarDataset<'a> {
    images: &'a ImageSet,
    /// The augmentation and its generator (in a `RefCell` because `gather` takes `&self`).
    augmentation: Option<(Augmentation, RefCell<Rng>)>,
}

impl Dataset for CifarDataset<'_> {
    fn len(&self) -> usize {
        self.images.len()
    }

    fn input_shape(&self) -> Vec<usize> {
        vec![cifar10::CHANNELS, cifar10::SIDE, cifar10::SIDE]
    }

    fn target_shape(&self) -> Vec<usize> {
        Vec::new()
    }

    fn gather(&self, indices: &[usize], inputs: &mut [f32], targets: &mut [f32]) {
        match &self.augmentation {
            None => self.images.write_images(indices, None, inputs),
            Some((augment, rng)) => {
                let mut rng = rng.borrow_mut();
                self.images
                    .write_images(indices, Some((augment, &mut rng)), inputs);
            }
        }
        for (t, &i) in targets.iter_mut().zip(indices) {
            *t = self.images.label(i) as f32;
        }
    }
}

/// The tutorial's training loop, plus a test evaluation after every epoch and a save of the run
/// (model and training state) after it. With `resumed`, the loop continues the saved run after its
/// last complete epoch. Returns where the run stands (with the history of every epoch) and the
/// final confusion matrix on the test set.
fn train(
    model: &mut CifarCnn,
    data: &Cifar10,
    settings: &Settings,
    rng: &mut Rng,
    resumed: Option<&SavedRun>,
) -> Result<(TrainingProgress, ConfusionMatrix)> {
    let criterion = CrossEntropyLoss::new();
    let mut optimizer = Sgd::new(settings.learning_rate).momentum(settings.momentum);
    let augment_rng = settings.augment.then(|| rng.fork());
    let shuffle_rng = rng.fork();
    let run = training_run(settings, data);
    let mut state = match resumed {
        Some(saved) => {
            let state = saved.restore(model, &mut optimizer)?;
            println!(
                "Resuming the run saved in {} after epoch {} of {} (weights, momentum buffers, \
                 shuffling and history restored).\n",
                settings.out.display(),
                state.epochs_done,
                settings.epochs
            );
            state
        }
        None => {
            let mut fresh = TrainingProgress::new(settings.learning_rate);
            fresh.set_rng("shuffle", &shuffle_rng);
            if let Some(generator) = &augment_rng {
                fresh.set_rng("augment", generator);
            }
            fresh.set_order("shuffle", &(0..data.train.len()).collect::<Vec<_>>());
            fresh.history.metric_name = "accuracy".to_string();
            fresh
        }
    };
    let train_data = CifarDataset {
        images: &data.train,
        augmentation: settings
            .augment
            .then(|| state.rng("augment"))
            .transpose()?
            .map(|generator| (Augmentation::standard(), RefCell::new(generator))),
    };
    let test_data = CifarDataset {
        images: &data.test,
        augmentation: None,
    };
    let batches = data.train.len().div_ceil(settings.batch_size);
    println!(
        "criterion = nn.CrossEntropyLoss(); optimizer = {}\n{} epochs of {batches} batches. The \
         tutorial prints the running loss every 2000 batches\n(never, with {batches} per epoch); \
         here every 200.\n",
        optimizer.describe(),
        settings.epochs
    );
    let mut batch = Batch::new();
    let mut order = state.order("shuffle", data.train.len())?;
    let mut shuffle_rng = state.rng("shuffle")?;
    let training_started = Instant::now();
    let mut images_seen = 0usize;
    for epoch in state.epochs_done + 1..=settings.epochs {
        let started = Instant::now();
        shuffle_rng.shuffle(&mut order);
        let mut progress = Progress::new(&format!("epoch {epoch}/{}", settings.epochs), batches);
        let (mut running_loss, mut loss_sum, mut correct) = (0.0f64, 0.0f64, 0usize);
        for (i, indices) in order.chunks(settings.batch_size).enumerate() {
            let (inputs, labels) = batch.load(&train_data, indices);
            // The tutorial's five lines: zero_grad, forward, loss, backward, step.
            optimizer.zero_grad(model);
            let outputs = model.forward(&inputs, Mode::Train);
            let loss = criterion.compute(&outputs, &labels);
            if !loss.value.is_finite() {
                return Err(Error::Training {
                    step: optimizer.steps_taken() + 1,
                    message: format!(
                        "the loss became {} in epoch {epoch}, batch {}; try a smaller --lr \
                         (e.g. {})",
                        loss.value,
                        i + 1,
                        dlfs::report::readable_number(f64::from(settings.learning_rate) / 10.0)
                    ),
                });
            }
            model.backward(&loss.grad);
            optimizer.step(model);

            running_loss += f64::from(loss.value);
            loss_sum += f64::from(loss.value) * indices.len() as f64;
            correct += outputs
                .argmax_rows()
                .iter()
                .zip(labels.data())
                .filter(|&(&p, &t)| p as f32 == t)
                .count();
            if i % 200 == 199 {
                println!(
                    "Epoch {epoch}, Iteration {}, Loss: {:.3}",
                    i + 1,
                    running_loss / 200.0
                );
                running_loss = 0.0;
            }
            batch.recycle(inputs, labels);
            progress.advance(1);
        }
        progress.finish();
        images_seen += data.train.len();
        let train_seconds = started.elapsed().as_secs_f64();
        let test = evaluate(
            model,
            &criterion,
            &test_data,
            settings.batch_size,
            Metric::Accuracy,
        )?;
        let record = EpochRecord {
            epoch,
            loss: (loss_sum / data.train.len() as f64) as f32,
            metric: Some(correct as f32 / data.train.len() as f32),
            validation_loss: Some(test.loss),
            validation_metric: test.metric,
            learning_rate: optimizer.learning_rate(),
            seconds: started.elapsed().as_secs_f64(),
        };
        println!(
            "epoch {epoch}: training loss {:.3}, training accuracy {:.1} %, test loss {:.3}, test \
             accuracy {:.1} %  ({:.0} images/s)",
            record.loss,
            100.0 * record.metric.unwrap_or(0.0),
            test.loss,
            100.0 * test.metric.unwrap_or(0.0),
            data.train.len() as f64 / train_seconds
        );
        state.history.epochs.push(record);
        state.epochs_done = epoch;
        state.set_rng("shuffle", &shuffle_rng);
        state.set_order("shuffle", &order);
        if let Some((_, generator)) = &train_data.augmentation {
            state.set_rng("augment", &generator.borrow());
        }
        let accuracy = format!("{:.4}", test.metric.unwrap_or(0.0));
        run.save_with_metadata(model, &optimizer, &state, &[("test_accuracy", &accuracy)])?;
    }
    println!(
        "\nTrained on {images_seen} images in {:.1} s (with the test evaluations).",
        training_started.elapsed().as_secs_f64()
    );
    let matrix =
        dlfs::train::confusion_matrix(model, &test_data, cifar10::CLASSES, settings.batch_size);
    Ok((state, matrix))
}

fn report_results(
    model: &mut CifarCnn,
    data: &Cifar10,
    settings: &Settings,
    progress: &TrainingProgress,
    matrix: &ConfusionMatrix,
) -> Result<()> {
    let standin = data.folder.join(cifar10_standin::MARKER_FILE).exists();
    let history = &progress.history;
    println!(
        "Accuracy of the model on the {} test images: {:.2}%  (chance: 10 %; the tutorial states \
         no number)",
        matrix.total(),
        100.0 * matrix.accuracy()
    );
    if standin {
        println!(
            "  ↑ on the generated STAND-IN (shapes and textures), far easier than CIFAR-10's photos:\n\
             \x20   not a CIFAR-10 result.\n\
             \x20 On the real CIFAR-10 (--data DIR): {REAL_CIFAR10_EXPECTATION}\n\
             \x20   ({REAL_CIFAR10_SOURCE};\n\
             \x20   not measured by this run)."
        );
    } else {
        println!(
            "  ↑ on the CIFAR-10 files from --data. For reference, the same recipe: {REAL_CIFAR10_EXPECTATION}\n\
             \x20   ({REAL_CIFAR10_SOURCE})."
        );
    }
    let steps = settings.epochs * data.train.len().div_ceil(settings.batch_size);
    if steps < 500 {
        println!(
            "(Only {steps} SGD steps: with the tutorial's learning rate of 0.001 the network needs a \
             few hundred steps\nbefore the loss moves much. Run without --quick/--limit for the \
             full 10 epochs × 782 steps.)"
        );
    }
    let names: Vec<&str> = data.classes.iter().map(String::as_str).collect();
    let mut table = Table::new(&["class", "test images", "correct", "accuracy"]);
    for (c, name) in names.iter().enumerate() {
        let total: usize = (0..cifar10::CLASSES).map(|p| matrix.count(c, p)).sum();
        table.row(&[
            name.to_string(),
            total.to_string(),
            matrix.count(c, c).to_string(),
            format!("{:.1}%", 100.0 * matrix.recall(c)),
        ]);
    }
    println!("\nAccuracy per class:\n\n{table}");
    println!(
        "Confusion matrix (rows: the true class; columns: the predicted class, by the index in front\n\
         of each row's name):\n\n{}",
        matrix.render(Some(&names))
    );
    // The per-epoch numbers were printed during training (12.3) and are drawn in the two SVGs.
    let out = &settings.out;
    let loss_path = out.join("loss.svg");
    history
        .loss_plot("CIFAR-10 CNN: loss per epoch")
        .save(&loss_path)?;
    println!("wrote {}", loss_path.display());
    if let Some(plot) = history.metric_plot("CIFAR-10 CNN: accuracy per epoch") {
        let path = out.join("accuracy.svg");
        plot.save(&path)?;
        println!("wrote {}", path.display());
    }
    save_prediction_grid(model, &data.test, &names, &out.join("test_predictions.png"))?;
    describe_saved_run(&training_run(settings, data), progress.epochs_done);
    Ok(())
}

/// The name of class `label`, or its number when the dataset has no name for it.
fn class_name(classes: &[String], label: usize) -> String {
    classes
        .get(label)
        .cloned()
        .unwrap_or_else(|| label.to_string())
}

/// A PNG of the first 40 test images, each captioned with the predicted class and, below it in
/// parentheses, the true class, and framed green when the prediction is right, red when it is wrong.
fn save_prediction_grid(
    model: &mut CifarCnn,
    test: &ImageSet,
    names: &[&str],
    path: &Path,
) -> Result<()> {
    let count = test.len().min(40);
    let indices: Vec<usize> = (0..count).collect();
    let (images, labels) = test.batch(&indices);
    let predictions = model.forward(&images, Mode::Eval).argmax_rows();
    let name = |label: usize| {
        names
            .get(label)
            .map_or(label.to_string(), |n| n.to_string())
    };
    let mut grid = ImageGrid::new(8, 3);
    let mut right = 0;
    for (i, (&predicted, &actual)) in predictions.iter().zip(&labels).enumerate() {
        let mut tile = Tile::from_planar(32, 32, test.image(i));
        tile.caption = format!("{}\n({})", name(predicted), name(actual));
        tile.frame = Some(if predicted == actual {
            right += 1;
            [0, 160, 60]
        } else {
            [220, 30, 30]
        });
        grid.push(tile);
    }
    grid.save(path)?;
    println!(
        "wrote {} — the first {count} test images, captioned with the predicted class and, in\n  \
         parentheses, the true one; framed green when right ({right} of {count}), red when wrong",
        path.display(),
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// 12.5 Using the trained model: resume, predict, evaluate
// ---------------------------------------------------------------------------------------------

/// The run this chapter saves in `--out`, with the flags that define it.
fn training_run(settings: &Settings, data: &Cifar10) -> TrainingRun {
    let optional = |v: Option<usize>| v.map_or(String::new(), |v| v.to_string());
    TrainingRun::new(&settings.out, MODEL_NAME)
        .run_setting("data", data.folder.display())
        .run_setting("quick", if settings.quick { "true" } else { "" })
        .run_setting("batch-size", settings.batch_size)
        .run_setting("lr", settings.learning_rate)
        .run_setting("momentum", settings.momentum)
        .run_setting("seed", settings.seed)
        .run_setting("limit", optional(settings.limit))
        .run_setting("augment", if settings.augment { "true" } else { "" })
        .epochs(settings.epochs)
        .metadata("model", "SimpleCNN (tutorial chapter 12)")
        .metadata("dataset", data.folder.display())
        .metadata("epochs", settings.epochs)
        .metadata("classes", data.classes.join(","))
}

/// With `--resume`, the run saved in `--out`.
fn saved_run(args: &Args) -> Result<Option<SavedRun>> {
    if !args.flag("resume") {
        return Ok(None);
    }
    let saved = TrainingRun::new(&app::out_dir(args)?, MODEL_NAME).load()?;
    Ok(Some(saved))
}

/// Prints where the run is saved and how to use it.
fn describe_saved_run(run: &TrainingRun, epochs_done: usize) {
    if epochs_done == 0 {
        println!("(No epoch was trained, so nothing was saved.)");
        return;
    }
    let weights = run.model_path();
    println!(
        "\n## 12.5 Using the trained model\n\nwrote {} — the weights after epoch {epochs_done}, with \
         PyTorch's names (conv1.weight, …, fc3.bias):\n  \
         model.load_state_dict(safetensors.torch.load_file(\"{}\"))\nwrote {} — the optimizer's \
         momentum buffers, the shuffling and the history: both are rewritten after every epoch.\n  \
         continue an interrupted run:  --resume   (same --out; --epochs N to go further)\n  \
         classify your pictures:       --predict photo.png other.ppm\n  \
         score the saved model:        --evaluate",
        weights.display(),
        weights.display(),
        run.state_path().display()
    );
}

/// `--weights FILE`, or the model file in `--out`.
fn weights_path(args: &Args) -> Result<PathBuf> {
    match args.get_opt::<PathBuf>("weights")? {
        Some(path) => Ok(path),
        None => Ok(app::out_dir(args)?.join(format!("{MODEL_NAME}.safetensors"))),
    }
}

/// A trained model read back from its file.
struct SavedModel {
    model: CifarCnn,
    /// The file's `__metadata__` pairs (epochs, test accuracy, dataset, class names).
    metadata: Vec<(String, String)>,
    path: PathBuf,
}

/// The model in `--weights` (or in `--out`).
fn load_saved_model(args: &Args) -> Result<SavedModel> {
    let path = weights_path(args)?;
    if !path.is_file() {
        return Err(Error::usage(format!(
            "there is no trained model at {}: train one first (cargo run --release --bin \
             ch12_image_classification, with the same --out), or name one with --weights FILE",
            path.display()
        )));
    }
    let mut model = CifarCnn::new(&mut Rng::new(0));
    let metadata = checkpoint::load(&mut model, &path)?;
    Ok(SavedModel {
        model,
        metadata,
        path,
    })
}

fn metadata_value<'a>(metadata: &'a [(String, String)], key: &str) -> Option<&'a str> {
    metadata
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// `--predict FILE...`: each picture decoded, resized to 32×32 (area averaging when shrinking),
/// normalised as the training images were, and classified; prints the top 3 classes.
fn predict(args: &Args) -> Result<()> {
    heading("12.5 Using the trained model: your own pictures");
    let SavedModel {
        mut model,
        metadata,
        path,
    } = load_saved_model(args)?;
    let classes: Vec<String> = match metadata_value(&metadata, "classes") {
        Some(list) if list.split(',').count() == cifar10::CLASSES => {
            list.split(',').map(str::to_string).collect()
        }
        _ => cifar10::CLASS_NAMES.iter().map(|c| c.to_string()).collect(),
    };
    println!(
        "Model: {} ({} epochs, test accuracy {} on {}).\nEach picture is stretched to 32×32 \
         (area averaging), its alpha channel dropped, and normalised as in training: \
         (byte/255 − 0.5)/0.5.\n",
        path.display(),
        metadata_value(&metadata, "epochs_done").unwrap_or("?"),
        metadata_value(&metadata, "test_accuracy").unwrap_or("?"),
        metadata_value(&metadata, "dataset").unwrap_or("?")
    );
    let mut failures = 0;
    let files = args.values("predict");
    for file in files {
        match classify(&mut model, Path::new(file)) {
            Ok((picture, probabilities)) => {
                let mut ranked: Vec<usize> = (0..probabilities.len()).collect();
                ranked.sort_by(|&a, &b| probabilities[b].total_cmp(&probabilities[a]));
                let top: Vec<String> = ranked
                    .iter()
                    .take(3)
                    .map(|&c| format!("{} {:.1} %", classes[c], 100.0 * probabilities[c]))
                    .collect();
                println!(
                    "{file} ({}×{}{}): {}",
                    picture.width,
                    picture.height,
                    if picture.has_transparency() {
                        ", transparency ignored"
                    } else {
                        ""
                    },
                    top.join(", ")
                );
            }
            Err(e) => {
                failures += 1;
                eprintln!("error: {e}");
            }
        }
    }
    if failures > 0 {
        return Err(Error::data(format!(
            "{failures} of {} pictures could not be classified (see the messages above)",
            files.len()
        )));
    }
    Ok(())
}

/// One picture through the model: the decoded picture and the ten class probabilities.
fn classify(model: &mut CifarCnn, path: &Path) -> Result<(image::Image, Vec<f32>)> {
    let picture = image::read(path)?;
    let planes = picture.resize(cifar10::SIDE, cifar10::SIDE).planar_rgb();
    let input = Tensor::from_vec(
        &[1, cifar10::CHANNELS, cifar10::SIDE, cifar10::SIDE],
        planes.iter().map(|&b| cifar10::normalize(b)).collect(),
    );
    let logits = model.forward(&input, Mode::Inference);
    Ok((picture, softmax(&logits).into_data()))
}

/// `--evaluate`: the saved model on the test images of `--data` (or of the data it was trained
/// on), accuracy overall and per class. Writes nothing (not even a stand-in: it must exist).
fn evaluate_saved(args: &Args) -> Result<()> {
    heading("12.5 Using the trained model: evaluation only");
    let SavedModel {
        mut model,
        metadata,
        path,
    } = load_saved_model(args)?;
    let folder = match args.get_opt::<PathBuf>("data")? {
        Some(dir) => dir,
        None => match metadata_value(&metadata, "dataset") {
            Some(dir) => PathBuf::from(dir),
            None => {
                return Err(Error::usage(format!(
                    "{} does not say which data it was trained on: give --data DIR",
                    path.display()
                )));
            }
        },
    };
    println!(
        "Model {}; test images from {}.",
        path.display(),
        folder.display()
    );
    let data = cifar10::load(&folder)?;
    let test_data = CifarDataset {
        images: &data.test,
        augmentation: None,
    };
    let batch_size = args.get::<usize>("batch-size")?.max(1);
    let matrix =
        dlfs::train::confusion_matrix(&mut model, &test_data, cifar10::CLASSES, batch_size);
    println!(
        "Accuracy of the model on the {} test images: {:.2}%",
        matrix.total(),
        100.0 * matrix.accuracy()
    );
    let names: Vec<&str> = data.classes.iter().map(String::as_str).collect();
    let mut table = Table::new(&["class", "accuracy"]);
    for (c, name) in names.iter().enumerate() {
        table.row(&[
            name.to_string(),
            format!("{:.1}%", 100.0 * matrix.recall(c)),
        ]);
    }
    println!("\n{table}");
    Ok(())
}

fn main() {
    app::main_for(command(), run);
}
