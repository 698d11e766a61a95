//! Rewriting a response body frame by frame.
//!
//! The body is cut into frames with `llmvcr-framing` (SSE events, NDJSON lines,
//! JSON-array elements, chosen by the `Content-Type`). Each frame is re-emitted as
//! the exact bytes it arrived as, from the end of the previous frame to the end of
//! this one, so frames the fault leaves alone are byte-identical; the fault acts at
//! a frame boundary.

use std::collections::VecDeque;
use std::error::Error as StdError;
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt as _;
use futures::stream::BoxStream;
use llmvcr_framing::{JsonArrayFramer, NdjsonFramer, SseEvent, SseFramer, SseItem, StreamFormat};

use crate::error::FaultError;
use crate::fault::{Fault, MALFORMED_JSON, MalformedTarget};

/// The error type of a rewritten body.
pub(crate) type BoxError = Box<dyn StdError + Send + Sync>;

/// The framing used for a response with this `Content-Type`: SSE and NDJSON by
/// their media types, and a JSON array (or a lone JSON object, one frame) for any
/// other JSON type. `None`: the body has no frames.
pub(crate) fn format_for(content_type: Option<&str>) -> Option<StreamFormat> {
    let ct = content_type?;
    StreamFormat::from_content_type(ct).or_else(|| {
        ct.to_ascii_lowercase()
            .contains("json")
            .then_some(StreamFormat::JsonArray)
    })
}

/// What a frame said, for the faults that rewrite it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Content {
    /// An SSE event.
    Sse(SseEvent),
    /// An NDJSON line or a JSON-array element, as text.
    Text(String),
}

/// One frame: its original bytes and what they said.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Frame {
    pub(crate) raw: Bytes,
    pub(crate) content: Content,
}

#[derive(Debug)]
enum Framer {
    Sse(SseFramer),
    Ndjson(NdjsonFramer),
    JsonArray(JsonArrayFramer),
    /// The framer failed: the rest of the body passes through unframed.
    Broken,
}

/// Cuts a byte stream into frames that keep their original bytes.
#[derive(Debug)]
pub(crate) struct Splitter {
    framer: Framer,
    /// Bytes fed but not yet part of an emitted frame.
    buf: Vec<u8>,
    /// An SSE event completed at a CR: the LF that may follow belongs to it.
    awaiting_lf: Option<Content>,
}

impl Splitter {
    pub(crate) fn new(format: StreamFormat) -> Splitter {
        let framer = match format {
            StreamFormat::Sse => Framer::Sse(SseFramer::new()),
            StreamFormat::Ndjson => Framer::Ndjson(NdjsonFramer::new()),
            StreamFormat::JsonArray => Framer::JsonArray(JsonArrayFramer::new()),
        };
        Splitter {
            framer,
            buf: Vec::new(),
            awaiting_lf: None,
        }
    }

    fn take(&mut self) -> Bytes {
        Bytes::from(std::mem::take(&mut self.buf))
    }

    /// Feeds one byte; the frame it completes, if any.
    fn feed_one(&mut self, b: u8) -> Option<Content> {
        let byte = [b];
        let result = match &mut self.framer {
            Framer::Sse(f) => f.feed(&byte).map(|items| {
                items.into_iter().find_map(|item| match item {
                    SseItem::Event(e) => Some(Content::Sse(e)),
                    SseItem::Comment(_) => None,
                })
            }),
            Framer::Ndjson(f) => f
                .feed(&byte)
                .map(|lines| lines.into_iter().next().map(Content::Text)),
            Framer::JsonArray(f) => f
                .feed(&byte)
                .map(|elements| elements.into_iter().next().map(Content::Text)),
            Framer::Broken => Ok(None),
        };
        result.unwrap_or_else(|_| {
            self.framer = Framer::Broken;
            None
        })
    }

