//! Planted into real recordings, read from the raw file
//!
//! Copies of real recordings (see data/secrets/MANIFEST.tsv) get a key planted
//! in their raw YAML text, in every place and encoding a credential travels.
//! Import (read, redact, scan, write) must leave no trace of it in the bytes it
//! writes, and lint (the scan of the decoded file plus the raw text) must
//! report it.

use base64::Engine as _;
use proptest::prelude::*;
use serde_json::json;

use super::*;
use llmvcr_cassette::read::parse_any_cassette;

/// The provider rules of `llmvcr::testing::secret_rules`, spelled out.
fn provider_rules() -> SecretRules {
    SecretRules {
        headers: [
            "authorization",
            "x-api-key",
            "api-key",
            "x-goog-api-key",
            "proxy-authorization",
            "x-amz-security-token",
        ]
        .map(String::from)
        .to_vec(),
        query_params: ["key", "sig", "x-amz-signature", "x-amz-security-token"]
            .map(String::from)
            .to_vec(),
        key_prefixes: [
            "sk-",
            "sk-proj-",
            "sk-ant-",
            "sk-or-",
            "sk-or-v1-",
            "gsk_",
            "xai-",
            "AIza",
            "ya29.",
        ]
        .map(String::from)
        .to_vec(),
        env_suffixes: Vec::new(),
    }
    .merge(SecretRules::generic())
}

fn data(name: &str) -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data/secrets")
            .join(name),
    )
    .unwrap()
}

const ANTHROPIC: &str = "anthropic_stream_text.yaml";
const MISTRAL: &str = "mistral_parsed_body.yaml";
const GEMINI: &str = "gemini_binary_gzip.yaml";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Placement {
    HeaderValue,
    CredentialHeader,
    BasicAuth,
    ProxyBasicAuth,
    Cookie,
    SetCookie,
    UrlQuery,
    UrlPath,
    JsonValue,
    JsonKey,
    ParsedBodyValue,
    ParsedBodyKey,
    FormBody,
    PlainBody,
    FoldedScalar,
    BrokenDoubleQuoted,
    SseFrame,
    NdjsonFrame,
    JsonArrayFrame,
    BinaryGzipBody,
}

