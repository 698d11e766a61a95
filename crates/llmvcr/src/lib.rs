//! llmvcr: record, replay and fault-inject LLM provider traffic in Rust tests.
//!
//! A test gets a client over a cassette in one line. The cassette is named after the
//! test; `cargo test` replays it offline, and `LLMVCR_MODE=record cargo test` (with
//! the provider's key in the environment) records it, secrets replaced by
//! placeholders:
//!
//! ```
//! use llmvcr::{ChatRequest, Endpoint};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> llmvcr::Result<()> {
//! // In a #[tokio::test], `cassette_client!(Endpoint::openai())` uses
//! // cassettes/<module path>/<test name>.yaml; here the cassette is named explicitly:
//! // <CARGO_MANIFEST_DIR>/cassettes/quickstart/capital_of_france.yaml.
//! let client = llmvcr::cassette_client!(Endpoint::openai(), "quickstart/capital_of_france");
//!
//! let request = ChatRequest::new("gpt-4o")
//!     .system("You are a helpful assistant.")
//!     .user("What is the capital of France?");
//! let answer = client.chat(&request).await?;
//! assert_eq!(answer.text, "The capital of France is Paris.");
//! assert_eq!(answer.usage.map(|u| u.total_tokens()), Some(32));
//!
//! // A request that was never recorded fails, naming the nearest recording and
//! // the JSON paths where the two differ.
//! let miss = client.chat(&ChatRequest::new("gpt-4o").user("What about Spain?")).await;
//! assert_eq!(miss.unwrap_err().kind, llmvcr::ErrorKind::NoMatch);
//! # Ok(())
//! # }
//! ```
//!
//! See [`testing`] for where cassettes live and how the mode is chosen, and the
//! [`cassette`] module for the format, matching, and the middleware itself.
//!
//! This crate is the façade. It puts provider adapters on a `reqwest-middleware`
//! stack ([`Client`]), and re-exports the neutral types every part of llmvcr shares.
//!
//! ```
//! use llmvcr::{ChatRequest, Endpoint, adapter_for};
//!
//! // Adapters encode neutral requests into each provider's wire format.
//! let endpoint = Endpoint::anthropic();
//! let wire = adapter_for(&endpoint)
//!     .build(&endpoint, &ChatRequest::new("claude-sonnet-4-5").system("Be brief.").user("Hi"))
//!     .unwrap();
//! assert_eq!(wire.url, "https://api.anthropic.com/v1/messages");
//! assert_eq!(wire.body["system"], "Be brief.");
//! ```
#![warn(missing_docs, unreachable_pub)]

mod cassette_layer;
mod client;
pub mod inspect;
pub mod routing;
pub mod testing;

pub use client::{ChatStream, Client, ClientBuilder, PartialError};
pub use llmvcr_core::{
    ChatRequest, ChatResponse, ContentPart, Error, ErrorKind, FinishKind, FinishReason,
    ImageSource, Message, Provider, ReasoningAnchor, ReasoningEffort, ReasoningFormat,
    ReasoningItem, ResponseFormat, Result, Role, Secret, StreamAccumulator, StreamEvent, ToolCall,
    ToolChoice, ToolSpec, Usage,
};
pub use llmvcr_providers::{
    Adapter, Api, AuthStyle, Endpoint, StreamDecoder, WireApi, WireRequest, adapter_for,
    adapter_for_wire, classify_http, detect_api, detect_provider,
};

/// The provider adapters, for direct use.
pub mod providers {
    pub use llmvcr_providers::*;
}

/// Cassettes: format v1, secrets, recordings in other formats.
pub mod cassette {
    pub use llmvcr_cassette::*;
}

/// The rules that tell streamed responses by their URL, from
/// [`llmvcr_providers::rules::JSON_ARRAY_STREAM_URLS`]: Gemini's
/// `:streamGenerateContent` without `alt=sse` streams a JSON array.
///
/// ```
/// let rules = llmvcr::cassette_stream_urls();
/// assert!(rules[0].applies("https://h/v1beta/models/m:streamGenerateContent"));
/// ```
#[must_use]
pub fn cassette_stream_urls() -> Vec<llmvcr_cassette::StreamUrlRule> {
    llmvcr_providers::rules::JSON_ARRAY_STREAM_URLS
        .iter()
        .map(|url| llmvcr_cassette::StreamUrlRule {
            path_contains: url.path_contains.to_owned(),
            unless_query: url.unless_query.map(str::to_owned),
            format: llmvcr_cassette::StreamFormat::JsonArray,
        })
        .collect()
}

#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
struct ReadmeDoctests;

/// Exact token counting (`o200k_base`, `cl100k_base`), chat overhead, and estimators
/// for providers without an offline tokenizer.
pub mod tokens {
    pub use llmvcr_tokens::*;
}
