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
use std::io::Write as _;
use std::sync::Arc;

use serde_json::Value;

use crate::format::{Body, Interaction, Request};
use digest::KeyHash;

mod digest;
pub(crate) mod exact;
#[cfg(test)]
mod props;
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
        let target = self.target(&request.url);
        self.write_canonical_to(request, &target, out, &mut Walk::default());
    }

    /// What the key of a request to `url` takes from the URL.
    fn target(&self, url: &str) -> Target {
        let url = NormalUrl::parse(url, &self.drop_query_params);
        let pointers = self.pointers_for(&url);
        Target {
            url: url.text,
            pointers,
        }
    }

    /// Writes the canonical text of `request`, whose URL gives `target`.
    fn write_canonical_to<'v>(
        &self,
        request: &'v Request,
        target: &Target,
        out: &mut Vec<u8>,
        walk: &mut Walk<'v>,
    ) {
        write_canonical_head(request, target, out);
        if !self.match_body {
            return;
        }
        match &request.body {
            None => out.extend(b"empty"),
            Some(Body::Json(value)) => {
                out.extend(b"json ");
                write_value(value, target.active(), out, &mut (), walk);
            }
            Some(Body::Text(text)) => match parse_json_text(text) {
                Some(value) => {
                    out.extend(b"json ");
                    write_json(&value, &target.pointers, out);
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
        push_exact_head(method, url, &mut buf);
        buf.extend_from_slice(body);
        RequestKey::digest(&buf)
    }

    /// The digest of `bytes`: see `matcher/digest.rs`.
    fn digest(bytes: &[u8]) -> RequestKey {
        RequestKey(digest::digest(bytes))
    }
}

/// The start of the bytes [`RequestKey::of_bytes`] digests: the method, a
/// space, the URL and a newline; the body follows.
fn push_exact_head(method: &str, url: &str, out: &mut Vec<u8>) {
    out.extend_from_slice(method.as_bytes());
    out.push(b' ');
    out.extend_from_slice(url.as_bytes());
    out.push(b'\n');
}

/// What the key of a request takes from its URL: the normalised URL, and the
/// parsed pointers of the body fields ignored at that URL.
#[derive(Debug, Clone)]
struct Target {
    url: String,
    pointers: Vec<Vec<String>>,
}

impl Target {
    /// The pointers as [`write_value`] takes them.
    fn active(&self) -> Pointers<'_> {
        Pointers::Whole(&self.pointers)
    }
}

/// The JSON pointers that apply to a value being written: the segments of
/// each still to match below it.
#[derive(Clone, Copy)]
enum Pointers<'a> {
    /// Whole pointers (parsed), at the top of a body.
    Whole(&'a [Vec<String>]),
    /// What is left of pointers below a field.
    Below(&'a [&'a [String]]),
}

impl<'a> Pointers<'a> {
    fn is_empty(self) -> bool {
        match self {
            Pointers::Whole(pointers) => pointers.is_empty(),
            Pointers::Below(pointers) => pointers.is_empty(),
        }
    }

    /// [`descend`] into `key`.
    fn descend(self, key: &str) -> Option<Vec<&'a [String]>> {
        match self {
            Pointers::Whole(pointers) => descend_from(pointers.iter().map(Vec::as_slice), key),
            Pointers::Below(pointers) => descend_from(pointers.iter().copied(), key),
        }
    }
}

/// The canonical text up to the body: the method, upper case, a space, the
/// normalised URL and a newline.
fn write_canonical_head(request: &Request, target: &Target, out: &mut Vec<u8>) {
    push_method(&request.method, out);
    out.extend_from_slice(target.url.as_bytes());
    out.push(b'\n');
}

/// Scratch space for [`write_value`], reused across values and requests;
/// each call leaves it as it found it.
#[derive(Default)]
struct Walk<'v> {
    /// The members of the objects being written, innermost object last: key,
    /// value, and position in the document.
    members: Vec<(&'v str, &'v Value, usize)>,
    /// The exact bytes of each member of the objects being reordered (key to
    /// value, no comma), with its position in the document: where they are
    /// in the canonical bytes (`true`) or the exact bytes (`false`).
    spans: Vec<(usize, bool, std::ops::Range<usize>)>,
    /// The exact bytes of an object being put back in document order.
    moved: Vec<u8>,
}

/// What [`write_value`] does besides writing the canonical form: nothing
/// (`()`), or also produce the exact bytes of the value, as
/// `serde_json::to_vec` writes them ([`Exact`]).
trait ExactSink {
    /// Whether this sink produces anything.
    const ON: bool;

    /// Brings the exact bytes up to date with the canonical bytes written to
    /// `out` before `upto`, which are the same in both forms.
    fn flush_to(&mut self, out: &[u8], upto: usize);

    /// Marks the canonical bytes written to `out` so far as not part of the
    /// exact bytes (the exact form of that part was written with
    /// [`ExactSink::bytes`]).
    fn skip(&mut self, out: &[u8]);

    /// The exact bytes, once brought up to date: [`ExactSink::flush_to`] the
    /// end of `out` first.
    fn bytes(&mut self) -> Option<&mut Vec<u8>>;

    /// [`ExactSink::flush_to`] the end of `out`.
    #[inline(always)]
    fn flush(&mut self, out: &[u8]) {
        self.flush_to(out, out.len());
    }

    /// Where the canonical bytes not yet accounted for start.
    fn synced(&self) -> usize;
}

impl ExactSink for () {
    const ON: bool = false;

    #[inline(always)]
    fn flush_to(&mut self, _: &[u8], _: usize) {}

    #[inline(always)]
    fn skip(&mut self, _: &[u8]) {}

