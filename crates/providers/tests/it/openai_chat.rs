//! The Chat Completions adapter against real recordings: decoding, streaming, errors
//! inside HTTP 200, request encoding snapshots, and fuzzing.

use crate::support;

use llmvcr_core::{
    ChatRequest, ChatResponse, ContentPart, ErrorKind, FinishKind, FinishReason, Message, Provider,
    ReasoningAnchor, ReasoningEffort, ReasoningFormat, ReasoningItem, ResponseFormat, Role, Secret,
    StreamEvent, ToolChoice, ToolSpec, Usage,
};
use llmvcr_providers::openai_chat::OpenAiChat;
use llmvcr_providers::{Adapter, Endpoint};
use proptest::prelude::*;
use serde_json::{Value, json};
use support::{
    Acceptable, SSE, aggregate, arbitrary_bytes, call, events, finish, fixture, fixtures,
    frames_never_panic, json_fixture, never_panics, random_splits_agree, same_every_way, streamed,
    strict_weather_tool, truncated_fixture, two_call_history, usage, whole, wire_json, wire_value,
};

const DIR: &str = "openai_chat";

fn chat(provider: Provider) -> OpenAiChat {
    OpenAiChat::new(provider)
}

fn decode(provider: Provider, name: &str) -> ChatResponse {
    chat(provider).decode(&fixture(DIR, name)).unwrap()
}

fn stream(provider: Provider, name: &str) -> ChatResponse {
    streamed(&chat(provider), SSE, &fixture(DIR, name))
}

// ---------------------------------------------------------------------------
// Non-streaming bodies
// ---------------------------------------------------------------------------

#[test]
fn openai_text_body() {
    let r = decode(Provider::OpenAi, "openai_text.json");
    assert_eq!(
        r,
        ChatResponse {
            id: Some("chatcmpl-C2P2k1mRRz7KMAtppLZz83Lyy33Jl".into()),
            model: Some("gpt-4o-2024-08-06".into()),
            text: "The capital of Mexico is Mexico City.".into(),
            reasoning: String::new(),
            tool_calls: vec![],
            usage: Some(usage(14, 8)),
            finish_reason: finish(FinishKind::Stop, "stop"),
            reasoning_items: vec![],
        }
    );
}

#[test]
fn openai_tool_call_body() {
    let r = decode(Provider::OpenAi, "openai_tool_call.json");
    assert_eq!(r.text, "");
    assert_eq!(
        r.tool_calls,
        vec![call(
            "call_TTY8UFNo7rNCaOBUNtlRSvMG",
            "lookup_population",
            json!({"country": "Crumpet"})
        )]
    );
    assert_eq!(r.usage, Some(usage(92, 17)));
    assert_eq!(r.finish_reason, finish(FinishKind::ToolCalls, "tool_calls"));
    assert_eq!(r.model.as_deref(), Some("gpt-4o-mini-2024-07-18"));
}

#[test]
fn openai_reasoning_tokens_are_part_of_output() {
    let r = decode(Provider::OpenAi, "openai_reasoning_tokens.json");
    assert_eq!(
        r.usage,
        Some(Usage {
            reasoning_tokens: 64,
            ..usage(129, 83)
        })
    );
    assert_eq!(r.reasoning, "", "OpenAI returns no reasoning text here");
    assert_eq!(
        r.tool_calls,
        vec![call("call_nmvMW0QHL4F1PetccaFa60Ij", "get_file", json!({}))]
    );
    assert_eq!(r.model.as_deref(), Some("gpt-5-mini-2025-08-07"));
}

#[test]
fn openrouter_reasoning_stays_out_of_text() {
    let r = decode(Provider::OpenRouter, "openrouter_reasoning.json");
    assert_eq!(r.text, "ok");
    assert_eq!(
        r.reasoning,
        "The user is asking me to reply with the single word \"ok\". This is a straightforward request that doesn't involve anything harmful or problematic. I'll simply respond with \"ok\" as requested."
    );
    assert_eq!(
        r.usage,
        Some(Usage {
            reasoning_tokens: 48,
            ..usage(43, 53)
        })
    );
    assert_eq!(
        r.model.as_deref(),
        Some("anthropic/claude-4.5-sonnet-20250929")
    );
    assert_eq!(r.id.as_deref(), Some("gen-1779474928-8Ot5WcaCbQBcu9Wvs6Up"));
    assert_eq!(r.finish_reason, finish(FinishKind::Stop, "stop"));
}

#[test]
fn openrouter_reasoning_details_are_the_fallback() {
    let mut body = json_fixture(DIR, "openrouter_reasoning_details.json");
    let full = decode(Provider::OpenRouter, "openrouter_reasoning_details.json");
    assert!(
        full.reasoning
            .starts_with("This question is asking me about my identity.")
    );
    assert!(
        full.text
            .starts_with("I am Claude, an AI assistant created by Anthropic.")
    );
    assert_eq!(full.usage, Some(usage(43, 402)));
    // Without `reasoning`, the text of `reasoning_details` is used.
    body["choices"][0]["message"]
        .as_object_mut()
        .unwrap()
        .remove("reasoning");
    let r = chat(Provider::OpenRouter)
        .decode(body.to_string().as_bytes())
        .unwrap();
    assert_eq!(r.reasoning, full.reasoning);
    assert_eq!(r.text, full.text);
}

