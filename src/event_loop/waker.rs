//! Wakers: a task's own waker, the completion-hop waker, and the queue for wakes that
//! arrive from other threads.
//!
//! A task's waker names its loop by id and the task by its slab key. Waking it on the
//! loop's thread posts [`Msg::Wake`] to the loop (see `mod.rs` for when it takes effect).
//! A wake from any other thread — or for a loop that no longer exists on this thread —
//! goes to the loop's `Remote` queue instead, which the loop drains at its next step
//! and reports as nondeterminism when it came from another thread.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Wake, Waker};

use super::registry;
use super::remote::Remote;
use crate::task::link::Msg;

/// A task's waker. Its loop's id is the `Remote`'s.
///
/// # The probe (issue 12)
///
/// A task gets a waker of its own only when it needs one. Its first poll uses its loop's
/// *probe*, a `TaskWaker` whose key is set to the task's just before. If the task
/// finished in that poll and nothing else holds the probe (the future kept no clone), the
/// loop keeps the probe for the next task's first poll; otherwise the probe becomes the
/// task's own waker for good (its key never changes again) and the loop makes a new
/// probe when it next needs one. So a task that finishes at its first poll without
/// keeping its waker costs no waker allocation, and a waker that is out there always
/// names the one task it was handed to. Which case applies depends only on what the
/// program did (its result and a count of references), never on timing or addresses: no
/// scheduling decision depends on it.
pub(crate) struct TaskWaker {
    key: AtomicU64,
    pub(crate) remote: Arc<Remote>,
}

impl TaskWaker {
    pub(crate) fn new(key: u64, remote: Arc<Remote>) -> TaskWaker {
        TaskWaker {
            key: AtomicU64::new(key),
            remote,
        }
    }
}

/// A loop's probe waker (see [`TaskWaker`]): the `Arc`, to count who holds it, and the
/// `Waker` made from it.
pub(crate) struct Probe {
    arc: Arc<TaskWaker>,
    pub(crate) waker: Waker,
}

impl Probe {
    pub(crate) fn new(remote: Arc<Remote>) -> Probe {
        let arc = Arc::new(TaskWaker::new(u64::MAX, remote));
        let waker = Waker::from(arc.clone());
        Probe { arc, waker }
    }

    /// Points the probe at the task with slab key `key` (the probe is not shared).
    #[inline]
    pub(crate) fn aim(&self, key: u64) {
        self.arc.key.store(key, Ordering::Relaxed);
    }

    /// Nothing but this `Probe` holds the waker: it may be aimed at another task.
    #[inline]
    pub(crate) fn is_unshared(&self) -> bool {
        Arc::strong_count(&self.arc) == 2
    }
}

impl Wake for TaskWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        let loop_id = self.remote.loop_id;
        let key = self.key.load(Ordering::Relaxed);
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
