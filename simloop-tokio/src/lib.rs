//! # simloop-tokio — tokio's API on simloop's deterministic loop
//!
//! A crate written against tokio switches its tests to simloop with one line at its
//! crate root:
//!
//! ```text
//! #[cfg(test)] extern crate simloop_tokio as tokio;            // unit tests
//! #[cfg(feature = "sim")] extern crate simloop_tokio as tokio; // integration tests
//! ```
//!
//! Every `tokio::…` path, `use tokio::…`, `tokio::select!`, `tokio::join!` and
//! `#[tokio::test]` in that crate then resolves to this mirror, while real tokio stays
//! the dependency everywhere else. Under the alias:
//!
//! - `#[tokio::test]` runs the body as a simloop sweep (`simloop::check`): seeds, the
//!   portfolio of policies, the failure report with its replay line, shrinking;
//! - every task is a simloop task, so which task runs next is the policy's choice;
//!   timers due at the same instant (tokio's millisecond ticks) and `select!`'s branch
//!   order are choices too — all recorded, replayed, explored and shrunk;
//! - time is virtual: an idle run jumps to its next timer; nothing reads the wall clock.
//!
//! ```
//! # extern crate simloop_tokio as tokio;
//! use std::time::Duration;
//! let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
//! rt.block_on(async {
//!     let (tx, mut rx) = tokio::sync::mpsc::channel(8);
//!     let worker = tokio::spawn(async move {
//!         tokio::time::sleep(Duration::from_millis(5)).await;
//!         tx.send("done").await.unwrap();
//!     });
//!     let got = tokio::time::timeout(Duration::from_secs(1), rx.recv()).await;
//!     assert_eq!(got, Ok(Some("done")));
//!     worker.await.unwrap();
//! });
//! ```
//!
//! ## What is mirrored, what is re-exported, what is not simulated
//!
//! - The mirror's own: [`spawn`], [`task`] (`spawn`, `spawn_local`, `spawn_blocking`,
//!   `block_in_place`, `yield_now`, `consume_budget`, `unconstrained`, `id`, `try_id`,
//!   `Id`, `JoinHandle`, `AbortHandle`, `JoinError`, `JoinSet`, `LocalSet`), [`time`]
//!   (all but `Duration`), [`runtime`] (`Builder`, `Runtime`, `Handle`, `EnterGuard`),
//!   [`select!`], `#[tokio::test]`, `#[tokio::main]`.
//! - Re-exported from real tokio unchanged, so types match the rest of the program:
//!   [`sync`] (all but `sync::watch`, whose real version wakes receivers in a random
//!   order: the mirror wraps it), [`io`] (traits and in-memory helpers such as `duplex`), [`join!`],
//!   [`try_join!`], [`pin!`], [`task_local!`] with `task::LocalKey` and
//!   `task::futures`. They need no runtime. (tokio's cooperative budget inside `sync`
//!   types is tokio-internal and does not apply under the mirror.)
//! - Not simulated: [`fs`], [`net`], [`process`], [`signal`]. Their entry points exist
//!   and fail at run time with an error naming the item; the rest is absent.
//!
//! Differences from tokio, on purpose: every runtime is one simulated thread
//! (`flavor = "multi_thread"` included; `block_in_place` panics inside one as on
//! tokio's current-thread runtime); `spawn_blocking` runs its closure inline as one
//! step; time is virtual also without `start_paused` (auto-advance is always on); task
//! ids count from 1 in each run. `NOTES.md` in this package lists
//! tokio's semantics item by item, and `tests/parity_*.rs` run the same tests against
//! both.
//!
//! Real tokio called from inside a simulation (a dependency, or a module compiled
//! without the alias) panics with tokio's "there is no reactor running"; the sweep's
//! report names it as the cause. A simulation started inside a real tokio runtime
//! panics with a message saying so.

#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![warn(rust_2018_idioms, unreachable_pub)]

mod context;
mod coop;
pub mod fifo;
pub mod fs;
pub mod net;
pub mod process;
pub mod runtime;
pub mod signal;
pub mod sync;
pub mod task;
pub mod time;
mod unsupported;

#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;

pub use task::spawn;

/// tokio's `io` module (traits and helpers), re-exported unchanged.
pub use tokio::io;

pub use tokio::{join, pin, task_local, try_join};

/// Waits on several branches, running the first to complete (tokio's `select!`, same
/// syntax: patterns, `, if` preconditions, `else`, `biased;`).
///
/// Which branch is polled first is the policy's choice on every poll with two or more
/// enabled branches — recorded, replayed, explored — and under FIFO a rotation, so a
/// loop over two always-ready branches starves neither (tokio randomises for the same
/// reason). `biased;` polls in written order and makes no choice.
///
/// ```
/// # extern crate simloop_tokio as tokio;
/// use std::time::Duration;
/// let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
/// let which = rt.block_on(async {
///     tokio::select! {
///         _ = tokio::time::sleep(Duration::from_millis(10)) => "slow",
///         _ = tokio::time::sleep(Duration::from_millis(1)) => "fast",
///     }
/// });
/// assert_eq!(which, "fast");
/// ```
pub use simloop_macros::select;

/// Runs an `async fn` test as a simloop sweep (tokio's `#[tokio::test]`, same
/// arguments): see `simloop_macros::tokio_test`.
pub use simloop_macros::tokio_test as test;

/// Runs an `async fn` on a new simulated runtime (tokio's `#[tokio::main]`, same
/// arguments).
pub use simloop_macros::tokio_main as main;
