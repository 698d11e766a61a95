#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Bad input gives an `ImportError` that names the file, the interaction,
//! the field and, where known, the line and column.

use llmvcr_cassette::{
    ImportError, import::parse_vcr_json, import::parse_vcrpy, import::read_any, import::read_vcrpy,
};

const GOOD_INTERACTION: &str = "\
- request:
    body: null
    headers: {}
    method: GET
    uri: https://api.example.com/ok
  response:
    body: {string: ok}
    headers: {}
    status: {code: 200, message: OK}
";

/// A cassette whose second interaction (starting on line 11) is `second`.
fn with_second(second: &str) -> String {
    format!("interactions:\n{GOOD_INTERACTION}{second}version: 1\n")
}

fn vcrpy_err(text: &str) -> ImportError {
    parse_vcrpy(text, "bad.yaml").unwrap_err()
}

#[test]
fn yaml_syntax_error_has_line_and_column() {
    let err = vcrpy_err("interactions:\n- request:\n    uri: [unclosed\n  response: {}\n");
    assert!(matches!(err, ImportError::Syntax { .. }), "{err:?}");
    assert_eq!(err.file(), "bad.yaml");
    let (line, column) = (err.line().unwrap(), err.column().unwrap());
    assert!(line >= 3, "line {line}");
    let message = err.to_string();
    assert!(
        message.starts_with(&format!("bad.yaml:{line}:{column}: invalid YAML: ")),
        "{message}"
    );

    let err = vcrpy_err("interactions:\n- request: {a: 1}\n\tresponse: {}\n");
    assert_eq!(err.line(), Some(3), "{err}");
}

