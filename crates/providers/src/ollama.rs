//! Ollama's native chat API: `POST {base_url}/chat` (`http://localhost:11434/api/chat`).
//!
//! The wire format follows Ollama's API documentation
//! (<https://github.com/ollama/ollama/blob/main/docs/api.md>): images travel as bare
//! base64 strings in a message's `images`, tool call arguments are JSON objects,
//! sampling parameters sit under `options`, and `stream` is always sent because
//! Ollama streams unless told otherwise. A stream is newline-delimited JSON; its last
//! line has `done: true`, the `done_reason` and the token counts.
//!
//! ```
//! use llmvcr_core::{ChatRequest, Provider};
//! use llmvcr_providers::{Adapter, Endpoint, ollama::Ollama};
//!
//! let adapter = Ollama::new(Provider::Ollama);
//! let wire = adapter.build(&Endpoint::ollama(), &ChatRequest::new("llama3.2").user("Hi")).unwrap();
//! assert_eq!(wire.url, "http://localhost:11434/api/chat");
//! assert_eq!(wire.body["stream"], false);
//! ```

use http::Method;
use llmvcr_core::{
    ChatRequest, ChatResponse, ContentPart, Error, ErrorKind, FinishKind, FinishReason, Provider,
    ReasoningEffort, ResponseFormat, Result, Role, StreamEvent, ToolCall, ToolChoice, Usage,
};
use llmvcr_framing::StreamFormat;
use serde_json::{Map, Value, json};

use crate::adapter::{Adapter, StreamDecoder, WireRequest};
use crate::endpoint::{Endpoint, WireApi};
use crate::error::error_in_body;
use crate::frames::{FrameDecoder, FrameHandler, JsonFrame, StartTracker, format_for, parse_body};
use crate::wire::{arguments_object, inline_image, merge_extra, standard_headers, tool_name_for};

/// The Ollama native chat adapter.
#[derive(Debug, Clone)]
pub struct Ollama {
    provider: Provider,
}

impl Ollama {
    /// An adapter applying `provider`'s quirks.
    pub fn new(provider: Provider) -> Ollama {
        Ollama { provider }
    }
}

impl Adapter for Ollama {
    fn wire_api(&self) -> WireApi {
        WireApi::OllamaChat
    }

    fn provider(&self) -> Provider {
        self.provider
    }

    fn encode(&self, request: &ChatRequest) -> Result<Value> {
        let mut body = Map::new();
        body.insert("model".into(), json!(request.model));
        body.insert("messages".into(), Value::Array(encode_messages(request)?));
        let tools_allowed = match &request.tool_choice {
            None | Some(ToolChoice::Auto) => true,
            // Not offering the tools is how Ollama says "no tool calls".
            Some(ToolChoice::None) => false,
            Some(ToolChoice::Required | ToolChoice::Tool(_)) => {
                return Err(Error::new(
                    ErrorKind::Unsupported,
                    "Ollama cannot force a tool call (tool_choice required or a named tool)",
                )
                .with_provider(self.provider));
            }
        };
        if tools_allowed && !request.tools.is_empty() {
            let tools = request
                .tools
                .iter()
                .map(|t| {
                    let mut function = Map::new();
                    function.insert("name".into(), json!(t.name));
                    if let Some(d) = &t.description {
                        function.insert("description".into(), json!(d));
                    }
                    function.insert("parameters".into(), t.parameters.clone());
                    json!({"type": "function", "function": function})
                })
                .collect();
            body.insert("tools".into(), Value::Array(tools));
        }
        body.insert("stream".into(), json!(request.stream));
        let mut options = Map::new();
        if let Some(t) = request.temperature {
            options.insert("temperature".into(), json!(t));
        }
        if let Some(p) = request.top_p {
            options.insert("top_p".into(), json!(p));
        }
        if let Some(n) = request.max_tokens {
            options.insert("num_predict".into(), json!(n));
        }
        if !request.stop.is_empty() {
            options.insert("stop".into(), json!(request.stop));
        }
        if !options.is_empty() {
            body.insert("options".into(), Value::Object(options));
        }
        match &request.response_format {
            None | Some(ResponseFormat::Text) => {}
            Some(ResponseFormat::JsonObject) => {
                body.insert("format".into(), json!("json"));
            }
            Some(ResponseFormat::JsonSchema { schema, .. }) => {
                body.insert("format".into(), schema.clone());
            }
        }
        match (request.reasoning_effort, request.thinking_budget) {
            // Ollama's think levels are low, medium and high.
            (Some(ReasoningEffort::Minimal), _) => {
                body.insert("think".into(), json!("low"));
            }
            (Some(effort), _) => {
                body.insert("think".into(), json!(effort.as_str()));
            }
            (None, Some(budget)) => {
                body.insert("think".into(), json!(budget > 0));
            }
            (None, None) => {}
        }
        merge_extra(&mut body, &request.extra);
        Ok(Value::Object(body))
    }

    fn build(&self, endpoint: &Endpoint, request: &ChatRequest) -> Result<WireRequest> {
        Ok(WireRequest {
            method: Method::POST,
            url: format!("{}/chat", endpoint.base_url),
            headers: standard_headers(endpoint)?,
            body: self.encode(request)?,
        })
    }

    fn decode(&self, body: &[u8]) -> Result<ChatResponse> {
        let value = parse_body(body, self.provider)?;
        let chunk = read_chunk(self.provider, &value)?;
        let has_calls = !chunk.calls.is_empty();
        Ok(ChatResponse {
            id: None,
            model: chunk.model,
            text: chunk.text,
            reasoning: chunk.thinking,
            tool_calls: chunk.calls,
            usage: chunk.usage,
            finish_reason: chunk.done_reason.map(|raw| finish_from(&raw, has_calls)),
            reasoning_items: Vec::new(),
        })
    }

