//! The VCR.py YAML reader.
//!
//! A VCR.py cassette is a mapping with an `interactions` list (and usually
//! `version: 1`). Each interaction has a `request` (`method`, `uri`,
//! `headers`, `body`) and a `response` (`status`, `headers`, `body`).
//! Recorders built on VCR.py store bodies in several dialects, all read here:
//!
//! - `string`: `request.body` is a string or null, `response.body.string` a
//!   string.
//! - `binary`: a body string is `!!binary` base64, usually of gzip bytes. The
//!   base64 is decoded, then the content coding is removed.
//! - `parsed_body`: a JSON body is stored as a YAML structure under
//!   `request.parsed_body` / `response.parsed_body`. It becomes
//!   [`RecordedBody::Json`](crate::recorded::RecordedBody::Json); integers stay integers,
//!   floats stay floats.
//! - `typed_body`: `body: {type: json|text|binary|none, content: ...}`, the
//!   status is a bare integer, and each interaction has `recorded_at`.
//!
//! # What VCR.py's own recorders wrote
//!
//! Each of VCR.py's stubs built the response dict its own way, and the
//! serialiser wrote whatever it was given (PyYAML's full dumper spells bytes
//! as `!!binary` and Python objects with `!!python/...` tags):
//!
//! - http.client, requests, urllib3, httplib2, boto: `status: {code,
//!   message}`, headers as `name: [values]`, `body: {string: ...}` holding
//!   text or `!!binary` bytes (gzip unless decoding was asked for).
//! - httpx, first recorder: `status_code: 200`, `http_version`, headers as
//!   `name: value` (later `name: [values]`), and `content` holding the text
//!   httpx had already decoded while the headers still say
//!   `Content-Encoding: gzip`. Streamed responses are stored the same way,
//!   their SSE text in `content`.
//! - aiohttp: `status: {code, message}`, `url` (a string, or a pickled
//!   `yarl.URL`), headers as `name: value` or `name: [values]` with names
//!   sometimes pickled as `multidict` `istr` objects, `body: {string}` of the
//!   decoded body (the gzip header kept), and `body: {}` when there was none.
//! - tornado: headers as a list of `[name, [values]]` pairs (Python tuples).
//! - requests: a file-like request body pickled as `_io.BytesIO` and an
//!   iterator body as `builtins.iter`.
//! - Before VCR.py 1.0: no `interactions` key, the file is the list; a request
//!   is a pickled `vcr.request.Request` with `protocol`, `host`, `port` and
//!   `path`, its headers a pickled `frozenset` of pairs; response headers are
//!   raw `"name: value\r\n"` lines; Python 2 strings carry
//!   `!!python/unicode` or `!!python/str`.
//!
//! So the reader takes: `status` as `{code, message}` or an integer, or
//! `status_code`; the body from `parsed_body`, `body` (a string, `!!binary`,
//! null, `{string}`, a typed body, a structure read as JSON, a pickled
//! stream) or, in a response, `content`; headers as a mapping of names to a
//! value, a list or null, or as a list of pairs or header lines; `uri`, `url`
//! or the URI's parts; methods in any case (they are upper-cased). A declared
//! `Content-Encoding` that the stored body does not have is reported as
//! removed, so the decoded headers no longer claim it (see the
//! [module documentation](crate)).
//!
//! # Where yaml_serde and PyYAML differ
//!
//! VCR.py writes cassettes with PyYAML, which speaks YAML 1.1; yaml_serde
//! reads YAML 1.2. Two differences matter, and the reader corrects both by
//! parsing a second, rewritten copy of the text and taking from it only the
//! corrections; every value still comes from the first parse, and where the
//! two trees differ in shape the first one is kept as it is.
//!
//! - yaml_serde drops every standard `!!` tag: `!!binary` becomes a plain
//!   string, so a base64 body would look like text, and a `!!python/...`
//!   object would look like its pickled state. The copy spells these tags as
//!   the local tags `!binary` and `!python/...`, which yaml_serde keeps. (A
//!   local `!binary` tag, Ruby's spelling, is read as base64 too.)
//! - YAML 1.2 reads some plain scalars as numbers that YAML 1.1 reads as
//!   strings, so PyYAML writes such strings without quotes: an exponent with
//!   no dot or no sign (`1e3`, `2.5e10`), a signed float with no leading digit
//!   (`-.5`) and `0o` octals. The copy quotes a value that ends a
//!   `key: value` or `- value` line when yaml_serde would read it as a number
//!   and PyYAML would not. Mapping keys are not corrected, and documents in
//!   flow style (JSON, such as VCR.py's JSON serialiser writes) are left
//!   alone, since PyYAML's block style is what produces such values.

use yaml_serde::Value;
use yaml_serde::value::{Tag, TaggedValue};

use super::decode::{RawBody, decode_base64, finish_body};
use super::{ImportError, Result, Site, SourceLocation, Syntax};
use crate::recorded::{Headers, RecordedInteraction, RecordedRequest, RecordedResponse};

/// The tag that marks base64 strings after re-tagging.
const BINARY_TAG: &str = "binary";

/// The start of the tags that PyYAML's full dumper writes for Python objects
/// (`!!python/tuple`, `!!python/object/new:_io.BytesIO`, ...).
const PYTHON_TAG_PREFIX: &str = "python/";

/// Parses the text of a VCR.py cassette.
///
/// `source` names the input in errors (usually its path). Methods are
/// upper-cased; everything else is kept as recorded, except that bodies are
/// decoded as the [module documentation](crate) describes.
///
/// # Errors
///
/// - [`ImportError::Syntax`] with line and column when the text is not YAML;
/// - [`ImportError::Missing`] when `interactions`, or an interaction's
///   `request`, `response`, `method`, `uri` or `status` is absent;
/// - [`ImportError::Invalid`] when a field has the wrong type, or a status is
///   not an integer from 100 to 999;
/// - [`ImportError::Base64`] and [`ImportError::Decompress`] when a body does
///   not decode.
///
/// A cassette from before VCR.py 1.0 (the list of interactions alone) is read
/// too; its errors name an interaction as `[3]` rather than
/// `interactions[3]`. Errors inside an interaction carry its index and the
/// line where it starts.
pub fn parse_vcrpy(text: &str, source: &str) -> Result<Vec<RecordedInteraction>> {
    let doc = parse_yaml(text, source)?;
    from_document(text, doc, source)
}

