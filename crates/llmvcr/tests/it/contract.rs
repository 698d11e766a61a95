//! Contract tests: every adapter, through `Client`, against a wiremock server on
//! loopback. Each case checks the wire request (path, query, auth header, body), a
//! non-streaming answer, a streamed answer, and the classification of one error
//! response per error kind.

use std::time::Duration;

use futures::StreamExt;
use llmvcr::{ChatRequest, Client, Endpoint, ErrorKind, Secret, StreamEvent};
use serde_json::{Value, json};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const KEY: &str = "test-key-0000";

/// An error response: status, body, expected kind, expected `retry_after`, headers.
type ErrorCase = (
    u16,
    Value,
    ErrorKind,
    Option<Duration>,
    Vec<(&'static str, &'static str)>,
);

/// One endpoint style and the wire facts it must honour.
struct Case {
    name: &'static str,
    endpoint: fn(&str) -> Endpoint,
    path: &'static str,
    query: Option<(&'static str, &'static str)>,
    auth: (&'static str, String),
    ok_body: Value,
    stream_content_type: &'static str,
    stream_body: &'static str,
    /// Error bodies for (status, body, expected kind, expected retry-after).
    errors: Vec<ErrorCase>,
}

fn openai_chat_ok(model: &str) -> Value {
    json!({
        "id": "chatcmpl-1", "object": "chat.completion", "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello there."}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 9, "completion_tokens": 3, "total_tokens": 12}
    })
}

const OPENAI_STREAM: &str = "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}]}\n\n\
data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hello\"},\"finish_reason\":null}]}\n\n\
data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\" there.\"},\"finish_reason\":\"stop\"}]}\n\n\
data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"model\":\"m\",\"choices\":[],\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":3,\"total_tokens\":12}}\n\n\
data: [DONE]\n\n";

fn openai_errors() -> Vec<ErrorCase> {
    vec![
        (
            429,
            json!({"error": {"message": "Rate limit reached for requests", "type": "requests", "code": "rate_limit_exceeded"}}),
            ErrorKind::RateLimited,
            Some(Duration::from_millis(1500)),
            vec![("retry-after-ms", "1500")],
        ),
        (
            429,
            json!({"error": {"message": "You exceeded your current quota", "type": "insufficient_quota", "code": "insufficient_quota"}}),
            ErrorKind::QuotaExceeded,
            None,
            vec![],
        ),
        (
            400,
            json!({"error": {"message": "This model's maximum context length is 128000 tokens.", "type": "invalid_request_error", "code": "context_length_exceeded"}}),
            ErrorKind::ContextLength,
            None,
            vec![],
        ),
        (
            400,
            json!({"error": {"message": "Invalid value for 'temperature'", "type": "invalid_request_error", "code": null}}),
            ErrorKind::BadRequest,
            None,
            vec![],
        ),
        (
            401,
            json!({"error": {"message": "Incorrect API key provided", "type": "invalid_request_error", "code": "invalid_api_key"}}),
            ErrorKind::Auth,
            None,
            vec![],
        ),
        (
            403,
            json!({"error": {"message": "Project does not have access to model", "type": "invalid_request_error", "code": "model_not_found_permission"}}),
            ErrorKind::Permission,
            None,
            vec![],
        ),
        (
            404,
            json!({"error": {"message": "The model does not exist", "type": "invalid_request_error", "code": "model_not_found"}}),
            ErrorKind::NotFound,
            None,
            vec![],
        ),
        (
            500,
            json!({"error": {"message": "The server had an error", "type": "server_error", "code": null}}),
            ErrorKind::Server,
            None,
            vec![],
        ),
        (
            503,
            json!({"error": {"message": "The engine is currently overloaded", "type": "server_error"}}),
            ErrorKind::Overloaded,
            Some(Duration::from_secs(2)),
            vec![("retry-after", "2")],
        ),
    ]
}

