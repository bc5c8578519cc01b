//! Reference solutions of chapter 2's exercises (see `mod.rs`).

pub fn matmul(a: &[f32], b: &[f32], m: usize, k: usize, n: usize) -> Vec<f32> {
    dlfs::linalg::reference::matmul(a, b, m, k, n)
}

pub fn transpose(a: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    dlfs::Tensor::from_vec(&[rows, cols], a.to_vec())
        .transpose()
        .into_data()
}

pub fn cosine_similarity(a: &[f32], b: &[f32]) -> f32 {
    dlfs::linalg::vector::cosine(a, b)
}

pub fn power_iteration(a: &[f32], n: usize, iterations: usize) -> (f32, Vec<f32>) {
    use dlfs::linalg::eigen::PowerIteration;
    let matrix = dlfs::Tensor::from_vec(&[n, n], a.to_vec());
    let settings = PowerIteration {
        max_iterations: iterations,
        ..PowerIteration::default()
    };
    let pair = dlfs::linalg::eigen::power_iteration(&matrix, &settings)
        .expect("the checker's matrices have a dominant eigenvalue");
    (pair.value, pair.vector)
}
