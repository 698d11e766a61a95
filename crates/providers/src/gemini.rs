//! Gemini `generateContent` and `streamGenerateContent`, for the Gemini API and
//! Vertex AI (`.../publishers/google/models/{model}:generateContent`), which share the
//! body format.
//!
//! Streaming asks for Server-Sent Events (`?alt=sse`). Without `alt=sse` Gemini sends
//! one JSON array whose elements arrive over time; the decoder reads either, chosen
//! by the response's `Content-Type`. Every element of a stream is a whole
//! `GenerateContentResponse` fragment, decoded by the same function as a
//! non-streamed body.
//!
//! Usage follows the accounting of [`Usage`]: input is `promptTokenCount` (cached
//! content included) plus `toolUsePromptTokenCount`; output is `candidatesTokenCount`
//! plus `thoughtsTokenCount`.
//!
//! A prompt blocked by `promptFeedback.blockReason` comes back with no candidates: the
//! response then has empty text and no finish reason.
//!
//! Thought signatures go back on the part they came with. A part with a
//! `thoughtSignature` becomes a [`ReasoningItem`] holding the part without its text or
//! `functionCall` (so, the signature), anchored to that text or call; a signed part the
//! neutral answer cannot rebuild (a thought summary, an inline image) is kept whole.
//! Encoding a `model` turn puts the signature back on the same `functionCall` or text
//! part (an empty text part when the stream sent it on one), and never merges a
//! signed text part with the text before it. Thought summaries without a signature are
//! not sent back. Items of any other provider or format are dropped.
//!
//! ```
//! use llmvcr_core::{ChatRequest, Provider};
//! use llmvcr_providers::{Adapter, Endpoint, gemini::Gemini};
//!
//! let adapter = Gemini::new(Provider::Gemini);
//! let wire = adapter
//!     .build(&Endpoint::gemini(), &ChatRequest::new("gemini-2.5-flash").user("Hi").streaming(true))
//!     .unwrap();
//! assert_eq!(
//!     wire.url,
//!     "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse"
//! );
//! assert_eq!(wire.body["contents"][0]["parts"][0]["text"], "Hi");
//! ```

use http::Method;
use llmvcr_core::{
    ChatRequest, ChatResponse, ContentPart, Error, ErrorKind, FinishKind, FinishReason,
    ImageSource, Message, Provider, ReasoningAnchor, ReasoningFormat, ReasoningItem,
    ResponseFormat, Result, Role, StreamAccumulator, StreamEvent, ToolCall, ToolChoice, Usage,
};
use llmvcr_framing::StreamFormat;
use serde_json::{Map, Value, json};

use crate::adapter::{Adapter, StreamDecoder, WireRequest, decode_all};
use crate::endpoint::{Endpoint, WireApi};
use crate::error::error_in_body;
use crate::frames::{FrameDecoder, FrameHandler, JsonFrame, StartTracker, format_for, parse_body};
use crate::layout::{Piece as WirePiece, assistant_pieces, merge_attached};
use crate::wire::{
    arguments_object, inline_image, merge_extra, standard_headers, tool_name_for, with_query_key,
};

/// The Gemini adapter (Gemini API and Vertex AI).
#[derive(Debug, Clone)]
pub struct Gemini {
    provider: Provider,
}

impl Gemini {
    /// An adapter applying `provider`'s quirks.
    pub fn new(provider: Provider) -> Gemini {
        Gemini { provider }
    }

    /// Builds `POST {base_url}/models/{model}:countTokens` for `request`.
    ///
    /// The Gemini API counts bare `contents`, or a whole `generateContentRequest` when
    /// the request also has a system instruction or tools (the two forms exclude each
    /// other). Vertex AI takes `contents`, `systemInstruction` and `tools` side by side.
    pub fn count_tokens_request(
        &self,
        endpoint: &Endpoint,
        request: &ChatRequest,
    ) -> Result<WireRequest> {
        let encoded = encode_body(self.provider, request)?;
        let path = model_path(&request.model);
        let mut parts = Map::new();
        for key in ["contents", "systemInstruction", "tools", "toolConfig"] {
            if let Some(v) = encoded.get(key) {
                parts.insert(key.to_string(), v.clone());
            }
        }
        let vertex = is_vertex(endpoint, &path);
        let body = if vertex || parts.len() == 1 {
            parts.remove("toolConfig");
            Value::Object(parts)
        } else {
            let mut inner = Map::new();
            inner.insert("model".into(), json!(path));
            inner.extend(parts);
            json!({"generateContentRequest": inner})
        };
        let url = format!("{}/{}:countTokens", endpoint.base_url, path);
        Ok(WireRequest {
            method: Method::POST,
            url: with_query_key(url, endpoint),
            headers: standard_headers(endpoint)?,
            body,
        })
    }

