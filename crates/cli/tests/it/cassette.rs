//! `llmvcr cassette import | export | lint | show | diff`, and `inspect` on
//! format v1, run as a user runs them.

use std::path::{Path, PathBuf};

use crate::support::{TOOL_STREAM, llmvcr, repo, run, temp};

const SECRET_VALUE: &str = "live-value-0123456789";

/// A VCR.py cassette with credentials where providers put them.
fn vcrpy_with_credentials() -> String {
    format!(
        r#"interactions:
- request:
    body: '{{"contents": [{{"role": "user", "parts": [{{"text": "token {SECRET_VALUE}"}}]}}]}}'
    headers:
      Authorization:
      - Bearer {SECRET_VALUE}
      x-api-key:
      - any-key-at-all
      x-goog-api-key:
      - {SECRET_VALUE}
      Cookie:
      - session=abc123; theme=dark
    method: POST
    uri: https://generativelanguage.googleapis.com/v1beta/models/m:generateContent?key={SECRET_VALUE}&alt=json
  response:
    body:
      string: '{{"candidates": [{{"content": {{"parts": [{{"text": "hello"}}]}}}}]}}'
    headers:
      Content-Type:
      - application/json
      Set-Cookie:
      - id=42; Path=/; HttpOnly
    status:
      code: 200
      message: OK
version: 1
"#
    )
}

