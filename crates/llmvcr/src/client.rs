use std::collections::VecDeque;
use std::fmt;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures::Stream;
use http::HeaderMap;
use llmvcr_core::{
    ChatRequest, ChatResponse, Error, ErrorKind, Result, StreamAccumulator, StreamEvent, Usage,
};
use llmvcr_providers::{Adapter, Endpoint, StreamDecoder, adapter_for};
use reqwest_middleware::{ClientBuilder as HttpClientBuilder, ClientWithMiddleware, Middleware};

/// A chat client for one provider endpoint, over a `reqwest-middleware` stack.
///
/// Every call goes through the middleware the client was built with, so a cassette,
/// a fault injector or any user middleware sees the real HTTP traffic.
///
/// ```no_run
/// # async fn demo() -> llmvcr_core::Result<()> {
/// use llmvcr::{ChatRequest, Client, Endpoint};
///
/// // Reads OPENAI_API_KEY from the environment.
/// let client = Client::new(Endpoint::openai());
/// let answer = client.chat(&ChatRequest::new("gpt-4o-mini").user("Say hi")).await?;
/// println!("{}", answer.text);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Client {
    http: ClientWithMiddleware,
    endpoint: Endpoint,
    adapter: Arc<dyn Adapter>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("endpoint", &self.endpoint)
            .field("adapter", &self.adapter)
            .finish_non_exhaustive()
    }
}

/// Builds a [`Client`]: the endpoint, the HTTP client and the middleware stack.
pub struct ClientBuilder {
    endpoint: Endpoint,
    http: Option<reqwest::Client>,
    middleware: Vec<Arc<dyn Middleware>>,
    key_from_env: bool,
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("endpoint", &self.endpoint)
            .field("middleware", &self.middleware.len())
            .field("key_from_env", &self.key_from_env)
            .finish_non_exhaustive()
    }
}

impl ClientBuilder {
    /// Adds a middleware. The first one added is the outermost.
    pub fn with<M: Middleware>(mut self, middleware: M) -> ClientBuilder {
        self.middleware.push(Arc::new(middleware));
        self
    }

    /// Adds a shared middleware.
    pub fn with_arc(mut self, middleware: Arc<dyn Middleware>) -> ClientBuilder {
        self.middleware.push(middleware);
        self
    }

    /// Uses this `reqwest::Client` at the bottom of the stack.
    pub fn http_client(mut self, client: reqwest::Client) -> ClientBuilder {
        self.http = Some(client);
        self
    }

    /// Whether to read the credential from the provider's environment variable when the
    /// endpoint has none. On by default.
    pub fn key_from_env(mut self, yes: bool) -> ClientBuilder {
        self.key_from_env = yes;
        self
    }

    /// Builds the client.
    pub fn build(self) -> Client {
        let mut endpoint = self.endpoint;
        if self.key_from_env && endpoint.api_key.is_none() {
            endpoint = endpoint.with_key_from_env();
        }
        let mut stack = HttpClientBuilder::new(self.http.unwrap_or_default());
        for m in self.middleware {
            stack = stack.with_arc(m);
        }
        Client::from_parts(endpoint, stack.build())
    }
}

impl Client {
    /// A client for `endpoint` with no middleware, reading its key from the environment.
    pub fn new(endpoint: Endpoint) -> Client {
        Client::builder(endpoint).build()
    }

    /// A builder for `endpoint`.
    pub fn builder(endpoint: Endpoint) -> ClientBuilder {
        ClientBuilder {
            endpoint,
            http: None,
            middleware: Vec::new(),
            key_from_env: true,
        }
    }

    /// A client for `endpoint` over an existing middleware stack. The endpoint is used
    /// as given: its key is not read from the environment.
    pub fn from_parts(endpoint: Endpoint, http: ClientWithMiddleware) -> Client {
        let adapter: Arc<dyn Adapter> = Arc::from(adapter_for(&endpoint));
        Client {
            http,
            endpoint,
            adapter,
        }
    }

    /// The endpoint.
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// The adapter.
    pub fn adapter(&self) -> &dyn Adapter {
        self.adapter.as_ref()
    }

    /// Sends a non-streaming chat request.
    pub async fn chat(&self, request: &ChatRequest) -> Result<ChatResponse> {
        self.chat_with(request, http::Extensions::new()).await
    }

