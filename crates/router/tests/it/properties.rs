//! Properties over arbitrary fault sequences, each case in its own paused runtime.

use std::time::Duration;

use llmvcr_core::{Error, ErrorKind, StreamEvent, Usage};
use llmvcr_router::{
    AttemptOutcome, BreakerPolicy, Jitter, Next, RetryPolicy, RoutedOutcome, Router, RouterPolicy,
    Target, Timeouts,
};
use proptest::prelude::*;

use crate::fake::{Fake, Item, Step, cut_after_content, cut_before_content, text};

const KINDS: [ErrorKind; 10] = [
    ErrorKind::RateLimited,
    ErrorKind::QuotaExceeded,
    ErrorKind::Overloaded,
    ErrorKind::Server,
    ErrorKind::Timeout,
    ErrorKind::Network,
    ErrorKind::Auth,
    ErrorKind::BadRequest,
    ErrorKind::ContextLength,
    ErrorKind::ContentPolicy,
];

const MAX_RETRY_AFTER: Duration = Duration::from_secs(5);

fn step() -> impl Strategy<Value = Step> {
    let kind = proptest::sample::select(KINDS.to_vec());
    let retry_after = proptest::option::of(0u64..8_000).prop_map(|o| o.map(Duration::from_millis));
    prop_oneof![
        1 => Just(text("fine")),
        4 => (kind.clone(), retry_after).prop_map(|(k, ra)| {
            Step::Fail(Error::new(k, "scripted").with_retry_after(ra))
        }),
        1 => kind.clone().prop_map(cut_before_content),
        1 => kind.prop_map(|k| cut_after_content("part", k)),
    ]
}

#[derive(Debug, Clone)]
struct Case {
    scripts: Vec<Vec<Step>>,
    windows: Vec<Option<u64>>,
    max_attempts: u32,
    max_total: u32,
    jitter: Jitter,
    base_ms: u64,
    total: Option<Duration>,
    breaker: bool,
    seed: u64,
}

/// The steps of [`step`], and failures that reported usage: an error response with
/// `usage`, and a stream that reports usage and then fails before any content.
fn billed_step() -> BoxedStrategy<Step> {
    let kind = proptest::sample::select(KINDS.to_vec());
    let usage = (0u64..5_000, 0u64..500).prop_map(|(input_tokens, output_tokens)| Usage {
        input_tokens,
        output_tokens,
        ..Usage::default()
    });
    prop_oneof![
        3 => step(),
        1 => (kind.clone(), usage.clone()).prop_map(|(k, u)| {
            Step::Fail(Error::new(k, "scripted").with_usage(Some(u)))
        }),
        1 => (kind, usage).prop_map(|(k, u)| Step::Stream {
            connect: Duration::ZERO,
            items: vec![
                Item::Event(Duration::ZERO, StreamEvent::Usage(u)),
                Item::Error(Duration::from_millis(10), Error::new(k, "stream cut")),
            ],
        }),
    ]
    .boxed()
}

fn case() -> impl Strategy<Value = Case> {
    case_of(|| step().boxed())
}

fn case_of(steps: fn() -> BoxedStrategy<Step>) -> impl Strategy<Value = Case> {
    (1usize..=3).prop_flat_map(move |n| {
        (
            proptest::collection::vec(proptest::collection::vec(steps(), 0..6), n),
            proptest::collection::vec(
                proptest::option::of(proptest::sample::select(vec![4_000u64, 8_000, 16_000])),
                n,
            ),
            1u32..=4,
            1u32..=8,
            proptest::sample::select(vec![Jitter::None, Jitter::Full, Jitter::Decorrelated]),
            1u64..2_000,
            proptest::option::of((1u64..120).prop_map(Duration::from_secs)),
            any::<bool>(),
            any::<u64>(),
        )
            .prop_map(
                |(
                    scripts,
                    windows,
                    max_attempts,
                    max_total,
                    jitter,
                    base_ms,
                    total,
                    breaker,
                    seed,
                )| {
                    Case {
                        scripts,
                        windows,
                        max_attempts,
                        max_total,
                        jitter,
                        base_ms,
                        total,
                        breaker,
                        seed,
                    }
                },
            )
    })
}

fn run(case: &Case) -> (RoutedOutcome, Fake, RouterPolicy) {
    let (out, fake, policy, _) = run_priced(case, false);
    (out, fake, policy)
}

