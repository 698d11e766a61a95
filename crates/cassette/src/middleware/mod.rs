//! [`CassetteMiddleware`]: record and replay HTTP traffic in a `reqwest-middleware`
//! stack. The crate docs describe modes, matching, recording and replay.
//!
//! The code is split by concern: `mode` (modes and the environment),
//! `builder` (building and loading), `tee` (recording a response while it is
//! forwarded), `tape` (the recordings of one file, shared across recorders
//! and processes) and `error`.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::SystemTime;

use reqwest::ResponseBuilderExt as _;
use reqwest_middleware::{Middleware, Next};

mod builder;
mod error;
mod mode;
mod tape;
mod tee;

pub use builder::CassetteBuilder;
pub use error::MiddlewareError;
pub use mode::{Env, Mode};

use crate::convert::{FrameCapture, StreamUrlRule, body_from_bytes};
use crate::error::CassetteError;
use crate::matcher::{Index, LazyRequest, MatchRules, MissReason, RequestKey};
use crate::replay::{PreparedResponse, ReplaySpeed};
use crate::secrets::{Redactor, Scanner, SecretRules};
use crate::stored::{Cassette, HeaderList, Interaction, Request};
use tape::Tape;
use tee::{Pending, StreamRecording, Tee};

/// Records and replays HTTP traffic; see the
/// [crate docs](crate#recording-and-replaying).
///
/// Cloning is cheap and clones share one cassette.
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use llmvcr_cassette::CassetteMiddleware;
///
/// let cassette = CassetteMiddleware::builder("cassettes/demo/hello.yaml").build()?;
/// let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
///     .with(cassette)
///     .build();
/// let answer = client.get("https://example.com/hello").send().await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct CassetteMiddleware {
    inner: Arc<Inner>,
}

impl fmt::Debug for CassetteMiddleware {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CassetteMiddleware")
            .field("path", &self.inner.path)
            .field("mode", &self.inner.mode)
            .field("speed", &self.inner.speed)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Effective {
    Replay,
    Record,
    NewEpisodes,
    Passthrough,
}

struct Inner {
    path: PathBuf,
    /// When the middleware was built, before its file was read.
    built: SystemTime,
    /// The test run, from [`Env::run_id`].
    run_id: Option<String>,
    name: String,
    mode: Mode,
    effective: Effective,
    file_existed: bool,
    /// Whether the environment allows recording (not CI, or allowed there).
    may_record: bool,
    speed: ReplaySpeed,
    redactor: Redactor,
    /// Where credentials travel and what they look like, for the scanner.
    secret_rules: SecretRules,
    /// The scanner every save runs, built on the first save.
    scanner: OnceLock<Scanner>,
    /// The rules the index was built with, for keying outside the lock.
    rules: MatchRules,
    state: Mutex<State>,
    /// Rules that tell streamed responses by their URL.
    stream_urls: Vec<StreamUrlRule>,
    /// The shared tape recordings go to, opened on the first recording.
    tape: OnceLock<Arc<Tape>>,
}

/// What replay reads: the cassette, its index, and the prepared responses.
struct State {
    cassette: Cassette,
    index: Index,
    prepared: Vec<Option<Arc<PreparedResponse>>>,
}

impl CassetteMiddleware {
    /// A builder for the cassette at `path`.
    pub fn builder(path: impl Into<PathBuf>) -> CassetteBuilder {
        CassetteBuilder::new(path.into())
    }

    /// A replaying middleware over an in-memory cassette; `name` names it in errors.
    /// The environment is not read.
    pub fn replaying(
        name: impl Into<PathBuf>,
        cassette: Cassette,
        rules: MatchRules,
    ) -> Result<CassetteMiddleware, MiddlewareError> {
        CassetteMiddleware::builder(name)
            .mode(Mode::Replay)
            .env(Env::default())
            .match_rules(rules)
            .cassette(cassette)
            .build()
    }

    /// The cassette file.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// The mode asked for.
    pub fn mode(&self) -> Mode {
        self.inner.mode
    }

    /// Whether requests are sent upstream and recorded (`record`, or `once`
    /// without a file).
    pub fn is_recording(&self) -> bool {
        self.inner.effective == Effective::Record
    }

