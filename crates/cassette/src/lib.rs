//! Cassettes: recorded HTTP traffic, and readers for other recorders' files.
//!
//! This crate knows HTTP, not LLMs. It holds no provider knowledge; whatever
//! it needs to know about a provider arrives as data.
//!
//! # Importing recordings
//!
//! The [`import`] module reads cassettes written by other tools into
//! format-neutral [`RecordedInteraction`]s ([`model`]):
//!
//! - VCR.py YAML ([`import::parse_vcrpy`], [`import::read_vcrpy`]), in the
//!   `string`, `binary` (`!!binary` gzip), `parsed_body` and `typed_body`
//!   dialects;
//! - vcr-cassette JSON, as written by Ruby VCR and `rvcr`
//!   ([`import::parse_vcr_json`], [`import::read_vcr_json`]);
//! - either of them, told apart by content ([`import::read_any`],
//!   [`import::parse_any`]).
//!
//! Bodies come out decoded: base64 and `!!binary` are undone, gzip and
//! deflate byte bodies are decompressed, and JSON stored as a YAML structure
//! becomes [`Body::Json`]. A decoded body that is UTF-8 is [`Body::Text`],
//! kept byte for byte; anything else is [`Body::Bytes`]. Headers are kept as
//! recorded; `decoded_headers()` on a request or response drops
//! `Content-Encoding` and `Content-Length` when the importer decompressed the
//! body.
//!
//! ```
//! use llmvcr_cassette::{Body, parse_vcrpy};
//!
//! let yaml = r#"
//! interactions:
//! - request:
//!     method: POST
//!     uri: https://api.example.com/v1/echo
//!     headers: {Content-Type: [application/json]}
//!     body: '{"q": 1}'
//!   response:
//!     status: {code: 200, message: OK}
//!     headers: {content-type: [application/json]}
//!     body: {string: '{"a": 2}'}
//! version: 1
//! "#;
//! let interactions = parse_vcrpy(yaml, "echo.yaml")?;
//! assert_eq!(interactions[0].request.headers.get("content-type"), Some("application/json"));
//! assert_eq!(interactions[0].response.status, 200);
//! assert_eq!(interactions[0].response.body, Body::Text(r#"{"a": 2}"#.to_owned()));
//! # Ok::<(), llmvcr_cassette::ImportError>(())
//! ```
//!
//! Malformed input never panics: it is an [`ImportError`] naming the file,
//! the interaction index, the field and, where known, the line and column.

pub mod import;
pub mod model;

pub use import::{
    ImportError, SourceLocation, Syntax, parse_any, parse_vcr_json, parse_vcrpy, read_any,
    read_vcr_json, read_vcrpy,
};
pub use model::{
    Body, ContentCoding, Headers, RecordedInteraction, RecordedRequest, RecordedResponse,
};
