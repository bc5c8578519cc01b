//! Output for people: progress bars, terminal charts, SVG plots, PNG images and text tables.
//!
//! Every chapter reports through this module, so that what a learner sees is consistent: numbers in
//! aligned tables, curves both in the terminal (quick look) and as SVG files (to keep), pictures as PNG.
//! Files are written atomically ([`write_atomic`]): a crash never leaves half a file behind.
//!
//! What it leaves out: colours in the terminal, fonts (SVG text uses the viewer's sans-serif),
//! compressed PNG (images are stored uncompressed — simpler, and our images are small).

pub mod chart;
pub mod image_grid;
pub mod png;
pub mod progress;
pub mod results;
pub mod svg;
pub mod table;

pub use image_grid::{ImageGrid, Tile};
pub use progress::Progress;
pub use results::Results;
pub use svg::LinePlot;
pub use table::Table;

use crate::error::{Error, Result};
use std::io::Write;
use std::path::Path;

/// Writes `bytes` to `path` through a temporary file in the same folder and a rename, so the file is
/// either the old one or the complete new one, never a partial write. Creates missing parent folders.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    if let Some(parent) = path.parent()
        && !parent.as_os_str().is_empty()
    {
        std::fs::create_dir_all(parent)
            .map_err(|e| Error::io(parent, e, "could not create the output folder"))?;
    }
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "output".to_string());
    let temp = path.with_file_name(format!(".{file_name}.tmp{}", std::process::id()));
    let result = (|| {
        let mut file = std::fs::File::create(&temp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&temp, path)
    })();
    result.map_err(|e| {
        let _ = std::fs::remove_file(&temp);
        Error::io(
            path,
            e,
            "could not write the file (is the folder writable? is the disk full?)",
        )
    })
}
