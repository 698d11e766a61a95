//! Ollama native chat adapter: request encoding (insta snapshots), decoding, NDJSON
//! streams, errors inside 200 streams, and property tests.
//!
//! There are no real Ollama recordings: the bodies in `tests/data/ollama/` follow the
//! wire format of Ollama's API documentation (docs/api.md, "Generate a chat
//! completion").

use crate::support;

use llmvcr_core::{
    ChatRequest, ChatResponse, ContentPart, ErrorKind, FinishKind, Message, Provider,
    ReasoningEffort, ResponseFormat, Secret, StreamEvent, ToolCall, ToolChoice, ToolSpec,
};
use llmvcr_providers::ollama::Ollama;
use llmvcr_providers::{Adapter, Endpoint, adapter_for};
use proptest::prelude::*;
use serde_json::json;
use support::{
    Acceptable, aggregate, arbitrary_bytes, bytewise, events, finish, fixture, never_panics,
    prefix, run, same_every_way, usage, whole,
};

const DIR: &str = "ollama";
const NDJSON: Option<&str> = Some("application/x-ndjson");
const ACCEPTABLE: Acceptable = Acceptable::DecodeOrClassified(Provider::Ollama);

fn adapter() -> Ollama {
    Ollama::new(Provider::Ollama)
}

/// Decodes a stream whole, byte by byte, in random splits and in every two-way split,
/// checks that they give the same events, and returns the aggregated response.
fn stream(name: &str) -> ChatResponse {
    let body = fixture(DIR, name);
    let (expected, err) = same_every_way(&adapter(), NDJSON, name, &body);
    assert!(err.is_none(), "{name}: {err:?}");
    for cut in 0..=body.len() {
        let (a, b) = body.split_at(cut);
        let (events, err) = run(&adapter(), NDJSON, [a, b]);
        assert!(err.is_none(), "{name}: {err:?}");
        assert_eq!(events, expected, "{name}: split at {cut} differs");
    }
    aggregate(&expected)
}

// ---------------------------------------------------------------------------------
// Non-streamed bodies

#[test]
fn decodes_a_chat_response() {
    let r = adapter().decode(&fixture(DIR, "chat.json")).unwrap();
    assert_eq!(
        r,
        ChatResponse {
            id: None,
            model: Some("llama3.2".into()),
            text: "Hello! How are you today?".into(),
            usage: Some(usage(26, 298)),
            finish_reason: finish(FinishKind::Stop, "stop"),
            ..ChatResponse::default()
        }
    );
}

#[test]
fn decodes_tool_calls() {
    let r = adapter().decode(&fixture(DIR, "tool_calls.json")).unwrap();
    assert_eq!(r.text, "");
    assert_eq!(
        r.tool_calls,
        vec![ToolCall::from_value(
            None,
            "get_current_weather",
            json!({"format": "celsius", "location": "Paris, FR"})
        )]
    );
    assert_eq!(r.finish_reason, finish(FinishKind::ToolCalls, "stop"));
    assert_eq!(r.usage, Some(usage(122, 33)));
}

#[test]
fn decodes_thinking() {
    let r = adapter().decode(&fixture(DIR, "thinking.json")).unwrap();
    assert_eq!(
        r.text,
        "The word \"strawberry\" contains **three** instances of the letter \"r\"."
    );
    assert!(r.reasoning.starts_with("First, the question is"));
    assert_eq!(r.usage, Some(usage(10, 2514)));
}

#[test]
fn done_reasons_and_missing_counts() {
    for (raw, kind) in [
        ("stop", FinishKind::Stop),
        ("length", FinishKind::Length),
        ("load", FinishKind::Other),
        ("unload", FinishKind::Other),
    ] {
        let body = json!({"model": "m", "message": {"role": "assistant", "content": "x"}, "done": true, "done_reason": raw});
        let r = adapter().decode(body.to_string().as_bytes()).unwrap();
        assert_eq!(r.finish_reason, finish(kind, raw));
        assert_eq!(r.usage, None, "no counts, no usage");
    }
    let body = json!({"model": "m", "message": {"role": "assistant", "content": "x"}, "done": true, "eval_count": 3});
    let r = adapter().decode(body.to_string().as_bytes()).unwrap();
    assert_eq!(r.usage, Some(usage(0, 3)));
    assert_eq!(r.finish_reason, None);
}

