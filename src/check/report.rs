//! Failure reports: [`Failure`] (its `Display` is the report), [`Summary`], the one
//! place a failure is printed and raised, trace files and replay lines.

use std::fmt;
use std::fs;
use std::ops::Range;
use std::path::{Path, PathBuf};

use super::cause::{self, kind_word};
pub use super::outcome::FailureKind;
pub(crate) use super::outcome::Outcome;
use super::shrunk::Shrunk;
use crate::error::LoopError;
use crate::time::instant::Instant;
use crate::trace::Trace;

/// How many trace events and log lines a failure report shows.
const TAIL: usize = 20;

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
    /// The step at which the failure happened: the step whose poll panicked, the step at
    /// which the body returned its error, the step a divergence or nondeterminism could not
    /// take, else the last step the run took.
    pub step: u64,
    /// The virtual time of that step.
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
    pub shrunk: Option<Shrunk>,
    /// Why the failure was not shrunk, when shrinking was on but could not apply.
    pub not_shrunk: Option<String>,
    /// The run's first panic, when it came before the failure the run ended with (e.g. a
    /// task panicked holding a `std::sync::Mutex` and the body then failed on the
    /// `PoisonError`): the report names it as the cause.
    pub cause: Option<String>,
    /// The failures that followed [`cause`](Failure::cause), in order, ending with the
    /// run's own failure ([`kind`](Failure::kind) and [`message`](Failure::message)).
    pub then: Vec<String>,
    /// Where the failing panic was raised (`file:line:col in task N "name"`).
    pub location: Option<String>,
    /// The failing panic's backtrace, when `RUST_BACKTRACE` asked for one.
    pub backtrace: Option<String>,
    /// Nondeterminism found by running the failing seed a second time: the second run
    /// differed from this one (the error names the first differing step).
    pub nondeterminism: Option<LoopError>,
    /// Where the environment changed what the code asked for (e.g. `SIMLOOP_SEED=0x3
    /// replaced the code's seeds 0..10`).
    pub notes: Vec<String>,
    /// Hints for failures whose cause is known (e.g. tokio's "there is no reactor
    /// running": the code calls tokio's runtime).
    pub hints: Vec<String>,
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

/// One field of the report: `  label:      text`, every further line of `text` indented
/// to the same column.
pub(crate) fn field(f: &mut fmt::Formatter<'_>, label: &str, text: &str) -> fmt::Result {
    let mut lines = text.lines();
    writeln!(
        f,
        "  {:<12}{}",
        format!("{label}:"),
        lines.next().unwrap_or("")
    )?;
    for line in lines {
        writeln!(f, "              {line}")?;
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
        for n in &self.notes {
            field(f, "note", n)?;
        }
        match &self.cause {
            Some(first) => {
                field(f, "failure", &format!("panicked: {first}"))?;
                for t in &self.then {
                    field(f, "then", t)?;
                }
            }
            None => field(
                f,
                "failure",
                &format!("{}: {}", kind_word(&self.kind), self.message),
            )?,
        }
        if let Some(l) = &self.location {
            field(f, "where", l)?;
        }
        for h in &self.hints {
            field(f, "hint", h)?;
        }
        writeln!(
            f,
            "  at:         step {}, virtual time {}",
            self.step, self.time
        )?;
        if let Some(nd) = &self.nondeterminism {
            field(
                f,
                "also",
                &format!(
                    "{nd}\nThe failure above is the first run's own; a second run of the \
                     same seed differed from it."
                ),
            )?;
        }
        if let Some(b) = &self.backtrace {
            writeln!(f, "  backtrace of the panic:")?;
            indent(f, b)?;
        }
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
            if let Some(why) = &self.not_shrunk {
                writeln!(f, "  not shrunk: {why}")?;
            }
        }
        write!(f, "  replay:     {}", self.replay_command)
    }
}

impl std::error::Error for Failure {}

