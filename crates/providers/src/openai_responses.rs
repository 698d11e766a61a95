//! OpenAI Responses API: `POST {base_url}/responses`.
//!
//! Serves OpenAI, Azure OpenAI's v1 API and OpenRouter's `/api/v1/responses`.
//!
//! Encoding:
//! - system messages become `instructions`, joined by blank lines;
//! - the other messages become `input` items: user and assistant `message` items,
//!   `function_call` items for the tool calls in history and `function_call_output`
//!   items for tool results;
//! - tools are flat (`{"type":"function","name",...}`); a tool without `strict` is sent
//!   with `"strict": false`, so it behaves as it does on Chat Completions (this API
//!   would otherwise default to strict);
//! - the output limit is `max_output_tokens`, the format goes to `text.format`, and the
//!   effort to `reasoning.effort`;
//! - stop sequences do not exist in this API: a request with any is refused with an
//!   [`ErrorKind::Unsupported`] error rather than sent without them.
//!
//! Decoding: the text is every `output_text` part of every `message` item; `refusal`
//! parts are not part of the text. The reasoning is the text of each reasoning summary
//! part and each `reasoning_text` part (OpenRouter's raw chain of thought), joined by
//! blank lines. Tool calls are the `function_call` items, with `call_id` as their id.
//! Other items (web search calls and such) are skipped. The finish reason's raw value is
//! the response `status`.
//!
//! Each `reasoning` item (`id`, `summary`, and `encrypted_content` when the request
//! asked for `include: ["reasoning.encrypted_content"]`, as it must with
//! `store: false`) becomes a [`ReasoningItem`] anchored by
//! its place in `output`. Encoding an assistant message sends its items back as input
//! items in that place, before the `function_call` items that followed them; items of
//! another provider (OpenAI's at Azure, say) or format are dropped. A stream sends
//! them when the response finishes, as the final response holds them.
//!
//! A stream yields the same [`ChatResponse`] as the non-streaming body: text, reasoning
//! and arguments come from the delta events, and the `.done` events, finished items and
//! the final response fill in only what no delta carried.
//!
//! ```
//! use llmvcr_core::{ChatRequest, Provider};
//! use llmvcr_providers::Adapter;
//! use llmvcr_providers::openai_responses::OpenAiResponses;
//!
//! let adapter = OpenAiResponses::new(Provider::OpenAi);
//! let body = adapter.encode(&ChatRequest::new("gpt-5").system("Be brief.").user("hi")).unwrap();
//! assert_eq!(body["instructions"], "Be brief.");
//! assert_eq!(body["input"][0]["content"][0]["type"], "input_text");
//! ```

use std::collections::{BTreeMap, HashMap, HashSet};

use http::Method;
use llmvcr_core::{
    ChatRequest, ChatResponse, ContentPart, Error, ErrorKind, FinishKind, FinishReason, Message,
    Provider, ReasoningAnchor, ReasoningFormat, ReasoningItem, Result, Role, StreamEvent, ToolCall,
};
use llmvcr_framing::StreamFormat;
use serde_json::{Map, Value, json};

use crate::adapter::{Adapter, StreamDecoder, WireRequest};
use crate::endpoint::{Endpoint, WireApi};
use crate::error::error_in_body;
use crate::frames::{FrameDecoder, FrameHandler, StartTracker};
use crate::frames::{JsonFrame, format_for, parse_body};
use crate::layout::{Piece, assistant_pieces};
use crate::openai_chat::{
    UsageKeys, encode_format, encode_tool_choice, function_spec, tool_call, usage_from,
};
use crate::wire::{
    bad_request, build_url, image_url, merge_extra, non_empty_str, number, standard_headers,
    text_only,
};

/// Responses API usage field names.
const RESPONSES_USAGE: UsageKeys = UsageKeys {
    input: "input_tokens",
    output: "output_tokens",
    input_details: "input_tokens_details",
    output_details: "output_tokens_details",
};

/// The separator between reasoning parts.
const REASONING_SEPARATOR: &str = "\n\n";

