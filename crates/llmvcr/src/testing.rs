//! Cassettes in tests: one line gives a [`Client`] that records or replays.
//!
//! ```no_run
//! use llmvcr::{ChatRequest, Endpoint};
//!
//! #[tokio::test]
//! async fn capital_of_france() -> llmvcr::Result<()> {
//!     // Replays <CARGO_MANIFEST_DIR>/cassettes/<module path>/capital_of_france.yaml;
//!     // `LLMVCR_MODE=record cargo test` records it (with OPENAI_API_KEY set).
//!     let client = llmvcr::cassette_client!(Endpoint::openai());
//!     let answer = client.chat(&ChatRequest::new("gpt-4o").user("Capital of France?")).await?;
//!     assert!(answer.text.contains("Paris"));
//!     Ok(())
//! }
//! ```
//!
//! # Where the cassette is
//!
//! [`cassette_client!(endpoint)`](crate::cassette_client) uses
//! `<CARGO_MANIFEST_DIR>/cassettes/<module path>/<test name>.yaml`, where
//!
//! - `CARGO_MANIFEST_DIR` is the directory of the calling crate's `Cargo.toml`;
//! - the module path is `module_path!()` at the call site, with `::` replaced by
//!   `/` (for an integration test file `tests/chat.rs` it is `chat`; for a unit
//!   test in `src/client.rs` of crate `app` it is `app/client/tests`);
//! - the test name is the last `::` segment of the current thread's name, which
//!   the Rust test harness sets to the test's path (`tests::capital_of_france`
//!   gives `capital_of_france`). Call the macro from the test's own thread (the
//!   body of a `#[test]` or `#[tokio::test]`), not from a spawned task.
//!
//! [`cassette_client!(endpoint, "name")`](crate::cassette_client) uses
//! `<CARGO_MANIFEST_DIR>/cassettes/<name>.yaml` instead; `name` may contain `/`.
//! [`cassette_client!(endpoint, options()...)`](crate::cassette_client) takes
//! [`CassetteOptions`]: the name, repeats, ignored body fields and query
//! parameters, a match that leaves out scheme, host and port (for cassettes
//! recorded against a local server), replay pacing, extra secret rules and the
//! mode.
//!
//! # Mode and rules
//!
//! The mode comes from `LLMVCR_MODE` (`replay` when unset); on CI, recording is
//! refused unless `LLMVCR_ALLOW_RECORD_IN_CI=1`. The provider rules are applied:
//! every provider's credential headers and query parameters are replaced by
//! placeholders, key-shaped strings are refused by the scanner, and volatile
//! request fields (`user`, `metadata`, ...) are ignored when matching. See
//! [`secret_rules`] and [`match_rules`].
//!
//! The one-liner never fails: if the cassette cannot be opened (a bad
//! `LLMVCR_MODE`, recording refused on CI, an unreadable file), every call of the
//! client returns that error. Use [`try_client`] to get it at once, or
//! [`cassette`] for a middleware to put in your own `reqwest-middleware` stack.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use llmvcr_cassette::{CassetteBuilder, CassetteMiddleware, Mode, ReplaySpeed, SecretRules};
use llmvcr_core::{Error, ErrorKind, Result};
use llmvcr_providers::Endpoint;

pub use crate::cassette_layer::{cassette, match_rules, secret_rules};
use crate::client::Client;

/// The cassette path for test `test_name` in module `module_path` of the crate at
/// `manifest_dir`: `<manifest_dir>/cassettes/<module path, :: as />/<test_name>.yaml`.
///
/// ```
/// use std::path::Path;
/// use llmvcr::testing::test_cassette_path;
///
/// assert_eq!(
///     test_cassette_path("/repo/app", "app::client::tests", "streams"),
///     Path::new("/repo/app/cassettes/app/client/tests/streams.yaml"),
/// );
/// ```
pub fn test_cassette_path(manifest_dir: &str, module_path: &str, test_name: &str) -> PathBuf {
    let mut path = Path::new(manifest_dir).join("cassettes");
    for part in module_path.split("::").filter(|p| !p.is_empty()) {
        path.push(part);
    }
    path.push(format!("{test_name}.yaml"));
    path
}

/// The cassette path for an explicit `name`: `<manifest_dir>/cassettes/<name>.yaml`.
pub fn named_cassette_path(manifest_dir: &str, name: &str) -> PathBuf {
    let name = name.strip_suffix(".yaml").unwrap_or(name);
    Path::new(manifest_dir)
        .join("cassettes")
        .join(format!("{name}.yaml"))
}

