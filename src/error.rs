//! Errors for everything a *user* can get wrong: files, formats, arguments, data, training, the GPU.
//!
//! Programming mistakes inside the crate (two tensors of different shapes added together, an index out
//! of range) are bugs, not user errors: they panic with a message that names the shapes involved.
//! Everything that depends on the outside world — a path, a file's bytes, a command-line flag, a
//! learning rate that makes the loss explode, a missing GPU driver — comes back as an [`Error`].
//!
//! Every message says three things: what was expected, what was found, and what to do next
//! (the "HINT" habit of llm.c). Chapter binaries print `error: <message>` and exit with status 1,
//! or status 2 for [`Error::Usage`].

use std::fmt;
use std::path::{Path, PathBuf};

/// The crate's result type: `Result<T, dlfs::Error>`.
pub type Result<T> = std::result::Result<T, Error>;

/// Everything that can go wrong because of input from outside the program.
#[derive(Debug)]
pub enum Error {
    /// Reading or writing a file or folder failed (missing, unreadable, disk full, …).
    Io {
        /// The path that was being read or written.
        path: PathBuf,
        /// What the operating system said.
        source: std::io::Error,
        /// What the user can do about it (may be empty).
        hint: String,
    },
    /// A file was read but its bytes are not in the expected format (truncated, wrong header, bad value).
    Format {
        /// The file (or a description of the source when there is no file).
        source_name: String,
        /// What was expected and what was found.
        message: String,
    },
    /// A command-line flag or value was wrong. Binaries exit with status 2 for these.
    Usage(String),
    /// Data that is well-formed but unusable (NaN in a column, an empty class, too few rows, …).
    Data(String),
    /// Training diverged: the loss became NaN or infinite.
    Training {
        /// The optimisation step (counted from 1) at which the loss stopped being finite.
        step: usize,
        /// What happened and what to try.
        message: String,
    },
    /// The GPU path is not available or a GPU operation failed.
    Gpu(String),
}

impl Error {
    /// An I/O error on `path`, with a hint for the user.
    pub fn io(path: impl AsRef<Path>, source: std::io::Error, hint: impl Into<String>) -> Error {
        Error::Io {
            path: path.as_ref().to_path_buf(),
            source,
            hint: hint.into(),
        }
    }

    /// A format error in the file or stream called `source_name`.
    pub fn format(source_name: impl Into<String>, message: impl Into<String>) -> Error {
        Error::Format {
            source_name: source_name.into(),
            message: message.into(),
        }
    }

    /// A usage error (bad flag or value); binaries exit with status 2.
    pub fn usage(message: impl Into<String>) -> Error {
        Error::Usage(message.into())
    }

    /// A data error: the input is well-formed but cannot be used as it is.
    pub fn data(message: impl Into<String>) -> Error {
        Error::Data(message.into())
    }

    /// The exit status a binary should use for this error: 2 for usage errors, 1 otherwise.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Usage(_) => 2,
            _ => 1,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io { path, source, hint } => {
                write!(f, "{}: {}", path.display(), source)?;
                if !hint.is_empty() {
                    write!(f, "\n  hint: {hint}")?;
                }
                Ok(())
            }
            Error::Format {
                source_name,
                message,
            } => write!(f, "{source_name}: {message}"),
            Error::Usage(message) => write!(f, "{message}\n  (run with --help for usage)"),
            Error::Data(message) => write!(f, "{message}"),
            Error::Training { step, message } => {
                write!(f, "training stopped at step {step}: {message}")
            }
            Error::Gpu(message) => write!(f, "GPU: {message}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_errors_exit_with_two_and_others_with_one() {
        assert_eq!(Error::usage("bad flag").exit_code(), 2);
        assert_eq!(Error::data("empty").exit_code(), 1);
    }

    #[test]
    fn io_error_message_names_path_and_hint() {
        let e = Error::io(
            "/no/such/dir",
            std::io::Error::new(std::io::ErrorKind::NotFound, "not found"),
            "see datasets/README.md",
        );
        let text = e.to_string();
        assert!(text.contains("/no/such/dir"), "{text}");
        assert!(text.contains("see datasets/README.md"), "{text}");
    }
}
