//! Anthropic Messages adapter: request encoding (insta snapshots), decoding of real
//! recorded bodies and streams, stream chunking, errors inside 200 streams, and
//! property tests.
//!
//! The files in `tests/data/anthropic/` are response bodies copied from the real
//! recordings in `cassettes/real/anthropic/`.

use crate::support;

use llmvcr_core::{
    ChatRequest, ChatResponse, ContentPart, ErrorKind, FinishKind, Message, Provider,
    ReasoningAnchor, ReasoningFormat, ReasoningItem, ResponseFormat, Role, Secret, StreamEvent,
    ToolCall, ToolChoice, ToolSpec, Usage,
};
use llmvcr_providers::anthropic::Anthropic;
use llmvcr_providers::{Adapter, AuthStyle, Endpoint, adapter_for};
use proptest::prelude::*;
use serde_json::{Value, json};
use support::{
    Acceptable, aggregate, arbitrary_bytes, assistant_with_calls, bytewise, cuts_agree, events,
    finish, fixture, never_panics, prefix, streamed_every_way, tool_choice_request, usage, whole,
};

const DIR: &str = "anthropic";
const SSE: Option<&str> = Some("text/event-stream; charset=utf-8");
const ACCEPTABLE: Acceptable = Acceptable::DecodeOrClassified(Provider::Anthropic);

fn adapter() -> Anthropic {
    Anthropic::new(Provider::Anthropic)
}

/// Decodes a recorded stream whole, byte by byte and in random splits, checks that
/// all give the same events, and returns the aggregated response.
fn stream(name: &str) -> ChatResponse {
    streamed_every_way(&adapter(), SSE, name, &fixture(DIR, name))
}

// ---------------------------------------------------------------------------------
// Non-streamed bodies

#[test]
fn decodes_thinking_and_text() {
    let r = adapter().decode(&fixture(DIR, "thinking.json")).unwrap();
    assert_eq!(r.id.as_deref(), Some("msg_018FL8HcL7Drnk15RmEe3dsK"));
    assert_eq!(r.model.as_deref(), Some("claude-sonnet-4-5-20250929"));
    assert_eq!(
        r.text,
        "Thinking through it:\n- 17 × 23\n- = 17 × 20 + 17 × 3\n- = 340 + 51\n- = **391**"
    );
    assert!(r.reasoning.starts_with("Let me calculate 17 * 23."));
    assert!(r.reasoning.ends_with("Let me verify: 391"));
    assert!(r.tool_calls.is_empty());
    assert_eq!(r.finish_reason, finish(FinishKind::Stop, "end_turn"));
    assert_eq!(
        r.usage,
        Some(Usage {
            input_tokens: 51,
            output_tokens: 162,
            reasoning_tokens: 112,
            ..Usage::default()
        })
    );
}

#[test]
fn cache_creation_counts_as_input_and_as_cache_write() {
    let r = adapter().decode(&fixture(DIR, "cache_write.json")).unwrap();
    assert_eq!(r.text, "OK");
    assert_eq!(
        r.usage,
        Some(Usage {
            input_tokens: 2 + 1590,
            output_tokens: 4,
            cached_input_tokens: 0,
            cache_write_tokens: 1590,
            reasoning_tokens: 0,
        })
    );
    assert_eq!(r.usage.unwrap().uncached_input_tokens(), 2);
}

#[test]
fn cache_read_counts_as_input_and_as_cached() {
    let r = adapter().decode(&fixture(DIR, "cache_read.json")).unwrap();
    assert_eq!(
        r.usage,
        Some(Usage {
            input_tokens: 2 + 1590,
            output_tokens: 4,
            cached_input_tokens: 1590,
            cache_write_tokens: 0,
            reasoning_tokens: 0,
        })
    );
    assert_eq!(r.finish_reason, finish(FinishKind::Stop, "end_turn"));
}

#[test]
fn decodes_text_then_tool_use() {
    let r = adapter()
        .decode(&fixture(DIR, "text_and_tool_use.json"))
        .unwrap();
    assert_eq!(r.model.as_deref(), Some("claude-opus-4-8"));
    assert_eq!(
        r.text,
        "I'll load the refunds capability first, then look up the refund policy."
    );
    assert_eq!(
        r.tool_calls,
        vec![ToolCall::from_value(
            Some("toolu_01GqcuZ6yt7Xcywhp2ru46rB".into()),
            "load_capability",
            json!({"id": "refunds"})
        )]
    );
    assert_eq!(r.finish_reason, finish(FinishKind::ToolCalls, "tool_use"));
    assert_eq!(r.usage, Some(usage(920, 72)));
}

#[test]
fn server_tool_blocks_are_not_tool_calls() {
    let r = adapter()
        .decode(&fixture(DIR, "server_tool_search.json"))
        .unwrap();
    assert!(r.tool_calls.is_empty(), "{:?}", r.tool_calls);
    assert!(
        r.text
            .starts_with("I tried to use a tool called `search_tools`")
    );
    assert!(r.text.contains(
        "Let me use the correct tool to find the exchange-rate tool.The available exchange-rate tool is **`lookup_exchange_rate`**."
    ));
    assert_eq!(r.finish_reason, finish(FinishKind::Stop, "end_turn"));
    assert_eq!(r.usage, Some(usage(2001, 204)));
}

