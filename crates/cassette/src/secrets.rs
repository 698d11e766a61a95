//! Secrets: replacing credentials by placeholders, and refusing to write
//! anything that still looks like one.
//!
//! Two parts work together:
//!
//! - a [`Redactor`] replaces credentials in an [`Interaction`] by placeholders
//!   that still replay: the values of secret headers (`Bearer <REDACTED>`),
//!   credential query parameters (`key=<REDACTED>`), cookie values, URL
//!   passwords, and the value of every secret environment variable wherever it
//!   appears, body and stream frames included (`<OPENAI_API_KEY>`);
//! - a [`Scanner`] looks for what the redactor missed: strings that start with a
//!   key prefix (`sk-`, `AIza`...), bearer tokens, and the secret environment
//!   values. [`save`](crate::save) refuses to write a cassette with any finding.
//!
//! This module knows generic HTTP credentials only (`Authorization`,
//! `Proxy-Authorization`, cookies, `access_token`, bearer tokens). Which
//! headers, query parameters and key prefixes a provider uses arrives as
//! [`SecretRules`] data.

use std::fmt;

use base64::Engine as _;
use serde_json::Value;

use crate::stored::{Cassette, Frame, HeaderList, Interaction, Json, StoredBody as Body};

/// The placeholder for a credential that is not the value of a known
/// environment variable.
pub const REDACTED: &str = "<REDACTED>";

/// The least number of token characters after a key prefix for a match.
const MIN_KEY_TAIL: usize = 20;
/// The least number of characters of a bearer token for a match.
const MIN_BEARER_TOKEN: usize = 16;
/// Environment values shorter than this are not treated as secrets.
const MIN_ENV_VALUE: usize = 8;

/// Where credentials travel and what they look like: the data that the
/// [`Redactor`] and the [`Scanner`] work from.
///
/// [`SecretRules::generic`] holds generic HTTP credentials; provider
/// knowledge (`x-api-key`, `key=`, `sk-ant-`...) is added with
/// [`SecretRules::merge`].
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

/// Replaces credentials in interactions by placeholders that still replay.
///
/// - The value of a secret header becomes `<REDACTED>`; a value with an
///   authentication scheme keeps it (`Bearer <REDACTED>`).
/// - Cookie values become `<REDACTED>`; cookie names and `set-cookie`
///   attributes stay.
/// - Credential query parameters become `name=<REDACTED>`, and a URL password
///   `<REDACTED>`.
/// - The value of every captured environment variable becomes `<NAME>`
///   wherever it appears: headers, URL, bodies, JSON strings and keys, stream
///   frames. Where a secret header holds exactly such a value, the placeholder
///   names the variable: `Bearer <OPENAI_API_KEY>`.
///
/// Redaction is idempotent, and placeholders are left as they are.
#[derive(Clone)]
pub struct Redactor {
    headers: Vec<String>,
    query_params: Vec<String>,
    /// `(variable name, value)`, longest value first.
    values: Vec<(String, String)>,
}

impl fmt::Debug for Redactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.values.iter().map(|(name, _)| name.as_str()).collect();
        f.debug_struct("Redactor")
            .field("headers", &self.headers)
            .field("query_params", &self.query_params)
            .field("env_values_of", &names)
            .finish()
    }
}

impl Redactor {
    /// A redactor for `rules` that captures the values of the environment
    /// variables whose names end with one of `rules.env_suffixes`. Values
    /// shorter than 8 characters are ignored.
    #[must_use]
    pub fn from_env(rules: &SecretRules) -> Redactor {
        let values = std::env::vars_os()
            .filter_map(|(name, value)| Some((name.into_string().ok()?, value.into_string().ok()?)))
            .collect();
        Redactor::with_values(rules, values)
    }

