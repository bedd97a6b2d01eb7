//! [`Guided`]: follows a plan of picks, one per step, else a default order — the policy
//! behind bounded exhaustive search and shrinking.

use std::cell::RefCell;
use std::fmt;
use std::rc::Rc;

use super::{describe, Candidate, CandidateKind, Decision, Policy};
use crate::error::LoopError;

/// One runnable item, as a schedule names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Pick {
    pub(crate) kind: CandidateKind,
    pub(crate) id: u32,
}

impl Pick {
    pub(crate) fn of(c: &Candidate) -> Pick {
        Pick {
            kind: c.kind,
            id: c.id,
        }
    }

    fn find(self, cands: &[Candidate]) -> Option<usize> {
        cands
            .iter()
            .position(|c| c.kind == self.kind && c.id == self.id)
    }
}

impl fmt::Display for Pick {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&describe(&[Candidate {
            kind: self.kind,
            slot: 0,
            id: self.id,
        }]))
    }
}

/// What happened at one step of a guided run.
#[derive(Clone, Debug)]
pub(crate) struct StepRecord {
    /// The runnable items, in the loop's order.
    pub(crate) cands: Vec<Pick>,
    /// The index chosen.
    pub(crate) chosen: usize,
    /// The index the default would choose (the previous task if runnable, else 0).
    pub(crate) default: usize,
    /// The item that ran at the step before, if it is runnable again (so choosing
    /// anything else is a preemption).
    pub(crate) could_continue: bool,
}

impl StepRecord {
    pub(crate) fn picked(&self) -> Pick {
        self.cands[self.chosen]
    }

    pub(crate) fn is_preemption(&self) -> bool {
        self.could_continue && self.chosen != self.default
    }
}

/// A policy that follows a plan of picks, one per step, and falls back to the default
/// (continue the task that just ran if it can, else the loop's index 0) where the plan
/// has no entry or has ended. Strict plans fail with a nondeterminism error when the
/// planned item is not runnable; lenient ones (the shrinker's) take the default.
pub(crate) struct Guided {
    pub(crate) name: &'static str,
    pub(crate) plan: Rc<Vec<Option<Pick>>>,
    pub(crate) strict: bool,
    pub(crate) prev: Option<Pick>,
    pub(crate) record: Rc<RefCell<Vec<StepRecord>>>,
}

impl Guided {
    pub(crate) fn new(
        name: &'static str,
        plan: Rc<Vec<Option<Pick>>>,
        strict: bool,
    ) -> (Guided, Rc<RefCell<Vec<StepRecord>>>) {
        let record = Rc::new(RefCell::new(Vec::new()));
        let g = Guided {
            name,
            plan,
            strict,
            prev: None,
            record: record.clone(),
        };
        (g, record)
    }
}

impl Policy for Guided {
    fn name(&self) -> String {
        self.name.to_owned()
    }

    fn every_step(&self) -> bool {
        true
    }

    fn choose(&mut self, d: &Decision<'_>) -> Result<usize, LoopError> {
        let cont = match self.prev {
            Some(p) if p.kind == CandidateKind::Task => p.find(d.candidates),
            _ => None,
        };
        let default = cont.unwrap_or(0);
        let planned = usize::try_from(d.step - 1)
            .ok()
            .and_then(|i| self.plan.get(i).copied().flatten());
        let chosen = match planned {
            None => default,
            Some(p) => match p.find(d.candidates) {
                Some(i) => i,
                None if self.strict => {
                    return Err(LoopError::Nondeterminism {
                        step: d.step,
                        first: p.to_string(),
                        second: describe(d.candidates),
                    })
                }
                None => default,
            },
        };
        let cands: Vec<Pick> = d.candidates.iter().map(Pick::of).collect();
        self.prev = Some(cands[chosen]);
        self.record.borrow_mut().push(StepRecord {
            cands,
            chosen,
            default,
            could_continue: cont.is_some(),
        });
        Ok(chosen)
    }
}

/// How many preemptions a recorded run made.
pub(crate) fn preemptions(record: &[StepRecord]) -> u32 {
    record.iter().filter(|r| r.is_preemption()).count() as u32
}
