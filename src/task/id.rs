//! [`TaskId`] and [`TaskInfo`]: a task's identity, a plain value any layer may name.

use std::fmt;

/// A task's identity within its loop: a sequence number starting at 1, never reused
/// within a loop, so traces name tasks the same way on every run.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct TaskId(u32);

impl TaskId {
    pub(crate) const fn from_raw(n: u32) -> TaskId {
        TaskId(n)
    }

    /// The sequence number (1 for the first task of a loop).
    pub const fn as_u32(self) -> u32 {
        self.0
    }
}

impl fmt::Display for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// The identity of a task, as returned by [`current_task`](crate::current_task).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TaskInfo {
    pub(crate) id: TaskId,
    pub(crate) name: String,
}

impl TaskInfo {
    /// The task's id.
    pub fn id(&self) -> TaskId {
        self.id
    }

    /// The task's name (`Task-N` unless it was named).
    pub fn name(&self) -> &str {
        &self.name
    }
}
