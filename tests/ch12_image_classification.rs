//! Chapter 12 (图像分类项目实操): the CIFAR-10 reader and writer, the generated stand-in, the model's
//! training, and the chapter binary's error handling.
//!
//! - The reader round-trips the writer, and rejects empty, truncated, oversized and bad-label files,
//!   a missing folder or file, and a class-name file without ten names — with messages that say what
//!   was looked for and point to `datasets/README.md`.
//! - Normalisation is the tutorial's `(x/255 − 0.5)/0.5`; augmentation only crops and mirrors.
//! - The stand-in is deterministic, written once, then found again; it never overwrites real data.
//! - A few SGD steps on a generated batch lower the loss; the same seed gives bit-identical weights
//!   with 1 and 2 threads; the chapter runs end to end and its weights load back.

use dlfs::data::cifar10::{
    self, Augmentation, ImageSet, encode_records, normalize, parse_records, write_dataset,
};
use dlfs::data::cifar10_standin::{self, StandinSize};
use dlfs::loss::{Reduction, cross_entropy};
use dlfs::nn::{CifarCnn, Layer, Mode};
use dlfs::optim::{Optimizer, Sgd};
use dlfs::probability::Rng;
use dlfs::{Error, app, checkpoint, parallel};
use std::path::PathBuf;
use std::sync::Mutex;

#[allow(dead_code)]
#[path = "../chapters/ch12_image_classification.rs"]
mod ch12;
mod saved_runs;
use saved_runs::snapshot;

/// Tests that change the global thread count run one at a time.
static THREADS: Mutex<()> = Mutex::new(());

/// A fresh, empty folder under the system's temporary folder.
fn temp_folder(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("dlfs-ch12-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create a temporary folder");
    dir
}

fn small_set(count: usize, seed: u64) -> ImageSet {
    cifar10_standin::generate(count, seed)
}

#[test]
fn the_reader_round_trips_the_writer() {
    let dir = temp_folder("round-trip");
    let train = small_set(23, 1); // 23 images over 5 files: 5, 5, 5, 4, 4
    let test = small_set(7, 2);
    write_dataset(&dir, &train, &test, &cifar10::CLASS_NAMES).unwrap();
    let sizes: Vec<u64> = cifar10::TRAIN_FILES
        .iter()
        .map(|f| std::fs::metadata(dir.join(f)).unwrap().len())
        .collect();
    assert_eq!(
        sizes,
        vec![5 * 3073, 5 * 3073, 5 * 3073, 4 * 3073, 4 * 3073]
    );
    let data = cifar10::load(&dir).unwrap();
    assert_eq!(data.train, train);
    assert_eq!(data.test, test);
    assert_eq!(data.classes, cifar10::CLASS_NAMES.to_vec());
    // The record layout: label byte, then red, green, blue planes.
    let bytes = std::fs::read(dir.join(cifar10::TEST_FILE)).unwrap();
    assert_eq!(usize::from(bytes[0]), test.label(0));
    assert_eq!(&bytes[1..3073], test.image(0));
    // The folder the official archive unpacks to is found from its parent too.
    let parent = temp_folder("archive");
    let nested = parent.join(cifar10::ARCHIVE_FOLDER);
    write_dataset(&nested, &train, &test, &cifar10::CLASS_NAMES).unwrap();
    assert_eq!(cifar10::load(&parent).unwrap().train, train);
    let _ = std::fs::remove_dir_all(dir);
    let _ = std::fs::remove_dir_all(parent);
}

fn format_message(result: dlfs::Result<ImageSet>) -> String {
    match result {
        Err(e @ Error::Format { .. }) => e.to_string(),
        Err(other) => panic!("expected a format error, got {other}"),
        Ok(set) => panic!("expected an error, read {} images", set.len()),
    }
}

#[test]
fn bad_batch_files_are_clear_errors_not_panics() {
    let good = encode_records(&small_set(3, 3));
    // Truncated: the last record is cut short.
    let message = format_message(parse_records("cut.bin", &good[..good.len() - 100]));
    assert!(
        message.contains("2 records and 2973 bytes left over"),
        "{message}"
    );
    assert!(message.contains("datasets/README.md"), "{message}");
    // Oversized: stray bytes after the last record.
    let mut padded = good.clone();
    padded.extend_from_slice(&[0; 5]);
    let message = format_message(parse_records("padded.bin", &padded));
    assert!(
        message.contains("3 records and 5 bytes left over"),
        "{message}"
    );
    // Empty.
    let message = format_message(parse_records("empty.bin", &[]));
    assert!(message.contains("empty"), "{message}");
    // A label above 9, in the second record.
    let mut bad_label = good.clone();
    bad_label[3073] = 10;
    let message = format_message(parse_records("label.bin", &bad_label));
    assert!(
        message.contains("record 1") && message.contains("label 10"),
        "{message}"
    );
    assert_eq!(parse_records("good.bin", &good).unwrap().len(), 3);
}

