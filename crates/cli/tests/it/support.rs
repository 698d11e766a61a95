//! Helpers shared by the CLI tests: the binary, the repository, scratch folders.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A real recording with a streamed tool call, under `cassettes/real/`.
pub(crate) const TOOL_STREAM: &str = "anthropic/simonw__llm-anthropic__cassettes__test_anthropic__test_stream_events_tool_calls.yaml";

pub(crate) fn llmvcr() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_llmvcr"));
    // The children see no secret variable unless a test sets one.
    for (name, _) in std::env::vars_os() {
        let upper = name.to_string_lossy().to_ascii_uppercase();
        if ["_API_KEY", "_TOKEN", "_SECRET"]
            .iter()
            .any(|s| upper.ends_with(s))
        {
            command.env_remove(name);
        }
    }
    command
}

pub(crate) fn repo(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(rel)
}

pub(crate) fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("llmvcr-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

pub(crate) fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).unwrap()
}

pub(crate) fn run(command: &mut Command) -> (Option<i32>, String, String) {
    let Output {
        status,
        stdout,
        stderr,
    } = command.output().unwrap();
    (status.code(), text(&stdout), text(&stderr))
}
