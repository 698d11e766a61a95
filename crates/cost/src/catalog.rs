//! The price catalog: parsing, merging and model lookup.

use std::collections::BTreeMap;
use std::path::Path;

use llmvcr_core::Usage;
use serde::{Deserialize, Serialize};

use crate::cost::{Cost, ModelPrice};
use crate::error::{Error, Result};
use crate::money::{MAX_USD_PER_MTOK, Price};

/// The catalog shipped with the crate, `data/prices.yaml`.
pub const EMBEDDED_YAML: &str = include_str!("../data/prices.yaml");

/// What the lookup strips from the front of a model name, in order, before trying
/// again: OpenRouter's `~` (moving alias), vendor prefixes, Gemini's `models/`.
const STRIPPED_PREFIXES: &[&str] = &[
    "~",
    "openai/",
    "anthropic/",
    "google/",
    "mistralai/",
    "models/",
];

/// Where a catalog's entries came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Source {
    /// The file name, or what the caller called the text.
    pub origin: String,
    /// The date the file gives for its prices.
    pub prices_as_of: String,
    /// The currency of its prices (always `USD`).
    pub currency: String,
}

/// Model prices and limits, looked up by the model name a provider uses.
///
/// Build one with [`Catalog::embedded`], [`Catalog::from_yaml`] or
/// [`Catalog::load`], and layer a user's file over the embedded one with
/// [`Catalog::merged_with`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Catalog {
    sources: Vec<Source>,
    models: BTreeMap<String, ModelPrice>,
    /// Alias to model id.
    aliases: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCatalog {
    prices_as_of: String,
    currency: String,
    models: BTreeMap<String, RawModel>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawModel {
    provider: String,
    input: f64,
    output: f64,
    cached_input: Option<f64>,
    cache_write: Option<f64>,
    cache_write_1h: Option<f64>,
    reasoning: Option<f64>,
    context_window: Option<u64>,
    max_output: Option<u64>,
    #[serde(default)]
    aliases: Vec<String>,
    #[serde(default)]
    estimated: bool,
    note: Option<String>,
}

impl Catalog {
    /// The catalog shipped with the crate (`data/prices.yaml`, embedded at build
    /// time). It is checked by the crate's tests, so this does not fail in a
    /// released build.
    pub fn embedded() -> Result<Catalog> {
        Catalog::from_yaml(EMBEDDED_YAML, "llmvcr-cost/data/prices.yaml")
    }

    /// Parses catalog YAML. `origin` names the text in errors, usually the file
    /// name. The format is the one of `data/prices.yaml`: top-level
    /// `prices_as_of`, `currency: USD` and `models`, a map from model id to prices
    /// in USD per million tokens.
    pub fn from_yaml(text: &str, origin: &str) -> Result<Catalog> {
        let raw: RawCatalog = yaml_serde::from_str(text).map_err(|e| Error::Parse {
            origin: origin.to_owned(),
            message: e.to_string(),
        })?;
        let invalid = |field: String, message: String| Error::Invalid {
            origin: origin.to_owned(),
            field,
            message,
        };
        if raw.currency != "USD" {
            return Err(invalid(
                "currency".into(),
                format!("`{}` is not supported; prices must be in USD", raw.currency),
            ));
        }
        if raw.prices_as_of.trim().is_empty() {
            return Err(invalid("prices_as_of".into(), "is empty".into()));
        }
        let mut models = BTreeMap::new();
        let mut aliases = BTreeMap::new();
        for (id, m) in raw.models {
            let price = |field: &str, value: f64| {
                Price::from_usd_per_mtok(value).ok_or_else(|| {
                    invalid(
                        format!("models.{id}.{field}"),
                        format!(
                            "{value} is not a price; expected USD per million tokens, \
                             from 0 to {MAX_USD_PER_MTOK}"
                        ),
                    )
                })
            };
            let optional =
                |field: &str, value: Option<f64>| value.map(|v| price(field, v)).transpose();
            let model = ModelPrice {
                provider: m.provider,
                input: price("input", m.input)?,
                output: price("output", m.output)?,
                cached_input: optional("cached_input", m.cached_input)?,
                cache_write: optional("cache_write", m.cache_write)?,
                cache_write_1h: optional("cache_write_1h", m.cache_write_1h)?,
                reasoning: optional("reasoning", m.reasoning)?,
                context_window: m.context_window,
                max_output: m.max_output,
                aliases: m.aliases,
                estimated: m.estimated,
                note: m.note,
                id: id.clone(),
            };
            if model.provider.trim().is_empty() {
                return Err(invalid(format!("models.{id}.provider"), "is empty".into()));
            }
            for alias in &model.aliases {
                if let Some(other) = aliases.insert(alias.clone(), id.clone()) {
                    return Err(invalid(
                        format!("models.{id}.aliases"),
                        format!("`{alias}` is already an alias of `{other}`"),
                    ));
                }
            }
            models.insert(id, model);
        }
        if let Some((alias, id)) = aliases.iter().find(|(a, _)| models.contains_key(*a)) {
            return Err(invalid(
                format!("models.{id}.aliases"),
                format!("`{alias}` is also a model id"),
            ));
        }
        Ok(Catalog {
            sources: vec![Source {
                origin: origin.to_owned(),
                prices_as_of: raw.prices_as_of,
                currency: raw.currency,
            }],
            models,
            aliases,
        })
    }

    /// Reads and parses a catalog file; errors name the file.
    pub fn load(path: impl AsRef<Path>) -> Result<Catalog> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|error| Error::Read {
            path: path.to_owned(),
            error,
        })?;
        Catalog::from_yaml(&text, &path.display().to_string())
    }

    /// This catalog with `other`'s entries laid over it: a model id in `other`
    /// replaces the whole entry here, and an alias in `other` wins over the same
    /// alias here. Aliases of replaced entries go with them.
    pub fn merged_with(&self, other: &Catalog) -> Catalog {
        let mut models = self.models.clone();
        let mut aliases = self.aliases.clone();
        aliases.retain(|alias, id| {
            !other.models.contains_key(id) && !other.models.contains_key(alias)
        });
        for (id, model) in &other.models {
            models.insert(id.clone(), model.clone());
        }
        aliases.extend(other.aliases.iter().map(|(a, id)| (a.clone(), id.clone())));
        let mut sources = self.sources.clone();
        sources.extend(other.sources.iter().cloned());
        Catalog {
            sources,
            models,
            aliases,
        }
    }

    /// Where the entries came from, base first.
    pub fn sources(&self) -> &[Source] {
        &self.sources
    }

    /// The `prices_as_of` date of the base catalog.
    pub fn prices_as_of(&self) -> &str {
        self.sources.first().map_or("", |s| s.prices_as_of.as_str())
    }

    /// Every model, by id.
    pub fn models(&self) -> impl Iterator<Item = &ModelPrice> {
        self.models.values()
    }

    /// How many models the catalog holds.
    pub fn len(&self) -> usize {
        self.models.len()
    }

    /// Whether the catalog holds no model.
    pub fn is_empty(&self) -> bool {
        self.models.is_empty()
    }

    /// Finds the entry for a model name as a provider or a user writes it.
    ///
    /// In order: the exact id or an alias; the same after stripping a leading
    /// `~`, `openai/`, `anthropic/`, `google/`, `mistralai/` or `models/`; then a
    /// dated snapshot of a known id or alias, the longest match winning. A
    /// snapshot suffix is `-` or `@` followed by a date or version number in one
    /// of the shapes `YYYYMMDD`, `YYYY-MM-DD`, `MM-DD`, `MMDD` or `NNN`
    /// (`gpt-4o-2024-08-06`, `claude-sonnet-4-5-20250929`,
    /// `gemini-2.0-flash-001`). Anything else is `None`: the lookup never guesses
    /// a sibling.
    ///
    /// ```
    /// let catalog = llmvcr_cost::Catalog::embedded()?;
    /// let m = catalog.get("anthropic/claude-sonnet-4-5-20250929").unwrap();
    /// assert_eq!(m.id, "claude-sonnet-4-5");
    /// assert!(catalog.get("gpt-4o-turbo-ultra").is_none());
    /// # Ok::<(), llmvcr_cost::Error>(())
    /// ```
    pub fn get(&self, model: &str) -> Option<&ModelPrice> {
        let candidates = stripped(model);
        candidates
            .iter()
            .find_map(|c| self.exact(c))
            .or_else(|| candidates.iter().find_map(|c| self.snapshot(c)))
    }

    /// The cost of `usage` on `model` (see [`ModelPrice::cost`]); `None` when the
    /// model is unknown.
    pub fn cost(&self, model: &str, usage: &Usage) -> Option<Cost> {
        self.get(model).map(|m| m.cost(usage))
    }

    /// The most a call to `model` could cost (see [`ModelPrice::worst_case`]);
    /// `None` when the model is unknown or has no output bound.
    pub fn worst_case(
        &self,
        model: &str,
        estimated_input_tokens: u64,
        max_output_tokens: Option<u32>,
    ) -> Option<Cost> {
        self.get(model)?
            .worst_case(estimated_input_tokens, max_output_tokens)
    }

    fn exact(&self, name: &str) -> Option<&ModelPrice> {
        self.models
            .get(name)
            .or_else(|| self.aliases.get(name).and_then(|id| self.models.get(id)))
    }

    fn snapshot(&self, name: &str) -> Option<&ModelPrice> {
        self.models
            .keys()
            .chain(self.aliases.keys())
            .filter(|key| {
                name.strip_prefix(key.as_str())
                    .is_some_and(is_snapshot_suffix)
            })
            .max_by_key(|key| key.len())
            .and_then(|key| self.exact(key))
    }
}

