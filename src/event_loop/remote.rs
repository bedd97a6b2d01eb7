//! [`Remote`]: the queue for wakes that arrive from other threads (or for a loop that no
//! longer exists on this thread); drained by the loop at its next step, and reported as
//! nondeterminism when a wake came from another thread.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::thread::ThreadId;

/// Wakes from other threads (and for loops that were dropped) land here.
pub(crate) struct Remote {
    owner: ThreadId,
    pending: AtomicBool,
    queue: Mutex<Vec<u64>>,
    foreign: AtomicU64,
}

impl Remote {
    pub(crate) fn new() -> Remote {
        Remote {
            owner: std::thread::current().id(),
            pending: AtomicBool::new(false),
            queue: Mutex::new(Vec::new()),
            foreign: AtomicU64::new(0),
        }
    }

    pub(crate) fn push(&self, key: u64) {
        if std::thread::current().id() != self.owner {
            self.foreign.fetch_add(1, Ordering::Relaxed);
        }
        if let Ok(mut q) = self.queue.lock() {
            q.push(key);
        }
        self.pending.store(true, Ordering::Release);
    }

    /// The keys woken since the last call, and how many of those wakes came from another
    /// thread; `None` if there were none.
    #[inline]
    pub(crate) fn take(&self) -> Option<(Vec<u64>, u64)> {
        if !self.pending.load(Ordering::Acquire) {
            return None;
        }
        self.pending.store(false, Ordering::Relaxed);
        let foreign = self.foreign.swap(0, Ordering::Relaxed);
        let keys = match self.queue.lock() {
            Ok(mut q) => std::mem::take(&mut *q),
            Err(_) => Vec::new(),
        };
        Some((keys, foreign))
    }
}