#[test]
fn decodes_count_tokens() {
    assert_eq!(
        adapter()
            .decode_count_tokens(&fixture(DIR, "count_tokens.json"))
            .unwrap(),
        671
    );
    let err = adapter().decode_count_tokens(b"{}").unwrap_err();
    assert_eq!(err.kind, ErrorKind::Decode);
}

#[test]
fn error_body_in_a_200_is_classified() {
    let body = br#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#;
    let err = adapter().decode(body).unwrap_err();
    assert_eq!(err.kind, ErrorKind::Overloaded);
    assert_eq!(err.code.as_deref(), Some("overloaded_error"));
    assert_eq!(err.provider, Some(Provider::Anthropic));
    let err = adapter().decode(b"not json").unwrap_err();
    assert_eq!(err.kind, ErrorKind::Decode);
    let err = adapter().decode(b"{\"id\":\"x\"}").unwrap_err();
    assert_eq!(err.kind, ErrorKind::Decode);
}

#[test]
fn stop_reasons_map_to_finish_kinds() {
    for (raw, kind) in [
        ("end_turn", FinishKind::Stop),
        ("stop_sequence", FinishKind::Stop),
        ("max_tokens", FinishKind::Length),
        ("tool_use", FinishKind::ToolCalls),
        ("refusal", FinishKind::ContentFilter),
        ("pause_turn", FinishKind::Other),
        ("something_new", FinishKind::Other),
    ] {
        let body = json!({"id": "m", "type": "message", "content": [], "stop_reason": raw});
        let r = adapter().decode(body.to_string().as_bytes()).unwrap();
        assert_eq!(r.finish_reason, finish(kind, raw), "{raw}");
        assert_eq!(r.usage, None);
    }
}

// ---------------------------------------------------------------------------------
// Streams

#[test]
fn test_stream_events_text() {
    let r = stream("stream_events_text.sse");
    assert_eq!(
        r,
        ChatResponse {
            id: Some("msg_01T8kTq7cYyYJeQ5DxcVUc6D".into()),
            model: Some("claude-haiku-4-5-20251001".into()),
            text: "Hello".into(),
            usage: Some(usage(10, 4)),
            finish_reason: finish(FinishKind::Stop, "end_turn"),
            ..ChatResponse::default()
        }
    );
}

#[test]
fn test_stream_events_thinking() {
    let body = fixture(DIR, "stream_events_thinking.sse");
    let r = stream("stream_events_thinking.sse");
    assert_eq!(r.id.as_deref(), Some("msg_01Eg56TYRnKCEgWtZu2yjR1t"));
    assert_eq!(
        r.text,
        "1. **Pouch** - references their iconic bill pouch\n2. **Pelé** - playful take on \"pelican\""
    );
    assert!(
        r.reasoning
            .starts_with("The user wants two names for a pet pelican")
    );
    assert!(
        r.reasoning
            .ends_with("Let me give two brief, catchy names:")
    );
    assert_eq!(r.reasoning.chars().count(), 289);
    assert!(r.tool_calls.is_empty());
    assert_eq!(r.usage, Some(usage(46, 133)));
    assert_eq!(r.finish_reason, finish(FinishKind::Stop, "end_turn"));
    // The signature is not text.
    assert!(!r.reasoning.contains("EuYDCmMIDBgCKkC05"));
    // Reasoning comes before text, as on the wire.
    let events = events(&adapter(), SSE, &body);
    let first_reasoning = events
        .iter()
        .position(|e| matches!(e, StreamEvent::ReasoningDelta(_)));
    let first_text = events
        .iter()
        .position(|e| matches!(e, StreamEvent::TextDelta(_)));
    assert!(first_reasoning < first_text);
}

#[test]
fn test_parts_thinking() {
    let r = stream("parts_thinking.sse");
    assert_eq!(r.model.as_deref(), Some("claude-haiku-4-5-20251001"));
    assert_eq!(
        r.text,
        "1. **Pouch** – references their distinctive bill pouch\n2. **Captain Bill** – nautical and fun"
    );
    assert!(
        r.reasoning
            .starts_with("The user wants two names for a pet pelican and wants me to b")
    );
    assert_eq!(r.reasoning.chars().count(), 674);
    assert_eq!(r.usage, Some(usage(46, 234)));
    assert_eq!(r.finish_reason, finish(FinishKind::Stop, "end_turn"));
}

#[test]
fn redacted_thinking_stream_adds_no_text() {
    let r = stream("redacted_thinking.sse");
    assert_eq!(r.model.as_deref(), Some("claude-sonnet-4-5-20250929"));
    assert!(
        r.text
            .starts_with("I notice that you've sent what appears to be some kind of test string")
    );
    assert!(
        r.text
            .ends_with("How can I assist you today with a legitimate task or question?")
    );
    assert!(!r.text.contains("EqkECkYIBxgCKkA8"));
    assert!(r.reasoning.is_empty());
    assert_eq!(r.usage, Some(usage(92, 189)));
    assert_eq!(r.finish_reason, finish(FinishKind::Stop, "end_turn"));
}

