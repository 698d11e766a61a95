//! Conversions between format v1 and the importers' [`RecordedInteraction`]s,
//! and between streams and their bytes.
//!
//! - [`from_recorded`] turns an imported interaction into a v1
//!   [`Interaction`]: JSON bodies become structures, streamed responses are
//!   split into frames by their `Content-Type` (and, for streamed JSON
//!   arrays such as Gemini's, by [`StreamUrlRule`]s), and whatever cannot be framed without loss stays a
//!   plain body.
//! - [`to_recorded`] goes back, rebuilding streamed bodies from their frames.
//! - [`stream_bytes`], [`stream_chunks`] and [`frame_bytes`] give the wire
//!   bytes of a stream, whole or frame by frame (what replay sends).
//! - [`FrameCapture`] records a live stream frame by frame while it is being
//!   forwarded.

use base64::Engine as _;
use llmvcr_framing::{JsonArrayFramer, NdjsonFramer, SseEvent, SseFramer, SseItem};
use serde_json::Value;

use crate::recorded::{
    Headers, RecordedBody, RecordedInteraction, RecordedRequest, RecordedResponse,
};
use crate::stored::{
    Frame, HeaderList, Interaction, Json, Request, Response, StoredBody, Stream, StreamFormat,
};

const BASE64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// Converts an imported interaction to format v1, losing nothing but byte
/// layout that JSON does not carry.
///
/// - Headers are those that describe the decoded body
///   ([`RecordedResponse::decoded_headers`]): when the importer removed gzip,
///   `content-encoding` and `content-length` are dropped. Names are
///   lowercased; repeated names are joined in order.
/// - A body that is a JSON object or array becomes [`StoredBody::Json`], other UTF-8
///   text [`StoredBody::Text`], anything else [`StoredBody::Base64`]; an empty body is
///   `None`.
/// - A response whose `Content-Type` is `text/event-stream` is stored as `sse`
///   frames, an NDJSON one as `ndjson` frames, and the JSON array returned by
///   a URL that one of `rules` names (Gemini's `:streamGenerateContent`
///   without `alt=sse`) as `json_array` elements. Every frame has `at_ms: 0`, since recorders keep no timing. A
///   body that cannot be framed exactly (invalid UTF-8, an unknown SSE field,
///   a truncated array) stays a plain body.
#[must_use]
pub fn from_recorded(recorded: &RecordedInteraction, rules: &[StreamUrlRule]) -> Interaction {
    Interaction {
        recorded_at: recorded.recorded_at.clone(),
        request: request_from(&recorded.request),
        response: response_from(&recorded.request.uri, &recorded.response, rules),
    }
}

/// Converts a v1 interaction to the importers' form, for code that reads
/// recordings in any format (such as `inspect`). A stream becomes its whole
/// body, rebuilt with [`stream_bytes`].
#[must_use]
pub fn to_recorded(interaction: &Interaction) -> RecordedInteraction {
    let request = &interaction.request;
    let response = &interaction.response;
    let response_body = match (&response.stream, &response.body) {
        (Some(stream), _) => RecordedBody::from_bytes(stream_bytes(stream)),
        (None, Some(body)) => body_to_model(body),
        (None, None) => RecordedBody::Empty,
    };
    RecordedInteraction {
        request: RecordedRequest {
            method: request.method.clone(),
            uri: request.url.clone(),
            headers: headers_to_model(&request.headers),
            body: request
                .body
                .as_ref()
                .map_or(RecordedBody::Empty, body_to_model),
            body_decoded_from: None,
        },
        response: RecordedResponse {
            status: response.status,
            reason: None,
            headers: headers_to_model(&response.headers),
            body: response_body,
            body_decoded_from: None,
        },
        recorded_at: interaction.recorded_at.clone(),
    }
}

/// The bytes of a v1 body: JSON serialised compactly (keys in stored order),
/// text as UTF-8, base64 decoded. Invalid base64 gives its text unchanged.
#[must_use]
pub fn body_bytes(body: &StoredBody) -> Vec<u8> {
    match body {
        StoredBody::Json(value) => value.as_str().as_bytes().to_vec(),
        StoredBody::Text(text) => text.as_bytes().to_vec(),
        StoredBody::Base64(encoded) => BASE64
            .decode(encoded)
            .unwrap_or_else(|_| encoded.as_bytes().to_vec()),
    }
}