fn cases() -> Vec<Case> {
    let bearer = ("authorization", format!("Bearer {KEY}"));
    vec![
        Case {
            name: "openai",
            endpoint: |b| Endpoint::openai().with_base_url(&format!("{b}/v1")),
            path: "/v1/chat/completions",
            query: None,
            auth: bearer.clone(),
            ok_body: openai_chat_ok("gpt-4o-mini"),
            stream_content_type: "text/event-stream",
            stream_body: OPENAI_STREAM,
            errors: openai_errors(),
        },
        Case {
            name: "azure",
            endpoint: |b| Endpoint::azure(b, "my-deployment", "2024-10-21"),
            path: "/openai/deployments/my-deployment/chat/completions",
            query: Some(("api-version", "2024-10-21")),
            auth: ("api-key", KEY.to_string()),
            ok_body: openai_chat_ok("gpt-4o-mini"),
            stream_content_type: "text/event-stream",
            // Azure's first chunk carries prompt filter results and no choices.
            stream_body: "data: {\"choices\":[],\"created\":0,\"id\":\"\",\"model\":\"\",\"object\":\"\",\"prompt_filter_results\":[{\"prompt_index\":0,\"content_filter_results\":{}}]}\n\n\
data: {\"id\":\"c1\",\"model\":\"gpt-4o-mini\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hello there.\"},\"finish_reason\":\"stop\"}]}\n\n\
data: [DONE]\n\n",
            errors: openai_errors(),
        },
        Case {
            name: "openrouter",
            endpoint: |b| Endpoint::openrouter().with_base_url(&format!("{b}/api/v1")),
            path: "/api/v1/chat/completions",
            query: None,
            auth: bearer.clone(),
            ok_body: openai_chat_ok("openai/gpt-4o-mini"),
            stream_content_type: "text/event-stream",
            stream_body: ": OPENROUTER PROCESSING\n\n: OPENROUTER PROCESSING\n\n\
data: {\"id\":\"gen-1\",\"model\":\"openai/gpt-4o-mini\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"Hello there.\"},\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":3,\"total_tokens\":12}}\n\n\
data: [DONE]\n\n",
            errors: vec![
                (
                    402,
                    json!({"error": {"code": 402, "message": "Insufficient credits"}}),
                    ErrorKind::QuotaExceeded,
                    None,
                    vec![],
                ),
                (
                    429,
                    json!({"error": {"code": 429, "message": "Rate limit exceeded"}}),
                    ErrorKind::RateLimited,
                    None,
                    vec![],
                ),
                (
                    502,
                    json!({"error": {"code": 502, "message": "Provider returned error"}}),
                    ErrorKind::Server,
                    None,
                    vec![],
                ),
            ],
        },
        Case {
            name: "groq",
            endpoint: |b| Endpoint::groq().with_base_url(&format!("{b}/openai/v1")),
            path: "/openai/v1/chat/completions",
            query: None,
            auth: bearer.clone(),
            ok_body: openai_chat_ok("llama-3.3-70b-versatile"),
            stream_content_type: "text/event-stream",
            stream_body: OPENAI_STREAM,
            errors: vec![(
                429,
                json!({"error": {"message": "Rate limit reached", "type": "tokens", "code": "rate_limit_exceeded"}}),
                ErrorKind::RateLimited,
                Some(Duration::from_secs(7)),
                vec![("retry-after", "7")],
            )],
        },
        Case {
            name: "mistral",
            endpoint: |b| Endpoint::mistral().with_base_url(&format!("{b}/v1")),
            path: "/v1/chat/completions",
            query: None,
            auth: bearer.clone(),
            ok_body: openai_chat_ok("mistral-small-latest"),
            stream_content_type: "text/event-stream",
            stream_body: OPENAI_STREAM,
            errors: vec![
                (
                    401,
                    json!({"message": "Unauthorized", "request_id": "x"}),
                    ErrorKind::Auth,
                    None,
                    vec![],
                ),
                (
                    422,
                    json!({"object": "error", "message": "Invalid model: x", "type": "invalid_model", "param": null, "code": "1500"}),
                    ErrorKind::BadRequest,
                    None,
                    vec![],
                ),
            ],
        },
        Case {
            name: "lmstudio",
            endpoint: |b| {
                Endpoint::lmstudio()
                    .with_base_url(&format!("{b}/v1"))
                    .with_auth(llmvcr::AuthStyle::Bearer)
            },
            path: "/v1/chat/completions",
            query: None,
            auth: bearer.clone(),
            ok_body: openai_chat_ok("qwen2.5-7b-instruct"),
            stream_content_type: "text/event-stream",
            stream_body: OPENAI_STREAM,
            errors: vec![(
                404,
                json!({"error": "Model not found"}),
                ErrorKind::NotFound,
                None,
                vec![],
            )],
        },
        Case {
            name: "ollama_openai",
            endpoint: |b| {
                Endpoint::ollama_openai()
                    .with_base_url(&format!("{b}/v1"))
                    .with_auth(llmvcr::AuthStyle::Bearer)
            },
            path: "/v1/chat/completions",
            query: None,
            auth: bearer.clone(),
            ok_body: openai_chat_ok("llama3.2"),
            stream_content_type: "text/event-stream",
            stream_body: OPENAI_STREAM,
            errors: vec![(
                404,
                json!({"error": {"message": "model \"llama9\" not found, try pulling it first", "type": "api_error"}}),
                ErrorKind::NotFound,
                None,
                vec![],
            )],
        },
        Case {
            name: "openai_responses",
            endpoint: |b| Endpoint::openai_responses().with_base_url(&format!("{b}/v1")),
            path: "/v1/responses",
            query: None,
            auth: bearer.clone(),
            ok_body: json!({
                "id": "resp_1", "object": "response", "status": "completed", "model": "gpt-4.1-mini", "error": null,
                "output": [{"type": "message", "id": "msg_1", "role": "assistant", "status": "completed",
                            "content": [{"type": "output_text", "text": "Hello there.", "annotations": []}]}],
                "usage": {"input_tokens": 9, "input_tokens_details": {"cached_tokens": 0}, "output_tokens": 3, "output_tokens_details": {"reasoning_tokens": 0}, "total_tokens": 12}
            }),
            stream_content_type: "text/event-stream",
            stream_body: "event: response.created\ndata: {\"type\":\"response.created\",\"sequence_number\":0,\"response\":{\"id\":\"resp_1\",\"status\":\"in_progress\",\"model\":\"gpt-4.1-mini\",\"output\":[]}}\n\n\
event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\",\"sequence_number\":1,\"item_id\":\"msg_1\",\"output_index\":0,\"content_index\":0,\"delta\":\"Hello\"}\n\n\
event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\",\"sequence_number\":2,\"item_id\":\"msg_1\",\"output_index\":0,\"content_index\":0,\"delta\":\" there.\"}\n\n\
event: response.completed\ndata: {\"type\":\"response.completed\",\"sequence_number\":3,\"response\":{\"id\":\"resp_1\",\"status\":\"completed\",\"model\":\"gpt-4.1-mini\",\"output\":[{\"type\":\"message\",\"id\":\"msg_1\",\"role\":\"assistant\",\"content\":[{\"type\":\"output_text\",\"text\":\"Hello there.\"}]}],\"usage\":{\"input_tokens\":9,\"output_tokens\":3,\"total_tokens\":12}}}\n\n",
            errors: openai_errors(),
        },
        Case {
            name: "anthropic",
            endpoint: |b| Endpoint::anthropic().with_base_url(&format!("{b}/v1")),
            path: "/v1/messages",
            query: None,
            auth: ("x-api-key", KEY.to_string()),
            ok_body: json!({
                "id": "msg_1", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5-20250929",
                "content": [{"type": "text", "text": "Hello there."}],
                "stop_reason": "end_turn", "stop_sequence": null,
                "usage": {"input_tokens": 9, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0, "output_tokens": 3}
            }),
            stream_content_type: "text/event-stream; charset=utf-8",
            stream_body: "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-sonnet-4-5-20250929\",\"content\":[],\"stop_reason\":null,\"usage\":{\"input_tokens\":9,\"cache_creation_input_tokens\":0,\"cache_read_input_tokens\":0,\"output_tokens\":1}}   }\n\n\
event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n\
event: ping\ndata: {\"type\": \"ping\"}\n\n\
event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hello\"}}\n\n\
event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\" there.\"}}\n\n\
event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n\
event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":3}}\n\n\
event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
            errors: vec![
                (
                    529,
                    json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}),
                    ErrorKind::Overloaded,
                    None,
                    vec![],
                ),
                (
                    429,
                    json!({"type": "error", "error": {"type": "rate_limit_error", "message": "Number of request tokens has exceeded your per-minute rate limit"}}),
                    ErrorKind::RateLimited,
                    Some(Duration::from_secs(30)),
                    vec![("retry-after", "30")],
                ),
                (
                    400,
                    json!({"type": "error", "error": {"type": "invalid_request_error", "message": "prompt is too long: 212000 tokens > 200000 maximum"}}),
                    ErrorKind::ContextLength,
                    None,
                    vec![],
                ),
                (
                    400,
                    json!({"type": "error", "error": {"type": "invalid_request_error", "message": "Your credit balance is too low to access the Anthropic API."}}),
                    ErrorKind::QuotaExceeded,
                    None,
                    vec![],
                ),
                (
                    401,
                    json!({"type": "error", "error": {"type": "authentication_error", "message": "invalid x-api-key"}}),
                    ErrorKind::Auth,
                    None,
                    vec![],
                ),
                (
                    403,
                    json!({"type": "error", "error": {"type": "permission_error", "message": "not allowed"}}),
                    ErrorKind::Permission,
                    None,
                    vec![],
                ),
                (
                    404,
                    json!({"type": "error", "error": {"type": "not_found_error", "message": "model: claude-9"}}),
                    ErrorKind::NotFound,
                    None,
                    vec![],
                ),
                (
                    500,
                    json!({"type": "error", "error": {"type": "api_error", "message": "Internal server error"}}),
                    ErrorKind::Server,
                    None,
                    vec![],
                ),
            ],
        },
        Case {
            name: "gemini",
            endpoint: |b| Endpoint::gemini().with_base_url(&format!("{b}/v1beta")),
            path: "/v1beta/models/gemini-2.5-flash:generateContent",
            query: None,
            auth: ("x-goog-api-key", KEY.to_string()),
            ok_body: json!({
                "candidates": [{"content": {"parts": [{"text": "Hello there."}], "role": "model"}, "finishReason": "STOP", "index": 0}],
                "usageMetadata": {"promptTokenCount": 9, "candidatesTokenCount": 3, "totalTokenCount": 12},
                "modelVersion": "gemini-2.5-flash", "responseId": "r1"
            }),
            stream_content_type: "text/event-stream",
            stream_body: "data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"Hello\"}],\"role\": \"model\"},\"index\": 0}],\"usageMetadata\": {\"promptTokenCount\": 9,\"candidatesTokenCount\": 1,\"totalTokenCount\": 10},\"modelVersion\": \"gemini-2.5-flash\"}\r\n\r\n\
data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \" there.\"}],\"role\": \"model\"},\"finishReason\": \"STOP\",\"index\": 0}],\"usageMetadata\": {\"promptTokenCount\": 9,\"candidatesTokenCount\": 3,\"totalTokenCount\": 12},\"modelVersion\": \"gemini-2.5-flash\"}\r\n\r\n",
            errors: vec![
                (
                    429,
                    json!({"error": {"code": 429, "message": "Resource has been exhausted (e.g. check quota).", "status": "RESOURCE_EXHAUSTED", "details": [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "21s"}]}}),
                    ErrorKind::RateLimited,
                    Some(Duration::from_secs(21)),
                    vec![],
                ),
                (
                    503,
                    json!({"error": {"code": 503, "message": "The model is overloaded. Please try again later.", "status": "UNAVAILABLE"}}),
                    ErrorKind::Overloaded,
                    None,
                    vec![],
                ),
                (
                    400,
                    json!({"error": {"code": 400, "message": "The input token count (1200000) exceeds the maximum number of tokens allowed (1048576).", "status": "INVALID_ARGUMENT"}}),
                    ErrorKind::ContextLength,
                    None,
                    vec![],
                ),
                (
                    400,
                    json!({"error": {"code": 400, "message": "Invalid JSON payload received.", "status": "INVALID_ARGUMENT"}}),
                    ErrorKind::BadRequest,
                    None,
                    vec![],
                ),
                (
                    403,
                    json!({"error": {"code": 403, "message": "Permission denied", "status": "PERMISSION_DENIED"}}),
                    ErrorKind::Permission,
                    None,
                    vec![],
                ),
                (
                    404,
                    json!({"error": {"code": 404, "message": "models/gemini-9 is not found", "status": "NOT_FOUND"}}),
                    ErrorKind::NotFound,
                    None,
                    vec![],
                ),
                (
                    500,
                    json!({"error": {"code": 500, "message": "An internal error has occurred.", "status": "INTERNAL"}}),
                    ErrorKind::Server,
                    None,
                    vec![],
                ),
                (
                    504,
                    json!({"error": {"code": 504, "message": "Deadline exceeded", "status": "DEADLINE_EXCEEDED"}}),
                    ErrorKind::Timeout,
                    None,
                    vec![],
                ),
            ],
        },
        Case {
            name: "ollama",
            endpoint: |b| Endpoint::ollama().with_base_url(&format!("{b}/api")),
            path: "/api/chat",
            query: None,
            auth: ("x-contract-marker", "ollama".to_string()),
            ok_body: json!({
                "model": "llama3.2", "created_at": "2025-01-01T00:00:00Z",
                "message": {"role": "assistant", "content": "Hello there."},
                "done": true, "done_reason": "stop", "prompt_eval_count": 9, "eval_count": 3
            }),
            stream_content_type: "application/x-ndjson",
            stream_body: "{\"model\":\"llama3.2\",\"created_at\":\"2025-01-01T00:00:00Z\",\"message\":{\"role\":\"assistant\",\"content\":\"Hello\"},\"done\":false}\n\
{\"model\":\"llama3.2\",\"created_at\":\"2025-01-01T00:00:00Z\",\"message\":{\"role\":\"assistant\",\"content\":\" there.\"},\"done\":false}\n\
{\"model\":\"llama3.2\",\"created_at\":\"2025-01-01T00:00:00Z\",\"message\":{\"role\":\"assistant\",\"content\":\"\"},\"done\":true,\"done_reason\":\"stop\",\"prompt_eval_count\":9,\"eval_count\":3}\n",
            errors: vec![
                (
                    404,
                    json!({"error": "model \"llama9\" not found, try pulling it first"}),
                    ErrorKind::NotFound,
                    None,
                    vec![],
                ),
                (
                    400,
                    json!({"error": "invalid options"}),
                    ErrorKind::BadRequest,
                    None,
                    vec![],
                ),
                (
                    500,
                    json!({"error": "llama runner process has terminated"}),
                    ErrorKind::Server,
                    None,
                    vec![],
                ),
            ],
        },
    ]
}

