//! The `llmvcr` binary, run as a user runs it.

use std::path::{Path, PathBuf};

use crate::support::{TOOL_STREAM, llmvcr};

fn real(rel: &str) -> PathBuf {
    crate::support::repo("cassettes/real").join(rel)
}

#[test]
fn inspect_json_prints_one_object_per_interaction() {
    let out = llmvcr()
        .args(["cassette", "inspect", "--format", "json"])
        .arg(real(TOOL_STREAM))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 1);
    let row = &lines[0];
    let keys: Vec<&str> = row
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "file",
            "index",
            "method",
            "url",
            "status",
            "provider",
            "api",
            "stream",
            "model",
            "text",
            "tool_calls",
            "usage",
            "finish_reason",
            "error"
        ]
    );
    assert_eq!(row["provider"], "anthropic");
    assert_eq!(row["api"], "messages");
    assert_eq!(row["stream"], true);
    assert_eq!(row["tool_calls"][0]["name"], "pelican_name_generator");
    assert_eq!(row["finish_reason"], "tool_use");
    assert_eq!(row["usage"]["input_tokens"], 543);
    assert!(row["error"].is_null());
}

#[test]
fn an_unreadable_file_is_reported_and_the_others_still_run() {
    let dir = std::env::temp_dir().join(format!("llmvcr-cli-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("broken.yaml");
    std::fs::write(&bad, "interactions:\n- request: [unclosed\n").unwrap();
    let missing = dir.join("missing.yaml");
    let out = llmvcr()
        .args(["cassette", "inspect", "--format", "json"])
        .arg(&bad)
        .arg(&missing)
        .arg(real(TOOL_STREAM))
        .output()
        .unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("broken.yaml"), "{stderr}");
    assert!(stderr.contains("missing.yaml"), "{stderr}");
    assert_eq!(stderr.lines().count(), 2, "{stderr}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(stdout.lines().count(), 1);
    assert!(!stdout.contains("panicked"));
}

#[test]
fn inspect_table_reads_a_folder() {
    let out = llmvcr()
        .args(["cassette", "inspect"])
        .arg(real("groq"))
        .output()
        .unwrap();
    assert!(out.status.success());
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.contains("provider"), "{stdout}");
    // One row per interaction: five Groq recordings.
    let rows = stdout.lines().filter(|l| l.contains(" 200  groq")).count();
    assert_eq!(rows, 5, "{stdout}");
}

#[test]
fn scenario_run_prints_a_table_writes_a_report_and_exits_by_result() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let report = std::env::temp_dir().join(format!("llmvcr-report-{}.json", std::process::id()));
    let out = llmvcr()
        .current_dir(&root)
        .args([
            "scenario",
            "run",
            "scenarios/openai_429_retry_after.yaml",
            "--report-file",
        ])
        .arg(&report)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.contains("openai_429_retry_after"), "{stdout}");
    assert!(stdout.contains("20.0s"), "{stdout}");
    assert!(stdout.contains("1 passed, 0 failed"), "{stdout}");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    std::fs::remove_file(&report).unwrap();
    assert_eq!(json["passed"], true);
    assert_eq!(json["scenarios"][0]["served_by"], "primary");

    // `--report json` puts the JSON on stdout and the table on stderr.
    let out = llmvcr()
        .current_dir(&root)
        .args([
            "scenario",
            "run",
            "scenarios/openai_429_retry_after.yaml",
            "--report",
            "json",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["scenarios"][0]["attempts"]["primary"], 2);
    assert!(String::from_utf8(out.stderr).unwrap().contains("1 passed"));

    // A scenario whose expectation does not hold fails the run and says why.
    let dir = std::env::temp_dir().join(format!("llmvcr-scenario-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let original =
        std::fs::read_to_string(root.join("scenarios/openai_429_retry_after.yaml")).unwrap();
    let wrong = original
        .replace("attempts: { primary: 2 }", "attempts: { primary: 5 }")
        .replace(
            "cassettes/",
            &format!("{}/scenarios/cassettes/", root.display()),
        );
    std::fs::write(dir.join("wrong.yaml"), wrong).unwrap();
    let out = llmvcr()
        .args(["scenario", "run"])
        .arg(&dir)
        .output()
        .unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.contains("FAIL"), "{stdout}");
    assert!(
        stdout.contains("attempts.primary: expected 5, got 2"),
        "{stdout}"
    );
}
