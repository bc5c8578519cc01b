//! The int8 GEMM (chapter 18) against the textbook triple loop: every int8 kernel this CPU supports,
//! on awkward shapes (1, primes, the tile ± 1, odd k that leave partial groups of 2 and 4 terms), on
//! the extreme values −128 and 127 (where the VNNI offset and an int16 overflow would show), and for
//! any number of threads. Integer sums are exact, so every comparison is for equality.

use dlfs::linalg::gemm::int8::{
    Int8Kernel, MAX_K, PackedInt8, gemm_i8_reference, gemm_i8_with, supported_int8_kernels,
};
use dlfs::probability::Rng;
use proptest::prelude::*;

fn random_i8(len: usize, rng: &mut Rng) -> Vec<i8> {
    (0..len)
        .map(|_| (rng.below(256) as i32 - 128) as i8)
        .collect()
}

/// Runs `kernel` on `m × k` by `n × k` and compares with the reference; returns a message on failure.
fn check(kernel: Int8Kernel, a: &[i8], b: &[i8], m: usize, n: usize, k: usize, threads: usize) {
    let mut expected = vec![0i32; m * n];
    gemm_i8_reference(a, b, m, n, k, &mut expected);
    let packed = PackedInt8::with_kernel(kernel, b, n, k);
    // Garbage in C must be overwritten, not added to.
    let mut got = vec![i32::MIN; m * n];
    gemm_i8_with(threads, a, m, &packed, &mut got);
    if let Some(index) = (0..m * n).find(|&i| got[i] != expected[i]) {
        panic!(
            "{} int8 kernel, m {m} n {n} k {k}, {threads} threads: C[{}, {}] = {} but the reference \
             gives {}",
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
                "note: this CPU cannot run the {} int8 kernel; it is not tested here",
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
        let mut ms = vec![1, 2, 5, 13, 64];
        let mut ns = vec![1, 6, 7, 17, 84, 120];
        for n in [8, 16, 64] {
            let (mr, nr) = kernel.tile(n);
            ms.extend([mr - 1, mr, mr + 1, 2 * mr + 1]);
            ns.extend([nr - 1, nr, nr + 1]);
        }
        for &m in &ms {
            for &n in &ns {
                for k in [1, 2, 3, 4, 5, 7, 75, 150] {
                    let a = random_i8(m * k, &mut rng);
                    let b = random_i8(n * k, &mut rng);
                    check(kernel, &a, &b, m, n, k, 1);
                }
            }
        }
    }
}

#[test]
fn extreme_values_do_not_overflow_or_saturate() {
    // All −128 times all −128 is the largest product (2¹⁴); with 127 the sum of a pair overflows
    // int16, and with the VNNI offset −128 becomes the unsigned byte 0.
    for kernel in supported_int8_kernels() {
        for (x, w) in [
            (-128i8, -128i8),
            (127, 127),
            (-128, 127),
            (127, -128),
            (-1, -1),
        ] {
            for (m, n, k) in [(7, 9, 401), (13, 65, 1000), (1, 1, MAX_K)] {
                let a = vec![x; m * k];
                let b = vec![w; n * k];
                check(kernel, &a, &b, m, n, k, 1);
            }
        }
    }
}

#[test]
fn the_result_is_the_same_for_any_thread_count() {
    let mut rng = Rng::new(7);
    let (m, n, k) = (203, 17, 150);
    let a = random_i8(m * k, &mut rng);
    let b = random_i8(n * k, &mut rng);
    for kernel in supported_int8_kernels() {
        for threads in [1, 2, 3, 8] {
            check(kernel, &a, &b, m, n, k, threads);
        }
    }
}

#[test]
fn empty_products_write_nothing_and_k_zero_gives_zeros() {
    for kernel in supported_int8_kernels() {
        let packed = PackedInt8::with_kernel(kernel, &[], 3, 0);
        let mut c = vec![99i32; 6];
        gemm_i8_with(1, &[], 2, &packed, &mut c);
        assert_eq!(c, vec![0; 6], "{}: k = 0 must give zeros", kernel.name());
        let mut none: Vec<i32> = Vec::new();
        gemm_i8_with(1, &[], 0, &packed, &mut none);
    }
}

#[test]
#[should_panic(expected = "could overflow int32")]
fn too_long_sums_are_refused() {
    let k = MAX_K + 1;
    let _ = PackedInt8::with_kernel(Int8Kernel::Scalar, &vec![0; k], 1, k);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]
    #[test]
    fn random_shapes_match_the_reference(m in 1usize..40, n in 1usize..80, k in 1usize..70, seed in 0u64..1000) {
        let mut rng = Rng::new(seed);
        let a = random_i8(m * k, &mut rng);
        let b = random_i8(n * k, &mut rng);
        for kernel in supported_int8_kernels() {
            check(kernel, &a, &b, m, n, k, 2);
        }
    }
}
