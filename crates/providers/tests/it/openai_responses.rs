//! The Responses API adapter against real recordings: decoding, streaming, errors,
//! request encoding snapshots, and fuzzing.

use crate::support;

use llmvcr_core::{
    ChatRequest, ChatResponse, ContentPart, ErrorKind, FinishKind, Message, Provider,
    ReasoningAnchor, ReasoningEffort, ReasoningFormat, ReasoningItem, ResponseFormat, Role, Secret,
    StreamEvent, ToolChoice, ToolSpec, Usage,
};
use llmvcr_providers::openai_responses::OpenAiResponses;
use llmvcr_providers::{Adapter, Endpoint, WireApi};
use proptest::prelude::*;
use serde_json::{Value, json};
use support::{
    Acceptable, SSE, arbitrary_bytes, bytewise, call, decode_never_panics, events, finish, fixture,
    fixtures, frames_never_panic, never_panics, random_splits_agree, same_every_way, streamed,
    strict_weather_tool, truncated_fixture, two_call_history, usage, whole, wire_json, wire_value,
};

const DIR: &str = "openai_responses";

fn responses(provider: Provider) -> OpenAiResponses {
    OpenAiResponses::new(provider)
}

fn decode(name: &str) -> ChatResponse {
    responses(Provider::OpenAi)
        .decode(&fixture(DIR, name))
        .unwrap()
}

fn stream(name: &str) -> ChatResponse {
    streamed(&responses(Provider::OpenAi), SSE, &fixture(DIR, name))
}

/// The `response` object that a stream's `response.completed` event carries.
fn completed_response(bytes: &[u8]) -> Value {
    String::from_utf8(bytes.to_vec())
        .unwrap()
        .lines()
        .filter_map(|l| l.strip_prefix("data:"))
        .map(|d| serde_json::from_str::<Value>(d.trim()).unwrap_or(Value::Null))
        .find(|v| v["type"] == "response.completed")
        .map(|v| v["response"].clone())
        .unwrap()
}

// ---------------------------------------------------------------------------
// Non-streaming bodies
// ---------------------------------------------------------------------------

#[test]
fn basic_body() {
    assert_eq!(
        decode("basic.json"),
        ChatResponse {
            id: Some("resp_08ddf351751647d60169fab1b8a7ac81a081b9e2400e87fb63".into()),
            model: Some("gpt-5.5-2026-04-23".into()),
            text: "pong".into(),
            reasoning: String::new(),
            tool_calls: vec![],
            usage: Some(usage(11, 5)),
            finish_reason: finish(FinishKind::Stop, "completed"),
            reasoning_items: vec![],
        }
    );
}

#[test]
fn function_call_body() {
    let r = decode("tool_use.json");
    assert_eq!(
        r.tool_calls,
        vec![call(
            "call_nJmCK7SJe3ajdYYplIbH0KgL",
            "multiply",
            json!({"a": 1231, "b": 2331})
        )]
    );
    assert_eq!(r.text, "");
    assert_eq!(r.finish_reason, finish(FinishKind::ToolCalls, "completed"));
    assert_eq!(r.usage, Some(usage(58, 23)));
    let r = decode("tool_answer.json");
    assert_eq!(r.text, "1231 * 2331 = 2,869,461");
    assert_eq!(r.finish_reason, finish(FinishKind::Stop, "completed"));
}

#[test]
fn encrypted_reasoning_then_five_calls() {
    let r = decode("interleaved_reasoning_calls.json");
    assert_eq!(r.reasoning, "", "encrypted reasoning has no readable text");
    let keys: Vec<&Value> = r.tool_calls.iter().map(|c| &c.arguments["key"]).collect();
    assert_eq!(
        keys,
        [
            "begin",
            "value",
            "the value 7",
            "Begin with the value 7.",
            "start2"
        ]
    );
    assert!(r.tool_calls.iter().all(|c| c.name == "db_lookup"));
    assert_eq!(
        r.tool_calls[0].id.as_deref(),
        Some("call_WbWwKw4J6EXQ7Sn93fgmuZe3")
    );
    assert_eq!(
        r.usage,
        Some(Usage {
            reasoning_tokens: 17,
            ..usage(532, 119)
        })
    );
    assert_eq!(r.finish_reason, finish(FinishKind::ToolCalls, "completed"));
}

