#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Reading and writing format v1: errors with positions, stable output and
//! small diffs, atomic saves, and the write-then-read round trip.

use std::path::PathBuf;

use llmvcr_cassette::StoredBody as V1Body;
use llmvcr_cassette::{
    Cassette, CassetteError, Frame, HeaderList, Interaction, Redactor, Request, Response, Scanner,
    SecretRules, Stream, StreamFormat, convert::to_recorded, import::read_any, load, load_any,
    parse, read::is_v1, read_recorded, save, to_yaml,
};
use proptest::prelude::*;
use serde_json::{Value, json};

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("llmvcr-store-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn scanner() -> Scanner {
    let rules = SecretRules {
        key_prefixes: vec!["sk-".into()],
        ..SecretRules::generic()
    };
    Scanner::new(&rules, &Redactor::with_values(&rules, Vec::new()))
}

fn interaction(n: usize) -> Interaction {
    let mut request_headers = HeaderList::default();
    request_headers.append("content-type", "application/json");
    request_headers.append("authorization", "Bearer <REDACTED>");
    let mut response_headers = HeaderList::default();
    response_headers.append("content-type", "text/event-stream");
    response_headers.append("x-multi", "a");
    response_headers.append("x-multi", "b");
    Interaction {
        recorded_at: Some(format!("2026-01-0{}T10:00:00Z", n % 9 + 1)),
        request: Request {
            method: "POST".into(),
            url: format!("https://api.example.com/v1/chat/completions?n={n}"),
            headers: request_headers,
            body: Some(V1Body::Json(llmvcr_cassette::Json::from(json!({
                "model": "gpt-4o-mini",
                "messages": [{"role": "user", "content": format!("question {n}\nsecond line")}],
                "temperature": 0.5,
                "stream": true,
            })))),
        },
        response: Response {
            status: 200,
            headers: response_headers,
            body: None,
            stream: Some(Stream {
                format: StreamFormat::Sse,
                frames: vec![
                    Frame {
                        at_ms: 0,
                        data: Some(
                            json!({"choices": [{"delta": {"content": format!("answer {n}")}}]})
                                .into(),
                        ),
                        ..Frame::default()
                    },
                    Frame {
                        at_ms: 12,
                        comment: Some(" keep-alive".into()),
                        ..Frame::default()
                    },
                    Frame {
                        at_ms: 31,
                        text: Some("[DONE]".into()),
                        ..Frame::default()
                    },
                ],
            }),
        },
    }
}

fn cassette(count: usize) -> Cassette {
    Cassette {
        interactions: (0..count).map(interaction).collect(),
        ..Cassette::default()
    }
}

#[test]
fn output_is_readable_yaml_with_json_as_structures() {
    let yaml = to_yaml(&cassette(1)).unwrap();
    assert!(
        yaml.starts_with("llmvcr: 1\ninteractions:\n- recorded_at:"),
        "{yaml}"
    );
    for line in [
        "    url: https://api.example.com/v1/chat/completions?n=0",
        "      authorization: Bearer <REDACTED>",
        "      json:",
        "        model: gpt-4o-mini",
        "        temperature: 0.5",
        "      x-multi:",
        "      - a",
        "      format: sse",
        "      - at_ms: 12",
        "        comment: ' keep-alive'",
        "        text: '[DONE]'",
    ] {
        assert!(
            yaml.lines().any(|l| l == line),
            "missing {line:?} in\n{yaml}"
        );
    }
    assert_eq!(parse(&yaml, "x.yaml").unwrap(), cassette(1));
}

