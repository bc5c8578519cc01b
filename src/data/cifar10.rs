//! CIFAR-10 in its official *binary* format (chapter 12, 图像分类项目实操): reading, writing,
//! normalisation, augmentation and mini-batches.
//!
//! # The format
//! The binary version (`cifar-10-binary.tar.gz`, which unpacks to `cifar-10-batches-bin/`) holds six
//! files of 10,000 records each — `data_batch_1.bin` … `data_batch_5.bin` (the 50,000 training images)
//! and `test_batch.bin` (10,000 test images) — plus `batches.meta.txt`, the ten class names, one per
//! line. A record is 3,073 bytes:
//!
//! ```text
//! byte 0          the label, 0…9
//! bytes 1…1024    the red plane, 32×32, row-major (row 0 first, left to right)
//! bytes 1025…2048 the green plane
//! bytes 2049…3072 the blue plane
//! ```
//!
//! so a file is a whole number of records and nothing else (no header). [`load`] reads the folder,
//! [`write_dataset`] writes one in exactly this layout (the generated stand-in and the tests use it).
//!
//! # From bytes to a tensor
//! The tutorial's transform is `ToTensor()` (bytes → `[0, 1]`) then `Normalize(0.5, 0.5)` for every
//! channel: `x = (byte/255 − 0.5) / 0.5`, which maps 0…255 to −1…1 ([`normalize`]). Images stay as
//! bytes in memory (50,000 images are 150 MB as bytes, 600 MB as `f32`) and become `f32` one
//! mini-batch at a time ([`ImageSet::fill_batch`]), optionally augmented ([`Augmentation`]: a random
//! crop of the zero-padded image and a horizontal flip, torchvision's `RandomCrop(32, padding=4)` and
//! `RandomHorizontalFlip()`).
//!
//! # Errors
//! A missing folder or file, a file whose size is not a multiple of 3,073 bytes (truncated, or the
//! Python/Matlab version instead of the binary one), a label above 9 or a class-name file without ten
//! names are [`Error`]s that say what was expected, what was found and where to look
//! (`datasets/README.md`) — never a panic. Files are read through [`crate::input`]: a path that is
//! not a regular file (a pipe, a device, a folder) is refused with what it is, and a batch file above
//! [`BATCH_FILE`]'s cap (100,000 records) before a byte of it is read.
//!
//! What it leaves out: the Python (pickle) and Matlab versions of the dataset, CIFAR-100.

use crate::error::{Error, Result};
use crate::input::{self, Cap};
use crate::probability::Rng;
use crate::report::write_atomic;
use crate::tensor::Tensor;
use std::path::{Path, PathBuf};

/// Image side in pixels.
pub const SIDE: usize = 32;
/// Colour channels (red, green, blue).
pub const CHANNELS: usize = 3;
/// Bytes of pixels per image: 3 × 32 × 32.
pub const IMAGE_BYTES: usize = CHANNELS * SIDE * SIDE;
/// Bytes per record: one label byte, then the pixels.
pub const RECORD_BYTES: usize = 1 + IMAGE_BYTES;
/// Number of classes; labels are `0..CLASSES`.
pub const CLASSES: usize = 10;
/// The five training files, in order.
pub const TRAIN_FILES: [&str; 5] = [
    "data_batch_1.bin",
    "data_batch_2.bin",
    "data_batch_3.bin",
    "data_batch_4.bin",
    "data_batch_5.bin",
];
/// The test file.
pub const TEST_FILE: &str = "test_batch.bin";
/// The class names file.
pub const META_FILE: &str = "batches.meta.txt";
/// The folder the official archive unpacks to; [`load`] also looks inside it.
pub const ARCHIVE_FOLDER: &str = "cifar-10-batches-bin";
/// The real dataset's class names, in label order.
pub const CLASS_NAMES: [&str; CLASSES] = [
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
];
/// The largest batch file accepted (100,000 records ≈ 307 MB; the official ones hold 10,000), so that
/// pointing the reader at a huge unrelated file fails fast instead of filling the memory.
pub const MAX_RECORDS_PER_FILE: usize = 100_000;

const README_HINT: &str = "see datasets/README.md (section CIFAR-10) for where to download the \
                           binary version and where to put it";

/// What [`read_batch_file`] accepts: a regular file of at most [`MAX_RECORDS_PER_FILE`] records.
pub const BATCH_FILE: Cap = Cap {
    what: "a CIFAR-10 batch file (the official ones hold 10,000 records, 30,730,000 bytes)",
    max_bytes: (MAX_RECORDS_PER_FILE * RECORD_BYTES) as u64,
    hint: README_HINT,
};

/// What [`read_meta`] accepts: a regular text file of at most 64 KB (the real one has 61 bytes).
pub const META: Cap = Cap {
    what: "CIFAR-10's class-name file (ten names, one per line)",
    max_bytes: 64_000,
    hint: README_HINT,
};