#[test]
fn web_search_body_with_cached_input() {
    let r = decode("web_search.json");
    assert!(
        r.text
            .starts_with("Here’s the weather for Utrecht, Netherlands.\n\n- Now: Rain")
    );
    assert!(
        r.text
            .ends_with("Want an hourly breakdown or a specific time range?")
    );
    assert!(
        r.tool_calls.is_empty(),
        "web_search_call items are not tool calls"
    );
    let u = r.usage.unwrap();
    assert_eq!(
        u,
        Usage {
            input_tokens: 9463,
            output_tokens: 660,
            cached_input_tokens: 8320,
            cache_write_tokens: 0,
            reasoning_tokens: 512,
        }
    );
    assert_eq!(u.uncached_input_tokens(), 1143);
    assert_eq!(r.model.as_deref(), Some("gpt-5-2025-08-07"));
}

#[test]
fn azure_body() {
    let r = responses(Provider::Azure)
        .decode(&fixture(DIR, "azure_gpt54.json"))
        .unwrap();
    assert_eq!(r.text, "Paris");
    assert_eq!(r.model.as_deref(), Some("gpt-5.4"));
    assert_eq!(r.usage, Some(usage(18, 5)));
    assert_eq!(r.finish_reason, finish(FinishKind::Stop, "completed"));
}

#[test]
fn two_calls_body() {
    let r = decode("two_calls.json");
    assert_eq!(
        r.tool_calls,
        vec![
            call(
                "call_LWVp74L5HaH2KNvgVz9PJsrj",
                "get_location",
                json!({"loc_name": "Londos"})
            ),
            call(
                "call_YnRAWeTyxI91m5uNa5bxXwVO",
                "get_location",
                json!({"loc_name": "London"})
            ),
        ]
    );
    assert_eq!(r.usage, Some(usage(0, 0)));
}

#[test]
fn incomplete_refusal_and_failed_bodies() {
    let incomplete = json!({
        "id": "resp_1", "object": "response", "status": "incomplete", "error": null,
        "incomplete_details": {"reason": "max_output_tokens"}, "model": "o4-mini",
        "output": [
            {"type": "reasoning", "id": "rs_1", "summary": []},
            {"type": "message", "role": "assistant", "content": [
                {"type": "output_text", "text": "Partial", "annotations": []},
                {"type": "refusal", "refusal": "I can't help with that."}
            ]}
        ],
        "usage": {"input_tokens": 20, "output_tokens": 64, "output_tokens_details": {"reasoning_tokens": 60}}
    });
    let r = responses(Provider::OpenAi)
        .decode(incomplete.to_string().as_bytes())
        .unwrap();
    assert_eq!(r.text, "Partial", "refusal text is not answer text");
    assert_eq!(r.finish_reason, finish(FinishKind::Length, "incomplete"));
    assert_eq!(
        r.usage,
        Some(Usage {
            reasoning_tokens: 60,
            ..usage(20, 64)
        })
    );

    let failed = json!({
        "id": "resp_2", "object": "response", "status": "failed",
        "error": {"code": "server_error", "message": "The model failed to generate a response."},
        "output": []
    });
    let e = responses(Provider::OpenAi)
        .decode(failed.to_string().as_bytes())
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Server);
    assert_eq!(e.code.as_deref(), Some("server_error"));
    assert!(e.retryable());

    let e = responses(Provider::OpenRouter)
        .decode(br#"{"error":{"code":429,"message":"Rate limit exceeded: free-models-per-min"}}"#)
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::RateLimited);
    assert_eq!(e.status, Some(429));
}

// ---------------------------------------------------------------------------
// Streams
// ---------------------------------------------------------------------------

#[test]
fn every_stream_equals_its_completed_response() {
    let adapter = responses(Provider::OpenAi);
    for (name, bytes) in fixtures(DIR, "sse") {
        let completed = completed_response(&bytes);
        let decoded = adapter.decode(completed.to_string().as_bytes()).unwrap();
        assert_eq!(streamed(&adapter, SSE, &bytes), decoded, "{name}");
    }
}