/// The bytes of a v1 body as they were sent: JSON and text borrowed as
/// they are stored, base64 decoded (invalid base64 gives its text).
pub(crate) fn body_text_or_bytes(body: &StoredBody) -> std::borrow::Cow<'_, [u8]> {
    match body {
        StoredBody::Json(json) => std::borrow::Cow::Borrowed(json.as_str().as_bytes()),
        StoredBody::Text(text) => std::borrow::Cow::Borrowed(text.as_bytes()),
        StoredBody::Base64(_) => std::borrow::Cow::Owned(body_bytes(body)),
    }
}

/// The v1 body for raw bytes: `None` when empty, then JSON object or array,
/// UTF-8 text, or base64.
#[must_use]
pub fn body_from_bytes(bytes: &[u8]) -> Option<StoredBody> {
    if bytes.is_empty() {
        return None;
    }
    match std::str::from_utf8(bytes) {
        Ok(text) => Some(body_from_text(text)),
        Err(_) => Some(StoredBody::Base64(BASE64.encode(bytes))),
    }
}

/// The whole body of a stream, rebuilt from its frames.
#[must_use]
pub fn stream_bytes(stream: &Stream) -> Vec<u8> {
    stream_chunks(stream)
        .into_iter()
        .flat_map(|(_, bytes)| bytes)
        .collect()
}

/// The wire bytes of each frame with its time offset, in order: what replay
/// sends. A `json_array` stream with no frames is one `[]` chunk at 0 ms.
#[must_use]
pub fn stream_chunks(stream: &Stream) -> Vec<(u64, Vec<u8>)> {
    let count = stream.frames.len();
    if count == 0 && stream.format == StreamFormat::JsonArray {
        return vec![(0, b"[]".to_vec())];
    }
    stream
        .frames
        .iter()
        .enumerate()
        .map(|(index, frame)| (frame.at_ms, frame_bytes(stream.format, frame, index, count)))
        .collect()
}

/// The wire bytes of one frame, the `index`-th of `count` frames.
///
/// - `sse`: a comment line (`:text`) or an event (`event:`, `id:`, `retry:`
///   and `data:` lines), each ending with a blank line. JSON data is written
///   compactly on one line; text data is split into one `data:` line per line.
/// - `ndjson`: the line and `\n`.
/// - `json_array`: the element, preceded by `[` for the first frame or `,`
///   otherwise, and followed by `]` for the last one (`index + 1 == count`).
/// - `chunks`: the text, or the decoded base64.
#[must_use]
pub fn frame_bytes(format: StreamFormat, frame: &Frame, index: usize, count: usize) -> Vec<u8> {
    let mut out = Vec::new();
    match format {
        StreamFormat::Sse => {
            if let Some(comment) = &frame.comment {
                out.extend_from_slice(b":");
                out.extend_from_slice(comment.as_bytes());
                out.extend_from_slice(b"\n");
                if !frame_has_event(frame) {
                    out.extend_from_slice(b"\n");
                    return out;
                }
            }
            let event = SseEvent {
                event: frame.event.clone(),
                data: frame_text(frame),
                id: frame.id.clone(),
                retry: frame.retry,
            };
            out.extend_from_slice(event.to_wire().as_bytes());
        }
        StreamFormat::Ndjson => {
            out.extend_from_slice(frame_text(frame).as_bytes());
            out.push(b'\n');
        }
        StreamFormat::JsonArray => {
            out.extend_from_slice(if index == 0 { b"[" } else { b"," });
            out.extend_from_slice(frame_text(frame).as_bytes());
            if index + 1 >= count {
                out.extend_from_slice(b"]");
            } else {
                out.push(b'\n');
            }
        }
        StreamFormat::Chunks => match (&frame.base64, &frame.text, &frame.data) {
            (Some(encoded), _, _) => out.extend(
                BASE64
                    .decode(encoded)
                    .unwrap_or_else(|_| encoded.as_bytes().to_vec()),
            ),
            (None, Some(text), _) => out.extend_from_slice(text.as_bytes()),
            (None, None, Some(data)) => out.extend_from_slice(data.as_str().as_bytes()),
            (None, None, None) => {}
        },
    }
    out
}

