//! One test per routing rule.

use std::time::Duration;

use llmvcr_core::{ChatRequest, ErrorKind, StreamEvent};
use llmvcr_router::{
    AttemptOutcome, BreakerPolicy, BreakerState, BudgetPolicy, Jitter, Next, RateLimit,
    RetryPolicy, Router, RouterPolicy, Target, Timeouts,
};

use crate::fake::{Fake, Item, Step, cut_after_content, cut_before_content, fail, fail_after};

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

fn ms(m: u64) -> Duration {
    Duration::from_millis(m)
}

fn req() -> ChatRequest {
    ChatRequest::new("m").user("hello").max_tokens(16)
}

fn policy() -> RouterPolicy {
    RouterPolicy {
        retry: RetryPolicy {
            max_attempts: 3,
            base: ms(100),
            cap: secs(10),
            jitter: Jitter::None,
            ..RetryPolicy::default()
        },
        ..RouterPolicy::default()
    }
}

fn chain(names: &[&str]) -> Vec<Target> {
    names
        .iter()
        .map(|n| Target::new(*n, "openai", "gpt-4o-mini"))
        .collect()
}

fn router(fake: &Fake, names: &[&str], policy: RouterPolicy) -> Router {
    Router::new(fake.clone(), chain(names), policy).unwrap()
}

#[tokio::test(start_paused = true)]
async fn rate_limited_honours_retry_after() {
    let fake = Fake::new().on("a", [fail_after(ErrorKind::RateLimited, secs(5))]);
    let out = router(&fake, &["a", "b"], policy()).chat(&req()).await;
    assert_eq!(out.result.as_ref().unwrap().text, "ok from a");
    assert_eq!(out.served_by.as_deref(), Some("a"));
    assert_eq!(out.attempts_on("a"), 2);
    assert_eq!(out.log[0].next, Next::Retry);
    assert_eq!(out.log[0].wait, secs(5));
    assert!(out.log[1].at >= secs(5));
    assert!(out.elapsed >= secs(5));
    let calls = fake.calls();
    assert!(calls[1].2 - calls[0].2 >= secs(5));
    assert_eq!(fake.calls_to("b"), 0);
}

#[tokio::test(start_paused = true)]
async fn backoff_wins_over_a_shorter_retry_after() {
    let fake = Fake::new().on(
        "a",
        [
            fail_after(ErrorKind::RateLimited, ms(1)),
            fail_after(ErrorKind::RateLimited, ms(1)),
        ],
    );
    let out = router(&fake, &["a"], policy()).chat(&req()).await;
    assert!(out.result.is_ok());
    let waits: Vec<_> = out.log.iter().map(|r| r.wait).collect();
    assert_eq!(waits, [ms(100), ms(200), Duration::ZERO]);
}

#[tokio::test(start_paused = true)]
async fn retry_after_above_the_maximum_gives_the_target_up() {
    let fake = Fake::new().on("a", [fail_after(ErrorKind::RateLimited, secs(3600))]);
    let out = router(&fake, &["a", "b"], policy()).chat(&req()).await;
    assert_eq!(out.served_by.as_deref(), Some("b"));
    assert_eq!(out.attempts_on("a"), 1);
    assert_eq!(out.log[0].next, Next::Fallback);
    assert!(out.elapsed < secs(1));
}

#[tokio::test(start_paused = true)]
async fn insufficient_quota_is_not_retried_but_falls_back() {
    let fake = Fake::new().on("a", [fail(ErrorKind::QuotaExceeded)]);
    let out = router(&fake, &["a", "b"], policy()).chat(&req()).await;
    assert_eq!(out.served_by.as_deref(), Some("b"));
    assert_eq!(fake.calls_to("a"), 1);
    assert_eq!(out.log[0].next, Next::Fallback);
    assert_eq!(out.log[0].wait, Duration::ZERO);
}

