//! tokio's cooperative budget: 128 units per task poll. Each poll of a mirror resource
//! (a timer, a `JoinHandle`, `consume_budget`) spends one; once none is left, the
//! resource returns `Pending` and wakes its task, so a task that is always ready still
//! lets the others run — at the same step as under tokio.

use std::cell::Cell;
use std::task::{Context, Poll};

/// Units per task poll (tokio's `Budget::initial`).
pub(crate) const BUDGET: u8 = 128;

thread_local! {
    /// What the task being polled has left; `None`: unconstrained (outside a task, or in
    /// `unconstrained`).
    static LEFT: Cell<Option<u8>> = const { Cell::new(None) };
}

/// Spends one unit, or (none left) wakes the task and returns `Pending`.
pub(crate) fn poll_proceed(cx: &mut Context<'_>) -> Poll<()> {
    LEFT.with(|b| match b.get() {
        Some(0) => {
            cx.waker().wake_by_ref();
            Poll::Pending
        }
        Some(n) => {
            b.set(Some(n - 1));
            Poll::Ready(())
        }
        None => Poll::Ready(()),
    })
}

/// Gives back the unit of a poll that made no progress.
pub(crate) fn refund() {
    LEFT.with(|b| {
        if let Some(n) = b.get() {
            b.set(Some(n.saturating_add(1).min(BUDGET)));
        }
    });
}

/// `true` unless the budget is spent.
pub(crate) fn has_budget_remaining() -> bool {
    LEFT.with(|b| b.get() != Some(0))
}

/// Runs `f` with `budget`, restoring the caller's afterwards (also on a panic).
pub(crate) fn with_budget<R>(budget: Option<u8>, f: impl FnOnce() -> R) -> R {
    struct Restore(Option<u8>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let old = self.0;
            let _ = LEFT.try_with(|b| b.set(old));
        }
    }
    let _restore = Restore(LEFT.with(|b| b.replace(budget)));
    f()
}

/// `Pending` (and a wake) if the budget is spent, without spending any (`select!`).
pub(crate) fn poll_budget_available(cx: &mut Context<'_>) -> Poll<()> {
    if has_budget_remaining() {
        Poll::Ready(())
    } else {
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}
