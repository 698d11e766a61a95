#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Conversions between imported recordings, format v1 and stream bytes.
//!
//! The corpus test is the format's round trip: every real cassette, imported,
//! converted to v1, written, read back and converted to the importers' form,
//! keeps its statuses, headers and bodies (JSON-equal frame by frame for JSON,
//! byte-equal for text).

use std::path::PathBuf;

use llmvcr_cassette::StoredBody as V1Body;
use llmvcr_cassette::{
    Frame, FrameCapture, Headers, RecordedInteraction, Stream, StreamFormat, convert::frame_bytes,
    convert::from_recorded, convert::stream_bytes, convert::stream_chunks, convert::to_recorded,
    import::read_any, parse, recorded::RecordedBody as Body, to_yaml,
};
use serde_json::{Value, json};

fn corpus() -> Vec<(String, PathBuf)> {
    let root = crate::support::root().join("cassettes/real");
    crate::support::real_yaml()
        .into_iter()
        .map(|p| (p.strip_prefix(&root).unwrap().display().to_string(), p))
        .collect()
}

/// Headers as comparable `(lowercase name, values)` lists, repeated names
/// joined.
fn normalised(headers: &Headers) -> Vec<(String, Vec<String>)> {
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    for (name, values) in headers.iter() {
        let name = name.to_ascii_lowercase();
        match out.iter_mut().find(|(n, _)| *n == name) {
            Some((_, have)) => have.extend(values.iter().cloned()),
            None => out.push((name, values.to_vec())),
        }
    }
    out
}

fn content_type(headers: &Headers) -> String {
    headers
        .get("content-type")
        .unwrap_or_default()
        .to_ascii_lowercase()
}

/// The frames of a body, in a comparable form: JSON values where the frame
/// data is JSON, text otherwise.
fn frames_of(format: StreamFormat, bytes: &[u8]) -> Vec<Value> {
    let mut capture = FrameCapture::new(format);
    capture.push(bytes, 0);
    let stream = capture.finish();
    assert_eq!(stream.format, format, "the body frames");
    stream
        .frames
        .iter()
        .map(|f| {
            json!({
                "event": f.event, "id": f.id, "retry": f.retry, "comment": f.comment,
                "data": f.data, "text": f.text,
            })
        })
        .collect()
}

/// Asserts that two bodies are equal: JSON-equal when the original is JSON,
/// byte-equal otherwise, and frame by frame for streams.
fn assert_same_body(what: &str, format: Option<StreamFormat>, original: &Body, back: &Body) {
    if let Some(format) = format {
        assert_eq!(
            frames_of(format, &original.as_bytes()),
            frames_of(format, &back.as_bytes()),
            "{what}: frames"
        );
        return;
    }
    match original.as_json() {
        Some(json) if !matches!(original, Body::Text(t) if !t.trim_start().starts_with(['{', '['])) =>
        {
            assert_eq!(Some(json), back.as_json(), "{what}: JSON-equal");
        }
        _ => assert_eq!(original.as_bytes(), back.as_bytes(), "{what}: byte-equal"),
    }
}

#[test]
fn every_real_cassette_round_trips_through_format_v1() {
    let mut interactions = 0;
    let mut streams = [0usize; 4];
    for (rel, path) in corpus() {
        let recorded = read_any(&path).unwrap();
        let cassette = llmvcr_cassette::Cassette {
            interactions: recorded
                .iter()
                .map(|i| from_recorded(i, &gemini()))
                .collect(),
            ..Default::default()
        };
        let yaml = to_yaml(&cassette).unwrap();
        let parsed = parse(&yaml, &rel).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(parsed, cassette, "{rel}: parse(to_yaml(c)) == c");
        for (n, (original, v1)) in recorded.iter().zip(&parsed.interactions).enumerate() {
            let what = format!("{rel}#{n}");
            let back = to_recorded(v1);
            assert_eq!(back.request.method, original.request.method, "{what}");
            assert_eq!(back.request.uri, original.request.uri, "{what}");
            assert_eq!(back.recorded_at, original.recorded_at, "{what}");
            assert_eq!(back.response.status, original.response.status, "{what}");
            assert_eq!(
                normalised(&back.request.headers),
                normalised(&original.request.decoded_headers()),
                "{what}: request headers"
            );
            assert_eq!(
                normalised(&back.response.headers),
                normalised(&original.response.decoded_headers()),
                "{what}: response headers"
            );
            assert_same_body(
                &format!("{what} request"),
                None,
                &original.request.body,
                &back.request.body,
            );
            let format = v1.response.stream.as_ref().map(|s| s.format);
            if let Some(format) = format {
                streams[format as usize] += 1;
            }
            assert_same_body(
                &format!("{what} response"),
                format,
                &original.response.body,
                &back.response.body,
            );
            interactions += 1;
        }
    }
    assert_eq!(interactions, 213);
    // Every SSE recording is stored as frames, and so is Gemini's JSON array.
    let [sse, ndjson, json_array, chunks] = streams;
    assert!(sse >= 20, "sse streams: {sse}");
    assert_eq!(ndjson, 0);
    assert!(json_array >= 1, "json_array streams: {json_array}");
    assert_eq!(chunks, 0);
}