#[test]
fn tool_call_ids_and_text_arguments() {
    let body = json!({
        "model": "m",
        "message": {"role": "assistant", "content": "", "tool_calls": [
            {"id": "call_1", "function": {"index": 0, "name": "f", "arguments": {"a": 1}}},
            {"function": {"name": "g", "arguments": "{\"b\": 2}"}},
            {"function": {"name": "h"}}
        ]},
        "done": true, "done_reason": "stop"
    });
    let r = adapter().decode(body.to_string().as_bytes()).unwrap();
    assert_eq!(
        r.tool_calls,
        vec![
            ToolCall::from_value(Some("call_1".into()), "f", json!({"a": 1})),
            ToolCall::from_value(None, "g", json!({"b": 2})),
            ToolCall::from_value(None, "h", json!({})),
        ]
    );
}

#[test]
fn error_body_is_classified() {
    let err = adapter()
        .decode(br#"{"error":"model \"llama9\" not found, try pulling it first"}"#)
        .unwrap_err();
    assert_eq!(err.provider, Some(Provider::Ollama));
    assert!(err.message.contains("not found"));
    assert_eq!(adapter().decode(b"{").unwrap_err().kind, ErrorKind::Decode);
    assert_eq!(adapter().decode(b"[]").unwrap_err().kind, ErrorKind::Decode);
}

// ---------------------------------------------------------------------------------
// Streams

#[test]
fn ndjson_text_stream() {
    let r = stream("stream.ndjson");
    assert_eq!(
        r,
        ChatResponse {
            model: Some("llama3.2".into()),
            text: "The sky is blue.".into(),
            usage: Some(usage(26, 282)),
            finish_reason: finish(FinishKind::Stop, "stop"),
            ..ChatResponse::default()
        }
    );
    let events = events(&adapter(), NDJSON, &fixture(DIR, "stream.ndjson"));
    let starts = events
        .iter()
        .filter(|e| matches!(e, StreamEvent::Start { .. }))
        .count();
    assert_eq!(starts, 1, "the model is announced once");
}

#[test]
fn ndjson_stream_with_thinking_and_tool_calls() {
    let r = stream("stream_thinking_tools.ndjson");
    assert_eq!(r.reasoning, "The user wants the weather in Tokyo.");
    assert_eq!(r.text, "");
    assert_eq!(
        r.tool_calls,
        vec![
            ToolCall::from_value(None, "get_weather", json!({"city": "Tokyo"})),
            ToolCall::from_value(None, "get_time", json!({})),
        ]
    );
    assert_eq!(r.finish_reason, finish(FinishKind::ToolCalls, "stop"));
    assert_eq!(r.usage, Some(usage(180, 41)));
}

#[test]
fn stream_and_body_agree() {
    // The last line of a stream, read as a body, decodes like the stream's end.
    let body = fixture(DIR, "stream.ndjson");
    let last = body
        .split(|b| *b == b'\n')
        .rfind(|l| !l.is_empty())
        .unwrap();
    let r = adapter().decode(last).unwrap();
    let s = stream("stream.ndjson");
    assert_eq!(r.usage, s.usage);
    assert_eq!(r.finish_reason, s.finish_reason);
    assert_eq!(r.model, s.model);
}

#[test]
fn error_line_in_a_200_stream_is_classified() {
    let body = concat!(
        "{\"model\":\"llama3.2\",\"created_at\":\"2024-01-01T00:00:00Z\",\"message\":{\"role\":\"assistant\",\"content\":\"Hel\"},\"done\":false}\n",
        "{\"error\":\"an error was encountered while running the model: unexpected EOF\"}\n",
    );
    for (events, err) in [
        whole(&adapter(), NDJSON, body.as_bytes()),
        bytewise(&adapter(), NDJSON, body.as_bytes()),
    ] {
        let err = err.expect("the stream must fail");
        assert_eq!(err.provider, Some(Provider::Ollama));
        assert!(err.message.contains("unexpected EOF"));
        assert_ne!(err.kind, ErrorKind::Decode);
        assert_eq!(aggregate(&events).text, "Hel");
    }
    let (_, err) = whole(
        &adapter(),
        NDJSON,
        b"{\"error\":\"model is overloaded, please retry\"}\n",
    );
    assert_eq!(err.unwrap().kind, ErrorKind::Overloaded);
}

#[test]
fn a_truncated_line_is_a_decode_error() {
    let (events, err) = whole(
        &adapter(),
        NDJSON,
        b"{\"model\":\"m\",\"message\":{\"content\":\"a\"}}\n{\"model\":",
    );
    assert_eq!(aggregate(&events).text, "a");
    assert_eq!(err.unwrap().kind, ErrorKind::Decode);
}

// ---------------------------------------------------------------------------------
// Encoding

fn encode(request: &ChatRequest) -> serde_json::Value {
    adapter().encode(request).unwrap()
}

#[test]
fn encode_plain() {
    insta::assert_json_snapshot!(
        "encode_plain",
        encode(&ChatRequest::new("llama3.2").user("Why is the sky blue?"))
    );
}

#[test]
fn encode_system_and_multipart() {
    let user = Message {
        content: vec![
            ContentPart::text("What is in this image?"),
            ContentPart::image_base64("image/png", "iVBORw0KGgo="),
            ContentPart::image_url("data:image/jpeg;base64,/9j/4AAQ"),
        ],
        ..Message::user("")
    };
    let request = ChatRequest::new("llava")
        .system("Be terse.")
        .message(user)
        .temperature(0.0)
        .max_tokens(64)
        .stop("\n\n");
    insta::assert_json_snapshot!("encode_system_multipart", encode(&request));
    let err = adapter()
        .encode(&ChatRequest::new("llava").message(Message {
            content: vec![ContentPart::image_url("https://example.com/a.png")],
            ..Message::user("")
        }))
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Unsupported);
}

