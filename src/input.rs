//! Reading the files a user names — `--data`, `--csv`, a review, a checkpoint, a vocabulary, a text
//! corpus — so that no path can hang the program, fill the memory, or flood the terminal.
//!
//! A path given on a command line may be anything: a named pipe (opening one waits for a writer,
//! forever), a device such as `/dev/zero` (it never ends) or `/dev/stdin`, a folder, or a 3 GB sparse
//! file that reads back as zeros. `std::fs::read` would block on the first, and on the others read
//! until the memory runs out. So every reader of the crate goes through this module:
//!
//! 1. **Only regular files.** [`open`] looks at what the path is before opening it, and refuses
//!    anything else with an error saying what it is ("a named pipe (FIFO)", "a character device",
//!    "a folder"). On Linux the file is also opened non-blocking and checked again once open, so a
//!    pipe swapped in at the last moment cannot block either.
//! 2. **A cap per format.** Every format states the largest file it accepts ([`Cap`]): a refusal names
//!    the cap and the file's real size, *before* anything is read. The cap is also enforced while
//!    reading (a file that grows is cut off, not followed).
//! 3. **Short excerpts.** Messages quote bad input through [`excerpt`]: at most
//!    [`EXCERPT_CHARS`] characters, control characters escaped, and the full length stated.
//!
//! The caps of the crate's formats (each constant lives with its format):
//!
//! | what | cap | constant |
//! |---|---|---|
//! | a CIFAR-10 batch file | 100,000 records = 307 MB | [`crate::data::cifar10::BATCH_FILE`] |
//! | CIFAR-10's class names | 64 KB | [`crate::data::cifar10::META`] |
//! | one review of aclImdb | 1 MB (the longest real one is 14 KB) | [`crate::data::imdb::REVIEW`] |
//! | all reviews read from one aclImdb folder | 1 GB | [`crate::data::imdb::MAX_TOTAL_BYTES`] |
//! | a CSV file | 256 MB | [`crate::data::csv::FILE`] |
//! | a vocabulary file | 64 MB | [`crate::data::text::VOCABULARY_FILE`] |
//! | a text corpus | 64 MB | [`crate::data::text::CORPUS_FILE`] |
//! | a checkpoint header | 100 MB (as the reference implementation) | [`crate::checkpoint::MAX_HEADER_BYTES`] |
//! | a checkpoint read without a model | 4 GB | [`crate::checkpoint::FILE`] |
//!
//! What it leaves out: locking (another program may change a file while it is read; the cap still
//! holds), and reading from standard input (name a file instead).

use crate::error::{Error, Result};
use crate::report::human_bytes;
use std::fs::{File, FileType, Metadata};
use std::io::Read;
use std::path::Path;

/// What a reader expects of a file: a description for messages, the largest size accepted, and a
/// hint saying where to look when the file is wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cap {
    /// What the file should be, with an article: "a CSV file", "a CIFAR-10 batch file".
    pub what: &'static str,
    /// The largest size accepted, in bytes.
    pub max_bytes: u64,
    /// What to do when the file is wrong (may be empty).
    pub hint: &'static str,
}

/// The most characters of bad input that a message quotes.
pub const EXCERPT_CHARS: usize = 40;

/// What a path is, in words, for a refusal: "a named pipe (FIFO)", "a folder", …
pub fn kind_of(file_type: FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if file_type.is_fifo() {
            return "a named pipe (FIFO)";
        }
        if file_type.is_char_device() {
            return "a character device";
        }
        if file_type.is_block_device() {
            return "a block device";
        }
        if file_type.is_socket() {
            return "a socket";
        }
    }
    if file_type.is_dir() {
        "a folder"
    } else if file_type.is_file() {
        "a regular file"
    } else if file_type.is_symlink() {
        "a symbolic link"
    } else {
        "not a regular file"
    }
}

/// The error for a path that exists but is not a regular file.
fn not_a_file(path: &Path, kind: &str, cap: &Cap) -> Error {
    Error::io(
        path,
        std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("this is {kind}, not a regular file"),
        ),
        format!(
            "expected {}; dlfs reads only regular files (a pipe or a device could block or never \
             end){}{}",
            cap.what,
            if cap.hint.is_empty() { "" } else { "; " },
            cap.hint
        ),
    )
}

/// The error for a file larger than its cap.
fn too_large(path: &Path, size: u64, cap: &Cap) -> Error {
    Error::format(
        path.display().to_string(),
        format!(
            "the file has {size} bytes ({}), more than the {} accepted for {} — is this the right \
             file?{}{}",
            human_bytes(size),
            human_bytes(cap.max_bytes),
            cap.what,
            if cap.hint.is_empty() { "" } else { " " },
            cap.hint
        ),
    )
}

/// The metadata of `path` (following links), refusing anything that is not a regular file of at
/// most `cap.max_bytes` bytes. Opens nothing.
pub fn check_file(path: &Path, cap: &Cap) -> Result<Metadata> {
    let metadata = std::fs::metadata(path).map_err(|e| Error::io(path, e, cap.hint))?;
    if !metadata.is_file() {
        return Err(not_a_file(path, kind_of(metadata.file_type()), cap));
    }
    if metadata.len() > cap.max_bytes {
        return Err(too_large(path, metadata.len(), cap));
    }
    Ok(metadata)
}

