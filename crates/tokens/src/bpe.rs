//! Byte-pair merging of one piece.
//!
//! The rule is the one tiktoken applies: start from single bytes and repeatedly merge
//! the adjacent pair whose concatenation has the lowest rank, the leftmost one on a
//! tie, until no adjacent pair is a token. Pieces that are a token are handled before
//! merging. Short pieces merge in fixed arrays on the stack (quadratic in the piece
//! length, which is bounded); long pieces use a linked list of parts and a queue of
//! per-rank buckets, so a piece of n bytes costs O(n log n) whatever its content.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::hash::{BuildHasherDefault, Hasher};

use crate::vocab::{NONE, Vocab};

/// Pieces up to this many bytes merge on the stack.
const SMALL: usize = 64;

/// The number of tokens of `piece`.
#[inline]
pub(crate) fn count_piece(v: &Vocab, piece: &[u8]) -> usize {
    match piece.len() {
        0 => 0,
        1 => 1,
        2 => 1 + usize::from(v.pair_rank(piece[0], piece[1]) == NONE),
        n => {
            if v.rank(piece) != NONE {
                1
            } else if n <= 16 {
                merge_small::<17>(v, piece, |_, _| {})
            } else if n <= SMALL {
                merge_small::<{ SMALL + 1 }>(v, piece, |_, _| {})
            } else {
                merge_large(v, piece, |_, _| {})
            }
        }
    }
}

/// Appends the ranks of `piece`'s tokens to `out`.
pub(crate) fn encode_piece(v: &Vocab, piece: &[u8], out: &mut Vec<u32>) {
    let r = v.rank(piece);
    if r != NONE {
        out.push(r);
        return;
    }
    let mut emit = |a: usize, b: usize| out.push(v.rank(piece.get(a..b).unwrap_or_default()));
    if piece.len() <= SMALL {
        merge_small::<{ SMALL + 1 }>(v, piece, &mut emit);
    } else {
        merge_large(v, piece, &mut emit);
    }
}

/// Merges a piece of at most `N - 1` bytes; calls `emit(start, end)` for each final
/// part in order and returns the number of parts.
#[inline]
fn merge_small<const N: usize>(
    v: &Vocab,
    piece: &[u8],
    mut emit: impl FnMut(usize, usize),
) -> usize {
    let n = piece.len();
    // starts[0..=m] are the part boundaries; ranks[i] is the rank of parts i and i+1
    // joined.
    let mut starts = [0u32; N];
    let mut ranks = [NONE; N];
    for (i, s) in starts.iter_mut().enumerate().take(n + 1) {
        *s = i as u32;
    }
    for (i, w) in piece.windows(2).enumerate() {
        if let Some(r) = ranks.get_mut(i) {
            *r = v.pair_rank(w[0], w[1]);
        }
    }
    let mut m = n;
    let span = |starts: &[u32; N], a: usize, b: usize| -> u32 {
        match (starts.get(a), starts.get(b)) {
            (Some(&x), Some(&y)) => v.rank(piece.get(x as usize..y as usize).unwrap_or_default()),
            _ => NONE,
        }
    };
    while m > 1 {
        let mut best = NONE;
        let mut at = 0;
        for (i, &r) in ranks.iter().enumerate().take(m - 1) {
            if r < best {
                best = r;
                at = i;
            }
        }
        if best == NONE {
            break;
        }
        // Join parts `at` and `at + 1`: drop boundary `at + 1` and pair rank `at`.
        starts.copy_within(at + 2..=m, at + 1);
        ranks.copy_within(at + 1..m - 1, at);
        m -= 1;
        if at + 1 < m {
            ranks[at] = span(&starts, at, at + 2);
        } else if let Some(r) = ranks.get_mut(at) {
            *r = NONE;
        }
        if at > 0 {
            ranks[at - 1] = span(&starts, at - 1, at + 1);
        }
    }
    for w in starts.get(..=m).unwrap_or_default().windows(2) {
        emit(w[0] as usize, w[1] as usize);
    }
    m
}

/// A hasher for `u32` ranks.
#[derive(Debug, Default, Clone, Copy)]
struct RankHasher(u64);

impl Hasher for RankHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        }
    }

    fn write_u32(&mut self, x: u32) {
        self.0 = (u64::from(x) ^ self.0).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
}

/// The pending pair positions of one rank.
#[derive(Debug, Default)]
struct Bucket {
    items: Vec<u32>,
    /// Items before this index have been taken.
    cursor: usize,
    /// Whether the rank is in the queue of ranks.
    queued: bool,
}

/// A priority queue of `(rank, position)` built from one bucket per rank, ordered by
/// a heap of the ranks that have pending positions. Merging walks a bucket in
/// position order, which is sequential in memory, instead of sifting every entry
/// through a heap as large as the piece.
#[derive(Debug, Default)]
struct Queue {
    index: HashMap<u32, usize, BuildHasherDefault<RankHasher>>,
    buckets: Vec<Bucket>,
    ranks: BinaryHeap<Reverse<u32>>,
}

