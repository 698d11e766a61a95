//! The one detector: where credentials are in a plain string with its
//! context. The [`Redactor`](super::Redactor) replaces what it returns, the
//! [`Scanner`](super::Scanner) reports it, so neither can pass what the other
//! would catch.
//!
//! Every function here takes plain inputs (a string and what it is: a header
//! value, a JSON field, a URL, free text) and returns [`Hit`]s: byte ranges of
//! that string. Nothing here knows the cassette types.

use std::io::Read as _;

use base64::Engine as _;
use serde_json::Value;

use super::{SecretRules, is_placeholder};

/// The least number of token characters after a key prefix for a match.
const MIN_KEY_TAIL: usize = 20;
/// The least number of characters of a bearer token for a match.
const MIN_BEARER_TOKEN: usize = 16;
/// Environment values shorter than this are not treated as secrets.
pub(super) const MIN_ENV_VALUE: usize = 8;
/// The least length of a run of base64 characters that is decoded and looked
/// into.
const MIN_BASE64_RUN: usize = 24;
/// How deep encodings are unwrapped (base64 of percent-encoded text...).
const MAX_DEPTH: usize = 3;
/// Decompressed bytes looked into, at most.
const MAX_INFLATE: u64 = 16 << 20;

/// Key prefixes every cassette knows, whatever the provider rules: GitHub
/// tokens.
const GENERIC_PREFIXES: &[&str] = &["ghp_", "gho_", "ghs_", "ghu_", "ghr_", "github_pat_"];

/// Words that make a header, parameter or JSON field name a credential.
const CREDENTIAL_WORDS: &[&str] = &[
    "apikey",
    "token",
    "secret",
    "signature",
    "password",
    "passwd",
    "session",
    "authorization",
    "privatekey",
];

/// One credential inside a string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Hit {
    /// Byte range in the string that was scanned.
    pub(crate) start: usize,
    pub(crate) end: usize,
    /// What matched: ``key prefix `sk-` ``, `bearer token`...
    pub(crate) kind: String,
    /// The credential as decoded (for the masked excerpt; never printed).
    pub(crate) secret: String,
    /// The environment variable whose value this is, for the placeholder.
    pub(crate) variable: Option<String>,
    /// Whether the range can be replaced by a placeholder. A credential inside
    /// compressed bytes cannot: the file is refused instead.
    pub(crate) fixable: bool,
}

impl Hit {
    fn new(start: usize, end: usize, kind: impl Into<String>, secret: &str) -> Hit {
        Hit {
            start,
            end,
            kind: kind.into(),
            secret: secret.to_owned(),
            variable: None,
            fixable: true,
        }
    }
}

/// The data the detector works from: [`SecretRules`] and the values of secret
/// environment variables.
#[derive(Clone, Default)]
pub(crate) struct Detector {
    /// Key prefixes, longest first.
    prefixes: Vec<String>,
    /// Credential header names, lowercase.
    headers: Vec<String>,
    /// Credential query and form parameter names, lowercase.
    params: Vec<String>,
    /// `(variable name, value)`, longest value first.
    pub(crate) values: Vec<(String, String)>,
}

impl Detector {
    pub(crate) fn new(rules: &SecretRules, values: Vec<(String, String)>) -> Detector {
        let mut prefixes: Vec<String> = rules
            .key_prefixes
            .iter()
            .map(String::as_str)
            .chain(GENERIC_PREFIXES.iter().copied())
            .filter(|p| !p.is_empty())
            .map(str::to_owned)
            .collect();
        prefixes.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        prefixes.dedup();
        let lower = |items: &[String]| items.iter().map(|s| s.to_ascii_lowercase()).collect();
        Detector {
            prefixes,
            headers: lower(&rules.headers),
            params: lower(&rules.query_params),
            values,
        }
    }

    /// Names of the secret variables whose values are looked for.
    pub(crate) fn variable_names(&self) -> impl Iterator<Item = &str> {
        self.values.iter().map(|(name, _)| name.as_str())
    }

    /// The placeholder for the text of a hit: `<NAME>` when it is exactly the
    /// value of a captured variable, `<REDACTED>` otherwise.
    pub(crate) fn placeholder_for(&self, text: &str) -> String {
        match self.values.iter().find(|(_, v)| v == text) {
            Some((name, _)) => format!("<{name}>"),
            None => super::REDACTED.to_owned(),
        }
    }

