//! Policies wrapped by a check that cuts across runs: the determinism double-run
//! ([`Watch`]) and probe runs that count real decisions ([`CountDecisions`]).
//!
//! A wrapper implements the small [`Observer`] trait — what it adds — and [`Observed`]
//! forwards every [`Policy`] method once, here, so a new wrapper cannot forget one.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use super::{describe, Candidate, Decision, Policy};
use crate::error::LoopError;

/// What a wrapper adds to the policy it wraps.
pub(crate) trait Observer {
    /// Sees each decision before the wrapped policy does; an error ends the run.
    fn observe(&mut self, decision: &Decision<'_>) -> Result<(), LoopError>;
    /// Whether it must see steps with a single candidate too.
    fn every_step(&self) -> bool;
    /// Sees what the wrapped policy chose (`index` into the decision's candidates).
    fn chose(&mut self, decision: &Decision<'_>, index: usize) {
        let _ = (decision, index);
    }
}

/// A policy with an [`Observer`] in front of it.
pub(crate) struct Observed<O> {
    inner: Box<dyn Policy>,
    observer: O,
}

impl<O: Observer> Observed<O> {
    pub(crate) fn new(inner: Box<dyn Policy>, observer: O) -> Observed<O> {
        Observed { inner, observer }
    }
}

impl<O: Observer> Policy for Observed<O> {
    fn name(&self) -> String {
        self.inner.name()
    }
    fn seed(&self) -> Option<u64> {
        self.inner.seed()
    }
    fn every_step(&self) -> bool {
        self.observer.every_step() || self.inner.every_step()
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
        self.observer.observe(d)?;
        // Only a real choice reaches the wrapped policy, as without the wrapper.
        let i = if d.candidates.len() == 1 && !self.inner.every_step() {
            0
        } else {
            self.inner.choose(d)?
        };
        self.observer.chose(d, i);
        Ok(i)
    }
}

/// The two runs of a determinism check: the first records every step's runnable set, the
/// second compares against it and fails with [`LoopError::Nondeterminism`] at the first
/// difference.
pub(crate) enum Watch {
    /// First run: append each step's candidates.
    Record(Rc<RefCell<CandidateLog>>),
    /// Second run: compare each step's candidates with the first run's.
    Check(Rc<CandidateLog>),
}

/// Every step's runnable set, in one flat vector (a `Vec` per step cost about 50 bytes a
/// step, ~0.5 GB for a run at the default step limit; this costs 20 for a lone candidate).
#[derive(Default)]
pub(crate) struct CandidateLog {
    cands: Vec<Candidate>,
    /// `ends[i]`: where step `i + 1`'s candidates end in `cands`.
    ends: Vec<usize>,
}

impl CandidateLog {
    fn push(&mut self, step: &[Candidate]) {
        self.cands.extend_from_slice(step);
        self.ends.push(self.cands.len());
    }

    /// The candidates of step `i + 1`.
    fn get(&self, i: usize) -> Option<&[Candidate]> {
        let end = *self.ends.get(i)?;
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        Some(&self.cands[start..end])
    }
}

impl Observer for Watch {
    fn every_step(&self) -> bool {
        true
    }
    fn observe(&mut self, d: &Decision<'_>) -> Result<(), LoopError> {
        match self {
            Watch::Record(log) => log.borrow_mut().push(d.candidates),
            Watch::Check(expected) => {
                let i = usize::try_from(d.step - 1).unwrap_or(usize::MAX);
                let exp = expected.get(i);
                let same = exp.is_some_and(|e| {
                    e.len() == d.candidates.len()
                        && e.iter()
                            .zip(d.candidates)
                            .all(|(a, b)| a.kind == b.kind && a.id == b.id)
                });
                if !same {
                    return Err(LoopError::Nondeterminism {
                        step: d.step,
                        first: exp.map_or_else(|| "the run had ended".to_owned(), describe),
                        second: describe(d.candidates),
                    });
                }
            }
        }
        Ok(())
    }
}

/// Counts the real decisions (two or more candidates) of a probe run of a sweep.
pub(crate) struct CountDecisions(pub(crate) Rc<Cell<u64>>);

impl Observer for CountDecisions {
    fn every_step(&self) -> bool {
        false
    }
    fn observe(&mut self, d: &Decision<'_>) -> Result<(), LoopError> {
        if d.candidates.len() >= 2 {
            self.0.set(self.0.get() + 1);
        }
        Ok(())
    }
}
