//! Running scenarios and checking their expectations.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use llmvcr::cassette::{Env, Mode};
use llmvcr::routing::ClientTransport;
use llmvcr::{ChatRequest, Client, Endpoint, Provider, Usage};
use llmvcr_cost::{Catalog, Entry, Ledger, Money};
use llmvcr_faults::{FaultMiddleware, FiredFault, VirtualClock};
use llmvcr_router::{
    AttemptOutcome, AttemptRecord, BreakerState, Next, Router, Target, estimate_tokens,
    format_duration,
};
use serde::Serialize;

use crate::error::ScenarioError;
use crate::format::{Scenario, parse_epoch};

/// What happened when a scenario ran, and which expectations it missed.
///
/// Its JSON form (`llmvcr scenario run --report json`) is described by
/// `scenarios/report.schema.json`. Durations are numbers of milliseconds in fields
/// whose names end in `_ms`.
#[derive(Debug, Clone, Serialize)]
pub struct ScenarioReport {
    /// The scenario's name.
    pub name: String,
    /// The scenario file.
    pub file: PathBuf,
    /// Whether every expectation held.
    pub passed: bool,
    /// One line per missed expectation: which one, and what happened instead.
    pub failures: Vec<String>,
    /// How many times the scenario was run to check that its report does not
    /// change (1: run once).
    pub runs: u32,
    /// `success`, or the snake-case error kind of the failure (of the last call).
    pub outcome: String,
    /// The error message, when the call failed.
    pub error: Option<String>,
    /// The target that served the response (of the last call).
    pub served_by: Option<String>,
    /// Attempts per target, for every target of the chain, over all calls.
    pub attempts: BTreeMap<String, usize>,
    /// The virtual time the run took: from the start of the first call to the end
    /// of the last, gaps included. In JSON: `elapsed_ms`.
    #[serde(rename = "elapsed_ms", serialize_with = "as_ms")]
    pub virtual_elapsed: Duration,
    /// What the calls cost, in USD (priced from the reported usage): the ledger's
    /// total, [`LedgerSummary::total_usd`].
    pub cost_usd: f64,
    /// The priced attempts totalled by target and by model.
    pub ledger: LedgerSummary,
    /// The final text, or the partial text of a failed stream (of the last call).
    pub text: String,
    /// One summary per call, in order.
    pub calls: Vec<CallReport>,
    /// The router's attempt log over all calls, each entry with its call number and
    /// virtual time.
    pub log: Vec<LogEntry>,
    /// The faults that fired, in order.
    pub faults: Vec<String>,
}

/// One call of a scenario.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CallReport {
    /// The call number, from 1.
    pub call: u32,
    /// `success`, or the snake-case error kind of the failure.
    pub outcome: String,
    /// The target that served the response.
    pub served_by: Option<String>,
    /// Attempts per target in this call, for every target of the chain.
    pub attempts: BTreeMap<String, usize>,
    /// When the call started, in virtual time since the scenario started. In JSON:
    /// `virtual_ms`.
    #[serde(rename = "virtual_ms", serialize_with = "as_ms")]
    pub started: Duration,
    /// The virtual time the call took. In JSON: `elapsed_ms`.
    #[serde(rename = "elapsed_ms", serialize_with = "as_ms")]
    pub elapsed: Duration,
}

