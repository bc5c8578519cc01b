//! What every binary does around its chapter: parse the command line, print a banner (build type,
//! threads, GEMM kernel), run, and turn an error into a message and an exit status.
//!
//! A chapter file declares its flags with [`chapter_command`] and calls [`main_for`] from `fn main`:
//!
//! ```no_run
//! use dlfs::{app, cli::Args, Result};
//! fn run(args: &Args) -> Result<()> {
//!     println!("quick mode: {}", args.flag("quick"));
//!     Ok(())
//! }
//! fn main() {
//!     app::main_for(app::chapter_command("ch00_demo", "A demo chapter."), run);
//! }
//! ```

pub mod memory;

pub use memory::{MemoryPlan, bytes_of, f32_bytes};

use crate::cli::{Args, Command};
use crate::error::{Error, Result};
use crate::{linalg, parallel, report};
use std::path::PathBuf;
use std::str::FromStr;

/// A command with the flags every chapter has: `--quick` (the tour's short mode), `--out DIR` (where
/// figures and weights go; default `out/<name>`) and `--threads N`.
pub fn chapter_command(name: &str, about: &str) -> Command {
    Command::new(name, about)
        .switch(
            "quick",
            "a short run (what the tour uses): small data, few steps",
        )
        .option(
            "out",
            "DIR",
            &format!("out/{name}"),
            "folder for the figures and files this chapter writes",
        )
}

/// Adds `--threads N` to a command unless it declares it itself.
fn with_threads_flag(command: Command) -> Command {
    if command.has_option("threads") {
        command
    } else {
        command.option(
            "threads",
            "N",
            "",
            "worker threads, at most 1024 (default: $DLFS_THREADS or the number of CPUs)",
        )
    }
}

/// Applies `--threads N` if it was given (0, or more than [`parallel::MAX_THREADS`], is a usage
/// error).
pub fn apply_threads(args: &Args) -> Result<()> {
    if let Some(threads) = args.get_opt::<usize>("threads")? {
        if !(1..=parallel::MAX_THREADS).contains(&threads) {
            return Err(Error::usage(format!(
                "--threads must be from 1 to {}, got {threads} (this computer has {} CPUs)",
                parallel::MAX_THREADS,
                std::thread::available_parallelism().map_or(1, |n| n.get())
            )));
        }
        parallel::set_num_threads(threads);
    }
    Ok(())
}

/// The value of `--name`: the one on the command line if it was given, else `quick_value` under
/// `--quick`, else the declared default. An explicit flag always wins over `--quick`'s defaults:
/// `--quick --epochs 0` means zero epochs, not the quick run's number.
pub fn quick_or_given<T: FromStr>(args: &Args, name: &str, quick_value: T) -> Result<T> {
    if args.flag("quick") && !args.was_given(name) {
        Ok(quick_value)
    } else {
        args.get(name)
    }
}

/// The output folder of a chapter (`--out`), checked before any long work: not empty, created if
/// missing, and writable (a file is created in it and removed). Temporary files and folders left
/// there by killed runs (see [`report::atomic`]) are removed. A problem is a usage error naming
/// `--out`, so it shows in the first second of a run, not after an hour of training.
pub fn out_dir(args: &Args) -> Result<PathBuf> {
    let out = args.get::<PathBuf>("out")?;
    check_out_dir(&out)?;
    Ok(out)
}

/// The checks of [`out_dir`] on a folder.
pub fn check_out_dir(out: &std::path::Path) -> Result<()> {
    if out.as_os_str().is_empty() {
        return Err(Error::usage(
            "--out is empty; give the folder for this chapter's files (e.g. --out out/run1)",
        ));
    }
    let shown = crate::input::excerpt(&out.display().to_string());
    let refuse = |problem: String| {
        Error::usage(format!(
            "--out {shown}: {problem}; choose a folder you can write to"
        ))
    };
    if let Ok(metadata) = std::fs::metadata(out)
        && !metadata.is_dir()
    {
        return Err(refuse(format!(
            "this is {}, not a folder",
            crate::input::kind_of(metadata.file_type())
        )));
    }
    std::fs::create_dir_all(out).map_err(|e| refuse(format!("cannot create it ({e})")))?;
    let probe = report::atomic::temporary_path(&out.join(".dlfs-write-check"));
    std::fs::write(&probe, b"").map_err(|e| refuse(format!("cannot write there ({e})")))?;
    let _ = std::fs::remove_file(&probe);
    let removed = report::atomic::remove_stale_temporaries(out);
    if !removed.is_empty() {
        eprintln!(
            "note: removed {} temporary file(s) or folder(s) left in {} by interrupted runs",
            removed.len(),
            out.display()
        );
    }
    Ok(())
}

