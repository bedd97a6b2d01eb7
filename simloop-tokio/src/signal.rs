//! tokio's `signal`: not simulated (see the crate docs).

use std::io;

use crate::unsupported::unsupported;

/// Not simulated: returns an error naming `tokio::signal::ctrl_c` (a simulated
/// shutdown signal is a channel the test sends on, e.g. `sync::watch`).
///
/// # Errors
/// Always.
pub async fn ctrl_c() -> io::Result<()> {
    Err(unsupported("tokio::signal::ctrl_c"))
}
