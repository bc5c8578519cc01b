//! The Netpbm formats PGM (grey) and PPM (colour), the simplest picture files there are: a text
//! header, then the samples. Chapter 12's `--predict` reads them besides PNG.
//!
//! ```text
//! P6                 the magic: P5 binary grey, P6 binary RGB, P2 text grey, P3 text RGB
//! # a comment        (comments run from '#' to the end of the line, anywhere in the header)
//! 32 24              width and height
//! 255                the largest sample value, 1…65535
//! <samples>          binary: one byte per sample (two, big-endian, when the maximum is above 255),
//!                    rows top to bottom; text: decimal numbers separated by white space
//! ```
//!
//! Samples are scaled to 0–255 (`round(v · 255 / maximum)`). The size is checked against
//! [`super::MAX_PIXELS`] and against the bytes actually present before any allocation.
//!
//! What it leaves out: PBM bitmaps (P1, P4), PAM (P7), and several images in one file.

use super::Image;
use crate::error::{Error, Result};

/// Reads the next header number, skipping white space and comments; returns it and the position
/// after it.
fn number(bytes: &[u8], mut at: usize, what: &str, source: &str) -> Result<(u64, usize)> {
    loop {
        match bytes.get(at) {
            Some(b'#') => {
                while at < bytes.len() && bytes[at] != b'\n' && bytes[at] != b'\r' {
                    at += 1;
                }
            }
            Some(b) if b.is_ascii_whitespace() => at += 1,
            _ => break,
        }
    }
    let start = at;
    while at < bytes.len() && bytes[at].is_ascii_digit() && at - start < 12 {
        at += 1;
    }
    let digits = std::str::from_utf8(&bytes[start..at]).unwrap_or("");
    let value = digits.parse::<u64>().map_err(|_| {
        let found = bytes
            .get(start)
            .map_or("the end of the file".to_string(), |b| {
                format!("{:?}", char::from(*b))
            });
        Error::format(
            source,
            format!("expected the {what} (a whole number), found {found}"),
        )
    })?;
    Ok((value, at))
}

/// Decodes a PGM or PPM file (`P2`, `P3`, `P5`, `P6`) into 8-bit RGBA (alpha 255).
pub fn decode(bytes: &[u8], source: &str) -> Result<Image> {
    let bad = |message: String| Error::format(source, message);
    let (channels, binary) = match bytes.get(..2) {
        Some(b"P5") => (1, true),
        Some(b"P6") => (3, true),
        Some(b"P2") => (1, false),
        Some(b"P3") => (3, false),
        Some(b"P1") | Some(b"P4") => {
            return Err(bad(
                "a PBM bitmap (P1/P4) — only PGM (P2/P5) and PPM (P3/P6) are read; save it as PGM or PNG"
                    .into(),
            ));
        }
        _ => {
            return Err(bad(
                "not a PGM/PPM file (it must start with P2, P3, P5 or P6)".into(),
            ));
        }
    };
    let (width, at) = number(bytes, 2, "width", source)?;
    let (height, at) = number(bytes, at, "height", source)?;
    let (maximum, at) = number(bytes, at, "maximum sample value", source)?;
    if width == 0 || height == 0 {
        return Err(bad(format!("the header says {width}×{height} pixels")));
    }
    if width.saturating_mul(height) > super::MAX_PIXELS as u64 {
        return Err(bad(format!(
            "the header says {width}×{height} pixels, more than the {} this reader accepts; \
             resize the picture first",
            super::MAX_PIXELS
        )));
    }
    if !(1..=65535).contains(&maximum) {
        return Err(bad(format!(
            "the maximum sample value is {maximum}; it must be 1…65535"
        )));
    }
    let (width, height) = (width as usize, height as usize);
    let count = width * height * channels;
    let scale = |v: u64| -> Result<u8> {
        if v > maximum {
            return Err(bad(format!(
                "a sample of {v} is above the maximum {maximum}"
            )));
        }
        Ok(((v * 255 + maximum / 2) / maximum) as u8)
    };
    let mut samples = Vec::with_capacity(count.min(bytes.len()));
    if binary {
        // Exactly one white-space byte separates the header from the samples.
        if !bytes.get(at).is_some_and(u8::is_ascii_whitespace) {
            return Err(bad("no white space after the maximum sample value".into()));
        }
        let data = &bytes[at + 1..];
        let width_bytes = if maximum > 255 { 2 } else { 1 };
        if data.len() < count * width_bytes {
            return Err(bad(format!(
                "{width}×{height} pixels need {} bytes of samples, the file has {} (truncated?)",
                count * width_bytes,
                data.len()
            )));
        }
        for k in 0..count {
            let v = if width_bytes == 2 {
                u64::from(u16::from_be_bytes([data[2 * k], data[2 * k + 1]]))
            } else {
                u64::from(data[k])
            };
            samples.push(scale(v)?);
        }
    } else {
        let mut position = at;
        for k in 0..count {
            let (v, next) = number(bytes, position, &format!("sample {}", k + 1), source)?;
            samples.push(scale(v)?);
            position = next;
        }
    }
    let rgba = samples
        .chunks(channels)
        .flat_map(|s| match s {
            [g] => [*g, *g, *g, 255],
            _ => [s[0], s[1], s[2], 255],
        })
        .collect();
    Ok(Image {
        width,
        height,
        rgba,
    })
}