    /// A redactor for `rules` with explicit `(variable name, value)` pairs, as
    /// if they were the environment. Only names ending with one of
    /// `rules.env_suffixes` are kept, and values shorter than 8 characters are
    /// ignored.
    #[must_use]
    pub fn with_values(rules: &SecretRules, values: Vec<(String, String)>) -> Redactor {
        let mut values: Vec<(String, String)> = values
            .into_iter()
            .filter(|(name, value)| {
                let upper = name.to_ascii_uppercase();
                value.chars().count() >= MIN_ENV_VALUE
                    && !is_placeholder(value)
                    && rules
                        .env_suffixes
                        .iter()
                        .any(|suffix| upper.ends_with(&suffix.to_ascii_uppercase()))
            })
            .collect();
        values.sort_by(|a, b| b.1.len().cmp(&a.1.len()).then_with(|| a.0.cmp(&b.0)));
        values.dedup_by(|a, b| a.1 == b.1);
        Redactor {
            headers: rules
                .headers
                .iter()
                .map(|h| h.to_ascii_lowercase())
                .collect(),
            query_params: rules
                .query_params
                .iter()
                .map(|q| q.to_ascii_lowercase())
                .collect(),
            values,
        }
    }

    /// The names of the environment variables whose values are replaced.
    pub fn variable_names(&self) -> impl Iterator<Item = &str> {
        self.values.iter().map(|(name, _)| name.as_str())
    }

    /// Redacts a whole interaction: request URL, headers and body; response
    /// headers, body and stream frames; and `recorded_at`.
    pub fn redact_interaction(&self, interaction: &mut Interaction) {
        if let Some(at) = &mut interaction.recorded_at {
            *at = self.redact_text(at);
        }
        let request = &mut interaction.request;
        request.method = self.redact_text(&request.method);
        request.url = self.redact_url(&request.url);
        self.redact_headers(&mut request.headers);
        if let Some(body) = &mut request.body {
            self.redact_body(body);
        }
        let response = &mut interaction.response;
        self.redact_headers(&mut response.headers);
        if let Some(body) = &mut response.body {
            self.redact_body(body);
        }
        if let Some(stream) = &mut response.stream {
            for frame in &mut stream.frames {
                self.redact_frame(frame);
            }
        }
    }

    /// Redacts every interaction of a cassette.
    pub fn redact_cassette(&self, cassette: &mut Cassette) {
        for interaction in &mut cassette.interactions {
            self.redact_interaction(interaction);
        }
    }

    /// Redacts a URL: credential query parameters, a password (or a bare user
    /// name, which may be a token) in the authority, and environment values.
    #[must_use]
    pub fn redact_url(&self, url: &str) -> String {
        let (before_fragment, fragment) = match url.find('#') {
            Some(at) => (&url[..at], Some(&url[at + 1..])),
            None => (url, None),
        };
        let (base, query) = match before_fragment.find('?') {
            Some(at) => (&before_fragment[..at], Some(&before_fragment[at + 1..])),
            None => (before_fragment, None),
        };
        let mut out = self.redact_userinfo(base);
        if let Some(query) = query {
            out.push('?');
            let params: Vec<String> = query
                .split('&')
                .map(|param| match param.split_once('=') {
                    Some((name, value))
                        if !value.is_empty()
                            && !is_placeholder(value)
                            && self.is_secret_param(name) =>
                    {
                        format!("{name}={}", self.placeholder_for(value))
                    }
                    _ => param.to_owned(),
                })
                .collect();
            out.push_str(&params.join("&"));
        }
        if let Some(fragment) = fragment {
            out.push('#');
            out.push_str(fragment);
        }
        self.redact_text(&out)
    }

    /// Redacts headers in place: secret headers, cookies, and environment
    /// values in every other header.
    pub fn redact_headers(&self, headers: &mut HeaderList) {
        for (name, values) in &mut headers.0 {
            let lower = name.to_ascii_lowercase();
            for value in values.iter_mut() {
                *value = match lower.as_str() {
                    "cookie" if self.is_secret_header(&lower) => self.redact_cookie(value),
                    "set-cookie" if self.is_secret_header(&lower) => self.redact_set_cookie(value),
                    _ if self.is_secret_header(&lower) => self.redact_credential(value),
                    _ => self.redact_text(value),
                };
            }
        }
    }

