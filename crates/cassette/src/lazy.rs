//! Loading a cassette for replay without reading its JSON payloads.
//!
//! Replay needs, up front, only the match key of every recorded request;
//! the JSON payloads (request bodies, response bodies, stream frames) are
//! most of a cassette, and headers are not in the key. [`load`] reads the
//! cassette's own structure with the fast reader, skips each payload and
//! header list by its indentation, and computes the
//! request keys from the request bodies written straight to JSON text,
//! without building JSON values. The payloads and headers are read into the
//! cassette when something needs them: a response when it is first replayed, every
//! payload when a request misses (to explain the miss), when a custom
//! matcher is set (it sees whole interactions), when the cassette is copied
//! out or appended to.
//!
//! A payload that the fast reader cannot read (text from a hand edit
//! outside the subset it handles) sends the whole file to the general YAML
//! parser, whose reading wins; its errors name the file and line. Files the
//! fast reader does not handle at all are read whole, eagerly, as before.

use std::sync::Arc;

use crate::error::{CassetteError, Result};
use crate::fastyaml::{self, Deferred, Slot};
use crate::format::{Body, Cassette, FORMAT_VERSION, Interaction};
use crate::matcher::{MatchRules, RequestKey};

/// A cassette ready for replay.
pub(crate) struct Loaded {
    /// The cassette; its unread payloads are `null` until [`Unread`] reads them.
    pub(crate) cassette: Cassette,
    /// The match key of every request, with its exact-bytes digest where
    /// known, when computed here (in order).
    pub(crate) keys: Option<Vec<(RequestKey, Option<RequestKey>)>>,
    /// What is still to read.
    pub(crate) unread: Unread,
}

impl Loaded {
    /// A cassette already read whole.
    pub(crate) fn whole(cassette: Cassette) -> Loaded {
        Loaded {
            cassette,
            keys: None,
            unread: Unread::default(),
        }
    }
}

/// The payloads of a cassette not read yet.
#[derive(Debug, Default)]
pub(crate) struct Unread {
    /// The cassette's text; `None` once everything is read.
    text: Option<SharedText>,
    /// The file, for errors.
    source: String,
    /// The deferred payloads in document order, so grouped by interaction.
    deferred: Vec<Deferred>,
    /// Where each interaction's payloads start in `deferred`; one more entry
    /// than there are interactions.
    starts: Vec<usize>,
    /// Whether each deferred payload is read.
    done: Vec<bool>,
}

impl Unread {
    /// Whether every payload is read.
    pub(crate) fn is_empty(&self) -> bool {
        self.text.is_none()
    }

    /// Reads the payloads of interaction `index` into `cassette`.
    pub(crate) fn fill(&mut self, cassette: &mut Cassette, index: usize) -> Result<()> {
        self.fill_where(cassette, index, |_| true)
    }

    /// Reads the response of interaction `index` into `cassette`.
    pub(crate) fn fill_response(&mut self, cassette: &mut Cassette, index: usize) -> Result<()> {
        self.fill_where(cassette, index, |slot| {
            matches!(
                slot,
                Slot::ResponseHeaders | Slot::ResponseBody | Slot::Frame(_)
            )
        })
    }

    /// Reads the response headers of interaction `index` into `cassette`.
    pub(crate) fn fill_response_headers(
        &mut self,
        cassette: &mut Cassette,
        index: usize,
    ) -> Result<()> {
        self.fill_where(cassette, index, |slot| slot == Slot::ResponseHeaders)
    }

    /// The body of interaction `index`'s response as the JSON text replay
    /// sends, written straight from the cassette's text when its JSON payload
    /// is unread and the fast reader writes it; `None` otherwise.
    pub(crate) fn response_json(&self, index: usize) -> Option<Vec<u8>> {
        let text = self.text.as_ref()?;
        let range = self.starts.get(index).copied()?..self.starts.get(index + 1).copied()?;
        let at = range
            .into_iter()
            .find(|&at| self.deferred[at].slot == Slot::ResponseBody && !self.done[at])?;
        let mut out = Vec::new();
        fastyaml::deferred_json(text.as_str(), &self.deferred[at], &mut out)?;
        Some(out)
    }

