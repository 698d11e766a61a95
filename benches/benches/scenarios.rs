//! Scenarios in virtual time: 100 scenarios whose backoffs add up to more than an
//! hour of virtual time, run one after the other through `llmvcr_scenario`, as
//! `llmvcr scenario run` runs them (each on its own current-thread tokio runtime
//! with the clock paused).
//!
//! The 100 are built in memory from two shipped scenarios, with longer waits:
//!
//! - 50 from `openai_429_retry_after.yaml`: a 429 with `retry-after` of 30 s to
//!   79 s (one per scenario), then the retry succeeds;
//! - 50 from `gemini_429_retry_delay.yaml`: a 429 `RESOURCE_EXHAUSTED` with a
//!   `RetryInfo.retryDelay` of 20 s to 69 s, then the retry succeeds.
//!
//! Each keeps its expectations (with the elapsed bounds moved to the new wait), and
//! the setup checks that every one passes and that their virtual times add up to
//! more than an hour (4,950 s). One iteration is the 100 scenarios. Target: under
//! 5 s of wall time.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use llmvcr_scenario::{Scenario, run_scenario};

fn scenarios_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios")
}

/// Replaces `from` by `to` in `text`, checking that it is there.
fn swap(text: &str, from: &str, to: &str) -> String {
    assert!(text.contains(from), "`{from}` is not in the scenario");
    text.replace(from, to)
}

/// The 100 scenarios, each with the file it comes from (cassettes are found
/// relative to it).
fn build() -> Vec<(Scenario, PathBuf)> {
    let dir = scenarios_dir();
    let openai_file = dir.join("openai_429_retry_after.yaml");
    let gemini_file = dir.join("gemini_429_retry_delay.yaml");
    let openai = std::fs::read_to_string(&openai_file).unwrap();
    let gemini = std::fs::read_to_string(&gemini_file).unwrap();
    let mut scenarios = Vec::new();
    for i in 0..50_u64 {
        let wait = 30 + i;
        let text = swap(
            &openai,
            "[retry-after, \"20\"]",
            &format!("[retry-after, \"{wait}\"]"),
        );
        let text = swap(&text, "max_retry_after: 60s", "max_retry_after: 120s");
        let text = swap(&text, "elapsed_min: 20s", &format!("elapsed_min: {wait}s"));
        let text = swap(
            &text,
            "elapsed_max: 21s",
            &format!("elapsed_max: {}s", wait + 1),
        );
        let text = swap(
            &text,
            "name: OpenAI 429",
            &format!("name: bench {i} OpenAI 429"),
        );
        scenarios.push((
            Scenario::parse(&text, &openai_file).unwrap(),
            openai_file.clone(),
        ));
    }
    for i in 0..50_u64 {
        let wait = 20 + i;
        let text = swap(
            &gemini,
            "\"retryDelay\":\"7s\"",
            &format!("\"retryDelay\":\"{wait}s\""),
        );
        let text = swap(&text, "max_retry_after: 60s", "max_retry_after: 120s");
        let text = swap(&text, "elapsed_min: 7s", &format!("elapsed_min: {wait}s"));
        let text = swap(
            &text,
            "elapsed_max: 7100ms",
            &format!("elapsed_max: {wait}100ms"),
        );
        let text = swap(
            &text,
            "name: 'Gemini 429",
            &format!("name: 'bench {i} Gemini 429"),
        );
        scenarios.push((
            Scenario::parse(&text, &gemini_file).unwrap(),
            gemini_file.clone(),
        ));
    }
    scenarios
}

/// Runs every scenario, checks it passed, and returns the summed virtual time.
fn run_all(scenarios: &[(Scenario, PathBuf)]) -> Duration {
    let mut total = Duration::ZERO;
    for (scenario, file) in scenarios {
        let report = run_scenario(scenario, file).unwrap();
        assert!(report.passed, "{}: {:?}", report.name, report.failures);
        total += report.virtual_elapsed;
    }
    total
}

fn scenarios(c: &mut Criterion) {
    let scenarios = build();
    assert_eq!(scenarios.len(), 100);
    let wall = std::time::Instant::now();
    let virtual_total = run_all(&scenarios);
    let wall = wall.elapsed();
    assert!(
        virtual_total > Duration::from_secs(3_600),
        "the 100 scenarios take only {virtual_total:?} of virtual time"
    );
    eprintln!(
        "scenarios: 100 scenarios, {:.1} s of virtual time in total ({:.3} s of wall time, setup run)",
        virtual_total.as_secs_f64(),
        wall.as_secs_f64()
    );

    let mut group = c.benchmark_group("scenarios");
    group.sample_size(10);
    group.bench_function("llmvcr", |b| b.iter(|| run_all(&scenarios)));
    group.finish();
}

criterion_group!(benches, scenarios);
criterion_main!(benches);