/// What a passing sweep did. Its `Display` is one line (then one line per note), which
/// [`Builder::check`](crate::Builder::check) prints to stderr when `SIMLOOP_VERBOSE=1`.
///
/// ```
/// let s = simloop::Builder::new()
///     .seeds(0..10)
///     .env(simloop::Env::default())
///     .try_check(|| async { simloop::yield_now().await })
///     .unwrap();
/// assert!(s.to_string().starts_with("checked 10 seeds (0..10) under the portfolio: no failure; "));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Summary {
    /// Seeds (or replays) run.
    pub runs: u64,
    /// Seeds that were run twice and compared.
    pub determinism_checked: u64,
    /// Steps taken over all runs.
    pub steps: u64,
    /// Where the environment changed what the code asked for (e.g. `SIMLOOP_SEEDS=0..5
    /// overrode the code's seeds 0..10`).
    pub notes: Vec<String>,
    /// What ran, in words: `10 seeds (0..10) under the portfolio`, ….
    pub(crate) what: String,
}

impl Summary {
    /// A summary of `runs` runs described by `what`.
    pub(crate) fn new(what: String, runs: u64, steps: u64) -> Summary {
        Summary {
            runs,
            determinism_checked: 0,
            steps,
            notes: Vec::new(),
            what,
        }
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: no failure; {} steps", self.what, self.steps)?;
        if self.determinism_checked > 0 {
            write!(
                f,
                "; {} seed{} run twice for determinism",
                self.determinism_checked,
                if self.determinism_checked == 1 {
                    ""
                } else {
                    "s"
                }
            )?;
        }
        for n in &self.notes {
            write!(f, "\n  note: {n}")?;
        }
        Ok(())
    }
}

/// What a failure report is about.
pub(crate) enum Ran {
    /// The run that failed.
    Run(Box<Outcome>),
    /// No run failed (bad input, a search limit); the report names this policy.
    Nothing { policy: String },
}

impl Failure {
    /// The one constructor of a failure report. The caller then sets what only it knows:
    /// the seed, the trace file ([`write_trace_file`](Failure::write_trace_file)), the
    /// replay line, the sweep's position.
    pub(crate) fn new(
        test: &str,
        source: String,
        kind: FailureKind,
        message: String,
        ran: Ran,
    ) -> Failure {
        let found = match &ran {
            Ran::Run(o) => Some(cause::find(&kind, &message, o)),
            Ran::Nothing { .. } => None,
        };
        let (trace, log, nondeterminism) = match ran {
            Ran::Run(o) => (o.trace, o.log, o.nondeterminism),
            Ran::Nothing { policy } => (Trace::new(&policy, None), String::new(), None),
        };
        let found = found.unwrap_or(cause::Cause {
            first: None,
            then: Vec::new(),
            location: None,
            backtrace: None,
            step: 0,
            time: Instant::ZERO,
        });
        let hints = cause::hints(
            std::iter::once(message.as_str())
                .chain(found.first.as_deref())
                .chain(found.then.iter().map(String::as_str)),
        );
        Failure {
            test: test.to_owned(),
            seed: None,
            source,
            policy: trace.policy().to_owned(),
            step: found.step,
            time: found.time,
            kind,
            message,
            trace,
            trace_path: None,
            replay_command: String::new(),
            log,
            seeds_passed: 0,
            sweep: None,
            shrunk: None,
            not_shrunk: None,
            cause: found.first,
            then: found.then,
            location: found.location,
            backtrace: found.backtrace,
            nondeterminism,
            notes: Vec::new(),
            hints,
        }
    }

    /// Writes the failing run's trace under `dir` (named after the test and `tag`); if it
    /// cannot be written, the message says why.
    pub(crate) fn write_trace_file(&mut self, dir: &Path, tag: &str) {
        let (path, err) = write_trace(dir, &self.test, tag, &self.trace);
        if let Some(e) = err {
            self.message
                .push_str(&format!(" (and the trace file could not be written: {e})"));
        }
        self.trace_path = path;
    }
}