fn model_for(case: &Case) -> &'static str {
    match case.name {
        "gemini" => "gemini-2.5-flash",
        "anthropic" => "claude-sonnet-4-5",
        "ollama" => "llama3.2",
        _ => "gpt-4o-mini",
    }
}

fn client_for(case: &Case, server: &MockServer) -> Client {
    let mut endpoint = (case.endpoint)(&server.uri()).with_api_key(Secret::new(KEY));
    if case.name == "ollama" {
        endpoint = endpoint.with_header("x-contract-marker", "ollama");
    }
    Client::builder(endpoint).key_from_env(false).build()
}

fn request(case: &Case) -> ChatRequest {
    ChatRequest::new(model_for(case))
        .system("Be brief.")
        .user("Say hello.")
        .max_tokens(50)
}

async fn mount_ok(case: &Case, server: &MockServer, template: ResponseTemplate, stream: bool) {
    let mut mock = Mock::given(method("POST")).and(header(case.auth.0, case.auth.1.as_str()));
    if stream && case.name == "gemini" {
        mock = mock
            .and(path(
                "/v1beta/models/gemini-2.5-flash:streamGenerateContent",
            ))
            .and(wiremock::matchers::query_param("alt", "sse"));
    } else {
        mock = mock.and(path(case.path));
    }
    if let Some((k, v)) = case.query {
        mock = mock.and(wiremock::matchers::query_param(k, v));
    }
    mock.respond_with(template).expect(1).mount(server).await;
}

