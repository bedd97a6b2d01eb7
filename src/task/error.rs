//! [`TaskError`] and [`PanicPayload`]: why awaiting a task gave no value.

use std::any::Any;
use std::fmt;

/// The payload of a panic caught inside a task.
pub struct PanicPayload(Box<dyn Any + Send + 'static>);

impl PanicPayload {
    pub(crate) fn new(p: Box<dyn Any + Send + 'static>) -> PanicPayload {
        PanicPayload(p)
    }

    /// The panic message, if the panic was raised with a string (as `panic!` does).
    pub fn message(&self) -> Option<&str> {
        panic_message(&*self.0)
    }

    /// The original payload, e.g. to re-raise it with `std::panic::resume_unwind`.
    pub fn into_inner(self) -> Box<dyn Any + Send + 'static> {
        self.0
    }
}

pub(crate) fn panic_message(p: &(dyn Any + Send)) -> Option<&str> {
    if let Some(s) = p.downcast_ref::<&'static str>() {
        Some(s)
    } else if let Some(s) = p.downcast_ref::<String>() {
        Some(s.as_str())
    } else {
        None
    }
}

pub(crate) fn panic_text(p: &(dyn Any + Send)) -> String {
    panic_message(p)
        .map(str::to_owned)
        .unwrap_or_else(|| "<non-string panic payload>".to_owned())
}

impl fmt::Debug for PanicPayload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.message() {
            Some(m) => write!(f, "PanicPayload({m:?})"),
            None => f.write_str("PanicPayload(<non-string payload>)"),
        }
    }
}

/// Why awaiting a [`Task`](crate::Task) gave no value.
#[derive(Debug)]
pub enum TaskError {
    /// The task was cancelled: its future was dropped before it completed.
    Cancelled,
    /// The task's future panicked; the panic was caught and is carried here.
    Panicked(PanicPayload),
}

impl TaskError {
    /// `true` for [`TaskError::Cancelled`].
    pub fn is_cancelled(&self) -> bool {
        matches!(self, TaskError::Cancelled)
    }

    /// `true` for [`TaskError::Panicked`].
    pub fn is_panic(&self) -> bool {
        matches!(self, TaskError::Panicked(_))
    }

    /// Re-raises a caught panic in the caller; returns `self` unchanged for a cancellation.
    pub fn resume_panic(self) -> TaskError {
        match self {
            TaskError::Panicked(p) => std::panic::resume_unwind(p.into_inner()),
            other => other,
        }
    }
}

impl fmt::Display for TaskError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TaskError::Cancelled => f.write_str("task was cancelled"),
            TaskError::Panicked(p) => match p.message() {
                Some(m) => write!(f, "task panicked: {m}"),
                None => f.write_str("task panicked"),
            },
        }
    }
}

impl std::error::Error for TaskError {}
