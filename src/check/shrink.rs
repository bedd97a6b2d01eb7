//! Shrinking: reduce a failing schedule to a small one that fails the same way.
//!
//! When a sweep ([`Builder::try_check`]/[`check`](Builder::check)), a search
//! ([`Builder::check_all`]) or a replay fails, the shrinker first searches the schedules
//! with fewer preemptions than the failing one, fewest first (the bounded search of
//! [`Builder::check_all`], with half the budget), for one that fails the same way. If the
//! best schedule so far still has more than one preemption, it tries the default
//! scheduler (below) with a single deviation, latest first (at most a quarter of the
//! budget): the search's budget goes to the free choices of long runs, and a failure
//! found by a random walk often needs only one task run at one late point. Then it
//! rewrites the best schedule so far as a list of *deviations* from a default scheduler
//! (continue the task that just ran if it can, else asyncio's next item): the steps where
//! the run chose something else, and re-runs modified lists — a deviation dropped, a group of them dropped, one moved
//! a step earlier, or pointed at another runnable item — each with a policy that follows
//! the list where it can and takes the default everywhere else. A candidate is kept only
//! if it fails the same way (same [`FailureKind`] and the same message) and is smaller:
//! fewer preemptions first, then fewer steps, then fewer tasks polled, then fewer
//! deviations. It stops when nothing smaller is found or after
//! [`shrink_budget`](Builder::shrink_budget) re-runs (default 1,000).
//!
//! The result ([`Shrunk`], in [`Failure::shrunk`]) has the minimal trace, written next to
//! the original one as `…-shrunk.trace` (it replays with `SIMLOOP_REPLAY` like any
//! other), and a short story: each preemption — which task was running, what it had just
//! done, who ran instead. The failure's seed, trace and replay line stay those of the
//! original run.

use std::collections::BTreeSet;
use std::rc::Rc;

use super::body::Body;
use super::builder::Builder;
use super::cause::{self, kind_word};
use super::report::{cargo_test_line, Failure, FailureKind, Outcome};
use super::search::{ExploreSummary, Found};
use super::shrunk::Shrunk;
use crate::error::LoopError;
use crate::policy::guided::{faults, preemptions, Guided, Pick, StepRecord};
use crate::policy::CandidateKind;
use crate::trace::{EventKind, PollOutcome, Trace};

/// Failing runs longer than this many steps are not shrunk (each re-run would be long).
const MAX_SHRINK_STEPS: u64 = 100_000;

impl Builder {
    /// Shrinks `failure`'s schedule if shrinking is on and the failure is a kind a
    /// schedule can explain; sets `failure.shrunk`.
    pub(crate) fn shrink_failure<B: Body>(&self, body: &B, failure: &mut Failure) {
        if !self.search.shrink || self.search.shrink_budget == 0 {
            return;
        }
        // A nondeterministic body does not fail the same way under the same schedule,
        // which shrinking needs; the report says why it is not shrunk.
        if failure.nondeterminism.is_some() {
            failure.not_shrunk = Some(
                "the body is nondeterministic (shrinking needs a re-run to fail the same way \
                 under the same schedule)"
                    .to_owned(),
            );
            return;
        }
        if failure.trace.is_truncated() {
            failure.not_shrunk = Some(format!(
                "the run is longer than the trace memory ({} events; only the last {} are \
                 kept), and shrinking needs its whole schedule: raise Builder::trace_memory",
                failure.trace.len(),
                failure.trace.window_events()
            ));
            return;
        }
        let why_not = match &failure.kind {
            FailureKind::Panicked | FailureKind::ReturnedErr => None,
            FailureKind::Loop(LoopError::StepLimit { .. }) => Some(
                "a step-limit failure is not shrunk: every re-run would spin to the limit"
                    .to_owned(),
            ),
            FailureKind::Loop(
                LoopError::Divergence { .. }
                | LoopError::Nondeterminism { .. }
                | LoopError::Policy { .. },
            ) => Some(
                "the failure is about the schedule itself (a replay divergence, \
                 nondeterminism or a policy error), so there is no schedule to shrink"
                    .to_owned(),
            ),
            FailureKind::Loop(_) => None,
            _ => Some("nothing ran, so there is no schedule to shrink".to_owned()),
        };
        let why_not = why_not.or_else(|| {
            (failure.trace.steps() > MAX_SHRINK_STEPS).then(|| {
                format!(
                    "the failing run took {} steps; runs over {MAX_SHRINK_STEPS} steps are not \
                     shrunk (each re-run would be as long)",
                    failure.trace.steps()
                )
            })
        });
        if let Some(reason) = why_not {
            failure.not_shrunk = Some(reason);
            return;
        }
        let target = (failure.kind.clone(), failure.message.clone());
        let Some(mut s) = self.shrink_schedule(body, &failure.trace, &target) else {
            failure.not_shrunk = Some(
                "re-running the failing schedule (its steps, choices, faults and random data) \
                 did not fail the same way, so the failure depends on something the trace does \
                 not record — state kept across runs, wall-clock time, threads"
                    .to_owned(),
            );
            return;
        };
        s.path = failure.trace_path.as_ref().and_then(|p| {
            let stem = p.file_stem()?.to_str()?;
            let path = p.with_file_name(format!("{stem}-shrunk.trace"));
            std::fs::write(&path, s.trace.to_string()).ok()?;
            Some(path)
        });
        s.replay_command = match &s.path {
            Some(p) => cargo_test_line(&format!("SIMLOOP_REPLAY={}", p.display()), &failure.test),
            None => "(the shrunk trace could not be written)".to_owned(),
        };
        failure.shrunk = Some(s);
    }

