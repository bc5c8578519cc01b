//! A generated text whose best achievable next-character loss is known exactly (chapter 16).
//!
//! A language model's loss alone says little: is 0.5 nats per character good? On real text nobody
//! knows the answer. Here the text is made by a small probabilistic grammar, so the true probability
//! of every sentence — and hence of every next character — is known, and so is the loss of the best
//! possible model. The chapter prints it next to the model's.
//!
//! # The grammar
//! One sentence per line, every choice independent, with fixed probabilities:
//! ```text
//! sentence → subject verb object adverb ".\n"
//! subject  → (singular 0.6) det_sg noun | (plural 0.4) det_pl nouns     "a cat", "two owls"
//! verb     → agrees with the subject: "sees" after a singular, "see" after a plural
//! object   → (singular 0.5) det_sg noun | (plural 0.5) det_pl nouns     chosen independently
//! adverb   → "" 0.7 | " now" 0.15 | " too" 0.15
//! ```
//! e.g. `two foxes chase my owl now.` The verb's agreement with a noun several characters back is
//! the one long-range dependency a model must learn.
//!
//! **Unambiguous:** every word belongs to one part of speech and one number (determiners shared by
//! both numbers — "the", "my" — are resolved by the noun that follows), so a sentence's text
//! determines all the choices that made it, and its probability is the product of their
//! probabilities. There are 19,440 different sentences; [`TinyGrammar::new`] lists them all with
//! their probabilities.
//!
//! # The best achievable loss
//! Sentences are independent, so the best prediction of the next character depends only on the
//! sentence so far (its prefix w): `p(c | w) = P(w·c…) / P(w…)`, where `P(w…)` is the total
//! probability of the sentences starting with w. The chain rule makes the loss of that predictor,
//! summed over a sentence's characters (its `"\n"` included), exactly `−ln P(sentence)`. So
//! - the expected best loss per character is the **entropy rate** `H = E[−ln P(s)] / E[len(s)]`
//!   ([`TinyGrammar::entropy_per_character`]);
//! - on a particular text, the best loss at each position is `−ln p(c | w)`
//!   ([`TinyGrammar::optimal_losses`]), which the chapter averages over the positions it scores.
//!
//! A model sees at most its context (64 characters in chapter 16). Every sentence is at most 32
//! characters long, so a model that is scored only at positions with at least 32 characters of
//! context (the chapter's strided evaluation) always sees the whole sentence so far: the optimum
//! above is then exactly the best it can do.

use crate::probability::Rng;
use std::collections::HashMap;

