//! Writing files so that a crash, `kill -9` or a full disk never leaves half a file behind — and
//! cleaning up after writers that were killed anyway.
//!
//! [`write_atomic`] writes `NAME` through a temporary file `.NAME.tmp<PID>-<N>` in the same folder
//! (PID: the writing process, N: a counter, so two threads of one process never share a temporary),
//! flushes it to the disk and renames it over `NAME`. A rename within one folder is atomic: readers
//! see the old file or the complete new one, never a mixture. A process killed before the rename
//! leaves only its temporary file, and the old `NAME` untouched.
//!
//! Those temporary files would pile up, so [`remove_stale_temporaries`] removes the ones whose
//! writer is gone: every chapter calls it on its `--out` folder at start ([`crate::app::out_dir`]),
//! and [`write_atomic`] calls [`remove_stale_temporaries_of`] for its own target before it writes.
//! A temporary is *stale* when its name says so (`.NAME.tmp<PID>` or `.NAME.tmp<PID>-<N>`, the names
//! this crate gives) and process PID no longer runs. Folders are removed only when they hold the
//! file [`TEMPORARY_MARKER`] (written first into every temporary folder this crate makes), or when
//! the caller names their target (the generated datasets of [`crate::data::standin`]), so nothing a
//! user made can match by accident.
//!
//! Whether a process runs is read from `/proc/<PID>` (Linux and most Unix systems). Where there is no
//! `/proc`, a temporary counts as stale once it is a day old. What it leaves out: writers in another
//! PID namespace (a container sharing the folder) look gone; a temporary that belonged to a process
//! whose PID was since reused looks alive, and stays until that process ends.

use crate::error::{Error, Result};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

/// The file written first into every temporary folder of this crate, so that
/// [`remove_stale_temporaries`] knows the folder is ours.
pub const TEMPORARY_MARKER: &str = ".dlfs-temporary";

/// Where there is no `/proc` to ask, the age after which a temporary counts as stale.
const STALE_AGE_WITHOUT_PROC: Duration = Duration::from_secs(24 * 60 * 60);

/// Counts temporaries made by this process, so each gets its own name.
static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A fresh temporary name beside `path`: `.NAME.tmp<PID>-<N>` in the same folder.
pub fn temporary_path(path: &Path) -> PathBuf {
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "output".to_string());
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    path.with_file_name(format!(".{file_name}.tmp{}-{n}", std::process::id()))
}

/// Splits a temporary's file name into its target's name and the writer's PID:
/// `.model.safetensors.tmp4242-3` → `("model.safetensors", 4242)`. `None` for any other name.
pub fn parse_temporary_name(name: &str) -> Option<(&str, u32)> {
    let body = name.strip_prefix('.')?;
    let (target, suffix) = body.rsplit_once(".tmp")?;
    let (pid, counter) = match suffix.split_once('-') {
        Some((pid, counter)) => (pid, Some(counter)),
        None => (suffix, None),
    };
    let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if target.is_empty() || !all_digits(pid) || counter.is_some_and(|c| !all_digits(c)) {
        return None;
    }
    Some((target, pid.parse().ok()?))
}

/// Whether process `pid` is gone: `/proc/<pid>` is missing (where `/proc` exists), else whether the
/// temporary was last modified more than a day ago. This process itself is never gone.
fn writer_is_gone(pid: u32, modified: Option<SystemTime>) -> bool {
    if pid == std::process::id() {
        return false;
    }
    if Path::new("/proc/self").exists() {
        return !Path::new("/proc").join(pid.to_string()).exists();
    }
    modified
        .and_then(|m| m.elapsed().ok())
        .is_some_and(|age| age > STALE_AGE_WITHOUT_PROC)
}

/// Removes one stale entry: a file or link with `remove_file`, a folder with everything in it.
fn remove_entry(path: &Path, is_folder: bool) -> bool {
    if is_folder {
        std::fs::remove_dir_all(path).is_ok()
    } else {
        std::fs::remove_file(path).is_ok()
    }
}

