//! The picture readers of chapter 12's `--predict`: the PNG decoder (with its own inflate), PGM/PPM,
//! and resizing.
//!
//! - Every fixture in `tests/fixtures/images/` — written by Pillow and by an independent Python
//!   writer (`make_fixtures.py`): all colour types and bit depths, Adam7, the five filters, stored /
//!   fixed / dynamic DEFLATE blocks, several IDAT chunks, tRNS; binary and text PGM/PPM — decodes to
//!   exactly the RGBA bytes Pillow decodes.
//! - Damaged input is an error, never a panic: every truncation of every fixture, random byte flips
//!   (with the chunk CRCs recomputed, so that the inflater and the unfilter see the damage), a
//!   header claiming 100000×100000 pixels (refused before any allocation), a stream that inflates
//!   beyond what the header implies.

use dlfs::data::image::{self, Image, MAX_PIXELS};
use dlfs::probability::Rng;
use dlfs::report::png::crc32;
use std::path::{Path, PathBuf};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/images")
}

/// (file name, width, height) of every fixture, from `expected.txt`.
fn manifest() -> Vec<(String, usize, usize)> {
    let text = std::fs::read_to_string(fixtures().join("expected.txt")).unwrap();
    text.lines()
        .map(|line| {
            let parts: Vec<&str> = line.split(' ').collect();
            (
                parts[0].to_string(),
                parts[1].parse().unwrap(),
                parts[2].parse().unwrap(),
            )
        })
        .collect()
}

