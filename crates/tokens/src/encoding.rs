//! The encodings and the counting entry points.

use std::sync::OnceLock;

use crate::bpe;
use crate::pretok;
use crate::vocab::{BadData, Vocab};

/// A byte-pair encoding that this crate counts exactly.
///
/// Counts equal tiktoken's `encode_ordinary(text).len()`: text that looks like a
/// special token (`<|endoftext|>`) is counted as ordinary text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Encoding {
    /// `o200k_base`: GPT-4o, GPT-4.1, GPT-5, the o-series. The default.
    O200kBase,
    /// `cl100k_base`: GPT-4, GPT-3.5 Turbo and the `text-embedding-3` models.
    Cl100kBase,
}

/// The outcome of [`Encoding::count_until`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CountUntil {
    /// The whole text has this many tokens, no more than the limit.
    Within(usize),
    /// The text has more tokens than the limit. Counting stopped early.
    Exceeded {
        /// A lower bound of the text's token count; always above the limit.
        at_least: usize,
        /// How many bytes of the text were read before stopping.
        bytes_read: usize,
    },
}

impl CountUntil {
    /// The count when the text fit within the limit.
    pub fn within(self) -> Option<usize> {
        match self {
            CountUntil::Within(n) => Some(n),
            CountUntil::Exceeded { .. } => None,
        }
    }

    /// Whether the limit was passed.
    pub fn exceeded(self) -> bool {
        matches!(self, CountUntil::Exceeded { .. })
    }
}

/// The embedded data of an encoding failed to load. The tests make sure this cannot
/// happen in a released build; [`Encoding::verify`] reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataError {
    encoding: Encoding,
    reason: &'static str,
}

impl std::fmt::Display for DataError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "embedded rank data of {} is corrupt: {}",
            self.encoding.name(),
            self.reason
        )
    }
}

impl std::error::Error for DataError {}

static O200K_DATA: &[u8] = include_bytes!("../data/o200k_base.bin");
static CL100K_DATA: &[u8] = include_bytes!("../data/cl100k_base.bin");

/// A one-byte-per-token vocabulary, used only if the embedded data were corrupt.
static FALLBACK_DATA: &[u8] = &{
    let mut d = [0u8; 16 + 512];
    let magic = *b"LVBPE1\0\0";
    let mut i = 0;
    while i < 8 {
        d[i] = magic[i];
        i += 1;
    }
    d[9] = 1; // n = 256
    d[13] = 1; // total = 256
    let mut b = 0;
    while b < 256 {
        d[16 + b] = 1;
        d[16 + 256 + b] = b as u8;
        b += 1;
    }
    d
};

type Loaded = (Vocab, Option<BadData>);

fn load(data: &'static [u8]) -> Loaded {
    match Vocab::load(data) {
        Ok(v) => (v, None),
        Err(e) => match Vocab::load(FALLBACK_DATA) {
            Ok(v) => (v, Some(e)),
            Err(_) => (Vocab::empty(), Some(e)),
        },
    }
}

static O200K: OnceLock<Loaded> = OnceLock::new();
static CL100K: OnceLock<Loaded> = OnceLock::new();

impl Encoding {
    /// Every encoding this crate knows.
    pub const ALL: [Encoding; 2] = [Encoding::O200kBase, Encoding::Cl100kBase];