/// The name of the running test: the last `::` segment of the current thread's
/// name, as the test harness sets it. `None` on an unnamed thread or the main
/// thread.
pub fn current_test_name() -> Option<String> {
    let thread = std::thread::current();
    let name = thread.name()?;
    if name == "main" || name.is_empty() {
        return None;
    }
    let last = name.rsplit("::").next().unwrap_or(name);
    Some(last.to_owned())
}

/// The cassette path for the running test, or an error naming what is missing.
#[doc(hidden)]
pub fn __test_cassette_path(manifest_dir: &str, module_path: &str) -> Result<PathBuf> {
    match current_test_name() {
        Some(test) => Ok(test_cassette_path(manifest_dir, module_path, &test)),
        None => Err(Error::new(
            ErrorKind::Other,
            format!(
                "cannot name the cassette: the current thread ({:?}) is not a test thread; \
                 call cassette_client! from the test itself, or name the cassette: \
                 cassette_client!(endpoint, \"name\")",
                std::thread::current().name().unwrap_or("unnamed")
            ),
        )),
    }
}

/// A client for `endpoint` over the cassette at `path`, with the provider rules
/// and the mode from the environment. Errors opening the cassette are returned
/// at once.
pub fn try_client(endpoint: Endpoint, path: impl Into<PathBuf>) -> Result<Client> {
    let middleware = cassette(path)
        .build()
        .map_err(|e| crate::cassette_layer::to_core_error(&e))?;
    Ok(client_over(endpoint, middleware))
}

/// A client for `endpoint` over the cassette at `path`, like [`try_client`],
/// except that an error opening the cassette is returned by every call of the
/// client instead.
pub fn client(endpoint: Endpoint, path: impl Into<PathBuf>) -> Client {
    __client(endpoint, Ok(path.into()))
}

/// A client for `endpoint` over `middleware`, with no other middleware.
pub fn client_over(endpoint: Endpoint, middleware: CassetteMiddleware) -> Client {
    Client::builder(endpoint).with(middleware).build()
}

/// A client for `endpoint` over the middleware `builder` builds; an error
/// building it is returned by every call of the client.
///
/// ```
/// use llmvcr::cassette::{Env, Mode};
/// use llmvcr::testing::{cassette, client_from};
/// use llmvcr::Endpoint;
///
/// let client = client_from(
///     Endpoint::openai(),
///     cassette("cassettes/demo/absent.yaml").mode(Mode::Replay).env(Env::default()),
/// );
/// # drop(client);
/// ```
pub fn client_from(endpoint: Endpoint, builder: CassetteBuilder) -> Client {
    let built = builder
        .build()
        .map_err(|e| crate::cassette_layer::to_core_error(&e));
    client_or_failing(endpoint, built)
}

#[doc(hidden)]
pub fn __client(endpoint: Endpoint, path: Result<PathBuf>) -> Client {
    let built = path.and_then(|path| {
        cassette(path)
            .build()
            .map_err(|e| crate::cassette_layer::to_core_error(&e))
    });
    client_or_failing(endpoint, built)
}

fn client_or_failing(endpoint: Endpoint, built: Result<CassetteMiddleware>) -> Client {
    match built {
        Ok(middleware) => client_over(endpoint, middleware),
        Err(error) => Client::builder(endpoint)
            .with_arc(Arc::new(Failing(error)))
            .build(),
    }
}

/// A middleware that fails every request with the error that kept the cassette
/// from opening.
#[derive(Debug)]
struct Failing(Error);

#[async_trait::async_trait]
impl reqwest_middleware::Middleware for Failing {
    async fn handle(
        &self,
        _req: reqwest::Request,
        _extensions: &mut http::Extensions,
        _next: reqwest_middleware::Next<'_>,
    ) -> reqwest_middleware::Result<reqwest::Response> {
        Err(reqwest_middleware::Error::middleware(self.0.clone()))
    }
}

