//! Every flag of every binary, at the edges: 0, 1, a huge value, the largest 64-bit value and beyond,
//! negative, not a number; empty and absurdly long text; a path that is empty, missing, a folder
//! where a file is expected (or the other way round), `/dev/zero` or a named pipe.
//!
//! Table-driven: the binaries are the `[[bin]]` entries of `Cargo.toml`, and each binary's flags are
//! read from its own `--help`, so a binary or a flag added later is swept without touching this file.
//! A run passes when the program ends with status 0, 1 or 2 (an `error: …` line for 1 and 2) and
//! never panics or aborts; a usage error (2) must name one of the flags it was given; error messages
//! stay short (no echo of a long value). A run with a huge but accepted value (a billion epochs) may
//! still be working when its time is up: it is stopped, which counts as a pass — it did not crash
//! while planning its memory. A run with a bad *path*, though, must end by itself: still running
//! means it hangs on a pipe.
//!
//! To keep it quick, all numeric flags of a binary are set to the same value in one run (with
//! `--quick`, and `--limit`-style flags at that value too); a flag the run refuses by name is dropped
//! and the run repeated with the others, until one run is accepted. Runs are confined: one thread,
//! `DLFS_MEMORY_LIMIT=1G`, and (on Linux) a 6 GB address-space limit, so a missed size check shows
//! as an abort here rather than as a machine out of memory. About 20–40 s on 2 cores.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// What a flag's value is, from its placeholder and default in `--help`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Number,
    Text,
    File,
    Folder,
}

#[derive(Clone, Debug)]
struct Flag {
    name: String,
    kind: Kind,
    /// The largest value its help states ("at most 1024"), if any.
    maximum: Option<u64>,
}

/// The values every numeric flag is tried with — zero, one, huge, the largest u64, beyond u64,
/// negative, beyond f32, not a number — and whether a run accepting them must finish (0 and 1 give
/// short runs with `--quick`; a run accepting a billion epochs is stopped at the deadline).
const NUMBERS: &[(&str, bool)] = &[
    ("0", true),
    ("1", true),
    ("1000000000", false),
    ("18446744073709551615", false),
    ("18446744073709551616", false),
    ("-1", false),
    ("1e39", false),
    ("nan", false),
];

/// The most a refused run may print on standard error.
const MAX_ERROR_BYTES: usize = 3000;

/// How long a run with huge accepted values may take before it is stopped as "working".
const WORKING_DEADLINE: Duration = Duration::from_millis(800);
/// How long a run that must end by itself may take (a bad path must be refused; a quick run with
/// all flags at 0 or 1 must finish), so well before this.
const FINISH_DEADLINE: Duration = Duration::from_secs(60);

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The `[[bin]]` names of Cargo.toml.
fn binaries() -> Vec<String> {
    let manifest = std::fs::read_to_string(manifest_dir().join("Cargo.toml")).unwrap();
    let mut names = Vec::new();
    let mut in_bin = false;
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            in_bin = line == "[[bin]]";
        } else if in_bin && let Some(value) = line.strip_prefix("name") {
            let name = value.trim_start().trim_start_matches('=').trim();
            names.push(name.trim_matches('"').to_string());
        }
    }
    assert!(names.len() >= 3, "no [[bin]] entries found in Cargo.toml");
    names
}

