//! Parsing, validation, merging and lookup.

use llmvcr_cost::{Catalog, Error};

use crate::catalog;

fn err(text: &str) -> String {
    let e = Catalog::from_yaml(text, "user-prices.yaml").unwrap_err();
    eprintln!("{e}");
    e.to_string()
}

const HEAD: &str = "prices_as_of: 2026-11-15\ncurrency: USD\nmodels:\n";

#[test]
fn the_embedded_catalog_parses_and_states_its_date() {
    let c = Catalog::embedded().unwrap();
    assert_eq!(c.prices_as_of(), "2026-11-15");
    assert_eq!(c.sources()[0].currency, "USD");
    assert!(c.len() >= 60);
    for m in c.models() {
        assert!(m.context_window.is_some(), "{} has no context_window", m.id);
        if m.estimated {
            assert!(m.note.is_some(), "{} is estimated without a note", m.id);
        }
    }
}

#[test]
fn bad_yaml_names_the_file() {
    let e = err(&format!("{HEAD}  gpt-x: {{provider: openai, input: 1\n"));
    assert!(e.starts_with("user-prices.yaml: "), "{e}");
    assert!(e.contains("line"), "{e}");
    let e = err("prices_as_of: [a, b]\ncurrency: USD\nmodels: {}\n");
    assert!(e.contains("prices_as_of"), "{e}");
}

#[test]
fn a_missing_price_names_the_file_and_the_model() {
    let e = err(&format!(
        "{HEAD}  gpt-x:\n    provider: openai\n    input: 1\n"
    ));
    assert!(e.starts_with("user-prices.yaml: "), "{e}");
    assert!(e.contains("gpt-x") && e.contains("output"), "{e}");
}

#[test]
fn a_negative_price_names_the_field() {
    let e = Catalog::from_yaml(
        &format!("{HEAD}  gpt-x:\n    provider: openai\n    input: -1\n    output: 2\n"),
        "user-prices.yaml",
    )
    .unwrap_err();
    match &e {
        Error::Invalid { origin, field, .. } => {
            assert_eq!(origin, "user-prices.yaml");
            assert_eq!(field, "models.gpt-x.input");
        }
        other => panic!("{other:?}"),
    }
    assert!(e.to_string().contains("-1 is not a price"), "{e}");
}

#[test]
fn an_unknown_field_names_the_model_and_the_field() {
    let e = err(&format!(
        "{HEAD}  gpt-x:\n    provider: openai\n    input: 1\n    output: 2\n    cahced_input: 0.5\n"
    ));
    assert!(e.starts_with("user-prices.yaml: "), "{e}");
    assert!(e.contains("gpt-x") && e.contains("cahced_input"), "{e}");
}

#[test]
fn other_currencies_and_duplicate_aliases_are_refused() {
    let e = err("prices_as_of: 2026-11-15\ncurrency: EUR\nmodels: {}\n");
    assert!(e.contains("currency"), "{e}");
    let e = err(&format!(
        "{HEAD}  a: {{provider: p, input: 1, output: 1, aliases: [x]}}\n  b: {{provider: p, input: 1, output: 1, aliases: [x]}}\n"
    ));
    assert!(e.contains("models.b.aliases") && e.contains("`x`"), "{e}");
    let e = err(&format!(
        "{HEAD}  a: {{provider: p, input: 1, output: 1, aliases: [b]}}\n  b: {{provider: p, input: 1, output: 1}}\n"
    ));
    assert!(e.contains("also a model id"), "{e}");
}

#[test]
fn load_names_a_missing_file() {
    let e = Catalog::load("/nonexistent/prices.yaml").unwrap_err();
    assert!(
        e.to_string()
            .starts_with("/nonexistent/prices.yaml: cannot read"),
        "{e}"
    );
}

#[test]
fn load_reads_a_file() {
    let path = std::env::temp_dir().join(format!("llmvcr-cost-{}.yaml", std::process::id()));
    std::fs::write(
        &path,
        format!("{HEAD}  x: {{provider: p, input: 1, output: 2}}\n"),
    )
    .unwrap();
    let c = Catalog::load(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    assert_eq!(c.sources()[0].origin, path.display().to_string());
    assert!(c.get("x").is_some());
}

#[test]
fn the_user_file_wins_and_replaced_aliases_go_with_their_entry() {
    let base = catalog(
        "  a: {provider: p, input: 1, output: 1, aliases: [a-alias]}\n  b: {provider: p, input: 1, output: 1, aliases: [shared]}\n",
    );
    let user = catalog(
        "  a: {provider: p, input: 9, output: 9}\n  c: {provider: p, input: 2, output: 2, aliases: [shared]}\n",
    );
    let m = base.merged_with(&user);
    assert_eq!(m.get("a").unwrap().input.as_usd_per_mtok(), 9.0);
    assert!(m.get("a-alias").is_none());
    assert_eq!(m.get("shared").unwrap().id, "c");
    assert_eq!(m.get("b").unwrap().id, "b");
    assert_eq!(m.len(), 3);
    assert_eq!(m.sources().len(), 2);
}

#[test]
fn lookup_by_id_alias_prefix_and_snapshot() {
    let c = Catalog::embedded().unwrap();
    let id = |name: &str| c.get(name).map(|m| m.id.clone());
    let cases = [
        ("gpt-4o", "gpt-4o"),
        ("gpt-4o-2024-08-06", "gpt-4o"),
        ("gpt-4o-mini-2024-07-18", "gpt-4o-mini"),
        ("openai/gpt-4o-mini", "gpt-4o-mini"),
        ("claude-sonnet-4-5-20250929", "claude-sonnet-4-5"),
        ("claude-sonnet-4-20250514", "claude-sonnet-4-0"),
        ("anthropic/claude-4.5-sonnet-20250929", "claude-sonnet-4-5"),
        ("anthropic/claude-sonnet-4.5", "claude-sonnet-4-5"),
        ("claude-sonnet-4-5@20250929", "claude-sonnet-4-5"),
        ("~anthropic/claude-opus-latest", "claude-opus-5-5"),
        ("models/gemini-2.5-flash", "gemini-2.5-flash"),
        ("models/gemini-2.5-pro-preview-03-25", "gemini-2.5-pro"),
        ("gemini-2.0-flash-001", "gemini-2.0-flash"),
        ("models/gemini-embedding-2-preview", "gemini-embedding-2"),
        ("gpt-oss-120b", "openai/gpt-oss-120b"),
        ("o3-mini-2025-01-31", "o3-mini"),
    ];
    for (name, want) in cases {
        assert_eq!(id(name).as_deref(), Some(want), "{name}");
    }
}

#[test]
fn unknown_models_are_none_never_a_sibling() {
    let c = Catalog::embedded().unwrap();
    for name in [
        "gpt-4o-turbo",
        "gpt-5.7-sol",
        "claude-sonnet-4-9",
        "claude-sonnet-4-9-20260101",
        "google/gemini-2.5-flash:free",
        "gemini-2.5-flash-latest",
        "",
        "models/",
    ] {
        assert!(
            c.get(name).is_none(),
            "{name} resolved to {:?}",
            c.get(name).map(|m| &m.id)
        );
    }
}
