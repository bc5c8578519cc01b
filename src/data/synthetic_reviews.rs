//! A generated stand-in for IMDB (chapter 13): short movie reviews in the aclImdb folder layout, where
//! **word order decides the label**, so a bag-of-words model scores clearly below an LSTM.
//!
//! Every review is built from opinion clauses ("the acting was great") and neutral filler ("i saw it
//! on a sunday"). Three kinds of review, chosen at random:
//! - **plain** (60 %): one or two clauses of the review's polarity — a bag of words gets these right;
//! - **negated** (20 %): the opinion is carried by a negated adjective — "the plot was not bad"
//!   (positive), "the ending was hardly exciting" (negative): the same words occur with both labels;
//! - **contrast** (20 %): "the acting was great , but the story was boring ." — the clause after `but`
//!   (or `however`) decides; both polarities' words occur in every such review.
//!
//! So a bag of words can reach about 70 % (right on the plain reviews, guessing or wrong on the rest),
//! and a model that reads the order can approach 100 %.
//!
//! A bag of words sees which words occur, not in which order, so it cannot tell "not bad … good" from
//! "not good … bad"; a recurrent network reads the sequence and can. Reviews carry `<br /><br />`
//! between sentences, capitals and punctuation, like the real ones, so the tokenizer has work to do.
//!
//! The text is a deterministic function of the seed. [`ensure_written`] writes it once into a folder
//! (`train/pos`, `train/neg`, `test/pos`, `test/neg`, files `<id>_<rating>.txt`) that
//! [`super::imdb::load`] reads exactly like the real dataset.
//!
//! What it leaves out: everything that makes real reviews hard beyond word order — sarcasm, long-range
//! plot summaries, a 100,000-word vocabulary.

use crate::error::{Error, Result};
use crate::probability::Rng;
use std::path::Path;

const ASPECTS: &[&str] = &[
    "plot",
    "acting",
    "story",
    "ending",
    "music",
    "dialogue",
    "cast",
    "script",
    "pacing",
    "soundtrack",
    "camera work",
    "lead actor",
    "villain",
    "humour",
    "direction",
    "editing",
    "first half",
    "second half",
    "main character",
    "photography",
    "film",
    "movie",
];
const POSITIVE: &[&str] = &[
    "good",
    "great",
    "excellent",
    "wonderful",
    "brilliant",
    "funny",
    "moving",
    "gripping",
    "clever",
    "beautiful",
    "fun",
    "exciting",
    "charming",
    "superb",
    "touching",
    "smart",
];
const NEGATIVE: &[&str] = &[
    "bad",
    "awful",
    "boring",
    "terrible",
    "dull",
    "weak",
    "poor",
    "predictable",
    "silly",
    "tedious",
    "clumsy",
    "forgettable",
    "bland",
    "messy",
    "lazy",
    "flat",
];
const NEGATORS: &[&str] = &["not", "hardly", "never", "not really", "by no means"];
const INTENSIFIERS: &[&str] = &["", "", "", "very", "really", "truly", "quite", "rather"];
const VERBS: &[&str] = &["was", "is", "was", "is", "seemed", "felt"];
const CONTRASTS: &[&str] = &[", but", ", but", ". however ,", ", but then again"];
const FILLERS: &[&str] = &[
    "i saw this movie last {day} with my {person} .",
    "my {person} wanted to watch it .",
    "it is a {genre} from {year} .",
    "the cinema was {crowd} that {day} .",
    "{name} plays the {role} .",
    "i rented it on a {day} evening .",
    "it runs for about {minutes} minutes .",
    "the film is set in {place} .",
    "i had read the book before .",
    "we watched it at home .",
];
const DAYS: &[&str] = &["monday", "friday", "saturday", "sunday"];
const PEOPLE: &[&str] = &[
    "brother", "sister", "friend", "wife", "husband", "father", "mother",
];
const GENRES: &[&str] = &[
    "drama", "comedy", "thriller", "western", "musical", "war film",
];
const CROWDS: &[&str] = &["crowded", "empty", "half full", "noisy"];
const NAMES: &[&str] = &[
    "John Smith",
    "Mary Jones",
    "Peter Brown",
    "Anna White",
    "Tom Green",
];
const ROLES: &[&str] = &[
    "detective",
    "teacher",
    "soldier",
    "doctor",
    "young mother",
    "old king",
];
const PLACES: &[&str] = &["paris", "new york", "a small town", "london", "the desert"];

