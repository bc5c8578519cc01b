//! Saving a training run every epoch and resuming it later, bit for bit (chapters 12–14, and every
//! later chapter that trains).
//!
//! A run saved under a folder is a pair of files:
//!
//! ```text
//! NAME.safetensors                 the model: PyTorch's names, load_state_dict(strict=True) loads it
//! NAME.training_state.safetensors  everything else needed to go on (tensors + string metadata):
//!   tensors   optimizer.<param>.<state>   the optimizer's state, PyTorch's state names
//!                                         (optimizer.conv1.weight.momentum_buffer, ….exp_avg, ….step)
//!             order.<name>                a shuffled example order (as f32: exact below 2²⁴)
//!   metadata  dlfs.format                 "training-state 1"
//!             model.file, model.bytes, model.crc32     which model file belongs to this state
//!             run.epochs_done, run.epochs, run.base_learning_rate
//!             optimizer.kind, optimizer.steps, optimizer.lr, optimizer.<hyper-parameter>
//!             rng.<name>                  a generator's four state words (hex): the shuffling,
//!                                         augmentation, and model.<layer>.rng (dropout) generators
//!             model_setting.<flag>, run_setting.<flag>   the flags that define the run
//!             history                     the per-epoch records, as JSON (for the plots)
//! ```
//!
//! **Why the run is bit-identical after a resume.** Everything a later epoch reads is in the pair:
//! the weights, the optimizer's memory (momentum, Adam's moments and step count), every random
//! generator's exact position, the example order the next shuffle starts from, the learning-rate
//! schedule's base and position (the epoch). With the crate's thread-count-independent arithmetic,
//! the N-epoch run and the run stopped after k epochs and resumed compute the same numbers in the
//! same order. A run killed in the middle of an epoch restarts that epoch from its beginning.
//!
//! **Why a crash cannot leave a mismatched pair.** Each file is written whole under a temporary name
//! and renamed ([`crate::report::write_atomic`]), and [`TrainingRun::save`] orders the writes:
//! 1. the new model goes to `NAME.safetensors.next` (the old pair is untouched);
//! 2. the new state file replaces the old one; it records the new model file's size and CRC-32;
//! 3. `NAME.safetensors.next` is renamed over `NAME.safetensors`.
//!
//! [`TrainingRun::load`] accepts the model file whose size and CRC-32 match the state, and finishes
//! step 3 if a crash came between 2 and 3. A crash before 2 leaves the previous epoch's pair.
//!
//! **Settings.** A run records the flags that define it: those that shape the model
//! ([`TrainingRun::model_setting`]) and the rest of the recipe ([`TrainingRun::run_setting`]: data,
//! seed, learning rate, …). [`SavedRun::apply_to`] continues with the saved values of the flags not
//! given again, and refuses a flag given with another value, naming it. `--epochs` may change: a
//! resumed run can go further than first planned.
//!
//! Use (the shape of chapter 12's loop; `fit` does the same through
//! [`super::FitConfig::checkpoint`] and [`super::FitConfig::resume_from`]):
//!
//! ```no_run
//! use dlfs::nn::{Linear, Sequential};
//! use dlfs::optim::{Optimizer, Sgd};
//! use dlfs::probability::Rng;
//! use dlfs::train::resume::{TrainingProgress, TrainingRun};
//! # fn main() -> dlfs::Result<()> {
//! let mut rng = Rng::new(0);
//! let mut model = Sequential::new(vec![Box::new(Linear::new(4, 2, &mut rng))]);
//! let mut optimizer = Sgd::new(0.1).momentum(0.9);
//! let run = TrainingRun::new("out/demo".as_ref(), "demo")
//!     .model_setting("hidden", 2)
//!     .run_setting("lr", 0.1)
//!     .epochs(10);
//! let mut progress = if run.exists() {
//!     run.load()?.restore(&mut model, &mut optimizer)?
//! } else {
//!     let mut fresh = TrainingProgress::new(optimizer.learning_rate());
//!     fresh.set_rng("shuffle", &Rng::new(1));
//!     fresh
//! };
//! let mut shuffle = progress.rng("shuffle")?;
//! for epoch in progress.epochs_done..10 {
//!     // … one epoch of training with `shuffle` …
//!     progress.epochs_done = epoch + 1;
//!     progress.set_rng("shuffle", &shuffle);
//!     run.save(&mut model, &optimizer, &progress)?;
//! }
//! # Ok(()) }
//! ```
//!
//! What it leaves out: saving in the middle of an epoch (a killed run repeats its last partial
//! epoch), keeping older epochs' files, and layers with other hidden state than parameters and
//! random generators (none in this crate keeps any: no batch normalisation).

