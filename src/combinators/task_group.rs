//! [`task_group`] and [`TaskGroup`]: children that fail together.

use crate::event_loop::registry::current_task;
use crate::event_loop::registry::running_loop;
use crate::event_loop::running_inner;
use crate::event_loop::waker::relay;
use crate::task::error::panic_text;
use crate::task::handle::Task;
use crate::task::header::CompletionHook;
use crate::task::header::Header;
use crate::task::header::TaskObj;
use crate::task::id::TaskId;
use crate::trace::origin::{Origin, What};
use std::cell::Cell;
use std::cell::RefCell;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::Waker;
use std::task::{Context, Poll};

/// One failed child of a [`task_group`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupFailure {
    /// The child's id.
    pub task: TaskId,
    /// The child's name.
    pub name: String,
    /// Its panic message.
    pub message: String,
}

/// The error of [`task_group`]: "unhandled errors in a TaskGroup", with every failed child
/// in completion order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupError {
    /// The failures, in completion order.
    pub failures: Vec<GroupFailure>,
}

impl fmt::Display for GroupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unhandled errors in a TaskGroup ({} sub-exception{})",
            self.failures.len(),
            if self.failures.len() == 1 { "" } else { "s" }
        )?;
        for fl in &self.failures {
            write!(f, "; {} (id {}) panicked: {}", fl.name, fl.task, fl.message)?;
        }
        Ok(())
    }
}

impl std::error::Error for GroupError {}

struct GroupInner {
    children: RefCell<Vec<Rc<dyn TaskObj>>>,
    live: Cell<usize>,
    failures: RefCell<Vec<GroupFailure>>,
    aborting: Cell<bool>,
    abort_scheduled: Cell<bool>,
    finished: Cell<bool>,
    parent: RefCell<Option<Waker>>,
}

impl GroupInner {
    /// Cancels every unfinished child and wakes the body's task (asyncio's `_abort`).
    fn abort(&self) {
        self.aborting.set(true);
        let children = self.children.borrow().clone();
        for c in children {
            c.header().cancel();
        }
        if let Some(w) = &*self.parent.borrow() {
            w.wake_by_ref();
        }
    }
}

impl CompletionHook for GroupInner {
    fn task_done(self: Rc<Self>, h: &Header, panic_message: Option<String>) {
        self.live.set(self.live.get() - 1);
        if let Some(message) = panic_message {
            self.failures.borrow_mut().push(GroupFailure {
                task: h.id,
                name: h.name(),
                message,
            });
            if !self.abort_scheduled.replace(true) {
                // asyncio aborts from the child's done-callback: one FIFO hop later, so
                // a sibling failing in the same iteration is still recorded as a failure.
                match running_loop() {
                    Some(lp) if !lp.is_closed() => {
                        let me = self.clone();
                        lp.call_soon(move || me.abort());
                    }
                    _ => self.abort(),
                }
            }
            return;
        }
        if self.live.get() == 0 {
            if let Some(w) = &*self.parent.borrow() {
                relay(w);
            }
        }
    }
}

/// A handle for spawning children into a [`task_group`]. Cheap to clone.
#[derive(Clone)]
pub struct TaskGroup {
    inner: Rc<GroupInner>,
}

impl fmt::Debug for TaskGroup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = if self.inner.finished.get() {
            "finished"
        } else if self.inner.aborting.get() {
            "shutting down"
        } else {
            "entered"
        };
        write!(f, "<TaskGroup {state} live={}>", self.inner.live.get())
    }
}

impl Default for TaskGroup {
    fn default() -> Self {
        TaskGroup::new()
    }
}

impl TaskGroup {
    /// A new, empty group. Spawn children with [`spawn`](TaskGroup::spawn) and wait for
    /// them with [`join`](TaskGroup::join); [`task_group`] is the scoped form.
    ///
    /// ```
    /// let r = simloop::run(async {
    ///     let tg = simloop::TaskGroup::new();
    ///     let a = tg.spawn(async { 1 });
    ///     let b = tg.spawn(async { 2 });
    ///     tg.join().await.unwrap();
    ///     a.await.unwrap() + b.await.unwrap()
    /// });
    /// assert_eq!(r, 3);
    /// ```
    pub fn new() -> TaskGroup {
        TaskGroup {
            inner: Rc::new(GroupInner {
                children: RefCell::new(Vec::new()),
                live: Cell::new(0),
                failures: RefCell::new(Vec::new()),
                aborting: Cell::new(false),
                abort_scheduled: Cell::new(false),
                finished: Cell::new(false),
                parent: RefCell::new(None),
            }),
        }
    }

    /// The same as [`create_task`](TaskGroup::create_task).
    #[track_caller]
    pub fn spawn<F>(&self, fut: F) -> Task<F::Output>
    where
        F: Future + 'static,
    {
        self.spawn_inner(None, fut)
    }

    /// Waits for every child (including children spawned while waiting). If a child
    /// panics, the others are cancelled and, once all have finished, the failures are
    /// returned. Dropping the future before it completes cancels the children.
    pub fn join(&self) -> TaskGroupFuture<std::future::Ready<()>> {
        TaskGroupFuture {
            group: self.clone(),
            body: None,
            result: Some(()),
        }
    }

    /// Spawns a child on the running loop. The group waits for it; if it panics, the group
    /// cancels its siblings and its body and fails.
    ///
    /// # Panics
    /// "TaskGroup … is finished" after the group ended, "TaskGroup … is shutting down"
    /// while it is aborting, and "no running event loop" outside a loop.
    #[track_caller]
    pub fn create_task<F>(&self, fut: F) -> Task<F::Output>
    where
        F: Future + 'static,
    {
        self.spawn_inner(None, fut)
    }

