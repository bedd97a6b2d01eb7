//! tokio's `task` module on the simulated loop: every task is a simloop task, so task
//! order is the policy's choice — recorded, replayed, explored and shrunk.

mod blocking;
mod error;
mod id;
mod join_handle;
mod join_set;
pub(crate) mod local;
mod local_state;
mod raw;
pub(crate) mod slot;
mod yield_now;

use std::future::Future;

pub use blocking::{block_in_place, spawn_blocking};
pub use error::JoinError;
pub(crate) use id::SetCurrent;
pub use id::{id, try_id, Id};
pub use join_handle::{AbortHandle, JoinHandle};
pub use join_set::JoinSet;
pub use local::{spawn_local, LocalEnterGuard, LocalSet};
pub(crate) use raw::spawn_in;
pub use yield_now::{consume_budget, unconstrained, yield_now, Unconstrained};

/// Runtime-free, re-exported from real tokio unchanged (so types match the user's
/// other crates): task-local storage.
pub use tokio::task::{futures, LocalKey};

/// Spawns `future` as a task on the current runtime (tokio's `spawn`).
///
/// The task is named after the call site (`spawn@src/raft.rs:120`) in traces and
/// reports. It first runs when the spawner yields, in the order the policy picks.
///
/// ```
/// # extern crate simloop_tokio as tokio;
/// let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
/// let v = rt.block_on(async {
///     let h = tokio::spawn(async { 6 * 7 });
///     h.await.unwrap()
/// });
/// assert_eq!(v, 42);
/// ```
///
/// # Panics
/// Outside a runtime: tokio's "there is no reactor running, must be called from the
/// context of a Tokio 1.x runtime".
#[track_caller]
pub fn spawn<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let rs = crate::context::expect_current();
    spawn_in(&rs, future, "spawn", None)
}