/// The OpenAI Responses API adapter.
#[derive(Debug, Clone)]
pub struct OpenAiResponses {
    provider: Provider,
}

impl OpenAiResponses {
    /// An adapter applying `provider`'s quirks.
    pub fn new(provider: Provider) -> OpenAiResponses {
        OpenAiResponses { provider }
    }

    fn push_items(&self, message: &Message, input: &mut Vec<Value>) -> Result<()> {
        let p = self.provider;
        match message.role {
            Role::System => {
                text_only(p, message)?;
            }
            Role::User => {
                let parts: Vec<Value> = message
                    .content
                    .iter()
                    .map(|part| match part {
                        ContentPart::Text { text } => json!({"type": "input_text", "text": text}),
                        ContentPart::Image { source, detail } => json!({
                            "type": "input_image",
                            "image_url": image_url(source),
                            "detail": detail.as_deref().unwrap_or("auto"),
                        }),
                    })
                    .collect();
                input.push(json!({"role": "user", "content": parts}));
            }
            Role::Assistant => {
                text_only(p, message)?;
                let output_text =
                    |text: &str| json!({"type": "output_text", "text": text, "annotations": []});
                let message_item =
                    |parts: Vec<Value>| json!({"role": "assistant", "content": parts});
                // Reasoning items go back as input items, where they came.
                let mut answered = false;
                for piece in assistant_pieces(message, p, ReasoningFormat::OpenAiResponses) {
                    match piece {
                        Piece::Content { parts, .. } => {
                            let parts: Vec<Value> = parts
                                .iter()
                                .filter_map(|part| match part {
                                    ContentPart::Text { text } if !text.is_empty() => {
                                        Some(output_text(text))
                                    }
                                    _ => None,
                                })
                                .collect();
                            if !parts.is_empty() {
                                answered = true;
                                input.push(message_item(parts));
                            }
                        }
                        Piece::Item(item) => input.push(item.data.clone()),
                        Piece::Call { call, .. } => {
                            answered = true;
                            input.push(function_call_item(p, call)?);
                        }
                    }
                }
                if !answered {
                    input.push(message_item(vec![output_text("")]));
                }
            }
            Role::Tool => {
                let id = message
                    .tool_call_id
                    .as_deref()
                    .ok_or_else(|| bad_request(p, "a tool message needs a tool_call_id"))?;
                input.push(json!({
                    "type": "function_call_output",
                    "call_id": id,
                    "output": text_only(p, message)?,
                }));
            }
        }
        Ok(())
    }
}

/// A tool call in history as a `function_call` input item.
fn function_call_item(provider: Provider, call: &ToolCall) -> Result<Value> {
    let id = call.id.as_deref().ok_or_else(|| {
        bad_request(
            provider,
            format!(
                "tool call {:?} has no id; the Responses API needs a call_id",
                call.name
            ),
        )
    })?;
    Ok(json!({
        "type": "function_call",
        "call_id": id,
        "name": call.name,
        "arguments": call.arguments_string(),
    }))
}

impl Adapter for OpenAiResponses {
    fn wire_api(&self) -> WireApi {
        WireApi::OpenAiResponses
    }

    fn provider(&self) -> Provider {
        self.provider
    }

