//! [`Secret`]: a credential that never shows itself in `Debug` or `Display`.

use std::fmt;

/// A credential. `Debug` and `Display` never show it.
///
/// ```
/// use llmvcr_core::Secret;
///
/// let key = Secret::new("sk-test-not-a-real-key");
/// assert_eq!(format!("{key:?}"), "Secret(\"<redacted>\")");
/// assert_eq!(key.expose(), "sk-test-not-a-real-key");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a credential.
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The credential itself. Call this only to put it on the wire.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether the credential is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(\"<redacted>\")")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}