/// One entry of the router's attempt log: a decision the router made, in a flat
/// form. In JSON, durations are milliseconds (`virtual_ms`, `took_ms`, `wait_ms`,
/// `retry_after_ms`, `wanted_ms`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LogEntry {
    /// The call number, from 1.
    pub call: u32,
    /// When the step began, in virtual time since the scenario started (not since
    /// the call). In JSON: `virtual_ms`.
    #[serde(rename = "virtual_ms", serialize_with = "as_ms")]
    pub at: Duration,
    /// The target's name.
    pub target: String,
    /// The attempt number on this target in this call, from 1.
    pub attempt: u32,
    /// What happened: `success`, `failed`, `skipped_breaker_open`,
    /// `skipped_context_window`, `refused_budget`, `rate_limit_wait` or
    /// `refused_rate_limit`.
    pub outcome: String,
    /// The error kind of a failed attempt.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_kind: Option<String>,
    /// The wait the provider asked for, on a failed attempt. In JSON:
    /// `retry_after_ms`.
    #[serde(
        rename = "retry_after_ms",
        serialize_with = "as_opt_ms",
        skip_serializing_if = "Option::is_none"
    )]
    pub retry_after: Option<Duration>,
    /// Whether content had arrived before a failed attempt failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after_content: Option<bool>,
    /// On `refused_budget`: the attempt's worst-case cost, in micro-dollars.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub worst_case_micro_usd: Option<u64>,
    /// On `refused_budget`: what was left of the budget, in micro-dollars.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remaining_micro_usd: Option<u64>,
    /// On `refused_rate_limit`: the wait the limiter asked for. In JSON:
    /// `wanted_ms`.
    #[serde(
        rename = "wanted_ms",
        serialize_with = "as_opt_ms",
        skip_serializing_if = "Option::is_none"
    )]
    pub wanted: Option<Duration>,
    /// How long the step took. In JSON: `took_ms`.
    #[serde(rename = "took_ms", serialize_with = "as_ms")]
    pub took: Duration,
    /// What the router did next: `proceed`, `retry`, `fallback`, `stop` or `done`.
    pub next: Next,
    /// How long the router waited after this step. In JSON: `wait_ms`.
    #[serde(rename = "wait_ms", serialize_with = "as_ms")]
    pub wait: Duration,
    /// The target's breaker state after the step.
    pub breaker: BreakerState,
}

impl LogEntry {
    fn new(call: u32, call_started: Duration, record: &AttemptRecord) -> LogEntry {
        let mut entry = LogEntry {
            call,
            at: call_started.saturating_add(record.at),
            target: record.target.clone(),
            attempt: record.attempt,
            outcome: String::new(),
            error_kind: None,
            retry_after: None,
            after_content: None,
            worst_case_micro_usd: None,
            remaining_micro_usd: None,
            wanted: None,
            took: record.took,
            next: record.next,
            wait: record.wait,
            breaker: record.breaker,
        };
        entry.outcome = match &record.outcome {
            AttemptOutcome::Success => "success",
            AttemptOutcome::Failed {
                kind,
                retry_after,
                after_content,
            } => {
                entry.error_kind = Some(kind.as_str().to_owned());
                entry.retry_after = *retry_after;
                entry.after_content = Some(*after_content);
                "failed"
            }
            AttemptOutcome::SkippedBreakerOpen => "skipped_breaker_open",
            AttemptOutcome::SkippedContextWindow => "skipped_context_window",
            AttemptOutcome::RefusedBudget {
                worst_case_micro_usd,
                remaining_micro_usd,
            } => {
                entry.worst_case_micro_usd = Some(*worst_case_micro_usd);
                entry.remaining_micro_usd = Some(*remaining_micro_usd);
                "refused_budget"
            }
            AttemptOutcome::RateLimitWait => "rate_limit_wait",
            AttemptOutcome::RefusedRateLimit { wanted } => {
                entry.wanted = Some(*wanted);
                "refused_rate_limit"
            }
        }
        .to_owned();
        entry
    }
}

/// A duration as a number of milliseconds, fractions kept (nanosecond precision).
fn millis(d: Duration) -> f64 {
    // Integer nanoseconds over 1e6: whole milliseconds come out exact.
    d.as_nanos() as f64 / 1e6
}

fn as_ms<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(millis(*d))
}

fn as_opt_ms<S: serde::Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => s.serialize_f64(millis(*d)),
        None => s.serialize_none(),
    }
}

/// The ledger of a run: every attempt that reported usage, priced from the
/// embedded cost catalog, with its totals. The USD amounts are for display; each is
/// computed exactly (in integer femto-dollars) before it is turned into a float, and
/// [`entries`](LedgerSummary::entries) holds the exact ledger.
#[derive(Debug, Clone, Default, Serialize)]
pub struct LedgerSummary {
    /// The total, in USD.
    pub total_usd: f64,
    /// The total per target name, in USD (targets with no priced attempt are absent).
    pub by_target: BTreeMap<String, f64>,
    /// The total per model, in USD.
    pub by_model: BTreeMap<String, f64>,
    /// The exact ledger: one entry per priced attempt, tagged with the scenario's
    /// name.
    #[serde(skip)]
    pub entries: Ledger,
}

