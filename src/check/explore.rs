//! Bounded exhaustive search: every distinct schedule with at most `c` preemptions.
//!
//! [`Builder::check_all`] runs the test body once per schedule (a fresh loop and a fresh
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
//!     .try_check_all(|| async {
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

use super::body::Body;
use super::builder::Builder;
use super::plan::Plan;
use super::report::{cargo_test_line, trace_file_is_complete, Failure, FailureKind, Ran};
use super::search::{ExploreSummary, Found};

impl Builder {
    pub(crate) fn explore_unshrunk<B: Body>(
        &self,
        body: &B,
    ) -> Result<ExploreSummary, Box<Failure>> {
        let opts = self.search;
        let Plan { test, env, dir } = self.plan("explore")?;
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
                let message = limit_message(opts.max_schedules, k, summary.schedules);
                let mut f = Failure::new(
                    &test,
                    format!("bounded search (≤ {} preemptions)", opts.max_preemptions),
                    FailureKind::SearchLimit,
                    message,
                    Ran::Nothing {
                        policy: "explore".to_owned(),
                    },
                );
                f.replay_command = "(nothing to replay)".to_owned();
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
                let mut outcome = *outcome;
                let Err((kind, message)) = std::mem::replace(&mut outcome.result, Ok(())) else {
                    unreachable!("the search stops only at a failing run")
                };
                let mut f = Failure::new(&test, source, kind, message, Ran::Run(Box::new(outcome)));
                f.write_trace_file(&dir, "explore");
                f.replay_command = match &f.trace_path {
                    _ if !trace_file_is_complete(&f.trace) => "(the schedule's trace is too \
                        long to keep in full: re-run the search, which is deterministic)"
                        .to_owned(),
                    Some(p) => cargo_test_line(&format!("SIMLOOP_REPLAY={}", p.display()), &test),
                    None => "(the trace file could not be written)".to_owned(),
                };
                f.seeds_passed = n - 1;
                Err(Box::new(f))
            }
        }
    }
}

/// What to do when the search needs more than `max_schedules` runs at `level` costly
/// departures — advice that is true for the case at hand.
fn limit_message(max_schedules: u64, level: u32, ran: u64) -> String {
    let head = format!(
        "the search needs more than {max_schedules} schedules (max_schedules) at {level} \
         preemption{}; it ran {ran} without a failure",
        if level == 1 { "" } else { "s" }
    );
    if level == 0 {
        format!(
            "{head}. Even the schedules without preemptions are too many: the free choices \
             (which woken task runs first) multiply. Make the test smaller (fewer tasks that \
             wake at once), raise max_schedules, or use a seed sweep (Builder::check)"
        )
    } else {
        format!(
            "{head}. Lower max_preemptions to {}, make the test smaller, or raise \
             max_schedules",
            level - 1
        )
    }
}
