//! tokio's `sync::watch` with a deterministic wake order.
//!
//! [`Sender`] and [`Receiver`] wrap tokio's (the value, versions, `Ref`, errors and
//! `closed` are tokio's own); only the waiting of [`Receiver::changed`] and
//! [`Receiver::wait_for`] is the mirror's: a receiver that waits joins its channel's
//! list, and every change wakes the list in order. Types differ from real tokio's
//! `watch` types (as `time::Instant` does), so a channel cannot cross into code built
//! against real tokio.

use std::fmt;
use std::future::poll_fn;
use std::sync::{Arc, Mutex};
use std::task::{Poll, Waker};

pub use tokio::sync::watch::{error, Ref};

use error::{RecvError, SendError};

/// Who waits for a change of one channel, in the order they started waiting.
#[derive(Default)]
struct Waiters(Mutex<Vec<Waker>>);

impl Waiters {
    fn add(&self, w: &Waker) {
        let mut list = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if !list.iter().any(|old| old.will_wake(w)) {
            list.push(w.clone());
        }
    }

    fn wake_all(&self) {
        let list = std::mem::take(&mut *self.0.lock().unwrap_or_else(|e| e.into_inner()));
        for w in list {
            w.wake();
        }
    }
}

/// Creates a channel holding `init` (tokio's `watch::channel`).
pub fn channel<T>(init: T) -> (Sender<T>, Receiver<T>) {
    let (tx, rx) = tokio::sync::watch::channel(init);
    let waiters = Arc::new(Waiters::default());
    (
        Sender {
            inner: tx,
            waiters: waiters.clone(),
        },
        Receiver { inner: rx, waiters },
    )
}

/// The sending half (tokio's `watch::Sender`).
pub struct Sender<T> {
    inner: tokio::sync::watch::Sender<T>,
    waiters: Arc<Waiters>,
}

/// The receiving half (tokio's `watch::Receiver`).
pub struct Receiver<T> {
    inner: tokio::sync::watch::Receiver<T>,
    waiters: Arc<Waiters>,
}

impl<T> Sender<T> {
    /// A sender with no receiver yet.
    pub fn new(init: T) -> Sender<T> {
        channel(init).0
    }

    /// Sends `value` if there is a receiver.
    ///
    /// # Errors
    /// `value` back if every receiver is gone.
    pub fn send(&self, value: T) -> Result<(), SendError<T>> {
        let r = self.inner.send(value);
        if r.is_ok() {
            self.waiters.wake_all();
        }
        r
    }

    /// Modifies the value in place and notifies the receivers.
    pub fn send_modify<F: FnOnce(&mut T)>(&self, modify: F) {
        self.inner.send_modify(modify);
        self.waiters.wake_all();
    }

    /// Modifies the value in place; notifies the receivers if `modify` returns `true`.
    pub fn send_if_modified<F: FnOnce(&mut T) -> bool>(&self, modify: F) -> bool {
        let changed = self.inner.send_if_modified(modify);
        if changed {
            self.waiters.wake_all();
        }
        changed
    }

    /// Replaces the value (also with no receiver) and returns the old one.
    pub fn send_replace(&self, value: T) -> T {
        let old = self.inner.send_replace(value);
        self.waiters.wake_all();
        old
    }

    /// Borrows the current value.
    pub fn borrow(&self) -> Ref<'_, T> {
        self.inner.borrow()
    }

    /// `true` once every receiver is gone.
    pub fn is_closed(&self) -> bool {
        self.inner.is_closed()
    }

    /// Waits until every receiver is gone.
    pub async fn closed(&self) {
        self.inner.closed().await
    }

    /// A new receiver, which has seen the current value.
    pub fn subscribe(&self) -> Receiver<T> {
        Receiver {
            inner: self.inner.subscribe(),
            waiters: self.waiters.clone(),
        }
    }

    /// How many receivers exist.
    pub fn receiver_count(&self) -> usize {
        self.inner.receiver_count()
    }

    /// How many senders exist.
    pub fn sender_count(&self) -> usize {
        self.inner.sender_count()
    }

    /// `true` if both send on the same channel.
    pub fn same_channel(&self, other: &Self) -> bool {
        self.inner.same_channel(&other.inner)
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        Sender {
            inner: self.inner.clone(),
            waiters: self.waiters.clone(),
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        // The last sender closes the channel: waiting receivers must see it.
        if self.inner.sender_count() == 1 {
            self.waiters.wake_all();
        }
    }
}

impl<T: Default> Default for Sender<T> {
    fn default() -> Self {
        Sender::new(T::default())
    }
}

impl<T: fmt::Debug> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.fmt(f)
    }
}

impl<T> Receiver<T> {
    /// Borrows the current value without marking it seen.
    pub fn borrow(&self) -> Ref<'_, T> {
        self.inner.borrow()
    }

    /// Borrows the current value and marks it seen.
    pub fn borrow_and_update(&mut self) -> Ref<'_, T> {
        self.inner.borrow_and_update()
    }

    /// `true` if the value changed since last seen.
    ///
    /// # Errors
    /// If every sender is gone.
    pub fn has_changed(&self) -> Result<bool, RecvError> {
        self.inner.has_changed()
    }

    /// `true` once every sender is gone.
    pub fn is_closed(&self) -> bool {
        self.inner.has_changed().is_err()
    }

    /// Marks the current value unseen.
    pub fn mark_changed(&mut self) {
        self.inner.mark_changed();
    }

    /// Marks the current value seen.
    pub fn mark_unchanged(&mut self) {
        self.inner.mark_unchanged();
    }

    /// Waits for a value not yet seen, and marks it seen. An unseen value is returned
    /// even after the senders are gone.
    ///
    /// # Errors
    /// If every sender is gone and no unseen value is left.
    pub async fn changed(&mut self) -> Result<(), RecvError> {
        poll_fn(|cx| {
            if self.inner.borrow().has_changed() {
                self.inner.mark_unchanged();
                return Poll::Ready(Ok(()));
            }
            if let Err(closed) = self.inner.has_changed() {
                return Poll::Ready(Err(closed));
            }
            self.waiters.add(cx.waker());
            Poll::Pending
        })
        .await
    }

    /// Waits until `f` accepts the value (checking the current one first), marks it
    /// seen and returns it.
    ///
    /// # Errors
    /// If every sender is gone and `f` rejected the last value.
    pub async fn wait_for(
        &mut self,
        mut f: impl FnMut(&T) -> bool,
    ) -> Result<Ref<'_, T>, RecvError> {
        loop {
            if f(&self.inner.borrow_and_update()) {
                break;
            }
            self.changed().await?;
        }
        Ok(self.inner.borrow())
    }

    /// `true` if both receive from the same channel.
    pub fn same_channel(&self, other: &Self) -> bool {
        self.inner.same_channel(&other.inner)
    }
}

impl<T> Clone for Receiver<T> {
    fn clone(&self) -> Self {
        Receiver {
            inner: self.inner.clone(),
            waiters: self.waiters.clone(),
        }
    }
}

impl<T: fmt::Debug> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.fmt(f)
    }
}
