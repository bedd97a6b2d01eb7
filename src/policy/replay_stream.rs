//! [`StreamReplay`]: [`Replay`](super::Replay) for a trace file read as the run goes, so a
//! run of any length replays in bounded memory.

use std::collections::VecDeque;

use super::replay::{ended, follow, step_of, Recorded};
use super::{Decision, Policy, StepRef};
use crate::error::LoopError;
use crate::trace::reader::TraceReader;

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
    recorded: Recorded,
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
            recorded: Recorded::default(),
            taken: 0,
            done: false,
            error: None,
        }
    }

    /// Reads one more event into the queues; `false` at the end, after an error, or when
    /// too much is read ahead.
    fn pull(&mut self) -> bool {
        let queued = self.steps.len() + self.recorded.len();
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
        if !self.recorded.note(&event.kind) {
            if let Some(step) = step_of(&event.kind) {
                self.steps.push_back(step);
            }
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
        while !self.recorded.has_buggify() && self.pull() {}
        self.recorded.buggify(self.seed, site, hit)
    }
    fn user_choice(&mut self, n: u32) -> Option<u32> {
        while !self.recorded.has_choice() && self.pull() {}
        self.recorded.user_choice(n)
    }
    fn random_u64(&mut self) -> Option<u64> {
        while !self.recorded.has_random() && self.pull() {}
        self.recorded.random_u64()
    }
    fn choose(&mut self, d: &Decision<'_>) -> Result<usize, LoopError> {
        while self.steps.is_empty() && self.pull() {}
        let exp = self.steps.pop_front();
        self.taken += u64::from(exp.is_some());
        let (error, taken) = (&self.error, self.taken);
        follow(d, exp.as_ref(), || match error {
            Some(e) => format!("the file to go on ({e})"),
            None => ended(taken as usize),
        })
    }
}
