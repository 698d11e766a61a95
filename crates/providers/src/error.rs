//! The one error classifier every adapter shares.
//!
//! Providers disagree on error shapes but agree on meaning. This module reads every
//! shape llmvcr knows (OpenAI and its compatibles, Anthropic, Gemini and Vertex,
//! OpenRouter's errors inside HTTP 200, Mistral, Ollama) and maps it to one
//! [`ErrorKind`], with `retry_after` from the headers or the body.

use std::time::{Duration, SystemTime};

use http::HeaderMap;
use llmvcr_core::{Error, ErrorKind, Provider};
use serde_json::Value;

use crate::frames::snippet;

/// What an error body said, in a provider-neutral shape.
#[derive(Debug, Default)]
struct Parsed {
    /// `error.code` (string form) or Gemini's `error.status`.
    code: Option<String>,
    /// `error.type`.
    kind: Option<String>,
    /// A numeric code inside the body (OpenRouter, Gemini), used as the status when
    /// the HTTP status is 200.
    numeric: Option<u16>,
    message: String,
}

fn parse_error_value(v: &Value) -> Option<Parsed> {
    // Anthropic: {"type":"error","error":{"type":..,"message":..}}
    // OpenAI / compatibles / OpenRouter / Gemini: {"error":{...}}
    // Ollama: {"error":"message"}
    // Mistral: {"object":"error","message":..,"type":..,"code":..}
    // Responses API stream: {"type":"error","code":..,"message":..}
    // FastAPI-style: {"detail": "..."} (only with a non-2xx status; see classify_http)
    let obj = v.as_object()?;
    if let Some(err) = obj.get("error") {
        match err {
            Value::Null => {}
            Value::String(s) => {
                return Some(Parsed {
                    message: s.clone(),
                    ..Parsed::default()
                });
            }
            Value::Object(e) => {
                let code_str = e.get("code").and_then(|c| c.as_str()).map(str::to_string);
                let numeric = e
                    .get("code")
                    .and_then(|c| c.as_u64())
                    .and_then(|n| u16::try_from(n).ok());
                let status = e.get("status").and_then(|s| s.as_str()).map(str::to_string);
                let message = e
                    .get("message")
                    .and_then(|m| m.as_str())
                    .map(str::to_string)
                    .unwrap_or_else(|| err.to_string());
                let raw_message = e
                    .get("metadata")
                    .and_then(|m| m.get("raw"))
                    .and_then(|r| r.as_str())
                    .map(str::to_string);
                let message = match raw_message {
                    Some(raw) if !message.contains(&raw) => format!("{message} ({raw})"),
                    _ => message,
                };
                return Some(Parsed {
                    code: code_str.or(status),
                    kind: e.get("type").and_then(|t| t.as_str()).map(str::to_string),
                    numeric,
                    message,
                });
            }
            other => {
                return Some(Parsed {
                    message: other.to_string(),
                    ..Parsed::default()
                });
            }
        }
    }
    let ty = obj.get("type").and_then(|t| t.as_str());
    let object = obj.get("object").and_then(|t| t.as_str());
    if ty == Some("error") || object == Some("error") {
        return Some(Parsed {
            code: obj.get("code").and_then(|c| c.as_str()).map(str::to_string),
            kind: if ty == Some("error") {
                None
            } else {
                ty.map(str::to_string)
            },
            numeric: obj
                .get("code")
                .and_then(|c| c.as_u64())
                .and_then(|n| u16::try_from(n).ok()),
            message: obj
                .get("message")
                .and_then(|m| m.as_str())
                .unwrap_or_default()
                .to_string(),
        });
    }
    None
}

