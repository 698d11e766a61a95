//! The façade's cassette helpers: record and replay through `Client`, provider
//! rules (credentials, volatile fields), error mapping, and test-named cassettes.

use std::path::PathBuf;

use llmvcr::cassette::{Env, Mode, Redactor, load};
use llmvcr::testing::{cassette, client_from, secret_rules};
use llmvcr::{ChatRequest, Endpoint, ErrorKind, Secret};
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const KEY: &str = "sk-proj-live0123456789abcdefghijklmn";
const OTHER_KEY: &str = "sk-proj-other9876543210zyxwvutsrqpo";

fn dir(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("cassette_facade")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn sse() -> String {
    let chunk = |delta: serde_json::Value, finish: Option<&str>| {
        json!({"id": "chatcmpl-1", "object": "chat.completion.chunk", "model": "gpt-4o-mini",
               "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})
    };
    let usage = json!({"id": "chatcmpl-1", "object": "chat.completion.chunk", "model": "gpt-4o-mini",
                       "choices": [], "usage": {"prompt_tokens": 9, "completion_tokens": 2, "total_tokens": 11}});
    let mut out = String::new();
    for frame in [
        chunk(json!({"role": "assistant", "content": ""}), None),
        chunk(json!({"content": "Par"}), None),
        chunk(json!({"content": "is."}), None),
        chunk(json!({}), Some("stop")),
        usage,
    ] {
        out.push_str(&format!("data: {frame}\n\n"));
    }
    out.push_str("data: [DONE]\n\n");
    out
}

fn question() -> ChatRequest {
    let mut request = ChatRequest::new("gpt-4o-mini").user("Capital of France, one word?");
    // Volatile fields the OpenAI rules ignore when matching.
    request.extra.insert("user".into(), json!("end-user-1"));
    request
        .extra
        .insert("metadata".into(), json!({"trace": "t-1"}));
    request
}

/// A builder that neither reads the process environment nor its secrets.
fn facade_cassette(file: &std::path::Path, mode: Mode) -> llmvcr::cassette::CassetteBuilder {
    cassette(file)
        .mode(mode)
        .env(Env::default())
        .redactor(Redactor::with_values(&secret_rules(), Vec::new()))
}

#[tokio::test]
async fn chat_and_stream_record_then_replay_through_the_client() {
    let dir = dir("record_replay");
    let file = dir.join("paris.yaml");
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(sse(), "text/event-stream"))
        .mount(&server)
        .await;
    let live_endpoint = Endpoint::openai()
        .with_base_url(&format!("{}/v1", server.uri()))
        .with_api_key(Secret::new(KEY));

    let recorder = client_from(live_endpoint.clone(), facade_cassette(&file, Mode::Record));
    let live = recorder
        .chat_stream(&question())
        .await
        .unwrap()
        .collect_response()
        .await
        .unwrap();
    assert_eq!(live.text, "Paris.");
    drop(recorder);
    drop(server);

    let text = std::fs::read_to_string(&file).unwrap();
    assert!(!text.contains("sk-proj"), "{text}");
    assert!(text.contains("authorization: Bearer <REDACTED>"), "{text}");
    assert_eq!(load(&file).unwrap().interactions.len(), 1);

    // Replay with another key, another end-user id and another trace id.
    let replay_endpoint = live_endpoint.with_api_key(Secret::new(OTHER_KEY));
    let replayer = client_from(replay_endpoint, facade_cassette(&file, Mode::Replay));
    let mut request = question();
    request.extra.insert("user".into(), json!("end-user-2"));
    request
        .extra
        .insert("metadata".into(), json!({"trace": "t-2"}));
    let replayed = replayer
        .chat_stream(&request)
        .await
        .unwrap()
        .collect_response()
        .await
        .unwrap();
    assert_eq!(replayed, live);
}

#[tokio::test]
async fn a_miss_is_a_no_match_error_with_the_explanation() {
    let dir = dir("miss");
    let file = dir.join("paris.yaml");
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "c", "object": "chat.completion", "model": "gpt-4o-mini",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "Paris."}, "finish_reason": "stop"}]
        })))
        .mount(&server)
        .await;
    let endpoint = Endpoint::openai().with_base_url(&format!("{}/v1", server.uri()));
    let recorder = client_from(endpoint.clone(), facade_cassette(&file, Mode::Record));
    recorder.chat(&question()).await.unwrap();
    drop(recorder);

    let replayer = client_from(endpoint, facade_cassette(&file, Mode::Replay));
    assert_eq!(replayer.chat(&question()).await.unwrap().text, "Paris.");
    let err = replayer
        .chat(&ChatRequest::new("gpt-4o-mini").user("Capital of Spain, one word?"))
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::NoMatch);
    assert!(err.message.contains("paris.yaml"), "{}", err.message);
    assert!(err.message.contains("nearest: #0 POST"), "{}", err.message);
    assert!(
        err.message
            .contains("/messages/0/content: \"Capital of France, one word?\" -> \"Capital of Spain, one word?\""),
        "{}",
        err.message
    );
    assert!(!err.retryable());
}

