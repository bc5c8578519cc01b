//! Text tables with aligned columns: numbers right-aligned, words left-aligned.
//!
//! ```
//! use dlfs::report::Table;
//! let mut table = Table::new(&["optimizer", "steps"]);
//! table.row(&["SGD", "1200"]);
//! table.row(&["Adam", "85"]);
//! assert_eq!(table.render(), "optimizer  steps\n---------  -----\nSGD         1200\nAdam          85\n");
//! ```

/// A table being filled row by row.
#[derive(Clone, Debug, Default)]
pub struct Table {
    headers: Vec<String>,
    rows: Vec<Vec<String>>,
}

/// True when the cell reads as a number (then it is right-aligned).
fn looks_numeric(cell: &str) -> bool {
    let trimmed = cell.trim_end_matches(['%', '×', 'x']).trim();
    !trimmed.is_empty() && trimmed.parse::<f64>().is_ok()
}

impl Table {
    /// A table with these column headers.
    pub fn new(headers: &[&str]) -> Table {
        Table {
            headers: headers.iter().map(|h| h.to_string()).collect(),
            rows: Vec::new(),
        }
    }

    /// Adds a row; it must have one cell per header.
    pub fn row<S: AsRef<str>>(&mut self, cells: &[S]) {
        assert_eq!(
            cells.len(),
            self.headers.len(),
            "Table::row: {} cells for {} columns",
            cells.len(),
            self.headers.len()
        );
        self.rows
            .push(cells.iter().map(|c| c.as_ref().to_string()).collect());
    }

    /// The number of rows added.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// True when no rows were added.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The table as text: header, a rule, then the rows, columns separated by two spaces.
    pub fn render(&self) -> String {
        let columns = self.headers.len();
        let width = |c: usize| {
            self.rows
                .iter()
                .map(|r| r[c].chars().count())
                .chain([self.headers[c].chars().count()])
                .max()
                .unwrap_or(0)
        };
        let widths: Vec<usize> = (0..columns).map(width).collect();
        let format_row = |cells: &[String], align_numbers: bool| {
            let parts: Vec<String> = cells
                .iter()
                .zip(&widths)
                .map(|(cell, &w)| {
                    let pad = " ".repeat(w - cell.chars().count());
                    if align_numbers && looks_numeric(cell) {
                        format!("{pad}{cell}")
                    } else {
                        format!("{cell}{pad}")
                    }
                })
                .collect();
            parts.join("  ").trim_end().to_string()
        };
        let mut out = format_row(&self.headers, false);
        out.push('\n');
        let rule: Vec<String> = widths.iter().map(|&w| "-".repeat(w)).collect();
        out.push_str(&rule.join("  "));
        out.push('\n');
        for row in &self.rows {
            out.push_str(&format_row(row, true));
            out.push('\n');
        }
        out
    }
}

impl std::fmt::Display for Table {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.render())
    }
}
