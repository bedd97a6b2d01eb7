//! # simloop — deterministic async tests on a virtual clock
//!
//! simloop is a single-threaded event loop with Python asyncio's API, for testing async
//! Rust. Time is virtual (the clock jumps to the next timer whenever nothing is ready),
//! every scheduling choice is made by a pluggable [`Policy`] (asyncio's [`Fifo`] order, a
//! seeded [`Random`] schedule, or [`Pct`]), and every step is recorded in a [`Trace`]. The same
//! seed and the same program give a byte-identical trace on every machine.
//!
//! ```
//! use std::time::Duration;
//! use std::{cell::RefCell, rc::Rc};
//!
//! async fn display(out: Rc<RefCell<Vec<String>>>, items: [&'static str; 4]) {
//!     for i in items {
//!         out.borrow_mut().push(i.to_string());
//!         simloop::sleep(Duration::from_millis(1)).await;
//!     }
//! }
//!
//! let out = Rc::new(RefCell::new(Vec::new()));
//! let lp = simloop::new_event_loop(); // FIFO: asyncio's own order
//! lp.run_until_complete(simloop::gather([
//!     display(out.clone(), ["0", "1", "2", "3"]),
//!     display(out.clone(), ["a", "b", "c", "d"]),
//! ])).unwrap();
//! assert_eq!(out.borrow().join(" "), "0 a 1 b 2 c 3 d");
//! assert_eq!(lp.elapsed(), Duration::from_millis(4)); // virtual time
//!
//! // A seeded loop chooses among everything runnable; the seed replays exactly.
//! let run = |seed| {
//!     let out = Rc::new(RefCell::new(Vec::new()));
//!     let lp = simloop::EventLoop::builder().seed(seed).build();
//!     lp.run_until_complete(simloop::gather([
//!         display(out.clone(), ["0", "1", "2", "3"]),
//!         display(out.clone(), ["a", "b", "c", "d"]),
//!     ])).unwrap();
//!     let text = out.borrow().join(" ");
//!     (text, lp.trace().to_string())
//! };
//! assert_eq!(run(7), run(7));
//! ```
//!
//! ## Finding an interleaving bug
//!
//! [`check`] sweeps a test body over seeds (`0..1000` unless `SIMLOOP_SEEDS` says
//! otherwise) with a fresh loop per seed — under the [`Portfolio`]: [`Random`], PCT of
//! depth 2 or 4, or [`Swarm`], by seed, learning from the await-site coverage of earlier
//! seeds ([`Builder::adaptive`]) — and panics with a report on the first failure:
//!
//! ```should_panic
//! use std::{cell::Cell, rc::Rc};
//! simloop::check(|| async {
//!     let counter = Rc::new(Cell::new(0));
//!     let incr = |c: Rc<Cell<u32>>| async move {
//!         let v = c.get();          // read
//!         simloop::yield_now().await; // another task may run here
//!         c.set(v + 1);             // write back: a lost update
//!     };
//!     simloop::gather([incr(counter.clone()), incr(counter.clone())]).await;
//!     assert_eq!(counter.get(), 2);
//! });
//! ```
//!
//! The report (on stderr) names the seed, the step and virtual time of the failure, the
//! panic, the last trace events and the run's `tracing` log, and ends with the line that
//! replays it, e.g. `SIMLOOP_SEED=0x3 cargo test --test counter -- lost_update --exact`.
//!
//! ## Debugging a failure
//!
//! 1. Paste the replay line: `SIMLOOP_SEED=0x…` runs exactly the failing seed, as often as
//!    you like, with the same schedule each time.
//! 2. Read the trace file the report names (`target/simloop/<test>-seed_0x….trace`): one
//!    line per spawn, poll, wake, timer, callback, cancel, clock jump, stop, destroy and
//!    [`buggify`] value.
//! 3. Add `tracing::info!` calls to your code: the report shows them stamped with virtual
//!    time and task (see [`log`]).
//! 4. `SIMLOOP_REPLAY=<trace file>` (or [`replay`]) follows the recorded schedule step by
//!    step; if your edit changed the program, it stops at the first step that no longer
//!    matches ("replay diverged at step N: the trace expected …").
//! 5. Fix, then sweep again: the same seeds must now pass.
//!
//! [`Builder::try_check`] is the non-panicking form, returning the [`Failure`] to inspect.
//!
//! ## Fuzz your scheduler
//!
//! Random seeds find shallow interleaving bugs; a coverage-guided fuzzer that *chooses*
//! the schedule finds deep ones. With the [`Bytes`] policy every scheduling decision comes
//! from the fuzzer's input (FIFO once it runs out), and [`fuzz::check`] is a whole
//! cargo-fuzz target body:
//!
//! ```no_run
//! # macro_rules! fuzz_target { (|$d:ident: &[u8]| $b:block) => { fn _t($d: &[u8]) $b } }
//! # async fn my_test() {}
//! fuzz_target!(|data: &[u8]| {
//!     simloop::fuzz::check(data, my_test); // panics with the usual report on failure
//! });
//! ```
//!
//! A crash input replays without the fuzzer: `SIMLOOP_FUZZ_INPUT=crash-… cargo test …`
//! runs that one schedule through [`check`], and [`fuzz::to_trace`] turns it into a trace
//! for [`replay`]. The [`fuzz`] module shows the target, a CI job with a cached corpus,
//! and the crash-to-replay path.
//!
//! ## Map of the API
//!
//! | asyncio | simloop |
//! | --- | --- |
//! | `asyncio.run(main())` | [`run`] |
//! | `new_event_loop`, `get_event_loop`, `set_event_loop`, `get_running_loop` | [`new_event_loop`], [`get_event_loop`], [`set_event_loop`], [`get_running_loop`] |
//! | `loop.run_until_complete`, `run_forever`, `stop`, `close`, `is_running`, `is_closed` | [`EventLoop`] methods of the same names |
//! | `loop.call_soon`, `call_later`, `call_at`, `time` | [`EventLoop::call_soon`], [`EventLoop::call_later`], [`EventLoop::call_at`] (returning [`Handle`]/[`TimerHandle`]), [`EventLoop::time`] |
//! | `create_task`, `Task.cancel` | [`create_task`], [`EventLoop::create_task`], [`Task`] |
//! | `sleep(d)`, `sleep(0)` | [`sleep`], [`yield_now`] |
//! | `wait_for`, `timeout` | [`wait_for`], [`timeout`], [`timeout_at`] ([`Elapsed`]) |
//! | `gather`, `wait`, `as_completed`, `shield`, `TaskGroup` | [`gather`], [`wait`], [`as_completed`], [`shield`], [`task_group`] |
//!
//! Errors asyncio raises keep asyncio's wording ([`LoopError`]); the simulator adds
//! deadlock detection (naming every blocked task) and a step limit against livelocks.
//!
//! ## Differences from asyncio, on purpose
//!
//! - [`get_event_loop`] creates a loop when the thread has none, in every thread (Rust
//!   tests run on worker threads), even after `set_event_loop(None)`; Python 3.14 raises.
//! - Rust code cannot catch a cancellation: a cancelled task's future is dropped at its
//!   next step (destructors run) and the task ends [`TaskError::Cancelled`].
//! - Equal timer deadlines fire in registration order under FIFO (asyncio's heap order is
//!   "undefined"); [`gather`] re-raises a child's panic after all children finished.
//!
//! ## Environment
//!
//! `SIMLOOP_SEED=N` (decimal or `0x` hex) makes [`new_event_loop`] (and so [`run`] and
//! [`get_event_loop`]) use [`Random`] with seed `N`. Sweeps ([`check`], [`Builder::check`],
//! [`Builder::try_check`]) read every `SIMLOOP_*` variable through [`Env`] (`SIMLOOP_FUZZ_INPUT=path`
//! runs a fuzzer's crash input once instead of sweeping); [`LoopBuilder::build`]
//! never reads the environment.

