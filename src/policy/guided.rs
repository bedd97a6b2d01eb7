//! [`Guided`]: follows a plan of decisions, else a default order — the policy behind
//! bounded exhaustive search and shrinking.
//!
//! A run is a sequence of *decisions*, in the order they happen: every step (which
//! runnable item runs), every [`choose`](crate::choose) call (which alternative), and —
//! when shrinking a run that recorded them — every [`buggify`](crate::buggify) call
//! (fault or not). A plan gives some of them; the rest take the default: continue the
//! task that just ran if it can, else the loop's first item; alternative 0; no fault.
//!
//! What a departure from the default costs (the search's budget and the shrinker's first
//! measure): preempting a task that could go on — including the task a timer just woke,
//! which continues the timer's work; reordering due timers, or running a timer before
//! the loop's first item; taking an alternative other than 0; a fault. Without the timer
//! rules, programs with many equal deadlines explode. Other free choices — which of
//! several woken tasks runs first when nothing could go on — cost nothing.

use std::cell::RefCell;
use std::fmt;
use std::rc::Rc;

use super::{describe, Candidate, CandidateKind, Decision, Policy};
use crate::error::LoopError;

/// One decision's outcome, as a plan names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Pick {
    /// A runnable item ran at a step.
    Item { kind: CandidateKind, id: u32 },
    /// A `choose(n)` took this alternative.
    Alt(u32),
    /// A `buggify()` returned this.
    Fault(bool),
}

impl Pick {
    pub(crate) fn of(c: &Candidate) -> Pick {
        Pick::Item {
            kind: c.kind,
            id: c.id,
        }
    }

    /// The task this pick ran, if it ran a task.
    pub(crate) fn task(self) -> Option<u32> {
        match self {
            Pick::Item {
                kind: CandidateKind::Task,
                id,
            } => Some(id),
            _ => None,
        }
    }

    fn find(self, cands: &[Candidate]) -> Option<usize> {
        match self {
            Pick::Item { kind, id } => cands.iter().position(|c| c.kind == kind && c.id == id),
            _ => None,
        }
    }

    fn is_timer(self) -> bool {
        matches!(
            self,
            Pick::Item {
                kind: CandidateKind::Timer,
                ..
            }
        )
    }
}

impl fmt::Display for Pick {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Pick::Item { kind, id } => f.write_str(&describe(&[Candidate { kind, slot: 0, id }])),
            Pick::Alt(k) => write!(f, "alternative {k} of a choose"),
            Pick::Fault(v) => write!(f, "buggify returning {v}"),
        }
    }
}

/// What happened at one decision of a guided run.
#[derive(Clone, Debug)]
pub(crate) struct StepRecord {
    /// The step during which it happened (a choice or fault: the step that was running).
    pub(crate) step: u64,
    /// The options, in the loop's order (runnable items; alternatives; false, true).
    pub(crate) cands: Vec<Pick>,
    /// The index chosen.
    pub(crate) chosen: usize,
    /// The index the default would choose.
    pub(crate) default: usize,
    /// A step whose previous item is runnable again (so choosing another preempts it).
    pub(crate) could_continue: bool,
}

impl StepRecord {
    pub(crate) fn picked(&self) -> Pick {
        self.cands[self.chosen]
    }

    /// A fault decision (not explored by the search; the shrinker may flip it).
    pub(crate) fn is_fault(&self) -> bool {
        matches!(self.cands.first(), Some(Pick::Fault(_)))
    }

    /// What taking option `j` instead of the default costs: 1 or 0 (see the module docs).
    pub(crate) fn cost_of(&self, j: usize) -> u32 {
        if j == self.default {
            return 0;
        }
        let costly = match self.cands[j] {
            Pick::Item { .. } => {
                self.could_continue
                    || self.cands[j].is_timer()
                    || self.cands[self.default].is_timer()
            }
            Pick::Alt(_) | Pick::Fault(_) => true,
        };
        u32::from(costly)
    }

    /// A costly departure other than a fault: a preemption, a timer reordering, a choice.
    pub(crate) fn is_preemption(&self) -> bool {
        !self.is_fault() && self.cost_of(self.chosen) > 0
    }
}