#[tokio::test]
async fn non_streaming_calls_send_the_encoded_request_and_decode_the_answer() {
    for case in cases() {
        let server = MockServer::start().await;
        mount_ok(
            &case,
            &server,
            ResponseTemplate::new(200).set_body_json(case.ok_body.clone()),
            false,
        )
        .await;
        let client = client_for(&case, &server);
        let req = request(&case);
        let answer = client
            .chat(&req)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", case.name));
        assert_eq!(answer.text, "Hello there.", "{}", case.name);
        let usage = answer
            .usage
            .unwrap_or_else(|| panic!("{}: no usage", case.name));
        assert_eq!(
            (usage.input_tokens, usage.output_tokens),
            (9, 3),
            "{}",
            case.name
        );
        assert!(answer.finish_reason.is_some(), "{}", case.name);

        let received = server.received_requests().await.unwrap();
        assert_eq!(received.len(), 1, "{}", case.name);
        let sent: Value = serde_json::from_slice(&received[0].body).unwrap();
        assert_eq!(
            sent,
            client.adapter().encode(&req).unwrap(),
            "{}: body",
            case.name
        );
        assert_eq!(
            received[0]
                .headers
                .get("content-type")
                .map(|v| v.to_str().unwrap()),
            Some("application/json"),
            "{}",
            case.name
        );
        server.verify().await;
    }
}

