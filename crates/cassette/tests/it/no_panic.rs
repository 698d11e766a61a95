#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The readers return `Ok` or `Err` for any input and never panic: arbitrary
//! text, YAML-shaped noise, and real cassettes that are truncated or have a
//! line replaced.

use std::path::Path;

use llmvcr_cassette::{import::parse_any, import::parse_vcr_json, import::parse_vcrpy};
use proptest::prelude::*;

/// Small real cassettes, one per dialect and layout, plus the JSON fixture.
const SAMPLES: [&str; 5] = [
    // binary (gzip SSE)
    "../../cassettes/real/anthropic/simonw__llm-anthropic__cassettes__test_anthropic__test_prompt_with_prefill_and_stop_sequences.yaml",
    // string
    "../../cassettes/real/anthropic/simonw__llm-anthropic__cassettes__test_anthropic__test_prompt.yaml",
    // parsed_body, indented list
    "../../cassettes/real/gemini/pydantic__pydantic-ai__models__cassettes__test_google__test_google_vertex_service_tier_flex.yaml",
    // typed_body
    "tests/data/typed_body.yaml",
    // vcr-cassette JSON
    "tests/data/vcr_cassette.json",
];

fn sample(index: usize) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(SAMPLES[index])).unwrap()
}

/// Runs every reader; each may fail, none may panic.
fn read_all(text: &str) {
    let _ = parse_vcrpy(text, "fuzz.yaml");
    let _ = parse_vcr_json(text, "fuzz.json");
    let _ = parse_any(text, "fuzz");
}

/// The largest char boundary at or below `at`.
fn floor_boundary(text: &str, at: usize) -> usize {
    let mut cut = at.min(text.len());
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    cut
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_text(text in any::<String>()) {
        read_all(&text);
    }

    #[test]
    fn yaml_shaped_noise(
        text in "(interactions:\n|http_interactions|- request:\n|  response:\n|    status: |\
                  code: |!!binary |!binary |parsed_body: |body: |string: |type: json\n|\
                  content: |\\{|\\}|\\[|\\]|, |\"|'|\n|  |- |[a-z0-9=+/]{1,6}|1e3|\\.nan|~|&a |\\*a|\\|\n|>\n|#)*"
    ) {
        read_all(&text);
    }

    #[test]
    fn truncated_real_cassettes(which in 0..SAMPLES.len(), at in any::<prop::sample::Index>()) {
        let text = sample(which);
        let cut = floor_boundary(&text, at.index(text.len() + 1));
        read_all(&text[..cut]);
    }

    #[test]
    fn real_cassettes_with_a_line_replaced(
        which in 0..SAMPLES.len(),
        line in any::<prop::sample::Index>(),
        replacement in "[ -~]{0,40}",
    ) {
        let text = sample(which);
        let mut lines: Vec<&str> = text.lines().collect();
        let index = line.index(lines.len());
        lines[index] = &replacement;
        read_all(&lines.join("\n"));
    }

    #[test]
    fn real_cassettes_with_a_byte_flipped(
        which in 0..SAMPLES.len(),
        at in any::<prop::sample::Index>(),
        byte in 0x20u8..0x7f,
    ) {
        let mut bytes = sample(which).into_bytes();
        let index = at.index(bytes.len());
        bytes[index] = byte;
        if let Ok(text) = String::from_utf8(bytes) {
            read_all(&text);
        }
    }
}
