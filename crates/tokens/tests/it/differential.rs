//! Differential tests: our counts and token ranks against tiktoken-rs.

use std::sync::LazyLock;

use llmvcr_tokens::Encoding;
use proptest::prelude::*;
use tiktoken_rs::CoreBPE;

static O200K: LazyLock<CoreBPE> = LazyLock::new(|| tiktoken_rs::o200k_base().unwrap());
static CL100K: LazyLock<CoreBPE> = LazyLock::new(|| tiktoken_rs::cl100k_base().unwrap());

/// tiktoken-rs's cl100k_base pattern (it exports only the o200k_base one).
const CL100K_PAT: &str = r"'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+|\s++$|\s*[\r\n]|\s+(?!\S)|\s";

static O200K_RE: LazyLock<fancy_regex::Regex> =
    LazyLock::new(|| fancy_regex::Regex::new(tiktoken_rs::O200K_BASE_PAT_STR).unwrap());
static CL100K_RE: LazyLock<fancy_regex::Regex> =
    LazyLock::new(|| fancy_regex::Regex::new(CL100K_PAT).unwrap());

/// The pattern's matches, as tiktoken finds them.
fn reference_pieces(enc: Encoding, text: &str) -> Vec<&str> {
    let re = match enc {
        Encoding::O200kBase => &*O200K_RE,
        Encoding::Cl100kBase => &*CL100K_RE,
        _ => unreachable!(),
    };
    re.find_iter(text).map(|m| m.unwrap().as_str()).collect()
}

fn reference(enc: Encoding) -> &'static CoreBPE {
    match enc {
        Encoding::O200kBase => &O200K,
        Encoding::Cl100kBase => &CL100K,
        _ => unreachable!(),
    }
}

/// Compares ranks, and on a mismatch shows both splits.
fn check(enc: Encoding, text: &str) -> Result<(), String> {
    let want = reference(enc).encode_ordinary(text);
    let got = enc.encode(text);
    let pieces: Vec<&str> = enc.pieces(text).collect();
    let their_pieces = reference_pieces(enc, text);
    if got == want && enc.count(text) == want.len() && pieces == their_pieces {
        return Ok(());
    }
    let theirs: Vec<String> = want
        .iter()
        .map(|&r| String::from_utf8_lossy(&enc.decode(&[r])).into_owned())
        .collect();
    Err(format!(
        "{enc}: {text:?}\n  count ours {} theirs {}\n  our pieces {pieces:?}\n  their pieces {their_pieces:?}\n  their tokens {theirs:?}",
        enc.count(text),
        want.len()
    ))
}

fn tricky() -> Vec<String> {
    serde_json::from_str(include_str!("../data/tricky.json")).unwrap()
}

