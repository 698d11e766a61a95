//! Matching requests against recordings, and the index that makes it O(1).
//!
//! A request matches a recorded interaction when their [`RequestKey`]s are equal.
//! The key is built from:
//!
//! - the method, upper case;
//! - the normalised URL: scheme and host lowercase, default port, user info and
//!   fragment dropped, the query parsed, the parameters in
//!   [`MatchRules::drop_query_params`] (credentials such as Gemini's `key=`)
//!   removed, and the rest sorted by name, then value;
//! - the canonical body, unless [`MatchRules::match_body`] is off: a JSON body with
//!   its object keys sorted at every level, integral floats written as integers,
//!   and the fields named by [`MatchRules::ignore_pointers`] and by the
//!   [`BodyIgnore`] rules that apply to the URL removed; any other body as its
//!   text or bytes.
//!
//! Headers are not part of the key, so a credential header never decides a match,
//! and neither does the placeholder that replaced it in the recording.
//!
//! [`Index`] computes the key of every recorded request once, and maps each key to
//! the interactions that have it. Looking a request up costs one canonicalisation
//! of that request (linear in its size) and one hash lookup. Identical requests are
//! answered by their recordings in recorded order; once they are all played, a
//! further identical request is a miss, or, with [`MatchRules::allow_repeats`], is
//! answered by the last of them again.
//!
//! A miss is a [`NoMatch`] error that names the cassette and the nearest recorded
//! interaction, and lists where the two requests differ.

use std::collections::HashMap;
use std::fmt;
use std::hash::{DefaultHasher, Hasher};
use std::sync::Arc;

use serde_json::Value;

use crate::format::{Body, Interaction, Request};

mod raw;

