#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Reads every real VCR.py recording in `cassettes/real` and checks the result
//! against facts gathered independently: the `- request:` entries in the text,
//! the MANIFEST's statuses and endpoints, and a table of what PyYAML reads
//! from the same files (`tests/data/vcrpy_digests.tsv`, written by
//! `tests/data/gen_vcrpy_digests.py`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use llmvcr_cassette::{
    RecordedInteraction, import::read_any, import::read_vcrpy, recorded::ContentCoding,
    recorded::RecordedBody as Body,
};

fn corpus_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../cassettes/real")
}

fn corpus() -> Vec<(String, PathBuf)> {
    let root = corpus_root();
    crate::support::real_yaml()
        .into_iter()
        .map(|path| {
            let rel = path
                .strip_prefix(&root)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            (rel, path)
        })
        .collect()
}

/// Counts list items that start an interaction, without parsing YAML.
fn request_entries(text: &str) -> usize {
    text.lines()
        .filter(|line| line.trim_start() == "- request:")
        .count()
}

struct ManifestRow {
    endpoints: Vec<String>,
    statuses: Vec<u16>,
    body_format: String,
}

fn manifest() -> BTreeMap<String, ManifestRow> {
    let text = std::fs::read_to_string(corpus_root().join("MANIFEST.tsv")).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split('\t').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let (file, endpoints, statuses, format) = (
        col("file"),
        col("endpoints"),
        col("statuses"),
        col("body_format"),
    );
    lines
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let cells: Vec<&str> = line.split('\t').collect();
            (
                cells[file].to_owned(),
                ManifestRow {
                    endpoints: cells[endpoints].split(',').map(str::to_owned).collect(),
                    statuses: cells[statuses]
                        .split(',')
                        .map(|s| s.parse().unwrap())
                        .collect(),
                    body_format: cells[format].to_owned(),
                },
            )
        })
        .collect()
}

/// The path of a URI, without scheme, host and query.
fn uri_path(uri: &str) -> &str {
    let after_scheme = uri.split_once("://").map_or(uri, |(_, rest)| rest);
    let path = after_scheme
        .find('/')
        .map_or("", |slash| &after_scheme[slash..]);
    path.split(['?', '#']).next().unwrap_or(path)
}

/// Matches a MANIFEST endpoint, where `*` stands for one path segment.
fn endpoint_matches(pattern: &str, path: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == path,
        Some((prefix, rest)) => {
            let Some(tail) = path.strip_prefix(prefix) else {
                return false;
            };
            (0..=tail.len()).any(|cut| {
                tail.is_char_boundary(cut)
                    && !tail[..cut].contains('/')
                    && endpoint_matches(rest, &tail[cut..])
            })
        }
    }
}

#[test]
fn every_real_cassette_parses_with_the_right_shape() {
    let manifest = manifest();
    let files = corpus();
    assert_eq!(files.len(), manifest.len(), "MANIFEST lists every file");
    let mut total = 0;
    for (rel, path) in &files {
        let text = std::fs::read_to_string(path).unwrap();
        let interactions =
            read_vcrpy(path).unwrap_or_else(|err| panic!("{rel} does not parse: {err}"));
        let row = manifest
            .get(rel)
            .unwrap_or_else(|| panic!("{rel} is not in MANIFEST"));

        assert_eq!(
            interactions.len(),
            request_entries(&text),
            "{rel}: interaction count"
        );
        let statuses: Vec<u16> = interactions.iter().map(|i| i.response.status).collect();
        assert_eq!(statuses, row.statuses, "{rel}: statuses in order");

        let paths: Vec<&str> = interactions
            .iter()
            .map(|i| uri_path(&i.request.uri))
            .collect();
        for endpoint in &row.endpoints {
            assert!(
                paths.iter().any(|p| endpoint_matches(endpoint, p)),
                "{rel}: no URI matches endpoint {endpoint}: {paths:?}"
            );
        }
        for p in &paths {
            assert!(
                row.endpoints.iter().any(|e| endpoint_matches(e, p)),
                "{rel}: URI path {p} is not among the endpoints {:?}",
                row.endpoints
            );
        }

        for interaction in &interactions {
            assert!(["GET", "POST"].contains(&interaction.request.method.as_str()));
            assert!(interaction.request.uri.starts_with("https://"));
            check_dialect(rel, &row.body_format, interaction);
        }
        total += interactions.len();
    }
    assert_eq!(total, 213, "interactions across the corpus");
}