    /// Decodes a `countTokens` answer (`{"totalTokens": N}`).
    pub fn decode_count_tokens(&self, body: &[u8]) -> Result<u64> {
        let value = parse_body(body, self.provider)?;
        if let Some(err) = error_in_body(self.provider, &value) {
            return Err(err);
        }
        value
            .get("totalTokens")
            .and_then(Value::as_u64)
            .ok_or_else(|| {
                Error::decode("countTokens answer has no `totalTokens`")
                    .with_provider(self.provider)
            })
    }

    fn frames(&self) -> GeminiFrames {
        GeminiFrames {
            provider: self.provider,
            next_index: 0,
            text_len: 0,
            saw_calls: false,
            start: StartTracker::default(),
            finish: None,
        }
    }
}

impl Adapter for Gemini {
    fn wire_api(&self) -> WireApi {
        WireApi::Gemini
    }

    fn provider(&self) -> Provider {
        self.provider
    }

    fn encode(&self, request: &ChatRequest) -> Result<Value> {
        encode_body(self.provider, request).map(Value::Object)
    }

    fn build(&self, endpoint: &Endpoint, request: &ChatRequest) -> Result<WireRequest> {
        let method = if request.stream {
            "streamGenerateContent?alt=sse"
        } else {
            "generateContent"
        };
        let url = format!(
            "{}/{}:{}",
            endpoint.base_url,
            model_path(&request.model),
            method
        );
        Ok(WireRequest {
            method: Method::POST,
            url: with_query_key(url, endpoint),
            headers: standard_headers(endpoint)?,
            body: self.encode(request)?,
        })
    }

    /// Decodes a `generateContent` body. A body that is a JSON array (a whole
    /// `streamGenerateContent` answer read at once) is folded element by element.
    fn decode(&self, body: &[u8]) -> Result<ChatResponse> {
        let value = parse_body(body, self.provider)?;
        if value.is_array() {
            let events = decode_all(self.stream_decoder(Some("application/json")), body)?;
            let mut acc = StreamAccumulator::new();
            events.iter().for_each(|e| acc.push(e));
            return Ok(acc.finish());
        }
        let chunk = read_chunk(self.provider, &value)?;
        let mut response = ChatResponse {
            id: chunk.id,
            model: chunk.model,
            usage: chunk.usage,
            ..ChatResponse::default()
        };
        for piece in chunk.pieces {
            match piece {
                Piece::Text { text, signed } => {
                    if let Some(data) = signed {
                        let anchor = ReasoningAnchor::Text {
                            text: response.text.len(),
                        };
                        response
                            .reasoning_items
                            .push(reasoning_item(self.provider, anchor, data));
                    }
                    response.text.push_str(&text);
                }
                Piece::Thought(t) => response.reasoning.push_str(&t),
                Piece::Call {
                    id,
                    name,
                    args,
                    signed,
                } => {
                    if let Some(data) = signed {
                        let anchor = ReasoningAnchor::ToolCall {
                            index: response.tool_calls.len(),
                        };
                        response
                            .reasoning_items
                            .push(reasoning_item(self.provider, anchor, data));
                    }
                    response
                        .tool_calls
                        .push(ToolCall::from_value(id, name, args));
                }
                Piece::Kept(part) => {
                    let anchor = ReasoningAnchor::Standalone {
                        text: response.text.len(),
                        tool_calls: response.tool_calls.len(),
                    };
                    response
                        .reasoning_items
                        .push(reasoning_item(self.provider, anchor, part));
                }
            }
        }
        response.finish_reason = chunk
            .finish
            .map(|raw| finish_from(&raw, !response.tool_calls.is_empty()));
        Ok(response)
    }

    fn stream_decoder(&self, content_type: Option<&str>) -> Box<dyn StreamDecoder> {
        let format = match content_type {
            Some(ct) if is_json_content_type(ct) => StreamFormat::JsonArray,
            other => format_for(other, StreamFormat::Sse),
        };
        Box::new(FrameDecoder::new(format, self.provider, self.frames()))
    }
}

