//! The [`Scanner`]: what the detector finds, reported with where.

use std::fmt;

use serde_json::Value;

use super::detect::{Context, Detector, Hit, decode_base64};
use super::{Finding, Redactor, SecretRules};
use crate::stored::{Cassette, Frame, HeaderList, Interaction, StoredBody as Body};

/// Looks for credentials: everything the [`Redactor`] replaces (the same
/// detector decides), and what it could not replace.
///
/// # Patterns
///
/// A key prefix matches only at the start of a token: the character before it
/// must not be a letter, a digit, or one of `+ / _ -` (so a prefix inside a
/// base64 blob, such as a thinking signature, does not count). The prefix must
/// be followed by at least 20 token characters (letters, digits, `_ - .`)
/// that include both a letter and a digit. A bearer token is `Bearer `
/// followed by at least 16 token characters including a digit. Long
/// prefixes with a separator (`sk-ant-`, `github_pat_`) only need a
/// character that is not a letter or digit before them. Placeholders such as
/// `<REDACTED>` contain none of these shapes, so a redacted cassette scans
/// clean.
///
/// # What is a credential
///
/// - The value of a credential header: the headers of
///   [`SecretRules::headers`], and any header whose name says credential
///   ([`is_credential_name`](crate::secrets::is_credential_name): `*api-key*`, `*apikey*`, `*api_key*`,
///   `*token*`, `*secret*`, `*signature*`, `*password*`, `*session*`,
///   `authorization`), after its scheme word (`Bearer <REDACTED>`). Cookie
///   values of `cookie` and the value of `set-cookie`.
/// - The value of a credential query or form parameter
///   ([`SecretRules::query_params`], `sig`, and names that say credential),
///   the password of a URL, and the value of a JSON field whose name says
///   credential. Name rules apply to strings only, never to numbers, and the
///   counters stay readable: `*tokens` (`max_tokens`,
///   `x-ratelimit-remaining-tokens`), `*token_count`, `*tokens_details`,
///   rate-limit headers, `token_type`, a `token` under `logprobs`, and the
///   `signature` of a reasoning block (`thoughtSignature`, `signature` next to
///   `thinking`), which the provider needs back.
/// - Anywhere: key-shaped strings (a prefix of [`SecretRules::key_prefixes`],
///   GitHub's `ghp_`... prefixes), bearer tokens, `Basic` credentials, JWTs,
///   PEM private keys, AWS access key ids with their secret keys, SigV4
///   signatures, credential parameters inside URLs, and the values of secret
///   environment variables; also percent-encoded, `\u`-escaped, and inside
///   base64 (and base64 of gzip).
///
/// Placeholders (`<REDACTED>`, `<OPENAI_API_KEY>`; see [`is_placeholder`](crate::secrets::is_placeholder))
/// are never credentials. Findings never show a credential: only its first
/// four characters, or its length for a short one.
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
    detector: Detector,
}

impl fmt::Debug for Scanner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.detector.variable_names().collect();
        f.debug_struct("Scanner")
            .field("env_values_of", &names)
            .finish_non_exhaustive()
    }
}

impl Scanner {
    /// A scanner for `rules` and the redactor's own rules, and the
    /// environment values captured by `redactor`.
    #[must_use]
    pub fn new(rules: &SecretRules, redactor: &Redactor) -> Scanner {
        let rules = redactor.rules.clone().merge(rules.clone());
        Scanner {
            detector: Detector::new(&rules, redactor.detector.values.clone()),
        }
    }

    /// Scans every field of every interaction.
    #[must_use]
    pub fn scan_cassette(&self, cassette: &Cassette) -> Vec<Finding> {
        let mut out = Vec::new();
        for (index, interaction) in cassette.interactions.iter().enumerate() {
            self.walk_interaction(index, interaction, &mut out);
        }
        out
    }

    /// Scans one interaction; findings carry `index`.
    #[must_use]
    pub fn scan_interaction_at(&self, index: usize, interaction: &Interaction) -> Vec<Finding> {
        let mut out = Vec::new();
        self.walk_interaction(index, interaction, &mut out);
        out
    }