fn check_dialect(rel: &str, format: &str, interaction: &RecordedInteraction) {
    let response = &interaction.response;
    match format {
        "parsed_body" => {
            // JSON responses are stored parsed; SSE streams stay text.
            let sse = response
                .headers
                .get("content-type")
                .is_some_and(|t| t.starts_with("text/event-stream"));
            if sse {
                assert!(matches!(response.body, Body::Text(_)), "{rel}: SSE is text");
            } else {
                assert!(
                    matches!(response.body, Body::Json(_)),
                    "{rel}: parsed_body response is JSON"
                );
            }
            assert!(
                matches!(interaction.request.body, Body::Json(_) | Body::Empty),
                "{rel}: parsed_body request is JSON or empty"
            );
        }
        "binary" | "string" => {
            assert!(
                matches!(response.body, Body::Text(_)),
                "{rel}: response body is text"
            );
            let gzip = response
                .headers
                .get("content-encoding")
                .is_some_and(|e| e.eq_ignore_ascii_case("gzip"));
            if gzip {
                assert_eq!(
                    response.body_decoded_from,
                    Some(ContentCoding::Gzip),
                    "{rel}"
                );
                assert!(!response.decoded_headers().contains("Content-Encoding"));
                assert!(!response.decoded_headers().contains("content-length"));
            } else {
                assert_eq!(response.body_decoded_from, None, "{rel}");
                assert_eq!(response.decoded_headers(), response.headers);
            }
        }
        other => panic!("{rel}: unexpected body_format {other}"),
    }
    if format == "binary" {
        assert!(
            interaction.response.body_decoded_from.is_some()
                || interaction
                    .response
                    .headers
                    .get("content-encoding")
                    .is_none(),
            "{rel}"
        );
    }
}

/// FNV-1a, 64-bit, as in `gen_vcrpy_digests.py`.
fn fnv(data: &[u8]) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in data {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{hash:016x}")
}

fn canon_str(out: &mut Vec<u8>, text: &str) {
    out.push(b's');
    out.extend(text.len().to_string().bytes());
    out.push(b':');
    out.extend(text.bytes());
}

fn canon_json(out: &mut Vec<u8>, value: &serde_json::Value) {
    use serde_json::Value;
    match value {
        Value::Null => out.push(b'n'),
        Value::Bool(true) => out.push(b't'),
        Value::Bool(false) => out.push(b'f'),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                out.extend(format!("i{i};").bytes());
            } else if let Some(u) = n.as_u64() {
                out.extend(format!("i{u};").bytes());
            } else {
                let bits = n.as_f64().unwrap().to_bits();
                out.extend(format!("d{bits:016x};").bytes());
            }
        }
        Value::String(s) => canon_str(out, s),
        Value::Array(items) => {
            out.push(b'[');
            for item in items {
                canon_json(out, item);
            }
            out.push(b']');
        }
        Value::Object(map) => {
            out.push(b'{');
            for (key, item) in map {
                canon_str(out, key);
                canon_json(out, item);
            }
            out.push(b'}');
        }
    }
}

fn headers_digest(headers: &llmvcr_cassette::Headers) -> String {
    let mut out = Vec::new();
    for (name, values) in headers.iter() {
        canon_str(&mut out, name);
        out.push(b'[');
        for value in values {
            canon_str(&mut out, value);
        }
        out.push(b']');
    }
    fnv(&out)
}

fn body_digest(body: &Body) -> (&'static str, usize, String) {
    match body {
        Body::Empty => ("empty", 0, fnv(b"")),
        Body::Text(text) => ("text", text.len(), fnv(text.as_bytes())),
        Body::Bytes(bytes) => ("bytes", bytes.len(), fnv(bytes)),
        Body::Json(value) => {
            let mut out = Vec::new();
            canon_json(&mut out, value);
            ("json", out.len(), fnv(&out))
        }
    }
}