fn is_json_content_type(content_type: &str) -> bool {
    content_type
        .split(';')
        .next()
        .is_some_and(|ct| ct.trim().eq_ignore_ascii_case("application/json"))
}

/// `models/{model}`, or the model as given when it is already a resource path
/// (`models/...`, `projects/...`, `publishers/...`, `tunedModels/...`).
fn model_path(model: &str) -> String {
    let model = model.trim_start_matches('/');
    if ["models/", "projects/", "publishers/", "tunedModels/"]
        .iter()
        .any(|p| model.starts_with(p))
    {
        model.to_string()
    } else {
        format!("models/{model}")
    }
}

fn is_vertex(endpoint: &Endpoint, model_path: &str) -> bool {
    endpoint.base_url.contains("aiplatform.googleapis.com")
        || endpoint.base_url.contains("/publishers/")
        || model_path.starts_with("projects/")
        || model_path.starts_with("publishers/")
}

// ---------------------------------------------------------------------------------
// Encoding

fn encode_body(provider: Provider, request: &ChatRequest) -> Result<Map<String, Value>> {
    let mut body = Map::new();
    body.insert(
        "contents".into(),
        Value::Array(encode_contents(provider, &request.messages)?),
    );
    if let Some(system) = request.system_text() {
        body.insert(
            "systemInstruction".into(),
            json!({"parts": [{"text": system}]}),
        );
    }
    if !request.tools.is_empty() {
        let declarations: Vec<Value> = request
            .tools
            .iter()
            .map(|t| {
                let mut decl = Map::new();
                decl.insert("name".into(), json!(t.name));
                if let Some(d) = &t.description {
                    decl.insert("description".into(), json!(d));
                }
                decl.insert("parameters".into(), t.parameters.clone());
                Value::Object(decl)
            })
            .collect();
        body.insert(
            "tools".into(),
            json!([{"functionDeclarations": declarations}]),
        );
    }
    if let Some(choice) = &request.tool_choice {
        let config = match choice {
            ToolChoice::Auto => json!({"mode": "AUTO"}),
            ToolChoice::None => json!({"mode": "NONE"}),
            ToolChoice::Required => json!({"mode": "ANY"}),
            ToolChoice::Tool(name) => json!({"mode": "ANY", "allowedFunctionNames": [name]}),
        };
        body.insert(
            "toolConfig".into(),
            json!({"functionCallingConfig": config}),
        );
    }
    let config = generation_config(request);
    if !config.is_empty() {
        body.insert("generationConfig".into(), Value::Object(config));
    }
    merge_extra(&mut body, &request.extra);
    Ok(body)
}

fn generation_config(request: &ChatRequest) -> Map<String, Value> {
    let mut config = Map::new();
    if let Some(t) = request.temperature {
        config.insert("temperature".into(), json!(t));
    }
    if let Some(p) = request.top_p {
        config.insert("topP".into(), json!(p));
    }
    if let Some(n) = request.max_tokens {
        config.insert("maxOutputTokens".into(), json!(n));
    }
    if !request.stop.is_empty() {
        config.insert("stopSequences".into(), json!(request.stop));
    }
    match &request.response_format {
        None | Some(ResponseFormat::Text) => {}
        Some(ResponseFormat::JsonObject) => {
            config.insert("responseMimeType".into(), json!("application/json"));
        }
        Some(ResponseFormat::JsonSchema { schema, .. }) => {
            config.insert("responseMimeType".into(), json!("application/json"));
            config.insert("responseJsonSchema".into(), schema.clone());
        }
    }
    let mut thinking = Map::new();
    if let Some(budget) = request.thinking_budget {
        thinking.insert("thinkingBudget".into(), json!(budget));
        if budget > 0 {
            // Without it Gemini thinks but returns no thought text.
            thinking.insert("includeThoughts".into(), json!(true));
        }
    }
    if let Some(effort) = request.reasoning_effort {
        thinking.insert("thinkingLevel".into(), json!(effort.as_str()));
    }
    if !thinking.is_empty() {
        config.insert("thinkingConfig".into(), Value::Object(thinking));
    }
    config
}