#[tokio::test]
async fn recording_refused_on_ci_reaches_the_caller() {
    let dir = dir("ci");
    let client = client_from(
        Endpoint::openai(),
        cassette(dir.join("ci.yaml")).mode(Mode::Record).env(Env {
            ci: Some("true".into()),
            ..Env::default()
        }),
    );
    let err = client.chat(&question()).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Other);
    assert!(
        err.message.contains("refusing to record"),
        "{}",
        err.message
    );
    assert!(
        err.message.contains("LLMVCR_ALLOW_RECORD_IN_CI=1"),
        "{}",
        err.message
    );
}

#[tokio::test]
async fn the_test_named_cassette_lives_under_the_module_path() {
    if std::env::var("LLMVCR_MODE").is_ok_and(|m| !m.is_empty() && m != "replay") {
        return;
    }
    let client = llmvcr::cassette_client!(Endpoint::openai());
    let err = client.chat(&question()).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::NoMatch);
    let expected = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(
        "cassettes/it/cassette_facade/the_test_named_cassette_lives_under_the_module_path.yaml",
    );
    assert!(
        err.message
            .contains(&format!("{} does not exist", expected.display())),
        "{}",
        err.message
    );
}

#[tokio::test]
async fn the_committed_quickstart_cassette_replays() {
    if std::env::var("LLMVCR_MODE").is_ok_and(|m| !m.is_empty() && m != "replay") {
        return;
    }
    let client = llmvcr::cassette_client!(Endpoint::openai(), "quickstart/capital_of_france");
    let answer = client
        .chat(
            &ChatRequest::new("gpt-4o")
                .system("You are a helpful assistant.")
                .user("What is the capital of France?"),
        )
        .await
        .unwrap();
    assert_eq!(answer.text, "The capital of France is Paris.");
    let middleware = llmvcr::cassette_middleware!("quickstart/capital_of_france").unwrap();
    assert_eq!(middleware.len(), 1);
}

#[tokio::test]
async fn options_reach_every_knob_from_the_one_liner() {
    use llmvcr::cassette::Mode;
    use llmvcr::testing::options;

    let question = || {
        ChatRequest::new("gpt-4o")
            .system("You are a helpful assistant.")
            .user("What is the capital of France?")
    };
    // By default the one recording answers once, and only at its own host.
    let once = llmvcr::cassette_client!(
        Endpoint::openai(),
        options()
            .name("quickstart/capital_of_france")
            .mode(Mode::Replay)
    );
    once.chat(&question()).await.unwrap();
    let again = once.chat(&question()).await.unwrap_err();
    assert_eq!(again.kind, ErrorKind::NoMatch);
    assert!(
        again.message.contains("with_repeats(true)"),
        "{}",
        again.message
    );

    // Repeats, another host and port (a local server), extra ignored fields.
    let local = Endpoint::openai().with_base_url("http://127.0.0.1:9/v1");
    let strict = llmvcr::cassette_client!(
        local.clone(),
        options()
            .name("quickstart/capital_of_france")
            .mode(Mode::Replay)
    );
    assert_eq!(
        strict.chat(&question()).await.unwrap_err().kind,
        ErrorKind::NoMatch
    );
    let client = llmvcr::cassette_client!(
        local,
        options()
            .name("quickstart/capital_of_france")
            .mode(Mode::Replay)
            .repeats(true)
            .match_origin(false)
            .ignore_pointer("/seed")
            .ignore_query_param("trace")
    );
    for _ in 0..2 {
        let answer = client.chat(&question()).await.unwrap();
        assert_eq!(answer.text, "The capital of France is Paris.");
    }
    let middleware = llmvcr::cassette_middleware!(
        options()
            .name("quickstart/capital_of_france")
            .mode(Mode::Replay)
    )
    .unwrap();
    assert_eq!(middleware.len(), 1);
}