/// Parses YAML text into a value, reporting syntax errors with a location.
pub(crate) fn parse_yaml(text: &str, source: &str) -> Result<Value> {
    yaml_serde::from_str::<Value>(text).map_err(|err| {
        let location = err.location();
        ImportError::Syntax {
            at: SourceLocation {
                file: source.to_owned(),
                interaction: None,
                line: location.as_ref().map(yaml_serde::Location::line),
                column: location.as_ref().map(yaml_serde::Location::column),
            },
            syntax: Syntax::Yaml,
            message: err.to_string(),
        }
    })
}

/// Reads the interactions of a parsed VCR.py document. `text` is the source
/// the document was parsed from.
pub(crate) fn from_document(
    text: &str,
    doc: Value,
    source: &str,
) -> Result<Vec<RecordedInteraction>> {
    let doc = apply_corrections(text, doc);
    let legacy = is_legacy_list(&doc);
    let (site, items, legacy) = match doc {
        // VCR.py before 1.0 wrote the list of interactions alone.
        Value::Sequence(items) if legacy => (Site::document(source, ""), items, true),
        Value::Mapping(mut top) => {
            let site = Site::document(source, "interactions");
            match top.remove("interactions") {
                None => return Err(site.missing("interactions")),
                Some(Value::Null) => return Ok(Vec::new()),
                Some(Value::Sequence(items)) => (site, items, false),
                Some(other) => {
                    return Err(site.invalid(
                        "interactions",
                        format!("expected a list, found {}", describe(&other)),
                    ));
                }
            }
        }
        Value::Null => return Err(Site::document(source, "interactions").missing("interactions")),
        other => {
            return Err(Site::document(source, "interactions").invalid(
                "(document)",
                format!(
                    "expected a mapping with an `interactions` list, found {}",
                    describe(&other)
                ),
            ));
        }
    };
    let lines = interaction_lines(text, items.len(), legacy);
    items
        .iter()
        .enumerate()
        .map(|(index, item)| {
            let site = site.interaction(index, lines.get(index).copied());
            interaction(item, &site)
        })
        .collect()
}

/// Whether a parsed document is a VCR.py cassette from before version 1.0: a
/// list of mappings with a `request`.
pub(crate) fn is_legacy_list(doc: &Value) -> bool {
    match doc {
        Value::Sequence(items) => matches!(
            items.first().map(untag),
            Some(Value::Mapping(map)) if map.contains_key("request")
        ),
        _ => false,
    }
}

fn interaction(item: &Value, site: &Site<'_>) -> Result<RecordedInteraction> {
    let Value::Mapping(map) = untag(item) else {
        return Err(site.invalid(
            "",
            format!(
                "expected a mapping with `request` and `response`, found {}",
                describe(item)
            ),
        ));
    };
    let request = mapping_field(map.get("request"), "request", site)?;
    let response = mapping_field(map.get("response"), "response", site)?;
    let recorded_at = match map.get("recorded_at").map(untag) {
        None | Some(Value::Null) => None,
        Some(value) => Some(scalar_string(value).ok_or_else(|| {
            site.invalid(
                "recorded_at",
                format!("expected a timestamp, found {}", describe(value)),
            )
        })?),
    };
    Ok(RecordedInteraction {
        request: read_request(request, site)?,
        response: read_response(response, site)?,
        recorded_at,
    })
}

