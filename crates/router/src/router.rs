//! [`Router`]: routes one request over the chain, through a [`Transport`].
//!
//! For each target it checks the context window, the breaker, the budget and the
//! rate limit, makes the attempt under the timeouts, folds the attempt's stream
//! with a [`StreamAccumulator`], and decides (retry, fall back or stop) from the
//! error's kind; every step goes into the attempt log. The usage an attempt
//! reported, successful or failed, is priced by the [`UsageCost`] closure and
//! counted against the budget.

use std::collections::HashSet;
use std::fmt;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use futures::future::BoxFuture;
use futures::{Stream, StreamExt};
use llmvcr_core::{
    ChatRequest, ChatResponse, Error, ErrorKind, StreamAccumulator, StreamEvent, Usage,
};
use tokio::time::Instant;

use crate::backoff::Backoff;
use crate::breaker::Breaker;
use crate::limiter::Limiter;
use crate::rng::SplitMix64;
use crate::{
    AttemptOutcome, AttemptRecord, BreakerState, Next, RouteError, RoutedOutcome, RouterPolicy,
    Target,
};

/// The stream of events of one attempt.
pub type EventStream = Pin<Box<dyn Stream<Item = llmvcr_core::Result<StreamEvent>> + Send>>;

/// How the router makes one attempt. The façade implements it with the provider
/// client; tests implement it with scripted outcomes.
///
/// A non-streaming call can be returned as a stream of the events that fold into its
/// response. Closures `Fn(&Target, u32, &ChatRequest) -> BoxFuture<'static, _>`
/// implement this trait.
pub trait Transport: Send + Sync {
    /// Starts attempt number `attempt` (from 1, counted per target in one routed call)
    /// against `target`. Resolves when the response stream is available: for HTTP,
    /// when the status and headers have arrived.
    fn start<'a>(
        &'a self,
        target: &'a Target,
        attempt: u32,
        request: &'a ChatRequest,
    ) -> BoxFuture<'a, llmvcr_core::Result<EventStream>>;
}

impl<F> Transport for F
where
    F: Fn(&Target, u32, &ChatRequest) -> BoxFuture<'static, llmvcr_core::Result<EventStream>>
        + Send
        + Sync,
{
    fn start<'a>(
        &'a self,
        target: &'a Target,
        attempt: u32,
        request: &'a ChatRequest,
    ) -> BoxFuture<'a, llmvcr_core::Result<EventStream>> {
        self(target, attempt, request)
    }
}

/// Estimates the tokens of a request before it is sent (for the token rate limit).
pub type TokenEstimator = Arc<dyn Fn(&ChatRequest) -> u64 + Send + Sync>;
/// Worst-case cost of sending a request to a target, in micro-dollars; `None` when
/// unknown (the call is then allowed).
pub type WorstCaseCost = Arc<dyn Fn(&Target, &ChatRequest) -> Option<u64> + Send + Sync>;
/// Actual cost of a `Usage` reported by a target, in micro-dollars; `None` when unknown.
pub type UsageCost = Arc<dyn Fn(&Target, &Usage) -> Option<u64> + Send + Sync>;

/// The default token estimate: a quarter of the characters of every text (messages,
/// tool names, descriptions and schemas), rounded up, plus `max_tokens`.
pub fn estimate_tokens(request: &ChatRequest) -> u64 {
    let mut chars: u64 = 0;
    for m in &request.messages {
        chars += m.text_content().chars().count() as u64;
        for call in &m.tool_calls {
            chars += call.name.chars().count() as u64;
            chars += call.arguments_string().chars().count() as u64;
        }
    }
    for t in &request.tools {
        chars += t.name.chars().count() as u64;
        chars += t
            .description
            .as_deref()
            .map_or(0, |d| d.chars().count() as u64);
        chars += t.parameters.to_string().chars().count() as u64;
    }
    chars.div_ceil(4) + u64::from(request.max_tokens.unwrap_or(0))
}