use super::history::{EpochRecord, History};
use crate::checkpoint::{self, json};
use crate::cli::Args;
use crate::error::{Error, Result};
use crate::input;
use crate::nn::Layer;
use crate::optim::{Optimizer, OptimizerState, ParamState};
use crate::probability::Rng;
use crate::report::png::crc32;
use crate::report::write_atomic;
use crate::tensor::Tensor;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// The value of `dlfs.format` in a state file this module writes and reads.
pub const STATE_FORMAT: &str = "training-state 1";

/// What [`TrainingRun::load`] reads, for the model and for its state file: a regular file (a pipe
/// or a device is refused, see [`crate::input`]) of at most 4 GiB — far above any model of this
/// crate, and a bound on what a damaged or foreign file can make it allocate.
pub const SAVED_RUN_FILE: input::Cap = input::Cap {
    what: "a saved run (NAME.safetensors or NAME.training_state.safetensors)",
    max_bytes: 4 << 30,
    hint: "resume from the --out folder of an earlier run of the same chapter",
};

/// Examples are stored as f32 in an order tensor: exact up to 2²⁴.
const MAX_ORDER_LEN: usize = 1 << 24;

/// Where a run is saved and what defines it (see the module docs).
#[derive(Clone, Debug)]
pub struct TrainingRun {
    folder: PathBuf,
    name: String,
    model_settings: Vec<(String, String)>,
    run_settings: Vec<(String, String)>,
    epochs: usize,
    metadata: Vec<(String, String)>,
}

/// Where a run stands after some epochs: what a training loop keeps between epochs besides the
/// model and the optimizer.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TrainingProgress {
    /// Epochs completed (the next epoch to run is `epochs_done + 1`).
    pub epochs_done: usize,
    /// The learning rate a schedule is relative to (the optimizer's rate when the run started).
    pub base_learning_rate: f32,
    /// One record per completed epoch.
    pub history: History,
    rngs: Vec<(String, [u64; 4])>,
    orders: Vec<(String, Vec<usize>)>,
}

impl TrainingProgress {
    /// The progress of a run that has not started: no epochs, an empty history.
    pub fn new(base_learning_rate: f32) -> TrainingProgress {
        TrainingProgress {
            base_learning_rate,
            ..TrainingProgress::default()
        }
    }

    /// Records the exact position of the generator called `name` (replacing an earlier one).
    pub fn set_rng(&mut self, name: &str, rng: &Rng) {
        set_named(&mut self.rngs, name, rng.state());
    }

    /// The generator called `name`, continuing where it was when it was recorded.
    pub fn rng(&self, name: &str) -> Result<Rng> {
        let state = self
            .rngs
            .iter()
            .find(|(n, _)| n == name)
            .ok_or_else(|| {
                Error::data(format!(
                    "the saved run has no random generator \"{name}\" (saved by another program?)"
                ))
            })?
            .1;
        Rng::from_state(state).ok_or_else(|| {
            Error::data(format!(
                "the saved state of random generator \"{name}\" is all zeros, which no generator \
                 reaches: the state file is damaged"
            ))
        })
    }

    /// Records an example order (e.g. the shuffled order of the last epoch, which the next shuffle
    /// permutes further).
    pub fn set_order(&mut self, name: &str, order: &[usize]) {
        set_named(&mut self.orders, name, order.to_vec());
    }