#[tokio::test(start_paused = true)]
async fn client_errors_stop_the_call() {
    for kind in [
        ErrorKind::BadRequest,
        ErrorKind::Auth,
        ErrorKind::Permission,
    ] {
        let fake = Fake::new().on("a", [fail(kind)]);
        let out = router(&fake, &["a", "b"], policy()).chat(&req()).await;
        let err = out.result.clone().unwrap_err();
        assert_eq!(err.kind(), kind);
        assert_eq!(err.target.as_deref(), Some("a"));
        assert_eq!(fake.calls_to("a"), 1);
        assert_eq!(fake.calls_to("b"), 0);
        assert_eq!(out.log.last().unwrap().next, Next::Stop);
    }
}

#[tokio::test(start_paused = true)]
async fn overloaded_moves_to_the_next_target_at_once() {
    let fake = Fake::new().on("a", [fail(ErrorKind::Overloaded)]);
    let out = router(&fake, &["a", "b"], policy()).chat(&req()).await;
    assert_eq!(out.served_by.as_deref(), Some("b"));
    assert_eq!(fake.calls_to("a"), 1);
    assert_eq!(out.elapsed, Duration::ZERO);
}

#[tokio::test(start_paused = true)]
async fn overloaded_on_the_last_target_is_retried() {
    let fake = Fake::new().on("a", [fail(ErrorKind::Overloaded)]);
    let out = router(&fake, &["a"], policy()).chat(&req()).await;
    assert_eq!(out.served_by.as_deref(), Some("a"));
    assert_eq!(out.attempts_on("a"), 2);
    assert_eq!(out.log[0].next, Next::Retry);
}

#[tokio::test(start_paused = true)]
async fn retries_exhausted_fall_back_and_the_last_error_is_reported() {
    let fake = Fake::new()
        .on(
            "a",
            [
                fail(ErrorKind::Server),
                fail(ErrorKind::Server),
                fail(ErrorKind::Server),
            ],
        )
        .on(
            "b",
            [
                fail(ErrorKind::Network),
                fail(ErrorKind::Network),
                fail(ErrorKind::Timeout),
            ],
        );
    let out = router(&fake, &["a", "b"], policy()).chat(&req()).await;
    let err = out.result.clone().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout);
    assert_eq!(err.target.as_deref(), Some("b"));
    assert_eq!(out.attempts_on("a"), 3);
    assert_eq!(out.attempts_on("b"), 3);
    assert_eq!(out.served_by, None);
    // 100ms + 200ms of backoff on each target.
    assert_eq!(out.elapsed, ms(600));
}

#[tokio::test(start_paused = true)]
async fn stream_cut_before_first_token_falls_back() {
    let fake = Fake::new().on("a", [cut_before_content(ErrorKind::Network)]);
    let out = router(&fake, &["a", "b"], policy()).chat(&req()).await;
    assert_eq!(out.served_by.as_deref(), Some("b"));
    assert_eq!(fake.calls_to("a"), 1);
    assert_eq!(
        out.log[0].outcome,
        AttemptOutcome::Failed {
            kind: ErrorKind::Network,
            retry_after: None,
            after_content: false
        }
    );
}

#[tokio::test(start_paused = true)]
async fn stream_cut_after_first_token_is_a_partial_error() {
    let fake = Fake::new().on("a", [cut_after_content("Hel", ErrorKind::Network)]);
    let out = router(&fake, &["a", "b"], policy()).chat(&req()).await;
    let err = out.result.clone().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Network);
    assert_eq!(err.partial.unwrap().text, "Hel");
    assert_eq!(fake.calls_to("b"), 0);
    assert_eq!(fake.calls_to("a"), 1);
    assert_eq!(out.log.len(), 1);
    assert_eq!(out.log[0].next, Next::Stop);
}

#[tokio::test(start_paused = true)]
async fn first_token_timeout_falls_back() {
    let slow = Step::Stream {
        connect: Duration::ZERO,
        items: vec![Item::Event(secs(30), StreamEvent::TextDelta("late".into()))],
    };
    let fake = Fake::new().on("a", [slow]);
    let mut p = policy();
    p.timeouts.first_token = Some(secs(2));
    let out = router(&fake, &["a", "b"], p).chat(&req()).await;
    assert_eq!(out.served_by.as_deref(), Some("b"));
    assert_eq!(out.log[0].outcome.error_kind(), Some(ErrorKind::Timeout));
    assert_eq!(out.log[0].took, secs(2));
    assert_eq!(out.log[1].at, secs(2));
}

