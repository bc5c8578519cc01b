//! Comma-separated values (RFC 4180), as written by spreadsheets and by Yahoo Finance's "download"
//! button. Chapter 14 reads stock prices with it.
//!
//! Rules: the first record is the header; fields are separated by `,`; a field may be quoted with `"`,
//! and then may contain commas, line breaks and doubled quotes (`"say ""hi"""` → `say "hi"`); records
//! end with `\n` or `\r\n`; a UTF-8 byte-order mark at the start is skipped; blank lines are skipped.
//! Every record must have as many fields as the header — otherwise the error names the line.
//!
//! What it leaves out: other separators (`;`, tabs), type inference (fields stay strings: the caller
//! parses numbers and dates, and can then say which column was wrong), streaming of huge files.

use crate::error::{Error, Result};
use std::path::Path;

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

impl Csv {
    /// Reads and parses a CSV file.
    pub fn read(path: &Path) -> Result<Csv> {
        let bytes = std::fs::read(path)
            .map_err(|e| Error::io(path, e, "check the path; any CSV with a header row works"))?;
        let text = String::from_utf8(bytes).map_err(|e| {
            Error::format(
                path.display().to_string(),
                format!(
                    "not UTF-8 text (invalid byte at offset {}); save the file as UTF-8 CSV",
                    e.utf8_error().valid_up_to()
                ),
            )
        })?;
        Csv::parse(&text, &path.display().to_string())
    }

    /// Parses CSV text; `source_name` is used in error messages.
    pub fn parse(text: &str, source_name: &str) -> Result<Csv> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut records = parse_records(text, source_name)?.into_iter();
        let Some((_, header)) = records.next() else {
            return Err(Error::format(
                source_name,
                "the file is empty; expected a header row such as Date,Open,High,Low,Close,Adj Close,Volume",
            ));
        };
        let header: Vec<String> = header.into_iter().map(|h| h.trim().to_string()).collect();
        let mut rows = Vec::new();
        for (line, fields) in records {
            if fields.len() != header.len() {
                return Err(Error::format(
                    source_name,
                    format!(
                        "line {line}: expected {} fields (one per header column: {}), found {}",
                        header.len(),
                        header.join(","),
                        fields.len()
                    ),
                ));
            }
            rows.push((line, fields));
        }
        Ok(Csv {
            header,
            records: rows,
            source_name: source_name.to_string(),
        })
    }

    /// The index of the column called `name` (exact match after trimming spaces).
    pub fn column(&self, name: &str) -> Result<usize> {
        self.header.iter().position(|h| h == name).ok_or_else(|| {
            Error::data(format!(
                "{}: no column named '{name}'; the header has: {} (choose the column names with the \
                 chapter's flags)",
                self.source_name,
                self.header.join(", ")
            ))
        })
    }
}

/// Splits text into records of fields, with the line number where each record starts; skips blank
/// lines.
fn parse_records(text: &str, source_name: &str) -> Result<Vec<(usize, Vec<String>)>> {
    let mut records = Vec::new();
    let mut fields: Vec<String> = Vec::new();
    let mut field = String::new();
    let mut line = 1;
    let mut record_line = 1;
    let mut chars = text.chars().peekable();
    // True once the current record has any content (so blank lines can be told apart).
    let mut started = false;
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
                                "line {line}: unexpected '{other}' after a closing quote (a quoted \
                                 field must end at a comma or the end of the line)"
                            ),
                        ));
                    }
                }
            }
            ',' => {
                started = true;
                fields.push(std::mem::take(&mut field));
            }
            '\r' if chars.peek() == Some(&'\n') => {}
            '\n' => {
                if started {
                    fields.push(std::mem::take(&mut field));
                    records.push((record_line, std::mem::take(&mut fields)));
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
        records.push((record_line, fields));
    }
    Ok(records)
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
