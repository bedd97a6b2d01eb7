//! The state a `LocalSet` shares with its tasks, and which set is current.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use crate::context;

thread_local! {
    static CURRENT: RefCell<Option<Rc<LocalInner>>> = const { RefCell::new(None) };
}

/// Makes a set current for the guard's life (`None`: keeps the caller's).
pub(crate) struct SetLocal(Option<Option<Rc<LocalInner>>>);

impl SetLocal {
    pub(crate) fn new(local: Option<Rc<LocalInner>>) -> SetLocal {
        match local {
            Some(l) => SetLocal(Some(CURRENT.with(|c| c.replace(Some(l))))),
            None => SetLocal(None),
        }
    }
}

impl Drop for SetLocal {
    fn drop(&mut self) {
        if let Some(old) = self.0.take() {
            let _ = CURRENT.try_with(|c| c.replace(old));
        }
    }
}

pub(crate) type Pending = Box<dyn FnOnce(&Rc<context::RunState>, &Rc<LocalInner>)>;

/// A set's shared state.
pub(crate) struct LocalInner {
    /// Tasks spawned before a runtime existed, started when the set is first driven.
    pending: RefCell<Vec<Pending>>,
    /// Slot keys of the set's tasks (for aborting them when the set is dropped).
    keys: RefCell<Vec<u64>>,
    /// Tasks started and not finished.
    live: Cell<usize>,
    /// Whoever awaits the set itself.
    waker: RefCell<Option<Waker>>,
}

impl LocalInner {
    pub(crate) fn new() -> LocalInner {
        LocalInner {
            pending: RefCell::new(Vec::new()),
            keys: RefCell::new(Vec::new()),
            live: Cell::new(0),
            waker: RefCell::new(None),
        }
    }

    /// Keeps `start` until the set is first driven inside a runtime.
    pub(crate) fn defer(&self, start: Pending) {
        self.pending.borrow_mut().push(start);
    }

    /// The set is dropped: its waiting tasks go, and its started tasks' keys are
    /// returned (to abort them).
    pub(crate) fn forget(&self) -> Vec<u64> {
        self.pending.borrow_mut().clear();
        std::mem::take(&mut *self.keys.borrow_mut())
    }

    /// `Ready` once every started task has finished; else remembers `cx`'s waker.
    pub(crate) fn poll_idle(&self, cx: &mut Context<'_>) -> Poll<()> {
        if self.live.get() == 0 {
            return Poll::Ready(());
        }
        *self.waker.borrow_mut() = Some(cx.waker().clone());
        Poll::Pending
    }

    pub(crate) fn task_started(&self, key: u64) {
        self.keys.borrow_mut().push(key);
        self.live.set(self.live.get() + 1);
    }

    pub(crate) fn task_finished(&self) {
        self.live.set(self.live.get().saturating_sub(1));
        if self.live.get() == 0 {
            let w = self.waker.borrow_mut().take();
            if let Some(w) = w {
                w.wake();
            }
        }
    }

    /// Starts the tasks spawned before a runtime existed.
    pub(crate) fn start_pending(self: &Rc<Self>) {
        let pending = std::mem::take(&mut *self.pending.borrow_mut());
        if pending.is_empty() {
            return;
        }
        let rs = context::expect_current();
        for p in pending {
            p(&rs, self);
        }
    }
}

/// The current set, if any.
pub(crate) fn current_set() -> Option<Rc<LocalInner>> {
    CURRENT.with(|c| c.borrow().clone())
}
