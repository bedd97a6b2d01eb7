//! [`Plan`]: a terminal's settings, resolved once — the test's name, the environment,
//! the trace directory — from the builder and the environment (which may override what
//! the code asked for: that is how replay lines work).

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use super::builder::Builder;
use super::report::{binary_name, Failure, FailureKind, Ran};
use crate::env::Env;

/// Where failing traces go, under the target directory, unless the builder or
/// `SIMLOOP_TRACE_DIR` says otherwise.
pub(crate) const DEFAULT_TRACE_SUBDIR: &str = "simloop";

/// The target directory: `CARGO_TARGET_DIR` if set; else the one holding the running
/// binary (`…/target/debug/deps/name-hash` or `…/target/debug/examples/name` →
/// `…/target`), written as `target` when that is `cwd/target` (the usual case, so paths
/// in reports stay short); else `target`. A pure function of its inputs.
pub(crate) fn target_dir(
    cargo_target_dir: Option<OsString>,
    exe: Option<&Path>,
    cwd: Option<&Path>,
) -> PathBuf {
    if let Some(d) = cargo_target_dir.filter(|d| !d.is_empty()) {
        return PathBuf::from(d);
    }
    let from_exe = exe.and_then(|exe| {
        let dir = exe.parent()?;
        let name = dir.file_name()?;
        if name != "deps" && name != "examples" {
            return None;
        }
        Some(dir.parent()?.parent()?.to_path_buf())
    });
    match from_exe {
        Some(t) if cwd.is_some_and(|c| c.join("target") == t) => PathBuf::from("target"),
        Some(t) => t,
        None => PathBuf::from("target"),
    }
}

/// The default trace directory of this process.
fn default_trace_dir() -> PathBuf {
    let exe = std::env::current_exe().ok();
    let cwd = std::env::current_dir().ok();
    target_dir(
        std::env::var_os("CARGO_TARGET_DIR"),
        exe.as_deref(),
        cwd.as_deref(),
    )
    .join(DEFAULT_TRACE_SUBDIR)
}

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
            .unwrap_or_else(default_trace_dir);
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

#[cfg(test)]
mod tests {
    use super::target_dir;
    use std::path::{Path, PathBuf};

    #[test]
    fn target_dir_from_env_exe_or_default() {
        let exe = Path::new("/w/proj/target/debug/deps/check-0123456789abcdef");
        // CARGO_TARGET_DIR wins.
        assert_eq!(
            target_dir(
                Some("/tmp/tgt".into()),
                Some(exe),
                Some(Path::new("/w/proj"))
            ),
            PathBuf::from("/tmp/tgt")
        );
        // The test binary's target directory, short when it is ./target.
        assert_eq!(
            target_dir(None, Some(exe), Some(Path::new("/w/proj"))),
            PathBuf::from("target")
        );
        // A workspace member run from its own directory: the workspace's target.
        assert_eq!(
            target_dir(None, Some(exe), Some(Path::new("/w/proj/member"))),
            PathBuf::from("/w/proj/target")
        );
        let example = Path::new("/elsewhere/t/release/examples/bank");
        assert_eq!(
            target_dir(None, Some(example), None),
            PathBuf::from("/elsewhere/t")
        );
        // Not a cargo layout: `target`.
        assert_eq!(
            target_dir(None, Some(Path::new("/usr/bin/tool")), None),
            PathBuf::from("target")
        );
        assert_eq!(
            target_dir(Some("".into()), None, None),
            PathBuf::from("target")
        );
    }
}