#[test]
fn test_stream_events_tool_calls() {
    let body = fixture(DIR, "stream_events_tool_calls.sse");
    let r = stream("stream_events_tool_calls.sse");
    assert_eq!(r.text, "");
    // The call's only input_json_delta is empty: the arguments are the start block's
    // `{}`, exactly as the non-streamed form gives them.
    assert_eq!(
        r.tool_calls,
        vec![ToolCall::from_value(
            Some("toolu_01CzN6riCPqw4pVSuTd9Dwn7".into()),
            "pelican_name_generator",
            json!({})
        )]
    );
    assert_eq!(r.finish_reason, finish(FinishKind::ToolCalls, "tool_use"));
    assert_eq!(r.usage, Some(usage(543, 40)));
    let events = events(&adapter(), SSE, &body);
    assert!(events.contains(&StreamEvent::ToolCallStart {
        index: 0,
        id: Some("toolu_01CzN6riCPqw4pVSuTd9Dwn7".into()),
        name: "pelican_name_generator".into(),
    }));
    assert!(events.contains(&StreamEvent::ToolCallDelta {
        index: 0,
        arguments: "{}".into(),
    }));
}

#[test]
fn two_tool_calls_in_one_stream() {
    let r = stream("tools.sse");
    assert_eq!(
        r.tool_calls,
        vec![
            ToolCall::from_value(
                Some("toolu_01LtHJmixrs9NcWQkK8hu8hj".into()),
                "pelican_name_generator",
                json!({})
            ),
            ToolCall::from_value(
                Some("toolu_01N8a4jWyf116qKTMqKKmjyt".into()),
                "pelican_name_generator",
                json!({})
            ),
        ]
    );
    assert_eq!(r.finish_reason, finish(FinishKind::ToolCalls, "tool_use"));
    assert_eq!(r.usage, Some(usage(542, 62)));
}

#[test]
fn thinking_then_tool_call_reports_thinking_tokens() {
    let r = stream("tool_chain_thinking.sse");
    assert!(
        r.reasoning
            .starts_with("The user wants me to:\n1. Use the fixed_version tool")
    );
    assert_eq!(r.tool_calls.len(), 1);
    assert_eq!(r.tool_calls[0].name, "fixed_version");
    assert_eq!(
        r.tool_calls[0].id.as_deref(),
        Some("toolu_01825dXWLSoJwCst1qTsiWdb")
    );
    assert_eq!(r.tool_calls[0].arguments, json!({}));
    assert_eq!(
        r.usage,
        Some(Usage {
            input_tokens: 598,
            output_tokens: 92,
            reasoning_tokens: 53,
            ..Usage::default()
        })
    );
}

#[test]
fn test_web_search() {
    let r = stream("web_search.sse");
    assert_eq!(r.model.as_deref(), Some("claude-opus-4-1-20250805"));
    // The server_tool_use block and its input_json_deltas are not client tool calls.
    assert!(r.tool_calls.is_empty(), "{:?}", r.tool_calls);
    assert!(r.text.starts_with(
        "Based on the search results, here's the current weather in San Francisco:\n\nToday (November 15, 2025)"
    ));
    assert!(
        r.text
            .ends_with("with a Level 1 storm system bringing periods of rain this weekend.")
    );
    assert!(!r.text.contains("San Francisco weather today\"}"));
    // message_delta reports the input of the whole server-side loop; it replaces the
    // message_start figure.
    assert_eq!(r.usage, Some(usage(10423, 341)));
    assert_eq!(r.finish_reason, finish(FinishKind::Stop, "end_turn"));
    let events = events(&adapter(), SSE, &fixture(DIR, "web_search.sse"));
    assert!(!events.iter().any(|e| matches!(
        e,
        StreamEvent::ToolCallStart { .. } | StreamEvent::ToolCallDelta { .. }
    )));
}

#[test]
fn stop_sequence_stream() {
    let r = stream("prefill_stop_sequences.sse");
    assert_eq!(
        r.text,
        "\ndef pelican():\n    return \"A large waterbird with a long bill and a throat pouch for catching fish.\"\n"
    );
    assert_eq!(r.finish_reason, finish(FinishKind::Stop, "stop_sequence"));
    assert_eq!(r.usage, Some(usage(16, 28)));
}

#[test]
fn usage_is_emitted_merged_each_time() {
    let events = events(&adapter(), SSE, &fixture(DIR, "web_search.sse"));
    let usages: Vec<Usage> = events
        .iter()
        .filter_map(|e| match e {
            StreamEvent::Usage(u) => Some(*u),
            _ => None,
        })
        .collect();
    assert_eq!(usages, vec![usage(2039, 1), usage(10423, 341)]);
}

