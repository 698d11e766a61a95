//! Anthropic Messages: `POST {base_url}/messages`.
//!
//! Encoding hoists system messages into the top-level `system` string, sends every
//! message as content blocks, merges consecutive tool results into one `user` message
//! of `tool_result` blocks, and always sets `max_tokens`, which the API requires.
//!
//! Decoding keeps the accounting of [`Usage`]: `input_tokens` is all input processed,
//! so it adds `cache_read_input_tokens` and `cache_creation_input_tokens` to the
//! API's `input_tokens`, which counts only the uncached part.
//!
//! A stream that fails (an `event: error` such as `overloaded_error`, sent after
//! `message_start`) keeps the usage reported so far on the error: the input tokens
//! of `message_start` and the output tokens of any `message_delta` before it.
//!
//! Server tool blocks (`server_tool_use`, `web_search_tool_result`, ...) are run by
//! Anthropic, not by the caller, so they never become [`ToolCall`]s, streamed or not.
//!
//! With extended thinking, a turn that used tools must be sent back with its thinking
//! blocks unchanged. Each `thinking` block (text and `signature`) and
//! `redacted_thinking` block (`data`) becomes a [`ReasoningItem`], anchored where it
//! stood among the text and tool calls; a stream rebuilds the block from its
//! `thinking_delta`s and `signature_delta`s and sends the item when the block stops.
//! Encoding an assistant message puts its Anthropic items back in place, so the
//! blocks precede the `tool_use` blocks as they did; items of any other provider or
//! format are dropped.
//!
//! ```
//! use llmvcr_core::{ChatRequest, Provider};
//! use llmvcr_providers::{Adapter, Endpoint, anthropic::Anthropic};
//!
//! let adapter = Anthropic::new(Provider::Anthropic);
//! let wire = adapter
//!     .build(&Endpoint::anthropic(), &ChatRequest::new("claude-sonnet-4-5").system("Be brief.").user("Hi"))
//!     .unwrap();
//! assert_eq!(wire.url, "https://api.anthropic.com/v1/messages");
//! assert_eq!(wire.body["system"], "Be brief.");
//! assert_eq!(wire.body["max_tokens"], 4096);
//! ```

use http::{HeaderMap, HeaderName, HeaderValue, Method};
use llmvcr_core::{
    ChatRequest, ChatResponse, ContentPart, Error, ErrorKind, FinishKind, FinishReason,
    ImageSource, Message, Provider, ReasoningAnchor, ReasoningFormat, ReasoningItem,
    ResponseFormat, Result, Role, StreamEvent, ToolCall, ToolChoice, Usage,
};
use llmvcr_framing::StreamFormat;
use serde_json::{Map, Value, json};

use crate::adapter::{Adapter, StreamDecoder, WireRequest};
use crate::endpoint::{Endpoint, WireApi};
use crate::error::error_in_body;
use crate::frames::{FrameDecoder, FrameHandler, JsonFrame, format_for, parse_body};
use crate::layout::{Piece, assistant_pieces};
use crate::wire::{arguments_object, inline_image, merge_extra, standard_headers};

/// `max_tokens` when the request leaves it unset.
const DEFAULT_MAX_TOKENS: u32 = 4096;
/// `anthropic-version` when the endpoint names none.
const DEFAULT_VERSION: &str = "2023-06-01";

/// The Anthropic Messages adapter.
#[derive(Debug, Clone)]
pub struct Anthropic {
    provider: Provider,
}

impl Anthropic {
    /// An adapter applying `provider`'s quirks.
    pub fn new(provider: Provider) -> Anthropic {
        Anthropic { provider }
    }

    /// Builds `POST {base_url}/messages/count_tokens` for `request`: the same body as
    /// [`Adapter::build`] without the fields that endpoint rejects (`max_tokens`,
    /// `stream` and the sampling parameters).
    pub fn count_tokens_request(
        &self,
        endpoint: &Endpoint,
        request: &ChatRequest,
    ) -> Result<WireRequest> {
        let mut body = encode_body(self.provider, request)?;
        for key in [
            "max_tokens",
            "stream",
            "temperature",
            "top_p",
            "top_k",
            "stop_sequences",
        ] {
            body.remove(key);
        }
        Ok(WireRequest {
            method: Method::POST,
            url: format!("{}/messages/count_tokens", endpoint.base_url),
            headers: self.headers(endpoint)?,
            body: Value::Object(body),
        })
    }

