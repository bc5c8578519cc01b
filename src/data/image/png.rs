//! A PNG decoder written from the specification (ISO/IEC 15948, the W3C PNG recommendation), for
//! chapter 12's `--predict` on the learner's own pictures. The writer is [`crate::report::png`];
//! both use its CRC-32 and Adler-32.
//!
//! A PNG file is an 8-byte signature and a list of chunks, each `length · type · data · CRC-32`:
//! - `IHDR` (first): width, height, bit depth, colour type (0 grey, 2 RGB, 3 palette, 4 grey +
//!   alpha, 6 RGBA), and the interlace method (0 none, 1 Adam7);
//! - `PLTE`: the palette (colour type 3); `tRNS`: transparency (palette alphas, or one transparent
//!   grey/RGB colour);
//! - `IDAT` (one or more, consecutive): together one zlib stream ([`super::inflate`]);
//! - `IEND` (last). Other chunks are ancillary (skipped) unless their type starts with a capital
//!   letter, which marks a chunk a decoder must understand: an unknown one is an error.
//!
//! Decompressed, the image is a sequence of scanlines, each one filter-type byte and the row's bytes.
//! A filter predicts each byte from its neighbours — `a` left (the same channel of the previous
//! pixel), `b` above, `c` above-left — and stores the difference (mod 256): 0 None, 1 Sub (`a`),
//! 2 Up (`b`), 3 Average (`⌊(a + b)/2⌋`), 4 Paeth (whichever of `a`, `b`, `c` is closest to
//! `a + b − c`). Decoding adds the prediction back, left to right, top to bottom. Samples narrower
//! than a byte (1, 2, 4 bits) are packed most significant bit first; 16-bit samples are big-endian.
//!
//! Adam7 interlacing stores seven reduced images (passes) one after the other, each filtered on its
//! own; pass p holds the pixels at `(x0 + i·dx, y0 + j·dy)` with (x0, y0, dx, dy) from
//! [`ADAM7`]. A pass with no pixels has no bytes at all.
//!
//! The output is 8-bit RGBA: grey is copied to red, green and blue; palette indices are looked up;
//! samples of 1, 2 and 4 bits are scaled to 0–255 (`v · 255 / (2^depth − 1)`); 16-bit samples keep
//! their high byte (what libpng's `strip_16` and Pillow do); alpha is 255 where the image has none,
//! or from `tRNS`. A classifier then uses red, green and blue and ignores alpha, like Pillow's
//! `convert("RGB")`.
//!
//! The input is hostile until proven otherwise: every chunk's CRC is checked, the header's values
//! are checked against the specification, the image may hold at most [`super::MAX_PIXELS`] pixels
//! (checked before anything is allocated: a 100000×100000 header is refused at once), the
//! decompressed data may not exceed what the header implies, and a damaged file is an error naming
//! the problem — never a panic.
//!
//! What it leaves out: colour management (`gAMA`, `iCCP`, `sRGB`, `cHRM` are skipped), APNG
//! animation (the first frame, the default image, is what is decoded), and the background colour.

use super::Image;
use super::inflate::zlib_decompress;
use crate::error::{Error, Result};
use crate::report::png::crc32;

/// The 8 bytes every PNG file starts with.
pub const SIGNATURE: [u8; 8] = [0x89, b'P', b'N', b'G', b'\r', b'\n', 0x1A, b'\n'];

/// The Adam7 passes: (first column, first row, column step, row step).
pub const ADAM7: [(usize, usize, usize, usize); 7] = [
    (0, 0, 8, 8),
    (4, 0, 8, 8),
    (0, 4, 4, 8),
    (2, 0, 4, 4),
    (0, 2, 2, 4),
    (1, 0, 2, 2),
    (0, 1, 1, 2),
];

/// What `IHDR` says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// Bits per sample: 1, 2, 4, 8 or 16.
    pub bit_depth: u8,
    /// 0 grey, 2 RGB, 3 palette, 4 grey + alpha, 6 RGBA.
    pub color_type: u8,
    /// True for Adam7 interlacing.
    pub interlaced: bool,
}

impl Header {
    /// Samples per pixel: 1 (grey, palette), 2 (grey + alpha), 3 (RGB), 4 (RGBA).
    pub fn channels(&self) -> usize {
        match self.color_type {
            0 | 3 => 1,
            4 => 2,
            2 => 3,
            _ => 4,
        }
    }

