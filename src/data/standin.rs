//! Writing a generated dataset folder (the stand-ins of chapters 12 and 13) so that an interruption
//! — `kill -9`, Ctrl-C, a full disk — never leaves a half-written folder that later runs refuse, or
//! worse, trust.
//!
//! [`ensure_generated`] does it in four steps:
//! 1. remove temporary folders of this target left by writers that are gone
//!    ([`crate::report::atomic::remove_stale_temporaries_of`]);
//! 2. if the folder holds the wanted marker (the description of exactly this data: generator
//!    version, seed, sizes) and is complete, use it as it is;
//! 3. otherwise generate into a fresh temporary folder beside it (`.NAME.tmp<PID>-<N>`), write the
//!    marker **last**, and rename the temporary folder to `NAME` — a rename is atomic, so `NAME` is
//!    either absent, the old complete folder, or the new complete one;
//! 4. on an error (a full disk), remove the temporary folder before returning the error, so a retry
//!    does not fill the disk again.
//!
//! An existing folder is replaced only when it is ours: it holds a marker of ours (another version or
//! size), or the caller recognises its files as ours (`is_ours`: chapter 12 compares the first
//! image with the one its generator draws), or it holds nothing but temporary files. A folder with
//! anything else in it — which could be the user's real data — is never deleted: that is an error
//! saying so.
//!
//! What it leaves out: two processes generating the same folder at once both do the work (the first
//! rename wins, the second finds the marker and drops its copy).

use crate::error::{Error, Result};
use crate::input::{self, Cap};
use crate::report::atomic;
use std::path::Path;

/// A marker file is tiny; anything larger is not one of ours.
const MARKER: Cap = Cap {
    what: "a stand-in marker file",
    max_bytes: 64_000,
    hint: "",
};

/// The text of `dir/marker_file`, if it is a small regular UTF-8 file.
pub fn read_marker(dir: &Path, marker_file: &str) -> Option<String> {
    input::read_text(&dir.join(marker_file), &MARKER).ok()
}

/// True when every entry of `dir` is a temporary file of this crate (`.NAME.tmp<PID>`): what an
/// interrupted writer leaves and nothing else.
fn only_temporaries(dir: &Path) -> bool {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return false;
    };
    entries.flatten().all(|entry| {
        entry
            .file_name()
            .to_str()
            .is_some_and(|name| atomic::parse_temporary_name(name).is_some())
    })
}

/// Makes sure `dir` holds the generated data described by `marker_text`, generating it with
/// `write(temporary_folder)` if it does not (see the module docs). Returns `true` when it generated
/// the data, `false` when the folder was already complete.
///
/// - `marker_file`, `marker_text`: the file written last, and its exact text for this data;
/// - `is_complete(dir)`: every file is there (checked together with the marker);
/// - `is_ours(dir)`: the folder was written by this generator (any version or size) — also
///   without a marker, e.g. by an older version interrupted before it wrote one.
pub fn ensure_generated(
    dir: &Path,
    marker_file: &str,
    marker_text: &str,
    is_complete: &dyn Fn(&Path) -> bool,
    is_ours: &dyn Fn(&Path) -> bool,
    write: &mut dyn FnMut(&Path) -> Result<()>,
) -> Result<bool> {
    atomic::remove_stale_temporaries_of(dir);
    if read_marker(dir, marker_file).is_some_and(|text| text == marker_text) && is_complete(dir) {
        return Ok(false);
    }
    let existing = std::fs::symlink_metadata(dir).ok();
    if let Some(metadata) = &existing {
        if !metadata.is_dir() {
            return Err(Error::data(format!(
                "{} is {}, not a folder: the generated data cannot go there; choose another path",
                dir.display(),
                input::kind_of(metadata.file_type())
            )));
        }
        if !(is_ours(dir) || only_temporaries(dir)) {
            return Err(Error::data(format!(
                "{} holds files but no {marker_file} of a dlfs stand-in: it may be real data, so \
                 the stand-in will not overwrite it; pass that folder with --data to use it, or \
                 choose another folder for the stand-in",
                dir.display()
            )));
        }
    }
    let temporary = atomic::create_temporary_folder(dir)?;
    let written = (|| {
        write(&temporary)?;
        let marker = temporary.join(marker_file);
        crate::report::write_atomic(&marker, marker_text.as_bytes())?;
        let _ = std::fs::remove_file(temporary.join(atomic::TEMPORARY_MARKER));
        Ok(())
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_dir_all(&temporary);
        return Err(e);
    }
    // Move the old folder out of the way under a temporary name first (removed afterwards; if we are
    // killed in between, it is a stale temporary that the next run removes), then rename the new one.
    if existing.is_some() {
        let old = atomic::temporary_path(dir);
        if let Err(e) = std::fs::rename(dir, &old) {
            let _ = std::fs::remove_dir_all(&temporary);
            return Err(Error::io(
                dir,
                e,
                "could not replace the old generated folder",
            ));
        }
        let _ = std::fs::remove_dir_all(&old);
    }
    if let Err(e) = std::fs::rename(&temporary, dir) {
        let _ = std::fs::remove_dir_all(&temporary);
        // Another process may have finished the same folder first: then use its copy.
        if read_marker(dir, marker_file).is_some_and(|text| text == marker_text) {
            return Ok(true);
        }
        return Err(Error::io(
            dir,
            e,
            "could not move the generated folder into place",
        ));
    }
    Ok(true)
}