/// A tool call whose input arrives in `input_json_delta` fragments, as the Messages
/// streaming documentation shows it (hand-written; no recording streams non-empty
/// client tool input).
#[test]
fn input_json_deltas_join_into_arguments() {
    let body = concat!(
        "event: message_start\n",
        "data: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"model\":\"claude-x\",\"content\":[],\"usage\":{\"input_tokens\":10,\"cache_read_input_tokens\":90,\"cache_creation_input_tokens\":5,\"output_tokens\":1}}}\n\n",
        "event: content_block_start\n",
        "data: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"Checking.\"}}\n\n",
        "event: content_block_stop\n",
        "data: {\"type\":\"content_block_stop\",\"index\":0}\n\n",
        "event: content_block_start\n",
        "data: {\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":\"tool_use\",\"id\":\"toolu_1\",\"name\":\"get_weather\",\"input\":{}}}\n\n",
        "event: content_block_delta\n",
        "data: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"\"}}\n\n",
        "event: content_block_delta\n",
        "data: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"city\\\": \\\"Pa\"}}\n\n",
        "event: content_block_delta\n",
        "data: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"ris\\\"}\"}}\n\n",
        "event: content_block_stop\n",
        "data: {\"type\":\"content_block_stop\",\"index\":1}\n\n",
        "event: message_delta\n",
        "data: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\"},\"usage\":{\"output_tokens\":25}}\n\n",
        "event: message_stop\n",
        "data: {\"type\":\"message_stop\"}\n\n",
    );
    let events = events(&adapter(), SSE, body.as_bytes());
    let (bytes, err) = bytewise(&adapter(), SSE, body.as_bytes());
    assert!(err.is_none());
    assert_eq!(bytes, events);
    let r = aggregate(&events);
    assert_eq!(r.text, "Checking.");
    assert_eq!(
        r.tool_calls,
        vec![ToolCall::from_value(
            Some("toolu_1".into()),
            "get_weather",
            json!({"city": "Paris"})
        )]
    );
    // message_delta repeats only output_tokens; the input and cache counts of
    // message_start stay.
    assert_eq!(
        r.usage,
        Some(Usage {
            input_tokens: 105,
            output_tokens: 25,
            cached_input_tokens: 90,
            cache_write_tokens: 5,
            reasoning_tokens: 0,
        })
    );
}

// ---------------------------------------------------------------------------------
// Errors inside a 200 stream

const OVERLOADED_STREAM: &str = concat!(
    "event: message_start\n",
    "data: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_2\",\"model\":\"claude-x\",\"content\":[],\"usage\":{\"input_tokens\":3,\"output_tokens\":1}}}\n\n",
    "event: content_block_start\n",
    "data: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n",
    "event: content_block_delta\n",
    "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hel\"}}\n\n",
    "event: error\n",
    "data: {\"type\": \"error\", \"error\": {\"type\": \"overloaded_error\", \"message\": \"Overloaded\"}    }\n\n",
);

#[test]
fn error_event_in_a_200_stream_is_classified() {
    for (events, err) in [
        whole(&adapter(), SSE, OVERLOADED_STREAM.as_bytes()),
        bytewise(&adapter(), SSE, OVERLOADED_STREAM.as_bytes()),
    ] {
        let err = err.expect("the stream must fail");
        assert_eq!(err.kind, ErrorKind::Overloaded);
        assert!(err.retryable());
        assert_eq!(err.provider, Some(Provider::Anthropic));
        assert_eq!(err.code.as_deref(), Some("overloaded_error"));
        // The text before the error is still delivered.
        assert_eq!(aggregate(&events).text, "Hel");
    }
}

#[test]
fn a_failed_stream_stays_failed() {
    let mut decoder = adapter().stream_decoder(SSE);
    let first = decoder.feed(OVERLOADED_STREAM.as_bytes()).unwrap();
    assert!(!first.is_empty());
    assert_eq!(decoder.feed(b"").unwrap_err().kind, ErrorKind::Overloaded);
    assert_eq!(decoder.finish().unwrap_err().kind, ErrorKind::Overloaded);
}

#[test]
fn malformed_frame_is_a_decode_error() {
    let (_, err) = whole(
        &adapter(),
        SSE,
        b"event: content_block_delta\ndata: {\"type\":\n\n",
    );
    assert_eq!(err.unwrap().kind, ErrorKind::Decode);
    let (_, err) = whole(
        &adapter(),
        SSE,
        b"data: {\"type\":\"content_block_delta\",\"delta\":{}}\n\n",
    );
    assert_eq!(err.unwrap().kind, ErrorKind::Decode);
}

// ---------------------------------------------------------------------------------
// Reasoning state: thinking blocks and their signatures

fn thinking_item(text: usize, tool_calls: usize, block: Value) -> ReasoningItem {
    ReasoningItem::new(
        Provider::Anthropic,
        ReasoningFormat::AnthropicMessages,
        ReasoningAnchor::Standalone { text, tool_calls },
        block,
    )
}

#[test]
fn thinking_blocks_are_reasoning_items() {
    let body: Value = serde_json::from_slice(&fixture(DIR, "thinking.json")).unwrap();
    let r = adapter().decode(&fixture(DIR, "thinking.json")).unwrap();
    assert_eq!(
        r.reasoning_items,
        vec![thinking_item(0, 0, body["content"][0].clone())]
    );
    assert!(
        r.reasoning_items[0].data["signature"]
            .as_str()
            .unwrap()
            .starts_with("Eo4DCm4IDxgCKkDsL")
    );
}

#[test]
fn streamed_thinking_signature_comes_from_signature_deltas() {
    let r = stream("tool_chain_thinking.sse");
    assert_eq!(r.reasoning_items.len(), 1);
    let block = &r.reasoning_items[0].data;
    assert_eq!(block["type"], "thinking");
    assert_eq!(block["thinking"], json!(r.reasoning));
    assert!(
        block["signature"]
            .as_str()
            .unwrap()
            .starts_with("EoQDCm0IDhgCKkCDzGs2")
    );
    assert!(
        block["signature"]
            .as_str()
            .unwrap()
            .ends_with("hANWRjSBwUxgB")
    );
    assert_eq!(
        r.reasoning_items[0].anchor,
        ReasoningAnchor::Standalone {
            text: 0,
            tool_calls: 0
        }
    );
    // The signature is not reasoning text.
    assert!(!r.reasoning.contains("EoQDCm0I"));
}

