//! A model's parameters as data: [`StateDict`], the ordered name → tensor map of PyTorch's
//! `model.state_dict()`, and how one is loaded back ([`crate::nn::Layer::load_state_dict`]).
//! Chapters 12–14 save and resume with it; chapters 16–18 load parts of trained models with it.
//!
//! # Names
//! A name is the path of a parameter in the model, PyTorch's: a [`super::Sequential`] prefixes its
//! children's names with their index (`0.weight`), a model struct with its field name
//! (`conv1.weight`), a stacked LSTM numbers its layers (`weight_ih_l1`). So the state dict of a
//! model built here and of the same model built in PyTorch have the same keys.
//!
//! # Loading, strictly or not
//! `load_state_dict(&state, true)` (strict) demands the same names on both sides, like
//! [`crate::checkpoint::load`]. `load_state_dict(&state, false)` loads what matches and returns a
//! [`LoadReport`] with PyTorch's `missing_keys` (parameters the dict lacks; they keep their values)
//! and `unexpected_keys` (entries the model lacks; ignored). A matching name with another shape is an
//! error in both modes, as in PyTorch: loading it would silently break the model.
//!
//! # Renaming keys: loading a backbone from a bigger model
//! The checkpoint of a classifier `{backbone.0.weight, …, head.weight, head.bias}` does not fit a
//! model that *is* the backbone (`{0.weight, …}`). The methods that rename keys are the hook:
//!
//! ```
//! use dlfs::nn::{Layer, Linear, Relu, Sequential};
//! use dlfs::probability::Rng;
//! let backbone = || {
//!     let mut model = Sequential::default();
//!     model.push(Linear::new(4, 8, &mut Rng::new(1)));
//!     model.push(Relu::new());
//!     model
//! };
//! // The trained big model's keys: the backbone's prefixed "backbone.", and a head.
//! let mut trained = backbone().state_dict().add_prefix("backbone.");
//! trained.push("head.weight", dlfs::Tensor::zeros(&[2, 8]));
//! // A fresh backbone takes the "backbone.*" entries, renamed: strict, nothing missing.
//! let mut fresh = backbone();
//! let report = fresh.load_state_dict(&trained.clone().submodule("backbone"), true).unwrap();
//! assert!(report.is_exact());
//! // Or without renaming and not strict: nothing matches, and the report says so.
//! let report = fresh.load_state_dict(&trained, false).unwrap();
//! assert_eq!(report.missing_keys, ["0.weight", "0.bias"]);
//! ```
//!
//! [`StateDict::submodule`] keeps the entries under a module path and drops that path;
//! [`StateDict::strip_prefix`] removes a literal prefix where present (PyTorch's
//! `consume_prefix_in_state_dict_if_present`, e.g. `module.` from a `DataParallel` checkpoint);
//! [`StateDict::add_prefix`], [`StateDict::rename`] and, for anything else, [`StateDict::map_keys`].
//!
//! What it leaves out: buffers (no layer here has running statistics), non-F32 tensors, and
//! PyTorch's `_metadata` versions.

use super::layer::Param;
use crate::error::{Error, Result};
use crate::tensor::Tensor;
use std::collections::{HashMap, HashSet};
use std::fmt;

/// An ordered map from parameter names to tensors (PyTorch's `OrderedDict` from `state_dict()`).
///
/// The order is the order of insertion — for [`crate::nn::Layer::state_dict`], `visit_params`
/// order — and names are unique.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StateDict {
    entries: Vec<(String, Tensor)>,
}

/// What a [`crate::nn::Layer::load_state_dict`] did not match (PyTorch's `_IncompatibleKeys`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LoadReport {
    /// The model's parameters that the state dict lacks, in `visit_params` order (not loaded: they
    /// keep their values).
    pub missing_keys: Vec<String>,
    /// The state dict's entries that the model lacks, in the dict's order (ignored).
    pub unexpected_keys: Vec<String>,
}

impl LoadReport {
    /// True when every parameter was loaded and every entry used.
    pub fn is_exact(&self) -> bool {
        self.missing_keys.is_empty() && self.unexpected_keys.is_empty()
    }
}

impl fmt::Display for LoadReport {
    /// `every key matched`, or e.g. `missing keys: "fc.weight", "fc.bias"; unexpected keys: "head.weight"`
    /// (at most 8 names of each, then how many more).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_exact() {
            return write!(f, "every key matched");
        }
        let mut parts = Vec::new();
        if !self.missing_keys.is_empty() {
            parts.push(format!("missing keys: {}", name_list(&self.missing_keys)));
        }
        if !self.unexpected_keys.is_empty() {
            parts.push(format!(
                "unexpected keys: {}",
                name_list(&self.unexpected_keys)
            ));
        }
        write!(f, "{}", parts.join("; "))
    }
}

