//! A tiny command-line parser shared by the chapter binaries and `bench`.
//!
//! Accepts `--flag value`, `--flag=value`, switches (`--quick`), positional words (`bench gemm`) and
//! `--help`/`-h`. A command is declared once with [`Command`]; the same declaration produces the
//! `--help` text, so the two cannot disagree. Anything unexpected — an unknown flag, a missing value, a
//! value that is not a number — is an [`Error::Usage`], which binaries report with exit status 2.
//!
//! ```
//! use dlfs::cli::Command;
//! let command = Command::new("demo", "Shows the parser.")
//!     .option("epochs", "N", "10", "number of passes over the data")
//!     .switch("quick", "a short run");
//! let args = command.parse(["--epochs=3", "--quick"]).unwrap();
//! assert_eq!(args.get::<usize>("epochs").unwrap(), 3);
//! assert!(args.flag("quick"));
//! assert!(command.parse(["--epoch", "3"]).is_err()); // unknown flag: did you mean --epochs?
//! ```
//!
//! A *list* option ([`Command::list`]) takes one or more values after one flag and may be repeated:
//! `--predict a.png b.png --predict c.png` gives the three values in order ([`Args::values`]).
//!
//! What it leaves out: short flags other than `-h`, repeated plain flags (the last one wins),
//! sub-command specific flags.

use crate::error::{Error, Result};
use std::collections::BTreeMap;
use std::str::FromStr;

/// One declared `--name` option or switch.
#[derive(Clone, Debug)]
struct OptionSpec {
    name: String,
    /// `None` for a switch (takes no value), else the placeholder shown in help (`N`, `DIR`, …).
    value_name: Option<String>,
    /// The value used when the flag is absent; empty means "no default".
    default: String,
    help: String,
    /// True for a list option: one or more values per flag, repeatable.
    list: bool,
}

/// The declaration of a binary's command line: its name, what it does, its options.
#[derive(Clone, Debug)]
pub struct Command {
    name: String,
    about: String,
    options: Vec<OptionSpec>,
    positionals: Vec<(String, String)>,
}

/// The parsed command line.
#[derive(Clone, Debug)]
pub struct Args {
    command: Command,
    values: BTreeMap<String, String>,
    /// The values of list options, in command-line order.
    lists: BTreeMap<String, Vec<String>>,
    positionals: Vec<String>,
    help: bool,
}

impl Command {
    /// A command called `name` (shown in help), described by `about`.
    pub fn new(name: &str, about: &str) -> Command {
        Command {
            name: name.to_string(),
            about: about.to_string(),
            options: Vec::new(),
            positionals: Vec::new(),
        }
    }

    /// Declares `--name VALUE` with a default (`""` for none) and a help line.
    pub fn option(mut self, name: &str, value_name: &str, default: &str, help: &str) -> Command {
        self.push(OptionSpec {
            name: name.to_string(),
            value_name: Some(value_name.to_string()),
            default: default.to_string(),
            help: help.to_string(),
            list: false,
        });
        self
    }

    /// Declares a list option `--name VALUE...`: every word after the flag up to the next `--…` is
    /// one value, and the flag may be repeated (`--predict a.png b.png`, `--predict "one review"
    /// --predict "another"`). Read the values with [`Args::values`].
    pub fn list(mut self, name: &str, value_name: &str, help: &str) -> Command {
        self.push(OptionSpec {
            name: name.to_string(),
            value_name: Some(value_name.to_string()),
            default: String::new(),
            help: help.to_string(),
            list: true,
        });
        self
    }

    /// Declares a switch `--name` that takes no value.
    pub fn switch(mut self, name: &str, help: &str) -> Command {
        self.push(OptionSpec {
            name: name.to_string(),
            value_name: None,
            default: String::new(),
            help: help.to_string(),
            list: false,
        });
        self
    }

    /// Declares an optional positional word (e.g. the table name of `bench gemm`).
    pub fn positional(mut self, name: &str, help: &str) -> Command {
        self.positionals.push((name.to_string(), help.to_string()));
        self
    }

    fn push(&mut self, spec: OptionSpec) {
        assert!(
            !self.has_option(&spec.name),
            "Command {}: option --{} declared twice",
            self.name,
            spec.name
        );
        self.options.push(spec);
    }