#[test]
fn tricky_corpus_matches_tiktoken() {
    let cases = tricky();
    let mut failures = Vec::new();
    for enc in Encoding::ALL {
        for case in &cases {
            if let Err(e) = check(enc, case) {
                failures.push(e);
            }
        }
        // The whole corpus as one text, so cases also meet their neighbours.
        if let Err(e) = check(enc, &cases.join("")) {
            failures.push(e.chars().take(400).collect());
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn long_uniform_runs_match_tiktoken() {
    let cases = [
        "a".repeat(20_000),
        " ".repeat(20_000),
        "1".repeat(20_000),
        "!".repeat(20_000),
        "ab".repeat(10_000),
        "\n".repeat(20_000),
        "\u{65e5}".repeat(5_000),
        "Zz".repeat(10_000),
    ];
    for enc in Encoding::ALL {
        for case in &cases {
            check(enc, case)
                .map_err(|e| e.chars().take(300).collect::<String>())
                .unwrap();
        }
    }
}

#[test]
fn rank_data_matches_tiktoken_rs() {
    for enc in Encoding::ALL {
        enc.verify().unwrap();
        let reference = reference(enc);
        for rank in 0..enc.vocab_size() as u32 {
            let ours = enc.token_bytes(rank).unwrap();
            let theirs = reference.decode_bytes(&[rank]).unwrap();
            assert_eq!(ours, theirs.as_slice(), "{enc} rank {rank}");
        }
        assert!(enc.token_bytes(enc.vocab_size() as u32).is_none());
    }
}

/// Characters that sit on the edges of the patterns' classes.
const TRICKY_CHARS: &[char] = &[
    'a',
    'z',
    'A',
    'Z',
    's',
    'S',
    't',
    'T',
    'r',
    'R',
    'e',
    'E',
    'v',
    'V',
    'm',
    'M',
    'l',
    'L',
    'd',
    'D',
    'k',
    'x',
    '\'',
    '\'',
    '\'',
    '/',
    '0',
    '5',
    '9',
    ' ',
    ' ',
    ' ',
    ' ',
    '\t',
    '\r',
    '\n',
    '\n',
    '\u{b}',
    '\u{c}',
    '\u{85}',
    '\u{a0}',
    '\u{1680}',
    '\u{2003}',
    '\u{2028}',
    '\u{2029}',
    '\u{202f}',
    '\u{3000}',
    '\u{200b}',
    '\u{200d}',
    '\u{feff}',
    '.',
    ',',
    '!',
    '?',
    '"',
    '(',
    ')',
    '{',
    '}',
    '[',
    ']',
    '<',
    '|',
    '>',
    '_',
    '-',
    '*',
    '#',
    '@',
    '\\',
    '$',
    '\u{17f}',
    '\u{212a}',
    '\u{df}',
    '\u{e9}',
    '\u{c9}',
    '\u{130}',
    '\u{131}',
    '\u{1c4}',
    '\u{1c5}',
    '\u{1c6}',
    '\u{2b0}',
    '\u{1d00}',
    '\u{fb01}',
    '\u{3b1}',
    '\u{391}',
    '\u{43f}',
    '\u{41f}',
    '\u{5e9}',
    '\u{627}',
    '\u{644}',
    '\u{664}',
    '\u{915}',
    '\u{94d}',
    '\u{93f}',
    '\u{e2a}',
    '\u{e31}',
    '\u{65e5}',
    '\u{672c}',
    '\u{3042}',
    '\u{30ab}',
    '\u{ac00}',
    '\u{ff11}',
    '\u{2160}',
    '\u{b2}',
    '\u{bd}',
    '\u{2460}',
    '\u{1d7d8}',
    '\u{301}',
    '\u{308}',
    '\u{20e3}',
    '\u{fe0f}',
    '\u{e0100}',
    '\u{1f600}',
    '\u{1f44d}',
    '\u{1f3fd}',
    '\u{1f1fa}',
    '\u{2764}',
    '\u{2019}',
    '\u{201c}',
    '\u{2014}',
    '\u{2026}',
    '\u{20ac}',
    '\u{fffd}',
    '\u{e000}',
    '\u{10fffd}',
    '\u{0}',
    '\u{7f}',
];

/// Whole fragments: contractions, line ends, special-token look-alikes, code.
const FRAGMENTS: &[&str] = &[
    "'s",
    "'S",
    "'t",
    "'re",
    "'RE",
    "'ve",
    "'m",
    "'ll",
    "'LL",
    "'d",
    "'ſ",
    "\r\n",
    "\r\n\r\n",
    "  \n",
    "\n\n",
    "    ",
    "<|endoftext|>",
    "<|fim_middle|>",
    "{\"a\": 1}",
    "://",
    "*/\n/",
    "123456",
    "don't",
    "I'M",
    "e\u{301}",
    "\u{915}\u{94d}\u{937}",
    "\u{1f468}\u{200d}\u{1f469}",
];

/// 384 cases per property unless `PROPTEST_CASES` says otherwise.
fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(384)
}

fn piece() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => proptest::sample::select(TRICKY_CHARS).prop_map(String::from),
        2 => proptest::sample::select(FRAGMENTS).prop_map(String::from),
        1 => any::<char>().prop_map(String::from),
        1 => "[a-zA-Z]{1,8}",
        1 => "[ \t\r\n]{1,4}",
    ]
}

fn text() -> impl Strategy<Value = String> {
    proptest::collection::vec(piece(), 0..48).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn o200k_matches_tiktoken(t in text()) {
        check(Encoding::O200kBase, &t).map_err(TestCaseError::fail)?;
    }

    #[test]
    fn cl100k_matches_tiktoken(t in text()) {
        check(Encoding::Cl100kBase, &t).map_err(TestCaseError::fail)?;
    }

    #[test]
    fn long_pieces_match_tiktoken(
        t in prop_oneof![
            "[a-z]{65,600}",
            "[a-eA-E]{65,400}",
            "[a-zA-Z\u{e9}\u{fc}\u{df}]{40,300}",
            "[!?.=*#-]{65,400}",
            "[ \t]{65,300}x",
            "[\u{3041}-\u{3096}\u{30a1}-\u{30fa}]{30,200}",
        ]
    ) {
        check(Encoding::O200kBase, &t).map_err(TestCaseError::fail)?;
        check(Encoding::Cl100kBase, &t).map_err(TestCaseError::fail)?;
    }

    #[test]
    fn arbitrary_unicode_matches_tiktoken(t in any::<String>()) {
        check(Encoding::O200kBase, &t).map_err(TestCaseError::fail)?;
        check(Encoding::Cl100kBase, &t).map_err(TestCaseError::fail)?;
    }
}
