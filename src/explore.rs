//! Bounded exhaustive search: every distinct schedule with at most `c` preemptions.
//!
//! [`Builder::explore`] runs the test body once per schedule (a fresh loop and a fresh
//! future each time: stateless model checking, as loom does) and enumerates the schedules
//! depth-first over the loop's decision points. A *preemption* is a step at which the task
//! that just ran could have run again (it is among the candidates) and something else was
//! chosen instead. Switching when the previous item cannot continue (it awaits a timer, a
//! lock, another task, or it was a callback or timer) is free, so every such choice is
//! explored at every bound. Timer ties, callbacks and the stop request are candidates like
//! task steps, so their orders are explored too.
//!
//! The search deepens iteratively: first every schedule with no preemption, then every
//! schedule with exactly one, and so on up to [`max_preemptions`](Builder::max_preemptions)
//! (default 2). No schedule is run twice: each run follows a prefix of choices and then a
//! default (continue the task that just ran if it can, else asyncio's next item), and a
//! new schedule is only ever derived from the last run by changing one choice *after* the
//! last changed one. The first failing schedule is therefore one with the fewest
//! preemptions, and it is reported like a sweep's failure, with a trace file that replays
//! with `SIMLOOP_REPLAY` (a schedule has no seed).
//!
//! Limits: the default keeps running a task while it can, so a task that spins (`loop {
//! if ready { break } yield_now().await }`) waiting for another never lets it run without
//! a preemption, and such a schedule ends at the step limit; give spinning tests a small
//! [`max_steps`](Builder::max_steps), or wait on a channel or lock instead of spinning.
//! The search runs each schedule once and does not run the determinism double-check of a
//! sweep, but a run that does not follow its prefix fails with a nondeterminism error.
//!
//! ```
//! use std::{cell::Cell, rc::Rc};
//! // Two tasks each yield once: how many schedules are there?
//! let summary = simloop::Builder::new()
//!     .env(simloop::Env::default())
//!     .max_preemptions(2)
//!     .explore(|| async {
//!         let n = Rc::new(Cell::new(0));
//!         let a = simloop::create_task({ let n = n.clone(); async move { simloop::yield_now().await; n.set(n.get() + 1) } });
//!         let b = simloop::create_task({ let n = n.clone(); async move { simloop::yield_now().await; n.set(n.get() + 1) } });
//!         a.await.unwrap();
//!         b.await.unwrap();
//!         assert_eq!(n.get(), 2);
//!     })
//!     .unwrap();
//! assert!(summary.schedules > 1);
//! assert!(summary.to_string().starts_with("explored all"));
//! ```

use std::cell::RefCell;
use std::fmt;
use std::future::Future;
use std::path::PathBuf;
use std::rc::Rc;

use crate::check::{
    cargo_test_line, default_test_name, failure_step, write_trace, CheckOutcome, Outcome,
};
use crate::check::{Failure, FailureKind};
use crate::env::Env;
use crate::error::LoopError;
use crate::event_loop::Builder;
use crate::policy::{describe, Candidate, CandidateKind, Decision, Policy};

/// The search and shrinking settings of a [`Builder`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct SearchOptions {
    pub(crate) max_preemptions: u32,
    pub(crate) max_schedules: u64,
    pub(crate) shrink: bool,
    pub(crate) shrink_budget: u32,
}

impl SearchOptions {
    pub(crate) const DEFAULT: SearchOptions = SearchOptions {
        max_preemptions: DEFAULT_MAX_PREEMPTIONS,
        max_schedules: DEFAULT_MAX_SCHEDULES,
        shrink: true,
        shrink_budget: crate::shrink::DEFAULT_SHRINK_BUDGET,
    };
}

/// The preemption bound [`Builder::explore`] uses unless told otherwise.
pub const DEFAULT_MAX_PREEMPTIONS: u32 = 2;