/// What the one-liners ([`cassette_client!`](crate::cassette_client),
/// [`cassette_middleware!`](crate::cassette_middleware)) change from their
/// defaults: the cassette's name, matching, pacing, secrets and mode. A
/// `&str` is the name alone.
///
/// ```
/// use llmvcr::cassette::ReplaySpeed;
/// use llmvcr::testing::options;
/// use llmvcr::Endpoint;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let client = llmvcr::cassette_client!(
///     Endpoint::openai(),
///     options()
///         .name("quickstart/capital_of_france")
///         .repeats(true)                    // replay the last answer again
///         .ignore_pointer("/seed")          // a JSON field left out of the match
///         .ignore_query_param("trace")      // a query parameter left out of the match
///         .match_origin(false)              // recorded against any host and port
///         .speed(ReplaySpeed::Recorded)     // streams at their recorded pace
/// );
/// # drop(client);
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct CassetteOptions {
    name: Option<String>,
    repeats: bool,
    ignore_pointers: Vec<String>,
    ignore_query_params: Vec<String>,
    match_origin: bool,
    speed: Option<ReplaySpeed>,
    secret_rules: Option<SecretRules>,
    mode: Option<Mode>,
}

impl Default for CassetteOptions {
    fn default() -> CassetteOptions {
        CassetteOptions {
            name: None,
            repeats: false,
            ignore_pointers: Vec::new(),
            ignore_query_params: Vec::new(),
            match_origin: true,
            speed: None,
            secret_rules: None,
            mode: None,
        }
    }
}

/// The defaults of the one-liners, to change: see [`CassetteOptions`].
#[must_use]
pub fn options() -> CassetteOptions {
    CassetteOptions::default()
}

impl CassetteOptions {
    /// Uses `<CARGO_MANIFEST_DIR>/cassettes/<name>.yaml` instead of the name
    /// of the test.
    #[must_use]
    pub fn name(mut self, name: impl Into<String>) -> CassetteOptions {
        self.name = Some(name.into());
        self
    }

    /// Whether the last recording of a request answers it again once all are
    /// played (off by default).
    #[must_use]
    pub fn repeats(mut self, yes: bool) -> CassetteOptions {
        self.repeats = yes;
        self
    }

    /// Leaves the request-body field at this JSON pointer out of the match.
    #[must_use]
    pub fn ignore_pointer(mut self, pointer: impl Into<String>) -> CassetteOptions {
        self.ignore_pointers.push(pointer.into());
        self
    }

    /// Leaves this query parameter out of the match.
    #[must_use]
    pub fn ignore_query_param(mut self, name: impl Into<String>) -> CassetteOptions {
        self.ignore_query_params.push(name.into());
        self
    }

    /// Whether scheme, host and port take part in the match (on by default);
    /// off, a cassette recorded against a local server replays for any host.
    #[must_use]
    pub fn match_origin(mut self, yes: bool) -> CassetteOptions {
        self.match_origin = yes;
        self
    }

    /// How fast recorded streams replay (at once by default).
    #[must_use]
    pub fn speed(mut self, speed: ReplaySpeed) -> CassetteOptions {
        self.speed = Some(speed);
        self
    }

    /// More places credentials travel and shapes they take, added to the
    /// providers' rules for redaction and scanning.
    #[must_use]
    pub fn secret_rules(mut self, rules: SecretRules) -> CassetteOptions {
        self.secret_rules = Some(rules);
        self
    }

    /// The mode, overriding `LLMVCR_MODE`.
    #[must_use]
    pub fn mode(mut self, mode: Mode) -> CassetteOptions {
        self.mode = Some(mode);
        self
    }

    /// The builder of the cassette at `path`, with the provider rules and
    /// these options.
    #[must_use]
    pub fn builder(&self, path: impl Into<PathBuf>) -> CassetteBuilder {
        let mut rules = match_rules()
            .with_repeats(self.repeats)
            .with_match_origin(self.match_origin);
        rules
            .ignore_pointers
            .extend(self.ignore_pointers.iter().cloned());
        rules
            .drop_query_params
            .extend(self.ignore_query_params.iter().cloned());
        let mut builder = cassette(path).match_rules(rules);
        if let Some(extra) = &self.secret_rules {
            builder = builder.secret_rules(secret_rules().merge(extra.clone()));
        }
        if let Some(speed) = self.speed {
            builder = builder.speed(speed);
        }
        if let Some(mode) = self.mode {
            builder = builder.mode(mode);
        }
        builder
    }

    /// The cassette's path: named, or after the running test.
    fn path(&self, manifest_dir: &str, module_path: &str) -> Result<PathBuf> {
        match &self.name {
            Some(name) => Ok(named_cassette_path(manifest_dir, name)),
            None => __test_cassette_path(manifest_dir, module_path),
        }
    }
}

impl From<&str> for CassetteOptions {
    fn from(name: &str) -> CassetteOptions {
        options().name(name)
    }
}

