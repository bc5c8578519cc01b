//! A grid of small pictures saved as one PNG, each with an optional coloured frame and a short caption
//! of digits (chapter 12 shows test images with their predicted and true labels: `3/5`, framed green
//! when right and red when wrong).
//!
//! Captions are drawn with a built-in 3×5-pixel font that knows the digits 0–9, `/` and the space —
//! enough for label numbers without a font library; print a legend (number → class name) next to it.
//!
//! What it leaves out: letters, anti-aliasing, compression (see [`super::png`]).

use super::png::save_rgb;
use crate::error::Result;
use std::path::Path;

/// The 3×5 glyphs, five rows of three bits each (top row first, leftmost pixel the highest bit).
fn glyph(c: char) -> Option<[u8; 5]> {
    Some(match c {
        '0' => [0b111, 0b101, 0b101, 0b101, 0b111],
        '1' => [0b010, 0b110, 0b010, 0b010, 0b111],
        '2' => [0b111, 0b001, 0b111, 0b100, 0b111],
        '3' => [0b111, 0b001, 0b111, 0b001, 0b111],
        '4' => [0b101, 0b101, 0b111, 0b001, 0b001],
        '5' => [0b111, 0b100, 0b111, 0b001, 0b111],
        '6' => [0b111, 0b100, 0b111, 0b101, 0b111],
        '7' => [0b111, 0b001, 0b001, 0b001, 0b001],
        '8' => [0b111, 0b101, 0b111, 0b101, 0b111],
        '9' => [0b111, 0b101, 0b111, 0b001, 0b111],
        '/' => [0b001, 0b001, 0b010, 0b100, 0b100],
        ' ' => [0; 5],
        _ => return None,
    })
}

/// One picture of the grid.
#[derive(Clone, Debug)]
pub struct Tile {
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// Interleaved RGB bytes, rows top to bottom (`width · height · 3`).
    pub rgb: Vec<u8>,
    /// A frame colour (e.g. green for a right prediction), or none.
    pub frame: Option<[u8; 3]>,
    /// Digits, `/` and spaces shown under the picture (other characters are skipped).
    pub caption: String,
}

impl Tile {
    /// A tile from planar RGB bytes (all red, then all green, then all blue, as CIFAR-10 stores them).
    pub fn from_planar(width: usize, height: usize, planar: &[u8]) -> Tile {
        assert_eq!(
            planar.len(),
            width * height * 3,
            "Tile::from_planar: {} bytes for a {width}×{height} RGB picture",
            planar.len()
        );
        let plane = width * height;
        let mut rgb = Vec::with_capacity(plane * 3);
        for i in 0..plane {
            rgb.extend_from_slice(&[planar[i], planar[plane + i], planar[2 * plane + i]]);
        }
        Tile {
            width,
            height,
            rgb,
            frame: None,
            caption: String::new(),
        }
    }
}

/// Pictures laid out in rows of `columns`, each enlarged `scale` times (see the module docs).
#[derive(Clone, Debug)]
pub struct ImageGrid {
    columns: usize,
    scale: usize,
    tiles: Vec<Tile>,
}

/// Pixels between tiles and around the grid.
const GAP: usize = 4;
/// Frame thickness in pixels.
const FRAME: usize = 2;
/// Caption glyph size: each font pixel becomes a 2×2 block.
const FONT_SCALE: usize = 2;

impl ImageGrid {
    /// An empty grid with `columns` tiles per row, every tile enlarged `scale` times.
    pub fn new(columns: usize, scale: usize) -> ImageGrid {
        ImageGrid {
            columns: columns.max(1),
            scale: scale.max(1),
            tiles: Vec::new(),
        }
    }

    /// Adds a tile.
    pub fn push(&mut self, tile: Tile) {
        self.tiles.push(tile);
    }

