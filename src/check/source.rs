//! [`TraceSource`]: where a replay reads its trace from.

use std::fs;
use std::path::{Path, PathBuf};

use crate::trace::Trace;

/// Something a recorded trace can be read from: a [`Trace`], trace text (`&str`,
/// `String`) or a file (`&Path`, `PathBuf`).
pub trait TraceSource {
    /// Reads the trace; the error says what was wrong and where.
    fn load(self) -> Result<(Trace, Option<PathBuf>), String>;
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
}

impl TraceSource for PathBuf {
    fn load(self) -> Result<(Trace, Option<PathBuf>), String> {
        self.as_path().load()
    }
}

impl TraceSource for &PathBuf {
    fn load(self) -> Result<(Trace, Option<PathBuf>), String> {
        self.as_path().load()
    }
}
