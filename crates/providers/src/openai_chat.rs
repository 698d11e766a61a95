//! OpenAI Chat Completions: `POST {base_url}/chat/completions`.
//!
//! One adapter serves every server that speaks this wire format. The endpoint's
//! [`Provider`] selects the few places where they differ:
//!
//! | provider | quirk |
//! |---|---|
//! | OpenAI, Azure | the output limit is sent as `max_completion_tokens` (o-series and gpt-5 reject `max_tokens`) |
//! | Azure | `?api-version=` is appended when the endpoint has one; the first stream chunk has empty `choices` |
//! | OpenRouter | reasoning effort is sent as `reasoning: {effort}`; errors can arrive inside an HTTP 200 body or stream, with the `usage` of the failed generation in the same chunk; reasoning comes back as `reasoning` / `reasoning_details` |
//! | Groq | stream usage can arrive under `x_groq.usage`; reasoning comes back as `reasoning` |
//! | Mistral | no `stream_options` (usage is always in the last chunk); `content` may be an array with `thinking` parts; tool arguments may be a JSON object; cached tokens may be reported as `num_cached_tokens` |
//! | LM Studio, Ollama, others | the plain OpenAI dialect with `max_tokens` |
//!
//! An error keeps the usage reported with it (in an error chunk, an error body, or a
//! body whose choice failed) or, in a stream, before it: see
//! [`Error::usage`](llmvcr_core::Error::usage).
//!
//! Decoding keeps reasoning apart from the answer text: `reasoning_content`,
//! `reasoning`, OpenRouter's `reasoning_details` and Mistral's `thinking` parts all go
//! to [`ChatResponse::reasoning`]. A `refusal` is not part of the text. Reasoning that a
//! model writes inline (`<think>…</think>` in `content`) is left in the text as sent.
//!
//! Each entry of OpenRouter's `reasoning_details` (thinking text with its signature,
//! encrypted or summarised reasoning) also becomes a
//! [`ReasoningItem`]; streamed fragments are merged by
//! `type` and `index`. An assistant message sends its items back, unchanged, as
//! `reasoning_details` to the provider that produced them; other providers never get
//! them.
//!
//! ```
//! use llmvcr_core::{ChatRequest, Provider};
//! use llmvcr_providers::Adapter;
//! use llmvcr_providers::openai_chat::OpenAiChat;
//!
//! let adapter = OpenAiChat::new(Provider::Groq);
//! let body = adapter.encode(&ChatRequest::new("llama-3.3-70b").user("hi").max_tokens(5)).unwrap();
//! assert_eq!(body["max_tokens"], 5);
//!
//! let response = adapter
//!     .decode(br#"{"choices":[{"index":0,"message":{"content":"hello"},"finish_reason":"stop"}]}"#)
//!     .unwrap();
//! assert_eq!(response.text, "hello");
//! ```

use std::fmt::Debug;

use http::{HeaderMap, Method};
use llmvcr_core::{
    ChatRequest, ChatResponse, ContentPart, Error, FinishKind, FinishReason, Message, Provider,
    ReasoningAnchor, ReasoningFormat, ReasoningItem, ResponseFormat, Result, Role, StreamEvent,
    ToolCall, ToolChoice, ToolSpec, Usage,
};
use llmvcr_framing::StreamFormat;
use serde_json::{Map, Value, json};

use crate::adapter::{Adapter, StreamDecoder, WireRequest};
use crate::endpoint::{Endpoint, WireApi};
use crate::error::{classify_http, error_in_body};
use crate::frames::{FrameDecoder, FrameHandler, JsonFrame, StartTracker, format_for, parse_body};
use crate::wire::{
    bad_request, build_url, image_url, merge_extra, non_empty_str, number, standard_headers,
    text_only,
};

/// The OpenAI Chat Completions adapter, for OpenAI and every compatible server.
#[derive(Debug, Clone)]
pub struct OpenAiChat {
    provider: Provider,
}

impl OpenAiChat {
    /// An adapter applying `provider`'s quirks.
    pub fn new(provider: Provider) -> OpenAiChat {
        OpenAiChat { provider }
    }

