//! One run under a fuzzer's schedule (`SIMLOOP_FUZZ_INPUT`, `fuzz::check`, the
//! `fuzz_check` terminals): the [`Bytes`] policy, and how the report names and replays it.

use std::fs;
use std::path::{Path, PathBuf};

use super::body::Body;
use super::builder::Builder;
use super::plan::Plan;
use super::quiet::with_quiet_panics;
use super::report::{cargo_test_line, sanitize, Failure, Ran, Summary};
use crate::policy::{Bytes, Policy};
use crate::trace::digest::fnv1a;

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

/// FNV-1a over the input: names its files.
fn digest(data: &[u8]) -> u64 {
    fnv1a(data)
}

fn absolute(p: &Path) -> PathBuf {
    fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf())
}

/// Where a fuzz input came from, for the report.
pub(crate) enum Origin {
    /// `SIMLOOP_FUZZ_INPUT`: a file, run from an ordinary test.
    File(PathBuf),
    /// The bytes a fuzz target was handed (the file libFuzzer will write is not known
    /// yet): the input is written next to the trace. `value` describes what
    /// [`check_with`] drew from the front of the bytes.
    Fuzzer {
        input: Vec<u8>,
        value: Option<String>,
    },
}

/// The one run of a fuzz input: the `Bytes` policy over `schedule`, and how the report
/// names it and says to replay it.
pub(crate) fn single_run(schedule: Vec<u8>, origin: Origin, dir: &Path) -> SingleRun {
    let n = schedule.len();
    match origin {
        Origin::File(path) => {
            let tag = format!("fuzz_input_{:#018x}", digest(&schedule));
            SingleRun {
                policy: Box::new(Bytes::new(schedule)),
                source: format!("fuzz input {} ({n} bytes)", path.display()),
                file_tag: tag,
                replay: Box::new(move |test, trace| {
                    let mut line =
                        cargo_test_line(&format!("SIMLOOP_FUZZ_INPUT={}", path.display()), test);
                    if let Some(t) = trace {
                        line.push_str(&format!(
                            "\n              or follow the trace file: {}",
                            cargo_test_line(&format!("SIMLOOP_REPLAY={}", t.display()), test)
                        ));
                    }
                    line
                }),
            }
        }
        Origin::Fuzzer { input, value } => {
            let d = digest(&input);
            let tag = format!("fuzz_input_{d:#018x}");
            let mut source = if input.len() == n {
                format!("fuzz input ({n} bytes, digest {d:#018x})")
            } else {
                format!(
                    "fuzz input ({} bytes, digest {d:#018x}: {} for the value, {n} for the schedule)",
                    input.len(),
                    input.len() - n
                )
            };
            if let Some(v) = value {
                let mut v: String = v.chars().take(400).collect();
                if v.len() >= 400 {
                    v.push('…');
                }
                source.push_str(&format!(", value {v}"));
            }
            let dir = dir.to_path_buf();
            SingleRun {
                policy: Box::new(Bytes::new(schedule)),
                source,
                file_tag: tag.clone(),
                replay: Box::new(move |test, trace| {
                    let file = dir.join(format!("{}-{tag}.input", sanitize(test)));
                    let file = match fs::write(&file, &input) {
                        Ok(()) => absolute(&file).display().to_string(),
                        Err(_) => "<the crash file libFuzzer wrote>".to_owned(),
                    };
                    let target = std::env::current_exe()
                        .ok()
                        .and_then(|e| Some(e.file_stem()?.to_str()?.to_owned()))
                        .unwrap_or_else(|| "<target>".to_owned());
                    let mut line = format!(
                        "cargo fuzz run {target} {file}\n              \
                         or without the fuzzer, in a test that checks the same body: \
                         SIMLOOP_FUZZ_INPUT={file} cargo test <test>"
                    );
                    if let Some(t) = trace {
                        line.push_str(&format!(
                            "\n              or follow the trace file: \
                             SIMLOOP_REPLAY={} cargo test <test>",
                            absolute(t).display()
                        ));
                    }
                    line
                }),
            }
        }
    }
}

impl Builder {
    /// Runs `body` once under `single.policy` and reports a failure like a failing seed,
    /// with `single`'s source and replay lines (a fuzz input).
    pub(crate) fn single_run<B: Body>(
        &self,
        test: &str,
        dir: &Path,
        single: SingleRun,
        body: &B,
    ) -> Result<Summary, Box<Failure>> {
        let mut outcome = self.run_one(single.policy, body);
        let (kind, message) = match std::mem::replace(&mut outcome.result, Ok(())) {
            Ok(()) => {
                return Ok(Summary::new(
                    format!("ran one {}", single.source),
                    1,
                    outcome.steps,
                ))
            }
            Err(e) => e,
        };
        let mut f = Failure::new(
            test,
            single.source,
            kind,
            message,
            Ran::Run(Box::new(outcome)),
        );
        f.write_trace_file(dir, &single.file_tag);
        f.replay_command = (single.replay)(test, f.trace_path.as_deref());
        Err(Box::new(f))
    }
}

impl Builder {
    pub(crate) fn fuzz_run_split<B: Body>(
        self,
        input: Vec<u8>,
        schedule: Vec<u8>,
        value: Option<String>,
        body: &B,
    ) -> Result<Summary, Box<Failure>> {
        let Plan { test, dir, .. } = self.plan("bytes")?;
        let single = single_run(schedule, Origin::Fuzzer { input, value }, &dir);
        with_quiet_panics(|| self.single_run(&test, &dir, single, body))
    }
}