/// The name, then the name with each further known prefix stripped.
fn stripped(model: &str) -> Vec<&str> {
    let mut out = vec![model];
    let mut rest = model;
    while let Some(next) = STRIPPED_PREFIXES.iter().find_map(|p| rest.strip_prefix(p)) {
        rest = next;
        out.push(rest);
    }
    out
}

/// Whether `s` is `-` or `@` and then a date or version in one of the shapes
/// `YYYYMMDD`, `YYYY-MM-DD`, `MM-DD`, `MMDD`, `NNN`.
fn is_snapshot_suffix(s: &str) -> bool {
    let Some(rest) = s.strip_prefix('-').or_else(|| s.strip_prefix('@')) else {
        return false;
    };
    let groups: Vec<usize> = rest.split('-').map(str::len).collect();
    let digits = rest
        .split('-')
        .all(|g| g.bytes().all(|b| b.is_ascii_digit()));
    digits && matches!(groups.as_slice(), [8] | [4, 2, 2] | [2, 2] | [4] | [3])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_suffix_shapes() {
        for ok in [
            "-20250929",
            "-2024-08-06",
            "-03-25",
            "-0528",
            "-001",
            "@20250929",
        ] {
            assert!(is_snapshot_suffix(ok), "{ok}");
        }
        for bad in [
            "",
            "-",
            "-1",
            "-5-20250929",
            "-mini-2024-07-18",
            "-latest",
            ":free",
            "-2024-8-6",
        ] {
            assert!(!is_snapshot_suffix(bad), "{bad}");
        }
    }

    #[test]
    fn strips_prefixes_in_turn() {
        assert_eq!(
            stripped("~anthropic/claude-opus-latest"),
            [
                "~anthropic/claude-opus-latest",
                "anthropic/claude-opus-latest",
                "claude-opus-latest"
            ]
        );
    }
}