    fn shrink_schedule<B: Body>(
        &self,
        body: &B,
        original: &Trace,
        target: &(FailureKind, String),
    ) -> Option<Shrunk> {
        let budget = self.search.shrink_budget;
        let mut runs = 0u32;
        // Re-runs give back the original's random data, and follow its faults if it had any.
        let randoms: Rc<Vec<u64>> = Rc::new(
            original
                .events()
                .filter_map(|e| match e.kind {
                    EventKind::Random { value } => Some(value),
                    _ => None,
                })
                .collect(),
        );
        let faults = original
            .events()
            .any(|e| matches!(e.kind, EventKind::Buggify { .. }));
        // One re-run following `plan` (the default where it has no pick): its outcome and
        // the record of its decisions.
        let run_plan = |plan: Vec<Option<Pick>>, runs: &mut u32| -> (Outcome, Vec<StepRecord>) {
            *runs += 1;
            let (policy, record) = Guided::new("shrunk", Rc::new(plan), false);
            let policy = policy.with_recorded(faults, randoms.clone());
            let outcome = self.run_one(Box::new(policy), body);
            (outcome, record.take())
        };
        let try_plan = |plan: Vec<Option<Pick>>, runs: &mut u32| -> Option<Run> {
            let (outcome, record) = run_plan(plan, runs);
            let same = matches!(&outcome.result, Err((k, m)) if k == &target.0 && m == &target.1);
            same.then(|| Run::new(outcome, record))
        };

        // The original schedule, decision for decision, to learn its decisions.
        let full: Vec<Option<Pick>> = decisions_of(original, faults)
            .into_iter()
            .map(Some)
            .collect();
        let first = try_plan(full, &mut runs)?;
        let (preemptions_before, faults_before, steps_before, tasks_before) = (
            first.metric.0,
            first.metric.1,
            first.metric.2,
            first.metric.3,
        );
        let mut best = first;

        // 1. Fewer preemptions: search the schedules with fewer preemptions than the
        //    failing run, fewest first, for one that fails the same way (half the budget).
        if best.metric.0 > 0 {
            let mut summary = ExploreSummary {
                schedules: 0,
                max_preemptions: best.metric.0 - 1,
                per_level: Vec::new(),
                complete: true,
                steps: 0,
                replayed: false,
            };
            let found = self.search(
                body,
                best.metric.0 - 1,
                u64::from(budget / 2),
                &mut summary,
                "shrunk",
                |o| matches!(&o.result, Err((k, m)) if k == &target.0 && m == &target.1),
            );
            runs += summary.schedules as u32;
            if let Found::Run {
                outcome, record, ..
            } = found
            {
                let r = Run::new(*outcome, record);
                if r.metric < best.metric {
                    best = r;
                }
            }
        }

        // 2. One deviation from the default scheduler, latest first (at most a quarter of
        //    the budget). Phase 1 spends its budget on the free choices of long runs (who
        //    runs next when a task ends); a bug that needs one task run at one point late
        //    in the run — typical of a failure found by a random walk, whose schedule
        //    carries hundreds of incidental preemptions — is found here in a few runs.
        if best.metric.0 > 1 && runs < budget {
            // The default scheduler's run (every decision the default), for its decisions.
            let (_, plain) = run_plan(Vec::new(), &mut runs);
            let limit = budget.min(runs + budget / 4);
            'late: for p in (0..plain.len()).rev() {
                for (j, &c) in plain[p].cands.iter().enumerate() {
                    if j == plain[p].default {
                        continue;
                    }
                    if runs >= limit {
                        break 'late;
                    }
                    let mut plan = vec![None; p];
                    plan.push(Some(c));
                    if let Some(r) = try_plan(plan, &mut runs) {
                        if r.metric < best.metric {
                            best = r;
                            break 'late;
                        }
                    }
                }
            }
        }

