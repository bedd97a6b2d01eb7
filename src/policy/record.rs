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

/// Most picks a run keeps (a few dozen bytes each): a mutation follows at most this long a
/// prefix, and a long run's memory stays bounded.
pub(crate) const MOST_PICKS: usize = 1 << 20;

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
                let mut log = self.log.borrow_mut();
                if log.len() < MOST_PICKS {
                    log.push((d.step, Pick::of(c)));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::{Candidate, CandidateKind, Fifo};
    use crate::time::instant::Instant;

    #[test]
    fn a_long_run_keeps_only_its_first_picks() {
        let log = Rc::new(RefCell::new(Picks::new()));
        let mut p = RecordPicks::wrap(Box::new(Fifo), log.clone());
        let cands: Vec<Candidate> = (1..3)
            .map(|id| Candidate {
                kind: CandidateKind::Task,
                slot: id,
                id,
            })
            .collect();
        for step in 1..=(MOST_PICKS as u64 + 10) {
            let d = Decision {
                step,
                now: Instant::from_nanos(0),
                candidates: &cands,
            };
            p.choose(&d).unwrap();
        }
        let log = log.borrow();
        assert_eq!(log.len(), MOST_PICKS);
        assert_eq!(log.last().map(|&(s, _)| s), Some(MOST_PICKS as u64));
    }
}
