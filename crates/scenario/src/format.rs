//! The scenario file format.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use llmvcr::{ChatRequest, Provider};
use llmvcr_faults::FaultPlan;
use llmvcr_router::{BreakerState, RateLimit, RouterPolicy};
use serde::{Deserialize, Deserializer, Serialize};

use crate::error::ScenarioError;

/// One scenario file: a request, the targets it may go to, the router policy, the
/// faults injected and what must come out. See the [crate docs](crate) for the
/// format.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// The scenario's name, shown in reports.
    pub name: String,
    /// A free-text description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The neutral request. Its `model` is replaced by each target's model.
    pub request: ChatRequest,
    /// The chain of targets, in order.
    pub targets: Vec<TargetSpec>,
    /// The router policy. Absent: the default policy.
    #[serde(default)]
    pub policy: RouterPolicy,
    /// The faults injected. Absent: none.
    #[serde(default)]
    pub faults: FaultPlan,
    /// How many times the request is sent, one call after the other, through the
    /// same router (so breakers, rate limiters and the budget carry over). At least
    /// 1; absent: 1.
    #[serde(default = "one_call")]
    pub calls: u32,
    /// The virtual time waited between two calls. Absent: none.
    #[serde(
        default,
        deserialize_with = "opt_duration",
        skip_serializing_if = "Option::is_none"
    )]
    pub gap: Option<Duration>,
    /// What the virtual wall clock reads when the scenario starts, as an HTTP date
    /// (`Thu, 01 Jan 2026 00:00:00 GMT`, the default). Responses are dated from it
    /// (`Date` = epoch + virtual time elapsed), and an HTTP-date `retry-after` is
    /// measured against that `Date`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub epoch: Option<String>,
    /// What must come out.
    pub expect: Expect,
}

/// One target of the chain, and the cassette that answers for it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetSpec {
    /// The target's name: used by fault selectors (`when: {target: ...}`) and in
    /// expectations.
    pub name: String,
    /// The provider: `openai`, `anthropic`, `gemini`, `openrouter`, `groq`,
    /// `mistral`, `ollama` or `lmstudio`.
    pub provider: String,
    /// The model sent to this target.
    pub model: String,
    /// The cassette (format v1) that replays this target's traffic. A relative path
    /// is looked up relative to the scenario file's folder first, then in each
    /// cassette search folder (`--cassettes`), then relative to the project root;
    /// the first that exists wins.
    pub cassette: PathBuf,
    /// The provider's base URL. Required for `azure` (the resource URL, such as
    /// `https://example.openai.azure.com`, served through its v1 Chat Completions
    /// API); for the others it replaces the default base URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_url: Option<String>,
    /// The model's context window in tokens, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context_window: Option<u64>,
    /// The target's rate limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<RateLimit>,
}

/// The expectations checked after the run. Every field but `outcome` is optional;
/// an absent one is not checked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// `success`, or the snake-case error kind of the failure (`rate_limited`,
    /// `quota_exceeded`, `overloaded`, `network`, `timeout`, `budget`, ...).
    pub outcome: String,
    /// The target that served the response.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub served_by: Option<String>,
    /// Attempts per target name (skips and refusals are not attempts), over all
    /// calls.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attempts: BTreeMap<String, usize>,
    /// Attempts per target name for each call, in call order: one map per call (as
    /// many as `calls`); a target absent from a map is not checked for that call.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attempts_per_call: Vec<BTreeMap<String, usize>>,
    /// The least virtual time the call may take (`"20s"`, `"1m30s"`, or
    /// milliseconds).
    #[serde(
        default,
        deserialize_with = "opt_duration",
        skip_serializing_if = "Option::is_none"
    )]
    pub elapsed_min: Option<Duration>,
    /// The most virtual time the call may take.
    #[serde(
        default,
        deserialize_with = "opt_duration",
        skip_serializing_if = "Option::is_none"
    )]
    pub elapsed_max: Option<Duration>,
    /// The most the call may cost, in USD.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost_max_usd: Option<f64>,
    /// The least the call may cost, in USD.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost_min_usd: Option<f64>,
    /// Bounds on the cost per target name, over all calls, in USD (a target with no
    /// priced attempt costs 0).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub cost_by_target: BTreeMap<String, CostRange>,
    /// Whether the scenario must give the same report on every run: when `true`
    /// it is run twice (or `--repeat` times, if more) and any difference between
    /// the reports is a failure.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub deterministic: bool,
    /// A string the final text must contain (the partial text on a failure).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text_contains: Option<String>,
    /// Breaker states per target name after the call: `closed`, `open` or
    /// `half_open`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub breaker: BTreeMap<String, BreakerState>,
}

