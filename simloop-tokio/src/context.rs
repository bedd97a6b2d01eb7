//! Which simulated runtime the calling code is in.
//!
//! A *run* ([`RunState`]) is one simloop loop seen as a tokio runtime: a `Runtime` built
//! with [`Builder`](crate::runtime::Builder), or one seed of a `#[tokio::test]` sweep.
//! Code is *in* a run while the run is entered (a stack per thread: `block_on`, the test
//! body, `Runtime::enter`), or, failing that, while a plain simloop loop is running (so
//! mirror code also works inside `simloop::check`; such a loop gets a run on first use).
//!
//! Mirror handles (`JoinHandle`, `Handle`, `Sleep`, …) must be `Send + Sync` like tokio's,
//! so they hold numbers, never `Rc`s: the state behind them lives in this thread's
//! tables, and a handle used on another thread finds nothing and says so.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::rc::{Rc, Weak};
use std::sync::atomic::{AtomicU64, Ordering};

/// tokio's text for every call that needs a runtime and has none.
pub(crate) const CONTEXT_MISSING: &str =
    "there is no reactor running, must be called from the context of a Tokio 1.x runtime";

/// tokio's text for a `block_on` inside a runtime.
pub(crate) const NESTED_BLOCK_ON: &str = "Cannot start a runtime from within a runtime. This happens because a function (like `block_on`) attempted to block the current thread while the thread is being used to drive asynchronous tasks. If you are in an async function, use `.await` on the future instead of blocking on it.";

/// Where a `select!` is written: `(file!(), line!(), column!())`.
pub(crate) type SelectSite = (&'static str, u32, u32);

static NEXT_RUN: AtomicU64 = AtomicU64::new(1);

/// One simulated runtime: a simloop loop and what the mirror keeps about it.
pub(crate) struct RunState {
    /// Process-unique, never reused: what `Send` handles name the run by.
    pub(crate) id: u64,
    pub(crate) lp: simloop::EventLoop,
    /// `time::pause()` is in effect.
    pub(crate) paused: Cell<bool>,
    /// The runtime was built with timers (`enable_time`/`enable_all`).
    pub(crate) timers: Cell<bool>,
    /// Each `select!` site's rotation (see `__private::select_start`).
    pub(crate) select_rotation: RefCell<BTreeMap<SelectSite, usize>>,
    /// The last task id given out in this run (ids count from 1 per run, so they replay).
    last_task: Cell<u64>,
}

thread_local! {
    static ENTERED: RefCell<Vec<Rc<RunState>>> = const { RefCell::new(Vec::new()) };
    static RUNS: RefCell<BTreeMap<u64, Weak<RunState>>> = const { RefCell::new(BTreeMap::new()) };
    /// The run made for a plain simloop loop (see the module docs).
    static ADOPTED: RefCell<Option<Rc<RunState>>> = const { RefCell::new(None) };
}

impl RunState {
    pub(crate) fn new(lp: simloop::EventLoop, paused: bool) -> Rc<RunState> {
        let rs = Rc::new(RunState {
            id: NEXT_RUN.fetch_add(1, Ordering::Relaxed),
            lp,
            paused: Cell::new(paused),
            timers: Cell::new(true),
            last_task: Cell::new(0),
            select_rotation: RefCell::new(BTreeMap::new()),
        });
        RUNS.with(|r| r.borrow_mut().insert(rs.id, Rc::downgrade(&rs)));
        rs
    }

    /// The next task id of this run (from 1).
    pub(crate) fn next_task_number(&self) -> u64 {
        let n = self.last_task.get() + 1;
        self.last_task.set(n);
        n
    }
}

impl Drop for RunState {
    fn drop(&mut self) {
        let id = self.id;
        let _ = RUNS.try_with(|r| r.borrow_mut().remove(&id));
    }
}

/// `true` once run `id` has ended (its state is gone). The tables keyed by run (task
/// slots, timers) drop such runs' entries when the next run starts using them.
pub(crate) fn has_ended(id: u64) -> bool {
    find(id).is_none()
}

/// The run the calling code is in, if any (see the module docs).
pub(crate) fn current() -> Option<Rc<RunState>> {
    if let Some(rs) = ENTERED.with(|e| e.borrow().last().cloned()) {
        return Some(rs);
    }
    let lp = simloop::get_running_loop().ok()?;
    ADOPTED.with(|a| {
        let mut a = a.borrow_mut();
        match &*a {
            Some(rs) if rs.lp == lp => Some(rs.clone()),
            _ => {
                refuse_inside_real_tokio();
                let rs = RunState::new(lp, false);
                *a = Some(rs.clone());
                Some(rs)
            }
        }
    })
}

/// [`current`], or tokio's panic.
#[track_caller]
pub(crate) fn expect_current() -> Rc<RunState> {
    current().unwrap_or_else(|| panic!("{CONTEXT_MISSING}"))
}

/// The run named by a handle, while it exists on this thread.
pub(crate) fn find(id: u64) -> Option<Rc<RunState>> {
    RUNS.with(|r| r.borrow().get(&id).and_then(Weak::upgrade))
}

/// `true` while a simloop loop runs on this thread (so blocking on another would nest).
pub(crate) fn in_running_loop() -> bool {
    simloop::get_running_loop().is_ok()
}

/// Panics unless a new simulated runtime may be driven here: not inside a running loop
/// (tokio's nested-`block_on` text), not inside a real tokio runtime.
#[track_caller]
pub(crate) fn check_can_block() {
    if in_running_loop() {
        panic!("{NESTED_BLOCK_ON}");
    }
    refuse_inside_real_tokio();
}

/// Panics if a real tokio runtime is entered on this thread: code in the simulation
/// could then reach it (a dependency's `tokio::spawn` would silently run on it, outside
/// the policy's control) instead of failing.
#[track_caller]
fn refuse_inside_real_tokio() {
    if tokio::runtime::Handle::try_current().is_ok() {
        panic!(
            "simloop-tokio: a simulated runtime was started inside a real tokio runtime. A \
             simulation must drive its own thread: call it from a plain `#[test]` (or from the \
             mirror's `#[tokio::test]`, with `extern crate simloop_tokio as tokio;` at the crate \
             root), not from real tokio's `#[tokio::test]`, `block_on` or a task"
        );
    }
}

/// Keeps a run entered (see the module docs) until dropped.
pub(crate) struct Entered {
    id: u64,
}

pub(crate) fn enter(rs: Rc<RunState>) -> Entered {
    let id = rs.id;
    ENTERED.with(|e| e.borrow_mut().push(rs));
    Entered { id }
}

impl Drop for Entered {
    fn drop(&mut self) {
        let id = self.id;
        let _ = ENTERED.try_with(|e| {
            let mut e = e.borrow_mut();
            if let Some(i) = e.iter().rposition(|rs| rs.id == id) {
                e.remove(i);
            }
        });
    }
}