/// A word with its probability, within one list of choices.
type Choice = (&'static str, f64);

const DETERMINERS_SINGULAR: &[Choice] = &[("a", 0.4), ("the", 0.4), ("my", 0.2)];
const DETERMINERS_PLURAL: &[Choice] = &[("the", 0.5), ("my", 0.2), ("two", 0.3)];
/// Nouns as (singular, plural, probability).
const NOUNS: &[(&str, &str, f64)] = &[
    ("cat", "cats", 0.3),
    ("dog", "dogs", 0.2),
    ("owl", "owls", 0.15),
    ("fox", "foxes", 0.15),
    ("cow", "cows", 0.1),
    ("bird", "birds", 0.1),
];
/// Verbs as (after a singular subject, after a plural subject, probability).
const VERBS: &[(&str, &str, f64)] = &[
    ("sees", "see", 0.3),
    ("likes", "like", 0.25),
    ("hears", "hear", 0.2),
    ("chases", "chase", 0.15),
    ("feeds", "feed", 0.1),
];
const ADVERBS: &[Choice] = &[("", 0.7), (" now", 0.15), (" too", 0.15)];
const SINGULAR_SUBJECT: f64 = 0.6;
const SINGULAR_OBJECT: f64 = 0.5;

/// The longest sentence, in characters with its `"\n"` (checked by the tests).
pub const MAX_SENTENCE_CHARS: usize = 32;

/// Every sentence of the grammar with its probability, and the probability mass of every prefix.
pub struct TinyGrammar {
    sentences: Vec<(String, f64)>,
    /// `P(w…)` for every prefix w of every sentence (the empty prefix included).
    prefix_mass: HashMap<String, f64>,
}

/// The noun phrases of one number: (text, probability given the number).
fn noun_phrases(singular: bool) -> Vec<(String, f64)> {
    let determiners = if singular {
        DETERMINERS_SINGULAR
    } else {
        DETERMINERS_PLURAL
    };
    let mut phrases = Vec::new();
    for &(det, p_det) in determiners {
        for &(one, many, p_noun) in NOUNS {
            let noun = if singular { one } else { many };
            phrases.push((format!("{det} {noun}"), p_det * p_noun));
        }
    }
    phrases
}

impl TinyGrammar {
    /// Lists every sentence with its probability (in a fixed order) and every prefix's mass.
    pub fn new() -> TinyGrammar {
        let mut sentences = Vec::new();
        for (subject_singular, p_subject_number) in
            [(true, SINGULAR_SUBJECT), (false, 1.0 - SINGULAR_SUBJECT)]
        {
            for (subject, p_subject) in noun_phrases(subject_singular) {
                for &(singular_form, plural_form, p_verb) in VERBS {
                    let verb = if subject_singular {
                        singular_form
                    } else {
                        plural_form
                    };
                    for (object_singular, p_object_number) in
                        [(true, SINGULAR_OBJECT), (false, 1.0 - SINGULAR_OBJECT)]
                    {
                        for (object, p_object) in noun_phrases(object_singular) {
                            for &(adverb, p_adverb) in ADVERBS {
                                let text = format!("{subject} {verb} {object}{adverb}.\n");
                                let p = p_subject_number
                                    * p_subject
                                    * p_verb
                                    * p_object_number
                                    * p_object
                                    * p_adverb;
                                sentences.push((text, p));
                            }
                        }
                    }
                }
            }
        }
        // Each prefix's mass is summed in the fixed order of `sentences`: deterministic.
        let mut prefix_mass: HashMap<String, f64> = HashMap::new();
        for (text, p) in &sentences {
            for end in 0..=text.len() {
                *prefix_mass.entry(text[..end].to_string()).or_insert(0.0) += p;
            }
        }
        TinyGrammar {
            sentences,
            prefix_mass,
        }
    }

    /// Every sentence (with its `"\n"`) and its probability; the probabilities sum to 1.
    pub fn sentences(&self) -> &[(String, f64)] {
        &self.sentences
    }

    /// Draws one sentence (with its `"\n"`), each with its probability.
    pub fn sample(&self, rng: &mut Rng) -> &str {
        let mut u = rng.next_f64();
        for (text, p) in &self.sentences {
            if u < *p {
                return text;
            }
            u -= p;
        }
        // Rounding can leave u a hair above the last probability.
        &self.sentences[self.sentences.len() - 1].0
    }

    /// A text of whole sentences of at least `chars` characters, a deterministic function of `seed`.
    pub fn text(&self, chars: usize, seed: u64) -> String {
        let mut rng = Rng::new(seed);
        let mut text = String::with_capacity(chars + MAX_SENTENCE_CHARS);
        while text.len() < chars {
            text.push_str(self.sample(&mut rng));
        }
        text
    }

    /// The entropy rate `E[−ln P(s)] / E[len(s)]` in nats per character: the expected loss of the
    /// best possible model (see the module docs).
    pub fn entropy_per_character(&self) -> f64 {
        let entropy: f64 = self.sentences.iter().map(|(_, p)| -p * p.ln()).sum();
        let length: f64 = self.sentences.iter().map(|(t, p)| p * t.len() as f64).sum();
        entropy / length
    }

    /// For a text made of whole sentences of this grammar, the best achievable loss at every
    /// character: `−ln p(c | the sentence so far)`, in nats. `None` if the text is not made of
    /// this grammar's sentences (e.g. it was cut in the middle of one).
    pub fn optimal_losses(&self, text: &str) -> Option<Vec<f64>> {
        let mut losses = Vec::with_capacity(text.len());
        let mut start = 0;
        for (i, c) in text.char_indices() {
            let before = self.prefix_mass.get(&text[start..i])?;
            let after = self.prefix_mass.get(&text[start..i + c.len_utf8()])?;
            losses.push(-(after / before).ln());
            if c == '\n' {
                start = i + 1;
            }
        }
        Some(losses)
    }
}

impl Default for TinyGrammar {
    fn default() -> TinyGrammar {
        TinyGrammar::new()
    }
}