    /// The body field that carries the output limit.
    fn max_tokens_field(&self) -> &'static str {
        match self.provider {
            Provider::OpenAi | Provider::Azure => "max_completion_tokens",
            _ => "max_tokens",
        }
    }

    /// Whether a streaming request asks for a final usage chunk.
    fn sends_stream_options(&self) -> bool {
        self.provider != Provider::Mistral
    }

    fn encode_message(&self, message: &Message) -> Result<Value> {
        let mut out = Map::new();
        out.insert("role".into(), json!(message.role.as_str()));
        match message.role {
            Role::User => {
                out.insert("content".into(), user_content(&message.content));
            }
            Role::Tool => {
                let id = message.tool_call_id.as_deref().ok_or_else(|| {
                    bad_request(self.provider, "a tool message needs a tool_call_id")
                })?;
                out.insert("tool_call_id".into(), json!(id));
                out.insert("content".into(), json!(text_only(self.provider, message)?));
            }
            Role::System => {
                out.insert("content".into(), json!(text_only(self.provider, message)?));
            }
            Role::Assistant => {
                let text = text_only(self.provider, message)?;
                if message.tool_calls.is_empty() || !text.is_empty() {
                    out.insert("content".into(), json!(text));
                }
                if !message.tool_calls.is_empty() {
                    let calls: Vec<Value> =
                        message.tool_calls.iter().map(encode_tool_call).collect();
                    out.insert("tool_calls".into(), Value::Array(calls));
                }
                // OpenRouter's reasoning blocks go back unchanged, in order.
                let details: Vec<Value> = message
                    .reasoning_items
                    .iter()
                    .filter(|i| i.is_for(self.provider, ReasoningFormat::OpenAiChat))
                    .map(|i| i.data.clone())
                    .collect();
                if !details.is_empty() {
                    out.insert("reasoning_details".into(), Value::Array(details));
                }
            }
        }
        if let Some(name) = &message.name {
            out.insert("name".into(), json!(name));
        }
        Ok(Value::Object(out))
    }
}

impl Adapter for OpenAiChat {
    fn wire_api(&self) -> WireApi {
        WireApi::OpenAiChat
    }

    fn provider(&self) -> Provider {
        self.provider
    }

    fn encode(&self, request: &ChatRequest) -> Result<Value> {
        let p = self.provider;
        let mut body = Map::new();
        body.insert("model".into(), json!(request.model));
        let messages = request
            .messages
            .iter()
            .map(|m| self.encode_message(m))
            .collect::<Result<Vec<_>>>()?;
        body.insert("messages".into(), Value::Array(messages));
        if !request.tools.is_empty() {
            let tools = request
                .tools
                .iter()
                .map(|t| json!({"type": "function", "function": function_spec(t, t.strict)}))
                .collect();
            body.insert("tools".into(), Value::Array(tools));
        }
        if let Some(choice) = &request.tool_choice {
            let value = encode_tool_choice(
                choice,
                |name| json!({"type": "function", "function": {"name": name}}),
            );
            body.insert("tool_choice".into(), value);
        }
        if let Some(t) = request.temperature {
            body.insert("temperature".into(), number(p, "temperature", t)?);
        }
        if let Some(t) = request.top_p {
            body.insert("top_p".into(), number(p, "top_p", t)?);
        }
        if let Some(n) = request.max_tokens {
            body.insert(self.max_tokens_field().into(), json!(n));
        }
        if !request.stop.is_empty() {
            body.insert("stop".into(), json!(request.stop));
        }
        if let Some(format) = &request.response_format {
            body.insert("response_format".into(), encode_format(format, false));
        }
        if p == Provider::OpenRouter {
            if let Some(effort) = request.reasoning_effort {
                body.insert("reasoning".into(), json!({"effort": effort.as_str()}));
            } else if let Some(budget) = request.thinking_budget {
                body.insert("reasoning".into(), json!({"max_tokens": budget}));
            }
        } else if let Some(effort) = request.reasoning_effort {
            body.insert("reasoning_effort".into(), json!(effort.as_str()));
        }
        if request.stream {
            body.insert("stream".into(), json!(true));
            if self.sends_stream_options() {
                body.insert("stream_options".into(), json!({"include_usage": true}));
            }
        }
        merge_extra(&mut body, &request.extra);
        Ok(Value::Object(body))
    }

    fn build(&self, endpoint: &Endpoint, request: &ChatRequest) -> Result<WireRequest> {
        Ok(WireRequest {
            method: Method::POST,
            url: build_url(endpoint, "/chat/completions"),
            headers: standard_headers(endpoint)?,
            body: self.encode(request)?,
        })
    }

