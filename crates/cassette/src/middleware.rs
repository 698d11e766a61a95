//! [`CassetteMiddleware`]: record and replay HTTP traffic in a `reqwest-middleware`
//! stack. The crate docs describe modes, matching, recording and replay.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError, Weak};
use std::task::{Context, Poll};
use std::time::SystemTime;

use bytes::Bytes;
use futures::Stream;
use reqwest::ResponseBuilderExt as _;
use reqwest_middleware::{Middleware, Next};

use crate::convert::{FrameCapture, body_from_bytes};
use crate::error::CassetteError;
use crate::format::{Body, Cassette, HeaderList, Interaction, Request, Response};
use crate::lazy::{Loaded, Unread};
use crate::matcher::{Index, LazyRequest, MatchRules, MissReason, NoMatch, RequestKey};
use crate::replay::{PreparedResponse, ReplaySpeed};
use crate::secrets::{Redactor, Scanner, SecretRules};

/// What the middleware does with each request; see the
/// [crate docs](crate#modes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Mode {
    /// Answer from the cassette; a miss is an error.
    #[default]
    Replay,
    /// Send every request and record it, replacing the file's contents.
    Record,
    /// Record when the file does not exist, replay when it does.
    Once,
    /// Replay what matches; send, record and append what does not.
    NewEpisodes,
    /// Send every request; no cassette is read or written.
    Passthrough,
}

impl Mode {
    /// The name used in `LLMVCR_MODE`.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Replay => "replay",
            Mode::Record => "record",
            Mode::Once => "once",
            Mode::NewEpisodes => "new_episodes",
            Mode::Passthrough => "passthrough",
        }
    }

    /// Parses a mode name, ignoring case and accepting `-` for `_`.
    pub fn parse(text: &str) -> Option<Mode> {
        match text.trim().to_ascii_lowercase().replace('-', "_").as_str() {
            "replay" => Some(Mode::Replay),
            "record" => Some(Mode::Record),
            "once" => Some(Mode::Once),
            "new_episodes" => Some(Mode::NewEpisodes),
            "passthrough" => Some(Mode::Passthrough),
            _ => None,
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Mode {
    type Err = MiddlewareError;

    fn from_str(s: &str) -> Result<Mode, MiddlewareError> {
        Mode::parse(s).ok_or_else(|| MiddlewareError::InvalidMode {
            value: s.to_owned(),
        })
    }
}

/// The environment variables the middleware reads, captured once.
///
/// [`Env::from_process`] reads them; tests pass their own to
/// [`CassetteBuilder::env`] instead of changing the process environment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Env {
    /// `LLMVCR_MODE`.
    pub mode: Option<String>,
    /// `CI`.
    pub ci: Option<String>,
    /// `LLMVCR_ALLOW_RECORD_IN_CI`.
    pub allow_record_in_ci: Option<String>,
    /// `LLMVCR_RUN_ID`, else `NEXTEST_RUN_ID`: the test run. Recorders in
    /// processes of one run keep each other's recordings in a file they
    /// share, in every mode.
    pub run_id: Option<String>,
}

impl Env {
    /// Reads `LLMVCR_MODE`, `CI`, `LLMVCR_ALLOW_RECORD_IN_CI` and
    /// `LLMVCR_RUN_ID` (or `NEXTEST_RUN_ID`).
    pub fn from_process() -> Env {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        Env {
            mode: var("LLMVCR_MODE"),
            ci: var("CI"),
            allow_record_in_ci: var("LLMVCR_ALLOW_RECORD_IN_CI"),
            run_id: var("LLMVCR_RUN_ID").or_else(|| var("NEXTEST_RUN_ID")),
        }
    }

    /// Whether `CI` is set to something other than empty, `0` or `false`.
    pub fn is_ci(&self) -> bool {
        self.ci.as_deref().is_some_and(|v| {
            let v = v.trim();
            !v.is_empty() && v != "0" && !v.eq_ignore_ascii_case("false")
        })
    }

    /// Whether recording is allowed: not on CI, or allowed there explicitly with
    /// `LLMVCR_ALLOW_RECORD_IN_CI=1`.
    pub fn may_record(&self) -> bool {
        !self.is_ci()
            || self
                .allow_record_in_ci
                .as_deref()
                .is_some_and(|v| v.trim() == "1" || v.trim().eq_ignore_ascii_case("true"))
    }
}

/// Why the cassette middleware failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MiddlewareError {
    /// No recording answers the request.
    #[error(transparent)]
    NoMatch(#[from] NoMatch),
    /// The mode would record, and recording is not allowed on CI.
    #[error(
        "{cassette}: refusing to record in mode `{mode}` because CI is set; \
         CI replays committed cassettes only (record locally, or set \
         LLMVCR_ALLOW_RECORD_IN_CI=1 to allow it)"
    )]
    RecordingRefused {
        /// The cassette file.
        cassette: String,
        /// The mode asked for.
        mode: Mode,
    },
    /// `LLMVCR_MODE` holds an unknown mode.
    #[error(
        "LLMVCR_MODE={value:?} is not a mode; use replay, record, once, new_episodes or passthrough"
    )]
    InvalidMode {
        /// The value found.
        value: String,
    },
    /// The cassette could not be read or written (including a secret-scan refusal).
    #[error(transparent)]
    Cassette(#[from] CassetteError),
    /// A recorded response cannot be turned back into an HTTP response.
    #[error("{cassette}: interactions[{index}].{message}")]
    InvalidRecording {
        /// The cassette file.
        cassette: String,
        /// The interaction, from 0.
        index: usize,
        /// What is wrong.
        message: String,
    },
    /// The request body is a stream, which can be neither matched nor recorded.
    #[error("{method} {url}: a streamed request body cannot be recorded or matched")]
    StreamingRequestBody {
        /// The method.
        method: String,
        /// The URL, credentials replaced by placeholders.
        url: String,
    },
}