#[test]
fn redacted_thinking_blocks_are_kept_whole() {
    let r = stream("redacted_thinking.sse");
    assert_eq!(r.reasoning_items.len(), 2);
    for item in &r.reasoning_items {
        assert_eq!(item.data["type"], "redacted_thinking");
        assert!(item.data["data"].as_str().unwrap().len() > 100);
        assert_eq!(item.anchor, ReasoningAnchor::default());
    }
}

/// Text, a thinking block, more text, then a tool call: the order adaptive thinking
/// can produce, streamed and as a body.
fn interleaved() -> (String, Value) {
    let frames = [
        json!({"type": "message_start", "message": {"id": "msg_1", "model": "claude-opus-4-6", "usage": {"input_tokens": 5, "output_tokens": 1}}}),
        json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
        json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hé"}}),
        json!({"type": "content_block_stop", "index": 0}),
        json!({"type": "content_block_start", "index": 1, "content_block": {"type": "thinking", "thinking": "", "signature": ""}}),
        json!({"type": "content_block_delta", "index": 1, "delta": {"type": "thinking_delta", "thinking": "Let me "}}),
        json!({"type": "content_block_delta", "index": 1, "delta": {"type": "thinking_delta", "thinking": "look."}}),
        json!({"type": "content_block_delta", "index": 1, "delta": {"type": "signature_delta", "signature": "c2ln"}}),
        json!({"type": "content_block_delta", "index": 1, "delta": {"type": "signature_delta", "signature": "bmF0dXJl"}}),
        json!({"type": "content_block_stop", "index": 1}),
        json!({"type": "content_block_start", "index": 2, "content_block": {"type": "redacted_thinking", "data": "cmVkYWN0ZWQ="}}),
        json!({"type": "content_block_stop", "index": 2}),
        json!({"type": "content_block_start", "index": 3, "content_block": {"type": "text", "text": ""}}),
        json!({"type": "content_block_delta", "index": 3, "delta": {"type": "text_delta", "text": " there"}}),
        json!({"type": "content_block_stop", "index": 3}),
        json!({"type": "content_block_start", "index": 4, "content_block": {"type": "tool_use", "id": "toolu_1", "name": "f", "input": {}}}),
        json!({"type": "content_block_delta", "index": 4, "delta": {"type": "input_json_delta", "partial_json": "{\"a\":"}}),
        json!({"type": "content_block_delta", "index": 4, "delta": {"type": "input_json_delta", "partial_json": "1}"}}),
        json!({"type": "content_block_stop", "index": 4}),
        json!({"type": "message_delta", "delta": {"stop_reason": "tool_use"}, "usage": {"output_tokens": 9}}),
        json!({"type": "message_stop"}),
    ];
    let sse = frames
        .iter()
        .map(|f| format!("event: {}\ndata: {f}\n\n", f["type"].as_str().unwrap()))
        .collect();
    let body = json!({
        "id": "msg_1", "model": "claude-opus-4-6", "type": "message", "role": "assistant",
        "content": [
            {"type": "text", "text": "Hé"},
            {"type": "thinking", "thinking": "Let me look.", "signature": "c2lnbmF0dXJl"},
            {"type": "redacted_thinking", "data": "cmVkYWN0ZWQ="},
            {"type": "text", "text": " there"},
            {"type": "tool_use", "id": "toolu_1", "name": "f", "input": {"a": 1}}
        ],
        "stop_reason": "tool_use",
        "usage": {"input_tokens": 5, "output_tokens": 9}
    });
    (sse, body)
}

#[test]
fn streamed_thinking_equals_the_body_and_keeps_its_place() {
    let (sse, body) = interleaved();
    let streamed = streamed_every_way(&adapter(), SSE, "interleaved", sse.as_bytes());
    let decoded = adapter().decode(body.to_string().as_bytes()).unwrap();
    assert_eq!(streamed, decoded);
    let text_before = "Hé".len();
    assert_eq!(
        decoded.reasoning_items,
        vec![
            thinking_item(text_before, 0, body["content"][1].clone()),
            thinking_item(text_before, 0, body["content"][2].clone()),
        ]
    );
    // Sent back, the turn is the content array as it came.
    let request = ChatRequest::new("claude-opus-4-6")
        .user("Hi")
        .message(decoded.to_message())
        .message(Message::tool_result("toolu_1", "ok"));
    let encoded = encode(&request);
    assert_eq!(encoded["messages"][1]["content"], body["content"]);
    assert_eq!(encoded["messages"][2]["content"][0]["type"], "tool_result");
}

#[test]
fn a_thinking_block_cut_off_is_not_sent() {
    let (sse, _) = interleaved();
    let cut = sse.find("signature_delta").unwrap();
    let (events, _) = whole(&adapter(), SSE, &sse.as_bytes()[..cut]);
    assert!(aggregate(&events).reasoning_items.is_empty());
}

