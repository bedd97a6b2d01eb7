//! Replaying a recorded trace (`SIMLOOP_REPLAY`, [`replay`](crate::replay),
//! `Builder::replay`): step for step, then byte for byte.

use std::path::{Path, PathBuf};

use super::body::Body;
use super::builder::Builder;
use super::report::{cargo_test_line, write_trace, Failure, FailureKind, Ran, Summary};
use crate::error::LoopError;
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
                        want.as_deref().map_or_else(
                            || "the end of the trace".to_owned(),
                            |l| outcome.trace.line_with_origin(l)
                        )
                    ),
                    runnable: format!(
                        "(the replay recorded {})",
                        got.as_deref().map_or_else(
                            || "the end of the run".to_owned(),
                            |l| outcome.trace.line_with_origin(l)
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