/// Builds a [`CassetteMiddleware`].
///
/// ```
/// use llmvcr_cassette::{CassetteMiddleware, Env, MatchRules, Mode, ReplaySpeed};
///
/// let dir = std::env::temp_dir().join("llmvcr-doc-builder");
/// let cassette = CassetteMiddleware::builder(dir.join("absent.yaml"))
///     .mode(Mode::Replay)
///     .match_rules(MatchRules::new().with_ignored_pointer("/user"))
///     .speed(ReplaySpeed::Recorded)
///     .env(Env::default())
///     .build()?;
/// assert_eq!(cassette.mode(), Mode::Replay);
/// # Ok::<(), llmvcr_cassette::MiddlewareError>(())
/// ```
#[derive(Debug)]
pub struct CassetteBuilder {
    path: PathBuf,
    mode: Option<Mode>,
    rules: MatchRules,
    /// `None`: [`SecretRules::generic`].
    secret_rules: Option<SecretRules>,
    redactor: Option<Redactor>,
    speed: ReplaySpeed,
    env: Option<Env>,
    cassette: Option<Cassette>,
}

impl CassetteBuilder {
    /// Sets the mode, overriding `LLMVCR_MODE`.
    pub fn mode(mut self, mode: Mode) -> CassetteBuilder {
        self.mode = Some(mode);
        self
    }

    /// Sets how requests are matched.
    pub fn match_rules(mut self, rules: MatchRules) -> CassetteBuilder {
        self.rules = rules;
        self
    }

    /// Sets where credentials travel and what they look like. The default is
    /// [`SecretRules::generic`]. Query parameters listed here are also left out of
    /// the match.
    pub fn secret_rules(mut self, rules: SecretRules) -> CassetteBuilder {
        self.secret_rules = Some(rules);
        self
    }

    /// Sets the redactor. The default is [`Redactor::from_env`] over the secret
    /// rules.
    pub fn redactor(mut self, redactor: Redactor) -> CassetteBuilder {
        self.redactor = Some(redactor);
        self
    }

    /// Sets the replay speed of streams. The default is [`ReplaySpeed::Instant`].
    pub fn speed(mut self, speed: ReplaySpeed) -> CassetteBuilder {
        self.speed = speed;
        self
    }

    /// Uses these environment values instead of reading the process environment.
    pub fn env(mut self, env: Env) -> CassetteBuilder {
        self.env = Some(env);
        self
    }

