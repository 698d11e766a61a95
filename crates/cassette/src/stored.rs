//! Cassette format v1 as stored on disk: the types that are written to and
//! read from a cassette file.
//!
//! The schema, with an example and the rules for bodies, streams, secrets and
//! stable output, is in the [crate documentation](crate#format-v1). These
//! types mirror it one to one; [`crate::parse`] and [`crate::to_yaml`] read
//! and write them. JSON payloads are kept as compact JSON text ([`Json`]):
//! in the file they are YAML structures, in memory they take the room of
//! their text, and replay sends them without building a JSON value.

use std::fmt;

use serde::de::{self, MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

/// The format version this crate reads and writes.
pub const FORMAT_VERSION: u32 = 1;

/// A whole cassette file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cassette {
    /// The format version; always [`FORMAT_VERSION`] when written by this crate.
    pub llmvcr: u32,
    /// The recorded exchanges, in recording order.
    #[serde(default)]
    pub interactions: Vec<Interaction>,
}

impl Default for Cassette {
    fn default() -> Cassette {
        Cassette {
            llmvcr: FORMAT_VERSION,
            interactions: Vec::new(),
        }
    }
}

/// One recorded request and its response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Interaction {
    /// When the request was sent (RFC 3339), if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recorded_at: Option<String>,
    /// The request.
    pub request: Request,
    /// The response.
    pub response: Response,
}

/// A recorded request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Request {
    /// The HTTP method, upper case.
    pub method: String,
    /// The URL, credentials replaced by placeholders.
    pub url: String,
    /// Headers, in order, names lowercase.
    #[serde(default, skip_serializing_if = "HeaderList::is_empty")]
    pub headers: HeaderList,
    /// The body; `None` when empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<StoredBody>,
}

/// A recorded response: a whole body or a stream of frames.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Response {
    /// The HTTP status.
    pub status: u16,
    /// Headers, in order, names lowercase.
    #[serde(default, skip_serializing_if = "HeaderList::is_empty")]
    pub headers: HeaderList,
    /// The body of a non-streamed response; `None` when empty or streamed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<StoredBody>,
    /// The frames of a streamed response.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream: Option<Stream>,
}

/// A body, stored in the most readable form that loses nothing.
///
/// Written as a mapping with exactly one key: `json`, `text` or `base64`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "BodyRepr", into = "BodyRepr")]
pub enum StoredBody {
    /// A JSON document, stored as a structure.
    Json(Json),
    /// UTF-8 text that is not JSON.
    Text(String),
    /// Anything else, base64-encoded (standard alphabet, padded).
    Base64(String),
}

/// The on-disk form of a [`StoredBody`]: a mapping with exactly one key. (A plain
/// externally tagged enum would be written as a YAML tag, `!json`.)
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct BodyRepr {
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    json: Option<Json>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    text: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    base64: Option<String>,
}

impl TryFrom<BodyRepr> for StoredBody {
    type Error = &'static str;

    fn try_from(repr: BodyRepr) -> Result<StoredBody, Self::Error> {
        match (repr.json, repr.text, repr.base64) {
            (Some(json), None, None) => Ok(StoredBody::Json(json)),
            (None, Some(text), None) => Ok(StoredBody::Text(text)),
            (None, None, Some(base64)) => Ok(StoredBody::Base64(base64)),
            _ => Err("a body needs exactly one of `json`, `text` and `base64`"),
        }
    }
}

impl From<StoredBody> for BodyRepr {
    fn from(body: StoredBody) -> BodyRepr {
        let (mut json, mut text, mut base64) = (None, None, None);
        match body {
            StoredBody::Json(value) => json = Some(value),
            StoredBody::Text(value) => text = Some(value),
            StoredBody::Base64(value) => base64 = Some(value),
        }
        BodyRepr { json, text, base64 }
    }
}

/// Deserialises a field that is present, even as `null`, as `Some`.
fn present<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Json>, D::Error> {
    Json::deserialize(deserializer).map(Some)
}