/// The request being matched, as it would be recorded: in cassette form, with its
/// credentials already replaced by placeholders.
pub type IncomingRequest = Request;

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

    fn applies(&self, url: &NormalUrl) -> bool {
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

    /// Merges `other` into these rules: lists are concatenated; `match_body` and
    /// `allow_repeats` and the custom matcher come from `other` when it changes them
    /// from the default.
    pub fn merge(mut self, other: MatchRules) -> MatchRules {
        self.drop_query_params.extend(other.drop_query_params);
        self.ignore_pointers.extend(other.ignore_pointers);
        self.body_ignores.extend(other.body_ignores);
        if !other.match_body {
            self.match_body = false;
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

    /// The match key of a request given by its parts: the method, the parsed URL
    /// and the body text (`None` for an empty body), already redacted. Equal to
    /// [`MatchRules::key`] of the same request in cassette form, but computed
    /// from the text without building a JSON value. `None` when the body is
    /// JSON this fast path does not handle; use [`MatchRules::key`] then.
    pub fn key_of_parts(
        &self,
        method: &str,
        url: &url::Url,
        body: Option<&str>,
    ) -> Option<RequestKey> {
        let mut out = Vec::with_capacity(256 + body.map_or(0, str::len));
        push_method(method, &mut out);
        let url = NormalUrl::from_url(url, &self.drop_query_params);
        out.extend_from_slice(url.text.as_bytes());
        out.push(b'\n');
        if self.match_body {
            match body {
                None | Some("") => out.extend_from_slice(b"empty"),
                Some(text) => {
                    let first = text.trim_start().as_bytes().first().copied();
                    if matches!(first, Some(b'{' | b'[')) {
                        out.extend_from_slice(b"json ");
                        let pointers = self.pointers_for(&url);
                        let active: Vec<&[String]> = pointers.iter().map(Vec::as_slice).collect();
                        raw::write_canonical_json(text, &active, &mut out)?;
                    } else {
                        out.extend_from_slice(b"text ");
                        out.extend_from_slice(text.as_bytes());
                    }
                }
            }
        }
        Some(RequestKey::digest(&out))
    }

    /// The normalised form of `url` used in the match.
    pub fn normalize_url(&self, url: &str) -> String {
        NormalUrl::parse(url, &self.drop_query_params).text
    }

    fn write_canonical(&self, request: &Request, out: &mut Vec<u8>) {
        push_method(&request.method, out);
        let url = NormalUrl::parse(&request.url, &self.drop_query_params);
        out.extend(url.text.as_bytes());
        out.push(b'\n');
        if !self.match_body {
            return;
        }
        match &request.body {
            None => out.extend(b"empty"),
            Some(Body::Json(value)) => {
                out.extend(b"json ");
                let pointers = self.pointers_for(&url);
                write_json(value, &pointers, out);
            }
            Some(Body::Text(text)) => match parse_json_text(text) {
                Some(value) => {
                    out.extend(b"json ");
                    let pointers = self.pointers_for(&url);
                    write_json(&value, &pointers, out);
                }
                None if text.is_empty() => out.extend(b"empty"),
                None => {
                    out.extend(b"text ");
                    out.extend(text.as_bytes());
                }
            },
            Some(Body::Base64(b64)) => {
                out.extend(b"base64 ");
                out.extend(b64.as_bytes());
            }
        }
    }

    fn pointers_for(&self, url: &NormalUrl) -> Vec<Vec<String>> {
        let rules = self
            .body_ignores
            .iter()
            .filter(|rule| rule.applies(url))
            .flat_map(|rule| rule.pointers.iter());
        self.ignore_pointers
            .iter()
            .chain(rules)
            .filter_map(|p| parse_pointer(p))
            .collect()
    }

    /// The body of `request` as compared: JSON with the ignored fields removed, or
    /// `None` when the body is not JSON.
    fn comparable_json(&self, request: &Request) -> Option<Value> {
        let value = match &request.body {
            Some(Body::Json(value)) => value.clone(),
            Some(Body::Text(text)) => parse_json_text(text)?,
            _ => return None,
        };
        let url = NormalUrl::parse(&request.url, &self.drop_query_params);
        let pointers = self.pointers_for(&url);
        Some(strip(value, &pointers))
    }
}

/// The hash of a request's canonical form: what [`Index`] looks requests up by.
///
/// Two requests have the same key exactly when their canonical texts
/// ([`MatchRules::canonical_text`]) are equal, up to a 128-bit hash collision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RequestKey(u128);

impl RequestKey {
    /// The digest of a request's exact bytes: the method, the URL as written and
    /// the body bytes. Not a match key: see [`Index::key_of_exact`].
    pub fn of_bytes(method: &str, url: &str, body: Option<&[u8]>) -> RequestKey {
        let body = body.unwrap_or_default();
        let mut buf = Vec::with_capacity(method.len() + url.len() + body.len() + 2);
        buf.extend_from_slice(method.as_bytes());
        buf.push(b' ');
        buf.extend_from_slice(url.as_bytes());
        buf.push(b'\n');
        buf.extend_from_slice(body);
        RequestKey::digest(&buf)
    }

    /// SipHash-1-3 for one half, a multiply-rotate hash over 8-byte words for
    /// the other: two unrelated functions, so a collision needs both to collide.
    fn digest(bytes: &[u8]) -> RequestKey {
        let mut sip = DefaultHasher::new();
        sip.write(bytes);
        let mut lane: u64 = 0x6c6c_6d76_6372_0001 ^ (bytes.len() as u64);
        let mut words = bytes.chunks_exact(8);
        for word in &mut words {
            let mut w = [0u8; 8];
            w.copy_from_slice(word);
            lane = (lane ^ u64::from_le_bytes(w))
                .wrapping_mul(0x9e37_79b9_7f4a_7c15)
                .rotate_left(29);
        }
        let mut tail = [0u8; 8];
        let rest = words.remainder();
        tail[..rest.len()].copy_from_slice(rest);
        lane = (lane ^ u64::from_le_bytes(tail)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        lane ^= lane >> 31;
        RequestKey((u128::from(sip.finish()) << 64) | u128::from(lane))
    }
}

/// A normalised URL: the text used in the key, and where its host and path are.
struct NormalUrl {
    text: String,
    host: std::ops::Range<usize>,
    path: std::ops::Range<usize>,
}

impl NormalUrl {
    fn parse(raw: &str, drop: &[String]) -> NormalUrl {
        match url::Url::parse(raw) {
            Ok(url) => NormalUrl::from_url(&url, drop),
            Err(_) => NormalUrl {
                text: raw.to_owned(),
                host: 0..0,
                path: 0..0,
            },
        }
    }

    fn from_url(url: &url::Url, drop: &[String]) -> NormalUrl {
        let mut text = String::with_capacity(url.as_str().len());
        text.push_str(url.scheme());
        text.push_str("://");
        let host_start = text.len();
        text.push_str(url.host_str().unwrap_or(""));
        text[host_start..].make_ascii_lowercase();
        let host = host_start..text.len();
        if let Some(port) = url.port() {
            text.push(':');
            text.push_str(&port.to_string());
        }
        let path_start = text.len();
        text.push_str(url.path());
        let path = path_start..text.len();
        if url.query().is_some() {
            let mut pairs: Vec<(std::borrow::Cow<'_, str>, std::borrow::Cow<'_, str>)> = url
                .query_pairs()
                .filter(|(name, _)| !drop.iter().any(|d| d.eq_ignore_ascii_case(name)))
                .collect();
            if !pairs.is_empty() {
                pairs.sort();
                let query = url::form_urlencoded::Serializer::new(String::new())
                    .extend_pairs(pairs)
                    .finish();
                text.push('?');
                text.push_str(&query);
            }
        }
        NormalUrl { text, host, path }
    }

    fn host(&self) -> &str {
        self.text.get(self.host.clone()).unwrap_or("")
    }

    fn path(&self) -> &str {
        self.text.get(self.path.clone()).unwrap_or("")
    }
}

/// Writes the method, upper case, and a space.
fn push_method(method: &str, out: &mut Vec<u8>) {
    out.extend(method.bytes().map(|b| b.to_ascii_uppercase()));
    out.push(b' ');
}

/// Parses a body that looks like a JSON object or array.
fn parse_json_text(text: &str) -> Option<Value> {
    let first = text.trim_start().as_bytes().first()?;
    if *first != b'{' && *first != b'[' {
        return None;
    }
    serde_json::from_str(text).ok()
}

/// Splits an RFC 6901 pointer into unescaped segments. `""` (the whole document)
/// and pointers without a leading `/` are not accepted.
fn parse_pointer(pointer: &str) -> Option<Vec<String>> {
    let rest = pointer.strip_prefix('/')?;
    Some(
        rest.split('/')
            .map(|s| s.replace("~1", "/").replace("~0", "~"))
            .collect(),
    )
}

/// Whether `segment` of a pointer selects `key`.
fn segment_matches(segment: &str, key: &str) -> bool {
    segment == "*" || segment == key
}

/// Writes `value` canonically, leaving out the fields `pointers` select.
/// Each pointer is the list of segments still to match below `value`.
fn write_json(value: &Value, pointers: &[Vec<String>], out: &mut Vec<u8>) {
    let active: Vec<&[String]> = pointers.iter().map(Vec::as_slice).collect();
    write_value(value, &active, out);
}

fn write_value(value: &Value, pointers: &[&[String]], out: &mut Vec<u8>) {
    match value {
        Value::Null => out.extend(b"null"),
        Value::Bool(true) => out.extend(b"true"),
        Value::Bool(false) => out.extend(b"false"),
        Value::Number(n) => write_number(n, out),
        Value::String(s) => write_string(s, out),
        Value::Array(items) => {
            out.push(b'[');
            let mut first = true;
            for (i, item) in items.iter().enumerate() {
                let below = if pointers.is_empty() {
                    Vec::new()
                } else {
                    match descend(pointers, &i.to_string()) {
                        Some(below) => below,
                        None => continue,
                    }
                };
                if !first {
                    out.push(b',');
                }
                first = false;
                write_value(item, &below, out);
            }
            out.push(b']');
        }
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort_unstable();
            out.push(b'{');
            let mut first = true;
            for key in keys {
                let below = if pointers.is_empty() {
                    Vec::new()
                } else {
                    match descend(pointers, key) {
                        Some(below) => below,
                        None => continue,
                    }
                };
                let Some(item) = map.get(key) else {
                    continue;
                };
                if !first {
                    out.push(b',');
                }
                first = false;
                write_string(key, out);
                out.push(b':');
                write_value(item, &below, out);
            }
            out.push(b'}');
        }
    }
}

/// The pointers that continue below `key`, or `None` when one of them ends at
/// `key` (the field is ignored).
fn descend<'a>(pointers: &[&'a [String]], key: &str) -> Option<Vec<&'a [String]>> {
    let mut below = Vec::new();
    for pointer in pointers {
        let Some((head, rest)) = pointer.split_first() else {
            continue;
        };
        if segment_matches(head, key) {
            if rest.is_empty() {
                return None;
            }
            below.push(rest);
        }
    }
    Some(below)
}

