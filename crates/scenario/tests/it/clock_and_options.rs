//! The virtual clock behind HTTP-date retry-afters, repeated runs, the per-call and
//! per-target expectations, and where cassettes are looked up.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::scenarios_dir;
use llmvcr_scenario::{
    RunOptions, Scenario, ScenarioError, run_file, run_scenario, run_scenario_with,
};

fn http_date_file() -> PathBuf {
    scenarios_dir().join("openai_429_retry_after_http_date.yaml")
}

#[test]
fn an_http_date_retry_after_waits_the_same_on_every_run() {
    let first = run_file(&http_date_file()).unwrap();
    let second = run_file(&http_date_file()).unwrap();
    assert!(first.passed, "{:?}", first.failures);
    assert_eq!(first.runs, 2, "deterministic: true runs it twice");

    // Date of the fault = epoch + 10s (the gap); retry-after = epoch + 60s.
    let failed = first.log.iter().find(|e| e.outcome == "failed").unwrap();
    assert_eq!(failed.call, 2);
    assert_eq!(failed.at, Duration::from_secs(10));
    assert_eq!(failed.retry_after, Some(Duration::from_secs(50)));
    assert_eq!(failed.wait, Duration::from_secs(50));
    assert_eq!(first.virtual_elapsed, Duration::from_secs(60));
    let retried = first.log.last().unwrap();
    assert_eq!((retried.call, retried.attempt), (2, 2));
    assert_eq!(retried.at, Duration::from_secs(60));

    let a = serde_json::to_value(&first).unwrap();
    let b = serde_json::to_value(&second).unwrap();
    assert_eq!(a, b, "two runs give the same report");
    assert_eq!(a["log"][1]["retry_after_ms"], 50_000.0);
    assert_eq!(a["log"][1]["virtual_ms"], 10_000.0);
    assert_eq!(a["elapsed_ms"], 60_000.0);
}

#[test]
fn the_wait_is_measured_against_the_virtual_date_not_the_wall_clock() {
    let mut scenario = Scenario::load(&http_date_file()).unwrap();
    // Starting the clock 30s later leaves 20s until the retry-after date.
    scenario.epoch = Some("Thu, 01 Jan 2026 00:00:30 GMT".into());
    scenario.expect.elapsed_min = None;
    scenario.expect.elapsed_max = None;
    let report = run_scenario(&scenario, &http_date_file()).unwrap();
    assert!(report.passed, "{:?}", report.failures);
    let failed = report.log.iter().find(|e| e.outcome == "failed").unwrap();
    assert_eq!(failed.retry_after, Some(Duration::from_secs(20)));
    assert_eq!(report.virtual_elapsed, Duration::from_secs(30));

    // An epoch past the retry-after date: the date is already gone, no wait beyond
    // the backoff (500ms, jitter none).
    scenario.epoch = Some("Fri, 02 Jan 2026 00:00:00 GMT".into());
    let report = run_scenario(&scenario, &http_date_file()).unwrap();
    let failed = report.log.iter().find(|e| e.outcome == "failed").unwrap();
    assert_eq!(failed.retry_after, Some(Duration::ZERO));
    assert_eq!(failed.wait, Duration::from_millis(500));
}

#[test]
fn a_bad_epoch_names_the_field() {
    let text = std::fs::read_to_string(http_date_file())
        .unwrap()
        .replace("epoch: Thu, 01 Jan 2026 00:00:00 GMT", "epoch: yesterday");
    let err = Scenario::parse(&text, Path::new("scenarios/e.yaml")).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("scenarios/e.yaml: epoch: `yesterday` is not an HTTP date"),
        "{err}"
    );
}

#[test]
fn repeat_runs_compare_reports_and_count_runs() {
    let file = scenarios_dir().join("full_jitter_seeded.yaml");
    let scenario = Scenario::load(&file).unwrap();
    let report = run_scenario_with(&scenario, &file, &RunOptions::new().repeat(4)).unwrap();
    assert!(report.passed, "{:?}", report.failures);
    assert_eq!(report.runs, 4);
    let once = run_scenario(&scenario, &file).unwrap();
    assert_eq!(once.runs, 1);
}

