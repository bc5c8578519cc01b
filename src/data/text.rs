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
//! What it leaves out: stemming, sub-word units (BPE), Unicode normalisation beyond lower-casing,
//! n-grams, character entities (`&amp;` stays a word `amp` between punctuation).

use crate::tensor::Tensor;
use std::collections::HashMap;

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

    /// Reads a vocabulary written one word per line (line k holds id k + 4), as chapter 13 saves
    /// it; `source` names the file in errors. Refuses empty lines, words with spaces, repeated
    /// words, and more words than `num_words − 4`.
    pub fn from_lines(text: &str, num_words: usize, source: &str) -> crate::Result<Vocabulary> {
        let bad = |message: String| crate::Error::format(source, message);
        let words: Vec<String> = text.lines().map(str::to_string).collect();
        if words.len() + FIRST_WORD_ID > num_words {
            return Err(bad(format!(
                "{} words, but ids must stay below num_words = {num_words} (at most {})",
                words.len(),
                num_words.saturating_sub(FIRST_WORD_ID)
            )));
        }
        let mut seen = std::collections::HashSet::new();
        for (line, word) in words.iter().enumerate() {
            if word.is_empty() || word.chars().any(char::is_whitespace) {
                return Err(bad(format!(
                    "line {}: {word:?} is not a token (one word per line, no spaces)",
                    line + 1
                )));
            }
            if !seen.insert(word.as_str()) {
                return Err(bad(format!("line {}: {word:?} appears twice", line + 1)));
            }
        }
        Ok(Vocabulary::from_words(words, num_words))
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