/// Recordings whose SSE body starts with a space (VCR.py folded the first
/// line break of a single-quoted string), so the first line is not an SSE
/// field. Framing would drop it; they stay plain bodies.
const UNFRAMEABLE_SSE: &[&str] = &["test_tools_streaming_variant_c"];

#[test]
fn every_event_stream_in_the_corpus_becomes_frames() {
    let mut plain = Vec::new();
    for (rel, path) in corpus() {
        for (n, recorded) in read_any(&path).unwrap().iter().enumerate() {
            let v1 = from_recorded(recorded, &gemini());
            let sse = content_type(&recorded.response.headers).starts_with("text/event-stream");
            if sse {
                let stream = v1.response.stream.as_ref();
                if stream.is_none() {
                    plain.push(format!("{rel}#{n}"));
                    assert!(
                        matches!(&v1.response.body, Some(V1Body::Text(t)) if t.starts_with(' ')),
                        "{rel}#{n}: only bodies that start with a space stay plain"
                    );
                    continue;
                }
                assert!(
                    stream.is_some_and(|s| s.format == StreamFormat::Sse && !s.frames.is_empty()),
                    "{rel}#{n}: SSE body is frames"
                );
            }
            // JSON data is stored as structures, not strings.
            if let Some(stream) = &v1.response.stream {
                assert!(stream.frames.iter().any(|f| f.data.is_some()), "{rel}#{n}");
            }
            if let Some(V1Body::Text(text)) = &v1.request.body {
                assert!(serde_json::from_str::<Value>(text).is_err(), "{rel}#{n}");
            }
        }
    }
    assert!(
        plain
            .iter()
            .all(|p| UNFRAMEABLE_SSE.iter().any(|name| p.contains(name))),
        "{plain:?}"
    );
}

#[test]
fn gemini_json_array_streams_are_elements() {
    let path = corpus()
        .into_iter()
        .map(|(_, p)| p)
        .find(|p| {
            p.to_string_lossy()
                .contains("llm-gemini__cassettes__test_gemini__test_prompt.yaml")
        })
        .unwrap();
    let recorded = read_any(&path).unwrap();
    let stream_index = recorded
        .iter()
        .position(|i| {
            i.request.uri.contains(":streamGenerateContent") && !i.request.uri.contains("alt=sse")
        })
        .unwrap();
    let v1 = from_recorded(&recorded[stream_index], &gemini());
    let stream = v1.response.stream.unwrap();
    assert_eq!(stream.format, StreamFormat::JsonArray);
    assert!(stream.frames.len() > 1);
    assert!(stream.frames.iter().all(|f| f.data.is_some()));
    let rebuilt: Value = serde_json::from_slice(&stream_bytes(&stream)).unwrap();
    assert_eq!(
        Some(rebuilt),
        recorded[stream_index].response.body.as_json()
    );
}

fn recorded(content_type: &str, url: &str, body: Body) -> RecordedInteraction {
    let mut headers = Headers::new();
    headers.push("Content-Type", vec![content_type.to_owned()]);
    RecordedInteraction {
        request: llmvcr_cassette::RecordedRequest {
            method: "POST".into(),
            uri: url.into(),
            headers: Headers::new(),
            body: Body::Empty,
            body_decoded_from: None,
        },
        response: llmvcr_cassette::RecordedResponse {
            status: 200,
            reason: Some("OK".into()),
            headers,
            body,
            body_decoded_from: None,
        },
        recorded_at: None,
    }
}

