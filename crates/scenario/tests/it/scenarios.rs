//! Runs every shipped scenario in `scenarios/`, and checks how failures and bad
//! files are reported.

use std::path::{Path, PathBuf};

use crate::scenarios_dir;
use llmvcr_scenario::{Scenario, ScenarioError, run_file, run_paths, run_scenario};

#[test]
fn every_shipped_scenario_passes() {
    let results = run_paths(&[scenarios_dir()]);
    assert!(results.len() >= 25, "only {} scenarios", results.len());
    let mut problems = Vec::new();
    for result in results {
        match result {
            Ok(report) if report.passed => {}
            Ok(report) => problems.push(format!(
                "{} ({}): {}\n  log: {:?}\n  faults: {:?}",
                report.name,
                report.file.display(),
                report.failures.join("; "),
                report.log,
                report.faults
            )),
            Err(e) => problems.push(e.to_string()),
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_429_scenario_reports_what_happened() {
    let report = run_file(&scenarios_dir().join("openai_429_retry_after.yaml")).unwrap();
    assert!(report.passed, "{:?}", report.failures);
    assert_eq!(report.outcome, "success");
    assert_eq!(report.served_by.as_deref(), Some("primary"));
    assert_eq!(report.attempts["primary"], 2);
    assert!(report.virtual_elapsed >= std::time::Duration::from_secs(20));
    assert_eq!(report.text, "The capital of Mexico is Mexico City.");
    assert!(report.cost_usd > 0.0);
    assert_eq!(report.faults.len(), 1);
}

#[test]
fn a_wrong_expectation_fails_naming_it_and_what_happened() {
    let file = scenarios_dir().join("openai_insufficient_quota_fallback.yaml");
    let mut scenario = Scenario::load(&file).unwrap();
    scenario.expect.served_by = Some("primary".into());
    scenario.expect.attempts.insert("primary".into(), 3);
    scenario.expect.outcome = "rate_limited".into();
    let report = run_scenario(&scenario, &file).unwrap();
    assert!(!report.passed);
    let failures = report.failures.join("\n");
    assert!(
        failures.contains("served_by: expected `primary`, got `backup`"),
        "{failures}"
    );
    assert!(
        failures.contains("attempts.primary: expected 3, got 1"),
        "{failures}"
    );
    assert!(
        failures.contains("outcome: expected `rate_limited`, got `success`"),
        "{failures}"
    );
    assert_eq!(report.failures.len(), 3, "{failures}");
}

#[test]
fn a_bad_file_names_the_file_and_the_field() {
    let file = Path::new("scenarios/bad.yaml");
    let text = r#"
name: bad
request: { model: any, messages: [{ role: user, content: hi }] }
targets:
  - name: primary
    provider: openai
    modle: gpt-4o
    cassette: x.yaml
expect: { outcome: success }
"#;
    let err = Scenario::parse(text, file).unwrap_err();
    assert!(matches!(err, ScenarioError::Parse { .. }), "{err:?}");
    let message = err.to_string();
    assert!(message.starts_with("scenarios/bad.yaml: "), "{message}");
    assert!(message.contains("targets[0]"), "{message}");
    assert!(message.contains("modle"), "{message}");

    let text = text.replace("modle", "model").replace("openai", "openia");
    let err = Scenario::parse(&text, file).unwrap_err();
    assert_eq!(
        err.to_string(),
        "scenarios/bad.yaml: targets[0].provider: unknown provider `openia`"
    );

    let text = r#"
name: bad
request: { model: any, messages: [{ role: user, content: hi }] }
targets: [{ name: a, provider: openai, model: gpt-4o, cassette: x.yaml }]
expect: { outcome: success, elapsed_max: 3 parsecs }
"#;
    let message = Scenario::parse(text, file).unwrap_err().to_string();
    assert!(message.contains("expect.elapsed_max"), "{message}");
}

#[test]
fn fault_templates_expand_and_bad_ones_name_the_field() {
    let file = Path::new("scenarios/t.yaml");
    let base = r#"
name: t
request: { model: any, messages: [{ role: user, content: hi }] }
targets: [{ name: a, provider: openai, model: gpt-4o, cassette: x.yaml }]
faults:
  rules:
    - when: { target: a }
      fault: FAULT
expect: { outcome: success }
"#;
    let ok = Scenario::parse(
        &base.replace(
            "FAULT",
            "{ template: gemini_resource_exhausted, retry_after: 7s }",
        ),
        file,
    )
    .unwrap();
    let fault = serde_json::to_value(&ok.faults.rules[0].fault).unwrap();
    assert_eq!(fault["kind"], "status");
    assert_eq!(fault["status"], 429);
    assert!(
        fault["body"]
            .as_str()
            .unwrap()
            .contains("\"retryDelay\":\"7s\""),
        "{fault}"
    );

    let err = Scenario::parse(&base.replace("FAULT", "{ template: openai_teapot }"), file)
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with(
            "scenarios/t.yaml: faults.rules[0].fault.template: unknown template `openai_teapot`"
        ),
        "{err}"
    );
    let err = Scenario::parse(
        &base.replace(
            "FAULT",
            "{ template: openai_insufficient_quota, retry_after: 5s }",
        ),
        file,
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("faults.rules[0].fault.retry_after"), "{err}");
}

#[test]
fn a_missing_cassette_names_the_target_field() {
    let file = scenarios_dir().join("budget_refuses_call.yaml");
    let mut scenario = Scenario::load(&file).unwrap();
    scenario.targets[0].cassette = PathBuf::from("cassettes/does_not_exist.yaml");
    let err = run_scenario(&scenario, &file).unwrap_err();
    assert!(matches!(err, ScenarioError::Setup { .. }), "{err:?}");
    assert!(err.to_string().contains("targets[0].cassette"), "{err}");
}

#[test]
fn the_documented_example_runs_as_documented() {
    let docs = include_str!("../../src/lib.rs");
    let start = docs.find("//! ```yaml\n").unwrap() + "//! ```yaml\n".len();
    let end = start + docs[start..].find("//! ```\n").unwrap();
    let yaml: String = docs[start..end]
        .lines()
        .map(|l| {
            l.strip_prefix("//! ")
                .or(l.strip_prefix("//!"))
                .unwrap_or(l)
        })
        .collect::<Vec<_>>()
        .join("\n");
    let file = scenarios_dir().join("documented_example.yaml");
    let scenario = Scenario::parse(&yaml, &file).unwrap();
    let report = run_scenario(&scenario, &file).unwrap();
    assert!(report.passed, "{:?}\n{:?}", report.failures, report.log);
}

#[test]
fn calls_repeat_the_request_and_count_attempts_over_all_calls() {
    let report = run_file(&scenarios_dir().join("breaker_open_half_open_close.yaml")).unwrap();
    assert!(report.passed, "{:?}", report.failures);
    assert_eq!(report.attempts["primary"], 3);
    assert_eq!(report.attempts["backup"], 2);
    assert_eq!(report.served_by.as_deref(), Some("primary"));
    assert!(report.virtual_elapsed >= std::time::Duration::from_secs(41));
}

#[test]
fn zero_calls_is_invalid() {
    let text = r"
name: none
request: { model: any, messages: [{ role: user, content: hi }] }
targets:
  - { name: primary, provider: openai, model: gpt-4o, cassette: x.yaml }
calls: 0
expect: { outcome: success }
";
    let err = Scenario::parse(text, Path::new("scenarios/zero.yaml")).unwrap_err();
    assert!(err.to_string().contains("calls"), "{err}");
}

#[test]
fn the_ledger_total_is_the_sum_of_its_breakdowns_for_every_shipped_scenario() {
    use llmvcr_cost::Money;
    let mut priced = 0;
    for result in run_paths(&[scenarios_dir()]) {
        let report = result.unwrap();
        let ledger = &report.ledger.entries;
        let total = ledger.total().total();
        let by_target: Money = ledger.by_target().values().map(|c| c.total()).sum();
        let by_model: Money = ledger.by_model().values().map(|c| c.total()).sum();
        assert_eq!(total, by_target, "{}: by_target", report.name);
        assert_eq!(total, by_model, "{}: by_model", report.name);
        assert_eq!(report.cost_usd, total.as_usd(), "{}: cost_usd", report.name);
        assert_eq!(report.ledger.total_usd, report.cost_usd, "{}", report.name);
        let scenarios = ledger.by_scenario();
        assert!(
            ledger.is_empty() || scenarios.keys().eq([&Some(report.name.clone())]),
            "{}: {scenarios:?}",
            report.name
        );
        assert!(
            report
                .ledger
                .by_target
                .keys()
                .all(|t| report.attempts.contains_key(t))
        );
        if !ledger.is_empty() {
            priced += 1;
        }
    }
    assert!(priced > 0, "no scenario priced an attempt");
}
