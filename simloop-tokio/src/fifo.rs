//! The mirror with a `#[test]` that runs once under FIFO — tokio's own current-thread
//! order — instead of sweeping.
//!
//! For tests that pin tokio's exact order (this package's parity suite is one): a sweep
//! would rightly report that such a test depends on the schedule. Use it with
//! `use simloop_tokio::fifo as tokio;` at the crate root of a test crate.
//!
//! ```text
//! use simloop_tokio::fifo as tokio;
//!
//! #[tokio::test(start_paused = true)]
//! async fn runs_in_fifo_order() { /* … */ }
//! ```

pub use crate::{
    fs, io, join, main, net, pin, process, runtime, select, signal, spawn, sync, task, task_local,
    time, try_join,
};

/// `#[tokio::test]`, run once under FIFO (see the [module docs](self)).
pub use simloop_macros::tokio_test_fifo as test;