impl Failure {
    /// Prints the report to stderr and panics with its summary: the one way a panicking
    /// terminal (`check`, `check_all`, `fuzz::check`, …) fails.
    #[track_caller]
    pub(crate) fn raise(self) -> ! {
        eprintln!("{self}");
        // The report above is the one place the failure is shown: the panic carrying the
        // summary skips the panic hook (no second copy of the message, no backtrace of
        // simloop's own frames); `should_panic(expected = …)` still sees the summary.
        std::panic::resume_unwind(Box::new(self.summary()))
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

/// A failure's trace file holds at most this many events; a longer trace is written in
/// its truncated form (see [`Trace::is_truncated`]).
pub(crate) const MAX_TRACE_FILE_EVENTS: usize = 1_000_000;

/// The events a truncated trace file keeps, from the end of the run.
const TRUNCATED_TAIL: usize = 1000;

/// `true` if `trace` is written to its file in full (so the file replays it).
pub(crate) fn trace_file_is_complete(trace: &Trace) -> bool {
    !trace.is_truncated() && trace.len() <= MAX_TRACE_FILE_EVENTS
}

/// Writes `trace` to `dir/<test>-<source>.trace`, streamed (never rendered whole in
/// memory); above [`MAX_TRACE_FILE_EVENTS`] events, its truncated form, which names the
/// seed to replay instead.
pub(crate) fn write_trace(
    dir: &Path,
    test: &str,
    source: &str,
    trace: &Trace,
) -> (Option<PathBuf>, Option<String>) {
    use std::io::Write as _;
    let file = dir.join(format!("{}-{}.trace", sanitize(test), sanitize(source)));
    let r = fs::create_dir_all(dir).and_then(|()| {
        if trace_file_is_complete(trace) {
            let mut w = std::io::BufWriter::new(fs::File::create(&file)?);
            write!(w, "{trace}")?;
            w.flush()
        } else {
            let replay = match trace.seed() {
                // A learning sweep's mutation: its seed names only its data streams.
                Some(_) if trace.policy() == "mutant" => "re-run the sweep up to its seed (the \
                     report's SIMLOOP_SEEDS line): it is deterministic"
                    .to_owned(),
                Some(s) => format!("replay the run from its seed: SIMLOOP_SEED={s:#x}"),
                None => "re-run what found it (the search or the fuzz input): it is \
                         deterministic"
                    .to_owned(),
            };
            fs::write(&file, trace.render_truncated(TRUNCATED_TAIL, &replay))
        }
    });
    match r {
        Ok(()) => (Some(file), None),
        // create_dir_all says "File exists" when the directory is a file.
        Err(_) if dir.exists() && !dir.is_dir() => (
            None,
            Some(format!(
                "{} is not a directory (SIMLOOP_TRACE_DIR or Builder::trace_dir must name a \
                 directory, or a path where one can be created)",
                dir.display()
            )),
        ),
        Err(e) => (None, Some(format!("{}: {e}", file.display()))),
    }
}

/// The running binary's name, without the `-<16 hex digits>` cargo adds to test binaries
/// (the test name's fallback: see `plan::default_test_name`).
pub(crate) fn binary_name() -> Option<String> {
    let exe = std::env::current_exe().ok()?;
    let stem = exe.file_stem()?.to_str()?.to_owned();
    Some(match stem.rsplit_once('-') {
        Some((b, h)) if h.len() == 16 && h.chars().all(|c| c.is_ascii_hexdigit()) => b.to_owned(),
        _ => stem,
    })
}

/// The running test's package, when it is a member of a workspace rooted above it (so a
/// replay line run from the workspace root must name it with `-p`); `None` for a package
/// that is its own root, whose lines stay as they were.
fn member_package() -> Option<String> {
    let pkg = std::env::var("CARGO_PKG_NAME").ok()?;
    let dir = std::path::PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR")?);
    let in_workspace = dir.ancestors().skip(1).any(|d| {
        std::fs::read_to_string(d.join("Cargo.toml")).is_ok_and(|t| t.contains("[workspace]"))
    });
    in_workspace.then_some(pkg)
}

/// `ENV cargo test [-p <package>] <target> -- <test> --exact`, guessing the target from
/// the running test binary's name.
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
    let package = member_package();
    if let Some(p) = &package {
        line.push_str(&format!(" -p {p}"));
    }
    if let Some(t) = target {
        if t.starts_with("--example") {
            // An example is run, not tested.
            return match &package {
                Some(p) => format!("{env_part} cargo run -p {p} {t}"),
                None => format!("{env_part} cargo run {t}"),
            };
        }
        line.push(' ');
        line.push_str(&t);
    }
    // A name that is the binary's own (the fallback of `default_test_name`) is no test
    // filter.
    if !test.is_empty() && binary_name().as_deref() != Some(test) {
        line.push_str(&format!(" -- {test} --exact"));
    }
    line
}
