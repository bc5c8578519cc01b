//! A generated stand-in for CIFAR-10 (chapter 12), for machines without the real dataset.
//!
//! Ten classes of 32×32 colour pictures — five shapes and five textures — drawn with a random
//! position, size, rotation, foreground and background colour, a background gradient, a small
//! distracting blob and pixel noise:
//!
//! | label | class | what is drawn |
//! |---|---|---|
//! | 0 | `disk` | a filled circle |
//! | 1 | `ring` | a circle outline |
//! | 2 | `square` | a filled square, rotated |
//! | 3 | `triangle` | a filled equilateral triangle, rotated |
//! | 4 | `cross` | a plus sign, slightly rotated |
//! | 5 | `horizontal_stripes` | a patch (round or square) of horizontal stripes |
//! | 6 | `vertical_stripes` | a patch of vertical stripes |
//! | 7 | `checkerboard` | a patch of checks |
//! | 8 | `dots` | a patch of polka dots |
//! | 9 | `diagonal_stripes` | a patch of stripes at ±45° |
//!
//! The shape classes differ by outline, the texture classes by pattern (their patch outline is random),
//! so a network must learn both; at small sizes a disk and a square, or stripes of a short period, are
//! genuinely hard to tell apart, so a LeNet learns this set well but not perfectly.
//!
//! Like real photos (skies behind airplanes, green behind frogs), colour is a weak hint: in 60 % of its
//! pictures a class's foreground has a hue near the class's own (label × 36° on the colour wheel), in
//! the rest any colour. Without that hint the tutorial's recipe (SGD, learning rate 0.001) stayed at
//! chance for three epochs on this set — in PyTorch too — before shapes started to be learned.
//!
//! Everything is determined by a seed: image `i` is drawn by its own generator seeded from
//! `(seed, i)`, so images can be drawn in parallel and are the same for any thread count. [`ensure`]
//! writes the set to a folder in the official binary layout ([`super::cifar10`]) on first use, with a
//! `STANDIN.txt` marker saying what is there; later runs find the marker and read the files back
//! through the same loader as the real data.
//!
//! What it leaves out: anything resembling real photographs — accuracies on the stand-in say nothing
//! about accuracies on CIFAR-10.

use super::cifar10::{self, CLASSES, IMAGE_BYTES, ImageSet, SIDE};
use crate::error::{Error, Result};
use crate::parallel;
use crate::probability::Rng;
use std::f32::consts::PI;
use std::path::{Path, PathBuf};

/// The class names of the stand-in, in label order (written to its `batches.meta.txt`).
pub const CLASS_NAMES: [&str; CLASSES] = [
    "disk",
    "ring",
    "square",
    "triangle",
    "cross",
    "horizontal_stripes",
    "vertical_stripes",
    "checkerboard",
    "dots",
    "diagonal_stripes",
];

/// The name of the marker file that identifies a generated folder.
pub const MARKER_FILE: &str = "STANDIN.txt";

/// Bumped whenever the drawing changes, so old folders are regenerated instead of reused.
const GENERATOR_VERSION: u32 = 3;

/// How many images a stand-in holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StandinSize {
    /// Training images (split over the five training files).
    pub train: usize,
    /// Test images.
    pub test: usize,
}

impl StandinSize {
    /// As many images as CIFAR-10: 50,000 training and 10,000 test images (≈ 184 MB on disk).
    pub const FULL: StandinSize = StandinSize {
        train: 50_000,
        test: 10_000,
    };
    /// A small set for quick runs and the tour: 2,500 training and 1,000 test images (≈ 11 MB).
    pub const QUICK: StandinSize = StandinSize {
        train: 2_500,
        test: 1_000,
    };
}

/// The default folder of a stand-in, relative to the working directory: `out/datasets/cifar10-standin`
/// for [`StandinSize::FULL`], `out/datasets/cifar10-standin-<train>-<test>` for other sizes.
pub fn default_dir(size: StandinSize) -> PathBuf {
    let name = if size == StandinSize::FULL {
        "cifar10-standin".to_string()
    } else {
        format!("cifar10-standin-{}-{}", size.train, size.test)
    };
    Path::new("out").join("datasets").join(name)
}

