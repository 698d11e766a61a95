//! Loading: the reader that splits a file at its interactions, and the load
//! cache.

use llmvcr_cassette::{Cassette, CassetteMiddleware, Env, MatchRules, Mode, parse, to_yaml};

use crate::support::v1_cassettes;

/// The text parsed as one YAML document, the reference reading.
fn whole(text: &str) -> Cassette {
    yaml_serde::from_str(text).unwrap()
}

#[test]
fn reading_by_interaction_equals_reading_the_whole_document() {
    let files = v1_cassettes();
    assert!(files.len() > 100, "{}", files.len());
    for path in files {
        let text = std::fs::read_to_string(&path).unwrap();
        let name = path.display().to_string();
        assert_eq!(parse(&text, &name).unwrap(), whole(&text), "{name}");
    }
}

#[test]
fn layouts_the_split_does_not_fit_are_read_whole() {
    let cases = [
        // Flow-style list.
        "llmvcr: 1\ninteractions: [{request: {method: GET, url: 'https://x/a'}, response: {status: 200}}]\n",
        // Items indented under the key.
        "llmvcr: 1\ninteractions:\n  - request: {method: GET, url: 'https://x/a'}\n    response: {status: 200}\n",
        // An anchor in one item used in the next.
        "llmvcr: 1\ninteractions:\n- request: &r {method: GET, url: 'https://x/a'}\n  response: {status: 200}\n- request: *r\n  response: {status: 201}\n",
        // The version after the list, and a comment between items.
        "interactions:\n- request: {method: GET, url: 'https://x/a'}\n  response: {status: 200}\n# between\n- request: {method: GET, url: 'https://x/b'}\n  response: {status: 204}\nllmvcr: 1\n",
    ];
    for text in cases {
        assert_eq!(parse(text, "case.yaml").unwrap(), whole(text), "{text}");
    }
}

#[test]
fn errors_inside_an_interaction_name_the_whole_file_line() {
    let text = "llmvcr: 1\ninteractions:\n- request: {method: GET, url: 'https://x/a'}\n  response: {status: 200}\n- request: {method: GET, url: 'https://x/b'}\n  response: {status: 200, bogus: 1}\n";
    let err = parse(text, "bad.yaml").unwrap_err().to_string();
    assert!(err.starts_with("bad.yaml:6:"), "{err}");
    assert!(err.contains("bogus"), "{err}");
    let wrong = "llmvcr: 2\ninteractions:\n- request: {method: GET, url: 'https://x/a'}\n  response: {status: 200}\n";
    let err = parse(wrong, "v2.yaml").unwrap_err().to_string();
    assert!(err.contains("llmvcr: 2"), "{err}");
}

fn cache_files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(dir)
        .map(|entries| entries.flatten().map(|e| e.path()).collect())
        .unwrap_or_default()
}

fn replaying(path: &std::path::Path, cache: Option<std::path::PathBuf>) -> CassetteMiddleware {
    CassetteMiddleware::builder(path)
        .mode(Mode::Replay)
        .env(Env::default())
        .match_rules(MatchRules::new().with_ignored_pointer("/user"))
        .cache_dir(cache)
        .build()
        .unwrap()
}

#[test]
fn a_second_load_reads_the_cache_and_replays_the_same() {
    let dir = tempdir("cache-warm");
    let cache = dir.join("cache");
    let source = v1_cassettes()
        .into_iter()
        .find(|p| p.to_string_lossy().contains("scenarios/cassettes/openai"))
        .unwrap();
    let path = dir.join("c.yaml");
    std::fs::copy(&source, &path).unwrap();
    let cold = replaying(&path, Some(cache.clone()));
    let files = cache_files(&cache);
    assert_eq!(files.len(), 1, "{files:?}");
    let warm = replaying(&path, Some(cache.clone()));
    assert_eq!(cold.cassette(), warm.cassette());
    assert_eq!(warm.cassette(), llmvcr_cassette::load(&path).unwrap());

    // Other rules key differently: a cache file of their own.
    let _ = CassetteMiddleware::builder(&path)
        .mode(Mode::Replay)
        .env(Env::default())
        .cache_dir(Some(cache.clone()))
        .build()
        .unwrap();
    assert_eq!(cache_files(&cache).len(), 2);

    // A changed file is read again, not taken from the old cache.
    let mut changed = llmvcr_cassette::load(&path).unwrap();
    changed.interactions[0].response.status = 299;
    std::fs::write(&path, to_yaml(&changed).unwrap()).unwrap();
    let again = replaying(&path, Some(cache.clone()));
    assert_eq!(again.cassette().interactions[0].response.status, 299);
}

#[test]
fn a_broken_or_foreign_cache_file_is_ignored_and_rewritten() {
    let dir = tempdir("cache-broken");
    let cache = dir.join("cache");
    let path = dir.join("c.yaml");
    let text = "llmvcr: 1\ninteractions:\n- request: {method: GET, url: 'https://x/a'}\n  response: {status: 200, body: {json: {a: 1}}}\n";
    std::fs::write(&path, text).unwrap();
    let _ = replaying(&path, Some(cache.clone()));
    let file = cache_files(&cache).pop().unwrap();
    for junk in [&b"not msgpack"[..], &[]] {
        std::fs::write(&file, junk).unwrap();
        let m = replaying(&path, Some(cache.clone()));
        assert_eq!(m.cassette(), parse(text, "c.yaml").unwrap());
        assert!(std::fs::metadata(&file).unwrap().len() > 20);
    }
}

#[test]
fn a_cache_folder_that_cannot_be_written_is_no_error() {
    let dir = tempdir("cache-readonly");
    let path = dir.join("c.yaml");
    std::fs::write(&path, "llmvcr: 1\ninteractions: []\n").unwrap();
    // A file where the folder should be: nothing can be written below it.
    let blocked = dir.join("blocked");
    std::fs::write(&blocked, "").unwrap();
    let m = replaying(&path, Some(blocked.join("cache")));
    assert!(m.is_empty());
    let off = replaying(&path, None);
    assert!(off.is_empty());
}

fn tempdir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("llmvcr-load-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
