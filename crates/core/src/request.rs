//! What a caller asks for: [`ChatRequest`] and its parts ([`Message`], [`Role`],
//! [`ContentPart`], [`ImageSource`], [`ToolSpec`], [`ToolChoice`],
//! [`ResponseFormat`], [`ReasoningEffort`]).
//!
//! A request is written once and sent to any provider: each adapter encodes it into
//! its wire format and reports what that format cannot express as
//! `ErrorKind::Unsupported` or `ErrorKind::BadRequest`, never by dropping it
//! silently. Provider-specific fields go in [`ChatRequest::extra`], merged into
//! the body as they are.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Who wrote a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Instructions for the model (OpenAI `system`/`developer`, Anthropic `system`,
    /// Gemini `systemInstruction`).
    System,
    /// The user.
    User,
    /// The model.
    Assistant,
    /// The result of a tool call.
    Tool,
}

impl Role {
    /// Lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::System => "system",
            Role::User => "user",
            Role::Assistant => "assistant",
            Role::Tool => "tool",
        }
    }
}

/// Where an image comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ImageSource {
    /// A URL the provider fetches (or a `data:` URL).
    Url {
        /// The URL.
        url: String,
    },
    /// Inline bytes, base64-encoded.
    Base64 {
        /// MIME type, e.g. `image/png`.
        media_type: String,
        /// Base64 data without a `data:` prefix.
        data: String,
    },
}

/// One part of a message's content.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ContentPart {
    /// Plain text.
    Text {
        /// The text.
        text: String,
    },
    /// An image.
    Image {
        /// The image's source.
        source: ImageSource,
        /// OpenAI's `detail` hint (`low`, `high`, `auto`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        detail: Option<String>,
    },
}

impl ContentPart {
    /// A text part.
    pub fn text(text: impl Into<String>) -> ContentPart {
        ContentPart::Text { text: text.into() }
    }

    /// An image by URL.
    pub fn image_url(url: impl Into<String>) -> ContentPart {
        ContentPart::Image {
            source: ImageSource::Url { url: url.into() },
            detail: None,
        }
    }

    /// An inline base64 image.
    pub fn image_base64(media_type: impl Into<String>, data: impl Into<String>) -> ContentPart {
        ContentPart::Image {
            source: ImageSource::Base64 {
                media_type: media_type.into(),
                data: data.into(),
            },
            detail: None,
        }
    }
}

/// One message of a conversation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    /// Who wrote it.
    pub role: Role,
    /// Its content parts, in order.
    #[serde(default, deserialize_with = "content_from_string_or_parts")]
    pub content: Vec<ContentPart>,
    /// An optional participant name (OpenAI `name`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Tool calls made by the assistant in this message.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<crate::ToolCall>,
    /// For `Role::Tool`: the id of the call this message answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<String>,
    /// For `Role::Assistant`: opaque reasoning state of the answer this message
    /// repeats, sent back to the provider that produced it and dropped for any other
    /// (see [`ReasoningItem`](crate::ReasoningItem)).
    /// [`ChatResponse::to_message`](crate::ChatResponse::to_message) fills it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reasoning_items: Vec<crate::ReasoningItem>,
}

fn content_from_string_or_parts<'de, D>(d: D) -> Result<Vec<ContentPart>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Either {
        Text(String),
        Parts(Vec<ContentPart>),
    }
    Ok(match Option::<Either>::deserialize(d)? {
        None => Vec::new(),
        Some(Either::Text(t)) => vec![ContentPart::Text { text: t }],
        Some(Either::Parts(p)) => p,
    })
}

impl Message {
    /// A message of `role` with one text part.
    pub fn text(role: Role, text: impl Into<String>) -> Message {
        Message {
            role,
            content: vec![ContentPart::text(text)],
            name: None,
            tool_calls: Vec::new(),
            tool_call_id: None,
            reasoning_items: Vec::new(),
        }
    }

    /// A system message.
    pub fn system(text: impl Into<String>) -> Message {
        Message::text(Role::System, text)
    }

    /// A user message.
    pub fn user(text: impl Into<String>) -> Message {
        Message::text(Role::User, text)
    }

    /// An assistant message.
    pub fn assistant(text: impl Into<String>) -> Message {
        Message::text(Role::Assistant, text)
    }

    /// A tool result answering the call `tool_call_id`.
    pub fn tool_result(tool_call_id: impl Into<String>, text: impl Into<String>) -> Message {
        Message {
            tool_call_id: Some(tool_call_id.into()),
            ..Message::text(Role::Tool, text)
        }
    }

    /// The text parts joined together.
    pub fn text_content(&self) -> String {
        let mut out = String::new();
        for part in &self.content {
            if let ContentPart::Text { text } = part {
                out.push_str(text);
            }
        }
        out
    }
}

/// A tool (function) the model may call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolSpec {
    /// The function name.
    pub name: String,
    /// What it does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// A JSON schema for the arguments.
    #[serde(default = "empty_object_schema")]
    pub parameters: Value,
    /// Ask for strict schema adherence where the provider supports it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strict: Option<bool>,
}

fn empty_object_schema() -> Value {
    serde_json::json!({"type": "object", "properties": {}})
}

impl ToolSpec {
    /// A tool with a name and a JSON schema for its parameters.
    pub fn new(name: impl Into<String>, parameters: Value) -> ToolSpec {
        ToolSpec {
            name: name.into(),
            description: None,
            parameters,
            strict: None,
        }
    }

    /// Sets the description.
    pub fn description(mut self, description: impl Into<String>) -> ToolSpec {
        self.description = Some(description.into());
        self
    }
}

