//! Reading and writing format v1 files.
//!
//! [`parse`] and [`load`] check the version before anything else, then the
//! schema, and report errors with the file, line and column. [`to_yaml`]
//! writes a stable, readable document, and [`save`] scans it for secrets and
//! writes it atomically. [`load_any`] and [`read_recorded`] read every format
//! llmvcr knows (v1, VCR.py YAML, vcr-cassette JSON).

use std::io::Write as _;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use base64::Engine as _;

use crate::convert::{from_recorded, to_recorded};
use crate::error::{CassetteError, Result};
use crate::format::{Body, Cassette, FORMAT_VERSION, Frame, Interaction, StreamFormat};
use crate::import::parse_any;
use crate::model::RecordedInteraction;
use crate::secrets::Scanner;

/// The name used in errors for a cassette that has no file.
const IN_MEMORY: &str = "(cassette)";

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
    // Cassettes written by llmvcr take the fast reader. Anything it does not
    // handle goes to the general parser: one typed parse, and only when that
    // fails an untyped one, to tell bad YAML and a wrong version from a
    // schema error.
    let fast = crate::lazy::read_fast(text);
    let cassette: Cassette = match fast.map_or_else(|| yaml_serde::from_str(text), Ok) {
        Ok(cassette) => cassette,
        Err(schema_err) => {
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
            return Err(CassetteError::Schema {
                file: source.to_owned(),
                line: location.as_ref().map(yaml_serde::Location::line),
                column: location.as_ref().map(yaml_serde::Location::column),
                message: strip_position(&schema_err.to_string()),
            });
        }
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

/// Writes a cassette as format v1 YAML.
///
/// The output is stable: keys come in a fixed order (JSON objects keep
/// theirs), each interaction is one item of a block list, and nothing is
/// written that changes between runs, so re-recording one interaction
/// changes only that interaction's lines. JSON bodies and frames are YAML
/// structures; strings that YAML would read as something else are quoted.
/// [`parse`] reads the output back equal.
///
/// # Errors
///
/// [`CassetteError::Schema`] if the YAML emitter fails, which a well-formed
/// [`Cassette`] does not make it do.
pub fn to_yaml(cassette: &Cassette) -> Result<String> {
    yaml_serde::to_string(cassette).map_err(|err| CassetteError::Schema {
        file: IN_MEMORY.to_owned(),
        line: None,
        column: None,
        message: format!("cannot write YAML: {err}"),
    })
}

/// Scans a cassette for secrets, then writes it to `path` atomically.
///
/// Nothing is written when the [`Scanner`] finds anything. Otherwise the
/// parent folders are created, the YAML goes to a uniquely named temporary
/// file in the same folder, is flushed to disk, and is renamed over `path`.
/// A reader never sees a half-written file, an interrupted write leaves at
/// most a stray `.tmp` file, and tests that record into one folder in
/// parallel do not interfere.
///
/// # Errors
///
/// [`CassetteError::Secret`] with every finding, or [`CassetteError::Io`].
pub fn save(path: &Path, cassette: &Cassette, scanner: &Scanner) -> Result<()> {
    let findings = scanner.scan_cassette(cassette);
    if !findings.is_empty() {
        return Err(CassetteError::Secret {
            file: path.display().to_string(),
            findings,
        });
    }
    let yaml = to_yaml(cassette)?;
    write_atomic(path, yaml.as_bytes())
}

/// Writes `contents` to `path` atomically: parent folders are created, then
/// a uniquely named temporary file in the same folder is written, synced and
/// renamed over `path`.
///
/// # Errors
///
/// [`CassetteError::Io`] naming `path`.
pub fn write_atomic(path: &Path, contents: &[u8]) -> Result<()> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let file = path.display().to_string();
    let io = |error: std::io::Error| CassetteError::Io {
        file: file.clone(),
        error,
    };
    let name = path.file_name().ok_or_else(|| {
        io(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "the path has no file name",
        ))
    })?;
    let dir = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    std::fs::create_dir_all(&dir).map_err(io)?;
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let unique = format!(
        ".{}.{}-{}-{nanos}.tmp",
        name.to_string_lossy(),
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    );
    let temp = dir.join(unique);
    let written = (|| {
        let mut out = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temp)?;
        out.write_all(contents)?;
        out.sync_all()?;
        drop(out);
        std::fs::rename(&temp, path)
    })();
    if let Err(error) = written {
        let _ = std::fs::remove_file(&temp);
        return Err(io(error));
    }
    // Make the rename itself durable where the platform allows it.
    #[cfg(unix)]
    if let Ok(handle) = std::fs::File::open(&dir) {
        let _ = handle.sync_all();
    }
    Ok(())
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
/// [`from_recorded`](crate::from_recorded). Nothing is redacted.
///
/// # Errors
///
/// Every error of [`parse`] for v1 text, and [`CassetteError::Import`] for
/// the others.
pub fn parse_any_cassette(text: &str, source: &str) -> Result<Cassette> {
    if is_v1(text) {
        return parse(text, source);
    }
    let interactions = parse_any(text, source)?;
    Ok(Cassette {
        llmvcr: FORMAT_VERSION,
        interactions: interactions.iter().map(from_recorded).collect(),
    })
}