    /// The order called `name`, checked to be a permutation of `0..len` (the dataset's size now).
    pub fn order(&self, name: &str, len: usize) -> Result<Vec<usize>> {
        let order = &self
            .orders
            .iter()
            .find(|(n, _)| n == name)
            .ok_or_else(|| Error::data(format!("the saved run has no example order \"{name}\"")))?
            .1;
        let mut seen = vec![false; len];
        let is_permutation = order.len() == len
            && order
                .iter()
                .all(|&i| i < len && !std::mem::replace(&mut seen[i], true));
        if !is_permutation {
            return Err(Error::data(format!(
                "the saved example order \"{name}\" covers {} examples but the data now hold {len} \
                 (or it is damaged): resume with the same data and --limit",
                order.len()
            )));
        }
        Ok(order.clone())
    }
}

fn set_named<T>(list: &mut Vec<(String, T)>, name: &str, value: T) {
    match list.iter_mut().find(|(n, _)| n == name) {
        Some(entry) => entry.1 = value,
        None => list.push((name.to_string(), value)),
    }
}

impl TrainingRun {
    /// A run saved in `folder` as `NAME.safetensors` and `NAME.training_state.safetensors`.
    pub fn new(folder: &Path, name: &str) -> TrainingRun {
        TrainingRun {
            folder: folder.to_path_buf(),
            name: name.to_string(),
            model_settings: Vec::new(),
            run_settings: Vec::new(),
            epochs: 0,
            metadata: Vec::new(),
        }
    }

    /// Records a flag that shapes the model (`hidden`, `num-words`): resuming with another value is
    /// an error naming it. A switch records `true` or an empty value (off); an optional flag that
    /// was not set records an empty value.
    pub fn model_setting(mut self, flag: &str, value: impl ToString) -> TrainingRun {
        set_named(&mut self.model_settings, flag, value.to_string());
        self
    }

    /// Records a flag of the rest of the recipe (`data`, `seed`, `lr`, `batch-size`, …); resuming
    /// with another value is an error naming it, as for [`TrainingRun::model_setting`].
    pub fn run_setting(mut self, flag: &str, value: impl ToString) -> TrainingRun {
        set_named(&mut self.run_settings, flag, value.to_string());
        self
    }

    /// The number of epochs the run is to reach (`--epochs`; a resume may change it).
    pub fn epochs(mut self, epochs: usize) -> TrainingRun {
        self.epochs = epochs;
        self
    }

    /// A `__metadata__` pair written into every saved model file (what the model is, its data, …).
    pub fn metadata(mut self, key: &str, value: impl ToString) -> TrainingRun {
        set_named(&mut self.metadata, key, value.to_string());
        self
    }

    /// `FOLDER/NAME.safetensors`: the model's weights, as every save leaves them.
    pub fn model_path(&self) -> PathBuf {
        self.folder.join(format!("{}.safetensors", self.name))
    }

    /// `FOLDER/NAME.training_state.safetensors`: everything else.
    pub fn state_path(&self) -> PathBuf {
        self.folder
            .join(format!("{}.training_state.safetensors", self.name))
    }

    /// Where a save writes the new model before its state (see the module docs).
    fn next_model_path(&self) -> PathBuf {
        self.folder.join(format!("{}.safetensors.next", self.name))
    }

    /// True when a saved run is there (its state file exists).
    pub fn exists(&self) -> bool {
        self.state_path().is_file()
    }

    /// Saves the pair after an epoch: the model (with [`TrainingRun::metadata`] and `epochs_done`),
    /// then the optimizer's state, `progress`, the model's random generators and the settings.
    pub fn save(
        &self,
        model: &mut dyn Layer,
        optimizer: &dyn Optimizer,
        progress: &TrainingProgress,
    ) -> Result<()> {
        self.save_with_metadata(model, optimizer, progress, &[])
    }