    /// True when `--name` is declared.
    pub fn has_option(&self, name: &str) -> bool {
        self.options.iter().any(|o| o.name == name)
    }

    /// The binary's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The `--help` text.
    pub fn help_text(&self) -> String {
        let mut text = format!("{}\n\n{}\n\nusage: {}", self.name, self.about, self.name);
        for (name, _) in &self.positionals {
            text.push_str(&format!(" [{}]", name.to_uppercase()));
        }
        text.push_str(" [OPTIONS]\n");
        if !self.positionals.is_empty() {
            text.push_str("\narguments:\n");
            for (name, help) in &self.positionals {
                text.push_str(&format!("  {:<24} {}\n", name.to_uppercase(), help));
            }
        }
        text.push_str("\noptions:\n");
        for o in &self.options {
            let left = match &o.value_name {
                Some(v) if o.list => format!("--{} {}...", o.name, v),
                Some(v) => format!("--{} {}", o.name, v),
                None => format!("--{}", o.name),
            };
            let default = if o.default.is_empty() {
                String::new()
            } else {
                format!(" [default: {}]", o.default)
            };
            text.push_str(&format!("  {left:<24} {}{default}\n", o.help));
        }
        text.push_str(&format!("  {:<24} {}\n", "-h, --help", "print this help"));
        text
    }

    /// Parses the words after the program name.
    pub fn parse<I, S>(&self, words: I) -> Result<Args>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let words: Vec<String> = words.into_iter().map(|w| w.as_ref().to_string()).collect();
        let mut args = Args {
            command: self.clone(),
            values: BTreeMap::new(),
            lists: BTreeMap::new(),
            positionals: Vec::new(),
            help: false,
        };
        // --help wins over everything else, even over mistakes elsewhere on the line.
        if words.iter().any(|w| w == "--help" || w == "-h") {
            args.help = true;
            return Ok(args);
        }
        let mut i = 0;
        while i < words.len() {
            let word = &words[i];
            i += 1;
            let Some(body) = word.strip_prefix("--") else {
                if word.starts_with('-') && word.len() > 1 && word.parse::<f64>().is_err() {
                    return Err(Error::usage(format!(
                        "{}: unknown option {} (options start with --)",
                        self.name,
                        crate::input::excerpt(word)
                    )));
                }
                if args.positionals.len() >= self.positionals.len() {
                    return Err(Error::usage(format!(
                        "{}: unexpected argument {}",
                        self.name,
                        crate::input::excerpt(word)
                    )));
                }
                args.positionals.push(word.clone());
                continue;
            };
            let (name, inline_value) = match body.split_once('=') {
                Some((n, v)) => (n, Some(v.to_string())),
                None => (body, None),
            };
            let Some(spec) = self.options.iter().find(|o| o.name == name) else {
                return Err(Error::usage(self.unknown_option_message(name)));
            };
            if spec.list {
                let list = args.lists.entry(name.to_string()).or_default();
                match inline_value {
                    Some(v) => list.push(v),
                    None => {
                        let first = i;
                        while i < words.len() && !words[i].starts_with("--") {
                            list.push(words[i].clone());
                            i += 1;
                        }
                        if i == first {
                            return Err(Error::usage(format!(
                                "{}: --{name} needs at least one value ({})",
                                self.name,
                                spec.value_name.as_deref().unwrap_or("VALUE")
                            )));
                        }
                    }
                }
                continue;
            }
            let value = match (&spec.value_name, inline_value) {
                (None, None) => "true".to_string(),
                (None, Some(_)) => {
                    return Err(Error::usage(format!(
                        "{}: --{name} is a switch and takes no value",
                        self.name
                    )));
                }
                (Some(_), Some(v)) => v,
                (Some(value_name), None) => match words.get(i) {
                    Some(next) if !next.starts_with("--") => {
                        i += 1;
                        next.clone()
                    }
                    _ => {
                        return Err(Error::usage(format!(
                            "{}: --{name} needs a value ({value_name})",
                            self.name
                        )));
                    }
                },
            };
            args.values.insert(name.to_string(), value);
        }
        Ok(args)
    }

    fn unknown_option_message(&self, name: &str) -> String {
        if name.chars().count() > crate::input::EXCERPT_CHARS {
            return format!(
                "{}: unknown option --{}",
                self.name,
                crate::input::excerpt(name)
            );
        }
        let closest = self
            .options
            .iter()
            .map(|o| (edit_distance(name, &o.name), &o.name))
            .min();
        match closest {
            Some((distance, suggestion)) if distance <= 2 => format!(
                "{}: unknown option --{name}; did you mean --{suggestion}?",
                self.name
            ),
            _ => format!("{}: unknown option --{name}", self.name),
        }
    }
}