    // ----- Contexts -----------------------------------------------------

    /// Credentials in free text of any kind: key shapes, bearer and Basic
    /// credentials, JWTs, PEM keys, AWS keys and signatures, credential
    /// parameters (`?api_key=...`), environment values; also after
    /// percent-decoding, `\u` unescaping and base64 decoding.
    pub(crate) fn text(&self, text: &str) -> Vec<Hit> {
        let mut hits = self.text_at_depth(text, MAX_DEPTH);
        normalise(&mut hits);
        hits
    }

    /// Credentials in a header value. The whole credential of a credential
    /// header (`authorization`, `x-api-key`, `*token*`...), every cookie value
    /// of `cookie` and the value of `set-cookie`, and [`Detector::text`].
    pub(crate) fn header(&self, name: &str, value: &str) -> Vec<Hit> {
        let lower = name.to_ascii_lowercase();
        let mut hits = self.text(value);
        match lower.as_str() {
            "cookie" => hits.extend(cookie_hits(value, false)),
            "set-cookie" => hits.extend(cookie_hits(value, true)),
            _ if self.is_credential_header(&lower) => {
                if let Some((start, end)) = credential_part(value, false) {
                    hits.push(Hit::new(
                        start,
                        end,
                        format!("credential header `{lower}`"),
                        &value[start..end],
                    ));
                }
            }
            _ => {}
        }
        normalise(&mut hits);
        hits
    }

    /// Credentials in a header name (a key used as a name).
    pub(crate) fn header_name(&self, name: &str) -> Vec<Hit> {
        self.text(name)
    }

    /// Credentials in a URL: the password (or bare user, which may be a
    /// token) of the authority, credential query parameters, and
    /// [`Detector::text`] over the whole URL (path segments and query).
    pub(crate) fn url(&self, url: &str) -> Vec<Hit> {
        let mut hits = self.text(url);
        // Each path segment on its own: a `/` before a key does not make it
        // part of a base64 blob there.
        let path_end = url.find(['?', '#']).unwrap_or(url.len());
        let mut offset = 0;
        for segment in url[..path_end].split('/') {
            hits.extend(self.text(segment).into_iter().map(|hit| Hit {
                start: hit.start + offset,
                end: hit.end + offset,
                ..hit
            }));
            offset += segment.len() + 1;
        }
        if let Some((start, end)) = userinfo_secret(url) {
            hits.push(Hit::new(start, end, "URL password", &url[start..end]));
        }
        normalise(&mut hits);
        hits
    }

    /// Credentials in a JSON string value. `name` is the field that holds it
    /// (for an array, the field that holds the array); `context` says where
    /// the value sits (a reasoning block, whose `signature` is not a
    /// credential; `logprobs`).
    pub(crate) fn json_string(
        &self,
        name: Option<&str>,
        context: Context,
        value: &str,
    ) -> Vec<Hit> {
        let mut hits = self.text(value);
        if let Some(name) = name
            && self.is_credential_field(name, context)
            && let Some((start, end)) = credential_part(value, true)
        {
            hits.push(Hit::new(
                start,
                end,
                format!("credential field `{}`", self.printable_name(name)),
                &value[start..end],
            ));
        }
        normalise(&mut hits);
        hits
    }

    /// Credentials in a JSON object key (a key used as a field name).
    pub(crate) fn json_key(&self, key: &str) -> Vec<Hit> {
        self.text(key)
    }

    /// Credentials in a text body or text frame: [`Detector::text`], and
    /// credential fields of JSON lines inside it (NDJSON, `data:` lines of
    /// SSE), located by their JSON spelling.
    pub(crate) fn text_body(&self, text: &str) -> Vec<Hit> {
        let mut hits = self.text(text);
        let mut offset = 0;
        for line in text.split_inclusive('\n') {
            let trimmed = line.trim_start();
            let trimmed = trimmed.strip_prefix("data:").unwrap_or(trimmed).trim();
            if trimmed.starts_with(['{', '['])
                && let Ok(value) = serde_json::from_str::<Value>(trimmed)
            {
                let mut found = Vec::new();
                self.json_credentials(None, Context::default(), &value, &mut found);
                for (kind, secret) in found {
                    hits.extend(locate_json_string(line, offset, &kind, &secret));
                }
            }
            offset += line.len();
        }
        normalise(&mut hits);
        hits
    }

