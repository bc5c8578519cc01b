//! Helpers shared by the tests of the chapters that save, resume and predict (12, 13, 14): run a
//! chapter's binary, and take a snapshot of the files it left in a folder (to prove that
//! `--evaluate` and `--predict` write nothing).

use std::path::{Path, PathBuf};

/// Runs the binary at `exe` with `words` (progress bars off); returns (exit code, standard output,
/// standard error).
pub fn run_binary(exe: &str, words: &[&str]) -> (i32, String, String) {
    let output = std::process::Command::new(exe)
        .args(words)
        .env("DLFS_PROGRESS", "0")
        .output()
        .unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// Every file under `dir` with its size and modification time, sorted by path.
pub fn snapshot(dir: &Path) -> Vec<(PathBuf, u64, std::time::SystemTime)> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(snapshot(&path));
        } else {
            let info = std::fs::metadata(&path).unwrap();
            files.push((path, info.len(), info.modified().unwrap()));
        }
    }
    files.sort();
    files
}