fn write_number(n: &serde_json::Number, out: &mut Vec<u8>) {
    if let Some(f) = n.as_f64()
        && n.is_f64()
        && f.fract() == 0.0
        && f.abs() < 9.0e15
    {
        // An integral float is the same JSON number as the integer.
        out.extend((f as i64).to_string().as_bytes());
        return;
    }
    out.extend(n.to_string().as_bytes());
}

fn write_string(s: &str, out: &mut Vec<u8>) {
    out.push(b'"');
    let mut rest = s.as_bytes();
    loop {
        let run = rest
            .iter()
            .position(|&b| b == b'"' || b == b'\\' || b < 0x20)
            .unwrap_or(rest.len());
        out.extend_from_slice(&rest[..run]);
        let Some((&b, tail)) = rest[run..].split_first() else {
            break;
        };
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            _ => out.extend_from_slice(format!("\\u{b:04x}").as_bytes()),
        }
        rest = tail;
    }
    out.push(b'"');
}

/// `value` without the fields `pointers` select.
fn strip(value: Value, pointers: &[Vec<String>]) -> Value {
    let active: Vec<&[String]> = pointers.iter().map(Vec::as_slice).collect();
    strip_value(value, &active)
}

fn strip_value(value: Value, pointers: &[&[String]]) -> Value {
    if pointers.is_empty() {
        return value;
    }
    match value {
        Value::Array(items) => Value::Array(
            items
                .into_iter()
                .enumerate()
                .filter_map(|(i, item)| {
                    descend(pointers, &i.to_string()).map(|below| strip_value(item, &below))
                })
                .collect(),
        ),
        Value::Object(map) => Value::Object(
            map.into_iter()
                .filter_map(|(k, item)| {
                    descend(pointers, &k).map(|below| (k, strip_value(item, &below)))
                })
                .collect(),
        ),
        other => other,
    }
}

/// Where one request differs from another.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Difference {
    /// `method`, `url`, `body`, or the JSON pointer of a body field.
    pub path: String,
    /// The recorded value, shortened; `(absent)` when the field is missing.
    pub recorded: String,
    /// The sent value, shortened; `(absent)` when the field is missing.
    pub sent: String,
}

