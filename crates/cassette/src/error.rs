//! The error type of cassette loading, saving, conversion and scanning.

use std::fmt;

use crate::import::ImportError;
use crate::secrets::Finding;

/// The result type of this crate's cassette operations.
pub type Result<T, E = CassetteError> = std::result::Result<T, E>;

/// Why a cassette could not be read, checked or written.
///
/// Every variant names the file. `Display` is one line that starts with
/// `file`, `file:line` or `file:line:column`, as compilers print positions.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CassetteError {
    /// The file could not be read or written.
    #[error("{file}: {error}")]
    Io {
        /// The path of the file.
        file: String,
        /// The underlying error.
        #[source]
        error: std::io::Error,
    },
    /// The text is not valid YAML.
    #[error("{}: invalid YAML: {message}", position(file, *line, *column))]
    Syntax {
        /// The name of the input.
        file: String,
        /// The 1-based line, when known.
        line: Option<usize>,
        /// The 1-based column, when known.
        column: Option<usize>,
        /// The parser's message.
        message: String,
    },
    /// The document is not an llmvcr cassette of a version this crate reads.
    #[error("{file}: {}", version_message(found))]
    Version {
        /// The name of the input.
        file: String,
        /// What the `llmvcr:` key holds, or a description of what was found
        /// instead of it.
        found: String,
    },
    /// The YAML is an llmvcr cassette but breaks the schema: a missing field, a
    /// value of the wrong type, a body that is both `body` and `stream`...
    #[error("{}: {message}", position(file, *line, *column))]
    Schema {
        /// The name of the input.
        file: String,
        /// The 1-based line, when known.
        line: Option<usize>,
        /// The 1-based column, when known.
        column: Option<usize>,
        /// What is wrong, naming the field.
        message: String,
    },
    /// The secret scanner found something that looks like a credential, so
    /// nothing was written.
    #[error("{}", secret_message(file, findings))]
    Secret {
        /// The file that was not written (or that holds the findings).
        file: String,
        /// What the scanner found, and where.
        findings: Vec<Finding>,
    },
    /// A recording in another format could not be imported.
    #[error(transparent)]
    Import(#[from] ImportError),
}

impl CassetteError {
    /// The name of the file the error is about.
    #[must_use]
    pub fn file(&self) -> &str {
        match self {
            CassetteError::Io { file, .. }
            | CassetteError::Syntax { file, .. }
            | CassetteError::Version { file, .. }
            | CassetteError::Schema { file, .. }
            | CassetteError::Secret { file, .. } => file,
            CassetteError::Import(error) => error.file(),
        }
    }

    /// The 1-based line of the error, when known.
    #[must_use]
    pub fn line(&self) -> Option<usize> {
        match self {
            CassetteError::Syntax { line, .. } | CassetteError::Schema { line, .. } => *line,
            CassetteError::Import(error) => error.line(),
            _ => None,
        }
    }
}

/// `file`, `file:line` or `file:line:column`.
fn position(file: &str, line: Option<usize>, column: Option<usize>) -> Position<'_> {
    Position { file, line, column }
}

struct Position<'a> {
    file: &'a str,
    line: Option<usize>,
    column: Option<usize>,
}

impl fmt::Display for Position<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(column) = self.column {
                write!(f, ":{column}")?;
            }
        }
        Ok(())
    }
}

fn version_message(found: &str) -> String {
    format!(
        "not an llmvcr format v{} cassette: {found}",
        crate::stored::FORMAT_VERSION
    )
}

fn secret_message(file: &str, findings: &[Finding]) -> String {
    let mut out = format!(
        "{file}: refused: {} possible secret{} found",
        findings.len(),
        if findings.len() == 1 { "" } else { "s" }
    );
    for (n, finding) in findings.iter().enumerate() {
        out.push_str(if n == 0 { ": " } else { "; " });
        out.push_str(&finding.to_string());
        if n == 4 && findings.len() > 5 {
            out.push_str(&format!("; and {} more", findings.len() - 5));
            break;
        }
    }
    out
}
