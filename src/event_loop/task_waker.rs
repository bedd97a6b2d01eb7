//! [`TaskWaker`] and the loop's [`Probe`]: the data of a task's waker. What a wake does
//! is in `waker.rs` (its `Wake` impl reaches the running loop through the registry);
//! this file stays below the loop's state, which holds a probe.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::Waker;

use super::remote::Remote;

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

    /// The slab key of the task it wakes.
    #[inline]
    pub(crate) fn key(&self) -> u64 {
        self.key.load(Ordering::Relaxed)
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