    fn encode(&self, request: &ChatRequest) -> Result<Value> {
        let p = self.provider;
        if !request.stop.is_empty() {
            return Err(Error::new(
                ErrorKind::Unsupported,
                "the Responses API has no stop sequences; remove `stop` or use Chat Completions",
            )
            .with_provider(p));
        }
        let mut body = Map::new();
        body.insert("model".into(), json!(request.model));
        if let Some(instructions) = request.system_text() {
            body.insert("instructions".into(), json!(instructions));
        }
        let mut input = Vec::new();
        for message in &request.messages {
            self.push_items(message, &mut input)?;
        }
        body.insert("input".into(), Value::Array(input));
        if !request.tools.is_empty() {
            let tools = request
                .tools
                .iter()
                .map(|t| {
                    let mut tool = Map::new();
                    tool.insert("type".into(), json!("function"));
                    tool.extend(function_spec(t, Some(t.strict.unwrap_or(false))));
                    Value::Object(tool)
                })
                .collect();
            body.insert("tools".into(), Value::Array(tools));
        }
        if let Some(choice) = &request.tool_choice {
            let value =
                encode_tool_choice(choice, |name| json!({"type": "function", "name": name}));
            body.insert("tool_choice".into(), value);
        }
        if let Some(t) = request.temperature {
            body.insert("temperature".into(), number(p, "temperature", t)?);
        }
        if let Some(t) = request.top_p {
            body.insert("top_p".into(), number(p, "top_p", t)?);
        }
        if let Some(n) = request.max_tokens {
            body.insert("max_output_tokens".into(), json!(n));
        }
        if let Some(format) = &request.response_format {
            body.insert(
                "text".into(),
                json!({"format": encode_format(format, true)}),
            );
        }
        if let Some(effort) = request.reasoning_effort {
            body.insert("reasoning".into(), json!({"effort": effort.as_str()}));
        }
        if request.stream {
            body.insert("stream".into(), json!(true));
        }
        merge_extra(&mut body, &request.extra);
        Ok(Value::Object(body))
    }

    fn build(&self, endpoint: &Endpoint, request: &ChatRequest) -> Result<WireRequest> {
        Ok(WireRequest {
            method: Method::POST,
            url: build_url(endpoint, "/responses"),
            headers: standard_headers(endpoint)?,
            body: self.encode(request)?,
        })
    }

    fn decode(&self, body: &[u8]) -> Result<ChatResponse> {
        let value = parse_body(body, self.provider)?;
        if let Some(err) = error_in_body(self.provider, &value) {
            // A failed response object reports the usage of what it did.
            let usage = value
                .get("usage")
                .and_then(|u| usage_from(u, RESPONSES_USAGE));
            return Err(err.with_usage(usage));
        }
        if !value.is_object() {
            return Err(
                Error::decode("response body is not a JSON object").with_provider(self.provider)
            );
        }
        Ok(decode_response(self.provider, &value))
    }

    fn stream_decoder(&self, content_type: Option<&str>) -> Box<dyn StreamDecoder> {
        Box::new(FrameDecoder::new(
            format_for(content_type, StreamFormat::Sse),
            self.provider,
            ResponsesStream::new(self.provider),
        ))
    }
}

// ---------------------------------------------------------------------------
// Response objects
// ---------------------------------------------------------------------------

fn output_items(response: &Value) -> &[Value] {
    response
        .get("output")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
}

fn item_type(item: &Value) -> &str {
    item.get("type").and_then(Value::as_str).unwrap_or_default()
}

fn text_of(value: &Value) -> &str {
    value
        .get("text")
        .and_then(Value::as_str)
        .unwrap_or_default()
}

fn array<'a>(value: &'a Value, key: &str) -> &'a [Value] {
    value
        .get(key)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
}

/// Where a piece of reasoning sits: output index, summary or content, part index.
type ReasoningKey = (usize, ReasoningPart, usize);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum ReasoningPart {
    Summary,
    Content,
}

/// The reasoning pieces of a `reasoning` item, in order.
fn reasoning_pieces(index: usize, item: &Value) -> impl Iterator<Item = (ReasoningKey, &str)> {
    let summary = array(item, "summary")
        .iter()
        .enumerate()
        .map(move |(i, part)| ((index, ReasoningPart::Summary, i), text_of(part)));
    let content = array(item, "content")
        .iter()
        .enumerate()
        .map(move |(i, part)| ((index, ReasoningPart::Content, i), text_of(part)));
    summary.chain(content)
}

/// A `function_call` item (JSON `arguments`) or a `custom_tool_call` item (free-form
/// `input`) as a tool call.
fn function_call(item: &Value) -> ToolCall {
    let name = item.get("name").and_then(Value::as_str).unwrap_or_default();
    let arguments = item.get("arguments").or_else(|| item.get("input"));
    tool_call(non_empty_str(item, "call_id"), name, arguments)
}