    /// Feeds a chunk; the frames it completes.
    pub(crate) fn push(&mut self, chunk: &[u8]) -> Vec<Frame> {
        let mut out = Vec::new();
        for (i, &b) in chunk.iter().enumerate() {
            if matches!(self.framer, Framer::Broken) {
                self.buf
                    .extend_from_slice(chunk.get(i..).unwrap_or_default());
                break;
            }
            if let Some(content) = self.awaiting_lf.take() {
                if b == b'\n' {
                    self.buf.push(b);
                    // The framer skips an LF after a CR; nothing completes here.
                    let _ = self.feed_one(b);
                    out.push(Frame {
                        raw: self.take(),
                        content,
                    });
                    continue;
                }
                out.push(Frame {
                    raw: self.take(),
                    content,
                });
            }
            self.buf.push(b);
            if let Some(content) = self.feed_one(b) {
                if b == b'\r' && matches!(self.framer, Framer::Sse(_)) {
                    self.awaiting_lf = Some(content);
                } else {
                    out.push(Frame {
                        raw: self.take(),
                        content,
                    });
                }
            }
        }
        out
    }

    /// Ends the input: the frames still pending, and the bytes after the last frame.
    pub(crate) fn finish(&mut self) -> (Vec<Frame>, Bytes) {
        let mut out = Vec::new();
        if let Some(content) = self.awaiting_lf.take() {
            out.push(Frame {
                raw: self.take(),
                content,
            });
        }
        let last = match &mut self.framer {
            Framer::Sse(f) => f.finish().ok().and_then(|items| {
                items.into_iter().find_map(|item| match item {
                    SseItem::Event(e) => Some(Content::Sse(e)),
                    SseItem::Comment(_) => None,
                })
            }),
            Framer::Ndjson(f) => f
                .finish()
                .ok()
                .and_then(|lines| lines.into_iter().next().map(Content::Text)),
            Framer::JsonArray(f) => f
                .finish()
                .ok()
                .and_then(|elements| elements.into_iter().next().map(Content::Text)),
            Framer::Broken => None,
        };
        if let Some(content) = last {
            out.push(Frame {
                raw: self.take(),
                content,
            });
        }
        (out, self.take())
    }
}

/// The frame with its data replaced by [`MALFORMED_JSON`].
pub(crate) fn malformed(frame: &Frame) -> Bytes {
    match &frame.content {
        Content::Sse(event) => {
            let event = SseEvent {
                data: MALFORMED_JSON.to_owned(),
                ..event.clone()
            };
            Bytes::from(event.to_wire())
        }
        Content::Text(text) => {
            let raw = frame.raw.as_ref();
            let needle = text.as_bytes();
            let at = raw
                .windows(needle.len().max(1))
                .rposition(|w| w == needle)
                .filter(|_| !needle.is_empty());
            match at {
                Some(at) => {
                    let mut out = Vec::with_capacity(raw.len() + MALFORMED_JSON.len());
                    out.extend_from_slice(raw.get(..at).unwrap_or_default());
                    out.extend_from_slice(MALFORMED_JSON.as_bytes());
                    out.extend_from_slice(raw.get(at + needle.len()..).unwrap_or_default());
                    Bytes::from(out)
                }
                None => Bytes::from_static(MALFORMED_JSON.as_bytes()),
            }
        }
    }
}

/// What the rewritten body does next.
#[derive(Debug)]
enum Step {
    Data(Bytes),
    Sleep(Duration),
    Fail(BoxError),
    End,
}

/// The state of a rewritten body.
struct Faulted {
    inner: BoxStream<'static, Result<Bytes, reqwest::Error>>,
    splitter: Option<Splitter>,
    fault: Fault,
    frames: u32,
    queue: VecDeque<Step>,
    /// The input has ended or failed.
    exhausted: bool,
    /// The fault has ended the body; later input is dropped.
    stopped: bool,
}