#[tokio::test]
async fn streaming_calls_yield_events_that_aggregate_to_the_answer() {
    for case in cases() {
        let server = MockServer::start().await;
        mount_ok(
            &case,
            &server,
            ResponseTemplate::new(200)
                .insert_header("content-type", case.stream_content_type)
                .set_body_raw(
                    case.stream_body.as_bytes().to_vec(),
                    case.stream_content_type,
                ),
            true,
        )
        .await;
        let client = client_for(&case, &server);
        let stream = client
            .chat_stream(&request(&case))
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", case.name));
        let events: Vec<StreamEvent> = stream.map(|e| e.unwrap()).collect().await;
        let deltas = events
            .iter()
            .filter(|e| matches!(e, StreamEvent::TextDelta(t) if !t.is_empty()))
            .count();
        assert!(deltas >= 1, "{}: no text deltas in {events:?}", case.name);

        let server = MockServer::start().await;
        mount_ok(
            &case,
            &server,
            ResponseTemplate::new(200)
                .insert_header("content-type", case.stream_content_type)
                .set_body_raw(
                    case.stream_body.as_bytes().to_vec(),
                    case.stream_content_type,
                ),
            true,
        )
        .await;
        let client = client_for(&case, &server);
        let req = request(&case);
        let answer = client
            .chat_stream(&req)
            .await
            .unwrap()
            .collect_response()
            .await
            .unwrap();
        assert_eq!(answer.text, "Hello there.", "{}", case.name);
        assert!(answer.finish_reason.is_some(), "{}", case.name);
        let received = server.received_requests().await.unwrap();
        let sent: Value = serde_json::from_slice(&received[0].body).unwrap();
        let mut streaming = req.clone();
        streaming.stream = true;
        assert_eq!(
            sent,
            client.adapter().encode(&streaming).unwrap(),
            "{}: body",
            case.name
        );
    }
}