/// Bounds on a cost, in USD; an absent bound is not checked.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CostRange {
    /// The least it may cost.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_usd: Option<f64>,
    /// The most it may cost.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_usd: Option<f64>,
}

fn one_call() -> u32 {
    1
}

struct DurationVisitor;

impl serde::de::Visitor<'_> for DurationVisitor {
    type Value = Duration;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a duration such as \"250ms\", \"20s\", \"1m30s\", or milliseconds")
    }

    fn visit_u64<E: serde::de::Error>(self, ms: u64) -> Result<Duration, E> {
        Ok(Duration::from_millis(ms))
    }

    fn visit_i64<E: serde::de::Error>(self, ms: i64) -> Result<Duration, E> {
        u64::try_from(ms)
            .map(Duration::from_millis)
            .map_err(|_| E::custom(format!("{ms} is not a duration: it is negative")))
    }

    fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Duration, E> {
        llmvcr_router::parse_duration(text).map_err(E::custom)
    }
}

struct DurationSpec(Duration);

impl<'de> Deserialize<'de> for DurationSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<DurationSpec, D::Error> {
        d.deserialize_any(DurationVisitor).map(DurationSpec)
    }
}

fn opt_duration<'de, D>(d: D) -> Result<Option<Duration>, D::Error>
where
    D: Deserializer<'de>,
{
    Ok(Option::<DurationSpec>::deserialize(d)?.map(|s| s.0))
}

impl Scenario {
    /// Parses and validates a scenario. `file` names the file in errors.
    pub fn parse(text: &str, file: &Path) -> Result<Scenario, ScenarioError> {
        let parse_error = |e: yaml_serde::Error| ScenarioError::Parse {
            file: file.to_path_buf(),
            message: e.to_string(),
        };
        // Faults written as `template: <name>` are expanded into the provider's
        // error response first; files without templates are read directly, so
        // their errors keep line numbers.
        let scenario: Scenario = if text.contains("template:") {
            let mut doc: yaml_serde::Value = yaml_serde::from_str(text).map_err(parse_error)?;
            expand_templates(&mut doc, file)?;
            yaml_serde::from_value(doc).map_err(parse_error)?
        } else {
            yaml_serde::from_str(text).map_err(parse_error)?
        };
        scenario.validate(file)?;
        Ok(scenario)
    }

    /// Reads and parses the scenario file at `path`.
    pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
        let text = std::fs::read_to_string(path).map_err(|e| ScenarioError::Io {
            file: path.to_path_buf(),
            message: e.to_string(),
        })?;
        Scenario::parse(&text, path)
    }

    fn validate(&self, file: &Path) -> Result<(), ScenarioError> {
        let invalid = |field: String, message: String| ScenarioError::Invalid {
            file: file.to_path_buf(),
            field,
            message,
        };
        if self.targets.is_empty() {
            return Err(invalid(
                "targets".into(),
                "at least one target is needed".into(),
            ));
        }
        for (i, t) in self.targets.iter().enumerate() {
            if Provider::from_name(&t.provider).is_none_or(|p| p == Provider::Unknown) {
                return Err(invalid(
                    format!("targets[{i}].provider"),
                    format!("unknown provider `{}`", t.provider),
                ));
            }
            if Provider::from_name(&t.provider) == Some(Provider::Azure) && t.base_url.is_none() {
                return Err(invalid(
                    format!("targets[{i}].base_url"),
                    "an `azure` target needs `base_url`: the resource URL, such as \
                     `https://example.openai.azure.com`"
                        .into(),
                ));
            }
            if let Some(url) = &t.base_url
                && reqwest::Url::parse(url).is_err()
            {
                return Err(invalid(
                    format!("targets[{i}].base_url"),
                    format!("`{url}` is not a URL"),
                ));
            }
            if self.targets[..i].iter().any(|o| o.name == t.name) {
                return Err(invalid(
                    format!("targets[{i}].name"),
                    format!("duplicate target name `{}`", t.name),
                ));
            }
        }
        if self.calls == 0 {
            return Err(invalid(
                "calls".into(),
                "at least one call is needed".into(),
            ));
        }
        let known = |name: &str| self.targets.iter().any(|t| t.name == name);
        let check_names = |field: &str, names: Vec<&String>| {
            for name in names {
                if !known(name) {
                    return Err(invalid(
                        format!("expect.{field}.{name}"),
                        format!("`{name}` is not a target of this scenario"),
                    ));
                }
            }
            Ok(())
        };
        check_names("attempts", self.expect.attempts.keys().collect())?;
        check_names(
            "cost_by_target",
            self.expect.cost_by_target.keys().collect(),
        )?;
        for (i, call) in self.expect.attempts_per_call.iter().enumerate() {
            check_names(&format!("attempts_per_call[{i}]"), call.keys().collect())?;
        }
        if !self.expect.attempts_per_call.is_empty()
            && self.expect.attempts_per_call.len() != self.calls as usize
        {
            return Err(invalid(
                "expect.attempts_per_call".into(),
                format!(
                    "{} entries for {} calls: give one map per call",
                    self.expect.attempts_per_call.len(),
                    self.calls
                ),
            ));
        }
        if let Some(epoch) = &self.epoch {
            parse_epoch(epoch).map_err(|m| invalid("epoch".into(), m))?;
        }
        check_names("breaker", self.expect.breaker.keys().collect())?;
        if let Some(served) = &self.expect.served_by
            && !known(served)
        {
            return Err(invalid(
                "expect.served_by".into(),
                format!("`{served}` is not a target of this scenario"),
            ));
        }
        self.faults
            .validate()
            .map_err(|e| invalid("faults".into(), e.to_string()))?;
        Ok(())
    }
}

