//! The rank tables: token bytes by rank, and a hash table from bytes to rank.
//!
//! The data is embedded with `include_bytes!` (see `data/NOTICE` and `data/pack.py`
//! for its layout). Token bytes are never copied: a token is a slice of the embedded
//! blob. Loading builds a `u32` offset per token, an open-addressing hash table of
//! 4-byte slots at a load factor below 0.4, and a 64 Ki-entry table of the two-byte
//! tokens; for o200k_base that is about 3.1 MB of heap, for cl100k_base 1.7 MB.

/// No rank: the byte string is not a token.
pub(crate) const NONE: u32 = u32::MAX;

/// An error in the embedded rank data; only a corrupt build can produce one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BadData(pub(crate) &'static str);

/// One encoding's ranks.
#[derive(Debug)]
pub(crate) struct Vocab {
    /// All tokens' bytes, concatenated in rank order.
    blob: &'static [u8],
    /// `offsets[r]..offsets[r + 1]` is token `r` in `blob`.
    offsets: Vec<u32>,
    /// Open addressing with linear probing.
    slots: Vec<Slot>,
    mask: usize,
    /// Rank of each two-byte token, indexed by `b0 << 8 | b1`.
    pairs: Vec<u32>,
    /// Rank of each single byte.
    bytes: [u32; 256],
    /// The longest token, in bytes.
    max_len: usize,
}

/// Bits of a slot that hold `rank + 1`; the rest hold a tag from the hash.
const RANK_BITS: u32 = 18;
const RANK_MASK: u32 = (1 << RANK_BITS) - 1;

/// One entry of the hash table: `rank + 1` (0 for an empty slot) in the low
/// [`RANK_BITS`] bits, the top bits of the token's hash above them. Four bytes per
/// slot keep the o200k_base table at 2 MB.
#[derive(Debug, Clone, Copy, Default)]
struct Slot(u32);

impl Slot {
    #[inline]
    fn new(h: u64, rank: u32) -> Slot {
        Slot((tag_of(h) << RANK_BITS) | (rank + 1))
    }

    #[inline]
    fn is_empty(self) -> bool {
        self.0 == 0
    }

    #[inline]
    fn tag(self) -> u32 {
        self.0 >> RANK_BITS
    }

    #[inline]
    fn rank(self) -> u32 {
        (self.0 & RANK_MASK).wrapping_sub(1)
    }
}

/// The tag of a hash: its top `32 - RANK_BITS` bits.
#[inline]
fn tag_of(h: u64) -> u32 {
    (h >> (64 - (32 - RANK_BITS))) as u32
}

const MAGIC: &[u8; 8] = b"LVBPE1\0\0";

fn read_u32(data: &[u8], at: usize) -> Result<u32, BadData> {
    data.get(at..at + 4)
        .and_then(|b| <[u8; 4]>::try_from(b).ok())
        .map(u32::from_le_bytes)
        .ok_or(BadData("truncated header"))
}

impl Vocab {
    /// Parses the packed form written by `data/pack.py`.
    pub(crate) fn load(data: &'static [u8]) -> Result<Vocab, BadData> {
        if data.get(..8) != Some(MAGIC.as_slice()) {
            return Err(BadData("bad magic"));
        }
        let n = read_u32(data, 8)? as usize;
        let total = read_u32(data, 12)? as usize;
        let lens = data.get(16..16 + n).ok_or(BadData("truncated lengths"))?;
        let blob = data
            .get(16 + n..16 + n + total)
            .ok_or(BadData("truncated tokens"))?;
        if 16 + n + total != data.len() {
            return Err(BadData("trailing bytes"));
        }
        if n >= RANK_MASK as usize {
            return Err(BadData("too many tokens"));
        }
        let mut offsets = Vec::with_capacity(n + 1);
        let mut at = 0u32;
        offsets.push(0);
        let mut max_len = 0;
        for &len in lens {
            at += u32::from(len);
            offsets.push(at);
            max_len = max_len.max(usize::from(len));
        }
        if at as usize != total {
            return Err(BadData("lengths do not add up"));
        }
        let capacity = (n * 5 / 2).next_power_of_two().max(16);
        let mut vocab = Vocab {
            blob,
            offsets,
            slots: vec![Slot::default(); capacity],
            mask: capacity - 1,
            pairs: vec![NONE; 1 << 16],
            bytes: [NONE; 256],
            max_len,
        };
        for rank in 0..n as u32 {
            let token = vocab.token(rank);
            match *token {
                [b] => vocab.bytes[usize::from(b)] = rank,
                [b0, b1] => vocab.pairs[usize::from(b0) << 8 | usize::from(b1)] = rank,
                _ => {}
            }
            let h = hash(token);
            let mut i = h as usize & vocab.mask;
            loop {
                let slot = vocab.slots[i];
                if slot.is_empty() {
                    vocab.slots[i] = Slot::new(h, rank);
                    break;
                }
                if vocab.token(slot.rank()) == token {
                    return Err(BadData("duplicate token"));
                }
                i = (i + 1) & vocab.mask;
            }
        }
        if vocab.bytes.contains(&NONE) {
            return Err(BadData("a byte has no token"));
        }
        Ok(vocab)
    }

