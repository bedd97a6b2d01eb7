//! Replaying a recorded trace (`SIMLOOP_REPLAY`, [`replay`](crate::replay),
//! `Builder::replay`): step for step, then byte for byte.

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use super::body::Body;
use super::builder::Builder;
use super::report::{cargo_test_line, write_trace, Failure, FailureKind, Outcome, Ran, Summary};
use crate::error::{LoopError, REPLAY_RECORDED};
use crate::policy::replay_stream::StreamReplay;
use crate::policy::{Decision, Policy, Replay};
use crate::trace::reader::TraceReader;
use crate::trace::Trace;

impl Builder {
    pub(crate) fn replay_run<B: Body>(
        &self,
        test: &str,
        dir: &Path,
        recorded: Trace,
        path: Option<PathBuf>,
        body: &B,
    ) -> Result<Summary, Box<Failure>> {
        if recorded.is_truncated() {
            let message = truncated_replay(&recorded, path.as_deref(), test);
            return Err(Box::new(Failure::bad_input(
                test,
                recorded.policy(),
                message,
            )));
        }
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
                // The step of the first differing event (on whichever side has it).
                let step = recorded
                    .events()
                    .nth(line)
                    .or_else(|| outcome.trace.events().nth(line))
                    .map_or(outcome.steps, |e| e.step);
                let e = LoopError::Divergence {
                    step,
                    expected: format!(
                        "event {} to be {}",
                        line + 1,
                        want.as_deref().map_or_else(
                            || "the end of the trace".to_owned(),
                            |l| format!("`{}`", outcome.trace.line_with_origin(l))
                        )
                    ),
                    runnable: format!(
                        "{REPLAY_RECORDED}{} there",
                        got.as_deref().map_or_else(
                            || "the end of the run".to_owned(),
                            |l| format!("`{}`", outcome.trace.line_with_origin(l))
                        )
                    ),
                };
                diverged(&mut outcome, e);
            }
        }
        match std::mem::replace(&mut outcome.result, Ok(())) {
            Ok(()) => Ok(Summary::new(
                format!("replayed {}", source.trim_start_matches("replay of ")),
                1,
                outcome.steps,
            )),
            Err((kind, message)) => {
                // The replay line must follow the *recorded* trace: its own file, or a
                // copy of an in-memory trace written next to the replay's.
                let shown = match &path {
                    Some(p) => Some(p.clone()),
                    None => write_trace(dir, test, "recorded", &recorded).0,
                };
                let mut f = Failure::new(test, source, kind, message, Ran::Run(Box::new(outcome)));
                f.write_trace_file(dir, "replay");
                f.seed = recorded.seed();
                f.replay_command = match (&shown, recorded.seed()) {
                    (Some(p), _) => {
                        cargo_test_line(&format!("SIMLOOP_REPLAY={}", p.display()), test)
                    }
                    (None, Some(s)) => cargo_test_line(&format!("SIMLOOP_SEED={s:#x}"), test),
                    (None, None) => "(no trace file to replay)".to_owned(),
                };
                Err(Box::new(f))
            }
        }
    }
}

/// Why a truncated trace (see [`Trace::is_truncated`]) cannot be replayed, and what to run
/// instead.
fn truncated_replay(recorded: &Trace, path: Option<&Path>, test: &str) -> String {
    let what = path.map_or_else(
        || "the trace".to_owned(),
        |p| format!("the trace file {}", p.display()),
    );
    let instead = match recorded.seed() {
        Some(s) => format!(
            "replay its seed instead: {}",
            cargo_test_line(&format!("SIMLOOP_SEED={s:#x}"), test)
        ),
        None => "re-run what found it (the search or the fuzz input) instead: it is \
                 deterministic"
            .to_owned(),
    };
    format!(
        "{what} is truncated (the run was too long to record in full), so it cannot be \
         replayed step by step; {instead}"
    )
}

