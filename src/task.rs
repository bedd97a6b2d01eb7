//! Tasks: [`Task<T>`], [`TaskId`], [`TaskError`] and cancellation.
//!
//! # Task states
//!
//! - **Pending**: created by `create_task`; its first step is queued at the tail of the
//!   ready queue. It stays pending while its future returns `Poll::Pending`.
//! - **Cancelling**: `cancel()` was called on a pending task. Its next step is queued (if
//!   it was not already); at that step the loop *drops the future instead of polling it*,
//!   so destructors run and the task ends cancelled. `is_cancelled()` stays `false` until
//!   then, as in asyncio. A task cancelled before its first step never runs any of its
//!   body. If the task was awaiting another [`Task`], that task is cancelled too (asyncio
//!   cancels down the await chain; [`shield`](crate::shield) cuts the chain).
//! - **Done**: the future returned `Ready` (output stored), panicked (the panic is caught
//!   and stored as [`TaskError::Panicked`]) or was dropped by a cancellation
//!   ([`TaskError::Cancelled`]). A done task never runs again and its slot is freed.
//!
//! Dropping a [`Task`] handle *detaches* the task: it keeps running. If a detached task
//! panics, nobody can observe the panic, so the `run_until_complete` that was running it
//! returns [`LoopError::TaskPanicked`](crate::LoopError::TaskPanicked) naming the task.

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::rc::{Rc, Weak};
use std::task::{Context, Poll, Waker};

use crate::event_loop::{Inner, Msg};

/// A task's identity within its loop: a sequence number starting at 1, never reused
/// within a loop, so traces name tasks the same way on every run.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct TaskId(u32);

impl TaskId {
    pub(crate) const fn from_raw(n: u32) -> TaskId {
        TaskId(n)
    }

    /// The sequence number (1 for the first task of a loop).
    pub const fn as_u32(self) -> u32 {
        self.0
    }
}

impl fmt::Display for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// The payload of a panic caught inside a task.
pub struct PanicPayload(Box<dyn Any + Send + 'static>);

impl PanicPayload {
    pub(crate) fn new(p: Box<dyn Any + Send + 'static>) -> PanicPayload {
        PanicPayload(p)
    }

    /// The panic message, if the panic was raised with a string (as `panic!` does).
    pub fn message(&self) -> Option<&str> {
        panic_message(&*self.0)
    }

    /// The original payload, e.g. to re-raise it with `std::panic::resume_unwind`.
    pub fn into_inner(self) -> Box<dyn Any + Send + 'static> {
        self.0
    }
}

pub(crate) fn panic_message(p: &(dyn Any + Send)) -> Option<&str> {
    if let Some(s) = p.downcast_ref::<&'static str>() {
        Some(s)
    } else if let Some(s) = p.downcast_ref::<String>() {
        Some(s.as_str())
    } else {
        None
    }
}

pub(crate) fn panic_text(p: &(dyn Any + Send)) -> String {
    panic_message(p)
        .map(str::to_owned)
        .unwrap_or_else(|| "<non-string panic payload>".to_owned())
}

impl fmt::Debug for PanicPayload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.message() {
            Some(m) => write!(f, "PanicPayload({m:?})"),
            None => f.write_str("PanicPayload(<non-string payload>)"),
        }
    }
}

/// Why awaiting a [`Task`] gave no value.
#[derive(Debug)]
pub enum TaskError {
    /// The task was cancelled: its future was dropped before it completed.
    Cancelled,
    /// The task's future panicked; the panic was caught and is carried here.
    Panicked(PanicPayload),
}

impl TaskError {
    /// `true` for [`TaskError::Cancelled`].
    pub fn is_cancelled(&self) -> bool {
        matches!(self, TaskError::Cancelled)
    }

    /// `true` for [`TaskError::Panicked`].
    pub fn is_panic(&self) -> bool {
        matches!(self, TaskError::Panicked(_))
    }

