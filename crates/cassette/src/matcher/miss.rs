//! Explaining a miss: the nearest recording and where it differs.

use std::fmt;

use serde_json::Value;

use super::canonical;
use super::{IncomingRequest, MatchRules};
use crate::stored::{Interaction, Request, StoredBody};

/// Where one request differs from another.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Difference {
    /// `method`, `url`, `body`, or the JSON pointer of a body field.
    pub path: String,
    /// The recorded value, shortened; `(absent)` when the field is missing.
    pub recorded: String,
    /// The sent value, shortened; `(absent)` when the field is missing.
    pub sent: String,
}

/// The recorded interaction closest to a request that missed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Nearest {
    /// Its index in the cassette, from 0.
    pub index: usize,
    /// Its method.
    pub method: String,
    /// Its URL.
    pub url: String,
    /// Where the requests differ, at most [`Nearest::SHOWN`] entries.
    pub differences: Vec<Difference>,
    /// How many differences there are in all.
    pub total_differences: usize,
}

impl Nearest {
    /// How many differences are kept.
    pub const SHOWN: usize = 12;
}

/// Why no recording answered a request.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum MissReason {
    /// The cassette file does not exist.
    NoCassette,
    /// The cassette has no interactions.
    Empty,
    /// Recordings with the same key exist, and all of them were already played.
    Exhausted {
        /// Their indices.
        played: Vec<usize>,
    },
    /// Recordings with the same key exist, and the custom matcher refused them all.
    Refused {
        /// Their indices.
        candidates: Vec<usize>,
    },
    /// No recording has the same key; this one is the closest.
    Different(Box<Nearest>),
}

/// A request that no recording answers.
///
/// Its `Display` is several lines: the request, the cassette, and the nearest
/// recorded interaction with the JSON paths where the two differ.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoMatch {
    /// The cassette file (or the name it was loaded under).
    pub cassette: String,
    /// How many interactions the cassette holds.
    pub interactions: usize,
    /// The request's method.
    pub method: String,
    /// The request's URL, credentials replaced by placeholders.
    pub url: String,
    /// Why it missed.
    pub reason: MissReason,
    /// Whether recording is refused where the miss happened (on CI without
    /// `LLMVCR_ALLOW_RECORD_IN_CI=1`), so the hint says to record locally.
    pub recording_refused: bool,
}

impl std::error::Error for NoMatch {}

impl NoMatch {
    /// How to record what is missing with `mode`, true where the miss
    /// happened: on CI, where recording is refused, it is done locally and
    /// the cassette committed.
    fn record_with(&self, mode: &str) -> String {
        if self.recording_refused {
            format!(
                "record it locally with LLMVCR_MODE={mode} and commit the cassette \
                 (CI replays committed cassettes only)"
            )
        } else {
            format!("record it with LLMVCR_MODE={mode}")
        }
    }
}

impl fmt::Display for NoMatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "no recorded interaction matches {} {}",
            self.method, self.url
        )?;
        write!(f, "  cassette: {}", self.cassette)?;
        match &self.reason {
            MissReason::NoCassette => {
                write!(f, " does not exist\n  {}", self.record_with("once"))
            }
            MissReason::Empty => {
                write!(f, " has no interactions\n  {}", self.record_with("record"))
            }
            MissReason::Exhausted { played } => write!(
                f,
                " ({} interactions)\n  all {} matching interactions were already played: {}\n  \
                 allow repeats (MatchRules::with_repeats(true)), or add the extra call: {}",
                self.interactions,
                played.len(),
                list_indices(played),
                self.record_with("new_episodes")
            ),
            MissReason::Refused { candidates } => write!(
                f,
                " ({} interactions)\n  the custom matcher refused every interaction with the \
                 same method, URL and body: {}",
                self.interactions,
                list_indices(candidates)
            ),
            MissReason::Different(nearest) => {
                writeln!(f, " ({} interactions)", self.interactions)?;
                write!(
                    f,
                    "  nearest: #{} {} {}",
                    nearest.index, nearest.method, nearest.url
                )?;
                if nearest.total_differences == 0 {
                    write!(f, "\n  (no difference in the compared fields)")?;
                } else {
                    write!(f, "\n  differences (recorded -> sent):")?;
                }
                for d in &nearest.differences {
                    write!(f, "\n    {}: {} -> {}", d.path, d.recorded, d.sent)?;
                }
                if nearest.total_differences > nearest.differences.len() {
                    write!(
                        f,
                        "\n    ... and {} more",
                        nearest.total_differences - nearest.differences.len()
                    )?;
                }
                write!(
                    f,
                    "\n  {} (or LLMVCR_MODE=record to record the whole cassette again)",
                    self.record_with("new_episodes")
                )
            }
        }
    }
}

fn list_indices(indices: &[usize]) -> String {
    let shown: Vec<String> = indices.iter().take(10).map(|i| format!("#{i}")).collect();
    let mut out = shown.join(", ");
    if indices.len() > 10 {
        out.push_str(&format!(", ... ({} in all)", indices.len()));
    }
    out
}

/// How long a value may be in a [`Difference`] before it is shortened.
const SHORT: usize = 60;

/// Shortens `text` to about [`SHORT`] characters, marking the cut.
fn shorten(text: &str) -> String {
    if text.chars().count() <= SHORT {
        return text.to_owned();
    }
    let head: String = text.chars().take(SHORT - 3).collect();
    format!("{head}...")
}