/// A router that was configured wrongly.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The chain is empty.
    #[error("the fallback chain has no targets")]
    NoTargets,
    /// Two targets share a name.
    #[error("two targets are named {0:?}")]
    DuplicateTarget(String),
    /// `retry.max_attempts` or `max_total_attempts` is 0.
    #[error("{0} must be at least 1")]
    ZeroAttempts(&'static str),
    /// A rate limit of 0 per minute, or a burst of 0.
    #[error("target {0:?}: rate limits and burst must be at least 1")]
    ZeroRate(String),
}

struct TargetState {
    target: Target,
    breaker: Mutex<Breaker>,
    limiter: Option<Mutex<Limiter>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Routes a request over a fallback chain of targets: retries with backoff, falls
/// back, enforces timeouts, breakers, rate limits and the budget, and logs every
/// decision. See the [crate documentation](crate) for the rules.
///
/// The breakers, rate limiters, budget and jitter generator live in the router and
/// persist across calls; share one router (it is `Send + Sync`) to share them.
pub struct Router {
    targets: Vec<TargetState>,
    policy: RouterPolicy,
    transport: Arc<dyn Transport>,
    estimator: TokenEstimator,
    worst_case: Option<WorstCaseCost>,
    usage_cost: Option<UsageCost>,
    rng: Mutex<SplitMix64>,
    spent: Mutex<u64>,
}

impl fmt::Debug for Router {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Router")
            .field(
                "targets",
                &self.targets.iter().map(|t| &t.target).collect::<Vec<_>>(),
            )
            .field("policy", &self.policy)
            .field("spent_micro_usd", &self.spent_micro_usd())
            .finish_non_exhaustive()
    }
}

struct Failure {
    error: Error,
    partial: Option<ChatResponse>,
    /// The transport handed back a stream before the failure.
    stream_started: bool,
}

struct Run {
    start: Instant,
    deadline: Option<Instant>,
    log: Vec<AttemptRecord>,
    total_attempts: u32,
    last: Option<(Error, String)>,
    context_floor: Option<u64>,
}

impl Run {
    fn elapsed(&self) -> Duration {
        Instant::now() - self.start
    }

    fn past_deadline(&self) -> bool {
        self.deadline.is_some_and(|d| Instant::now() >= d)
    }

    fn fails_deadline(&self, wait: Duration) -> bool {
        self.deadline.is_some_and(|d| Instant::now() + wait >= d)
    }
}

/// What an attempt reported and what it cost, for the attempt log.
#[derive(Default)]
struct Billed {
    usage: Option<Usage>,
    cost_micro_usd: Option<u64>,
}

enum Decision {
    Retry(Duration),
    Fallback,
    Stop,
}

impl Router {
    /// A router over `targets`, in fallback order, that makes attempts through
    /// `transport`.
    pub fn new(
        transport: impl Transport + 'static,
        targets: Vec<Target>,
        policy: RouterPolicy,
    ) -> Result<Router, ConfigError> {
        if targets.is_empty() {
            return Err(ConfigError::NoTargets);
        }
        if policy.retry.max_attempts == 0 {
            return Err(ConfigError::ZeroAttempts("retry.max_attempts"));
        }
        if policy.max_total_attempts == 0 {
            return Err(ConfigError::ZeroAttempts("max_total_attempts"));
        }
        let mut names = HashSet::new();
        let mut states = Vec::with_capacity(targets.len());
        for target in targets {
            if !names.insert(target.name.clone()) {
                return Err(ConfigError::DuplicateTarget(target.name));
            }
            if let Some(l) = &target.rate_limit
                && (l.requests_per_minute == Some(0)
                    || l.tokens_per_minute == Some(0)
                    || l.burst == 0)
            {
                return Err(ConfigError::ZeroRate(target.name));
            }
            states.push(TargetState {
                breaker: Mutex::new(Breaker::new(policy.breaker.clone())),
                limiter: target
                    .rate_limit
                    .as_ref()
                    .map(|l| Mutex::new(Limiter::new(l))),
                target,
            });
        }
        Ok(Router {
            targets: states,
            rng: Mutex::new(SplitMix64::new(policy.retry.seed)),
            policy,
            transport: Arc::new(transport),
            estimator: Arc::new(estimate_tokens),
            worst_case: None,
            usage_cost: None,
            spent: Mutex::new(0),
        })
    }

