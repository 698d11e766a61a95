//! Reading cassettes: format v1 and every other format llmvcr reads.
//!
//! [`parse`] and [`load`] check the version before anything else, then the
//! schema, and report errors with the file, line and column. [`load_any`]
//! and [`read_recorded`] read every format llmvcr knows (v1, VCR.py YAML,
//! vcr-cassette JSON). Writing is in `write.rs`.
//!
//! A v1 file goes through one YAML parser (`yaml_serde`), one interaction at
//! a time: the top-level list is split at its items (lines that start with
//! `-` in the first column), and each item is parsed on its own, so the
//! parser never holds the events of more than one interaction. JSON payloads
//! go from YAML straight to compact JSON text ([`Json`](crate::Json)).
//! Anything the split does not fit (a flow-style list, anchors shared across
//! items, a syntax error) is parsed as one document, whose reading, and
//! errors, are the reference.

use std::path::Path;

use base64::Engine as _;

use serde::Deserialize;

use crate::convert::{StreamUrlRule, from_recorded, to_recorded};
use crate::error::{CassetteError, Result};
use crate::import::parse_any;
use crate::recorded::RecordedInteraction;
use crate::stored::{Cassette, FORMAT_VERSION, Frame, Interaction, StoredBody, StreamFormat};

/// Parses the text of a format v1 cassette. `source` names it in errors.
///
/// # Errors
///
/// - [`CassetteError::Syntax`] when the text is not YAML;
/// - [`CassetteError::Version`] when it has no `llmvcr:` key (a VCR.py
///   cassette, say) or a version other than 1;
/// - [`CassetteError::Schema`] when a field is missing, unknown, or has a bad
///   value; with the line and column where the parser found it, or the line
///   of the interaction that holds it.
pub fn parse(text: &str, source: &str) -> Result<Cassette> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let cassette = match parse_by_item(text) {
        Some(cassette) => cassette,
        None => parse_whole(text, source)?,
    };
    if cassette.llmvcr != FORMAT_VERSION {
        return Err(CassetteError::Version {
            file: source.to_owned(),
            found: format!(
                "found `llmvcr: {}`, and this llmvcr reads format version {FORMAT_VERSION}",
                cassette.llmvcr
            ),
        });
    }
    validate(&cassette, text, source)?;
    Ok(cassette)
}

/// Reads a format v1 cassette file; see [`parse`].
///
/// # Errors
///
/// [`CassetteError::Io`] when the file cannot be read or is not UTF-8, and
/// every error of [`parse`], naming the file by its path.
pub fn load(path: &Path) -> Result<Cassette> {
    let (text, source) = read_text(path)?;
    parse(&text, &source)
}

/// The top of a cassette, around its interactions.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Head {
    llmvcr: u32,
    #[serde(default)]
    interactions: Option<Vec<Interaction>>,
}

/// The cassette read one interaction at a time, or `None` when the text is
/// not laid out for it or anything in it fails to parse.
fn parse_by_item(text: &str) -> Option<Cassette> {
    let items = split_items(text)?;
    let first = items.first()?.start;
    let last = items.last()?.end;
    let mut head_text = String::with_capacity(first + text.len() - last);
    head_text.push_str(&text[..first]);
    head_text.push_str(&text[last..]);
    let head: Head = yaml_serde::from_str(&head_text).ok()?;
    if head.interactions.is_some() {
        return None;
    }
    let mut interactions = Vec::with_capacity(items.len());
    for item in items {
        let mut one: Vec<Interaction> = yaml_serde::from_str(text.get(item)?).ok()?;
        if one.len() != 1 {
            return None;
        }
        interactions.append(&mut one);
    }
    Some(Cassette {
        llmvcr: head.llmvcr,
        interactions,
    })
}