    /// [`TrainingRun::save`] with extra metadata for this epoch's model file (e.g. its accuracy).
    pub fn save_with_metadata(
        &self,
        model: &mut dyn Layer,
        optimizer: &dyn Optimizer,
        progress: &TrainingProgress,
        extra: &[(&str, &str)],
    ) -> Result<()> {
        let epochs_done = progress.epochs_done.to_string();
        let mut metadata: Vec<(&str, &str)> = self
            .metadata
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        metadata.push(("epochs_done", &epochs_done));
        metadata.extend_from_slice(extra);
        let model_bytes = checkpoint::to_bytes(model, &metadata);
        let optimizer_state = optimizer.export_state()?;
        let mut model_rngs = Vec::new();
        model.visit_rngs(&mut |name, rng| model_rngs.push((format!("model.{name}"), rng.state())));
        let state_bytes =
            self.state_bytes(&optimizer_state, progress, &model_rngs, &model_bytes)?;
        let next = self.next_model_path();
        write_atomic(&next, &model_bytes)?;
        write_atomic(&self.state_path(), &state_bytes)?;
        let model_path = self.model_path();
        std::fs::rename(&next, &model_path).map_err(|e| {
            Error::io(
                &model_path,
                e,
                "could not move the new model file into place (is the folder writable?)",
            )
        })
    }

    /// The state file's bytes (see the module docs for its names).
    fn state_bytes(
        &self,
        optimizer: &OptimizerState,
        progress: &TrainingProgress,
        model_rngs: &[(String, [u64; 4])],
        model_bytes: &[u8],
    ) -> Result<Vec<u8>> {
        let model_file = self
            .model_path()
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mut metadata: Vec<(String, String)> = vec![
            ("dlfs.format".into(), STATE_FORMAT.into()),
            ("model.file".into(), model_file),
            ("model.bytes".into(), model_bytes.len().to_string()),
            ("model.crc32".into(), format!("{:08x}", crc32(model_bytes))),
            ("run.epochs_done".into(), progress.epochs_done.to_string()),
            ("run.epochs".into(), self.epochs.to_string()),
            (
                "run.base_learning_rate".into(),
                progress.base_learning_rate.to_string(),
            ),
            ("optimizer.kind".into(), optimizer.kind.clone()),
            ("optimizer.steps".into(), optimizer.steps.to_string()),
            ("optimizer.lr".into(), optimizer.learning_rate.to_string()),
        ];
        for (name, value) in &optimizer.hyperparameters {
            metadata.push((format!("optimizer.{name}"), value.clone()));
        }
        for (name, state) in progress.rngs.iter().chain(model_rngs) {
            metadata.push((format!("rng.{name}"), format_rng(*state)));
        }
        for (flag, value) in &self.model_settings {
            metadata.push((format!("model_setting.{flag}"), value.clone()));
        }
        for (flag, value) in &self.run_settings {
            metadata.push((format!("run_setting.{flag}"), value.clone()));
        }
        metadata.push(("history".into(), history_to_json(&progress.history)));

        let mut tensors: Vec<(String, Tensor)> = Vec::new();
        for param in &optimizer.params {
            for (key, tensor) in &param.tensors {
                tensors.push((format!("optimizer.{}.{key}", param.name), tensor.clone()));
            }
        }
        for (name, order) in &progress.orders {
            if order.len() > MAX_ORDER_LEN {
                return Err(Error::data(format!(
                    "the example order \"{name}\" has {} entries; a state file stores at most \
                     {MAX_ORDER_LEN} (2²⁴, exact as f32)",
                    order.len()
                )));
            }
            let values = order.iter().map(|&i| i as f32).collect();
            tensors.push((
                format!("order.{name}"),
                Tensor::from_vec(&[order.len()], values),
            ));
        }
        let pairs: Vec<(&str, &str)> = metadata
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        Ok(checkpoint::tensors_to_bytes(&tensors, &pairs))
    }

