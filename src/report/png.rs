//! A PNG writer (and a matching reader for tests) with no compression library.
//!
//! A PNG file is an 8-byte signature followed by chunks; each chunk is
//! `length (4 bytes, big-endian) · type (4 ASCII letters) · data · CRC-32 of type and data`.
//! We write three chunks: `IHDR` (width, height, 8-bit RGB), `IDAT` (the pixels) and `IEND`.
//!
//! The pixels are a zlib stream: a 2-byte header, the data in DEFLATE format, and an Adler-32
//! checksum of the uncompressed data. DEFLATE allows "stored" blocks — raw bytes with a 5-byte header
//! (`final flag · LEN · !LEN`), at most 65,535 bytes each — so we need no compressor at all. Before
//! compression every image row is prefixed with a filter byte; 0 means "no filter".
//!
//! Used by chapters 1 (decision regions), 8 (edge filters) and 12 (a grid of test images).

use crate::error::{Error, Result};
use std::path::Path;

const SIGNATURE: [u8; 8] = [0x89, b'P', b'N', b'G', b'\r', b'\n', 0x1A, b'\n'];
const MAX_STORED_BLOCK: usize = 65_535;

/// The CRC-32 used by PNG (polynomial 0xEDB88320, reflected), computed bit by bit from a table.
pub fn crc32(bytes: &[u8]) -> u32 {
    static TABLE: std::sync::OnceLock<[u32; 256]> = std::sync::OnceLock::new();
    let table = TABLE.get_or_init(|| {
        let mut table = [0u32; 256];
        for (n, entry) in table.iter_mut().enumerate() {
            let mut c = n as u32;
            for _ in 0..8 {
                c = if c & 1 == 1 {
                    0xEDB8_8320 ^ (c >> 1)
                } else {
                    c >> 1
                };
            }
            *entry = c;
        }
        table
    });
    let mut crc = 0xFFFF_FFFFu32;
    for &b in bytes {
        crc = table[((crc ^ u32::from(b)) & 0xFF) as usize] ^ (crc >> 8);
    }
    crc ^ 0xFFFF_FFFF
}

/// The Adler-32 checksum used by zlib: two running sums modulo 65521.
pub fn adler32(bytes: &[u8]) -> u32 {
    const MOD: u32 = 65_521;
    let (mut a, mut b) = (1u32, 0u32);
    // 5552 is the largest run for which the sums cannot overflow 32 bits before the modulo.
    for chunk in bytes.chunks(5552) {
        for &x in chunk {
            a += u32::from(x);
            b += a;
        }
        a %= MOD;
        b %= MOD;
    }
    (b << 16) | a
}

fn push_chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let start = out.len();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let crc = crc32(&out[start..]);
    out.extend_from_slice(&crc.to_be_bytes());
}

/// Wraps `raw` in a zlib stream made of stored (uncompressed) DEFLATE blocks.
fn zlib_stored(raw: &[u8]) -> Vec<u8> {
    let blocks = raw.len().div_ceil(MAX_STORED_BLOCK).max(1);
    let mut out = Vec::with_capacity(raw.len() + 5 * blocks + 6);
    // CMF = 0x78 (deflate, 32 KiB window), FLG = 0x01 so that (CMF·256 + FLG) is a multiple of 31.
    out.extend_from_slice(&[0x78, 0x01]);
    let mut pieces = raw.chunks(MAX_STORED_BLOCK).peekable();
    if raw.is_empty() {
        out.extend_from_slice(&[1, 0, 0, 0xFF, 0xFF]);
    }
    while let Some(piece) = pieces.next() {
        let is_final = pieces.peek().is_none();
        out.push(u8::from(is_final)); // BFINAL bit, BTYPE = 00 (stored)
        let len = piece.len() as u16;
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(piece);
    }
    out.extend_from_slice(&adler32(raw).to_be_bytes());
    out
}

/// Encodes an 8-bit RGB image (`rgb.len() == width * height * 3`, rows top to bottom) as PNG bytes.
pub fn encode_rgb(width: usize, height: usize, rgb: &[u8]) -> Vec<u8> {
    assert_eq!(
        rgb.len(),
        width * height * 3,
        "png::encode_rgb: a {width}×{height} RGB image needs {} bytes, got {}",
        width * height * 3,
        rgb.len()
    );
    let mut raw = Vec::with_capacity(height * (1 + width * 3));
    for row in rgb.chunks(width * 3).take(height) {
        raw.push(0); // filter type 0: none
        raw.extend_from_slice(row);
    }
    let mut header = Vec::with_capacity(13);
    header.extend_from_slice(&(width as u32).to_be_bytes());
    header.extend_from_slice(&(height as u32).to_be_bytes());
    // bit depth 8, colour type 2 (RGB), compression 0, filter 0, no interlace
    header.extend_from_slice(&[8, 2, 0, 0, 0]);

    let mut out = SIGNATURE.to_vec();
    push_chunk(&mut out, b"IHDR", &header);
    push_chunk(&mut out, b"IDAT", &zlib_stored(&raw));
    push_chunk(&mut out, b"IEND", &[]);
    out
}

/// Writes an RGB image as a PNG file (atomically).
pub fn save_rgb(path: &Path, width: usize, height: usize, rgb: &[u8]) -> Result<()> {
    super::write_atomic(path, &encode_rgb(width, height, rgb))
}

