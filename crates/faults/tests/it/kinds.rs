//! Each fault kind end to end.

use std::time::Duration;

use bytes::Bytes;
use llmvcr_faults::{Fault, FaultError, FaultPlan, MALFORMED_JSON, MalformedTarget, Selector};
use llmvcr_framing::{SseFramer, SseItem};
use tokio::time::Instant;

use super::support::{
    Canned, URL, chunks as read, client, faults, find_source, joined, sse_frames,
};

fn plan(fault: Fault) -> FaultPlan {
    FaultPlan::new().inject(Selector::any(), fault)
}

#[tokio::test]
async fn unfaulted_requests_pass_through_byte_identical() {
    let canned = Canned::sse();
    let f = faults(FaultPlan::new().inject(Selector::any().request(99), Fault::Reset));
    let response = client(&f, &canned).get(URL).send().await.unwrap();
    assert_eq!(response.headers()["x-upstream"], "canned");
    let (chunks, err) = read(response).await;
    assert!(err.is_none());
    assert_eq!(joined(&chunks), canned.body().to_vec());
    assert_eq!(canned.calls(), 1);
    assert!(f.log().is_empty());
    assert_eq!(f.requests(), 1);
}

#[tokio::test]
async fn status_replaces_the_response_without_calling_the_next_layer() {
    let canned = Canned::sse();
    let body = r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#;
    let f = faults(plan(Fault::status(
        529,
        vec![
            ("content-type".into(), "application/json".into()),
            ("x-should-retry".into(), "true".into()),
            ("x-multi".into(), "a".into()),
            ("x-multi".into(), "b".into()),
        ],
        body,
    )));
    let response = client(&f, &canned).post(URL).send().await.unwrap();
    assert_eq!(response.status(), 529);
    assert_eq!(response.url().as_str(), URL);
    assert_eq!(response.headers()["x-should-retry"], "true");
    assert_eq!(response.headers()["content-length"], body.len().to_string());
    let multi: Vec<_> = response.headers().get_all("x-multi").iter().collect();
    assert_eq!(multi, ["a", "b"]);
    assert_eq!(response.text().await.unwrap(), body);
    assert_eq!(canned.calls(), 0, "the recording is never consulted");
    assert_eq!(f.log()[0].fault_name, "status");
}

#[tokio::test(start_paused = true)]
async fn latency_delays_the_response_in_virtual_time() {
    let canned = Canned::sse();
    let f = faults(plan(Fault::Latency {
        before_first_byte_ms: 2_500,
    }));
    let start = Instant::now();
    let response = client(&f, &canned).get(URL).send().await.unwrap();
    assert_eq!(start.elapsed(), Duration::from_millis(2_500));
    let (chunks, err) = read(response).await;
    assert!(err.is_none());
    assert_eq!(joined(&chunks), canned.body().to_vec());
    assert_eq!(canned.calls(), 1);
}

#[tokio::test(start_paused = true)]
async fn stall_pauses_after_the_nth_frame_so_an_idle_timeout_fires() {
    let canned = Canned::sse();
    let f = faults(plan(Fault::Stall {
        after_frames: 2,
        stall_ms: 30_000,
    }));
    let response = client(&f, &canned).get(URL).send().await.unwrap();
    let start = Instant::now();
    let mut stream = response.bytes_stream();
    let mut arrivals = Vec::new();
    let mut body = Vec::new();
    use futures::StreamExt as _;
    while let Some(chunk) = stream.next().await {
        arrivals.push(start.elapsed());
        body.extend_from_slice(&chunk.unwrap());
    }
    let frames = sse_frames();
    assert_eq!(arrivals.len(), frames.len(), "one chunk per frame");
    assert_eq!(arrivals[0], Duration::ZERO);
    assert_eq!(arrivals[1], Duration::ZERO);
    assert_eq!(
        arrivals[2],
        Duration::from_secs(30),
        "frame 3 comes after the stall"
    );
    assert_eq!(body, frames.concat().into_bytes(), "frames are unchanged");

    // With an idle timeout of 10 s, the wait for frame 3 times out.
    let response = client(&f, &canned).get(URL).send().await.unwrap();
    let mut stream = response.bytes_stream();
    for _ in 0..2 {
        tokio::time::timeout(Duration::from_secs(10), stream.next())
            .await
            .unwrap();
    }
    assert!(
        tokio::time::timeout(Duration::from_secs(10), stream.next())
            .await
            .is_err()
    );
}

#[tokio::test]
async fn cut_yields_exactly_n_frames_then_an_error() {
    let frames = sse_frames();
    for n in 0..frames.len() {
        let canned = Canned::sse();
        let f = faults(plan(Fault::Cut {
            after_frames: u32::try_from(n).unwrap(),
        }));
        let response = client(&f, &canned).get(URL).send().await.unwrap();
        assert!(response.headers().get("content-length").is_none());
        let (chunks, err) = read(response).await;
        assert_eq!(chunks.len(), n);
        assert_eq!(joined(&chunks), frames[..n].concat().into_bytes());
        let err = err.expect("the body fails");
        let cut = find_source::<FaultError>(&err).expect("caused by the fault");
        assert!(
            matches!(cut, FaultError::StreamCut { after_frames } if *after_frames as usize == n)
        );
    }
}

