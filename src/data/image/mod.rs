//! Reading the learner's own pictures (chapter 12's `--predict`): PNG ([`png`], with its own
//! DEFLATE decoder, [`inflate`]) and PGM/PPM ([`pnm`]), decoded to 8-bit RGBA, and resizing to the
//! size a model was trained on ([`Image::resize`]).
//!
//! [`read`] looks at a file's first bytes, not its name, to pick the decoder, and explains what to
//! do with a format it does not read (JPEG, GIF, …). Every decoder treats its input as hostile:
//! sizes are checked against [`MAX_PIXELS`] before anything is allocated, and a damaged file is an
//! [`Error`], never a panic.
//!
//! What it leaves out: JPEG, GIF, BMP, WebP (convert them to PNG first), colour profiles, and
//! keeping the aspect ratio when resizing (a picture is stretched to the target size, as
//! `torchvision.transforms.Resize((32, 32))` does).

pub mod inflate;
pub mod png;
pub mod pnm;

use crate::error::{Error, Result};
use std::path::Path;

/// The most pixels an image may have (40 million, e.g. 7746 × 5164): enough for a camera's photo,
/// and a bound on memory (at most about 12 bytes a pixel while decoding) whatever a header claims.
pub const MAX_PIXELS: usize = 40_000_000;

/// The largest image file [`read`] opens (256 MiB).
pub const MAX_FILE_BYTES: u64 = 256 << 20;

/// A decoded picture: 8-bit RGBA, rows top to bottom.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Image {
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// `width · height · 4` bytes: red, green, blue, alpha of each pixel (alpha 255 = opaque).
    pub rgba: Vec<u8>,
}

impl Image {
    /// The image stretched to `width`×`height` (both ≥ 1), each axis on its own: when an axis
    /// shrinks, each output pixel is the average of the input area it covers (partly covered
    /// pixels weighted by the part); when it grows, the two nearest input pixels are interpolated
    /// linearly (pixel centres aligned). Values are rounded back to bytes. Alpha is resized too.
    pub fn resize(&self, width: usize, height: usize) -> Image {
        assert!(width > 0 && height > 0, "Image::resize to {width}×{height}");
        let columns = resampling_weights(self.width, width);
        let rows = resampling_weights(self.height, height);
        // Horizontally first: [source height, width, 4].
        let mut horizontal = vec![0.0f64; self.height * width * 4];
        for y in 0..self.height {
            let source = &self.rgba[y * self.width * 4..(y + 1) * self.width * 4];
            for (x, weights) in columns.iter().enumerate() {
                let out = &mut horizontal[(y * width + x) * 4..(y * width + x) * 4 + 4];
                for &(i, w) in weights {
                    for c in 0..4 {
                        out[c] += w * f64::from(source[i * 4 + c]);
                    }
                }
            }
        }
        let mut rgba = vec![0u8; width * height * 4];
        for (y, weights) in rows.iter().enumerate() {
            for x in 0..width {
                for c in 0..4 {
                    let value: f64 = weights
                        .iter()
                        .map(|&(j, w)| w * horizontal[(j * width + x) * 4 + c])
                        .sum();
                    rgba[(y * width + x) * 4 + c] = value.round().clamp(0.0, 255.0) as u8;
                }
            }
        }
        Image {
            width,
            height,
            rgba,
        }
    }

    /// Red, green and blue as planes `[3, height, width]` (CIFAR-10's layout), alpha dropped.
    pub fn planar_rgb(&self) -> Vec<u8> {
        let pixels = self.width * self.height;
        let mut planes = vec![0u8; 3 * pixels];
        for (p, pixel) in self.rgba.chunks_exact(4).enumerate() {
            for c in 0..3 {
                planes[c * pixels + p] = pixel[c];
            }
        }
        planes
    }

    /// True when some pixel is not fully opaque.
    pub fn has_transparency(&self) -> bool {
        self.rgba.chunks_exact(4).any(|p| p[3] != 255)
    }
}