/// The byte ranges of the items of the top-level `interactions:` block
/// list, as written with its items in the first column; `None` when there
/// is no such list.
fn split_items(text: &str) -> Option<Vec<std::ops::Range<usize>>> {
    let mut items: Vec<std::ops::Range<usize>> = Vec::new();
    let mut in_list = false;
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let start = offset;
        offset += line.len();
        let first = line.as_bytes().first().copied();
        if !in_list {
            in_list = line
                .strip_prefix("interactions:")
                .is_some_and(|rest| rest.trim().is_empty());
            continue;
        }
        match first {
            Some(b'-') if line.starts_with("- ") || line.trim_end() == "-" => {
                if let Some(open) = items.last_mut() {
                    open.end = start;
                }
                items.push(start..offset);
            }
            // Blank lines, comments and indented lines belong to the item.
            Some(b' ' | b'#' | b'\n' | b'\r') | None => {
                if let Some(open) = items.last_mut() {
                    open.end = offset;
                }
            }
            // Another top-level key ends the list.
            Some(_) => break,
        }
    }
    (!items.is_empty()).then_some(items)
}

/// Parses the text as one document, telling bad YAML and a wrong version
/// from a schema error.
fn parse_whole(text: &str, source: &str) -> Result<Cassette> {
    let schema_err = match yaml_serde::from_str::<Cassette>(text) {
        Ok(cassette) => return Ok(cassette),
        Err(err) => err,
    };
    let doc: yaml_serde::Value = yaml_serde::from_str(text).map_err(|err| {
        let location = err.location();
        CassetteError::Syntax {
            file: source.to_owned(),
            line: location.as_ref().map(yaml_serde::Location::line),
            column: location.as_ref().map(yaml_serde::Location::column),
            message: strip_position(&err.to_string()),
        }
    })?;
    check_version(&doc, source)?;
    let location = schema_err.location();
    Err(CassetteError::Schema {
        file: source.to_owned(),
        line: location.as_ref().map(yaml_serde::Location::line),
        column: location.as_ref().map(yaml_serde::Location::column),
        message: strip_position(&schema_err.to_string()),
    })
}

/// Whether the text is a format v1 cassette rather than another recorder's:
/// a top-level `llmvcr:` key.
#[must_use]
pub fn is_v1(text: &str) -> bool {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.lines().any(|line| line.starts_with("llmvcr:")) {
        return true;
    }
    text.trim_start().starts_with('{')
        && matches!(
            yaml_serde::from_str::<yaml_serde::Value>(text),
            Ok(yaml_serde::Value::Mapping(map)) if map.contains_key("llmvcr")
        )
}

/// Parses a cassette in any format llmvcr reads: format v1 as it is, VCR.py
/// YAML and vcr-cassette JSON converted with
/// [`from_recorded`], which frames streamed
/// JSON arrays at the URLs that `stream_urls` names. Nothing is redacted.
///
/// # Errors
///
/// Every error of [`parse`] for v1 text, and [`CassetteError::Import`] for
/// the others.
pub fn parse_any_cassette(
    text: &str,
    source: &str,
    stream_urls: &[StreamUrlRule],
) -> Result<Cassette> {
    if is_v1(text) {
        return parse(text, source);
    }
    let interactions = parse_any(text, source)?;
    Ok(Cassette {
        llmvcr: FORMAT_VERSION,
        interactions: interactions
            .iter()
            .map(|i| from_recorded(i, stream_urls))
            .collect(),
    })
}

/// Reads a cassette file in any format llmvcr reads; see
/// [`parse_any_cassette`].
///
/// # Errors
///
/// [`CassetteError::Io`], and every error of [`parse_any_cassette`].
pub fn load_any(path: &Path, stream_urls: &[StreamUrlRule]) -> Result<Cassette> {
    let (text, source) = read_text(path)?;
    parse_any_cassette(&text, &source, stream_urls)
}

/// Reads a cassette file in any format llmvcr reads as
/// [`RecordedInteraction`]s: VCR.py and vcr-cassette files exactly as
/// [`read_any`](crate::import::read_any) reads them, and format v1 through
/// [`to_recorded`].
///
/// # Errors
///
/// [`CassetteError::Io`], every error of [`parse`] for v1 files, and
/// [`CassetteError::Import`] for the others.
pub fn read_recorded(path: &Path) -> Result<Vec<RecordedInteraction>> {
    let (text, source) = read_text(path)?;
    if is_v1(&text) {
        let cassette = parse(&text, &source)?;
        drop(text);
        // Each interaction is freed once converted, so the cassette and its
        // converted copy are not both held whole.
        return Ok(cassette
            .interactions
            .into_iter()
            .map(|interaction| to_recorded(&interaction))
            .collect());
    }
    Ok(parse_any(&text, &source)?)
}