    /// Like [`create_task`](TaskGroup::create_task), with a name.
    #[track_caller]
    pub fn create_task_named<F>(&self, name: impl Into<String>, fut: F) -> Task<F::Output>
    where
        F: Future + 'static,
    {
        let name: String = name.into();
        self.spawn_inner(Some(Rc::from(name)), fut)
    }

    #[track_caller]
    fn spawn_inner<F>(&self, name: Option<Rc<str>>, fut: F) -> Task<F::Output>
    where
        F: Future + 'static,
    {
        if self.inner.finished.get() {
            panic!("TaskGroup {self:?} is finished");
        }
        if self.inner.aborting.get() {
            panic!("TaskGroup {self:?} is shutting down");
        }
        let inner = running_inner("TaskGroup::create_task");
        let origin = Origin::new(What::Spawn, std::panic::Location::caller(), 0);
        let task = inner.spawn(name, fut, origin);
        let h = task.header();
        h.status.observe();
        h.set_hook(self.inner.clone() as Rc<dyn CompletionHook>);
        self.inner.children.borrow_mut().push(task.obj());
        self.inner.live.set(self.inner.live.get() + 1);
        task
    }
}

/// Runs `body` with a [`TaskGroup`] and waits for every child (asyncio's `TaskGroup`).
///
/// If a child panics, every unfinished child is cancelled (one loop step later, as
/// asyncio's done-callback does, so a sibling failing in the same iteration is recorded
/// too), the body is cancelled (dropped) too, and once all children have finished the
/// group returns a [`GroupError`] listing the failures in completion order. A panic in the
/// body itself is one of those failures (named after the task running the group). Otherwise it returns the body's output after the
/// last child has finished.
///
/// ```
/// use std::time::Duration;
/// let r = simloop::run(simloop::task_group(|tg| async move {
///     tg.create_task(async { simloop::sleep(Duration::from_secs(1)).await; panic!("boom") });
///     let sibling = tg.create_task(simloop::sleep(Duration::from_secs(60)));
///     sibling.await.unwrap_err() // the body is cancelled before this completes
/// }));
/// let err = r.unwrap_err();
/// assert_eq!(err.failures.len(), 1);
/// assert_eq!(err.failures[0].message, "boom");
/// assert!(err.to_string().starts_with("unhandled errors in a TaskGroup"));
/// ```
pub fn task_group<B, Fut>(body: B) -> TaskGroupFuture<Fut>
where
    B: FnOnce(TaskGroup) -> Fut,
    Fut: Future,
{
    let tg = TaskGroup::new();
    let body = body(tg.clone());
    TaskGroupFuture {
        group: tg,
        body: Some(Box::pin(body)),
        result: None,
    }
}

/// The future returned by [`task_group`].
#[must_use = "futures do nothing unless awaited"]
pub struct TaskGroupFuture<Fut: Future> {
    group: TaskGroup,
    body: Option<Pin<Box<Fut>>>,
    result: Option<Fut::Output>,
}

impl<Fut: Future> fmt::Debug for TaskGroupFuture<Fut> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskGroupFuture")
            .field("group", &self.group)
            .field("body_done", &self.body.is_none())
            .finish()
    }
}

// The body is boxed and the result is never pinned, so moving the future is fine.
impl<Fut: Future> Unpin for TaskGroupFuture<Fut> {}

impl<Fut: Future> Future for TaskGroupFuture<Fut> {
    type Output = Result<Fut::Output, GroupError>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let g = this.group.inner.clone();
        *g.parent.borrow_mut() = Some(cx.waker().clone());
        if !g.aborting.get() {
            if let Some(body) = this.body.as_mut() {
                let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    body.as_mut().poll(cx)
                }));
                match r {
                    Ok(Poll::Ready(v)) => {
                        this.result = Some(v);
                        this.body = None;
                    }
                    Ok(Poll::Pending) => {}
                    Err(p) => {
                        // A panic in the body joins the group's failures (asyncio adds
                        // the body's exception to the ExceptionGroup) and aborts.
                        let (task, name) = match current_task() {
                            Some(t) => (t.id(), t.name().to_owned()),
                            None => (TaskId::from_raw(0), "<body>".to_owned()),
                        };
                        g.failures.borrow_mut().push(GroupFailure {
                            task,
                            name,
                            message: panic_text(&*p),
                        });
                        this.body = None;
                        g.abort_scheduled.set(true);
                        g.abort();
                    }
                }
            }
        }
        if g.aborting.get() {
            // Cancel the body: dropping it runs its destructors now.
            this.body = None;
        }
        if this.body.is_none() && g.live.get() == 0 {
            g.finished.set(true);
            g.children.borrow_mut().clear();
            let failures = std::mem::take(&mut *g.failures.borrow_mut());
            if !failures.is_empty() {
                return Poll::Ready(Err(GroupError { failures }));
            }
            return Poll::Ready(Ok(this
                .result
                .take()
                .expect("task_group polled after completion")));
        }
        Poll::Pending
    }
}

impl<Fut: Future> Drop for TaskGroupFuture<Fut> {
    fn drop(&mut self) {
        let g = &self.group.inner;
        if !g.finished.get() {
            g.aborting.set(true);
            let children = g.children.borrow().clone();
            for c in children {
                c.header().cancel();
            }
        }
    }
}
