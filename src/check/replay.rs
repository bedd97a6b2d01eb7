//! Replaying a recorded trace (`SIMLOOP_REPLAY`, [`replay`](crate::replay),
//! `Builder::replay`): step for step, then byte for byte.

use std::path::{Path, PathBuf};

use super::body::Body;
use super::builder::Builder;
use super::report::{cargo_test_line, write_trace, Failure, FailureKind, Ran, Summary};
use crate::error::{LoopError, REPLAY_RECORDED};
use crate::policy::Replay;
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
                let msg = match &outcome.result {
                    Err((_, m)) => format!("{e} (the replay also failed: {m})"),
                    Ok(()) => e.to_string(),
                };
                outcome.result = Err((FailureKind::Loop(e), msg));
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