impl StateDict {
    /// An empty state dict.
    pub fn new() -> StateDict {
        StateDict::default()
    }

    /// A state dict from `(name, tensor)` pairs, kept in this order; a name given twice is an
    /// [`Error::Data`] naming it.
    pub fn from_entries(entries: Vec<(String, Tensor)>) -> Result<StateDict> {
        let mut seen = HashSet::with_capacity(entries.len());
        for (name, _) in &entries {
            if !seen.insert(name.as_str()) {
                return Err(Error::data(format!(
                    "state dict: the name \"{name}\" appears twice; every name must be unique"
                )));
            }
        }
        Ok(StateDict { entries })
    }

    /// Appends an entry; panics if the name is already present (use [`StateDict::insert`] to replace).
    pub fn push(&mut self, name: &str, tensor: Tensor) {
        assert!(
            !self.contains(name),
            "StateDict::push: the name \"{name}\" is already present (use insert to replace it)"
        );
        self.entries.push((name.to_string(), tensor));
    }

    /// Sets the tensor under `name`: replaces it in place (same position) and returns the old one,
    /// or appends a new entry and returns `None`.
    pub fn insert(&mut self, name: &str, tensor: Tensor) -> Option<Tensor> {
        match self.entries.iter_mut().find(|(n, _)| n == name) {
            Some((_, old)) => Some(std::mem::replace(old, tensor)),
            None => {
                self.entries.push((name.to_string(), tensor));
                None
            }
        }
    }

    /// The tensor under `name`.
    pub fn get(&self, name: &str) -> Option<&Tensor> {
        self.entries.iter().find(|(n, _)| n == name).map(|(_, t)| t)
    }

    /// Removes the entry `name` and returns its tensor.
    pub fn remove(&mut self, name: &str) -> Option<Tensor> {
        let index = self.entries.iter().position(|(n, _)| n == name)?;
        Some(self.entries.remove(index).1)
    }

    /// True when there is an entry `name`.
    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// The number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when there are no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The names, in order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|(n, _)| n.as_str())
    }

    /// The entries, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Tensor)> {
        self.entries.iter().map(|(n, t)| (n.as_str(), t))
    }

    /// The entries as `(name, tensor)` pairs, in order (what [`crate::checkpoint`] writes).
    pub fn entries(&self) -> &[(String, Tensor)] {
        &self.entries
    }

    /// The entries, consuming the dict.
    pub fn into_entries(self) -> Vec<(String, Tensor)> {
        self.entries
    }

    /// The general key-mapping hook: `f(name)` returns the new name, or `None` to drop the entry.
    /// The order is kept. Two entries mapped to the same name are an [`Error::Data`] naming both.
    pub fn map_keys(self, mut f: impl FnMut(&str) -> Option<String>) -> Result<StateDict> {
        let mut mapped: Vec<(String, Tensor)> = Vec::with_capacity(self.entries.len());
        let mut origin: HashMap<String, String> = HashMap::new();
        for (name, tensor) in self.entries {
            let Some(new_name) = f(&name) else { continue };
            if let Some(first) = origin.get(&new_name) {
                return Err(Error::data(format!(
                    "state dict: renaming gives two entries the name \"{new_name}\" (from \
                     \"{first}\" and from \"{name}\"); rename or drop one of them first"
                )));
            }
            origin.insert(new_name.clone(), name);
            mapped.push((new_name, tensor));
        }
        Ok(StateDict { entries: mapped })
    }

    /// The entries under the module `path` (`backbone` selects `backbone.*`, not `backbone2.*`), with
    /// `path.` removed from their names; the others are dropped. The state dict of that submodule:
    /// `model.state_dict().submodule("fc1")` has the keys `weight` and `bias`.
    pub fn submodule(self, path: &str) -> StateDict {
        let prefix = format!("{path}.");
        let entries = self
            .entries
            .into_iter()
            .filter_map(|(name, tensor)| {
                name.strip_prefix(&prefix)
                    .map(|rest| (rest.to_string(), tensor))
            })
            .collect();
        StateDict { entries }
    }

    /// Removes the literal `prefix` from every name that starts with it and keeps the other entries
    /// unchanged (PyTorch's `consume_prefix_in_state_dict_if_present`, e.g. `"module."` from a
    /// `DataParallel` checkpoint). An error if two entries end up with the same name.
    pub fn strip_prefix(self, prefix: &str) -> Result<StateDict> {
        self.map_keys(|name| Some(name.strip_prefix(prefix).unwrap_or(name).to_string()))
    }

    /// Puts `prefix` in front of every name (e.g. `"backbone."` to save a part under the names of a
    /// bigger model).
    pub fn add_prefix(self, prefix: &str) -> StateDict {
        let entries = self
            .entries
            .into_iter()
            .map(|(name, tensor)| (format!("{prefix}{name}"), tensor))
            .collect();
        StateDict { entries }
    }

    /// Renames the entry `from` to `to` (same position). An [`Error::Data`] if there is no `from`,
    /// or if `to` is already taken by another entry.
    pub fn rename(mut self, from: &str, to: &str) -> Result<StateDict> {
        let Some(index) = self.entries.iter().position(|(n, _)| n == from) else {
            let names: Vec<String> = self.names().map(str::to_string).collect();
            return Err(Error::data(format!(
                "state dict: cannot rename \"{from}\": there is no such entry; the entries are {}",
                name_list(&names)
            )));
        };
        if from != to && self.contains(to) {
            return Err(Error::data(format!(
                "state dict: cannot rename \"{from}\" to \"{to}\": an entry \"{to}\" exists already"
            )));
        }
        self.entries[index].0 = to.to_string();
        Ok(self)
    }
}

