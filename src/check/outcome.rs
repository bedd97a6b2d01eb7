//! The plain results of a run: [`FailureKind`] and [`Outcome`].

use super::quiet::Caught;
use crate::error::LoopError;
use crate::time::instant::Instant;
use crate::trace::Trace;

/// What went wrong in a failing run.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum FailureKind {
    /// The body, or a task whose panic reached the body, panicked.
    Panicked,
    /// The body returned `Err`.
    ReturnedErr,
    /// The loop failed: deadlock, step limit, unobserved task panic, replay divergence,
    /// nondeterminism, …
    Loop(LoopError),
    /// The sweep could not start: a malformed environment variable or trace file, or a
    /// policy that cannot be re-seeded.
    BadInput,
    /// A bounded search ([`Builder::explore`](crate::Builder::explore)) hit its schedule limit before finishing.
    SearchLimit,
}

/// The result of one run of a body.
pub(crate) struct Outcome {
    pub(crate) result: Result<(), (FailureKind, String)>,
    pub(crate) trace: Trace,
    pub(crate) steps: u64,
    pub(crate) time: Instant,
    pub(crate) log: String,
    /// The panics the run raised, in order (see [`recording_panics`](super::quiet::recording_panics)).
    pub(crate) panics: Vec<Caught>,
    /// Set when a second run of the same seed differed from this one.
    pub(crate) nondeterminism: Option<LoopError>,
}
