//! What the router is told: the chain of [`Target`]s and the [`RouterPolicy`]
//! ([`RetryPolicy`], [`Jitter`], [`Timeouts`], [`BreakerPolicy`], [`RateLimit`],
//! [`BudgetPolicy`]). All of it deserializes from snake_case YAML or JSON, so
//! scenario files and applications share one format.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::duration;

/// One entry of the fallback chain: a provider and model the router may call.
///
/// Credentials are not part of a target: the [`Transport`](crate::Transport) knows how
/// to reach a target by its `name`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Target {
    /// Unique name within the chain; used in the attempt log and as `served_by`.
    pub name: String,
    /// Provider name, e.g. `openai` (informational for the router).
    pub provider: String,
    /// Model to call.
    pub model: String,
    /// Context window in tokens, if known. Used to pick a fallback after a
    /// `ContextLength` error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context_window: Option<u64>,
    /// Request and token rate limits of this target, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<RateLimit>,
}

impl Target {
    /// A target named `name` for `provider` and `model`, with no context window and
    /// no rate limit.
    pub fn new(
        name: impl Into<String>,
        provider: impl Into<String>,
        model: impl Into<String>,
    ) -> Target {
        Target {
            name: name.into(),
            provider: provider.into(),
            model: model.into(),
            context_window: None,
            rate_limit: None,
        }
    }

    /// Sets the context window in tokens.
    pub fn context_window(mut self, tokens: u64) -> Target {
        self.context_window = Some(tokens);
        self
    }

    /// Sets the rate limit.
    pub fn rate_limit(mut self, limit: RateLimit) -> Target {
        self.rate_limit = Some(limit);
        self
    }
}

/// How the delay between two attempts on one target is randomised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Jitter {
    /// No randomness: `min(cap, base * 2^n)`.
    None,
    /// Uniform in `0..=min(cap, base * 2^n)` ("full jitter").
    #[default]
    Full,
    /// `min(cap, uniform(base..=3 * previous))`, starting from `previous = base`
    /// ("decorrelated jitter").
    Decorrelated,
}

/// Retry on one target: how many attempts, and how long to wait between them.
///
/// The wait before retry `n` (0-based) is the jittered backoff; when the error
/// carried a `retry_after` no larger than [`max_retry_after`](Self::max_retry_after),
/// the wait is `max(retry_after, backoff)`. A `retry_after` larger than the maximum
/// gives up on the target at once and moves to the next one: the provider has said
/// that it will not serve for that long, and a capped wait would only earn another
/// refusal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RetryPolicy {
    /// Attempts per target, the first one included. At least 1. Default 3.
    pub max_attempts: u32,
    /// Backoff base. Default `500ms`.
    #[serde(with = "duration")]
    pub base: Duration,
    /// Backoff cap. Default `30s`.
    #[serde(with = "duration")]
    pub cap: Duration,
    /// Jitter. Default `full`.
    pub jitter: Jitter,
    /// Largest `retry_after` the router waits for. Default `60s`.
    #[serde(with = "duration")]
    pub max_retry_after: Duration,
    /// Seed of the jitter generator. The same seed gives the same waits. Default 0.
    pub seed: u64,
}

impl Default for RetryPolicy {
    fn default() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 3,
            base: Duration::from_millis(500),
            cap: Duration::from_secs(30),
            jitter: Jitter::Full,
            max_retry_after: Duration::from_secs(60),
            seed: 0,
        }
    }
}

/// Time limits. Each one that passes fails the attempt with `ErrorKind::Timeout`
/// (retryable). `None` means no limit.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Timeouts {
    /// From the start of an attempt until the transport hands back a stream.
    #[serde(with = "duration::option", skip_serializing_if = "Option::is_none")]
    pub connect: Option<Duration>,
    /// From the start of an attempt until its first content event (text, reasoning
    /// or a tool call).
    #[serde(with = "duration::option", skip_serializing_if = "Option::is_none")]
    pub first_token: Option<Duration>,
    /// Longest gap between two stream events (counted from the moment the stream
    /// was handed back, then from each event).
    #[serde(with = "duration::option", skip_serializing_if = "Option::is_none")]
    pub idle: Option<Duration>,
    /// The whole routed call: every attempt, wait and fallback. Backoff and
    /// rate-limit waits that would pass it are not taken.
    #[serde(with = "duration::option", skip_serializing_if = "Option::is_none")]
    pub total: Option<Duration>,
}

