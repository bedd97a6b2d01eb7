//! Where the task being polled last suspended: the call site of a simloop awaitable
//! ([`yield_now`](crate::yield_now), [`sleep`](crate::sleep), …) that returned
//! `Pending`, noted for a sweep that learns from coverage (see `check/coverage.rs`).
//!
//! One thread-local cell: the awaitable stores its `#[track_caller]` location —
//! `yield_now` when its future is made (`yield_now().await` suspends right there, and the
//! future stays one byte), `sleep` when it returns `Pending` — while any loop of the
//! process records coverage (a count, so an awaitable pays one load and a branch
//! otherwise); a loop that records coverage takes it
//! after each task step. Nothing here decides anything: a loop that does not record
//! coverage never reads it, and which loops record does not change what a recording
//! loop's own thread notes.

use std::cell::Cell;
use std::panic::Location;
use std::sync::atomic::{AtomicUsize, Ordering};

/// How many loops (on any thread) record coverage now.
static RECORDING: AtomicUsize = AtomicUsize::new(0);

/// A loop starts recording: awaitables note their sites from now on.
pub(crate) fn start() {
    RECORDING.fetch_add(1, Ordering::Relaxed);
    let _ = take();
}

/// A loop stops recording (one call per [`start`]).
pub(crate) fn stop() {
    RECORDING.fetch_sub(1, Ordering::Relaxed);
}

thread_local! {
    static SITE: Cell<Option<&'static Location<'static>>> = const { Cell::new(None) };
}

/// Notes `at` as where the task being polled suspends, if any loop records coverage.
#[inline]
pub(crate) fn note(at: &'static Location<'static>) {
    if RECORDING.load(Ordering::Relaxed) != 0 {
        note_now(at);
    }
}

#[cold]
#[inline(never)]
fn note_now(at: &'static Location<'static>) {
    SITE.with(|s| s.set(Some(at)));
}

/// Takes (and clears) the last noted site.
#[inline]
pub(crate) fn take() -> Option<&'static Location<'static>> {
    SITE.with(Cell::take)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn take_returns_the_last_note_once() {
        let _ = take();
        assert!(take().is_none());
        let a = Location::caller();
        start();
        note(a);
        assert_eq!(take(), Some(a));
        assert!(take().is_none());
        stop();
    }
}