/// The lines that differ between two texts: the span between the common
/// prefix and the common suffix, as 1-based line ranges in each.
fn changed_span(a: &str, b: &str) -> (std::ops::Range<usize>, std::ops::Range<usize>) {
    let a: Vec<&str> = a.lines().collect();
    let b: Vec<&str> = b.lines().collect();
    let prefix = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let suffix = a[prefix..]
        .iter()
        .rev()
        .zip(b[prefix..].iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    (
        prefix + 1..a.len() - suffix + 1,
        prefix + 1..b.len() - suffix + 1,
    )
}

/// The 1-based line range of each interaction in written YAML.
fn interaction_ranges(yaml: &str) -> Vec<std::ops::Range<usize>> {
    let lines: Vec<&str> = yaml.lines().collect();
    let starts: Vec<usize> = lines
        .iter()
        .enumerate()
        .filter(|(_, l)| l.starts_with("- "))
        .map(|(n, _)| n + 1)
        .collect();
    starts
        .iter()
        .enumerate()
        .map(|(i, &start)| start..starts.get(i + 1).copied().unwrap_or(lines.len() + 1))
        .collect()
}

#[test]
fn re_recording_one_interaction_changes_only_its_lines() {
    let before = cassette(5);
    let mut after = before.clone();
    // Re-recorded: a new time, new timing, a new answer, one more frame.
    let again = &mut after.interactions[2];
    again.recorded_at = Some("2026-02-01T00:00:00Z".into());
    let stream = again.response.stream.as_mut().unwrap();
    stream.frames[0].data =
        Some(json!({"choices": [{"delta": {"content": "another answer"}}]}).into());
    stream.frames[1].at_ms = 40;
    stream.frames.insert(
        1,
        Frame {
            at_ms: 20,
            data: Some(json!({"choices": []}).into()),
            ..Frame::default()
        },
    );
    let a = to_yaml(&before).unwrap();
    let b = to_yaml(&after).unwrap();
    let (in_a, in_b) = changed_span(&a, &b);
    let third_a = interaction_ranges(&a)[2].clone();
    let third_b = interaction_ranges(&b)[2].clone();
    assert!(
        third_a.start <= in_a.start && in_a.end <= third_a.end,
        "{in_a:?} outside {third_a:?}"
    );
    assert!(
        third_b.start <= in_b.start && in_b.end <= third_b.end,
        "{in_b:?} outside {third_b:?}"
    );
    // Writing twice gives the same bytes.
    assert_eq!(to_yaml(&after).unwrap(), b);
}

fn error(text: &str) -> CassetteError {
    parse(text, "cassettes/demo.yaml").unwrap_err()
}

#[test]
fn a_wrong_or_missing_version_is_named() {
    let err = error("llmvcr: 2\ninteractions: []\n");
    assert!(matches!(&err, CassetteError::Version { found, .. } if found.contains("llmvcr: 2")));
    assert_eq!(
        err.to_string(),
        "cassettes/demo.yaml: not an llmvcr format v1 cassette: found `llmvcr: 2`, and this llmvcr reads format version 1"
    );
    let err = error("interactions:\n- request: {}\nversion: 1\n");
    assert!(matches!(err, CassetteError::Version { .. }), "{err}");
    let message = err.to_string();
    assert!(
        message.contains("VCR.py") && message.contains("llmvcr cassette import"),
        "{message}"
    );
    let err = error("llmvcr: 'one'\n");
    assert!(matches!(err, CassetteError::Version { .. }), "{err}");
    let err = error("- a\n- b\n");
    assert!(matches!(err, CassetteError::Version { .. }), "{err}");
    let err = error("");
    assert!(matches!(err, CassetteError::Version { .. }), "{err}");
}

#[test]
fn bad_yaml_names_the_line_and_column() {
    let err = error("llmvcr: 1\ninteractions:\n- request: {method: GET\n  response: 1\n");
    let CassetteError::Syntax { file, line, .. } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(file, "cassettes/demo.yaml");
    assert!(line.is_some_and(|l| l >= 3), "{err}");
    let message = err.to_string();
    assert!(message.starts_with("cassettes/demo.yaml:"), "{message}");
    assert!(message.contains("invalid YAML"), "{message}");
    assert!(!message.contains(" at line "), "{message}");
    assert_eq!(message.lines().count(), 1);
}

const GOOD: &str = "llmvcr: 1
interactions:
- request:
    method: GET
    url: https://x/a
  response:
    status: 200
- request:
    method: POST
    url: https://x/b
    body:
      text: hi
  response:
    status: 201
    body:
      json: {a: 1}
";

#[test]
fn a_missing_field_names_the_field_and_the_line() {
    let text = GOOD.replace("    url: https://x/b\n", "");
    let err = error(&text);
    let CassetteError::Schema { line, message, .. } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(*line, Some(9), "{err}");
    assert!(message.contains("interactions[1].request"), "{message}");
    assert!(message.contains("missing field `url`"), "{message}");
    assert!(
        err.to_string().starts_with("cassettes/demo.yaml:9:"),
        "{err}"
    );
}

#[test]
fn schema_errors_name_the_field() {
    let cases = [
        (GOOD.replace("status: 201", "status: 'ok'"), "interactions[1].response.status", Some(14)),
        (GOOD.replace("      text: hi", "      txt: hi"), "unknown field `txt`", Some(12)),
        (
            GOOD.replace("      text: hi", "      text: hi\n      json: {}"),
            "interactions[1].request: a body needs exactly one of `json`, `text` and `base64`",
            Some(9),
        ),
        (
            GOOD.replace("    status: 201\n", "    status: 201\n    stream: {format: sse, frames: []}\n"),
            "interactions[1].response: has both `body` and `stream`",
            Some(8),
        ),
        (GOOD.replace("status: 201", "status: 42"), "interactions[1].response.status", Some(8)),
        (
            GOOD.replace("      text: hi", "      base64: '%%%'"),
            "interactions[1].request.body: invalid base64",
            Some(8),
        ),
        (
            GOOD.replace(
                "    body:\n      json: {a: 1}\n",
                "    stream:\n      format: ndjson\n      frames:\n      - {at_ms: 0, event: x, text: y}\n",
            ),
            "interactions[1].response.stream.frames[0]: `event`",
            Some(8),
        ),
        (
            GOOD.replace(
                "    body:\n      json: {a: 1}\n",
                "    stream:\n      format: sse\n      frames:\n      - {text: y}\n",
            ),
            "missing field `at_ms`",
            Some(18),
        ),
        (
            GOOD.replace("format: sse", "format: xml").replace(
                "    body:\n      json: {a: 1}\n",
                "    stream:\n      format: xml\n      frames: []\n",
            ),
            "unknown variant `xml`",
            Some(16),
        ),
        (GOOD.replace("method: GET", "method: ''"), "interactions[0].request.method", Some(3)),
        (
            GOOD.replace("    url: https://x/a\n", "    url: https://x/a\n    headers: {x-a: {b: 1}}\n"),
            "header `x-a`: expected a string or a list of strings",
            Some(6),
        ),
    ];
    for (text, expected, line) in cases {
        let err = error(&text);
        assert!(matches!(err, CassetteError::Schema { .. }), "{err:?}");
        let message = err.to_string();
        assert!(message.contains(expected), "{expected:?} not in {message}");
        assert_eq!(err.line(), line, "{message}");
        assert_eq!(err.file(), "cassettes/demo.yaml");
    }
    assert!(parse(GOOD, "good.yaml").is_ok());
    // A repeated header name is a YAML error, with its position.
    let err = error(&GOOD.replace(
        "    url: https://x/a\n",
        "    url: https://x/a\n    headers: {x-a: 1, x-a: 2}\n",
    ));
    assert!(
        matches!(err, CassetteError::Syntax { line: Some(6), .. }),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("duplicate entry with key \"x-a\""),
        "{err}"
    );
    // Numbers and booleans written without quotes are header text.
    let loose = GOOD.replace(
        "    url: https://x/a\n",
        "    url: https://x/a\n    headers: {content-length: 315, x-flag: [true, '1']}\n",
    );
    let cassette = parse(&loose, "loose.yaml").unwrap();
    let headers = &cassette.interactions[0].request.headers;
    assert_eq!(headers.get("content-length"), Some("315"));
    assert_eq!(headers.0[1].1, ["true", "1"]);
}

#[test]
fn load_and_save_name_the_file() {
    let dir = temp_dir("names");
    let err = load(&dir.join("absent.yaml")).unwrap_err();
    assert!(matches!(err, CassetteError::Io { .. }));
    assert!(err.to_string().contains("absent.yaml"), "{err}");
    let path = dir.join("deep/er/one.yaml");
    save(&path, &cassette(2), &scanner()).unwrap();
    assert_eq!(load(&path).unwrap(), cassette(2));
    std::fs::write(dir.join("bad.yaml"), "llmvcr: 1\ninteractions: {\n").unwrap();
    let err = load(&dir.join("bad.yaml")).unwrap_err();
    assert!(
        err.to_string()
            .starts_with(&format!("{}:", dir.join("bad.yaml").display()))
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn parallel_saves_into_one_folder_are_safe_and_atomic() {
    let dir = temp_dir("parallel");
    let scanner = scanner();
    std::thread::scope(|scope| {
        for t in 0..8 {
            let dir = &dir;
            let scanner = &scanner;
            scope.spawn(move || {
                for round in 0..10 {
                    // Each thread its own file, and all of them one shared file.
                    let own = cassette(1 + (t + round) % 3);
                    save(&dir.join(format!("own-{t}.yaml")), &own, scanner).unwrap();
                    save(&dir.join("shared.yaml"), &own, scanner).unwrap();
                    // A reader never sees a partial file.
                    let shared = load(&dir.join("shared.yaml")).unwrap();
                    assert!((1..=3).contains(&shared.interactions.len()));
                }
            });
        }
    });
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names.len(), 9, "no temporary file is left: {names:?}");
    assert!(
        names
            .iter()
            .all(|n| n.ends_with(".yaml") && !n.starts_with('.'))
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn any_format_reads_as_format_v1() {
    let dir = temp_dir("any");
    std::fs::create_dir_all(&dir).unwrap();
    let vcrpy = dir.join("vcr.yaml");
    std::fs::write(
        &vcrpy,
        "interactions:\n- request:\n    method: POST\n    uri: https://x/y\n    body: '{\"q\": 1}'\n    headers: {Content-Type: [application/json]}\n  response:\n    status: {code: 200, message: OK}\n    headers: {}\n    body: {string: 'ok'}\nversion: 1\n",
    )
    .unwrap();
    assert!(!is_v1(&std::fs::read_to_string(&vcrpy).unwrap()));
    let converted = load_any(&vcrpy, &[]).unwrap();
    assert_eq!(
        converted.interactions[0].request.body,
        Some(V1Body::Json(json!({"q": 1}).into()))
    );
    let v1 = dir.join("v1.yaml");
    save(&v1, &converted, &scanner()).unwrap();
    assert!(is_v1(&std::fs::read_to_string(&v1).unwrap()));
    assert_eq!(load_any(&v1, &[]).unwrap(), converted);
    // `read_recorded` reads both, v1 through `to_recorded`.
    assert_eq!(read_recorded(&vcrpy).unwrap(), read_any(&vcrpy).unwrap());
    assert_eq!(
        read_recorded(&v1).unwrap(),
        vec![to_recorded(&converted.interactions[0])]
    );
    // A v1 file is not a VCR.py file, and the reader says what to do.
    assert!(is_v1("{\"llmvcr\": 1, \"interactions\": []}"));
    std::fs::remove_dir_all(&dir).unwrap();
}

// ----- Property: written then read is equal --------------------------------

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => any::<String>(),
        2 => "[ -~]{0,20}",
        1 => "[a-z]{1,8}(\n[ a-z]{0,8}){1,4}\n{0,2}",
        3 => prop::sample::select(vec![
            "", " ", "yes", "no", "on", "off", "y", "n", "~", "null", "Null", "true", "false",
            "1", "-1", "1.5", "1e3", "0o17", "0x1f", ".5", "-.inf", ".nan", "1_000", "12:30",
            "- item", ": colon", "a: b", "#comment", "a #b", "'", "\"", "''", "\\", "\t",
            "\r\n", "\n", "\n\n", " lead", "trail ", "trail\n ", "@at", "`tick", "!tag",
            "&anchor", "*alias", "%directive", "{", "}", "[", "]", "...", "---", "?", "|", ">",
            "\u{feff}bom", "é\u{0}nul", "\u{85}next", "\u{2028}sep", "emoji 🎉", "<REDACTED>",
        ])
        .prop_map(str::to_owned),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        prop::sample::select(vec![0.1, 1.0, -0.0, 1e300, 2.5e-8, 123456.789]).prop_map(Value::from),
        text().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::vec((text(), inner), 0..5)
                .prop_map(|pairs| Value::Object(pairs.into_iter().collect())),
        ]
    })
}