#[test]
fn streams_equal_their_non_streaming_recordings() {
    // The same prompts were recorded with and without streaming; the ids differ, and
    // the second answer took one more output token when streamed.
    let s = stream("basic.sse");
    assert_eq!(
        s,
        ChatResponse {
            id: s.id.clone(),
            ..decode("basic.json")
        }
    );
    let s = stream("tool_use.sse");
    let body = decode("tool_use.json");
    assert_eq!(s.tool_calls[0].name, body.tool_calls[0].name);
    assert_eq!(s.tool_calls[0].arguments, body.tool_calls[0].arguments);
    assert_eq!(
        (s.usage, s.finish_reason, s.text),
        (body.usage, body.finish_reason, body.text)
    );
}

#[test]
fn streamed_function_call() {
    let r = stream("tool_use.sse");
    assert_eq!(
        r,
        ChatResponse {
            id: Some("resp_00d64fa806f333310169fab1be69d081a08f8285661855594c".into()),
            model: Some("gpt-5.5-2026-04-23".into()),
            text: String::new(),
            reasoning: String::new(),
            tool_calls: vec![call(
                "call_sVidsfFJ6zlzRpelrPkTPlpd",
                "multiply",
                json!({"a": 1231, "b": 2331})
            )],
            usage: Some(usage(58, 23)),
            finish_reason: finish(FinishKind::ToolCalls, "completed"),
            reasoning_items: vec![],
        }
    );
    let events = events(
        &responses(Provider::OpenAi),
        SSE,
        &fixture(DIR, "tool_use.sse"),
    );
    let starts: Vec<&StreamEvent> = events
        .iter()
        .filter(|e| matches!(e, StreamEvent::ToolCallStart { .. }))
        .collect();
    assert_eq!(
        starts,
        [&StreamEvent::ToolCallStart {
            index: 0,
            id: Some("call_sVidsfFJ6zlzRpelrPkTPlpd".into()),
            name: "multiply".into(),
        }]
    );
    let fragments: String = events
        .iter()
        .filter_map(|e| match e {
            StreamEvent::ToolCallDelta {
                index: 0,
                arguments,
            } => Some(arguments.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(
        fragments, "{\"a\":1231,\"b\":2331}",
        "the .done value is not repeated"
    );
}

#[test]
fn streamed_answer() {
    let r = stream("tool_answer.sse");
    assert_eq!(r.text, "1231 × 2331 = **2,869,461**");
    assert_eq!(r.usage, Some(usage(94, 18)));
    let r = stream("text.sse");
    assert_eq!(r.text, "The capital of France is Paris.");
    assert_eq!(r.model.as_deref(), Some("gpt-4o-2024-08-06"));
    let r = stream("function_call.sse");
    assert_eq!(
        r.tool_calls,
        vec![call(
            "call_kL0PCQV7M2WMoVX8V8OtYSAL",
            "get_capital",
            json!({"country": "France"})
        )]
    );
}

#[test]
fn openrouter_raw_reasoning_stream() {
    let bytes = fixture(DIR, "openrouter_raw_cot.sse");
    let r = streamed(&responses(Provider::OpenRouter), SSE, &bytes);
    // The message item finishes before the reasoning item does; the reasoning item
    // still stands before the text, as its output index says. Its id is the one in
    // the final response, which differs from the one its `output_item.done` had.
    let item = completed_response(&bytes)["output"][0].clone();
    assert_eq!(item["id"], "rs_tmp_ku4i7pagjwn");
    assert!(String::from_utf8_lossy(&bytes).contains("rs_tmp_2kbe7x16sax"));
    assert_eq!(
        r,
        ChatResponse {
            id: Some("gen-1764265411-Fu1iEX7h5MRWiL79lb94".into()),
            model: Some("openai/gpt-oss-20b".into()),
            text: "4".into(),
            reasoning: "The user asks: \"What is 2+2?\" They expect a straightforward answer: 4. Just answer 4.".into(),
            tool_calls: vec![],
            usage: Some(Usage {
                reasoning_tokens: 22,
                ..usage(78, 37)
            }),
            finish_reason: finish(FinishKind::Stop, "completed"),
            reasoning_items: vec![ReasoningItem::new(
                Provider::OpenRouter,
                ReasoningFormat::OpenAiResponses,
                ReasoningAnchor::Standalone {
                    text: 0,
                    tool_calls: 0
                },
                item
            )],
        }
    );
}

#[test]
fn reasoning_summary_then_call_stream() {
    let r = stream("reasoning_summary_call.sse");
    assert_eq!(
        r.reasoning,
        "**Checking the forecast**\n\nThe user wants the weather in Lyon.\n\n**Calling the tool**\n\nI will call get_weather with the city."
    );
    assert_eq!(
        r.tool_calls,
        vec![call(
            "call_fixture_01",
            "get_weather",
            json!({"city": "Lyon", "unit": "celsius"})
        )]
    );
    assert_eq!(
        r.usage,
        Some(Usage {
            input_tokens: 2150,
            output_tokens: 211,
            cached_input_tokens: 1920,
            cache_write_tokens: 0,
            reasoning_tokens: 192,
        })
    );
    assert_eq!(r.finish_reason, finish(FinishKind::ToolCalls, "completed"));
}

#[test]
fn arguments_only_in_the_finished_item() {
    let sse = [
        json!({"type": "response.created", "response": {"id": "r1", "model": "gpt-4.1", "status": "in_progress"}}),
        json!({"type": "response.output_item.added", "output_index": 0, "item": {"type": "function_call", "call_id": "c1", "name": "f", "arguments": ""}}),
        json!({"type": "response.output_item.done", "output_index": 0, "item": {"type": "function_call", "call_id": "c1", "name": "f", "arguments": "{\"x\":1}"}}),
        json!({"type": "response.output_item.added", "output_index": 1, "item": {"type": "function_call", "call_id": "c2", "name": "g", "arguments": ""}}),
        json!({"type": "response.function_call_arguments.done", "output_index": 1, "arguments": "{}"}),
        json!({"type": "response.completed", "response": {"id": "r1", "model": "gpt-4.1", "status": "completed", "output": [
            {"type": "function_call", "call_id": "c1", "name": "f", "arguments": "{\"x\":1}"},
            {"type": "function_call", "call_id": "c2", "name": "g", "arguments": "{}"}
        ]}}),
    ]
    .iter()
    .map(|v| format!("event: {}\ndata: {v}\n\n", v["type"].as_str().unwrap()))
    .collect::<String>();
    let r = streamed(&responses(Provider::OpenAi), SSE, sse.as_bytes());
    assert_eq!(
        r.tool_calls,
        vec![call("c1", "f", json!({"x": 1})), call("c2", "g", json!({}))]
    );
    assert_eq!(r.finish_reason, finish(FinishKind::ToolCalls, "completed"));
}

#[test]
fn incomplete_stream() {
    let sse = [
        json!({"type": "response.output_text.delta", "output_index": 0, "content_index": 0, "delta": "Once"}),
        json!({"type": "response.incomplete", "response": {"id": "r2", "status": "incomplete",
            "incomplete_details": {"reason": "max_output_tokens"},
            "output": [{"type": "message", "content": [{"type": "output_text", "text": "Once"}]}],
            "usage": {"input_tokens": 9, "output_tokens": 16}}}),
    ]
    .iter()
    .map(|v| format!("data: {v}\n\n"))
    .collect::<String>();
    let r = streamed(&responses(Provider::OpenAi), SSE, sse.as_bytes());
    assert_eq!(r.text, "Once");
    assert_eq!(r.finish_reason, finish(FinishKind::Length, "incomplete"));
    assert_eq!(r.usage, Some(usage(9, 16)));
}

#[test]
fn errors_inside_streams() {
    let adapter = responses(Provider::OpenAi);
    let error_event = "event: error\ndata: {\"type\":\"error\",\"code\":\"insufficient_quota\",\"message\":\"You exceeded your current quota.\",\"param\":null,\"sequence_number\":1}\n\n";
    let (events, err) = whole(&adapter, SSE, error_event.as_bytes());
    assert!(events.is_empty());
    let err = err.unwrap();
    assert_eq!(err.kind, ErrorKind::QuotaExceeded);
    assert!(!err.retryable());

    let failed = [
        json!({"type": "response.created", "response": {"id": "r3", "model": "gpt-5", "status": "in_progress"}}),
        json!({"type": "response.output_text.delta", "output_index": 0, "content_index": 0, "delta": "Hal"}),
        json!({"type": "response.failed", "response": {"id": "r3", "model": "gpt-5", "status": "failed",
            "error": {"code": "rate_limit_exceeded", "message": "Rate limit reached for gpt-5"},
            "output": [], "usage": {"input_tokens": 12, "output_tokens": 1}}}),
    ]
    .iter()
    .map(|v| format!("data: {v}\n\n"))
    .collect::<String>();
    let (events, err) = whole(&adapter, SSE, failed.as_bytes());
    assert_eq!(events[1], StreamEvent::TextDelta("Hal".into()));
    assert_eq!(events.last(), Some(&StreamEvent::Usage(usage(12, 1))));
    assert!(!events.iter().any(|e| matches!(e, StreamEvent::Finish(_))));
    let err = err.unwrap();
    assert_eq!(err.kind, ErrorKind::RateLimited);
    assert_eq!(bytewise(&adapter, SSE, failed.as_bytes()).1, Some(err));
}

#[test]
fn every_stream_splits_the_same_way() {
    for (name, bytes) in fixtures(DIR, "sse") {
        let provider = if name.starts_with("openrouter") {
            Provider::OpenRouter
        } else {
            Provider::OpenAi
        };
        let (_, err) = same_every_way(&responses(provider), SSE, &name, &bytes);
        assert!(err.is_none(), "{name}: {err:?}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn streams_split_anywhere(seed in any::<u64>()) {
        random_splits_agree(&responses(Provider::OpenAi), DIR, seed)?;
    }
}

// ---------------------------------------------------------------------------
// Reasoning items
// ---------------------------------------------------------------------------

fn responses_item(
    provider: Provider,
    text: usize,
    tool_calls: usize,
    item: Value,
) -> ReasoningItem {
    ReasoningItem::new(
        provider,
        ReasoningFormat::OpenAiResponses,
        ReasoningAnchor::Standalone { text, tool_calls },
        item,
    )
}

#[test]
fn encrypted_reasoning_item_is_kept_as_it_came() {
    let body: Value =
        serde_json::from_slice(&fixture(DIR, "interleaved_reasoning_calls.json")).unwrap();
    let r = decode("interleaved_reasoning_calls.json");
    assert_eq!(
        r.reasoning_items,
        vec![responses_item(
            Provider::OpenAi,
            0,
            0,
            body["output"][0].clone()
        )]
    );
    let data = &r.reasoning_items[0].data;
    assert!(
        data["encrypted_content"]
            .as_str()
            .unwrap()
            .starts_with("gAAAAA")
    );
    assert_eq!(data["summary"], json!([]));
}

#[test]
fn streamed_reasoning_item_equals_the_finished_item() {
    let bytes = fixture(DIR, "reasoning_summary_call.sse");
    let completed = completed_response(&bytes);
    let r = stream("reasoning_summary_call.sse");
    assert_eq!(
        r.reasoning_items,
        vec![responses_item(
            Provider::OpenAi,
            0,
            0,
            completed["output"][0].clone()
        )]
    );
    assert_eq!(r.reasoning_items[0].data["id"], "rs_fixture_01");
}

#[test]
fn reasoning_items_go_back_where_they_came() {
    let reasoning = |id: &str| json!({"type": "reasoning", "id": id, "summary": [], "encrypted_content": "gAAAAA"});
    let message = Message {
        reasoning_items: vec![
            responses_item(Provider::OpenAi, 0, 0, reasoning("rs_1")),
            responses_item(Provider::OpenAi, "Checking.".len(), 1, reasoning("rs_2")),
            // Another provider's item in the same format: not sent.
            responses_item(Provider::Azure, 0, 0, reasoning("rs_azure")),
        ],
        ..support::assistant_with_calls(
            "Checking.",
            vec![
                call("call_1", "f", json!({"a": 1})),
                call("call_2", "g", json!({})),
            ],
        )
    };
    let request = ChatRequest::new("gpt-5")
        .user("Go.")
        .message(message)
        .message(Message::tool_result("call_1", "1"))
        .message(Message::tool_result("call_2", "2"));
    let input = encode(&request)["input"].clone();
    let kinds: Vec<String> = input
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            i["id"]
                .as_str()
                .or(i["call_id"]
                    .as_str()
                    .filter(|_| i["type"] == "function_call"))
                .or(i["role"].as_str())
                .or(i["type"].as_str())
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "user",
            "rs_1",
            "assistant",
            "call_1",
            "rs_2",
            "call_2",
            "function_call_output",
            "function_call_output"
        ]
    );
    assert_eq!(input[1], reasoning("rs_1"));
}

#[test]
fn a_turn_of_reasoning_alone_still_has_a_message() {
    let message = Message {
        reasoning_items: vec![responses_item(
            Provider::OpenAi,
            0,
            0,
            json!({"type": "reasoning", "id": "rs_1", "summary": []}),
        )],
        ..Message::assistant("")
    };
    let input = encode(&ChatRequest::new("gpt-5").user("Go.").message(message))["input"].clone();
    assert_eq!(input[1]["id"], "rs_1");
    assert_eq!(
        input[2],
        json!({"role": "assistant", "content": [{"type": "output_text", "text": "", "annotations": []}]})
    );
}

// ---------------------------------------------------------------------------
// Fuzzing: never panic, only typed errors
// ---------------------------------------------------------------------------

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in arbitrary_bytes()) {
        let adapter = responses(Provider::OpenAi);
        never_panics(&adapter, SSE, bytes.chunks(1), Acceptable::Classified(Provider::OpenAi), Some(Acceptable::Decode))?;
    }

    #[test]
    fn arbitrary_events_never_panic(frames in proptest::collection::vec(wire_value(), 0..6)) {
        let adapter = responses(Provider::OpenAi);
        frames_never_panic(&adapter, &frames, 11, Acceptable::Classified(Provider::OpenAi))?;
    }

    #[test]
    fn truncated_real_streams_and_bodies(pick in any::<prop::sample::Index>(), cut in any::<prop::sample::Index>()) {
        let (name, prefix) = truncated_fixture(DIR, pick, cut);
        let adapter = responses(Provider::OpenAi);
        if name.ends_with(".sse") {
            never_panics(&adapter, SSE, [&prefix], Acceptable::Decode, None)?;
        } else {
            decode_never_panics(&adapter, &prefix, Acceptable::Decode)?;
        }
    }
}

