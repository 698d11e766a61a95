//! Writes `benches/REPORT.md` from criterion's results.
//!
//! Usage: `bench-report --criterion DIR --out FILE [--since EPOCH_SECONDS]
//! [--date TEXT] [--conditions TEXT] [--notes DIR]`
//!
//! Every benchmark id is `<group>/<implementation>`. In each group, the
//! implementation named `llmvcr` is ours and every other one is a peer measured in
//! the same run; the report gives each median and the ratio peer / llmvcr (above 1
//! means llmvcr is faster). Results older than `--since` (left over from earlier
//! runs) are ignored. Benchmarks are grouped in sections by the first segment of
//! their group; `--notes DIR` adds the text of `DIR/<section>.md`, when it exists,
//! under the section's heading.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, UNIX_EPOCH};

use serde_json::Value;

/// One benchmark's result.
#[derive(Debug, Clone)]
struct Result {
    /// Median time in nanoseconds.
    median_ns: f64,
    /// Bytes per iteration, when the bench declared a throughput.
    bytes: Option<u64>,
}

/// Results by group, then by implementation.
type Groups = BTreeMap<String, BTreeMap<String, Result>>;

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            if p.file_name().is_some_and(|n| n == "new") {
                out.push(p);
            } else {
                walk(&p, out);
            }
        }
    }
}

fn read_json(path: &Path) -> Option<Value> {
    serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()
}

fn load(dir: &Path, since: u64) -> Groups {
    let mut dirs = Vec::new();
    walk(dir, &mut dirs);
    let mut groups: Groups = BTreeMap::new();
    for d in dirs {
        let estimates = d.join("estimates.json");
        let fresh = std::fs::metadata(&estimates)
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .is_some_and(|t| t >= Duration::from_secs(since));
        if !fresh {
            continue;
        }
        let (Some(est), Some(bench)) =
            (read_json(&estimates), read_json(&d.join("benchmark.json")))
        else {
            continue;
        };
        let Some(median_ns) = est["median"]["point_estimate"].as_f64() else {
            continue;
        };
        let full = bench["full_id"].as_str().unwrap_or_default().to_string();
        let Some((group, function)) = full.rsplit_once('/') else {
            continue;
        };
        let bytes = bench["throughput"]["Bytes"].as_u64();
        groups
            .entry(group.to_string())
            .or_default()
            .insert(function.to_string(), Result { median_ns, bytes });
    }
    groups
}

fn time(ns: f64) -> String {
    if ns >= 1e9 {
        format!("{:.2} s", ns / 1e9)
    } else if ns >= 1e6 {
        format!("{:.2} ms", ns / 1e6)
    } else if ns >= 1e3 {
        format!("{:.2} µs", ns / 1e3)
    } else {
        format!("{ns:.0} ns")
    }
}

fn throughput(r: &Result) -> String {
    match r.bytes {
        Some(b) if r.median_ns > 0.0 => {
            format!(
                "{:.1} MiB/s",
                b as f64 / (r.median_ns / 1e9) / (1024.0 * 1024.0)
            )
        }
        _ => "–".into(),
    }
}

/// Rows in a natural order: by the group's prefix, then by input size (the bytes of
/// the throughput, else the leading number of the last segment), then by name.
fn order_key(group: &str, results: &BTreeMap<String, Result>) -> (String, u64, String) {
    let (prefix, last) = group.rsplit_once('/').unwrap_or(("", group));
    let size = results
        .values()
        .find_map(|r| r.bytes)
        .or_else(|| {
            let digits: String = last.chars().take_while(char::is_ascii_digit).collect();
            digits.parse().ok()
        })
        .unwrap_or(0);
    (prefix.to_string(), size, last.to_string())
}

fn cpu() -> String {
    let info = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = info
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|l| l.trim_start_matches([' ', '\t', ':']).to_string())
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    format!("{model}, {cores} logical cores")
}

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
}

fn render(groups: &Groups, args: &[String]) -> String {
    let mut s = String::new();
    let date = arg(args, "--date").unwrap_or_else(|| "unknown date".into());
    let _ = writeln!(s, "# Benchmark report\n");
    let _ = writeln!(
        s,
        "Written by `ci/bench` from one `cargo bench -p llmvcr-benches` run. Criterion's \
         HTML reports and plots are in `target/criterion/report/index.html`.\n"
    );
    let _ = writeln!(s, "- Date: {date}");
    let _ = writeln!(s, "- Machine: {}", cpu());
    if let Some(c) = arg(args, "--conditions") {
        let _ = writeln!(s, "- Conditions: {c}");
    }
    let _ = writeln!(
        s,
        "- Medians of criterion's samples. Ratio = peer median / llmvcr median: above 1 \
         means llmvcr is faster.\n"
    );
    let mut sections: BTreeMap<&str, Vec<(&String, _)>> = BTreeMap::new();
    for (g, r) in groups {
        let section = g.split('/').next().unwrap_or(g);
        sections.entry(section).or_default().push((g, r));
    }
    for (section, mut rows) in sections {
        rows.sort_by_key(|(g, r)| order_key(g, r));
        let mut peers: Vec<&str> = Vec::new();
        for (_, r) in &rows {
            for k in r.keys() {
                if k != "llmvcr" && !peers.contains(&k.as_str()) {
                    peers.push(k);
                }
            }
        }
        let _ = writeln!(s, "## {section}\n");
        if let Some(dir) = arg(args, "--notes")
            && let Ok(note) = std::fs::read_to_string(Path::new(&dir).join(format!("{section}.md")))
        {
            let _ = writeln!(s, "{}\n", note.trim_end());
        }
        let mut header = "| benchmark | llmvcr | throughput |".to_string();
        let mut rule = "|---|---:|---:|".to_string();
        for p in &peers {
            let _ = write!(header, " {p} | ratio |");
            rule.push_str("---:|---:|");
        }
        let _ = writeln!(s, "{header}\n{rule}");
        for (g, r) in rows {
            let ours = r.get("llmvcr");
            let mut line = format!(
                "| {g} | {} | {} |",
                ours.map_or("–".into(), |o| time(o.median_ns)),
                ours.map_or("–".into(), throughput)
            );
            for p in &peers {
                match (r.get(*p), ours) {
                    (Some(pr), Some(o)) if o.median_ns > 0.0 => {
                        let _ = write!(
                            line,
                            " {} | {:.2}x |",
                            time(pr.median_ns),
                            pr.median_ns / o.median_ns
                        );
                    }
                    (Some(pr), _) => {
                        let _ = write!(line, " {} | – |", time(pr.median_ns));
                    }
                    _ => line.push_str(" – | – |"),
                }
            }
            let _ = writeln!(s, "{line}");
        }
        let _ = writeln!(s);
    }
    s
}

fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let dir = arg(&args, "--criterion").unwrap_or_else(|| "target/criterion".into());
    let out = arg(&args, "--out").unwrap_or_else(|| "benches/REPORT.md".into());
    let since = arg(&args, "--since")
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let groups = load(Path::new(&dir), since);
    if groups.is_empty() {
        eprintln!("bench-report: no criterion results in {dir} newer than {since}");
        return std::process::ExitCode::FAILURE;
    }
    match std::fs::write(&out, render(&groups, &args)) {
        Ok(()) => {
            eprintln!("bench-report: wrote {out}");
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("bench-report: {out}: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
