//! The terminals of a [`Builder`], in pairs: `x` prints the report and panics, `try_x`
//! returns the [`Failure`].

use super::body::Body;
use super::builder::{Builder, Seeds};
use super::plan::default_test_name;
use super::report::{Failure, Summary};
use super::search::ExploreSummary;
use crate::env::Env;

impl Builder {
    /// Sweeps `body` over the seeds; on the first failure prints the report to stderr and
    /// panics with its summary (which contains the replay line).
    ///
    /// # Panics
    /// On a failing seed, a malformed `SIMLOOP_*` variable or trace.
    ///
    /// On success it prints nothing, unless `SIMLOOP_VERBOSE=1`: then it prints the
    /// [`Summary`] to stderr (`simloop: test `name`: checked 1000 seeds (0..1000) under the
    /// portfolio: no failure; …`), with a note for each way the environment changed what
    /// the code asked for.
    #[track_caller]
    pub fn check<B: Body>(self, body: B) {
        let verbose = self.verbose();
        match self.try_check(body) {
            Ok(s) => {
                if let Some(test) = verbose {
                    eprintln!("simloop: test `{test}`: {s}");
                }
            }
            Err(failure) => failure.raise(),
        }
    }

    /// The test's name if `SIMLOOP_VERBOSE` (the builder's env, else the process's) asks
    /// for a summary on success.
    fn verbose(&self) -> Option<String> {
        let on = match &self.env {
            Some(e) => e.verbose,
            None => Env::from_process().ok().and_then(|e| e.verbose),
        };
        on.unwrap_or(false)
            .then(|| self.name.clone().unwrap_or_else(default_test_name))
    }

    /// Like [`check`](Builder::check), but returns the failure (shrunk) instead of
    /// panicking, and prints nothing.
    ///
    /// ```
    /// use std::{cell::Cell, rc::Rc};
    /// let failure = simloop::Builder::new()
    ///     .seeds(0..100)
    ///     .trace_dir(std::env::temp_dir().join("simloop-doc"))
    ///     .try_check(|| async {
    ///         let n = Rc::new(Cell::new(0));
    ///         let incr = |n: Rc<Cell<i32>>| async move { let v = n.get(); simloop::yield_now().await; n.set(v + 1) };
    ///         simloop::gather([incr(n.clone()), incr(n.clone())]).await;
    ///         if n.get() == 2 { Ok(()) } else { Err(format!("counter is {}", n.get())) }
    ///     })
    ///     .unwrap_err();
    /// assert!(failure.message.contains("counter is 1"));
    /// assert!(failure.replay_command.starts_with(&format!("SIMLOOP_SEED={:#x}", failure.seed.unwrap())));
    /// ```
    ///
    /// # Errors
    /// The first failing run, with its report.
    pub fn try_check<B: Body>(self, body: B) -> Result<Summary, Box<Failure>> {
        let mut unused = Vec::new();
        if self.search_bounds_set {
            unused.push("max_preemptions/max_schedules (they bound check_all's search)");
        }
        self.refuse(
            "try_check",
            &unused,
            "call check_all to search exhaustively",
        )?;
        self.sweep_or_replay(&body).map_err(|mut failure| {
            self.shrink_failure(&body, &mut failure);
            failure
        })
    }

