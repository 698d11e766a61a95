//! llmvcr: record, replay and fault-inject LLM provider traffic in Rust tests.
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

mod client;
pub mod inspect;

pub use client::{ChatStream, Client, ClientBuilder, PartialError};
pub use llmvcr_core::{
    ChatRequest, ChatResponse, ContentPart, Error, ErrorKind, FinishKind, FinishReason,
    ImageSource, Message, Provider, ReasoningEffort, ResponseFormat, Result, Role, Secret,
    StreamAccumulator, StreamEvent, ToolCall, ToolChoice, ToolSpec, Usage,
};
pub use llmvcr_providers::{
    Adapter, Api, AuthStyle, Endpoint, StreamDecoder, WireApi, WireRequest, adapter_for,
    adapter_for_wire, classify_http, detect_api, detect_provider,
};

/// The provider adapters, for direct use.
pub mod providers {
    pub use llmvcr_providers::*;
}

/// Cassettes: reading recordings (VCR.py YAML, vcr-cassette JSON).
pub mod cassette {
    pub use llmvcr_cassette::*;
}

#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
struct ReadmeDoctests;
