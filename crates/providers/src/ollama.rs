//! Ollama native chat (placeholder until the adapter lands).

use http::Method;
use llmvcr_core::{ChatRequest, ChatResponse, Error, ErrorKind, Provider, Result, StreamEvent};
use serde_json::Value;

use crate::adapter::{Adapter, StreamDecoder, WireRequest};
use crate::endpoint::{Endpoint, WireApi};

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

#[derive(Debug)]
struct Decoder;

impl StreamDecoder for Decoder {
    fn feed(&mut self, _bytes: &[u8]) -> Result<Vec<StreamEvent>> {
        Ok(Vec::new())
    }
    fn finish(&mut self) -> Result<Vec<StreamEvent>> {
        Ok(Vec::new())
    }
}

impl Adapter for Ollama {
    fn wire_api(&self) -> WireApi {
        WireApi::OpenAiChat
    }
    fn provider(&self) -> Provider {
        self.provider
    }
    fn encode(&self, _request: &ChatRequest) -> Result<Value> {
        Err(Error::new(ErrorKind::Unsupported, "not yet"))
    }
    fn build(&self, endpoint: &Endpoint, request: &ChatRequest) -> Result<WireRequest> {
        Ok(WireRequest {
            method: Method::POST,
            url: format!("{}/chat/completions", endpoint.base_url),
            headers: http::HeaderMap::new(),
            body: self.encode(request)?,
        })
    }
    fn decode(&self, _body: &[u8]) -> Result<ChatResponse> {
        Err(Error::new(ErrorKind::Unsupported, "not yet"))
    }
    fn stream_decoder(&self, _content_type: Option<&str>) -> Box<dyn StreamDecoder> {
        Box::new(Decoder)
    }
}