    /// The old name of [`try_check`](Builder::try_check).
    #[deprecated(
        since = "0.2.0",
        note = "renamed to `try_check` (`run` is asyncio's `simloop::run`)"
    )]
    pub fn run<B: Body>(self, body: B) -> Result<Summary, Box<Failure>> {
        self.try_check(body)
    }

    /// Runs `body` under every distinct schedule with at most
    /// [`max_preemptions`](Builder::max_preemptions) preemptions, fewest preemptions
    /// first; prints the report and panics on the first failure, returns the summary
    /// otherwise. See [`try_check_all`](Builder::try_check_all).
    ///
    /// # Panics
    /// On a failing schedule, the schedule limit, or bad input.
    ///
    /// With `SIMLOOP_VERBOSE=1` it prints the summary to stderr on success.
    #[track_caller]
    pub fn check_all<B: Body>(self, body: B) -> ExploreSummary {
        let verbose = self.verbose();
        match self.try_check_all(body) {
            Ok(s) => {
                if let Some(test) = verbose {
                    eprintln!("simloop: test `{test}`: {s}");
                }
                s
            }
            Err(failure) => failure.raise(),
        }
    }

    /// Like [`check_all`](Builder::check_all), but returns the first failure (shrunk,
    /// unless [`shrink(false)`](Builder::shrink)) instead of panicking.
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
    /// assert!(b().max_preemptions(0).try_check_all(body).is_ok());
    /// let failure = b().max_preemptions(1).try_check_all(body).unwrap_err();
    /// assert!(failure.source.contains("1 preemption"));
    /// assert!(failure.replay_command.contains("SIMLOOP_REPLAY="));
    /// ```
    ///
    /// # Errors
    /// The first failing schedule; a
    /// [`FailureKind::SearchLimit`](crate::FailureKind::SearchLimit) failure if the search
    /// needs more than [`max_schedules`](Builder::max_schedules) runs; bad input.
    pub fn try_check_all<B: Body>(self, body: B) -> Result<ExploreSummary, Box<Failure>> {
        let mut unused = Vec::new();
        if self.seeds != Seeds::Default {
            unused.push("seed/seeds (a search enumerates schedules; it has no seeds)");
        }
        if self.policy.is_some() {
            unused.push("policy (the search chooses every decision itself)");
        }
        if self.check_determinism.is_some() {
            unused.push("check_determinism (a search runs each schedule once)");
        }
        self.refuse("try_check_all", &unused, "call check for a seed sweep")?;
        self.explore_unshrunk(&body).map_err(|mut failure| {
            self.shrink_failure(&body, &mut failure);
            failure
        })
    }

    /// The old name of [`try_check_all`](Builder::try_check_all).
    #[deprecated(since = "0.2.0", note = "renamed to `try_check_all`")]
    pub fn explore<B: Body>(self, body: B) -> Result<ExploreSummary, Box<Failure>> {
        self.try_check_all(body)
    }

    /// Runs `body` once under the schedule in `data` (the [`Bytes`](crate::Bytes)
    /// policy); on failure prints the report to stderr and panics with its summary (a
    /// crash for the fuzzer). See [`fuzz::check`](crate::fuzz::check).
    ///
    /// # Panics
    /// If the run fails.
    #[track_caller]
    pub fn fuzz_check<B: Body>(self, data: &[u8], body: B) {
        if let Err(failure) = self.try_fuzz_check(data, body) {
            failure.raise();
        }
    }

    /// Runs `body` once under the schedule in `data` and returns the failure, if any,
    /// without printing or panicking. The builder's name, trace directory, step limit, log
    /// capture and shrinking apply; seeds, a policy, a replay, search bounds and the
    /// determinism check cannot (the input is the schedule), and setting one is a
    /// bad-input failure.
    ///
    /// ```
    /// let summary = simloop::Builder::new()
    ///     .try_fuzz_check(&[7, 1, 3], || async { simloop::yield_now().await })
    ///     .unwrap();
    /// assert_eq!(summary.runs, 1);
    /// ```
    ///
    /// # Errors
    /// The failing run, with its report (its source says `fuzz input`).
    pub fn try_fuzz_check<B: Body>(self, data: &[u8], body: B) -> Result<Summary, Box<Failure>> {
        let mut unused = Vec::new();
        if self.seeds != Seeds::Default {
            unused.push("seed/seeds");
        }
        if self.policy.is_some() {
            unused.push("policy");
        }
        if self.replay.is_some() {
            unused.push("replay");
        }
        if self.search_bounds_set {
            unused.push("max_preemptions/max_schedules");
        }
        if self.check_determinism.is_some() {
            unused.push("check_determinism");
        }
        self.refuse(
            "try_fuzz_check",
            &unused,
            "the fuzz input is the whole schedule; sweep seeds with check instead",
        )?;
        self.fuzz_run_split(data.to_vec(), data.to_vec(), None, &body)
    }

    /// The old name of [`try_fuzz_check`](Builder::try_fuzz_check).
    #[deprecated(since = "0.2.0", note = "renamed to `try_fuzz_check`")]
    pub fn fuzz_run<B: Body>(self, data: &[u8], body: B) -> Result<Summary, Box<Failure>> {
        self.try_fuzz_check(data, body)
    }

    /// A bad-input failure if the builder has settings this terminal cannot apply.
    fn refuse(&self, terminal: &str, unused: &[&str], instead: &str) -> Result<(), Box<Failure>> {
        if unused.is_empty() {
            return Ok(());
        }
        let test = self.name.clone().unwrap_or_else(default_test_name);
        let policy = self
            .policy
            .as_ref()
            .map_or_else(|| "portfolio".to_owned(), |p| p.name());
        Err(Box::new(Failure::bad_input(
            &test,
            &policy,
            format!(
                "Builder::{terminal} cannot apply {}: remove {}, or {instead}",
                unused.join(", "),
                if unused.len() == 1 { "it" } else { "them" }
            ),
        )))
    }
}
