#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Export to VCR.py YAML: the VCR.py reader reads every exported cassette
//! back equal to what format v1 holds.

use std::path::PathBuf;

use llmvcr_cassette::StoredBody as V1Body;
use llmvcr_cassette::{
    Cassette, Frame, HeaderList, Interaction, RecordedInteraction, Request, Response, Stream,
    StreamFormat, convert::from_recorded, convert::to_recorded, import::parse_vcrpy,
    import::read_any, recorded::RecordedBody as Body, to_vcrpy,
};
use serde_json::json;

fn corpus() -> Vec<PathBuf> {
    crate::support::real_yaml()
}

fn lower(interaction: &RecordedInteraction) -> Vec<(String, Vec<String>)> {
    interaction
        .response
        .headers
        .iter()
        .chain(interaction.request.headers.iter())
        .map(|(n, v)| (n.to_ascii_lowercase(), v.to_vec()))
        .collect()
}

/// JSON-equal when both parse as JSON, byte-equal otherwise.
fn same_body(a: &Body, b: &Body) -> bool {
    match (a.as_json(), b.as_json()) {
        (Some(x), Some(y)) => x == y,
        _ => a.as_bytes() == b.as_bytes(),
    }
}

fn assert_reads_back_equal(what: &str, cassette: &Cassette) {
    let yaml = to_vcrpy(cassette).unwrap();
    let back = parse_vcrpy(&yaml, what).unwrap_or_else(|e| panic!("{e}\n{yaml}"));
    assert_eq!(back.len(), cassette.interactions.len(), "{what}");
    for (n, (read, v1)) in back.iter().zip(&cassette.interactions).enumerate() {
        let expected = to_recorded(v1);
        let what = format!("{what}#{n}");
        assert_eq!(read.request.method, expected.request.method, "{what}");
        assert_eq!(read.request.uri, expected.request.uri, "{what}");
        assert_eq!(read.response.status, expected.response.status, "{what}");
        assert_eq!(lower(read), lower(&expected), "{what}: headers");
        assert!(
            same_body(&read.request.body, &expected.request.body),
            "{what}: request body {:?} != {:?}",
            read.request.body,
            expected.request.body
        );
        assert!(
            same_body(&read.response.body, &expected.response.body),
            "{what}: response body"
        );
        // Text is byte-equal: streams come back as the bytes replay sends.
        if let Body::Text(text) = &expected.response.body {
            assert_eq!(read.response.body.as_bytes(), text.as_bytes(), "{what}");
        }
    }
}

#[test]
fn every_real_cassette_exports_to_vcrpy_and_reads_back_equal() {
    let mut count = 0;
    for path in corpus() {
        let cassette = Cassette {
            interactions: read_any(&path)
                .unwrap()
                .iter()
                .map(|i| from_recorded(i, &[]))
                .collect(),
            ..Cassette::default()
        };
        count += cassette.interactions.len();
        assert_reads_back_equal(&path.display().to_string(), &cassette);
    }
    assert_eq!(count, 213);
}

fn one(body: Option<V1Body>, response: Response) -> Cassette {
    let mut headers = HeaderList::default();
    headers.append("content-type", "application/octet-stream");
    headers.append("x-twice", "1");
    headers.append("x-twice", "2");
    Cassette {
        interactions: vec![Interaction {
            recorded_at: None,
            request: Request {
                method: "PUT".into(),
                url: "https://x/upload?key=<REDACTED>".into(),
                headers,
                body,
            },
            response,
        }],
        ..Cassette::default()
    }
}

#[test]
fn the_string_dialect_as_vcrpy_writes_it() {
    let cassette = one(
        Some(V1Body::Json(json!({"q": "yes", "n": 1}).into())),
        Response {
            status: 429,
            headers: HeaderList::default(),
            body: Some(V1Body::Text("slow down\n".into())),
            stream: None,
        },
    );
    let yaml = to_vcrpy(&cassette).unwrap();
    assert_eq!(
        yaml,
        "interactions:
- request:
    body: '{\"q\":\"yes\",\"n\":1}'
    headers:
      content-type:
      - application/octet-stream
      x-twice:
      - '1'
      - '2'
    method: PUT
    uri: https://x/upload?key=<REDACTED>
  response:
    body:
      string: |
        slow down
    headers: {}
    status:
      code: 429
      message: Too Many Requests
version: 1
"
    );
    assert_reads_back_equal("dialect", &cassette);
}

#[test]
fn binary_bodies_are_binary_and_streams_are_their_bytes() {
    use base64::Engine as _;
    let bytes = [0x1f_u8, 0x00, 0xff, 0xfe, b'!'];
    let cassette = one(
        Some(V1Body::Base64(
            base64::engine::general_purpose::STANDARD.encode(bytes),
        )),
        Response {
            status: 200,
            headers: HeaderList::default(),
            body: None,
            stream: Some(Stream {
                format: StreamFormat::Sse,
                frames: vec![
                    Frame {
                        data: Some(json!({"a": 1}).into()),
                        ..Frame::default()
                    },
                    Frame {
                        text: Some("[DONE]".into()),
                        ..Frame::default()
                    },
                ],
            }),
        },
    );
    let yaml = to_vcrpy(&cassette).unwrap();
    assert!(yaml.contains("body: !!binary "), "{yaml}");
    let back = parse_vcrpy(&yaml, "binary").unwrap();
    assert_eq!(back[0].request.body, Body::Bytes(bytes.to_vec()));
    assert_eq!(
        back[0].response.body,
        Body::Text("data: {\"a\":1}\n\ndata: [DONE]\n\n".into())
    );
    assert_reads_back_equal("binary", &cassette);
}

#[test]
fn empty_bodies_stay_empty() {
    let cassette = one(
        None,
        Response {
            status: 204,
            headers: HeaderList::default(),
            body: None,
            stream: None,
        },
    );
    let back = parse_vcrpy(&to_vcrpy(&cassette).unwrap(), "empty").unwrap();
    assert_eq!(back[0].request.body, Body::Empty);
    assert_eq!(back[0].response.body, Body::Empty);
    assert_eq!(back[0].response.reason.as_deref(), Some("No Content"));
}
