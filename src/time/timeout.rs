//! [`wait_for`], [`timeout`] and [`timeout_at`]: a virtual-time limit on a future.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::Duration;

use super::instant::Instant;
use super::sleep::Sleep;
use crate::task::handle::drop_cancelling;
use crate::task::header::TaskObj;
use crate::trace::origin::What;

/// The error of [`wait_for`] and [`timeout`]: the deadline passed before the future
/// completed (asyncio's `TimeoutError`, which carries no message).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct Elapsed(());

impl fmt::Display for Elapsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("deadline has elapsed")
    }
}

impl std::error::Error for Elapsed {}

/// Runs `fut` with a virtual-time limit (asyncio's `wait_for(aw, timeout)`).
///
/// If `fut` completes first its output is returned. When the time runs out `fut` is
/// dropped as a cancellation: a [`Task`](crate::Task) it owns (e.g. `wait_for(task, d)`, or
/// the children of a [`gather`](crate::gather)) is cancelled rather than detached, and
/// `Err(Elapsed)` is returned only once those cancellations have finished, as asyncio's
/// `wait_for` does. A zero `duration` fails at once without polling `fut` (unlike asyncio,
/// even for a task that is already done). To keep a task running past the timeout, pass
/// it through [`shield`](crate::shield).
///
/// ```
/// use std::time::Duration;
/// let lp = simloop::new_event_loop();
/// let r = lp.run_until_complete(simloop::wait_for(
///     simloop::sleep(Duration::from_secs(10)),
///     Duration::from_secs(1),
/// )).unwrap();
/// assert_eq!(r, Err(simloop::Elapsed::default()));
/// assert_eq!(lp.elapsed(), Duration::from_secs(1));
/// ```
#[track_caller]
pub fn wait_for<F: Future>(fut: F, duration: Duration) -> Timeout<F> {
    Timeout {
        fut: Some(Box::pin(fut)),
        sleep: Sleep::new(Some(duration), None, What::Timeout),
        zero: duration.is_zero(),
        draining: None,
    }
}

/// The same as [`wait_for`] with the arguments in tokio's order.
#[track_caller]
pub fn timeout<F: Future>(duration: Duration, fut: F) -> Timeout<F> {
    wait_for(fut, duration)
}

/// Like [`timeout`], with an absolute deadline on the loop's clock.
#[track_caller]
pub fn timeout_at<F: Future>(deadline: Instant, fut: F) -> Timeout<F> {
    Timeout {
        fut: Some(Box::pin(fut)),
        sleep: Sleep::new(None, Some(deadline), What::Timeout),
        zero: false,
        draining: None,
    }
}

/// The future returned by [`wait_for`], [`timeout`] and [`timeout_at`].
#[must_use = "futures do nothing unless awaited"]
pub struct Timeout<F: Future> {
    fut: Option<Pin<Box<F>>>,
    sleep: Sleep,
    zero: bool,
    /// Tasks cancelled by the timeout, which must finish before `Elapsed` is returned.
    draining: Option<Vec<Rc<dyn TaskObj>>>,
}

impl<F: Future> fmt::Debug for Timeout<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Timeout")
            .field("done", &self.fut.is_none())
            .field("sleep", &self.sleep)
            .finish()
    }
}

impl<F: Future> Timeout<F> {
    /// Cancels the inner future; `Ready` once every task it owned has finished.
    fn expire(&mut self, cx: &mut Context<'_>) -> Poll<Result<F::Output, Elapsed>> {
        if let Some(fut) = self.fut.take() {
            let cancelled = drop_cancelling(fut);
            self.draining = Some(cancelled);
        }
        let pending: Vec<&Rc<dyn TaskObj>> = self
            .draining
            .iter()
            .flatten()
            .filter(|t| !t.header().status.is_done())
            .collect();
        if pending.is_empty() {
            self.draining = None;
            return Poll::Ready(Err(Elapsed(())));
        }
        for t in pending {
            t.header().join_waker.set(Some(cx.waker().clone()));
        }
        Poll::Pending
    }
}

impl<F: Future> Future for Timeout<F> {
    type Output = Result<F::Output, Elapsed>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        if this.zero || this.draining.is_some() {
            return this.expire(cx);
        }
        let Some(fut) = this.fut.as_mut() else {
            panic!("Timeout polled after completion");
        };
        if let Poll::Ready(v) = fut.as_mut().poll(cx) {
            this.fut = None;
            return Poll::Ready(Ok(v));
        }
        if Pin::new(&mut this.sleep).poll(cx).is_ready() {
            return this.expire(cx);
        }
        Poll::Pending
    }
}