/// A policy that follows a plan of decisions and falls back to the default where the
/// plan has no entry or has ended. Strict plans fail with a nondeterminism error when the
/// planned item is not runnable; lenient ones (the shrinker's) take the default.
pub(crate) struct Guided {
    name: &'static str,
    plan: Rc<Vec<Option<Pick>>>,
    strict: bool,
    /// `buggify()` calls are decisions (shrinking a run that recorded them); otherwise
    /// `buggify()` is `false` and unrecorded, as under any unseeded policy.
    faults: bool,
    /// Recorded `rng()` draws to give back, in order (shrinking), then the run's stream.
    randoms: Rc<Vec<u64>>,
    next_random: usize,
    /// The next decision's index in the plan.
    next: usize,
    /// The step being run (for choices and faults made during it).
    step: u64,
    prev: Option<Pick>,
    /// The candidates left at the previous step (its options minus the one that ran), to
    /// see what that step woke.
    left: Vec<Pick>,
    /// A planned choice or fault that did not fit (strict plans fail at the next step).
    mismatch: Option<(Pick, String)>,
    record: Rc<RefCell<Vec<StepRecord>>>,
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
            faults: false,
            randoms: Rc::new(Vec::new()),
            next_random: 0,
            next: 0,
            step: 0,
            prev: None,
            left: Vec::new(),
            mismatch: None,
            record: record.clone(),
        };
        (g, record)
    }

    /// Treats `buggify()` calls as decisions, and gives back these `rng()` draws first: to
    /// re-run a recorded run's faults and data.
    pub(crate) fn with_recorded(mut self, faults: bool, randoms: Rc<Vec<u64>>) -> Guided {
        self.faults = faults;
        self.randoms = randoms;
        self
    }

    /// The planned pick for the next decision, moving on.
    fn planned(&mut self) -> Option<Pick> {
        let p = self.plan.get(self.next).copied().flatten();
        self.next += 1;
        p
    }

    /// A choice or fault decision among `cands` (default index 0).
    fn decide_value(&mut self, cands: Vec<Pick>) -> usize {
        let chosen = match self.planned() {
            None => 0,
            Some(p) => match cands.iter().position(|&c| c == p) {
                Some(i) => i,
                None => {
                    if self.mismatch.is_none() {
                        let what = cands.iter().map(ToString::to_string).collect::<Vec<_>>();
                        self.mismatch = Some((p, what.join(", ")));
                    }
                    0
                }
            },
        };
        self.record.borrow_mut().push(StepRecord {
            step: self.step,
            cands,
            chosen,
            default: 0,
            could_continue: false,
        });
        chosen
    }
}

impl Policy for Guided {
    fn name(&self) -> String {
        self.name.to_owned()
    }

    fn every_step(&self) -> bool {
        true
    }

    fn user_choice(&mut self, n: u32) -> Option<u32> {
        Some(self.decide_value((0..n).map(Pick::Alt).collect()) as u32)
    }

    fn buggify(&mut self, _site: u32, _hit: u32) -> Option<bool> {
        if !self.faults {
            return None;
        }
        Some(self.decide_value(vec![Pick::Fault(false), Pick::Fault(true)]) == 1)
    }

    fn random_u64(&mut self) -> Option<u64> {
        let v = self.randoms.get(self.next_random).copied()?;
        self.next_random += 1;
        Some(v)
    }

    fn choose(&mut self, d: &Decision<'_>) -> Result<usize, LoopError> {
        self.step = d.step;
        if self.strict {
            if let Some((p, options)) = self.mismatch.take() {
                return Err(LoopError::Nondeterminism {
                    step: d.step,
                    first: p.to_string(),
                    second: options,
                });
            }
        }
        let cont = match self.prev {
            Some(
                p @ Pick::Item {
                    kind: CandidateKind::Task,
                    ..
                },
            ) => p.find(d.candidates),
            // A timer hands over to the task it woke: that task continues it.
            Some(Pick::Item {
                kind: CandidateKind::Timer,
                ..
            }) => {
                let mut woken = d.candidates.iter().enumerate().filter(|(_, c)| {
                    c.kind == CandidateKind::Task && !self.left.contains(&Pick::of(c))
                });
                match (woken.next(), woken.next()) {
                    (Some((i, _)), None) => Some(i),
                    _ => None,
                }
            }
            _ => None,
        };
        let default = cont.unwrap_or(0);
        let chosen = match self.planned() {
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
        self.left.clear();
        self.left.extend(
            cands
                .iter()
                .enumerate()
                .filter(|&(i, _)| i != chosen)
                .map(|(_, &c)| c),
        );
        self.record.borrow_mut().push(StepRecord {
            step: d.step,
            cands,
            chosen,
            default,
            could_continue: cont.is_some(),
        });
        Ok(chosen)
    }
}

/// How many costly departures (preemptions, timer reorderings, choices) a run made.
pub(crate) fn preemptions(record: &[StepRecord]) -> u32 {
    record.iter().filter(|r| r.is_preemption()).count() as u32
}

/// How many faults a run had.
pub(crate) fn faults(record: &[StepRecord]) -> u32 {
    record
        .iter()
        .filter(|r| r.is_fault() && r.chosen != r.default)
        .count() as u32
}
