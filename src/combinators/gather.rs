//! [`gather`]: run futures as tasks, outputs in input order.

use super::unwrap_child;
use super::CountDown;
use super::{box_all, spawn_all};
use crate::task::handle::Task;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::AtomicUsize;
use std::sync::Arc;
use std::sync::Mutex;
use std::task::Waker;
use std::task::{Context, Poll};

/// Runs every future as its own task and returns their outputs in input order (asyncio's
/// `gather`).
///
/// The tasks are created when the gather is first polled, in input order, so the policy
/// interleaves them. Dropping the gather cancels every child still running. If a child
/// panics, the gather waits for the others to finish and then re-raises the first panic
/// (in input order) in the caller — unlike asyncio, which raises at once and leaves the
/// siblings running — so no child outlives a failed gather.
///
/// ```
/// use std::time::Duration;
/// let out = simloop::run(async {
///     simloop::gather((1..=3u64).map(|i| async move {
///         simloop::sleep(Duration::from_millis(10 * (4 - i))).await;
///         i * 10
///     })).await
/// });
/// assert_eq!(out, vec![10, 20, 30]); // input order, not completion order
/// ```
///
/// # Panics
/// When first polled outside a running loop ("no running event loop").
#[track_caller]
pub fn gather<I>(futures: I) -> Gather<<I::Item as Future>::Output>
where
    I: IntoIterator,
    I::Item: Future + 'static,
{
    let futs = box_all(futures);
    Gather {
        pending: Some(futs),
        tasks: Vec::new(),
        countdown: None,
        at: std::panic::Location::caller(),
    }
}

/// The future returned by [`gather`].
#[must_use = "futures do nothing unless awaited"]
pub struct Gather<T: 'static> {
    pending: Option<Vec<Pin<Box<dyn Future<Output = T>>>>>,
    tasks: Vec<Task<T>>,
    countdown: Option<Arc<CountDown>>,
    /// The user's call, noted as where the children came from.
    at: &'static std::panic::Location<'static>,
}

impl<T> fmt::Debug for Gather<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Gather")
            .field("started", &self.pending.is_none())
            .field("tasks", &self.tasks)
            .finish()
    }
}

impl<T: 'static> Future for Gather<T> {
    type Output = Vec<T>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Vec<T>> {
        let this = &mut *self;
        if let Some(futs) = this.pending.take() {
            this.tasks = spawn_all("gather", futs, this.at);
            if this.tasks.is_empty() {
                return Poll::Ready(Vec::new());
            }
            let cd = Arc::new(CountDown {
                remaining: AtomicUsize::new(this.tasks.len()),
                parent: Mutex::new(Some(cx.waker().clone())),
            });
            let w = Waker::from(cd.clone());
            for t in &this.tasks {
                t.header().join_waker.set(Some(w.clone()));
            }
            this.countdown = Some(cd);
            return Poll::Pending;
        }
        if this.tasks.iter().all(|t| t.is_done()) {
            let tasks = std::mem::take(&mut this.tasks);
            let mut results = Vec::with_capacity(tasks.len());
            let mut first_err = None;
            for (i, t) in tasks.iter().enumerate() {
                let r = t.take_output();
                match r {
                    Some(Ok(v)) => results.push(v),
                    Some(Err(e)) => {
                        if first_err.is_none() {
                            first_err = Some((i, e));
                        }
                    }
                    None => panic!("gather: child output already taken"),
                }
            }
            if let Some((i, e)) = first_err {
                unwrap_child(&tasks[i], Err(e));
            }
            return Poll::Ready(results);
        }
        if let Some(cd) = &this.countdown {
            if let Ok(mut p) = cd.parent.lock() {
                match &*p {
                    Some(old) if old.will_wake(cx.waker()) => {}
                    _ => *p = Some(cx.waker().clone()),
                }
            }
        }
        Poll::Pending
    }
}

impl<T> Drop for Gather<T> {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.cancel();
        }
    }
}
