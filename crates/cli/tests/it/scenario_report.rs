//! The JSON report of `llmvcr scenario run` against `scenarios/report.schema.json`,
//! and the `--repeat` and `--cassettes` flags.

use std::collections::BTreeSet;
use std::path::PathBuf;

use serde_json::Value;

use crate::support::llmvcr;

fn root() -> PathBuf {
    crate::support::repo("")
}

fn schema() -> Value {
    let text = std::fs::read_to_string(root().join("scenarios/report.schema.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// The JSON report of the whole shipped suite, as `--report json` prints it.
fn suite_report() -> Value {
    let out = llmvcr()
        .current_dir(root())
        .args(["scenario", "run", "--report", "json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn errors(validator: &jsonschema::Validator, instance: &Value) -> Vec<String> {
    validator
        .iter_errors(instance)
        .map(|e| format!("{} at {}", e, e.instance_path))
        .collect()
}

fn keys(value: &Value) -> BTreeSet<String> {
    value.as_object().unwrap().keys().cloned().collect()
}

fn listed(schema: &Value, def: &str) -> BTreeSet<String> {
    keys(&schema["$defs"][def]["properties"])
}

#[test]
fn the_whole_suite_report_validates_against_the_schema_and_bad_ones_do_not() {
    let schema = schema();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let report = suite_report();
    assert!(report["scenarios"].as_array().unwrap().len() >= 40);
    let problems = errors(&validator, &report);
    assert!(problems.is_empty(), "{problems:#?}");

    // The schema is strict: a duration written as a string, an unknown field, a
    // missing call number are all refused.
    let mut bad = report.clone();
    bad["scenarios"][0]["log"][0]["wait_ms"] = Value::from("2159278162ns");
    assert!(!validator.is_valid(&bad));
    let mut bad = report.clone();
    bad["scenarios"][0]["virtual_elapsed"] = Value::from(1.0);
    assert!(!validator.is_valid(&bad));
    let mut bad = report;
    bad["scenarios"][0]["log"][0]
        .as_object_mut()
        .unwrap()
        .remove("call");
    assert!(!validator.is_valid(&bad));
}

#[test]
fn the_schema_lists_exactly_the_fields_the_report_emits() {
    let schema = schema();
    let report = suite_report();
    assert_eq!(keys(&report), keys(&schema["properties"]));
    let scenarios = report["scenarios"].as_array().unwrap();
    let mut log_fields = BTreeSet::new();
    let mut log_outcomes = BTreeSet::new();
    for scenario in scenarios {
        // Every field of a report, of the ledger and of a call is always emitted.
        assert_eq!(
            keys(scenario),
            listed(&schema, "report"),
            "{}",
            scenario["name"]
        );
        assert_eq!(
            keys(&scenario["ledger"]),
            keys(&schema["$defs"]["report"]["properties"]["ledger"]["properties"])
        );
        for call in scenario["calls"].as_array().unwrap() {
            assert_eq!(keys(call), listed(&schema, "call"));
        }
        for entry in scenario["log"].as_array().unwrap() {
            log_fields.extend(keys(entry));
            log_outcomes.insert(entry["outcome"].as_str().unwrap().to_owned());
        }
    }
    // Log entries carry optional fields by outcome; over the suite, each one the
    // schema lists is emitted somewhere, and nothing else is.
    assert_eq!(log_fields, listed(&schema, "log_entry"));
    let enumerated: BTreeSet<String> =
        schema["$defs"]["log_entry"]["properties"]["outcome"]["enum"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_owned())
            .collect();
    assert!(log_outcomes.is_subset(&enumerated), "{log_outcomes:?}");
    // Every duration field is a number of milliseconds, named `_ms`.
    let all = scenarios
        .iter()
        .flat_map(|s| s["log"].as_array().unwrap())
        .flat_map(|e| e.as_object().unwrap().iter());
    for (key, value) in all {
        if key.ends_with("_ms") {
            assert!(value.is_number(), "{key}: {value}");
        } else {
            assert!(
                !value.as_str().is_some_and(|s| s.ends_with("ns")),
                "{key}: {value}"
            );
        }
    }
}

#[test]
fn repeat_runs_each_scenario_n_times_and_the_report_says_so() {
    let out = llmvcr()
        .current_dir(root())
        .args([
            "scenario",
            "run",
            "scenarios/full_jitter_seeded.yaml",
            "scenarios/openai_429_retry_after_http_date.yaml",
            "--repeat",
            "3",
            "--report",
            "json",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["scenarios"][0]["runs"], 3);
    assert_eq!(json["scenarios"][1]["runs"], 3);
    assert_eq!(json["scenarios"][1]["log"][1]["retry_after_ms"], 50_000.0);

    let out = llmvcr()
        .current_dir(root())
        .args(["scenario", "run", "--repeat", "0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "--repeat 0 is refused");
}

#[test]
fn cassettes_flag_adds_a_search_folder() {
    let dir = std::env::temp_dir().join(format!("llmvcr-cassettes-flag-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let text = std::fs::read_to_string(root().join("scenarios/openai_429_retry_after.yaml"))
        .unwrap()
        .replace(
            "cassettes/openai_capital_of_mexico.yaml",
            "openai_capital_of_mexico.yaml",
        );
    std::fs::write(dir.join("s.yaml"), text).unwrap();

    let without = llmvcr()
        .args(["scenario", "run"])
        .arg(dir.join("s.yaml"))
        .output()
        .unwrap();
    assert_eq!(without.status.code(), Some(1));
    let stdout = String::from_utf8(without.stdout).unwrap();
    assert!(
        stdout.contains("targets[0].cassette: no cassette `openai_capital_of_mexico.yaml`"),
        "{stdout}"
    );

    let with = llmvcr()
        .args(["scenario", "run", "--cassettes"])
        .arg(root().join("scenarios/cassettes"))
        .arg(dir.join("s.yaml"))
        .output()
        .unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(
        with.status.success(),
        "{}",
        String::from_utf8_lossy(&with.stdout)
    );
}