    #[inline(always)]
    fn bytes(&mut self) -> Option<&mut Vec<u8>> {
        None
    }

    #[inline(always)]
    fn synced(&self) -> usize {
        0
    }
}

/// The exact bytes of a value, produced lazily from its canonical bytes.
///
/// Where the two forms agree (a string without control characters, an
/// integer, an object whose keys are in order, punctuation) the exact bytes
/// are not written twice: they are copied from the canonical bytes, in runs,
/// when the forms part (an ignored field, an integral float, a control
/// character, an object whose members must be put back in document order).
/// What the exact form then holds is `bytes` followed by the canonical bytes
/// from `synced` on.
struct Exact {
    bytes: Vec<u8>,
    /// Where the canonical bytes not yet copied start.
    synced: usize,
}

impl ExactSink for Exact {
    const ON: bool = true;

    #[inline(always)]
    fn flush_to(&mut self, out: &[u8], upto: usize) {
        if upto > self.synced {
            self.bytes
                .extend_from_slice(out.get(self.synced..upto).unwrap_or_default());
            self.synced = upto;
        }
    }

    #[inline(always)]
    fn skip(&mut self, out: &[u8]) {
        self.synced = out.len();
    }

    #[inline(always)]
    fn bytes(&mut self) -> Option<&mut Vec<u8>> {
        Some(&mut self.bytes)
    }

    #[inline(always)]
    fn synced(&self) -> usize {
        self.synced
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
        match NormalUrl::try_parse(raw, drop) {
            Some(url) => url,
            None => NormalUrl {
                text: raw.to_owned(),
                host: 0..0,
                path: 0..0,
            },
        }
    }

    /// The normal form of `raw`, or `None` when it is not a URL.
    fn try_parse(raw: &str, drop: &[String]) -> Option<NormalUrl> {
        if let Some(url) = NormalUrl::simple(raw) {
            return Some(url);
        }
        url::Url::parse(raw)
            .ok()
            .map(|url| NormalUrl::from_url(&url, drop))
    }

    /// `raw` itself when it is already in normal form, the usual case for a
    /// recorded URL: `http` or `https`, a lower-case host name (or an IPv4
    /// address written as the URL parser writes it), a port other than the
    /// scheme's default, and a path of characters the parser leaves as they
    /// are, without dot segments; no user, query or fragment. Anything else
    /// is `None` and goes through the URL parser. Tests hold this against the
    /// parser on generated and recorded URLs.
    fn simple(raw: &str) -> Option<NormalUrl> {
        let (rest, default_port) = if let Some(rest) = raw.strip_prefix("https://") {
            (rest, "443")
        } else {
            (raw.strip_prefix("http://")?, "80")
        };
        let host_start = raw.len() - rest.len();
        let authority_end = rest.find('/').map_or(raw.len(), |at| host_start + at);
        let authority = &raw[host_start..authority_end];
        let (host, port) = match authority.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        };
        if !simple_host(host) {
            return None;
        }
        if let Some(port) = port {
            let valid = !port.is_empty()
                && port.len() <= 5
                && port.bytes().all(|c| c.is_ascii_digit())
                && !port.starts_with('0')
                && port.parse::<u32>().is_ok_and(|p| p <= 65535)
                && port != default_port;
            if !valid {
                return None;
            }
        }
        let path = &raw[authority_end..];
        let path_ok = path.starts_with('/')
            && path.bytes().all(|c| {
                c.is_ascii_alphanumeric()
                    || matches!(
                        c,
                        b'-' | b'.'
                            | b'_'
                            | b'~'
                            | b'!'
                            | b'$'
                            | b'&'
                            | b'\''
                            | b'('
                            | b')'
                            | b'*'
                            | b'+'
                            | b','
                            | b';'
                            | b'='
                            | b':'
                            | b'@'
                            | b'/'
                    )
            })
            && !path
                .split('/')
                .any(|segment| segment == "." || segment == "..");
        if !path_ok {
            return None;
        }
        Some(NormalUrl {
            text: raw.to_owned(),
            host: host_start..host_start + host.len(),
            path: authority_end..raw.len(),
        })
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

/// What the canonical text of requests with JSON bodies to one URL starts
/// with, and the pointers their bodies leave out (`None`: bodies are not
/// compared); see [`MatchRules::json_body_prefix`].
pub(crate) type BodyPrefix = (Vec<u8>, Option<Vec<Vec<String>>>);

/// Whether `host` is a lower-case host name the URL parser leaves as it is:
/// labels of `a-z`, `0-9` and `-`, not empty, no punycode, the last not
/// numeric (the parser reads such hosts as IPv4 addresses), or an IPv4
/// address as the parser writes one.
fn simple_host(host: &str) -> bool {
    let labels = host.split('.');
    let last = labels.clone().next_back().unwrap_or("");
    if !host.is_empty() && last.bytes().all(|c| c.is_ascii_digit()) {
        // An IPv4 address: four decimal parts up to 255, no leading zero.
        let mut parts = 0;
        for part in host.split('.') {
            parts += 1;
            let ok = !part.is_empty()
                && part.len() <= 3
                && part.bytes().all(|c| c.is_ascii_digit())
                && (part == "0" || !part.starts_with('0'))
                && part.parse::<u16>().is_ok_and(|v| v <= 255);
            if !ok {
                return false;
            }
        }
        return parts == 4;
    }
    labels.into_iter().all(|label| {
        !label.is_empty()
            && !label.starts_with("xn--")
            && label
                .bytes()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-')
    }) && !last.starts_with(|c: char| c.is_ascii_digit())
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
pub(crate) fn segment_matches(segment: &str, key: &str) -> bool {
    segment == "*" || segment == key
}

/// Writes `value` canonically, leaving out the fields `pointers` select.
/// Each pointer is the list of segments still to match below `value`.
fn write_json(value: &Value, pointers: &[Vec<String>], out: &mut Vec<u8>) {
    write_value(
        value,
        Pointers::Whole(pointers),
        out,
        &mut (),
        &mut Walk::default(),
    );
}

/// [`write_json`] with the pointers as slices and scratch space; and, with
/// an [`Exact`] sink, the exact bytes of the value produced in the same walk.
/// (The exact bytes keep the document's order, the ignored fields and the
/// numbers as written.)
#[inline(always)]
fn write_value<'v, E: ExactSink>(
    value: &'v Value,
    pointers: Pointers<'_>,
    out: &mut Vec<u8>,
    exact: &mut E,
    walk: &mut Walk<'v>,
) {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Number(n) => {
            let start = out.len();
            write_number(n, out);
            // An integral float is written as an integer: the exact form differs.
            if E::ON && n.is_f64() {
                exact.flush_to(out, start);
                if let Some(bytes) = exact.bytes() {
                    write_int_or_display(n, bytes);
                }
                exact.skip(out);
            }
        }
        Value::String(s) => write_string_both(s, out, exact),
        Value::Array(items) => write_array(items, pointers, out, exact, walk),
        Value::Object(map) => write_object(map, pointers, out, exact, walk),
    }
}