fn show(value: Option<&Value>) -> String {
    match value {
        None => "(absent)".to_owned(),
        Some(v) => shorten(&v.to_string()),
    }
}

/// Collects the JSON paths where `recorded` and `sent` differ.
fn diff_values(
    path: &mut String,
    recorded: Option<&Value>,
    sent: Option<&Value>,
    out: &mut Vec<Difference>,
) {
    match (recorded, sent) {
        (Some(Value::Object(a)), Some(Value::Object(b))) => {
            let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
            keys.sort_unstable();
            keys.dedup();
            for key in keys {
                let len = path.len();
                path.push('/');
                path.push_str(&key.replace('~', "~0").replace('/', "~1"));
                diff_values(path, a.get(key), b.get(key), out);
                path.truncate(len);
            }
        }
        (Some(Value::Array(a)), Some(Value::Array(b))) => {
            for i in 0..a.len().max(b.len()) {
                let len = path.len();
                path.push('/');
                path.push_str(&i.to_string());
                diff_values(path, a.get(i), b.get(i), out);
                path.truncate(len);
            }
        }
        (a, b) => {
            if !json_equal(a, b) {
                out.push(Difference {
                    path: if path.is_empty() {
                        "/".to_owned()
                    } else {
                        path.clone()
                    },
                    recorded: show(a),
                    sent: show(b),
                });
            }
        }
    }
}

fn json_equal(a: Option<&Value>, b: Option<&Value>) -> bool {
    match (a, b) {
        (Some(Value::Number(x)), Some(Value::Number(y))) => {
            let (mut bx, mut by) = (Vec::new(), Vec::new());
            canonical::write_number(x, &mut bx);
            canonical::write_number(y, &mut by);
            bx == by
        }
        _ => a == b,
    }
}

fn body_text(body: Option<&StoredBody>) -> String {
    match body {
        None => "(empty)".to_owned(),
        Some(StoredBody::Json(v)) => shorten(v.as_str()),
        Some(StoredBody::Text(t)) => shorten(&format!("{t:?}")),
        Some(StoredBody::Base64(b)) => shorten(&format!("base64 {b}")),
    }
}

/// The differences between a recorded request and a sent one, under `rules`.
pub fn differences(rules: &MatchRules, recorded: &Request, sent: &Request) -> Vec<Difference> {
    let mut out = Vec::new();
    if !recorded.method.eq_ignore_ascii_case(&sent.method) {
        out.push(Difference {
            path: "method".to_owned(),
            recorded: recorded.method.clone(),
            sent: sent.method.clone(),
        });
    }
    let (ru, su) = (
        rules.normalize_url(&recorded.url),
        rules.normalize_url(&sent.url),
    );
    if ru != su {
        out.push(Difference {
            path: "url".to_owned(),
            recorded: shorten(&recorded.url),
            sent: shorten(&sent.url),
        });
    }
    if !rules.match_body {
        return out;
    }
    match (rules.comparable_json(recorded), rules.comparable_json(sent)) {
        (Some(a), Some(b)) => diff_values(&mut String::new(), Some(&a), Some(&b), &mut out),
        _ => {
            let mut a = Vec::new();
            let mut b = Vec::new();
            rules.write_canonical(recorded, &mut a);
            rules.write_canonical(sent, &mut b);
            let body_a = a.splitn(2, |c| *c == b'\n').nth(1).unwrap_or_default();
            let body_b = b.splitn(2, |c| *c == b'\n').nth(1).unwrap_or_default();
            if body_a != body_b {
                out.push(Difference {
                    path: "body".to_owned(),
                    recorded: body_text(recorded.body.as_ref()),
                    sent: body_text(sent.body.as_ref()),
                });
            }
        }
    }
    out
}

/// The recorded interaction closest to `request`: one with the same method
/// and URL if any, and among those the one with the fewest differences.
pub(crate) fn nearest(
    rules: &MatchRules,
    request: &IncomingRequest,
    interactions: &[Interaction],
) -> Nearest {
    let sent_url = rules.normalize_url(&request.url);
    let mut best: Option<(bool, usize, usize, Vec<Difference>)> = None;
    for (i, interaction) in interactions.iter().enumerate() {
        let recorded = &interaction.request;
        let same_target = recorded.method.eq_ignore_ascii_case(&request.method)
            && rules.normalize_url(&recorded.url) == sent_url;
        let diffs = differences(rules, recorded, request);
        let better = match &best {
            None => true,
            Some((best_same, best_count, _, _)) => {
                (same_target && !best_same)
                    || (same_target == *best_same && diffs.len() < *best_count)
            }
        };
        if better {
            best = Some((same_target, diffs.len(), i, diffs));
        }
    }
    match best {
        Some((_, total, index, mut diffs)) => {
            diffs.truncate(Nearest::SHOWN);
            let recorded = interactions.get(index).map(|i| &i.request);
            Nearest {
                index,
                method: recorded.map(|r| r.method.clone()).unwrap_or_default(),
                url: recorded.map(|r| r.url.clone()).unwrap_or_default(),
                differences: diffs,
                total_differences: total,
            }
        }
        None => Nearest {
            index: 0,
            method: String::new(),
            url: String::new(),
            differences: Vec::new(),
            total_differences: 0,
        },
    }
}
