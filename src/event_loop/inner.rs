//! [`Inner`]: the shared state behind an [`EventLoop`](super::EventLoop) handle, and the
//! one route into the loop.
//!
//! # How a message takes effect
//!
//! Spawns, wakes, cancellations, `call_soon`s, completion hops and stop requests are
//! [`Msg`]s, posted with [`Inner::post_msg`]. A message is applied to the `Core` at
//! once when the `Core` is free (not borrowed by the loop) and nothing is queued before
//! it; otherwise it is appended to the inbox, which the step loop drains, in arrival
//! order, at the start of the next step. Either way messages take effect in arrival
//! order, so the two cases schedule identically. The direct apply exists for speed: the
//! common case — a task being polled wakes or spawns another — then costs no queueing
//! (measured in benches/README.md, W2/W3). Wakes from other threads take the
//! [`Remote`](super::waker::Remote) queue instead.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::Arc;

use super::core::Core;
use super::handle::{Action, CancelNotes, HandleCell};
use super::lifecycle::Lifecycle;
use super::remote::Remote;
use super::task_waker::Probe;
use crate::error::LoopError;
use crate::task::header::{LoopLink, TaskObj};
use crate::task::id::TaskId;
use crate::task::link::Msg;
use crate::time::instant::Instant;
use crate::trace::origin::Origin;

/// How many finished `sleep` timer cells a loop keeps for reuse (enough for the sleeps
/// one iteration of a large simulation finishes; beyond it cells are simply freed).
const CELL_POOL_MAX: usize = 4096;

/// The shared state of a loop. `EventLoop` is an `Rc` of this.
pub(crate) struct Inner {
    pub(crate) id: u64,
    pub(crate) core: RefCell<Core>,
    pub(crate) inbox: RefCell<Vec<Msg>>,
    pub(crate) remote: Arc<Remote>,
    pub(crate) lifecycle: Lifecycle,
    /// What cancelled handles told the loop (shared with the handles).
    pub(crate) notes: Rc<CancelNotes>,
    pub(crate) now: Cell<u64>,
    pub(crate) main_task: Cell<Option<TaskId>>,
    /// The first failure of this run (an unobserved task panic, a callback panic).
    pub(crate) failure: RefCell<Option<LoopError>>,
    /// `failure` is set (checked once per step without a borrow).
    pub(crate) has_failure: Cell<bool>,
    /// The slab index of the task being polled.
    /// The task being polled: its id (high 32 bits) and slab index (low 32 bits), 0 when
    /// none (task ids start at 1). One word, so setting it costs a poll one store.
    pub(crate) current: Cell<u64>,
    pub(crate) max_steps: u64,
    pub(crate) seed: Option<u64>,
    pub(crate) every_step: bool,
    /// The shutdown of `cancel_leftovers`, waiting for the cancelled tasks: woken when a
    /// task completes.
    pub(crate) shutdown: Cell<Option<std::task::Waker>>,
    /// Calls refused while the loop was closing, for `close()`'s report: what was called,
    /// and where (see `refuse.rs`).
    pub(crate) refused: RefCell<Vec<String>>,
    /// The waker a task is polled with until it needs one of its own (`waker.rs`).
    pub(crate) probe: Cell<Option<Probe>>,
    /// Wakes held back until nothing is ready (`defer_wake`: tokio's `yield_now`, which
    /// lets every ready task run first). Woken, in order, before the clock may advance.
    pub(crate) deferred: RefCell<Vec<std::task::Waker>>,
}

impl LoopLink for Inner {
    fn post(&self, msg: Msg) {
        self.post_msg(msg);
    }

    fn fail(&self, e: LoopError) {
        let mut f = self.failure.borrow_mut();
        if f.is_none() {
            *f = Some(e);
        }
        self.has_failure.set(true);
    }

    fn link_awaiting(&self, awaited: Rc<dyn TaskObj>) {
        if let Some(cur) = self.awaiting_task() {
            if !Rc::ptr_eq(&cur, &awaited) {
                cur.header().awaiting.set(Some(awaited));
            }
        }
    }

    fn describe(&self) -> String {
        match self.core.try_borrow() {
            Ok(core) => core.describe(),
            Err(_) => "running".to_owned(),
        }
    }
}