    /// Replaces the token estimator used by the token rate limit
    /// (default: [`estimate_tokens`]).
    pub fn with_token_estimator(
        mut self,
        f: impl Fn(&ChatRequest) -> u64 + Send + Sync + 'static,
    ) -> Router {
        self.estimator = Arc::new(f);
        self
    }

    /// Sets the worst-case cost function of the budget guard. Without one, the guard
    /// refuses nothing (but still counts recorded costs).
    pub fn with_worst_case_cost(
        mut self,
        f: impl Fn(&Target, &ChatRequest) -> Option<u64> + Send + Sync + 'static,
    ) -> Router {
        self.worst_case = Some(Arc::new(f));
        self
    }

    /// Sets how the `Usage` of an attempt is priced. The router then records the cost
    /// of every attempt that reported usage by itself: successes, and failed attempts
    /// alike (a stream that failed after `message_start`, an error chunk or body with
    /// `usage`; see [`Error::usage`]). Each cost counts against the budget and is
    /// logged in [`AttemptRecord::cost_micro_usd`].
    pub fn with_usage_cost(
        mut self,
        f: impl Fn(&Target, &Usage) -> Option<u64> + Send + Sync + 'static,
    ) -> Router {
        self.usage_cost = Some(Arc::new(f));
        self
    }

    /// The policy.
    pub fn policy(&self) -> &RouterPolicy {
        &self.policy
    }

    /// The targets, in fallback order.
    pub fn targets(&self) -> impl Iterator<Item = &Target> {
        self.targets.iter().map(|t| &t.target)
    }

    /// Records a cost against the budget, in micro-dollars (for callers that price
    /// usage themselves). `target` is accepted for symmetry with the ledger and is not
    /// used by the budget, which is router-wide.
    pub fn record_cost(&self, target: &str, micro_usd: u64) {
        let _ = target;
        let mut spent = lock(&self.spent);
        *spent = spent.saturating_add(micro_usd);
    }

    /// Micro-dollars recorded so far.
    pub fn spent_micro_usd(&self) -> u64 {
        *lock(&self.spent)
    }

    /// Micro-dollars left, or `None` without a budget.
    pub fn remaining_budget_micro_usd(&self) -> Option<u64> {
        self.policy
            .budget
            .as_ref()
            .map(|b| b.max_micro_usd().saturating_sub(self.spent_micro_usd()))
    }

    /// The breaker state of `target` now, or `None` for an unknown name.
    pub fn breaker_state(&self, target: &str) -> Option<BreakerState> {
        self.targets
            .iter()
            .find(|t| t.target.name == target)
            .map(|t| lock(&t.breaker).state(Instant::now()))
    }

    /// Routes `request` over the chain. Never panics and never returns early without
    /// a log: every decision is in [`RoutedOutcome::log`].
    pub async fn chat(&self, request: &ChatRequest) -> RoutedOutcome {
        let start = Instant::now();
        let mut run = Run {
            start,
            deadline: self.policy.timeouts.total.map(|t| start + t),
            log: Vec::new(),
            total_attempts: 0,
            last: None,
            context_floor: None,
        };
        let result = self.route(request, &mut run).await;
        let served_by = result.as_ref().ok().map(|(_, name)| name.clone());
        RoutedOutcome {
            result: result.map(|(r, _)| r),
            log: run.log,
            served_by,
            elapsed: Instant::now() - start,
        }
    }

    fn record(
        &self,
        run: &mut Run,
        ts: &TargetState,
        (attempt, at): (u32, Duration),
        outcome: AttemptOutcome,
        next: Next,
        wait: Duration,
    ) {
        self.record_billed(
            run,
            ts,
            (attempt, at),
            outcome,
            (next, wait),
            Billed::default(),
        );
    }