    fn decode(&self, body: &[u8]) -> Result<ChatResponse> {
        let value = parse_body(body, self.provider)?;
        if let Some(err) = error_in_body(self.provider, &value) {
            return Err(err.with_usage(chat_usage(&value)));
        }
        if !value.is_object() {
            return Err(not_an_object(self.provider, "response body"));
        }
        let mut response = ChatResponse {
            id: non_empty_str(&value, "id"),
            model: non_empty_str(&value, "model"),
            usage: chat_usage(&value),
            ..ChatResponse::default()
        };
        let Some(choice) = first_choice(&value) else {
            return Ok(response);
        };
        if let Some(err) = choice_error(self.provider, choice) {
            return Err(err.with_usage(response.usage));
        }
        let message = choice.get("message").unwrap_or(&Value::Null);
        let content = split_content(message.get("content"));
        response.text = content.text;
        response.reasoning = reasoning_of(message);
        response.reasoning.push_str(&content.thinking);
        response.reasoning_items = message
            .get("reasoning_details")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter(|d| d.is_object())
            .map(|d| detail_item(self.provider, d.clone()))
            .collect();
        response.tool_calls = message
            .get("tool_calls")
            .and_then(Value::as_array)
            .map(|calls| calls.iter().filter_map(decode_tool_call).collect())
            .unwrap_or_default();
        if response.tool_calls.is_empty()
            && let Some(call) = message.get("function_call").and_then(decode_function_call)
        {
            response.tool_calls.push(call);
        }
        response.finish_reason = choice
            .get("finish_reason")
            .and_then(Value::as_str)
            .map(chat_finish);
        Ok(response)
    }

    fn stream_decoder(&self, content_type: Option<&str>) -> Box<dyn StreamDecoder> {
        Box::new(FrameDecoder::new(
            format_for(content_type, StreamFormat::Sse),
            self.provider,
            ChatStream::new(self.provider),
        ))
    }

    /// Classifies a non-2xx response, keeping the `usage` its body reports, if any
    /// (the tokens a compatible server counted before it failed).
    fn classify(&self, status: u16, headers: &HeaderMap, body: &[u8]) -> Error {
        let usage = serde_json::from_slice::<Value>(body)
            .ok()
            .as_ref()
            .and_then(chat_usage);
        classify_http(self.provider, status, headers, body).with_usage(usage)
    }
}

// ---------------------------------------------------------------------------
// Request encoding helpers
// ---------------------------------------------------------------------------

/// The fields of a function tool, as both OpenAI APIs spell them: `name`,
/// `description` when there is one, `parameters`, and `strict` when `strict` is set.
pub(crate) fn function_spec(tool: &ToolSpec, strict: Option<bool>) -> Map<String, Value> {
    let mut spec = Map::new();
    spec.insert("name".into(), json!(tool.name));
    if let Some(d) = &tool.description {
        spec.insert("description".into(), json!(d));
    }
    spec.insert("parameters".into(), tool.parameters.clone());
    if let Some(strict) = strict {
        spec.insert("strict".into(), json!(strict));
    }
    spec
}

/// A response format. Chat Completions nests a schema under `json_schema`; the
/// Responses API puts its fields next to `type` (`flat`).
pub(crate) fn encode_format(format: &ResponseFormat, flat: bool) -> Value {
    match format {
        ResponseFormat::Text => json!({"type": "text"}),
        ResponseFormat::JsonObject => json!({"type": "json_object"}),
        ResponseFormat::JsonSchema {
            name,
            schema,
            strict,
        } => {
            let mut spec = Map::new();
            spec.insert("name".into(), json!(name));
            spec.insert("schema".into(), schema.clone());
            if let Some(strict) = strict {
                spec.insert("strict".into(), json!(strict));
            }
            if flat {
                let mut out = Map::new();
                out.insert("type".into(), json!("json_schema"));
                out.extend(spec);
                Value::Object(out)
            } else {
                json!({"type": "json_schema", "json_schema": spec})
            }
        }
    }
}

/// `tool_choice` for both OpenAI APIs: a mode string, or the API's object naming one
/// function (`named` builds that object).
pub(crate) fn encode_tool_choice(choice: &ToolChoice, named: impl Fn(&str) -> Value) -> Value {
    match choice {
        ToolChoice::Auto => json!("auto"),
        ToolChoice::None => json!("none"),
        ToolChoice::Required => json!("required"),
        ToolChoice::Tool(name) => named(name),
    }
}

fn encode_tool_call(call: &ToolCall) -> Value {
    let mut out = Map::new();
    if let Some(id) = &call.id {
        out.insert("id".into(), json!(id));
    }
    out.insert("type".into(), json!("function"));
    out.insert(
        "function".into(),
        json!({"name": call.name, "arguments": call.arguments_string()}),
    );
    Value::Object(out)
}