/// The stale temporaries in `dir` that `accept` agrees to, removed; returns their paths.
fn remove_matching(dir: &Path, accept: &dyn Fn(&str, &Path, bool) -> bool) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut removed = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some((target, pid)) = name.to_str().and_then(parse_temporary_name) else {
            continue;
        };
        // `symlink_metadata`: a link is removed as a link, never followed.
        let Ok(metadata) = std::fs::symlink_metadata(entry.path()) else {
            continue;
        };
        let is_folder = metadata.is_dir();
        let path = entry.path();
        if writer_is_gone(pid, metadata.modified().ok())
            && accept(target, &path, is_folder)
            && remove_entry(&path, is_folder)
        {
            removed.push(path);
        }
    }
    removed.sort();
    removed
}

/// Removes the temporaries in `dir` whose writer is gone: files named `.NAME.tmp<PID>[-<N>]`, and
/// folders of that name holding [`TEMPORARY_MARKER`]. Best effort (what cannot be removed stays);
/// returns what was removed.
pub fn remove_stale_temporaries(dir: &Path) -> Vec<PathBuf> {
    remove_matching(dir, &|_, path, is_folder| {
        !is_folder || path.join(TEMPORARY_MARKER).is_file()
    })
}

/// Removes the temporaries of one target — `.NAME.tmp<PID>[-<N>]` beside `target`, files or folders,
/// with or without [`TEMPORARY_MARKER`] — whose writer is gone. Returns what was removed.
pub fn remove_stale_temporaries_of(target: &Path) -> Vec<PathBuf> {
    let Some(name) = target.file_name().and_then(|n| n.to_str()) else {
        return Vec::new();
    };
    let dir = match target.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    remove_matching(dir, &|temporary_target, _, _| temporary_target == name)
}

/// Creates a fresh temporary folder beside `target` (`.NAME.tmp<PID>-<N>`, parents created) with
/// [`TEMPORARY_MARKER`] in it, for work that is renamed to `target` once complete.
pub fn create_temporary_folder(target: &Path) -> Result<PathBuf> {
    let temporary = temporary_path(target);
    let io = |path: &Path, e: std::io::Error| {
        Error::io(
            path,
            e,
            "could not create a temporary folder (is the folder writable? is the disk full?)",
        )
    };
    std::fs::create_dir_all(&temporary).map_err(|e| io(&temporary, e))?;
    let marker = temporary.join(TEMPORARY_MARKER);
    std::fs::write(&marker, b"a temporary folder of dlfs; safe to delete\n").map_err(|e| {
        let _ = std::fs::remove_dir_all(&temporary);
        io(&marker, e)
    })?;
    Ok(temporary)
}

/// Writes `bytes` to `path` through a temporary file in the same folder and a rename, so the file is
/// either the old one or the complete new one, never a partial write. Creates missing parent
/// folders, and first removes temporaries of `path` left by killed writers.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    if let Some(parent) = path.parent()
        && !parent.as_os_str().is_empty()
    {
        std::fs::create_dir_all(parent)
            .map_err(|e| Error::io(parent, e, "could not create the output folder"))?;
    }
    remove_stale_temporaries_of(path);
    let temp = temporary_path(path);
    let result = (|| {
        let mut file = std::fs::File::create(&temp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&temp, path)
    })();
    result.map_err(|e| {
        let _ = std::fs::remove_file(&temp);
        Error::io(
            path,
            e,
            "could not write the file (is the folder writable? is the disk full?)",
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temporary_names_are_recognised_exactly() {
        assert_eq!(
            parse_temporary_name(".model.safetensors.tmp4242"),
            Some(("model.safetensors", 4242))
        );
        assert_eq!(
            parse_temporary_name(".cifar10-standin.tmp17-3"),
            Some(("cifar10-standin", 17))
        );
        for other in [
            "model.safetensors.tmp12",
            ".model.tmp",
            ".model.tmp12a",
            ".model.tmp12-",
            ".model.tmp-3",
            "..tmp12",
            ".notes.txt",
        ] {
            assert_eq!(parse_temporary_name(other), None, "{other}");
        }
        let fresh = temporary_path(Path::new("out/x.svg"));
        let name = fresh.file_name().unwrap().to_str().unwrap();
        assert_eq!(
            parse_temporary_name(name),
            Some(("x.svg", std::process::id()))
        );
    }
}