fn encode_contents(provider: Provider, messages: &[Message]) -> Result<Vec<Value>> {
    let mut contents = Vec::with_capacity(messages.len());
    let mut responses: Vec<Value> = Vec::new();
    for (i, message) in messages.iter().enumerate() {
        match message.role {
            Role::System => continue,
            Role::Tool => {
                responses.push(function_response(messages, i)?);
                continue;
            }
            Role::User | Role::Assistant => {}
        }
        let mut parts: Vec<Value> = Vec::new();
        if !responses.is_empty() {
            if message.role == Role::User {
                // A user turn after tool results: the results come first in it.
                parts = std::mem::take(&mut responses);
            } else {
                contents.push(json!({"role": "user", "parts": std::mem::take(&mut responses)}));
            }
        }
        let role = if message.role == Role::Assistant {
            // Signatures go back on the part they came with.
            for piece in assistant_pieces(message, provider, ReasoningFormat::Gemini) {
                match piece {
                    WirePiece::Content {
                        parts: run,
                        attached,
                    } => {
                        let mut run: Vec<Value> = run.iter().filter_map(part_of).collect();
                        if !attached.is_empty() {
                            if run.is_empty() {
                                run.push(json!({"text": ""}));
                            }
                            if let Some(first) = run.first_mut() {
                                merge_attached(first, &attached);
                            }
                        }
                        parts.extend(run);
                    }
                    WirePiece::Item(item) => parts.push(item.data.clone()),
                    WirePiece::Call { call, attached } => {
                        let mut part = function_call_part(call)?;
                        merge_attached(&mut part, &attached);
                        parts.push(part);
                    }
                }
            }
            "model"
        } else {
            parts.extend(message.content.iter().filter_map(part_of));
            "user"
        };
        contents.push(json!({"role": role, "parts": parts}));
    }
    if !responses.is_empty() {
        contents.push(json!({"role": "user", "parts": responses}));
    }
    Ok(contents)
}

fn function_call_part(call: &ToolCall) -> Result<Value> {
    let mut fc = Map::new();
    fc.insert("name".into(), json!(call.name));
    fc.insert("args".into(), arguments_object(Provider::Gemini, call)?);
    if let Some(id) = &call.id {
        fc.insert("id".into(), json!(id));
    }
    Ok(json!({"functionCall": fc}))
}

/// One content part as a Gemini part. Empty text parts are dropped.
fn part_of(part: &ContentPart) -> Option<Value> {
    match part {
        ContentPart::Text { text } if text.is_empty() => None,
        ContentPart::Text { text } => Some(json!({"text": text})),
        ContentPart::Image { source, .. } => Some(match inline_image(source) {
            Some((mime, data)) => json!({"inlineData": {"mimeType": mime, "data": data}}),
            None => {
                let url = match source {
                    ImageSource::Url { url } => url.as_str(),
                    ImageSource::Base64 { data, .. } => data.as_str(),
                };
                let mut file = Map::new();
                if let Some(mime) = mime_from_extension(url) {
                    file.insert("mimeType".into(), json!(mime));
                }
                file.insert("fileUri".into(), json!(url));
                json!({"fileData": file})
            }
        }),
    }
}

fn mime_from_extension(url: &str) -> Option<&'static str> {
    let path = url.split(['?', '#']).next().unwrap_or(url);
    let ext = path.rsplit_once('.')?.1.to_ascii_lowercase();
    Some(match ext.as_str() {
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "heic" => "image/heic",
        "heif" => "image/heif",
        "pdf" => "application/pdf",
        _ => return None,
    })
}

/// A tool result as a `functionResponse` part. Gemini wants the function name, taken
/// from the earlier assistant call with the same id (or the message's `name`). A
/// result that is a JSON object is the response itself; other text goes in
/// `{"result": text}`.
fn function_response(messages: &[Message], index: usize) -> Result<Value> {
    let message = messages.get(index).ok_or_else(|| {
        Error::new(ErrorKind::BadRequest, "tool result out of range")
            .with_provider(Provider::Gemini)
    })?;
    let id = message.tool_call_id.as_deref();
    let name = id
        .and_then(|id| tool_name_for(messages, index, id))
        .or_else(|| message.name.clone())
        .ok_or_else(|| {
            Error::new(
                ErrorKind::BadRequest,
                format!(
                    "tool result {} matches no earlier tool call, and Gemini needs the function name",
                    id.unwrap_or("without an id")
                ),
            )
            .with_provider(Provider::Gemini)
        })?;
    let text = message.text_content();
    let response = match serde_json::from_str::<Value>(&text) {
        Ok(v @ Value::Object(_)) => v,
        _ => json!({"result": text}),
    };
    let mut fr = Map::new();
    fr.insert("name".into(), json!(name));
    fr.insert("response".into(), response);
    if let Some(id) = id {
        fr.insert("id".into(), json!(id));
    }
    Ok(json!({"functionResponse": fr}))
}

