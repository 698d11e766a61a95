//! Redaction and the secret scanner: what is replaced, what is found, and
//! that the real corpus is clean while a key planted anywhere is caught.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use llmvcr_cassette::StoredBody as V1Body;
use llmvcr_cassette::{
    Cassette, CassetteError, Frame, HeaderList, Interaction, Redactor, Request, Response, Scanner,
    SecretRules, Stream, StreamFormat, convert::from_recorded, import::read_any, save, to_yaml,
};
use proptest::prelude::*;
use serde_json::{Value, json};

/// The provider rules the façade passes in, spelled out.
fn rules() -> SecretRules {
    SecretRules {
        headers: ["x-api-key", "api-key", "x-goog-api-key"]
            .map(String::from)
            .to_vec(),
        query_params: vec!["key".into()],
        key_prefixes: ["sk-", "sk-ant-", "sk-or-", "gsk_", "AIza", "ya29."]
            .map(String::from)
            .to_vec(),
        env_suffixes: Vec::new(),
    }
    .merge(SecretRules::generic())
}

const OPENAI_KEY: &str = "sk-proj-Abc123def456GHI789jkl012MNO345";
const GEMINI_KEY: &str = "AIzaSyD-1234567890abcdefghijklmnopqrstu";
const SESSION_TOKEN: &str = "tok_9f8e7d6c5b4a";

fn env() -> Vec<(String, String)> {
    vec![
        ("OPENAI_API_KEY".into(), OPENAI_KEY.into()),
        ("GEMINI_API_KEY".into(), GEMINI_KEY.into()),
        ("MY_SESSION_TOKEN".into(), SESSION_TOKEN.into()),
        ("SHORT_TOKEN".into(), "abc".into()),
        ("HOME".into(), "/home/someone-long-path".into()),
    ]
}

fn headers(pairs: &[(&str, &str)]) -> HeaderList {
    let mut list = HeaderList::default();
    for (name, value) in pairs {
        list.append(name, *value);
    }
    list
}

fn interaction() -> Interaction {
    Interaction {
        recorded_at: None,
        request: Request {
            method: "POST".into(),
            url: format!(
                "https://generativelanguage.googleapis.com/v1beta/models/m:generateContent?alt=json&key={GEMINI_KEY}&x=1"
            ),
            headers: headers(&[
                ("authorization", &format!("Bearer {OPENAI_KEY}")),
                ("x-api-key", "sk-ant-api03-Zyx987wvu654TSR321qpo"),
                ("api-key", "0123456789abcdef0123456789abcdef"),
                ("x-goog-api-key", GEMINI_KEY),
                ("cookie", "__cf_bm=abc.def-123; _cfuvid=xyz-789"),
                ("x-session", &format!("id {SESSION_TOKEN}")),
                ("content-type", "application/json"),
            ]),
            body: Some(V1Body::Json(
                json!({
                    "messages": [{"role": "user", "content": format!("my key is {OPENAI_KEY}!")}],
                    "metadata": {"nested": [{"token": SESSION_TOKEN}]},
                })
                .into(),
            )),
        },
        response: Response {
            status: 200,
            headers: headers(&[
                (
                    "set-cookie",
                    "_cfuvid=m0mGKA4K-1775399317; HttpOnly; SameSite=None; Secure; Path=/",
                ),
                ("content-type", "text/event-stream"),
            ]),
            body: None,
            stream: Some(Stream {
                format: StreamFormat::Sse,
                frames: vec![
                    Frame {
                        data: Some(json!({"echo": SESSION_TOKEN}).into()),
                        ..Frame::default()
                    },
                    Frame {
                        text: Some(format!("key={GEMINI_KEY}")),
                        at_ms: 5,
                        ..Frame::default()
                    },
                ],
            }),
        },
    }
}