/// Runs `case`; with `priced`, the router prices usage at one micro-dollar per
/// token, and the micro-dollars it spent are returned.
fn run_priced(case: &Case, priced: bool) -> (RoutedOutcome, Fake, RouterPolicy, u64) {
    let mut fake = Fake::new();
    let mut targets = Vec::new();
    for (i, (script, window)) in case.scripts.iter().zip(&case.windows).enumerate() {
        let name = format!("t{i}");
        fake = fake.on(&name, script.clone());
        let mut t = Target::new(name, "openai", "m");
        t.context_window = *window;
        targets.push(t);
    }
    let policy = RouterPolicy {
        retry: RetryPolicy {
            max_attempts: case.max_attempts,
            base: Duration::from_millis(case.base_ms),
            cap: Duration::from_secs(20),
            jitter: case.jitter,
            max_retry_after: MAX_RETRY_AFTER,
            seed: case.seed,
        },
        max_total_attempts: case.max_total,
        timeouts: Timeouts {
            total: case.total,
            ..Timeouts::default()
        },
        breaker: case.breaker.then(|| BreakerPolicy {
            failure_threshold: 2,
            ..BreakerPolicy::default()
        }),
        budget: None,
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .unwrap();
    let mut router = Router::new(fake.clone(), targets, policy.clone()).unwrap();
    if priced {
        router = router.with_usage_cost(|_, u| Some(u.total_tokens()));
    }
    let request = llmvcr_core::ChatRequest::new("m").user("hi");
    let out = rt.block_on(router.chat(&request));
    let spent = router.spent_micro_usd();
    (out, fake, policy, spent)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn never_exceeds_attempt_limits(case in case()) {
        let (out, fake, policy) = run(&case);
        prop_assert!(out.attempts() <= policy.max_total_attempts as usize);
        prop_assert_eq!(out.attempts(), fake.calls().len());
        for i in 0..case.scripts.len() {
            let name = format!("t{i}");
            prop_assert!(out.attempts_on(&name) <= policy.retry.max_attempts as usize);
        }
        // Attempt numbers count up from 1 on each target.
        for i in 0..case.scripts.len() {
            let name = format!("t{i}");
            let numbers: Vec<u32> = out.log.iter()
                .filter(|r| r.target == name && r.outcome.is_attempt())
                .map(|r| r.attempt)
                .collect();
            let expected: Vec<u32> = (1..=numbers.len() as u32).collect();
            prop_assert_eq!(numbers, expected);
        }
    }

    #[test]
    fn never_retries_a_non_retryable_kind(case in case()) {
        let (out, _, _) = run(&case);
        for (i, r) in out.log.iter().enumerate() {
            if let AttemptOutcome::Failed { kind, .. } = r.outcome
                && !kind.retryable()
            {
                prop_assert_ne!(r.next, Next::Retry);
                prop_assert!(!out.log[i + 1..]
                    .iter()
                    .any(|later| later.target == r.target && later.outcome.is_attempt()));
            }
        }
    }

    #[test]
    fn never_waits_less_than_an_honoured_retry_after(case in case()) {
        let (out, _, _) = run(&case);
        for (i, r) in out.log.iter().enumerate() {
            let AttemptOutcome::Failed { retry_after, .. } = r.outcome else { continue };
            if r.next != Next::Retry {
                continue;
            }
            let floor = retry_after.unwrap_or(Duration::ZERO);
            prop_assert!(floor <= MAX_RETRY_AFTER);
            prop_assert!(r.wait >= floor);
            let next = out.log[i + 1..]
                .iter()
                .find(|later| later.target == r.target && later.outcome.is_attempt());
            // A rate-limit or breaker step may come between; the next attempt on the
            // same target still starts no earlier than the end of the wait.
            if let Some(next) = next {
                prop_assert!(next.at >= r.at + r.took + r.wait,
                    "next attempt at {:?}, failure ended {:?}, wait {:?}", next.at, r.at + r.took, r.wait);
            }
        }
    }

    #[test]
    fn log_is_consistent_with_the_outcome(case in case()) {
        let (out, _, _) = run(&case);
        for pair in out.log.windows(2) {
            prop_assert!(pair[0].at <= pair[1].at);
        }
        if let Some(last) = out.log.last() {
            prop_assert!(out.elapsed >= last.at + last.took);
        }
        if let Some(total) = case.total {
            prop_assert!(out.elapsed <= total, "{:?} > {:?}", out.elapsed, total);
        }
        let successes = out.log.iter().filter(|r| r.outcome == AttemptOutcome::Success).count();
        match &out.result {
            Ok(_) => {
                let last = out.log.last().unwrap();
                prop_assert_eq!(successes, 1);
                prop_assert_eq!(&last.outcome, &AttemptOutcome::Success);
                prop_assert_eq!(last.next, Next::Done);
                prop_assert_eq!(out.served_by.as_deref(), Some(last.target.as_str()));
            }
            Err(err) => {
                prop_assert_eq!(successes, 0);
                prop_assert!(out.served_by.is_none());
                let last_failure = out.log.iter().rev().find(|r| r.outcome.is_attempt());
                if err.partial.is_some() {
                    let last = out.log.last().unwrap();
                    let after_content = matches!(
                        last.outcome,
                        AttemptOutcome::Failed { after_content: true, .. }
                    );
                    prop_assert!(after_content);
                    prop_assert_eq!(last.next, Next::Stop);
                }
                if let Some(last) = out.log.last() {
                    if last.outcome.is_attempt() {
                        prop_assert_eq!(Some(err.kind()), last.outcome.error_kind());
                        prop_assert_eq!(err.target.as_deref(), Some(last.target.as_str()));
                    }
                } else {
                    prop_assert!(last_failure.is_none());
                }
                // No decision follows a stop.
                if let Some(pos) = out.log.iter().position(|r| r.next == Next::Stop) {
                    prop_assert_eq!(pos, out.log.len() - 1);
                }
            }
        }
    }

    #[test]
    fn every_attempt_that_reported_usage_is_billed_once(case in case_of(billed_step)) {
        let (out, _, _, spent) = run_priced(&case, true);
        // The budget counts exactly what the log bills.
        prop_assert_eq!(spent, out.cost_micro_usd());
        for r in &out.log {
            match r.usage {
                Some(u) => {
                    prop_assert!(r.outcome.is_attempt(), "{:?}", r);
                    prop_assert_eq!(r.cost_micro_usd, Some(u.total_tokens()));
                }
                None => prop_assert_eq!(r.cost_micro_usd, None),
            }
            // A success always reported usage (the scripted answers do).
            if r.outcome == AttemptOutcome::Success {
                prop_assert!(r.usage.is_some());
            }
        }
        // A failed call's error carries the usage its last attempt reported.
        if let Err(err) = &out.result
            && let Some(last) = out.log.last()
            && last.outcome.is_attempt()
        {
            prop_assert_eq!(err.error.usage(), last.usage);
        }
    }
}
