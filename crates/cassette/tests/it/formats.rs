//! The typed_body dialect, lenient VCR.py variants, vcr-cassette JSON and
//! format sniffing, on hand-written fixtures in `tests/data`.

use llmvcr_cassette::{
    Headers, ImportError, import::parse_any, import::parse_vcr_json, import::parse_vcrpy,
    import::read_any, import::read_vcr_json, import::read_vcrpy, recorded::ContentCoding,
    recorded::RecordedBody as Body,
};
use serde_json::json;

use crate::support::data;

#[test]
fn typed_body_dialect() {
    let interactions = read_vcrpy(&data("typed_body.yaml")).unwrap();
    assert_eq!(interactions.len(), 3);

    let first = &interactions[0];
    assert_eq!(first.recorded_at.as_deref(), Some("2026-01-01T00:00:00Z"));
    assert_eq!(first.request.method, "GET");
    assert_eq!(first.request.body, Body::Empty);
    assert_eq!(first.response.status, 200);
    assert_eq!(first.response.reason, None);
    let Body::Json(models) = &first.response.body else {
        panic!("expected JSON, got {:?}", first.response.body);
    };
    assert_eq!(
        *models,
        json!({"data": [{"id": "model-a", "created": 1_700_000_000, "score": 0.5}], "object": "list"})
    );
    assert!(models["data"][0]["created"].is_u64());
    assert!(models["data"][0]["score"].is_f64());

    let second = &interactions[1];
    assert_eq!(second.request.method, "POST", "methods are upper-cased");
    assert_eq!(second.request.body, Body::Text("hello\nworld".to_owned()));
    assert_eq!(
        second.request.headers.get("content-type"),
        Some("text/plain")
    );
    assert_eq!(second.response.status, 201);
    assert_eq!(
        second.response.body,
        Body::Bytes(vec![
            0x89, b'P', b'N', b'G', b'\r', b'\n', 0x1a, b'\n', 0, 1
        ])
    );
    assert_eq!(second.response.body_decoded_from, None);

    let third = &interactions[2];
    // JSON content given as text is kept as the exact text.
    assert_eq!(
        third.request.body,
        Body::Text(r#"{"keep": "exact",  "spacing": 1}"#.to_owned())
    );
    assert_eq!(third.request.body.as_json().unwrap()["spacing"], json!(1));
    assert_eq!(
        third.response.body,
        Body::Text(r#"{"ok": true}"#.to_owned())
    );
    assert_eq!(third.response.body_decoded_from, Some(ContentCoding::Gzip));
    assert_eq!(third.response.headers.get("content-length"), Some("32"));
    let decoded = third.response.decoded_headers();
    assert!(decoded.is_empty(), "{decoded:?}");
}

#[test]
fn lenient_vcrpy_variants() {
    let interactions = read_vcrpy(&data("vcrpy_lenient.yaml")).unwrap();
    assert_eq!(interactions.len(), 3);

    // body: {string: ...} in a request, `url` for `uri`, single-string header.
    let first = &interactions[0];
    assert_eq!(first.request.method, "POST");
    assert_eq!(first.request.uri, "https://api.example.com/v1/chat?b=2&a=1");
    assert_eq!(
        first.request.body,
        Body::Text(r#"{"model": "m", "max_tokens": 5}"#.to_owned())
    );
    assert_eq!(
        first.request.headers.get("Content-Type"),
        Some("application/json")
    );
    // Repeated names in different case are separate entries; lookups see all.
    assert_eq!(first.request.headers.len(), 3);
    assert_eq!(first.request.headers.get("x-multi"), Some("one"));
    assert_eq!(
        first.request.headers.get_all("X-MULTI"),
        ["one", "two", "three"]
    );
    assert_eq!(first.response.status, 204);
    assert_eq!(first.response.body, Body::Empty);
    assert!(first.response.body.is_empty());
    assert!(first.response.headers.is_empty());

    // A request body stored as a mapping is JSON; `!!binary` that is not
    // UTF-8 stays bytes.
    let second = &interactions[1];
    assert_eq!(
        second.request.body,
        Body::Json(json!({"model": "m", "temperature": 0.0, "stop": null, "n": 1}))
    );
    assert_eq!(
        second.request.body.as_bytes().as_ref(),
        br#"{"model":"m","temperature":0.0,"stop":null,"n":1}"#
    );
    assert!(second.request.headers.is_empty());
    assert_eq!(second.response.reason.as_deref(), Some("OK"));
    assert_eq!(
        second.response.body,
        Body::Bytes(vec![0xff, 0xfe, 0xfd, 0x00, 0x01])
    );
    assert_eq!(second.response.body.as_json(), None);

    // No headers at all, status without a message.
    let third = &interactions[2];
    assert_eq!(third.request.body, Body::Empty);
    assert_eq!(third.response.status, 500);
    assert_eq!(third.response.reason, None);
    assert_eq!(
        third.response.body.as_json().unwrap()["error"]["message"],
        "boom"
    );
    assert_eq!(third.recorded_at, None);
}

#[test]
fn vcr_cassette_json() {
    let interactions = read_vcr_json(&data("vcr_cassette.json")).unwrap();
    assert_eq!(interactions.len(), 3);

    let first = &interactions[0];
    assert_eq!(first.request.method, "GET");
    assert_eq!(
        first.request.uri,
        "https://api.example.com/v1/models?page=1"
    );
    assert_eq!(first.request.body, Body::Empty);
    assert_eq!(
        first.request.headers.get("accept-encoding"),
        Some("identity")
    );
    assert_eq!(first.response.status, 200);
    assert_eq!(first.response.reason.as_deref(), Some("OK"));
    assert_eq!(
        first.response.body,
        Body::Text(r#"{"object": "list", "n": 1}"#.to_owned())
    );
    assert_eq!(
        first.recorded_at.as_deref(),
        Some("Tue, 01 Nov 2011 04:58:44 GMT")
    );

    // base64_string wrapped over lines, gzip-encoded SSE.
    let second = &interactions[1];
    assert_eq!(second.request.method, "POST");
    assert_eq!(second.request.body.as_json(), Some(json!({"stream": true})));
    assert_eq!(second.response.body_decoded_from, Some(ContentCoding::Gzip));
    let text = second.response.body.as_text().unwrap();
    assert!(text.starts_with("event: message_start\ndata: "));
    assert!(text.ends_with("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"));
    assert_eq!(
        second.response.decoded_headers().get("content-type"),
        Some("text/event-stream")
    );
    assert!(
        !second
            .response
            .decoded_headers()
            .contains("content-encoding")
    );

    // Bare status, bare body string, single-string and numeric header values.
    let third = &interactions[2];
    assert_eq!(third.request.body, Body::Empty);
    assert_eq!(third.request.headers.get("x-request-id"), Some("abc"));
    assert_eq!(third.request.headers.get("x-retry"), Some("2"));
    assert_eq!(third.response.status, 429);
    assert_eq!(third.response.reason, None);
    assert_eq!(third.response.body, Body::Text("slow down".to_owned()));
    assert_eq!(third.response.headers.get_all("set-cookie"), ["a=1", "b=2"]);
    assert_eq!(third.recorded_at, None);
}

#[test]
fn read_any_tells_the_formats_apart() {
    assert_eq!(
        read_any(&data("vcr_cassette.json")).unwrap(),
        read_vcr_json(&data("vcr_cassette.json")).unwrap()
    );
    assert_eq!(
        read_any(&data("typed_body.yaml")).unwrap(),
        read_vcrpy(&data("typed_body.yaml")).unwrap()
    );
    // VCR.py cassettes saved as JSON are read by the YAML reader.
    let vcrpy_json = r#"{"interactions": [{"request": {"method": "GET", "uri": "http://x/",
        "body": null, "headers": {}}, "response": {"status": {"code": 200, "message": "OK"},
        "headers": {}, "body": {"string": "hi"}}}], "version": 1}"#;
    let interactions = parse_any(vcrpy_json, "vcrpy.json").unwrap();
    assert_eq!(interactions[0].response.body, Body::Text("hi".to_owned()));
    assert_eq!(parse_vcrpy(vcrpy_json, "vcrpy.json").unwrap(), interactions);
}

