//! Writing format v1 cassettes in other recorders' formats.
//!
//! [`to_vcrpy`] writes VCR.py YAML in its `string` dialect, as VCR.py itself
//! writes it: the request body is a string (or null), the response body is
//! `{string: ...}`, the status is `{code, message}`, and every header is a
//! list of values. Bodies that are not UTF-8 are written as `!!binary`
//! base64, as VCR.py does. A streamed response becomes its whole body.
//!
//! ```
//! use llmvcr_cassette::convert::to_recorded;
//! use llmvcr_cassette::import::parse_vcrpy;
//! use llmvcr_cassette::{parse, to_vcrpy};
//!
//! let cassette = parse(
//!     "llmvcr: 1\ninteractions:\n- request: {method: GET, url: 'https://x/y'}\n  response: {status: 204}\n",
//!     "demo.yaml",
//! )?;
//! let yaml = to_vcrpy(&cassette)?;
//! assert!(yaml.contains("code: 204"));
//! let back = parse_vcrpy(&yaml, "demo.yaml")?;
//! assert_eq!(back[0].request, to_recorded(&cassette.interactions[0]).request);
//! # Ok::<(), llmvcr_cassette::CassetteError>(())
//! ```

use base64::Engine as _;
use yaml_serde::Value;
use yaml_serde::value::{Tag, TaggedValue};

use crate::convert::{body_bytes, stream_bytes};
use crate::error::{CassetteError, Result};
use crate::stored::{Cassette, HeaderList, Interaction};

/// Writes a cassette as VCR.py YAML (`string` dialect, `version: 1`).
///
/// # Errors
///
/// [`CassetteError::Schema`] if the YAML emitter fails, which a well-formed
/// [`Cassette`] does not make it do.
pub fn to_vcrpy(cassette: &Cassette) -> Result<String> {
    let marker = binary_marker(cassette);
    let emit = |value: &Value| {
        yaml_serde::to_string(value).map_err(|err| CassetteError::Schema {
            file: "(cassette)".to_owned(),
            line: None,
            column: None,
            message: format!("cannot write YAML: {err}"),
        })
    };
    // One interaction at a time, each an item of the top-level block list, so
    // that only one interaction's YAML tree is held while writing.
    let mut text = String::from("interactions:\n");
    if cassette.interactions.is_empty() {
        text = String::from("interactions: []\n");
    }
    // The emitter writes only local tags; the marker tag stands for the
    // standard `!!binary` that PyYAML expects.
    let tag = format!("!{marker} ");
    for interaction in &cassette.interactions {
        let item = Value::Sequence(vec![vcrpy_interaction(interaction, &marker)]);
        text.push_str(&emit(&item)?.replace(&tag, "!!binary "));
    }
    text.push_str("version: 1\n");
    Ok(text)
}

/// The reason phrase VCR.py records for a status.
#[must_use]
pub fn reason_phrase(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        101 => "Switching Protocols",
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        203 => "Non-Authoritative Information",
        204 => "No Content",
        206 => "Partial Content",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        304 => "Not Modified",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        402 => "Payment Required",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        409 => "Conflict",
        410 => "Gone",
        413 => "Payload Too Large",
        415 => "Unsupported Media Type",
        422 => "Unprocessable Entity",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        529 => "Site Overloaded",
        _ => "",
    }
}

/// A local tag name that appears nowhere in the cassette's strings, so that
/// replacing it after emitting cannot touch anything else.
fn binary_marker(cassette: &Cassette) -> String {
    let mut n = 0u64;
    loop {
        let marker = format!("llmvcr-binary-{n}");
        let used = cassette
            .interactions
            .iter()
            .any(|interaction| format!("{interaction:?}").contains(&marker));
        if !used {
            return marker;
        }
        n += 1;
    }
}

fn key(name: &str) -> Value {
    Value::String(name.to_owned())
}

fn vcrpy_interaction(interaction: &Interaction, marker: &str) -> Value {
    let request = &interaction.request;
    let response = &interaction.response;
    let request_body = request
        .body
        .as_ref()
        .map_or(Value::Null, |body| body_value(&body_bytes(body), marker));
    let response_bytes = match (&response.stream, &response.body) {
        (Some(stream), _) => stream_bytes(stream),
        (None, Some(body)) => body_bytes(body),
        (None, None) => Vec::new(),
    };
    let mut response_body = yaml_serde::Mapping::new();
    response_body.insert(key("string"), body_value(&response_bytes, marker));

    let mut req = yaml_serde::Mapping::new();
    req.insert(key("body"), request_body);
    req.insert(key("headers"), headers_value(&request.headers));
    req.insert(key("method"), key(&request.method));
    req.insert(key("uri"), key(&request.url));

    let mut status = yaml_serde::Mapping::new();
    status.insert(key("code"), Value::Number(response.status.into()));
    status.insert(key("message"), key(reason_phrase(response.status)));

    let mut resp = yaml_serde::Mapping::new();
    resp.insert(key("body"), Value::Mapping(response_body));
    resp.insert(key("headers"), headers_value(&response.headers));
    resp.insert(key("status"), Value::Mapping(status));

    let mut item = yaml_serde::Mapping::new();
    item.insert(key("request"), Value::Mapping(req));
    item.insert(key("response"), Value::Mapping(resp));
    Value::Mapping(item)
}

fn headers_value(headers: &HeaderList) -> Value {
    let mut map = yaml_serde::Mapping::new();
    for (name, values) in &headers.0 {
        map.insert(
            key(name),
            Value::Sequence(values.iter().map(|v| key(v)).collect()),
        );
    }
    Value::Mapping(map)
}

/// A body: a string for UTF-8, `!!binary` base64 otherwise, `''` when empty
/// (VCR.py writes an empty response body as an empty string).
fn body_value(bytes: &[u8], marker: &str) -> Value {
    match std::str::from_utf8(bytes) {
        Ok(text) => Value::String(text.to_owned()),
        Err(_) => Value::Tagged(Box::new(TaggedValue {
            tag: Tag::new(marker),
            value: Value::String(base64::engine::general_purpose::STANDARD.encode(bytes)),
        })),
    }
}