/// The sizes and seed of a stand-in dataset.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StandIn {
    /// Reviews per class in `train/` (the same number of positive and negative).
    pub train_per_class: usize,
    /// Reviews per class in `test/`.
    pub test_per_class: usize,
    /// The seed the whole text is generated from.
    pub seed: u64,
}

impl Default for StandIn {
    /// 1,500 training and 500 test reviews per class (about 0.6 MB of text in 4,000 files).
    fn default() -> StandIn {
        StandIn {
            train_per_class: 1500,
            test_per_class: 500,
            seed: 2011,
        }
    }
}

fn pick<'a>(rng: &mut Rng, words: &[&'a str]) -> &'a str {
    words[rng.below(words.len())]
}

/// An opinion clause of the given polarity, e.g. "the plot was not bad" (positive, negated).
fn clause(rng: &mut Rng, positive: bool, negated: bool) -> String {
    // A negated clause uses an adjective of the opposite polarity: "not bad" is positive.
    let adjective_positive = positive != negated;
    let adjective = pick(
        rng,
        if adjective_positive {
            POSITIVE
        } else {
            NEGATIVE
        },
    );
    let aspect = pick(rng, ASPECTS);
    let verb = pick(rng, VERBS);
    let modifier = if negated {
        pick(rng, NEGATORS)
    } else {
        pick(rng, INTENSIFIERS)
    };
    let mut words = vec!["the", aspect, verb];
    if !modifier.is_empty() {
        words.push(modifier);
    }
    words.push(adjective);
    words.join(" ")
}

/// A neutral sentence with its blanks filled.
fn filler(rng: &mut Rng) -> String {
    let template = pick(rng, FILLERS);
    let year = (1950 + rng.below(70)).to_string();
    let minutes = (80 + rng.below(90)).to_string();
    template
        .replace("{day}", pick(rng, DAYS))
        .replace("{person}", pick(rng, PEOPLE))
        .replace("{genre}", pick(rng, GENRES))
        .replace("{year}", &year)
        .replace("{crowd}", pick(rng, CROWDS))
        .replace("{name}", pick(rng, NAMES))
        .replace("{role}", pick(rng, ROLES))
        .replace("{minutes}", &minutes)
        .replace("{place}", pick(rng, PLACES))
}

/// Capitalises the first letter of each sentence and glues punctuation to the word before it, the
/// way people write.
fn tidy(sentence: &str) -> String {
    let text = sentence
        .replace(" .", ".")
        .replace(" ,", ",")
        .replace(" !", "!");
    let mut out = String::with_capacity(text.len());
    let mut capital_next = true;
    for c in text.chars() {
        if capital_next && c.is_alphabetic() {
            out.extend(c.to_uppercase());
            capital_next = false;
        } else {
            out.push(c);
        }
        if c == '.' {
            capital_next = true;
        }
    }
    out
}