    /// Re-raises a caught panic in the caller; returns `self` unchanged for a cancellation.
    pub fn resume_panic(self) -> TaskError {
        match self {
            TaskError::Panicked(p) => std::panic::resume_unwind(p.into_inner()),
            other => other,
        }
    }
}

impl fmt::Display for TaskError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TaskError::Cancelled => f.write_str("task was cancelled"),
            TaskError::Panicked(p) => match p.message() {
                Some(m) => write!(f, "task panicked: {m}"),
                None => f.write_str("task panicked"),
            },
        }
    }
}

impl std::error::Error for TaskError {}

// Header flags.
pub(crate) const DONE: u8 = 1;
pub(crate) const CANCEL_REQUESTED: u8 = 2;
pub(crate) const CANCELLED: u8 = 4;
pub(crate) const PANICKED: u8 = 8;
pub(crate) const DETACHED: u8 = 16;
pub(crate) const RETRIEVED: u8 = 32;
/// A panic of this task is observed by someone other than its handle (TaskGroup).
pub(crate) const OBSERVED: u8 = 64;
/// Dropping the handle never cancels the task, even inside a timeout's cancellation
/// (`shield`, `wait`, `as_completed` hold their tasks this way).
pub(crate) const NO_CANCEL_ON_DROP: u8 = 128;

/// Something told when a task completes (TaskGroup bookkeeping).
pub(crate) trait CompletionHook {
    fn task_done(self: Rc<Self>, header: &Header, panic_message: Option<String>);
}

/// The type-independent part of a task, shared by the loop and the [`Task`] handle.
pub(crate) struct Header {
    pub(crate) id: TaskId,
    pub(crate) key: Cell<u64>,
    pub(crate) name: Option<Rc<str>>,
    pub(crate) flags: Cell<u8>,
    pub(crate) join_waker: RefCell<Option<Waker>>,
    /// The task this task was last seen awaiting (asyncio's `_fut_waiter` edge).
    pub(crate) awaiting: RefCell<Option<Rc<dyn TaskObj>>>,
    pub(crate) hook: RefCell<Option<Rc<dyn CompletionHook>>>,
    pub(crate) lp: Weak<Inner>,
    /// The task's own waker (created once, at spawn).
    pub(crate) waker: Waker,
}

impl Header {
    pub(crate) fn has(&self, f: u8) -> bool {
        self.flags.get() & f != 0
    }

    pub(crate) fn set(&self, f: u8) {
        self.flags.set(self.flags.get() | f);
    }

    pub(crate) fn name(&self) -> String {
        match &self.name {
            Some(n) => n.to_string(),
            None => format!("Task-{}", self.id.0),
        }
    }

    /// Requests cancellation; returns false if the task is already done.
    pub(crate) fn cancel(&self) -> bool {
        if self.has(DONE) {
            return false;
        }
        if !self.has(CANCEL_REQUESTED) {
            self.set(CANCEL_REQUESTED);
            if let Some(inner) = self.lp.upgrade() {
                inner.push_msg(Msg::Cancel(self.key.get()));
            }
        }
        let child = self.awaiting.borrow_mut().take();
        if let Some(child) = child {
            child.header().cancel();
        }
        true
    }
}

/// The loop's view of a task: its header, its future, and a way to store a failure as
/// its output.
pub(crate) trait TaskObj {
    fn header(&self) -> &Header;
    /// Polls the future once with the task's waker; on `Ready` stores the output.
    fn poll_step(&self) -> Poll<()>;
    /// Drops the future (after completion, or to deliver a cancellation).
    fn drop_future(&self);
    fn set_failed(&self, err: TaskError);
}

/// The output side of a task, as its [`Task`] handle sees it.
pub(crate) trait Joinable<T>: TaskObj {
    fn output(&self) -> &RefCell<Option<Result<T, TaskError>>>;
    fn as_obj(self: Rc<Self>) -> Rc<dyn TaskObj>;
}