impl LedgerSummary {
    fn from_ledger(ledger: Ledger) -> LedgerSummary {
        let usd = |totals: BTreeMap<String, llmvcr_cost::Cost>| {
            totals
                .into_iter()
                .map(|(k, c)| (k, c.total().as_usd()))
                .collect()
        };
        LedgerSummary {
            total_usd: ledger.total().total().as_usd(),
            by_target: usd(ledger.by_target()),
            by_model: usd(ledger.by_model()),
            entries: ledger,
        }
    }
}

/// How scenarios are run: where cassettes are looked up, and how many times each
/// scenario is run to check that its report does not change.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RunOptions {
    /// Folders searched for a target's relative `cassette` path when it is not
    /// found relative to the scenario file, in order, before the project root
    /// (`llmvcr scenario run --cassettes DIR`).
    pub cassette_dirs: Vec<PathBuf>,
    /// The project root, the last place a relative cassette path is looked up.
    /// `None`: the nearest folder above the scenario file holding `.git`, or the
    /// current directory when there is none.
    pub project_root: Option<PathBuf>,
    /// How many times each scenario is run (`--repeat N`); every report must equal
    /// the first, or the scenario fails. 0 and 1 run it once, unless the scenario
    /// says `expect.deterministic: true`, which runs it at least twice.
    pub repeat: u32,
}

impl RunOptions {
    /// The default options: no search folders, the project root found from the
    /// scenario file, each scenario run once.
    pub fn new() -> RunOptions {
        RunOptions::default()
    }

    /// Adds a cassette search folder.
    pub fn cassette_dir(mut self, dir: impl Into<PathBuf>) -> RunOptions {
        self.cassette_dirs.push(dir.into());
        self
    }

    /// Sets the project root.
    pub fn project_root(mut self, dir: impl Into<PathBuf>) -> RunOptions {
        self.project_root = Some(dir.into());
        self
    }

    /// Runs each scenario `n` times and compares the reports.
    pub fn repeat(mut self, n: u32) -> RunOptions {
        self.repeat = n;
        self
    }
}

/// Loads and runs the scenario file at `path`.
pub fn run_file(path: &Path) -> Result<ScenarioReport, ScenarioError> {
    run_file_with(path, &RunOptions::default())
}

/// Loads and runs the scenario file at `path` with `options`.
pub fn run_file_with(path: &Path, options: &RunOptions) -> Result<ScenarioReport, ScenarioError> {
    let scenario = Scenario::load(path)?;
    run_scenario_with(&scenario, path, options)
}

/// Runs every scenario at `paths`: files as given, directories as the `*.yaml` and
/// `*.yml` files directly inside them, in name order. One result per file.
pub fn run_paths(paths: &[PathBuf]) -> Vec<Result<ScenarioReport, ScenarioError>> {
    run_paths_with(paths, &RunOptions::default())
}

/// [`run_paths`] with `options`.
pub fn run_paths_with(
    paths: &[PathBuf],
    options: &RunOptions,
) -> Vec<Result<ScenarioReport, ScenarioError>> {
    let mut results = Vec::new();
    for path in paths {
        match scenario_files(path) {
            Ok(files) => results.extend(files.iter().map(|f| run_file_with(f, options))),
            Err(e) => results.push(Err(e)),
        }
    }
    results
}

/// The scenario files at `path`: the file itself, or the `*.yaml` and `*.yml` files
/// directly inside a directory, sorted by name.
pub fn scenario_files(path: &Path) -> Result<Vec<PathBuf>, ScenarioError> {
    if !path.is_dir() {
        return Ok(vec![path.to_path_buf()]);
    }
    let io = |e: std::io::Error| ScenarioError::Io {
        file: path.to_path_buf(),
        message: e.to_string(),
    };
    let mut files = Vec::new();
    for entry in std::fs::read_dir(path).map_err(io)? {
        let file = entry.map_err(io)?.path();
        let yaml = file.extension().is_some_and(|e| e == "yaml" || e == "yml");
        if yaml && file.is_file() {
            files.push(file);
        }
    }
    files.sort();
    Ok(files)
}

