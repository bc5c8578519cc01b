//! The Large Movie Review Dataset (Maas et al., 2011, "aclImdb"), read from its folders. Chapter 13.
//!
//! Layout (as unpacked from `aclImdb_v1.tar.gz`):
//! ```text
//! aclImdb/train/pos/*.txt   12,500 positive reviews, one per file, named <id>_<rating>.txt
//! aclImdb/train/neg/*.txt   12,500 negative reviews
//! aclImdb/test/pos/*.txt    12,500 positive
//! aclImdb/test/neg/*.txt    12,500 negative
//! ```
//! Other files and folders (`train/unsup`, `imdb.vocab`, `urlsTrain_pos.txt`, …) are ignored, and so is
//! the rating in the file name: the folder gives the label (positive = 1, negative = 0).
//! [`super::synthetic_reviews`] writes a small generated stand-in in the same layout.
//!
//! Files are read in a fixed order (by the number before `_`, then by name), so a run is reproducible.
//! Bytes that are not valid UTF-8 are replaced by `�` and counted ([`Imdb::lossy_files`]), never fatal.
//!
//! Limits, so that a wrong folder fails fast instead of filling the memory: each review is a regular
//! file of at most 1 MB ([`REVIEW`]; the longest real review has about 14 KB), a class folder holds at
//! most [`MAX_FILES_PER_FOLDER`] entries, and one [`load`] reads at most [`MAX_TOTAL_BYTES`] of text
//! (the real labelled reviews are about 65 MB). Anything else under a `.txt` name — a pipe, a
//! device, a folder — is refused with what it is.
//!
//! What it leaves out: the unlabelled `unsup` reviews, the tokenized `.feat` files, URLs.

use crate::error::{Error, Result};
use crate::input::{self, Cap};
use crate::report::human_bytes;
use std::path::{Path, PathBuf};

/// One review and its label.
#[derive(Clone, Debug, PartialEq)]
pub struct Review {
    /// The raw text (HTML tags and all).
    pub text: String,
    /// 1 for positive, 0 for negative.
    pub label: u8,
}

/// The two splits of the dataset.
#[derive(Clone, Debug, Default)]
pub struct Imdb {
    /// `train/pos` then `train/neg`, each in file order.
    pub train: Vec<Review>,
    /// `test/pos` then `test/neg`.
    pub test: Vec<Review>,
    /// How many files held bytes that are not UTF-8 (decoded with replacement characters).
    pub lossy_files: usize,
}

const HINT: &str = "expected the aclImdb layout (train/pos, train/neg, test/pos, test/neg with one \
                    .txt review per file); see datasets/README.md, section IMDB";

/// What one review file may be: a regular file of at most 1 MB.
pub const REVIEW: Cap = Cap {
    what: "one review (the longest in aclImdb has about 14 KB)",
    max_bytes: 1_000_000,
    hint: HINT,
};

/// The most entries read from one class folder (aclImdb has 12,500).
pub const MAX_FILES_PER_FOLDER: usize = 1_000_000;

/// The most review text one [`load`] reads, in bytes (aclImdb's labelled reviews: about 65 MB).
pub const MAX_TOTAL_BYTES: u64 = 1_000_000_000;

/// The sort key of a review file: the number before `_` (`123_8.txt` → 123), then the name.
fn file_order(path: &Path) -> (u64, String) {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let number = name
        .split('_')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(u64::MAX);
    (number, name)
}

/// The `.txt` entries of one class folder, in file order (at most [`MAX_FILES_PER_FOLDER`]).
fn review_files(folder: &Path) -> Result<Vec<PathBuf>> {
    let entries = std::fs::read_dir(folder).map_err(|e| Error::io(folder, e, HINT))?;
    let mut files = Vec::new();
    for (count, entry) in entries.enumerate() {
        if count >= MAX_FILES_PER_FOLDER {
            return Err(Error::data(format!(
                "{}: more than {MAX_FILES_PER_FOLDER} entries in one class folder (aclImdb has \
                 12,500); is this the right folder? {HINT}",
                folder.display()
            )));
        }
        let entry = entry.map_err(|e| Error::io(folder, e, HINT))?;
        let path = entry.path();
        // Every `.txt` entry is read, so that one that is not a regular file is refused by name
        // instead of silently left out.
        if path.extension().is_some_and(|e| e == "txt") {
            files.push(path);
        }
    }
    files.sort_by_key(|p| file_order(p));
    Ok(files)
}

/// Reads one class folder (`train/pos`, …): at most `limit` reviews, all labelled `label`, adding
/// their bytes to `total_bytes` (an error past [`MAX_TOTAL_BYTES`]).
/// Returns the reviews and how many files needed lossy decoding.
fn read_class(
    root: &Path,
    split: &str,
    class: &str,
    label: u8,
    limit: Option<usize>,
    total_bytes: &mut u64,
) -> Result<(Vec<Review>, usize)> {
    let folder = root.join(split).join(class);
    if !folder.exists() {
        return Err(Error::data(format!(
            "{}: folder not found; {HINT}",
            folder.display()
        )));
    }
    input::check_folder(&folder, "a folder of reviews", HINT)?;
    let mut files = review_files(&folder)?;
    if files.is_empty() {
        return Err(Error::data(format!(
            "{}: no .txt reviews in this folder (an empty class cannot be learned); {HINT}",
            folder.display()
        )));
    }
    if let Some(limit) = limit {
        files.truncate(limit);
    }
    let mut reviews = Vec::with_capacity(files.len());
    let mut lossy = 0;
    for path in files {
        let size = input::check_file(&path, &REVIEW)?.len();
        *total_bytes += size;
        if *total_bytes > MAX_TOTAL_BYTES {
            return Err(Error::data(format!(
                "{}: the reviews read up to this file add up to more than {} ({} bytes), the most \
                 one run reads (the real aclImdb's labelled reviews are about 65 MB); read fewer \
                 with --limit N, or check the folder",
                path.display(),
                human_bytes(MAX_TOTAL_BYTES),
                *total_bytes
            )));
        }
        let bytes = input::read_bytes(&path, &REVIEW)?;
        let text = match String::from_utf8(bytes) {
            Ok(text) => text,
            Err(e) => {
                lossy += 1;
                String::from_utf8_lossy(e.as_bytes()).into_owned()
            }
        };
        reviews.push(Review { text, label });
    }
    Ok((reviews, lossy))
}

/// Reads an aclImdb folder. `limit` caps the reviews read per class and split (the first ones in
/// file order), so `Some(1000)` reads 2,000 training and 2,000 test reviews.
///
/// Errors: a missing folder, a class folder without `.txt` files, an unreadable file, a `.txt` entry
/// that is not a regular file or is above [`REVIEW`]'s cap, more than [`MAX_TOTAL_BYTES`] in all —
/// each message names the path and the expected layout.
pub fn load(root: &Path, limit: Option<usize>) -> Result<Imdb> {
    input::check_folder(root, "an aclImdb folder", HINT)?;
    let mut imdb = Imdb::default();
    let mut total_bytes = 0u64;
    for split in ["train", "test"] {
        for (class, label) in [("pos", 1u8), ("neg", 0u8)] {
            let (reviews, lossy) = read_class(root, split, class, label, limit, &mut total_bytes)?;
            imdb.lossy_files += lossy;
            if split == "train" {
                imdb.train.extend(reviews);
            } else {
                imdb.test.extend(reviews);
            }
        }
    }
    Ok(imdb)
}
