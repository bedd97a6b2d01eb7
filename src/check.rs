//! Seed sweeps, failure reports and exact replay.
//!
//! [`check`](crate::check) runs a test body on a fresh loop and a fresh future for each
//! seed of a range (with the [`Portfolio`](crate::Portfolio) — [`Random`](crate::Random),
//! PCT(2) or PCT(3) by seed — unless the builder names a policy), stops at
//! the first failure, prints a report to stderr and panics with its summary. A failure is
//! a panic anywhere (the body, or a task nobody awaited), an `Err` returned by the body,
//! a deadlock, the step limit, or two runs of one seed that differ.
//!
//! The report names the seed and gives one line to paste that replays it; the full trace
//! is written under `SIMLOOP_TRACE_DIR` (default `target/simloop/`) and can be replayed
//! step for step with [`replay`](crate::replay) or `SIMLOOP_REPLAY=path`.
//!
//! ```should_panic
//! use std::{cell::Cell, rc::Rc};
//! // Two tasks increment a shared counter with a read–yield–write: a lost update.
//! simloop::Builder::new().seeds(0..100).name("lost_update").check(|| async {
//!     let counter = Rc::new(Cell::new(0));
//!     let incr = |c: Rc<Cell<i32>>| async move {
//!         let v = c.get();
//!         simloop::yield_now().await;
//!         c.set(v + 1);
//!     };
//!     simloop::gather([incr(counter.clone()), incr(counter.clone())]).await;
//!     assert_eq!(counter.get(), 2, "an increment was lost");
//! });
//! ```

use std::fmt;
use std::fs;
use std::future::Future;
use std::ops::Range;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::rc::Rc;

use crate::env::{shard_seeds, Env};
use crate::error::LoopError;
use crate::event_loop::{new_loop, Builder};
use crate::log::{with_buffer, Buffer};
use crate::pct::{CountDecisions, Portfolio};
use crate::policy::{Policy, Replay, Watch, Watched};
use crate::task::panic_text;
use crate::time::Instant;
use crate::trace::Trace;

/// The seeds a sweep runs when neither the builder nor `SIMLOOP_SEEDS` names a range.
pub const DEFAULT_SEEDS: Range<u64> = 0..1000;

/// How many trace events and log lines a failure report shows.
const TAIL: usize = 20;

/// What a test body may return: `()` (failure = panic) or `Result<(), E>` (failure =
/// panic or `Err`).
pub trait CheckOutcome {
    /// `Err(description)` if the body reported a failure.
    fn into_check_result(self) -> Result<(), String>;
}

impl CheckOutcome for () {
    fn into_check_result(self) -> Result<(), String> {
        Ok(())
    }
}

impl<E: fmt::Debug> CheckOutcome for Result<(), E> {
    fn into_check_result(self) -> Result<(), String> {
        self.map_err(|e| format!("the test returned Err({e:?})"))
    }
}

/// Something a recorded trace can be read from: a [`Trace`], trace text (`&str`,
/// `String`) or a file (`&Path`, `PathBuf`).
pub trait TraceSource {
    /// Reads the trace; the error says what was wrong and where.
    fn load(self) -> Result<(Trace, Option<PathBuf>), String>;
}

impl TraceSource for Trace {
    fn load(self) -> Result<(Trace, Option<PathBuf>), String> {
        Ok((self, None))
    }
}

impl TraceSource for &Trace {
    fn load(self) -> Result<(Trace, Option<PathBuf>), String> {
        Ok((self.clone(), None))
    }
}

impl TraceSource for &str {
    fn load(self) -> Result<(Trace, Option<PathBuf>), String> {
        self.parse::<Trace>()
            .map(|t| (t, None))
            .map_err(|e| format!("malformed trace text: {e}"))
    }
}

impl TraceSource for String {
    fn load(self) -> Result<(Trace, Option<PathBuf>), String> {
        self.as_str().load()
    }
}