impl Queue {
    fn push(&mut self, rank: u32, pos: u32) {
        let next = self.buckets.len();
        let i = *self.index.entry(rank).or_insert(next);
        if i == next {
            self.buckets.push(Bucket::default());
        }
        if let Some(b) = self.buckets.get_mut(i) {
            b.items.push(pos);
            if !b.queued {
                b.queued = true;
                self.ranks.push(Reverse(rank));
            }
        }
    }
}

/// Merges a piece of any length in O(n log n); calls `emit(start, end)` for each final
/// part in order and returns the number of parts.
///
/// The merge order is tiktoken's: lowest rank first, leftmost first among equal ranks.
/// Pending pairs wait in per-rank buckets; the lowest rank's bucket is sorted and
/// walked in position order. A merge never creates a pair of its own rank (the new
/// pair's bytes are longer), so a bucket only needs to pause when a merge creates a
/// pair of lower rank; it resumes, re-sorted, when that rank is done.
fn merge_large(v: &Vocab, piece: &[u8], mut emit: impl FnMut(usize, usize)) -> usize {
    let n = piece.len();
    // Parts are identified by their start. next[i] is the start of the part after the
    // part at i (n at the end); prev[i] the one before; pair[i] the rank of the part at
    // i joined with its successor, NONE when there is none or it is not a token, and
    // also NONE once the part at i has been absorbed by its predecessor. A queued
    // position whose rank no longer matches pair[position] is stale and skipped.
    let mut next: Vec<u32> = (1..=n as u32).collect();
    let mut prev: Vec<u32> = (0..n as u32).map(|i| i.wrapping_sub(1)).collect();
    let mut pair: Vec<u32> = vec![NONE; n];
    let mut q = Queue::default();
    for (i, w) in piece.windows(2).enumerate() {
        let r = v.pair_rank(w[0], w[1]);
        pair[i] = r;
        if r != NONE {
            q.push(r, i as u32);
        }
    }
    let mut parts = n;
    let get = |a: usize, b: usize| v.rank(piece.get(a..b).unwrap_or_default());
    while let Some(Reverse(r)) = q.ranks.pop() {
        let Some(&bi) = q.index.get(&r) else { continue };
        if let Some(b) = q.buckets.get_mut(bi) {
            b.queued = false;
            let c = b.cursor;
            if let Some(rest) = b.items.get_mut(c..) {
                rest.sort_unstable();
            }
        }
        while let Some(b) = q.buckets.get_mut(bi) {
            let Some(&pos) = b.items.get(b.cursor) else {
                b.items.clear();
                b.cursor = 0;
                break;
            };
            b.cursor += 1;
            let i = pos as usize;
            if pair[i] != r {
                continue;
            }
            let j = next[i] as usize;
            let k = next.get(j).map_or(n, |&k| k as usize);
            next[i] = k as u32;
            if let Some(p) = prev.get_mut(k) {
                *p = i as u32;
            }
            pair[j] = NONE;
            parts -= 1;
            let mut lower = false;
            pair[i] = match next.get(k) {
                Some(&after) => get(i, after as usize),
                None => NONE,
            };
            if pair[i] != NONE {
                q.push(pair[i], i as u32);
                lower |= pair[i] < r;
            }
            if i > 0 {
                let p = prev[i] as usize;
                pair[p] = get(p, k);
                if pair[p] != NONE {
                    q.push(pair[p], p as u32);
                    lower |= pair[p] < r;
                }
            }
            if lower {
                // A lower rank goes first; come back to this bucket afterwards.
                if let Some(b) = q.buckets.get_mut(bi)
                    && b.cursor < b.items.len()
                    && !b.queued
                {
                    b.queued = true;
                    q.ranks.push(Reverse(r));
                }
                break;
            }
        }
    }
    let mut i = 0;
    while i < n {
        let j = next[i] as usize;
        emit(i, j);
        i = j;
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_and_large_merges_agree() {
        let v = crate::Encoding::O200kBase.vocab();
        let texts: Vec<String> = vec![
            "a".repeat(200),
            "ab".repeat(100),
            " ".repeat(150),
            "xyzzyplughfoobarbazquux".repeat(4),
            "0123456789".repeat(9),
            "ééééé".repeat(10),
        ];
        for t in texts {
            for len in [3usize, 17, 40, 63, 64] {
                let Some(p) = t.as_bytes().get(..len) else {
                    continue;
                };
                let mut a = Vec::new();
                let mut b = Vec::new();
                let na = merge_small::<{ SMALL + 1 }>(v, p, |x, y| a.push((x, y)));
                let nb = merge_large(v, p, |x, y| b.push((x, y)));
                assert_eq!(a, b, "{len} bytes of {t:?}");
                assert_eq!(na, nb);
            }
        }
    }
}