impl Faulted {
    /// Queues what the fault does before any frame.
    fn start(&mut self) {
        match &self.fault {
            Fault::Stall {
                after_frames: 0,
                stall_ms,
            } => self
                .queue
                .push_back(Step::Sleep(Duration::from_millis(*stall_ms))),
            Fault::Cut { after_frames: 0 } => {
                self.queue
                    .push_back(Step::Fail(Box::new(FaultError::StreamCut {
                        after_frames: 0,
                    })));
                self.stopped = true;
            }
            Fault::ErrorEvent {
                after_frames: 0,
                frame,
            } => {
                self.queue
                    .push_back(Step::Data(Bytes::from(frame.clone().into_bytes())));
                self.queue.push_back(Step::End);
                self.stopped = true;
            }
            _ => {}
        }
    }

    /// Queues one frame and what the fault does after it.
    fn on_frame(&mut self, frame: Frame) {
        if self.stopped {
            return;
        }
        self.frames = self.frames.saturating_add(1);
        let k = self.frames;
        match &self.fault {
            Fault::Stall {
                after_frames,
                stall_ms,
            } if *after_frames == k => {
                self.queue.push_back(Step::Data(frame.raw));
                self.queue
                    .push_back(Step::Sleep(Duration::from_millis(*stall_ms)));
            }
            Fault::Cut { after_frames } if *after_frames == k => {
                self.queue.push_back(Step::Data(frame.raw));
                self.queue
                    .push_back(Step::Fail(Box::new(FaultError::StreamCut {
                        after_frames: k,
                    })));
                self.stopped = true;
            }
            Fault::ErrorEvent {
                after_frames,
                frame: injected,
            } if *after_frames == k => {
                self.queue.push_back(Step::Data(frame.raw));
                self.queue
                    .push_back(Step::Data(Bytes::from(injected.clone().into_bytes())));
                self.queue.push_back(Step::End);
                self.stopped = true;
            }
            Fault::Malformed {
                target: MalformedTarget::Frame(n),
            } if *n == k => {
                self.queue.push_back(Step::Data(malformed(&frame)));
            }
            _ => self.queue.push_back(Step::Data(frame.raw)),
        }
    }

    /// Reads the next chunk of input and queues what follows from it.
    async fn pull(&mut self) {
        match self.inner.next().await {
            None => {
                self.exhausted = true;
                if let Some(splitter) = &mut self.splitter {
                    let (frames, trailing) = splitter.finish();
                    for frame in frames {
                        self.on_frame(frame);
                    }
                    if !self.stopped && !trailing.is_empty() {
                        self.queue.push_back(Step::Data(trailing));
                    }
                }
            }
            Some(Err(e)) => {
                self.exhausted = true;
                self.queue.push_back(Step::Fail(Box::new(e)));
            }
            Some(Ok(chunk)) => match &mut self.splitter {
                None => self.queue.push_back(Step::Data(chunk)),
                Some(splitter) => {
                    for frame in splitter.push(&chunk) {
                        self.on_frame(frame);
                    }
                }
            },
        }
    }
}

