//! [`ReadySet`]: the runnable items, in asyncio's order, and the current batch.
//!
//! asyncio runs its ready queue in *iterations*: at an iteration boundary it snapshots
//! how many items are ready, runs exactly that many, and only then looks at timers and
//! the stop flag again; items queued meanwhile wait for the next iteration. The set keeps
//! that snapshot as `batch_left`.
//!
//! Invariants (checked with `debug_assert!`): `head <= items.len()`, and `batch_left`
//! never exceeds the number of ready items.

use crate::policy::{Candidate, CandidateKind};

/// After this many items have been taken from the front, the consumed prefix is
/// compacted away (once it is also at least half of the vector), so a long run does not
/// keep its whole history; below it, taking from the front is a plain index bump.
const COMPACT_AFTER: usize = 1024;

/// The ready items: `items[head..]`, in asyncio's order until a policy takes something
/// other than the first.
#[derive(Debug, Default)]
pub(crate) struct ReadySet {
    items: Vec<Candidate>,
    head: usize,
    batch_left: usize,
}

impl ReadySet {
    pub(crate) fn with_capacity(n: usize) -> ReadySet {
        ReadySet {
            items: Vec::with_capacity(n),
            head: 0,
            batch_left: 0,
        }
    }

    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.items.len() - self.head
    }

    /// The candidates a policy chooses among.
    #[inline]
    pub(crate) fn candidates(&self) -> &[Candidate] {
        &self.items[self.head..]
    }

    /// Queues an item at the tail.
    #[inline]
    pub(crate) fn push(&mut self, c: Candidate) {
        self.items.push(c);
    }

    /// `true` when the current iteration has run its snapshot: the loop is at a boundary.
    #[inline]
    pub(crate) fn at_boundary(&self) -> bool {
        self.batch_left == 0
    }

    /// Starts an iteration: snapshots the number of ready items. `false` if none is ready.
    #[inline]
    pub(crate) fn start_batch(&mut self) -> bool {
        self.batch_left = self.len();
        self.batch_left > 0
    }

    /// Ends the current iteration early (the loop left its run).
    #[inline]
    pub(crate) fn end_batch(&mut self) {
        self.batch_left = 0;
    }

    /// Removes candidate `i` (relative to the head) and counts it against the batch.
    /// Index 0 keeps FIFO order exactly; any other index moves the newest item into its
    /// place (an O(1) removal, still deterministic).
    #[inline]
    pub(crate) fn take(&mut self, i: usize) -> Candidate {
        debug_assert!(i < self.len() && self.batch_left > 0);
        self.batch_left -= 1;
        if i != 0 {
            return self.items.swap_remove(self.head + i);
        }
        let c = self.items[self.head];
        self.head += 1;
        if self.head == self.items.len() {
            self.items.clear();
            self.head = 0;
        } else if self.head >= COMPACT_AFTER && self.head * 2 >= self.items.len() {
            self.items.drain(..self.head);
            self.head = 0;
        }
        c
    }

    /// Drops the callbacks and timers `is_cancelled` says were cancelled, returning their
    /// handle slots. A cancelled item inside the current batch still counts against the
    /// batch snapshot (asyncio pops and skips it), so later items are not pulled into this
    /// iteration.
    pub(crate) fn purge(&mut self, mut is_cancelled: impl FnMut(u32) -> bool) -> Vec<u32> {
        let batch = self.batch_left;
        let mut freed = Vec::new();
        let mut kept = Vec::with_capacity(self.len());
        let mut purged_in_batch = 0;
        for (pos, &c) in self.items[self.head..].iter().enumerate() {
            let handle = matches!(c.kind, CandidateKind::Callback | CandidateKind::Timer);
            if handle && is_cancelled(c.slot) {
                freed.push(c.slot);
                if pos < batch {
                    purged_in_batch += 1;
                }
            } else {
                kept.push(c);
            }
        }
        self.items = kept;
        self.head = 0;
        self.batch_left = (batch - purged_in_batch).min(self.items.len());
        freed
    }

    /// Empties the set (close).
    pub(crate) fn clear(&mut self) {
        self.items.clear();
        self.head = 0;
        self.batch_left = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(id: u32) -> Candidate {
        Candidate {
            kind: CandidateKind::Task,
            slot: id,
            id,
        }
    }

    fn cb(slot: u32) -> Candidate {
        Candidate {
            kind: CandidateKind::Callback,
            slot,
            id: 100 + slot,
        }
    }

    #[test]
    fn a_batch_is_the_snapshot_at_its_start() {
        let mut r = ReadySet::with_capacity(4);
        assert!(r.at_boundary() && !r.start_batch());
        r.push(task(1));
        r.push(task(2));
        assert!(r.start_batch());
        assert_eq!(r.take(0), task(1));
        r.push(task(3)); // queued during the batch: next iteration
        assert!(!r.at_boundary());
        assert_eq!(r.take(0), task(2));
        assert!(r.at_boundary());
        assert!(r.start_batch());
        assert_eq!(r.candidates(), &[task(3)]);
    }

    #[test]
    fn taking_another_index_moves_the_newest_into_its_place() {
        let mut r = ReadySet::default();
        for i in 1..=4 {
            r.push(task(i));
        }
        r.start_batch();
        assert_eq!(r.take(1), task(2));
        assert_eq!(r.candidates(), &[task(1), task(4), task(3)]);
    }

    #[test]
    fn purged_items_still_count_against_the_batch() {
        let mut r = ReadySet::default();
        r.push(cb(1));
        r.push(task(2));
        r.start_batch();
        r.push(task(3)); // next iteration
        let freed = r.purge(|slot| slot == 1);
        assert_eq!(freed, vec![1]);
        assert_eq!(r.candidates(), &[task(2), task(3)]);
        assert_eq!(r.take(0), task(2));
        assert!(r.at_boundary(), "task 3 is not pulled into this iteration");
    }

    #[test]
    fn the_consumed_prefix_is_compacted() {
        let mut r = ReadySet::default();
        for i in 0..3000 {
            r.push(task(i));
        }
        r.start_batch();
        for i in 0..2000 {
            assert_eq!(r.take(0), task(i));
            assert!(r.head <= COMPACT_AFTER * 2);
        }
        assert_eq!(r.len(), 1000);
    }
}