/// The recorded interaction closest to a request that missed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Nearest {
    /// Its index in the cassette, from 0.
    pub index: usize,
    /// Its method.
    pub method: String,
    /// Its URL.
    pub url: String,
    /// Where the requests differ, at most [`Nearest::SHOWN`] entries.
    pub differences: Vec<Difference>,
    /// How many differences there are in all.
    pub total_differences: usize,
}

impl Nearest {
    /// How many differences are kept.
    pub const SHOWN: usize = 12;
}

/// Why no recording answered a request.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum MissReason {
    /// The cassette file does not exist.
    NoCassette,
    /// The cassette has no interactions.
    Empty,
    /// Recordings with the same key exist, and all of them were already played.
    Exhausted {
        /// Their indices.
        played: Vec<usize>,
    },
    /// Recordings with the same key exist, and the custom matcher refused them all.
    Refused {
        /// Their indices.
        candidates: Vec<usize>,
    },
    /// No recording has the same key; this one is the closest.
    Different(Box<Nearest>),
}

/// A request that no recording answers.
///
/// Its `Display` is several lines: the request, the cassette, and the nearest
/// recorded interaction with the JSON paths where the two differ.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoMatch {
    /// The cassette file (or the name it was loaded under).
    pub cassette: String,
    /// How many interactions the cassette holds.
    pub interactions: usize,
    /// The request's method.
    pub method: String,
    /// The request's URL, credentials replaced by placeholders.
    pub url: String,
    /// Why it missed.
    pub reason: MissReason,
}

impl std::error::Error for NoMatch {}

impl fmt::Display for NoMatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "no recorded interaction matches {} {}",
            self.method, self.url
        )?;
        write!(f, "  cassette: {}", self.cassette)?;
        match &self.reason {
            MissReason::NoCassette => {
                write!(
                    f,
                    " does not exist\n  record it with LLMVCR_MODE=once or LLMVCR_MODE=record"
                )
            }
            MissReason::Empty => write!(
                f,
                " has no interactions\n  record it with LLMVCR_MODE=record"
            ),
            MissReason::Exhausted { played } => write!(
                f,
                " ({} interactions)\n  all {} matching interactions were already played: {}\n  \
                 allow repeats (MatchRules::allow_repeats) or record the extra call with \
                 LLMVCR_MODE=new_episodes",
                self.interactions,
                played.len(),
                list_indices(played)
            ),
            MissReason::Refused { candidates } => write!(
                f,
                " ({} interactions)\n  the custom matcher refused every interaction with the \
                 same method, URL and body: {}",
                self.interactions,
                list_indices(candidates)
            ),
            MissReason::Different(nearest) => {
                writeln!(f, " ({} interactions)", self.interactions)?;
                write!(
                    f,
                    "  nearest: #{} {} {}",
                    nearest.index, nearest.method, nearest.url
                )?;
                if nearest.total_differences == 0 {
                    write!(f, "\n  (no difference in the compared fields)")?;
                } else {
                    write!(f, "\n  differences (recorded -> sent):")?;
                }
                for d in &nearest.differences {
                    write!(f, "\n    {}: {} -> {}", d.path, d.recorded, d.sent)?;
                }
                if nearest.total_differences > nearest.differences.len() {
                    write!(
                        f,
                        "\n    ... and {} more",
                        nearest.total_differences - nearest.differences.len()
                    )?;
                }
                write!(
                    f,
                    "\n  record it with LLMVCR_MODE=new_episodes, or re-record with LLMVCR_MODE=record"
                )
            }
        }
    }
}

fn list_indices(indices: &[usize]) -> String {
    let shown: Vec<String> = indices.iter().take(10).map(|i| format!("#{i}")).collect();
    let mut out = shown.join(", ");
    if indices.len() > 10 {
        out.push_str(&format!(", ... ({} in all)", indices.len()));
    }
    out
}

/// How long a value may be in a [`Difference`] before it is shortened.
const SHORT: usize = 60;

/// Shortens `text` to about [`SHORT`] characters, marking the cut.
fn shorten(text: &str) -> String {
    if text.chars().count() <= SHORT {
        return text.to_owned();
    }
    let head: String = text.chars().take(SHORT - 3).collect();
    format!("{head}...")
}

fn show(value: Option<&Value>) -> String {
    match value {
        None => "(absent)".to_owned(),
        Some(v) => shorten(&v.to_string()),
    }
}

/// Collects the JSON paths where `recorded` and `sent` differ.
fn diff_values(
    path: &mut String,
    recorded: Option<&Value>,
    sent: Option<&Value>,
    out: &mut Vec<Difference>,
) {
    match (recorded, sent) {
        (Some(Value::Object(a)), Some(Value::Object(b))) => {
            let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
            keys.sort_unstable();
            keys.dedup();
            for key in keys {
                let len = path.len();
                path.push('/');
                path.push_str(&key.replace('~', "~0").replace('/', "~1"));
                diff_values(path, a.get(key), b.get(key), out);
                path.truncate(len);
            }
        }
        (Some(Value::Array(a)), Some(Value::Array(b))) => {
            for i in 0..a.len().max(b.len()) {
                let len = path.len();
                path.push('/');
                path.push_str(&i.to_string());
                diff_values(path, a.get(i), b.get(i), out);
                path.truncate(len);
            }
        }
        (a, b) => {
            if !json_equal(a, b) {
                out.push(Difference {
                    path: if path.is_empty() {
                        "/".to_owned()
                    } else {
                        path.clone()
                    },
                    recorded: show(a),
                    sent: show(b),
                });
            }
        }
    }
}

