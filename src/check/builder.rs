//! [`Builder`]: configures a sweep (`simloop::Builder::new()…check(body)`); its
//! terminals are in `terminals.rs`. No setting is silently ignored: each applies to every
//! terminal that can use it, a terminal that cannot use one fails with a bad-input report
//! saying which and what to do, and the policy must be a [`Strategy`] (one policy per
//! seed), so a policy that cannot be re-seeded is refused at compile time.

use std::fmt;
use std::ops::Range;
use std::path::PathBuf;

use super::source::{Recorded, TraceSource};
use crate::env::Env;
use crate::event_loop::DEFAULT_MAX_STEPS;
use crate::policy::Strategy;

/// The preemption bound [`Builder::check_all`] uses unless told otherwise.
pub const DEFAULT_MAX_PREEMPTIONS: u32 = 2;

/// The most schedules [`Builder::check_all`] runs before giving up, unless told otherwise.
pub const DEFAULT_MAX_SCHEDULES: u64 = 100_000;

/// The most re-runs one shrink may make, unless told otherwise.
pub const DEFAULT_SHRINK_BUDGET: u32 = 1000;

/// The search and shrinking settings of a [`Builder`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct SearchOptions {
    pub(crate) max_preemptions: u32,
    pub(crate) max_schedules: u64,
    pub(crate) shrink: bool,
    pub(crate) shrink_budget: u32,
}

/// Which seeds the code asked for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Seeds {
    /// Neither `.seed` nor `.seeds`: `SIMLOOP_SEEDS`, else `0..1000`.
    Default,
    /// `.seed(s)`: exactly that seed.
    One(u64),
    /// `.seeds(range)`.
    Range(Range<u64>),
}

/// Configures a seed sweep, a bounded exhaustive search, a replay or a fuzz-input run of
/// a test body, each on a fresh loop per run.
///
/// ```
/// simloop::Builder::new().seeds(0..50).check(|| async {
///     let v = simloop::gather((0..3).map(|i| async move { simloop::yield_now().await; i })).await;
///     assert_eq!(v, [0, 1, 2]);
/// });
/// ```
///
/// Terminals come in pairs: [`check`](Builder::check) prints the report and panics,
/// [`try_check`](Builder::try_check) returns the [`Failure`](crate::Failure); likewise
/// [`check_all`](Builder::check_all)/[`try_check_all`](Builder::try_check_all) and
/// [`fuzz_check`](Builder::fuzz_check)/[`try_fuzz_check`](Builder::try_fuzz_check). To
/// configure one loop instead, use [`EventLoop::builder`](crate::EventLoop::builder).
pub struct Builder {
    pub(crate) seeds: Seeds,
    pub(crate) policy: Option<Box<dyn Strategy>>,
    pub(crate) max_steps: u64,
    pub(crate) name: Option<String>,
    pub(crate) search: SearchOptions,
    pub(crate) env: Option<Env>,
    pub(crate) trace_dir: Option<PathBuf>,
    pub(crate) check_determinism: Option<bool>,
    pub(crate) replay: Option<Result<Recorded, String>>,
    pub(crate) capture_logs: bool,
    /// Each run's trace memory in bytes (`None`: the loop's default).
    pub(crate) trace_memory: Option<usize>,
    /// Write a failure's whole trace to its file, however long (see `whole_trace_files`).
    pub(crate) whole_trace_files: bool,
    /// `max_preemptions` or `max_schedules` was set (they apply to `check_all` only).
    pub(crate) search_bounds_set: bool,
    /// [`adaptive`](Builder::adaptive), if the code set it.
    pub(crate) adaptive: Option<bool>,
}

impl fmt::Debug for Builder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Builder")
            .field("seeds", &self.seeds)
            .field("policy", &self.policy.as_ref().map(|p| p.name()))
            .field("max_steps", &self.max_steps)
            .field("name", &self.name)
            .field("trace_dir", &self.trace_dir)
            .field("check_determinism", &self.check_determinism)
            .field("adaptive", &self.adaptive)
            .field(
                "replay",
                &self.replay.as_ref().map(|r| {
                    r.as_ref().map(|t| match t {
                        Recorded::Loaded(t, _) => format!("{} steps", t.steps()),
                        Recorded::File(p) => p.display().to_string(),
                    })
                }),
            )
            .finish()
    }
}

impl Default for Builder {
    fn default() -> Self {
        Builder::new()
    }
}

