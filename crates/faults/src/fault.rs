//! The kinds of fault.

use serde::{Deserialize, Serialize};

/// The frame or body text that replaces a malformed frame or body.
///
/// Its braces balance and it contains no string, so SSE, NDJSON and JSON-array
/// framers still delimit it, but it is not valid JSON (`malformed` is a bare word).
pub const MALFORMED_JSON: &str = r#"{"llmvcr_fault":malformed}"#;

/// One fault to inject into one request.
///
/// Deserialises from a map tagged by `kind` in snake case, as scenario files write
/// it:
///
/// ```
/// use llmvcr_faults::{Fault, MalformedTarget};
///
/// let fault: Fault = serde_json::from_str(r#"{"kind":"cut","after_frames":2}"#).unwrap();
/// assert_eq!(fault, Fault::Cut { after_frames: 2 });
/// let fault: Fault =
///     serde_json::from_str(r#"{"kind":"malformed","target":{"frame":3}}"#).unwrap();
/// assert_eq!(fault, Fault::Malformed { target: MalformedTarget::Frame(3) });
/// let fault: Fault = serde_json::from_str(r#"{"kind":"reset"}"#).unwrap();
/// assert_eq!(fault, Fault::Reset);
/// ```
///
/// Faults that replace the response ([`Fault::Status`], [`Fault::Reset`]) never
/// send the request on. The others send it on (to the cassette layer or the
/// network) and delay or rewrite what comes back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Fault {
    /// An HTTP response with this status, headers and body, returned instead of the
    /// real one. Provider-shaped templates come from
    /// `llmvcr_providers::fault_templates`.
    Status {
        /// The HTTP status.
        status: u16,
        /// The headers, in order. A name may repeat.
        #[serde(default)]
        headers: Vec<(String, String)>,
        /// The body.
        #[serde(default)]
        body: String,
    },
    /// A delay before the request is sent on, so before the first byte of the
    /// response.
    Latency {
        /// The delay in milliseconds.
        before_first_byte_ms: u64,
    },
    /// A pause in the response body after `after_frames` frames, long enough for an
    /// idle timeout to fire.
    Stall {
        /// How many frames are delivered before the pause (0: before the first).
        after_frames: u32,
        /// The pause in milliseconds.
        stall_ms: u64,
    },
    /// The body fails after `after_frames` frames, with
    /// [`FaultError::StreamCut`](crate::FaultError::StreamCut) as the cause.
    Cut {
        /// How many frames are delivered before the cut.
        after_frames: u32,
    },
    /// After `after_frames` frames, `frame` is sent as it is (raw bytes, for
    /// example an SSE `event: error` block) and the body ends cleanly.
    ErrorEvent {
        /// How many frames are delivered before the injected one.
        after_frames: u32,
        /// The raw frame, including its delimiter (an SSE frame ends with a blank
        /// line, an NDJSON frame with a newline).
        frame: String,
    },
    /// One frame, or the whole body, replaced with [`MALFORMED_JSON`].
    Malformed {
        /// What is replaced.
        target: MalformedTarget,
    },
    /// A connection reset before any response:
    /// [`FaultError::ConnectionReset`](crate::FaultError::ConnectionReset).
    Reset,
}

/// What a [`Fault::Malformed`] replaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MalformedTarget {
    /// The data of the n-th frame, counting from 1. An SSE event keeps its `event`
    /// and `id` fields and gets [`MALFORMED_JSON`] as its data.
    Frame(u32),
    /// The whole body. Status and headers are kept, except `content-length`, which
    /// is set to the new length.
    Body,
}

impl Fault {
    /// A [`Fault::Status`] from its parts; convenient for a provider template.
    pub fn status(status: u16, headers: Vec<(String, String)>, body: impl Into<String>) -> Fault {
        Fault::Status {
            status,
            headers,
            body: body.into(),
        }
    }

    /// The snake-case name of the kind, as written in scenario files and in the
    /// [`FiredFault`](crate::FiredFault) log.
    pub fn name(&self) -> &'static str {
        match self {
            Fault::Status { .. } => "status",
            Fault::Latency { .. } => "latency",
            Fault::Stall { .. } => "stall",
            Fault::Cut { .. } => "cut",
            Fault::ErrorEvent { .. } => "error_event",
            Fault::Malformed { .. } => "malformed",
            Fault::Reset => "reset",
        }
    }
}