//! ## Map of the inside
//!
//! `src/` is in layers; a module imports only from its own layer or the ones above it in
//! this list, and no file imports one that imports it back.
//!
//! 0. **Plain values**: `time/instant` ([`Instant`]), `task/id` ([`TaskId`]), `trace/`
//!    (records; `trace/format` is the only code that knows the text; `diff`, `digest`;
//!    `window`, the bounded in-memory window and the streamed file; `reader`, a trace
//!    file read event by event),
//!    `env` (parsing `SIMLOOP_*`).
//! 1. **Decisions and plumbing**: `error` ([`LoopError`]); `policy/` (the [`Policy`]
//!    decision, one strategy per file — `replay_stream` is [`Replay`] over a file read as
//!    the run goes —, [`Strategy`] for sweeps, wrappers together);
//!    `task/` (state machine, header, handle, and the message that is the one way into a
//!    loop).
//! 2. **The loop**: `event_loop/` — lifecycle, the ready set, the task slab, the timer
//!    queue, handles, wakers, the thread registry, and `core`'s one-screen step loop.
//! 3. **Inside a run**: `time/` (sleep, timeout), `combinators/`, `buggify`, `choice`
//!    ([`choose`], [`rng`]), `log` —
//!    what user code calls while a loop runs; none of it touches the loop's `Core`.
//! 4. **The runner**: `check/` (builder, body, one run, sweep, replay, fuzz inputs,
//!    search, explore, shrink, report), and the public `fuzz` module over it.
//!
//! This file is the facade: asyncio's module-level functions and the public names.