    /// [`Client::chat`] with request extensions that every middleware of the stack
    /// sees (for example the fault layer's `FaultContext`).
    pub async fn chat_with(
        &self,
        request: &ChatRequest,
        extensions: http::Extensions,
    ) -> Result<ChatResponse> {
        let mut request = request.clone();
        request.stream = false;
        let response = self.send(&request, extensions).await?;
        let body = response
            .bytes()
            .await
            .map_err(|e| self.transport_error(&e))?;
        self.adapter.decode(&body)
    }

    /// Sends a streaming chat request and returns the stream of events.
    ///
    /// An HTTP error status is returned here, classified. Errors that arrive inside the
    /// stream, and a stream that breaks, are yielded by the stream.
    pub async fn chat_stream(&self, request: &ChatRequest) -> Result<ChatStream> {
        self.chat_stream_with(request, http::Extensions::new())
            .await
    }

    /// [`Client::chat_stream`] with request extensions that every middleware of the
    /// stack sees.
    pub async fn chat_stream_with(
        &self,
        request: &ChatRequest,
        extensions: http::Extensions,
    ) -> Result<ChatStream> {
        let mut request = request.clone();
        request.stream = true;
        let response = self.send(&request, extensions).await?;
        let content_type = response
            .headers()
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let decoder = self.adapter.stream_decoder(content_type.as_deref());
        let provider = self.endpoint.provider;
        let body = futures::StreamExt::map(response.bytes_stream(), move |r| {
            r.map_err(|e| transport_error(provider, &e))
        });
        Ok(ChatStream::new(Box::pin(body), decoder))
    }

    async fn send(
        &self,
        request: &ChatRequest,
        extensions: http::Extensions,
    ) -> Result<reqwest::Response> {
        let wire = self.adapter.build(&self.endpoint, request)?;
        let body = serde_json::to_vec(&wire.body)
            .map_err(|e| Error::new(ErrorKind::BadRequest, format!("cannot encode body: {e}")))?;
        let mut builder = self
            .http
            .request(wire.method, wire.url.as_str())
            .headers(wire.headers)
            .body(body);
        builder.extensions().extend(extensions);
        let response = builder.send().await.map_err(|e| self.middleware_error(e))?;
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        let headers: HeaderMap = response.headers().clone();
        let body = response.bytes().await.unwrap_or_default();
        Err(self.adapter.classify(status.as_u16(), &headers, &body))
    }

    fn transport_error(&self, e: &reqwest::Error) -> Error {
        transport_error(self.endpoint.provider, e)
    }

    fn middleware_error(&self, e: reqwest_middleware::Error) -> Error {
        match e {
            reqwest_middleware::Error::Reqwest(e) => self.transport_error(&e),
            reqwest_middleware::Error::Middleware(e) => {
                if let Some(inner) = e.downcast_ref::<Error>() {
                    return inner.clone();
                }
                if let Some(inner) = e.downcast_ref::<llmvcr_cassette::MiddlewareError>() {
                    return crate::cassette_layer::to_core_error(inner)
                        .with_provider(self.endpoint.provider);
                }
                // A middleware that fails the connection (a reset, a refused or
                // aborted connection) reports it through an io error in its chain,
                // exactly as a real one reaches the client: a network error.
                let kind = if io_connection_failure(e.as_ref()) {
                    ErrorKind::Network
                } else {
                    ErrorKind::Other
                };
                Error::new(kind, format!("{e:#}")).with_provider(self.endpoint.provider)
            }
        }
    }
}

/// Whether `e` or one of its sources is an io error that breaks the connection.
fn io_connection_failure(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = current {
        if let Some(io) = err.downcast_ref::<std::io::Error>()
            && matches!(
                io.kind(),
                std::io::ErrorKind::ConnectionReset
                    | std::io::ErrorKind::ConnectionAborted
                    | std::io::ErrorKind::ConnectionRefused
                    | std::io::ErrorKind::BrokenPipe
                    | std::io::ErrorKind::UnexpectedEof
            )
        {
            return true;
        }
        current = err.source();
    }
    false
}

fn transport_error(provider: llmvcr_core::Provider, e: &reqwest::Error) -> Error {
    let kind = if e.is_timeout() {
        ErrorKind::Timeout
    } else {
        ErrorKind::Network
    };
    Error::new(kind, describe_without_url(e)).with_provider(provider)
}

