//! Hand-written pre-tokenizers, one per encoding.
//!
//! Each function returns the end of the piece that starts at byte `p` of valid UTF-8
//! `s` (`p < s.len()`, on a character boundary), exactly where tiktoken's pattern
//! (run by `fancy-regex` with backtracking, leftmost-first semantics) ends its match.
//! Every function returns a position greater than `p`, and each scans a bounded
//! number of times over the bytes it consumes, so splitting is linear in the input.

use crate::unicode::{LETTER, LOWER, NEWLINE, NUMBER, SPACE, UPPER, char_at};

/// Flags of the character at `i`, or `(0, 0)` at the end of `s`.
#[inline]
fn at(s: &[u8], i: usize) -> (u8, usize) {
    if i < s.len() { char_at(s, i) } else { (0, 0) }
}

/// `[^\s\p{L}\p{N}]`: neither space, letter nor number.
#[inline]
fn is_other(c: u8) -> bool {
    c & (SPACE | LETTER | NUMBER) == 0
}

/// The end of the run of characters whose flags intersect `mask`, from `i`.
#[inline]
fn run(s: &[u8], mut i: usize, mask: u8) -> usize {
    // ASCII fast path.
    while let Some(&b) = s.get(i) {
        if b >= 0x80 {
            break;
        }
        if crate::unicode::ASCII[usize::from(b)] & mask == 0 {
            return i;
        }
        i += 1;
    }
    while i < s.len() {
        let (c, l) = char_at(s, i);
        if c & mask == 0 {
            break;
        }
        i += l;
    }
    i
}

/// The end of a run of `[^\s\p{L}\p{N}]` from `i`.
#[inline]
fn other_run(s: &[u8], mut i: usize) -> usize {
    while i < s.len() {
        let (c, l) = char_at(s, i);
        if !is_other(c) {
            break;
        }
        i += l;
    }
    i
}

/// Whether `b` is `c` in either ASCII case.
#[inline]
fn ci(b: Option<&u8>, c: u8) -> bool {
    matches!(b, Some(&x) if x | 0x20 == c)
}

/// The end of a contraction `'s|'t|'re|'ve|'m|'ll|'d`, case-insensitive, that starts at
/// `i`; `None` when there is none. Under Unicode case folding `s` also matches U+017F
/// (LATIN SMALL LETTER LONG S); the other letters fold only to their ASCII pair.
#[inline]
fn contraction(s: &[u8], i: usize) -> Option<usize> {
    if s.get(i) != Some(&b'\'') {
        return None;
    }
    let a = s.get(i + 1);
    if ci(a, b's') || ci(a, b't') || ci(a, b'm') || ci(a, b'd') {
        return Some(i + 2);
    }
    if a == Some(&0xc5) && s.get(i + 2) == Some(&0xbf) {
        return Some(i + 3);
    }
    let b = s.get(i + 2);
    if (ci(a, b'r') && ci(b, b'e')) || (ci(a, b'v') && ci(b, b'e')) || (ci(a, b'l') && ci(b, b'l'))
    {
        return Some(i + 3);
    }
    None
}

/// The whitespace run from `p`: its end, the end of its last `\r`/`\n` (if any), and
/// the start of its last character.
#[inline]
fn space_run(s: &[u8], p: usize) -> (usize, Option<usize>, usize) {
    let mut i = p;
    let mut last_newline = None;
    let mut last_start = p;
    while i < s.len() {
        let (c, l) = char_at(s, i);
        if c & SPACE == 0 {
            break;
        }
        if c & NEWLINE != 0 {
            last_newline = Some(i + l);
        }
        last_start = i;
        i += l;
    }
    (i, last_newline, last_start)
}

/// Up to three `\p{N}` from `p`.
#[inline]
fn digits(s: &[u8], p: usize) -> usize {
    let mut i = p;
    for _ in 0..3 {
        let (c, l) = at(s, i);
        if c & NUMBER == 0 {
            break;
        }
        i += l;
    }
    i
}

// ---------------------------------------------------------------------------------
// o200k_base
//
//   [^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?
//  |[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?
//  |\p{N}{1,3}
//  | ?[^\s\p{L}\p{N}]+[\r\n/]*
//  |\s*[\r\n]+
//  |\s+(?!\S)
//  |\s+
// ---------------------------------------------------------------------------------

/// The first word alternative from `i`: `UPPER* LOWER+ contraction?`.
///
/// Backtracking gives `UPPER*` back one character at a time until `LOWER+` can start,
/// so the match ends after the lower run that follows the upper run, or, when the
/// character after the upper run is not lower, right after the last character inside
/// the upper run that is also lower (Lm, Lo and M are in both classes).
#[inline]
fn o200k_word1(s: &[u8], i: usize) -> Option<usize> {
    let mut j = i;
    let mut last_lower_end = None;
    while j < s.len() {
        let (c, l) = char_at(s, j);
        if c & UPPER == 0 {
            if c & LOWER != 0 {
                let e = run(s, j + l, LOWER);
                return Some(contraction(s, e).unwrap_or(e));
            }
            break;
        }
        if c & LOWER != 0 {
            last_lower_end = Some(j + l);
        }
        j += l;
    }
    last_lower_end.map(|e| contraction(s, e).unwrap_or(e))
}

