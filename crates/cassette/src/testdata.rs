//! The repository's cassettes, for tests.

use std::path::PathBuf;

/// Every format v1 cassette in the repository, sorted.
pub(crate) fn v1_files() -> Vec<PathBuf> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut dirs = vec![
        root.join("cassettes"),
        root.join("scenarios/cassettes"),
        root.join("crates/llmvcr/cassettes"),
    ];
    let mut files = Vec::new();
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "yaml")
                && std::fs::read_to_string(&path)
                    .is_ok_and(|text| text.lines().any(|line| line.starts_with("llmvcr:")))
            {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}