#[test]
fn a_missing_folder_or_file_names_what_was_looked_for() {
    let missing = std::env::temp_dir().join("dlfs-no-such-cifar-folder");
    let message = cifar10::load(&missing).unwrap_err().to_string();
    for expected in [
        "data_batch_1.bin",
        "test_batch.bin",
        "batches.meta.txt",
        "datasets/README.md",
    ] {
        assert!(message.contains(expected), "{expected} not in: {message}");
    }
    let dir = temp_folder("missing-file");
    write_dataset(
        &dir,
        &small_set(5, 4),
        &small_set(2, 5),
        &cifar10::CLASS_NAMES,
    )
    .unwrap();
    std::fs::remove_file(dir.join("data_batch_3.bin")).unwrap();
    std::fs::remove_file(dir.join("batches.meta.txt")).unwrap();
    let message = cifar10::load(&dir).unwrap_err().to_string();
    assert!(
        message.contains("missing data_batch_3.bin, batches.meta.txt"),
        "{message}"
    );
    // A class-name file with nine names.
    write_dataset(
        &dir,
        &small_set(5, 4),
        &small_set(2, 5),
        &cifar10::CLASS_NAMES,
    )
    .unwrap();
    std::fs::write(
        dir.join("batches.meta.txt"),
        cifar10::CLASS_NAMES[..9].join("\n"),
    )
    .unwrap();
    let message = cifar10::load(&dir).unwrap_err().to_string();
    assert!(message.contains("expected 10 class names"), "{message}");
    // A truncated training file inside a folder is reported with its path.
    write_dataset(
        &dir,
        &small_set(5, 4),
        &small_set(2, 5),
        &cifar10::CLASS_NAMES,
    )
    .unwrap();
    let path = dir.join("data_batch_2.bin");
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() - 1]).unwrap();
    let message = cifar10::load(&dir).unwrap_err().to_string();
    assert!(message.contains("data_batch_2.bin"), "{message}");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn normalisation_is_the_tutorials() {
    // (x/255 − 0.5)/0.5, exactly as torchvision computes it in f32.
    for byte in [0u8, 1, 127, 128, 200, 255] {
        let expected = (f32::from(byte) / 255.0 - 0.5) / 0.5;
        assert_eq!(normalize(byte), expected);
        assert_eq!(cifar10::denormalize(normalize(byte)), byte);
    }
    assert_eq!((normalize(0), normalize(255)), (-1.0, 1.0));
    let set = small_set(4, 6);
    let (x, labels) = set.batch(&[2, 0]);
    assert_eq!(x.shape(), &[2, 3, 32, 32]);
    assert_eq!(labels, vec![set.label(2), set.label(0)]);
    assert_eq!(x.at(&[1, 2, 31, 31]), normalize(set.image(0)[3071]));
}

#[test]
fn augmentation_only_crops_and_mirrors() {
    let set = small_set(6, 7);
    let augment = Augmentation::standard();
    let mut rng = Rng::new(8);
    let mut out = vec![0.0f32; 3072];
    let (mut flipped, mut shifted) = (0, 0);
    for trial in 0..40 {
        let i = trial % set.len();
        set.write_images(&[i], Some((&augment, &mut rng)), &mut out);
        let image = set.image(i);
        // Some crop offset (dy, dx) in 0..=8 and flip reproduce the output exactly.
        let pixel = |c: usize, y: isize, x: isize| {
            if (0..32).contains(&y) && (0..32).contains(&x) {
                normalize(image[c * 1024 + y as usize * 32 + x as usize])
            } else {
                normalize(0) // black padding
            }
        };
        let found = (0..=8isize)
            .flat_map(|dy| (0..=8isize).flat_map(move |dx| [(dy, dx, false), (dy, dx, true)]))
            .find(|&(dy, dx, flip)| {
                (0..3).all(|c| {
                    (0..32isize).all(|y| {
                        (0..32isize).all(|x| {
                            let sx = if flip { 31 - x } else { x };
                            out[c * 1024 + y as usize * 32 + x as usize]
                                == pixel(c, y + dy - 4, sx + dx - 4)
                        })
                    })
                })
            });
        let (dy, dx, flip) = found.expect("the output is a crop (and maybe a mirror) of the image");
        flipped += usize::from(flip);
        shifted += usize::from((dy, dx) != (4, 4));
    }
    // Random, not stuck: both flips happen, and most crops move the image.
    assert!((5..=35).contains(&flipped), "{flipped} of 40 flipped");
    assert!(shifted >= 30, "{shifted} of 40 shifted");
    // Without cropping and flipping, augmentation is the plain normalisation.
    let none = Augmentation {
        crop_padding: 0,
        horizontal_flip: false,
    };
    set.write_images(&[3], Some((&none, &mut rng)), &mut out);
    assert_eq!(out, set.batch(&[3]).0.into_data());
}