// ---------------------------------------------------------------------------------
// Decoding, shared by the streamed and the non-streamed paths

/// One piece of a candidate's content, in order.
///
/// A part with a `thoughtSignature` keeps its state for a [`ReasoningItem`]: `signed`
/// is the part without the text or `functionCall` that the neutral answer holds (so,
/// at least the signature). Any other part with a signature, a thought part
/// included, is kept whole.
#[derive(Debug)]
enum Piece {
    Text {
        text: String,
        signed: Option<Value>,
    },
    Thought(String),
    Call {
        id: Option<String>,
        name: String,
        args: Value,
        signed: Option<Value>,
    },
    Kept(Value),
}

/// Whether `part` carries a `thoughtSignature`.
fn is_signed(part: &Value) -> bool {
    part.get("thoughtSignature").is_some_and(|s| !s.is_null())
}

/// `part` without `key`, when it carries a `thoughtSignature`.
fn signed_rest(part: &Value, key: &str) -> Option<Value> {
    if !is_signed(part) {
        return None;
    }
    let mut rest = part.as_object()?.clone();
    rest.remove(key);
    Some(Value::Object(rest))
}

/// A part's reasoning state as a reasoning item.
fn reasoning_item(provider: Provider, anchor: ReasoningAnchor, data: Value) -> ReasoningItem {
    ReasoningItem::new(provider, ReasoningFormat::Gemini, anchor, data)
}

/// What one `GenerateContentResponse` (or stream element) says.
#[derive(Debug)]
struct Chunk {
    id: Option<String>,
    model: Option<String>,
    pieces: Vec<Piece>,
    finish: Option<String>,
    usage: Option<Usage>,
}

fn read_chunk(provider: Provider, value: &Value) -> Result<Chunk> {
    if let Some(err) = error_in_body(provider, value) {
        return Err(err);
    }
    if !value.is_object() {
        return Err(Error::decode("Gemini response is not a JSON object").with_provider(provider));
    }
    let candidate = value.pointer("/candidates/0");
    let mut pieces = Vec::new();
    let parts = candidate
        .and_then(|c| c.pointer("/content/parts"))
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    for part in parts {
        let thought = part.get("thought").and_then(Value::as_bool) == Some(true);
        if let Some(call) = part.get("functionCall") {
            pieces.push(Piece::Call {
                id: call.get("id").and_then(Value::as_str).map(str::to_string),
                name: call
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
                args: match call.get("args") {
                    None | Some(Value::Null) => json!({}),
                    Some(args) => args.clone(),
                },
                signed: signed_rest(part, "functionCall"),
            });
        } else if let Some(text) = part.get("text").and_then(Value::as_str) {
            if thought {
                pieces.push(Piece::Thought(text.to_string()));
                if is_signed(part) {
                    pieces.push(Piece::Kept(part.clone()));
                }
            } else {
                pieces.push(Piece::Text {
                    text: text.to_string(),
                    signed: signed_rest(part, "text"),
                });
            }
        } else if is_signed(part) {
            pieces.push(Piece::Kept(part.clone()));
        }
    }
    Ok(Chunk {
        id: value
            .get("responseId")
            .and_then(Value::as_str)
            .map(str::to_string),
        model: value
            .get("modelVersion")
            .and_then(Value::as_str)
            .map(str::to_string),
        pieces,
        finish: candidate
            .and_then(|c| c.get("finishReason"))
            .and_then(Value::as_str)
            .map(str::to_string),
        usage: value
            .get("usageMetadata")
            .filter(|u| u.is_object())
            .map(usage_from),
    })
}

