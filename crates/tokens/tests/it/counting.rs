//! `count_until`, long inputs, and byte input.

use llmvcr_tokens::{CountUntil, Encoding};
use proptest::prelude::*;

#[test]
fn count_until_agrees_with_count() {
    let text = "The quick brown fox jumps over the lazy dog. ".repeat(20);
    for enc in Encoding::ALL {
        let n = enc.count(&text);
        assert_eq!(enc.count_until(&text, n), CountUntil::Within(n));
        assert_eq!(enc.count_until(&text, n + 100), CountUntil::Within(n));
        match enc.count_until(&text, n - 1) {
            CountUntil::Exceeded {
                at_least,
                bytes_read,
            } => {
                assert!(at_least > n - 1);
                assert!(bytes_read <= text.len());
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(enc.count_until("", 0), CountUntil::Within(0));
        assert!(enc.count_until("a", 0).exceeded());
    }
}

#[test]
fn count_until_stops_early() {
    let text = "word ".repeat(200_000);
    match Encoding::O200kBase.count_until(&text, 10) {
        CountUntil::Exceeded {
            at_least,
            bytes_read,
        } => {
            assert_eq!(at_least, 11);
            assert_eq!(bytes_read, 54);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn count_until_rejects_a_long_piece_without_merging_it() {
    // One piece of 1 MB: every token has at most 128 bytes, so it has at least 8192.
    let text = "a".repeat(1 << 20);
    match Encoding::O200kBase.count_until(&text, 1000) {
        CountUntil::Exceeded {
            at_least,
            bytes_read,
        } => {
            assert_eq!(at_least, 8192);
            assert_eq!(bytes_read, 1 << 20);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(CountUntil::Within(3).within(), Some(3));
}

#[test]
fn inputs_without_split_points_stay_fast() {
    // Each of these is one piece (or a few) of 64 to 128 KB; a quadratic merge would take
    // minutes here in a debug build.
    for enc in Encoding::ALL {
        for text in [
            "a".repeat(1 << 16),
            " ".repeat(1 << 16),
            "!?".repeat(1 << 16),
            "\n".repeat(1 << 16),
            "ab".repeat(1 << 16),
        ] {
            let n = enc.count(&text);
            assert!(n >= text.len() / 128 && n <= text.len(), "{enc} {n}");
        }
        assert_eq!(enc.count(&"7".repeat(3000)), 1000);
    }
}

#[test]
fn special_token_text_counts_as_ordinary_text() {
    for enc in Encoding::ALL {
        assert!(enc.count("<|endoftext|>") > 1);
    }
}

#[test]
fn invalid_utf8_is_replaced_before_counting() {
    let enc = Encoding::O200kBase;
    assert_eq!(enc.count_bytes(b"abc\xffdef"), enc.count("abc\u{fffd}def"));
    assert_eq!(enc.count_bytes(b"\xe6\x97"), enc.count("\u{fffd}"));
    assert_eq!(enc.count_bytes("héllo".as_bytes()), enc.count("héllo"));
}

#[test]
fn names_parse() {
    assert_eq!("o200k_base".parse::<Encoding>(), Ok(Encoding::O200kBase));
    assert_eq!(Encoding::from_name("CL100K"), Some(Encoding::Cl100kBase));
    assert!("p50k_base".parse::<Encoding>().is_err());
    assert_eq!(Encoding::Cl100kBase.to_string(), "cl100k_base");
    assert_eq!(Encoding::O200kBase.vocab_size(), 199_998);
    assert_eq!(Encoding::Cl100kBase.vocab_size(), 100_256);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn count_until_is_exact_at_the_boundary(t in "[a-z A-Z0-9.,'\n]{0,200}") {
        for enc in Encoding::ALL {
            let n = enc.count(&t);
            prop_assert_eq!(enc.count_until(&t, n), CountUntil::Within(n));
            if n > 0 {
                prop_assert!(enc.count_until(&t, n - 1).exceeded());
            }
            prop_assert_eq!(enc.encode(&t).len(), n);
            prop_assert_eq!(enc.decode(&enc.encode(&t)), t.as_bytes());
        }
    }
}