    /// Bytes of one scanline of `width` pixels, without the filter byte (rounded up to whole bytes).
    fn row_bytes(&self, width: usize) -> usize {
        (width * self.channels() * usize::from(self.bit_depth)).div_ceil(8)
    }

    /// The distance in bytes to "the same channel of the pixel to the left" (at least 1).
    fn filter_step(&self) -> usize {
        (self.channels() * usize::from(self.bit_depth)).div_ceil(8)
    }

    /// The passes as (x0, y0, dx, dy, pass width, pass height); one pass covering everything
    /// without interlacing.
    fn passes(&self) -> Vec<(usize, usize, usize, usize, usize, usize)> {
        if !self.interlaced {
            return vec![(0, 0, 1, 1, self.width, self.height)];
        }
        ADAM7
            .iter()
            .map(|&(x0, y0, dx, dy)| {
                let w = (self.width + dx - 1 - x0) / dx;
                let h = (self.height + dy - 1 - y0) / dy;
                (x0, y0, dx, dy, w, h)
            })
            .collect()
    }

    /// The decompressed size: every non-empty pass's rows, each with its filter byte.
    fn raw_bytes(&self) -> usize {
        self.passes()
            .iter()
            .filter(|p| p.4 > 0 && p.5 > 0)
            .map(|&(_, _, _, _, w, h)| h * (1 + self.row_bytes(w)))
            .sum()
    }
}

fn parse_header(data: &[u8], source: &str) -> Result<Header> {
    let bad = |message: String| Error::format(source, message);
    if data.len() != 13 {
        return Err(bad(format!(
            "the IHDR chunk has {} bytes, the specification says 13",
            data.len()
        )));
    }
    let number =
        |at: usize| u32::from_be_bytes([data[at], data[at + 1], data[at + 2], data[at + 3]]);
    let (width, height) = (number(0), number(4));
    let (bit_depth, color_type) = (data[8], data[9]);
    if width == 0 || height == 0 || width > i32::MAX as u32 || height > i32::MAX as u32 {
        return Err(bad(format!(
            "the header says {width}×{height} pixels; both must be between 1 and 2³¹ − 1"
        )));
    }
    let pixels = u64::from(width) * u64::from(height);
    if pixels > super::MAX_PIXELS as u64 {
        return Err(bad(format!(
            "the header says {width}×{height} = {pixels} pixels, more than the {} this reader \
             accepts (it would need gigabytes of memory); resize the picture first (32×32 is all \
             the model sees)",
            super::MAX_PIXELS
        )));
    }
    let allowed: &[u8] = match color_type {
        0 => &[1, 2, 4, 8, 16],
        2 | 4 | 6 => &[8, 16],
        3 => &[1, 2, 4, 8],
        other => {
            return Err(bad(format!(
                "colour type {other} does not exist (0 grey, 2 RGB, 3 palette, 4 grey + alpha, \
                 6 RGBA)"
            )));
        }
    };
    if !allowed.contains(&bit_depth) {
        return Err(bad(format!(
            "bit depth {bit_depth} is not allowed for colour type {color_type} (allowed: {allowed:?})"
        )));
    }
    if data[10] != 0 || data[11] != 0 {
        return Err(bad(format!(
            "compression method {} / filter method {} (PNG defines only 0 and 0)",
            data[10], data[11]
        )));
    }
    if data[12] > 1 {
        return Err(bad(format!(
            "interlace method {} (PNG defines 0 none and 1 Adam7)",
            data[12]
        )));
    }
    Ok(Header {
        width: width as usize,
        height: height as usize,
        bit_depth,
        color_type,
        interlaced: data[12] == 1,
    })
}

