//! [`TimerQueue`]: pending timers by (deadline, registration order).
//!
//! Deadlines are exact nanoseconds; equal deadlines stay distinct entries, ordered by
//! registration, and all become candidates when they come due. A cancelled timer is not
//! removed at once: it is skipped when it reaches the top ("lazy cancellation"), and the
//! heap is compacted when cancelled entries are more than half of it (and more than
//! [`COMPACT_MIN`]), so cancelling many timers cannot grow memory without bound.

use std::collections::BinaryHeap;
use std::rc::Rc;

use super::handle::{CancelNotes, HandleCell};

/// Below this many cancelled entries the heap is never compacted (a rebuild costs a pass
/// over the heap; a few dead entries cost nothing).
const COMPACT_MIN: usize = 100;

struct TimerEntry {
    deadline: u64,
    seq: u32,
    cell: Rc<HandleCell>,
}

impl PartialEq for TimerEntry {
    fn eq(&self, other: &Self) -> bool {
        (self.deadline, self.seq) == (other.deadline, other.seq)
    }
}
impl Eq for TimerEntry {}
impl PartialOrd for TimerEntry {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for TimerEntry {
    // Reversed: BinaryHeap is a max-heap, we want the earliest (deadline, seq) on top.
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (other.deadline, other.seq).cmp(&(self.deadline, self.seq))
    }
}

/// The pending timers of a loop.
#[derive(Default)]
pub(crate) struct TimerQueue {
    heap: BinaryHeap<TimerEntry>,
    /// Cancelled entries still in the heap (an upper bound).
    cancelled: usize,
}

impl TimerQueue {
    /// Adds a timer (compacting first if cancelled entries dominate).
    #[inline]
    pub(crate) fn push(&mut self, deadline: u64, seq: u32, cell: Rc<HandleCell>) {
        if self.cancelled > COMPACT_MIN && self.cancelled * 2 > self.heap.len() {
            self.heap.retain(|e| !e.cell.is_cancelled());
            self.cancelled = 0;
        }
        self.heap.push(TimerEntry {
            deadline,
            seq,
            cell,
        });
    }

    /// Takes the count of timers cancelled since the last call from `notes` (a no-op when
    /// there are none, the common case).
    #[inline]
    pub(crate) fn fold_cancels(&mut self, notes: &CancelNotes) {
        let n = notes.timer_cancels.get();
        if n > 0 {
            notes.timer_cancels.set(0);
            self.cancelled += n;
        }
    }

    /// `n` timers in the queue were cancelled (counted by the loop outside its borrow of
    /// the queue, and folded in before the queue is used).
    #[cfg(test)]
    pub(crate) fn note_cancelled(&mut self, n: usize) {
        self.cancelled += n;
    }

    /// The earliest deadline of a live timer (dropping cancelled ones from the top).
    #[inline]
    pub(crate) fn next_deadline(&mut self) -> Option<u64> {
        while let Some(top) = self.heap.peek() {
            if !top.cell.is_cancelled() {
                return Some(top.deadline);
            }
            self.heap.pop();
            self.cancelled = self.cancelled.saturating_sub(1);
        }
        None
    }

    /// Removes and returns the next live timer due at or before `now`, with its sequence
    /// number, in (deadline, registration) order.
    #[inline]
    pub(crate) fn pop_due(&mut self, now: u64) -> Option<(u32, Rc<HandleCell>)> {
        while let Some(top) = self.heap.peek() {
            if top.deadline > now {
                return None;
            }
            let e = self.heap.pop().expect("peeked");
            if e.cell.is_cancelled() {
                self.cancelled = self.cancelled.saturating_sub(1);
                continue;
            }
            return Some((e.seq, e.cell));
        }
        None
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.heap.len()
    }

    /// Takes every entry out (close); the cells are dropped by the caller.
    pub(crate) fn take_all(&mut self) -> Vec<Rc<HandleCell>> {
        self.cancelled = 0;
        std::mem::take(&mut self.heap)
            .into_vec()
            .into_iter()
            .map(|e| e.cell)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event_loop::handle::{cancel_handle, Action};
    use std::rc::Weak;

    fn cell(seq: u32) -> Rc<HandleCell> {
        Rc::new(HandleCell::new(seq, None, Action::Call(Box::new(|| {}))))
    }

    #[test]
    fn due_timers_come_out_by_deadline_then_registration() {
        let mut q = TimerQueue::default();
        q.push(5, 1, cell(1));
        q.push(3, 2, cell(2));
        q.push(5, 3, cell(3));
        assert_eq!(q.next_deadline(), Some(3));
        assert!(q.pop_due(2).is_none());
        let order: Vec<u32> = std::iter::from_fn(|| q.pop_due(5).map(|(s, _)| s)).collect();
        assert_eq!(order, [2, 1, 3]);
        assert_eq!(q.next_deadline(), None);
    }

    #[test]
    fn cancelled_timers_are_skipped_and_compacted() {
        let mut q = TimerQueue::default();
        let cells: Vec<_> = (0..300).map(cell).collect();
        for (i, c) in cells.iter().enumerate() {
            q.push(i as u64, i as u32, c.clone());
        }
        for c in &cells[..250] {
            cancel_handle(c, &Weak::new());
            q.note_cancelled(1);
        }
        assert_eq!(q.next_deadline(), Some(250));
        q.push(1000, 1000, cell(1000)); // compacts: 249 cancelled of 299
        assert!(q.len() <= 52, "{}", q.len());
        assert_eq!(q.pop_due(250).map(|(s, _)| s), Some(250));
    }
}
