//! The text of every miss explanation and its hint, on a developer's machine
//! and on CI (where recording is refused, so the hint says to record locally).

use llmvcr_cassette::matcher::{Difference, MissReason, Nearest};
use llmvcr_cassette::{CassetteMiddleware, Env, NoMatch, parse};

fn miss(reason: MissReason, recording_refused: bool) -> String {
    NoMatch {
        cassette: "cassettes/demo/hello.yaml".into(),
        interactions: 3,
        method: "POST".into(),
        url: "https://api.openai.com/v1/chat/completions".into(),
        reason,
        recording_refused,
    }
    .to_string()
}

fn reasons() -> Vec<(&'static str, MissReason)> {
    vec![
        ("no_cassette", MissReason::NoCassette),
        ("empty", MissReason::Empty),
        ("exhausted", MissReason::Exhausted { played: vec![0, 2] }),
        (
            "refused",
            MissReason::Refused {
                candidates: vec![1],
            },
        ),
        (
            "different",
            MissReason::Different(Box::new(Nearest {
                index: 1,
                method: "POST".into(),
                url: "https://api.openai.com/v1/chat/completions".into(),
                differences: vec![Difference {
                    path: "/messages/0/content".into(),
                    recorded: "\"Say hi\"".into(),
                    sent: "\"Say bye\"".into(),
                }],
                total_differences: 1,
            })),
        ),
    ]
}

#[test]
fn every_hint_on_a_developer_machine() {
    for (name, reason) in reasons() {
        insta::assert_snapshot!(format!("local_{name}"), miss(reason, false));
    }
}

#[test]
fn every_hint_on_ci() {
    for (name, reason) in reasons() {
        let text = miss(reason, true);
        assert!(!text.contains("record it with"), "{text}");
        insta::assert_snapshot!(format!("ci_{name}"), text);
    }
}

#[tokio::test]
async fn a_miss_on_ci_says_to_record_locally() {
    let cassette = parse(
        "llmvcr: 1\ninteractions:\n- request: {method: GET, url: 'https://x/a'}\n  response: {status: 200}\n",
        "c.yaml",
    )
    .unwrap();
    for (ci, local) in [(None, true), (Some("true"), false)] {
        let middleware = CassetteMiddleware::builder("c.yaml")
            .env(Env {
                ci: ci.map(str::to_owned),
                ..Env::default()
            })
            .cassette(cassette.clone())
            .build()
            .unwrap();
        let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
            .with(middleware)
            .build();
        let err = client.get("https://x/b").send().await.unwrap_err();
        let reqwest_middleware::Error::Middleware(err) = err else {
            panic!("{err}")
        };
        let text = err.to_string();
        assert_eq!(text.contains("record it locally"), !local, "{text}");
        assert_eq!(text.contains("record it with"), local, "{text}");
    }
}
