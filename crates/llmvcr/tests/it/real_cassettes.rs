//! Every real recording in `cassettes/real/` goes through the cassette reader and the
//! adapters; the decoded summary of every interaction is kept in a reviewed snapshot,
//! one snapshot per provider folder, one JSON line per interaction.

use std::path::{Path, PathBuf};

use llmvcr::inspect::{InteractionSummary, summarize};

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../cassettes/real")
}

fn files(folder: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(corpus().join(folder))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    files
}

fn summaries(folder: &str) -> Vec<InteractionSummary> {
    let mut out = Vec::new();
    for path in files(folder) {
        let name = format!("{folder}/{}", path.file_name().unwrap().to_string_lossy());
        let interactions =
            llmvcr::cassette::import::read_any(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(!interactions.is_empty(), "{name}: no interactions");
        for (i, interaction) in interactions.iter().enumerate() {
            out.push(summarize(&name, i, interaction));
        }
    }
    out
}

fn check(folder: &str) {
    let rows = summaries(folder);
    let mut lines = String::new();
    for r in &rows {
        // Every recording here is a successful call: nothing may fail to decode.
        assert!(r.error.is_none(), "{} #{}: {:?}", r.file, r.index, r.error);
        assert_eq!(r.status, 200, "{} #{}", r.file, r.index);
        if matches!(
            r.api,
            "chat_completions" | "responses" | "messages" | "generate_content"
        ) {
            assert!(
                r.usage.is_some(),
                "{} #{}: chat call without usage",
                r.file,
                r.index
            );
            assert!(r.model.is_some(), "{} #{}: no model", r.file, r.index);
            // Some recordings carry no finish reason at all (a stream whose chunks all
            // say null); those must still have produced text or a tool call.
            assert!(
                !r.text.is_empty() || !r.tool_calls.is_empty() || r.finish_reason.is_some(),
                "{} #{}: empty answer",
                r.file,
                r.index
            );
        }
        lines.push_str(&serde_json::to_string(r).unwrap());
        lines.push('\n');
    }
    insta::assert_snapshot!(folder, lines);
}

#[test]
fn anthropic() {
    check("anthropic");
}

#[test]
fn azure() {
    check("azure");
}

#[test]
fn gemini() {
    check("gemini");
}

#[test]
fn groq() {
    check("groq");
}

#[test]
fn mistral() {
    check("mistral");
}

#[test]
fn openai() {
    check("openai");
}

#[test]
fn openrouter() {
    check("openrouter");
}

/// The manifest lists every file; each is read and has as many interactions as it has
/// statuses listed.
#[test]
fn manifest_matches_the_corpus() {
    let manifest = std::fs::read_to_string(corpus().join("MANIFEST.tsv")).unwrap();
    let mut total = 0;
    for line in manifest.lines().skip(1) {
        let cols: Vec<&str> = line.split('\t').collect();
        let path = corpus().join(cols[0]);
        let interactions = llmvcr::cassette::import::read_any(&path).unwrap();
        let statuses: Vec<u16> = cols[6].split(',').map(|s| s.parse().unwrap()).collect();
        let got: Vec<u16> = interactions.iter().map(|i| i.response.status).collect();
        assert_eq!(got, statuses, "{}", cols[0]);
        total += interactions.len();
    }
    assert_eq!(total, 213);
}