fn json_equal(a: Option<&Value>, b: Option<&Value>) -> bool {
    match (a, b) {
        (Some(Value::Number(x)), Some(Value::Number(y))) => {
            let (mut bx, mut by) = (Vec::new(), Vec::new());
            write_number(x, &mut bx);
            write_number(y, &mut by);
            bx == by
        }
        _ => a == b,
    }
}

fn body_text(body: Option<&Body>) -> String {
    match body {
        None => "(empty)".to_owned(),
        Some(Body::Json(v)) => shorten(&v.to_string()),
        Some(Body::Text(t)) => shorten(&format!("{t:?}")),
        Some(Body::Base64(b)) => shorten(&format!("base64 {b}")),
    }
}

/// The differences between a recorded request and a sent one, under `rules`.
pub fn differences(rules: &MatchRules, recorded: &Request, sent: &Request) -> Vec<Difference> {
    let mut out = Vec::new();
    if !recorded.method.eq_ignore_ascii_case(&sent.method) {
        out.push(Difference {
            path: "method".to_owned(),
            recorded: recorded.method.clone(),
            sent: sent.method.clone(),
        });
    }
    let (ru, su) = (
        rules.normalize_url(&recorded.url),
        rules.normalize_url(&sent.url),
    );
    if ru != su {
        out.push(Difference {
            path: "url".to_owned(),
            recorded: shorten(&recorded.url),
            sent: shorten(&sent.url),
        });
    }
    if !rules.match_body {
        return out;
    }
    match (rules.comparable_json(recorded), rules.comparable_json(sent)) {
        (Some(a), Some(b)) => diff_values(&mut String::new(), Some(&a), Some(&b), &mut out),
        _ => {
            let mut a = Vec::new();
            let mut b = Vec::new();
            rules.write_canonical(recorded, &mut a);
            rules.write_canonical(sent, &mut b);
            let body_a = a.splitn(2, |c| *c == b'\n').nth(1).unwrap_or_default();
            let body_b = b.splitn(2, |c| *c == b'\n').nth(1).unwrap_or_default();
            if body_a != body_b {
                out.push(Difference {
                    path: "body".to_owned(),
                    recorded: body_text(recorded.body.as_ref()),
                    sent: body_text(sent.body.as_ref()),
                });
            }
        }
    }
    out
}

/// A request in cassette form, given or built on first use.
pub(crate) enum LazyRequest<'r> {
    /// Already built.
    Ready(&'r Request),
    /// Built by `build` the first time it is needed.
    Later {
        cell: std::cell::OnceCell<Request>,
        build: &'r dyn Fn() -> Request,
    },
}

impl<'r> LazyRequest<'r> {
    /// A request built by `build` when first needed.
    pub(crate) fn later(build: &'r dyn Fn() -> Request) -> LazyRequest<'r> {
        LazyRequest::Later {
            cell: std::cell::OnceCell::new(),
            build,
        }
    }

    /// The request.
    pub(crate) fn get(&self) -> &Request {
        match self {
            LazyRequest::Ready(request) => request,
            LazyRequest::Later { cell, build } => cell.get_or_init(*build),
        }
    }
}

#[derive(Debug, Clone, Default)]
struct Slot {
    /// Interactions with this key, in recorded order.
    members: Vec<usize>,
    /// How many of `members`, from the front, are known to be played.
    cursor: usize,
}

/// Recorded requests indexed by [`RequestKey`], with what has been played.
///
/// The index does not own the interactions: pass the same slice (grown only at
/// the end) to every call.
#[derive(Debug, Clone)]
pub struct Index {
    rules: MatchRules,
    slots: HashMap<RequestKey, Slot>,
    /// The digest of each recorded request's exact bytes ([`RequestKey::of_bytes`]),
    /// mapped to its match key: a request sent byte for byte as recorded skips
    /// canonicalisation.
    exact: HashMap<RequestKey, RequestKey>,
    played: Vec<bool>,
}

impl Index {
    /// Indexes `interactions` under `rules`. Linear in the size of the requests.
    pub fn new(rules: MatchRules, interactions: &[Interaction]) -> Index {
        let mut index = Index {
            rules,
            slots: HashMap::with_capacity(interactions.len()),
            exact: HashMap::with_capacity(interactions.len()),
            played: Vec::with_capacity(interactions.len()),
        };
        for interaction in interactions {
            index.push(interaction, false);
        }
        index
    }

