//! [`Runtime`] and [`EnterGuard`].

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::rc::Rc;
use std::time::Duration;

use super::{Handle, MainFuture};
use crate::context::{self, RunState};
use crate::task::JoinHandle;

thread_local! {
    /// The runs of the `Runtime`s built on this thread (a `Runtime` is `Send + Sync`
    /// like tokio's, so it holds the key).
    static RUNTIMES: RefCell<BTreeMap<u64, Rc<RunState>>> = const { RefCell::new(BTreeMap::new()) };
}

/// A simulated current-thread runtime (tokio's `runtime::Runtime`): one simloop loop.
///
/// ```
/// # extern crate simloop_tokio as tokio;
/// use std::time::Duration;
/// let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
/// let took = rt.block_on(async {
///     let start = tokio::time::Instant::now();
///     tokio::time::sleep(Duration::from_secs(3600)).await; // virtual: instant in real time
///     start.elapsed()
/// });
/// assert_eq!(took, Duration::from_secs(3600));
/// ```
pub struct Runtime {
    handle: Handle,
}

impl Runtime {
    pub(crate) fn with(timers: bool, paused: bool) -> Runtime {
        let lp = simloop::EventLoop::new();
        let rs = RunState::new(lp, paused);
        rs.timers.set(timers);
        let id = rs.id;
        RUNTIMES.with(|r| r.borrow_mut().insert(id, rs));
        Runtime {
            handle: Handle::new(id),
        }
    }

    /// A runtime with timers on (tokio's `Runtime::new`, there a multi-thread one; here
    /// the same single simulated thread as every runtime).
    ///
    /// # Errors
    /// Never; the `Result` is tokio's signature.
    pub fn new() -> std::io::Result<Runtime> {
        Ok(Runtime::with(true, false))
    }

    /// Runs `future` to completion on the simulated loop, with the other tasks.
    ///
    /// # Panics
    /// Inside a runtime (tokio's "Cannot start a runtime from within a runtime…"); if
    /// the run fails (a deadlock: every task waits and no timer is pending, which real
    /// tokio would hang on; the step limit), with simloop's explanation; with `future`'s
    /// own panic.
    #[track_caller]
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.handle.block_on(future)
    }

    /// Spawns `future` on this runtime (it runs during the next `block_on`).
    #[track_caller]
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.handle.spawn(future)
    }

    /// Runs `func` as a task (inline on the simulated thread).
    #[track_caller]
    pub fn spawn_blocking<F, R>(&self, func: F) -> JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        self.handle.spawn_blocking(func)
    }

    /// A handle to this runtime.
    pub fn handle(&self) -> &Handle {
        &self.handle
    }

    /// Enters this runtime's context until the guard is dropped (so `tokio::spawn` and
    /// `Handle::current` work outside `block_on`).
    pub fn enter(&self) -> EnterGuard<'_> {
        self.handle.enter()
    }

    /// Drops the runtime (its pending tasks are dropped; nothing waits in real time).
    pub fn shutdown_timeout(self, duration: Duration) {
        let _ = duration;
    }

    /// Drops the runtime.
    pub fn shutdown_background(self) {}
}

impl Drop for Runtime {
    fn drop(&mut self) {
        let id = self.handle.run_id();
        let rs = RUNTIMES
            .try_with(|r| r.borrow_mut().remove(&id))
            .ok()
            .flatten();
        drop(rs);
    }
}

impl fmt::Debug for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Runtime")
            .field("handle", &self.handle)
            .finish()
    }
}

/// Keeps a runtime's context entered (tokio's `runtime::EnterGuard`); `!Send`.
pub struct EnterGuard<'a> {
    _entered: context::Entered,
    _handle: PhantomData<&'a Handle>,
    _not_send: PhantomData<*const ()>,
}

impl<'a> EnterGuard<'a> {
    pub(crate) fn new(entered: context::Entered) -> EnterGuard<'a> {
        EnterGuard {
            _entered: entered,
            _handle: PhantomData,
            _not_send: PhantomData,
        }
    }
}

impl fmt::Debug for EnterGuard<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EnterGuard").finish_non_exhaustive()
    }
}

/// Runs `future` as the main future of `rs`'s loop (see [`Runtime::block_on`]).
#[track_caller]
pub(crate) fn block_on_run<F: Future>(rs: Rc<RunState>, future: F) -> F::Output {
    context::check_can_block();
    let lp = rs.lp.clone();
    let _entered = context::enter(rs);
    match lp.block_on(MainFuture::new(future)) {
        Ok(v) => v,
        Err(e) => panic!("simloop-tokio: the simulated runtime failed: {e:#}"),
    }
}
