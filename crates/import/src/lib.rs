//! Readers for cassettes written by other recorders.
//!
//! Two formats are read, both into [`RecordedInteraction`]s:
//!
//! - **VCR.py YAML** ([`parse_vcrpy`], [`read_vcrpy`]): a mapping with an
//!   `interactions` list (or, before VCR.py 1.0, the list alone), in the
//!   `string`, `binary`, `parsed_body` and `typed_body` dialects and in the
//!   forms of each of VCR.py's recorders (requests/urllib3, httpx's
//!   `status_code`/`content`, aiohttp, tornado).
//! - **vcr-cassette JSON** ([`parse_vcr_json`]): Ruby VCR's JSON serialisation,
//!   also written by the Rust `rvcr` crate: an object with `http_interactions`.
//!
//! [`read_any`] and [`parse_any`] tell the two apart by content.
//!
//! Every reader removes the recorder's storage encodings (base64, `!!binary`,
//! YAML mappings holding JSON) and the HTTP content coding (gzip, deflate) of
//! byte bodies, so bodies come out as the application saw them. Headers stay
//! as recorded; see [`crate::recorded::RecordedResponse::decoded_headers`].
//!
//! Many recorders keep `Content-Encoding: gzip` (or `deflate`) while storing
//! the body they already decoded. A body that is not in the declared coding
//! (text or JSON, bytes without the gzip magic bytes, or for deflate bytes
//! that do not inflate) is kept as stored and the coding is reported as
//! removed in `body_decoded_from`, so that `decoded_headers` drops the header
//! and a replay does not claim a compression the body does not have. Bytes
//! that start like the declared coding and do not decode are an error.
//!
//! Errors are [`ImportError`]s that name the file and, where they can, the
//! interaction, the field and the line. No input makes a reader panic.
//!
//! This crate knows other recorders' file formats and nothing else: no HTTP
//! stack, no cassette format of llmvcr's own. `llmvcr-cassette` converts what
//! it reads into format v1 and re-exports it as `llmvcr_cassette::import`.
#![warn(missing_docs, unreachable_pub)]

use std::fmt;
use std::path::Path;

use crate::recorded::ContentCoding;

mod decode;
pub mod recorded;
mod vcr_json;
mod vcrpy;

pub use recorded::{Headers, RecordedBody, RecordedInteraction, RecordedRequest, RecordedResponse};

pub use vcr_json::parse_vcr_json;
pub use vcrpy::{interaction_lines, parse_vcrpy};

/// The result type of the importers.
pub type Result<T, E = ImportError> = std::result::Result<T, E>;

/// Where in an input an [`ImportError`] was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceLocation {
    /// The name of the input, as passed to the reader (usually its path).
    pub file: String,
    /// The 0-based index of the interaction, when the error is inside one.
    pub interaction: Option<usize>,
    /// The 1-based line: of a syntax error, or of the first line of the
    /// interaction that holds the error.
    pub line: Option<usize>,
    /// The 1-based column of a syntax error.
    pub column: Option<usize>,
}

impl fmt::Display for SourceLocation {
    /// `file`, `file:line` or `file:line:column`, as compilers print them.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(column) = self.column {
                write!(f, ":{column}")?;
            }
        }
        Ok(())
    }
}

/// The text syntax that failed to parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Syntax {
    /// YAML (VCR.py cassettes).
    Yaml,
    /// JSON (vcr-cassette cassettes).
    Json,
}

impl fmt::Display for Syntax {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Syntax::Yaml => "YAML",
            Syntax::Json => "JSON",
        })
    }
}

/// Why a cassette could not be imported.
///
/// Every variant names the input. Field paths start at the interaction list,
/// for example `interactions[3].response.status`, so a message reads
/// `cassette.yaml:120: interactions[3].response.status: ...`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ImportError {
    /// The file could not be read, or is not UTF-8.
    #[error("{file}: cannot read cassette: {error}")]
    Io {
        /// The path of the file.
        file: String,
        /// The underlying error.
        #[source]
        error: std::io::Error,
    },
    /// The text is not valid YAML or JSON.
    #[error("{at}: invalid {syntax}: {message}")]
    Syntax {
        /// Where the parser stopped.
        at: SourceLocation,
        /// Which syntax was expected.
        syntax: Syntax,
        /// The parser's message.
        message: String,
    },
    /// The document parsed, but is not a cassette format this crate reads.
    #[error("{file}: not a recognised cassette: {detail}")]
    UnknownFormat {
        /// The name of the input.
        file: String,
        /// What was found instead.
        detail: String,
    },
    /// A required field is absent (or null).
    #[error("{at}: {field}: required field is missing")]
    Missing {
        /// The file and interaction.
        at: SourceLocation,
        /// The path of the missing field.
        field: String,
    },
    /// A field has the wrong type or an impossible value.
    #[error("{at}: {field}: {message}")]
    Invalid {
        /// The file and interaction.
        at: SourceLocation,
        /// The path of the field.
        field: String,
        /// What was expected and what was found.
        message: String,
    },
    /// A body that is stored as base64 does not decode.
    #[error("{at}: {field}: invalid base64: {error}")]
    Base64 {
        /// The file and interaction.
        at: SourceLocation,
        /// The path of the body field.
        field: String,
        /// The decoder's error.
        #[source]
        error: base64::DecodeError,
    },
    /// A body that is declared or detected as compressed does not decompress.
    #[error("{at}: {field}: cannot decode {coding} body: {error}")]
    Decompress {
        /// The file and interaction.
        at: SourceLocation,
        /// The path of the body field.
        field: String,
        /// The content coding that failed.
        coding: ContentCoding,
        /// The decompressor's error.
        #[source]
        error: std::io::Error,
    },
}