fn frame_has_event(frame: &Frame) -> bool {
    frame.event.is_some()
        || frame.id.is_some()
        || frame.retry.is_some()
        || frame.data.is_some()
        || frame.text.is_some()
}

/// The data of a frame as text: JSON compactly, else the text, else empty.
fn frame_text(frame: &Frame) -> String {
    match (&frame.data, &frame.text) {
        (Some(data), _) => data.as_str().to_owned(),
        (None, Some(text)) => text.clone(),
        (None, None) => String::new(),
    }
}

/// Records a live stream frame by frame while it is forwarded.
///
/// Push each chunk as it arrives, with its offset from the start of the
/// response; a frame takes the offset of the chunk that completed it. The
/// capture never fails: if the bytes turn out not to frame exactly in the
/// chosen format (invalid UTF-8, an unknown SSE field, a JSON-array stream
/// that is a lone object), [`FrameCapture::finish`] returns the raw chunks as
/// a `chunks` stream, so that nothing is lost.
///
/// ```
/// use llmvcr_cassette::convert::stream_bytes;
/// use llmvcr_cassette::{FrameCapture, StreamFormat};
///
/// let format = FrameCapture::stream_format_for(Some("text/event-stream"), "https://x/v1/chat", &[]);
/// assert_eq!(format, Some(StreamFormat::Sse));
/// let mut capture = FrameCapture::new(StreamFormat::Sse);
/// capture.push(b"data: {\"n\":1}\n\nda", 0);
/// capture.push(b"ta: [DONE]\n\n", 40);
/// let stream = capture.finish();
/// assert_eq!(stream.frames.len(), 2);
/// assert_eq!(stream.frames[1].at_ms, 40);
/// assert_eq!(stream.frames[1].text.as_deref(), Some("[DONE]"));
/// assert_eq!(stream_bytes(&stream), b"data: {\"n\":1}\n\ndata: [DONE]\n\n");
/// ```
#[derive(Debug)]
pub struct FrameCapture {
    format: StreamFormat,
    framer: Framer,
    frames: Vec<Frame>,
    /// Every chunk as received, for the lossless fallback.
    raw: Vec<(u64, Vec<u8>)>,
    /// Set once the bytes cannot be framed exactly.
    failed: bool,
    /// Whether the stream has a byte that is not ASCII whitespace yet, and
    /// whether it was `[` (for `json_array`).
    first_byte: Option<u8>,
    /// SSE line checking: the bytes of the current line.
    line: Vec<u8>,
    pending_cr: bool,
    /// Whether an SSE line has been checked (a BOM is allowed only before the first).
    seen_line: bool,
    last_at: u64,
}

#[derive(Debug)]
enum Framer {
    Sse(SseFramer),
    Ndjson(NdjsonFramer),
    JsonArray(JsonArrayFramer),
    Chunks,
}

impl FrameCapture {
    /// A capture for a stream in `format`.
    #[must_use]
    pub fn new(format: StreamFormat) -> FrameCapture {
        let framer = match format {
            StreamFormat::Sse => Framer::Sse(SseFramer::new()),
            StreamFormat::Ndjson => Framer::Ndjson(NdjsonFramer::new()),
            StreamFormat::JsonArray => Framer::JsonArray(JsonArrayFramer::new()),
            StreamFormat::Chunks => Framer::Chunks,
        };
        FrameCapture {
            format,
            framer,
            frames: Vec::new(),
            raw: Vec::new(),
            failed: false,
            first_byte: None,
            line: Vec::new(),
            pending_cr: false,
            seen_line: false,
            last_at: 0,
        }
    }