    /// Replaces every captured environment value in `text` by `<NAME>`.
    #[must_use]
    pub fn redact_text(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for (name, value) in &self.values {
            if out.contains(value.as_str()) {
                out = out.replace(value.as_str(), &format!("<{name}>"));
            }
        }
        out
    }

    /// Redacts a body in place.
    pub fn redact_body(&self, body: &mut Body) {
        match body {
            Body::Json(value) => self.redact_json_text(value),
            Body::Text(text) => *text = self.redact_text(text),
            Body::Base64(encoded) => {
                if let Some(redacted) = self.redact_base64(encoded) {
                    *encoded = redacted;
                }
            }
        }
    }

    /// Replaces credentials inside JSON text, as [`Redactor::redact_json`].
    pub fn redact_json_text(&self, json: &mut Json) {
        let mut value = json.to_value();
        self.redact_json(&mut value);
        *json = Json::from_value(&value);
    }

    /// Redacts every string and key of a JSON value in place.
    pub fn redact_json(&self, value: &mut Value) {
        if self.values.is_empty() {
            return;
        }
        match value {
            Value::String(text) => *text = self.redact_text(text),
            Value::Array(items) => items.iter_mut().for_each(|item| self.redact_json(item)),
            Value::Object(map) => {
                let needs_key_change = map.keys().any(|key| self.redact_text(key) != *key);
                if needs_key_change {
                    let old = std::mem::take(map);
                    for (key, mut item) in old {
                        self.redact_json(&mut item);
                        map.insert(self.redact_text(&key), item);
                    }
                } else {
                    map.values_mut().for_each(|item| self.redact_json(item));
                }
            }
            Value::Null | Value::Bool(_) | Value::Number(_) => {}
        }
    }

    fn redact_frame(&self, frame: &mut Frame) {
        for field in [
            &mut frame.event,
            &mut frame.id,
            &mut frame.comment,
            &mut frame.text,
        ]
        .into_iter()
        .flatten()
        {
            *field = self.redact_text(field);
        }
        if let Some(data) = &mut frame.data {
            self.redact_json_text(data);
        }
        if let Some(encoded) = &mut frame.base64
            && let Some(redacted) = self.redact_base64(encoded)
        {
            *encoded = redacted;
        }
    }

    /// Replaces environment values inside base64-encoded bytes; `None` when
    /// nothing changed or the text is not base64.
    fn redact_base64(&self, encoded: &str) -> Option<String> {
        if self.values.is_empty() {
            return None;
        }
        let mut bytes = base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .ok()?;
        let mut changed = false;
        for (name, value) in &self.values {
            let replaced = replace_bytes(&bytes, value.as_bytes(), format!("<{name}>").as_bytes());
            if let Some(replaced) = replaced {
                bytes = replaced;
                changed = true;
            }
        }
        changed.then(|| base64::engine::general_purpose::STANDARD.encode(bytes))
    }

    fn is_secret_header(&self, lower: &str) -> bool {
        self.headers.iter().any(|h| h == lower)
    }

    fn is_secret_param(&self, name: &str) -> bool {
        let decoded = percent_decode(name).to_ascii_lowercase();
        self.query_params.contains(&decoded)
    }

    /// The placeholder for a credential: `<NAME>` when it is exactly the value
    /// of a captured variable, `<REDACTED>` otherwise.
    fn placeholder_for(&self, value: &str) -> String {
        match self.values.iter().find(|(_, v)| v == value) {
            Some((name, _)) => format!("<{name}>"),
            None => REDACTED.to_owned(),
        }
    }