#[tokio::test(start_paused = true)]
async fn connect_timeout_is_retried() {
    let slow = Step::Stream {
        connect: secs(60),
        items: vec![],
    };
    let fake = Fake::new().on("a", [slow]);
    let mut p = policy();
    p.timeouts.connect = Some(secs(1));
    let out = router(&fake, &["a"], p).chat(&req()).await;
    assert_eq!(out.served_by.as_deref(), Some("a"));
    assert_eq!(out.attempts_on("a"), 2);
    assert_eq!(out.log[0].outcome.error_kind(), Some(ErrorKind::Timeout));
    assert_eq!(out.log[1].at, secs(1) + ms(100));
}

#[tokio::test(start_paused = true)]
async fn idle_timeout_on_a_stalled_stream_keeps_the_partial_output() {
    let stalled = Step::Stream {
        connect: Duration::ZERO,
        items: vec![
            Item::Event(ms(100), StreamEvent::TextDelta("par".into())),
            Item::Event(ms(100), StreamEvent::TextDelta("tial".into())),
            Item::Stall,
        ],
    };
    let fake = Fake::new().on("a", [stalled]);
    let mut p = policy();
    p.timeouts.idle = Some(secs(5));
    let out = router(&fake, &["a", "b"], p).chat(&req()).await;
    let err = out.result.clone().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout);
    assert_eq!(err.error.code.as_deref(), Some("idle_timeout"));
    assert_eq!(err.partial.unwrap().text, "partial");
    assert_eq!(out.elapsed, ms(200) + secs(5));
}

#[tokio::test(start_paused = true)]
async fn total_timeout_bounds_the_whole_call() {
    let fake = Fake::new()
        .on("a", (0..10).map(|_| fail(ErrorKind::Server)))
        .on("b", (0..10).map(|_| fail(ErrorKind::Server)));
    let mut p = policy();
    p.retry.max_attempts = 10;
    p.retry.base = secs(1);
    p.timeouts.total = Some(secs(5));
    let out = router(&fake, &["a", "b"], p).chat(&req()).await;
    assert!(out.result.is_err());
    assert!(out.elapsed <= secs(5), "{:?}", out.elapsed);
    // a: waits 1s, 2s; the 4s wait would pass the deadline, so b is tried at 3s.
    assert_eq!(out.attempts_on("a"), 3);
    assert!(out.attempts_on("b") >= 1);
}

#[tokio::test(start_paused = true)]
async fn total_timeout_cuts_a_slow_stream() {
    let slow = Step::Stream {
        connect: Duration::ZERO,
        items: vec![Item::Stall],
    };
    let fake = Fake::new().on("a", [slow]);
    let mut p = policy();
    p.timeouts.total = Some(secs(3));
    let out = router(&fake, &["a", "b"], p).chat(&req()).await;
    let err = out.result.clone().unwrap_err();
    assert_eq!(err.error.code.as_deref(), Some("total_timeout"));
    assert_eq!(out.elapsed, secs(3));
    assert_eq!(fake.calls_to("b"), 0);
}

#[tokio::test(start_paused = true)]
async fn breaker_opens_then_half_opens_and_closes_on_success() {
    let fake = Fake::new().on("a", [fail(ErrorKind::Server), fail(ErrorKind::Server)]);
    let mut p = policy();
    p.retry.max_attempts = 1;
    p.breaker = Some(BreakerPolicy {
        failure_threshold: 2,
        cooldown: secs(30),
        half_open_probes: 1,
    });
    let r = router(&fake, &["a", "b"], p);

    let out = r.chat(&req()).await;
    assert_eq!(out.served_by.as_deref(), Some("b"));
    assert_eq!(r.breaker_state("a"), Some(BreakerState::Closed));

    let out = r.chat(&req()).await;
    assert_eq!(out.served_by.as_deref(), Some("b"));
    assert_eq!(out.log[0].breaker, BreakerState::Open);
    assert_eq!(r.breaker_state("a"), Some(BreakerState::Open));

    let out = r.chat(&req()).await;
    assert_eq!(out.log[0].outcome, AttemptOutcome::SkippedBreakerOpen);
    assert_eq!(out.served_by.as_deref(), Some("b"));
    assert_eq!(fake.calls_to("a"), 2);

    tokio::time::sleep(secs(30)).await;
    assert_eq!(r.breaker_state("a"), Some(BreakerState::HalfOpen));
    let out = r.chat(&req()).await;
    assert_eq!(out.served_by.as_deref(), Some("a"));
    assert_eq!(out.log[0].breaker, BreakerState::Closed);
    assert_eq!(r.breaker_state("a"), Some(BreakerState::Closed));
}

