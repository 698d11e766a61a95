//! Recording through `CassetteMiddleware` against a loopback upstream, then
//! replaying with the upstream gone: responses, secrets, modes, misses, repeats
//! and stream pacing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::time::Duration;

use futures::StreamExt as _;
use llmvcr_cassette::{
    Cassette, CassetteMiddleware, Env, Frame, HeaderList, Interaction, MatchRules, MiddlewareError,
    Mode, Redactor, ReplaySpeed, Request, Response, SecretRules, Stream, StreamFormat, load,
    matcher::MissReason,
};
use reqwest_middleware::ClientWithMiddleware;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const BEARER: &str = "Bearer sk-test-abcdefghijklmnop0123456789";
const X_API_KEY: &str = "sk-ant-api03-fake0123456789abcdefghijkl";
const QUERY_KEY: &str = "AIzaSyFAKE0123456789abcdefghijklmno";
const ENV_SECRET: &str = "s3cr3t-env-value-0123456789";

const SSE_BODY: &str = "event: message_start\ndata: {\"type\":\"message_start\",\"n\":1}\n\n\
                        : keep-alive\n\n\
                        event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"text\":\"Hel\"}\n\n\
                        event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"text\":\"lo\"}\n\n\
                        event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";

fn secret_rules() -> SecretRules {
    SecretRules {
        headers: vec!["x-api-key".into()],
        query_params: vec!["key".into()],
        key_prefixes: vec!["sk-".into(), "sk-ant-".into(), "AIza".into()],
        env_suffixes: Vec::new(),
    }
    .merge(SecretRules::generic())
}

fn redactor() -> Redactor {
    Redactor::with_values(
        &secret_rules(),
        vec![("DEMO_API_KEY".into(), ENV_SECRET.into())],
    )
}

/// A fresh directory for one test.
fn dir(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("record_replay")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A builder with the test's secret rules and no environment.
fn cassette(path: &std::path::Path, mode: Mode) -> llmvcr_cassette::CassetteBuilder {
    CassetteMiddleware::builder(path)
        .mode(mode)
        .env(Env::default())
        .secret_rules(secret_rules())
        .redactor(redactor())
}

fn client(middleware: CassetteMiddleware) -> ClientWithMiddleware {
    reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
        .with(middleware)
        .build()
}

fn chat_body(content: &str) -> Value {
    json!({
        "model": "demo-1",
        "messages": [{"role": "user", "content": content}],
        "user": ENV_SECRET,
    })
}

/// Sends a chat request carrying every planted secret.
async fn send_chat(
    client: &ClientWithMiddleware,
    base: &str,
    route: &str,
    content: &str,
) -> Result<reqwest::Response, reqwest_middleware::Error> {
    client
        .post(format!("{base}{route}?key={QUERY_KEY}&alt=x"))
        .header("authorization", BEARER)
        .header("x-api-key", X_API_KEY)
        .header("content-type", "application/json")
        .body(serde_json::to_vec(&chat_body(content)).unwrap())
        .send()
        .await
}

async fn chunks(response: reqwest::Response) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut body = response.bytes_stream();
    while let Some(chunk) = body.next().await {
        out.push(chunk.unwrap().to_vec());
    }
    out
}

async fn upstream() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("x-request-id", "req-1")
                .set_body_json(json!({"id": "c1", "choices": [{"message": {"content": "Hi!"}}], "usage": {"total_tokens": 7}})),
        )
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/stream"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("content-type", "text/event-stream")
                .set_body_raw(SSE_BODY, "text/event-stream"),
        )
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/limited"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("retry-after", "3")
                .set_body_json(json!({"error": {"type": "rate_limit_error"}})),
        )
        .mount(&server)
        .await;
    server
}