#[test]
fn per_call_attempts_and_per_target_cost_are_checked() {
    let mut scenario = Scenario::load(&http_date_file()).unwrap();
    scenario.expect.attempts_per_call[1].insert("primary".into(), 1);
    let range = scenario.expect.cost_by_target.get_mut("primary").unwrap();
    range.max_usd = Some(0.000_000_1);
    scenario.expect.deterministic = false;
    let report = run_scenario(&scenario, &http_date_file()).unwrap();
    assert!(!report.passed);
    assert_eq!(
        report.failures[0],
        "attempts_per_call[1].primary: expected 1 in call 2, got 2"
    );
    assert!(
        report.failures[1].starts_with(
            "cost_by_target.primary.max_usd: expected at most $0.000000, cost $0.000230"
        ),
        "{:?}",
        report.failures
    );
    assert_eq!(report.failures.len(), 2, "{:?}", report.failures);
    assert_eq!(report.calls.len(), 2);
    assert_eq!(report.calls[1].attempts["primary"], 2);
    assert_eq!(report.calls[1].started, Duration::from_secs(10));
    assert_eq!(report.calls[1].elapsed, Duration::from_secs(50));
}

#[test]
fn attempts_per_call_needs_one_map_per_call_and_known_targets() {
    let text = std::fs::read_to_string(http_date_file()).unwrap();
    let short = text.replace("    - { primary: 2 }\n", "");
    let err = Scenario::parse(&short, Path::new("s.yaml")).unwrap_err();
    assert_eq!(
        err.to_string(),
        "s.yaml: expect.attempts_per_call: 1 entries for 2 calls: give one map per call"
    );
    let unknown = text.replace("- { primary: 2 }", "- { backup: 2 }");
    let err = Scenario::parse(&unknown, Path::new("s.yaml")).unwrap_err();
    assert!(
        err.to_string()
            .contains("expect.attempts_per_call[1].backup: `backup` is not a target"),
        "{err}"
    );
    let cost = text.replace("    primary: { min_usd", "    nobody: { min_usd");
    let err = Scenario::parse(&cost, Path::new("s.yaml")).unwrap_err();
    assert!(
        err.to_string().contains("expect.cost_by_target.nobody"),
        "{err}"
    );
}

/// A scenario file written into a fresh folder, with its cassette path as given.
fn scenario_in(dir: &Path, cassette: &str) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let text = std::fs::read_to_string(scenarios_dir().join("openai_429_retry_after.yaml"))
        .unwrap()
        .replace("cassettes/openai_capital_of_mexico.yaml", cassette);
    let file = dir.join("s.yaml");
    std::fs::write(&file, text).unwrap();
    file
}

fn temp(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("llmvcr-scenario-{name}-{}", std::process::id()))
}

