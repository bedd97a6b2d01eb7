//! The thread's loops: its *running* loop (set while a run is on the stack), its
//! *current* loop (`set_event_loop`), and every live loop created on it (so a wake from
//! this thread reaches a loop's inbox in program order even while it is not running).

use std::cell::RefCell;
use std::rc::{Rc, Weak};

use super::inner::Inner;
use super::EventLoop;
use crate::error::LoopError;
use crate::task::header::TaskObj;
use crate::task::id::TaskInfo;
use crate::task::link::Msg;

thread_local! {
    static RUNNING: RefCell<Option<Rc<Inner>>> = const { RefCell::new(None) };
    static CURRENT: RefCell<Option<EventLoop>> = const { RefCell::new(None) };
    static LOOPS: RefCell<Vec<(u64, Weak<Inner>)>> = const { RefCell::new(Vec::new()) };
}

/// The running loop's state, if any (never panics, also during thread teardown).
#[inline]
pub(crate) fn running() -> Option<Rc<Inner>> {
    RUNNING
        .try_with(|r| r.try_borrow().ok().and_then(|r| r.clone()))
        .ok()
        .flatten()
}

/// Wakes the task with slab key `key` of the running loop if that is loop `id`; `false`
/// (nothing done) if the running loop is another one, or none. The same as
/// `find(id)?.post_msg(Msg::Wake(key))` for the running loop, without the `Rc` clone:
/// the wake path of every step.
#[inline]
pub(crate) fn wake_on_running(id: u64, key: u64) -> bool {
    RUNNING
        .try_with(|r| match r.try_borrow() {
            Ok(r) => match &*r {
                Some(inner) if inner.id == id => {
                    inner.post_msg(Msg::Wake(key));
                    true
                }
                _ => false,
            },
            Err(_) => false,
        })
        .unwrap_or(false)
}

/// The running loop of this thread, if any.
pub(crate) fn running_loop() -> Option<EventLoop> {
    running().map(|inner| EventLoop { inner })
}

/// The running loop's state; panics with "no running event loop" naming `what` outside
/// one.
#[track_caller]
#[inline]
pub(crate) fn running_inner(what: &str) -> Rc<Inner> {
    match running() {
        Some(i) => i,
        None => panic!(
            "{what}: no running event loop ({})",
            LoopError::NoRunningLoop.hint()
        ),
    }
}

/// Makes `inner` the running loop; `false` if another loop runs on this thread.
pub(crate) fn set_running(inner: &Rc<Inner>) -> bool {
    RUNNING.with(|r| {
        let mut r = r.borrow_mut();
        if r.is_some() {
            return false;
        }
        *r = Some(inner.clone());
        true
    })
}

/// Clears the running loop (the run is over).
pub(crate) fn clear_running() {
    let _ = RUNNING.try_with(|r| r.borrow_mut().take());
}

pub(crate) fn current_loop() -> Option<EventLoop> {
    CURRENT.with(|c| c.borrow().clone())
}

pub(crate) fn set_current_loop(lp: Option<&EventLoop>) {
    let old = CURRENT.with(|c| std::mem::replace(&mut *c.borrow_mut(), lp.cloned()));
    drop(old);
}

/// Registers a new loop of this thread, forgetting loops that were dropped since (so the
/// registry holds at most the live loops plus those dropped since the last creation).
pub(crate) fn register(id: u64, inner: &Rc<Inner>) {
    LOOPS.with(|l| {
        let mut l = l.borrow_mut();
        l.retain(|(_, w)| w.strong_count() > 0);
        l.push((id, Rc::downgrade(inner)));
    });
}

/// Loop `id` if it lives on this thread: the running loop first, else the registry.
#[inline]
pub(crate) fn find(id: u64) -> Option<Rc<Inner>> {
    if let Some(inner) = running() {
        if inner.id == id {
            return Some(inner);
        }
    }
    LOOPS
        .try_with(|l| {
            l.try_borrow().ok().and_then(|l| {
                l.iter()
                    .find(|(i, _)| *i == id)
                    .and_then(|(_, w)| w.upgrade())
            })
        })
        .ok()
        .flatten()
}

/// The task the running loop is polling right now (asyncio's `current_task`), or `None`
/// outside a task (in a callback, or outside a running loop).
///
/// ```
/// simloop::run(async {
///     let me = simloop::current_task().unwrap();
///     assert_eq!(me.name(), "Task-1");
/// });
/// assert!(simloop::current_task().is_none());
/// ```
pub fn current_task() -> Option<TaskInfo> {
    let inner = running()?;
    let cur = inner.current_obj()?;
    let h = cur.header();
    Some(TaskInfo {
        id: h.id,
        name: h.name(),
    })
}

impl Inner {
    /// The task that is awaiting, when a task of this loop is awaited: the task this loop
    /// is polling, or, when this loop is not the one polling (a task of another loop
    /// awaits it), the task the thread's running loop is polling. A deadlock report
    /// follows that edge to name a task awaited from another loop.
    pub(crate) fn awaiting_task(&self) -> Option<Rc<dyn TaskObj>> {
        self.current_obj()
            .or_else(|| running().and_then(|r| r.current_obj()))
    }
}
