//! Checkpoints in the safetensors format: bit-exact round trips, the exact bytes we write, files in
//! other writers' layouts, and every kind of broken file rejected with a clear error — never a panic,
//! never an allocation sized by a lying header (proptest over random corruption).

use dlfs::Tensor;
use dlfs::checkpoint::{self, MAX_HEADER_BYTES};
use dlfs::nn::{Layer, Linear, Param, Relu, Sequential};
use dlfs::probability::Rng;
use proptest::prelude::*;
use std::path::PathBuf;

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("dlfs-checkpoint-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn network(seed: u64) -> Sequential {
    let mut rng = Rng::new(seed);
    let mut model = Sequential::default();
    model.push(Linear::new(10, 5, &mut rng));
    model.push(Relu::new());
    model.push(Linear::new(5, 1, &mut rng));
    model
}

/// Every parameter value as raw bits (so NaN payloads and −0 compare exactly).
fn bits(model: &mut dyn Layer) -> Vec<(String, Vec<u32>)> {
    let mut all = Vec::new();
    model.visit_params(&mut |name, p: &mut Param| {
        all.push((
            name.to_string(),
            p.value.data().iter().map(|v| v.to_bits()).collect(),
        ));
    });
    all
}

#[test]
fn save_then_load_is_bit_exact_even_for_special_values() {
    let dir = temp_dir("round-trip");
    let path = dir.join("model.safetensors");
    let mut model = network(1);
    // Values a text format would mangle: −0, a NaN with a payload, infinities, a subnormal.
    model.visit_params(&mut |name, p| {
        if name == "0.weight" {
            let d = p.value.data_mut();
            d[0] = -0.0;
            d[1] = f32::from_bits(0x7fc0_1234);
            d[2] = f32::INFINITY;
            d[3] = f32::NEG_INFINITY;
            d[4] = f32::from_bits(1);
        }
    });
    checkpoint::save_with_metadata(&mut model, &path, &[("epoch", "3")]).unwrap();
    let mut other = network(2);
    assert_ne!(bits(&mut model), bits(&mut other));
    let metadata = checkpoint::load(&mut other, &path).unwrap();
    assert_eq!(bits(&mut model), bits(&mut other));
    assert_eq!(
        metadata,
        vec![
            ("format".to_string(), "pt".to_string()),
            ("epoch".to_string(), "3".to_string())
        ]
    );
    // Saving again replaces the file atomically and leaves no temporary file behind.
    checkpoint::save(&mut other, &path).unwrap();
    let names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, vec!["model.safetensors"]);
    let read = checkpoint::read(&path).unwrap();
    assert_eq!(read.tensors[0].0, "0.weight");
    assert_eq!(read.tensors[0].1.shape(), &[5, 10]);
}

#[test]
fn the_bytes_written_are_exactly_the_safetensors_layout() {
    let mut layer = Linear::from_params(
        Tensor::from_vec(&[1, 1], vec![2.0]),
        Some(Tensor::from_vec(&[1], vec![0.5])),
    );
    let bytes = checkpoint::to_bytes(&mut layer, &[]);
    let header = r#"{"__metadata__":{"format":"pt"},"weight":{"dtype":"F32","shape":[1,1],"data_offsets":[0,4]},"bias":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#;
    let padded = header.len().div_ceil(8) * 8;
    assert_eq!(
        &bytes[..8],
        &(padded as u64).to_le_bytes(),
        "8-byte little-endian length"
    );
    assert_eq!(&bytes[8..8 + header.len()], header.as_bytes());
    assert!(
        bytes[8 + header.len()..8 + padded]
            .iter()
            .all(|&b| b == b' '),
        "space padding"
    );
    assert_eq!((8 + padded) % 8, 0, "data aligned to 8 bytes");
    assert_eq!(
        &bytes[8 + padded..],
        [2.0f32.to_le_bytes(), 0.5f32.to_le_bytes()].concat()
    );
}

/// Builds a file by hand: `header` JSON (unpadded) then `data`.
fn file_with(header: &str, data: &[u8]) -> Vec<u8> {
    let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
    bytes.extend_from_slice(header.as_bytes());
    bytes.extend_from_slice(data);
    bytes
}

fn one_by_one(w: f32, b: f32) -> Linear {
    Linear::from_params(
        Tensor::from_vec(&[1, 1], vec![w]),
        Some(Tensor::from_vec(&[1], vec![b])),
    )
}

#[test]
fn files_in_another_writers_order_and_spacing_load() {
    // The reference writer may order tensors differently, add whitespace and omit the metadata.
    let header = r#"{ "bias" : {"data_offsets": [0, 4], "shape": [1], "dtype": "F32"},
                     "weight": {"dtype": "F32", "shape": [1, 1], "data_offsets": [4, 8]} }"#;
    let data = [0.5f32.to_le_bytes(), 2.0f32.to_le_bytes()].concat();
    let mut layer = one_by_one(0.0, 0.0);
    let metadata =
        checkpoint::load_from_bytes(&mut layer, &file_with(header, &data), "hand-made").unwrap();
    assert!(metadata.is_empty());
    assert_eq!(layer.weight().value.data(), &[2.0]);
    assert_eq!(layer.bias().unwrap().value.data(), &[0.5]);
}

