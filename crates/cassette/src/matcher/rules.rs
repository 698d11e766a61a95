//! The rules that say which requests match which recordings.

use std::fmt;
use std::sync::Arc;

use serde_json::Value;

use super::canonical;
use super::url::NormalUrl;
use super::{IncomingRequest, RequestKey};
use crate::stored::{Interaction, Request};

/// An extra predicate on a candidate recording. A recording whose key equals the
/// request's is used only when this returns `true`.
pub type CustomMatcher = Arc<dyn Fn(&IncomingRequest, &Interaction) -> bool + Send + Sync>;

/// JSON pointers to ignore in request bodies sent to some URLs.
///
/// The rule applies to a request when every condition that is set holds. Pointers
/// follow RFC 6901 (`/metadata/user_id`, `/messages/0/name`, with `~1` for `/` and
/// `~0` for `~`); a segment `*` stands for any key or array index.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BodyIgnore {
    /// The normalised URL starts with this (for example `https://api.openai.com/v1/`).
    pub url_prefix: Option<String>,
    /// The URL's host is this host or one of its subdomains.
    pub host: Option<String>,
    /// The URL's path ends with this (for example `/chat/completions`).
    pub path_suffix: Option<String>,
    /// The fields to ignore.
    pub pointers: Vec<String>,
}

impl BodyIgnore {
    /// Ignores `pointers` in requests whose path ends with `suffix`.
    pub fn for_path_suffix(
        suffix: impl Into<String>,
        pointers: impl IntoIterator<Item = impl Into<String>>,
    ) -> BodyIgnore {
        BodyIgnore {
            path_suffix: Some(suffix.into()),
            pointers: pointers.into_iter().map(Into::into).collect(),
            ..BodyIgnore::default()
        }
    }

    /// Ignores `pointers` in requests to `host` and its subdomains.
    pub fn for_host(
        host: impl Into<String>,
        pointers: impl IntoIterator<Item = impl Into<String>>,
    ) -> BodyIgnore {
        BodyIgnore {
            host: Some(host.into()),
            pointers: pointers.into_iter().map(Into::into).collect(),
            ..BodyIgnore::default()
        }
    }

    /// Ignores `pointers` in requests whose normalised URL starts with `prefix`.
    pub fn for_url_prefix(
        prefix: impl Into<String>,
        pointers: impl IntoIterator<Item = impl Into<String>>,
    ) -> BodyIgnore {
        BodyIgnore {
            url_prefix: Some(prefix.into()),
            pointers: pointers.into_iter().map(Into::into).collect(),
            ..BodyIgnore::default()
        }
    }

    pub(crate) fn applies(&self, url: &NormalUrl) -> bool {
        if let Some(prefix) = &self.url_prefix
            && !url.text.starts_with(prefix.as_str())
        {
            return false;
        }
        if let Some(host) = &self.host {
            let host = host.to_ascii_lowercase();
            let have = url.host();
            let ok = have == host
                || (have.len() > host.len()
                    && have.ends_with(host.as_str())
                    && have.as_bytes().get(have.len() - host.len() - 1) == Some(&b'.'));
            if !ok {
                return false;
            }
        }
        if let Some(suffix) = &self.path_suffix
            && !url.path().trim_end_matches('/').ends_with(suffix.as_str())
        {
            return false;
        }
        true
    }
}

/// How requests are matched against recordings.
///
/// The default matches method, URL and body, drops no query parameter, ignores no
/// body field and plays each recording once.
#[derive(Clone)]
pub struct MatchRules {
    /// Query parameters left out of the URL before matching (names compared
    /// case-insensitively), such as credentials (`key`) or cache busters.
    pub drop_query_params: Vec<String>,
    /// JSON pointers ignored in every request body.
    pub ignore_pointers: Vec<String>,
    /// JSON pointers ignored in the bodies of some requests, by URL.
    pub body_ignores: Vec<BodyIgnore>,
    /// Whether the body is part of the match. On by default.
    pub match_body: bool,
    /// Whether the URL's scheme, host and port are part of the match. On by
    /// default; off, a cassette recorded against one server (a local mock on
    /// `127.0.0.1:40647`, say) replays for requests to another (the real
    /// host, another port), as long as path, query and body match.
    pub match_origin: bool,
    /// Whether a request may be answered again by the last of its recordings once
    /// they have all been played. Off by default.
    pub allow_repeats: bool,
    /// An extra predicate a recording must pass, after its key matched.
    pub custom: Option<CustomMatcher>,
}

