//! [`Remote`]: the queue for wakes that arrive from other threads (or for a loop that no
//! longer exists on this thread); drained by the loop at its next step, and reported as
//! nondeterminism when a wake came from another thread — saying whether it came during a
//! run or between runs (a wake after a run ended is not blamed on the next run).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::thread::ThreadId;

/// Wakes from other threads (and for loops that were dropped) land here.
pub(crate) struct Remote {
    /// The loop's process-wide id (a task's waker finds its loop by it).
    pub(crate) loop_id: u64,
    owner: ThreadId,
    pending: AtomicBool,
    queue: Mutex<Vec<u64>>,
    foreign: AtomicU64,
    /// Set while the loop runs, so a foreign wake can say when it came.
    running: AtomicBool,
    /// Foreign wakes that came while the loop was not running.
    foreign_idle: AtomicU64,
}

/// What [`Remote::take`] found.
pub(crate) struct RemoteWakes {
    /// The woken task keys, in arrival order.
    pub(crate) keys: Vec<u64>,
    /// Wakes from another thread while the loop ran.
    pub(crate) foreign: u64,
    /// Wakes from another thread while the loop was not running.
    pub(crate) foreign_between_runs: u64,
}

impl Remote {
    pub(crate) fn new(loop_id: u64) -> Remote {
        Remote {
            loop_id,
            owner: std::thread::current().id(),
            pending: AtomicBool::new(false),
            queue: Mutex::new(Vec::new()),
            foreign: AtomicU64::new(0),
            running: AtomicBool::new(false),
            foreign_idle: AtomicU64::new(0),
        }
    }

    /// The loop starts (`true`) or ends (`false`) a run.
    pub(crate) fn set_running(&self, running: bool) {
        self.running.store(running, Ordering::Release);
    }

    pub(crate) fn push(&self, key: u64) {
        if std::thread::current().id() != self.owner {
            if self.running.load(Ordering::Acquire) {
                self.foreign.fetch_add(1, Ordering::Relaxed);
            } else {
                self.foreign_idle.fetch_add(1, Ordering::Relaxed);
            }
        }
        if let Ok(mut q) = self.queue.lock() {
            q.push(key);
        }
        self.pending.store(true, Ordering::Release);
    }

    /// The keys woken since the last call, and how many of those wakes came from another
    /// thread (during a run, and between runs); `None` if there were none.
    #[inline]
    pub(crate) fn take(&self) -> Option<RemoteWakes> {
        if !self.pending.load(Ordering::Acquire) {
            return None;
        }
        self.pending.store(false, Ordering::Relaxed);
        let foreign = self.foreign.swap(0, Ordering::Relaxed);
        let foreign_between_runs = self.foreign_idle.swap(0, Ordering::Relaxed);
        let keys = match self.queue.lock() {
            Ok(mut q) => std::mem::take(&mut *q),
            Err(_) => Vec::new(),
        };
        Some(RemoteWakes {
            keys,
            foreign,
            foreign_between_runs,
        })
    }
}
