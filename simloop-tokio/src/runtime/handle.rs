//! [`Handle`] and [`TryCurrentError`].

use std::fmt;
use std::future::Future;

use super::EnterGuard;
use crate::context::{self, CONTEXT_MISSING};
use crate::task::JoinHandle;

/// A handle to a simulated runtime (tokio's `runtime::Handle`); `Clone + Send + Sync`,
/// usable on the thread that runs the simulation while the runtime exists.
#[derive(Clone)]
pub struct Handle {
    run: u64,
}

impl Handle {
    pub(crate) fn new(run: u64) -> Handle {
        Handle { run }
    }

    pub(crate) fn run_id(&self) -> u64 {
        self.run
    }

    #[track_caller]
    fn run(&self) -> std::rc::Rc<context::RunState> {
        context::find(self.run).unwrap_or_else(|| {
            panic!("simloop-tokio: this runtime handle was used after its runtime was dropped, or on another thread than the one running the simulation")
        })
    }

    /// The handle of the current runtime.
    ///
    /// # Panics
    /// Outside a runtime (tokio's "there is no reactor running…").
    #[track_caller]
    pub fn current() -> Handle {
        Handle::new(context::expect_current().id)
    }

    /// The handle of the current runtime, if any.
    ///
    /// # Errors
    /// Outside a runtime.
    pub fn try_current() -> Result<Handle, TryCurrentError> {
        context::current()
            .map(|rs| Handle::new(rs.id))
            .ok_or(TryCurrentError(()))
    }

    /// Spawns `future` on this runtime.
    #[track_caller]
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        crate::task::spawn_in(&self.run(), future, "spawn", None)
    }

    /// Runs `func` as a task on this runtime (inline on the simulated thread).
    #[track_caller]
    pub fn spawn_blocking<F, R>(&self, func: F) -> JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        crate::task::spawn_in(&self.run(), async move { func() }, "spawn_blocking", None)
    }

    /// Runs `future` to completion on this runtime (see
    /// [`Runtime::block_on`](super::Runtime::block_on)).
    #[track_caller]
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        super::runtime::block_on_run(self.run(), future)
    }

    /// Enters this runtime's context until the guard is dropped.
    #[track_caller]
    pub fn enter(&self) -> EnterGuard<'_> {
        EnterGuard::new(context::enter(self.run()))
    }
}

impl fmt::Debug for Handle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Handle").field("run", &self.run).finish()
    }
}

/// No runtime is current (tokio's `runtime::TryCurrentError`).
pub struct TryCurrentError(());

impl TryCurrentError {
    /// `true`: the only reason under the mirror.
    pub fn is_missing_context(&self) -> bool {
        true
    }

    /// `false` under the mirror.
    pub fn is_thread_local_destroyed(&self) -> bool {
        false
    }
}

impl fmt::Display for TryCurrentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(CONTEXT_MISSING)
    }
}

impl fmt::Debug for TryCurrentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TryCurrentError(MissingContext)")
    }
}

impl std::error::Error for TryCurrentError {}