    /// Scans text in any format, line by line, as free text; then the
    /// strings that span lines: a YAML double-quoted scalar continued with a
    /// final `\\`, and blocks of base64 lines (`!!binary`). Locations are
    /// `line L, column C` (1-based, columns in characters), or `lines A-B`.
    #[must_use]
    pub fn scan_text(&self, text: &str) -> Vec<Finding> {
        let lines: Vec<&str> = text.lines().collect();
        let mut out = Vec::new();
        for (number, line) in lines.iter().enumerate() {
            for hit in self.detector.text(line) {
                let column = line.get(..hit.start).map_or(0, |s| s.chars().count()) + 1;
                out.push(finding(
                    None,
                    format!("line {}, column {column}", number + 1),
                    &hit,
                ));
            }
        }
        for (first, last, joined) in spanning_strings(&lines) {
            for hit in self.detector.text(&joined) {
                let found = finding(None, format!("lines {}-{}", first + 1, last + 1), &hit);
                if !out.iter().any(|f| f.same_secret(&found)) {
                    out.push(found);
                }
            }
        }
        out
    }

    /// Scans a JSON value (a body or frame data) whose location is `at`.
    #[must_use]
    pub fn scan_json(&self, at: &str, value: &Value) -> Vec<Finding> {
        let mut out = Vec::new();
        let mut sink = Sink {
            index: None,
            out: &mut out,
        };
        self.walk_json(at, None, Context::default(), value, &mut sink);
        out
    }

    // ----- The walk over the cassette types ------------------------------

    fn walk_interaction(&self, index: usize, interaction: &Interaction, out: &mut Vec<Finding>) {
        let d = &self.detector;
        let mut sink = Sink {
            index: Some(index),
            out,
        };
        if let Some(at) = &interaction.recorded_at {
            sink.add("recorded_at", d.text(at));
        }
        let request = &interaction.request;
        sink.add("request.method", d.text(&request.method));
        sink.add("request.url", d.url(&request.url));
        self.walk_headers("request.headers", &request.headers, &mut sink);
        if let Some(body) = &request.body {
            self.walk_body("request.body", body, &mut sink);
        }
        let response = &interaction.response;
        self.walk_headers("response.headers", &response.headers, &mut sink);
        if let Some(body) = &response.body {
            self.walk_body("response.body", body, &mut sink);
        }
        if let Some(stream) = &response.stream {
            for (n, frame) in stream.frames.iter().enumerate() {
                self.walk_frame(&format!("response.stream.frames[{n}]"), frame, &mut sink);
            }
        }
    }

    fn walk_headers(&self, at: &str, headers: &HeaderList, sink: &mut Sink<'_>) {
        for (name, values) in &headers.0 {
            let name_hits = self.detector.header_name(name);
            let location = self.join_path(at, name, !name_hits.is_empty());
            sink.add(&location, name_hits);
            match values.as_slice() {
                [one] => sink.add(&location, self.detector.header(name, one)),
                many => {
                    for (n, value) in many.iter().enumerate() {
                        sink.add(
                            &format!("{location}[{n}]"),
                            self.detector.header(name, value),
                        );
                    }
                }
            }
        }
    }

    fn walk_body(&self, at: &str, body: &Body, sink: &mut Sink<'_>) {
        match body {
            Body::Json(value) => {
                let value = value.to_value();
                self.walk_json(
                    &format!("{at}.json"),
                    None,
                    Context::default(),
                    &value,
                    sink,
                );
            }
            Body::Text(text) => sink.add(&format!("{at}.text"), self.detector.text_body(text)),
            Body::Base64(encoded) => self.walk_base64(&format!("{at}.base64"), encoded, sink),
        }
    }

