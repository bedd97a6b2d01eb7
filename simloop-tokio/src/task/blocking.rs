//! [`spawn_blocking`] and [`block_in_place`].

use super::JoinHandle;
use crate::context;

/// Runs `f` as a task (tokio's `task::spawn_blocking`).
///
/// Under the mirror `f` runs inline on the simulated thread, as one step of its task:
/// determinism over parallelism. Virtual time cannot move while it runs (tokio's paused
/// clock also holds still during a blocking task); a panic in `f` is the task's
/// `JoinError`. A blocking call that waits for another task (a channel's
/// `blocking_recv`, say) would wait for ever here: such code needs real threads.
///
/// # Panics
/// Outside a runtime (tokio's "there is no reactor running…").
#[track_caller]
pub fn spawn_blocking<F, R>(f: F) -> JoinHandle<R>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    let rs = context::expect_current();
    super::raw::spawn_in(&rs, async move { f() }, "spawn_blocking", None)
}

/// Runs `f` in place (tokio's `task::block_in_place`).
///
/// # Panics
/// Inside a simulated runtime, always — every simulated runtime is current-thread, even
/// for `flavor = "multi_thread"` tests (tokio's text: "can call blocking only when
/// running on the multi-threaded runtime"). Outside any runtime it just calls `f`, as
/// tokio does.
#[track_caller]
pub fn block_in_place<F, R>(f: F) -> R
where
    F: FnOnce() -> R,
{
    if context::current().is_some() {
        panic!("can call blocking only when running on the multi-threaded runtime");
    }
    f()
}
