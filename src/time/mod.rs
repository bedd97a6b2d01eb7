//! Virtual time: [`Instant`] (a plain value, layer 0), and what user code awaits inside a
//! run (layer 3): [`sleep`], [`yield_now`], [`wait_for`]/[`timeout`].
//!
//! The clock of a loop starts at [`Instant::ZERO`] and only moves when nothing is
//! runnable: it then jumps straight to the earliest pending timer. Nothing here reads
//! the wall clock, so an hour of `sleep` costs microseconds and is the same on every
//! machine. Resolution is one nanosecond; distinct deadlines stay distinct.

pub(crate) mod instant;
pub(crate) mod sleep;
pub(crate) mod timeout;

pub use instant::Instant;
pub use sleep::{sleep, sleep_until, yield_now, Sleep, YieldNow};
pub use timeout::{timeout, timeout_at, wait_for, Elapsed, Timeout};