/// Runs a parsed scenario; `file` is where it came from (relative cassette paths
/// are looked up from its folder first). The call runs on a current-thread tokio
/// runtime with the clock paused, so waits take virtual time only.
pub fn run_scenario(scenario: &Scenario, file: &Path) -> Result<ScenarioReport, ScenarioError> {
    run_scenario_with(scenario, file, &RunOptions::default())
}

/// [`run_scenario`] with `options`. When the scenario is run more than once
/// (`options.repeat`, or `expect.deterministic: true`), each run gets a fresh
/// runtime, router and fault plan, and a report that differs from the first adds a
/// failure naming the first field that differs.
pub fn run_scenario_with(
    scenario: &Scenario,
    file: &Path,
    options: &RunOptions,
) -> Result<ScenarioReport, ScenarioError> {
    let runs = if scenario.expect.deterministic {
        options.repeat.max(2)
    } else {
        options.repeat.max(1)
    };
    let mut first = run_once(scenario, file, options)?;
    let reference = comparable(&first);
    for run in 2..=runs {
        let again = run_once(scenario, file, options)?;
        if let Some(difference) = first_difference("", &reference, &comparable(&again)) {
            let field = if scenario.expect.deterministic {
                "deterministic"
            } else {
                "repeat"
            };
            first.failures.push(format!(
                "{field}: run {run} differs from run 1 at {difference}"
            ));
            break;
        }
    }
    first.runs = runs;
    first.passed = first.failures.is_empty();
    Ok(first)
}

/// The report as JSON, without what the comparison itself sets.
fn comparable(report: &ScenarioReport) -> serde_json::Value {
    let mut value = serde_json::to_value(report).unwrap_or(serde_json::Value::Null);
    if let Some(map) = value.as_object_mut() {
        map.remove("runs");
        map.remove("passed");
    }
    value
}

/// Where two JSON values first differ, as `path: a vs b`.
fn first_difference(path: &str, a: &serde_json::Value, b: &serde_json::Value) -> Option<String> {
    use serde_json::Value;
    let here = || {
        let path = if path.is_empty() {
            "(the report)"
        } else {
            path
        };
        Some(format!("{path}: {a} vs {b}"))
    };
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let join = |key: &str| {
                if path.is_empty() {
                    key.to_owned()
                } else {
                    format!("{path}.{key}")
                }
            };
            for (key, value) in x {
                let inner = join(key);
                match y.get(key) {
                    Some(other) => {
                        if let Some(d) = first_difference(&inner, value, other) {
                            return Some(d);
                        }
                    }
                    None => return Some(format!("{inner}: {value} vs absent")),
                }
            }
            y.keys()
                .find(|k| !x.contains_key(*k))
                .map(|k| format!("{}: absent vs {}", join(k), y[k.as_str()]))
        }
        (Value::Array(x), Value::Array(y)) => {
            for (i, (p, q)) in x.iter().zip(y).enumerate() {
                if let Some(d) = first_difference(&format!("{path}[{i}]"), p, q) {
                    return Some(d);
                }
            }
            if x.len() != y.len() {
                return Some(format!("{path}: {} entries vs {}", x.len(), y.len()));
            }
            None
        }
        _ if a == b => None,
        _ => here(),
    }
}

/// One run on a fresh current-thread runtime with the clock paused.
fn run_once(
    scenario: &Scenario,
    file: &Path,
    options: &RunOptions,
) -> Result<ScenarioReport, ScenarioError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .map_err(|e| setup(file, "runtime", e.to_string()))?;
    runtime.block_on(run_async(scenario, file, options))
}

/// Where a target's cassette is: an absolute path as it is; a relative one from
/// the scenario file's folder, then each search folder, then the project root; the
/// first that exists wins.
pub fn resolve_cassette(
    file: &Path,
    cassette: &Path,
    options: &RunOptions,
) -> Result<PathBuf, Vec<PathBuf>> {
    if cassette.is_absolute() {
        return if cassette.is_file() {
            Ok(cassette.to_path_buf())
        } else {
            Err(vec![cassette.to_path_buf()])
        };
    }
    let mut tried = Vec::new();
    let base = file.parent().unwrap_or(Path::new("."));
    tried.push(base.join(cassette));
    for dir in &options.cassette_dirs {
        tried.push(dir.join(cassette));
    }
    match &options.project_root {
        Some(root) => tried.push(root.join(cassette)),
        None => tried.push(project_root(file).join(cassette)),
    }
    match tried.iter().find(|p| p.is_file()) {
        Some(found) => Ok(found.clone()),
        None => Err(tried),
    }
}