        let mut improved = true;
        while improved && runs < budget {
            improved = false;
            // 3. Drop groups of deviations, halving the group size (delta debugging).
            let mut size = best.deviations().len().div_ceil(2).max(1);
            loop {
                let mut start = 0;
                while start < best.deviations().len() && runs < budget {
                    let devs = best.deviations();
                    let drop: Vec<usize> = devs.iter().skip(start).take(size).copied().collect();
                    let mut plan = best.plan();
                    for &p in &drop {
                        plan[p] = None;
                    }
                    match try_plan(plan, &mut runs) {
                        Some(r) if r.metric < best.metric => {
                            best = r;
                            improved = true;
                        }
                        _ => start += size,
                    }
                }
                if size == 1 || runs >= budget {
                    break;
                }
                size = size.div_ceil(2);
            }
            // 4. Move each deviation one step earlier, or point it at another item.
            let mut i = 0;
            while i < best.deviations().len() && runs < budget {
                let p = best.deviations()[i];
                let pick = best.record[p].picked();
                let mut tries = Vec::new();
                if p > 0 && best.record[p - 1].cands.contains(&pick) {
                    let mut plan = best.plan();
                    plan[p] = None;
                    plan[p - 1] = Some(pick);
                    tries.push(plan);
                }
                for (j, &c) in best.record[p].cands.iter().enumerate() {
                    if c != pick && j != best.record[p].default {
                        let mut plan = best.plan();
                        plan[p] = Some(c);
                        tries.push(plan);
                    }
                }
                let mut moved = false;
                for plan in tries {
                    if runs >= budget {
                        break;
                    }
                    if let Some(r) = try_plan(plan, &mut runs) {
                        if r.metric < best.metric {
                            best = r;
                            improved = true;
                            moved = true;
                            break;
                        }
                    }
                }
                if !moved {
                    i += 1;
                }
            }
        }

        let named_story = story(&best.record, &best.outcome.trace, &target.1, true);
        let story = story(&best.record, &best.outcome.trace, &target.1, false);
        let found = cause::find(&target.0, &target.1, &best.outcome);
        let ending = format!(
            "step {}: the run fails the same way ({}; the message is above)",
            found.step.max(1),
            kind_word(&target.0)
        );
        Some(Shrunk {
            preemptions_before,
            preemptions_after: best.metric.0,
            faults_before,
            faults_after: best.metric.1,
            steps_before,
            steps_after: best.metric.2,
            tasks_before,
            tasks_after: best.metric.3,
            story,
            named_story,
            ending,
            trace: best.outcome.trace,
            path: None,
            replay_command: String::new(),
            runs,
        })
    }
}

/// A re-run that failed the same way.
struct Run {
    outcome: Outcome,
    record: Vec<StepRecord>,
    /// (costly departures, faults, steps, tasks polled, deviations): smaller is simpler.
    metric: (u32, u32, u64, usize, usize),
}

impl Run {
    fn new(outcome: Outcome, record: Vec<StepRecord>) -> Run {
        let tasks: BTreeSet<u32> = record.iter().filter_map(|r| r.picked().task()).collect();
        let devs = record.iter().filter(|r| r.chosen != r.default).count();
        let metric = (
            preemptions(&record),
            faults(&record),
            outcome.steps,
            tasks.len(),
            devs,
        );
        Run {
            outcome,
            record,
            metric,
        }
    }

    /// The steps (0-based) where the run departed from the default.
    fn deviations(&self) -> Vec<usize> {
        (0..self.record.len())
            .filter(|&i| self.record[i].chosen != self.record[i].default)
            .collect()
    }

    /// The run as a plan: its deviations, the default elsewhere.
    fn plan(&self) -> Vec<Option<Pick>> {
        self.record
            .iter()
            .map(|r| (r.chosen != r.default).then(|| r.picked()))
            .collect()
    }
}

/// Every decision of a trace, in order: the item each step ran, each choice's
/// alternative, and (if `faults`) each buggify value.
fn decisions_of(trace: &Trace, faults: bool) -> Vec<Pick> {
    trace
        .events()
        .filter_map(|e| match e.kind {
            EventKind::Poll { task, .. } => Some(Pick::Item {
                kind: CandidateKind::Task,
                id: task.as_u32(),
            }),
            EventKind::Timer { timer } => Some(Pick::Item {
                kind: CandidateKind::Timer,
                id: timer,
            }),
            EventKind::Callback { handle } => Some(Pick::Item {
                kind: CandidateKind::Callback,
                id: handle,
            }),
            EventKind::Stop => Some(Pick::Item {
                kind: CandidateKind::Stop,
                id: 0,
            }),
            EventKind::Choose { chosen, .. } => Some(Pick::Alt(chosen)),
            EventKind::Buggify { fired, .. } if faults => Some(Pick::Fault(fired)),
            _ => None,
        })
        .collect()
}