/// A user message's content: a plain string when it is one text part, otherwise an
/// array of `text` and `image_url` parts.
fn user_content(parts: &[ContentPart]) -> Value {
    match parts {
        [] => json!(""),
        [ContentPart::Text { text }] => json!(text),
        parts => Value::Array(
            parts
                .iter()
                .map(|part| match part {
                    ContentPart::Text { text } => json!({"type": "text", "text": text}),
                    ContentPart::Image { source, detail } => {
                        let mut image = Map::new();
                        image.insert("url".into(), json!(image_url(source)));
                        if let Some(d) = detail {
                            image.insert("detail".into(), json!(d));
                        }
                        json!({"type": "image_url", "image_url": image})
                    }
                })
                .collect(),
        ),
    }
}

fn not_an_object(provider: Provider, what: &str) -> Error {
    Error::decode(format!("{what} is not a JSON object")).with_provider(provider)
}

/// The choice with `index` 0 (a choice without an index counts as 0).
fn first_choice(value: &Value) -> Option<&Value> {
    value
        .get("choices")?
        .as_array()?
        .iter()
        .find(|c| is_first_choice(c))
}

fn is_first_choice(choice: &Value) -> bool {
    choice.get("index").and_then(Value::as_u64).unwrap_or(0) == 0
}

/// An error object inside a choice (OpenRouter reports upstream failures that way).
fn choice_error(provider: Provider, choice: &Value) -> Option<Error> {
    match choice.get("error") {
        Some(e) if !e.is_null() => error_in_body(provider, choice),
        _ => None,
    }
}

/// Answer text and `thinking` text of a message's `content`.
#[derive(Debug, Default)]
struct Content {
    text: String,
    thinking: String,
}

/// Splits `content` (a string, or an array of `text` / `thinking` parts) into answer
/// text and thinking text.
fn split_content(content: Option<&Value>) -> Content {
    let mut out = Content::default();
    match content {
        Some(Value::String(s)) => out.text.push_str(s),
        Some(Value::Array(parts)) => {
            for part in parts {
                match part.get("type").and_then(Value::as_str) {
                    Some("text") => push_str_field(&mut out.text, part, "text"),
                    Some("thinking") => out.thinking.push_str(&thinking_text(part.get("thinking"))),
                    _ => {}
                }
            }
        }
        _ => {}
    }
    out
}

/// Mistral's `thinking` value: a string, or an array of `{type: text, text}` chunks.
fn thinking_text(value: Option<&Value>) -> String {
    let mut out = String::new();
    match value {
        Some(Value::String(s)) => out.push_str(s),
        Some(Value::Array(chunks)) => {
            for chunk in chunks {
                push_str_field(&mut out, chunk, "text");
            }
        }
        _ => {}
    }
    out
}

fn push_str_field(out: &mut String, value: &Value, key: &str) {
    if let Some(s) = value.get(key).and_then(Value::as_str) {
        out.push_str(s);
    }
}

/// The reasoning of a message or delta: `reasoning_content`, else `reasoning`, else
/// the text of OpenRouter's `reasoning_details`.
fn reasoning_of(message: &Value) -> String {
    for key in ["reasoning_content", "reasoning"] {
        if let Some(s) = message.get(key).and_then(Value::as_str)
            && !s.is_empty()
        {
            return s.to_string();
        }
    }
    let mut out = String::new();
    if let Some(details) = message.get("reasoning_details").and_then(Value::as_array) {
        for d in details {
            match d.get("type").and_then(Value::as_str) {
                Some("reasoning.summary") => push_str_field(&mut out, d, "summary"),
                _ => push_str_field(&mut out, d, "text"),
            }
        }
    }
    out
}

/// One `reasoning_details` entry as a reasoning item. The entries belong to the
/// message as a whole, not to a place in it.
fn detail_item(provider: Provider, detail: Value) -> ReasoningItem {
    ReasoningItem::new(
        provider,
        ReasoningFormat::OpenAiChat,
        ReasoningAnchor::default(),
        detail,
    )
}

