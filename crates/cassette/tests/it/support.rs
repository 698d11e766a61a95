//! Helpers shared by the tests: the repository's cassettes.

use std::path::{Path, PathBuf};

/// The repository root.
pub(crate) fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A file under `crates/cassette/tests/data/`.
pub(crate) fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

/// Every file with extension `ext` under `dir`, recursively, sorted.
pub(crate) fn files_under(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut dirs = vec![dir.to_path_buf()];
    let mut files = Vec::new();
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == ext) {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// Every original YAML recording under `cassettes/real/`, sorted.
pub(crate) fn real_yaml() -> Vec<PathBuf> {
    files_under(&root().join("cassettes/real"), "yaml")
}

/// Every original recording under `cassettes/real/`, sorted.
pub(crate) fn real_cassettes() -> Vec<PathBuf> {
    let mut files = files_under(&root().join("cassettes/real"), "yaml");
    files.extend(files_under(&root().join("cassettes/real"), "json"));
    files.sort();
    files
}

/// Every format v1 cassette in the repository, sorted.
pub(crate) fn v1_cassettes() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = [
        "cassettes",
        "scenarios/cassettes",
        "crates/llmvcr/cassettes",
    ]
    .iter()
    .flat_map(|dir| files_under(&root().join(dir), "yaml"))
    .filter(|path| {
        std::fs::read_to_string(path)
            .is_ok_and(|text| text.lines().any(|line| line.starts_with("llmvcr:")))
    })
    .collect();
    files.sort();
    files
}
