//! The binaries and the files they leave, under misuse and interruption:
//! - sizes from flags are checked before anything is allocated: a usage error (exit 2) naming the
//!   flag, the bytes and the limit, within seconds;
//! - a run that trains nothing never replaces a saved model (`ch12 --epochs 0`);
//! - explicit flags win over `--quick`; `--out` is checked (empty, not a folder, not writable)
//!   before any long work; suggested numbers are printed readably;
//! - an interrupted stand-in (simulated: the partial folder an older run left, a temporary folder
//!   of a killed run) is regenerated, temporary files of killed writers are removed, and a folder
//!   that may be real data is never touched.

use dlfs::data::cifar10::{self, ImageSet};
use dlfs::data::cifar10_standin::{self, StandinSize};
use dlfs::data::synthetic_reviews::{self, StandIn};
use dlfs::report::atomic::{self, TEMPORARY_MARKER};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "dlfs-reliability-runs-{}-{name}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The path of a built binary of this package.
fn binary(name: &str) -> PathBuf {
    Path::new(env!("CARGO_BIN_EXE_ch12_image_classification")).with_file_name(name)
}

/// Runs a binary with a fixed memory limit (so messages do not depend on this machine) in `cwd`,
/// returning its output and how long it took.
fn run(name: &str, args: &[&str], cwd: &Path) -> (Output, Duration) {
    let started = Instant::now();
    let output = Command::new(binary(name))
        .args(args)
        .current_dir(cwd)
        .env("DLFS_MEMORY_LIMIT", "8G")
        .env("DLFS_THREADS", "1")
        .env("DLFS_PROGRESS", "0")
        .output()
        .unwrap();
    (output, started.elapsed())
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The PID of a process that has ended (a `true` run to completion), for stale temporaries.
fn dead_pid() -> u32 {
    let mut child = Command::new("true").spawn().unwrap();
    let pid = child.id();
    child.wait().unwrap();
    pid
}

// ---------------------------------------------------------------------------------------------
// Flags
// ---------------------------------------------------------------------------------------------

#[test]
fn huge_sizes_from_flags_are_usage_errors_naming_flag_bytes_and_limit() {
    let cwd = temp_dir("huge");
    let out = cwd.join("out").display().to_string();
    let cases: &[(&str, &[&str], &[&str])] = &[
        (
            "ch14_time_series",
            &["--quick", "--hidden", "100000"],
            &["--hidden 100000 would need 640 GB", "the limit is 8 GB"],
        ),
        (
            "bench",
            &["gemm", "--size", "5000000000"],
            &[
                "--size 5000000000 would need more memory",
                "the limit is 8 GB",
            ],
        ),
        (
            "ch02_linear_algebra",
            &["--quick", "--matmul-size", "100000"],
            &["--matmul-size 100000 would need 240 GB", "the limit is"],
        ),
        (
            "ch01_introduction",
            &["--quick", "--points", "1000000000"],
            &["--points 1000000000 would need 48 GB", "the limit is"],
        ),
        (
            "ch09_rnn",
            &["--quick", "--steps", "1000000000"],
            &["--steps 1000000000 would need", "the limit is"],
        ),
        (
            "ch13_text_classification",
            &["--quick", "--num-words", "1000000000"],
            &["--num-words 1000000000 would need 2.1 TB", "the limit is"],
        ),
        (
            "ch14_time_series",
            &["--quick", "--look-back", "1000000000"],
            &[
                "--look-back 1000000000 does not fit the series",
                "use at most",
            ],
        ),
        (
            "ch12_image_classification",
            &["--quick", "--threads", "1000000000"],
            &["--threads must be from 1 to 1024"],
        ),
        (
            "ch16_pretraining",
            &["--quick", "--unlabelled", "10000000000"],
            &["--unlabelled 10000000000 would need 41 TB", "the limit is"],
        ),
    ];
    for &(name, args, expected) in cases {
        let mut args = args.to_vec();
        if name != "bench" {
            args.extend(["--out", out.as_str()]);
        }
        let (output, time) = run(name, &args, &cwd);
        let message = stderr(&output);
        assert_eq!(output.status.code(), Some(2), "{name} {args:?}: {message}");
        for part in expected {
            assert!(
                message.contains(part),
                "{name} {args:?}: {part:?} not in {message}"
            );
        }
        assert!(
            time < Duration::from_secs(30),
            "{name} {args:?} took {time:?}"
        );
    }
    let _ = std::fs::remove_dir_all(&cwd);
}

#[test]
fn a_run_that_trains_nothing_keeps_the_saved_model_byte_for_byte() {
    let cwd = temp_dir("epochs-zero");
    let out = cwd.join("out");
    std::fs::create_dir_all(&out).unwrap();
    let weights = out.join("cifar10_cnn.safetensors");
    let saved: Vec<u8> = (0..4096u32).map(|i| (i * 7 % 251) as u8).collect();
    std::fs::write(&weights, &saved).unwrap();
    let out_text = out.display().to_string();
    let (output, _) = run(
        "ch12_image_classification",
        &["--quick", "--epochs", "0", "--out", &out_text],
        &cwd,
    );
    let message = stderr(&output);
    assert_eq!(output.status.code(), Some(2), "{message}");
    assert!(message.contains("--epochs"), "{message}");
    assert_eq!(std::fs::read(&weights).unwrap(), saved);
    // --help says what --epochs 0 does.
    let (help, _) = run("ch12_image_classification", &["--help"], &cwd);
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(help.contains("0 is refused"), "{help}");
    let _ = std::fs::remove_dir_all(&cwd);
}

#[test]
fn explicit_flags_win_over_quick() {
    let cwd = temp_dir("quick");
    let out = cwd.join("out").display().to_string();
    for name in [
        "ch09_rnn",
        "ch12_image_classification",
        "ch13_text_classification",
        "ch14_time_series",
    ] {
        // --quick used to replace an explicit --epochs 0 with its own count and train anyway.
        let (output, _) = run(name, &["--quick", "--epochs", "0", "--out", &out], &cwd);
        let message = stderr(&output);
        assert_eq!(output.status.code(), Some(2), "{name}: {message}");
        assert!(message.contains("--epochs"), "{name}: {message}");
    }
    // Chapter 16 counts steps, not epochs.
    let (output, _) = run(
        "ch16_pretraining",
        &["--quick", "--steps", "0", "--out", &out],
        &cwd,
    );
    let message = stderr(&output);
    assert_eq!(output.status.code(), Some(2), "ch16_pretraining: {message}");
    assert!(message.contains("--steps"), "ch16_pretraining: {message}");
    let (output, _) = run(
        "ch14_time_series",
        &[
            "--quick", "--epochs", "1", "--target", "price", "--out", &out,
        ],
        &cwd,
    );
    let printed = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(printed.contains("1 epochs of batch"), "{printed}");
    let _ = std::fs::remove_dir_all(&cwd);
}

#[test]
fn out_is_checked_before_any_long_work() {
    let cwd = temp_dir("out");
    let a_file = cwd.join("a-file");
    std::fs::write(&a_file, "x").unwrap();
    let under_a_file = a_file.join("sub").display().to_string();
    let a_file = a_file.display().to_string();
    for name in [
        "ch12_image_classification",
        "ch13_text_classification",
        "ch14_time_series",
        "ch16_pretraining",
        "ch17_meta_and_rl",
    ] {
        for (out, expected) in [
            ("", "--out is empty"),
            (a_file.as_str(), "not a folder"),
            (under_a_file.as_str(), "cannot create it"),
        ] {
            let (output, time) = run(name, &["--out", out], &cwd);
            let message = stderr(&output);
            assert_eq!(
                output.status.code(),
                Some(2),
                "{name} --out {out:?}: {message}"
            );
            assert!(
                message.contains(expected),
                "{name} --out {out:?}: {message}"
            );
            // Refused at once: no stand-in generated, no training.
            assert!(time < Duration::from_secs(10), "{name}: {time:?}");
        }
    }
    assert!(!cwd.join("out").exists(), "nothing may be written");
    let _ = std::fs::remove_dir_all(&cwd);
}

#[test]
fn suggested_numbers_are_printed_readably() {
    let cwd = temp_dir("readable");
    let out = cwd.join("out").display().to_string();
    let (output, _) = run(
        "ch14_time_series",
        &[
            "--quick", "--lr", "1e30", "--epochs", "1", "--target", "price", "--out", &out,
        ],
        &cwd,
    );
    let message = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{message}");
    assert!(message.contains("e.g. 1e29"), "{message}");
    let longest_digits = message
        .split(|c: char| !c.is_ascii_digit())
        .map(str::len)
        .max()
        .unwrap_or(0);
    assert!(longest_digits < 12, "a long number in: {message}");
    let _ = std::fs::remove_dir_all(&cwd);
}

// ---------------------------------------------------------------------------------------------
// Interruptions
// ---------------------------------------------------------------------------------------------

const SMALL: StandinSize = StandinSize {
    train: 30,
    test: 10,
};

#[cfg(target_os = "linux")]
#[test]
fn an_interrupted_cifar10_stand_in_is_regenerated() {
    let parent = temp_dir("standin");
    let dir = parent.join("cifar10-standin");

    // What an older version left when killed mid-way: the first batch file written, nothing else,
    // no marker (it used to be refused as "may be the real CIFAR-10" until deleted by hand).
    std::fs::create_dir_all(&dir).unwrap();
    let train = cifar10_standin::generate(SMALL.train, 7);
    let mut first = train.clone();
    first.truncate(6);
    cifar10::write_batch_file(&dir.join("data_batch_1.bin"), &first).unwrap();
    // What this version leaves when killed: a temporary folder beside it, its writer gone.
    let stale = parent.join(format!(".cifar10-standin.tmp{}-0", dead_pid()));
    std::fs::create_dir_all(&stale).unwrap();
    std::fs::write(stale.join(TEMPORARY_MARKER), "").unwrap();
    std::fs::write(stale.join("data_batch_1.bin"), [0u8; 100]).unwrap();

    assert!(
        cifar10_standin::ensure(&dir, SMALL, 7).unwrap(),
        "regenerated"
    );
    assert!(
        !stale.exists(),
        "the killed run's temporary folder is removed"
    );
    let data = cifar10::load(&dir).unwrap();
    assert_eq!(data.train, train);
    assert!(dir.join(cifar10_standin::MARKER_FILE).is_file());
    assert!(
        !cifar10_standin::ensure(&dir, SMALL, 7).unwrap(),
        "then reused"
    );

    // A complete stand-in that lost a file is regenerated too.
    std::fs::remove_file(dir.join("test_batch.bin")).unwrap();
    assert!(cifar10_standin::ensure(&dir, SMALL, 7).unwrap());
    assert!(dir.join("test_batch.bin").is_file());
    // Nothing is left beside it.
    let leftovers: Vec<_> = std::fs::read_dir(&parent)
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(leftovers, ["cifar10-standin"]);

    // A folder whose files are not ours (the real dataset?) is never touched.
    let real = parent.join("maybe-real");
    std::fs::create_dir_all(&real).unwrap();
    let other = ImageSet::new(vec![9u8; 3 * cifar10::IMAGE_BYTES], vec![1, 2, 3]);
    cifar10::write_batch_file(&real.join("data_batch_1.bin"), &other).unwrap();
    let before = std::fs::read(real.join("data_batch_1.bin")).unwrap();
    let message = cifar10_standin::ensure(&real, SMALL, 7)
        .unwrap_err()
        .to_string();
    assert!(message.contains("may be real data"), "{message}");
    assert_eq!(
        std::fs::read(real.join("data_batch_1.bin")).unwrap(),
        before
    );
    let _ = std::fs::remove_dir_all(&parent);
}

#[cfg(target_os = "linux")]
#[test]
fn an_interrupted_review_stand_in_leaves_nothing_behind() {
    let parent = temp_dir("reviews");
    let root = parent.join("aclImdb_standin");
    let config = StandIn {
        train_per_class: 5,
        test_per_class: 3,
        ..StandIn::default()
    };
    // The temporary folder an older version left when killed (its name ended in nanoseconds).
    let stale = parent.join(format!(".aclImdb_standin.tmp{}-123456789", dead_pid()));
    std::fs::create_dir_all(stale.join("train/pos")).unwrap();
    std::fs::write(stale.join("train/pos/0_9.txt"), "good").unwrap();
    synthetic_reviews::ensure_written(&root, &config).unwrap();
    assert!(!stale.exists());
    assert_eq!(dlfs::data::imdb::load(&root, None).unwrap().train.len(), 10);
    // A folder of someone else's reviews at that path is refused, not replaced.
    let theirs = parent.join("their-reviews");
    std::fs::create_dir_all(theirs.join("train/pos")).unwrap();
    std::fs::write(theirs.join("train/pos/1_10.txt"), "mine").unwrap();
    let message = synthetic_reviews::ensure_written(&theirs, &config)
        .unwrap_err()
        .to_string();
    assert!(message.contains("may be real data"), "{message}");
    assert!(theirs.join("train/pos/1_10.txt").is_file());
    let _ = std::fs::remove_dir_all(&parent);
}

#[cfg(target_os = "linux")]
#[test]
fn temporaries_of_killed_writers_are_removed_and_nothing_else() {
    let dir = temp_dir("temporaries");
    let dead = dead_pid();
    let alive = std::process::id();
    // A checkpoint save killed before its rename: the old file is intact, the temporary stays.
    let weights = dir.join("model.safetensors");
    std::fs::write(&weights, "old weights").unwrap();
    let killed_save = dir.join(format!(".model.safetensors.tmp{dead}"));
    std::fs::write(&killed_save, "half of the new weights").unwrap();
    let busy = dir.join(format!(".model.safetensors.tmp{alive}-99"));
    std::fs::write(&busy, "being written by a live process").unwrap();
    dlfs::report::write_atomic(&weights, b"new weights").unwrap();
    assert_eq!(std::fs::read(&weights).unwrap(), b"new weights");
    assert!(
        !killed_save.exists(),
        "the killed save's temporary is removed"
    );
    assert!(busy.exists(), "a live writer's temporary is kept");

    // The sweep of an --out folder at start: stale files and marked folders go, the rest stays.
    let stale_plot = dir.join(format!(".loss.svg.tmp{dead}-3"));
    std::fs::write(&stale_plot, "<svg").unwrap();
    let stale_folder = dir.join(format!(".data.tmp{dead}-1"));
    std::fs::create_dir_all(&stale_folder).unwrap();
    std::fs::write(stale_folder.join(TEMPORARY_MARKER), "").unwrap();
    let unmarked_folder = dir.join(format!(".photos.tmp{dead}"));
    std::fs::create_dir_all(&unmarked_folder).unwrap();
    let user_file = dir.join(".notes.tmp");
    std::fs::write(&user_file, "mine").unwrap();
    dlfs::app::check_out_dir(&dir).unwrap();
    assert!(!stale_plot.exists() && !stale_folder.exists());
    assert!(
        unmarked_folder.exists(),
        "a folder without the marker may be the user's"
    );
    assert!(user_file.exists() && busy.exists() && weights.exists());
    // And the names are recognised exactly.
    assert_eq!(
        atomic::parse_temporary_name(&format!(".model.safetensors.tmp{dead}")),
        Some(("model.safetensors", dead))
    );
    let _ = std::fs::remove_dir_all(&dir);
}
