//! The router over real `Client`s: two providers on wiremock servers (loopback), the
//! first overloaded, the second answering a stream.

use llmvcr::routing::{AttemptOutcome, ClientTransport, Router, RouterPolicy, Target};
use llmvcr::{ChatRequest, Client, Endpoint, ErrorKind, Secret};
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const OPENAI_STREAM: &str = "data: {\"id\":\"c1\",\"model\":\"gpt-4o-mini\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hello\"},\"finish_reason\":null}]}\n\n\
data: {\"id\":\"c1\",\"model\":\"gpt-4o-mini\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\" there.\"},\"finish_reason\":\"stop\"}]}\n\n\
data: {\"id\":\"c1\",\"model\":\"gpt-4o-mini\",\"choices\":[],\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":3,\"total_tokens\":12}}\n\n\
data: [DONE]\n\n";

fn client(endpoint: Endpoint) -> Client {
    Client::builder(endpoint.with_api_key(Secret::new("test-key")))
        .key_from_env(false)
        .build()
}

#[tokio::test]
async fn an_overloaded_provider_falls_back_to_the_next_client() {
    let anthropic = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/messages"))
        .respond_with(ResponseTemplate::new(529).set_body_json(
            json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}),
        ))
        .expect(1)
        .mount(&anthropic)
        .await;
    let openai = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw(OPENAI_STREAM.as_bytes().to_vec(), "text/event-stream"),
        )
        .expect(1)
        .mount(&openai)
        .await;

    let transport = ClientTransport::new()
        .with(
            "claude",
            client(Endpoint::anthropic().with_base_url(&format!("{}/v1", anthropic.uri()))),
        )
        .with(
            "openai",
            client(Endpoint::openai().with_base_url(&format!("{}/v1", openai.uri()))),
        );
    let targets = vec![
        Target::new("claude", "anthropic", "claude-haiku-4-5"),
        Target::new("openai", "openai", "gpt-4o-mini"),
    ];
    let router = Router::new(transport, targets, RouterPolicy::default()).unwrap();
    let outcome = router
        .chat(&ChatRequest::new("any").user("Say hello."))
        .await;

    let response = outcome.result.as_ref().unwrap();
    assert_eq!(response.text, "Hello there.");
    assert_eq!(outcome.served_by.as_deref(), Some("openai"));
    assert!(matches!(
        outcome.log[0].outcome,
        AttemptOutcome::Failed {
            kind: ErrorKind::Overloaded,
            ..
        }
    ));
    // Each target received its own model.
    let sent: serde_json::Value =
        serde_json::from_slice(&openai.received_requests().await.unwrap()[0].body).unwrap();
    assert_eq!(sent["model"], "gpt-4o-mini");
    assert_eq!(sent["stream"], true);
}

#[tokio::test]
async fn a_target_without_a_client_is_an_error_not_a_panic() {
    let router = Router::new(
        ClientTransport::new(),
        vec![Target::new("missing", "openai", "gpt-4o")],
        RouterPolicy::default(),
    )
    .unwrap();
    let outcome = router.chat(&ChatRequest::new("any").user("hi")).await;
    let err = outcome.result.unwrap_err();
    assert!(
        err.error.message.contains("no client for target `missing`"),
        "{:?}",
        err.error
    );
}