    fn fill_where(
        &mut self,
        cassette: &mut Cassette,
        index: usize,
        wanted: impl Fn(Slot) -> bool,
    ) -> Result<()> {
        let Some(text) = self.text.clone() else {
            return Ok(());
        };
        let text = text.as_str();
        let (Some(&start), Some(&end)) = (self.starts.get(index), self.starts.get(index + 1))
        else {
            return Ok(());
        };
        for at in start..end {
            let deferred = self.deferred[at];
            if self.done[at] || !wanted(deferred.slot) {
                continue;
            }
            if !read_into(cassette, text, &deferred) {
                return self.fall_back(cassette);
            }
            self.done[at] = true;
        }
        Ok(())
    }

    /// Reads every payload into `cassette`.
    pub(crate) fn fill_all(&mut self, cassette: &mut Cassette) -> Result<()> {
        for index in 0..self.starts.len().saturating_sub(1) {
            if self.is_empty() {
                break;
            }
            self.fill(cassette, index)?;
        }
        *self = Unread::default();
        Ok(())
    }

    /// Reads the whole file with the general parser and takes from it every
    /// interaction whose payloads were not read yet.
    fn fall_back(&mut self, cassette: &mut Cassette) -> Result<()> {
        let Some(text) = self.text.take() else {
            return Ok(());
        };
        let full = crate::store::parse(text.as_str(), &self.source)?;
        if full.interactions.len() != cassette.interactions.len() {
            return Err(CassetteError::Schema {
                file: self.source.clone(),
                line: None,
                column: None,
                message: format!(
                    "the YAML parser reads {} interactions where the fast reader read {}",
                    full.interactions.len(),
                    cassette.interactions.len()
                ),
            });
        }
        for (index, (mine, theirs)) in cassette
            .interactions
            .iter_mut()
            .zip(full.interactions)
            .enumerate()
        {
            let unread = self
                .starts
                .get(index)
                .zip(self.starts.get(index + 1))
                .is_some_and(|(&start, &end)| self.done[start..end].contains(&false));
            if unread {
                *mine = theirs;
            }
        }
        *self = Unread::default();
        Ok(())
    }
}

/// A cassette's text, shared without copying it: the file's contents and
/// where the text starts in them (after a byte order mark).
#[derive(Debug, Clone)]
pub(crate) struct SharedText {
    contents: Arc<String>,
    start: usize,
}

impl SharedText {
    fn as_str(&self) -> &str {
        self.contents.get(self.start..).unwrap_or_default()
    }
}

/// Reads a deferred part of `text` into its place in `cassette`; `false`
/// when the fast reader cannot read it or it has no place.
fn read_into(cassette: &mut Cassette, text: &str, deferred: &Deferred) -> bool {
    let Some(interaction) = cassette.interactions.get_mut(deferred.interaction) else {
        return false;
    };
    let headers = match deferred.slot {
        Slot::RequestHeaders => &mut interaction.request.headers,
        Slot::ResponseHeaders => &mut interaction.response.headers,
        _ => {
            return fastyaml::read_deferred(text, deferred)
                .is_some_and(|value| place(interaction, deferred.slot, value));
        }
    };
    match fastyaml::read_deferred_headers(text, deferred) {
        Some(list) => {
            *headers = list;
            true
        }
        None => false,
    }
}

/// Puts a JSON payload read late where its placeholder is.
fn place(interaction: &mut Interaction, slot: Slot, value: serde_json::Value) -> bool {
    let slot = match slot {
        Slot::RequestHeaders | Slot::ResponseHeaders => return false,
        Slot::RequestBody => interaction.request.body.as_mut(),
        Slot::ResponseBody => interaction.response.body.as_mut(),
        Slot::Frame(n) => {
            let frame = interaction
                .response
                .stream
                .as_mut()
                .and_then(|stream| stream.frames.get_mut(n));
            return match frame {
                Some(frame) => {
                    frame.data = Some(value);
                    true
                }
                None => false,
            };
        }
    };
    match slot {
        Some(body @ Body::Json(_)) => {
            *body = Body::Json(value);
            true
        }
        _ => false,
    }
}