#[test]
fn openrouter_tool_call_body() {
    let r = decode(Provider::OpenRouter, "openrouter_tool_call.json");
    assert_eq!(r.tool_calls.len(), 1);
    let c = &r.tool_calls[0];
    assert_eq!(
        c.id.as_deref(),
        Some("tool_insert_level_with_spaces_3ZiChYzj8xER8HixJe7W")
    );
    assert_eq!(c.name, "insert_level_with_spaces");
    assert_eq!(
        c.arguments["level"],
        json!({"level_type": "ground", "level_name": "ground_floor"})
    );
    assert_eq!(c.arguments["spaces"].as_array().unwrap().len(), 3);
    assert_eq!(r.usage, Some(usage(326, 91)));
    assert_eq!(r.finish_reason, finish(FinishKind::ToolCalls, "tool_calls"));
}

#[test]
fn groq_reasoning_field() {
    let r = decode(Provider::Groq, "groq_reasoning.json");
    assert_eq!(r.text, "4");
    assert_eq!(
        r.reasoning,
        "The user asks: \"What is 2+2? Reply with just the number.\"\n\nWe just need to output \"4\". No extra text."
    );
    assert_eq!(
        r.usage,
        Some(Usage {
            reasoning_tokens: 31,
            ..usage(84, 41)
        })
    );
    assert_eq!(r.model.as_deref(), Some("openai/gpt-oss-120b"));
}

#[test]
fn groq_inline_think_tags_are_left_in_the_text() {
    let r = decode(Provider::Groq, "groq_think_inline.json");
    assert!(r.text.starts_with("<think>\nOkay, let's see..."));
    assert!(r.text.ends_with("</think>\n\n4"));
    assert_eq!(r.reasoning, "");
    assert_eq!(r.usage, Some(usage(21, 173)));
}

#[test]
fn groq_tool_call_body() {
    let r = decode(Provider::Groq, "groq_tool_call.json");
    assert_eq!(r.text, "", "a message without content has empty text");
    assert_eq!(r.tool_calls, vec![call("cccegfaq1", "get_file", json!({}))]);
    assert_eq!(r.usage, Some(usage(711, 20)));
    assert_eq!(r.finish_reason, finish(FinishKind::ToolCalls, "tool_calls"));
}

#[test]
fn mistral_thinking_parts_are_reasoning() {
    let r = decode(Provider::Mistral, "mistral_thinking.json");
    assert_eq!(r.text, "4");
    assert_eq!(
        r.reasoning,
        "The user is asking for the result of 2+2. The instruction is to reply with just the number, so I should respond with \"4\"."
    );
    assert_eq!(r.usage, Some(usage(28, 35)));
    assert_eq!(r.model.as_deref(), Some("mistral-small-latest"));
}

#[test]
fn mistral_num_cached_tokens() {
    let r = decode(Provider::Mistral, "mistral_tool_call_cached.json");
    assert_eq!(
        r.usage,
        Some(Usage {
            cached_input_tokens: 32,
            ..usage(64, 6)
        })
    );
    assert_eq!(r.usage.unwrap().uncached_input_tokens(), 32);
    assert_eq!(r.tool_calls, vec![call("bDQKhSgTR", "get_file", json!({}))]);
    let r = decode(Provider::Mistral, "mistral_text.json");
    assert!(r.text.starts_with("Hello! 😊 How can I assist you today?"));
    assert_eq!(r.usage, Some(usage(4, 36)));
}

#[test]
fn object_arguments_and_cache_writes() {
    let body = json!({
        "id": "x",
        "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {"content": null,
            "tool_calls": [{"id": "a", "function": {"name": "f", "arguments": {"k": [1, 2]}}}]}}],
        "usage": {"prompt_tokens": 1000, "completion_tokens": 10,
            "prompt_tokens_details": {"cached_tokens": 600, "cache_write_tokens": 300}}
    });
    let r = chat(Provider::Mistral)
        .decode(body.to_string().as_bytes())
        .unwrap();
    assert_eq!(r.tool_calls, vec![call("a", "f", json!({"k": [1, 2]}))]);
    let u = r.usage.unwrap();
    assert_eq!((u.cached_input_tokens, u.cache_write_tokens), (600, 300));
    assert_eq!(u.uncached_input_tokens(), 100);
}

