//! [`TimerQueue`]: pending timers by (deadline, registration order).
//!
//! Deadlines are exact nanoseconds; equal deadlines stay distinct entries, ordered by
//! registration, and all become candidates when they come due. A cancelled timer is not
//! removed at once: it is skipped when it reaches the front ("lazy cancellation"), and the
//! queue is compacted when cancelled entries are more than half of it (and more than
//! [`COMPACT_MIN`]), so cancelling many timers cannot grow memory without bound.
//!
//! # A radix heap (issue 12)
//!
//! The loop's clock never goes back, and a timer is almost always set for now or later,
//! so the queue is a *radix heap* keyed by deadline (Ahuja, Mehlhorn, Orlin and Tarjan,
//! "Faster algorithms for the shortest path problem", 1990) rather than a binary heap:
//!
//! - `last` is the deadline of the entries in `due` (the earliest deadline of the queue
//!   once `due` is refilled). A deadline is read as eleven 6-bit digits. An entry with
//!   deadline `d > last` lives in the bucket (level `L`, slot `s`) where `L` is the
//!   highest digit in which `d` differs from `last` and `s` is that digit of `d`; one equal
//!   to `last` lives in `due`. A push is an xor, a leading-zero count and a `Vec::push`.
//! - Every deadline in a lower level, or a lower slot of the same level, is earlier; so
//!   when `due` is empty, the lowest non-empty bucket (two bit masks) holds the earliest
//!   deadlines: its minimum becomes `last`, and its entries move to lower levels (those
//!   equal to the new `last` into `due`, then sorted by registration). An entry only
//!   moves down, so at most ten times; a span of 2^30 ns (a second) is five levels.
//! - Ties stay exact: `due` holds one deadline, in registration order (a timer pushed at
//!   deadline `last` has the largest sequence number so far, so it goes at the back).
//! - A timer set for before `last` (a `call_at` in the past) goes to `late`, a small
//!   binary heap; every entry there is earlier than every other, so it comes out first.
//!
//! Measured against the `BinaryHeap` it replaces in benches/README.md (W4).

use std::collections::{BinaryHeap, VecDeque};
use std::rc::Rc;

use super::handle::{CancelNotes, HandleCell};

/// Below this many cancelled entries the queue is never compacted (a rebuild costs a pass
/// over it; a few dead entries cost nothing).
const COMPACT_MIN: usize = 100;

/// Bits per digit, digits per deadline, and buckets (one per level and digit value).
const DIGIT: u32 = 6;
const LEVELS: usize = 11;
const SLOTS: usize = 1 << DIGIT;

struct TimerEntry {
    deadline: u64,
    seq: u32,
    cell: Rc<HandleCell>,
}

/// A `late` entry: reversed, so the `BinaryHeap` (a max-heap) gives the earliest
/// (deadline, seq) first.
struct Late(TimerEntry);

impl PartialEq for Late {
    fn eq(&self, other: &Self) -> bool {
        (self.0.deadline, self.0.seq) == (other.0.deadline, other.0.seq)
    }
}
impl Eq for Late {}
impl PartialOrd for Late {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Late {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (other.0.deadline, other.0.seq).cmp(&(self.0.deadline, self.0.seq))
    }
}

/// The (level, bucket index) of deadline `d > last`.
#[inline]
fn bucket_of(d: u64, last: u64) -> (usize, usize) {
    let level = (63 - (d ^ last).leading_zeros()) / DIGIT;
    let slot = (d >> (level * DIGIT)) as usize & (SLOTS - 1);
    (level as usize, level as usize * SLOTS + slot)
}

/// The pending timers of a loop.
pub(crate) struct TimerQueue {
    /// The entries with deadline `last`, in registration order.
    due: VecDeque<TimerEntry>,
    last: u64,
    /// `buckets[level * SLOTS + slot]` (made at the first push, so a loop without
    /// timers stays small to create).
    buckets: Vec<Vec<TimerEntry>>,
    /// Bit `L` set: level `L` has a non-empty bucket.
    levels: u16,
    /// Bit `s` of `slots[L]` set: bucket (`L`, `s`) is not empty.
    slots: [u64; LEVELS],
    /// Entries earlier than `last` (timers set in the past).
    late: BinaryHeap<Late>,
    /// Entries in all of the above.
    len: usize,
    /// Cancelled entries still queued (an upper bound).
    cancelled: usize,
}

