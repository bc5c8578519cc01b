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
//! What it leaves out: the unlabelled `unsup` reviews, the tokenized `.feat` files, URLs.

use crate::error::{Error, Result};
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

/// The `.txt` files of one class folder, in file order.
fn review_files(folder: &Path) -> Result<Vec<PathBuf>> {
    let entries = std::fs::read_dir(folder).map_err(|e| Error::io(folder, e, HINT))?;
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(folder, e, HINT))?;
        let path = entry.path();
        if path.extension().is_some_and(|e| e == "txt") && path.is_file() {
            files.push(path);
        }
    }
    files.sort_by_key(|p| file_order(p));
    Ok(files)
}

/// Reads one class folder (`train/pos`, …): at most `limit` reviews, all labelled `label`.
/// Returns the reviews and how many files needed lossy decoding.
fn read_class(
    root: &Path,
    split: &str,
    class: &str,
    label: u8,
    limit: Option<usize>,
) -> Result<(Vec<Review>, usize)> {
    let folder = root.join(split).join(class);
    if !folder.is_dir() {
        return Err(Error::data(format!(
            "{}: folder not found; {HINT}",
            folder.display()
        )));
    }
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
        let bytes = std::fs::read(&path).map_err(|e| Error::io(&path, e, HINT))?;
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
/// Errors: a missing folder, a class folder without `.txt` files, an unreadable file — each message
/// names the path and the expected layout.
pub fn load(root: &Path, limit: Option<usize>) -> Result<Imdb> {
    if !root.is_dir() {
        return Err(Error::io(
            root,
            std::io::Error::new(std::io::ErrorKind::NotFound, "folder not found"),
            HINT,
        ));
    }
    let mut imdb = Imdb::default();
    for split in ["train", "test"] {
        for (class, label) in [("pos", 1u8), ("neg", 0u8)] {
            let (reviews, lossy) = read_class(root, split, class, label, limit)?;
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