#[test]
fn encode_tools() {
    let mut request = ChatRequest::new("llama3.2")
        .user("What is the weather today in Paris?")
        .tool(
            ToolSpec::new(
                "get_current_weather",
                json!({
                    "type": "object",
                    "properties": {
                        "location": {"type": "string", "description": "The location, e.g. San Francisco, CA"},
                        "format": {"type": "string", "enum": ["celsius", "fahrenheit"]}
                    },
                    "required": ["location", "format"]
                }),
            )
            .description("Get the current weather for a location"),
        );
    request.top_p = Some(0.9);
    insta::assert_json_snapshot!("encode_tools", encode(&request));
    let auto = request.clone().tool_choice(ToolChoice::Auto);
    assert_eq!(encode(&auto), encode(&request));
    let none = request.clone().tool_choice(ToolChoice::None);
    assert!(encode(&none).get("tools").is_none());
    for choice in [ToolChoice::Required, ToolChoice::Tool("x".into())] {
        let err = adapter()
            .encode(&request.clone().tool_choice(choice))
            .unwrap_err();
        assert_eq!(err.kind, ErrorKind::Unsupported);
    }
}

#[test]
fn encode_tool_history() {
    let request = ChatRequest::new("llama3.2")
        .user("Weather in Paris?")
        .message(Message {
            tool_calls: vec![ToolCall::from_raw(
                Some("call_1".into()),
                "get_current_weather",
                "{\"location\":\"Paris, FR\",\"format\":\"celsius\"}",
            )],
            ..Message::assistant("")
        })
        .message(Message::tool_result("call_1", "22 degrees celsius"))
        .user("And tomorrow?");
    insta::assert_json_snapshot!("encode_tool_history", encode(&request));
}

