//! Building a [`CassetteMiddleware`]: the mode, the rules, and the load.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::SystemTime;

use super::{CassetteMiddleware, Effective, Env, Inner, MiddlewareError, Mode, State};
use crate::cache;
use crate::convert::StreamUrlRule;
use crate::error::CassetteError;
use crate::matcher::{Index, MatchRules};
use crate::replay::ReplaySpeed;
use crate::secrets::{Redactor, SecretRules};
use crate::stored::Cassette;

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
    /// `None`: [`cache::default_dir`]; `Some(None)`: no cache.
    cache_dir: Option<Option<PathBuf>>,
    stream_urls: Vec<StreamUrlRule>,
}

impl CassetteBuilder {
    pub(super) fn new(path: PathBuf) -> CassetteBuilder {
        CassetteBuilder {
            path,
            mode: None,
            rules: MatchRules::default(),
            secret_rules: None,
            redactor: None,
            speed: ReplaySpeed::default(),
            env: None,
            cassette: None,
            cache_dir: None,
            stream_urls: Vec::new(),
        }
    }

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

    /// Sets the folder of the load cache, or `None` for no cache. The default
    /// is `$LLMVCR_CACHE_DIR`, else `llmvcr-cache/` in the Cargo target
    /// folder of the running program; see the
    /// [crate docs](crate#loading-and-the-cache).
    pub fn cache_dir(mut self, dir: Option<PathBuf>) -> CassetteBuilder {
        self.cache_dir = Some(dir);
        self
    }

    /// Sets the rules that tell streamed responses by their URL, for
    /// recording (see [`StreamUrlRule`]). The default is none.
    pub fn stream_urls(mut self, rules: Vec<StreamUrlRule>) -> CassetteBuilder {
        self.stream_urls = rules;
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
        let name = crate::read::display_name(&self.path);
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
        let (cassette, keys, exists) = match (effective, self.cassette) {
            (Effective::Replay | Effective::NewEpisodes, Some(cassette)) => (cassette, None, true),
            (Effective::Replay | Effective::NewEpisodes, None) => {
                let cache_dir = self.cache_dir.unwrap_or_else(cache::default_dir);
                match cache::load(&self.path, &name, &rules, cache_dir.as_deref()) {
                    Ok(loaded) => (loaded.cassette, Some(loaded.keys), true),
                    Err(CassetteError::Io { error, .. })
                        if error.kind() == std::io::ErrorKind::NotFound =>
                    {
                        (Cassette::default(), None, false)
                    }
                    Err(error) => return Err(error.into()),
                }
            }
            _ => (Cassette::default(), None, exists),
        };
        let redactor = self
            .redactor
            .unwrap_or_else(|| Redactor::from_env(secret_rules));
        let index = match keys {
            Some(keys) => Index::with_keys(rules.clone(), keys),
            None => Index::new(rules.clone(), &cassette.interactions),
        };
        let prepared = vec![None; cassette.interactions.len()];
        Ok(CassetteMiddleware {
            inner: Arc::new(Inner {
                path: self.path,
                built,
                run_id: env.run_id.clone(),
                name,
                mode,
                effective,
                file_existed: exists,
                may_record: env.may_record(),
                speed: self.speed,
                redactor,
                secret_rules: secret_rules.clone(),
                scanner: OnceLock::new(),
                rules,
                stream_urls: self.stream_urls,
                state: Mutex::new(State {
                    cassette,
                    index,
                    prepared,
                }),
                tape: OnceLock::new(),
            }),
        })
    }
}