#[test]
fn no_choices_and_no_usage() {
    let r = chat(Provider::OpenAi)
        .decode(br#"{"id":"x","choices":[]}"#)
        .unwrap();
    assert_eq!(r.text, "");
    assert_eq!(r.finish_reason, None);
    assert_eq!(r.usage, None);
    assert_eq!(r.id.as_deref(), Some("x"));
}

#[test]
fn finish_reasons_are_normalised() {
    for (raw, kind) in [
        ("stop", FinishKind::Stop),
        ("length", FinishKind::Length),
        ("tool_calls", FinishKind::ToolCalls),
        ("function_call", FinishKind::ToolCalls),
        ("content_filter", FinishKind::ContentFilter),
        ("error", FinishKind::Error),
        ("eos", FinishKind::Other),
    ] {
        let body =
            json!({"choices": [{"index": 0, "message": {"content": "x"}, "finish_reason": raw}]});
        let r = chat(Provider::OpenAi)
            .decode(body.to_string().as_bytes())
            .unwrap();
        assert_eq!(r.finish_reason, finish(kind, raw));
    }
}

// ---------------------------------------------------------------------------
// Errors inside HTTP 200
// ---------------------------------------------------------------------------

#[test]
fn openrouter_error_inside_a_200_body() {
    let e = chat(Provider::OpenRouter)
        .decode(&fixture(DIR, "openrouter_error_200.json"))
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::RateLimited);
    assert!(e.retryable());
    assert_eq!(e.status, Some(429));
    assert_eq!(e.provider, Some(Provider::OpenRouter));
    assert!(
        e.message.contains("temporarily rate-limited upstream"),
        "{}",
        e.message
    );
}

#[test]
fn openrouter_error_inside_a_stream() {
    let adapter = chat(Provider::OpenRouter);
    let (events, err) = whole(&adapter, SSE, &fixture(DIR, "openrouter_error_stream.sse"));
    assert_eq!(
        events,
        vec![
            StreamEvent::Start {
                id: Some("gen-1767225600-FixtureErr0001".into()),
                model: Some("google/gemini-2.5-flash".into()),
            },
            StreamEvent::TextDelta("Once upon".into()),
        ]
    );
    let err = err.unwrap();
    assert_eq!(err.kind, ErrorKind::Server);
    assert_eq!(err.code.as_deref(), Some("server_error"));
    assert!(err.message.contains("Provider disconnected unexpectedly"));

    let rate_limited = "data: {\"id\":\"gen-1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"\"},\"finish_reason\":\"error\"}],\"error\":{\"code\":429,\"message\":\"Rate limit exceeded upstream\"}}\n\n";
    let (events, err) = whole(&adapter, SSE, rate_limited.as_bytes());
    assert!(events.is_empty());
    let err = err.unwrap();
    assert_eq!(err.kind, ErrorKind::RateLimited);
    assert_eq!(err.status, Some(429));
}

#[test]
fn error_inside_a_choice() {
    let body = br#"{"id":"gen-2","choices":[{"index":0,"finish_reason":"error","message":{"content":""},"error":{"code":502,"message":"Upstream error from provider"}}]}"#;
    let e = chat(Provider::OpenRouter).decode(body).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Server);
    assert_eq!(e.status, Some(502));
}

// ---------------------------------------------------------------------------
// Streams
// ---------------------------------------------------------------------------

#[test]
fn openai_text_stream_equals_the_body() {
    let streamed = stream(Provider::OpenAi, "openai_text.sse");
    let body = decode(Provider::OpenAi, "openai_text.json");
    // Both calls asked the same question of the same model; only the id differs.
    assert_eq!(
        streamed.id.as_deref(),
        Some("chatcmpl-C2P1wP1damHwC6sXvGAIh5PMvH6wM")
    );
    assert_eq!(
        streamed,
        ChatResponse {
            id: streamed.id.clone(),
            ..body
        }
    );
}

#[test]
fn openai_text_stream_events() {
    let events = events(
        &chat(Provider::OpenAi),
        SSE,
        &fixture(DIR, "openai_text.sse"),
    );
    assert_eq!(
        events.first(),
        Some(&StreamEvent::Start {
            id: Some("chatcmpl-C2P1wP1damHwC6sXvGAIh5PMvH6wM".into()),
            model: Some("gpt-4o-2024-08-06".into()),
        })
    );
    let starts = events
        .iter()
        .filter(|e| matches!(e, StreamEvent::Start { .. }))
        .count();
    assert_eq!(starts, 1, "metadata is announced once");
    assert_eq!(
        events[events.len() - 2..],
        [
            StreamEvent::Finish(FinishReason::new(FinishKind::Stop, "stop")),
            StreamEvent::Usage(usage(14, 8)),
        ]
    );
}

