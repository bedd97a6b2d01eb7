//! [`HandleTable`]: the callbacks and timers in the ready set, by slot.
//!
//! A ready [`Candidate`](crate::policy::Candidate) names a callback or timer by its slot
//! here (small and reused), and by its sequence number for the trace.

use std::rc::Rc;

use super::handle::HandleCell;

#[derive(Default)]
pub(crate) struct HandleTable {
    cells: Vec<Option<Rc<HandleCell>>>,
    free: Vec<u32>,
}

impl HandleTable {
    #[inline]
    pub(crate) fn alloc(&mut self, cell: Rc<HandleCell>) -> u32 {
        match self.free.pop() {
            Some(i) => {
                self.cells[i as usize] = Some(cell);
                i
            }
            None => {
                self.cells.push(Some(cell));
                (self.cells.len() - 1) as u32
            }
        }
    }

    #[inline]
    pub(crate) fn get(&self, slot: u32) -> Option<&Rc<HandleCell>> {
        self.cells.get(slot as usize)?.as_ref()
    }

    /// Frees `slot`, returning its cell.
    #[inline]
    pub(crate) fn free(&mut self, slot: u32) -> Option<Rc<HandleCell>> {
        let c = self.cells[slot as usize].take();
        self.free.push(slot);
        c
    }

    /// `true` if `slot` holds nothing or a cancelled handle.
    #[inline]
    pub(crate) fn is_cancelled(&self, slot: u32) -> bool {
        self.get(slot).is_none_or(|h| h.is_cancelled())
    }

    /// Takes every cell out (close).
    pub(crate) fn take_all(&mut self) -> Vec<Option<Rc<HandleCell>>> {
        self.free.clear();
        std::mem::take(&mut self.cells)
    }
}