    /// Indexes recorded requests by their keys, computed beforehand: the
    /// match key of each, in cassette order, and its exact-bytes digest where
    /// known.
    pub(crate) fn with_keys(
        rules: MatchRules,
        keys: Vec<(RequestKey, Option<RequestKey>)>,
    ) -> Index {
        let mut index = Index {
            rules,
            slots: HashMap::with_capacity(keys.len()),
            exact: HashMap::with_capacity(keys.len()),
            played: Vec::with_capacity(keys.len()),
        };
        for (position, (key, exact)) in keys.into_iter().enumerate() {
            if let Some(exact) = exact {
                index.exact.insert(exact, key);
            }
            index.played.push(false);
            index.slots.entry(key).or_default().members.push(position);
        }
        index
    }

    /// The rules.
    pub fn rules(&self) -> &MatchRules {
        &self.rules
    }

    /// How many interactions are indexed.
    pub fn len(&self) -> usize {
        self.played.len()
    }

    /// Whether no interaction is indexed.
    pub fn is_empty(&self) -> bool {
        self.played.is_empty()
    }

    /// Adds the next interaction of the cassette, already played or not, and
    /// returns its index.
    pub fn push(&mut self, interaction: &Interaction, played: bool) -> usize {
        let position = self.played.len();
        let request = &interaction.request;
        let key = self.rules.key(request);
        let body = request.body.as_ref().map(crate::convert::body_bytes);
        let exact = RequestKey::of_bytes(&request.method, &request.url, body.as_deref());
        self.exact.insert(exact, key);
        self.played.push(played);
        self.slots.entry(key).or_default().members.push(position);
        position
    }

    /// The match key of the recording whose exact bytes digest to `exact`
    /// ([`RequestKey::of_bytes`]), if any. Two requests with the same bytes have
    /// the same match key, so this is a shortcut, never a different answer.
    pub fn key_of_exact(&self, exact: &RequestKey) -> Option<RequestKey> {
        self.exact.get(exact).copied()
    }

    /// Remembers that requests whose exact bytes digest to `exact` have the
    /// match key `key`, so the next one skips canonicalisation. Up to a
    /// bound, so a long run of distinct requests does not grow it forever.
    pub(crate) fn remember_exact(&mut self, exact: RequestKey, key: RequestKey) {
        const LEARNED: usize = 4096;
        if self.exact.len() < self.played.len() + LEARNED {
            self.exact.insert(exact, key);
        }
    }

    /// Whether some recording has `key`.
    pub fn knows(&self, key: &RequestKey) -> bool {
        self.slots.contains_key(key)
    }

    /// Whether interaction `index` has been played.
    pub fn is_played(&self, index: usize) -> bool {
        self.played.get(index).copied().unwrap_or(false)
    }

    /// Finds the recording that answers `request` and marks it played.
    ///
    /// `interactions` must be the slice the index was built from; `cassette`
    /// names it in the error.
    pub fn find(
        &mut self,
        request: &IncomingRequest,
        interactions: &[Interaction],
        cassette: &str,
    ) -> Result<usize, NoMatch> {
        let key = self.rules.key(request);
        self.find_key(key, &LazyRequest::Ready(request), interactions, cassette)
    }

    /// [`Index::find`] for a request whose key is already known; the request in
    /// cassette form is built only if the custom matcher or a miss needs it.
    pub(crate) fn find_key(
        &mut self,
        key: RequestKey,
        request: &LazyRequest<'_>,
        interactions: &[Interaction],
        cassette: &str,
    ) -> Result<usize, NoMatch> {
        let reason = match self.slots.get_mut(&key) {
            Some(slot) => match take(slot, &mut self.played, &self.rules, request, interactions) {
                Ok(found) => return Ok(found),
                Err(reason) => reason,
            },
            None if interactions.is_empty() => MissReason::Empty,
            None => MissReason::Different(Box::new(self.nearest(request.get(), interactions))),
        };
        let request = request.get();
        Err(NoMatch {
            cassette: cassette.to_owned(),
            interactions: interactions.len(),
            method: request.method.clone(),
            url: request.url.clone(),
            reason,
        })
    }

