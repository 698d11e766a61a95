//! The middleware.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt as _;
use http::header::{CONTENT_LENGTH, CONTENT_TYPE, DATE};
use reqwest::ResponseBuilderExt as _;
use reqwest_middleware::{Middleware, Next};

use crate::clock::VirtualClock;
use crate::error::FaultError;
use crate::fault::{Fault, MALFORMED_JSON, MalformedTarget};
use crate::plan::{FaultContext, FaultPlan, FiredFault, Request, splitmix64};
use crate::stream;

/// A `reqwest-middleware` layer that injects the faults of a [`FaultPlan`].
///
/// It belongs above the cassette layer. A fault that replaces the response
/// ([`Fault::Status`], [`Fault::Reset`]) does not call the next layer, so the
/// recording is neither consulted nor changed. A latency fault waits, then calls it.
/// A body fault calls it and rewrites the body it returns. A request no rule selects
/// goes through untouched.
///
/// Clones share the plan, the counters, the clock and the log, so a test can keep a
/// clone to read [`FaultMiddleware::log`] after handing one to the client.
///
/// With a [`VirtualClock`] ([`FaultMiddleware::with_clock`]), every response that
/// passes through without a `Date` header gets one from the clock: the responses of
/// [`Fault::Status`] (unless its headers set `date`), and the responses of the layer
/// below (a recorded `Date` is kept). An HTTP-date `retry-after` is then measured
/// against that `Date` (RFC 9110), so the wait it asks for is the same every run.
#[derive(Debug, Clone)]
pub struct FaultMiddleware {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    plan: FaultPlan,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    requests: u64,
    rng: u64,
    per_target: HashMap<String, u32>,
    fired: Vec<u32>,
    log: Vec<FiredFault>,
    clock: Option<VirtualClock>,
}

impl FaultMiddleware {
    /// A middleware for `plan`, after [`FaultPlan::validate`].
    pub fn new(plan: FaultPlan) -> crate::Result<FaultMiddleware> {
        plan.validate()?;
        let state = State {
            requests: 0,
            rng: plan.seed,
            per_target: HashMap::new(),
            fired: vec![0; plan.rules.len()],
            log: Vec::new(),
            clock: None,
        };
        Ok(FaultMiddleware {
            inner: Arc::new(Inner {
                plan,
                state: Mutex::new(state),
            }),
        })
    }

    /// Dates responses with `clock` (see the type's docs); clones share it.
    pub fn with_clock(self, clock: VirtualClock) -> FaultMiddleware {
        self.state().clock = Some(clock);
        self
    }

    /// The clock that dates responses, if one was set.
    pub fn clock(&self) -> Option<VirtualClock> {
        self.state().clock
    }

    /// Adds a `Date` from the clock, when there is one and the response has none.
    fn date(&self, mut response: reqwest::Response) -> reqwest::Response {
        if let Some(clock) = self.clock()
            && !response.headers().contains_key(DATE)
            && let Ok(value) = http::HeaderValue::from_str(&clock.http_date())
        {
            response.headers_mut().insert(DATE, value);
        }
        response
    }

    /// The plan.
    pub fn plan(&self) -> &FaultPlan {
        &self.inner.plan
    }

    /// Every fault fired so far, in order.
    pub fn log(&self) -> Vec<FiredFault> {
        self.state().log.clone()
    }

