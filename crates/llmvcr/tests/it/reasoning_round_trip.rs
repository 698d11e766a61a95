//! Multi-turn tool loops with reasoning models, against real recordings.
//!
//! Each case is a recorded conversation in `cassettes/real/` where a later request
//! carries the reasoning state (Anthropic thinking blocks and their signatures, Gemini
//! `thoughtSignature`s, OpenAI Responses `reasoning` items with `encrypted_content`)
//! of an earlier response. The test decodes each recorded response with the adapter
//! (streamed ones whole and byte by byte, which must agree), appends
//! [`ChatResponse::to_message`] and the tool results to a neutral history, encodes the
//! next request, and checks that its assistant turns and tool results are the ones the
//! recording sent: exactly for Anthropic and the Responses API; for Gemini, every part
//! that carries a call or a signature.

use std::path::Path;

use llmvcr::cassette::RecordedInteraction;
use llmvcr::{
    Adapter, ChatRequest, ChatResponse, Message, Provider, ReasoningFormat, Role,
    StreamAccumulator, ToolCall, WireApi, adapter_for_wire,
};
use serde_json::{Value, json};

fn cassette(file: &str) -> Vec<RecordedInteraction> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../cassettes/real")
        .join(file);
    llmvcr::cassette::import::read_any(&path).unwrap_or_else(|e| panic!("{file}: {e}"))
}

fn request_body(interaction: &RecordedInteraction) -> Value {
    interaction
        .request
        .body
        .as_json()
        .expect("a JSON request body")
}

fn content_type(interaction: &RecordedInteraction) -> Option<String> {
    interaction
        .response
        .decoded_headers()
        .get("content-type")
        .map(str::to_string)
}

fn is_stream(interaction: &RecordedInteraction) -> bool {
    interaction.request.uri.contains(":streamGenerateContent")
        || request_body(interaction)["stream"] == json!(true)
}

fn fold(adapter: &dyn Adapter, content_type: Option<&str>, chunks: &[&[u8]]) -> ChatResponse {
    let mut decoder = adapter.stream_decoder(content_type);
    let mut acc = StreamAccumulator::new();
    for chunk in chunks {
        decoder
            .feed(chunk)
            .unwrap()
            .iter()
            .for_each(|e| acc.push(e));
    }
    decoder.finish().unwrap().iter().for_each(|e| acc.push(e));
    acc.finish()
}

/// The recorded response, decoded. A stream is decoded whole and byte by byte, and
/// the two must agree.
fn decode(adapter: &dyn Adapter, interaction: &RecordedInteraction) -> ChatResponse {
    let body = interaction.response.body.as_bytes();
    if !is_stream(interaction) {
        return adapter.decode(&body).unwrap();
    }
    let ct = content_type(interaction);
    let whole = fold(adapter, ct.as_deref(), &[&body]);
    let bytes: Vec<&[u8]> = body.chunks(1).collect();
    assert_eq!(fold(adapter, ct.as_deref(), &bytes), whole, "byte by byte");
    whole
}

/// A tool result message for `call` with `output`.
fn tool_result(call: &ToolCall, output: String) -> Message {
    Message {
        name: Some(call.name.clone()),
        tool_call_id: call.id.clone(),
        ..Message::text(Role::Tool, output)
    }
}

/// What a check compares: the parts of an encoded request that carry the
/// conversation's assistant turns and tool results, normalised where the recording
/// client's spelling differs from ours without changing meaning.
type Turns = fn(&Value) -> Value;

/// Replays the recorded conversation in `file` from its first request: each response
/// in `responses` is decoded, appended with its tool results (their outputs as the
/// next recorded request has them), and the next request is encoded and checked
/// against the recorded one with `turns`. Returns the number of reasoning items the
/// checked requests carried back.
fn replay(
    wire: WireApi,
    provider: Provider,
    file: &str,
    responses: std::ops::Range<usize>,
    tool_output: fn(&Value, &ToolCall) -> String,
    turns: Turns,
) -> usize {
    let interactions = cassette(file);
    let adapter = adapter_for_wire(wire, provider);
    let model = "model";
    let mut messages = vec![Message::user("The prompt; not compared.")];
    let mut carried = 0;
    for i in responses {
        let response = decode(adapter.as_ref(), &interactions[i]);
        let next = request_body(&interactions[i + 1]);
        messages.push(response.to_message());
        for call in &response.tool_calls {
            messages.push(tool_result(call, tool_output(&next, call)));
        }
        carried += messages
            .iter()
            .map(|m| m.reasoning_items.len())
            .sum::<usize>();
        let mut request = ChatRequest::new(model);
        request.messages = messages.clone();
        let ours = adapter.encode(&request).unwrap();
        assert_eq!(
            turns(&ours),
            turns(&next),
            "{file}: request #{} as encoded from response #{i}",
            i + 1
        );
    }
    carried
}