/// Whether an output item is a call the client must execute.
fn is_call(item: &Value) -> bool {
    matches!(item_type(item), "function_call" | "custom_tool_call")
}

/// The finish reason of a response `status`.
fn finish_for(response: &Value, has_tool_calls: bool) -> Option<FinishReason> {
    let status = response.get("status").and_then(Value::as_str)?;
    let kind = match status {
        "completed" if has_tool_calls => FinishKind::ToolCalls,
        "completed" => FinishKind::Stop,
        "incomplete" => match response
            .get("incomplete_details")
            .and_then(|d| d.get("reason"))
            .and_then(Value::as_str)
        {
            Some("max_output_tokens") => FinishKind::Length,
            Some("content_filter") => FinishKind::ContentFilter,
            _ => FinishKind::Other,
        },
        "failed" => FinishKind::Error,
        _ => FinishKind::Other,
    };
    Some(FinishReason::new(kind, status))
}

/// The error of a `failed` response, when it carries one.
fn failure(provider: Provider, response: &Value) -> Option<Error> {
    if response.get("status").and_then(Value::as_str) == Some("failed") {
        error_in_body(provider, response)
    } else {
        None
    }
}

/// A `reasoning` output item as a reasoning item.
fn reasoning_item(provider: Provider, anchor: ReasoningAnchor, item: &Value) -> ReasoningItem {
    ReasoningItem::new(
        provider,
        ReasoningFormat::OpenAiResponses,
        anchor,
        item.clone(),
    )
}

fn decode_response(provider: Provider, response: &Value) -> ChatResponse {
    let mut text = String::new();
    let mut reasoning: Vec<&str> = Vec::new();
    let mut tool_calls = Vec::new();
    let mut reasoning_items = Vec::new();
    for (index, item) in output_items(response).iter().enumerate() {
        if item_type(item) == "reasoning" {
            let anchor = ReasoningAnchor::Standalone {
                text: text.len(),
                tool_calls: tool_calls.len(),
            };
            reasoning_items.push(reasoning_item(provider, anchor, item));
        }
        match item_type(item) {
            "message" => {
                for part in array(item, "content") {
                    if item_type(part) == "output_text" {
                        text.push_str(text_of(part));
                    }
                }
            }
            "reasoning" => reasoning.extend(
                reasoning_pieces(index, item)
                    .map(|(_, t)| t)
                    .filter(|t| !t.is_empty()),
            ),
            "function_call" | "custom_tool_call" => tool_calls.push(function_call(item)),
            _ => {}
        }
    }
    let finish_reason = finish_for(response, !tool_calls.is_empty());
    ChatResponse {
        id: non_empty_str(response, "id"),
        model: non_empty_str(response, "model"),
        text,
        reasoning: reasoning.join(REASONING_SEPARATOR),
        tool_calls,
        usage: response
            .get("usage")
            .and_then(|u| usage_from(u, RESPONSES_USAGE)),
        finish_reason,
        reasoning_items,
    }
}

// ---------------------------------------------------------------------------
// Streams
// ---------------------------------------------------------------------------

/// Responses API event handling.
///
/// Every piece of output is keyed by its position (output index, part index). A piece
/// a delta carried is marked, and the full values in `.done` events, finished items and
/// the final response are emitted only for unmarked pieces.
///
/// `reasoning` items become reasoning items when the response finishes, as the final
/// response holds them (OpenRouter, for one, renames an item between its
/// `output_item.done` event and the final response), each anchored by output index:
/// after the text and calls of the items before it, whatever order their events
/// arrived in. A stream that never finishes carries none.
#[derive(Debug)]
struct ResponsesStream {
    provider: Provider,
    start: StartTracker,
    text_seen: HashSet<(usize, usize)>,
    reasoning_seen: HashSet<ReasoningKey>,
    last_reasoning: Option<ReasoningKey>,
    calls_started: HashSet<usize>,
    arguments_seen: HashSet<usize>,
    /// Bytes of answer text sent, by output index.
    text_len: HashMap<usize, usize>,
    /// Finished `reasoning` items by output index, sent when the response finishes.
    reasoning_items: BTreeMap<usize, Value>,
}

