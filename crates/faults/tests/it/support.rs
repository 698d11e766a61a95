//! A canned inner layer standing in for the cassette layer, and helpers.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use futures::StreamExt as _;
use llmvcr_faults::{FaultMiddleware, FaultPlan};
use reqwest::ResponseBuilderExt as _;
use reqwest_middleware::{ClientBuilder, ClientWithMiddleware, Middleware, Next};

/// An OpenAI-style SSE stream of four events, with CRLF line endings on one and a
/// keep-alive comment.
pub const SSE: &str = concat!(
    "data: {\"choices\":[{\"delta\":{\"role\":\"assistant\"}}]}\n\n",
    ": keep-alive\n",
    "data: {\"choices\":[{\"delta\":{\"content\":\"Hel\"}}]}\r\n\r\n",
    "data: {\"choices\":[{\"delta\":{\"content\":\"lo\"}}]}\n\n",
    "data: [DONE]\n\n",
);

/// The raw bytes of each frame of [`SSE`].
pub fn sse_frames() -> Vec<&'static str> {
    vec![
        "data: {\"choices\":[{\"delta\":{\"role\":\"assistant\"}}]}\n\n",
        ": keep-alive\ndata: {\"choices\":[{\"delta\":{\"content\":\"Hel\"}}]}\r\n\r\n",
        "data: {\"choices\":[{\"delta\":{\"content\":\"lo\"}}]}\n\n",
        "data: [DONE]\n\n",
    ]
}

/// An inner layer that answers every request with one canned 200 response and
/// counts the calls. It never touches the network.
#[derive(Debug, Clone)]
pub struct Canned {
    pub calls: Arc<AtomicUsize>,
    content_type: &'static str,
    body: Bytes,
    chunk: usize,
}

impl Canned {
    /// A response of `content_type` whose body arrives in chunks of `chunk` bytes.
    pub fn new(content_type: &'static str, body: &str, chunk: usize) -> Canned {
        Canned {
            calls: Arc::new(AtomicUsize::new(0)),
            content_type,
            body: Bytes::from(body.to_owned()),
            chunk: chunk.max(1),
        }
    }

    /// The SSE stream [`SSE`] in 7-byte chunks.
    pub fn sse() -> Canned {
        Canned::new("text/event-stream", SSE, 7)
    }

    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    pub fn body(&self) -> &Bytes {
        &self.body
    }
}

#[async_trait::async_trait]
impl Middleware for Canned {
    async fn handle(
        &self,
        req: reqwest::Request,
        _extensions: &mut http::Extensions,
        _next: Next<'_>,
    ) -> reqwest_middleware::Result<reqwest::Response> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let chunks: Vec<Result<Bytes, Infallible>> = self
            .body
            .chunks(self.chunk)
            .map(|c| Ok(Bytes::copy_from_slice(c)))
            .collect();
        let response = http::Response::builder()
            .status(200)
            .url(req.url().clone())
            .header("content-type", self.content_type)
            .header("x-upstream", "canned")
            .body(reqwest::Body::wrap_stream(futures::stream::iter(chunks)))
            .unwrap();
        Ok(reqwest::Response::from(response))
    }
}

/// A client: faults above the canned layer.
/// The plain client is shared: building one loads the TLS roots, and it never
/// connects anywhere here.
pub fn client(faults: &FaultMiddleware, canned: &Canned) -> ClientWithMiddleware {
    static PLAIN: std::sync::OnceLock<reqwest::Client> = std::sync::OnceLock::new();
    ClientBuilder::new(PLAIN.get_or_init(reqwest::Client::new).clone())
        .with(faults.clone())
        .with(canned.clone())
        .build()
}

/// A fault middleware for `plan`.
pub fn faults(plan: FaultPlan) -> FaultMiddleware {
    FaultMiddleware::new(plan).unwrap()
}

/// The body's chunks, and the error that ended it, if any.
pub async fn chunks(response: reqwest::Response) -> (Vec<Bytes>, Option<reqwest::Error>) {
    let mut stream = response.bytes_stream();
    let mut out = Vec::new();
    while let Some(item) = stream.next().await {
        match item {
            Ok(bytes) => out.push(bytes),
            Err(e) => return (out, Some(e)),
        }
    }
    (out, None)
}

/// All chunks joined.
pub fn joined(chunks: &[Bytes]) -> Vec<u8> {
    chunks.iter().flat_map(|c| c.to_vec()).collect()
}

/// The first error of type `E` in the source chain of `err`.
pub fn find_source<'a, E: std::error::Error + 'static>(
    err: &'a (dyn std::error::Error + 'static),
) -> Option<&'a E> {
    let mut current = Some(err);
    while let Some(e) = current {
        if let Some(found) = e.downcast_ref::<E>() {
            return Some(found);
        }
        current = e.source();
    }
    None
}

pub const URL: &str = "http://api.test/v1/chat/completions";