/// The most schedules [`Builder::explore`] runs before giving up, unless told otherwise.
pub const DEFAULT_MAX_SCHEDULES: u64 = 100_000;

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
    /// The preemption bound of [`explore`](Builder::explore) (default 2): schedules with
    /// more preemptions than this are not run.
    pub fn max_preemptions(mut self, c: u32) -> Builder {
        self.search.max_preemptions = c;
        self
    }

    /// The most schedules [`explore`](Builder::explore) runs (default 100,000). A search
    /// that would need more fails with [`FailureKind::SearchLimit`] rather than passing
    /// on a partial search.
    ///
    /// # Panics
    /// If `n` is 0.
    #[track_caller]
    pub fn max_schedules(mut self, n: u64) -> Builder {
        assert!(n > 0, "max_schedules must be at least 1");
        self.search.max_schedules = n;
        self
    }

    /// Runs `body` under every distinct schedule with at most
    /// [`max_preemptions`](Builder::max_preemptions) preemptions, fewest preemptions
    /// first, and returns the first failure (shrunk, unless
    /// [`shrink(false)`](Builder::shrink)) or a summary with the number of schedules.
    ///
    /// With `SIMLOOP_REPLAY` set (or [`Builder::replay`]) it replays that trace instead,
    /// which is how a failing schedule's replay line works.
    ///
    /// ```
    /// use std::{cell::Cell, rc::Rc};
    /// // A lost update needs one preemption: none at bound 0, found at bound 1.
    /// let body = || async {
    ///     let n = Rc::new(Cell::new(0));
    ///     let incr = |n: Rc<Cell<i32>>| async move { let v = n.get(); simloop::yield_now().await; n.set(v + 1) };
    ///     let a = simloop::create_task(incr(n.clone()));
    ///     let b = simloop::create_task(incr(n.clone()));
    ///     a.await.unwrap();
    ///     b.await.unwrap();
    ///     if n.get() == 2 { Ok(()) } else { Err("lost update") }
    /// };
    /// let b = || simloop::Builder::new().env(simloop::Env::default())
    ///     .trace_dir(std::env::temp_dir().join("simloop-doc-explore"));
    /// assert!(b().max_preemptions(0).explore(body).is_ok());
    /// let failure = b().max_preemptions(1).explore(body).unwrap_err();
    /// assert!(failure.source.contains("1 preemption"));
    /// assert!(failure.replay_command.contains("SIMLOOP_REPLAY="));
    /// ```
    ///
    /// # Errors
    /// The first failing schedule; a [`FailureKind::SearchLimit`] failure if the search
    /// needs more than [`max_schedules`](Builder::max_schedules) runs; bad input.
    pub fn explore<F, Fut>(self, body: F) -> Result<ExploreSummary, Box<Failure>>
    where
        F: Fn() -> Fut,
        Fut: Future + 'static,
        Fut::Output: CheckOutcome,
    {
        let r = self.explore_unshrunk(&body);
        r.map_err(|mut failure| {
            self.shrink_failure(&body, &mut failure);
            failure
        })
    }

    /// Like [`explore`](Builder::explore), but prints the report to stderr and panics on
    /// failure; returns the summary otherwise.
    ///
    /// # Panics
    /// On a failing schedule, the schedule limit, or bad input.
    #[track_caller]
    pub fn check_all<F, Fut>(self, body: F) -> ExploreSummary
    where
        F: Fn() -> Fut,
        Fut: Future + 'static,
        Fut::Output: CheckOutcome,
    {
        match self.explore(body) {
            Ok(s) => s,
            Err(failure) => {
                eprintln!("{failure}");
                panic!("{}", failure.summary());
            }
        }
    }

    fn explore_unshrunk<F, Fut>(&self, body: &F) -> Result<ExploreSummary, Box<Failure>>
    where
        F: Fn() -> Fut,
        Fut: Future + 'static,
        Fut::Output: CheckOutcome,
    {
        let test = self.name.clone().unwrap_or_else(default_test_name);
        let opts = self.search;
        let failure = |source: String, kind: FailureKind, message: String| {
            Failure::without_run(
                &test,
                source,
                "explore".to_owned(),
                kind,
                message,
                "(nothing to replay)",
            )
        };
        let env = match self.env.clone() {
            Some(e) => e,
            None => Env::from_process().map_err(|e| {
                Box::new(failure(
                    "setup".to_owned(),
                    FailureKind::BadInput,
                    e.to_string(),
                ))
            })?,
        };
        if self.replay.is_some() || env.replay.is_some() {
            return self.sweep_or_replay(body).map(|s| ExploreSummary {
                schedules: s.runs,
                max_preemptions: opts.max_preemptions,
                per_level: Vec::new(),
                complete: false,
                steps: s.steps,
                replayed: true,
            });
        }
        let dir = env
            .trace_dir
            .clone()
            .or_else(|| self.trace_dir.clone())
            .unwrap_or_else(|| PathBuf::from("target/simloop"));

        let mut summary = ExploreSummary {
            schedules: 0,
            max_preemptions: opts.max_preemptions,
            per_level: Vec::new(),
            complete: true,
            steps: 0,
            replayed: false,
        };
        match self.search(
            body,
            opts.max_preemptions,
            opts.max_schedules,
            &mut summary,
            "explore",
            |o| o.result.is_err(),
        ) {
            Found::Nothing => Ok(summary),
            Found::Limit { level: k } => {
                let message = format!(
                    "the search needs more than {} schedules (max_schedules) at {} \
                     preemption{}; it ran {} without a failure. Lower max_preemptions, \
                     shrink the test, or raise max_schedules",
                    opts.max_schedules,
                    k,
                    if k == 1 { "" } else { "s" },
                    summary.schedules
                );
                let mut f = failure(
                    format!("bounded search (≤ {} preemptions)", opts.max_preemptions),
                    FailureKind::SearchLimit,
                    message,
                );
                f.seeds_passed = summary.schedules;
                Err(Box::new(f))
            }
            Found::Run {
                outcome,
                preemptions,
                ..
            } => {
                let n = summary.schedules;
                let source = format!(
                    "explored schedule {n} ({preemptions} preemption{})",
                    if preemptions == 1 { "" } else { "s" }
                );
                let (trace_path, write_err) = write_trace(&dir, &test, "explore", &outcome.trace);
                let replay_command = match &trace_path {
                    Some(p) => cargo_test_line(&format!("SIMLOOP_REPLAY={}", p.display()), &test),
                    None => "(the trace file could not be written)".to_owned(),
                };
                let outcome = *outcome;
                let Err((kind, mut message)) = outcome.result else {
                    unreachable!("the search stops only at a failing run")
                };
                if let Some(e) = write_err {
                    message.push_str(&format!(" (and the trace file could not be written: {e})"));
                }
                let mut f = failure(source, kind, message);
                f.step = failure_step(&f.kind, outcome.steps);
                f.time = outcome.time;
                f.trace = outcome.trace;
                f.trace_path = trace_path;
                f.replay_command = replay_command;
                f.log = outcome.log;
                f.seeds_passed = n - 1;
                Err(Box::new(f))
            }
        }
    }

    /// The search itself: runs schedules with at most `max_c` preemptions, fewest first,
    /// until `stop` accepts a run's outcome, `max_runs` runs were made, or none is left.
    /// Counts into `summary`.
    pub(crate) fn search<F, Fut>(
        &self,
        body: &F,
        max_c: u32,
        max_runs: u64,
        summary: &mut ExploreSummary,
        name: &'static str,
        mut stop: impl FnMut(&Outcome) -> bool,
    ) -> Found
    where
        F: Fn() -> Fut,
        Fut: Future + 'static,
        Fut::Output: CheckOutcome,
    {
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
                    for j in 0..r.cands.len() {
                        if j == r.chosen {
                            continue;
                        }
                        let cost = u32::from(r.could_continue);
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