#[test]
fn openai_streamed_tool_call() {
    let r = stream(Provider::OpenAi, "openai_tool_call.sse");
    assert_eq!(
        r,
        ChatResponse {
            id: Some("chatcmpl-BWlJBDk2xe66hjff60joVYpXi1hh4".into()),
            model: Some("gpt-4o-mini-2024-07-18".into()),
            text: String::new(),
            reasoning: String::new(),
            tool_calls: vec![call(
                "call_1EYWDzueHEp8OsB8jJSEp7WB",
                "multiply",
                json!({"a": 1231, "b": 2331})
            )],
            usage: Some(usage(54, 20)),
            finish_reason: finish(FinishKind::ToolCalls, "tool_calls"),
            reasoning_items: vec![],
        }
    );
    let events = events(
        &chat(Provider::OpenAi),
        SSE,
        &fixture(DIR, "openai_tool_call.sse"),
    );
    let deltas = events
        .iter()
        .filter(|e| matches!(e, StreamEvent::ToolCallDelta { index: 0, .. }))
        .count();
    assert_eq!(deltas, 11, "each argument fragment is one delta");
}

#[test]
fn openai_streamed_answer_after_tool_call() {
    let r = stream(Provider::OpenAi, "openai_tool_answer.sse");
    assert_eq!(
        r.text,
        r"The result of \( 1231 \times 2331 \) is \( 2,869,461 \)."
    );
    assert_eq!(r.usage, Some(usage(87, 26)));
    assert_eq!(r.finish_reason, finish(FinishKind::Stop, "stop"));
}

#[test]
fn compatible_tool_call_streams() {
    let adapter = chat(Provider::OpenRouter);
    let expected = |id: &str, arguments: Value| vec![call(id, "llm_version", arguments)];
    // a: the call is announced twice with the same id; the arguments come once.
    let a = stream(Provider::OpenRouter, "compat_tool_stream_a.sse");
    assert_eq!(a.tool_calls, expected("0", json!({})));
    assert_eq!(a.finish_reason, None, "this stream sends no finish_reason");
    assert_eq!(a.usage, Some(usage(57, 17)));
    let starts = events(&adapter, SSE, &fixture(DIR, "compat_tool_stream_a.sse"))
        .into_iter()
        .filter(|e| matches!(e, StreamEvent::ToolCallStart { .. }))
        .count();
    assert_eq!(starts, 1, "a repeated announcement is not a new start");
    // b: the whole call in one chunk.
    let b = stream(Provider::OpenRouter, "compat_tool_stream_b.sse");
    assert_eq!(b.tool_calls, expected("0", json!({})));
    // c: name first, arguments in a later chunk without id.
    let c = stream(Provider::OpenRouter, "compat_tool_stream_c.sse");
    assert_eq!(c.tool_calls, expected("llm_version:0", json!({})));
    assert_eq!(c.finish_reason, finish(FinishKind::ToolCalls, "tool_calls"));
    assert_eq!(c.usage, Some(usage(56, 12)));
    // d: `arguments: null`; no fragment arrives, so the raw arguments stay empty.
    let d = stream(Provider::OpenRouter, "compat_tool_stream_d.sse");
    assert_eq!(d.tool_calls, expected("0", json!("")));
    assert_eq!(d.model.as_deref(), Some("muse-spark-1.1"));
    // The answer after the tool result.
    let answer = stream(Provider::OpenRouter, "compat_tool_answer_c.sse");
    assert_eq!(
        answer.text,
        "The installed version of LLM on this system is 0.fixed-version."
    );
    assert_eq!(answer.usage, Some(usage(105, 16)));
}

#[test]
fn openrouter_stream_with_comments() {
    let r = stream(Provider::OpenRouter, "openrouter_advisor.sse");
    assert_eq!(
        r,
        ChatResponse {
            id: Some("gen-1784878121-HxA00pxmV0n2x1hZAuok".into()),
            model: Some("openai/gpt-4o-mini".into()),
            text: "I recommend naming your Python retry library `resilix`, as it conveys resilience and is modern and brandable.".into(),
            reasoning: String::new(),
            tool_calls: vec![],
            usage: Some(usage(888, 74)),
            finish_reason: finish(FinishKind::Stop, "stop"),
            reasoning_items: vec![],
        }
    );
    let finishes = events(
        &chat(Provider::OpenRouter),
        SSE,
        &fixture(DIR, "openrouter_advisor.sse"),
    )
    .into_iter()
    .filter(|e| matches!(e, StreamEvent::Finish(_)))
    .count();
    assert_eq!(finishes, 1, "a repeated finish_reason is reported once");
}

fn openrouter_detail(detail: Value) -> ReasoningItem {
    ReasoningItem::new(
        Provider::OpenRouter,
        ReasoningFormat::OpenAiChat,
        ReasoningAnchor::default(),
        detail,
    )
}

#[test]
fn openrouter_reasoning_details_go_back_unchanged() {
    let body = json_fixture(DIR, "openrouter_reasoning_details.json");
    let details = body["choices"][0]["message"]["reasoning_details"].clone();
    let r = decode(Provider::OpenRouter, "openrouter_reasoning_details.json");
    assert_eq!(
        r.reasoning_items,
        vec![openrouter_detail(details[0].clone())]
    );
    assert!(
        details[0]["signature"]
            .as_str()
            .unwrap()
            .starts_with("ErcBCkgICBACGAIiQH")
    );
    let request = ChatRequest::new("anthropic/claude-3.7-sonnet:thinking")
        .user("Who are you?")
        .message(r.to_message())
        .user("And?");
    let sent = chat(Provider::OpenRouter).encode(&request).unwrap();
    assert_eq!(sent["messages"][1]["role"], "assistant");
    assert_eq!(sent["messages"][1]["reasoning_details"], details);
    // Other providers never get them.
    for provider in [Provider::OpenAi, Provider::Groq] {
        let sent = chat(provider).encode(&request).unwrap();
        assert!(sent["messages"][1].get("reasoning_details").is_none());
    }
}