    /// Credentials in bytes that are not UTF-8 text: looked for in the text
    /// they hold (decompressed first when they are gzip or zlib). Hits inside
    /// compressed bytes cannot be replaced.
    pub(crate) fn bytes(&self, bytes: &[u8]) -> Vec<Hit> {
        if let Some(inflated) = inflate(bytes) {
            let text = String::from_utf8_lossy(&inflated);
            return self
                .text(&text)
                .into_iter()
                .map(|hit| Hit {
                    start: 0,
                    end: bytes.len(),
                    kind: format!("{} (compressed)", hit.kind),
                    fixable: false,
                    ..hit
                })
                .take(1)
                .collect();
        }
        // Offsets are kept: every byte that is not ASCII becomes one `\u{1a}`.
        let text: String = bytes
            .iter()
            .map(|b| if b.is_ascii() { *b as char } else { '\u{1a}' })
            .collect();
        self.text(&text)
    }

    /// Name-based credentials of a JSON tree, as `(kind, value)`.
    fn json_credentials(
        &self,
        name: Option<&str>,
        context: Context,
        value: &Value,
        out: &mut Vec<(String, String)>,
    ) {
        match value {
            Value::String(text) => {
                if let Some(name) = name
                    && self.is_credential_field(name, context)
                    && let Some((start, end)) = credential_part(text, true)
                {
                    out.push((
                        format!("credential field `{}`", self.printable_name(name)),
                        text[start..end].to_owned(),
                    ));
                }
            }
            Value::Array(items) => {
                for item in items {
                    self.json_credentials(name, context, item, out);
                }
            }
            Value::Object(map) => {
                let inner = context.enter_object(map);
                for (key, item) in map {
                    self.json_credentials(Some(key), inner.enter_field(key), item, out);
                }
            }
            Value::Null | Value::Bool(_) | Value::Number(_) => {}
        }
    }

    // ----- Names ----------------------------------------------------------

    /// A name fit for a message: a name that holds a credential itself, or
    /// that is long or odd, shows masked.
    fn printable_name(&self, name: &str) -> String {
        if name.len() <= 40
            && name.chars().all(|c| c.is_ascii_graphic() && c != '`')
            && self.direct(name).is_empty()
        {
            name.to_owned()
        } else {
            super::mask(name)
        }
    }

    fn is_credential_header(&self, lower: &str) -> bool {
        self.headers.iter().any(|h| h == lower) || is_credential_name(lower)
    }

    fn is_credential_param(&self, name: &str) -> bool {
        let lower = name.to_ascii_lowercase();
        self.params.contains(&lower) || lower == "sig" || is_credential_name(&lower)
    }

    fn is_credential_field(&self, name: &str, context: Context) -> bool {
        let flat = flatten(name);
        if context.reasoning && flat == "signature" {
            return false;
        }
        if matches!(flat.as_str(), "thoughtsignature") {
            return false;
        }
        if context.logprobs && flat == "token" {
            return false;
        }
        is_credential_name(name)
    }

    // ----- Free text --------------------------------------------------------

    fn text_at_depth(&self, text: &str, depth: usize) -> Vec<Hit> {
        let mut hits = self.direct(text);
        if depth == 0 {
            return hits;
        }
        for (view, how) in [
            (percent_view(text), "percent-encoded"),
            (unescape_view(text), "\\u-escaped"),
        ] {
            let Some(view) = view else { continue };
            for hit in self.text_at_depth(&view.text, depth - 1) {
                let (Some(&start), Some(&end)) = (view.map.get(hit.start), view.map.get(hit.end))
                else {
                    continue;
                };
                hits.push(Hit {
                    start,
                    end,
                    kind: tag(&hit.kind, how),
                    ..hit
                });
            }
        }
        for (start, end, decoded) in base64_runs(text) {
            let inner = self.text_at_depth(&decoded, depth - 1);
            if let Some(first) = inner.into_iter().next() {
                hits.push(Hit {
                    start,
                    end,
                    kind: tag(&first.kind, "base64"),
                    variable: None,
                    ..first
                });
            }
        }
        hits
    }