    /// Renders the grid: `(width, height, interleaved RGB bytes)` on a white background.
    pub fn render(&self) -> (usize, usize, Vec<u8>) {
        let tile_w = self.tiles.iter().map(|t| t.width).max().unwrap_or(0) * self.scale;
        let tile_h = self.tiles.iter().map(|t| t.height).max().unwrap_or(0) * self.scale;
        let has_caption = self.tiles.iter().any(|t| !t.caption.is_empty());
        let caption_h = if has_caption { 5 * FONT_SCALE + 4 } else { 0 };
        let cell_w = tile_w + 2 * FRAME + GAP;
        let cell_h = tile_h + 2 * FRAME + caption_h + GAP;
        let columns = self.columns.min(self.tiles.len()).max(1);
        let rows = self.tiles.len().div_ceil(columns).max(1);
        let width = columns * cell_w + GAP;
        let height = rows * cell_h + GAP;
        let mut canvas = vec![255u8; width * height * 3];
        let mut put = |x: usize, y: usize, colour: [u8; 3]| {
            if x < width && y < height {
                canvas[(y * width + x) * 3..(y * width + x) * 3 + 3].copy_from_slice(&colour);
            }
        };
        for (index, tile) in self.tiles.iter().enumerate() {
            let left = GAP + (index % columns) * cell_w;
            let top = GAP + (index / columns) * cell_h;
            let (w, h) = (tile.width * self.scale, tile.height * self.scale);
            if let Some(colour) = tile.frame {
                for y in 0..h + 2 * FRAME {
                    for x in 0..w + 2 * FRAME {
                        put(left + x, top + y, colour);
                    }
                }
            }
            for y in 0..h {
                for x in 0..w {
                    let source = ((y / self.scale) * tile.width + x / self.scale) * 3;
                    let colour = [tile.rgb[source], tile.rgb[source + 1], tile.rgb[source + 2]];
                    put(left + FRAME + x, top + FRAME + y, colour);
                }
            }
            let text_top = top + h + 2 * FRAME + 2;
            let mut pen = left + FRAME;
            for glyph in tile.caption.chars().filter_map(glyph) {
                for (row, bits) in glyph.iter().enumerate() {
                    for column in 0..3 {
                        if bits >> (2 - column) & 1 == 1 {
                            for dy in 0..FONT_SCALE {
                                for dx in 0..FONT_SCALE {
                                    put(
                                        pen + column * FONT_SCALE + dx,
                                        text_top + row * FONT_SCALE + dy,
                                        [0, 0, 0],
                                    );
                                }
                            }
                        }
                    }
                }
                pen += 4 * FONT_SCALE;
            }
        }
        (width, height, canvas)
    }

    /// Renders the grid and writes it as a PNG file (atomically).
    pub fn save(&self, path: &Path) -> Result<()> {
        let (width, height, rgb) = self.render();
        save_rgb(path, width, height, &rgb)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiles_frames_and_captions_land_where_expected() {
        let mut grid = ImageGrid::new(2, 1);
        let mut tile = Tile::from_planar(1, 1, &[10, 20, 30]);
        tile.frame = Some([0, 255, 0]);
        tile.caption = "1/7".to_string();
        grid.push(tile);
        let (width, height, rgb) = grid.render();
        // One 1×1 tile: frame 2 on each side, caption 14 high, gaps of 4.
        assert_eq!((width, height), (4 + 5 + 4, 4 + 5 + 14 + 4));
        let at = |x: usize, y: usize| &rgb[(y * width + x) * 3..(y * width + x) * 3 + 3];
        assert_eq!(at(4, 4), &[0, 255, 0]); // frame
        assert_eq!(at(6, 6), &[10, 20, 30]); // the pixel, planar → interleaved
        // The caption starts at x = 4 + 2 (gap, frame), y = 4 + 1 + 4 + 2; each font pixel is 2×2.
        assert_eq!(at(6, 11), &[255, 255, 255]); // the "1" glyph's top row: left column off,
        assert_eq!(at(8, 11), &[0, 0, 0]); // middle column on
    }
}
