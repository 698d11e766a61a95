//! Provider-shaped error responses, as plain data for fault injection.
//!
//! Each function returns an [`ErrorTemplate`]: the status, headers and body a
//! provider sends for one kind of failure, in its public error shape. The fault
//! layer (`llmvcr-faults`) knows HTTP, not LLMs, so the façade turns a template
//! into a status fault:
//!
//! ```
//! use llmvcr_core::{ErrorKind, Provider};
//! use llmvcr_providers::{classify_http, fault_templates};
//! use std::time::Duration;
//!
//! let t = fault_templates::openai_rate_limited(Duration::from_millis(1500));
//! assert_eq!(t.status, 429);
//! assert_eq!(t.header("retry-after-ms"), Some("1500"));
//! let e = classify_http(Provider::OpenAi, t.status, &t.header_map(), t.body.as_bytes());
//! assert_eq!(e.kind, ErrorKind::RateLimited);
//! assert_eq!(e.retry_after, Some(Duration::from_millis(1500)));
//! ```
//!
//! Every template is checked against [`classify_http`](crate::classify_http) (or
//! [`error_in_body`](crate::error_in_body) for errors inside a 200) in this module's
//! tests, so templates and classifier agree.

use std::time::Duration;

use http::{HeaderMap, HeaderName, HeaderValue};
use llmvcr_core::Provider;
use serde_json::{Value, json};

/// An HTTP error response as plain data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorTemplate {
    /// The HTTP status.
    pub status: u16,
    /// The headers, in order; names are lowercase.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: String,
}

impl ErrorTemplate {
    fn new(status: u16, headers: &[(&str, String)], body: String) -> ErrorTemplate {
        ErrorTemplate {
            status,
            headers: headers
                .iter()
                .map(|(name, value)| ((*name).to_owned(), value.clone()))
                .collect(),
            body,
        }
    }

    fn json(status: u16, headers: &[(&str, String)], body: &Value) -> ErrorTemplate {
        let mut all = vec![("content-type", "application/json".to_owned())];
        all.extend(headers.iter().cloned());
        ErrorTemplate::new(status, &all, body.to_string())
    }

    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The headers as an [`http::HeaderMap`]; a pair that is not valid HTTP is
    /// skipped (the templates here have none).
    pub fn header_map(&self) -> HeaderMap {
        let mut map = HeaderMap::with_capacity(self.headers.len());
        for (name, value) in &self.headers {
            if let (Ok(name), Ok(value)) = (
                HeaderName::from_bytes(name.as_bytes()),
                HeaderValue::from_str(value),
            ) {
                map.append(name, value);
            }
        }
        map
    }
}