    /// Matches in the text as it is.
    fn direct(&self, text: &str) -> Vec<Hit> {
        let mut hits: Vec<Hit> = Vec::new();
        for (name, value) in &self.values {
            for (start, matched) in text.match_indices(value.as_str()) {
                hits.push(Hit {
                    variable: Some(name.clone()),
                    ..Hit::new(
                        start,
                        start + matched.len(),
                        format!("value of ${name}"),
                        matched,
                    )
                });
            }
        }
        for prefix in &self.prefixes {
            // The end of the last run of key characters measured: a match
            // inside it is part of that run (and measuring again would cost
            // the square of a long run).
            let mut measured = 0;
            for (start, _) in text.match_indices(prefix.as_str()) {
                if start < measured
                    || hits.iter().any(|h| h.start <= start && start < h.end)
                    || !prefix_may_start(text, start, prefix)
                {
                    continue;
                }
                let tail_start = start + prefix.len();
                let tail = token_len(&text[tail_start..], is_key_char);
                measured = tail_start + tail;
                let tail_text = &text[tail_start..tail_start + tail];
                if tail >= MIN_KEY_TAIL
                    && tail_text.chars().any(|c| c.is_ascii_digit())
                    && tail_text.chars().any(|c| c.is_ascii_alphabetic())
                {
                    let end = tail_start + tail;
                    hits.push(Hit::new(
                        start,
                        end,
                        format!("key prefix `{prefix}`"),
                        &text[start..end],
                    ));
                }
            }
        }
        hits.extend(aws_hits(text));
        hits.extend(jwt_hits(text));
        hits.extend(pem_hits(text));
        hits.extend(scheme_hits(text));
        hits.extend(sigv4_hits(text));
        hits.extend(self.param_hits(text));
        hits
    }

    /// `name=value` after `?`, `&` or at the start, where the name says
    /// credential: URL queries, form bodies, URLs inside text.
    fn param_hits(&self, text: &str) -> Vec<Hit> {
        let bytes = text.as_bytes();
        let mut hits = Vec::new();
        for (at, _) in text.char_indices() {
            if at != 0 && !matches!(bytes[at - 1], b'?' | b'&') {
                continue;
            }
            let name_len = token_len(&text[at..], |c| {
                c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '[' | ']')
            });
            let name = &text[at..at + name_len];
            if name.is_empty() || bytes.get(at + name_len) != Some(&b'=') {
                continue;
            }
            let value_start = at + name_len + 1;
            let value_len = token_len(&text[value_start..], |c| {
                !(c.is_whitespace()
                    || matches!(
                        c,
                        '&' | '?' | '#' | '"' | '\'' | '\\' | ',' | ')' | ']' | '}' | ';'
                    ))
            });
            let value = &text[value_start..value_start + value_len];
            if value.is_empty()
                || is_placeholder(value)
                || value.starts_with('<')
                || is_number_like(value)
                || !self.is_credential_param(name)
            {
                continue;
            }
            hits.push(Hit::new(
                value_start,
                value_start + value_len,
                format!("credential parameter `{}`", self.printable_name(name)),
                value,
            ));
        }
        hits
    }
}

/// Where a JSON value sits, for the few names that mean something else there.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Context {
    /// In a reasoning block (`{"type": "thinking", "signature": ...}`, or
    /// under `reasoning_details`), whose signature is an integrity token the
    /// provider needs back, not a credential.
    pub(crate) reasoning: bool,
    /// Under `logprobs`, where `token` is a piece of text.
    pub(crate) logprobs: bool,
}

impl Context {
    /// The context for the fields of `map`.
    pub(crate) fn enter_object(self, map: &serde_json::Map<String, Value>) -> Context {
        let kind = map.get("type").and_then(Value::as_str).unwrap_or("");
        Context {
            reasoning: self.reasoning
                || map.contains_key("thinking")
                || kind.starts_with("reasoning")
                || matches!(kind, "thinking" | "redacted_thinking" | "signature_delta"),
            logprobs: self.logprobs,
        }
    }

    /// The context for the value of field `key`.
    pub(crate) fn enter_field(self, key: &str) -> Context {
        Context {
            reasoning: self.reasoning || flatten(key).starts_with("reasoning"),
            logprobs: self.logprobs || flatten(key).contains("logprobs"),
        }
    }
}