impl Builder {
    /// Replays a trace file too long to load (see `source::STREAM_REPLAY_ABOVE`): the
    /// file is read as the run goes, and at the end the run's trace is compared with the
    /// file's by event count, step count and digest (a step that differs is reported at
    /// that step, as in any replay).
    pub(crate) fn replay_streamed<B: Body>(
        &self,
        test: &str,
        dir: &Path,
        path: &Path,
        body: &B,
    ) -> Result<Summary, Box<Failure>> {
        let reader =
            TraceReader::open(path).map_err(|m| Box::new(Failure::bad_input(test, "replay", m)))?;
        let seed = reader.header().1;
        let shared = Rc::new(RefCell::new(Some(StreamReplay::new(reader))));
        let mut outcome = self.run_one(Box::new(Shared(shared.clone())), body);
        let replay = shared.borrow_mut().take();
        let source = format!("replay of {}", path.display());
        if !matches!(
            &outcome.result,
            Err((FailureKind::Loop(LoopError::Divergence { .. }), _))
        ) {
            let (reader, error) = match replay {
                Some(r) => r.into_reader(),
                None => unreachable!("the replay policy is taken once"),
            };
            let recorded = match error {
                Some(e) => Err(e),
                None => reader.finish(),
            };
            let t = &outcome.trace;
            let mismatch = match recorded {
                Err(e) => Some(format!("the file to be readable to its end ({e})")),
                Ok((events, steps, digest))
                    if (events, steps, digest) != (t.len(), t.steps(), t.digest()) =>
                {
                    Some(format!(
                        "the run's trace to be the file's: {events} events, {steps} steps, \
                         digest {digest:#018x} (a file this long is compared by its counts and \
                         digest, not line by line)"
                    ))
                }
                Ok(_) => None,
            };
            if let Some(expected) = mismatch {
                let e = LoopError::Divergence {
                    step: outcome.steps,
                    expected,
                    runnable: format!(
                        "{REPLAY_RECORDED}{} events, {} steps, digest {:#018x}",
                        t.len(),
                        t.steps(),
                        t.digest()
                    ),
                };
                diverged(&mut outcome, e);
            }
        }
        match std::mem::replace(&mut outcome.result, Ok(())) {
            Ok(()) => Ok(Summary::new(
                format!("replayed {}", path.display()),
                1,
                outcome.steps,
            )),
            Err((kind, message)) => {
                let mut f = Failure::new(test, source, kind, message, Ran::Run(Box::new(outcome)));
                f.write_trace_file(dir, "replay");
                f.seed = seed;
                f.replay_command =
                    cargo_test_line(&format!("SIMLOOP_REPLAY={}", path.display()), test);
                Err(Box::new(f))
            }
        }
    }
}

/// Makes `outcome` fail with the divergence `e`, keeping the run's own failure, if any,
/// in the message.
fn diverged(outcome: &mut Outcome, e: LoopError) {
    let msg = match &outcome.result {
        Err((_, m)) => format!("{e} (the replay also failed: {m})"),
        Ok(()) => e.to_string(),
    };
    outcome.result = Err((FailureKind::Loop(e), msg));
}

/// A policy shared with the code that runs it, so the replay's reader can be taken back
/// after the run.
struct Shared(Rc<RefCell<Option<StreamReplay>>>);

impl Shared {
    fn with<T>(&self, f: impl FnOnce(&mut StreamReplay) -> T) -> T {
        match self.0.borrow_mut().as_mut() {
            Some(r) => f(r),
            None => unreachable!("the replay policy is taken only after the run"),
        }
    }
}

impl Policy for Shared {
    fn name(&self) -> String {
        self.with(|r| r.name())
    }
    fn seed(&self) -> Option<u64> {
        self.with(|r| r.seed())
    }
    fn every_step(&self) -> bool {
        true
    }
    fn buggify(&mut self, site: u32, hit: u32) -> Option<bool> {
        self.with(|r| r.buggify(site, hit))
    }
    fn user_choice(&mut self, n: u32) -> Option<u32> {
        self.with(|r| r.user_choice(n))
    }
    fn random_u64(&mut self) -> Option<u64> {
        self.with(|r| r.random_u64())
    }
    fn choose(&mut self, d: &Decision<'_>) -> Result<usize, LoopError> {
        self.with(|r| r.choose(d))
    }
}