/// `(byte/255 − 0.5) / 0.5`: the tutorial's `ToTensor()` + `Normalize((0.5,)*3, (0.5,)*3)`.
pub fn normalize(byte: u8) -> f32 {
    (f32::from(byte) / 255.0 - 0.5) / 0.5
}

/// The inverse of [`normalize`], rounded and clamped to a byte (for pictures of a batch).
pub fn denormalize(value: f32) -> u8 {
    ((value * 0.5 + 0.5) * 255.0).round().clamp(0.0, 255.0) as u8
}

/// Labelled 32×32 RGB images kept as bytes, in the file's layout: image `i` is
/// `pixels[i·3072 .. (i+1)·3072]` (red plane, green plane, blue plane), its label `labels[i]`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ImageSet {
    pixels: Vec<u8>,
    labels: Vec<u8>,
}

/// Random changes applied to training images each time they are drawn (off by default in chapter 12,
/// as in the tutorial).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Augmentation {
    /// Pad the image with this many black pixels on every side, then crop a random 32×32 window
    /// (0 = no cropping).
    pub crop_padding: usize,
    /// Mirror the image left–right with probability ½.
    pub horizontal_flip: bool,
}

impl Augmentation {
    /// torchvision's usual CIFAR-10 recipe: `RandomCrop(32, padding=4)`, `RandomHorizontalFlip()`.
    pub fn standard() -> Augmentation {
        Augmentation {
            crop_padding: 4,
            horizontal_flip: true,
        }
    }
}

impl ImageSet {
    /// Images from bytes and labels. Panics if the lengths do not fit (`pixels.len() = 3072·labels.len()`)
    /// or a label is ≥ 10: this builds a set from data already checked (use [`parse_records`] for bytes
    /// from outside).
    pub fn new(pixels: Vec<u8>, labels: Vec<u8>) -> ImageSet {
        assert_eq!(
            pixels.len(),
            labels.len() * IMAGE_BYTES,
            "ImageSet::new: {} pixel bytes for {} labels (needs 3072 per image)",
            pixels.len(),
            labels.len()
        );
        assert!(
            labels.iter().all(|&l| usize::from(l) < CLASSES),
            "ImageSet::new: labels must be below {CLASSES}"
        );
        ImageSet { pixels, labels }
    }

    /// The number of images.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// True when there are no images.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// The 3,072 bytes of image `i` (red plane, green plane, blue plane).
    pub fn image(&self, i: usize) -> &[u8] {
        &self.pixels[i * IMAGE_BYTES..(i + 1) * IMAGE_BYTES]
    }

    /// The label of image `i`.
    pub fn label(&self, i: usize) -> usize {
        usize::from(self.labels[i])
    }

    /// All labels, in order.
    pub fn labels(&self) -> &[u8] {
        &self.labels
    }

    /// Keeps only the first `count` images (the `--limit` of chapter 12).
    pub fn truncate(&mut self, count: usize) {
        self.labels.truncate(count);
        self.pixels.truncate(self.labels.len() * IMAGE_BYTES);
    }

    /// Appends the images of `other`.
    pub fn extend(&mut self, other: &ImageSet) {
        self.pixels.extend_from_slice(&other.pixels);
        self.labels.extend_from_slice(&other.labels);
    }

    /// How many images of each class.
    pub fn class_counts(&self) -> [usize; CLASSES] {
        let mut counts = [0; CLASSES];
        for &label in &self.labels {
            counts[usize::from(label)] += 1;
        }
        counts
    }

    /// Writes the images `indices`, normalised (and augmented with `rng` when `augmentation` is
    /// given), one after the other into `out` (`indices.len() × 3072` values).
    pub fn write_images(
        &self,
        indices: &[usize],
        augmentation: Option<(&Augmentation, &mut Rng)>,
        out: &mut [f32],
    ) {
        assert_eq!(
            out.len(),
            indices.len() * IMAGE_BYTES,
            "ImageSet::write_images: room for {} values, {} images need {}",
            out.len(),
            indices.len(),
            indices.len() * IMAGE_BYTES
        );
        let mut augmentation = augmentation;
        for (&i, out) in indices.iter().zip(out.chunks_exact_mut(IMAGE_BYTES)) {
            let image = self.image(i);
            match augmentation.as_mut() {
                None => {
                    for (o, &b) in out.iter_mut().zip(image) {
                        *o = normalize(b);
                    }
                }
                Some((augment, rng)) => augment_image(image, augment, rng, out),
            }
        }
    }

