//! `cnn_int8.safetensors`: the int8 model in the safetensors format, for other programs (chapter 18).
//!
//! # What the file holds
//! For each layer `L` of chapter 12's model (`conv1`, `conv2`, `fc1`, `fc2`, `fc3`, PyTorch's names):
//!
//! | tensor | dtype | shape | meaning |
//! |---|---|---|---|
//! | `L.weight_int8` | `I8` | the weight's shape | `q_w`, integers in −127…127 |
//! | `L.weight_scale` | `F32` | `[out]` | `s_w`: `weight[o, …] ≈ q_w[o, …] · s_w[o]` |
//! | `L.bias` | `F32` | `[out]` | the float bias |
//! | `L.input_scale` | `F32` | `[1]` | `s_in`: the layer's input `x ≈ q_x · s_in`, `q_x = clamp(round(x / s_in), −127, 127)` |
//!
//! The `__metadata__` says the same in words (keys `weight_quantization`, `activation_quantization`,
//! `inference`), so a reader needs no other documentation. The F32 tensors come first and the I8
//! ones last, so every F32 tensor starts at a multiple of 4 bytes.
//!
//! In PyTorch: `t = safetensors.torch.load_file("cnn_int8.safetensors")`, then
//! `w = t["conv1.weight_int8"].float() * t["conv1.weight_scale"].view(-1, 1, 1, 1)`.
//!
//! `checkpoint` reads only F32 files; this module has its own small writer and a validating reader
//! for the two dtypes it writes (sizes checked against the file before anything is allocated).
//!
//! What it leaves out: other dtypes, the integer biases and multipliers (they follow from the scales).

use super::int8_cnn::{LAYER_NAMES, QuantizedCnn};
use crate::checkpoint::json::{self, Json};
use crate::error::{Error, Result};
use crate::report::write_atomic;
use std::path::Path;

/// The values of one tensor.
#[derive(Clone, Debug, PartialEq)]
pub enum TensorValues {
    /// Signed bytes (dtype `I8`).
    I8(Vec<i8>),
    /// 32-bit floats (dtype `F32`).
    F32(Vec<f32>),
}

impl TensorValues {
    /// The safetensors dtype name.
    pub fn dtype(&self) -> &'static str {
        match self {
            TensorValues::I8(_) => "I8",
            TensorValues::F32(_) => "F32",
        }
    }

    /// The number of values.
    pub fn len(&self) -> usize {
        match self {
            TensorValues::I8(v) => v.len(),
            TensorValues::F32(v) => v.len(),
        }
    }

    /// True when there are no values.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The little-endian bytes.
    fn bytes(&self) -> Vec<u8> {
        match self {
            TensorValues::I8(v) => v.iter().map(|&x| x as u8).collect(),
            TensorValues::F32(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        }
    }
}

/// A named tensor of the export.
#[derive(Clone, Debug, PartialEq)]
pub struct NamedTensor {
    /// Its name, e.g. `conv1.weight_int8`.
    pub name: String,
    /// Its shape.
    pub shape: Vec<usize>,
    /// Its values, row-major.
    pub values: TensorValues,
}

/// What the metadata says about the weights.
pub const WEIGHT_QUANTIZATION: &str = "symmetric int8 per output channel: weight[o, ...] ≈ \
     <layer>.weight_int8[o, ...] * <layer>.weight_scale[o], integers in -127..127";

/// What the metadata says about the activations (the names of their parameters).
pub const ACTIVATION_QUANTIZATION: &str = "symmetric int8 per tensor, calibrated on training \
     batches: the input x of each layer is quantized as q = clamp(round(x / <layer>.input_scale), \
     -127, 127); zero point 0; conv1's input is the normalised image (byte/255 - 0.5)/0.5";

/// How the integers are used.
pub const INFERENCE: &str = "y[o] = (<layer>.input_scale * <layer>.weight_scale[o]) * (sum q_x * \
     q_w + round(<layer>.bias[o] / (<layer>.input_scale * <layer>.weight_scale[o]))) with int32 \
     sums; then ReLU and max-pool as in the float model; the output is requantized with the next \
     layer's input_scale, fc3 gives float logits";

/// A file read back: its tensors in header order and its metadata pairs.
#[derive(Clone, Debug, PartialEq)]
pub struct Export {
    /// The tensors, in header order.
    pub tensors: Vec<NamedTensor>,
    /// The `__metadata__` pairs.
    pub metadata: Vec<(String, String)>,
}

