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

/// A schedule waiting to be run: follow the first `len` picks of `base` (the run it
/// branches from, shared by all its children), then `alt`, then the default. A child
/// costs a few words, not a copy of its prefix: a run of `n` steps has up to `n × width`
/// children.
struct Node {
    base: Rc<[Option<Pick>]>,
    len: usize,
    alt: Option<Pick>,
    preemptions: u32,
}

impl Node {
    /// The plan a run of this node follows.
    fn prefix(&self) -> Vec<Option<Pick>> {
        let mut v = Vec::with_capacity(self.len + 1);
        v.extend_from_slice(&self.base[..self.len]);
        if let Some(a) = self.alt {
            v.push(Some(a));
        }
        v
    }
}

/// Keeps at most `cap` nodes of a queue that is consumed from its front (`front_first`)
/// or its back: the rest could never run before the search's run limit, so dropping
/// them changes nothing the search does — it only bounds its memory.
fn bound(nodes: &mut Vec<Node>, cap: u64, front_first: bool) {
    let cap = usize::try_from(cap).unwrap_or(usize::MAX);
    if nodes.len() > cap {
        if front_first {
            nodes.truncate(cap);
        } else {
            nodes.drain(..nodes.len() - cap);
        }
    }
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
            base: Rc::from(Vec::new()),
            len: 0,
            alt: None,
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
                let prefix = node.prefix();
                let branch = prefix.len();
                let (policy, record) = Guided::new(name, Rc::new(prefix), true);
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
                let base: Rc<[Option<Pick>]> = record.iter().map(|r| Some(r.picked())).collect();
                for (i, r) in record.iter().enumerate().skip(branch) {
                    if r.is_fault() {
                        continue; // faults are not explored (buggify is off in a search)
                    }
                    for j in 0..r.cands.len() {
                        if j == r.chosen {
                            continue;
                        }
                        let cost = r.cost_of(j);
                        let child = Node {
                            base: base.clone(),
                            len: i,
                            alt: Some(r.cands[j]),
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
                // Only what the remaining runs can reach is kept (`stack` is consumed
                // from its back, `next` from its front) — and at least one node, so a
                // search that would go on still reports reaching its limit.
                let left = max_runs.saturating_sub(summary.schedules).max(1);
                bound(&mut stack, left, false);
                bound(&mut next, left, true);
            }
            level = next;
            k += 1;
        }
        Found::Nothing
    }
}
