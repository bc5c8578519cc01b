//! Text to numbers, for chapter 13 (自然语言处理项目实操, IMDB sentiment): a tokenizer, a vocabulary of the
//! most frequent words, encoding/decoding, and `pad_sequences`.
//!
//! The pipeline is the one the tutorial's framework (Keras) applied to IMDB:
//! 1. [`Tokenizer::Words`] (the default, what `imdb.load_data` holds): lower-case, remove HTML tags
//!    (IMDB reviews contain `<br /><br />`), keep words — letters and digits, with inner apostrophes
//!    (`didn't`) — and drop punctuation: `"Great<br />film!"` → `["great", "film"]`.
//!    [`Tokenizer::WordsAndPunctuation`] ([`tokenize`]) keeps each punctuation mark as a token
//!    (`["great", "film", "!"]`): `.` and `,` then become the 2nd and 3rd most frequent tokens, spend
//!    vocabulary and lengthen every review.
//! 2. [`Vocabulary::build`]: count words over the training texts, keep the most frequent ones, give
//!    ids in order of frequency. Ties are broken alphabetically, so the ids never depend on the order a
//!    hash map happens to iterate in.
//! 3. [`Vocabulary::encode`]: `[START, id, id, …]`, with `UNKNOWN` for words outside the vocabulary.
//! 4. [`pad_sequences`]: cut or pad every sequence to `maxlen` ids. Keras pads and truncates at the
//!    *front* by default, which keeps the end of a long review next to the LSTM's last state.
//!
//! Reserved ids, exactly as `keras.datasets.imdb`: 0 padding, 1 start of sequence, 2 unknown word, 3
//! unused (Keras numbers words from rank 1 and adds `index_from = 3`), so the most frequent word is
//! id 4, and `num_words` bounds the ids: every id is below it.
//!
//! Memory stays proportional to what is kept: [`Vocabulary::build_from_texts`] and
//! [`Vocabulary::encode_truncated`] tokenize one text at a time and keep only word counts and at
//! most `maxlen` ids per text (a review of a million `!` is a million tokens while it is encoded,
//! and `maxlen` ids after). Files are read through [`crate::input`]: a vocabulary file
//! ([`VOCABULARY_FILE`], 64 MB) and a text corpus ([`CORPUS_FILE`], 64 MB) must be regular UTF-8
//! files within their caps.
//!
//! What it leaves out: stemming, sub-word units (BPE), Unicode normalisation beyond lower-casing,
//! n-grams, character entities (`&amp;` stays a word `amp` between punctuation).

use crate::error::{Error, Result};
use crate::input::{self, Cap};
use crate::tensor::Tensor;
use std::collections::HashMap;
use std::path::Path;

/// What [`Vocabulary::read`] accepts: a regular UTF-8 file of at most 64 MB (10,000 words take
/// about 80 KB).
pub const VOCABULARY_FILE: Cap = Cap {
    what: "a vocabulary file (one word per line, line k holds the word with id k + 4)",
    max_bytes: 64_000_000,
    hint: "use the vocabulary file saved with the weights (chapter 13: imdb_vocabulary.txt)",
};

/// What [`read_corpus`] accepts: a regular UTF-8 text file of at most 64 MB (the classic
/// Shakespeare collection is about 1 MB).
pub const CORPUS_FILE: Cap = Cap {
    what: "a text corpus (UTF-8 text)",
    max_bytes: 64_000_000,
    hint: "any UTF-8 text file works; cut a larger one down first (e.g. head -c 50000000)",
};

/// Reads a text corpus: a regular UTF-8 file within [`CORPUS_FILE`]'s cap (an invalid byte is an
/// error naming its line and offset).
pub fn read_corpus(path: &Path) -> Result<String> {
    input::read_text(path, &CORPUS_FILE)
}

/// Id of the padding token.
pub const PAD: usize = 0;
/// Id that starts every encoded sequence.
pub const START: usize = 1;
/// Id of every word outside the vocabulary.
pub const UNKNOWN: usize = 2;
/// The first id given to a word (id 3 is reserved and unused, as in Keras).
pub const FIRST_WORD_ID: usize = 4;

