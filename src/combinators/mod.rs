//! Coordination: [`gather`], [`wait`], [`as_completed`], [`shield`], [`task_group`].
//!
//! Everything here creates tasks in **input order** and reports in input order (or
//! completion order for `as_completed`), never in hash order, so the schedule depends
//! only on the policy. Completions reach the waiting task through one extra FIFO hop, as
//! asyncio's done-callbacks do.

use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Wake, Waker};

use crate::event_loop::running_inner;
use crate::event_loop::waker::relay;
use crate::task::error::TaskError;
use crate::task::handle::Task;
use crate::trace::origin::{Origin, What};

mod as_completed;
mod gather;
mod shield;
mod task_group;
mod wait;

pub use as_completed::{as_completed, AsCompleted};
pub use gather::{gather, Gather};
pub use shield::{shield, Shielded};
pub use task_group::{task_group, GroupError, GroupFailure, TaskGroup, TaskGroupFuture};
pub use wait::{wait, ReturnWhen, Wait};

/// A child future before it becomes a task.
pub(crate) type Boxed<T> = Pin<Box<dyn Future<Output = T>>>;

/// The futures, each boxed and pinned, in input order (tasks are made from them when the
/// combinator is first polled).
pub(crate) fn box_all<I>(futures: I) -> Vec<Boxed<<I::Item as Future>::Output>>
where
    I: IntoIterator,
    I::Item: Future + 'static,
{
    futures
        .into_iter()
        .map(|f| Box::pin(f) as Boxed<_>)
        .collect()
}

/// Spawns `futs` in order, noting `at` (the user's `gather`/`as_completed` call) as where
/// each came from.
pub(crate) fn spawn_all<F>(
    what: &str,
    futs: Vec<F>,
    at: &'static Location<'static>,
) -> Vec<Task<F::Output>>
where
    F: Future + 'static,
{
    let inner = running_inner(what);
    let origin = Origin::new(What::Spawn, at, 0);
    futs.into_iter()
        .map(|f| inner.spawn(None, f, origin))
        .collect()
}

pub(crate) fn unwrap_child<T>(task: &Task<T>, r: Result<T, TaskError>) -> T {
    match r {
        Ok(v) => v,
        Err(TaskError::Panicked(p)) => std::panic::resume_unwind(p.into_inner()),
        Err(TaskError::Cancelled) => panic!(
            "a child task ({}, id {}) was cancelled; use wait() to handle cancelled tasks",
            task.name(),
            task.id()
        ),
    }
}

/// Counts completions down and relays one wake to the waiting task at zero.
pub(crate) struct CountDown {
    pub(crate) remaining: AtomicUsize,
    pub(crate) parent: Mutex<Option<Waker>>,
}

impl Wake for CountDown {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        if self.remaining.fetch_sub(1, Ordering::AcqRel) == 1 {
            if let Ok(p) = self.parent.lock() {
                if let Some(w) = &*p {
                    relay(w);
                }
            }
        }
    }
}
