//! Cassettes: recorded HTTP traffic, stored in a documented, versioned
//! format, with secrets scrubbed, and readers and writers for other
//! recorders' files.
//!
//! This crate knows HTTP, not LLMs. It holds no provider knowledge; whatever
//! it needs to know about a provider (which headers carry keys, what keys look
//! like) arrives as data, such as [`SecretRules`].
//!
//! - [Format v1](#format-v1): the YAML schema of a cassette file.
//! - [`parse`], [`load`], [`to_yaml`], [`save`]: reading and writing it;
//!   [`save`] refuses to write secrets and writes atomically.
//! - [`Redactor`] and [`Scanner`]: credentials replaced by placeholders, and a
//!   scanner for anything key-shaped that is left.
//! - [`convert::from_recorded`], [`convert::to_recorded`], [`FrameCapture`]: conversions from
//!   imported recordings and from live streams.
//! - [`import`] and [`to_vcrpy`]: VCR.py YAML and vcr-cassette JSON in and
//!   out.
//! - [Recording and replaying](#recording-and-replaying): [`CassetteMiddleware`]
//!   for `reqwest-middleware`, with [`MatchRules`] and its [`Index`](matcher::Index).
//!
//! ```
//! use llmvcr_cassette::{Cassette, Redactor, Scanner, SecretRules, parse, to_yaml};
//!
//! let text = r#"
//! llmvcr: 1
//! interactions:
//! - request:
//!     method: POST
//!     url: https://api.example.com/v1/echo
//!     headers:
//!       authorization: Bearer <EXAMPLE_API_KEY>
//!     body:
//!       json: {q: 1}
//!   response:
//!     status: 200
//!     headers:
//!       content-type: text/event-stream
//!     stream:
//!       format: sse
//!       frames:
//!       - at_ms: 0
//!         data: {a: 2}
//!       - at_ms: 15
//!         text: '[DONE]'
//! "#;
//! let cassette: Cassette = parse(text, "echo.yaml")?;
//! let stream = cassette.interactions[0].response.stream.as_ref().unwrap();
//! assert_eq!(stream.frames[1].at_ms, 15);
//! assert_eq!(llmvcr_cassette::convert::stream_bytes(stream), b"data: {\"a\":2}\n\ndata: [DONE]\n\n");
//!
//! // Written back, it reads back equal; placeholders do not trip the scanner.
//! assert_eq!(parse(&to_yaml(&cassette)?, "echo.yaml")?, cassette);
//! let rules = SecretRules::generic();
//! let scanner = Scanner::new(&rules, &Redactor::with_values(&rules, Vec::new()));
//! assert!(scanner.scan_cassette(&cassette).is_empty());
//! # Ok::<(), llmvcr_cassette::CassetteError>(())
//! ```
//!
//! # Format v1
//!
//! A cassette is one YAML document. The top-level `llmvcr` key holds the
//! format version, and is what tells a v1 cassette from another recorder's
//! file. This describes version **1** ([`FORMAT_VERSION`]); a reader refuses
//! any other version with an error that names the file.
//!
//! ```yaml
//! llmvcr: 1                      # format version; required, first
//! interactions:                  # in recording order; may be empty or absent
//! - recorded_at: 2026-11-22T10:00:00.123Z   # optional, RFC 3339 or as imported
//!   request:
//!     method: POST               # required
//!     url: https://api.openai.com/v1/chat/completions   # required
//!     headers:                   # optional; lowercase names, in order;
//!       authorization: Bearer <OPENAI_API_KEY>          # a string, or a list
//!       content-type: application/json                  # for repeated headers
//!     body:                      # optional (absent: empty); exactly one of:
//!       json: {model: gpt-4o-mini, messages: [{role: user, content: hi}], stream: true}
//!   response:
//!     status: 200                # required, 100..=999
//!     headers:
//!       content-type: text/event-stream
//!     stream:                    # a streamed response; otherwise `body:` as above
//!       format: sse              # sse | ndjson | json_array | chunks
//!       frames:
//!       - at_ms: 0               # required: milliseconds from the start of the response
//!         data: {id: chatcmpl-1, choices: []}
//!       - at_ms: 31
//!         comment: ' OPENROUTER PROCESSING'
//!       - at_ms: 57
//!         text: '[DONE]'
//! ```
//!
//! ## Bodies
//!
//! A request or response `body` is a mapping with exactly one key:
//!
//! | key | holds | written for |
//! |---|---|---|
//! | `json` | a YAML structure | a body that is a JSON object or array |
//! | `text` | a string | other UTF-8 text |
//! | `base64` | standard base64, padded | bytes that are not UTF-8 |
//!
//! Bodies are stored decoded: a gzip or deflate response is stored as what it
//! decompresses to, and its `content-encoding` and `content-length` headers
//! are dropped. A JSON body keeps its key order and values; its original
//! whitespace is not kept, so replay sends it compactly.
//!
//! ## Streams
//!
//! A response has `body` or `stream`, never both. A stream has a `format` and
//! a list of `frames`; every frame has `at_ms`, its offset from the start of
//! the response, and the fields its format allows:
//!
//! | format | one frame is | fields |
//! |---|---|---|
//! | `sse` | one Server-Sent Event, or one comment line | `event`, `id`, `retry`, and the data as `data` (JSON object or array, as a structure) or `text`; or `comment` (without the leading colon) |
//! | `ndjson` | one line | `data` or `text` |
//! | `json_array` | one element of a streamed JSON array (Gemini without `alt=sse`) | `data` or `text` |
//! | `chunks` | one raw chunk of any other stream | `text`, or `base64` when not UTF-8 |
//!
//! Replay rebuilds the wire form from the frames ([`frame_bytes`](convert::frame_bytes)): an SSE
//! event as its field lines and a blank line, with JSON data written compactly
//! on one `data:` line; an NDJSON line and `\n`; a JSON array with `[`, `,`
//! and `]` around the elements. A stream that cannot be framed exactly is
//! stored as `chunks`, or as a plain `body` when imported, so nothing is lost.
//!
//! ## Secrets
//!
//! Credentials are never stored. Secret headers hold a placeholder in place of
//! the credential (`Bearer <REDACTED>`, or `<OPENAI_API_KEY>` when the value
//! was that environment variable's), as do credential query parameters
//! (`key=<REDACTED>`), credential JSON fields and cookie values; key-shaped
//! strings are replaced wherever they are, also percent-encoded, `\u`-escaped
//! or in base64. See [`Redactor`] and [`Scanner`].
//!
//! ## Stability and diffs
//!
//! Keys are written in the order shown above, JSON objects keep their own
//! order, and nothing that changes between runs is written outside
//! `recorded_at` and `at_ms`. Re-recording one interaction therefore changes
//! only that interaction's lines. Unknown keys are errors, so a typo is
//! caught rather than ignored.
//!
//! ## Errors
//!
//! Loading reports the file and, where known, the line and column
//! ([`CassetteError`]): bad YAML is [`CassetteError::Syntax`], a missing or
//! other version is [`CassetteError::Version`], and a missing field, unknown
//! key, bad value, or a response with both `body` and `stream` is
//! [`CassetteError::Schema`].
//!
//! # Recording and replaying
//!
//! [`CassetteMiddleware`] is a `reqwest-middleware` layer that records traffic
//! into a cassette file and replays it. Replay never touches the network: the
//! rest of the stack is not called.
//!
//! ```
//! use llmvcr_cassette::{CassetteMiddleware, MatchRules, MiddlewareError, parse};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let cassette = parse(r#"
//! llmvcr: 1
//! interactions:
//! - request:
//!     method: POST
//!     url: https://api.example.com/v1/chat?key=<EXAMPLE_API_KEY>
//!     body:
//!       json: {model: m, messages: [{role: user, content: Say hi}], user: u-1}
//!   response:
//!     status: 200
//!     headers: {content-type: application/json}
//!     body:
//!       json: {answer: hi}
//! "#, "hello.yaml")?;
//! // Credentials in the query and volatile fields do not take part in the match.
//! let rules = MatchRules::new().with_dropped_query_param("key").with_ignored_pointer("/user");
//! let middleware = CassetteMiddleware::replaying("hello.yaml", cassette, rules)?;
//! let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
//!     .with(middleware)
//!     .build();
//!
//! // Keys in any order, another credential, another end-user id: still a match.
//! let answer = client
//!     .post("https://api.example.com/v1/chat?key=AIzaLiveKey")
//!     .body(r#"{"user": "u-2", "messages": [{"content": "Say hi", "role": "user"}], "model": "m"}"#)
//!     .send()
//!     .await?;
//! assert_eq!(answer.text().await?, r#"{"answer":"hi"}"#);
//!
//! // Anything else is an error naming the nearest recording and the differences.
//! let miss = client
//!     .post("https://api.example.com/v1/chat")
//!     .body(r#"{"model": "m", "messages": [{"role": "user", "content": "Say bye"}]}"#)
//!     .send()
//!     .await
//!     .unwrap_err();
//! let reqwest_middleware::Error::Middleware(miss) = miss else { unreachable!() };
//! let text = miss.downcast_ref::<MiddlewareError>().unwrap().to_string();
//! assert!(text.contains("nearest: #0 POST https://api.example.com/v1/chat"));
//! assert!(text.contains(r#"/messages/0/content: "Say hi" -> "Say bye""#));
//! # Ok(())
//! # }
//! ```
//!
//! ## Modes
//!
//! | mode | a request that matches a recording | a request that does not |
//! |---|---|---|
//! | `replay` (default) | replayed | a [`NoMatch`] error |
//! | `record` | sent and recorded; the file holds only this run's recordings | sent and recorded |
//! | `once` | as `replay` when the file exists, else as `record` | |
//! | `new_episodes` | replayed | sent, recorded and appended |
//! | `passthrough` | sent; no cassette is read or written | sent |
//!
//! The mode is, in order: the one given to [`CassetteBuilder::mode`], then the
//! `LLMVCR_MODE` environment variable, then `replay`. An explicit `.mode()` in
//! code therefore always wins, and everything else follows the environment.
//! When `CI` is set (to anything but empty, `0` or `false`), the modes that can
//! record (`record`, `new_episodes`, and `once` without a file) are refused
//! with [`MiddlewareError::RecordingRefused`] unless
//! `LLMVCR_ALLOW_RECORD_IN_CI=1`; CI never records silently, and never falls
//! back to replay silently either. Tests can pass their own [`Env`] instead of
//! the process environment.
//!
//! ## Matching
//!
//! The match key ([`MatchRules::key`]) is the method, the normalised URL
//! (scheme and host lowercase, default port, user info and fragment dropped,
//! [`MatchRules::drop_query_params`] removed, the query sorted) and the
//! canonical body: JSON with keys sorted at every level and the fields of
//! [`MatchRules::ignore_pointers`] and of the [`BodyIgnore`] rules for the URL
//! removed, or the text or bytes of any other body. Headers are not part of
//! it. The request is redacted exactly as a recording is before it is keyed,
//! so a replaying client that sends a real key matches the placeholder on disk.
//! A custom predicate ([`MatchRules::with_custom`]) can refuse candidates.
//!
//! The cassette is indexed once ([`Index`](matcher::Index)): a hash map from key to the
//! interactions with that key, each with a cursor. A lookup canonicalises the
//! request (linear in its size) and does one hash lookup; it never scans the
//! cassette. A request sent byte for byte as recorded (a client serialising the
//! same JSON the same way) is found by a digest of its bytes, without
//! canonicalising it; that shortcut can only find the interaction the full key
//! would. Identical requests are answered in recorded order. Once all of
//! them are played, another one is a miss ("already played"), or, with
//! [`MatchRules::allow_repeats`], is answered by the last of them again: the
//! last answer is the state a polling or retrying client converges on.
//!
//! ## Recording
//!
//! The request goes to the rest of the stack. A whole response is read,
//! recorded, and returned as received. A streamed response (`text/event-stream`,
//! NDJSON, a Gemini JSON-array stream; see [`FrameCapture::stream_format_for`])
//! is returned at once, and each chunk is passed on as it arrives while it is
//! framed and timed from the moment the headers arrived. Timing uses the real
//! clock (`std::time::Instant`), not tokio's: a test that records under
//! `#[tokio::test(start_paused = true)]` still stores the server's timing.
//! A paused tokio clock (tokio's `test-util` feature) is for replay, where
//! pacing sleeps in virtual time: while it waits on the real network, tokio
//! jumps the paused clock to the next timer, so timeouts and retry waits in
//! the stack above run early. Record without `start_paused`.
//!
//! An interaction is saved as soon as it is complete: a whole response before
//! it is returned; a stream when it ends, or when the caller drops it (then the
//! frames read so far are kept). A stream that fails upstream is not kept.
//! Every save redacts the interaction, then rewrites the file through [`save`]:
//! a secret scan, then a temporary file renamed over the cassette. A finding
//! refuses the save, the error reaches the caller (as the request's error, or
//! as the last item of the stream), and the file stays as it was. Middlewares
//! recording into one file in one process share one in-memory tape and save it
//! under one lock, so parallel tests lose nothing; different files are
//! independent.
//!
//! Processes recording into one file (a runner such as nextest runs each test
//! in a process of its own) take turns under a file lock, and each save adds
//! to what the others saved: the file is read again when another process
//! changed it after this middleware was built, or when a process of the same
//! test run wrote it last (`LLMVCR_RUN_ID`, else nextest's `NEXTEST_RUN_ID`;
//! see [`Env::run_id`]). Otherwise `record` replaces the file it finds, as
//! it should.
//!
//! ## Replaying
//!
//! Status and headers come back as recorded, except `content-length`, which is
//! set to the length of the bytes replayed (JSON stored as a structure is
//! written compactly). A stream is rebuilt as a streaming body, one chunk per
//! frame, at the [`ReplaySpeed`] chosen: at once, at the recorded offsets, or
//! scaled. Pacing uses `tokio::time::sleep`, so under a paused clock a test
//! sees the recorded timing in virtual time and waits for none of it.
//!
//! ## Loading and the cache
//!
//! A replaying middleware reads its file once, when it is built: one YAML
//! parser (`yaml_serde`), one interaction at a time, JSON payloads going
//! straight from YAML to compact JSON text ([`Json`]), then every request's
//! match key. What that load produced is kept in a cache file under the
//! Cargo target folder (`target/llmvcr-cache/`), named after a hash of the
//! cassette's bytes and of the match rules, so every later load of the same
//! file, in any process, reads the cache instead of the YAML. Set
//! `LLMVCR_CACHE_DIR` to put the cache elsewhere, or to `off` to turn it off
//! ([`CassetteBuilder::cache_dir`] does the same in code). A cache file that
//! cannot be read is ignored, and a folder that cannot be written to only
//! means the next load reads the YAML again.
//!
//! # Importing recordings
//!
//! The [`import`] module reads cassettes written by other tools into
//! format-neutral [`RecordedInteraction`]s ([`recorded`]):
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
//! becomes [`RecordedBody::Json`]. A decoded body that is UTF-8 is [`RecordedBody::Text`],
//! kept byte for byte; anything else is [`RecordedBody::Bytes`]. Headers are kept as
//! recorded; `decoded_headers()` on a request or response drops
//! `Content-Encoding` and `Content-Length` when the importer decompressed the
//! body.
//!
//! ```
//! use llmvcr_cassette::RecordedBody;
//! use llmvcr_cassette::import::parse_vcrpy;
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
//! assert_eq!(interactions[0].response.body, RecordedBody::Text(r#"{"a": 2}"#.to_owned()));
//! # Ok::<(), llmvcr_cassette::ImportError>(())
//! ```
//!
//! Malformed input never panics: it is an [`ImportError`] naming the file,
//! the interaction index, the field and, where known, the line and column.
#![warn(missing_docs, unreachable_pub)]

mod cache;
pub mod convert;
mod error;
pub mod export;
pub mod matcher;
pub mod middleware;
pub mod read;
/// Readers for other recorders' cassettes: the `llmvcr-import` crate.
pub use llmvcr_import as import;
/// What other recorders' files hold, as the importers read it.
pub use llmvcr_import::recorded;
pub mod replay;
pub mod secrets;
pub mod stored;
pub mod write;

pub use error::{CassetteError, Result};
pub use export::to_vcrpy;
pub use read::{load, load_any, parse, read_recorded};
pub use write::{save, to_yaml};

pub use convert::{FrameCapture, StreamUrlRule};
pub use import::ImportError;
pub use matcher::{BodyIgnore, MatchRules, NoMatch};
pub use middleware::{CassetteBuilder, CassetteMiddleware, Env, MiddlewareError, Mode};
pub use recorded::{Headers, RecordedBody, RecordedInteraction, RecordedRequest, RecordedResponse};
pub use replay::ReplaySpeed;
pub use secrets::{Finding, Redactor, Scanner, SecretRules};
pub use stored::{
    Cassette, FORMAT_VERSION, Frame, HeaderList, Interaction, Json, Request, Response, StoredBody,
    Stream, StreamFormat,
};