    /// [`Router::record`] for an attempt that reached the transport: with the usage
    /// it reported and what that usage cost.
    fn record_billed(
        &self,
        run: &mut Run,
        ts: &TargetState,
        (attempt, at): (u32, Duration),
        outcome: AttemptOutcome,
        (next, wait): (Next, Duration),
        billed: Billed,
    ) {
        let breaker = lock(&ts.breaker).state(Instant::now());
        run.log.push(AttemptRecord {
            target: ts.target.name.clone(),
            attempt,
            at,
            took: run.elapsed().saturating_sub(at),
            outcome,
            next,
            wait,
            breaker,
            usage: billed.usage,
            cost_micro_usd: billed.cost_micro_usd,
        });
    }

    fn end(run: &mut Run) -> RouteError {
        match run.last.take() {
            Some((error, target)) => RouteError {
                error,
                target: Some(target),
                partial: None,
            },
            None => RouteError {
                error: Error::new(ErrorKind::Other, "no target could be tried"),
                target: None,
                partial: None,
            },
        }
    }

    async fn route(
        &self,
        request: &ChatRequest,
        run: &mut Run,
    ) -> Result<(ChatResponse, String), RouteError> {
        let count = self.targets.len();
        for (index, ts) in self.targets.iter().enumerate() {
            let is_last = index + 1 == count;
            if let Some(floor) = run.context_floor
                && ts.target.context_window.is_none_or(|w| w <= floor)
            {
                let at = run.elapsed();
                let outcome = AttemptOutcome::SkippedContextWindow;
                self.record(run, ts, (1, at), outcome, Next::Fallback, Duration::ZERO);
                continue;
            }
            let seed = lock(&self.rng).next_u64();
            let mut backoff = Backoff::new(&self.policy.retry, seed);
            let mut attempt = 0u32;
            loop {
                attempt += 1;
                if run.past_deadline() || run.total_attempts >= self.policy.max_total_attempts {
                    return Err(Self::end(run));
                }
                match self.admit(request, run, ts, attempt).await {
                    Ok(()) => {}
                    Err(()) => break,
                }
                run.total_attempts += 1;
                let at = run.elapsed();
                match self
                    .attempt(&ts.target, attempt, request, run.deadline)
                    .await
                {
                    Ok(response) => {
                        lock(&ts.breaker).on_success();
                        let billed = self.charge(&ts.target, response.usage);
                        self.record_billed(
                            run,
                            ts,
                            (attempt, at),
                            AttemptOutcome::Success,
                            (Next::Done, Duration::ZERO),
                            billed,
                        );
                        return Ok((response, ts.target.name.clone()));
                    }
                    Err(failure) => {
                        let kind = failure.error.kind;
                        lock(&ts.breaker).on_failure(kind.retryable(), Instant::now());
                        // A failed attempt is billed for the usage it reported, with
                        // or without partial output.
                        let billed = self.charge(&ts.target, failure.error.usage());
                        let decision =
                            self.decide(&failure, run, ts, attempt, is_last, &mut backoff);
                        if kind == ErrorKind::ContextLength {
                            let w = ts.target.context_window.unwrap_or(0);
                            run.context_floor = Some(run.context_floor.map_or(w, |f| f.max(w)));
                        }
                        let (next, wait) = match decision {
                            Decision::Retry(w) => (Next::Retry, w),
                            Decision::Fallback => (Next::Fallback, Duration::ZERO),
                            Decision::Stop => (Next::Stop, Duration::ZERO),
                        };
                        let outcome = AttemptOutcome::Failed {
                            kind,
                            retry_after: failure.error.retry_after,
                            after_content: failure.partial.is_some(),
                        };
                        self.record_billed(run, ts, (attempt, at), outcome, (next, wait), billed);
                        match decision {
                            Decision::Retry(w) => {
                                run.last = Some((failure.error, ts.target.name.clone()));
                                tokio::time::sleep(w).await;
                            }
                            Decision::Fallback => {
                                run.last = Some((failure.error, ts.target.name.clone()));
                                break;
                            }
                            Decision::Stop => {
                                return Err(RouteError {
                                    error: failure.error,
                                    target: Some(ts.target.name.clone()),
                                    partial: failure.partial,
                                });
                            }
                        }
                    }
                }
            }
        }
        Err(Self::end(run))
    }

