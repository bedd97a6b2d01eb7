//! [`timeout`], [`timeout_at`] and [`Timeout`]: tokio's semantics — the inner future is
//! polled first (so a value and the deadline due at once give the value), and a timeout
//! ends only the wait: a task awaited through its `JoinHandle` keeps running.

use std::future::{Future, IntoFuture};
use std::panic::Location;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use super::error::Elapsed;
use super::{Instant, Sleep};
use crate::context;
use crate::coop;

pin_project_lite::pin_project! {
    /// A future with a deadline (tokio's `time::Timeout`).
    #[must_use = "futures do nothing unless you `.await` or poll them"]
    #[derive(Debug)]
    pub struct Timeout<T> {
        #[pin]
        value: T,
        // `None`: the deadline is past the clock's range; it never times out.
        delay: Option<Pin<Box<Sleep>>>,
    }
}

impl<T> Timeout<T> {
    /// The inner future.
    pub fn get_ref(&self) -> &T {
        &self.value
    }

    /// The inner future, mutably.
    pub fn get_mut(&mut self) -> &mut T {
        &mut self.value
    }

    /// The inner future, without the deadline.
    pub fn into_inner(self) -> T {
        self.value
    }
}

impl<T: Future> Future for Timeout<T> {
    type Output = Result<T::Output, Elapsed>;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let had_budget = coop::has_budget_remaining();
        if let Poll::Ready(v) = this.value.poll(cx) {
            return Poll::Ready(Ok(v));
        }
        let Some(delay) = this.delay else {
            return Poll::Pending;
        };
        // As tokio: if the inner future spent the last of the budget, the deadline is
        // still checked.
        let r = if had_budget && !coop::has_budget_remaining() {
            coop::with_budget(None, || delay.as_mut().poll(cx))
        } else {
            delay.as_mut().poll(cx)
        };
        r.map(|()| Err(Elapsed::new()))
    }
}

/// Requires `future` to complete within `duration` (tokio's `time::timeout`); with a
/// duration past the clock's range it never times out.
///
/// # Panics
/// Outside a runtime, when called.
#[track_caller]
pub fn timeout<F: IntoFuture>(duration: Duration, future: F) -> Timeout<F::IntoFuture> {
    let at = Location::caller();
    let _ = context::expect_current();
    let delay = Instant::now()
        .checked_add(duration)
        .map(|d| Box::pin(Sleep::new(d, at)));
    Timeout {
        value: future.into_future(),
        delay,
    }
}

/// Requires `future` to complete by `deadline` (tokio's `time::timeout_at`).
///
/// # Panics
/// Outside a runtime, when called.
#[track_caller]
pub fn timeout_at<F: IntoFuture>(deadline: Instant, future: F) -> Timeout<F::IntoFuture> {
    Timeout {
        value: future.into_future(),
        delay: Some(Box::pin(Sleep::new(deadline, Location::caller()))),
    }
}
