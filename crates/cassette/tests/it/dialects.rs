//! Every dialect VCR.py's recorders and serialisers have written.
//!
//! Each cassette below is written in the layout VCR.py gives it: the dict a
//! recorder (stub) builds, passed through `serializers.compat` and dumped by
//! PyYAML's full dumper, which spells bytes as `!!binary` and Python objects
//! with `!!python/...` tags.

use llmvcr_cassette::{
    ImportError, RecordedInteraction, StreamFormat, convert::from_recorded, convert::to_recorded,
    import::parse_any, import::parse_vcrpy, import::read_any, import::read_vcrpy,
    read::parse_any_cassette, recorded::ContentCoding, recorded::RecordedBody as Body,
};
use serde_json::json;

use crate::support::data;

fn vcrpy(text: &str) -> Vec<RecordedInteraction> {
    let interactions = parse_vcrpy(text, "dialect.yaml").unwrap();
    assert_eq!(parse_any(text, "dialect.yaml").unwrap(), interactions);
    interactions
}

fn sse_frame_texts(interaction: &RecordedInteraction) -> Vec<String> {
    let converted = from_recorded(interaction, &[]);
    let stream = converted.response.stream.expect("a framed stream");
    assert_eq!(stream.format, StreamFormat::Sse);
    assert_eq!(converted.response.body, None);
    stream
        .frames
        .iter()
        .map(|frame| match (&frame.data, &frame.text) {
            (Some(data), _) => data.to_string(),
            (None, Some(text)) => text.clone(),
            (None, None) => String::new(),
        })
        .collect()
}

