//! The int8 GEMM (chapter 18) against the textbook triple loop: every int8 kernel this CPU supports,
//! on awkward shapes (1, primes, the tile ± 1, odd k that leave partial groups of 2 and 4 terms), on
//! every way of describing B (row-major, transposed, strided with gaps, rows at arbitrary offsets as
//! a convolution passes them), on the extreme values −128 and 127 (where the VNNI offset and an int16
//! overflow would show), and for any number of threads. Integer sums are exact, so every comparison
//! is for equality.

use dlfs::linalg::gemm::int8::{
    I8Matrix, Int8Kernel, Int8Output, MAX_K, PackedInt8, gemm_i8_reference, gemm_i8_with,
    requantize, supported_int8_kernels,
};
use dlfs::probability::Rng;
use proptest::prelude::*;

fn random_i8(len: usize, rng: &mut Rng) -> Vec<i8> {
    (0..len)
        .map(|_| (rng.below(256) as i32 - 128) as i8)
        .collect()
}

/// How B is handed to the GEMM.
#[derive(Clone, Copy, Debug)]
enum Layout {
    RowMajor,
    Transposed,
    /// Every other column of a wider buffer, rows 3 apart more than needed.
    Strided,
    /// Each row a slice at its own offset of one buffer.
    Rows,
}

const LAYOUTS: [Layout; 4] = [
    Layout::RowMajor,
    Layout::Transposed,
    Layout::Strided,
    Layout::Rows,
];

/// The buffer and offsets that hold the row-major `k × n` matrix `b` in `layout`.
struct Stored {
    data: Vec<i8>,
    offsets: Vec<usize>,
}

impl Stored {
    fn new(b: &[i8], k: usize, n: usize, layout: Layout, rng: &mut Rng) -> Stored {
        // Garbage outside the view: the GEMM must never read it into C.
        let mut data = random_i8(3 * k * n + 8 * k + 16, rng);
        let mut offsets = Vec::new();
        for p in 0..k {
            for j in 0..n {
                let index = match layout {
                    Layout::RowMajor => p * n + j,
                    Layout::Transposed => j * k + p,
                    Layout::Strided => p * (2 * n + 3) + 2 * j,
                    Layout::Rows => (k - 1 - p) * (n + 5) + 2 + j,
                };
                data[index] = b[p * n + j];
            }
            offsets.push((k - 1 - p) * (n + 5) + 2);
        }
        Stored { data, offsets }
    }

    fn view(&self, k: usize, n: usize, layout: Layout) -> I8Matrix<'_> {
        match layout {
            Layout::RowMajor => I8Matrix::row_major(&self.data[..k * n], k, n),
            Layout::Transposed => I8Matrix::transposed(&self.data[..k * n], k, n),
            Layout::Strided => I8Matrix::Strided {
                data: &self.data,
                rows: k,
                cols: n,
                row_stride: 2 * n + 3,
                col_stride: 2,
            },
            Layout::Rows => I8Matrix::Rows {
                data: &self.data,
                offsets: &self.offsets,
                cols: n,
            },
        }
    }
}

/// Runs `kernel` on `m × k` by `k × n` in `layout` and compares with the reference.
#[allow(clippy::too_many_arguments)]
fn check(
    kernel: Int8Kernel,
    a: &[i8],
    b: &[i8],
    m: usize,
    n: usize,
    k: usize,
    layout: Layout,
    threads: usize,
    rng: &mut Rng,
) {
    let mut expected = vec![0i32; m * n];
    gemm_i8_reference(a, b, m, n, k, &mut expected);
    let packed = PackedInt8::with_kernel(kernel, a, m, k);
    let stored = Stored::new(b, k, n, layout, rng);
    // Garbage in C must be overwritten, not added to.
    let mut got = vec![i32::MIN; m * n];
    gemm_i8_with(
        threads,
        &packed,
        stored.view(k, n, layout),
        Int8Output::Sums(&mut got),
    );
    if let Some(index) = (0..m * n).find(|&i| got[i] != expected[i]) {
        panic!(
            "{} int8 kernel, m {m} n {n} k {k}, B {layout:?}, {threads} threads: C[{}, {}] = {} but \
             the reference gives {}",
            kernel.name(),
            index / n,
            index % n,
            got[index],
            expected[index]
        );
    }
}

#[test]
fn reports_which_kernels_are_tested() {
    let supported = supported_int8_kernels();
    for kernel in Int8Kernel::ALL {
        if !supported.contains(&kernel) {
            eprintln!(
                "note: this CPU cannot run the {} int8 kernel; it is not tested here (the portable \
                 kernel runs the same arithmetic)",
                kernel.name()
            );
        }
    }
    assert!(supported.contains(&Int8Kernel::Scalar));
}

#[test]
fn every_kernel_matches_the_reference_on_awkward_shapes() {
    let mut rng = Rng::new(18);
    for kernel in supported_int8_kernels() {
        let (mr, nr) = kernel.tile();
        let ms = [1, 5, 13, mr - 1, mr, mr + 1, 2 * mr + 1];
        let ns = [1, 2, 3, 4, 7, 17, nr - 1, nr, nr + 1, 2 * nr + 3];
        for &m in &ms {
            for &n in &ns {
                for k in [1, 2, 3, 4, 5, 7, 75, 150] {
                    let a = random_i8(m * k, &mut rng);
                    let b = random_i8(k * n, &mut rng);
                    let layout = LAYOUTS[(m + n + k) % 4];
                    check(kernel, &a, &b, m, n, k, layout, 1, &mut rng);
                }
            }
        }
    }
}