#[test]
fn missing_interactions_key() {
    let err = vcrpy_err("version: 1\n");
    assert!(matches!(err, ImportError::Missing { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        "bad.yaml: interactions: required field is missing"
    );
    assert_eq!(err.interaction(), None);
    assert!(
        vcrpy_err("")
            .to_string()
            .contains("interactions: required field is missing")
    );

    let err = vcrpy_err("interactions: {a: 1}\n");
    assert_eq!(
        err.to_string(),
        "bad.yaml: interactions: expected a list, found a mapping"
    );
    let err = vcrpy_err("just text\n");
    assert!(
        err.to_string().contains("found a string (\"just text\")"),
        "{err}"
    );
}

#[test]
fn missing_request_names_interaction_and_line() {
    let err = vcrpy_err(&with_second("- response:\n    status: 200\n"));
    assert!(matches!(err, ImportError::Missing { .. }), "{err:?}");
    assert_eq!(err.interaction(), Some(1));
    assert_eq!(err.line(), Some(11));
    assert_eq!(
        err.to_string(),
        "bad.yaml:11: interactions[1].request: required field is missing"
    );
}

#[test]
fn missing_response_uri_and_method() {
    let err = vcrpy_err(&with_second(
        "- request:\n    method: GET\n    uri: http://x/\n",
    ));
    assert_eq!(
        err.to_string(),
        "bad.yaml:11: interactions[1].response: required field is missing"
    );

    let err = vcrpy_err(&with_second(
        "- request:\n    method: GET\n  response:\n    status: 200\n",
    ));
    assert_eq!(
        err.to_string(),
        "bad.yaml:11: interactions[1].request.uri: required field is missing"
    );

    let err = vcrpy_err(&with_second(
        "- request:\n    uri: http://x/\n  response:\n    status: 200\n",
    ));
    assert_eq!(
        err.to_string(),
        "bad.yaml:11: interactions[1].request.method: required field is missing"
    );

    let err = vcrpy_err(&with_second(
        "- request:\n    method: [GET]\n    uri: http://x/\n  response:\n    status: 200\n",
    ));
    assert_eq!(
        err.to_string(),
        "bad.yaml:11: interactions[1].request.method: expected a string, found a list"
    );

    let err = vcrpy_err("interactions:\n- 5\n");
    assert_eq!(
        err.to_string(),
        "bad.yaml:2: interactions[0]: expected a mapping with `request` and `response`, found a number (5)"
    );
}

#[test]
fn non_integer_status() {
    let request = "- request:\n    method: GET\n    uri: http://x/\n  response:\n";
    let cases = [
        (
            "    status: {code: abc, message: OK}\n",
            "interactions[1].response.status.code: expected an integer HTTP status from 100 to 999, found a string (\"abc\")",
        ),
        (
            "    status: '200'\n",
            "interactions[1].response.status: expected an integer HTTP status from 100 to 999, found a string (\"200\")",
        ),
        (
            "    status: 200.5\n",
            "interactions[1].response.status: expected an integer HTTP status from 100 to 999, found a number (200.5)",
        ),
        (
            "    status: 42\n",
            "interactions[1].response.status: expected an integer HTTP status from 100 to 999, found a number (42)",
        ),
        (
            "    status: 70000\n",
            "interactions[1].response.status: expected an integer HTTP status from 100 to 999, found a number (70000)",
        ),
        (
            "    status: {message: OK}\n",
            "interactions[1].response.status.code: required field is missing",
        ),
        (
            "    headers: {}\n",
            "interactions[1].response.status: required field is missing",
        ),
    ];
    for (response, expected) in cases {
        let err = vcrpy_err(&with_second(&format!("{request}{response}")));
        assert_eq!(err.to_string(), format!("bad.yaml:11: {expected}"));
        assert_eq!(err.interaction(), Some(1));
    }
}

#[test]
fn bad_headers() {
    let err = vcrpy_err(&with_second(
        "- request:\n    method: GET\n    uri: http://x/\n    headers: [a, b]\n  response:\n    status: 200\n",
    ));
    assert_eq!(
        err.to_string(),
        "bad.yaml:11: interactions[1].request.headers: expected a mapping of header names to values, found a list"
    );
    let err = vcrpy_err(&with_second(
        "- request:\n    method: GET\n    uri: http://x/\n  response:\n    status: 200\n    headers:\n      X-A:\n      - {nested: map}\n",
    ));
    assert_eq!(
        err.to_string(),
        "bad.yaml:11: interactions[1].response.headers.X-A: expected a header value, found a mapping"
    );
}

#[test]
fn bad_base64() {
    let err = vcrpy_err(&with_second(
        "- request:\n    method: GET\n    uri: http://x/\n  response:\n    status: 200\n    body:\n      string: !!binary |\n        not*base64\n",
    ));
    assert!(matches!(err, ImportError::Base64 { .. }), "{err:?}");
    assert!(
        err.to_string()
            .starts_with("bad.yaml:11: interactions[1].response.body.string: invalid base64: "),
        "{err}"
    );
    assert!(std::error::Error::source(&err).is_some());
}

#[test]
fn bad_gzip() {
    // The gzip magic bytes followed by bytes that are not a gzip stream.
    // (Bytes without the magic are taken as already decoded.)
    let err = vcrpy_err(&with_second(
        "- request:\n    method: GET\n    uri: http://x/\n  response:\n    status: 200\n    headers:\n      Content-Encoding:\n      - gzip\n    body:\n      string: !!binary |\n        H4sIAAAAAAAAA////w==\n",
    ));
    assert!(matches!(err, ImportError::Decompress { .. }), "{err:?}");
    assert!(
        err.to_string()
            .starts_with("bad.yaml:11: interactions[1].response.body: cannot decode gzip body: "),
        "{err}"
    );

    // A truncated gzip stream (header only) is an error too.
    let err = vcrpy_err(&with_second(
        "- request:\n    method: GET\n    uri: http://x/\n  response:\n    status: 200\n    headers:\n      content-encoding: gzip\n    body:\n      string: !!binary H4sIAAAAAAAAA0s=\n",
    ));
    assert!(matches!(err, ImportError::Decompress { .. }), "{err:?}");
}

#[test]
fn json_errors() {
    let err =
        parse_vcr_json("{\n  \"http_interactions\": [\n    {,}\n  ]\n}", "bad.json").unwrap_err();
    assert!(matches!(err, ImportError::Syntax { .. }), "{err:?}");
    assert_eq!((err.line(), err.column()), (Some(3), Some(6)));
    assert_eq!(
        err.to_string(),
        "bad.json:3:6: invalid JSON: key must be a string"
    );

    let err = parse_vcr_json(r#"{"recorded_with": "x"}"#, "bad.json").unwrap_err();
    assert_eq!(
        err.to_string(),
        "bad.json: http_interactions: required field is missing"
    );

    let err = parse_vcr_json(
        r#"{"http_interactions": [{"request": {"method": "get"}, "response": {"status": 200}}]}"#,
        "bad.json",
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "bad.json: http_interactions[0].request.uri: required field is missing"
    );
    assert_eq!(err.interaction(), Some(0));

    let err = parse_vcr_json(
        r#"{"http_interactions": [{"request": {"method": "get", "uri": "http://x/"},
            "response": {"status": {"code": "200"}}}]}"#,
        "bad.json",
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "bad.json: http_interactions[0].response.status.code: expected an integer HTTP status from 100 to 999, found a string (\"200\")"
    );

    let err = parse_vcr_json(
        r#"{"http_interactions": [{"request": {"method": "get", "uri": "http://x/"},
            "response": {"status": 200, "body": {"base64_string": "%%%"}}}]}"#,
        "bad.json",
    )
    .unwrap_err();
    assert!(
        err.to_string().starts_with(
            "bad.json: http_interactions[0].response.body.base64_string: invalid base64"
        ),
        "{err}"
    );

    let err = parse_vcr_json(
        r#"{"http_interactions": [{"request": {"method": "get", "uri": "http://x/"},
            "response": {"status": 200, "headers": {"Content-Encoding": ["gzip"]},
                         "body": {"base64_string": "H4sIAAAAAAAAA////w=="}}}]}"#,
        "bad.json",
    )
    .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("bad.json: http_interactions[0].response.body: cannot decode gzip body"),
        "{err}"
    );
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    // Far beyond both parsers' recursion limits (128). yaml_serde's scanner
    // slows down with flow depth, so the YAML case stays moderate.
    let very_deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    assert!(parse_vcr_json(&very_deep, "deep.json").is_err());
    let deep = format!("{}{}", "[".repeat(2_000), "]".repeat(2_000));
    assert!(parse_vcrpy(&deep, "deep.yaml").is_err());
    let body = format!(
        "interactions:\n- request:\n    method: GET\n    uri: http://x/\n    parsed_body: {}\n  response:\n    status: 200\n",
        deep
    );
    assert!(parse_vcrpy(&body, "deep.yaml").is_err());
}

#[test]
fn unreadable_files_name_the_path() {
    let missing = std::path::Path::new("/nonexistent/dir/cassette.yaml");
    let err = read_vcrpy(missing).unwrap_err();
    assert!(matches!(err, ImportError::Io { .. }), "{err:?}");
    assert_eq!(err.file(), "/nonexistent/dir/cassette.yaml");
    assert!(
        err.to_string()
            .starts_with("/nonexistent/dir/cassette.yaml: cannot read cassette: "),
        "{err}"
    );

    let dir = std::env::temp_dir().join(format!("llmvcr-cassette-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let latin1 = dir.join("latin1.yaml");
    std::fs::write(&latin1, b"interactions: []\n# caf\xe9\n").unwrap();
    let err = read_any(&latin1).unwrap_err();
    assert!(err.to_string().contains("not valid UTF-8"), "{err}");
    assert!(err.to_string().contains("latin1.yaml"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}
