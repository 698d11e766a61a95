//! JSON frames out of SSE, NDJSON or JSON-array streams, shared by every adapter's
//! stream decoder.

use std::fmt::Debug;

use llmvcr_core::{Error, Provider, Result, StreamEvent, Usage};

use crate::adapter::StreamDecoder;
use llmvcr_framing::{FrameError, JsonArrayFramer, NdjsonFramer, SseFramer, SseItem, StreamFormat};
use serde_json::Value;

/// One JSON frame of a stream.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct JsonFrame {
    /// The SSE `event:` name, if the stream is SSE and the frame had one.
    pub(crate) event: Option<String>,
    /// The parsed JSON payload.
    pub(crate) data: Value,
}

#[derive(Debug)]
enum Framer {
    Sse(SseFramer),
    Ndjson(NdjsonFramer),
    Array(JsonArrayFramer),
}

/// Splits a byte stream into JSON frames. SSE comments, empty data and the `[DONE]`
/// sentinel are skipped.
#[derive(Debug)]
pub(crate) struct JsonFrames {
    framer: Framer,
    provider: Provider,
    index: usize,
    /// A frame that failed to parse after good frames in the same call: the good
    /// frames are returned first, the error by the next call.
    pending_error: Option<Error>,
}

impl JsonFrames {
    pub(crate) fn new(format: StreamFormat, provider: Provider) -> JsonFrames {
        let framer = match format {
            StreamFormat::Sse => Framer::Sse(SseFramer::new()),
            StreamFormat::Ndjson => Framer::Ndjson(NdjsonFramer::new()),
            StreamFormat::JsonArray => Framer::Array(JsonArrayFramer::new()),
        };
        JsonFrames {
            framer,
            provider,
            index: 0,
            pending_error: None,
        }
    }

    pub(crate) fn feed(&mut self, bytes: &[u8]) -> Result<Vec<JsonFrame>> {
        if let Some(e) = &self.pending_error {
            return Err(e.clone());
        }
        match &mut self.framer {
            Framer::Sse(f) => {
                let items = f.feed(bytes).map_err(|e| frame_error(e, self.provider))?;
                self.sse_items(items)
            }
            Framer::Ndjson(f) => {
                let lines = f.feed(bytes).map_err(|e| frame_error(e, self.provider))?;
                self.texts(lines)
            }
            Framer::Array(f) => {
                let elems = f.feed(bytes).map_err(|e| frame_error(e, self.provider))?;
                self.texts(elems)
            }
        }
    }

    pub(crate) fn finish(&mut self) -> Result<Vec<JsonFrame>> {
        if let Some(e) = &self.pending_error {
            return Err(e.clone());
        }
        match &mut self.framer {
            Framer::Sse(f) => {
                let items = f.finish().map_err(|e| frame_error(e, self.provider))?;
                self.sse_items(items)
            }
            Framer::Ndjson(f) => {
                let lines = f.finish().map_err(|e| frame_error(e, self.provider))?;
                self.texts(lines)
            }
            Framer::Array(f) => {
                let elems = f.finish().map_err(|e| frame_error(e, self.provider))?;
                self.texts(elems)
            }
        }
    }

    fn sse_items(&mut self, items: Vec<SseItem>) -> Result<Vec<JsonFrame>> {
        let mut out = Vec::new();
        for item in items {
            let SseItem::Event(ev) = item else { continue };
            let data = ev.data.trim();
            if data.is_empty() || data == "[DONE]" {
                continue;
            }
            match self.parse(data) {
                Ok(value) => out.push(JsonFrame {
                    event: ev.event,
                    data: value,
                }),
                Err(e) => return self.fail(out, e),
            }
        }
        Ok(out)
    }

    fn texts(&mut self, texts: Vec<String>) -> Result<Vec<JsonFrame>> {
        let mut out = Vec::with_capacity(texts.len());
        for t in texts {
            match self.parse(&t) {
                Ok(value) => out.push(JsonFrame {
                    event: None,
                    data: value,
                }),
                Err(e) => return self.fail(out, e),
            }
        }
        Ok(out)
    }

