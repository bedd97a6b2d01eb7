//! Failure reports a user can act on (issue 10, items 1, 2 and 7).
//!
//! Covered:
//! - one failure, printed once: a failing sweep's stderr (captured from a child process
//!   running one `child_*` test of this binary) holds the assertion exactly once, and
//!   with `RUST_BACKTRACE=1` exactly one backtrace — probe runs, the determinism re-run
//!   and shrinking re-runs are silent;
//! - a failing body that is also nondeterministic: the report shows its own failure and
//!   the nondeterminism, the seed line only, and the causes in order;
//! - the step and location of a panic at step 1, multi-line messages, the first panic as
//!   the cause of knock-on failures (`PoisonError`), tokio's "no reactor" hint, the
//!   summary of a passing sweep (`Display`, `SIMLOOP_VERBOSE`), notes when the
//!   environment overrode the code's seeds, and `simloop::run` under `SIMLOOP_SEED`.
//!
//! The `child_*` tests do nothing unless `SIMLOOP_REPORTS_CHILD` is set: the parent tests
//! run them in a child process to read its stderr.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use simloop::{
    create_task, create_task_named, yield_now, Builder, Env, Failure, FailureKind, Fifo, LoopError,
    Random,
};

// ---------------------------------------------------------------------------------------
// helpers

fn trace_dir(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("simloop-sim-tests-reports-{test}"));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn env_of(vars: &[(&'static str, &'static str)]) -> Env {
    let vars = vars.to_vec();
    Env::from_lookup(move |k| {
        vars.iter()
            .find(|(n, _)| *n == k)
            .map(|(_, v)| v.to_string())
    })
    .expect("well-formed test environment")
}

fn builder(test: &str, dir: &Path) -> Builder {
    Builder::new().name(test).env(Env::default()).trace_dir(dir)
}

/// The report with the machine's trace directory and the panic's location normalised.
/// (The location's line numbers move with this file; a backtrace is the machine's.)
fn normalised(f: &Failure, dir: &Path) -> String {
    let mut f = f.clone();
    if f.location.is_some() {
        f.location = Some("[LOCATION]".to_owned());
    }
    if f.backtrace.is_some() {
        f.backtrace = Some("[BACKTRACE]".to_owned());
    }
    f.to_string().replace(dir.to_str().unwrap(), "[TRACE_DIR]")
}

fn is_child() -> bool {
    std::env::var_os("SIMLOOP_REPORTS_CHILD").is_some()
}