#[test]
fn encode_json_schema_and_json_mode() {
    let request = ChatRequest::new("llama3.1")
        .user("Ollama is 22 years old and busy saving the world.")
        .response_format(ResponseFormat::JsonSchema {
            name: "status".into(),
            schema: json!({
                "type": "object",
                "properties": {"age": {"type": "integer"}, "available": {"type": "boolean"}},
                "required": ["age", "available"]
            }),
            strict: None,
        });
    insta::assert_json_snapshot!("encode_json_schema", encode(&request));
    let json_mode = request.response_format(ResponseFormat::JsonObject);
    assert_eq!(encode(&json_mode)["format"], "json");
}

#[test]
fn encode_thinking() {
    let mut request = ChatRequest::new("qwen3").user("How many r in strawberry?");
    request.thinking_budget = Some(1024);
    insta::assert_json_snapshot!("encode_thinking", encode(&request));
    request.thinking_budget = Some(0);
    assert_eq!(encode(&request)["think"], false);
    request.reasoning_effort = Some(ReasoningEffort::High);
    assert_eq!(encode(&request)["think"], "high");
}

#[test]
fn encode_streaming_with_extra() {
    let mut request = ChatRequest::new("llama3.2").user("Hi").streaming(true);
    request.extra.insert("keep_alive".into(), json!("10m"));
    request
        .extra
        .insert("options".into(), json!({"num_ctx": 8192}));
    insta::assert_json_snapshot!("encode_streaming", encode(&request));
}

#[test]
fn build_sets_url_and_headers() {
    let endpoint = Endpoint::ollama();
    let wire = adapter_for(&endpoint)
        .build(&endpoint, &ChatRequest::new("llama3.2").user("Hi"))
        .unwrap();
    assert_eq!(wire.url, "http://localhost:11434/api/chat");
    assert_eq!(wire.headers["content-type"], "application/json");
    assert!(!wire.headers.contains_key("authorization"));
    let remote = Endpoint::ollama()
        .with_base_url("https://ollama.example.com/api/")
        .with_auth(llmvcr_providers::AuthStyle::Bearer)
        .with_api_key(Secret::new("token"));
    let wire = adapter()
        .build(&remote, &ChatRequest::new("m").user("Hi"))
        .unwrap();
    assert_eq!(wire.url, "https://ollama.example.com/api/chat");
    assert_eq!(wire.headers["authorization"], "Bearer token");
}

// ---------------------------------------------------------------------------------
// Properties

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in arbitrary_bytes()) {
        never_panics(&adapter(), NDJSON, [&bytes], ACCEPTABLE, Some(ACCEPTABLE))?;
    }

    #[test]
    fn line_shaped_garbage_never_panics(
        text in "[ -~]{0,12}",
        count in proptest::option::of(any::<i64>()),
        args in prop_oneof![Just(json!(null)), Just(json!([1])), Just(json!("{")), Just(json!({"a": 1}))],
        done in any::<Option<bool>>(),
    ) {
        let line = json!({
            "model": count,
            "message": {"content": text, "thinking": count, "tool_calls": [{"function": {"name": text, "arguments": args}}, text]},
            "done": done, "done_reason": text, "prompt_eval_count": count, "eval_count": text,
        });
        let body = format!("{line}\n{line}\n");
        never_panics(&adapter(), NDJSON, [body.as_bytes()], ACCEPTABLE, None)?;
    }

    #[test]
    fn truncated_streams_never_panic(which in any::<bool>(), cut in any::<prop::sample::Index>()) {
        let body = fixture(DIR, if which { "stream.ndjson" } else { "stream_thinking_tools.ndjson" });
        never_panics(&adapter(), NDJSON, [prefix(&body, cut)], Acceptable::Decode, None)?;
    }
}