    /// The stream format of a response, from its `Content-Type` and the
    /// request URL: `sse` for `text/event-stream`, `ndjson` for NDJSON types,
    /// the format of the first of `rules` that names the URL (with a JSON or
    /// no content type), and `None` for a body that is not a
    /// stream.
    #[must_use]
    pub fn stream_format_for(
        content_type: Option<&str>,
        url: &str,
        rules: &[StreamUrlRule],
    ) -> Option<StreamFormat> {
        if let Some(format) = content_type.and_then(llmvcr_framing::StreamFormat::from_content_type)
        {
            return Some(match format {
                llmvcr_framing::StreamFormat::Sse => StreamFormat::Sse,
                llmvcr_framing::StreamFormat::Ndjson => StreamFormat::Ndjson,
                llmvcr_framing::StreamFormat::JsonArray => StreamFormat::JsonArray,
            });
        }
        let json_or_none = content_type.is_none_or(|ct| ct.to_ascii_lowercase().contains("json"));
        if !json_or_none {
            return None;
        }
        rules
            .iter()
            .find(|rule| rule.applies(url))
            .map(|rule| rule.format)
    }

    /// Feeds one chunk received `at_ms` milliseconds after the response
    /// started.
    pub fn push(&mut self, chunk: &[u8], at_ms: u64) {
        if chunk.is_empty() {
            return;
        }
        self.last_at = at_ms;
        self.raw.push((at_ms, chunk.to_vec()));
        if self.failed {
            return;
        }
        if self.first_byte.is_none() {
            self.first_byte = chunk.iter().copied().find(|b| !b.is_ascii_whitespace());
            if self.format == StreamFormat::JsonArray && self.first_byte.is_some_and(|b| b != b'[')
            {
                self.failed = true;
                return;
            }
        }
        if self.format == StreamFormat::Sse && !self.check_sse_lines(chunk) {
            self.failed = true;
            return;
        }
        let frames = match &mut self.framer {
            Framer::Sse(framer) => framer.feed(chunk).map(sse_frames),
            Framer::Ndjson(framer) => framer.feed(chunk).map(line_frames),
            Framer::JsonArray(framer) => framer.feed(chunk).map(line_frames),
            Framer::Chunks => Ok(vec![chunk_frame(chunk)]),
        };
        match frames {
            Ok(frames) => self.frames.extend(frames.into_iter().map(|mut frame| {
                frame.at_ms = at_ms;
                frame
            })),
            Err(_) => self.failed = true,
        }
    }

    /// Ends the stream and returns its frames (or its raw chunks, when the
    /// bytes did not frame exactly).
    #[must_use]
    pub fn finish(mut self) -> Stream {
        if self.format == StreamFormat::JsonArray && self.first_byte.is_none() {
            // No array at all: an empty body, kept as it is.
            self.failed = true;
        }
        if !self.failed {
            if self.format == StreamFormat::Sse && !self.line.is_empty() {
                let line = std::mem::take(&mut self.line);
                if !sse_line_is_exact(&line, !self.seen_line) {
                    self.failed = true;
                }
            }
            let last = match &mut self.framer {
                Framer::Sse(framer) => framer.finish().map(sse_frames),
                Framer::Ndjson(framer) => framer.finish().map(line_frames),
                Framer::JsonArray(framer) => framer.finish().map(line_frames),
                Framer::Chunks => Ok(Vec::new()),
            };
            match last {
                Ok(frames) if !self.failed => {
                    let at_ms = self.last_at;
                    self.frames.extend(frames.into_iter().map(|mut frame| {
                        frame.at_ms = at_ms;
                        frame
                    }));
                    return Stream {
                        format: self.format,
                        frames: self.frames,
                    };
                }
                _ => self.failed = true,
            }
        }
        Stream {
            format: StreamFormat::Chunks,
            frames: self
                .raw
                .iter()
                .map(|(at_ms, chunk)| Frame {
                    at_ms: *at_ms,
                    ..chunk_frame(chunk)
                })
                .collect(),
        }
    }

