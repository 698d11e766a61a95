//! The attempt log: what the router decided at each step of a routed call
//! ([`AttemptRecord`], [`AttemptOutcome`], [`Next`]), and what the call returns
//! ([`RoutedOutcome`], [`RouteError`]).
//!
//! Every attempt that reached the transport is logged with the usage it reported
//! and what that usage cost, failed attempts included, so the log accounts for
//! every token the providers billed.

use std::time::Duration;

use llmvcr_core::{ChatResponse, Error, ErrorKind, Usage};
use serde::Serialize;

use crate::{BreakerState, duration};

/// What happened at one step of a routed call.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum AttemptOutcome {
    /// The attempt succeeded; the call is served.
    Success,
    /// The attempt failed.
    Failed {
        /// The error's kind.
        #[serde(serialize_with = "kind_name")]
        kind: ErrorKind,
        /// The wait the provider asked for, if any.
        #[serde(with = "duration::option", skip_serializing_if = "Option::is_none")]
        retry_after: Option<Duration>,
        /// Whether content had already arrived (the error then carries partial output).
        after_content: bool,
    },
    /// The target was skipped because its circuit breaker is open (or half-open with
    /// every probe taken). No attempt was made.
    SkippedBreakerOpen,
    /// The target was skipped after a `ContextLength` error because its context window
    /// is not larger than the window that failed. No attempt was made.
    SkippedContextWindow,
    /// The budget guard refused the attempt. No attempt was made.
    RefusedBudget {
        /// Estimated worst-case cost of the attempt, in micro-dollars.
        worst_case_micro_usd: u64,
        /// What was left of the budget, in micro-dollars.
        remaining_micro_usd: u64,
    },
    /// The rate limiter made the call wait (see [`AttemptRecord::wait`]) before the
    /// attempt that follows in the log.
    RateLimitWait,
    /// The rate limiter's wait would have passed the total deadline, so the target was
    /// given up. No attempt was made.
    RefusedRateLimit {
        /// The wait the limiter asked for.
        #[serde(with = "duration")]
        wanted: Duration,
    },
}

impl AttemptOutcome {
    /// Whether this step is an attempt that reached the transport.
    pub fn is_attempt(&self) -> bool {
        matches!(
            self,
            AttemptOutcome::Success | AttemptOutcome::Failed { .. }
        )
    }

    /// The error kind of a failed attempt.
    pub fn error_kind(&self) -> Option<ErrorKind> {
        match self {
            AttemptOutcome::Failed { kind, .. } => Some(*kind),
            _ => None,
        }
    }
}

fn kind_name<S: serde::Serializer>(kind: &ErrorKind, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(kind.as_str())
}

/// What the router did after a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Next {
    /// Proceeded with the same target (after a rate-limit wait).
    Proceed,
    /// Retried the same target after [`AttemptRecord::wait`].
    Retry,
    /// Gave up on this target and moved to the next one in the chain (the call ends
    /// with the last error when none is left).
    Fallback,
    /// Ended the routed call with an error, without trying other targets.
    Stop,
    /// Returned the response.
    Done,
}

/// One entry of the attempt log: a decision the router made.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AttemptRecord {
    /// The target's name.
    pub target: String,
    /// The attempt number on this target in this call, from 1. Skips, refusals and
    /// rate-limit waits carry the number the attempt would have had.
    pub attempt: u32,
    /// When the step began, as virtual time elapsed since the routed call started.
    #[serde(with = "duration")]
    pub at: Duration,
    /// How long the step took (the attempt's duration; zero for decisions).
    #[serde(with = "duration")]
    pub took: Duration,
    /// What happened.
    pub outcome: AttemptOutcome,
    /// What the router did next.
    pub next: Next,
    /// How long the router waited after this step (backoff or rate-limit wait).
    #[serde(with = "duration")]
    pub wait: Duration,
    /// The target's breaker state after the step.
    pub breaker: BreakerState,
    /// The token usage the attempt reported: a success's usage, or what a failed
    /// attempt reported before or with its error
    /// ([`Error::usage`](llmvcr_core::Error::usage)). `None` for decisions that made
    /// no attempt and for attempts that reported none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
    /// What `usage` cost in micro-dollars, as priced by
    /// [`Router::with_usage_cost`](crate::Router::with_usage_cost) and counted
    /// against the budget. `None` without usage, without a price function, or for a
    /// model it cannot price.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cost_micro_usd: Option<u64>,
}

/// Why a routed call failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{}{error}", self.target.as_deref().map(|t| format!("target {t}: ")).unwrap_or_default())]
pub struct RouteError {
    /// The last error seen, with the usage its attempt reported
    /// ([`Error::usage`](llmvcr_core::Error::usage)).
    pub error: Error,
    /// The target that produced it, if any was tried.
    pub target: Option<String>,
    /// The output received before a stream failed after its first content token.
    pub partial: Option<ChatResponse>,
}

impl RouteError {
    /// The last error's kind.
    pub fn kind(&self) -> ErrorKind {
        self.error.kind
    }
}

/// The result of [`Router::chat`](crate::Router::chat): the response or the error, and
/// how the router got there.
#[derive(Debug, Clone)]
pub struct RoutedOutcome {
    /// The response, or why there is none.
    pub result: Result<ChatResponse, RouteError>,
    /// Every decision, in order.
    pub log: Vec<AttemptRecord>,
    /// The target that served the response.
    pub served_by: Option<String>,
    /// Virtual time the routed call took.
    pub elapsed: Duration,
}

impl RoutedOutcome {
    /// Attempts that reached the transport for `target`.
    pub fn attempts_on(&self, target: &str) -> usize {
        self.log
            .iter()
            .filter(|r| r.target == target && r.outcome.is_attempt())
            .count()
    }

    /// Attempts that reached the transport, over all targets.
    pub fn attempts(&self) -> usize {
        self.log.iter().filter(|r| r.outcome.is_attempt()).count()
    }

    /// The micro-dollars billed for this call: the sum of
    /// [`AttemptRecord::cost_micro_usd`] over every attempt, failed ones included.
    pub fn cost_micro_usd(&self) -> u64 {
        self.log
            .iter()
            .filter_map(|r| r.cost_micro_usd)
            .fold(0, u64::saturating_add)
    }
}