#[test]
fn every_fixture_decodes_to_pillows_pixels() {
    let entries = manifest();
    assert!(entries.len() >= 40, "expected the full fixture set");
    for (name, width, height) in entries {
        let image = image::read(&fixtures().join(&name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!((image.width, image.height), (width, height), "{name}");
        let expected = std::fs::read(fixtures().join(format!("{name}.rgba"))).unwrap();
        if image.rgba != expected {
            let first = image
                .rgba
                .iter()
                .zip(&expected)
                .position(|(a, b)| a != b)
                .unwrap();
            let pixel = first / 4;
            panic!(
                "{name}: pixel ({}, {}) channel {}: decoded {}, Pillow {}",
                pixel % width,
                pixel / width,
                first % 4,
                image.rgba[first],
                expected[first]
            );
        }
    }
}

/// Every PNG fixture's bytes.
fn png_fixtures() -> Vec<(String, Vec<u8>)> {
    manifest()
        .into_iter()
        .filter(|(name, _, _)| name.ends_with(".png"))
        .map(|(name, _, _)| {
            let bytes = std::fs::read(fixtures().join(&name)).unwrap();
            (name, bytes)
        })
        .collect()
}

#[test]
fn every_truncation_is_an_error() {
    for (name, bytes) in png_fixtures() {
        for length in 0..bytes.len() {
            let result = image::decode(&bytes[..length], &name);
            assert!(result.is_err(), "{name} cut to {length} bytes decoded");
        }
    }
    let ppm = std::fs::read(fixtures().join("pil_rgb_6x5.ppm")).unwrap();
    for length in 0..ppm.len() {
        assert!(
            image::decode(&ppm[..length], "ppm").is_err(),
            "PPM cut to {length}"
        );
    }
}

/// The chunks of a PNG as (offset of the length field, data length).
fn chunks(bytes: &[u8]) -> Vec<(usize, usize)> {
    let mut list = Vec::new();
    let mut position = 8;
    while position + 12 <= bytes.len() {
        let length = u32::from_be_bytes(bytes[position..position + 4].try_into().unwrap()) as usize;
        if length > bytes.len() - position - 12 {
            break; // a damaged length: the decoder must catch it, the CRCs cannot be fixed
        }
        list.push((position, length));
        position += 12 + length;
    }
    list
}

/// Recomputes every chunk's CRC (after a mutation inside chunk data).
fn fix_crcs(bytes: &mut [u8]) {
    for (position, length) in chunks(bytes) {
        let crc = crc32(&bytes[position + 4..position + 8 + length]);
        bytes[position + 8 + length..position + 12 + length].copy_from_slice(&crc.to_be_bytes());
    }
}

#[test]
fn flipped_bytes_are_errors_or_images_never_panics() {
    let mut rng = Rng::new(13);
    let mut caught_by_crc = 0;
    let mut decoded_anyway = 0;
    let mut refused_after_crc_fix = 0;
    for (name, bytes) in png_fixtures() {
        for _ in 0..60 {
            let mut damaged = bytes.clone();
            let at = rng.below(damaged.len());
            damaged[at] ^= 1 << rng.below(8);
            // As damaged on disk: the CRC (or the signature, or a length) catches it.
            if image::decode(&damaged, &name).is_err() {
                caught_by_crc += 1;
            }
            // With the CRCs made to match, the damage reaches the inflater and the filters.
            if at >= 8 {
                fix_crcs(&mut damaged);
                match image::decode(&damaged, &name) {
                    Ok(image) => {
                        assert_eq!(image.rgba.len(), image.width * image.height * 4);
                        decoded_anyway += 1;
                    }
                    Err(_) => refused_after_crc_fix += 1,
                }
            }
        }
    }
    assert!(caught_by_crc > 0 && refused_after_crc_fix > 0);
    eprintln!(
        "flips: {caught_by_crc} caught as stored; with CRCs fixed {refused_after_crc_fix} refused, \
         {decoded_anyway} decoded (a flipped sample is still a valid image)"
    );
}

/// A minimal PNG with the given IHDR fields and IDAT payload.
fn png_with(width: u32, height: u32, depth: u8, color_type: u8, idat: &[u8]) -> Vec<u8> {
    let mut bytes = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut push = |kind: &[u8; 4], data: &[u8]| {
        bytes.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let start = bytes.len();
        bytes.extend_from_slice(kind);
        bytes.extend_from_slice(data);
        let crc = crc32(&bytes[start..]);
        bytes.extend_from_slice(&crc.to_be_bytes());
    };
    let mut header = Vec::new();
    header.extend_from_slice(&width.to_be_bytes());
    header.extend_from_slice(&height.to_be_bytes());
    header.extend_from_slice(&[depth, color_type, 0, 0, 0]);
    push(b"IHDR", &header);
    push(b"IDAT", idat);
    push(b"IEND", &[]);
    bytes
}

/// zlib bytes holding `raw` in stored blocks (what `report::png` writes).
fn stored_zlib(raw: &[u8]) -> Vec<u8> {
    let mut out = vec![0x78, 0x01];
    for (k, piece) in raw.chunks(65535).enumerate() {
        let last = (k + 1) * 65535 >= raw.len();
        out.push(u8::from(last));
        let length = piece.len() as u16;
        out.extend_from_slice(&length.to_le_bytes());
        out.extend_from_slice(&(!length).to_le_bytes());
        out.extend_from_slice(piece);
    }
    out.extend_from_slice(&dlfs::report::png::adler32(raw).to_be_bytes());
    out
}

#[test]
fn hostile_headers_are_refused_before_allocating() {
    let started = std::time::Instant::now();
    let huge = png_with(100_000, 100_000, 8, 6, &[0x78, 0x01]);
    let message = image::decode(&huge, "huge.png").unwrap_err().to_string();
    assert!(
        message.contains("100000×100000") && message.contains(&MAX_PIXELS.to_string()),
        "{message}"
    );
    assert!(started.elapsed().as_secs_f64() < 1.0);

    for (width, height, depth, color_type, what) in [
        (0, 5, 8, 2, "between 1 and"),
        (5, 5, 3, 2, "bit depth 3"),
        (5, 5, 16, 3, "bit depth 16"),
        (5, 5, 8, 5, "colour type 5"),
        (u32::MAX, 1, 8, 0, "between 1 and"),
    ] {
        let m = image::decode(&png_with(width, height, depth, color_type, &[]), "bad.png")
            .unwrap_err()
            .to_string();
        assert!(
            m.contains(what),
            "{width}×{height} depth {depth} type {color_type}: {m}"
        );
    }
    // A palette image without a palette.
    let raw = [0u8, 0];
    let m = image::decode(&png_with(1, 1, 8, 3, &stored_zlib(&raw)), "p.png")
        .unwrap_err()
        .to_string();
    assert!(m.contains("PLTE"), "{m}");
}

#[test]
fn data_beyond_what_the_header_implies_are_refused() {
    // 2×2 grey needs 2 rows of 1 + 2 bytes; give a stream of 1000 bytes.
    let too_much = stored_zlib(&[0u8; 1000]);
    let m = image::decode(&png_with(2, 2, 8, 0, &too_much), "bomb.png")
        .unwrap_err()
        .to_string();
    assert!(m.contains("more than the 6 bytes"), "{m}");
    let too_little = stored_zlib(&[0u8; 4]);
    let m = image::decode(&png_with(2, 2, 8, 0, &too_little), "short.png")
        .unwrap_err()
        .to_string();
    assert!(m.contains("4 bytes, the header implies 6"), "{m}");
    // The right amount with a filter type that does not exist.
    let m = image::decode(
        &png_with(2, 2, 8, 0, &stored_zlib(&[0, 1, 2, 9, 3, 4])),
        "f.png",
    )
    .unwrap_err()
    .to_string();
    assert!(m.contains("filter type 9"), "{m}");
    let ok = image::decode(
        &png_with(2, 2, 8, 0, &stored_zlib(&[0, 1, 2, 1, 3, 4])),
        "ok.png",
    )
    .unwrap();
    assert_eq!(
        ok.rgba.iter().step_by(4).copied().collect::<Vec<u8>>(),
        [1, 2, 3, 7]
    );
}

#[test]
fn pgm_and_ppm_headers_and_samples_are_checked() {
    let decode = |text: &[u8]| image::decode(text, "x.pnm");
    let image = decode(b"P2 2 1 # width 2\n 65535 0 65535").unwrap();
    assert_eq!(image.rgba, [0, 0, 0, 255, 255, 255, 255, 255]);
    let wide = decode(b"P5 1 1 1000\n\x01\xF4").unwrap(); // 500 of 1000 → 128
    assert_eq!(wide.rgba[0], 128);
    for (text, what) in [
        (&b"P6 2 2 255\n\x01\x02"[..], "truncated"),
        (&b"P5 1 1 0\n\x00"[..], "maximum sample value is 0"),
        (&b"P2 1 1 10 11"[..], "above the maximum"),
        (&b"P4 1 1\n\x00"[..], "PBM"),
        (&b"P3 1 x"[..], "height"),
        (&b"P6 100000 100000 255\n"[..], "more than"),
        (&b"\xFF\xD8\xFF\xE0JFIF"[..], "JPEG"),
    ] {
        let m = decode(text).unwrap_err().to_string();
        assert!(m.contains(what), "{:?}: {m}", String::from_utf8_lossy(text));
    }
    let folder = std::env::temp_dir();
    let m = image::read(&folder).unwrap_err().to_string();
    assert!(m.contains("not a regular file"), "{m}");
}

#[test]
fn resizing_to_32_by_32_averages_areas() {
    let photo = image::read(&fixtures().join("pil_photo_64x48.png")).unwrap();
    let small = photo.resize(32, 32);
    assert_eq!((small.width, small.height), (32, 32));
    // Width 64 → 32 averages pairs of columns; height 48 → 32 covers 1.5 rows per output row.
    let at = |image: &Image, x: usize, y: usize, c: usize| {
        f64::from(image.rgba[(y * image.width + x) * 4 + c])
    };
    for (x, y) in [(0, 0), (5, 7), (31, 31)] {
        for c in 0..3 {
            let mut sum = 0.0;
            for (dy, weight) in [(0, 1.0), (1, 0.5)] {
                let source_y = (3 * y) / 2 + dy;
                let (source_y, weight) = if y % 2 == 1 {
                    // Odd output rows start half-way through a source row.
                    ((3 * y) / 2 + dy, if dy == 0 { 0.5 } else { 1.0 })
                } else {
                    (source_y, weight)
                };
                sum += weight
                    * (at(&photo, 2 * x, source_y, c) + at(&photo, 2 * x + 1, source_y, c))
                    / 2.0;
            }
            assert_eq!(
                at(&small, x, y, c),
                (sum / 1.5).round(),
                "({x}, {y}) channel {c}"
            );
        }
    }
    // A 1×1 picture grows to a uniform 32×32.
    let dot = image::read(&fixtures().join("pil_1x1.png"))
        .unwrap()
        .resize(32, 32);
    assert!(dot.rgba.chunks(4).all(|p| p == [12, 200, 77, 255]));
    // Planes in CIFAR-10's order.
    let planes = dot.planar_rgb();
    assert_eq!(planes.len(), 3 * 32 * 32);
    assert!(planes[..1024].iter().all(|&r| r == 12) && planes[2048..].iter().all(|&b| b == 77));
}

#[test]
fn random_bytes_never_panic_the_inflater() {
    let mut rng = Rng::new(1950);
    let mut decoded = 0;
    for round in 0..20_000 {
        let length = 1 + rng.below(64);
        let mut bytes: Vec<u8> = (0..length).map(|_| rng.next_u64() as u8).collect();
        // Half the inputs start with a valid zlib header, so the DEFLATE decoder itself is reached.
        if round % 2 == 0 {
            bytes.splice(0..0, [0x78, 0x9c]);
        }
        if let Ok(out) = image::inflate::zlib_decompress(&bytes, 4096) {
            assert!(out.len() <= 4096);
            decoded += 1;
        }
    }
    eprintln!("{decoded} of 20000 random streams happened to be valid");
}
