//! [`Strategy`]: how a sweep makes one policy per seed, and learns the run length first.

use super::Policy;

/// How a sweep ([`Builder::check`](crate::Builder::check)) gets a fresh [`Policy`] for
/// each seed, and — for policies that need the test's length, as PCT does — which probe
/// runs measure it first.
///
/// Implemented by [`Fifo`](crate::Fifo), [`Random`](crate::Random),
/// [`Swarm`](crate::Swarm), [`Pct`](crate::Pct) and [`Portfolio`](crate::Portfolio). A
/// policy that cannot be re-seeded (e.g. [`Replay`](crate::Replay)) is not a `Strategy`,
/// so a sweep refuses it at compile time:
///
/// ```compile_fail
/// let trace = simloop::EventLoop::new().trace();
/// simloop::Builder::new().policy(simloop::Replay::new(&trace)); // Replay is not a Strategy
/// ```
///
/// Your own:
///
/// ```
/// use simloop::{Candidate, Decision, LoopError, Policy, Strategy};
/// #[derive(Clone)]
/// struct Lifo;
/// impl Policy for Lifo {
///     fn name(&self) -> String { "lifo".into() }
///     fn choose(&mut self, d: &Decision<'_>) -> Result<usize, LoopError> {
///         Ok(d.candidates.len() - 1)
///     }
/// }
/// impl Strategy for Lifo {
///     fn name(&self) -> String { "lifo".into() }
///     fn for_seed(&self, _seed: u64) -> Box<dyn Policy> { Box::new(Lifo) }
/// }
/// let summary = simloop::Builder::new()
///     .env(simloop::Env::default())
///     .seeds(0..3)
///     .policy(Lifo)
///     .try_check(|| async { simloop::yield_now().await })
///     .unwrap();
/// assert_eq!(summary.runs, 3);
/// ```
pub trait Strategy {
    /// The strategy's name in reports (`portfolio`, `random`, `pct3`, …).
    fn name(&self) -> String;

    /// The policy seed `seed` runs.
    fn for_seed(&self, seed: u64) -> Box<dyn Policy>;

    /// Policies to measure the test's number of real decisions with: the sweep runs the
    /// test once under each and passes the largest count to
    /// [`with_run_length`](Strategy::with_run_length). The default, none, skips the probes.
    fn length_probes(&self) -> Vec<Box<dyn Policy>> {
        Vec::new()
    }

    /// A copy of this strategy that knows the test makes about `decisions` real decisions
    /// per run. The default, `None`, keeps the strategy as it is.
    fn with_run_length(&self, decisions: u64) -> Option<Box<dyn Strategy>> {
        let _ = decisions;
        None
    }
}