/// Finds an error object inside a body or stream frame that arrived with a 2xx status
/// (OpenRouter, Anthropic `error` events, Gemini array elements, Ollama) and
/// classifies it. `None` when the value is not an error.
pub fn error_in_body(provider: Provider, value: &Value) -> Option<Error> {
    let parsed = parse_error_value(value)?;
    let status = parsed.numeric.filter(|n| (400..600).contains(n));
    let kind = kind_for(provider, status.unwrap_or(0), &parsed);
    let mut err = Error::new(kind, redact(&parsed.message)).with_provider(provider);
    if let Some(s) = status {
        err = err.with_status(s);
    }
    if let Some(c) = parsed.code.clone().or(parsed.kind.clone()) {
        err = err.with_code(c);
    }
    Some(err.with_retry_after(body_retry_after(value)))
}

/// Classifies a non-2xx HTTP response of `provider`.
///
/// ```
/// use http::HeaderMap;
/// use llmvcr_core::{ErrorKind, Provider};
/// use llmvcr_providers::classify_http;
///
/// let body = br#"{"error":{"message":"You exceeded your current quota","type":"insufficient_quota","code":"insufficient_quota"}}"#;
/// let e = classify_http(Provider::OpenAi, 429, &HeaderMap::new(), body);
/// assert_eq!(e.kind, ErrorKind::QuotaExceeded);
/// assert!(!e.retryable());
/// ```
pub fn classify_http(provider: Provider, status: u16, headers: &HeaderMap, body: &[u8]) -> Error {
    let value: Option<Value> = serde_json::from_slice(body).ok();
    let parsed = value
        .as_ref()
        .and_then(|v| {
            // Gemini can wrap the error object in a one-element array.
            let v = match v {
                Value::Array(a) if a.len() == 1 => &a[0],
                other => other,
            };
            parse_error_value(v).or_else(|| {
                v.get("detail").map(|d| Parsed {
                    message: d
                        .as_str()
                        .map(str::to_string)
                        .unwrap_or_else(|| d.to_string()),
                    ..Parsed::default()
                })
            })
        })
        .unwrap_or_else(|| Parsed {
            message: snippet(String::from_utf8_lossy(body).trim()),
            ..Parsed::default()
        });
    let kind = kind_for(provider, status, &parsed);
    let message = if parsed.message.is_empty() {
        format!("HTTP {status}")
    } else {
        redact(&parsed.message)
    };
    let mut err = Error::new(kind, message)
        .with_provider(provider)
        .with_status(status);
    if let Some(c) = parsed.code.clone().or(parsed.kind.clone()) {
        err = err.with_code(c);
    }
    let retry_after = parse_retry_after(headers, value.as_ref()).or_else(|| {
        (kind == ErrorKind::RateLimited)
            .then(|| rate_limit_reset(headers))
            .flatten()
    });
    err.with_retry_after(retry_after)
}

fn kind_for(provider: Provider, status: u16, p: &Parsed) -> ErrorKind {
    let code = p.code.as_deref().unwrap_or("").to_ascii_lowercase();
    let ty = p.kind.as_deref().unwrap_or("").to_ascii_lowercase();
    let msg = p.message.to_ascii_lowercase();
    let any = |needles: &[&str]| {
        needles
            .iter()
            .any(|n| code == *n || ty == *n || code.contains(n) || ty.contains(n))
    };
    let status = match (status, p.numeric) {
        (0 | 200..=299, Some(n)) => n,
        (s, _) => s,
    };

    if any(&["insufficient_quota", "billing", "quota_exceeded", "credit"])
        || status == 402
        || msg.contains("credit balance is too low")
        || msg.contains("insufficient credits")
        || msg.contains("exceeded your current quota") && provider != Provider::Gemini
    {
        return ErrorKind::QuotaExceeded;
    }
    if any(&[
        "context_length_exceeded",
        "context_window_exceeded",
        "string_above_max_length",
    ]) || msg.contains("context length")
        || msg.contains("context window")
        || msg.contains("maximum context")
        || msg.contains("prompt is too long")
        || msg.contains("input token count") && msg.contains("exceeds")
        || msg.contains("too many tokens") && status != 429
    {
        return ErrorKind::ContextLength;
    }
    if any(&["overloaded"]) || status == 529 || msg.contains("overloaded") {
        return ErrorKind::Overloaded;
    }
    if any(&["rate_limit", "resource_exhausted", "too_many_requests"]) || status == 429 {
        return ErrorKind::RateLimited;
    }
    if any(&["content_policy", "content_filter", "safety", "moderation"]) {
        return ErrorKind::ContentPolicy;
    }
    if any(&[
        "authentication",
        "invalid_api_key",
        "unauthenticated",
        "unauthorized",
    ]) || status == 401
    {
        return ErrorKind::Auth;
    }
    if any(&["permission"]) || status == 403 {
        return ErrorKind::Permission;
    }
    if any(&["not_found"]) || status == 404 {
        return ErrorKind::NotFound;
    }
    if any(&["unavailable"]) {
        return ErrorKind::Overloaded;
    }
    if any(&["deadline_exceeded", "timeout"]) || status == 408 || status == 504 {
        return ErrorKind::Timeout;
    }
    if any(&["server_error", "api_error", "internal"]) || (500..600).contains(&status) {
        return ErrorKind::Server;
    }
    if any(&[
        "invalid_request",
        "invalid_argument",
        "failed_precondition",
        "bad_request",
    ]) || (400..500).contains(&status)
    {
        return ErrorKind::BadRequest;
    }
    ErrorKind::Other
}