/// Reverses the filters of one pass in place: `rows` holds `height` scanlines of `1 + row_bytes`
/// bytes each (filter byte first); afterwards each scanline's bytes are the raw samples.
fn unfilter(rows: &mut [u8], row_bytes: usize, step: usize, source: &str) -> Result<()> {
    let stride = 1 + row_bytes;
    let mut previous: Option<usize> = None;
    for start in (0..rows.len()).step_by(stride) {
        let filter = rows[start];
        let (before, current) = rows.split_at_mut(start + 1);
        let current = &mut current[..row_bytes];
        let above: &[u8] = match previous {
            Some(p) => &before[p + 1..p + 1 + row_bytes],
            None => &[],
        };
        let up = |i: usize| above.get(i).copied().unwrap_or(0);
        match filter {
            0 => {}
            1 => {
                for i in step..row_bytes {
                    current[i] = current[i].wrapping_add(current[i - step]);
                }
            }
            2 => {
                for (i, byte) in current.iter_mut().enumerate() {
                    *byte = byte.wrapping_add(up(i));
                }
            }
            3 => {
                for i in 0..row_bytes {
                    let left = if i >= step { current[i - step] } else { 0 };
                    let average = ((u16::from(left) + u16::from(up(i))) / 2) as u8;
                    current[i] = current[i].wrapping_add(average);
                }
            }
            4 => {
                for i in 0..row_bytes {
                    let left = if i >= step { current[i - step] } else { 0 };
                    let upper_left = if i >= step { up(i - step) } else { 0 };
                    current[i] = current[i].wrapping_add(paeth(left, up(i), upper_left));
                }
            }
            other => {
                return Err(Error::format(
                    source,
                    format!("scanline filter type {other} does not exist (0–4 do; corrupt data)"),
                ));
            }
        }
        previous = Some(start);
    }
    Ok(())
}

/// The Paeth predictor: of left `a`, above `b` and above-left `c`, the one closest to `a + b − c`
/// (ties: a, then b).
fn paeth(a: u8, b: u8, c: u8) -> u8 {
    let estimate = i16::from(a) + i16::from(b) - i16::from(c);
    let (da, db, dc) = (
        (estimate - i16::from(a)).abs(),
        (estimate - i16::from(b)).abs(),
        (estimate - i16::from(c)).abs(),
    );
    if da <= db && da <= dc {
        a
    } else if db <= dc {
        b
    } else {
        c
    }
}

/// Sample `index` of an unfiltered scanline, as a number of `depth` bits.
fn sample(row: &[u8], index: usize, depth: u8) -> u16 {
    match depth {
        16 => u16::from_be_bytes([row[2 * index], row[2 * index + 1]]),
        8 => u16::from(row[index]),
        _ => {
            let depth = usize::from(depth);
            let bit = index * depth;
            let byte = row[bit / 8];
            let shift = 8 - depth - bit % 8;
            u16::from(byte >> shift) & ((1 << depth) - 1)
        }
    }
}

/// A sample of `depth` bits as 0–255.
fn to_8_bits(value: u16, depth: u8) -> u8 {
    match depth {
        16 => (value >> 8) as u8,
        8 => value as u8,
        _ => (u32::from(value) * 255 / ((1u32 << depth) - 1)) as u8,
    }
}

/// The palette and transparency chunks, as they apply to the pixels.
struct Colours {
    /// RGBA of each palette entry (alpha from `tRNS`, else 255).
    palette: Vec<[u8; 4]>,
    /// The transparent grey or RGB value (`tRNS` of colour types 0 and 2), in the file's depth.
    transparent: Option<[u16; 3]>,
}

