//! tokio's `time` module on simloop's virtual clock: tokio's millisecond granularity,
//! with timers due at the same instant fired in the policy's order.

mod clock;
pub mod error;
mod instant;
mod interval;
pub(crate) mod sleep;
mod timeout;

pub use clock::{advance, pause, resume};
pub use instant::Instant;
pub use interval::{interval, interval_at, Interval, MissedTickBehavior};
pub use sleep::{sleep, sleep_until, Sleep};
pub use std::time::Duration;
pub use timeout::{timeout, timeout_at, Timeout};