/// The wait a response asks for, from (in order) `retry-after-ms`, `retry-after` in
/// seconds or as an HTTP date, and Gemini's `RetryInfo.retryDelay` in the body.
///
/// ```
/// use http::HeaderMap;
/// use llmvcr_providers::parse_retry_after;
/// use std::time::Duration;
///
/// let mut h = HeaderMap::new();
/// h.insert("retry-after", "2".parse().unwrap());
/// assert_eq!(parse_retry_after(&h, None), Some(Duration::from_secs(2)));
/// h.insert("retry-after-ms", "1500".parse().unwrap());
/// assert_eq!(parse_retry_after(&h, None), Some(Duration::from_millis(1500)));
/// ```
pub fn parse_retry_after(headers: &HeaderMap, body: Option<&Value>) -> Option<Duration> {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    if let Some(ms) = header("retry-after-ms").and_then(|v| v.parse::<f64>().ok())
        && ms.is_finite()
        && ms >= 0.0
    {
        return Some(Duration::from_secs_f64(ms / 1000.0));
    }
    if let Some(v) = header("retry-after") {
        if let Ok(secs) = v.parse::<f64>() {
            if secs.is_finite() && secs >= 0.0 {
                return Some(Duration::from_secs_f64(secs));
            }
        } else if let Ok(at) = httpdate::parse_http_date(v) {
            let now = header("date")
                .and_then(|d| httpdate::parse_http_date(d).ok())
                .unwrap_or_else(SystemTime::now);
            return Some(at.duration_since(now).unwrap_or(Duration::ZERO));
        }
    }
    body.and_then(body_retry_after)
}

/// Gemini's `error.details[].retryDelay` (`"30s"`, `"1.5s"`).
fn body_retry_after(value: &Value) -> Option<Duration> {
    let value = match value {
        Value::Array(a) if a.len() == 1 => &a[0],
        other => other,
    };
    let details = value.get("error")?.get("details")?.as_array()?;
    details.iter().find_map(|d| {
        let delay = d.get("retryDelay")?;
        match delay {
            Value::String(s) => parse_go_duration(s),
            Value::Object(o) => {
                let secs = o.get("seconds").and_then(|s| {
                    s.as_u64()
                        .or_else(|| s.as_str().and_then(|x| x.parse().ok()))
                })?;
                let nanos = o.get("nanos").and_then(|n| n.as_u64()).unwrap_or(0);
                Some(Duration::from_secs(secs) + Duration::from_nanos(nanos))
            }
            _ => None,
        }
    })
}