impl Export {
    /// The tensor called `name`, if any.
    pub fn tensor(&self, name: &str) -> Option<&NamedTensor> {
        self.tensors.iter().find(|t| t.name == name)
    }

    /// The metadata value of `key`, if any.
    pub fn metadata(&self, key: &str) -> Option<&str> {
        self.metadata
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// The tensors of the export (F32 first, then I8; see the module docs).
pub fn int8_tensors(model: &QuantizedCnn) -> Vec<NamedTensor> {
    let mut floats = Vec::new();
    let mut bytes = Vec::new();
    for (name, layer) in LAYER_NAMES.iter().zip(&model.layers) {
        let out = layer.out_channels();
        floats.push(NamedTensor {
            name: format!("{name}.weight_scale"),
            shape: vec![out],
            values: TensorValues::F32(layer.weights.scales.clone()),
        });
        floats.push(NamedTensor {
            name: format!("{name}.bias"),
            shape: vec![out],
            values: TensorValues::F32(layer.bias.clone()),
        });
        floats.push(NamedTensor {
            name: format!("{name}.input_scale"),
            shape: vec![1],
            values: TensorValues::F32(vec![layer.input_scale]),
        });
        bytes.push(NamedTensor {
            name: format!("{name}.weight_int8"),
            shape: layer.weights.shape.clone(),
            values: TensorValues::I8(layer.weights.values.clone()),
        });
    }
    floats.extend(bytes);
    floats
}

/// Safetensors bytes of `tensors` with `metadata` (in the order given; `format: pt` first).
/// Panics if a tensor's values do not fill its shape (a programming error).
pub fn to_bytes(tensors: &[NamedTensor], metadata: &[(&str, &str)]) -> Vec<u8> {
    let mut pairs = vec![format!("{}:{}", json::quote("format"), json::quote("pt"))];
    pairs.extend(
        metadata
            .iter()
            .map(|(k, v)| format!("{}:{}", json::quote(k), json::quote(v))),
    );
    let mut entries = vec![format!("\"__metadata__\":{{{}}}", pairs.join(","))];
    let mut offset = 0usize;
    let mut data = Vec::new();
    for tensor in tensors {
        assert_eq!(
            tensor.values.len(),
            tensor.shape.iter().product::<usize>(),
            "export: {} has {} values for shape {:?}",
            tensor.name,
            tensor.values.len(),
            tensor.shape
        );
        let bytes = tensor.values.bytes();
        let shape: Vec<String> = tensor.shape.iter().map(|d| d.to_string()).collect();
        entries.push(format!(
            "{}:{{\"dtype\":\"{}\",\"shape\":[{}],\"data_offsets\":[{offset},{}]}}",
            json::quote(&tensor.name),
            tensor.values.dtype(),
            shape.join(","),
            offset + bytes.len()
        ));
        offset += bytes.len();
        data.extend(bytes);
    }
    let mut header = format!("{{{}}}", entries.join(",")).into_bytes();
    while header.len() % 8 != 0 {
        header.push(b' ');
    }
    let mut file = Vec::with_capacity(8 + header.len() + data.len());
    file.extend_from_slice(&(header.len() as u64).to_le_bytes());
    file.extend_from_slice(&header);
    file.extend_from_slice(&data);
    file
}

/// Writes `cnn_int8.safetensors` (or any path) for `model`, with the documentation metadata plus
/// `extra` pairs (atomically).
pub fn save(model: &QuantizedCnn, path: &Path, extra: &[(&str, &str)]) -> Result<()> {
    let mut metadata = vec![
        (
            "model",
            "SimpleCNN (tutorial chapter 12), int8 post-training quantization",
        ),
        ("weight_quantization", WEIGHT_QUANTIZATION),
        ("activation_quantization", ACTIVATION_QUANTIZATION),
        ("inference", INFERENCE),
    ];
    metadata.extend_from_slice(extra);
    write_atomic(path, &to_bytes(&int8_tensors(model), &metadata))
}

/// Reads and validates safetensors bytes holding I8 and F32 tensors: the header length fits the
/// file, the header is a JSON object, every entry has a known dtype, a shape and offsets whose
/// length matches, and the tensors tile the data exactly.
pub fn from_bytes(bytes: &[u8], source: &str) -> Result<Export> {
    let bad = |message: String| Error::format(source, message);
    let Some(first) = bytes.first_chunk::<8>() else {
        return Err(bad(format!(
            "{} bytes: a safetensors file starts with an 8-byte header length",
            bytes.len()
        )));
    };
    let header_len = u64::from_le_bytes(*first);
    if header_len > (bytes.len() - 8) as u64 {
        return Err(bad(format!(
            "the header claims {header_len} bytes but only {} follow — truncated or not safetensors",
            bytes.len() - 8
        )));
    }
    let header_end = 8 + header_len as usize;
    let text = std::str::from_utf8(&bytes[8..header_end])
        .map_err(|e| bad(format!("the header is not UTF-8 ({e})")))?;
    let root = json::parse(text).map_err(|e| bad(format!("the header is not valid JSON: {e}")))?;
    let Json::Object(entries) = root else {
        return Err(bad("the header must be a JSON object".to_string()));
    };
    let data = &bytes[header_end..];
    let mut metadata = Vec::new();
    let mut tensors = Vec::new();
    let mut ranges = Vec::new();
    for (name, entry) in entries {
        if name == "__metadata__" {
            if let Json::Object(pairs) = entry {
                for (k, v) in pairs {
                    let v = v
                        .as_str()
                        .ok_or_else(|| bad(format!("metadata {k:?} is not a string")))?;
                    metadata.push((k, v.to_string()));
                }
            }
            continue;
        }
        let field = |key: &str| match &entry {
            Json::Object(fields) => fields.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        };
        let dtype = field("dtype").and_then(Json::as_str);
        let width = match dtype {
            Some("I8") => 1,
            Some("F32") => 4,
            other => {
                return Err(bad(format!(
                    "tensor {name:?} has dtype {other:?}; this reader knows I8 and F32"
                )));
            }
        };
        let numbers = |value: Option<&Json>| -> Option<Vec<usize>> {
            match value {
                Some(Json::Array(items)) => items
                    .iter()
                    .map(|v| v.as_u64().and_then(|v| usize::try_from(v).ok()))
                    .collect(),
                _ => None,
            }
        };
        let shape =
            numbers(field("shape")).ok_or_else(|| bad(format!("tensor {name:?}: bad shape")))?;
        let offsets = numbers(field("data_offsets"))
            .filter(|o| o.len() == 2 && o[0] <= o[1] && o[1] <= data.len())
            .ok_or_else(|| bad(format!("tensor {name:?}: data_offsets outside the data")))?;
        let elements = shape
            .iter()
            .try_fold(1usize, |acc, &d| acc.checked_mul(d))
            .ok_or_else(|| bad(format!("tensor {name:?}: the shape overflows")))?;
        if elements.checked_mul(width) != Some(offsets[1] - offsets[0]) {
            return Err(bad(format!(
                "tensor {name:?}: shape {shape:?} of {} needs {} bytes, the offsets hold {}",
                dtype.unwrap_or("?"),
                elements.saturating_mul(width),
                offsets[1] - offsets[0]
            )));
        }
        let raw = &data[offsets[0]..offsets[1]];
        let values = if width == 1 {
            TensorValues::I8(raw.iter().map(|&b| b as i8).collect())
        } else {
            TensorValues::F32(
                raw.chunks_exact(4)
                    .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                    .collect(),
            )
        };
        ranges.push((offsets[0], offsets[1], name.clone()));
        tensors.push(NamedTensor {
            name,
            shape,
            values,
        });
    }
    ranges.sort();
    let mut expected = 0;
    for (start, end, name) in &ranges {
        if *start != expected {
            return Err(bad(format!(
                "tensor {name:?} starts at byte {start}, where {expected} was expected (overlap or gap)"
            )));
        }
        expected = *end;
    }
    if expected != data.len() {
        return Err(bad(format!(
            "the tensors cover {expected} bytes but the data section has {}",
            data.len()
        )));
    }
    Ok(Export { tensors, metadata })
}

/// Reads a file written by [`save`] (see [`from_bytes`]).
pub fn read(path: &Path) -> Result<Export> {
    let bytes =
        std::fs::read(path).map_err(|e| Error::io(path, e, "could not read the int8 export"))?;
    from_bytes(&bytes, &path.display().to_string())
}
