//! Reports: the PNG writer produces valid files (signature, chunk CRCs, zlib stream, Adler-32), SVG
//! output is well-formed XML, tables align, charts draw what they are given, writes are atomic.

use dlfs::report::png::{adler32, crc32, decode_rgb, encode_rgb, save_gray};
use dlfs::report::svg::Svg;
use dlfs::report::{LinePlot, Table, chart, write_atomic};
use proptest::prelude::*;

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("dlfs-test-report-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn png_has_the_right_structure() {
    let (w, h) = (3, 2);
    let rgb: Vec<u8> = (0..w * h * 3).map(|i| (i * 13) as u8).collect();
    let bytes = encode_rgb(w, h, &rgb);
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
    // IHDR is the first chunk: length 13, then the type, then width and height big-endian.
    assert_eq!(&bytes[8..16], b"\x00\x00\x00\x0dIHDR");
    assert_eq!(&bytes[16..24], &[0, 0, 0, 3, 0, 0, 0, 2]);
    let ihdr_crc = u32::from_be_bytes(bytes[29..33].try_into().unwrap());
    assert_eq!(ihdr_crc, crc32(&bytes[12..29]));
    // The file ends with an empty IEND chunk whose CRC is the well-known AE426082.
    assert_eq!(
        &bytes[bytes.len() - 12..],
        b"\x00\x00\x00\x00IEND\xae\x42\x60\x82"
    );
    let image = decode_rgb(&bytes).unwrap();
    assert_eq!((image.width, image.height), (w, h));
    assert_eq!(image.rgb, rgb);
}

#[test]
fn large_png_spans_several_stored_blocks() {
    // 200×150 RGB = 90,150 bytes of scanlines: two stored blocks (65,535 max each).
    let (w, h) = (200, 150);
    let rgb: Vec<u8> = (0..w * h * 3).map(|i| (i % 251) as u8).collect();
    let image = decode_rgb(&encode_rgb(w, h, &rgb)).unwrap();
    assert_eq!(image.rgb, rgb);
}

#[test]
fn corrupted_png_is_detected() {
    let rgb = vec![7u8; 4 * 4 * 3];
    let mut bytes = encode_rgb(4, 4, &rgb);
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x40;
    let err = decode_rgb(&bytes).unwrap_err().to_string();
    assert!(err.contains("CRC mismatch"), "{err}");
}

#[test]
fn checksums_match_published_values() {
    assert_eq!(
        crc32(b"The quick brown fox jumps over the lazy dog"),
        0x414F_A339
    );
    assert_eq!(adler32(b""), 1);
    assert_eq!(adler32(&vec![255u8; 100_000]), {
        // Computed directly from the definition with u64 sums.
        let (mut a, mut b) = (1u64, 0u64);
        for _ in 0..100_000 {
            a = (a + 255) % 65521;
            b = (b + a) % 65521;
        }
        ((b << 16) | a) as u32
    });
}

