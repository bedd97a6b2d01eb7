//! [`JoinHandle`] and [`AbortHandle`]: tokio's semantics — dropping a `JoinHandle`
//! detaches the task (it keeps running); `abort` cancels a task wherever it is (before
//! its first poll it is never polled; a suspended task's future is dropped at its next
//! step, with no virtual time passing); aborting a finished task changes nothing.

use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Mutex;
use std::task::{Context, Poll};

use super::slot::{self, AnySlot, Slot, GONE};
use super::{Id, JoinError};
use crate::coop;

/// An owned permission to await a task's output (tokio's `task::JoinHandle`).
///
/// It holds the task's key, not a reference, so it is `Send + Sync` like tokio's; it is
/// only usable on the thread running the simulation, during its run.
pub struct JoinHandle<T> {
    key: u64,
    id: Id,
    /// `Send` if `T: Send`, and `Sync` if `T: Send`, as tokio's handle.
    _output: PhantomData<Mutex<T>>,
}

impl<T> Unpin for JoinHandle<T> {}

impl<T: 'static> JoinHandle<T> {
    pub(crate) fn new(key: u64, id: Id) -> JoinHandle<T> {
        JoinHandle {
            key,
            id,
            _output: PhantomData,
        }
    }

    /// Aborts the task (see the module docs).
    pub fn abort(&self) {
        if let Some(s) = slot::find(self.key) {
            s.abort();
        }
    }

    /// `true` once the task has finished (returned, panicked or been cancelled).
    pub fn is_finished(&self) -> bool {
        slot::find(self.key).is_none_or(|s| s.is_finished())
    }

    /// A handle that can abort the task but not await it.
    pub fn abort_handle(&self) -> AbortHandle {
        AbortHandle {
            key: self.key,
            id: self.id,
        }
    }

    /// The task's id.
    pub fn id(&self) -> Id {
        self.id
    }

    pub(crate) fn slot(&self) -> Rc<Slot<T>> {
        Slot::<T>::find(self.key).unwrap_or_else(|| panic!("{GONE}"))
    }

    /// Finished at which point in the run (0: not finished).
    pub(crate) fn finish_stamp(&self) -> u64 {
        slot::find(self.key).map_or(0, |s| if s.is_finished() { s.stamp() } else { 0 })
    }
}

impl<T: 'static> Future for JoinHandle<T> {
    type Output = Result<T, JoinError>;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if coop::poll_proceed(cx).is_pending() {
            return Poll::Pending;
        }
        let slot = self.slot();
        match slot.take() {
            Some(out) => Poll::Ready(out),
            None => {
                assert!(
                    !slot.is_finished(),
                    "JoinHandle polled after its output was taken"
                );
                slot.set_waker(cx.waker());
                coop::refund();
                Poll::Pending
            }
        }
    }
}

impl<T> JoinHandle<T> {
    /// The key of the task's slot.
    pub(crate) fn key_untyped(&self) -> u64 {
        self.key
    }
}

impl<T> Drop for JoinHandle<T> {
    fn drop(&mut self) {
        if let Some(s) = slot::find(self.key) {
            s.detach();
        }
    }
}

impl<T> fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinHandle").field("id", &self.id).finish()
    }
}

/// Aborts a task without awaiting it (tokio's `task::AbortHandle`); `Clone + Send +
/// Sync`.
#[derive(Clone)]
pub struct AbortHandle {
    key: u64,
    id: Id,
}

impl AbortHandle {
    /// Aborts the task (see [`JoinHandle::abort`]).
    pub fn abort(&self) {
        if let Some(s) = slot::find(self.key) {
            s.abort();
        }
    }

    /// `true` once the task has finished.
    pub fn is_finished(&self) -> bool {
        slot::find(self.key).is_none_or(|s| s.is_finished())
    }

    /// The task's id.
    pub fn id(&self) -> Id {
        self.id
    }
}

impl fmt::Debug for AbortHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AbortHandle").field("id", &self.id).finish()
    }
}
