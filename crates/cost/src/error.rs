//! The crate's error type.

use std::path::PathBuf;

/// Why a price catalog could not be loaded. Every variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The file could not be read.
    #[error("{}: cannot read price catalog: {error}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        error: std::io::Error,
    },
    /// The text is not valid YAML, or does not have the catalog's shape (missing
    /// or unknown field, wrong type). The message names the field and the line.
    #[error("{origin}: {message}")]
    Parse {
        /// The file name, or what the caller called the text.
        origin: String,
        /// The parser's message, with the field path and position.
        message: String,
    },
    /// A field has a value the catalog does not accept.
    #[error("{origin}: {field}: {message}")]
    Invalid {
        /// The file name, or what the caller called the text.
        origin: String,
        /// The field path, such as `models.gpt-4o.input`.
        field: String,
        /// What is wrong with it.
        message: String,
    },
}

/// A result with this crate's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;