fn usage_from(meta: &Value) -> Usage {
    let count = |key: &str| meta.get(key).and_then(Value::as_u64).unwrap_or(0);
    let thoughts = count("thoughtsTokenCount");
    Usage {
        input_tokens: count("promptTokenCount").saturating_add(count("toolUsePromptTokenCount")),
        output_tokens: count("candidatesTokenCount").saturating_add(thoughts),
        cached_input_tokens: count("cachedContentTokenCount"),
        cache_write_tokens: 0,
        reasoning_tokens: thoughts,
    }
}

/// `finishReason` as a [`FinishReason`]. `STOP` after function calls means the model
/// stopped to call tools.
fn finish_from(raw: &str, has_calls: bool) -> FinishReason {
    let kind = match raw {
        "STOP" if has_calls => FinishKind::ToolCalls,
        "STOP" => FinishKind::Stop,
        "MAX_TOKENS" => FinishKind::Length,
        "SAFETY"
        | "RECITATION"
        | "PROHIBITED_CONTENT"
        | "BLOCKLIST"
        | "SPII"
        | "IMAGE_SAFETY"
        | "IMAGE_PROHIBITED_CONTENT"
        | "IMAGE_RECITATION"
        | "MODEL_ARMOR" => FinishKind::ContentFilter,
        "MALFORMED_FUNCTION_CALL" => FinishKind::Error,
        _ => FinishKind::Other,
    };
    FinishReason::new(kind, raw)
}

// ---------------------------------------------------------------------------------
// Streaming

#[derive(Debug)]
struct GeminiFrames {
    provider: Provider,
    /// Tool calls so far, which is also the index of the next one.
    next_index: usize,
    /// Bytes of answer text so far.
    text_len: usize,
    saw_calls: bool,
    start: StartTracker,
    /// The last `finishReason` seen.
    finish: Option<String>,
}

impl GeminiFrames {
    fn on_chunk(&mut self, value: &Value, out: &mut Vec<StreamEvent>) -> Result<()> {
        let chunk = read_chunk(self.provider, value)?;
        self.start.update(chunk.id, chunk.model, out);
        let mut new_calls = false;
        for piece in chunk.pieces {
            match piece {
                Piece::Text { text, signed } => {
                    if let Some(data) = signed {
                        let anchor = ReasoningAnchor::Text {
                            text: self.text_len,
                        };
                        out.push(StreamEvent::ReasoningItem(reasoning_item(
                            self.provider,
                            anchor,
                            data,
                        )));
                    }
                    if !text.is_empty() {
                        self.text_len += text.len();
                        out.push(StreamEvent::TextDelta(text));
                    }
                }
                Piece::Thought(t) => {
                    if !t.is_empty() {
                        out.push(StreamEvent::ReasoningDelta(t));
                    }
                }
                Piece::Call {
                    id,
                    name,
                    args,
                    signed,
                } => {
                    let index = self.next_index;
                    self.next_index += 1;
                    new_calls = true;
                    out.push(StreamEvent::ToolCallStart { index, id, name });
                    out.push(StreamEvent::ToolCallDelta {
                        index,
                        arguments: args.to_string(),
                    });
                    if let Some(data) = signed {
                        let anchor = ReasoningAnchor::ToolCall { index };
                        out.push(StreamEvent::ReasoningItem(reasoning_item(
                            self.provider,
                            anchor,
                            data,
                        )));
                    }
                }
                Piece::Kept(part) => {
                    let anchor = ReasoningAnchor::Standalone {
                        text: self.text_len,
                        tool_calls: self.next_index,
                    };
                    out.push(StreamEvent::ReasoningItem(reasoning_item(
                        self.provider,
                        anchor,
                        part,
                    )));
                }
            }
        }
        self.saw_calls |= new_calls;
        if let Some(usage) = chunk.usage {
            out.push(StreamEvent::Usage(usage));
        }
        match chunk.finish {
            Some(raw) => {
                out.push(StreamEvent::Finish(finish_from(&raw, self.saw_calls)));
                self.finish = Some(raw);
            }
            // A call after the finish reason changes what that reason means.
            None if new_calls => {
                if let Some(raw) = &self.finish {
                    out.push(StreamEvent::Finish(finish_from(raw, true)));
                }
            }
            None => {}
        }
        Ok(())
    }
}

impl FrameHandler for GeminiFrames {
    fn frame(&mut self, frame: &JsonFrame, out: &mut Vec<StreamEvent>) -> Result<()> {
        self.on_chunk(&frame.data, out)
    }
}
