//! Recording a response while it is forwarded.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures::Stream;

use super::{Inner, MiddlewareError};
use crate::convert::{FrameCapture, body_from_bytes};
use crate::error::CassetteError;
use crate::stored::{HeaderList, Interaction, Request, Response, StoredBody};

/// A recorded exchange waiting for its response body.
pub(super) struct Pending {
    pub(super) recorded_at: Option<String>,
    pub(super) request: Request,
    pub(super) status: u16,
    pub(super) headers: HeaderList,
}

impl Pending {
    /// The interaction for a whole body, decoding a gzip or deflate body for
    /// storage (and dropping the headers that described the coding).
    pub(super) fn into_whole(mut self, bytes: &[u8]) -> Interaction {
        let decoded = decode_content(&self.headers, bytes);
        if decoded.is_some() {
            self.headers.remove("content-encoding");
            self.headers.remove("content-length");
        }
        let body = body_from_bytes(decoded.as_deref().unwrap_or(bytes));
        self.finish(body, None)
    }

    pub(super) fn finish(
        mut self,
        body: Option<StoredBody>,
        stream: Option<crate::stored::Stream>,
    ) -> Interaction {
        if stream.is_some() {
            self.headers.remove("content-length");
        }
        Interaction {
            recorded_at: self.recorded_at,
            request: self.request,
            response: Response {
                status: self.status,
                headers: self.headers,
                body,
                stream,
            },
        }
    }
}

/// Removes a `gzip` or `deflate` content coding, or `None` when there is none
/// (or it does not decode, in which case the bytes are stored as received).
fn decode_content(headers: &HeaderList, bytes: &[u8]) -> Option<Vec<u8>> {
    use std::io::Read as _;
    let coding = headers.get("content-encoding")?.trim().to_ascii_lowercase();
    let mut out = Vec::new();
    let ok = match coding.as_str() {
        "gzip" | "x-gzip" => flate2::read::MultiGzDecoder::new(bytes)
            .read_to_end(&mut out)
            .is_ok(),
        "deflate" => {
            flate2::read::ZlibDecoder::new(bytes)
                .read_to_end(&mut out)
                .is_ok()
                || {
                    out.clear();
                    flate2::read::DeflateDecoder::new(bytes)
                        .read_to_end(&mut out)
                        .is_ok()
                }
        }
        _ => false,
    };
    ok.then_some(out)
}

/// A stream being recorded while it is forwarded.
pub(super) struct StreamRecording {
    pub(super) owner: Arc<Inner>,
    pub(super) pending: Pending,
    pub(super) capture: FrameCapture,
    pub(super) start: std::time::Instant,
}

impl StreamRecording {
    fn push(&mut self, chunk: &[u8]) {
        let at_ms = u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.capture.push(chunk, at_ms);
    }

    fn commit(self) -> Result<(), CassetteError> {
        let stream = self.capture.finish();
        let interaction = self.pending.finish(None, Some(stream));
        self.owner.commit(interaction)
    }
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Forwards a response body chunk by chunk while recording it.
pub(super) struct Tee {
    pub(super) inner: Pin<Box<dyn Stream<Item = reqwest::Result<Bytes>> + Send>>,
    pub(super) recording: Option<StreamRecording>,
    /// A save that failed at the end of the stream, reported as its last item.
    pub(super) failed: Option<BoxError>,
}

impl Stream for Tee {
    type Item = Result<Bytes, BoxError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        if let Some(error) = this.failed.take() {
            return Poll::Ready(Some(Err(error)));
        }
        match this.inner.as_mut().poll_next(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Some(Ok(chunk))) => {
                if let Some(recording) = &mut this.recording {
                    recording.push(&chunk);
                }
                Poll::Ready(Some(Ok(chunk)))
            }
            Poll::Ready(Some(Err(error))) => {
                // A stream that broke upstream cannot be replayed faithfully: drop it.
                this.recording = None;
                Poll::Ready(Some(Err(Box::new(error))))
            }
            Poll::Ready(None) => match this.recording.take().map(StreamRecording::commit) {
                Some(Err(error)) => Poll::Ready(Some(Err(Box::new(MiddlewareError::from(error))))),
                _ => Poll::Ready(None),
            },
        }
    }
}

impl Drop for Tee {
    fn drop(&mut self) {
        // The caller stopped reading: keep what it saw. A save error here has
        // nobody to go to; the file stays as it was.
        if let Some(recording) = self.recording.take() {
            let _ = recording.commit();
        }
    }
}
