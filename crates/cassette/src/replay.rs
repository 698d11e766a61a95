//! Turning recorded responses back into `reqwest::Response`s.
//!
//! A recorded response is prepared once ([`PreparedResponse`]): its status and
//! headers parsed, its body serialised to bytes, a stream cut into the bytes of
//! each frame with its time offset. Every replay of it then clones reference
//! counted bytes. A streamed response is replayed as a real streaming body, one
//! chunk per recorded frame, paced by [`ReplaySpeed`] with `tokio::time`, so a
//! test with a paused clock sees the recorded timing in virtual time.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use reqwest::ResponseBuilderExt as _;

use crate::convert::{body_bytes, stream_chunks};
use crate::stored::Interaction;

/// How fast a recorded stream is replayed.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum ReplaySpeed {
    /// Every frame at once, still as separate chunks. The default.
    #[default]
    Instant,
    /// Each frame at its recorded offset from the start of the response.
    Recorded,
    /// Recorded offsets divided by the factor: `Scaled(2.0)` plays twice as fast,
    /// `Scaled(0.5)` half as fast. A factor that is not a positive finite number
    /// plays instantly.
    Scaled(f64),
}

impl ReplaySpeed {
    /// When a frame recorded `at_ms` after the start is due, from the start.
    /// `None` means at once.
    pub fn delay(self, at_ms: u64) -> Option<Duration> {
        let recorded = Duration::from_millis(at_ms);
        match self {
            ReplaySpeed::Instant => None,
            ReplaySpeed::Recorded => Some(recorded),
            ReplaySpeed::Scaled(factor) if factor.is_finite() && factor > 0.0 => {
                Some(recorded.div_f64(factor))
            }
            ReplaySpeed::Scaled(_) => None,
        }
    }
}

/// A recorded response ready to be replayed any number of times.
#[derive(Debug, Clone)]
pub struct PreparedResponse {
    status: StatusCode,
    headers: HeaderMap,
    body: PreparedBody,
}

#[derive(Debug, Clone)]
enum PreparedBody {
    Whole(Bytes),
    Frames(Arc<[(u64, Bytes)]>),
}

/// Why a recorded response cannot be replayed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct PrepareError {
    /// What is wrong, naming the field.
    pub message: String,
}

impl PreparedResponse {
    /// Prepares the response of `interaction`.
    ///
    /// Headers are replayed as recorded, except `content-length`: a whole body gets
    /// the length of the bytes replayed (JSON stored as a structure is serialised
    /// compactly, so its length may differ from the original), and a stream gets
    /// none.
    pub fn new(interaction: &Interaction) -> Result<PreparedResponse, PrepareError> {
        let response = &interaction.response;
        let status = StatusCode::from_u16(response.status).map_err(|_| PrepareError {
            message: format!("response.status: {} is not an HTTP status", response.status),
        })?;
        let mut headers = HeaderMap::with_capacity(response.headers.0.len());
        for (name, value) in response.headers.pairs() {
            if name.eq_ignore_ascii_case("content-length") {
                continue;
            }
            let header = HeaderName::from_bytes(name.as_bytes()).map_err(|_| PrepareError {
                message: format!("response.headers: {name:?} is not a valid header name"),
            })?;
            let value = HeaderValue::from_str(value).map_err(|_| PrepareError {
                message: format!("response.headers.{name}: the value is not a valid header value"),
            })?;
            headers.append(header, value);
        }
        let body = match (&response.stream, &response.body) {
            (Some(stream), _) => PreparedBody::Frames(
                stream_chunks(stream)
                    .into_iter()
                    .map(|(at, bytes)| (at, Bytes::from(bytes)))
                    .collect(),
            ),
            (None, Some(body)) => PreparedBody::Whole(Bytes::from(body_bytes(body))),
            (None, None) => PreparedBody::Whole(Bytes::new()),
        };
        if let PreparedBody::Whole(bytes) = &body
            && (!bytes.is_empty() || response.headers.get("content-length").is_some())
        {
            headers.insert(http::header::CONTENT_LENGTH, HeaderValue::from(bytes.len()));
        }
        Ok(PreparedResponse {
            status,
            headers,
            body,
        })
    }

    /// The status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The headers replayed.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// Whether the response is a stream.
    pub fn is_stream(&self) -> bool {
        matches!(self.body, PreparedBody::Frames(_))
    }

    /// A fresh `reqwest::Response` for a request to `url`. A stream starts its
    /// clock now: frame offsets count from this call.
    pub fn to_response(&self, url: &url::Url, speed: ReplaySpeed) -> reqwest::Response {
        let body = match &self.body {
            PreparedBody::Whole(bytes) => reqwest::Body::from(bytes.clone()),
            PreparedBody::Frames(frames) => {
                reqwest::Body::wrap_stream(paced(Arc::clone(frames), speed))
            }
        };
        let mut response = http::Response::new(body);
        *response.status_mut() = self.status;
        *response.headers_mut() = self.headers.clone();
        let (mut parts, body) = response.into_parts();
        let with_url = http::Response::builder().url(url.clone());
        if let Some(extensions) = with_url.extensions_ref() {
            parts.extensions = extensions.clone();
        }
        reqwest::Response::from(http::Response::from_parts(parts, body))
    }
}

/// The frames as a stream of chunks, each released at its (scaled) offset from
/// the moment the stream is created.
fn paced(
    frames: Arc<[(u64, Bytes)]>,
    speed: ReplaySpeed,
) -> impl futures::Stream<Item = Result<Bytes, Infallible>> + Send + 'static {
    let start = tokio::time::Instant::now();
    futures::stream::unfold(0usize, move |next| {
        let frames = Arc::clone(&frames);
        async move {
            let (at_ms, bytes) = frames.get(next)?;
            if let Some(delay) = speed.delay(*at_ms) {
                tokio::time::sleep_until(start + delay).await;
            }
            Some((Ok(bytes.clone()), next + 1))
        }
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[test]
    fn speeds() {
        assert_eq!(ReplaySpeed::Instant.delay(100), None);
        assert_eq!(
            ReplaySpeed::Recorded.delay(100),
            Some(Duration::from_millis(100))
        );
        assert_eq!(
            ReplaySpeed::Scaled(2.0).delay(100),
            Some(Duration::from_millis(50))
        );
        assert_eq!(ReplaySpeed::Scaled(0.0).delay(100), None);
        assert_eq!(ReplaySpeed::Scaled(f64::NAN).delay(100), None);
    }
}