/// The nearest folder above `file` holding `.git` (a folder, or a file in a git
/// worktree), or the current directory when there is none.
fn project_root(file: &Path) -> PathBuf {
    let absolute = std::path::absolute(file).unwrap_or_else(|_| file.to_path_buf());
    absolute
        .ancestors()
        .skip(1)
        .find(|dir| dir.join(".git").exists())
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

fn setup(file: &Path, field: impl Into<String>, message: impl Into<String>) -> ScenarioError {
    ScenarioError::Setup {
        file: file.to_path_buf(),
        field: field.into(),
        message: message.into(),
    }
}

fn micro_usd(money: Money) -> u64 {
    let micro = money.femto_usd().div_ceil(1_000_000_000);
    u64::try_from(micro).unwrap_or(u64::MAX)
}

async fn run_async(
    scenario: &Scenario,
    file: &Path,
    options: &RunOptions,
) -> Result<ScenarioReport, ScenarioError> {
    let epoch = match &scenario.epoch {
        Some(text) => parse_epoch(text).map_err(|m| setup(file, "epoch", m))?,
        None => VirtualClock::default_epoch(),
    };
    // The virtual wall clock starts with the scenario: every response is dated
    // `epoch + virtual elapsed`, so HTTP-date retry-afters wait the same each run.
    let clock = VirtualClock::start(epoch);
    let faults = FaultMiddleware::new(scenario.faults.clone())
        .map_err(|e| setup(file, "faults", e.to_string()))?
        .with_clock(clock);
    let http = reqwest::Client::new();
    let mut transport = ClientTransport::new();
    let mut targets = Vec::new();
    for (i, spec) in scenario.targets.iter().enumerate() {
        let endpoint = endpoint_for(spec).ok_or_else(|| {
            setup(
                file,
                format!("targets[{i}].provider"),
                format!("no endpoint for `{}`", spec.provider),
            )
        })?;
        let cassette_path = resolve_cassette(file, &spec.cassette, options).map_err(|tried| {
            let tried: Vec<String> = tried.iter().map(|p| p.display().to_string()).collect();
            setup(
                file,
                format!("targets[{i}].cassette"),
                format!(
                    "no cassette `{}`; looked at {}",
                    spec.cassette.display(),
                    tried.join(", ")
                ),
            )
        })?;
        let mut rules = llmvcr::testing::match_rules();
        rules.allow_repeats = true;
        let cassette = llmvcr::testing::cassette(cassette_path)
            .mode(Mode::Replay)
            .env(Env::default())
            .match_rules(rules)
            .build()
            .map_err(|e| setup(file, format!("targets[{i}].cassette"), e.to_string()))?;
        let client = Client::builder(endpoint)
            .key_from_env(false)
            .http_client(http.clone())
            .with(faults.clone())
            .with(cassette)
            .build();
        transport = transport.with(spec.name.clone(), client);
        let mut target = Target::new(&spec.name, &spec.provider, &spec.model);
        target.context_window = spec.context_window;
        target.rate_limit = spec.rate_limit.clone();
        targets.push(target);
    }

    let catalog =
        Arc::new(Catalog::embedded().map_err(|e| setup(file, "cost catalog", e.to_string()))?);
    let worst = Arc::clone(&catalog);
    let usage_catalog = Arc::clone(&catalog);
    let ledger = Arc::new(Mutex::new(Ledger::new()));
    let usage_ledger = Arc::clone(&ledger);
    let scenario_name = scenario.name.clone();
    let router = Router::new(transport, targets, scenario.policy.clone())
        .map_err(|e| setup(file, "policy", e.to_string()))?
        .with_worst_case_cost(move |target: &Target, request: &ChatRequest| {
            let max_output = request.max_tokens;
            let input = estimate_tokens(request).saturating_sub(u64::from(max_output.unwrap_or(0)));
            worst
                .worst_case(&target.model, input, max_output)
                .map(|c| micro_usd(c.total()))
        })
        .with_usage_cost(move |target: &Target, usage: &Usage| {
            let cost = usage_catalog.cost(&target.model, usage)?;
            usage_ledger
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .record(Entry {
                    scenario: Some(scenario_name.clone()),
                    target: target.name.clone(),
                    model: target.model.clone(),
                    usage: *usage,
                    cost,
                });
            Some(micro_usd(cost.total()))
        });

    let mut attempts: BTreeMap<String, usize> = scenario
        .targets
        .iter()
        .map(|t| (t.name.clone(), 0))
        .collect();
    let mut log = Vec::new();
    let mut calls = Vec::new();
    let mut outcome = None;
    for call in 1..=scenario.calls.max(1) {
        if call > 1
            && let Some(gap) = scenario.gap
        {
            tokio::time::sleep(gap).await;
        }
        let call_started = clock.elapsed();
        let this = router.chat(&scenario.request).await;
        let mut these = BTreeMap::new();
        for (name, count) in &mut attempts {
            let n = this.attempts_on(name);
            *count += n;
            these.insert(name.clone(), n);
        }
        log.extend(
            this.log
                .iter()
                .map(|record| LogEntry::new(call, call_started, record)),
        );
        calls.push(CallReport {
            call,
            outcome: outcome_name(&this),
            served_by: this.served_by.clone(),
            attempts: these,
            started: call_started,
            elapsed: clock.elapsed().saturating_sub(call_started),
        });
        outcome = Some(this);
    }
    let elapsed = clock.elapsed();
    let Some(outcome) = outcome else {
        return Err(setup(file, "calls", "no call was made"));
    };

    let (outcome_name, error, text) = match &outcome.result {
        Ok(response) => ("success".to_owned(), None, response.text.clone()),
        Err(e) => (
            e.kind().as_str().to_owned(),
            Some(e.error.to_string()),
            e.partial
                .as_ref()
                .map(|p| p.text.clone())
                .unwrap_or_default(),
        ),
    };
    let ledger = LedgerSummary::from_ledger(
        ledger
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone(),
    );
    let cost_usd = ledger.total_usd;

    let mut failures = Vec::new();
    let expect = &scenario.expect;
    if outcome_name != expect.outcome {
        let detail = error
            .as_deref()
            .map(|e| format!(" ({e})"))
            .unwrap_or_default();
        failures.push(format!(
            "outcome: expected `{}`, got `{outcome_name}`{detail}",
            expect.outcome
        ));
    }
    if let Some(want) = &expect.served_by
        && outcome.served_by.as_ref() != Some(want)
    {
        failures.push(format!(
            "served_by: expected `{want}`, got {}",
            outcome
                .served_by
                .as_deref()
                .map_or("no target (the call failed)".to_owned(), |s| format!(
                    "`{s}`"
                ))
        ));
    }
    for (target, want) in &expect.attempts {
        let got = attempts.get(target).copied().unwrap_or(0);
        if got != *want {
            failures.push(format!("attempts.{target}: expected {want}, got {got}"));
        }
    }
    for (i, (want, call)) in expect.attempts_per_call.iter().zip(&calls).enumerate() {
        for (target, want) in want {
            let got = call.attempts.get(target).copied().unwrap_or(0);
            if got != *want {
                failures.push(format!(
                    "attempts_per_call[{i}].{target}: expected {want} in call {}, got {got}",
                    call.call
                ));
            }
        }
    }
    if let Some(min) = expect.elapsed_min
        && elapsed < min
    {
        failures.push(format!(
            "elapsed_min: expected at least {}, took {}",
            format_duration(min),
            format_duration(elapsed)
        ));
    }
    if let Some(max) = expect.elapsed_max
        && elapsed > max
    {
        failures.push(format!(
            "elapsed_max: expected at most {}, took {}",
            format_duration(max),
            format_duration(elapsed)
        ));
    }
    if let Some(max) = expect.cost_max_usd
        && cost_usd > max
    {
        failures.push(format!(
            "cost_max_usd: expected at most ${max:.6}, cost ${cost_usd:.6}"
        ));
    }
    if let Some(min) = expect.cost_min_usd
        && cost_usd < min
    {
        failures.push(format!(
            "cost_min_usd: expected at least ${min:.6}, cost ${cost_usd:.6}"
        ));
    }
    for (target, range) in &expect.cost_by_target {
        let got = ledger.by_target.get(target).copied().unwrap_or(0.0);
        if let Some(min) = range.min_usd
            && got < min
        {
            failures.push(format!(
                "cost_by_target.{target}.min_usd: expected at least ${min:.6}, cost ${got:.6}"
            ));
        }
        if let Some(max) = range.max_usd
            && got > max
        {
            failures.push(format!(
                "cost_by_target.{target}.max_usd: expected at most ${max:.6}, cost ${got:.6}"
            ));
        }
    }
    if let Some(needle) = &expect.text_contains
        && !text.contains(needle.as_str())
    {
        failures.push(format!(
            "text_contains: expected the text to contain {needle:?}, got {text:?}"
        ));
    }
    for (target, want) in &expect.breaker {
        let got = router.breaker_state(target);
        if got != Some(*want) {
            failures.push(format!(
                "breaker.{target}: expected `{}`, got {}",
                want.as_str(),
                got.map_or("no breaker".to_owned(), |s| format!("`{}`", s.as_str()))
            ));
        }
    }

    Ok(ScenarioReport {
        name: scenario.name.clone(),
        file: file.to_path_buf(),
        passed: failures.is_empty(),
        failures,
        runs: 1,
        outcome: outcome_name,
        error,
        served_by: outcome.served_by.clone(),
        attempts,
        virtual_elapsed: elapsed,
        cost_usd,
        ledger,
        text,
        calls,
        log,
        faults: faults.log().iter().map(describe_fault).collect(),
    })
}

/// `success`, or the snake-case error kind of a routed call.
fn outcome_name(outcome: &llmvcr_router::RoutedOutcome) -> String {
    match &outcome.result {
        Ok(_) => "success".to_owned(),
        Err(e) => e.kind().as_str().to_owned(),
    }
}

/// The endpoint of a target: the provider's default, or its `base_url`; Azure
/// through its v1 Chat Completions API at `base_url`.
fn endpoint_for(spec: &crate::format::TargetSpec) -> Option<Endpoint> {
    let provider = Provider::from_name(&spec.provider)?;
    if provider == Provider::Azure {
        let base = spec.base_url.as_deref()?;
        return Some(Endpoint::azure_v1(base, llmvcr::WireApi::OpenAiChat));
    }
    let endpoint = Endpoint::for_provider(provider)?;
    Some(match &spec.base_url {
        Some(base) => endpoint.with_base_url(base),
        None => endpoint,
    })
}

fn describe_fault(fired: &FiredFault) -> String {
    format!(
        "request {}: {} on {} attempt {} (rule {})",
        fired.request, fired.fault_name, fired.target, fired.attempt, fired.rule
    )
}

#[cfg(test)]
mod tests {
    use super::first_difference;
    use serde_json::json;

    #[test]
    fn the_first_difference_is_named_by_its_path() {
        let a = json!({"elapsed_ms": 1.0, "log": [{"wait_ms": 2.0}, {"wait_ms": 3.0}]});
        assert_eq!(first_difference("", &a, &a), None);
        let b = json!({"elapsed_ms": 1.0, "log": [{"wait_ms": 2.0}, {"wait_ms": 4.5}]});
        assert_eq!(
            first_difference("", &a, &b).as_deref(),
            Some("log[1].wait_ms: 3.0 vs 4.5")
        );
        let c = json!({"elapsed_ms": 1.0, "log": [{"wait_ms": 2.0}]});
        assert_eq!(
            first_difference("", &a, &c).as_deref(),
            Some("log: 2 entries vs 1")
        );
        let d = json!({"elapsed_ms": 1.0, "log": [], "extra": true});
        assert_eq!(
            first_difference("", &c, &d).as_deref(),
            Some("log: 1 entries vs 0")
        );
        let e = json!({"elapsed_ms": 1.0, "log": [{"wait_ms": 2.0}], "extra": true});
        assert_eq!(
            first_difference("", &c, &e).as_deref(),
            Some("extra: absent vs true")
        );
    }
}