/// Circuit breaker settings, applied to each target separately.
///
/// Closed: calls pass; `failure_threshold` consecutive failures of a retryable kind
/// open it. Open: the target is skipped for `cooldown`. Half-open: up to
/// `half_open_probes` calls pass; a success closes the breaker, a failure of a
/// retryable kind opens it again. Failures of other kinds (`BadRequest`, `Auth`, ...)
/// say nothing about the target's health and are not counted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BreakerPolicy {
    /// Consecutive counted failures that open the breaker. Default 5.
    pub failure_threshold: u32,
    /// How long the breaker stays open. Default `30s`.
    #[serde(with = "duration")]
    pub cooldown: Duration,
    /// Calls let through while half-open. Default 1.
    pub half_open_probes: u32,
}

impl Default for BreakerPolicy {
    fn default() -> BreakerPolicy {
        BreakerPolicy {
            failure_threshold: 5,
            cooldown: Duration::from_secs(30),
            half_open_probes: 1,
        }
    }
}

/// Token buckets of one target.
///
/// Requests: `requests_per_minute` refill evenly (one every `60s / rpm`) into a
/// bucket of `burst` requests. Tokens: `tokens_per_minute` refill evenly into a
/// bucket of one minute's worth. A call takes one request and its estimated tokens;
/// the router waits until both are available.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimit {
    /// Requests per minute, if limited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests_per_minute: Option<u32>,
    /// Tokens (input estimate plus `max_tokens`) per minute, if limited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokens_per_minute: Option<u64>,
    /// Requests that may start at once when the bucket is full. Default 1, which
    /// spaces every request by `60s / rpm`.
    #[serde(default = "one")]
    pub burst: u32,
}

fn one() -> u32 {
    1
}

impl RateLimit {
    /// A limit of `rpm` requests per minute, burst 1.
    pub fn requests_per_minute(rpm: u32) -> RateLimit {
        RateLimit {
            requests_per_minute: Some(rpm),
            tokens_per_minute: None,
            burst: 1,
        }
    }

    /// A limit of `tpm` tokens per minute.
    pub fn tokens_per_minute(tpm: u64) -> RateLimit {
        RateLimit {
            requests_per_minute: None,
            tokens_per_minute: Some(tpm),
            burst: 1,
        }
    }
}

/// Spending limit of one router, across all its calls.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BudgetPolicy {
    /// The limit in US dollars (stored as micro-dollars, rounded).
    pub max_usd: f64,
}

impl BudgetPolicy {
    /// The limit in micro-dollars.
    pub fn max_micro_usd(&self) -> u64 {
        if self.max_usd.is_finite() && self.max_usd > 0.0 {
            (self.max_usd * 1_000_000.0).round() as u64
        } else {
            0
        }
    }
}

/// Everything the router is configured with, except the targets.
///
/// Deserializes from snake_case YAML or JSON; every field may be left out. Durations
/// are strings such as `"250ms"`, `"1.5s"`, `"1m30s"`, or integers of milliseconds.
///
/// ```
/// use std::time::Duration;
/// use llmvcr_router::{Jitter, RouterPolicy};
///
/// let policy: RouterPolicy = serde_json::from_str(r#"{
///     "retry": {"max_attempts": 4, "base": "250ms", "cap": "8s", "jitter": "decorrelated"},
///     "timeouts": {"first_token": "10s", "total": 60000},
///     "breaker": {"failure_threshold": 3, "cooldown": "30s"},
///     "budget": {"max_usd": 0.5}
/// }"#).unwrap();
/// assert_eq!(policy.retry.jitter, Jitter::Decorrelated);
/// assert_eq!(policy.timeouts.total, Some(Duration::from_secs(60)));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RouterPolicy {
    /// Retry on one target.
    pub retry: RetryPolicy,
    /// Attempts over the whole chain, in one routed call. Default 10.
    pub max_total_attempts: u32,
    /// Time limits.
    pub timeouts: Timeouts,
    /// Circuit breaker per target; `None` disables it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub breaker: Option<BreakerPolicy>,
    /// Budget guard; `None` disables it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub budget: Option<BudgetPolicy>,
}

impl Default for RouterPolicy {
    fn default() -> RouterPolicy {
        RouterPolicy {
            retry: RetryPolicy::default(),
            max_total_attempts: 10,
            timeouts: Timeouts::default(),
            breaker: None,
            budget: None,
        }
    }
}