/// The random choices that make one picture.
struct Scene {
    foreground: [f32; 3],
    background: [f32; 3],
    /// Background brightness change per pixel along x and y.
    gradient: (f32, f32),
    center: (f32, f32),
    radius: f32,
    /// Rotation of the shape: `(sin, cos)` of its angle (computed once, not per pixel).
    rotation: (f32, f32),
    /// The small rotation of the cross, `(sin, cos)`.
    cross_rotation: (f32, f32),
    /// Outward normals of the triangle's three edges.
    triangle_normals: [(f32, f32); 3],
    /// Texture patch outline: round (true) or square.
    round_patch: bool,
    /// Texture period in pixels and phase.
    period: f32,
    phase: f32,
    /// For diagonal stripes: which diagonal.
    rising: bool,
    /// A small blob of another colour: centre, radius, colour.
    distractor: Option<((f32, f32), f32, [f32; 3])>,
    noise_std: f32,
}

fn random_colour(rng: &mut Rng) -> [f32; 3] {
    [
        rng.uniform(0.0, 255.0),
        rng.uniform(0.0, 255.0),
        rng.uniform(0.0, 255.0),
    ]
}

fn colour_distance(a: [f32; 3], b: [f32; 3]) -> f32 {
    a.iter()
        .zip(&b)
        .map(|(x, y)| (x - y) * (x - y))
        .sum::<f32>()
        .sqrt()
}

/// The colours a picture is drawn with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Palette {
    /// Any colours, at least 90 apart in RGB (the CIFAR-10 stand-in).
    Colour,
    /// Grey levels at least 60 apart, so that the picture survives conversion to one channel
    /// (chapter 8's one-channel model; in colour, two hues can have the same brightness).
    Grey,
}

fn random_grey(rng: &mut Rng) -> [f32; 3] {
    [rng.uniform(0.0, 255.0); 3]
}

/// The RGB colour (0…255) of hue `h` (degrees), saturation and value in [0, 1].
fn hsv(h: f32, s: f32, v: f32) -> [f32; 3] {
    let h = h.rem_euclid(360.0) / 60.0;
    let c = v * s;
    let x = c * (1.0 - (h % 2.0 - 1.0).abs());
    let (r, g, b) = match h as u32 {
        0 => (c, x, 0.0),
        1 => (x, c, 0.0),
        2 => (0.0, c, x),
        3 => (0.0, x, c),
        4 => (x, 0.0, c),
        _ => (c, 0.0, x),
    };
    let m = v - c;
    [(r + m) * 255.0, (g + m) * 255.0, (b + m) * 255.0]
}

/// A foreground colour for class `class`: with probability 0.6 a hue within ±18° of the class's own
/// (class × 36°), fairly saturated and bright; otherwise any colour.
fn class_colour(class: usize, rng: &mut Rng) -> [f32; 3] {
    if rng.bernoulli(0.6) {
        let hue = class as f32 * 36.0 + rng.uniform(-18.0, 18.0);
        hsv(hue, rng.uniform(0.5, 1.0), rng.uniform(0.5, 1.0))
    } else {
        random_colour(rng)
    }
}