#[test]
fn gray_png_maps_the_range_to_black_and_white() {
    let dir = temp_dir("gray");
    let path = dir.join("g.png");
    save_gray(&path, 2, 1, &[-1.0, 1.0], -1.0, 1.0).unwrap();
    let image = decode_rgb(&std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(image.rgb, vec![0, 0, 0, 255, 255, 255]);
}

/// A minimal XML well-formedness check: tags nest and close properly, attributes are quoted, and
/// text holds no raw `<` or `&` outside entities.
fn assert_well_formed(xml: &str) {
    let mut stack: Vec<String> = Vec::new();
    let mut rest = xml;
    while let Some(open) = rest.find('<') {
        let text = &rest[..open];
        assert!(!text.contains('>'), "stray '>' in text: {text:?}");
        for (i, _) in text.match_indices('&') {
            let entity = &text[i..];
            assert!(
                ["&amp;", "&lt;", "&gt;", "&quot;"]
                    .iter()
                    .any(|e| entity.starts_with(e)),
                "raw '&' in text: {text:?}"
            );
        }
        let close = rest[open..].find('>').expect("unclosed tag") + open;
        let tag = &rest[open + 1..close];
        assert_eq!(
            tag.matches('"').count() % 2,
            0,
            "unbalanced quotes in <{tag}>"
        );
        if let Some(name) = tag.strip_prefix('/') {
            assert_eq!(stack.pop().as_deref(), Some(name), "mismatched </{name}>");
        } else if !tag.ends_with('/') {
            let name = tag.split_whitespace().next().unwrap().to_string();
            stack.push(name);
        }
        rest = &rest[close + 1..];
    }
    assert!(stack.is_empty(), "unclosed tags: {stack:?}");
}

#[test]
fn line_plot_is_well_formed_svg_with_title_labels_and_legend() {
    let svg = LinePlot::new("loss <train & test>")
        .x_label("epoch")
        .y_label("loss")
        .line("train", &[(1.0, 2.0), (2.0, 1.0), (3.0, f64::NAN)])
        .dashed("test", &[(1.0, 2.5), (2.0, 1.5)])
        .scatter("points", &[(1.5, 1.8)])
        .to_svg();
    assert_well_formed(&svg);
    for needle in [
        "loss &lt;train &amp; test&gt;",
        ">epoch<",
        ">loss<",
        ">train<",
        ">test<",
        "<polyline",
        "<circle",
    ] {
        assert!(svg.contains(needle), "SVG lacks {needle:?}");
    }
    // NaN points are skipped, never written as coordinates.
    assert!(!svg.contains("NaN"));

    let log = LinePlot::new("log")
        .y_label("error")
        .log_y()
        .line("e", &[(1.0, 1e-1), (2.0, 1e-5), (3.0, 0.0)]);
    let text = log.to_svg();
    assert_well_formed(&text);
    assert!(text.contains("(log scale)"));
}

#[test]
fn canvas_text_is_escaped() {
    let mut svg = Svg::new(10.0, 10.0);
    svg.text(1.0, 1.0, 10.0, "start", 0.0, "a<b & c");
    let doc = svg.finish();
    assert_well_formed(&doc);
    assert!(doc.contains("a&lt;b &amp; c"));
}

#[test]
fn table_aligns_numbers_right_and_words_left() {
    let mut table = Table::new(&["name", "value"]);
    table.row(&["a", "1.5"]);
    table.row(&["longer", "100"]);
    let text = table.render();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[2], "a         1.5");
    assert_eq!(lines[3], "longer    100");
}

#[test]
fn charts_draw_what_they_are_given() {
    let text = chart::histogram(&[0.0, 0.0, 0.0, 1.0], 2, 10);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2);
    assert!(lines[0].contains("██████████ 3"), "{text}");
    assert!(lines[1].contains("███ 1"), "{text}");
    let line = chart::line_chart(&[("a", &[1.0, 2.0, 3.0]), ("b", &[3.0, 2.0, 1.0])], 12, 5);
    assert!(line.contains("* a") && line.contains("o b"), "{line}");
    assert_eq!(
        chart::line_chart(&[("a", &[f32::NAN])], 5, 3),
        "(no finite values to plot)\n"
    );
}

#[test]
fn atomic_write_replaces_the_file_and_leaves_no_temporary() {
    let dir = temp_dir("atomic");
    let path = dir.join("sub/f.txt");
    write_atomic(&path, b"one").unwrap();
    write_atomic(&path, b"two").unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), b"two");
    let names: Vec<_> = std::fs::read_dir(dir.join("sub"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 1, "{names:?}");
    // Writing into a path whose parent is a file fails with an error naming the path.
    let err = write_atomic(&path.join("x"), b"z").unwrap_err().to_string();
    assert!(err.contains("f.txt"), "{err}");
}

proptest! {
    #[test]
    fn any_image_round_trips(w in 1usize..40, h in 1usize..40, seed in any::<u64>()) {
        let mut rng = dlfs::probability::Rng::new(seed);
        let rgb: Vec<u8> = (0..w * h * 3).map(|_| rng.below(256) as u8).collect();
        let image = decode_rgb(&encode_rgb(w, h, &rgb)).unwrap();
        prop_assert_eq!(image.rgb, rgb);
    }
}