/// Reads a whole cassette with the fast reader: its structure, then every
/// payload. `None` when the text is outside what it reads.
pub(crate) fn read_fast(text: &str) -> Option<Cassette> {
    let (skeleton, deferred) = fastyaml::parse_deferring(text)?;
    let mut cassette = fastyaml::cassette(skeleton)?;
    for deferred in &deferred {
        if !read_into(&mut cassette, text, deferred) {
            return None;
        }
    }
    Some(cassette)
}

/// Loads the cassette at `path` for replay under `rules`.
///
/// # Errors
///
/// Every error of [`crate::load`].
pub(crate) fn load(path: &std::path::Path, source: &str, rules: &MatchRules) -> Result<Loaded> {
    let contents = crate::store::read_named(path, source)?;
    let start = if contents.starts_with('\u{feff}') {
        '\u{feff}'.len_utf8()
    } else {
        0
    };
    let shared = SharedText {
        contents: Arc::new(contents),
        start,
    };
    let text = shared.as_str();
    if let Some(loaded) = deferring(text, source, rules, || shared.clone())? {
        return Ok(loaded);
    }
    Ok(Loaded {
        cassette: crate::store::parse(text, source)?,
        keys: None,
        unread: Unread::default(),
    })
}

/// Cassettes at least this long are read by two threads.
const PARALLEL_FROM: usize = 256 * 1024;

/// What one part of a cassette reads to.
struct Part {
    interactions: Vec<Interaction>,
    deferred: Vec<Deferred>,
    /// The match key of each request, where its text gives it.
    keys: Vec<Option<RequestKey>>,
}

/// [`load`] through the fast reader; `None` when the text is outside what it
/// reads, or the cassette has an error (the general parser then reports it).
///
/// A long cassette is split at an interaction near its middle and the two
/// halves are read, and their keys computed, on two threads; if the split
/// does not fall where the cassette's layout allows, it is read whole.
fn deferring(
    text: &str,
    source: &str,
    rules: &MatchRules,
    keep: impl FnOnce() -> SharedText,
) -> Result<Option<Loaded>> {
    let parts = if text.len() >= PARALLEL_FROM && rules.custom.is_none() {
        split(text).and_then(|at| {
            std::thread::scope(|scope| {
                // Without a second thread (the system refuses one), the file
                // is read whole on this one.
                let tail = std::thread::Builder::new()
                    .name("llmvcr-load".to_owned())
                    .spawn_scoped(scope, || read_items(text, at, rules))
                    .ok()?;
                let head = read_part(&text[..at], rules);
                let tail = tail.join().ok().flatten();
                let (mut head, (first, tail)) = (head?, tail?);
                // The tail counted the interactions before it by their lines;
                // the head read them.
                if first != head.interactions.len() || tail.interactions.is_empty() {
                    return None;
                }
                head.interactions.extend(tail.interactions);
                head.deferred.extend(tail.deferred);
                head.keys.extend(tail.keys);
                Some(head)
            })
        })
    } else {
        None
    };
    let Some(part) = parts.or_else(|| read_part(text, rules)) else {
        return Ok(None);
    };
    let Part {
        interactions,
        deferred,
        keys,
    } = part;
    let mut cassette = Cassette {
        llmvcr: FORMAT_VERSION,
        interactions,
    };
    if crate::store::validate(&cassette, text, source).is_err() {
        return Ok(None);
    }
    let count = cassette.interactions.len();
    let mut starts = Vec::with_capacity(count + 1);
    let mut next = 0;
    for index in 0..count {
        while next < deferred.len() && deferred[next].interaction < index {
            next += 1;
        }
        starts.push(next);
    }
    starts.push(deferred.len());
    let deferred_count = deferred.len();
    let mut unread = Unread {
        text: Some(keep()),
        source: source.to_owned(),
        deferred,
        starts,
        done: vec![false; deferred_count],
    };
    // A custom matcher sees whole recorded interactions.
    if rules.custom.is_some() {
        unread.fill_all(&mut cassette)?;
        return Ok(Some(Loaded {
            cassette,
            keys: None,
            unread,
        }));
    }
    let mut pairs = Vec::with_capacity(count);
    for (index, key) in keys.into_iter().enumerate() {
        pairs.push(match key {
            // The exact bytes of the request are not known without reading
            // the body; replay learns them from the requests it sees.
            Some(key) => (key, None),
            None => {
                unread.fill(&mut cassette, index)?;
                let request = &cassette.interactions[index].request;
                let bytes = request.body.as_ref().map(crate::convert::body_bytes);
                (
                    rules.key(request),
                    Some(RequestKey::of_bytes(
                        &request.method,
                        &request.url,
                        bytes.as_deref(),
                    )),
                )
            }
        });
    }
    Ok(Some(Loaded {
        cassette,
        keys: Some(pairs),
        unread,
    }))
}