impl From<String> for CassetteOptions {
    fn from(name: String) -> CassetteOptions {
        options().name(name)
    }
}

impl From<&String> for CassetteOptions {
    fn from(name: &String) -> CassetteOptions {
        options().name(name.as_str())
    }
}

#[doc(hidden)]
pub fn __client_with(
    endpoint: Endpoint,
    manifest_dir: &str,
    module_path: &str,
    options: impl Into<CassetteOptions>,
) -> Client {
    let options = options.into();
    let built = options.path(manifest_dir, module_path).and_then(|path| {
        options
            .builder(path)
            .build()
            .map_err(|e| crate::cassette_layer::to_core_error(&e))
    });
    client_or_failing(endpoint, built)
}

#[doc(hidden)]
pub fn __middleware_with(
    manifest_dir: &str,
    module_path: &str,
    options: impl Into<CassetteOptions>,
) -> Result<CassetteMiddleware> {
    let options = options.into();
    let path = options.path(manifest_dir, module_path)?;
    options
        .builder(path)
        .build()
        .map_err(|e| crate::cassette_layer::to_core_error(&e))
}

/// A [`Client`] over a cassette named after the current test.
///
/// - `cassette_client!(endpoint)` uses
///   `<CARGO_MANIFEST_DIR>/cassettes/<module path>/<test name>.yaml`;
/// - `cassette_client!(endpoint, "name")` uses `<CARGO_MANIFEST_DIR>/cassettes/<name>.yaml`;
/// - `cassette_client!(endpoint, options()...)` takes [`CassetteOptions`]: the
///   name, repeats, ignored fields and query parameters, the host-free match,
///   replay pacing, extra secret rules and the mode.
///
/// The mode comes from `LLMVCR_MODE` unless the options set one, and the
/// provider rules are applied. See the [`testing`](crate::testing) module.
#[macro_export]
macro_rules! cassette_client {
    ($endpoint:expr $(,)?) => {
        $crate::testing::__client(
            $endpoint,
            $crate::testing::__test_cassette_path(env!("CARGO_MANIFEST_DIR"), module_path!()),
        )
    };
    ($endpoint:expr, $options:expr $(,)?) => {
        $crate::testing::__client_with(
            $endpoint,
            env!("CARGO_MANIFEST_DIR"),
            module_path!(),
            $options,
        )
    };
}

/// A [`CassetteMiddleware`](crate::cassette::CassetteMiddleware) over a cassette
/// named after the current test, to add to your own `reqwest-middleware` stack:
/// `cassette_middleware!()`, `cassette_middleware!("name")` or
/// `cassette_middleware!(options()...)`, with the same paths, mode, rules and
/// [`CassetteOptions`] as [`cassette_client!`]. Returns
/// `Result<CassetteMiddleware, llmvcr::Error>`.
#[macro_export]
macro_rules! cassette_middleware {
    () => {
        $crate::testing::__test_cassette_path(env!("CARGO_MANIFEST_DIR"), module_path!())
            .and_then($crate::testing::__middleware)
    };
    ($options:expr $(,)?) => {
        $crate::testing::__middleware_with(env!("CARGO_MANIFEST_DIR"), module_path!(), $options)
    };
}

#[doc(hidden)]
pub fn __middleware(path: PathBuf) -> Result<CassetteMiddleware> {
    cassette(path)
        .build()
        .map_err(|e| crate::cassette_layer::to_core_error(&e))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[test]
    fn names_come_from_the_test_thread() {
        assert_eq!(
            current_test_name().as_deref(),
            Some("names_come_from_the_test_thread")
        );
        let path = __test_cassette_path("/m", module_path!()).unwrap();
        assert_eq!(
            path,
            Path::new("/m/cassettes/llmvcr/testing/tests/names_come_from_the_test_thread.yaml")
        );
    }

    #[test]
    fn other_threads_are_told_to_name_the_cassette() {
        let err = std::thread::spawn(|| __test_cassette_path("/m", "x"))
            .join()
            .unwrap()
            .unwrap_err();
        assert!(err.message.contains("cassette_client!(endpoint, \"name\")"));
    }

    #[test]
    fn named_paths() {
        assert_eq!(
            named_cassette_path("/m", "quickstart/say_hi"),
            Path::new("/m/cassettes/quickstart/say_hi.yaml")
        );
        assert_eq!(
            named_cassette_path("/m", "a.yaml"),
            Path::new("/m/cassettes/a.yaml")
        );
    }
}