#![deny(missing_docs)]
#![forbid(unsafe_code)]
#![warn(rust_2018_idioms, unreachable_pub)]

mod buggify;
mod check;
mod choice;
mod combinators;
mod env;
mod error;
mod event_loop;
pub mod fuzz;
pub mod log;
#[doc(hidden)]
pub mod policy;
mod task;
mod time;
#[doc(hidden)]
pub mod trace;

pub use buggify::buggify;
pub use check::{
    Body, Builder, CheckOutcome, ExploreSummary, Failure, FailureKind, Shrunk, Summary,
    TraceSource, DEFAULT_MAX_PREEMPTIONS, DEFAULT_MAX_SCHEDULES, DEFAULT_SEEDS,
    DEFAULT_SHRINK_BUDGET,
};
pub use choice::{choose, rng, SimRng};
pub use combinators::{
    as_completed, gather, shield, task_group, wait, AsCompleted, Gather, GroupError, GroupFailure,
    ReturnWhen, Shielded, TaskGroup, TaskGroupFuture, Wait,
};
pub use env::{parse_seed, shard_seeds, Env, EnvError};
pub use error::{BlockedTask, LoopError, OtherLoopTask};
pub use event_loop::registry::current_task;
pub use event_loop::{
    EventLoop, Handle, LoopBuilder, TimerHandle, DEFAULT_MAX_STEPS, DEFAULT_TRACE_MEMORY,
};
pub use policy::{
    Bytes, Candidate, CandidateKind, Decision, Fifo, Pct, Policy, Portfolio, Random, Replay,
    Strategy, Swarm,
};
/// `#[simloop::test] async fn name() { … }`: a `#[test]` that sweeps its body like [`check`]
/// (feature `macros`, on by default; see the `simloop-macros` crate for the details).
#[cfg(feature = "macros")]
pub use simloop_macros::test;
pub use task::{PanicPayload, Task, TaskError, TaskId, TaskInfo};
pub use time::{
    sleep, sleep_until, timeout, timeout_at, wait_for, yield_now, Elapsed, Instant, Sleep, Timeout,
    YieldNow,
};
pub use trace::{Event, EventKind, ParseError, PollOutcome, Trace};

/// Old module paths (`simloop::pct`, `simloop::policy`, `simloop::trace`,
/// `simloop::fuzz::Bytes`), kept so code written against 0.1 still compiles; every item
/// has one documented path at the crate root.
#[doc(hidden)]
pub mod pct {
    pub use crate::policy::{Pct, Portfolio};
}

use std::future::Future;

use event_loop::registry;

/// For simloop's own companion crates (the tokio mirror); not a public API.
#[doc(hidden)]
pub mod __private {
    pub use crate::time::sleep::sleep_until_from;