/// [`write_value`] for an array.
fn write_array<'v, E: ExactSink>(
    items: &'v [Value],
    pointers: Pointers<'_>,
    out: &mut Vec<u8>,
    exact: &mut E,
    walk: &mut Walk<'v>,
) {
    out.push(b'[');
    let mut first = true;
    for (i, item) in items.iter().enumerate() {
        let below = if pointers.is_empty() {
            Vec::new()
        } else {
            match pointers.descend(IndexText::new(i).as_str()) {
                Some(below) => below,
                None => {
                    // Ignored: in the exact bytes only.
                    exact.flush(out);
                    if let Some(bytes) = exact.bytes() {
                        if i > 0 {
                            bytes.push(b',');
                        }
                        exact::write_compact(item, bytes);
                    }
                    continue;
                }
            }
        };
        if !first {
            out.push(b',');
        } else if i > 0 {
            // The first item written follows ignored ones: the exact bytes
            // have a comma here.
            exact.flush(out);
            if let Some(bytes) = exact.bytes() {
                bytes.push(b',');
            }
        }
        first = false;
        write_value(item, Pointers::Below(&below), out, exact, walk);
    }
    out.push(b']');
}

/// Compares keys as `str` does, the first 8 bytes inline: most keys differ
/// in them. (Zero padding sorts a prefix first, as `str` does; equal
/// prefixes, padding included, are compared in full.)
#[inline(always)]
fn key_order(a: &str, b: &str) -> std::cmp::Ordering {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let (x, y) = (load_short(a).swap_bytes(), load_short(b).swap_bytes());
    if x == y { a.cmp(b) } else { x.cmp(&y) }
}

/// [`write_value`] for an object.
fn write_object<'v, E: ExactSink>(
    map: &'v serde_json::Map<String, Value>,
    pointers: Pointers<'_>,
    out: &mut Vec<u8>,
    exact: &mut E,
    walk: &mut Walk<'v>,
) {
    out.push(b'{');
    let mut first = true;
    if map.keys().is_sorted_by(|a, b| key_order(a, b).is_le()) {
        // In document order already: the same bytes in both forms, but for
        // the ignored members and the commas after them.
        for (position, (key, item)) in map.iter().enumerate() {
            write_member::<E, false>(key, item, position, pointers, out, exact, walk, &mut first);
        }
        out.push(b'}');
        return;
    }
    // The members are sorted by key in `walk.members`, past what the
    // enclosing objects hold there; nested objects push theirs after these
    // and truncate back. Keys are unique, so the unstable sort gives the one
    // sorted order.
    let mark = walk.members.len();
    walk.members.extend(
        map.iter()
            .enumerate()
            .map(|(position, (key, item))| (key.as_str(), item, position)),
    );
    let end = walk.members.len();
    if let Some(members) = walk.members.get_mut(mark..) {
        members.sort_unstable_by(|a, b| key_order(a.0, b.0));
    }
    // Where each member's exact bytes are is noted in `walk.spans`, and they
    // are put in document order at the end.
    let spans_mark = walk.spans.len();
    exact.flush(out);
    let start = exact.bytes().map_or(0, |bytes| bytes.len());
    for at in mark..end {
        let Some(&(key, item, position)) = walk.members.get(at) else {
            break;
        };
        write_member::<E, true>(key, item, position, pointers, out, exact, walk, &mut first);
    }
    if let Some(bytes) = exact.bytes() {
        restore_order(out, bytes, start, walk, spans_mark);
    }
    walk.spans.truncate(spans_mark);
    walk.members.truncate(mark);
    out.push(b'}');
}

