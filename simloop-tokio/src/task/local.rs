//! [`LocalSet`] and [`spawn_local`]: `!Send` tasks.
//!
//! The simulated runtime is single-threaded, so a local task is an ordinary task that
//! is not required to be `Send`, tagged with its set: while it (or `run_until`'s
//! future) is polled, its set is the current one, so `spawn_local` inside it works.
//! Tasks spawned on a set before any runtime exists wait in the set and start the first
//! time the set is driven (`run_until`, `block_on`, or awaiting it) inside a runtime.
//! Differences from tokio: once started, local tasks are scheduled by the loop like all
//! others — also while their set is not being driven.

use std::cell::Cell;
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::panic::Location;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use super::local_state::{current_set, LocalInner, SetLocal};
use super::raw::{spawn_in, start};
use super::slot::{self, Slot};
use super::JoinHandle;
use crate::context;
use crate::runtime::Runtime;

/// tokio's text for `spawn_local` outside a `LocalSet`.
const NO_LOCAL_SET: &str =
    "`spawn_local` called from outside of a `task::LocalSet` or `runtime::LocalRuntime`";

/// A set of `!Send` tasks (tokio's `task::LocalSet`).
pub struct LocalSet {
    inner: Rc<LocalInner>,
    _not_send: PhantomData<*const ()>,
}

impl LocalSet {
    /// A new, empty set (needs no runtime).
    pub fn new() -> LocalSet {
        LocalSet {
            inner: Rc::new(LocalInner::new()),
            _not_send: PhantomData,
        }
    }

    /// Spawns a `!Send` task on this set. Inside a runtime it starts at once; before
    /// one exists, it starts when the set is first driven.
    #[track_caller]
    pub fn spawn_local<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        match context::current() {
            Some(rs) => spawn_in(&rs, future, "spawn_local", Some(self.inner.clone())),
            None => {
                let id = super::Id::from_u64(next_deferred_id());
                let slot = Slot::<F::Output>::insert(id, 0);
                let key = slot.key;
                let at = Location::caller();
                self.inner.defer(Box::new(move |rs, local| {
                    start(rs, future, "spawn_local", Some(local.clone()), slot, at)
                }));
                JoinHandle::new(key, id)
            }
        }
    }

    /// Runs `future` with this set current (so `spawn_local` works in it), returning
    /// its output; the set's other tasks keep running on the loop.
    pub async fn run_until<F: Future>(&self, future: F) -> F::Output {
        RunUntil {
            local: self.inner.clone(),
            fut: future,
            started: false,
        }
        .await
    }

    /// `rt.block_on(self.run_until(future))`.
    #[track_caller]
    pub fn block_on<F: Future>(&self, rt: &Runtime, future: F) -> F::Output {
        rt.block_on(self.run_until(future))
    }

    /// Makes this set current until the guard is dropped.
    pub fn enter(&self) -> LocalEnterGuard {
        LocalEnterGuard {
            _set: SetLocal::new(Some(self.inner.clone())),
        }
    }
}

/// Ids for tasks spawned on a set before any runtime: far above a run's own ids.
fn next_deferred_id() -> u64 {
    thread_local!(static NEXT: Cell<u64> = const { Cell::new(1 << 40) });
    NEXT.with(|n| {
        let v = n.get() + 1;
        n.set(v);
        v
    })
}

impl Default for LocalSet {
    fn default() -> Self {
        LocalSet::new()
    }
}

impl fmt::Debug for LocalSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalSet").finish_non_exhaustive()
    }
}

/// Awaiting a set runs until every task on it has finished.
impl Future for LocalSet {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.inner.start_pending();
        self.inner.poll_idle(cx)
    }
}

impl Drop for LocalSet {
    fn drop(&mut self) {
        let keys = self.inner.forget();
        for k in keys {
            if let Some(s) = slot::find(k) {
                s.abort();
            }
        }
    }
}

pin_project_lite::pin_project! {
    struct RunUntil<F> {
        local: Rc<LocalInner>,
        #[pin]
        fut: F,
        started: bool,
    }
}

impl<F: Future> Future for RunUntil<F> {
    type Output = F::Output;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        if !*this.started {
            *this.started = true;
            this.local.start_pending();
        }
        let _set = SetLocal::new(Some(this.local.clone()));
        this.fut.poll(cx)
    }
}

/// Keeps a [`LocalSet`] current (tokio's `task::LocalEnterGuard`).
pub struct LocalEnterGuard {
    _set: SetLocal,
}

impl fmt::Debug for LocalEnterGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalEnterGuard").finish_non_exhaustive()
    }
}

/// Spawns a `!Send` task on the current [`LocalSet`].
///
/// # Panics
/// Outside a `LocalSet` (tokio's "`spawn_local` called from outside of a
/// `task::LocalSet` or `runtime::LocalRuntime`").
#[track_caller]
pub fn spawn_local<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    let Some(local) = current_set() else {
        panic!("{NO_LOCAL_SET}");
    };
    let rs = context::expect_current();
    spawn_in(&rs, future, "spawn_local", Some(local))
}

/// Makes a fresh set current for a `flavor = "local"` test body.
pub(crate) fn local_runtime_set() -> SetLocal {
    SetLocal::new(Some(LocalSet::new().inner.clone()))
}