#[tokio::test(start_paused = true)]
async fn breaker_probe_failure_reopens() {
    let fake = Fake::new().on("a", (0..3).map(|_| fail(ErrorKind::Server)));
    let mut p = policy();
    p.retry.max_attempts = 1;
    p.breaker = Some(BreakerPolicy {
        failure_threshold: 2,
        cooldown: secs(10),
        half_open_probes: 1,
    });
    let r = router(&fake, &["a", "b"], p);
    r.chat(&req()).await;
    r.chat(&req()).await;
    tokio::time::sleep(secs(10)).await;
    let out = r.chat(&req()).await;
    assert_eq!(out.log[0].outcome.error_kind(), Some(ErrorKind::Server));
    assert_eq!(out.log[0].breaker, BreakerState::Open);
    assert_eq!(out.served_by.as_deref(), Some("b"));
}

#[tokio::test(start_paused = true)]
async fn every_breaker_open_is_a_circuit_open_error() {
    let fake = Fake::new().on("a", [fail(ErrorKind::Server)]);
    let mut p = policy();
    p.retry.max_attempts = 1;
    p.breaker = Some(BreakerPolicy {
        failure_threshold: 1,
        ..BreakerPolicy::default()
    });
    let r = router(&fake, &["a"], p);
    r.chat(&req()).await;
    let out = r.chat(&req()).await;
    let err = out.result.clone().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Overloaded);
    assert_eq!(err.error.code.as_deref(), Some("circuit_open"));
    assert_eq!(out.attempts(), 0);
}

#[tokio::test(start_paused = true)]
async fn rate_limiter_spaces_a_burst() {
    let fake = Fake::new();
    let target = Target::new("a", "openai", "m").rate_limit(RateLimit::requests_per_minute(6));
    let r = Router::new(fake.clone(), vec![target], policy()).unwrap();
    let request = req();
    let outs = futures::future::join_all((0..4).map(|_| r.chat(&request))).await;
    let mut elapsed: Vec<_> = outs.iter().map(|o| o.elapsed).collect();
    elapsed.sort();
    assert_eq!(elapsed, [secs(0), secs(10), secs(20), secs(30)]);
    let start = fake.calls()[0].2;
    let starts: Vec<_> = fake.calls().iter().map(|c| c.2 - start).collect();
    assert_eq!(starts, [secs(0), secs(10), secs(20), secs(30)]);
    let waited = outs
        .iter()
        .flat_map(|o| &o.log)
        .filter(|r| r.outcome == AttemptOutcome::RateLimitWait)
        .count();
    assert_eq!(waited, 3);
}

#[tokio::test(start_paused = true)]
async fn token_rate_limit_uses_the_estimator() {
    let fake = Fake::new();
    let target = Target::new("a", "openai", "m").rate_limit(RateLimit::tokens_per_minute(1000));
    let r = Router::new(fake.clone(), vec![target], policy())
        .unwrap()
        .with_token_estimator(|_| 500);
    for expected in [0, 0, 30] {
        let out = r.chat(&req()).await;
        assert_eq!(out.elapsed, secs(expected));
    }
}

