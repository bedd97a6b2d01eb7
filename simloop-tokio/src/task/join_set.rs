//! [`JoinSet`]: tasks awaited in the order they finish; dropping the set aborts them.

use std::fmt;
use std::future::{poll_fn, Future};
use std::task::{Context, Poll};

use super::{AbortHandle, Id, JoinError, JoinHandle, LocalSet};
use crate::coop;
use crate::runtime::Handle;

/// A set of tasks returned in the order they finish (tokio's `task::JoinSet`). Tasks
/// that finish at the same step come back in the order the loop finished them — the
/// policy's order, so a sweep tries them all.
pub struct JoinSet<T> {
    handles: Vec<JoinHandle<T>>,
}

impl<T> JoinSet<T> {
    /// An empty set (needs no runtime).
    pub fn new() -> JoinSet<T> {
        JoinSet {
            handles: Vec::new(),
        }
    }

    /// How many tasks the set holds (finished ones not yet joined included).
    pub fn len(&self) -> usize {
        self.handles.len()
    }

    /// `true` if the set holds no task.
    pub fn is_empty(&self) -> bool {
        self.handles.is_empty()
    }
}

impl<T: 'static> JoinSet<T> {
    fn insert(&mut self, h: JoinHandle<T>) -> AbortHandle {
        let a = h.abort_handle();
        self.handles.push(h);
        a
    }

    /// Spawns `task` on the current runtime into the set.
    ///
    /// # Panics
    /// Outside a runtime (tokio's "there is no reactor running…").
    #[track_caller]
    pub fn spawn<F>(&mut self, task: F) -> AbortHandle
    where
        F: Future<Output = T> + Send + 'static,
        T: Send,
    {
        self.insert(super::spawn(task))
    }

    /// Spawns `task` on `handle`'s runtime into the set.
    #[track_caller]
    pub fn spawn_on<F>(&mut self, task: F, handle: &Handle) -> AbortHandle
    where
        F: Future<Output = T> + Send + 'static,
        T: Send,
    {
        self.insert(handle.spawn(task))
    }

    /// Spawns a `!Send` task on the current `LocalSet` into the set.
    ///
    /// # Panics
    /// Outside a `LocalSet` (tokio's text).
    #[track_caller]
    pub fn spawn_local<F>(&mut self, task: F) -> AbortHandle
    where
        F: Future<Output = T> + 'static,
    {
        self.insert(super::spawn_local(task))
    }

    /// Spawns a `!Send` task on `local_set` into the set.
    #[track_caller]
    pub fn spawn_local_on<F>(&mut self, task: F, local_set: &LocalSet) -> AbortHandle
    where
        F: Future<Output = T> + 'static,
    {
        self.insert(local_set.spawn_local(task))
    }

    /// Runs `f` as a task of the set (inline on the simulated thread: see
    /// [`spawn_blocking`](super::spawn_blocking)).
    #[track_caller]
    pub fn spawn_blocking<F>(&mut self, f: F) -> AbortHandle
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send,
    {
        self.insert(super::spawn_blocking(f))
    }

    /// The finished task that finished first, if any.
    fn take_finished(&mut self) -> Option<(Id, Result<T, JoinError>)> {
        let (i, _) = self
            .handles
            .iter()
            .enumerate()
            .map(|(i, h)| (i, h.finish_stamp()))
            .filter(|(_, s)| *s != 0)
            .min_by_key(|(_, s)| *s)?;
        let h = self.handles.swap_remove(i);
        let id = h.id();
        let out = h.slot().take().expect("a finished task has its output");
        Some((id, out))
    }

    /// Waits for the next task to finish; `None` when the set is empty.
    pub async fn join_next(&mut self) -> Option<Result<T, JoinError>> {
        poll_fn(|cx| self.poll_join_next(cx)).await
    }

    /// [`join_next`](JoinSet::join_next) with the task's id.
    pub async fn join_next_with_id(&mut self) -> Option<Result<(Id, T), JoinError>> {
        poll_fn(|cx| self.poll_join_next_with_id(cx)).await
    }

    /// The next finished task, without waiting.
    pub fn try_join_next(&mut self) -> Option<Result<T, JoinError>> {
        self.take_finished().map(|(_, r)| r)
    }

    /// [`try_join_next`](JoinSet::try_join_next) with the task's id.
    pub fn try_join_next_with_id(&mut self) -> Option<Result<(Id, T), JoinError>> {
        self.take_finished().map(|(id, r)| r.map(|v| (id, v)))
    }

    /// Polls for the next finished task.
    pub fn poll_join_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<T, JoinError>>> {
        self.poll_join_next_with_id(cx)
            .map(|o| o.map(|r| r.map(|(_, v)| v)))
    }

    /// Polls for the next finished task, with its id.
    pub fn poll_join_next_with_id(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<(Id, T), JoinError>>> {
        if self.handles.is_empty() {
            return Poll::Ready(None);
        }
        if coop::poll_proceed(cx).is_pending() {
            return Poll::Pending;
        }
        if let Some((id, r)) = self.take_finished() {
            return Poll::Ready(Some(r.map(|v| (id, v))));
        }
        for h in &self.handles {
            use super::slot::AnySlot;
            h.slot().set_waker(cx.waker());
        }
        coop::refund();
        Poll::Pending
    }

    /// Aborts every task and waits until all have finished.
    pub async fn shutdown(&mut self) {
        self.abort_all();
        while self.join_next().await.is_some() {}
    }

    /// Waits for every task and returns their outputs in the order they finished.
    ///
    /// # Panics
    /// If a task panicked (its panic is resumed) or was aborted; the other tasks are
    /// aborted when the set is dropped.
    pub async fn join_all(mut self) -> Vec<T> {
        let mut out = Vec::with_capacity(self.len());
        while let Some(r) = self.join_next().await {
            match r {
                Ok(v) => out.push(v),
                Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
                Err(e) => panic!("{e}"),
            }
        }
        out
    }

    /// Aborts every task; they stay in the set until joined.
    pub fn abort_all(&mut self) {
        for h in &self.handles {
            h.abort();
        }
    }

    /// Removes every task from the set without aborting them.
    pub fn detach_all(&mut self) {
        self.handles.clear();
    }
}

impl<T> Drop for JoinSet<T> {
    fn drop(&mut self) {
        for h in &self.handles {
            if let Some(s) = super::slot::find(h.key_untyped()) {
                s.abort();
            }
        }
    }
}

impl<T> Default for JoinSet<T> {
    fn default() -> Self {
        JoinSet::new()
    }
}

impl<T> fmt::Debug for JoinSet<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinSet").field("len", &self.len()).finish()
    }
}

impl<T, F> FromIterator<F> for JoinSet<T>
where
    F: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    #[track_caller]
    fn from_iter<I: IntoIterator<Item = F>>(iter: I) -> Self {
        let mut set = JoinSet::new();
        for f in iter {
            set.spawn(f);
        }
        set
    }
}