impl ImportError {
    /// The name of the input the error is about.
    #[must_use]
    pub fn file(&self) -> &str {
        match self {
            ImportError::Io { file, .. } | ImportError::UnknownFormat { file, .. } => file,
            ImportError::Syntax { at, .. }
            | ImportError::Missing { at, .. }
            | ImportError::Invalid { at, .. }
            | ImportError::Base64 { at, .. }
            | ImportError::Decompress { at, .. } => &at.file,
        }
    }

    /// The location of the error, when it has more than a file name.
    #[must_use]
    pub fn location(&self) -> Option<&SourceLocation> {
        match self {
            ImportError::Io { .. } | ImportError::UnknownFormat { .. } => None,
            ImportError::Syntax { at, .. }
            | ImportError::Missing { at, .. }
            | ImportError::Invalid { at, .. }
            | ImportError::Base64 { at, .. }
            | ImportError::Decompress { at, .. } => Some(at),
        }
    }

    /// The 0-based index of the interaction the error is in, if any.
    #[must_use]
    pub fn interaction(&self) -> Option<usize> {
        self.location().and_then(|at| at.interaction)
    }

    /// The 1-based line of the error, if known.
    #[must_use]
    pub fn line(&self) -> Option<usize> {
        self.location().and_then(|at| at.line)
    }

    /// The 1-based column of the error, if known.
    #[must_use]
    pub fn column(&self) -> Option<usize> {
        self.location().and_then(|at| at.column)
    }
}

/// Reads a VCR.py YAML cassette from a file.
///
/// # Errors
///
/// [`ImportError::Io`] when the file cannot be read or is not UTF-8, and every
/// error of [`parse_vcrpy`], naming the file by its path.
pub fn read_vcrpy(path: &Path) -> Result<Vec<RecordedInteraction>> {
    let (text, source) = read_text(path)?;
    parse_vcrpy(&text, &source)
}

/// Reads a vcr-cassette JSON file.
///
/// # Errors
///
/// [`ImportError::Io`] when the file cannot be read or is not UTF-8, and every
/// error of [`parse_vcr_json`], naming the file by its path.
pub fn read_vcr_json(path: &Path) -> Result<Vec<RecordedInteraction>> {
    let (text, source) = read_text(path)?;
    parse_vcr_json(&text, &source)
}

/// Reads a cassette file in any supported format; see [`parse_any`].
///
/// # Errors
///
/// [`ImportError::Io`] when the file cannot be read or is not UTF-8, and every
/// error of [`parse_any`], naming the file by its path.
pub fn read_any(path: &Path) -> Result<Vec<RecordedInteraction>> {
    let (text, source) = read_text(path)?;
    parse_any(&text, &source)
}