/// Merges a streamed `reasoning_details` fragment into the entries so far: a fragment
/// continues the entry of the same `type` and `index` (0 when absent), appending its
/// `text`, `summary` and `data` and replacing its other non-null fields; any other
/// fragment starts an entry.
fn merge_detail(details: &mut Vec<Map<String, Value>>, fragment: &Map<String, Value>) {
    let key = |d: &Map<String, Value>| {
        (
            d.get("type").cloned().unwrap_or(Value::Null),
            d.get("index").and_then(Value::as_u64).unwrap_or(0),
        )
    };
    let Some(entry) = details.iter_mut().find(|d| key(d) == key(fragment)) else {
        details.push(fragment.clone());
        return;
    };
    for (k, v) in fragment {
        match (k.as_str(), entry.get_mut(k), v) {
            ("text" | "summary" | "data", Some(Value::String(so_far)), Value::String(more)) => {
                so_far.push_str(more);
            }
            (_, _, Value::Null) => {}
            _ => {
                entry.insert(k.clone(), v.clone());
            }
        }
    }
}

fn decode_tool_call(call: &Value) -> Option<ToolCall> {
    let (function, arguments) = call_parts(call)?;
    let name = function
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or_default();
    Some(tool_call(non_empty_str(call, "id"), name, arguments))
}

/// The body of a `tool_calls[]` entry and its arguments: `function.arguments` for
/// function tools, `custom.input` (free-form text) for custom tools.
fn call_parts(call: &Value) -> Option<(&Value, Option<&Value>)> {
    if let Some(function) = call.get("function") {
        return Some((function, function.get("arguments")));
    }
    let custom = call.get("custom")?;
    Some((custom, custom.get("input")))
}

fn decode_function_call(call: &Value) -> Option<ToolCall> {
    let name = call.get("name").and_then(Value::as_str)?;
    Some(tool_call(None, name, call.get("arguments")))
}

/// A tool call whose arguments arrived as a JSON string (OpenAI) or a JSON value
/// (Mistral); absent arguments count as an empty string.
pub(crate) fn tool_call(id: Option<String>, name: &str, arguments: Option<&Value>) -> ToolCall {
    match arguments {
        Some(Value::String(raw)) => ToolCall::from_raw(id, name, raw),
        None | Some(Value::Null) => ToolCall::from_raw(id, name, ""),
        Some(other) => ToolCall::from_value(id, name, other.clone()),
    }
}

/// Arguments as the text a stream delta carries.
fn arguments_text(arguments: Option<&Value>) -> String {
    match arguments {
        Some(Value::String(raw)) => raw.clone(),
        None | Some(Value::Null) => String::new(),
        Some(other) => other.to_string(),
    }
}

/// Normalises a Chat Completions `finish_reason`.
fn chat_finish(raw: &str) -> FinishReason {
    let kind = match raw {
        "stop" => FinishKind::Stop,
        "length" | "model_length" => FinishKind::Length,
        "tool_calls" | "function_call" => FinishKind::ToolCalls,
        "content_filter" => FinishKind::ContentFilter,
        "error" => FinishKind::Error,
        _ => FinishKind::Other,
    };
    FinishReason::new(kind, raw)
}

/// Where the token counts of a usage object live.
#[derive(Debug, Clone, Copy)]
pub(crate) struct UsageKeys {
    /// All input tokens.
    pub(crate) input: &'static str,
    /// All output tokens.
    pub(crate) output: &'static str,
    /// The object holding `cached_tokens` and `cache_write_tokens`.
    pub(crate) input_details: &'static str,
    /// The object holding `reasoning_tokens`.
    pub(crate) output_details: &'static str,
}

/// Chat Completions usage field names.
pub(crate) const CHAT_USAGE: UsageKeys = UsageKeys {
    input: "prompt_tokens",
    output: "completion_tokens",
    input_details: "prompt_tokens_details",
    output_details: "completion_tokens_details",
};

/// Reads an OpenAI-style usage object. `None` unless `usage` is an object; missing
/// counts are 0.
///
/// The input count already includes cached tokens and the output count already
/// includes reasoning tokens, so both are taken as they are. Cached tokens fall back
/// to Mistral's `num_cached_tokens`.
pub(crate) fn usage_from(usage: &Value, keys: UsageKeys) -> Option<Usage> {
    if !usage.is_object() {
        return None;
    }
    let input_details = usage.get(keys.input_details);
    let detail =
        |details: Option<&Value>, key: &str| details.and_then(|d| d.get(key)).and_then(count);
    Some(Usage {
        input_tokens: usage.get(keys.input).and_then(count).unwrap_or(0),
        output_tokens: usage.get(keys.output).and_then(count).unwrap_or(0),
        cached_input_tokens: detail(input_details, "cached_tokens")
            .or_else(|| usage.get("num_cached_tokens").and_then(count))
            .unwrap_or(0),
        cache_write_tokens: detail(input_details, "cache_write_tokens").unwrap_or(0),
        reasoning_tokens: detail(usage.get(keys.output_details), "reasoning_tokens").unwrap_or(0),
    })
}