    /// How many interactions the cassette holds for replay (including those
    /// appended by `new_episodes`).
    pub fn len(&self) -> usize {
        self.inner.state().cassette.interactions.len()
    }

    /// Whether the cassette holds no interaction.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A copy of the cassette as replay sees it.
    pub fn cassette(&self) -> Cassette {
        self.inner.state().cassette.clone()
    }
}

impl Inner {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The request body as bytes, or an error for a streamed body.
    fn body_bytes<'r>(
        &self,
        req: &'r reqwest::Request,
    ) -> Result<Option<&'r [u8]>, MiddlewareError> {
        match req.body() {
            None => Ok(None),
            Some(body) => match body.as_bytes() {
                Some(bytes) => Ok(Some(bytes)),
                None => Err(MiddlewareError::StreamingRequestBody {
                    method: req.method().to_string(),
                    url: self.redactor.redact_url(req.url().as_str()),
                }),
            },
        }
    }

    /// The request in cassette form, redacted: what is matched and recorded.
    fn incoming(&self, req: &reqwest::Request, body: Option<&[u8]>) -> Request {
        let url = self.redactor.redact_url(req.url().as_str());
        let mut headers = HeaderList::default();
        for (name, value) in req.headers() {
            headers.append(name.as_str(), String::from_utf8_lossy(value.as_bytes()));
        }
        self.redactor.redact_headers(&mut headers);
        let mut body = body.and_then(body_from_bytes);
        if let Some(body) = &mut body {
            self.redactor.redact_body(body);
        }
        Request {
            method: req.method().as_str().to_owned(),
            url,
            headers,
            body,
        }
    }

    /// Looks the request up and builds its response.
    fn replay(
        &self,
        req: &reqwest::Request,
        body: Option<&[u8]>,
    ) -> Result<reqwest::Response, MiddlewareError> {
        let build = || self.incoming(req, body);
        let request = LazyRequest::later(&build);
        let exact = RequestKey::of_bytes(req.method().as_str(), req.url().as_str(), body);
        let prepared = {
            let mut guard = self.state();
            let state = &mut *guard;
            // Sent byte for byte as recorded, or as seen before: the match
            // key is known. Otherwise the request is redacted exactly as a
            // recording is, then keyed.
            let key = match state.index.key_of_exact(&exact) {
                Some(key) => key,
                None => {
                    let key = self.rules.key(request.get());
                    if state.index.knows(&key) {
                        state.index.remember_exact(exact, key);
                    }
                    key
                }
            };
            let found =
                state
                    .index
                    .find_key(key, &request, &state.cassette.interactions, &self.name);
            let index = match found {
                Ok(index) => index,
                Err(mut miss) => {
                    if !self.file_existed && state.cassette.interactions.is_empty() {
                        miss.reason = MissReason::NoCassette;
                    }
                    miss.recording_refused = !self.may_record;
                    return Err(MiddlewareError::NoMatch(miss));
                }
            };
            match state.prepared.get(index).cloned().flatten() {
                Some(prepared) => prepared,
                None => {
                    let interaction = state.cassette.interactions.get(index).ok_or_else(|| {
                        MiddlewareError::InvalidRecording {
                            cassette: self.name.clone(),
                            index,
                            message: "missing".to_owned(),
                        }
                    })?;
                    let prepared = Arc::new(PreparedResponse::new(interaction).map_err(|e| {
                        MiddlewareError::InvalidRecording {
                            cassette: self.name.clone(),
                            index,
                            message: e.message,
                        }
                    })?);
                    if let Some(slot) = state.prepared.get_mut(index) {
                        *slot = Some(Arc::clone(&prepared));
                    }
                    prepared
                }
            }
        };
        Ok(prepared.to_response(req.url(), self.speed))
    }

    /// The tape recordings go to.
    fn tape(&self) -> Arc<Tape> {
        Arc::clone(self.tape.get_or_init(|| {
            let initial = match self.effective {
                Effective::NewEpisodes => self.state().cassette.clone(),
                _ => Cassette::default(),
            };
            Tape::open(&self.path, initial, self.built, self.run_id.clone())
        }))
    }

    /// Saves a completed interaction and, in `new_episodes`, makes it part of
    /// the replayed cassette (as already played).
    fn commit(&self, mut interaction: Interaction) -> Result<(), CassetteError> {
        self.redactor.redact_interaction(&mut interaction);
        let scanner = self
            .scanner
            .get_or_init(|| Scanner::new(&self.secret_rules, &self.redactor));
        self.tape().append(interaction.clone(), scanner)?;
        if self.effective == Effective::NewEpisodes {
            let mut guard = self.state();
            let state = &mut *guard;
            state.index.push(&interaction, true);
            state.cassette.interactions.push(interaction);
            state.prepared.push(None);
        }
        Ok(())
    }

    /// Sends the request upstream and records the exchange.
    async fn record(
        self: &Arc<Self>,
        req: reqwest::Request,
        recorded: Request,
        extensions: &mut http::Extensions,
        next: Next<'_>,
    ) -> reqwest_middleware::Result<reqwest::Response> {
        let recorded_at = rfc3339_now();
        let response = next.run(req, extensions).await?;
        // Frames are timed with the real clock, also under a paused tokio
        // clock, so a recording keeps the timing the server had.
        let start = std::time::Instant::now();
        let status = response.status();
        let version = response.version();
        let url = response.url().clone();
        let wire_headers = response.headers().clone();
        let mut headers = HeaderList::default();
        for (name, value) in &wire_headers {
            headers.append(name.as_str(), String::from_utf8_lossy(value.as_bytes()));
        }
        let mut builder = http::Response::builder()
            .status(status)
            .version(version)
            .url(url);
        if let Some(h) = builder.headers_mut() {
            *h = wire_headers;
        }
        let content_type = headers.get("content-type").map(str::to_owned);
        let pending = Pending {
            recorded_at,
            request: recorded,
            status: status.as_u16(),
            headers,
        };
        let body = match FrameCapture::stream_format_for(
            content_type.as_deref(),
            &pending.request.url,
            &self.stream_urls,
        ) {
            Some(format) => reqwest::Body::wrap_stream(Tee {
                inner: Box::pin(response.bytes_stream()),
                recording: Some(StreamRecording {
                    owner: Arc::clone(self),
                    pending,
                    capture: FrameCapture::new(format),
                    start,
                }),
                failed: None,
            }),
            None => {
                let bytes = response.bytes().await?;
                let interaction = pending.into_whole(&bytes);
                self.commit(interaction)
                    .map_err(|e| reqwest_middleware::Error::middleware(MiddlewareError::from(e)))?;
                reqwest::Body::from(bytes)
            }
        };
        builder
            .body(body)
            .map(reqwest::Response::from)
            .map_err(reqwest_middleware::Error::middleware)
    }
}