impl ResponsesStream {
    fn new(provider: Provider) -> ResponsesStream {
        ResponsesStream {
            provider,
            start: StartTracker::default(),
            text_seen: HashSet::new(),
            reasoning_seen: HashSet::new(),
            last_reasoning: None,
            calls_started: HashSet::new(),
            arguments_seen: HashSet::new(),
            text_len: HashMap::new(),
            reasoning_items: BTreeMap::new(),
        }
    }

    /// The anchor of the output item at `index`: the text and calls of the items
    /// before it.
    fn anchor(&self, index: usize) -> ReasoningAnchor {
        ReasoningAnchor::Standalone {
            text: self
                .text_len
                .iter()
                .filter(|(i, _)| **i < index)
                .map(|(_, n)| *n)
                .sum(),
            tool_calls: self.calls_started.iter().filter(|i| **i < index).count(),
        }
    }

    fn text(
        &mut self,
        key: (usize, usize),
        text: &str,
        is_delta: bool,
        out: &mut Vec<StreamEvent>,
    ) {
        if !is_delta && self.text_seen.contains(&key) {
            return;
        }
        self.text_seen.insert(key);
        if !text.is_empty() {
            *self.text_len.entry(key.0).or_default() += text.len();
            out.push(StreamEvent::TextDelta(text.to_string()));
        }
    }

    /// Reasoning text; a new piece after earlier reasoning starts with a blank line, as
    /// the non-streaming join does.
    fn reasoning(
        &mut self,
        key: ReasoningKey,
        text: &str,
        is_delta: bool,
        out: &mut Vec<StreamEvent>,
    ) {
        if !is_delta && self.reasoning_seen.contains(&key) {
            return;
        }
        self.reasoning_seen.insert(key);
        if text.is_empty() {
            return;
        }
        let delta = match self.last_reasoning {
            Some(last) if last != key => format!("{REASONING_SEPARATOR}{text}"),
            _ => text.to_string(),
        };
        self.last_reasoning = Some(key);
        out.push(StreamEvent::ReasoningDelta(delta));
    }

    fn call_start(&mut self, index: usize, item: &Value, out: &mut Vec<StreamEvent>) {
        if self.calls_started.insert(index) {
            out.push(StreamEvent::ToolCallStart {
                index,
                id: non_empty_str(item, "call_id"),
                name: item
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
            });
        }
    }

    fn arguments(
        &mut self,
        index: usize,
        arguments: String,
        is_delta: bool,
        out: &mut Vec<StreamEvent>,
    ) {
        if !is_delta && self.arguments_seen.contains(&index) {
            return;
        }
        self.arguments_seen.insert(index);
        if !arguments.is_empty() {
            out.push(StreamEvent::ToolCallDelta { index, arguments });
        }
    }

    /// Emits what a finished output item holds and no delta carried.
    fn finished_item(&mut self, index: usize, item: &Value, out: &mut Vec<StreamEvent>) {
        match item_type(item) {
            "message" => {
                for (i, part) in array(item, "content").iter().enumerate() {
                    if item_type(part) == "output_text" {
                        self.text((index, i), text_of(part), false, out);
                    }
                }
            }
            "reasoning" => {
                for (key, text) in reasoning_pieces(index, item) {
                    self.reasoning(key, text, false, out);
                }
                self.reasoning_items.insert(index, item.clone());
            }
            "function_call" | "custom_tool_call" => {
                self.call_start(index, item, out);
                let arguments = function_call(item).arguments_string();
                self.arguments(index, arguments, false, out);
            }
            _ => {}
        }
    }

