//! Comma-separated values (RFC 4180), as written by spreadsheets and by Yahoo Finance's "download"
//! button. Chapter 14 reads stock prices with it.
//!
//! Rules: the first record is the header; fields are separated by `,`; a field may be quoted with `"`,
//! and then may contain commas, line breaks and doubled quotes (`"say ""hi"""` → `say "hi"`); records
//! end with `\n` or `\r\n`; a UTF-8 byte-order mark at the start is skipped; blank lines are skipped.
//! Every record must have as many fields as the header — otherwise the error names the line.
//!
//! Reading is bounded: a file is a regular file of at most 256 MB ([`FILE`]; a daily price history
//! since 1962 is about 1 MB), a header has at most [`MAX_COLUMNS`] columns, and a record with more
//! fields than the header is refused as soon as the extra field starts (so a line of a million
//! commas costs nothing). [`for_each_record`] hands records over one at a time, so a caller that
//! keeps two columns (chapter 14) holds only those; [`Csv`] keeps every field. Messages quote bad
//! fields through [`crate::input::excerpt`].
//!
//! What it leaves out: other separators (`;`, tabs), type inference (fields stay strings: the caller
//! parses numbers and dates, and can then say which column was wrong), files above the cap.

use crate::error::{Error, Result};
use crate::input::{self, Cap};
use std::path::Path;

/// What [`Csv::read`] accepts: a regular UTF-8 file of at most 256 MB.
pub const FILE: Cap = Cap {
    what: "a CSV file",
    max_bytes: 256_000_000,
    hint: "any UTF-8 CSV with a header row works (see datasets/README.md)",
};

/// The most columns a header may have.
pub const MAX_COLUMNS: usize = 10_000;

/// A parsed CSV file: the header and the records, every record as long as the header.
#[derive(Clone, Debug, PartialEq)]
pub struct Csv {
    /// The column names, as written.
    pub header: Vec<String>,
    /// The records, each with one field per column, and the line (from 1) where each record starts.
    pub records: Vec<(usize, Vec<String>)>,
    /// Where the text came from (a path or a description), for error messages.
    pub source_name: String,
}

/// Reads a CSV file as text (a regular UTF-8 file within [`FILE`]'s cap).
pub fn read_text(path: &Path) -> Result<String> {
    input::read_text(path, &FILE)
}

impl Csv {
    /// Reads and parses a CSV file.
    pub fn read(path: &Path) -> Result<Csv> {
        Csv::parse(&read_text(path)?, &path.display().to_string())
    }

    /// Parses CSV text; `source_name` is used in error messages.
    pub fn parse(text: &str, source_name: &str) -> Result<Csv> {
        let mut rows = Vec::new();
        let header = for_each_record(text, source_name, |_, line, fields| {
            rows.push((line, fields));
            Ok(())
        })?;
        Ok(Csv {
            header,
            records: rows,
            source_name: source_name.to_string(),
        })
    }

    /// The index of the column called `name` (exact match after trimming spaces).
    pub fn column(&self, name: &str) -> Result<usize> {
        column_index(&self.header, name, &self.source_name)
    }
}

/// The index of the column called `name` in `header` (exact match after trimming spaces); an error
/// listing the header otherwise.
pub fn column_index(header: &[String], name: &str, source_name: &str) -> Result<usize> {
    header.iter().position(|h| h == name).ok_or_else(|| {
        Error::data(format!(
            "{source_name}: no column named {}; the header has: {} (choose the column names with \
             the chapter's flags)",
            input::excerpt(name),
            describe_header(header)
        ))
    })
}

/// The header's names for a message: the first twelve (each a short excerpt) and how many more.
fn describe_header(header: &[String]) -> String {
    let mut names: Vec<String> = header
        .iter()
        .take(12)
        .map(|h| {
            if h.chars().count() <= input::EXCERPT_CHARS {
                h.clone()
            } else {
                input::excerpt(h)
            }
        })
        .collect();
    if header.len() > 12 {
        names.push(format!("… and {} more", header.len() - 12));
    }
    names.join(", ")
}

