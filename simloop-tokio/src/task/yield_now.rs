//! [`yield_now`], [`consume_budget`] and [`unconstrained`]: giving other tasks a turn.

use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::coop;

/// Yields once: the task goes to the back of the ready queue (tokio's
/// `task::yield_now`). tokio defers the wake until its driver has run; the simulated
/// loop has no I/O driver and its timers only fire when nothing is ready, so the
/// difference is not observable except in step order against timers due at the same
/// instant (which are policy choices anyway).
pub async fn yield_now() {
    let mut yielded = false;
    poll_fn(|cx| {
        if yielded {
            Poll::Ready(())
        } else {
            yielded = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    })
    .await
}

/// Spends one unit of the task's cooperative budget, yielding when none is left
/// (tokio's `task::consume_budget`: 128 units per poll).
pub async fn consume_budget() {
    poll_fn(coop::poll_proceed).await
}

pin_project_lite::pin_project! {
    /// A future run without a cooperative budget (tokio's `task::Unconstrained`).
    #[must_use = "Unconstrained does nothing unless polled"]
    #[derive(Debug)]
    pub struct Unconstrained<F> {
        #[pin]
        inner: F,
    }
}

impl<F: Future> Future for Unconstrained<F> {
    type Output = F::Output;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let inner = self.project().inner;
        coop::with_budget(None, || inner.poll(cx))
    }
}

/// Runs `inner` without a cooperative budget: its resources never yield for budget.
pub fn unconstrained<F: Future>(inner: F) -> Unconstrained<F> {
    Unconstrained { inner }
}
