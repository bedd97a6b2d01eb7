//! tokio's `runtime` module for current-thread use: a [`Runtime`] is one simloop loop
//! (FIFO, or `SIMLOOP_SEED`'s seed under the random policy), driven by `block_on`.

mod builder;
mod handle;
mod main_future;
#[allow(clippy::module_inception)]
mod runtime;

pub use builder::Builder;
pub use handle::{Handle, TryCurrentError};
pub(crate) use main_future::MainFuture;
pub use runtime::{EnterGuard, Runtime};