impl Default for MatchRules {
    fn default() -> MatchRules {
        MatchRules {
            drop_query_params: Vec::new(),
            ignore_pointers: Vec::new(),
            body_ignores: Vec::new(),
            match_body: true,
            match_origin: true,
            allow_repeats: false,
            custom: None,
        }
    }
}

impl fmt::Debug for MatchRules {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MatchRules")
            .field("drop_query_params", &self.drop_query_params)
            .field("ignore_pointers", &self.ignore_pointers)
            .field("body_ignores", &self.body_ignores)
            .field("match_body", &self.match_body)
            .field("match_origin", &self.match_origin)
            .field("allow_repeats", &self.allow_repeats)
            .field("custom", &self.custom.as_ref().map(|_| "<closure>"))
            .finish()
    }
}

impl MatchRules {
    /// The default rules.
    pub fn new() -> MatchRules {
        MatchRules::default()
    }

    /// Leaves query parameter `name` out of the match.
    pub fn with_dropped_query_param(mut self, name: impl Into<String>) -> MatchRules {
        self.drop_query_params.push(name.into());
        self
    }

    /// Ignores the body field at `pointer` in every request.
    pub fn with_ignored_pointer(mut self, pointer: impl Into<String>) -> MatchRules {
        self.ignore_pointers.push(pointer.into());
        self
    }

    /// Adds a per-URL body rule.
    pub fn with_body_ignore(mut self, rule: BodyIgnore) -> MatchRules {
        self.body_ignores.push(rule);
        self
    }

    /// Sets whether bodies take part in the match.
    pub fn with_match_body(mut self, yes: bool) -> MatchRules {
        self.match_body = yes;
        self
    }

    /// Sets whether scheme, host and port take part in the match (see
    /// [`MatchRules::match_origin`]).
    ///
    /// ```
    /// use llmvcr_cassette::MatchRules;
    ///
    /// let anywhere = MatchRules::new().with_match_origin(false);
    /// assert_eq!(
    ///     anywhere.normalize_url("http://127.0.0.1:40647/v1/chat/completions"),
    ///     anywhere.normalize_url("https://api.openai.com/v1/chat/completions"),
    /// );
    /// ```
    pub fn with_match_origin(mut self, yes: bool) -> MatchRules {
        self.match_origin = yes;
        self
    }

    /// Sets whether the last recording of a request repeats once all are played.
    pub fn with_repeats(mut self, yes: bool) -> MatchRules {
        self.allow_repeats = yes;
        self
    }

    /// Adds an extra predicate on candidate recordings.
    pub fn with_custom<F>(mut self, matcher: F) -> MatchRules
    where
        F: Fn(&IncomingRequest, &Interaction) -> bool + Send + Sync + 'static,
    {
        self.custom = Some(Arc::new(matcher));
        self
    }

    /// Merges `other` into these rules: lists are concatenated; `match_body`,
    /// `match_origin`, `allow_repeats` and the custom matcher come from `other`
    /// when it changes them from the default.
    pub fn merge(mut self, other: MatchRules) -> MatchRules {
        self.drop_query_params.extend(other.drop_query_params);
        self.ignore_pointers.extend(other.ignore_pointers);
        self.body_ignores.extend(other.body_ignores);
        if !other.match_body {
            self.match_body = false;
        }
        if !other.match_origin {
            self.match_origin = false;
        }
        if other.allow_repeats {
            self.allow_repeats = true;
        }
        if other.custom.is_some() {
            self.custom = other.custom;
        }
        self
    }