impl TraceSource for &Path {
    fn load(self) -> Result<(Trace, Option<PathBuf>), String> {
        let text = fs::read_to_string(self)
            .map_err(|e| format!("cannot read trace file {}: {e}", self.display()))?;
        text.parse::<Trace>()
            .map(|t| (t, Some(self.to_path_buf())))
            .map_err(|e| format!("malformed trace file {}: {e}", self.display()))
    }
}

impl TraceSource for PathBuf {
    fn load(self) -> Result<(Trace, Option<PathBuf>), String> {
        self.as_path().load()
    }
}

impl TraceSource for &PathBuf {
    fn load(self) -> Result<(Trace, Option<PathBuf>), String> {
        self.as_path().load()
    }
}

/// What went wrong in a failing run.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum FailureKind {
    /// The body, or a task whose panic reached the body, panicked.
    Panicked,
    /// The body returned `Err`.
    ReturnedErr,
    /// The loop failed: deadlock, step limit, unobserved task panic, replay divergence,
    /// nondeterminism, …
    Loop(LoopError),
    /// The sweep could not start: a malformed environment variable or trace file, or a
    /// policy that cannot be re-seeded.
    BadInput,
    /// A bounded search ([`Builder::explore`]) hit its schedule limit before finishing.
    SearchLimit,
}

/// A failing run, with everything needed to understand and replay it. Its `Display` is
/// the report `check` prints.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Failure {
    /// The test's name (the builder's `name`, else the test thread's name).
    pub test: String,
    /// The failing seed (`None` for a replay or bad input).
    pub seed: Option<u64>,
    /// What was run: `seed 0x2a`, `replay of <path>`, ….
    pub source: String,
    /// The policy's name.
    pub policy: String,
    /// The step at which the run stopped.
    pub step: u64,
    /// The virtual time at which it stopped.
    pub time: Instant,
    /// The kind of failure.
    pub kind: FailureKind,
    /// The panic message or error.
    pub message: String,
    /// The full trace of the failing run.
    pub trace: Trace,
    /// Where the full trace was written, if it could be.
    pub trace_path: Option<PathBuf>,
    /// One line to paste that replays the failure.
    pub replay_command: String,
    /// The failing run's `tracing` log (virtual-time stamped).
    pub log: String,
    /// How many seeds passed before this one.
    pub seeds_passed: u64,
    /// The seed range of the sweep, if it was one.
    pub sweep: Option<Range<u64>>,
    /// The failing schedule reduced by the shrinker, if shrinking ran and found one.
    pub shrunk: Option<crate::shrink::Shrunk>,
}

impl Failure {
    /// A short summary: the seed, the message and the replay line.
    pub fn summary(&self) -> String {
        format!(
            "simloop: {} failed under {}: {}\n  replay: {}",
            self.test, self.source, self.message, self.replay_command
        )
    }
}

fn indent(f: &mut fmt::Formatter<'_>, text: &str) -> fmt::Result {
    for line in text.lines() {
        writeln!(f, "    {line}")?;
    }
    Ok(())
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "simloop: test `{}` failed", self.test)?;
        if self.kind == FailureKind::BadInput {
            write!(f, "  under:      {}", self.source)?;
        } else {
            write!(f, "  under:      {} (policy {})", self.source, self.policy)?;
        }
        if let Some(r) = &self.sweep {
            write!(
                f,
                ", after {} passing seed{} of the sweep {}..{}",
                self.seeds_passed,
                if self.seeds_passed == 1 { "" } else { "s" },
                r.start,
                r.end
            )?;
        }
        writeln!(f)?;
        let what = match &self.kind {
            FailureKind::Panicked => "panicked",
            FailureKind::ReturnedErr => "returned an error",
            FailureKind::Loop(_) => "loop error",
            FailureKind::BadInput => "bad input",
            FailureKind::SearchLimit => "search limit",
        };
        writeln!(f, "  failure:    {what}: {}", self.message)?;
        writeln!(
            f,
            "  at:         step {}, virtual time {}",
            self.step, self.time
        )?;
        if !matches!(self.kind, FailureKind::BadInput | FailureKind::SearchLimit) {
            writeln!(f, "  last {TAIL} trace events:")?;
            indent(f, &self.trace.render_tail(TAIL))?;
            let lines: Vec<&str> = self.log.lines().collect();
            if !lines.is_empty() {
                let from = lines.len().saturating_sub(TAIL);
                writeln!(
                    f,
                    "  log of this run (last {} of {} lines):",
                    lines.len() - from,
                    lines.len()
                )?;
                for l in &lines[from..] {
                    writeln!(f, "    {l}")?;
                }
            }
            match &self.trace_path {
                Some(p) => writeln!(f, "  full trace: {}", p.display())?,
                None => writeln!(f, "  full trace: (not written)")?,
            }
            if let Some(s) = &self.shrunk {
                write!(f, "{s}")?;
            }
        }
        write!(f, "  replay:     {}", self.replay_command)
    }
}