    /// Sets, for this thread, the size (bytes) above which a trace file is replayed as it
    /// is read rather than loaded (default 64 MiB); returns the previous value. For tests
    /// of the streamed path with small files.
    pub fn set_stream_replay_above(bytes: u64) -> u64 {
        crate::check::source::set_stream_replay_above(bytes)
    }

    /// Wakes `w` once nothing else is ready on the running loop (before its clock may
    /// advance): tokio's deferred `yield_now`. Outside a running loop it wakes at once.
    pub fn defer_wake(w: &std::task::Waker) {
        match crate::event_loop::registry::running() {
            Some(inner) => inner.deferred.borrow_mut().push(w.clone()),
            None => w.wake_by_ref(),
        }
    }

    /// A source location as reports show it (`src/x.rs:12`; a dependency's absolute
    /// path cut to its last two parts).
    pub fn location_text(at: &std::panic::Location<'_>) -> String {
        crate::trace::origin::location_text(at)
    }
}

/// Creates a new loop (asyncio's `new_event_loop`): [`Fifo`] unless `SIMLOOP_SEED` is set,
/// then [`Random`] with that seed. It is not set as the current loop.
///
/// `SIMLOOP_SEED` is how a sweep's replay line reruns a seed, so setting it for a whole
/// test binary also turns that binary's `new_event_loop`/[`run`] tests random. The loop
/// says so: its `Debug` shows `seed=…` (`None` from [`EventLoop::seed`] under FIFO), and
/// when [`run`] fails under such a loop its message ends with a note naming the variable.
///
/// ```
/// let lp = simloop::new_event_loop();
/// assert!(!lp.is_running() && !lp.is_closed());
/// ```
///
/// # Panics
/// If `SIMLOOP_SEED` is set to something that is not a seed (see [`parse_seed`]).
#[track_caller]
pub fn new_event_loop() -> EventLoop {
    EventLoop::new()
}

/// The running loop, else this thread's current loop, else a new loop (set as current).
///
/// ```
/// let a = simloop::get_event_loop();
/// assert_eq!(a, simloop::get_event_loop());
/// ```
#[track_caller]
pub fn get_event_loop() -> EventLoop {
    if let Some(lp) = registry::running_loop() {
        return lp;
    }
    if let Some(lp) = registry::current_loop() {
        return lp;
    }
    let lp = new_event_loop();
    set_event_loop(Some(&lp));
    lp
}

/// Sets (or with `None` clears) this thread's current loop. It does not make it running.
///
/// ```
/// let lp = simloop::new_event_loop();
/// simloop::set_event_loop(Some(&lp));
/// assert_eq!(simloop::get_event_loop(), lp);
/// assert!(simloop::get_running_loop().is_err());
/// ```
pub fn set_event_loop(lp: Option<&EventLoop>) {
    registry::set_current_loop(lp);
}

/// The loop running in this thread (asyncio's `get_running_loop`).
///
/// ```
/// let err = simloop::get_running_loop().unwrap_err();
/// assert_eq!(err.to_string(), "no running event loop");
/// simloop::run(async {
///     assert!(simloop::get_running_loop().unwrap().is_running());
/// });
/// ```
///
/// # Errors
/// [`LoopError::NoRunningLoop`] outside a running loop.
pub fn get_running_loop() -> Result<EventLoop, LoopError> {
    registry::running_loop().ok_or(LoopError::NoRunningLoop)
}
/// Spawns `fut` on the running loop (asyncio's `create_task`).
///
/// # Panics
/// "no running event loop" outside a running loop.
#[track_caller]
pub fn create_task<F>(fut: F) -> Task<F::Output>
where
    F: Future + 'static,
{
    match registry::running_loop() {
        Some(lp) => lp.create_task(fut),
        None => panic!(
            "create_task: no running event loop ({})",
            LoopError::NoRunningLoop.hint()
        ),
    }
}

/// Like [`create_task`], with a name.
///
/// # Panics
/// "no running event loop" outside a running loop.
#[track_caller]
pub fn create_task_named<F>(name: impl Into<String>, fut: F) -> Task<F::Output>
where
    F: Future + 'static,
{
    match registry::running_loop() {
        Some(lp) => lp.create_task_named(name, fut),
        None => panic!(
            "create_task_named: no running event loop ({})",
            LoopError::NoRunningLoop.hint()
        ),
    }
}