    /// The match key of `request`. Linear in the size of the request.
    pub fn key(&self, request: &Request) -> RequestKey {
        let mut buf = Vec::with_capacity(256);
        self.write_canonical(request, &mut buf);
        RequestKey::digest(&buf)
    }

    /// The canonical text that [`MatchRules::key`] hashes: the method, the
    /// normalised URL and the canonical body, one per line. Useful to see why two
    /// requests do or do not match.
    pub fn canonical_text(&self, request: &Request) -> String {
        let mut buf = Vec::with_capacity(256);
        self.write_canonical(request, &mut buf);
        String::from_utf8_lossy(&buf).into_owned()
    }

    /// The match key of a request given by its parts: the method, the parsed
    /// URL and the body bytes (`None` for an empty body), already redacted.
    /// Equal to [`MatchRules::key`] of the same request in cassette form.
    pub fn key_of_parts(&self, method: &str, url: &url::Url, body: Option<&[u8]>) -> RequestKey {
        let url = NormalUrl::from_url(url, &self.drop_query_params);
        let mut out = Vec::with_capacity(256 + body.map_or(0, <[u8]>::len));
        self.write_parts(method, &url, body.unwrap_or_default(), &mut out);
        RequestKey::digest(&out)
    }

    /// The normalised form of `url` used in the match.
    pub fn normalize_url(&self, url: &str) -> String {
        NormalUrl::parse(url, &self.drop_query_params)
            .key_text(self.match_origin)
            .to_owned()
    }

    pub(crate) fn write_canonical(&self, request: &Request, out: &mut Vec<u8>) {
        let url = NormalUrl::parse(&request.url, &self.drop_query_params);
        let body = request
            .body
            .as_ref()
            .map(crate::convert::body_text_or_bytes)
            .unwrap_or_default();
        self.write_parts(&request.method, &url, &body, out);
    }

    /// The canonical text of a request: the method, the normalised URL and
    /// the canonical body, one per line.
    pub(crate) fn write_parts(
        &self,
        method: &str,
        url: &NormalUrl,
        body: &[u8],
        out: &mut Vec<u8>,
    ) {
        for byte in method.bytes() {
            out.push(byte.to_ascii_uppercase());
        }
        out.push(b'\n');
        out.extend_from_slice(url.key_text(self.match_origin).as_bytes());
        out.push(b'\n');
        if self.match_body {
            canonical::write_body(body, &self.pointers_for(url), out);
        }
    }

    pub(crate) fn pointers_for(&self, url: &NormalUrl) -> Vec<Vec<String>> {
        let rules = self
            .body_ignores
            .iter()
            .filter(|rule| rule.applies(url))
            .flat_map(|rule| rule.pointers.iter());
        self.ignore_pointers
            .iter()
            .chain(rules)
            .filter_map(|p| canonical::parse_pointer(p))
            .collect()
    }

    /// The body of `request` as compared: JSON with the ignored fields removed, or
    /// `None` when the body is not JSON.
    pub(crate) fn comparable_json(&self, request: &Request) -> Option<Value> {
        let body = crate::convert::body_text_or_bytes(request.body.as_ref()?);
        let value = canonical::parse_json(&body)?;
        let url = NormalUrl::parse(&request.url, &self.drop_query_params);
        Some(canonical::strip(value, &self.pointers_for(&url)))
    }

    /// A fingerprint of everything in these rules that decides match keys
    /// (not repeats or the custom matcher), for caching keys.
    pub(crate) fn key_fingerprint(&self) -> u64 {
        let text = format!(
            "{:?}|{:?}|{:?}|{}|{}",
            self.drop_query_params,
            self.ignore_pointers,
            self.body_ignores,
            self.match_body,
            self.match_origin
        );
        xxhash_rust::xxh3::xxh3_64(text.as_bytes())
    }
}