#[tokio::test]
async fn record_then_replay_without_upstream_and_no_secret_on_disk() {
    let dir = dir("roundtrip");
    let file = dir.join("chat.yaml");
    let server = upstream().await;
    let base = server.uri();

    let recorder = client(cassette(&file, Mode::Record).build().unwrap());
    let live_chat = send_chat(&recorder, &base, "/v1/chat", "hello")
        .await
        .unwrap();
    let live_chat = (
        live_chat.status(),
        live_chat.headers().get("x-request-id").cloned(),
        live_chat.json::<Value>().await.unwrap(),
    );
    let live_stream = send_chat(&recorder, &base, "/v1/stream", "hello")
        .await
        .unwrap();
    assert_eq!(
        chunks(live_stream).await.concat(),
        SSE_BODY.as_bytes(),
        "the caller gets the upstream bytes while recording"
    );
    let live_limited = send_chat(&recorder, &base, "/v1/limited", "hello")
        .await
        .unwrap();
    assert_eq!(live_limited.status(), 429);
    drop(recorder);
    drop(server);

    let text = std::fs::read_to_string(&file).unwrap();
    for secret in [
        "sk-test-abcdef",
        "sk-ant-api03",
        "AIzaSyFAKE",
        ENV_SECRET,
        "s3cr3t",
    ] {
        assert!(!text.contains(secret), "{secret} reached the disk:\n{text}");
    }
    assert!(text.contains("Bearer <REDACTED>"), "{text}");
    assert!(text.contains("<DEMO_API_KEY>"), "{text}");
    let recorded = load(&file).unwrap();
    assert_eq!(recorded.interactions.len(), 3);
    let stream = recorded.interactions[1].response.stream.as_ref().unwrap();
    assert_eq!(stream.format, StreamFormat::Sse);
    assert_eq!(stream.frames.len(), 5);
    assert_eq!(stream.frames[1].comment.as_deref(), Some(" keep-alive"));

    // Replay: the upstream is gone, and the client sends the real secrets again.
    let replayer = client(cassette(&file, Mode::Replay).build().unwrap());
    let base_gone = base.clone();
    let chat = send_chat(&replayer, &base_gone, "/v1/chat", "hello")
        .await
        .unwrap();
    assert_eq!(chat.status(), live_chat.0);
    assert_eq!(chat.headers().get("x-request-id").cloned(), live_chat.1);
    assert_eq!(chat.json::<Value>().await.unwrap(), live_chat.2);

    let stream = send_chat(&replayer, &base_gone, "/v1/stream", "hello")
        .await
        .unwrap();
    assert_eq!(
        stream.headers().get("content-type").unwrap(),
        "text/event-stream"
    );
    let parts = chunks(stream).await;
    assert_eq!(parts.len(), 5, "one chunk per frame");
    assert_eq!(parts.concat(), SSE_BODY.as_bytes());

    let limited = send_chat(&replayer, &base_gone, "/v1/limited", "hello")
        .await
        .unwrap();
    assert_eq!(limited.status(), 429);
    assert_eq!(limited.headers().get("retry-after").unwrap(), "3");
}

/// A loopback server that sends an SSE response in three parts, waiting for a
/// signal before the last one.
async fn slow_sse_server() -> (String, tokio::sync::oneshot::Sender<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut request = Vec::new();
        let mut buf = [0u8; 4096];
        // Read the head and the body (the client sends a small one).
        loop {
            let n = socket.read(&mut buf).await.unwrap();
            request.extend_from_slice(&buf[..n]);
            let text = String::from_utf8_lossy(&request);
            if let Some(end) = text.find("\r\n\r\n") {
                let length = text
                    .lines()
                    .find_map(|l| {
                        l.to_ascii_lowercase()
                            .strip_prefix("content-length:")
                            .map(|v| v.trim().parse::<usize>().unwrap())
                    })
                    .unwrap_or(0);
                if request.len() >= end + 4 + length {
                    break;
                }
            }
        }
        let chunk = |data: &str| format!("{:x}\r\n{data}\r\n", data.len());
        let head = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n";
        socket.write_all(head.as_bytes()).await.unwrap();
        socket
            .write_all(chunk("data: {\"n\":1}\n\n").as_bytes())
            .await
            .unwrap();
        socket.flush().await.unwrap();
        tokio::time::sleep(Duration::from_millis(60)).await;
        socket
            .write_all(chunk("data: {\"n\":2}\n\n").as_bytes())
            .await
            .unwrap();
        socket.flush().await.unwrap();
        let _ = rx.await;
        socket
            .write_all(format!("{}0\r\n\r\n", chunk("data: [DONE]\n\n")).as_bytes())
            .await
            .unwrap();
        socket.flush().await.unwrap();
    });
    (format!("http://{addr}"), tx)
}