fn structure() -> impl Strategy<Value = Value> {
    json_value().prop_map(|v| match v {
        Value::Array(_) | Value::Object(_) => v,
        other => json!([other]),
    })
}

fn headers() -> impl Strategy<Value = HeaderList> {
    prop::collection::btree_map(
        "[a-z][a-z0-9-]{0,12}",
        prop::collection::vec(text(), 0..3),
        0..5,
    )
    .prop_map(|map| HeaderList(map.into_iter().collect()))
}

fn body() -> impl Strategy<Value = V1Body> {
    use base64::Engine as _;
    prop_oneof![
        json_value().prop_map(|v| V1Body::Json(v.into())),
        text().prop_map(V1Body::Text),
        prop::collection::vec(any::<u8>(), 0..40).prop_map(|bytes| V1Body::Base64(
            base64::engine::general_purpose::STANDARD.encode(bytes)
        )),
    ]
}

fn payload() -> impl Strategy<Value = (Option<Value>, Option<String>)> {
    prop_oneof![
        structure().prop_map(|v| (Some(v), None)),
        text().prop_map(|t| (None, Some(t))),
    ]
}

fn frame(format: StreamFormat) -> BoxedStrategy<Frame> {
    use base64::Engine as _;
    let at = 0..100_000u64;
    match format {
        StreamFormat::Sse => (
            at,
            prop::option::of(text()),
            prop::option::of(text()),
            prop::option::of(any::<u64>()),
            prop::option::of(text()),
            prop::option::of(payload()),
        )
            .prop_map(|(at_ms, event, id, retry, comment, payload)| {
                let (data, text) = payload.unwrap_or((None, None));
                Frame {
                    at_ms,
                    event,
                    id,
                    retry,
                    comment,
                    data: data.map(Into::into),
                    text,
                    base64: None,
                }
            })
            .boxed(),
        StreamFormat::Ndjson | StreamFormat::JsonArray => (at, payload())
            .prop_map(|(at_ms, (data, text))| Frame {
                at_ms,
                data: data.map(Into::into),
                text,
                ..Frame::default()
            })
            .boxed(),
        StreamFormat::Chunks => (
            at,
            prop_oneof![
                text().prop_map(|t| (Some(t), None)),
                prop::collection::vec(any::<u8>(), 1..20).prop_map(|b| (
                    None,
                    Some(base64::engine::general_purpose::STANDARD.encode(b))
                )),
            ],
        )
            .prop_map(|(at_ms, (text, base64))| Frame {
                at_ms,
                text,
                base64,
                ..Frame::default()
            })
            .boxed(),
    }
}

