//! Secrets: replacing credentials by placeholders, and refusing to write
//! anything that still looks like one.
//!
//! One detector (`detect`) decides where the credentials of a string are,
//! given what the string is: a header value, a URL, a JSON field, text. Two
//! parts use it:
//!
//! - a [`Redactor`] replaces what the detector finds by placeholders that
//!   still replay (`Bearer <REDACTED>`, `key=<REDACTED>`, `<OPENAI_API_KEY>`);
//! - a [`Scanner`] reports what the detector finds. [`save`](crate::save)
//!   refuses to write a cassette with any finding, and `llmvcr cassette lint`
//!   reports them.
//!
//! Because both call the same detector on the same fields, the scanner finds
//! everything the redactor would replace, and a redacted interaction scans
//! clean unless a credential could not be replaced in place (inside
//! compressed bytes, say): then writing is refused.
//!
//! What counts as a credential is listed on [`Scanner`].

mod detect;
mod redact;
mod scan;

use std::fmt;

pub use detect::is_credential_name;
pub use redact::Redactor;
pub use scan::Scanner;

/// The placeholder for a credential that is not the value of a known
/// environment variable.
pub const REDACTED: &str = "<REDACTED>";

/// Where credentials travel and what they look like: the data that the
/// [`Redactor`] and the [`Scanner`] work from.
///
/// [`SecretRules::generic`] holds generic HTTP credentials; provider
/// knowledge (`x-api-key`, `key=`, `sk-ant-`...) is added with
/// [`SecretRules::merge`]. Names that say credential, GitHub and AWS keys,
/// JWTs and PEM keys are always detected.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SecretRules {
    /// Header names whose values are replaced (compared case-insensitively).
    pub headers: Vec<String>,
    /// Query parameter names whose values are replaced (compared
    /// case-insensitively), such as `key`.
    pub query_params: Vec<String>,
    /// Prefixes of key-shaped strings for the scanner (`sk-`, `AIza`...).
    pub key_prefixes: Vec<String>,
    /// Suffixes of environment variable names whose values are secrets
    /// (`_API_KEY`, `_TOKEN`, `_SECRET`), compared case-insensitively.
    pub env_suffixes: Vec<String>,
}

impl SecretRules {
    /// Generic HTTP credentials: the `authorization`, `proxy-authorization`,
    /// `cookie` and `set-cookie` headers, the OAuth `access_token` query
    /// parameter, and environment variables ending in `_API_KEY`, `_TOKEN` or
    /// `_SECRET`. Bearer tokens are always detected; no key prefix is listed.
    #[must_use]
    pub fn generic() -> SecretRules {
        SecretRules {
            headers: [
                "authorization",
                "proxy-authorization",
                "cookie",
                "set-cookie",
            ]
            .map(String::from)
            .to_vec(),
            query_params: vec!["access_token".to_owned()],
            key_prefixes: Vec::new(),
            env_suffixes: ["_API_KEY", "_TOKEN", "_SECRET"].map(String::from).to_vec(),
        }
    }

    /// [`SecretRules::generic`], built once.
    pub(crate) fn generic_shared() -> &'static SecretRules {
        static GENERIC: std::sync::OnceLock<SecretRules> = std::sync::OnceLock::new();
        GENERIC.get_or_init(SecretRules::generic)
    }

    /// Both sets of rules, without duplicates.
    #[must_use]
    pub fn merge(mut self, other: SecretRules) -> SecretRules {
        fn add(into: &mut Vec<String>, from: Vec<String>, ignore_case: bool) {
            for item in from {
                let known = into.iter().any(|have| {
                    if ignore_case {
                        have.eq_ignore_ascii_case(&item)
                    } else {
                        *have == item
                    }
                });
                if !known && !item.is_empty() {
                    into.push(item);
                }
            }
        }
        add(&mut self.headers, other.headers, true);
        add(&mut self.query_params, other.query_params, true);
        add(&mut self.key_prefixes, other.key_prefixes, false);
        add(&mut self.env_suffixes, other.env_suffixes, true);
        self
    }
}

/// Whether `text` is a placeholder: `<NAME>` with letters, digits and `_`.
#[must_use]
pub fn is_placeholder(text: &str) -> bool {
    text.len() > 2
        && text.starts_with('<')
        && text.ends_with('>')
        && text[1..text.len() - 1]
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// One thing the [`Scanner`] found. It never holds the credential.
#[derive(Clone, PartialEq, Eq)]
pub struct Finding {
    /// The 0-based interaction, when the scan was over a cassette.
    pub interaction: Option<usize>,
    /// Where: a field path such as `request.headers.authorization` or
    /// `response.stream.frames[3].data.choices[0].delta.content`, or
    /// `line 12, column 5` for text. A JSON key or header name that is itself
    /// a credential shows masked.
    pub location: String,
    /// Which pattern matched: ``key prefix `sk-` ``, `bearer token`,
    /// ``credential header `x-api-key` ``, `value of $NAME`...; with the
    /// encoding it was found under, such as `(percent-encoded)`.
    pub kind: String,
    /// The first four characters of the credential, then `…`; for a
    /// credential shorter than 16 characters, only its length.
    pub excerpt: String,
    /// A digest of the credential, to tell two findings of the same one
    /// apart from two different ones. Never shown.
    digest: u64,
}

impl Finding {
    fn new(interaction: Option<usize>, location: String, kind: String, secret: &str) -> Finding {
        use std::hash::{Hash as _, Hasher as _};
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        secret.hash(&mut hasher);
        Finding {
            interaction,
            location,
            kind,
            excerpt: mask(secret),
            digest: hasher.finish(),
        }
    }

    /// Whether two findings are about the same credential (wherever found).
    #[must_use]
    pub fn same_secret(&self, other: &Finding) -> bool {
        self.digest == other.digest
    }
}

impl fmt::Debug for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Finding")
            .field("interaction", &self.interaction)
            .field("location", &self.location)
            .field("kind", &self.kind)
            .field("excerpt", &self.excerpt)
            .finish_non_exhaustive()
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(index) = self.interaction {
            write!(f, "interaction {index}, ")?;
        }
        write!(f, "{}: {} ({})", self.location, self.kind, self.excerpt)
    }
}

/// The first four characters and `…`, or only the length of a credential
/// shorter than 16 characters; control characters show as `?`, so an
/// excerpt is always one line.
pub(crate) fn mask(secret: &str) -> String {
    let count = secret.chars().count();
    if count < 16 {
        return format!("…, {count} chars");
    }
    let head: String = secret
        .chars()
        .take(4)
        .map(|c| if c.is_control() { '?' } else { c })
        .collect();
    format!("{head}…")
}
