//! The modes and the environment that chooses them.

use std::fmt;

use super::MiddlewareError;

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
/// [`CassetteBuilder::env`](super::CassetteBuilder::env) instead of changing the process environment.
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
