//! Helpers shared by the adapter tests in `tests/*.rs`: fixture loading, feeding a
//! stream decoder in pieces, folding events into a response, constructors for
//! expected values, the error checks of the property tests, and request builders.

use std::path::PathBuf;

use llmvcr_core::{
    ChatRequest, ChatResponse, Error, ErrorKind, FinishKind, FinishReason, Message, Provider,
    StreamAccumulator, StreamEvent, ToolCall, ToolChoice, ToolSpec, Usage,
};
use llmvcr_providers::{Adapter, WireRequest};
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::TestCaseResult;
use serde_json::{Map, Value, json};

/// The content type of a server-sent-events stream.
pub const SSE: Option<&str> = Some("text/event-stream");

/// What a stream decoder produced: every event up to the first error, and that error.
pub type Outcome = (Vec<StreamEvent>, Option<Error>);

// ---------------------------------------------------------------------------------
// Fixtures

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

// ---------------------------------------------------------------------------------
// Feeding stream decoders

/// Feeds `chunks` to a fresh decoder of `adapter` for a body of type `content_type`,
/// then finishes it, stopping at the first error.
pub fn run<C: AsRef<[u8]>>(
    adapter: &dyn Adapter,
    content_type: Option<&str>,
    chunks: impl IntoIterator<Item = C>,
) -> Outcome {
    let mut decoder = adapter.stream_decoder(content_type);
    let mut events = Vec::new();
    for chunk in chunks {
        match decoder.feed(chunk.as_ref()) {
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
pub fn whole(adapter: &dyn Adapter, content_type: Option<&str>, bytes: &[u8]) -> Outcome {
    run(adapter, content_type, [bytes])
}

/// The stream fed one byte at a time.
pub fn bytewise(adapter: &dyn Adapter, content_type: Option<&str>, bytes: &[u8]) -> Outcome {
    run(adapter, content_type, bytes.chunks(1))
}

/// `bytes` cut into pieces of pseudo-random sizes (1 to 64 bytes) drawn from `seed`.
pub fn random_chunks(bytes: &[u8], seed: u64) -> Vec<&[u8]> {
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
    chunks
}

/// The stream fed in the pieces of [`random_chunks`].
pub fn random_splits(
    adapter: &dyn Adapter,
    content_type: Option<&str>,
    bytes: &[u8],
    seed: u64,
) -> Outcome {
    run(adapter, content_type, random_chunks(bytes, seed))
}

/// The events of a stream that must decode without error.
pub fn events(adapter: &dyn Adapter, content_type: Option<&str>, bytes: &[u8]) -> Vec<StreamEvent> {
    let (events, err) = whole(adapter, content_type, bytes);
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
pub fn streamed(adapter: &dyn Adapter, content_type: Option<&str>, bytes: &[u8]) -> ChatResponse {
    aggregate(&events(adapter, content_type, bytes))
}

/// Decodes the stream `name` in one piece, one byte at a time and in the random pieces
/// of seeds 1 to 16; asserts that every way gives the same events and the same error,
/// and returns that outcome.
pub fn same_every_way(
    adapter: &dyn Adapter,
    content_type: Option<&str>,
    name: &str,
    bytes: &[u8],
) -> Outcome {
    let reference = whole(adapter, content_type, bytes);
    assert_eq!(
        bytewise(adapter, content_type, bytes),
        reference,
        "{name}: 1-byte pieces"
    );
    for seed in 1..=16 {
        assert_eq!(
            random_splits(adapter, content_type, bytes, seed),
            reference,
            "{name}: random pieces, seed {seed}"
        );
    }
    reference
}

/// The aggregated response of the stream `name`, which must decode without error and
/// to the same events however it is cut (see [`same_every_way`]).
pub fn streamed_every_way(
    adapter: &dyn Adapter,
    content_type: Option<&str>,
    name: &str,
    bytes: &[u8],
) -> ChatResponse {
    let (events, err) = same_every_way(adapter, content_type, name, bytes);
    assert!(err.is_none(), "{name}: {err:?}");
    aggregate(&events)
}

// ---------------------------------------------------------------------------------
// Expected values

/// Usage with only input and output counts.
pub fn usage(input: u64, output: u64) -> Usage {
    Usage {
        input_tokens: input,
        output_tokens: output,
        ..Usage::default()
    }
}

/// A finish reason as a decoded response holds it.
pub fn finish(kind: FinishKind, raw: &str) -> Option<FinishReason> {
    Some(FinishReason::new(kind, raw))
}

/// A tool call with an id.
pub fn call(id: &str, name: &str, arguments: Value) -> ToolCall {
    ToolCall::from_value(Some(id.to_string()), name, arguments)
}

// ---------------------------------------------------------------------------------
// Property tests

/// Arbitrary bytes, up to 511 of them.
pub fn arbitrary_bytes() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(any::<u8>(), 0..512)
}

/// The errors a property test accepts from a decoder fed malformed input.
#[derive(Debug, Clone, Copy)]
pub enum Acceptable {
    /// Only `ErrorKind::Decode`.
    Decode,
    /// `ErrorKind::Decode`, or any error classified as coming from the provider.
    DecodeOrClassified(Provider),
    /// An error classified as coming from the provider, with a non-empty message.
    Classified(Provider),
}

impl Acceptable {
    /// Whether `err` is one of the accepted errors.
    pub fn accepts(self, err: &Error) -> bool {
        match self {
            Acceptable::Decode => err.kind == ErrorKind::Decode,
            Acceptable::DecodeOrClassified(provider) => {
                err.kind == ErrorKind::Decode || err.provider == Some(provider)
            }
            Acceptable::Classified(provider) => {
                err.provider == Some(provider) && !err.to_string().is_empty()
            }
        }
    }

    /// Fails the property when there is an error and it is not accepted; `what` names
    /// the input in the failure message.
    pub fn check(self, what: &str, err: Option<&Error>) -> TestCaseResult {
        if let Some(err) = err {
            prop_assert!(self.accepts(err), "{what}: {self:?} refuses {err:?}");
        }
        Ok(())
    }
}

/// Feeds `chunks` to a stream decoder of `adapter` and folds the events it produced;
/// its error, if any, must be accepted by `stream`. Unless `body` is `None`, the
/// chunks joined are then decoded as one response body, whose error must be accepted
/// by `body`. A panic in a decoder, in the fold, or in encoding the folded response
/// back as history fails the property.
pub fn never_panics<C: AsRef<[u8]>>(
    adapter: &dyn Adapter,
    content_type: Option<&str>,
    chunks: impl IntoIterator<Item = C>,
    stream: Acceptable,
    body: Option<Acceptable>,
) -> TestCaseResult {
    let chunks: Vec<C> = chunks.into_iter().collect();
    let (events, err) = run(adapter, content_type, &chunks);
    sent_back(adapter, &aggregate(&events));
    stream.check("stream", err.as_ref())?;
    if let Some(body) = body {
        let joined: Vec<u8> = chunks.iter().flat_map(|c| c.as_ref()).copied().collect();
        decode_never_panics(adapter, &joined, body)?;
    }
    Ok(())
}

/// Decodes `bytes` as one response body; its error, if any, must be accepted by
/// `acceptable`. A decoded response must encode back as history without panicking.
pub fn decode_never_panics(
    adapter: &dyn Adapter,
    bytes: &[u8],
    acceptable: Acceptable,
) -> TestCaseResult {
    match adapter.decode(bytes) {
        Ok(response) => {
            sent_back(adapter, &response);
            Ok(())
        }
        Err(e) => acceptable.check("body", Some(&e)),
    }
}

/// Encodes `response` back as history (reasoning items included) with `adapter`; an
/// error is fine, a panic fails the property.
fn sent_back(adapter: &dyn Adapter, response: &ChatResponse) {
    let mut request = ChatRequest::new("m")
        .user("Hi")
        .message(response.to_message());
    for call in &response.tool_calls {
        request = request.message(Message {
            name: Some(call.name.clone()),
            tool_call_id: call.id.clone(),
            ..Message::text(llmvcr_core::Role::Tool, "ok")
        });
    }
    let _ = adapter.encode(&request);
}

/// Sends `frames` as SSE `data:` events, cut into the pieces of [`random_chunks`] for
/// `seed`, then decodes each frame as a response body; every error must be accepted by
/// `acceptable`.
pub fn frames_never_panic(
    adapter: &dyn Adapter,
    frames: &[Value],
    seed: u64,
    acceptable: Acceptable,
) -> TestCaseResult {
    let sse: String = frames.iter().map(|f| format!("data: {f}\n\n")).collect();
    never_panics(
        adapter,
        SSE,
        random_chunks(sse.as_bytes(), seed),
        acceptable,
        None,
    )?;
    for frame in frames {
        decode_never_panics(adapter, frame.to_string().as_bytes(), acceptable)?;
    }
    Ok(())
}

/// Each `.sse` fixture of `dir` in the pieces of [`random_chunks`] for `seed` must
/// decode as it does in one piece.
pub fn random_splits_agree(adapter: &dyn Adapter, dir: &str, seed: u64) -> TestCaseResult {
    for (name, bytes) in fixtures(dir, "sse") {
        prop_assert_eq!(
            random_splits(adapter, SSE, &bytes, seed),
            whole(adapter, SSE, &bytes),
            "{}",
            name
        );
    }
    Ok(())
}

/// The name of the `.sse` or `.json` fixture of `dir` that `pick` selects, and the
/// prefix of it that `cut` selects.
pub fn truncated_fixture(dir: &str, pick: Index, cut: Index) -> (String, Vec<u8>) {
    let mut all = fixtures(dir, "sse");
    all.extend(fixtures(dir, "json"));
    let (name, bytes) = pick.get(&all);
    (name.clone(), prefix(bytes, cut).to_vec())
}

/// The first `cut` bytes of `bytes`, `cut` ranging from none to all of them.
pub fn prefix(bytes: &[u8], cut: Index) -> &[u8] {
    &bytes[..cut.index(bytes.len() + 1)]
}

/// `bytes` cut at the points `cuts` picks (empty pieces included).
pub fn cut_at<'a>(bytes: &'a [u8], cuts: &[Index]) -> Vec<&'a [u8]> {
    let mut points: Vec<usize> = cuts.iter().map(|c| c.index(bytes.len() + 1)).collect();
    points.sort_unstable();
    let mut chunks = Vec::new();
    let mut start = 0;
    for p in points {
        chunks.push(&bytes[start..p]);
        start = p;
    }
    chunks.push(&bytes[start..]);
    chunks
}

/// `bytes` cut at the points `cuts` picks must decode without error to the same
/// events as in one piece.
pub fn cuts_agree(
    adapter: &dyn Adapter,
    content_type: Option<&str>,
    bytes: &[u8],
    cuts: &[Index],
) -> TestCaseResult {
    let (got, err) = run(adapter, content_type, cut_at(bytes, cuts));
    prop_assert!(err.is_none());
    prop_assert_eq!(got, events(adapter, content_type, bytes));
    Ok(())
}

// ---------------------------------------------------------------------------------
// Requests

/// An assistant turn with text and tool calls.
pub fn assistant_with_calls(text: &str, calls: Vec<ToolCall>) -> Message {
    Message {
        tool_calls: calls,
        ..Message::assistant(text)
    }
}

/// A request with two tools, one of them forced, and every sampling setting.
pub fn tool_choice_request(model: &str) -> ChatRequest {
    let mut request = ChatRequest::new(model)
        .user("Weather in Paris?")
        .tool(
            ToolSpec::new(
                "get_weather",
                json!({"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}),
            )
            .description("Current weather for a city"),
        )
        .tool(ToolSpec::new("get_time", json!({"type": "object", "properties": {}})))
        .tool_choice(ToolChoice::Tool("get_weather".into()))
        .temperature(0.2)
        .max_tokens(512)
        .stop("END");
    request.top_p = Some(0.9);
    request
}

/// A strict weather tool.
pub fn strict_weather_tool() -> ToolSpec {
    ToolSpec {
        strict: Some(true),
        ..ToolSpec::new(
            "get_weather",
            json!({
                "type": "object",
                "properties": {"city": {"type": "string"}},
                "required": ["city"],
                "additionalProperties": false
            }),
        )
        .description("Current weather for a city.")
    }
}

/// Two parallel calls, their results, the answer and a follow-up question, offering
/// [`strict_weather_tool`].
pub fn two_call_history(model: &str) -> ChatRequest {
    ChatRequest::new(model)
        .user("What is the weather in Paris and Lyon?")
        .message(assistant_with_calls(
            "Let me check both.",
            vec![
                ToolCall::from_value(
                    Some("call_1".into()),
                    "get_weather",
                    json!({"city": "Paris"}),
                ),
                ToolCall::from_raw(Some("call_2".into()), "get_weather", "{\"city\":\"Lyon\"}"),
            ],
        ))
        .message(Message::tool_result("call_1", "18°C, cloudy"))
        .message(Message::tool_result("call_2", "21°C, sunny"))
        .assistant("Paris is 18°C and cloudy; Lyon is 21°C and sunny.")
        .user("Thanks!")
        .tool(strict_weather_tool())
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
pub fn wire_value() -> impl Strategy<Value = Value> {
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
        "encrypted_content",
        "signature",
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