#[test]
fn read_any_rejects_other_documents() {
    let err = parse_any("name: x\nsteps: []\n", "scenario.yaml").unwrap_err();
    assert!(matches!(err, ImportError::UnknownFormat { .. }), "{err:?}");
    let message = err.to_string();
    assert!(
        message.starts_with("scenario.yaml: not a recognised cassette"),
        "{message}"
    );
    assert!(message.contains("`name`, `steps`"), "{message}");

    let err = parse_any("[1, 2]", "list.json").unwrap_err();
    assert!(err.to_string().contains("found a list"), "{err}");

    let err = parse_any("http_interactions: []\n", "ruby.yml").unwrap_err();
    assert!(err.to_string().contains("Ruby VCR"), "{err}");
}

#[test]
fn empty_interaction_lists() {
    assert!(
        parse_vcrpy("interactions: []\nversion: 1\n", "e.yaml")
            .unwrap()
            .is_empty()
    );
    assert!(
        parse_vcrpy("interactions:\nversion: 1\n", "e.yaml")
            .unwrap()
            .is_empty()
    );
    assert!(
        parse_vcr_json(
            r#"{"http_interactions": [], "recorded_with": "x"}"#,
            "e.json"
        )
        .unwrap()
        .is_empty()
    );
}

#[test]
fn headers_api() {
    let mut headers = Headers::new();
    headers.push("Content-Type", vec!["application/json".to_owned()]);
    headers.push("X-Empty", Vec::new());
    headers.push("set-cookie", vec!["a=1".to_owned()]);
    headers.push("Set-Cookie", vec!["b=2".to_owned()]);
    assert_eq!(headers.get("CONTENT-TYPE"), Some("application/json"));
    assert!(headers.contains("x-empty"));
    assert_eq!(headers.get("x-empty"), None);
    assert_eq!(headers.get_all("SET-COOKIE"), ["a=1", "b=2"]);
    assert_eq!(headers.remove("Set-Cookie"), ["a=1", "b=2"]);
    assert!(!headers.contains("set-cookie"));
    assert_eq!(headers.len(), 2);
    let names: Vec<&str> = headers.iter().map(|(name, _)| name).collect();
    assert_eq!(names, ["Content-Type", "X-Empty"]);
    let rebuilt: Headers = headers.clone().into_inner().into_iter().collect();
    assert_eq!(rebuilt, headers);
}

