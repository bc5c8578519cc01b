//! The weight gradient of a convolution as dot products: `∂L/∂W += dY · colsᵀ` (chapter 8).
//!
//! For one image, `dY` is `C_out × P` (the output gradient, one row per output channel) and `cols` is
//! `K × P` (the im2col matrix, one row per kernel weight): both are row-major, so both are read along
//! their rows, and entry `(o, t)` of the product is the dot product of row `o` of `dY` with row `t` of
//! `cols`. A general GEMM reads `colsᵀ` column-wise when it packs it, a gather with stride `P` that
//! costs more than the arithmetic when `C_out` is small (measured: with 6 output channels, 60 % of
//! the weight-gradient time went into that packing). This kernel reads both matrices in the order they
//! are stored and needs no packing at all:
//!
//! ```text
//! for each 3×2 tile of the result (3 rows of dY, 2 rows of cols):
//!     6 accumulators of 4 lanes (24 partial sums) run along P, 4 values at a time:
//!         acc[a][b][l] += dY[o+a][p+l] · cols[t+b][p+l]
//!     then each accumulator's 4 lanes are added (in a fixed order) into ∂L/∂W[o+a][t+b]
//! ```
//!
//! The lanes are fixed-size arrays, which the compiler turns into SIMD instructions without `unsafe`.
//! A 3×2 tile keeps 6 accumulators and 5 inputs in 11 of the 16 SSE registers, and does 6 multiply-adds
//! per 5 loads. Every entry is summed in the same order wherever it is computed, so the result does not
//! depend on the thread count (the layer splits the batch, never P).
//!
//! What it leaves out: it is only faster than the GEMM when `C_out` is small; the layer chooses (see
//! [`super::Conv2d`]).

/// Lanes per accumulator (one SSE register).
const LANES: usize = 4;

/// `c[(i, j)] += Σ_p a[i·k + p] · b[j·k + p]` for `a` (`m × k`), `b` (`n × k`) and `c` (`m × n`), all
/// row-major: `C += A·Bᵀ`. Panics if the lengths do not fit.
pub fn add_a_bt(m: usize, n: usize, k: usize, a: &[f32], b: &[f32], c: &mut [f32]) {
    assert!(
        a.len() == m * k && b.len() == n * k && c.len() == m * n,
        "add_a_bt: A has {} values (needs {m}×{k}), B {} (needs {n}×{k}), C {} (needs {m}×{n})",
        a.len(),
        b.len(),
        c.len()
    );
    if k == 0 {
        return;
    }
    let rows = |i: usize| &a[i * k..(i + 1) * k];
    let cols = |j: usize| &b[j * k..(j + 1) * k];
    let mut i = 0;
    while i < m {
        let tile_m = (m - i).min(3);
        let mut j = 0;
        while j < n {
            let tile_n = (n - j).min(2);
            match (tile_m, tile_n) {
                (3, 2) => {
                    let s = dots_3x2([rows(i), rows(i + 1), rows(i + 2)], [cols(j), cols(j + 1)]);
                    for (r, s_row) in s.iter().enumerate() {
                        c[(i + r) * n + j] += s_row[0];
                        c[(i + r) * n + j + 1] += s_row[1];
                    }
                }
                _ => {
                    // Edges: one entry at a time.
                    for r in i..i + tile_m {
                        for q in j..j + tile_n {
                            c[r * n + q] += dot(rows(r), cols(q));
                        }
                    }
                }
            }
            j += tile_n;
        }
        i += tile_m;
    }
}

/// `acc += u ⊙ v`, lane by lane. One small loop per accumulator: the compiler turns each into one
/// SIMD multiply and one add (written as one loop over all six accumulators, it shuffled lanes around
/// instead, measured 3× slower).
#[inline(always)]
fn add_product(acc: &mut [f32; LANES], u: &[f32; LANES], v: &[f32; LANES]) {
    for l in 0..LANES {
        acc[l] += u[l] * v[l];
    }
}