    /// Breaker, budget and rate limit, in that order. `Err` means the target is
    /// given up (the reason is logged).
    async fn admit(
        &self,
        request: &ChatRequest,
        run: &mut Run,
        ts: &TargetState,
        attempt: u32,
    ) -> Result<(), ()> {
        let at = run.elapsed();
        if !lock(&ts.breaker).try_acquire(Instant::now()) {
            self.record(
                run,
                ts,
                (attempt, at),
                AttemptOutcome::SkippedBreakerOpen,
                Next::Fallback,
                Duration::ZERO,
            );
            if run.last.is_none() {
                let error = Error::new(
                    ErrorKind::Overloaded,
                    format!("circuit breaker of target {} is open", ts.target.name),
                )
                .with_code("circuit_open");
                run.last = Some((error, ts.target.name.clone()));
            }
            return Err(());
        }
        if let (Some(worst_case), Some(remaining)) =
            (&self.worst_case, self.remaining_budget_micro_usd())
            && let Some(cost) = worst_case(&ts.target, request)
            && cost > remaining
        {
            lock(&ts.breaker).release();
            let outcome = AttemptOutcome::RefusedBudget {
                worst_case_micro_usd: cost,
                remaining_micro_usd: remaining,
            };
            self.record(
                run,
                ts,
                (attempt, at),
                outcome,
                Next::Fallback,
                Duration::ZERO,
            );
            let error = Error::new(
                ErrorKind::Budget,
                format!(
                    "worst-case cost {cost} micro-USD on target {} exceeds the remaining budget of {remaining} micro-USD",
                    ts.target.name
                ),
            );
            run.last = Some((error, ts.target.name.clone()));
            return Err(());
        }
        if let Some(limiter) = &ts.limiter {
            let tokens = (self.estimator)(request);
            let wait = {
                let mut limiter = lock(limiter);
                let plan = limiter.plan(Instant::now(), tokens);
                if plan.wait > Duration::ZERO && run.fails_deadline(plan.wait) {
                    Err(plan.wait)
                } else {
                    limiter.commit(plan);
                    Ok(plan.wait)
                }
            };
            match wait {
                Ok(w) if w > Duration::ZERO => {
                    self.record(
                        run,
                        ts,
                        (attempt, at),
                        AttemptOutcome::RateLimitWait,
                        Next::Proceed,
                        w,
                    );
                    tokio::time::sleep(w).await;
                }
                Ok(_) => {}
                Err(wanted) => {
                    lock(&ts.breaker).release();
                    self.record(
                        run,
                        ts,
                        (attempt, at),
                        AttemptOutcome::RefusedRateLimit { wanted },
                        Next::Fallback,
                        Duration::ZERO,
                    );
                    let error = Error::new(
                        ErrorKind::Timeout,
                        format!(
                            "rate limit of target {} asks for a wait that would pass the total deadline",
                            ts.target.name
                        ),
                    )
                    .with_code("rate_limit_wait");
                    run.last = Some((error, ts.target.name.clone()));
                    return Err(());
                }
            }
        }
        Ok(())
    }