impl Default for TimerQueue {
    fn default() -> TimerQueue {
        TimerQueue {
            due: VecDeque::new(),
            last: 0,
            buckets: Vec::new(),
            levels: 0,
            slots: [0; LEVELS],
            late: BinaryHeap::new(),
            len: 0,
            cancelled: 0,
        }
    }
}

impl TimerQueue {
    /// Adds a timer (compacting first if cancelled entries dominate).
    #[inline]
    pub(crate) fn push(&mut self, deadline: u64, seq: u32, cell: Rc<HandleCell>) {
        if self.cancelled > COMPACT_MIN && self.cancelled * 2 > self.len {
            self.compact();
        }
        self.len += 1;
        let e = TimerEntry {
            deadline,
            seq,
            cell,
        };
        if deadline <= self.last {
            if deadline == self.last {
                self.due.push_back(e);
            } else {
                self.late.push(Late(e));
            }
            return;
        }
        if self.buckets.is_empty() {
            self.buckets = (0..LEVELS * SLOTS).map(|_| Vec::new()).collect();
        }
        self.put(e);
    }

    /// Files an entry with deadline `> last` in its bucket.
    #[inline]
    fn put(&mut self, e: TimerEntry) {
        let (level, i) = bucket_of(e.deadline, self.last);
        self.buckets[i].push(e);
        self.levels |= 1 << level;
        self.slots[level] |= 1 << (i % SLOTS);
    }

    /// Drops every cancelled entry.
    #[cold]
    fn compact(&mut self) {
        self.due.retain(|e| !e.cell.is_cancelled());
        self.late.retain(|e| !e.0.cell.is_cancelled());
        let mut len = self.due.len() + self.late.len();
        self.levels = 0;
        self.slots = [0; LEVELS];
        for (i, b) in self.buckets.iter_mut().enumerate() {
            b.retain(|e| !e.cell.is_cancelled());
            if !b.is_empty() {
                self.levels |= 1 << (i / SLOTS);
                self.slots[i / SLOTS] |= 1 << (i % SLOTS);
                len += b.len();
            }
        }
        self.len = len;
        self.cancelled = 0;
    }

    /// Refills `due` from the lowest non-empty bucket when it is empty; `false` if every
    /// bucket is empty too.
    #[inline]
    fn refill(&mut self) -> bool {
        if !self.due.is_empty() {
            return true;
        }
        if self.levels == 0 {
            return false;
        }
        self.redistribute();
        true
    }

    /// Moves the lowest non-empty bucket down around its minimum, the new `last`.
    fn redistribute(&mut self) {
        let level = self.levels.trailing_zeros() as usize;
        let slot = self.slots[level].trailing_zeros() as usize;
        self.slots[level] &= !(1 << slot);
        if self.slots[level] == 0 {
            self.levels &= !(1 << level);
        }
        let i = level * SLOTS + slot;
        let mut b = std::mem::take(&mut self.buckets[i]);
        let last = b
            .iter()
            .map(|e| e.deadline)
            .min()
            .expect("non-empty bucket");
        self.last = last;
        for e in b.drain(..) {
            if e.deadline == last {
                self.due.push_back(e);
            } else {
                debug_assert!(bucket_of(e.deadline, last).0 < level, "entries move down");
                self.put(e);
            }
        }
        // Keep the bucket's allocation for the next entries to come its way.
        self.buckets[i] = b;
        if self.due.len() > 1 {
            self.due.make_contiguous().sort_unstable_by_key(|e| e.seq);
        }
    }

    /// The earliest entry (after `refill`): the top of `late`, else the front of `due`.
    #[inline]
    fn front(&self) -> Option<&TimerEntry> {
        match self.late.peek() {
            Some(l) => Some(&l.0),
            None => self.due.front(),
        }
    }

