//! `fs`, `net`, `process`, `signal`: not simulated in this wave.
//!
//! They exist so code that names them compiles under the alias, and fail at run time
//! with an error naming the item and the reason, rather than silently using the real
//! operating system (which would make a run depend on the machine). Only the entry
//! points are here; everything else of these modules is absent (a compile error).

use std::io;

/// The error every entry point returns.
pub(crate) fn unsupported(item: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::Unsupported,
        format!(
            "{item} is not simulated by simloop-tokio: the mirror simulates tasks, time and \
             sync; real files, sockets, processes and signals would make a run depend on the \
             machine. Put the I/O behind a trait and give the simulation an in-memory version \
             (e.g. tokio::io::duplex for a socket)"
        ),
    )
}