    fn decide(
        &self,
        failure: &Failure,
        run: &Run,
        ts: &TargetState,
        attempt: u32,
        is_last: bool,
        backoff: &mut Backoff,
    ) -> Decision {
        let kind = failure.error.kind;
        if failure.partial.is_some() || run.past_deadline() {
            return Decision::Stop;
        }
        if run.total_attempts >= self.policy.max_total_attempts {
            return Decision::Stop;
        }
        if !kind.retryable() {
            return match kind {
                ErrorKind::QuotaExceeded | ErrorKind::ContextLength => Decision::Fallback,
                _ => Decision::Stop,
            };
        }
        let moves_on_first = kind == ErrorKind::Overloaded || failure.stream_started;
        if (moves_on_first && !is_last) || attempt >= self.policy.retry.max_attempts {
            return Decision::Fallback;
        }
        if lock(&ts.breaker).state(Instant::now()) == BreakerState::Open {
            return Decision::Fallback;
        }
        let mut wait = backoff.next_delay();
        if let Some(retry_after) = failure.error.retry_after {
            if retry_after > self.policy.retry.max_retry_after {
                return Decision::Fallback;
            }
            wait = wait.max(retry_after);
        }
        if run.fails_deadline(wait) {
            return Decision::Fallback;
        }
        Decision::Retry(wait)
    }

    /// Prices `usage` (when there is a price function and usage) and counts the cost
    /// against the budget.
    fn charge(&self, target: &Target, usage: Option<Usage>) -> Billed {
        let cost_micro_usd = match (&self.usage_cost, &usage) {
            (Some(f), Some(u)) => f(target, u),
            _ => None,
        };
        if let Some(cost) = cost_micro_usd {
            self.record_cost(&target.name, cost);
        }
        Billed {
            usage,
            cost_micro_usd,
        }
    }

    async fn attempt(
        &self,
        target: &Target,
        attempt: u32,
        request: &ChatRequest,
        total: Option<Instant>,
    ) -> Result<ChatResponse, Failure> {
        let timeouts = &self.policy.timeouts;
        let start = Instant::now();
        let first_token = timeouts.first_token.map(|d| start + d);
        let limits = [
            (timeouts.connect.map(|d| start + d), "connect"),
            (first_token, "first_token"),
            (total, "total"),
        ];
        let stream = match within(&limits, self.transport.start(target, attempt, request)).await {
            Ok(Ok(stream)) => stream,
            Ok(Err(error)) => {
                return Err(Failure {
                    error,
                    partial: None,
                    stream_started: false,
                });
            }
            Err(label) => {
                return Err(Failure {
                    error: timeout_error(label, start),
                    partial: None,
                    stream_started: false,
                });
            }
        };
        let mut stream = stream;
        let mut acc = StreamAccumulator::new();
        let mut last = Instant::now();
        // The error keeps the usage reported so far and, after content, the partial
        // output.
        let fail = |error: Error, acc: &StreamAccumulator| {
            let error = acc.fail(error);
            Failure {
                partial: error.partial().cloned(),
                error,
                stream_started: true,
            }
        };
        loop {
            let limits = [
                (timeouts.idle.map(|d| last + d), "idle"),
                (first_token.filter(|_| !acc.has_content()), "first_token"),
                (total, "total"),
            ];
            match within(&limits, stream.next()).await {
                Ok(Some(Ok(event))) => {
                    acc.push(&event);
                    last = Instant::now();
                }
                Ok(Some(Err(error))) => return Err(fail(error, &acc)),
                Ok(None) => return Ok(acc.finish()),
                Err(label) => {
                    let since = if label == "idle" { last } else { start };
                    return Err(fail(timeout_error(label, since), &acc));
                }
            }
        }
    }
}

/// Runs `fut` until the earliest of the given deadlines; on expiry returns that
/// deadline's label.
async fn within<F: std::future::Future>(
    limits: &[(Option<Instant>, &'static str)],
    fut: F,
) -> Result<F::Output, &'static str> {
    let earliest = limits
        .iter()
        .filter_map(|(d, label)| d.map(|d| (d, *label)))
        .min_by_key(|(d, _)| *d);
    match earliest {
        None => Ok(fut.await),
        Some((deadline, label)) => tokio::time::timeout_at(deadline, fut)
            .await
            .map_err(|_| label),
    }
}

fn timeout_error(label: &str, since: Instant) -> Error {
    let waited = Instant::now() - since;
    Error::new(
        ErrorKind::Timeout,
        format!("{label} timeout after {}", crate::format_duration(waited)),
    )
    .with_code(format!("{label}_timeout"))
}
