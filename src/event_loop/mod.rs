//! The [`EventLoop`] handle and its public API; the loop's parts, one per file.
//!
//! - [`lifecycle`]: the loop's states (idle, stop requested, running, stopping, closed).
//! - [`inner`]: the shared state behind a handle, and the one route into the loop.
//! - [`core`]: what a loop owns.
//! - [`ready`], [`slab`], [`table`], [`timers`]: the ready set, the task slab, the ready
//!   callbacks and the timer queue, each with its own invariants and tests.
//! - [`handle`]: callbacks and timers ([`Handle`], [`TimerHandle`]) and their states.
//! - [`waker`]: task wakers and completion hops; [`remote`]: wakes from other threads.
//! - [`spawn`]: creating a task; [`step`]: the step loop (one screen).
//! - [`registry`]: the thread's running, current and live loops.
//! - [`builder`]: [`LoopBuilder`]; [`close`]: closing a loop, cancelling leftovers.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::future::Future;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::error::LoopError;
use crate::policy::Policy;
use crate::task::error::TaskError;
use crate::task::handle::Task;
use crate::time::instant::Instant;
use crate::trace::origin::{Origin, What};
use crate::trace::Trace;

pub(crate) mod block_on;
pub(crate) mod builder;
pub(crate) mod close;
pub(crate) mod core;
pub(crate) mod handle;
pub(crate) mod inner;
pub(crate) mod lifecycle;
pub(crate) mod ready;
pub(crate) mod refuse;
pub(crate) mod registry;
pub(crate) mod remote;
pub(crate) mod sites;
pub(crate) mod slab;
pub(crate) mod spawn;
pub(crate) mod step;
pub(crate) mod table;
pub(crate) mod task_waker;
pub(crate) mod timers;
pub(crate) mod waker;

pub use builder::{LoopBuilder, DEFAULT_MAX_STEPS, DEFAULT_TRACE_MEMORY};
pub use handle::{Handle, TimerHandle};
pub(crate) use inner::Inner;
pub(crate) use registry::running_inner;

use self::core::Core;
use handle::{Action, CancelNotes};
use lifecycle::Lifecycle;
use remote::Remote;
use step::Exit;

/// Loop ids: distinct per process, used only to route wakes (never in traces).
static NEXT_LOOP_ID: AtomicU64 = AtomicU64::new(1);

/// A handle to a simloop event loop: cheap to clone, compared by identity.
///
/// See the [crate docs](crate) for a tour. The loop is single-threaded: `EventLoop` is
/// neither `Send` nor `Sync`, and tasks need not be `Send`.
///
/// ```
/// use std::time::Duration;
/// let lp = simloop::new_event_loop();
/// assert_eq!(format!("{lp:?}"), "<EventLoop running=false closed=false seed=none>");
/// let out = lp.run_until_complete(async {
///     simloop::sleep(Duration::from_millis(5)).await;
///     "done"
/// });
/// assert_eq!(out, Ok("done"));
/// assert_eq!(lp.time().as_nanos(), 5_000_000);
/// lp.close().unwrap();
/// assert!(lp.is_closed());
/// ```
#[derive(Clone)]
pub struct EventLoop {
    pub(crate) inner: Rc<Inner>,
}

impl PartialEq for EventLoop {
    fn eq(&self, other: &Self) -> bool {
        self.inner.id == other.inner.id
    }
}

impl Eq for EventLoop {}

impl fmt::Debug for EventLoop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "<EventLoop running={} closed={} seed=",
            self.is_running(),
            self.is_closed()
        )?;
        match self.seed() {
            Some(s) => write!(f, "{s:#x}>"),
            None => f.write_str("none>"),
        }
    }
}

impl Default for EventLoop {
    fn default() -> Self {
        EventLoop::new()
    }
}

