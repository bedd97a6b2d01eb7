//! [`shield`]: protect a task from the cancellation of whoever awaits it.

use crate::task::error::TaskError;
use crate::task::handle::Task;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Protects a task from cancellation of whoever awaits it (asyncio's `shield`).
///
/// Awaiting the result gives the task's output. If the awaiting task is cancelled (or the
/// `Shielded` is dropped), the inner task keeps running. If the inner task is cancelled by
/// other means, awaiting gives [`TaskError::Cancelled`].
///
/// ```
/// use std::{cell::Cell, rc::Rc, time::Duration};
/// let lp = simloop::new_event_loop();
/// let finished = Rc::new(Cell::new(false));
/// let f = finished.clone();
/// lp.run_until_complete(async move {
///     let inner = simloop::create_task(async move {
///         simloop::sleep(Duration::from_secs(2)).await;
///         f.set(true);
///     });
///     let r = simloop::wait_for(simloop::shield(inner), Duration::from_secs(1)).await;
///     assert!(r.is_err()); // timed out...
///     simloop::sleep(Duration::from_secs(5)).await;
/// }).unwrap();
/// assert!(finished.get()); // ...but the shielded task ran to completion
/// ```
pub fn shield<T: 'static>(task: Task<T>) -> Shielded<T> {
    task.header().status.keep_on_drop();
    Shielded { task }
}

/// The future returned by [`shield`].
#[must_use = "futures do nothing unless awaited"]
#[derive(Debug)]
pub struct Shielded<T: 'static> {
    task: Task<T>,
}

impl<T: 'static> Future for Shielded<T> {
    type Output = Result<T, TaskError>;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.task.poll_join(cx, false)
    }
}