fn read_request(map: &yaml_serde::Mapping, site: &Site<'_>) -> Result<RecordedRequest> {
    let method = required_string(map.get("method"), "request.method", site)?;
    let method = method.trim();
    if method.is_empty() {
        return Err(site.invalid("request.method", "the method is empty"));
    }
    let uri = request_uri(map, site)?;
    let headers = read_headers(map.get("headers"), "request.headers", site)?;
    let raw = read_body(map, "request", site)?;
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

/// The request URI: `uri`, or `url`, or (before VCR.py 1.0) built from
/// `protocol`, `host`, `port` and `path`.
fn request_uri(map: &yaml_serde::Mapping, site: &Site<'_>) -> Result<String> {
    if let Some(value) = map.get("uri").or_else(|| map.get("url")) {
        return required_string(Some(value), "request.uri", site);
    }
    let Some(host) = map.get("host") else {
        return Err(site.missing("request.uri"));
    };
    let host = required_string(Some(host), "request.host", site)?;
    let scheme = match map.get("protocol").map(untag) {
        None | Some(Value::Null) => "http".to_owned(),
        Some(value) => required_string(Some(value), "request.protocol", site)?,
    };
    let port = match map.get("port").map(untag) {
        None | Some(Value::Null) => None,
        Some(value) => Some(scalar_string(value).ok_or_else(|| {
            site.invalid(
                "request.port",
                format!("expected a port number, found {}", describe(value)),
            )
        })?),
    };
    let path = match map.get("path").map(untag) {
        None | Some(Value::Null) => "/".to_owned(),
        Some(value) => required_string(Some(value), "request.path", site)?,
    };
    let default_port = match scheme.to_ascii_lowercase().as_str() {
        "https" => "443",
        _ => "80",
    };
    let port = match port {
        Some(port) if port != default_port => format!(":{port}"),
        _ => String::new(),
    };
    let slash = if path.starts_with('/') { "" } else { "/" };
    Ok(format!("{scheme}://{host}{port}{slash}{path}"))
}

fn read_response(map: &yaml_serde::Mapping, site: &Site<'_>) -> Result<RecordedResponse> {
    let (status, reason) = read_status(map, site)?;
    let headers = read_headers(map.get("headers"), "response.headers", site)?;
    let raw = read_body(map, "response", site)?;
    let body_field = if map.contains_key("body") || !map.contains_key("content") {
        "response.body"
    } else {
        "response.content"
    };
    let (body, body_decoded_from) = finish_body(raw, &headers)
        .map_err(|(coding, err)| site.decompress(body_field, coding, err))?;
    Ok(RecordedResponse {
        status,
        reason,
        headers,
        body,
        body_decoded_from,
    })
}

/// The status and reason: `status: {code, message}`, `status: 200`, or the
/// `status_code: 200` of VCR.py's first httpx recorder.
fn read_status(map: &yaml_serde::Mapping, site: &Site<'_>) -> Result<(u16, Option<String>)> {
    let (value, field) = match (map.get("status"), map.get("status_code")) {
        (Some(value), _) if !matches!(untag(value), Value::Null) => (value, "response.status"),
        (_, Some(value)) if !matches!(untag(value), Value::Null) => (value, "response.status_code"),
        _ => return Err(site.missing("response.status")),
    };
    let value = pickled_status(value);
    match untag(value) {
        Value::Mapping(status) => {
            let code = match status.get("code").map(pickled_status).map(untag) {
                None | Some(Value::Null) => {
                    return Err(site.missing(&format!("{field}.code")));
                }
                Some(code) => status_code(code, &format!("{field}.code"), site)?.0,
            };
            let reason = match status.get("message").map(untag) {
                None | Some(Value::Null) => None,
                Some(message) => Some(scalar_string(message).ok_or_else(|| {
                    site.invalid(
                        &format!("{field}.message"),
                        format!("expected a reason phrase, found {}", describe(message)),
                    )
                })?),
            };
            Ok((code, reason))
        }
        code => status_code(code, field, site),
    }
}

/// The number of an `http.HTTPStatus` member, which PyYAML pickles as
/// `!!python/object/apply:http.HTTPStatus [200]`; any other value as it is.
fn pickled_status(value: &Value) -> &Value {
    match value {
        Value::Tagged(tagged) if tag_name(tagged).ends_with("HTTPStatus") => {
            match untag(&tagged.value) {
                Value::Sequence(items) if items.len() == 1 => &items[0],
                _ => value,
            }
        }
        _ => value,
    }
}

/// An HTTP status: an integer.
fn status_code(value: &Value, field: &str, site: &Site<'_>) -> Result<(u16, Option<String>)> {
    let code = match value {
        Value::Number(n) => n.as_u64(),
        _ => None,
    };
    match code.and_then(|c| u16::try_from(c).ok()) {
        Some(code) if (100..=999).contains(&code) => Ok((code, None)),
        _ => Err(site.invalid(
            field,
            format!(
                "expected an integer HTTP status from 100 to 999, found {}",
                describe(value)
            ),
        )),
    }
}

/// Reads headers in every shape VCR.py's recorders wrote:
///
/// - a mapping of names to lists of values (the usual form), to one value
///   (httpx and aiohttp recorders), or to null;
/// - a list of `[name, value]` or `[name, [values]]` pairs (tornado, Python
///   tuples), possibly nested in one more list (a pickled `frozenset`);
/// - a list of raw header lines, `"name: value\r\n"` (before VCR.py 1.0);
/// - names written as one-element lists (aiohttp's case-insensitive `istr`).
fn read_headers(value: Option<&Value>, field: &str, site: &Site<'_>) -> Result<Headers> {
    let mut headers = Headers::new();
    match value.map(untag) {
        None | Some(Value::Null) => {}
        Some(Value::Mapping(map)) => header_mapping(map, field, site, &mut headers)?,
        Some(Value::Sequence(items)) => {
            if !header_list(items, &mut headers, 0) {
                return Err(site.invalid(
                    field,
                    "expected a mapping of header names to values, found a list",
                ));
            }
        }
        Some(other) => {
            return Err(site.invalid(
                field,
                format!(
                    "expected a mapping of header names to values, found {}",
                    describe(other)
                ),
            ));
        }
    }
    Ok(headers)
}

fn header_mapping(
    map: &yaml_serde::Mapping,
    field: &str,
    site: &Site<'_>,
    out: &mut Headers,
) -> Result<()> {
    for (name, values) in map {
        let name = header_name(name).ok_or_else(|| {
            site.invalid(
                field,
                format!("expected a header name, found {}", describe(name)),
            )
        })?;
        let values = header_values(values, &format!("{field}.{name}"), site)?;
        out.push(name, values);
    }
    Ok(())
}

/// Reads a list of headers into `out`; `false` when an item is none of the
/// list forms.
fn header_list(items: &[Value], out: &mut Headers, depth: usize) -> bool {
    for item in items {
        match untag(item) {
            Value::Null => {}
            Value::String(line) => {
                let line = line.trim_end_matches(['\r', '\n']);
                let Some((name, value)) = line.split_once(':') else {
                    return false;
                };
                let name = name.trim();
                if name.is_empty() {
                    return false;
                }
                out.push(name, vec![value.trim().to_owned()]);
            }
            Value::Sequence(parts) if is_header_pair(parts) => {
                let (Some(name), Some(values)) = (header_name(&parts[0]), scalars(&parts[1]))
                else {
                    return false;
                };
                out.push(name, values);
            }
            Value::Sequence(inner) if depth < 2 => {
                if !header_list(inner, out, depth + 1) {
                    return false;
                }
            }
            Value::Mapping(map) => {
                for (name, values) in map {
                    let (Some(name), Some(values)) = (header_name(name), scalars(values)) else {
                        return false;
                    };
                    out.push(name, values);
                }
            }
            _ => return false,
        }
    }
    true
}

/// Header values as text: a scalar, null, or a list of scalars (null items
/// are empty values). `None` for anything else.
fn scalars(value: &Value) -> Option<Vec<String>> {
    match untag(value) {
        Value::Null => Some(Vec::new()),
        Value::Sequence(items) => items
            .iter()
            .map(|item| match untag(item) {
                Value::Null => Some(String::new()),
                _ => header_text(item),
            })
            .collect(),
        _ => header_text(value).map(|value| vec![value]),
    }
}

/// The text of a header name or value: a scalar, or `!!binary` bytes (a
/// header the client was given as bytes), read as UTF-8 with invalid
/// sequences replaced.
fn header_text(value: &Value) -> Option<String> {
    match value {
        Value::Tagged(tagged) if is_binary(tagged) => match untag(&tagged.value) {
            Value::String(encoded) => decode_base64(encoded)
                .ok()
                .map(|bytes| String::from_utf8_lossy(&bytes).into_owned()),
            _ => None,
        },
        other => scalar_string(other),
    }
}

/// Whether a list is one `[name, value]` header: a scalar name and a scalar,
/// null or list of scalars as the value.
fn is_header_pair(parts: &[Value]) -> bool {
    let [name, value] = parts else {
        return false;
    };
    let scalar = |value: &Value| {
        matches!(
            untag(value),
            Value::String(_) | Value::Number(_) | Value::Bool(_) | Value::Null
        )
    };
    matches!(untag(name), Value::String(_))
        && match untag(value) {
            Value::Sequence(items) => items.iter().all(scalar),
            other => scalar(other),
        }
}

/// A header name: a scalar, or a one-element list holding one (how PyYAML
/// writes aiohttp's `istr` names).
fn header_name(value: &Value) -> Option<String> {
    match untag(value) {
        Value::Sequence(items) if items.len() == 1 => header_text(&items[0]),
        _ => header_text(value),
    }
}

fn header_values(value: &Value, field: &str, site: &Site<'_>) -> Result<Vec<String>> {
    scalars(value).ok_or_else(|| {
        let found = match untag(value) {
            Value::Sequence(items) => items
                .iter()
                .map(untag)
                .find(|item| matches!(item, Value::Sequence(_) | Value::Mapping(_)))
                .unwrap_or(value),
            other => other,
        };
        site.invalid(
            field,
            format!("expected a header value, found {}", describe(found)),
        )
    })
}

/// Finds the stored body of a request or response mapping. `side` is
/// `request` or `response`. A response of VCR.py's first httpx recorder keeps
/// its body in `content`: text, `!!binary` bytes, or base64 text flagged by
/// `base64encoded: true`.
fn read_body(map: &yaml_serde::Mapping, side: &str, site: &Site<'_>) -> Result<RawBody> {
    if let Some(parsed) = map.get("parsed_body") {
        return Ok(RawBody::Json(yaml_to_json(parsed)));
    }
    let (value, field) = match (map.get("body"), map.get("content")) {
        (Some(value), _) => (value, format!("{side}.body")),
        (None, Some(content)) if side == "response" => {
            let field = format!("{side}.content");
            // A patched httpx recorder stored bytes that are not UTF-8 as
            // base64 text, with `base64encoded: true` beside it.
            let flagged = ["base64encoded", "base64_encoded"]
                .iter()
                .any(|key| matches!(map.get(*key).map(untag), Some(Value::Bool(true))));
            if flagged && let Value::String(_) = untag(content) {
                return binary(content, &field, site);
            }
            (content, field)
        }
        (None, _) => return Ok(RawBody::Empty),
    };
    // aiohttp's recorder writes `body: {}` for a response without a body.
    if side == "response" && matches!(untag(value), Value::Mapping(map) if map.is_empty()) {
        return Ok(RawBody::Empty);
    }
    body_value(value, &field, site)
}

/// Reads a body value in any of the dialects.
fn body_value(value: &Value, field: &str, site: &Site<'_>) -> Result<RawBody> {
    match value {
        Value::Null => Ok(RawBody::Empty),
        Value::Tagged(tagged) if is_binary(tagged) => binary(&tagged.value, field, site),
        Value::Tagged(tagged) => python_body(tagged, field, site),
        Value::String(text) => Ok(RawBody::Text(text.clone())),
        Value::Mapping(map) if is_vcr_body(map) => {
            if let Some(encoded) = map.get("base64_string") {
                return binary(encoded, &format!("{field}.base64_string"), site);
            }
            match map.get("string") {
                None => Ok(RawBody::Empty),
                Some(inner) => body_value(inner, &format!("{field}.string"), site),
            }
        }
        Value::Mapping(map) if is_typed_body(map) => typed_body(map, field, site),
        Value::Mapping(_) | Value::Sequence(_) | Value::Number(_) | Value::Bool(_) => {
            Ok(RawBody::Json(yaml_to_json(value)))
        }
    }
}

/// A body under a Python tag that the corrected copy kept: a file-like
/// request body that PyYAML pickled (`_io.BytesIO`, its bytes first in
/// `state`), an iterator body (`builtins.iter`, its chunks in `args`), or a
/// Python string tag. Another object is read as JSON in a request (its
/// pickled state) and is an error in a response, whose body must be bytes.
fn python_body(tagged: &TaggedValue, field: &str, site: &Site<'_>) -> Result<RawBody> {
    let tag = tag_name(tagged);
    let object = tag
        .strip_prefix("python/object/new:")
        .or_else(|| tag.strip_prefix("python/object/apply:"))
        .or_else(|| tag.strip_prefix("python/object:"));
    let Some(class) = object else {
        // `!!python/str`, `!!python/unicode`, `!!python/tuple`, local tags.
        return body_value(&tagged.value, field, site);
    };
    let argument = |key: &str| match untag(&tagged.value) {
        Value::Mapping(map) => map.get(key).map(untag).and_then(|value| match value {
            Value::Sequence(items) => items.first(),
            _ => None,
        }),
        Value::Sequence(items) => items.first(),
        _ => None,
    };
    match class {
        "_io.BytesIO" | "io.BytesIO" | "_io.StringIO" | "StringIO.StringIO" => {
            match argument("state").or_else(|| argument("args")) {
                None => Ok(RawBody::Empty),
                Some(content) => body_value(content, &format!("{field}.state[0]"), site),
            }
        }
        "builtins.iter" | "__builtin__.iter" => {
            let chunks = match argument("args").map(untag) {
                None | Some(Value::Null) => return Ok(RawBody::Empty),
                Some(Value::Sequence(chunks)) => chunks,
                Some(other) => {
                    return Err(site.invalid(
                        &format!("{field}.args[0]"),
                        format!("expected a list of body chunks, found {}", describe(other)),
                    ));
                }
            };
            let mut bytes = Vec::new();
            for (index, chunk) in chunks.iter().enumerate() {
                let chunk_field = format!("{field}.args[0][{index}]");
                match body_value(chunk, &chunk_field, site)? {
                    RawBody::Empty => {}
                    RawBody::Text(text) => bytes.extend_from_slice(text.as_bytes()),
                    RawBody::Bytes(chunk) => bytes.extend(chunk),
                    RawBody::Json(_) => {
                        return Err(site.invalid(
                            &chunk_field,
                            format!("expected bytes or text, found {}", describe(chunk)),
                        ));
                    }
                }
            }
            Ok(RawBody::Bytes(bytes))
        }
        // Another object pickled in place of a request body (aiohttp form
        // data, say): kept as the structure of its pickled state, which is
        // all the file says about it. A response body must be bytes.
        _ if field.starts_with("request.") => Ok(RawBody::Json(yaml_to_json(&tagged.value))),
        _ => Err(site.invalid(
            field,
            format!("expected a body, found a Python object (!!{tag})"),
        )),
    }
}

/// Whether a body mapping is VCR's `{string: ...}` (optionally with
/// `encoding`, or Ruby's `base64_string`).
fn is_vcr_body(map: &yaml_serde::Mapping) -> bool {
    (map.contains_key("string") || map.contains_key("base64_string"))
        && map
            .keys()
            .all(|key| matches!(key.as_str(), Some("string" | "base64_string" | "encoding")))
}

/// Whether a body mapping is the typed form `{type: ..., content: ...}`.
fn is_typed_body(map: &yaml_serde::Mapping) -> bool {
    matches!(map.get("type").map(untag), Some(Value::String(_)))
        && map
            .keys()
            .all(|key| matches!(key.as_str(), Some("type" | "content" | "encoding")))
}

fn typed_body(map: &yaml_serde::Mapping, field: &str, site: &Site<'_>) -> Result<RawBody> {
    let kind = match map.get("type").map(untag) {
        Some(Value::String(kind)) => kind.to_ascii_lowercase(),
        _ => String::new(),
    };
    let content = map.get("content");
    let content_field = format!("{field}.content");
    match kind.as_str() {
        "none" | "empty" | "null" => Ok(RawBody::Empty),
        "json" => match content {
            None => Err(site.missing(&content_field)),
            // JSON kept as text: keep the text, it is the exact wire form.
            Some(Value::String(text))
                if serde_json::from_str::<serde_json::Value>(text).is_ok() =>
            {
                Ok(RawBody::Text(text.clone()))
            }
            Some(value) => Ok(RawBody::Json(yaml_to_json(value))),
        },
        "text" | "string" | "utf8" | "utf-8" => match content.map(untag) {
            None | Some(Value::Null) => Ok(RawBody::Empty),
            Some(Value::String(text)) => Ok(RawBody::Text(text.clone())),
            Some(other) => Err(site.invalid(
                &content_field,
                format!(
                    "expected text for a `{kind}` body, found {}",
                    describe(other)
                ),
            )),
        },
        "binary" | "base64" | "bytes" => match content {
            None | Some(Value::Null) => Ok(RawBody::Empty),
            Some(value) => binary(value, &content_field, site),
        },
        // An unknown type: read the content by its own shape.
        _ => match content {
            None => Ok(RawBody::Empty),
            Some(value) => body_value(value, &content_field, site),
        },
    }
}

/// Decodes a base64 string value into bytes.
fn binary(value: &Value, field: &str, site: &Site<'_>) -> Result<RawBody> {
    match untag(value) {
        Value::Null => Ok(RawBody::Empty),
        Value::String(encoded) => decode_base64(encoded)
            .map(RawBody::Bytes)
            .map_err(|err| site.base64(field, err)),
        other => Err(site.invalid(
            field,
            format!("expected a base64 string, found {}", describe(other)),
        )),
    }
}

fn mapping_field<'v>(
    value: Option<&'v Value>,
    field: &str,
    site: &Site<'_>,
) -> Result<&'v yaml_serde::Mapping> {
    match value.map(untag) {
        None | Some(Value::Null) => Err(site.missing(field)),
        Some(Value::Mapping(map)) => Ok(map),
        Some(other) => Err(site.invalid(
            field,
            format!("expected a mapping, found {}", describe(other)),
        )),
    }
}

