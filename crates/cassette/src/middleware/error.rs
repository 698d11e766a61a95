//! The errors of the cassette middleware.

use super::Mode;
use crate::error::CassetteError;
use crate::matcher::NoMatch;

/// Why the cassette middleware failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MiddlewareError {
    /// No recording answers the request.
    #[error(transparent)]
    NoMatch(#[from] NoMatch),
    /// The mode would record, and recording is not allowed on CI.
    #[error(
        "{cassette}: refusing to record in mode `{mode}` because CI is set; \
         CI replays committed cassettes only (record locally, or set \
         LLMVCR_ALLOW_RECORD_IN_CI=1 to allow it)"
    )]
    RecordingRefused {
        /// The cassette file.
        cassette: String,
        /// The mode asked for.
        mode: Mode,
    },
    /// `LLMVCR_MODE` holds an unknown mode.
    #[error(
        "LLMVCR_MODE={value:?} is not a mode; use replay, record, once, new_episodes or passthrough"
    )]
    InvalidMode {
        /// The value found.
        value: String,
    },
    /// The cassette could not be read or written (including a secret-scan refusal).
    #[error(transparent)]
    Cassette(#[from] CassetteError),
    /// A recorded response cannot be turned back into an HTTP response.
    #[error("{cassette}: interactions[{index}].{message}")]
    InvalidRecording {
        /// The cassette file.
        cassette: String,
        /// The interaction, from 0.
        index: usize,
        /// What is wrong.
        message: String,
    },
    /// The request body is a stream, which can be neither matched nor recorded.
    #[error("{method} {url}: a streamed request body cannot be recorded or matched")]
    StreamingRequestBody {
        /// The method.
        method: String,
        /// The URL, credentials replaced by placeholders.
        url: String,
    },
}