pub(crate) fn read_text(path: &Path) -> Result<(String, String)> {
    let source = display_name(path);
    read_named(path, &source).map(|text| (text, source))
}

/// How `path` is named in errors.
pub(crate) fn display_name(path: &Path) -> String {
    match path.to_str() {
        Some(name) => name.to_owned(),
        None => path.display().to_string(),
    }
}

/// Reads the text of a cassette that errors call `source`.
pub(crate) fn read_named(path: &Path, source: &str) -> Result<String> {
    match crate::import::read_utf8(path) {
        Ok(text) => Ok(text),
        Err(error) => Err(CassetteError::Io {
            file: source.to_owned(),
            error,
        }),
    }
}

/// Removes the ` at line L column C` that yaml_serde puts in messages; the
/// position is reported separately.
fn strip_position(message: &str) -> String {
    const AT: &str = " at line ";
    let mut out = message.to_owned();
    let mut from = 0;
    while let Some(found) = out[from..].find(AT) {
        let start = from + found;
        let rest = &out[start + AT.len()..];
        let line_digits = rest.chars().take_while(char::is_ascii_digit).count();
        let after_line = &rest[line_digits..];
        let column_digits = after_line
            .strip_prefix(" column ")
            .map_or(0, |c| c.chars().take_while(char::is_ascii_digit).count());
        if line_digits > 0 && column_digits > 0 {
            let end = start + AT.len() + line_digits + " column ".len() + column_digits;
            out.replace_range(start..end, "");
        } else {
            from = start + AT.len();
        }
    }
    out
}

fn check_version(doc: &yaml_serde::Value, source: &str) -> Result<()> {
    let version_error = |found: String| CassetteError::Version {
        file: source.to_owned(),
        found,
    };
    let map = match doc {
        yaml_serde::Value::Mapping(map) => map,
        yaml_serde::Value::Null => {
            return Err(version_error("the document is empty".to_owned()));
        }
        yaml_serde::Value::Sequence(_) => {
            return Err(version_error(
                "found a list where a mapping with `llmvcr: 1` was expected".to_owned(),
            ));
        }
        _ => {
            return Err(version_error(
                "found a scalar where a mapping with `llmvcr: 1` was expected".to_owned(),
            ));
        }
    };
    match map.get("llmvcr") {
        Some(yaml_serde::Value::Number(n)) if n.as_u64() == Some(u64::from(FORMAT_VERSION)) => {
            Ok(())
        }
        Some(value) => {
            let shown = yaml_serde::to_string(value)
                .map(|s| s.trim_end().to_owned())
                .unwrap_or_else(|_| "?".to_owned());
            Err(version_error(format!(
                "found `llmvcr: {shown}`, and this llmvcr reads format version {FORMAT_VERSION}"
            )))
        }
        None if map.contains_key("interactions") => Err(version_error(
            "there is no `llmvcr:` version key; this looks like a VCR.py cassette \
             (convert it with `llmvcr cassette import`)"
                .to_owned(),
        )),
        None if map.contains_key("http_interactions") => Err(version_error(
            "there is no `llmvcr:` version key; this looks like a vcr-cassette file \
             (convert it with `llmvcr cassette import`)"
                .to_owned(),
        )),
        None => Err(version_error(
            "there is no `llmvcr:` version key at the top level".to_owned(),
        )),
    }
}

/// Checks what the types alone do not: statuses, methods, base64, and the
/// body/stream and frame rules.
pub(crate) fn validate(cassette: &Cassette, text: &str, source: &str) -> Result<()> {
    for (index, interaction) in cassette.interactions.iter().enumerate() {
        if let Err(message) = validate_interaction(interaction) {
            let lines = llmvcr_import::interaction_lines(text, cassette.interactions.len(), false);
            return Err(CassetteError::Schema {
                file: source.to_owned(),
                line: lines.get(index).copied(),
                column: None,
                message: format!("interactions[{index}].{message}"),
            });
        }
    }
    Ok(())
}

