//! [`Lifecycle`]: a loop's states, changed only through these methods.
//!
//! # Loop states
//!
//! - **Idle**: created (or back from a run), not closed. Tasks and callbacks may be
//!   queued. `stop()` moves it to StopRequested; a run moves it to Running; `close()` to
//!   Closed.
//! - **StopRequested**: `stop()` was called while idle. The next run starts in Stopping,
//!   so it runs exactly one iteration (asyncio's rule).
//! - **Running**: inside `run_until_complete` or `run_forever` on this thread; the loop is
//!   this thread's *running loop*. A second run of the same loop fails with "This event
//!   loop is already running". `stop()` (or `run_until_complete`'s completion hop) moves
//!   it to Stopping. Leaving the run, however it ends, returns to Idle.
//! - **Stopping**: running, and the run ends at the end of the current iteration.
//! - **Closing**: `close()` is dropping every queued callback, timer and pending task.
//!   The loop already counts as closed (it cannot run or be closed again), but a
//!   destructor run by those drops that calls back into the loop has its call refused
//!   (nothing runs; `close()` reports it) instead of panicking inside `Drop`. Left for
//!   Closed when the drops are done.
//! - **Closed**: `close()` dropped every queued callback, timer and pending task. Running
//!   or scheduling anything afterwards fails with "Event loop is closed" (refused instead
//!   while a panic unwinds, where a second panic would abort the process). Final.

use std::cell::Cell;

use crate::error::LoopError;

/// A loop's state. See the [module docs](self).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum LoopState {
    Idle,
    StopRequested,
    Running,
    Stopping,
    Closing,
    Closed,
}

/// The state of one loop.
#[derive(Debug)]
pub(crate) struct Lifecycle(Cell<LoopState>);

impl Lifecycle {
    pub(crate) fn new() -> Lifecycle {
        Lifecycle(Cell::new(LoopState::Idle))
    }

    #[inline]
    pub(crate) fn is_running(&self) -> bool {
        matches!(self.0.get(), LoopState::Running | LoopState::Stopping)
    }

    /// Closing or Closed.
    #[inline]
    pub(crate) fn is_closed(&self) -> bool {
        matches!(self.0.get(), LoopState::Closing | LoopState::Closed)
    }

    /// `true` if a call that would fail with "Event loop is closed" must be refused
    /// quietly instead: while closing (a destructor that `close()` runs calls back into
    /// the loop), or when closed while a panic unwinds (a second panic would abort).
    pub(crate) fn refuses_calls(&self) -> bool {
        match self.0.get() {
            LoopState::Closing => true,
            LoopState::Closed => std::thread::panicking(),
            _ => false,
        }
    }

    pub(crate) fn is_closing(&self) -> bool {
        self.0.get() == LoopState::Closing
    }

    /// A stop was requested: the run (or the next run) ends at the end of an iteration.
    #[inline]
    pub(crate) fn is_stopping(&self) -> bool {
        matches!(self.0.get(), LoopState::StopRequested | LoopState::Stopping)
    }

    /// Idle → StopRequested, Running → Stopping; otherwise nothing.
    #[inline]
    pub(crate) fn request_stop(&self) {
        match self.0.get() {
            LoopState::Idle => self.0.set(LoopState::StopRequested),
            LoopState::Running => self.0.set(LoopState::Stopping),
            _ => {}
        }
    }

    /// Checks that a run may start (closed, already running).
    pub(crate) fn check_can_run(&self) -> Result<(), LoopError> {
        match self.0.get() {
            LoopState::Closing | LoopState::Closed => Err(LoopError::Closed),
            LoopState::Running | LoopState::Stopping => Err(LoopError::AlreadyRunning),
            _ => Ok(()),
        }
    }

    /// Idle → Running, StopRequested → Stopping (after [`check_can_run`](Self::check_can_run)).
    pub(crate) fn enter(&self) {
        match self.0.get() {
            LoopState::Idle => self.0.set(LoopState::Running),
            LoopState::StopRequested => self.0.set(LoopState::Stopping),
            s => debug_assert!(false, "enter from {s:?}"),
        }
    }

    /// Running or Stopping → Idle.
    pub(crate) fn leave(&self) {
        if self.is_running() {
            self.0.set(LoopState::Idle);
        }
    }

    /// → Closing; `Ok(false)` if it already was closing or closed, an error if it is
    /// running. [`closed`](Self::closed) ends the closing.
    pub(crate) fn close(&self) -> Result<bool, LoopError> {
        match self.0.get() {
            LoopState::Running | LoopState::Stopping => Err(LoopError::CloseRunning),
            LoopState::Closing | LoopState::Closed => Ok(false),
            _ => {
                self.0.set(LoopState::Closing);
                Ok(true)
            }
        }
    }

    /// Closing → Closed.
    pub(crate) fn closed(&self) {
        if self.is_closing() {
            self.0.set(LoopState::Closed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stop_before_a_run_makes_the_run_stopping() {
        let l = Lifecycle::new();
        l.request_stop();
        assert!(l.is_stopping() && !l.is_running());
        l.check_can_run().unwrap();
        l.enter();
        assert!(l.is_running() && l.is_stopping());
        l.leave();
        assert!(!l.is_running() && !l.is_stopping());
    }

    #[test]
    fn closed_is_final_and_a_running_loop_cannot_close() {
        let l = Lifecycle::new();
        l.enter();
        assert_eq!(l.check_can_run(), Err(LoopError::AlreadyRunning));
        assert_eq!(l.close(), Err(LoopError::CloseRunning));
        l.leave();
        assert!(!l.refuses_calls());
        assert_eq!(l.close(), Ok(true));
        assert!(l.is_closed() && l.is_closing() && l.refuses_calls());
        assert_eq!(l.close(), Ok(false));
        assert_eq!(l.check_can_run(), Err(LoopError::Closed));
        l.closed();
        assert!(l.is_closed() && !l.is_closing() && !l.refuses_calls());
        assert_eq!(l.close(), Ok(false));
        assert_eq!(l.check_can_run(), Err(LoopError::Closed));
        l.request_stop();
        assert!(l.is_closed());
    }
}
