//! [`RecordPicks`]: a policy wrapper that keeps what was chosen at each real decision,
//! for a sweep that learns: a later run may follow a prefix of these picks.

use std::cell::RefCell;
use std::rc::Rc;

use super::guided::Pick;
use super::wrappers::{Observed, Observer};
use super::{Decision, Policy};
use crate::error::LoopError;

/// One real decision of a run: the step it chose for and the item it picked.
pub(crate) type Picks = Vec<(u64, Pick)>;

/// Appends each real decision's pick (an [`Observer`]: wrapped with
/// [`Observed`](super::wrappers::Observed), which forwards everything else).
pub(crate) struct RecordPicks {
    log: Rc<RefCell<Picks>>,
}

impl RecordPicks {
    /// `inner`, recording its picks into `log`.
    pub(crate) fn wrap(inner: Box<dyn Policy>, log: Rc<RefCell<Picks>>) -> Observed<RecordPicks> {
        Observed::new(inner, RecordPicks { log })
    }
}

impl Observer for RecordPicks {
    fn observe(&mut self, _: &Decision<'_>) -> Result<(), LoopError> {
        Ok(())
    }
    fn every_step(&self) -> bool {
        false
    }
    fn chose(&mut self, d: &Decision<'_>, i: usize) {
        if d.candidates.len() >= 2 {
            if let Some(c) = d.candidates.get(i) {
                self.log.borrow_mut().push((d.step, Pick::of(c)));
            }
        }
    }
}
