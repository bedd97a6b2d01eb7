//! [`pause`], [`resume`] and [`advance`].
//!
//! The simulated clock is always virtual: whether paused or not, an idle run jumps to
//! its next timer, and nothing reads the wall clock. `pause`/`resume` keep tokio's flag
//! (and its panics) so code that checks them behaves the same; `advance` moves the
//! clock at once, and every timer due by then fires at the new time, in the policy's
//! order.

use std::time::Duration;

use crate::context;

const OUTSIDE: &str = "time cannot be frozen from outside the Tokio runtime";

/// Freezes the clock (tokio's `time::pause`).
///
/// # Panics
/// If already frozen ("time is already frozen"), or outside a runtime.
#[track_caller]
pub fn pause() {
    let rs = context::current().unwrap_or_else(|| panic!("{OUTSIDE}"));
    if rs.paused.replace(true) {
        panic!("time is already frozen");
    }
}

/// Unfreezes the clock (tokio's `time::resume`). Simulated time stays virtual.
///
/// # Panics
/// If not frozen ("time is not frozen"), or outside a runtime.
#[track_caller]
pub fn resume() {
    let rs = context::current().unwrap_or_else(|| panic!("{OUTSIDE}"));
    if !rs.paused.replace(false) {
        panic!("time is not frozen");
    }
}

/// Moves the frozen clock forward by `duration` at once, then yields (tokio's
/// `time::advance`). Timers due by then fire at the new time, in the policy's order.
///
/// # Panics
/// If the clock is not frozen ("time is not frozen"), or outside a runtime.
pub async fn advance(duration: Duration) {
    {
        let rs = context::current().unwrap_or_else(|| panic!("{OUTSIDE}"));
        if !rs.paused.get() {
            panic!("time is not frozen");
        }
        rs.lp.advance(duration);
    }
    crate::task::yield_now().await;
}