/// Writes the member `key` of an object, at `position` in the document
/// (after others unless `first`): in sorted order with, if `REORDER`, its
/// exact bytes noted in `walk.spans` to be put in document order; otherwise
/// the members come in document order, which is sorted.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn write_member<'v, E: ExactSink, const REORDER: bool>(
    key: &'v str,
    item: &'v Value,
    position: usize,
    pointers: Pointers<'_>,
    out: &mut Vec<u8>,
    exact: &mut E,
    walk: &mut Walk<'v>,
    first: &mut bool,
) {
    let below = if pointers.is_empty() {
        Some(Vec::new())
    } else {
        pointers.descend(key)
    };
    let Some(below) = below else {
        // Ignored: in the exact bytes only.
        exact.flush(out);
        if let Some(bytes) = exact.bytes() {
            if !REORDER && position > 0 {
                bytes.push(b',');
            }
            let member_start = bytes.len();
            exact::write_escaped(key, bytes);
            bytes.push(b':');
            exact::write_compact(item, bytes);
            if REORDER {
                walk.spans
                    .push((position, false, member_start..bytes.len()));
            }
        }
        return;
    };
    if !*first {
        out.push(b',');
        if REORDER {
            // Commas come back with the document order.
            exact.skip(out);
        }
    } else if !REORDER && position > 0 {
        // The first member written follows ignored ones: the exact bytes
        // have a comma here.
        exact.flush(out);
        if let Some(bytes) = exact.bytes() {
            bytes.push(b',');
        }
    }
    *first = false;
    // With `REORDER`, nothing is pending here: the member's exact bytes are
    // its canonical bytes unless the forms part inside it.
    let canonical_start = out.len();
    let exact_start = if REORDER {
        exact.bytes().map_or(0, |bytes| bytes.len())
    } else {
        0
    };
    write_string_both(key, out, exact);
    out.push(b':');
    write_value(item, Pointers::Below(&below), out, exact, walk);
    if REORDER && E::ON {
        if exact.synced() == canonical_start {
            walk.spans
                .push((position, true, canonical_start..out.len()));
            exact.skip(out);
        } else {
            exact.flush(out);
            if let Some(bytes) = exact.bytes() {
                walk.spans.push((position, false, exact_start..bytes.len()));
            }
        }
    }
}

/// Brings the requests of `batch` into the cache ahead of the writer: reads
/// their method, URL, and the members and keys of their JSON bodies, breadth
/// first over all of the bodies at once, and returns a sum of what it read
/// (for `black_box`, so that the reads happen).
///
/// The reads of one level of the trees are independent of each other, so
/// their cache misses overlap; the depth-first writer would meet them one
/// after another. A cassette just loaded is mostly out of the caches, and
/// waiting for memory is then much of what indexing it costs.
fn touch<'v>(batch: &'v [Interaction], queue: &mut Vec<&'v Value>) -> usize {
    let mut sum = 0usize;
    queue.clear();
    for interaction in batch {
        let request = &interaction.request;
        let first = |s: &str| s.as_bytes().first().map_or(0, |&b| usize::from(b));
        sum = sum
            .wrapping_add(first(&request.method))
            .wrapping_add(first(&request.url));
        match &request.body {
            Some(Body::Json(value)) => sum = sum.wrapping_add(touch_one(value, queue)),
            Some(Body::Text(text) | Body::Base64(text)) => sum = sum.wrapping_add(first(text)),
            None => {}
        }
    }
    let mut level = 0;
    while level < queue.len() {
        let end = queue.len();
        for at in level..end {
            let Some(&container) = queue.get(at) else {
                break;
            };
            match container {
                Value::Array(items) => {
                    for item in items {
                        sum = sum.wrapping_add(touch_one(item, queue));
                    }
                }
                Value::Object(map) => {
                    for (key, item) in map {
                        let first = key.as_bytes().first().map_or(0, |&b| usize::from(b));
                        sum = sum.wrapping_add(first).wrapping_add(touch_one(item, queue));
                    }
                }
                _ => {}
            }
        }
        level = end;
    }
    queue.clear();
    sum
}

/// Queues a container for the next level. (A string's text mostly shares a
/// cache line with its key's, or is long enough for the hardware to fetch it
/// ahead of the writer: reading it here costs more than it saves.)
#[inline(always)]
fn touch_one<'v>(value: &'v Value, queue: &mut Vec<&'v Value>) -> usize {
    match value {
        Value::String(s) => s.len(),
        Value::Array(_) | Value::Object(_) => {
            queue.push(value);
            0
        }
        _ => 0,
    }
}

/// Writes the exact bytes of the members of an object to `exact`, in
/// document order, with commas: `walk.spans[spans_mark..]` says where each
/// member's bytes are, in the canonical bytes `out` or in `exact` from
/// `start` on (in sorted order; they are moved).
fn restore_order(
    out: &[u8],
    exact: &mut Vec<u8>,
    start: usize,
    walk: &mut Walk<'_>,
    spans_mark: usize,
) {
    walk.moved.clear();
    if exact.len() > start {
        walk.moved
            .extend_from_slice(exact.get(start..).unwrap_or_default());
        exact.truncate(start);
    }
    let spans = walk.spans.get_mut(spans_mark..).unwrap_or_default();
    spans.sort_unstable_by_key(|(position, _, _)| *position);
    for (i, (_, canonical, span)) in spans.iter().enumerate() {
        if i > 0 {
            exact.push(b',');
        }
        let bytes = if *canonical {
            out.get(span.clone())
        } else {
            walk.moved
                .get(span.start.saturating_sub(start)..span.end.saturating_sub(start))
        };
        exact.extend_from_slice(bytes.unwrap_or_default());
    }
}

/// An array index as text, for matching pointer segments, without allocating.
struct IndexText {
    digits: [u8; 20],
    start: usize,
}

impl IndexText {
    fn new(index: usize) -> IndexText {
        let mut digits = [0u8; 20];
        let start = format_u64(index as u64, &mut digits);
        IndexText { digits, start }
    }

    fn as_str(&self) -> &str {
        self.digits
            .get(self.start..)
            .and_then(|d| std::str::from_utf8(d).ok())
            .unwrap_or("")
    }
}

