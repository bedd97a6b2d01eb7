//! Spawning: a mirror task is a simloop task running [`TaskFuture`], which gives the
//! task tokio's context on every poll (its id, a fresh budget, its `LocalSet`), catches
//! its panic as a `JoinError`, and fills its [`Slot`].

use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe, Location};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use super::id::SetCurrent;
use super::local_state::{LocalInner, SetLocal};
use super::slot::Slot;
use super::{Id, JoinError, JoinHandle};
use crate::context::RunState;
use crate::coop;

/// Finishes the slot as cancelled if the future is dropped before it finishes (an abort,
/// or the run ending with the task still pending); tells the task's `LocalSet`.
pub(crate) struct SlotGuard<T: 'static> {
    slot: Rc<Slot<T>>,
    local: Option<Rc<LocalInner>>,
    done: bool,
}

impl<T: 'static> SlotGuard<T> {
    fn finish(&mut self, out: Result<T, JoinError>) {
        if std::mem::replace(&mut self.done, true) {
            return;
        }
        self.slot.finish(out);
        if let Some(l) = &self.local {
            l.task_finished();
        }
    }
}

impl<T: 'static> Drop for SlotGuard<T> {
    fn drop(&mut self) {
        let id = self.slot.id;
        self.finish(Err(JoinError::cancelled(id)));
    }
}

pin_project_lite::pin_project! {
    /// The future of a mirror task.
    pub(crate) struct TaskFuture<F> where F: Future, F: 'static, F::Output: 'static {
        #[pin]
        fut: F,
        guard: SlotGuard<F::Output>,
        id: Id,
    }
}

impl<F: Future> Future for TaskFuture<F>
where
    F: 'static,
    F::Output: 'static,
{
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.project();
        let _id = SetCurrent::new(Some(*this.id));
        let _local = SetLocal::new(this.guard.local.clone());
        let fut = this.fut;
        let r = coop::with_budget(Some(coop::BUDGET), || {
            catch_unwind(AssertUnwindSafe(|| fut.poll(cx)))
        });
        match r {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(v)) => {
                this.guard.finish(Ok(v));
                Poll::Ready(())
            }
            Err(p) => {
                this.guard.finish(Err(JoinError::panic(*this.id, p)));
                Poll::Ready(())
            }
        }
    }
}

/// The name a task shows in traces and reports: `spawn@src/raft.rs:120`.
fn task_name(kind: &str, at: &Location<'_>) -> String {
    format!("{kind}@{}", simloop::__private::location_text(at))
}

/// Spawns `fut` on `rs` now, as a task named after the caller's location.
#[track_caller]
pub(crate) fn spawn_in<F>(
    rs: &Rc<RunState>,
    fut: F,
    kind: &str,
    local: Option<Rc<LocalInner>>,
) -> JoinHandle<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    let id = Id::from_u64(rs.next_task_number());
    let slot = Slot::<F::Output>::insert(id, rs.id);
    start(rs, fut, kind, local, slot.clone(), Location::caller());
    JoinHandle::new(slot.key, id)
}

/// Starts the task of an existing slot (a `LocalSet` task spawned before its run).
#[track_caller]
pub(crate) fn start<F>(
    rs: &Rc<RunState>,
    fut: F,
    kind: &str,
    local: Option<Rc<LocalInner>>,
    slot: Rc<Slot<F::Output>>,
    at: &'static Location<'static>,
) where
    F: Future + 'static,
    F::Output: 'static,
{
    if let Some(l) = &local {
        l.task_started(slot.key);
    }
    slot.run.set(rs.id);
    let id = slot.id;
    let guard = SlotGuard {
        slot: slot.clone(),
        local,
        done: false,
    };
    let name = task_name(kind, at);
    let task = rs.lp.create_task_named(name, TaskFuture { fut, guard, id });
    if slot.abort_requested.get() {
        task.cancel();
    }
    *slot.task.borrow_mut() = Some(task);
}