/// Describes a transport error without its URL: reqwest's `Display` includes the URL,
/// which may carry a `key=` credential.
fn describe_without_url(e: &reqwest::Error) -> String {
    let mut msg = String::from(if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "connection failed"
    } else if e.is_body() || e.is_decode() {
        "reading the response body failed"
    } else {
        "request failed"
    });
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        source = s.source();
    }
    msg
}

type ByteStream = Pin<Box<dyn Stream<Item = Result<Bytes>> + Send>>;

/// A streamed chat response: a [`Stream`] of [`StreamEvent`]s.
///
/// Events are decoded as bytes arrive. [`ChatStream::collect_response`] folds the rest
/// of the stream into the same [`ChatResponse`] a non-streaming call returns.
pub struct ChatStream {
    body: Option<ByteStream>,
    decoder: Box<dyn StreamDecoder>,
    pending: VecDeque<StreamEvent>,
    /// The last usage the stream reported, kept on a transport error that ends it.
    usage: Option<Usage>,
}

impl fmt::Debug for ChatStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChatStream")
            .field("done", &self.body.is_none())
            .field("pending", &self.pending.len())
            .finish_non_exhaustive()
    }
}

impl ChatStream {
    /// A stream decoding `body` with `decoder`.
    pub fn new(body: ByteStream, decoder: Box<dyn StreamDecoder>) -> ChatStream {
        ChatStream {
            body: Some(body),
            decoder,
            pending: VecDeque::new(),
            usage: None,
        }
    }

    /// Reads the rest of the stream and aggregates it. On a mid-stream error, the
    /// error is returned together with the output received so far; both keep the
    /// usage the provider reported before or with the error.
    pub async fn collect_response(mut self) -> std::result::Result<ChatResponse, PartialError> {
        let mut acc = StreamAccumulator::new();
        while let Some(item) = futures::StreamExt::next(&mut self).await {
            match item {
                Ok(event) => acc.push(&event),
                Err(error) => {
                    let error = acc.fail(error);
                    let mut partial = acc.snapshot();
                    partial.usage = error.usage();
                    return Err(PartialError {
                        error,
                        partial,
                        had_content: acc.has_content(),
                    });
                }
            }
        }
        Ok(acc.finish())
    }
}

/// A stream that failed midway: the error and what had arrived before it.
#[derive(Debug, Clone, PartialEq)]
pub struct PartialError {
    /// The error, with the usage reported before or with it
    /// ([`Error::usage`]) and, when content had arrived, the partial output
    /// ([`Error::partial`]).
    pub error: Error,
    /// The output aggregated before the error. Its `usage` is the error's.
    pub partial: ChatResponse,
    /// Whether any content had arrived before the error.
    pub had_content: bool,
}

impl std::error::Error for PartialError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
    }
}

impl fmt::Display for PartialError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} (after {} characters of output)",
            self.error,
            self.partial.text.chars().count()
        )
    }
}

impl Stream for ChatStream {
    type Item = Result<StreamEvent>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        loop {
            if let Some(ev) = this.pending.pop_front() {
                if let StreamEvent::Usage(u) = &ev {
                    this.usage = Some(*u);
                }
                return Poll::Ready(Some(Ok(ev)));
            }
            let Some(body) = this.body.as_mut() else {
                return Poll::Ready(None);
            };
            match body.as_mut().poll_next(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Some(Ok(chunk))) => match this.decoder.feed(&chunk) {
                    Ok(events) => this.pending.extend(events),
                    Err(e) => {
                        this.body = None;
                        return Poll::Ready(Some(Err(e)));
                    }
                },
                Poll::Ready(Some(Err(e))) => {
                    // The connection broke (every decoded event has been taken):
                    // the usage reported so far stays on the error.
                    this.body = None;
                    let e = match e.usage() {
                        Some(_) => e,
                        None => e.with_usage(this.usage),
                    };
                    return Poll::Ready(Some(Err(e)));
                }
                Poll::Ready(None) => {
                    this.body = None;
                    match this.decoder.finish() {
                        Ok(events) => this.pending.extend(events),
                        Err(e) => return Poll::Ready(Some(Err(e))),
                    }
                }
            }
        }
    }
}