/// A token count: a non-negative integer, or a float with no fraction.
fn count(value: &Value) -> Option<u64> {
    value.as_u64().or_else(|| {
        value
            .as_f64()
            .filter(|f| f.is_finite() && *f >= 0.0 && f.fract() == 0.0 && *f <= u64::MAX as f64)
            .map(|f| f as u64)
    })
}

/// The usage of a body or chunk: `usage`, else Groq's `x_groq.usage`.
fn chat_usage(value: &Value) -> Option<Usage> {
    value
        .get("usage")
        .and_then(|u| usage_from(u, CHAT_USAGE))
        .or_else(|| {
            value
                .get("x_groq")
                .and_then(|x| x.get("usage"))
                .and_then(|u| usage_from(u, CHAT_USAGE))
        })
}

// ---------------------------------------------------------------------------
// Streams
// ---------------------------------------------------------------------------

/// What a chat stream has said about one tool call.
#[derive(Debug)]
struct CallSlot {
    index: usize,
    id: Option<String>,
    name: Option<String>,
}

/// Chat Completions chunk handling.
///
/// OpenRouter's `reasoning_details` arrive in fragments; they are merged and sent as
/// reasoning items when the stream ends.
#[derive(Debug)]
struct ChatStream {
    provider: Provider,
    start: StartTracker,
    calls: Vec<CallSlot>,
    last_call: Option<usize>,
    finish: Option<String>,
    details: Vec<Map<String, Value>>,
}

impl ChatStream {
    fn new(provider: Provider) -> ChatStream {
        ChatStream {
            provider,
            start: StartTracker::default(),
            calls: Vec::new(),
            last_call: None,
            finish: None,
            details: Vec::new(),
        }
    }

    fn delta(&mut self, delta: &Value, out: &mut Vec<StreamEvent>) {
        if let Some(details) = delta.get("reasoning_details").and_then(Value::as_array) {
            for fragment in details.iter().filter_map(Value::as_object) {
                merge_detail(&mut self.details, fragment);
            }
        }
        let content = split_content(delta.get("content"));
        let mut reasoning = reasoning_of(delta);
        reasoning.push_str(&content.thinking);
        if !reasoning.is_empty() {
            out.push(StreamEvent::ReasoningDelta(reasoning));
        }
        if !content.text.is_empty() {
            out.push(StreamEvent::TextDelta(content.text));
        }
        if let Some(calls) = delta.get("tool_calls").and_then(Value::as_array) {
            for (position, call) in calls.iter().enumerate() {
                self.tool_call(call, position, out);
            }
        } else if let Some(call) = delta.get("function_call").filter(|c| c.is_object()) {
            let legacy = json!({"index": 0, "function": call});
            self.tool_call(&legacy, 0, out);
        }
    }

    /// One `delta.tool_calls[]` entry. Calls are keyed by `index`; a server that omits
    /// it is keyed by `id`, and a fragment with neither continues the last call.
    fn tool_call(&mut self, call: &Value, position: usize, out: &mut Vec<StreamEvent>) {
        let id = non_empty_str(call, "id");
        let (function, arguments) = call_parts(call).unwrap_or((&Value::Null, None));
        let name = non_empty_str(function, "name");
        let index = match call.get("index").and_then(Value::as_u64) {
            Some(i) => usize::try_from(i).unwrap_or(usize::MAX),
            None => match &id {
                Some(id) => self
                    .calls
                    .iter()
                    .find(|c| c.id.as_ref() == Some(id))
                    .map(|c| c.index)
                    .unwrap_or_else(|| self.calls.iter().map(|c| c.index + 1).max().unwrap_or(0)),
                None => self.last_call.unwrap_or(position),
            },
        };
        let slot = match self.calls.iter().position(|c| c.index == index) {
            Some(i) => &mut self.calls[i],
            None => {
                self.calls.push(CallSlot {
                    index,
                    id: None,
                    name: None,
                });
                let last = self.calls.len() - 1;
                &mut self.calls[last]
            }
        };
        let new_id = id.is_some() && id != slot.id;
        let new_name = name.is_some() && name != slot.name;
        if new_id || new_name {
            if new_id {
                slot.id = id;
            }
            if new_name {
                slot.name = name;
            }
            out.push(StreamEvent::ToolCallStart {
                index,
                id: slot.id.clone(),
                name: slot.name.clone().unwrap_or_default(),
            });
        }
        let arguments = arguments_text(arguments);
        if !arguments.is_empty() {
            out.push(StreamEvent::ToolCallDelta { index, arguments });
        }
        self.last_call = Some(index);
    }
}