/// Seconds for a `retry-after` header: whole seconds, rounded up.
fn whole_seconds(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

/// A Go-style duration (`20s`, `1.5s`), as OpenAI's `x-ratelimit-reset-*` and
/// Gemini's `retryDelay` write it.
fn go_duration(d: Duration) -> String {
    format!("{}s", d.as_secs_f64())
}

/// OpenAI 429 `rate_limit_exceeded` (requests per minute), with `retry-after`,
/// `retry-after-ms` and the `x-ratelimit-*` headers showing the request limit
/// exhausted.
pub fn openai_rate_limited(retry_after: Duration) -> ErrorTemplate {
    let secs = go_duration(retry_after);
    ErrorTemplate::json(
        429,
        &[
            ("retry-after", whole_seconds(retry_after).to_string()),
            ("retry-after-ms", retry_after.as_millis().to_string()),
            ("x-ratelimit-limit-requests", "500".into()),
            ("x-ratelimit-remaining-requests", "0".into()),
            ("x-ratelimit-reset-requests", secs.clone()),
            ("x-ratelimit-limit-tokens", "200000".into()),
            ("x-ratelimit-remaining-tokens", "199624".into()),
            ("x-ratelimit-reset-tokens", "112ms".into()),
            ("x-request-id", "req_llmvcr_fault".into()),
        ],
        &json!({"error": {
            "message": format!("Rate limit reached for gpt-4o-mini in organization org-llmvcr on requests per min (RPM): Limit 500, Used 500, Requested 1. Please try again in {secs}. Visit https://platform.openai.com/account/rate-limits to learn more."),
            "type": "requests",
            "param": null,
            "code": "rate_limit_exceeded"
        }}),
    )
}

/// OpenAI 429 `insufficient_quota`: billing, not rate; never retried.
pub fn openai_insufficient_quota() -> ErrorTemplate {
    ErrorTemplate::json(
        429,
        &[("x-request-id", "req_llmvcr_fault".into())],
        &json!({"error": {
            "message": "You exceeded your current quota, please check your plan and billing details. For more information on this error, read the docs: https://platform.openai.com/docs/guides/error-codes/api-errors.",
            "type": "insufficient_quota",
            "param": null,
            "code": "insufficient_quota"
        }}),
    )
}

/// An OpenAI 5xx: 500 `server_error`, 502 `cf_bad_gateway`, 503 "overloaded or not
/// ready", 504 `cf_gateway_timeout`; another status gets a `server_error` body.
pub fn openai_server_error(status: u16) -> ErrorTemplate {
    let error = match status {
        502 => {
            json!({"code": 502, "message": "Bad gateway.", "param": null, "type": "cf_bad_gateway"})
        }
        503 => {
            json!({"message": "The server is overloaded or not ready yet.", "type": "server_error", "param": null, "code": null})
        }
        504 => {
            json!({"code": 504, "message": "Gateway timeout.", "param": null, "type": "cf_gateway_timeout"})
        }
        500 => {
            json!({"message": "The server had an error while processing your request. Sorry about that!", "type": "server_error", "param": null, "code": null})
        }
        other => {
            json!({"message": format!("The server returned HTTP {other}."), "type": "server_error", "param": null, "code": null})
        }
    };
    ErrorTemplate::json(
        status,
        &[("x-request-id", "req_llmvcr_fault".into())],
        &json!({ "error": error }),
    )
}

/// Anthropic 529 `overloaded_error`.
pub fn anthropic_overloaded() -> ErrorTemplate {
    ErrorTemplate::json(
        529,
        &[
            ("request-id", "req_llmvcr_fault".into()),
            ("x-should-retry", "true".into()),
        ],
        &json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}, "request_id": "req_llmvcr_fault"}),
    )
}

/// Anthropic 429 `rate_limit_error`, with `retry-after` (whole seconds) and the
/// `anthropic-ratelimit-*` headers.
pub fn anthropic_rate_limited(retry_after: Duration) -> ErrorTemplate {
    ErrorTemplate::json(
        429,
        &[
            ("retry-after", whole_seconds(retry_after).to_string()),
            ("anthropic-ratelimit-requests-limit", "50".into()),
            ("anthropic-ratelimit-requests-remaining", "0".into()),
            (
                "anthropic-ratelimit-requests-reset",
                "2025-01-01T00:01:00Z".into(),
            ),
            ("anthropic-ratelimit-input-tokens-limit", "40000".into()),
            ("anthropic-ratelimit-input-tokens-remaining", "40000".into()),
            (
                "anthropic-ratelimit-input-tokens-reset",
                "2025-01-01T00:01:00Z".into(),
            ),
            ("request-id", "req_llmvcr_fault".into()),
            ("x-should-retry", "true".into()),
        ],
        &json!({"type": "error", "error": {
            "type": "rate_limit_error",
            "message": "This request would exceed the rate limit for your organization of 50 requests per minute. For details, refer to: https://docs.claude.com/en/api/rate-limits. You can see the response headers for current usage. Please reduce the prompt length or the maximum tokens requested, or try again later."
        }, "request_id": "req_llmvcr_fault"}),
    )
}

/// An Anthropic 5xx: `api_error` for 500, 502 and 503, `timeout_error` for 504,
/// and [`anthropic_overloaded`] for 529.
pub fn anthropic_server_error(status: u16) -> ErrorTemplate {
    let (kind, message) = match status {
        529 => return anthropic_overloaded(),
        504 => ("timeout_error", "Request timed out"),
        500 => ("api_error", "Internal server error"),
        _ => ("api_error", "Service temporarily unavailable"),
    };
    ErrorTemplate::json(
        status,
        &[
            ("request-id", "req_llmvcr_fault".into()),
            ("x-should-retry", "true".into()),
        ],
        &json!({"type": "error", "error": {"type": kind, "message": message}, "request_id": "req_llmvcr_fault"}),
    )
}