/// Whether a header, parameter or JSON field name says credential: it holds
/// `api-key`, `apikey`, `api_key`, `token`, `secret`, `signature`,
/// `password`, `session` or `authorization` (in any case and spelling), and
/// is not one of the known counters: `*tokens` (`max_tokens`,
/// `x-ratelimit-remaining-tokens`), `*token_count`, `*tokens_details`,
/// rate-limit headers, `token_type`.
#[must_use]
pub fn is_credential_name(name: &str) -> bool {
    let flat = flatten(name);
    let allowed = flat.contains("ratelimit")
        || flat.ends_with("tokens")
        || flat.contains("tokencount")
        || flat.contains("tokensdetails")
        || flat.contains("tokendetails")
        || flat.contains("tokenbudget")
        || flat == "tokentype";
    !allowed && CREDENTIAL_WORDS.iter().any(|word| flat.contains(word))
}

/// Lowercase letters and digits only: `X-Api_Key` is `xapikey`.
fn flatten(name: &str) -> String {
    name.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

fn tag(kind: &str, how: &str) -> String {
    if kind.ends_with(&format!("({how})")) {
        kind.to_owned()
    } else {
        format!("{kind} ({how})")
    }
}

/// Sorts hits by position and drops exact repeats; overlapping hits stay
/// (the redactor merges them, the scanner reports the first at a position).
fn normalise(hits: &mut Vec<Hit>) {
    hits.sort_by(|a, b| a.start.cmp(&b.start).then_with(|| b.end.cmp(&a.end)));
    hits.dedup_by(|later, earlier| later.start == earlier.start);
}

/// The credential part of a value: after a scheme word (`Bearer `, `Basic `)
/// when there is one. `None` for an empty value, a placeholder, a number, or
/// (`strict`, for JSON fields) `true`, `false`, `null` and values shorter than
/// four characters.
fn credential_part(value: &str, strict: bool) -> Option<(usize, usize)> {
    let start = value.len() - value.trim_start().len();
    let end = value.trim_end().len();
    if start >= end {
        return None;
    }
    let trimmed = &value[start..end];
    let (start, rest) = match trimmed.split_once(' ') {
        Some((scheme, rest))
            if !scheme.is_empty() && scheme.chars().all(|c| c.is_ascii_alphabetic()) =>
        {
            let rest_trimmed = rest.trim_start();
            (end - rest_trimmed.len(), rest_trimmed)
        }
        _ => (start, trimmed),
    };
    if rest.is_empty() || is_placeholder(rest) || is_number_like(rest) {
        return None;
    }
    if strict && (rest.chars().count() < 4 || matches!(rest, "true" | "false" | "null" | "None")) {
        return None;
    }
    Some((start, end))
}

/// Digits with an optional sign, point and exponent: never a credential.
fn is_number_like(value: &str) -> bool {
    !value.is_empty()
        && value.parse::<f64>().is_ok()
        && value.chars().any(|c| c.is_ascii_digit())
        && !value.chars().any(char::is_alphabetic)
}

/// The value ranges of `a=1; b=2`; for `set-cookie`, of the first pair only.
fn cookie_hits(value: &str, set_cookie: bool) -> Vec<Hit> {
    let mut hits = Vec::new();
    let mut offset = 0;
    for (n, pair) in value.split(';').enumerate() {
        if set_cookie && n > 0 {
            break;
        }
        let (value_start, cookie) = match pair.find('=') {
            Some(eq) => (eq + 1, &pair[eq + 1..]),
            None => (0, pair),
        };
        let lead = cookie.len() - cookie.trim_start().len();
        let trimmed = cookie.trim();
        if !trimmed.is_empty() && !is_placeholder(trimmed) {
            let start = offset + value_start + lead;
            hits.push(Hit::new(
                start,
                start + trimmed.len(),
                "cookie value",
                trimmed,
            ));
        }
        offset += pair.len() + 1;
    }
    hits
}

/// The password of `scheme://user:password@host`, or a bare user name (which
/// may be a token).
fn userinfo_secret(url: &str) -> Option<(usize, usize)> {
    let authority_start = url.find("://")? + 3;
    let rest = &url[authority_start..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    let at = authority.rfind('@')?;
    let userinfo = &authority[..at];
    let (start, secret) = match userinfo.split_once(':') {
        Some((user, password)) => (user.len() + 1, password),
        None => (0, userinfo),
    };
    if secret.is_empty() || is_placeholder(secret) {
        return None;
    }
    Some((
        authority_start + start,
        authority_start + start + secret.len(),
    ))
}

/// Finds the JSON spelling of `secret` in `line`.
fn locate_json_string(line: &str, offset: usize, kind: &str, secret: &str) -> Vec<Hit> {
    let quoted = Value::String(secret.to_owned()).to_string();
    let inner = &quoted[1..quoted.len() - 1];
    let found: Vec<Hit> = line
        .match_indices(inner)
        .map(|(at, _)| Hit::new(offset + at, offset + at + inner.len(), kind, secret))
        .collect();
    if found.is_empty() {
        // Spelled with other escapes: cannot be replaced in place.
        let end = offset + line.trim_end().len();
        vec![Hit {
            fixable: false,
            ..Hit::new(offset, end.max(offset), kind, secret)
        }]
    } else {
        found
    }
}

// ----- Shapes ---------------------------------------------------------------

/// Whether a match at `start` begins a token: the character before is not one
/// that continues a base64 blob or an identifier.
fn starts_token(text: &str, start: usize) -> bool {
    text[..start]
        .chars()
        .next_back()
        .is_none_or(|c| !(c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '_' | '-')))
}

/// Whether a key prefix may start at `start`. A short prefix (`sk-`, `AIza`)
/// must begin a token, since it turns up by chance inside base64 blobs
/// (thinking signatures). A long one with a separator (`sk-ant-`,
/// `sk-proj-`, `github_pat_`) cannot turn up in standard base64 and almost
/// never by chance in URL-safe base64, so only a letter or digit before it
/// makes it part of a word (`my_sk-proj-...` is a key).
fn prefix_may_start(text: &str, start: usize, prefix: &str) -> bool {
    if prefix.len() >= 5 && prefix.contains(['-', '_', '.']) {
        text[..start]
            .chars()
            .next_back()
            .is_none_or(|c| !c.is_ascii_alphanumeric())
    } else {
        starts_token(text, start)
    }
}

fn is_key_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')
}

