//! Policies and targets as they appear in scenario files.

use std::time::Duration;

use llmvcr_router::{Jitter, RouterPolicy, Target};

#[test]
fn yaml_policy_with_every_section() {
    let yaml = r#"
retry:
  max_attempts: 4
  base: 250ms
  cap: 8s
  jitter: decorrelated
  max_retry_after: 1m
  seed: 42
max_total_attempts: 6
timeouts:
  connect: 2s
  first_token: 1.5s
  idle: 500
  total: 1m30s
breaker:
  failure_threshold: 3
  cooldown: 30s
  half_open_probes: 2
budget:
  max_usd: 0.25
"#;
    let p: RouterPolicy = yaml_serde::from_str(yaml).unwrap();
    assert_eq!(p.retry.max_attempts, 4);
    assert_eq!(p.retry.base, Duration::from_millis(250));
    assert_eq!(p.retry.jitter, Jitter::Decorrelated);
    assert_eq!(p.retry.max_retry_after, Duration::from_secs(60));
    assert_eq!(p.timeouts.first_token, Some(Duration::from_millis(1500)));
    assert_eq!(p.timeouts.idle, Some(Duration::from_millis(500)));
    assert_eq!(p.timeouts.total, Some(Duration::from_secs(90)));
    assert_eq!(p.breaker.unwrap().half_open_probes, 2);
    assert_eq!(p.budget.unwrap().max_micro_usd(), 250_000);
}

#[test]
fn empty_policy_is_the_default() {
    let p: RouterPolicy = yaml_serde::from_str("{}").unwrap();
    assert_eq!(p, RouterPolicy::default());
}

#[test]
fn policy_round_trips_through_json() {
    let p: RouterPolicy =
        serde_json::from_str(r#"{"timeouts": {"total": "2.5s"}, "retry": {"jitter": "none"}}"#)
            .unwrap();
    let back: RouterPolicy = serde_json::from_str(&serde_json::to_string(&p).unwrap()).unwrap();
    assert_eq!(p, back);
}

#[test]
fn bad_fields_are_named() {
    let err = yaml_serde::from_str::<RouterPolicy>("retry:\n  base: 5\n  cap: fast\n")
        .unwrap_err()
        .to_string();
    assert!(err.contains("fast"), "{err}");
    let err = yaml_serde::from_str::<RouterPolicy>("retry:\n  max_attempt: 5\n")
        .unwrap_err()
        .to_string();
    assert!(err.contains("max_attempt"), "{err}");
}

#[test]
fn targets_from_yaml() {
    let yaml = r#"
- name: primary
  provider: openai
  model: gpt-4o-mini
  context_window: 128000
  rate_limit: { requests_per_minute: 60, tokens_per_minute: 100000 }
- name: backup
  provider: anthropic
  model: claude-3-5-haiku-latest
"#;
    let t: Vec<Target> = yaml_serde::from_str(yaml).unwrap();
    assert_eq!(t[0].rate_limit.as_ref().unwrap().burst, 1);
    assert_eq!(t[0].context_window, Some(128_000));
    assert_eq!(t[1].rate_limit, None);
}