#[test]
fn the_stand_in_is_deterministic_balanced_and_written_once() {
    let a = small_set(50, 9);
    assert_eq!(a, small_set(50, 9), "same seed, same pictures");
    assert_ne!(a, small_set(50, 10), "another seed, other pictures");
    assert_eq!(a.class_counts(), [5; 10]);
    // Pictures of one class differ from each other (random position, colours, noise).
    assert_ne!(a.image(0), a.image(10));

    let dir = temp_folder("standin");
    let size = StandinSize {
        train: 40,
        test: 10,
    };
    assert!(
        cifar10_standin::ensure(&dir, size, 3).unwrap(),
        "first use writes"
    );
    assert!(
        !cifar10_standin::ensure(&dir, size, 3).unwrap(),
        "second use finds it"
    );
    let data = cifar10::load(&dir).unwrap();
    assert_eq!(data.train, small_set(40, 3));
    assert_eq!(data.classes, cifar10_standin::CLASS_NAMES.to_vec());
    // Another seed or size regenerates it.
    assert!(cifar10_standin::ensure(&dir, size, 4).unwrap());
    assert_eq!(cifar10::load(&dir).unwrap().train, small_set(40, 4));

    // A folder holding CIFAR-10 files without the marker (maybe the real data) is left alone.
    let real = temp_folder("real");
    write_dataset(
        &real,
        &small_set(5, 1),
        &small_set(5, 2),
        &cifar10::CLASS_NAMES,
    )
    .unwrap();
    let message = cifar10_standin::ensure(&real, size, 3)
        .unwrap_err()
        .to_string();
    assert!(message.contains("will not overwrite"), "{message}");
    assert_eq!(cifar10::load(&real).unwrap().train, small_set(5, 1));
    let _ = std::fs::remove_dir_all(dir);
    let _ = std::fs::remove_dir_all(real);
}

/// `steps` SGD steps (lr 0.05, momentum 0.9) of the CIFAR model on one generated batch; returns the
/// losses and the final parameters.
fn train_steps(steps: usize, seed: u64) -> (Vec<f32>, Vec<f32>) {
    let set = small_set(32, 11);
    let indices: Vec<usize> = (0..32).collect();
    let (x, labels) = set.batch(&indices);
    let mut rng = Rng::new(seed);
    let mut model = CifarCnn::new(&mut rng);
    let mut optimizer = Sgd::new(0.05).momentum(0.9);
    let mut losses = Vec::new();
    for _ in 0..steps {
        optimizer.zero_grad(&mut model);
        let logits = model.forward(&x, Mode::Train);
        let loss = cross_entropy(&logits, &labels, Reduction::Mean);
        losses.push(loss.value);
        model.backward(&loss.grad);
        optimizer.step(&mut model);
    }
    let mut weights = Vec::new();
    model.visit_params(&mut |_, p| weights.extend_from_slice(p.value.data()));
    (losses, weights)
}

#[test]
fn a_few_training_steps_lower_the_loss() {
    let (losses, _) = train_steps(40, 1);
    let (first, last) = (losses[0], *losses.last().unwrap());
    // Starts near ln 10 = 2.30 (random logits), and 40 steps on one batch must clearly lower it.
    assert!((first - 10f32.ln()).abs() < 0.2, "first loss {first}");
    assert!(
        last < 0.7 * first,
        "loss went from {first} to {last}: {losses:?}"
    );
}

