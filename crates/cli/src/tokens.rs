//! `llmvcr tokens`: count tokens, and check counts against recorded usage.

use std::io::{self, BufRead, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Subcommand};
use llmvcr::tokens::{
    Encoding, ModelFamily, PromptCount, count_openai_request, encoding_for_model,
};
use serde_json::Value;

use crate::expand_paths;

/// `llmvcr tokens ...`
#[derive(Debug, Subcommand)]
pub(crate) enum TokensCommand {
    /// Count tokens exactly (o200k_base, cl100k_base). Prints only the count.
    Count(CountArgs),
    /// Compare the counted prompt tokens of every recorded OpenAI chat call with the
    /// `prompt_tokens` (or Responses `input_tokens`) the API reported.
    CheckUsage {
        /// Cassette files, or folders to search for *.yaml, *.yml and *.json files.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Also list the calls that cannot be counted exactly (tools, images,
        /// structured output), with the estimate and its error.
        #[arg(long, short)]
        verbose: bool,
    },
}

/// Arguments of `llmvcr tokens count`.
#[derive(Debug, Args)]
pub(crate) struct CountArgs {
    /// The encoding: o200k_base (the default) or cl100k_base.
    #[arg(long, short, conflicts_with = "model")]
    encoding: Option<Encoding>,
    /// Pick the encoding (and, with --request, the chat rules) for this model;
    /// unknown models use o200k_base.
    #[arg(long, short)]
    model: Option<String>,
    /// Every input line is a JSON string; print one count per line.
    #[arg(long, conflicts_with = "request")]
    jsonl: bool,
    /// The input is a whole OpenAI chat request (Chat Completions or Responses JSON);
    /// print its prompt tokens, per-message overhead included.
    #[arg(long, conflicts_with = "encoding")]
    request: bool,
    /// The input file; `-` or nothing reads standard input.
    file: Option<PathBuf>,
}

pub(crate) fn run(command: TokensCommand, out: &mut dyn Write) -> io::Result<ExitCode> {
    match command {
        TokensCommand::Count(args) => count(&args, out),
        TokensCommand::CheckUsage { paths, verbose } => check_usage(&paths, verbose, out),
    }
}

fn fail(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message)
}

fn open_input(file: Option<&Path>) -> io::Result<Box<dyn BufRead>> {
    match file {
        None => Ok(Box::new(io::BufReader::new(io::stdin()))),
        Some(p) if p.as_os_str() == "-" => Ok(Box::new(io::BufReader::new(io::stdin()))),
        Some(p) => {
            let f = std::fs::File::open(p)
                .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", p.display())))?;
            Ok(Box::new(io::BufReader::new(f)))
        }
    }
}