#[test]
fn openrouter_streamed_reasoning_details_with_a_signature() {
    // Text in fragments, the signature in the last one, as OpenRouter streams
    // Anthropic thinking; the merged entry is the one the body would hold.
    let detail = |d: Value| json!({"choices": [{"index": 0, "delta": {"reasoning_details": [d]}}]});
    let sse: String = [
        json!({"id": "gen-4", "model": "anthropic/claude-sonnet-4.5", "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]}),
        detail(json!({"type": "reasoning.text", "text": "Let me ", "format": "anthropic-claude-v1", "index": 0})),
        detail(json!({"type": "reasoning.text", "text": "think.", "format": "anthropic-claude-v1", "index": 0})),
        detail(json!({"type": "reasoning.text", "signature": "c2ln", "format": "anthropic-claude-v1", "index": 0})),
        detail(json!({"type": "reasoning.encrypted", "data": "ZW5j", "index": 1})),
        json!({"choices": [{"index": 0, "delta": {"content": "ok"}, "finish_reason": "stop"}]}),
    ]
    .iter()
    .map(|c| format!("data: {c}\n\n"))
    .collect();
    let r = streamed(&chat(Provider::OpenRouter), SSE, sse.as_bytes());
    let details = json!([
        {"type": "reasoning.text", "text": "Let me think.", "signature": "c2ln", "format": "anthropic-claude-v1", "index": 0},
        {"type": "reasoning.encrypted", "data": "ZW5j", "index": 1}
    ]);
    let body = json!({"id": "gen-4", "model": "anthropic/claude-sonnet-4.5", "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok", "reasoning_details": details}, "finish_reason": "stop"}]});
    let decoded = chat(Provider::OpenRouter)
        .decode(body.to_string().as_bytes())
        .unwrap();
    assert_eq!(r, decoded);
    assert_eq!(r.reasoning_items.len(), 2);
    assert_eq!(r.reasoning, "Let me think.");
}

#[test]
fn openrouter_streamed_reasoning() {
    let sse = concat!(
        ": OPENROUTER PROCESSING\n\n",
        "data: {\"id\":\"gen-3\",\"model\":\"deepseek/deepseek-r1\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\",\"reasoning\":\"Two plus\",\"reasoning_details\":[{\"type\":\"reasoning.text\",\"text\":\"Two plus\"}]}}]}\n\n",
        "data: {\"id\":\"gen-3\",\"model\":\"deepseek/deepseek-r1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"\",\"reasoning_details\":[{\"type\":\"reasoning.text\",\"text\":\" two.\"}]}}]}\n\n",
        "data: {\"id\":\"gen-3\",\"model\":\"deepseek/deepseek-r1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"4\",\"reasoning\":null}}]}\n\n",
        "data: {\"id\":\"gen-3\",\"model\":\"deepseek/deepseek-r1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"\"},\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":10,\"completion_tokens\":9,\"completion_tokens_details\":{\"reasoning_tokens\":7}}}\n\n",
        "data: [DONE]\n\n",
    );
    let r = streamed(&chat(Provider::OpenRouter), SSE, sse.as_bytes());
    assert_eq!(r.reasoning, "Two plus two.");
    assert_eq!(r.text, "4");
    // The fragments of `reasoning_details` make one entry.
    assert_eq!(
        r.reasoning_items,
        vec![openrouter_detail(
            json!({"type": "reasoning.text", "text": "Two plus two."})
        )]
    );
    assert_eq!(
        r.usage,
        Some(Usage {
            reasoning_tokens: 7,
            ..usage(10, 9)
        })
    );
}

#[test]
fn azure_stream_starts_with_empty_choices() {
    let adapter = chat(Provider::Azure);
    let events = events(&adapter, SSE, &fixture(DIR, "azure_text.sse"));
    assert_eq!(
        events[0],
        StreamEvent::Start {
            id: Some("chatcmpl-AzureFixture0001".into()),
            model: Some("gpt-4o-2024-11-20".into()),
        },
        "the empty id and model of the first chunk are not reported"
    );
    assert_eq!(
        aggregate(&events),
        ChatResponse {
            id: Some("chatcmpl-AzureFixture0001".into()),
            model: Some("gpt-4o-2024-11-20".into()),
            text: "Bonjour le monde.".into(),
            reasoning: String::new(),
            tool_calls: vec![],
            usage: Some(usage(19, 5)),
            finish_reason: finish(FinishKind::Stop, "stop"),
            reasoning_items: vec![],
        }
    );
}