#[test]
fn sse_frames_keep_events_ids_retries_and_comments() {
    let body = "event: message_start\r\nid: 7\r\nretry: 1500\r\ndata: {\"a\":  1}\r\n\r\n: OPENROUTER PROCESSING\n\ndata: line one\ndata: line two\n\ndata: [DONE]\n\n";
    let v1 = from_recorded_one(&recorded(
        "text/event-stream; charset=utf-8",
        "https://x/v1/chat",
        Body::Text(body.into()),
    ));
    let stream = v1.response.stream.unwrap();
    assert_eq!(stream.format, StreamFormat::Sse);
    assert_eq!(
        stream.frames,
        vec![
            Frame {
                event: Some("message_start".into()),
                id: Some("7".into()),
                retry: Some(1500),
                data: Some(json!({"a": 1}).into()),
                ..Frame::default()
            },
            Frame {
                comment: Some(" OPENROUTER PROCESSING".into()),
                ..Frame::default()
            },
            Frame {
                text: Some("line one\nline two".into()),
                ..Frame::default()
            },
            Frame {
                text: Some("[DONE]".into()),
                ..Frame::default()
            },
        ]
    );
    assert_eq!(
        String::from_utf8(stream_bytes(&stream)).unwrap(),
        "event: message_start\nid: 7\nretry: 1500\ndata: {\"a\":1}\n\n: OPENROUTER PROCESSING\n\ndata: line one\ndata: line two\n\ndata: [DONE]\n\n"
    );
}

#[test]
fn what_cannot_be_framed_exactly_stays_a_plain_body() {
    // An unknown SSE field would be dropped by framing.
    let v1 = from_recorded_one(&recorded(
        "text/event-stream",
        "https://x",
        Body::Text("data: 1\nfoo: bar\n\n".into()),
    ));
    assert!(v1.response.stream.is_none());
    assert_eq!(
        v1.response.body,
        Some(V1Body::Text("data: 1\nfoo: bar\n\n".into()))
    );
    // Bytes that are not UTF-8.
    let v1 = from_recorded_one(&recorded(
        "text/event-stream",
        "https://x",
        Body::Bytes(vec![b'd', 0xff, b'\n']),
    ));
    assert!(v1.response.stream.is_none());
    assert_eq!(v1.response.body, Some(V1Body::Base64("ZP8K".into())));
    // A truncated JSON array, and a lone error object, from a stream URL.
    let url = "https://g/v1beta/models/m:streamGenerateContent";
    for text in ["[{\"a\": 1},", "{\"error\": {\"code\": 400}}"] {
        let v1 = from_recorded_one(&recorded("application/json", url, Body::Text(text.into())));
        assert!(v1.response.stream.is_none(), "{text}");
        assert!(v1.response.body.is_some(), "{text}");
    }
    // With alt=sse, Gemini streams SSE; a JSON body there is a plain body.
    let v1 = from_recorded_one(&recorded(
        "application/json",
        &format!("{url}?alt=sse"),
        Body::Text("[{\"a\": 1}]".into()),
    ));
    assert_eq!(
        v1.response.body,
        Some(V1Body::Json(json!([{"a": 1}]).into()))
    );
}

#[test]
fn json_text_becomes_a_structure_and_other_text_stays_exact() {
    let v1 = from_recorded_one(&recorded(
        "application/json",
        "https://x",
        Body::Text("{\"b\": 1, \"a\": [1.5, \"x\"]}".into()),
    ));
    let Some(V1Body::Json(value)) = &v1.response.body else {
        panic!("{:?}", v1.response.body)
    };
    let value = value.to_value();
    let keys: Vec<&String> = value.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["b", "a"], "key order is kept");
    for text in ["42", "\"quoted\"", "plain text\n", "  {not json"] {
        let v1 = from_recorded_one(&recorded(
            "text/plain",
            "https://x",
            Body::Text(text.into()),
        ));
        assert_eq!(v1.response.body, Some(V1Body::Text(text.into())));
        assert_eq!(to_recorded(&v1).response.body, Body::Text(text.into()));
    }
    let v1 = from_recorded_one(&recorded("text/plain", "https://x", Body::Empty));
    assert_eq!(v1.response.body, None);
}

#[test]
fn decoded_bodies_drop_their_encoding_headers() {
    let mut r = recorded("application/json", "https://x", Body::Text("{}".into()));
    r.response
        .headers
        .push("Content-Encoding", vec!["gzip".into()]);
    r.response.headers.push("Content-Length", vec!["20".into()]);
    r.response.body_decoded_from = Some(llmvcr_cassette::recorded::ContentCoding::Gzip);
    let v1 = from_recorded(&r, &gemini());
    assert_eq!(v1.response.headers.get("content-encoding"), None);
    assert_eq!(v1.response.headers.get("content-length"), None);
    assert_eq!(
        v1.response.headers.get("content-type"),
        Some("application/json")
    );
}

