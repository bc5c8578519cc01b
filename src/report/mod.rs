//! Output for people: progress bars, terminal charts, SVG plots, PNG images and text tables.
//!
//! Every chapter reports through this module, so that what a learner sees is consistent: numbers in
//! aligned tables, curves both in the terminal (quick look) and as SVG files (to keep), pictures as PNG.
//! Files are written atomically ([`write_atomic`]): a crash never leaves half a file behind, and the
//! temporaries of killed writers are cleaned up ([`atomic`]). Numbers and sizes in messages are
//! written for people ([`number`]).
//!
//! What it leaves out: colours in the terminal, fonts (SVG text uses the viewer's sans-serif),
//! compressed PNG (images are stored uncompressed — simpler, and our images are small).

pub mod atomic;
pub mod chart;
pub mod image_grid;
pub mod number;
pub mod png;
pub mod progress;
pub mod results;
pub mod svg;
pub mod table;

pub use atomic::write_atomic;
pub use image_grid::{ImageGrid, Tile};
pub use number::{human_bytes, readable_number};
pub use progress::Progress;
pub use results::Results;
pub use svg::LinePlot;
pub use table::Table;
