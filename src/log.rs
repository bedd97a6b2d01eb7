//! `tracing` logs stamped with virtual time and the current task.
//!
//! Inside a simulation, wall-clock timestamps are noise: two runs of the same seed log at
//! different real times but identical virtual times. [`VirtualTime`] is a
//! `tracing-subscriber` timer that writes the running loop's clock and the task being
//! polled (`0.004000000s Task-2`), and [`capture`] runs a closure under a scoped subscriber
//! (never a global one) that collects every line. Seed sweeps use it to put the failing
//! seed's log into the failure report.
//!
//! ```
//! use std::time::Duration;
//! let (_, log) = simloop::log::capture(|| {
//!     simloop::run(async {
//!         simloop::sleep(Duration::from_millis(3)).await;
//!         tracing::info!("woke up");
//!     })
//! });
//! assert_eq!(log, "0.003000000s Task-1  INFO woke up\n");
//! ```

use std::fmt;
use std::io;
use std::sync::{Arc, Mutex};

use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::FormatTime;
use tracing_subscriber::fmt::MakeWriter;

use crate::event_loop::registry;

/// A `tracing-subscriber` timer writing the running loop's virtual time and current task
/// (or `-` outside a running loop). Never reads the wall clock.
///
/// ```
/// let subscriber = tracing_subscriber::fmt()
///     .with_timer(simloop::log::VirtualTime)
///     .with_ansi(false)
///     .with_target(false)
///     .finish();
/// tracing::subscriber::with_default(subscriber, || {
///     simloop::run(async { tracing::info!("hello from virtual time") });
/// });
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct VirtualTime;

impl FormatTime for VirtualTime {
    fn format_time(&self, w: &mut Writer<'_>) -> fmt::Result {
        match registry::running_loop() {
            Some(lp) => {
                write!(w, "{}", lp.time())?;
                match registry::current_task() {
                    Some(t) => write!(w, " {}", t.name()),
                    None => w.write_str(" -"),
                }
            }
            None => w.write_str("-"),
        }
    }
}

/// An in-memory log sink.
#[derive(Clone, Debug, Default)]
pub(crate) struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Buffer {
    pub(crate) fn take_string(&self) -> String {
        let bytes = match self.0.lock() {
            Ok(mut b) => std::mem::take(&mut *b),
            Err(_) => Vec::new(),
        };
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

impl io::Write for Buffer {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if let Ok(mut b) = self.0.lock() {
            b.extend_from_slice(data);
        }
        Ok(data.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Buffer {
    type Writer = Buffer;
    fn make_writer(&'a self) -> Buffer {
        self.clone()
    }
}

/// Runs `f` with a scoped subscriber that formats every `tracing` event (level `TRACE`
/// and up) in virtual time, and returns `f`'s result with the collected log text.
pub fn capture<R>(f: impl FnOnce() -> R) -> (R, String) {
    let buf = Buffer::default();
    let r = with_buffer(&buf, f);
    (r, buf.take_string())
}

pub(crate) fn with_buffer<R>(buf: &Buffer, f: impl FnOnce() -> R) -> R {
    let subscriber = tracing_subscriber::fmt()
        .with_timer(VirtualTime)
        .with_ansi(false)
        .with_target(false)
        .with_max_level(tracing::Level::TRACE)
        .with_writer(buf.clone())
        .finish();
    tracing::subscriber::with_default(subscriber, f)
}