/// `body` rewritten by the stream fault `fault`, framed as `format`.
pub(crate) fn rewrite(
    body: BoxStream<'static, Result<Bytes, reqwest::Error>>,
    format: Option<StreamFormat>,
    fault: Fault,
) -> BoxStream<'static, Result<Bytes, BoxError>> {
    let mut state = Faulted {
        inner: body,
        splitter: format.map(Splitter::new),
        fault,
        frames: 0,
        queue: VecDeque::new(),
        exhausted: false,
        stopped: false,
    };
    state.start();
    futures::stream::unfold(state, |mut st| async move {
        loop {
            if let Some(step) = st.queue.pop_front() {
                match step {
                    Step::Data(bytes) if bytes.is_empty() => continue,
                    Step::Data(bytes) => return Some((Ok(bytes), st)),
                    Step::Sleep(d) => {
                        tokio::time::sleep(d).await;
                        continue;
                    }
                    Step::Fail(e) => {
                        st.queue.clear();
                        st.exhausted = true;
                        st.stopped = true;
                        return Some((Err(e), st));
                    }
                    Step::End => return None,
                }
            }
            if st.exhausted || st.stopped {
                return None;
            }
            st.pull().await;
        }
    })
    .boxed()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    fn split(format: StreamFormat, input: &[u8], chunk: usize) -> (Vec<Frame>, Bytes) {
        let mut s = Splitter::new(format);
        let mut frames = Vec::new();
        for c in input.chunks(chunk.max(1)) {
            frames.extend(s.push(c));
        }
        let (last, trailing) = s.finish();
        frames.extend(last);
        (frames, trailing)
    }

    fn joined(frames: &[Frame], trailing: &Bytes) -> Vec<u8> {
        let mut out: Vec<u8> = frames.iter().flat_map(|f| f.raw.to_vec()).collect();
        out.extend_from_slice(trailing);
        out
    }

    #[test]
    fn sse_frames_keep_their_bytes_with_any_line_ending() {
        let input = b": hi\r\nevent: a\r\ndata: {\"x\":1}\r\n\r\ndata: 2\n\ndata: 3\r\rdata: 4";
        for chunk in [1, 2, 5, 100] {
            let (frames, trailing) = split(StreamFormat::Sse, input, chunk);
            assert_eq!(frames.len(), 4, "chunk {chunk}");
            assert_eq!(
                frames[0].raw.as_ref(),
                b": hi\r\nevent: a\r\ndata: {\"x\":1}\r\n\r\n"
            );
            assert_eq!(frames[1].raw.as_ref(), b"data: 2\n\n");
            assert_eq!(frames[2].raw.as_ref(), b"data: 3\r\r");
            assert_eq!(joined(&frames, &trailing), input.to_vec());
        }
    }

    #[test]
    fn ndjson_and_json_array_frames() {
        let input = b"{\"a\":1}\n\n{\"b\":2}\r\n{\"c\":3}";
        let (frames, trailing) = split(StreamFormat::Ndjson, input, 3);
        assert_eq!(frames.len(), 3);
        assert_eq!(joined(&frames, &trailing), input.to_vec());
        let input = b"[{\"a\":\"]\"}\n,\r\n{\"b\":[2]}]\n";
        let (frames, trailing) = split(StreamFormat::JsonArray, input, 2);
        assert_eq!(frames.len(), 2);
        assert_eq!(frames[1].content, Content::Text("{\"b\":[2]}".into()));
        assert_eq!(trailing.as_ref(), b"]\n");
        assert_eq!(joined(&frames, &trailing), input.to_vec());
    }

    #[test]
    fn malformed_frames_stay_delimited() {
        let (frames, _) = split(StreamFormat::JsonArray, b"[{\"a\":1},{\"b\":2}]", 4);
        assert_eq!(
            malformed(&frames[1]).as_ref(),
            b",{\"llmvcr_fault\":malformed}"
        );
        let (frames, _) = split(StreamFormat::Sse, b"event: e\ndata: {}\n\n", 4);
        assert_eq!(
            malformed(&frames[0]).as_ref(),
            b"event: e\ndata: {\"llmvcr_fault\":malformed}\n\n"
        );
        assert!(serde_json::from_str::<serde_json::Value>(MALFORMED_JSON).is_err());
    }

    #[test]
    fn formats_by_content_type() {
        assert_eq!(
            format_for(Some("text/event-stream; charset=utf-8")),
            Some(StreamFormat::Sse)
        );
        assert_eq!(
            format_for(Some("application/x-ndjson")),
            Some(StreamFormat::Ndjson)
        );
        assert_eq!(
            format_for(Some("application/json; charset=UTF-8")),
            Some(StreamFormat::JsonArray)
        );
        assert_eq!(format_for(Some("text/plain")), None);
        assert_eq!(format_for(None), None);
    }
}