impl Builder {
    /// The defaults: the [`Portfolio`](crate::Portfolio), seeds `0..1000` (or
    /// `SIMLOOP_SEEDS`), `max_steps` 10,000,000, shrinking on.
    pub fn new() -> Builder {
        Builder {
            seeds: Seeds::Default,
            policy: None,
            max_steps: DEFAULT_MAX_STEPS,
            name: None,
            search: SearchOptions {
                max_preemptions: DEFAULT_MAX_PREEMPTIONS,
                max_schedules: DEFAULT_MAX_SCHEDULES,
                shrink: true,
                shrink_budget: DEFAULT_SHRINK_BUDGET,
            },
            env: None,
            trace_dir: None,
            check_determinism: None,
            replay: None,
            capture_logs: true,
            trace_memory: None,
            whole_trace_files: false,
            search_bounds_set: false,
            adaptive: None,
        }
    }

    /// Runs exactly this seed (replacing [`seeds`](Builder::seeds)). `SIMLOOP_SEED` and
    /// `SIMLOOP_SEEDS` still override it, and the report says so.
    pub fn seed(mut self, seed: u64) -> Builder {
        self.seeds = Seeds::One(seed);
        self
    }

    /// The seeds a sweep runs (end excluded; replacing [`seed`](Builder::seed)).
    /// `SIMLOOP_SEEDS` overrides it and `SIMLOOP_SEED` replaces it with one seed; the
    /// default is `0..1000`.
    pub fn seeds(mut self, seeds: Range<u64>) -> Builder {
        self.seeds = Seeds::Range(seeds);
        self
    }

    /// The strategy that gives each seed its policy (default: the
    /// [`Portfolio`](crate::Portfolio)).
    pub fn policy(mut self, strategy: impl Strategy + 'static) -> Builder {
        self.policy = Some(Box::new(strategy));
        self
    }

    /// The most steps one run may take before it fails with
    /// [`LoopError::StepLimit`](crate::LoopError::StepLimit) (a livelock guard).
    ///
    /// # Panics
    /// If `n` is 0.
    #[track_caller]
    pub fn max_steps(mut self, n: u64) -> Builder {
        assert!(n > 0, "max_steps must be at least 1");
        self.max_steps = n;
        self
    }

    /// The test's name in reports and replay lines (default: the test thread's name,
    /// which `cargo test` sets to the test's path).
    pub fn name(mut self, name: impl Into<String>) -> Builder {
        self.name = Some(name.into());
        self
    }

    /// Where failing traces are written (default `target/simloop`; `SIMLOOP_TRACE_DIR`
    /// overrides it).
    pub fn trace_dir(mut self, dir: impl Into<PathBuf>) -> Builder {
        self.trace_dir = Some(dir.into());
        self
    }

    /// Makes a sweep learn from coverage (`true`) or not (`false`). By default a sweep
    /// of the default strategy learns and a sweep of a policy chosen with
    /// [`policy`](Builder::policy) does not.
    ///
    /// Learning finds deep bugs sooner (`docs/strategies.md`, medians of 20 sweeps: a
    /// depth-4 relay in 68 schedules instead of 1,191, a long prefix in 32 instead of
    /// 956, a depth-3 chain in 234 instead of 2,549) and keeps what is found fast without
    /// it. Turn it off to get the default strategy's rotation alone: seed `s` then runs
    /// exactly the policy `s % 6` names (see [`Portfolio`](crate::Portfolio)).
    ///
    /// **What a learning sweep runs.** Learning starts afresh at every multiple of 1,000
    /// (a *block*) and at the start of the sweep's range. The first 16 seeds from such a
    /// start run their own policy; after that, about three seeds in four (by a hash of
    /// the seed) run a *mutation* of an earlier run of the block that reached new
    /// coverage — a task suspending at an await site where no run had it suspend, or
    /// getting there later, or starting later than in any run before: that run's
    /// decisions up to a point near where the new coverage showed, then a random walk,
    /// which may first run or hold back the task concerned. The first mutations of a
    /// block start each task last in turn. The other seeds run their own policy, exactly
    /// as without learning.
    ///
    /// **Replay.** What a seed runs depends only on the earlier seeds of its block that
    /// the sweep ran, so the same range gives the same schedules and report on every
    /// machine. A one-seed run (`SIMLOOP_SEED`, [`seed`](Builder::seed)) of a seed that
    /// may mutate re-runs the seeds from its block's start first, quietly, learning as a
    /// sweep from there did, then runs (and reports) the seed: in a sweep whose range
    /// starts at a multiple of 1,000 (as the default `0..1000`) every failure's
    /// `SIMLOOP_SEED=…` line reproduces it, at the cost of those re-runs (at most 999).
    /// A mutation's failure in a sweep that starts elsewhere, or in a shard
    /// (`SIMLOOP_SHARD`), prints `SIMLOOP_SEEDS=<origin>..<seed + 1>` (and the shard)
    /// instead: the sweep again, up to that seed. Every failure also prints its trace
    /// file's `SIMLOOP_REPLAY=…` line.
    ///
    /// **Cost.** Each run of a learning sweep keeps its decisions and a log of its task
    /// steps (about 56 bytes a step, for at most its first 1 Mi steps, freed after the
    /// run); a block's corpus keeps the decisions of the runs that reached new coverage
    /// (at most 512 runs and 2 Mi decisions in all); simloop's awaitables note their call
    /// sites while a loop learns (a few instructions a step).
    ///
    /// ```
    /// use simloop::{Builder, Env};
    /// // 40 seeds: 16 of warm-up, then mutations among the rest.
    /// let s = Builder::new().env(Env::default()).seeds(0..40)
    ///     .try_check(|| async { simloop::yield_now().await })
    ///     .unwrap();
    /// assert_eq!(s.runs, 40);
    /// // The rotation alone.
    /// let s = Builder::new().env(Env::default()).seeds(0..40).adaptive(false)
    ///     .try_check(|| async { simloop::yield_now().await })
    ///     .unwrap();
    /// assert_eq!(s.runs, 40);
    /// ```
    pub fn adaptive(mut self, on: bool) -> Builder {
        self.adaptive = Some(on);
        self
    }