/// One review of the given polarity. Returns the text.
pub fn review(rng: &mut Rng, positive: bool) -> String {
    let mut sentences: Vec<String> = Vec::new();
    for _ in 0..rng.below(3) {
        sentences.push(filler(rng));
    }
    let kind = rng.below(100);
    if kind < 60 {
        // Plain: the adjectives carry the label.
        sentences.push(format!("{} .", clause(rng, positive, false)));
        if rng.bernoulli(0.5) {
            sentences.push(format!("{} .", clause(rng, positive, false)));
        }
    } else if kind < 80 {
        // Negated: the label is the opposite of the adjective's usual polarity.
        sentences.push(format!("{} .", clause(rng, positive, true)));
        if rng.bernoulli(0.3) {
            sentences.push(filler(rng));
        }
    } else {
        // Contrast: the clause after "but" wins; each side may be negated.
        let (negate_first, negate_second) = (rng.bernoulli(0.3), rng.bernoulli(0.3));
        let first = clause(rng, !positive, negate_first);
        let second = clause(rng, positive, negate_second);
        let joint = pick(rng, CONTRASTS);
        sentences.push(format!("{first} {joint} {second} ."));
    }
    for _ in 0..rng.below(2) {
        sentences.push(filler(rng));
    }
    let mut text = String::new();
    for (i, s) in sentences.iter().enumerate() {
        if i > 0 {
            text.push_str(if rng.bernoulli(0.3) {
                "<br /><br />"
            } else {
                " "
            });
        }
        text.push_str(&tidy(s));
    }
    text
}

/// A rating in the file-name style of aclImdb: 7–10 for positive, 1–4 for negative.
fn rating(rng: &mut Rng, positive: bool) -> usize {
    if positive {
        7 + rng.below(4)
    } else {
        1 + rng.below(4)
    }
}

/// The first line of every marker this generator writes, whatever its settings.
const MARKER_FIRST_LINE: &str =
    "Synthetic stand-in for aclImdb, generated by dlfs (src/data/synthetic_reviews.rs).";

/// The marker file of a stand-in folder.
const MARKER_FILE: &str = "README.txt";

/// The description written to `README.txt` in the folder; also how [`ensure_written`] recognises a
/// folder it already wrote with the same settings.
fn marker(config: &StandIn) -> String {
    format!(
        "{MARKER_FIRST_LINE}\n\
         seed {} · {} training and {} test reviews per class · word order decides the label.\n",
        config.seed, config.train_per_class, config.test_per_class
    )
}

/// Writes the stand-in dataset into `root` (created), unless `root/README.txt` shows it is already
/// there with the same settings. Writes into a temporary sibling folder, the marker last, and renames
/// it into place (see [`super::standin`]), so a crash, a full disk or a second process never leaves a
/// half-written dataset, and temporary folders of killed runs are removed. A folder at `root` that is
/// not a stand-in of ours (no marker of ours) is never replaced: that is an error.
pub fn ensure_written(root: &Path, config: &StandIn) -> Result<()> {
    let wanted = marker(config);
    let ours = |dir: &Path| {
        super::standin::read_marker(dir, MARKER_FILE)
            .is_some_and(|text| text.starts_with(MARKER_FIRST_LINE))
    };
    super::standin::ensure_generated(
        root,
        MARKER_FILE,
        &wanted,
        &|_| true,
        &ours,
        &mut |temporary| write_reviews(temporary, config),
    )?;
    Ok(())
}

/// Writes the reviews of `config` into `folder` (`train/pos`, `train/neg`, `test/pos`, `test/neg`).
fn write_reviews(folder: &Path, config: &StandIn) -> Result<()> {
    let io = |path: &Path, e: std::io::Error| {
        Error::io(
            path,
            e,
            "could not write the stand-in dataset (is the folder writable? is the disk full?)",
        )
    };
    let mut rng = Rng::new(config.seed);
    let mut id = 0;
    for (split, per_class) in [
        ("train", config.train_per_class),
        ("test", config.test_per_class),
    ] {
        for (class, positive) in [("pos", true), ("neg", false)] {
            let class_folder = folder.join(split).join(class);
            std::fs::create_dir_all(&class_folder).map_err(|e| io(&class_folder, e))?;
            for _ in 0..per_class {
                let text = review(&mut rng, positive);
                let path = class_folder.join(format!("{id}_{}.txt", rating(&mut rng, positive)));
                std::fs::write(&path, text).map_err(|e| io(&path, e))?;
                id += 1;
            }
        }
    }
    Ok(())
}
