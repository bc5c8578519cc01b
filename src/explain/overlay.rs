//! Attribution maps as pictures (chapter 18): a heat colour blended over a grey copy of the image.

use crate::report::Tile;

/// A colour for `t` in [0, 1]: black → red → yellow → white (the "hot" colour map).
pub fn hot(t: f32) -> [u8; 3] {
    let t = t.clamp(0.0, 1.0) * 3.0;
    let channel = |x: f32| (x.clamp(0.0, 1.0) * 255.0).round() as u8;
    [channel(t), channel(t - 1.0), channel(t - 2.0)]
}

/// A tile showing `map` (`h × w` values, larger = more important; negative values count as 0)
/// scaled to its own maximum, blended 60/40 with a grey copy of `image` (planar RGB bytes of the
/// same size), so that the object stays recognisable under the colours.
pub fn heat_tile(image: &[u8], map: &[f32], width: usize, height: usize) -> Tile {
    assert_eq!(
        map.len(),
        width * height,
        "heat_tile: {} values for {width}×{height}",
        map.len()
    );
    let plane = width * height;
    let max = map.iter().fold(0.0f32, |m, &v| m.max(v));
    let mut tile = Tile::from_planar(width, height, image);
    for p in 0..plane {
        let grey =
            (u32::from(image[p]) + u32::from(image[plane + p]) + u32::from(image[2 * plane + p]))
                / 3;
        let colour = hot(if max > 0.0 {
            map[p].max(0.0) / max
        } else {
            0.0
        });
        for (out, &c) in tile.rgb[p * 3..p * 3 + 3].iter_mut().zip(&colour) {
            *out = (0.6 * f32::from(c) + 0.4 * grey as f32).round() as u8;
        }
    }
    tile
}