    fn fail(&mut self, out: Vec<JsonFrame>, e: Error) -> Result<Vec<JsonFrame>> {
        if out.is_empty() {
            Err(e)
        } else {
            self.pending_error = Some(e);
            Ok(out)
        }
    }

    fn parse(&mut self, text: &str) -> Result<Value> {
        let index = self.index;
        self.index += 1;
        serde_json::from_str(text).map_err(|e| {
            Error::decode(format!(
                "stream frame {index} is not valid JSON ({e}): {}",
                snippet(text)
            ))
            .with_provider(self.provider)
        })
    }
}

fn frame_error(e: FrameError, provider: Provider) -> Error {
    Error::decode(format!("malformed stream: {e}")).with_provider(provider)
}

/// The first 120 characters of `text`, for error messages.
pub(crate) fn snippet(text: &str) -> String {
    const MAX: usize = 120;
    match text.char_indices().nth(MAX) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_string(),
    }
}

/// Parses a whole non-streaming body as JSON, with a typed error.
pub(crate) fn parse_body(body: &[u8], provider: Provider) -> Result<Value> {
    serde_json::from_slice(body).map_err(|e| {
        Error::decode(format!(
            "response body is not valid JSON ({e}): {}",
            snippet(&String::from_utf8_lossy(body))
        ))
        .with_provider(provider)
    })
}

/// The stream format implied by a response `Content-Type`, defaulting to `default`.
///
/// A stream request answered with `application/json` (an error object inside an
/// HTTP 200, as OpenRouter sends, or a JSON array) is read as a JSON array, whose
/// framer also accepts one lone object: the object then reaches the frame handler,
/// which classifies an error inside it.
pub(crate) fn format_for(content_type: Option<&str>, default: StreamFormat) -> StreamFormat {
    let Some(ct) = content_type else {
        return default;
    };
    if let Some(format) = StreamFormat::from_content_type(ct) {
        return format;
    }
    let essence = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if essence == "application/json" {
        StreamFormat::JsonArray
    } else {
        default
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skips_done_and_comments() {
        let mut f = JsonFrames::new(StreamFormat::Sse, Provider::OpenRouter);
        let mut out = f
            .feed(b": OPENROUTER PROCESSING\n\ndata: {\"a\":1}\n\ndata: [DONE]\n\n")
            .unwrap();
        out.extend(f.finish().unwrap());
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].data["a"], 1);
    }

    #[test]
    fn json_content_type_reads_a_lone_object() {
        assert_eq!(
            format_for(Some("application/json; charset=utf-8"), StreamFormat::Sse),
            StreamFormat::JsonArray
        );
        assert_eq!(format_for(None, StreamFormat::Sse), StreamFormat::Sse);
        assert_eq!(
            format_for(Some("text/plain"), StreamFormat::Ndjson),
            StreamFormat::Ndjson
        );
    }

    #[test]
    fn good_frames_before_a_bad_one_are_kept() {
        let mut f = JsonFrames::new(StreamFormat::Sse, Provider::OpenAi);
        let out = f.feed(b"data: {\"a\":1}\n\ndata: {oops\n\n").unwrap();
        assert_eq!(out.len(), 1);
        assert_eq!(
            f.feed(b"").unwrap_err().kind,
            llmvcr_core::ErrorKind::Decode
        );
        assert!(f.finish().is_err());
    }

    #[test]
    fn bad_json_is_a_decode_error() {
        let mut f = JsonFrames::new(StreamFormat::Ndjson, Provider::Ollama);
        let err = f.feed(b"{\"a\":\n").unwrap_err();
        assert_eq!(err.kind, llmvcr_core::ErrorKind::Decode);
        assert!(err.message.contains("frame 0"));
    }
}

/// Turns JSON frames into stream events for one wire API.
pub(crate) trait FrameHandler: Send + Debug {
    /// Handles one frame, pushing the events it completes.
    fn frame(&mut self, frame: &JsonFrame, out: &mut Vec<StreamEvent>) -> Result<()>;