    /// Reads the saved pair and checks that the model file is the one the state was saved with
    /// (size and CRC-32); finishes an interrupted save (module docs). Errors: no saved run, a file
    /// that is not a state file, a mismatched pair.
    pub fn load(&self) -> Result<SavedRun> {
        let state_path = self.state_path();
        if !state_path.is_file() {
            return Err(Error::usage(format!(
                "--resume: there is no saved run in {} (no {}); run once without --resume to start \
                 one, or give the --out of the run to continue",
                self.folder.display(),
                state_path.display()
            )));
        }
        let state_source = state_path.display().to_string();
        let state_bytes = read_bounded(&state_path)?;
        let state = checkpoint::from_bytes(&state_bytes, &state_source)?;
        let meta: HashMap<&str, &str> = state
            .metadata
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let bad = |message: String| Error::format(&state_source, message);
        if meta.get("dlfs.format") != Some(&STATE_FORMAT) {
            return Err(bad(format!(
                "not a dlfs training state (dlfs.format is {:?}, expected \"{STATE_FORMAT}\")",
                meta.get("dlfs.format")
            )));
        }
        let text = |key: &str| -> Result<&str> {
            meta.get(key)
                .copied()
                .ok_or_else(|| bad(format!("the metadata lacks \"{key}\"")))
        };
        let number = |key: &str| -> Result<usize> {
            text(key)?
                .parse()
                .map_err(|_| bad(format!("\"{key}\" is not a whole number")))
        };
        let real = |key: &str| -> Result<f32> {
            text(key)?
                .parse()
                .map_err(|_| bad(format!("\"{key}\" is not a number")))
        };
        let model_bytes_expected = number("model.bytes")?;
        let model_crc = u32::from_str_radix(text("model.crc32")?, 16)
            .map_err(|_| bad("\"model.crc32\" is not 8 hex digits".to_string()))?;
        let model_bytes = self.matching_model(model_bytes_expected, model_crc)?;

        let mut optimizer = OptimizerState {
            kind: text("optimizer.kind")?.to_string(),
            steps: number("optimizer.steps")?,
            learning_rate: real("optimizer.lr")?,
            hyperparameters: Vec::new(),
            params: Vec::new(),
        };
        let mut progress = TrainingProgress::new(real("run.base_learning_rate")?);
        progress.epochs_done = number("run.epochs_done")?;
        progress.history = history_from_json(text("history")?).map_err(bad)?;
        let (mut model_settings, mut run_settings, mut model_rngs) =
            (Vec::new(), Vec::new(), Vec::new());
        for (key, value) in &state.metadata {
            if let Some(name) = key.strip_prefix("optimizer.")
                && !matches!(name, "kind" | "steps" | "lr")
            {
                optimizer
                    .hyperparameters
                    .push((name.to_string(), value.clone()));
            } else if let Some(name) = key.strip_prefix("rng.") {
                let words = parse_rng(value)
                    .ok_or_else(|| bad(format!("\"{key}\" is not four 64-bit hex words")))?;
                match name.strip_prefix("model.") {
                    Some(layer) => model_rngs.push((layer.to_string(), words)),
                    None => progress.rngs.push((name.to_string(), words)),
                }
            } else if let Some(flag) = key.strip_prefix("model_setting.") {
                model_settings.push((flag.to_string(), value.clone()));
            } else if let Some(flag) = key.strip_prefix("run_setting.") {
                run_settings.push((flag.to_string(), value.clone()));
            }
        }
        for (name, tensor) in state.tensors {
            if let Some(rest) = name.strip_prefix("optimizer.") {
                let Some((param, key)) = rest.rsplit_once('.') else {
                    return Err(bad(format!(
                        "tensor \"{name}\" is not optimizer.<parameter>.<state>"
                    )));
                };
                match optimizer.params.iter_mut().find(|p| p.name == param) {
                    Some(p) => p.tensors.push((key.to_string(), tensor)),
                    None => optimizer.params.push(ParamState {
                        name: param.to_string(),
                        tensors: vec![(key.to_string(), tensor)],
                    }),
                }
            } else if let Some(order_name) = name.strip_prefix("order.") {
                let order = tensor
                    .data()
                    .iter()
                    .map(|&v| {
                        (v >= 0.0 && v.fract() == 0.0 && v < MAX_ORDER_LEN as f32)
                            .then_some(v as usize)
                    })
                    .collect::<Option<Vec<usize>>>()
                    .ok_or_else(|| bad(format!("\"{name}\" holds values that are not indices")))?;
                progress.orders.push((order_name.to_string(), order));
            } else {
                return Err(bad(format!("unexpected tensor \"{name}\"")));
            }
        }
        Ok(SavedRun {
            model_path: self.model_path(),
            model_bytes,
            optimizer,
            progress,
            model_rngs,
            model_settings,
            run_settings,
            epochs: number("run.epochs")?,
        })
    }

