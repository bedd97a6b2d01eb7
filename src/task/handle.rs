//! [`Task<T>`], the handle user code holds, and dropping handles as a cancellation.

use std::cell::RefCell;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use super::error::TaskError;
use super::header::{Header, Joinable, TaskObj};
use super::id::TaskId;
use super::state::TaskState;

/// A handle to a task running on a loop: await it for the task's output.
///
/// `Task<T>` is a `Future<Output = Result<T, TaskError>>`. Dropping it detaches the task
/// (it keeps running). Awaiting a task that is already done does not yield.
///
/// ```
/// let lp = simloop::new_event_loop();
/// let out = lp.run_until_complete(async {
///     let t = simloop::create_task(async { 6 * 7 });
///     assert!(!t.is_done());
///     t.await
/// }).unwrap();
/// assert_eq!(out.unwrap(), 42);
/// ```
pub struct Task<T: 'static> {
    pub(crate) cell: Rc<dyn Joinable<T>>,
}

thread_local! {
    /// While set, dropping a `Task` handle of an unfinished task cancels it (and records
    /// it here) instead of detaching it: used when a timeout cancels what it waited for.
    static CANCEL_SCOPE: RefCell<Option<Vec<Rc<dyn TaskObj>>>> = const { RefCell::new(None) };
}

/// Drops `value` as a cancellation: every unfinished task whose handle is dropped with it
/// is cancelled. Returns those tasks, so the caller can wait for their cancellation.
pub(crate) fn drop_cancelling<V>(value: V) -> Vec<Rc<dyn TaskObj>> {
    let prev = CANCEL_SCOPE.with(|c| c.borrow_mut().replace(Vec::new()));
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || drop(value)));
    let got = CANCEL_SCOPE
        .with(|c| std::mem::replace(&mut *c.borrow_mut(), prev))
        .unwrap_or_default();
    if let Err(p) = r {
        std::panic::resume_unwind(p);
    }
    got
}

impl<T: 'static> Task<T> {
    /// Requests cancellation (asyncio's `Task.cancel()`): the task's future is dropped at
    /// its next scheduling point, and awaiting the task gives [`TaskError::Cancelled`].
    /// Returns `false` if the task is already done.
    ///
    /// ```
    /// let lp = simloop::new_event_loop();
    /// let err = lp.run_until_complete(async {
    ///     let t = simloop::create_task(simloop::sleep(std::time::Duration::from_secs(5)));
    ///     assert!(t.cancel());
    ///     t.await.unwrap_err()
    /// }).unwrap();
    /// assert!(err.is_cancelled());
    /// assert_eq!(lp.elapsed(), std::time::Duration::ZERO);
    /// ```
    pub fn cancel(&self) -> bool {
        self.cell.header().cancel()
    }

    /// `true` once the task has completed, panicked or been cancelled.
    pub fn is_done(&self) -> bool {
        self.cell.header().status.is_done()
    }

    /// `true` once the task has ended by cancellation (not merely been asked to).
    pub fn is_cancelled(&self) -> bool {
        self.cell.header().status.state() == TaskState::Cancelled
    }

    /// The task's name: the one given to `create_task_named`, else `Task-N` with `N` its
    /// id (counted per loop, so names replay identically).
    pub fn name(&self) -> String {
        self.cell.header().name()
    }

    /// The task's id within its loop.
    pub fn id(&self) -> TaskId {
        self.cell.header().id
    }

    pub(crate) fn obj(&self) -> Rc<dyn TaskObj> {
        self.cell.clone().as_obj()
    }

    pub(crate) fn header(&self) -> &Header {
        self.cell.header()
    }

    /// Takes the output of a finished task, marking it retrieved.
    pub(crate) fn take_output(&self) -> Option<Result<T, TaskError>> {
        let out = self.cell.output().take();
        if out.is_some() {
            self.cell.header().status.retrieve();
        }
        out
    }

    pub(crate) fn poll_join(&self, cx: &mut Context<'_>, link: bool) -> Poll<Result<T, TaskError>> {
        let h = self.cell.header();
        if h.status.is_done() {
            if let Some(out) = self.cell.output().take() {
                h.status.retrieve();
                return Poll::Ready(out);
            }
            panic!("Task {} polled after its output was taken", h.name());
        }
        match h.join_waker.take() {
            Some(old) if old.will_wake(cx.waker()) => h.join_waker.set(Some(old)),
            _ => h.join_waker.set(Some(cx.waker().clone())),
        }
        if link {
            if let Some(lp) = h.link.upgrade() {
                lp.link_awaiting(self.obj());
            }
        }
        Poll::Pending
    }
}

impl<T: 'static> Future for Task<T> {
    type Output = Result<T, TaskError>;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.poll_join(cx, true)
    }
}

impl<T: 'static> Drop for Task<T> {
    fn drop(&mut self) {
        let h = self.cell.header();
        if !h.status.is_done() && !h.status.is_kept_on_drop() {
            let obj: Rc<dyn TaskObj> = self.cell.clone().as_obj();
            let scoped = CANCEL_SCOPE
                .try_with(|c| match c.try_borrow_mut() {
                    Ok(mut c) => match c.as_mut() {
                        Some(v) => {
                            v.push(obj);
                            true
                        }
                        None => false,
                    },
                    Err(_) => false,
                })
                .unwrap_or(false);
            if scoped {
                h.cancel();
            }
        }
        h.status.detach();
        h.report_if_unobserved(|| {
            let out = self.cell.output().take();
            let msg = match &out {
                Some(Err(TaskError::Panicked(p))) => p
                    .message()
                    .unwrap_or("<non-string panic payload>")
                    .to_owned(),
                _ => String::new(),
            };
            self.cell.output().set(out);
            msg
        });
    }
}

impl<T: 'static> fmt::Debug for Task<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let h = self.cell.header();
        let state = match h.status.state() {
            TaskState::Cancelled => "cancelled",
            TaskState::Panicked => "panicked",
            TaskState::Finished => "finished",
            TaskState::Cancelling => "cancelling",
            TaskState::Pending => "pending",
        };
        write!(f, "<Task {} id={} {state}>", h.name(), h.id)
    }
}
