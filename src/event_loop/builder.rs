//! [`LoopBuilder`]: configures one loop (`EventLoop::builder()…build()`).

use super::{new_loop, EventLoop};
use crate::policy::{Fifo, Policy, Random};

/// The default livelock guard: steps one `run_*` call may take.
pub const DEFAULT_MAX_STEPS: u64 = 10_000_000;

/// The default limit of a loop's trace memory, in bytes (see [`LoopBuilder::trace_memory`]).
pub const DEFAULT_TRACE_MEMORY: usize = crate::trace::window::DEFAULT_LIMIT * 8;

/// Configures and builds one [`EventLoop`]: its seed, policy and step limit.
///
/// Without `.seed()` or `.policy()` the loop uses [`Fifo`] (asyncio's order); `.seed(n)`
/// alone selects [`Random`] seeded with `n`; with both, the policy decides and the seed is
/// shown by [`EventLoop::seed`] if the policy has none of its own. `build()` never reads
/// environment variables. To sweep a test over many seeds, use
/// [`Builder`](crate::Builder) instead.
///
/// ```
/// let lp = simloop::EventLoop::builder().seed(42).max_steps(1_000).build();
/// assert_eq!(lp.seed(), Some(42));
/// assert_eq!(lp.trace().policy(), "random");
/// ```
pub struct LoopBuilder {
    seed: Option<u64>,
    policy: Option<Box<dyn Policy>>,
    max_steps: u64,
    trace_memory: Option<usize>,
}

impl std::fmt::Debug for LoopBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoopBuilder")
            .field("seed", &self.seed)
            .field("policy", &self.policy.as_ref().map(|p| p.name()))
            .field("max_steps", &self.max_steps)
            .finish()
    }
}

impl Default for LoopBuilder {
    fn default() -> Self {
        LoopBuilder::new()
    }
}

impl LoopBuilder {
    /// The defaults: FIFO, no seed, `max_steps` 10,000,000.
    pub fn new() -> LoopBuilder {
        LoopBuilder {
            seed: None,
            policy: None,
            max_steps: DEFAULT_MAX_STEPS,
            trace_memory: None,
        }
    }

    /// Seeds the loop; selects the [`Random`] policy unless `.policy()` names another.
    pub fn seed(mut self, seed: u64) -> LoopBuilder {
        self.seed = Some(seed);
        self
    }

    /// Uses `policy` to make every scheduling choice.
    pub fn policy(mut self, policy: impl Policy + 'static) -> LoopBuilder {
        self.policy = Some(Box::new(policy));
        self
    }

    /// The most steps one `run_until_complete`/`run_forever` call may take before it
    /// fails with [`LoopError::StepLimit`](crate::LoopError::StepLimit) (a livelock guard).
    ///
    /// # Panics
    /// If `n` is 0.
    #[track_caller]
    pub fn max_steps(mut self, n: u64) -> LoopBuilder {
        assert!(n > 0, "max_steps must be at least 1");
        self.max_steps = n;
        self
    }

    /// The most memory the loop's trace records may take, in bytes (8 per record; a step
    /// is one or two records); default [`DEFAULT_TRACE_MEMORY`] (64 MiB), at least 8192
    /// (a smaller value is raised to it).
    /// A longer run drops its oldest events from memory, keeping its counts, its
    /// [digest](crate::trace::Trace::digest) and its last events (the trace is then
    /// [truncated](crate::trace::Trace::is_truncated)); to keep every event, stream the
    /// trace to a file ([`EventLoop::stream_trace`]). Memory stays bounded however many
    /// steps the loop runs.
    ///
    /// ```
    /// let lp = simloop::EventLoop::builder().trace_memory(8192).build();
    /// lp.run_until_complete(async {
    ///     for _ in 0..10_000 {
    ///         simloop::yield_now().await;
    ///     }
    /// })
    /// .unwrap();
    /// let trace = lp.trace();
    /// assert_eq!(trace.steps(), 10_002); // 10,000 yields, the first poll and the stop
    /// assert!(trace.is_truncated() && trace.memory_bytes() <= 8192);
    /// ```
    pub fn trace_memory(mut self, bytes: usize) -> LoopBuilder {
        self.trace_memory = Some(bytes);
        self
    }

    /// Builds the loop.
    pub fn build(self) -> EventLoop {
        let policy: Box<dyn Policy> = match (self.policy, self.seed) {
            (Some(p), _) => p,
            (None, Some(s)) => Box::new(Random::new(s)),
            (None, None) => Box::new(Fifo),
        };
        let lp = new_loop(policy, self.seed, self.max_steps);
        if let Some(bytes) = self.trace_memory {
            lp.set_trace_limit(bytes / 8);
        }
        lp
    }
}