fn is_token68_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '~' | '+' | '/')
}

fn is_base64_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '-' | '_')
}

/// The byte length of the leading run of characters that satisfy `ok`.
fn token_len(text: &str, ok: impl Fn(char) -> bool) -> usize {
    text.char_indices()
        .find(|(_, c)| !ok(*c))
        .map_or(text.len(), |(at, _)| at)
}

/// AWS access key ids (`AKIA`, `ASIA` and 16 upper-case letters or digits),
/// and, in the same text, secret keys: 40 characters of base64 with upper
/// and lower case letters.
fn aws_hits(text: &str) -> Vec<Hit> {
    let mut hits = Vec::new();
    for prefix in ["AKIA", "ASIA"] {
        for (start, _) in text.match_indices(prefix) {
            if !starts_token(text, start) {
                continue;
            }
            let len = token_len(&text[start..], |c| c.is_ascii_alphanumeric());
            let id = &text[start..start + len];
            if len == 20
                && id
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
            {
                hits.push(Hit::new(start, start + len, "AWS access key id", id));
            }
        }
    }
    if !hits.is_empty() {
        let mut at = 0;
        while at < text.len() {
            let rest = &text[at..];
            let Some(skip) = rest.find(|c: char| c.is_ascii_alphanumeric() || c == '/' || c == '+')
            else {
                break;
            };
            let start = at + skip;
            let len = token_len(&text[start..], |c| {
                c.is_ascii_alphanumeric() || c == '/' || c == '+'
            });
            let run = &text[start..start + len];
            if len == 40
                && run.chars().any(|c| c.is_ascii_lowercase())
                && run.chars().any(|c| c.is_ascii_uppercase())
                && starts_token(text, start)
            {
                hits.push(Hit::new(start, start + len, "AWS secret access key", run));
            }
            at = start + len.max(1);
        }
    }
    hits
}

/// `eyJ...` `.` `eyJ...` `.` signature: a JSON Web Token.
fn jwt_hits(text: &str) -> Vec<Hit> {
    let mut hits = Vec::new();
    let segment = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
    for (start, _) in text.match_indices("eyJ") {
        if !starts_token(text, start) {
            continue;
        }
        let header = token_len(&text[start..], segment);
        let dot = start + header;
        if header < 10 || !text[dot..].starts_with(".eyJ") {
            continue;
        }
        let payload = token_len(&text[dot + 1..], segment);
        let mut end = dot + 1 + payload;
        if payload < 10 {
            continue;
        }
        if text[end..].starts_with('.') {
            end += 1 + token_len(&text[end + 1..], segment);
        }
        hits.push(Hit::new(start, end, "JWT", &text[start..end]));
    }
    hits
}