impl Scene {
    fn random(class: usize, rng: &mut Rng, palette: Palette) -> Scene {
        let (pick, min_distance): (fn(&mut Rng) -> [f32; 3], f32) = match palette {
            Palette::Colour => (random_colour, 90.0),
            // Three equal channels: an RGB distance of 104 is a grey-level difference of 60.
            Palette::Grey => (random_grey, 104.0),
        };
        let foreground = match palette {
            Palette::Colour => class_colour(class, rng),
            Palette::Grey => pick(rng),
        };
        // Enough contrast to be visible, otherwise any colours.
        let mut background = pick(rng);
        while colour_distance(foreground, background) < min_distance {
            background = pick(rng);
        }
        let radius = rng.uniform(6.0, 13.0);
        // The centre may put part of the object outside the picture, as photos crop objects.
        let margin = radius * 0.7;
        let side = SIDE as f32;
        let center = (
            rng.uniform(margin, side - margin),
            rng.uniform(margin, side - margin),
        );
        let distractor = rng.bernoulli(0.5).then(|| {
            (
                (rng.uniform(0.0, side), rng.uniform(0.0, side)),
                rng.uniform(1.5, 3.0),
                pick(rng),
            )
        });
        let angle = rng.uniform(0.0, 2.0 * PI);
        let triangle_normals = [0.0f32, 1.0, 2.0].map(|k| {
            let normal = angle + PI / 3.0 + k * 2.0 * PI / 3.0;
            (normal.cos(), normal.sin())
        });
        Scene {
            foreground,
            background,
            gradient: (rng.uniform(-2.0, 2.0), rng.uniform(-2.0, 2.0)),
            center,
            radius,
            rotation: angle.sin_cos(),
            cross_rotation: ((angle - PI) * 0.1).sin_cos(),
            triangle_normals,
            round_patch: rng.bernoulli(0.5),
            period: rng.uniform(3.0, 6.0),
            phase: rng.uniform(0.0, 6.0),
            rising: rng.bernoulli(0.5),
            distractor,
            noise_std: rng.uniform(4.0, 20.0),
        }
    }

    /// Whether the point `(x, y)` (pixel units) belongs to the object of class `class`.
    fn inside(&self, class: usize, x: f32, y: f32) -> bool {
        let (dx, dy) = (x - self.center.0, y - self.center.1);
        let r = self.radius;
        // Coordinates in the object's own rotated frame.
        let rotate = |(s, c): (f32, f32)| (c * dx + s * dy, -s * dx + c * dy);
        match class {
            0 => dx * dx + dy * dy <= r * r,
            1 => {
                let d2 = dx * dx + dy * dy;
                d2 <= r * r && d2 >= (0.55 * r) * (0.55 * r)
            }
            2 => {
                let (u, v) = rotate(self.rotation);
                u.abs().max(v.abs()) <= 0.75 * r
            }
            3 => {
                // Inside an equilateral triangle of circumradius r: within r/2 of the centre along
                // each of the three outward edge normals.
                self.triangle_normals
                    .iter()
                    .all(|&(nx, ny)| dx * nx + dy * ny <= 0.5 * r)
            }
            4 => {
                let (u, v) = rotate(self.cross_rotation);
                let arm = 0.28 * r;
                (u.abs() <= arm && v.abs() <= r) || (v.abs() <= arm && u.abs() <= r)
            }
            _ => self.in_patch(dx, dy) && self.texture(class, x, y),
        }
    }

    /// The outline of a texture patch (a disk or an axis-aligned square).
    fn in_patch(&self, dx: f32, dy: f32) -> bool {
        let r = self.radius;
        if self.round_patch {
            dx * dx + dy * dy <= r * r
        } else {
            dx.abs().max(dy.abs()) <= 0.85 * r
        }
    }

    /// Whether the texture of class 5…9 is "on" at `(x, y)`.
    fn texture(&self, class: usize, x: f32, y: f32) -> bool {
        let p = self.period;
        let band = |t: f32| (t / p).rem_euclid(2.0) < 1.0;
        match class {
            5 => band(y + self.phase),
            6 => band(x + self.phase),
            7 => band(x + self.phase) != band(y + self.phase),
            8 => {
                // The nearest point of a square grid of spacing p + 1, within 30 % of it.
                let spacing = p + 1.0;
                let fx = (x + self.phase).rem_euclid(spacing) - spacing / 2.0;
                let fy = (y + self.phase).rem_euclid(spacing) - spacing / 2.0;
                fx * fx + fy * fy <= (0.3 * spacing) * (0.3 * spacing)
            }
            _ => {
                // Stripes along a diagonal: the distance across them is (x ± y)/√2.
                let across = if self.rising { x + y } else { x - y };
                band(across / std::f32::consts::SQRT_2 + self.phase)
            }
        }
    }
}

