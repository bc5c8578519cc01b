//! `results.json`: every number of a chapter's summary tables, for scripts (chapters 16–18).
//!
//! A chapter records its results under dotted keys, `results.set("gpt.val_loss_nats", 1.88)`, and
//! writes them once at the end. A dot is one level of nesting, so the file reads
//!
//! ```text
//! {
//!   "gpt": {
//!     "val_loss_nats": 1.88,
//!     "params": 809856
//!   }
//! }
//! ```
//!
//! Keys keep the order in which they were first set (a reader sees the chapter's order). Setting a
//! key again replaces its value. Non-finite numbers have no JSON spelling and are written as `null`
//! (a script then sees "no result" rather than a parse error). The file is written atomically.
//!
//! What it leaves out: arrays of objects (a series is an array of numbers), reading the file back.

use crate::error::Result;
use std::path::Path;

/// One value in `results.json`.
#[derive(Clone, Debug, PartialEq)]
pub enum ResultValue {
    /// A number (written with enough digits to read back the same f64; NaN and ±∞ as `null`).
    Number(f64),
    /// A whole number (counts, parameters, seeds).
    Integer(i64),
    /// Text (a setting, a kernel name, a reason).
    Text(String),
    /// A yes/no answer (e.g. "target met").
    Flag(bool),
    /// A series of numbers (per seed, per step).
    Numbers(Vec<f64>),
}

impl From<f64> for ResultValue {
    fn from(v: f64) -> ResultValue {
        ResultValue::Number(v)
    }
}

impl From<f32> for ResultValue {
    fn from(v: f32) -> ResultValue {
        ResultValue::Number(f64::from(v))
    }
}

impl From<usize> for ResultValue {
    fn from(v: usize) -> ResultValue {
        ResultValue::Integer(i64::try_from(v).unwrap_or(i64::MAX))
    }
}

impl From<i64> for ResultValue {
    fn from(v: i64) -> ResultValue {
        ResultValue::Integer(v)
    }
}

impl From<bool> for ResultValue {
    fn from(v: bool) -> ResultValue {
        ResultValue::Flag(v)
    }
}

impl From<&str> for ResultValue {
    fn from(v: &str) -> ResultValue {
        ResultValue::Text(v.to_string())
    }
}

impl From<String> for ResultValue {
    fn from(v: String) -> ResultValue {
        ResultValue::Text(v)
    }
}

impl From<Vec<f64>> for ResultValue {
    fn from(v: Vec<f64>) -> ResultValue {
        ResultValue::Numbers(v)
    }
}

impl From<&[f32]> for ResultValue {
    fn from(v: &[f32]) -> ResultValue {
        ResultValue::Numbers(v.iter().map(|&x| f64::from(x)).collect())
    }
}

/// A chapter's results: dotted keys → values, in the order first set.
#[derive(Clone, Debug, Default)]
pub struct Results {
    entries: Vec<(String, ResultValue)>,
}

impl Results {
    /// No results yet.
    pub fn new() -> Results {
        Results::default()
    }

    /// Records `value` under `key` (e.g. `"int8.accuracy"`), replacing an earlier value.
    /// Panics on a key that is empty, has an empty part (`"a..b"`), or is both a value and a group
    /// (`"a"` and `"a.b"`): those are mistakes in the chapter, not in the user's input.
    pub fn set(&mut self, key: &str, value: impl Into<ResultValue>) {
        assert!(
            !key.is_empty() && key.split('.').all(|part| !part.is_empty()),
            "results.json: the key {key:?} has an empty part"
        );
        for (existing, _) in &self.entries {
            let clash = existing.len() != key.len()
                && (existing.starts_with(&format!("{key}."))
                    || key.starts_with(&format!("{existing}.")));
            assert!(
                !clash,
                "results.json: {key:?} and {existing:?} would make one key both a value and a group"
            );
        }
        let value = value.into();
        match self.entries.iter_mut().find(|(k, _)| k == key) {
            Some(entry) => entry.1 = value,
            None => self.entries.push((key.to_string(), value)),
        }
    }