/// OpenAI-style `x-ratelimit-reset-{requests,tokens}` for the exhausted limit.
fn rate_limit_reset(headers: &HeaderMap) -> Option<Duration> {
    let get = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let exhausted = |kind: &str| {
        get(&format!("x-ratelimit-remaining-{kind}")).and_then(|v| v.trim().parse::<f64>().ok())
            == Some(0.0)
    };
    ["requests", "tokens"]
        .iter()
        .filter(|k| exhausted(k))
        .filter_map(|k| get(&format!("x-ratelimit-reset-{k}")).and_then(parse_go_duration))
        .max()
}

/// Parses durations such as `30s`, `1.5s`, `250ms`, `6m0s`, `1h2m3.5s`.
pub(crate) fn parse_go_duration(s: &str) -> Option<Duration> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    let mut total = 0f64;
    let mut rest = s;
    while !rest.is_empty() {
        let num_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if num_end == 0 {
            return None;
        }
        let n: f64 = rest[..num_end].parse().ok()?;
        rest = &rest[num_end..];
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let unit = &rest[..unit_end];
        rest = &rest[unit_end..];
        let factor = match unit {
            "h" => 3600.0,
            "m" => 60.0,
            "s" | "" => 1.0,
            "ms" => 0.001,
            "us" | "µs" => 0.000_001,
            "ns" => 0.000_000_001,
            _ => return None,
        };
        total += n * factor;
    }
    (total.is_finite() && total >= 0.0).then(|| Duration::from_secs_f64(total))
}

