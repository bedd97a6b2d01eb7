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
//! - [`Bytes`](crate::fuzz::Bytes): takes each choice from a fuzzer's bytes, FIFO once
//!   they run out (see [`fuzz`](crate::fuzz)).
//! - [`Pct`](crate::Pct): PCT's random priorities with `depth - 1` priority change points
//!   (see [`pct`](crate::pct)); [`Portfolio`](crate::Portfolio): the default of sweeps,
//!   Random, PCT(2) or PCT(3) by seed.
//! - [`Replay`]: follows a recorded [`Trace`] step by step (and returns the recorded
//!   [`buggify`](crate::buggify) values), failing with a divergence error as soon as the
//!   program no longer matches it.
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

use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};

use std::fmt;

use crate::error::LoopError;
use crate::task::TaskId;
use crate::time::Instant;
use crate::trace::{EventKind, Trace};

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
/// answers (seed any randomness). Return an index into `decision.candidates`; an
/// out-of-range index fails the run with [`LoopError::Policy`].
pub trait Policy {
    /// A short name without spaces, written into the trace header (e.g. `fifo`, `random`).
    fn name(&self) -> String;

    /// Chooses the index of the candidate to run next.
    fn choose(&mut self, decision: &Decision<'_>) -> Result<usize, LoopError>;

    /// The seed this policy was built from, if any (shown by `EventLoop::seed`).
    fn seed(&self) -> Option<u64> {
        None
    }

    /// A fresh policy of the same kind for `seed`, used by seed sweeps
    /// ([`Builder::check`](crate::Builder::check)) to get one policy per seed. The default,
    /// `None`, means the policy cannot take part in a sweep.
    fn reseeded(&self, seed: u64) -> Option<Box<dyn Policy>> {
        let _ = seed;
        None
    }

    /// `true` if the loop must call [`choose`](Policy::choose) at *every* step, even when
    /// only one item is runnable (replay and checking wrappers use this to verify each
    /// step). A policy that says so must return 0 for single-candidate decisions.
    fn every_step(&self) -> bool {
        false
    }

    /// For sweeps: a policy that needs the test's number of real decisions (as
    /// [`Pct`](crate::Pct) does) returns policies to measure it with; the sweep runs the
    /// test once under each and passes the largest count to
    /// [`with_run_length`](Policy::with_run_length). The default, none, skips the probe.
    fn length_probes(&self) -> Vec<Box<dyn Policy>> {
        Vec::new()
    }

    /// For sweeps: a copy of this policy that knows the test makes about `decisions` real
    /// decisions per run (its [`reseeded`](Policy::reseeded) copies then use it). The
    /// default, `None`, keeps the policy as it is.
    fn with_run_length(&self, decisions: u64) -> Option<Box<dyn Policy>> {
        let _ = decisions;
        None
    }

    /// The value [`buggify`](crate::buggify) must return at `site` (a hash of the call
    /// site), if this policy dictates it: [`Replay`] returns the recorded values. The
    /// default, `None`, lets the loop draw it from its seed.
    fn buggify(&mut self, site: u32) -> Option<bool> {
        let _ = site;
        None
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
    fn reseeded(&self, seed: u64) -> Option<Box<dyn Policy>> {
        (**self).reseeded(seed)
    }
    fn every_step(&self) -> bool {
        (**self).every_step()
    }
    fn length_probes(&self) -> Vec<Box<dyn Policy>> {
        (**self).length_probes()
    }
    fn with_run_length(&self, decisions: u64) -> Option<Box<dyn Policy>> {
        (**self).with_run_length(decisions)
    }
    fn buggify(&mut self, site: u32) -> Option<bool> {
        (**self).buggify(site)
    }
}

/// asyncio's order: always the item at the head of the ready queue.
#[derive(Clone, Copy, Debug, Default)]
pub struct Fifo;

impl Policy for Fifo {
    fn name(&self) -> String {
        "fifo".to_owned()
    }
    #[inline]
    fn choose(&mut self, _: &Decision<'_>) -> Result<usize, LoopError> {
        Ok(0)
    }
    fn reseeded(&self, _: u64) -> Option<Box<dyn Policy>> {
        Some(Box::new(Fifo))
    }
}

/// Uniform choice among every runnable item, from a ChaCha8 stream seeded by `seed`.
///
/// The same seed always gives the same choices, on every machine.
///
/// ```
/// use simloop::{EventLoop, Random};
/// let lp = EventLoop::builder().policy(Random::new(7)).build();
/// assert_eq!(lp.seed(), Some(7));
/// ```
#[derive(Clone, Debug)]
pub struct Random {
    seed: u64,
    rng: ChaCha8Rng,
}

impl Random {
    /// A random policy seeded with `seed`.
    pub fn new(seed: u64) -> Random {
        Random {
            seed,
            rng: ChaCha8Rng::seed_from_u64(seed),
        }
    }
}

impl Policy for Random {
    fn name(&self) -> String {
        "random".to_owned()
    }
    #[inline]
    fn choose(&mut self, d: &Decision<'_>) -> Result<usize, LoopError> {
        // Multiply-shift maps a uniform u64 onto 0..len without division.
        let r = self.rng.next_u64() as u128;
        Ok(((r * d.candidates.len() as u128) >> 64) as usize)
    }
    fn seed(&self) -> Option<u64> {
        Some(self.seed)
    }
    fn reseeded(&self, seed: u64) -> Option<Box<dyn Policy>> {
        Some(Box::new(Random::new(seed)))
    }
}

/// One step of a trace as a replay sees it: which item ran.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct StepRef {
    kind: CandidateKind,
    id: u32,
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

/// Follows a recorded [`Trace`] step by step: at every step it runs the item the trace
/// says ran, and fails with [`LoopError::Divergence`] the first time that item is not
/// runnable (the program no longer matches the trace).
///
/// It reports the recorded trace's policy name and seed, so a faithful replay produces a
/// byte-identical trace. Usually used through [`replay`](crate::replay) or
/// `SIMLOOP_REPLAY`, which also compare the whole trace at the end.
///
/// ```
/// use simloop::{EventLoop, Replay};
/// let program = || simloop::gather((0..3).map(|_| async { simloop::yield_now().await }));
/// let lp = EventLoop::builder().seed(5).build();
/// lp.run_until_complete(program()).unwrap();
/// let recorded = lp.trace();
///
/// let again = EventLoop::builder().policy(Replay::new(&recorded)).build();
/// again.run_until_complete(program()).unwrap();
/// assert_eq!(again.trace().to_string(), recorded.to_string());
/// ```
#[derive(Clone, Debug)]
pub struct Replay {
    policy: String,
    seed: Option<u64>,
    steps: Vec<StepRef>,
    /// The recorded `buggify` outcomes `(site, value)`, in order, and the next one.
    buggify: Vec<(u32, bool)>,
    next_buggify: usize,
}

impl Replay {
    /// A replay of `trace`'s decisions.
    pub fn new(trace: &Trace) -> Replay {
        let steps = trace
            .events()
            .filter_map(|e| match e.kind {
                EventKind::Poll { task, .. } => Some(StepRef {
                    kind: CandidateKind::Task,
                    id: task.as_u32(),
                }),
                EventKind::Timer { timer } => Some(StepRef {
                    kind: CandidateKind::Timer,
                    id: timer,
                }),
                EventKind::Callback { handle } => Some(StepRef {
                    kind: CandidateKind::Callback,
                    id: handle,
                }),
                EventKind::Stop => Some(StepRef {
                    kind: CandidateKind::Stop,
                    id: 0,
                }),
                _ => None,
            })
            .collect();
        let buggify = trace
            .events()
            .filter_map(|e| match e.kind {
                EventKind::Buggify { site, fired } => Some((site, fired)),
                _ => None,
            })
            .collect();
        Replay {
            policy: trace.policy().to_owned(),
            seed: trace.seed(),
            steps,
            buggify,
            next_buggify: 0,
        }
    }

    /// How many steps the recorded trace has.
    pub fn len(&self) -> usize {
        self.steps.len()
    }

    /// `true` if the recorded trace has no steps.
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }
}

impl Policy for Replay {
    fn name(&self) -> String {
        self.policy.clone()
    }
    fn seed(&self) -> Option<u64> {
        self.seed
    }
    fn every_step(&self) -> bool {
        true
    }
    /// The recorded value when the next recorded `buggify` call is at `site`; otherwise
    /// (the program changed) `None`, and the replay's trace comparison reports where it
    /// diverged.
    fn buggify(&mut self, site: u32) -> Option<bool> {
        let &(s, v) = self.buggify.get(self.next_buggify)?;
        if s != site {
            return None;
        }
        self.next_buggify += 1;
        Some(v)
    }
    fn choose(&mut self, d: &Decision<'_>) -> Result<usize, LoopError> {
        let Some(exp) = usize::try_from(d.step - 1)
            .ok()
            .and_then(|i| self.steps.get(i))
        else {
            return Err(LoopError::Divergence {
                step: d.step,
                expected: format!(
                    "the run to end (the trace has {} step{})",
                    self.steps.len(),
                    if self.steps.len() == 1 { "" } else { "s" }
                ),
                runnable: describe(d.candidates),
            });
        };
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

/// The two runs of a determinism check: the first records every step's runnable set, the
/// second compares against it and fails with [`LoopError::Nondeterminism`] at the first
/// difference.
pub(crate) enum Watch {
    /// First run: append each step's candidates.
    Record(std::rc::Rc<std::cell::RefCell<Vec<Vec<Candidate>>>>),
    /// Second run: compare each step's candidates with the first run's.
    Check(std::rc::Rc<Vec<Vec<Candidate>>>),
}

/// Wraps a policy for one run of a determinism check (it sees every step).
pub(crate) struct Watched {
    pub(crate) inner: Box<dyn Policy>,
    pub(crate) watch: Watch,
}

impl Policy for Watched {
    fn name(&self) -> String {
        self.inner.name()
    }
    fn seed(&self) -> Option<u64> {
        self.inner.seed()
    }
    fn every_step(&self) -> bool {
        true
    }
    fn buggify(&mut self, site: u32) -> Option<bool> {
        self.inner.buggify(site)
    }
    fn choose(&mut self, d: &Decision<'_>) -> Result<usize, LoopError> {
        match &self.watch {
            Watch::Record(log) => log.borrow_mut().push(d.candidates.to_vec()),
            Watch::Check(expected) => {
                let i = usize::try_from(d.step - 1).unwrap_or(usize::MAX);
                let exp = expected.get(i);
                let same = exp.is_some_and(|e| {
                    e.len() == d.candidates.len()
                        && e.iter()
                            .zip(d.candidates)
                            .all(|(a, b)| a.kind == b.kind && a.id == b.id)
                });
                if !same {
                    return Err(LoopError::Nondeterminism {
                        step: d.step,
                        first: exp.map_or_else(|| "the run had ended".to_owned(), |e| describe(e)),
                        second: describe(d.candidates),
                    });
                }
            }
        }
        // Only a real choice reaches the wrapped policy, as without the wrapper.
        if d.candidates.len() == 1 && !self.inner.every_step() {
            Ok(0)
        } else {
            self.inner.choose(d)
        }
    }
}