    /// Removes the earliest entry (after `refill`).
    #[inline]
    fn pop_front(&mut self) -> Option<TimerEntry> {
        let e = match self.late.pop() {
            Some(l) => Some(l.0),
            None => self.due.pop_front(),
        };
        self.len -= usize::from(e.is_some());
        e
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

    /// The earliest deadline of a live timer (dropping cancelled ones from the front).
    #[inline]
    pub(crate) fn next_deadline(&mut self) -> Option<u64> {
        loop {
            if self.late.is_empty() && !self.refill() {
                return None;
            }
            let top = self.front().expect("refilled");
            if !top.cell.is_cancelled() {
                return Some(top.deadline);
            }
            self.pop_front();
            self.cancelled = self.cancelled.saturating_sub(1);
        }
    }

    /// Removes and returns the next live timer due at or before `now`, with its sequence
    /// number, in (deadline, registration) order.
    #[inline]
    pub(crate) fn pop_due(&mut self, now: u64) -> Option<(u32, Rc<HandleCell>)> {
        loop {
            if self.late.is_empty() && !self.refill() {
                return None;
            }
            if self.front().expect("refilled").deadline > now {
                return None;
            }
            let e = self.pop_front().expect("refilled");
            if e.cell.is_cancelled() {
                self.cancelled = self.cancelled.saturating_sub(1);
                continue;
            }
            return Some((e.seq, e.cell));
        }
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Takes every entry out (close), in (deadline, registration) order; the cells are
    /// dropped by the caller.
    pub(crate) fn take_all(&mut self) -> Vec<Rc<HandleCell>> {
        let mut all: Vec<TimerEntry> = Vec::with_capacity(self.len);
        all.extend(std::mem::take(&mut self.late).into_iter().map(|l| l.0));
        all.extend(self.due.drain(..));
        for b in &mut self.buckets {
            all.append(b);
        }
        self.levels = 0;
        self.slots = [0; LEVELS];
        self.len = 0;
        self.cancelled = 0;
        all.sort_unstable_by_key(|e| (e.deadline, e.seq));
        all.into_iter().map(|e| e.cell).collect()
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

    /// The radix heap against a plain sort by (deadline, seq), with ties, timers set in
    /// the past, timers set for now, cancellations and deadlines across the whole range.
    #[test]
    fn the_radix_heap_pops_in_deadline_then_registration_order() {
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for round in 0..50 {
            let mut q = TimerQueue::default();
            let mut model: Vec<(u64, u32)> = Vec::new();
            let mut now = 0u64;
            let mut seq = 0u32;
            let mut cells = Vec::new();
            for _ in 0..400 {
                match next() % 8 {
                    0..=4 => {
                        let r = next();
                        let deadline = match r % 6 {
                            0 => now,
                            1 => now.saturating_sub(r % 50),
                            2 => now.saturating_add(r % 4),
                            3 => now.saturating_add((r >> 8) % 1_000_000_000_000),
                            4 if round % 5 == 0 => u64::MAX - r % 3,
                            _ => now.saturating_add((r >> 8) % 1000),
                        };
                        seq += 1;
                        let c = cell(seq);
                        if next() % 10 == 0 {
                            cancel_handle(&c, &Weak::new());
                            q.note_cancelled(1);
                        } else {
                            model.push((deadline, seq));
                        }
                        q.push(deadline, seq, c.clone());
                        cells.push(c);
                    }
                    _ => {
                        model.sort_unstable();
                        assert_eq!(q.next_deadline(), model.first().map(|m| m.0));
                        if let Some(&(d, _)) = model.first() {
                            now = now.max(d);
                        }
                        let got: Vec<u32> =
                            std::iter::from_fn(|| q.pop_due(now).map(|(s, _)| s)).collect();
                        let due = model.iter().take_while(|m| m.0 <= now).count();
                        let want: Vec<u32> = model.drain(..due).map(|m| m.1).collect();
                        assert_eq!(got, want, "round {round}");
                    }
                }
            }
            model.sort_unstable();
            let rest: Vec<u32> =
                std::iter::from_fn(|| q.pop_due(u64::MAX).map(|(s, _)| s)).collect();
            assert_eq!(rest, model.iter().map(|m| m.1).collect::<Vec<_>>());
            assert_eq!(q.next_deadline(), None);
        }
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