#[test]
fn the_same_seed_gives_bit_identical_weights_for_1_and_2_threads() {
    let _guard = THREADS.lock().unwrap_or_else(|p| p.into_inner());
    parallel::set_num_threads(1);
    let one = train_steps(4, 5);
    parallel::set_num_threads(2);
    let two = train_steps(4, 5);
    parallel::set_num_threads(parallel::default_num_threads());
    assert!(one == two, "weights differ between 1 and 2 threads");
    assert_ne!(train_steps(1, 6).1, train_steps(1, 5).1, "the seed matters");
}

fn run_chapter(words: &[&str]) -> dlfs::Result<()> {
    let args = app::parse_for(ch12::command(), words)?;
    ch12::run(&args)
}

#[test]
fn the_chapter_reports_a_missing_data_folder_and_bad_flags() {
    let message = run_chapter(&["--data", "/no/such/cifar", "--quick"])
        .unwrap_err()
        .to_string();
    assert!(message.contains("datasets/README.md"), "{message}");
    let bad = run_chapter(&["--batch-size", "0"]).unwrap_err();
    assert_eq!(bad.exit_code(), 2, "{bad}");
    let bad = run_chapter(&["--lr", "fast"]).unwrap_err();
    assert_eq!(bad.exit_code(), 2, "{bad}");
}