/// Loads `bytes` into a 1×1 Linear and returns the error text; checks the layer is unchanged.
fn rejection(bytes: &[u8]) -> String {
    let mut layer = one_by_one(7.0, 8.0);
    let err = checkpoint::load_from_bytes(&mut layer, bytes, "bad.safetensors")
        .expect_err("a broken file must be rejected");
    assert_eq!(
        layer.weight().value.data(),
        &[7.0],
        "a failed load leaves the model unchanged"
    );
    assert_eq!(layer.bias().unwrap().value.data(), &[8.0]);
    let text = err.to_string();
    assert!(text.starts_with("bad.safetensors: "), "{text}");
    text
}

fn valid_file() -> Vec<u8> {
    checkpoint::to_bytes(&mut one_by_one(2.0, 0.5), &[])
}

#[test]
fn broken_files_are_rejected_with_clear_errors() {
    let good = valid_file();
    let data8 = [2.0f32.to_le_bytes(), 0.5f32.to_le_bytes()].concat();
    let entry = |name: &str, dtype: &str, shape: &str, offsets: &str| {
        format!(r#""{name}":{{"dtype":"{dtype}","shape":{shape},"data_offsets":{offsets}}}"#)
    };
    let w = entry("weight", "F32", "[1,1]", "[0,4]");
    let b = entry("bias", "F32", "[1]", "[4,8]");
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("empty", vec![], "fewer than the 8-byte header length"),
        (
            "seven bytes",
            vec![1, 0, 0, 0, 0, 0, 0],
            "fewer than the 8-byte",
        ),
        ("truncated data", good[..good.len() - 3].to_vec(), "outside"),
        (
            "truncated header",
            good[..20].to_vec(),
            "the file has only 12",
        ),
        (
            "extra bytes",
            [good.clone(), vec![0; 4]].concat(),
            "extra bytes at the end",
        ),
        (
            "oversized header",
            [u64::MAX.to_le_bytes().to_vec(), vec![b'{'; 8]].concat(),
            "more than the",
        ),
        (
            "header just over the limit",
            (MAX_HEADER_BYTES + 1).to_le_bytes().to_vec(),
            "more than the",
        ),
        ("not JSON", file_with("{nope}", &data8), "not valid JSON"),
        (
            "not an object",
            file_with("[1, 2]", &data8),
            "must start with '{'",
        ),
        (
            "not UTF-8",
            [
                6u64.to_le_bytes().to_vec(),
                b"{\"\xff\":".to_vec(),
                vec![b'1', b'}'],
                data8.clone(),
            ]
            .concat(),
            "UTF-8",
        ),
        (
            "F16",
            file_with(
                &format!(
                    "{{{},{}}}",
                    entry("weight", "F16", "[1,1]", "[0,2]"),
                    entry("bias", "F16", "[1]", "[2,4]")
                ),
                &data8[..4],
            ),
            "dtype F16",
        ),
        (
            "wrong byte length",
            file_with(
                &format!(
                    "{{{},{}}}",
                    entry("weight", "F32", "[1,1]", "[0,8]"),
                    entry("bias", "F32", "[1]", "[8,8]")
                ),
                &data8,
            ),
            "needs 4 bytes",
        ),
        (
            "overlap",
            file_with(
                &format!(
                    "{{{},{}}}",
                    entry("weight", "F32", "[1,1]", "[0,4]"),
                    entry("bias", "F32", "[1]", "[0,4]")
                ),
                &data8,
            ),
            "overlaps",
        ),
        (
            "gap",
            file_with(
                &format!(
                    "{{{},{}}}",
                    entry("weight", "F32", "[1,1]", "[4,8]"),
                    entry("bias", "F32", "[1]", "[8,12]")
                ),
                &[data8.clone(), vec![0; 4]].concat(),
            ),
            "gap",
        ),
        (
            "offsets reversed",
            file_with(
                &format!("{{{},{}}}", entry("weight", "F32", "[1,1]", "[4,0]"), b),
                &data8,
            ),
            "outside",
        ),
        (
            "duplicate name",
            file_with(&format!("{{{w},{w}}}"), &data8),
            "duplicate key",
        ),
        (
            "missing field",
            file_with(r#"{"weight":{"dtype":"F32","shape":[1,1]}}"#, &data8),
            "must have the fields",
        ),
        (
            "unknown field",
            file_with(
                &format!(
                    "{{{},{b}}}",
                    r#""weight":{"dtype":"F32","shape":[1,1],"data_offsets":[0,4],"x":1}"#
                ),
                &data8,
            ),
            "unknown field",
        ),
        (
            "negative dim",
            file_with(
                &format!("{{{},{b}}}", entry("weight", "F32", "[-1,1]", "[0,4]")),
                &data8,
            ),
            "non-negative integers",
        ),
        (
            "huge shape",
            file_with(
                &format!(
                    "{{{},{b}}}",
                    entry(
                        "weight",
                        "F32",
                        "[4294967296,4294967296,4294967296]",
                        "[0,4]"
                    )
                ),
                &data8,
            ),
            "overflows",
        ),
        (
            "metadata not strings",
            file_with(
                &format!("{{\"__metadata__\":{{\"epoch\":3}},{w},{b}}}"),
                &data8,
            ),
            "must be a string",
        ),
        (
            "wrong shape",
            file_with(
                &format!("{{{},{}}}", entry("weight", "F32", "[1]", "[0,4]"), b),
                &data8,
            ),
            "has shape [1] in the checkpoint but [1, 1] in the model",
        ),
        (
            "missing parameter",
            file_with(&format!("{{{w}}}"), &data8[..4]),
            "no tensor \"bias\"",
        ),
        (
            "unknown name",
            file_with(
                &format!("{{{w},{b},{}}}", entry("extra", "F32", "[0]", "[8,8]")),
                &data8,
            ),
            "'extra' (shape [0]) that the model does not have",
        ),
    ];
    for (what, bytes, expected) in cases {
        let text = rejection(&bytes);
        println!("{what}: {text}");
        assert!(
            text.contains(expected),
            "{what}: expected {expected:?} in: {text}"
        );
    }
}

#[test]
fn loading_a_different_models_file_names_the_first_mismatch() {
    let dir = temp_dir("mismatch");
    let path = dir.join("small.safetensors");
    checkpoint::save(&mut Linear::new(3, 2, &mut Rng::new(3)), &path).unwrap();
    let err = checkpoint::load(&mut Linear::new(4, 2, &mut Rng::new(4)), &path).unwrap_err();
    assert!(
        err.to_string()
            .contains("\"weight\" has shape [2, 3] in the checkpoint but [2, 4]"),
        "{err}"
    );
    let err = checkpoint::load(&mut network(5), &path).unwrap_err();
    assert!(err.to_string().contains("no tensor \"0.weight\""), "{err}");
    let err = checkpoint::load(&mut network(5), &dir.join("missing.safetensors")).unwrap_err();
    assert!(err.to_string().contains("missing.safetensors"), "{err}");
}

#[test]
fn a_lying_header_length_in_a_file_allocates_nothing() {
    // 8 bytes claiming a 99 MB header in a 16-byte file: rejected before any header buffer exists.
    let dir = temp_dir("lying-length");
    let path = dir.join("lie.safetensors");
    let bytes = [99_000_000u64.to_le_bytes().to_vec(), b"{}      ".to_vec()].concat();
    std::fs::write(&path, bytes).unwrap();
    let err = checkpoint::load(&mut one_by_one(1.0, 1.0), &path).unwrap_err();
    assert!(
        err.to_string()
            .contains("claims 99000000 bytes but the file has only 8"),
        "{err}"
    );
}

/// One way to damage a file.
#[derive(Clone, Debug)]
enum Damage {
    /// Overwrite the byte at (position mod length) with a value.
    Set(usize, u8),
    /// Keep only the first (n mod length) bytes.
    Truncate(usize),
    /// Insert a byte at (position mod length).
    Insert(usize, u8),
}

fn damage() -> impl Strategy<Value = Damage> {
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(p, v)| Damage::Set(p, v)),
        any::<usize>().prop_map(Damage::Truncate),
        (any::<usize>(), any::<u8>()).prop_map(|(p, v)| Damage::Insert(p, v)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    /// Any damage to a valid file gives Ok or a clear error — never a panic. (Allocations are bounded
    /// by construction: nothing is sized from the header before it is checked against the bytes
    /// present; the oversized-header cases above show it.)
    #[test]
    fn random_corruption_never_panics(damages in prop::collection::vec(damage(), 1..6)) {
        let mut bytes = checkpoint::to_bytes(&mut network(9), &[("note", "proptest")]);
        for d in damages {
            let len = bytes.len().max(1);
            match d {
                Damage::Set(p, v) => {
                    if !bytes.is_empty() {
                        bytes[p % len] = v;
                    }
                }
                Damage::Truncate(n) => bytes.truncate(n % len),
                Damage::Insert(p, v) => bytes.insert(p % len, v),
            }
        }
        let mut model = network(10);
        if let Err(e) = checkpoint::load_from_bytes(&mut model, &bytes, "corrupt") {
            prop_assert!(e.to_string().starts_with("corrupt: "));
        }
        let _ = checkpoint::from_bytes(&bytes, "corrupt");
    }
}
