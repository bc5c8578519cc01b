//! Chapter 13 checks: both tokenizers, vocabulary, encoding, padding, the aclImdb reader (on
//! temporary folders, including bad input), the generated stand-in, a short training run, and the
//! chapter's use of a trained model: a run stopped and resumed ends with the uninterrupted run's
//! weights (1 and 2 threads), `--predict` scores reviews through the saved vocabulary, and
//! `--evaluate` writes nothing.

use dlfs::data::imdb;
use dlfs::data::synthetic_reviews::{self, StandIn};
use dlfs::data::text::{
    FIRST_WORD_ID, PAD, START, Side, Tokenizer, UNKNOWN, Vocabulary, pad_sequences,
    strip_html_tags, tokenize, tokenize_words,
};
use dlfs::probability::Rng;
use dlfs::{app, parallel};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

#[allow(dead_code)]
#[path = "../chapters/ch13_text_classification.rs"]
mod ch13;
mod saved_runs;
use saved_runs::snapshot;

/// Tests that change the global thread count run one at a time.
static THREADS: Mutex<()> = Mutex::new(());

/// A fresh, empty temporary folder for one test (removed at the start, left for inspection after).
fn temp_folder(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("dlfs-ch13-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn write(path: &Path, bytes: &[u8]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
}

fn words(list: &[&str]) -> Vec<String> {
    list.iter().map(|w| w.to_string()).collect()
}

// ---------------------------------------------------------------------------------------------
// Tokenizer
// ---------------------------------------------------------------------------------------------

#[test]
fn tokenizer_lowercases_strips_html_and_splits_punctuation() {
    assert_eq!(
        tokenize("This movie was GREAT!<br /><br />Really, it's a 10/10."),
        words(&[
            "this", "movie", "was", "great", "!", "really", ",", "it's", "a", "10", "/", "10", "."
        ])
    );
    assert_eq!(tokenize("<i>Not</i> good"), words(&["not", "good"]));
    assert_eq!(tokenize("  \n\t "), Vec::<String>::new());
    // A quote at the start or end of a word is punctuation; inside a word it is kept.
    assert_eq!(tokenize("'don't'"), words(&["'", "don't", "'"]));
    // Typographic apostrophes become plain ones; other scripts are words too.
    assert_eq!(tokenize("Don’t Café"), words(&["don't", "café"]));
    // A lone '<' is text, not the start of a tag that swallows the rest.
    assert_eq!(strip_html_tags("a < b and c"), "a < b and c");
    assert_eq!(tokenize("a<b"), words(&["a", "<", "b"]));
}

#[test]
fn the_default_tokenizer_keeps_words_only_as_the_tutorials_dataset() {
    let review =
        "This movie was GREAT!<br /><br />Really, it's a 10/10... Don’t miss it - 'really'.";
    assert_eq!(
        tokenize_words(review),
        words(&[
            "this", "movie", "was", "great", "really", "it's", "a", "10", "10", "don't", "miss",
            "it", "really"
        ])
    );
    assert_eq!(Tokenizer::Words.tokenize(review), tokenize_words(review));
    assert_eq!(
        Tokenizer::WordsAndPunctuation.tokenize(review),
        tokenize(review)
    );
    // The two differ exactly by the punctuation tokens.
    let with: Vec<String> = tokenize(review)
        .into_iter()
        .filter(|t| !(t.chars().count() == 1 && t.chars().all(|c| !c.is_alphanumeric())))
        .collect();
    assert_eq!(with, tokenize_words(review));
    for tokenizer in [Tokenizer::Words, Tokenizer::WordsAndPunctuation] {
        assert_eq!(Tokenizer::from_name(tokenizer.name()), Some(tokenizer));
    }
    assert_eq!(Tokenizer::from_name("bpe"), None);
    // On reviews, punctuation marks take the top ranks of a vocabulary built with them.
    let reviews = [
        "A fine film, well made. I liked it, truly.",
        "Dull, slow, and long. Not good.",
    ];
    let ranked = |tokenizer: Tokenizer| {
        let tokens: Vec<Vec<String>> = reviews.iter().map(|r| tokenizer.tokenize(r)).collect();
        Vocabulary::build(tokens.iter().map(|t| t.as_slice()), 100).words()[..2].to_vec()
    };
    assert_eq!(ranked(Tokenizer::WordsAndPunctuation), words(&[",", "."]));
    assert!(
        ranked(Tokenizer::Words)
            .iter()
            .all(|w| w.chars().all(char::is_alphanumeric))
    );
}

#[test]
fn a_saved_vocabulary_reads_back_and_bad_files_are_refused() {
    let tokens = [tokenize_words("b a c a b a")];
    let vocabulary = Vocabulary::build(tokens.iter().map(|t| t.as_slice()), 10);
    let text = vocabulary.to_file_text();
    let back = Vocabulary::parse(&text, Some(10), "v.txt").unwrap();
    assert_eq!(back, vocabulary);
    assert_eq!(back.id("a"), FIRST_WORD_ID);
    for (bad, what) in [
        ("a\n\nb\n", "line 2"),
        ("a\na\n", "already on line 1"),
        ("a b\n", "white space"),
        ("a\nb\nc\nd\ne\nf\ng\n", "below 10"),
    ] {
        let m = Vocabulary::parse(bad, Some(10), "v.txt")
            .unwrap_err()
            .to_string();
        assert!(m.contains(what) && m.contains("v.txt"), "{bad:?}: {m}");
    }
}

// ---------------------------------------------------------------------------------------------
// Vocabulary, encode, decode
// ---------------------------------------------------------------------------------------------

#[test]
fn vocabulary_keeps_the_most_frequent_words_with_alphabetical_ties() {
    let texts = [
        tokenize("b a c a b a d"),
        tokenize("e d c"), // counts: a 3, b 2, c 2, d 2, e 1
    ];
    let vocab = Vocabulary::build(texts.iter().map(|t| t.as_slice()), FIRST_WORD_ID + 3);
    // Three words fit: a (3), then the tie b, c, d (2 each) broken alphabetically: b, c.
    assert_eq!(vocab.words(), &words(&["a", "b", "c"]));
    assert_eq!(vocab.id("a"), FIRST_WORD_ID);
    assert_eq!(vocab.id("c"), FIRST_WORD_ID + 2);
    assert_eq!(vocab.id("d"), UNKNOWN);
    assert_eq!(vocab.num_words(), 7);
    // Every id is below num_words, as Keras's `num_words` promises.
    assert!(
        vocab
            .encode("a b c d e zzz")
            .iter()
            .all(|&id| id < vocab.num_words())
    );
    // The same counts in another order give the same ids (never hash-map order).
    let shuffled = [tokenize("e d c"), tokenize("d a b a c b a")];
    let again = Vocabulary::build(shuffled.iter().map(|t| t.as_slice()), FIRST_WORD_ID + 3);
    assert_eq!(again, vocab);
}

#[test]
fn encode_and_decode() {
    let texts = [tokenize("the movie was good , the acting was not")];
    let vocab = Vocabulary::build(texts.iter().map(|t| t.as_slice()), 100);
    let ids = vocab.encode("The movie was TERRIBLE.");
    assert_eq!(ids[0], START);
    assert_eq!(ids[1], vocab.id("the"));
    assert_eq!(ids[4], UNKNOWN, "'terrible' was never seen");
    assert_eq!(vocab.decode(&ids), "the movie was <unk> <unk>");
    assert_eq!(vocab.decode(&[PAD, PAD, START, vocab.id("good")]), "good");
    assert_eq!(vocab.word(3), "<unused>");
}

// ---------------------------------------------------------------------------------------------
// pad_sequences
// ---------------------------------------------------------------------------------------------

#[test]
fn pad_sequences_pads_and_truncates_at_either_end() {
    let seqs = vec![vec![1, 2, 3, 4, 5], vec![7], vec![]];
    let pre = pad_sequences(&seqs, 3, Side::Pre, Side::Pre);
    assert_eq!(pre.shape(), &[3, 3]);
    assert_eq!(pre.data(), &[3.0, 4.0, 5.0, 0.0, 0.0, 7.0, 0.0, 0.0, 0.0]);
    let post = pad_sequences(&seqs, 3, Side::Post, Side::Post);
    assert_eq!(post.data(), &[1.0, 2.0, 3.0, 7.0, 0.0, 0.0, 0.0, 0.0, 0.0]);
    let mixed = pad_sequences(&seqs, 2, Side::Pre, Side::Post);
    assert_eq!(mixed.data(), &[1.0, 2.0, 0.0, 7.0, 0.0, 0.0]);
    // Exactly maxlen: unchanged; maxlen 0: an empty row per sequence.
    assert_eq!(
        pad_sequences(&[vec![4, 5]], 2, Side::Pre, Side::Pre).data(),
        &[4.0, 5.0]
    );
    assert_eq!(
        pad_sequences(&seqs, 0, Side::Pre, Side::Pre).shape(),
        &[3, 0]
    );
}

// ---------------------------------------------------------------------------------------------
// aclImdb reader
// ---------------------------------------------------------------------------------------------

fn write_small_imdb(root: &Path) {
    write(
        &root.join("train/pos/10_9.txt"),
        b"Great film.<br />Loved it",
    );
    write(&root.join("train/pos/2_8.txt"), b"Good");
    write(&root.join("train/neg/0_1.txt"), b"Bad");
    write(&root.join("test/pos/0_10.txt"), b"Superb");
    write(&root.join("test/neg/5_3.txt"), b"Dull");
    write(&root.join("test/neg/notes.md"), b"not a review");
    write(&root.join("train/unsup/0_0.txt"), b"ignored");
    write(&root.join("imdb.vocab"), b"ignored");
}

#[test]
fn imdb_reader_reads_the_layout_in_file_order() {
    let root = temp_folder("layout");
    write_small_imdb(&root);
    let data = imdb::load(&root, None).unwrap();
    let texts: Vec<(&str, u8)> = data
        .train
        .iter()
        .map(|r| (r.text.as_str(), r.label))
        .collect();
    // pos first, files by their number (2 before 10), the rating in the name ignored.
    assert_eq!(
        texts,
        vec![("Good", 1), ("Great film.<br />Loved it", 1), ("Bad", 0)]
    );
    assert_eq!(data.test.len(), 2, "notes.md is not a review");
    assert_eq!(data.lossy_files, 0);
    let limited = imdb::load(&root, Some(1)).unwrap();
    assert_eq!(limited.train.len(), 2);
}

#[test]
fn imdb_reader_decodes_bad_utf8_lossily_and_counts_it() {
    let root = temp_folder("utf8");
    write_small_imdb(&root);
    write(&root.join("train/neg/1_2.txt"), b"Caf\xe9 was bad \xff");
    let data = imdb::load(&root, None).unwrap();
    assert_eq!(data.lossy_files, 1);
    let review = data
        .train
        .iter()
        .find(|r| r.text.starts_with("Caf"))
        .unwrap();
    assert_eq!(review.text, "Caf\u{fffd} was bad \u{fffd}");
}

#[test]
fn imdb_reader_errors_name_what_is_missing() {
    let root = temp_folder("missing");
    let missing = imdb::load(&root.join("nope"), None)
        .unwrap_err()
        .to_string();
    assert!(
        missing.contains("nope") && missing.contains("datasets/README.md"),
        "{missing}"
    );

    write_small_imdb(&root);
    std::fs::remove_dir_all(root.join("test/neg")).unwrap();
    let message = imdb::load(&root, None).unwrap_err().to_string();
    assert!(
        message.contains("test/neg") && message.contains("not found"),
        "{message}"
    );

    std::fs::create_dir_all(root.join("test/neg")).unwrap();
    write(&root.join("test/neg/readme.md"), b"no reviews here");
    let message = imdb::load(&root, None).unwrap_err().to_string();
    assert!(message.contains("no .txt reviews"), "{message}");
}

// ---------------------------------------------------------------------------------------------
// The generated stand-in
// ---------------------------------------------------------------------------------------------

#[test]
fn stand_in_is_deterministic_balanced_and_readable_by_the_imdb_reader() {
    let config = StandIn {
        train_per_class: 30,
        test_per_class: 10,
        seed: 5,
    };
    let a = temp_folder("standin-a").join("aclImdb");
    let b = temp_folder("standin-b").join("aclImdb");
    synthetic_reviews::ensure_written(&a, &config).unwrap();
    synthetic_reviews::ensure_written(&b, &config).unwrap();
    let (da, db) = (imdb::load(&a, None).unwrap(), imdb::load(&b, None).unwrap());
    assert_eq!(da.train, db.train, "same seed, same reviews");
    assert_eq!(da.train.len(), 60);
    assert_eq!(da.test.len(), 20);
    assert_eq!(da.train.iter().filter(|r| r.label == 1).count(), 30);
    // Calling again with the same settings keeps the folder; other settings rewrite it.
    synthetic_reviews::ensure_written(&a, &config).unwrap();
    let other = StandIn { seed: 6, ..config };
    synthetic_reviews::ensure_written(&a, &other).unwrap();
    assert_ne!(imdb::load(&a, None).unwrap().train, da.train);
}

#[test]
fn stand_in_uses_the_same_words_for_both_labels() {
    // Word order must matter: the polar adjectives occur in positive AND negative reviews.
    let mut rng = Rng::new(3);
    let positive: Vec<String> = (0..400)
        .map(|_| synthetic_reviews::review(&mut rng, true))
        .collect();
    let negative: Vec<String> = (0..400)
        .map(|_| synthetic_reviews::review(&mut rng, false))
        .collect();
    let share = |reviews: &[String], word: &str| {
        reviews
            .iter()
            .filter(|r| tokenize(r).iter().any(|t| t == word))
            .count() as f64
            / reviews.len() as f64
    };
    for word in ["good", "bad", "boring", "not", "but"] {
        let (p, n) = (share(&positive, word), share(&negative, word));
        assert!(
            p > 0.02 && n > 0.02,
            "'{word}' in {p:.2} of positive, {n:.2} of negative reviews"
        );
    }
    let size: usize = positive.iter().chain(&negative).map(|r| r.len()).sum();
    assert!(
        size / 800 < 250,
        "reviews should be short: {} bytes on average",
        size / 800
    );
}

// ---------------------------------------------------------------------------------------------
// A short training run on the stand-in
// ---------------------------------------------------------------------------------------------

#[test]
fn a_short_run_of_embedding_and_lstm_lowers_the_loss() {
    use dlfs::loss::BceLoss;
    use dlfs::nn::{Embedding, LSTM, Linear, RecurrentOutput, Sequential, Sigmoid};
    use dlfs::optim::Adam;
    use dlfs::train::{FitConfig, TensorDataset, fit};
    let mut rng = Rng::new(11);
    let reviews: Vec<(String, f32)> = (0..192)
        .map(|i| {
            let positive = i % 2 == 0;
            (
                synthetic_reviews::review(&mut rng, positive),
                if positive { 1.0 } else { 0.0 },
            )
        })
        .collect();
    let tokens: Vec<Vec<String>> = reviews.iter().map(|(t, _)| tokenize(t)).collect();
    let vocab = Vocabulary::build(tokens.iter().map(|t| t.as_slice()), 300);
    let ids: Vec<Vec<usize>> = tokens.iter().map(|t| vocab.encode_tokens(t)).collect();
    let inputs = pad_sequences(&ids, 40, Side::Pre, Side::Pre);
    let labels = dlfs::Tensor::from_vec(&[reviews.len(), 1], reviews.iter().map(|r| r.1).collect());
    let mut model = Sequential::new(vec![
        Box::new(Embedding::new(300, 16, &mut rng)),
        Box::new(LSTM::new(16, 16, &mut rng)),
        Box::new(LSTM::new(16, 16, &mut rng).output(RecurrentOutput::LastStep)),
        Box::new(Linear::new(16, 1, &mut rng)),
        Box::new(Sigmoid::new()),
    ]);
    let data = TensorDataset::new(&inputs, &labels).unwrap();
    let config = FitConfig::new(10, 32).seed(2).progress(None);
    let history = fit(
        &mut model,
        &mut Adam::new(0.01),
        &BceLoss::new(),
        &data,
        &config,
    )
    .unwrap();
    let losses = history.losses();
    println!("Embedding → LSTM → LSTM losses: {losses:?}");
    // From chance (ln 2 ≈ 0.693) to clearly below it on the training reviews.
    assert!(losses[0] > 0.6, "starts near chance: {losses:?}");
    assert!(
        losses[losses.len() - 1] < 0.5,
        "loss did not fall: {losses:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// The chapter: resume, predict, evaluate
// ---------------------------------------------------------------------------------------------

fn run_chapter(words: &[&str]) -> dlfs::Result<()> {
    let args = app::parse_for(ch13::command(), words)?;
    ch13::run(&args)
}

/// A small stand-in (48 training and 16 test reviews) for the chapter's runs.
fn tiny_reviews(dir: &Path) -> PathBuf {
    let data = dir.join("aclImdb");
    let config = StandIn {
        train_per_class: 24,
        test_per_class: 8,
        seed: 5,
    };
    synthetic_reviews::ensure_written(&data, &config).unwrap();
    data
}

#[test]
fn a_run_stopped_and_resumed_ends_with_the_weights_of_the_uninterrupted_run() {
    let _guard = THREADS.lock().unwrap_or_else(|p| p.into_inner());
    let dir = temp_folder("resume");
    let data = tiny_reviews(&dir);
    let (straight, resumed) = (dir.join("straight"), dir.join("resumed"));
    let run = |out: &Path, extra: &[&str]| {
        let mut words = vec![
            "--data",
            data.to_str().unwrap(),
            "--maxlen",
            "24",
            "--num-words",
            "120",
            "--batch-size",
            "8",
            "--out",
            out.to_str().unwrap(),
        ];
        words.extend_from_slice(extra);
        run_chapter(&words)
    };
    parallel::set_num_threads(1);
    run(&straight, &["--epochs", "3"]).unwrap();
    run(&resumed, &["--epochs", "1"]).unwrap();
    parallel::set_num_threads(2);
    run_chapter(&[
        "--resume",
        "--epochs",
        "3",
        "--out",
        resumed.to_str().unwrap(),
    ])
    .unwrap();
    parallel::set_num_threads(parallel::default_num_threads());
    let model = |out: &Path| std::fs::read(out.join("imdb_lstm.safetensors")).unwrap();
    assert!(
        model(&straight) == model(&resumed),
        "3 epochs straight (1 thread) and 1 + resumed 2 (2 threads) give different weights"
    );
    // A model-shaping flag that differs is refused, naming it.
    let error = run_chapter(&[
        "--resume",
        "--num-words",
        "200",
        "--out",
        resumed.to_str().unwrap(),
    ])
    .unwrap_err();
    let message = error.to_string();
    assert!(
        error.exit_code() == 2
            && message.contains("--num-words 200")
            && message.contains("shapes the model"),
        "{message}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Runs the chapter's binary; returns (exit code, standard output, standard error).
fn binary(words: &[&str]) -> (i32, String, String) {
    saved_runs::run_binary(env!("CARGO_BIN_EXE_ch13_text_classification"), words)
}

#[test]
fn predict_scores_reviews_through_the_saved_vocabulary_and_evaluate_writes_nothing() {
    let dir = temp_folder("predict");
    let data = tiny_reviews(&dir);
    let out = dir.join("out");
    let out_text = out.to_str().unwrap();
    {
        let _guard = THREADS.lock().unwrap_or_else(|p| p.into_inner());
        run_chapter(&[
            "--data",
            data.to_str().unwrap(),
            "--epochs",
            "2",
            "--maxlen",
            "24",
            "--num-words",
            "120",
            "--out",
            out_text,
        ])
        .unwrap();
    }
    let file = dir.join("reviews.txt");
    std::fs::write(&file, "The acting was superb.\n\nA dull, tedious film.\n").unwrap();
    let (code, stdout, stderr) = binary(&[
        "--out",
        out_text,
        "--predict",
        "the plot was not bad",
        "--predict-file",
        file.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let scored: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("P(positive) = "))
        .collect();
    assert_eq!(scored.len(), 3, "{stdout}");
    // The printed probability is the model's output on the encoded, padded review.
    let mut model = ch13_model(&out);
    let vocabulary = Vocabulary::read(&out.join("imdb_vocabulary.txt"), Some(120)).unwrap();
    for (line, review) in scored.iter().zip([
        "the plot was not bad",
        "The acting was superb.",
        "A dull, tedious film.",
    ]) {
        let ids = vocabulary.encode_tokens(&Tokenizer::Words.tokenize(review));
        let input = pad_sequences(&[ids], 24, Side::Pre, Side::Pre);
        let p = dlfs::train::predict(&mut model, &input, 1).data()[0];
        assert!(
            line.starts_with(&format!("P(positive) = {p:.3}")) && line.contains(review),
            "{line} vs {p}"
        );
    }
    let (code, _, stderr) = binary(&[
        "--out",
        dir.join("none").to_str().unwrap(),
        "--predict",
        "x",
    ]);
    assert_eq!(code, 2);
    assert!(stderr.contains("no trained model"), "{stderr}");

    let before = (snapshot(&out), snapshot(&data));
    let (code, stdout, stderr) = binary(&["--out", out_text, "--evaluate"]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stdout.contains("16 test reviews"), "{stdout}");
    assert_eq!(
        (snapshot(&out), snapshot(&data)),
        before,
        "--evaluate wrote something"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// The chapter's model with the weights saved in `out`.
fn ch13_model(out: &Path) -> dlfs::nn::Sequential {
    use dlfs::nn::{Embedding, LSTM, Linear, RecurrentOutput, Relu, Sequential, Sigmoid};
    let mut rng = Rng::new(0);
    let mut model = Sequential::new(vec![
        Box::new(Embedding::new(120, 128, &mut rng)),
        Box::new(LSTM::new(128, 64, &mut rng)),
        Box::new(LSTM::new(64, 64, &mut rng).output(RecurrentOutput::LastStep)),
        Box::new(Linear::new(64, 64, &mut rng)),
        Box::new(Relu::new()),
        Box::new(Linear::new(64, 1, &mut rng)),
        Box::new(Sigmoid::new()),
    ]);
    dlfs::checkpoint::load(&mut model, &out.join("imdb_lstm.safetensors")).unwrap();
    model
}