    /// A secret header value: an optional scheme word, then the credential.
    fn redact_credential(&self, value: &str) -> String {
        if value.is_empty() || is_placeholder(value) {
            return value.to_owned();
        }
        if let Some((scheme, rest)) = value.split_once(' ') {
            let rest = rest.trim_start();
            if !scheme.is_empty() && scheme.chars().all(|c| c.is_ascii_alphabetic()) {
                if rest.is_empty() || is_placeholder(rest) {
                    return value.to_owned();
                }
                return format!("{scheme} {}", self.placeholder_for(rest));
            }
        }
        self.placeholder_for(value)
    }

    /// `a=1; b=2` becomes `a=<REDACTED>; b=<REDACTED>`.
    fn redact_cookie(&self, value: &str) -> String {
        value
            .split(';')
            .map(|pair| self.redact_cookie_pair(pair))
            .collect::<Vec<_>>()
            .join(";")
    }

    /// `a=1; HttpOnly; Path=/` becomes `a=<REDACTED>; HttpOnly; Path=/`.
    fn redact_set_cookie(&self, value: &str) -> String {
        match value.split_once(';') {
            Some((pair, attributes)) => format!(
                "{};{}",
                self.redact_cookie_pair(pair),
                self.redact_text(attributes)
            ),
            None => self.redact_cookie_pair(value),
        }
    }

    fn redact_cookie_pair(&self, pair: &str) -> String {
        match pair.split_once('=') {
            Some((name, cookie)) => {
                let trimmed = cookie.trim();
                // The name is not a credential, but a secret value may still
                // appear in it.
                let name = self.redact_text(name);
                if trimmed.is_empty() || is_placeholder(trimmed) {
                    format!("{name}={cookie}")
                } else {
                    format!("{name}={}", self.placeholder_for(trimmed))
                }
            }
            None if pair.trim().is_empty() || is_placeholder(pair.trim()) => pair.to_owned(),
            None => {
                let lead = &pair[..pair.len() - pair.trim_start().len()];
                format!("{lead}{}", self.placeholder_for(pair.trim()))
            }
        }
    }

    fn redact_userinfo(&self, base: &str) -> String {
        let Some(scheme_end) = base.find("://") else {
            return base.to_owned();
        };
        let authority_start = scheme_end + 3;
        let authority_end = base[authority_start..]
            .find('/')
            .map_or(base.len(), |at| authority_start + at);
        let authority = &base[authority_start..authority_end];
        let Some(at) = authority.rfind('@') else {
            return base.to_owned();
        };
        let userinfo = &authority[..at];
        let redacted = match userinfo.split_once(':') {
            Some((_, password)) if password.is_empty() || is_placeholder(password) => {
                userinfo.to_owned()
            }
            Some((user, password)) => format!("{user}:{}", self.placeholder_for(password)),
            None if userinfo.is_empty() || is_placeholder(userinfo) => userinfo.to_owned(),
            None => self.placeholder_for(userinfo),
        };
        format!(
            "{}{redacted}{}",
            &base[..authority_start],
            &base[authority_start + at..]
        )
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

/// One thing the [`Scanner`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The 0-based interaction, when the scan was over a cassette.
    pub interaction: Option<usize>,
    /// Where: a field path such as `request.headers.authorization` or
    /// `response.stream.frames[3].data.choices[0].delta.content`, or
    /// `line 12, column 5` for text.
    pub location: String,
    /// Which pattern matched: ``key prefix `sk-` ``, `bearer token`, or
    /// `value of $NAME`.
    pub kind: String,
    /// The first four characters of the match, then `…`.
    pub excerpt: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(index) = self.interaction {
            write!(f, "interaction {index}, ")?;
        }
        write!(f, "{}: {} ({})", self.location, self.kind, self.excerpt)
    }
}

