//! Fault plans: which fault each request gets.

use serde::{Deserialize, Serialize};

use crate::error::{FaultError, Result};
use crate::fault::Fault;

/// Who a request is for and which attempt it is, set by the caller (the router or
/// the façade) as a request extension:
///
/// ```
/// use llmvcr_faults::FaultContext;
///
/// let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new()).build();
/// let request = client
///     .post("http://127.0.0.1:9/v1/chat/completions")
///     .with_extension(FaultContext::new("openai:gpt-4o-mini", 2));
/// # drop(request);
/// ```
///
/// Without it, the target is the host of the URL and the attempt is the number of
/// requests the middleware has seen for that host, this one included.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FaultContext {
    /// The target's name, matched by [`Selector::target`].
    pub target: String,
    /// The attempt number for this target, counting from 1.
    pub attempt: u32,
}

impl FaultContext {
    /// A context for `attempt` (from 1) at `target`.
    pub fn new(target: impl Into<String>, attempt: u32) -> FaultContext {
        FaultContext {
            target: target.into(),
            attempt,
        }
    }
}

/// Which requests a rule applies to. Every condition that is set must hold; a
/// selector with none set matches every request.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Selector {
    /// The target's name ([`FaultContext::target`], or the URL host), compared
    /// exactly.
    pub target: Option<String>,
    /// The attempt number for the target, counting from 1.
    pub attempt: Option<u32>,
    /// The request number among all requests the middleware has seen, counting
    /// from 1.
    pub request: Option<u64>,
    /// The chance, from 0.0 to 1.0, that the rule applies to a request the other
    /// conditions select. Drawn from the plan's seeded generator.
    pub probability: Option<f64>,
}

impl Selector {
    /// A selector that matches every request.
    pub fn any() -> Selector {
        Selector::default()
    }

    /// Also requires the target `target`.
    pub fn target(mut self, target: impl Into<String>) -> Selector {
        self.target = Some(target.into());
        self
    }

    /// Also requires attempt number `attempt` (from 1).
    pub fn attempt(mut self, attempt: u32) -> Selector {
        self.attempt = Some(attempt);
        self
    }

    /// Also requires the `request`-th request overall (from 1).
    pub fn request(mut self, request: u64) -> Selector {
        self.request = Some(request);
        self
    }

    /// Also requires a seeded draw below `probability`.
    pub fn probability(mut self, probability: f64) -> Selector {
        self.probability = Some(probability);
        self
    }
}

/// One rule: a selector, a fault, and how often it may fire.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultRule {
    /// Which requests the rule applies to. Absent: all.
    #[serde(default)]
    pub when: Selector,
    /// The fault injected.
    pub fault: Fault,
    /// How many times the rule may fire. Absent: no limit.
    #[serde(default)]
    pub times: Option<u32>,
}

impl FaultRule {
    /// A rule injecting `fault` into the requests `when` selects, without limit.
    pub fn new(when: Selector, fault: Fault) -> FaultRule {
        FaultRule {
            when,
            fault,
            times: None,
        }
    }

    /// Limits the rule to `times` firings.
    pub fn times(mut self, times: u32) -> FaultRule {
        self.times = Some(times);
        self
    }
}

/// An ordered list of rules and the seed of the generator behind
/// [`Selector::probability`]. For each request the first rule that matches (and has
/// firings left) fires; the others are not consulted.
///
/// ```
/// use llmvcr_faults::{Fault, FaultPlan};
///
/// let yaml = r#"
/// seed: 42
/// rules:
///   - when: { target: openai, attempt: 1 }
///     fault: { kind: status, status: 503, body: '{"error":{"message":"busy"}}' }
///   - when: { probability: 0.1 }
///     fault: { kind: cut, after_frames: 3 }
///     times: 2
/// "#;
/// let plan: FaultPlan = yaml_serde::from_str(yaml).unwrap();
/// assert_eq!(plan.seed, 42);
/// assert_eq!(plan.rules[1].fault, Fault::Cut { after_frames: 3 });
/// plan.validate().unwrap();
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultPlan {
    /// The seed of the generator; the same seed gives the same draws.
    #[serde(default)]
    pub seed: u64,
    /// The rules, in order of priority.
    #[serde(default)]
    pub rules: Vec<FaultRule>,
}

impl FaultPlan {
    /// An empty plan: nothing is injected.
    pub fn new() -> FaultPlan {
        FaultPlan::default()
    }

    /// Sets the seed.
    pub fn seed(mut self, seed: u64) -> FaultPlan {
        self.seed = seed;
        self
    }

    /// Appends a rule.
    pub fn rule(mut self, rule: FaultRule) -> FaultPlan {
        self.rules.push(rule);
        self
    }