    /// Runs every seed twice and compares (`true`), or never (`false`). By default the
    /// first seed and every 64th after it are checked. `SIMLOOP_CHECK_DETERMINISM`
    /// overrides it.
    pub fn check_determinism(mut self, on: bool) -> Builder {
        self.check_determinism = Some(on);
        self
    }

    /// Replays a recorded trace instead of sweeping seeds (as `SIMLOOP_REPLAY` does).
    /// A malformed source is reported when the terminal runs.
    pub fn replay(mut self, source: impl TraceSource) -> Builder {
        self.replay = Some(source.load_recorded());
        self
    }

    /// Uses these environment values instead of reading the process environment.
    pub fn env(mut self, env: Env) -> Builder {
        self.env = Some(env);
        self
    }

    /// The most memory each run's trace records may take, in bytes (default
    /// [`DEFAULT_TRACE_MEMORY`](crate::DEFAULT_TRACE_MEMORY), 64 MiB; see
    /// [`LoopBuilder::trace_memory`](crate::LoopBuilder::trace_memory)). A longer run
    /// keeps its last events, counts and digest; its failure report shows its last events
    /// and replays from its seed (or, with [`whole_trace_files`](Builder::whole_trace_files),
    /// from its whole trace file).
    pub fn trace_memory(mut self, bytes: usize) -> Builder {
        self.trace_memory = Some(bytes);
        self
    }

    /// Whether a sweep's failure writes its *whole* trace to its file however long the run
    /// (default `false`). By default a failing run of more than a million events gets a
    /// truncated file (its last events, as comments) and is replayed from its seed; with
    /// this on, the failing seed is run once more with its trace streamed to the file (the
    /// run is deterministic), so `SIMLOOP_REPLAY=<file>` follows it step by step, in
    /// bounded memory however long it is. Costs one extra run and the file's disk space
    /// (about 25 bytes per event), only for such a failure.
    pub fn whole_trace_files(mut self, on: bool) -> Builder {
        self.whole_trace_files = on;
        self
    }

    /// Whether to capture each run's `tracing` log for the report (default `true`).
    pub fn capture_logs(mut self, on: bool) -> Builder {
        self.capture_logs = on;
        self
    }

    /// The preemption bound of [`check_all`](Builder::check_all) (default 2): schedules
    /// with more preemptions than this are not run.
    pub fn max_preemptions(mut self, c: u32) -> Builder {
        self.search_bounds_set = true;
        self.search.max_preemptions = c;
        self
    }

    /// The most schedules [`check_all`](Builder::check_all) runs (default 100,000). A
    /// search that would need more fails with
    /// [`FailureKind::SearchLimit`](crate::FailureKind::SearchLimit) rather than passing
    /// on a partial search.
    ///
    /// # Panics
    /// If `n` is 0.
    #[track_caller]
    pub fn max_schedules(mut self, n: u64) -> Builder {
        assert!(n > 0, "max_schedules must be at least 1");
        self.search_bounds_set = true;
        self.search.max_schedules = n;
        self
    }

    /// Whether a failure is shrunk (default `true`): see the [`Shrunk`](crate::Shrunk)
    /// section of the report.
    pub fn shrink(mut self, on: bool) -> Builder {
        self.search.shrink = on;
        self
    }

    /// The most re-runs one shrink may make (default 1,000).
    pub fn shrink_budget(mut self, runs: u32) -> Builder {
        self.search.shrink_budget = runs;
        self
    }
}
