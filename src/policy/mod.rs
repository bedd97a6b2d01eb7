//! The one decision point: a [`Policy`] picks which runnable item runs next.
//!
//! The loop asks its policy only when there is a real choice (two or more candidates).
//! Candidates are the loop's ready items: task steps, callbacks, fired timers and the
//! stop request. `candidates[0]` is the item asyncio would run next; the rest follow in
//! asyncio's order until a policy picks something other than index 0 (the loop then moves
//! the newest item into the chosen slot, an O(1) removal — still deterministic).
//!
//! - [`Fifo`]: always index 0 — asyncio's own order (the default without a seed).
//! - [`Random`]: uniform choice among *all* candidates from a seeded ChaCha8 stream
//!   (the default when a seed is given).
//! - [`Bytes`](crate::Bytes): takes each choice from a fuzzer's bytes, FIFO once
//!   they run out (see [`fuzz`](crate::fuzz)).
//! - [`Swarm`]: random choice with a random weight (speed) per item, drawn once per run.
//! - [`Pct`](crate::Pct): PCT's random priorities with `depth - 1` priority change points
//!   (see [`Pct`](crate::Pct)); [`Portfolio`](crate::Portfolio): the default of sweeps,
//!   a rotation of Random, PCT(2) (change points near the ends), Swarm and PCT(4) by seed.
//! - [`Replay`]: follows a recorded [`Trace`] step by step (and returns the recorded
//!   [`buggify`](crate::buggify) values), failing with a divergence error as soon as the
//!   program no longer matches it.
//!
//! A sweep needs a policy per seed: that is a separate trait, [`Strategy`] (implemented
//! by [`Fifo`], [`Random`], [`Swarm`], [`Pct`](crate::Pct) and
//! [`Portfolio`](crate::Portfolio)).
//! Checks that cut across runs (the determinism double-run, decision counting) wrap a
//! policy through one small trait, `Observer` (`wrappers.rs`), never branch in the loop.
//!
//! Write your own by implementing [`Policy`]:
//!
//! ```
//! use simloop::{Candidate, Decision, LoopError, Policy};
//! /// Always runs the most recently queued item (a LIFO scheduler).
//! struct Lifo;
//! impl Policy for Lifo {
//!     fn name(&self) -> String { "lifo".into() }
//!     fn choose(&mut self, d: &Decision<'_>) -> Result<usize, LoopError> {
//!         Ok(d.candidates.len() - 1)
//!     }
//! }
//! let lp = simloop::EventLoop::builder().policy(Lifo).build();
//! assert_eq!(lp.trace().policy(), "lifo");
//! ```

use crate::error::LoopError;
use crate::task::id::TaskId;
use crate::time::instant::Instant;
use crate::trace::Trace;
use std::fmt;

pub(crate) mod buggify;
mod bytes;
mod fifo;
pub(crate) mod guided;
pub(crate) mod mutant;
mod pct;
mod portfolio;
mod random;
pub(crate) mod record;
pub(crate) mod replay;
pub(crate) mod replay_stream;
mod strategy;
mod swarm;
pub(crate) mod wrappers;

pub use bytes::Bytes;
pub use fifo::Fifo;
pub use pct::Pct;
pub use portfolio::Portfolio;
pub use random::Random;
pub use replay::Replay;
pub use strategy::Strategy;
pub use swarm::Swarm;

pub(crate) use buggify::seeded_buggify;

/// What kind of item a [`Candidate`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
pub enum CandidateKind {
    /// A task's next step.
    Task,
    /// A `call_soon` callback (or an internal completion hop).
    Callback,
    /// A timer that came due (a `sleep` or a `call_later`/`call_at` callback).
    Timer,
    /// The loop's stop request (from `stop()` or `run_until_complete`'s completion hop).
    Stop,
}

/// One runnable item the policy may pick.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Candidate {
    pub(crate) kind: CandidateKind,
    pub(crate) slot: u32,
    pub(crate) id: u32,
}

impl Candidate {
    /// The item's kind.
    pub fn kind(&self) -> CandidateKind {
        self.kind
    }

    /// The task id for a task step, the handle number for a callback or timer (as in the
    /// trace), 0 for the stop request.
    pub fn id(&self) -> u32 {
        self.id
    }

    /// The task, if this is a task step.
    pub fn task(&self) -> Option<TaskId> {
        (self.kind == CandidateKind::Task).then(|| TaskId::from_raw(self.id))
    }
}

/// What a [`Policy`] sees when asked to choose: read-only, never the loop itself.
#[derive(Debug)]
pub struct Decision<'a> {
    /// The number the step being chosen will have (steps count from 1).
    pub step: u64,
    /// The virtual time.
    pub now: Instant,
    /// The runnable items (at least two).
    pub candidates: &'a [Candidate],
}

/// Picks the next item to run. The one place a scheduling choice is made.
///
/// A policy must be deterministic: the same sequence of decisions must get the same
/// answers (seed any randomness). It answers two kinds of question: which candidate runs
/// next ([`choose`](Policy::choose)), and what a [`buggify`](crate::buggify) call returns
/// ([`buggify`](Policy::buggify)). Its identity ([`name`](Policy::name),
/// [`seed`](Policy::seed)) goes into the trace header. How a sweep makes one policy per
/// seed is a separate trait, [`Strategy`].
pub trait Policy {
    /// A short name without spaces, written into the trace header (e.g. `fifo`, `random`).
    fn name(&self) -> String;