// ---------------------------------------------------------------------------
// Request encoding
// ---------------------------------------------------------------------------

fn encode(request: &ChatRequest) -> Value {
    responses(Provider::OpenAi).encode(request).unwrap()
}

#[test]
fn openai_responses_encoding() {
    insta::assert_json_snapshot!(
        "openai_responses_plain",
        encode(&ChatRequest::new("gpt-4.1-mini").user("What is 17 * 23?"))
    );

    let multimodal = ChatRequest {
        temperature: Some(0.2),
        top_p: Some(0.9),
        ..ChatRequest::new("gpt-4.1")
            .system("You describe images.")
            .system("Answer in one sentence.")
            .message(Message {
                role: Role::User,
                content: vec![
                    ContentPart::text("Compare these two pictures."),
                    ContentPart::Image {
                        source: llmvcr_core::ImageSource::Url {
                            url: "https://example.com/cat.png".into(),
                        },
                        detail: Some("high".into()),
                    },
                    ContentPart::image_base64("image/png", "iVBORw0KGgo="),
                ],
                name: None,
                tool_calls: vec![],
                tool_call_id: None,
                reasoning_items: vec![],
            })
            .max_tokens(300)
    };
    insta::assert_json_snapshot!("openai_responses_multimodal", encode(&multimodal));

    let tools = ChatRequest::new("gpt-4.1-mini")
        .user("Weather in Paris?")
        .tool(strict_weather_tool())
        .tool(ToolSpec::new(
            "get_time",
            json!({"type": "object", "properties": {}}),
        ))
        .tool_choice(ToolChoice::Tool("get_weather".into()));
    insta::assert_json_snapshot!("openai_responses_tools", encode(&tools));

    let history = two_call_history("gpt-4.1-mini").tool_choice(ToolChoice::Required);
    insta::assert_json_snapshot!("openai_responses_tool_history", encode(&history));

    let schema = ChatRequest {
        reasoning_effort: Some(ReasoningEffort::Low),
        ..ChatRequest::new("gpt-5-mini")
            .system("Extract the person.")
            .user("Ada Lovelace was born in 1815.")
            .response_format(ResponseFormat::JsonSchema {
                name: "person".into(),
                schema: json!({
                    "type": "object",
                    "properties": {"name": {"type": "string"}, "born": {"type": "integer"}},
                    "required": ["name", "born"],
                    "additionalProperties": false
                }),
                strict: Some(true),
            })
            .max_tokens(200)
    };
    insta::assert_json_snapshot!("openai_responses_json_schema", encode(&schema));

    let mut streaming = ChatRequest::new("gpt-5-nano")
        .user("Count to 3.")
        .response_format(ResponseFormat::JsonObject)
        .streaming(true);
    streaming.extra.insert("store".into(), json!(false));
    streaming
        .extra
        .insert("include".into(), json!(["reasoning.encrypted_content"]));
    insta::assert_json_snapshot!("openai_responses_streaming", encode(&streaming));
}

