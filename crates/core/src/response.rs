//! What a provider answered: [`ChatResponse`], its [`ToolCall`]s, its [`Usage`]
//! and its [`FinishReason`].
//!
//! [`Usage`] has one accounting for every provider (all input, cached tokens
//! included; all output, reasoning included), so the cost catalog prices it with
//! one formula. A response goes back into a conversation with
//! [`ChatResponse::to_message`].

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{ContentPart, Message, ReasoningItem, Role};

/// A tool call made by the model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolCall {
    /// The provider's call id, if it gives one (Gemini often does not).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The function name.
    pub name: String,
    /// The arguments, parsed as JSON. When the model produced text that is not valid
    /// JSON, this is that text as a JSON string.
    pub arguments: Value,
}

impl ToolCall {
    /// A call whose arguments arrived as a JSON string (OpenAI style). Invalid JSON is
    /// kept as a string value, never dropped.
    pub fn from_raw(id: Option<String>, name: impl Into<String>, raw: &str) -> ToolCall {
        ToolCall {
            id,
            name: name.into(),
            arguments: parse_arguments(raw),
        }
    }

    /// A call whose arguments arrived as a JSON value (Anthropic, Gemini style).
    pub fn from_value(id: Option<String>, name: impl Into<String>, arguments: Value) -> ToolCall {
        ToolCall {
            id,
            name: name.into(),
            arguments,
        }
    }

    /// The arguments as a JSON string, as OpenAI-style APIs expect them back.
    pub fn arguments_string(&self) -> String {
        match &self.arguments {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        }
    }
}

/// Parses tool-call arguments: valid JSON becomes its value, anything else a string.
pub(crate) fn parse_arguments(raw: &str) -> Value {
    serde_json::from_str(raw).unwrap_or_else(|_| Value::String(raw.to_string()))
}

/// Token usage of one call.
///
/// The accounting is the same for every provider:
/// - `input_tokens` is all input processed, cached reads and cache writes included;
/// - `output_tokens` is all output generated, reasoning included.
///
/// The other fields are subsets of those two and are zero when the provider reported
/// nothing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Usage {
    /// All input tokens, cached ones included.
    pub input_tokens: u64,
    /// All output tokens, reasoning included.
    pub output_tokens: u64,
    /// Input tokens read from the provider's prompt cache (part of `input_tokens`).
    #[serde(default)]
    pub cached_input_tokens: u64,
    /// Input tokens written to the provider's prompt cache (part of `input_tokens`).
    #[serde(default)]
    pub cache_write_tokens: u64,
    /// Output tokens spent on reasoning (part of `output_tokens`).
    #[serde(default)]
    pub reasoning_tokens: u64,
}

impl Usage {
    /// Input plus output.
    pub fn total_tokens(&self) -> u64 {
        self.input_tokens.saturating_add(self.output_tokens)
    }

    /// Input tokens neither read from nor written to a cache.
    pub fn uncached_input_tokens(&self) -> u64 {
        self.input_tokens
            .saturating_sub(self.cached_input_tokens)
            .saturating_sub(self.cache_write_tokens)
    }
}

/// Why the model stopped, normalised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FinishKind {
    /// A natural end or a stop sequence.
    Stop,
    /// The output token limit was reached.
    Length,
    /// The model stopped to call tools.
    ToolCalls,
    /// A safety filter stopped the output.
    ContentFilter,
    /// The provider reported a failure.
    Error,
    /// Anything else; see the raw value.
    Other,
}

impl FinishKind {
    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            FinishKind::Stop => "stop",
            FinishKind::Length => "length",
            FinishKind::ToolCalls => "tool_calls",
            FinishKind::ContentFilter => "content_filter",
            FinishKind::Error => "error",
            FinishKind::Other => "other",
        }
    }
}

/// The normalised finish reason with the provider's raw value.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FinishReason {
    /// Normalised.
    pub kind: FinishKind,
    /// Exactly what the provider sent (`end_turn`, `STOP`, `tool_calls`, `completed`...).
    pub raw: String,
}

impl FinishReason {
    /// A finish reason.
    pub fn new(kind: FinishKind, raw: impl Into<String>) -> FinishReason {
        FinishReason {
            kind,
            raw: raw.into(),
        }
    }
}

/// A provider-neutral chat response.
///
/// When a provider returns several choices or candidates, this holds the first.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ChatResponse {
    /// The provider's response id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The model that answered, as the provider reports it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// The visible answer text, concatenated. Reasoning is not included.
    pub text: String,
    /// Reasoning or thinking text, kept apart from `text`. Empty when none was returned.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reasoning: String,
    /// Tool calls, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<ToolCall>,
    /// Token usage, if the provider reported it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
    /// Why the model stopped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finish_reason: Option<FinishReason>,
    /// Opaque reasoning state (thinking blocks, signatures, reasoning items) that must
    /// go back with this answer when it is sent again as history; see
    /// [`ReasoningItem`] and [`ChatResponse::to_message`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reasoning_items: Vec<ReasoningItem>,
}

impl ChatResponse {
    /// The assistant [`Message`] that puts this answer into a conversation's history:
    /// its text, its tool calls and its [reasoning items](ReasoningItem), which
    /// the adapter of the same provider sends back in the provider's order.
    ///
    /// ```
    /// use llmvcr_core::{ChatRequest, ChatResponse, Message, Role, ToolCall};
    /// use serde_json::json;
    ///
    /// let answer = ChatResponse {
    ///     tool_calls: vec![ToolCall::from_value(Some("call_1".into()), "f", json!({}))],
    ///     ..ChatResponse::default()
    /// };
    /// let next = ChatRequest::new("m")
    ///     .user("Call f.")
    ///     .message(answer.to_message())
    ///     .message(Message::tool_result("call_1", "42"));
    /// assert_eq!(next.messages[1].role, Role::Assistant);
    /// assert_eq!(next.messages[1].tool_calls.len(), 1);
    /// ```
    pub fn to_message(&self) -> Message {
        self.clone().into_message()
    }

    /// [`ChatResponse::to_message`], consuming the response.
    pub fn into_message(self) -> Message {
        let content = if self.text.is_empty() {
            Vec::new()
        } else {
            vec![ContentPart::Text { text: self.text }]
        };
        Message {
            role: Role::Assistant,
            content,
            name: None,
            tool_calls: self.tool_calls,
            tool_call_id: None,
            reasoning_items: self.reasoning_items,
        }
    }
}

impl From<ChatResponse> for Message {
    fn from(response: ChatResponse) -> Message {
        response.into_message()
    }
}

impl From<&ChatResponse> for Message {
    fn from(response: &ChatResponse) -> Message {
        response.to_message()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_arguments_are_kept_as_text() {
        let c = ToolCall::from_raw(None, "f", "{\"a\": 1");
        assert_eq!(c.arguments, Value::String("{\"a\": 1".into()));
        assert_eq!(c.arguments_string(), "{\"a\": 1");
        let c = ToolCall::from_raw(None, "f", "{\"a\": 1}");
        assert_eq!(c.arguments, serde_json::json!({"a": 1}));
    }

    #[test]
    fn uncached_input_never_underflows() {
        let u = Usage {
            input_tokens: 10,
            cached_input_tokens: 8,
            cache_write_tokens: 8,
            ..Usage::default()
        };
        assert_eq!(u.uncached_input_tokens(), 0);
    }
}
