//! `llmvcr scenario run`.

use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Subcommand;
use indicatif::{ProgressBar, ProgressStyle};
use llmvcr_scenario::{RunOptions, ScenarioError, ScenarioReport, run_file_with, scenario_files};

/// `llmvcr scenario ...`
#[derive(Debug, Subcommand)]
pub(crate) enum ScenarioCommand {
    /// Run fault scenarios offline, in virtual time, and check their expectations.
    Run {
        /// Scenario files, or folders holding *.yaml files.
        #[arg(default_value = "scenarios")]
        paths: Vec<PathBuf>,
        /// `json`: print the reports as one JSON document on stdout; the table then
        /// goes to stderr.
        #[arg(long, value_enum)]
        report: Option<ReportFormat>,
        /// Also write the JSON report to this file.
        #[arg(long, value_name = "FILE")]
        report_file: Option<PathBuf>,
        /// A folder searched for cassettes whose relative path is not found next to
        /// the scenario file (before the project root). May be repeated.
        #[arg(long = "cassettes", value_name = "DIR")]
        cassettes: Vec<PathBuf>,
        /// Run each scenario N times; a scenario whose reports differ fails.
        #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
        repeat: u32,
    },
}

/// Machine-readable report formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum ReportFormat {
    /// One JSON document: every scenario report, the files that could not run, and
    /// whether all passed.
    Json,
}

pub(crate) fn run(command: ScenarioCommand, out: &mut dyn Write) -> io::Result<ExitCode> {
    let ScenarioCommand::Run {
        paths,
        report,
        report_file,
        cassettes,
        repeat,
    } = command;
    let mut options = RunOptions::new().repeat(repeat);
    for dir in cassettes {
        options = options.cassette_dir(dir);
    }
    let mut files = Vec::new();
    let mut errors: Vec<ScenarioError> = Vec::new();
    for path in &paths {
        match scenario_files(path) {
            Ok(found) => files.extend(found),
            Err(e) => errors.push(e),
        }
    }

    let bar = ProgressBar::new(files.len() as u64);
    bar.set_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} {wide_msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let mut reports = Vec::new();
    for file in &files {
        bar.set_message(file.display().to_string());
        match run_file_with(file, &options) {
            Ok(r) => reports.push(r),
            Err(e) => errors.push(e),
        }
        bar.inc(1);
    }
    bar.finish_and_clear();

    let json = report == Some(ReportFormat::Json);
    let stderr = io::stderr();
    let mut err_out = stderr.lock();
    let table_out: &mut dyn Write = if json { &mut err_out } else { out };
    print_summary(&reports, &errors, table_out)?;
    if json {
        writeln!(out, "{}", report_json(&reports, &errors)?)?;
    }
    if let Some(path) = report_file {
        std::fs::write(&path, report_json(&reports, &errors)? + "\n")?;
    }
    let failed = reports.iter().filter(|r| !r.passed).count();
    Ok(if failed == 0 && errors.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn report_json(reports: &[ScenarioReport], errors: &[ScenarioError]) -> io::Result<String> {
    let value = serde_json::json!({
        "scenarios": reports,
        "errors": errors.iter().map(ToString::to_string).collect::<Vec<_>>(),
        "passed": reports.iter().all(|r| r.passed) && errors.is_empty(),
    });
    serde_json::to_string_pretty(&value).map_err(io::Error::other)
}

/// The table, then each failure with its reasons, then one summary line.
fn print_summary(
    reports: &[ScenarioReport],
    errors: &[ScenarioError],
    out: &mut dyn Write,
) -> io::Result<()> {
    print_table(reports, out)?;
    let failed = reports.iter().filter(|r| !r.passed).count();
    for r in reports.iter().filter(|r| !r.passed) {
        writeln!(out)?;
        writeln!(out, "FAIL {} ({})", r.name, r.file.display())?;
        for f in &r.failures {
            writeln!(out, "  - {f}")?;
        }
    }
    for e in errors {
        writeln!(out)?;
        writeln!(out, "ERROR {e}")?;
    }
    writeln!(out)?;
    writeln!(
        out,
        "{} scenarios: {} passed, {} failed, {} could not run",
        reports.len() + errors.len(),
        reports.len() - failed,
        failed,
        errors.len()
    )
}

fn print_table(reports: &[ScenarioReport], out: &mut dyn Write) -> io::Result<()> {
    let width = reports
        .iter()
        .map(|r| display_name(r).chars().count())
        .max()
        .unwrap_or(8)
        .clamp(8, 48);
    writeln!(
        out,
        "{:<width$}  {:<16} {:<22} {:>10} {:>10}  result",
        "scenario", "outcome", "attempts", "virtual", "cost $"
    )?;
    for r in reports {
        let attempts = r
            .attempts
            .iter()
            .filter(|(_, n)| **n > 0)
            .map(|(t, n)| format!("{t}:{n}"))
            .collect::<Vec<_>>()
            .join(" ");
        writeln!(
            out,
            "{:<width$}  {:<16} {:<22} {:>10} {:>10.6}  {}",
            shorten(&display_name(r), width),
            shorten(&r.outcome, 16),
            shorten(if attempts.is_empty() { "-" } else { &attempts }, 22),
            format_duration(r.virtual_elapsed),
            r.cost_usd,
            if r.passed { "pass" } else { "FAIL" },
        )?;
    }
    Ok(())
}

/// The file stem: short, unique in a folder, and what the user passes back.
fn display_name(r: &ScenarioReport) -> String {
    r.file
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| r.name.clone())
}

fn format_duration(d: Duration) -> String {
    let secs = d.as_secs_f64();
    if secs >= 3600.0 {
        format!("{:.1}h", secs / 3600.0)
    } else if secs >= 60.0 {
        format!("{:.1}m", secs / 60.0)
    } else if secs >= 1.0 {
        format!("{secs:.1}s")
    } else {
        format!("{}ms", d.as_millis())
    }
}

fn shorten(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}
