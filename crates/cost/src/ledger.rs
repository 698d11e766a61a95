//! The ledger: every priced call, totalled by target, model and scenario.

use std::collections::BTreeMap;

use llmvcr_core::Usage;
use serde::Serialize;

use crate::cost::Cost;

/// One priced call: an attempt that reported usage, whether it succeeded or failed
/// (a failed attempt's usage is what the provider reported before or with its
/// error).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Entry {
    /// The scenario the call belongs to, if any.
    pub scenario: Option<String>,
    /// The router target that made the call.
    pub target: String,
    /// The model name as the provider reported it.
    pub model: String,
    /// The tokens, as normalised by the provider adapter.
    pub usage: Usage,
    /// What the tokens cost.
    pub cost: Cost,
}

/// Every priced call in order, with totals by target, by model and by scenario.
///
/// Totals are exact: each one is the sum of its entries' costs in integer
/// femto-dollars, so the grand total equals the sum of any of the breakdowns.
///
/// The ledger is a plain value. To record from several tasks, share it as
/// `Arc<Mutex<Ledger>>` (std's `Mutex` is fine: `record` never awaits, so the
/// lock is never held across an `.await`).
///
/// ```
/// use llmvcr_core::Usage;
/// use llmvcr_cost::{Catalog, Entry, Ledger};
///
/// let catalog = Catalog::embedded()?;
/// let mut ledger = Ledger::new();
/// for (target, model) in [("primary", "gpt-4o-mini"), ("fallback", "claude-haiku-4-5")] {
///     let usage = Usage { input_tokens: 1_000, output_tokens: 100, ..Usage::default() };
///     let cost = catalog.cost(model, &usage).unwrap();
///     ledger.record(Entry {
///         scenario: Some("429 then fallback".into()),
///         target: target.into(),
///         model: model.into(),
///         usage,
///         cost,
///     });
/// }
/// let by_target = ledger.by_target();
/// assert_eq!(by_target["primary"].total() + by_target["fallback"].total(), ledger.total().total());
/// # Ok::<(), llmvcr_cost::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Ledger {
    entries: Vec<Entry>,
}

impl Ledger {
    /// An empty ledger.
    pub fn new() -> Ledger {
        Ledger::default()
    }

    /// Adds one priced call.
    pub fn record(&mut self, entry: Entry) {
        self.entries.push(entry);
    }

    /// Every call, in the order recorded.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// How many calls were recorded.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The cost of every call together.
    pub fn total(&self) -> Cost {
        self.entries.iter().map(|e| &e.cost).sum()
    }

    /// The tokens of every call together (saturating).
    pub fn total_usage(&self) -> Usage {
        self.entries.iter().fold(Usage::default(), |a, e| Usage {
            input_tokens: a.input_tokens.saturating_add(e.usage.input_tokens),
            output_tokens: a.output_tokens.saturating_add(e.usage.output_tokens),
            cached_input_tokens: a
                .cached_input_tokens
                .saturating_add(e.usage.cached_input_tokens),
            cache_write_tokens: a
                .cache_write_tokens
                .saturating_add(e.usage.cache_write_tokens),
            reasoning_tokens: a.reasoning_tokens.saturating_add(e.usage.reasoning_tokens),
        })
    }

    /// Cost per target, in name order.
    pub fn by_target(&self) -> BTreeMap<String, Cost> {
        self.group(|e| e.target.clone())
    }

    /// Cost per model name, in name order.
    pub fn by_model(&self) -> BTreeMap<String, Cost> {
        self.group(|e| e.model.clone())
    }

    /// Cost per scenario, in name order; calls outside any scenario are under
    /// `None`, which comes first.
    pub fn by_scenario(&self) -> BTreeMap<Option<String>, Cost> {
        self.group(|e| e.scenario.clone())
    }

    fn group<K: Ord>(&self, key: impl Fn(&Entry) -> K) -> BTreeMap<K, Cost> {
        let mut out: BTreeMap<K, Cost> = BTreeMap::new();
        for e in &self.entries {
            *out.entry(key(e)).or_default() += e.cost;
        }
        out
    }
}