/// The second word alternative from `i`: `UPPER+ LOWER* contraction?`.
#[inline]
fn o200k_word2(s: &[u8], i: usize) -> Option<usize> {
    let j = run(s, i, UPPER);
    if j == i {
        return None;
    }
    let e = run(s, j, LOWER);
    Some(contraction(s, e).unwrap_or(e))
}

/// The end of the o200k_base piece that starts at `p`.
#[inline]
pub(crate) fn o200k(s: &[u8], p: usize) -> usize {
    let b = s.get(p).copied().unwrap_or_default();
    // Fast path: a lowercase ASCII word.
    if b.is_ascii_lowercase() {
        let e = run(s, p + 1, LOWER);
        return contraction(s, e).unwrap_or(e);
    }
    // Fast path: a space before a lowercase ASCII word.
    if b == b' ' && s.get(p + 1).is_some_and(u8::is_ascii_lowercase) {
        let e = run(s, p + 2, LOWER);
        return contraction(s, e).unwrap_or(e);
    }
    let (c, l) = char_at(s, p);
    let wordish = c & (UPPER | LOWER) != 0;
    if c & (LETTER | NUMBER | NEWLINE) == 0 {
        // The optional prefix can take this character. Try each word alternative
        // with it, then without it; without it, only a mark (in both word classes but
        // not a letter) can start a word, and then the first alternative matches.
        if let Some(e) = o200k_word1(s, p + l) {
            return e;
        }
        if wordish && let Some(e) = o200k_word1(s, p) {
            return e;
        }
        if let Some(e) = o200k_word2(s, p + l) {
            return e;
        }
    } else if wordish {
        if let Some(e) = o200k_word1(s, p) {
            return e;
        }
        if let Some(e) = o200k_word2(s, p) {
            return e;
        }
    }
    if c & NUMBER != 0 {
        return digits(s, p);
    }
    // ` ?[^\s\p{L}\p{N}]+[\r\n/]*`
    let start = if b == b' ' && is_other(at(s, p + 1).0) {
        Some(p + 1)
    } else if is_other(c) {
        Some(p)
    } else {
        None
    };
    if let Some(i) = start {
        let e = other_run(s, i);
        let mut k = e;
        while matches!(s.get(k), Some(b'\r' | b'\n' | b'/')) {
            k += 1;
        }
        return k;
    }
    if c & SPACE != 0 {
        let (end, last_newline, last_start) = space_run(s, p);
        // `\s*[\r\n]+`: backtracking stops at the last newline of the run.
        if let Some(e) = last_newline {
            return e;
        }
        // `\s+(?!\S)`: the whole run at the end of the text, else all but its last
        // character when that leaves at least one.
        if end == s.len() {
            return end;
        }
        if last_start > p {
            return last_start;
        }
        // `\s+`
        return end;
    }
    p + l.max(1)
}

// ---------------------------------------------------------------------------------
// cl100k_base (the possessive form that tiktoken ships)
//
//   '(?i:[sdmt]|ll|ve|re)
//  |[^\r\n\p{L}\p{N}]?+\p{L}++
//  |\p{N}{1,3}+
//  | ?[^\s\p{L}\p{N}]++[\r\n]*+
//  |\s++$
//  |\s*[\r\n]
//  |\s+(?!\S)
//  |\s
// ---------------------------------------------------------------------------------

/// The end of the cl100k_base piece that starts at `p`.
#[inline]
pub(crate) fn cl100k(s: &[u8], p: usize) -> usize {
    let b = s.get(p).copied().unwrap_or_default();
    if b.is_ascii_lowercase() {
        return run(s, p + 1, LETTER);
    }
    if b == b' ' && s.get(p + 1).is_some_and(u8::is_ascii_alphabetic) {
        return run(s, p + 2, LETTER);
    }
    if b == b'\''
        && let Some(e) = contraction(s, p)
    {
        return e;
    }
    let (c, l) = char_at(s, p);
    if c & LETTER != 0 {
        return run(s, p + l, LETTER);
    }
    if c & (NUMBER | NEWLINE) == 0 && at(s, p + l).0 & LETTER != 0 {
        return run(s, p + l, LETTER);
    }
    if c & NUMBER != 0 {
        return digits(s, p);
    }
    let start = if b == b' ' && is_other(at(s, p + 1).0) {
        Some(p + 1)
    } else if is_other(c) {
        Some(p)
    } else {
        None
    };
    if let Some(i) = start {
        let e = other_run(s, i);
        let mut k = e;
        while matches!(s.get(k), Some(b'\r' | b'\n')) {
            k += 1;
        }
        return k;
    }
    if c & SPACE != 0 {
        let (end, last_newline, last_start) = space_run(s, p);
        if end == s.len() {
            return end;
        }
        if let Some(e) = last_newline {
            return e;
        }
        if last_start > p {
            return last_start;
        }
        return p + l;
    }
    p + l.max(1)
}