/// Decodes PNG `bytes` (named `source` in errors) into 8-bit RGBA.
pub fn decode(bytes: &[u8], source: &str) -> Result<Image> {
    let bad = |message: String| Error::format(source, message);
    if bytes.len() < 8 || bytes[..8] != SIGNATURE {
        return Err(bad(
            "not a PNG file (the 8-byte PNG signature is missing)".into()
        ));
    }
    let mut position = 8;
    let mut header: Option<Header> = None;
    let mut colours = Colours {
        palette: Vec::new(),
        transparent: None,
    };
    let mut compressed: Vec<u8> = Vec::new();
    let mut idat_state = 0u8; // 0 before IDAT, 1 inside the run of IDATs, 2 after it
    loop {
        let Some(length_bytes) = bytes.get(position..position + 8) else {
            return Err(bad(format!(
                "the file ends at byte {} without an IEND chunk (truncated?)",
                bytes.len()
            )));
        };
        let length = u32::from_be_bytes([
            length_bytes[0],
            length_bytes[1],
            length_bytes[2],
            length_bytes[3],
        ]) as usize;
        let kind: [u8; 4] = [
            length_bytes[4],
            length_bytes[5],
            length_bytes[6],
            length_bytes[7],
        ];
        let name = String::from_utf8_lossy(&kind).into_owned();
        if length > i32::MAX as usize || bytes.len() - position - 8 < length + 4 {
            return Err(bad(format!(
                "chunk {name} at byte {position} claims {length} bytes, past the end of the file \
                 (truncated?)"
            )));
        }
        let data = &bytes[position + 8..position + 8 + length];
        let stored = &bytes[position + 8 + length..position + 12 + length];
        let stored_crc = u32::from_be_bytes([stored[0], stored[1], stored[2], stored[3]]);
        if crc32(&bytes[position + 4..position + 8 + length]) != stored_crc {
            return Err(bad(format!(
                "the CRC-32 of chunk {name} at byte {position} does not match (corrupt file)"
            )));
        }
        position += 12 + length;
        if header.is_none() && &kind != b"IHDR" {
            return Err(bad(format!("the first chunk is {name}, not IHDR")));
        }
        if idat_state == 1 && &kind != b"IDAT" {
            idat_state = 2;
        }
        match &kind {
            b"IHDR" => {
                if header.is_some() {
                    return Err(bad("a second IHDR chunk".into()));
                }
                header = Some(parse_header(data, source)?);
            }
            b"PLTE" => {
                if data.is_empty() || !data.len().is_multiple_of(3) || data.len() > 3 * 256 {
                    return Err(bad(format!(
                        "the PLTE chunk has {} bytes (1 to 256 RGB triples expected)",
                        data.len()
                    )));
                }
                colours.palette = data.chunks(3).map(|c| [c[0], c[1], c[2], 255]).collect();
            }
            b"tRNS" => apply_transparency(&mut colours, header, data, source)?,
            b"IDAT" => {
                if idat_state == 2 {
                    return Err(bad("IDAT chunks are not consecutive".into()));
                }
                idat_state = 1;
                compressed.extend_from_slice(data);
            }
            b"IEND" => break,
            _ if kind[0].is_ascii_uppercase() => {
                return Err(bad(format!(
                    "unknown critical chunk {name} (a decoder must understand it to show the image)"
                )));
            }
            _ => {}
        }
    }
    let header = header.ok_or_else(|| bad("no IHDR chunk".into()))?;
    if compressed.is_empty() {
        return Err(bad("no IDAT chunk: the file holds no pixels".into()));
    }
    if header.color_type == 3 && colours.palette.is_empty() {
        return Err(bad(
            "a palette image (colour type 3) without a PLTE chunk".into()
        ));
    }
    let expected = header.raw_bytes();
    let mut raw = zlib_decompress(&compressed, expected)
        .map_err(|message| bad(format!("the pixel data: {message}")))?;
    if raw.len() != expected {
        return Err(bad(format!(
            "the pixel data decompress to {} bytes, the header implies {expected} (truncated?)",
            raw.len()
        )));
    }
    pixels(&header, &colours, &mut raw, source)
}

/// Reads a `tRNS` chunk into `colours` (it must follow IHDR, and PLTE for palette images).
fn apply_transparency(
    colours: &mut Colours,
    header: Option<Header>,
    data: &[u8],
    source: &str,
) -> Result<()> {
    let bad = |message: String| Error::format(source, message);
    let Some(header) = header else {
        return Err(bad("tRNS before IHDR".into()));
    };
    let word = |i: usize| u16::from_be_bytes([data[2 * i], data[2 * i + 1]]);
    match header.color_type {
        3 => {
            if data.len() > colours.palette.len() {
                return Err(bad(format!(
                    "tRNS has {} alphas for a palette of {} colours",
                    data.len(),
                    colours.palette.len()
                )));
            }
            for (entry, &alpha) in colours.palette.iter_mut().zip(data) {
                entry[3] = alpha;
            }
        }
        0 if data.len() == 2 => colours.transparent = Some([word(0); 3]),
        2 if data.len() == 6 => colours.transparent = Some([word(0), word(1), word(2)]),
        0 | 2 => {
            return Err(bad(format!(
                "tRNS of {} bytes for colour type {}",
                data.len(),
                header.color_type
            )));
        }
        // Colour types with an alpha channel must not have tRNS; ignore it, as other decoders do.
        _ => {}
    }
    Ok(())
}