impl Inner {
    /// Borrows the `Core`. The loop never holds this borrow while user code runs, so a
    /// failure here is a simloop bug.
    #[track_caller]
    #[inline]
    pub(crate) fn core(&self) -> std::cell::RefMut<'_, Core> {
        self.core.try_borrow_mut().expect(
            "simloop: the loop was re-entered while updating its own state (a simloop bug; please report it)",
        )
    }

    /// Runs a task's first poll, `poll`, with the loop's probe waker aimed at the task
    /// with header `h`. If the task is still pending, or kept a clone of the probe, the
    /// probe becomes its own waker (`waker.rs`).
    #[inline(never)]
    pub(crate) fn poll_with_probe(
        &self,
        h: &crate::task::header::Header,
        poll: impl FnOnce(&std::task::Waker) -> std::thread::Result<std::task::Poll<()>>,
    ) -> std::thread::Result<std::task::Poll<()>> {
        let p = match self.probe.take() {
            Some(p) => p,
            None => Probe::new(self.remote.clone()),
        };
        p.aim(h.key);
        let r = poll(&p.waker);
        if matches!(r, Ok(std::task::Poll::Ready(()))) && p.is_unshared() {
            self.probe.set(Some(p));
        } else {
            let _ = h.waker.set(p.waker);
        }
        r
    }

    /// Posts a message: see the [module docs](self) for when it takes effect.
    #[inline]
    pub(crate) fn post_msg(&self, m: Msg) {
        let mut inbox = self.inbox.borrow_mut();
        if inbox.is_empty() {
            if let Ok(mut core) = self.core.try_borrow_mut() {
                drop(inbox);
                core.apply(m);
                return;
            }
        }
        inbox.push(m);
    }

    #[inline]
    pub(crate) fn now(&self) -> Instant {
        Instant::from_nanos(self.now.get())
    }

    /// The task being polled right now.
    #[inline]
    pub(crate) fn current_obj(&self) -> Option<Rc<dyn TaskObj>> {
        let cur = self.current.get();
        if cur == 0 {
            return None;
        }
        let index = (cur & 0xffff_ffff) as usize;
        let core = self.core.try_borrow().ok()?;
        core.tasks.get(index).map(|t| t.obj.clone())
    }

    /// The raw id of the task being polled (0: none), for the origins of what it
    /// registers.
    #[inline]
    pub(crate) fn current_id(&self) -> u32 {
        (self.current.get() >> 32) as u32
    }

    /// Takes the failure the run must end with, if any.
    #[inline]
    pub(crate) fn take_failure(&self) -> Option<LoopError> {
        if !self.has_failure.get() {
            return None;
        }
        self.has_failure.set(false);
        self.failure.borrow_mut().take()
    }

    #[track_caller]
    #[inline]
    pub(crate) fn check_open(&self) {
        if self.lifecycle.is_closed() {
            panic!("{:#}", LoopError::Closed);
        }
    }

    /// Registers a callback (`when` = None, posted to the ready set) or a timer, noting
    /// where it came from (`origin`, in the task being polled).
    pub(crate) fn new_handle(
        &self,
        when: Option<Instant>,
        action: Action,
        origin: Origin,
    ) -> Rc<HandleCell> {
        let mut core = self.core();
        let seq = core.next_seq();
        let task = self.current_id();
        core.trace.note_handle(seq, origin.in_task(task));
        let cell = match core.cell_pool.pop() {
            Some(cell) => {
                cell.reset(seq, when, action);
                cell
            }
            None => Rc::new(HandleCell::new(seq, when, action)),
        };
        match when {
            None => {
                let slot = core.handles.alloc(cell.clone());
                drop(core);
                self.post_msg(Msg::Call(slot));
            }
            Some(t) => {
                core.timers.fold_cancels(&self.notes);
                core.timers.push(t.as_nanos(), seq, cell.clone());
            }
        }
        cell
    }

    #[track_caller]
    pub(crate) fn add_timer(
        &self,
        deadline: Instant,
        action: Action,
        origin: Origin,
    ) -> Rc<HandleCell> {
        self.check_open();
        self.new_handle(Some(deadline), action, origin)
    }

    /// Takes back a `sleep`'s timer cell for reuse once nothing else refers to it (it fired
    /// and left the queue, or was cancelled before its deadline and left the heap), so a
    /// sleep costs no allocation in steady state.
    #[inline]
    pub(crate) fn recycle(&self, cell: Rc<HandleCell>) {
        if Rc::strong_count(&cell) != 1 || cell.in_ready_set() {
            return;
        }
        if let Ok(mut core) = self.core.try_borrow_mut() {
            if core.cell_pool.len() < CELL_POOL_MAX {
                drop(cell.action.borrow_mut().take());
                core.cell_pool.push(cell);
            }
        }
    }

    /// What `choose(n)` returns in this run (see `Core::user_choice`).
    pub(crate) fn user_choice(&self, n: u32) -> u32 {
        self.core().user_choice(n)
    }

    /// The next `rng()` value in this run (see `Core::random_u64`).
    pub(crate) fn random_u64(&self) -> u64 {
        self.core().random_u64()
    }

    /// What `buggify()` at `site` returns in this run: the policy decides from the site
    /// and how often it was called; a value is recorded in the trace. `false` when the
    /// loop is busy (a `buggify()` in a destructor run by the loop itself).
    pub(crate) fn buggify(&self, site: u32) -> bool {
        let Ok(mut core) = self.core.try_borrow_mut() else {
            return false;
        };
        core.buggify(site)
    }
}