/// Makes a loop with exactly this policy.
pub(crate) fn new_loop(policy: Box<dyn Policy>, seed: Option<u64>, max_steps: u64) -> EventLoop {
    let seed = policy.seed().or(seed);
    let name = policy.name();
    let every_step = policy.every_step();
    let id = NEXT_LOOP_ID.fetch_add(1, Ordering::Relaxed);
    let inner = Rc::new(Inner {
        id,
        core: RefCell::new(Core::new(policy, {
            let mut trace = Trace::new(&name, seed);
            trace.set_limit(crate::trace::window::DEFAULT_LIMIT);
            trace
        })),
        inbox: RefCell::new(Vec::with_capacity(8)),
        remote: Arc::new(Remote::new(id)),
        lifecycle: Lifecycle::new(),
        notes: Rc::new(CancelNotes::default()),
        now: Cell::new(0),
        main_task: Cell::new(None),
        failure: RefCell::new(None),
        has_failure: Cell::new(false),
        current: Cell::new(0),
        max_steps,
        seed,
        every_step,
        shutdown: Cell::new(None),
        deferred: RefCell::new(Vec::new()),
        refused: RefCell::new(Vec::new()),
        probe: Cell::new(None),
    });
    registry::register(id, &inner);
    EventLoop { inner }
}

/// Leaves the running state when a run ends, however it ends.
struct RunGuard {
    inner: Rc<Inner>,
}

impl Inner {
    /// Enters the running state (checks first); the guard always leaves it.
    fn enter(self: &Rc<Self>) -> Result<RunGuard, LoopError> {
        self.lifecycle.check_can_run()?;
        if !registry::set_running(self) {
            return Err(LoopError::AnotherLoopRunning);
        }
        self.lifecycle.enter();
        self.remote.set_running(true);
        Ok(RunGuard {
            inner: self.clone(),
        })
    }
}

impl Drop for RunGuard {
    fn drop(&mut self) {
        self.inner.lifecycle.leave();
        self.inner.remote.set_running(false);
        self.inner.main_task.set(None);
        registry::clear_running();
        if let Ok(mut core) = self.inner.core.try_borrow_mut() {
            core.ready.end_batch();
        }
    }
}

impl EventLoop {
    /// A new loop: [`Fifo`](crate::Fifo) unless `SIMLOOP_SEED` is set (then [`Random`](crate::Random) with that
    /// seed). The same as [`new_event_loop`](crate::new_event_loop).
    ///
    /// # Panics
    /// If `SIMLOOP_SEED` is set to something that is not a decimal or `0x` hex `u64`.
    #[track_caller]
    pub fn new() -> EventLoop {
        match crate::env::seed_from_process() {
            Ok(Some(s)) => LoopBuilder::new().seed(s).build(),
            Ok(None) => LoopBuilder::new().build(),
            Err(e) => panic!("{e}"),
        }
    }

    /// A [`LoopBuilder`] for a loop with a seed, a policy or a step limit.
    pub fn builder() -> LoopBuilder {
        LoopBuilder::new()
    }

    /// Runs the loop until `fut` completes and returns its output (asyncio's
    /// `run_until_complete`).
    ///
    /// `fut` becomes a task like any other (so the policy interleaves it). A panic in
    /// `fut` propagates out of this call, after the loop has left the running state.
    ///
    /// # Errors
    /// [`LoopError::Closed`], [`LoopError::AlreadyRunning`],
    /// [`LoopError::AnotherLoopRunning`] before anything runs;
    /// [`LoopError::StoppedBeforeComplete`] if `stop()` took effect first (the task stays
    /// alive for the next run); [`LoopError::Deadlock`], [`LoopError::StepLimit`],
    /// [`LoopError::TaskPanicked`], [`LoopError::CallbackPanicked`].
    #[track_caller]
    pub fn run_until_complete<F>(&self, fut: F) -> Result<F::Output, LoopError>
    where
        F: Future + 'static,
    {
        let origin = Origin::new(What::Main, std::panic::Location::caller(), 0);
        self.run_main(fut, origin)
    }

    /// [`run_until_complete`](EventLoop::run_until_complete), noting `origin` as where the
    /// main task came from.
    pub(crate) fn run_main<F>(&self, fut: F, origin: Origin) -> Result<F::Output, LoopError>
    where
        F: Future + 'static,
    {
        self.run_main_with(fut, origin, &mut None)
    }