/// Parses `epoch`, an HTTP date.
pub(crate) fn parse_epoch(epoch: &str) -> Result<std::time::SystemTime, String> {
    httpdate::parse_http_date(epoch.trim()).map_err(|_| {
        format!("`{epoch}` is not an HTTP date such as `Thu, 01 Jan 2026 00:00:00 GMT`")
    })
}

/// Replaces every `faults.rules[i].fault` written as `{template: <name>,
/// retry_after?: <duration>}` by the `status` fault holding that provider error
/// response (see `llmvcr::providers::fault_templates::NAMES`).
fn expand_templates(doc: &mut yaml_serde::Value, file: &Path) -> Result<(), ScenarioError> {
    use llmvcr::providers::fault_templates as t;
    use yaml_serde::Value;

    let Some(rules) = doc
        .get_mut("faults")
        .and_then(|f| f.get_mut("rules"))
        .and_then(Value::as_sequence_mut)
    else {
        return Ok(());
    };
    for (i, rule) in rules.iter_mut().enumerate() {
        let Some(fault) = rule.get_mut("fault") else {
            continue;
        };
        let Some(name) = fault
            .get("template")
            .and_then(Value::as_str)
            .map(str::to_owned)
        else {
            continue;
        };
        let field = format!("faults.rules[{i}].fault");
        let invalid = |field: String, message: String| ScenarioError::Invalid {
            file: file.to_path_buf(),
            field,
            message,
        };
        if let Value::Mapping(map) = &*fault
            && let Some(extra) = map
                .keys()
                .filter_map(Value::as_str)
                .find(|k| !matches!(*k, "template" | "retry_after"))
        {
            return Err(invalid(
                format!("{field}.{extra}"),
                "a template fault takes only `template` and `retry_after`".into(),
            ));
        }
        let retry_after = match fault.get("retry_after") {
            None => None,
            Some(Value::Number(n)) => n.as_u64().map(Duration::from_millis),
            Some(Value::String(s)) => Some(
                llmvcr_router::parse_duration(s)
                    .map_err(|e| invalid(format!("{field}.retry_after"), e.to_string()))?,
            ),
            Some(_) => None,
        };
        if fault.get("retry_after").is_some() && retry_after.is_none() {
            return Err(invalid(
                format!("{field}.retry_after"),
                "expected a duration such as `20s` or a number of milliseconds".into(),
            ));
        }
        let template = match (name.as_str(), retry_after) {
            ("openai_rate_limited", Some(d)) => Some(t::openai_rate_limited(d)),
            ("anthropic_rate_limited", Some(d)) => Some(t::anthropic_rate_limited(d)),
            ("gemini_resource_exhausted", Some(d)) => Some(t::gemini_resource_exhausted(d)),
            (_, Some(_)) => {
                return Err(invalid(
                    format!("{field}.retry_after"),
                    format!("template `{name}` takes no retry_after"),
                ));
            }
            (_, None) => t::by_name(&name),
        };
        let Some(template) = template else {
            return Err(invalid(
                format!("{field}.template"),
                format!("unknown template `{name}`; known: {}", t::NAMES.join(", ")),
            ));
        };
        let headers: Vec<Value> = template
            .headers
            .iter()
            .map(|(k, v)| Value::Sequence(vec![Value::from(k.as_str()), Value::from(v.as_str())]))
            .collect();
        let mut map = yaml_serde::Mapping::new();
        map.insert(Value::from("kind"), Value::from("status"));
        map.insert(
            Value::from("status"),
            Value::from(u64::from(template.status)),
        );
        map.insert(Value::from("headers"), Value::Sequence(headers));
        map.insert(Value::from("body"), Value::from(template.body.as_str()));
        *fault = Value::Mapping(map);
    }
    Ok(())
}