#[test]
fn frame_capture_gives_the_same_frames_wherever_the_chunks_split() {
    let cases: [(StreamFormat, &[u8]); 3] = [
        (
            StreamFormat::Sse,
            b"event: a\r\ndata: {\"x\": \"\xc3\xa9\"}\r\n\r\n: ping\n\ndata: [DONE]\n\n",
        ),
        (StreamFormat::Ndjson, b"{\"a\":1}\n{\"b\":\"\xc3\xa9\"}\n"),
        (
            StreamFormat::JsonArray,
            b"[{\"a\": \"]\"}\n,\r\n{\"b\": [1, 2]}\n]",
        ),
    ];
    for (format, bytes) in cases {
        let whole = {
            let mut c = FrameCapture::new(format);
            c.push(bytes, 0);
            c.finish()
        };
        assert_eq!(whole.format, format);
        assert!(whole.frames.len() >= 2, "{format:?}");
        for cut in 0..bytes.len() {
            let mut c = FrameCapture::new(format);
            c.push(&bytes[..cut], 0);
            c.push(&bytes[cut..], 0);
            assert_eq!(c.finish(), whole, "{format:?} cut at {cut}");
        }
        // Rebuilt bytes frame to the same frames.
        let mut again = FrameCapture::new(format);
        again.push(&stream_bytes(&whole), 0);
        assert_eq!(again.finish(), whole, "{format:?}");
    }
}

#[test]
fn frame_capture_stamps_each_frame_with_the_chunk_that_completed_it() {
    let mut c = FrameCapture::new(StreamFormat::Sse);
    c.push(b"data: 1\n", 0);
    c.push(b"\ndata: 2\n\nda", 12);
    c.push(b"ta: 3\n\n", 30);
    let stream = c.finish();
    let times: Vec<u64> = stream.frames.iter().map(|f| f.at_ms).collect();
    assert_eq!(times, [12, 12, 30]);
    // A last event without a blank line is completed by `finish`.
    let mut c = FrameCapture::new(StreamFormat::Sse);
    c.push(b"data: 1\n\ndata: 2", 5);
    let stream = c.finish();
    assert_eq!(stream.frames.len(), 2);
    assert_eq!(stream.frames[1].text.as_deref(), Some("2"));
}

#[test]
fn frame_capture_falls_back_to_raw_chunks_and_loses_nothing() {
    let cases: [(StreamFormat, Vec<&[u8]>); 6] = [
        (StreamFormat::Sse, vec![b"data: ok\n\n", b"data: \xff\n\n"]),
        (StreamFormat::Sse, vec![b"data: ok\n\n", b"weird: x\n\n"]),
        (
            StreamFormat::Sse,
            vec![b"data: ok\n\n", b"\xef\xbb\xbfdata: x\n\n"],
        ),
        (StreamFormat::JsonArray, vec![b"{\"error\": ", b"{}}"]),
        (StreamFormat::JsonArray, vec![b"[{\"a\":1}", b",{\"b\""]),
        (StreamFormat::Ndjson, vec![b"{\"a\":1}\n", b"\xfe\n"]),
    ];
    for (format, chunks) in cases {
        let mut c = FrameCapture::new(format);
        for (n, chunk) in chunks.iter().enumerate() {
            c.push(chunk, n as u64 * 10);
        }
        let stream = c.finish();
        assert_eq!(stream.format, StreamFormat::Chunks, "{chunks:?}");
        assert_eq!(stream.frames.len(), chunks.len());
        assert_eq!(stream.frames[1].at_ms, 10);
        assert_eq!(stream_bytes(&stream), chunks.concat(), "{chunks:?}");
    }
    // A byte order mark is allowed before the first line only.
    let mut c = FrameCapture::new(StreamFormat::Sse);
    c.push(b"\xef\xbb\xbfdata: 1\n\n", 0);
    assert_eq!(c.finish().format, StreamFormat::Sse);
    // No bytes at all: an empty stream, not `[]`.
    let stream = FrameCapture::new(StreamFormat::JsonArray).finish();
    assert!(stream_bytes(&stream).is_empty());
}

#[test]
fn stream_format_is_chosen_by_content_type_then_url() {
    let rules = gemini();
    let f = |ct: Option<&str>, url: &str| FrameCapture::stream_format_for(ct, url, &rules);
    assert_eq!(
        f(Some("text/event-stream"), "https://x"),
        Some(StreamFormat::Sse)
    );
    assert_eq!(
        f(
            Some("application/x-ndjson"),
            "http://localhost:11434/api/chat"
        ),
        Some(StreamFormat::Ndjson)
    );
    let gemini = "https://g/v1beta/models/gemini-2.5-flash:streamGenerateContent";
    assert_eq!(
        f(Some("application/json; charset=UTF-8"), gemini),
        Some(StreamFormat::JsonArray)
    );
    assert_eq!(f(None, gemini), Some(StreamFormat::JsonArray));
    assert_eq!(
        f(Some("text/event-stream"), &format!("{gemini}?alt=sse")),
        Some(StreamFormat::Sse)
    );
    assert_eq!(
        f(Some("application/json"), &format!("{gemini}?alt=sse")),
        None
    );
    assert_eq!(f(Some("application/json"), "https://x/v1/chat"), None);
    assert_eq!(f(None, "https://x/v1/chat"), None);
}