    /// Replays this in-memory cassette instead of reading the file. The path
    /// still names the cassette in errors, and is where recordings go in modes
    /// that record.
    pub fn cassette(mut self, cassette: Cassette) -> CassetteBuilder {
        self.cassette = Some(cassette);
        self
    }

    /// Resolves the mode, checks that recording is allowed, loads the cassette
    /// when the mode replays, and indexes it.
    pub fn build(self) -> Result<CassetteMiddleware, MiddlewareError> {
        let built = SystemTime::now();
        let env = self.env.unwrap_or_else(Env::from_process);
        let mode = match (self.mode, env.mode.as_deref()) {
            (Some(mode), _) => mode,
            (None, Some(text)) if !text.trim().is_empty() => text.parse()?,
            (None, _) => Mode::Replay,
        };
        let name = crate::store::display_name(&self.path);
        // Replay reads the file without asking first whether it exists: a
        // missing file replays as an empty cassette.
        let exists = match (&self.cassette, mode) {
            (Some(_), _) => true,
            (None, Mode::Replay | Mode::NewEpisodes) => false,
            (None, _) => self.path.exists(),
        };
        let effective = match mode {
            Mode::Once if exists => Effective::Replay,
            Mode::Once | Mode::Record => Effective::Record,
            Mode::Replay => Effective::Replay,
            Mode::NewEpisodes => Effective::NewEpisodes,
            Mode::Passthrough => Effective::Passthrough,
        };
        if matches!(effective, Effective::Record | Effective::NewEpisodes) && !env.may_record() {
            return Err(MiddlewareError::RecordingRefused {
                cassette: name,
                mode,
            });
        }
        let secret_rules = self
            .secret_rules
            .as_ref()
            .unwrap_or_else(|| SecretRules::generic_shared());
        let mut rules = self.rules;
        for param in &secret_rules.query_params {
            if !rules
                .drop_query_params
                .iter()
                .any(|p| p.eq_ignore_ascii_case(param))
            {
                rules.drop_query_params.push(param.clone());
            }
        }
        let (loaded, exists) = match (effective, self.cassette) {
            (Effective::Replay | Effective::NewEpisodes, Some(cassette)) => {
                (Loaded::whole(cassette), true)
            }
            (Effective::Replay | Effective::NewEpisodes, None) => {
                match crate::lazy::load(&self.path, &name, &rules) {
                    Ok(loaded) => (loaded, true),
                    Err(CassetteError::Io { error, .. })
                        if error.kind() == std::io::ErrorKind::NotFound =>
                    {
                        (Loaded::whole(Cassette::default()), false)
                    }
                    Err(error) => return Err(error.into()),
                }
            }
            _ => (Loaded::whole(Cassette::default()), exists),
        };
        let Loaded {
            cassette,
            keys,
            unread,
        } = loaded;
        let redactor = self
            .redactor
            .unwrap_or_else(|| Redactor::from_env(secret_rules));
        let scanner = Scanner::new(secret_rules, &redactor);
        let redacts_values = redactor.variable_names().next().is_some();
        let index = match keys {
            Some(keys) => Index::with_keys(rules.clone(), keys),
            None => Index::new(rules.clone(), &cassette.interactions),
        };
        let prepared = vec![None; cassette.interactions.len()];
        Ok(CassetteMiddleware {
            inner: Arc::new(Inner {
                path: self.path,
                built,
                run_id: env.run_id,
                name,
                mode,
                effective,
                file_existed: exists,
                speed: self.speed,
                redactor,
                redacts_values,
                scanner,
                rules,
                state: Mutex::new(State {
                    cassette,
                    unread,
                    index,
                    prepared,
                }),
                tape: OnceLock::new(),
            }),
        })
    }
}

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
    speed: ReplaySpeed,
    redactor: Redactor,
    /// Whether the redactor replaces environment values (so bodies need it).
    redacts_values: bool,
    scanner: Scanner,
    /// The rules the index was built with, for keying outside the lock.
    rules: MatchRules,
    state: Mutex<State>,
    /// The shared tape recordings go to, opened on the first recording.
    tape: OnceLock<Arc<Tape>>,
}

/// What replay reads: the cassette, its index, and the prepared responses.
struct State {
    cassette: Cassette,
    /// The payloads of the cassette not read yet.
    unread: Unread,
    index: Index,
    prepared: Vec<Option<Arc<PreparedResponse>>>,
}

