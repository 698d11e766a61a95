//! The load cache: a cassette compiled for replay, kept under `target/`.
//!
//! Reading a cassette's YAML is the slow part of loading it, and under a
//! test runner that runs each test in a process of its own (nextest) every
//! process loads its cassette again. So the first load of a file writes what
//! it read, with every request's match key, to a cache file named after a
//! hash (XXH3-128) of the file's bytes and of the match rules that decide
//! keys; every later load of the same bytes, in any process, reads that
//! instead: MessagePack, whose strings are copied, not parsed.
//!
//! The cache lives in `$LLMVCR_CACHE_DIR` when it is set (`off` turns the
//! cache off), else in `llmvcr-cache/` of the Cargo target folder the running
//! program was built in (found by its `CACHEDIR.TAG`), and nowhere otherwise.
//! It is derived data: a cache file that cannot be read, or that does not
//! belong to the bytes it is named after, is ignored and written again, and a
//! folder that cannot be written to only means that the next load reads the
//! YAML again.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use crate::error::{CassetteError, Result};
use crate::matcher::{MatchRules, RequestKey, keys_of};
use crate::stored::Cassette;

/// What changes when the layout of a cache file does.
const LAYOUT: &str = concat!("llmvcr-cache-1-", env!("CARGO_PKG_VERSION"));

/// A cassette ready for replay: what was read, and each request's match key
/// and exact-bytes digest.
#[derive(Debug)]
pub(crate) struct Loaded {
    pub(crate) cassette: Cassette,
    pub(crate) keys: Vec<(RequestKey, RequestKey)>,
}

#[derive(Serialize, Deserialize)]
struct CacheFile {
    layout: String,
    source: [u64; 2],
    rules: u64,
    cassette: Cassette,
    keys: Vec<[u64; 4]>,
}

/// Where the load cache is: `$LLMVCR_CACHE_DIR`, else the Cargo target folder
/// of the running program, else nowhere.
pub(crate) fn default_dir() -> Option<PathBuf> {
    static DIR: OnceLock<Option<PathBuf>> = OnceLock::new();
    DIR.get_or_init(|| match std::env::var_os("LLMVCR_CACHE_DIR") {
        Some(dir) if dir == "off" || dir.is_empty() => None,
        Some(dir) => Some(PathBuf::from(dir)),
        None => target_dir().map(|target| target.join("llmvcr-cache")),
    })
    .clone()
}

/// The Cargo target folder the running program lives in: the nearest
/// ancestor of the executable that holds Cargo's `CACHEDIR.TAG`.
fn target_dir() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    exe.ancestors()
        .skip(1)
        .take(4)
        .find(|dir| dir.join("CACHEDIR.TAG").is_file())
        .map(Path::to_path_buf)
}

/// Reads the cassette at `path` for replay under `rules`, through the cache
/// in `dir` when there is one. `source` names the file in errors.
pub(crate) fn load(
    path: &Path,
    source: &str,
    rules: &MatchRules,
    dir: Option<&Path>,
) -> Result<Loaded> {
    let io = |error| CassetteError::Io {
        file: source.to_owned(),
        error,
    };
    let Some(dir) = dir else {
        let bytes = std::fs::read(path).map_err(io)?;
        return compile(&bytes, source, rules);
    };
    // The hash is taken reading the file in pieces, and the cache is decoded
    // from a reader, so a warm load holds the cassette and little else.
    let hash = hash_file(path).map_err(io)?;
    #[allow(clippy::cast_possible_truncation)]
    let source_words = [(hash >> 64) as u64, hash as u64];
    let fingerprint = rules.key_fingerprint();
    let file = dir.join(format!("{hash:032x}-{fingerprint:016x}.msgpack"));
    if let Some(loaded) = read_cache(&file, source_words, fingerprint) {
        return Ok(loaded);
    }
    let bytes = std::fs::read(path).map_err(io)?;
    let loaded = compile(&bytes, source, rules)?;
    drop(bytes);
    write_cache(&file, source_words, fingerprint, &loaded);
    Ok(loaded)
}

/// The XXH3-128 hash of a file's bytes.
fn hash_file(path: &Path) -> std::io::Result<u128> {
    use std::io::Read as _;
    let mut file = std::fs::File::open(path)?;
    let mut hasher = xxhash_rust::xxh3::Xxh3::new();
    let mut buf = [0; 16 * 1024];
    loop {
        match file.read(&mut buf) {
            Ok(0) => return Ok(hasher.digest128()),
            Ok(n) => hasher.update(buf.get(..n).unwrap_or_default()),
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
}

/// Parses the YAML and computes the keys.
fn compile(bytes: &[u8], source: &str, rules: &MatchRules) -> Result<Loaded> {
    let text = crate::import::utf8(bytes).map_err(|error| CassetteError::Io {
        file: source.to_owned(),
        error,
    })?;
    let cassette = crate::read::parse(text, source)?;
    let keys = keys_of(rules, &cassette.interactions);
    Ok(Loaded { cassette, keys })
}

fn read_cache(file: &Path, source: [u64; 2], rules: u64) -> Option<Loaded> {
    let reader = std::io::BufReader::new(std::fs::File::open(file).ok()?);
    let cached: CacheFile = rmp_serde::from_read(reader).ok()?;
    let fits = cached.layout == LAYOUT
        && cached.source == source
        && cached.rules == rules
        && cached.keys.len() == cached.cassette.interactions.len();
    if !fits {
        return None;
    }
    let keys = cached
        .keys
        .into_iter()
        .map(|[a, b, c, d]| {
            (
                RequestKey::from_words([a, b]),
                RequestKey::from_words([c, d]),
            )
        })
        .collect();
    Some(Loaded {
        cassette: cached.cassette,
        keys,
    })
}

/// Writes the cache file; best effort, since the cache is only derived data.
fn write_cache(file: &Path, source: [u64; 2], rules: u64, loaded: &Loaded) {
    #[derive(Serialize)]
    struct CacheRef<'a> {
        layout: &'a str,
        source: [u64; 2],
        rules: u64,
        cassette: &'a Cassette,
        keys: Vec<[u64; 4]>,
    }
    let keys = loaded
        .keys
        .iter()
        .map(|(key, exact)| {
            let [a, b] = key.to_words();
            let [c, d] = exact.to_words();
            [a, b, c, d]
        })
        .collect();
    let cache = CacheRef {
        layout: LAYOUT,
        source,
        rules,
        cassette: &loaded.cassette,
        keys,
    };
    if let Ok(bytes) = rmp_serde::to_vec_named(&cache) {
        let _ = crate::write::write_file(file, &bytes, false);
    }
}