/// Where to split a long cassette: the start of an interaction (a line `- `
/// at the first column) near the middle.
fn split(text: &str) -> Option<usize> {
    let middle = text.len() / 2;
    let after = memchr::memmem::find(&text.as_bytes()[middle..], b"\n- ")?;
    Some(middle + after + 1)
}

/// Reads a whole cassette (or its head, up to a split).
fn read_part(text: &str, rules: &MatchRules) -> Option<Part> {
    let (skeleton, deferred) = fastyaml::parse_deferring(text)?;
    let cassette = fastyaml::cassette(skeleton)?;
    if cassette.llmvcr != FORMAT_VERSION {
        return None;
    }
    Some(with_keys(text, cassette.interactions, deferred, 0, rules))
}

/// Reads the interactions from `at` to the end of `text`, numbering them
/// after the lines `- ` at the first column before `at`; returns that number
/// too, for the caller to check against the head.
fn read_items(text: &str, at: usize, rules: &MatchRules) -> Option<(usize, Part)> {
    let head = &text.as_bytes()[..at];
    let first =
        memchr::memmem::find_iter(head, b"\n- ").count() + usize::from(head.starts_with(b"- "));
    let (items, deferred) = fastyaml::parse_deferring_items(text, at, first)?;
    let interactions = items
        .into_iter()
        .map(fastyaml::interaction)
        .collect::<Option<Vec<_>>>()?;
    Some((first, with_keys(text, interactions, deferred, first, rules)))
}