#[test]
fn reasoning_of_other_providers_is_dropped() {
    let foreign = [
        ReasoningItem::new(
            Provider::Gemini,
            ReasoningFormat::Gemini,
            ReasoningAnchor::ToolCall { index: 0 },
            json!({"thoughtSignature": "Z2VtaW5p"}),
        ),
        ReasoningItem::new(
            Provider::OpenAi,
            ReasoningFormat::OpenAiResponses,
            ReasoningAnchor::default(),
            json!({"type": "reasoning", "id": "rs_1", "summary": []}),
        ),
        // Anthropic's block shape, read by another provider's adapter.
        ReasoningItem::new(
            Provider::OpenRouter,
            ReasoningFormat::AnthropicMessages,
            ReasoningAnchor::default(),
            json!({"type": "thinking", "thinking": "x", "signature": "eA=="}),
        ),
    ];
    let message = Message {
        reasoning_items: foreign.to_vec(),
        ..assistant_with_calls(
            "",
            vec![ToolCall::from_value(Some("toolu_1".into()), "f", json!({}))],
        )
    };
    let encoded = encode(&ChatRequest::new("m").user("Hi").message(message));
    assert_eq!(
        encoded["messages"][1]["content"],
        json!([{"type": "tool_use", "id": "toolu_1", "name": "f", "input": {}}])
    );
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
        encode(&ChatRequest::new("claude-sonnet-4-5").user("Hello"))
    );
}

#[test]
fn encode_system_and_multipart() {
    let user = Message {
        content: vec![
            ContentPart::text("What is in these images?"),
            ContentPart::image_url("https://example.com/pelican.png"),
            ContentPart::image_base64("image/png", "iVBORw0KGgo="),
            ContentPart::image_url("data:image/jpeg;base64,/9j/4AAQ"),
        ],
        ..Message::user("")
    };
    let request = ChatRequest::new("claude-sonnet-4-5")
        .system("Be terse.")
        .system("Answer in English.")
        .message(user);
    insta::assert_json_snapshot!("encode_system_multipart", encode(&request));
}

#[test]
fn encode_tools_and_tool_choice() {
    let request = tool_choice_request("claude-sonnet-4-5");
    insta::assert_json_snapshot!("encode_tools_tool_choice", encode(&request));
    for (choice, expected) in [
        (ToolChoice::Auto, json!({"type": "auto"})),
        (ToolChoice::Required, json!({"type": "any"})),
        (ToolChoice::None, json!({"type": "none"})),
    ] {
        let r = request.clone().tool_choice(choice);
        assert_eq!(encode(&r)["tool_choice"], expected);
    }
}

#[test]
fn encode_tool_history() {
    let request = ChatRequest::new("claude-sonnet-4-5")
        .system("Use the tools.")
        .user("Weather in Paris and in Rome?")
        .message(assistant_with_calls(
            "Checking both.",
            vec![
                ToolCall::from_value(
                    Some("toolu_a".into()),
                    "get_weather",
                    json!({"city": "Paris"}),
                ),
                ToolCall::from_raw(Some("toolu_b".into()), "get_weather", "{\"city\":\"Rome\"}"),
            ],
        ))
        .message(Message::tool_result("toolu_a", "18°C, cloudy"))
        .message(Message::tool_result("toolu_b", "25°C, sunny"))
        .message(assistant_with_calls(
            "",
            vec![ToolCall::from_value(
                Some("toolu_c".into()),
                "get_time",
                json!({}),
            )],
        ))
        .message(Message::tool_result("toolu_c", "12:00"))
        .user("Thanks. Which is warmer?");
    let body = encode(&request);
    insta::assert_json_snapshot!("encode_tool_history", body);
    // The two results answer one assistant turn and share one user message.
    assert_eq!(body["messages"][2]["content"].as_array().unwrap().len(), 2);
}

#[test]
fn encode_json_schema_output() {
    let request = ChatRequest::new("claude-sonnet-4-5")
        .user("Invent a dog")
        .response_format(ResponseFormat::JsonSchema {
            name: "dog".into(),
            schema: json!({
                "type": "object",
                "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
                "required": ["name", "age"],
                "additionalProperties": false
            }),
            strict: Some(true),
        });
    insta::assert_json_snapshot!("encode_json_schema", encode(&request));
    let err = adapter()
        .encode(
            &ChatRequest::new("m")
                .user("x")
                .response_format(ResponseFormat::JsonObject),
        )
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Unsupported);
}

#[test]
fn encode_thinking_budget() {
    let mut request = ChatRequest::new("claude-sonnet-4-5").user("17 * 23?");
    request.thinking_budget = Some(2048);
    insta::assert_json_snapshot!("encode_thinking_budget", encode(&request));
    // A budget at or above the default leaves room for the answer.
    request.thinking_budget = Some(10_000);
    assert_eq!(encode(&request)["max_tokens"], 14_096);
    request.max_tokens = Some(12_000);
    assert_eq!(encode(&request)["max_tokens"], 12_000);
}