#[test]
fn credentials_become_placeholders_that_name_their_variable() {
    let rules = rules();
    let redactor = Redactor::with_values(&rules, env());
    let mut i = interaction();
    redactor.redact_interaction(&mut i);
    let req = &i.request;
    assert_eq!(
        req.url,
        "https://generativelanguage.googleapis.com/v1beta/models/m:generateContent?alt=json&key=<GEMINI_API_KEY>&x=1"
    );
    assert_eq!(
        req.headers.get("authorization"),
        Some("Bearer <OPENAI_API_KEY>")
    );
    assert_eq!(req.headers.get("x-api-key"), Some("<REDACTED>"));
    assert_eq!(req.headers.get("api-key"), Some("<REDACTED>"));
    assert_eq!(req.headers.get("x-goog-api-key"), Some("<GEMINI_API_KEY>"));
    assert_eq!(
        req.headers.get("cookie"),
        Some("__cf_bm=<REDACTED>; _cfuvid=<REDACTED>")
    );
    assert_eq!(req.headers.get("x-session"), Some("id <MY_SESSION_TOKEN>"));
    assert_eq!(req.headers.get("content-type"), Some("application/json"));
    assert_eq!(
        req.body,
        Some(V1Body::Json(
            json!({
                "messages": [{"role": "user", "content": "my key is <OPENAI_API_KEY>!"}],
                "metadata": {"nested": [{"token": "<MY_SESSION_TOKEN>"}]},
            })
            .into()
        ))
    );
    assert_eq!(
        i.response.headers.get("set-cookie"),
        Some("_cfuvid=<REDACTED>; HttpOnly; SameSite=None; Secure; Path=/")
    );
    let frames = &i.response.stream.as_ref().unwrap().frames;
    assert_eq!(
        frames[0].data,
        Some(json!({"echo": "<MY_SESSION_TOKEN>"}).into())
    );
    assert_eq!(frames[1].text.as_deref(), Some("key=<GEMINI_API_KEY>"));

    // Nothing secret is left in the written text, and it scans clean.
    let cassette = Cassette {
        interactions: vec![i.clone()],
        ..Cassette::default()
    };
    let yaml = to_yaml(&cassette).unwrap();
    for secret in [
        OPENAI_KEY,
        GEMINI_KEY,
        SESSION_TOKEN,
        "sk-ant-api03",
        "abc.def-123",
    ] {
        assert!(!yaml.contains(secret), "{secret} in\n{yaml}");
    }
    let scanner = Scanner::new(&rules, &redactor);
    assert_eq!(scanner.scan_cassette(&cassette), Vec::new());
    assert_eq!(scanner.scan_text(&yaml), Vec::new());

    // Redaction is idempotent.
    let mut again = i.clone();
    redactor.redact_interaction(&mut again);
    assert_eq!(again, i);
}

#[test]
fn without_known_values_credentials_are_redacted_generically() {
    let rules = rules();
    let redactor = Redactor::with_values(&rules, Vec::new());
    let mut i = interaction();
    redactor.redact_interaction(&mut i);
    assert_eq!(
        i.request.headers.get("authorization"),
        Some("Bearer <REDACTED>")
    );
    assert!(i.request.url.contains("&key=<REDACTED>&"));
    assert_eq!(i.request.headers.get("x-goog-api-key"), Some("<REDACTED>"));
    // Key-shaped strings are replaced wherever they are, and the result
    // scans clean.
    assert_eq!(
        i.request.body,
        Some(V1Body::Json(
            json!({
                "messages": [{"role": "user", "content": "my key is <REDACTED>!"}],
                "metadata": {"nested": [{"token": "<REDACTED>"}]},
            })
            .into()
        ))
    );
    let frames = &i.response.stream.as_ref().unwrap().frames;
    assert_eq!(frames[1].text.as_deref(), Some("key=<REDACTED>"));
    let scanner = Scanner::new(&rules, &redactor);
    assert_eq!(scanner.scan_interaction_at(0, &i), Vec::new());
    // Before redaction, the scanner reports each of them.
    let findings = scanner.scan_interaction_at(0, &interaction());
    let places: Vec<(&str, &str)> = findings
        .iter()
        .map(|f| (f.location.as_str(), f.kind.as_str()))
        .collect();
    for expected in [
        ("request.body.json.messages[0].content", "key prefix `sk-`"),
        ("response.stream.frames[1].text", "key prefix `AIza`"),
        (
            "request.body.json.metadata.nested[0].token",
            "credential field `token`",
        ),
        ("request.headers.cookie", "cookie value"),
    ] {
        assert!(places.contains(&expected), "{expected:?} not in {places:?}");
    }
}