/// Looks for credentials: key-shaped strings, bearer tokens and the values of
/// secret environment variables.
///
/// # Patterns
///
/// A key prefix matches only at the start of a token: the character before it
/// must not be a letter, a digit, or one of `+ / _ -` (so a prefix inside a
/// base64 blob, such as a thinking signature, does not count). The prefix must
/// be followed by at least 20 token characters (letters, digits, `_ - .`)
/// that include both a letter and a digit. A bearer token is `Bearer `
/// followed by at least 16 token characters including a digit. Placeholders
/// such as `<REDACTED>` contain none of these shapes, so a redacted cassette
/// scans clean.
///
/// ```
/// use llmvcr_cassette::{Redactor, Scanner, SecretRules};
///
/// let rules = SecretRules {
///     headers: vec!["x-api-key".into()],
///     key_prefixes: vec!["sk-".into()],
///     ..SecretRules::default()
/// }
/// .merge(SecretRules::generic());
/// let redactor = Redactor::with_values(&rules, vec![("DEMO_API_KEY".into(), "s3cr3t-value-42".into())]);
/// assert_eq!(redactor.redact_text("token s3cr3t-value-42"), "token <DEMO_API_KEY>");
///
/// let scanner = Scanner::new(&rules, &redactor);
/// let findings = scanner.scan_text("auth: sk-live0123456789abcdefghijklmn");
/// assert_eq!(findings.len(), 1);
/// assert_eq!(findings[0].location, "line 1, column 7");
/// assert_eq!(findings[0].excerpt, "sk-l…");
/// ```
#[derive(Clone)]
pub struct Scanner {
    /// Key prefixes, longest first.
    prefixes: Vec<String>,
    /// `(variable name, value)`, longest value first.
    values: Vec<(String, String)>,
}

impl fmt::Debug for Scanner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.values.iter().map(|(name, _)| name.as_str()).collect();
        f.debug_struct("Scanner")
            .field("prefixes", &self.prefixes)
            .field("env_values_of", &names)
            .finish()
    }
}

/// A match inside one string: byte offset, kind, and the matched text.
struct Hit {
    start: usize,
    kind: String,
    matched: String,
}

impl Scanner {
    /// A scanner for the key prefixes of `rules`, bearer tokens, and the
    /// environment values captured by `redactor`.
    #[must_use]
    pub fn new(rules: &SecretRules, redactor: &Redactor) -> Scanner {
        let mut prefixes: Vec<String> = rules
            .key_prefixes
            .iter()
            .filter(|p| !p.is_empty())
            .cloned()
            .collect();
        prefixes.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        prefixes.dedup();
        Scanner {
            prefixes,
            values: redactor.values.clone(),
        }
    }

    /// Scans every field of every interaction.
    #[must_use]
    pub fn scan_cassette(&self, cassette: &Cassette) -> Vec<Finding> {
        let mut out = Vec::new();
        for (index, interaction) in cassette.interactions.iter().enumerate() {
            self.scan_interaction(index, interaction, &mut out);
        }
        out
    }

    /// Scans one interaction; findings carry `index`.
    #[must_use]
    pub fn scan_interaction_at(&self, index: usize, interaction: &Interaction) -> Vec<Finding> {
        let mut out = Vec::new();
        self.scan_interaction(index, interaction, &mut out);
        out
    }

    /// Scans text in any format, line by line. Locations are
    /// `line L, column C` (1-based, columns in characters).
    #[must_use]
    pub fn scan_text(&self, text: &str) -> Vec<Finding> {
        let mut out = Vec::new();
        for (number, line) in text.lines().enumerate() {
            for hit in self.hits(line) {
                let column = line[..hit.start].chars().count() + 1;
                out.push(finding(
                    None,
                    format!("line {}, column {column}", number + 1),
                    hit,
                ));
            }
        }
        out
    }

