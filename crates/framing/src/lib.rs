//! Incremental framers for the three streaming encodings LLM providers use:
//!
//! - [`SseFramer`]: Server-Sent Events (`text/event-stream`), with `event`, `data`, `id`
//!   and `retry` fields and comment lines, and LF, CRLF or CR line endings;
//! - [`NdjsonFramer`]: newline-delimited JSON (Ollama);
//! - [`JsonArrayFramer`]: a JSON array whose elements arrive over time (Gemini's
//!   `streamGenerateContent` without `alt=sse`).
//!
//! Each framer takes bytes in chunks of any size, split anywhere, and returns the
//! frames completed so far. The framers know nothing of LLMs: the provider adapters
//! and the cassette layer both build on them.
//!
//! ```
//! use llmvcr_framing::{SseFramer, SseItem};
//!
//! let mut f = SseFramer::new();
//! let mut items = f.feed(b"event: ping\r\ndata: {\"a\"").unwrap();
//! items.extend(f.feed(b":1}\r\n\r\n: keep-alive\n").unwrap());
//! items.extend(f.finish().unwrap());
//! assert_eq!(items.len(), 2);
//! match &items[0] {
//!     SseItem::Event(e) => {
//!         assert_eq!(e.event.as_deref(), Some("ping"));
//!         assert_eq!(e.data, "{\"a\":1}");
//!     }
//!     other => panic!("unexpected {other:?}"),
//! }
//! assert_eq!(items[1], SseItem::Comment(" keep-alive".into()));
//! ```
#![warn(missing_docs, unreachable_pub)]

mod json_array;
mod ndjson;
mod sse;

pub use json_array::JsonArrayFramer;
pub use ndjson::NdjsonFramer;
pub use sse::{SseEvent, SseFramer, SseItem};

/// Why a byte stream could not be framed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FrameError {
    /// A line or element was not valid UTF-8. `offset` is the byte offset of the start
    /// of that line or element in the whole stream.
    InvalidUtf8 {
        /// Byte offset in the stream.
        offset: u64,
    },
    /// A byte that cannot appear at this point of a JSON-array stream.
    UnexpectedByte {
        /// The byte.
        byte: u8,
        /// Byte offset in the stream.
        offset: u64,
    },
    /// The stream ended inside a frame.
    Truncated {
        /// What was being read when the stream ended.
        context: &'static str,
    },
}

impl std::fmt::Display for FrameError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FrameError::InvalidUtf8 { offset } => {
                write!(f, "invalid UTF-8 in the frame starting at byte {offset}")
            }
            FrameError::UnexpectedByte { byte, offset } => {
                write!(f, "unexpected byte 0x{byte:02x} at byte {offset}")
            }
            FrameError::Truncated { context } => write!(f, "stream ended inside {context}"),
        }
    }
}

impl std::error::Error for FrameError {}

/// Which framing a stream uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StreamFormat {
    /// `text/event-stream`.
    Sse,
    /// Newline-delimited JSON.
    Ndjson,
    /// A streamed JSON array.
    JsonArray,
}

impl StreamFormat {
    /// Guesses the format from a `Content-Type` value. `None` means the body is not a
    /// stream llmvcr recognises by its content type.
    pub fn from_content_type(content_type: &str) -> Option<StreamFormat> {
        let ct = content_type
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        match ct.as_str() {
            "text/event-stream" => Some(StreamFormat::Sse),
            "application/x-ndjson"
            | "application/ndjson"
            | "application/jsonl"
            | "application/jsonlines"
            | "application/x-jsonlines" => Some(StreamFormat::Ndjson),
            _ => None,
        }
    }
}