    fn stream_decoder(&self, content_type: Option<&str>) -> Box<dyn StreamDecoder> {
        Box::new(FrameDecoder::new(
            format_for(content_type, StreamFormat::Ndjson),
            self.provider,
            OllamaFrames {
                provider: self.provider,
                start: StartTracker::default(),
                next_index: 0,
            },
        ))
    }
}

// ---------------------------------------------------------------------------------
// Encoding

fn encode_messages(request: &ChatRequest) -> Result<Vec<Value>> {
    let messages = &request.messages;
    let mut out = Vec::with_capacity(messages.len());
    for (i, message) in messages.iter().enumerate() {
        let mut m = Map::new();
        m.insert("role".into(), json!(message.role.as_str()));
        m.insert("content".into(), json!(message.text_content()));
        let mut images = Vec::new();
        for part in &message.content {
            if let ContentPart::Image { source, .. } = part {
                let (_, data) = inline_image(source).ok_or_else(|| {
                    Error::new(
                        ErrorKind::Unsupported,
                        "Ollama takes images as base64 data, not as URLs",
                    )
                    .with_provider(Provider::Ollama)
                })?;
                images.push(json!(data));
            }
        }
        if !images.is_empty() {
            m.insert("images".into(), Value::Array(images));
        }
        if message.role == Role::Assistant && !message.tool_calls.is_empty() {
            let calls = message
                .tool_calls
                .iter()
                .map(|c| {
                    let arguments = arguments_object(Provider::Ollama, c)?;
                    Ok(json!({"function": {"name": c.name, "arguments": arguments}}))
                })
                .collect::<Result<Vec<Value>>>()?;
            m.insert("tool_calls".into(), Value::Array(calls));
        }
        if message.role == Role::Tool {
            let name = message
                .tool_call_id
                .as_deref()
                .and_then(|id| tool_name_for(messages, i, id))
                .or_else(|| message.name.clone());
            if let Some(name) = name {
                m.insert("tool_name".into(), json!(name));
            }
        }
        out.push(Value::Object(m));
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------
// Decoding, shared by the streamed and the non-streamed paths

/// What one response object (or stream line) says.
#[derive(Debug)]
struct Chunk {
    model: Option<String>,
    text: String,
    thinking: String,
    calls: Vec<ToolCall>,
    done_reason: Option<String>,
    usage: Option<Usage>,
}

fn read_chunk(provider: Provider, value: &Value) -> Result<Chunk> {
    if let Some(err) = error_in_body(provider, value) {
        return Err(err);
    }
    if !value.is_object() {
        return Err(Error::decode("Ollama response is not a JSON object").with_provider(provider));
    }
    let message = value.get("message").unwrap_or(&Value::Null);
    let text_of = |key: &str| {
        message
            .get(key)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let calls = message
        .get("tool_calls")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .map(|call| {
            let function = call.get("function").unwrap_or(&Value::Null);
            let name = function
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let id = call.get("id").and_then(Value::as_str).map(str::to_string);
            match function.get("arguments") {
                Some(Value::String(raw)) => ToolCall::from_raw(id, name, raw),
                None | Some(Value::Null) => ToolCall::from_value(id, name, json!({})),
                Some(args) => ToolCall::from_value(id, name, args.clone()),
            }
        })
        .collect();
    let count = |key: &str| value.get(key).and_then(Value::as_u64);
    let (prompt, eval) = (count("prompt_eval_count"), count("eval_count"));
    let usage = (prompt.is_some() || eval.is_some()).then(|| Usage {
        input_tokens: prompt.unwrap_or(0),
        output_tokens: eval.unwrap_or(0),
        ..Usage::default()
    });
    Ok(Chunk {
        model: value
            .get("model")
            .and_then(Value::as_str)
            .map(str::to_string),
        text: text_of("content"),
        thinking: text_of("thinking"),
        calls,
        done_reason: value
            .get("done_reason")
            .and_then(Value::as_str)
            .map(str::to_string),
        usage,
    })
}

/// `done_reason` as a [`FinishReason`]. `stop` after tool calls means the model
/// stopped to call tools.
fn finish_from(raw: &str, has_calls: bool) -> FinishReason {
    let kind = match raw {
        "stop" if has_calls => FinishKind::ToolCalls,
        "stop" => FinishKind::Stop,
        "length" => FinishKind::Length,
        _ => FinishKind::Other,
    };
    FinishReason::new(kind, raw)
}

// ---------------------------------------------------------------------------------
// Streaming

#[derive(Debug)]
struct OllamaFrames {
    provider: Provider,
    start: StartTracker,
    next_index: usize,
}

impl FrameHandler for OllamaFrames {
    fn frame(&mut self, frame: &JsonFrame, out: &mut Vec<StreamEvent>) -> Result<()> {
        let chunk = read_chunk(self.provider, &frame.data)?;
        self.start.update(None, chunk.model, out);
        if !chunk.thinking.is_empty() {
            out.push(StreamEvent::ReasoningDelta(chunk.thinking));
        }
        if !chunk.text.is_empty() {
            out.push(StreamEvent::TextDelta(chunk.text));
        }
        for call in chunk.calls {
            let index = self.next_index;
            self.next_index += 1;
            out.push(StreamEvent::ToolCallStart {
                index,
                id: call.id.clone(),
                name: call.name.clone(),
            });
            out.push(StreamEvent::ToolCallDelta {
                index,
                arguments: call.arguments_string(),
            });
        }
        if let Some(usage) = chunk.usage {
            out.push(StreamEvent::Usage(usage));
        }
        if let Some(raw) = chunk.done_reason {
            out.push(StreamEvent::Finish(finish_from(&raw, self.next_index > 0)));
        }
        Ok(())
    }
}