#[test]
fn openai_responses_tool_choice_modes() {
    for (choice, expected) in [
        (ToolChoice::Auto, json!("auto")),
        (ToolChoice::None, json!("none")),
        (ToolChoice::Required, json!("required")),
        (
            ToolChoice::Tool("f".into()),
            json!({"type": "function", "name": "f"}),
        ),
    ] {
        let body = encode(
            &ChatRequest::new("m")
                .user("x")
                .tool(strict_weather_tool())
                .tool_choice(choice),
        );
        assert_eq!(body["tool_choice"], expected);
    }
}

#[test]
fn openai_responses_build_azure_and_openrouter() {
    let endpoint = Endpoint::azure_v1("https://contoso.openai.azure.com", WireApi::OpenAiResponses)
        .with_api_key(Secret::new("test-key-123"));
    let request = ChatRequest::new("gpt-5.4")
        .user("What is the capital of France?")
        .max_tokens(64);
    let wire = responses(Provider::Azure)
        .build(&endpoint, &request)
        .unwrap();
    assert_eq!(wire.headers["api-key"], "test-key-123");
    insta::assert_json_snapshot!("openai_responses_azure_build", wire_json(&wire));

    let endpoint = Endpoint {
        wire_api: WireApi::OpenAiResponses,
        ..Endpoint::openrouter()
    }
    .with_api_key(Secret::new("test-key-456"))
    .with_header("HTTP-Referer", "https://example.com/app");
    let wire = responses(Provider::OpenRouter)
        .build(
            &endpoint,
            &ChatRequest::new("openai/gpt-oss-20b")
                .user("What is 2+2?")
                .streaming(true),
        )
        .unwrap();
    assert_eq!(wire.url, "https://openrouter.ai/api/v1/responses");
    assert_eq!(wire.headers["authorization"], "Bearer test-key-456");
    assert_eq!(wire.headers["http-referer"], "https://example.com/app");
    assert_eq!(wire.body["stream"], true);
}

#[test]
fn tools_without_strict_are_sent_non_strict() {
    let body = encode(
        &ChatRequest::new("m")
            .user("x")
            .tool(ToolSpec::new("f", json!({"type": "object"}))),
    );
    assert_eq!(body["tools"][0]["strict"], false);
}

#[test]
fn unsupported_requests_are_refused() {
    let e = responses(Provider::OpenAi)
        .encode(&ChatRequest::new("m").user("x").stop("END"))
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Unsupported);
    assert!(e.message.contains("stop"));
    let request = ChatRequest::new("m").message(Message {
        content: vec![ContentPart::image_url("https://example.com/a.png")],
        ..Message::system("")
    });
    let e = responses(Provider::OpenAi).encode(&request).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Unsupported);
}
