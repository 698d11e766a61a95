//! The 128-bit digest behind [`super::RequestKey`], and a pass-through hasher
//! for maps keyed by it.
//!
//! The digest runs four independent multiply-fold lanes over 32-byte blocks.
//! Every 8-byte word feeds two lanes under different pairings and constants:
//! lanes `a0`/`a1` take words (0, 1) and (2, 3) of a block and make the high
//! half; lanes `b0`/`b1` take words (0, 2) and (1, 3) and make the low half. A
//! collision needs both halves to collide. The lanes are independent, so the
//! loop runs at the multiplier's throughput rather than its latency: a few
//! tenths of a cycle per byte, several times faster than SipHash.
//!
//! A multiply-fold `fold(x * y)` loses what it multiplies when `y` is zero.
//! The constant xored into the second operand (a pure input word) has a byte
//! `0xff`, which UTF-8 never contains, so for the texts keyed here that operand
//! is never zero; for arbitrary bytes it is zero with probability 2^-64.

use std::hash::{BuildHasher, Hasher};

/// Lane seeds.
const SEED: [u64; 4] = [
    0x243f_6a88_85a3_08d3,
    0x1319_8a2e_0370_7344,
    0xa409_3822_299f_31d0,
    0x082e_fa98_ec4e_6c89,
];
/// The constants of the second operands: each has a byte `0xff`.
const SECOND: [u64; 4] = [
    0x9216_d5d9_8979_fbff,
    0xd131_0ba6_98df_b5ff,
    0xb8e1_afed_6a26_7eff,
    0x7b54_a41d_c25a_59ff,
];

/// The 64x64 -> 128 bit product, its halves xored.
#[inline(always)]
fn mum(a: u64, b: u64) -> u64 {
    let p = u128::from(a) * u128::from(b);
    (p as u64) ^ ((p >> 64) as u64)
}

/// The murmur3 finaliser: a bijection that mixes every bit into every bit.
#[inline(always)]
fn fmix(mut x: u64) -> u64 {
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    x = x.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    x ^ (x >> 33)
}

#[inline(always)]
fn word(block: &[u8; 32], at: usize) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&block[at..at + 8]);
    u64::from_le_bytes(w)
}

struct Lanes([u64; 4]);

impl Lanes {
    #[inline(always)]
    fn block(&mut self, block: &[u8; 32]) {
        let (w0, w1, w2, w3) = (
            word(block, 0),
            word(block, 8),
            word(block, 16),
            word(block, 24),
        );
        let [a0, a1, b0, b1] = &mut self.0;
        // The first operand carries the lane's state; the second is a pure
        // input word under the lane's constant.
        *a0 = mum(w0 ^ *a0, w1 ^ SECOND[0]);
        *a1 = mum(w2 ^ *a1, w3 ^ SECOND[1]);
        *b0 = mum(w0 ^ *b0, w2 ^ SECOND[2]);
        *b1 = mum(w1 ^ *b1, w3 ^ SECOND[3]);
    }
}

/// The digest of `bytes`.
pub(super) fn digest(bytes: &[u8]) -> u128 {
    let len = bytes.len() as u64;
    let mut lanes = Lanes([
        SEED[0] ^ len,
        SEED[1],
        SEED[2] ^ len.rotate_left(32),
        SEED[3],
    ]);
    let mut blocks = bytes.chunks_exact(32);
    for block in &mut blocks {
        if let Ok(block) = <&[u8; 32]>::try_from(block) {
            lanes.block(block);
        }
    }
    let rest = blocks.remainder();
    if !rest.is_empty() {
        // Zero padding is unambiguous: the length is in the seeds.
        let mut last = [0u8; 32];
        if let Some(head) = last.get_mut(..rest.len()) {
            head.copy_from_slice(rest);
        }
        lanes.block(&last);
    }
    let [a0, a1, b0, b1] = lanes.0;
    // Each half is a bijection of either of its lanes when the other is fixed.
    let high = fmix(a0.wrapping_add(fmix(a1 ^ SEED[1])) ^ len);
    let low = fmix(b0.wrapping_add(fmix(b1 ^ SEED[3])) ^ len.rotate_left(17));
    (u128::from(high) << 64) | u128::from(low)
}

/// The hasher of the index's maps. A [`super::RequestKey`] is already a
/// digest, so its bits are used as they are; other input (the URLs of the
/// cache of targets) is hashed 8 bytes at a time with a multiply-fold.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut words = bytes.chunks_exact(8);
        for word in &mut words {
            let mut w = [0u8; 8];
            w.copy_from_slice(word);
            self.0 = mum(self.0 ^ u64::from_le_bytes(w), SECOND[0]);
        }
        let rest = words.remainder();
        let mut w = [0u8; 8];
        if let Some(head) = w.get_mut(..rest.len()) {
            head.copy_from_slice(rest);
        }
        self.0 = mum(
            self.0 ^ u64::from_le_bytes(w),
            SECOND[1] ^ rest.len() as u64,
        );
    }

    fn write_u128(&mut self, value: u128) {
        self.0 ^= (value as u64) ^ ((value >> 64) as u64);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// Builds [`KeyHasher`]s.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct KeyHash;

impl BuildHasher for KeyHash {
    type Hasher = KeyHasher;

    fn build_hasher(&self) -> KeyHasher {
        KeyHasher(SEED[0])
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[test]
    fn second_operand_constants_are_not_utf8() {
        for c in SECOND {
            assert!(c.to_le_bytes().contains(&0xff), "{c:x}");
        }
    }

    #[test]
    fn lengths_and_single_bits_change_the_digest() {
        let mut seen = std::collections::HashSet::new();
        for len in 0..200usize {
            let zeros = vec![0u8; len];
            assert!(seen.insert(digest(&zeros)), "zeros {len}");
            for bit in 0..len * 8 {
                let mut one = zeros.clone();
                one[bit / 8] ^= 1 << (bit % 8);
                assert!(seen.insert(digest(&one)), "len {len} bit {bit}");
            }
        }
    }

    #[test]
    fn two_bit_flips_change_the_digest() {
        let base: Vec<u8> = (0..96u8).map(|i| b'a' + i % 26).collect();
        let mut seen = std::collections::HashSet::new();
        assert!(seen.insert(digest(&base)));
        for i in 0..base.len() * 8 {
            for j in (i + 1)..base.len() * 8 {
                let mut v = base.clone();
                v[i / 8] ^= 1 << (i % 8);
                v[j / 8] ^= 1 << (j % 8);
                assert!(seen.insert(digest(&v)), "bits {i} {j}");
            }
        }
    }

    #[test]
    fn halves_avalanche() {
        // Flipping one input bit flips about half of each output half.
        let base = b"POST https://api.example.com/v1/chat/completions\njson {\"a\":1}".to_vec();
        let d = digest(&base);
        let (mut high, mut low, mut n) = (0u32, 0u32, 0u32);
        for bit in 0..base.len() * 8 {
            let mut v = base.clone();
            v[bit / 8] ^= 1 << (bit % 8);
            let e = digest(&v) ^ d;
            high += ((e >> 64) as u64).count_ones();
            low += (e as u64).count_ones();
            n += 1;
        }
        let (high, low) = (
            f64::from(high) / f64::from(n),
            f64::from(low) / f64::from(n),
        );
        assert!((28.0..36.0).contains(&high), "{high}");
        assert!((28.0..36.0).contains(&low), "{low}");
    }
}
