//! tokio's `sync` module: re-exported from real tokio unchanged (runtime-free, FIFO
//! fair, deterministic), except [`watch`], whose receivers real tokio spreads over
//! eight wait lists chosen by a thread-local random number — so the order in which a
//! `send` wakes them would change from run to run. The mirror's `watch` wraps tokio's
//! and wakes receivers in the order they started waiting.

pub use tokio::sync::*;

pub mod watch;