    /// Called once when the stream ends without an error, after its last frame, to
    /// push what only the whole stream completes.
    fn end(&mut self, out: &mut Vec<StreamEvent>) -> Result<()> {
        let _ = out;
        Ok(())
    }
}

/// A [`StreamDecoder`] made of [`JsonFrames`] and a [`FrameHandler`].
///
/// When a frame fails (malformed, or an error the provider sent inside the stream),
/// the events decoded before it in the same call are returned first, and the error is
/// returned by the next call. Once failed, every later call returns the same error.
///
/// The error keeps the usage the stream reported before it (the last
/// [`StreamEvent::Usage`]), unless the handler attached a later report from the
/// failing frame itself: a failed call is billed for what the provider counted.
#[derive(Debug)]
pub(crate) struct FrameDecoder<H> {
    frames: JsonFrames,
    handler: H,
    failed: Option<Error>,
    /// The last usage the stream reported.
    usage: Option<Usage>,
}

impl<H: FrameHandler> FrameDecoder<H> {
    /// A decoder reading `format` frames of `provider` with `handler`.
    pub(crate) fn new(format: StreamFormat, provider: Provider, handler: H) -> FrameDecoder<H> {
        FrameDecoder {
            frames: JsonFrames::new(format, provider),
            handler,
            failed: None,
            usage: None,
        }
    }

    fn handle(&mut self, frames: Result<Vec<JsonFrame>>) -> Result<Vec<StreamEvent>> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        let mut out = Vec::new();
        let frames = match frames {
            Ok(frames) => frames,
            Err(e) => return self.fail(out, e),
        };
        for frame in &frames {
            if let Err(e) = self.handler.frame(frame, &mut out) {
                return self.fail(out, e);
            }
        }
        self.track_usage(&out);
        Ok(out)
    }

    /// Remembers the last usage among `events`.
    fn track_usage(&mut self, events: &[StreamEvent]) {
        let last = events.iter().rev().find_map(|e| match e {
            StreamEvent::Usage(u) => Some(*u),
            _ => None,
        });
        if last.is_some() {
            self.usage = last;
        }
    }

    fn fail(&mut self, out: Vec<StreamEvent>, e: Error) -> Result<Vec<StreamEvent>> {
        self.track_usage(&out);
        let e = match e.usage() {
            Some(_) => e,
            None => e.with_usage(self.usage),
        };
        self.failed = Some(e.clone());
        if out.is_empty() { Err(e) } else { Ok(out) }
    }
}

impl<H: FrameHandler> StreamDecoder for FrameDecoder<H> {
    fn feed(&mut self, bytes: &[u8]) -> Result<Vec<StreamEvent>> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        let frames = self.frames.feed(bytes);
        self.handle(frames)
    }

    fn finish(&mut self) -> Result<Vec<StreamEvent>> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        let frames = self.frames.finish();
        let mut out = self.handle(frames)?;
        if self.failed.is_none() {
            if let Err(e) = self.handler.end(&mut out) {
                return self.fail(out, e);
            }
            self.track_usage(&out);
        }
        Ok(out)
    }
}

/// Emits [`StreamEvent::Start`] when a frame brings a new response id or model.
#[derive(Debug, Default)]
pub(crate) struct StartTracker {
    id: Option<String>,
    model: Option<String>,
}

impl StartTracker {
    /// Records `id` and `model` (absent values keep the current ones) and pushes a
    /// `Start` event if either changed.
    pub(crate) fn update(
        &mut self,
        id: Option<String>,
        model: Option<String>,
        out: &mut Vec<StreamEvent>,
    ) {
        let mut changed = false;
        if id.is_some() && id != self.id {
            self.id = id;
            changed = true;
        }
        if model.is_some() && model != self.model {
            self.model = model;
            changed = true;
        }
        if changed {
            out.push(StreamEvent::Start {
                id: self.id.clone(),
                model: self.model.clone(),
            });
        }
    }
}