    /// [`run_main`](EventLoop::run_main), with `main` (if any) polled in place of the main
    /// task's own future (see [`block_on`](EventLoop::block_on)).
    pub(crate) fn run_main_with<F>(
        &self,
        fut: F,
        origin: Origin,
        main: &mut step::MainPoll<'_>,
    ) -> Result<F::Output, LoopError>
    where
        F: Future + 'static,
    {
        let inner = &self.inner;
        let guard = inner.enter()?;
        let task = inner.spawn(None, fut, origin);
        inner.main_task.set(Some(task.id()));
        let exit = inner.run_steps(main);
        let (step, time) = (inner.core().steps, inner.now());
        let err = match exit {
            Exit::Stopped if task.is_done() => None,
            Exit::Stopped => Some(LoopError::StoppedBeforeComplete),
            Exit::Idle if task.is_done() => None,
            Exit::Idle => Some(LoopError::Deadlock {
                blocked: inner.core().blocked(),
                step,
                time,
            }),
            Exit::StepLimit => Some(LoopError::StepLimit {
                limit: inner.max_steps,
                time,
            }),
            Exit::Failed(e) => Some(e),
        };
        drop(guard);
        if let Some(e) = err {
            return Err(e);
        }
        let id = task.id();
        let out = task.take_output().expect("main task output");
        match out {
            Ok(v) => Ok(v),
            Err(TaskError::Cancelled) => Err(LoopError::MainCancelled { task: id }),
            Err(TaskError::Panicked(p)) => std::panic::resume_unwind(p.into_inner()),
        }
    }

    /// Runs until [`stop`](EventLoop::stop) is called (asyncio's `run_forever`).
    ///
    /// # Errors
    /// As for [`run_until_complete`](EventLoop::run_until_complete); if nothing is runnable
    /// and no timer is pending the loop would sleep for ever, which is reported as
    /// [`LoopError::Deadlock`].
    pub fn run_forever(&self) -> Result<(), LoopError> {
        let inner = &self.inner;
        let guard = inner.enter()?;
        let exit = inner.run_steps(&mut None);
        let time = inner.now();
        let r = match exit {
            Exit::Stopped => Ok(()),
            Exit::Idle => {
                let core = inner.core();
                Err(LoopError::Deadlock {
                    blocked: core.blocked(),
                    step: core.steps,
                    time,
                })
            }
            Exit::StepLimit => Err(LoopError::StepLimit {
                limit: inner.max_steps,
                time,
            }),
            Exit::Failed(e) => Err(e),
        };
        drop(guard);
        r
    }

    /// Asks the loop to stop at the end of the current batch (asyncio's `stop()`). Called
    /// while the loop is not running, the next `run_forever` runs exactly one iteration.
    pub fn stop(&self) {
        self.inner.lifecycle.request_stop();
    }

    /// Spawns `fut` as a task on this loop; its first step is queued at the tail of the
    /// ready queue. Tasks need not be `Send`.
    ///
    /// # Panics
    /// "Event loop is closed" if the loop was closed. Called from a destructor that
    /// `close()` runs (or while a panic unwinds), it does not panic: the call is refused
    /// (nothing runs, the task or handle is cancelled) and `close()` reports it.
    #[track_caller]
    pub fn create_task<F>(&self, fut: F) -> Task<F::Output>
    where
        F: Future + 'static,
    {
        if self.inner.lifecycle.refuses_calls() {
            return self.inner.refused_task(None, fut);
        }
        self.inner.check_open();
        let origin = Origin::new(What::Spawn, std::panic::Location::caller(), 0);
        self.inner.spawn(None, fut, origin)
    }

    /// Like [`create_task`](EventLoop::create_task), with a name shown by `Task::name`,
    /// in the trace and in deadlock reports.
    ///
    /// ```
    /// let lp = simloop::new_event_loop();
    /// let t = lp.create_task_named("worker", async { 1 });
    /// assert_eq!(t.name(), "worker");
    /// assert_eq!(lp.run_until_complete(t).unwrap().unwrap(), 1);
    /// ```
    #[track_caller]
    pub fn create_task_named<F>(&self, name: impl Into<String>, fut: F) -> Task<F::Output>
    where
        F: Future + 'static,
    {
        let name: String = name.into();
        if self.inner.lifecycle.refuses_calls() {
            return self.inner.refused_task(Some(Rc::from(name)), fut);
        }
        self.inner.check_open();
        let origin = Origin::new(What::Spawn, std::panic::Location::caller(), 0);
        self.inner.spawn(Some(Rc::from(name)), fut, origin)
    }

