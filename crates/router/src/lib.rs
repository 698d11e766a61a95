//! Retry, fallback, timeouts, circuit breakers, rate limits and a budget guard for
//! LLM calls, in `tokio` virtual time.
//!
//! A [`Router`] sends one [`ChatRequest`](llmvcr_core::ChatRequest) over an ordered
//! chain of [`Target`]s. It knows only the neutral types of `llmvcr-core`: how an
//! attempt is made is a [`Transport`], which the `llmvcr` façade implements with a
//! provider client and tests implement with scripted outcomes. Every wait (backoff,
//! rate limit, timeouts) goes through `tokio::time`, so with the clock paused hours of
//! backoff take milliseconds, and the [attempt log](AttemptRecord) carries exact
//! virtual timestamps.
//!
//! # Getting started
//!
//! ```
//! use futures::future::{BoxFuture, FutureExt};
//! use llmvcr_core::{ChatRequest, Error, ErrorKind, StreamEvent};
//! use llmvcr_router::{EventStream, Next, Router, RouterPolicy, Target};
//! use std::time::Duration;
//!
//! // A transport where the primary target is rate limited and the backup answers.
//! fn transport(
//!     target: &Target,
//!     _attempt: u32,
//!     _request: &ChatRequest,
//! ) -> BoxFuture<'static, llmvcr_core::Result<EventStream>> {
//!     let primary = target.name == "primary";
//!     async move {
//!         if primary {
//!             return Err(Error::new(ErrorKind::RateLimited, "slow down")
//!                 .with_retry_after(Some(Duration::from_secs(2))));
//!         }
//!         let events = vec![Ok(StreamEvent::TextDelta("hello".into()))];
//!         Ok(Box::pin(futures::stream::iter(events)) as EventStream)
//!     }
//!     .boxed()
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! # tokio::time::pause();
//! let router = Router::new(
//!     transport,
//!     vec![
//!         Target::new("primary", "openai", "gpt-4o-mini"),
//!         Target::new("backup", "anthropic", "claude-3-5-haiku-latest"),
//!     ],
//!     RouterPolicy::default(), // 3 attempts per target, full jitter
//! )
//! .unwrap();
//!
//! let outcome = router.chat(&ChatRequest::new("any").user("hi")).await;
//! assert_eq!(outcome.result.as_ref().unwrap().text, "hello");
//! assert_eq!(outcome.served_by.as_deref(), Some("backup"));
//! assert_eq!(outcome.attempts_on("primary"), 3);
//! assert_eq!(outcome.log[0].next, Next::Retry);
//! // Two honoured `retry_after`s of 2s each, in virtual time.
//! assert!(outcome.elapsed >= Duration::from_secs(4));
//! # }
//! ```
//!
//! # The rules
//!
//! For each target, in chain order:
//!
//! 1. **Context window.** After a `ContextLength` error, only targets whose
//!    `context_window` is known and larger than every window that failed are tried;
//!    the others are skipped ([`AttemptOutcome::SkippedContextWindow`]).
//! 2. **Breaker.** An open breaker skips the target
//!    ([`AttemptOutcome::SkippedBreakerOpen`]); see [`BreakerPolicy`].
//! 3. **Budget.** When the worst-case cost ([`Router::with_worst_case_cost`]) is larger
//!    than what is left of the budget, the attempt is refused
//!    ([`AttemptOutcome::RefusedBudget`], error kind `Budget`) and the chain moves on: a
//!    later target may be cheaper. An unknown worst case (`None`) is allowed.
//! 4. **Rate limit.** The router waits for the target's token buckets
//!    ([`AttemptOutcome::RateLimitWait`]); a wait that would pass the total deadline
//!    gives the target up instead ([`AttemptOutcome::RefusedRateLimit`]).
//! 5. **Attempt**, under the [`Timeouts`]. A timeout is an `ErrorKind::Timeout` error.
//!
//! After a failed attempt:
//!
//! | failure | decision |
//! |---|---|
//! | a stream failed after its first content event | **stop**; the [`RouteError`] carries the partial output |
//! | the total deadline or `max_total_attempts` is reached | **stop** |
//! | `QuotaExceeded`, `ContextLength` | **next target** (never retried) |
//! | any other kind that is not [retryable](llmvcr_core::ErrorKind::retryable) (`Auth`, `Permission`, `BadRequest`, `NotFound`, `ContentPolicy`, `Decode`, `NoMatch`, ...) | **stop**: another target would most likely fail the same way |
//! | `Overloaded`, or a stream that failed before its first content event | **next target** at once; on the last target of the chain, retried like the row below |
//! | other retryable kinds (`RateLimited`, `Server`, `Timeout`, `Network`) | **retry** after `max(retry_after, backoff)`; **next target** when `max_attempts` is used up, the breaker opened, `retry_after` is larger than `max_retry_after`, or the wait would pass the total deadline |
//!
//! When the chain is exhausted, the call fails with the last error seen. If no
//! attempt was possible because every breaker was open, the error is `Overloaded`
//! with code `circuit_open`.
//!
//! # Policies in files
//!
//! [`RouterPolicy`] and [`Target`] deserialize from snake_case YAML or JSON. Durations
//! are strings with a unit (`"250ms"`, `"1.5s"`, `"1m30s"`, see [`parse_duration`]) or
//! integers of milliseconds.
//!
//! # Costs
//!
//! The router counts micro-dollars against [`BudgetPolicy`]: either it prices each
//! reported `Usage` itself ([`Router::with_usage_cost`]), or the caller reports costs
//! with [`Router::record_cost`]. The budget is checked before each attempt, not
//! reserved, so concurrent calls through one router can together pass it by at most
//! their in-flight worst cases.
//!
//! Every attempt that reported usage is billed, failed attempts included: an
//! Anthropic stream that failed after `message_start` still processed its input,
//! and an OpenRouter error chunk can carry the usage of the failed generation. The
//! usage is on the attempt's error ([`Error::usage`](llmvcr_core::Error::usage)),
//! the router prices it, counts it against the budget, and logs it with its cost in
//! the attempt's [`AttemptRecord`] (`usage`, `cost_micro_usd`);
//! [`RoutedOutcome::cost_micro_usd`] sums a call's attempts.
//!
//! # Modules
//!
//! | module | for |
//! |---|---|
//! | `router` | [`Router`], the [`Transport`] trait and the cost closures: the routing loop |
//! | `policy` | [`RouterPolicy`] and [`Target`], deserializable from policy files |
//! | `log` | the attempt log ([`AttemptRecord`]) and the result ([`RoutedOutcome`], [`RouteError`]) |
//! | `backoff` | [`Backoff`]: retry delays with jitter, seeded |
//! | `breaker` | the per-target circuit breaker ([`BreakerState`]) |
//! | `limiter` | per-target request and token rate limits |
//! | `duration` | durations in policy files ([`parse_duration`], [`format_duration`]) |
//! | `rng` | the seeded generator behind jitter |
//!
//! The modules are private; their public items are re-exported at the crate root.
#![warn(missing_docs, unreachable_pub)]
#![forbid(unsafe_code)]

mod backoff;
mod breaker;
mod duration;
mod limiter;
mod log;
mod policy;
mod rng;
mod router;

pub use backoff::Backoff;
pub use breaker::BreakerState;
pub use duration::{ParseDurationError, format_duration, parse_duration};
pub use log::{AttemptOutcome, AttemptRecord, Next, RouteError, RoutedOutcome};
pub use policy::{
    BreakerPolicy, BudgetPolicy, Jitter, RateLimit, RetryPolicy, RouterPolicy, Target, Timeouts,
};
pub use router::{
    ConfigError, EventStream, Router, TokenEstimator, Transport, UsageCost, WorstCaseCost,
    estimate_tokens,
};