#[test]
fn encode_streaming_with_extra() {
    let mut request = ChatRequest::new("claude-sonnet-4-5")
        .user("Hi")
        .streaming(true);
    request
        .extra
        .insert("metadata".into(), json!({"user_id": "u-1"}));
    request.extra.insert("max_tokens".into(), json!(100));
    let body = encode(&request);
    insta::assert_json_snapshot!("encode_streaming", body);
    assert_eq!(body["max_tokens"], 100, "extra fields are merged last");
}

#[test]
fn tool_results_need_an_id() {
    let mut result = Message::tool_result("x", "y");
    result.tool_call_id = None;
    let err = adapter()
        .encode(&ChatRequest::new("m").user("q").message(result))
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::BadRequest);
    let call = assistant_with_calls("", vec![ToolCall::from_value(None, "f", json!({}))]);
    let err = adapter()
        .encode(&ChatRequest::new("m").user("q").message(call))
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::BadRequest);
}

// ---------------------------------------------------------------------------------
// Building requests

#[test]
fn build_sets_url_and_headers() {
    let endpoint = Endpoint::anthropic()
        .with_api_key(Secret::new("test-key-123"))
        .with_header("anthropic-beta", "prompt-caching-2024-07-31");
    let adapter = adapter_for(&endpoint);
    let wire = adapter
        .build(&endpoint, &ChatRequest::new("claude-sonnet-4-5").user("Hi"))
        .unwrap();
    assert_eq!(wire.method, http::Method::POST);
    assert_eq!(wire.url, "https://api.anthropic.com/v1/messages");
    assert_eq!(wire.headers["x-api-key"], "test-key-123");
    assert!(wire.headers["x-api-key"].is_sensitive());
    assert_eq!(wire.headers["anthropic-version"], "2023-06-01");
    assert_eq!(wire.headers["content-type"], "application/json");
    assert_eq!(wire.headers["anthropic-beta"], "prompt-caching-2024-07-31");
    assert_eq!(wire.body["messages"][0]["role"], "user");

    let mut custom = endpoint.clone().with_base_url("http://127.0.0.1:9/v1/");
    custom.api_version = None;
    let wire = adapter
        .build(&custom, &ChatRequest::new("m").user("Hi"))
        .unwrap();
    assert_eq!(wire.url, "http://127.0.0.1:9/v1/messages");
    assert_eq!(wire.headers["anthropic-version"], "2023-06-01");
    custom.api_version = Some("2024-01-01".into());
    let wire = adapter
        .build(&custom, &ChatRequest::new("m").user("Hi"))
        .unwrap();
    assert_eq!(wire.headers["anthropic-version"], "2024-01-01");

    let bearer = Endpoint::anthropic()
        .with_auth(AuthStyle::Bearer)
        .with_api_key(Secret::new("oauth-token"));
    let wire = adapter
        .build(&bearer, &ChatRequest::new("m").user("Hi"))
        .unwrap();
    assert_eq!(wire.headers["authorization"], "Bearer oauth-token");
    assert!(!wire.headers.contains_key("x-api-key"));
}

#[test]
fn count_tokens_request_drops_generation_fields() {
    let endpoint = Endpoint::anthropic().with_api_key(Secret::new("k"));
    let request = ChatRequest::new("claude-opus-4-6")
        .system("Be brief.")
        .user("What is the capital of France?")
        .tool(ToolSpec::new("final_result", json!({"type": "object"})))
        .temperature(0.5)
        .max_tokens(100)
        .streaming(true);
    let wire = adapter().count_tokens_request(&endpoint, &request).unwrap();
    assert_eq!(
        wire.url,
        "https://api.anthropic.com/v1/messages/count_tokens"
    );
    assert_eq!(wire.headers["x-api-key"], "k");
    assert_eq!(
        wire.body,
        json!({
            "model": "claude-opus-4-6",
            "system": "Be brief.",
            "messages": [{"role": "user", "content": [{"type": "text", "text": "What is the capital of France?"}]}],
            "tools": [{"name": "final_result", "input_schema": {"type": "object"}}]
        })
    );
}

#[test]
fn roles_round_trip_through_the_wire() {
    let body = encode(
        &ChatRequest::new("m")
            .user("a")
            .assistant("b")
            .message(Message::text(Role::User, "c")),
    );
    let roles: Vec<&str> = body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["user", "assistant", "user"]);
}

// ---------------------------------------------------------------------------------
// Properties

