//! The cassette layer, with the providers' knowledge applied.
//!
//! The cassette crate knows HTTP, not LLMs; the providers crate knows where each
//! provider puts its credentials and which request fields are volatile, as plain
//! data ([`llmvcr_providers::rules`]). This module turns that data into the
//! cassette crate's [`SecretRules`] and [`MatchRules`], and maps the cassette
//! middleware's errors onto llmvcr's [`Error`].

use std::path::PathBuf;

use llmvcr_cassette::{
    BodyIgnore, CassetteBuilder, CassetteMiddleware, MatchRules, MiddlewareError, SecretRules,
};
use llmvcr_core::{Error, ErrorKind};
use llmvcr_providers::rules::{
    CREDENTIAL_QUERY_PARAMS, KEY_PREFIXES, SECRET_HEADERS, VOLATILE_BODY_FIELDS,
};

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

/// The secret rules for cassettes: generic HTTP credentials plus every
/// provider's credential headers, query parameters and key prefixes, from
/// [`llmvcr_providers::rules`]. The CLI and the recording layer use these for
/// redaction and scanning.
///
/// ```
/// let rules = llmvcr::testing::secret_rules();
/// assert!(rules.headers.iter().any(|h| h == "x-goog-api-key"));
/// assert!(rules.query_params.iter().any(|q| q == "key"));
/// assert!(rules.key_prefixes.iter().any(|p| p == "sk-ant-"));
/// assert!(rules.env_suffixes.iter().any(|s| s == "_API_KEY"));
/// ```
#[must_use]
pub fn secret_rules() -> SecretRules {
    SecretRules::generic().merge(SecretRules {
        headers: strings(SECRET_HEADERS),
        query_params: strings(CREDENTIAL_QUERY_PARAMS),
        key_prefixes: strings(KEY_PREFIXES),
        env_suffixes: Vec::new(),
    })
}

/// Matching that drops credential query parameters and ignores every provider's
/// volatile request fields (by the path of the URL, so OpenAI-compatible servers
/// on any host are covered).
pub fn match_rules() -> MatchRules {
    let mut rules = MatchRules::new();
    rules.drop_query_params = strings(CREDENTIAL_QUERY_PARAMS);
    rules.body_ignores = VOLATILE_BODY_FIELDS
        .iter()
        .map(|fields| {
            BodyIgnore::for_path_suffix(fields.path_suffix, fields.pointers.iter().copied())
        })
        .collect();
    rules
}

/// A [`CassetteMiddleware`] builder for the cassette at `path`, with
/// [`secret_rules`] and [`match_rules`] applied. The mode comes from
/// `LLMVCR_MODE` unless the builder is given one.
///
/// ```
/// use llmvcr::testing::cassette;
/// use llmvcr::cassette::{Env, Mode};
///
/// let middleware = cassette("cassettes/demo/absent.yaml")
///     .env(Env::default())
///     .build()?;
/// assert_eq!(middleware.mode(), Mode::Replay);
/// # Ok::<(), llmvcr::cassette::MiddlewareError>(())
/// ```
pub fn cassette(path: impl Into<PathBuf>) -> CassetteBuilder {
    CassetteMiddleware::builder(path)
        .secret_rules(secret_rules())
        .match_rules(match_rules())
        .stream_urls(crate::cassette_stream_urls())
}

/// The llmvcr [`Error`] for a cassette middleware error: a miss is
/// [`ErrorKind::NoMatch`] with the whole multi-line explanation as its message;
/// everything else (recording refused on CI, a bad `LLMVCR_MODE`, a cassette that
/// cannot be read or written) is [`ErrorKind::Other`] with its message.
pub(crate) fn to_core_error(error: &MiddlewareError) -> Error {
    let kind = match error {
        MiddlewareError::NoMatch(_) => ErrorKind::NoMatch,
        _ => ErrorKind::Other,
    };
    Error::new(kind, error.to_string())
}