/// Opens a file for reading without blocking: on Linux with `O_NONBLOCK`, which makes opening a
/// named pipe return at once instead of waiting for a writer (regular files ignore the flag).
fn open_without_blocking(path: &Path) -> std::io::Result<File> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(all(
        target_os = "linux",
        any(
            target_arch = "x86_64",
            target_arch = "x86",
            target_arch = "aarch64",
            target_arch = "arm",
            target_arch = "riscv64"
        )
    ))]
    {
        use std::os::unix::fs::OpenOptionsExt;
        // O_NONBLOCK on these architectures (asm-generic/fcntl.h).
        const O_NONBLOCK: i32 = 0o4000;
        options.custom_flags(O_NONBLOCK);
    }
    options.open(path)
}

/// Opens `path` for reading after [`check_file`], and checks the opened file again (so nothing can
/// be swapped in between). Returns the file and its size in bytes.
pub fn open(path: &Path, cap: &Cap) -> Result<(File, u64)> {
    check_file(path, cap)?;
    let file = open_without_blocking(path).map_err(|e| Error::io(path, e, cap.hint))?;
    let metadata = file.metadata().map_err(|e| Error::io(path, e, cap.hint))?;
    if !metadata.is_file() {
        return Err(not_a_file(path, kind_of(metadata.file_type()), cap));
    }
    if metadata.len() > cap.max_bytes {
        return Err(too_large(path, metadata.len(), cap));
    }
    Ok((file, metadata.len()))
}

/// Reads a whole file of at most `cap.max_bytes` bytes (see the module docs for every check).
pub fn read_bytes(path: &Path, cap: &Cap) -> Result<Vec<u8>> {
    let (file, size) = open(path, cap)?;
    // `size` is at most the cap; the file may still grow while it is read, so read one byte more
    // than the cap at most, and refuse if that byte arrives.
    let mut bytes = Vec::with_capacity(size as usize);
    file.take(cap.max_bytes.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io(path, e, cap.hint))?;
    if bytes.len() as u64 > cap.max_bytes {
        return Err(too_large(path, bytes.len() as u64, cap));
    }
    Ok(bytes)
}

/// Reads a whole UTF-8 text file of at most `cap.max_bytes` bytes; a byte that is not UTF-8 is an
/// error naming its offset and line.
pub fn read_text(path: &Path, cap: &Cap) -> Result<String> {
    let bytes = read_bytes(path, cap)?;
    String::from_utf8(bytes).map_err(|e| {
        let offset = e.utf8_error().valid_up_to();
        let line = 1 + e.as_bytes()[..offset]
            .iter()
            .filter(|&&b| b == b'\n')
            .count();
        Error::format(
            path.display().to_string(),
            format!(
                "not UTF-8 text: line {line} has an invalid byte (offset {offset}); save the file \
                 as UTF-8"
            ),
        )
    })
}

/// Refuses `path` unless it is a folder, saying what it is instead (`what`: "an aclImdb folder").
pub fn check_folder(path: &Path, what: &str, hint: &str) -> Result<()> {
    let metadata = std::fs::metadata(path)
        .map_err(|e| Error::io(path, e, format!("expected {what}; {hint}")))?;
    if metadata.is_dir() {
        return Ok(());
    }
    Err(Error::io(
        path,
        std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("this is {}, not a folder", kind_of(metadata.file_type())),
        ),
        format!("expected {what}; {hint}"),
    ))
}

/// A short, quoted excerpt of `text` for a message: at most [`EXCERPT_CHARS`] characters, control
/// characters and quotes escaped, and the full length when it was cut:
/// `'2024-01-0x'`, `'aaaaaaaa…' (3000000000 bytes)`.
pub fn excerpt(text: &str) -> String {
    let mut out = String::from("'");
    for (shown, c) in text.chars().enumerate() {
        if shown == EXCERPT_CHARS {
            out.push_str(&format!("…' ({} bytes)", text.len()));
            return out;
        }
        out.extend(c.escape_debug());
    }
    out.push('\'');
    out
}

/// [`excerpt`] for bytes that may not be UTF-8 (invalid bytes shown as `�`).
pub fn excerpt_bytes(bytes: &[u8]) -> String {
    // Decode no more than the excerpt can show (4 bytes per character at most), then state the
    // length of the whole input rather than of the decoded part.
    let shown = &bytes[..bytes.len().min(4 * EXCERPT_CHARS + 4)];
    let quoted = excerpt(&String::from_utf8_lossy(shown));
    if shown.len() == bytes.len() {
        return quoted;
    }
    match quoted.rfind("' (") {
        Some(end) => format!("{}' ({} bytes)", &quoted[..end], bytes.len()),
        None => format!("{quoted} … ({} bytes)", bytes.len()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpts_are_short_and_escaped() {
        assert_eq!(excerpt("abc"), "'abc'");
        assert_eq!(excerpt("a\nb"), "'a\\nb'");
        let long = "x".repeat(10_000);
        let quoted = excerpt(&long);
        assert!(quoted.len() < 70, "{quoted}");
        assert!(quoted.ends_with("(10000 bytes)"), "{quoted}");
        let bytes = vec![b'y'; 1_000_000];
        let quoted = excerpt_bytes(&bytes);
        assert!(quoted.ends_with("(1000000 bytes)"), "{quoted}");
        assert_eq!(excerpt_bytes(b"ok\xff"), "'ok\u{fffd}'");
    }
}