    /// Decodes a `count_tokens` answer (`{"input_tokens": N}`).
    pub fn decode_count_tokens(&self, body: &[u8]) -> Result<u64> {
        let value = parse_body(body, self.provider)?;
        if let Some(err) = error_in_body(self.provider, &value) {
            return Err(err);
        }
        value
            .get("input_tokens")
            .and_then(Value::as_u64)
            .ok_or_else(|| {
                Error::decode("count_tokens answer has no `input_tokens`")
                    .with_provider(self.provider)
            })
    }

    fn reasoning_item(&self, anchor: ReasoningAnchor, block: Value) -> ReasoningItem {
        reasoning_item(self.provider, anchor, block)
    }

    fn headers(&self, endpoint: &Endpoint) -> Result<HeaderMap> {
        let mut headers = standard_headers(endpoint)?;
        if !headers.contains_key("anthropic-version") {
            let version = endpoint.api_version.as_deref().unwrap_or(DEFAULT_VERSION);
            let value = HeaderValue::from_str(version).map_err(|_| {
                Error::new(
                    ErrorKind::BadRequest,
                    "the API version is not a valid `anthropic-version` header value",
                )
                .with_provider(self.provider)
            })?;
            headers.insert(HeaderName::from_static("anthropic-version"), value);
        }
        Ok(headers)
    }
}

impl Adapter for Anthropic {
    fn wire_api(&self) -> WireApi {
        WireApi::AnthropicMessages
    }

    fn provider(&self) -> Provider {
        self.provider
    }

    fn encode(&self, request: &ChatRequest) -> Result<Value> {
        encode_body(self.provider, request).map(Value::Object)
    }

    fn build(&self, endpoint: &Endpoint, request: &ChatRequest) -> Result<WireRequest> {
        Ok(WireRequest {
            method: Method::POST,
            url: format!("{}/messages", endpoint.base_url),
            headers: self.headers(endpoint)?,
            body: self.encode(request)?,
        })
    }

    fn decode(&self, body: &[u8]) -> Result<ChatResponse> {
        let value = parse_body(body, self.provider)?;
        if let Some(err) = error_in_body(self.provider, &value) {
            return Err(err);
        }
        let blocks = value
            .get("content")
            .and_then(Value::as_array)
            .ok_or_else(|| {
                Error::decode("Anthropic message has no `content` array")
                    .with_provider(self.provider)
            })?;
        let mut response = ChatResponse {
            id: str_field(&value, "id"),
            model: str_field(&value, "model"),
            usage: value.get("usage").filter(|u| u.is_object()).map(usage_from),
            finish_reason: value
                .get("stop_reason")
                .and_then(Value::as_str)
                .map(finish_from),
            ..ChatResponse::default()
        };
        for block in blocks {
            let ty = block.get("type").and_then(Value::as_str);
            if matches!(ty, Some("thinking" | "redacted_thinking")) {
                let anchor = ReasoningAnchor::Standalone {
                    text: response.text.len(),
                    tool_calls: response.tool_calls.len(),
                };
                response
                    .reasoning_items
                    .push(self.reasoning_item(anchor, block.clone()));
            }
            match ty {
                Some("text") => response.text.push_str(str_of(block, "text")),
                Some("thinking") => response.reasoning.push_str(str_of(block, "thinking")),
                Some("tool_use") => response.tool_calls.push(ToolCall::from_value(
                    str_field(block, "id"),
                    str_of(block, "name"),
                    block.get("input").cloned().unwrap_or_else(|| json!({})),
                )),
                _ => {}
            }
        }
        Ok(response)
    }

