//! [`Shrunk`]: a failing schedule after shrinking, and its section of the report.

use std::fmt;
use std::path::PathBuf;

use crate::trace::Trace;

/// How many events of the shrunk trace a report shows.
const SHOWN: usize = 40;

/// A failing schedule after shrinking. Its `Display` is the report's "shrunk schedule"
/// section.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Shrunk {
    /// The trace of the shrunk run (policy `shrunk`, no seed).
    pub trace: Trace,
    /// Preemptions in the original failing run.
    pub preemptions_before: u32,
    /// Preemptions in the shrunk run.
    pub preemptions_after: u32,
    /// `buggify()` faults in the original failing run (when it recorded them).
    pub faults_before: u32,
    /// Faults the shrunk run still needs.
    pub faults_after: u32,
    /// Steps of the original failing run.
    pub steps_before: u64,
    /// Steps of the shrunk run.
    pub steps_after: u64,
    /// Distinct tasks polled in the original run.
    pub tasks_before: usize,
    /// Distinct tasks polled in the shrunk run.
    pub tasks_after: usize,
    /// One line per preemption (and per other departure from the default order), then
    /// the failure. Items are named by number (`task 3 "client-2"`, `timer 4`), so the
    /// lines do not change when unrelated code moves; [`named_story`](Shrunk::named_story)
    /// has the same lines with where each item came from.
    pub story: Vec<String>,
    /// The lines of [`story`](Shrunk::story) with each task, timer and callback named by
    /// where it came from, as the report shows them: `timer 4 (sleep 20ms in `client-2`
    /// at src/limiter.rs:42)`, `task 3 "client-2" (created at src/limiter.rs:30)`.
    pub named_story: Vec<String>,
    /// Where the shrunk trace was written, if it could be.
    pub path: Option<PathBuf>,
    /// One line to paste that replays the shrunk schedule.
    pub replay_command: String,
    /// Re-runs the shrinker made.
    pub runs: u32,
    /// How the report ends the story: the step at which the shrunk run fails, without
    /// the message (the report shows it once, above; `story`'s last line has it).
    pub(crate) ending: String,
}

impl fmt::Display for Shrunk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "  shrunk schedule: {} preemption{} -> {}, {} steps -> {}, {} tasks -> {} ({} re-runs)",
            self.preemptions_before,
            if self.preemptions_before == 1 {
                ""
            } else {
                "s"
            },
            self.preemptions_after,
            self.steps_before,
            self.steps_after,
            self.tasks_before,
            self.tasks_after,
            self.runs
        )?;
        if self.faults_before > 0 {
            writeln!(
                f,
                "  faults: {} buggify fault{} -> {} (the shrunk run keeps the faults it needs)",
                self.faults_before,
                if self.faults_before == 1 { "" } else { "s" },
                self.faults_after
            )?;
        }
        let told = self.named_story.len().saturating_sub(1);
        for entry in self.named_story[..told]
            .iter()
            .chain(std::iter::once(&self.ending))
        {
            let mut lines = entry.lines();
            writeln!(f, "    {}", lines.next().unwrap_or(""))?;
            for line in lines {
                writeln!(f, "      {line}")?;
            }
        }
        let n = self.trace.len();
        if n <= SHOWN {
            writeln!(f, "  shrunk trace ({n} events):")?;
        } else {
            writeln!(f, "  shrunk trace (last {SHOWN} of {n} events):")?;
        }
        for line in self.trace.render_tail(SHOWN).lines() {
            writeln!(f, "    {line}")?;
        }
        match &self.path {
            Some(p) => writeln!(f, "  shrunk trace file: {}", p.display())?,
            None => writeln!(f, "  shrunk trace file: (not written)")?,
        }
        writeln!(f, "  replay shrunk: {}", self.replay_command)
    }
}