/// For each of `target` output positions, the input positions and weights (summing to 1) that make
/// it: area averaging when shrinking (or keeping the size), linear interpolation when growing.
fn resampling_weights(source: usize, target: usize) -> Vec<Vec<(usize, f64)>> {
    let scale = source as f64 / target as f64;
    (0..target)
        .map(|i| {
            if target <= source {
                let (start, end) = (i as f64 * scale, (i + 1) as f64 * scale);
                let first = start.floor() as usize;
                let last = (end.ceil() as usize).min(source);
                (first..last)
                    .map(|j| {
                        let covered = end.min(j as f64 + 1.0) - start.max(j as f64);
                        (j, covered / scale)
                    })
                    .filter(|&(_, w)| w > 0.0)
                    .collect()
            } else {
                let centre = ((i as f64 + 0.5) * scale - 0.5).clamp(0.0, (source - 1) as f64);
                let left = centre.floor() as usize;
                let right = (left + 1).min(source - 1);
                let t = centre - left as f64;
                if right == left || t == 0.0 {
                    vec![(left, 1.0)]
                } else {
                    vec![(left, 1.0 - t), (right, t)]
                }
            }
        })
        .collect()
}

/// Decodes image `bytes` (PNG, PGM or PPM, recognised by their first bytes); `source` names the
/// file in errors.
pub fn decode(bytes: &[u8], source: &str) -> Result<Image> {
    if bytes.starts_with(&png::SIGNATURE) {
        return png::decode(bytes, source);
    }
    if bytes.len() >= 2 && bytes[0] == b'P' && (b'1'..=b'7').contains(&bytes[1]) {
        return pnm::decode(bytes, source);
    }
    let what = if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        "a JPEG file"
    } else if bytes.starts_with(b"GIF8") {
        "a GIF file"
    } else if bytes.starts_with(b"BM") {
        "a BMP file"
    } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        "a WebP file"
    } else {
        "not a picture this program reads"
    };
    Err(Error::format(
        source,
        format!(
            "{what}: only PNG, PGM and PPM are read. Convert it first, e.g. \
             `python3 -c \"from PIL import Image; Image.open('in.jpg').save('out.png')\"` or \
             `convert in.jpg out.png` (ImageMagick)"
        ),
    ))
}

/// Reads and decodes an image file: a regular file of at most [`MAX_FILE_BYTES`].
pub fn read(path: &Path) -> Result<Image> {
    let io = |e| Error::io(path, e, "could not read the picture (does the file exist?)");
    let info = std::fs::metadata(path).map_err(io)?;
    if !info.is_file() {
        return Err(Error::data(format!(
            "{} is not a regular file (a folder, a device or a pipe?): give the path of a PNG, \
             PGM or PPM file",
            path.display()
        )));
    }
    if info.len() > MAX_FILE_BYTES {
        return Err(Error::format(
            path.display().to_string(),
            format!(
                "{} bytes, more than the {MAX_FILE_BYTES} a picture may have here",
                info.len()
            ),
        ));
    }
    let bytes = std::fs::read(path).map_err(io)?;
    decode(&bytes, &path.display().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_sum_to_one_and_keep_the_size_exactly() {
        for (source, target) in [(100, 32), (7, 3), (3, 7), (32, 32), (1, 5), (5, 1)] {
            for weights in resampling_weights(source, target) {
                let sum: f64 = weights.iter().map(|w| w.1).sum();
                assert!((sum - 1.0).abs() < 1e-12, "{source}→{target}: {weights:?}");
            }
        }
        let same = resampling_weights(4, 4);
        assert!(same.iter().enumerate().all(|(i, w)| w == &vec![(i, 1.0)]));
    }

    #[test]
    fn shrinking_averages_areas() {
        // 4×1 → 2×1: pairs averaged; 3×1 → 2×1: (a + b/2)/1.5 and (b/2 + c)/1.5.
        let image = Image {
            width: 3,
            height: 1,
            rgba: vec![0, 0, 0, 255, 90, 90, 90, 255, 180, 180, 180, 255],
        };
        let small = image.resize(2, 1);
        assert_eq!(small.rgba, vec![30, 30, 30, 255, 150, 150, 150, 255]);
    }
}