    /// Queues `f` to run once, in FIFO order with task steps (asyncio's `call_soon`).
    ///
    /// ```
    /// use std::{cell::RefCell, rc::Rc};
    /// let lp = simloop::new_event_loop();
    /// let log = Rc::new(RefCell::new(vec![]));
    /// for name in ["a", "b", "c"] {
    ///     let log = log.clone();
    ///     lp.call_soon(move || log.borrow_mut().push(name));
    /// }
    /// lp.call_soon({ let lp = lp.clone(); move || lp.stop() });
    /// lp.run_forever().unwrap();
    /// assert_eq!(*log.borrow(), ["a", "b", "c"]);
    /// ```
    ///
    /// # Panics
    /// "Event loop is closed" if the loop was closed. Called from a destructor that
    /// `close()` runs (or while a panic unwinds), it does not panic: the call is refused
    /// (nothing runs, the task or handle is cancelled) and `close()` reports it.
    #[track_caller]
    pub fn call_soon(&self, f: impl FnOnce() + 'static) -> Handle {
        let cell = if self
            .inner
            .refuses(|| "call_soon: the callback was dropped without running".to_owned())
        {
            drop(f);
            self.inner.refused_handle(None)
        } else {
            self.inner.check_open();
            let origin = Origin::new(What::CallSoon, std::panic::Location::caller(), 0);
            self.inner
                .new_handle(None, Action::Call(Box::new(f)), origin)
        };
        Handle {
            cell,
            notes: Rc::downgrade(&self.inner.notes),
        }
    }

    /// Runs `f` once `delay` of virtual time has passed (asyncio's `call_later`). Timers
    /// with equal deadlines run in registration order under FIFO.
    ///
    /// # Panics
    /// "Event loop is closed" if the loop was closed. Called from a destructor that
    /// `close()` runs (or while a panic unwinds), it does not panic: the call is refused
    /// (nothing runs, the task or handle is cancelled) and `close()` reports it.
    #[track_caller]
    pub fn call_later(&self, delay: Duration, f: impl FnOnce() + 'static) -> TimerHandle {
        let when = self.time() + delay;
        let nanos = u64::try_from(delay.as_nanos()).unwrap_or(u64::MAX);
        let origin = Origin::new(What::CallLater, std::panic::Location::caller(), nanos);
        self.timer(when, Box::new(f), origin)
    }

    /// Runs `f` when the clock reads `when` (asyncio's `call_at`); a past `when` runs at
    /// the next iteration.
    ///
    /// ```
    /// use std::{cell::Cell, rc::Rc, time::Duration};
    /// let lp = simloop::new_event_loop();
    /// let fired = Rc::new(Cell::new(None));
    /// let (f, l) = (fired.clone(), lp.clone());
    /// let h = lp.call_at(simloop::Instant::ZERO + Duration::from_secs(2), move || {
    ///     f.set(Some(l.time()));
    ///     l.stop();
    /// });
    /// assert_eq!(h.when().as_nanos(), 2_000_000_000);
    /// lp.run_forever().unwrap();
    /// assert_eq!(fired.get(), Some(h.when()));
    /// ```
    ///
    /// # Panics
    /// "Event loop is closed" if the loop was closed. Called from a destructor that
    /// `close()` runs (or while a panic unwinds), it does not panic: the call is refused
    /// (nothing runs, the task or handle is cancelled) and `close()` reports it.
    #[track_caller]
    pub fn call_at(&self, when: Instant, f: impl FnOnce() + 'static) -> TimerHandle {
        let origin = Origin::new(
            What::CallAt,
            std::panic::Location::caller(),
            when.as_nanos(),
        );
        self.timer(when, Box::new(f), origin)
    }