/// True in a build without optimisations (`cargo run` without `--release`).
pub fn is_debug_build() -> bool {
    cfg!(debug_assertions)
}

/// Warns on standard error when the program was built without optimisations.
pub fn warn_if_debug_build() {
    if is_debug_build() {
        eprintln!(
            "warning: this is a debug build, 10–50× slower than a release build; \
             run it with `cargo run --release …`"
        );
    }
}

/// One line saying how the program runs: `dlfs 0.1.0 · ch02_linear_algebra · 2 threads · gemm avx512`.
pub fn banner(name: &str) -> String {
    format!(
        "dlfs {} · {name} · {} threads · gemm kernel {} · {} build",
        env!("CARGO_PKG_VERSION"),
        parallel::num_threads(),
        linalg::gemm::kernel_name(),
        if is_debug_build() { "debug" } else { "release" }
    )
}

/// Makes the C library's allocator keep freed memory for reuse instead of returning it to the
/// operating system after every training step. Called once by [`main_for`]; call it yourself at the
/// start of a program of your own that trains with dlfs.
///
/// Why: every layer returns a new tensor, so a training step allocates and frees a few megabytes.
/// glibc's `malloc` gives memory at the top of its heap back to the system when more than its *trim
/// threshold* is free there, and that threshold starts at 128 KiB and only grows to twice the largest
/// block ever freed that had been given its own memory map (at most 32 MiB). With tensors of about
/// 1 MiB, the heap was trimmed after every step and the next step page-faulted the same memory back
/// in, zeroed by the kernel: measured on chapter 12's model, ~1,700 page faults and a third of the
/// training time per step. Freeing one untouched 16 MiB block raises the thresholds to 16 MiB (map)
/// and 32 MiB (trim) for the rest of the process, which is then allocation-free in the steady state
/// as far as the system is concerned. The block is zero-filled by the system, never written, so it
/// never becomes resident memory. On other allocators this is a harmless 16 MiB allocation.
pub fn tune_allocator() {
    drop(std::hint::black_box(vec![0u8; 16 << 20]));
}

/// Parses the process's arguments for `command`, prints `--help` or the banner, runs `run`, and exits:
/// 0 on success, 1 on an error, 2 on a usage error (after printing `error: …` to standard error).
pub fn main_for(command: Command, run: fn(&Args) -> Result<()>) -> ! {
    let command = with_threads_flag(command);
    let args = match command.parse(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(e.exit_code());
        }
    };
    if args.help_requested() {
        print!("{}", command.help_text());
        std::process::exit(0);
    }
    warn_if_debug_build();
    tune_allocator();
    let result = apply_threads(&args).and_then(|()| {
        // With `--json`, standard output carries only JSON lines (scripts read it); the banner goes
        // to standard error.
        if command.has_option("json") && args.flag("json") {
            eprintln!("{}", banner(command.name()));
        } else {
            println!("{}", banner(command.name()));
        }
        if command.has_option("out") {
            out_dir(&args)?;
        }
        run(&args)
    });
    match result {
        Ok(()) => std::process::exit(0),
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(e.exit_code());
        }
    }
}

/// Parses `words` for a chapter's command as the tour does (used by `src/main.rs` and tests).
pub fn parse_for(command: Command, words: &[&str]) -> Result<Args> {
    with_threads_flag(command).parse(words)
}

/// The command that checks a learner's exercises of one chapter (`chapter` like `ch06`), as the
/// README's "Exercises" section gives it.
pub fn exercises_command(chapter: &str) -> String {
    format!("cargo test --features exercises --test exercises -- {chapter}")
}

/// The last lines of a chapter that has exercises: where they are and the command that checks them.
pub fn exercises_hint(chapter: &str) {
    println!(
        "\nNow try `src/exercises/{chapter}.rs`: `{}`\n(each stub's doc comment says what to write; \
         failing checks print the input, expected vs got, and a hint)",
        exercises_command(chapter)
    );
}