#[tokio::test]
async fn recording_streams_frames_to_the_caller_at_once() {
    let dir = dir("tee");
    let file = dir.join("stream.yaml");
    let (base, release) = slow_sse_server().await;
    let recorder = client(cassette(&file, Mode::Record).build().unwrap());
    let response = send_chat(&recorder, &base, "/v1/stream", "hi")
        .await
        .unwrap();
    let mut body = response.bytes_stream();
    // The upstream holds its last frame until we release it: the first frames
    // must arrive before that, or this times out.
    let mut seen: Vec<Vec<u8>> = Vec::new();
    while !String::from_utf8_lossy(&seen.concat()).contains("\"n\":2") {
        let chunk = tokio::time::timeout(Duration::from_secs(5), body.next())
            .await
            .expect("frames are forwarded while the upstream is still sending")
            .unwrap()
            .unwrap();
        seen.push(chunk.to_vec());
    }
    assert!(!file.exists(), "nothing is saved before the stream ends");
    release.send(()).unwrap();
    while let Some(chunk) = body.next().await {
        seen.push(chunk.unwrap().to_vec());
    }
    assert_eq!(
        String::from_utf8(seen.concat()).unwrap(),
        "data: {\"n\":1}\n\ndata: {\"n\":2}\n\ndata: [DONE]\n\n"
    );
    let recorded = load(&file).unwrap();
    let frames = &recorded.interactions[0]
        .response
        .stream
        .as_ref()
        .unwrap()
        .frames;
    assert_eq!(frames.len(), 3);
    assert!(
        frames[1].at_ms >= 50,
        "the second frame came about 60 ms after the first: {frames:?}"
    );
    assert!(frames[1].at_ms >= frames[0].at_ms);
}

/// A server on a thread of its own that waits 60 ms of real time between two
/// SSE events, whatever the test's tokio clock does.
fn real_time_sse_server() -> String {
    use std::io::{Read as _, Write as _};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let (mut socket, _) = listener.accept().unwrap();
        let mut request = Vec::new();
        let mut buf = [0u8; 4096];
        while !String::from_utf8_lossy(&request).contains("\r\n\r\n") {
            let n = socket.read(&mut buf).unwrap();
            request.extend_from_slice(&buf[..n]);
        }
        let chunk = |data: &str| format!("{:x}\r\n{data}\r\n", data.len());
        let head = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n";
        let _ = socket.write_all(format!("{head}{}", chunk("data: {\"n\":1}\n\n")).as_bytes());
        let _ = socket.flush();
        std::thread::sleep(Duration::from_millis(60));
        let _ = socket.write_all(format!("{}0\r\n\r\n", chunk("data: {\"n\":2}\n\n")).as_bytes());
        let _ = socket.flush();
    });
    format!("http://{addr}")
}

#[tokio::test(start_paused = true)]
async fn recording_under_a_paused_clock_keeps_real_timing() {
    let dir = dir("paused-record");
    let file = dir.join("stream.yaml");
    let base = real_time_sse_server();
    let recorder = client(cassette(&file, Mode::Record).build().unwrap());
    let response = send_chat(&recorder, &base, "/v1/stream", "hi")
        .await
        .unwrap();
    let _ = chunks(response).await;
    let recorded = load(&file).unwrap();
    let frames = &recorded.interactions[0]
        .response
        .stream
        .as_ref()
        .unwrap()
        .frames;
    assert_eq!(frames.len(), 2, "{frames:?}");
    assert!(
        frames[1].at_ms >= 50,
        "the second event came 60 ms of real time after the first: {frames:?}"
    );
}

#[tokio::test]
async fn a_dropped_stream_keeps_what_the_caller_read() {
    let dir = dir("dropped");
    let file = dir.join("stream.yaml");
    let (base, _release) = slow_sse_server().await;
    let recorder = client(cassette(&file, Mode::Record).build().unwrap());
    let response = send_chat(&recorder, &base, "/v1/stream", "hi")
        .await
        .unwrap();
    let mut body = response.bytes_stream();
    let first = body.next().await.unwrap().unwrap();
    assert!(String::from_utf8_lossy(&first).contains("\"n\":1"));
    drop(body);
    let recorded = load(&file).unwrap();
    let stream = recorded.interactions[0].response.stream.as_ref().unwrap();
    assert!(!stream.frames.is_empty());
    assert_eq!(stream.frames[0].data, Some(json!({"n": 1}).into()));
}

#[tokio::test]
async fn a_key_the_redactor_does_not_know_is_refused_and_nothing_is_written() {
    let dir = dir("refused");
    let file = dir.join("leak.yaml");
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            // Compressed bytes the response does not declare: a key inside
            // cannot be replaced in place (one in plain text would be).
            ResponseTemplate::new(200).set_body_bytes({
                use std::io::Write as _;
                let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
                gz.write_all(br#"{"leaked": "sk-live0123456789abcdefghijklmnopqrstu"}"#)
                    .unwrap();
                gz.finish().unwrap()
            }),
        )
        .mount(&server)
        .await;
    let recorder = client(cassette(&file, Mode::Record).build().unwrap());
    let err = send_chat(&recorder, &server.uri(), "/v1/chat", "hi")
        .await
        .unwrap_err();
    let text = format!("{err:#}");
    assert!(text.contains("leak.yaml"), "{text}");
    assert!(text.contains("secret"), "{text}");
    assert!(!file.exists());
    let reqwest_middleware::Error::Middleware(inner) = err else {
        panic!("not a middleware error");
    };
    assert!(matches!(
        inner.downcast_ref::<MiddlewareError>(),
        Some(MiddlewareError::Cassette(_))
    ));
}

