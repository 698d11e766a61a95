//! `llmvcr cassette import | export | lint | show | diff`.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Subcommand, ValueEnum};
use llmvcr::cassette::convert::{stream_bytes, to_recorded};
use llmvcr::cassette::write::write_atomic;
use llmvcr::cassette::{
    Cassette, Finding, Interaction, Redactor, Scanner, load_any, save, to_vcrpy,
};
use llmvcr::inspect::{prompt, summarize};
use serde_json::Value;

use crate::expand_paths;

/// The cassette subcommands that read, convert and check files.
#[derive(Debug, Subcommand)]
pub(crate) enum ManageCommand {
    /// Convert cassettes to format v1, with credentials replaced by placeholders.
    ///
    /// Reads every format llmvcr knows (VCR.py YAML in every dialect,
    /// vcr-cassette/rvcr JSON, format v1), and runs the secret scanner before
    /// anything is written.
    Import {
        /// Cassette files, or folders to search for *.yaml, *.yml and *.json files.
        #[arg(required = true)]
        sources: Vec<PathBuf>,
        /// The folder to write to: DIR/<same file name>, with `.json` becoming `.yaml`.
        #[arg(long)]
        out: PathBuf,
    },
    /// Write cassettes in another recorder's format.
    Export {
        /// Cassette files, or folders, in any format llmvcr reads.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// The format to write.
        #[arg(long, value_enum)]
        to: ExportFormat,
        /// The folder to write to: DIR/<same file name>.
        #[arg(long)]
        out: PathBuf,
    },
    /// Check cassettes for secrets and schema errors.
    ///
    /// Exits non-zero on any finding, naming the file, the interaction and the
    /// location.
    Lint {
        /// Cassette files, or folders to search for *.yaml, *.yml and *.json files.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// Print a readable view of a cassette: method, URL, status, prompt, answer, tokens.
    Show {
        /// A cassette in any format llmvcr reads.
        file: PathBuf,
    },
    /// Compare two cassettes interaction by interaction, by JSON path. Exits 1 when
    /// they differ.
    Diff {
        /// The first cassette.
        a: PathBuf,
        /// The second cassette.
        b: PathBuf,
    },
}

/// Formats `export` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ExportFormat {
    /// VCR.py YAML, `string` dialect.
    Vcrpy,
}

pub(crate) fn run(command: ManageCommand, out: &mut dyn Write) -> io::Result<ExitCode> {
    match command {
        ManageCommand::Import { sources, out: dir } => import(&sources, &dir, out),
        ManageCommand::Export {
            files,
            to,
            out: dir,
        } => export(&files, to, &dir, out),
        ManageCommand::Lint { paths } => lint(&paths, out),
        ManageCommand::Show { file } => show(&file, out),
        ManageCommand::Diff { a, b } => diff(&a, &b, out),
    }
}

