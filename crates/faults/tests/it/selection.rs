//! Which request gets which fault.

use llmvcr_faults::{
    Fault, FaultContext, FaultMiddleware, FaultPlan, FaultRule, FiredFault, Selector,
};

use super::support::{Canned, URL, client, faults};

fn status(code: u16) -> Fault {
    Fault::status(code, vec![], "")
}

/// Sends one request per context (or without one) and returns the statuses
/// (0 for an error).
async fn run(f: &FaultMiddleware, requests: &[(&str, Option<FaultContext>)]) -> Vec<u16> {
    let canned = Canned::sse();
    let client = client(f, &canned);
    let mut out = Vec::new();
    for (url, context) in requests {
        let mut builder = client.get(*url);
        if let Some(c) = context {
            builder = builder.with_extension(c.clone());
        }
        out.push(match builder.send().await {
            Ok(r) => r.status().as_u16(),
            Err(_) => 0,
        });
    }
    out
}

fn ctx(target: &str, attempt: u32) -> Option<FaultContext> {
    Some(FaultContext::new(target, attempt))
}

#[tokio::test]
async fn by_attempt_and_target_from_the_context() {
    let f = faults(
        FaultPlan::new()
            .inject(Selector::any().target("openai").attempt(1), status(429))
            .inject(Selector::any().attempt(2), status(503)),
    );
    let got = run(
        &f,
        &[
            (URL, ctx("openai", 1)),
            (URL, ctx("openai", 2)),
            (URL, ctx("openai", 3)),
            (URL, ctx("anthropic", 1)),
            (URL, ctx("anthropic", 2)),
        ],
    )
    .await;
    assert_eq!(got, [429, 503, 200, 200, 503]);
    let log = f.log();
    assert_eq!(
        log[0],
        FiredFault {
            request: 1,
            rule: 0,
            target: "openai".into(),
            attempt: 1,
            fault_name: "status",
        }
    );
    assert_eq!(
        log.iter()
            .map(|l| (l.request, l.rule, l.target.as_str(), l.attempt))
            .collect::<Vec<_>>(),
        [
            (1, 0, "openai", 1),
            (2, 1, "openai", 2),
            (5, 1, "anthropic", 2)
        ]
    );
}

#[tokio::test]
async fn without_a_context_the_target_is_the_host_and_attempts_count_per_host() {
    let f = faults(
        FaultPlan::new()
            .inject(Selector::any().target("api.test").attempt(2), status(500))
            .inject(Selector::any().target("other.test"), status(502)),
    );
    let other = "http://other.test/v1/messages";
    let got = run(&f, &[(URL, None), (other, None), (URL, None), (URL, None)]).await;
    assert_eq!(got, [200, 502, 500, 200]);
    assert_eq!(f.log()[1].attempt, 2);
}

#[tokio::test]
async fn by_request_count() {
    let f = faults(FaultPlan::new().inject(Selector::any().request(3), Fault::Reset));
    let got = run(&f, &[(URL, None), (URL, None), (URL, None), (URL, None)]).await;
    assert_eq!(got, [200, 200, 0, 200]);
}

#[tokio::test]
async fn times_limits_a_rule_and_the_first_match_wins() {
    let f = faults(
        FaultPlan::new()
            .rule(FaultRule::new(Selector::any(), status(429)).times(2))
            .inject(Selector::any(), status(500))
            .inject(Selector::any(), status(502)),
    );
    let got = run(&f, &[(URL, None), (URL, None), (URL, None), (URL, None)]).await;
    assert_eq!(got, [429, 429, 500, 500]);
    let rules: Vec<_> = f.log().iter().map(|l| l.rule).collect();
    assert_eq!(rules, [0, 0, 1, 1]);
}

async fn fired_requests(seed: u64, probability: f64, n: usize) -> Vec<u64> {
    let f = faults(
        FaultPlan::new()
            .seed(seed)
            .inject(Selector::any().probability(probability), status(503)),
    );
    let requests: Vec<_> = (0..n).map(|_| (URL, None)).collect();
    run(&f, &requests).await;
    f.log().iter().map(|l| l.request).collect()
}

#[tokio::test]
async fn probability_is_deterministic_per_seed() {
    let a = fired_requests(7, 0.3, 200).await;
    let b = fired_requests(7, 0.3, 200).await;
    let c = fired_requests(8, 0.3, 200).await;
    assert_eq!(a, b, "same seed, same firings");
    assert_ne!(a, c, "different seeds differ");
    assert!((30..=90).contains(&a.len()), "about 30% fire: {}", a.len());
    assert!(fired_requests(7, 0.0, 50).await.is_empty());
    assert_eq!(fired_requests(7, 1.0, 50).await.len(), 50);
}

#[tokio::test]
async fn probability_rules_draw_independently() {
    // Two rules at 50% each: the second fires on about half of the requests the
    // first leaves, not on none of them.
    let f = faults(
        FaultPlan::new()
            .seed(3)
            .inject(Selector::any().probability(0.5), status(500))
            .inject(Selector::any().probability(0.5), status(502)),
    );
    let requests: Vec<_> = (0..400).map(|_| (URL, None)).collect();
    let got = run(&f, &requests).await;
    let second = got.iter().filter(|s| **s == 502).count();
    assert!((60..=140).contains(&second), "{second}");
}

#[tokio::test]
async fn a_plan_from_yaml_runs() {
    let yaml = r#"
seed: 1
rules:
  - when: { target: openai, attempt: 1 }
    fault:
      kind: status
      status: 429
      headers: [["retry-after", "1"]]
      body: '{"error":{"code":"rate_limit_exceeded"}}'
  - when: { request: 2 }
    fault: { kind: reset }
    times: 1
  - fault: { kind: latency, before_first_byte_ms: 10 }
"#;
    let plan: FaultPlan = yaml_serde::from_str(yaml).unwrap();
    let f = FaultMiddleware::new(plan).unwrap();
    let got = run(
        &f,
        &[
            (URL, ctx("openai", 1)),
            (URL, ctx("openai", 2)),
            (URL, None),
        ],
    )
    .await;
    assert_eq!(got, [429, 0, 200]);
    let names: Vec<_> = f.log().iter().map(|l| l.fault_name).collect();
    assert_eq!(names, ["status", "reset", "latency"]);

    let bad = "rules:\n  - fault: { kind: explode }\n";
    assert!(yaml_serde::from_str::<FaultPlan>(bad).is_err());
    let typo = "rules:\n  - when: { atempt: 1 }\n    fault: { kind: reset }\n";
    assert!(yaml_serde::from_str::<FaultPlan>(typo).is_err());
}