/// Runs `fut` to completion on a new loop and returns its output (asyncio's `run`).
///
/// Creates a loop with [`new_event_loop`], sets it as current, runs `fut`, then cancels
/// every task still pending (in id order) and lets the cancellations finish, clears the
/// current loop and closes the loop. A panic in `fut` propagates after that cleanup.
///
/// ```
/// let v = simloop::run(async { 1 + 1 });
/// assert_eq!(v, 2);
/// ```
///
/// # Panics
/// If called inside a running loop ("simloop::run() cannot be called from a running event
/// loop"), or if the loop fails ([`LoopError`]: deadlock, step limit, unobserved panic…),
/// with the error's full message.
#[track_caller]
pub fn run<F>(fut: F) -> F::Output
where
    F: Future + 'static,
{
    if registry::running_loop().is_some() {
        panic!("{:#}", LoopError::RunInRunningLoop);
    }
    let lp = new_event_loop();
    set_event_loop(Some(&lp));
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| lp.run_until_complete(fut)));
    let shutdown = if matches!(r, Ok(Ok(_))) {
        lp.cancel_leftovers()
    } else {
        Ok(())
    };
    set_event_loop(None);
    let _ = lp.close();
    // The loop has a seed only if SIMLOOP_SEED gave it one (new_event_loop is FIFO).
    let env_note = lp.seed().map(|s| {
        format!(
            "simloop::run: note: SIMLOOP_SEED={s:#x} is set, so this loop ran under Random \
             with seed {s:#x} instead of asyncio's FIFO order"
        )
    });
    match r {
        Ok(Ok(v)) => match shutdown {
            Ok(()) => v,
            Err(e) => panic!("simloop::run: shutting down the loop failed: {e:#}"),
        },
        Ok(Err(e)) => match env_note {
            Some(n) => panic!("simloop::run: {e:#}\n{n}"),
            None => panic!("simloop::run: {e:#}"),
        },
        Err(p) => {
            if let Some(n) = env_note {
                eprintln!("{n}");
            }
            std::panic::resume_unwind(p)
        }
    }
}

/// Sweeps `body` over seeds (`SIMLOOP_SEEDS`, default `0..1000`; `SIMLOOP_SEED` runs one
/// seed; `SIMLOOP_REPLAY` replays a trace file) with the [`Portfolio`] (Random, PCT(2)
/// with change points near the ends, Swarm or PCT(4), by seed `% 6`), learning from
/// coverage as it goes ([`Builder::adaptive`]), and panics with a replayable report on
/// the first failure. See [`Builder::check`].
///
/// ```
/// simloop::check(|| async {
///     let t = simloop::create_task(async { 21 * 2 });
///     assert_eq!(t.await.unwrap(), 42);
/// });
/// ```
///
/// # Panics
/// On the first failing seed, with the seed and the line that replays it.
#[track_caller]
pub fn check<B: Body>(body: B) {
    Builder::new().check(body)
}

/// Replays a recorded trace (a [`Trace`], trace text, or a file path) step for step with
/// `body`; panics with the same report as [`check`] if the body fails, or with a
/// divergence error naming the step if the program no longer matches the trace.
///
/// ```
/// let body = || async {
///     simloop::gather((0..3).map(|i| async move { simloop::yield_now().await; i })).await;
/// };
/// let lp = simloop::EventLoop::builder().seed(9).build();
/// lp.run_until_complete(body()).unwrap();
/// lp.run_until_complete(async {}).unwrap_or_default();
/// # let lp = simloop::EventLoop::builder().seed(9).build();
/// # lp.run_until_complete(body()).unwrap();
/// simloop::replay(lp.trace().to_string(), body);
/// ```
///
/// # Panics
/// If the body fails, the replay diverges, or the trace is malformed.
#[track_caller]
pub fn replay<S: TraceSource, B: Body>(source: S, body: B) {
    Builder::new().replay(source).check(body)
}
