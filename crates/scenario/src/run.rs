//! Running scenarios and checking their expectations.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use llmvcr::cassette::{Env, Mode};
use llmvcr::routing::ClientTransport;
use llmvcr::{ChatRequest, Client, Endpoint, Provider, Usage};
use llmvcr_cost::{Catalog, Entry, Ledger, Money};
use llmvcr_faults::{FaultMiddleware, FiredFault};
use llmvcr_router::{AttemptRecord, Router, Target, estimate_tokens, format_duration};
use serde::Serialize;

use crate::error::ScenarioError;
use crate::format::Scenario;

/// What happened when a scenario ran, and which expectations it missed.
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
    /// `success`, or the snake-case error kind of the failure (of the last call).
    pub outcome: String,
    /// The error message, when the call failed.
    pub error: Option<String>,
    /// The target that served the response (of the last call).
    pub served_by: Option<String>,
    /// Attempts per target, for every target of the chain, over all calls.
    pub attempts: BTreeMap<String, usize>,
    /// The virtual time the run took: from the start of the first call to the end
    /// of the last, gaps included.
    pub virtual_elapsed: Duration,
    /// What the calls cost, in USD (priced from the reported usage): the ledger's
    /// total, [`LedgerSummary::total_usd`].
    pub cost_usd: f64,
    /// The priced attempts totalled by target and by model.
    pub ledger: LedgerSummary,
    /// The final text, or the partial text of a failed stream (of the last call).
    pub text: String,
    /// The router's attempt log, over all calls.
    pub log: Vec<AttemptRecord>,
    /// The faults that fired, in order.
    pub faults: Vec<String>,
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

/// Loads and runs the scenario file at `path`.
pub fn run_file(path: &Path) -> Result<ScenarioReport, ScenarioError> {
    let scenario = Scenario::load(path)?;
    run_scenario(&scenario, path)
}

/// Runs every scenario at `paths`: files as given, directories as the `*.yaml` and
/// `*.yml` files directly inside them, in name order. One result per file.
pub fn run_paths(paths: &[PathBuf]) -> Vec<Result<ScenarioReport, ScenarioError>> {
    let mut results = Vec::new();
    for path in paths {
        match scenario_files(path) {
            Ok(files) => results.extend(files.iter().map(|f| run_file(f))),
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

/// Runs a parsed scenario; `file` is where it came from (cassette paths are relative
/// to its directory). The call runs on a current-thread tokio runtime with the clock
/// paused, so waits take virtual time only.
pub fn run_scenario(scenario: &Scenario, file: &Path) -> Result<ScenarioReport, ScenarioError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .map_err(|e| setup(file, "runtime", e.to_string()))?;
    runtime.block_on(run_async(scenario, file))
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

async fn run_async(scenario: &Scenario, file: &Path) -> Result<ScenarioReport, ScenarioError> {
    let base = file.parent().unwrap_or(Path::new("."));
    let faults = FaultMiddleware::new(scenario.faults.clone())
        .map_err(|e| setup(file, "faults", e.to_string()))?;
    let http = reqwest::Client::new();
    let mut transport = ClientTransport::new();
    let mut targets = Vec::new();
    for (i, spec) in scenario.targets.iter().enumerate() {
        let endpoint = Provider::from_name(&spec.provider)
            .and_then(Endpoint::for_provider)
            .ok_or_else(|| {
                setup(
                    file,
                    format!("targets[{i}].provider"),
                    format!("no default endpoint for `{}`", spec.provider),
                )
            })?;
        let cassette_path = base.join(&spec.cassette);
        if !cassette_path.is_file() {
            return Err(setup(
                file,
                format!("targets[{i}].cassette"),
                format!("no cassette at {}", cassette_path.display()),
            ));
        }
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

    let started = tokio::time::Instant::now();
    let mut attempts: BTreeMap<String, usize> = scenario
        .targets
        .iter()
        .map(|t| (t.name.clone(), 0))
        .collect();
    let mut log = Vec::new();
    let mut outcome = None;
    for call in 0..scenario.calls.max(1) {
        if call > 0
            && let Some(gap) = scenario.gap
        {
            tokio::time::sleep(gap).await;
        }
        let this = router.chat(&scenario.request).await;
        for (name, count) in &mut attempts {
            *count += this.attempts_on(name);
        }
        log.extend(this.log.iter().cloned());
        outcome = Some(this);
    }
    let elapsed = started.elapsed();
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
        outcome: outcome_name,
        error,
        served_by: outcome.served_by.clone(),
        attempts,
        virtual_elapsed: elapsed,
        cost_usd,
        ledger,
        text,
        log,
        faults: faults.log().iter().map(describe_fault).collect(),
    })
}

fn describe_fault(fired: &FiredFault) -> String {
    format!(
        "request {}: {} on {} attempt {} (rule {})",
        fired.request, fired.fault_name, fired.target, fired.attempt, fired.rule
    )
}