#[test]
fn only_secret_variables_with_long_values_are_captured() {
    let redactor = Redactor::with_values(&rules(), env());
    let mut names: Vec<&str> = redactor.variable_names().collect();
    names.sort_unstable();
    assert_eq!(
        names,
        ["GEMINI_API_KEY", "MY_SESSION_TOKEN", "OPENAI_API_KEY"]
    );
    assert_eq!(
        redactor.redact_text("abc /home/someone-long-path"),
        "abc /home/someone-long-path"
    );
    // Debug output never shows a value.
    let debug = format!("{redactor:?}");
    assert!(
        !debug.contains(OPENAI_KEY) && debug.contains("OPENAI_API_KEY"),
        "{debug}"
    );
    let scanner = Scanner::new(&rules(), &redactor);
    assert!(!format!("{scanner:?}").contains(SESSION_TOKEN));
    // From the real environment, nothing that is not a secret variable.
    let from_env = Redactor::from_env(&rules());
    assert!(from_env.variable_names().all(|n| {
        let n = n.to_ascii_uppercase();
        n.ends_with("_API_KEY") || n.ends_with("_TOKEN") || n.ends_with("_SECRET")
    }));
}

#[test]
fn urls_lose_passwords_and_credential_parameters_only() {
    let redactor = Redactor::with_values(&rules(), Vec::new());
    assert_eq!(
        redactor.redact_url("https://user:hunter2@host/p?KEY=abc&keys=1&access_token=t0k#frag"),
        "https://user:<REDACTED>@host/p?KEY=<REDACTED>&keys=1&access_token=<REDACTED>#frag"
    );
    assert_eq!(
        redactor.redact_url("https://host/p?key=&q"),
        "https://host/p?key=&q"
    );
    assert_eq!(redactor.redact_url("https://host/a@b"), "https://host/a@b");
}

#[test]
fn the_scanner_knows_keys_bearer_tokens_and_values_but_not_lookalikes() {
    let rules = rules();
    let redactor = Redactor::with_values(&rules, env());
    let scanner = Scanner::new(&rules, &redactor);
    let found = |text: &str| -> Vec<String> {
        scanner
            .scan_text(text)
            .into_iter()
            .map(|f| f.kind)
            .collect()
    };
    assert_eq!(
        found("x sk-ant-api03-AAAA1111BBBB2222CCCC"),
        ["key prefix `sk-ant-`"]
    );
    assert_eq!(
        found("\"sk-or-v1-0123456789abcdef0123\""),
        ["key prefix `sk-or-`"]
    );
    assert_eq!(
        found("gsk_0123456789abcdefABCDEFxyz"),
        ["key prefix `gsk_`"]
    );
    assert_eq!(
        found("key=AIzaSyA0123456789abcdefghijklmnopq"),
        ["key prefix `AIza`"]
    );
    assert_eq!(
        found("Authorization: Bearer eyJhbGciOi.J9xyz0123456"),
        ["bearer token"]
    );
    assert_eq!(
        found(&format!("Bearer {OPENAI_KEY}")),
        ["value of $OPENAI_API_KEY"]
    );
    assert_eq!(
        found(&format!("in{SESSION_TOKEN}side")),
        ["value of $MY_SESSION_TOKEN"]
    );
    for clean in [
        "Bearer <OPENAI_API_KEY>",
        "Bearer <REDACTED>",
        "key=<REDACTED>",
        "use sk-learn for this",
        "the task-force-management-system-overview",
        "risk-assessment-framework-2024-edition-x",
        // A prefix inside a base64 blob (thinking signatures).
        "EqQBCkgIARABGAIiQGsk-fake/AIzaSyA0123456789abcdefghijklmnopq+sk-abcdefghij0123456789",
        "Bearer token authentication is described here",
        "sk-shorttail123",
    ] {
        assert_eq!(found(clean), Vec::<String>::new(), "{clean}");
    }
    let findings = scanner.scan_text("a\n  b sk-ant-api03-AAAA1111BBBB2222CCCC\n");
    assert_eq!(findings[0].location, "line 2, column 5");
    assert_eq!(findings[0].excerpt, "sk-a…");
    assert_eq!(findings[0].interaction, None);
}