#[tokio::test]
async fn once_records_when_absent_and_replays_when_present() {
    let dir = dir("once");
    let file = dir.join("once.yaml");
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"n": 1})))
        .expect(1)
        .mount(&server)
        .await;
    let first = cassette(&file, Mode::Once).build().unwrap();
    assert!(first.is_recording());
    let c = client(first);
    let r = send_chat(&c, &server.uri(), "/v1/chat", "hi")
        .await
        .unwrap();
    assert_eq!(r.json::<Value>().await.unwrap(), json!({"n": 1}));
    drop(c);

    let second = cassette(&file, Mode::Once).build().unwrap();
    assert!(!second.is_recording());
    let c = client(second);
    let r = send_chat(&c, &server.uri(), "/v1/chat", "hi")
        .await
        .unwrap();
    assert_eq!(r.json::<Value>().await.unwrap(), json!({"n": 1}));
    // A request that was not recorded is a miss, not a new recording.
    let miss = send_chat(&c, &server.uri(), "/v1/chat", "other").await;
    assert!(miss.is_err());
    server.verify().await;
}

#[tokio::test]
async fn new_episodes_replays_matches_and_appends_the_rest() {
    let dir = dir("new_episodes");
    let file = dir.join("episodes.yaml");
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"from": "upstream"})))
        .mount(&server)
        .await;
    {
        let c = client(cassette(&file, Mode::Record).build().unwrap());
        send_chat(&c, &server.uri(), "/v1/chat", "first")
            .await
            .unwrap();
    }
    assert_eq!(server.received_requests().await.unwrap().len(), 1);

    let c = client(cassette(&file, Mode::NewEpisodes).build().unwrap());
    send_chat(&c, &server.uri(), "/v1/chat", "first")
        .await
        .unwrap();
    assert_eq!(
        server.received_requests().await.unwrap().len(),
        1,
        "a recorded request is replayed"
    );
    send_chat(&c, &server.uri(), "/v1/chat", "second")
        .await
        .unwrap();
    assert_eq!(
        server.received_requests().await.unwrap().len(),
        2,
        "a new request goes upstream"
    );
    let recorded = load(&file).unwrap();
    assert_eq!(recorded.interactions.len(), 2);
    assert_eq!(
        recorded.interactions[1].request.body,
        Some(llmvcr_cassette::stored::StoredBody::Json(
            json!({
                "model": "demo-1",
                "messages": [{"role": "user", "content": "second"}],
                "user": "<DEMO_API_KEY>",
            })
            .into()
        ))
    );
}

#[tokio::test]
async fn record_mode_overwrites() {
    let dir = dir("overwrite");
    let file = dir.join("o.yaml");
    let server = upstream().await;
    for content in ["one", "two"] {
        let c = client(cassette(&file, Mode::Record).build().unwrap());
        send_chat(&c, &server.uri(), "/v1/chat", content)
            .await
            .unwrap();
    }
    let recorded = load(&file).unwrap();
    assert_eq!(recorded.interactions.len(), 1);
    let body = format!("{:?}", recorded.interactions[0].request.body);
    assert!(body.contains("two"), "{body}");
}

#[tokio::test]
async fn recording_is_refused_on_ci() {
    let dir = dir("ci");
    let file = dir.join("ci.yaml");
    let ci = Env {
        ci: Some("true".into()),
        ..Env::default()
    };
    for mode in [Mode::Record, Mode::NewEpisodes, Mode::Once] {
        let err = CassetteMiddleware::builder(&file)
            .mode(mode)
            .env(ci.clone())
            .build()
            .unwrap_err();
        assert!(
            matches!(err, MiddlewareError::RecordingRefused { .. }),
            "{mode}: {err}"
        );
        let text = err.to_string();
        assert!(text.contains("CI"), "{text}");
        assert!(text.contains("LLMVCR_ALLOW_RECORD_IN_CI=1"), "{text}");
        assert!(text.contains("ci.yaml"), "{text}");
    }
    // The mode from the environment is refused the same way.
    let err = CassetteMiddleware::builder(&file)
        .env(Env {
            mode: Some("record".into()),
            ..ci.clone()
        })
        .build()
        .unwrap_err();
    assert!(matches!(err, MiddlewareError::RecordingRefused { .. }));
    // Allowed explicitly.
    let allowed = CassetteMiddleware::builder(&file)
        .mode(Mode::Record)
        .env(Env {
            allow_record_in_ci: Some("1".into()),
            ..ci.clone()
        })
        .build()
        .unwrap();
    assert!(allowed.is_recording());
    // Replaying is fine, and `once` replays when the file exists.
    std::fs::write(&file, "llmvcr: 1\ninteractions: []\n").unwrap();
    let once = CassetteMiddleware::builder(&file)
        .mode(Mode::Once)
        .env(ci)
        .build()
        .unwrap();
    assert!(!once.is_recording());
}

