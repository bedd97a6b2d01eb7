//! [`TraceReader`]: reads a trace file event by event, in bounded memory — how a replay
//! follows a file too long to hold (a streamed run of any length).
//!
//! It parses each line with the same code as `FromStr` into a trace whose window is
//! small (see [`window`](super::window)), so it checks the same things, keeps the same
//! digest of the text as the run that wrote it, and never holds more than a window.

use std::collections::BTreeSet;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use super::format::{parse_header, HEADER_EXPECTED};
use super::{Event, Events, ParseError, Trace};

/// Records the reader keeps in memory (its trace's window).
const WINDOW: usize = 1 << 16;

/// Task ids remembered to reject a second `spawn` of one id; past this many the set starts
/// over (a corrupt file then shows as a replay divergence instead).
const SPAWNED_KEPT: usize = 1 << 20;

/// Reads a trace file lazily (see the module docs).
pub(crate) struct TraceReader {
    path: PathBuf,
    lines: std::io::Lines<BufReader<File>>,
    line: usize,
    trace: Trace,
    spawned: BTreeSet<u32>,
}

impl TraceReader {
    /// Opens `path` and reads its header. A truncated file (see [`Trace::is_truncated`])
    /// is refused by the caller, which reads the header's `# truncated:` line first.
    pub(crate) fn open(path: &Path) -> Result<TraceReader, String> {
        let file = File::open(path)
            .map_err(|e| format!("cannot read trace file {}: {e}", path.display()))?;
        let mut lines = BufReader::new(file).lines();
        let mut line = 0;
        let bad = |line: usize, expected: String, found: String| {
            let e = ParseError {
                line,
                expected,
                found,
            };
            format!("malformed trace file {}: {e}", path.display())
        };
        let trace = loop {
            line += 1;
            let raw = match lines.next() {
                Some(Ok(raw)) => raw,
                Some(Err(e)) => {
                    return Err(format!("cannot read trace file {}: {e}", path.display()))
                }
                None => {
                    return Err(bad(
                        line,
                        HEADER_EXPECTED.to_owned(),
                        "<end of input>".to_owned(),
                    ))
                }
            };
            let text = raw.strip_suffix('\r').unwrap_or(&raw);
            if text.starts_with("# truncated:") {
                return Err(format!(
                    "trace file {} is truncated (the run was too long to record in full), so it \
                     cannot be replayed step by step: {}",
                    path.display(),
                    text.trim_start_matches("# truncated:").trim()
                ));
            }
            if text.is_empty() || text.starts_with('#') {
                continue;
            }
            break parse_header(text).map_err(|(x, f)| bad(line, x, f))?;
        };
        let mut trace = trace;
        trace.set_limit(WINDOW);
        Ok(TraceReader {
            path: path.to_owned(),
            lines,
            line,
            trace,
            spawned: BTreeSet::new(),
        })
    }

    /// The recorded policy's name and seed.
    pub(crate) fn header(&self) -> (&str, Option<u64>) {
        (self.trace.policy(), self.trace.seed())
    }

    /// The next event, `None` at the end of the file.
    pub(crate) fn next_event(&mut self) -> Result<Option<Event>, String> {
        loop {
            self.line += 1;
            let raw = match self.lines.next() {
                Some(Ok(raw)) => raw,
                Some(Err(e)) => {
                    return Err(format!(
                        "cannot read trace file {}: {e}",
                        self.path.display()
                    ))
                }
                None => return Ok(None),
            };
            let text = raw.strip_suffix('\r').unwrap_or(&raw);
            if text.is_empty() || text.starts_with('#') {
                continue;
            }
            if self.spawned.len() > SPAWNED_KEPT {
                self.spawned.clear();
            }
            // Keep the window bounded (before parsing: the new event's records stay put).
            self.trace.check_window();
            let (steps, time) = (self.trace.steps(), self.trace.end_time());
            let before = self.trace.base + self.trace.recs.len();
            self.trace
                .parse_event(text, &mut self.spawned)
                .map_err(|(expected, found)| {
                    let e = ParseError {
                        line: self.line,
                        expected,
                        found,
                    };
                    format!("malformed trace file {}: {e}", self.path.display())
                })?;
            let from = before - self.trace.base;
            let mut events = Events::over(&self.trace.recs[from..], steps, time);
            if let Some(e) = events.next() {
                return Ok(Some(e));
            }
        }
    }

    /// Reads to the end; returns the whole recorded trace's event count, step count and
    /// digest (the fingerprint the run that wrote it had).
    pub(crate) fn finish(mut self) -> Result<(usize, u64, u64), String> {
        while self.next_event()?.is_some() {}
        Ok((self.trace.len(), self.trace.steps(), self.trace.digest()))
    }
}

impl std::fmt::Debug for TraceReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TraceReader")
            .field("path", &self.path)
            .field("line", &self.line)
            .finish()
    }
}

/// Reads `trace`'s own text back through a reader (for tests).
#[cfg(test)]
pub(crate) fn read_all(path: &Path) -> Result<Vec<Event>, String> {
    let mut r = TraceReader::open(path)?;
    let mut out = Vec::new();
    while let Some(e) = r.next_event()? {
        out.push(e);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::task::id::TaskId;
    use crate::time::instant::Instant;
    use crate::trace::{SPAWN, WAKE};

    #[test]
    fn reads_a_long_streamed_trace_in_a_small_window() {
        let dir = std::env::temp_dir().join(format!("simloop-reader-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("long.trace");
        let mut full = Trace::new("random", Some(9));
        let mut small = Trace::new("random", Some(9));
        small.set_limit(1024);
        small.stream_to(&path).unwrap();
        for t in [&mut full, &mut small] {
            for i in 1..=3000u32 {
                t.check_window();
                t.push(SPAWN, 0, i);
                t.set_name(TaskId::from_raw(i), &format!("t{i}"));
                let r = t.begin_poll(TaskId::from_raw(i));
                t.push(WAKE, 0, i);
                t.end_poll(r, crate::trace::PollOutcome::Ready);
                if i % 7 == 0 {
                    t.push_clock(Instant::from_nanos(u64::from(i) << 20));
                    t.push_choose(3, i % 3);
                    t.push_random(u64::from(i) * 0x1234_5678_9abc);
                    t.push_buggify(i, i % 2 == 0);
                }
            }
        }
        assert!(small.is_truncated() && !full.is_truncated());
        assert!(small.memory_bytes() <= 1024 * 8, "{}", small.memory_bytes());
        assert_eq!(small.len(), full.len());
        assert_eq!(small.steps(), full.steps());
        assert_eq!(small.end_time(), full.end_time());
        assert_eq!(small.digest(), full.digest());
        assert_eq!(small, full);
        // The window's events are the full trace's last ones, with the run's numbers.
        let tail: Vec<Event> = small.events().collect();
        let all: Vec<Event> = full.events().collect();
        assert_eq!(tail[..], all[all.len() - tail.len()..]);
        assert_eq!(small.render_tail(5), full.render_tail(5));
        small.finish_file().unwrap().unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text, full.to_string());
        assert_eq!(read_all(&path).unwrap(), all);
        let (events, steps, digest) = TraceReader::open(&path).unwrap().finish().unwrap();
        assert_eq!(
            (events, steps, digest),
            (full.len(), full.steps(), full.digest())
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