#[test]
fn mistral_streamed_thinking_parts() {
    let sse = concat!(
        "data: {\"id\":\"m1\",\"model\":\"magistral-small-latest\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":[{\"type\":\"thinking\",\"thinking\":[{\"type\":\"text\",\"text\":\"Add them.\"}]}]}}]}\n\n",
        "data: {\"id\":\"m1\",\"model\":\"magistral-small-latest\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"4\"},\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":28,\"completion_tokens\":35,\"total_tokens\":63}}\n\n",
        "data: [DONE]\n\n",
    );
    let r = streamed(&chat(Provider::Mistral), SSE, sse.as_bytes());
    assert_eq!(r.reasoning, "Add them.");
    assert_eq!(r.text, "4");
    assert_eq!(r.usage, Some(usage(28, 35)));
}

#[test]
fn every_stream_splits_the_same_way() {
    for (name, bytes) in fixtures(DIR, "sse") {
        let provider = if name.starts_with("azure") {
            Provider::Azure
        } else if name.starts_with("openai") {
            Provider::OpenAi
        } else {
            Provider::OpenRouter
        };
        let reference = same_every_way(&chat(provider), SSE, &name, &bytes);
        assert!(!reference.0.is_empty(), "{name}: no events");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn streams_split_anywhere(seed in any::<u64>()) {
        random_splits_agree(&chat(Provider::OpenRouter), DIR, seed)?;
    }
}

// ---------------------------------------------------------------------------
// Fuzzing: never panic, only typed errors
// ---------------------------------------------------------------------------

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in arbitrary_bytes()) {
        for provider in [Provider::OpenAi, Provider::OpenRouter, Provider::Mistral] {
            never_panics(&chat(provider), SSE, bytes.chunks(1), Acceptable::Classified(provider), Some(Acceptable::Decode))?;
        }
    }

    #[test]
    fn arbitrary_frames_never_panic(frames in proptest::collection::vec(wire_value(), 0..6)) {
        let adapter = chat(Provider::OpenRouter);
        frames_never_panic(&adapter, &frames, 7, Acceptable::Classified(Provider::OpenRouter))?;
    }

    #[test]
    fn truncated_real_streams_and_bodies(pick in any::<prop::sample::Index>(), cut in any::<prop::sample::Index>()) {
        let (name, prefix) = truncated_fixture(DIR, pick, cut);
        let adapter = chat(Provider::OpenRouter);
        if name.ends_with(".sse") {
            if let (_, Some(e)) = whole(&adapter, SSE, &prefix) {
                let in_band = name.contains("error") && e.kind == ErrorKind::Server;
                prop_assert!(e.kind == ErrorKind::Decode || in_band, "{}: {}", name, e);
            }
        } else if let Err(e) = adapter.decode(&prefix) {
            let in_band = name.contains("error") && e.kind == ErrorKind::RateLimited;
            prop_assert!(e.kind == ErrorKind::Decode || in_band, "{}: {}", name, e);
        }
    }
}

// ---------------------------------------------------------------------------
// Request encoding
// ---------------------------------------------------------------------------

fn encode(provider: Provider, request: &ChatRequest) -> Value {
    chat(provider).encode(request).unwrap()
}

fn multimodal_request() -> ChatRequest {
    ChatRequest {
        temperature: Some(0.2),
        top_p: Some(0.9),
        ..ChatRequest::new("gpt-4o")
            .system("You describe images.")
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
                name: Some("alice".into()),
                tool_calls: vec![],
                tool_call_id: None,
                reasoning_items: vec![],
            })
            .max_tokens(300)
            .stop("END")
    }
}

#[test]
fn openai_chat_encoding() {
    insta::assert_json_snapshot!(
        "openai_chat_plain",
        encode(
            Provider::OpenAi,
            &ChatRequest::new("gpt-4o-mini").user("What is 17 * 23?")
        )
    );
    insta::assert_json_snapshot!(
        "openai_chat_multimodal",
        encode(Provider::OpenAi, &multimodal_request())
    );
    let tools = ChatRequest::new("gpt-4o-mini")
        .user("Weather in Paris?")
        .tool(strict_weather_tool())
        .tool(ToolSpec::new(
            "get_time",
            json!({"type": "object", "properties": {}}),
        ))
        .tool_choice(ToolChoice::Tool("get_weather".into()));
    insta::assert_json_snapshot!("openai_chat_tools", encode(Provider::OpenAi, &tools));
    insta::assert_json_snapshot!(
        "openai_chat_tool_history",
        encode(Provider::OpenAi, &two_call_history("gpt-4o-mini"))
    );
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
    insta::assert_json_snapshot!("openai_chat_json_schema", encode(Provider::OpenAi, &schema));
    let streaming = ChatRequest::new("gpt-4o-mini")
        .user("Count to 3.")
        .streaming(true);
    insta::assert_json_snapshot!(
        "openai_chat_streaming",
        encode(Provider::OpenAi, &streaming)
    );
}

