//! A grid of small pictures saved as one PNG, each with an optional coloured frame and a short caption
//! (chapter 12 shows test images captioned with the predicted and the true class name, framed green
//! when right and red when wrong).
//!
//! Captions are drawn with a built-in 3×5-pixel font: the digits, the letters (drawn as capitals),
//! `/ _ - : . ( )` and the space — enough for class names without a font library. A caption may have
//! several lines (`\n`); a cell widens to fit its longest caption line.
//!
//! What it leaves out: lower-case shapes, other symbols, anti-aliasing, compression (see
//! [`super::png`]).

use super::png::save_rgb;
use crate::error::Result;
use std::path::Path;

/// The 3×5 glyphs, five rows of three bits each (top row first, leftmost pixel the highest bit).
/// Letters of either case share the capital's shape.
fn glyph(c: char) -> Option<[u8; 5]> {
    Some(match c.to_ascii_uppercase() {
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
        'A' => [0b010, 0b101, 0b111, 0b101, 0b101],
        'B' => [0b110, 0b101, 0b110, 0b101, 0b110],
        'C' => [0b011, 0b100, 0b100, 0b100, 0b011],
        'D' => [0b110, 0b101, 0b101, 0b101, 0b110],
        'E' => [0b111, 0b100, 0b110, 0b100, 0b111],
        'F' => [0b111, 0b100, 0b110, 0b100, 0b100],
        'G' => [0b011, 0b100, 0b101, 0b101, 0b011],
        'H' => [0b101, 0b101, 0b111, 0b101, 0b101],
        'I' => [0b111, 0b010, 0b010, 0b010, 0b111],
        'J' => [0b001, 0b001, 0b001, 0b101, 0b010],
        'K' => [0b101, 0b101, 0b110, 0b101, 0b101],
        'L' => [0b100, 0b100, 0b100, 0b100, 0b111],
        'M' => [0b101, 0b111, 0b111, 0b101, 0b101],
        'N' => [0b110, 0b101, 0b101, 0b101, 0b101],
        'O' => [0b010, 0b101, 0b101, 0b101, 0b010],
        'P' => [0b110, 0b101, 0b110, 0b100, 0b100],
        'Q' => [0b010, 0b101, 0b101, 0b110, 0b011],
        'R' => [0b110, 0b101, 0b110, 0b101, 0b101],
        'S' => [0b011, 0b100, 0b010, 0b001, 0b110],
        'T' => [0b111, 0b010, 0b010, 0b010, 0b010],
        'U' => [0b101, 0b101, 0b101, 0b101, 0b111],
        'V' => [0b101, 0b101, 0b101, 0b101, 0b010],
        'W' => [0b101, 0b101, 0b111, 0b111, 0b101],
        'X' => [0b101, 0b101, 0b010, 0b101, 0b101],
        'Y' => [0b101, 0b101, 0b010, 0b010, 0b010],
        'Z' => [0b111, 0b001, 0b010, 0b100, 0b111],
        '/' => [0b001, 0b001, 0b010, 0b100, 0b100],
        '_' => [0b000, 0b000, 0b000, 0b000, 0b111],
        '-' => [0b000, 0b000, 0b111, 0b000, 0b000],
        ':' => [0b000, 0b010, 0b000, 0b010, 0b000],
        '.' => [0b000, 0b000, 0b000, 0b000, 0b010],
        '(' => [0b001, 0b010, 0b010, 0b010, 0b001],
        ')' => [0b100, 0b010, 0b010, 0b010, 0b100],
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
    /// Text shown under the picture, one or more lines separated by `\n` (characters the font does
    /// not know are skipped).
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
/// Horizontal advance of one caption character: 3 pixels of glyph and 1 of space, scaled.
const ADVANCE: usize = 4 * FONT_SCALE;
/// Height of one caption line: 5 pixels of glyph, scaled, and 2 pixels of space.
const LINE: usize = 5 * FONT_SCALE + 2;

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
        let caption_lines = self
            .tiles
            .iter()
            .map(|t| t.caption.lines().count())
            .max()
            .unwrap_or(0);
        let caption_chars = self
            .tiles
            .iter()
            .flat_map(|t| t.caption.lines())
            .map(|line| line.chars().filter(|&c| glyph(c).is_some()).count())
            .max()
            .unwrap_or(0);
        let caption_h = if caption_lines > 0 {
            caption_lines * LINE + 2
        } else {
            0
        };
        // A cell is as wide as its picture with the frame, or as its longest caption line and one
        // character of space (so that neighbouring captions never touch).
        let caption_w = if caption_chars > 0 {
            (caption_chars + 1) * ADVANCE
        } else {
            0
        };
        let cell_w = (tile_w + 2 * FRAME).max(caption_w) + GAP;
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
            for (line_index, line) in tile.caption.lines().enumerate() {
                let text_top = top + h + 2 * FRAME + 2 + line_index * LINE;
                let mut pen = left + FRAME;
                for glyph in line.chars().filter_map(glyph) {
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
                    pen += ADVANCE;
                }
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
        // One 1×1 tile: frame 2 on each side, caption 14 high, gaps of 4; the cell widens to the
        // caption's 3 characters of 8 pixels and one more of space.
        assert_eq!((width, height), (4 + 32 + 4, 4 + 5 + 14 + 4));
        let at = |x: usize, y: usize| &rgb[(y * width + x) * 3..(y * width + x) * 3 + 3];
        assert_eq!(at(4, 4), &[0, 255, 0]); // frame
        assert_eq!(at(6, 6), &[10, 20, 30]); // the pixel, planar → interleaved
        // The caption starts at x = 4 + 2 (gap, frame), y = 4 + 1 + 4 + 2; each font pixel is 2×2.
        assert_eq!(at(6, 11), &[255, 255, 255]); // the "1" glyph's top row: left column off,
        assert_eq!(at(8, 11), &[0, 0, 0]); // middle column on
    }

    #[test]
    fn captions_take_letters_and_several_lines() {
        let mut grid = ImageGrid::new(1, 1);
        let mut tile = Tile::from_planar(1, 1, &[0, 0, 0]);
        tile.caption = "Dog\nl".to_string();
        grid.push(tile);
        let (width, height, rgb) = grid.render();
        // Two caption lines of 12 pixels and 2 below them; 3 characters (and one of space) wide.
        assert_eq!((width, height), (4 + 32 + 4, 4 + 5 + 2 * 12 + 2 + 4));
        let at = |x: usize, y: usize| &rgb[(y * width + x) * 3..(y * width + x) * 3 + 3];
        // "D" starts at x = 6, y = 11: its top row is 110.
        assert_eq!(at(6, 11), &[0, 0, 0]);
        assert_eq!(at(10, 11), &[255, 255, 255]);
        // The second line's "l" (drawn as L) is 12 pixels lower: its left column is on.
        assert_eq!(at(6, 23), &[0, 0, 0]);
        assert_eq!(at(8, 23), &[255, 255, 255]);
    }
}
