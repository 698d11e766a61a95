//! Every interaction of every real cassette, converted to format v1 and replayed
//! through `CassetteMiddleware` to a plain reqwest client, comes back as recorded:
//! status, headers, and the body JSON-equal frame by frame (or byte-equal for
//! text); streams arrive as streams.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use futures::StreamExt as _;
use llmvcr_cassette::{
    Cassette, CassetteMiddleware, Env, Interaction, MatchRules, Mode, Redactor, SecretRules,
    StreamFormat, convert::body_bytes, convert::from_recorded, import::read_any, parse,
    recorded::RecordedBody as Body, to_yaml,
};
use llmvcr_framing::{JsonArrayFramer, NdjsonFramer, SseFramer, SseItem};
use serde_json::Value;

fn real_cassettes() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../cassettes/real");
    let mut out = Vec::new();
    let mut dirs = vec![root];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// One frame of a stream, compared by meaning: SSE events by name, id and data
/// (JSON-equal when the data is JSON), comments by text, NDJSON lines and array
/// elements as JSON.
#[derive(Debug, PartialEq)]
enum Framed {
    Event(Option<String>, Option<String>, Data),
    Comment(String),
    Element(Data),
}

#[derive(Debug, PartialEq)]
enum Data {
    Json(Value),
    Text(String),
}

fn data(text: &str) -> Data {
    match serde_json::from_str(text) {
        Ok(value) => Data::Json(value),
        Err(_) => Data::Text(text.to_owned()),
    }
}

fn frames(format: StreamFormat, chunks: &[Vec<u8>]) -> Vec<Framed> {
    match format {
        StreamFormat::Sse => {
            let mut framer = SseFramer::new();
            let mut items = Vec::new();
            for chunk in chunks {
                items.extend(framer.feed(chunk).unwrap());
            }
            items.extend(framer.finish().unwrap());
            items
                .into_iter()
                .map(|item| match item {
                    SseItem::Event(e) => Framed::Event(e.event, e.id, data(&e.data)),
                    SseItem::Comment(c) => Framed::Comment(c),
                })
                .collect()
        }
        StreamFormat::Ndjson => {
            let mut framer = NdjsonFramer::new();
            let mut lines = Vec::new();
            for chunk in chunks {
                lines.extend(framer.feed(chunk).unwrap());
            }
            lines.extend(framer.finish().unwrap());
            lines.iter().map(|l| Framed::Element(data(l))).collect()
        }
        StreamFormat::JsonArray => {
            let mut framer = JsonArrayFramer::new();
            let mut elements = Vec::new();
            for chunk in chunks {
                elements.extend(framer.feed(chunk).unwrap());
            }
            elements.extend(framer.finish().unwrap());
            elements.iter().map(|e| Framed::Element(data(e))).collect()
        }
        StreamFormat::Chunks => vec![Framed::Element(Data::Text(
            String::from_utf8_lossy(&chunks.concat()).into_owned(),
        ))],
    }
}

fn original_bytes(body: &llmvcr_cassette::RecordedBody) -> Vec<u8> {
    body.as_bytes().into_owned()
}

/// Sends the recorded request of `interaction` through `client`.
async fn send(
    client: &reqwest_middleware::ClientWithMiddleware,
    interaction: &Interaction,
) -> reqwest::Response {
    let request = &interaction.request;
    let method = reqwest::Method::from_bytes(request.method.as_bytes()).unwrap();
    let mut builder = client.request(method, request.url.as_str());
    for (name, value) in request.headers.pairs() {
        if name.eq_ignore_ascii_case("content-length") || name.eq_ignore_ascii_case("host") {
            continue;
        }
        if let (Ok(n), Ok(v)) = (
            http::HeaderName::from_bytes(name.as_bytes()),
            http::HeaderValue::from_str(value),
        ) {
            builder = builder.header(n, v);
        }
    }
    if let Some(body) = &request.body {
        builder = builder.body(body_bytes(body));
    }
    builder.send().await.unwrap()
}

