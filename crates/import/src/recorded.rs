//! Recorded HTTP interactions as other recorders' files hold them, produced by
//! the importers.
//!
//! These types describe what a recorder saw on the wire, after the importer
//! has undone the recorder's storage encodings (base64, YAML mappings holding
//! JSON) and the HTTP content coding (gzip, deflate). They carry no LLM
//! knowledge and are not a serialisation format: the importers build them,
//! and the rest of the crate converts them into its own cassette format.

use std::borrow::Cow;
use std::fmt;

/// One recorded request and the response that answered it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedInteraction {
    /// The request as the client sent it.
    pub request: RecordedRequest,
    /// The response as the server returned it.
    pub response: RecordedResponse,
    /// When the interaction was recorded, verbatim from the file.
    ///
    /// Present in the `typed_body` VCR.py dialect and in vcr-cassette JSON;
    /// VCR.py's own format does not store it. The text is not parsed, because
    /// recorders use different timestamp formats (RFC 3339, RFC 2822).
    pub recorded_at: Option<String>,
}

/// A recorded HTTP request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedRequest {
    /// The method, upper-cased (`POST`). Some recorders store it lower-case.
    pub method: String,
    /// The full URI, verbatim from the file.
    pub uri: String,
    /// The headers exactly as recorded, including any `Content-Encoding`.
    pub headers: Headers,
    /// The body, with storage and content codings removed; see
    /// [`RecordedRequest::body_decoded_from`].
    pub body: RecordedBody,
    /// The content coding that the importer removed from the recorded body,
    /// or `None` when `body` holds the bytes as recorded.
    pub body_decoded_from: Option<ContentCoding>,
}

/// A recorded HTTP response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedResponse {
    /// The HTTP status code, always in `100..=999`.
    pub status: u16,
    /// The reason phrase (`OK`), when the file records one.
    pub reason: Option<String>,
    /// The headers exactly as recorded, including any `Content-Encoding`
    /// and the `Content-Length` of the compressed body. Use
    /// [`RecordedResponse::decoded_headers`] for headers that describe `body`.
    pub headers: Headers,
    /// The body, with storage and content codings removed; see
    /// [`RecordedResponse::body_decoded_from`].
    pub body: RecordedBody,
    /// The content coding that the importer removed from the recorded body
    /// (for example the gzip of a `!!binary` VCR.py body), or `None` when
    /// `body` holds the bytes as recorded.
    pub body_decoded_from: Option<ContentCoding>,
}

impl RecordedRequest {
    /// The headers that describe [`RecordedRequest::body`] as decoded.
    ///
    /// When the importer decompressed the body, this drops `Content-Encoding`
    /// and `Content-Length` (both describe the compressed bytes); otherwise it
    /// is a copy of [`RecordedRequest::headers`].
    #[must_use]
    pub fn decoded_headers(&self) -> Headers {
        decoded_headers(&self.headers, self.body_decoded_from)
    }
}

impl RecordedResponse {
    /// The headers that describe [`RecordedResponse::body`] as decoded.
    ///
    /// When the importer decompressed the body, this drops `Content-Encoding`
    /// and `Content-Length` (both describe the compressed bytes); otherwise it
    /// is a copy of [`RecordedResponse::headers`].
    #[must_use]
    pub fn decoded_headers(&self) -> Headers {
        decoded_headers(&self.headers, self.body_decoded_from)
    }
}

fn decoded_headers(headers: &Headers, decoded_from: Option<ContentCoding>) -> Headers {
    let mut out = headers.clone();
    if decoded_from.is_some() {
        out.remove("content-encoding");
        out.remove("content-length");
    }
    out
}

/// An HTTP content coding that the importer can remove from a body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ContentCoding {
    /// `gzip` (RFC 1952), including concatenated gzip members.
    Gzip,
    /// `deflate`: a zlib stream (RFC 1950), or a raw deflate stream (RFC 1951)
    /// as some servers send.
    Deflate,
}

impl ContentCoding {
    /// The coding's name as it appears in `Content-Encoding`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            ContentCoding::Gzip => "gzip",
            ContentCoding::Deflate => "deflate",
        }
    }
}

impl fmt::Display for ContentCoding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// HTTP headers in recorded order.
///
/// Each entry is a name, spelled as recorded, with its values in order. A name
/// may occur in more than one entry. Lookups ignore ASCII case.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Headers(Vec<(String, Vec<String>)>);

impl Headers {
    /// An empty header list.
    #[must_use]
    pub fn new() -> Self {
        Headers(Vec::new())
    }

    /// Appends an entry, keeping any earlier entry with the same name.
    pub fn push(&mut self, name: impl Into<String>, values: Vec<String>) {
        self.0.push((name.into(), values));
    }