    fn stream_decoder(&self, content_type: Option<&str>) -> Box<dyn StreamDecoder> {
        Box::new(FrameDecoder::new(
            format_for(content_type, StreamFormat::Sse),
            self.provider,
            AnthropicFrames {
                provider: self.provider,
                blocks: Vec::new(),
                usage: Map::new(),
                text_len: 0,
            },
        ))
    }
}

// ---------------------------------------------------------------------------------
// Encoding

fn encode_body(provider: Provider, request: &ChatRequest) -> Result<Map<String, Value>> {
    let mut body = Map::new();
    body.insert("model".into(), json!(request.model));
    let max_tokens = request.max_tokens.unwrap_or(match request.thinking_budget {
        // The answer needs room beyond the thinking budget.
        Some(budget) if budget >= DEFAULT_MAX_TOKENS => budget.saturating_add(DEFAULT_MAX_TOKENS),
        _ => DEFAULT_MAX_TOKENS,
    });
    body.insert("max_tokens".into(), json!(max_tokens));
    if let Some(system) = request.system_text() {
        body.insert("system".into(), json!(system));
    }
    body.insert(
        "messages".into(),
        Value::Array(encode_messages(provider, &request.messages)?),
    );
    if !request.tools.is_empty() {
        let tools = request
            .tools
            .iter()
            .map(|t| {
                let mut tool = Map::new();
                tool.insert("name".into(), json!(t.name));
                if let Some(d) = &t.description {
                    tool.insert("description".into(), json!(d));
                }
                tool.insert("input_schema".into(), t.parameters.clone());
                if let Some(strict) = t.strict {
                    tool.insert("strict".into(), json!(strict));
                }
                Value::Object(tool)
            })
            .collect();
        body.insert("tools".into(), Value::Array(tools));
    }
    if let Some(choice) = &request.tool_choice {
        let choice = match choice {
            ToolChoice::Auto => json!({"type": "auto"}),
            ToolChoice::None => json!({"type": "none"}),
            ToolChoice::Required => json!({"type": "any"}),
            ToolChoice::Tool(name) => json!({"type": "tool", "name": name}),
        };
        body.insert("tool_choice".into(), choice);
    }
    if let Some(t) = request.temperature {
        body.insert("temperature".into(), json!(t));
    }
    if let Some(p) = request.top_p {
        body.insert("top_p".into(), json!(p));
    }
    if !request.stop.is_empty() {
        body.insert("stop_sequences".into(), json!(request.stop));
    }
    if let Some(budget) = request.thinking_budget {
        body.insert(
            "thinking".into(),
            json!({"type": "enabled", "budget_tokens": budget}),
        );
    }
    let mut output_config = Map::new();
    if let Some(effort) = request.reasoning_effort {
        // Anthropic's effort levels are low, medium and high.
        let level = match effort {
            llmvcr_core::ReasoningEffort::Minimal => "low",
            other => other.as_str(),
        };
        output_config.insert("effort".into(), json!(level));
    }
    match &request.response_format {
        None | Some(ResponseFormat::Text) => {}
        Some(ResponseFormat::JsonSchema { schema, .. }) => {
            output_config.insert(
                "format".into(),
                json!({"type": "json_schema", "schema": schema}),
            );
        }
        Some(ResponseFormat::JsonObject) => {
            return Err(Error::new(
                ErrorKind::Unsupported,
                "Anthropic has no JSON object mode; use ResponseFormat::JsonSchema",
            )
            .with_provider(Provider::Anthropic));
        }
    }
    if !output_config.is_empty() {
        body.insert("output_config".into(), Value::Object(output_config));
    }
    if request.stream {
        body.insert("stream".into(), json!(true));
    }
    merge_extra(&mut body, &request.extra);
    Ok(body)
}

