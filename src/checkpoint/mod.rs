//! Saving and loading a model's parameters in the **safetensors** format, the format of the Hugging
//! Face hub, readable by PyTorch (`safetensors.torch.load_file`) and written by it (`save_file`).
//!
//! A file is three parts:
//!
//! ```text
//! [8 bytes]  N, the header length, an unsigned 64-bit little-endian integer
//! [N bytes]  the header: UTF-8 JSON, starting with '{', possibly padded with spaces at the end
//!            {"__metadata__": {"format": "pt"},
//!             "0.weight": {"dtype": "F32", "shape": [5, 10], "data_offsets": [0, 200]},
//!             "0.bias":   {"dtype": "F32", "shape": [5],     "data_offsets": [200, 220]}, …}
//! [rest]     the data: every tensor's values, row-major, little-endian, at its data_offsets
//!            (relative to the start of the data, [start, end) in bytes)
//! ```
//!
//! We write the tensors in `visit_params` order, contiguously from offset 0, and pad the header with
//! spaces so the data start at a multiple of 8 bytes (as the reference writer does). Parameter names
//! and layouts are PyTorch's, so a file saved here loads into the equivalent PyTorch module with
//! `model.load_state_dict(safetensors.torch.load_file(path))`, and the other way round. Files are
//! written atomically ([`crate::report::write_atomic`]): a crash leaves the old file.
//!
//! Loading treats the file as hostile and checks everything before it touches the model:
//! - the path is a regular file of at most 4 GB ([`FILE`]; a pipe or a device is refused with what it
//!   is); the file holds at least 8 bytes; the header length is at most [`MAX_HEADER_BYTES`] and fits in
//!   the file (checked *before* the header is read, so a lying length allocates nothing);
//! - the header is strict JSON (see [`json`]) whose top level is an object; `__metadata__`, if present,
//!   maps strings to strings; every other entry has exactly `dtype`, `shape`, `data_offsets`;
//! - `dtype` is `F32` (other types are named in the error); `shape` holds non-negative integers
//!   whose product does not overflow; `data_offsets` is `[start, end]` with start ≤ end ≤ data size and
//!   `end − start = 4 × Πshape`;
//! - sorted by offset, the tensors cover the data exactly: the first starts at 0, each starts where the
//!   previous ends (no overlap, no hole), the last ends at the end of the file;
//! - every parameter of the model is in the file with the same shape, and the file has no tensor the
//!   model lacks. The first problem is reported by name.
//!
//! Only after all of that are the data read (exactly the model's size) and copied into the model, so a
//! failed load leaves the model as it was.
//!
//! What it leaves out: dtypes other than F32 (F16/BF16/F64 files are rejected with a clear message —
//! convert with `tensor.float()` in PyTorch), memory mapping, and lazy loading of single tensors.

pub mod json;

use crate::error::{Error, Result};
use crate::input::{self, Cap};
use crate::nn::Layer;
use crate::report::write_atomic;
use crate::tensor::Tensor;
use json::Json;
use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::path::Path;

/// The largest header accepted (100 MB, the limit of the reference implementation).
pub const MAX_HEADER_BYTES: u64 = 100_000_000;

/// What [`load`] and [`read`] accept: a regular file of at most 4 GB (a pipe or a device is refused
/// with what it is, see [`crate::input`]). [`load`] then reads exactly the model's bytes, whatever
/// the file's size.
pub const FILE: Cap = Cap {
    what: "a safetensors checkpoint (dlfs reads files up to 4 GB)",
    max_bytes: 4_000_000_000,
    hint: "does the file exist? was it written completely? is it a .safetensors file?",
};

/// The bytes of an f32.
const F32_BYTES: u64 = 4;

/// One tensor's entry in a header, validated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TensorInfo {
    /// The tensor's name (e.g. `0.weight`).
    pub name: String,
    /// Its shape.
    pub shape: Vec<usize>,
    /// Its byte range `[start, end)` in the data section.
    pub start: usize,
    /// One past its last byte.
    pub end: usize,
}

/// A validated header: the tensors in file order and the metadata.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    /// Every tensor, in the order the header lists them.
    pub tensors: Vec<TensorInfo>,
    /// The `__metadata__` pairs, in file order (empty if absent).
    pub metadata: Vec<(String, String)>,
}