#[test]
fn openai_chat_tool_choice_modes() {
    for (choice, expected) in [
        (ToolChoice::Auto, json!("auto")),
        (ToolChoice::None, json!("none")),
        (ToolChoice::Required, json!("required")),
    ] {
        let body = encode(
            Provider::OpenAi,
            &ChatRequest::new("m")
                .user("x")
                .tool(strict_weather_tool())
                .tool_choice(choice),
        );
        assert_eq!(body["tool_choice"], expected);
    }
}

#[test]
fn openai_chat_compatible_providers() {
    let mut request = ChatRequest::new("mistral-large-latest")
        .user("Count to 3.")
        .max_tokens(50)
        .streaming(true);
    insta::assert_json_snapshot!(
        "openai_chat_mistral_streaming",
        encode(Provider::Mistral, &request)
    );
    request.model = "openai/gpt-oss-120b".into();
    request.reasoning_effort = Some(ReasoningEffort::Medium);
    insta::assert_json_snapshot!(
        "openai_chat_groq_streaming",
        encode(Provider::Groq, &request)
    );
    let mut openrouter = ChatRequest {
        reasoning_effort: Some(ReasoningEffort::High),
        ..ChatRequest::new("anthropic/claude-sonnet-4.5")
            .user("Reply with JSON.")
            .response_format(ResponseFormat::JsonObject)
            .max_tokens(1000)
    };
    openrouter.extra.insert(
        "provider".into(),
        json!({"order": ["anthropic"], "allow_fallbacks": false}),
    );
    openrouter.extra.insert("max_tokens".into(), json!(2000));
    insta::assert_json_snapshot!(
        "openai_chat_openrouter_extra",
        encode(Provider::OpenRouter, &openrouter)
    );
    let budget = ChatRequest {
        thinking_budget: Some(1024),
        ..ChatRequest::new("google/gemini-2.5-flash").user("Think.")
    };
    assert_eq!(
        encode(Provider::OpenRouter, &budget)["reasoning"],
        json!({"max_tokens": 1024})
    );
    assert!(encode(Provider::OpenAi, &budget).get("reasoning").is_none());
}

#[test]
fn openai_chat_build_azure() {
    let endpoint = Endpoint::azure(
        "https://contoso.openai.azure.com/",
        "gpt-4o-prod",
        "2024-10-21",
    )
    .with_api_key(Secret::new("test-key-123"))
    .with_header("x-ms-client-request-id", "fixture-request-1");
    let request = ChatRequest::new("gpt-4o")
        .user("Hello")
        .max_tokens(16)
        .streaming(true);
    let wire = chat(Provider::Azure).build(&endpoint, &request).unwrap();
    assert_eq!(wire.headers["api-key"], "test-key-123");
    insta::assert_json_snapshot!("openai_chat_azure_build", wire_json(&wire));
}

#[test]
fn openai_chat_build_auth_styles() {
    let request = ChatRequest::new("gpt-4o-mini").user("hi");
    let wire = chat(Provider::OpenAi)
        .build(
            &Endpoint::openai().with_api_key(Secret::new("test-key-123")),
            &request,
        )
        .unwrap();
    assert_eq!(wire.url, "https://api.openai.com/v1/chat/completions");
    assert_eq!(wire.headers["authorization"], "Bearer test-key-123");
    assert_eq!(wire.headers["content-type"], "application/json");
    let wire = chat(Provider::LmStudio)
        .build(&Endpoint::lmstudio(), &request)
        .unwrap();
    assert_eq!(wire.url, "http://localhost:1234/v1/chat/completions");
    assert!(wire.headers.get("authorization").is_none());
    assert_eq!(wire.body["messages"][0]["content"], "hi");
}

#[test]
fn images_outside_user_messages_are_unsupported() {
    let request = ChatRequest::new("gpt-4o").message(Message {
        content: vec![ContentPart::image_url("https://example.com/a.png")],
        ..Message::assistant("")
    });
    let e = chat(Provider::OpenAi).encode(&request).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Unsupported);
    let request = ChatRequest::new("gpt-4o").message(Message::text(Role::Tool, "no id"));
    let e = chat(Provider::OpenAi).encode(&request).unwrap_err();
    assert_eq!(e.kind, ErrorKind::BadRequest);
    let request = ChatRequest::new("gpt-4o").user("x").temperature(f64::NAN);
    let e = chat(Provider::OpenAi).encode(&request).unwrap_err();
    assert_eq!(e.kind, ErrorKind::BadRequest);
}

/// OpenRouter can answer a streaming request with HTTP 200, `application/json` and
/// an error object instead of a stream: that is an error, not an empty answer.
#[test]
fn json_error_body_answering_a_stream_request_is_classified() {
    let adapter = llmvcr_providers::openai_chat::OpenAiChat::new(llmvcr_core::Provider::OpenRouter);
    let body = br#"{"error":{"code":429,"message":"Provider returned error","metadata":{"raw":"upstream rate-limited"}}}"#;
    let mut decoder = adapter.stream_decoder(Some("application/json"));
    let result = decoder.feed(body).and_then(|mut events| {
        events.extend(decoder.finish()?);
        Ok(events)
    });
    let err = result.unwrap_err();
    assert_eq!(err.kind, llmvcr_core::ErrorKind::RateLimited);
    assert_eq!(err.status, Some(429));
}

