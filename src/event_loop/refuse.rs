//! Refusing calls into a closing loop: a destructor that `close()` runs (or one run while
//! a panic unwinds past a closed loop) may call `create_task`, `call_soon` or `call_later`
//! on the loop. Panicking there ("Event loop is closed") would panic inside `Drop`, and a
//! second such panic aborts the process, so the call is refused instead: what it asked for
//! is dropped without running, and `close()` lists the refused calls.

use std::future::Future;
use std::rc::Rc;

use super::handle::HandleCell;
use super::inner::Inner;
use crate::task::handle::Task;
use crate::task::header::{LoopLink, TaskCell};
use crate::task::id::TaskId;
use crate::time::instant::Instant;
use crate::trace;

impl Inner {
    /// `true` if a call that would fail with "Event loop is closed" must be refused
    /// (see the [module docs](self)). A refusal while closing is kept for `close()`'s
    /// report; one while unwinding is reported at once. `what` says what was refused.
    #[track_caller]
    pub(crate) fn refuses(&self, what: impl FnOnce() -> String) -> bool {
        if !self.lifecycle.refuses_calls() {
            return false;
        }
        let loc = std::panic::Location::caller();
        let line = format!("{} (called at {}:{})", what(), loc.file(), loc.line());
        if self.lifecycle.is_closing() {
            self.refused.borrow_mut().push(line);
        } else {
            eprintln!("simloop: refused on a closed loop while a panic unwinds: {line}");
        }
        true
    }

    /// A spawn refused by [`refuses`](Inner::refuses): `fut` is dropped without running
    /// and the task is born cancelled. It gets the next id, and the trace records it as
    /// spawned and destroyed, like the pending tasks `close()` drops.
    #[track_caller]
    pub(crate) fn refused_task<F>(self: &Rc<Self>, name: Option<Rc<str>>, fut: F) -> Task<F::Output>
    where
        F: Future + 'static,
    {
        let id = match self.core.try_borrow_mut() {
            Ok(mut core) => {
                let id = core.next_task_id();
                core.trace.push(trace::SPAWN, 0, id.as_u32());
                if let Some(n) = &name {
                    core.trace.set_name(id, n);
                }
                core.trace.push(trace::DESTROY, 0, id.as_u32());
                id
            }
            Err(_) => TaskId::from_raw(0),
        };
        let link: std::rc::Weak<dyn LoopLink> = Rc::downgrade(&(self.clone() as Rc<dyn LoopLink>));
        let task = Task {
            cell: Rc::new(TaskCell::<F>::refused(id, name, link)),
        };
        let _ = self.refuses(|| {
            format!(
                "create_task of {}: its future was dropped without running",
                task.name()
            )
        });
        drop(fut);
        task
    }

    /// A callback or timer refused by [`refuses`](Inner::refuses): the handle is born
    /// cancelled (the caller drops the callback without running it).
    pub(crate) fn refused_handle(&self, when: Option<Instant>) -> Rc<HandleCell> {
        Rc::new(HandleCell::refused(when))
    }
}
