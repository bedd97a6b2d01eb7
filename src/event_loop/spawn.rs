//! Creating a task: a new id, a slab slot; its first step is posted.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::rc::Rc;

use super::inner::Inner;
use crate::task::handle::Task;
use crate::task::header::{rare_with, Header, LoopLink, TaskCell};
use crate::task::link::Msg;
use crate::task::state::Status;
use crate::trace::origin::Origin;

impl Inner {
    /// Creates a task: a new id, a slab slot; its first step is posted. Notes
    /// where it came from (`origin`, in the task being polled).
    pub(crate) fn spawn<F>(
        self: &Rc<Self>,
        name: Option<Rc<str>>,
        fut: F,
        origin: Origin,
    ) -> Task<F::Output>
    where
        F: Future + 'static,
    {
        let mut core = self.core();
        let id = core.next_task_id();
        let parent = self.current_id();
        core.trace.note_task(id, origin.in_task(parent));
        let key = core.tasks.next_key();
        let link: std::rc::Weak<dyn LoopLink> = Rc::downgrade(&(self.clone() as Rc<dyn LoopLink>));
        let cell = Rc::new(TaskCell {
            header: Header {
                id,
                key,
                rare: rare_with(name),
                status: Status::new(),
                join_waker: Cell::new(None),
                awaiting: Cell::new(None),
                link,
                waker: std::cell::OnceCell::new(),
            },
            fut: RefCell::new(Some(Box::pin(fut))),
            output: Cell::new(None),
        });
        core.tasks.insert(key, cell.clone());
        drop(core);
        self.post_msg(Msg::Spawn(key));
        Task { cell }
    }
}