// ---------------------------------------------------------------------------------
// Anthropic

/// The assistant messages and the user messages holding tool results.
fn anthropic_turns(body: &Value) -> Value {
    let messages = body["messages"].as_array().unwrap();
    let kept: Vec<&Value> = messages
        .iter()
        .filter(|m| {
            m["role"] == "assistant"
                || m["content"]
                    .as_array()
                    .is_some_and(|c| c.iter().any(|b| b["type"] == "tool_result"))
        })
        .collect();
    json!(kept)
}

fn anthropic_tool_output(next: &Value, call: &ToolCall) -> String {
    let id = call.id.as_deref().unwrap();
    next["messages"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|m| m["content"].as_array().into_iter().flatten())
        .find(|b| b["type"] == "tool_result" && b["tool_use_id"] == id)
        .and_then(|b| b["content"].as_str())
        .expect("the recorded tool result")
        .to_string()
}

#[test]
fn anthropic_streamed_thinking_and_signature_go_back_before_the_tool_call() {
    // Extended thinking, streamed: a thinking block (its text and signature from
    // `thinking_delta` and `signature_delta`), then a tool_use block. The next
    // request sends both back exactly, then the tool result.
    let carried = replay(
        WireApi::AnthropicMessages,
        Provider::Anthropic,
        "anthropic/simonw__llm-anthropic__cassettes__test_anthropic__test_fixed_version_tool_chain_with_thinking_display_regression.yaml",
        0..1,
        anthropic_tool_output,
        anthropic_turns,
    );
    assert_eq!(carried, 1);
}

#[test]
fn anthropic_thinking_block_goes_back_before_the_text() {
    // Not streamed: thinking then text; the next request repeats the turn exactly.
    let carried = replay(
        WireApi::AnthropicMessages,
        Provider::Anthropic,
        "anthropic/pydantic__pydantic-ai__cassettes__test_cache_prefix_stability__test_anthropic_thinking_agui_0_1_10_drops_prefix.yaml",
        0..1,
        anthropic_tool_output,
        anthropic_turns,
    );
    assert_eq!(carried, 1);
}

#[test]
fn anthropic_redacted_thinking_goes_back_as_it_came() {
    let file = "anthropic/pydantic__pydantic-ai__models__cassettes__test_anthropic__test_anthropic_model_thinking_part_redacted_stream.yaml";
    let interactions = cassette(file);
    let adapter = adapter_for_wire(WireApi::AnthropicMessages, Provider::Anthropic);
    let response = decode(adapter.as_ref(), &interactions[0]);
    // The blocks that the stream opened whole: both redacted_thinking blocks.
    let body = String::from_utf8(interactions[0].response.body.as_bytes().to_vec()).unwrap();
    let redacted: Vec<Value> = body
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .map(|d| serde_json::from_str::<Value>(d).unwrap())
        .filter(|d| d["type"] == "content_block_start")
        .map(|d| d["content_block"].clone())
        .filter(|b| b["type"] == "redacted_thinking")
        .collect();
    assert_eq!(redacted.len(), 2);
    let request = ChatRequest::new("m")
        .user("Hi")
        .message(response.to_message())
        .user("Again");
    let encoded = adapter.encode(&request).unwrap();
    let mut expected = redacted;
    expected.push(json!({"type": "text", "text": response.text}));
    assert_eq!(encoded["messages"][1]["content"], json!(expected));
}

// ---------------------------------------------------------------------------------
// Gemini

/// A base64 signature in one alphabet: some clients send back the URL-safe form of
/// the standard base64 they received, which Gemini accepts as the same bytes.
fn standard_base64(s: &str) -> String {
    s.replace('-', "+")
        .replace('_', "/")
        .trim_end_matches('=')
        .to_string()
}