#[test]
fn import_converts_redacts_and_names_outputs_after_their_sources() {
    let dir = temp("import");
    let source = dir.join("creds.yaml");
    std::fs::write(&source, vcrpy_with_credentials()).unwrap();
    let json_source = repo("crates/cassette/tests/data/vcr_cassette.json");
    let out_dir = dir.join("out");
    let (code, stdout, stderr) = run(llmvcr()
        .args(["cassette", "import"])
        .arg(&source)
        .arg(&json_source)
        .arg("--out")
        .arg(&out_dir)
        .env("DEMO_API_KEY", SECRET_VALUE));
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.contains("creds.yaml ("), "{stdout}");
    let written = std::fs::read_to_string(out_dir.join("creds.yaml")).unwrap();
    assert!(written.starts_with("llmvcr: 1\n"), "{written}");
    assert!(!written.contains(SECRET_VALUE), "{written}");
    for expected in [
        "authorization: Bearer <DEMO_API_KEY>",
        "x-api-key: <REDACTED>",
        "x-goog-api-key: <DEMO_API_KEY>",
        "cookie: session=<REDACTED>; theme=<REDACTED>",
        "set-cookie: id=<REDACTED>; Path=/; HttpOnly",
        "key=<DEMO_API_KEY>&alt=json",
        "text: token <DEMO_API_KEY>",
    ] {
        assert!(written.contains(expected), "{expected} not in\n{written}");
    }
    // A JSON source becomes a `.yaml` file.
    let converted = std::fs::read_to_string(out_dir.join("vcr_cassette.yaml")).unwrap();
    assert!(converted.contains("format: sse"), "{converted}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn import_refuses_a_key_it_cannot_place_and_writes_nothing() {
    let dir = temp("refuse");
    let source = dir.join("leaky.yaml");
    // Gzip inside gzip: the importer undoes the outer one, and a key inside
    // the inner one cannot be replaced in place.
    let leaky = vcrpy_with_credentials().replace(
        "string: '{\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"hello\"}]}}]}'",
        "string: !!binary |\n        H4sIAAAAAAACA5Pv5mAAASbm1WFefme8T/p46njqhm0K6lgX5nXuvLbnWW3GolVTuYS6vRYcUl0pqmC49NKjkNZHOXebFv3RiT2+JMVZ+fGUKybCwcbl/P7F3KfXvJFhdlZeeutGlAITg/dd274YoOkAX1bStWYAAAA=",
    );
    std::fs::write(&source, leaky).unwrap();
    let (code, _, stderr) = run(llmvcr()
        .args(["cassette", "import"])
        .arg(&source)
        .arg("--out")
        .arg(dir.join("out")));
    assert_eq!(code, Some(1));
    assert!(stderr.contains("leaky.yaml"), "{stderr}");
    assert!(
        stderr.contains("interaction 0, response.body.base64: key prefix `sk-proj-` (compressed)"),
        "{stderr}"
    );
    assert!(!stderr.contains("Abc123def456"), "{stderr}");
    assert!(!dir.join("out/leaky.yaml").exists());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_committed_cassettes_are_what_import_produces() {
    let dir = temp("reproduce");
    for provider in [
        "anthropic",
        "azure",
        "gemini",
        "groq",
        "mistral",
        "openai",
        "openrouter",
    ] {
        let out = dir.join(provider);
        let (code, _, stderr) = run(llmvcr()
            .args(["cassette", "import"])
            .arg(repo(&format!("cassettes/real/{provider}")))
            .arg("--out")
            .arg(&out));
        assert_eq!(code, Some(0), "{stderr}");
        let mut names: Vec<_> = std::fs::read_dir(&out)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        names.sort();
        let mut committed: Vec<_> = std::fs::read_dir(repo(&format!("cassettes/{provider}")))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        committed.sort();
        assert_eq!(names, committed, "{provider}");
        for name in names {
            let fresh = std::fs::read(out.join(&name)).unwrap();
            let kept = std::fs::read(repo("cassettes").join(provider).join(&name)).unwrap();
            assert!(
                fresh == kept,
                "{provider}/{} differs",
                name.to_string_lossy()
            );
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn lint_passes_the_repository_and_names_every_finding() {
    // The llmvcr cassettes; the raw recordings under cassettes/real keep
    // Cloudflare cookies that import replaces (see the secrets tests below).
    let providers = [
        "anthropic",
        "azure",
        "gemini",
        "groq",
        "mistral",
        "openai",
        "openrouter",
    ];
    let (code, stdout, stderr) = run(llmvcr()
        .args(["cassette", "lint"])
        .args(providers.map(|p| repo(&format!("cassettes/{p}")))));
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    assert!(stdout.contains("no findings"), "{stdout}");

    let dir = temp("lint");
    // A v1 cassette, a VCR.py one and a vcr-cassette one, each with a key.
    let v1 = "llmvcr: 1\ninteractions:\n- request:\n    method: GET\n    url: https://x/a\n  response:\n    status: 200\n- request:\n    method: POST\n    url: https://x/b\n    headers:\n      x-note: gsk_0123456789abcdefABCDEFxyz\n  response:\n    status: 200\n";
    std::fs::write(dir.join("v1.yaml"), v1).unwrap();
    std::fs::write(
        dir.join("vcr.yaml"),
        vcrpy_with_credentials().replace(SECRET_VALUE, "AIzaSyA0123456789abcdefghijklmnopqrs"),
    )
    .unwrap();
    let json = std::fs::read_to_string(repo("crates/cassette/tests/data/vcr_cassette.json"))
        .unwrap()
        .replace(
            "\"Accept\": [\"application/json\"]",
            "\"Accept\": [\"application/json\"], \"Authorization\": [\"Bearer abcdefgh12345678ijkl\"]",
        );
    std::fs::write(dir.join("rvcr.json"), json).unwrap();
    std::fs::write(
        dir.join("broken.yaml"),
        "llmvcr: 1\ninteractions:\n- request: {}\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("notes.txt"),
        "sk-ignored-because-not-a-cassette-0123",
    )
    .unwrap();
    let (code, stdout, _) = run(llmvcr().args(["cassette", "lint"]).arg(&dir));
    assert_eq!(code, Some(1), "{stdout}");
    let line = |needle: &str| {
        assert!(
            stdout.lines().any(|l| l.contains(needle)),
            "{needle} not in\n{stdout}"
        );
    };
    line(
        "v1.yaml: interaction 1: request.headers.x-note: possible secret, key prefix `gsk_` (gsk_…)",
    );
    line("vcr.yaml: interaction 0: request.url: possible secret, key prefix `AIza`");
    line("vcr.yaml: interaction 0: request.headers.x-goog-api-key");
    line("vcr.yaml: interaction 0: request.body.json.contents[0].parts[0].text");
    line("rvcr.json: interaction 0: request.headers.authorization: possible secret, bearer token");
    line("broken.yaml:3:");
    line("missing field `method`");
    assert!(!stdout.contains("notes.txt"));
    assert!(!stdout.contains("0123456789abcdef"), "{stdout}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn show_prints_request_status_prompt_answer_and_tokens() {
    let (code, stdout, stderr) = run(llmvcr()
        .args(["cassette", "show"])
        .arg(repo(&format!("cassettes/{TOOL_STREAM}"))));
    assert_eq!(code, Some(0), "{stderr}");
    for expected in [
        ": 1 interaction",
        "#0 POST https://api.anthropic.com/v1/messages",
        "200  anthropic  messages",
        "stream: ",
        "prompt: ",
        "answer: ",
        "pelican_name_generator(",
        "tokens: 543 in,",
        "finish: tool_use",
    ] {
        assert!(stdout.contains(expected), "{expected} not in\n{stdout}");
    }
    // Any format: the VCR.py original shows the same interaction.
    let (_, original, _) = run(llmvcr()
        .args(["cassette", "show"])
        .arg(repo(&format!("cassettes/real/{TOOL_STREAM}"))));
    let body = |s: &str| s.lines().skip(1).collect::<Vec<_>>().join("\n");
    assert_eq!(body(&original), body(&stdout));
}

#[test]
fn diff_compares_by_interaction_and_json_path() {
    let a = repo(&format!("cassettes/{TOOL_STREAM}"));
    let (code, stdout, _) = run(llmvcr().args(["cassette", "diff"]).arg(&a).arg(&a));
    assert_eq!(code, Some(0));
    assert!(stdout.contains("same: 1 interactions"), "{stdout}");
    // The VCR.py original holds the same data, but for the cookie import redacted.
    let original = repo(&format!("cassettes/real/{TOOL_STREAM}"));
    let (code, stdout, _) = run(llmvcr().args(["cassette", "diff"]).arg(&a).arg(&original));
    assert_eq!(code, Some(1), "{stdout}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 1, "{stdout}");
    assert!(
        lines[0].starts_with("#0 response.headers.set-cookie: \"_cfuvid=<REDACTED>; HttpOnly;"),
        "{stdout}"
    );

    let dir = temp("diff");
    let changed = std::fs::read_to_string(&a)
        .unwrap()
        .replace("    status: 200", "    status: 529")
        .replace("max_tokens: 8192", "max_tokens: 100");
    let b = dir.join("b.yaml");
    std::fs::write(&b, changed).unwrap();
    let (code, stdout, _) = run(llmvcr().args(["cassette", "diff"]).arg(&a).arg(&b));
    assert_eq!(code, Some(1), "{stdout}");
    assert_eq!(
        stdout.lines().collect::<Vec<_>>(),
        [
            "#0 request.body.json.max_tokens: 8192 -> 100",
            "#0 response.status: 200 -> 529",
        ]
    );
    let (code, _, stderr) = run(llmvcr()
        .args(["cassette", "diff"])
        .arg(&a)
        .arg(dir.join("absent.yaml")));
    assert_eq!(code, Some(2));
    assert!(stderr.contains("absent.yaml"), "{stderr}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `inspect --format json` rows without the `file` key.
fn inspect_rows(path: &Path) -> Vec<serde_json::Value> {
    let (code, stdout, stderr) = run(llmvcr()
        .args(["cassette", "inspect", "--format", "json"])
        .arg(path));
    assert_eq!(code, Some(0), "{stderr}");
    stdout
        .lines()
        .map(|l| {
            let mut row: serde_json::Value = serde_json::from_str(l).unwrap();
            row.as_object_mut().unwrap().remove("file");
            row
        })
        .collect()
}

#[test]
fn inspect_reads_format_v1_the_same_as_the_original() {
    for provider in ["anthropic", "gemini", "openrouter"] {
        let v1 = inspect_rows(&repo(&format!("cassettes/{provider}")));
        let original = inspect_rows(&repo(&format!("cassettes/real/{provider}")));
        assert!(!v1.is_empty());
        assert_eq!(v1, original, "{provider}");
    }
}

#[test]
fn export_writes_vcrpy_that_reads_back_the_same() {
    let dir = temp("export");
    let (code, stdout, stderr) = run(llmvcr()
        .args(["cassette", "export"])
        .arg(repo("cassettes/gemini"))
        .args(["--to", "vcrpy", "--out"])
        .arg(&dir));
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.contains("interactions)"), "{stdout}");
    let exported = std::fs::read_to_string(
        dir.join("simonw__llm-gemini__cassettes__test_gemini__test_prompt.yaml"),
    )
    .unwrap();
    assert!(
        exported.starts_with("interactions:\n- request:\n    body: "),
        "{exported}"
    );
    assert!(exported.contains("    status:\n      code: 200\n      message: OK\n"));
    assert!(exported.ends_with("version: 1\n"));
    assert_eq!(inspect_rows(&dir), inspect_rows(&repo("cassettes/gemini")));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn show_finds_a_prompt_in_every_real_interaction() {
    for provider in [
        "anthropic",
        "azure",
        "gemini",
        "groq",
        "mistral",
        "openai",
        "openrouter",
    ] {
        let mut files: Vec<PathBuf> = std::fs::read_dir(repo(&format!("cassettes/{provider}")))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        for file in files {
            let (code, stdout, stderr) = run(llmvcr().args(["cassette", "show"]).arg(&file));
            assert_eq!(code, Some(0), "{stderr}");
            let interactions = stdout.lines().filter(|l| l.starts_with('#')).count();
            let prompts = stdout
                .lines()
                .filter(|l| l.starts_with("   prompt: "))
                .count();
            assert!(interactions > 0);
            assert_eq!(prompts, interactions, "{}\n{stdout}", file.display());
        }
    }
}

// --- vcr.py dialects ---

/// A cassette of VCR.py's first httpx recorder (`status_code`, `content`),
/// holding a streamed chat completion whose headers still say gzip.
const HTTPX_SSE: &str = "crates/cassette/tests/data/vcrpy_httpx_sse.yaml";

#[test]
fn httpx_dialect_reads_in_inspect_import_lint_and_show() {
    let source = repo(HTTPX_SSE);
    let rows = inspect_rows(&source);
    assert_eq!(rows.len(), 1);
    let row = &rows[0];
    assert_eq!(row["status"], 200);
    assert_eq!(row["provider"], "openai");
    assert_eq!(row["api"], "chat_completions");
    assert_eq!(row["stream"], true);
    assert_eq!(row["model"], "gpt-4o-mini");
    assert_eq!(row["text"], "Hello there");
    assert_eq!(row["finish_reason"], "stop");
    assert_eq!(
        row["usage"],
        serde_json::json!({"input_tokens": 9, "output_tokens": 2})
    );

    let dir = temp("httpx");
    let (code, stdout, stderr) = run(llmvcr()
        .args(["cassette", "import"])
        .arg(&source)
        .arg("--out")
        .arg(&dir));
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.contains("(1 interactions)"), "{stdout}");
    let imported = dir.join("vcrpy_httpx_sse.yaml");
    let written = std::fs::read_to_string(&imported).unwrap();
    assert!(written.starts_with("llmvcr: 1\n"), "{written}");
    assert!(written.contains("format: sse"), "{written}");
    assert!(written.contains("text: '[DONE]'"), "{written}");
    assert!(written.contains("content: Hello"), "{written}");
    // The body was stored decoded: the copy does not claim gzip.
    assert!(!written.contains("content-encoding"), "{written}");
    assert_eq!(inspect_rows(&imported), rows);

    let (code, stdout, stderr) = run(llmvcr().args(["cassette", "lint"]).arg(&source));
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    assert!(stdout.contains("no findings"), "{stdout}");

    let (code, stdout, stderr) = run(llmvcr().args(["cassette", "show"]).arg(&source));
    assert_eq!(code, Some(0), "{stderr}");
    for expected in [
        ": 1 interaction",
        "#0 POST https://api.openai.com/v1/chat/completions",
        "200  openai  chat_completions  gpt-4o-mini  stream: 6 frames",
        "prompt: Say hello",
        "answer: Hello there",
        "tokens: 9 in, 2 out",
        "finish: stop",
    ] {
        assert!(stdout.contains(expected), "{expected} not in\n{stdout}");
    }
    let (_, imported_show, _) = run(llmvcr().args(["cassette", "show"]).arg(&imported));
    let body = |s: &str| s.lines().skip(1).collect::<Vec<_>>().join("\n");
    assert_eq!(body(&imported_show), body(&stdout));
}

// --- usage on errors ---

/// The real Anthropic stream of `test_stream_events_text` with an `event: error`
/// (`overloaded_error`) inserted right after its `message_start`. No recording has
/// an error event, so the event is reconstructed from Anthropic's documented wire
/// format; everything else is the recording, byte for byte.
#[test]
fn inspect_reports_the_usage_of_a_stream_that_failed() {
    let original = std::fs::read_to_string(repo(
        "cassettes/real/anthropic/simonw__llm-anthropic__cassettes__test_anthropic__test_stream_events_text.yaml",
    ))
    .unwrap();
    let marker = "        event: content_block_start\n";
    assert!(original.contains(marker));
    let failed = original.replacen(
        marker,
        "        event: error\n\n        data: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n\n        event: content_block_start\n",
        1,
    );
    let dir = temp("usage-on-errors");
    let file = dir.join("overloaded_after_message_start.yaml");
    std::fs::write(&file, failed).unwrap();
    let rows = inspect_rows(&file);
    assert_eq!(rows.len(), 1);
    let row = &rows[0];
    assert_eq!(row["error"]["kind"], "overloaded", "{row}");
    assert_eq!(row["text"], "", "{row}");
    // message_start's `usage`: 10 input tokens, 2 output tokens.
    assert_eq!(
        row["usage"],
        serde_json::json!({"input_tokens": 10, "output_tokens": 2}),
        "{row}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The real OpenRouter stream of `test_openrouter_advisor_tool_stream`, ending in an
/// error chunk instead of its `stop`: the last chunk keeps its recorded `usage` but
/// gets an `error` object and `finish_reason: "error"`, as OpenRouter documents for
/// errors during streaming (no recording has one).
#[test]
fn inspect_reports_the_usage_of_an_error_chunk() {
    let original = std::fs::read_to_string(repo(
        "cassettes/real/openrouter/pydantic__pydantic-ai__models__cassettes__test_openrouter__test_openrouter_advisor_tool_stream.yaml",
    ))
    .unwrap();
    let stop = r#""delta":{"content":"","role":"assistant"},"finish_reason":"stop","native_finish_reason":"stop"}]"#;
    assert_eq!(original.matches(stop).count(), 2);
    // The first `stop` chunk no longer ends the answer; the last one, which carries
    // the usage, becomes the error chunk.
    let failed = original
        .replacen(
            stop,
            r#""delta":{"content":"","role":"assistant"},"finish_reason":null,"native_finish_reason":null}]"#,
            1,
        )
        .replacen(
            &format!(r#""choices":[{{"index":0,{stop},"usage""#),
            r#""error":{"code":502,"message":"Provider returned error"},"choices":[{"index":0,"delta":{"content":""},"finish_reason":"error","native_finish_reason":"error"}],"usage""#,
            1,
        );
    assert!(failed.contains(r#""finish_reason":"error""#));
    let dir = temp("usage-on-error-chunk");
    let file = dir.join("openrouter_error_chunk.yaml");
    std::fs::write(&file, failed).unwrap();
    let rows = inspect_rows(&file);
    let row = rows.last().unwrap();
    assert_eq!(row["provider"], "openrouter", "{row}");
    assert_eq!(row["error"]["kind"], "server", "{row}");
    assert!(!row["text"].as_str().unwrap().is_empty(), "{row}");
    // The recorded usage of the last chunk: 888 prompt tokens, 74 completion tokens.
    assert_eq!(
        row["usage"],
        serde_json::json!({"input_tokens": 888, "output_tokens": 74}),
        "{row}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

// --- secrets ---

/// One key of each family used below, and how each is planted.
const OPENAI: &str = "sk-proj-Abc123def456GHI789jkl012MNO345";
const ANTHROPIC: &str = "sk-ant-api03-Zyx987wvu654TSR321qpo0";
const GROQ: &str = "gsk_0123456789abcdefABCDEFxyz";
const XAI: &str = "xai-Q2w3E4r5T6y7U8i9O0pAsDfGhJ";
const GITHUB: &str = "ghp_16C7e42F292c6912E7710c838347Ae178B4a";
const OPENROUTER: &str = "sk-or-v1-0123456789abcdef0123456789abcdef";
const AWS: &str = "AKIAIOSFODNN7EXAMPLE";

/// A VCR.py cassette with a key in every place and encoding: a YAML
/// comment, a `!!binary` gzip body, a folded scalar, a percent-encoded
/// parameter name, a JSON key, a `\u` escape, and Basic credentials.
fn vcrpy_with_hidden_keys() -> String {
    let escaped_first = format!("\\\\u0073{}", &OPENROUTER[1..]);
    format!(
        r#"# recorded with {GITHUB}
interactions:
- request:
    body: '{{"{OPENAI}": 1, "note": "{escaped_first}"}}'
    headers:
      Proxy-Authorization:
      - Basic dXNlcjp4YWktUTJ3M0U0cjVUNnk3VThpOU8wcEFzRGZHaEo=
      X-Note:
      - >-
        first line
        {GROQ}
        last line
    method: POST
    uri: https://api.example.com/v1/x?api%5Fkey=plain-value-0123&id={AWS}
  response:
    body:
      string: !!binary |
        H4sIAAAAAAACA6tWSs7PK0nNK1GyUoiuViqpLEgFspRKUitKlHSgNJCfnVqpUJytm5hXoptYkGlgrBtVWWFpYV5eVmpmahISHGRsZFhYkG+gVBtbCwCt3HzoUgAAAA==
    headers:
      Content-Type:
      - application/json
      Content-Encoding:
      - gzip
    status:
      code: 200
      message: OK
version: 1
"#
    )
}

#[test]
fn lint_finds_keys_in_every_place_and_encoding_and_never_prints_them() {
    let dir = temp("lint-hidden");
    std::fs::write(dir.join("hidden.yaml"), vcrpy_with_hidden_keys()).unwrap();
    let (code, stdout, stderr) = run(llmvcr().args(["cassette", "lint"]).arg(&dir));
    assert_eq!(code, Some(1), "{stdout}{stderr}");
    let line = |needle: &str| {
        assert!(
            stdout.lines().any(|l| l.contains(needle)),
            "{needle} not in\n{stdout}"
        );
    };
    line("hidden.yaml: line 1, column 17: possible secret, key prefix `ghp_`");
    line("interaction 0: request.body.json[sk-p…]: possible secret, key prefix `sk-proj-`");
    line("interaction 0: request.body.json.note: possible secret, key prefix `sk-or-v1-`");
    line("interaction 0: request.headers.proxy-authorization: possible secret");
    line("interaction 0: request.headers.x-note: possible secret, key prefix `gsk_`");
    line(
        "interaction 0: request.url: possible secret, credential parameter `api_key` (percent-encoded)",
    );
    line("interaction 0: request.url: possible secret, AWS access key id");
    line(
        "interaction 0: response.body.json.content[0].text: possible secret, key prefix `sk-ant-`",
    );
    for key in [
        OPENAI,
        ANTHROPIC,
        GROQ,
        XAI,
        GITHUB,
        OPENROUTER,
        AWS,
        "plain-value",
    ] {
        assert!(
            !stdout.contains(key) && !stderr.contains(key),
            "{key}:\n{stdout}{stderr}"
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn import_replaces_keys_in_every_place_and_encoding() {
    let dir = temp("import-hidden");
    let source = dir.join("hidden.yaml");
    std::fs::write(&source, vcrpy_with_hidden_keys()).unwrap();
    let (code, stdout, stderr) = run(llmvcr()
        .args(["cassette", "import"])
        .arg(&source)
        .arg("--out")
        .arg(dir.join("out")));
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    let written = std::fs::read_to_string(dir.join("out/hidden.yaml")).unwrap();
    for key in [
        OPENAI,
        ANTHROPIC,
        GROQ,
        XAI,
        GITHUB,
        OPENROUTER,
        AWS,
        "plain-value",
    ] {
        assert!(!written.contains(key), "{key} in\n{written}");
    }
    assert!(!written.contains("dXNlcjp4YWkt"), "{written}");
    for expected in [
        "proxy-authorization: Basic <REDACTED>",
        "api%5Fkey=<REDACTED>&id=<REDACTED>",
        "<REDACTED>: 1",
    ] {
        assert!(written.contains(expected), "{expected} not in\n{written}");
    }
    // Written, it lints clean.
    let (code, stdout, _) = run(llmvcr().args(["cassette", "lint"]).arg(dir.join("out")));
    assert_eq!(code, Some(0), "{stdout}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn lint_reports_the_cookies_the_raw_recordings_keep_and_nothing_else() {
    let (code, stdout, stderr) = run(llmvcr()
        .args(["cassette", "lint"])
        .arg(repo("cassettes/real")));
    assert_eq!(code, Some(1), "{stdout}{stderr}");
    let findings: Vec<&str> = stdout
        .lines()
        .filter(|l| l.contains("possible secret"))
        .collect();
    assert!(!findings.is_empty());
    for finding in findings {
        assert!(finding.contains("cookie value"), "{finding}");
    }
    // A cookie value is shown by its first four characters at most.
    assert!(!stdout.contains("m0mGKA4KJQVC7Sah"), "{stdout}");
}

// --- local servers ---

/// A format v1 cassette recorded against an OpenAI-compatible server on a local
/// port. The answer is the one OpenAI gave in
/// `cassettes/openai/pydantic__pydantic-ai__models__cassettes__test_openai__test_document_as_binary_content_input.yaml`.
const LOCAL_OPENAI_COMPATIBLE: &str = r#"llmvcr: 1
interactions:
- request:
    method: POST
    url: http://127.0.0.1:40647/v1/chat/completions
    headers:
      content-type: application/json
      host: 127.0.0.1:40647
    body:
      json:
        messages:
        - content: What is the main content on this document?
          role: user
        model: gpt-4o
        n: 1
        stream: false
  response:
    status: 200
    headers:
      content-length: '859'
      content-type: application/json
    body:
      json:
        choices:
        - finish_reason: stop
          index: 0
          logprobs: null
          message:
            annotations: []
            content: The main content of the document is "Dummy PDF file."
            refusal: null
            role: assistant
        created: 1745094796
        id: chatcmpl-BO9ACIkIeOW3OmoArEqYmWmeogKvC
        model: gpt-4o-2024-08-06
        object: chat.completion
        service_tier: default
        system_fingerprint: fp_6b6e24b474
        usage:
          completion_tokens: 13
          completion_tokens_details:
            accepted_prediction_tokens: 0
            audio_tokens: 0
            reasoning_tokens: 0
            rejected_prediction_tokens: 0
          prompt_tokens: 235
          prompt_tokens_details:
            audio_tokens: 0
            cached_tokens: 0
          total_tokens: 248
"#;

#[test]
fn inspect_and_show_name_a_local_server_by_the_api_its_path_calls() {
    let dir = temp("local-server");
    let file = dir.join("local.yaml");
    std::fs::write(&file, LOCAL_OPENAI_COMPATIBLE).unwrap();

    let rows = inspect_rows(&file);
    assert_eq!(rows.len(), 1, "{rows:?}");
    let row = &rows[0];
    assert_eq!(row["url"], "http://127.0.0.1:40647/v1/chat/completions");
    assert_eq!(row["provider"], "openai_compatible", "{row}");
    assert_eq!(row["api"], "chat_completions", "{row}");
    assert_eq!(row["stream"], false, "{row}");
    assert_eq!(row["model"], "gpt-4o-2024-08-06", "{row}");
    assert_eq!(
        row["text"],
        "The main content of the document is \"Dummy PDF file.\""
    );
    assert_eq!(
        row["usage"],
        serde_json::json!({"input_tokens": 235, "output_tokens": 13})
    );
    assert_eq!(row["finish_reason"], "stop", "{row}");
    assert_eq!(row["error"], serde_json::Value::Null, "{row}");

    let (code, stdout, stderr) = run(llmvcr().args(["cassette", "show"]).arg(&file));
    assert_eq!(code, Some(0), "{stderr}");
    for expected in [
        "#0 POST http://127.0.0.1:40647/v1/chat/completions",
        "openai_compatible",
        "chat_completions",
        "Dummy PDF file.",
        "tokens: 235 in,",
    ] {
        assert!(stdout.contains(expected), "{expected} not in\n{stdout}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