fn stream() -> impl Strategy<Value = Stream> {
    prop::sample::select(vec![
        StreamFormat::Sse,
        StreamFormat::Ndjson,
        StreamFormat::JsonArray,
        StreamFormat::Chunks,
    ])
    .prop_flat_map(|format| {
        prop::collection::vec(frame(format), 0..5).prop_map(move |frames| Stream { format, frames })
    })
}

fn any_interaction() -> impl Strategy<Value = Interaction> {
    (
        prop::option::of(text()),
        "[A-Z]{1,7}",
        text().prop_filter("a URL", |u| !u.is_empty()),
        headers(),
        prop::option::of(body()),
        100u16..=999,
        headers(),
        prop_oneof![
            prop::option::of(body()).prop_map(|b| (b, None)),
            stream().prop_map(|s| (None, Some(s))),
        ],
    )
        .prop_map(
            |(
                recorded_at,
                method,
                url,
                req_headers,
                req_body,
                status,
                resp_headers,
                (body, stream),
            )| {
                Interaction {
                    recorded_at,
                    request: Request {
                        method,
                        url,
                        headers: req_headers,
                        body: req_body,
                    },
                    response: Response {
                        status,
                        headers: resp_headers,
                        body,
                        stream,
                    },
                }
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn any_cassette_written_then_read_is_equal(
        interactions in prop::collection::vec(any_interaction(), 0..4)
    ) {
        let cassette = Cassette { interactions, ..Cassette::default() };
        let yaml = to_yaml(&cassette).unwrap();
        let back = parse(&yaml, "prop.yaml");
        prop_assert!(back.is_ok(), "{:?}\n{}", back.err(), yaml);
        prop_assert_eq!(back.unwrap(), cassette);
    }
}