#[test]
fn every_layout_of_b_gives_the_same_product() {
    let mut rng = Rng::new(3);
    for kernel in supported_int8_kernels() {
        for (m, n, k) in [(6, 892, 75), (16, 136, 150), (7, 3, 9), (2, 65, 13)] {
            let a = random_i8(m * k, &mut rng);
            let b = random_i8(k * n, &mut rng);
            for layout in LAYOUTS {
                check(kernel, &a, &b, m, n, k, layout, 1, &mut rng);
            }
        }
    }
}

#[test]
fn extreme_values_do_not_overflow_or_saturate() {
    // All −128 times all −128 is the largest product (2¹⁴); with 127 the sum of a pair overflows
    // int16, and with the VNNI offset −128 becomes the unsigned byte 0.
    let mut rng = Rng::new(1);
    for kernel in supported_int8_kernels() {
        for (w, x) in [
            (-128i8, -128i8),
            (127, 127),
            (-128, 127),
            (127, -128),
            (-1, -1),
        ] {
            for (m, n, k) in [(7, 9, 401), (13, 65, 1000), (1, 17, MAX_K), (2, 1, MAX_K)] {
                let a = vec![w; m * k];
                let b = vec![x; k * n];
                check(kernel, &a, &b, m, n, k, Layout::RowMajor, 1, &mut rng);
            }
        }
    }
}

#[test]
fn the_result_is_the_same_for_any_thread_count() {
    let mut rng = Rng::new(7);
    let (m, n, k) = (203, 37, 150);
    let a = random_i8(m * k, &mut rng);
    let b = random_i8(k * n, &mut rng);
    for kernel in supported_int8_kernels() {
        for threads in [1, 2, 3, 8] {
            check(
                kernel,
                &a,
                &b,
                m,
                n,
                k,
                Layout::Transposed,
                threads,
                &mut rng,
            );
        }
    }
}

#[test]
fn empty_products_write_nothing_and_k_zero_gives_zeros() {
    for kernel in supported_int8_kernels() {
        let packed = PackedInt8::with_kernel(kernel, &[], 3, 0);
        for n in [2, 9] {
            let mut c = vec![99i32; 3 * n];
            gemm_i8_with(
                1,
                &packed,
                I8Matrix::row_major(&[], 0, n),
                Int8Output::Sums(&mut c),
            );
            assert_eq!(
                c,
                vec![0; 3 * n],
                "{}: k = 0 must give zeros",
                kernel.name()
            );
        }
        let mut none: Vec<i32> = Vec::new();
        gemm_i8_with(
            1,
            &packed,
            I8Matrix::row_major(&[], 0, 0),
            Int8Output::Sums(&mut none),
        );
    }
}

#[test]
#[should_panic(expected = "could overflow int32")]
fn too_long_sums_are_refused() {
    let k = MAX_K + 1;
    let _ = PackedInt8::with_kernel(Int8Kernel::Scalar, &vec![0; k], 1, k);
}

#[test]
#[should_panic(expected = "run past")]
fn rows_past_the_buffer_are_refused() {
    let packed = PackedInt8::with_kernel(Int8Kernel::Scalar, &[1, 2], 1, 2);
    let data = [0i8; 10];
    let mut c = [0i32; 4];
    gemm_i8_with(
        1,
        &packed,
        I8Matrix::Rows {
            data: &data,
            offsets: &[0, 7],
            cols: 4,
        },
        Int8Output::Sums(&mut c),
    );
}

#[test]
fn the_requantized_output_is_the_requantized_reference() {
    let mut rng = Rng::new(11);
    for kernel in supported_int8_kernels() {
        for (m, n, k) in [(6, 892, 75), (16, 136, 150), (13, 2, 40), (7, 21, 9)] {
            let a = random_i8(m * k, &mut rng);
            let b = random_i8(k * n, &mut rng);
            let bias: Vec<i32> = (0..m).map(|_| rng.below(20_000) as i32 - 10_000).collect();
            let multiplier: Vec<f32> = (0..m).map(|_| rng.uniform(0.0001, 0.01)).collect();
            let mut sums = vec![0i32; m * n];
            gemm_i8_reference(&a, &b, m, n, k, &mut sums);
            let packed = PackedInt8::with_kernel(kernel, &a, m, k);
            for relu in [false, true] {
                let mut out = vec![99i8; m * n];
                gemm_i8_with(
                    2,
                    &packed,
                    I8Matrix::row_major(&b, k, n),
                    Int8Output::Requantized {
                        out: &mut out,
                        bias: &bias,
                        multiplier: &multiplier,
                        relu,
                    },
                );
                for i in 0..m {
                    for j in 0..n {
                        let expected = requantize(sums[i * n + j] + bias[i], multiplier[i], relu);
                        assert_eq!(
                            out[i * n + j],
                            expected,
                            "{} kernel, ({i}, {j}) of {m}×{n}",
                            kernel.name()
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn requantize_rounds_half_to_even_and_clamps() {
    assert_eq!(requantize(5, 0.5, false), 2); // 2.5 → 2
    assert_eq!(requantize(7, 0.5, false), 4); // 3.5 → 4
    assert_eq!(requantize(-5, 0.5, false), -2);
    assert_eq!(requantize(-5, 0.5, true), 0);
    assert_eq!(requantize(1000, 1.0, false), 127);
    assert_eq!(requantize(-1000, 1.0, false), -127);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]
    #[test]
    fn random_shapes_match_the_reference(m in 1usize..40, n in 1usize..80, k in 1usize..70, layout in 0usize..4, seed in 0u64..1000) {
        let mut rng = Rng::new(seed);
        let a = random_i8(m * k, &mut rng);
        let b = random_i8(k * n, &mut rng);
        for kernel in supported_int8_kernels() {
            check(kernel, &a, &b, m, n, k, LAYOUTS[layout], 2, &mut rng);
        }
    }
}