/// The tensors and metadata of a checkpoint read without a model (e.g. to inspect a file).
#[derive(Clone, Debug, PartialEq)]
pub struct Checkpoint {
    /// Every tensor with its name, in header order.
    pub tensors: Vec<(String, Tensor)>,
    /// The `__metadata__` pairs.
    pub metadata: Vec<(String, String)>,
}

/// The parameters of `model` as (name, value) pairs, in `visit_params` order.
fn named_params(model: &mut dyn Layer) -> Vec<(String, Tensor)> {
    let mut params = Vec::new();
    model.visit_params(&mut |name, p| params.push((name.to_string(), p.value.clone())));
    params
}

/// Serialises `tensors` with `metadata` into safetensors bytes (`format: pt` is added to the
/// metadata unless it has a `format` key). Panics on duplicate names (a model bug).
pub fn tensors_to_bytes(tensors: &[(String, Tensor)], metadata: &[(&str, &str)]) -> Vec<u8> {
    let mut entries: Vec<String> = Vec::new();
    let mut pairs: Vec<(String, String)> = metadata
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    if !pairs.iter().any(|(k, _)| k == "format") {
        pairs.insert(0, ("format".to_string(), "pt".to_string()));
    }
    let metadata_json: Vec<String> = pairs
        .iter()
        .map(|(k, v)| format!("{}:{}", json::quote(k), json::quote(v)))
        .collect();
    entries.push(format!("\"__metadata__\":{{{}}}", metadata_json.join(",")));
    let mut offset = 0usize;
    for (i, (name, tensor)) in tensors.iter().enumerate() {
        assert!(
            tensors[..i].iter().all(|(other, _)| other != name),
            "checkpoint: two parameters are both called {name:?}"
        );
        let shape: Vec<String> = tensor.shape().iter().map(|d| d.to_string()).collect();
        let end = offset + tensor.len() * F32_BYTES as usize;
        entries.push(format!(
            "{}:{{\"dtype\":\"F32\",\"shape\":[{}],\"data_offsets\":[{offset},{end}]}}",
            json::quote(name),
            shape.join(",")
        ));
        offset = end;
    }
    let mut header = format!("{{{}}}", entries.join(",")).into_bytes();
    // Pad with spaces so that the data start at a multiple of 8 bytes (8 + header length).
    while header.len() % 8 != 0 {
        header.push(b' ');
    }
    let mut bytes = Vec::with_capacity(8 + header.len() + offset);
    bytes.extend_from_slice(&(header.len() as u64).to_le_bytes());
    bytes.extend_from_slice(&header);
    for (_, tensor) in tensors {
        for v in tensor.data() {
            bytes.extend_from_slice(&v.to_le_bytes());
        }
    }
    bytes
}

/// The safetensors bytes of `model`'s parameters.
pub fn to_bytes(model: &mut dyn Layer, metadata: &[(&str, &str)]) -> Vec<u8> {
    tensors_to_bytes(&named_params(model), metadata)
}

/// Saves `model`'s parameters to `path` (atomically; parent folders are created).
pub fn save(model: &mut dyn Layer, path: &Path) -> Result<()> {
    save_with_metadata(model, path, &[])
}

/// Saves `model`'s parameters with extra `__metadata__` string pairs (e.g. the epoch, the dataset).
pub fn save_with_metadata(
    model: &mut dyn Layer,
    path: &Path,
    metadata: &[(&str, &str)],
) -> Result<()> {
    write_atomic(path, &to_bytes(model, metadata))
}

/// Reads the 8-byte header length and checks it against the file size; returns it as usize.
fn header_length(first_eight: [u8; 8], file_size: u64, source: &str) -> Result<usize> {
    let length = u64::from_le_bytes(first_eight);
    if length > MAX_HEADER_BYTES {
        return Err(Error::format(
            source,
            format!(
                "the header claims {length} bytes, more than the {MAX_HEADER_BYTES} allowed — this \
                 is not a safetensors file, or its first 8 bytes are damaged"
            ),
        ));
    }
    if length > file_size - 8 {
        return Err(Error::format(
            source,
            format!(
                "the header claims {length} bytes but the file has only {} after the 8-byte length \
                 — the file is truncated or not a safetensors file",
                file_size - 8
            ),
        ));
    }
    Ok(length as usize)
}