#[async_trait::async_trait]
impl Middleware for CassetteMiddleware {
    async fn handle(
        &self,
        req: reqwest::Request,
        extensions: &mut http::Extensions,
        next: Next<'_>,
    ) -> reqwest_middleware::Result<reqwest::Response> {
        let inner = &self.inner;
        if inner.effective == Effective::Passthrough {
            return next.run(req, extensions).await;
        }
        let body = inner
            .body_bytes(&req)
            .map_err(reqwest_middleware::Error::middleware)?;
        match inner.effective {
            Effective::Replay => inner
                .replay(&req, body)
                .map_err(reqwest_middleware::Error::middleware),
            Effective::NewEpisodes => match inner.replay(&req, body) {
                Ok(response) => Ok(response),
                Err(MiddlewareError::NoMatch(_)) => {
                    let request = inner.incoming(&req, body);
                    inner.record(req, request, extensions, next).await
                }
                Err(other) => Err(reqwest_middleware::Error::middleware(other)),
            },
            Effective::Record | Effective::Passthrough => {
                let request = inner.incoming(&req, body);
                inner.record(req, request, extensions, next).await
            }
        }
    }
}

/// The current time as RFC 3339 in UTC, with milliseconds.
fn rfc3339_now() -> Option<String> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?;
    let secs = now.as_secs();
    let days = i64::try_from(secs / 86_400).ok()?;
    let rem = secs % 86_400;
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    Some(format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3_600,
        rem % 3_600 / 60,
        rem % 60,
        now.subsec_millis()
    ))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[tokio::test]
    async fn a_request_with_live_credentials_replays_the_redacted_recording() {
        let rules = SecretRules {
            query_params: vec!["key".into()],
            ..SecretRules::generic()
        };
        let secret = "s3cr3t-value-0123456789";
        let redactor = Redactor::with_values(&rules, vec![("DEMO_API_KEY".into(), secret.into())]);
        let live_body = |user: &str| {
            format!(
                r#"{{"api_key": "sk-proj-Abc123def456GHI789jkl012MNO345", "user": "{user}", "note": "{secret}", "n": [1.0, 2]}}"#
            )
        };
        let url = format!("https://h/v1/x?key={secret}&b=2&a=1");
        // What recording stores: the request redacted.
        let client = reqwest::Client::new();
        let sent = client.post(&url).body(live_body("u-1")).build().unwrap();
        let recorder = CassetteMiddleware::builder("live.yaml")
            .mode(Mode::Replay)
            .env(Env::default())
            .secret_rules(rules.clone())
            .redactor(redactor.clone())
            .build()
            .unwrap();
        let stored = recorder
            .inner
            .incoming(&sent, sent.body().and_then(|b| b.as_bytes()));
        let text = format!("{stored:?}");
        assert!(
            !text.contains(secret) && !text.contains("sk-proj-Abc"),
            "{text}"
        );
        let cassette = Cassette {
            interactions: vec![Interaction {
                recorded_at: None,
                request: stored,
                response: crate::stored::Response {
                    status: 200,
                    headers: HeaderList::default(),
                    body: Some(crate::stored::StoredBody::Text("ok".into())),
                    stream: None,
                },
            }],
            ..Cassette::default()
        };
        let replayer = CassetteMiddleware::builder("live.yaml")
            .mode(Mode::Replay)
            .env(Env::default())
            .secret_rules(rules)
            .redactor(redactor)
            .match_rules(
                MatchRules::new()
                    .with_ignored_pointer("/user")
                    .with_repeats(true),
            )
            .cassette(cassette)
            .build()
            .unwrap();
        let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
            .with(replayer)
            .build();
        // The live key and the environment value in the body, another user,
        // the query in another order: the redacted recording answers, twice.
        for user in ["u-2", "u-2"] {
            let answer = client
                .post(format!("https://h/v1/x?a=1&b=2&key={secret}"))
                .body(live_body(user))
                .send()
                .await
                .unwrap();
            assert_eq!(answer.text().await.unwrap(), "ok");
        }
    }

    #[test]
    fn modes_parse() {
        assert_eq!(Mode::parse("NEW-EPISODES"), Some(Mode::NewEpisodes));
        assert_eq!("once".parse::<Mode>().unwrap(), Mode::Once);
        assert!("recrod".parse::<Mode>().is_err());
    }

    #[test]
    fn ci_detection() {
        let env = |ci: Option<&str>, allow: Option<&str>| Env {
            mode: None,
            ci: ci.map(str::to_owned),
            allow_record_in_ci: allow.map(str::to_owned),
            run_id: None,
        };
        assert!(env(None, None).may_record());
        assert!(env(Some(""), None).may_record());
        assert!(env(Some("false"), None).may_record());
        assert!(env(Some("0"), None).may_record());
        assert!(!env(Some("true"), None).may_record());
        assert!(!env(Some("1"), Some("0")).may_record());
        assert!(env(Some("true"), Some("1")).may_record());
    }

    #[test]
    fn timestamp_shape() {
        let t = rfc3339_now().unwrap();
        assert_eq!(t.len(), "2026-11-22T10:00:00.123Z".len(), "{t}");
        assert!(t.ends_with('Z'));
    }

    #[test]
    fn env_mode_and_builder_precedence() {
        let env = Env {
            mode: Some("passthrough".into()),
            ..Env::default()
        };
        let m = CassetteMiddleware::builder("x.yaml")
            .env(env.clone())
            .build()
            .unwrap();
        assert_eq!(m.mode(), Mode::Passthrough);
        let m = CassetteMiddleware::builder("x.yaml")
            .env(env)
            .mode(Mode::Replay)
            .build()
            .unwrap();
        assert_eq!(m.mode(), Mode::Replay);
        let bad = CassetteMiddleware::builder("x.yaml")
            .env(Env {
                mode: Some("recrod".into()),
                ..Env::default()
            })
            .build()
            .unwrap_err();
        assert!(bad.to_string().contains("recrod"), "{bad}");
    }
}