impl std::error::Error for Failure {}

/// What a passing sweep did.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Summary {
    /// Seeds (or replays) run.
    pub runs: u64,
    /// Seeds that were run twice and compared.
    pub determinism_checked: u64,
    /// Steps taken over all runs.
    pub steps: u64,
}

/// Builds the replay line(s) from the test name and the trace file (if written).
pub(crate) type ReplayLines = Box<dyn FnOnce(&str, Option<&Path>) -> String>;

/// One run that is not a seed: its policy, how the report names it, and how to replay it.
pub(crate) struct SingleRun {
    pub(crate) policy: Box<dyn Policy>,
    /// The report's "under:" text, e.g. `fuzz input (37 bytes)`.
    pub(crate) source: String,
    /// The trace file's name part (sanitized).
    pub(crate) file_tag: String,
    /// The replay line(s), given the test name and the trace file (if written).
    pub(crate) replay: ReplayLines,
}

pub(crate) struct Outcome {
    pub(crate) result: Result<(), (FailureKind, String)>,
    pub(crate) trace: Trace,
    pub(crate) steps: u64,
    pub(crate) time: Instant,
    pub(crate) log: String,
}

impl Failure {
    /// A failure that happened before any run (bad input, a search limit): no trace.
    pub(crate) fn without_run(
        test: &str,
        source: String,
        policy: String,
        kind: FailureKind,
        message: String,
        replay_command: &str,
    ) -> Failure {
        Failure {
            test: test.to_owned(),
            seed: None,
            source,
            trace: Trace::new(&policy, None),
            policy,
            step: 0,
            time: Instant::ZERO,
            kind,
            message,
            trace_path: None,
            replay_command: replay_command.to_owned(),
            log: String::new(),
            seeds_passed: 0,
            sweep: None,
            shrunk: None,
        }
    }
}

impl Outcome {
    /// This run as a failure report; the caller adds the trace file, the replay line and
    /// the sweep's position.
    pub(crate) fn into_failure(
        self,
        test: &str,
        seed: Option<u64>,
        source: String,
        kind: FailureKind,
        message: String,
    ) -> Failure {
        Failure {
            test: test.to_owned(),
            seed,
            source,
            policy: self.trace.policy().to_owned(),
            step: failure_step(&kind, self.steps),
            time: self.time,
            kind,
            message,
            trace: self.trace,
            trace_path: None,
            replay_command: String::new(),
            log: self.log,
            seeds_passed: 0,
            sweep: None,
            shrunk: None,
        }
    }
}

impl Builder {
    /// The seeds a sweep runs (end excluded). `SIMLOOP_SEEDS` overrides it and
    /// `SIMLOOP_SEED` replaces it with one seed; the default is `0..1000`.
    pub fn seeds(mut self, seeds: Range<u64>) -> Builder {
        self.seeds = Some(seeds);
        self
    }

    /// The test's name in reports and replay lines (default: the test thread's name,
    /// which `cargo test` sets to the test's path).
    pub fn name(mut self, name: impl Into<String>) -> Builder {
        self.name = Some(name.into());
        self
    }

    /// Where failing traces are written (default `target/simloop`; `SIMLOOP_TRACE_DIR`
    /// overrides it).
    pub fn trace_dir(mut self, dir: impl Into<PathBuf>) -> Builder {
        self.trace_dir = Some(dir.into());
        self
    }

