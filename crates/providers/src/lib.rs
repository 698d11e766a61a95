//! Provider wire adapters.
//!
//! One module per wire API, each implementing [`Adapter`]:
//!
//! | module | wire API | serves |
//! |---|---|---|
//! | `openai_chat` | `POST /chat/completions` | OpenAI, Azure OpenAI, OpenRouter, Groq, Mistral, LM Studio, Ollama's `/v1` route |
//! | `openai_responses` | `POST /responses` | OpenAI, Azure OpenAI, OpenRouter |
//! | `anthropic` | `POST /v1/messages` | Anthropic |
//! | `gemini` | `:generateContent`, `:streamGenerateContent` | Gemini API, Vertex AI |
//! | `ollama` | `POST /api/chat` | Ollama |
//!
//! An adapter encodes a neutral [`ChatRequest`](llmvcr_core::ChatRequest), decodes a
//! response body into a [`ChatResponse`](llmvcr_core::ChatResponse), decodes a stream
//! incrementally into [`StreamEvent`](llmvcr_core::StreamEvent)s, and classifies
//! errors into an [`ErrorKind`](llmvcr_core::ErrorKind), errors that arrive inside a
//! 200 body or stream included. An error keeps the usage the provider reported before
//! or with it ([`Error::usage`](llmvcr_core::Error::usage)): a stream's last usage
//! report before the error, or the `usage` of an error chunk or body, so a failed call
//! can be billed. Adapters do no I/O: the `llmvcr` crate sends what they build.
//!
//! ```
//! use llmvcr_core::ChatRequest;
//! use llmvcr_providers::{adapter_for, Endpoint};
//!
//! let endpoint = Endpoint::openai();
//! let adapter = adapter_for(&endpoint);
//! let wire = adapter.build(&endpoint, &ChatRequest::new("gpt-4o-mini").user("hi")).unwrap();
//! assert_eq!(wire.url, "https://api.openai.com/v1/chat/completions");
//! assert_eq!(wire.body["messages"][0]["content"], "hi");
//! ```
#![warn(missing_docs, unreachable_pub)]

mod adapter;
mod detect;
mod endpoint;
mod error;
mod frames;
mod layout;
mod wire;

pub mod anthropic;
pub mod fault_templates;
pub mod gemini;
pub mod ollama;
pub mod openai_chat;
pub mod openai_responses;
pub mod rules;

pub use adapter::{Adapter, StreamDecoder, WireRequest, adapter_for, adapter_for_wire};
pub use detect::{Api, detect_api, detect_provider, detect_wire_api};
pub use endpoint::{AuthStyle, Endpoint, WireApi};
pub use error::{classify_http, error_in_body, parse_retry_after};