const PLACEMENTS: &[Placement] = &[
    Placement::HeaderValue,
    Placement::CredentialHeader,
    Placement::BasicAuth,
    Placement::ProxyBasicAuth,
    Placement::Cookie,
    Placement::SetCookie,
    Placement::UrlQuery,
    Placement::UrlPath,
    Placement::JsonValue,
    Placement::JsonKey,
    Placement::ParsedBodyValue,
    Placement::ParsedBodyKey,
    Placement::FormBody,
    Placement::PlainBody,
    Placement::FoldedScalar,
    Placement::BrokenDoubleQuoted,
    Placement::SseFrame,
    Placement::NdjsonFrame,
    Placement::JsonArrayFrame,
    Placement::BinaryGzipBody,
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Encoding {
    Plain,
    /// `%XX` for some characters, the first one included.
    Percent,
    /// `\uXXXX` for some characters, the first one included.
    UEscape,
}

impl Placement {
    fn allows(self, encoding: Encoding) -> bool {
        use Placement::*;
        match encoding {
            Encoding::Plain => true,
            Encoding::Percent => matches!(
                self,
                UrlQuery | UrlPath | FormBody | PlainBody | HeaderValue
            ),
            Encoding::UEscape => matches!(
                self,
                JsonValue
                    | JsonKey
                    | PlainBody
                    | SseFrame
                    | NdjsonFrame
                    | JsonArrayFrame
                    | BrokenDoubleQuoted
            ),
        }
    }
}

fn encode(key: &str, encoding: Encoding) -> String {
    key.chars()
        .enumerate()
        .map(|(n, c)| match encoding {
            Encoding::Percent if n % 3 == 0 => format!("%{:02X}", c as u32),
            Encoding::UEscape if n % 4 == 0 => format!("\\u{:04x}", c as u32),
            _ => c.to_string(),
        })
        .collect()
}

fn b64(text: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(text)
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write as _;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

fn replace_once(text: &str, from: &str, to: &str) -> String {
    assert!(text.contains(from), "{from} not in the recording");
    text.replacen(from, to, 1)
}

/// The raw text of a real recording with `planted` (the key, encoded) at
/// `placement`; `key` is the key itself.
fn plant(placement: Placement, key: &str, planted: &str) -> String {
    use Placement::*;
    let anthropic = || data(ANTHROPIC);
    let add_header = |header: &str| {
        replace_once(
            &anthropic(),
            "    headers:\n      Accept:\n",
            &format!("    headers:\n{header}      Accept:\n"),
        )
    };
    let request_body = |body: &str| {
        let text = anthropic();
        let start = text.find("    body: '{\"max_tokens\"").unwrap();
        let end = start
            + text[start..].find("\"stream\":true}'\n").unwrap()
            + "\"stream\":true}'\n".len();
        format!("{}{body}{}", &text[..start], &text[end..])
    };
    let response_body = |body: &str, content_type: &str| {
        let text = anthropic();
        let start = text.find("      string: 'event: message_start").unwrap();
        let end = start
            + text[start..].find("\n        '\n    headers:").unwrap()
            + "\n        '\n".len();
        let text = format!("{}{body}{}", &text[..start], &text[end..]);
        replace_once(
            &text,
            "      - text/event-stream; charset=utf-8\n",
            &format!("      - {content_type}\n"),
        )
    };
    match placement {
        HeaderValue => add_header(&format!("      X-Note:\n      - 'ref {planted} end'\n")),
        CredentialHeader => add_header(&format!(
            "      Authorization:\n      - 'Bearer {planted}'\n"
        )),
        BasicAuth => add_header(&format!(
            "      Authorization:\n      - 'Basic {}'\n",
            b64(&format!("user:{key}"))
        )),
        ProxyBasicAuth => add_header(&format!(
            "      Proxy-Authorization:\n      - 'Basic {}'\n",
            b64(&format!("proxy:{key}"))
        )),
        Cookie => add_header(&format!(
            "      Cookie:\n      - 'theme=dark; ref={planted}'\n"
        )),
        SetCookie => replace_once(
            &anthropic(),
            "      - _cfuvid=",
            &format!("      - _cfuvid={planted}."),
        ),
        UrlQuery => replace_once(
            &anthropic(),
            "    uri: https://api.anthropic.com/v1/messages\n",
            &format!("    uri: https://api.anthropic.com/v1/messages?beta=true&ref={planted}\n"),
        ),
        UrlPath => replace_once(
            &anthropic(),
            "    uri: https://api.anthropic.com/v1/messages\n",
            &format!("    uri: https://api.anthropic.com/v1/{planted}/messages\n"),
        ),
        JsonValue => replace_once(
            &anthropic(),
            "\"text\":\"Say",
            &format!("\"text\":\"{planted} Say"),
        ),
        JsonKey => replace_once(
            &anthropic(),
            "{\"max_tokens\":8192,",
            &format!("{{\"{planted}\":1,\"max_tokens\":8192,"),
        ),
        ParsedBodyValue => replace_once(
            &data(MISTRAL),
            "      - content: hello\n",
            &format!("      - content: 'hello {planted}'\n"),
        ),
        ParsedBodyKey => replace_once(
            &data(MISTRAL),
            "      frequency_penalty: 0.25\n",
            &format!("      '{planted}': 1\n      frequency_penalty: 0.25\n"),
        ),
        FormBody => request_body(&format!("    body: 'grant=1&ref={planted}&x=2'\n")),
        PlainBody => request_body(&format!("    body: 'hello {planted} there'\n")),
        FoldedScalar => request_body(&format!(
            "    body: >-\n      hello\n      {planted}\n      there\n"
        )),
        BrokenDoubleQuoted => {
            // Split between two characters of the key, not inside an escape.
            let mut starts = Vec::new();
            let mut at = 0;
            while at < planted.len() {
                starts.push(at);
                at += if planted[at..].starts_with("\\u") {
                    6
                } else {
                    1
                };
            }
            let middle = starts[starts.len() / 2];
            add_header(&format!(
                "      X-Note:\n      - \"{}\\\n        {}\"\n",
                &planted[..middle],
                &planted[middle..]
            ))
        }
        SseFrame => replace_once(
            &anthropic(),
            "\"text\":\"Hello\"}",
            &format!("\"text\":\"Hello {planted}\"}}"),
        ),
        NdjsonFrame => response_body(
            &format!(
                "      string: '{{\"a\":1}}\n\n        {{\"note\":\"{planted}\"}}\n\n        '\n"
            ),
            "application/x-ndjson",
        ),
        JsonArrayFrame => {
            let text = response_body(
                &format!("      string: '[{{\"a\":1}},{{\"note\":\"{planted}\"}}]'\n"),
                "application/json",
            );
            replace_once(
                &text,
                "    uri: https://api.anthropic.com/v1/messages\n",
                "    uri: https://generativelanguage.googleapis.com/v1beta/models/m:streamGenerateContent\n",
            )
        }
        BinaryGzipBody => {
            let text = data(GEMINI);
            let start = text.find("      string: !!binary |\n").unwrap()
                + "      string: !!binary |\n".len();
            let end = start
                + text[start..]
                    .split_inclusive('\n')
                    .take_while(|line| line.starts_with("        "))
                    .map(str::len)
                    .sum::<usize>();
            let json = format!(
                "[{{\"candidates\":[{{\"content\":{{\"parts\":[{{\"text\":\"{planted}\"}}]}}}}]}}]"
            );
            let encoded = base64::engine::general_purpose::STANDARD.encode(gzip(json.as_bytes()));
            let lines: String = encoded
                .as_bytes()
                .chunks(76)
                .map(|chunk| format!("        {}\n", std::str::from_utf8(chunk).unwrap()))
                .collect();
            format!("{}{lines}{}", &text[..start], &text[end..])
        }
    }
}

/// What `llmvcr cassette lint` reports for a raw file: the decoded cassette,
/// then the raw text.
fn lint(scanner: &Scanner, raw: &str) -> Vec<llmvcr_cassette::Finding> {
    let cassette = parse_any_cassette(raw, "planted.yaml", &[]).unwrap();
    let mut findings = scanner.scan_cassette(&cassette);
    findings.extend(scanner.scan_text(raw));
    findings
}

/// What `llmvcr cassette import` writes for a raw file: `None` when it
/// refuses.
fn import(redactor: &Redactor, scanner: &Scanner, raw: &str) -> Option<String> {
    let mut cassette = parse_any_cassette(raw, "planted.yaml", &[]).unwrap();
    redactor.redact_cassette(&mut cassette);
    if !scanner.scan_cassette(&cassette).is_empty() {
        return None;
    }
    Some(to_yaml(&cassette).unwrap())
}

fn planted_key() -> impl Strategy<Value = String> {
    let tail = "[A-Za-z0-9_-]{18,40}";
    prop_oneof![
        (
            prop::sample::select(vec![
                "sk-",
                "sk-proj-",
                "sk-ant-api03-",
                "sk-or-v1-",
                "gsk_",
                "AIza",
                "ya29.",
                "xai-",
                "ghp_",
                "gho_",
                "ghs_",
                "github_pat_",
            ]),
            tail
        )
            .prop_map(|(prefix, tail)| format!("{prefix}{tail}x9")),
        "[A-Z0-9]{16}".prop_map(|id| format!("AKIA{id}")),
        "[A-Z0-9]{16}".prop_map(|id| format!("ASIA{id}")),
        (
            "[A-Za-z0-9_-]{10,30}",
            "[A-Za-z0-9_-]{10,30}",
            "[A-Za-z0-9_-]{10,40}"
        )
            .prop_map(|(h, p, s)| format!("eyJ{h}.eyJ{p}.{s}")),
    ]
}

fn encoding() -> impl Strategy<Value = Encoding> {
    prop::sample::select(vec![Encoding::Plain, Encoding::Percent, Encoding::UEscape])
}

/// Every spelling of `key` that must not be written.
fn spellings(key: &str) -> Vec<String> {
    vec![
        key.to_owned(),
        encode(key, Encoding::Percent),
        encode(key, Encoding::UEscape),
        b64(key),
        b64(&format!("user:{key}")),
        b64(&format!("proxy:{key}")),
    ]
}

#[test]
fn the_planting_inputs_are_clean_but_for_cookies() {
    let rules = provider_rules();
    let redactor = Redactor::with_values(&rules, Vec::new());
    let scanner = Scanner::new(&rules, &redactor);
    for name in [ANTHROPIC, MISTRAL, GEMINI] {
        for finding in lint(&scanner, &data(name)) {
            assert_eq!(finding.kind, "cookie value", "{name}: {finding}");
        }
        assert!(import(&redactor, &scanner, &data(name)).is_some(), "{name}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// A key of any family, planted in any place and encoding of a real
    /// recording's raw text: lint reports it, and import writes none of its
    /// spellings.
    #[test]
    fn a_key_planted_in_a_raw_recording_is_linted_and_never_imported(
        key in planted_key(),
        placement in prop::sample::select(PLACEMENTS.to_vec()),
        encoding in encoding(),
    ) {
        let encoding = if placement.allows(encoding) { encoding } else { Encoding::Plain };
        let rules = provider_rules();
        let redactor = Redactor::with_values(&rules, Vec::new());
        let scanner = Scanner::new(&rules, &redactor);
        let planted = encode(&key, encoding);
        let raw = plant(placement, &key, &planted);
        let base = match placement {
            Placement::ParsedBodyValue | Placement::ParsedBodyKey => data(MISTRAL),
            Placement::BinaryGzipBody => data(GEMINI),
            _ => data(ANTHROPIC),
        };
        let baseline = lint(&scanner, &base);
        let findings = lint(&scanner, &raw);
        let new: Vec<_> = findings
            .iter()
            .filter(|f| !baseline.iter().any(|b| b.same_secret(f)))
            .collect();
        prop_assert!(!new.is_empty(), "{placement:?} {encoding:?}: lint missed it");
        for finding in &findings {
            let shown = format!("{finding} {finding:?}");
            prop_assert!(!shown.contains(&key), "{shown}");
        }
        let written = import(&redactor, &scanner, &raw);
        if let Some(written) = &written {
            for spelling in spellings(&key) {
                prop_assert!(!written.contains(&spelling), "{placement:?} {encoding:?}: written\n{written}");
            }
            prop_assert_eq!(scanner.scan_text(written), Vec::new());
        }
        // Everything but compressed bytes is replaced in place.
        prop_assert!(written.is_some(), "{placement:?} {encoding:?}: refused");
    }
}

/// One key of every family.
const FAMILY_KEYS: &[&str] = &[
    "sk-Ab3dEf6hIj9kLm2nOp5qRs8t",
    "sk-proj-Abc123def456GHI789jkl012MNO345",
    "sk-ant-api03-Zyx987wvu654TSR321qpo0",
    "sk-or-v1-0123456789abcdef0123456789abcdef",
    "gsk_0123456789abcdefABCDEFxyz",
    "AIzaSyD-1234567890abcdefghijklmnopqrstu",
    "ya29.a0AfH6SMBx3d4e5f6g7h8i9j0k",
    "xai-Q2w3E4r5T6y7U8i9O0pAsDfGhJ",
    "ghp_16C7e42F292c6912E7710c838347Ae178B4a",
    "gho_16C7e42F292c6912E7710c838347Ae178B4a",
    "ghs_16C7e42F292c6912E7710c838347Ae178B4a",
    "github_pat_11ABCDEFG0123456789_abcdefghijklmnop",
    "AKIAIOSFODNN7EXAMPLE",
    "ASIAY34FZKBOKMUTVV7A",
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
];

/// Every family in every placement and every encoding that placement takes.
#[test]
fn every_family_in_every_placement_and_encoding_is_linted_and_never_imported() {
    let rules = provider_rules();
    let redactor = Redactor::with_values(&rules, Vec::new());
    let scanner = Scanner::new(&rules, &redactor);
    let mut cases = 0;
    for &placement in PLACEMENTS {
        let base = match placement {
            Placement::ParsedBodyValue | Placement::ParsedBodyKey => data(MISTRAL),
            Placement::BinaryGzipBody => data(GEMINI),
            _ => data(ANTHROPIC),
        };
        let baseline = lint(&scanner, &base);
        for encoding in [Encoding::Plain, Encoding::Percent, Encoding::UEscape] {
            if !placement.allows(encoding) {
                continue;
            }
            for key in FAMILY_KEYS {
                let raw = plant(placement, key, &encode(key, encoding));
                let findings = lint(&scanner, &raw);
                assert!(
                    findings
                        .iter()
                        .any(|f| !baseline.iter().any(|b| b.same_secret(f))),
                    "{placement:?} {encoding:?} {key}: lint missed it"
                );
                let written = import(&redactor, &scanner, &raw)
                    .unwrap_or_else(|| panic!("{placement:?} {encoding:?} {key}: refused"));
                for spelling in spellings(key) {
                    assert!(
                        !written.contains(&spelling),
                        "{placement:?} {encoding:?} {key}:\n{written}"
                    );
                }
                cases += 1;
            }
        }
    }
    assert!(cases > 400, "{cases}");
}

fn scanned(scanner: &Scanner, interaction: &Interaction) -> Vec<(String, String)> {
    scanner
        .scan_interaction_at(0, interaction)
        .into_iter()
        .map(|f| (f.location, f.kind))
        .collect()
}

fn bare(url: &str, headers_: &[(&str, &str)], body: Option<Value>) -> Interaction {
    Interaction {
        recorded_at: None,
        request: Request {
            method: "POST".into(),
            url: url.into(),
            headers: headers(headers_),
            body: body.map(|v| V1Body::Json(v.into())),
        },
        response: Response {
            status: 200,
            headers: HeaderList::default(),
            body: None,
            stream: None,
        },
    }
}

#[test]
fn credentials_known_by_where_they_travel_are_found_and_replaced() {
    let rules = provider_rules();
    let redactor = Redactor::with_values(&rules, Vec::new());
    let scanner = Scanner::new(&rules, &redactor);
    let mistral = "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6";
    let aws_secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
    let jwt = FAMILY_KEYS[14];
    let pem = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA7\n-----END RSA PRIVATE KEY-----";
    let sigv4 = "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20260101/us-east-1/bedrock/aws4_request, SignedHeaders=host;x-amz-date, Signature=fe5f80f77d5fa3beca038a248ff027d0445342fe2855ddc963176630326f1024";
    let interaction = bare(
        "https://acct.blob.core.windows.net/c/f.json?sv=2022-11-02&se=2026-01-01&sig=R2d2C3p0Abc%2Bdef%3D1234567890xyz&X-Amz-Security-Token=FwoGZXIvYXdzEJr0123456789abcdef",
        &[
            ("api-key", mistral),
            ("x-api-key", mistral),
            ("authorization", &format!("Bearer {mistral}")),
            ("x-amz-security-token", "FwoGZXIvYXdzEJr//////////wEaDOQ1"),
            ("x-forwarded-authorization", sigv4),
            (
                "x-note",
                &format!("key AKIAIOSFODNN7EXAMPLE secret {aws_secret}"),
            ),
            ("x-ratelimit-remaining-tokens", "39500"),
            (
                "anthropic-ratelimit-input-tokens-reset",
                "2026-04-05T14:28:37Z",
            ),
            ("x-ratelimit-reset-tokens", "6ms"),
        ],
        Some(json!({
            "aws_secret_access_key": aws_secret,
            "access_token": jwt,
            "id_token": jwt,
            "refresh_token": "rt-0123456789abcdef",
            "token_type": "Bearer",
            "client_secret": "hunter2hunter2",
            "password": "correct horse battery staple",
            "private_key": pem,
            "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15,
                      "max_tokens": 100, "cached_tokens": 0, "reasoning_tokens": 3,
                      "input_tokens": 1, "output_tokens": 2, "max_output_tokens": 9,
                      "prompt_token_count": 4, "session_count": 2},
            "content": [{"type": "thinking", "thinking": "hm", "signature": "EqQBCkgIARABGAIiQGsk0123456789"}],
            "parts": [{"text": "hi", "thoughtSignature": "CiQBcsjafK0123456789abcdef"}],
            "logprobs": {"content": [{"token": "Hello", "logprob": -0.1}]},
            "already": "<REDACTED>",
            "placeholder_token": "<OPENAI_API_KEY>",
            "sk-proj-Abc123def456GHI789jkl012MNO345": 1,
        })),
    );
    let found = scanned(&scanner, &interaction);
    let has = |location: &str, kind: &str| {
        assert!(
            found.iter().any(|(l, k)| l == location && k.contains(kind)),
            "{location} {kind} not in {found:#?}"
        );
    };
    has("request.url", "credential parameter `sig`");
    has("request.url", "credential parameter `X-Amz-Security-Token`");
    has("request.headers.api-key", "credential header `api-key`");
    has("request.headers.x-api-key", "credential header `x-api-key`");
    has("request.headers.authorization", "");
    has("request.headers.x-amz-security-token", "credential header");
    has("request.headers.x-forwarded-authorization", "AWS signature");
    has(
        "request.headers.x-forwarded-authorization",
        "AWS access key id",
    );
    has("request.headers.x-note", "AWS secret access key");
    has(
        "request.body.json.aws_secret_access_key",
        "credential field",
    );
    has("request.body.json.access_token", "JWT");
    has("request.body.json.id_token", "");
    has(
        "request.body.json.refresh_token",
        "credential field `refresh_token`",
    );
    has("request.body.json.client_secret", "credential field");
    has("request.body.json.password", "credential field");
    has("request.body.json.private_key", "PEM private key");
    has("request.body.json[sk-p…]", "key prefix `sk-proj-`");
    // The counters, reasoning signatures, logprobs and placeholders stay.
    for (location, _) in &found {
        for readable in [
            "tokens",
            "usage",
            "token_type",
            "signature",
            "Signature",
            "logprobs",
            "already",
            "placeholder_token",
        ] {
            assert!(!location.ends_with(readable), "{location}");
        }
    }
    // Nothing is shown.
    for finding in scanner.scan_interaction_at(0, &interaction) {
        let shown = format!("{finding} {finding:?}");
        for secret in [
            mistral,
            aws_secret,
            jwt,
            "hunter2",
            "correct horse",
            "sk-proj-Abc123",
        ] {
            assert!(!shown.contains(secret), "{shown}");
        }
    }

    let mut redacted = interaction.clone();
    redactor.redact_interaction(&mut redacted);
    assert_eq!(scanner.scan_interaction_at(0, &redacted), Vec::new());
    let yaml = to_yaml(&Cassette {
        interactions: vec![redacted.clone()],
        ..Cassette::default()
    })
    .unwrap();
    for secret in [
        mistral,
        aws_secret,
        jwt,
        "hunter2",
        "correct horse",
        "sk-proj-Abc123",
        "R2d2C3p0",
        "FwoGZXIvYXdz",
        "fe5f80f77d5f",
        "AKIAIOSFODNN7EXAMPLE",
        "MIIEowIBAAKCAQEA7",
    ] {
        assert!(!yaml.contains(secret), "{secret} in\n{yaml}");
    }
    let req = &redacted.request;
    assert_eq!(req.headers.get("authorization"), Some("Bearer <REDACTED>"));
    assert_eq!(
        req.headers.get("x-ratelimit-remaining-tokens"),
        Some("39500")
    );
    assert_eq!(req.headers.get("x-ratelimit-reset-tokens"), Some("6ms"));
    assert_eq!(
        req.headers.get("anthropic-ratelimit-input-tokens-reset"),
        Some("2026-04-05T14:28:37Z")
    );
    let Some(V1Body::Json(body)) = &req.body else {
        panic!()
    };
    let body = body.to_value();
    assert_eq!(body["usage"], interaction_body(&interaction)["usage"]);
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(
        body["content"][0]["signature"],
        "EqQBCkgIARABGAIiQGsk0123456789"
    );
    assert_eq!(
        body["parts"][0]["thoughtSignature"],
        "CiQBcsjafK0123456789abcdef"
    );
    assert_eq!(body["logprobs"]["content"][0]["token"], "Hello");
    assert_eq!(body["<REDACTED>"], 1);
    assert!(req.url.contains("&sig=<REDACTED>&"), "{}", req.url);
    assert!(
        req.url.contains("sv=2022-11-02&se=2026-01-01"),
        "{}",
        req.url
    );
}

fn interaction_body(interaction: &Interaction) -> Value {
    match &interaction.request.body {
        Some(V1Body::Json(value)) => value.to_value(),
        _ => Value::Null,
    }
}

/// Any string made of the characters that encodings and key shapes use.
fn tricky_text() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            "[A-Za-z0-9+/=_.-]{1,12}",
            Just("%".to_owned()),
            Just("%7".to_owned()),
            Just("\\u00".to_owned()),
            Just("\\\\u0073".to_owned()),
            Just("sk-".to_owned()),
            Just("eyJ".to_owned()),
            Just("AKIA".to_owned()),
            Just("Basic ".to_owned()),
            Just("Bearer ".to_owned()),
            Just("-----BEGIN PRIVATE KEY-----".to_owned()),
            Just("?token=".to_owned()),
            Just("&".to_owned()),
            Just("é".to_owned()),
            Just("\u{1F600}".to_owned()),
            Just("\n".to_owned()),
            Just("<REDACTED>".to_owned()),
        ],
        0..24,
    )
    .prop_map(|parts| parts.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// The detector never panics, redaction is idempotent, and what the
    /// redactor changes the scanner reports: lint never passes what import
    /// would redact.
    #[test]
    fn what_redaction_changes_the_scanner_reports(
        name in prop::sample::select(vec!["x-note", "authorization", "cookie", "set-cookie", "x-session-id", "api_key"]),
        text in tricky_text(),
    ) {
        let rules = provider_rules();
        let redactor = Redactor::with_values(&rules, vec![("DEMO_API_KEY".into(), "demo-value-0123".into())]);
        let scanner = Scanner::new(&rules, &redactor);
        let interaction = bare(
            &format!("https://h/p/{text}?q={text}"),
            &[(name, &text)],
            Some(json!({ name: text, "t": text, text.clone(): 1 })),
        );
        let mut redacted = interaction.clone();
        redactor.redact_interaction(&mut redacted);
        if redacted != interaction {
            prop_assert!(!scanner.scan_interaction_at(0, &interaction).is_empty());
        }
        let mut again = redacted.clone();
        redactor.redact_interaction(&mut again);
        prop_assert_eq!(&again, &redacted);
        prop_assert_eq!(scanner.scan_interaction_at(0, &redacted), Vec::new());
        let _ = scanner.scan_text(&text);
        let _ = redactor.redact_text(&text);
    }
}

/// The raw text alone, without the readers, still sees a key broken across
/// lines of a double-quoted scalar and a key inside a `!!binary` gzip block.
#[test]
fn the_raw_text_backstop_joins_continued_scalars_and_binary_blocks() {
    let rules = provider_rules();
    let scanner = Scanner::new(&rules, &Redactor::with_values(&rules, Vec::new()));
    for name in [ANTHROPIC, MISTRAL, GEMINI] {
        assert_eq!(scanner.scan_text(&data(name)), Vec::new(), "{name}");
    }
    for key in FAMILY_KEYS {
        for placement in [Placement::BrokenDoubleQuoted, Placement::BinaryGzipBody] {
            let raw = plant(placement, key, key);
            let findings = scanner.scan_text(&raw);
            let joined = findings.iter().any(|f| f.location.starts_with("lines "));
            let found = match placement {
                Placement::BrokenDoubleQuoted => joined,
                _ => !findings.is_empty(),
            };
            assert!(found, "{placement:?} {key}: {findings:?}");
        }
    }
}

#[test]
fn a_long_family_prefix_is_a_key_after_any_separator() {
    let rules = provider_rules();
    let scanner = Scanner::new(&rules, &Redactor::with_values(&rules, Vec::new()));
    for text in [
        "my_sk-proj-Abc123def456GHI789jkl012MNO345",
        "x-sk-ant-api03-Zyx987wvu654TSR321qpo0",
        "+sk-or-v1-0123456789abcdef0123456789abcdef",
        "/github_pat_11ABCDEFG0123456789_abcdefghijklmnop",
    ] {
        assert_eq!(scanner.scan_text(text).len(), 1, "{text}");
    }
    // A short prefix needs a token boundary; a letter before any prefix
    // makes a word.
    for text in [
        "abc+sk-0123456789abcdefghijklmn",
        "mask-proj-Abc123def456GHI789jkl012MNO345",
    ] {
        assert_eq!(scanner.scan_text(text), Vec::new(), "{text}");
    }
}

/// Long repetitive text costs time in proportion to its length.
#[test]
fn long_repetitive_text_scans_in_linear_time() {
    let rules = provider_rules();
    let redactor = Redactor::with_values(&rules, Vec::new());
    let scanner = Scanner::new(&rules, &redactor);
    let started = std::time::Instant::now();
    for unit in [
        "\\",
        "eyJ",
        "sk-",
        "sk-proj-",
        "%",
        "%7",
        "?a=",
        "&",
        "Basic ",
        "Bearer ",
        "AKIA",
        "A",
        "-----BEGIN ",
        "\\u",
        "=",
        "a\n",
    ] {
        let text = unit.repeat(200_000 / unit.len());
        let _ = scanner.scan_text(&text);
        let _ = redactor.redact_text(&text);
    }
    assert!(started.elapsed() < std::time::Duration::from_secs(60));
}

/// A name that holds a key is never shown, in the location or the kind.
#[test]
fn names_that_hold_a_key_show_masked() {
    let rules = provider_rules();
    let scanner = Scanner::new(&rules, &Redactor::with_values(&rules, Vec::new()));
    let key = "sk-ant-api03-Zyx987wvu654TSR321qpo0";
    let interaction = bare(
        &format!("https://h/p?token_{key}=value-0123"),
        &[(&format!("x-{key}"), "1")],
        Some(json!({ format!("token:{key}"): "some-value", key: {"nested": key} })),
    );
    let findings = scanner.scan_interaction_at(0, &interaction);
    assert!(findings.len() >= 4, "{findings:?}");
    for finding in findings {
        let shown = format!("{finding} {finding:?}");
        assert!(!shown.contains("Zyx987"), "{shown}");
    }
}

/// Credentials known by where they travel rather than by their shape,
/// planted in the raw text of a real recording.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Travel {
    /// A Mistral key: 32 letters and digits, as a bearer token.
    MistralBearer,
    /// An Azure key in `api-key`.
    AzureApiKey,
    /// Any key in `x-api-key`.
    XApiKey,
    /// An AWS secret key next to its access key id, in any header.
    AwsPairInHeader,
    /// An AWS secret key in a JSON field named for it.
    AwsSecretField,
    /// `X-Amz-Security-Token`.
    AmzSecurityToken,
    /// A SigV4 `Authorization` value.
    SigV4,
    /// An Azure SAS URL.
    SasSig,
    /// A PEM private key in a JSON string.
    PemField,
    /// OAuth tokens in a streamed JSON response.
    OAuthAccessToken,
    OAuthIdToken,
    OAuthRefreshToken,
    /// A password in a form body, its name percent-encoded.
    FormPassword,
}

