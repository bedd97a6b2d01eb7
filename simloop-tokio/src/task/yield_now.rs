//! [`yield_now`], [`consume_budget`] and [`unconstrained`]: giving other tasks a turn.

use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::coop;

/// Yields once (tokio's `task::yield_now`): as in tokio, the task is woken only when
/// nothing else is ready — every task already ready, and every task those wake, runs
/// first — and before virtual time may move on.
pub async fn yield_now() {
    let mut yielded = false;
    poll_fn(|cx| {
        if yielded {
            Poll::Ready(())
        } else {
            yielded = true;
            simloop::__private::defer_wake(cx.waker());
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
