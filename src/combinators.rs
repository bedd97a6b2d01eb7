//! Coordination: [`gather`], [`wait`], [`as_completed`], [`shield`], [`task_group`].
//!
//! Everything here creates tasks in **input order** and reports in input order (or
//! completion order for `as_completed`), never in hash order, so the schedule depends
//! only on the policy. Completions reach the waiting task through one extra FIFO hop, as
//! asyncio's done-callbacks do.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};

use futures::Stream;

use crate::event_loop::{relay, relay_waker, running_inner};
use crate::task::{
    CompletionHook, Header, Task, TaskError, TaskId, NO_CANCEL_ON_DROP, OBSERVED, PANICKED,
};

fn spawn_all<F>(what: &str, futs: Vec<F>) -> Vec<Task<F::Output>>
where
    F: Future + 'static,
{
    let inner = running_inner(what);
    futs.into_iter().map(|f| inner.spawn(None, f)).collect()
}

fn unwrap_child<T>(task: &Task<T>, r: Result<T, TaskError>) -> T {
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
struct CountDown {
    remaining: AtomicUsize,
    parent: Mutex<Option<Waker>>,
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
pub fn gather<I>(futures: I) -> Gather<<I::Item as Future>::Output>
where
    I: IntoIterator,
    I::Item: Future + 'static,
{
    let futs: Vec<Pin<Box<dyn Future<Output = _>>>> = futures
        .into_iter()
        .map(|f| Box::pin(f) as Pin<Box<dyn Future<Output = _>>>)
        .collect();
    Gather {
        pending: Some(futs),
        tasks: Vec::new(),
        countdown: None,
    }
}

/// The future returned by [`gather`].
#[must_use = "futures do nothing unless awaited"]
pub struct Gather<T: 'static> {
    pending: Option<Vec<Pin<Box<dyn Future<Output = T>>>>>,
    tasks: Vec<Task<T>>,
    countdown: Option<Arc<CountDown>>,
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
            this.tasks = spawn_all("gather", futs);
            if this.tasks.is_empty() {
                return Poll::Ready(Vec::new());
            }
            let cd = Arc::new(CountDown {
                remaining: AtomicUsize::new(this.tasks.len()),
                parent: Mutex::new(Some(cx.waker().clone())),
            });
            let w = Waker::from(cd.clone());
            for t in &this.tasks {
                *t.header().join_waker.borrow_mut() = Some(w.clone());
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
        t.header().set(NO_CANCEL_ON_DROP);
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
                done == tasks.len() || tasks.iter().any(|t| t.header().has(PANICKED))
            }
        };
        if ready {
            let tasks = self.tasks.take().expect("tasks");
            for t in &tasks {
                let h = t.header();
                h.flags.set(h.flags.get() & !NO_CANCEL_ON_DROP);
            }
            let (d, p) = tasks.into_iter().partition(|t| t.is_done());
            return Poll::Ready((d, p));
        }
        let w = relay_waker(cx.waker());
        for t in tasks.iter().filter(|t| !t.is_done()) {
            *t.header().join_waker.borrow_mut() = Some(w.clone());
        }
        Poll::Pending
    }
}

struct Completion {
    index: usize,
    shared: Arc<Mutex<CompletedState>>,
}

struct CompletedState {
    order: VecDeque<usize>,
    parent: Option<Waker>,
}

impl Wake for Completion {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        let parent = match self.shared.lock() {
            Ok(mut s) => {
                s.order.push_back(self.index);
                s.parent.clone()
            }
            Err(_) => None,
        };
        if let Some(p) = parent {
            relay(&p);
        }
    }
}

/// Runs every future as its own task (created in input order) and yields their outputs in
/// completion order (asyncio's `as_completed`). A child's panic is re-raised in the
/// consumer when its turn comes. Dropping the stream early leaves the remaining tasks
/// running (detached), as asyncio does.
///
/// ```
/// use futures::StreamExt;
/// use std::time::Duration;
/// let order = simloop::run(async {
///     let s = simloop::as_completed([30u64, 10, 20].map(|ms| async move {
///         simloop::sleep(Duration::from_millis(ms)).await;
///         ms
///     }));
///     s.collect::<Vec<_>>().await
/// });
/// assert_eq!(order, vec![10, 20, 30]);
/// ```
pub fn as_completed<I>(futures: I) -> AsCompleted<<I::Item as Future>::Output>
where
    I: IntoIterator,
    I::Item: Future + 'static,
{
    let futs: Vec<Pin<Box<dyn Future<Output = _>>>> = futures
        .into_iter()
        .map(|f| Box::pin(f) as Pin<Box<dyn Future<Output = _>>>)
        .collect();
    AsCompleted {
        pending: Some(futs),
        tasks: Vec::new(),
        yielded: 0,
        shared: Arc::new(Mutex::new(CompletedState {
            order: VecDeque::new(),
            parent: None,
        })),
    }
}