/// A JSON document kept as its compact text, keys in their own order.
///
/// In a cassette file it is a YAML structure. Reading one writes the
/// structure straight to JSON text, and writing one reads the text straight
/// into YAML, so no JSON value is built either way. In a binary format (one
/// that is not human-readable, such as the load cache) it is the text itself.
///
/// ```
/// use llmvcr_cassette::Json;
///
/// let json = Json::parse(r#"{ "b": 1, "a": [true, null] }"#)?;
/// assert_eq!(json.as_str(), r#"{"b":1,"a":[true,null]}"#);
/// assert_eq!(json.to_value()["a"][0], true);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Json(Box<str>);

impl Json {
    /// Parses JSON text, writing it compactly.
    ///
    /// # Errors
    ///
    /// When `text` is not one JSON document.
    pub fn parse(text: &str) -> Result<Json, serde_json::Error> {
        let mut de = serde_json::Deserializer::from_str(text);
        let json = Json::transcode(&mut de)?;
        de.end()?;
        Ok(json)
    }

    /// The compact text of `value`.
    #[must_use]
    pub fn from_value(value: &Value) -> Json {
        Json(value.to_string().into_boxed_str())
    }

    /// The compact JSON text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The document as a JSON value.
    #[must_use]
    pub fn to_value(&self) -> Value {
        // The text is JSON by construction; `Null` cannot happen.
        serde_json::from_str(&self.0).unwrap_or(Value::Null)
    }

    /// Writes what `deserializer` holds as compact JSON text.
    fn transcode<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Json, D::Error> {
        let mut out = Vec::with_capacity(128);
        let mut writer = serde_json::Serializer::new(&mut out);
        serde_transcode::transcode(deserializer, &mut writer).map_err(de::Error::custom)?;
        String::from_utf8(out)
            .map(|text| Json(text.into_boxed_str()))
            .map_err(de::Error::custom)
    }
}

impl fmt::Debug for Json {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Display for Json {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&Value> for Json {
    fn from(value: &Value) -> Json {
        Json::from_value(value)
    }
}

impl From<Value> for Json {
    fn from(value: Value) -> Json {
        Json::from_value(&value)
    }
}

impl Serialize for Json {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if !serializer.is_human_readable() {
            return serializer.serialize_str(&self.0);
        }
        let mut de = serde_json::Deserializer::from_str(&self.0);
        serde_transcode::Transcoder::new(&mut de).serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Json {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Json, D::Error> {
        if deserializer.is_human_readable() {
            Json::transcode(deserializer)
        } else {
            String::deserialize(deserializer).map(|text| Json(text.into_boxed_str()))
        }
    }
}

/// How a streamed body was framed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StreamFormat {
    /// Server-Sent Events.
    Sse,
    /// Newline-delimited JSON.
    Ndjson,
    /// A JSON array streamed element by element.
    JsonArray,
    /// Raw chunks of any other body.
    Chunks,
}

/// A streamed response body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Stream {
    /// The framing.
    pub format: StreamFormat,
    /// The frames, in order.
    #[serde(default)]
    pub frames: Vec<Frame>,
}

/// One frame of a stream, with its time offset.
///
/// For `sse`, a frame is either an event (`event`, `id`, `retry`, and the data as
/// `data` when it is JSON or `text` otherwise) or a `comment` line. For `ndjson` and
/// `json_array` it is one line or element (`data`, or `text` when not JSON). For
/// `chunks` it is one raw chunk (`text`, or `base64`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Frame {
    /// Milliseconds from the start of the response to this frame.
    pub at_ms: u64,
    /// SSE `event:` field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<String>,
    /// SSE `id:` field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// SSE `retry:` field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry: Option<u64>,
    /// An SSE comment line, without the leading colon.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// JSON data, as a structure.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub data: Option<Json>,
    /// Text data that is not JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// Bytes that are not UTF-8, base64-encoded (`chunks` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base64: Option<String>,
}

/// Headers in order. Written as a YAML mapping whose values are a string, or a list
/// of strings for a header that appeared more than once.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HeaderList(pub Vec<(String, Vec<String>)>);