/// Parses CSV text record by record without keeping the records: the header is parsed first (at
/// most [`MAX_COLUMNS`] columns, names trimmed), then `visit(header, line, fields)` is called for
/// every further record, which has exactly one field per column (else an error naming the line).
/// Returns the header. An error from `visit` stops the parse and is returned.
pub fn for_each_record(
    text: &str,
    source_name: &str,
    mut visit: impl FnMut(&[String], usize, Vec<String>) -> Result<()>,
) -> Result<Vec<String>> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut header: Option<Vec<String>> = None;
    // The most fields the next record may have: MAX_COLUMNS for the header, then the header's length.
    let max_fields = std::cell::Cell::new(MAX_COLUMNS);
    parse_records(text, source_name, &max_fields, &mut |line, fields| {
        let Some(h) = &header else {
            max_fields.set(fields.len());
            header = Some(fields.into_iter().map(|f| f.trim().to_string()).collect());
            return Ok(());
        };
        if fields.len() != h.len() {
            return Err(Error::format(
                source_name,
                format!(
                    "line {line}: expected {} fields (one per header column: {}), found {}",
                    h.len(),
                    describe_header(h),
                    fields.len()
                ),
            ));
        }
        visit(h, line, fields)
    })?;
    header.ok_or_else(|| {
        Error::format(
            source_name,
            "the file is empty; expected a header row such as Date,Open,High,Low,Close,Adj Close,Volume",
        )
    })
}

/// Splits text into records of fields and calls `emit(line, fields)` for each, with the line number
/// where the record starts; skips blank lines. A record with more than `max_fields` fields (read
/// anew for each record; `emit` may change it) is an error as soon as the extra field starts.
fn parse_records(
    text: &str,
    source_name: &str,
    max_fields: &std::cell::Cell<usize>,
    emit: &mut dyn FnMut(usize, Vec<String>) -> Result<()>,
) -> Result<()> {
    let mut fields: Vec<String> = Vec::new();
    let mut field = String::new();
    let mut line = 1;
    let mut record_line = 1;
    let mut chars = text.chars().peekable();
    // True once the current record has any content (so blank lines can be told apart).
    let mut started = false;
    let mut records = 0usize;
    while let Some(c) = chars.next() {
        match c {
            '"' if field.is_empty() => {
                started = true;
                let quote_line = line;
                loop {
                    match chars.next() {
                        None => {
                            return Err(Error::format(
                                source_name,
                                format!(
                                    "line {quote_line}: a quoted field is never closed (missing \")"
                                ),
                            ));
                        }
                        Some('"') if chars.peek() == Some(&'"') => {
                            chars.next();
                            field.push('"');
                        }
                        Some('"') => break,
                        Some(c) => {
                            if c == '\n' {
                                line += 1;
                            }
                            field.push(c);
                        }
                    }
                }
                match chars.peek() {
                    None | Some(',') | Some('\n') | Some('\r') => {}
                    Some(other) => {
                        return Err(Error::format(
                            source_name,
                            format!(
                                "line {line}: unexpected {} after a closing quote (a quoted \
                                 field must end at a comma or the end of the line)",
                                input::excerpt(&other.to_string())
                            ),
                        ));
                    }
                }
            }
            ',' => {
                started = true;
                fields.push(std::mem::take(&mut field));
                // The field after this comma would be one too many: stop before collecting more.
                if fields.len() >= max_fields.get() {
                    let message = if records == 0 {
                        format!("the header has more than {MAX_COLUMNS} columns")
                    } else {
                        format!(
                            "line {record_line}: expected {} fields (one per header column), \
                             found more",
                            max_fields.get()
                        )
                    };
                    return Err(Error::format(source_name, message));
                }
            }
            '\r' if chars.peek() == Some(&'\n') => {}
            '\n' => {
                if started {
                    fields.push(std::mem::take(&mut field));
                    emit(record_line, std::mem::take(&mut fields))?;
                    records += 1;
                }
                started = false;
                line += 1;
                record_line = line;
            }
            c => {
                started = true;
                field.push(c);
            }
        }
    }
    if started {
        fields.push(field);
        emit(record_line, fields)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_fields_and_crlf() {
        let csv = Csv::parse("a,b\r\n\"x, y\",\"say \"\"hi\"\"\"\r\n\r\n1,2\n", "t").unwrap();
        assert_eq!(csv.header, ["a", "b"]);
        assert_eq!(
            csv.records[0],
            (2, vec!["x, y".to_string(), "say \"hi\"".to_string()])
        );
        assert_eq!(csv.records[1], (4, vec!["1".to_string(), "2".to_string()]));
    }
}