/// Reads a cassette file in any format llmvcr reads; see
/// [`parse_any_cassette`].
///
/// # Errors
///
/// [`CassetteError::Io`], and every error of [`parse_any_cassette`].
pub fn load_any(path: &Path) -> Result<Cassette> {
    let (text, source) = read_text(path)?;
    parse_any_cassette(&text, &source)
}

/// Reads a cassette file in any format llmvcr reads as
/// [`RecordedInteraction`]s: VCR.py and vcr-cassette files exactly as
/// [`read_any`](crate::read_any) reads them, and format v1 through
/// [`to_recorded`](crate::to_recorded).
///
/// # Errors
///
/// [`CassetteError::Io`], every error of [`parse`] for v1 files, and
/// [`CassetteError::Import`] for the others.
pub fn read_recorded(path: &Path) -> Result<Vec<RecordedInteraction>> {
    let (text, source) = read_text(path)?;
    if is_v1(&text) {
        let cassette = parse(&text, &source)?;
        return Ok(cassette.interactions.iter().map(to_recorded).collect());
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
    match read_utf8(path) {
        Ok(text) => Ok(text),
        Err(error) => Err(CassetteError::Io {
            file: source.to_owned(),
            error,
        }),
    }
}

/// Reads a file that must be UTF-8; invalid UTF-8 is an `InvalidData` error
/// that says where the first bad byte is.
pub(crate) fn read_utf8(path: &Path) -> std::io::Result<String> {
    String::from_utf8(std::fs::read(path)?).map_err(|err| {
        let offset = err.utf8_error().valid_up_to();
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("the file is not valid UTF-8 (first bad byte at offset {offset})"),
        )
    })
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
            let lines = interaction_lines(text, cassette.interactions.len());
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

fn validate_body(body: &Body) -> std::result::Result<(), String> {
    match body {
        Body::Base64(encoded) => base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .map(|_| ())
            .map_err(|err| format!("invalid base64: {err}")),
        Body::Json(_) | Body::Text(_) => Ok(()),
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

/// The 1-based first line of each item of the top-level `interactions`
/// list, for block-style YAML as [`to_yaml`] writes it. Empty unless exactly
/// `expected` items are found.
fn interaction_lines(text: &str, expected: usize) -> Vec<usize> {
    let mut lines = text.lines().enumerate();
    let found = lines.by_ref().any(|(_, line)| {
        line.strip_prefix("interactions:")
            .is_some_and(|rest| rest.trim().is_empty() || rest.trim_start().starts_with('#'))
    });
    if !found {
        return Vec::new();
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
