//! The `llmvcr` command-line tool: thin glue over the `llmvcr` crates.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

mod cassette;
mod inspect;
mod scenario;
mod tokens;

/// Record, replay and inspect LLM provider traffic.
#[derive(Debug, Parser)]
#[command(name = "llmvcr", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Work with cassettes.
    Cassette {
        #[command(subcommand)]
        command: CassetteCommand,
    },
    /// Run fault scenarios in virtual time.
    Scenario {
        #[command(subcommand)]
        command: scenario::ScenarioCommand,
    },
    /// Count tokens, and check counts against recorded usage.
    Tokens {
        #[command(subcommand)]
        command: tokens::TokensCommand,
    },
}

#[derive(Debug, Subcommand)]
enum CassetteCommand {
    /// Decode every interaction of cassettes: provider, API, model, text, tool calls,
    /// usage, finish reason, error.
    Inspect {
        /// Cassette files, or folders to search for *.yaml, *.yml and *.json files.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    #[command(flatten)]
    Manage(cassette::ManageCommand),
}

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    /// A readable table.
    Table,
    /// One JSON object per interaction per line.
    Json,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let stdout = io::stdout();
    let mut out = stdout.lock();
    let result = match cli.command {
        Command::Cassette {
            command: CassetteCommand::Inspect { paths, format },
        } => inspect::run(&paths, format, &mut out),
        Command::Cassette {
            command: CassetteCommand::Manage(command),
        } => cassette::run(command, &mut out),
        Command::Scenario { command } => scenario::run(command, &mut out),
        Command::Tokens { command } => tokens::run(command, &mut out),
    };
    match result {
        Ok(code) => code,
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            let _ = writeln!(io::stderr(), "error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Expands folders into the cassette files inside them, sorted; files pass through.
fn expand_paths(paths: &[PathBuf]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut found = Vec::new();
            walk(p, &mut found);
            found.sort();
            out.extend(found);
        } else {
            out.push(p.clone());
        }
    }
    out
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        out.push(dir.to_path_buf());
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            walk(&path, out);
        } else if matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("yaml" | "yml" | "json")
        ) {
            out.push(path);
        }
    }
}