/// `-----BEGIN ... PRIVATE KEY-----` to the matching `-----END ...-----`, or
/// to the end of the text.
fn pem_hits(text: &str) -> Vec<Hit> {
    let mut hits = Vec::new();
    for (start, _) in text.match_indices("-----BEGIN ") {
        let after = &text[start + 11..];
        let Some(close) = after.find("-----") else {
            continue;
        };
        if !after[..close].ends_with("PRIVATE KEY") {
            continue;
        }
        let body_start = start + 11 + close + 5;
        let end = match text[body_start..].find("-----END ") {
            Some(at) => {
                let end_start = body_start + at + 9;
                match text[end_start..].find("-----") {
                    Some(close) => end_start + close + 5,
                    None => text.len(),
                }
            }
            None => text.len(),
        };
        hits.push(Hit::new(start, end, "PEM private key", &text[start..end]));
    }
    hits
}

/// `Bearer <token>` with a token of at least 16 characters including a
/// digit, and `Basic <base64 of user:password>`.
fn scheme_hits(text: &str) -> Vec<Hit> {
    let mut hits = Vec::new();
    let lower = text.to_ascii_lowercase();
    for word in ["bearer", "basic"] {
        for (start, _) in lower.match_indices(word) {
            let before_ok = text[..start]
                .chars()
                .next_back()
                .is_none_or(|c| !c.is_ascii_alphanumeric());
            let after = &text[start + word.len()..];
            let spaces = token_len(after, |c| c == ' ' || c == '\t');
            if !before_ok || spaces == 0 {
                continue;
            }
            let token_start = start + word.len() + spaces;
            let len = token_len(&text[token_start..], is_token68_char);
            let mut end = token_start + len;
            let token = &text[token_start..end];
            if word == "bearer" {
                if len >= MIN_BEARER_TOKEN && token.chars().any(|c| c.is_ascii_digit()) {
                    hits.push(Hit::new(token_start, end, "bearer token", token));
                }
                continue;
            }
            end += token_len(&text[end..], |c| c == '=');
            let decoded = decode_base64(&text[token_start..end])
                .and_then(|bytes| String::from_utf8(bytes).ok());
            if let Some(decoded) = decoded
                && let Some((_, password)) = decoded.split_once(':')
                && !password.is_empty()
                && !is_placeholder(password)
            {
                hits.push(Hit::new(
                    token_start,
                    end,
                    "Basic credentials",
                    &text[token_start..end],
                ));
            }
        }
    }
    hits
}

/// The `Signature=<hex>` of an AWS SigV4 `Authorization` value.
fn sigv4_hits(text: &str) -> Vec<Hit> {
    let mut hits = Vec::new();
    for (start, word) in text.match_indices("Signature=") {
        let value_start = start + word.len();
        let len = token_len(&text[value_start..], |c| c.is_ascii_hexdigit());
        if len >= 32 {
            hits.push(Hit::new(
                value_start,
                value_start + len,
                "AWS signature",
                &text[value_start..value_start + len],
            ));
        }
    }
    hits
}

// ----- Encodings ------------------------------------------------------------

/// A decoded form of a string, with the offset in the original of every
/// byte of the decoded text (and of its end).
struct View {
    text: String,
    map: Vec<usize>,
}

/// `%XX` escapes of ASCII characters decoded; `None` when there is none.
fn percent_view(text: &str) -> Option<View> {
    if !text.contains('%') {
        return None;
    }
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut map = Vec::with_capacity(text.len() + 1);
    let mut changed = false;
    let mut at = 0;
    while at < bytes.len() {
        let escaped = (bytes[at] == b'%')
            .then(|| text.get(at + 1..at + 3))
            .flatten()
            .and_then(|hex| u8::from_str_radix(hex, 16).ok())
            .filter(u8::is_ascii);
        match escaped {
            Some(byte) => {
                out.push(byte as char);
                map.push(at);
                at += 3;
                changed = true;
            }
            None => {
                let Some(c) = text[at..].chars().next() else {
                    break;
                };
                out.push(c);
                map.extend(std::iter::repeat_n(at, c.len_utf8()));
                at += c.len_utf8();
            }
        }
    }
    map.push(text.len());
    changed.then_some(View { text: out, map })
}