/// The folder of the built binaries (where Cargo put this chapter's binary).
fn binary_folder() -> PathBuf {
    Path::new(env!("CARGO_BIN_EXE_ch12_image_classification"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// The options of a `--help` text.
fn parse_help(help: &str) -> Vec<Flag> {
    let mut flags = Vec::new();
    for line in help.lines() {
        let Some(rest) = line.strip_prefix("  --") else {
            continue;
        };
        let mut words = rest.split_whitespace();
        let name = words.next().unwrap().to_string();
        let placeholder = words.next().unwrap_or("");
        let default = line
            .rsplit_once("[default: ")
            .map(|(_, d)| d.trim_end_matches(']').to_string());
        let looks_numeric = default.as_deref().is_some_and(|d| d.parse::<f64>().is_ok());
        let is_placeholder = !placeholder.is_empty()
            && placeholder
                .chars()
                .all(|c| c.is_ascii_uppercase() || c == '_');
        if !is_placeholder {
            continue; // a switch
        }
        let kind = match placeholder {
            "DIR" | "FOLDER" => Kind::Folder,
            "FILE" | "PATH" => Kind::File,
            _ if looks_numeric => Kind::Number,
            "N" | "H" | "T" | "S" | "R" | "K" | "E" | "B" | "F" | "M" | "P" | "LR" | "RATE" => {
                Kind::Number
            }
            _ => Kind::Text,
        };
        let maximum = line.split("at most ").nth(1).and_then(|rest| {
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            digits.parse().ok()
        });
        flags.push(Flag {
            name,
            kind,
            maximum,
        });
    }
    flags
}

/// How a run ended.
#[derive(Debug)]
struct Outcome {
    /// The exit status; `None` when it was stopped at the deadline or killed by a signal.
    code: Option<i32>,
    stopped_at_deadline: bool,
    stderr: String,
}

fn scratch() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("dlfs-flag-sweep-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs `binary args…` confined (one thread, a memory limit), in `cwd`, stopping it at `deadline`.
fn run(binary: &Path, args: &[String], cwd: &Path, deadline: Duration) -> Outcome {
    let stderr_path = cwd.join(format!(
        "stderr-{}-{:?}.txt",
        binary.file_name().unwrap().to_string_lossy(),
        std::thread::current().id()
    ));
    let stderr_file = std::fs::File::create(&stderr_path).unwrap();
    let mut command = if cfg!(target_os = "linux") {
        // ulimit -v: an allocation the size checks missed fails here instead of swapping the machine.
        let mut c = Command::new("/bin/sh");
        c.arg("-c")
            .arg("ulimit -v 6000000 2>/dev/null; exec \"$0\" \"$@\"")
            .arg(binary)
            .args(args);
        c
    } else {
        let mut c = Command::new(binary);
        c.args(args);
        c
    };
    command
        .current_dir(cwd)
        .env("DLFS_THREADS", "1")
        .env("DLFS_MEMORY_LIMIT", "1G")
        .env("DLFS_PROGRESS", "0")
        .env("RUST_BACKTRACE", "0")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(stderr_file);
    let mut child = command.spawn().unwrap();
    let started = Instant::now();
    let (code, stopped_at_deadline) = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break (status.code(), false);
        }
        if started.elapsed() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break (None, true);
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let bytes = std::fs::read(&stderr_path).unwrap_or_default();
    let _ = std::fs::remove_file(&stderr_path);
    Outcome {
        code,
        stopped_at_deadline,
        stderr: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

/// The arguments every run of `binary` starts from (overridden by the swept flags): `--quick` when
/// it has it, and a table or chapter that runs quickly for `bench` and the tour.
fn base_args(
    binary: &str,
    help: &str,
    flags: &[Flag],
    out: &Path,
) -> Vec<(String, Option<String>)> {
    let mut base: Vec<(String, Option<String>)> = Vec::new();
    if help.contains("\n  --quick ") {
        base.push(("--quick".into(), None));
    }
    let has = |name: &str| flags.iter().any(|f| f.name == name);
    match binary {
        "bench" => {
            base.push(("gemm".into(), None));
            base.push(("--size".into(), Some("16".into())));
            base.push(("--runs".into(), Some("1".into())));
        }
        "dlfs" => base.push(("--only".into(), Some("ch03".into()))),
        _ => {}
    }
    if has("out") {
        base.push(("--out".into(), Some(out.display().to_string())));
    }
    base
}

/// The command line: the base arguments, with `swept` replacing any base flag of the same name.
fn command_line(base: &[(String, Option<String>)], swept: &[(String, String)]) -> Vec<String> {
    let mut words = Vec::new();
    for (word, value) in base {
        let name = word.trim_start_matches("--");
        if swept.iter().any(|(n, _)| n == name) {
            continue;
        }
        words.push(word.clone());
        if let Some(v) = value {
            words.push(v.clone());
        }
    }
    for (name, value) in swept {
        words.push(format!("--{name}={value}"));
    }
    words
}

/// What a run got wrong, if anything.
fn problem(outcome: &Outcome, must_finish: bool) -> Option<String> {
    if outcome.stopped_at_deadline {
        return must_finish.then(|| "still running at the deadline: it hangs".to_string());
    }
    if outcome.stderr.contains("panicked") {
        return Some("panicked".to_string());
    }
    match outcome.code {
        Some(0) => None,
        Some(1 | 2) => {
            if !outcome.stderr.contains("error:") {
                return Some("exit status 1/2 without an `error:` line".to_string());
            }
            if outcome.stderr.len() > MAX_ERROR_BYTES {
                return Some(format!(
                    "an error message of {} bytes (more than {MAX_ERROR_BYTES}): bad input echoed?",
                    outcome.stderr.len()
                ));
            }
            None
        }
        Some(other) => Some(format!("exit status {other}")),
        None => Some("killed by a signal (an abort?)".to_string()),
    }
}

/// The flags of `remaining` named in a message (`--name` followed by a non-name character).
fn named_flags(stderr: &str, remaining: &[(String, String)]) -> Vec<String> {
    remaining
        .iter()
        .filter(|(name, _)| {
            let needle = format!("--{name}");
            stderr.match_indices(&needle).any(|(at, _)| {
                !stderr[at + needle.len()..]
                    .chars()
                    .next()
                    .is_some_and(|c| c.is_ascii_alphanumeric() || c == '-')
            })
        })
        .map(|(name, _)| name.clone())
        .collect()
}

/// Sets every flag of `group` to its value at once, dropping each flag a run refuses by name, until
/// a run is accepted or ends without naming a flag. Returns the failures.
fn sweep_group(
    binary: &Path,
    base: &[(String, Option<String>)],
    mut remaining: Vec<(String, String)>,
    cwd: &Path,
    must_finish: bool,
    runs: &mut usize,
) -> Vec<String> {
    let mut failures = Vec::new();
    let deadline = if must_finish {
        FINISH_DEADLINE
    } else {
        WORKING_DEADLINE
    };
    while !remaining.is_empty() {
        let args = command_line(base, &remaining);
        let one = Instant::now();
        let outcome = run(binary, &args, cwd, deadline);
        *runs += 1;
        if std::env::var_os("DLFS_SWEEP_VERBOSE").is_some() {
            let shown: String = args.join(" ").chars().take(160).collect();
            println!(
                "{:.2} s {:?}{} {} {shown}",
                one.elapsed().as_secs_f64(),
                outcome.code,
                if outcome.stopped_at_deadline {
                    " (stopped)"
                } else {
                    ""
                },
                binary.file_name().unwrap().to_string_lossy()
            );
        }
        let shown = args.join(" ");
        if let Some(problem) = problem(&outcome, must_finish) {
            let tail: String = outcome
                .stderr
                .lines()
                .rev()
                .take(4)
                .collect::<Vec<_>>()
                .join(" | ");
            failures.push(format!("{shown}: {problem}: {tail}"));
            return failures;
        }
        if outcome.code == Some(0) || outcome.stopped_at_deadline {
            return failures;
        }
        let named = named_flags(&outcome.stderr, &remaining);
        if named.is_empty() {
            if outcome.code == Some(2) {
                failures.push(format!(
                    "{shown}: a usage error that names none of the flags given: {}",
                    outcome.stderr.trim()
                ));
            }
            return failures;
        }
        remaining.retain(|(name, _)| !named.contains(name));
    }
    failures
}

/// Every case of one binary; returns (failures, runs).
fn sweep_binary(name: &str, fifo: Option<&Path>, scratch: &Path) -> (Vec<String>, usize) {
    let binary = binary_folder().join(name);
    let help = Command::new(&binary)
        .arg("--help")
        .output()
        .unwrap_or_else(|e| panic!("{name} --help: {e}"));
    assert!(help.status.success(), "{name} --help failed");
    let help = String::from_utf8_lossy(&help.stdout).into_owned();
    let flags = parse_help(&help);
    let cwd = scratch.join(name);
    std::fs::create_dir_all(&cwd).unwrap();
    let out = cwd.join("out");
    let base = base_args(name, &help, &flags, &out);
    let mut failures = Vec::new();
    let mut runs = 0;
    let numeric: Vec<&Flag> = flags.iter().filter(|f| f.kind == Kind::Number).collect();
    let long_text = "x".repeat(5000);
    for (value, must_finish) in NUMBERS.iter().copied().chain([(long_text.as_str(), false)]) {
        let group: Vec<(String, String)> = numeric
            .iter()
            .map(|f| (f.name.clone(), value.to_string()))
            .collect();
        failures.extend(sweep_group(
            &binary,
            &base,
            group,
            &cwd,
            must_finish,
            &mut runs,
        ));
    }
    // A flag with a stated maximum, at that maximum (accepted) and one beyond (a usage error).
    for flag in numeric.iter().filter(|f| f.maximum.is_some()) {
        let maximum = flag.maximum.unwrap();
        let group = vec![(flag.name.clone(), maximum.to_string())];
        failures.extend(sweep_group(&binary, &base, group, &cwd, false, &mut runs));
        let beyond = vec![(flag.name.clone(), (maximum + 1).to_string())];
        let args = command_line(&base, &beyond);
        let outcome = run(&binary, &args, &cwd, FINISH_DEADLINE);
        runs += 1;
        if outcome.code != Some(2) || named_flags(&outcome.stderr, &beyond).is_empty() {
            failures.push(format!(
                "{}: one beyond the maximum of its help is not a usage error naming the flag \
                 ({:?}): {}",
                args.join(" "),
                outcome.code,
                outcome.stderr.trim()
            ));
        }
    }
    let text: Vec<&Flag> = flags.iter().filter(|f| f.kind == Kind::Text).collect();
    for value in ["", long_text.as_str()] {
        let group: Vec<(String, String)> = text
            .iter()
            .map(|f| (f.name.clone(), value.to_string()))
            .collect();
        failures.extend(sweep_group(&binary, &base, group, &cwd, false, &mut runs));
    }
    let a_file = cwd.join("a-regular-file.txt");
    std::fs::write(&a_file, "not what you expected\n").unwrap();
    let a_folder = cwd.join("a-folder");
    std::fs::create_dir_all(&a_folder).unwrap();
    for flag in flags
        .iter()
        .filter(|f| matches!(f.kind, Kind::File | Kind::Folder))
    {
        let mut values: Vec<String> = vec![String::new(), "/dev/zero".to_string()];
        values.push(match flag.kind {
            Kind::File => a_folder.display().to_string(),
            _ => a_file.display().to_string(),
        });
        if let Some(fifo) = fifo {
            values.push(fifo.display().to_string());
        }
        for value in values {
            let group = vec![(flag.name.clone(), value)];
            failures.extend(sweep_group(&binary, &base, group, &cwd, true, &mut runs));
        }
        // A path that does not exist yet, which an output folder may legitimately be.
        let group = vec![(
            flag.name.clone(),
            cwd.join("no/such/path").display().to_string(),
        )];
        failures.extend(sweep_group(&binary, &base, group, &cwd, false, &mut runs));
    }
    (failures, runs)
}

/// A named pipe with no writer (opening it for reading blocks forever), made with `mkfifo`.
fn make_fifo(dir: &Path) -> Option<PathBuf> {
    let path = dir.join("a-named-pipe");
    let made = Command::new("mkfifo").arg(&path).status().ok()?;
    made.success().then_some(path)
}

#[test]
fn every_flag_of_every_binary_survives_its_edge_values() {
    let started = Instant::now();
    let scratch = scratch();
    let fifo = make_fifo(&scratch);
    if fifo.is_none() {
        println!("mkfifo is not available: named pipes are not tried");
    }
    let names = binaries();
    let next = std::sync::atomic::AtomicUsize::new(0);
    let results = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..2 {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(name) = names.get(i) else { break };
                    let one = Instant::now();
                    let (failures, runs) = sweep_binary(name, fifo.as_deref(), &scratch);
                    results
                        .lock()
                        .unwrap()
                        .push((name.clone(), failures, runs, one.elapsed()));
                }
            });
        }
    });
    let mut results = results.into_inner().unwrap();
    results.sort_by(|a, b| a.0.cmp(&b.0));
    let mut all_failures = Vec::new();
    let mut total_runs = 0;
    for (name, failures, runs, time) in &results {
        println!(
            "{name}: {runs} runs, {:.1} s, {} failures",
            time.as_secs_f64(),
            failures.len()
        );
        total_runs += runs;
        all_failures.extend(failures.iter().cloned());
    }
    println!(
        "{} binaries, {total_runs} runs in {:.1} s",
        results.len(),
        started.elapsed().as_secs_f64()
    );
    let _ = std::fs::remove_dir_all(&scratch);
    let unique: BTreeSet<String> = all_failures.into_iter().collect();
    assert!(
        unique.is_empty(),
        "{} failing runs:\n{}",
        unique.len(),
        unique.into_iter().collect::<Vec<_>>().join("\n")
    );
}