    /// How many requests the middleware has seen.
    pub fn requests(&self) -> u64 {
        self.state().requests
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // The state stays consistent even if a holder panicked: every update is a
        // few plain assignments.
        self.inner
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Counts the request, advances the generator once, and returns the fault of
    /// the first rule that selects it, logging the firing.
    fn select(&self, url: &reqwest::Url, context: Option<&FaultContext>) -> Option<Fault> {
        let mut guard = self.state();
        let state = &mut *guard;
        state.requests += 1;
        let number = state.requests;
        let draw = splitmix64(&mut state.rng);
        let (target, attempt) = match context {
            Some(c) => (c.target.clone(), c.attempt),
            None => {
                let host = url.host_str().unwrap_or_default().to_owned();
                let seen = state.per_target.entry(host.clone()).or_insert(0);
                *seen = seen.saturating_add(1);
                (host, *seen)
            }
        };
        let request = Request {
            number,
            target: &target,
            attempt,
            draw,
        };
        for (index, rule) in self.inner.plan.rules.iter().enumerate() {
            let fired = state.fired.get(index).copied().unwrap_or(0);
            if rule.times.is_some_and(|limit| fired >= limit) {
                continue;
            }
            if rule.when.matches(index, &request) {
                if let Some(count) = state.fired.get_mut(index) {
                    *count = count.saturating_add(1);
                }
                state.log.push(FiredFault {
                    request: number,
                    rule: index,
                    target: target.clone(),
                    attempt,
                    fault_name: rule.fault.name(),
                });
                return Some(rule.fault.clone());
            }
        }
        None
    }
}

/// An HTTP response built from a [`Fault::Status`]. `content-length` is added
/// unless the headers set it.
fn status_response(
    url: &reqwest::Url,
    status: u16,
    headers: &[(String, String)],
    body: &str,
) -> Result<reqwest::Response, FaultError> {
    let mut builder = http::Response::builder().status(status).url(url.clone());
    for (name, value) in headers {
        builder = builder.header(name.as_str(), value.as_str());
    }
    if !headers
        .iter()
        .any(|(name, _)| name.eq_ignore_ascii_case(CONTENT_LENGTH.as_str()))
    {
        builder = builder.header(CONTENT_LENGTH, body.len());
    }
    let response = builder.body(reqwest::Body::from(body.to_owned()))?;
    Ok(reqwest::Response::from(response))
}

/// The status line and headers of a response, kept while its body is rewritten.
struct Head {
    status: http::StatusCode,
    version: http::Version,
    url: reqwest::Url,
    headers: http::HeaderMap,
}

impl Head {
    fn of(response: &reqwest::Response) -> Head {
        Head {
            status: response.status(),
            version: response.version(),
            url: response.url().clone(),
            headers: response.headers().clone(),
        }
    }

    /// A response with this head and `body`; `content-length` is set to
    /// `length`, or dropped when the new length is not known in advance.
    fn with_body(
        self,
        body: reqwest::Body,
        length: Option<usize>,
    ) -> Result<reqwest::Response, FaultError> {
        let mut builder = http::Response::builder()
            .status(self.status)
            .version(self.version)
            .url(self.url);
        if let Some(headers) = builder.headers_mut() {
            *headers = self.headers;
            headers.remove(CONTENT_LENGTH);
            if let Some(length) = length {
                headers.insert(CONTENT_LENGTH, http::HeaderValue::from(length));
            }
        }
        Ok(reqwest::Response::from(builder.body(body)?))
    }
}

#[async_trait::async_trait]
impl Middleware for FaultMiddleware {
    async fn handle(
        &self,
        req: reqwest::Request,
        extensions: &mut http::Extensions,
        next: Next<'_>,
    ) -> reqwest_middleware::Result<reqwest::Response> {
        self.inject(req, extensions, next)
            .await
            .map(|r| self.date(r))
    }
}

impl FaultMiddleware {
    /// Runs the selected fault (or passes the request through), before dating.
    async fn inject(
        &self,
        req: reqwest::Request,
        extensions: &mut http::Extensions,
        next: Next<'_>,
    ) -> reqwest_middleware::Result<reqwest::Response> {
        let Some(fault) = self.select(req.url(), extensions.get::<FaultContext>()) else {
            return next.run(req, extensions).await;
        };
        match fault {
            Fault::Status {
                status,
                headers,
                body,
            } => status_response(req.url(), status, &headers, &body)
                .map_err(reqwest_middleware::Error::middleware),
            Fault::Reset => Err(reqwest_middleware::Error::middleware(
                FaultError::ConnectionReset {
                    method: req.method().to_string(),
                    url: req.url().to_string(),
                    source: std::io::Error::new(
                        std::io::ErrorKind::ConnectionReset,
                        "connection reset by peer",
                    ),
                },
            )),
            Fault::Latency {
                before_first_byte_ms,
            } => {
                tokio::time::sleep(Duration::from_millis(before_first_byte_ms)).await;
                next.run(req, extensions).await
            }
            Fault::Malformed {
                target: MalformedTarget::Body,
            } => {
                let response = next.run(req, extensions).await?;
                Head::of(&response)
                    .with_body(
                        reqwest::Body::from(Bytes::from_static(MALFORMED_JSON.as_bytes())),
                        Some(MALFORMED_JSON.len()),
                    )
                    .map_err(reqwest_middleware::Error::middleware)
            }
            stream_fault => {
                let response = next.run(req, extensions).await?;
                let head = Head::of(&response);
                let format = stream::format_for(
                    head.headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()),
                );
                let body = stream::rewrite(response.bytes_stream().boxed(), format, stream_fault);
                head.with_body(reqwest::Body::wrap_stream(body), None)
                    .map_err(reqwest_middleware::Error::middleware)
            }
        }
    }
}
