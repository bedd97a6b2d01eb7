//! [`Id`], [`id`] and [`try_id`]: which task is running.

use std::cell::Cell;
use std::fmt;
use std::num::NonZeroU64;

/// A task's id (tokio's `task::Id`). Under the mirror ids count from 1 in each run, so a
/// run replays with the same ids; compare them with [`JoinHandle::id`](super::JoinHandle::id),
/// never with literals (tokio's are process-wide).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Id(NonZeroU64);

impl Id {
    pub(crate) fn from_u64(n: u64) -> Id {
        Id(NonZeroU64::new(n).expect("task ids start at 1"))
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl fmt::Debug for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Id({})", self.0)
    }
}

thread_local! {
    static CURRENT: Cell<Option<Id>> = const { Cell::new(None) };
}

/// Sets the running task's id for the guard's life.
pub(crate) struct SetCurrent(Option<Id>);

impl SetCurrent {
    pub(crate) fn new(id: Option<Id>) -> SetCurrent {
        SetCurrent(CURRENT.with(|c| c.replace(id)))
    }
}

impl Drop for SetCurrent {
    fn drop(&mut self) {
        let old = self.0;
        let _ = CURRENT.try_with(|c| c.set(old));
    }
}

/// The id of the running task.
///
/// # Panics
/// Outside a task (a `block_on` future, hence a `#[tokio::test]` body, is not a task):
/// "Can't get a task id when not inside a task".
#[track_caller]
pub fn id() -> Id {
    try_id().expect("Can't get a task id when not inside a task")
}

/// The id of the running task, or `None` outside a task.
pub fn try_id() -> Option<Id> {
    CURRENT.with(Cell::get)
}