fn required_string(value: Option<&Value>, field: &str, site: &Site<'_>) -> Result<String> {
    match value.map(untag) {
        None | Some(Value::Null) => Err(site.missing(field)),
        Some(Value::String(text)) => Ok(text.clone()),
        Some(other) => Err(site.invalid(
            field,
            format!("expected a string, found {}", describe(other)),
        )),
    }
}

/// The text of a scalar: strings as they are, numbers and booleans as YAML
/// writes them. `None` for null, sequences and mappings.
fn scalar_string(value: &Value) -> Option<String> {
    match untag(value) {
        Value::String(text) => Some(text.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Null | Value::Sequence(_) | Value::Mapping(_) | Value::Tagged(_) => None,
    }
}

/// Strips tags (other than the meaning of `!binary`, which callers check
/// first).
fn untag(value: &Value) -> &Value {
    let mut current = value;
    while let Value::Tagged(tagged) = current {
        current = &tagged.value;
    }
    current
}

fn is_binary(tagged: &TaggedValue) -> bool {
    tagged.tag == BINARY_TAG
}

/// The tag's name without its leading `!`.
fn tag_name(tagged: &TaggedValue) -> String {
    let name = tagged.tag.to_string();
    name.strip_prefix('!').unwrap_or(&name).to_owned()
}

/// Whether a tag is one the corrected copy spells locally: `binary`, or a
/// `python/...` tag of PyYAML's full dumper.
fn is_marker(tagged: &TaggedValue) -> bool {
    is_binary(tagged) || tag_name(tagged).starts_with(PYTHON_TAG_PREFIX)
}

/// Converts YAML to JSON.
///
/// Integers stay integers and floats stay floats; tags are dropped. Keys that
/// are not strings become their text, as Python's `json.dumps` does (`1`,
/// `true`, `null`); sequence and mapping keys become their compact JSON.
/// Floats that JSON cannot hold (NaN, infinities) become `null`.
pub(crate) fn yaml_to_json(value: &Value) -> serde_json::Value {
    match value {
        Value::Null => serde_json::Value::Null,
        Value::Bool(b) => serde_json::Value::Bool(*b),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                serde_json::Value::from(i)
            } else if let Some(u) = n.as_u64() {
                serde_json::Value::from(u)
            } else {
                n.as_f64()
                    .and_then(serde_json::Number::from_f64)
                    .map_or(serde_json::Value::Null, serde_json::Value::Number)
            }
        }
        Value::String(text) => serde_json::Value::String(text.clone()),
        Value::Sequence(items) => {
            serde_json::Value::Array(items.iter().map(yaml_to_json).collect())
        }
        Value::Mapping(map) => serde_json::Value::Object(
            map.iter()
                .map(|(key, value)| (json_key(key), yaml_to_json(value)))
                .collect(),
        ),
        Value::Tagged(tagged) => yaml_to_json(&tagged.value),
    }
}