    fn scan_interaction(&self, index: usize, interaction: &Interaction, out: &mut Vec<Finding>) {
        let mut scan = |location: &str, text: &str| {
            for hit in self.hits(text) {
                out.push(finding(Some(index), location.to_owned(), hit));
            }
        };
        if let Some(at) = &interaction.recorded_at {
            scan("recorded_at", at);
        }
        let request = &interaction.request;
        scan("request.method", &request.method);
        scan("request.url", &request.url);
        scan_headers("request.headers", &request.headers, &mut scan);
        if let Some(body) = &request.body {
            scan_body("request.body", body, &mut scan);
        }
        let response = &interaction.response;
        scan_headers("response.headers", &response.headers, &mut scan);
        if let Some(body) = &response.body {
            scan_body("response.body", body, &mut scan);
        }
        if let Some(stream) = &response.stream {
            for (n, frame) in stream.frames.iter().enumerate() {
                let at = format!("response.stream.frames[{n}]");
                for (field, value) in [
                    ("event", &frame.event),
                    ("id", &frame.id),
                    ("comment", &frame.comment),
                    ("text", &frame.text),
                ] {
                    if let Some(value) = value {
                        scan(&format!("{at}.{field}"), value);
                    }
                }
                if let Some(data) = &frame.data {
                    scan_json(&format!("{at}.data"), &data.to_value(), &mut scan);
                }
                if let Some(encoded) = &frame.base64 {
                    scan_base64(&format!("{at}.base64"), encoded, &mut scan);
                }
            }
        }
    }

    /// Every match in one string, ordered by position.
    fn hits(&self, text: &str) -> Vec<Hit> {
        let mut hits: Vec<Hit> = Vec::new();
        for (name, value) in &self.values {
            for (start, matched) in text.match_indices(value.as_str()) {
                hits.push(Hit {
                    start,
                    kind: format!("value of ${name}"),
                    matched: matched.to_owned(),
                });
            }
        }
        for prefix in &self.prefixes {
            for (start, _) in text.match_indices(prefix.as_str()) {
                if hits.iter().any(|h| h.start == start) || !starts_token(text, start) {
                    continue;
                }
                let tail = token_len(&text[start + prefix.len()..], is_key_char);
                let tail_text = &text[start + prefix.len()..start + prefix.len() + tail];
                if tail >= MIN_KEY_TAIL
                    && tail_text.chars().any(|c| c.is_ascii_digit())
                    && tail_text.chars().any(|c| c.is_ascii_alphabetic())
                {
                    hits.push(Hit {
                        start,
                        kind: format!("key prefix `{prefix}`"),
                        matched: text[start..start + prefix.len() + tail].to_owned(),
                    });
                }
            }
        }
        hits.extend(bearer_hits(text));
        hits.sort_by_key(|h| h.start);
        // A bearer token may start with a key prefix: report it once.
        hits.dedup_by(|later, earlier| later.start == earlier.start);
        hits
    }
}

fn finding(interaction: Option<usize>, location: String, hit: Hit) -> Finding {
    Finding {
        interaction,
        location,
        kind: hit.kind,
        excerpt: mask(&hit.matched),
    }
}

/// The first four characters and `…`; control characters show as `?`, so an
/// excerpt is always one line.
fn mask(secret: &str) -> String {
    let head: String = secret
        .chars()
        .take(4)
        .map(|c| if c.is_control() { '?' } else { c })
        .collect();
    format!("{head}…")
}

fn scan_headers(at: &str, headers: &HeaderList, scan: &mut impl FnMut(&str, &str)) {
    for (name, values) in &headers.0 {
        let location = join_path(at, name);
        scan(&location, name);
        match values.as_slice() {
            [one] => scan(&location, one),
            many => {
                for (n, value) in many.iter().enumerate() {
                    scan(&format!("{location}[{n}]"), value);
                }
            }
        }
    }
}

fn scan_body(at: &str, body: &Body, scan: &mut impl FnMut(&str, &str)) {
    match body {
        Body::Json(value) => scan_json(&format!("{at}.json"), &value.to_value(), scan),
        Body::Text(text) => scan(&format!("{at}.text"), text),
        Body::Base64(encoded) => scan_base64(&format!("{at}.base64"), encoded, scan),
    }
}

