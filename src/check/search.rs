//! The search engine behind bounded exhaustive search and shrinking: runs schedules
//! depth-first over the loop's decision points, fewest preemptions first, each exactly
//! once.

use std::fmt;
use std::rc::Rc;

use super::body::Body;
use super::builder::Builder;
use super::report::Outcome;
use crate::policy::guided::{Guided, Pick, StepRecord};

/// What a search that found no failure did. Its `Display` is the one-line verdict.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ExploreSummary {
    /// Distinct schedules run (each exactly once).
    pub schedules: u64,
    /// The preemption bound searched up to.
    pub max_preemptions: u32,
    /// `per_level[k]`: schedules with exactly `k` preemptions.
    pub per_level: Vec<u64>,
    /// `true` if no schedule with more preemptions exists: the search covered every
    /// schedule of the program, not just those within the bound.
    pub complete: bool,
    /// Steps taken over all runs.
    pub steps: u64,
    /// `true` if this was a replay (`SIMLOOP_REPLAY` or [`Builder::replay`]) rather than a
    /// search.
    pub replayed: bool,
}

impl fmt::Display for ExploreSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.replayed {
            return write!(f, "replayed one recorded schedule: no failure");
        }
        write!(
            f,
            "explored all {} schedule{} with ≤ {} preemption{}: no failure",
            self.schedules,
            if self.schedules == 1 { "" } else { "s" },
            self.max_preemptions,
            if self.max_preemptions == 1 { "" } else { "s" },
        )?;
        if self.complete {
            write!(f, " (every schedule of the program)")?;
        }
        Ok(())
    }
}

/// How a [`Builder::search`] ended.
pub(crate) enum Found {
    /// No run was accepted and no schedule within the bound is left.
    Nothing,
    /// The run limit was reached while searching schedules with `level` preemptions.
    Limit { level: u32 },
    /// A run was accepted.
    Run {
        outcome: Box<Outcome>,
        record: Vec<StepRecord>,
        preemptions: u32,
    },
}

/// A schedule waiting to be run: follow `prefix`, then the default.
struct Node {
    prefix: Vec<Option<Pick>>,
    preemptions: u32,
}

impl Builder {
    /// The search itself: runs schedules with at most `max_c` preemptions, fewest first,
    /// until `stop` accepts a run's outcome, `max_runs` runs were made, or none is left.
    /// Counts into `summary`.
    pub(crate) fn search<B: Body>(
        &self,
        body: &B,
        max_c: u32,
        max_runs: u64,
        summary: &mut ExploreSummary,
        name: &'static str,
        mut stop: impl FnMut(&Outcome) -> bool,
    ) -> Found {
        let mut level: Vec<Node> = vec![Node {
            prefix: Vec::new(),
            preemptions: 0,
        }];
        let mut k = 0;
        while !level.is_empty() {
            if k > max_c {
                summary.complete = false;
                break;
            }
            summary.per_level.push(0);
            let mut next = Vec::new();
            // A stack, so the search is depth-first; children are pushed in reverse so
            // they are run in the loop's candidate order.
            let mut stack: Vec<Node> = level.into_iter().rev().collect();
            while let Some(node) = stack.pop() {
                if summary.schedules >= max_runs {
                    return Found::Limit { level: k };
                }
                let branch = node.prefix.len();
                let (policy, record) = Guided::new(name, Rc::new(node.prefix), true);
                let outcome = self.run_one(Box::new(policy), body);
                summary.schedules += 1;
                summary.per_level[k as usize] += 1;
                summary.steps += outcome.steps;
                let record = record.take();
                if stop(&outcome) {
                    return Found::Run {
                        outcome: Box::new(outcome),
                        record,
                        preemptions: node.preemptions,
                    };
                }
                // Children: change one default choice at or after `branch`.
                let mut here = Vec::new();
                for i in branch..record.len() {
                    let r = &record[i];
                    if r.is_fault() {
                        continue; // faults are not explored (buggify is off in a search)
                    }
                    for j in 0..r.cands.len() {
                        if j == r.chosen {
                            continue;
                        }
                        let cost = r.cost_of(j);
                        let mut prefix: Vec<Option<Pick>> =
                            record[..i].iter().map(|r| Some(r.picked())).collect();
                        prefix.push(Some(r.cands[j]));
                        let child = Node {
                            prefix,
                            preemptions: node.preemptions + cost,
                        };
                        if cost == 0 {
                            here.push(child);
                        } else {
                            next.push(child);
                        }
                    }
                }
                stack.extend(here.into_iter().rev());
            }
            level = next;
            k += 1;
        }
        Found::Nothing
    }
}
