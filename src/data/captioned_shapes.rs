//! Generated captioned pictures for chapter 18's image–text model: "a red ring on the left".
//!
//! Each picture is one of the stand-in painter's five shapes ([`super::cifar10_standin::draw_object`])
//! in one of six named colours at one of five places, on a grey background, with a caption written
//! from one of six templates:
//!
//! | template | example | names |
//! |---|---|---|
//! | `a {colour} {shape} {place}` | a red ring on the left | colour, shape, place |
//! | `a photo of a {colour} {shape}` | a photo of a red ring | colour, shape |
//! | `a {shape} {place} in {colour}` | a ring on the left in red | all three |
//! | `{colour} {shape}` | red ring | colour, shape |
//! | `a photo of a {shape}` | a photo of a ring | shape |
//! | `a photo of something {colour}` | a photo of something red | colour |
//!
//! **Held-out combinations.** Six shape–colour pairs never appear in training ([`is_held_out`]: a
//! red disk, an orange ring, a yellow square, a green triangle, a blue cross, a purple disk), yet
//! every shape and every colour does, in other pairs. A model that learned "red" and "disk" as
//! separate ideas can recognise a red disk; one that memorised pairs cannot.
//!
//! Captions are words from a fixed [`VOCABULARY`]; [`encode`] turns a caption into token ids,
//! padded on the *left* with 0 to a fixed length, so a recurrent encoder's last step is always the
//! caption's last word. Everything is determined by the seed.
//!
//! What it leaves out: relations between several objects, sizes, textures, free-form text.

use super::cifar10::IMAGE_BYTES;
use super::cifar10_standin::{ObjectSpec, draw_object, hsv};
use crate::probability::Rng;

/// The shape names, in the stand-in's label order (classes 0…4).
pub const SHAPES: [&str; 5] = ["disk", "ring", "square", "triangle", "cross"];

/// The colour names and their hues in degrees.
pub const COLOURS: [(&str, f32); 6] = [
    ("red", 0.0),
    ("orange", 30.0),
    ("yellow", 58.0),
    ("green", 120.0),
    ("blue", 225.0),
    ("purple", 280.0),
];

/// The places: a name, its phrase in captions, and the centre of the object (x, y) in pixels.
pub const PLACES: [(&str, &str, (f32, f32)); 5] = [
    ("left", "on the left", (9.0, 16.0)),
    ("right", "on the right", (23.0, 16.0)),
    ("top", "at the top", (16.0, 9.0)),
    ("bottom", "at the bottom", (16.0, 23.0)),
    ("middle", "in the middle", (16.0, 16.0)),
];

/// Every word a caption or a prompt may use; id 0 is the padding.
pub const VOCABULARY: [&str; 25] = [
    "<pad>",
    "a",
    "photo",
    "of",
    "something",
    "in",
    "on",
    "at",
    "the",
    "disk",
    "ring",
    "square",
    "triangle",
    "cross",
    "red",
    "orange",
    "yellow",
    "green",
    "blue",
    "purple",
    "left",
    "right",
    "top",
    "bottom",
    "middle",
];

/// Tokens per caption after padding (the longest template has 7 words).
pub const CAPTION_TOKENS: usize = 8;

/// Caption templates (see the module docs).
pub const TEMPLATES: usize = 6;

/// True for the six shape–colour pairs that training never shows.
pub fn is_held_out(shape: usize, colour: usize) -> bool {
    shape == colour % SHAPES.len()
}

/// The caption of a picture with template `template` (0…5).
pub fn caption(shape: usize, colour: usize, place: usize, template: usize) -> String {
    let (s, c, p) = (SHAPES[shape], COLOURS[colour].0, PLACES[place].1);
    match template {
        0 => format!("a {c} {s} {p}"),
        1 => format!("a photo of a {c} {s}"),
        2 => format!("a {s} {p} in {c}"),
        3 => format!("{c} {s}"),
        4 => format!("a photo of a {s}"),
        _ => format!("a photo of something {c}"),
    }
}

