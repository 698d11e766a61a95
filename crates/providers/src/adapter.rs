use std::fmt::Debug;

use http::{HeaderMap, Method};
use llmvcr_core::{ChatRequest, ChatResponse, Error, Provider, Result, StreamEvent};
use serde_json::Value;

use crate::endpoint::{Endpoint, WireApi};

/// An HTTP request an adapter built. The `llmvcr` crate sends it.
#[derive(Debug, Clone, PartialEq)]
pub struct WireRequest {
    /// The method (always `POST` for chat calls).
    pub method: Method,
    /// The full URL, query included.
    pub url: String,
    /// Headers, credentials included. Never log these.
    pub headers: HeaderMap,
    /// The JSON body.
    pub body: Value,
}

/// Decodes a streamed response body incrementally.
///
/// Bytes may be split anywhere. A decoder never panics: malformed input yields an
/// [`ErrorKind::Decode`](llmvcr_core::ErrorKind::Decode) error, and an error the
/// provider sends inside the stream yields that error, classified.
pub trait StreamDecoder: Send + Debug {
    /// Feeds bytes and returns the events they complete.
    fn feed(&mut self, bytes: &[u8]) -> Result<Vec<StreamEvent>>;
    /// Ends the stream and returns the remaining events.
    fn finish(&mut self) -> Result<Vec<StreamEvent>>;
}

/// One provider wire API.
pub trait Adapter: Send + Sync + Debug {
    /// The wire API this adapter speaks.
    fn wire_api(&self) -> WireApi;

    /// The provider whose errors and quirks this adapter applies.
    fn provider(&self) -> Provider;

    /// Encodes the request body.
    fn encode(&self, request: &ChatRequest) -> Result<Value>;

    /// Builds the whole HTTP request: URL, auth, headers and body.
    fn build(&self, endpoint: &Endpoint, request: &ChatRequest) -> Result<WireRequest>;

    /// Decodes a successful (2xx) non-streaming body. An error object inside the body
    /// is returned as a classified `Err`.
    fn decode(&self, body: &[u8]) -> Result<ChatResponse>;

    /// A decoder for a streamed body. `content_type` is the response's `Content-Type`,
    /// which picks the framing where the wire API allows more than one.
    fn stream_decoder(&self, content_type: Option<&str>) -> Box<dyn StreamDecoder>;

    /// Classifies a non-2xx response.
    fn classify(&self, status: u16, headers: &HeaderMap, body: &[u8]) -> Error {
        crate::error::classify_http(self.provider(), status, headers, body)
    }
}

/// The adapter for an endpoint.
pub fn adapter_for(endpoint: &Endpoint) -> Box<dyn Adapter> {
    adapter_for_wire(endpoint.wire_api, endpoint.provider)
}

/// The adapter for a wire API, applying `provider`'s quirks.
pub fn adapter_for_wire(wire_api: WireApi, provider: Provider) -> Box<dyn Adapter> {
    match wire_api {
        WireApi::OpenAiChat => Box::new(crate::openai_chat::OpenAiChat::new(provider)),
        WireApi::OpenAiResponses => {
            Box::new(crate::openai_responses::OpenAiResponses::new(provider))
        }
        WireApi::AnthropicMessages => Box::new(crate::anthropic::Anthropic::new(provider)),
        WireApi::Gemini => Box::new(crate::gemini::Gemini::new(provider)),
        WireApi::OllamaChat => Box::new(crate::ollama::Ollama::new(provider)),
    }
}

/// Decodes a whole streamed body at once with `decoder`.
pub(crate) fn decode_all(
    mut decoder: Box<dyn StreamDecoder>,
    body: &[u8],
) -> Result<Vec<StreamEvent>> {
    let mut events = decoder.feed(body)?;
    events.extend(decoder.finish()?);
    Ok(events)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode_all_is_usable() {
        let d = adapter_for(&Endpoint::openai()).stream_decoder(Some("text/event-stream"));
        let events = decode_all(d, b"").unwrap();
        assert!(events.is_empty());
    }
}