#[tokio::test]
async fn error_responses_are_classified() {
    for case in cases() {
        for (status, body, kind, retry_after, headers) in &case.errors {
            let server = MockServer::start().await;
            let mut template = ResponseTemplate::new(*status).set_body_json(body.clone());
            for (k, v) in headers {
                template = template.insert_header(*k, *v);
            }
            Mock::given(method("POST"))
                .respond_with(template)
                .mount(&server)
                .await;
            let client = client_for(&case, &server);
            let err = client.chat(&request(&case)).await.unwrap_err();
            assert_eq!(err.kind, *kind, "{} {status}: {err}", case.name);
            assert_eq!(err.status, Some(*status), "{}", case.name);
            assert_eq!(err.retry_after, *retry_after, "{} {status}", case.name);
            assert!(!err.message.contains(KEY), "{}: key leaked", case.name);
            // The same error on a streaming call is returned before any event.
            let err = client.chat_stream(&request(&case)).await.unwrap_err();
            assert_eq!(err.kind, *kind, "{} {status} (stream)", case.name);
        }
    }
}

#[tokio::test]
async fn connection_failures_are_network_errors_without_the_url() {
    // A port that was just free: nothing listens there.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let uri = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let endpoint = Endpoint::gemini()
        .with_base_url(&format!("{uri}/v1beta"))
        .with_auth(llmvcr::AuthStyle::QueryKey)
        .with_api_key(Secret::new("AIzaTESTTESTTESTTESTTESTTEST"));
    let client = Client::builder(endpoint).key_from_env(false).build();
    let err = client
        .chat(&ChatRequest::new("gemini-2.5-flash").user("hi"))
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Network);
    assert!(err.retryable());
    assert!(!err.to_string().contains("AIzaTEST"), "{err}");
}