/// `\uXXXX` escapes of ASCII characters decoded, behind any number of
/// backslashes (JSON inside a JSON or YAML string); `None` when there is
/// none.
fn unescape_view(text: &str) -> Option<View> {
    if !text.contains("\\u") && !text.contains("\\U") && !text.contains("\\x") {
        return None;
    }
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut map = Vec::with_capacity(text.len() + 1);
    let mut changed = false;
    let mut at = 0;
    while at < bytes.len() {
        if bytes[at] == b'\\' {
            let slashes = bytes[at..].iter().take_while(|b| **b == b'\\').count();
            let kind = bytes.get(at + slashes).copied();
            let digits = match kind {
                Some(b'u') => 4,
                Some(b'U') => 8,
                Some(b'x') => 2,
                _ => 0,
            };
            let hex_start = at + slashes + 1;
            let decoded = (digits > 0)
                .then(|| text.get(hex_start..hex_start + digits))
                .flatten()
                .filter(|hex| hex.chars().all(|c| c.is_ascii_hexdigit()))
                .and_then(|hex| u32::from_str_radix(hex, 16).ok())
                .and_then(char::from_u32)
                .filter(char::is_ascii);
            if let Some(c) = decoded {
                out.push(c);
                map.push(at);
                at = hex_start + digits;
                changed = true;
                continue;
            }
            // Not an escape: the whole run of backslashes stays as it is
            // (counted once, so a long run costs its length).
            out.push_str(&text[at..at + slashes]);
            map.extend(at..at + slashes);
            at += slashes;
            continue;
        }
        let Some(c) = text[at..].chars().next() else {
            break;
        };
        out.push(c);
        map.extend(std::iter::repeat_n(at, c.len_utf8()));
        at += c.len_utf8();
    }
    map.push(text.len());
    changed.then_some(View { text: out, map })
}

/// Runs of base64 (either alphabet, padded or not) of at least 24
/// characters, with what they decode to: text, or the text of gzip or zlib
/// bytes.
fn base64_runs(text: &str) -> Vec<(usize, usize, String)> {
    let mut runs = Vec::new();
    let mut at = 0;
    while at < text.len() {
        let Some(skip) = text[at..].find(is_base64_char) else {
            break;
        };
        let start = at + skip;
        let mut end = start + token_len(&text[start..], is_base64_char);
        end += token_len(&text[end..], |c| c == '=');
        at = end.max(start + 1);
        if end - start < MIN_BASE64_RUN {
            continue;
        }
        let Some(bytes) = decode_base64(&text[start..end]) else {
            continue;
        };
        let decoded = match inflate(&bytes) {
            Some(inflated) => String::from_utf8_lossy(&inflated).into_owned(),
            None => String::from_utf8_lossy(&bytes).into_owned(),
        };
        runs.push((start, end, decoded));
    }
    runs
}

/// Standard or URL-safe base64, padded or not.
pub(crate) fn decode_base64(text: &str) -> Option<Vec<u8>> {
    use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
    let config = GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true);
    let standard = GeneralPurpose::new(&base64::alphabet::STANDARD, config);
    let url_safe = GeneralPurpose::new(&base64::alphabet::URL_SAFE, config);
    standard
        .decode(text)
        .or_else(|_| url_safe.decode(text))
        .ok()
}

/// The decompressed bytes of gzip or zlib data (as far as they go when the
/// data is cut short); `None` for anything else.
pub(crate) fn inflate(bytes: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let read = match bytes {
        [0x1f, 0x8b, ..] => flate2::read::MultiGzDecoder::new(bytes)
            .take(MAX_INFLATE)
            .read_to_end(&mut out),
        [0x78, second, ..] if (0x7800u16 | u16::from(*second)).is_multiple_of(31) => {
            flate2::read::ZlibDecoder::new(bytes)
                .take(MAX_INFLATE)
                .read_to_end(&mut out)
        }
        _ => return None,
    };
    // A truncated stream still shows what it holds.
    (read.is_ok() || !out.is_empty()).then_some(out)
}