/// Runs the test `name` of this binary in a child process and returns its stderr.
fn child_stderr(name: &str, vars: &[(&str, &str)]) -> String {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args([name, "--exact", "--nocapture", "--test-threads=1"])
        .env("SIMLOOP_REPORTS_CHILD", "1");
    for k in [
        "RUST_BACKTRACE",
        "RUST_LIB_BACKTRACE",
        "SIMLOOP_SEED",
        "SIMLOOP_SEEDS",
        "SIMLOOP_VERBOSE",
    ] {
        cmd.env_remove(k);
    }
    for (k, v) in vars {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("the test binary runs");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

const PLANTED: &str = "XYZZY the planted assertion failed";

// ---------------------------------------------------------------------------------------
// 1. one failure, printed once

#[test]
fn child_failing_sweep() {
    if !is_child() {
        return;
    }
    // The portfolio (11 probe runs), a determinism double-run of seed 0, and shrinking.
    Builder::new()
        .name("child_failing_sweep")
        .env(Env::default())
        .trace_dir(trace_dir("child_failing_sweep"))
        .seeds(0..20)
        .check(|| async {
            let t = create_task(async { yield_now().await });
            yield_now().await;
            t.await.unwrap();
            assert!(std::hint::black_box(false), "{PLANTED}");
        });
}

#[test]
fn a_failing_sweep_prints_its_failure_once() {
    let err = child_stderr("child_failing_sweep", &[]);
    assert_eq!(err.matches(PLANTED).count(), 1, "{err}");
    assert!(
        err.contains("simloop: test `child_failing_sweep` failed"),
        "{err}"
    );
    assert!(!err.contains("stack backtrace"), "{err}");
}

#[test]
fn with_rust_backtrace_the_report_holds_one_backtrace() {
    let err = child_stderr("child_failing_sweep", &[("RUST_BACKTRACE", "1")]);
    assert_eq!(err.matches(PLANTED).count(), 1, "{err}");
    assert_eq!(err.matches("backtrace of the panic:").count(), 1, "{err}");
    // Each backtrace numbers its frames from 0; the hook's "stack backtrace:" never shows.
    let frame_zero = err
        .lines()
        .filter(|l| l.trim_start().starts_with("0: "))
        .count();
    assert_eq!(frame_zero, 1, "{err}");
    assert!(!err.contains("stack backtrace"), "{err}");
}

// ---------------------------------------------------------------------------------------
// 2. nondeterminism must not hide the failure

#[test]
fn a_failing_nondeterministic_body_reports_both() {
    static CALLS: AtomicU64 = AtomicU64::new(0);
    let dir = trace_dir("nondet_failure");
    let f = builder("nondet_failure", &dir)
        .policy(Random::new(0)) // no probe runs: the body's call count is the point
        .seeds(0..3)
        .check_determinism(true)
        .try_check(|| async {
            let t = create_task(async { yield_now().await });
            if CALLS.fetch_add(1, Ordering::Relaxed) % 2 == 1 {
                yield_now().await; // the second run of a seed takes another schedule
            }
            t.await.unwrap();
            assert!(std::hint::black_box(false), "the body's own failure");
        })
        .unwrap_err();
    assert_eq!(f.kind, FailureKind::Panicked);
    assert_eq!(f.message, "the body's own failure");
    assert!(matches!(
        f.nondeterminism,
        Some(LoopError::Nondeterminism { step: 2, .. })
    ));
    assert!(f.shrunk.is_none());
    assert!(f.replay_command.starts_with("SIMLOOP_SEED=0x0 "));
    assert!(!f.replay_command.contains("SIMLOOP_REPLAY="));
    let report = normalised(&f, &dir);
    let causes = [
        "`select!`'s random branch order (futures::select!, tokio::select!)",
        "globals that survive across runs",
        "HashMap iteration order",
        "wall-clock time",
        "threads",
    ];
    let at: Vec<usize> = causes.iter().map(|c| report.find(c).expect(c)).collect();
    assert!(at.windows(2).all(|w| w[0] < w[1]), "{report}");
    insta::assert_snapshot!("nondeterministic_failure_report", report);
}

// ---------------------------------------------------------------------------------------
// 7. smaller things

#[test]
fn a_panic_at_step_1_is_reported_at_step_1_with_every_line_indented() {
    let dir = trace_dir("step_one");
    let f = builder("step_one", &dir)
        .policy(Random::new(0))
        .seeds(0..1)
        .try_check(|| async {
            if std::hint::black_box(true) {
                panic!("first line\nsecond line\nthird line");
            }
        })
        .unwrap_err();
    assert_eq!(f.step, 1);
    let loc = f.location.clone().unwrap();
    assert!(loc.starts_with("sim-tests/reports.rs:"), "{loc}");
    assert!(loc.ends_with(" in task 1 \"Task-1\""), "{loc}");
    insta::assert_snapshot!("panic_at_step_1_report", normalised(&f, &dir));
}

#[test]
fn the_first_panic_is_the_cause_and_knock_on_failures_follow() {
    let dir = trace_dir("knock_on");
    let f = builder("knock_on", &dir)
        .policy(Fifo)
        .seeds(0..1)
        .shrink(false)
        .try_check(|| async {
            let m = Rc::new(Mutex::new(0));
            let a = create_task_named("a", {
                let m = m.clone();
                async move {
                    let _held = m.lock().unwrap();
                    panic!("a panicked holding the lock");
                }
            });
            let b = create_task_named("b", async move {
                yield_now().await;
                *m.lock().unwrap() += 1; // PoisonError: the knock-on failure
            });
            let _ = a.await; // a's panic is observed and ignored here
            b.await.unwrap();
        })
        .unwrap_err();
    assert_eq!(f.kind, FailureKind::Panicked);
    assert!(f.message.contains("PoisonError"), "{}", f.message);
    assert_eq!(f.cause.as_deref(), Some("a panicked holding the lock"));
    assert_eq!(f.then.len(), 2, "{:?}", f.then);
    assert!(
        f.then[0].starts_with("task 3 \"b\" panicked: "),
        "{}",
        f.then[0]
    );
    assert!(f.then[0].contains("PoisonError"), "{}", f.then[0]);
    assert_eq!(f.then[1], format!("panicked: {}", f.message));
    assert!(f.location.as_deref().unwrap().ends_with(" in task 2 \"a\""));
    let report = f.to_string();
    let lines: Vec<&str> = report.lines().collect();
    assert_eq!(
        lines[2],
        "  failure:    panicked: a panicked holding the lock"
    );
    assert!(
        lines[3].starts_with("  then:       task 3 \"b\" panicked: "),
        "{report}"
    );
    assert!(
        lines[4].starts_with("  then:       panicked: called `Result::unwrap()`"),
        "{report}"
    );
    // The step of a's panic, not of the body's.
    assert_eq!(f.step, 2, "{report}");
}

#[test]
fn tokio_runtime_panics_get_a_hint() {
    let dir = trace_dir("tokio_hint");
    let f = builder("tokio_hint", &dir)
        .policy(Random::new(0))
        .seeds(0..1)
        .shrink(false)
        .try_check(|| async {
            if std::hint::black_box(true) {
                panic!(
                    "there is no reactor running, must be called from the context of a \
                     Tokio 1.x runtime"
                );
            }
        })
        .unwrap_err();
    assert_eq!(f.hints.len(), 1);
    assert!(f.hints[0].starts_with(
        "real tokio's runtime was called inside the simulation (tokio's \"there is no reactor \
         running\"): switch the crate to the tokio mirror with `extern crate simloop_tokio as \
         tokio;` at its root; if the crate already has it, the call comes from a dependency"
    ));
    assert!(f
        .to_string()
        .contains("\n  hint:       real tokio's runtime was called inside the simulation"));
    // Other panics get no hint.
    let g = builder("tokio_hint", &dir)
        .policy(Random::new(0))
        .seeds(0..1)
        .shrink(false)
        .try_check(|| async { assert!(std::hint::black_box(false), "plain") })
        .unwrap_err();
    assert!(g.hints.is_empty());
}

#[test]
fn a_failing_sweep_never_names_a_probe_policy() {
    // The portfolio learns the run length from probe runs (Random and depth-1 PCT);
    // their outcomes are never reported: the failing run is a sweep seed's.
    let dir = trace_dir("no_probe_policy");
    let f = builder("no_probe_policy", &dir)
        .seeds(0..10)
        .try_check(|| async { assert!(std::hint::black_box(false), "always") })
        .unwrap_err();
    assert_eq!(f.policy, "random"); // seed 0 of the portfolio
    assert!(!f.to_string().contains("pct1"));
}

#[test]
fn summary_display() {
    let s = builder("summary", &trace_dir("summary"))
        .seeds(0..10)
        .try_check(|| async { yield_now().await })
        .unwrap();
    assert_eq!(
        s.to_string(),
        format!(
            "checked 10 seeds (0..10) under the portfolio: no failure; {} steps; 1 seed run \
             twice for determinism",
            s.steps
        )
    );
    let one = builder("summary", &trace_dir("summary"))
        .policy(Random::new(0))
        .seed(7)
        .check_determinism(false)
        .try_check(|| async {})
        .unwrap();
    assert_eq!(
        one.to_string(),
        format!(
            "checked seed 0x7 under policy random: no failure; {} steps",
            one.steps
        )
    );
}

#[test]
fn child_verbose_sweep() {
    if !is_child() {
        return;
    }
    Builder::new()
        .name("child_verbose_sweep")
        .env(env_of(&[
            ("SIMLOOP_VERBOSE", "1"),
            ("SIMLOOP_SEEDS", "0..5"),
        ]))
        .seeds(0..10)
        .check(|| async { yield_now().await });
    // Without SIMLOOP_VERBOSE: silent.
    Builder::new()
        .name("child_quiet_sweep")
        .env(Env::default())
        .seeds(0..10)
        .check(|| async { yield_now().await });
}

#[test]
fn simloop_verbose_prints_the_summary_of_a_passing_check() {
    let err = child_stderr("child_verbose_sweep", &[]);
    let line = err
        .lines()
        .find(|l| l.starts_with("simloop: test `child_verbose_sweep`: "))
        .unwrap_or_else(|| panic!("{err}"));
    assert!(
        line.starts_with(
            "simloop: test `child_verbose_sweep`: checked 5 seeds (0..5) under the portfolio: \
             no failure; "
        ),
        "{line}"
    );
    assert!(
        err.contains("\n  note: SIMLOOP_SEEDS=0..5 overrode the code's seeds 0..10\n"),
        "{err}"
    );
    assert!(!err.contains("child_quiet_sweep"), "{err}");
}

#[test]
fn the_report_and_summary_say_when_the_environment_overrode_the_code() {
    let dir = trace_dir("env_notes");
    let s = builder("env_notes", &dir)
        .env(env_of(&[("SIMLOOP_SEEDS", "0..5")]))
        .seeds(0..10)
        .try_check(|| async {})
        .unwrap();
    assert_eq!(
        s.notes,
        ["SIMLOOP_SEEDS=0..5 overrode the code's seeds 0..10"]
    );
    assert!(s
        .to_string()
        .starts_with("checked 5 seeds (0..5) under the portfolio"));
    // The same range as the code's: no note.
    let same = builder("env_notes", &dir)
        .env(env_of(&[("SIMLOOP_SEEDS", "0..10")]))
        .seeds(0..10)
        .try_check(|| async {})
        .unwrap();
    assert!(same.notes.is_empty());

    let f = builder("env_notes", &dir)
        .env(env_of(&[("SIMLOOP_SEED", "0x3")]))
        .seeds(0..10)
        .shrink(false)
        .try_check(|| async { assert!(std::hint::black_box(false), "fails") })
        .unwrap_err();
    assert_eq!(
        f.notes,
        ["SIMLOOP_SEED=0x3 replaced the code's seeds 0..10"]
    );
    let report = f.to_string();
    assert_eq!(
        report.lines().nth(2),
        Some("  note:       SIMLOOP_SEED=0x3 replaced the code's seeds 0..10"),
        "{report}"
    );
    let g = builder("env_notes", &dir)
        .env(env_of(&[
            ("SIMLOOP_SEEDS", "4..6"),
            ("SIMLOOP_SHARD", "1/2"),
        ]))
        .seed(9)
        .shrink(false)
        .try_check(|| async { assert!(std::hint::black_box(false), "fails") })
        .unwrap_err();
    assert_eq!(
        g.notes,
        [
            "SIMLOOP_SEEDS=4..6 overrode the code's seed 0x9",
            "SIMLOOP_SHARD=1/2: only the seeds equal to 1 mod 2 ran"
        ]
    );
}

#[test]
fn child_run_under_simloop_seed() {
    if !is_child() {
        return;
    }
    simloop::run(async {
        if std::hint::black_box(true) {
            panic!("the run's body failed");
        }
    });
}

#[test]
fn simloop_run_says_when_simloop_seed_made_it_random() {
    let err = child_stderr("child_run_under_simloop_seed", &[("SIMLOOP_SEED", "5")]);
    assert!(err.contains("the run's body failed"), "{err}");
    assert!(
        err.contains(
            "simloop::run: note: SIMLOOP_SEED=0x5 is set, so this loop ran under Random with \
             seed 0x5 instead of asyncio's FIFO order"
        ),
        "{err}"
    );
    let fifo = child_stderr("child_run_under_simloop_seed", &[]);
    assert!(fifo.contains("the run's body failed"), "{fifo}");
    assert!(!fifo.contains("SIMLOOP_SEED"), "{fifo}");
}