/// One allocation per task holds its header, its output slot and a pointer to its
/// (separately boxed, so pinned) future.
pub(crate) struct TaskCell<F: Future> {
    pub(crate) header: Header,
    pub(crate) fut: RefCell<Option<Pin<Box<F>>>>,
    pub(crate) output: RefCell<Option<Result<F::Output, TaskError>>>,
}

impl<F: Future + 'static> TaskObj for TaskCell<F> {
    fn header(&self) -> &Header {
        &self.header
    }
    fn poll_step(&self) -> Poll<()> {
        let mut slot = self.fut.borrow_mut();
        let Some(fut) = slot.as_mut() else {
            return Poll::Ready(());
        };
        let mut cx = Context::from_waker(&self.header.waker);
        match fut.as_mut().poll(&mut cx) {
            Poll::Ready(v) => {
                *self.output.borrow_mut() = Some(Ok(v));
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
        *self.output.borrow_mut() = Some(Err(err));
    }
}

impl<F: Future + 'static> Joinable<F::Output> for TaskCell<F> {
    fn output(&self) -> &RefCell<Option<Result<F::Output, TaskError>>> {
        &self.output
    }
    fn as_obj(self: Rc<Self>) -> Rc<dyn TaskObj> {
        self
    }
}

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
        self.cell.header().has(DONE)
    }

    /// `true` once the task has ended by cancellation (not merely been asked to).
    pub fn is_cancelled(&self) -> bool {
        self.cell.header().has(CANCELLED)
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
        let out = self.cell.output().borrow_mut().take();
        if out.is_some() {
            self.cell.header().set(RETRIEVED);
        }
        out
    }

    pub(crate) fn poll_join(&self, cx: &mut Context<'_>, link: bool) -> Poll<Result<T, TaskError>> {
        let h = self.cell.header();
        if h.has(DONE) {
            if let Some(out) = self.cell.output().borrow_mut().take() {
                h.set(RETRIEVED);
                return Poll::Ready(out);
            }
            panic!("Task {} polled after its output was taken", h.name());
        }
        {
            let mut w = h.join_waker.borrow_mut();
            match &*w {
                Some(old) if old.will_wake(cx.waker()) => {}
                _ => *w = Some(cx.waker().clone()),
            }
        }
        if link {
            crate::event_loop::link_awaiting(self.obj());
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
        if !h.has(DONE) && !h.has(NO_CANCEL_ON_DROP) {
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
        h.set(DETACHED);
        if h.has(PANICKED) && !h.has(RETRIEVED) && !h.has(OBSERVED) {
            let msg = match &*self.cell.output().borrow() {
                Some(Err(TaskError::Panicked(p))) => p
                    .message()
                    .unwrap_or("<non-string panic payload>")
                    .to_owned(),
                _ => String::new(),
            };
            if let Some(inner) = h.lp.upgrade() {
                inner.report_unobserved_panic(h, msg);
            }
        }
    }
}

impl<T: 'static> fmt::Debug for Task<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let h = self.cell.header();
        let state = if h.has(CANCELLED) {
            "cancelled"
        } else if h.has(PANICKED) {
            "panicked"
        } else if h.has(DONE) {
            "finished"
        } else if h.has(CANCEL_REQUESTED) {
            "cancelling"
        } else {
            "pending"
        };
        write!(f, "<Task {} id={} {state}>", h.name(), h.id.0)
    }
}

/// The identity of a task, as returned by [`current_task`](crate::current_task).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TaskInfo {
    pub(crate) id: TaskId,
    pub(crate) name: String,
}

impl TaskInfo {
    /// The task's id.
    pub fn id(&self) -> TaskId {
        self.id
    }

    /// The task's name (`Task-N` unless it was named).
    pub fn name(&self) -> &str {
        &self.name
    }
}
