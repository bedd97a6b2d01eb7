//! tokio's `process`: not simulated (see the crate docs).

use std::ffi::OsStr;
use std::io;

use crate::unsupported::unsupported;

/// Not simulated: [`spawn`](Command::spawn), [`output`](Command::output) and
/// [`status`](Command::status) fail with an error naming them.
#[derive(Debug)]
pub struct Command(());

/// Never made: `Command::spawn` fails.
#[derive(Debug)]
pub struct Child(());

impl Command {
    /// A command (nothing is run).
    pub fn new(program: impl AsRef<OsStr>) -> Command {
        let _ = program;
        Command(())
    }

    /// Accepted; nothing is run.
    pub fn arg(&mut self, arg: impl AsRef<OsStr>) -> &mut Command {
        let _ = arg;
        self
    }

    /// Not simulated.
    ///
    /// # Errors
    /// Always.
    pub fn spawn(&mut self) -> io::Result<Child> {
        Err(unsupported("tokio::process::Command::spawn"))
    }

    /// Not simulated.
    ///
    /// # Errors
    /// Always.
    pub async fn output(&mut self) -> io::Result<std::process::Output> {
        Err(unsupported("tokio::process::Command::output"))
    }

    /// Not simulated.
    ///
    /// # Errors
    /// Always.
    pub async fn status(&mut self) -> io::Result<std::process::ExitStatus> {
        Err(unsupported("tokio::process::Command::status"))
    }
}
