//! What the cassette layer needs to know about providers, as plain data.
//!
//! The cassette crate knows HTTP, not LLMs, and this crate does not depend on it.
//! The façade reads these tables and turns them into the cassette crate's secret
//! and matching rules:
//!
//! - [`SECRET_HEADERS`], [`CREDENTIAL_QUERY_PARAMS`] and [`KEY_PREFIXES`]: where
//!   provider credentials travel and what they look like, so that they are replaced
//!   by placeholders on record and caught by the secret scanner;
//! - [`VOLATILE_BODY_FIELDS`]: request-body fields that change from run to run
//!   without changing the answer, so that replay ignores them when matching.
//!
//! ```
//! use llmvcr_providers::rules::{volatile_fields_for, KEY_PREFIXES, SECRET_HEADERS};
//!
//! assert!(SECRET_HEADERS.contains(&"x-api-key"));
//! assert!(KEY_PREFIXES.contains(&"sk-ant-"));
//! let ignored: Vec<&str> = volatile_fields_for("https://api.openai.com/v1/chat/completions")
//!     .flat_map(|rule| rule.pointers.iter().copied())
//!     .collect();
//! assert!(ignored.contains(&"/user"));
//! ```

use crate::endpoint::WireApi;

/// Request headers that carry a provider credential. Names are lowercase.
///
/// - `authorization`: `Bearer <key>` for OpenAI and every OpenAI-compatible API
///   (OpenRouter, Groq, Mistral, xAI, LM Studio), and OAuth tokens for Vertex AI;
/// - `x-api-key`: Anthropic;
/// - `api-key`: Azure OpenAI;
/// - `x-goog-api-key`: the Gemini API;
/// - `proxy-authorization`: a credential for a proxy in front of any of them;
/// - `x-amz-security-token`: a temporary AWS credential (Bedrock).
///
/// Any other header whose name says credential (`*token*`, `*secret*`...) is
/// caught by the cassette crate's name rules.
pub const SECRET_HEADERS: &[&str] = &[
    "authorization",
    "x-api-key",
    "api-key",
    "x-goog-api-key",
    "proxy-authorization",
    "x-amz-security-token",
];

/// Query parameters that carry a credential: Gemini clients may send the key as
/// `?key=`; Azure SAS URLs sign with `sig=`; presigned AWS URLs carry
/// `X-Amz-Signature` and `X-Amz-Security-Token`.
pub const CREDENTIAL_QUERY_PARAMS: &[&str] =
    &["key", "sig", "x-amz-signature", "x-amz-security-token"];

/// Prefixes of provider keys and tokens, for the secret scanner.
///
/// - `sk-`: OpenAI (including `sk-proj-` and `sk-svcacct-`), DeepSeek and many
///   OpenAI-compatible services;
/// - `sk-proj-`: OpenAI project keys;
/// - `sk-ant-`: Anthropic;
/// - `sk-or-`, `sk-or-v1-`: OpenRouter;
/// - `gsk_`: Groq;
/// - `xai-`: xAI;
/// - `AIza`: Google API keys (Gemini);
/// - `ya29.`: Google OAuth access tokens (Vertex AI).
///
/// Mistral and Azure keys have no prefix (32 letters and digits); they are
/// caught in the credential headers above.
pub const KEY_PREFIXES: &[&str] = &[
    "sk-",
    "sk-proj-",
    "sk-ant-",
    "sk-or-",
    "sk-or-v1-",
    "gsk_",
    "xai-",
    "AIza",
    "ya29.",
];

/// Request-body fields of one wire API that are ignored when matching a request
/// against a recording.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VolatileFields {
    /// The wire API these fields belong to.
    pub api: WireApi,
    /// The rule applies to URLs whose path ends with this suffix.
    pub path_suffix: &'static str,
    /// JSON pointers (RFC 6901) of the fields to ignore.
    pub pointers: &'static [&'static str],
}