#[test]
fn bodies_headers_and_uris_match_what_pyyaml_reads() {
    let table = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/vcrpy_digests.tsv"),
    )
    .unwrap();
    let mut cache: BTreeMap<String, Vec<RecordedInteraction>> = BTreeMap::new();
    let mut rows = 0;
    for line in table.lines().skip(1) {
        let cells: Vec<&str> = line.split('\t').collect();
        let [
            file,
            index,
            side,
            head,
            entries,
            headers_fnv,
            kind,
            len,
            body_fnv,
        ] = cells[..]
        else {
            panic!("bad row {line}");
        };
        let interactions = cache
            .entry(file.to_owned())
            .or_insert_with(|| read_vcrpy(&corpus_root().join(file)).unwrap());
        let interaction = &interactions[index.parse::<usize>().unwrap()];
        let at = format!("{file} #{index} {side}");
        let (headers, body, actual_head) = if side == "request" {
            let r = &interaction.request;
            (
                &r.headers,
                &r.body,
                format!("{} {}", r.method, fnv(r.uri.as_bytes())),
            )
        } else {
            let r = &interaction.response;
            (&r.headers, &r.body, r.status.to_string())
        };
        assert_eq!(actual_head, head, "{at}: method/uri or status");
        assert_eq!(headers.len().to_string(), entries, "{at}: header entries");
        assert_eq!(headers_digest(headers), headers_fnv, "{at}: headers");
        let (actual_kind, actual_len, actual_fnv) = body_digest(body);
        assert_eq!(actual_kind, kind, "{at}: body kind");
        assert_eq!(actual_len.to_string(), len, "{at}: body length");
        assert_eq!(actual_fnv, body_fnv, "{at}: body digest");
        rows += 1;
    }
    assert_eq!(rows, 426, "two rows per interaction");
}

