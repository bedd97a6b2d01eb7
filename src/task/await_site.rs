//! Where the task being polled last suspended: the call site of a simloop awaitable
//! ([`yield_now`](crate::yield_now), [`sleep`](crate::sleep), …) that returned
//! `Pending`, noted for a sweep that learns from coverage (see `check/coverage.rs`).
//!
//! One thread-local cell: the awaitable stores its `#[track_caller]` location when it
//! returns `Pending` (one store, whether anyone reads it or not); a loop that records
//! coverage clears it before each task poll and takes it after. Nothing here decides
//! anything: a loop that does not record coverage never reads it.

use std::cell::Cell;
use std::panic::Location;

thread_local! {
    static SITE: Cell<Option<&'static Location<'static>>> = const { Cell::new(None) };
}

/// Notes `at` as where the task being polled suspends.
#[inline]
pub(crate) fn note(at: &'static Location<'static>) {
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
        note(a);
        assert_eq!(take(), Some(a));
        assert!(take().is_none());
    }
}