    /// Appends a rule without a firing limit.
    pub fn inject(self, when: Selector, fault: Fault) -> FaultPlan {
        self.rule(FaultRule::new(when, fault))
    }

    /// Checks every rule: probabilities within 0.0..=1.0, statuses from 100 to 999,
    /// header names and values that HTTP allows.
    pub fn validate(&self) -> Result<()> {
        for (index, rule) in self.rules.iter().enumerate() {
            let invalid = |field: &str, message: String| FaultError::InvalidPlan {
                rule: index,
                field: field.to_owned(),
                message,
            };
            if let Some(p) = rule.when.probability
                && !(p.is_finite() && (0.0..=1.0).contains(&p))
            {
                return Err(invalid(
                    "when.probability",
                    format!("{p} is not between 0.0 and 1.0"),
                ));
            }
            if let Fault::Status {
                status, headers, ..
            } = &rule.fault
            {
                if http::StatusCode::from_u16(*status).is_err() {
                    return Err(invalid(
                        "fault.status",
                        format!("{status} is not an HTTP status"),
                    ));
                }
                for (i, (name, value)) in headers.iter().enumerate() {
                    if http::HeaderName::from_bytes(name.as_bytes()).is_err() {
                        return Err(invalid(
                            &format!("fault.headers[{i}]"),
                            format!("{name:?} is not a valid header name"),
                        ));
                    }
                    if http::HeaderValue::from_str(value).is_err() {
                        return Err(invalid(
                            &format!("fault.headers[{i}]"),
                            format!("the value of {name:?} is not a valid header value"),
                        ));
                    }
                }
            }
        }
        Ok(())
    }
}

/// One fault that fired, as recorded in [`FaultMiddleware::log`](crate::FaultMiddleware::log).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct FiredFault {
    /// The request number among all requests the middleware has seen, from 1.
    pub request: u64,
    /// The index of the rule that fired.
    pub rule: usize,
    /// The target the request was for.
    pub target: String,
    /// The attempt number for that target, from 1.
    pub attempt: u32,
    /// [`Fault::name`] of the injected fault.
    pub fault_name: &'static str,
}

/// The splitmix64 step: advances `state` and returns the next output.
pub(crate) fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    mix(*state)
}

/// The splitmix64 finaliser.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A uniform number in `[0, 1)` for rule `rule`, derived from the request's draw so
/// that rules are independent of one another while the generator advances once per
/// request.
pub(crate) fn unit_for_rule(draw: u64, rule: usize) -> f64 {
    let salt = (rule as u64)
        .wrapping_add(1)
        .wrapping_mul(0xD1B5_4A32_D192_ED03);
    let bits = mix(draw ^ salt) >> 11;
    bits as f64 / (1u64 << 53) as f64
}

/// What the selection sees of one request.
#[derive(Debug)]
pub(crate) struct Request<'a> {
    pub(crate) number: u64,
    pub(crate) target: &'a str,
    pub(crate) attempt: u32,
    pub(crate) draw: u64,
}

impl Selector {
    pub(crate) fn matches(&self, index: usize, request: &Request<'_>) -> bool {
        self.target.as_deref().is_none_or(|t| t == request.target)
            && self.attempt.is_none_or(|a| a == request.attempt)
            && self.request.is_none_or(|n| n == request.number)
            && self
                .probability
                .is_none_or(|p| unit_for_rule(request.draw, index) < p)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[test]
    fn units_are_in_range_and_spread() {
        let mut state = 7;
        let mut below_half = 0;
        for _ in 0..10_000 {
            let u = unit_for_rule(splitmix64(&mut state), 0);
            assert!((0.0..1.0).contains(&u));
            if u < 0.5 {
                below_half += 1;
            }
        }
        assert!((4_500..5_500).contains(&below_half), "{below_half}");
    }

    #[test]
    fn invalid_plans_name_the_field() {
        let plan = FaultPlan::new()
            .inject(Selector::any(), Fault::Reset)
            .inject(Selector::any().probability(1.5), Fault::Reset);
        let err = plan.validate().map(|_| ()).unwrap_err().to_string();
        assert!(err.contains("rules[1].when.probability"), "{err}");
        let plan = FaultPlan::new().inject(
            Selector::any(),
            Fault::status(429, vec![("bad name".into(), "1".into())], ""),
        );
        let err = plan.validate().map(|_| ()).unwrap_err().to_string();
        assert!(err.contains("rules[0].fault.headers[0]"), "{err}");
        let plan = FaultPlan::new().inject(Selector::any(), Fault::status(42, vec![], ""));
        assert!(plan.validate().is_err());
    }
}