    /// `response.completed`, `response.incomplete` and `response.failed`.
    fn finished_response(&mut self, response: &Value, out: &mut Vec<StreamEvent>) -> Result<()> {
        self.start.update(
            non_empty_str(response, "id"),
            non_empty_str(response, "model"),
            out,
        );
        let items = output_items(response);
        for (index, item) in items.iter().enumerate() {
            self.finished_item(index, item, out);
        }
        for (index, item) in std::mem::take(&mut self.reasoning_items) {
            let anchor = self.anchor(index);
            out.push(StreamEvent::ReasoningItem(reasoning_item(
                self.provider,
                anchor,
                &item,
            )));
        }
        if let Some(usage) = response
            .get("usage")
            .and_then(|u| usage_from(u, RESPONSES_USAGE))
        {
            out.push(StreamEvent::Usage(usage));
        }
        if let Some(err) = failure(self.provider, response) {
            return Err(err);
        }
        let has_calls = !self.calls_started.is_empty() || items.iter().any(is_call);
        if let Some(finish) = finish_for(response, has_calls) {
            out.push(StreamEvent::Finish(finish));
        }
        Ok(())
    }
}

fn index_of(event: &Value, key: &str) -> usize {
    event
        .get(key)
        .and_then(Value::as_u64)
        .and_then(|i| usize::try_from(i).ok())
        .unwrap_or(0)
}

fn str_of<'a>(event: &'a Value, key: &str) -> &'a str {
    event.get(key).and_then(Value::as_str).unwrap_or_default()
}