#[test]
fn cassettes_are_found_next_to_the_file_then_in_search_folders_then_at_the_root() {
    let root = temp("root");
    let _ = std::fs::remove_dir_all(&root);
    let shipped = scenarios_dir().join("cassettes/openai_capital_of_mexico.yaml");

    // Relative to the project root (here set explicitly).
    std::fs::create_dir_all(root.join("recordings")).unwrap();
    std::fs::copy(&shipped, root.join("recordings/a.yaml")).unwrap();
    let file = scenario_in(&root.join("deep/scenarios"), "recordings/a.yaml");
    let scenario = Scenario::load(&file).unwrap();
    let options = RunOptions::new().project_root(&root);
    let report = run_scenario_with(&scenario, &file, &options).unwrap();
    assert!(report.passed, "{:?}", report.failures);

    // Not found anywhere: the error lists every place looked at, in order.
    let err = run_scenario(&scenario, &file).unwrap_err();
    assert!(matches!(err, ScenarioError::Setup { .. }));
    let message = err.to_string();
    assert!(
        message.contains("targets[0].cassette: no cassette `recordings/a.yaml`; looked at "),
        "{message}"
    );
    assert!(
        message.contains("deep/scenarios/recordings/a.yaml"),
        "{message}"
    );

    // In a search folder.
    let search = root.join("search");
    std::fs::create_dir_all(search.join("recordings")).unwrap();
    std::fs::write(search.join("recordings/a.yaml"), "not a cassette").unwrap();
    let options = RunOptions::new().cassette_dir(&search).project_root(&root);
    // The search folder comes before the project root: its (broken) copy is used.
    let err = run_scenario_with(&scenario, &file, &options).unwrap_err();
    assert!(err.to_string().contains("targets[0].cassette"), "{err}");

    // Next to the scenario file wins over both.
    std::fs::create_dir_all(root.join("deep/scenarios/recordings")).unwrap();
    std::fs::copy(&shipped, root.join("deep/scenarios/recordings/a.yaml")).unwrap();
    let report = run_scenario_with(&scenario, &file, &options).unwrap();
    assert!(report.passed, "{:?}", report.failures);
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn without_a_set_root_the_project_root_is_the_nearest_git_folder() {
    // This repository's root holds `.git`: `scenarios/cassettes/...` resolves from it
    // for a scenario file anywhere below it.
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/nested/s.yaml");
    let mut scenario =
        Scenario::load(&scenarios_dir().join("openai_429_retry_after.yaml")).unwrap();
    scenario.targets[0].cassette =
        PathBuf::from("scenarios/cassettes/openai_capital_of_mexico.yaml");
    let report = run_scenario(&scenario, &file).unwrap();
    assert!(report.passed, "{:?}", report.failures);
}

#[test]
fn an_azure_target_needs_a_base_url() {
    let text = r"
name: az
request: { model: any, messages: [{ role: user, content: hi }] }
targets:
  - { name: az, provider: azure, model: gpt-4o, cassette: x.yaml }
expect: { outcome: success }
";
    let err = Scenario::parse(text, Path::new("a.yaml")).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("a.yaml: targets[0].base_url: an `azure` target needs `base_url`"),
        "{err}"
    );
    let bad = text.replace("cassette: x.yaml", "cassette: x.yaml, base_url: not a url");
    let err = Scenario::parse(&bad, Path::new("a.yaml")).unwrap_err();
    assert_eq!(
        err.to_string(),
        "a.yaml: targets[0].base_url: `not a url` is not a URL"
    );
}

#[test]
fn every_provider_has_a_shipped_cassette_and_a_passing_scenario() {
    let providers = [
        "openai",
        "anthropic",
        "gemini",
        "openrouter",
        "groq",
        "mistral",
        "azure",
        "ollama",
    ];
    let mut served = std::collections::BTreeSet::new();
    for file in llmvcr_scenario::scenario_files(&scenarios_dir()).unwrap() {
        let scenario = Scenario::load(&file).unwrap();
        let report = run_scenario(&scenario, &file).unwrap();
        assert!(report.passed, "{}: {:?}", file.display(), report.failures);
        for target in &scenario.targets {
            if report.attempts[&target.name] > 0 {
                served.insert(target.provider.clone());
            }
        }
    }
    for provider in providers {
        assert!(
            served.contains(provider),
            "no passing scenario reaches {provider}"
        );
    }

    // The cassettes README has a row for every shipped cassette.
    let readme = std::fs::read_to_string(scenarios_dir().join("cassettes/README.md")).unwrap();
    for entry in std::fs::read_dir(scenarios_dir().join("cassettes")).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        if name.ends_with(".yaml") {
            assert!(
                readme.contains(&format!("| `{name}` |")),
                "{name} is not in the table"
            );
        }
    }
}