    /// The bytes of the model file that matches the state's size and CRC-32: `NAME.safetensors`,
    /// or `NAME.safetensors.next` left by a save interrupted before its last rename (which this
    /// finishes).
    fn matching_model(&self, bytes: usize, crc: u32) -> Result<Vec<u8>> {
        let model_path = self.model_path();
        let next = self.next_model_path();
        for (path, is_next) in [(&model_path, false), (&next, true)] {
            let Ok(info) = std::fs::metadata(path) else {
                continue;
            };
            if info.len() != bytes as u64 {
                continue;
            }
            let content = read_bounded(path)?;
            if crc32(&content) != crc {
                continue;
            }
            if is_next {
                std::fs::rename(&next, &model_path).map_err(|e| {
                    Error::io(
                        &model_path,
                        e,
                        "could not finish the interrupted save (is the folder writable?)",
                    )
                })?;
            }
            return Ok(content);
        }
        Err(Error::data(format!(
            "{} does not match {} (the state expects a model file of {bytes} bytes with CRC-32 \
             {crc:08x}): the files come from different runs or one was changed; start a new run \
             without --resume",
            model_path.display(),
            self.state_path().display()
        )))
    }
}

/// Reads a whole saved-run file through the size-checked reader ([`SAVED_RUN_FILE`]).
fn read_bounded(path: &Path) -> Result<Vec<u8>> {
    input::read_bytes(path, &SAVED_RUN_FILE)
}

/// A run read back by [`TrainingRun::load`], ready to [`SavedRun::restore`].
#[derive(Clone, Debug)]
pub struct SavedRun {
    model_path: PathBuf,
    model_bytes: Vec<u8>,
    optimizer: OptimizerState,
    progress: TrainingProgress,
    model_rngs: Vec<(String, [u64; 4])>,
    model_settings: Vec<(String, String)>,
    run_settings: Vec<(String, String)>,
    epochs: usize,
}

impl SavedRun {
    /// Epochs the saved run completed.
    pub fn epochs_done(&self) -> usize {
        self.progress.epochs_done
    }

    /// The number of epochs the saved run was to reach.
    pub fn epochs(&self) -> usize {
        self.epochs
    }

    /// The saved optimizer state (names as PyTorch's).
    pub fn optimizer_state(&self) -> &OptimizerState {
        &self.optimizer
    }

    /// The recorded settings: (flag, value, shapes the model).
    pub fn settings(&self) -> Vec<(&str, &str, bool)> {
        let model = self
            .model_settings
            .iter()
            .map(|(f, v)| (f.as_str(), v.as_str(), true));
        let run = self
            .run_settings
            .iter()
            .map(|(f, v)| (f.as_str(), v.as_str(), false));
        model.chain(run).collect()
    }

    /// The command line to continue with: every recorded flag not given in `args` takes its saved
    /// value (and `--epochs` the saved target unless given); a flag given with another value is a
    /// usage error naming it. Values compare as numbers when both are numbers (`0.001` = `1e-3`).
    pub fn apply_to(&self, args: &Args) -> Result<Args> {
        let mut merged = args.clone();
        for (flag, saved, shapes_model) in self.settings() {
            let given = args.was_given(flag).then(|| args.raw(flag).unwrap_or(""));
            match given {
                Some(now) if !same_value(now, saved) => {
                    let why = if shapes_model {
                        "it shapes the model, and the saved weights have the other shape"
                    } else {
                        "a resumed run continues with the settings it was started with"
                    };
                    let saved_text = if saved.is_empty() {
                        "not set".to_string()
                    } else {
                        format!("--{flag} {saved}")
                    };
                    return Err(Error::usage(format!(
                        "--resume: --{flag} {now} differs from the saved run ({saved_text}): {why}. \
                         Resume without --{flag}, or start a new run in another --out"
                    )));
                }
                Some(_) => {}
                None if saved.is_empty() => {}
                None => merged.insert(flag, saved),
            }
        }
        // Checked in this order so a program without --epochs (a run counted in steps) never
        // asks for it.
        if self.epochs > 0 && !args.was_given("epochs") {
            merged.insert("epochs", &self.epochs.to_string());
        }
        Ok(merged)
    }