    /// The closest recording to `request`: the same method and URL first, then the
    /// fewest differences. A linear scan, used only to explain a miss.
    pub fn nearest(&self, request: &IncomingRequest, interactions: &[Interaction]) -> Nearest {
        let sent_url = self.rules.normalize_url(&request.url);
        let mut best: Option<(bool, usize, usize, Vec<Difference>)> = None;
        for (i, interaction) in interactions.iter().enumerate() {
            let recorded = &interaction.request;
            let same_target = recorded.method.eq_ignore_ascii_case(&request.method)
                && self.rules.normalize_url(&recorded.url) == sent_url;
            let diffs = differences(&self.rules, recorded, request);
            let better = match &best {
                None => true,
                Some((best_same, best_count, _, _)) => {
                    (same_target && !best_same)
                        || (same_target == *best_same && diffs.len() < *best_count)
                }
            };
            if better {
                best = Some((same_target, diffs.len(), i, diffs));
            }
        }
        match best {
            Some((_, total, index, mut diffs)) => {
                diffs.truncate(Nearest::SHOWN);
                let recorded = interactions.get(index).map(|i| &i.request);
                Nearest {
                    index,
                    method: recorded.map(|r| r.method.clone()).unwrap_or_default(),
                    url: recorded.map(|r| r.url.clone()).unwrap_or_default(),
                    differences: diffs,
                    total_differences: total,
                }
            }
            None => Nearest {
                index: 0,
                method: String::new(),
                url: String::new(),
                differences: Vec::new(),
                total_differences: 0,
            },
        }
    }
}

/// Takes the next unplayed member of `slot` that the custom matcher accepts.
fn take(
    slot: &mut Slot,
    played: &mut [bool],
    rules: &MatchRules,
    request: &LazyRequest<'_>,
    interactions: &[Interaction],
) -> Result<usize, MissReason> {
    let accepts = |i: usize| match (&rules.custom, interactions.get(i)) {
        (None, _) => true,
        (Some(custom), Some(interaction)) => custom(request.get(), interaction),
        (Some(_), None) => false,
    };
    while slot.cursor < slot.members.len()
        && played
            .get(slot.members[slot.cursor])
            .copied()
            .unwrap_or(true)
    {
        slot.cursor += 1;
    }
    let mut refused = false;
    for &member in &slot.members[slot.cursor..] {
        if played.get(member).copied().unwrap_or(true) {
            continue;
        }
        if accepts(member) {
            if let Some(flag) = played.get_mut(member) {
                *flag = true;
            }
            return Ok(member);
        }
        refused = true;
    }
    if rules.allow_repeats
        && let Some(&last) = slot.members.iter().rev().find(|&&m| accepts(m))
    {
        return Ok(last);
    }
    let any_accepted = slot.members.iter().any(|&m| accepts(m));
    if refused || !any_accepted {
        Err(MissReason::Refused {
            candidates: slot.members.clone(),
        })
    } else {
        Err(MissReason::Exhausted {
            played: slot.members.clone(),
        })
    }
}

/// Whether a pointer's `segment` selects `key` (an object key or an array
/// index), for the canonical writer of the fast YAML reader.
pub(crate) fn segment_selects(segment: &str, key: &str) -> bool {
    segment_matches(segment, key)
}

/// A number as the canonical text writes it.
pub(crate) fn write_canonical_number(n: &serde_json::Number, out: &mut Vec<u8>) {
    write_number(n, out);
}

/// A string as the canonical text writes it.
pub(crate) fn write_canonical_string(s: &str, out: &mut Vec<u8>) {
    write_string(s, out);
}

impl MatchRules {
    /// What the canonical text of a request with a JSON body starts with
    /// (method, normalised URL, the body's tag), and the pointers its body
    /// leaves out. With [`MatchRules::key_of_canonical`], the key of such a
    /// request whose canonical body is appended to the prefix: equal to
    /// [`MatchRules::key`] of the request in cassette form.
    pub(crate) fn json_body_prefix(
        &self,
        method: &str,
        url: &url::Url,
    ) -> (Vec<u8>, Option<Vec<Vec<String>>>) {
        let mut out = Vec::with_capacity(256);
        push_method(method, &mut out);
        let url = NormalUrl::from_url(url, &self.drop_query_params);
        out.extend_from_slice(url.text.as_bytes());
        out.push(b'\n');
        if !self.match_body {
            return (out, None);
        }
        out.extend_from_slice(b"json ");
        (out, Some(self.pointers_for(&url)))
    }