/// For each `model` turn, the parts that carry a function call or a signature, with
/// snake_case keys (which some clients send) in camelCase, signatures in one base64
/// alphabet, and call ids that the client made up (absent from the response, so
/// absent from what we send) left out.
fn gemini_turns(body: &Value) -> Value {
    let camel = |k: &str| match k {
        "function_call" => "functionCall".to_string(),
        "thought_signature" => "thoughtSignature".to_string(),
        other => other.to_string(),
    };
    let turns: Vec<Value> = body["contents"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["role"] == "model")
        .map(|c| {
            let parts: Vec<Value> = c["parts"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| {
                    let mut part = serde_json::Map::new();
                    for (k, v) in p.as_object().unwrap() {
                        part.insert(camel(k), v.clone());
                    }
                    part
                })
                .filter(|p| p.contains_key("functionCall") || p.contains_key("thoughtSignature"))
                .map(|mut p| {
                    if let Some(Value::String(s)) = p.get("thoughtSignature") {
                        let s = standard_base64(s);
                        p.insert("thoughtSignature".into(), json!(s));
                    }
                    if let Some(Value::Object(call)) = p.get_mut("functionCall") {
                        let made_up = call
                            .get("id")
                            .and_then(Value::as_str)
                            .is_some_and(|id| id.starts_with("pyd_ai_") || id.starts_with("call_"));
                        if made_up {
                            call.remove("id");
                        }
                    }
                    Value::Object(p)
                })
                .collect();
            json!(parts)
        })
        .collect();
    json!(turns)
}

fn gemini_tool_output(_next: &Value, _call: &ToolCall) -> String {
    "{\"result\": \"not compared\"}".to_string()
}

fn gemini(file: &str, responses: std::ops::Range<usize>) -> usize {
    replay(
        WireApi::Gemini,
        Provider::Gemini,
        file,
        responses,
        gemini_tool_output,
        gemini_turns,
    )
}

#[test]
fn gemini_3_signature_on_a_streamed_call_json_array() {
    let carried = gemini(
        "gemini/simonw__llm-gemini__cassettes__test_gemini__test_tools_with_gemini_3_thought_signatures.yaml",
        0..1,
    );
    assert_eq!(carried, 1);
}

#[test]
fn gemini_3_signature_on_a_streamed_call_sse() {
    let carried = gemini(
        "gemini/pydantic__pydantic-ai__models__cassettes__test_google__test_google_streaming_tool_call_thought_signature.yaml",
        0..1,
    );
    assert_eq!(carried, 1);
}

#[test]
fn gemini_signature_on_a_call_with_a_provider_id() {
    // The call has an id from the model; the next request sends it back with it.
    let carried = gemini(
        "gemini/simonw__llm-gemini__cassettes__test_gemini__test_tools_with_nested_pydantic_models.yaml",
        0..1,
    );
    assert_eq!(carried, 1);
    let carried = gemini(
        "gemini/pydantic__pydantic-ai__models__cassettes__test_google__test_google_vertex_tool_combination_omits_include_server_side_tool_invocations.yaml",
        0..1,
    );
    assert_eq!(carried, 1);
}

#[test]
fn gemini_2_5_signature_on_a_call() {
    gemini(
        "gemini/pydantic__pydantic-ai__models__cassettes__test_google__test_google_text_output_function.yaml",
        0..1,
    );
    gemini(
        "gemini/pydantic__pydantic-ai__models__cassettes__test_multimodal_tool_returns__test_multimodal_tool_return_matrix_direct-uploaded_file-document-google_2_5_.yaml",
        0..1,
    );
}

#[test]
fn gemini_thought_part_then_signed_call_over_two_tool_turns() {
    // Response #0: a thought summary, then a call with a signature. Response #1: a
    // second call without one. Request #2 repeats both model turns.
    let carried = gemini(
        "gemini/simonw__llm-gemini__cassettes__test_gemini__test_tools.yaml",
        0..2,
    );
    assert_eq!(carried, 1 + 1);
}

// ---------------------------------------------------------------------------------
// OpenAI Responses

/// The input items after the first user message: reasoning items, assistant
/// messages, function calls (arguments compared as JSON, since clients reformat
/// them) and function call outputs.
fn responses_turns(body: &Value) -> Value {
    let items: Vec<Value> = body["input"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["role"] != "user" && i["role"] != "system")
        .map(|i| {
            let mut i = i.clone();
            if i["type"] == "function_call"
                && let Some(args) = i["arguments"].as_str()
            {
                i["arguments"] = serde_json::from_str(args).unwrap();
            }
            i
        })
        .collect();
    json!(items)
}

fn responses_tool_output(next: &Value, call: &ToolCall) -> String {
    let id = call.id.as_deref().unwrap();
    next["input"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["type"] == "function_call_output" && i["call_id"] == id)
        .and_then(|i| i["output"].as_str())
        .expect("the recorded tool output")
        .to_string()
}

