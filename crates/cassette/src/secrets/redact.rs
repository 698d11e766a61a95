//! The [`Redactor`]: what the detector finds, replaced by placeholders.

use std::fmt;

use base64::Engine as _;
use serde_json::Value;

use super::SecretRules;
use super::detect::{Context, Detector, Hit, MIN_ENV_VALUE, decode_base64};
use super::is_placeholder;
use crate::stored::{Cassette, Frame, HeaderList, Interaction, Json, StoredBody as Body};

/// How many times a string is redacted again when a pass left something.
const MAX_PASSES: usize = 4;

/// Replaces credentials in interactions by placeholders that still replay.
///
/// Everything the [`Scanner`](crate::Scanner) would report is replaced where
/// it is (see [`Scanner`](crate::Scanner) for what that is):
///
/// - the value of a credential header becomes `<REDACTED>`, and a value with
///   an authentication scheme keeps it (`Bearer <REDACTED>`);
/// - cookie values become `<REDACTED>`; cookie names and `set-cookie`
///   attributes stay;
/// - credential query and form parameters become `name=<REDACTED>`, a URL
///   password `<REDACTED>`, a credential JSON field `"<REDACTED>"`;
/// - key-shaped strings, tokens and keys anywhere (URL path, bodies, stream
///   frames, JSON keys), percent-encoded or `\u`-escaped in place, and a
///   base64 run holding one as a whole;
/// - the value of every captured environment variable becomes `<NAME>`
///   wherever it appears; where a credential is exactly such a value, the
///   placeholder names the variable: `Bearer <OPENAI_API_KEY>`.
///
/// What cannot be replaced in place (inside compressed bytes) is left for the
/// scanner, which refuses the cassette. Redaction is idempotent, and
/// placeholders are left as they are.
#[derive(Clone)]
pub struct Redactor {
    pub(super) rules: SecretRules,
    pub(super) detector: Detector,
}