fn recorded_chat(content: &str, answer: &str) -> Interaction {
    Interaction {
        recorded_at: None,
        request: Request {
            method: "POST".into(),
            url: "https://api.example.com/v1/chat".into(),
            headers: HeaderList::default(),
            body: Some(llmvcr_cassette::stored::StoredBody::Json(
                json!({
                    "model": "demo-1",
                    "messages": [{"role": "user", "content": content}],
                    "temperature": 0.2,
                })
                .into(),
            )),
        },
        response: Response {
            status: 200,
            headers: HeaderList(vec![(
                "content-type".into(),
                vec!["application/json".into()],
            )]),
            body: Some(llmvcr_cassette::stored::StoredBody::Json(
                json!({"answer": answer}).into(),
            )),
            stream: None,
        },
    }
}

fn in_memory(interactions: Vec<Interaction>, rules: MatchRules) -> ClientWithMiddleware {
    let cassette = Cassette {
        interactions,
        ..Cassette::default()
    };
    client(CassetteMiddleware::replaying("cassettes/demo/miss.yaml", cassette, rules).unwrap())
}

async fn post(client: &ClientWithMiddleware, body: Value) -> Result<Value, String> {
    match client
        .post("https://api.example.com/v1/chat")
        .json(&body)
        .send()
        .await
    {
        Ok(r) => Ok(r.json().await.unwrap()),
        Err(reqwest_middleware::Error::Middleware(e)) => {
            let inner = e
                .downcast_ref::<MiddlewareError>()
                .expect("a cassette error");
            Err(inner.to_string())
        }
        Err(e) => panic!("{e}"),
    }
}

#[tokio::test]
async fn a_miss_names_the_cassette_the_nearest_interaction_and_the_paths() {
    let c = in_memory(
        vec![
            recorded_chat("Say hello", "hello"),
            recorded_chat("Say goodbye", "bye"),
        ],
        MatchRules::new(),
    );
    let err = post(
        &c,
        json!({"model": "demo-1", "messages": [{"role": "user", "content": "Say goodbye, friend"}], "temperature": 0.7}),
    )
    .await
    .unwrap_err();
    assert!(err.contains("cassettes/demo/miss.yaml"), "{err}");
    assert!(
        err.contains("no recorded interaction matches POST https://api.example.com/v1/chat"),
        "{err}"
    );
    assert!(
        err.contains("nearest: #0 POST https://api.example.com/v1/chat")
            || err.contains("nearest: #1 POST https://api.example.com/v1/chat"),
        "{err}"
    );
    assert!(err.contains("/messages/0/content: \"Say"), "{err}");
    assert!(err.contains("/temperature: 0.2 -> 0.7"), "{err}");
    assert!(err.lines().count() >= 4, "{err}");

    let long = "x".repeat(500);
    let err = post(
        &c,
        json!({"model": "demo-1", "messages": [{"role": "user", "content": long}], "temperature": 0.2}),
    )
    .await
    .unwrap_err();
    let line = err
        .lines()
        .find(|l| l.contains("/messages/0/content"))
        .unwrap();
    assert!(line.len() < 160, "values are shortened: {line}");
    assert!(line.contains("..."), "{line}");
}

#[tokio::test]
async fn identical_requests_play_in_order_and_repeat_only_when_allowed() {
    let body = json!({"model": "demo-1", "messages": [{"role": "user", "content": "Roll"}], "temperature": 0.2});
    let interactions = vec![recorded_chat("Roll", "4"), recorded_chat("Roll", "6")];

    let c = in_memory(interactions.clone(), MatchRules::new());
    assert_eq!(
        post(&c, body.clone()).await.unwrap(),
        json!({"answer": "4"})
    );
    assert_eq!(
        post(&c, body.clone()).await.unwrap(),
        json!({"answer": "6"})
    );
    let err = post(&c, body.clone()).await.unwrap_err();
    assert!(err.contains("already played: #0, #1"), "{err}");

    let c = in_memory(interactions, MatchRules::new().with_repeats(true));
    for want in ["4", "6", "6", "6"] {
        assert_eq!(
            post(&c, body.clone()).await.unwrap(),
            json!({"answer": want})
        );
    }
}

