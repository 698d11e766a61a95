//! The vcr-cassette JSON reader (Ruby VCR's JSON serialisation, as written by
//! the Rust `rvcr` crate and read by the `vcr-cassette` crate).
//!
//! ```json
//! {"http_interactions": [{
//!    "request": {"uri": "...", "method": "post",
//!                "body": {"encoding": "UTF-8", "string": "..."},
//!                "headers": {"Accept": ["application/json"]}},
//!    "response": {"status": {"code": 200, "message": "OK"},
//!                 "headers": {"Content-Encoding": ["gzip"]},
//!                 "body": {"encoding": "ASCII-8BIT", "base64_string": "H4sI..."},
//!                 "http_version": "1.1"},
//!    "recorded_at": "Tue, 01 Nov 2011 04:58:44 GMT"}],
//!  "recorded_with": "VCR 6.0.0"}
//! ```
//!
//! A body is `{string}` (text) or `{base64_string}` (bytes, wrapped over lines
//! by Ruby); `encoding` is informational. The reader also accepts a body given
//! as a bare string, a header value given as one string, and a bare integer
//! status. `http_version` and `recorded_with` are ignored.

use serde_json::Value;

use super::decode::{RawBody, decode_base64, finish_body};
use super::vcrpy::quote_short;
use super::{ImportError, Result, Site, SourceLocation, Syntax};
use crate::recorded::{Headers, RecordedInteraction, RecordedRequest, RecordedResponse};

/// Parses the text of a vcr-cassette JSON file.
///
/// `source` names the input in errors (usually its path). Methods are
/// upper-cased (Ruby VCR writes them lower-case).
///
/// # Errors
///
/// - [`ImportError::Syntax`] with line and column when the text is not JSON;
/// - [`ImportError::Missing`] when `http_interactions`, or an interaction's
///   `request`, `response`, `method`, `uri` or `status` is absent;
/// - [`ImportError::Invalid`] when a field has the wrong type, or a status is
///   not an integer from 100 to 999;
/// - [`ImportError::Base64`] and [`ImportError::Decompress`] when a body does
///   not decode.
pub fn parse_vcr_json(text: &str, source: &str) -> Result<Vec<RecordedInteraction>> {
    let body = text.strip_prefix('\u{feff}').unwrap_or(text);
    let doc: Value = serde_json::from_str(body).map_err(|err| {
        let message = err.to_string();
        let suffix = format!(" at line {} column {}", err.line(), err.column());
        let message = message.strip_suffix(&suffix).unwrap_or(&message).to_owned();
        ImportError::Syntax {
            at: SourceLocation {
                file: source.to_owned(),
                interaction: None,
                line: (err.line() > 0).then_some(err.line()),
                column: (err.line() > 0).then_some(err.column()),
            },
            syntax: Syntax::Json,
            message,
        }
    })?;
    from_value(doc, source)
}

/// Reads the interactions of a parsed vcr-cassette document.
pub(crate) fn from_value(doc: Value, source: &str) -> Result<Vec<RecordedInteraction>> {
    let site = Site::document(source, "http_interactions");
    let Value::Object(mut top) = doc else {
        return Err(site.invalid(
            "(document)",
            format!(
                "expected an object with an `http_interactions` list, found {}",
                describe(&doc)
            ),
        ));
    };
    let items = match top.remove("http_interactions") {
        None => return Err(site.missing("http_interactions")),
        Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(items)) => items,
        Some(other) => {
            return Err(site.invalid(
                "http_interactions",
                format!("expected a list, found {}", describe(&other)),
            ));
        }
    };
    items
        .iter()
        .enumerate()
        .map(|(index, item)| interaction(item, &site.interaction(index, None)))
        .collect()
}

fn interaction(item: &Value, site: &Site<'_>) -> Result<RecordedInteraction> {
    let Value::Object(map) = item else {
        return Err(site.invalid(
            "",
            format!(
                "expected an object with `request` and `response`, found {}",
                describe(item)
            ),
        ));
    };
    let request = object_field(map.get("request"), "request", site)?;
    let response = object_field(map.get("response"), "response", site)?;
    let recorded_at = match map.get("recorded_at") {
        None | Some(Value::Null) => None,
        Some(Value::String(text)) => Some(text.clone()),
        Some(other) => {
            return Err(site.invalid(
                "recorded_at",
                format!("expected a timestamp string, found {}", describe(other)),
            ));
        }
    };
    Ok(RecordedInteraction {
        request: read_request(request, site)?,
        response: read_response(response, site)?,
        recorded_at,
    })
}

type Object = serde_json::Map<String, Value>;

fn read_request(map: &Object, site: &Site<'_>) -> Result<RecordedRequest> {
    let method = required_string(map.get("method"), "request.method", site)?;
    if method.is_empty() {
        return Err(site.invalid("request.method", "the method is empty"));
    }
    let uri = required_string(map.get("uri"), "request.uri", site)?;
    let headers = read_headers(map.get("headers"), "request.headers", site)?;
    let raw = read_body(map.get("body"), "request.body", site)?;
    let (body, body_decoded_from) = finish_body(raw, &headers)
        .map_err(|(coding, err)| site.decompress("request.body", coding, err))?;
    Ok(RecordedRequest {
        method: method.to_ascii_uppercase(),
        uri,
        headers,
        body,
        body_decoded_from,
    })
}