/// Writes `n` in decimal at the end of `digits` and returns where it starts.
fn format_u64(mut n: u64, digits: &mut [u8; 20]) -> usize {
    let mut at = digits.len();
    // u64::MAX has 20 digits.
    while let Some(slot) = at.checked_sub(1).and_then(|i| digits.get_mut(i)) {
        *slot = b'0' + (n % 10) as u8;
        at -= 1;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    at
}

fn write_u64(n: u64, out: &mut Vec<u8>) {
    let mut digits = [0u8; 20];
    let start = format_u64(n, &mut digits);
    out.extend_from_slice(digits.get(start..).unwrap_or_default());
}

fn write_i64(n: i64, out: &mut Vec<u8>) {
    if n < 0 {
        out.push(b'-');
    }
    write_u64(n.unsigned_abs(), out);
}

/// The pointers that continue below `key`, or `None` when one of them ends at
/// `key` (the field is ignored).
fn descend<'a>(pointers: &[&'a [String]], key: &str) -> Option<Vec<&'a [String]>> {
    descend_from(pointers.iter().copied(), key)
}

/// [`descend`] for pointers given one by one.
#[inline(always)]
fn descend_from<'a>(
    pointers: impl Iterator<Item = &'a [String]>,
    key: &str,
) -> Option<Vec<&'a [String]>> {
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

pub(crate) fn write_number(n: &serde_json::Number, out: &mut Vec<u8>) {
    if n.is_f64()
        && let Some(f) = n.as_f64()
        && f.fract() == 0.0
        && f.abs() < 9.0e15
    {
        // An integral float is the same JSON number as the integer.
        write_i64(f as i64, out);
        return;
    }
    write_int_or_display(n, out);
}

/// Writes `n` as its `Display` does (and `serde_json` serialises it), without
/// going through the formatter for integers.
fn write_int_or_display(n: &serde_json::Number, out: &mut Vec<u8>) {
    if let Some(u) = n.as_u64() {
        write_u64(u, out);
    } else if let Some(i) = n.as_i64() {
        write_i64(i, out);
    } else {
        // Writing to a `Vec` cannot fail.
        let _ = write!(out, "{n}");
    }
}

/// How many bytes from the start of `bytes` need no escaping in a JSON
/// string: up to the first `"`, `\` or control character.
#[inline]
fn plain_run(bytes: &[u8]) -> usize {
    scan_plain(bytes, &mut ())
}

/// Copies the bytes [`plain_run`] counts to `out`, and returns how many.
#[inline]
fn copy_plain_run(bytes: &[u8], out: &mut Vec<u8>) -> usize {
    scan_plain(bytes, out)
}

/// Where [`scan_plain`] puts the plain bytes it finds.
trait PlainSink {
    fn chunk(&mut self, chunk: &[u8; 16]);
    /// The low `keep` bytes of `word`.
    fn word(&mut self, word: u64, keep: usize);
}

/// Counting only.
impl PlainSink for () {
    #[inline(always)]
    fn chunk(&mut self, _: &[u8; 16]) {}
    #[inline(always)]
    fn word(&mut self, _: u64, _: usize) {}
}

impl PlainSink for Vec<u8> {
    #[inline(always)]
    fn chunk(&mut self, chunk: &[u8; 16]) {
        self.extend_from_slice(chunk);
    }

    #[inline(always)]
    fn word(&mut self, word: u64, keep: usize) {
        // A fixed-size copy is a store; a variable one a call to `memcpy`.
        let len = self.len();
        self.extend_from_slice(&word.to_le_bytes());
        self.truncate(len + keep.min(8));
    }
}

/// Both buffers, for the text that goes to both.
struct Both<'a>(&'a mut Vec<u8>, &'a mut Vec<u8>);

impl PlainSink for Both<'_> {
    #[inline(always)]
    fn chunk(&mut self, chunk: &[u8; 16]) {
        self.0.chunk(chunk);
        self.1.chunk(chunk);
    }

    #[inline(always)]
    fn word(&mut self, word: u64, keep: usize) {
        self.0.word(word, keep);
        self.1.word(word, keep);
    }
}

/// Scans the plain run at the start of `bytes` and passes it to `sink`.
/// Long runs are tested 16 bytes at a time without branching on each byte,
/// so the compiler vectorises the test; the rest 8 bytes at a time in a
/// `u64`.
#[inline(always)]
fn scan_plain(bytes: &[u8], sink: &mut impl PlainSink) -> usize {
    const CHUNK: usize = 16;
    let mut at = 0;
    while let Some(chunk) = bytes.get(at..at + CHUNK) {
        let Ok(chunk) = <&[u8; CHUNK]>::try_from(chunk) else {
            break;
        };
        let mut any = false;
        for &b in chunk {
            any |= (b == b'"') | (b == b'\\') | (b < 0x20);
        }
        if any {
            break;
        }
        sink.chunk(chunk);
        at += CHUNK;
    }
    loop {
        let rest = bytes.get(at..).unwrap_or_default();
        let (word, len) = match rest.get(..8) {
            Some(word) => (load_word(word), 8),
            None => (load_tail(bytes, rest.len()), rest.len()),
        };
        let mask = special_bytes(word);
        let plain = if mask == 0 {
            len
        } else {
            ((mask.trailing_zeros() / 8) as usize).min(len)
        };
        sink.word(word, plain);
        at += plain;
        if plain < 8 {
            return at;
        }
    }
}

/// Eight bytes as a little-endian word.
#[inline(always)]
fn load_word(bytes: &[u8]) -> u64 {
    let mut word = [0u8; 8];
    if let Some(bytes) = bytes.get(..8) {
        word.copy_from_slice(bytes);
    }
    u64::from_le_bytes(word)
}