#[test]
fn responses_encrypted_reasoning_goes_back_before_its_call() {
    // Response #0: reasoning (encrypted_content) and a call; response #1: a call
    // alone. Request #2 carries the reasoning item, both calls and both outputs.
    let carried = replay(
        WireApi::OpenAiResponses,
        Provider::OpenAi,
        "openai/simonw__llm__cassettes__test_openai_responses__test_responses_round_trips_encrypted_reasoning.yaml",
        0..2,
        responses_tool_output,
        responses_turns,
    );
    assert_eq!(carried, 1 + 1);
}

#[test]
fn responses_reasoning_interleaved_between_tool_calls() {
    // Four turns, each a reasoning item and a call; every request carries all the
    // reasoning items so far, each before its own call.
    let carried = replay(
        WireApi::OpenAiResponses,
        Provider::OpenAi,
        "openai/simonw__llm__cassettes__test_openai_responses__test_responses_interleaved_reasoning_between_tool_calls.yaml",
        0..3,
        responses_tool_output,
        responses_turns,
    );
    assert_eq!(carried, 1 + 2 + 3);
}

// ---------------------------------------------------------------------------------
// Across providers

#[test]
fn reasoning_state_is_dropped_when_sent_to_another_provider() {
    let anthropic = adapter_for_wire(WireApi::AnthropicMessages, Provider::Anthropic);
    let gemini = adapter_for_wire(WireApi::Gemini, Provider::Gemini);
    let responses = adapter_for_wire(WireApi::OpenAiResponses, Provider::OpenAi);
    let azure = adapter_for_wire(WireApi::OpenAiResponses, Provider::Azure);
    let chat = adapter_for_wire(WireApi::OpenAiChat, Provider::OpenRouter);

    let from_anthropic = decode(
        anthropic.as_ref(),
        &cassette(
            "anthropic/simonw__llm-anthropic__cassettes__test_anthropic__test_fixed_version_tool_chain_with_thinking_display_regression.yaml",
        )[0],
    );
    let from_gemini = decode(
        gemini.as_ref(),
        &cassette(
            "gemini/simonw__llm-gemini__cassettes__test_gemini__test_tools_with_gemini_3_thought_signatures.yaml",
        )[0],
    );
    let from_openai = decode(
        responses.as_ref(),
        &cassette(
            "openai/simonw__llm__cassettes__test_openai_responses__test_responses_round_trips_encrypted_reasoning.yaml",
        )[0],
    );
    for (response, format) in [
        (&from_anthropic, ReasoningFormat::AnthropicMessages),
        (&from_gemini, ReasoningFormat::Gemini),
        (&from_openai, ReasoningFormat::OpenAiResponses),
    ] {
        assert_eq!(response.reasoning_items.len(), 1);
        assert_eq!(response.reasoning_items[0].format, format);
    }

    let body = |adapter: &dyn Adapter, response: &ChatResponse| -> String {
        let mut message = response.to_message();
        for (i, call) in message.tool_calls.iter_mut().enumerate() {
            // Gemini gave no call id; Anthropic and the Responses API need one.
            call.id.get_or_insert_with(|| format!("call_{i}"));
        }
        let mut request = ChatRequest::new("m").user("Hi").message(message.clone());
        for call in &message.tool_calls {
            request = request.message(tool_result(call, "ok".into()));
        }
        adapter.encode(&request).unwrap().to_string()
    };
    let signature = |r: &ChatResponse| -> String {
        let data = &r.reasoning_items[0].data;
        ["signature", "thoughtSignature", "encrypted_content"]
            .iter()
            .find_map(|k| data[*k].as_str())
            .unwrap()
            .to_string()
    };
    for (adapter, own) in [
        (&anthropic, &from_anthropic),
        (&gemini, &from_gemini),
        (&responses, &from_openai),
    ] {
        for other in [&from_anthropic, &from_gemini, &from_openai] {
            let sent = body(adapter.as_ref(), other);
            let carries = sent.contains(&signature(other));
            assert_eq!(carries, std::ptr::eq(own, other), "{sent}");
        }
    }
    // The same wire format at another provider: dropped too.
    assert!(!body(azure.as_ref(), &from_openai).contains(&signature(&from_openai)));
    let sent = body(chat.as_ref(), &from_anthropic);
    assert!(!sent.contains("signature") && !sent.contains("thinking"));
}