const RECORDED: [&str; 9] = [
    "stream_events_text.sse",
    "stream_events_thinking.sse",
    "parts_thinking.sse",
    "stream_events_tool_calls.sse",
    "tools.sse",
    "tool_chain_thinking.sse",
    "web_search.sse",
    "redacted_thinking.sse",
    "prefill_stop_sequences.sse",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in arbitrary_bytes(), cut in 0usize..512) {
        let (a, b) = bytes.split_at(cut.min(bytes.len()));
        never_panics(&adapter(), SSE, [a, b], ACCEPTABLE, Some(ACCEPTABLE))?;
    }

    #[test]
    fn sse_shaped_garbage_never_panics(
        frames in proptest::collection::vec(
            prop_oneof![
                Just("message_start".to_string()),
                Just("content_block_start".to_string()),
                Just("content_block_delta".to_string()),
                Just("content_block_stop".to_string()),
                Just("message_delta".to_string()),
                Just("error".to_string()),
                "[a-z_]{0,12}",
            ].prop_flat_map(|ty| (Just(ty), any::<Option<u8>>(), "[ -~]{0,20}", 0usize..4)),
            0..12,
        )
    ) {
        const BLOCKS: [&str; 4] = ["tool_use", "thinking", "redacted_thinking", "text"];
        const DELTAS: [&str; 4] = ["input_json_delta", "thinking_delta", "signature_delta", "text_delta"];
        let mut body = String::new();
        for (ty, index, text, kind) in frames {
            let index = index.map(|i| json!(i)).unwrap_or(json!(null));
            // Odd kinds give the thinking fields values of the wrong type.
            let odd = if kind % 2 == 1 { json!(index) } else { json!(text) };
            let data = json!({
                "type": ty, "index": index,
                "content_block": {"type": BLOCKS[kind], "id": text, "name": text, "input": text, "thinking": odd, "signature": odd},
                "delta": {"type": DELTAS[kind], "partial_json": text, "text": text, "stop_reason": text, "thinking": odd, "signature": odd},
                "usage": {"input_tokens": index, "output_tokens": text},
                "message": {"id": text, "usage": text},
            });
            body.push_str(&format!("event: {ty}\ndata: {data}\n\n"));
        }
        never_panics(&adapter(), SSE, [body.as_bytes()], ACCEPTABLE, None)?;
        // Whatever was decoded can be sent back.
        let (events, _) = whole(&adapter(), SSE, body.as_bytes());
        let request = ChatRequest::new("m").user("Hi").message(aggregate(&events).to_message());
        let _ = adapter().encode(&request);
    }

    #[test]
    fn truncated_recorded_streams_never_panic(which in 0usize..RECORDED.len(), cut in any::<prop::sample::Index>()) {
        let body = fixture(DIR, RECORDED[which]);
        never_panics(&adapter(), SSE, [prefix(&body, cut)], Acceptable::Decode, Some(ACCEPTABLE))?;
    }

    #[test]
    fn recorded_streams_split_anywhere_give_the_same_events(which in 0usize..RECORDED.len(), cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..6)) {
        cuts_agree(&adapter(), SSE, &fixture(DIR, RECORDED[which]), &cuts)?;
    }
}

// ---------------------------------------------------------------------------------
// Usage on errors

/// The first `n` events of the real recording `stream_events_text.sse`, then an
/// `event: error` frame. No recording in `cassettes/` has an error event, so the
/// error frame is reconstructed from Anthropic's documented wire format (an SSE
/// `error` event whose data is `{"type":"error","error":{"type","message"}}`, sent
/// with HTTP 200 after `message_start`).
fn real_events_then_overloaded(n: usize) -> Vec<u8> {
    let recorded = String::from_utf8(fixture(DIR, "stream_events_text.sse")).unwrap();
    let mut out: String = recorded
        .split_inclusive("\n\n")
        .take(n)
        .collect::<Vec<_>>()
        .concat();
    out.push_str("event: error\n");
    out.push_str(
        "data: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n",
    );
    out.into_bytes()
}

#[test]
fn an_error_after_message_start_keeps_its_input_tokens() {
    // message_start only: `usage` {input_tokens: 10, output_tokens: 2}.
    let body = real_events_then_overloaded(1);
    for (events, err) in [
        whole(&adapter(), SSE, &body),
        bytewise(&adapter(), SSE, &body),
    ] {
        let err = err.expect("the stream must fail");
        assert_eq!(err.kind, ErrorKind::Overloaded);
        assert_eq!(err.usage(), Some(usage(10, 2)));
        // No content had arrived: no partial response on the decoder's error.
        assert!(err.partial().is_none());
        assert!(aggregate(&events).text.is_empty());
    }
}

#[test]
fn an_error_after_message_delta_keeps_its_output_tokens() {
    // message_start, content_block_start, ping, the "Hello" delta,
    // content_block_stop and message_delta (`usage.output_tokens: 4`); no
    // message_stop.
    let body = real_events_then_overloaded(6);
    let (events, err) = whole(&adapter(), SSE, &body);
    let err = err.expect("the stream must fail");
    assert_eq!(err.usage(), Some(usage(10, 4)));
    // Folding the events and the error gives the partial answer with that usage.
    let mut acc = llmvcr_core::StreamAccumulator::new();
    events.iter().for_each(|e| acc.push(e));
    let err = acc.fail(err);
    assert_eq!(err.usage(), Some(usage(10, 4)));
    let partial = err.partial().cloned().expect("text had arrived");
    assert_eq!(partial.text, "Hello");
    assert_eq!(partial.usage, Some(usage(10, 4)));
}

#[test]
fn the_error_of_a_failed_stream_keeps_its_usage_on_every_later_call() {
    let mut decoder = adapter().stream_decoder(SSE);
    let first = decoder.feed(OVERLOADED_STREAM.as_bytes()).unwrap();
    assert!(first.contains(&StreamEvent::Usage(usage(3, 1))));
    assert_eq!(decoder.feed(b"").unwrap_err().usage(), Some(usage(3, 1)));
    assert_eq!(decoder.finish().unwrap_err().usage(), Some(usage(3, 1)));
}

#[test]
fn an_error_before_any_usage_reports_none() {
    let (_, err) = whole(
        &adapter(),
        SSE,
        b"event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n",
    );
    assert_eq!(err.unwrap().usage(), None);
}
