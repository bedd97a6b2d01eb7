//! Callbacks and timers: the state behind a [`Handle`]/[`TimerHandle`] (and a `sleep`'s
//! timer), and the public handles.
//!
//! # Handle states
//!
//! - **Waiting**: registered. A `call_soon` callback is on its way to the ready set
//!   through the loop's inbox; a timer sits in the timer queue until its deadline. Left
//!   for Ready (the loop queues it) or Cancelled.
//! - **Ready**: in the ready set; a later step runs it. Left for Ran or CancelledReady.
//! - **Ran**: its step ran (the callback was called, or the waker woken). Final.
//! - **Cancelled**: cancelled while Waiting. Final. The timer queue drops it lazily.
//! - **CancelledReady**: cancelled while Ready. Final. The next step purges it from the
//!   ready set; until then its cell must not be reused.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::rc::{Rc, Weak};
use std::task::Waker;

use crate::time::instant::Instant;

/// What a callback or timer does when it runs.
pub(crate) enum Action {
    Call(Box<dyn FnOnce()>),
    Wake(Waker),
}

/// Where a callback or timer is in its life. See the [module docs](self).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum HandleState {
    Waiting,
    Ready,
    Ran,
    Cancelled,
    CancelledReady,
}

/// The state behind a [`Handle`]/[`TimerHandle`] (and a `sleep`'s timer).
pub(crate) struct HandleCell {
    /// The handle's number in the trace (`callback N`, `timer N`).
    pub(crate) seq: Cell<u32>,
    /// The deadline, for a timer.
    pub(crate) when: Cell<Option<Instant>>,
    state: Cell<HandleState>,
    pub(crate) action: RefCell<Option<Action>>,
}

impl HandleCell {
    #[inline]
    pub(crate) fn new(seq: u32, when: Option<Instant>, action: Action) -> HandleCell {
        HandleCell {
            seq: Cell::new(seq),
            when: Cell::new(when),
            state: Cell::new(HandleState::Waiting),
            action: RefCell::new(Some(action)),
        }
    }

    /// A handle born cancelled: a call refused by a closing loop (nothing will run).
    pub(crate) fn refused(when: Option<Instant>) -> HandleCell {
        HandleCell {
            seq: Cell::new(0),
            when: Cell::new(when),
            state: Cell::new(HandleState::Cancelled),
            action: RefCell::new(None),
        }
    }

    /// Makes a recycled cell new again.
    #[inline]
    pub(crate) fn reset(&self, seq: u32, when: Option<Instant>, action: Action) {
        self.seq.set(seq);
        self.when.set(when);
        self.state.set(HandleState::Waiting);
        *self.action.borrow_mut() = Some(action);
    }

    #[inline]
    pub(crate) fn has_run(&self) -> bool {
        self.state.get() == HandleState::Ran
    }

    #[inline]
    pub(crate) fn is_cancelled(&self) -> bool {
        matches!(
            self.state.get(),
            HandleState::Cancelled | HandleState::CancelledReady
        )
    }

    /// In the ready set (or still listed there after a cancellation).
    #[inline]
    pub(crate) fn in_ready_set(&self) -> bool {
        matches!(
            self.state.get(),
            HandleState::Ready | HandleState::CancelledReady
        )
    }

    /// Waiting → Ready.
    #[inline]
    pub(crate) fn make_ready(&self) {
        debug_assert_eq!(self.state.get(), HandleState::Waiting);
        self.state.set(HandleState::Ready);
    }

    /// Ready → Ran; returns the action to perform (none for a cancelled handle, whose
    /// action was dropped when it was cancelled).
    #[inline]
    pub(crate) fn run(&self) -> Option<Action> {
        if self.state.get() == HandleState::Ready {
            self.state.set(HandleState::Ran);
        }
        self.action.borrow_mut().take()
    }

    #[inline]
    pub(crate) fn update_waker(&self, w: &Waker) {
        let mut a = self.action.borrow_mut();
        if let Some(Action::Wake(old)) = &*a {
            if old.will_wake(w) {
                return;
            }
        }
        *a = Some(Action::Wake(w.clone()));
    }
}

/// What a cancellation tells its loop: where to forget the cancelled item. Shared by
/// the loop and its handles (so a handle never names the loop).
#[derive(Debug, Default)]
pub(crate) struct CancelNotes {
    /// A cancelled callback or timer is in the ready set: purge it before the next step.
    pub(crate) purge: Cell<bool>,
    /// Timers cancelled since the timer queue last counted them.
    pub(crate) timer_cancels: Cell<usize>,
}

/// Cancels a callback or timer that has not run: drops its action and tells the loop
/// where to forget it (a purge of the ready set, or a lazily dropped timer).
pub(crate) fn cancel_handle(cell: &HandleCell, notes: &Weak<CancelNotes>) {
    let was = cell.state.get();
    let now = match was {
        HandleState::Waiting => HandleState::Cancelled,
        HandleState::Ready => HandleState::CancelledReady,
        _ => return,
    };
    cell.state.set(now);
    let action = cell.action.borrow_mut().take();
    if let Some(notes) = notes.upgrade() {
        if was == HandleState::Ready {
            notes.purge.set(true);
        } else if cell.when.get().is_some() {
            notes.timer_cancels.set(notes.timer_cancels.get() + 1);
        }
    }
    drop(action);
}

/// A queued `call_soon` callback; cancel it to skip it. Dropping the handle does not
/// cancel the callback.
pub struct Handle {
    pub(crate) cell: Rc<HandleCell>,
    pub(crate) notes: Weak<CancelNotes>,
}

impl Handle {
    /// Cancels the callback if it has not run yet (idempotent).
    pub fn cancel(&self) {
        cancel_handle(&self.cell, &self.notes);
    }

    /// `true` if [`cancel`](Handle::cancel) was called before the callback ran.
    pub fn cancelled(&self) -> bool {
        self.cell.is_cancelled()
    }

    /// The handle's number, as the trace shows it (`callback N` / `timer N`).
    pub fn id(&self) -> u32 {
        self.cell.seq.get()
    }
}

impl fmt::Debug for Handle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "<Handle {}{}>",
            self.cell.seq.get(),
            if self.cancelled() { " cancelled" } else { "" }
        )
    }
}

/// A timer made by `call_later`/`call_at`; cancel it to skip it. Dropping the handle does
/// not cancel the timer.
pub struct TimerHandle {
    pub(crate) handle: Handle,
}

impl TimerHandle {
    /// Cancels the timer if it has not fired yet (idempotent).
    pub fn cancel(&self) {
        self.handle.cancel();
    }

    /// `true` if [`cancel`](TimerHandle::cancel) was called before it fired.
    pub fn cancelled(&self) -> bool {
        self.handle.cancelled()
    }

    /// The absolute deadline on the loop's clock.
    pub fn when(&self) -> Instant {
        self.handle.cell.when.get().unwrap_or(Instant::ZERO)
    }

    /// The handle's number, as the trace shows it (`timer N`).
    pub fn id(&self) -> u32 {
        self.handle.id()
    }
}

impl fmt::Debug for TimerHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "<TimerHandle {} when={}{}>",
            self.handle.cell.seq.get(),
            self.when(),
            if self.cancelled() { " cancelled" } else { "" }
        )
    }
}