    #[track_caller]
    fn timer(&self, when: Instant, f: Box<dyn FnOnce()>, origin: Origin) -> TimerHandle {
        let cell = if self.inner.refuses(|| {
            "call_later/call_at: the timer's callback was dropped without running".to_owned()
        }) {
            drop(f);
            self.inner.refused_handle(Some(when))
        } else {
            self.inner.add_timer(when, Action::Call(f), origin)
        };
        TimerHandle {
            handle: Handle {
                cell,
                notes: Rc::downgrade(&self.inner.notes),
            },
        }
    }

    /// The loop's virtual time (asyncio's `loop.time()`); starts at [`Instant::ZERO`].
    pub fn time(&self) -> Instant {
        self.inner.now()
    }

    /// Virtual time since the loop was created.
    pub fn elapsed(&self) -> Duration {
        Duration::from_nanos(self.inner.now.get())
    }

    /// `true` while `run_until_complete`/`run_forever` is on the stack.
    pub fn is_running(&self) -> bool {
        self.inner.lifecycle.is_running()
    }

    /// `true` once [`close`](EventLoop::close) has been called.
    pub fn is_closed(&self) -> bool {
        self.inner.lifecycle.is_closed()
    }

    /// The seed of this loop's policy (`None` under [`Fifo`](crate::Fifo)).
    pub fn seed(&self) -> Option<u64> {
        self.inner.seed
    }

    /// Steps run so far (task polls, callbacks, timer fires and stop requests).
    pub fn steps(&self) -> u64 {
        self.inner.core().steps
    }

    /// A copy of the trace recorded so far.
    pub fn trace(&self) -> Trace {
        self.inner.core().trace.clone()
    }

    /// Moves the trace out, leaving an empty one: for a run whose loop is closed next, so
    /// a long trace is not held twice.
    pub(crate) fn take_trace(&self) -> Trace {
        let mut core = self.inner.core();
        let fresh = core.trace.fresh();
        std::mem::replace(&mut core.trace, fresh)
    }

    /// Keeps at most `records` trace records (8 bytes each) in memory.
    pub(crate) fn set_trace_limit(&self, records: usize) {
        self.inner.core().trace.set_limit(records);
    }

    /// Streams this loop's whole trace, in its text format, to a new file at `path`: the
    /// events recorded so far at once, later ones as the loop's trace memory fills up
    /// (see [`LoopBuilder::trace_memory`]), and the rest when the loop is closed (or
    /// [`finish_trace_file`](EventLoop::finish_trace_file) is called). The file replays
    /// like any trace file (`SIMLOOP_REPLAY`, [`replay`](crate::replay)), however long the
    /// run: it is read as it is replayed.
    ///
    /// ```
    /// let path = std::env::temp_dir().join(format!("simloop-doc-{}.trace", std::process::id()));
    /// let lp = simloop::EventLoop::builder().seed(3).build();
    /// lp.stream_trace(&path).unwrap();
    /// lp.run_until_complete(simloop::gather((0..3).map(|_| simloop::yield_now()))).unwrap();
    /// lp.close().unwrap();
    /// let text = std::fs::read_to_string(&path).unwrap();
    /// assert_eq!(text, lp.trace().to_string());
    /// # std::fs::remove_file(&path).unwrap();
    /// ```
    ///
    /// # Errors
    /// The file cannot be created; the trace is already streamed; or the run is already
    /// longer than the loop's trace memory (its oldest events are gone: call this before
    /// running).
    pub fn stream_trace(&self, path: impl AsRef<std::path::Path>) -> std::io::Result<()> {
        self.inner.core().trace.stream_to(path.as_ref())
    }

    /// Completes the file [`stream_trace`](EventLoop::stream_trace) writes: the events
    /// it does not have yet, then a flush. Returns its path (`None` if the trace is not
    /// streamed, or the file was completed already). [`close`](EventLoop::close) does
    /// this too, but cannot report a write error.
    ///
    /// # Errors
    /// The first error met writing the file.
    pub fn finish_trace_file(&self) -> std::io::Result<Option<std::path::PathBuf>> {
        self.inner.core().trace.finish_file().transpose()
    }
}
