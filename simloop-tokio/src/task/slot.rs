//! Where a task's output waits for its `JoinHandle`: one [`Slot`] per task, in this
//! thread's table, addressed by a process-unique key (what `Send` handles hold).
//!
//! # A slot's states
//!
//! **Waiting** (`task` set, no output): the task is alive in the loop; `abort` cancels
//! it there. For a task of a `LocalSet` that has not been started yet, `task` is empty
//! and an abort is remembered (`abort_requested`) and applied when it starts.
//!
//! **Finished** (`finished`, output present): the task returned, panicked or was
//! cancelled; `stamp` orders finishes (a `JoinSet` returns them in that order). The
//! waker of whoever waits is woken once.
//!
//! **Taken**: the output went to the `JoinHandle`. A slot leaves the table when it is
//! finished and its `JoinHandle` is gone (taken, or dropped: the task was detached), or
//! once its run has ended (when the next run starts spawning).

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::Waker;

use super::{Id, JoinError};

static NEXT_KEY: AtomicU64 = AtomicU64::new(1);

thread_local! {
    static SLOTS: RefCell<BTreeMap<u64, Rc<dyn AnySlot>>> = const { RefCell::new(BTreeMap::new()) };
    static STAMP: Cell<u64> = const { Cell::new(0) };
    /// The run of the last slot inserted: when another run starts inserting, the slots
    /// of ended runs leave the table.
    static LAST_RUN: Cell<u64> = const { Cell::new(0) };
}

/// One task's output slot.
pub(crate) struct Slot<T> {
    pub(crate) key: u64,
    pub(crate) id: Id,
    /// The run the task belongs to (0: a `LocalSet` task not started yet).
    pub(crate) run: Cell<u64>,
    out: RefCell<Option<Result<T, JoinError>>>,
    finished: Cell<bool>,
    stamp: Cell<u64>,
    waker: RefCell<Option<Waker>>,
    pub(crate) task: RefCell<Option<simloop::Task<()>>>,
    pub(crate) abort_requested: Cell<bool>,
    /// The `JoinHandle` still exists.
    joined: Cell<bool>,
}

/// A slot whatever its output type: what handles without the type (`AbortHandle`) use.
pub(crate) trait AnySlot {
    fn abort(&self);
    fn is_finished(&self) -> bool;
    fn stamp(&self) -> u64;
    fn run(&self) -> u64;
    fn set_waker(&self, w: &Waker);
    /// Drops the loop's task handle (breaks the task → future → slot cycle at a run's end).
    fn forget_task(&self);
    /// The `JoinHandle` was dropped.
    fn detach(&self);
    fn as_any(self: Rc<Self>) -> Rc<dyn Any>;
}

impl<T: 'static> Slot<T> {
    /// A new slot in this thread's table.
    pub(crate) fn insert(id: Id, run: u64) -> Rc<Slot<T>> {
        if run != 0 && LAST_RUN.with(|l| l.replace(run)) != run {
            forget_ended_runs();
        }
        let slot = Rc::new(Slot {
            key: NEXT_KEY.fetch_add(1, Ordering::Relaxed),
            id,
            run: Cell::new(run),
            out: RefCell::new(None),
            finished: Cell::new(false),
            stamp: Cell::new(0),
            waker: RefCell::new(None),
            task: RefCell::new(None),
            abort_requested: Cell::new(false),
            joined: Cell::new(true),
        });
        SLOTS.with(|s| s.borrow_mut().insert(slot.key, slot.clone()));
        slot
    }

    /// The slot of `key` with output `T`, if it is still in the table.
    pub(crate) fn find(key: u64) -> Option<Rc<Slot<T>>> {
        find(key)?.as_any().downcast::<Slot<T>>().ok()
    }

    /// Finishes the task (first call wins): stores the output and wakes the waiter.
    pub(crate) fn finish(&self, out: Result<T, JoinError>) {
        if self.finished.get() {
            return;
        }
        *self.out.borrow_mut() = Some(out);
        self.finished.set(true);
        self.stamp.set(STAMP.with(|s| {
            let n = s.get() + 1;
            s.set(n);
            n
        }));
        let task = self.task.borrow_mut().take();
        drop(task);
        if !self.joined.get() {
            remove(self.key);
        }
        let w = self.waker.borrow_mut().take();
        if let Some(w) = w {
            w.wake();
        }
    }

    /// Takes the output of a finished task; the slot leaves the table.
    pub(crate) fn take(&self) -> Option<Result<T, JoinError>> {
        let out = self.out.borrow_mut().take();
        if out.is_some() {
            self.joined.set(false);
            remove(self.key);
        }
        out
    }
}

impl<T: 'static> AnySlot for Slot<T> {
    fn abort(&self) {
        if self.finished.get() {
            return;
        }
        match &*self.task.borrow() {
            Some(t) => {
                t.cancel();
            }
            None => self.abort_requested.set(true),
        }
    }
    fn is_finished(&self) -> bool {
        self.finished.get()
    }
    fn stamp(&self) -> u64 {
        self.stamp.get()
    }
    fn run(&self) -> u64 {
        self.run.get()
    }
    fn set_waker(&self, w: &Waker) {
        let mut slot = self.waker.borrow_mut();
        match &*slot {
            Some(old) if old.will_wake(w) => {}
            _ => *slot = Some(w.clone()),
        }
    }
    fn forget_task(&self) {
        let t = self.task.borrow_mut().take();
        drop(t);
    }
    fn detach(&self) {
        self.joined.set(false);
        if self.finished.get() {
            remove(self.key);
        }
    }
    fn as_any(self: Rc<Self>) -> Rc<dyn Any> {
        self
    }
}

/// The slot of `key`, if it is still in this thread's table and its run has not ended.
pub(crate) fn find(key: u64) -> Option<Rc<dyn AnySlot>> {
    let slot = SLOTS
        .try_with(|s| s.borrow().get(&key).cloned())
        .ok()
        .flatten()?;
    let run = slot.run();
    if run != 0 && crate::context::has_ended(run) {
        slot.forget_task();
        remove(key);
        return None;
    }
    Some(slot)
}

fn remove(key: u64) {
    let gone = SLOTS
        .try_with(|s| s.borrow_mut().remove(&key))
        .ok()
        .flatten();
    drop(gone);
}

/// The slots of ended runs leave the table (their tasks' futures were dropped with the
/// loop; a handle kept past its run finds nothing and says so).
fn forget_ended_runs() {
    let gone: Vec<Rc<dyn AnySlot>> = SLOTS
        .try_with(|s| {
            let mut s = s.borrow_mut();
            let keys: Vec<u64> = s
                .iter()
                .filter(|(_, v)| v.run() != 0 && crate::context::has_ended(v.run()))
                .map(|(k, _)| *k)
                .collect();
            keys.iter().filter_map(|k| s.remove(k)).collect()
        })
        .unwrap_or_default();
    for s in &gone {
        s.forget_task();
    }
    drop(gone);
}

/// The message for a handle whose slot is not in this thread's table.
pub(crate) const GONE: &str = "simloop-tokio: this task's handle was used after its runtime ended, or on another thread than the one that ran the runtime; a simulated task's handles are valid only on that thread while its runtime exists";
