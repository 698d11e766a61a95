//! Integration tests of llmvcr-cost, built as one binary.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod attempts;
mod cassettes;
mod catalog;
mod pricing;
mod props;

use llmvcr_cost::Catalog;

/// A catalog from YAML lines under `models:`.
pub(crate) fn catalog(models: &str) -> Catalog {
    let text = format!("prices_as_of: 2026-11-15\ncurrency: USD\nmodels:\n{models}");
    Catalog::from_yaml(&text, "test.yaml").unwrap()
}