#[tokio::test]
async fn every_real_interaction_replays_as_recorded() {
    let paths = real_cassettes();
    assert!(paths.len() > 100, "found {} real cassettes", paths.len());
    let rules = SecretRules::generic();
    let mut interactions_checked = 0;
    let mut streams_checked = 0;
    for path in &paths {
        let name = path.display().to_string();
        let recorded = read_any(path).unwrap_or_else(|e| panic!("{e}"));
        let cassette = Cassette {
            interactions: recorded.iter().map(|i| from_recorded(i, &[])).collect(),
            ..Cassette::default()
        };
        // Through the file format, as a committed cassette would be.
        let cassette = parse(&to_yaml(&cassette).unwrap(), &name).unwrap();
        let middleware = CassetteMiddleware::builder(path)
            .mode(Mode::Replay)
            .env(Env::default())
            .redactor(Redactor::with_values(&rules, Vec::new()))
            .match_rules(MatchRules::new())
            .cassette(cassette.clone())
            .build()
            .unwrap();
        let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
            .with(middleware)
            .build();
        for (i, (interaction, original)) in cassette.interactions.iter().zip(&recorded).enumerate()
        {
            let at = format!("{name} #{i}");
            let response = send(&client, interaction).await;
            assert_eq!(
                response.status().as_u16(),
                original.response.status,
                "{at}: status"
            );
            let headers = response.headers().clone();
            let recorded_headers = original.response.decoded_headers();
            for (header, _) in recorded_headers.iter() {
                if header.eq_ignore_ascii_case("content-length") {
                    continue;
                }
                let want: Vec<&str> = recorded_headers.get_all(header);
                let got: Vec<&str> = headers
                    .get_all(header)
                    .iter()
                    .map(|v| v.to_str().unwrap())
                    .collect();
                assert_eq!(got, want, "{at}: header {header}");
            }
            let original_body = original_bytes(&original.response.body);
            match &interaction.response.stream {
                Some(stream) => {
                    let mut chunks = Vec::new();
                    let mut body = response.bytes_stream();
                    while let Some(chunk) = body.next().await {
                        chunks.push(chunk.unwrap().to_vec());
                    }
                    if stream.frames.len() > 1 {
                        assert!(
                            chunks.len() > 1,
                            "{at}: {} frames arrived in {} chunk(s)",
                            stream.frames.len(),
                            chunks.len()
                        );
                    }
                    assert_eq!(
                        frames(stream.format, &chunks),
                        frames(stream.format, &[original_body]),
                        "{at}: frames"
                    );
                    streams_checked += 1;
                }
                None => {
                    let bytes = response.bytes().await.unwrap();
                    if let Some(len) = headers.get("content-length") {
                        assert_eq!(len.to_str().unwrap(), bytes.len().to_string(), "{at}");
                    }
                    match &original.response.body {
                        Body::Json(value) => {
                            let got: Value = serde_json::from_slice(&bytes).unwrap();
                            assert_eq!(&got, value, "{at}: body");
                        }
                        Body::Text(text) => match serde_json::from_str::<Value>(text) {
                            Ok(value) if interaction.response.body_is_json() => {
                                let got: Value = serde_json::from_slice(&bytes).unwrap();
                                assert_eq!(got, value, "{at}: body");
                            }
                            _ => assert_eq!(&bytes[..], text.as_bytes(), "{at}: body"),
                        },
                        other => assert_eq!(&bytes[..], &other.as_bytes()[..], "{at}: body"),
                    }
                }
            }
            interactions_checked += 1;
        }
    }
    eprintln!("checked {interactions_checked} interactions, {streams_checked} streams");
    assert!(interactions_checked > 200, "{interactions_checked}");
    assert!(streams_checked > 20, "{streams_checked}");
}

trait BodyIsJson {
    fn body_is_json(&self) -> bool;
}

impl BodyIsJson for llmvcr_cassette::Response {
    fn body_is_json(&self) -> bool {
        matches!(
            self.body,
            Some(llmvcr_cassette::stored::StoredBody::Json(_))
        )
    }
}