/// VCR.py's first httpx recorder: `status_code`, `http_version`, headers as
/// lists, and `content` holding the decoded SSE text under a gzip header.
#[test]
fn httpx_status_code_and_content_streamed() {
    let interactions = read_vcrpy(&data("vcrpy_httpx_sse.yaml")).unwrap();
    assert_eq!(
        interactions,
        read_any(&data("vcrpy_httpx_sse.yaml")).unwrap()
    );
    let [interaction] = interactions.as_slice() else {
        panic!("one interaction");
    };
    let request = &interaction.request;
    assert_eq!(request.method, "POST");
    assert_eq!(request.uri, "https://api.openai.com/v1/chat/completions");
    assert_eq!(request.body.as_json().unwrap()["stream"], json!(true));

    let response = &interaction.response;
    assert_eq!(response.status, 200);
    assert_eq!(response.reason, None);
    assert_eq!(response.headers.get("content-encoding"), Some("gzip"));
    assert_eq!(response.body_decoded_from, Some(ContentCoding::Gzip));
    let decoded = response.decoded_headers();
    assert!(!decoded.contains("content-encoding"), "{decoded:?}");
    assert_eq!(
        decoded.get("content-type"),
        Some("text/event-stream; charset=utf-8")
    );
    let text = response.body.as_text().unwrap();
    assert!(text.starts_with("data: {\"id\":\"chatcmpl-1\""), "{text}");
    // PyYAML folded the long line at a space; the space is kept.
    assert!(text.contains(r#"{"content":" there"}"#), "{text}");
    assert!(text.ends_with("data: [DONE]\n\n"));

    let frames = sse_frame_texts(interaction);
    assert_eq!(frames.len(), 6);
    assert!(frames[1].contains(r#""content":"Hello""#), "{}", frames[1]);
    assert!(frames[4].contains(r#""total_tokens":11"#), "{}", frames[4]);
    assert_eq!(frames[5], "[DONE]");

    // Replay reads the file through the same conversion; it does not claim
    // gzip for the plain frames.
    let text = std::fs::read_to_string(data("vcrpy_httpx_sse.yaml")).unwrap();
    let cassette = parse_any_cassette(&text, "httpx.yaml", &[]).unwrap();
    let replayed = &cassette.interactions[0].response;
    assert_eq!(replayed.headers.get("content-encoding"), None);
    assert_eq!(
        replayed.headers.get("content-type"),
        Some("text/event-stream; charset=utf-8")
    );
    assert_eq!(replayed.stream.as_ref().unwrap().frames.len(), 6);
    assert_eq!(
        to_recorded(&cassette.interactions[0]).response.body,
        interaction.response.body
    );
}

/// The same recorder before it kept repeated headers: each header one
/// string; `content` empty, null, missing, `!!binary` (a recorder that kept
/// bytes as bytes) or base64 text flagged `base64encoded: true` (a patched
/// recorder).
#[test]
fn httpx_content_forms_and_single_string_headers() {
    let text = r#"interactions:
- request:
    body: '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}'
    headers:
      accept: application/json
      content-type: application/json
    method: POST
    uri: https://api.openai.com/v1/chat/completions
  response:
    content: '{"id":"chatcmpl-2","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"Hi!"},"finish_reason":"stop"}],"usage":{"prompt_tokens":8,"completion_tokens":2,"total_tokens":10}}'
    headers:
      content-encoding: gzip
      content-length: '190'
      content-type: application/json
    http_version: HTTP/1.1
    status_code: 200
- request:
    body: ''
    headers: {}
    method: DELETE
    uri: https://api.openai.com/v1/files/file-1
  response:
    content: ''
    headers:
      content-encoding: gzip
    http_version: HTTP/2
    status_code: 204
- request:
    body: null
    headers: {}
    method: GET
    uri: https://api.openai.com/v1/models
  response:
    content: null
    headers: {}
    http_version: HTTP/1.1
    status_code: 404
- request:
    body: ''
    headers: {}
    method: GET
    uri: https://api.openai.com/v1/empty
  response:
    headers: {}
    status_code: 200
- request:
    body: ''
    headers: {}
    method: GET
    uri: https://api.openai.com/v1/bytes
  response:
    content: !!binary |
      eyJvayI6dHJ1ZX0=
    headers:
      Content-Encoding:
      - gzip
      Content-Type:
      - application/json
    http_version: HTTP/1.1
    status_code: 200
- request:
    body: ''
    headers: {}
    method: GET
    uri: https://api.openai.com/v1/raw
  response:
    content: !!binary |
      H4sIAAAAAAAAA6tWys9WslIoKSpNrQUAxhmrFwwAAAA=
    headers:
      Content-Encoding:
      - gzip
    http_version: HTTP/1.1
    status_code: 200
- request:
    body: ''
    headers: {}
    method: GET
    uri: https://api.openai.com/v1/files/file-1/content
  response:
    base64encoded: true
    content: iVBORw0KGgo=
    headers:
      content-type: image/png
    http_version: HTTP/1.1
    status_code: 200
version: 1
"#;
    let interactions = vcrpy(text);
    assert_eq!(interactions.len(), 7);

    let json_reply = &interactions[0].response;
    assert_eq!(json_reply.status, 200);
    assert_eq!(
        json_reply.headers.get("Content-Type"),
        Some("application/json")
    );
    assert_eq!(json_reply.body_decoded_from, Some(ContentCoding::Gzip));
    assert!(json_reply.decoded_headers().get("content-length").is_none());
    assert_eq!(
        json_reply.body.as_json().unwrap()["usage"]["total_tokens"],
        json!(10)
    );
    let converted = from_recorded(&interactions[0], &[]);
    assert!(converted.response.stream.is_none());
    assert_eq!(converted.response.headers.get("content-encoding"), None);
    assert!(matches!(
        converted.response.body,
        Some(llmvcr_cassette::StoredBody::Json(_))
    ));

    assert_eq!(interactions[1].request.body, Body::Empty);
    assert_eq!(interactions[1].request.method, "DELETE");
    assert_eq!(interactions[1].response.status, 204);
    assert_eq!(interactions[1].response.body, Body::Empty);
    assert_eq!(interactions[2].response.status, 404);
    assert_eq!(interactions[2].response.body, Body::Empty);
    assert_eq!(interactions[3].response.body, Body::Empty);
    assert!(interactions[3].response.headers.is_empty());

    // Bytes that are not gzip under a gzip header were already decoded.
    assert_eq!(
        interactions[4].response.body,
        Body::Text(r#"{"ok":true}"#.to_owned())
    );
    assert_eq!(
        interactions[4].response.body_decoded_from,
        Some(ContentCoding::Gzip)
    );
    // Bytes that are gzip are gunzipped.
    assert_eq!(
        interactions[5].response.body,
        Body::Text(r#"{"ok": true}"#.to_owned())
    );
    assert_eq!(
        interactions[5].response.body_decoded_from,
        Some(ContentCoding::Gzip)
    );
    // Base64 text flagged by a patched recorder.
    assert_eq!(
        interactions[6].response.body,
        Body::Bytes(vec![0x89, b'P', b'N', b'G', b'\r', b'\n', 0x1a, b'\n'])
    );
}

/// The requests / urllib3 / http.client recorder: `status: {code, message}`,
/// headers as lists, `body: {string}` holding text or `!!binary` gzip, and a
/// request body that is a string or `!!binary` bytes.
#[test]
fn requests_and_urllib3_dialect() {
    let text = r#"interactions:
- request:
    body: !!binary |
      eyJtb2RlbCI6ICJtIiwgInByb21wdCI6ICJoaSJ9
    headers:
      Accept:
      - '*/*'
      Content-Length:
      - '29'
      User-Agent:
      - python-requests/2.31.0
    method: POST
    uri: https://api.example.com/v1/completions?b=2&a=1
  response:
    body:
      string: !!binary |
        H4sIAAAAAAAAA6tWys9WslIoKSpNrQUAxhmrFwwAAAA=
    headers:
      Content-Encoding:
      - gzip
      Content-Length:
      - '32'
      Set-Cookie:
      - a=1; Path=/
      - b=2; Path=/
    status:
      code: 200
      message: OK
- request:
    body: !!binary |
      //79
    headers:
      Content-Type:
      - application/octet-stream
    method: PUT
    uri: https://api.example.com/v1/blob
  response:
    body:
      string: '{"error": {"message": "too large"}}'
    headers:
      Content-Type:
      - application/json
    status:
      code: 413
      message: Request Entity Too Large
- request:
    body: model=m&prompt=hi
    headers:
      Content-Type:
      - application/x-www-form-urlencoded
    method: POST
    uri: https://api.example.com/v1/form
  response:
    body:
      string: ''
    headers: {}
    status:
      code: 202
      message: Accepted
version: 1
"#;
    let interactions = vcrpy(text);
    let first = &interactions[0];
    assert_eq!(
        first.request.body,
        Body::Text(r#"{"model": "m", "prompt": "hi"}"#.to_owned())
    );
    assert_eq!(first.request.body_decoded_from, None);
    assert_eq!(
        first.request.uri,
        "https://api.example.com/v1/completions?b=2&a=1"
    );
    assert_eq!(first.response.status, 200);
    assert_eq!(first.response.reason.as_deref(), Some("OK"));
    assert_eq!(
        first.response.body,
        Body::Text(r#"{"ok": true}"#.to_owned())
    );
    assert_eq!(first.response.body_decoded_from, Some(ContentCoding::Gzip));
    assert_eq!(
        first.response.headers.get_all("set-cookie"),
        ["a=1; Path=/", "b=2; Path=/"]
    );
    assert!(
        first
            .response
            .decoded_headers()
            .get("content-length")
            .is_none()
    );

    let second = &interactions[1];
    assert_eq!(second.request.body, Body::Bytes(vec![0xff, 0xfe, 0xfd]));
    assert_eq!(second.response.status, 413);
    assert_eq!(
        second.response.reason.as_deref(),
        Some("Request Entity Too Large")
    );
    assert_eq!(
        second.response.body.as_json().unwrap()["error"]["message"],
        "too large"
    );

    let third = &interactions[2];
    assert_eq!(
        third.request.body,
        Body::Text("model=m&prompt=hi".to_owned())
    );
    assert_eq!(third.response.body, Body::Empty);
    assert_eq!(third.response.body_decoded_from, None);
}

/// The aiohttp recorder: `url` in the response (a string, or a pickled
/// `yarl.URL`), headers as one string each or as lists, names written as
/// `multidict` `istr` objects, a decoded body under a gzip header, `body: {}`
/// for a response without a body, and a request body that was a dict.
#[test]
fn aiohttp_dialect() {
    let text = r#"interactions:
- request:
    body:
      model: m
      temperature: 0.0
    headers:
      Content-Type:
      - application/json
    method: POST
    uri: https://api.example.com/v1/chat
  response:
    body:
      string: '{"ok": true}'
    headers:
      ? !!python/object/new:multidict._multidict.istr
      - Content-Encoding
      : gzip
      ? !!python/object/new:multidict._multidict.istr
      - Content-Type
      : application/json
    status:
      code: 200
      message: OK
    url: !!python/object/new:yarl.URL
      state: !!python/tuple
      - https://api.example.com/v1/chat
- request:
    body: null
    headers: {}
    method: get
    uri: https://api.example.com/v1/none
  response:
    body: {}
    headers:
      Date:
      - Mon, 01 Jul 2024 10:00:00 GMT
      Set-Cookie:
      - a=1
      - b=2
    status:
      code: 204
      message: No Content
    url: https://api.example.com/v1/none
- request:
    body: null
    headers: {}
    method: GET
    uri: https://api.example.com/v1/image
  response:
    body:
      string: !!binary |
        iVBORw0KGgo=
    headers:
      Content-Encoding: gzip
      Content-Type: image/png
    status:
      code: 200
      message: OK
    url: https://api.example.com/v1/image
version: 1
"#;
    let interactions = vcrpy(text);
    let first = &interactions[0];
    assert_eq!(
        first.request.body,
        Body::Json(json!({"model": "m", "temperature": 0.0}))
    );
    let names: Vec<&str> = first.response.headers.iter().map(|(n, _)| n).collect();
    assert_eq!(names, ["Content-Encoding", "Content-Type"]);
    assert_eq!(
        first.response.body,
        Body::Text(r#"{"ok": true}"#.to_owned())
    );
    assert_eq!(first.response.body_decoded_from, Some(ContentCoding::Gzip));
    assert_eq!(
        first.response.decoded_headers().get("content-type"),
        Some("application/json")
    );

    let second = &interactions[1];
    assert_eq!(second.request.method, "GET");
    assert_eq!(second.response.status, 204);
    assert_eq!(second.response.reason.as_deref(), Some("No Content"));
    assert_eq!(second.response.body, Body::Empty);
    assert_eq!(
        second.response.headers.get_all("set-cookie"),
        ["a=1", "b=2"]
    );

    // aiohttp decoded the bytes; they are kept, and the gzip header dropped.
    let third = &interactions[2];
    assert_eq!(
        third.response.body,
        Body::Bytes(vec![0x89, b'P', b'N', b'G', b'\r', b'\n', 0x1a, b'\n'])
    );
    assert_eq!(third.response.body_decoded_from, Some(ContentCoding::Gzip));
    assert!(
        !third
            .response
            .decoded_headers()
            .contains("content-encoding")
    );
}

/// Tornado's recorder and Python tuples: headers as a list of
/// `[name, [values]]` pairs (`!!python/tuple`) or `[name, value]` pairs, a
/// tuple as a header value, and request bodies that PyYAML pickled: a
/// file-like `BytesIO` and an iterator of chunks.
#[test]
fn header_pairs_tuples_and_pickled_request_bodies() {
    let text = r#"interactions:
- request:
    body: !!python/object/new:_io.BytesIO
      state: !!python/tuple
      - !!binary |
        ZmlsZSBib2R5
      - 0
      - null
    headers:
      X-Tuple: !!python/tuple
      - a
    method: PUT
    uri: https://x/upload
  response:
    body:
      string: ok
    headers:
    - !!python/tuple
      - Content-Type
      - - text/plain
    - !!python/tuple
      - X-Multi
      - - '1'
        - '2'
    status:
      code: 201
      message: Created
    url: https://x/upload
- request:
    body: !!python/object/apply:builtins.iter
      args:
      - - !!binary |
          Y2h1bmsxLA==
        - !!binary |
          Y2h1bmsy
      state: 0
    headers:
    - [Content-Type, application/json]
    - [X-Empty, null]
    method: POST
    uri: https://x/iter
  response:
    body:
      string: !!binary |
        /wA=
    headers:
    - [Content-Type, [application/octet-stream]]
    status: 200
version: 1
"#;
    let interactions = vcrpy(text);
    let first = &interactions[0];
    assert_eq!(first.request.body, Body::Text("file body".to_owned()));
    assert_eq!(first.request.headers.get("x-tuple"), Some("a"));
    assert_eq!(
        first.response.headers.get("content-type"),
        Some("text/plain")
    );
    assert_eq!(first.response.headers.get_all("x-multi"), ["1", "2"]);
    assert_eq!(first.response.body, Body::Text("ok".to_owned()));

    let second = &interactions[1];
    assert_eq!(second.request.body, Body::Text("chunk1,chunk2".to_owned()));
    assert_eq!(
        second.request.headers.get("content-type"),
        Some("application/json")
    );
    assert!(second.request.headers.contains("x-empty"));
    assert_eq!(second.response.status, 200);
    assert_eq!(second.response.reason, None);
    assert_eq!(second.response.body, Body::Bytes(vec![0xff, 0x00]));
}

/// Bodies as plain strings (not `{string: ...}`) in requests and responses,
/// `status` as a plain integer, `url` for `uri`, lower-case methods, and
/// every way to say "no body": null, missing, empty string, `{string: ''}`,
/// `{string: null}`.
#[test]
fn plain_string_bodies_plain_status_and_empty_bodies() {
    let text = r#"interactions:
- request:
    body: '{"input": "hi"}'
    headers:
      content-type: application/json
    method: post
    url: https://api.example.com/v1/embeddings
  response:
    body: '{"data": [{"embedding": [0.5]}]}'
    headers:
      content-type: application/json
    status: 200
- request:
    method: head
    uri: https://api.example.com/v1/a
  response:
    status: 200
- request:
    body: ''
    method: GET
    uri: https://api.example.com/v1/b
  response:
    body: ''
    status: 204
- request:
    body: {string: null}
    method: GET
    uri: https://api.example.com/v1/c
  response:
    body: {string: ''}
    status: 304
- request:
    body: null
    method: GET
    uri: https://api.example.com/v1/d
  response:
    body: null
    headers: null
    status: 500
version: 1
"#;
    let interactions = vcrpy(text);
    let first = &interactions[0];
    assert_eq!(first.request.method, "POST");
    assert_eq!(first.request.uri, "https://api.example.com/v1/embeddings");
    assert_eq!(
        first.request.body,
        Body::Text(r#"{"input": "hi"}"#.to_owned())
    );
    assert_eq!(first.response.status, 200);
    assert_eq!(
        first.response.body.as_json().unwrap()["data"][0]["embedding"][0],
        json!(0.5)
    );
    assert_eq!(interactions[1].request.method, "HEAD");
    for interaction in &interactions[1..] {
        assert_eq!(interaction.request.body, Body::Empty);
        assert_eq!(interaction.response.body, Body::Empty);
        assert_eq!(interaction.response.body_decoded_from, None);
    }
    let statuses: Vec<u16> = interactions.iter().map(|i| i.response.status).collect();
    assert_eq!(statuses, [200, 200, 204, 304, 500]);
}

/// VCR.py before 1.0: the file is the list of interactions; a request is a
/// pickled `vcr.request.Request` with `protocol`, `host`, `port` and `path`
/// and its headers a pickled `frozenset` of pairs; the response headers are
/// raw header lines; Python 2 strings are tagged `!!python/unicode`.
#[test]
fn pre_1_0_list_cassettes() {
    let text = r#"# recorded before cassettes had a version
- request: !!python/object:vcr.request.Request
    body: null
    headers: !!python/object/apply:__builtin__.frozenset
    - - !!python/tuple [accept-encoding, 'gzip, deflate, compress']
      - !!python/tuple [accept, '*/*']
    host: api.example.com
    method: GET
    path: /v1/models
    port: 443
    protocol: https
  response:
    body: {string: !!python/unicode "{\n  \"object\": \"list\"\n}"}
    headers: [!!python/unicode "content-type: application/json\r\n", !!python/unicode "content-length:
        23\r\n", !!python/unicode "x-note: a: b\r\n"]
    status: {code: 200, message: OK}
- request: !!python/object:vcr.request.Request
    body: '{"a": 1}'
    headers: {accept: '*/*'}
    host: localhost
    method: POST
    path: /echo
    port: 8080
    protocol: http
  response:
    body: {string: ''}
    headers: []
    status: {code: 201, message: Created}
"#;
    let interactions = vcrpy(text);
    assert_eq!(interactions.len(), 2);
    let first = &interactions[0];
    assert_eq!(first.request.uri, "https://api.example.com/v1/models");
    assert_eq!(first.request.headers.get("accept"), Some("*/*"));
    assert_eq!(
        first.request.headers.get("accept-encoding"),
        Some("gzip, deflate, compress")
    );
    assert_eq!(first.response.headers.get("content-length"), Some("23"));
    assert_eq!(first.response.headers.get("x-note"), Some("a: b"));
    assert_eq!(
        first.response.body.as_json().unwrap(),
        json!({"object": "list"})
    );
    let second = &interactions[1];
    assert_eq!(second.request.uri, "http://localhost:8080/echo");
    assert_eq!(second.request.body.as_json().unwrap(), json!({"a": 1}));
    assert_eq!(second.response.status, 201);
    assert!(second.response.headers.is_empty());

    let err = parse_vcrpy(
        "- request: !!python/object:vcr.request.Request\n    method: GET\n  response: {status: 200}\n",
        "old.yaml",
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "old.yaml:1: [0].request.uri: required field is missing"
    );
}

/// VCR.py's JSON serialiser writes the same dicts as JSON (it cannot write
/// bytes); read through the YAML reader.
#[test]
fn json_serialiser_httpx_and_requests() {
    let text = r#"{
    "interactions": [
        {
            "request": {
                "body": "{\"stream\": true}",
                "headers": {"content-type": ["application/json"]},
                "method": "POST",
                "uri": "https://api.openai.com/v1/chat/completions"
            },
            "response": {
                "content": "data: {\"choices\": []}\n\ndata: [DONE]\n\n",
                "headers": {"content-encoding": ["gzip"], "content-type": ["text/event-stream"]},
                "http_version": "HTTP/1.1",
                "status_code": 200
            }
        },
        {
            "request": {"body": null, "headers": {}, "method": "GET", "uri": "https://x/"},
            "response": {
                "body": {"string": "ok"},
                "headers": {"Content-Type": ["text/plain"]},
                "status": {"code": 200, "message": "OK"}
            }
        }
    ],
    "version": 1
}
"#;
    let interactions = parse_any(text, "cassette.json").unwrap();
    assert_eq!(interactions.len(), 2);
    assert_eq!(
        sse_frame_texts(&interactions[0]),
        [r#"{"choices":[]}"#, "[DONE]"]
    );
    assert_eq!(
        interactions[0].response.body_decoded_from,
        Some(ContentCoding::Gzip)
    );
    assert_eq!(interactions[1].response.body, Body::Text("ok".to_owned()));
}

/// Malformed dialect input is an error naming the file, the interaction,
/// the field and the line, never a panic.
#[test]
fn malformed_dialects_name_the_field() {
    let cases = [
        (
            "    status_code: abc\n",
            "dialect.yaml:2: interactions[0].response.status_code: expected an integer HTTP status from 100 to 999, found a string (\"abc\")",
        ),
        (
            "    status_code: 200\n    content: !!binary |\n      not*base64\n",
            "dialect.yaml:2: interactions[0].response.content: invalid base64",
        ),
        (
            "    status_code: 200\n    base64encoded: true\n    content: '***'\n",
            "dialect.yaml:2: interactions[0].response.content: invalid base64",
        ),
        (
            "    status: 200\n    headers:\n    - [a, b, c]\n",
            "dialect.yaml:2: interactions[0].response.headers: expected a mapping of header names to values, found a list",
        ),
        (
            "    status: 200\n    headers:\n    - no colon here\n",
            "dialect.yaml:2: interactions[0].response.headers: expected a mapping of header names to values, found a list",
        ),
        (
            "    status: 200\n    body: !!python/object/new:decimal.Decimal\n    - '1'\n",
            "dialect.yaml:2: interactions[0].response.body: expected a body, found a Python object (!!python/object/new:decimal.Decimal)",
        ),
        (
            "    status: 200\n    headers:\n      Content-Encoding: gzip\n    content: !!binary |\n      H4sIAAAAAAAAA////w==\n",
            "dialect.yaml:2: interactions[0].response.content: cannot decode gzip body",
        ),
    ];
    for (response, expected) in cases {
        let text = format!(
            "interactions:\n- request:\n    method: GET\n    uri: http://x/\n  response:\n{response}version: 1\n"
        );
        let err = parse_vcrpy(&text, "dialect.yaml").unwrap_err();
        assert!(err.to_string().starts_with(expected), "{err}\n{expected}");
        assert_eq!(err.interaction(), Some(0));
        assert_eq!(err.line(), Some(2));
        assert_eq!(err.file(), "dialect.yaml");
    }
}

/// A request body that PyYAML pickled as some other object (aiohttp form
/// data) keeps its pickled state as JSON, so the file still imports.
#[test]
fn other_pickled_request_bodies_keep_their_state() {
    let text = "\
interactions:
- request:
    body: !!python/object:aiohttp.formdata.FormData
      _fields:
      - - !!python/object/apply:multidict._multidict.MultiDict
          - - - name
              - a
        - {}
        - x
      _is_multipart: false
    method: POST
    uri: https://x/form
  response:
    status: 200
";
    let interactions = vcrpy(text);
    let Body::Json(state) = &interactions[0].request.body else {
        panic!("{:?}", interactions[0].request.body);
    };
    assert_eq!(state["_is_multipart"], json!(false));
}

/// Pre-1.0 cassettes written by the JSON serialiser: a JSON list.
#[test]
fn pre_1_0_json_lists() {
    let text = r#"[
    {
        "request": {
            "body": null,
            "protocol": "https",
            "method": "GET",
            "headers": {"accept": "*/*"},
            "host": "api.example.com",
            "path": "/v1/models?limit=1",
            "port": 443
        },
        "response": {
            "status": {"message": "OK", "code": 200},
            "headers": ["content-type: application/json\r\n", "content-length: 2\r\n"],
            "body": {"string": "{}"}
        }
    }
]"#;
    let interactions = parse_any(text, "old.json").unwrap();
    assert_eq!(interactions.len(), 1);
    assert_eq!(
        interactions[0].request.uri,
        "https://api.example.com/v1/models?limit=1"
    );
    assert_eq!(
        interactions[0].response.headers.get("content-type"),
        Some("application/json")
    );
    assert_eq!(interactions[0].response.body.as_json(), Some(json!({})));
}

/// Every prefix of the dialect cassettes, and every one with a line left
/// out, reads or fails cleanly.
#[test]
fn damaged_dialect_cassettes_never_panic() {
    let httpx = std::fs::read_to_string(data("vcrpy_httpx_sse.yaml")).unwrap();
    let pickles = "\
- request: !!python/object:vcr.request.Request
    body: !!python/object/new:_io.BytesIO
      state: !!python/tuple
      - !!binary |
        ZmlsZSBib2R5
      - 0
    headers: !!python/object/apply:__builtin__.frozenset
    - - !!python/tuple [accept, '*/*']
    host: h
    method: GET
    path: /
    port: 80
    protocol: http
  response:
    body: !!python/object/apply:builtins.iter
      args:
      - - !!binary |
          Y2h1bmsx
    headers:
    - !!python/tuple
      - ? !!python/object/new:multidict._multidict.istr
        - X
        : y
      - - '1'
    - [a, [b, [c]]]
    - 'x: y'
    status_code: '200'
    content: !!binary |
      H4sI
";
    for text in [httpx.as_str(), pickles] {
        let lines: Vec<&str> = text.split_inclusive('\n').collect();
        for cut in 0..=lines.len() {
            let prefix = lines[..cut].concat();
            let _ = parse_any(&prefix, "cut.yaml");
            let without: String = lines
                .iter()
                .enumerate()
                .filter(|(index, _)| *index != cut)
                .map(|(_, line)| *line)
                .collect();
            let _ = parse_any(&without, "cut.yaml");
        }
        for cut in (0..text.len())
            .filter(|i| text.is_char_boundary(*i))
            .step_by(7)
        {
            let _ = parse_any(&text[..cut], "cut.yaml");
        }
    }
}

/// Python 2 era version 1 cassettes tag strings `!!python/unicode` and
/// `!!python/str`, keys included; headers given to the client as bytes are
/// `!!binary`; a status may be a pickled `http.HTTPStatus`.
#[test]
fn python_string_tags_bytes_headers_and_pickled_statuses() {
    let text = r#"interactions:
- request:
    body: !!python/unicode '{"a": 1}'
    headers:
      !!python/unicode 'Content-Type': [!!python/unicode 'application/json']
      ? !!binary |
        WC1CeXRlcw==
      : - !!binary |
          dmFsdWU=
      Accept:
      - !!binary |
        Ki8q
    method: !!python/unicode 'post'
    !!python/unicode 'uri': !!python/unicode 'https://x/y'
  response:
    body: {string: !!python/str 'ok'}
    headers: {!!python/unicode 'content-type': [!!python/unicode 'text/plain']}
    status:
      code: !!python/object/apply:http.HTTPStatus
      - 200
      message: !!python/unicode 'OK'
- request:
    method: GET
    uri: https://x/z
  response:
    status: !!python/object/apply:http.HTTPStatus [404]
version: 1
"#;
    let interactions = vcrpy(text);
    let first = &interactions[0];
    assert_eq!(first.request.method, "POST");
    assert_eq!(first.request.uri, "https://x/y");
    assert_eq!(first.request.body, Body::Text(r#"{"a": 1}"#.to_owned()));
    assert_eq!(
        first.request.headers.get("content-type"),
        Some("application/json")
    );
    assert_eq!(first.request.headers.get("x-bytes"), Some("value"));
    assert_eq!(first.request.headers.get("accept"), Some("*/*"));
    assert_eq!(first.response.status, 200);
    assert_eq!(first.response.reason.as_deref(), Some("OK"));
    assert_eq!(first.response.body, Body::Text("ok".to_owned()));
    assert_eq!(
        first.response.headers.get("content-type"),
        Some("text/plain")
    );
    assert_eq!(interactions[1].response.status, 404);
}

#[test]
fn lists_that_are_not_interactions_are_not_cassettes() {
    let err = parse_vcrpy("- 1\n- 2\n", "list.yaml").unwrap_err();
    assert_eq!(
        err.to_string(),
        "list.yaml: (document): expected a mapping with an `interactions` list, found a list"
    );
    let err = parse_any("- {name: x}\n", "list.yaml").unwrap_err();
    assert!(matches!(err, ImportError::UnknownFormat { .. }), "{err}");
    // A later item that is not an interaction is an error naming it.
    let err = parse_vcrpy(
        "- request: {method: GET, uri: 'http://x/'}\n  response: {status: 200}\n- 7\n",
        "list.yaml",
    )
    .unwrap_err();
    assert_eq!(err.interaction(), Some(1));
    assert_eq!(err.line(), Some(3));
    assert!(
        err.to_string()
            .starts_with("list.yaml:3: [1]: expected a mapping"),
        "{err}"
    );
}
