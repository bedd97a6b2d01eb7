//! [`Plan`]: a terminal's settings, resolved once — the test's name, the environment,
//! the trace directory — from the builder and the environment (which may override what
//! the code asked for: that is how replay lines work).

use std::path::PathBuf;

use super::builder::Builder;
use super::report::{binary_name, Failure, FailureKind, Ran};
use crate::env::Env;

/// Where failing traces go unless the builder or `SIMLOOP_TRACE_DIR` says otherwise.
pub(crate) const DEFAULT_TRACE_DIR: &str = "target/simloop";

/// A terminal's resolved settings.
pub(crate) struct Plan {
    /// The test's name in reports and replay lines.
    pub(crate) test: String,
    /// The `SIMLOOP_*` values (the builder's `env`, else the process's).
    pub(crate) env: Env,
    /// Where trace files are written.
    pub(crate) dir: PathBuf,
}

impl Builder {
    /// Resolves the name, the environment and the trace directory; a malformed `SIMLOOP_*`
    /// variable is a bad-input failure naming `policy`.
    pub(crate) fn plan(&self, policy: &str) -> Result<Plan, Box<Failure>> {
        let test = self.name.clone().unwrap_or_else(default_test_name);
        let env = match &self.env {
            Some(e) => e.clone(),
            None => Env::from_process()
                .map_err(|e| Box::new(Failure::bad_input(&test, policy, e.to_string())))?,
        };
        let dir = env
            .trace_dir
            .clone()
            .or_else(|| self.trace_dir.clone())
            .unwrap_or_else(|| PathBuf::from(DEFAULT_TRACE_DIR));
        Ok(Plan { test, env, dir })
    }
}

impl Failure {
    /// Input that is wrong before anything runs (a malformed variable or trace, an
    /// unreadable fuzz input).
    pub(crate) fn bad_input(test: &str, policy: &str, message: String) -> Failure {
        let mut f = Failure::new(
            test,
            "setup".to_owned(),
            FailureKind::BadInput,
            message,
            Ran::Nothing {
                policy: policy.to_owned(),
            },
        );
        f.replay_command = "(nothing to replay: fix the input above)".to_owned();
        f
    }
}

/// The test's name: the test thread's name (`cargo test` names it after the test); on the
/// main thread or an unnamed one (a program run with `cargo run`, an example), the
/// binary's name without cargo's hash suffix, which replay lines never use as a test
/// filter.
pub(crate) fn default_test_name() -> String {
    match std::thread::current().name() {
        Some(n) if n != "main" => n.to_owned(),
        _ => binary_name().unwrap_or_default(),
    }
}