    /// Loads the saved weights into `model` (strictly: every name and shape), the optimizer's state
    /// into `optimizer`, and the model's random generators; returns the progress to continue from.
    /// Errors name what does not fit; after an error, start the model and optimizer afresh.
    pub fn restore(
        &self,
        model: &mut dyn Layer,
        optimizer: &mut dyn Optimizer,
    ) -> Result<TrainingProgress> {
        checkpoint::load_from_bytes(
            model,
            &self.model_bytes,
            &self.model_path.display().to_string(),
        )?;
        optimizer.import_state(model, &self.optimizer)?;
        let saved: HashMap<&str, [u64; 4]> = self
            .model_rngs
            .iter()
            .map(|(n, s)| (n.as_str(), *s))
            .collect();
        let mut problem = None;
        let mut used = 0;
        model.visit_rngs(
            &mut |name, rng| match saved.get(name).and_then(|s| Rng::from_state(*s)) {
                Some(restored) => {
                    *rng = restored;
                    used += 1;
                }
                None => {
                    problem = Some(format!(
                        "the saved run has no state for the generator {name}"
                    ))
                }
            },
        );
        if let Some(message) = problem {
            return Err(Error::data(message));
        }
        if used != saved.len() {
            return Err(Error::data(format!(
                "the saved run has {} random generators for the model's layers, the model {used}: \
                 was it saved from a different model?",
                saved.len()
            )));
        }
        Ok(self.progress.clone())
    }
}

/// True when two flag values mean the same: equal text, or equal numbers.
fn same_value(a: &str, b: &str) -> bool {
    a == b || matches!((a.parse::<f64>(), b.parse::<f64>()), (Ok(x), Ok(y)) if x == y)
}

fn format_rng(state: [u64; 4]) -> String {
    state
        .iter()
        .map(|w| format!("{w:016x}"))
        .collect::<Vec<_>>()
        .join(" ")
}

fn parse_rng(text: &str) -> Option<[u64; 4]> {
    let words: Vec<u64> = text
        .split(' ')
        .map(|w| (w.len() == 16).then(|| u64::from_str_radix(w, 16).ok())?)
        .collect::<Option<_>>()?;
    words.try_into().ok()
}

/// A float as JSON: the shortest text that reads back to the same value; non-finite values (a
/// diverged validation loss) as the strings "NaN", "inf", "-inf".
fn json_number(value: f64) -> String {
    if value.is_finite() {
        format!("{value}")
    } else {
        json::quote(&format!("{value}"))
    }
}

fn json_optional(value: Option<f32>) -> String {
    value.map_or("null".to_string(), |v| json_number(f64::from(v)))
}

/// The history as a JSON object: `{"metric_name": …, "epochs": [{"epoch": 1, "loss": …}, …]}`.
fn history_to_json(history: &History) -> String {
    let records: Vec<String> = history
        .epochs
        .iter()
        .map(|e| {
            format!(
                "{{\"epoch\":{},\"loss\":{},\"metric\":{},\"validation_loss\":{},\
                 \"validation_metric\":{},\"learning_rate\":{},\"seconds\":{}}}",
                e.epoch,
                json_number(f64::from(e.loss)),
                json_optional(e.metric),
                json_optional(e.validation_loss),
                json_optional(e.validation_metric),
                json_number(f64::from(e.learning_rate)),
                json_number(e.seconds)
            )
        })
        .collect();
    format!(
        "{{\"metric_name\":{},\"epochs\":[{}]}}",
        json::quote(&history.metric_name),
        records.join(",")
    )
}

