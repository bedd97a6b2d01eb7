//! A task's state machine ([`TaskState`]) and the facts its handle adds ([`Status`]).
//!
//! # Task states
//!
//! - **Pending**: created by `create_task`; its first step is queued at the tail of the
//!   ready queue. It stays pending while its future returns `Poll::Pending`. Left by a
//!   cancellation request (→ Cancelling) or by finishing (→ Finished / Panicked).
//! - **Cancelling**: `cancel()` was called on a pending task. Its next step is queued (if
//!   it was not already); at that step the loop *drops the future instead of polling it*,
//!   so destructors run and the task ends Cancelled (or Panicked, if a destructor
//!   panicked). `is_cancelled()` stays `false` until then, as in asyncio.
//! - **Finished**: the future returned `Ready`; the output is stored for the handle.
//!   Final.
//! - **Panicked**: the future (or a destructor run while dropping it) panicked; the panic
//!   is stored as [`TaskError::Panicked`](crate::TaskError::Panicked). Final.
//! - **Cancelled**: the future was dropped by a cancellation, or by `close()` while
//!   pending; the handle gets [`TaskError::Cancelled`](crate::TaskError::Cancelled). Final.
//!
//! The three final states are "done": a done task never runs again and its slot is freed.
//!
//! # What the handle side adds
//!
//! Independently of the state, [`Status`] keeps four facts: the handle was dropped
//! (*detached*), the output was taken (*retrieved*), someone other than the handle
//! observes a panic (*observed*, a task group's child) — each set once, never cleared —
//! and dropping the handle must not cancel the task (*keep on drop*: set while `shield`,
//! `wait` or `as_completed` hold the task, cleared when `wait` hands it back).

use std::cell::Cell;

/// Where a task is in its life. See the [module docs](self) for each state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TaskState {
    Pending,
    Cancelling,
    Finished,
    Panicked,
    Cancelled,
}

const DETACHED: u8 = 1;
const RETRIEVED: u8 = 2;
const OBSERVED: u8 = 4;
const KEEP_ON_DROP: u8 = 8;

/// A task's state plus the handle-side facts, changed only through these methods.
#[derive(Debug)]
pub(crate) struct Status {
    state: Cell<TaskState>,
    facts: Cell<u8>,
}

impl Status {
    pub(crate) fn new() -> Status {
        Status {
            state: Cell::new(TaskState::Pending),
            facts: Cell::new(0),
        }
    }

    #[inline]
    pub(crate) fn state(&self) -> TaskState {
        self.state.get()
    }

    /// Finished, Panicked or Cancelled.
    #[inline]
    pub(crate) fn is_done(&self) -> bool {
        matches!(
            self.state.get(),
            TaskState::Finished | TaskState::Panicked | TaskState::Cancelled
        )
    }

    #[inline]
    pub(crate) fn is_cancel_requested(&self) -> bool {
        self.state.get() == TaskState::Cancelling
    }

    /// Pending → Cancelling; `true` if this call made the request.
    #[inline]
    pub(crate) fn request_cancel(&self) -> bool {
        if self.state.get() == TaskState::Pending {
            self.state.set(TaskState::Cancelling);
            true
        } else {
            false
        }
    }

    /// Enters a final state.
    #[inline]
    pub(crate) fn finish(&self, end: TaskState) {
        debug_assert!(
            matches!(
                end,
                TaskState::Finished | TaskState::Panicked | TaskState::Cancelled
            ),
            "{end:?} is not a final state"
        );
        debug_assert!(!self.is_done(), "a task finished twice");
        self.state.set(end);
    }

    #[inline]
    fn has(&self, f: u8) -> bool {
        self.facts.get() & f != 0
    }

    #[inline]
    fn set(&self, f: u8) {
        self.facts.set(self.facts.get() | f);
    }

    #[inline]
    pub(crate) fn detach(&self) {
        self.set(DETACHED);
    }

    #[inline]
    pub(crate) fn is_detached(&self) -> bool {
        self.has(DETACHED)
    }

    #[inline]
    pub(crate) fn retrieve(&self) {
        self.set(RETRIEVED);
    }

    #[inline]
    pub(crate) fn is_retrieved(&self) -> bool {
        self.has(RETRIEVED)
    }

    #[inline]
    pub(crate) fn observe(&self) {
        self.set(OBSERVED);
    }

    #[inline]
    pub(crate) fn is_observed(&self) -> bool {
        self.has(OBSERVED)
    }

    #[inline]
    pub(crate) fn keep_on_drop(&self) {
        self.set(KEEP_ON_DROP);
    }

    #[inline]
    pub(crate) fn release_keep_on_drop(&self) {
        self.facts.set(self.facts.get() & !KEEP_ON_DROP);
    }

    #[inline]
    pub(crate) fn is_kept_on_drop(&self) -> bool {
        self.has(KEEP_ON_DROP)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cancel_is_requested_once_and_only_while_pending() {
        let s = Status::new();
        assert!(s.request_cancel());
        assert!(!s.request_cancel());
        assert!(s.is_cancel_requested() && !s.is_done());
        s.finish(TaskState::Cancelled);
        assert!(s.is_done() && !s.request_cancel());
    }

    #[test]
    fn facts_are_independent_of_the_state() {
        let s = Status::new();
        s.detach();
        s.observe();
        assert!(s.is_detached() && s.is_observed());
        assert!(!s.is_retrieved() && !s.is_kept_on_drop());
        s.finish(TaskState::Finished);
        assert_eq!(s.state(), TaskState::Finished);
        assert!(s.is_detached());
    }
}