    /// Runs every seed twice and compares (`true`), or never (`false`). By default the
    /// first seed and every 64th after it are checked. `SIMLOOP_CHECK_DETERMINISM`
    /// overrides it.
    pub fn check_determinism(mut self, on: bool) -> Builder {
        self.check_determinism = Some(on);
        self
    }

    /// Replays a recorded trace instead of sweeping seeds (as `SIMLOOP_REPLAY` does).
    /// A malformed source is reported when the sweep runs.
    pub fn replay(mut self, source: impl TraceSource) -> Builder {
        self.replay = Some(source.load());
        self
    }

    /// Uses these environment values instead of reading the process environment.
    pub fn env(mut self, env: Env) -> Builder {
        self.env = Some(env);
        self
    }

    /// Whether to capture each run's `tracing` log for the report (default `true`).
    pub fn capture_logs(mut self, on: bool) -> Builder {
        self.capture_logs = on;
        self
    }

    /// Sweeps `body` over the seeds; on the first failure prints the report to stderr and
    /// panics with its summary (which contains the replay line).
    ///
    /// ```
    /// simloop::Builder::new().seeds(0..50).check(|| async {
    ///     let v = simloop::gather((0..3).map(|i| async move { simloop::yield_now().await; i })).await;
    ///     assert_eq!(v, [0, 1, 2]);
    /// });
    /// ```
    ///
    /// # Panics
    /// On a failing seed, a malformed `SIMLOOP_*` variable or trace.
    #[track_caller]
    pub fn check<F, Fut>(self, body: F)
    where
        F: Fn() -> Fut,
        Fut: Future + 'static,
        Fut::Output: CheckOutcome,
    {
        if let Err(failure) = self.run(body) {
            eprintln!("{failure}");
            panic!("{}", failure.summary());
        }
    }

    /// Like [`check`](Builder::check), but returns the failure instead of panicking, and
    /// prints nothing.
    ///
    /// ```
    /// use std::{cell::Cell, rc::Rc};
    /// let failure = simloop::Builder::new()
    ///     .seeds(0..100)
    ///     .trace_dir(std::env::temp_dir().join("simloop-doc"))
    ///     .run(|| async {
    ///         let n = Rc::new(Cell::new(0));
    ///         let a = { let n = n.clone(); async move { let v = n.get(); simloop::yield_now().await; n.set(v + 1) } };
    ///         let b = { let n = n.clone(); async move { let v = n.get(); simloop::yield_now().await; n.set(v + 1) } };
    ///         simloop::gather([Box::pin(a) as std::pin::Pin<Box<dyn std::future::Future<Output = ()>>>, Box::pin(b)]).await;
    ///         if n.get() == 2 { Ok(()) } else { Err(format!("counter is {}", n.get())) }
    ///     })
    ///     .unwrap_err();
    /// assert!(failure.message.contains("counter is 1"));
    /// assert!(failure.replay_command.starts_with(&format!("SIMLOOP_SEED={:#x}", failure.seed.unwrap())));
    /// ```
    ///
    /// # Errors
    /// The first failing run, with its report.
    pub fn run<F, Fut>(self, body: F) -> Result<Summary, Box<Failure>>
    where
        F: Fn() -> Fut,
        Fut: Future + 'static,
        Fut::Output: CheckOutcome,
    {
        self.sweep_or_replay(&body).map_err(|mut failure| {
            self.shrink_failure(&body, &mut failure);
            failure
        })
    }