    /// The value recorded under `key`, if any.
    pub fn get(&self, key: &str) -> Option<&ResultValue> {
        self.entries.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// The number of recorded values.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when nothing has been recorded.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The JSON text: nested objects, two-space indentation, a final newline.
    pub fn to_json(&self) -> String {
        let mut out = String::new();
        let keys: Vec<Vec<&str>> = self
            .entries
            .iter()
            .map(|(k, _)| k.split('.').collect())
            .collect();
        write_group(&mut out, &self.entries, &keys, &[], 0);
        out.push('\n');
        out
    }

    /// Writes [`Results::to_json`] to `path` atomically.
    pub fn write(&self, path: &Path) -> Result<()> {
        super::write_atomic(path, self.to_json().as_bytes())
    }
}

/// Writes the object holding every entry whose key starts with `prefix`, at nesting `depth`.
fn write_group(
    out: &mut String,
    entries: &[(String, ResultValue)],
    keys: &[Vec<&str>],
    prefix: &[&str],
    depth: usize,
) {
    // The members of this object, in the order first seen: a leaf value or a nested group.
    let mut members: Vec<&str> = Vec::new();
    for parts in keys {
        if parts.len() > depth && parts[..depth] == *prefix && !members.contains(&parts[depth]) {
            members.push(parts[depth]);
        }
    }
    let indent = "  ".repeat(depth + 1);
    out.push('{');
    for (i, member) in members.iter().enumerate() {
        out.push_str(if i == 0 { "\n" } else { ",\n" });
        out.push_str(&indent);
        out.push_str(&quote(member));
        out.push_str(": ");
        let mut path = prefix.to_vec();
        path.push(member);
        let leaf = keys
            .iter()
            .zip(entries)
            .find(|(parts, _)| parts.len() == depth + 1 && parts[..] == path[..]);
        match leaf {
            Some((_, (_, value))) => write_value(out, value),
            None => write_group(out, entries, keys, &path, depth + 1),
        }
    }
    if !members.is_empty() {
        out.push('\n');
        out.push_str(&"  ".repeat(depth));
    }
    out.push('}');
}

fn write_value(out: &mut String, value: &ResultValue) {
    match value {
        ResultValue::Number(v) => out.push_str(&number(*v)),
        ResultValue::Integer(v) => out.push_str(&v.to_string()),
        ResultValue::Text(v) => out.push_str(&quote(v)),
        ResultValue::Flag(v) => out.push_str(if *v { "true" } else { "false" }),
        ResultValue::Numbers(vs) => {
            let items: Vec<String> = vs.iter().map(|&v| number(v)).collect();
            out.push('[');
            out.push_str(&items.join(", "));
            out.push(']');
        }
    }
}

/// A number as JSON: Rust's shortest round-trip form, `null` when not finite.
fn number(v: f64) -> String {
    if v.is_finite() {
        format!("{v:?}")
    } else {
        "null".to_string()
    }
}

/// A JSON string literal: quotes, backslashes and control characters escaped.
fn quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nests_dotted_keys_in_first_seen_order() {
        let mut r = Results::new();
        r.set("gpt.val_loss_nats", 1.5f64);
        r.set("gpt.params", 42usize);
        r.set("transfer_text.scratch_100_acc", 0.5f64);
        r.set("gpt.note", "a \"quoted\" word");
        r.set("gpt.params", 43usize);
        r.set("bad", f64::NAN);
        assert_eq!(
            r.to_json(),
            "{\n  \"gpt\": {\n    \"val_loss_nats\": 1.5,\n    \"params\": 43,\n    \"note\": \
             \"a \\\"quoted\\\" word\"\n  },\n  \"transfer_text\": {\n    \"scratch_100_acc\": 0.5\n  \
             },\n  \"bad\": null\n}\n"
        );
    }

    #[test]
    #[should_panic(expected = "both a value and a group")]
    fn a_key_cannot_be_value_and_group() {
        let mut r = Results::new();
        r.set("a", 1.0f64);
        r.set("a.b", 2.0f64);
    }
}