    /// The tiktoken name: `o200k_base` or `cl100k_base`.
    pub fn name(self) -> &'static str {
        match self {
            Encoding::O200kBase => "o200k_base",
            Encoding::Cl100kBase => "cl100k_base",
        }
    }

    /// Parses a tiktoken name (`o200k_base`, `cl100k_base`; case-insensitive, with or
    /// without the `_base` suffix).
    pub fn from_name(name: &str) -> Option<Encoding> {
        match name.trim().to_ascii_lowercase().as_str() {
            "o200k_base" | "o200k" => Some(Encoding::O200kBase),
            "cl100k_base" | "cl100k" => Some(Encoding::Cl100kBase),
            _ => None,
        }
    }

    fn loaded(self) -> &'static Loaded {
        match self {
            Encoding::O200kBase => O200K.get_or_init(|| load(O200K_DATA)),
            Encoding::Cl100kBase => CL100K.get_or_init(|| load(CL100K_DATA)),
        }
    }

    pub(crate) fn vocab(self) -> &'static Vocab {
        &self.loaded().0
    }

    /// Loads the encoding's embedded data now (it otherwise loads on first use) and
    /// reports whether it is intact. Loading happens once per process and takes a few
    /// milliseconds (see the crate docs).
    pub fn verify(self) -> Result<(), DataError> {
        match &self.loaded().1 {
            None => Ok(()),
            Some(e) => Err(DataError {
                encoding: self,
                reason: e.0,
            }),
        }
    }

    /// Loads the embedded rank data afresh, without the process-wide copy that
    /// counting uses, and returns the number of tokens. This is the one-time cost that
    /// the first count (or [`Encoding::verify`]) pays; the benches time it.
    pub fn load_uncached(self) -> Result<usize, DataError> {
        let data = match self {
            Encoding::O200kBase => O200K_DATA,
            Encoding::Cl100kBase => CL100K_DATA,
        };
        Vocab::load(data).map(|v| v.len()).map_err(|e| DataError {
            encoding: self,
            reason: e.0,
        })
    }

    /// The number of ordinary (non-special) tokens.
    pub fn vocab_size(self) -> usize {
        self.vocab().len()
    }

    /// The bytes of the token with rank `rank`, or `None` when there is no such token.
    pub fn token_bytes(self, rank: u32) -> Option<&'static [u8]> {
        let t = self.vocab().token(rank);
        (!t.is_empty()).then_some(t)
    }

    /// The end of the piece that starts at byte `p`.
    #[inline]
    fn piece_end(self, s: &[u8], p: usize) -> usize {
        match self {
            Encoding::O200kBase => pretok::o200k(s, p),
            Encoding::Cl100kBase => pretok::cl100k(s, p),
        }
    }

    /// The number of tokens of `text`.
    ///
    /// ```
    /// use llmvcr_tokens::Encoding;
    /// assert_eq!(Encoding::O200kBase.count("Hello, world!"), 4);
    /// assert_eq!(Encoding::Cl100kBase.count("Hello, world!"), 4);
    /// ```
    pub fn count(self, text: &str) -> usize {
        match self {
            Encoding::O200kBase => count_with(self.vocab(), text.as_bytes(), pretok::o200k),
            Encoding::Cl100kBase => count_with(self.vocab(), text.as_bytes(), pretok::cl100k),
        }
    }

    /// Counts the tokens of `text` but stops as soon as the count passes `limit`.
    ///
    /// The work done is proportional to the part of the text read, not to the whole
    /// text: counting stops at the first piece that takes the total above `limit`, and
    /// a piece too long to fit (every token is at most 128 bytes) is rejected without
    /// merging it.
    ///
    /// ```
    /// use llmvcr_tokens::{CountUntil, Encoding};
    /// let enc = Encoding::O200kBase;
    /// assert_eq!(enc.count_until("one two three", 5), CountUntil::Within(3));
    /// assert!(enc.count_until(&"word ".repeat(1_000_000), 100).exceeded());
    /// ```
    pub fn count_until(self, text: &str, limit: usize) -> CountUntil {
        let v = self.vocab();
        let s = text.as_bytes();
        let max = v.max_token_len().max(1);
        let mut total = 0usize;
        let mut p = 0;
        while p < s.len() {
            let e = self.piece_end(s, p);
            let piece = s.get(p..e).unwrap_or_default();
            if total + piece.len().div_ceil(max) > limit {
                return CountUntil::Exceeded {
                    at_least: total + piece.len().div_ceil(max),
                    bytes_read: e,
                };
            }
            total += bpe::count_piece(v, piece);
            if total > limit {
                return CountUntil::Exceeded {
                    at_least: total,
                    bytes_read: e,
                };
            }
            p = e;
        }
        CountUntil::Within(total)
    }

    /// Counts bytes that may not be UTF-8. Invalid sequences are first replaced by
    /// U+FFFD, as [`String::from_utf8_lossy`] does; tiktoken's Python `encode` treats
    /// lone surrogates the same way.
    pub fn count_bytes(self, bytes: &[u8]) -> usize {
        self.count(&String::from_utf8_lossy(bytes))
    }

    /// The token ranks of `text`, as tiktoken's `encode_ordinary` returns them.
    ///
    /// ```
    /// use llmvcr_tokens::Encoding;
    /// let enc = Encoding::O200kBase;
    /// let ids = enc.encode("Hello, world!");
    /// assert_eq!(ids.len(), enc.count("Hello, world!"));
    /// assert_eq!(enc.decode(&ids), b"Hello, world!");
    /// ```
    pub fn encode(self, text: &str) -> Vec<u32> {
        let v = self.vocab();
        let s = text.as_bytes();
        let mut out = Vec::with_capacity(s.len() / 3);
        let mut p = 0;
        while p < s.len() {
            let e = self.piece_end(s, p);
            bpe::encode_piece(v, s.get(p..e).unwrap_or_default(), &mut out);
            p = e;
        }
        out
    }

    /// The bytes of a sequence of token ranks; unknown ranks are skipped.
    pub fn decode(self, ranks: &[u32]) -> Vec<u8> {
        let v = self.vocab();
        let mut out = Vec::new();
        for &r in ranks {
            out.extend_from_slice(v.token(r));
        }
        out
    }

    /// The pieces the pre-tokenizer splits `text` into before merging; they are the
    /// matches of tiktoken's pattern, in order, and cover the whole text.
    ///
    /// ```
    /// use llmvcr_tokens::Encoding;
    /// let pieces: Vec<&str> = Encoding::O200kBase.pieces("I'm here  now").collect();
    /// assert_eq!(pieces, ["I'm", " here", " ", " now"]);
    /// ```
    pub fn pieces(self, text: &str) -> Pieces<'_> {
        Pieces {
            encoding: self,
            text,
            pos: 0,
        }
    }
}

/// Counts with the splitter `split` inlined.
#[inline]
fn count_with(v: &Vocab, s: &[u8], split: impl Fn(&[u8], usize) -> usize) -> usize {
    let mut total = 0;
    let mut p = 0;
    while p < s.len() {
        let e = split(s, p);
        total += bpe::count_piece(v, s.get(p..e).unwrap_or_default());
        p = e;
    }
    total
}

/// The iterator returned by [`Encoding::pieces`].
#[derive(Debug, Clone)]
pub struct Pieces<'a> {
    encoding: Encoding,
    text: &'a str,
    pos: usize,
}

impl<'a> Iterator for Pieces<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        if self.pos >= self.text.len() {
            return None;
        }
        let e = self.encoding.piece_end(self.text.as_bytes(), self.pos);
        let piece = self.text.get(self.pos..e);
        self.pos = e;
        piece
    }
}

impl std::fmt::Display for Encoding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Encoding {
    type Err = String;

    fn from_str(s: &str) -> Result<Encoding, String> {
        Encoding::from_name(s)
            .ok_or_else(|| format!("unknown encoding {s:?} (expected o200k_base or cl100k_base)"))
    }
}