#[tokio::test]
async fn client_debug_never_shows_the_key() {
    let client =
        Client::builder(Endpoint::openai().with_api_key(Secret::new("sk-test-visible-if-leaked")))
            .key_from_env(false)
            .build();
    assert!(!format!("{client:?}").contains("visible-if-leaked"));
}

// ---------------------------------------------------------------------------------
// Usage on errors
//
// No recording in `cassettes/` has a provider error with usage, so these bodies are
// reconstructed from the documented wire formats: Anthropic's `event: error` after
// `message_start` in an HTTP 200 stream, and OpenRouter's mid-stream error chunk
// (`error` object, `finish_reason: "error"`) carrying `usage`.

/// Anthropic: `message_start` (12 input tokens, 1 output), the text "Hel", then
/// `overloaded_error`.
const ANTHROPIC_OVERLOADED_AFTER_TEXT: &str = "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_9\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-sonnet-4-5-20250929\",\"content\":[],\"stop_reason\":null,\"usage\":{\"input_tokens\":12,\"cache_creation_input_tokens\":0,\"cache_read_input_tokens\":0,\"output_tokens\":1}}}\n\n\
event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n\
event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hel\"}}\n\n\
event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n";

/// OpenRouter: one text chunk, then an error chunk with `usage`.
const OPENROUTER_ERROR_CHUNK_WITH_USAGE: &str = ": OPENROUTER PROCESSING\n\n\
data: {\"id\":\"gen-9\",\"model\":\"openai/gpt-4o-mini\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"Hel\"},\"finish_reason\":null}]}\n\n\
data: {\"id\":\"gen-9\",\"model\":\"openai/gpt-4o-mini\",\"object\":\"chat.completion.chunk\",\"error\":{\"code\":502,\"message\":\"Provider returned error\"},\"choices\":[{\"index\":0,\"delta\":{\"content\":\"\"},\"finish_reason\":\"error\"}],\"usage\":{\"prompt_tokens\":20,\"completion_tokens\":2,\"total_tokens\":22}}\n\n\
data: [DONE]\n\n";

async fn streaming_server(body: &'static str) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("content-type", "text/event-stream")
                .set_body_raw(body.as_bytes().to_vec(), "text/event-stream"),
        )
        .mount(&server)
        .await;
    server
}

fn tokens(input_tokens: u64, output_tokens: u64) -> llmvcr::Usage {
    llmvcr::Usage {
        input_tokens,
        output_tokens,
        ..llmvcr::Usage::default()
    }
}

