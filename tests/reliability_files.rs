//! Hostile files for every reader: CIFAR-10 batch files, aclImdb folders, CSV, safetensors
//! checkpoints, vocabulary files, text corpora, and the command-line parser.
//!
//! - Fuzzing (proptest): valid inputs mutated — truncated, bytes flipped, huge numbers inserted
//!   where lengths and sizes go, bytes repeated — must give an `Err` (or a valid result), never a
//!   panic, never an allocation beyond a bound proportional to the input (measured by a counting
//!   global allocator in this test binary), and never more than a second or two.
//! - Paths that are not regular files: a named pipe (which would block a plain `read`), `/dev/zero`
//!   (which never ends) and a folder are refused with what they are, at once.
//! - Files above a format's cap (sparse files: no disk used) are refused before they are read, with
//!   the cap and the real size in the message.

use dlfs::checkpoint;
use dlfs::cli::Command;
use dlfs::data::cifar10::{self, ImageSet};
use dlfs::data::csv::Csv;
use dlfs::data::imdb;
use dlfs::data::text::{self, Tokenizer, Vocabulary};
use dlfs::data::timeseries::{Columns, Scaling, Series, Target, Windows};
use dlfs::input::{self, Cap};
use dlfs::nn::Linear;
use dlfs::probability::Rng;
use proptest::prelude::*;
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------------------------
// A counting allocator: how many bytes the current thread holds at most while a reader runs.
// ---------------------------------------------------------------------------------------------

thread_local! {
    static LIVE: Cell<isize> = const { Cell::new(0) };
    static PEAK: Cell<isize> = const { Cell::new(0) };
}

/// The system allocator, counting the bytes each thread allocates and frees.
struct Counting;

fn count(delta: isize) {
    // `try_with`: during thread teardown the counters may be gone; the allocation still happens.
    let _ = LIVE.try_with(|live| {
        let now = live.get() + delta;
        live.set(now);
        let _ = PEAK.try_with(|peak| peak.set(peak.get().max(now)));
    });
}

// SAFETY: every method forwards to `System` with the same arguments, so the allocator's contract
// (valid layouts in, blocks of that layout out, each freed once with its layout) is System's; the
// counting beside it touches only thread-local `Cell`s, which never allocate.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count(layout.size() as isize);
        // SAFETY: forwarded unchanged (see above).
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count(layout.size() as isize);
        // SAFETY: forwarded unchanged (see above).
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        count(-(layout.size() as isize));
        // SAFETY: forwarded unchanged (see above).
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count(new_size as isize - layout.size() as isize);
        // SAFETY: forwarded unchanged (see above).
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Runs `f` and returns its result, the most bytes it held at once beyond what the thread held
/// before, and how long it took.
fn measured<T>(f: impl FnOnce() -> T) -> (T, usize, Duration) {
    let start = LIVE.with(Cell::get);
    PEAK.with(|peak| peak.set(start));
    let started = Instant::now();
    let result = f();
    let elapsed = started.elapsed();
    let peak = PEAK.with(Cell::get) - start;
    (result, peak.max(0) as usize, elapsed)
}

/// The allocation bound of a reader: `factor` bytes per input byte plus a fixed 1 MB.
fn bound(input_len: usize, factor: usize) -> usize {
    factor * input_len + 1_000_000
}

const TIME_LIMIT: Duration = Duration::from_secs(2);

#[test]
fn the_counting_allocator_sees_a_big_allocation() {
    // The instrument itself: a 10 MB buffer held inside `measured` shows, one freed before does not.
    let early = vec![1u8; 5_000_000];
    drop(early);
    let (sum, peak, _) = measured(|| {
        let buffer = vec![1u8; 10_000_000];
        buffer.iter().map(|&b| u64::from(b)).sum::<u64>()
    });
    assert_eq!(sum, 10_000_000);
    assert!((10_000_000..11_000_000).contains(&peak), "{peak}");
}

// ---------------------------------------------------------------------------------------------
// Mutations
// ---------------------------------------------------------------------------------------------

