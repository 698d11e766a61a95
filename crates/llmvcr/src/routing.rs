//! Routing over [`Client`]s: a fallback chain with retries, timeouts, circuit
//! breakers, rate limits and a budget ([`llmvcr_router`]), where each target is a
//! client with its own endpoint, credentials and middleware stack.
//!
//! ```no_run
//! # async fn demo() {
//! use llmvcr::routing::{ClientTransport, Router, RouterPolicy, Target};
//! use llmvcr::{ChatRequest, Client, Endpoint};
//!
//! let transport = ClientTransport::new()
//!     .with("openai", Client::new(Endpoint::openai()))
//!     .with("claude", Client::new(Endpoint::anthropic()));
//! let targets = vec![
//!     Target::new("openai", "openai", "gpt-4o-mini"),
//!     Target::new("claude", "anthropic", "claude-haiku-4-5"),
//! ];
//! let router = Router::new(transport, targets, RouterPolicy::default()).unwrap();
//! let outcome = router.chat(&ChatRequest::new("any").user("Say hi")).await;
//! println!("served by {:?} after {} attempts", outcome.served_by, outcome.log.len());
//! # }
//! ```

use std::collections::HashMap;

use futures::future::{BoxFuture, FutureExt};
use llmvcr_core::{ChatRequest, Error, ErrorKind, Result};
use llmvcr_faults::FaultContext;
pub use llmvcr_router::*;

use crate::Client;

/// A [`Transport`] that makes each attempt with the [`Client`] registered under the
/// target's name.
///
/// Each attempt sends the request with the target's `model`, as a stream, and
/// carries a [`FaultContext`] (target name, attempt number) as a request extension,
/// so a `FaultMiddleware` in the client's stack can select faults by target and
/// attempt.
#[derive(Debug, Clone, Default)]
pub struct ClientTransport {
    clients: HashMap<String, Client>,
}

impl ClientTransport {
    /// A transport with no clients.
    pub fn new() -> ClientTransport {
        ClientTransport::default()
    }

    /// Registers `client` for the target named `target`.
    pub fn with(mut self, target: impl Into<String>, client: Client) -> ClientTransport {
        self.clients.insert(target.into(), client);
        self
    }
}

impl Transport for ClientTransport {
    fn start<'a>(
        &'a self,
        target: &'a Target,
        attempt: u32,
        request: &'a ChatRequest,
    ) -> BoxFuture<'a, Result<EventStream>> {
        async move {
            let Some(client) = self.clients.get(&target.name) else {
                return Err(Error::new(
                    ErrorKind::Other,
                    format!("no client for target `{}`", target.name),
                ));
            };
            let mut request = request.clone();
            request.model.clone_from(&target.model);
            let mut extensions = http::Extensions::new();
            extensions.insert(FaultContext::new(target.name.clone(), attempt));
            let stream = client.chat_stream_with(&request, extensions).await?;
            Ok(Box::pin(stream) as EventStream)
        }
        .boxed()
    }
}
