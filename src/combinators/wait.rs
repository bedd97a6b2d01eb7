//! [`wait`]: wait for tasks until one, all, or the first failure completes.

use crate::event_loop::waker::relay_waker;
use crate::task::handle::Task;
use crate::task::state::TaskState;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// When [`wait`] returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ReturnWhen {
    /// As soon as any task is done.
    FirstCompleted,
    /// As soon as any task panics, else when all are done.
    FirstException,
    /// When every task is done.
    AllCompleted,
}

/// Waits for tasks (asyncio's `wait`) and returns `(done, pending)`, each in input order.
/// It never cancels anything.
///
/// ```
/// use std::time::Duration;
/// use simloop::{sleep, ReturnWhen};
/// simloop::run(async {
///     let fast = simloop::create_task(async { sleep(Duration::from_millis(1)).await; 1 });
///     let slow = simloop::create_task(async { sleep(Duration::from_millis(9)).await; 2 });
///     let (done, pending) = simloop::wait(vec![slow, fast], ReturnWhen::FirstCompleted).await;
///     assert_eq!(done.len(), 1);
///     assert_eq!(pending.len(), 1);
///     assert_eq!(done.into_iter().next().unwrap().await.unwrap(), 1);
/// });
/// ```
///
/// # Panics
/// With asyncio's message "Set of Tasks/Futures is empty." if `tasks` is empty.
#[track_caller]
pub fn wait<T: 'static>(tasks: Vec<Task<T>>, return_when: ReturnWhen) -> Wait<T> {
    assert!(!tasks.is_empty(), "Set of Tasks/Futures is empty.");
    for t in &tasks {
        t.header().status.keep_on_drop();
    }
    Wait {
        tasks: Some(tasks),
        when: return_when,
    }
}

/// The future returned by [`wait`].
#[must_use = "futures do nothing unless awaited"]
pub struct Wait<T: 'static> {
    tasks: Option<Vec<Task<T>>>,
    when: ReturnWhen,
}

impl<T: 'static> fmt::Debug for Wait<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Wait").field("when", &self.when).finish()
    }
}

impl<T: 'static> Future for Wait<T> {
    type Output = (Vec<Task<T>>, Vec<Task<T>>);
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let when = self.when;
        let tasks = self.tasks.as_ref().expect("Wait polled after completion");
        let done = tasks.iter().filter(|t| t.is_done()).count();
        let ready = match when {
            ReturnWhen::FirstCompleted => done > 0,
            ReturnWhen::AllCompleted => done == tasks.len(),
            ReturnWhen::FirstException => {
                done == tasks.len()
                    || tasks
                        .iter()
                        .any(|t| t.header().status.state() == TaskState::Panicked)
            }
        };
        if ready {
            let tasks = self.tasks.take().expect("tasks");
            for t in &tasks {
                t.header().status.release_keep_on_drop();
            }
            let (d, p) = tasks.into_iter().partition(|t| t.is_done());
            return Poll::Ready((d, p));
        }
        let w = relay_waker(cx.waker());
        for t in tasks.iter().filter(|t| !t.is_done()) {
            t.header().join_waker.set(Some(w.clone()));
        }
        Poll::Pending
    }
}