/// The token ids of `text`, left-padded with 0 to [`CAPTION_TOKENS`]; `None` if a word is not in
/// the vocabulary or there are too many words.
pub fn encode(text: &str) -> Option<Vec<f32>> {
    let ids: Option<Vec<usize>> = text
        .split_whitespace()
        .map(|w| VOCABULARY.iter().position(|&v| v == w))
        .collect();
    let ids = ids?;
    if ids.len() > CAPTION_TOKENS {
        return None;
    }
    let mut tokens = vec![0.0; CAPTION_TOKENS - ids.len()];
    tokens.extend(ids.iter().map(|&id| id as f32));
    Some(tokens)
}

/// Which shape–colour pairs a set draws from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pairs {
    /// Only the pairs training may see (not [`is_held_out`]).
    Seen,
    /// Only the held-out pairs.
    HeldOut,
    /// All 30 pairs.
    All,
}

/// Pictures with their captions and what is in them.
#[derive(Clone, Debug, Default)]
pub struct CaptionedImages {
    /// `len × 3072` bytes, red, green, blue planes (CIFAR-10's layout).
    pub pixels: Vec<u8>,
    /// One caption per picture.
    pub captions: Vec<String>,
    /// The shape of each picture (index into [`SHAPES`]).
    pub shapes: Vec<usize>,
    /// The colour of each picture (index into [`COLOURS`]).
    pub colours: Vec<usize>,
    /// The place of each picture (index into [`PLACES`]).
    pub places: Vec<usize>,
}

impl CaptionedImages {
    /// The number of pictures.
    pub fn len(&self) -> usize {
        self.captions.len()
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.captions.is_empty()
    }

    /// Picture `i`'s bytes.
    pub fn image(&self, i: usize) -> &[u8] {
        &self.pixels[i * IMAGE_BYTES..(i + 1) * IMAGE_BYTES]
    }
}

/// `count` captioned pictures from `pairs`, templates drawn uniformly from `templates`, all
/// determined by `seed`.
pub fn generate(count: usize, seed: u64, pairs: Pairs, templates: &[usize]) -> CaptionedImages {
    assert!(
        !templates.is_empty(),
        "captioned_shapes::generate: no templates"
    );
    let mut rng = Rng::new(seed);
    let mut set = CaptionedImages {
        pixels: vec![0; count * IMAGE_BYTES],
        ..CaptionedImages::default()
    };
    for i in 0..count {
        let (shape, colour) = loop {
            let (s, c) = (rng.below(SHAPES.len()), rng.below(COLOURS.len()));
            let keep = match pairs {
                Pairs::Seen => !is_held_out(s, c),
                Pairs::HeldOut => is_held_out(s, c),
                Pairs::All => true,
            };
            if keep {
                break (s, c);
            }
        };
        let place = rng.below(PLACES.len());
        let template = templates[rng.below(templates.len())];
        let hue = COLOURS[colour].1 + rng.uniform(-8.0, 8.0);
        let (x, y) = PLACES[place].2;
        let spec = ObjectSpec {
            class: shape,
            colour: hsv(hue, rng.uniform(0.75, 1.0), rng.uniform(0.75, 1.0)),
            center: (x + rng.uniform(-1.5, 1.5), y + rng.uniform(-1.5, 1.5)),
            radius: rng.uniform(5.5, 7.5),
        };
        draw_object(
            &spec,
            &mut rng,
            &mut set.pixels[i * IMAGE_BYTES..(i + 1) * IMAGE_BYTES],
        );
        set.captions.push(caption(shape, colour, place, template));
        set.shapes.push(shape);
        set.colours.push(colour);
        set.places.push(place);
    }
    set
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_caption_encodes_and_held_out_pairs_stay_out() {
        let set = generate(200, 1, Pairs::Seen, &[0, 1, 2, 3, 4, 5]);
        for i in 0..set.len() {
            assert!(!is_held_out(set.shapes[i], set.colours[i]));
            let tokens = encode(&set.captions[i]).expect("known words");
            assert_eq!(tokens.len(), CAPTION_TOKENS);
        }
        let held = generate(50, 2, Pairs::HeldOut, &[0]);
        assert!((0..held.len()).all(|i| is_held_out(held.shapes[i], held.colours[i])));
        assert_eq!(
            (0..5)
                .flat_map(|s| (0..6).map(move |c| (s, c)))
                .filter(|&(s, c)| is_held_out(s, c))
                .count(),
            6
        );
        assert_eq!(encode("a photo of a zebra"), None);
        assert_eq!(encode("red ring").unwrap()[..6], [0.0; 6]);
    }
}