    /// [`run`](Builder::run) without shrinking.
    pub(crate) fn sweep_or_replay<F, Fut>(&self, body: &F) -> Result<Summary, Box<Failure>>
    where
        F: Fn() -> Fut,
        Fut: Future + 'static,
        Fut::Output: CheckOutcome,
    {
        let test = self.name.clone().unwrap_or_else(default_test_name);
        let policy_name = self
            .policy
            .as_ref()
            .map_or_else(|| "portfolio".to_owned(), |p| p.name());
        let bad = |message: String| {
            Box::new(Failure::without_run(
                &test,
                "setup".to_owned(),
                policy_name.clone(),
                FailureKind::BadInput,
                message,
                "(nothing to replay: fix the input above)",
            ))
        };
        let env = match self.env.clone() {
            Some(e) => e,
            None => Env::from_process().map_err(|e| bad(e.to_string()))?,
        };
        let dir = env
            .trace_dir
            .clone()
            .or_else(|| self.trace_dir.clone())
            .unwrap_or_else(|| PathBuf::from("target/simloop"));

        // Replay mode: the builder's trace, else SIMLOOP_REPLAY.
        let replay = match &self.replay {
            Some(r) => Some(r.clone().map_err(&bad)?),
            None => match &env.replay {
                Some(p) => Some(p.as_path().load().map_err(&bad)?),
                None => None,
            },
        };
        if let Some((recorded, path)) = replay {
            return self.replay_run(&test, &dir, recorded, path, body);
        }

        // A fuzzer's crash input (SIMLOOP_FUZZ_INPUT): one run under the `Bytes` policy.
        if let Some(path) = &env.fuzz_input {
            let data = fs::read(path).map_err(|e| {
                bad(format!(
                    "SIMLOOP_FUZZ_INPUT: cannot read the fuzz input {}: {e}",
                    path.display()
                ))
            })?;
            let single =
                crate::fuzz::single_run(data, crate::fuzz::Origin::File(path.clone()), &dir);
            return self.single_run(&test, &dir, single, &body);
        }

        // Sweep mode.
        let (seeds, sweep): (Vec<u64>, Option<Range<u64>>) = match env.seed {
            Some(s) => (vec![s], None),
            None => {
                let range = env
                    .seeds
                    .clone()
                    .or_else(|| self.seeds.clone())
                    .unwrap_or(DEFAULT_SEEDS);
                let seeds = match env.shard {
                    Some((i, n)) => shard_seeds(range.clone(), i, n).collect(),
                    None => range.clone().collect(),
                };
                (seeds, Some(range))
            }
        };
        let determinism = env.check_determinism.or(self.check_determinism);
        let mut summary = Summary {
            runs: 0,
            determinism_checked: 0,
            steps: 0,
        };
        let learned = self.learn_run_length(&body);
        for (index, &seed) in seeds.iter().enumerate() {
            let policy = self.sweep_policy(&learned, seed).map_err(&bad)?;
            let twice = determinism.unwrap_or(index % 64 == 0);
            let outcome = if twice {
                summary.determinism_checked += 1;
                let log = Rc::new(std::cell::RefCell::new(Vec::new()));
                let first = self.run_one(
                    Box::new(Watched {
                        inner: policy,
                        watch: Watch::Record(log.clone()),
                    }),
                    body,
                );
                let expected = Rc::new(std::mem::take(&mut *log.borrow_mut()));
                let second = self.run_one(
                    Box::new(Watched {
                        inner: self.sweep_policy(&learned, seed).map_err(&bad)?,
                        watch: Watch::Check(expected),
                    }),
                    body,
                );
                compare_runs(first, second)
            } else {
                self.run_one(policy, body)
            };
            summary.runs += 1;
            summary.steps += outcome.steps;
            let mut outcome = outcome;
            if let Err((kind, message)) = std::mem::replace(&mut outcome.result, Ok(())) {
                let source = format!("seed {seed:#x}");
                let (trace_path, write_err) = write_trace(&dir, &test, &source, &outcome.trace);
                let env_part = format!("SIMLOOP_SEED={seed:#x}");
                let mut replay_command = cargo_test_line(&env_part, &test);
                if let Some(p) = &trace_path {
                    replay_command.push_str(&format!(
                        "\n              or follow the trace file: {}",
                        cargo_test_line(&format!("SIMLOOP_REPLAY={}", p.display()), &test)
                    ));
                }
                let mut message = message;
                if let Some(e) = write_err {
                    message.push_str(&format!(" (and the trace file could not be written: {e})"));
                }
                let mut f = outcome.into_failure(&test, Some(seed), source, kind, message);
                f.trace_path = trace_path;
                f.replay_command = replay_command;
                f.seeds_passed = index as u64;
                f.sweep = sweep;
                return Err(Box::new(f));
            }
        }
        Ok(summary)
    }