#[tokio::test(start_paused = true)]
async fn rate_limit_wait_past_the_deadline_falls_back() {
    let fake = Fake::new();
    let a = Target::new("a", "openai", "m").rate_limit(RateLimit::requests_per_minute(1));
    let b = Target::new("b", "openai", "m");
    let mut p = policy();
    p.timeouts.total = Some(secs(10));
    let r = Router::new(fake.clone(), vec![a, b], p).unwrap();
    assert_eq!(r.chat(&req()).await.served_by.as_deref(), Some("a"));
    let out = r.chat(&req()).await;
    assert_eq!(out.served_by.as_deref(), Some("b"));
    assert_eq!(
        out.log[0].outcome,
        AttemptOutcome::RefusedRateLimit { wanted: secs(60) }
    );
}

#[tokio::test(start_paused = true)]
async fn budget_refuses_a_call_that_could_pass_it() {
    let fake = Fake::new();
    let mut p = policy();
    p.budget = Some(BudgetPolicy { max_usd: 0.0005 });
    let r = router(&fake, &["big", "small"], p)
        .with_worst_case_cost(|t, _| Some(if t.name == "big" { 1000 } else { 250 }))
        .with_usage_cost(|_, _| Some(300));

    let out = r.chat(&req()).await;
    assert_eq!(out.served_by.as_deref(), Some("small"));
    assert_eq!(
        out.log[0].outcome,
        AttemptOutcome::RefusedBudget {
            worst_case_micro_usd: 1000,
            remaining_micro_usd: 500
        }
    );
    assert_eq!(r.spent_micro_usd(), 300);
    assert_eq!(r.remaining_budget_micro_usd(), Some(200));

    let out = r.chat(&req()).await;
    assert_eq!(out.result.unwrap_err().kind(), ErrorKind::Budget);
    assert_eq!(fake.calls().len(), 1);
}

#[tokio::test(start_paused = true)]
async fn recorded_costs_shrink_the_budget() {
    let fake = Fake::new();
    let mut p = policy();
    p.budget = Some(BudgetPolicy { max_usd: 1.0 });
    let r = router(&fake, &["a"], p).with_worst_case_cost(|_, _| Some(100));
    r.record_cost("a", 999_950);
    let out = r.chat(&req()).await;
    assert_eq!(out.result.unwrap_err().kind(), ErrorKind::Budget);
}

#[tokio::test(start_paused = true)]
async fn context_length_falls_back_to_a_larger_window_only() {
    let fake = Fake::new().on("mid", [fail(ErrorKind::ContextLength)]);
    let targets = vec![
        Target::new("mid", "openai", "m").context_window(8_000),
        Target::new("small", "openai", "m").context_window(4_000),
        Target::new("unknown", "openai", "m"),
        Target::new("large", "anthropic", "m").context_window(200_000),
    ];
    let r = Router::new(fake.clone(), targets, policy()).unwrap();
    let out = r.chat(&req()).await;
    assert_eq!(out.served_by.as_deref(), Some("large"));
    let outcomes: Vec<_> = out
        .log
        .iter()
        .map(|r| (r.target.as_str(), r.outcome.clone()))
        .collect();
    assert_eq!(outcomes[1], ("small", AttemptOutcome::SkippedContextWindow));
    assert_eq!(
        outcomes[2],
        ("unknown", AttemptOutcome::SkippedContextWindow)
    );
    assert_eq!(fake.calls_to("small"), 0);
    assert_eq!(fake.calls_to("mid"), 1);
}

async fn jitter_waits(seed: u64, jitter: Jitter) -> Vec<Duration> {
    let fake = Fake::new().on("a", (0..4).map(|_| fail(ErrorKind::Server)));
    let mut p = policy();
    p.retry.max_attempts = 5;
    p.retry.jitter = jitter;
    p.retry.seed = seed;
    let out = router(&fake, &["a"], p).chat(&req()).await;
    assert!(out.result.is_ok());
    out.log.iter().map(|r| r.wait).collect()
}

#[tokio::test(start_paused = true)]
async fn jitter_is_deterministic_for_a_seed() {
    for jitter in [Jitter::Full, Jitter::Decorrelated] {
        let a = jitter_waits(7, jitter).await;
        assert_eq!(a, jitter_waits(7, jitter).await);
        assert_ne!(a, jitter_waits(8, jitter).await);
        assert!(a.iter().all(|w| *w <= secs(10)));
    }
}

