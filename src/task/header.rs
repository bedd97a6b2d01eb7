//! The type-independent part of a task ([`Header`]) and the loop's view of it
//! ([`TaskObj`]); [`LoopLink`], what a task may ask of its loop.

use std::cell::{Cell, OnceCell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::rc::{Rc, Weak};
use std::task::{Context, Poll, Waker};

use super::error::TaskError;
use super::id::TaskId;
use super::link::Msg;
use super::state::{Status, TaskState};
use crate::error::LoopError;

/// What a loop offers the layers below it. The loop implements it; a task's header
/// holds a `Weak<dyn LoopLink>`, so nothing below the loop names the loop.
pub(crate) trait LoopLink {
    /// Delivers a message (when it takes effect: `event_loop/mod.rs`).
    fn post(&self, msg: Msg);
    /// Records a failure the current run must end with (the first one wins).
    fn fail(&self, error: LoopError);
    /// The task this loop is polling right now awaits `awaited` (asyncio's
    /// `_fut_waiter` edge, which cancellation follows down the chain).
    fn link_awaiting(&self, awaited: Rc<dyn TaskObj>);
    /// `policy=<name> seed=<n|none>`: how a report names this loop (the same in every run,
    /// unlike the loop's process-wide id); `running` if it is busy right now.
    fn describe(&self) -> String;
}

/// Something told when a task completes (TaskGroup bookkeeping).
pub(crate) trait CompletionHook {
    fn task_done(self: Rc<Self>, header: &Header, panic_message: Option<String>);
}

/// The type-independent part of a task, shared by the loop and the [`Task`](crate::Task)
/// handle.
pub(crate) struct Header {
    pub(crate) id: TaskId,
    /// The task's key in its loop's slab (index and generation).
    pub(crate) key: u64,
    /// The name and completion hook, which few tasks have: one pointer here, and an
    /// allocation of its own only for a task that has either (issue 12).
    pub(crate) rare: OnceCell<Box<Rare>>,
    pub(crate) status: Status,
    /// Woken when the task is done. Fields that are only ever replaced or taken are
    /// `Cell`s (no borrow flag: 8 bytes and a check less each, issue 12).
    pub(crate) join_waker: Cell<Option<Waker>>,
    /// The task this task was last seen awaiting (asyncio's `_fut_waiter` edge).
    pub(crate) awaiting: Cell<Option<Rc<dyn TaskObj>>>,
    pub(crate) link: Weak<dyn LoopLink>,
    /// The task's own waker, once it needs one (see the probe in `event_loop/waker.rs`);
    /// until then the loop polls it with the loop's probe.
    pub(crate) waker: OnceCell<Waker>,
}

/// What only some tasks have (see [`Header::rare`]).
#[derive(Default)]
pub(crate) struct Rare {
    pub(crate) name: Option<Rc<str>>,
    pub(crate) hook: Cell<Option<Rc<dyn CompletionHook>>>,
}

/// The `rare` part of a new task's header: empty unless it has a name.
#[inline]
pub(crate) fn rare_with(name: Option<Rc<str>>) -> OnceCell<Box<Rare>> {
    match name {
        None => OnceCell::new(),
        Some(n) => OnceCell::from(Box::new(Rare {
            name: Some(n),
            hook: Cell::new(None),
        })),
    }
}

impl Header {
    /// The name given at creation, if any.
    #[inline]
    pub(crate) fn given_name(&self) -> Option<&Rc<str>> {
        self.rare.get()?.name.as_ref()
    }

    #[inline]
    pub(crate) fn name(&self) -> String {
        match self.given_name() {
            Some(n) => n.to_string(),
            None => format!("Task-{}", self.id.as_u32()),
        }
    }

    /// Sets the completion hook (a task group's).
    pub(crate) fn set_hook(&self, hook: Rc<dyn CompletionHook>) {
        self.rare.get_or_init(Box::default).hook.set(Some(hook));
    }

    /// Takes the completion hook, if any.
    #[inline]
    pub(crate) fn take_hook(&self) -> Option<Rc<dyn CompletionHook>> {
        self.rare.get()?.hook.take()
    }

    /// Requests cancellation of this task and of the chain of tasks it awaits (asyncio
    /// cancels down the await chain); returns `false` if this task is already done. The
    /// chain is walked iteratively, so a chain of any length is safe.
    pub(crate) fn cancel(&self) -> bool {
        if self.status.is_done() {
            return false;
        }
        self.request_cancel();
        let mut next = self.awaiting.take();
        while let Some(child) = next {
            let h = child.header();
            if h.status.is_done() {
                break;
            }
            h.request_cancel();
            next = h.awaiting.take();
        }
        true
    }

    /// The unobserved-panic rule, in one place: a task that panicked, whose handle was
    /// dropped without taking the output, and whose panic nobody else observes (a task
    /// group does) fails the run of its loop, naming the task. Checked when the task
    /// panics and when its handle is dropped, whichever comes last.
    #[inline]
    pub(crate) fn report_if_unobserved(&self, message: impl FnOnce() -> String) {
        let s = &self.status;
        if s.state() != TaskState::Panicked {
            return;
        }
        if s.is_detached() && !s.is_retrieved() && !s.is_observed() {
            if let Some(link) = self.link.upgrade() {
                link.fail(LoopError::TaskPanicked {
                    task: self.id,
                    name: self.name(),
                    message: message(),
                });
            }
        }
    }

    /// Pending → Cancelling, and tells the loop to deliver it at the task's next step.
    fn request_cancel(&self) {
        if self.status.request_cancel() {
            if let Some(link) = self.link.upgrade() {
                link.post(Msg::Cancel(self.key));
            }
        }
    }
}

/// The loop's view of a task: its header, its future, and a way to store a failure as
/// its output.
pub(crate) trait TaskObj {
    fn header(&self) -> &Header;
    /// Polls the future once with `waker` (the task's); on `Ready` stores the output.
    fn poll_step(&self, waker: &Waker) -> Poll<()>;
    /// Drops the future (after completion, or to deliver a cancellation).
    fn drop_future(&self);
    fn set_failed(&self, err: TaskError);
}

/// The output side of a task, as its [`Task`](crate::Task) handle sees it.
pub(crate) trait Joinable<T>: TaskObj {
    fn output(&self) -> &Cell<Option<Result<T, TaskError>>>;
    fn as_obj(self: Rc<Self>) -> Rc<dyn TaskObj>;
}

/// One allocation per task holds its header, its output slot and a pointer to its
/// (separately boxed, so pinned) future.
pub(crate) struct TaskCell<F: Future> {
    pub(crate) header: Header,
    pub(crate) fut: RefCell<Option<Pin<Box<F>>>>,
    pub(crate) output: Cell<Option<Result<F::Output, TaskError>>>,
}

impl<F: Future> TaskCell<F> {
    /// A task born cancelled, whose future never existed: a spawn refused by a closing
    /// loop. `key` names no slab slot; it never has a waker.
    pub(crate) fn refused(id: TaskId, name: Option<Rc<str>>, link: Weak<dyn LoopLink>) -> Self {
        let status = Status::new();
        status.finish(TaskState::Cancelled);
        TaskCell {
            header: Header {
                id,
                key: u64::MAX,
                rare: rare_with(name),
                status,
                join_waker: Cell::new(None),
                awaiting: Cell::new(None),
                link,
                waker: OnceCell::new(),
            },
            fut: RefCell::new(None),
            output: Cell::new(Some(Err(TaskError::Cancelled))),
        }
    }
}

impl<F: Future + 'static> TaskObj for TaskCell<F> {
    fn header(&self) -> &Header {
        &self.header
    }
    fn poll_step(&self, waker: &Waker) -> Poll<()> {
        let mut slot = self.fut.borrow_mut();
        let Some(fut) = slot.as_mut() else {
            return Poll::Ready(());
        };
        let mut cx = Context::from_waker(waker);
        match fut.as_mut().poll(&mut cx) {
            Poll::Ready(v) => {
                self.output.set(Some(Ok(v)));
                Poll::Ready(())
            }
            Poll::Pending => Poll::Pending,
        }
    }
    fn drop_future(&self) {
        let f = self.fut.borrow_mut().take();
        drop(f);
    }
    fn set_failed(&self, err: TaskError) {
        self.output.set(Some(Err(err)));
    }
}

impl<F: Future + 'static> Joinable<F::Output> for TaskCell<F> {
    fn output(&self) -> &Cell<Option<Result<F::Output, TaskError>>> {
        &self.output
    }
    fn as_obj(self: Rc<Self>) -> Rc<dyn TaskObj> {
        self
    }
}
