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

use crate::error::LoopError;
use crate::task::TaskId;
use crate::time::Instant;

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
}