fn too_short(source: &str, size: u64) -> Error {
    Error::format(
        source,
        format!(
            "the file has {size} bytes, fewer than the 8-byte header length every safetensors file \
             starts with — it is empty, truncated, or not a checkpoint"
        ),
    )
}

/// Parses and validates a header (see the module docs for every rule) given the size in bytes of
/// the data section that follows it.
pub fn parse_header(header: &[u8], data_size: usize, source: &str) -> Result<Header> {
    let bad = |message: String| Error::format(source, message);
    let text = std::str::from_utf8(header)
        .map_err(|e| bad(format!("the header is not valid UTF-8 ({e})")))?;
    if !text.starts_with('{') {
        return Err(bad(
            "the header must start with '{' (a JSON object)".to_string()
        ));
    }
    let root = json::parse(text).map_err(|e| bad(format!("the header is not valid JSON: {e}")))?;
    let Json::Object(pairs) = root else {
        return Err(bad("the header must be a JSON object".to_string()));
    };
    let mut tensors = Vec::new();
    let mut metadata = Vec::new();
    for (name, value) in pairs {
        if name == "__metadata__" {
            metadata = parse_metadata(value).map_err(bad)?;
            continue;
        }
        tensors.push(parse_entry(name, value, data_size).map_err(bad)?);
    }
    check_coverage(&tensors, data_size).map_err(bad)?;
    Ok(Header { tensors, metadata })
}

fn parse_metadata(value: Json) -> std::result::Result<Vec<(String, String)>, String> {
    let Json::Object(pairs) = value else {
        return Err(format!(
            "__metadata__ must be an object, found {}",
            value.kind()
        ));
    };
    pairs
        .into_iter()
        .map(|(k, v)| match v {
            Json::String(s) => Ok((k, s)),
            other => Err(format!(
                "__metadata__ value of {} must be a string, found {}",
                input::excerpt(&k),
                other.kind()
            )),
        })
        .collect()
}

/// Validates one tensor entry: its fields, dtype, shape and byte range.
fn parse_entry(
    name: String,
    value: Json,
    data_size: usize,
) -> std::result::Result<TensorInfo, String> {
    let quoted = input::excerpt(&name);
    let Json::Object(fields) = value else {
        return Err(format!(
            "tensor {quoted} must be an object with dtype, shape and data_offsets, found {}",
            value.kind()
        ));
    };
    let (mut dtype, mut shape, mut offsets) = (None, None, None);
    for (key, field) in fields {
        match key.as_str() {
            "dtype" => dtype = Some(field),
            "shape" => shape = Some(field),
            "data_offsets" => offsets = Some(field),
            other => {
                return Err(format!(
                    "tensor {quoted} has an unknown field {}",
                    input::excerpt(other)
                ));
            }
        }
    }
    let (Some(dtype), Some(shape), Some(offsets)) = (dtype, shape, offsets) else {
        return Err(format!(
            "tensor {quoted} must have the fields dtype, shape and data_offsets"
        ));
    };
    match dtype.as_str() {
        Some("F32") => {}
        Some(other) => {
            let other = if other.len() <= 16 {
                other.to_string()
            } else {
                input::excerpt(other)
            };
            return Err(format!(
                "tensor {quoted} has dtype {other}, but dlfs stores F32 (32-bit floats); in \
                 PyTorch, convert with `{{k: v.float() for k, v in state_dict.items()}}` before saving"
            ));
        }
        None => return Err(format!("tensor {quoted}: dtype must be a string")),
    }
    let Json::Array(dims) = shape else {
        return Err(format!(
            "tensor {quoted}: shape must be an array of integers"
        ));
    };
    let mut shape = Vec::with_capacity(dims.len());
    let mut elements: usize = 1;
    for d in &dims {
        let d = d
            .as_u64()
            .and_then(|d| usize::try_from(d).ok())
            .ok_or_else(|| format!("tensor {quoted}: shape must hold non-negative integers"))?;
        elements = elements
            .checked_mul(d)
            .ok_or_else(|| format!("tensor {quoted}: the product of the shape overflows"))?;
        shape.push(d);
    }
    let byte_length = elements
        .checked_mul(F32_BYTES as usize)
        .ok_or_else(|| format!("tensor {quoted}: the shape is too large"))?;
    let range: Vec<Option<usize>> = match &offsets {
        Json::Array(items) => items
            .iter()
            .map(|v| v.as_u64().and_then(|v| usize::try_from(v).ok()))
            .collect(),
        _ => Vec::new(),
    };
    let [Some(start), Some(end)] = range[..] else {
        return Err(format!(
            "tensor {quoted}: data_offsets must be [start, end], two non-negative integers"
        ));
    };
    if start > end || end > data_size {
        return Err(format!(
            "tensor {quoted}: data_offsets [{start}, {end}] are outside the {data_size} bytes of \
             data (truncated file?)"
        ));
    }
    if end - start != byte_length {
        return Err(format!(
            "tensor {quoted}: shape {} needs {byte_length} bytes of F32 but data_offsets \
             [{start}, {end}] hold {}",
            shown_shape(&shape),
            end - start
        ));
    }
    Ok(TensorInfo {
        name,
        shape,
        start,
        end,
    })
}