#[test]
fn binary_dialect_decodes_gzip_sse() {
    let path = corpus_root().join(
        "anthropic/simonw__llm-anthropic__cassettes__test_anthropic__test_prompt_with_prefill_and_stop_sequences.yaml",
    );
    let interactions = read_vcrpy(&path).unwrap();
    assert_eq!(interactions.len(), 1);
    let response = &interactions[0].response;
    assert_eq!(response.status, 200);
    assert_eq!(response.reason.as_deref(), Some("OK"));
    assert_eq!(response.body_decoded_from, Some(ContentCoding::Gzip));
    assert_eq!(response.headers.get("content-encoding"), Some("gzip"));
    let Body::Text(text) = &response.body else {
        panic!("expected text, got {:?}", response.body);
    };
    assert!(text.starts_with("event: message_start\ndata: "), "{text}");
    assert!(text.contains("event: message_stop"));
    assert!(text.contains("\"stop_reason\":\"stop_sequence\""));
    assert_eq!(
        response.decoded_headers().get("content-type"),
        Some("text/event-stream; charset=utf-8")
    );
    assert!(response.decoded_headers().get("Content-Encoding").is_none());

    // The request body of this dialect is a plain string, kept exactly.
    let request = &interactions[0].request;
    let Body::Text(sent) = &request.body else {
        panic!("expected text");
    };
    assert!(sent.starts_with(r#"{"max_tokens":8192,"messages":"#));
    let json = request.body.as_json().unwrap();
    assert_eq!(json["model"], "claude-haiku-4-5-20251001");
    assert_eq!(json["stop_sequences"][0], "```");
}

#[test]
fn parsed_body_dialect_keeps_json_types() {
    let path = corpus_root().join(
        "anthropic/pydantic__pydantic-ai__models__anthropic__cassettes__test_output__test_strict_true_tool_basemodel_output.yaml",
    );
    let interactions = read_vcrpy(&path).unwrap();
    assert_eq!(interactions.len(), 2);
    let request = &interactions[0].request;
    assert_eq!(request.method, "POST");
    assert_eq!(
        request.uri,
        "https://api.anthropic.com/v1/messages?beta=true"
    );
    let Body::Json(json) = &request.body else {
        panic!("expected JSON, got {:?}", request.body);
    };
    assert_eq!(json["model"], "claude-sonnet-4-5");
    assert_eq!(json["max_tokens"], serde_json::json!(4096));
    assert!(json["max_tokens"].is_u64());
    assert_eq!(json["stream"], serde_json::json!(false));
    assert_eq!(json["tools"][0]["strict"], serde_json::json!(true));
    assert_eq!(json["tools"][0]["description"], "");
    // Key order is the recorded order.
    let keys: Vec<&str> = json
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "max_tokens",
            "messages",
            "model",
            "stream",
            "tool_choice",
            "tools"
        ]
    );

    let response = &interactions[0].response;
    let Body::Json(reply) = &response.body else {
        panic!("expected JSON");
    };
    assert_eq!(reply["usage"]["input_tokens"], serde_json::json!(732));
    assert!(reply["stop_sequence"].is_null());
    assert_eq!(reply["content"][0]["input"]["city"], "New York");
    // A JSON body serialises compactly, in recorded key order.
    let bytes = response.body.as_bytes();
    assert!(bytes.starts_with(br#"{"content":[{"id":"toolu_01UvLpDBkmE68NhdxhfZToRZ""#));
    // The second request carries the tool result as a string.
    let second = interactions[1].request.body.as_json().unwrap();
    assert_eq!(second["messages"][2]["content"][0]["content"], "8000000");
}

#[test]
fn real_headers_are_looked_up_in_any_case() {
    let path = corpus_root().join(
        "anthropic/simonw__llm-anthropic__cassettes__test_anthropic__test_prompt_with_prefill_and_stop_sequences.yaml",
    );
    let interactions = read_vcrpy(&path).unwrap();
    let headers = &interactions[0].request.headers;
    assert_eq!(headers.get("content-type"), Some("application/json"));
    assert_eq!(headers.get("CONTENT-TYPE"), Some("application/json"));
    assert_eq!(headers.get("x-stainless-os"), Some("MacOS"));
    assert_eq!(headers.get("Anthropic-Version"), Some("2023-06-01"));
    assert_eq!(headers.get_all("accept-encoding"), vec!["gzip, deflate"]);
    assert_eq!(headers.get("x-missing"), None);
    // Names are kept as recorded, in order.
    let names: Vec<&str> = headers.iter().map(|(n, _)| n).take(3).collect();
    assert_eq!(names, ["Accept", "Accept-Encoding", "Connection"]);
}

#[test]
fn read_any_sniffs_vcrpy() {
    let path = corpus_root().join(
        "gemini/pydantic__pydantic-ai__models__cassettes__test_google__test_google_vertex_service_tier_flex.yaml",
    );
    let via_any = read_any(&path).unwrap();
    let direct = read_vcrpy(&path).unwrap();
    assert_eq!(via_any, direct);
    assert_eq!(direct.len(), 1);
}

/// A cassette of VCR.py's first httpx recorder (`status_code`, `content`
/// holding decoded SSE under a gzip header) replays through the middleware
/// as a plain event stream: no `Content-Encoding`, every event.
#[tokio::test]
async fn httpx_dialect_replays_without_claiming_gzip() {
    use llmvcr_cassette::{CassetteMiddleware, MatchRules, load_any};

    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/vcrpy_httpx_sse.yaml");
    let cassette = load_any(&path, &[]).unwrap();
    let interaction = cassette.interactions[0].clone();
    let middleware = CassetteMiddleware::replaying(&path, cassette, MatchRules::new()).unwrap();
    let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
        .with(middleware)
        .build();
    let request = &interaction.request;
    let mut builder = client.post(request.url.as_str());
    if let Some(body) = &request.body {
        builder = builder
            .header("content-type", "application/json")
            .body(llmvcr_cassette::convert::body_bytes(body));
    }
    let response = builder.send().await.unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert!(response.headers().get("content-encoding").is_none());
    assert_eq!(
        response.headers().get("content-type").unwrap(),
        "text/event-stream; charset=utf-8"
    );
    let text = response.text().await.unwrap();
    let events: Vec<&str> = text
        .split("\n\n")
        .filter(|event| !event.is_empty())
        .collect();
    assert_eq!(events.len(), 6, "{text}");
    assert!(events[1].contains(r#""content":"Hello""#), "{text}");
    assert!(events[2].contains(r#""content":" there""#), "{text}");
    assert_eq!(events[5], "data: [DONE]");
}