/// The last `len` (< 8) bytes of `bytes` as the low bytes of a word, the
/// others `a`, which needs no escaping.
#[inline(always)]
fn load_tail(bytes: &[u8], len: usize) -> u64 {
    const PAD: u64 = 0x6161_6161_6161_6161;
    if len == 0 {
        return PAD;
    }
    if let Some(last) = bytes
        .len()
        .checked_sub(8)
        .and_then(|from| bytes.get(from..))
    {
        // Read the last 8 bytes and shift the ones wanted down.
        let shift = 8 * (8 - len as u32);
        return (load_word(last) >> shift) | (PAD << (64 - shift));
    }
    // Fewer than 8 bytes in all.
    let kept = (1u64 << (8 * len)) - 1;
    load_short(
        bytes
            .get(bytes.len().saturating_sub(len)..)
            .unwrap_or_default(),
    ) | (PAD & !kept)
}

/// A mask with the high bit of the lowest byte of `word` (little-endian) that
/// is `"`, `\` or a control character set, and no lower bit set; zero when no
/// byte is. (Bits above the lowest may be set spuriously: a borrow carries.)
#[inline(always)]
fn special_bytes(word: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let quote = word ^ (ONES * u64::from(b'"'));
    let backslash = word ^ (ONES * u64::from(b'\\'));
    let control = word.wrapping_sub(ONES * 0x20) & !word;
    let quote = quote.wrapping_sub(ONES) & !quote;
    let backslash = backslash.wrapping_sub(ONES) & !backslash;
    (control | quote | backslash) & HIGH
}

pub(crate) fn write_string(s: &str, out: &mut Vec<u8>) {
    write_string_both(s, out, &mut ());
}

/// Writes `s` canonically to `out`; the exact form is the same unless `s`
/// has a control character.
#[inline(always)]
fn write_string_both<E: ExactSink>(s: &str, out: &mut Vec<u8>, exact: &mut E) {
    // Most strings (keys, roles, model names) are short and need no escape.
    if !write_short_plain(s.as_bytes(), out) {
        write_long_string(s, out, exact);
    }
}

/// [`write_string_both`] for the strings [`write_short_plain`] leaves.
#[inline(never)]
fn write_long_string<E: ExactSink>(s: &str, out: &mut Vec<u8>, exact: &mut E) {
    out.push(b'"');
    let mut rest = s.as_bytes();
    // Until the first control character the two forms are the same; from
    // there on both are written.
    let mut both = false;
    loop {
        let run = match exact.bytes() {
            Some(bytes) if both => scan_plain(rest, &mut Both(out, bytes)),
            _ => copy_plain_run(rest, out),
        };
        let Some((&b, tail)) = rest.get(run..).and_then(<[u8]>::split_first) else {
            break;
        };
        if E::ON && !both && b < 0x20 {
            exact.flush(out);
            both = true;
        }
        escape_canonical(b, out);
        if both && let Some(bytes) = exact.bytes() {
            exact::escape(b, bytes);
        }
        rest = tail;
    }
    out.push(b'"');
    if both {
        if let Some(bytes) = exact.bytes() {
            bytes.push(b'"');
        }
        exact.skip(out);
    }
}

/// Writes `bytes` in quotes if it is at most 16 bytes long and needs no
/// escape, and returns whether it did. The quoted string is put together in
/// registers and written with fixed-size stores.
#[inline(always)]
pub(crate) fn write_short_plain(bytes: &[u8], out: &mut Vec<u8>) -> bool {
    const QUOTE: u8 = b'"';
    let len = bytes.len();
    if len > 16 {
        return false;
    }
    let (low, high) = if len <= 8 {
        (load_short(bytes), 0)
    } else {
        match bytes.split_at_checked(8) {
            Some((head, tail)) => (load_word(head), load_short(tail)),
            None => return false,
        }
    };
    // Only the string's own bytes count: the padding is zero, a control byte,
    // and a byte can only be flagged spuriously above a true one.
    let ours = |len: usize| match len {
        0 => 0,
        1..=7 => (1u64 << (8 * len)) - 1,
        _ => u64::MAX,
    };
    let special =
        (special_bytes(low) & ours(len)) | (special_bytes(high) & ours(len.saturating_sub(8)));
    if special != 0 {
        return false;
    }
    let text = u128::from(low) | (u128::from(high) << 64);
    // The opening quote, the first 15 bytes, and the closing quote at
    // `len + 1`; beyond 16 bytes, the rest in one more word.
    let head = u128::from(QUOTE) | (text << 8);
    let close = len + 1;
    let start = out.len();
    if close < 16 {
        out.extend_from_slice(&(head | (u128::from(QUOTE) << (8 * close))).to_le_bytes());
    } else {
        out.extend_from_slice(&head.to_le_bytes());
        let tail = ((text >> 120) as u64) | (u64::from(QUOTE) << (8 * (close - 16)));
        out.extend_from_slice(&tail.to_le_bytes());
    }
    out.truncate(start + len + 2);
    true
}

/// Up to 8 bytes as the low bytes of a little-endian word, the others zero;
/// the first 8 of longer slices. Reads overlapping pieces rather than byte
/// by byte.
#[inline(always)]
fn load_short(bytes: &[u8]) -> u64 {
    let len = bytes.len();
    let piece = |from: usize, to: usize| -> u64 {
        let mut word = [0u8; 8];
        if let (Some(into), Some(from)) = (word.get_mut(..to - from), bytes.get(from..to)) {
            into.copy_from_slice(from);
        }
        u64::from_le_bytes(word)
    };
    let word = match len {
        0 => return 0,
        1 => piece(0, 1),
        2..=3 => piece(0, 2) | (piece(len - 2, len) << (8 * (len - 2))),
        4..=7 => piece(0, 4) | (piece(len - 4, len) << (8 * (len - 4))),
        _ => return bytes.get(..8).map_or(0, load_word),
    };
    word & ((1u64 << (8 * len)) - 1)
}