/// A shape for a message: `[5, 10]`, or its first eight sizes and how many there are in all.
fn shown_shape(shape: &[usize]) -> String {
    if shape.len() <= 8 {
        format!("{shape:?}")
    } else {
        format!("{:?} … ({} sizes)", &shape[..8], shape.len())
    }
}

/// The tensors, sorted by offset, must tile the data section: no gap, no overlap, nothing left over.
fn check_coverage(tensors: &[TensorInfo], data_size: usize) -> std::result::Result<(), String> {
    let mut by_offset: Vec<&TensorInfo> = tensors.iter().collect();
    by_offset.sort_by_key(|t| (t.start, t.end));
    let mut expected_start = 0usize;
    for t in by_offset {
        if t.start != expected_start {
            let problem = if t.start < expected_start {
                "overlaps the tensor before it"
            } else {
                "leaves a gap after the tensor before it"
            };
            return Err(format!(
                "tensor {} starts at byte {} of the data, where {expected_start} was expected: \
                 it {problem}",
                input::excerpt(&t.name),
                t.start
            ));
        }
        expected_start = t.end;
    }
    if expected_start != data_size {
        return Err(format!(
            "the tensors cover {expected_start} bytes of data but the file holds {data_size} — \
             extra bytes at the end, or a damaged header"
        ));
    }
    Ok(())
}

/// Checks the header's tensors against the model's parameters: the first parameter missing or of a
/// different shape, then the first tensor the model does not have, is an error naming it.
fn check_against_model(
    header: &Header,
    params: &[(String, Vec<usize>)],
    source: &str,
) -> Result<()> {
    // Lookups by name through hash tables (never iterated, so the order of the report stays the
    // model's and then the file's): linear time even for a hostile header with a million entries.
    let by_name: HashMap<&str, &TensorInfo> = header
        .tensors
        .iter()
        .map(|t| (t.name.as_str(), t))
        .collect();
    let param_names: HashSet<&str> = params.iter().map(|(name, _)| name.as_str()).collect();
    for (name, shape) in params {
        match by_name.get(name.as_str()) {
            None => {
                return Err(Error::format(
                    source,
                    format!(
                        "the checkpoint has no tensor \"{name}\" (the model's parameter of shape \
                         {shape:?}) — was it saved from a different model?"
                    ),
                ));
            }
            Some(t) if &t.shape != shape => {
                return Err(Error::format(
                    source,
                    format!(
                        "tensor \"{name}\" has shape {} in the checkpoint but {shape:?} in the \
                         model — the layer sizes differ",
                        shown_shape(&t.shape)
                    ),
                ));
            }
            Some(_) => {}
        }
    }
    if let Some(extra) = header
        .tensors
        .iter()
        .find(|t| !param_names.contains(t.name.as_str()))
    {
        return Err(Error::format(
            source,
            format!(
                "the checkpoint has a tensor {} (shape {}) that the model does not have — \
                 was it saved from a different model?",
                input::excerpt(&extra.name),
                shown_shape(&extra.shape)
            ),
        ));
    }
    Ok(())
}

/// Decodes little-endian f32 bytes.
fn decode_f32(bytes: &[u8]) -> Vec<f32> {
    bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}

