//! A trace's in-memory window: how a long run keeps bounded memory.
//!
//! A loop's trace holds at most about `limit` records (8 bytes each) in memory. The loop
//! looks at the window between steps, every [`CHECK_EVERY`] steps (folded into its
//! step-budget countdown, so the check costs no instruction per step); once the window
//! holds half the limit, the trace *spills* all but its last quarter: those records are rendered once —
//! into the running FNV-1a digest of the whole text (so [`Trace::digest`] stays the
//! fingerprint of the complete run) and, if the loop streams its trace to a file, into
//! that file — and dropped. Counts (`len`, `steps`, `end_time`) stay those of the whole
//! run; `events()` and the reports see the window, whose step numbers and times are the
//! run's own. A spilled trace renders in its truncated form (see
//! [`Trace::is_truncated`]); the complete text is in the streamed file, which replays.
//!
//! A spill never splits a two-record event, and happens only between steps (a poll's
//! record, whose outcome is written when the poll ends, is never open then). The window
//! stays within the limit unless the [`CHECK_EVERY`] steps between two checks record
//! more than half of it (at the least limit, 512 records: about eight per step). Names of tasks whose spawn was spilled, and
//! the oldest origins, are dropped with it, so memory stays bounded however long the run.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use super::digest::Fnv1a;
use super::origin::ORIGINS_KEPT;
use super::{Event, Events, Trace, CHOOSE_N, CLOCK_HI, RANDOM_HI, SPAWN};
use crate::time::instant::Instant;

/// The default limit: 8 Mi records (64 MiB), far above a typical test's run.
pub(crate) const DEFAULT_LIMIT: usize = 8 << 20;

/// The least limit a loop accepts: 8 KiB, room for [`CHECK_EVERY`] steps of several
/// records each between two looks at the window.
pub(crate) const MIN_LIMIT: usize = 1024;

/// The loop looks at the window every this many steps (a power of two).
pub(crate) const CHECK_EVERY: u64 = 64;

/// What left memory: the run's state at the cut, and the digest of the text before it.
#[derive(Clone)]
pub(crate) struct Spilled {
    /// Events and steps before the window.
    pub(crate) events: usize,
    pub(crate) steps: u64,
    /// The clock at the cut.
    pub(crate) time: Instant,
    /// FNV-1a of the header and every spilled event line.
    pub(crate) digest: Fnv1a,
}

/// A file receiving the whole text as it is recorded.
pub(crate) struct Stream {
    path: PathBuf,
    out: BufWriter<File>,
    /// Records (counted from the run's first) already in the file.
    written: usize,
    /// The first write error, reported by [`Trace::finish_file`].
    error: Option<io::Error>,
}

impl Trace {
    /// Between steps: spills when the window holds half the limit (see the module docs).
    /// Out of line: it runs once per [`CHECK_EVERY`] steps, and inlined into the step
    /// loop it cost registers there.
    #[cold]
    #[inline(never)]
    pub(crate) fn check_window(&mut self) {
        if self.recs.len() >= self.limit / 2 {
            self.spill();
        }
    }

    /// Spills all but the window's last quarter of the limit (see the module docs).
    #[cold]
    #[inline(never)]
    fn spill(&mut self) {
        let len = self.recs.len();
        let mut cut = len.saturating_sub(self.limit / 4);
        if matches!(
            self.recs.get(cut).map(|r| r.kind),
            Some(CLOCK_HI | CHOOSE_N | RANDOM_HI)
        ) {
            cut += 1;
        }
        if cut == 0 {
            return;
        }
        self.write_stream(self.base + cut);
        let mut state = self.spilled.take().unwrap_or_else(|| {
            let mut digest = Fnv1a::new();
            let _ = self.write_header(&mut digest);
            Box::new(Spilled {
                events: 0,
                steps: 0,
                time: Instant::ZERO,
                digest,
            })
        });
        let mut text = Vec::with_capacity(4096);
        let mut events = Events::over(&self.recs[..cut], state.steps, state.time);
        for event in events.by_ref() {
            self.push_line(&mut text, &event);
            state.events += 1;
            if text.len() >= 4000 {
                state.digest = state.digest.bytes(&text);
                text.clear();
            }
        }
        state.digest = state.digest.bytes(&text);
        state.steps = events.step;
        state.time = events.time;
        for r in &self.recs[..cut] {
            if r.kind == SPAWN {
                self.names.remove(&r.id);
            }
        }
        self.recs.drain(..cut);
        self.base += cut;
        self.spilled = Some(state);
        self.origins.forget_oldest(ORIGINS_KEPT);
        if self.recs.capacity() > self.limit {
            self.recs.shrink_to(self.limit);
        }
    }