/// Unfilters every pass and writes its pixels, converted to RGBA, at their places.
fn pixels(header: &Header, colours: &Colours, raw: &mut [u8], source: &str) -> Result<Image> {
    let (width, height) = (header.width, header.height);
    let mut rgba = vec![0u8; width * height * 4];
    let channels = header.channels();
    let depth = header.bit_depth;
    let mut offset = 0;
    for (x0, y0, dx, dy, pass_width, pass_height) in header.passes() {
        if pass_width == 0 || pass_height == 0 {
            continue;
        }
        let row_bytes = header.row_bytes(pass_width);
        let size = pass_height * (1 + row_bytes);
        let pass = &mut raw[offset..offset + size];
        offset += size;
        unfilter(pass, row_bytes, header.filter_step(), source)?;
        for (j, row) in pass.chunks(1 + row_bytes).enumerate() {
            let row = &row[1..];
            for i in 0..pass_width {
                let (x, y) = (x0 + i * dx, y0 + j * dy);
                let values: [u16; 4] = std::array::from_fn(|c| {
                    if c < channels {
                        sample(row, i * channels + c, depth)
                    } else {
                        0
                    }
                });
                let pixel = to_rgba(header, colours, values).ok_or_else(|| {
                    Error::format(
                        source,
                        format!(
                            "pixel ({x}, {y}) uses palette entry {}, but the palette has {} colours",
                            values[0],
                            colours.palette.len()
                        ),
                    )
                })?;
                let at = (y * width + x) * 4;
                rgba[at..at + 4].copy_from_slice(&pixel);
            }
        }
    }
    Ok(Image {
        width,
        height,
        rgba,
    })
}

/// One pixel's samples (in the file's depth) as RGBA8; `None` for a palette index out of range.
fn to_rgba(header: &Header, colours: &Colours, v: [u16; 4]) -> Option<[u8; 4]> {
    let depth = header.bit_depth;
    let opaque_unless = |key: [u16; 3]| match colours.transparent {
        Some(t) if t == key => 0,
        _ => 255,
    };
    Some(match header.color_type {
        0 => {
            let g = to_8_bits(v[0], depth);
            [g, g, g, opaque_unless([v[0]; 3])]
        }
        2 => [
            to_8_bits(v[0], depth),
            to_8_bits(v[1], depth),
            to_8_bits(v[2], depth),
            opaque_unless([v[0], v[1], v[2]]),
        ],
        3 => *colours.palette.get(usize::from(v[0]))?,
        4 => {
            let g = to_8_bits(v[0], depth);
            [g, g, g, to_8_bits(v[1], depth)]
        }
        _ => [
            to_8_bits(v[0], depth),
            to_8_bits(v[1], depth),
            to_8_bits(v[2], depth),
            to_8_bits(v[3], depth),
        ],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paeth_prefers_left_then_above() {
        assert_eq!(paeth(10, 20, 10), 20); // estimate 20: above is exact
        assert_eq!(paeth(20, 10, 10), 20); // estimate 20: left is exact
        assert_eq!(paeth(5, 5, 5), 5);
        assert_eq!(paeth(0, 255, 255), 0);
    }

    #[test]
    fn packed_samples_are_read_most_significant_bit_first() {
        let row = [0b1011_0010, 0b0100_0000];
        let bits: Vec<u16> = (0..9).map(|i| sample(&row, i, 1)).collect();
        assert_eq!(bits, [1, 0, 1, 1, 0, 0, 1, 0, 0]);
        assert_eq!(sample(&row, 1, 4), 0b0010);
        assert_eq!(sample(&row, 1, 2), 0b11);
        assert_eq!(sample(&row, 3, 2), 0b10);
        assert_eq!(to_8_bits(3, 2), 255);
        assert_eq!(to_8_bits(1, 2), 85);
        assert_eq!(to_8_bits(0xABCD, 16), 0xAB);
    }

    #[test]
    fn adam7_passes_cover_every_pixel_once() {
        for (w, h) in [(1, 1), (3, 2), (8, 8), (13, 7)] {
            let header = Header {
                width: w,
                height: h,
                bit_depth: 8,
                color_type: 0,
                interlaced: true,
            };
            let mut seen = vec![0; w * h];
            for (x0, y0, dx, dy, pw, ph) in header.passes() {
                for j in 0..ph {
                    for i in 0..pw {
                        seen[(y0 + j * dy) * w + x0 + i * dx] += 1;
                    }
                }
            }
            assert!(seen.iter().all(|&s| s == 1), "{w}×{h}: {seen:?}");
        }
    }
}