    /// The images `indices` as one normalised `[B, 3, 32, 32]` tensor (B = `indices.len()`) and their
    /// labels, written into `images` and `labels` (their buffers are reused from batch to batch).
    /// With `augmentation`, each image is randomly cropped/flipped using `rng`.
    pub fn fill_batch(
        &self,
        indices: &[usize],
        augmentation: Option<(&Augmentation, &mut Rng)>,
        images: &mut Tensor,
        labels: &mut Vec<usize>,
    ) {
        let shape = [indices.len(), CHANNELS, SIDE, SIDE];
        if images.shape() != shape {
            *images = Tensor::zeros(&shape);
        }
        labels.clear();
        labels.extend(indices.iter().map(|&i| self.label(i)));
        self.write_images(indices, augmentation, images.data_mut());
    }

    /// The images `indices` as a normalised `[B, 3, 32, 32]` tensor and their labels (no augmentation).
    pub fn batch(&self, indices: &[usize]) -> (Tensor, Vec<usize>) {
        let mut images = Tensor::zeros(&[0]);
        let mut labels = Vec::new();
        self.fill_batch(indices, None, &mut images, &mut labels);
        (images, labels)
    }
}

/// One augmented, normalised image: pixel `(y, x)` of the output is pixel `(y + dy − p, x' + dx − p)` of
/// the input (black outside it), where `dy, dx` are uniform in `0..=2p` and `x' = 31 − x` when flipped.
fn augment_image(image: &[u8], augment: &Augmentation, rng: &mut Rng, out: &mut [f32]) {
    let pad = augment.crop_padding;
    let dy = if pad > 0 { rng.below(2 * pad + 1) } else { pad };
    let dx = if pad > 0 { rng.below(2 * pad + 1) } else { pad };
    let flip = augment.horizontal_flip && rng.bernoulli(0.5);
    let black = normalize(0);
    for (plane, out_plane) in image
        .chunks_exact(SIDE * SIDE)
        .zip(out.chunks_exact_mut(SIDE * SIDE))
    {
        for (y, out_row) in out_plane.chunks_exact_mut(SIDE).enumerate() {
            let source_y = (y + dy).checked_sub(pad).filter(|&sy| sy < SIDE);
            for (x, o) in out_row.iter_mut().enumerate() {
                let x = if flip { SIDE - 1 - x } else { x };
                let source_x = (x + dx).checked_sub(pad).filter(|&sx| sx < SIDE);
                *o = match (source_y, source_x) {
                    (Some(sy), Some(sx)) => normalize(plane[sy * SIDE + sx]),
                    _ => black,
                };
            }
        }
    }
}

/// The training set, the test set and the class names of a CIFAR-10 folder.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cifar10 {
    /// The 50,000 training images (`data_batch_1.bin` … `data_batch_5.bin`, in order).
    pub train: ImageSet,
    /// The 10,000 test images (`test_batch.bin`).
    pub test: ImageSet,
    /// The ten class names from `batches.meta.txt`, in label order.
    pub classes: Vec<String>,
    /// The folder the files were read from.
    pub folder: PathBuf,
}

/// Parses the records of one batch file (`source_name` is used in error messages).
pub fn parse_records(source_name: &str, bytes: &[u8]) -> Result<ImageSet> {
    if bytes.is_empty() {
        return Err(Error::format(
            source_name,
            "the file is empty; a CIFAR-10 batch file holds records of 3073 bytes (1 label byte + \
             3072 pixel bytes)",
        ));
    }
    if !bytes.len().is_multiple_of(RECORD_BYTES) {
        return Err(Error::format(
            source_name,
            format!(
                "{} bytes is not a whole number of 3073-byte records ({} records and {} bytes left \
                 over): the file is truncated or padded, or it is not the CIFAR-10 *binary* version \
                 (the Python version is pickled); {README_HINT}",
                bytes.len(),
                bytes.len() / RECORD_BYTES,
                bytes.len() % RECORD_BYTES
            ),
        ));
    }
    let records = bytes.len() / RECORD_BYTES;
    let mut pixels = Vec::with_capacity(records * IMAGE_BYTES);
    let mut labels = Vec::with_capacity(records);
    for (i, record) in bytes.chunks_exact(RECORD_BYTES).enumerate() {
        let label = record[0];
        if usize::from(label) >= CLASSES {
            return Err(Error::format(
                source_name,
                format!(
                    "record {i} (byte offset {}) has label {label}, but CIFAR-10 labels are 0…9: \
                     this is not a CIFAR-10 batch file (CIFAR-100's binary files have two label \
                     bytes per record)",
                    i * RECORD_BYTES
                ),
            ));
        }
        labels.push(label);
        pixels.extend_from_slice(&record[1..]);
    }
    Ok(ImageSet { pixels, labels })
}