/// Masks anything key-shaped in a provider message (OpenAI echoes part of a rejected
/// key, for instance).
pub(crate) fn redact(message: &str) -> String {
    const PREFIXES: [&str; 5] = ["sk-", "AIza", "gsk_", "xai-", "Bearer "];
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    'outer: while !rest.is_empty() {
        for p in PREFIXES {
            if let Some(tail) = rest.strip_prefix(p) {
                let len = tail
                    .find(|c: char| {
                        !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '*' | '.'))
                    })
                    .unwrap_or(tail.len());
                if len >= 8 {
                    out.push_str(p);
                    out.push_str("<redacted>");
                    rest = &tail[len..];
                    continue 'outer;
                }
            }
        }
        let mut chars = rest.chars();
        if let Some(c) = chars.next() {
            out.push(c);
        }
        rest = chars.as_str();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn classify(provider: Provider, status: u16, body: Value) -> Error {
        classify_http(
            provider,
            status,
            &HeaderMap::new(),
            body.to_string().as_bytes(),
        )
    }

    #[test]
    fn openai_shapes() {
        let e = classify(
            Provider::OpenAi,
            429,
            json!({"error":{"message":"Rate limit reached","type":"requests","code":"rate_limit_exceeded"}}),
        );
        assert_eq!(e.kind, ErrorKind::RateLimited);
        let e = classify(
            Provider::OpenAi,
            400,
            json!({"error":{"message":"This model's maximum context length is 128000 tokens","type":"invalid_request_error","code":"context_length_exceeded"}}),
        );
        assert_eq!(e.kind, ErrorKind::ContextLength);
        let e = classify(
            Provider::OpenAi,
            401,
            json!({"error":{"message":"Incorrect API key provided: sk-proj-abcdefghijklmnop1234.","type":"invalid_request_error","code":"invalid_api_key"}}),
        );
        assert_eq!(e.kind, ErrorKind::Auth);
        assert!(!e.message.contains("abcdefgh"), "{}", e.message);
    }

    #[test]
    fn anthropic_shapes() {
        let e = classify(
            Provider::Anthropic,
            529,
            json!({"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}),
        );
        assert_eq!(e.kind, ErrorKind::Overloaded);
        assert_eq!(e.code.as_deref(), Some("overloaded_error"));
        let e = classify(
            Provider::Anthropic,
            400,
            json!({"type":"error","error":{"type":"invalid_request_error","message":"prompt is too long: 210000 tokens > 200000 maximum"}}),
        );
        assert_eq!(e.kind, ErrorKind::ContextLength);
        let e = classify(
            Provider::Anthropic,
            400,
            json!({"type":"error","error":{"type":"invalid_request_error","message":"Your credit balance is too low to access the Anthropic API."}}),
        );
        assert_eq!(e.kind, ErrorKind::QuotaExceeded);
    }

    #[test]
    fn gemini_shapes() {
        let e = classify(
            Provider::Gemini,
            429,
            json!({"error":{"code":429,"message":"Resource has been exhausted","status":"RESOURCE_EXHAUSTED","details":[{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"17s"}]}}),
        );
        assert_eq!(e.kind, ErrorKind::RateLimited);
        assert_eq!(e.retry_after, Some(Duration::from_secs(17)));
        let e = classify(
            Provider::Gemini,
            503,
            json!({"error":{"code":503,"message":"The model is overloaded. Please try again later.","status":"UNAVAILABLE"}}),
        );
        assert_eq!(e.kind, ErrorKind::Overloaded);
        let e = classify(
            Provider::Gemini,
            400,
            json!([{"error":{"code":400,"message":"API key not valid.","status":"INVALID_ARGUMENT"}}]),
        );
        assert_eq!(e.kind, ErrorKind::BadRequest);
    }

    #[test]
    fn openrouter_error_inside_200() {
        let e = error_in_body(
            Provider::OpenRouter,
            &json!({"error":{"code":429,"message":"Provider returned error","metadata":{"raw":"google/gemini is temporarily rate-limited upstream"}}}),
        )
        .unwrap();
        assert_eq!(e.kind, ErrorKind::RateLimited);
        assert_eq!(e.status, Some(429));
        assert!(e.message.contains("rate-limited upstream"));
        assert!(error_in_body(Provider::OpenAi, &json!({"error": null, "id": "x"})).is_none());
        assert!(error_in_body(Provider::OpenAi, &json!({"id": "x"})).is_none());
    }

    #[test]
    fn ollama_and_mistral_shapes() {
        let e = classify(
            Provider::Ollama,
            404,
            json!({"error":"model \"llama9\" not found, try pulling it first"}),
        );
        assert_eq!(e.kind, ErrorKind::NotFound);
        let e = classify(
            Provider::Mistral,
            422,
            json!({"object":"error","message":"Invalid model","type":"invalid_request_error","code":"1500"}),
        );
        assert_eq!(e.kind, ErrorKind::BadRequest);
    }

    #[test]
    fn retry_after_forms() {
        let mut h = HeaderMap::new();
        h.insert("date", "Sun, 05 Apr 2026 10:23:55 GMT".parse().unwrap());
        h.insert(
            "retry-after",
            "Sun, 05 Apr 2026 10:24:05 GMT".parse().unwrap(),
        );
        assert_eq!(parse_retry_after(&h, None), Some(Duration::from_secs(10)));
        let mut h = HeaderMap::new();
        h.insert("x-ratelimit-remaining-requests", "0".parse().unwrap());
        h.insert("x-ratelimit-reset-requests", "6m0s".parse().unwrap());
        let e = classify_http(Provider::OpenAi, 429, &h, b"{}");
        assert_eq!(e.retry_after, Some(Duration::from_secs(360)));
    }

    #[test]
    fn go_durations() {
        assert_eq!(parse_go_duration("1.5s"), Some(Duration::from_millis(1500)));
        assert_eq!(parse_go_duration("250ms"), Some(Duration::from_millis(250)));
        assert_eq!(parse_go_duration("1h2m3s"), Some(Duration::from_secs(3723)));
        assert_eq!(parse_go_duration("x"), None);
        assert_eq!(parse_go_duration(""), None);
    }

    #[test]
    fn non_json_bodies_still_classify() {
        let e = classify_http(
            Provider::OpenAi,
            502,
            &HeaderMap::new(),
            b"<html>Bad Gateway</html>",
        );
        assert_eq!(e.kind, ErrorKind::Server);
        assert!(e.message.contains("Bad Gateway"));
    }
}