#[test]
fn save_refuses_a_cassette_with_a_secret_and_writes_nothing() {
    let rules = rules();
    let redactor = Redactor::with_values(&rules, env());
    let scanner = Scanner::new(&rules, &redactor);
    let dir = std::env::temp_dir().join(format!("llmvcr-secrets-{}", std::process::id()));
    let path = dir.join("nested/refused.yaml");
    let cassette = Cassette {
        interactions: vec![interaction()],
        ..Cassette::default()
    };
    let err = save(&path, &cassette, &scanner).unwrap_err();
    let CassetteError::Secret { file, findings } = &err else {
        panic!("{err}")
    };
    assert!(file.ends_with("refused.yaml"));
    assert!(
        findings
            .iter()
            .any(|f| f.interaction == Some(0) && f.location == "request.headers.authorization")
    );
    let message = err.to_string();
    assert!(message.contains("refused.yaml"), "{message}");
    assert!(
        message.contains("interaction 0, request.headers.authorization"),
        "{message}"
    );
    assert!(!message.contains(OPENAI_KEY), "{message}");
    assert_eq!(message.lines().count(), 1);
    assert!(!path.exists());
    let _ = std::fs::remove_dir_all(&dir);
}

// ----- The real corpus -----------------------------------------------------

fn corpus_files() -> Vec<PathBuf> {
    crate::support::real_yaml()
}

fn corpus() -> &'static [Interaction] {
    static CORPUS: OnceLock<Vec<Interaction>> = OnceLock::new();
    CORPUS.get_or_init(|| {
        corpus_files()
            .iter()
            .flat_map(|path| read_any(path).unwrap())
            .map(|recorded| from_recorded(&recorded, &[]))
            .collect()
    })
}

/// Every string in an interaction, as the YAML would show it.
fn all_strings(i: &Interaction) -> String {
    serde_json::to_string(&serde_json::to_value(i).unwrap()).unwrap()
}

#[test]
fn the_real_corpus_scans_clean_before_and_after_redaction() {
    let rules = rules();
    let redactor = Redactor::with_values(&rules, Vec::new());
    let scanner = Scanner::new(&rules, &redactor);
    let corpus = corpus();
    assert_eq!(corpus.len(), 213);
    for (n, interaction) in corpus.iter().enumerate() {
        // The recorders removed the keys; cookies are all that is left.
        for finding in scanner.scan_interaction_at(n, interaction) {
            assert_eq!(finding.kind, "cookie value", "{finding}");
        }
        let mut redacted = interaction.clone();
        redactor.redact_interaction(&mut redacted);
        assert_eq!(scanner.scan_interaction_at(n, &redacted), Vec::new());
    }
    for path in corpus_files() {
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(scanner.scan_text(&text), Vec::new(), "{}", path.display());
    }
}

// ----- Planted secrets -----------------------------------------------------

/// A mutable string of an interaction, with the location the scanner reports
/// for it.
type Slot<'a> = (String, &'a mut String);

fn json_slots<'a>(at: String, value: &'a mut Value, out: &mut Vec<Slot<'a>>) {
    match value {
        Value::String(s) => out.push((at, s)),
        Value::Array(items) => {
            for (n, item) in items.iter_mut().enumerate() {
                json_slots(format!("{at}[{n}]"), item, out);
            }
        }
        Value::Object(map) => {
            for (key, item) in map.iter_mut() {
                let location = if !key.is_empty()
                    && key
                        .chars()
                        .all(|c| c.is_alphanumeric() || c == '_' || c == '-')
                {
                    format!("{at}.{key}")
                } else {
                    format!("{at}[{}]", Value::String(key.clone()))
                };
                json_slots(location, item, out);
            }
        }
        _ => {}
    }
}