impl fmt::Debug for Redactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.detector.variable_names().collect();
        f.debug_struct("Redactor")
            .field("headers", &self.rules.headers)
            .field("query_params", &self.rules.query_params)
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
            rules: rules.clone(),
            detector: Detector::new(rules, values),
        }
    }

    /// The names of the environment variables whose values are replaced.
    pub fn variable_names(&self) -> impl Iterator<Item = &str> {
        self.detector.variable_names()
    }

    /// The scanner that reports what this redactor replaces.
    #[must_use]
    pub fn scanner(&self) -> super::Scanner {
        super::Scanner::new(&self.rules, self)
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

    /// Redacts a URL: the password (or a bare user name, which may be a
    /// token) of the authority, credential query parameters, and credentials
    /// anywhere in the path and query.
    #[must_use]
    pub fn redact_url(&self, url: &str) -> String {
        self.apply(url, |text| self.detector.url(text))
    }

    /// Redacts headers in place: credential headers, cookies, and credentials
    /// in every other header value and name.
    pub fn redact_headers(&self, headers: &mut HeaderList) {
        for (name, values) in &mut headers.0 {
            for value in values.iter_mut() {
                let redacted = self.apply(value, |text| self.detector.header(name, text));
                if redacted != *value {
                    *value = redacted;
                }
            }
            let renamed = self.apply(name, |text| self.detector.header_name(text));
            if renamed != *name {
                *name = renamed;
            }
        }
    }

    /// Redacts credentials in free text: key-shaped strings, tokens, keys,
    /// credential parameters, environment values (also percent-encoded,
    /// `\u`-escaped or in base64).
    #[must_use]
    pub fn redact_text(&self, text: &str) -> String {
        self.apply(text, |text| self.detector.text(text))
    }

    /// Redacts a body in place.
    pub fn redact_body(&self, body: &mut Body) {
        match body {
            Body::Json(value) => self.redact_json_text(value),
            Body::Text(text) => *text = self.redact_text_body(text),
            Body::Base64(encoded) => {
                if let Some(redacted) = self.redact_base64(encoded) {
                    *encoded = redacted;
                }
            }
        }
    }

    /// Redacts JSON kept as text ([`Json`]), as [`Redactor::redact_json`]
    /// does a value; the text is left as it is when nothing changes.
    pub fn redact_json_text(&self, json: &mut Json) {
        let mut value = json.to_value();
        let before = value.clone();
        self.redact_json(&mut value);
        if value != before {
            *json = Json::from_value(&value);
        }
    }

    /// Redacts every string and key of a JSON value in place: credential
    /// fields by name, and credentials anywhere.
    pub fn redact_json(&self, value: &mut Value) {
        self.redact_value(None, Context::default(), value);
    }

    /// Redacts a text body or text frame: free text, and credential fields
    /// of the JSON lines it holds (NDJSON, SSE `data:` lines).
    #[must_use]
    pub fn redact_text_body(&self, text: &str) -> String {
        self.apply(text, |text| self.detector.text_body(text))
    }

    fn redact_value(&self, name: Option<&str>, context: Context, value: &mut Value) {
        match value {
            Value::String(text) => {
                let redacted = self.apply(text, |t| self.detector.json_string(name, context, t));
                if redacted != *text {
                    *text = redacted;
                }
            }
            Value::Array(items) => {
                for item in items {
                    self.redact_value(name, context, item);
                }
            }
            Value::Object(map) => {
                let inner = context.enter_object(map);
                let needs_key_change = map
                    .keys()
                    .any(|key| !self.detector.json_key(key).is_empty());
                if needs_key_change {
                    let old = std::mem::take(map);
                    for (key, mut item) in old {
                        self.redact_value(Some(&key), inner.enter_field(&key), &mut item);
                        let mut renamed = self.apply(&key, |t| self.detector.json_key(t));
                        // Two keys that become the same placeholder stay two.
                        let mut n = 2;
                        while renamed != key && map.contains_key(&renamed) {
                            renamed = format!("<REDACTED_{n}>");
                            n += 1;
                        }
                        map.insert(renamed, item);
                    }
                } else {
                    for (key, item) in map.iter_mut() {
                        self.redact_value(Some(key), inner.enter_field(key), item);
                    }
                }
            }
            Value::Null | Value::Bool(_) | Value::Number(_) => {}
        }
    }

    fn redact_frame(&self, frame: &mut Frame) {
        for field in [&mut frame.event, &mut frame.id, &mut frame.comment]
            .into_iter()
            .flatten()
        {
            *field = self.redact_text(field);
        }
        if let Some(text) = &mut frame.text {
            *text = self.redact_text_body(text);
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

    /// Redacts base64-encoded bytes; `None` when nothing changed. Text that is
    /// not base64 is redacted as text.
    fn redact_base64(&self, encoded: &str) -> Option<String> {
        let Some(mut bytes) = decode_base64(encoded) else {
            let redacted = self.redact_text(encoded);
            return (redacted != encoded).then_some(redacted);
        };
        let mut changed = false;
        for _ in 0..MAX_PASSES {
            let hits: Vec<Hit> = self
                .detector
                .bytes(&bytes)
                .into_iter()
                .filter(|hit| hit.fixable)
                .collect();
            let Some(next) = replace_ranges(&bytes, &hits, |range| {
                self.detector
                    .placeholder_for(&String::from_utf8_lossy(range))
            }) else {
                break;
            };
            bytes = next;
            changed = true;
        }
        changed.then(|| base64::engine::general_purpose::STANDARD.encode(&bytes))
    }

    /// Replaces the hits `find` returns until it returns none it can
    /// replace.
    fn apply(&self, text: &str, find: impl Fn(&str) -> Vec<Hit>) -> String {
        let mut out = text.to_owned();
        for _ in 0..MAX_PASSES {
            let hits: Vec<Hit> = find(&out).into_iter().filter(|hit| hit.fixable).collect();
            let next = replace_ranges(out.as_bytes(), &hits, |range| {
                self.detector
                    .placeholder_for(&String::from_utf8_lossy(range))
            })
            .and_then(|bytes| String::from_utf8(bytes).ok());
            match next {
                Some(next) if next != out => out = next,
                _ => break,
            }
        }
        out
    }
}

/// `bytes` with the ranges of `hits` (merged where they overlap) replaced by
/// `placeholder(range)`; `None` when there is nothing to replace.
fn replace_ranges(
    bytes: &[u8],
    hits: &[Hit],
    placeholder: impl Fn(&[u8]) -> String,
) -> Option<Vec<u8>> {
    let mut ranges: Vec<(usize, usize)> = hits
        .iter()
        .filter(|hit| hit.start < hit.end && hit.end <= bytes.len())
        .map(|hit| (hit.start, hit.end))
        .collect();
    if ranges.is_empty() {
        return None;
    }
    ranges.sort_unstable();
    let mut merged: Vec<(usize, usize)> = Vec::new();
    for (start, end) in ranges {
        match merged.last_mut() {
            Some(last) if start < last.1 => last.1 = last.1.max(end),
            _ => merged.push((start, end)),
        }
    }
    let mut out = Vec::with_capacity(bytes.len());
    let mut at = 0;
    for (start, end) in merged {
        out.extend_from_slice(bytes.get(at..start)?);
        out.extend_from_slice(placeholder(bytes.get(start..end)?).as_bytes());
        at = end;
    }
    out.extend_from_slice(bytes.get(at..)?);
    Some(out)
}