/// Writes a grey-scale image given as floats: `values` (row-major, `width * height`) are mapped
/// linearly from `[low, high]` to black…white, clamped outside that range.
pub fn save_gray(
    path: &Path,
    width: usize,
    height: usize,
    values: &[f32],
    low: f32,
    high: f32,
) -> Result<()> {
    assert_eq!(
        values.len(),
        width * height,
        "png::save_gray: a {width}×{height} image needs {} values, got {}",
        width * height,
        values.len()
    );
    let span = if high > low { high - low } else { 1.0 };
    let rgb: Vec<u8> = values
        .iter()
        .flat_map(|&v| {
            let g = (((v - low) / span).clamp(0.0, 1.0) * 255.0).round() as u8;
            [g, g, g]
        })
        .collect();
    save_rgb(path, width, height, &rgb)
}

/// A decoded image: width, height and RGB bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct RgbImage {
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// `width * height * 3` bytes, rows top to bottom.
    pub rgb: Vec<u8>,
}

/// Reads back a PNG written by [`encode_rgb`], checking every CRC, the zlib header, the stored
/// blocks' lengths and the Adler-32 checksum. It only understands what this module writes (8-bit RGB,
/// stored blocks, filter 0): it exists so tests can prove the files are valid, not as a general reader.
pub fn decode_rgb(bytes: &[u8]) -> Result<RgbImage> {
    let bad = |message: String| Error::format("PNG", message);
    if bytes.len() < 8 || bytes[..8] != SIGNATURE {
        return Err(bad("missing the PNG signature".into()));
    }
    let mut pos = 8;
    let mut header = None;
    let mut idat = Vec::new();
    let mut seen_end = false;
    while pos < bytes.len() {
        if bytes.len() - pos < 12 {
            return Err(bad(format!("truncated chunk at byte {pos}")));
        }
        let len = u32::from_be_bytes(bytes[pos..pos + 4].try_into().expect("4 bytes")) as usize;
        if len > bytes.len() - pos - 12 {
            return Err(bad(format!(
                "chunk at byte {pos} claims {len} bytes, past the end of the file"
            )));
        }
        let kind = &bytes[pos + 4..pos + 8];
        let data = &bytes[pos + 8..pos + 8 + len];
        let stored_crc = u32::from_be_bytes(
            bytes[pos + 8 + len..pos + 12 + len]
                .try_into()
                .expect("4 bytes"),
        );
        if crc32(&bytes[pos + 4..pos + 8 + len]) != stored_crc {
            return Err(bad(format!(
                "CRC mismatch in chunk {}",
                String::from_utf8_lossy(kind)
            )));
        }
        match kind {
            b"IHDR" => {
                if len != 13 || data[8..13] != [8, 2, 0, 0, 0] {
                    return Err(bad("only 8-bit RGB without interlace is supported".into()));
                }
                let w = u32::from_be_bytes(data[0..4].try_into().expect("4 bytes")) as usize;
                let h = u32::from_be_bytes(data[4..8].try_into().expect("4 bytes")) as usize;
                header = Some((w, h));
            }
            b"IDAT" => idat.extend_from_slice(data),
            b"IEND" => seen_end = true,
            _ => {}
        }
        pos += 12 + len;
    }
    let (width, height) = header.ok_or_else(|| bad("no IHDR chunk".into()))?;
    if !seen_end {
        return Err(bad("no IEND chunk".into()));
    }
    if idat.len() < 6
        || idat[0] != 0x78
        || (u16::from(idat[0]) * 256 + u16::from(idat[1])) % 31 != 0
    {
        return Err(bad("bad zlib header".into()));
    }
    let mut raw = Vec::new();
    let mut p = 2;
    loop {
        if p + 5 > idat.len() {
            return Err(bad("truncated stored block".into()));
        }
        let block_header = idat[p];
        if block_header & 0b110 != 0 {
            return Err(bad("compressed DEFLATE blocks are not supported".into()));
        }
        let len = u16::from_le_bytes([idat[p + 1], idat[p + 2]]);
        let nlen = u16::from_le_bytes([idat[p + 3], idat[p + 4]]);
        if len != !nlen {
            return Err(bad("stored block LEN and NLEN disagree".into()));
        }
        let (start, end) = (p + 5, p + 5 + len as usize);
        if end > idat.len() {
            return Err(bad("stored block runs past the data".into()));
        }
        raw.extend_from_slice(&idat[start..end]);
        p = end;
        if block_header & 1 == 1 {
            break;
        }
    }
    if p + 4 != idat.len() {
        return Err(bad("missing or misplaced Adler-32 checksum".into()));
    }
    let stored_adler = u32::from_be_bytes(idat[p..p + 4].try_into().expect("4 bytes"));
    if adler32(&raw) != stored_adler {
        return Err(bad("Adler-32 mismatch".into()));
    }
    if raw.len() != height * (1 + width * 3) {
        return Err(bad(format!(
            "expected {} bytes of scanlines, found {}",
            height * (1 + width * 3),
            raw.len()
        )));
    }
    let mut rgb = Vec::with_capacity(width * height * 3);
    for row in raw.chunks(1 + width * 3) {
        if row[0] != 0 {
            return Err(bad(format!("unsupported filter type {}", row[0])));
        }
        rgb.extend_from_slice(&row[1..]);
    }
    Ok(RgbImage { width, height, rgb })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_checksums() {
        // Reference values: CRC-32 and Adler-32 of "123456789" and of "Wikipedia".
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(adler32(b"Wikipedia"), 0x11E6_0398);
    }
}