/// Reads one batch file (`data_batch_N.bin` or `test_batch.bin`): a regular file of at most
/// [`BATCH_FILE`]'s cap, checked before it is read.
pub fn read_batch_file(path: &Path) -> Result<ImageSet> {
    let bytes = input::read_bytes(path, &BATCH_FILE)?;
    parse_records(&path.display().to_string(), &bytes)
}

/// Reads `batches.meta.txt`: exactly ten non-empty lines, the class names in label order.
pub fn read_meta(path: &Path) -> Result<Vec<String>> {
    let text = input::read_text(path, &META)?;
    let names: Vec<String> = text
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .map(str::to_string)
        .collect();
    if names.len() != CLASSES {
        return Err(Error::format(
            path.display().to_string(),
            format!(
                "expected {CLASSES} class names, one per line, found {} non-empty lines",
                names.len()
            ),
        ));
    }
    if let Some(long) = names.iter().find(|name| name.chars().count() > 100) {
        return Err(Error::format(
            path.display().to_string(),
            format!(
                "a class name of {} characters ({}): expected short names such as airplane",
                long.chars().count(),
                input::excerpt(long)
            ),
        ));
    }
    Ok(names)
}

/// The files a CIFAR-10 folder must contain, in the order they are read.
pub fn expected_files() -> Vec<&'static str> {
    let mut files = TRAIN_FILES.to_vec();
    files.push(TEST_FILE);
    files.push(META_FILE);
    files
}

/// The folder that holds the files: `dir` itself, or `dir/cifar-10-batches-bin` when `dir` is where
/// the archive was unpacked.
fn resolve_folder(dir: &Path) -> PathBuf {
    let nested = dir.join(ARCHIVE_FOLDER);
    if !dir.join(TRAIN_FILES[0]).exists() && nested.is_dir() {
        nested
    } else {
        dir.to_path_buf()
    }
}

/// Reads a CIFAR-10 folder in the binary layout (see the module docs): the five training files, the
/// test file and the class names. `dir` may also be the folder that contains `cifar-10-batches-bin/`.
pub fn load(dir: &Path) -> Result<Cifar10> {
    let expected = expected_files().join(", ");
    input::check_folder(
        dir,
        &format!("a CIFAR-10 folder containing {expected}"),
        README_HINT,
    )?;
    let folder = resolve_folder(dir);
    // Anything under an expected name counts as present: reading it then says what is wrong with it
    // (a folder, a pipe, the wrong size) instead of calling it missing.
    let missing: Vec<&str> = expected_files()
        .into_iter()
        .filter(|name| std::fs::symlink_metadata(folder.join(name)).is_err())
        .collect();
    if !missing.is_empty() {
        return Err(Error::io(
            &folder,
            std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!("missing {}", missing.join(", ")),
            ),
            format!("a CIFAR-10 folder (binary version) contains {expected}; {README_HINT}"),
        ));
    }
    let mut train = ImageSet::default();
    for name in TRAIN_FILES {
        train.extend(&read_batch_file(&folder.join(name))?);
    }
    let test = read_batch_file(&folder.join(TEST_FILE))?;
    let classes = read_meta(&folder.join(META_FILE))?;
    Ok(Cifar10 {
        train,
        test,
        classes,
        folder,
    })
}

/// The bytes of a batch file holding `set`: one 3,073-byte record per image.
pub fn encode_records(set: &ImageSet) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(set.len() * RECORD_BYTES);
    for i in 0..set.len() {
        bytes.push(set.labels[i]);
        bytes.extend_from_slice(set.image(i));
    }
    bytes
}

/// Writes `set` as a batch file (atomically).
pub fn write_batch_file(path: &Path, set: &ImageSet) -> Result<()> {
    write_atomic(path, &encode_records(set))
}

/// Writes a complete CIFAR-10 folder: `train` split into the five training files (as evenly as
/// possible, in order), `test` as `test_batch.bin`, and `classes` (ten names) as `batches.meta.txt`.
/// Panics if `classes` does not hold ten names.
pub fn write_dataset(
    dir: &Path,
    train: &ImageSet,
    test: &ImageSet,
    classes: &[&str],
) -> Result<()> {
    assert_eq!(
        classes.len(),
        CLASSES,
        "write_dataset: {} class names, CIFAR-10 has {CLASSES}",
        classes.len()
    );
    let parts = crate::parallel::split_range(train.len(), TRAIN_FILES.len());
    for (name, range) in TRAIN_FILES.iter().zip(parts) {
        let part = ImageSet {
            pixels: train.pixels[range.start * IMAGE_BYTES..range.end * IMAGE_BYTES].to_vec(),
            labels: train.labels[range].to_vec(),
        };
        write_batch_file(&dir.join(name), &part)?;
    }
    write_batch_file(&dir.join(TEST_FILE), test)?;
    let mut meta = classes.join("\n");
    meta.push('\n');
    write_atomic(&dir.join(META_FILE), meta.as_bytes())
}