/// Parses a cassette in any supported format, telling them apart by content.
///
/// A JSON object with `http_interactions` is read as vcr-cassette JSON. Any
/// other text is parsed as YAML (which includes JSON, so VCR.py cassettes
/// saved with its JSON serialiser work too); a mapping with `interactions`,
/// or a list of mappings with a `request` (VCR.py before 1.0), is read as
/// VCR.py.
///
/// # Errors
///
/// [`ImportError::Syntax`] when the text is neither JSON nor YAML,
/// [`ImportError::UnknownFormat`] when it has neither list, and every error of
/// the chosen reader.
pub fn parse_any(text: &str, source: &str) -> Result<Vec<RecordedInteraction>> {
    let body = strip_bom(text);
    if body.trim_start().starts_with('{')
        && let Ok(serde_json::Value::Object(map)) = serde_json::from_str(body)
        && map.contains_key("http_interactions")
    {
        return vcr_json::from_value(serde_json::Value::Object(map), source);
    }
    let doc = vcrpy::parse_yaml(text, source)?;
    let top_keys = match &doc {
        yaml_serde::Value::Mapping(map) => {
            if map.contains_key("interactions") {
                return vcrpy::from_document(text, doc, source);
            }
            let keys: Vec<String> = map
                .keys()
                .take(8)
                .map(|key| match key {
                    yaml_serde::Value::String(s) => format!("`{s}`"),
                    _ => "a non-string key".to_owned(),
                })
                .collect();
            if map.contains_key("http_interactions") {
                return Err(ImportError::UnknownFormat {
                    file: source.to_owned(),
                    detail: "a YAML file with `http_interactions` is a Ruby VCR cassette; \
                             only its JSON form (vcr-cassette, rvcr) is read"
                        .to_owned(),
                });
            }
            if keys.is_empty() {
                "an empty mapping".to_owned()
            } else {
                format!("a mapping with keys {}", keys.join(", "))
            }
        }
        legacy if vcrpy::is_legacy_list(legacy) => {
            return vcrpy::from_document(text, doc, source);
        }
        other => vcrpy::describe(other),
    };
    Err(ImportError::UnknownFormat {
        file: source.to_owned(),
        detail: format!(
            "expected a VCR.py cassette (a YAML mapping with `interactions`) or a \
             vcr-cassette JSON object (with `http_interactions`), found {top_keys}"
        ),
    })
}

/// Reads a file as UTF-8 and returns it with the name used in errors.
fn read_text(path: &Path) -> Result<(String, String)> {
    let source = path.display().to_string();
    match read_utf8(path) {
        Ok(text) => Ok((text, source)),
        Err(error) => Err(ImportError::Io {
            file: source,
            error,
        }),
    }
}

/// Reads a file that must be UTF-8; invalid UTF-8 is an `InvalidData` error
/// that says where the first bad byte is.
pub fn read_utf8(path: &Path) -> std::io::Result<String> {
    let bytes = std::fs::read(path)?;
    utf8(&bytes)?;
    String::from_utf8(bytes)
        .map_err(|err| std::io::Error::new(std::io::ErrorKind::InvalidData, err))
}

/// The bytes as text; invalid UTF-8 is an `InvalidData` error that says
/// where the first bad byte is.
pub fn utf8(bytes: &[u8]) -> std::io::Result<&str> {
    std::str::from_utf8(bytes).map_err(|err| {
        let offset = err.valid_up_to();
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("the file is not valid UTF-8 (first bad byte at offset {offset})"),
        )
    })
}

fn strip_bom(text: &str) -> &str {
    text.strip_prefix('\u{feff}').unwrap_or(text)
}

/// Builds errors for one place in an input: the file, and optionally an
/// interaction and its first line.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Site<'a> {
    file: &'a str,
    list_key: &'static str,
    interaction: Option<usize>,
    line: Option<usize>,
}

impl<'a> Site<'a> {
    /// A site for the whole document.
    pub(crate) fn document(file: &'a str, list_key: &'static str) -> Self {
        Site {
            file,
            list_key,
            interaction: None,
            line: None,
        }
    }

    /// A site for one interaction of the list.
    pub(crate) fn interaction(self, index: usize, line: Option<usize>) -> Self {
        Site {
            interaction: Some(index),
            line,
            ..self
        }
    }

    fn at(&self) -> SourceLocation {
        SourceLocation {
            file: self.file.to_owned(),
            interaction: self.interaction,
            line: self.line,
            column: None,
        }
    }

    /// The full path of `field` (relative to the interaction, if any).
    pub(crate) fn path(&self, field: &str) -> String {
        match self.interaction {
            Some(index) if field.is_empty() => format!("{}[{index}]", self.list_key),
            Some(index) => format!("{}[{index}].{field}", self.list_key),
            None => field.to_owned(),
        }
    }

    pub(crate) fn missing(&self, field: &str) -> ImportError {
        ImportError::Missing {
            at: self.at(),
            field: self.path(field),
        }
    }

    pub(crate) fn invalid(&self, field: &str, message: impl Into<String>) -> ImportError {
        ImportError::Invalid {
            at: self.at(),
            field: self.path(field),
            message: message.into(),
        }
    }

    pub(crate) fn base64(&self, field: &str, error: base64::DecodeError) -> ImportError {
        ImportError::Base64 {
            at: self.at(),
            field: self.path(field),
            error,
        }
    }

    pub(crate) fn decompress(
        &self,
        field: &str,
        coding: ContentCoding,
        error: std::io::Error,
    ) -> ImportError {
        ImportError::Decompress {
            at: self.at(),
            field: self.path(field),
            coding,
            error,
        }
    }
}