#[test]
fn the_chapter_runs_and_its_weights_load_back() {
    let dir = temp_folder("chapter");
    let out = dir.join("out");
    let standin = dir.join("standin");
    let words = [
        "--quick",
        "--limit",
        "256",
        "--standin",
        standin.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ];
    run_chapter(&words).unwrap();
    for file in [
        "loss.svg",
        "accuracy.svg",
        "test_predictions.png",
        "train_samples.png",
    ] {
        assert!(out.join(file).is_file(), "{file} was not written");
    }
    let png = std::fs::read(out.join("test_predictions.png")).unwrap();
    assert!(dlfs::report::png::decode_rgb(&png).is_ok());
    let mut model = CifarCnn::new(&mut Rng::new(99));
    let metadata = checkpoint::load(&mut model, &out.join("cifar10_cnn.safetensors")).unwrap();
    assert!(
        metadata.iter().any(|(k, _)| k == "test_accuracy"),
        "{metadata:?}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn parameter_names_and_count_are_the_tutorial_classs() {
    let mut model = CifarCnn::new(&mut Rng::new(0));
    let mut names = Vec::new();
    model.visit_params(&mut |name, p| names.push(format!("{name} {:?}", p.value.shape())));
    assert_eq!(
        names,
        [
            "conv1.weight [6, 3, 5, 5]",
            "conv1.bias [6]",
            "conv2.weight [16, 6, 5, 5]",
            "conv2.bias [16]",
            "fc1.weight [120, 400]",
            "fc1.bias [120]",
            "fc2.weight [84, 120]",
            "fc2.bias [84]",
            "fc3.weight [10, 84]",
            "fc3.bias [10]",
        ]
    );
    assert_eq!(dlfs::nn::param_count(&mut model), 62_006);
}

/// A tiny CIFAR-10 folder (96 training and 40 test images of the stand-in) for the chapter's runs.
fn tiny_dataset(dir: &std::path::Path) -> PathBuf {
    let data = dir.join("data");
    write_dataset(
        &data,
        &small_set(96, 1),
        &small_set(40, 2),
        &cifar10::CLASS_NAMES,
    )
    .unwrap();
    data
}

#[test]
fn a_run_stopped_and_resumed_ends_with_the_weights_of_the_uninterrupted_run() {
    let _guard = THREADS.lock().unwrap_or_else(|p| p.into_inner());
    let dir = temp_folder("resume");
    let data = tiny_dataset(&dir);
    let (straight, resumed) = (dir.join("straight"), dir.join("resumed"));
    let run = |out: &PathBuf, extra: &[&str]| {
        let mut words = vec![
            "--data",
            data.to_str().unwrap(),
            "--batch-size",
            "16",
            "--augment",
            "--lr",
            "0.01",
            "--out",
            out.to_str().unwrap(),
        ];
        words.extend_from_slice(extra);
        run_chapter(&words)
    };
    parallel::set_num_threads(1);
    run(&straight, &["--epochs", "3"]).unwrap();
    run(&resumed, &["--epochs", "1"]).unwrap();
    parallel::set_num_threads(2);
    // The resumed run takes its settings from the saved one: only --out, --resume and --epochs.
    run_chapter(&[
        "--resume",
        "--epochs",
        "3",
        "--out",
        resumed.to_str().unwrap(),
    ])
    .unwrap();
    parallel::set_num_threads(parallel::default_num_threads());
    let model = |out: &PathBuf| std::fs::read(out.join("cifar10_cnn.safetensors")).unwrap();
    assert!(
        model(&straight) == model(&resumed),
        "3 epochs straight (1 thread) and 1 + resumed 2 (2 threads) give different weights"
    );
    // Another learning rate on resume is refused, naming the flag.
    let error = run_chapter(&[
        "--resume",
        "--lr",
        "0.1",
        "--out",
        resumed.to_str().unwrap(),
    ])
    .unwrap_err();
    assert_eq!(error.exit_code(), 2, "{error}");
    assert!(error.to_string().contains("--lr 0.1"), "{error}");
    // Nothing to resume in an empty folder.
    let error =
        run_chapter(&["--resume", "--out", dir.join("empty").to_str().unwrap()]).unwrap_err();
    assert!(error.to_string().contains("no saved run"), "{error}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Runs the chapter's binary; returns (exit code, standard output, standard error).
fn binary(words: &[&str]) -> (i32, String, String) {
    saved_runs::run_binary(env!("CARGO_BIN_EXE_ch12_image_classification"), words)
}

#[test]
fn predict_classifies_pictures_made_by_other_programs_and_evaluate_writes_nothing() {
    let dir = temp_folder("predict");
    let data = tiny_dataset(&dir);
    let out = dir.join("out");
    let out_text = out.to_str().unwrap();
    {
        let _guard = THREADS.lock().unwrap_or_else(|p| p.into_inner());
        run_chapter(&[
            "--data",
            data.to_str().unwrap(),
            "--epochs",
            "1",
            "--out",
            out_text,
        ])
        .unwrap();
    }
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/images");
    let pictures: Vec<String> = [
        "pil_photo_64x48.png",
        "hand_ct3_d4_adam7_3x10_z1.png",
        "pil_rgb_6x5.ppm",
    ]
    .iter()
    .map(|f| fixtures.join(f).to_str().unwrap().to_string())
    .collect();
    let mut words = vec!["--out", out_text, "--predict"];
    words.extend(pictures.iter().map(String::as_str));
    let (code, stdout, stderr) = binary(&words);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    // The top class printed is the model's argmax on the resized, normalised picture.
    let mut model = CifarCnn::new(&mut Rng::new(1));
    checkpoint::load(&mut model, &out.join("cifar10_cnn.safetensors")).unwrap();
    for picture in &pictures {
        let line = stdout
            .lines()
            .find(|l| l.starts_with(picture.as_str()))
            .unwrap_or_else(|| panic!("no line for {picture}:\n{stdout}"));
        let planes = dlfs::data::image::read(std::path::Path::new(picture))
            .unwrap()
            .resize(32, 32)
            .planar_rgb();
        let input = dlfs::Tensor::from_vec(
            &[1, 3, 32, 32],
            planes.iter().map(|&b| normalize(b)).collect(),
        );
        let best = model.forward(&input, Mode::Inference).argmax_rows()[0];
        let (_, ranking) = line.split_once("): ").unwrap();
        assert!(
            ranking.starts_with(&format!("{} ", cifar10::CLASS_NAMES[best])),
            "{line}: expected {} first",
            cifar10::CLASS_NAMES[best]
        );
        assert_eq!(ranking.matches(" %").count(), 3, "{line}");
    }
    // A missing file is reported and the others are still classified; exit status 1.
    let (code, stdout, stderr) =
        binary(&["--out", out_text, "--predict", "/no/such.png", &pictures[0]]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("/no/such.png") && stdout.contains(&pictures[0]),
        "{stderr}"
    );
    // No trained model: a usage error saying what to do.
    let empty = dir.join("empty");
    let (code, _, stderr) = binary(&["--out", empty.to_str().unwrap(), "--predict", &pictures[0]]);
    assert_eq!(code, 2);
    assert!(stderr.contains("no trained model"), "{stderr}");

    // --evaluate scores the saved model on the test images and changes no file anywhere.
    let before = (snapshot(&out), snapshot(&data));
    let (code, stdout, stderr) = binary(&["--out", out_text, "--evaluate"]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stdout.contains("on the 40 test images"), "{stdout}");
    assert_eq!(
        (snapshot(&out), snapshot(&data)),
        before,
        "--evaluate wrote something"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
