//! Errors of loading and running scenarios.

use std::path::PathBuf;

/// Why a scenario could not be run. A scenario that runs and misses an expectation
/// is not an error: it is a failed [`ScenarioReport`](crate::ScenarioReport).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ScenarioError {
    /// The file cannot be read.
    #[error("{}: cannot read: {message}", file.display())]
    Io {
        /// The scenario file.
        file: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// The file is not a valid scenario; the message names the field (its serde
    /// path, such as `targets[0]: unknown field ...`) and the line.
    #[error("{}: {message}", file.display())]
    Parse {
        /// The scenario file.
        file: PathBuf,
        /// The parser's message, with the field's path.
        message: String,
    },
    /// The file parses but a field has a value that cannot be used.
    #[error("{}: {field}: {message}", file.display())]
    Invalid {
        /// The scenario file.
        file: PathBuf,
        /// The field, as a path (`targets[1].provider`).
        field: String,
        /// What is wrong with it.
        message: String,
    },
    /// The run could not be set up (a cassette that cannot be loaded, a policy the
    /// router refuses, no runtime).
    #[error("{}: {field}: {message}", file.display())]
    Setup {
        /// The scenario file.
        file: PathBuf,
        /// The field the problem comes from (`targets[0].cassette`, `policy`).
        field: String,
        /// What went wrong.
        message: String,
    },
}