impl FrameHandler for ResponsesStream {
    fn frame(&mut self, frame: &JsonFrame, out: &mut Vec<StreamEvent>) -> Result<()> {
        let event = &frame.data;
        if let Some(err) = error_in_body(self.provider, event) {
            return Err(err);
        }
        if !event.is_object() {
            return Err(
                Error::decode("stream event is not a JSON object").with_provider(self.provider)
            );
        }
        let kind = event
            .get("type")
            .and_then(Value::as_str)
            .or(frame.event.as_deref())
            .unwrap_or_default();
        let output = index_of(event, "output_index");
        let null = Value::Null;
        match kind {
            "response.created" | "response.in_progress" | "response.queued" => {
                let response = event.get("response").unwrap_or(&null);
                self.start.update(
                    non_empty_str(response, "id"),
                    non_empty_str(response, "model"),
                    out,
                );
            }
            "response.output_item.added" => {
                let item = event.get("item").unwrap_or(&null);
                if is_call(item) {
                    self.call_start(output, item, out);
                }
            }
            "response.output_text.delta" => {
                let key = (output, index_of(event, "content_index"));
                self.text(key, str_of(event, "delta"), true, out);
            }
            "response.output_text.done" => {
                let key = (output, index_of(event, "content_index"));
                self.text(key, str_of(event, "text"), false, out);
            }
            "response.reasoning_summary_text.delta" | "response.reasoning_summary_text.done" => {
                let key = (
                    output,
                    ReasoningPart::Summary,
                    index_of(event, "summary_index"),
                );
                let is_delta = kind.ends_with(".delta");
                let text = str_of(event, if is_delta { "delta" } else { "text" });
                self.reasoning(key, text, is_delta, out);
            }
            "response.reasoning_text.delta" | "response.reasoning_text.done" => {
                let key = (
                    output,
                    ReasoningPart::Content,
                    index_of(event, "content_index"),
                );
                let is_delta = kind.ends_with(".delta");
                let text = str_of(event, if is_delta { "delta" } else { "text" });
                self.reasoning(key, text, is_delta, out);
            }
            "response.function_call_arguments.delta" | "response.custom_tool_call_input.delta" => {
                self.arguments(output, str_of(event, "delta").to_string(), true, out);
            }
            "response.function_call_arguments.done" => {
                self.arguments(output, str_of(event, "arguments").to_string(), false, out);
            }
            "response.custom_tool_call_input.done" => {
                self.arguments(output, str_of(event, "input").to_string(), false, out);
            }
            "response.output_item.done" => {
                let item = event.get("item").unwrap_or(&null);
                self.finished_item(output, item, out);
            }
            "response.completed" | "response.incomplete" | "response.failed" => {
                let response = event.get("response").unwrap_or(&null);
                self.finished_response(response, out)?;
            }
            _ => {}
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapter::decode_all;
    use llmvcr_core::StreamAccumulator;

    fn aggregate(sse: &str) -> Result<ChatResponse> {
        let events = decode_all(
            OpenAiResponses::new(Provider::OpenAi).stream_decoder(None),
            sse.as_bytes(),
        )?;
        let mut acc = StreamAccumulator::new();
        for e in &events {
            acc.push(e);
        }
        Ok(acc.finish())
    }

    fn frame(v: Value) -> String {
        format!("data: {v}\n\n")
    }

    #[test]
    fn done_events_fill_in_when_no_delta_came() {
        let completed = json!({"id": "r", "model": "m", "status": "completed", "output": [
            {"type": "reasoning", "summary": [{"type": "summary_text", "text": "First."}, {"type": "summary_text", "text": "Second."}]},
            {"type": "message", "content": [{"type": "output_text", "text": "Hi"}]},
            {"type": "function_call", "call_id": "c1", "name": "f", "arguments": "{\"a\":1}"}
        ], "usage": {"input_tokens": 5, "output_tokens": 7, "output_tokens_details": {"reasoning_tokens": 3}}});
        let sse = [
            frame(json!({"type": "response.created", "response": {"id": "r", "model": "m", "status": "in_progress"}})),
            frame(json!({"type": "response.reasoning_summary_text.delta", "output_index": 0, "summary_index": 0, "delta": "First."})),
            frame(json!({"type": "response.reasoning_summary_text.done", "output_index": 0, "summary_index": 1, "text": "Second."})),
            frame(json!({"type": "response.output_text.done", "output_index": 1, "content_index": 0, "text": "Hi"})),
            frame(json!({"type": "response.output_item.done", "output_index": 2, "item": completed["output"][2]})),
            frame(json!({"type": "response.completed", "response": completed})),
        ]
        .concat();
        let streamed = aggregate(&sse).unwrap();
        let decoded = decode_response(Provider::OpenAi, &completed);
        assert_eq!(streamed, decoded);
        assert_eq!(decoded.reasoning, "First.\n\nSecond.");
        assert_eq!(decoded.text, "Hi");
        assert_eq!(decoded.finish_reason.unwrap().kind, FinishKind::ToolCalls);
    }

    #[test]
    fn custom_tool_calls_are_tool_calls_with_free_form_input() {
        let item = json!({"type": "custom_tool_call", "id": "ctc_1", "call_id": "call_9", "name": "run_sql", "input": "SELECT 1;"});
        let completed = json!({"id": "r", "model": "m", "status": "completed", "output": [item]});
        let decoded = decode_response(Provider::OpenAi, &completed);
        assert_eq!(decoded.tool_calls.len(), 1);
        assert_eq!(decoded.tool_calls[0].name, "run_sql");
        assert_eq!(decoded.tool_calls[0].id.as_deref(), Some("call_9"));
        assert_eq!(decoded.tool_calls[0].arguments, json!("SELECT 1;"));
        assert_eq!(
            decoded.finish_reason.as_ref().unwrap().kind,
            FinishKind::ToolCalls
        );
        let sse = [
            frame(json!({"type": "response.output_item.added", "output_index": 0, "item": {"type": "custom_tool_call", "call_id": "call_9", "name": "run_sql", "input": ""}})),
            frame(json!({"type": "response.custom_tool_call_input.delta", "output_index": 0, "delta": "SELECT "})),
            frame(json!({"type": "response.custom_tool_call_input.delta", "output_index": 0, "delta": "1;"})),
            frame(json!({"type": "response.custom_tool_call_input.done", "output_index": 0, "input": "SELECT 1;"})),
            frame(json!({"type": "response.completed", "response": completed})),
        ]
        .concat();
        assert_eq!(aggregate(&sse).unwrap(), decoded);
    }

    #[test]
    fn completed_alone_carries_the_whole_output() {
        let completed = json!({"id": "r", "status": "completed", "output": [
            {"type": "message", "content": [{"type": "output_text", "text": "A"}, {"type": "refusal", "refusal": "no"}, {"type": "output_text", "text": "B"}]}
        ]});
        let sse = frame(json!({"type": "response.completed", "response": completed}));
        let streamed = aggregate(&sse).unwrap();
        assert_eq!(streamed.text, "AB");
        assert_eq!(streamed, decode_response(Provider::OpenAi, &completed));
    }

    #[test]
    fn incomplete_and_failed_statuses() {
        let r = decode_response(
            Provider::OpenAi,
            &json!({"status": "incomplete", "incomplete_details": {"reason": "max_output_tokens"}}),
        );
        assert_eq!(
            r.finish_reason,
            Some(FinishReason::new(FinishKind::Length, "incomplete"))
        );
        let r = decode_response(
            Provider::OpenAi,
            &json!({"status": "incomplete", "incomplete_details": {"reason": "content_filter"}}),
        );
        assert_eq!(r.finish_reason.unwrap().kind, FinishKind::ContentFilter);
        let r = decode_response(
            Provider::OpenAi,
            &json!({"status": "failed", "error": null}),
        );
        assert_eq!(r.finish_reason.unwrap().kind, FinishKind::Error);
        let r = decode_response(Provider::OpenAi, &json!({"status": "cancelled"}));
        assert_eq!(r.finish_reason.unwrap().kind, FinishKind::Other);
    }

    #[test]
    fn failed_stream_reports_usage_then_the_error() {
        let sse = [
            frame(json!({"type": "response.output_text.delta", "output_index": 0, "content_index": 0, "delta": "par"})),
            frame(json!({"type": "response.failed", "response": {"status": "failed", "error": {"code": "server_error", "message": "boom"}, "usage": {"input_tokens": 3, "output_tokens": 1}}})),
        ]
        .concat();
        let mut d = OpenAiResponses::new(Provider::OpenAi).stream_decoder(None);
        let events = d.feed(sse.as_bytes()).unwrap();
        assert_eq!(events.len(), 2);
        assert!(matches!(events[1], StreamEvent::Usage(_)));
        let e = d.finish().unwrap_err();
        assert_eq!(e.kind, ErrorKind::Server);
        assert_eq!(e.code.as_deref(), Some("server_error"));
        // The failed response's usage stays on the error.
        let reported = llmvcr_core::Usage {
            input_tokens: 3,
            output_tokens: 1,
            ..llmvcr_core::Usage::default()
        };
        assert_eq!(e.usage(), Some(reported));
        // The same response as a non-streamed body.
        let body = json!({"status": "failed", "error": {"code": "server_error", "message": "boom"}, "usage": {"input_tokens": 3, "output_tokens": 1}});
        let e = OpenAiResponses::new(Provider::OpenAi)
            .decode(body.to_string().as_bytes())
            .unwrap_err();
        assert_eq!(e.usage(), Some(reported));
    }

    #[test]
    fn error_event_is_classified() {
        let sse = "event: error\ndata: {\"type\":\"error\",\"code\":\"rate_limit_exceeded\",\"message\":\"Slow down\",\"param\":null,\"sequence_number\":2}\n\n";
        let e = aggregate(sse).unwrap_err();
        assert_eq!(e.kind, ErrorKind::RateLimited);
        assert_eq!(e.message, "Slow down");
    }

    #[test]
    fn stop_sequences_are_unsupported() {
        let e = OpenAiResponses::new(Provider::OpenAi)
            .encode(&ChatRequest::new("m").user("x").stop("END"))
            .unwrap_err();
        assert_eq!(e.kind, ErrorKind::Unsupported);
    }

    #[test]
    fn history_tool_calls_need_ids() {
        let call = ToolCall::from_value(None, "f", json!({}));
        let req = ChatRequest::new("m").message(Message {
            tool_calls: vec![call],
            ..Message::assistant("")
        });
        let e = OpenAiResponses::new(Provider::OpenAi)
            .encode(&req)
            .unwrap_err();
        assert_eq!(e.kind, ErrorKind::BadRequest);
    }
}