fn read_response(map: &Object, site: &Site<'_>) -> Result<RecordedResponse> {
    let (status, reason) = match map.get("status") {
        None | Some(Value::Null) => return Err(site.missing("response.status")),
        Some(Value::Object(status)) => {
            let code = match status.get("code") {
                None | Some(Value::Null) => return Err(site.missing("response.status.code")),
                Some(code) => status_code(code, "response.status.code", site)?,
            };
            let reason = match status.get("message") {
                None | Some(Value::Null) => None,
                Some(Value::String(message)) => Some(message.clone()),
                Some(other) => {
                    return Err(site.invalid(
                        "response.status.message",
                        format!("expected a reason phrase, found {}", describe(other)),
                    ));
                }
            };
            (code, reason)
        }
        Some(code) => (status_code(code, "response.status", site)?, None),
    };
    let headers = read_headers(map.get("headers"), "response.headers", site)?;
    let raw = read_body(map.get("body"), "response.body", site)?;
    let (body, body_decoded_from) = finish_body(raw, &headers)
        .map_err(|(coding, err)| site.decompress("response.body", coding, err))?;
    Ok(RecordedResponse {
        status,
        reason,
        headers,
        body,
        body_decoded_from,
    })
}

fn status_code(value: &Value, field: &str, site: &Site<'_>) -> Result<u16> {
    match value.as_u64().and_then(|c| u16::try_from(c).ok()) {
        Some(code) if (100..=999).contains(&code) => Ok(code),
        _ => Err(site.invalid(
            field,
            format!(
                "expected an integer HTTP status from 100 to 999, found {}",
                describe(value)
            ),
        )),
    }
}

fn read_headers(value: Option<&Value>, field: &str, site: &Site<'_>) -> Result<Headers> {
    let map = match value {
        None | Some(Value::Null) => return Ok(Headers::new()),
        Some(Value::Object(map)) => map,
        Some(other) => {
            return Err(site.invalid(
                field,
                format!(
                    "expected an object of header names to value lists, found {}",
                    describe(other)
                ),
            ));
        }
    };
    let mut headers = Headers::new();
    for (name, values) in map {
        let bad_value = |value: &Value| {
            site.invalid(
                &format!("{field}.{name}"),
                format!("expected a header value, found {}", describe(value)),
            )
        };
        let values = match values {
            Value::Null => Vec::new(),
            Value::Array(items) => items
                .iter()
                .map(|item| scalar_string(item).ok_or_else(|| bad_value(item)))
                .collect::<Result<Vec<_>>>()?,
            other => vec![scalar_string(other).ok_or_else(|| bad_value(other))?],
        };
        headers.push(name.clone(), values);
    }
    Ok(headers)
}

fn read_body(value: Option<&Value>, field: &str, site: &Site<'_>) -> Result<RawBody> {
    match value {
        None | Some(Value::Null) => Ok(RawBody::Empty),
        Some(Value::String(text)) => Ok(RawBody::Text(text.clone())),
        Some(Value::Object(body)) => {
            match body.get("base64_string") {
                None | Some(Value::Null) => {}
                Some(Value::String(encoded)) => {
                    return decode_base64(encoded)
                        .map(RawBody::Bytes)
                        .map_err(|err| site.base64(&format!("{field}.base64_string"), err));
                }
                Some(other) => {
                    return Err(site.invalid(
                        &format!("{field}.base64_string"),
                        format!("expected a base64 string, found {}", describe(other)),
                    ));
                }
            }
            match body.get("string") {
                None | Some(Value::Null) => Ok(RawBody::Empty),
                Some(Value::String(text)) => Ok(RawBody::Text(text.clone())),
                Some(other) => Err(site.invalid(
                    &format!("{field}.string"),
                    format!("expected a string, found {}", describe(other)),
                )),
            }
        }
        Some(other) => Err(site.invalid(
            field,
            format!(
                "expected an object with `string` or `base64_string`, found {}",
                describe(other)
            ),
        )),
    }
}

fn object_field<'v>(value: Option<&'v Value>, field: &str, site: &Site<'_>) -> Result<&'v Object> {
    match value {
        None | Some(Value::Null) => Err(site.missing(field)),
        Some(Value::Object(map)) => Ok(map),
        Some(other) => Err(site.invalid(
            field,
            format!("expected an object, found {}", describe(other)),
        )),
    }
}

fn required_string(value: Option<&Value>, field: &str, site: &Site<'_>) -> Result<String> {
    match value {
        None | Some(Value::Null) => Err(site.missing(field)),
        Some(Value::String(text)) => Ok(text.clone()),
        Some(other) => Err(site.invalid(
            field,
            format!("expected a string, found {}", describe(other)),
        )),
    }
}

fn scalar_string(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Null | Value::Array(_) | Value::Object(_) => None,
    }
}

fn describe(value: &Value) -> String {
    match value {
        Value::Null => "null".to_owned(),
        Value::Bool(b) => format!("a boolean ({b})"),
        Value::Number(n) => format!("a number ({n})"),
        Value::String(text) => format!("a string ({})", quote_short(text)),
        Value::Array(_) => "a list".to_owned(),
        Value::Object(_) => "an object".to_owned(),
    }
}
