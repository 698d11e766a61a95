//! Fault injection for LLM HTTP traffic, as a `reqwest-middleware` layer.
//!
//! [`FaultMiddleware`] sits above the cassette layer in llmvcr's HTTP stack and
//! injects the failures production LLM code must survive: provider-shaped HTTP
//! errors (429, 529, 5xx, an error object inside a 200), latency before the first
//! byte, a stall between stream frames, a stream cut after N frames, an error event
//! after N frames, malformed JSON, and a connection reset. A [`FaultPlan`] says which
//! request gets which fault: by target, by attempt number, by request number, or by
//! a seeded probability, so a run is the same every time for a given seed.
//!
//! ```
//! use llmvcr_faults::{Fault, FaultContext, FaultMiddleware, FaultPlan, FaultRule, Selector};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // The first attempt at "openai" gets a 429; the second, a connection reset.
//! let plan = FaultPlan::new()
//!     .rule(
//!         FaultRule::new(
//!             Selector::any().target("openai").attempt(1),
//!             Fault::status(
//!                 429,
//!                 vec![("retry-after".into(), "2".into())],
//!                 r#"{"error":{"message":"Rate limit reached","code":"rate_limit_exceeded"}}"#,
//!             ),
//!         )
//!         .times(1),
//!     )
//!     .inject(Selector::any().attempt(2), Fault::Reset);
//! let faults = FaultMiddleware::new(plan)?;
//! let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
//!     .with(faults.clone())
//!     .build();
//!
//! let url = "http://127.0.0.1:9/v1/chat/completions";
//! let response = client
//!     .post(url)
//!     .with_extension(FaultContext::new("openai", 1))
//!     .send()
//!     .await?;
//! assert_eq!(response.status(), 429);
//! assert_eq!(response.headers()["retry-after"], "2");
//!
//! let reset = client
//!     .post(url)
//!     .with_extension(FaultContext::new("openai", 2))
//!     .send()
//!     .await;
//! assert!(reset.is_err());
//!
//! let log = faults.log();
//! assert_eq!(log.len(), 2);
//! assert_eq!((log[0].fault_name, log[1].fault_name), ("status", "reset"));
//! # Ok(())
//! # }
//! ```
//!
//! # Faults
//!
//! | [`Fault`] | calls the next layer | what the caller sees |
//! |---|---|---|
//! | `status` | no | the given status, headers and body |
//! | `reset` | no | [`FaultError::ConnectionReset`] inside `reqwest_middleware::Error::Middleware` |
//! | `latency` | yes, after the delay | the real response, late |
//! | `stall` | yes | the body pauses after N frames |
//! | `cut` | yes | N frames, then a body error caused by [`FaultError::StreamCut`] |
//! | `error_event` | yes | N frames, the injected raw frame, then a clean end |
//! | `malformed` | yes | frame n, or the whole body, replaced by [`MALFORMED_JSON`] |
//!
//! Provider-shaped bodies and headers for `status` and `error_event` are plain data
//! in `llmvcr_providers::fault_templates`; this crate knows HTTP, not LLMs.
//!
//! # Frames
//!
//! Body faults count frames with `llmvcr-framing`, chosen by the response's
//! `Content-Type`: SSE events for `text/event-stream` (comments are not frames),
//! lines for NDJSON types, and elements of a JSON array for any other JSON type (a
//! lone JSON object is one frame). Each frame is re-emitted as the bytes it arrived
//! as, so the frames a fault leaves alone are byte-identical, and the fault acts at
//! a frame boundary. A body of another type has no frames: only faults at frame 0
//! act on it. A body with fewer frames than a fault needs passes through whole.
//!
//! # Selection
//!
//! The middleware counts every request it sees (from 1) and advances a splitmix64
//! generator, seeded by [`FaultPlan::seed`], exactly once per request. The target
//! and attempt come from a [`FaultContext`] request extension when the caller sets
//! one; otherwise the target is the URL host and the attempt is the count of
//! requests seen for that host. The first rule whose [`Selector`] matches and whose
//! `times` limit is not used up fires, and [`FaultMiddleware::log`] records it as a
//! [`FiredFault`].
//!
//! # Time
//!
//! All waiting is `tokio::time::sleep`, so tests with a paused clock
//! (`#[tokio::test(start_paused = true)]`) see latency and stalls in virtual time.
//! [`FaultMiddleware::with_clock`] adds a `Date` header from a [`VirtualClock`]
//! (a fixed epoch plus tokio time) to every response that has none, so an HTTP-date
//! `retry-after` asks for the same wait on every run.
#![warn(missing_docs, unreachable_pub)]

mod clock;
mod error;
mod fault;
mod middleware;
mod plan;
mod stream;

pub use clock::VirtualClock;
pub use error::{FaultError, Result};
pub use fault::{Fault, MALFORMED_JSON, MalformedTarget};
pub use middleware::FaultMiddleware;
pub use plan::{FaultContext, FaultPlan, FaultRule, FiredFault, Selector};