/// Replaces every HTML tag `<…>` with a space. A `<` without a closing `>` is kept as text.
pub fn strip_html_tags(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find('<') {
        out.push_str(&rest[..open]);
        match rest[open..].find('>') {
            Some(close) => {
                out.push(' ');
                rest = &rest[open + close + 1..];
            }
            None => {
                out.push_str(&rest[open..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// How a text is cut into tokens (both lower-case and drop HTML tags first; see the module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tokenizer {
    /// Words only (letters and digits, inner apostrophes kept), as the tutorial's dataset.
    Words,
    /// Words and single punctuation characters ([`tokenize`]).
    WordsAndPunctuation,
}

impl Tokenizer {
    /// The tokens of `text`.
    ///
    /// ```
    /// use dlfs::data::text::Tokenizer;
    /// let text = "Not GOOD.<br /><br />I didn't laugh!";
    /// assert_eq!(Tokenizer::Words.tokenize(text), ["not", "good", "i", "didn't", "laugh"]);
    /// assert_eq!(Tokenizer::WordsAndPunctuation.tokenize(text),
    ///            ["not", "good", ".", "i", "didn't", "laugh", "!"]);
    /// ```
    pub fn tokenize(self, text: &str) -> Vec<String> {
        match self {
            Tokenizer::Words => tokenize_words(text),
            Tokenizer::WordsAndPunctuation => tokenize(text),
        }
    }

    /// The name used by chapter 13's `--tokenizer` flag and in saved models: `words` or
    /// `punctuation`.
    pub fn name(self) -> &'static str {
        match self {
            Tokenizer::Words => "words",
            Tokenizer::WordsAndPunctuation => "punctuation",
        }
    }

    /// The tokenizer called `name` ([`Tokenizer::name`]), if any.
    pub fn from_name(name: &str) -> Option<Tokenizer> {
        match name {
            "words" => Some(Tokenizer::Words),
            "punctuation" => Some(Tokenizer::WordsAndPunctuation),
            _ => None,
        }
    }
}

/// Splits a text into lower-case words — letters and digits, with inner apostrophes kept (`don't`,
/// `’` read as `'`) — after removing HTML tags; punctuation and other symbols only separate words.
pub fn tokenize_words(text: &str) -> Vec<String> {
    tokenize(text)
        .into_iter()
        .filter(|t| t.chars().next().is_some_and(char::is_alphanumeric))
        .collect()
}

/// Splits a text into lower-case tokens: words (letters and digits, with inner apostrophes kept:
/// `don't`) and single punctuation characters; HTML tags are removed first.
///
/// ```
/// use dlfs::data::text::tokenize;
/// assert_eq!(tokenize("Not GOOD.<br /><br />I didn't laugh!"),
///            ["not", "good", ".", "i", "didn't", "laugh", "!"]);
/// ```
pub fn tokenize(text: &str) -> Vec<String> {
    let clean = strip_html_tags(text).to_lowercase();
    let chars: Vec<char> = clean.chars().collect();
    let mut tokens = Vec::new();
    let mut word = String::new();
    for (i, &c) in chars.iter().enumerate() {
        let inner_apostrophe = (c == '\'' || c == '’')
            && !word.is_empty()
            && chars.get(i + 1).is_some_and(|n| n.is_alphanumeric());
        if c.is_alphanumeric() || inner_apostrophe {
            word.push(if c == '’' { '\'' } else { c });
            continue;
        }
        if !word.is_empty() {
            tokens.push(std::mem::take(&mut word));
        }
        if !c.is_whitespace() {
            tokens.push(c.to_string());
        }
    }
    if !word.is_empty() {
        tokens.push(word);
    }
    tokens
}

/// The words a model knows, with their ids (see the module docs for the reserved ids).
#[derive(Clone, Debug, PartialEq)]
pub struct Vocabulary {
    /// `words[i]` has id `FIRST_WORD_ID + i`; most frequent first.
    words: Vec<String>,
    ids: HashMap<String, usize>,
    num_words: usize,
}

impl Vocabulary {
    /// Builds the vocabulary of the most frequent tokens in `texts` (already tokenized), keeping
    /// every id below `num_words` (so at most `num_words − 4` words). Ties in frequency are broken
    /// alphabetically. Panics if `num_words` leaves no room for a word (`num_words ≤ 4`).
    pub fn build<'a>(
        texts: impl IntoIterator<Item = &'a [String]>,
        num_words: usize,
    ) -> Vocabulary {
        assert!(
            num_words > FIRST_WORD_ID,
            "Vocabulary::build: num_words must be above {FIRST_WORD_ID} (ids 0–3 are reserved), got {num_words}"
        );
        let mut counts: HashMap<&str, usize> = HashMap::new();
        for tokens in texts {
            for token in tokens {
                *counts.entry(token.as_str()).or_insert(0) += 1;
            }
        }
        let mut ranked: Vec<(&str, usize)> = counts.into_iter().collect();
        // Most frequent first; equal counts in alphabetical order (never hash-map order).
        ranked.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
        ranked.truncate(num_words - FIRST_WORD_ID);
        let words: Vec<String> = ranked.into_iter().map(|(w, _)| w.to_string()).collect();
        Vocabulary::from_words(words, num_words)
    }

    /// A vocabulary from words already in id order (most frequent first), e.g. loaded from a file.
    pub fn from_words(words: Vec<String>, num_words: usize) -> Vocabulary {
        let ids = words
            .iter()
            .enumerate()
            .map(|(i, w)| (w.clone(), FIRST_WORD_ID + i))
            .collect();
        Vocabulary {
            words,
            ids,
            num_words,
        }
    }

    /// [`Vocabulary::build`] from raw texts, tokenized one at a time by `tokenizer`: only the
    /// counts of distinct words are kept, never all the tokens at once.
    pub fn build_from_texts<'a>(
        texts: impl IntoIterator<Item = &'a str>,
        tokenizer: Tokenizer,
        num_words: usize,
    ) -> Vocabulary {
        assert!(
            num_words > FIRST_WORD_ID,
            "Vocabulary::build_from_texts: num_words must be above {FIRST_WORD_ID} (ids 0–3 are reserved), got {num_words}"
        );
        let mut counts: HashMap<String, usize> = HashMap::new();
        for text in texts {
            for token in tokenizer.tokenize(text) {
                match counts.get_mut(token.as_str()) {
                    Some(count) => *count += 1,
                    None => {
                        counts.insert(token, 1);
                    }
                }
            }
        }
        let mut ranked: Vec<(String, usize)> = counts.into_iter().collect();
        // Most frequent first; equal counts in alphabetical order (never hash-map order).
        ranked.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        ranked.truncate(num_words - FIRST_WORD_ID);
        Vocabulary::from_words(ranked.into_iter().map(|(w, _)| w).collect(), num_words)
    }

    /// `[START, id(token), …]` of `text` (tokenized by `tokenizer`) cut to at most `maxlen` ids at
    /// the `truncating` side (as [`pad_sequences`] would cut it), and the length before cutting.
    /// Memory: the tokens of this one text while it is encoded, then at most `maxlen` ids.
    pub fn encode_truncated(
        &self,
        text: &str,
        tokenizer: Tokenizer,
        maxlen: usize,
        truncating: Side,
    ) -> (Vec<usize>, usize) {
        let tokens = tokenizer.tokenize(text);
        let length = tokens.len() + 1;
        let ids = std::iter::once(START).chain(tokens.iter().map(|t| self.id(t)));
        let kept = match truncating {
            Side::Pre => ids.skip(length.saturating_sub(maxlen)).collect(),
            Side::Post => ids.take(maxlen).collect(),
        };
        (kept, length)
    }

    /// The text of a vocabulary file: the words in id order, one per line (line k, counted from 0,
    /// holds the word with id k + 4), ending with a newline.
    pub fn to_file_text(&self) -> String {
        let mut text = self.words.join("\n");
        text.push('\n');
        text
    }

    /// Parses the text of a vocabulary file (see [`Vocabulary::to_file_text`]); `num_words` is the
    /// bound on ids the model was trained with (`None`: the words' count + 4). Errors name the line:
    /// an empty line, a word with white space in it, a word twice, more words than `num_words − 4`.
    pub fn parse(text: &str, num_words: Option<usize>, source_name: &str) -> Result<Vocabulary> {
        let bad = |message: String| Error::format(source_name, message);
        let mut words: Vec<String> = Vec::new();
        let mut first_line: HashMap<&str, usize> = HashMap::new();
        for (index, line) in text.lines().enumerate() {
            let number = index + 1;
            if line.is_empty() {
                return Err(bad(format!(
                    "line {number} is empty; every line holds one word (line k has id k + 3)"
                )));
            }
            if line.chars().any(char::is_whitespace) {
                return Err(bad(format!(
                    "line {number}: {} holds white space; a word has none",
                    input::excerpt(line)
                )));
            }
            if let Some(previous) = first_line.insert(line, number) {
                return Err(bad(format!(
                    "line {number}: {} is already on line {previous}; each word has one id",
                    input::excerpt(line)
                )));
            }
            words.push(line.to_string());
        }
        if words.is_empty() {
            return Err(bad("the file holds no words".to_string()));
        }
        let num_words = num_words.unwrap_or(words.len() + FIRST_WORD_ID);
        if num_words <= FIRST_WORD_ID || words.len() > num_words - FIRST_WORD_ID {
            return Err(bad(format!(
                "{} words need ids up to {}, but the model's ids are below {num_words}: is this the \
                 vocabulary saved with these weights?",
                words.len(),
                words.len() + FIRST_WORD_ID - 1
            )));
        }
        Ok(Vocabulary::from_words(words, num_words))
    }

    /// Reads a vocabulary file (regular UTF-8, within [`VOCABULARY_FILE`]'s cap) and parses it with
    /// [`Vocabulary::parse`].
    pub fn read(path: &Path, num_words: Option<usize>) -> Result<Vocabulary> {
        let text = input::read_text(path, &VOCABULARY_FILE)?;
        Vocabulary::parse(&text, num_words, &path.display().to_string())
    }

    /// The bound on ids (`Embedding::new(num_words, …)` fits every id).
    pub fn num_words(&self) -> usize {
        self.num_words
    }

    /// The known words, most frequent first (`words()[i]` has id `i + 4`).
    pub fn words(&self) -> &[String] {
        &self.words
    }

    /// The id of `word`, or [`UNKNOWN`].
    pub fn id(&self, word: &str) -> usize {
        self.ids.get(word).copied().unwrap_or(UNKNOWN)
    }

    /// The word of an id: `<pad>`, `<start>`, `<unk>` for the reserved ids, `<unused>` for 3 and
    /// for ids beyond the vocabulary.
    pub fn word(&self, id: usize) -> &str {
        match id {
            PAD => "<pad>",
            START => "<start>",
            UNKNOWN => "<unk>",
            _ => id
                .checked_sub(FIRST_WORD_ID)
                .and_then(|i| self.words.get(i))
                .map_or("<unused>", |w| w.as_str()),
        }
    }

    /// `[START, id(token), …]` for a text (tokenized with [`tokenize`]).
    pub fn encode(&self, text: &str) -> Vec<usize> {
        self.encode_tokens(&tokenize(text))
    }

    /// `[START, id(token), …]` for tokens.
    pub fn encode_tokens(&self, tokens: &[String]) -> Vec<usize> {
        std::iter::once(START)
            .chain(tokens.iter().map(|t| self.id(t)))
            .collect()
    }

    /// The words of a sequence of ids joined by spaces, padding and the start id left out.
    pub fn decode(&self, ids: &[usize]) -> String {
        ids.iter()
            .filter(|&&id| id != PAD && id != START)
            .map(|&id| self.word(id))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// Which end of a sequence [`pad_sequences`] pads or cuts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    /// At the front (Keras's default for both padding and truncating).
    Pre,
    /// At the back.
    Post,
}

/// Makes every sequence exactly `maxlen` ids long: longer ones lose ids at the `truncating` side,
/// shorter ones get [`PAD`] at the `padding` side. Returns `[N, maxlen]` ids as f32 (exact for ids
/// below 2²⁴), ready for [`crate::nn::Embedding`].
///
/// ```
/// use dlfs::data::text::{pad_sequences, Side};
/// let padded = pad_sequences(&[vec![1, 5, 6, 7], vec![1, 9]], 3, Side::Pre, Side::Pre);
/// assert_eq!(padded.data(), &[5.0, 6.0, 7.0, 0.0, 1.0, 9.0]);
/// ```
pub fn pad_sequences(
    sequences: &[Vec<usize>],
    maxlen: usize,
    padding: Side,
    truncating: Side,
) -> Tensor {
    let mut data = Vec::with_capacity(sequences.len() * maxlen);
    for sequence in sequences {
        let kept: &[usize] = if sequence.len() > maxlen {
            match truncating {
                Side::Pre => &sequence[sequence.len() - maxlen..],
                Side::Post => &sequence[..maxlen],
            }
        } else {
            sequence
        };
        let pad = maxlen - kept.len();
        let ids = kept.iter().map(|&id| id as f32);
        match padding {
            Side::Pre => {
                data.extend(std::iter::repeat_n(PAD as f32, pad));
                data.extend(ids);
            }
            Side::Post => {
                data.extend(ids);
                data.extend(std::iter::repeat_n(PAD as f32, pad));
            }
        }
    }
    Tensor::from_vec(&[sequences.len(), maxlen], data)
}