/// Every [`VolatileFields`] rule.
///
/// A field is listed only when it identifies the caller, a session or a cache
/// bucket and cannot change the model's answer; leaving it in the match key would
/// make a recording miss whenever an application sends a fresh user or trace id.
///
/// - OpenAI Chat Completions and Responses (and the compatibles that accept the
///   same fields):
///   - `/user`: an end-user identifier for abuse monitoring, often a per-session id;
///   - `/metadata`: free-form tags for the dashboard and stored completions,
///     typically trace or request ids;
///   - `/prompt_cache_key`: a routing hint for prompt caching; it changes cost and
///     latency, never the output;
///   - `/safety_identifier`: the successor of `user`, a hashed end-user id.
/// - Anthropic Messages: `/metadata/user_id`, an opaque end-user id for abuse
///   detection.
/// - Gemini on Vertex AI: `/labels`, billing labels attached to the call.
/// - Ollama's native chat: `/keep_alive`, how long the server keeps the model in
///   memory after the call.
pub const VOLATILE_BODY_FIELDS: &[VolatileFields] = &[
    VolatileFields {
        api: WireApi::OpenAiChat,
        path_suffix: "/chat/completions",
        pointers: &[
            "/user",
            "/metadata",
            "/prompt_cache_key",
            "/safety_identifier",
        ],
    },
    VolatileFields {
        api: WireApi::OpenAiResponses,
        path_suffix: "/responses",
        pointers: &[
            "/user",
            "/metadata",
            "/prompt_cache_key",
            "/safety_identifier",
        ],
    },
    VolatileFields {
        api: WireApi::AnthropicMessages,
        path_suffix: "/v1/messages",
        pointers: &["/metadata/user_id"],
    },
    VolatileFields {
        api: WireApi::Gemini,
        path_suffix: ":generateContent",
        pointers: &["/labels"],
    },
    VolatileFields {
        api: WireApi::Gemini,
        path_suffix: ":streamGenerateContent",
        pointers: &["/labels"],
    },
    VolatileFields {
        api: WireApi::OllamaChat,
        path_suffix: "/api/chat",
        pointers: &["/keep_alive"],
    },
];

/// The [`VolatileFields`] rules that apply to `url`, by the suffix of its path.
pub fn volatile_fields_for(url: &str) -> impl Iterator<Item = &'static VolatileFields> + '_ {
    let path = url_path(url);
    VOLATILE_BODY_FIELDS
        .iter()
        .filter(move |rule| path.ends_with(rule.path_suffix))
}

/// The [`VolatileFields`] rules of one wire API.
pub fn volatile_fields_of(api: WireApi) -> impl Iterator<Item = &'static VolatileFields> {
    VOLATILE_BODY_FIELDS
        .iter()
        .filter(move |rule| rule.api == api)
}

fn url_path(url: &str) -> &str {
    let rest = match url.find("://") {
        Some(i) => &url[i + 3..],
        None => url,
    };
    let path = match rest.find('/') {
        Some(i) => &rest[i..],
        None => "",
    };
    let end = path.find(['?', '#']).unwrap_or(path.len());
    path[..end].trim_end_matches('/')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pointers(url: &str) -> Vec<&'static str> {
        volatile_fields_for(url)
            .flat_map(|rule| rule.pointers.iter().copied())
            .collect()
    }

    #[test]
    fn rules_follow_the_path() {
        assert!(pointers("https://openrouter.ai/api/v1/chat/completions?x=1").contains(&"/user"));
        assert_eq!(
            pointers("https://api.anthropic.com/v1/messages"),
            vec!["/metadata/user_id"]
        );
        assert!(pointers("https://api.anthropic.com/v1/messages/count_tokens").is_empty());
        assert_eq!(
            pointers(
                "https://generativelanguage.googleapis.com/v1beta/models/g:streamGenerateContent?alt=sse"
            ),
            vec!["/labels"]
        );
        assert!(pointers("https://api.openai.com/v1/embeddings").is_empty());
        assert_eq!(volatile_fields_of(WireApi::Gemini).count(), 2);
    }

    #[test]
    fn tables_are_lowercase_and_pointers_well_formed() {
        for h in SECRET_HEADERS {
            assert_eq!(*h, h.to_ascii_lowercase());
        }
        for rule in VOLATILE_BODY_FIELDS {
            for p in rule.pointers {
                assert!(p.starts_with('/'), "{p}");
            }
        }
    }
}

/// A URL whose response is a streamed JSON array although its content type
/// says plain JSON: the path contains `path_contains`, and the query lacks
/// the `unless_query` pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JsonArrayStreamUrl {
    /// A part of the path.
    pub path_contains: &'static str,
    /// A `name=value` query pair that makes the response something else.
    pub unless_query: Option<&'static str>,
}

/// Every [`JsonArrayStreamUrl`]: Gemini's `:streamGenerateContent` streams a
/// JSON array unless asked for SSE with `alt=sse`.
pub const JSON_ARRAY_STREAM_URLS: &[JsonArrayStreamUrl] = &[JsonArrayStreamUrl {
    path_contains: ":streamGenerateContent",
    unless_query: Some("alt=sse"),
}];