fn scan_base64(at: &str, encoded: &str, scan: &mut impl FnMut(&str, &str)) {
    match base64::engine::general_purpose::STANDARD.decode(encoded) {
        Ok(bytes) => scan(at, &String::from_utf8_lossy(&bytes)),
        Err(_) => scan(at, encoded),
    }
}

fn scan_json(at: &str, value: &Value, scan: &mut impl FnMut(&str, &str)) {
    match value {
        Value::String(text) => scan(at, text),
        Value::Array(items) => {
            for (n, item) in items.iter().enumerate() {
                scan_json(&format!("{at}[{n}]"), item, scan);
            }
        }
        Value::Object(map) => {
            for (key, item) in map {
                let location = join_path(at, key);
                scan(&location, key);
                scan_json(&location, item, scan);
            }
        }
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

/// `at.key` for an identifier-like key, else `at["key"]` (quoted as JSON).
fn join_path(at: &str, key: &str) -> String {
    if !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-'))
    {
        format!("{at}.{key}")
    } else {
        format!("{at}[{}]", serde_json::Value::String(key.to_owned()))
    }
}

/// Whether a key prefix at `start` begins a token: the character before is
/// not one that continues a base64 blob or an identifier.
fn starts_token(text: &str, start: usize) -> bool {
    text[..start]
        .chars()
        .next_back()
        .is_none_or(|c| !(c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '_' | '-')))
}

fn is_key_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')
}

fn is_token68_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '~' | '+' | '/')
}

/// The byte length of the leading run of characters that satisfy `ok`.
fn token_len(text: &str, ok: fn(char) -> bool) -> usize {
    text.char_indices()
        .find(|(_, c)| !ok(*c))
        .map_or(text.len(), |(at, _)| at)
}

/// `Bearer <token>` with a token of at least 16 characters including a digit.
fn bearer_hits(text: &str) -> Vec<Hit> {
    const WORD: &str = "bearer";
    let mut hits = Vec::new();
    let lower = text.to_ascii_lowercase();
    for (start, _) in lower.match_indices(WORD) {
        let before_ok = text[..start]
            .chars()
            .next_back()
            .is_none_or(|c| !c.is_ascii_alphanumeric());
        let after = &text[start + WORD.len()..];
        let spaces = token_len(after, |c| c == ' ' || c == '\t');
        if !before_ok || spaces == 0 {
            continue;
        }
        let token_start = start + WORD.len() + spaces;
        let token = &text[token_start..];
        let len = token_len(token, is_token68_char);
        let token = &token[..len];
        if len >= MIN_BEARER_TOKEN && token.chars().any(|c| c.is_ascii_digit()) {
            hits.push(Hit {
                start: token_start,
                kind: "bearer token".to_owned(),
                matched: token.to_owned(),
            });
        }
    }
    hits
}

fn replace_bytes(haystack: &[u8], needle: &[u8], with: &[u8]) -> Option<Vec<u8>> {
    if needle.is_empty() || haystack.len() < needle.len() {
        return None;
    }
    let mut out = Vec::with_capacity(haystack.len());
    let mut changed = false;
    let mut at = 0;
    while at < haystack.len() {
        if haystack[at..].starts_with(needle) {
            out.extend_from_slice(with);
            at += needle.len();
            changed = true;
        } else {
            out.push(haystack[at]);
            at += 1;
        }
    }
    changed.then_some(out)
}

/// Decodes `%XX` escapes and `+`; invalid escapes are kept.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut at = 0;
    while at < bytes.len() {
        match bytes[at] {
            b'%' if at + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[at + 1..at + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(byte) => {
                        out.push(byte);
                        at += 3;
                    }
                    None => {
                        out.push(b'%');
                        at += 1;
                    }
                }
            }
            b'+' => {
                out.push(b' ');
                at += 1;
            }
            byte => {
                out.push(byte);
                at += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}