#[tokio::test(start_paused = true)]
async fn max_total_attempts_caps_the_chain() {
    let fake = Fake::new()
        .on("a", (0..3).map(|_| fail(ErrorKind::Server)))
        .on("b", (0..3).map(|_| fail(ErrorKind::Server)));
    let mut p = policy();
    p.max_total_attempts = 4;
    let out = router(&fake, &["a", "b"], p).chat(&req()).await;
    assert!(out.result.is_err());
    assert_eq!(out.attempts(), 4);
    assert_eq!(out.log.last().unwrap().next, Next::Stop);
}

#[tokio::test(start_paused = true)]
async fn config_errors_are_typed() {
    use llmvcr_router::ConfigError;
    let fake = Fake::new();
    assert_eq!(
        Router::new(fake.clone(), vec![], policy()).unwrap_err(),
        ConfigError::NoTargets
    );
    assert_eq!(
        Router::new(fake.clone(), chain(&["a", "a"]), policy()).unwrap_err(),
        ConfigError::DuplicateTarget("a".into())
    );
    let mut p = policy();
    p.retry.max_attempts = 0;
    assert!(matches!(
        Router::new(fake, chain(&["a"]), p),
        Err(ConfigError::ZeroAttempts(_))
    ));
}

#[test]
fn default_estimate_is_a_quarter_of_the_characters_plus_max_tokens() {
    let r = ChatRequest::new("m")
        .user("abcdefgh")
        .user("x")
        .max_tokens(100);
    assert_eq!(llmvcr_router::estimate_tokens(&r), 3 + 100);
}

#[allow(dead_code)]
fn _timeouts_are_constructible() -> Timeouts {
    Timeouts::default()
}

// ---------------------------------------------------------------------------------
// Usage of failed attempts

fn tokens(input_tokens: u64, output_tokens: u64) -> llmvcr_core::Usage {
    llmvcr_core::Usage {
        input_tokens,
        output_tokens,
        ..llmvcr_core::Usage::default()
    }
}

/// A price of one micro-dollar per token.
fn per_token(_: &Target, u: &llmvcr_core::Usage) -> Option<u64> {
    Some(u.total_tokens())
}

/// A stream that reports `usage` (as Anthropic's `message_start` does), then fails
/// with `kind` before any content.
fn usage_then_error(usage: llmvcr_core::Usage, kind: ErrorKind) -> Step {
    Step::Stream {
        connect: Duration::ZERO,
        items: vec![
            Item::Event(Duration::ZERO, StreamEvent::Usage(usage)),
            Item::Error(ms(5), llmvcr_core::Error::new(kind, "Overloaded")),
        ],
    }
}

#[tokio::test(start_paused = true)]
async fn a_failed_attempt_is_logged_and_billed_with_its_usage() {
    let fake = Fake::new().on(
        "a",
        [usage_then_error(tokens(100, 0), ErrorKind::Overloaded)],
    );
    let r = router(&fake, &["a", "b"], policy()).with_usage_cost(per_token);
    let out = r.chat(&req()).await;
    assert_eq!(out.served_by.as_deref(), Some("b"));
    // The failed attempt on `a`: no content, but its input tokens are billed.
    assert!(matches!(
        out.log[0].outcome,
        AttemptOutcome::Failed {
            kind: ErrorKind::Overloaded,
            after_content: false,
            ..
        }
    ));
    assert_eq!(out.log[0].usage, Some(tokens(100, 0)));
    assert_eq!(out.log[0].cost_micro_usd, Some(100));
    assert_eq!(out.log[1].usage, Some(tokens(10, 5)));
    assert_eq!(out.log[1].cost_micro_usd, Some(15));
    assert_eq!(out.cost_micro_usd(), 115);
    assert_eq!(r.spent_micro_usd(), 115);
    // The log says so in its JSON form too.
    let json = serde_json::to_value(&out.log[0]).unwrap();
    assert_eq!(json["usage"]["input_tokens"], 100);
    assert_eq!(json["cost_micro_usd"], 100);
}

