//! Benchmark support for llmvcr: the deterministic corpus shared by the benches.
//!
//! The corpus is built only from text committed under `benches/corpus/`:
//! - `prose.txt` and `multilingual.txt`: prose written for these benches (English,
//!   and French, German, Spanish, Russian, Greek, Japanese, Chinese, Korean, Arabic,
//!   Hindi, Thai, Hebrew, emoji, combining marks);
//! - `code.txt`: a snapshot of the Rust sources of `llmvcr-core`;
//! - `json.txt`: the request and response bodies of the real cassettes under
//!   `cassettes/real/`, extracted by `corpus/extract_json.py` (JSON, SSE streams).
//!
//! [`mixed`] interleaves chunks of the three kinds, round robin, so that inputs of
//! every size mix prose, code and JSON.
#![warn(missing_docs, unreachable_pub)]

/// The English prose.
pub const PROSE: &str = include_str!("../corpus/prose.txt");
/// The prose in other scripts.
pub const MULTILINGUAL: &str = include_str!("../corpus/multilingual.txt");
/// The Rust code.
pub const CODE: &str = include_str!("../corpus/code.txt");
/// The JSON and SSE bodies of the real cassettes.
pub const JSON: &str = include_str!("../corpus/json.txt");

/// Chunks of about `target` bytes, cut after line ends; a line longer than
/// `4 * target` is cut at character boundaries.
pub fn chunks(text: &str, target: usize) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < text.len() {
        let line_end = text[i..].find('\n').map_or(text.len(), |k| i + k + 1);
        if line_end - start > 4 * target {
            // Cut the long stretch into pieces of `target` bytes.
            let mut cut = (start + target).min(text.len());
            while !text.is_char_boundary(cut) {
                cut += 1;
            }
            out.push(&text[start..cut]);
            start = cut;
            i = cut;
            continue;
        }
        i = line_end;
        if i - start >= target {
            out.push(&text[start..i]);
            start = i;
        }
    }
    if start < text.len() {
        out.push(&text[start..]);
    }
    out
}

/// `size` bytes (or slightly fewer, to end on a character boundary) of mixed prose,
/// code and JSON. The same size always gives the same text.
pub fn mixed(size: usize) -> String {
    let prose = format!("{PROSE}\n{MULTILINGUAL}\n");
    let sources = [chunks(&prose, 256), chunks(CODE, 256), chunks(JSON, 256)];
    let mut next = [0usize; 3];
    let mut out = String::with_capacity(size + 2048);
    let mut k = 0;
    while out.len() < size {
        let source = &sources[k % 3];
        let i = &mut next[k % 3];
        out.push_str(source[*i % source.len()]);
        *i += 1;
        k += 1;
    }
    let mut end = size;
    while !out.is_char_boundary(end) {
        end -= 1;
    }
    out.truncate(end);
    out
}

/// The input sizes of the token-counting benches: 1 KB, 100 KB and 4 MB.
pub const SIZES: [(&str, usize); 3] = [("1KB", 1 << 10), ("100KB", 100 << 10), ("4MB", 4 << 20)];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mixed_is_deterministic_and_sized() {
        for (_, size) in SIZES {
            let a = mixed(size);
            assert!(a.len() <= size && a.len() + 4 > size);
            assert_eq!(a, mixed(size));
        }
        let small = mixed(1 << 10);
        assert!(small.contains('{') || small.contains('"'));
    }
}
