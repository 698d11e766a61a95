//! The recordings of one file, shared by its recorders in this process and
//! kept apart from those of other processes.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock, PoisonError, Weak};
use std::time::SystemTime;

use crate::error::CassetteError;
use crate::secrets::Scanner;
use crate::stored::{Cassette, Interaction};

/// The recordings of one file in this process, shared by every middleware that
/// records into it.
///
/// Recorders in other processes (test runners that run each test in a
/// process of its own) are kept apart by a lock on the file, held while
/// an interaction is appended. A file that another process changed after
/// this tape's first recorder was built, or that a process of the same test
/// run ([`Env::run_id`]) wrote last, holds that process's recordings, and
/// they are kept; otherwise the file is the recording being replaced.
pub(super) struct Tape {
    path: PathBuf,
    /// When the first middleware recording into this tape was built.
    since: SystemTime,
    /// The test run of that middleware.
    run_id: Option<String>,
    state: Mutex<TapeState>,
}

struct TapeState {
    cassette: Cassette,
    /// The file's length and modification time after this tape last wrote it.
    written: Option<(u64, SystemTime)>,
}

fn tapes() -> &'static Mutex<HashMap<PathBuf, Weak<Tape>>> {
    static TAPES: OnceLock<Mutex<HashMap<PathBuf, Weak<Tape>>>> = OnceLock::new();
    TAPES.get_or_init(|| Mutex::new(HashMap::new()))
}

impl Tape {
    /// The live tape for `path`, or a new one starting from `initial`, for a
    /// middleware built at `since`.
    pub(super) fn open(
        path: &Path,
        initial: Cassette,
        since: SystemTime,
        run_id: Option<String>,
    ) -> Arc<Tape> {
        let key = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
        let mut tapes = tapes().lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(tape) = tapes.get(&key).and_then(Weak::upgrade) {
            return tape;
        }
        tapes.retain(|_, tape| tape.strong_count() > 0);
        let tape = Arc::new(Tape {
            path: path.to_path_buf(),
            since,
            run_id,
            state: Mutex::new(TapeState {
                cassette: initial,
                written: None,
            }),
        });
        tapes.insert(key, Arc::downgrade(&tape));
        tape
    }

    /// Appends `interaction` and rewrites the file, after the recordings
    /// another process added to it. On failure the interaction is not kept
    /// and the file is unchanged.
    pub(super) fn append(
        &self,
        interaction: Interaction,
        scanner: &Scanner,
    ) -> Result<(), CassetteError> {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(parent) = self.path.parent()
            && !parent.as_os_str().is_empty()
        {
            std::fs::create_dir_all(parent).map_err(|error| CassetteError::Io {
                file: parent.display().to_string(),
                error,
            })?;
        }
        let mut lock = FileLock::exclusive(&self.path);
        let same_run = self.run_id.is_some() && lock.last_run() == self.run_id;
        if let Some(theirs) = self.written_elsewhere(&state, same_run)? {
            state.cassette = theirs;
        }
        state.cassette.interactions.push(interaction);
        match crate::write::save(&self.path, &state.cassette, scanner) {
            Ok(()) => {
                state.written = stamp(&self.path);
                lock.set_last_run(self.run_id.as_deref());
                Ok(())
            }
            Err(error) => {
                state.cassette.interactions.pop();
                Err(error)
            }
        }
    }

    /// The file as another process left it, when this tape did not write it
    /// last and it changed after this tape's first recorder was built, or a
    /// process of the same run (`same_run`) wrote it; `None` otherwise.
    fn written_elsewhere(
        &self,
        state: &TapeState,
        same_run: bool,
    ) -> Result<Option<Cassette>, CassetteError> {
        let Some(now) = stamp(&self.path) else {
            return Ok(None);
        };
        if state.written == Some(now) || (now.1 < self.since && !same_run) {
            return Ok(None);
        }
        crate::read::load(&self.path).map(Some)
    }
}

/// The length and modification time of the file at `path`, if it exists.
fn stamp(path: &Path) -> Option<(u64, SystemTime)> {
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.len(), meta.modified().ok()?))
}

/// An exclusive lock, across processes, on recording into one cassette file,
/// released when dropped. It is taken on a file in the system's temporary
/// folder named after the cassette's absolute path, so cassette folders stay
/// clean; the lock file holds the run id of the last writer. Where it cannot
/// be taken (no file locks on the platform, no writable temporary folder),
/// recording goes on without it, as within one process it needs none.
pub(super) struct FileLock {
    file: Option<std::fs::File>,
}

impl FileLock {
    fn exclusive(cassette: &Path) -> FileLock {
        let absolute = std::path::absolute(cassette).unwrap_or_else(|_| cassette.to_path_buf());
        // FNV-1a: the same name in every process, whatever built it.
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for byte in absolute.as_os_str().as_encoded_bytes() {
            hash = (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3);
        }
        let path = std::env::temp_dir().join(format!("llmvcr-{hash:016x}.lock"));
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(&path)
            .ok()
            .filter(|file| file.lock().is_ok());
        FileLock { file }
    }

    /// The run id the last writer left, if any.
    fn last_run(&mut self) -> Option<String> {
        use std::io::{Read as _, Seek as _};
        let file = self.file.as_mut()?;
        let mut text = String::new();
        file.rewind().ok()?;
        file.take(4096).read_to_string(&mut text).ok()?;
        let id = text.trim();
        (!id.is_empty()).then(|| id.to_owned())
    }

    /// Leaves `run` for the next writer. Best effort: at worst a later
    /// recorder of the same run replaces the file instead of adding to it.
    fn set_last_run(&mut self, run: Option<&str>) {
        use std::io::{Seek as _, Write as _};
        let Some(file) = self.file.as_mut() else {
            return;
        };
        if file.set_len(0).is_ok() && file.rewind().is_ok() {
            let _ = file.write_all(run.unwrap_or_default().as_bytes());
        }
    }
}