impl FrameHandler for ChatStream {
    fn frame(&mut self, frame: &JsonFrame, out: &mut Vec<StreamEvent>) -> Result<()> {
        let chunk = &frame.data;
        // An error chunk can carry the usage of the failed generation (OpenRouter
        // sends `error` and `usage` in one chunk): it stays on the error.
        if let Some(err) = error_in_body(self.provider, chunk) {
            return Err(err.with_usage(chat_usage(chunk)));
        }
        if !chunk.is_object() {
            return Err(not_an_object(self.provider, "stream chunk"));
        }
        self.start.update(
            non_empty_str(chunk, "id"),
            non_empty_str(chunk, "model"),
            out,
        );
        let choices = chunk.get("choices").and_then(Value::as_array);
        for choice in choices.into_iter().flatten().filter(|c| is_first_choice(c)) {
            if let Some(err) = choice_error(self.provider, choice) {
                return Err(err.with_usage(chat_usage(chunk)));
            }
            if let Some(delta) = choice.get("delta") {
                self.delta(delta, out);
            }
            if let Some(raw) = choice.get("finish_reason").and_then(Value::as_str)
                && self.finish.as_deref() != Some(raw)
            {
                self.finish = Some(raw.to_string());
                out.push(StreamEvent::Finish(chat_finish(raw)));
            }
        }
        if let Some(usage) = chat_usage(chunk) {
            out.push(StreamEvent::Usage(usage));
        }
        Ok(())
    }