    fn policy_for(&self, seed: u64) -> Result<Box<dyn Policy>, String> {
        match &self.policy {
            None => Ok(Portfolio::new().pick(seed)),
            Some(p) => p.reseeded(seed).ok_or_else(|| {
                format!(
                    "policy `{}` cannot be re-seeded for a sweep: implement Policy::reseeded, \
                     or build one loop with Builder::build",
                    p.name()
                )
            }),
        }
    }

    /// The probe runs of a sweep whose policy needs the test's run length (PCT, the
    /// default portfolio): runs the test under each of the policy's probes, counting real
    /// decisions, and returns the policy that knows the largest count. Their outcomes are
    /// ignored (the sweep itself reports failures); they depend on nothing but the test,
    /// so a one-seed rerun learns the same length.
    fn learn_run_length<F, Fut>(&self, body: &F) -> Option<Box<dyn Policy>>
    where
        F: Fn() -> Fut,
        Fut: Future + 'static,
        Fut::Output: CheckOutcome,
    {
        let default;
        let proto: &dyn Policy = match &self.policy {
            Some(p) => p,
            None => {
                default = Portfolio::new();
                &default
            }
        };
        let probes = proto.length_probes();
        if probes.is_empty() {
            return None;
        }
        let mut longest = 0;
        for probe in probes {
            let count = Rc::new(std::cell::Cell::new(0));
            let _ = self.run_one(
                Box::new(CountDecisions {
                    inner: probe,
                    count: count.clone(),
                }),
                body,
            );
            longest = longest.max(count.get());
        }
        proto.with_run_length(longest)
    }

    /// Seed `seed`'s policy: from the learned prototype if there is one.
    fn sweep_policy(
        &self,
        learned: &Option<Box<dyn Policy>>,
        seed: u64,
    ) -> Result<Box<dyn Policy>, String> {
        match learned.as_ref().and_then(|p| p.reseeded(seed)) {
            Some(p) => Ok(p),
            None => self.policy_for(seed),
        }
    }

    pub(crate) fn run_one<F, Fut>(&self, policy: Box<dyn Policy>, body: &F) -> Outcome
    where
        F: Fn() -> Fut,
        Fut: Future + 'static,
        Fut::Output: CheckOutcome,
    {
        let lp = new_loop(policy, self.seed, self.max_steps);
        let buf = Buffer::default();
        let go = || {
            let r = catch_unwind(AssertUnwindSafe(|| lp.run_until_complete(body())));
            if matches!(r, Ok(Ok(_))) {
                // Cancel what is left, as asyncio.run does; a failure here is a failure.
                match lp.cancel_leftovers() {
                    Ok(()) => r,
                    Err(e) => Ok(Err(e)),
                }
            } else {
                r
            }
        };
        let r = if self.capture_logs {
            with_buffer(&buf, go)
        } else {
            go()
        };
        let result = match r {
            Ok(Ok(out)) => out
                .into_check_result()
                .map_err(|m| (FailureKind::ReturnedErr, m)),
            Ok(Err(e)) => Err((FailureKind::Loop(e.clone()), e.to_string())),
            Err(p) => Err((FailureKind::Panicked, panic_text(&*p))),
        };
        let out = Outcome {
            result,
            trace: lp.trace(),
            steps: lp.steps(),
            time: lp.time(),
            log: buf.take_string(),
        };
        let _ = lp.close_quietly();
        out
    }