const TRAVELS: &[Travel] = &[
    Travel::MistralBearer,
    Travel::AzureApiKey,
    Travel::XApiKey,
    Travel::AwsPairInHeader,
    Travel::AwsSecretField,
    Travel::AmzSecurityToken,
    Travel::SigV4,
    Travel::SasSig,
    Travel::PemField,
    Travel::OAuthAccessToken,
    Travel::OAuthIdToken,
    Travel::OAuthRefreshToken,
    Travel::FormPassword,
];

/// The raw text with a credential made from `random` (letters and digits)
/// planted as `travel`; and the part of it that must never be written.
fn plant_travel(travel: Travel, random: &str) -> (String, String) {
    use Travel::*;
    let text = data(ANTHROPIC);
    let add_header = |header: &str| {
        replace_once(
            &text,
            "    headers:\n      Accept:\n",
            &format!("    headers:\n{header}      Accept:\n"),
        )
    };
    let thirty_two: String = random.chars().cycle().take(30).collect::<String>() + "7q";
    let aws_secret = format!("aB{}", random.chars().cycle().take(38).collect::<String>());
    let hex: String = random
        .bytes()
        .cycle()
        .take(64)
        .map(|b| char::from(b"0123456789abcdef"[usize::from(b % 16)]))
        .collect();
    let jwt = format!("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOi{random}.{random}");
    match travel {
        MistralBearer => (
            add_header(&format!(
                "      Authorization:\n      - Bearer {thirty_two}\n"
            )),
            thirty_two,
        ),
        AzureApiKey => (
            add_header(&format!("      api-key:\n      - {thirty_two}\n")),
            thirty_two,
        ),
        XApiKey => (
            add_header(&format!("      x-api-key:\n      - {thirty_two}\n")),
            thirty_two,
        ),
        AwsPairInHeader => (
            add_header(&format!(
                "      X-Note:\n      - AKIAIOSFODNN7EXAMPLE {aws_secret}\n"
            )),
            aws_secret,
        ),
        AwsSecretField => (
            replace_once(
                &text,
                "{\"max_tokens\":8192,",
                &format!("{{\"aws_secret_access_key\":\"{aws_secret}\",\"max_tokens\":8192,"),
            ),
            aws_secret,
        ),
        AmzSecurityToken => (
            add_header(&format!(
                "      X-Amz-Security-Token:\n      - FwoGZXIvYXdz{random}\n"
            )),
            format!("FwoGZXIvYXdz{random}"),
        ),
        SigV4 => (
            add_header(&format!(
                "      Authorization:\n      - AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20260101/us-east-1/bedrock/aws4_request,\n        SignedHeaders=host;x-amz-date, Signature={hex}\n"
            )),
            hex,
        ),
        SasSig => (
            replace_once(
                &text,
                "    uri: https://api.anthropic.com/v1/messages\n",
                &format!(
                    "    uri: https://api.anthropic.com/v1/messages?sv=2022-11-02&sig={random}%2B%3D\n"
                ),
            ),
            random.to_owned(),
        ),
        PemField => (
            replace_once(
                &text,
                "{\"max_tokens\":8192,",
                &format!(
                    "{{\"cert\":\"-----BEGIN EC PRIVATE KEY-----\\nMHc{random}\\n-----END EC PRIVATE KEY-----\",\"max_tokens\":8192,"
                ),
            ),
            format!("MHc{random}"),
        ),
        OAuthAccessToken | OAuthIdToken | OAuthRefreshToken => {
            let (field, value) = match travel {
                OAuthAccessToken => ("access_token", jwt),
                OAuthIdToken => ("id_token", jwt),
                _ => ("refresh_token", format!("1//0g{random}")),
            };
            (
                replace_once(
                    &text,
                    "\"text\":\"Hello\"}",
                    &format!("\"text\":\"Hello\",\"{field}\":\"{value}\"}}"),
                ),
                random.to_owned(),
            )
        }
        FormPassword => {
            let start = text.find("    body: '{\"max_tokens\"").unwrap();
            let end = start
                + text[start..].find("\"stream\":true}'\n").unwrap()
                + "\"stream\":true}'\n".len();
            (
                format!(
                    "{}    body: 'user=me&pass%77ord=Pw{random}&x=1'\n{}",
                    &text[..start],
                    &text[end..]
                ),
                format!("Pw{random}"),
            )
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn a_credential_known_by_where_it_travels_is_linted_and_never_imported(
        travel in prop::sample::select(TRAVELS.to_vec()),
        random in "[A-Za-z0-9]{20,40}",
    ) {
        let rules = provider_rules();
        let redactor = Redactor::with_values(&rules, Vec::new());
        let scanner = Scanner::new(&rules, &redactor);
        let (raw, secret) = plant_travel(travel, &random);
        let baseline = lint(&scanner, &data(ANTHROPIC));
        let findings = lint(&scanner, &raw);
        prop_assert!(
            findings.iter().any(|f| !baseline.iter().any(|b| b.same_secret(f))),
            "{travel:?}: lint missed it"
        );
        for finding in &findings {
            let shown = format!("{finding} {finding:?}");
            prop_assert!(!shown.contains(&random), "{shown}");
        }
        let written = import(&redactor, &scanner, &raw);
        prop_assert!(written.is_some(), "{travel:?}: refused");
        let written = written.unwrap_or_default();
        prop_assert!(!written.contains(&secret), "{travel:?}:\n{written}");
        prop_assert!(!written.contains(&random), "{travel:?}:\n{written}");
    }
}
