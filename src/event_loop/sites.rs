//! The await-site log a loop keeps when a sweep learns from coverage: for each task
//! step, which task ran, where it suspended (the `#[track_caller]` site of the simloop
//! awaitable that returned `Pending`, see `task/await_site.rs`) or that it ended.
//!
//! Off unless asked for ([`EventLoop::record_sites`]); then one push per task step. It
//! never feeds back into the run: the trace and every decision are the same with it on.

use std::panic::Location;

use super::EventLoop;

/// One task step, as the site log has it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct TaskStep {
    /// The step's number (from 1).
    pub(crate) step: u64,
    /// The task's id.
    pub(crate) task: u32,
    /// Where it suspended, if at a simloop awaitable that notes its site.
    pub(crate) site: Option<&'static Location<'static>>,
    /// The step ended the task (finished, panicked or cancelled).
    pub(crate) done: bool,
}

impl EventLoop {
    /// Starts keeping the site log (see the module docs).
    pub(crate) fn record_sites(&self) {
        self.inner.core().sites = Some(Box::default());
    }

    /// The site log so far, and stops keeping it.
    pub(crate) fn take_sites(&self) -> Vec<TaskStep> {
        self.inner.core().sites.take().map(|b| *b).unwrap_or_default()
    }
}