impl HeaderList {
    /// Whether there are no headers.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The first value of `name`, compared case-insensitively.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .and_then(|(_, v)| v.first())
            .map(String::as_str)
    }

    /// Appends a value, joining an existing header of the same name.
    pub fn append(&mut self, name: &str, value: impl Into<String>) {
        let value = value.into();
        match self
            .0
            .iter_mut()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
        {
            Some((_, values)) => values.push(value),
            None => self.0.push((name.to_ascii_lowercase(), vec![value])),
        }
    }

    /// Removes every value of `name`.
    pub fn remove(&mut self, name: &str) {
        self.0.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
    }

    /// `(name, value)` pairs, one per value.
    pub fn pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0
            .iter()
            .flat_map(|(n, vs)| vs.iter().map(move |v| (n.as_str(), v.as_str())))
    }
}

impl Serialize for HeaderList {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        // A name that appears in several entries is written once, with all its
        // values in order: YAML mappings cannot repeat a key.
        let mut merged: Vec<(&str, Vec<&String>)> = Vec::with_capacity(self.0.len());
        for (name, values) in &self.0 {
            match merged
                .iter_mut()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
            {
                Some((_, all)) => all.extend(values),
                None => merged.push((name.as_str(), values.iter().collect())),
            }
        }
        let mut map = serializer.serialize_map(Some(merged.len()))?;
        for (name, values) in &merged {
            match values.as_slice() {
                [one] => map.serialize_entry(name, one)?,
                many => map.serialize_entry(name, many)?,
            }
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for HeaderList {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<HeaderList, D::Error> {
        struct HeaderVisitor;

        /// A header value as written: a scalar or a list of scalars. Numbers
        /// and booleans written without quotes are read as their text.
        fn values<E: de::Error>(name: &str, value: Value) -> Result<Vec<String>, E> {
            fn scalar(value: Value) -> Option<String> {
                match value {
                    Value::String(text) => Some(text),
                    Value::Number(n) => Some(n.to_string()),
                    Value::Bool(b) => Some(b.to_string()),
                    Value::Null | Value::Array(_) | Value::Object(_) => None,
                }
            }
            let list = match value {
                Value::Array(items) => items.into_iter().map(scalar).collect(),
                other => scalar(other).map(|one| vec![one]),
            };
            list.ok_or_else(|| {
                E::custom(format!(
                    "header `{name}`: expected a string or a list of strings"
                ))
            })
        }

        impl<'de> Visitor<'de> for HeaderVisitor {
            type Value = HeaderList;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a mapping of header names to a string or a list of strings")
            }

            fn visit_unit<E: de::Error>(self) -> Result<HeaderList, E> {
                Ok(HeaderList::default())
            }

            fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<HeaderList, A::Error> {
                let mut list = HeaderList::default();
                while let Some((name, value)) = access.next_entry::<String, Value>()? {
                    let values = values(&name, value)?;
                    if list.0.iter().any(|(n, _)| n.eq_ignore_ascii_case(&name)) {
                        return Err(de::Error::custom(format!(
                            "duplicate header `{name}`: list all its values under one key"
                        )));
                    }
                    list.0.push((name, values));
                }
                Ok(list)
            }
        }

        deserializer.deserialize_any(HeaderVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_header_names_are_written_once() {
        let headers = HeaderList(vec![
            ("set-cookie".into(), vec!["a=<REDACTED>".into()]),
            ("x-one".into(), vec!["1".into()]),
            ("Set-Cookie".into(), vec!["b=<REDACTED>".into()]),
        ]);
        let yaml = yaml_serde::to_string(&headers).unwrap();
        let back: HeaderList = yaml_serde::from_str(&yaml).unwrap();
        assert_eq!(
            back.0,
            vec![
                (
                    "set-cookie".to_string(),
                    vec!["a=<REDACTED>".to_string(), "b=<REDACTED>".to_string()]
                ),
                ("x-one".to_string(), vec!["1".to_string()]),
            ]
        );
    }
}