/// Copies the validated tensors from `data` into the model's parameters.
fn assign(model: &mut dyn Layer, header: &Header, data: &[u8]) {
    let by_name: HashMap<&str, &TensorInfo> = header
        .tensors
        .iter()
        .map(|t| (t.name.as_str(), t))
        .collect();
    model.visit_params(&mut |name, p| {
        if let Some(t) = by_name.get(name) {
            let values = p.value.data_mut();
            for (v, b) in values.iter_mut().zip(data[t.start..t.end].chunks_exact(4)) {
                *v = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
            }
        }
    });
}

fn shapes_of(model: &mut dyn Layer) -> Vec<(String, Vec<usize>)> {
    let mut shapes = Vec::new();
    model.visit_params(&mut |name, p| shapes.push((name.to_string(), p.value.shape().to_vec())));
    shapes
}

/// Splits in-memory file bytes into a validated header and the data section.
fn split(bytes: &[u8], source: &str) -> Result<(Header, usize)> {
    let size = bytes.len() as u64;
    let Some(first_eight) = bytes.first_chunk::<8>() else {
        return Err(too_short(source, size));
    };
    let n = header_length(*first_eight, size, source)?;
    let data_size = bytes.len() - 8 - n;
    let header = parse_header(&bytes[8..8 + n], data_size, source)?;
    Ok((header, 8 + n))
}

/// Loads parameters from safetensors `bytes` (named `source` in errors) into `model`, after every
/// check of the module docs. Returns the file's metadata. On error the model is unchanged.
pub fn load_from_bytes(
    model: &mut dyn Layer,
    bytes: &[u8],
    source: &str,
) -> Result<Vec<(String, String)>> {
    let (header, data_start) = split(bytes, source)?;
    check_against_model(&header, &shapes_of(model), source)?;
    assign(model, &header, &bytes[data_start..]);
    Ok(header.metadata)
}

/// Reads a whole checkpoint from bytes without a model.
pub fn from_bytes(bytes: &[u8], source: &str) -> Result<Checkpoint> {
    let (header, data_start) = split(bytes, source)?;
    let data = &bytes[data_start..];
    let tensors = header
        .tensors
        .iter()
        .map(|t| {
            (
                t.name.clone(),
                Tensor::from_vec(&t.shape, decode_f32(&data[t.start..t.end])),
            )
        })
        .collect();
    Ok(Checkpoint {
        tensors,
        metadata: header.metadata,
    })
}

/// Loads parameters saved by [`save`] (or by PyTorch's `safetensors.torch.save_file`) from `path`
/// into `model`. Returns the file's metadata. On error the model is unchanged.
///
/// The header is read and checked against the model first; then exactly the model's bytes are read.
pub fn load(model: &mut dyn Layer, path: &Path) -> Result<Vec<(String, String)>> {
    let source = path.display().to_string();
    let io_error = |e: std::io::Error| Error::io(path, e, FILE.hint);
    let (mut file, size) = input::open(path, &FILE)?;
    if size < 8 {
        return Err(too_short(&source, size));
    }
    let mut first_eight = [0u8; 8];
    file.read_exact(&mut first_eight).map_err(io_error)?;
    let n = header_length(first_eight, size, &source)?;
    let mut header_bytes = vec![0u8; n];
    file.read_exact(&mut header_bytes).map_err(io_error)?;
    let data_size = usize::try_from(size - 8 - n as u64)
        .map_err(|_| Error::format(&source, "the file is too large for this machine's memory"))?;
    // Validating the header against the model bounds the data to the model's own size: each tensor
    // must match a parameter's shape and the tensors must tile the data exactly.
    let header = parse_header(&header_bytes, data_size, &source)?;
    check_against_model(&header, &shapes_of(model), &source)?;
    let mut data = vec![0u8; data_size];
    file.read_exact(&mut data).map_err(io_error)?;
    assign(model, &header, &data);
    Ok(header.metadata)
}

/// Reads every tensor of a checkpoint file without a model (e.g. to list what a file holds).
pub fn read(path: &Path) -> Result<Checkpoint> {
    let bytes = input::read_bytes(path, &FILE)?;
    from_bytes(&bytes, &path.display().to_string())
}