#[tokio::test]
async fn ignored_pointers_and_the_custom_matcher_apply() {
    let interactions = vec![recorded_chat("Hi", "hello")];
    let c = in_memory(
        interactions.clone(),
        MatchRules::new().with_ignored_pointer("/temperature"),
    );
    let body = json!({"messages": [{"content": "Hi", "role": "user"}], "model": "demo-1", "temperature": 1.5});
    assert_eq!(
        post(&c, body.clone()).await.unwrap(),
        json!({"answer": "hello"})
    );

    let c = in_memory(
        interactions,
        MatchRules::new()
            .with_ignored_pointer("/temperature")
            .with_custom(|request, _| request.headers.get("x-tenant") == Some("a")),
    );
    let err = post(&c, body).await.unwrap_err();
    assert!(err.contains("custom matcher"), "{err}");
}

#[tokio::test]
async fn an_empty_or_absent_cassette_says_so() {
    let c = in_memory(Vec::new(), MatchRules::new());
    let err = post(&c, json!({})).await.unwrap_err();
    assert!(err.contains("has no interactions"), "{err}");

    let dir = dir("absent");
    let c = client(
        CassetteMiddleware::builder(dir.join("nothing.yaml"))
            .mode(Mode::Replay)
            .env(Env::default())
            .build()
            .unwrap(),
    );
    let err = match c.get("https://api.example.com/").send().await {
        Err(reqwest_middleware::Error::Middleware(e)) => e.to_string(),
        other => panic!("{other:?}"),
    };
    assert!(err.contains("nothing.yaml does not exist"), "{err}");
}

fn streamed(at: &[u64]) -> Cassette {
    let frames = at
        .iter()
        .enumerate()
        .map(|(i, &at_ms)| Frame {
            at_ms,
            data: Some(json!({"i": i}).into()),
            ..Frame::default()
        })
        .collect();
    Cassette {
        interactions: vec![Interaction {
            recorded_at: None,
            request: Request {
                method: "GET".into(),
                url: "https://api.example.com/stream".into(),
                headers: HeaderList::default(),
                body: None,
            },
            response: Response {
                status: 200,
                headers: HeaderList(vec![(
                    "content-type".into(),
                    vec!["text/event-stream".into()],
                )]),
                body: None,
                stream: Some(Stream {
                    format: StreamFormat::Sse,
                    frames,
                }),
            },
        }],
        ..Cassette::default()
    }
}

/// The virtual time at which each chunk arrived, from the request.
async fn arrival_times(speed: ReplaySpeed) -> Vec<u64> {
    let middleware = CassetteMiddleware::builder("paced.yaml")
        .mode(Mode::Replay)
        .env(Env::default())
        .speed(speed)
        .cassette(streamed(&[0, 100, 250, 1_000]))
        .build()
        .unwrap();
    let c = client(middleware);
    let start = tokio::time::Instant::now();
    let response = c
        .get("https://api.example.com/stream")
        .send()
        .await
        .unwrap();
    let mut body = response.bytes_stream();
    let mut times = Vec::new();
    while let Some(chunk) = body.next().await {
        chunk.unwrap();
        times.push(u64::try_from(start.elapsed().as_millis()).unwrap());
    }
    times
}

#[tokio::test(start_paused = true)]
async fn streams_replay_at_recorded_or_scaled_speed_in_virtual_time() {
    assert_eq!(
        arrival_times(ReplaySpeed::Recorded).await,
        vec![0, 100, 250, 1_000]
    );
    assert_eq!(
        arrival_times(ReplaySpeed::Scaled(2.0)).await,
        vec![0, 50, 125, 500]
    );
    assert_eq!(
        arrival_times(ReplaySpeed::Scaled(0.5)).await,
        vec![0, 200, 500, 2_000]
    );
    assert_eq!(arrival_times(ReplaySpeed::Instant).await, vec![0, 0, 0, 0]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_recorders_share_a_file_and_separate_files_stay_whole() {
    let dir = dir("parallel");
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"ok": true})))
        .mount(&server)
        .await;
    let shared = dir.join("shared.yaml");
    let mut tasks = Vec::new();
    for i in 0..8 {
        let base = server.uri();
        let shared = shared.clone();
        let own = dir.join(format!("own-{i}.yaml"));
        tasks.push(tokio::spawn(async move {
            let a = client(cassette(&shared, Mode::Record).build().unwrap());
            let b = client(cassette(&own, Mode::Record).build().unwrap());
            for n in 0..3 {
                send_chat(&a, &base, "/v1/chat", &format!("task {i} call {n}"))
                    .await
                    .unwrap();
                send_chat(&b, &base, "/v1/chat", &format!("task {i} call {n}"))
                    .await
                    .unwrap();
            }
            // Keep `a` alive until every task has recorded, so they share one tape.
            a
        }));
    }
    let mut keep = Vec::new();
    for t in tasks {
        keep.push(t.await.unwrap());
    }
    assert_eq!(load(&shared).unwrap().interactions.len(), 24);
    for i in 0..8 {
        assert_eq!(
            load(&dir.join(format!("own-{i}.yaml")))
                .unwrap()
                .interactions
                .len(),
            3
        );
    }
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.ends_with(".yaml"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
}