    /// The key of a request from its whole canonical text.
    pub(crate) fn key_of_canonical(canonical: &[u8]) -> RequestKey {
        RequestKey::digest(canonical)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use serde_json::json;

    use super::*;
    use crate::format::{HeaderList, Response};

    fn req(method: &str, url: &str, body: Option<Value>) -> Request {
        Request {
            method: method.to_owned(),
            url: url.to_owned(),
            headers: HeaderList::default(),
            body: body.map(Body::Json),
        }
    }

    fn interaction(request: Request) -> Interaction {
        Interaction {
            recorded_at: None,
            request,
            response: Response {
                status: 200,
                headers: HeaderList::default(),
                body: None,
                stream: None,
            },
        }
    }

    #[test]
    fn url_is_normalised() {
        let rules = MatchRules::new().with_dropped_query_param("key");
        assert_eq!(
            rules.normalize_url("HTTPS://Example.COM:443/v1/x?b=2&key=AIzaSecret&a=1#frag"),
            "https://example.com/v1/x?a=1&b=2"
        );
        assert_eq!(
            rules.normalize_url("http://127.0.0.1:8080/p?key=x"),
            "http://127.0.0.1:8080/p"
        );
    }

    #[test]
    fn key_ignores_order_and_pointers() {
        let rules = MatchRules::new()
            .with_ignored_pointer("/user")
            .with_body_ignore(BodyIgnore::for_host(
                "api.anthropic.com",
                ["/metadata/user_id"],
            ));
        let a = req(
            "post",
            "https://api.anthropic.com/v1/messages",
            Some(
                json!({"a": 1, "b": [1.0, {"y": 1, "x": 2}], "user": "u1", "metadata": {"user_id": "x", "k": 1}}),
            ),
        );
        let b = req(
            "POST",
            "https://api.anthropic.com/v1/messages",
            Some(json!({"metadata": {"k": 1}, "b": [1, {"x": 2, "y": 1}], "a": 1})),
        );
        assert_eq!(rules.key(&a), rules.key(&b));
        assert_eq!(rules.canonical_text(&a), rules.canonical_text(&b));
        let c = req(
            "POST",
            "https://api.anthropic.com/v1/messages",
            Some(json!({"a": 2})),
        );
        assert_ne!(rules.key(&a), rules.key(&c));
    }

    #[test]
    fn wildcard_pointer() {
        let rules = MatchRules::new().with_ignored_pointer("/messages/*/id");
        let a = req(
            "POST",
            "http://h/x",
            Some(json!({"messages": [{"id": 1, "t": "a"}, {"id": 2, "t": "b"}]})),
        );
        let b = req(
            "POST",
            "http://h/x",
            Some(json!({"messages": [{"id": 9, "t": "a"}, {"t": "b"}]})),
        );
        assert_eq!(rules.key(&a), rules.key(&b));
    }

    #[test]
    fn identical_requests_play_in_order_then_miss_or_repeat() {
        let r = req("POST", "http://h/x", Some(json!({"q": 1})));
        let list = vec![interaction(r.clone()), interaction(r.clone())];
        let mut index = Index::new(MatchRules::new(), &list);
        assert_eq!(index.find(&r, &list, "c.yaml").unwrap(), 0);
        assert_eq!(index.find(&r, &list, "c.yaml").unwrap(), 1);
        let err = index.find(&r, &list, "c.yaml").unwrap_err();
        assert_eq!(err.reason, MissReason::Exhausted { played: vec![0, 1] });
        assert!(err.to_string().contains("already played"), "{err}");

        let mut index = Index::new(MatchRules::new().with_repeats(true), &list);
        for expected in [0, 1, 1, 1] {
            assert_eq!(index.find(&r, &list, "c.yaml").unwrap(), expected);
        }
    }

    #[test]
    fn miss_names_the_nearest_and_the_paths() {
        let list = vec![
            interaction(req("GET", "http://h/models", None)),
            interaction(req(
                "POST",
                "http://h/chat",
                Some(
                    json!({"model": "m", "messages": [{"role": "user", "content": "Say hello"}], "temperature": 0.2}),
                ),
            )),
        ];
        let mut index = Index::new(MatchRules::new(), &list);
        let sent = req(
            "POST",
            "http://h/chat",
            Some(json!({"model": "m", "messages": [{"role": "user", "content": "Say goodbye"}]})),
        );
        let err = index.find(&sent, &list, "cassettes/t.yaml").unwrap_err();
        let MissReason::Different(nearest) = &err.reason else {
            panic!("{err:?}");
        };
        assert_eq!(nearest.index, 1);
        let paths: Vec<&str> = nearest
            .differences
            .iter()
            .map(|d| d.path.as_str())
            .collect();
        assert_eq!(paths, vec!["/messages/0/content", "/temperature"]);
        let text = err.to_string();
        assert!(text.contains("cassettes/t.yaml"), "{text}");
        assert!(text.contains("#1 POST http://h/chat"), "{text}");
        assert!(text.contains(r#""Say hello" -> "Say goodbye""#), "{text}");
        assert!(text.contains("0.2 -> (absent)"), "{text}");
    }

    #[test]
    fn empty_cassette_miss() {
        let mut index = Index::new(MatchRules::new(), &[]);
        let err = index
            .find(&req("GET", "http://h/", None), &[], "e.yaml")
            .unwrap_err();
        assert_eq!(err.reason, MissReason::Empty);
        assert!(err.to_string().contains("has no interactions"));
    }

    #[test]
    fn custom_matcher_refuses() {
        let r = req("POST", "http://h/x", Some(json!({"q": 1})));
        let list = vec![interaction(r.clone())];
        let rules = MatchRules::new().with_custom(|_, _| false);
        let mut index = Index::new(rules, &list);
        let err = index.find(&r, &list, "c.yaml").unwrap_err();
        assert!(matches!(err.reason, MissReason::Refused { .. }));
    }

    #[test]
    fn long_values_are_shortened() {
        let long = "x".repeat(200);
        let s = shorten(&long);
        assert_eq!(s.chars().count(), SHORT);
        assert!(s.ends_with("..."));
    }

    #[test]
    fn text_bodies_that_are_json_match_json_bodies() {
        let rules = MatchRules::new();
        let a = req("POST", "http://h/x", Some(json!({"b": 1, "a": 2})));
        let mut b = req("POST", "http://h/x", None);
        b.body = Some(Body::Text(r#"{ "a": 2, "b": 1 }"#.to_owned()));
        assert_eq!(rules.key(&a), rules.key(&b));
        let mut c = req("POST", "http://h/x", None);
        c.body = Some(Body::Text("a=2&b=1".to_owned()));
        assert_ne!(rules.key(&a), rules.key(&c));
    }
}
