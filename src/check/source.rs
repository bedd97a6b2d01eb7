//! [`TraceSource`]: where a replay reads its trace from.

use std::fs;
use std::path::{Path, PathBuf};

use std::cell::Cell;

use crate::trace::Trace;

/// Something a recorded trace can be read from: a [`Trace`], trace text (`&str`,
/// `String`) or a file (`&Path`, `PathBuf`). A file longer than 64 MiB is not loaded:
/// a replay reads it as the run goes, in bounded memory.
pub trait TraceSource {
    /// Reads the trace; the error says what was wrong and where.
    fn load(self) -> Result<(Trace, Option<PathBuf>), String>;

    /// What a replay follows: the loaded trace, or a long file read as the run goes.
    #[doc(hidden)]
    fn load_recorded(self) -> Result<Recorded, String>
    where
        Self: Sized,
    {
        self.load().map(|(t, p)| Recorded::Loaded(Box::new(t), p))
    }
}

/// A replay's recorded trace: loaded whole, or a file read as the run goes.
#[doc(hidden)]
#[derive(Clone, Debug)]
pub enum Recorded {
    /// The whole trace, and the file it came from.
    Loaded(Box<Trace>, Option<PathBuf>),
    /// A file too long to load (see [`stream_replay_above`]).
    File(PathBuf),
}

/// Trace files longer than this (bytes) are replayed as they are read.
pub(crate) const STREAM_REPLAY_ABOVE: u64 = 64 << 20;

thread_local! {
    static STREAM_ABOVE: Cell<u64> = const { Cell::new(STREAM_REPLAY_ABOVE) };
}

/// Sets, for this thread, the size above which a trace file is replayed as it is read
/// (tests use 0 to take that path with small files); returns the previous value.
pub(crate) fn set_stream_replay_above(bytes: u64) -> u64 {
    STREAM_ABOVE.with(|c| c.replace(bytes))
}

/// The size above which a trace file is replayed as it is read.
pub(crate) fn stream_replay_above() -> u64 {
    STREAM_ABOVE.with(Cell::get)
}

/// `path` as a replay follows it: streamed when long, else loaded.
pub(crate) fn recorded_file(path: &Path) -> Result<Recorded, String> {
    let len = fs::metadata(path)
        .map_err(|e| format!("cannot read trace file {}: {e}", path.display()))?
        .len();
    if len > stream_replay_above() {
        // Read the header now, so a wrong file is reported before anything runs.
        crate::trace::reader::TraceReader::open(path)?;
        Ok(Recorded::File(path.to_path_buf()))
    } else {
        path.load().map(|(t, p)| Recorded::Loaded(Box::new(t), p))
    }
}

impl TraceSource for Trace {
    fn load(self) -> Result<(Trace, Option<PathBuf>), String> {
        Ok((self, None))
    }
}

impl TraceSource for &Trace {
    fn load(self) -> Result<(Trace, Option<PathBuf>), String> {
        Ok((self.clone(), None))
    }
}

impl TraceSource for &str {
    fn load(self) -> Result<(Trace, Option<PathBuf>), String> {
        self.parse::<Trace>()
            .map(|t| (t, None))
            .map_err(|e| format!("malformed trace text: {e}"))
    }
}

impl TraceSource for String {
    fn load(self) -> Result<(Trace, Option<PathBuf>), String> {
        self.as_str().load()
    }
}

impl TraceSource for &Path {
    fn load(self) -> Result<(Trace, Option<PathBuf>), String> {
        let text = fs::read_to_string(self)
            .map_err(|e| format!("cannot read trace file {}: {e}", self.display()))?;
        text.parse::<Trace>()
            .map(|t| (t, Some(self.to_path_buf())))
            .map_err(|e| format!("malformed trace file {}: {e}", self.display()))
    }
    fn load_recorded(self) -> Result<Recorded, String> {
        recorded_file(self)
    }
}

impl TraceSource for PathBuf {
    fn load(self) -> Result<(Trace, Option<PathBuf>), String> {
        self.as_path().load()
    }
    fn load_recorded(self) -> Result<Recorded, String> {
        recorded_file(&self)
    }
}

impl TraceSource for &PathBuf {
    fn load(self) -> Result<(Trace, Option<PathBuf>), String> {
        self.as_path().load()
    }
    fn load_recorded(self) -> Result<Recorded, String> {
        recorded_file(self)
    }
}