    /// Runs `body` once under `single.policy` and reports a failure like a failing seed,
    /// with `single`'s source and replay lines (a fuzz input).
    pub(crate) fn single_run<F, Fut>(
        &self,
        test: &str,
        dir: &Path,
        single: SingleRun,
        body: &F,
    ) -> Result<Summary, Box<Failure>>
    where
        F: Fn() -> Fut,
        Fut: Future + 'static,
        Fut::Output: CheckOutcome,
    {
        let mut outcome = self.run_one(single.policy, body);
        let (kind, mut message) = match std::mem::replace(&mut outcome.result, Ok(())) {
            Ok(()) => {
                return Ok(Summary {
                    runs: 1,
                    determinism_checked: 0,
                    steps: outcome.steps,
                })
            }
            Err(e) => e,
        };
        let (trace_path, write_err) = write_trace(dir, test, &single.file_tag, &outcome.trace);
        if let Some(e) = write_err {
            message.push_str(&format!(" (and the trace file could not be written: {e})"));
        }
        let replay_command = (single.replay)(test, trace_path.as_deref());
        let mut f = outcome.into_failure(test, None, single.source, kind, message);
        f.trace_path = trace_path;
        f.replay_command = replay_command;
        Err(Box::new(f))
    }

    /// The trace of one run of `body` under `policy` (whatever the run's outcome).
    pub(crate) fn trace_of<F, Fut>(&self, policy: Box<dyn Policy>, body: &F) -> Trace
    where
        F: Fn() -> Fut,
        Fut: Future + 'static,
        Fut::Output: CheckOutcome,
    {
        self.run_one(policy, body).trace
    }

    /// The test name and trace directory a run reports under (the builder's, else the
    /// environment's, else the defaults), for entry points that do not sweep.
    pub(crate) fn report_target(&self) -> (String, PathBuf) {
        let test = self.name.clone().unwrap_or_else(default_test_name);
        let env_dir = match &self.env {
            Some(e) => e.trace_dir.clone(),
            None => Env::from_process().ok().and_then(|e| e.trace_dir),
        };
        let dir = env_dir
            .or_else(|| self.trace_dir.clone())
            .unwrap_or_else(|| PathBuf::from("target/simloop"));
        (test, dir)
    }

    fn replay_run<F, Fut>(
        &self,
        test: &str,
        dir: &Path,
        recorded: Trace,
        path: Option<PathBuf>,
        body: &F,
    ) -> Result<Summary, Box<Failure>>
    where
        F: Fn() -> Fut,
        Fut: Future + 'static,
        Fut::Output: CheckOutcome,
    {
        let source = match &path {
            Some(p) => format!("replay of {}", p.display()),
            None => "replay of a recorded trace".to_owned(),
        };
        let mut outcome = self.run_one(Box::new(Replay::new(&recorded)), body);
        // A faithful replay reproduces the recorded trace byte for byte; anything else is
        // a divergence, reported at the first line that differs.
        if !matches!(
            &outcome.result,
            Err((FailureKind::Loop(LoopError::Divergence { .. }), _))
        ) {
            if let Some((line, want, got)) = recorded.first_difference(&outcome.trace) {
                let e = LoopError::Divergence {
                    step: outcome.steps,
                    expected: format!(
                        "event {} to be {}",
                        line + 1,
                        want.as_deref().unwrap_or("the end of the trace")
                    ),
                    runnable: format!(
                        "(the replay recorded {})",
                        got.as_deref().unwrap_or("the end of the run")
                    ),
                };
                let msg = match &outcome.result {
                    Err((_, m)) => format!("{e} (the replay also failed: {m})"),
                    Ok(()) => e.to_string(),
                };
                outcome.result = Err((FailureKind::Loop(e), msg));
            }
        }
        match std::mem::replace(&mut outcome.result, Ok(())) {
            Ok(()) => Ok(Summary {
                runs: 1,
                determinism_checked: 0,
                steps: outcome.steps,
            }),
            Err((kind, message)) => {
                let (trace_path, _) = write_trace(dir, test, "replay", &outcome.trace);
                // The replay line must follow the *recorded* trace: its own file, or a
                // copy of an in-memory trace written next to the replay's.
                let shown = match &path {
                    Some(p) => Some(p.clone()),
                    None => write_trace(dir, test, "recorded", &recorded).0,
                };
                let replay_command = match (&shown, recorded.seed()) {
                    (Some(p), _) => {
                        cargo_test_line(&format!("SIMLOOP_REPLAY={}", p.display()), test)
                    }
                    (None, Some(s)) => cargo_test_line(&format!("SIMLOOP_SEED={s:#x}"), test),
                    (None, None) => "(no trace file to replay)".to_owned(),
                };
                let mut f = outcome.into_failure(test, recorded.seed(), source, kind, message);
                f.trace_path = trace_path;
                f.replay_command = replay_command;
                Err(Box::new(f))
            }
        }
    }
}

