//! `llmvcr cassette inspect`.

use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use llmvcr::inspect::{InteractionSummary, summarize};

use crate::{Format, expand_paths};

pub(crate) fn run(paths: &[PathBuf], format: Format, out: &mut dyn Write) -> io::Result<ExitCode> {
    let mut failed = false;
    let files = expand_paths(paths);
    let mut rows = Vec::new();
    for path in &files {
        let name = path.display().to_string();
        let interactions = match llmvcr::cassette::read_recorded(path) {
            Ok(i) => i,
            Err(e) => {
                failed = true;
                out.flush()?;
                writeln!(io::stderr(), "error: {e}")?;
                continue;
            }
        };
        for (index, interaction) in interactions.iter().enumerate() {
            let summary = summarize(&name, index, interaction);
            match format {
                Format::Json => {
                    let line = serde_json::to_string(&summary).map_err(io::Error::other)?;
                    writeln!(out, "{line}")?;
                }
                Format::Table => rows.push(summary),
            }
        }
    }
    if format == Format::Table {
        print_table(&rows, out)?;
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

fn print_table(rows: &[InteractionSummary], out: &mut dyn Write) -> io::Result<()> {
    let mut current_file: Option<&str> = None;
    for r in rows {
        if current_file != Some(r.file.as_str()) {
            if current_file.is_some() {
                writeln!(out)?;
            }
            writeln!(out, "{}", r.file)?;
            writeln!(
                out,
                "  {:>3}  {:>3}  {:<10} {:<16} {:<6} {:<28} {:>7} {:>7}  {:<14} answer",
                "#", "st", "provider", "api", "stream", "model", "in", "out", "finish"
            )?;
            current_file = Some(r.file.as_str());
        }
        let (input, output) = match r.usage {
            Some(u) => (u.input_tokens.to_string(), u.output_tokens.to_string()),
            None => ("-".into(), "-".into()),
        };
        let answer = match &r.error {
            Some(e) => format!("ERROR {}: {}", e.kind, e.message),
            None => {
                let mut parts = Vec::new();
                if !r.text.is_empty() {
                    parts.push(format!("{:?}", r.text));
                }
                for c in &r.tool_calls {
                    parts.push(format!("{}({})", c.name, c.arguments));
                }
                parts.join(" ")
            }
        };
        writeln!(
            out,
            "  {:>3}  {:>3}  {:<10} {:<16} {:<6} {:<28} {:>7} {:>7}  {:<14} {}",
            r.index,
            r.status,
            r.provider,
            r.api,
            if r.stream { "yes" } else { "no" },
            shorten(r.model.as_deref().unwrap_or("-"), 28),
            input,
            output,
            shorten(r.finish_reason.as_deref().unwrap_or("-"), 14),
            shorten(&answer.replace('\n', " "), 70),
        )?;
    }
    Ok(())
}

fn shorten(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}
