//! One run of a body on a fresh loop: the building block of every terminal.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;

use super::body::{Body, CheckOutcome};
use super::builder::Builder;
use super::quiet::recording_panics;
use super::report::{FailureKind, Outcome};
use crate::event_loop::new_loop;
use crate::event_loop::sites::TaskStep;
use crate::log::{with_buffer, Buffer};
use crate::policy::Policy;
use crate::task::error::panic_text;
use crate::trace::origin::Origin;
use crate::trace::Trace;

impl Builder {
    /// Runs `body` once under `policy`, quietly: its panics reach no panic hook and are
    /// recorded in the outcome instead (see [`quiet`](super::quiet)).
    pub(crate) fn run_one<B: Body>(&self, policy: Box<dyn Policy>, body: &B) -> Outcome {
        self.run_one_full(policy, body, None, false).0
    }

    /// [`run_one`](Builder::run_one), streaming the whole trace to a file at `stream` (an
    /// error creating it is returned in place of the run).
    pub(crate) fn run_one_streamed<B: Body>(
        &self,
        policy: Box<dyn Policy>,
        body: &B,
        stream: Option<&Path>,
    ) -> Outcome {
        self.run_one_full(policy, body, stream, false).0
    }

    /// [`run_one`](Builder::run_one), keeping the loop's await-site log if `sites`
    /// (`event_loop/sites.rs`; the run is the same either way).
    pub(crate) fn run_one_with_sites<B: Body>(
        &self,
        policy: Box<dyn Policy>,
        body: &B,
        sites: bool,
    ) -> (Outcome, Vec<TaskStep>) {
        self.run_one_full(policy, body, None, sites)
    }

    fn run_one_full<B: Body>(
        &self,
        policy: Box<dyn Policy>,
        body: &B,
        stream: Option<&Path>,
        sites: bool,
    ) -> (Outcome, Vec<TaskStep>) {
        let ((mut out, log), panics) =
            recording_panics(|| self.run_one_loud(policy, body, stream, sites));
        out.panics = panics;
        (out, log)
    }

    fn run_one_loud<B: Body>(
        &self,
        policy: Box<dyn Policy>,
        body: &B,
        stream: Option<&Path>,
        sites: bool,
    ) -> (Outcome, Vec<TaskStep>) {
        let lp = new_loop(policy, None, self.max_steps);
        if let Some(bytes) = self.trace_memory {
            lp.set_trace_limit(bytes / 8);
        }
        let stream_error = stream.and_then(|p| lp.stream_trace(p).err());
        if sites {
            lp.record_sites();
        }
        let buf = Buffer::default();
        let go = || {
            let r = catch_unwind(AssertUnwindSafe(|| {
                lp.run_main(body.call(), Origin::body())
            }));
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
        let mut result = match r {
            Ok(Ok(out)) => out
                .into_check_result()
                .map_err(|m| (FailureKind::ReturnedErr, m)),
            Ok(Err(e)) => Err((FailureKind::Loop(e.clone()), e.to_string())),
            Err(p) => Err((FailureKind::Panicked, panic_text(&*p))),
        };
        if let Some(e) = stream_error {
            result = Err((
                FailureKind::ReturnedErr,
                format!("the trace file could not be created: {e}"),
            ));
        }
        let out = Outcome {
            result,
            trace: lp.take_trace(),
            steps: lp.steps(),
            time: lp.time(),
            log: buf.take_string(),
            panics: Vec::new(),
            nondeterminism: None,
        };
        let log = lp.take_sites();
        let _ = lp.close_quietly();
        (out, log)
    }

    /// The trace of one run of `body` under `policy` (whatever the run's outcome).
    pub(crate) fn trace_of<B: Body>(&self, policy: Box<dyn Policy>, body: &B) -> Trace {
        self.run_one(policy, body).trace
    }
}