/// Writes `\u00XX` for the control character `b`, as JSON writers do.
fn write_unicode_escape(b: u8, out: &mut Vec<u8>) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.extend_from_slice(&[
        b'\\',
        b'u',
        b'0',
        b'0',
        HEX[usize::from(b >> 4)],
        HEX[usize::from(b & 0xf)],
    ]);
}

/// Writes the canonical escape of `b`: `"`, `\` or a control character.
fn escape_canonical(b: u8, out: &mut Vec<u8>) {
    match b {
        b'"' => out.extend_from_slice(b"\\\""),
        b'\\' => out.extend_from_slice(b"\\\\"),
        _ => write_unicode_escape(b, out),
    }
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

/// The interactions with one key, in recorded order: the first, and the
/// others (most keys have one interaction, which needs no allocation).
#[derive(Debug, Clone)]
struct Slot {
    first: usize,
    rest: Vec<usize>,
    /// How many members, from the front, are known to be played.
    cursor: usize,
}

impl Slot {
    fn new(first: usize) -> Slot {
        Slot {
            first,
            rest: Vec::new(),
            cursor: 0,
        }
    }

    fn len(&self) -> usize {
        1 + self.rest.len()
    }

    /// Member `i`, from 0.
    fn get(&self, i: usize) -> Option<usize> {
        match i.checked_sub(1) {
            None => Some(self.first),
            Some(i) => self.rest.get(i).copied(),
        }
    }

    /// The members, in recorded order.
    fn members(&self) -> impl DoubleEndedIterator<Item = usize> + '_ {
        std::iter::once(self.first).chain(self.rest.iter().copied())
    }
}

/// Recorded requests indexed by [`RequestKey`], with what has been played.
///
/// The index does not own the interactions: pass the same slice (grown only at
/// the end) to every call.
#[derive(Debug, Clone)]
pub struct Index {
    rules: MatchRules,
    slots: HashMap<RequestKey, Slot, KeyHash>,
    /// The digest of each recorded request's exact bytes ([`RequestKey::of_bytes`]),
    /// mapped to its match key: a request sent byte for byte as recorded skips
    /// canonicalisation.
    exact: HashMap<RequestKey, RequestKey, KeyHash>,
    played: Vec<bool>,
    /// What the keys take from each URL recorded so far (at most
    /// [`Index::TARGETS`] of them): a cassette holds few distinct URLs, and
    /// parsing one costs more than a small body.
    targets: HashMap<String, Target, KeyHash>,
}

/// Buffers reused from one indexed request to the next.
#[derive(Default)]
struct Scratch<'v> {
    canonical: Vec<u8>,
    exact: Vec<u8>,
    walk: Walk<'v>,
}

impl Index {
    /// How many URLs' [`Target`]s are kept.
    const TARGETS: usize = 1024;

    /// How many interactions [`Index::new`] brings into the cache at once.
    const BATCH: usize = 16;

