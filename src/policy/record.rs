//! [`RecordPicks`]: a policy wrapper that keeps what was chosen at each real decision,
//! for a sweep that learns: a later run may follow a prefix of these picks.

use std::cell::RefCell;
use std::rc::Rc;

use super::guided::Pick;
use super::{Decision, Policy};
use crate::error::LoopError;

/// One real decision of a run: the step it chose for and the item it picked.
pub(crate) type Picks = Vec<(u64, Pick)>;

/// Forwards everything to the wrapped policy and appends each real decision's pick.
pub(crate) struct RecordPicks {
    inner: Box<dyn Policy>,
    log: Rc<RefCell<Picks>>,
}

impl RecordPicks {
    pub(crate) fn new(inner: Box<dyn Policy>, log: Rc<RefCell<Picks>>) -> RecordPicks {
        RecordPicks { inner, log }
    }
}

impl Policy for RecordPicks {
    fn name(&self) -> String {
        self.inner.name()
    }
    fn seed(&self) -> Option<u64> {
        self.inner.seed()
    }
    fn every_step(&self) -> bool {
        self.inner.every_step()
    }
    fn buggify(&mut self, site: u32, hit: u32) -> Option<bool> {
        self.inner.buggify(site, hit)
    }
    fn user_choice(&mut self, n: u32) -> Option<u32> {
        self.inner.user_choice(n)
    }
    fn random_u64(&mut self) -> Option<u64> {
        self.inner.random_u64()
    }
    fn choose(&mut self, d: &Decision<'_>) -> Result<usize, LoopError> {
        let i = self.inner.choose(d)?;
        if d.candidates.len() >= 2 {
            if let Some(c) = d.candidates.get(i) {
                self.log.borrow_mut().push((d.step, Pick::of(c)));
            }
        }
        Ok(i)
    }
}