    /// The number of tokens.
    pub(crate) fn len(&self) -> usize {
        self.offsets.len() - 1
    }

    /// The longest token, in bytes.
    pub(crate) fn max_token_len(&self) -> usize {
        self.max_len
    }

    /// The bytes of token `rank` (empty when out of range).
    #[inline]
    pub(crate) fn token(&self, rank: u32) -> &'static [u8] {
        let r = rank as usize;
        match (self.offsets.get(r), self.offsets.get(r + 1)) {
            (Some(&a), Some(&b)) => self.blob.get(a as usize..b as usize).unwrap_or_default(),
            _ => &[],
        }
    }

    /// The rank of a single byte.
    #[inline]
    pub(crate) fn byte_rank(&self, b: u8) -> u32 {
        self.bytes[usize::from(b)]
    }

    /// The rank of the two-byte string `b0 b1`, or [`NONE`].
    #[inline]
    pub(crate) fn pair_rank(&self, b0: u8, b1: u8) -> u32 {
        self.pairs
            .get(usize::from(b0) << 8 | usize::from(b1))
            .copied()
            .unwrap_or(NONE)
    }

    /// The rank of `bytes`, or [`NONE`].
    #[inline]
    pub(crate) fn rank(&self, bytes: &[u8]) -> u32 {
        match bytes.len() {
            1 => return self.byte_rank(bytes[0]),
            2 => return self.pair_rank(bytes[0], bytes[1]),
            n if n > self.max_len => return NONE,
            _ => {}
        }
        let h = hash(bytes);
        let tag = tag_of(h);
        let mut i = h as usize & self.mask;
        loop {
            let slot = self.slots.get(i).copied().unwrap_or_default();
            if slot.is_empty() {
                return NONE;
            }
            if slot.tag() == tag && self.token(slot.rank()) == bytes {
                return slot.rank();
            }
            i = (i + 1) & self.mask;
        }
    }
}

const K0: u64 = 0x9e37_79b9_7f4a_7c15;
const K1: u64 = 0xd6e8_feb8_6659_fd93;

#[inline]
fn le64(b: &[u8]) -> u64 {
    <[u8; 8]>::try_from(b).map_or(0, u64::from_le_bytes)
}

#[inline]
fn le32(b: &[u8]) -> u64 {
    <[u8; 4]>::try_from(b).map_or(0, |a| u64::from(u32::from_le_bytes(a)))
}

/// A fast hash of a byte string. Strings of up to 8 bytes are read with two
/// overlapping loads; the length is mixed in.
#[inline]
pub(crate) fn hash(bytes: &[u8]) -> u64 {
    let n = bytes.len();
    let mut h = (n as u64).wrapping_mul(K0);
    let v = if n >= 8 {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            h = (h ^ le64(c)).wrapping_mul(K1).rotate_left(29);
        }
        // The last 8 bytes, overlapping the full chunks when n is not a multiple of 8.
        le64(&bytes[n - 8..])
    } else if n >= 4 {
        le32(&bytes[..4]) | le32(&bytes[n - 4..]) << 32
    } else if n > 0 {
        u64::from(bytes[0]) | u64::from(bytes[n / 2]) << 8 | u64::from(bytes[n - 1]) << 16
    } else {
        0
    };
    h = (h ^ v).wrapping_mul(K1);
    h ^= h >> 29;
    h = h.wrapping_mul(K0);
    h ^ (h >> 32)
}

impl Vocab {
    /// A vocabulary with no tokens at all.
    pub(crate) fn empty() -> Vocab {
        Vocab {
            blob: &[],
            offsets: vec![0],
            slots: vec![Slot::default(); 16],
            mask: 15,
            pairs: vec![NONE; 1 << 16],
            bytes: [NONE; 256],
            max_len: 1,
        }
    }
}