    fn walk_frame(&self, at: &str, frame: &Frame, sink: &mut Sink<'_>) {
        let d = &self.detector;
        for (field, value) in [
            ("event", &frame.event),
            ("id", &frame.id),
            ("comment", &frame.comment),
        ] {
            if let Some(value) = value {
                sink.add(&format!("{at}.{field}"), d.text(value));
            }
        }
        if let Some(text) = &frame.text {
            sink.add(&format!("{at}.text"), d.text_body(text));
        }
        if let Some(data) = &frame.data {
            let data = data.to_value();
            self.walk_json(&format!("{at}.data"), None, Context::default(), &data, sink);
        }
        if let Some(encoded) = &frame.base64 {
            self.walk_base64(&format!("{at}.base64"), encoded, sink);
        }
    }

    fn walk_base64(&self, at: &str, encoded: &str, sink: &mut Sink<'_>) {
        match decode_base64(encoded) {
            Some(bytes) => sink.add(at, self.detector.bytes(&bytes)),
            None => sink.add(at, self.detector.text(encoded)),
        }
    }

    fn walk_json(
        &self,
        at: &str,
        name: Option<&str>,
        context: Context,
        value: &Value,
        sink: &mut Sink<'_>,
    ) {
        match value {
            Value::String(text) => sink.add(at, self.detector.json_string(name, context, text)),
            Value::Array(items) => {
                for (n, item) in items.iter().enumerate() {
                    self.walk_json(&format!("{at}[{n}]"), name, context, item, sink);
                }
            }
            Value::Object(map) => {
                let inner = context.enter_object(map);
                for (key, item) in map {
                    let key_hits = self.detector.json_key(key);
                    let location = self.join_path(at, key, !key_hits.is_empty());
                    sink.add(&location, key_hits);
                    self.walk_json(&location, Some(key), inner.enter_field(key), item, sink);
                }
            }
            Value::Null | Value::Bool(_) | Value::Number(_) => {}
        }
    }

    /// `at.key` for an identifier-like key, else `at["key"]` (quoted as
    /// JSON); a key that holds a credential shows masked.
    fn join_path(&self, at: &str, key: &str, secret: bool) -> String {
        if secret {
            return format!("{at}[{}]", super::mask(key));
        }
        if !key.is_empty()
            && key
                .chars()
                .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-'))
        {
            format!("{at}.{key}")
        } else {
            format!("{at}[{}]", Value::String(key.to_owned()))
        }
    }
}

/// Where findings go, with the interaction they belong to.
struct Sink<'a> {
    index: Option<usize>,
    out: &'a mut Vec<Finding>,
}

impl Sink<'_> {
    fn add(&mut self, location: &str, hits: Vec<Hit>) {
        for hit in hits {
            self.out
                .push(finding(self.index, location.to_owned(), &hit));
        }
    }
}

/// Strings of a YAML text that span lines, as `(first line, last line,
/// text)` (0-based): a double-quoted scalar whose lines end with `\\` (the
/// line break escaped), and runs of two or more lines of base64 alone.
fn spanning_strings(lines: &[&str]) -> Vec<(usize, usize, String)> {
    fn continued(line: &str) -> bool {
        let slashes = line.len() - line.trim_end_matches('\\').len();
        slashes % 2 == 1
    }
    fn base64_line(line: &str) -> bool {
        let line = line.trim();
        line.len() >= 16
            && line
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '='))
    }
    let mut out = Vec::new();
    let mut at = 0;
    while at < lines.len() {
        let mut last = at;
        if continued(lines[at]) {
            let mut joined = String::new();
            while last < lines.len() {
                let line = if last == at {
                    lines[last]
                } else {
                    lines[last].trim_start()
                };
                if continued(line) {
                    joined.push_str(&line[..line.len() - 1]);
                    last += 1;
                } else {
                    joined.push_str(line);
                    break;
                }
            }
            out.push((at, last.min(lines.len() - 1), joined));
        } else if base64_line(lines[at]) {
            while last + 1 < lines.len() && base64_line(lines[last + 1]) {
                last += 1;
            }
            if last > at {
                let joined: String = lines[at..=last].iter().map(|l| l.trim()).collect();
                out.push((at, last, joined));
            }
        }
        at = last + 1;
    }
    out
}

fn finding(interaction: Option<usize>, location: String, hit: &Hit) -> Finding {
    Finding::new(interaction, location, hit.kind.clone(), &hit.secret)
}