    /// The first value of the first entry named `name` (any case) that has a
    /// value.
    #[must_use]
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .flat_map(|(_, values)| values.iter())
            .map(String::as_str)
            .next()
    }

    /// Every value of every entry named `name` (any case), in recorded order.
    #[must_use]
    pub fn get_all(&self, name: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .flat_map(|(_, values)| values.iter())
            .map(String::as_str)
            .collect()
    }

    /// Whether an entry named `name` (any case) exists, even with no value.
    #[must_use]
    pub fn contains(&self, name: &str) -> bool {
        self.0.iter().any(|(n, _)| n.eq_ignore_ascii_case(name))
    }

    /// Removes every entry named `name` (any case) and returns their values.
    pub fn remove(&mut self, name: &str) -> Vec<String> {
        let mut removed = Vec::new();
        self.0.retain_mut(|(n, values)| {
            if n.eq_ignore_ascii_case(name) {
                removed.append(values);
                false
            } else {
                true
            }
        });
        removed
    }

    /// The entries in recorded order, as `(name, values)`.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[String])> {
        self.0.iter().map(|(n, v)| (n.as_str(), v.as_slice()))
    }

    /// The number of entries (not of values).
    #[must_use]
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are no entries.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The entries as a slice.
    #[must_use]
    pub fn as_slice(&self) -> &[(String, Vec<String>)] {
        &self.0
    }

    /// The entries, consuming the list.
    #[must_use]
    pub fn into_inner(self) -> Vec<(String, Vec<String>)> {
        self.0
    }
}

impl From<Vec<(String, Vec<String>)>> for Headers {
    fn from(entries: Vec<(String, Vec<String>)>) -> Self {
        Headers(entries)
    }
}

impl FromIterator<(String, Vec<String>)> for Headers {
    fn from_iter<I: IntoIterator<Item = (String, Vec<String>)>>(iter: I) -> Self {
        Headers(iter.into_iter().collect())
    }
}

/// A recorded body, after the importer removed storage and content codings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordedBody {
    /// No body: absent, null, or zero bytes.
    Empty,
    /// A body that is valid UTF-8, kept exactly as recorded (JSON text is not
    /// re-formatted).
    Text(String),
    /// A JSON document that the file stores as a structure rather than as
    /// text (VCR.py `parsed_body`, `type: json` bodies, request bodies stored
    /// as a mapping). The original byte layout is not known.
    Json(serde_json::Value),
    /// A body that is not valid UTF-8.
    Bytes(Vec<u8>),
}

impl RecordedBody {
    /// The body as bytes. A [`RecordedBody::Json`] is serialised compactly, keeping
    /// key order.
    #[must_use]
    pub fn as_bytes(&self) -> Cow<'_, [u8]> {
        match self {
            RecordedBody::Empty => Cow::Borrowed(&[]),
            RecordedBody::Text(text) => Cow::Borrowed(text.as_bytes()),
            RecordedBody::Json(value) => Cow::Owned(serde_json::to_vec(value).unwrap_or_default()),
            RecordedBody::Bytes(bytes) => Cow::Borrowed(bytes),
        }
    }

    /// Whether the body has no bytes. A [`RecordedBody::Json`] is never empty.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        match self {
            RecordedBody::Empty => true,
            RecordedBody::Text(text) => text.is_empty(),
            RecordedBody::Json(_) => false,
            RecordedBody::Bytes(bytes) => bytes.is_empty(),
        }
    }

    /// The body as JSON: a [`RecordedBody::Json`] as is, and text or bytes when they
    /// parse as one JSON document. `None` for anything else, including SSE
    /// streams and empty bodies.
    #[must_use]
    pub fn as_json(&self) -> Option<serde_json::Value> {
        match self {
            RecordedBody::Empty => None,
            RecordedBody::Text(text) => serde_json::from_str(text).ok(),
            RecordedBody::Json(value) => Some(value.clone()),
            RecordedBody::Bytes(bytes) => serde_json::from_slice(bytes).ok(),
        }
    }

    /// The body as text, when it is [`RecordedBody::Text`] (or empty).
    #[must_use]
    pub fn as_text(&self) -> Option<&str> {
        match self {
            RecordedBody::Empty => Some(""),
            RecordedBody::Text(text) => Some(text),
            RecordedBody::Json(_) | RecordedBody::Bytes(_) => None,
        }
    }

    /// Classifies decoded bytes: empty, UTF-8 text, or raw bytes.
    #[must_use]
    pub fn from_bytes(bytes: Vec<u8>) -> RecordedBody {
        if bytes.is_empty() {
            return RecordedBody::Empty;
        }
        match String::from_utf8(bytes) {
            Ok(text) => RecordedBody::Text(text),
            Err(err) => RecordedBody::Bytes(err.into_bytes()),
        }
    }

    /// Classifies text: empty or [`RecordedBody::Text`].
    #[must_use]
    pub fn from_text(text: String) -> RecordedBody {
        if text.is_empty() {
            RecordedBody::Empty
        } else {
            RecordedBody::Text(text)
        }
    }
}