/// An Anthropic `event: error` SSE frame carrying `overloaded_error`, as it arrives
/// inside a 200 stream; ends with the blank line that closes the event.
pub fn anthropic_overloaded_event() -> String {
    let data =
        json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}});
    format!("event: error\ndata: {data}\n\n")
}

const GEMINI_CONTENT_TYPE: &str = "application/json; charset=UTF-8";

fn gemini(status: u16, code: &str, message: &str, details: Option<Value>) -> ErrorTemplate {
    let mut error = json!({"code": status, "message": message, "status": code});
    if let (Some(details), Some(obj)) = (details, error.as_object_mut()) {
        obj.insert("details".into(), details);
    }
    ErrorTemplate::new(
        status,
        &[("content-type", GEMINI_CONTENT_TYPE.to_owned())],
        json!({ "error": error }).to_string(),
    )
}

/// Gemini 429 `RESOURCE_EXHAUSTED`, with `QuotaFailure`, `Help` and
/// `RetryInfo.retryDelay` in `error.details`.
pub fn gemini_resource_exhausted(retry_delay: Duration) -> ErrorTemplate {
    let delay = go_duration(retry_delay);
    gemini(
        429,
        "RESOURCE_EXHAUSTED",
        &format!(
            "You exceeded your current quota, please check your plan and billing details. For more information on this error, head to: https://ai.google.dev/gemini-api/docs/rate-limits. Please retry in {delay}."
        ),
        Some(json!([
            {
                "@type": "type.googleapis.com/google.rpc.QuotaFailure",
                "violations": [{
                    "quotaMetric": "generativelanguage.googleapis.com/generate_content_free_tier_requests",
                    "quotaId": "GenerateRequestsPerMinutePerProjectPerModel-FreeTier",
                    "quotaDimensions": {"location": "global", "model": "gemini-2.0-flash"},
                    "quotaValue": "15"
                }]
            },
            {
                "@type": "type.googleapis.com/google.rpc.Help",
                "links": [{"description": "Learn more about Gemini API quotas", "url": "https://ai.google.dev/gemini-api/docs/rate-limits"}]
            },
            {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": delay}
        ])),
    )
}

/// Gemini 503 `UNAVAILABLE` ("The model is overloaded").
pub fn gemini_unavailable() -> ErrorTemplate {
    gemini(
        503,
        "UNAVAILABLE",
        "The model is overloaded. Please try again later.",
        None,
    )
}

/// A Gemini 5xx: 500 `INTERNAL`, 502 the Google front end's HTML page, 503
/// [`gemini_unavailable`], 504 `DEADLINE_EXCEEDED`; another status gets an
/// `INTERNAL` body.
pub fn gemini_server_error(status: u16) -> ErrorTemplate {
    match status {
        503 => gemini_unavailable(),
        504 => gemini(
            504,
            "DEADLINE_EXCEEDED",
            "Deadline expired before operation could complete.",
            None,
        ),
        502 => ErrorTemplate::new(
            502,
            &[("content-type", "text/html; charset=UTF-8".to_owned())],
            "<!DOCTYPE html>\n<html lang=en>\n  <meta charset=utf-8>\n  <title>Error 502 (Server Error)!!1</title>\n  <p><b>502.</b> <ins>That\u{2019}s an error.</ins>\n  <p>The server encountered a temporary error and could not complete your request.<p>Please try again in 30 seconds.  <ins>That\u{2019}s all we know.</ins>\n".to_owned(),
        ),
        other => gemini(
            other,
            "INTERNAL",
            "An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting",
            None,
        ),
    }
}

/// OpenRouter's error object with code 429 inside an HTTP 200 (an upstream
/// provider's rate limit, reported after the response started).
pub fn openrouter_rate_limited_in_200() -> ErrorTemplate {
    ErrorTemplate::json(
        200,
        &[],
        &json!({"error": {
            "message": "Provider returned error",
            "code": 429,
            "metadata": {
                "raw": "google/gemini-2.0-flash-exp:free is temporarily rate-limited upstream. Please retry shortly.",
                "provider_name": "Google AI Studio"
            }
        }, "user_id": "user_llmvcr_fault"}),
    )
}

/// A provider's 5xx by provider family: Anthropic, Gemini, or the OpenAI shape for
/// every other provider (OpenAI-compatible APIs share it).
pub fn server_error(provider: Provider, status: u16) -> ErrorTemplate {
    match provider {
        Provider::Anthropic => anthropic_server_error(status),
        Provider::Gemini => gemini_server_error(status),
        _ => openai_server_error(status),
    }
}

/// The names [`by_name`] knows, for scenario files.
pub const NAMES: &[&str] = &[
    "openai_rate_limited",
    "openai_insufficient_quota",
    "openai_500",
    "openai_502",
    "openai_503",
    "openai_504",
    "anthropic_overloaded",
    "anthropic_rate_limited",
    "anthropic_500",
    "anthropic_502",
    "anthropic_503",
    "anthropic_504",
    "gemini_resource_exhausted",
    "gemini_unavailable",
    "gemini_500",
    "gemini_502",
    "gemini_503",
    "gemini_504",
    "openrouter_rate_limited_in_200",
];

/// The wait the named rate-limit templates ask for when looked up by name.
pub const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(20);

/// A template by its name in [`NAMES`]; rate limits ask for
/// [`DEFAULT_RETRY_AFTER`]. `None` for an unknown name.
pub fn by_name(name: &str) -> Option<ErrorTemplate> {
    let server = |provider: Provider, status: &str| {
        status
            .parse::<u16>()
            .ok()
            .filter(|s| matches!(s, 500 | 502 | 503 | 504))
            .map(|s| server_error(provider, s))
    };
    match name {
        "openai_rate_limited" => Some(openai_rate_limited(DEFAULT_RETRY_AFTER)),
        "openai_insufficient_quota" => Some(openai_insufficient_quota()),
        "anthropic_overloaded" => Some(anthropic_overloaded()),
        "anthropic_rate_limited" => Some(anthropic_rate_limited(DEFAULT_RETRY_AFTER)),
        "gemini_resource_exhausted" => Some(gemini_resource_exhausted(DEFAULT_RETRY_AFTER)),
        "gemini_unavailable" => Some(gemini_unavailable()),
        "openrouter_rate_limited_in_200" => Some(openrouter_rate_limited_in_200()),
        other => {
            let (family, status) = other.split_once('_')?;
            match family {
                "openai" => server(Provider::OpenAi, status),
                "anthropic" => server(Provider::Anthropic, status),
                "gemini" => server(Provider::Gemini, status),
                _ => None,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use crate::{classify_http, error_in_body};
    use llmvcr_core::{Error, ErrorKind};

    fn classify(provider: Provider, t: &ErrorTemplate) -> Error {
        if (200..300).contains(&t.status) {
            let value: Value = serde_json::from_str(&t.body).unwrap();
            error_in_body(provider, &value).expect("an error inside the 200 body")
        } else {
            classify_http(provider, t.status, &t.header_map(), t.body.as_bytes())
        }
    }

    #[test]
    fn every_template_is_classified_as_intended() {
        use ErrorKind::*;
        let s = Duration::from_secs;
        let cases: Vec<(&str, Provider, ErrorTemplate, ErrorKind, Option<Duration>)> = vec![
            (
                "openai 429",
                Provider::OpenAi,
                openai_rate_limited(Duration::from_millis(1500)),
                RateLimited,
                Some(Duration::from_millis(1500)),
            ),
            (
                "openai quota",
                Provider::OpenAi,
                openai_insufficient_quota(),
                QuotaExceeded,
                None,
            ),
            (
                "openai 500",
                Provider::OpenAi,
                openai_server_error(500),
                Server,
                None,
            ),
            (
                "openai 502",
                Provider::OpenAi,
                openai_server_error(502),
                Server,
                None,
            ),
            (
                "openai 503",
                Provider::OpenAi,
                openai_server_error(503),
                Overloaded,
                None,
            ),
            (
                "openai 504",
                Provider::OpenAi,
                openai_server_error(504),
                Timeout,
                None,
            ),
            (
                "anthropic 529",
                Provider::Anthropic,
                anthropic_overloaded(),
                Overloaded,
                None,
            ),
            (
                "anthropic 429",
                Provider::Anthropic,
                anthropic_rate_limited(s(7)),
                RateLimited,
                Some(s(7)),
            ),
            (
                "anthropic 500",
                Provider::Anthropic,
                anthropic_server_error(500),
                Server,
                None,
            ),
            (
                "anthropic 502",
                Provider::Anthropic,
                anthropic_server_error(502),
                Server,
                None,
            ),
            (
                "anthropic 503",
                Provider::Anthropic,
                anthropic_server_error(503),
                Server,
                None,
            ),
            (
                "anthropic 504",
                Provider::Anthropic,
                anthropic_server_error(504),
                Timeout,
                None,
            ),
            (
                "gemini 429",
                Provider::Gemini,
                gemini_resource_exhausted(s(34)),
                RateLimited,
                Some(s(34)),
            ),
            (
                "gemini 429 fractional",
                Provider::Gemini,
                gemini_resource_exhausted(Duration::from_millis(1500)),
                RateLimited,
                Some(Duration::from_millis(1500)),
            ),
            (
                "gemini 503",
                Provider::Gemini,
                gemini_unavailable(),
                Overloaded,
                None,
            ),
            (
                "gemini 500",
                Provider::Gemini,
                gemini_server_error(500),
                Server,
                None,
            ),
            (
                "gemini 502",
                Provider::Gemini,
                gemini_server_error(502),
                Server,
                None,
            ),
            (
                "gemini 504",
                Provider::Gemini,
                gemini_server_error(504),
                Timeout,
                None,
            ),
            (
                "openrouter in 200",
                Provider::OpenRouter,
                openrouter_rate_limited_in_200(),
                RateLimited,
                None,
            ),
        ];
        for (label, provider, template, kind, retry_after) in cases {
            let e = classify(provider, &template);
            assert_eq!(e.kind, kind, "{label}: {e:?}");
            assert_eq!(e.retry_after, retry_after, "{label}: {e:?}");
        }
    }

    #[test]
    fn rate_limit_headers_agree() {
        let t = openai_rate_limited(Duration::from_millis(1500));
        assert_eq!(t.header("retry-after"), Some("2"));
        assert_eq!(t.header("retry-after-ms"), Some("1500"));
        assert_eq!(t.header("x-ratelimit-remaining-requests"), Some("0"));
        assert_eq!(t.header("x-ratelimit-reset-requests"), Some("1.5s"));
        let t = anthropic_rate_limited(Duration::from_secs(7));
        assert_eq!(t.header("retry-after"), Some("7"));
    }

    #[test]
    fn the_error_event_is_an_overloaded_error() {
        let frame = anthropic_overloaded_event();
        assert!(frame.starts_with("event: error\n") && frame.ends_with("\n\n"));
        let mut framer = llmvcr_framing::SseFramer::new();
        let items = framer.feed(frame.as_bytes()).unwrap();
        let Some(llmvcr_framing::SseItem::Event(event)) = items.first() else {
            panic!("no event in {frame:?}");
        };
        let value: Value = serde_json::from_str(&event.data).unwrap();
        let e = error_in_body(Provider::Anthropic, &value).unwrap();
        assert_eq!(e.kind, ErrorKind::Overloaded);
    }

    #[test]
    fn every_name_resolves_and_bodies_are_well_formed() {
        for name in NAMES {
            let t = by_name(name).unwrap_or_else(|| panic!("{name}"));
            assert_eq!(t.header_map().len(), t.headers.len(), "{name}");
            if t.header("content-type")
                .is_some_and(|ct| ct.contains("json"))
            {
                serde_json::from_str::<Value>(&t.body).unwrap();
            }
        }
        assert_eq!(by_name("openai_418"), None);
        assert_eq!(by_name("nope"), None);
    }
}