fn encode_messages(provider: Provider, messages: &[Message]) -> Result<Vec<Value>> {
    let mut out = Vec::with_capacity(messages.len());
    let mut results: Vec<Value> = Vec::new();
    for message in messages {
        match message.role {
            Role::System => continue,
            Role::Tool => {
                results.push(tool_result_block(message)?);
                continue;
            }
            Role::User | Role::Assistant => {}
        }
        let mut blocks: Vec<Value> = Vec::new();
        if !results.is_empty() {
            if message.role == Role::User {
                // A user turn after tool results: the results come first in it.
                blocks = std::mem::take(&mut results);
            } else {
                out.push(json!({"role": "user", "content": std::mem::take(&mut results)}));
            }
        }
        if message.role == Role::Assistant {
            // Thinking blocks go back exactly as they came, where they came.
            for piece in assistant_pieces(message, provider, ReasoningFormat::AnthropicMessages) {
                match piece {
                    Piece::Content { parts, .. } => {
                        blocks.extend(parts.iter().filter_map(content_block));
                    }
                    Piece::Item(item) => blocks.push(item.data.clone()),
                    Piece::Call { call, .. } => blocks.push(tool_use_block(call)?),
                }
            }
        } else {
            blocks.extend(message.content.iter().filter_map(content_block));
        }
        out.push(json!({"role": message.role.as_str(), "content": blocks}));
    }
    if !results.is_empty() {
        out.push(json!({"role": "user", "content": results}));
    }
    Ok(out)
}

fn tool_use_block(call: &ToolCall) -> Result<Value> {
    let id = call.id.as_deref().ok_or_else(|| {
        Error::new(
            ErrorKind::BadRequest,
            format!(
                "tool call `{}` has no id, which Anthropic requires",
                call.name
            ),
        )
        .with_provider(Provider::Anthropic)
    })?;
    Ok(json!({
        "type": "tool_use",
        "id": id,
        "name": call.name,
        "input": arguments_object(Provider::Anthropic, call)?,
    }))
}

/// One content part as an Anthropic block. Empty text parts are dropped: the API
/// rejects empty text blocks.
fn content_block(part: &ContentPart) -> Option<Value> {
    match part {
        ContentPart::Text { text } if text.is_empty() => None,
        ContentPart::Text { text } => Some(json!({"type": "text", "text": text})),
        ContentPart::Image { source, .. } => {
            let source = match inline_image(source) {
                Some((media_type, data)) => {
                    json!({"type": "base64", "media_type": media_type, "data": data})
                }
                None => match source {
                    ImageSource::Url { url } => json!({"type": "url", "url": url}),
                    ImageSource::Base64 { media_type, data } => {
                        json!({"type": "base64", "media_type": media_type, "data": data})
                    }
                },
            };
            Some(json!({"type": "image", "source": source}))
        }
    }
}

fn tool_result_block(message: &Message) -> Result<Value> {
    let id = message.tool_call_id.as_deref().ok_or_else(|| {
        Error::new(
            ErrorKind::BadRequest,
            "tool result message has no tool_call_id",
        )
        .with_provider(Provider::Anthropic)
    })?;
    let has_image = message
        .content
        .iter()
        .any(|p| matches!(p, ContentPart::Image { .. }));
    let content = if has_image {
        Value::Array(message.content.iter().filter_map(content_block).collect())
    } else {
        json!(message.text_content())
    };
    Ok(json!({"type": "tool_result", "tool_use_id": id, "content": content}))
}

// ---------------------------------------------------------------------------------
// Decoding, shared by the streamed and the non-streamed paths

/// The usage object (`message.usage`, or the merged stream reports) as a [`Usage`].
fn usage_from(usage: &Value) -> Usage {
    let count = |key: &str| usage.get(key).and_then(Value::as_u64).unwrap_or(0);
    let cache_read = count("cache_read_input_tokens");
    let cache_write = count("cache_creation_input_tokens");
    Usage {
        input_tokens: count("input_tokens")
            .saturating_add(cache_read)
            .saturating_add(cache_write),
        output_tokens: count("output_tokens"),
        cached_input_tokens: cache_read,
        cache_write_tokens: cache_write,
        reasoning_tokens: usage
            .pointer("/output_tokens_details/thinking_tokens")
            .and_then(Value::as_u64)
            .unwrap_or(0),
    }
}

/// `stop_reason` as a [`FinishReason`].
fn finish_from(raw: &str) -> FinishReason {
    let kind = match raw {
        "end_turn" | "stop_sequence" => FinishKind::Stop,
        "max_tokens" | "model_context_window_exceeded" => FinishKind::Length,
        "tool_use" => FinishKind::ToolCalls,
        "refusal" => FinishKind::ContentFilter,
        _ => FinishKind::Other,
    };
    FinishReason::new(kind, raw)
}