/// Noise with mean 0 and standard deviation 1, cheaply: the sum of two uniforms on [0, 1) minus 1 has
/// a triangular density on (−1, 1) and variance 1/6, so it is scaled by √6. (Drawing a Gaussian for
/// each of the 184 million pixel values of the full set took most of the generation time.)
fn triangular_noise(rng: &mut Rng) -> f32 {
    let bits = rng.next_u64();
    let u1 = (bits >> 40) as f32 / (1u64 << 24) as f32;
    let u2 = ((bits >> 8) & 0xff_ffff) as f32 / (1u64 << 24) as f32;
    (u1 + u2 - 1.0) * 6f32.sqrt()
}

/// Draws one picture of class `class` (0…9) into `out` (3,072 bytes: red, green, blue planes).
pub fn draw(class: usize, palette: Palette, rng: &mut Rng, out: &mut [u8]) {
    assert!(class < CLASSES, "draw: class {class} is not in 0…9");
    assert_eq!(out.len(), IMAGE_BYTES, "draw: needs a 3072-byte buffer");
    let scene = Scene::random(class, rng, palette);
    // Grey pictures get the same noise in every channel, so that they stay grey.
    let same_noise = palette == Palette::Grey;
    let plane = SIDE * SIDE;
    for y in 0..SIDE {
        for x in 0..SIDE {
            // Shapes are anti-aliased with 2×2 samples per pixel; textures are sampled once.
            let coverage = if class < 5 {
                let mut hits = 0;
                for (sx, sy) in [(0.25, 0.25), (0.75, 0.25), (0.25, 0.75), (0.75, 0.75)] {
                    hits += usize::from(scene.inside(class, x as f32 + sx, y as f32 + sy));
                }
                hits as f32 / 4.0
            } else {
                f32::from(u8::from(scene.inside(
                    class,
                    x as f32 + 0.5,
                    y as f32 + 0.5,
                )))
            };
            let shade = scene.gradient.0 * (x as f32 - 16.0) + scene.gradient.1 * (y as f32 - 16.0);
            let blob = scene.distractor.and_then(|((bx, by), radius, colour)| {
                let (dx, dy) = (x as f32 + 0.5 - bx, y as f32 + 0.5 - by);
                (dx * dx + dy * dy <= radius * radius).then_some(colour)
            });
            let shared_noise = scene.noise_std * triangular_noise(rng);
            for channel in 0..3 {
                let background = blob.map_or(scene.background[channel] + shade, |c| c[channel]);
                let noise = if same_noise || channel == 0 {
                    shared_noise
                } else {
                    scene.noise_std * triangular_noise(rng)
                };
                let value =
                    background * (1.0 - coverage) + scene.foreground[channel] * coverage + noise;
                out[channel * plane + y * SIDE + x] = value.round().clamp(0.0, 255.0) as u8;
            }
        }
    }
}

/// The labels of a set of `count` pictures: `i % 10` for picture `i`, then a shuffle seeded by `seed`.
fn shuffled_labels(count: usize, seed: u64) -> Vec<u8> {
    let mut labels: Vec<u8> = (0..count).map(|i| (i % CLASSES) as u8).collect();
    Rng::new(seed).shuffle(&mut labels);
    labels
}

/// The generator of picture `i`: each picture has its own, so no picture depends on which thread
/// drew the ones before it.
fn picture_rng(seed: u64, i: usize) -> Rng {
    Rng::new(seed ^ (i as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15))
}

/// `count` colour pictures, the classes balanced (label `i % 10` before a seeded shuffle), drawn in
/// parallel; the same for every thread count.
pub fn generate(count: usize, seed: u64) -> ImageSet {
    generate_with(count, seed, Palette::Colour)
}

/// [`generate`] with a choice of [`Palette`].
pub fn generate_with(count: usize, seed: u64, palette: Palette) -> ImageSet {
    let labels = shuffled_labels(count, seed);
    let mut pixels = vec![0u8; crate::tensor::size_product(&[count, IMAGE_BYTES], "generate")];
    if count > 0 {
        let labels = &labels;
        parallel::for_each_chunk_mut(&mut pixels, 256 * IMAGE_BYTES, |chunk, bytes| {
            for (j, image) in bytes.chunks_exact_mut(IMAGE_BYTES).enumerate() {
                let i = chunk * 256 + j;
                draw(
                    usize::from(labels[i]),
                    palette,
                    &mut picture_rng(seed, i),
                    image,
                );
            }
        });
    }
    ImageSet::new(pixels, labels)
}