    /// Checks completed SSE lines for fields that the framer would drop.
    fn check_sse_lines(&mut self, chunk: &[u8]) -> bool {
        for &byte in chunk {
            if self.pending_cr {
                self.pending_cr = false;
                if byte == b'\n' {
                    continue;
                }
            }
            match byte {
                b'\n' | b'\r' => {
                    self.pending_cr = byte == b'\r';
                    let line = std::mem::take(&mut self.line);
                    let first = !std::mem::replace(&mut self.seen_line, true);
                    if !sse_line_is_exact(&line, first) {
                        return false;
                    }
                }
                _ => self.line.push(byte),
            }
        }
        true
    }
}

/// Whether the SSE framer keeps everything a line says: blank lines,
/// comments, `event`, `data`, `id` without NUL, numeric `retry`.
fn sse_line_is_exact(line: &[u8], first: bool) -> bool {
    let line = match line.strip_prefix("\u{feff}".as_bytes()) {
        Some(rest) if first => rest,
        _ => line,
    };
    if line.is_empty() || line.starts_with(b":") {
        return true;
    }
    let (field, value) = match line.iter().position(|&b| b == b':') {
        Some(at) => (&line[..at], &line[at + 1..]),
        None => (line, &b""[..]),
    };
    let value = value.strip_prefix(b" ").unwrap_or(value);
    match field {
        b"event" | b"data" => true,
        b"id" => !value.contains(&0),
        b"retry" => std::str::from_utf8(value).is_ok_and(|v| v.parse::<u64>().is_ok()),
        _ => false,
    }
}

fn sse_frames(items: Vec<SseItem>) -> Vec<Frame> {
    items
        .into_iter()
        .map(|item| match item {
            SseItem::Comment(comment) => Frame {
                comment: Some(comment),
                ..Frame::default()
            },
            SseItem::Event(event) => {
                let (data, text) = split_data(event.data);
                Frame {
                    event: event.event,
                    id: event.id,
                    retry: event.retry,
                    data,
                    text,
                    ..Frame::default()
                }
            }
        })
        .collect()
}

fn line_frames(lines: Vec<String>) -> Vec<Frame> {
    lines
        .into_iter()
        .map(|line| {
            let (data, text) = split_data(line);
            Frame {
                data,
                text,
                ..Frame::default()
            }
        })
        .collect()
}

fn chunk_frame(chunk: &[u8]) -> Frame {
    match std::str::from_utf8(chunk) {
        Ok(text) => Frame {
            text: Some(text.to_owned()),
            ..Frame::default()
        },
        Err(_) => Frame {
            base64: Some(BASE64.encode(chunk)),
            ..Frame::default()
        },
    }
}

/// Frame data: a JSON object or array as `data`, other non-empty text as
/// `text`.
fn split_data(text: String) -> (Option<Json>, Option<String>) {
    if text.is_empty() {
        return (None, None);
    }
    match json_structure(&text) {
        Some(value) => (Some(value), None),
        None => (None, Some(text)),
    }
}

/// The deepest JSON nesting stored as a structure. The YAML reader has a
/// recursion limit, and a cassette adds its own levels above a body; deeper
/// documents are stored as text.
const MAX_JSON_DEPTH: usize = 96;

/// Parses text that is a JSON object or array, not nested too deeply to
/// store as YAML.
fn json_structure(text: &str) -> Option<Json> {
    let trimmed = text.trim_start();
    if !(trimmed.starts_with('{') || trimmed.starts_with('[')) {
        return None;
    }
    let value: Value = serde_json::from_str(text).ok()?;
    (depth(&value) <= MAX_JSON_DEPTH).then(|| Json::from_value(&value))
}