/// Which tool, if any, the model must call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ToolChoice {
    /// The model decides.
    Auto,
    /// No tool calls.
    None,
    /// At least one tool call.
    Required,
    /// This named tool.
    Tool(String),
}

/// The shape of the answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ResponseFormat {
    /// Free text (the default).
    Text,
    /// Any JSON object ("JSON mode").
    JsonObject,
    /// JSON conforming to a schema.
    JsonSchema {
        /// A name for the schema (OpenAI requires one).
        name: String,
        /// The JSON schema.
        schema: Value,
        /// Strict adherence where the provider supports it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        strict: Option<bool>,
    },
}

/// How hard a reasoning model should think.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReasoningEffort {
    /// Minimal reasoning.
    Minimal,
    /// Low.
    Low,
    /// Medium.
    Medium,
    /// High.
    High,
}

impl ReasoningEffort {
    /// Lowercase name as the OpenAI APIs spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            ReasoningEffort::Minimal => "minimal",
            ReasoningEffort::Low => "low",
            ReasoningEffort::Medium => "medium",
            ReasoningEffort::High => "high",
        }
    }
}

/// A provider-neutral chat request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatRequest {
    /// The model (or, for Azure, the deployment) name.
    pub model: String,
    /// The conversation, system messages included.
    pub messages: Vec<Message>,
    /// Tools the model may call.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tools: Vec<ToolSpec>,
    /// Tool choice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_choice: Option<ToolChoice>,
    /// Sampling temperature.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    /// Nucleus sampling.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f64>,
    /// Maximum output tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u32>,
    /// Stop sequences.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stop: Vec<String>,
    /// The answer's format.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_format: Option<ResponseFormat>,
    /// Reasoning effort for reasoning models.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning_effort: Option<ReasoningEffort>,
    /// A thinking budget in tokens (Anthropic `thinking.budget_tokens`, Gemini
    /// `thinkingConfig.thinkingBudget`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thinking_budget: Option<u32>,
    /// Ask for a streamed answer.
    #[serde(default)]
    pub stream: bool,
    /// Provider-specific fields merged into the encoded body at the top level.
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub extra: serde_json::Map<String, Value>,
}

impl ChatRequest {
    /// An empty request for `model`.
    pub fn new(model: impl Into<String>) -> ChatRequest {
        ChatRequest {
            model: model.into(),
            messages: Vec::new(),
            tools: Vec::new(),
            tool_choice: None,
            temperature: None,
            top_p: None,
            max_tokens: None,
            stop: Vec::new(),
            response_format: None,
            reasoning_effort: None,
            thinking_budget: None,
            stream: false,
            extra: serde_json::Map::new(),
        }
    }

    /// Appends a system message.
    pub fn system(mut self, text: impl Into<String>) -> ChatRequest {
        self.messages.push(Message::system(text));
        self
    }

    /// Appends a user message.
    pub fn user(mut self, text: impl Into<String>) -> ChatRequest {
        self.messages.push(Message::user(text));
        self
    }

    /// Appends an assistant message.
    pub fn assistant(mut self, text: impl Into<String>) -> ChatRequest {
        self.messages.push(Message::assistant(text));
        self
    }

    /// Appends any message.
    pub fn message(mut self, message: Message) -> ChatRequest {
        self.messages.push(message);
        self
    }

    /// Adds a tool.
    pub fn tool(mut self, tool: ToolSpec) -> ChatRequest {
        self.tools.push(tool);
        self
    }

    /// Sets the tool choice.
    pub fn tool_choice(mut self, choice: ToolChoice) -> ChatRequest {
        self.tool_choice = Some(choice);
        self
    }

    /// Sets the temperature.
    pub fn temperature(mut self, t: f64) -> ChatRequest {
        self.temperature = Some(t);
        self
    }

    /// Sets the maximum output tokens.
    pub fn max_tokens(mut self, n: u32) -> ChatRequest {
        self.max_tokens = Some(n);
        self
    }

    /// Adds a stop sequence.
    pub fn stop(mut self, s: impl Into<String>) -> ChatRequest {
        self.stop.push(s.into());
        self
    }

    /// Sets the response format.
    pub fn response_format(mut self, f: ResponseFormat) -> ChatRequest {
        self.response_format = Some(f);
        self
    }

    /// Asks for a streamed answer.
    pub fn streaming(mut self, stream: bool) -> ChatRequest {
        self.stream = stream;
        self
    }

    /// The concatenated text of all system messages, separated by blank lines.
    pub fn system_text(&self) -> Option<String> {
        let parts: Vec<String> = self
            .messages
            .iter()
            .filter(|m| m.role == Role::System)
            .map(Message::text_content)
            .collect();
        if parts.is_empty() {
            None
        } else {
            Some(parts.join("\n\n"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_content_accepts_a_plain_string() {
        let m: Message = serde_json::from_str(r#"{"role":"user","content":"hi"}"#).unwrap();
        assert_eq!(m.content, vec![ContentPart::text("hi")]);
    }

    #[test]
    fn request_deserializes_from_a_small_document() {
        let r: ChatRequest = serde_json::from_str(
            r#"{"model":"m","messages":[{"role":"system","content":"be brief"},{"role":"user","content":[{"type":"text","text":"hi"},{"type":"image","source":{"type":"url","url":"https://x/y.png"}}]}],"max_tokens":5}"#,
        )
        .unwrap();
        assert_eq!(r.system_text().as_deref(), Some("be brief"));
        assert_eq!(r.messages[1].content.len(), 2);
        assert_eq!(r.max_tokens, Some(5));
    }
}
