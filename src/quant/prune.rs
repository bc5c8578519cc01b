//! Magnitude pruning (chapter 18): set the smallest weights to zero, optionally keep training with
//! them held at zero, and count what a sparse format would store.
//!
//! # The rule
//! The fraction `s` of the weights (parameters named `*.weight`; biases are kept) with the smallest
//! magnitude `|w|` is removed: a mask marks the kept ones and pruned weights are set to 0
//! ([`PruningMask::apply`]). Two scopes ([`Scope`]): one threshold for all layers together
//! (*global*), or the same fraction of every layer (*per layer*). Global pruning takes most from
//! the big, redundant layers (chapter 12's `fc1` holds 48,000 of the 61,706 weights) and spares the
//! small first convolution (450 weights), whose every filter matters; per-layer pruning at 90 %
//! leaves `conv1` only 45 weights. Ties at the threshold are broken by position, so the mask is
//! deterministic.
//!
//! *Masked fine-tuning*: a few more training steps with the mask re-applied after every optimizer
//! step, so the remaining weights adapt to the missing ones while the pruned ones stay exactly 0.
//!
//! # Sparse storage, and why it is not faster here
//! A weight matrix `[out, in]` with `nnz` non-zeros in the CSR format (compressed sparse rows) needs
//! `nnz` values, `nnz` column indices (2 bytes when `in ≤ 65,536`) and `out + 1` row offsets (4
//! bytes): [`csr_bytes`]. At 50 % sparsity that is 50 % × (4 + 2) = 75 % of the dense f32 size — a
//! saving only from about 35 % sparsity up.
//!
//! Unstructured sparsity does not speed up a dense GEMM: the kernel multiplies whole vectors of
//! consecutive weights, and a zero costs the same as any other value. Skipping zeros needs a sparse
//! kernel, whose scattered, index-driven loads run far below the dense kernel's peak; it pays only at
//! high sparsity (roughly ≥ 90 %) or with *structured* sparsity (whole channels or blocks removed,
//! which shrinks the dense matrix itself, or NVIDIA's 2:4 pattern with hardware support).
//!
//! What it leaves out: structured pruning, iterative prune–retrain schedules, sparse kernels.

use crate::nn::Layer;

/// Which weights are kept (true) in each pruned tensor, by parameter name.
#[derive(Clone, Debug, PartialEq)]
pub struct PruningMask {
    /// `(parameter name, keep flags)` in `visit_params` order.
    pub masks: Vec<(String, Vec<bool>)>,
}

/// Where the magnitude threshold applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// One threshold over all weight tensors together.
    Global,
    /// The same fraction pruned in every weight tensor.
    PerLayer,
}

/// The mask keeping the largest `1 − sparsity` fraction of the weights of `model` by magnitude, over
/// all weight tensors together or in each (`sparsity` in `[0, 1]`, clamped). Panics on NaN.
pub fn magnitude_mask(model: &mut dyn Layer, sparsity: f32, scope: Scope) -> PruningMask {
    assert!(!sparsity.is_nan(), "magnitude_mask: sparsity is NaN");
    let sparsity = f64::from(sparsity.clamp(0.0, 1.0));
    let mut tensors: Vec<(String, Vec<f32>)> = Vec::new();
    model.visit_params(&mut |name, param| {
        if name.ends_with("weight") {
            tensors.push((name.to_string(), param.value.data().to_vec()));
        }
    });
    // Every weight as (tensor, index); the smallest magnitudes first, ties in position order.
    let smallest_first = |entries: &mut Vec<(usize, usize)>| {
        entries.sort_by(|&(ta, ia), &(tb, ib)| {
            tensors[ta].1[ia]
                .abs()
                .total_cmp(&tensors[tb].1[ib].abs())
                .then((ta, ia).cmp(&(tb, ib)))
        });
    };
    let mut masks: Vec<(String, Vec<bool>)> = tensors
        .iter()
        .map(|(name, values)| (name.clone(), vec![true; values.len()]))
        .collect();
    let groups: Vec<Vec<usize>> = match scope {
        Scope::Global => vec![(0..tensors.len()).collect()],
        Scope::PerLayer => (0..tensors.len()).map(|t| vec![t]).collect(),
    };
    for group in groups {
        let mut entries: Vec<(usize, usize)> = group
            .iter()
            .flat_map(|&t| (0..tensors[t].1.len()).map(move |i| (t, i)))
            .collect();
        smallest_first(&mut entries);
        let pruned = (entries.len() as f64 * sparsity).round() as usize;
        for &(t, i) in &entries[..pruned] {
            masks[t].1[i] = false;
        }
    }
    PruningMask { masks }
}

impl PruningMask {
    /// Sets every pruned weight of `model` to 0 (call after each optimizer step while fine-tuning).
    /// Panics if a masked parameter is missing or has another size (a different model).
    pub fn apply(&self, model: &mut dyn Layer) {
        let mut found = 0;
        model.visit_params(&mut |name, param| {
            if let Some((_, keep)) = self.masks.iter().find(|(n, _)| n == name) {
                assert_eq!(
                    keep.len(),
                    param.value.len(),
                    "PruningMask::apply: {name} has {} values, the mask {}",
                    param.value.len(),
                    keep.len()
                );
                for (w, &k) in param.value.data_mut().iter_mut().zip(keep) {
                    if !k {
                        *w = 0.0;
                    }
                }
                found += 1;
            }
        });
        assert_eq!(
            found,
            self.masks.len(),
            "PruningMask::apply: a masked parameter is missing"
        );
    }

    /// Weights kept, over all masked tensors.
    pub fn kept(&self) -> usize {
        self.masks
            .iter()
            .map(|(_, m)| m.iter().filter(|&&k| k).count())
            .sum()
    }

    /// Weights in all masked tensors.
    pub fn total(&self) -> usize {
        self.masks.iter().map(|(_, m)| m.len()).sum()
    }

    /// The fraction of masked weights that are pruned.
    pub fn sparsity(&self) -> f32 {
        1.0 - self.kept() as f32 / self.total().max(1) as f32
    }
}

/// Bytes of a `rows × cols` matrix with `nonzeros` values of `value_bytes` each in CSR: values,
/// column indices (2 bytes if `cols ≤ 65,536`, else 4) and `rows + 1` row offsets of 4 bytes.
pub fn csr_bytes(rows: usize, cols: usize, nonzeros: usize, value_bytes: usize) -> usize {
    let index_bytes = if cols <= 1 << 16 { 2 } else { 4 };
    nonzeros * (value_bytes + index_bytes) + (rows + 1) * 4
}

/// Bytes of `model`'s parameters when each `*.weight` tensor (viewed as `[out, rest]`) is stored in
/// CSR and everything else densely, `value_bytes` per value (4 for f32, 1 for int8).
pub fn sparse_model_bytes(model: &mut dyn Layer, value_bytes: usize) -> usize {
    let mut bytes = 0;
    model.visit_params(&mut |name, param| {
        let values = param.value.data();
        if name.ends_with("weight") && param.value.ndim() >= 2 {
            let rows = param.value.dim(0);
            let cols = values.len() / rows.max(1);
            let nonzeros = values.iter().filter(|&&v| v != 0.0).count();
            bytes += csr_bytes(rows, cols, nonzeros, value_bytes);
        } else {
            bytes += values.len() * value_bytes;
        }
    });
    bytes
}

/// Bytes of `model`'s parameters stored densely, `value_bytes` per value.
pub fn dense_model_bytes(model: &mut dyn Layer, value_bytes: usize) -> usize {
    crate::nn::param_count(model) * value_bytes
}