fn count(args: &CountArgs, out: &mut dyn Write) -> io::Result<ExitCode> {
    let name = args
        .file
        .as_ref()
        .map_or_else(|| "<stdin>".to_string(), |p| p.display().to_string());
    let enc = match (&args.encoding, &args.model) {
        (Some(e), _) => *e,
        (None, Some(m)) => encoding_for_model(m),
        (None, None) => Encoding::O200kBase,
    };
    let mut input = open_input(args.file.as_deref())?;
    if args.jsonl {
        for (i, line) in input.lines().enumerate() {
            let line = line?;
            let text: String = serde_json::from_str(&line)
                .map_err(|e| fail(format!("{name}:{}: not a JSON string: {e}", i + 1)))?;
            writeln!(out, "{}", enc.count(&text))?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    let mut bytes = Vec::new();
    input.read_to_end(&mut bytes)?;
    if args.request {
        let mut body: Value =
            serde_json::from_slice(&bytes).map_err(|e| fail(format!("{name}: not JSON: {e}")))?;
        if let (Some(m), Some(obj)) = (&args.model, body.as_object_mut()) {
            obj.insert("model".into(), Value::String(m.clone()));
        }
        let c = count_openai_request(&body).map_err(|e| fail(format!("{name}: {e}")))?;
        writeln!(out, "{}", c.tokens)?;
        return Ok(ExitCode::SUCCESS);
    }
    writeln!(out, "{}", enc.count_bytes(&bytes))?;
    Ok(ExitCode::SUCCESS)
}

/// The prompt tokens a response reports: `usage.prompt_tokens` (Chat Completions) or
/// `usage.input_tokens` (Responses), in a JSON body or the last SSE event carrying it.
fn reported_prompt_tokens(body: &[u8]) -> Option<u64> {
    fn from(v: &Value) -> Option<u64> {
        let usage = v
            .get("usage")
            .filter(|u| u.is_object())
            .or_else(|| v.get("response").and_then(|r| r.get("usage")))?;
        usage
            .get("prompt_tokens")
            .or_else(|| usage.get("input_tokens"))
            .and_then(Value::as_u64)
    }
    if let Ok(v) = serde_json::from_slice::<Value>(body) {
        return from(&v);
    }
    let text = String::from_utf8_lossy(body);
    text.lines()
        .rev()
        .filter_map(|l| l.trim().strip_prefix("data:"))
        .filter_map(|d| serde_json::from_str::<Value>(d.trim()).ok())
        .find_map(|v| from(&v))
}

fn is_openai_chat(uri: &str) -> bool {
    let path = uri.split('?').next().unwrap_or(uri).trim_end_matches('/');
    path.ends_with("/chat/completions") || path.ends_with("/responses")
}

/// Why a call is not compared exactly.
fn reason(body: &Value, c: &PromptCount) -> &'static str {
    if body
        .get("tools")
        .is_some_and(|t| t.as_array().is_some_and(|a| !a.is_empty()))
        || body.get("functions").is_some()
    {
        "tools"
    } else if c.uncounted_parts > 0 {
        "media"
    } else if c.family == ModelFamily::Unknown {
        "unknown model"
    } else {
        "structured output or tool history"
    }
}

fn check_usage(paths: &[PathBuf], verbose: bool, out: &mut dyn Write) -> io::Result<ExitCode> {
    let mut failed = false;
    let (mut matched, mut mismatched, mut adjusted) = (0usize, 0usize, 0usize);
    let mut skipped: Vec<(&'static str, i64)> = Vec::new();
    let mut hidden: Vec<(ModelFamily, i64)> = Vec::new();
    for path in expand_paths(paths) {
        let name = path.display().to_string();
        let interactions = match llmvcr::cassette::read_recorded(&path) {
            Ok(i) => i,
            Err(e) => {
                failed = true;
                out.flush()?;
                writeln!(io::stderr(), "error: {e}")?;
                continue;
            }
        };
        for (index, it) in interactions.iter().enumerate() {
            if !is_openai_chat(&it.request.uri) || it.response.status != 200 {
                continue;
            }
            let Some(body) = it.request.body.as_json() else {
                continue;
            };
            let Some(reported) = reported_prompt_tokens(&it.response.body.as_bytes()) else {
                continue;
            };
            let Ok(c) = count_openai_request(&body) else {
                continue;
            };
            let model = body.get("model").and_then(Value::as_str).unwrap_or("?");
            let diff = reported as i64 - c.tokens as i64;
            let place = format!("{name}#{index}");
            let plain = body
                .get("tools")
                .and_then(Value::as_array)
                .is_none_or(Vec::is_empty);
            if c.family.has_hidden_prompt() && plain && c.uncounted_parts == 0 {
                hidden.push((c.family, diff));
                writeln!(
                    out,
                    "HIDDEN    {model:<28} counted {:>6}  reported {reported:>6}  hidden {diff:+}  {place}",
                    c.tokens
                )?;
            } else if c.exact {
                if c.adjustment != 0 {
                    adjusted += 1;
                }
                let adj = match c.adjustment {
                    0 => String::new(),
                    a => format!("  (adjusted {a:+})"),
                };
                if diff == 0 {
                    matched += 1;
                    writeln!(
                        out,
                        "MATCH     {model:<28} counted {:>6}  reported {reported:>6}{adj}  {place}",
                        c.tokens
                    )?;
                } else {
                    mismatched += 1;
                    writeln!(
                        out,
                        "MISMATCH  {model:<28} counted {:>6}  reported {reported:>6}  off by {diff:+}{adj}  {place}",
                        c.tokens
                    )?;
                }
            } else {
                let why = reason(&body, &c);
                skipped.push((why, diff));
                if verbose {
                    writeln!(
                        out,
                        "ESTIMATE  {model:<28} counted {:>6}  reported {reported:>6}  off by {diff:+}  ({why})  {place}",
                        c.tokens
                    )?;
                }
            }
        }
    }
    writeln!(
        out,
        "{matched} matched, {mismatched} mismatched ({adjusted} with the reasoning-model adjustment of -1)"
    )?;
    for family in [ModelFamily::SearchPreview, ModelFamily::GptOss] {
        let offsets: Vec<i64> = hidden
            .iter()
            .filter(|(f, _)| *f == family)
            .map(|(_, d)| *d)
            .collect();
        if !offsets.is_empty() {
            writeln!(
                out,
                "{} {family:?} calls with hidden prompt tokens, offsets (reported - counted): {offsets:?}",
                offsets.len()
            )?;
        }
    }
    if !skipped.is_empty() {
        let mut errs: Vec<i64> = skipped.iter().map(|(_, d)| d.abs()).collect();
        errs.sort_unstable();
        writeln!(
            out,
            "{} not compared exactly (tools, media, structured output, unknown models); median estimate error {} tokens{}",
            skipped.len(),
            errs[errs.len() / 2],
            if verbose {
                ""
            } else {
                " (--verbose lists them)"
            }
        )?;
    }
    Ok(if failed || mismatched > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_is_found_in_json_and_sse() {
        assert_eq!(
            reported_prompt_tokens(br#"{"usage":{"prompt_tokens":14,"completion_tokens":2}}"#),
            Some(14)
        );
        assert_eq!(
            reported_prompt_tokens(br#"{"usage":{"input_tokens":13}}"#),
            Some(13)
        );
        let sse =
            b"data: {\"choices\":[]}\n\ndata: {\"usage\":{\"prompt_tokens\":9}}\n\ndata: [DONE]\n";
        assert_eq!(reported_prompt_tokens(sse), Some(9));
        let responses =
            b"event: response.completed\ndata: {\"response\":{\"usage\":{\"input_tokens\":11}}}\n";
        assert_eq!(reported_prompt_tokens(responses), Some(11));
        assert_eq!(reported_prompt_tokens(b"{}"), None);
    }

    fn args(file: &Path) -> CountArgs {
        CountArgs {
            encoding: None,
            model: None,
            jsonl: false,
            request: false,
            file: Some(file.to_path_buf()),
        }
    }

    #[test]
    fn count_prints_only_the_count() {
        let dir = std::env::temp_dir().join(format!("llmvcr-tokens-cli-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let run = |name: &str, body: &str, edit: &dyn Fn(&mut CountArgs)| {
            let path = dir.join(name);
            std::fs::write(&path, body).unwrap();
            let mut a = args(&path);
            edit(&mut a);
            let mut out = Vec::new();
            count(&a, &mut out).unwrap();
            String::from_utf8(out).unwrap()
        };
        assert_eq!(run("plain.txt", "Hello, world!", &|_| {}), "4\n");
        assert_eq!(
            run("lines.jsonl", "\"hello world\"\n\"\"\n", &|a| a.jsonl =
                true),
            "2\n0\n"
        );
        let req = r#"{"model":"gpt-4o","messages":[{"role":"user","content":"What is the capital of Mexico?"}]}"#;
        assert_eq!(run("req.json", req, &|a| a.request = true), "14\n");
        assert_eq!(
            run("req2.json", req, &|a| {
                a.request = true;
                a.model = Some("o3-mini".into());
            }),
            "13\n"
        );
        let path = dir.join("bad.jsonl");
        std::fs::write(&path, "\"ok\"\nnot json\n").unwrap();
        let mut a = args(&path);
        a.jsonl = true;
        let err = count(&a, &mut Vec::new()).unwrap_err();
        assert!(err.to_string().contains("bad.jsonl:2"), "{err}");
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn check_usage_matches_the_real_openai_cassettes() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../cassettes/real");
        let mut out = Vec::new();
        check_usage(&[root.join("openai"), root.join("azure")], false, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.contains("14 matched, 0 mismatched (6 with the reasoning-model adjustment of -1)"),
            "{text}"
        );
    }

    #[test]
    fn chat_endpoints_are_recognised() {
        assert!(is_openai_chat("https://api.openai.com/v1/chat/completions"));
        assert!(is_openai_chat(
            "https://x.openai.azure.com/openai/deployments/d/chat/completions?api-version=1"
        ));
        assert!(is_openai_chat("https://api.openai.com/v1/responses"));
        assert!(!is_openai_chat("https://api.openai.com/v1/embeddings"));
    }
}