/// A `thinking` or `redacted_thinking` block as a reasoning item.
fn reasoning_item(provider: Provider, anchor: ReasoningAnchor, block: Value) -> ReasoningItem {
    ReasoningItem::new(provider, ReasoningFormat::AnthropicMessages, anchor, block)
}

fn str_field(value: &Value, key: &str) -> Option<String> {
    value.get(key).and_then(Value::as_str).map(str::to_string)
}

fn str_of<'a>(value: &'a Value, key: &str) -> &'a str {
    value.get(key).and_then(Value::as_str).unwrap_or_default()
}

// ---------------------------------------------------------------------------------
// Streaming

/// What a content block of the stream is, by its `content_block_start`.
#[derive(Debug)]
enum Block {
    /// A client tool call. `input` is the start block's input, used as the arguments
    /// when no non-empty `input_json_delta` follows.
    Tool { input: Value, streamed: bool },
    /// A `thinking` or `redacted_thinking` block, rebuilt from its deltas (thinking
    /// text and signature) and sent as a reasoning item when it stops.
    Thinking {
        block: Value,
        anchor: ReasoningAnchor,
    },
    /// Text and server tool blocks, and thinking blocks already sent: nothing to
    /// track.
    Other,
}

#[derive(Debug)]
struct AnthropicFrames {
    provider: Provider,
    blocks: Vec<(usize, Block)>,
    /// The usage fields reported so far; later reports overwrite earlier ones.
    usage: Map<String, Value>,
    /// Bytes of answer text sent so far.
    text_len: usize,
}

impl AnthropicFrames {
    fn block_mut(&mut self, index: usize) -> Option<&mut Block> {
        self.blocks
            .iter_mut()
            .find(|(i, _)| *i == index)
            .map(|(_, b)| b)
    }

    fn index_of(&self, data: &Value, event: &str) -> Result<usize> {
        data.get("index")
            .and_then(Value::as_u64)
            .and_then(|i| usize::try_from(i).ok())
            .ok_or_else(|| {
                Error::decode(format!("`{event}` event has no block index"))
                    .with_provider(self.provider)
            })
    }

    /// Tool calls started so far: one per block index.
    fn calls(&self) -> usize {
        self.blocks
            .iter()
            .filter(|(_, b)| matches!(b, Block::Tool { .. }))
            .count()
    }

    fn text(&mut self, text: &str, out: &mut Vec<StreamEvent>) {
        if !text.is_empty() {
            self.text_len += text.len();
            out.push(StreamEvent::TextDelta(text.to_string()));
        }
    }

    /// Appends a delta to the thinking block `index` is building (`thinking` or
    /// `signature`).
    fn append_to_thinking(&mut self, index: usize, key: &str, piece: &str) {
        if let Some(Block::Thinking {
            block: Value::Object(fields),
            ..
        }) = self.block_mut(index)
        {
            match fields.get_mut(key) {
                Some(Value::String(s)) => s.push_str(piece),
                _ => {
                    fields.insert(key.to_string(), json!(piece));
                }
            }
        }
    }

    fn merge_usage(&mut self, usage: &Value, out: &mut Vec<StreamEvent>) {
        if let Some(fields) = usage.as_object() {
            for (k, v) in fields {
                if !v.is_null() {
                    self.usage.insert(k.clone(), v.clone());
                }
            }
            out.push(StreamEvent::Usage(usage_from(&Value::Object(
                self.usage.clone(),
            ))));
        }
    }