    /// Indexes `interactions` under `rules`. Linear in the size of the requests.
    pub fn new(rules: MatchRules, interactions: &[Interaction]) -> Index {
        let mut index = Index {
            rules,
            slots: HashMap::with_capacity_and_hasher(interactions.len(), KeyHash),
            exact: HashMap::with_capacity_and_hasher(interactions.len(), KeyHash),
            played: Vec::with_capacity(interactions.len()),
            targets: HashMap::with_hasher(KeyHash),
        };
        let mut scratch = Scratch::default();
        let mut queue = Vec::new();
        for batch in interactions.chunks(Index::BATCH) {
            std::hint::black_box(touch(batch, &mut queue));
            for interaction in batch {
                index.push_with(interaction, false, &mut scratch);
            }
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
            slots: HashMap::with_capacity_and_hasher(keys.len(), KeyHash),
            exact: HashMap::with_capacity_and_hasher(keys.len(), KeyHash),
            played: Vec::with_capacity(keys.len()),
            targets: HashMap::with_hasher(KeyHash),
        };
        for (position, (key, exact)) in keys.into_iter().enumerate() {
            if let Some(exact) = exact {
                index.exact.insert(exact, key);
            }
            index.played.push(false);
            match index.slots.entry(key) {
                std::collections::hash_map::Entry::Occupied(slot) => {
                    slot.into_mut().rest.push(position);
                }
                std::collections::hash_map::Entry::Vacant(slot) => {
                    slot.insert(Slot::new(position));
                }
            }
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
        self.push_with(interaction, played, &mut Scratch::default())
    }

    /// [`Index::push`] with buffers reused across calls. The keys are those
    /// of [`MatchRules::key`] and [`RequestKey::of_bytes`], computed the same
    /// way into the scratch buffers.
    fn push_with<'v>(
        &mut self,
        interaction: &'v Interaction,
        played: bool,
        scratch: &mut Scratch<'v>,
    ) -> usize {
        let position = self.played.len();
        let request = &interaction.request;
        let uncached;
        let target = match self.targets.get(&request.url) {
            Some(target) => target,
            None if self.targets.len() < Index::TARGETS => self
                .targets
                .entry(request.url.clone())
                .or_insert_with(|| self.rules.target(&request.url)),
            None => {
                uncached = self.rules.target(&request.url);
                &uncached
            }
        };
        let Scratch {
            canonical,
            exact,
            walk,
        } = scratch;
        canonical.clear();
        exact.clear();
        push_exact_head(&request.method, &request.url, exact);
        match &request.body {
            // The canonical text as `write_canonical_to` writes it, and the
            // body's exact bytes in the same walk.
            Some(Body::Json(value)) if self.rules.match_body => {
                write_canonical_head(request, target, canonical);
                canonical.extend_from_slice(b"json ");
                let mut sink = Exact {
                    bytes: std::mem::take(exact),
                    synced: canonical.len(),
                };
                write_value(value, target.active(), canonical, &mut sink, walk);
                sink.flush(canonical);
                *exact = sink.bytes;
            }
            body => {
                self.rules
                    .write_canonical_to(request, target, canonical, walk);
                match body {
                    None => {}
                    Some(Body::Json(value)) => exact::write_compact(value, exact),
                    Some(Body::Text(text)) => exact.extend_from_slice(text.as_bytes()),
                    Some(body @ Body::Base64(_)) => {
                        exact.extend_from_slice(&crate::convert::body_bytes(body));
                    }
                }
            }
        }
        let key = RequestKey::digest(canonical);
        let exact = RequestKey::digest(exact);
        self.exact.insert(exact, key);
        self.played.push(played);
        match self.slots.entry(key) {
            std::collections::hash_map::Entry::Occupied(slot) => {
                slot.into_mut().rest.push(position)
            }
            std::collections::hash_map::Entry::Vacant(slot) => {
                slot.insert(Slot::new(position));
            }
        }
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
    while slot.cursor < slot.len()
        && slot
            .get(slot.cursor)
            .and_then(|member| played.get(member))
            .copied()
            .unwrap_or(true)
    {
        slot.cursor += 1;
    }
    let mut refused = false;
    for member in slot.members().skip(slot.cursor) {
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
        && let Some(last) = slot.members().rev().find(|&m| accepts(m))
    {
        return Ok(last);
    }
    let any_accepted = slot.members().any(accepts);
    if refused || !any_accepted {
        Err(MissReason::Refused {
            candidates: slot.members().collect(),
        })
    } else {
        Err(MissReason::Exhausted {
            played: slot.members().collect(),
        })
    }
}

impl MatchRules {
    /// What the canonical text of a request with a JSON body starts with
    /// (method, normalised URL, the body's tag), and the pointers its body
    /// leaves out. With [`MatchRules::key_of_canonical`], the key of such a
    /// request whose canonical body is appended to the prefix: equal to
    /// [`MatchRules::key`] of the request in cassette form.
    pub(crate) fn json_body_prefix(&self, method: &str, url: &str) -> Option<BodyPrefix> {
        let url = NormalUrl::try_parse(url, &self.drop_query_params)?;
        let mut out = Vec::with_capacity(256);
        push_method(method, &mut out);
        out.extend_from_slice(url.text.as_bytes());
        out.push(b'\n');
        if !self.match_body {
            return Some((out, None));
        }
        out.extend_from_slice(b"json ");
        Some((out, Some(self.pointers_for(&url))))
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

    /// What [`NormalUrl::simple`] takes as written, the URL parser writes
    /// the same: on generated URLs and on every URL recorded in the
    /// repository's cassettes.
    fn simple_agrees(raw: &str) -> bool {
        let Some(simple) = NormalUrl::simple(raw) else {
            return false;
        };
        let parsed = url::Url::parse(raw)
            .map(|url| NormalUrl::from_url(&url, &[]))
            .unwrap_or_else(|e| panic!("{raw:?} is simple but does not parse: {e}"));
        assert_eq!(simple.text, parsed.text, "{raw:?}");
        assert_eq!(simple.host(), parsed.host(), "{raw:?}");
        assert_eq!(simple.path(), parsed.path(), "{raw:?}");
        true
    }

    #[test]
    fn simple_urls_are_what_the_parser_writes() {
        for (raw, simple) in [
            ("https://api.openai.com/v1/chat/completions", true),
            (
                "https://generativelanguage.googleapis.com/v1beta/models/gemini-1.5-flash:generateContent",
                true,
            ),
            ("http://127.0.0.1:39713/v1/responses", true),
            ("http://localhost:11434/api/chat", true),
            ("https://api.openai.com:443/v1/x", false),
            ("https://API.openai.com/v1/x", false),
            ("https://api.openai.com", false),
            ("https://api.openai.com/v1/x?key=1", false),
            ("https://api.openai.com/v1/../x", false),
            ("https://127.0.0.01/x", false),
            ("https://127.1/x", false),
            ("https://1.2.3.256/x", false),
            ("https://a.b.0x1/x", false),
            ("https://xn--bcher-kva.example/x", false),
            ("https://user@h.example/x", false),
            ("https://h.example/a b", false),
            ("https://h.example./x", false),
        ] {
            assert_eq!(simple_agrees(raw), simple, "{raw}");
        }
        let mut seen = 0;
        for path in crate::testdata::v1_files() {
            let text = std::fs::read_to_string(&path).unwrap();
            for line in text.lines() {
                if let Some(url) = line.trim_start().strip_prefix("url: ") {
                    seen += usize::from(simple_agrees(url.trim_matches('\'')));
                }
            }
        }
        assert!(seen > 100, "{seen}");
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(4096))]

        #[test]
        fn simple_urls_agree_with_the_parser(
            scheme in proptest::sample::select(vec!["http://", "https://", "HTTP://", "ftp://"]),
            host in proptest::sample::select(vec![
                "a.example", "A.example", "127.0.0.1", "10.0.0", "0.0.0.0", "255.255.255.255",
                "01.2.3.4", "1.2.3.4.", "h-1.x", "-h.x", "h.1x", "h.x1", "localhost", "x_y.z",
                "xn--a.b", "a..b", "[::1]", "",
            ]),
            port in proptest::sample::select(vec!["", ":80", ":443", ":8080", ":0", ":08", ":65535", ":65536", ":"]),
            path in "(/[a-zA-Z0-9._~!$&'()*+,;=:@%? #\\{}<>^|\"`-]{0,6}){0,3}",
        ) {
            let raw = format!("{scheme}{host}{port}{path}");
            simple_agrees(&raw);
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
