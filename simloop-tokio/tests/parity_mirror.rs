//! The tokio parity suite (issue 11) against **the mirror**, each test run once under
//! FIFO (`simloop_tokio::fifo`: tokio's current-thread order), so the exact orders the
//! tests pin are comparable. The tests are in `parity/cases.rs`, shared with
//! `parity_real.rs` (real tokio).

// The mirror's `Handle` holds a number, so dropping it (as a test does, to show that
// `Handle::current()` panics outside a runtime) drops nothing.
#![allow(clippy::drop_non_drop)]

use simloop_tokio::fifo as tokio;

include!("parity/cases.rs");