/// True when the parameter `name` lies under `path`: equal to it, below it as a module path
/// (`fc1` covers `fc1.weight` but not `fc10.weight`), or `path` is empty (everything).
pub(crate) fn is_under(name: &str, path: &str) -> bool {
    path.is_empty()
        || name == path
        || (name.starts_with(path) && name.as_bytes().get(path.len()) == Some(&b'.'))
}

/// At most the first 8 names, quoted and comma-separated, then how many more there are: for error
/// messages that must stay short whatever the model's size.
pub(crate) fn name_list(names: &[String]) -> String {
    const SHOWN: usize = 8;
    if names.is_empty() {
        return "(none)".to_string();
    }
    let mut text: Vec<String> = names
        .iter()
        .take(SHOWN)
        .map(|n| format!("\"{n}\""))
        .collect();
    if names.len() > SHOWN {
        text.push(format!("and {} more", names.len() - SHOWN));
    }
    text.join(", ")
}

/// A model's `visit_params`, as a value: calls its argument for every parameter.
pub(crate) type VisitParams<'a> = dyn FnMut(&mut dyn FnMut(&str, &mut Param)) + 'a;

/// What [`crate::nn::Layer::load_state_dict`] does, given the model's `visit_params`: check every
/// name and shape first, then copy. See the module docs.
pub(crate) fn load_into(
    visit_params: &mut VisitParams<'_>,
    state: &StateDict,
    strict: bool,
) -> Result<LoadReport> {
    // Lookups through a hash table that is never iterated: the report's order is the model's
    // (missing) and the dict's (unexpected).
    let by_name: HashMap<&str, &Tensor> = state.iter().collect();
    let mut model_names: Vec<String> = Vec::new();
    let mut missing = Vec::new();
    let mut shape_error = None;
    visit_params(&mut |name, p| {
        model_names.push(name.to_string());
        match by_name.get(name) {
            None => missing.push(name.to_string()),
            Some(t) if t.shape() != p.value.shape() && shape_error.is_none() => {
                shape_error = Some(format!(
                    "load_state_dict: \"{name}\" has shape {:?} in the state dict but {:?} in the \
                     model — the layer sizes differ (a model built with other settings?)",
                    t.shape(),
                    p.value.shape()
                ));
            }
            Some(_) => {}
        }
    });
    if let Some(message) = shape_error {
        return Err(Error::data(message));
    }
    let model_set: HashSet<&str> = model_names.iter().map(String::as_str).collect();
    let unexpected: Vec<String> = state
        .names()
        .filter(|n| !model_set.contains(n))
        .map(str::to_string)
        .collect();
    if strict && !(missing.is_empty() && unexpected.is_empty()) {
        let mut problems = Vec::new();
        if !missing.is_empty() {
            problems.push(format!(
                "missing from the state dict: {}",
                name_list(&missing)
            ));
        }
        if !unexpected.is_empty() {
            problems.push(format!("not in the model: {}", name_list(&unexpected)));
        }
        return Err(Error::data(format!(
            "load_state_dict (strict): the names do not match — {}. Was it saved from a different \
             model? To load a part, rename the keys (StateDict::submodule, strip_prefix, map_keys) \
             or load with strict = false",
            problems.join("; ")
        )));
    }
    visit_params(&mut |name, p| {
        if let Some(t) = by_name.get(name) {
            p.value.data_mut().copy_from_slice(t.data());
        }
    });
    Ok(LoadReport {
        missing_keys: missing,
        unexpected_keys: unexpected,
    })
}
