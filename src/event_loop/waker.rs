//! Wakers: a task's own waker, the completion-hop waker, and the queue for wakes that
//! arrive from other threads.
//!
//! A task's waker names its loop by id and the task by its slab key. Waking it on the
//! loop's thread posts [`Msg::Wake`] to the loop (see `mod.rs` for when it takes effect).
//! A wake from any other thread — or for a loop that no longer exists on this thread —
//! goes to the loop's `Remote` queue instead, which the loop drains at its next step
//! and reports as nondeterminism when it came from another thread.

use std::sync::Arc;
use std::task::{Wake, Waker};

use super::registry;
use super::task_waker::TaskWaker;
use crate::task::link::Msg;

impl Wake for TaskWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        let loop_id = self.remote.loop_id;
        let key = self.key();
        // The common case — a task or timer of the running loop wakes one of its tasks —
        // posts without cloning the loop's `Rc` (issue 12).
        if !registry::wake_on_running(loop_id, key) {
            self.wake_slow(loop_id, key);
        }
    }
}

impl TaskWaker {
    /// A wake for a loop that is not the running one.
    #[cold]
    #[inline(never)]
    fn wake_slow(&self, loop_id: u64, key: u64) {
        match registry::find(loop_id) {
            Some(inner) => inner.post_msg(Msg::Wake(key)),
            None => self.remote.push(key),
        }
    }
}

/// A waker that turns a wake into one more FIFO hop through the loop (asyncio's
/// done-callback → future → wakeup chain), used by gather/wait/as_completed/TaskGroup.
struct RelayWaker {
    target: Waker,
}

impl Wake for RelayWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        relay(&self.target);
    }
}

/// Wakes `w` one loop step later (a callback step of its own) when a loop is running on
/// this thread; directly otherwise.
pub(crate) fn relay(w: &Waker) {
    match registry::running() {
        Some(inner) => inner.post_msg(Msg::Relay(w.clone())),
        None => w.wake_by_ref(),
    }
}

/// A waker that wakes `w` through a completion hop (see [`relay`]).
pub(crate) fn relay_waker(w: &Waker) -> Waker {
    Waker::from(Arc::new(RelayWaker { target: w.clone() }))
}