/// An item of the story: by number (`task 3 "client-2"`, `timer 4`), or `named` with where
/// it came from (noted by the run that made `trace`): `task 3 "client-2" (created at
/// src/limiter.rs:30)`, `timer 4 (sleep 20ms in `client-2` at src/limiter.rs:42)`.
fn name_of(trace: &Trace, p: Pick, named: bool) -> String {
    match p {
        Pick::Item {
            kind: CandidateKind::Task,
            id,
        } if named => trace.task_with_origin(id),
        Pick::Item {
            kind: CandidateKind::Task,
            id,
        } => trace.task_label(id),
        Pick::Item {
            kind: CandidateKind::Callback,
            id,
        } if named => trace.handle_with_origin("callback", id),
        Pick::Item {
            kind: CandidateKind::Callback,
            id,
        } => format!("callback {id}"),
        Pick::Item {
            kind: CandidateKind::Timer,
            id,
        } if named => trace.handle_with_origin("timer", id),
        Pick::Item {
            kind: CandidateKind::Timer,
            id,
        } => format!("timer {id}"),
        Pick::Item {
            kind: CandidateKind::Stop,
            ..
        } => "the stop request".to_owned(),
        Pick::Alt(k) => format!("alternative {k}"),
        Pick::Fault(v) => format!("buggify {v}"),
    }
}

/// What step `step` (1-based) did, in words: its poll outcome and what it spawned, woke
/// or cancelled.
fn deeds(trace: &Trace, step: u64) -> String {
    let mut parts = Vec::new();
    let mut polled = None;
    for e in trace.events().filter(|e| e.step == step) {
        if let EventKind::Poll { task, .. } = e.kind {
            polled = Some(task);
        }
        match e.kind {
            EventKind::Poll { outcome, .. } => parts.push(
                match outcome {
                    PollOutcome::Pending => "was polled and returned pending",
                    PollOutcome::Ready => "was polled and finished",
                    PollOutcome::Panicked => "was polled and panicked",
                    PollOutcome::Cancelled => "was dropped (cancelled)",
                }
                .to_owned(),
            ),
            EventKind::Spawn { task } => parts.push(format!("spawned task {}", task.as_u32())),
            EventKind::Wake { task } if Some(task) == polled => parts.push("yielded".to_owned()),
            EventKind::Wake { task } => parts.push(format!("woke task {}", task.as_u32())),
            EventKind::Cancel { task } => parts.push(format!("cancelled task {}", task.as_u32())),
            _ => {}
        }
    }
    if parts.is_empty() {
        "ran".to_owned()
    } else {
        parts.join(", ")
    }
}

/// One line per departure from the default order, then the failure; items by number, or
/// `named` with where they came from.
fn story(record: &[StepRecord], trace: &Trace, message: &str, named: bool) -> Vec<String> {
    let name_of = |p| name_of(trace, p, named);
    let mut lines = Vec::new();
    for r in record {
        if r.chosen == r.default {
            continue;
        }
        let step = r.step;
        let ran = name_of(r.picked());
        match r.picked() {
            Pick::Alt(k) => lines.push(format!(
                "step {step}: choose({}) took alternative {k} (the default is 0)",
                r.cands.len()
            )),
            Pick::Fault(_) => lines.push(format!(
                "step {step}: buggify() fired: the failure needs this fault"
            )),
            Pick::Item { .. } if r.could_continue => {
                let prev = name_of(r.cands[r.default]);
                lines.push(format!(
                    "step {step}: preemption: {prev} could go on (at step {} it {}), but {ran} ran instead",
                    step - 1,
                    deeds(trace, step - 1)
                ));
            }
            Pick::Item { .. } if r.is_preemption() => lines.push(format!(
                "step {step}: {ran} ran before {} (a timer out of the default order: counted \
                 like a preemption)",
                name_of(r.cands[r.default])
            )),
            Pick::Item { .. } => lines.push(format!(
                "step {step}: {ran} ran before {} (no task could go on: a free choice)",
                name_of(r.cands[r.default])
            )),
        }
    }
    if lines.is_empty() {
        lines.push(
            "no choice departs from the default order (each task runs while it can, else \
             asyncio's next item; choices take alternative 0; no faults)"
                .to_owned(),
        );
    }
    lines.push(format!(
        "step {}: the run fails: {message}",
        trace.steps().max(1)
    ));
    lines
}
