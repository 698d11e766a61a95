//! Neutral types for llmvcr.
//!
//! Every provider adapter translates its wire format to and from these types, so the
//! router, the cost ledger, the scenario runner and the CLI never see a provider's JSON.
//! This crate performs no I/O and knows no provider's wire format.
//!
//! # Modules
//!
//! | module | holds |
//! |---|---|
//! | `request` | what a caller asks: [`ChatRequest`], [`Message`], [`ContentPart`], [`ToolSpec`], [`ToolChoice`], [`ResponseFormat`] |
//! | `response` | what a provider answers: [`ChatResponse`], [`ToolCall`], [`Usage`], [`FinishReason`] |
//! | `stream` | streamed answers: [`StreamEvent`] and [`StreamAccumulator`], which folds them into a [`ChatResponse`], or into an [`Error`] when the stream fails |
//! | `reasoning` | opaque reasoning state that goes back to the provider that produced it: [`ReasoningItem`] |
//! | `error` | [`Error`] and [`ErrorKind`], the same for every provider |
//! | `secret` | [`Secret`], a credential that never prints |
//!
//! These are private modules; everything is re-exported at the crate root.
//!
//! # Failed calls keep their usage
//!
//! Providers bill tokens even when a call fails: an Anthropic stream reports its
//! input tokens in `message_start` before an `overloaded_error` event, and OpenRouter
//! sends `usage` in the same chunk as a mid-stream error. An [`Error`] keeps that
//! report ([`Error::usage`]), and the output received before the failure
//! ([`Error::partial`]), so the router and the cost ledger bill every attempt that
//! reported usage, failed or not.
//!
//! ```
//! use llmvcr_core::{Error, ErrorKind, StreamAccumulator, StreamEvent, Usage};
//!
//! let mut acc = StreamAccumulator::new();
//! acc.push(&StreamEvent::Usage(Usage { input_tokens: 1_200, ..Usage::default() }));
//! // The stream breaks before any text: the input tokens are still on the error.
//! let error = acc.fail(Error::new(ErrorKind::Overloaded, "Overloaded"));
//! assert_eq!(error.usage().map(|u| u.input_tokens), Some(1_200));
//! assert!(error.partial().is_none());
//! ```
//!
//! ```
//! use llmvcr_core::{ChatRequest, ToolSpec};
//! use serde_json::json;
//!
//! let req = ChatRequest::new("gpt-4o-mini")
//!     .system("You are terse.")
//!     .user("What is 17 * 23?")
//!     .tool(ToolSpec::new("multiply", json!({"type": "object"})))
//!     .max_tokens(64);
//! assert_eq!(req.messages.len(), 2);
//! ```
//!
//! In a tool loop, an answer goes back into the history as
//! [`ChatResponse::to_message`]: its text, its tool calls, and the opaque
//! [`ReasoningItem`]s (thinking blocks, thought signatures, encrypted reasoning) that
//! reasoning models need to see again. Only the provider that produced an item gets
//! it back; adapters for other providers drop it.
//!
//! ```
//! use llmvcr_core::{ChatRequest, ChatResponse, Message, ToolCall};
//! use serde_json::json;
//!
//! # let answer = ChatResponse {
//! #     tool_calls: vec![ToolCall::from_value(Some("call_1".into()), "multiply", json!({"a": 17, "b": 23}))],
//! #     ..ChatResponse::default()
//! # };
//! // `answer` is what the adapter decoded for the request above.
//! let mut next = ChatRequest::new("gpt-5").user("What is 17 * 23?");
//! next = next.message(answer.to_message());
//! for call in &answer.tool_calls {
//!     next = next.message(Message::tool_result(call.id.clone().unwrap_or_default(), "391"));
//! }
//! assert_eq!(next.messages.len(), 3);
//! ```
#![warn(missing_docs, unreachable_pub)]

mod error;
mod reasoning;
mod request;
mod response;
mod secret;
mod stream;

pub use error::{Error, ErrorKind, Result};
pub use reasoning::{ReasoningAnchor, ReasoningFormat, ReasoningItem};
pub use request::{
    ChatRequest, ContentPart, ImageSource, Message, ReasoningEffort, ResponseFormat, Role,
    ToolChoice, ToolSpec,
};
pub use response::{ChatResponse, FinishKind, FinishReason, ToolCall, Usage};
pub use secret::Secret;
pub use stream::{StreamAccumulator, StreamEvent};

/// The providers llmvcr knows by name.
///
/// `as_str` gives the lowercase name used in CLI output and cassette metadata.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Provider {
    /// api.openai.com
    OpenAi,
    /// Azure OpenAI (`*.openai.azure.com`, `*.cognitiveservices.azure.com`).
    Azure,
    /// api.anthropic.com
    Anthropic,
    /// Gemini API (`generativelanguage.googleapis.com`) and Vertex AI.
    Gemini,
    /// openrouter.ai
    OpenRouter,
    /// api.groq.com
    Groq,
    /// api.mistral.ai
    Mistral,
    /// A local Ollama server.
    Ollama,
    /// A local LM Studio server.
    LmStudio,
    /// A server on another host that speaks an OpenAI API (Chat Completions,
    /// Responses, embeddings): a local server, a proxy or a mock.
    OpenAiCompatible,
    /// Anything else.
    Unknown,
}

impl Provider {
    /// Lowercase name: `openai`, `azure`, `anthropic`, `gemini`, `openrouter`, `groq`,
    /// `mistral`, `ollama`, `lmstudio`, `openai_compatible` or `unknown`.
    pub fn as_str(self) -> &'static str {
        match self {
            Provider::OpenAi => "openai",
            Provider::Azure => "azure",
            Provider::Anthropic => "anthropic",
            Provider::Gemini => "gemini",
            Provider::OpenRouter => "openrouter",
            Provider::Groq => "groq",
            Provider::Mistral => "mistral",
            Provider::Ollama => "ollama",
            Provider::LmStudio => "lmstudio",
            Provider::OpenAiCompatible => "openai_compatible",
            Provider::Unknown => "unknown",
        }
    }

    /// Parses the name that [`Provider::as_str`] returns (case-insensitive).
    pub fn from_name(name: &str) -> Option<Provider> {
        let p = match name.to_ascii_lowercase().as_str() {
            "openai" => Provider::OpenAi,
            "azure" | "azure_openai" | "azure-openai" => Provider::Azure,
            "anthropic" => Provider::Anthropic,
            "gemini" | "google" | "vertex" | "vertexai" => Provider::Gemini,
            "openrouter" => Provider::OpenRouter,
            "groq" => Provider::Groq,
            "mistral" => Provider::Mistral,
            "ollama" => Provider::Ollama,
            "lmstudio" | "lm_studio" | "lm-studio" => Provider::LmStudio,
            "openai_compatible" | "openai-compatible" => Provider::OpenAiCompatible,
            "unknown" => Provider::Unknown,
            _ => return None,
        };
        Some(p)
    }
}

impl std::fmt::Display for Provider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