    fn on_frame(&mut self, frame: &JsonFrame, out: &mut Vec<StreamEvent>) -> Result<()> {
        let data = &frame.data;
        if let Some(err) = error_in_body(self.provider, data) {
            return Err(err);
        }
        let ty = data
            .get("type")
            .and_then(Value::as_str)
            .or(frame.event.as_deref())
            .unwrap_or_default();
        match ty {
            "message_start" => {
                let message = data.get("message").unwrap_or(&Value::Null);
                out.push(StreamEvent::Start {
                    id: str_field(message, "id"),
                    model: str_field(message, "model"),
                });
                if let Some(usage) = message.get("usage") {
                    self.merge_usage(usage, out);
                }
            }
            "content_block_start" => {
                let index = self.index_of(data, ty)?;
                let block = data.get("content_block").unwrap_or(&Value::Null);
                let tracked = match block.get("type").and_then(Value::as_str) {
                    Some("text") => {
                        self.text(str_of(block, "text"), out);
                        Block::Other
                    }
                    Some(ty @ ("thinking" | "redacted_thinking")) => {
                        if ty == "thinking" {
                            push_reasoning(out, str_of(block, "thinking"));
                        }
                        Block::Thinking {
                            block: block.clone(),
                            anchor: ReasoningAnchor::Standalone {
                                text: self.text_len,
                                tool_calls: self.calls(),
                            },
                        }
                    }
                    Some("tool_use") => {
                        out.push(StreamEvent::ToolCallStart {
                            index,
                            id: str_field(block, "id"),
                            name: str_of(block, "name").to_string(),
                        });
                        Block::Tool {
                            input: block.get("input").cloned().unwrap_or_else(|| json!({})),
                            streamed: false,
                        }
                    }
                    _ => Block::Other,
                };
                self.blocks.retain(|(i, _)| *i != index);
                self.blocks.push((index, tracked));
            }
            "content_block_delta" => {
                let index = self.index_of(data, ty)?;
                let delta = data.get("delta").unwrap_or(&Value::Null);
                match delta.get("type").and_then(Value::as_str) {
                    Some("text_delta") => self.text(str_of(delta, "text"), out),
                    Some("thinking_delta") => {
                        let thinking = str_of(delta, "thinking");
                        push_reasoning(out, thinking);
                        self.append_to_thinking(index, "thinking", thinking);
                    }
                    Some("signature_delta") => {
                        self.append_to_thinking(index, "signature", str_of(delta, "signature"));
                    }
                    Some("input_json_delta") => {
                        let partial = str_of(delta, "partial_json");
                        if let Some(Block::Tool { streamed, .. }) = self.block_mut(index)
                            && !partial.is_empty()
                        {
                            *streamed = true;
                            out.push(StreamEvent::ToolCallDelta {
                                index,
                                arguments: partial.to_string(),
                            });
                        }
                    }
                    // citations_delta and unknown deltas carry no text.
                    _ => {}
                }
            }
            "content_block_stop" => {
                let index = self.index_of(data, ty)?;
                let provider = self.provider;
                match self.block_mut(index) {
                    Some(Block::Tool { input, streamed }) if !*streamed => {
                        *streamed = true;
                        let arguments = if input.is_null() {
                            "{}".to_string()
                        } else {
                            input.to_string()
                        };
                        out.push(StreamEvent::ToolCallDelta { index, arguments });
                    }
                    Some(slot @ Block::Thinking { .. }) => {
                        if let Block::Thinking { block, anchor } =
                            std::mem::replace(slot, Block::Other)
                        {
                            out.push(StreamEvent::ReasoningItem(reasoning_item(
                                provider, anchor, block,
                            )));
                        }
                    }
                    _ => {}
                }
            }
            "message_delta" => {
                if let Some(raw) = data.pointer("/delta/stop_reason").and_then(Value::as_str) {
                    out.push(StreamEvent::Finish(finish_from(raw)));
                }
                if let Some(usage) = data.get("usage") {
                    self.merge_usage(usage, out);
                }
            }
            // message_stop, ping and unknown events.
            _ => {}
        }
        Ok(())
    }
}

impl FrameHandler for AnthropicFrames {
    fn frame(&mut self, frame: &JsonFrame, out: &mut Vec<StreamEvent>) -> Result<()> {
        self.on_frame(frame, out)
    }
}

fn push_reasoning(out: &mut Vec<StreamEvent>, text: &str) {
    if !text.is_empty() {
        out.push(StreamEvent::ReasoningDelta(text.to_string()));
    }
}