    fn end(&mut self, out: &mut Vec<StreamEvent>) -> Result<()> {
        for detail in std::mem::take(&mut self.details) {
            out.push(StreamEvent::ReasoningItem(detail_item(
                self.provider,
                Value::Object(detail),
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapter::decode_all;
    use llmvcr_core::{ErrorKind, StreamAccumulator};

    fn events(provider: Provider, sse: &str) -> Result<Vec<StreamEvent>> {
        decode_all(
            OpenAiChat::new(provider).stream_decoder(None),
            sse.as_bytes(),
        )
    }

    fn aggregate(provider: Provider, sse: &str) -> ChatResponse {
        let mut acc = StreamAccumulator::new();
        for e in events(provider, sse).unwrap() {
            acc.push(&e);
        }
        acc.finish()
    }

    #[test]
    fn custom_tool_calls_carry_free_form_input() {
        let body = json!({"id": "c", "model": "gpt-5", "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {"role": "assistant", "content": null,
            "tool_calls": [{"id": "call_1", "type": "custom", "custom": {"name": "run_sql", "input": "SELECT 1;"}}]}}]});
        let decoded = OpenAiChat::new(Provider::OpenAi)
            .decode(body.to_string().as_bytes())
            .unwrap();
        assert_eq!(decoded.tool_calls[0].name, "run_sql");
        assert_eq!(decoded.tool_calls[0].arguments, json!("SELECT 1;"));
        let sse = concat!(
            "data: {\"id\":\"c\",\"model\":\"gpt-5\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"call_1\",\"type\":\"custom\",\"custom\":{\"name\":\"run_sql\",\"input\":\"SELECT \"}}]},\"finish_reason\":null}]}\n\n",
            "data: {\"id\":\"c\",\"model\":\"gpt-5\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"custom\":{\"input\":\"1;\"}}]},\"finish_reason\":\"tool_calls\"}]}\n\n",
            "data: [DONE]\n\n",
        );
        let streamed = aggregate(Provider::OpenAi, sse);
        assert_eq!(streamed.tool_calls, decoded.tool_calls);
    }

    #[test]
    fn groq_stream_usage_under_x_groq() {
        let sse = concat!(
            "data: {\"id\":\"chatcmpl-1\",\"model\":\"llama-3.1-8b-instant\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}],\"x_groq\":{\"id\":\"req_1\"}}\n\n",
            "data: {\"id\":\"chatcmpl-1\",\"model\":\"llama-3.1-8b-instant\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"},\"finish_reason\":null}]}\n\n",
            "data: {\"id\":\"chatcmpl-1\",\"model\":\"llama-3.1-8b-instant\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}],\"x_groq\":{\"id\":\"req_1\",\"usage\":{\"queue_time\":0.01,\"prompt_tokens\":12,\"completion_tokens\":2,\"total_tokens\":14}}}\n\n",
            "data: [DONE]\n\n",
        );
        let r = aggregate(Provider::Groq, sse);
        assert_eq!(r.text, "Hi");
        assert_eq!(
            r.usage,
            Some(Usage {
                input_tokens: 12,
                output_tokens: 2,
                ..Usage::default()
            })
        );
        assert_eq!(
            r.finish_reason,
            Some(FinishReason::new(FinishKind::Stop, "stop"))
        );
    }

    #[test]
    fn other_choices_are_ignored() {
        let sse = concat!(
            "data: {\"choices\":[{\"index\":1,\"delta\":{\"content\":\"B\"}},{\"index\":0,\"delta\":{\"content\":\"A\"}}]}\n\n",
            "data: {\"choices\":[{\"index\":1,\"delta\":{},\"finish_reason\":\"length\"}]}\n\n",
            "data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n",
        );
        let r = aggregate(Provider::OpenAi, sse);
        assert_eq!(r.text, "A");
        assert_eq!(r.finish_reason.unwrap().kind, FinishKind::Stop);
    }

    #[test]
    fn tool_calls_without_index_are_keyed_by_id() {
        let sse = concat!(
            "data: {\"choices\":[{\"delta\":{\"tool_calls\":[{\"id\":\"a\",\"function\":{\"name\":\"f\",\"arguments\":{\"x\":1}}}]}}]}\n\n",
            "data: {\"choices\":[{\"delta\":{\"tool_calls\":[{\"id\":\"b\",\"function\":{\"name\":\"g\",\"arguments\":\"{\\\"y\\\":\"}}]}}]}\n\n",
            "data: {\"choices\":[{\"delta\":{\"tool_calls\":[{\"function\":{\"arguments\":\"2}\"}}]}}]}\n\n",
        );
        let r = aggregate(Provider::Mistral, sse);
        assert_eq!(r.tool_calls.len(), 2);
        assert_eq!(r.tool_calls[0].arguments, json!({"x": 1}));
        assert_eq!(r.tool_calls[1].id.as_deref(), Some("b"));
        assert_eq!(r.tool_calls[1].arguments, json!({"y": 2}));
    }

    #[test]
    fn legacy_function_call_is_a_tool_call() {
        let r = OpenAiChat::new(Provider::Azure)
            .decode(br#"{"choices":[{"index":0,"message":{"role":"assistant","content":null,"function_call":{"name":"f","arguments":"{\"a\":1}"}},"finish_reason":"function_call"}]}"#)
            .unwrap();
        assert_eq!(
            r.tool_calls,
            vec![ToolCall::from_raw(None, "f", "{\"a\":1}")]
        );
        assert_eq!(r.finish_reason.unwrap().kind, FinishKind::ToolCalls);
        let sse = "data: {\"choices\":[{\"delta\":{\"function_call\":{\"name\":\"f\",\"arguments\":\"{}\"}},\"finish_reason\":\"function_call\"}]}\n\n";
        assert_eq!(aggregate(Provider::Azure, sse).tool_calls[0].name, "f");
    }

    #[test]
    fn non_objects_are_decode_errors() {
        let e = OpenAiChat::new(Provider::OpenAi)
            .decode(b"[1]")
            .unwrap_err();
        assert_eq!(e.kind, ErrorKind::Decode);
        let e = events(Provider::OpenAi, "data: 5\n\n").unwrap_err();
        assert_eq!(e.kind, ErrorKind::Decode);
    }

    #[test]
    fn error_after_content_is_reported_on_the_next_call() {
        let sse = "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hel\"}}]}\n\ndata: {\"error\":{\"code\":502,\"message\":\"upstream died\"}}\n\n";
        let mut d = OpenAiChat::new(Provider::OpenRouter).stream_decoder(None);
        let first = d.feed(sse.as_bytes()).unwrap();
        assert_eq!(first, vec![StreamEvent::TextDelta("Hel".into())]);
        let e = d.finish().unwrap_err();
        assert_eq!(e.kind, ErrorKind::Server);
        assert_eq!(d.feed(b"data: {}\n\n").unwrap_err(), e);
    }

    #[test]
    fn usage_counts_accept_integral_floats_only() {
        assert_eq!(count(&json!(3)), Some(3));
        assert_eq!(count(&json!(3.0)), Some(3));
        assert_eq!(count(&json!(3.5)), None);
        assert_eq!(count(&json!(-1)), None);
        assert_eq!(usage_from(&Value::Null, CHAT_USAGE), None);
        assert_eq!(usage_from(&json!({}), CHAT_USAGE), Some(Usage::default()));
    }
}
