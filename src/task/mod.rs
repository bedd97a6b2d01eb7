//! Tasks: identity ([`id`]), errors ([`error`]), the state machine ([`state`]), the
//! type-erased part the loop drives ([`header`]), the handle user code awaits
//! ([`handle`]) and the message that is the one way into a loop ([`link`]).
//!
//! Dropping a [`Task`] handle *detaches* the task: it keeps running. If a detached task
//! panics, nobody can observe the panic, so the `run_until_complete` that was running it
//! returns [`LoopError::TaskPanicked`](crate::LoopError::TaskPanicked) naming the task.

pub(crate) mod await_site;
pub(crate) mod error;
pub(crate) mod handle;
pub(crate) mod header;
pub(crate) mod id;
pub(crate) mod link;
pub(crate) mod state;

pub use error::{PanicPayload, TaskError};
pub use handle::Task;
pub use id::{TaskId, TaskInfo};
