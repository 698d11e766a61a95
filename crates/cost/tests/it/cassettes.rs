//! The embedded catalog prices every model that appears in the real cassettes.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use base64::Engine;
use llmvcr_cost::Catalog;
use yaml_serde::Value;

const REAL: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../cassettes/real");

/// Model names found in one cassette, and where.
type Found = BTreeMap<String, PathBuf>;

#[test]
fn every_model_in_the_real_cassettes_resolves() {
    let mut found = Found::new();
    let mut files = 0;
    for path in yaml_files(Path::new(REAL)) {
        files += 1;
        let text = std::fs::read_to_string(&path).unwrap();
        let doc: Value =
            yaml_serde::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let interactions = doc.get("interactions").and_then(Value::as_sequence);
        for it in interactions.into_iter().flatten() {
            if let Some(uri) = it
                .get("request")
                .and_then(|r| r.get("uri"))
                .and_then(Value::as_str)
            {
                for model in models_in_uri(uri) {
                    found.entry(model).or_insert_with(|| path.clone());
                }
            }
            walk(it, &path, &mut found);
        }
    }
    assert!(files >= 100, "only {files} cassettes under {REAL}");
    assert!(
        found.len() >= 40,
        "only {} model names found: {found:?}",
        found.len()
    );

    let catalog = Catalog::embedded().unwrap();
    let missing: Vec<String> = found
        .iter()
        .filter(|(name, _)| catalog.get(name).is_none())
        .map(|(name, path)| format!("{name} (in {})", path.display()))
        .collect();
    assert!(
        missing.is_empty(),
        "models without a price:\n{}",
        missing.join("\n")
    );
    eprintln!(
        "{} model names in {files} cassettes all resolve",
        found.len()
    );
}

fn yaml_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(yaml_files(&path));
        } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            out.push(path);
        }
    }
    out.sort();
    out
}

/// `.../models/gemini-2.5-flash:generateContent` gives `models/gemini-2.5-flash`.
fn models_in_uri(uri: &str) -> Vec<String> {
    uri.match_indices("/models/")
        .map(|(i, m)| {
            let rest = &uri[i + m.len()..];
            let end = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_')))
                .unwrap_or(rest.len());
            format!("models/{}", &rest[..end])
        })
        .filter(|m| m.len() > "models/".len())
        .collect()
}

/// Collects the string values of `model` and `modelVersion` keys, looking inside
/// JSON bodies, SSE `data:` lines and gzipped `!!binary` bodies.
fn walk(v: &Value, path: &Path, found: &mut Found) {
    match v {
        Value::Mapping(map) => {
            for (k, x) in map {
                if let (Some("model" | "modelVersion"), Some(name)) = (k.as_str(), x.as_str()) {
                    found
                        .entry(name.to_owned())
                        .or_insert_with(|| path.to_owned());
                }
                walk(x, path, found);
            }
        }
        Value::Sequence(items) => items.iter().for_each(|x| walk(x, path, found)),
        Value::Tagged(t) => match t.value.as_str().and_then(gunzip_base64) {
            Some(text) => walk_text(&text, path, found),
            None => walk(&t.value, path, found),
        },
        Value::String(s) => match gunzip_base64(s) {
            Some(text) => walk_text(&text, path, found),
            None => walk_text(s, path, found),
        },
        _ => {}
    }
}

fn walk_text(s: &str, path: &Path, found: &mut Found) {
    let trimmed = s.trim();
    if (trimmed.starts_with('{') || trimmed.starts_with('['))
        && let Ok(json) = serde_json::from_str::<serde_json::Value>(trimmed)
    {
        walk_json(&json, path, found);
        return;
    }
    for line in s.lines() {
        if let Some(data) = line.trim().strip_prefix("data:")
            && let Ok(json) = serde_json::from_str::<serde_json::Value>(data.trim())
        {
            walk_json(&json, path, found);
        }
    }
}

fn walk_json(v: &serde_json::Value, path: &Path, found: &mut Found) {
    match v {
        serde_json::Value::Object(map) => {
            for (k, x) in map {
                if let ("model" | "modelVersion", Some(name)) = (k.as_str(), x.as_str()) {
                    found
                        .entry(name.to_owned())
                        .or_insert_with(|| path.to_owned());
                }
                walk_json(x, path, found);
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|x| walk_json(x, path, found)),
        serde_json::Value::String(s) => walk_text(s, path, found),
        _ => {}
    }
}

/// The text of a base64 gzip body (how the recorders store `!!binary`).
fn gunzip_base64(b64: &str) -> Option<String> {
    if !b64.trim_start().starts_with("H4sI") {
        return None;
    }
    let compact: String = b64.split_whitespace().collect();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(compact)
        .ok()?;
    let mut text = String::new();
    flate2::read::GzDecoder::new(bytes.as_slice())
        .read_to_string(&mut text)
        .ok()?;
    Some(text)
}

#[test]
fn the_scan_finds_models_in_every_body_dialect() {
    // A gzipped `!!binary` body, a JSON string body, and a Gemini URI.
    let mut found = Found::new();
    let path = Path::new("x");
    let doc: Value = yaml_serde::from_str(
        "a:\n  string: !!binary |\n    H4sIAAAAAAACA6tWys1PSc1RslJKT83NzMvUNdIz1S0oyleqBQBpESmXGgAAAA==\nb: '{\"model\":\"gpt-4o\"}'\n",
    )
    .unwrap();
    walk(&doc, path, &mut found);
    assert!(
        found.contains_key("gpt-4o") && found.contains_key("gemini-2.5-pro"),
        "{found:?}"
    );
    assert_eq!(
        models_in_uri("https://x/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse"),
        ["models/gemini-2.5-flash"]
    );
}
