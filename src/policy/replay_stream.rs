//! [`StreamReplay`]: [`Replay`](super::Replay) for a trace file read as the run goes, so a
//! run of any length replays in bounded memory.

use std::collections::VecDeque;

use super::{describe, seeded_buggify, CandidateKind, Decision, Policy, StepRef};
use crate::error::LoopError;
use crate::trace::reader::TraceReader;
use crate::trace::EventKind;

/// Decisions read ahead of the run (while looking for the next one of another kind) are
/// kept up to this many; past it the replay stops reading ahead and the run diverges.
const LOOKAHEAD: usize = 1 << 20;

/// Follows a trace file event by event (see the module docs). Each decision kind (steps,
/// `buggify`, `choose`, `rng`) is taken in its recorded order, as [`Replay`](super::Replay)
/// does; a decision the file does not have where the run asks for it is a divergence.
pub(crate) struct StreamReplay {
    policy: String,
    seed: Option<u64>,
    reader: TraceReader,
    steps: VecDeque<StepRef>,
    buggify: VecDeque<(u32, bool)>,
    choices: VecDeque<(u32, u32)>,
    randoms: VecDeque<u64>,
    /// Steps taken from the file so far.
    taken: u64,
    /// `true` once the file is read to its end.
    done: bool,
    /// A read or parse error met while reading ahead.
    error: Option<String>,
}

impl StreamReplay {
    pub(crate) fn new(reader: TraceReader) -> StreamReplay {
        let (policy, seed) = reader.header();
        StreamReplay {
            policy: policy.to_owned(),
            seed,
            reader,
            steps: VecDeque::new(),
            buggify: VecDeque::new(),
            choices: VecDeque::new(),
            randoms: VecDeque::new(),
            taken: 0,
            done: false,
            error: None,
        }
    }

    /// Reads one more event into the queues; `false` at the end, after an error, or when
    /// too much is read ahead.
    fn pull(&mut self) -> bool {
        let queued =
            self.steps.len() + self.buggify.len() + self.choices.len() + self.randoms.len();
        if self.done || self.error.is_some() || queued >= LOOKAHEAD {
            return false;
        }
        let event = match self.reader.next_event() {
            Ok(Some(e)) => e,
            Ok(None) => {
                self.done = true;
                return false;
            }
            Err(e) => {
                self.error = Some(e);
                return false;
            }
        };
        let step = |kind, id| Some(StepRef { kind, id });
        let s = match event.kind {
            EventKind::Poll { task, .. } => step(CandidateKind::Task, task.as_u32()),
            EventKind::Timer { timer } => step(CandidateKind::Timer, timer),
            EventKind::Callback { handle } => step(CandidateKind::Callback, handle),
            EventKind::Stop => step(CandidateKind::Stop, 0),
            EventKind::Buggify { site, fired } => {
                self.buggify.push_back((site, fired));
                None
            }
            EventKind::Choose { n, chosen } => {
                self.choices.push_back((n, chosen));
                None
            }
            EventKind::Random { value } => {
                self.randoms.push_back(value);
                None
            }
            _ => None,
        };
        if let Some(s) = s {
            self.steps.push_back(s);
        }
        true
    }

    /// The reader, to read the rest of the file once the run ended, and any error met
    /// while reading ahead.
    pub(crate) fn into_reader(self) -> (TraceReader, Option<String>) {
        (self.reader, self.error)
    }
}

impl Policy for StreamReplay {
    fn name(&self) -> String {
        self.policy.clone()
    }
    fn seed(&self) -> Option<u64> {
        self.seed
    }
    fn every_step(&self) -> bool {
        true
    }
    fn buggify(&mut self, site: u32, hit: u32) -> Option<bool> {
        while self.buggify.is_empty() && self.pull() {}
        match self.buggify.front() {
            Some(&(s, v)) if s == site => {
                self.buggify.pop_front();
                Some(v)
            }
            _ => self.seed.map(|seed| seeded_buggify(seed, site, hit)),
        }
    }
    fn user_choice(&mut self, n: u32) -> Option<u32> {
        while self.choices.is_empty() && self.pull() {}
        match self.choices.front() {
            Some(&(m, k)) if m == n => {
                self.choices.pop_front();
                Some(k)
            }
            _ => None,
        }
    }
    fn random_u64(&mut self) -> Option<u64> {
        while self.randoms.is_empty() && self.pull() {}
        self.randoms.pop_front()
    }
    fn choose(&mut self, d: &Decision<'_>) -> Result<usize, LoopError> {
        while self.steps.is_empty() && self.pull() {}
        let Some(exp) = self.steps.pop_front() else {
            let expected = match &self.error {
                Some(e) => format!("the file to go on ({e})"),
                None => format!(
                    "the run to end (the trace has {} step{})",
                    self.taken,
                    if self.taken == 1 { "" } else { "s" }
                ),
            };
            return Err(LoopError::Divergence {
                step: d.step,
                expected,
                runnable: describe(d.candidates),
            });
        };
        self.taken += 1;
        d.candidates
            .iter()
            .position(|c| c.kind == exp.kind && c.id == exp.id)
            .ok_or_else(|| LoopError::Divergence {
                step: d.step,
                expected: exp.to_string(),
                runnable: describe(d.candidates),
            })
    }
}