#[tokio::test(start_paused = true)]
async fn an_error_response_with_usage_is_billed() {
    // `start` fails with an error that carries usage (an error body with `usage`).
    let error =
        llmvcr_core::Error::new(ErrorKind::Server, "upstream").with_usage(Some(tokens(40, 2)));
    let fake = Fake::new().on("a", [Step::Fail(error)]);
    let r = router(&fake, &["a"], policy()).with_usage_cost(per_token);
    let out = r.chat(&req()).await;
    assert_eq!(out.served_by.as_deref(), Some("a"));
    assert_eq!(out.log[0].next, Next::Retry);
    assert_eq!(out.log[0].usage, Some(tokens(40, 2)));
    assert_eq!(r.spent_micro_usd(), 42 + 15);
}

#[tokio::test(start_paused = true)]
async fn a_partial_failure_keeps_the_usage_of_its_error_chunk() {
    // Text, then an error that carries its own, later usage report (OpenRouter's
    // error chunk with `usage`).
    let error =
        llmvcr_core::Error::new(ErrorKind::Server, "upstream died").with_usage(Some(tokens(30, 3)));
    let fake = Fake::new().on(
        "a",
        [Step::Stream {
            connect: Duration::ZERO,
            items: vec![
                Item::Event(Duration::ZERO, StreamEvent::Usage(tokens(30, 0))),
                Item::Event(Duration::ZERO, StreamEvent::TextDelta("Hel".into())),
                Item::Error(ms(5), error),
            ],
        }],
    );
    let r = router(&fake, &["a", "b"], policy()).with_usage_cost(per_token);
    let out = r.chat(&req()).await;
    let err = out.result.as_ref().unwrap_err();
    assert_eq!(err.error.usage(), Some(tokens(30, 3)));
    let partial = err.partial.as_ref().unwrap();
    assert_eq!(partial.text, "Hel");
    assert_eq!(partial.usage, Some(tokens(30, 3)));
    assert_eq!(err.error.partial(), Some(partial));
    assert_eq!(out.log[0].usage, Some(tokens(30, 3)));
    assert_eq!(r.spent_micro_usd(), 33);
}

#[tokio::test(start_paused = true)]
async fn a_timeout_keeps_the_usage_reported_before_it() {
    let fake = Fake::new().on(
        "a",
        [Step::Stream {
            connect: Duration::ZERO,
            items: vec![
                Item::Event(Duration::ZERO, StreamEvent::Usage(tokens(12, 0))),
                Item::Stall,
            ],
        }],
    );
    let mut p = policy();
    p.timeouts.idle = Some(secs(1));
    p.retry.max_attempts = 1;
    let r = router(&fake, &["a"], p).with_usage_cost(per_token);
    let out = r.chat(&req()).await;
    let err = out.result.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout);
    assert_eq!(err.error.usage(), Some(tokens(12, 0)));
    assert_eq!(r.spent_micro_usd(), 12);
}

#[tokio::test(start_paused = true)]
async fn the_budget_counts_the_spend_of_failed_attempts() {
    // 200 micro-dollars of budget; every attempt may cost up to 50.
    let fake = Fake::new().on(
        "a",
        [usage_then_error(tokens(180, 0), ErrorKind::Overloaded)],
    );
    let mut p = policy();
    p.budget = Some(BudgetPolicy { max_usd: 0.0002 });
    let r = router(&fake, &["a", "b"], p)
        .with_worst_case_cost(|_, _| Some(50))
        .with_usage_cost(per_token);
    let out = r.chat(&req()).await;
    // The failed attempt spent 180, so the fallback is refused.
    assert_eq!(out.result.unwrap_err().kind(), ErrorKind::Budget);
    assert_eq!(
        out.log[1].outcome,
        AttemptOutcome::RefusedBudget {
            worst_case_micro_usd: 50,
            remaining_micro_usd: 20
        }
    );
    assert_eq!(out.log[1].usage, None);
    assert_eq!(fake.calls_to("b"), 0);
}