#[tokio::test]
async fn a_failed_stream_keeps_its_usage_through_the_client() {
    for (name, endpoint, body, expected) in [
        (
            "anthropic",
            Endpoint::anthropic as fn() -> Endpoint,
            ANTHROPIC_OVERLOADED_AFTER_TEXT,
            tokens(12, 1),
        ),
        (
            "openrouter",
            Endpoint::openrouter,
            OPENROUTER_ERROR_CHUNK_WITH_USAGE,
            tokens(20, 2),
        ),
    ] {
        let server = streaming_server(body).await;
        let endpoint = endpoint()
            .with_base_url(&server.uri())
            .with_api_key(Secret::new(KEY));
        let client = Client::builder(endpoint).key_from_env(false).build();
        let req = ChatRequest::new("m").user("hi");
        let failed = client
            .chat_stream(&req)
            .await
            .unwrap()
            .collect_response()
            .await
            .unwrap_err();
        assert!(failed.had_content, "{name}");
        assert_eq!(failed.error.usage(), Some(expected), "{name}");
        assert_eq!(failed.partial.text, "Hel", "{name}");
        assert_eq!(failed.partial.usage, Some(expected), "{name}");
        assert_eq!(
            failed.error.partial().map(|p| p.text.as_str()),
            Some("Hel"),
            "{name}"
        );
    }
}

#[tokio::test]
async fn an_error_body_with_usage_keeps_it() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(502).set_body_json(json!({
            "error": {"code": 502, "message": "Provider returned error"},
            "usage": {"prompt_tokens": 31, "completion_tokens": 0, "total_tokens": 31}
        })))
        .mount(&server)
        .await;
    let endpoint = Endpoint::openrouter()
        .with_base_url(&server.uri())
        .with_api_key(Secret::new(KEY));
    let client = Client::builder(endpoint).key_from_env(false).build();
    let err = client
        .chat(&ChatRequest::new("m").user("hi"))
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Server);
    assert_eq!(err.usage(), Some(tokens(31, 0)));
}

#[tokio::test]
async fn the_router_bills_a_failed_attempt_through_client_transport() {
    use llmvcr::routing::{ClientTransport, Router, RouterPolicy, Target};
    // Anthropic fails after `message_start` (before any text), OpenRouter answers.
    let anthropic = streaming_server(
        "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_8\",\"model\":\"claude-sonnet-4-5-20250929\",\"content\":[],\"usage\":{\"input_tokens\":100,\"output_tokens\":1}}}\n\n\
event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n",
    )
    .await;
    let openrouter = streaming_server(
        "data: {\"id\":\"gen-1\",\"model\":\"openai/gpt-4o-mini\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hello\"},\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":3,\"total_tokens\":12}}\n\ndata: [DONE]\n\n",
    )
    .await;
    let client = |endpoint: Endpoint, server: &MockServer| {
        let endpoint = endpoint
            .with_base_url(&server.uri())
            .with_api_key(Secret::new(KEY));
        Client::builder(endpoint).key_from_env(false).build()
    };
    let transport = ClientTransport::new()
        .with("claude", client(Endpoint::anthropic(), &anthropic))
        .with("router", client(Endpoint::openrouter(), &openrouter));
    let targets = vec![
        Target::new("claude", "anthropic", "claude-sonnet-4-5"),
        Target::new("router", "openrouter", "openai/gpt-4o-mini"),
    ];
    // One micro-dollar per token.
    let router = Router::new(transport, targets, RouterPolicy::default())
        .unwrap()
        .with_usage_cost(|_, u| Some(u.total_tokens()));
    let outcome = router.chat(&ChatRequest::new("any").user("hi")).await;
    assert_eq!(outcome.served_by.as_deref(), Some("router"));
    assert_eq!(
        outcome.log[0].outcome.error_kind(),
        Some(ErrorKind::Overloaded)
    );
    assert_eq!(outcome.log[0].usage, Some(tokens(100, 1)));
    assert_eq!(outcome.log[0].cost_micro_usd, Some(101));
    assert_eq!(outcome.log[1].usage, Some(tokens(9, 3)));
    assert_eq!(router.spent_micro_usd(), 101 + 12);
}