fn history_from_json(text: &str) -> std::result::Result<History, String> {
    let root = json::parse(text).map_err(|e| format!("history: {e}"))?;
    let field = |object: &json::Json, key: &str| -> Option<json::Json> {
        match object {
            json::Json::Object(pairs) => {
                pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone())
            }
            _ => None,
        }
    };
    let number = |value: Option<json::Json>| -> std::result::Result<Option<f64>, String> {
        match value {
            None | Some(json::Json::Null) => Ok(None),
            Some(json::Json::Number(text)) | Some(json::Json::String(text)) => text
                .parse::<f64>()
                .map(Some)
                .map_err(|_| format!("history: {text:?} is not a number")),
            Some(other) => Err(format!(
                "history: a number was expected, found {}",
                other.kind()
            )),
        }
    };
    let metric_name = field(&root, "metric_name")
        .and_then(|v| v.as_str().map(str::to_string))
        .ok_or("history: no metric_name")?;
    let Some(json::Json::Array(items)) = field(&root, "epochs") else {
        return Err("history: no epochs array".to_string());
    };
    let mut epochs = Vec::with_capacity(items.len());
    for item in &items {
        let required = |key: &str| -> std::result::Result<f64, String> {
            number(field(item, key))?.ok_or(format!("history: an epoch lacks {key}"))
        };
        let optional = |key: &str| number(field(item, key)).map(|v| v.map(|v| v as f32));
        epochs.push(EpochRecord {
            epoch: required("epoch")? as usize,
            loss: required("loss")? as f32,
            metric: optional("metric")?,
            validation_loss: optional("validation_loss")?,
            validation_metric: optional("validation_metric")?,
            learning_rate: required("learning_rate")? as f32,
            seconds: required("seconds")?,
        });
    }
    Ok(History {
        epochs,
        metric_name,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_round_trips_exactly() {
        let history = History {
            epochs: vec![
                EpochRecord {
                    epoch: 1,
                    loss: 0.1,
                    metric: Some(1.0 / 3.0),
                    validation_loss: Some(f32::NAN),
                    validation_metric: None,
                    learning_rate: 1e-10,
                    seconds: 0.123_456_789_012_345,
                },
                EpochRecord {
                    epoch: 2,
                    loss: 7e-45,
                    metric: None,
                    validation_loss: Some(f32::INFINITY),
                    validation_metric: Some(0.5),
                    learning_rate: 0.001,
                    seconds: 1e300,
                },
            ],
            metric_name: "accuracy \"quoted\"".to_string(),
        };
        let back = history_from_json(&history_to_json(&history)).unwrap();
        assert_eq!(back.metric_name, history.metric_name);
        assert_eq!(back.epochs.len(), 2);
        for (a, b) in back.epochs.iter().zip(&history.epochs) {
            assert_eq!(a.loss.to_bits(), b.loss.to_bits());
            assert_eq!(a.metric.map(f32::to_bits), b.metric.map(f32::to_bits));
            assert_eq!(a.learning_rate.to_bits(), b.learning_rate.to_bits());
            assert_eq!(a.seconds.to_bits(), b.seconds.to_bits());
            assert_eq!(a.validation_metric, b.validation_metric);
        }
        assert!(back.epochs[0].validation_loss.unwrap().is_nan());
        assert_eq!(back.epochs[1].validation_loss, Some(f32::INFINITY));
    }

    #[test]
    fn rng_words_round_trip() {
        let state = [0, u64::MAX, 0x0123_4567_89ab_cdef, 42];
        assert_eq!(parse_rng(&format_rng(state)), Some(state));
        assert_eq!(parse_rng("12 34"), None);
    }

    #[test]
    fn values_compare_as_numbers() {
        assert!(same_value("0.001", "1e-3"));
        assert!(same_value("data/x", "data/x"));
        assert!(!same_value("32", "64"));
        assert!(!same_value("", "0"));
    }
}