/// The stream returned by [`as_completed`].
#[must_use = "streams do nothing unless polled"]
pub struct AsCompleted<T: 'static> {
    pending: Option<Vec<Pin<Box<dyn Future<Output = T>>>>>,
    tasks: Vec<Task<T>>,
    yielded: usize,
    shared: Arc<Mutex<CompletedState>>,
}

impl<T> fmt::Debug for AsCompleted<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsCompleted")
            .field("tasks", &self.tasks.len())
            .field("yielded", &self.yielded)
            .finish()
    }
}

impl<T: 'static> Stream for AsCompleted<T> {
    type Item = T;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let this = &mut *self;
        if let Some(futs) = this.pending.take() {
            this.tasks = spawn_all("as_completed", futs);
            for (index, t) in this.tasks.iter().enumerate() {
                t.header().set(NO_CANCEL_ON_DROP);
                let w = Waker::from(Arc::new(Completion {
                    index,
                    shared: this.shared.clone(),
                }));
                *t.header().join_waker.borrow_mut() = Some(w);
            }
        }
        if this.yielded == this.tasks.len() {
            return Poll::Ready(None);
        }
        let next = match this.shared.lock() {
            Ok(mut s) => {
                let n = s.order.pop_front();
                if n.is_none() {
                    s.parent = Some(cx.waker().clone());
                }
                n
            }
            Err(_) => None,
        };
        match next {
            Some(i) => {
                this.yielded += 1;
                let t = &this.tasks[i];
                let r = t.take_output().expect("completed output");
                Poll::Ready(Some(unwrap_child(t, r)))
            }
            None => Poll::Pending,
        }
    }
}

/// Protects a task from cancellation of whoever awaits it (asyncio's `shield`).
///
/// Awaiting the result gives the task's output. If the awaiting task is cancelled (or the
/// `Shielded` is dropped), the inner task keeps running. If the inner task is cancelled by
/// other means, awaiting gives [`TaskError::Cancelled`].
///
/// ```
/// use std::{cell::Cell, rc::Rc, time::Duration};
/// let lp = simloop::new_event_loop();
/// let finished = Rc::new(Cell::new(false));
/// let f = finished.clone();
/// lp.run_until_complete(async move {
///     let inner = simloop::create_task(async move {
///         simloop::sleep(Duration::from_secs(2)).await;
///         f.set(true);
///     });
///     let r = simloop::wait_for(simloop::shield(inner), Duration::from_secs(1)).await;
///     assert!(r.is_err()); // timed out...
///     simloop::sleep(Duration::from_secs(5)).await;
/// }).unwrap();
/// assert!(finished.get()); // ...but the shielded task ran to completion
/// ```
pub fn shield<T: 'static>(task: Task<T>) -> Shielded<T> {
    task.header().set(NO_CANCEL_ON_DROP);
    Shielded { task }
}

/// The future returned by [`shield`].
#[must_use = "futures do nothing unless awaited"]
#[derive(Debug)]
pub struct Shielded<T: 'static> {
    task: Task<T>,
}

impl<T: 'static> Future for Shielded<T> {
    type Output = Result<T, TaskError>;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.task.poll_join(cx, false)
    }
}

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
    children: RefCell<Vec<Rc<dyn crate::task::TaskObj>>>,
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
                match crate::event_loop::running_loop() {
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
        let task = inner.spawn(name, fut);
        let h = task.header();
        h.set(OBSERVED);
        *h.hook.borrow_mut() = Some(self.inner.clone() as Rc<dyn CompletionHook>);
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
                        let (task, name) = match crate::current_task_info() {
                            Some(t) => (t.id, t.name),
                            None => (TaskId::from_raw(0), "<body>".to_owned()),
                        };
                        g.failures.borrow_mut().push(GroupFailure {
                            task,
                            name,
                            message: crate::task::panic_text(&*p),
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
