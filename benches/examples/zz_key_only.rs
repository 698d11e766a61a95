#![allow(clippy::unwrap_used, clippy::expect_used)]
use std::hint::black_box;
fn main() {
    let text = r#"{"input": [{"content": "What is the largest city in the user country?", "role": "user"}, {"content": "", "role": "assistant"}, {"arguments": "{}", "call_id": "call_aTJhYjzmixZaVGqwl5gn2Ncr", "name": "get_user_country", "type": "function_call"}, {"call_id": "call_aTJhYjzmixZaVGqwl5gn2Ncr", "output": "Mexico", "type": "function_call_output"}], "model": "gpt-4o", "stream": false, "tool_choice": "auto", "tools": [{"description": "", "name": "get_user_country", "parameters": {"additionalProperties": false, "properties": {}, "type": "object"}, "strict": false, "type": "function"}]}"#;
    let rules = llmvcr_cassette::MatchRules::new();
    let url = reqwest::Url::parse("http://127.0.0.1:43101/v1/responses").unwrap();
    let t = std::time::Instant::now();
    for _ in 0..2_000_000 { black_box(rules.key_of_parts("POST", black_box(&url), Some(black_box(text)))); }
    println!("{:?}", t.elapsed() / 2_000_000);
}
