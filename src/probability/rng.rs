//! `Rng`: the xoshiro256** generator, seeded through SplitMix64.
//!
//! xoshiro256** (Blackman and Vigna, 2018) keeps 256 bits of state and passes the standard statistical
//! test batteries; it is small enough to read in a minute. A 64-bit seed is stretched into the four
//! state words with SplitMix64, which guarantees the state is never all zeros (the one state
//! xoshiro cannot leave).
//!
//! Floating-point samples are built from the top bits of a 64-bit draw, so they are exact multiples of
//! 2⁻²⁴ (f32) and never equal to 1.0.

/// A small, fast, seeded pseudo-random generator. Same seed, same sequence, on every machine.
#[derive(Clone, Debug)]
pub struct Rng {
    state: [u64; 4],
}

/// One step of SplitMix64: advances `x` and returns a well-mixed 64-bit value.
fn splitmix64(x: &mut u64) -> u64 {
    *x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *x;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Rng {
    /// A generator whose whole sequence is determined by `seed`.
    pub fn new(seed: u64) -> Rng {
        let mut x = seed;
        Rng {
            state: [
                splitmix64(&mut x),
                splitmix64(&mut x),
                splitmix64(&mut x),
                splitmix64(&mut x),
            ],
        }
    }

    /// The generator's whole state, four 64-bit words: save them with a checkpoint and
    /// [`Rng::from_state`] continues the sequence exactly where it was (what resuming a run needs).
    pub fn state(&self) -> [u64; 4] {
        self.state
    }

    /// A generator continuing from a state returned by [`Rng::state`]; `None` for the all-zero state,
    /// which xoshiro can never reach and never leaves (so it cannot come from [`Rng::state`]).
    pub fn from_state(state: [u64; 4]) -> Option<Rng> {
        (state != [0; 4]).then_some(Rng { state })
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let s = &mut self.state;
        let result = s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        result
    }

    /// A new generator for a sub-task (e.g. one per worker or per dataset), independent of this one's
    /// future output and deterministic given this one's state.
    pub fn fork(&mut self) -> Rng {
        Rng::new(self.next_u64())
    }

    /// Uniform on `[0, 1)` with 24 random bits (every value a multiple of 2⁻²⁴).
    pub fn next_f32(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 * (1.0 / (1u64 << 24) as f32)
    }

    /// Uniform on `[0, 1)` with 53 random bits.
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform on `[low, high)`.
    pub fn uniform(&mut self, low: f32, high: f32) -> f32 {
        low + (high - low) * self.next_f32()
    }

    /// A uniformly chosen integer in `0..n`, without modulo bias (Lemire's method). Panics if `n == 0`.
    pub fn below(&mut self, n: usize) -> usize {
        assert!(n > 0, "Rng::below(0): the range 0..0 is empty");
        let n = n as u64;
        // Multiply a 64-bit draw by n and keep the high word; reject the few draws that would make
        // some results more likely than others.
        let threshold = n.wrapping_neg() % n;
        loop {
            let product = u128::from(self.next_u64()) * u128::from(n);
            if (product as u64) >= threshold {
                return (product >> 64) as usize;
            }
        }
    }

    /// A sample from the normal distribution N(mean, std²), by the Box–Muller transform:
    /// for U₁, U₂ uniform on (0, 1], √(−2 ln U₁) · cos(2π U₂) is a standard normal.
    pub fn normal(&mut self, mean: f32, std: f32) -> f32 {
        let u1 = 1.0 - self.next_f64(); // in (0, 1], so ln(u1) is finite
        let u2 = self.next_f64();
        let z = (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos();
        mean + std * z as f32
    }

    /// True with probability `p` (a Bernoulli trial, e.g. a coin flip with p = 0.5).
    pub fn bernoulli(&mut self, p: f64) -> bool {
        self.next_f64() < p
    }

    /// An index drawn with probability proportional to `weights[i]` (weights ≥ 0, not all zero).
    pub fn categorical(&mut self, weights: &[f64]) -> usize {
        let total: f64 = weights.iter().sum();
        assert!(
            total > 0.0 && weights.iter().all(|&w| w >= 0.0),
            "Rng::categorical: weights must be ≥ 0 and not all zero, got {weights:?}"
        );
        let mut target = self.next_f64() * total;
        for (i, &w) in weights.iter().enumerate() {
            if target < w {
                return i;
            }
            target -= w;
        }
        // Rounding can leave `target` a hair above the last weight: return the last non-zero one.
        weights.iter().rposition(|&w| w > 0.0).unwrap_or(0)
    }

    /// Shuffles `items` in place; every order is equally likely (Fisher–Yates).
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i + 1);
            items.swap(i, j);
        }
    }

    /// `0..n` in a random order (e.g. the order of examples in one epoch).
    pub fn permutation(&mut self, n: usize) -> Vec<usize> {
        let mut order: Vec<usize> = (0..n).collect();
        self.shuffle(&mut order);
        order
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_saved_state_continues_the_sequence() {
        let mut a = Rng::new(7);
        a.next_u64();
        let mut b = Rng::from_state(a.state()).expect("a reachable state");
        for _ in 0..10 {
            assert_eq!(a.next_u64(), b.next_u64());
        }
        assert!(Rng::from_state([0; 4]).is_none());
    }

    #[test]
    fn same_seed_same_sequence() {
        let mut a = Rng::new(42);
        let mut b = Rng::new(42);
        for _ in 0..100 {
            assert_eq!(a.next_u64(), b.next_u64());
        }
        assert_ne!(Rng::new(1).next_u64(), Rng::new(2).next_u64());
    }

    #[test]
    fn below_stays_in_range_and_hits_every_value() {
        let mut rng = Rng::new(7);
        let mut seen = [false; 7];
        for _ in 0..1000 {
            seen[rng.below(7)] = true;
        }
        assert!(seen.iter().all(|&s| s));
    }

    #[test]
    fn permutation_is_a_permutation() {
        let mut p = Rng::new(3).permutation(50);
        p.sort();
        assert_eq!(p, (0..50).collect::<Vec<_>>());
    }
}