#[test]
fn body_api() {
    assert!(Body::Empty.is_empty());
    assert_eq!(Body::Empty.as_bytes().as_ref(), b"");
    assert_eq!(Body::Empty.as_json(), None);
    assert_eq!(Body::Text("data: x\n\n".to_owned()).as_json(), None);
    assert_eq!(
        Body::Text("[1, 2]".to_owned()).as_json(),
        Some(json!([1, 2]))
    );
    assert_eq!(
        Body::Bytes(b"{\"a\":1}".to_vec()).as_json(),
        Some(json!({"a": 1}))
    );
    assert!(!Body::Json(json!(null)).is_empty());
    assert_eq!(
        Body::Json(json!({"b": 1, "a": [true]})).as_bytes().as_ref(),
        br#"{"b":1,"a":[true]}"#
    );
    assert_eq!(Body::from_bytes(Vec::new()), Body::Empty);
    assert_eq!(
        Body::from_bytes(b"ok".to_vec()),
        Body::Text("ok".to_owned())
    );
    assert_eq!(Body::from_bytes(vec![0xc3]), Body::Bytes(vec![0xc3]));
}

#[test]
fn parsed_body_strings_that_yaml_1_2_reads_as_numbers() {
    // PyYAML (YAML 1.1) writes these strings without quotes; they must not
    // turn into numbers. Real numbers keep their type.
    let text = "\
interactions:
- request:
    method: POST
    uri: https://api.example.com/v1/chat
    parsed_body:
      seed: 1e3
      mode: 0o17
      ratio: 1.0e-05
      tokens: 12
      list:
      - 2.5e10
      - 0.5
  response:
    status:
      code: 200
      message: OK
    parsed_body:
      text: 'quoted 1e3'
";
    let interactions = parse_vcrpy(text, "pyyaml.yaml").unwrap();
    assert_eq!(
        interactions[0].request.body,
        Body::Json(json!({
            "seed": "1e3",
            "mode": "0o17",
            "ratio": 1.0e-05,
            "tokens": 12,
            "list": ["2.5e10", 0.5],
        }))
    );
    assert_eq!(
        interactions[0].response.body,
        Body::Json(json!({"text": "quoted 1e3"}))
    );
}
