//! Writing format v1 files: stable YAML, a secret scan, and atomic saves.

use std::io::Write as _;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::{CassetteError, Result};
use crate::secrets::Scanner;
use crate::stored::Cassette;

/// The name used in errors for a cassette that has no file.
const IN_MEMORY: &str = "(cassette)";

/// Writes a cassette as format v1 YAML.
///
/// The output is stable: keys come in a fixed order (JSON objects keep
/// theirs), each interaction is one item of a block list, and nothing is
/// written that changes between runs, so re-recording one interaction
/// changes only that interaction's lines. JSON bodies and frames are YAML
/// structures; strings that YAML would read as something else are quoted.
/// [`parse`](crate::parse) reads the output back equal.
///
/// # Errors
///
/// [`CassetteError::Schema`] if the YAML emitter fails, which a well-formed
/// [`Cassette`] does not make it do.
pub fn to_yaml(cassette: &Cassette) -> Result<String> {
    yaml_serde::to_string(cassette).map_err(|err| CassetteError::Schema {
        file: IN_MEMORY.to_owned(),
        line: None,
        column: None,
        message: format!("cannot write YAML: {err}"),
    })
}

/// Scans a cassette for secrets, then writes it to `path` atomically.
///
/// Nothing is written when the [`Scanner`] finds anything. Otherwise the
/// parent folders are created, the YAML goes to a uniquely named temporary
/// file in the same folder, is flushed to disk, and is renamed over `path`.
/// A reader never sees a half-written file, an interrupted write leaves at
/// most a stray `.tmp` file, and tests that record into one folder in
/// parallel do not interfere.
///
/// # Errors
///
/// [`CassetteError::Secret`] with every finding, or [`CassetteError::Io`].
pub fn save(path: &Path, cassette: &Cassette, scanner: &Scanner) -> Result<()> {
    let findings = scanner.scan_cassette(cassette);
    if !findings.is_empty() {
        return Err(CassetteError::Secret {
            file: path.display().to_string(),
            findings,
        });
    }
    let yaml = to_yaml(cassette)?;
    write_atomic(path, yaml.as_bytes())
}

/// Writes `contents` to `path` atomically: parent folders are created, then
/// a uniquely named temporary file in the same folder is written, synced and
/// renamed over `path`.
///
/// # Errors
///
/// [`CassetteError::Io`] naming `path`.
pub fn write_atomic(path: &Path, contents: &[u8]) -> Result<()> {
    write_file(path, contents, true)
}

/// Writes `contents` to `path` through a temporary file and a rename, synced
/// to disk when `durable`.
pub(crate) fn write_file(path: &Path, contents: &[u8], durable: bool) -> Result<()> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let file = path.display().to_string();
    let io = |error: std::io::Error| CassetteError::Io {
        file: file.clone(),
        error,
    };
    let name = path.file_name().ok_or_else(|| {
        io(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "the path has no file name",
        ))
    })?;
    let dir = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    std::fs::create_dir_all(&dir).map_err(io)?;
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let unique = format!(
        ".{}.{}-{}-{nanos}.tmp",
        name.to_string_lossy(),
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    );
    let temp = dir.join(unique);
    let written = (|| {
        let mut out = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temp)?;
        out.write_all(contents)?;
        if durable {
            out.sync_all()?;
        }
        drop(out);
        std::fs::rename(&temp, path)
    })();
    if let Err(error) = written {
        let _ = std::fs::remove_file(&temp);
        return Err(io(error));
    }
    // Make the rename itself durable where the platform allows it.
    #[cfg(unix)]
    if durable && let Ok(handle) = std::fs::File::open(&dir) {
        let _ = handle.sync_all();
    }
    Ok(())
}