impl CassetteMiddleware {
    /// A builder for the cassette at `path`.
    pub fn builder(path: impl Into<PathBuf>) -> CassetteBuilder {
        CassetteBuilder {
            path: path.into(),
            mode: None,
            rules: MatchRules::default(),
            secret_rules: None,
            redactor: None,
            speed: ReplaySpeed::default(),
            env: None,
            cassette: None,
        }
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
        let mut guard = self.inner.state();
        let state = &mut *guard;
        // A payload that cannot be read stays `null`; replaying it reports
        // the error.
        let _ = state.unread.fill_all(&mut state.cassette);
        state.cassette.clone()
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

    /// The match key straight from the request's URL and body text, without
    /// building the request in cassette form. `None` when this fast path does
    /// not apply (a body that is not UTF-8, JSON it does not parse); a key it
    /// returns that the index does not know is checked again the slow way.
    fn fast_key(&self, req: &reqwest::Request, body: Option<&[u8]>) -> Option<RequestKey> {
        let original = req.url();
        // Only a query, user info or an environment value can need redacting.
        let may_change = self.redacts_values
            || original.query().is_some()
            || !original.username().is_empty()
            || original.password().is_some();
        let reparsed;
        let url = match may_change.then(|| self.redactor.redact_url(original.as_str())) {
            Some(redacted) if redacted != original.as_str() => {
                reparsed = url::Url::parse(&redacted).ok()?;
                &reparsed
            }
            _ => original,
        };
        let text = match body {
            None => None,
            Some(bytes) => Some(std::str::from_utf8(bytes).ok()?),
        };
        let redacted_body = match text {
            Some(text) if self.redacts_values => Some(self.redactor.redact_text(text)),
            _ => None,
        };
        let text = redacted_body.as_deref().or(text);
        self.rules.key_of_parts(req.method().as_str(), url, text)
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
            // Sent byte for byte as recorded: the match key is known. Otherwise
            // canonicalise, from the text if possible.
            let key = match state.index.key_of_exact(&exact) {
                Some(key) => key,
                None => {
                    let key = match self.fast_key(req, body) {
                        Some(key) if state.index.knows(&key) => key,
                        _ => self.rules.key(request.get()),
                    };
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
            let found = match found {
                // Explaining a miss compares recorded requests: read them.
                Err(_) if !state.unread.is_empty() => {
                    state.unread.fill_all(&mut state.cassette)?;
                    state
                        .index
                        .find_key(key, &request, &state.cassette.interactions, &self.name)
                }
                found => found,
            };
            let index = match found {
                Ok(index) => index,
                Err(mut miss) => {
                    if !self.file_existed && state.cassette.interactions.is_empty() {
                        miss.reason = MissReason::NoCassette;
                    }
                    return Err(MiddlewareError::NoMatch(miss));
                }
            };
            match state.prepared.get(index).cloned().flatten() {
                Some(prepared) => prepared,
                None => {
                    // A JSON body goes from the cassette's text to bytes; other
                    // responses are read into the cassette first.
                    let body = state.unread.response_json(index);
                    if body.is_none() {
                        state.unread.fill_response(&mut state.cassette, index)?;
                    } else {
                        state
                            .unread
                            .fill_response_headers(&mut state.cassette, index)?;
                    }
                    let interaction = state.cassette.interactions.get(index).ok_or_else(|| {
                        MiddlewareError::InvalidRecording {
                            cassette: self.name.clone(),
                            index,
                            message: "missing".to_owned(),
                        }
                    })?;
                    let prepared =
                        Arc::new(PreparedResponse::with_body(interaction, body).map_err(|e| {
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
        if self.effective == Effective::NewEpisodes {
            let mut guard = self.state();
            let state = &mut *guard;
            state.unread.fill_all(&mut state.cassette)?;
        }
        self.tape().append(interaction.clone(), &self.scanner)?;
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
        let start = tokio::time::Instant::now();
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
        let body =
            match FrameCapture::stream_format_for(content_type.as_deref(), &pending.request.url) {
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
                    self.commit(interaction).map_err(|e| {
                        reqwest_middleware::Error::middleware(MiddlewareError::from(e))
                    })?;
                    reqwest::Body::from(bytes)
                }
            };
        builder
            .body(body)
            .map(reqwest::Response::from)
            .map_err(reqwest_middleware::Error::middleware)
    }
}

/// A recorded exchange waiting for its response body.
struct Pending {
    recorded_at: Option<String>,
    request: Request,
    status: u16,
    headers: HeaderList,
}

impl Pending {
    /// The interaction for a whole body, decoding a gzip or deflate body for
    /// storage (and dropping the headers that described the coding).
    fn into_whole(mut self, bytes: &[u8]) -> Interaction {
        let decoded = decode_content(&self.headers, bytes);
        if decoded.is_some() {
            self.headers.remove("content-encoding");
            self.headers.remove("content-length");
        }
        let body = body_from_bytes(decoded.as_deref().unwrap_or(bytes));
        self.finish(body, None)
    }

    fn finish(mut self, body: Option<Body>, stream: Option<crate::format::Stream>) -> Interaction {
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
struct StreamRecording {
    owner: Arc<Inner>,
    pending: Pending,
    capture: FrameCapture,
    start: tokio::time::Instant,
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
struct Tee {
    inner: Pin<Box<dyn Stream<Item = reqwest::Result<Bytes>> + Send>>,
    recording: Option<StreamRecording>,
    /// A save that failed at the end of the stream, reported as its last item.
    failed: Option<BoxError>,
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

/// The recordings of one file in this process, shared by every middleware that
/// records into it.
///
/// Recorders in other processes (test runners that run each test in a
/// process of its own) are kept apart by a lock on the file, held while
/// an interaction is appended. A file that another process changed after
/// this tape's first recorder was built, or that a process of the same test
/// run ([`Env::run_id`]) wrote last, holds that process's recordings, and
/// they are kept; otherwise the file is the recording being replaced.
struct Tape {
    path: PathBuf,
    /// When the first middleware recording into this tape was built.
    since: SystemTime,
    /// The test run of that middleware.
    run_id: Option<String>,
    state: Mutex<TapeState>,
}

struct TapeState {
    cassette: Cassette,
    /// The file's length and modification time after this tape last wrote it.
    written: Option<(u64, SystemTime)>,
}

fn tapes() -> &'static Mutex<HashMap<PathBuf, Weak<Tape>>> {
    static TAPES: OnceLock<Mutex<HashMap<PathBuf, Weak<Tape>>>> = OnceLock::new();
    TAPES.get_or_init(|| Mutex::new(HashMap::new()))
}

impl Tape {
    /// The live tape for `path`, or a new one starting from `initial`, for a
    /// middleware built at `since`.
    fn open(
        path: &Path,
        initial: Cassette,
        since: SystemTime,
        run_id: Option<String>,
    ) -> Arc<Tape> {
        let key = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
        let mut tapes = tapes().lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(tape) = tapes.get(&key).and_then(Weak::upgrade) {
            return tape;
        }
        tapes.retain(|_, tape| tape.strong_count() > 0);
        let tape = Arc::new(Tape {
            path: path.to_path_buf(),
            since,
            run_id,
            state: Mutex::new(TapeState {
                cassette: initial,
                written: None,
            }),
        });
        tapes.insert(key, Arc::downgrade(&tape));
        tape
    }

    /// Appends `interaction` and rewrites the file, after the recordings
    /// another process added to it. On failure the interaction is not kept
    /// and the file is unchanged.
    fn append(&self, interaction: Interaction, scanner: &Scanner) -> Result<(), CassetteError> {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(parent) = self.path.parent()
            && !parent.as_os_str().is_empty()
        {
            std::fs::create_dir_all(parent).map_err(|error| CassetteError::Io {
                file: parent.display().to_string(),
                error,
            })?;
        }
        let mut lock = FileLock::exclusive(&self.path);
        let same_run = self.run_id.is_some() && lock.last_run() == self.run_id;
        if let Some(theirs) = self.written_elsewhere(&state, same_run)? {
            state.cassette = theirs;
        }
        state.cassette.interactions.push(interaction);
        match crate::store::save(&self.path, &state.cassette, scanner) {
            Ok(()) => {
                state.written = stamp(&self.path);
                lock.set_last_run(self.run_id.as_deref());
                Ok(())
            }
            Err(error) => {
                state.cassette.interactions.pop();
                Err(error)
            }
        }
    }

    /// The file as another process left it, when this tape did not write it
    /// last and it changed after this tape's first recorder was built, or a
    /// process of the same run (`same_run`) wrote it; `None` otherwise.
    fn written_elsewhere(
        &self,
        state: &TapeState,
        same_run: bool,
    ) -> Result<Option<Cassette>, CassetteError> {
        let Some(now) = stamp(&self.path) else {
            return Ok(None);
        };
        if state.written == Some(now) || (now.1 < self.since && !same_run) {
            return Ok(None);
        }
        crate::store::load(&self.path).map(Some)
    }
}

/// The length and modification time of the file at `path`, if it exists.
fn stamp(path: &Path) -> Option<(u64, SystemTime)> {
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.len(), meta.modified().ok()?))
}

/// An exclusive lock, across processes, on recording into one cassette file,
/// released when dropped. It is taken on a file in the system's temporary
/// folder named after the cassette's absolute path, so cassette folders stay
/// clean; the lock file holds the run id of the last writer. Where it cannot
/// be taken (no file locks on the platform, no writable temporary folder),
/// recording goes on without it, as within one process it needs none.
struct FileLock {
    file: Option<std::fs::File>,
}

impl FileLock {
    fn exclusive(cassette: &Path) -> FileLock {
        let absolute = std::path::absolute(cassette).unwrap_or_else(|_| cassette.to_path_buf());
        // FNV-1a: the same name in every process, whatever built it.
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for byte in absolute.as_os_str().as_encoded_bytes() {
            hash = (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3);
        }
        let path = std::env::temp_dir().join(format!("llmvcr-{hash:016x}.lock"));
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(&path)
            .ok()
            .filter(|file| file.lock().is_ok());
        FileLock { file }
    }

    /// The run id the last writer left, if any.
    fn last_run(&mut self) -> Option<String> {
        use std::io::{Read as _, Seek as _};
        let file = self.file.as_mut()?;
        let mut text = String::new();
        file.rewind().ok()?;
        file.take(4096).read_to_string(&mut text).ok()?;
        let id = text.trim();
        (!id.is_empty()).then(|| id.to_owned())
    }

    /// Leaves `run` for the next writer. Best effort: at worst a later
    /// recorder of the same run replaces the file instead of adding to it.
    fn set_last_run(&mut self, run: Option<&str>) {
        use std::io::{Seek as _, Write as _};
        let Some(file) = self.file.as_mut() else {
            return;
        };
        if file.set_len(0).is_ok() && file.rewind().is_ok() {
            let _ = file.write_all(run.unwrap_or_default().as_bytes());
        }
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

    #[test]
    fn the_fast_key_equals_the_key_of_the_redacted_request() {
        let rules = SecretRules {
            query_params: vec!["key".into()],
            ..SecretRules::generic()
        };
        let secret = "s3cr3t-value-0123456789";
        let middleware = CassetteMiddleware::builder("fast.yaml")
            .mode(Mode::Replay)
            .env(Env::default())
            .secret_rules(rules.clone())
            .redactor(Redactor::with_values(
                &rules,
                vec![("DEMO_API_KEY".into(), secret.into())],
            ))
            .match_rules(MatchRules::new().with_ignored_pointer("/metadata"))
            .build()
            .unwrap();
        let inner = &middleware.inner;
        for (url, body) in [
            (
                format!("https://h/v1/x?key={secret}&b=2&a=1"),
                format!(
                    r#"{{"user": "{secret}", "n": [1.0, 2], "metadata": {{"t": 1}}, "{secret}": true}}"#
                ),
            ),
            ("https://h/v1/x".to_owned(), "plain text body".to_owned()),
            ("https://h/v1/x".to_owned(), String::new()),
        ] {
            let client = reqwest::Client::new();
            let req = client.post(&url).body(body.clone()).build().unwrap();
            let bytes = inner.body_bytes(&req).unwrap();
            let fast = inner.fast_key(&req, bytes);
            let slow = inner.rules.key(&inner.incoming(&req, bytes));
            assert_eq!(fast, Some(slow), "{url} {body}");
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