#[test]
fn json_array_frames_carry_their_brackets_by_position() {
    let frame = |v: Value| Frame {
        data: Some(v.into()),
        ..Frame::default()
    };
    let stream = Stream {
        format: StreamFormat::JsonArray,
        frames: vec![
            frame(json!({"a": 1})),
            frame(json!({"b": 2})),
            frame(json!([3])),
        ],
    };
    let parts: Vec<String> = stream
        .frames
        .iter()
        .enumerate()
        .map(|(i, f)| String::from_utf8(frame_bytes(stream.format, f, i, 3)).unwrap())
        .collect();
    assert_eq!(parts, ["[{\"a\":1}\n", ",{\"b\":2}\n", ",[3]]"]);
    let one = frame_bytes(StreamFormat::JsonArray, &stream.frames[0], 0, 1);
    assert_eq!(one, b"[{\"a\":1}]");
    let empty = Stream {
        format: StreamFormat::JsonArray,
        frames: Vec::new(),
    };
    assert_eq!(stream_bytes(&empty), b"[]");
    assert_eq!(stream_chunks(&empty), vec![(0, b"[]".to_vec())]);
    let chunks = stream_chunks(&stream);
    assert_eq!(chunks.len(), 3);
    assert_eq!(chunks.concat_bytes(), stream_bytes(&stream));
}

trait ConcatBytes {
    fn concat_bytes(&self) -> Vec<u8>;
}

impl ConcatBytes for Vec<(u64, Vec<u8>)> {
    fn concat_bytes(&self) -> Vec<u8> {
        self.iter().flat_map(|(_, b)| b.clone()).collect()
    }
}

#[test]
fn ndjson_and_chunk_frames_rebuild_their_bytes() {
    let ndjson = Stream {
        format: StreamFormat::Ndjson,
        frames: vec![
            Frame {
                data: Some(json!({"done": false}).into()),
                ..Frame::default()
            },
            Frame {
                text: Some("not json".into()),
                at_ms: 3,
                ..Frame::default()
            },
        ],
    };
    assert_eq!(stream_bytes(&ndjson), b"{\"done\":false}\nnot json\n");
    let chunks = Stream {
        format: StreamFormat::Chunks,
        frames: vec![
            Frame {
                text: Some("ab".into()),
                ..Frame::default()
            },
            Frame {
                base64: Some("/w==".into()),
                ..Frame::default()
            },
        ],
    };
    assert_eq!(stream_bytes(&chunks), b"ab\xff");
}

#[test]
fn deeply_nested_json_is_kept_as_text_so_it_can_be_read_back() {
    let deep = format!("{}1{}", "[".repeat(120), "]".repeat(120));
    let v1 = from_recorded_one(&recorded(
        "application/json",
        "https://x",
        Body::Text(deep.clone()),
    ));
    assert_eq!(v1.response.body, Some(V1Body::Text(deep)));
    let cassette = llmvcr_cassette::Cassette {
        interactions: vec![v1],
        ..Default::default()
    };
    assert_eq!(
        parse(&to_yaml(&cassette).unwrap(), "deep.yaml").unwrap(),
        cassette
    );
    let shallow = format!("{}1{}", "[".repeat(90), "]".repeat(90));
    let v1 = from_recorded_one(&recorded(
        "application/json",
        "https://x",
        Body::Text(shallow),
    ));
    let cassette = llmvcr_cassette::Cassette {
        interactions: vec![v1],
        ..Default::default()
    };
    assert!(matches!(
        cassette.interactions[0].response.body,
        Some(V1Body::Json(_))
    ));
    assert_eq!(
        parse(&to_yaml(&cassette).unwrap(), "shallow.yaml").unwrap(),
        cassette
    );
}

fn from_recorded_one(recorded: &RecordedInteraction) -> llmvcr_cassette::Interaction {
    from_recorded(recorded, &gemini())
}

fn gemini() -> Vec<llmvcr_cassette::StreamUrlRule> {
    vec![llmvcr_cassette::StreamUrlRule {
        path_contains: ":streamGenerateContent".into(),
        unless_query: Some("alt=sse".into()),
        format: StreamFormat::JsonArray,
    }]
}