#[tokio::test]
async fn cut_counts_ndjson_lines_and_json_array_elements() {
    let ndjson = "{\"a\":1}\n{\"b\":2}\n{\"c\":3}\n";
    let canned = Canned::new("application/x-ndjson", ndjson, 5);
    let f = faults(plan(Fault::Cut { after_frames: 2 }));
    let (chunks, err) = read(client(&f, &canned).get(URL).send().await.unwrap()).await;
    assert_eq!(joined(&chunks), b"{\"a\":1}\n{\"b\":2}\n");
    assert!(err.is_some());

    let array = "[{\"candidates\":[1]}\r\n,\r\n{\"candidates\":[\"]\"]}\r\n]";
    let canned = Canned::new("application/json; charset=UTF-8", array, 3);
    let f = faults(plan(Fault::Cut { after_frames: 1 }));
    let (chunks, err) = read(client(&f, &canned).get(URL).send().await.unwrap()).await;
    assert_eq!(joined(&chunks), b"[{\"candidates\":[1]}");
    assert!(err.is_some());
}

#[tokio::test]
async fn error_event_is_injected_after_n_frames_and_ends_the_stream() {
    let canned = Canned::sse();
    let event = "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n";
    let f = faults(plan(Fault::ErrorEvent {
        after_frames: 1,
        frame: event.into(),
    }));
    let response = client(&f, &canned).get(URL).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let (chunks, err) = read(response).await;
    assert!(err.is_none(), "the stream ends cleanly");
    let mut expected = sse_frames()[0].to_owned();
    expected.push_str(event);
    assert_eq!(joined(&chunks), expected.into_bytes());
}

#[tokio::test]
async fn malformed_frame_replaces_only_that_frames_data() {
    let canned = Canned::sse();
    let f = faults(plan(Fault::Malformed {
        target: MalformedTarget::Frame(2),
    }));
    let (chunks, err) = read(client(&f, &canned).get(URL).send().await.unwrap()).await;
    assert!(err.is_none());
    let frames = sse_frames();
    assert_eq!(chunks.len(), frames.len());
    assert_eq!(chunks[0], Bytes::from(frames[0]));
    assert_eq!(chunks[2], Bytes::from(frames[2]));
    assert_eq!(chunks[3], Bytes::from(frames[3]));
    let mut framer = SseFramer::new();
    let events: Vec<_> = framer
        .feed(&joined(&chunks))
        .unwrap()
        .into_iter()
        .filter_map(|i| match i {
            SseItem::Event(e) => Some(e.data),
            SseItem::Comment(_) => None,
        })
        .collect();
    assert_eq!(events.len(), 4);
    assert_eq!(events[1], MALFORMED_JSON);
    assert!(serde_json::from_str::<serde_json::Value>(&events[1]).is_err());
    assert!(serde_json::from_str::<serde_json::Value>(&events[0]).is_ok());
}

#[tokio::test]
async fn malformed_body_keeps_status_and_headers() {
    let canned = Canned::new("application/json", "{\"id\":\"chatcmpl-1\"}", 4);
    let f = faults(plan(Fault::Malformed {
        target: MalformedTarget::Body,
    }));
    let response = client(&f, &canned).post(URL).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["x-upstream"], "canned");
    assert_eq!(
        response.headers()["content-length"],
        MALFORMED_JSON.len().to_string()
    );
    let text = response.text().await.unwrap();
    assert_eq!(text, MALFORMED_JSON);
    assert!(serde_json::from_str::<serde_json::Value>(&text).is_err());
}

#[tokio::test]
async fn reset_fails_before_any_response() {
    let canned = Canned::sse();
    let f = faults(plan(Fault::Reset));
    let err = client(&f, &canned).post(URL).send().await.unwrap_err();
    let reqwest_middleware::Error::Middleware(inner) = &err else {
        panic!("expected a middleware error, got {err:?}");
    };
    let fault = inner.downcast_ref::<FaultError>().unwrap();
    assert!(matches!(fault, FaultError::ConnectionReset { .. }));
    let io = find_source::<std::io::Error>(fault).unwrap();
    assert_eq!(io.kind(), std::io::ErrorKind::ConnectionReset);
    assert!(err.to_string().contains("connection reset"), "{err}");
    assert_eq!(canned.calls(), 0);
}

#[tokio::test]
async fn a_body_without_frames_passes_through_unless_the_fault_is_at_frame_zero() {
    let canned = Canned::new("text/plain", "hello, world", 4);
    let f = faults(plan(Fault::Cut { after_frames: 1 }));
    let (chunks, err) = read(client(&f, &canned).get(URL).send().await.unwrap()).await;
    assert!(err.is_none());
    assert_eq!(joined(&chunks), b"hello, world");

    let f = faults(plan(Fault::Cut { after_frames: 0 }));
    let (chunks, err) = read(client(&f, &canned).get(URL).send().await.unwrap()).await;
    assert!(chunks.is_empty());
    assert!(err.is_some());
}