/// Folds the two runs of a determinism check into one outcome.
fn compare_runs(first: Outcome, second: Outcome) -> Outcome {
    if let Err((FailureKind::Loop(LoopError::Nondeterminism { .. }), _)) = &second.result {
        return second;
    }
    if let Some((line, a, b)) = first.trace.first_difference(&second.trace) {
        let e = LoopError::Nondeterminism {
            step: second.steps.min(first.steps),
            first: format!(
                "event {}: {}",
                line + 1,
                a.as_deref().unwrap_or("<end of trace>")
            ),
            second: format!(
                "event {}: {}",
                line + 1,
                b.as_deref().unwrap_or("<end of trace>")
            ),
        };
        let msg = e.to_string();
        return Outcome {
            result: Err((FailureKind::Loop(e), msg)),
            ..second
        };
    }
    if first.result != second.result {
        let e = LoopError::Nondeterminism {
            step: second.steps,
            first: format!("{:?}", first.result),
            second: format!("{:?}", second.result),
        };
        let msg = e.to_string();
        return Outcome {
            result: Err((FailureKind::Loop(e), msg)),
            ..second
        };
    }
    first
}

/// The step a failure names: the step a divergence or nondeterminism could not take,
/// else the last step the run took.
pub(crate) fn failure_step(kind: &FailureKind, steps: u64) -> u64 {
    match kind {
        FailureKind::Loop(LoopError::Divergence { step, .. })
        | FailureKind::Loop(LoopError::Nondeterminism { step, .. }) => *step,
        _ => steps,
    }
}

pub(crate) fn sanitize(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

pub(crate) fn write_trace(
    dir: &Path,
    test: &str,
    source: &str,
    trace: &Trace,
) -> (Option<PathBuf>, Option<String>) {
    let file = dir.join(format!("{}-{}.trace", sanitize(test), sanitize(source)));
    let r = fs::create_dir_all(dir).and_then(|()| fs::write(&file, trace.to_string()));
    match r {
        Ok(()) => (Some(file), None),
        Err(e) => (None, Some(format!("{}: {e}", file.display()))),
    }
}

pub(crate) fn default_test_name() -> String {
    match std::thread::current().name() {
        Some(n) if n != "main" => n.to_owned(),
        _ => String::new(),
    }
}

/// `ENV cargo test <target> -- <test> --exact`, guessing the target from the running
/// test binary's name.
pub(crate) fn cargo_test_line(env_part: &str, test: &str) -> String {
    let target = std::env::current_exe().ok().and_then(|exe| {
        let stem = exe.file_stem()?.to_str()?.to_owned();
        let base = match stem.rsplit_once('-') {
            Some((b, h)) if h.len() == 16 && h.chars().all(|c| c.is_ascii_hexdigit()) => {
                b.to_owned()
            }
            _ => stem,
        };
        let in_examples = exe
            .parent()
            .and_then(|p| p.file_name())
            .is_some_and(|n| n == "examples");
        let pkg = std::env::var("CARGO_PKG_NAME")
            .ok()
            .map(|p| p.replace('-', "_"));
        Some(if in_examples {
            format!("--example {base}")
        } else if pkg.as_deref() == Some(base.as_str()) {
            "--lib".to_owned()
        } else {
            format!("--test {base}")
        })
    });
    let mut line = format!("{env_part} cargo test");
    if let Some(t) = target {
        if t.starts_with("--example") {
            // An example is run, not tested.
            return format!("{env_part} cargo run {t}");
        }
        line.push(' ');
        line.push_str(&t);
    }
    if !test.is_empty() {
        line.push_str(&format!(" -- {test} --exact"));
    }
    line
}