/// One way to damage a valid input.
#[derive(Clone, Debug)]
enum Mutation {
    /// Keep only the first `fraction` of the bytes.
    Truncate(f64),
    /// XOR the byte at `position` (a fraction of the length) with `mask`.
    Flip(f64, u8),
    /// Insert a huge decimal number (a length, a size, an offset) at `position`.
    HugeNumber(f64, u64),
    /// Overwrite 8 bytes at `position` with a huge little-endian u64 (a binary length field).
    HugeBinary(f64, u64),
    /// Repeat the byte at `position` `times` times.
    Repeat(f64, usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let huge = prop_oneof![
        Just(u64::MAX),
        Just(u64::MAX / 2),
        Just(1u64 << 32),
        Just(4_000_000_000u64),
        Just(99_999_999_999u64),
        any::<u64>(),
    ];
    prop_oneof![
        (0.0..1.0f64).prop_map(Mutation::Truncate),
        (0.0..1.0f64, 1..=255u8).prop_map(|(p, m)| Mutation::Flip(p, m)),
        (0.0..1.0f64, huge.clone()).prop_map(|(p, n)| Mutation::HugeNumber(p, n)),
        (0.0..1.0f64, huge).prop_map(|(p, n)| Mutation::HugeBinary(p, n)),
        (0.0..1.0f64, 1..20_000usize).prop_map(|(p, t)| Mutation::Repeat(p, t)),
    ]
}

fn at(bytes: &[u8], fraction: f64) -> usize {
    ((bytes.len() as f64 * fraction) as usize).min(bytes.len().saturating_sub(1))
}

fn apply(mut bytes: Vec<u8>, mutations: &[Mutation]) -> Vec<u8> {
    for m in mutations {
        if bytes.is_empty() {
            break;
        }
        match *m {
            Mutation::Truncate(f) => bytes.truncate((bytes.len() as f64 * f) as usize),
            Mutation::Flip(f, mask) => {
                let i = at(&bytes, f);
                bytes[i] ^= mask;
            }
            Mutation::HugeNumber(f, n) => {
                let i = at(&bytes, f);
                let text = n.to_string();
                bytes.splice(i..i, text.into_bytes());
            }
            Mutation::HugeBinary(f, n) => {
                let i = at(&bytes, f).min(bytes.len().saturating_sub(8));
                let end = (i + 8).min(bytes.len());
                bytes[i..end].copy_from_slice(&n.to_le_bytes()[..end - i]);
            }
            Mutation::Repeat(f, times) => {
                let i = at(&bytes, f);
                let b = bytes[i];
                bytes.splice(i..i, std::iter::repeat_n(b, times));
            }
        }
    }
    bytes
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "dlfs-reliability-files-{}-{name}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

// ---------------------------------------------------------------------------------------------
// Valid inputs
// ---------------------------------------------------------------------------------------------

fn valid_cifar_batch() -> Vec<u8> {
    let mut rng = Rng::new(1);
    let labels: Vec<u8> = (0..3).map(|i| i as u8).collect();
    let pixels: Vec<u8> = (0..3 * cifar10::IMAGE_BYTES)
        .map(|_| rng.below(256) as u8)
        .collect();
    cifar10::encode_records(&ImageSet::new(pixels, labels))
}

const VALID_CSV: &str = "Date,Open,High,Low,Close,Adj Close,Volume\n\
    2024-01-02,10,11,9,10.5,10.5,1000\n\
    2024-01-03,10.5,12,10,11.5,11.5,1200\n\
    \"2024-01-04\",11.5,12,11,\"11.75\",11.75,900\n\
    2024-01-05,11.75,13,11.5,12.5,12.5,1500\n\
    2024-01-08,12.5,13,12,12.25,12.25,1100\n";

fn small_model() -> Linear {
    Linear::new(3, 2, &mut Rng::new(5))
}

fn valid_checkpoint() -> Vec<u8> {
    checkpoint::to_bytes(&mut small_model(), &[("epoch", "3")])
}

const VALID_VOCABULARY: &str = "the\nand\na\nof\nfilm\nmovie\nit's\n";

// ---------------------------------------------------------------------------------------------
// Fuzz tests, one per reader
// ---------------------------------------------------------------------------------------------

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn cifar10_batches_survive_mutations(mutations in prop::collection::vec(mutation(), 1..4)) {
        let bytes = apply(valid_cifar_batch(), &mutations);
        let (result, peak, time) = measured(|| cifar10::parse_records("fuzz.bin", &bytes));
        prop_assert!(peak <= bound(bytes.len(), 3), "{peak} bytes for {} input bytes", bytes.len());
        prop_assert!(time < TIME_LIMIT);
        if !bytes.len().is_multiple_of(cifar10::RECORD_BYTES) || bytes.is_empty() {
            prop_assert!(result.is_err());
        }
        if let Ok(set) = result {
            prop_assert!(set.labels().iter().all(|&l| l < 10));
        }
    }

    #[test]
    fn csv_survives_mutations(mutations in prop::collection::vec(mutation(), 1..4)) {
        let bytes = apply(VALID_CSV.as_bytes().to_vec(), &mutations);
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let (result, peak, time) = measured(|| {
            let csv = Csv::parse(&text, "fuzz.csv")?;
            let series = Series::from_csv(&csv, &Columns::default())?;
            Windows::from_series(&series, 1, 0.5, Target::Relative, Scaling::ZScore)
        });
        prop_assert!(peak <= bound(text.len(), 64), "{peak} bytes for {} input bytes", text.len());
        prop_assert!(time < TIME_LIMIT);
        if let Err(e) = result {
            prop_assert!(e.to_string().len() < 2000, "a long message: {e}");
        }
    }

    #[test]
    fn safetensors_survive_mutations(mutations in prop::collection::vec(mutation(), 1..4)) {
        let bytes = apply(valid_checkpoint(), &mutations);
        let mut model = small_model();
        let before = checkpoint::to_bytes(&mut model, &[]);
        let (result, peak, time) =
            measured(|| checkpoint::load_from_bytes(&mut model, &bytes, "fuzz.safetensors"));
        prop_assert!(peak <= bound(bytes.len(), 64), "{peak} bytes for {} input bytes", bytes.len());
        prop_assert!(time < TIME_LIMIT);
        match result {
            // A failed load leaves the model as it was.
            Err(e) => {
                prop_assert_eq!(checkpoint::to_bytes(&mut model, &[]), before);
                prop_assert!(e.to_string().len() < 2000, "a long message: {e}");
            }
            Ok(_) => prop_assert!(bytes.len() >= 8),
        }
        let (_, peak, _) = measured(|| checkpoint::from_bytes(&bytes, "fuzz.safetensors"));
        prop_assert!(peak <= bound(bytes.len(), 64), "{peak} bytes for {} input bytes", bytes.len());
    }

    #[test]
    fn vocabularies_survive_mutations(mutations in prop::collection::vec(mutation(), 1..4)) {
        let bytes = apply(VALID_VOCABULARY.as_bytes().to_vec(), &mutations);
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let (result, peak, time) = measured(|| Vocabulary::parse(&text, Some(11), "fuzz.txt"));
        prop_assert!(peak <= bound(text.len(), 64), "{peak} bytes for {} input bytes", text.len());
        prop_assert!(time < TIME_LIMIT);
        if let Ok(vocabulary) = result {
            prop_assert!(vocabulary.words().len() <= 7);
        }
    }

    #[test]
    fn the_command_line_parser_survives_mutations(
        mutations in prop::collection::vec(mutation(), 1..4),
    ) {
        let line = "gemm --epochs 3 --lr=0.5 --quick --data dir";
        let bytes = apply(line.as_bytes().to_vec(), &mutations);
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let command = Command::new("demo", "A demo.")
            .positional("table", "which table")
            .option("epochs", "N", "10", "passes")
            .option("lr", "RATE", "0.001", "learning rate")
            .option("data", "DIR", "", "dataset folder")
            .switch("quick", "short run");
        let (result, peak, time) = measured(|| {
            let args = command.parse(text.split(' '))?;
            args.get::<usize>("epochs")?;
            args.get::<f32>("lr")
        });
        prop_assert!(peak <= bound(text.len(), 64));
        prop_assert!(time < TIME_LIMIT);
        if let Err(e) = result {
            prop_assert_eq!(e.exit_code(), 2);
            prop_assert!(e.to_string().len() < 1000, "a long message: {e}");
        }
    }
}

proptest! {
    // Each case writes a small folder: fewer cases.
    #![proptest_config(ProptestConfig { cases: 16, ..ProptestConfig::default() })]

    #[test]
    fn aclimdb_folders_survive_mutations(
        mutations in prop::collection::vec(mutation(), 1..4),
        which in 0..4usize,
        case in any::<u32>(),
    ) {
        let root = temp_dir(&format!("imdb-{case}"));
        let review = b"A <br />fine film. Not bad at all!".to_vec();
        for (i, class) in ["train/pos", "train/neg", "test/pos", "test/neg"].iter().enumerate() {
            let folder = root.join(class);
            std::fs::create_dir_all(&folder).unwrap();
            let bytes = if i == which { apply(review.clone(), &mutations) } else { review.clone() };
            std::fs::write(folder.join(format!("{i}_7.txt")), &bytes).unwrap();
        }
        let (result, peak, time) = measured(|| imdb::load(&root, None));
        let _ = std::fs::remove_dir_all(&root);
        prop_assert!(peak <= bound(100_000, 16), "{peak} bytes");
        prop_assert!(time < TIME_LIMIT);
        let imdb = result.unwrap(); // bytes that are not UTF-8 are decoded lossily, never fatal
        prop_assert_eq!(imdb.train.len() + imdb.test.len(), 4);
    }
}

// ---------------------------------------------------------------------------------------------
// Paths that are not regular files, and files above their cap
// ---------------------------------------------------------------------------------------------

/// A reader of one file: its name, its cap, and a function from the path to its message.
type Reader = (&'static str, Cap, fn(&Path) -> String);

/// Every reader of a single file.
fn readers() -> Vec<Reader> {
    fn describe<T>(result: dlfs::Result<T>) -> String {
        match result {
            Ok(_) => "accepted".to_string(),
            Err(e) => e.to_string(),
        }
    }
    vec![
        ("cifar10 batch", cifar10::BATCH_FILE, |p| {
            describe(cifar10::read_batch_file(p))
        }),
        ("cifar10 meta", cifar10::META, |p| {
            describe(cifar10::read_meta(p))
        }),
        ("csv", dlfs::data::csv::FILE, |p| describe(Csv::read(p))),
        ("csv series", dlfs::data::csv::FILE, |p| {
            describe(Series::read(p, &Columns::default()))
        }),
        ("checkpoint load", checkpoint::FILE, |p| {
            describe(checkpoint::load(&mut small_model(), p))
        }),
        ("checkpoint read", checkpoint::FILE, |p| {
            describe(checkpoint::read(p))
        }),
        ("vocabulary", text::VOCABULARY_FILE, |p| {
            describe(Vocabulary::read(p, None))
        }),
        ("text corpus", text::CORPUS_FILE, |p| {
            describe(text::read_corpus(p))
        }),
        ("one review", imdb::REVIEW, |p| {
            describe(input::read_bytes(p, &imdb::REVIEW))
        }),
    ]
}

/// Runs `read(path)` on another thread and returns its message, failing if it takes more than a few
/// seconds (a reader blocked on a pipe would otherwise hang the whole test run).
fn within_seconds(read: fn(&Path) -> String, path: &Path) -> String {
    let (sender, receiver) = std::sync::mpsc::channel();
    let owned = path.to_path_buf();
    std::thread::spawn(move || {
        let _ = sender.send(read(&owned));
    });
    receiver
        .recv_timeout(Duration::from_secs(10))
        .unwrap_or_else(|_| panic!("reading {} did not return: it blocks", path.display()))
}

#[cfg(unix)]
#[test]
fn pipes_devices_and_folders_are_refused_with_what_they_are() {
    let dir = temp_dir("kinds");
    let fifo = dir.join("a-named-pipe");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status();
    let fifo = made.is_ok_and(|s| s.success()).then_some(fifo);
    if fifo.is_none() {
        println!("mkfifo is not available: the named-pipe case is skipped");
    }
    for (name, _, read) in readers() {
        let message = within_seconds(read, Path::new("/dev/zero"));
        assert!(
            message.contains("a character device"),
            "{name} on /dev/zero: {message}"
        );
        let message = within_seconds(read, &dir);
        assert!(
            message.contains("a folder"),
            "{name} on a folder: {message}"
        );
        if let Some(fifo) = &fifo {
            let message = within_seconds(read, fifo);
            assert!(
                message.contains("a named pipe (FIFO)"),
                "{name} on a FIFO: {message}"
            );
        }
    }
    // A folder reader given a FIFO or a device says so, too.
    for path in [Path::new("/dev/zero")].into_iter().chain(fifo.as_deref()) {
        let message = cifar10::load(path).unwrap_err().to_string();
        assert!(message.contains("not a folder"), "{message}");
        let message = imdb::load(path, None).unwrap_err().to_string();
        assert!(message.contains("not a folder"), "{message}");
    }
    // An aclImdb review that is a pipe is refused by name, not silently skipped or waited on.
    if let Some(fifo) = &fifo {
        let root = dir.join("imdb");
        for class in ["train/pos", "train/neg", "test/pos", "test/neg"] {
            std::fs::create_dir_all(root.join(class)).unwrap();
            std::fs::write(root.join(class).join("1_7.txt"), "good").unwrap();
        }
        std::fs::rename(fifo, root.join("train/neg/2_1.txt")).unwrap();
        let message = imdb::load(&root, None).unwrap_err().to_string();
        assert!(
            message.contains("2_1.txt") && message.contains("named pipe"),
            "{message}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn files_above_their_cap_are_refused_with_the_cap_and_the_size() {
    let dir = temp_dir("caps");
    for (name, cap, read) in readers() {
        // A sparse file one byte above the cap: no disk is used, and nothing may be read.
        let path = dir.join(format!("{}.big", name.replace(' ', "-")));
        let file = std::fs::File::create(&path).unwrap();
        file.set_len(cap.max_bytes + 1).unwrap();
        let (message, peak, time) = measured(|| read(&path));
        let _ = std::fs::remove_file(&path);
        assert!(
            message.contains(&dlfs::report::human_bytes(cap.max_bytes))
                && message.contains(&(cap.max_bytes + 1).to_string()),
            "{name}: expected the cap and the size in: {message}"
        );
        assert!(peak < 1_000_000, "{name}: {peak} bytes allocated to refuse");
        assert!(time < TIME_LIMIT, "{name}: {time:?}");
    }
    // An aclImdb review above its cap names the file.
    let root = dir.join("imdb");
    for class in ["train/pos", "train/neg", "test/pos", "test/neg"] {
        std::fs::create_dir_all(root.join(class)).unwrap();
        std::fs::write(root.join(class).join("1_7.txt"), "good").unwrap();
    }
    let huge = std::fs::File::create(root.join("test/neg/9_2.txt")).unwrap();
    huge.set_len(50_000_000).unwrap();
    let (result, peak, _) = measured(|| imdb::load(&root, None));
    let message = result.unwrap_err().to_string();
    assert!(
        message.contains("9_2.txt") && message.contains("1 MB") && message.contains("50000000"),
        "{message}"
    );
    assert!(peak < 1_000_000, "{peak} bytes allocated to refuse");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_long_review_costs_memory_in_proportion_to_what_is_kept() {
    // The case, at the size the cap allows: one review of a single repeated punctuation
    // character, a token per byte. Building the vocabulary and encoding keep counts and `maxlen`
    // ids; the transient tokens of this one review are the peak.
    let review = "!".repeat(1_000_000);
    let (vocabulary, peak_build, _) = measured(|| {
        Vocabulary::build_from_texts([review.as_str()], Tokenizer::WordsAndPunctuation, 100)
    });
    let ((ids, length), peak_encode, _) = measured(|| {
        vocabulary.encode_truncated(
            &review,
            Tokenizer::WordsAndPunctuation,
            500,
            text::Side::Pre,
        )
    });
    assert_eq!(length, 1_000_001);
    assert_eq!(ids.len(), 500);
    // About 40 bytes per token while one review is tokenized (a String per token): 40 MB here,
    // not the gigabytes that keeping every token of every review took.
    assert!(peak_build < 80_000_000, "{peak_build} bytes to build");
    assert!(peak_encode < 80_000_000, "{peak_encode} bytes to encode");
}

#[test]
fn csv_values_that_overflow_are_named_by_file_line_and_column() {
    let dir = temp_dir("overflow");
    let path = dir.join("prices.csv");
    let write = |rows: &[&str]| {
        let mut text = String::from("Date,Close\n");
        for (i, value) in rows.iter().enumerate() {
            text.push_str(&format!("2024-01-{:02},{value}\n", i + 1));
        }
        std::fs::write(&path, text).unwrap();
    };
    // Beyond f32 when parsing.
    write(&["1", "2", "1e39", "4"]);
    let message = Series::read(&path, &Columns::default())
        .unwrap_err()
        .to_string();
    assert!(
        message.contains("prices.csv")
            && message.contains("line 4")
            && message.contains("column Close")
            && message.contains("overflows f32"),
        "{message}"
    );
    // Each value fits an f32, but their range does not: min-max scaling would overflow.
    let mut rows = vec!["1"; 20];
    rows[3] = "-3e38";
    rows[7] = "3.3e38";
    write(&rows);
    let series = Series::read(&path, &Columns::default()).unwrap();
    let message = Windows::from_series(&series, 2, 0.67, Target::Price, Scaling::MinMax)
        .unwrap_err()
        .to_string();
    assert!(
        message.contains("scaling overflows f32")
            && message.contains("prices.csv, line 9, column Close"),
        "{message}"
    );
    // A relative change from a value near zero overflows.
    let mut rows = vec!["1"; 20];
    rows[16] = "1e-38";
    rows[17] = "3e38";
    write(&rows);
    let series = Series::read(&path, &Columns::default()).unwrap();
    let message = Windows::from_series(&series, 2, 0.67, Target::Relative, Scaling::ZScore)
        .unwrap_err()
        .to_string();
    assert!(
        message.contains("line 19, column Close") && message.contains("overflows f32"),
        "{message}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_vocabulary_file_round_trips_and_names_bad_lines() {
    let dir = temp_dir("vocabulary");
    let vocabulary =
        Vocabulary::build_from_texts(["the film, the plot"], Tokenizer::WordsAndPunctuation, 20);
    let path = dir.join("vocabulary.txt");
    std::fs::write(&path, vocabulary.to_file_text()).unwrap();
    assert_eq!(Vocabulary::read(&path, Some(20)).unwrap(), vocabulary);
    let twice = Vocabulary::parse("the\nfilm\nthe\n", None, "v.txt")
        .unwrap_err()
        .to_string();
    assert!(
        twice.contains("line 3") && twice.contains("line 1"),
        "{twice}"
    );
    let too_many = Vocabulary::parse("a\nb\nc\n", Some(6), "v.txt")
        .unwrap_err()
        .to_string();
    assert!(too_many.contains("below 6"), "{too_many}");
    let long = format!("{}\n", "w".repeat(100_000));
    let spaced = Vocabulary::parse(&format!("a b{long}"), None, "v.txt")
        .unwrap_err()
        .to_string();
    assert!(spaced.len() < 300, "{spaced}");
    let _ = std::fs::remove_dir_all(&dir);
}