    /// Chooses the index of the candidate to run next. An out-of-range index fails the
    /// run with [`LoopError::Policy`].
    fn choose(&mut self, decision: &Decision<'_>) -> Result<usize, LoopError>;

    /// The seed this policy was built from, if any (shown by `EventLoop::seed` and in the
    /// trace header).
    fn seed(&self) -> Option<u64> {
        None
    }

    /// What the `hit`-th call (from 1) of [`buggify`](crate::buggify) at `site` returns
    /// in this run, or `None` if this policy injects no faults (then `buggify` returns
    /// `false` and nothing is recorded). The default: a seeded policy draws the value
    /// from its seed (each site enabled in half the seeds, then true on a quarter of its
    /// calls); an unseeded one injects nothing.
    fn buggify(&mut self, site: u32, hit: u32) -> Option<bool> {
        self.seed().map(|seed| seeded_buggify(seed, site, hit))
    }

    /// What a [`choose(n)`](crate::choose) call returns (`n >= 2`), or `None` (the
    /// default) to let the run decide: a seeded policy then draws uniformly from the run's
    /// own data stream, an unseeded one takes alternative 0. A policy that dictates the
    /// value (a replay, the fuzzer's bytes, a search) returns it; it must be below `n`.
    fn user_choice(&mut self, n: u32) -> Option<u32> {
        let _ = n;
        None
    }

    /// The next value of [`rng`](crate::rng), or `None` (the default) to take it from the
    /// run's own data stream (seeded from the policy's seed, or from 0 without one).
    fn random_u64(&mut self) -> Option<u64> {
        None
    }

    /// `true` if the loop must call [`choose`](Policy::choose) at *every* step, even when
    /// only one item is runnable (replay and checking wrappers use this to verify each
    /// step). A policy that says so must return 0 for single-candidate decisions.
    fn every_step(&self) -> bool {
        false
    }
}

impl<P: Policy + ?Sized> Policy for Box<P> {
    fn name(&self) -> String {
        (**self).name()
    }
    fn choose(&mut self, decision: &Decision<'_>) -> Result<usize, LoopError> {
        (**self).choose(decision)
    }
    fn seed(&self) -> Option<u64> {
        (**self).seed()
    }
    fn buggify(&mut self, site: u32, hit: u32) -> Option<bool> {
        (**self).buggify(site, hit)
    }
    fn user_choice(&mut self, n: u32) -> Option<u32> {
        (**self).user_choice(n)
    }
    fn random_u64(&mut self) -> Option<u64> {
        (**self).random_u64()
    }
    fn every_step(&self) -> bool {
        (**self).every_step()
    }
}

/// One step of a trace as a replay sees it: which item ran.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct StepRef {
    pub(crate) kind: CandidateKind,
    pub(crate) id: u32,
}

impl fmt::Display for StepRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            CandidateKind::Task => write!(f, "poll of task {}", self.id),
            CandidateKind::Callback => write!(f, "callback {}", self.id),
            CandidateKind::Timer => write!(f, "timer {}", self.id),
            CandidateKind::Stop => f.write_str("stop"),
        }
    }
}

impl StepRef {
    /// Reads back what [`Display`](fmt::Display) wrote (`poll of task 3`, `timer 4`, …).
    pub(crate) fn parse(s: &str) -> Option<StepRef> {
        let (kind, id) = if s == "stop" {
            (CandidateKind::Stop, "0")
        } else if let Some(id) = s.strip_prefix("poll of task ") {
            (CandidateKind::Task, id)
        } else if let Some(id) = s.strip_prefix("callback ") {
            (CandidateKind::Callback, id)
        } else if let Some(id) = s.strip_prefix("timer ") {
            (CandidateKind::Timer, id)
        } else {
            return None;
        };
        Some(StepRef {
            kind,
            id: id.parse().ok()?,
        })
    }

    /// The item as [`Display`](fmt::Display) writes it, with its name and where it came
    /// from when `trace` (of the run that has it) noted that: `poll of task 3 "client-2"
    /// (created at src/limiter.rs:30)`, `timer 4 (sleep 20ms in `client-2` at …)`.
    pub(crate) fn with_origin(self, trace: &Trace) -> String {
        match self.kind {
            CandidateKind::Task => format!("poll of {}", trace.task_with_origin(self.id)),
            CandidateKind::Callback => trace.handle_with_origin("callback", self.id),
            CandidateKind::Timer => trace.handle_with_origin("timer", self.id),
            CandidateKind::Stop => self.to_string(),
        }
    }
}

/// Names the runnable items of a divergence with where they came from in this run (see
/// [`StepRef::with_origin`]); an expected item written by [`StepRef`]'s `Display` is
/// named the same way, anything else is left as it is.
pub(crate) fn with_origins(e: LoopError, cands: &[Candidate], trace: &Trace) -> LoopError {
    match e {
        LoopError::Divergence { step, expected, .. } => {
            let expected = match StepRef::parse(&expected) {
                Some(r) => r.with_origin(trace),
                None => expected,
            };
            let runnable: Vec<String> = cands
                .iter()
                .map(|c| {
                    StepRef {
                        kind: c.kind,
                        id: c.id,
                    }
                    .with_origin(trace)
                })
                .collect();
            LoopError::Divergence {
                step,
                expected,
                runnable: runnable.join(", "),
            }
        }
        other => other,
    }
}

pub(crate) fn describe(cands: &[Candidate]) -> String {
    let v: Vec<String> = cands
        .iter()
        .map(|c| {
            StepRef {
                kind: c.kind,
                id: c.id,
            }
            .to_string()
        })
        .collect();
    v.join(", ")
}