// ---------------------------------------------------------------------------
// Usage on errors
// ---------------------------------------------------------------------------

/// OpenRouter's mid-stream error chunk carrying `usage`. No recording in
/// `cassettes/` has one: the stream is reconstructed from OpenRouter's documented
/// format for errors during streaming (see `tests/data/openai_chat/README.md`).
#[test]
fn openrouter_error_chunk_keeps_its_usage() {
    let body = fixture(DIR, "openrouter_error_stream_usage.sse");
    let expected = Usage {
        input_tokens: 888,
        output_tokens: 3,
        cached_input_tokens: 512,
        ..Usage::default()
    };
    for (events, err) in [
        whole(&chat(Provider::OpenRouter), SSE, &body),
        support::bytewise(&chat(Provider::OpenRouter), SSE, &body),
    ] {
        let err = err.expect("the stream must fail");
        assert_eq!(err.kind, ErrorKind::Server);
        assert!(
            err.message.contains("upstream stream ended"),
            "{}",
            err.message
        );
        assert_eq!(err.status, Some(502));
        assert_eq!(err.usage(), Some(expected));
        // The events before the error carry no usage: it came with the error only.
        assert!(!events.iter().any(|e| matches!(e, StreamEvent::Usage(_))));
        let mut acc = llmvcr_core::StreamAccumulator::new();
        events.iter().for_each(|e| acc.push(e));
        let partial = acc.fail(err).partial().cloned().expect("text had arrived");
        assert_eq!(partial.text, "The capital of Mexico");
        assert_eq!(partial.usage, Some(expected));
    }
}

#[test]
fn error_chunks_of_compatible_servers_keep_usage() {
    // A choice-level error with usage in the same chunk (OpenRouter's other shape).
    let sse = "data: {\"id\":\"gen-3\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"error\",\"error\":{\"code\":502,\"message\":\"Upstream error\"}}],\"usage\":{\"prompt_tokens\":40,\"completion_tokens\":0}}\n\n";
    let (_, err) = whole(&chat(Provider::OpenRouter), SSE, sse.as_bytes());
    let err = err.unwrap();
    assert_eq!(err.kind, ErrorKind::Server);
    assert_eq!(err.usage(), Some(usage(40, 0)));
    // Usage reported in an earlier chunk is kept when a later error chunk has none.
    let sse = concat!(
        "data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"}}],\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":1}}\n\n",
        "data: {\"error\":{\"message\":\"The server had an error while processing your request.\",\"type\":\"server_error\"}}\n\n",
    );
    let (_, err) = whole(&chat(Provider::OpenAi), SSE, sse.as_bytes());
    assert_eq!(err.unwrap().usage(), Some(usage(9, 1)));
    // An error chunk without usage after none: no usage is invented.
    let (_, err) = whole(
        &chat(Provider::OpenRouter),
        SSE,
        &fixture(DIR, "openrouter_error_stream.sse"),
    );
    assert_eq!(err.unwrap().usage(), None);
}

#[test]
fn error_bodies_keep_usage() {
    // A 200 body whose choice failed, with the usage of the failed generation.
    let body = br#"{"id":"gen-2","choices":[{"index":0,"finish_reason":"error","message":{"content":""},"error":{"code":502,"message":"Upstream error from provider"}}],"usage":{"prompt_tokens":120,"completion_tokens":7}}"#;
    let e = chat(Provider::OpenRouter).decode(body).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Server);
    assert_eq!(e.usage(), Some(usage(120, 7)));
    // A top-level error object next to usage in a 200 body.
    let body = br#"{"error":{"code":429,"message":"Provider returned error"},"usage":{"prompt_tokens":30,"completion_tokens":0}}"#;
    let e = chat(Provider::OpenRouter).decode(body).unwrap_err();
    assert_eq!(e.usage(), Some(usage(30, 0)));
    // A non-2xx body with usage, classified by the adapter.
    let body = br#"{"error":{"code":502,"message":"Upstream error"},"usage":{"prompt_tokens":5,"completion_tokens":2}}"#;
    let e = chat(Provider::OpenRouter).classify(502, &http::HeaderMap::new(), body);
    assert_eq!(e.kind, ErrorKind::Server);
    assert_eq!(e.usage(), Some(usage(5, 2)));
    // The usual error bodies carry none.
    let e = chat(Provider::OpenRouter)
        .decode(&fixture(DIR, "openrouter_error_200.json"))
        .unwrap_err();
    assert_eq!(e.usage(), None);
    let e = chat(Provider::OpenAi).classify(500, &http::HeaderMap::new(), b"<html>");
    assert_eq!(e.usage(), None);
}
