//! Helpers shared by `tests/openai_chat.rs` and `tests/openai_responses.rs`.
#![allow(dead_code)]

use std::path::PathBuf;

use llmvcr_core::{ChatResponse, Error, StreamAccumulator, StreamEvent};
use llmvcr_providers::{Adapter, WireRequest};
use serde_json::{Map, Value, json};

/// What a stream decoder produced: every event up to the first error, and that error.
pub type Outcome = (Vec<StreamEvent>, Option<Error>);

fn data_dir(dir: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(dir)
}

/// The bytes of `tests/data/{dir}/{name}`.
pub fn fixture(dir: &str, name: &str) -> Vec<u8> {
    let path = data_dir(dir).join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A JSON fixture, parsed.
pub fn json_fixture(dir: &str, name: &str) -> Value {
    serde_json::from_slice(&fixture(dir, name)).unwrap()
}

/// Every fixture in `tests/data/{dir}` whose name ends with `.{ext}`, sorted by name.
pub fn fixtures(dir: &str, ext: &str) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(data_dir(dir))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(&format!(".{ext}")))
        .map(|name| {
            let bytes = fixture(dir, &name);
            (name, bytes)
        })
        .collect();
    out.sort();
    out
}

/// Feeds `chunks` to a fresh decoder of `adapter`, then finishes it, stopping at the
/// first error.
pub fn run<'a>(adapter: &dyn Adapter, chunks: impl IntoIterator<Item = &'a [u8]>) -> Outcome {
    let mut decoder = adapter.stream_decoder(Some("text/event-stream"));
    let mut events = Vec::new();
    for chunk in chunks {
        match decoder.feed(chunk) {
            Ok(more) => events.extend(more),
            Err(e) => return (events, Some(e)),
        }
    }
    match decoder.finish() {
        Ok(more) => events.extend(more),
        Err(e) => return (events, Some(e)),
    }
    (events, None)
}

/// The stream fed in one piece.
pub fn whole(adapter: &dyn Adapter, bytes: &[u8]) -> Outcome {
    run(adapter, [bytes])
}

/// The stream fed one byte at a time.
pub fn bytewise(adapter: &dyn Adapter, bytes: &[u8]) -> Outcome {
    run(adapter, bytes.chunks(1))
}

/// The stream fed in pieces of pseudo-random sizes (1 to 64 bytes) drawn from `seed`.
pub fn random_splits(adapter: &dyn Adapter, bytes: &[u8], seed: u64) -> Outcome {
    let mut state = seed | 1;
    let mut chunks = Vec::new();
    let mut rest = bytes;
    while !rest.is_empty() {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let n = usize::try_from(state % 64).unwrap() + 1;
        let (head, tail) = rest.split_at(n.min(rest.len()));
        chunks.push(head);
        rest = tail;
    }
    run(adapter, chunks)
}

/// The events of a stream that must decode without error.
pub fn events(adapter: &dyn Adapter, bytes: &[u8]) -> Vec<StreamEvent> {
    let (events, err) = whole(adapter, bytes);
    assert!(err.is_none(), "unexpected error: {err:?}");
    events
}

/// Folds events into a response.
pub fn aggregate(events: &[StreamEvent]) -> ChatResponse {
    let mut acc = StreamAccumulator::new();
    for e in events {
        acc.push(e);
    }
    acc.finish()
}

/// The aggregated response of a stream that must decode without error.
pub fn streamed(adapter: &dyn Adapter, bytes: &[u8]) -> ChatResponse {
    aggregate(&events(adapter, bytes))
}

/// A built request as JSON for snapshots; sensitive header values are masked.
pub fn wire_json(wire: &WireRequest) -> Value {
    let mut headers = Map::new();
    for (name, value) in &wire.headers {
        let shown = if value.is_sensitive() {
            "<redacted>".to_string()
        } else {
            value.to_str().unwrap().to_string()
        };
        headers.insert(name.as_str().to_string(), json!(shown));
    }
    json!({
        "method": wire.method.as_str(),
        "url": wire.url,
        "headers": headers,
        "body": wire.body,
    })
}

/// A strategy for JSON values shaped like OpenAI stream frames and bodies: objects
/// whose keys are the field names the decoders read.
pub fn wire_value() -> impl proptest::strategy::Strategy<Value = Value> {
    use proptest::prelude::*;
    const KEYS: &[&str] = &[
        "id",
        "model",
        "choices",
        "index",
        "delta",
        "message",
        "content",
        "reasoning",
        "reasoning_content",
        "reasoning_details",
        "tool_calls",
        "function",
        "name",
        "arguments",
        "finish_reason",
        "usage",
        "prompt_tokens",
        "completion_tokens",
        "prompt_tokens_details",
        "cached_tokens",
        "x_groq",
        "type",
        "text",
        "thinking",
        "error",
        "code",
        "message",
        "status",
        "output_index",
        "content_index",
        "summary_index",
        "response",
        "output",
        "item",
        "call_id",
        "summary",
        "input_tokens",
        "output_tokens",
        "incomplete_details",
        "reason",
        "function_call",
    ];
    const STRINGS: &[&str] = &[
        "",
        "text",
        "stop",
        "tool_calls",
        "function_call",
        "message",
        "reasoning",
        "output_text",
        "summary_text",
        "reasoning_text",
        "thinking",
        "completed",
        "incomplete",
        "failed",
        "error",
        "response.created",
        "response.completed",
        "response.failed",
        "response.output_text.delta",
        "response.output_text.done",
        "response.output_item.added",
        "response.output_item.done",
        "response.function_call_arguments.delta",
        "response.function_call_arguments.done",
        "response.reasoning_summary_text.delta",
        "response.reasoning_text.done",
        "{\"a\":",
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        (0u64..5).prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        proptest::sample::select(STRINGS).prop_map(Value::from),
        ".{0,8}".prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::vec((proptest::sample::select(KEYS), inner), 0..6).prop_map(
                |pairs| {
                    Value::Object(pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
                }
            ),
        ]
    })
}