/// The seed of the test pictures, derived from the stand-in's seed.
fn test_seed(seed: u64) -> u64 {
    seed ^ 0x7e57_7e57
}

/// The first record (label byte, then 3,072 pixel bytes) of `data_batch_1.bin` in the stand-in of
/// this size and seed: a fingerprint that tells our files from anyone else's (no photograph has
/// these exact 3,073 bytes).
fn first_record(size: StandinSize, seed: u64) -> Vec<u8> {
    let label = shuffled_labels(size.train, seed)[0];
    let mut record = vec![label; 1 + IMAGE_BYTES];
    draw(
        usize::from(label),
        Palette::Colour,
        &mut picture_rng(seed, 0),
        &mut record[1..],
    );
    record
}

/// What the marker file of a stand-in with this size and seed says.
fn marker_text(size: StandinSize, seed: u64) -> String {
    format!(
        "{MARKER_FIRST_LINE}\ngenerator version {GENERATOR_VERSION}\nseed {seed}\ntrain images {}\n\
         test images {}\n",
        size.train, size.test
    )
}

/// The first line of every stand-in marker, whatever its version: how an older stand-in is
/// recognised as ours.
const MARKER_FIRST_LINE: &str =
    "dlfs CIFAR-10 stand-in (generated pictures of shapes and textures, not CIFAR-10)";

/// True when `dir` holds a stand-in of ours: a marker of any version, or (an older run killed before
/// it wrote the marker) a `data_batch_1.bin` that starts with the record this generator draws first.
fn is_ours(dir: &Path, size: StandinSize, seed: u64) -> bool {
    if super::standin::read_marker(dir, MARKER_FILE)
        .is_some_and(|text| text.starts_with(MARKER_FIRST_LINE))
    {
        return true;
    }
    let first_file = dir.join(cifar10::TRAIN_FILES[0]);
    let Ok((file, _)) = crate::input::open(&first_file, &cifar10::BATCH_FILE) else {
        return false;
    };
    let mut start = Vec::with_capacity(1 + IMAGE_BYTES);
    use std::io::Read;
    if file
        .take((1 + IMAGE_BYTES) as u64)
        .read_to_end(&mut start)
        .is_err()
    {
        return false;
    }
    start.len() == 1 + IMAGE_BYTES && start == first_record(size, seed)
}

/// Makes sure `dir` holds the stand-in of this size and seed, generating and writing it if it does
/// not. Returns `true` when it wrote the files, `false` when they were already there.
///
/// The files are written into a temporary folder, the marker last, and renamed into place (see
/// [`super::standin`]): an interrupted run leaves no half-written folder, and the next run
/// regenerates. A folder that holds CIFAR-10 files without our marker or fingerprint — which may be
/// the real dataset — is never overwritten: that is an error.
pub fn ensure(dir: &Path, size: StandinSize, seed: u64) -> Result<bool> {
    let wanted = marker_text(size, seed);
    let complete = |dir: &Path| {
        cifar10::expected_files()
            .iter()
            .all(|name| dir.join(name).is_file())
    };
    let ours = |dir: &Path| is_ours(dir, size, seed);
    super::standin::ensure_generated(
        dir,
        MARKER_FILE,
        &wanted,
        &complete,
        &ours,
        &mut |temporary| {
            let train = generate(size.train, seed);
            let test = generate(size.test, test_seed(seed));
            cifar10::write_dataset(temporary, &train, &test, &CLASS_NAMES)
        },
    )
    .map_err(|e| match e {
        Error::Data(message) => Error::data(format!(
            "{message} (the CIFAR-10 stand-in is written to --standin DIR, default {})",
            default_dir(size).display()
        )),
        other => other,
    })
}