#[test]
fn help_parsing_finds_numbers_text_and_paths() {
    let help = "usage\n\noptions:\n  --quick                  a short run\n  \
                --out DIR                folder [default: out/x]\n  \
                --epochs N               passes, at most 1000 [default: 10]\n  \
                --lr LR                  rate [default: 0.001]\n  \
                --target WHAT            price or both [default: both]\n  \
                --csv FILE               a CSV\n  -h, --help               print this help\n";
    let flags = parse_help(help);
    let kinds: Vec<(&str, Kind)> = flags.iter().map(|f| (f.name.as_str(), f.kind)).collect();
    assert_eq!(flags[1].maximum, Some(1000));
    assert_eq!(flags[2].maximum, None);
    assert_eq!(
        kinds,
        [
            ("out", Kind::Folder),
            ("epochs", Kind::Number),
            ("lr", Kind::Number),
            ("target", Kind::Text),
            ("csv", Kind::File)
        ]
    );
    let remaining = vec![
        ("epochs".to_string(), "0".to_string()),
        ("epochs-per-step".to_string(), "0".to_string()),
    ];
    assert_eq!(
        named_flags("--epochs must be at least 1", &remaining),
        ["epochs"]
    );
    assert!(named_flags("--epochs-per-step x", &remaining[..1]).is_empty());
}