fn depth(value: &Value) -> usize {
    match value {
        Value::Array(items) => 1 + items.iter().map(depth).max().unwrap_or(0),
        Value::Object(map) => 1 + map.values().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}

fn body_from_text(text: &str) -> StoredBody {
    match json_structure(text) {
        Some(value) => StoredBody::Json(value),
        None => StoredBody::Text(text.to_owned()),
    }
}

fn body_from_model(body: &RecordedBody) -> Option<StoredBody> {
    match body {
        RecordedBody::Empty => None,
        RecordedBody::Json(value) => Some(StoredBody::Json(Json::from_value(value))),
        RecordedBody::Text(text) if text.is_empty() => None,
        RecordedBody::Text(text) => Some(body_from_text(text)),
        RecordedBody::Bytes(bytes) => body_from_bytes(bytes),
    }
}

fn body_to_model(body: &StoredBody) -> RecordedBody {
    match body {
        StoredBody::Json(value) => RecordedBody::Text(value.as_str().to_owned()),
        StoredBody::Text(text) => RecordedBody::from_text(text.clone()),
        StoredBody::Base64(_) => RecordedBody::from_bytes(body_bytes(body)),
    }
}

fn headers_from_model(headers: &Headers) -> HeaderList {
    let mut list = HeaderList::default();
    for (name, values) in headers.iter() {
        match list
            .0
            .iter_mut()
            .find(|(have, _)| have.eq_ignore_ascii_case(name))
        {
            Some((_, have)) => have.extend(values.iter().cloned()),
            None => list.0.push((name.to_ascii_lowercase(), values.to_vec())),
        }
    }
    list
}

fn headers_to_model(headers: &HeaderList) -> Headers {
    headers.0.iter().cloned().collect()
}

fn request_from(request: &RecordedRequest) -> Request {
    Request {
        method: request.method.clone(),
        url: request.uri.clone(),
        headers: headers_from_model(&request.decoded_headers()),
        body: body_from_model(&request.body),
    }
}

fn response_from(url: &str, response: &RecordedResponse, rules: &[StreamUrlRule]) -> Response {
    let headers = headers_from_model(&response.decoded_headers());
    let format = FrameCapture::stream_format_for(headers.get("content-type"), url, rules);
    let stream = format.and_then(|format| frame_body(format, &response.body));
    let body = match stream {
        Some(_) => None,
        None => body_from_model(&response.body),
    };
    Response {
        status: response.status,
        headers,
        body,
        stream,
    }
}

/// Frames a recorded body, or `None` when it does not frame exactly.
fn frame_body(format: StreamFormat, body: &RecordedBody) -> Option<Stream> {
    let bytes = match body {
        RecordedBody::Empty => Vec::new(),
        RecordedBody::Text(text) => text.as_bytes().to_vec(),
        RecordedBody::Json(_) | RecordedBody::Bytes(_) => return None,
    };
    if format == StreamFormat::JsonArray && !bytes.trim_ascii_start().starts_with(b"[") {
        return None;
    }
    let mut capture = FrameCapture::new(format);
    capture.push(&bytes, 0);
    let stream = capture.finish();
    (stream.format == format).then_some(stream)
}

/// A rule that tells from a request's URL that its response is a stream,
/// where the response's JSON (or missing) `Content-Type` does not say so.
///
/// This crate knows no provider; the rules come in as data (the façade
/// passes Gemini's: a `:streamGenerateContent` path without `alt=sse` is a
/// streamed JSON array).
///
/// ```
/// use llmvcr_cassette::{FrameCapture, StreamFormat, StreamUrlRule};
///
/// let rules = [StreamUrlRule {
///     path_contains: ":streamGenerateContent".into(),
///     unless_query: Some("alt=sse".into()),
///     format: StreamFormat::JsonArray,
/// }];
/// let url = "https://h/v1beta/models/m:streamGenerateContent";
/// assert_eq!(FrameCapture::stream_format_for(None, url, &rules), Some(StreamFormat::JsonArray));
/// let sse = format!("{url}?alt=sse");
/// assert_eq!(FrameCapture::stream_format_for(None, &sse, &rules), None);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamUrlRule {
    /// The URL's path contains this.
    pub path_contains: String,
    /// The rule does not apply when the query has this `name=value` pair
    /// (compared ignoring ASCII case).
    pub unless_query: Option<String>,
    /// How such a stream is framed.
    pub format: StreamFormat,
}

impl StreamUrlRule {
    /// Whether the rule applies to `url`.
    #[must_use]
    pub fn applies(&self, url: &str) -> bool {
        let (path, query) = url.split_once('?').unwrap_or((url, ""));
        path.contains(self.path_contains.as_str())
            && !self.unless_query.as_ref().is_some_and(|pair| {
                query
                    .split('&')
                    .any(|param| param.eq_ignore_ascii_case(pair))
            })
    }
}