fn json_key(key: &Value) -> String {
    match untag(key) {
        Value::String(text) => text.clone(),
        Value::Null => "null".to_owned(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        other => serde_json::to_string(&yaml_to_json(other)).unwrap_or_default(),
    }
}

/// A short description of a value for error messages.
pub(crate) fn describe(value: &Value) -> String {
    match value {
        Value::Null => "null".to_owned(),
        Value::Bool(b) => format!("a boolean ({b})"),
        Value::Number(n) => format!("a number ({n})"),
        Value::String(text) => format!("a string ({})", quote_short(text)),
        Value::Sequence(_) => "a list".to_owned(),
        Value::Mapping(_) => "a mapping".to_owned(),
        Value::Tagged(tagged) => format!("a value tagged {}", tagged.tag),
    }
}

/// Quotes a string for a message, shortened to 40 characters.
pub(crate) fn quote_short(text: &str) -> String {
    const MAX: usize = 40;
    if text.chars().count() <= MAX {
        format!("{text:?}")
    } else {
        let head: String = text.chars().take(MAX).collect();
        format!("{head:?}...")
    }
}

/// Applies the corrections described in the module documentation: wraps
/// every `!!binary` string in a `!binary` tag, and turns back into strings
/// the numbers that PyYAML wrote as strings.
fn apply_corrections(text: &str, doc: Value) -> Value {
    let retagged = retag_binary(text);
    let base = retagged.as_deref().unwrap_or(text);
    let flow_style = text
        .trim_start_matches('\u{feff}')
        .trim_start()
        .starts_with(['{', '[']);
    let quoted = if flow_style {
        None
    } else {
        quote_yaml11_strings(base)
    };
    // The quoted copy is tried first; if quoting broke it (a value line inside
    // a single-quoted multi-line string), the copy with only the tags is used.
    for copy in [quoted, retagged].into_iter().flatten() {
        if let Ok(marked) = yaml_serde::from_str::<Value>(&copy) {
            return merge_marks(doc, &marked);
        }
    }
    doc
}

/// Quotes each plain value that ends a `key: value` or `- value` line when
/// yaml_serde reads it as a number but YAML 1.1 reads it as a string. `None`
/// when there is none.
fn quote_yaml11_strings(text: &str) -> Option<String> {
    let mut out = String::with_capacity(text.len() + 16);
    let mut changed = false;
    for line in text.split_inclusive('\n') {
        let content = line.trim_end();
        let quote_at = content.rfind(' ').filter(|&space| {
            let prefix = content[..=space].trim_start();
            let value = &content[space + 1..];
            let introduced = prefix.ends_with(": ")
                || (!prefix.is_empty() && prefix.split_whitespace().all(|p| p == "-"));
            introduced && yaml12_only_number(value)
        });
        match quote_at {
            Some(space) => {
                out.push_str(&content[..=space]);
                out.push('\'');
                out.push_str(&content[space + 1..]);
                out.push('\'');
                out.push_str(&line[content.len()..]);
                changed = true;
            }
            None => out.push_str(line),
        }
    }
    changed.then_some(out)
}

/// Whether yaml_serde reads the plain scalar as a number while YAML 1.1
/// (PyYAML) reads it as a string.
fn yaml12_only_number(scalar: &str) -> bool {
    scalar.starts_with(|c: char| c.is_ascii_digit() || matches!(c, '-' | '+' | '.'))
        && matches!(yaml_serde::from_str::<Value>(scalar), Ok(Value::Number(_)))
        && !yaml11_int(scalar)
        && !yaml11_float(scalar)
}

/// YAML 1.1 integers: binary, octal, decimal and hex (sexagesimal ones are
/// strings to yaml_serde anyway).
fn yaml11_int(scalar: &str) -> bool {
    let digits_in = |s: &str, ok: fn(char) -> bool| !s.is_empty() && s.chars().all(ok);
    let body = scalar.strip_prefix(['-', '+']).unwrap_or(scalar);
    if let Some(bits) = body.strip_prefix("0b") {
        return digits_in(bits, |c| matches!(c, '0' | '1' | '_'));
    }
    if let Some(hex) = body.strip_prefix("0x") {
        return digits_in(hex, |c| c.is_ascii_hexdigit() || c == '_');
    }
    if body == "0" {
        return true;
    }
    if let Some(octal) = body.strip_prefix('0') {
        return digits_in(octal, |c| matches!(c, '0'..='7' | '_'));
    }
    body.starts_with(|c: char| matches!(c, '1'..='9'))
        && digits_in(body, |c| c.is_ascii_digit() || c == '_')
}

/// YAML 1.1 floats: a dot is required, and an exponent needs a sign.
fn yaml11_float(scalar: &str) -> bool {
    let digits = |s: &str| s.chars().all(|c| c.is_ascii_digit() || c == '_');
    let special = scalar.strip_prefix(['-', '+']).unwrap_or(scalar);
    if matches!(special, ".inf" | ".Inf" | ".INF") || matches!(scalar, ".nan" | ".NaN" | ".NAN") {
        return true;
    }
    let (mantissa, exponent) = match scalar.find(['e', 'E']) {
        Some(at) => (&scalar[..at], Some(&scalar[at + 1..])),
        None => (scalar, None),
    };
    if let Some(exponent) = exponent {
        let Some(exp_digits) = exponent.strip_prefix(['-', '+']) else {
            return false;
        };
        if exp_digits.is_empty() || !exp_digits.chars().all(|c| c.is_ascii_digit()) {
            return false;
        }
    }
    if let Some(fraction) = mantissa.strip_prefix('.') {
        return !fraction.is_empty() && digits(fraction);
    }
    let unsigned = mantissa.strip_prefix(['-', '+']).unwrap_or(mantissa);
    match unsigned.split_once('.') {
        Some((whole, fraction)) => {
            whole.starts_with(|c: char| c.is_ascii_digit()) && digits(whole) && digits(fraction)
        }
        None => false,
    }
}

/// Rewrites each `!!binary` and `!!python/...` tag that stands where a tag
/// can (after whitespace, a line start or a flow indicator, and before
/// whitespace or the end) as the local tag `!binary` or `!python/...`.
/// `None` when there is none.
fn retag_binary(text: &str) -> Option<String> {
    const BINARY: &str = "!!binary";
    const PYTHON: &str = "!!python/";
    if !text.contains(BINARY) && !text.contains(PYTHON) {
        return None;
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    let mut previous: Option<char> = None;
    let mut changed = false;
    while let Some(pos) = rest.find("!!") {
        let before = rest[..pos].chars().next_back().or(previous);
        let tail = &rest[pos + 2..];
        let name_len = tail
            .find(|c: char| c.is_whitespace() || matches!(c, ',' | '[' | ']' | '{' | '}'))
            .unwrap_or(tail.len());
        let name = &tail[..name_len];
        let after = tail[name_len..].chars().next();
        let starts_ok = before.is_none_or(|c| c.is_whitespace() || matches!(c, '[' | '{' | ','));
        let ends_ok = after.is_none_or(char::is_whitespace);
        let known = name == "binary" || (name.len() > 7 && name.starts_with("python/"));
        out.push_str(&rest[..pos]);
        if starts_ok && ends_ok && known {
            out.push('!');
            changed = true;
        } else {
            out.push_str("!!");
        }
        out.push_str(name);
        previous = name.chars().next_back().or(Some('!'));
        rest = &tail[name_len..];
    }
    out.push_str(rest);
    changed.then_some(out)
}

/// Walks the original and rewritten trees together: wraps in a `!binary` tag
/// each original string (value or mapping key) whose counterpart is tagged,
/// wraps in its `!python/...` tag each value whose counterpart has one (keys
/// keep their text: Python 2 wrote `!!python/unicode` keys), and takes the string
/// where the original has a number and the copy a (quoted) string. Where the
/// trees' shapes differ, the original is kept as it is.
fn merge_marks(original: Value, marked: &Value) -> Value {
    match (original, marked) {
        (Value::Number(_), Value::String(text)) => Value::String(text.clone()),
        (Value::String(text), Value::Tagged(tagged))
            if is_binary(tagged) && matches!(tagged.value, Value::String(_)) =>
        {
            Value::Tagged(Box::new(TaggedValue {
                tag: Tag::new(BINARY_TAG),
                value: Value::String(text),
            }))
        }
        (original, Value::Tagged(tagged))
            if !is_binary(tagged) && is_marker(tagged) && !matches!(original, Value::Tagged(_)) =>
        {
            Value::Tagged(Box::new(TaggedValue {
                tag: tagged.tag.clone(),
                value: merge_marks(original, &tagged.value),
            }))
        }
        (Value::Sequence(items), Value::Sequence(marked_items))
            if items.len() == marked_items.len() =>
        {
            Value::Sequence(
                items
                    .into_iter()
                    .zip(marked_items)
                    .map(|(item, marked_item)| merge_marks(item, marked_item))
                    .collect(),
            )
        }
        (Value::Mapping(map), Value::Mapping(marked_map)) if map.len() == marked_map.len() => {
            Value::Mapping(
                map.into_iter()
                    .zip(marked_map.iter())
                    .map(|((key, value), (marked_key, marked_value))| {
                        // Keys keep their text; only a `!!binary` key (a
                        // header name given as bytes) takes its tag.
                        let key = match (key, marked_key) {
                            (Value::String(text), Value::Tagged(tagged)) if is_binary(tagged) => {
                                Value::Tagged(Box::new(TaggedValue {
                                    tag: Tag::new(BINARY_TAG),
                                    value: Value::String(text),
                                }))
                            }
                            (key, _) => key,
                        };
                        (key, merge_marks(value, marked_value))
                    })
                    .collect(),
            )
        }
        (Value::Tagged(tagged), Value::Tagged(marked_tagged)) => {
            let TaggedValue { tag, value } = *tagged;
            Value::Tagged(Box::new(TaggedValue {
                tag,
                value: merge_marks(value, &marked_tagged.value),
            }))
        }
        (original, _) => original,
    }
}

/// The 1-based first line of each item of the top-level `interactions` list
/// (or, when `top_level_list`, of the document's own list, as VCR.py wrote
/// it before 1.0), found by scanning block-style YAML as VCR.py writes it.
/// Empty unless exactly `expected` items are found, so a line is never
/// attributed to the wrong interaction.
pub fn interaction_lines(text: &str, expected: usize, top_level_list: bool) -> Vec<usize> {
    let mut lines = text.lines().enumerate().peekable();
    if top_level_list {
        while lines
            .next_if(|(_, line)| is_document_preamble(line))
            .is_some()
        {}
    } else {
        let found_key = lines.by_ref().any(|(_, line)| {
            line.strip_prefix("interactions:")
                .is_some_and(|rest| rest.trim().is_empty() || rest.trim_start().starts_with('#'))
        });
        if !found_key {
            return Vec::new();
        }
    }
    let mut starts = Vec::new();
    let mut item_indent: Option<usize> = None;
    for (index, line) in lines {
        let trimmed = line.trim_start_matches(' ');
        if trimmed.trim().is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let indent = line.len() - trimmed.len();
        let is_item = trimmed == "-" || trimmed.starts_with("- ");
        if indent == 0 && !is_item {
            break;
        }
        if is_item && *item_indent.get_or_insert(indent) == indent {
            starts.push(index + 1);
        }
    }
    if starts.len() == expected {
        starts
    } else {
        Vec::new()
    }
}

/// A line before a document's content: blank, a comment, a directive or the
/// `---` marker.
fn is_document_preamble(line: &str) -> bool {
    let trimmed = line.trim_start_matches('\u{feff}').trim();
    trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with('%') || trimmed == "---"
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    fn yaml(text: &str) -> Value {
        yaml_serde::from_str(text).unwrap()
    }

    #[test]
    fn yaml_to_json_keeps_number_kinds() {
        let json = yaml_to_json(&yaml(
            "a: 1\nb: 1.0\nc: -3\nd: 18446744073709551615\ne: .nan\n",
        ));
        assert_eq!(json["a"], serde_json::json!(1));
        assert!(json["a"].is_i64());
        assert!(json["b"].is_f64());
        assert_eq!(json["c"], serde_json::json!(-3));
        assert_eq!(json["d"], serde_json::json!(u64::MAX));
        assert!(json["e"].is_null());
    }

    #[test]
    fn yaml_to_json_stringifies_odd_keys_and_drops_tags() {
        let json = yaml_to_json(&yaml("{1: a, true: b, ~: c, [1, 2]: d, k: !custom v}"));
        assert_eq!(
            json,
            serde_json::json!({"1": "a", "true": "b", "null": "c", "[1,2]": "d", "k": "v"})
        );
    }

    #[test]
    fn retag_only_rewrites_tags() {
        assert_eq!(
            retag_binary("a: !!binary |\n  eA==\nb: 'x!!binary y'\nc: [!!binary eA==]\n").unwrap(),
            "a: !binary |\n  eA==\nb: 'x!!binary y'\nc: [!binary eA==]\n"
        );
        assert!(retag_binary("no tags").is_none());
        assert!(retag_binary("a: '!!binaryx'").is_none());
    }

    #[test]
    fn binary_tag_survives_next_to_lookalike_strings() {
        let text = "a: !!binary aGk=\nb: ' !!binary '\n";
        let doc = apply_corrections(text, yaml(text));
        assert!(matches!(&doc["a"], Value::Tagged(t) if is_binary(t)));
        assert_eq!(doc["b"], Value::String(" !!binary ".to_owned()));
    }

    #[test]
    fn yaml11_strings_that_look_like_numbers_stay_strings() {
        let text = "a: 1e3\nb: 1.5e+3\nc: 0o17\nd: 12\ne: 0x1F\nf: -.5\ng: .5\nh: 1.0e-05\n\
                    i:\n- 2.5e10\n- 7\nj: |\n  k: 1e3\nl: '1e3'\nm: 1.\n";
        let json = yaml_to_json(&apply_corrections(text, yaml(text)));
        assert_eq!(json["a"], "1e3");
        assert!(json["b"].is_f64());
        assert_eq!(json["c"], "0o17");
        assert_eq!(json["d"], serde_json::json!(12));
        assert_eq!(json["e"], serde_json::json!(31));
        assert_eq!(json["f"], "-.5");
        assert!(json["g"].is_f64());
        assert!(json["h"].is_f64());
        assert_eq!(json["i"], serde_json::json!(["2.5e10", 7]));
        assert_eq!(json["j"], "k: 1e3\n");
        assert_eq!(json["l"], "1e3");
        assert!(json["m"].is_f64());
    }

    #[test]
    fn json_documents_keep_their_numbers() {
        let text = "{\"a\":\n 1e3,\n \"b\": [\n 2E5\n]}";
        let json = yaml_to_json(&apply_corrections(text, yaml(text)));
        assert_eq!(json, serde_json::json!({"a": 1000.0, "b": [200_000.0]}));
    }

    #[test]
    fn quoting_that_breaks_the_copy_keeps_binary_marks() {
        // The `- 1e3` line sits inside a single-quoted string; quoting it
        // ends that string early and the quoted copy does not parse.
        let text = "a: 'x\n  - 1e3\n  y'\nb: !!binary aGk=\n";
        assert!(yaml_serde::from_str::<Value>(&quote_yaml11_strings(text).unwrap()).is_err());
        let doc = apply_corrections(text, yaml(text));
        assert!(matches!(&doc["b"], Value::Tagged(t) if is_binary(t)));
        assert_eq!(doc["a"], Value::String("x - 1e3 y".to_owned()));
    }

    #[test]
    fn interaction_lines_follow_items() {
        let text = "interactions:\n- request:\n    body: |\n      - not an item\n  response: {}\n\n- request: {}\nversion: 1\n";
        assert_eq!(interaction_lines(text, 2, false), vec![2, 7]);
        assert_eq!(interaction_lines(text, 3, false), Vec::<usize>::new());
        let indented = "interactions:\n  - request: {}\n  - request: {}\n";
        assert_eq!(interaction_lines(indented, 2, false), vec![2, 3]);
        assert!(interaction_lines("interactions: []\n", 0, false).is_empty());
        let legacy = "# old\n---\n- request: {}\n  response: {}\n- request: {}\n";
        assert_eq!(interaction_lines(legacy, 2, true), vec![3, 5]);
    }
}