fn header_slots<'a>(at: &str, headers: &'a mut HeaderList, out: &mut Vec<Slot<'a>>) {
    for (name, values) in headers.0.iter_mut() {
        let base = format!("{at}.{name}");
        let many = values.len() > 1;
        for (n, value) in values.iter_mut().enumerate() {
            let location = if many {
                format!("{base}[{n}]")
            } else {
                base.clone()
            };
            out.push((location, value));
        }
    }
}

/// The JSON payloads of an interaction as values, to plant into: the request
/// body, the response body and each frame's data.
struct JsonPayloads {
    request: Option<Value>,
    response: Option<Value>,
    frames: Vec<Option<Value>>,
}

fn json_of(body: &Option<V1Body>) -> Option<Value> {
    match body {
        Some(V1Body::Json(json)) => Some(json.to_value()),
        _ => None,
    }
}

/// Runs `f` over every string of `i` that a secret could be planted in, then
/// writes the JSON payloads back.
fn with_slots<R>(i: &mut Interaction, f: impl FnOnce(&mut Vec<Slot<'_>>) -> R) -> R {
    let mut json = JsonPayloads {
        request: json_of(&i.request.body),
        response: json_of(&i.response.body),
        frames: i
            .response
            .stream
            .iter()
            .flat_map(|s| {
                s.frames
                    .iter()
                    .map(|f| f.data.as_ref().map(|d| d.to_value()))
            })
            .collect(),
    };
    let result = {
        let mut out = Vec::new();
        out.push(("request.url".to_owned(), &mut i.request.url));
        header_slots("request.headers", &mut i.request.headers, &mut out);
        if let Some(value) = &mut json.request {
            json_slots("request.body.json".to_owned(), value, &mut out);
        } else if let Some(V1Body::Text(text)) = &mut i.request.body {
            out.push(("request.body.text".to_owned(), text));
        }
        header_slots("response.headers", &mut i.response.headers, &mut out);
        if let Some(value) = &mut json.response {
            json_slots("response.body.json".to_owned(), value, &mut out);
        } else if let Some(V1Body::Text(text)) = &mut i.response.body {
            out.push(("response.body.text".to_owned(), text));
        }
        if let Some(stream) = &mut i.response.stream {
            for ((n, frame), data) in stream.frames.iter_mut().enumerate().zip(&mut json.frames) {
                let at = format!("response.stream.frames[{n}]");
                if let Some(data) = data {
                    json_slots(format!("{at}.data"), data, &mut out);
                }
                for (field, value) in [
                    ("event", &mut frame.event),
                    ("comment", &mut frame.comment),
                    ("text", &mut frame.text),
                ] {
                    if let Some(value) = value {
                        out.push((format!("{at}.{field}"), value));
                    }
                }
            }
        }
        f(&mut out)
    };
    if let Some(value) = json.request {
        i.request.body = Some(V1Body::Json(value.into()));
    }
    if let Some(value) = json.response {
        i.response.body = Some(V1Body::Json(value.into()));
    }
    if let Some(stream) = &mut i.response.stream {
        for (frame, data) in stream.frames.iter_mut().zip(json.frames) {
            if let Some(data) = data {
                frame.data = Some(data.into());
            }
        }
    }
    result
}

fn planted_secret() -> impl Strategy<Value = (String, String)> {
    let tail = "[A-Za-z0-9_-]{18,60}";
    prop_oneof![
        (
            prop::sample::select(vec![
                "sk-",
                "sk-ant-api03-",
                "sk-or-v1-",
                "gsk_",
                "AIza",
                "sk-proj-"
            ]),
            tail
        )
            .prop_map(|(prefix, tail)| {
                let secret = format!("{prefix}{tail}x9");
                // The most specific prefix names the kind: `sk-` followed by
                // a tail that starts `or-` is an OpenRouter key.
                let kind = if secret.starts_with("sk-ant-") {
                    "key prefix `sk-ant-`"
                } else if secret.starts_with("sk-or-") {
                    "key prefix `sk-or-`"
                } else if secret.starts_with("gsk_") {
                    "key prefix `gsk_`"
                } else if secret.starts_with("AIza") {
                    "key prefix `AIza`"
                } else {
                    "key prefix `sk-`"
                };
                (secret, kind.to_owned())
            }),
        "[A-Za-z0-9._~+/-]{15,60}"
            .prop_map(|token| (format!("Bearer {token}7"), "bearer token".to_owned())),
        Just((
            SESSION_TOKEN.to_owned(),
            "value of $MY_SESSION_TOKEN".to_owned()
        )),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Thinking signatures and other base64 blobs may contain a key prefix
    /// followed by many token characters; inside a blob it is not a key.
    #[test]
    fn a_prefix_inside_a_base64_blob_is_not_a_key(
        head in "[A-Za-z0-9+/_-]{1,80}",
        // Long prefixes with a separator (`sk-ant-`) are keys after any
        // character but a letter or digit: they do not turn up by chance.
        prefix in prop::sample::select(vec!["sk-", "gsk_", "AIza"]),
        tail in "[A-Za-z0-9+/_-]{20,120}",
        pad in "={0,2}",
    ) {
        let rules = rules();
        let scanner = Scanner::new(&rules, &Redactor::with_values(&rules, Vec::new()));
        let blob = format!("{head}{prefix}{tail}{pad}");
        let signature = json!({"type": "thinking", "signature": blob, "thoughtSignature": blob});
        let text = format!("{{\"signature\": \"{blob}\"}}");
        prop_assert_eq!(scanner.scan_text(&text), Vec::new());
        let mut i = corpus()[0].clone();
        i.response.body = Some(V1Body::Json(signature.into()));
        i.response.stream = None;
        prop_assert_eq!(scanner.scan_interaction_at(0, &i), Vec::new());
    }

    /// A key planted in any string of any real interaction (header, URL
    /// query, body string, nested JSON, stream frame), at any position, is
    /// found at that location.
    #[test]
    fn a_planted_secret_is_found_where_it_was_planted(
        which in any::<prop::sample::Index>(),
        slot in any::<prop::sample::Index>(),
        position in any::<prop::sample::Index>(),
        (secret, kind) in planted_secret(),
    ) {
        let rules = rules();
        let redactor = Redactor::with_values(&rules, env());
        let scanner = Scanner::new(&rules, &redactor);
        let mut interaction = which.get(corpus()).clone();
        let location = with_slots(&mut interaction, |slots| {
            let (location, target) = slot.get_mut(slots);
            let boundaries: Vec<usize> = (0..=target.len()).filter(|b| target.is_char_boundary(*b)).collect();
            let at = *position.get(&boundaries);
            target.insert_str(at, &format!(" {secret} "));
            location.clone()
        });
        let findings = scanner.scan_interaction_at(7, &interaction);
        prop_assert!(
            findings.iter().any(|f| f.location == location && f.kind == kind && f.interaction == Some(7)),
            "{secret} at {location}: {findings:?}"
        );
    }

    /// Wherever a secret variable's value appears, redaction removes it and
    /// the result scans clean.
    #[test]
    fn redaction_removes_a_planted_value_everywhere(
        which in any::<prop::sample::Index>(),
        slot in any::<prop::sample::Index>(),
        position in any::<prop::sample::Index>(),
    ) {
        let rules = rules();
        let redactor = Redactor::with_values(&rules, env());
        let scanner = Scanner::new(&rules, &redactor);
        let mut interaction = which.get(corpus()).clone();
        with_slots(&mut interaction, |slots| {
            let (_, target) = slot.get_mut(slots);
            let boundaries: Vec<usize> = (0..=target.len()).filter(|b| target.is_char_boundary(*b)).collect();
            let at = *position.get(&boundaries);
            target.insert_str(at, OPENAI_KEY);
        });
        redactor.redact_interaction(&mut interaction);
        prop_assert!(!all_strings(&interaction).contains(OPENAI_KEY));
        prop_assert_eq!(scanner.scan_interaction_at(0, &interaction), Vec::new());
    }
}

mod raw;