/// The Levenshtein distance between two words (for "did you mean" suggestions).
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1];
        for (j, &cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != cb);
            current.push(substitution.min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[b.len()]
}

impl Args {
    /// True when `--help` or `-h` was given.
    pub fn help_requested(&self) -> bool {
        self.help
    }

    /// The command these arguments were parsed for.
    pub fn command(&self) -> &Command {
        &self.command
    }

    fn spec(&self, name: &str) -> &OptionSpec {
        self.command
            .options
            .iter()
            .find(|o| o.name == name)
            .unwrap_or_else(|| {
                panic!(
                    "{}: the program asked for --{name}, which it never declared",
                    self.command.name
                )
            })
    }

    /// The raw text of `--name`: the given value, or the default, or `None`.
    pub fn raw(&self, name: &str) -> Option<&str> {
        let spec = self.spec(name);
        match self.values.get(name) {
            Some(v) => Some(v.as_str()),
            None if !spec.default.is_empty() => Some(spec.default.as_str()),
            None => None,
        }
    }

    /// True when `--name` appeared on the command line (not just defaulted).
    pub fn was_given(&self, name: &str) -> bool {
        self.spec(name);
        self.values.contains_key(name) || self.lists.contains_key(name)
    }

    /// The values of the list option `--name` ([`Command::list`]) in command-line order; empty
    /// when it was not given.
    pub fn values(&self, name: &str) -> &[String] {
        let spec = self.spec(name);
        assert!(
            spec.list,
            "{}: --{name} is not a list option (read it with get)",
            self.command.name
        );
        self.lists.get(name).map_or(&[], Vec::as_slice)
    }

    /// Sets `--name` to `value` as if it had been given on the command line (`"true"` turns a switch
    /// on). Used to continue a saved run with its own settings. Panics if `--name` is not declared.
    pub fn insert(&mut self, name: &str, value: &str) {
        self.spec(name);
        self.values.insert(name.to_string(), value.to_string());
    }

    /// The value of `--name` parsed as `T`, or `None` when it was not given and has no default.
    pub fn get_opt<T: FromStr>(&self, name: &str) -> Result<Option<T>> {
        match self.raw(name) {
            None => Ok(None),
            Some(text) => text.parse::<T>().map(Some).map_err(|_| {
                let value_name = self.spec(name).value_name.clone().unwrap_or_default();
                Error::usage(format!(
                    "{}: --{name} expects {}, got {}",
                    self.command.name,
                    describe_type::<T>(&value_name),
                    crate::input::excerpt(text)
                ))
            }),
        }
    }

    /// The value of `--name` parsed as `T` (the given value or the default).
    pub fn get<T: FromStr>(&self, name: &str) -> Result<T> {
        self.get_opt(name)?
            .ok_or_else(|| Error::usage(format!("{}: --{name} is required", self.command.name)))
    }

    /// True when the switch `--name` was given.
    pub fn flag(&self, name: &str) -> bool {
        self.spec(name);
        self.values.contains_key(name)
    }

    /// The positional words, in order.
    pub fn positionals(&self) -> &[String] {
        &self.positionals
    }
}

/// Words for a type in an error message: "a whole number", "a number", …
fn describe_type<T>(value_name: &str) -> String {
    let type_name = std::any::type_name::<T>();
    let kind = match type_name {
        "usize" | "u64" | "u32" | "u16" | "u8" => "a whole number ≥ 0",
        "i64" | "i32" | "isize" => "a whole number",
        "f32" | "f64" => "a number",
        "bool" => "true or false",
        _ => "a value",
    };
    if value_name.is_empty() {
        kind.to_string()
    } else {
        format!("{kind} ({value_name})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edit_distance_counts_single_changes() {
        assert_eq!(edit_distance("epoch", "epochs"), 1);
        assert_eq!(edit_distance("lr", "lr"), 0);
        assert_eq!(edit_distance("abc", "xyz"), 3);
    }
}