/// Computes the match keys of `interactions` (the first of which is
/// interaction `first`) from the text of their request bodies.
fn with_keys(
    text: &str,
    interactions: Vec<Interaction>,
    deferred: Vec<Deferred>,
    first: usize,
    rules: &MatchRules,
) -> Part {
    let mut keys = vec![None; interactions.len()];
    if rules.custom.is_none() {
        let mut canonical = Vec::new();
        let mut buffers = fastyaml::CanonicalBuffers::default();
        // Recordings mostly share a few endpoints: the start of the canonical
        // text and the ignored pointers are worked out once for each.
        let mut prefixes: Vec<(&str, &str, Option<crate::matcher::BodyPrefix>)> = Vec::new();
        for body in deferred.iter().filter(|d| d.slot == Slot::RequestBody) {
            let Some(index) = body.interaction.checked_sub(first) else {
                continue;
            };
            let Some(request) = interactions.get(index).map(|i| &i.request) else {
                continue;
            };
            let known = prefixes
                .iter()
                .position(|(method, url, _)| *method == request.method && *url == request.url);
            let at = match known {
                Some(at) => at,
                None => {
                    if prefixes.len() == 32 {
                        prefixes.clear();
                    }
                    let prefix = rules.json_body_prefix(&request.method, &request.url);
                    prefixes.push((&request.method, &request.url, prefix));
                    prefixes.len() - 1
                }
            };
            let Some((prefix, pointers)) = &prefixes[at].2 else {
                continue;
            };
            canonical.clear();
            canonical.extend_from_slice(prefix);
            if let Some(pointers) = pointers
                && fastyaml::deferred_canonical(text, body, pointers, &mut canonical, &mut buffers)
                    .is_none()
            {
                continue;
            }
            keys[index] = Some(MatchRules::key_of_canonical(&canonical));
        }
    }
    Part {
        interactions,
        deferred,
        keys,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::{Interaction, Request, Response};
    use proptest::prelude::*;
    use serde_json::{Value, json};

    fn shared(text: &str) -> SharedText {
        SharedText {
            contents: Arc::new(text.to_owned()),
            start: 0,
        }
    }

    fn one(body: Value, url: &str) -> Cassette {
        Cassette {
            interactions: vec![Interaction {
                recorded_at: None,
                request: Request {
                    method: "POST".into(),
                    url: url.into(),
                    headers: Default::default(),
                    body: Some(Body::Json(body)),
                },
                response: Response {
                    status: 200,
                    headers: Default::default(),
                    body: Some(Body::Json(json!({"ok": true}))),
                    stream: None,
                },
            }],
            ..Cassette::default()
        }
    }

    /// The key computed from the text, and the key of the value.
    fn keys(cassette: &Cassette, rules: &MatchRules) -> (RequestKey, RequestKey) {
        let text = crate::store::to_yaml(cassette).unwrap();
        let loaded = deferring(&text, "t.yaml", rules, || shared(&text))
            .unwrap()
            .unwrap();
        let from_text = loaded.keys.unwrap()[0].0;
        (from_text, rules.key(&cassette.interactions[0].request))
    }

    fn value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            (-1e6f64..1e6).prop_map(Value::from),
            prop::sample::select(vec![1.0, -0.0, 2.5e20, 1e-9, 3.0]).prop_map(Value::from),
            "[ -~\n\t]{0,12}|\\PC{0,6}".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 40, 5, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::vec(
                    (
                        prop::sample::select(vec![
                            "a", "b", "model", "messages", "0", "x y", "é", "~"
                        ]),
                        inner
                    ),
                    0..5,
                )
                .prop_map(|entries| Value::Object(
                    entries
                        .into_iter()
                        .map(|(k, v)| (k.to_owned(), v))
                        .collect()
                )),
            ]
        })
    }

    proptest! {
        /// The match key from the text of a request body (keys sorted,
        /// ignored fields left out) is the key of the body's value.
        #[test]
        fn keys_from_text_are_keys_of_values(
            body in value(),
            pointers in prop::collection::vec(prop::sample::select(vec![
                "/a", "/b/a", "/model", "/messages/*/a", "/*/b", "/0", "/1/a", "/~0", "/x y",
            ]), 0..3),
        ) {
            let mut rules = MatchRules::new();
            for pointer in pointers {
                rules = rules.with_ignored_pointer(pointer);
            }
            let cassette = one(json!({ "model": "m", "body": body.clone(), "messages": [body] }), "https://h/v1/x?b=2&a=1");
            let (from_text, from_value) = keys(&cassette, &rules);
            prop_assert_eq!(from_text, from_value);
        }
    }

    fn write_temp(name: &str, text: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("llmvcr-lazy-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    const HEAD: &str = "llmvcr: 1\ninteractions:\n- request:\n    method: POST\n    url: https://h/v1\n    body:\n      json:\n        a: 1\n  response:\n    status: 200\n    body:\n      json:\n";

    /// A payload outside the fast reader's subset but valid YAML is read by
    /// the general parser when first needed, to the same cassette.
    #[test]
    fn a_payload_outside_the_subset_is_read_by_the_general_parser() {
        let text = format!("{HEAD}        answer: {{b: [1, 2]}}\n");
        let path = write_temp("flow.yaml", &text);
        let mut loaded = load(&path, &path.display().to_string(), &MatchRules::new()).unwrap();
        assert!(loaded.keys.is_some(), "the structure took the fast path");
        loaded.unread.fill(&mut loaded.cassette, 0).unwrap();
        assert_eq!(loaded.cassette, crate::store::load(&path).unwrap());
        assert_eq!(
            loaded.cassette.interactions[0].response.body,
            Some(Body::Json(json!({"answer": {"b": [1, 2]}})))
        );
    }

    /// A syntax error inside a skipped payload is reported when the payload
    /// is first needed, naming the file and the line.
    #[test]
    fn a_syntax_error_in_a_payload_is_reported_with_its_line() {
        let text = format!("{HEAD}        answer: [unclosed\n        more: 1\n");
        let path = write_temp("broken.yaml", &text);
        let mut loaded = load(&path, &path.display().to_string(), &MatchRules::new()).unwrap();
        match loaded.unread.fill(&mut loaded.cassette, 0) {
            Err(CassetteError::Syntax { file, line, .. }) => {
                assert!(file.ends_with("broken.yaml"), "{file}");
                assert!(line.is_some_and(|l| l >= 13), "{line:?}");
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            crate::store::load(&path),
            Err(CassetteError::Syntax { .. })
        ));
    }

    /// A field or header named twice is an error however the file is read.
    #[test]
    fn repeated_fields_are_errors() {
        for (name, text) in [
            (
                "field.yaml",
                "llmvcr: 1\ninteractions:\n- request:\n    method: POST\n    url: https://h/v1\n  response:\n    status: 200\n    status: 201\n",
            ),
            (
                "header.yaml",
                "llmvcr: 1\ninteractions:\n- request:\n    method: POST\n    url: https://h/v1\n    headers:\n      a: x\n      A: y\n  response:\n    status: 200\n",
            ),
        ] {
            let path = write_temp(name, text);
            assert!(crate::store::load(&path).is_err(), "{name}");
            assert!(
                load(&path, &path.display().to_string(), &MatchRules::new()).is_err(),
                "{name}"
            );
        }
    }

    /// Headers are read when first needed; what is wrong in them is then
    /// reported as the general parser reports it, with the file and line.
    #[test]
    fn bad_headers_are_reported_when_first_read() {
        for (name, headers) in [
            ("twice.yaml", "      a: x\n      A: y\n"),
            ("empty-name.yaml", "      '': x\n"),
            ("nested.yaml", "      a:\n        b: c\n"),
        ] {
            let text = format!(
                "llmvcr: 1\ninteractions:\n- request:\n    method: POST\n    url: https://h/v1\n    body:\n      json:\n        a: 1\n  response:\n    status: 200\n    headers:\n{headers}"
            );
            let path = write_temp(name, &text);
            let eager = crate::store::load(&path);
            assert!(
                matches!(eager, Err(CassetteError::Schema { line: Some(_), .. })),
                "{name}: {eager:?}"
            );
            let mut loaded = load(&path, &path.display().to_string(), &MatchRules::new()).unwrap();
            assert!(loaded.keys.is_some(), "{name}");
            match loaded.unread.fill_response_headers(&mut loaded.cassette, 0) {
                Err(CassetteError::Schema { file, line, .. }) => {
                    assert!(file.ends_with(name), "{file}");
                    assert!(line.is_some(), "{name}");
                }
                other => panic!("{name}: {other:?}"),
            }
        }
    }

    /// Deferred headers read to what the general parser reads, in order,
    /// with repeated values.
    #[test]
    fn headers_are_read_when_first_needed() {
        let text = "llmvcr: 1\ninteractions:\n- request:\n    method: POST\n    url: https://h/v1\n    headers:\n      content-type: application/json\n    body:\n      json:\n        a: 1\n  response:\n    status: 200\n    headers:\n      set-cookie:\n      - a=<REDACTED>\n      - b=<REDACTED>\n      x-n: 3\n      x-empty: {}\n".replace("      x-empty: {}\n", "      x-t: true\n    body:\n      text: hi\n");
        let path = write_temp("headers.yaml", &text);
        let mut loaded = load(&path, &path.display().to_string(), &MatchRules::new()).unwrap();
        assert!(loaded.cassette.interactions[0].response.headers.is_empty());
        loaded
            .unread
            .fill_response_headers(&mut loaded.cassette, 0)
            .unwrap();
        let eager = crate::store::load(&path).unwrap();
        assert_eq!(
            loaded.cassette.interactions[0].response.headers,
            eager.interactions[0].response.headers
        );
        assert!(loaded.cassette.interactions[0].request.headers.is_empty());
        loaded.unread.fill_all(&mut loaded.cassette).unwrap();
        assert_eq!(loaded.cassette, eager);
    }

    #[test]
    fn repeated_keys_take_the_last_value_as_the_value_does() {
        let rules = MatchRules::new();
        let text = "llmvcr: 1\ninteractions:\n- request:\n    method: POST\n    url: https://h/v1\n    body:\n      json:\n        b: 1\n        a: 2\n        b: 3\n  response:\n    status: 200\n";
        let loaded = deferring(text, "t.yaml", &rules, || shared(text))
            .unwrap()
            .unwrap();
        let general = crate::store::parse(text, "t.yaml").unwrap();
        assert_eq!(
            loaded.keys.unwrap()[0].0,
            rules.key(&general.interactions[0].request)
        );
    }

    fn repository_cassettes() -> Vec<std::path::PathBuf> {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let mut dirs = vec![root.join("cassettes"), root.join("scenarios/cassettes")];
        let mut files = Vec::new();
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    dirs.push(path);
                } else if path.extension().is_some_and(|e| e == "yaml")
                    && std::fs::read_to_string(&path)
                        .unwrap()
                        .lines()
                        .any(|l| l.starts_with("llmvcr:"))
                {
                    files.push(path);
                }
            }
        }
        files.sort();
        files
    }

    /// A cassette long enough to be read by two threads, from every
    /// interaction in the repository, loads to what the eager reader reads.
    #[test]
    fn long_cassettes_load_in_two_parts_to_the_same_cassette() {
        let mut all = Cassette::default();
        for path in repository_cassettes() {
            all.interactions
                .extend(crate::store::load(&path).unwrap().interactions);
        }
        let text = crate::store::to_yaml(&all).unwrap();
        assert!(text.len() > 2 * PARALLEL_FROM, "{}", text.len());
        let at = split(&text).unwrap();
        assert!(read_items(&text, at, &MatchRules::new()).is_some());

        let dir = std::env::temp_dir().join(format!("llmvcr-lazy-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("long.yaml");
        std::fs::write(&path, &text).unwrap();
        let rules = MatchRules::new().with_ignored_pointer("/model");
        let mut loaded = load(&path, &path.display().to_string(), &rules).unwrap();
        let keys: Vec<RequestKey> = loaded.keys.take().unwrap().iter().map(|k| k.0).collect();
        let expected: Vec<RequestKey> = all
            .interactions
            .iter()
            .map(|i| rules.key(&i.request))
            .collect();
        assert_eq!(keys, expected);
        loaded.unread.fill_all(&mut loaded.cassette).unwrap();
        assert_eq!(loaded.cassette, all);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// Every cassette in the repository loads lazily to the cassette the
    /// eager reader reads, with the keys the eager index computes.
    #[test]
    fn lazy_loads_equal_eager_loads() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let mut dirs = vec![root.join("cassettes"), root.join("scenarios/cassettes")];
        let rules = MatchRules::new().with_ignored_pointer("/metadata");
        let mut seen = 0;
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    dirs.push(path);
                    continue;
                }
                if path.extension().is_none_or(|e| e != "yaml") {
                    continue;
                }
                let text = std::fs::read_to_string(&path).unwrap();
                if !text.lines().any(|l| l.starts_with("llmvcr:")) {
                    continue;
                }
                seen += 1;
                let eager = crate::store::load(&path).unwrap();
                let mut loaded = load(&path, &path.display().to_string(), &rules).unwrap();
                let keys = loaded.keys.take().expect("took the fast path");
                let expected: Vec<RequestKey> = eager
                    .interactions
                    .iter()
                    .map(|i| rules.key(&i.request))
                    .collect();
                let got: Vec<RequestKey> = keys.iter().map(|k| k.0).collect();
                assert_eq!(got, expected, "{}", path.display());
                for (index, interaction) in eager.interactions.iter().enumerate() {
                    if let Some(json) = loaded.unread.response_json(index) {
                        let body = interaction.response.body.as_ref().unwrap();
                        assert_eq!(json, crate::convert::body_bytes(body), "{}", path.display());
                    }
                }
                loaded.unread.fill_all(&mut loaded.cassette).unwrap();
                assert_eq!(loaded.cassette, eager, "{}", path.display());
            }
        }
        assert!(seen > 100, "{seen}");
    }
}