/// Four lanes of a slice whose length is known to be 4.
#[inline(always)]
fn lanes(chunk: &[f32]) -> &[f32; LANES] {
    chunk.try_into().expect("chunks of 4")
}

/// The sum of the 4 lanes, always in the same order.
#[inline(always)]
fn lane_sum(lanes: [f32; LANES]) -> f32 {
    (lanes[0] + lanes[1]) + (lanes[2] + lanes[3])
}

/// Six dot products at once: `out[a][b] = x[a] · y[b]` (all of length k), sharing every load.
///
/// Not inlined on purpose: on its own it compiles to the ideal loop (5 loads, 6 multiplies, 6 adds per
/// 4 lanes); inlined into [`add_a_bt`] the compiler re-vectorised it across the wrong dimension, with
/// shuffles, and it ran 3× slower. One call per 3×2 tile costs nothing next to its P-long loop.
#[inline(never)]
fn dots_3x2(x: [&[f32]; 3], y: [&[f32]; 2]) -> [[f32; 2]; 3] {
    let k = x[0].len();
    let full = k / LANES * LANES;
    let mut acc = [[[0.0f32; LANES]; 2]; 3];
    for ((((x0, x1), x2), y0), y1) in x[0][..full]
        .chunks_exact(LANES)
        .zip(x[1][..full].chunks_exact(LANES))
        .zip(x[2][..full].chunks_exact(LANES))
        .zip(y[0][..full].chunks_exact(LANES))
        .zip(y[1][..full].chunks_exact(LANES))
    {
        let (x0, x1, x2, y0, y1) = (lanes(x0), lanes(x1), lanes(x2), lanes(y0), lanes(y1));
        add_product(&mut acc[0][0], x0, y0);
        add_product(&mut acc[0][1], x0, y1);
        add_product(&mut acc[1][0], x1, y0);
        add_product(&mut acc[1][1], x1, y1);
        add_product(&mut acc[2][0], x2, y0);
        add_product(&mut acc[2][1], x2, y1);
    }
    let mut out = [[0.0f32; 2]; 3];
    for a in 0..3 {
        for b in 0..2 {
            let tail: f32 = x[a][full..]
                .iter()
                .zip(&y[b][full..])
                .map(|(u, v)| u * v)
                .sum();
            out[a][b] = lane_sum(acc[a][b]) + tail;
        }
    }
    out
}

/// One dot product, with 4 lanes and the same summation order as [`dots_3x2`].
fn dot(x: &[f32], y: &[f32]) -> f32 {
    let full = x.len() / LANES * LANES;
    let mut acc = [0.0f32; LANES];
    for (u, v) in x[..full]
        .chunks_exact(LANES)
        .zip(y[..full].chunks_exact(LANES))
    {
        for l in 0..LANES {
            acc[l] += u[l] * v[l];
        }
    }
    let tail: f32 = x[full..].iter().zip(&y[full..]).map(|(u, v)| u * v).sum();
    lane_sum(acc) + tail
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_definition_on_awkward_shapes() {
        for (m, n, k) in [
            (1, 1, 1),
            (3, 2, 8),
            (6, 75, 784),
            (5, 7, 13),
            (16, 150, 100),
            (2, 3, 3),
        ] {
            let a: Vec<f32> = (0..m * k).map(|v| ((v * 7) % 11) as f32 - 5.0).collect();
            let b: Vec<f32> = (0..n * k).map(|v| ((v * 5) % 13) as f32 - 6.0).collect();
            let mut c = vec![1.0f32; m * n];
            add_a_bt(m, n, k, &a, &b, &mut c);
            for i in 0..m {
                for j in 0..n {
                    // Small integers: every partial sum is exact in f32.
                    let expected: f32 =
                        1.0 + (0..k).map(|p| a[i * k + p] * b[j * k + p]).sum::<f32>();
                    assert_eq!(c[i * n + j], expected, "({m}, {n}, {k}) at ({i}, {j})");
                }
            }
        }
    }
}