/// The variable that makes [`child_recorder`] record: the cassette, the
/// upstream, the child's number, the mode, the run id (or empty) and the
/// folder of the start barrier (or empty), separated by `|`.
const CHILD: &str = "LLMVCR_TEST_CHILD_RECORDER";

/// Not a test of its own: the recorder that
/// [`recorders_in_separate_processes_keep_each_others_recordings`] runs in
/// child processes. Without [`CHILD`] it does nothing.
#[tokio::test]
async fn child_recorder() {
    let Ok(spec) = std::env::var(CHILD) else {
        return;
    };
    let parts: Vec<&str> = spec.split('|').collect();
    let [file, upstream, id, mode, run, barrier] = parts[..] else {
        panic!("bad {CHILD}: {spec}");
    };
    let env = Env {
        run_id: (!run.is_empty()).then(|| run.to_owned()),
        ..Env::default()
    };
    let middleware = cassette(std::path::Path::new(file), mode.parse().unwrap())
        .env(env)
        .build()
        .unwrap();
    let client = client(middleware);
    if !barrier.is_empty() {
        // Every child is built before any records.
        let barrier = std::path::Path::new(barrier);
        std::fs::write(barrier.join(format!("ready-{id}")), b"").unwrap();
        let go = barrier.join("go");
        for _ in 0..3000 {
            if go.exists() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert!(go.exists(), "no start signal");
    }
    for n in 0..3 {
        send_chat(
            &client,
            upstream,
            "/v1/chat",
            &format!("child {id} call {n}"),
        )
        .await
        .unwrap();
    }
}

/// Test runners that run each test in a process of its own (nextest) may
/// record into one file from several processes at once: each process keeps
/// what the others recorded, whether they started together (once, record)
/// or one after another in one run (record with a run id).
#[tokio::test]
async fn recorders_in_separate_processes_keep_each_others_recordings() {
    if std::env::var_os(CHILD).is_some() {
        return;
    }
    let dir = dir("processes");
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"ok": true})))
        .mount(&server)
        .await;
    let exe = std::env::current_exe().unwrap();
    let spawn = |file: &std::path::Path, id: usize, mode: &str, run: &str, barrier: &str| {
        std::process::Command::new(&exe)
            .args([
                "--exact",
                "record_replay::child_recorder",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(
                CHILD,
                format!(
                    "{}|{}|{id}|{mode}|{run}|{barrier}",
                    file.display(),
                    server.uri()
                ),
            )
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap()
    };
    const CHILDREN: usize = 4;
    let expect = |file: &std::path::Path| {
        let cassette = load(file).unwrap();
        let mut contents: Vec<String> = cassette
            .interactions
            .iter()
            .map(|i| match &i.request.body {
                Some(llmvcr_cassette::stored::StoredBody::Json(body)) => {
                    body.to_value()["messages"][0]["content"]
                        .as_str()
                        .unwrap()
                        .to_owned()
                }
                other => panic!("{other:?}"),
            })
            .collect();
        contents.sort();
        let mut want: Vec<String> = (0..CHILDREN)
            .flat_map(|id| (0..3).map(move |n| format!("child {id} call {n}")))
            .collect();
        want.sort();
        assert_eq!(contents, want, "{}", file.display());
    };

    // Started together: once (no file yet) and record (over an old file).
    for mode in ["once", "record"] {
        let file = dir.join(format!("together-{mode}.yaml"));
        if mode == "record" {
            std::fs::copy(dir.join("together-once.yaml"), &file).unwrap();
        }
        let barrier = dir.join(format!("barrier-{mode}"));
        std::fs::create_dir_all(&barrier).unwrap();
        let children: Vec<_> = (0..CHILDREN)
            .map(|id| spawn(&file, id, mode, "", &barrier.display().to_string()))
            .collect();
        for _ in 0..3000 {
            let ready = std::fs::read_dir(&barrier).unwrap().count();
            if ready == CHILDREN {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        std::fs::write(barrier.join("go"), b"").unwrap();
        for mut child in children {
            assert!(child.wait().unwrap().success(), "{mode}");
        }
        expect(&file);
    }

    // One after another in one run: record mode keeps the run's recordings
    // and replaces what an earlier run left.
    let file = dir.join("one-run.yaml");
    std::fs::copy(dir.join("together-once.yaml"), &file).unwrap();
    let run = format!(
        "run-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    );
    for id in 0..CHILDREN {
        let status = spawn(&file, id, "record", &run, "").wait().unwrap();
        assert!(status.success());
    }
    expect(&file);
}

#[tokio::test]
async fn passthrough_neither_reads_nor_writes() {
    let dir = dir("passthrough");
    let file = dir.join("p.yaml");
    let server = upstream().await;
    let c = client(cassette(&file, Mode::Passthrough).build().unwrap());
    let r = send_chat(&c, &server.uri(), "/v1/chat", "hi")
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(!file.exists());
}

#[tokio::test]
async fn miss_reason_is_typed() {
    let c = in_memory(vec![recorded_chat("a", "b")], MatchRules::new());
    let err = c
        .post("https://api.example.com/v1/chat")
        .json(&json!({"other": 1}))
        .send()
        .await
        .unwrap_err();
    let reqwest_middleware::Error::Middleware(e) = err else {
        panic!()
    };
    let Some(MiddlewareError::NoMatch(miss)) = e.downcast_ref::<MiddlewareError>() else {
        panic!("{e}")
    };
    let MissReason::Different(nearest) = &miss.reason else {
        panic!("{miss:?}")
    };
    assert_eq!(nearest.index, 0);
    assert!(nearest.total_differences >= 3);
}

#[tokio::test]
async fn gzip_responses_are_stored_decoded() {
    use std::io::Write as _;
    let dir = dir("gzip");
    let file = dir.join("gzip.yaml");
    let body = json!({"answer": "compressed"});
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder
        .write_all(serde_json::to_string(&body).unwrap().as_bytes())
        .unwrap();
    let packed = encoder.finish().unwrap();
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("content-encoding", "gzip")
                .set_body_raw(packed.clone(), "application/json"),
        )
        .mount(&server)
        .await;
    let recorder = client(cassette(&file, Mode::Record).build().unwrap());
    let live = send_chat(&recorder, &server.uri(), "/v1/chat", "hi")
        .await
        .unwrap();
    assert_eq!(live.headers().get("content-encoding").unwrap(), "gzip");
    assert_eq!(
        live.bytes().await.unwrap().to_vec(),
        packed,
        "the caller gets the wire bytes"
    );
    let recorded = load(&file).unwrap();
    let response = &recorded.interactions[0].response;
    assert_eq!(
        response.body,
        Some(llmvcr_cassette::stored::StoredBody::Json(
            body.clone().into()
        ))
    );
    assert!(response.headers.get("content-encoding").is_none());

    let replayer = client(cassette(&file, Mode::Replay).build().unwrap());
    let replayed = send_chat(&replayer, &server.uri(), "/v1/chat", "hi")
        .await
        .unwrap();
    assert!(replayed.headers().get("content-encoding").is_none());
    assert_eq!(replayed.json::<Value>().await.unwrap(), body);
}

#[tokio::test]
async fn with_the_origin_left_out_a_local_recording_replays_for_any_host() {
    let cassette = llmvcr_cassette::parse(
        "llmvcr: 1\ninteractions:\n- request:\n    method: POST\n    url: http://127.0.0.1:40647/v1/chat/completions?b=1\n    body: {json: {model: m}}\n  response:\n    status: 200\n    body: {text: ok}\n",
        "local.yaml",
    )
    .unwrap();
    let ask = |rules: MatchRules, url: &'static str| {
        let cassette = cassette.clone();
        async move {
            let middleware =
                llmvcr_cassette::CassetteMiddleware::replaying("local.yaml", cassette, rules)
                    .unwrap();
            let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
                .with(middleware)
                .build();
            client
                .post(url)
                .body(r#"{"model": "m"}"#)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| e.to_string())
        }
    };
    let real = "https://api.openai.com/v1/chat/completions?b=1";
    // By default the origin is part of the match.
    let miss = ask(MatchRules::new(), real).await.unwrap_err();
    assert!(miss.contains("url: http://127.0.0.1:40647"), "{miss}");
    // Left out, another host, scheme and port match; the path still counts.
    ask(MatchRules::new().with_match_origin(false), real)
        .await
        .unwrap();
    ask(
        MatchRules::new().with_match_origin(false),
        "http://localhost:1234/v1/chat/completions?b=1",
    )
    .await
    .unwrap();
    let other_path = ask(
        MatchRules::new().with_match_origin(false),
        "https://api.openai.com/v1/responses?b=1",
    )
    .await
    .unwrap_err();
    assert!(
        other_path.contains("no recorded interaction"),
        "{other_path}"
    );
}