fn status(failed: bool) -> ExitCode {
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

fn report(out: &mut dyn Write, message: impl std::fmt::Display) -> io::Result<()> {
    out.flush()?;
    writeln!(io::stderr(), "error: {message}")
}

/// The scanner for writing and linting: the providers' rules and the secret
/// variables of this environment.
fn redactor_and_scanner() -> (Redactor, Scanner) {
    let rules = llmvcr::testing::secret_rules();
    let redactor = Redactor::from_env(&rules);
    let scanner = Scanner::new(&rules, &redactor);
    (redactor, scanner)
}

/// `DIR/<file name>`, with a `.json` extension replaced by `.yaml`.
fn target(dir: &Path, source: &Path) -> Option<PathBuf> {
    let name = source.file_name()?;
    let mut path = dir.join(name);
    if source
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"))
    {
        path.set_extension("yaml");
    }
    Some(path)
}

/// Pairs each source file with its target, refusing two sources that would write
/// the same file.
fn plan(
    paths: &[PathBuf],
    dir: &Path,
    out: &mut dyn Write,
) -> io::Result<(Vec<(PathBuf, PathBuf)>, bool)> {
    let mut failed = false;
    let mut seen: BTreeMap<PathBuf, PathBuf> = BTreeMap::new();
    let mut jobs = Vec::new();
    for source in expand_paths(paths) {
        let Some(dest) = target(dir, &source) else {
            report(out, format!("{}: not a file", source.display()))?;
            failed = true;
            continue;
        };
        if let Some(first) = seen.get(&dest) {
            report(
                out,
                format!(
                    "{}: would overwrite {}, already written from {}",
                    source.display(),
                    dest.display(),
                    first.display()
                ),
            )?;
            failed = true;
            continue;
        }
        seen.insert(dest.clone(), source.clone());
        jobs.push((source, dest));
    }
    Ok((jobs, failed))
}

fn import(sources: &[PathBuf], dir: &Path, out: &mut dyn Write) -> io::Result<ExitCode> {
    let (redactor, scanner) = redactor_and_scanner();
    let (jobs, mut failed) = plan(sources, dir, out)?;
    for (source, dest) in jobs {
        let mut cassette = match load_any(&source, &llmvcr::cassette_stream_urls()) {
            Ok(cassette) => cassette,
            Err(e) => {
                report(out, e)?;
                failed = true;
                continue;
            }
        };
        for interaction in &mut cassette.interactions {
            redactor.redact_interaction(interaction);
        }
        match save(&dest, &cassette, &scanner) {
            Ok(()) => writeln!(
                out,
                "{} -> {} ({} interactions)",
                source.display(),
                dest.display(),
                cassette.interactions.len()
            )?,
            Err(e) => {
                report(out, format!("{}: {e}", source.display()))?;
                failed = true;
            }
        }
    }
    Ok(status(failed))
}

fn export(
    files: &[PathBuf],
    to: ExportFormat,
    dir: &Path,
    out: &mut dyn Write,
) -> io::Result<ExitCode> {
    let (_, scanner) = redactor_and_scanner();
    let (jobs, mut failed) = plan(files, dir, out)?;
    for (source, dest) in jobs {
        let written = load_any(&source, &llmvcr::cassette_stream_urls()).and_then(|cassette| {
            let findings = scanner.scan_cassette(&cassette);
            if !findings.is_empty() {
                return Err(llmvcr::cassette::CassetteError::Secret {
                    file: source.display().to_string(),
                    findings,
                });
            }
            let text = match to {
                ExportFormat::Vcrpy => to_vcrpy(&cassette)?,
            };
            write_atomic(&dest, text.as_bytes())?;
            Ok(cassette.interactions.len())
        });
        match written {
            Ok(count) => writeln!(
                out,
                "{} -> {} ({count} interactions)",
                source.display(),
                dest.display()
            )?,
            Err(e) => {
                report(out, e)?;
                failed = true;
            }
        }
    }
    Ok(status(failed))
}

fn lint(paths: &[PathBuf], out: &mut dyn Write) -> io::Result<ExitCode> {
    let (_, scanner) = redactor_and_scanner();
    let files = expand_paths(paths);
    let (mut problems, mut interactions) = (0usize, 0usize);
    for path in &files {
        let name = path.display().to_string();
        // Every decoded value (bodies after base64 and gzip, YAML scalars
        // after folding), then the raw text as a backstop for what the
        // readers do not keep (comments, fields other recorders add) and
        // for files they cannot read; a credential found both ways is
        // reported once.
        // The raw text is scanned first and let go, so the file's text and
        // the cassette read from it are not both held.
        let raw = std::fs::read(path)
            .ok()
            .map(|bytes| scanner.scan_text(&String::from_utf8_lossy(&bytes)));
        let mut findings = match load_any(path, &llmvcr::cassette_stream_urls()) {
            Ok(cassette) => {
                interactions += cassette.interactions.len();
                scanner.scan_cassette(&cassette)
            }
            Err(e) => {
                writeln!(out, "{e}")?;
                problems += 1;
                Vec::new()
            }
        };
        // Unreadable: already reported by the reader.
        for raw in raw.into_iter().flatten() {
            if !findings.iter().any(|f| f.same_secret(&raw)) {
                findings.push(raw);
            }
        }
        for finding in &findings {
            writeln!(out, "{name}: {}", describe(finding))?;
        }
        problems += findings.len();
    }
    writeln!(
        out,
        "{} file{}, {interactions} interactions: {}",
        files.len(),
        if files.len() == 1 { "" } else { "s" },
        if problems == 0 {
            "no findings".to_owned()
        } else {
            format!("{problems} finding{}", if problems == 1 { "" } else { "s" })
        }
    )?;
    Ok(status(problems > 0))
}

fn describe(finding: &Finding) -> String {
    let mut out = String::new();
    if let Some(index) = finding.interaction {
        out.push_str(&format!("interaction {index}: "));
    }
    out.push_str(&format!(
        "{}: possible secret, {} ({})",
        finding.location, finding.kind, finding.excerpt
    ));
    out
}

fn show(file: &Path, out: &mut dyn Write) -> io::Result<ExitCode> {
    let name = file.display().to_string();
    let cassette = match load_any(file, &llmvcr::cassette_stream_urls()) {
        Ok(cassette) => cassette,
        Err(e) => {
            report(out, e)?;
            return Ok(ExitCode::FAILURE);
        }
    };
    let count = cassette.interactions.len();
    writeln!(
        out,
        "{name}: {count} interaction{}",
        if count == 1 { "" } else { "s" }
    )?;
    for (index, interaction) in cassette.interactions.iter().enumerate() {
        writeln!(out)?;
        show_interaction(&name, index, interaction, out)?;
    }
    Ok(ExitCode::SUCCESS)
}

fn show_interaction(
    name: &str,
    index: usize,
    interaction: &Interaction,
    out: &mut dyn Write,
) -> io::Result<()> {
    let recorded = to_recorded(interaction);
    let summary = summarize(name, index, &recorded);
    let request = &interaction.request;
    writeln!(out, "#{index} {} {}", request.method, request.url)?;
    let mut facts = vec![
        summary.status.to_string(),
        summary.provider.to_string(),
        summary.api.to_string(),
    ];
    if let Some(model) = &summary.model {
        facts.push(model.clone());
    }
    if let Some(stream) = &interaction.response.stream {
        let last = stream.frames.last().map_or(0, |f| f.at_ms);
        facts.push(format!(
            "stream: {} frames over {last} ms ({} bytes)",
            stream.frames.len(),
            stream_bytes(stream).len()
        ));
    }
    if let Some(at) = &interaction.recorded_at {
        facts.push(format!("recorded {at}"));
    }
    writeln!(out, "   {}", facts.join("  "))?;
    if let Some(prompt) = prompt(&recorded) {
        writeln!(out, "   prompt: {}", shorten(&prompt, 100))?;
    }
    let mut answer = Vec::new();
    if !summary.text.is_empty() {
        answer.push(summary.text.clone());
    }
    for call in &summary.tool_calls {
        answer.push(format!("{}({})", call.name, call.arguments));
    }
    if !answer.is_empty() {
        writeln!(out, "   answer: {}", shorten(&answer.join(" "), 100))?;
    }
    if let Some(error) = &summary.error {
        writeln!(
            out,
            "   error: {}: {}",
            error.kind,
            shorten(&error.message, 100)
        )?;
    }
    let mut tokens = Vec::new();
    if let Some(usage) = summary.usage {
        tokens.push(format!(
            "{} in, {} out",
            usage.input_tokens, usage.output_tokens
        ));
    }
    if let Some(finish) = &summary.finish_reason {
        tokens.push(format!("finish: {finish}"));
    }
    if !tokens.is_empty() {
        writeln!(out, "   tokens: {}", tokens.join("  "))?;
    }
    Ok(())
}

/// One line, at most `max` characters.
fn shorten(text: &str, max: usize) -> String {
    let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= max {
        return flat;
    }
    let mut out: String = flat.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

fn diff(a: &Path, b: &Path, out: &mut dyn Write) -> io::Result<ExitCode> {
    let load = |path: &Path| load_any(path, &llmvcr::cassette_stream_urls());
    let (left, right) = match (load(a), load(b)) {
        (Ok(left), Ok(right)) => (left, right),
        (left, right) => {
            for e in [left.err(), right.err()].into_iter().flatten() {
                report(out, e)?;
            }
            return Ok(ExitCode::from(2));
        }
    };
    let differences = cassette_differences(&left, &right);
    for line in &differences {
        writeln!(out, "{line}")?;
    }
    if differences.is_empty() {
        writeln!(out, "same: {} interactions", left.interactions.len())?;
        Ok(ExitCode::SUCCESS)
    } else {
        Ok(ExitCode::FAILURE)
    }
}

/// Differences between two cassettes, interaction by interaction, each as
/// `#index path: left -> right`.
fn cassette_differences(left: &Cassette, right: &Cassette) -> Vec<String> {
    let mut lines = Vec::new();
    let count = left.interactions.len().max(right.interactions.len());
    for index in 0..count {
        match (left.interactions.get(index), right.interactions.get(index)) {
            (Some(a), Some(b)) => {
                let mut found = Vec::new();
                json_diff(String::new(), &as_json(a), &as_json(b), &mut found);
                for (path, x, y) in found {
                    lines.push(format!("#{index} {path}: {x} -> {y}"));
                }
            }
            (Some(a), None) => lines.push(format!(
                "#{index} only in the first: {} {}",
                a.request.method, a.request.url
            )),
            (None, Some(b)) => lines.push(format!(
                "#{index} only in the second: {} {}",
                b.request.method, b.request.url
            )),
            (None, None) => {}
        }
    }
    lines
}

fn as_json(interaction: &Interaction) -> Value {
    serde_json::to_value(interaction).unwrap_or(Value::Null)
}

/// Collects `(path, left, right)` for every leaf where two values differ; a value
/// present on one side only shows `(absent)` on the other.
fn json_diff(path: String, a: &Value, b: &Value, out: &mut Vec<(String, String, String)>) {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for (key, value) in x {
                let at = join(&path, key);
                match y.get(key) {
                    Some(other) => json_diff(at, value, other, out),
                    None => out.push((at, short_json(value), "(absent)".to_owned())),
                }
            }
            for (key, value) in y {
                if !x.contains_key(key) {
                    out.push((join(&path, key), "(absent)".to_owned(), short_json(value)));
                }
            }
        }
        (Value::Array(x), Value::Array(y)) => {
            for n in 0..x.len().max(y.len()) {
                let at = format!("{path}[{n}]");
                match (x.get(n), y.get(n)) {
                    (Some(p), Some(q)) => json_diff(at, p, q, out),
                    (Some(p), None) => out.push((at, short_json(p), "(absent)".to_owned())),
                    (None, Some(q)) => out.push((at, "(absent)".to_owned(), short_json(q))),
                    (None, None) => {}
                }
            }
        }
        _ if a == b => {}
        _ => out.push((path, short_json(a), short_json(b))),
    }
}

fn join(path: &str, key: &str) -> String {
    let simple = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == '-');
    let segment = if simple {
        key.to_owned()
    } else {
        format!("[{}]", Value::String(key.to_owned()))
    };
    if path.is_empty() {
        segment
    } else if simple {
        format!("{path}.{segment}")
    } else {
        format!("{path}{segment}")
    }
}

fn short_json(value: &Value) -> String {
    shorten(&value.to_string(), 60)
}