    /// Writes the records up to `end` (counted from the run's first) to the stream, if
    /// there is one and they are not there yet.
    fn write_stream(&mut self, end: usize) {
        let Some(mut s) = self.stream.take() else {
            return;
        };
        if s.error.is_none() && s.written < end {
            let (step, time) = self.window_start();
            // The stream always has every spilled record (it is written before a spill),
            // so what it lacks starts inside the window.
            let skip = s.written - self.base;
            let window = &self.recs[..end - self.base];
            let mut events = Events::over(window, step, time);
            let mut text = Vec::with_capacity(8192);
            loop {
                let at = window.len() - events.recs.as_slice().len();
                let Some(event) = events.next() else { break };
                if at < skip {
                    continue;
                }
                self.push_line(&mut text, &event);
                if text.len() >= 8000 {
                    if let Err(e) = s.out.write_all(&text) {
                        s.error = Some(e);
                        break;
                    }
                    text.clear();
                }
            }
            if s.error.is_none() {
                if let Err(e) = s.out.write_all(&text) {
                    s.error = Some(e);
                }
            }
            s.written = end;
        }
        self.stream = Some(s);
    }

    /// The step number and time just before the window's first record.
    fn window_start(&self) -> (u64, Instant) {
        self.spilled
            .as_ref()
            .map_or((0, Instant::ZERO), |s| (s.steps, s.time))
    }

    /// Events in memory (the window), as opposed to [`Trace::len`] (the whole run).
    pub(crate) fn window_events(&self) -> usize {
        self.events - self.spilled.as_ref().map_or(0, |s| s.events)
    }

    /// `true` once part of the run has left memory (see the module docs).
    pub(crate) fn has_spilled(&self) -> bool {
        self.spilled.is_some()
    }

    /// Sets the most records kept in memory (at least [`MIN_LIMIT`]).
    pub(crate) fn set_limit(&mut self, records: usize) {
        self.limit = records.max(MIN_LIMIT);
        if self.recs.capacity() > self.limit {
            self.recs.shrink_to(self.limit.max(self.recs.len()));
        }
    }

    /// Streams the whole text to a new file at `path`: what is recorded so far at once,
    /// later records as the window spills and when [`Trace::finish_file`] is called.
    pub(crate) fn stream_to(&mut self, path: &Path) -> io::Result<()> {
        if self.has_spilled() {
            return Err(io::Error::other(format!(
                "the trace already holds only its last {} of {} events in memory: stream it \
                 to a file before the run starts",
                self.window_events(),
                self.events
            )));
        }
        if let Some(s) = &self.stream {
            return Err(io::Error::other(format!(
                "the trace is already streamed to {}",
                s.path.display()
            )));
        }
        let mut out = BufWriter::new(File::create(path)?);
        let mut header = String::new();
        let _ = self.write_header(&mut header);
        out.write_all(header.as_bytes())?;
        self.stream = Some(Box::new(Stream {
            path: path.to_owned(),
            out,
            written: 0,
            error: None,
        }));
        Ok(())
    }

    /// Writes what the file does not have yet, flushes and closes it; returns its path.
    /// `None` if the trace is not streamed (or was finished already).
    pub(crate) fn finish_file(&mut self) -> Option<io::Result<PathBuf>> {
        self.write_stream(self.base + self.recs.len());
        let mut s = self.stream.take()?;
        Some(match s.error.take() {
            Some(e) => Err(e),
            None => s.out.flush().map(|()| std::mem::take(&mut s.path)),
        })
    }

    /// Events spilled out of memory.
    pub(crate) fn spilled_events(&self) -> usize {
        self.spilled.as_ref().map_or(0, |s| s.events)
    }

    /// The digest state after the header and the run's first `n` events, if this trace
    /// can tell (it spilled at most `n` events and holds the rest up to `n`).
    pub(crate) fn digest_through(&self, n: usize) -> Option<u64> {
        let spilled = self.spilled_events();
        if n < spilled || n > self.events {
            return None;
        }
        let hasher = match &self.spilled {
            Some(s) => s.digest,
            None => {
                let mut h = Fnv1a::new();
                let _ = self.write_header(&mut h);
                h
            }
        };
        Some(
            self.hash_events(hasher, self.events().take(n - spilled))
                .finish(),
        )
    }

    /// The digest's continuation over the window (see [`Trace::digest`]).
    pub(crate) fn digest_state(&self) -> Fnv1a {
        let hasher = match &self.spilled {
            Some(s) => s.digest,
            None => {
                let mut h = Fnv1a::new();
                let _ = self.write_header(&mut h);
                h
            }
        };
        self.hash_events(hasher, self.events())
    }

    /// `hasher` continued over the lines of `events`.
    fn hash_events(&self, mut hasher: Fnv1a, events: impl Iterator<Item = Event>) -> Fnv1a {
        let mut text = Vec::with_capacity(4096);
        for event in events {
            self.push_line(&mut text, &event);
            if text.len() >= 4000 {
                hasher = hasher.bytes(&text);
                text.clear();
            }
        }
        hasher.bytes(&text)
    }
}

impl Drop for Stream {
    fn drop(&mut self) {
        let _ = self.out.flush();
    }
}