fn validate_interaction(interaction: &Interaction) -> std::result::Result<(), String> {
    let request = &interaction.request;
    if request.method.is_empty() || request.method.chars().any(char::is_whitespace) {
        return Err(format!(
            "request.method: expected an HTTP method, found {:?}",
            request.method
        ));
    }
    if request.url.is_empty() {
        return Err("request.url: the URL is empty".to_owned());
    }
    for (name, _) in interaction
        .request
        .headers
        .0
        .iter()
        .chain(&interaction.response.headers.0)
    {
        if name.is_empty() {
            return Err("headers: a header name is empty".to_owned());
        }
    }
    if let Some(body) = &request.body {
        validate_body(body).map_err(|m| format!("request.body: {m}"))?;
    }
    let response = &interaction.response;
    if !(100..=999).contains(&response.status) {
        return Err(format!(
            "response.status: expected an HTTP status from 100 to 999, found {}",
            response.status
        ));
    }
    if response.body.is_some() && response.stream.is_some() {
        return Err(
            "response: has both `body` and `stream`; a response is one or the other".to_owned(),
        );
    }
    if let Some(body) = &response.body {
        validate_body(body).map_err(|m| format!("response.body: {m}"))?;
    }
    if let Some(stream) = &response.stream {
        for (n, frame) in stream.frames.iter().enumerate() {
            validate_frame(stream.format, frame)
                .map_err(|m| format!("response.stream.frames[{n}]: {m}"))?;
        }
    }
    Ok(())
}

fn validate_body(body: &StoredBody) -> std::result::Result<(), String> {
    match body {
        StoredBody::Base64(encoded) => base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .map(|_| ())
            .map_err(|err| format!("invalid base64: {err}")),
        StoredBody::Json(_) | StoredBody::Text(_) => Ok(()),
    }
}

fn validate_frame(format: StreamFormat, frame: &Frame) -> std::result::Result<(), String> {
    let sse_fields = frame.event.is_some()
        || frame.id.is_some()
        || frame.retry.is_some()
        || frame.comment.is_some();
    let payloads = [
        frame.data.is_some(),
        frame.text.is_some(),
        frame.base64.is_some(),
    ]
    .iter()
    .filter(|set| **set)
    .count();
    if payloads > 1 {
        return Err("has more than one of `data`, `text` and `base64`".to_owned());
    }
    match format {
        StreamFormat::Sse if frame.base64.is_some() => {
            Err("`base64` is only allowed in `chunks` streams".to_owned())
        }
        StreamFormat::Sse => Ok(()),
        StreamFormat::Ndjson | StreamFormat::JsonArray if sse_fields => Err(format!(
            "`event`, `id`, `retry` and `comment` are only allowed in `sse` streams, not {}",
            format_name(format)
        )),
        StreamFormat::Ndjson | StreamFormat::JsonArray if frame.base64.is_some() => {
            Err("`base64` is only allowed in `chunks` streams".to_owned())
        }
        StreamFormat::Ndjson | StreamFormat::JsonArray if payloads == 0 => {
            Err("needs `data` or `text`".to_owned())
        }
        StreamFormat::Chunks if sse_fields || frame.data.is_some() => {
            Err("a `chunks` frame has only `text` or `base64`".to_owned())
        }
        StreamFormat::Ndjson | StreamFormat::JsonArray | StreamFormat::Chunks => {
            if let Some(encoded) = &frame.base64 {
                base64::engine::general_purpose::STANDARD
                    .decode(encoded)
                    .map_err(|err| format!("base64: invalid base64: {err}"))?;
            }
            Ok(())
        }
    }
}

fn format_name(format: StreamFormat) -> &'static str {
    match format {
        StreamFormat::Sse => "sse",
        StreamFormat::Ndjson => "ndjson",
        StreamFormat::JsonArray => "json_array",
        StreamFormat::Chunks => "chunks",
    }
}
